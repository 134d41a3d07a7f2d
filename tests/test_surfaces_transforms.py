"""Pure functions of the surface layer, by table: values, encoders, pickup, decoding, MCU bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from console.surfaces import mcu
from console.surfaces.decode import Decoder, Event
from console.surfaces.transforms import (
    Pickup,
    accelerate,
    compact_value,
    control_from_value,
    normal_from_7bit,
    normal_from_14bit,
    nudge_value,
    pickup,
    raw7_from_normal,
    relative_steps,
    span_normal,
    value_from_control,
)
from dsp import params as P


@pytest.mark.parametrize("raw, normal", [(0, 0.0), (1, 0.0), (64, 0.5), (127, 1.0),
                                         (-5, 0.0), (300, 1.0)])
def test_seven_bit_values_put_64_on_the_middle_and_clamp(raw, normal):
    assert normal_from_7bit(raw) == normal


@pytest.mark.parametrize("raw, normal", [(0, 0.0), (16383, 1.0), (-1, 0.0), (99999, 1.0)])
def test_fourteen_bit_values_clamp(raw, normal):
    assert normal_from_14bit(raw) == normal


@pytest.mark.parametrize("encoding, value, ticks", [
    ("twos_complement", 0x01, 1), ("twos_complement", 0x07, 7), ("twos_complement", 0x7F, -1),
    ("twos_complement", 0x79, -7), ("twos_complement", 0x00, 0),
    ("sign_magnitude", 0x01, 1), ("sign_magnitude", 0x0F, 15), ("sign_magnitude", 0x41, -1),
    ("sign_magnitude", 0x45, -5), ("sign_magnitude", 0x40, 0), ("sign_magnitude", 0x00, 0),
    ("binary_offset", 0x41, 1), ("binary_offset", 0x47, 7), ("binary_offset", 0x3F, -1),
    ("binary_offset", 0x39, -7), ("binary_offset", 0x40, 0), ("binary_offset", 0x00, 0),
    ("twos_complement", 0x181, 1),  # out-of-range input is masked to 7 bits, never trusted
])
def test_relative_steps_in_every_encoding(encoding, value, ticks):
    assert relative_steps(value, encoding) == ticks


def test_an_unknown_encoding_is_refused():
    with pytest.raises(ValueError, match="binary_offset"):
        relative_steps(1, "offset16")


@pytest.mark.parametrize("ticks, interval_s, acceleration, expected", [
    (1, 0.5, 1.0, 1.0),       # a slow, deliberate turn: one step per detent
    (1, 1 / 12, 1.0, 1.0),    # at the slow limit still none
    (1, 1 / 66, 1.0, 3.0),    # half-way to fast: three times
    (1, 0.001, 1.0, 5.0),     # a spin: five times
    (-2, 0.001, 1.0, -10.0),  # device acceleration stacks, sign kept
    (1, 0.001, 0.0, 1.0),     # acceleration off
    (0, 0.001, 1.0, 0.0),
])
def test_acceleration_follows_turning_speed(ticks, interval_s, acceleration, expected):
    assert accelerate(ticks, interval_s, acceleration) == pytest.approx(expected)


@pytest.mark.parametrize("param, value, delta, expected", [
    ("limiter.lookahead_ms", 1.5, 0.005, 1.6),   # a tiny delta still moves one step
    ("limiter.lookahead_ms", 1.5, -0.005, 1.4),
    ("limiter.lookahead_ms", 5.0, 0.005, 5.0),   # stops at the end
    ("eq.band1.gain_db", 0.0, 0.5, 18.0),
    ("eq.band1.type", 1.0, 0.001, 2.0),          # one choice per tick
    ("eq.band1.type", 4.0, 0.5, 4.0),
    ("eq.bypass", 0.0, 0.001, 1.0),              # a switch: up is on
    ("eq.bypass", 1.0, -0.001, 0.0),
])
def test_nudge_moves_at_least_one_step_and_stays_in_range(param, value, delta, expected):
    assert nudge_value(P.get(param), value, delta) == pytest.approx(expected)


PICKUP_CASES = [
    # state, incoming, current, accept, engaged after
    (Pickup(), 0.80, 0.20, False, False),          # far away: held
    (Pickup(), 0.21, 0.20, True, True),            # within the threshold: taken
    (Pickup(0.10, False), 0.30, 0.20, True, True),  # crossed the value: taken
    (Pickup(0.30, False), 0.10, 0.20, True, True),  # crossed from above
    (Pickup(0.50, False), 0.40, 0.20, False, False),  # approaching, not there yet
    (Pickup(0.90, True), 0.10, 0.50, True, True),  # engaged: follows even a jump
]


@pytest.mark.parametrize("state, incoming, current, accept, engaged", PICKUP_CASES)
def test_pickup_takes_over_only_at_the_value(state, incoming, current, accept, engaged):
    accepted, after = pickup(state, incoming, current, 0.03)
    assert (accepted, after.engaged, after.last) == (accept, engaged, incoming)


@given(st.sampled_from([p for p in P.PARAMS if p.kind == "continuous"]),
       st.integers(0, 127))
def test_feedback_round_trip_never_drifts(param, raw):
    # control -> value -> the position fed back -> value again: a fixed point after one
    # trip, so a device that echoes feedback can never walk a parameter (Ardour PR #1147)
    span = span_normal(param, None, None)
    value = value_from_control(param, normal_from_7bit(raw), span)
    echoed = raw7_from_normal(control_from_value(param, value, span))
    assert value_from_control(param, normal_from_7bit(echoed), span) == value


@pytest.mark.parametrize("param, value, text", [
    ("eq.band1.freq_hz", 80.0, "80Hz"), ("eq.band3.freq_hz", 1000.0, "1.0k"),
    ("eq.band5.freq_hz", 12000.0, "12.0k"), ("limiter.ceiling_dbtp", -1.0, "-1.0dB"),
    ("eq.band2.gain_db", 18.0, "+18.0"), ("comp.ratio", 2.0, "2.00"),
    ("eq.band1.type", 2.0, "high_s"), ("eq.bypass", 1.0, "on"), ("comp.release_ms", 150, "150ms"),
])
def test_values_fit_six_lcd_cells(param, value, text):
    assert compact_value(P.get(param), value) == text


DECODE_CASES = [
    ([0x90, 60, 100], Event("note", 0, 60, 100)),
    ([0x81, 60, 64], Event("note", 1, 60, 0)),           # note off is a release
    ([0xB5, 7, 99], Event("cc", 5, 7, 99)),
    ([0xE0, 0x00, 0x40], Event("pitchbend", 0, 0, 8192)),
    ([0xE8, 0x7F, 0x7F], Event("pitchbend", 8, 0, 16383)),
    ([0xD0, 0x7C], Event("pressure", 0, 0, 0x7C)),
    ([0xF0, 1, 2, 0xF7], Event("sysex", 0, 0, 0, (1, 2))),
    ([], None), ([0xB0, 7], None), ([0x10, 0x20], None), ([0x40], None),
    ([0xB0, 0x80, 1], None), ([0xB0, 1, 0x90], None), ([0x90, 1, 2, 3], None),
    ([0xF0, 1, 2], None), ([0xF0, 1, 0x92, 0xF7], None), ([0xF8], Event("system", 0, 0xF8, 0)),
]


@pytest.mark.parametrize("data, event", DECODE_CASES)
def test_decoding_rejects_malformed_messages(data, event):
    assert Decoder().feed(data) == event


def test_fourteen_bit_pairs_and_nrpn_follow_midi_1():
    d = Decoder(cc14={(0, 1)}, nrpn_channels={2})
    assert d.feed([0xB0, 1, 0x40]) == Event("cc14", 0, 1, 0x40 << 7)  # MSB acts at once
    assert d.feed([0xB0, 33, 0x05]) == Event("cc14", 0, 1, (0x40 << 7) | 5)  # LSB refines
    assert d.feed([0xB0, 2, 9]) == Event("cc", 0, 2, 9)  # other CCs stay plain
    assert d.feed([0xB2, 6, 1]).kind == "nrpn_unselected"  # data before a parameter
    d.feed([0xB2, 99, 0x01])
    d.feed([0xB2, 98, 0x02])
    assert d.feed([0xB2, 6, 0x10]) == Event("nrpn", 2, 0x82, 0x10 << 7)
    assert d.feed([0xB2, 38, 0x05]) == Event("nrpn", 2, 0x82, (0x10 << 7) | 5)
    assert d.feed([0xB2, 96, 0]) == Event("nrpn_step", 2, 0x82, 1)
    assert d.feed([0xB2, 97, 0]) == Event("nrpn_step", 2, 0x82, -1)


MCU_VECTORS = [  # reference/control-surfaces.md section 6
    (mcu.device_query(), "F0 00 00 66 14 00 F7"),
    (mcu.fader(0, 0x2000), "E0 00 40"),
    (mcu.fader(8, 16383), "E8 7F 7F"),
    (mcu.ring(0, 0.5, "boost_cut"), "B0 30 56"),
    (mcu.ring(0, 1.0, "spread"), "B0 30 36"),
    (mcu.ring(0, 0.0, "dot"), "B0 30 01"),
    (mcu.ring(0, None), "B0 30 00"),
    (mcu.led(0x5E, 0x7F), "90 5E 7F"),
    (mcu.lcd_cell(0x14, 1, 0, "Comp"), "F0 00 00 66 14 12 07 43 6F 6D 70 20 20 20 F7"),
    (mcu.meter(2, mcu.meter_segment(0.0)), "D0 2B"),
    (mcu.meter(2, 0x0F), "D0 2F"),
    (mcu.assignment("EQ")[0] + mcu.assignment("EQ")[1], "B0 4B 05 B0 4A 11"),
    (mcu.meter_mode(0x14, 0, 7), "F0 00 00 66 14 20 00 07 F7"),
]


@pytest.mark.parametrize("message, expected", MCU_VECTORS)
def test_mackie_bytes_match_the_reference_vectors(message, expected):
    assert message == bytes.fromhex(expected)


@pytest.mark.parametrize("db, segment", [(0.0, 11), (-20.0, 6), (-60.0, 0), (-90.0, 0),
                                         (6.0, 13), (float("nan"), 0)])
def test_meter_segments_follow_ardours_deflection(db, segment):
    assert mcu.meter_segment(db) == segment


def test_lcd_text_is_ascii_only():
    assert mcu.lcd(0x14, 0, "Gain ±") == bytes.fromhex("F0 00 00 66 14 12 00 47 61 69 6E 20 5F F7")
    assert mcu.parse_sysex((0, 0, 0x66, 0x15, 0x01, 1, 2)) == (0x15, 0x01, (1, 2))
    assert mcu.parse_sysex((0x7D, 1, 2, 3, 4)) is None

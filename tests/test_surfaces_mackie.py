"""A Mackie Control surface (an X-Touch in MC mode) on a real JACK MIDI server.

The test port is named like the device; the manager binds the mackie-control
profile to it and the test checks the MCU bytes both ways: device query, LCD
SysEx, motor-fader positions and the servo echo, touch, V-Pot rings, banks,
transport, meters, coalesced feedback, and unplug / replug.
"""

from __future__ import annotations

import time

import pytest

from console.control.desk import Desk
from console.surfaces import mcu
from tests.test_surfaces_support import (
    WAIT_S,
    DeskWatch,
    Player,
    connected,
    make_manager,
    until,
)
from tests.test_surfaces_support import user_mappings as user_mappings_fixture

pytestmark = pytest.mark.retake_on_xrun  # a period JACK dropped loses MIDI: tests/retakes.py

user_mappings = user_mappings_fixture
NAME = "mackie-control"


def lcd(strip: int, line: int, text: str) -> bytes:
    """The exact SysEx for one scribble-strip cell."""
    body = text.ljust(6).encode() + b" "
    return bytes([0xF0, 0, 0, 0x66, 0x14, 0x12, strip * 7 + 0x38 * line, *body, 0xF7])


@pytest.fixture
def xtouch(jack, user_mappings):
    """(desk, watch, manager, device) with an X-Touch connected and its restore received."""
    desk = Desk()
    watch = DeskWatch(desk)
    levels = {"momentary_lufs": 0.0, "limiter_gr_db": 3.0, "comp_gr_db": 6.0,
              "short_term_lufs": None}
    dev = Player("X-Touch", "X-Touch INT")
    manager = make_manager(desk, user_mappings)
    manager.meter_source = lambda: levels
    manager.start()
    assert manager.wait_until(lambda m: connected(m, NAME), WAIT_S)
    assert dev.wait_message(lcd(7, 0, "Output"))
    yield desk, watch, manager, dev
    manager.stop()
    dev.unplug()


def test_connecting_sends_the_device_query_and_the_whole_console_state(xtouch):
    _desk, _watch, _manager, dev = xtouch
    expected = [
        lcd(0, 0, "Low"), lcd(0, 1, "80Hz"), lcd(2, 0, "Mid"), lcd(2, 1, "1.0k"),
        lcd(6, 1, "-1.0dB"), lcd(7, 0, "Output"),
        bytes([0xE0, 0x00, 0x40]),   # strip 1 fader: EQ band 1 gain, 0 dB = the middle
        bytes([0xE8, 0x7F, 0x7F]),   # master fader: output gain 0 dB = the top
        bytes([0xE6, 0x00, 0x00]),   # strip 7 fader: limiter drive 0 dB = the bottom
        bytes([0xB0, 0x30, 0x23]),   # strip 1 ring: 80 Hz on a wrap ring
        bytes([0xB0, 0x35, 0x56]),   # strip 6 ring: balance 0 dB, boost/cut centred
        bytes([0x90, 0x18, 0x7F]),   # strip 1 Select lit: band 1 in
        bytes([0x90, 0x2C, 0x7F]),   # Assign EQ lit: the EQ bank is on the strips
        bytes([0xB0, 0x4B, 0x05]), bytes([0xB0, 0x4A, 0x11]),  # "EQ" on the 2-digit display
        bytes.fromhex("F0 00 00 66 14 20 07 03 F7"),  # strip 8 meter on
        bytes([0x90, 0x5D, 0x7F]),   # Stop lit: not playing
    ]
    dev.wait_for(lambda got: all(m in got for m in expected))
    got = list(dev.received)
    assert got[0] == bytes.fromhex("F0 00 00 66 14 00 F7")  # device query first
    for message in expected:
        assert message in got, message.hex(" ")


def test_a_fader_move_sets_the_parameter_echoes_its_position_and_shows_the_value(xtouch):
    _desk, watch, _manager, dev = xtouch
    dev.clear()
    dev.send(0xE0, 0x00, 0x60)  # strip 1 to 12288 / 16383 = 3/4: band 1 gain +9 dB
    assert watch.wait_value("eq.band1.gain_db", lambda v: v == 9.0)
    assert dev.wait_message(bytes([0xE0, 0x00, 0x60]))  # the servo echo, exactly
    assert dev.wait_message(lcd(0, 1, "+9.0dB"))
    dev.send(0xE8, 0x00, 0x40)  # master fader to the middle: output -15 dB
    assert watch.wait_value("output.gain_db", lambda v: v == -15.0)
    assert dev.wait_message(bytes([0xE8, 0x00, 0x40]))


def test_a_touched_fader_is_never_moved_and_catches_up_on_release(xtouch):
    desk, _watch, manager, dev = xtouch
    surface = manager.surface(NAME)
    dev.send(0x90, 0x68, 0x7F)  # touch strip 1
    assert until(lambda: surface.is_touched(surface.bindings.find(("pitchbend", 0, 0), "")))
    dev.clear()
    desk.set("eq.band1.gain_db", -6.0, author="ui")
    assert dev.wait_message(lcd(0, 1, "-6.0dB"))  # the strip shows the new value ...
    assert not any(m[0] == 0xE0 for m in dev.received)  # ... the motor stays put
    dev.send(0x90, 0x68, 0x00)  # released: the motor goes to -6 dB (1/3 of the travel)
    assert dev.wait_message(mcu.fader(0, round(16383 / 3)))


def test_v_pots_turn_relative_with_acceleration_and_light_their_rings(xtouch):
    _desk, watch, _manager, dev = xtouch
    dev.clear()
    dev.send(0xB0, 0x10, 0x05)  # V-Pot 1: five ticks clockwise
    assert watch.wait_value("eq.band1.freq_hz", lambda v: 94.0 < v < 96.0)
    for _ in range(30):
        dev.send(0xB0, 0x12, 0x01)  # V-Pot 3 spun fast: accelerated past 30 plain steps
    assert watch.wait_value("eq.band3.freq_hz", lambda v: v > 1000.0 * 1000 ** (30 * 0.005))
    dev.send(0xB0, 0x15, 0x41)  # V-Pot 6 one tick counter-clockwise: balance -0.1 dB
    assert watch.wait_value("stereo.balance_db", lambda v: v == -0.1)
    assert dev.wait_for(lambda got: any(m[:2] == bytes([0xB0, 0x32]) and m[2] > 0x28
                                        for m in got))  # ring 3 moved up


def test_bank_buttons_put_other_parameters_on_the_strips(xtouch):
    _desk, watch, manager, dev = xtouch
    dev.clear()
    dev.send(0x90, 0x2F, 0x7F)  # Bank >: EQ Q
    dev.send(0x90, 0x2F, 0x00)
    assert dev.wait_message(bytes([0xB0, 0x4B, 0x11]))  # "Q " on the 2-digit display
    assert dev.wait_message(lcd(0, 1, "0.71"))  # band 1 Q under strip 1
    dev.send(0xB0, 0x10, 0x01)
    assert watch.wait_value("eq.band1.q", lambda v: v > 0.707)
    dev.send(0x90, 0x2D, 0x7F)  # Assign Instrument/Dyn: the Dynamics bank
    assert dev.wait_message(lcd(0, 0, "Comp"))
    assert dev.wait_message(bytes([0xE0, 0x4C, 0x59]))  # threshold -18 dB of -60..0
    dev.send(0xE0, 0x7F, 0x7F)
    assert watch.wait_value("comp.threshold_db", lambda v: v == 0.0)
    assert manager.surface(NAME).describe()["bank"] == "Dynamics"


def test_transport_snapshot_and_mode_buttons_and_their_leds(xtouch):
    desk, watch, _manager, dev = xtouch
    dev.send(0x90, 0x5E, 0x7F)
    assert watch.wait_action("play")["author"] == "surface:mackie-control"
    dev.send(0x90, 0x4D, 0x7F)
    assert watch.wait_action("automation_mode")["mode"] == "touch"
    dev.send(0x90, 0x32, 0x7F)  # Flip: loudness-matched bypass
    assert watch.wait_action("bypass") is not None
    dev.clear()
    desk.set_state("playing", True, author="engine")
    assert dev.wait_message(bytes([0x90, 0x5E, 0x7F]))  # Play lit
    assert dev.wait_message(bytes([0x90, 0x5D, 0x00]))  # Stop dark
    dev.send(0x90, 0x3A, 0x7F)  # F5 stores snapshot A
    assert watch.wait_for(lambda: "A" in desk.snapshots)
    assert dev.wait_message(bytes([0x90, 0x36, 0x7F]))  # F1 lit: snapshot A is current


def test_meters_show_on_the_meter_leds(xtouch):
    _desk, _watch, _manager, dev = xtouch
    # keys and units as the engine's meter snapshot has them
    assert dev.wait_message(bytes([0xD0, 0x7B]))  # strip 8: momentary 0 LUFS -> segment 11
    assert dev.wait_message(bytes([0xD0, 0x62]))  # strip 7: 3 dB of limiting -> 2 LEDs
    assert dev.wait_message(bytes([0xD0, 0x43]))  # strip 5: 6 dB of compression -> 3 LEDs


def test_the_surface_answering_the_query_is_shown_everything_again(xtouch):
    _desk, _watch, manager, dev = xtouch
    dev.clear()
    serial, challenge = b"XT00001", bytes([1, 2, 3, 4])
    dev.send(0xF0, 0, 0, 0x66, 0x14, 0x01, *serial, *challenge, 0xF7)
    assert dev.wait_message(lcd(7, 0, "Output"))
    assert not dev.wait_message(bytes.fromhex("F0 00 00 66 14 00 F7"), 0.3)  # no query loop
    assert manager.surface(NAME).online


def test_a_feedback_flood_is_coalesced_to_the_latest_positions(xtouch):
    desk, _watch, manager, dev = xtouch
    dev.clear()
    for i in range(3000):
        desk.set("output.gain_db", -30.0 + (i % 300) * 0.1, author="ui")
    # a final value the flood never visits, so waiting for it cannot stop early
    desk.set("output.gain_db", -12.05, author="ui")
    final = mcu.fader(8, round(16383 * 17.95 / 30))
    assert dev.wait_message(final)
    master = [m for m in dev.received if m[0] == 0xE8]
    assert master[-1] == final
    assert len(master) < 300  # far fewer than the 3000 changes
    assert manager.surface(NAME).queue.coalesced > 2000


def test_unplug_and_replug_restores_motor_faders_and_displays(xtouch):
    desk, _watch, manager, dev = xtouch
    dev.unplug()
    assert manager.wait_until(lambda m: not m.surface(NAME).input, WAIT_S)
    desk.set("eq.band2.gain_db", 18.0, author="ui")
    dev.clear()
    t0 = time.monotonic()
    dev.replug()
    assert dev.wait_message(bytes([0xE1, 0x7F, 0x7F]))  # strip 2 fader at the top
    assert dev.wait_message(lcd(1, 0, "LoMid"))  # and the scribble strips
    assert dev.wait_message(lcd(1, 1, "250Hz"))
    assert time.monotonic() - t0 < 2.0
    assert manager.describe()["reconnects"] == 1


def test_a_surface_with_midi_thru_does_not_loop_its_fader_echo(jack, user_mappings):
    desk = Desk()
    watch = DeskWatch(desk)
    dev = Player("X-Touch", "X-Touch INT", thru=True)
    manager = make_manager(desk, user_mappings)
    manager.start()
    try:
        assert manager.wait_until(lambda m: connected(m, NAME), WAIT_S)
        assert dev.wait_message(lcd(7, 0, "Output"))
        dev.send(0xE1, 0x00, 0x60)  # strip 2 fader: the echo comes straight back
        assert watch.wait_value("eq.band2.gain_db", lambda v: v == 9.0)
        assert until(lambda: manager.surface(NAME).counters["echoes"] > 0)
        time.sleep(0.3)  # a loop would be thousands of messages by now
        assert dev.received.count(bytes([0xE1, 0x00, 0x60])) == 1
    finally:
        manager.stop()
        dev.unplug()

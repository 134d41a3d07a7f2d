"""Automation modes, touch, thinning and lanes as pure functions: tables and reference vectors."""

import math

import pytest

from console.automation.lanes import (
    GUARD,
    Lane,
    SongAutomation,
    merge_pass,
    staircase,
    trimmed,
    value_at,
)
from console.automation.modes import IDLE, MODES, LaneState, step
from console.automation.thin import thin
from console.automation.touch import TouchTracker
from dsp import automation as K
from dsp import params as P

W = LaneState(True, False)
WL = LaneState(True, True)
L = LaneState(False, True)

# mode, state before, touched, rolling, has_lane, toggled -> state after, kernel mode
TABLE = [
    ("off", IDLE, True, True, True, False, IDLE, K.M_DESK),
    ("off", WL, False, True, True, False, IDLE, K.M_DESK),
    ("read", IDLE, True, True, True, False, IDLE, K.M_LANE),
    ("read", IDLE, False, False, True, False, IDLE, K.M_LANE),
    # touch: writes while touched, returns to the lane on release
    ("touch", IDLE, False, True, True, False, IDLE, K.M_LANE),
    ("touch", IDLE, True, True, True, False, W, K.M_DESK_REC),
    ("touch", W, False, True, True, False, IDLE, K.M_LANE),
    ("touch", IDLE, True, False, True, False, IDLE, K.M_LANE),  # stopped: never writes
    ("touch", IDLE, True, True, False, False, W, K.M_DESK_REC),  # a first pass on no lane
    # switches and choices in touch latch ("toggle buttons always latch")
    ("touch", IDLE, True, True, True, True, WL, K.M_DESK_REC),
    ("touch", WL, False, True, True, True, WL, K.M_DESK_REC),
    # latch: from the first touch until the transport stops
    ("latch", IDLE, False, True, True, False, IDLE, K.M_LANE),
    ("latch", IDLE, True, True, True, False, WL, K.M_DESK_REC),
    ("latch", WL, False, True, True, False, WL, K.M_DESK_REC),
    ("latch", WL, False, False, True, False, IDLE, K.M_LANE),
    # write: a lane is overwritten for the whole pass; a control without one from its touch
    ("write", IDLE, False, True, True, False, WL, K.M_DESK_REC),
    ("write", IDLE, False, True, False, False, IDLE, K.M_LANE),
    ("write", IDLE, True, True, False, False, WL, K.M_DESK_REC),
    ("write", WL, False, False, True, False, IDLE, K.M_LANE),
    # trim: the lane plus the move; written while touched
    ("trim", IDLE, False, True, True, False, IDLE, K.M_TRIM),
    ("trim", IDLE, True, True, True, False, WL, K.M_TRIM_REC),
    ("trim", WL, False, True, True, False, IDLE, K.M_TRIM),
    ("trim", IDLE, True, False, True, False, IDLE, K.M_TRIM),
]


@pytest.mark.parametrize(("mode", "state", "touched", "rolling", "has_lane", "toggled",
                          "after", "kernel"), TABLE)
def test_mode_table(mode, state, touched, rolling, has_lane, toggled, after, kernel):
    assert step(mode, state, touched=touched, rolling=rolling, has_lane=has_lane,
                toggled=toggled) == (after, kernel)


def test_every_mode_is_in_the_table_and_an_unknown_one_is_refused():
    assert {row[0] for row in TABLE} == set(MODES)
    with pytest.raises(ValueError, match="use one of off, read"):
        step("autowrite", IDLE, touched=False, rolling=True, has_lane=False)


def test_touch_sense_holds_until_release_and_activity_times_out():
    tracker = TouchTracker(timeout_s=0.5)
    tracker.move("output.gain_db", 10.0)
    assert tracker.touched("output.gain_db", 10.4)
    assert not tracker.touched("output.gain_db", 10.5)  # 0.5 s after the last move
    tracker.touch("limiter.drive_db", True, 20.0)
    assert tracker.touched("limiter.drive_db", 99.0) and tracker.held("limiter.drive_db")
    tracker.move("limiter.drive_db", 21.0)
    tracker.touch("limiter.drive_db", False, 21.1)
    assert not tracker.touched("limiter.drive_db", 21.2)  # a release ends it at once
    with pytest.raises(ValueError):
        TouchTracker(timeout_s=0.0)


# Ardour's thinning, the reference's test vectors (48 kHz, points 30 ms apart)
@pytest.mark.parametrize(("middle", "kept"), [(0.5, False), (0.004, False), (0.006, True)])
def test_thinning_drops_points_under_the_area_threshold(middle, kept):
    # stereo.width_pct spans 0..200 linearly: a value of 200 * v is v of the travel
    points = [(0, 0.0), (1440, 200 * middle), (2880, 200 * (1.0 if middle == 0.5 else 0.0))]
    out = thin("stereo.width_pct", points)
    assert (len(out) == 3) is kept
    assert out[0] == points[0] and out[-1] == points[-1]


def test_thinning_keeps_switches_and_can_be_switched_off():
    steps = [(0, 0.0), (1440, 1.0), (2880, 1.0), (4320, 1.0)]
    assert thin("comp.bypass", steps) == steps
    ramp = [(k * 480, -20.0 + k * 0.01) for k in range(100)]
    assert thin("output.gain_db", ramp, factor=0) == ramp
    assert thin("output.gain_db", ramp) == [ramp[0], ramp[-1]]


def test_a_dense_fader_sweep_thins_to_few_points_without_audible_change():
    rate = 48000
    sweep = [(k * 480, -20.0 + 20.0 * math.sin(k / 400 * math.pi / 2)) for k in range(401)]
    out = thin("output.gain_db", sweep)
    assert len(out) < len(sweep) / 4
    worst = max(abs(value_at("output.gain_db", tuple(out), t) - v) for t, v in sweep)
    # 0.22 dB at worst on a 20 dB sweep, with the default factor: level differences
    # under about 0.5 dB are not heard even on steady tones, let alone on a moving fader
    assert worst < 0.3
    assert sweep[-1][0] == 400 * rate // 100


def test_lanes_interpolate_linear_geometric_and_held():
    assert math.isnan(value_at("output.gain_db", (), 5))
    pts = ((100, -20.0), (200, 0.0))
    assert value_at("output.gain_db", pts, 0) == -20.0
    assert value_at("output.gain_db", pts, 150) == -10.0
    assert value_at("output.gain_db", pts, 999) == 0.0
    hz = ((0, 100.0), (100, 10000.0))
    assert value_at("eq.band1.freq_hz", hz, 50) == pytest.approx(1000.0)  # half way in octaves
    assert value_at("eq.band1.type", ((0, 0.0), (100, 2.0)), 99) == 0.0  # choices hold


def test_a_pass_replaces_only_its_range_with_guard_points():
    old = ((0, -10.0), (48000, -10.0), (96000, 0.0))
    new = merge_pass("output.gain_db", old, [(20000, -5.0), (30000, -6.0)], 20000, 30000)
    assert new[0] == (0, -10.0)
    assert (20000 - GUARD, -10.0) in new and new[-1] == (96000, 0.0)
    guard = next(p for p in new if p[0] == 30000 + GUARD)
    assert guard[1] == pytest.approx(value_at("output.gain_db", old, 30000 + GUARD))
    for t in (0, 10000, 19000, 60000, 90000):  # outside the pass, nothing changed
        assert value_at("output.gain_db", new, t) == pytest.approx(value_at("output.gain_db",
                                                                           old, t))
    assert merge_pass("output.gain_db", (), [(5, -3.0), (9, -2.0)], 5, 9) == ((5, -3.0),
                                                                             (9, -2.0))


def test_a_recorded_jump_stays_a_jump_and_a_sweep_stays_a_ramp():
    jump = staircase([(0, -10.0), (48000, -4.0)], hold_after=1440)
    assert jump == [(0, -10.0), (47999, -10.0), (48000, -4.0)]
    # in motion, a value sits in the middle of the time it was heard
    sweep = staircase([(0, -10.0), (480, -9.9), (960, -9.8), (1200, -9.8)], hold_after=1440)
    assert sweep == [(0, -10.0), (720, -9.9), (1080, -9.8), (1200, -9.8)]


def test_song_automation_packs_for_the_kernel_and_drops_empty_lanes():
    song = SongAutomation()
    song.put(Lane("output.gain_db", ((0, -6.0), (10, 0.0))))
    song.put(Lane("limiter.drive_db"))
    assert list(song.lanes) == ["output.gain_db"]
    packed = song.packed()
    p = P.index("output.gain_db")
    start, count = int(packed[3 * p]), int(packed[3 * p + 1])
    assert count == 2 and list(packed[start:start + 4]) == [0.0, -6.0, 10.0, 0.0]


def test_a_trim_pass_keeps_the_lane_shape_and_adds_the_move():
    old = ((0, -20.0), (48000, -10.0), (96000, -20.0))
    moves = [(24000, -6.0), (72000, -3.0)]  # the fader from -6 (where trim began) up 3 dB
    out = trimmed("output.gain_db", old, moves, reference=-6.0)
    assert out == [(24000, -15.0), (48000, -8.5), (72000, -12.0)]
    hz = trimmed("eq.band1.freq_hz", ((0, 100.0), (10, 1000.0)), [(0, 50.0), (10, 100.0)], 50.0)
    assert hz == [(0, 100.0), (10, 2000.0)]  # log taper: the move is a ratio
    assert trimmed("output.gain_db", (), moves, -6.0) == moves  # no lane: the desk's values

"""The UI's drawing maths and model rules, as tables: no app, no daemon."""

import pytest

from console.ui.draw import (
    LUFS_SCALE,
    PeakHold,
    RateCounter,
    Scale,
    centre_cells,
    clock,
    fmt_number,
    fold_columns,
    lane_shape,
    meter_cells,
    ruler,
    strip_row_of,
    strip_rows,
    zone_spans,
)
from console.ui.model import ConsoleModel, LoudnessHistory, nice_step, nudge_value
from console.ui.screens.album import timeline_cells
from console.ui.screens.automation import lane_mode
from console.ui.screens.meters import loudness_level, peak_level
from dsp import params as P

S = Scale(-40.0, 0.0)


@pytest.mark.parametrize(("value", "width", "cells"), [
    (None, 4, "    "),
    (-40.0, 4, "    "),
    (-60.0, 4, "    "),            # below the scale: empty, never negative
    (0.0, 4, "████"),
    (6.0, 4, "████"),              # above the scale: full, never wider
    (-20.0, 4, "██  "),
    (-35.0, 4, "▌   "),            # half a cell: four eighths
    (-38.75, 4, "▏   "),           # one eighth of a cell
    (-1.25, 4, "███▉"),            # seven eighths of the last cell
    (-20.0, 0, ""),
    (float("nan"), 3, "   "),
])
def test_meter_cells_fill_eighths_of_cells(value, width, cells):
    assert meter_cells(value, width, S) == cells
    assert len(meter_cells(value, width, S)) == width


def test_meter_cells_resolve_an_eighth_of_a_cell_everywhere():
    width = 40
    previous = 0
    for tenth in range(-400, 1):
        filled = meter_cells(tenth / 10, width, S)
        eighths = sum(8 if c == "█" else " ▏▎▍▌▋▊▉".find(c) for c in filled)
        assert eighths >= previous  # monotonic in the value
        previous = eighths
    assert previous == width * 8


@pytest.mark.parametrize(("value", "cells"), [
    (None, "  ┃  "),
    (0.0, "  ┃  "),
    (1.0, "  ███"),
    (-1.0, "███  "),
    (0.5, "  ██ "),
    (-0.4, " ██  "),
])
def test_centre_cells_grow_from_the_middle(value, cells):
    assert centre_cells(value, 5) == cells


@pytest.mark.parametrize(("value", "column"), [
    (-40.0, 0), (-20.0, 20), (0.0, 39), (10.0, 39), (-100.0, 0), (-14.0, 26)])
def test_scale_column_is_clamped(value, column):
    assert S.column(value, 40) == column


def test_zone_spans_cover_the_bar_without_gaps():
    spans = zone_spans(40, S, [-16.0, -14.0])
    assert spans == [(0, 24), (24, 26), (26, 40)]
    assert zone_spans(40, S, [-50.0, 5.0]) == [(0, 0), (0, 40), (40, 40)]


@pytest.mark.parametrize(("value", "width", "decimals", "sign", "text"), [
    (-14.23, 5, 1, False, "-14.2"),
    (-9.3, 5, 1, False, " -9.3"),
    (None, 5, 1, False, " --.-"),
    (float("inf"), 5, 1, False, " --.-"),
    (1.5, 6, 2, True, " +1.50"),
    (0.97, 4, 2, False, "0.97"),
])
def test_fmt_number_keeps_a_fixed_width(value, width, decimals, sign, text):
    assert fmt_number(value, width, decimals, sign) == text


@pytest.mark.parametrize(("seconds", "decimals", "text"), [
    (0.0, 1, "0:00.0"), (59.96, 1, "1:00.0"), (61.25, 1, "1:01.2"), (192.0, 1, "3:12.0"),
    (None, 1, "-:--.-"), (-3.0, 1, "0:00.0"), (59.96, 0, "0:59"), (61.9, 0, "1:01"),
    (None, 0, "-:--"), (600.0, 0, "10:00")])
def test_clock(seconds, decimals, text):
    assert clock(seconds, decimals) == text


def test_peak_hold_holds_then_falls_and_jumps_up_at_once():
    hold = PeakHold(hold_s=1.0, fall_db_per_s=10.0)
    table = [  # (time, reading, held)
        (0.0, -6.0, -6.0),
        (0.5, -20.0, -6.0),   # held
        (1.0, -20.0, -6.0),   # still held at the end of the hold time
        (1.5, -20.0, -11.0),  # falling at 10 dB/s
        (2.0, -20.0, -16.0),
        (2.1, -3.0, -3.0),    # a new peak moves it up at once
        (2.5, None, -3.0),    # no reading: the hold stays
    ]
    for now, reading, held in table:
        assert hold.update(reading, now) == pytest.approx(held), now
    hold.reset()
    assert hold.update(None, 3.0) is None


def test_rate_counter_counts_the_last_second():
    rate = RateCounter(1.0)
    for i in range(60):
        rate.tick(i / 30)  # 30 per second for two seconds
    assert rate.rate(59 / 30) == pytest.approx(30, abs=1)
    assert rate.rate(10.0) == 0
    assert rate.total == 60


@pytest.mark.parametrize(("values", "width", "columns"), [
    ([1, 2, 3, 4], 2, [2, 4]),
    ([1, None, None, 4], 4, [1, None, None, 4]),
    ([None, None], 2, [None, None]),
    ([5], 3, [5, 5, 5]),            # fewer values than columns: spread
    ([1, 9, 2, 3, 4, 5], 3, [9, 3, 5]),
    ([], 3, [None, None, None]),
])
def test_fold_columns_keeps_the_loudest_of_each_share(values, width, columns):
    assert fold_columns(values, width) == columns


def test_strip_rows_rise_from_the_bottom_in_eighths():
    scale = Scale(0.0, 2.0)
    assert strip_rows([0.0, 0.5, 1.0, 2.0, None], 2, scale) == ["   █ ", " ▄██ "]
    assert strip_rows([0.125], 1, Scale(0.0, 1.0)) == ["▁"]
    assert strip_row_of(-14.0, 6, Scale(-36.0, 0.0)) == 2
    assert strip_row_of(-36.0, 6, Scale(-36.0, 0.0)) == 5
    assert strip_row_of(0.0, 6, Scale(-36.0, 0.0)) == 0


@pytest.mark.parametrize(("points", "columns"), [
    ([(0.0, 0.0), (4.0, 4.0)], [0.5, 1.5, 2.5, 3.5]),   # a ramp
    ([(2.0, 1.0)], [1.0, 1.0, 1.0, 1.0]),              # one point: flat
    ([(1.0, 2.0), (3.0, 2.0)], [2.0, 2.0, 2.0, 2.0]),  # held before and after
    ([(0.0, -5.0), (4.0, 15.0)], [0.0, 2.5, 7.5, 10.0]),  # clamped to the range
    ([], [None] * 4),
])
def test_lane_shape_joins_breakpoints_with_straight_lines(points, columns):
    assert lane_shape(points, 4.0, 4, 0.0, 10.0) == pytest.approx(columns)


def test_ruler_places_labels_under_their_cells_without_overlap():
    text = ruler(43, LUFS_SCALE, (-42.0, -36.0, -14.0, -9.0, 0.0))
    assert len(text) == 43
    assert text.startswith("-42")
    assert text.rstrip().endswith("0")
    assert text.index("-14") == LUFS_SCALE.column(-14.0, 43) - 1
    assert "-36" not in ruler(10, LUFS_SCALE, (-42.0, -36.0))  # would overlap -42


def test_timeline_marks_playhead_and_loop():
    assert timeline_cells(10, 20.0, 5.0, {"on": True, "start_s": 10.0, "end_s": 15.0}) == (
        2, (5, 8))
    assert timeline_cells(10, 20.0, None, {"on": False}) == (None, None)
    assert timeline_cells(10, None, 3.0, {"on": True}) == (None, None)


@pytest.mark.parametrize(("value", "level"), [
    (None, ""), (-20.0, ""), (-16.0, "near"), (-14.0, "near"), (-13.1, "near"), (-12.9, "over")])
def test_loudness_level_against_minus_14(value, level):
    assert loudness_level(value, -14.0) == level


@pytest.mark.parametrize(("value", "level"), [
    (None, ""), (-3.0, ""), (-1.5, "near"), (-1.0, "near"), (-0.9, "over")])
def test_peak_level_against_minus_1(value, level):
    assert peak_level(value, -1.0) == level


# the model's rules -------------------------------------------------------------------
@pytest.mark.parametrize(("param_id", "step"), [
    ("eq.band2.gain_db", 0.5), ("limiter.ceiling_dbtp", 0.1), ("comp.mix_pct", 1.0),
    ("stereo.width_pct", 2.0), ("input.trim_db", 0.5), ("comp.threshold_db", 0.5),
    ("comp.knee_db", 0.2)])
def test_nice_step_is_about_a_hundredth_of_the_travel(param_id, step):
    assert nice_step(P.get(param_id)) == step


@pytest.mark.parametrize(("param_id", "value", "steps", "coarse", "moved"), [
    ("eq.band2.gain_db", 0.0, 1, False, 0.5),
    ("eq.band2.gain_db", 0.0, -1, True, -5.0),
    ("eq.band2.gain_db", 17.8, 1, False, 18.0),      # clamped at the top
    ("eq.band2.gain_db", 0.3, 1, False, 1.0),        # lands on the step grid
    ("limiter.ceiling_dbtp", -1.0, 1, False, -0.9),
    ("limiter.ceiling_dbtp", -0.05, 3, False, 0.0),
    ("comp.bypass", 1.0, 1, False, 0.0),              # a switch toggles
    ("comp.bypass", 0.0, -1, False, 1.0),
    ("eq.band1.type", 1.0, 1, False, 2.0),            # a choice steps
    ("eq.band1.type", 4.0, 1, False, 4.0),            # and stops at the last one
    ("eq.band1.type", 0.0, -1, False, 0.0),
])
def test_nudge_value(param_id, value, steps, coarse, moved):
    assert nudge_value(P.get(param_id), value, steps, coarse) == pytest.approx(moved)


def test_nudge_of_a_log_parameter_moves_along_its_taper_and_back():
    ratio = P.get("comp.ratio")
    up = nudge_value(ratio, 2.0, 1)
    assert up > 2.0
    assert nudge_value(ratio, up, -1) == pytest.approx(2.0, rel=1e-9)
    assert nudge_value(ratio, 20.0, 1, True) == 20.0


def test_an_old_echo_of_our_own_change_does_not_undo_a_newer_key_press():
    model = ConsoleModel(own_author="protocol:7")
    model.note_local("comp.ratio", 3.0, 0.0)
    model.note_local("comp.ratio", 4.0, 0.1)
    assert model.apply_params({"comp.ratio": 3.0}, "protocol:7", 0.2) == []
    assert model.values["comp.ratio"] == 4.0
    assert model.apply_params({"comp.ratio": 4.0}, "protocol:7", 0.3) == []  # confirmed
    assert model.apply_params({"comp.ratio": 5.0}, "surface:x", 0.4) == ["comp.ratio"]
    assert model.touched.author == "surface:x"


def test_someone_elses_change_wins_and_is_the_touched_parameter():
    model = ConsoleModel(own_author="protocol:7")
    model.note_local("eq.band2.gain_db", 1.0, 0.0)
    assert model.apply_params({"eq.band2.gain_db": -2.0}, "surface:nano", 1.0) == [
        "eq.band2.gain_db"]
    assert model.values["eq.band2.gain_db"] == -2.0
    assert model.touch(1.5).param_id == "eq.band2.gain_db"
    assert model.touch(10.0) is None  # the highlight fades
    model.apply_params({"comp.ratio": 3.0, "comp.knee_db": 2.0}, "protocol:2", 11.0)
    assert model.touch(11.0) is None  # a recall of many is no single touch


def test_selection_wraps_and_jumps_by_stage():
    model = ConsoleModel()
    model.select(-1)
    assert model.selected_param.id == P.PARAMS[-1].id
    model.select(1)
    assert model.selected == 0
    model.select_stage(1)
    assert model.selected_param.id == "eq.bypass"
    model.select_stage(-2)
    assert model.selected_param.stage == "output"


def test_history_is_kept_by_song_position_and_restarts_with_a_new_song():
    history = LoudnessHistory(2.0)
    assert len(history.bins) == 4
    history.record(0.2, -20.0)
    history.record(1.7, -12.0)
    history.record(9.0, -10.0)  # past the end: the last bin
    history.record(0.3, -18.0)  # played again (a loop): overwritten
    assert history.bins == [-18.0, None, None, -10.0]
    model = ConsoleModel()
    model.apply_state({"song": {"title": "b", "duration_s": 3.0}})
    assert model.history.duration_s == 3.0 and model.history.bins == [None] * 6


def test_surface_bindings_are_indexed_by_parameter():
    model = ConsoleModel()
    model.apply_surfaces({"surfaces": [{"name": "nano", "bindings": [
        {"control": "cc 16 ch1", "target": "param comp.ratio"},
        {"control": "note 41 ch1", "target": "action toggle_play"}]}]})
    assert model.bindings["comp.ratio"] == ["nano: cc 16 ch1"]
    assert model.bindings["action toggle_play"] == ["nano: note 41 ch1"]


def test_a_lane_mode_says_when_it_follows_the_global_one():
    assert lane_mode({"mode": "read", "own_mode": None}, "read") == "read (global)"
    assert lane_mode({"mode": "latch", "own_mode": "latch"}, "read") == "latch"


def test_songs_come_from_the_session_with_the_current_ones_measurements():
    model = ConsoleModel()
    model.song = {"title": "b", "duration_s": 12.0, "integrated_lufs": -15.0}
    assert model.songs() == [{"title": "b", "duration_s": 12.0, "integrated_lufs": -15.0,
                              "current": True}]
    model.apply_session({"current": "b", "songs": [
        {"id": "a", "title": "A", "current": False, "markers": []},
        {"id": "b", "title": "B", "current": True, "markers": [
            {"position_s": 9.0, "name": "end"}, {"position_s": 2.0, "name": "drop"}]}]})
    songs = model.songs()
    assert [s["title"] for s in songs] == ["A", "B"]
    assert songs[1]["duration_s"] == 12.0 and "duration_s" not in songs[0]
    assert [m["name"] for m in model.markers()] == ["drop", "end"]

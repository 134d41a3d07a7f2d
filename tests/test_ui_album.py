"""The UI with a session: the album's songs, markers, undo, automation lanes; screenshots.

A daemon with a session of two songs (``serve --session DIR`` as a Daemon in
this process) on the module's dummy JACK server; the app is driven by keys
and checked against what a separate protocol client reads from the daemon.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from console.ui.screens.album import AlbumScreen
from console.ui.screens.automation import AutomationScreen
from console.ui.screens.marker import MarkerNoteScreen
from tests.test_ui_support import (
    ask,
    daemon_request,
    daemon_values,
    drive,
    play_in_a_loop,
    press,
    screen_text,
    select,
    start_deck,
    until,
)

DOCS = Path(__file__).resolve().parent.parent / "docs"


@pytest.fixture(scope="module")
def deck(jack, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        deck = start_deck(tmp_path_factory.mktemp("ui-album"), monkeypatch)
        try:
            yield deck
        finally:
            deck.daemon.shutdown()


def current_song(deck):
    return deck.daemon.desk.state()["album"]["current"]


def test_the_album_lists_the_session_songs_and_n_and_p_change_song(deck):
    async def scenario(app, pilot):
        await press(app, pilot, "f3")
        await until(pilot, lambda: len(app.model.songs()) == 2, what="the album's songs")
        screen = app.screen
        assert isinstance(screen, AlbumScreen)
        first = current_song(deck)
        assert app.model.songs()[0]["current"] and app.model.songs()[0]["duration_s"] > 0
        await press(app, pilot, "n")
        await until(pilot, lambda: current_song(deck) != first, what="the next song")
        await until(pilot, lambda: app.model.songs()[1]["current"], what="the list to follow")
        assert "second" in screen_text(app)
        await press(app, pilot, "p")
        await until(pilot, lambda: current_song(deck) == first, what="the previous song")

    try:
        drive(deck, scenario)
    finally:
        play_in_a_loop(deck.daemon)


def test_a_marker_key_marks_the_playhead_and_the_album_lists_it(deck):
    async def scenario(app, pilot):
        await press(app, pilot, "f3")
        await until(pilot, lambda: app.model.session is not None)
        before = len(app.model.markers())
        song, eq_bypass = current_song(deck), daemon_values(deck, "eq.bypass")["eq.bypass"]
        await press(app, pilot, "M")
        await until(pilot, lambda: isinstance(app.screen, MarkerNoteScreen), what="the dialog")
        await press(app, pilot, *"snare up", "enter")  # typed keys are the note, not commands
        await until(pilot, lambda: len(app.model.markers()) > before, what="the marker")
        marker = next(m for m in app.model.markers() if m.get("note") == "snare up")
        assert 0.0 <= marker["position_s"] <= 20.0
        assert current_song(deck) == song  # "n" and "p" in the note did not change song
        assert daemon_values(deck, "eq.bypass")["eq.bypass"] == eq_bypass  # nor "e" the EQ
        await pilot.pause(0.2)
        assert "snare up" in str(app.screen.markers.render())
        await press(app, pilot, "M")
        await until(pilot, lambda: isinstance(app.screen, MarkerNoteScreen), what="the dialog")
        await press(app, pilot, "escape")  # esc drops it
        await until(pilot, lambda: not isinstance(app.screen, MarkerNoteScreen))
        await pilot.pause(0.5)
        assert len(app.model.markers()) == before + 1

    drive(deck, scenario)


def test_undo_takes_back_a_keyboard_move(deck):
    async def scenario(app, pilot):
        await press(app, pilot, *select(app, "comp.makeup_db"))
        before = (await ask(deck, "comp.makeup_db"))["comp.makeup_db"]
        await press(app, pilot, "right", "right")
        await until(pilot, lambda: daemon_values(deck, "comp.makeup_db")["comp.makeup_db"]
                    == pytest.approx(before + 1.0), what="the move")
        await press(app, pilot, "u")
        await until(pilot, lambda: daemon_values(deck, "comp.makeup_db")["comp.makeup_db"]
                    == pytest.approx(before), what="the undo")
        await until(pilot, lambda: app.model.values["comp.makeup_db"] == pytest.approx(before))

    drive(deck, scenario)


def test_the_automation_screen_shows_lanes_and_a_steps_a_lanes_mode(deck):
    rate = 48000
    daemon_request(deck, "automation_lane", param="output.gain_db",
                   points=[[0, -12.0], [10 * rate, -4.0]])

    async def scenario(app, pilot):
        await press(app, pilot, "f4", *select(app, "output.gain_db"))
        await until(pilot, lambda: "output.gain_db" in app.model.automation, what="the lane")
        screen = app.screen
        assert isinstance(screen, AutomationScreen)
        await pilot.pause(0.2)
        assert any(v is not None and v > -30 for v in screen.lane.values)  # the shape
        assert "Output gain" in screen_text(app)
        own = app.model.automation["output.gain_db"].get("own_mode")
        await press(app, pilot, "a")
        await until(pilot, lambda: app.model.automation["output.gain_db"].get("own_mode")
                    != own, what="the lane's new mode")

    try:
        drive(deck, scenario)
    finally:
        daemon_request(deck, "automation_mode", mode="off", param="output.gain_db")
        deck.daemon.desk.set("output.gain_db", 0.0)


def test_screenshots_of_the_main_screens(deck, tmp_path):
    """SVG exports of each screen; ``MASTERDECK_UI_SCREENSHOTS=1`` writes them to docs/."""
    for_docs = bool(os.environ.get("MASTERDECK_UI_SCREENSHOTS"))
    folder = DOCS if for_docs else tmp_path
    history_s, settle_s = (3.0, 1.0) if for_docs else (1.0, 0.3)  # the docs' pictures: fuller
    shots = {}
    daemon_request(deck, "automation_lane", param="eq.band2.gain_db",
                   points=[[0, 0.0], [6 * 48000, 3.0], [14 * 48000, -2.0], [20 * 48000, 0.0]])
    daemon_request(deck, "marker_add", position_s=6.0, name="lift", note="the band comes in")

    async def scenario(app, pilot):
        await press(app, pilot, *select(app, "comp.threshold_db"), "left", "left")
        await asyncio.sleep(history_s)  # some loudness history
        for mode, keys in (("meters", ()), ("album", ("f3",)),
                           ("automation", ("f4", *select(app, "eq.band2.gain_db"))),
                           ("surfaces", ("f5",)), ("help", ("f1",))):
            await press(app, pilot, *keys)
            await pilot.pause(settle_s)
            shots[mode] = app.save_screenshot(f"ui-{mode}.svg", str(folder))
        await press(app, pilot, "escape", "f2", *select(app, "comp.threshold_db"), "backspace")

    try:
        drive(deck, scenario, size=(160, 48))
    finally:
        daemon_request(deck, "automation_mode", mode="off", param="eq.band2.gain_db")
    for mode, path in shots.items():
        assert Path(path).read_text().startswith("<svg"), mode
    assert "MOMENTARY" in Path(shots["meters"]).read_text()


def test_the_arc_screen_draws_the_album_as_mastered(deck):
    from console.ui.screens.arc import BARS, ArcScreen

    async def scenario(app, pilot):
        await press(app, pilot, "f6")
        await until(pilot, lambda: len((app.model.state.get("album_arc") or {})
                                       .get("songs", [])) == 2, timeout=120.0,
                    what="the daemon's arc")
        screen = app.screen
        assert isinstance(screen, ArcScreen)
        await pilot.pause(0.3)
        arc = app.model.state["album_arc"]
        assert arc == deck.daemon.session.arc.arc  # what the daemon measured, as it sent it
        shape = str(screen.shape.render())
        line = shape.splitlines()[0]
        assert len(line) >= 20 and set(line) <= set(BARS) and line.strip(" ")
        assert " " in line.strip(" ") or arc["songs"][1]["gap_s"] == 0  # the gap shows
        text = screen_text(app)
        for song in arc["songs"]:
            assert song["title"][:22] in text
        assert "album" in str(screen.table.render())

    drive(deck, scenario)


def test_the_arc_screen_keys_move_the_level_plan_and_u_undoes_it(deck):
    controller = deck.daemon.session
    second = controller.session.songs[1]

    async def scenario(app, pilot):
        await press(app, pilot, "f6")
        await until(pilot, lambda: app.model.session is not None, what="the session")
        await press(app, pilot, "down", "shift+right", "left")
        await until(pilot, lambda: second.level_offset_db == pytest.approx(0.9),
                    what="the level offset")
        await pilot.pause(1.2)  # the ride is over: the gap is a step of its own
        await press(app, pilot, "ctrl+right")
        await until(pilot, lambda: second.gap_s == pytest.approx(second_gap + 0.5),
                    what="the gap")
        assert controller.session.songs[0].level_offset_db == 0.0  # only the picked song
        await press(app, pilot, "u")
        await until(pilot, lambda: second.gap_s == pytest.approx(second_gap), what="undo")
        await press(app, pilot, "u")
        await until(pilot, lambda: second.level_offset_db == 0.0, what="undo the ride")

    second_gap = second.gap_s
    drive(deck, scenario)


def test_the_arc_screen_shows_the_markers_with_their_notes(deck):
    from console.ui.screens.arc import MARK, ArcScreen

    second = deck.daemon.session.session.songs[1]
    daemon_request(deck, "marker_add", position_s=5.0, name="bridge", note="lift the vocal",
                   song=second.id)

    async def scenario(app, pilot):
        await press(app, pilot, "f6")
        await until(pilot, lambda: len((app.model.state.get("album_arc") or {})
                                       .get("songs", [])) == 2, timeout=120.0,
                    what="the daemon's arc")
        await until(pilot, lambda: any(m.get("note") == "lift the vocal"
                                       for s in (app.model.session or {}).get("songs", [])
                                       for m in s.get("markers", [])), what="the marker")
        screen = app.screen
        assert isinstance(screen, ArcScreen)
        await pilot.pause(0.3)
        arc = app.model.state["album_arc"]
        ticks = str(screen.shape.render()).splitlines()[2]
        width = len(ticks)
        at = next(s["start_s"] for s in arc["songs"] if s["id"] == second.id) + 5.0
        assert ticks[min(int(at / arc["album"]["length_s"] * width), width - 1)] == MARK
        listed = str(screen.markers.render())
        assert "bridge — lift the vocal" in listed and "song  2" in listed

    drive(deck, scenario)


def test_z_plays_the_album_on_one_timeline_and_j_and_k_hear_the_join(deck):
    engine = deck.daemon.engine

    async def scenario(app, pilot):
        await press(app, pilot, "f6")
        await press(app, pilot, "z")
        await until(pilot, lambda: engine.timeline is not None, what="album mode")
        await until(pilot, lambda: app.model.state.get("album_mode"), what="the UI to know")
        await until(pilot, lambda: "ALBUM" in screen_text(app), what="the transport line")
        join = engine.timeline.songs[1].start / engine.sample_rate
        await press(app, pilot, "J")
        await until(pilot, lambda: abs(engine.position_s - (join - 3.0)) < 0.5,
                    what="the playhead 3 s before the join")
        await press(app, pilot, "K")
        await until(pilot, lambda: engine.loop_info()["on"]
                    and abs(engine.loop_info()["start_s"] - (join - 3.0)) < 0.01,
                    what="the loop around the join")
        await press(app, pilot, "z")
        await until(pilot, lambda: engine.timeline is None, what="album mode off")

    try:
        drive(deck, scenario)
    finally:
        engine.set_loop(on=False)
        if engine.timeline is not None:
            deck.daemon.session.set_album_mode(False)
        play_in_a_loop(deck.daemon)

"""The console UI against a real daemon: meters, keys, snapshots, help, learn, reconnect.

One daemon (engine, control server, surfaces) plays a tone on the module's
dummy JACK server; each test runs the app with ``run_test()`` and checks what
it shows and, through a separate protocol client, what the daemon did.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from console.control.client import Client
from console.control.server import ControlServer
from console.ui.screens.album import AlbumScreen
from console.ui.screens.help import HelpScreen
from console.ui.screens.meters import MetersScreen
from console.ui.screens.surfaces import SurfacesScreen
from tests.test_surfaces_support import Player
from tests.test_ui_support import (
    TOKEN,
    ask,
    daemon_values,
    drive,
    press,
    screen_text,
    select,
    start_deck,
    until,
)


@pytest.fixture(scope="module")
def deck(jack, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        deck = start_deck(tmp_path_factory.mktemp("ui"), monkeypatch)
        try:
            yield deck
        finally:
            deck.daemon.shutdown()


# meters --------------------------------------------------------------------------------
def test_meters_show_live_numbers_more_than_25_times_a_second(deck):
    async def scenario(app, pilot):
        screen = app.screen
        assert isinstance(screen, MetersScreen)
        await pilot.pause(1.0)
        frames, began = app.model.rate.total, time.monotonic()
        await pilot.pause(2.0)
        rate = (app.model.rate.total - frames) / (time.monotonic() - began)
        assert rate >= 25, f"{rate:.1f} meter frames a second"
        m = screen.figures["momentary_lufs"].text
        assert -40 < float(m) < -3, m
        assert float(screen.figures["short_term_lufs"].text) < 0
        assert screen.bars["true_peak_dbtp"].value is not None
        assert screen.bars["true_peak_dbtp"].target == -1.0
        assert screen.bars["momentary_lufs"].target == -14.0
        assert -1.0 <= screen.correlation.value <= 1.0
        assert "PLAYING" in screen.transport.text
        assert " fps" in str(screen.info.text)
        assert any(v is not None for v in app.model.history.bins)
        before = screen.figures["momentary_lufs"].text, app.model.meters["position_s"]
        await pilot.pause(0.5)
        assert app.model.meters["position_s"] != before[1]  # live, not a still picture
        await press(app, pilot, "g")  # the next delivery target is drawn at once
        await pilot.pause(0.2)
        assert screen.bars["integrated_lufs"].target == -16.0

    drive(deck, scenario)


# keys ----------------------------------------------------------------------------------
def test_a_key_press_changes_a_parameter_on_the_daemon(deck):
    async def scenario(app, pilot):
        await press(app, pilot, *select(app, "comp.ratio"))
        assert app.model.selected_param.id == "comp.ratio"
        start = (await ask(deck, "comp.ratio"))["comp.ratio"]
        await press(app, pilot, "right", "right", "shift+right")
        await until(pilot, lambda: app.model.values["comp.ratio"] > start)
        wanted = app.model.values["comp.ratio"]
        got = await ask(deck, "comp.ratio")
        assert got["comp.ratio"] == pytest.approx(wanted)
        screen = app.screen
        assert screen.focus_panel.border_title == "just touched"
        assert screen.chain.row_for("comp.ratio").has_class("-selected")
        await press(app, pilot, "backspace")  # back to its default
        await until(pilot, lambda: daemon_values(deck, "comp.ratio")["comp.ratio"] == 2.0)

    drive(deck, scenario)


def test_a_change_made_elsewhere_is_shown_as_just_touched(deck):
    async def scenario(app, pilot):
        def change():
            with Client(socket_path=deck.socket) as client:
                client.request("set", values={"eq.band3.gain_db": 2.5})
        await asyncio.to_thread(change)
        await until(pilot, lambda: app.model.values["eq.band3.gain_db"] == 2.5)
        await pilot.pause(0.1)
        screen = app.screen
        assert screen.focus_panel.border_title == "just touched"
        assert screen.chain.row_for("eq.band3.gain_db").touched == "eq.band3.gain_db"
        await asyncio.to_thread(lambda: deck.daemon.desk.set("eq.band3.gain_db", 0.0))

    drive(deck, scenario)


def test_stage_bypass_and_source_keys(deck):
    async def scenario(app, pilot):
        engine = deck.daemon.engine
        before = (await ask(deck, "limiter.bypass"))["limiter.bypass"]
        await press(app, pilot, "t")
        await until(pilot, lambda: daemon_values(deck, "limiter.bypass")["limiter.bypass"]
                    != before, what="the limiter bypass")
        await pilot.pause(0.1)
        assert "BYPASSED" in str(app.screen.chain.panels["limiter"].border_title)
        await press(app, pilot, "t")
        await until(pilot, lambda: daemon_values(deck, "limiter.bypass")["limiter.bypass"]
                    == before)
        assert "BYPASSED" in str(app.screen.chain.panels["clipper"].border_title)  # off: default
        await press(app, pilot, "i")
        await until(pilot, lambda: daemon_values(deck, "clipper.bypass")["clipper.bypass"]
                    == 0.0, what="the clipper in")
        await pilot.pause(0.1)
        assert "BYPASSED" not in str(app.screen.chain.panels["clipper"].border_title)
        await press(app, pilot, "i")
        await until(pilot, lambda: daemon_values(deck, "clipper.bypass")["clipper.bypass"]
                    == 1.0, what="the clipper off again")
        await press(app, pilot, "b")
        await until(pilot, lambda: engine.source == "bypass", what="bypass")
        await until(pilot, lambda: "hearing BYPASS" in app.screen.transport.text)
        await press(app, pilot, "m")
        await until(pilot, lambda: engine.source == "master", what="master")
        await press(app, pilot, "r")  # no reference loaded: the daemon's refusal is shown
        await until(pilot, lambda: any("reference" in str(t.message).lower()
                                       for t in app._notifications), what="a notification")
        assert engine.source == "master"

    drive(deck, scenario)


def test_translation_keys_switch_checks_and_the_same_key_again_is_off(deck):
    async def scenario(app, pilot):
        engine = deck.daemon.engine
        await press(app, pilot, "P")
        await until(pilot, lambda: engine.translation_name == "phone", what="the phone")
        await until(pilot, lambda: "as PHONE" in app.screen.transport.text,
                    what="the check on the transport line")
        await press(app, pilot, "O")  # another check's key switches straight to it
        await until(pilot, lambda: engine.translation_name == "mono", what="mono")
        await until(pilot, lambda: app.model.state.get("translation") == "mono")
        await press(app, pilot, "O")
        await until(pilot, lambda: engine.translation_name == "off", what="off again")
        await until(pilot, lambda: "as " not in app.screen.transport.text.split("│")[2])

    drive(deck, scenario)


def test_snapshot_keys_store_and_recall(deck):
    async def scenario(app, pilot):
        await press(app, pilot, *select(app, "limiter.ceiling_dbtp"))
        await press(app, pilot, "s", "1")  # store A
        await until(pilot, lambda: deck.daemon.desk.state().get("snapshot") == "A")
        stored = (await ask(deck, "limiter.ceiling_dbtp"))["limiter.ceiling_dbtp"]
        await press(app, pilot, "left", "left", "left")
        await until(pilot, lambda: daemon_values(deck, "limiter.ceiling_dbtp")[
            "limiter.ceiling_dbtp"] == pytest.approx(stored - 0.3))
        await press(app, pilot, "s", "2", "1")  # store B, recall A
        await until(pilot, lambda: daemon_values(deck, "limiter.ceiling_dbtp")[
            "limiter.ceiling_dbtp"] == pytest.approx(stored), what="recall of A")
        await until(pilot, lambda: app.model.values["limiter.ceiling_dbtp"] ==
                    pytest.approx(stored))
        await until(pilot, lambda: "snapshot A" in app.screen.transport.text)
        await press(app, pilot, "2")
        await until(pilot, lambda: app.model.values["limiter.ceiling_dbtp"] ==
                    pytest.approx(stored - 0.3), what="recall of B")
        await press(app, pilot, "1")

    drive(deck, scenario)


def test_transport_keys_stop_play_and_locate(deck):
    async def scenario(app, pilot):
        engine = deck.daemon.engine
        await press(app, pilot, "space")
        await until(pilot, lambda: not deck.daemon.desk.state().get("playing"), what="stop")
        await until(pilot, lambda: "STOPPED" in app.screen.transport.text)
        await press(app, pilot, "home")
        await until(pilot, lambda: app.model.meters["position_s"] < 0.5, what="the start")
        await press(app, pilot, "full_stop")  # forward from where the UI shows the playhead
        await until(pilot, lambda: 4.5 < engine.position_s < 5.5, what="forward 5 s")
        await press(app, pilot, "space")
        await until(pilot, lambda: deck.daemon.desk.state().get("playing"), what="play")

    try:
        drive(deck, scenario)
    finally:
        deck.daemon.engine.play()


def test_help_screen_lists_the_keys_and_any_key_closes_it(deck):
    async def scenario(app, pilot):
        before = (await ask(deck, "exciter.bypass"))["exciter.bypass"]
        await press(app, pilot, "f1")
        await until(pilot, lambda: isinstance(app.screen, HelpScreen))
        text = screen_text(app)
        for words in ("Transport", "Snapshots", "MIDI learn", "limiter in / bypassed", "F5"):
            assert words in text, words
        await press(app, pilot, "x")  # closes the help; does not bypass the exciter
        await until(pilot, lambda: isinstance(app.screen, MetersScreen))
        await pilot.pause(0.2)
        assert (await ask(deck, "exciter.bypass"))["exciter.bypass"] == before

    drive(deck, scenario)


def test_every_screen_opens_and_shows_the_console(deck):
    async def scenario(app, pilot):
        await press(app, pilot, "f3")
        await until(pilot, lambda: isinstance(app.screen, AlbumScreen))
        await pilot.pause(0.3)
        assert app.screen.position.value.count(":") == 1
        await press(app, pilot, "f4")
        await pilot.pause(0.3)
        assert "lane mode" in str(app.screen.title_label.render())
        await press(app, pilot, "f5")
        await until(pilot, lambda: isinstance(app.screen, SurfacesScreen))
        await until(pilot, lambda: app.model.surfaces is not None, what="the surfaces listing")
        await press(app, pilot, "f2")
        await until(pilot, lambda: isinstance(app.screen, MetersScreen))

    drive(deck, scenario)


def test_a_narrow_terminal_shows_the_meters_or_the_chain_and_v_switches(deck):
    async def scenario(app, pilot):
        screen = app.screen
        await until(pilot, lambda: screen.has_class("-narrow"))
        chain = screen.query_one("#chain-column")
        meters = screen.query_one("#meter-column")
        assert meters.display and not chain.display
        await press(app, pilot, "v")
        await until(pilot, lambda: chain.display and not meters.display, what="the chain")
        await press(app, pilot, "v")
        await until(pilot, lambda: meters.display, what="the meters again")

    drive(deck, scenario, size=(80, 24))


# learn ---------------------------------------------------------------------------------
def test_midi_learn_binds_the_control_moved_to_the_selected_parameter(deck):
    device = Player("nanoKONTROL2")
    try:
        async def scenario(app, pilot):
            await press(app, pilot, "f5")
            await until(pilot, lambda: any(s.get("connected") for s in
                                           (app.model.surfaces or {}).get("surfaces", [])),
                        timeout=15, what="the nanoKONTROL2 to appear")
            await press(app, pilot, *select(app, "comp.knee_db"))
            await press(app, pilot, "L")
            await until(pilot, lambda: app.model.learn.startswith("learning"))
            await pilot.pause(0.5)  # learn is armed on the daemon
            for _ in range(40):
                device.send(0xB0, 14, 30)  # a CC the factory scene does not use
                await pilot.pause(0.1)
                if app.model.learn.startswith("learned"):
                    break
            assert app.model.learn.startswith("learned"), app.model.learn
            await until(pilot, lambda: "comp.knee_db" in app.model.bindings,
                        what="the binding in the listing")
            assert "cc 14" in app.model.bindings["comp.knee_db"][0]
            saved = list((deck.folder / "config" / "masterdeck" / "mappings").glob("*.toml"))
            assert any("comp.knee_db" in path.read_text() for path in saved)

        drive(deck, scenario)
    finally:
        device.unplug()


# connection ----------------------------------------------------------------------------
def test_the_daemon_going_away_is_shown_and_the_ui_reconnects(deck):
    daemon = deck.daemon

    async def scenario(app, pilot):
        await asyncio.to_thread(daemon.server.stop)
        await until(pilot, lambda: not app.model.connected, what="the disconnect")
        await pilot.pause(0.3)
        banner = app.screen.banner
        assert banner.has_class("-down") and banner.display
        assert "NO DAEMON" in str(banner.render())
        assert daemon.engine.running  # the audio went on meanwhile
        server = ControlServer(daemon.engine, socket_path=deck.socket, tcp=deck.tcp,
                               token=TOKEN)
        server.surfaces, server.session = daemon.surfaces, daemon.session
        await asyncio.to_thread(server.start)
        daemon.server = server
        await until(pilot, lambda: app.model.connected, what="the reconnect")
        frames = app.model.rate.total
        await until(pilot, lambda: app.model.rate.total > frames + 10, what="meters again")
        assert not banner.has_class("-down")

    drive(deck, scenario)


def test_no_daemon_at_all_is_said_plainly(deck, tmp_path):
    async def scenario(app, pilot):
        await until(pilot, lambda: "no masterdeck daemon" in app.model.problem)
        await pilot.pause(0.2)
        assert "NO DAEMON" in str(app.screen.banner.render())

    drive(deck, scenario, connected=False, socket_path=str(tmp_path / "nobody.sock"))


def test_tcp_with_a_token_connects_and_a_wrong_token_is_refused(deck):
    async def connected(app, pilot):
        assert app.model.where == deck.tcp

    drive(deck, connected, socket_path=None, connect=deck.tcp, token=TOKEN)

    async def refused(app, pilot):
        await until(pilot, lambda: app.model.problem.startswith("refused"))
        assert not app.model.connected

    drive(deck, refused, connected=False, socket_path=None, connect=deck.tcp, token="wrong")


def test_quitting_the_ui_never_disturbs_the_daemon(deck):
    with Client(socket_path=deck.socket) as watcher:
        clients = watcher.request("status")["server"]["clients"]

        async def scenario(app, pilot):
            await press(app, pilot, "q")

        drive(deck, scenario)
        deadline = time.monotonic() + 5
        while watcher.request("status")["server"]["clients"] != clients:
            assert time.monotonic() < deadline, "the UI's connection lingered"
            time.sleep(0.05)
        status = watcher.request("status")
        assert status["stream"]["running"] and status["transport"]["playing"]

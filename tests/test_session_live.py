"""A session on a running engine (dummy JACK), driven over the control protocol's socket."""

from __future__ import annotations

import time
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from console.control.client import Client
from console.control.server import ControlServer
from console.control.wire import ProtocolError
from console.engine.stream import Engine
from console.session.controller import SessionController
from console.session.store import SessionStore
from tests.helpers import db, rms
from tests.jackrecorder import Recorder, clicks

RATE = 48000


def _tone(path, freq, level_db, seconds=6.0):
    t = np.arange(int(seconds * RATE)) / RATE
    s = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.stack([s, s], axis=1), RATE, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def live(jack, tmp_path_factory):
    root = tmp_path_factory.mktemp("live")
    (root / "mixes").mkdir()
    files = [_tone(root / "mixes" / f"{name}.wav", freq, -20.0)
             for name, freq in (("opener", 440.0), ("ballad", 660.0), ("closer", 330.0))]
    ref = _tone(root / "ref.wav", 1000.0, -10.0)
    engine = Engine(sample_rate=RATE, block_size=256)
    engine.start()
    session = SessionController(root / "album", engine)
    session.open()
    server = ControlServer(engine, socket_path=root / "control.sock")
    server.session = session
    server.start()
    client = Client(socket_path=str(root / "control.sock"))
    client.__enter__()
    recorder = Recorder("md-session-recorder", server=jack)
    recorder.connect_to("PortAudio")
    yield SimpleNamespace(engine=engine, session=session, client=client, root=root,
                          files=files, ref=ref, recorder=recorder)
    recorder.close()
    client.__exit__(None, None, None)
    server.stop()
    session.close()
    engine.stop()


def test_songs_and_references_are_added_reordered_removed_and_saved(live):
    c = live.client
    for path in live.files:
        c.request("song_add", path=str(path))
    # a relative path is taken from the session folder
    c.request("song_add", path="../mixes/ballad.wav", title="Ballad (radio edit)")
    data = c.request("session")["session"]
    assert [s["id"] for s in data["songs"]] == ["opener", "ballad", "closer",
                                                 "ballad-radio-edit"]
    assert data["songs"][0]["file"] == "../mixes/opener.wav"  # relative to the folder
    assert data["current"] == "opener"
    assert c.request("song_move", id="closer", index=0)["songs"][0] == "closer"
    assert "ballad-radio-edit" not in c.request("song_remove", id="ballad-radio-edit")["songs"]
    ref = c.request("reference_add", path=str(live.ref), title="Client ref")["reference"]
    c.request("reference_select", id=ref)
    c.request("marker_add", position_s=2.5, name="lift", note="open the top here")
    with pytest.raises(ProtocolError) as info:
        c.request("song_move", id="nope", index=0)
    assert info.value.code == "session_error" and "no song 'nope'" in info.value.message
    saved = c.request("session_save")["saved"]
    on_disk = SessionStore(live.session.folder, lock=False).load(replay=False).session
    assert saved["generation"] == on_disk.generation
    assert [s.id for s in on_disk.songs] == ["closer", "opener", "ballad"]
    assert on_disk.reference == "client-ref" and on_disk.song("opener").markers[0].name == "lift"


def test_switching_songs_brings_their_settings_and_automation_click_free(live):
    c, engine = live.client, live.engine
    c.request("song_select", id="opener")
    c.request("set", values={"output.gain_db": -6.0})
    c.request("automation_lane", param="eq.band5.gain_db", points=[[0, 0.0], [RATE, 3.0]])
    c.request("song_select", id="ballad")
    assert c.request("get", ids=["output.gain_db"])["values"]["output.gain_db"] == 0.0
    c.request("set", values={"output.gain_db": -12.0})
    c.request("song_select", number=2)  # the album's second song: opener
    assert engine.desk.get("output.gain_db") == -6.0
    assert engine.song.title == "opener"
    assert c.request("automation_lane", param="eq.band5.gain_db")["points"] == [[0, 0.0],
                                                                                 [RATE, 3.0]]
    state = c.request("status")["state"]
    assert state["automation"]["eq.band5.gain_db"]["points"][1] == [1.0, 3.0]
    assert state["album"]["current"] == "opener"

    def switch(_):
        time.sleep(0.4)
        c.request("song_next")

    def setup():
        c.request("song_select", id="opener")
        engine.locate(1.0)
        engine.play()
        time.sleep(0.3)

    x = live.recorder.record_clean(1.2, during=switch, setup=setup)
    engine.halt()
    assert engine.song.title == "ballad"
    assert clicks(x) == []
    # ballad plays at its own -12 dB: 6 dB under the opener's -6 dB
    assert db(rms(x[-RATE // 5:])) - db(rms(x[: RATE // 5])) == pytest.approx(-6.0, abs=0.5)


def test_undo_and_redo_cover_moves_snapshot_recalls_and_automation_edits(live):
    c, desk = live.client, live.engine.desk
    c.request("song_select", id="closer")
    c.request("set", values={"limiter.drive_db": 3.0})
    c.request("set", values={"limiter.drive_db": 4.0})  # one gesture: one undo step
    c.request("snapshot_store", slot="A")
    c.request("set", values={"eq.band2.gain_db": -2.0, "limiter.drive_db": 0.0})
    c.request("snapshot_store", slot="B")
    c.request("snapshot_recall", slot="A")
    assert desk.get("eq.band2.gain_db") == 0.0
    undone = c.request("undo")["undone"]
    assert undone["kind"] == "snapshot" and desk.get("eq.band2.gain_db") == -2.0
    assert c.request("redo")["redone"]["kind"] == "snapshot"
    assert desk.get("eq.band2.gain_db") == 0.0 and desk.get("limiter.drive_db") == 4.0
    c.request("automation_lane", param="output.gain_db", points=[[0, -20.0], [RATE * 5, 0.0]])
    c.request("automation_lane", param="output.gain_db", points=[[0, -10.0]])
    assert c.request("undo")["undone"]["kind"] == "pass"
    lane = c.request("automation_lane", param="output.gain_db")
    assert lane["points"] == [[0, -20.0], [RATE * 5, 0.0]]
    desk.perform("undo", author="test")  # the first lane edit
    assert c.request("automation_lane", param="output.gain_db")["points"] == []
    desk.perform("redo", author="test")
    assert len(c.request("automation_lane", param="output.gain_db")["points"]) == 2
    # what was undone is in the journal too: the session on disk agrees
    live.session.journal.flush()
    on_disk = SessionStore(live.session.folder, lock=False).load().session
    assert on_disk.song("closer").settings["limiter.drive_db"] == 4.0
    assert len(on_disk.song("closer").automation.lanes["output.gain_db"].points) == 2


def test_desk_actions_for_songs_and_automation_modes(live):
    desk = live.engine.desk
    desk.perform("snapshot_recall", slot="A") if desk.snapshots.get("A") else None
    live.session.select_song("closer")
    desk.perform("next_song", author="surface:test")
    assert live.session.session.current == "opener"
    desk.perform("previous_song", author="surface:test")
    desk.perform("previous_song", author="surface:test")  # stays on the first song
    assert live.session.session.current == "closer"
    assert desk.perform("automation_mode", author="t", mode="latch") == "latch"
    assert desk.perform("automation_mode", author="t") == "write"  # no mode: the next one
    assert desk.perform("automation_mode", author="t", mode="touch",
                        param="limiter.drive_db") == "touch"
    assert live.session.runner.mode_of("limiter.drive_db") == "touch"
    assert live.session.runner.mode_of("output.gain_db") == "write"
    assert desk.state()["automation_mode"] == "write"
    desk.perform("automation_mode", author="t", mode="read")

"""Album mode on the JACK dummy server: what a recording client hears is the album render.

A session of three songs (a gap, then a gapless join: the two halves of one
continuous sweep, as a live album is split into tracks), played in album
mode by a session on a running engine, recorded by a JACK client, and
compared with ``render --album``'s timeline: the gap to the sample, the join
without a click, the levels window by window; the session follows the songs
as they play; a join can be auditioned and looped.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from console.engine.stream import Engine
from console.offline.album import assemble
from console.session.controller import SessionController
from console.session.plan_actions import drop_marker
from tests.jackrecorder import Recorder, clicks
from tests.takes import align, compare
from tests.test_surfaces_support import until

RATE = 48000


def _sweep(seconds, f0, f1, level_db):
    t = np.arange(int(seconds * RATE)) / RATE
    phase = 2 * np.pi * f0 * seconds / np.log(f1 / f0) * (np.exp(t / seconds * np.log(f1 / f0))
                                                         - 1)
    x = 10 ** (level_db / 20) * np.sin(phase)
    return np.stack([x, 0.9 * x], axis=1)


@pytest.fixture
def rig(jack, tmp_path):
    one = _sweep(1.5, 200.0, 900.0, -18.0)
    one[:480] *= np.linspace(0, 1, 480)[:, None]  # songs that start and end softly
    one[-480:] *= np.linspace(1, 0, 480)[:, None]
    whole = _sweep(3.0, 300.0, 2400.0, -14.0)  # one take, split into two songs at 1.25 s
    whole[:480] *= np.linspace(0, 1, 480)[:, None]
    whole[-480:] *= np.linspace(1, 0, 480)[:, None]
    split = int(1.25 * RATE)
    for name, audio in (("one", one), ("two", whole[:split]), ("three", whole[split:])):
        sf.write(tmp_path / f"{name}.wav", audio, RATE, subtype="FLOAT")
    engine = Engine(sample_rate=RATE, block_size=256)
    engine.start()
    engine.set_match(False)  # what is heard is the master as it is
    session = SessionController(tmp_path / "album", engine)
    session.open()
    for name in ("one", "two", "three"):
        session.add_song(str(tmp_path / f"{name}.wav"), title=name)
    ids = [s.id for s in session.session.songs]
    session.set_song(ids[0], gap_s=0.25, level_offset_db=-2.0)
    session.change({"op": "params", "id": ids[0], "values": {"eq.band2.gain_db": 5.0,
                                                             "comp.threshold_db": -30.0}})
    session.set_song(ids[1], gap_s=0.4)
    session.set_song(ids[2], gap_s=0.0)  # gapless: the sweep goes on
    recorder = Recorder("md-album-recorder", seconds=12.0, server=jack)
    recorder.connect_to("PortAudio")
    yield engine, session, recorder, ids
    recorder.close()
    session.close()
    engine.stop()


def _rendered(session):
    pieces = []
    assemble(session.folder, session.session, lambda piece: pieces.append(piece.copy()))
    return np.concatenate(pieces)


def _zero_run_after(x, start):
    """Length of the run of exact zeros that starts at the first zero at or after ``start``."""
    zero = np.all(x == 0.0, axis=1)
    at = start + int(np.argmax(zero[start:]))
    end = at + int(np.argmax(~zero[at:]))
    return end - at


def test_the_album_plays_as_it_renders_and_the_session_follows_the_songs(rig):
    engine, session, recorder, ids = rig
    answer = session.set_album_mode(True)
    assert answer["on"] and [s["id"] for s in answer["songs"]] == ids
    rendered = _rendered(session)
    timeline = engine.timeline
    assert timeline.frames == len(rendered)
    seen = []

    def go(_):
        engine.play()

    for _ in range(3):  # again only if the dummy driver dropped a period meanwhile
        engine.halt()
        engine.locate(0.0)
        time.sleep(0.1)
        before = recorder.xruns
        seen.clear()
        watch_until = time.monotonic() + 6.0
        take = recorder.record(len(rendered) / RATE + 0.5, during=go, lead_s=0.2)
        while time.monotonic() < watch_until and not engine.ended:
            time.sleep(0.01)
        xruns = recorder.xruns - before
        if xruns == 0:
            break
    assert until(lambda: engine.ended, 5.0)
    lag = align(take, rendered)
    heard = take[lag:lag + len(rendered)]
    # the gap between songs one and two, to the sample
    gap_one = timeline.songs[1].start - timeline.songs[0].end
    assert gap_one == round(0.4 * RATE)
    assert (_zero_run_after(heard, timeline.songs[0].end - 10)
            == _zero_run_after(rendered, timeline.songs[0].end - 10))
    # the gapless join: no click in the sweep that runs through it
    join = timeline.songs[2].start
    assert clicks(heard[join - 4800:join + 4800]) == []
    # window by window, the take is the render
    diff = compare(take, rendered, xruns)
    assert np.abs(diff).max() < 0.05
    assert np.abs(heard - rendered).max() < 10 ** (-90 / 20) or xruns  # sample for sample
    # the session followed: the last song is the current one
    assert session.session.current == ids[2]


def test_next_song_and_the_joins_locate_on_the_album(rig):
    engine, session, recorder, ids = rig
    session.set_album_mode(True)
    timeline = engine.timeline
    engine.play()
    assert until(lambda: session.session.current == ids[0], 3.0)
    session.step_song(1)  # next song: the album plays on from its start
    assert until(lambda: session.session.current == ids[1], 3.0)
    assert engine.position >= timeline.songs[1].start - 256
    marked = drop_marker(session, note="the vocal drops here")  # as a surface drops it
    assert marked["song"] == ids[1]
    marker = session.session.song(ids[1]).markers[-1]
    into = engine.position_s - timeline.songs[1].start / RATE
    assert marker.note == "the vocal drops here" and 0.0 <= marker.position_s <= into + 0.01
    answer = session.album.join(3, loop=True)
    start = timeline.songs[2].start / RATE
    assert answer["start_s"] == pytest.approx(start)
    assert engine.loop_info()["on"]
    take = recorder.record_clean(2.5)  # again if the dummy driver spliced the take
    assert clicks(take) == []
    assert engine.loop_info()["start_s"] <= engine.position_s < engine.loop_info()["end_s"]
    engine.set_loop(on=False)
    session.set_album_mode(False)
    assert engine.timeline is None and engine.song is not None


def test_a_level_offset_changed_while_the_album_plays_is_heard(rig):
    engine, session, recorder, ids = rig
    session.set_album_mode(True)
    engine.play()
    takes = []
    for offset in (-12.0, 0.0):  # song one, while it plays, heard at the same place twice
        session.set_song(ids[0], level_offset_db=offset)
        engine.locate(0.6)
        time.sleep(0.15)
        takes.append(recorder.record(0.3))
    quiet, loud = takes
    engine.halt()

    def level(x):
        return 10 * np.log10(np.mean(x ** 2) + 1e-20)

    assert level(loud) - level(quiet) == pytest.approx(12.0, abs=1.5)

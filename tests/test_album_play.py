"""Album playback in the audio callback, block by block: the album render, sample for sample.

The engine's compiled callback is called here as PortAudio calls it (no
stream: the test hands it the blocks), so what it plays can be compared with
``render --album``'s timeline exactly. The same album on the JACK dummy
server, through the daemon, is in ``test_album_play_live.py``.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

from console.engine.stream import Engine
from console.offline.album import assemble
from console.session.album_mode import build_timeline
from console.session.errors import SessionError
from console.session.model import Session

RATE = 48000


def _song(folder, name, seconds, freq, level_db, phase=0.0):
    t = np.arange(int(seconds * RATE)) / RATE
    x = (10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t + phase)
         * (1 + 0.5 * np.sin(1.4 * np.pi * t)))
    sf.write(folder / f"{name}.wav", np.stack([x, 0.8 * x], 1), RATE, subtype="FLOAT")


def _album(folder, plan):
    """A session of songs a, b, c with very different settings and the level plan ``plan``."""
    _song(folder, "a", 3.0, 220, -14)
    _song(folder, "b", 2.5, 330, -10)
    _song(folder, "c", 3.0, 440, -20)
    session = Session(title="album")
    session.sample_rate = RATE
    for name in "abc":
        session.apply({"op": "song_add", "song": {"title": name, "file": f"{name}.wav"}})
    a, b, c = (s.id for s in session.songs)
    session.apply({"op": "params", "id": a, "values": {"eq.band2.gain_db": 6.0,
                                                       "limiter.ceiling_dbtp": -3.0}})
    session.apply({"op": "params", "id": b, "values": {"comp.threshold_db": -30.0,
                                                       "output.gain_db": -2.0}})
    session.apply({"op": "lane", "id": c, "param": "output.gain_db",
                   "lane": {"points": [[0, -6.0], [RATE, 0.0]]}})
    for song_id, fields in zip((a, b, c), plan, strict=True):
        session.apply({"op": "song_set", "id": song_id, "fields": fields})
    return session


def _rendered(folder, session):
    pieces = []
    assemble(folder, session, lambda piece: pieces.append(piece.copy()))
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def engine():
    e = Engine(RATE, 256)
    e.compile()
    e.match = False  # no loudness matching: the master is heard as it is
    return e


def _play(engine, timeline, blocks, frames, at_s=0.0):
    """Call the compiled callback on blocks of the sizes ``blocks`` cycles through."""
    engine.set_album_focus(-1)
    engine.play_album(timeline, at_s)
    engine.play()
    out = np.zeros(2 * max(blocks), dtype=np.float32)
    inp = np.zeros(1, dtype=np.float32)
    taken = []

    def audio_thread():  # the callback sets FTZ/DAZ for its thread, as PortAudio's has it
        played, k = 0, 0
        while played < frames:
            n = blocks[k % len(blocks)]
            engine._callback.ctypes(inp.ctypes.data, out.ctypes.data, n, None, 0,
                                    engine.table.ctypes.data)
            taken.append(out[:2 * n].reshape(n, 2).astype(np.float64))
            played += n
            k += 1

    thread = threading.Thread(target=audio_thread)
    thread.start()
    thread.join()
    engine.halt()
    engine.leave_album()
    return np.concatenate(taken)[:frames]


PLAN = ({"gap_s": 0.5}, {"gap_s": 0.0, "level_offset_db": -1.5, "fade_in_s": 0.2},
        {"crossfade_s": 0.7, "fade_out_s": 0.5})


@pytest.mark.parametrize("blocks", [(256,), (64,), (1000, 37, 8192, 300)])
def test_album_playback_is_the_album_render_sample_for_sample(engine, tmp_path, blocks):
    session = _album(tmp_path, PLAN)
    rendered = _rendered(tmp_path, session)
    timeline = build_timeline(tmp_path, session, RATE, engine.chain.latency)
    assert timeline.frames == rendered.shape[0]
    played = _play(engine, timeline, blocks, rendered.shape[0] + 2000)
    worst = np.abs(played[:rendered.shape[0]] - rendered).max()
    assert 20 * np.log10(worst) < -100.0  # float32 at the device: about -150 dB
    assert np.abs(played[rendered.shape[0]:]).max() == 0.0  # the album ended: silence


def _split_at(take, before, after):
    """The first sample from which ``take`` follows ``after`` rather than ``before``."""
    closer = np.abs(take - after).max(1) < np.abs(take - before).max(1)
    differ = np.abs(after - before).max(1) > 1e-4
    moved = np.nonzero(closer & differ)[0]
    return int(moved[0]) if len(moved) else -1


def test_the_split_finder_sees_a_switch_one_sample_late():
    t = np.arange(1000) / RATE
    before = np.stack([np.sin(2 * np.pi * 500 * t)] * 2, 1) * 0.5
    after = before * 0.25
    take = np.concatenate([before[:401], after[401:]])
    assert _split_at(take, before, after) == 401
    assert _split_at(before, before, after) == -1


def test_each_song_switches_to_its_settings_at_its_first_sample(engine, tmp_path):
    """Two songs of one file, gapless, the second 12 dB down with another EQ: the step in
    what is heard lands on the second song's first sample."""
    _song(tmp_path, "a", 2.0, 300, -24, phase=1.0)  # its first sample is not 0
    session = Session(title="step")
    session.sample_rate = RATE
    for title in ("one", "two"):
        session.apply({"op": "song_add", "song": {"title": title, "file": "a.wav"}})
    one, two = (s.id for s in session.songs)
    session.apply({"op": "song_set", "id": one, "fields": {"gap_s": 0.0}})
    session.apply({"op": "song_set", "id": two, "fields": {"gap_s": 0.0,
                                                           "level_offset_db": -12.0}})
    session.apply({"op": "params", "id": two, "values": {"eq.band2.gain_db": -6.0}})
    timeline = build_timeline(tmp_path, session, RATE, engine.chain.latency)
    start = timeline.songs[1].start
    played = _play(engine, timeline, (256,), timeline.frames)
    rendered = _rendered(tmp_path, session)
    first = rendered[:start]  # song one, then song one again in song two's place
    both_one = np.concatenate([first, first])
    assert _split_at(played, both_one, rendered) == start
    assert np.abs(played[start - 1] - rendered[start - 1]).max() < 1e-6


def test_a_crossfade_is_the_two_masters_mixed_with_equal_power(engine, tmp_path):
    session = _album(tmp_path, PLAN)
    timeline = build_timeline(tmp_path, session, RATE, engine.chain.latency)
    b, c = timeline.songs[1], timeline.songs[2]
    assert c.crossfade == round(0.7 * RATE) and c.start == b.end - c.crossfade
    played = _play(engine, timeline, (256,), timeline.frames)
    from console.offline.album import master_song

    master_b = master_song(tmp_path, session, session.songs[1])
    master_c = master_song(tmp_path, session, session.songs[2])
    turn = 0.5 * np.pi * np.arange(c.crossfade) / c.crossfade
    mixed = (master_b[-c.crossfade:] * np.cos(turn)[:, None]
             + master_c[:c.crossfade] * np.sin(turn)[:, None])
    heard = played[c.start:c.start + c.crossfade]
    assert 20 * np.log10(np.abs(heard - mixed).max()) < -100.0


def test_a_song_too_short_for_the_crossfades_either_side_is_refused(engine, tmp_path):
    session = _album(tmp_path, ({}, {"crossfade_s": 1.25}, {"crossfade_s": 1.25}))
    with pytest.raises(SessionError, match="too short"):
        build_timeline(tmp_path, session, RATE, engine.chain.latency)


def test_locate_and_loop_on_the_album_fade_instead_of_clicking(engine, tmp_path):
    from tests.jackrecorder import clicks

    session = _album(tmp_path, PLAN)
    timeline = build_timeline(tmp_path, session, RATE, engine.chain.latency)
    join = timeline.songs[2].start
    engine.set_loop((join - RATE // 2) / RATE, (join + RATE // 2) / RATE, True)
    try:
        played = _play(engine, timeline, (256,), 3 * RATE, at_s=(join - RATE // 2) / RATE)
    finally:
        engine.set_loop(on=False)
    assert clicks(played) == []
    start, end = join - RATE // 2, join + RATE // 2
    assert start <= engine.position < end  # it went round, and round again
    # the loop's second pass is heard as the first (the chains run on, so not sample for
    # sample): the level of each 50 ms within a fraction of a dB
    first, again = played[4800:RATE - 4800], played[RATE + 4800:2 * RATE - 4800]
    levels = [10 * np.log10(np.mean(x.reshape(-1, 2400, 2) ** 2, axis=(1, 2)))
              for x in (first, again)]
    assert np.abs(levels[0] - levels[1]).max() < 0.5

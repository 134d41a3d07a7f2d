"""Where the engine used to cut hard: a loop's wrap, and a reference reloaded while heard.

Each take is recorded by a JACK client on the dummy server and searched for
clicks (:func:`tests.jackrecorder.clicks`); the content is checked as well,
so that silence or a stuck signal cannot pass for a clean switch.
"""

import time

import numpy as np
import pytest
import soundfile as sf

from console.engine import callback as cb
from console.engine.stream import Engine
from dsp.dither import OUTPUT_FLOOR
from tests.jackrecorder import Recorder, clicks
from tests.test_engine import RATE, _tone

LOOP_START = 48000
LOOP_LENGTH = 4813
"""About 0.1 s: 44.12 cycles of 440 Hz, so the loop's ends do not meet."""
FADE = 480
"""The engine's 10 ms fades at 48 kHz (the wrap's crossfade is as long)."""


@pytest.fixture(scope="module")
def rig(jack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cuts")
    engine = Engine(sample_rate=RATE, block_size=256)
    engine.start()
    song = _tone(folder / "song.wav", 440.0, -20.0, seconds=4.0)
    engine.load_song(str(song))
    engine.load_reference(str(_tone(folder / "ref.wav", 1000.0, -20.0)))
    engine.match = False  # unity gains: what is heard is the file's own samples
    recorder = Recorder("md-cuts-recorder", server=jack)
    recorder.connect_to("PortAudio")
    yield engine, recorder, folder, sf.read(song, dtype="float32")[0][:, 0]
    recorder.close()
    engine.stop()


def _unmatched(engine):
    engine.match = False
    engine.ctl[[cb.C_GAIN_MASTER, cb.C_GAIN_DRY, cb.C_GAIN_REF]] = 1.0


def test_a_loop_whose_ends_do_not_meet_wraps_without_a_click(rig):
    engine, recorder, _, song = rig
    _unmatched(engine)
    engine.set_source("bypass")  # the unprocessed song, sample for sample
    start, end = LOOP_START, LOOP_START + LOOP_LENGTH
    assert abs(song[end - 1] - song[start - 1]) > 0.01  # a hard wrap would jump

    def setup():
        engine.set_loop(start / RATE, end / RATE, True)
        engine.locate(start / RATE)
        engine.play()
        time.sleep(0.2)

    x = recorder.record_clean(0.6, setup=setup)[:, 0]
    engine.halt()
    engine.set_loop(on=False)
    engine.set_source("master")
    assert np.abs(x).max() > 0.09  # it played (a -20 dBFS tone peaks at 0.1)
    assert clicks(x) == []
    # The take repeats with the loop's period (every pass, wrap included, is the same)...
    period = LOOP_LENGTH
    np.testing.assert_allclose(x[period:], x[:-period], atol=1e-6)
    # ...and once each wrap's crossfade is over, what plays is the loop start's audio:
    # find a wrap in the take (the offset where the loop's body lines up) and compare.
    body = song[start + FADE:end]
    errors = [np.abs(x[o + FADE:o + period] - body).max() for o in range(period)]
    wrap = int(np.argmin(errors))
    assert errors[wrap] < 1e-6, f"best match off by {errors[wrap]:.3g}"
    # through the crossfade, the start fades in beside the tail running past the end
    mid = wrap + FADE // 2
    expected = (np.sin(np.pi / 4 * (FADE // 2 + 1) / (FADE / 2)) * song[start + FADE // 2]
                + np.cos(np.pi / 4 * (FADE // 2 + 1) / (FADE / 2)) * song[end + FADE // 2])
    assert x[mid] == pytest.approx(expected, abs=1e-6)


def test_positions_reported_to_automation_follow_the_wrap():
    """Past the wrap, ``posbuf`` (what automation plays by) is the loop start's."""
    start, end = LOOP_START, LOOP_START + LOOP_LENGTH
    work = np.zeros((1024, 2))
    posbuf = np.zeros(1024)
    song = np.zeros((2 * RATE, 2), dtype=np.float32)
    ctl, rt = np.zeros(cb.CTL_SIZE), np.zeros(cb.RT_SIZE)
    ctl[[cb.C_PLAY, cb.C_LOOP, cb.C_LOOP_START, cb.C_LOOP_END]] = 1.0, 1.0, start, end
    rt[[cb.R_POSITION, cb.R_FADE, cb.R_STEP]] = end - 100, 1.0, 1.0 / FADE
    cb._play_song(work, 1024, song, ctl, rt, posbuf)
    expected = np.r_[np.arange(end - 100, end), np.arange(start, start + 924)]
    np.testing.assert_array_equal(posbuf, expected)
    assert rt[cb.R_POSITION] == start + 924


def test_a_reference_reloaded_while_heard_has_no_click(rig):
    engine, recorder, folder, _ = rig
    _unmatched(engine)
    engine.set_loop(on=False)
    engine.set_reference_follow(False)
    # the new reference starts at its peak: swapped at a block boundary, it would jump
    t = np.arange(3 * RATE) / RATE
    s = 0.1 * np.cos(2 * np.pi * 660.0 * t)
    new_ref = folder / "ref660.wav"
    sf.write(new_ref, np.stack([s, s], axis=1), RATE, subtype="FLOAT")
    old_ref = str(folder / "ref.wav")

    def setup():
        engine.load_reference(old_ref)
        engine.set_source("reference")
        engine.locate(0.5)
        engine.play()
        time.sleep(0.2)

    def reload(_):
        time.sleep(0.2)
        engine.load_reference(str(new_ref))

    x = recorder.record_clean(0.6, during=reload, setup=setup)
    engine.set_source("master")
    assert clicks(x) == []
    after = x[-RATE // 5:, 0]
    spectrum = np.abs(np.fft.rfft(after * np.hanning(len(after))))
    assert abs(np.argmax(spectrum) * RATE / len(after) - 660.0) < 10.0  # the new one is heard
    assert np.abs(after).max() > 0.09


def test_a_song_ends_live_where_its_file_ends(rig):
    """The live end is the file's own end, as in the render (docs/decisions.md).

    A song whose last sample is not near zero ends with the cut its file
    holds: played live it is heard sample for sample, then silence. The
    remedy is the session's fade-out, which live and render play alike.
    """
    engine, recorder, folder, _ = rig
    _unmatched(engine)
    engine.set_loop(on=False)
    path = _tone(folder / "short.wav", 440.0, -20.0, seconds=1.0 + 37 / RATE)
    song = sf.read(path, dtype="float32")[0][:, 0]
    assert abs(song[-1]) > 0.05
    engine.load_song(str(path))
    engine.set_source("bypass")
    engine.locate(0.7)
    time.sleep(0.05)
    x = recorder.record(0.6, during=lambda _: engine.play())[:, 0]
    engine.set_source("master")
    last = int(np.flatnonzero(x)[-1])
    tail = 2000
    heard = np.where(np.abs(song) < OUTPUT_FLOOR, 0.0, song)  # the monitor's -200 dBFS gate
    np.testing.assert_array_equal(x[last - tail + 1:last + 1], heard[-tail:])
    assert not x[last + 1:].any() and len(x) - last > 0.1 * RATE  # then silence

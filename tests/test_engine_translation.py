"""Translation checks on the JACK dummy server: heard on the monitor, never in the master."""

import time

import numpy as np
import pytest
import soundfile as sf

from console.engine.stream import Engine
from dsp.errors import MasterdeckError
from tests.helpers import db, rms
from tests.jackrecorder import Recorder, clicks

RATE = 48000
WINDOW = RATE // 100


def _stereo_song(path, seconds=30.0):
    """440 Hz on the left, 660 Hz on the right, each -20 dBFS: every check changes it."""
    t = np.arange(int(seconds * RATE)) / RATE
    left = 0.1 * np.sin(2 * np.pi * 440.0 * t)
    right = 0.1 * np.sin(2 * np.pi * 660.0 * t)
    sf.write(path, np.stack([left, right], axis=1), RATE, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def rig(jack, tmp_path_factory):
    engine = Engine(sample_rate=RATE, block_size=256)
    engine.start()
    engine.load_song(str(_stereo_song(tmp_path_factory.mktemp("songs") / "wide.wav")))
    engine.set_loop(0.0, 29.0, True)
    engine.match = False  # the master as it is: nothing else moves the level
    recorder = Recorder("md-translation-recorder", server=jack)
    recorder.connect_to("PortAudio")
    engine.play()
    time.sleep(3.3)  # the checks' width estimate covers 3 s of what is heard
    yield engine, recorder
    engine.set_translation("off")
    recorder.close()
    engine.stop()


def _side_db(x: np.ndarray) -> np.ndarray:
    """Level of L - R in 10 ms windows, dB: very low where the output is mono."""
    frames = len(x) // WINDOW * WINDOW
    diff = (x[:frames, 0] - x[:frames, 1]).reshape(-1, WINDOW)
    return 20 * np.log10(np.maximum(np.sqrt(np.mean(diff ** 2, axis=1)), 1e-12))


def test_switching_to_mono_is_heard_at_the_switch_without_a_click(rig):
    engine, recorder = rig

    def setup():
        engine.set_translation("off")
        time.sleep(0.2)

    def to_mono(_):
        time.sleep(0.4)
        engine.set_translation("mono")

    x = recorder.record_clean(1.0, during=to_mono, setup=setup)
    assert clicks(x) == []
    side = _side_db(x)
    assert np.all(side[:30] > -30.0)  # stereo: two different tones, L - R about -17 dB
    assert np.all(side[-30:] < -120.0)  # mono: both channels the same samples
    switched = int(np.argmax(side < -120.0))
    assert 35 <= switched <= 80  # within the take's 0.4 s wait plus the 20 ms fade
    assert np.all(side[switched:] < -120.0)  # and it stays mono
    # compensated: mono of two unrelated tones is 3 dB down, played back at their level
    before, after = db(rms(x[: RATE // 4])), db(rms(x[-RATE // 4:]))
    assert after - before == pytest.approx(0.0, abs=0.3)
    assert engine.meters()["translation"] == "mono"
    assert engine.meters()["translation_gain_db"] == pytest.approx(3.0, abs=0.2)


def test_the_master_path_is_unaffected_by_a_check(rig):
    """The phone check changes what is heard, not the master the meters (and a render) see."""
    engine, recorder = rig
    engine.set_translation("off")
    time.sleep(0.5)
    engine.reset_meters()
    time.sleep(1.5)
    plain = engine.update_meters()
    heard_plain = recorder.record(0.4)
    engine.set_translation("phone")
    time.sleep(0.2)
    engine.reset_meters()
    time.sleep(1.5)
    checked = engine.update_meters()
    heard_checked = recorder.record(0.4)
    engine.set_translation("off")
    assert checked["momentary_lufs"] == pytest.approx(plain["momentary_lufs"], abs=0.05)
    # sample peak: the true-peak meter's oversampler restarts cold at a reset, which can
    # read high by a dB at the first samples whatever plays
    assert checked["sample_peak_dbfs"] == pytest.approx(plain["sample_peak_dbfs"], abs=0.01)
    assert np.max(np.abs(heard_checked[:, 0] - heard_checked[:, 1])) < 1e-6  # a phone is mono
    assert np.max(np.abs(heard_plain[:, 0] - heard_plain[:, 1])) > 0.05


def test_the_desk_action_toggles_a_check_and_reports_it(rig):
    engine, _ = rig
    seen = []
    stop = engine.desk.on_state(lambda key, value, author: seen.append((key, value, author)))
    try:
        engine.desk.perform("translate", "surface", check="car")
        assert engine.translation_name == "car"
        assert engine.desk.state()["translation"] == "car"
        engine.desk.perform("translate", "surface", check="car")  # the same button again: off
        assert engine.translation_name == "off"
        engine.desk.perform("translate", "surface", check="earbuds", on=True)
        engine.desk.perform("translate", "surface", check="earbuds", on=True)
        assert engine.translation_name == "earbuds"
    finally:
        stop()
        engine.set_translation("off")
    assert ("translation", "car", "surface") in seen
    with pytest.raises(MasterdeckError, match="use one of off, mono"):
        engine.set_translation("radio")

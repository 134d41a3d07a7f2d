"""The engine end to end on a JACK dummy server: a JACK client records what it plays."""

import sys
import threading
import time

import numpy as np
import pytest
import soundfile as sf

from console.config import Config
from console.daemon import Daemon
from console.engine import callback as cb
from console.engine.stream import Engine
from tests.helpers import db, rms, subnormals
from tests.jackrecorder import Recorder, clicks

RATE = 48000


def _tone(path, freq, level_db, seconds=20.0):
    t = np.arange(int(seconds * RATE)) / RATE
    s = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)
    sf.write(path, np.stack([s, s], axis=1), RATE, subtype="FLOAT")
    return path


@pytest.fixture(scope="module")
def rig(jack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("songs")
    engine = Engine(sample_rate=RATE, block_size=256)
    engine.start()
    engine.load_song(str(_tone(folder / "song.wav", 440.0, -20.0)))
    engine.load_reference(str(_tone(folder / "ref.wav", 1000.0, -8.0)))
    engine.set_loop(0.0, 19.0, True)
    recorder = Recorder(server=jack)
    recorder.connect_to("PortAudio")
    engine.play()
    time.sleep(0.3)
    yield engine, recorder
    recorder.close()
    engine.stop()


def _level(x):
    return db(rms(x))


def _hold_the_gil(seconds: float) -> float:
    """Run pure Python for ``seconds``, never letting another thread take the GIL.

    With a switch interval longer than the loop, a thread that wants the GIL
    waits for the whole loop (nothing here releases it: ``perf_counter`` is C
    that keeps it). Returns the seconds held; the switch interval is restored.
    """
    interval = sys.getswitchinterval()
    sys.setswitchinterval(5.0)
    try:
        started = time.perf_counter()
        while time.perf_counter() - started < seconds:
            pass
        return time.perf_counter() - started
    finally:
        sys.setswitchinterval(interval)


def _callbacks_in(engine: Engine, seconds: float) -> float:
    """Callbacks the engine ran over ``seconds`` of sleep (the GIL free)."""
    before = engine.rt[cb.R_CALLBACKS]
    time.sleep(seconds)
    return engine.rt[cb.R_CALLBACKS] - before


@pytest.mark.parametrize("route", ["cfunc", "python"])
def test_only_the_cfunc_callback_runs_while_python_holds_the_gil(jack, route, tmp_path):
    """Two seconds of a pure-Python loop holding the GIL: does the stream keep running?

    The daemon's engine (built from a config, as ``serve`` and
    ``serve --python-callback`` build it) streams on the dummy server; the
    callback counts every block it runs, from either route. Measured: the
    cfunc ran 375 of 375 callbacks, the Python callback 0 (it waits for the
    GIL), and it ran again once the loop let go.
    """
    config = Config(python_callback=route == "python", socket=str(tmp_path / "control.sock"))
    engine = Daemon(config).engine
    interval = sys.getswitchinterval()
    engine.start()
    try:
        assert engine.stream_info()["callback"] == route
        per_second = engine.sample_rate / engine.block_size
        time.sleep(0.3)
        assert _callbacks_in(engine, 0.5) > 0.5 * 0.5 * per_second  # it streams

        before = engine.rt[cb.R_CALLBACKS]
        held = _hold_the_gil(2.0)
        ran = engine.rt[cb.R_CALLBACKS] - before  # read before anything lets the GIL go
        expected = held * per_second
        assert sys.getswitchinterval() == interval
        if route == "cfunc":
            assert ran >= 0.9 * expected, f"{ran:.0f} of {expected:.0f} callbacks ran"
        else:
            assert ran <= 0.1 * expected, f"{ran:.0f} of {expected:.0f} callbacks ran"
            assert _callbacks_in(engine, 0.5) > 0.5 * 0.5 * per_second  # held up, not dead
    finally:
        engine.stop()


def test_the_known_signal_is_heard_at_its_level(rig):
    engine, recorder = rig
    engine.desk.set_many({"output.gain_db": 0.0, "limiter.drive_db": 0.0}, "test")
    time.sleep(0.1)
    x = recorder.record(0.5)
    # a -20 dBFS sine has an RMS of -23.01 dB; the default chain leaves it alone
    assert _level(x) == pytest.approx(-23.01, abs=0.2)
    spectrum = np.abs(np.fft.rfft(x[:, 0] * np.hanning(len(x))))
    assert abs(np.argmax(spectrum) * RATE / len(x) - 440.0) < 5.0


def test_a_parameter_change_is_heard_without_clicks(rig):
    engine, recorder = rig

    def setup():
        engine.desk.set("output.gain_db", 0.0, "test")
        time.sleep(0.15)

    def turn(_):
        time.sleep(0.3)
        engine.desk.set("output.gain_db", -12.0, "test")

    x = recorder.record_clean(1.0, during=turn, setup=setup)
    assert _level(x[-RATE // 5:]) - _level(x[: RATE // 10]) == pytest.approx(-12.0, abs=0.3)
    assert clicks(x) == []
    engine.desk.set("output.gain_db", 0.0, "test")


def test_bypass_is_loudness_matched_and_click_free(rig):
    engine, recorder = rig
    engine.desk.set("limiter.drive_db", 12.0, "test")  # the master is now ~12 dB louder
    engine.match = True
    time.sleep(3.5)  # the match follows within a short-term window (3 s)
    master = recorder.record(0.4)

    def switch(_):
        time.sleep(0.2)
        engine.set_source("bypass")

    def setup():
        engine.set_source("master")
        time.sleep(0.1)

    switching = recorder.record_clean(0.8, during=switch, setup=setup)
    bypass = recorder.record(0.4)
    engine.set_source("master")
    engine.desk.set("limiter.drive_db", 0.0, "test")
    # unmatched, bypass would be 12 dB quieter; matched, the two are heard alike
    assert abs(_level(bypass) - _level(master)) < 1.0
    assert clicks(switching) == []


def test_the_reference_plays_level_matched_and_switching_back_is_clean(rig):
    engine, recorder = rig
    engine.match = True
    time.sleep(3.5)  # the match settles after the previous test's changes
    master = recorder.record(0.4)
    engine.set_source("reference")
    time.sleep(0.1)
    ref = recorder.record(0.4)
    spectrum = np.abs(np.fft.rfft(ref[:, 0] * np.hanning(len(ref))))
    assert abs(np.argmax(spectrum) * RATE / len(ref) - 1000.0) < 5.0  # it is the reference
    assert abs(_level(ref) - _level(master)) < 1.0  # 12 dB louder on disk, matched here

    def back(_):
        time.sleep(0.2)
        engine.set_source("master")

    def setup():
        engine.set_source("reference")
        time.sleep(0.1)

    assert clicks(recorder.record_clean(0.6, during=back, setup=setup)) == []


def test_a_platform_preview_gain_is_heard_on_the_monitor_and_glides_in(rig):
    engine, recorder = rig
    engine.set_source("master")
    engine.match = False
    time.sleep(0.3)
    try:
        plain = recorder.record(0.4)

        def setup():
            engine.preview_gain_db = 0.0
            time.sleep(0.3)

        def quieter(_):
            time.sleep(0.2)
            engine.preview_gain_db = -6.0  # what a platform would do to a loud master

        switching = recorder.record_clean(0.8, during=quieter, setup=setup)
        time.sleep(0.2)
        previewed = recorder.record(0.4)
    finally:
        engine.preview_gain_db = 0.0
        engine.match = True
    assert _level(previewed) - _level(plain) == pytest.approx(-6.0, abs=0.2)
    assert clicks(switching) == []


def test_spotify_loud_previews_through_its_players_limiter(rig):
    """Turned up 22 dB (a quiet song in loud mode), the master would clip the monitor; the
    player's limiter holds it near -1 dBFS instead, and switching it on is click-free."""
    engine, recorder = rig
    engine.set_source("master")
    engine.match = False
    try:
        engine.preview_gain_db = 22.0  # the -20 dBFS tone's crests at +2 dBFS
        time.sleep(0.4)
        clipped = recorder.record(0.3)

        def setup():
            engine.set_player_limiter(False)
            time.sleep(0.3)

        switching = recorder.record_clean(0.8, during=lambda _: (
            time.sleep(0.2), engine.set_player_limiter(True)), setup=setup)
        time.sleep(0.3)
        limited = recorder.record(0.3)
    finally:
        engine.set_player_limiter(False)
        engine.preview_gain_db = 0.0
        engine.match = True
    assert np.abs(clipped).max() == 1.0  # the monitor's final clip, hit
    peak_db = 20 * np.log10(np.abs(limited).max())
    assert -1.5 < peak_db < -0.05
    assert clicks(switching) == []


def test_a_snapshot_recall_changes_the_sound_in_one_step_without_clicks(rig):
    engine, recorder = rig
    desk = engine.desk
    desk.set_many({"output.gain_db": 0.0, "eq.band3.gain_db": 0.0}, "test")
    desk.perform("snapshot_store", slot="A")
    desk.set_many({"output.gain_db": -9.0, "eq.band3.gain_db": -6.0}, "test")
    desk.perform("snapshot_store", slot="B")

    def setup():
        desk.perform("snapshot_recall", slot="A")
        time.sleep(0.2)

    def recall(_):
        time.sleep(0.3)
        desk.perform("snapshot_recall", slot="B")

    x = recorder.record_clean(1.0, during=recall, setup=setup)
    assert _level(x[-RATE // 5:]) < _level(x[: RATE // 10]) - 9.0
    assert clicks(x) == []
    desk.perform("snapshot_recall", slot="A")


def test_stop_and_play_fade_instead_of_clicking(rig):
    engine, recorder = rig

    def stop_then_play(_):
        time.sleep(0.2)
        engine.halt()
        time.sleep(0.2)
        engine.play()

    x = recorder.record_clean(0.8, during=stop_then_play, setup=engine.play)
    quiet = np.abs(x).max(axis=1) < 1e-6
    assert quiet.sum() > 0.1 * RATE  # it really stopped
    assert clicks(x) == []
    assert engine.meters()["playing"]


def test_meters_publish_loudness_and_the_callback_load(rig):
    engine, _ = rig
    time.sleep(0.5)
    m = engine.meters()
    assert m["momentary_lufs"] is not None and -40 < m["momentary_lufs"] < 0
    assert m["true_peak_dbtp"] is not None
    load = engine.callback_load()
    assert 0 < load["p50_ms"] < 5.33  # well inside a 256-frame period


def test_compiling_the_callback_leaves_the_callers_floating_point_alone():
    engine = Engine(sample_rate=RATE, block_size=64)
    engine.compile()
    tiny = np.float64(5e-324)
    assert tiny / 2 + tiny == tiny  # subnormals still exist in this thread (no FTZ/DAZ)
    assert np.float64(1e-310) * 0.5 != 0.0


@pytest.mark.parametrize("source", ["master", "bypass"])
def test_the_callback_sends_nothing_below_minus_200_dbfs_to_the_device(tmp_path, source):
    # a tone, then a tail at -300 dBFS: normal as float32, so FTZ alone would let it out
    t = np.arange(RATE // 2) / RATE
    faint = 1e-15 * np.random.default_rng(0).standard_normal(RATE // 2)
    s = np.concatenate([0.1 * np.sin(2 * np.pi * 440 * t), faint]).astype(np.float32)
    sf.write(tmp_path / "s.wav", np.stack([s, s], axis=1), RATE, subtype="FLOAT")
    engine = Engine(sample_rate=RATE, block_size=256)
    engine.load_song(str(tmp_path / "s.wav"))
    engine.set_source(source)
    engine.play()
    out, inp = np.zeros(2 * 256, dtype=np.float32), np.zeros(1, dtype=np.float32)
    heard = []

    def run():  # on a thread of its own: the callback sets FTZ/DAZ for the thread it runs on
        for _ in range(RATE // 256):
            cb.run_block(engine.table, inp, out, 256, 0, 2, 0)
            heard.append(out.copy())

    worker = threading.Thread(target=run)
    worker.start()
    worker.join()
    x = np.concatenate(heard).reshape(-1, 2)
    assert np.abs(x[:RATE // 4]).max() > 0.05
    assert subnormals(x) == 0
    assert not x[RATE // 2 + 4096:].any()  # past the chain's latency, exact zeros


def test_the_reference_can_follow_the_song_position_or_keep_its_own(rig):
    engine, _ = rig
    engine.set_reference_follow(False)
    engine.set_source("reference")
    time.sleep(0.3)
    own = engine.rt[1]  # R_REF_POSITION advances on its own while playing
    assert own > 0.1 * RATE
    engine.set_reference_follow(True)
    time.sleep(0.2)
    engine.set_source("master")
    engine.set_reference_follow(False)


"""The engine's other modes: live input, and the plain Python callback."""

import time

import numpy as np
import pytest

from console.engine.stream import Engine
from tests.helpers import db, rms
from tests.jackrecorder import Recorder
from tests.test_engine import RATE, _tone


def _level(x):
    return db(rms(x))


def test_live_input_runs_through_the_chain(jack):
    import jack as jackclient

    engine = Engine(sample_rate=RATE, block_size=256, live_input=True)
    engine.start()
    player = jackclient.Client("md-player", no_start_server=True)
    outs = [player.outports.register(f"out_{c}") for c in range(2)]
    phase = [0.0]

    def play(frames):
        t = phase[0] + np.arange(frames)
        for port in outs:
            port.get_array()[:] = 0.1 * np.sin(2 * np.pi * 1000 * t / RATE)
        phase[0] += frames

    player.set_process_callback(play)
    player.activate()
    recorder = Recorder("md-live-recorder", server=jack)
    try:
        ins = [p for p in player.get_ports(is_audio=True, is_input=True)
               if p.name.startswith("PortAudio")]
        for port, src in zip(ins[:2], outs, strict=True):
            player.connect(src, port)
        recorder.connect_to("PortAudio")
        engine.ctl[13] = 1.0  # C_LIVE: the interface's input is the source
        engine.desk.set("output.gain_db", -6.0, "test")
        time.sleep(0.5)
        x = recorder.record(0.5)
        spectrum = np.abs(np.fft.rfft(x[:, 0] * np.hanning(len(x))))
        assert abs(np.argmax(spectrum) * RATE / len(x) - 1000.0) < 5.0
        # 0.1 peak sine: -23.0 dB RMS, then the 6 dB output trim
        assert _level(x) == pytest.approx(-29.0, abs=0.3)
    finally:
        recorder.close()
        player.deactivate()
        player.close()
        engine.stop()


def test_the_python_callback_fallback_plays_the_same_chain(jack, tmp_path):
    engine = Engine(sample_rate=RATE, block_size=1024, python_callback=True)
    engine.start()
    recorder = Recorder("md-py-recorder", server=jack)
    try:
        engine.load_song(str(_tone(tmp_path / "s.wav", 440.0, -20.0, seconds=3.0)))
        recorder.connect_to("PortAudio")
        engine.play()
        time.sleep(0.3)
        x = recorder.record(0.5)
        assert engine.stream_info()["callback"] == "python"
        assert _level(x) == pytest.approx(-23.01, abs=0.3)
    finally:
        recorder.close()
        engine.stop()

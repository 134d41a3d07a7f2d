"""The daemon with surfaces: a knob reaches the desk, and MIDI learn over the protocol."""

import threading
import time

import pytest

from console.config import Config
from console.control.client import Client
from console.daemon import Daemon
from tests.test_surfaces_support import Player

pytestmark = pytest.mark.retake_on_xrun  # a period JACK dropped loses MIDI: tests/retakes.py


@pytest.fixture
def daemon(jack, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    config = Config(socket=str(tmp_path / "control.sock"), midi_backend="jack")
    daemon = Daemon(config)
    daemon.start()
    device = Player("nanoKONTROL2")
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if any(s.get("profile") for s in daemon.surfaces.describe().get("surfaces", [])):
                break
            time.sleep(0.05)
        yield daemon, device, config.socket
    finally:
        device.unplug()
        daemon.shutdown()


def test_a_fader_on_a_plugged_in_surface_moves_the_parameter(daemon):
    d, device, _ = daemon
    device.send(0xB0, 7, 0)  # fader 8 -> output gain, picked up at its current value first
    device.send(0xB0, 7, 127)
    deadline = time.monotonic() + 2
    while d.desk.get("output.gain_db") == 0.0 and time.monotonic() < deadline:
        device.send(0xB0, 7, 60)
        time.sleep(0.05)
    assert d.desk.get("output.gain_db") < 0.0


def test_surfaces_and_learn_over_the_protocol(daemon, tmp_path):
    d, device, socket_path = daemon
    with Client(socket_path=socket_path) as client:
        listing = client.request("surfaces")["surfaces"]
        assert any("nanoKONTROL2" in str(s) for s in listing["surfaces"])
        reply = {}

        def learn():
            with Client(socket_path=socket_path) as learner:
                reply.update(learner.request("learn", param="comp.ratio", timeout_s=10))

        thread = threading.Thread(target=learn)
        thread.start()
        time.sleep(0.5)
        device.send(0xB0, 13, 30)  # a CC the factory scene does not use
        thread.join(12)
        assert "comp.ratio" in str(reply["learned"]), reply
        written = list((tmp_path / "config" / "masterdeck" / "mappings").glob("*.toml"))
        assert written and "comp.ratio" in written[0].read_text()
        # the learned knob now drives the ratio (once it picks up the current value)
        for value in range(0, 128, 8):
            device.send(0xB0, 13, value)
            time.sleep(0.01)
        deadline = time.monotonic() + 2
        while d.desk.get("comp.ratio") < 10.0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert d.desk.get("comp.ratio") > 10.0
        with pytest.raises(Exception, match="exactly one of param or action"):
            client.request("learn")

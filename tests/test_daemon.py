"""``masterdeck serve`` as a service: a real process on a dummy JACK server."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from console.control.client import Client


def _tone(path, seconds=5.0, rate=48000):
    t = np.arange(int(seconds * rate)) / rate
    s = 0.1 * np.sin(2 * np.pi * 330 * t)
    sf.write(path, np.stack([s, s], 1), rate)
    return path


def _wait_for(path, process, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"daemon exited early: {process.stderr.read()}")
        if os.path.exists(path):
            try:
                with Client(socket_path=path) as client:
                    return client.request("status")
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError("daemon did not come up")


@pytest.fixture
def daemon(jack, tmp_path):
    config_home = tmp_path / "config"
    (config_home / "masterdeck").mkdir(parents=True)
    env = {**jack.env(), "XDG_CONFIG_HOME": str(config_home),
           "XDG_RUNTIME_DIR": str(tmp_path / "run"), "PYTHONUNBUFFERED": "1"}
    (tmp_path / "run").mkdir(mode=0o700)
    socket_path = tmp_path / "run" / "masterdeck" / "control.sock"
    song = _tone(tmp_path / "song.wav")
    process = subprocess.Popen([sys.executable, "-m", "console", "serve", "--song", str(song)],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True)
    try:
        status = _wait_for(str(socket_path), process)
        yield process, str(socket_path), status, config_home / "masterdeck" / "config.toml"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        process.stdout.close()
        process.stderr.close()


def test_serve_starts_ready_with_the_stream_running_and_start_times_measured(daemon):
    _process, socket_path, status, _ = daemon
    assert status["stream"]["running"] and status["stream"]["callback"] == "cfunc"
    assert status["song"]["title"] == "song"
    # audio_ready_s is stamped before the socket exists; ready_s once surfaces are up too
    assert status["start_times"]["compile_s"] > 0 and status["start_times"]["audio_ready_s"] > 0
    assert oct(os.stat(socket_path).st_mode & 0o777) == "0o600"


def _wait_for_log(process, text, timeout=20.0):
    """Read the daemon's stderr (non-blocking) until ``text`` shows up."""
    seen = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            seen += os.read(process.stderr.fileno(), 65536).decode(errors="replace")
        except BlockingIOError:
            pass
        if text in seen:
            return seen
        assert process.poll() is None, f"daemon exited ({process.returncode}): {seen}"
        time.sleep(0.1)
    raise AssertionError(f"{text!r} not logged within {timeout} s: {seen}")


def test_sighup_with_a_broken_config_keeps_the_daemon_running(daemon):
    process, socket_path, _, config_file = daemon
    os.set_blocking(process.stderr.fileno(), False)
    config_file.write_text("[audio\nthis is not toml")
    # sent as soon as the socket answers: the handler must already be in place
    process.send_signal(signal.SIGHUP)
    _wait_for_log(process, "reload failed, keeping the running configuration")
    assert process.poll() is None
    with Client(socket_path=socket_path) as client:
        assert client.request("get", ids=["limiter.ceiling_dbtp"])["values"] == {
            "limiter.ceiling_dbtp": -1.0}
    config_file.write_text('[midi]\nbackend = "jack"\n\n[control]\ntcp = "127.0.0.1:7999"\n')
    process.send_signal(signal.SIGHUP)
    seen = _wait_for_log(process, "configuration reloaded")
    assert "tcp changed in the config; that takes a restart" in seen  # not silently ignored
    assert process.poll() is None


def test_sigterm_fades_out_and_exits_zero_with_journald_style_logs(daemon):
    process, socket_path, _, _ = daemon
    with Client(socket_path=socket_path) as client:
        client.request("play")
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    assert process.wait(30) == 0
    log = process.stderr.read()
    assert "ready in" in log and "shutting down" in log and "stopped" in log
    assert not os.path.exists(socket_path)

"""``masterdeck ui`` as a process: its flags, its refresh rate and CPU in a real terminal.

The UI runs as its own process in a pseudo-terminal (as in a terminal
emulator: real escape sequences written and read), attached over the socket
to a daemon playing in this process. ``--measure`` makes it quit after a
while and print its own figures: meter frames shown per second and CPU
seconds per wall second. A UI killed outright never disturbs the daemon.
"""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import pytest

from console.control.client import Client
from tests.test_ui_support import start_deck

ROOT = Path(__file__).resolve().parent.parent
MEASURE_S = 8.0
SIZE = (150, 46)


@pytest.fixture(scope="module")
def deck(jack, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        deck = start_deck(tmp_path_factory.mktemp("ui-cli"), monkeypatch)
        try:
            yield deck
        finally:
            deck.daemon.shutdown()


class TerminalUI:
    """``masterdeck ui`` in a pseudo-terminal of ``SIZE``; its output is drained as it comes."""

    def __init__(self, *args: str) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]),
               "LINES": str(SIZE[1])}
        self.process = subprocess.Popen([sys.executable, "-m", "console", "ui", *args],
                                        stdin=slave, stdout=slave, stderr=slave, cwd=ROOT,
                                        env=env, start_new_session=True)
        os.close(slave)
        self.master = master
        self.output = bytearray()
        self._reader = threading.Thread(target=self._drain, daemon=True)
        self._reader.start()

    def _drain(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the terminal's other side closed
                return
            if not chunk:
                return
            self.output += chunk

    def wait(self, timeout: float) -> int:
        code = self.process.wait(timeout)
        self._reader.join(5)
        os.close(self.master)
        return code

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.wait(10)


def test_ui_help_names_the_connection_and_target_flags():
    result = subprocess.run([sys.executable, "-m", "console", "ui", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60, check=True)
    for flag in ("--socket", "--connect", "--token", "--target-lufs", "--target-dbtp",
                 "--measure"):
        assert flag in result.stdout, flag


def test_the_ui_process_shows_25_frames_a_second_or_more_on_little_cpu(deck, record_property):
    ui = TerminalUI("--socket", deck.socket, "--measure", str(MEASURE_S))
    try:
        assert ui.wait(MEASURE_S + 60) == 0, ui.output[-2000:]
    finally:
        if ui.process.poll() is None:
            ui.kill()
    text = ui.output.decode(errors="replace")
    assert "MOMENTARY" in text  # it drew the meter screen
    found = re.search(r'\{"wall_s".*?\}', text)
    assert found, text[-2000:]
    figures = json.loads(found.group(0))
    record_property("ui_measurement", figures)
    print(f"\nmasterdeck ui in a {SIZE[0]}x{SIZE[1]} terminal: {figures}")
    assert figures["frames_per_s"] >= 25
    assert figures["cpu_per_wall_s"] < 0.4  # a shared 2-core box with the daemon beside it


def test_a_ui_killed_outright_never_disturbs_the_daemon(deck):
    with Client(socket_path=deck.socket) as watcher:
        clients = watcher.request("status")["server"]["clients"]
        ui = TerminalUI("--socket", deck.socket)
        deadline = time.monotonic() + 30
        while watcher.request("status")["server"]["clients"] <= clients:
            assert time.monotonic() < deadline, "the UI never connected"
            time.sleep(0.1)
        time.sleep(1.0)  # subscribed and drawing
        os.killpg(ui.process.pid, signal.SIGKILL)
        ui.wait(10)
        deadline = time.monotonic() + 5
        while watcher.request("status")["server"]["clients"] != clients:
            assert time.monotonic() < deadline, "the dead UI's connection lingered"
            time.sleep(0.05)
        status = watcher.request("status")
        assert status["stream"]["running"] and status["transport"]["playing"]

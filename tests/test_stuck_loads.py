"""A load that could never return does not wedge the daemon (issue 16, items 1 and 2).

A real FIFO named like a song: reading it would block for ever. Loads of it
are refused at once with a clear error, ``status`` keeps answering, and
SIGTERM ends the daemon within 2 s.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

from console.control.client import Client
from tests.test_session_daemon import Daemon


def test_a_fifo_is_refused_at_once_and_the_daemon_answers_and_stops_in_time(jack, tmp_path):
    fifo = tmp_path / "f.wav"
    os.mkfifo(fifo)
    daemon = Daemon(jack, tmp_path)
    try:
        daemon.start("--song", str(daemon.song))
        started = time.monotonic()
        loads = [subprocess.Popen([sys.executable, "-m", "console", "load", str(fifo),
                                   "--socket", daemon.socket], env=daemon.env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(4)]
        outcomes = [(p.wait(30), p.communicate()[1]) for p in loads]
        assert time.monotonic() - started < 15
        for code, err in outcomes:
            assert code == 2 and "not a regular file" in err, err
        with Client(socket_path=daemon.socket, timeout=2.0) as client:
            asked = time.monotonic()
            assert "transport" in client.request("status")
            assert time.monotonic() - asked < 1.0
        daemon.process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        assert daemon.process.wait(10) == 0
        assert time.monotonic() - stopping < 2.0
    finally:
        daemon.close()

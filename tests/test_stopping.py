"""Ending children: asked with SIGTERM, killed only when they do not listen."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

from console.devtools.stopping import stop_child

DEAF = ("import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('deaf', flush=True)\n"
        "time.sleep(60)\n")


def test_a_child_that_listens_ends_on_the_request():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    assert stop_child(child, 5.0) is True
    assert child.returncode == -signal.SIGTERM


def test_a_child_that_does_not_listen_is_killed_after_the_grace():
    child = subprocess.Popen([sys.executable, "-c", DEAF], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "deaf"  # its handler is in place
    started = time.monotonic()
    assert stop_child(child, 0.5) is False
    assert child.returncode == -signal.SIGKILL
    assert 0.5 <= time.monotonic() - started < 5.0
    child.stdout.close()


def test_a_child_already_gone_is_left_alone():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert stop_child(child, 5.0) is True and child.returncode == 0

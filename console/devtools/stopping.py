"""Ending a child process: asked first, forced only if it does not listen."""

from __future__ import annotations

import subprocess


def stop_child(process: subprocess.Popen, grace: float) -> bool:
    """SIGTERM, then SIGKILL if ``process`` has not ended within ``grace`` seconds.

    Asked first so that it can save and let go of what it holds (a JACK
    server its registry slot, the daemon its session). Returns False when it
    had to be killed; either way it has ended and been reaped on return.
    """
    if process.poll() is not None:
        return True
    process.terminate()
    try:
        process.wait(grace)
        return True
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        return False

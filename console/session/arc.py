"""The album arc of a live session, measured in a worker process whenever the album changes.

The arc is what the album will be, not the raw mixes: every song mastered
through its own chain and placed on the album timeline
(:func:`console.offline.album.measure_album`). That is whole renders, so
it runs in a process of its own at the lowest CPU priority, never in the
daemon's (where it would hold the GIL the control side needs) and never in
the audio's way: the callback runs no Python, and the worker yields the CPU
to everything else. It starts once the album has been still for
:data:`SETTLE_S` (a fader ride is one measurement, not a hundred); a change
while it measures asks for one more run when it is done.

The latest arc is the desk state ``album_arc`` (subscribers and the UI get
it as it lands) and the answer to the protocol's ``album`` command.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.session.model import Session

log = logging.getLogger(__name__)

SETTLE_S = 1.5
"""How long the album must stay unchanged before it is measured again."""


def _worker() -> None:
    """The worker process (``python -m console.session.arc FOLDER``): one measurement.

    The session comes pickled on stdin; the arc (or the error) goes out as one
    JSON object. It runs at the lowest priority, on the prebuilt kernels.
    """
    try:
        os.nice(19)
    except OSError:  # not allowed here: it still runs, at the daemon's priority
        pass
    threading.Thread(target=_orphaned, args=(os.getppid(),), daemon=True).start()
    from dsp import prebuilt

    prebuilt.use()
    from console.offline.album import measure_album

    session = pickle.loads(sys.stdin.buffer.read())
    try:
        answer = {"arc": measure_album(sys.argv[1], session)}
    except Exception as exc:  # a song that cannot be read, say: the daemon reports it
        answer = {"error": f"{type(exc).__name__}: {exc}"}
    sys.stdout.write(json.dumps(answer))


def _orphaned(parent: int) -> None:
    """End the worker if the daemon dies before it can (killed with SIGKILL, say)."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


class ArcWatcher:
    """Keeps the album arc of one session current, measured in a worker process."""

    def __init__(self, folder: Path, snapshot: Callable[[], Session],
                 publish: Callable[[dict[str, Any]], None], settle_s: float = SETTLE_S) -> None:
        self.folder = folder
        self.snapshot = snapshot
        """Returns a copy of the session as it is now (taken under the session's lock)."""
        self.publish = publish
        self.settle_s = settle_s
        self.arc: dict[str, Any] | None = None
        self.runs = 0
        """Measurements finished (an arc or an error), for clients that wait for a new one."""
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._running: subprocess.Popen | None = None
        self._again = False
        self._closed = False

    def changed(self) -> None:
        """The album changed: measure it once it has settled."""
        with self._lock:
            if self._closed:
                return
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self.settle_s, self._settled)
            self._timer.daemon = True
            self._timer.start()

    def measuring(self) -> bool:
        """Whether a measurement is waiting to start or running."""
        with self._lock:
            return self._timer is not None or self._running is not None

    def describe(self) -> dict[str, Any]:
        """The protocol's answer: the latest arc, whether a newer one is coming, the run count."""
        return {"arc": self.arc, "measuring": self.measuring(), "runs": self.runs}

    def _settled(self) -> None:
        with self._lock:
            self._timer = None
            if self._closed:
                return
            if self._running is not None:
                self._again = True
                return
            session = self.snapshot()
            if not session.songs:
                self.arc = None
                return
            process = subprocess.Popen(
                [sys.executable, "-m", "console.session.arc", str(self.folder)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self._running = process
        threading.Thread(target=self._wait, args=(process, pickle.dumps(session)),
                         name="arc-wait", daemon=True).start()

    def _wait(self, process: subprocess.Popen, session: bytes) -> None:
        out, err = process.communicate(session)
        try:
            answer = json.loads(out)
        except ValueError:  # it died (killed at close, out of memory): say how
            tail = err.decode(errors="replace").strip().splitlines()[-1:] or [""]
            answer = {"error": f"the measuring process ended (exit {process.returncode}) "
                               f"{tail[0]}".strip()}
        if "error" in answer:
            log.warning("measuring the album arc failed: %s", answer["error"])
        arc = answer.get("arc") or {"error": answer.get("error", "no arc")}
        with self._lock:
            self._running = None
            if self._closed:
                return
            self.arc = arc
            self.runs += 1
            again, self._again = self._again, False
        self.publish(arc)
        if again:
            self._settled()

    def close(self) -> None:
        """Stop measuring; a measurement under way is killed with its process."""
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
            process = self._running
        if process is not None and process.poll() is None:
            process.kill()  # an hour's album must not hold up the daemon's exit


if __name__ == "__main__":
    _worker()

"""The daemon under test: ``masterdeck serve --session`` started, signalled and watched.

Each start is a new process on the same session folder, with its own log
file (``daemon-N.log``), a private runtime folder for the socket and its own
config folder, so nothing of the user's is read or touched. CPU and RSS come
from ``/proc``, as ``top`` reads them.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from console.control.client import Client, NoDaemonError
from console.control.wire import ProtocolError

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SIGNALS = {"kill -9": signal.SIGKILL, "SIGTERM": signal.SIGTERM}


class DaemonStartError(RuntimeError):
    """The daemon exited while starting, or never answered."""


class Life:
    """Whether the daemon is meant to be up, and which start it is.

    Watchers measure only while ``up`` is set, and drop a measurement when
    ``epoch`` changed under it: a kill on purpose is not a stall.
    """

    def __init__(self) -> None:
        self.up = threading.Event()
        self.epoch = 0
        self.pid: int | None = None

    def going_down(self) -> None:
        """Called just before the daemon is stopped on purpose."""
        self.epoch += 1
        self.up.clear()

    def came_up(self, pid: int) -> None:
        """Called once the daemon answers."""
        self.pid = pid
        self.up.set()


class DaemonUnderTest:
    """Starts, signals and measures ``masterdeck serve --session FOLDER``."""

    def __init__(self, root: Path, session: Path, env: dict[str, str], block: int) -> None:
        self.root = root
        self.session = session
        self.block = block
        run_dir = root / "run"
        run_dir.mkdir(mode=0o700, exist_ok=True)
        (root / "config" / "masterdeck").mkdir(parents=True, exist_ok=True)
        self.env = {**env, "XDG_RUNTIME_DIR": str(run_dir),
                    "XDG_CONFIG_HOME": str(root / "config"), "PYTHONUNBUFFERED": "1",
                    "PYTHONFAULTHANDLER": "1"}  # a crash in C leaves every thread's stack
        self.socket = run_dir / "masterdeck" / "control.sock"
        self.process: subprocess.Popen | None = None
        self.starts = 0
        self.started_at = 0.0
        self.log_path: Path | None = None

    @property
    def pid(self) -> int:
        """The running process's id."""
        assert self.process is not None
        return self.process.pid

    def start(self, songs: tuple[Path, ...] = (), timeout_s: float | None = None) -> float:
        """Start a daemon on the session; return seconds until ``status`` answered.

        The first start may compile every kernel (a cold cache): it gets ten
        minutes; later ones a minute.
        """
        timeout_s = timeout_s or (600.0 if self.starts == 0 else 60.0)
        with contextlib.suppress(FileNotFoundError):
            self.socket.unlink()  # a killed daemon leaves its socket behind
        self.starts += 1
        self.log_path = self.root / f"daemon-{self.starts}.log"
        extra = [arg for song in songs for arg in ("--song", str(song))]
        began = time.monotonic()
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "console", "serve", "--session", str(self.session),
                 "--block", str(self.block), "--midi-backend", "jack", *extra],
                env=self.env, stdout=subprocess.DEVNULL, stderr=log)
        self._wait_ready(began + timeout_s)
        self.started_at = time.monotonic()
        return self.started_at - began

    def _wait_ready(self, deadline: float) -> None:
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DaemonStartError(f"the daemon exited at start "
                                       f"({self.process.returncode}): {self.log_tail()}")
            if self.socket.exists():
                with contextlib.suppress(OSError, NoDaemonError, ProtocolError):
                    with Client(socket_path=self.socket, timeout=5.0) as client:
                        client.request("status")
                    return
            time.sleep(0.05)
        stacks = self.dump_stacks()
        self.signal("kill -9")
        self.wait_exit(10.0)
        raise DaemonStartError(f"the daemon did not answer within the start timeout "
                               f"({stacks}): {self.log_tail()}")

    def signal(self, how: str) -> None:
        """Send ``kill -9`` or ``SIGTERM``."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(SIGNALS[how])

    def wait_exit(self, timeout_s: float) -> int | None:
        """The exit status, or None if still running after ``timeout_s``."""
        assert self.process is not None
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def running(self) -> bool:
        """Whether the process is alive."""
        return self.process is not None and self.process.poll() is None

    def dump_stacks(self) -> str:
        """Every thread's Python stack, into a file beside the log (needs py-spy on PATH).

        What a wedged daemon was doing is the one thing a kill destroys; returns
        where it went, or why there is none.
        """
        if shutil.which("py-spy") is None or not self.running():
            return "no stacks (py-spy is not installed)"
        path = self.root / f"daemon-{self.starts}.stacks"
        with path.open("w") as out:
            subprocess.run(["py-spy", "dump", "--pid", str(self.pid)], stdout=out,
                           stderr=subprocess.STDOUT, timeout=30, check=False)
        return f"stacks in {path}"

    def log_tail(self, lines: int = 6) -> str:
        """The end of this start's log, for a failure message."""
        if self.log_path is None or not self.log_path.exists():
            return ""
        return " | ".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    # resources -------------------------------------------------------------------------
    def cpu_seconds(self) -> float:
        """User plus system CPU time the process has used."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def rss_mb(self) -> float:
        """Resident memory now, in MB."""
        return rss_mb(self.pid)

    def measure(self, seconds: float) -> dict[str, float]:
        """CPU (% of one core) over ``seconds``, and RSS at the end."""
        cpu0, t0 = self.cpu_seconds(), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = self.cpu_seconds(), time.monotonic()
        return {"cpu_pct": round(100.0 * (cpu1 - cpu0) / (t1 - t0), 1),
                "rss_mb": round(self.rss_mb(), 1),
                "uptime_s": round(t1 - self.started_at, 1)}


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` in MB (0 if it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return 0.0

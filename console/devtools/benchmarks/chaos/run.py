"""The chaos run: one daemon life after another, each ended by a kill, each checked.

A life: the daemon starts on the session (the first time with three songs),
its session is read back over the protocol and checked, the transport
loops a song, then the driver sends requests until a timer thread kills the
daemon at a random moment (``kill -9`` or SIGTERM, often in the middle of a
request). Then the session folder is read as the next start will load it
and checked again, and the next life begins. Meanwhile, on their own
clocks, the disk fills for a few seconds now and then, a virtual surface
floods MIDI, a poller times ``status`` and a client reads meters.

CPU and RSS are measured over a quiet window (no driver, no floods, no
spells; the song loops, the meters are read, ``status`` is polled) after the
first start and again before the final stop.
"""

from __future__ import annotations

import contextlib
import random
import shutil
import signal
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from console.control.client import Client, ConnectionLostError, NoDaemonError
from console.control.wire import ProtocolError
from console.devtools.benchmarks.chaos.actions import DaemonGoneError, Driver
from console.devtools.benchmarks.chaos.daemon import DaemonStartError, DaemonUnderTest, Life
from console.devtools.benchmarks.chaos.disk import DiskSpells, small_disk
from console.devtools.benchmarks.chaos.files import write_audio_files
from console.devtools.benchmarks.chaos.floods import MidiFloods
from console.devtools.benchmarks.chaos.oracle import Kill, Oracle, Spell
from console.devtools.benchmarks.chaos.views import view_of_daemon, view_of_folder
from console.devtools.benchmarks.chaos.watchers import MeterWatch, StatusWatch
from console.devtools.jackd import dummy_jack
from console.session.errors import SessionError

MEAN_LIFE_S = 25.0
"""Mean time from a start to the next kill (exponential, 3 to 90 s)."""
QUIET_WINDOW_S = 10.0
SIGTERM_GRACE_S = 15.0
"""A daemon not gone this long after SIGTERM is wedged: counted, then killed."""
PAUSE_S = (0.0, 0.04)
"""Between two requests of the driver."""


class Killer:
    """Kills the daemon from a timer thread, wherever the driver is."""

    def __init__(self, daemon: DaemonUnderTest, life: Life, how: str) -> None:
        self.daemon, self.life, self.how = daemon, life, how
        self.kill: Kill | None = None

    def fire(self) -> None:
        """Note the moment, tell the watchers, send the signal."""
        self.kill = Kill(time.monotonic(), self.how)
        self.life.going_down()
        self.daemon.signal(self.how)


class Chaos:
    """One chaos run in ``root`` (logs and the session stay there for reading)."""

    def __init__(self, root: Path, env: dict[str, str], seed: int, block: int,
                 real_disk: bool) -> None:
        self.root = root
        self.seed = seed
        self.rng = random.Random(seed)
        self.files = write_audio_files(root / "audio")
        self.session = root / "disk" / "album"
        self.daemon = DaemonUnderTest(root, self.session, env, block)
        self.life = Life()
        self.oracle = Oracle(root / "changes.jsonl")
        self.driver = Driver(self.oracle, random.Random(self.rng.random()), self.files)
        self.spells = DiskSpells(root / "disk", random.Random(self.rng.random())) \
            if real_disk else None
        self.floods = MidiFloods(root, env, random.Random(self.rng.random()))
        self.status = StatusWatch(self.daemon.socket, self.life)
        self.meters = MeterWatch(self.daemon.socket, self.life)
        self.restarts = {"kill -9": 0, "SIGTERM": 0}
        self.exit_s: list[float] = []
        self.ready_s: list[float] = []
        self.start_failures: list[dict[str, Any]] = []
        self.troubles: list[str] = []
        """Things that went wrong beyond a lost change: a wedge, a crash, a broken folder."""
        self.load_problems: list[str] = []

    # the run -------------------------------------------------------------------------------
    def run(self, seconds: float) -> dict[str, Any]:
        """Run for ``seconds`` of chaos; return the figures."""
        at_start: dict[str, float] = {}
        at_end: dict[str, float] = {}
        began = time.monotonic()
        try:
            self._start(songs=tuple(self.files.good[:3]))
            self.status.start()
            self.meters.start()
            time.sleep(3.0)
            at_start = self.daemon.measure(QUIET_WINDOW_S)
            began = time.monotonic()
            if self.spells is not None:
                self.spells.start()
            self.floods.start()
            while time.monotonic() < began + seconds:
                self._one_life(began + seconds)
            self._calm()
            time.sleep(2.0)  # the journal writes what waited for room
            at_end = self.daemon.measure(QUIET_WINDOW_S)
            self._end()
        except DaemonStartError as exc:  # the figures so far still say what happened
            self.troubles.append(f"the run ended early: no daemon would start: {exc}")
        finally:
            chaos_s = time.monotonic() - began
            self._calm()
            self.life.going_down()
            self.status.stop()
            self.meters.stop()
            if self.daemon.running():
                self.daemon.signal("kill -9")
                self.daemon.wait_exit(10.0)
            with contextlib.suppress(OSError):  # the small disk goes with the run: keep a copy
                shutil.copytree(self.session, self.root / "album-at-end")
        return self._summary(chaos_s, at_start, at_end)

    def _calm(self) -> None:
        """No more floods or spells (the disk is left with room)."""
        self.floods.stop()
        if self.spells is not None:
            self.spells.stop()

    def _one_life(self, deadline: float) -> None:
        """Drive the daemon until a kill (or the deadline); then check and restart."""
        killer = Killer(self.daemon, self.life, self.rng.choice(("kill -9", "SIGTERM")))
        timer = threading.Timer(min(max(self.rng.expovariate(1.0 / MEAN_LIFE_S), 3.0), 90.0),
                                killer.fire)
        timer.start()
        went_down = None
        try:
            with Client(socket_path=self.daemon.socket, timeout=10.0,
                        name="chaos-driver") as client:
                self.driver.client = client
                while killer.kill is None and time.monotonic() < deadline:
                    self.driver.step()
                    time.sleep(self.driver.rng.uniform(*PAUSE_S))
        except (DaemonGoneError, NoDaemonError, ConnectionLostError, ProtocolError,
                OSError) as exc:
            went_down = str(exc)
        finally:
            self.driver.client = None
            timer.cancel()
        kill = killer.kill
        if kill is None and went_down is None:
            return  # the deadline: this life goes on to the end
        if kill is None:  # nobody killed it: it died, or stopped answering
            alive = self.daemon.running()
            what = (f"no answer ({self.daemon.dump_stacks()})" if alive else
                    f"the daemon died (exit status {self.daemon.process.returncode}, "
                    f"see {self.daemon.log_path})")
            self.troubles.append(f"{what}: {went_down}: {self.daemon.log_tail(3)}")
            killer.how = "kill -9"
            killer.fire()
            kill = killer.kill
        assert kill is not None
        self._wait_gone(kill)
        self.restarts[kill.how] += 1
        self._check_folder(kill.how, kill)
        self._start()

    def _wait_gone(self, kill: Kill) -> None:
        code = self.daemon.wait_exit(SIGTERM_GRACE_S if kill.how == "SIGTERM" else 10.0)
        if kill.how == "SIGTERM":
            self.exit_s.append(time.monotonic() - kill.at)
            if code is None:
                self.troubles.append(f"still running {SIGTERM_GRACE_S:g} s after SIGTERM "
                                     f"({self.daemon.dump_stacks()}): "
                                     f"{self.daemon.log_tail(3)}")
            elif code != 0:
                self.troubles.append(f"exit status {code} after SIGTERM: "
                                     f"{self.daemon.log_tail(3)}")
        if code is None:
            self.daemon.signal("kill -9")
            self.daemon.wait_exit(10.0)

    def _check_folder(self, after: str, kill: Kill | None) -> None:
        """Read the session as the next start will, and check it."""
        try:
            view, problems = view_of_folder(self.session)
        except SessionError as exc:
            self.troubles.append(f"the session folder cannot be read after {after}: {exc}")
            return
        self.load_problems += problems
        spells = (*(self.spells.record() if self.spells is not None else ()),
                  *self.status.disk_full())
        self.oracle.check(view, after, kill, spells)

    def _start(self, songs: tuple[Path, ...] = ()) -> None:
        """Start the daemon (again), check what it serves, loop a song."""
        for attempt in range(1, 6):
            disk_full = self.spells is not None and self.spells.full()
            try:
                self.ready_s.append(self.daemon.start(songs))
                break
            except DaemonStartError as exc:
                self.start_failures.append({"disk_full": disk_full, "error": str(exc)[-300:]})
                if attempt == 5:
                    raise
                while self.spells is not None and self.spells.full():
                    time.sleep(0.2)
                time.sleep(1.0)
        self.life.came_up(self.daemon.pid)
        self.oracle.note("start", f"daemon-{self.daemon.starts}", {}, pid=self.daemon.pid)
        try:
            with Client(socket_path=self.daemon.socket, timeout=10.0) as client:
                self.oracle.check(view_of_daemon(client), "start")
                with contextlib.suppress(ProtocolError):  # a bad file may be the current song
                    client.request("loop", start_s=0.0, end_s=3.5, on=True)
                    client.request("play")
        except (NoDaemonError, ConnectionLostError, ProtocolError, OSError) as exc:
            self.troubles.append(f"the daemon went away just after it started: {exc}: "
                                 f"{self.daemon.log_tail(3)}")  # the next life finds it gone

    def _end(self) -> None:
        """SIGTERM the last daemon and check the session it saved."""
        killer = Killer(self.daemon, self.life, "SIGTERM")
        killer.fire()
        assert killer.kill is not None
        self._wait_gone(killer.kill)
        self._check_folder("end", killer.kill)

    # the figures -----------------------------------------------------------------------------
    def _summary(self, chaos_s: float, at_start: dict[str, float],
                 at_end: dict[str, float]) -> dict[str, Any]:
        spells = self.spells.record() if self.spells is not None else ()
        return {
            "seed": self.seed, "seconds": round(chaos_s, 1),
            **self.oracle.summary(),
            "refusal_examples": self.driver.examples,
            "invalid_requests_accepted": dict(self.driver.anomalies),
            "restarts": dict(self.restarts),
            "sigterm_exit_s": _spread(self.exit_s),
            "ready_after_start_s": _spread(self.ready_s),
            "start_failures": self.start_failures[:5] + (
                [f"... {len(self.start_failures) - 5} more"] if len(self.start_failures) > 5
                else []),
            "troubles": self.troubles[:10],
            "session_load_problems": self.load_problems[:5],
            "status": self.status.summary(),
            "meter_events": self.meters.events,
            "disk_full_spells": (len(spells) if self.spells is not None else
                                 "skipped: mounting a small tmpfs needs root"),
            "disk_full_s": round(sum((s.end or s.start) - s.start for s in spells), 1),
            "disk_full_said": _periods(self.status.disk_full()),
            "midi": self.floods.summary(),
            "actions": dict(sorted(self.driver.actions.items())),
            "loads": {k: dict(v) for k, v in sorted(self.driver.loads.items())},
            "start": at_start, "end": at_end,
            "rss_max_mb": round(self.status.rss_max_mb, 1),
            "folder": str(self.root),
        }


def _periods(spells: tuple[Spell, ...]) -> dict[str, float]:
    """How often, and how long in all, the daemon said its disk was full."""
    return {"times": len(spells),
            "seconds": round(sum((s.end or s.start) - s.start for s in spells), 1)}


def _spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"count": len(values), "median": round(statistics.median(values), 2),
            "max": round(max(values), 2)}


def run_chaos(seconds: float = 600.0, seed: int | None = None,
              block: int = 256) -> dict[str, Any]:
    """Run the chaos soak for ``seconds``; return the figures (see the module docstring)."""
    seed = random.SystemRandom().randrange(1 << 31) if seed is None else seed
    root = Path(tempfile.mkdtemp(prefix="mdchaos-"))
    previous = signal.signal(signal.SIGTERM, _interrupt)  # clean up (the mount!) on SIGTERM
    try:
        with dummy_jack(48000, block, prefix="mdchaos", log=root / "jackd.log") as jack, \
                small_disk(root / "disk") as real_disk:
            return Chaos(root, jack.env(), seed, block, real_disk).run(seconds)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt

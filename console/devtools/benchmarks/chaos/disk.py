"""A small disk for the session, and spells when it is full.

A full disk is only real on a real file system: the session folder sits on a
tmpfs of a few megabytes mounted for the run (which needs root, as CI has),
and a spell fills it with a ballast file for a few seconds, then deletes it.
Without root the session lives in a plain folder and there are no spells;
the summary says so.
"""

from __future__ import annotations

import contextlib
import os
import random
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from console.devtools.benchmarks.chaos.oracle import Spell

DISK_MB = 16
"""The session disk's size: room for 20 backups and the journals, filled in a blink."""


@contextmanager
def small_disk(folder: Path, size_mb: int = DISK_MB) -> Iterator[bool]:
    """Mount a tmpfs of ``size_mb`` on ``folder`` (made here); yield whether it is one.

    Not root: ``folder`` is a plain folder and False is yielded.
    """
    folder.mkdir(parents=True, exist_ok=True)
    if os.getuid() != 0:
        yield False
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(folder)],
                   check=True)
    try:
        yield True
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


class Ballast:
    """A file that takes every free byte of the disk it is on, until cleared."""

    def __init__(self, disk: Path) -> None:
        self.path = disk / "ballast"

    def fill(self) -> int:
        """Write until the disk is full (big writes, then small ones); return bytes taken."""
        taken = 0
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (1 << 20, 1 << 16, 4096, 512):
                with contextlib.suppress(OSError):  # ENOSPC: on to smaller writes
                    while True:
                        taken += os.write(fd, b"\0" * chunk)
        finally:
            os.close(fd)
        return taken

    def clear(self) -> None:
        """Delete the ballast: the disk has room again."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class DiskSpells:
    """A thread that fills the disk now and then, for a few seconds each time."""

    def __init__(self, disk: Path, rng: random.Random, every_s: float = 20.0,
                 lasting_s: tuple[float, float] = (2.0, 8.0)) -> None:
        self.ballast = Ballast(disk)
        self.rng = rng
        self.every_s = every_s
        self.lasting_s = lasting_s
        self.spells: list[Spell] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="disk-spells", daemon=True)

    def start(self) -> None:
        """Begin the spells."""
        self._thread.start()

    def full(self) -> bool:
        """Whether a spell is on now."""
        with self._lock:
            return bool(self.spells) and self.spells[-1].end is None

    def record(self) -> tuple[Spell, ...]:
        """Every spell so far (the one under way has no end yet)."""
        with self._lock:
            return tuple(self.spells)

    def _run(self) -> None:
        while not self._stop.wait(self.rng.expovariate(1.0 / self.every_s)):
            with self._lock:
                self.spells.append(Spell(time.monotonic()))
            self.ballast.fill()
            self._stop.wait(self.rng.uniform(*self.lasting_s))
            self.ballast.clear()
            with self._lock:
                self.spells[-1] = Spell(self.spells[-1].start, time.monotonic())

    def stop(self) -> None:
        """End the spells; the disk is left with room."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(10.0)
        self.ballast.clear()
        with self._lock:
            if self.spells and self.spells[-1].end is None:
                self.spells[-1] = Spell(self.spells[-1].start, time.monotonic())

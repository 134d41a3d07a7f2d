"""The journal: every change between two saves, appended as it happens, on disk within a second.

One file per save it builds on: ``journal/<generation>.jsonl`` holds the
operations made after save number ``generation`` (see
:mod:`console.session.model` for operations). The first line says which
generation it extends; each further line is one operation as JSON with the
wall-clock time it was made.

Writes are buffered in memory and flushed (``write`` + ``fsync``) by a
background thread every :data:`FLUSH_INTERVAL_S`, and at once for
structural changes (songs added, passes written). A knob turned at a
thousand messages a second becomes one ``params`` line per flush: consecutive
parameter operations for one song are merged while they wait, latest value
winning. After ``kill -9`` at most one flush interval of moves is lost; after a
power cut, the same (the flush includes fsync).

A write is whole or undone: if the disk is full (or fails) halfway through a
flush, the file is cut back to where the flush began and the operations stay
queued, to be written when the disk has room again; the journal reports the
failure (:attr:`Journal.failure`, and ``on_failure``) instead of pretending.
Reading skips a line it cannot read (a torn last line is the trace of a kill;
one in the middle is reported and the replay goes on after it).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from console.session.atomic import fsync_dir

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 0.25
"""Longest time a change waits in memory before it is written and fsynced."""
JOURNAL_FORMAT = 1


class JournalError(OSError):
    """The journal could not be written (the disk is full, say): nothing was lost, it waits."""


def journal_path(folder: Path, generation: int) -> Path:
    """Where the journal extending save ``generation`` lives."""
    return folder / "journal" / f"{generation:06d}.jsonl"


class Journal:
    """An append-only log of operations, flushed at least every ``interval_s``."""

    def __init__(self, path: Path, base: int, interval_s: float = FLUSH_INTERVAL_S,
                 on_failure: Callable[[str | None], None] | None = None) -> None:
        self.interval_s = interval_s
        self.on_failure = on_failure
        """Told the failure when writing starts failing, and None when it works again."""
        self.failure: str | None = None
        """Why the last flush failed (None: the journal holds every change made)."""
        self._lock = threading.Lock()
        self._pending: list[dict[str, Any]] = []
        self._fd = -1
        self.path = path
        self.base = base
        self.flushes = 0
        self.max_flush_s = 0.0
        self._fd = self._begin(path, base)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="journal", daemon=True)
        self._thread.start()

    def _begin(self, path: Path, base: int) -> int:
        """Open ``path`` to append to, its header written and synced if it is new.

        Whole or not at all: a header the disk refuses is taken back (a new
        file is removed) and :class:`JournalError` raised, so no file starts
        without one (replay refuses a journal without its header). A torn last
        line left by a kill is ended first, so the next line is not glued to it.
        """
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(str(path), os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        size = os.fstat(fd).st_size
        try:
            if size == 0:
                header = {"journal": JOURNAL_FORMAT, "base": base, "started": time.time()}
                _write_all(fd, (json.dumps(header) + "\n").encode())
                os.fsync(fd)
                fsync_dir(path.parent)
            elif os.pread(fd, 1, size - 1) != b"\n":
                _write_all(fd, b"\n")
                os.fsync(fd)
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.ftruncate(fd, size)
                if size == 0:
                    path.unlink()
            os.close(fd)
            raise JournalError(f"{path}: cannot start the journal: {exc.strerror or exc}"
                               ) from None
        return fd

    def append(self, op: dict[str, Any], urgent: bool = False) -> None:
        """Queue ``op``; ``urgent`` writes it (and everything before it) now.

        An urgent op that cannot be written raises :class:`JournalError` and is
        taken back out of the queue (the caller takes it back out of the model);
        the ops before it stay queued.
        """
        entry = {**op, "t": round(time.time(), 3)}
        with self._lock:
            last = self._pending[-1] if self._pending else None
            if (op.get("op") == "params" and last is not None and last.get("op") == "params"
                    and last.get("id") == op.get("id") and not urgent):
                last["values"] = {**last["values"], **op["values"]}
                last["t"] = entry["t"]
            else:
                self._pending.append(entry)
        if urgent:
            try:
                self.flush()
            except JournalError:
                with self._lock:
                    self._pending = [e for e in self._pending if e is not entry]
                raise

    @property
    def waiting(self) -> int:
        """Operations made but not yet on disk."""
        with self._lock:
            return len(self._pending)

    def flush(self) -> None:
        """Write and fsync whatever is waiting; whole, or not at all (:class:`JournalError`)."""
        with self._lock:
            pending, self._pending = self._pending, []
            if not pending or self._fd < 0:
                self._pending = pending
                return
            started = time.perf_counter()
            data = "".join(json.dumps(op, separators=(",", ":")) + "\n" for op in pending)
            end = os.lseek(self._fd, 0, os.SEEK_END)
            try:
                _write_all(self._fd, data.encode())
                os.fsync(self._fd)
            except OSError as exc:
                with contextlib.suppress(OSError):  # no torn line left in the middle
                    os.ftruncate(self._fd, end)
                    os.fsync(self._fd)
                self._pending = pending + self._pending  # nothing lost: written next time
                failure = f"{self.path}: {exc.strerror or exc}"
                changed = failure != self.failure
                self.failure = failure
            else:
                changed = self.failure is not None
                self.failure = None
                self.flushes += 1
                self.max_flush_s = max(self.max_flush_s, time.perf_counter() - started)
        if changed and self.on_failure is not None:
            self.on_failure(self.failure)
        if self.failure is not None:
            raise JournalError(f"the journal cannot be written ({self.failure}); "
                               f"{self.waiting} changes wait in memory")

    def rotate(self, path: Path, base: int) -> None:
        """Flush, then continue in a new file extending save ``base``.

        Whole or not at all: the new file is started before the old one is let
        go, so a disk that refuses leaves the journal writing where it was
        (:class:`JournalError`), never into a file replay would not read.
        """
        self.flush()
        with self._lock:
            fd = self._begin(path, base)
            os.close(self._fd)
            self._fd, self.path, self.base = fd, path, base

    def _run(self) -> None:
        said = None
        while not self._stop.wait(self.interval_s):
            try:
                self.flush()
                if said is not None:
                    log.warning("journal: writing again to %s; every change is on disk",
                                self.path)
                    said = None
            except OSError as exc:
                if str(exc) != said:  # once per kind of failure, not every 0.25 s
                    log.error("journal: %s", exc)
                    said = str(exc)

    def close(self) -> None:
        """Flush and stop (idempotent)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        try:
            self.flush()
        except JournalError as exc:
            log.error("journal: %d changes are NOT on disk and end with this process: %s",
                      self.waiting, exc)
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1


def _write_all(fd: int, data: bytes) -> None:
    """``os.write`` until every byte is written (a short write raises at the next one)."""
    written = 0
    while written < len(data):
        written += os.write(fd, data[written:])


def read(path: Path) -> tuple[int | None, list[dict[str, Any]], str | None]:
    """Read a journal: (base generation, operations, a problem found or None).

    A line that cannot be read is skipped: a torn last line is the expected
    trace of a kill; one in the middle is reported, and the lines after it
    are replayed (each line is a whole operation on its own).
    """
    ops: list[dict[str, Any]] = []
    base = None
    problem: str | None = None
    try:
        lines = path.read_bytes().split(b"\n")
    except OSError as exc:
        return None, [], f"{path}: cannot read: {exc}"
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        try:
            entry = json.loads(raw)
            if not isinstance(entry, dict):
                raise ValueError("not an object")
        except ValueError:
            last = all(not rest.strip() for rest in lines[number:])
            if not last and problem is None:
                problem = f"{path}:{number}: unreadable line skipped"
            if base is None:
                return None, [], f"{path}:1: not a masterdeck journal"
            continue
        if base is None:
            base = entry.get("base") if "journal" in entry else None
            if base is None:
                return None, [], f"{path}:1: not a masterdeck journal"
            continue
        ops.append(entry)
    return base, ops, problem


def journals(folder: Path) -> list[tuple[int, Path]]:
    """Journal files in ``folder/journal`` as (generation, path), oldest first."""
    found = []
    for path in (folder / "journal").glob("*.jsonl"):
        with contextlib.suppress(ValueError):
            found.append((int(path.stem), path))
    return sorted(found)

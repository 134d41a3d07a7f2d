"""Feedback that keeps only the latest state of each LED, ring, fader and display cell.

A MIDI link drops messages when flooded (a JACK MIDI port lost about a
quarter of 800 back-to-back messages), so feedback is never a stream of
every change. Each surface owns a :class:`CellQueue`: one slot per *cell*
(an LED, a ring, a motor fader, one strip's LCD cell, a meter), holding the
newest bytes; what the device already shows is remembered and not resent.
One :class:`FeedbackScheduler` thread sends the pending cells of every
surface, at most ``max_bytes_per_tick`` per ``tick_ms`` per port, and asks
each surface for its periodic work (meters, touch timeouts).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Protocol

Cell = tuple[bytes, ...]
"""The messages that set one cell (usually one; a 14-bit CC pair is two)."""


class CellQueue:
    """Pending cell states of one surface, deduplicated against what was sent.

    Thread-safe; the lock is a leaf (nothing is called while it is held).
    """

    def __init__(self, max_bytes_per_tick: int = 512, tick_s: float = 0.01) -> None:
        self.max_bytes_per_tick, self.tick_s = max_bytes_per_tick, tick_s
        self._lock = threading.Lock()
        self._pending: dict[Hashable, Cell] = {}
        self._shown: dict[Hashable, Cell] = {}
        self._window_start = 0.0
        self._window_bytes = 0
        self.sent = 0
        self.coalesced = 0

    def post(self, key: Hashable, cell: Cell, force: bool = False) -> bool:
        """Make ``cell`` the next state of ``key``; True if anything is now pending."""
        with self._lock:
            if key in self._pending:
                self.coalesced += 1
            elif not force and self._shown.get(key) == cell:
                return False
            self._pending[key] = cell
            return True

    def shown(self, key: Hashable) -> Cell | None:
        """What the device was last sent for ``key`` (None if unknown)."""
        with self._lock:
            return self._shown.get(key)

    def forget(self) -> None:
        """The device state is unknown (reconnected, reset): resend everything posted."""
        with self._lock:
            self._shown.clear()

    def drop_pending(self) -> None:
        """Discard unsent states (the port went away; a restore follows on return)."""
        with self._lock:
            self._pending.clear()

    def pending(self) -> int:
        """How many cells wait to be sent."""
        with self._lock:
            return len(self._pending)

    def take(self, now: float) -> list[tuple[Hashable, Cell]]:
        """Pop pending cells in order, within this tick's byte budget."""
        out: list[tuple[Hashable, Cell]] = []
        with self._lock:
            if now - self._window_start >= self.tick_s:
                self._window_start, self._window_bytes = now, 0
            while self._pending and self._window_bytes < self.max_bytes_per_tick:
                key = next(iter(self._pending))
                cell = self._pending.pop(key)
                self._window_bytes += sum(len(m) for m in cell)
                self._shown[key] = cell
                out.append((key, cell))
            self.sent += len(out)
        return out

    def next_window(self) -> float:
        """When the current byte budget renews."""
        with self._lock:
            return self._window_start + self.tick_s


class Sink(Protocol):
    """What the scheduler needs from a surface."""

    queue: CellQueue

    def send(self, message: bytes) -> bool:
        """Send one message to the device now."""
        ...

    def periodic(self, now: float) -> None:
        """Regular work: meters, touch timeouts, display reverts."""
        ...


class FeedbackScheduler:
    """One thread that sends every surface's pending cells at a bounded rate."""

    def __init__(self, sinks: Callable[[], Sequence[Sink]], tick_s: float = 0.01) -> None:
        self._sinks, self.tick_s = sinks, tick_s
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.errors = 0

    def start(self) -> None:
        """Start the thread (idempotent)."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="surface-feedback",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None

    def wake(self) -> None:
        """Something was posted: send it without waiting for the tick."""
        self._wake.set()

    def _run(self) -> None:
        next_periodic = 0.0
        timeout = self.tick_s
        while not self._stop.is_set():
            self._wake.wait(timeout)
            self._wake.clear()
            now = time.monotonic()
            sinks = list(self._sinks())
            if now >= next_periodic:
                next_periodic = now + self.tick_s
                for sink in sinks:
                    self._guard(sink.periodic, now)
            timeout = self.tick_s
            for sink in sinks:
                for _key, cell in sink.queue.take(now):
                    for message in cell:
                        sink.send(message)
                if sink.queue.pending():
                    timeout = min(timeout, max(sink.queue.next_window() - now, 0.001))

    def _guard(self, fn: Callable[[float], None], now: float) -> None:
        try:
            fn(now)
        except Exception:
            self.errors += 1

"""Clients that watch the daemon while chaos runs: a ``status`` poller and a meter UI.

The poller asks ``status`` every 100 ms on its own connection, as a UI's
status line would, and keeps how long each answer took; a wait that began
or ended while the daemon was down on purpose is not kept. It also notes when
the daemon says its disk is full (the ``disk`` state), for the oracle: a disk
fills on its own too, not only in the ballast's spells. The meter client
subscribes at 30 Hz as the UI does, so the daemon always has a reader.
Both reconnect after every restart.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np

from console.control.client import Client, ConnectionLostError, NoDaemonError
from console.control.wire import ProtocolError
from console.devtools.benchmarks.chaos.daemon import Life, rss_mb
from console.devtools.benchmarks.chaos.oracle import Spell

STATUS_EVERY_S = 0.1
STATUS_TIMEOUT_S = 10.0
"""A ``status`` unanswered this long counts as a stall of this length (a wedge)."""
_GONE = (OSError, NoDaemonError, ConnectionLostError, ProtocolError)


class _Watch(threading.Thread):
    """A client of the daemon's that connects again after every restart, until stopped."""

    def __init__(self, name: str, socket: Any, life: Life) -> None:
        super().__init__(name=name, daemon=True)
        self.socket = socket
        self.life = life
        self._done = threading.Event()

    def run(self) -> None:
        """Watch until stopped: one connection per life of the daemon."""
        while not self._done.is_set():
            if not self.life.up.wait(0.2):
                continue
            epoch = self.life.epoch
            try:
                self._watch(epoch)
            except _GONE:
                self._lost(epoch)
                time.sleep(0.2)

    def _watch(self, epoch: int) -> None:
        """Connect and watch for as long as life ``epoch`` lasts."""
        raise NotImplementedError

    def _lost(self, epoch: int) -> None:
        """The connection failed or broke (the daemon may be down on purpose)."""

    def stop(self, timeout: float = 5.0) -> None:
        """Stop watching."""
        self._done.set()
        self.join(timeout)


class StatusWatch(_Watch):
    """Polls ``status``; keeps answer times and the largest RSS seen."""

    def __init__(self, socket: Any, life: Life) -> None:
        super().__init__("status-watch", socket, life)
        self.waits_ms: list[float] = []
        self.failures_while_up = 0
        self.worst_at = ""
        self.rss_max_mb = 0.0
        self.disk_full_seen = 0
        self._full: list[Spell] = []
        """Times the daemon said its disk was full (``disk`` state): changes waited in memory."""
        self._full_lock = threading.Lock()

    def _watch(self, epoch: int) -> None:
        with Client(socket_path=self.socket, timeout=STATUS_TIMEOUT_S,
                    name="chaos-status") as client:
            self._poll(client, epoch)

    def _lost(self, epoch: int) -> None:
        if self.life.up.is_set() and self.life.epoch == epoch:
            self.failures_while_up += 1

    def _poll(self, client: Client, epoch: int) -> None:
        last_rss = 0.0
        while not self._done.is_set() and self.life.epoch == epoch:
            began = time.monotonic()
            try:
                status = client.request("status")
            except ConnectionLostError:
                if self.life.up.is_set() and self.life.epoch == epoch:
                    self._keep(time.monotonic() - began)  # unanswered while up: a stall
                raise
            if self.life.up.is_set() and self.life.epoch == epoch:
                self._keep(time.monotonic() - began)
                self._disk(bool(status["state"].get("disk", {}).get("ok", True)), began)
            if began - last_rss > 1.0 and self.life.pid:
                self.rss_max_mb = max(self.rss_max_mb, rss_mb(self.life.pid))
                last_rss = began
            self._done.wait(max(0.0, STATUS_EVERY_S - (time.monotonic() - began)))

    def _disk(self, ok: bool, at: float) -> None:
        with self._full_lock:
            open_spell = bool(self._full) and self._full[-1].end is None
            if not ok:
                self.disk_full_seen += 1
                if not open_spell:
                    self._full.append(Spell(at))
            elif open_spell:
                self._full[-1] = Spell(self._full[-1].start, at)

    def disk_full(self) -> tuple[Spell, ...]:
        """When the daemon said its disk was full (a spell still on has no end)."""
        with self._full_lock:
            return tuple(self._full)

    def _keep(self, seconds: float) -> None:
        ms = 1000.0 * seconds
        if not self.waits_ms or ms > max(self.waits_ms):
            self.worst_at = time.strftime("%H:%M:%S")
        self.waits_ms.append(ms)

    def stop(self, timeout: float = STATUS_TIMEOUT_S + 2.0) -> None:
        """Stop polling (a poll under way may take its whole timeout)."""
        super().stop(timeout)

    def summary(self) -> dict[str, Any]:
        """How long ``status`` took to answer while the daemon was meant to be up."""
        waits = np.array(self.waits_ms or [0.0])
        return {"polls": len(self.waits_ms), "longest_stall_ms": round(float(waits.max()), 1),
                "longest_at": self.worst_at,
                "p50_ms": round(float(np.percentile(waits, 50)), 2),
                "p99_ms": round(float(np.percentile(waits, 99)), 1),
                "over_1s": int((waits > 1000.0).sum()),
                "connection_failures_while_up": self.failures_while_up,
                "polls_that_saw_disk_full": self.disk_full_seen}


class MeterWatch(_Watch):
    """A meter subscriber at 30 Hz, as the UI is; counts the events it reads."""

    def __init__(self, socket: Any, life: Life) -> None:
        super().__init__("meter-watch", socket, life)
        self.events = 0

    def _watch(self, epoch: int) -> None:
        with Client(socket_path=self.socket, name="chaos-meters") as client:
            client.request("subscribe", topic="meters", rate_hz=30)
            while not self._done.is_set() and self.life.epoch == epoch:
                if client.next_event(timeout=0.5) is not None:
                    self.events += 1

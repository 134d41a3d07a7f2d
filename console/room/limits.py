"""Rate limits for the room's web side: requests per address, and wrong tokens.

Two rules, both per remote address:

- :class:`RequestLimit`, a token bucket: a page load is a handful of
  requests, so :data:`REQUESTS_PER_S` with a burst of :data:`BURST` never
  touches a person and stops a flood early (429 with ``Retry-After``);
- :class:`TokenFailures`: each wrong token from an address in the last
  minute doubles the wait before the answer (0.25 s, 0.5 s ... 5 s). With
  the bucket that is a few guesses a second at most, and a token has 192
  random bits. An address is never shut out altogether: behind an SSH
  tunnel or a proxy every client comes from one address, and a stranger's
  guesses must not lock the client out.

Pure bookkeeping with an injectable clock, for tests; the web app applies them.
"""

from __future__ import annotations

import time
from collections.abc import Callable

REQUESTS_PER_S = 5.0
BURST = 20.0
WINDOW_S = 60.0
MAX_ADDRESSES = 4096
"""Addresses remembered at most (the oldest are forgotten first)."""


class RequestLimit:
    """A token bucket per address."""

    def __init__(self, rate_per_s: float = REQUESTS_PER_S, burst: float = BURST,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate_per_s
        self.burst = burst
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}
        self.refused = 0

    def allow(self, address: str) -> float:
        """0.0 if a request from ``address`` may go ahead now, else the seconds to wait."""
        now = self.clock()
        level, then = self._buckets.get(address, (self.burst, now))
        level = min(self.burst, level + (now - then) * self.rate)
        if level >= 1.0:
            self._buckets[address] = (level - 1.0, now)
            wait = 0.0
        else:
            self._buckets[address] = (level, now)
            self.refused += 1
            wait = (1.0 - level) / self.rate
        if len(self._buckets) > MAX_ADDRESSES:
            self._buckets.pop(next(iter(self._buckets)))
        return wait


class TokenFailures:
    """Wrong tokens per address: the delay before answering, and when to refuse."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._times: dict[str, list[float]] = {}

    def recent(self, address: str) -> int:
        """Wrong tokens from ``address`` in the last minute."""
        now = self.clock()
        times = [t for t in self._times.get(address, []) if now - t < WINDOW_S]
        self._times[address] = times
        return len(times)

    def fail(self, address: str) -> float:
        """Note a wrong token from ``address``; return the delay before saying so."""
        count = self.recent(address) + 1
        self._times.setdefault(address, []).append(self.clock())
        if len(self._times) > MAX_ADDRESSES:
            self._times.pop(next(iter(self._times)))
        return min(0.25 * 2 ** (count - 1), 5.0)

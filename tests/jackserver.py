"""The tests' JACK server: the package's own dummy server, under a test prefix."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sounddevice  # noqa: F401  (loaded first, so the server context manages PortAudio)

from console.devtools.jackd import DummyJackServer, dummy_jack


@contextmanager
def jack_server(rate: int = 48000, period: int = 256) -> Iterator[DummyJackServer]:
    """Run a dummy JACK server for the block, with PortAudio rescanned to see it."""
    with dummy_jack(rate, period, prefix="mdtest") as server:
        yield server

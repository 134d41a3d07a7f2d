"""A real JACK server with the dummy driver, for tests that need audio or MIDI.

The dummy driver paces a real JACK server with a timer, so PortAudio's JACK
host API and python-rtmidi's JACK MIDI API work with no sound card. Each
server gets a unique name, clients find it through ``JACK_DEFAULT_SERVER``,
and only the process we started is stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


class JackServer:
    """A running ``jackd -d dummy`` under a unique name."""

    def __init__(self, rate: int = 48000, period: int = 256) -> None:
        self.name = f"mdtest-{uuid.uuid4().hex[:8]}"
        self.rate, self.period = rate, period
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        jackd = shutil.which("jackd")
        if jackd is None:
            raise RuntimeError("jackd is not installed (apt-get install jackd2)")
        self.process = subprocess.Popen(
            [jackd, "--no-realtime", "-n", self.name, "-d", "dummy", "-r", str(self.rate),
             "-p", str(self.period), "-C", "2", "-P", "2"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        env = self.env()
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jackd exited: {self.process.stderr.read().decode()[-500:]}")
            probe = subprocess.run(["jack_lsp"], env=env, capture_output=True, text=True)
            if probe.returncode == 0 and "system:playback_1" in probe.stdout:
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"jackd {self.name} did not come up in {timeout} s")

    def env(self) -> dict[str, str]:
        """The environment a client needs to find this server."""
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)
        if self.process and self.process.stderr:
            self.process.stderr.close()


@contextmanager
def jack_server(rate: int = 48000, period: int = 256) -> Iterator[JackServer]:
    """Run a dummy JACK server for the duration of the block; point clients at it."""
    server = JackServer(rate, period)
    server.start()
    previous = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER")}
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        yield server
    finally:
        server.stop()
        for key, value in previous.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

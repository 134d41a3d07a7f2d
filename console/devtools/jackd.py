"""Running our own JACK server with the dummy driver.

With no sound card (a rack without an interface, a container, CI), a JACK
server with the dummy driver is still a real, real-time-paced audio server:
PortAudio's JACK host API plays into it and JACK MIDI works over it. The demo
starts one when PortAudio finds no output device, and the tests start one per
module. Each server gets a unique name; clients find it through
``JACK_DEFAULT_SERVER``; only the process we started is ever stopped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from console.devtools.stopping import stop_child
from dsp.errors import DeviceError


class DummyJackServer:
    """``jackd -d dummy`` under a unique name, started and stopped by us."""

    def __init__(self, rate: int = 48000, period: int = 256, prefix: str = "masterdeck",
                 detach: bool = False, log: Path | None = None) -> None:
        self.name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        self.rate, self.period = rate, period
        self.detach = detach
        """Run the server in a session of its own, so a Ctrl-C at the terminal does not
        reach it: whoever started it stops it, after its clients (the demo does)."""
        self.log = log
        """Where the server's messages go (default: a temporary file, read at a failed start).
        Never a pipe: jackd writes a few lines per client that dies, and once a pipe nobody
        reads is full (64 KiB), jackd blocks writing to it and every client with it."""
        self.process: subprocess.Popen | None = None
        self._messages: IO[bytes] | None = None

    def start(self, timeout: float = 10.0) -> None:
        """Start the server and wait until its ports exist.

        JACK keeps a slot in its registry (``/dev/shm/jack-shm-registry``, eight
        slots) for every server that died without cleaning up (killed, say),
        and frees a slot only when a server *of the same name* starts. When
        every slot is taken that way, the server takes the name of a dead one.
        """
        try:
            self._start(timeout)
            return
        except DeviceError as exc:
            if "Too many servers" not in str(exc):
                raise
            failure = exc
        for name in reclaimable_names():  # another process may reclaim one first: try each
            self.name = name
            try:
                self._start(timeout)
                return
            except DeviceError as exc:
                failure = exc
        raise failure

    def _start(self, timeout: float) -> None:
        jackd = shutil.which("jackd")
        if jackd is None:
            raise DeviceError("jackd is not installed (Debian: apt-get install jackd2)")
        self._close_messages()
        self._messages = self.log.open("a+b") if self.log else tempfile.TemporaryFile()
        start = self._messages.tell()
        self.process = subprocess.Popen(
            [jackd, "--no-realtime", "-n", self.name, "-d", "dummy", "-r", str(self.rate),
             "-p", str(self.period), "-C", "2", "-P", "2"],
            stdout=subprocess.DEVNULL, stderr=self._messages, start_new_session=self.detach,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                self._messages.seek(start)
                message = self._messages.read().decode(errors="replace")[-500:]
                self._close_messages()
                raise DeviceError(f"jackd exited at start: {message}")
            probe = subprocess.run(["jack_lsp"], env=self.env(), capture_output=True,
                                   text=True, check=False)
            if probe.returncode == 0 and "system:playback_1" in probe.stdout:
                return
            time.sleep(0.1)
        self.stop()
        raise DeviceError(f"jackd {self.name} did not come up within {timeout:g} s")

    def env(self) -> dict[str, str]:
        """The environment a client process needs to find this server."""
        return {**os.environ, "JACK_DEFAULT_SERVER": self.name, "JACK_NO_START_SERVER": "1"}

    def xruns(self) -> int:
        """How many xruns (a client late for its period) the server has reported so far.

        JACK drops what a late client should have read in the periods it missed,
        MIDI included, so a test that lost a message can tell the machine's
        fault from ours. Read with ``pread``: the file's offset is jackd's too.
        """
        if self._messages is None:
            return 0
        fd = self._messages.fileno()
        return os.pread(fd, os.fstat(fd).st_size, 0).count(b"XRun")

    def stop(self) -> None:
        """Stop the server we started (and nothing else)."""
        if self.process is None:
            return
        stop_child(self.process, 5.0)
        self._close_messages()

    def _close_messages(self) -> None:
        if self._messages is not None:
            self._messages.close()
            self._messages = None


REGISTRY = "/dev/shm/jack-shm-registry"
_HEADER, _ENTRY, _SLOTS = 0x18, 0x108, 8  # jack2 jack_shm_header_t: 8 x (pid_t, name[260])


def reclaimable_names(registry: str = REGISTRY) -> list[str]:
    """Server names JACK's registry still holds for this user whose process is gone."""
    try:
        with open(registry, "rb") as f:
            data = f.read(_HEADER + _ENTRY * _SLOTS)
    except OSError:
        return []
    prefix = f"jack-{os.getuid()}:"
    names = []
    for k in range(_SLOTS):
        entry = data[_HEADER + k * _ENTRY:_HEADER + (k + 1) * _ENTRY]
        if len(entry) < _ENTRY:
            break
        pid = int.from_bytes(entry[:4], sys.byteorder, signed=True)
        name = entry[4:].split(b"\0", 1)[0].decode(errors="replace")
        if pid > 0 and name.startswith(prefix) and not _alive(pid):
            names.append(name[len(prefix):].rstrip(":"))
    return names


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@contextmanager
def dummy_jack(rate: int = 48000, period: int = 256, prefix: str = "masterdeck",
               log: Path | None = None) -> Iterator[DummyJackServer]:
    """Run a dummy JACK server for the block and point this process's clients at it.

    PortAudio is re-initialised on the way in, so its JACK host API sees the
    server, and shut down before the server stops on the way out: PortAudio's
    JACK host API aborts the process at exit if its server vanished under it.
    ``JACK_NO_START_SERVER`` stays set afterwards, so no later client of this
    process quietly starts a JACK server of its own.
    """
    server = DummyJackServer(rate, period, prefix, log=log)
    server.start()
    previous = os.environ.get("JACK_DEFAULT_SERVER")
    os.environ["JACK_DEFAULT_SERVER"] = server.name
    os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        _portaudio_sees_jack()
        yield server
    finally:
        _portaudio("terminate")
        server.stop()
        if previous is None:
            os.environ.pop("JACK_DEFAULT_SERVER", None)
        else:
            os.environ["JACK_DEFAULT_SERVER"] = previous
        _portaudio("init")


def _portaudio(step: str) -> None:
    """Terminate or initialise PortAudio, if this process uses it."""
    sd = sys.modules.get("sounddevice")
    if sd is None:
        return
    if step == "terminate":
        sd._terminate()
    else:
        sd._initialize()


def _portaudio_sees_jack(timeout: float = 5.0) -> None:
    """Re-initialise PortAudio until its JACK host API lists the new server.

    A server that already lists its ports can still refuse the first client
    for a moment, and PortAudio only looks for JACK when it initialises.
    """
    sd = sys.modules.get("sounddevice")
    if sd is None:
        return
    deadline = time.monotonic() + timeout
    while True:
        sd._terminate()
        sd._initialize()
        if any("JACK" in api["name"] for api in sd.query_hostapis()):
            return
        if time.monotonic() > deadline:
            raise DeviceError("PortAudio does not see the JACK server")
        time.sleep(0.1)

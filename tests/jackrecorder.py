"""A JACK client that records what another client plays: the test's ears."""

from __future__ import annotations

import time

import jack
import numpy as np


class Recorder:
    """Record two channels from the ports of a playing client into memory."""

    def __init__(self, name: str = "md-recorder", seconds: float = 30.0) -> None:
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.inputs = [self.client.inports.register(f"in_{c}") for c in range(2)]
        self.buffer = np.zeros((int(seconds * self.rate), 2), dtype=np.float32)
        self.frames = 0
        self.recording = False
        self.xruns = 0
        """Xruns the JACK server reported (any client's) since we started."""
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    def _xrun(self, delay_usecs: float) -> None:
        self.xruns += 1

    def _process(self, frames: int) -> None:
        if not self.recording:
            return
        end = min(self.frames + frames, self.buffer.shape[0])
        n = end - self.frames
        for c, port in enumerate(self.inputs):
            self.buffer[self.frames:end, c] = port.get_array()[:n]
        self.frames = end

    def connect_to(self, client_prefix: str) -> None:
        """Connect the first two audio outputs of a client whose name starts so."""
        ports = [p for p in self.client.get_ports(is_audio=True, is_output=True)
                 if p.name.startswith(client_prefix)]
        if len(ports) < 2:
            raise RuntimeError(f"no output ports for {client_prefix!r}: "
                               f"{[p.name for p in self.client.get_ports()]}")
        for port, inport in zip(ports[:2], self.inputs, strict=True):
            self.client.connect(port, inport)

    def record(self, seconds: float, during=None) -> np.ndarray:
        """Record ``seconds`` of audio; call ``during(recorder)`` once recording runs."""
        self.frames = 0
        self.recording = True
        started = time.monotonic()
        if during is not None:
            during(self)
        while self.frames < int(seconds * self.rate):
            if time.monotonic() - started > seconds * 4 + 5:
                break
            time.sleep(0.01)
        self.recording = False
        return self.buffer[: self.frames].astype(np.float64).copy()

    def record_clean(self, seconds: float, during=None, setup=None,
                     attempts: int = 3) -> np.ndarray:
        """Record like :meth:`record`, again if a click coincided with an xrun.

        The dummy driver on a loaded VM drops or repeats a block now and then;
        a discontinuity is forgiven only when the server reported an xrun while
        we recorded, and the take is then repeated (``setup()`` runs before
        each take, to put the console back where the take starts). A click
        with no xrun is returned as is, for the test to fail on.
        """
        for _ in range(attempts):
            if setup is not None:
                setup()
            before = self.xruns
            take = self.record(seconds, during)
            if not clicks(take) or self.xruns == before:
                return take
        return take

    def close(self) -> None:
        self.client.deactivate()
        self.client.close()


def clicks(x: np.ndarray, factor: float = 8.0) -> list[int]:
    """Sample indices where the second difference jumps far above its usual size.

    Discontinuities next to a run of exact zeros (a block the dummy driver
    dropped) are not counted: the tests judge the console, not the VM's timer.
    """
    d2 = np.abs(np.diff(x[:, 0], 2))
    typical = np.percentile(d2, 99) + 1e-9
    found = []
    for i in np.flatnonzero(d2 > factor * typical):
        lo, hi = max(0, i - 64), min(x.shape[0], i + 66)
        window = x[lo:hi, 0]
        zero_run = np.max(np.diff(np.flatnonzero(np.concatenate(([1], window != 0, [1]))))) - 1
        if zero_run >= 16:
            continue
        found.append(int(i))
    return found

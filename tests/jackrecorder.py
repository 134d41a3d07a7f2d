"""A JACK client that records what another client plays: the test's ears."""

from __future__ import annotations

import time

import jack
import numpy as np

from console.devtools.jackd import DummyJackServer


class Recorder:
    """Record two channels from the ports of a playing client into memory."""

    def __init__(self, name: str = "md-recorder", seconds: float = 30.0,
                 server: DummyJackServer | None = None) -> None:
        self.client = jack.Client(name, no_start_server=True)
        self.rate = self.client.samplerate
        self.inputs = [self.client.inports.register(f"in_{c}") for c in range(2)]
        self.buffer = np.zeros((int(seconds * self.rate), 2), dtype=np.float32)
        self.frames = 0
        self.recording = False
        self._server = server
        self._server_base = server.xruns() if server is not None else 0
        self._told = 0
        self.client.set_process_callback(self._process)
        self.client.set_xrun_callback(self._xrun)
        self.client.activate()

    @property
    def xruns(self) -> int:
        """Xruns (any client's) since we started.

        The server's own count when we know the server: jackd writes it the
        moment it sees one, while our xrun callback is a Python call that
        waits for the GIL and can come after the take has been judged.
        """
        logged = self._server.xruns() - self._server_base if self._server is not None else 0
        return max(self._told, logged)

    def _xrun(self, delay_usecs: float) -> None:
        self._told += 1

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

    def record(self, seconds: float, during=None, lead_s: float = 0.0) -> np.ndarray:
        """Record ``lead_s`` then ``seconds`` of audio; call ``during(recorder)`` between.

        "Runs" means the process callback has taken its first period (and
        ``lead_s`` of audio): setting the flag is not enough, as on a busy
        machine the callback may only run again some periods later, after an
        action has already begun to sound. A take that must hold the start of
        what ``during`` does gives a lead longer than the periods it could lose.
        """
        self.frames = 0
        self.recording = True
        started = time.monotonic()
        lead = max(1, int(lead_s * self.rate))
        while self.frames < lead and time.monotonic() - started < lead_s + 5:
            time.sleep(0.002)
        if during is not None:
            during(self)
        while self.frames < int((seconds + lead_s) * self.rate):
            if time.monotonic() - started > (seconds + lead_s) * 4 + 5:
                break
            time.sleep(0.01)
        self.recording = False
        return self.buffer[: self.frames].astype(np.float64).copy()

    def record_clean(self, seconds: float, during=None, setup=None,
                     attempts: int = 3) -> np.ndarray:
        """Record like :meth:`record`, again if a click coincided with an xrun.

        The dummy driver on a loaded VM drops or repeats a period now and then:
        the take is spliced at a period boundary (takes with over a thousand
        provoked xruns showed only such splices, never a run of zeros), which
        :func:`clicks` sees. A click is forgiven only when the server reported
        an xrun while we recorded, and then only by taking again (``setup()``
        runs before each take, to put the console back where the take starts);
        the last take is returned as it is. A click with no xrun is returned at
        once, for the test to fail on.
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
    """Samples where the take jumps: its second difference far above the take's own.

    A tone's second difference is small and steady (a sine's peaks at its
    amplitude times ``(2 pi f / rate)**2``); a jump in value or in slope makes
    it the size of the jump. "Far above" is ``factor`` times the 99th
    percentile over the part of the take that sounds (stretches of exact
    zeros are silence, not signal, so a mostly silent take is judged by its
    signal). Every channel is checked; the middle sample of each jump is
    returned, in order.

    Silence excuses nothing: a hard cut to silence, a start from silence at
    full level, or a block of zeros in a tone is a click. A 10 ms fade (the
    transport's, and the crossfade between sources) is not. What that takes,
    for a tone of amplitude ``a`` and ``w = 2 pi f / rate``: the tone's own
    second difference is ``a w**2``; a cut is a jump of up to ``a`` (at a
    zero crossing, a bend in slope of ``a w``); a 10 ms fade bends the
    envelope by ``a / 480``. So for tones between ~125 Hz and ~950 Hz at
    48 kHz (the tests play 330 Hz to 1 kHz) every cut is seen and every fade
    passes; above, a cut right at a zero crossing may pass; below, a 10 ms
    fade would count.

    An xrun on the dummy driver splices the take at a period boundary (a
    period dropped or repeated) and is a click like any other;
    :meth:`Recorder.record_clean` takes again when the server reported one.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    found: set[int] = set()
    for channel in x.T:
        d2 = np.abs(np.diff(channel, 2))
        sounding = (channel[:-2] != 0) | (channel[1:-1] != 0) | (channel[2:] != 0)
        typical = np.percentile(d2[sounding], 99) if sounding.any() else 0.0
        found.update((np.flatnonzero(d2 > factor * typical + 1e-12) + 1).tolist())
    return sorted(found)

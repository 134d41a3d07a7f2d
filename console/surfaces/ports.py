"""MIDI ports through python-rtmidi, chosen the way mido chooses a backend.

The API (JACK or ALSA) comes from the configuration or from mido's own
``MIDO_BACKEND`` variable (``mido.backends.rtmidi/UNIX_JACK``), parsed by
mido's ``Backend`` so the two always agree. Ports are then driven through
python-rtmidi directly, for reasons measured here:

- Input is *polled* from our own thread, never delivered by an rtmidi
  callback. Under JACK, RtMidi runs the callback inside the JACK process
  thread, which must then take the GIL: with one busy Python thread beside
  it, that made the dummy server report 62 xruns in 3 s; polling made none.
  Polling every millisecond adds at most about a millisecond.
- Undecodable input is counted, not silently dropped (mido's rtmidi
  callback discards what ``Message.from_bytes`` rejects), and SysEx is let in.
- Port lists come from one long-lived client; mido's ``get_input_names``
  opens and closes a new client each call, a JACK client per poll.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable, Sequence

import mido
import rtmidi

from dsp.errors import DeviceError

_ALIASES = {"jack": "UNIX_JACK", "alsa": "LINUX_ALSA"}
_RTMIDI_ERRORS = (rtmidi.RtMidiError, RuntimeError, OSError)
QUEUE_SIZE = 8192
"""rtmidi's input queue (default 1024): deep enough for a flood between two polls."""


def resolve_api(backend: str | None = None) -> tuple[int, str]:
    """The rtmidi API number and a readable backend string for ``backend``.

    ``None`` follows ``MIDO_BACKEND``; ``"auto"`` does too, and without it
    takes JACK when a JACK server runs or the ALSA sequencer is missing, else
    ALSA. Only mido's rtmidi backend is supported.
    """
    text = backend if backend not in (None, "auto") else os.environ.get("MIDO_BACKEND")
    if not text and backend == "auto":
        text = "jack" if jack_running() or not os.path.exists("/dev/snd/seq") else "alsa"
    if text and text.lower() in _ALIASES:
        text = _ALIASES[text.lower()]
    if text and "/" not in text and not text.startswith("mido."):
        text = f"mido.backends.rtmidi/{text}"
    chosen = mido.Backend(text or None, use_environ=False)
    if chosen.name != "mido.backends.rtmidi":
        raise DeviceError(f"MIDI backend {chosen.name!r} is not supported; use "
                          "mido.backends.rtmidi (optionally /UNIX_JACK or /LINUX_ALSA)")
    if not chosen.api:
        return rtmidi.API_UNSPECIFIED, "mido.backends.rtmidi"
    api = getattr(rtmidi, f"API_{chosen.api}", None)
    if api is None or api not in rtmidi.get_compiled_api():
        compiled = ", ".join(rtmidi.get_api_name(a) for a in rtmidi.get_compiled_api())
        raise DeviceError(f"MIDI API {chosen.api!r} is not available; compiled in: {compiled}")
    return api, f"mido.backends.rtmidi/{chosen.api}"


def jack_running() -> bool:
    """Whether a JACK server (``JACK_DEFAULT_SERVER`` or ``default``) is up for this user.

    Looks for jack2's server socket rather than opening a client, which would
    print "Cannot connect to server socket" on stderr when none runs.
    """
    server = os.environ.get("JACK_DEFAULT_SERVER", "default")
    return os.path.exists(f"/dev/shm/jack_{server}_{os.getuid()}_0")


def _device_error(what: str, exc: BaseException) -> DeviceError:
    hint = ""
    if "ALSA" in str(exc) or "sequencer" in str(exc):
        hint = " (no ALSA sequencer here? choose JACK: --midi-backend jack)"
    elif "JACK" in str(exc):
        hint = " (start a JACK server, or choose --midi-backend alsa)"
    return DeviceError(f"{what}: {exc}{hint}")


class InputPort:
    """One open MIDI input: drained by the poller, closed by the watcher."""

    def __init__(self, api: int, client: str, port: str | None, virtual: str | None = None
                 ) -> None:
        self.name = port or f"{client}:{virtual}"
        self._lock = threading.Lock()
        try:
            self._rt = rtmidi.MidiIn(api, name=client, queue_size_limit=QUEUE_SIZE)
            self._rt.ignore_types(sysex=False, timing=True, active_sense=True)
            if virtual is not None:
                self._rt.open_virtual_port(virtual)
            else:
                self._rt.open_port(_index(self._rt.get_ports(), port), "in")
        except _RTMIDI_ERRORS as exc:
            raise _device_error(f"cannot open MIDI input {self.name!r}", exc) from exc
        self.closed = False

    def drain(self, limit: int = 4096) -> list[tuple[list[int], float]]:
        """Every message waiting (up to ``limit``): (byte values, seconds since the previous).

        The deltas are RtMidi's timestamps (JACK's are frame-accurate), so
        messages that arrive together in one JACK period keep their spacing,
        which encoder acceleration needs.
        """
        out: list[tuple[list[int], float]] = []
        with self._lock:
            if self.closed:
                return out
            get = self._rt.get_message
            while len(out) < limit:
                item = get()
                if item is None:
                    break
                out.append(item)
        return out

    def close(self) -> None:
        """Close the port and its client (safe to call twice)."""
        _close(self)


class OutputPort:
    """One open MIDI output; only the feedback scheduler sends on it."""

    def __init__(self, api: int, client: str, port: str | None, virtual: str | None = None
                 ) -> None:
        self.name = port or f"{client}:{virtual}"
        self._lock = threading.Lock()
        try:
            self._rt = rtmidi.MidiOut(api, name=client)
            if virtual is not None:
                self._rt.open_virtual_port(virtual)
            else:
                self._rt.open_port(_index(self._rt.get_ports(), port), "out")
        except _RTMIDI_ERRORS as exc:
            raise _device_error(f"cannot open MIDI output {self.name!r}", exc) from exc
        self.closed = False
        self.errors = 0

    def send(self, data: bytes | Sequence[int]) -> bool:
        """Send one message; False (and counted) if the port refused it."""
        with self._lock:
            if self.closed:
                return False
            try:
                self._rt.send_message(data)
                return True
            except _RTMIDI_ERRORS:
                self.errors += 1
                return False

    def close(self) -> None:
        """Close the port and its client (safe to call twice)."""
        _close(self)


def _close(port: InputPort | OutputPort) -> None:
    """Close an rtmidi port and delete its client once, under the port's lock."""
    with port._lock:
        if port.closed:
            return
        port.closed = True
        try:
            port._rt.close_port()
            port._rt.delete()
        except _RTMIDI_ERRORS:
            pass


def _index(names: list[str], name: str | None) -> int:
    if name not in names:
        raise DeviceError(f"MIDI port {name!r} is gone; present: {', '.join(names) or 'none'}")
    return names.index(name)


class PortLister:
    """Lists MIDI ports through one long-lived client pair."""

    def __init__(self, api: int, client: str) -> None:
        try:
            self._in = rtmidi.MidiIn(api, name=f"{client}-scan")
            self._out = rtmidi.MidiOut(api, name=f"{client}-scan")
        except _RTMIDI_ERRORS as exc:
            raise _device_error("cannot list MIDI ports", exc) from exc
        self._lock = threading.Lock()

    def inputs(self) -> list[str]:
        """Ports we can receive from (device outputs)."""
        with self._lock:
            return list(self._in.get_ports())

    def outputs(self) -> list[str]:
        """Ports we can send to (device inputs)."""
        with self._lock:
            return list(self._out.get_ports())

    def close(self) -> None:
        """Release the listing clients."""
        with self._lock:
            for rt in (self._in, self._out):
                try:
                    rt.delete()
                except _RTMIDI_ERRORS:
                    pass


# matching ---------------------------------------------------------------------
def match_score(port: str, pattern: str) -> int:
    """How well ``pattern`` names ``port``: 0 for no match, higher for more specific.

    As sounddevice matches devices: the pattern's space-separated words must
    each occur in the name, ignoring case. An exact name beats any pattern;
    otherwise the longer pattern wins, so ``x-touch mini`` takes the X-Touch
    Mini from ``x-touch``.
    """
    name, words = port.lower(), pattern.lower().split()
    if not words:
        return 0
    if name == pattern.lower() or _strip_alsa_address(name) == pattern.lower():
        return 10_000
    if all(w in name for w in words):
        return sum(len(w) for w in words)
    return 0


def _strip_alsa_address(name: str) -> str:
    return re.sub(r"\s+\d+:\d+$", "", name)


def best_profile(port: str, patterns: dict[str, Iterable[str]]) -> tuple[str | None, list[str]]:
    """The profile whose patterns name ``port`` best, and any that tie with it."""
    scores = {pid: max((match_score(port, p) for p in pats), default=0)
              for pid, pats in patterns.items()}
    top = max(scores.values(), default=0)
    if top == 0:
        return None, []
    winners = sorted(pid for pid, s in scores.items() if s == top)
    return winners[0], winners[1:]


def pair_output(input_name: str, outputs: Iterable[str], patterns: Iterable[str],
                taken: Callable[[str], bool] = lambda name: False) -> str | None:
    """The output port that belongs to the same device as ``input_name``.

    Candidates must match the profile's output patterns (or share the input's
    name); the one sharing the longest prefix and suffix with the input wins
    (``X:foo`` / ``X-01:foo`` under JACK, identical names under ALSA).
    """
    pats = list(patterns)
    best, best_score = None, -1
    for name in outputs:
        if taken(name):
            continue
        if not (name == input_name or any(match_score(name, p) for p in pats)):
            continue
        score = _common_prefix(name, input_name) + _common_prefix(name[::-1], input_name[::-1])
        if score > best_score:
            best, best_score = name, score
    return best


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def assign_ports(inputs: Iterable[str], patterns: dict[str, Iterable[str]],
                 explicit: dict[str, str], own_prefix: str, autodetect: bool = True
                 ) -> dict[str, tuple[str, list[str]]]:
    """Which profile each input port gets: {port: (profile id, profiles that tied)}.

    Explicit choices (``--surface PROFILE=PORT``) come first; ports of our own
    clients (named with ``own_prefix``) are never bound, so the daemon cannot
    talk to itself.
    """
    out: dict[str, tuple[str, list[str]]] = {}
    for port in inputs:
        if port.lower().startswith(own_prefix.lower()):
            continue
        chosen = [pid for pid, pat in explicit.items() if match_score(port, pat)]
        if chosen:
            out[port] = (chosen[0], chosen[1:])
        elif autodetect:
            best, ties = best_profile(port, patterns)
            if best is not None:
                out[port] = (best, ties)
    return out

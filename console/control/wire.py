"""The control protocol's wire format: framing, the error type, where to connect.

One JSON object per line (``docs/protocol.md``). Both ends import this module:
the server and every client, the thin command-line clients included. So it
imports the standard library only (and :mod:`dsp.errors`, which is stdlib too):
a ``masterdeck status`` starts without numba, numpy or the DSP.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from dsp.errors import MasterdeckError

PROTOCOL = 2
"""Bumped only when a change would break an existing client."""
MAX_LINE_BYTES = 65536
TOPICS = {"meters": 10.0, "params": 30.0, "state": 30.0}
"""Subscription topics and their default rates in events per second."""
RATE_RANGE_HZ = (0.1, 60.0)
SOCKET_NAME = "control.sock"
SOURCES = ("master", "bypass", "reference")
TRANSLATIONS = ("off", "mono", "side", "swap", "phone", "laptop", "earbuds", "car")
"""The translation checks' names, for thin clients (``dsp.translation.NAMES``, without numpy)."""


class ProtocolError(MasterdeckError):
    """An error that travels as ``{"ok": false, "error": {"code", "message"}}``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def as_dict(self) -> dict[str, str]:
        """The ``error`` object of a reply."""
        return {"code": self.code, "message": self.message}


# framing ---------------------------------------------------------------------
def encode(message: dict[str, Any]) -> bytes:
    """One message as a JSON line; non-finite floats become null, numpy scalars plain."""
    try:
        text = json.dumps(message, allow_nan=False, separators=(",", ":"), default=_plain)
    except ValueError:  # a NaN or infinity somewhere: rare, so clean only then
        text = json.dumps(_finite(message), separators=(",", ":"), default=_plain)
    return text.encode() + b"\n"


def decode(line: bytes) -> dict[str, Any]:
    """Parse one line into an object, or raise ``bad_json`` / ``bad_request``."""
    try:
        message = json.loads(line.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError("bad_json", f"not a JSON line: {exc}") from None
    except RecursionError:
        raise ProtocolError("bad_json", "not a JSON line: nested too deeply") from None
    if not isinstance(message, dict):
        raise ProtocolError("bad_request", "a message must be a JSON object, "
                            f"got {type(message).__name__}")
    return message


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):
        return _finite(value.item())
    return value


def default_socket_path() -> Path:
    """Where daemon and clients meet: the configured socket, else the runtime dir's."""
    from console import config  # the one place that knows the XDG locations

    try:
        return config.load().socket_path()
    except MasterdeckError:  # a broken config file: the daemon would not start either
        return config.runtime_dir() / SOCKET_NAME


def parse_hostport(value: str | tuple[str, int]) -> tuple[str, int]:
    """``"HOST:PORT"`` (``"[::1]:PORT"``, or a tuple) as (host, port); no host is loopback."""
    if isinstance(value, tuple):
        return value[0], int(value[1])
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ProtocolError("bad_argument", f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:7357")
    return host.strip("[]") or "127.0.0.1", int(port)



# checks every request needs -------------------------------------------------------
def check_request_id(message: dict[str, Any]) -> Any:
    """The request's ``request_id`` (None if absent); ``bad_request`` if malformed."""
    request_id = message.get("request_id")
    if request_id is None or (isinstance(request_id, int) and not isinstance(request_id, bool)):
        return request_id
    if isinstance(request_id, str) and len(request_id) <= 100:
        return request_id
    raise ProtocolError("bad_request", "request_id must be an integer or a short string")


def check_rate(topic: str, rate_hz: float | None) -> float:
    """The subscription rate to use: the topic's default, or ``rate_hz`` if in range."""
    if topic not in TOPICS:
        raise ProtocolError("bad_argument",
                            f"subscribe: unknown topic {topic!r}; known: {', '.join(TOPICS)}")
    if rate_hz is None:
        return TOPICS[topic]
    low, high = RATE_RANGE_HZ
    if not low <= rate_hz <= high:
        raise ProtocolError("bad_argument", f"rate_hz must be {low:g}..{high:g}, got {rate_hz:g}")
    return float(rate_hz)

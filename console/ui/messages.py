"""Messages from the connection to the app, in one place.

The link (``console.ui.link``) turns protocol traffic into these and posts
them to the app, which updates the model and tells the screens. Meter frames
may replace one another in the app's queue (latest value wins), so a busy UI
skips frames instead of falling behind; parameter and state changes never
replace one another, because each carries different ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from textual.message import Message


@dataclass
class Connected(Message, bubble=False):
    """A connection is up and subscribed: the full picture to start from."""

    where: str
    hello: dict[str, Any]
    status: dict[str, Any]
    values: dict[str, float]
    state: dict[str, Any]


@dataclass
class Disconnected(Message, bubble=False):
    """No connection: the daemon went away, refused us, or was never there."""

    where: str
    problem: str
    retry_s: float


@dataclass
class MetersFrame(Message, bubble=False):
    """One meter snapshot (the ``meters`` event's data)."""

    data: dict[str, Any] = field(default_factory=dict)

    def can_replace(self, message: Message) -> bool:
        """A newer frame makes an unprocessed older one worthless."""
        return isinstance(message, MetersFrame)


@dataclass
class ParamsChanged(Message, bubble=False):
    """Parameters changed (the ``params`` event), and who changed them."""

    values: dict[str, float]
    author: str


@dataclass
class StateChanged(Message, bubble=False):
    """Console state flags changed (the ``state`` event)."""

    values: dict[str, Any]
    author: str


@dataclass
class SurfacesListed(Message, bubble=False):
    """A fresh ``surfaces`` reply, or why there is none."""

    data: dict[str, Any] | None
    problem: str = ""


@dataclass
class SessionListed(Message, bubble=False):
    """A fresh ``session`` reply, or why there is none (no session open)."""

    data: dict[str, Any] | None
    problem: str = ""

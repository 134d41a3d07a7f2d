"""The desk: the control side's single view of the console.

Everything that changes the console goes through one :class:`Desk`: control
surfaces, the control protocol, automation playback and recording, sessions
and snapshots. It writes parameter values into the chain's ``values`` array
(the spine the audio kernels read, through automation), checks every value against the parameter
table, and tells its listeners what changed and who changed it, so a surface
can light an LED for a change made in the UI, and never echo a change back to
the control that made it.

Actions (play, stop, bypass, next song, ...) are named; the component that can
do one registers a handler for it (the engine registers transport, the
session registers song changes), and the desk dispatches by name.

Thread-safe: MIDI, the protocol server and automation call in from their own
threads. Listeners are called after the lock is released, on the caller's
thread; they must be quick and must not block.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from dsp import params as P
from dsp.errors import MasterdeckError, ParameterError

ParamListener = Callable[[dict[str, float], str], None]
"""Called with ({id: value} that changed, author) after every change."""
StateListener = Callable[[str, Any, str], None]
"""Called with (key, value, author) when a console state flag changes."""
TouchListener = Callable[[str, bool, str], None]
"""Called with (parameter id, touched, author) when a control with touch sense is
touched or released (a Mackie fader); automation uses it for touch and latch."""
ActionHandler = Callable[..., Any]

ACTIONS = (
    "play", "stop", "toggle_play", "locate", "loop", "next_song", "previous_song",
    "bypass", "reference", "translate", "snapshot_recall", "snapshot_store", "automation_mode",
    "bank", "page", "shift", "undo", "redo", "album_mode", "join", "album_page", "song_level",
    "marker",
)
"""Every action a surface binding or a protocol client may name."""

SNAPSHOT_SLOTS = ("A", "B", "C", "D")


class ActionError(MasterdeckError):
    """An action that is unknown, or that nothing on this console can do now."""


class Desk:
    """The control-side model: parameter values, console state, actions.

    Parameters
    ----------
    values : ndarray, shape (params.COUNT,), optional
        The chain's values array to write into. Without one the desk keeps
        its own (offline tools and tests).
    """

    def __init__(self, values: np.ndarray | None = None) -> None:
        self._values = P.defaults() if values is None else values
        self._lock = threading.RLock()
        self._param_listeners: list[ParamListener] = []
        self._state_listeners: list[StateListener] = []
        self._touch_listeners: list[TouchListener] = []
        self._actions: dict[str, ActionHandler] = {}
        self._state: dict[str, Any] = {"snapshot": None, "bypass": False, "reference": False}
        self.snapshots: dict[str, dict[str, float]] = {}
        self.register_action("snapshot_store", self.store_snapshot)
        self.register_action("snapshot_recall", self.recall_snapshot)

    # parameters ----------------------------------------------------------
    def get(self, param_id: str) -> float:
        """The current value of a parameter (the value it is heading to)."""
        return float(self._values[P.index(param_id)])

    def values(self) -> dict[str, float]:
        """Every parameter's value, by id."""
        with self._lock:
            return {p.id: float(v) for p, v in zip(P.PARAMS, self._values, strict=True)}

    def set(self, param_id: str, value: float, author: str = "") -> float:
        """Set one parameter (checked); return the value set."""
        return self.set_many({param_id: value}, author)[param_id]

    def set_many(self, values: Mapping[str, float], author: str = "") -> dict[str, float]:
        """Set several parameters at once, all or none; notify listeners once."""
        checked = {P.get(k).id: P.get(k).check(v) for k, v in values.items()}
        changed: dict[str, float] = {}
        with self._lock:
            for param_id, value in checked.items():
                i = P.index(param_id)
                if self._values[i] != value:
                    self._values[i] = value
                    changed[param_id] = value
            listeners = list(self._param_listeners)
        if changed:
            for listener in listeners:
                listener(changed, author)
        return checked

    def nudge(self, param_id: str, normal_delta: float, author: str = "") -> float:
        """Move a parameter by a fraction of its knob travel (relative encoders)."""
        p = P.get(param_id)
        with self._lock:  # read and write under one lock, but tell listeners after it
            value = p.from_normal(p.to_normal(self.get(param_id)) + normal_delta)
            i = P.index(param_id)
            changed = self._values[i] != value
            self._values[i] = value
            listeners = list(self._param_listeners) if changed else []
        for listener in listeners:
            listener({p.id: value}, author)
        return value

    def on_params(self, listener: ParamListener) -> Callable[[], None]:
        """Add a parameter listener; return a function that removes it."""
        with self._lock:
            self._param_listeners.append(listener)
        return lambda: self._remove(self._param_listeners, listener)

    def touch(self, param_id: str, touched: bool, author: str = "") -> None:
        """A control with touch sense was touched or released (Mackie fader touch)."""
        param_id = P.get(param_id).id
        with self._lock:
            listeners = list(self._touch_listeners)
        for listener in listeners:
            listener(param_id, bool(touched), author)

    def on_touch(self, listener: TouchListener) -> Callable[[], None]:
        """Add a touch listener; return a function that removes it."""
        with self._lock:
            self._touch_listeners.append(listener)
        return lambda: self._remove(self._touch_listeners, listener)

    # console state -------------------------------------------------------
    def state(self) -> dict[str, Any]:
        """Console state flags (transport, bypass, reference, snapshot, ...)."""
        with self._lock:
            return dict(self._state)

    def set_state(self, key: str, value: Any, author: str = "") -> None:
        """Record a state flag (called by the component that owns it)."""
        with self._lock:
            if self._state.get(key) == value:
                return
            self._state[key] = value
            listeners = list(self._state_listeners)
        for listener in listeners:
            listener(key, value, author)

    def on_state(self, listener: StateListener) -> Callable[[], None]:
        """Add a state listener; return a function that removes it."""
        with self._lock:
            self._state_listeners.append(listener)
        return lambda: self._remove(self._state_listeners, listener)

    # actions -------------------------------------------------------------
    def register_action(self, name: str, handler: ActionHandler) -> None:
        """Make ``name`` do ``handler(**args)``; the last registration wins."""
        if name not in ACTIONS:
            raise ActionError(f"unknown action {name!r}; known: {', '.join(ACTIONS)}")
        with self._lock:
            self._actions[name] = handler

    def perform(self, name: str, author: str = "", **args: Any) -> Any:
        """Do an action by name."""
        with self._lock:
            handler = self._actions.get(name)
        if handler is None:
            if name in ACTIONS:
                raise ActionError(f"action {name!r} is not available on this console")
            raise ActionError(f"unknown action {name!r}; known: {', '.join(ACTIONS)}")
        try:
            return handler(author=author, **args)
        except TypeError as exc:
            raise ActionError(f"action {name!r}: {exc}") from None

    # snapshots -----------------------------------------------------------
    def store_snapshot(self, slot: str, author: str = "") -> None:
        """Store every parameter's value in snapshot ``slot`` (A..D)."""
        slot = _slot(slot)
        with self._lock:
            self.snapshots[slot] = self.values()
        self.set_state("snapshot", slot, author)

    def recall_snapshot(self, slot: str, author: str = "") -> None:
        """Recall snapshot ``slot``: every parameter glides to its stored value."""
        slot = _slot(slot)
        with self._lock:
            stored = self.snapshots.get(slot)
        if stored is None:
            raise ActionError(f"snapshot {slot} is empty; store it first")
        self.set_many(stored, author)
        self.set_state("snapshot", slot, author)

    def _remove(self, listeners: list, listener: object) -> None:
        with self._lock:
            if listener in listeners:
                listeners.remove(listener)


def _slot(slot: str) -> str:
    name = str(slot).upper()
    if name not in SNAPSHOT_SLOTS:
        raise ParameterError(f"snapshot slot {slot!r}: use one of {', '.join(SNAPSHOT_SLOTS)}")
    return name

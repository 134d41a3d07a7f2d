"""When a control counts as touched: touch sense where the surface has it, else activity.

A Mackie Control fader reports touch and release (note 0x68 + strip); that
wins whenever it is there. Knobs, encoders and faders without touch sense only
send moves, so a control counts as touched from its first move until
``timeout_s`` after its last one (Pro Tools' "touch timeout"). The tracker
is fed with explicit times so the rule can be tested without waiting.
"""

from __future__ import annotations

import threading

TOUCH_TIMEOUT_S = 0.5
"""Default time a control without touch sense stays touched after its last move."""


class TouchTracker:
    """Touch state per parameter id, from touch sense and from moves."""

    def __init__(self, timeout_s: float = TOUCH_TIMEOUT_S) -> None:
        if not 0.0 < timeout_s <= 10.0:
            raise ValueError(f"touch timeout {timeout_s:g} s: use 0..10 s")
        self.timeout_s = float(timeout_s)
        self._held: set[str] = set()
        self._last_move: dict[str, float] = {}
        self._lock = threading.Lock()

    def move(self, param_id: str, now: float) -> None:
        """A control moved ``param_id`` at ``now`` (seconds, monotonic)."""
        with self._lock:
            self._last_move[param_id] = now

    def touch(self, param_id: str, touched: bool, now: float) -> None:
        """Touch sense: the control was touched (True) or released (False)."""
        with self._lock:
            if touched:
                self._held.add(param_id)
                self._last_move[param_id] = now
            else:
                self._held.discard(param_id)
                self._last_move.pop(param_id, None)  # a release ends the touch at once

    def held(self, param_id: str) -> bool:
        """Whether touch sense reports ``param_id``'s control held now."""
        with self._lock:
            return param_id in self._held

    def touched(self, param_id: str, now: float) -> bool:
        """Whether ``param_id`` counts as touched at ``now``."""
        with self._lock:
            if param_id in self._held:
                return True
            last = self._last_move.get(param_id)
            return last is not None and now - last < self.timeout_s

    def release_all(self) -> None:
        """Forget every touch (the transport stopped, the song changed)."""
        with self._lock:
            self._held.clear()
            self._last_move.clear()

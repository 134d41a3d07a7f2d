"""Undo and redo: parameter moves, level-plan changes, snapshot recalls, automation passes.

An entry holds the values (or lanes) before and after, never a diff to replay,
so undoing is setting the "before" side and redoing the "after" side, however
the console got there. A knob turn arrives as hundreds of small changes; they
are gathered into one entry while the same author keeps moving the same
parameters with pauses shorter than :data:`GESTURE_GAP_S`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

GESTURE_GAP_S = 1.0
"""A pause longer than this between moves starts a new undo step."""
DEPTH = 500
"""Undo steps kept."""


@dataclass
class Entry:
    """One undoable step.

    ``kind`` is ``params`` (before/after: {param id: value}), ``plan`` (a
    song's place in the level plan: {field: value}, level offset, gap,
    crossfade, fades), ``snapshot`` (the same as ``params``, for a recall)
    or ``pass`` (before/after: {param id: Lane}).
    """

    kind: str
    song: str
    label: str
    before: dict[str, Any]
    after: dict[str, Any]
    author: str = ""
    time: float = 0.0
    open: bool = field(default=True, repr=False)
    """Still gathering moves of one gesture."""

    def describe(self) -> dict[str, Any]:
        """Plain data for the protocol."""
        return {"kind": self.kind, "song": self.song, "label": self.label,
                "params": sorted(self.after)}


class UndoHistory:
    """Two stacks; a new step clears the redo side."""

    def __init__(self, depth: int = DEPTH) -> None:
        self.depth = depth
        self._undo: list[Entry] = []
        self._redo: list[Entry] = []

    def record_params(self, song: str, before: dict[str, float], after: dict[str, float],
                      author: str, now: float, kind: str = "params") -> None:
        """Note parameter (or ``plan``) changes; merged into the open gesture that they continue."""
        top = self._undo[-1] if self._undo else None
        if (top is not None and top.open and top.kind == kind and top.song == song
                and top.author == author and now - top.time <= GESTURE_GAP_S):
            for key, value in before.items():
                top.before.setdefault(key, value)
            top.after.update(after)
            top.time = now
            top.label = _label(top.after)
            return
        self.push(Entry(kind, song, _label(after), dict(before), dict(after), author, now))

    def push(self, entry: Entry) -> None:
        """Add a step (and close the previous one)."""
        if self._undo:
            self._undo[-1].open = False
        self._undo.append(entry)
        del self._undo[:-self.depth]
        self._redo.clear()

    def undo(self) -> Entry | None:
        """Take the newest step off (to apply its ``before``); None if there is none."""
        if not self._undo:
            return None
        entry = self._undo.pop()
        entry.open = False
        self._redo.append(entry)
        return entry

    def redo(self) -> Entry | None:
        """Take back the step last undone (to apply its ``after``)."""
        if not self._redo:
            return None
        entry = self._redo.pop()
        self._undo.append(entry)
        return entry

    def describe(self) -> dict[str, Any]:
        """What undo and redo would do next."""
        return {"undo": self._undo[-1].describe() if self._undo else None,
                "redo": self._redo[-1].describe() if self._redo else None,
                "depth": len(self._undo)}


def _label(values: dict[str, Any]) -> str:
    names = sorted(values)
    return ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")

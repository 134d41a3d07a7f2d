"""Undo and redo, snapshots, and automation edits of a live session.

Kept apart from :mod:`console.session.controller` (which it is mixed into):
this is the part that decides what one undo step is. A snapshot recall is
one step; a knob turn is one step (see :mod:`console.session.undo`); every
lane written while the transport rolled from play to stop is one step, as is
a lane replaced by a client.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from console.automation.lanes import Lane, check_points
from console.automation.modes import MODES
from console.session.errors import SessionError
from console.session.undo import Entry
from dsp import params as P

if TYPE_CHECKING:
    import threading

    from console.automation.runner import AutomationRunner
    from console.control.desk import Desk
    from console.session.album_mode import AlbumMode
    from console.session.model import Session, Song
    from console.session.undo import UndoHistory


class Editing:
    """Snapshot, automation and undo methods of :class:`SessionController`."""

    session: Session
    desk: Desk
    history: UndoHistory
    runner: AutomationRunner
    album: AlbumMode
    _lock: threading.RLock
    _local: threading.local

    def change(self, op: dict[str, Any], urgent: bool = True) -> None:  # pragma: no cover
        """Apply and journal an operation (the controller's)."""
        raise NotImplementedError

    def _need_song(self) -> Song:  # pragma: no cover
        raise NotImplementedError

    def _apply_automation_settings(self) -> None:  # pragma: no cover
        raise NotImplementedError

    def store_snapshot(self, slot: str, author: str = "") -> None:
        """Store the desk in snapshot ``slot`` of the current song."""
        song = self._need_song()
        before = self.desk.snapshots.get(slot.upper())
        self.desk.store_snapshot(slot, author)
        try:
            self.change({"op": "snapshot", "id": song.id, "slot": slot,
                         "values": self.desk.snapshots[slot.upper()]})
        except SessionError:  # not taken (a full disk): the desk keeps the slot it had
            if before is None:
                self.desk.snapshots.pop(slot.upper(), None)
            else:
                self.desk.snapshots[slot.upper()] = before
            raise

    def recall_snapshot(self, slot: str, author: str = "") -> None:
        """Recall snapshot ``slot``: every parameter glides there, as one undo step."""
        song = self._need_song()
        before = self.desk.values()
        self._local.quiet = True
        try:
            self.desk.recall_snapshot(slot, author)
        finally:
            self._local.quiet = False
        after = self.desk.values()
        moved = [k for k in after if after[k] != before[k]]
        if moved:
            with self._lock:
                self.history.push(Entry("snapshot", song.id, f"snapshot {slot.upper()} recall",
                                        {k: before[k] for k in moved},
                                        {k: after[k] for k in moved}, author, time.monotonic()))

    def set_automation_mode(self, mode: str | None = None, param: str | None = None,
                            author: str = "", **settings: float) -> str:
        """Set the global mode, or one lane's (``param``); no mode cycles to the next one.

        ``mode="global"`` for a lane makes it follow the global mode again.
        ``touch_timeout_ms`` and ``thinning_factor`` may be set alongside.
        """
        if param is None:
            current = self.session.automation_mode
            mode = mode or MODES[(MODES.index(current) + 1) % len(MODES)]
            self.change({"op": "automation", "mode": mode, **settings})
            self._apply_automation_settings()
            self.desk.set_state("automation_mode", mode, author)
            return mode
        song = self._need_song()
        lane = song.automation.lane(param)
        if mode is None:
            mode = MODES[(MODES.index(lane.mode or self.session.automation_mode) + 1)
                         % len(MODES)]
        self.change({"op": "lane", "id": song.id, "param": lane.param,
                     "points": [list(p) for p in lane.points],
                     "mode": None if mode == "global" else mode})
        return mode

    def set_lane(self, param: str, points: list[list[float]], mode: str | None = None,
                 song_id: str | None = None) -> dict[str, Any]:
        """Replace a lane's points (an edit from a client; one undo step)."""
        song = self.session.song(song_id) if song_id else self._need_song()
        param_id = P.get(param).id
        try:
            clean = check_points(param_id, [tuple(p) for p in points])
        except ValueError as exc:
            raise SessionError(str(exc)) from None
        before = song.automation.lane(param_id)
        after = Lane(param_id, clean, mode if mode is not None else before.mode)
        self._on_commit(song.id, {param_id: after})
        self.runner.reload(song.id)
        self._on_pass(song.id, {param_id: before}, {param_id: after})
        return {"param": param_id, "points": len(clean)}

    def _on_commit(self, song_id: str, lanes: dict[str, Lane]) -> None:
        for lane in lanes.values():
            self.change({"op": "lane", "id": song_id, "param": lane.param,
                         "points": [list(p) for p in lane.points], "mode": lane.mode})

    def _on_pass(self, song_id: str, before: dict[str, Lane], after: dict[str, Lane]) -> None:
        changed = {k for k in after if after[k] != before.get(k)}
        if not changed:
            return
        with self._lock:
            self.history.push(Entry("pass", song_id, "automation pass: " + ", ".join(
                sorted(changed)), {k: before[k] for k in changed},
                {k: after[k] for k in changed}, "automation", time.monotonic()))

    # undo -------------------------------------------------------------------------------------
    def undo(self, author: str = "") -> dict[str, Any] | None:
        """Undo the newest step (moves, a level-plan change, recall or automation pass)."""
        with self._lock:
            entry = self.history.undo()
        if entry is not None:
            self._restore(entry, entry.before)
        return entry.describe() if entry else None

    def redo(self, author: str = "") -> dict[str, Any] | None:
        """Redo the step last undone."""
        with self._lock:
            entry = self.history.redo()
        if entry is not None:
            self._restore(entry, entry.after)
        return entry.describe() if entry else None

    def _restore(self, entry: Entry, side: dict[str, Any]) -> None:
        if entry.kind == "plan":
            self.set_song(entry.song, undoable=False, **side)
        elif entry.kind == "pass":
            self._on_commit(entry.song, side)
            self.runner.reload(entry.song)
        elif entry.song == self.session.current:
            self.desk.set_many(side, "undo")
        else:
            self.change({"op": "params", "id": entry.song, "values": side})
            if self.album.on:  # the song plays from its own arrays: build them anew
                self.album.relayout()


"""A session driving a running console: the album model, the journal, the engine, undo.

:class:`SessionController` opens a session folder (:mod:`console.session.store`),
replays its journal, loads the current song with its settings and automation,
and from then on turns everything that changes the album into an operation:
applied to the model, appended to the journal, and (for parameter moves,
snapshot recalls and automation passes) recorded for undo. It registers the
desk actions that belong to a session: ``next_song``, ``previous_song``,
``automation_mode``, ``undo``, ``redo``, and wraps the snapshot actions so
snapshots are saved with their song and a recall is one undo step.

Locking: ``_lock`` guards the model and the journal and is held only for
quick work; ``_switch_lock`` serialises song changes (which wait for the audio
to fade). The desk, the engine and the runner are never called under ``_lock``.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from console.automation.runner import AutomationRunner
from console.session import journal as jn
from console.session import plan_actions
from console.session.album_mode import LAYOUT_FIELDS, AlbumMode
from console.session.arc import ArcWatcher
from console.session.editing import Editing
from console.session.errors import SessionError
from console.session.model import Session, Song
from console.session.preview import PlatformPreview
from console.session.store import KEEP_BACKUPS, Loaded, SessionStore
from console.session.undo import UndoHistory
from dsp import params as P

if TYPE_CHECKING:
    from console.engine.stream import Engine
    from console.engine.tracks import Track

log = logging.getLogger(__name__)
QUIET_AUTHORS = ("automation", "session")
_ALBUM_OPS = {"album", "song_add", "song_move", "song_remove", "song_set", "current", "lane",
              "automation", "ref_add", "ref_remove", "ref_current"}
"""Desk changes that are not edits: playback following lanes, a song's settings loading."""
PLAN_FIELDS = ("level_offset_db", "gap_s", "crossfade_s", "fade_in_s", "fade_out_s")
"""Song fields that make the album's level plan (undoable)."""
_ARC_OPS = {"song_add", "song_move", "song_remove", "song_set", "params", "lane", "automation"}
"""Operations that change what the album will sound like: the arc is measured again."""


class SessionController(Editing):
    """One open session on one engine."""

    def __init__(self, folder: str | Path, engine: Engine, keep_backups: int = KEEP_BACKUPS,
                 journal_interval_s: float = jn.FLUSH_INTERVAL_S) -> None:
        self.store = SessionStore(folder, keep_backups)
        self.folder = self.store.folder
        self.engine = engine
        self.desk = engine.desk
        self.journal_interval_s = journal_interval_s
        self.session = Session()
        self.history = UndoHistory()
        self.loaded: Loaded | None = None
        self.journal: jn.Journal | None = None
        self.runner = AutomationRunner(engine, self._on_commit, self._on_pass)
        self.arc = ArcWatcher(self.folder, self._snapshot, self._on_arc)
        self.preview = PlatformPreview(engine, self.desk)
        self.album = AlbumMode(self)
        self.last_save: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self._switch_lock = threading.RLock()
        self._save_lock = threading.Lock()
        self._closing = False
        """Set once close() begins: changes after it are refused, not silently dropped."""
        self._local = threading.local()
        self._unsubscribe: list[Any] = []

    # opening and closing ---------------------------------------------------------------
    def open(self) -> Loaded:
        """Load (or create) the session, replay its journal, load the current song."""
        loaded = self.store.load(sample_rate=self.engine.sample_rate)
        self.loaded = loaded
        self.session = loaded.session
        for problem in loaded.problems:
            log.error("session: %s", problem)
        if self.store.broken is not None:
            log.error("session: started from %s; %s is left as it is until it is fixed "
                      "(saves go to backups/ meanwhile)", loaded.loaded_from,
                      self.store.broken.path)
        if self.session.sample_rate != self.engine.sample_rate:
            log.warning("session: written at %d Hz, the console runs at %d Hz; automation "
                        "positions are in the session's samples", self.session.sample_rate,
                        self.engine.sample_rate)
        # go on in the newest journal: one a failed save left newer than session.toml
        # replays after the older ones, so nothing may be written behind it
        generation = max([self.session.generation, *(g for g, _ in jn.journals(self.folder))])
        self.journal = jn.Journal(jn.journal_path(self.folder, generation), generation,
                                  self.journal_interval_s, self._on_journal)
        if loaded.loaded_from == "new":
            self.save()  # the first session.toml: without it the journal has nothing to extend
        elif loaded.replayed:
            try:
                self.save()  # one clean save to build on: the journals replayed are in it
            except SessionError as exc:  # a full disk: they stay on disk, and the next save
                log.error("session: %s; starting anyway", exc)  # (asked, or at stop) has them
        self._apply_automation_settings()
        self._unsubscribe = [self.desk.on_params(self._on_params)]
        self._register_actions()
        self.runner.start()
        self.publish()
        self.arc.changed()  # the first arc, once the daemon has settled
        song = self.session.current_song()
        if song is not None:
            self._hear_current(song)  # a missing audio file must not keep the album shut
        ref = self.session.reference
        if ref is not None:
            try:
                self.select_reference(ref)
            except Exception as exc:
                log.error("session: cannot load reference %s: %s", ref, exc)
        log.info("session %s open (%s, generation %d, %d operations replayed)", self.folder,
                 loaded.loaded_from, self.session.generation, loaded.replayed)
        return loaded

    def close(self, save: bool = True) -> None:
        """Finish passes, save (unless told not to), stop the journal, unlock the folder."""
        self.arc.close()
        self.album.close()
        self.runner.stop()  # its last passes are changes like any other
        with self._lock:  # from here every change is refused, so none is taken and then lost
            self._closing = True
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        if save and self.journal is not None:
            try:
                self.save()
            except Exception as exc:
                if self.journal.failure is None and not self.journal.waiting:
                    log.error("session: the save at close failed (%s); the journal has every "
                              "change", exc)
                else:
                    log.error("session: the save at close failed (%s), and %d changes are not "
                              "in the journal either: %s", exc, self.journal.waiting,
                              self.journal.failure)
        if self.journal is not None:
            self.journal.close()
            self.journal = None
        self.store.close()

    # the one path for changes ------------------------------------------------------------
    def change(self, op: dict[str, Any], urgent: bool = True) -> None:
        """Apply an operation to the model and journal it (structural ones are written now)."""
        with self._lock:
            self._refuse_when_closing()
            before = _copy(self.session) if urgent and self.journal is not None else None
            self.session.apply(op)
            if self.journal is not None:
                try:
                    self.journal.append(op, urgent)
                except jn.JournalError as exc:  # not on disk: not taken
                    assert before is not None
                    self.session.__dict__.update(before.__dict__)
                    raise SessionError(f"the change was not taken: {exc}") from None
        if op["op"] in _ALBUM_OPS:
            self.publish()
        if op["op"] in _ARC_OPS:
            self.arc.changed()

    def _on_journal(self, failure: str | None) -> None:
        """Tell clients, the UI and the surfaces whether every change is on disk."""
        self.desk.set_state("disk", {"ok": failure is None, "problem": failure})
        if failure is not None:
            log.error("session: changes cannot be written (%s); they wait in memory", failure)

    def _refuse_when_closing(self) -> None:
        if self._closing:
            raise SessionError("the session is closing (the daemon is stopping): this change "
                               "was not taken")

    def _on_arc(self, arc: dict[str, Any]) -> None:
        self.desk.set_state("album_arc", arc)
        self.preview.update(arc, self.session.current)

    def set_preview(self, platform: str, album: bool = False,
                    reference_lufs: float | None = None) -> dict[str, Any]:
        """Hear the master as ``platform`` would play it (``off`` to stop); the state."""
        self.preview.choose(platform, album, reference_lufs)
        return self.preview.update(self.arc.arc, self.session.current)

    def _snapshot(self) -> Session:
        """A copy of the album as it is now, for the arc's worker."""
        with self._lock:
            return _copy(self.session)

    def publish(self) -> None:
        """Tell desk listeners the album and the current song's lanes.

        State keys ``album`` and ``automation`` (lanes with points in seconds),
        for surfaces, protocol ``state`` subscribers and the UI.
        """
        s = self.session
        self.desk.set_state("automation_mode", s.automation_mode)  # LEDs of mode buttons
        self.desk.set_state("album", {
            "title": s.title, "current": s.current, "reference": s.reference,
            "songs": [{"id": x.id, "title": x.title, "level_offset_db": x.level_offset_db}
                      for x in s.songs],
            "automation_mode": s.automation_mode})
        song = s.current_song()
        rate = float(s.sample_rate)
        lanes = {} if song is None else {
            k: {"mode": lane.mode or s.automation_mode, "own_mode": lane.mode,
                "points": [[t / rate, v] for t, v in lane.points]}
            for k, lane in song.automation.lanes.items()}
        self.desk.set_state("automation", lanes)

    def save(self, force: bool = False) -> dict[str, Any]:
        """Save now: backup, automation files, session.toml (atomically), journal rotated.

        One save at a time (the one at shutdown and a client's may meet).
        """
        with self._save_lock:
            try:
                return self._save(force)
            except OSError as exc:  # a full disk, say: refused with what still holds the changes
                journal = self.journal
                kept = ("every change is in the journal" if journal is None or
                        (journal.failure is None and not journal.waiting) else
                        f"{journal.waiting} changes wait in memory for room on the disk")
                raise SessionError(f"the session was not saved ({exc.strerror or exc}); "
                                   f"{kept}") from None

    def _save(self, force: bool) -> dict[str, Any]:
        with self._lock:
            snapshot = _copy(self.session)
            generation = self.store.next_generation(self.session)
            if self.journal is not None:
                self.journal.rotate(jn.journal_path(self.folder, generation), generation)
        report = self.store.save(snapshot, generation, force)
        with self._lock:
            self.session.generation = generation
        self.store.drop_journals_before(generation)
        self.last_save = report
        log.info("session saved: generation %d in %.1f ms%s", generation,
                 report["seconds"] * 1000,
                 f" (only to {report['backup']}: {report['broken_file']} is broken)"
                 if report["broken_file"] else "")
        return report

    # desk ---------------------------------------------------------------------------------
    def _on_params(self, changes: dict[str, float], author: str) -> None:
        if author in QUIET_AUTHORS:
            return
        song = self.session.current_song()
        if song is None:
            return
        writing = set(self.runner.writing())
        with self._lock:
            self._refuse_when_closing()
            before = {k: song.settings.get(k, P.get(k).default) for k in changes}
            op = {"op": "params", "id": song.id, "values": dict(changes)}
            self.session.apply(op)
            if self.journal is not None:
                self.journal.append(op)
            edits = {k: v for k, v in changes.items() if k not in writing}
            if author != "undo" and edits and not getattr(self._local, "quiet", False):
                self.history.record_params(song.id, {k: before[k] for k in edits}, edits,
                                           author, time.monotonic())

    def _register_actions(self) -> None:
        desk = self.desk
        desk.register_action("next_song", lambda author="": self.step_song(1, author))
        desk.register_action("previous_song", lambda author="": self.step_song(-1, author))
        desk.register_action("undo", lambda author="": self.undo(author))
        desk.register_action("redo", lambda author="": self.redo(author))
        desk.register_action("automation_mode", self.set_automation_mode)
        desk.register_action("album_mode", lambda on=None, author="": self.set_album_mode(
            not self.album.on if on is None else bool(on)))
        desk.register_action("join", lambda number=None, loop=False, author="":
                             self.album.join(number, loop))
        desk.register_action("snapshot_store", self.store_snapshot)
        desk.register_action("snapshot_recall", self.recall_snapshot)
        plan_actions.register(self)  # song_level and marker, for surfaces

    # songs ----------------------------------------------------------------------------------
    def audio_path(self, file: str) -> Path:
        """A song or reference file as an absolute path (stored relative to the folder)."""
        path = Path(file)
        return path if path.is_absolute() else self.folder / path

    def relative(self, path: str | Path) -> str:
        """How a file is written in session.toml: relative to the session folder."""
        full = Path(path)
        if not full.is_absolute():
            full = self.folder / full
        if not full.is_file():
            raise SessionError(f"{full}: no such audio file")
        return os.path.relpath(full, self.folder)

    def add_song(self, path: str, title: str | None = None, index: int | None = None
                 ) -> dict[str, Any]:
        """Add a song to the album (at ``index``, default the end); the first becomes current."""
        file = self.relative(path)
        name = title or Path(path).stem
        had_current = self.session.current is not None
        with self._lock:
            song_id = self.session.new_id(name, [s.id for s in self.session.songs])
            self.change({"op": "song_add", "song": {"id": song_id, "title": name, "file": file},
                         "index": index})
        warning = None
        if self.album.on:
            self.album.relayout()
        elif not had_current:
            warning = self._hear_current(self.session.song(song_id))
        return {**self.describe_song(self.session.song(song_id)),
                **({"warning": warning} if warning else {})}

    def move_song(self, song_id: str, index: int) -> None:
        """Move a song to ``index`` (0 is the opener)."""
        self.change({"op": "song_move", "id": song_id, "index": index})
        if self.album.on:
            self.album.relayout()

    def remove_song(self, song_id: str) -> str | None:
        """Take a song off the album (its settings and automation go with it).

        Returns a warning when the song that becomes current cannot be heard.
        """
        was_current = self.session.current == song_id
        self.change({"op": "song_remove", "id": song_id})
        song = self.session.current_song()
        if self.album.on:
            self.album.relayout()
        elif was_current and song is not None:
            return self._hear_current(song)
        return None

    def _hear_current(self, song: Song) -> str | None:
        """Load the song a change already taken made current; return why it cannot play.

        A file that will not decode is logged and returned, not raised: the
        change stands (as at start-up, a missing file does not shut the album),
        and an error would tell the client it was not taken. The song's
        settings and snapshots still go on the desk, with the transport
        stopped: knob moves are then saved against the values the song has,
        never against the song heard before it.
        """
        try:
            self._load(song)
        except Exception as exc:
            self.engine.halt()
            with self._switch_lock:
                self._take_settings(song, 0)
            log.error("session: song %s is current, but its audio cannot be loaded: %s",
                      song.id, exc)
            return f"song {song.id} is current, but its audio cannot be loaded: {exc}"
        return None

    def set_song(self, song_id: str, author: str = "", undoable: bool = True,
                 **fields: Any) -> None:
        """Change a song's title, file, level offset, gap, crossfade or fades.

        A change to the level plan (:data:`PLAN_FIELDS`) is an undo step (a
        ride of one author's changes to one song is one step).
        """
        if "file" in fields:
            fields["file"] = self.relative(fields["file"])
        song = self.session.song(song_id)
        new_audio = "file" in fields and song.id == self.session.current and not self.album.on
        if new_audio:  # heard before it is taken: a file that will not play is refused unchanged
            self._load(dataclasses.replace(song, file=fields["file"]))
        with self._lock:
            before = {k: getattr(song, k) for k in fields if k in PLAN_FIELDS}
        try:
            self.change({"op": "song_set", "id": song_id, "fields": fields})
        except SessionError:
            if new_audio:  # not taken (a full disk): the old file plays again
                self._load(song)
            raise
        song = self.session.song(song_id)
        if before and undoable:
            with self._lock:
                self.history.record_params(song.id, before,
                                           {k: getattr(song, k) for k in before},
                                           author, time.monotonic(), kind="plan")
        if song.id == self.session.current:
            self.runner.set_bias(song.level_offset_db, song.fade_in_s, song.fade_out_s)
        if self.album.on:
            if any(k in LAYOUT_FIELDS for k in fields):
                self.album.relayout()
            else:
                self.album.plan_changed(song.id)

    def select_song(self, song_id: str, author: str = "") -> dict[str, Any]:
        """Make a song current: audio, settings and automation load with it, click-free."""
        song = self.session.song(song_id)
        if self.album.on:  # the album plays on from the song's start; the follower takes it
            self.album.go_to(song.id)
            return self.describe_song(song)
        previous = self.session.current_song()
        self._load(song)
        try:
            self.change({"op": "current", "id": song.id})
        except SessionError:  # not taken (a full disk): hear what the session says is current
            if previous is not None and previous.id != song.id:
                try:
                    self._load(previous)
                except Exception as exc:
                    log.error("session: cannot load song %s back: %s", previous.id, exc)
            raise
        self.desk.set_state("session_song", song.id, author)
        if self.preview.platform is not None:
            self.preview.update(self.arc.arc, song.id)
        return self.describe_song(song)

    def step_song(self, delta: int, author: str = "") -> dict[str, Any]:
        """Go to the next (1) or previous (-1) song of the album."""
        songs = self.session.songs
        if not songs:
            raise SessionError("the album has no songs yet")
        if self.album.on:
            return self.describe_song(self.session.song(self.album.step(delta)))
        ids = [s.id for s in songs]
        at = ids.index(self.session.current) if self.session.current in ids else 0
        return self.select_song(ids[min(max(at + delta, 0), len(ids) - 1)], author)

    def set_album_mode(self, on: bool) -> dict[str, Any]:
        """Play the album timeline (on) or one song at a time (off)."""
        return self.album.enter() if on else self.album.leave()

    def _load(self, song: Song) -> Track:
        with self._switch_lock:
            return self.engine.load_song(str(self.audio_path(song.file)), song.title,
                                         lambda track: self._take_settings(song, track.frames))

    def _take_settings(self, song: Song, frames: int) -> None:
        """Put a song's settings, snapshots and automation on the desk (with the song silent)."""
        self.desk.set_many(song.values(), "session")
        self.desk.snapshots = {k: dict(v) for k, v in song.snapshots.items()}
        self.runner.set_song(song.id, song.automation, song.level_offset_db,
                             song.fade_in_s, song.fade_out_s, frames)

    def _need_song(self) -> Song:
        song = self.session.current_song()
        if song is None:
            raise SessionError("no song is loaded; add one first")
        return song

    # references and markers ------------------------------------------------------------------
    def add_reference(self, path: str, title: str | None = None) -> str:
        """Add a reference track; return its id."""
        file = self.relative(path)
        name = title or Path(path).stem
        with self._lock:
            ref_id = self.session.new_id(name, [r.id for r in self.session.references])
            self.change({"op": "ref_add", "ref": {"id": ref_id, "title": name, "file": file}})
        return ref_id

    def remove_reference(self, ref_id: str) -> None:
        """Take a reference track off the session."""
        self.change({"op": "ref_remove", "id": ref_id})

    def select_reference(self, ref_id: str) -> None:
        """Load a reference track for level-matched comparison."""
        ref = self.session.find_reference(ref_id)
        self.engine.load_reference(str(self.audio_path(ref.file)), ref.title)
        self.change({"op": "ref_current", "id": ref.id})

    def add_marker(self, position_s: float, name: str = "", note: str = "",
                   song_id: str | None = None) -> dict[str, Any]:
        """Mark a place in a song (the current one by default) with a note.

        In album mode a position without a song is on the album: the marker
        goes to the song heard there, at its place in that song.
        """
        if song_id is None and self.album.on:
            song_id, position_s = self.album.song_at(position_s)
        song = self.session.song(song_id) if song_id else self._need_song()
        self.change({"op": "marker_add", "id": song.id,
                     "marker": {"position_s": position_s, "name": name, "note": note}})
        return {"song": song.id, "position_s": position_s}

    def remove_marker(self, index: int, song_id: str | None = None) -> None:
        """Delete marker number ``index`` (from 0, in time order) of a song."""
        song = self.session.song(song_id) if song_id else self._need_song()
        self.change({"op": "marker_remove", "id": song.id, "index": index})

    # automation -----------------------------------------------------------------------------
    def _apply_automation_settings(self) -> None:
        s = self.session
        self.runner.global_mode = s.automation_mode
        self.runner.tracker.timeout_s = s.touch_timeout_ms / 1000.0
        self.runner.thinning_factor = s.thinning_factor

    # description --------------------------------------------------------------------------------
    def describe_song(self, song: Song) -> dict[str, Any]:
        """A song as plain data for the protocol."""
        return {"id": song.id, "title": song.title, "file": song.file,
                "current": song.id == self.session.current,
                "level_offset_db": song.level_offset_db, "gap_s": song.gap_s,
                "crossfade_s": song.crossfade_s, "fade_in_s": song.fade_in_s,
                "fade_out_s": song.fade_out_s, "isrc": song.isrc, "performer": song.performer,
                "settings": dict(song.settings), "snapshots": sorted(song.snapshots),
                "markers": [vars(m) for m in song.markers],
                "automation": {k: {"mode": v.mode, "points": len(v.points)}
                               for k, v in song.automation.lanes.items()}}

    def describe(self) -> dict[str, Any]:
        """The session as the protocol reports it."""
        s = self.session
        return {"folder": str(self.folder), "title": s.title, "performer": s.performer,
                "upc": s.upc, "generation": s.generation,
                "sample_rate": s.sample_rate, "current": s.current,
                "songs": [self.describe_song(song) for song in s.songs],
                "references": [vars(r) for r in s.references], "reference": s.reference,
                "automation": {"mode": s.automation_mode, "touch_timeout_ms": s.touch_timeout_ms,
                               "thinning_factor": s.thinning_factor,
                               "writing": self.runner.writing()},
                "undo": self.history.describe(),
                "loaded_from": self.loaded.loaded_from if self.loaded else None,
                "broken_file": self.store.broken.path if self.store.broken else None,
                "last_save": self.last_save}


def _copy(session: Session) -> Session:
    """A copy safe to write out while the live session keeps changing."""
    import copy

    return copy.deepcopy(session)

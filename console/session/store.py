"""The session folder on disk: atomic saves, numbered backups, recovery, journal replay.

Layout::

    album/
      session.toml            the album (see console.session.tomlfile)
      automation/<song>.auto  one file per song with lanes (console.automation.fileformat)
      backups/000012/         every save, complete: session.toml + automation/
      journal/000012.jsonl    changes made after save 12 (console.session.journal)

A save (generation N):

1. writes the whole state to ``backups/.tmp-N`` (files fsynced), renames it to
   ``backups/00000N`` and fsyncs ``backups/``: the save exists complete before
   anything in the folder's top level changes;
2. writes each ``automation/*.auto`` atomically, stamped ``generation N``;
3. writes ``session.toml`` atomically: this rename is the commit;
4. deletes journals older than N and backups beyond the newest ``keep``.

A crash anywhere leaves a loadable folder. Between 2 and 3, automation files
stamped N sit beside a session.toml of N-1; the loader notices the stamp and
takes the N-1 automation from ``backups/N-1``. Then the journals from the
loaded generation on are replayed.

A session.toml or automation file that cannot be read (a hand edit gone
wrong, a disk error) is reported with its file and line, the newest backup
that reads is loaded instead, and the broken file is left exactly as it is:
until it is fixed (or ``save(force=True)`` moves it aside), saves go to
``backups/`` only. A file of a newer format is refused outright.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from console.automation import fileformat
from console.automation.lanes import SongAutomation
from console.session import journal as jn
from console.session import tomlfile
from console.session.atomic import fsync_dir, remove_temporaries, write_atomic
from console.session.errors import NewerSessionError, SessionError, SessionFileError
from console.session.model import Session

log = logging.getLogger(__name__)

SESSION_FILE = "session.toml"
KEEP_BACKUPS = 20
"""Numbered backups kept (the newest ones); each is one complete save."""


@dataclass
class Loaded:
    """What opening a session found."""

    session: Session
    loaded_from: str
    """``session.toml``, ``backups/000012`` (recovered) or ``new``."""
    problems: list[str] = field(default_factory=list)
    """Errors met on the way (a broken file, an unreadable journal line), for the log."""
    replayed: int = 0
    """Journal operations applied on top of the save."""


class SessionStore:
    """One session folder, locked for the life of this object."""

    def __init__(self, folder: str | Path, keep_backups: int = KEEP_BACKUPS,
                 lock: bool = True) -> None:
        self.folder = Path(folder).resolve()
        self.keep_backups = max(1, int(keep_backups))
        self.broken: SessionFileError | None = None
        """The top-level file that could not be read, while it stays broken."""
        self._lock_fd = -1
        if lock:
            self._take_lock()

    @property
    def path(self) -> Path:
        """The session.toml file."""
        return self.folder / SESSION_FILE

    def _take_lock(self) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(str(self.folder / ".lock"), os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:  # read-only, not ours, not a folder: say so, no traceback
            raise SessionError(f"{self.folder}: cannot open the session for changes "
                               f"({exc.strerror or exc}); a session folder must be writable "
                               "(render and album --session only read it)") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise SessionError(f"{self.folder}: the session is open in another masterdeck "
                               "process") from None
        self._lock_fd = fd

    def close(self) -> None:
        """Release the folder lock."""
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    # loading --------------------------------------------------------------------------
    def load(self, sample_rate: int = 48000, replay: bool = True) -> Loaded:
        """Open the session: the top level, else the newest good backup, then the journals.

        A folder with neither is a new session. Raises NewerSessionError for
        a newer format, and SessionFileError when nothing at all can be read.
        """
        problems: list[str] = []
        self.broken = None
        backups = self.backups()
        if not self.path.exists() and not backups:
            return Loaded(Session(title=self.folder.name, sample_rate=sample_rate), "new")
        try:
            if not self.path.exists():
                raise SessionFileError(self.path, None, "missing (backups exist)")
            session = self._read(self.folder, top_level=True)
            loaded_from = SESSION_FILE
        except NewerSessionError:
            raise
        except SessionFileError as exc:
            self.broken = exc
            problems.append(str(exc))
            session, loaded_from = self._newest_good_backup(backups, problems, exc)
        loaded = Loaded(session, loaded_from, problems)
        if replay:
            self._replay(loaded)
        return loaded

    def _newest_good_backup(self, backups: list[tuple[int, Path]], problems: list[str],
                            first: SessionFileError) -> tuple[Session, str]:
        for _, folder in reversed(backups):
            try:
                return self._read(folder, top_level=False), str(folder.relative_to(self.folder))
            except NewerSessionError:
                raise
            except SessionFileError as exc:
                problems.append(str(exc))
        raise SessionFileError(first.path, first.line,
                               f"{first.reason} (and no backup in {self.folder / 'backups'} "
                               "can be read either)")

    def _read(self, folder: Path, top_level: bool) -> Session:
        path = folder / SESSION_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionFileError(path, None, f"cannot read: {exc}") from None
        session, files = tomlfile.parse(text, path)
        for song in session.songs:
            name = files.get(song.id)
            if name is None:
                continue
            song.automation = self._read_automation(folder, name, session.generation, top_level)
        return session

    def _read_automation(self, folder: Path, name: str, generation: int,
                         top_level: bool) -> SongAutomation:
        path = folder / name
        inside = folder.resolve() / tomlfile.AUTOMATION_DIR
        if path.resolve().parent != inside:  # never read (or log) a file elsewhere
            raise SessionFileError(folder / "session.toml", None, f"automation = {name!r}: "
                                   f"automation files live in {tomlfile.AUTOMATION_DIR}/ of the "
                                   "session folder")
        if top_level:
            if path.exists():
                lanes, header = self._parse_automation(path)
                if header.get("generation") == generation:
                    return lanes
            # a save died between the automation files and session.toml: use its backup
            backup = folder / "backups" / f"{generation:06d}" / name
            if backup.exists():
                path = backup
        lanes, _ = self._parse_automation(path)
        return lanes

    @staticmethod
    def _parse_automation(path: Path) -> tuple[SongAutomation, dict[str, object]]:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SessionFileError(path, None, f"cannot read: {exc}") from None
        return fileformat.parse(text, path)

    def _replay(self, loaded: Loaded) -> None:
        base = loaded.session.generation
        for generation, path in jn.journals(self.folder):
            if generation < base:
                continue
            _, ops, problem = jn.read(path)
            if problem:
                loaded.problems.append(problem)
            for op in ops:
                try:
                    loaded.session.apply(op)
                    loaded.replayed += 1
                except (SessionError, KeyError, TypeError, ValueError) as exc:
                    loaded.problems.append(f"{path}: operation {op.get('op')!r} skipped: {exc}")

    def backups(self) -> list[tuple[int, Path]]:
        """Complete saves in ``backups/`` as (generation, folder), oldest first."""
        found = []
        for entry in (self.folder / "backups").glob("[0-9]*"):
            with contextlib.suppress(ValueError):
                found.append((int(entry.name), entry))
        return sorted(found)

    # saving ---------------------------------------------------------------------------
    def next_generation(self, session: Session) -> int:
        """The number the next save gets: above every save and every journal there has been.

        A journal newer than the last save is what a save that failed after the
        journal moved on leaves (a full disk): its changes are in no save yet.
        Its number is never reused, or those changes would replay a second time
        on top of the save that holds them (a marker twice, one removal too many).
        """
        newest = max((g for g, _ in [*self.backups(), *jn.journals(self.folder)]), default=0)
        return max(session.generation, newest) + 1

    def save(self, session: Session, generation: int, force: bool = False) -> dict[str, object]:
        """Write ``session`` as save number ``generation``; return what was done.

        ``session.generation`` is set to ``generation``. With the top-level
        files broken, only the backup is written unless ``force``, which first
        renames the broken file aside (``session.toml.broken-<time>``).
        """
        started = time.perf_counter()
        session.generation = generation
        text = tomlfile.dump(session)
        autos = {tomlfile.automation_path(s.id): fileformat.dump(
            s.automation, s.id, generation, session.sample_rate)
            for s in session.songs if s.automation.lanes}
        backup = self._write_backup(generation, text, autos)
        wrote_top = False
        if self.broken is not None and force:
            aside = self.broken.path + f".broken-{time.strftime('%Y%m%d-%H%M%S')}"
            os.replace(self.broken.path, aside)
            log.warning("moved the broken %s aside to %s", self.broken.path, aside)
            self.broken = None
        if self.broken is None:
            (self.folder / "automation").mkdir(exist_ok=True)
            for name, data in autos.items():
                write_atomic(self.folder / name, data, sync_dir=False)
            fsync_dir(self.folder / "automation")
            write_atomic(self.path, text)  # the commit
            wrote_top = True
            self._drop_stale_automation(autos)
        self._prune(generation)
        return {"generation": generation, "backup": str(backup.relative_to(self.folder)),
                "session_file": str(self.path) if wrote_top else None,
                "broken_file": self.broken.path if self.broken else None,
                "seconds": round(time.perf_counter() - started, 4)}

    def _write_backup(self, generation: int, text: str, autos: dict[str, str]) -> Path:
        root = self.folder / "backups"
        root.mkdir(parents=True, exist_ok=True)
        final = root / f"{generation:06d}"
        if final.exists():
            raise SessionError(f"{final}: a backup with this number exists; not overwritten")
        temp = root / f".tmp-{generation:06d}-{os.getpid()}"
        shutil.rmtree(temp, ignore_errors=True)
        (temp / "automation").mkdir(parents=True)
        for name, data in autos.items():
            write_atomic(temp / name, data, sync_dir=False)
        write_atomic(temp / SESSION_FILE, text, sync_dir=False)
        fsync_dir(temp / "automation")
        fsync_dir(temp)
        os.rename(temp, final)
        fsync_dir(root)
        return final

    def _drop_stale_automation(self, autos: dict[str, str]) -> None:
        keep = {Path(name).name for name in autos}
        for path in (self.folder / "automation").glob("*.auto"):
            if path.name not in keep:
                with contextlib.suppress(OSError):
                    path.unlink()
        remove_temporaries(self.folder)
        remove_temporaries(self.folder / "automation")

    def _prune(self, generation: int) -> None:
        for old, path in self.backups()[:-self.keep_backups]:
            if old != generation:
                shutil.rmtree(path, ignore_errors=True)
        for stale in (self.folder / "backups").glob(".tmp-*"):
            if not stale.name.endswith(f"-{os.getpid()}"):
                shutil.rmtree(stale, ignore_errors=True)

    def drop_journals_before(self, generation: int) -> None:
        """Delete journals that a save of ``generation`` includes."""
        for old, path in jn.journals(self.folder):
            if old < generation:
                with contextlib.suppress(OSError):
                    path.unlink()

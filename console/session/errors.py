"""Errors of sessions: each names the file (and line) at fault and what to do."""

from __future__ import annotations

from pathlib import Path

from dsp.errors import MasterdeckError


class SessionError(MasterdeckError):
    """A session that cannot be opened, changed or saved."""


class SessionFileError(SessionError):
    """A session or automation file that cannot be read as one: names file and line."""

    def __init__(self, path: str | Path, line: int | None, message: str) -> None:
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {message}")
        self.path = str(path)
        self.line = line
        self.reason = message


class NewerSessionError(SessionError):
    """A session written by a newer masterdeck, in a format this one does not know."""

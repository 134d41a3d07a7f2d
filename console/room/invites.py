"""Invites to the listening room: one unguessable token each, kept in a 0600 file.

``masterdeck room invite --name NAME`` makes a token (192 random bits) and
prints the link that holds it, once. The file keeps only each token's
SHA-256, with the invite's name, when it was made and the switches the
engineer granted; so the file, a backup of it or a log line never lets
anyone in, and a lost link is replaced by inviting the same name again (the
old token then stops working). The file is written whole (a spare file,
then a rename) and refused if others can read it, as the control token is
(:mod:`console.control.trust`). Tokens never pass through a command line:
the daemon makes them and the command only prints the link.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import stat
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from console.control.trust import TrustError
from dsp.errors import MasterdeckError

SWITCHES = ("ab", "bypass", "reference")
"""What the engineer may hand a client: A/B between snapshots A and B, bypass (hear the
unprocessed song), the reference. Nothing else: a client never sets a parameter."""
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")
TOKEN_BYTES = 24


class InviteError(MasterdeckError):
    """An invite that does not exist, a bad name or switch, or an unreadable invites file."""


@dataclass
class Invite:
    """One invite: who it is for and what they may switch."""

    name: str
    digest: str
    """SHA-256 of the token, hex."""
    created: float
    grants: list[str] = field(default_factory=list)

    def describe(self) -> dict[str, object]:
        """The invite as plain data (never the token, which is not kept)."""
        return {"name": self.name, "created": time.strftime("%Y-%m-%dT%H:%M:%S",
                                                            time.localtime(self.created)),
                "grants": list(self.grants)}


def digest(token: str) -> str:
    """The SHA-256 a token is kept as."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def check_switches(switches: list[str] | tuple[str, ...]) -> list[str]:
    """The switches, checked and in table order."""
    unknown = [s for s in switches if s not in SWITCHES]
    if unknown:
        raise InviteError(f"unknown switch {unknown[0]!r}: grant any of {', '.join(SWITCHES)}")
    return [s for s in SWITCHES if s in switches]


class Invites:
    """The invites file: make, find, grant and revoke invites.

    Parameters
    ----------
    path : Path
        The file (``$XDG_CONFIG_HOME/masterdeck/room-invites.json`` in the daemon).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._invites: dict[str, Invite] = self._load()

    def _load(self) -> dict[str, Invite]:
        try:
            info = os.stat(self.path)
        except FileNotFoundError:
            return {}
        if info.st_uid != os.getuid() or info.st_mode & 0o077:
            raise TrustError(f"{self.path} can be read by other users (mode "
                             f"{stat.filemode(info.st_mode)}): chmod 600 it")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            return {row["name"]: Invite(str(row["name"]), str(row["digest"]),
                                        float(row["created"]), check_switches(row["grants"]))
                    for row in data["invites"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise InviteError(f"cannot read the invites in {self.path}: {exc}") from None

    def _save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        rows = [{"name": i.name, "digest": i.digest, "created": i.created,
                 "grants": i.grants} for i in self._invites.values()]
        spare = self.path.with_name(f".{self.path.name}.{os.getpid()}")
        fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump({"invites": rows}, f, indent=1)
            f.write("\n")
        os.replace(spare, self.path)

    def create(self, name: str | None = None, grants: list[str] | None = None
               ) -> tuple[Invite, str]:
        """A new invite (replacing one of the same name); return it and its token."""
        with self._lock:
            if name is None:
                taken = set(self._invites)
                name = next(f"client-{k}" if k > 1 else "client" for k in range(1, 1000)
                            if (f"client-{k}" if k > 1 else "client") not in taken)
            if not NAME.match(name):
                raise InviteError(f"invite name {name!r}: 1 to 40 letters, digits, spaces, "
                                  "dots, dashes or underscores, starting with a letter or digit")
            token = secrets.token_urlsafe(TOKEN_BYTES)
            invite = Invite(name, digest(token), time.time(), check_switches(grants or []))
            self._invites[name] = invite
            self._save()
        return invite, token

    def find(self, token: str) -> Invite | None:
        """The invite a token belongs to, or None."""
        if not isinstance(token, str) or not 16 <= len(token) <= 200:
            return None
        wanted = digest(token)
        with self._lock:
            for invite in self._invites.values():
                if secrets.compare_digest(invite.digest, wanted):
                    return invite
        return None

    def get(self, name: str) -> Invite:
        """The invite called ``name``."""
        with self._lock:
            invite = self._invites.get(name)
        if invite is None:
            raise InviteError(f"no invite called {name!r}; invites: "
                              f"{', '.join(self._invites) or 'none'}")
        return invite

    def grant(self, name: str, switches: list[str]) -> Invite:
        """Set the switches the invite ``name`` may use (an empty list: listening only)."""
        invite = self.get(name)
        with self._lock:
            invite.grants = check_switches(switches)
            self._save()
        return invite

    def revoke(self, name: str) -> Invite:
        """Delete the invite ``name``: its token stops working."""
        invite = self.get(name)
        with self._lock:
            del self._invites[name]
            self._save()
        return invite

    def all(self) -> list[Invite]:
        """Every invite, oldest first."""
        with self._lock:
            return sorted(self._invites.values(), key=lambda i: i.created)

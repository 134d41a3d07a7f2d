"""Whom the control link trusts: the token's sources and strength, the socket folder's owner.

A token on the command line is readable by every local user in ``ps``, so the
daemon takes it from a file only its owner can read (``--token-file``, or
``control.token_file``), or from ``MASTERDECK_TOKEN``; a command-line token
still works but is warned about. A token is at least :data:`MIN_TOKEN`
characters: at the 1,500 guesses a second a daemon could once be asked, a
short one falls in hours; 16 characters from a 64-letter alphabet is 96 bits.
``--tcp`` with no token makes one, keeps it in a 0600 file and says where.

Before sending anything through a Unix socket, a client checks, as ssh-agent
and tmux do, that the socket and (for the default place) its folder belong
to the user and nobody else can reach them: whoever made
``/tmp/masterdeck-UID`` first would otherwise receive every command.

Standard library only: thin clients import it.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import stat
from pathlib import Path

from dsp.errors import MasterdeckError

MIN_TOKEN = 16
"""Characters a token needs at least."""
TOKEN_FILE = "token"
"""The file in the config folder a made token is kept in."""


class TrustError(MasterdeckError):
    """A token too weak or kept where others read it, or a socket others could have placed."""


def _private(info: os.stat_result) -> bool:
    return info.st_uid == os.getuid() and not info.st_mode & 0o077


def read_token_file(path: str | Path) -> str:
    """The token in ``path``, refused unless only its owner (this user) can read the file.

    A leading ``~`` is the user's home, as in a shell: a config file's path is
    read by no shell.
    """
    file = Path(path).expanduser()
    try:
        info = os.stat(file)
        text = file.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise TrustError(f"cannot read the token file {file}: {exc.strerror or exc}") from None
    if not _private(info):
        raise TrustError(f"{file} can be read by other users (mode {stat.filemode(info.st_mode)}"
                         f", owner uid {info.st_uid}): chmod 600 it")
    check_token(text, str(file))
    return text


def check_token(token: str, where: str = "the token") -> None:
    """Refuse a token too short to resist guessing."""
    if len(token) < MIN_TOKEN:
        raise TrustError(f"{where} is {len(token)} characters: a token needs {MIN_TOKEN} or more "
                         "(`python -c 'import secrets; print(secrets.token_urlsafe(24))'`)")


def make_token(path: str | Path) -> str:
    """A new random token, kept in ``path`` (0600, written whole)."""
    file = Path(path)
    file.parent.mkdir(parents=True, exist_ok=True)
    token = secrets.token_urlsafe(24)
    spare = file.with_name(f".{file.name}.{os.getpid()}")
    fd = os.open(spare, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(token + "\n")
    os.replace(spare, file)
    return token


def check_socket(path: Path, default_place: bool) -> None:
    """Refuse a socket (or, in the default place, a folder) that is not this user's alone.

    A missing socket is fine here (the connection then fails as "no daemon").
    """
    if default_place:
        try:
            folder = os.lstat(path.parent)
        except FileNotFoundError:
            return
        if not stat.S_ISDIR(folder.st_mode) or not _private(folder):
            raise TrustError(f"{path.parent} is not yours alone (owner uid {folder.st_uid}, "
                             f"mode {stat.filemode(folder.st_mode)}): refusing to talk through "
                             "it; remove it if you did not make it")
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(info.st_mode) or not _private(info):
        raise TrustError(f"{path} is not a socket of yours (owner uid {info.st_uid}): refusing "
                         "to talk through it")


def is_loopback(host: str) -> bool:
    """Whether ``host`` is only reachable from this machine (a bind that needs no TLS)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False

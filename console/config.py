"""Daemon configuration: XDG locations, a TOML file, and command-line overrides.

Precedence, lowest first: built-in defaults, ``$XDG_CONFIG_HOME/masterdeck/
config.toml`` (or ``--config FILE``), then command-line flags. A broken config
file is a clear error naming the file and key; on SIGHUP the daemon re-reads
it and keeps the old configuration if the new one is broken.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from dsp.errors import MasterdeckError


class ConfigError(MasterdeckError):
    """A configuration file or value that cannot be used."""


def config_home() -> Path:
    """``$XDG_CONFIG_HOME/masterdeck`` (default ``~/.config/masterdeck``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "masterdeck"


def data_home() -> Path:
    """``$XDG_DATA_HOME/masterdeck`` (default ``~/.local/share/masterdeck``)."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "masterdeck"


def runtime_dir() -> Path:
    """``$XDG_RUNTIME_DIR/masterdeck``, or a private folder in /tmp when unset."""
    base = os.environ.get("XDG_RUNTIME_DIR")
    if base:
        return Path(base) / "masterdeck"
    return Path("/tmp") / f"masterdeck-{os.getuid()}"


@dataclass
class Config:
    """Everything the daemon can be told, with the defaults a new user gets."""

    device: str = ""
    """PortAudio output device (name substring or index); empty for the default."""
    sample_rate: int = 48000
    block_size: int = 256
    live_input: bool = False
    python_callback: bool = False
    socket: str = ""
    """Control socket path; empty for ``runtime_dir()/control.sock``."""
    tcp: str = ""
    """``HOST:PORT`` to also listen on TCP (needs ``token``); empty for none."""
    token: str = ""
    token_file: str = ""
    """A file holding the TCP token, readable by its owner only (better than ``token``)."""
    midi_backend: str = "auto"
    """``alsa``, ``jack`` or ``auto`` (JACK when a JACK server runs, else ALSA)."""
    surfaces: list[str] = field(default_factory=list)
    """Explicit bindings ``PROFILE=PORT``; profiles also bind by their port patterns."""
    virtual_midi: bool = False
    """Open the daemon's own virtual MIDI ports for software controllers."""
    session: str = ""
    songs: list[str] = field(default_factory=list)
    reference: str = ""
    room_bind: str = "127.0.0.1:8765"
    """Where the listening room listens once started (``HOST:PORT``): loopback by default,
    for an SSH tunnel or a reverse proxy; anywhere else it serves HTTPS only."""
    room_cert: str = ""
    room_key: str = ""
    """The room's TLS certificate and key (PEM); empty: a self-signed one when needed."""
    room_url: str = ""
    """The address clients open when it is not the bound one (a proxy, a tunnel)."""
    room_bitrate_kbps: int = 256
    """The room's Opus bitrate (constant), 256 to 510 kb/s."""
    room_ice_servers: list[str] = field(default_factory=list)
    """TURN/STUN servers as clients reach them (``turn:host:3478?transport=tcp``)."""
    room_turn_secret_file: str = ""
    """The TURN server's shared secret (a 0600 file): each listener gets its own credentials."""
    room_ice_policy: str = "all"
    """``relay``: clients reach the audio through the TURN server only."""
    source_path: str = ""
    """The file the configuration was read from (empty for defaults only)."""

    def socket_path(self) -> Path:
        """Where the control socket lives."""
        return Path(self.socket) if self.socket else runtime_dir() / "control.sock"

    def as_dict(self) -> dict[str, Any]:
        """The configuration as plain data."""
        return asdict(self)


_SECTIONS = {
    "audio": ("device", "sample_rate", "block_size", "live_input", "python_callback"),
    "control": ("socket", "tcp", "token", "token_file"),
    "midi": ("midi_backend", "surfaces", "virtual_midi"),
    "session": ("session", "songs", "reference"),
    "room": ("room_bind", "room_cert", "room_key", "room_url", "room_bitrate_kbps",
             "room_ice_servers", "room_turn_secret_file", "room_ice_policy"),
}
_RENAMES = {("midi", "backend"): "midi_backend", ("session", "folder"): "session",
            ("midi", "virtual_ports"): "virtual_midi",
            **{("room", key): f"room_{key}" for key in ("bind", "cert", "key", "url",
                                                        "bitrate_kbps", "ice_servers",
                                                        "turn_secret_file", "ice_policy")}}


def load(path: str | Path | None = None) -> Config:
    """Read the config file (the XDG one when ``path`` is None; missing is fine)."""
    config = Config()
    explicit = path is not None
    file = Path(path) if explicit else config_home() / "config.toml"
    if not file.exists():
        if explicit:
            raise ConfigError(f"config {file}: no such file")
        return config
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config {file}: cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {file}: {exc}") from None
    types = {f.name: f.type for f in fields(Config)}
    for section, table in data.items():
        if section not in _SECTIONS or not isinstance(table, dict):
            raise ConfigError(f"config {file}: unknown section [{section}]; "
                              f"known: {', '.join(_SECTIONS)}")
        for key, value in table.items():
            name = _RENAMES.get((section, key), key)
            if name not in _SECTIONS[section]:
                raise ConfigError(f"config {file}: unknown key {section}.{key}")
            setattr(config, name, _coerce(file, f"{section}.{key}", types[name], value))
    config.source_path = str(file)
    return config


def _coerce(file: Path, key: str, kind: str, value: Any) -> Any:
    expected = {"str": str, "int": int, "bool": bool, "list[str]": list}[str(kind)]
    if (expected is int and isinstance(value, bool)) or not isinstance(value, expected):
        raise ConfigError(f"config {file}: {key} must be {kind}, got {value!r}")
    if expected is list and not all(isinstance(v, str) for v in value):
        raise ConfigError(f"config {file}: {key} must be a list of strings")
    return value

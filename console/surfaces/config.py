"""Where profiles live and how the surface subsystem is set up.

The daemon builds one :class:`SurfaceConfig` from its own configuration and
command line (``--midi-backend jack``, ``--surface mackie=X-Touch``,
``--midi-virtual``) and hands it to :class:`~console.surfaces.manager.SurfaceManager`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from dsp.errors import MappingError

SHIPPED_DIR = Path(str(resources.files("mappings")))
"""The profiles that come with masterdeck (one TOML file per device model).

They ship in the wheel as the data package ``mappings``, so they are found
wherever masterdeck is installed, not only beside a checkout.
"""


def user_dir() -> Path:
    """The user's own profiles: ``$XDG_CONFIG_HOME/masterdeck/mappings``.

    Read at call time, not import time, so a test (or a daemon started with a
    different environment) sees the folder in effect now.
    """
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "masterdeck" / "mappings"


@dataclass(frozen=True)
class VirtualPort:
    """A MIDI port pair the daemon opens itself, for software controllers to connect to."""

    name: str = "masterdeck"
    profile: str = "generic"


@dataclass(frozen=True)
class SurfaceConfig:
    """Settings of the surface subsystem.

    Parameters
    ----------
    backend : str, optional
        ``"jack"``, ``"alsa"``, an rtmidi API name (``"UNIX_JACK"``) or a mido
        backend string (``"mido.backends.rtmidi/UNIX_JACK"``). None follows
        ``MIDO_BACKEND``, then python-rtmidi's default (ALSA on Linux, which
        fails where the ALSA sequencer is missing: use JACK there).
    client_name : str
        Prefix of every MIDI client the daemon opens; ports whose names start
        with it are never bound as surfaces, so the daemon never talks to itself.
    explicit : mapping of str to str
        Profile id to port pattern (``--surface PROFILE=PORT``): bind that
        profile to that port whatever the profile's own patterns say.
    autodetect : bool
        Bind surfaces by the port-name patterns in their profiles.
    virtual_ports : sequence of VirtualPort
        Ports the daemon opens itself, each played through a profile.
    dirs : sequence of (Path, origin)
        Profile folders, later ones overriding earlier ones by file name.
    scan_interval_s : float
        How often the port list is read for hot-plug (reconnect takes at most
        about this plus the time to open a port).
    poll_interval_s : float
        How often open inputs are drained while controls move (the bound on
        added latency; 1 ms costs about 3 % of a core, so after a second
        without input the poller drops to ``idle_poll_interval_s``).
    idle_poll_interval_s : float
        How often inputs are drained when nothing has moved for a second
        (the first move after a pause waits at most this long).
    """

    backend: str | None = None
    client_name: str = "masterdeck"
    explicit: Mapping[str, str] = field(default_factory=dict)
    autodetect: bool = True
    virtual_ports: Sequence[VirtualPort] = ()
    dirs: Sequence[tuple[Path, str]] | None = None
    scan_interval_s: float = 0.5
    poll_interval_s: float = 0.001
    idle_poll_interval_s: float = 0.004

    def profile_dirs(self) -> list[tuple[Path, str]]:
        """The folders to load profiles from: shipped first, then the user's."""
        if self.dirs is not None:
            return list(self.dirs)
        return [(SHIPPED_DIR, "shipped"), (user_dir(), "user")]

    @classmethod
    def from_any(cls, config: Any) -> SurfaceConfig:
        """Accept a SurfaceConfig, a mapping, or the daemon's ``Config``.

        The daemon's configuration speaks ``midi_backend`` (auto / alsa / jack),
        ``surfaces`` (``PROFILE=PORT`` strings) and ``virtual_midi`` (bool).
        """
        if config is None or isinstance(config, SurfaceConfig):
            return config or cls()
        if isinstance(config, Mapping):
            return cls.from_mapping(config)
        backend = getattr(config, "midi_backend", None)
        virtual = (VirtualPort(),) if getattr(config, "virtual_midi", False) else ()
        return cls(backend=backend, explicit=parse_explicit(getattr(config, "surfaces", []) or []),
                   virtual_ports=virtual)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any] | None) -> SurfaceConfig:
        """Build from plain data (a ``[surfaces]`` table of the daemon's config file)."""
        data = dict(data or {})
        virtual = [
            VirtualPort(**v) if isinstance(v, Mapping) else VirtualPort(name=str(v))
            for v in data.pop("virtual_ports", [])
        ]
        explicit = data.pop("explicit", {})
        if isinstance(explicit, Sequence) and not isinstance(explicit, str):
            explicit = parse_explicit(explicit)
        known = {"backend", "client_name", "autodetect", "scan_interval_s", "poll_interval_s",
                 "idle_poll_interval_s"}
        unknown = sorted(set(data) - known)
        if unknown:
            allowed = ", ".join(sorted(known | {"explicit", "virtual_ports"}))
            raise MappingError(f"surfaces config: unknown key {unknown[0]!r}; allowed: {allowed}")
        return cls(virtual_ports=tuple(virtual), explicit=dict(explicit), **data)


def parse_explicit(items: Sequence[str]) -> dict[str, str]:
    """Parse ``--surface PROFILE=PORT`` arguments into {profile: port pattern}."""
    result: dict[str, str] = {}
    for item in items:
        profile, sep, port = str(item).partition("=")
        if not sep or not profile.strip() or not port.strip():
            raise MappingError(f"--surface {item!r}: write PROFILE=PORT (e.g. mackie=X-Touch)")
        result[profile.strip()] = port.strip()
    return result

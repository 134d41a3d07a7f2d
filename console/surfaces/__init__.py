"""Control surfaces: MIDI knobs, faders and buttons driving the desk, with feedback.

The daemon needs only :class:`SurfaceManager` and :class:`SurfaceConfig`::

    manager = SurfaceManager(desk, SurfaceConfig(backend="jack"))
    manager.start()          # binds what is plugged in, watches for hot-plug
    manager.describe()       # for `masterdeck surfaces --json` and the protocol
    manager.learn(param="eq.band2.gain_db").wait(30)
    manager.stop()

Profiles (one TOML file per device model) live in ``mappings/`` and in the
user's ``$XDG_CONFIG_HOME/masterdeck/mappings``; see ``docs/surfaces.md``.
"""

from console.surfaces.config import SurfaceConfig, VirtualPort, parse_explicit, user_dir
from console.surfaces.loader import load_profile, load_profiles
from console.surfaces.manager import SurfaceManager

__all__ = ["SurfaceConfig", "SurfaceManager", "VirtualPort", "load_profile", "load_profiles",
           "parse_explicit", "user_dir"]

"""MIDI learn: turn a moved control into a binding in the user's own profile.

The user's profile lives in ``$XDG_CONFIG_HOME/masterdeck/mappings`` under the
same file name as the shipped one, which it then overrides. The first learn
starts from a copy of the shipped file (comments kept, through tomlkit), so
the device keeps every factory binding it had. The new document is checked
with the same loader as any profile *before* it is written, and written
atomically (temporary file, fsync, rename), so a crash never leaves a
half-written profile behind.
"""

from __future__ import annotations

import os
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from console.control.desk import ACTIONS
from console.surfaces.bindings import Bound
from console.surfaces.config import user_dir
from console.surfaces.decode import Event
from console.surfaces.loader import read_profile
from console.surfaces.profile import Profile
from dsp import params as P
from dsp.errors import MappingError

_KINDS = {"note": "note", "cc": "cc", "cc14": "cc14", "nrpn": "nrpn",
          "pitchbend": "pitchbend", "pressure": "pressure"}


@dataclass
class LearnRequest:
    """An armed MIDI learn: what to bind, and (once done) what was bound.

    ``wait()`` blocks until a control is moved (or the request is cancelled or
    times out); the protocol server can also pass ``on_done``.
    """

    target: dict[str, Any]
    surface: str | None = None
    mode: str | None = None
    encoding: str | None = None
    layer: str = ""
    deadline: float = float("inf")
    result: dict[str, Any] | None = None
    error: str | None = None
    done: threading.Event = field(default_factory=threading.Event)

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """The learned binding (as written), or None if none yet / cancelled."""
        self.done.wait(timeout)
        return self.result

    def describe(self) -> dict[str, Any]:
        """Plain data for ``describe()`` and the protocol."""
        return {"target": dict(self.target), "surface": self.surface, "done": self.done.is_set(),
                "result": self.result, "error": self.error}


def check_target(param: str | None, action: str | None, args: dict[str, Any] | None
                 ) -> dict[str, Any]:
    """The binding target as TOML keys, checked (ParameterError / MappingError)."""
    if (param is None) == (action is None):
        raise MappingError("learn: give a parameter id or an action, not both")
    if param is not None:
        return {"param": P.get(param).id}
    if action not in ACTIONS:
        raise MappingError(f"learn: unknown action {action!r}; known: {', '.join(ACTIONS)}")
    target: dict[str, Any] = {"action": action}
    if args:
        target["args"] = dict(args)
    return target


def binding_from_event(event: Event, request: LearnRequest, existing: Bound | None
                       ) -> dict[str, Any]:
    """The TOML table for a binding of the control that sent ``event``.

    How the control behaves (relative encoding, touch sensor, ring) is taken
    from the profile's binding for the same control when there is one;
    otherwise a note is a button and everything else absolute.
    """
    row: dict[str, Any] = {"control": _KINDS[event.kind], "channel": event.channel + 1}
    if event.kind not in ("pitchbend", "pressure"):
        row["number"] = event.number
    old = existing.binding if existing is not None else None
    mode = request.mode or (old.mode if old else ("button" if event.kind == "note" else
                                                    "absolute"))
    if "action" in request.target and mode != "button":
        mode = "button"
    if mode != ("button" if event.kind == "note" else "absolute"):
        row["mode"] = mode
    if mode == "relative":
        row["encoding"] = request.encoding or (old.encoding if old else "twos_complement")
    if old is not None and old.control.kind == "cc14" and old.control.lsb != event.number + 32:
        row["lsb"] = old.control.lsb
    if old is not None and old.touch is not None and mode == "absolute":
        row["touch"] = old.touch
    if old is not None and old.feedback.kind == "ring" and old.feedback.control is not None:
        row["feedback"] = {"type": "ring", "cc": old.feedback.control.number,
                           "style": old.feedback.style}
    if request.layer:
        row["layer"] = request.layer
    row.update(request.target)
    return row


def complete(request: LearnRequest, profile: Profile, event: Event, existing: Bound | None,
             surface: str) -> Profile | None:
    """Write the learned binding; fill in the request's result or error. Never raises."""
    row = binding_from_event(event, request, existing)
    try:
        learned = write_binding(profile, row)
    except (MappingError, OSError) as exc:
        request.error = str(exc)
        request.done.set()
        return None
    request.result = {"surface": surface, "file": str(learned.path), "binding": row}
    request.done.set()
    return learned


def _same_control(table: Any, row: dict[str, Any]) -> bool:
    keys = ("control", "channel", "number", "layer")
    defaults = {"channel": 1, "number": None, "layer": ""}
    return all(table.get(k, defaults.get(k)) == row.get(k, defaults.get(k)) for k in keys)


def write_binding(profile: Profile, row: dict[str, Any], folder: Path | None = None
                  ) -> Profile:
    """Add (or replace) a binding in the user's copy of ``profile``; return the new profile.

    Raises MappingError if the result would not load (nothing is written then).
    """
    folder = folder or user_dir()
    path = folder / f"{profile.id}.toml"
    source = path if path.exists() else profile.path
    try:
        doc = tomlkit.parse(source.read_text(encoding="utf-8"))
    except OSError as exc:
        raise MappingError(f"{source}: cannot read: {exc.strerror or exc}") from exc
    bindings = doc.get("binding")
    if bindings is None:
        bindings = tomlkit.aot()
        doc["binding"] = bindings
    for i in reversed(range(len(bindings))):
        if _same_control(bindings[i], row):
            del bindings[i]
    table = tomlkit.table()
    table.update(row)
    bindings.append(table)
    text = tomlkit.dumps(doc)
    learned = read_profile(tomlkit.parse(text).unwrap(), path, "user")  # check before writing
    _atomic_write(path, text)
    return learned


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)

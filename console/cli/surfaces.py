"""``masterdeck surfaces``: the surface profiles, the MIDI ports seen, and which binds where.

Shows the configuration in effect, as ``mido-ports`` does for mido: the MIDI
backend (and ``MIDO_BACKEND``), the profile folders (shipped, then the
user's, which override by file name), every profile with its port patterns,
every MIDI port with the profile that would bind it, and with ``--json``
every binding of every profile. Nothing is opened but a port listing.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING, Any

from dsp.errors import DeviceError

if TYPE_CHECKING:
    from console.surfaces.config import SurfaceConfig


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``surfaces`` subcommand."""
    parser = subparsers.add_parser(
        "surfaces", help="list surface profiles, MIDI ports and which profile binds which port",
        description=__doc__,
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--midi-backend", default="auto", metavar="BACKEND",
                        help="auto, jack, alsa, or a mido backend string (default: auto)")
    parser.add_argument("--surface", action="append", default=[], metavar="PROFILE=PORT",
                        help="bind a profile to a port explicitly (repeatable)")
    parser.add_argument("--bindings", metavar="PROFILE",
                        help="also list the bindings of this profile")
    parser.set_defaults(run=run)


def report(config: SurfaceConfig) -> dict[str, Any]:
    """Everything the command shows, as plain data."""
    from console.surfaces.loader import load_profiles
    from console.surfaces.ports import PortLister, assign_ports, resolve_api

    profiles, errors = load_profiles(config.profile_dirs())
    data: dict[str, Any] = {
        "backend": config.backend, "MIDO_BACKEND": os.environ.get("MIDO_BACKEND"),
        "profile_dirs": [{"path": str(p), "origin": o, "exists": p.is_dir()}
                         for p, o in config.profile_dirs()],
        "profiles": [p.summary() for p in sorted(profiles.values(), key=lambda p: p.id)],
        "profile_errors": errors,
        "ports": None, "ports_error": None,
        "bindings": {pid: [_binding_row(b) for b in p.bindings] for pid, p in profiles.items()},
        "banks": {pid: [{"name": bank.name, "strips": [
            {"label": s.label, "fader": s.fader, "vpot": s.vpot, **s.buttons}
            for s in bank.strips]} for bank in p.banks]
            for pid, p in profiles.items() if p.banks},
    }
    try:
        api, data["backend"] = resolve_api(config.backend)
        lister = PortLister(api, f"{config.client_name}-list")
    except DeviceError as exc:
        data["ports_error"] = str(exc)
        return data
    try:
        inputs, outputs = lister.inputs(), lister.outputs()
    finally:
        lister.close()
    plan = assign_ports(inputs, {pid: p.device.ports for pid, p in profiles.items()},
                        dict(config.explicit), config.client_name, config.autodetect)
    data["ports"] = {
        "inputs": [{"name": n, "profile": plan.get(n, (None, []))[0],
                    "ties": plan.get(n, (None, []))[1]} for n in inputs],
        "outputs": outputs,
    }
    return data


def _binding_row(b: Any) -> dict[str, Any]:
    row = {"control": b.control.describe(), "mode": b.mode, "target": b.target}
    if b.args:
        row["args"] = b.args
    if b.layer:
        row["layer"] = b.layer
    if b.feedback.kind != "none":
        row["feedback"] = b.feedback.kind
    return row


def run(args: argparse.Namespace) -> int:
    """Print the report; exit 1 if the MIDI ports could not be listed."""
    from console.surfaces.config import SurfaceConfig, parse_explicit

    config = SurfaceConfig(backend=args.midi_backend, explicit=parse_explicit(args.surface))
    data = report(config)
    if args.json:
        print(json.dumps(data, indent=1))
        return 1 if data["ports_error"] else 0
    print(f"MIDI backend: {data['backend']}  (MIDO_BACKEND={data['MIDO_BACKEND'] or 'unset'})")
    for folder in data["profile_dirs"]:
        print(f"profiles from {folder['path']} ({folder['origin']})"
              f"{'' if folder['exists'] else ' - not present'}")
    print("\nprofiles:")
    for p in data["profiles"]:
        patterns = ", ".join(p["ports"]) or "(explicit or virtual only)"
        print(f"  {p['id']:<28} {p['name']:<28} {p['origin']:<8} ports: {patterns}")
    for message in data["profile_errors"]:
        print(f"  error: {message}")
    print("\nMIDI input ports:")
    if data["ports_error"]:
        print(f"  cannot list: {data['ports_error']}", file=sys.stderr)
    else:
        for port in data["ports"]["inputs"]:
            bound = port["profile"] or "-"
            ties = f"  (also matches {', '.join(port['ties'])})" if port["ties"] else ""
            print(f"  {port['name']:<48} -> {bound}{ties}")
        if not data["ports"]["inputs"]:
            print("  none")
    if args.bindings:
        rows = data["bindings"].get(args.bindings)
        if rows is None:
            print(f"\nno profile {args.bindings!r}", file=sys.stderr)
            return 2
        print(f"\nbindings of {args.bindings}:")
        for row in rows:
            layer = f" [{row['layer']}]" if "layer" in row else ""
            extra = f" {row['args']}" if "args" in row else ""
            print(f"  {row['control']:<20} {row['mode']:<9} {row['target']}{extra}{layer}")
        for bank in data["banks"].get(args.bindings, []):
            print(f"\nbank {bank['name']} (strip: fader / V-Pot):")
            for i, s in enumerate(bank["strips"], 1):
                print(f"  {i} {s['label']:<7} {s['fader'] or '-'} / {s['vpot'] or '-'}")
    return 1 if data["ports_error"] else 0

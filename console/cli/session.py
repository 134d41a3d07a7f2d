"""``masterdeck session``: the running daemon's album, from the shell.

``masterdeck session`` lists the songs; ``session add FILE``, ``move ID
INDEX``, ``remove ID``, ``select ID|N``, ``next``, ``previous``, ``ref-add
FILE``, ``ref-remove ID``, ``ref-select ID``, ``marker SECONDS NAME``,
``mode MODE [--param ID]``, ``album --title/--performer/--upc``, ``song ID
--isrc/--performer/--level/--gap/...``, ``undo``, ``redo`` and ``save`` change it. Thin
clients of the control protocol (the daemon must run with ``--session DIR``);
files are given as the shell sees them and sent as absolute paths.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from console.control.client import add_connection_arguments, client_from_args

OPS = {
    "show": ("list the album", []),
    "add": ("add a song to the album", [("file", {"metavar": "FILE"}),
                                        ("--title", {}), ("--at", {"type": int, "metavar": "N",
                                                                   "help": "position (0 first)"})]),
    "move": ("move a song to a new place", [("id", {}), ("index", {"type": int})]),
    "remove": ("take a song off the album", [("id", {})]),
    "select": ("make a song current (by id, or number from 1)", [("song", {})]),
    "next": ("go to the next song", []),
    "previous": ("go to the previous song", []),
    "ref-add": ("add a reference track", [("file", {"metavar": "FILE"}), ("--title", {})]),
    "ref-remove": ("remove a reference track", [("id", {})]),
    "ref-select": ("load a reference track for comparison", [("id", {})]),
    "marker": ("mark a place in the current song", [("seconds", {"type": float}),
                                                    ("name", {}), ("--note", {"default": ""})]),
    "mode": ("set the automation mode (global, or one lane's with --param)",
             [("mode", {"choices": ("off", "read", "touch", "latch", "write", "trim",
                                    "global")}), ("--param", {"metavar": "ID"})]),
    "album": ("set the album's title, performer or UPC/EAN (CD-Text, the CD's catalogue "
              "number, the masters' tags)", [("--title", {}), ("--performer", {}),
                                            ("--upc", {"metavar": "DIGITS"})]),
    "song": ("set a song's title, performer, ISRC or level plan",
             [("id", {}), ("--title", {}), ("--performer", {}),
              ("--isrc", {"metavar": "CC-XXX-YY-NNNNN"}),
              ("--level", {"type": float, "dest": "level_offset_db", "metavar": "DB"}),
              ("--gap", {"type": float, "dest": "gap_s", "metavar": "SECONDS"}),
              ("--crossfade", {"type": float, "dest": "crossfade_s", "metavar": "SECONDS"}),
              ("--fade-in", {"type": float, "dest": "fade_in_s", "metavar": "SECONDS"}),
              ("--fade-out", {"type": float, "dest": "fade_out_s", "metavar": "SECONDS"})]),
    "undo": ("undo the last move, snapshot recall or automation pass", []),
    "redo": ("redo what was undone", []),
    "save": ("save now (atomically, with a numbered backup)",
             [("--force", {"action": "store_true",
                           "help": "move a broken session.toml aside and write it again"})]),
}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``session`` and its operations."""
    parser = subparsers.add_parser("session", help="the daemon's album: songs, references, "
                                   "automation mode, undo, save", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print the reply as JSON")
    ops = parser.add_subparsers(dest="op", metavar="OP")
    for name, (help_text, arguments) in OPS.items():
        sub = ops.add_parser(name, help=help_text, description=help_text)
        for flag, options in arguments:
            sub.add_argument(flag, **options)
    parser.set_defaults(run=run, op="show")


def request_for(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The protocol command and arguments for a parsed operation."""
    op = args.op
    if op == "show":
        return "session", {}
    if op == "add":
        extra = {k: v for k, v in (("title", args.title), ("index", args.at)) if v is not None}
        return "song_add", {"path": str(Path(args.file).resolve()), **extra}
    if op == "move":
        return "song_move", {"id": args.id, "index": args.index}
    if op == "remove":
        return "song_remove", {"id": args.id}
    if op == "select":
        key = "number" if args.song.isdigit() else "id"
        return "song_select", {key: int(args.song) if key == "number" else args.song}
    if op in ("next", "previous"):
        return f"song_{op}", {}
    if op == "ref-add":
        extra = {"title": args.title} if args.title else {}
        return "reference_add", {"path": str(Path(args.file).resolve()), **extra}
    if op in ("ref-remove", "ref-select"):
        return f"reference_{op[4:]}", {"id": args.id}
    if op == "marker":
        return "marker_add", {"position_s": args.seconds, "name": args.name, "note": args.note}
    if op == "mode":
        return "automation_mode", {"mode": args.mode,
                                   **({"param": args.param} if args.param else {})}
    if op == "save":
        return "session_save", {"force": bool(args.force)}
    if op == "album":
        fields = {k: getattr(args, k) for k in ("title", "performer", "upc")
                  if getattr(args, k) is not None}
        return "album_set", fields
    if op == "song":
        fields = {k: getattr(args, k) for k in ("title", "performer", "isrc", "level_offset_db",
                                                "gap_s", "crossfade_s", "fade_in_s", "fade_out_s")
                  if getattr(args, k) is not None}
        return "song_set", {"id": args.id, **fields}
    return op, {}


def describe(data: dict[str, Any]) -> str:
    """The album as lines a person reads."""
    s = data["session"]
    lines = [f"{s['title']}  ({s['folder']}, save {s['generation']}, automation "
             f"{s['automation']['mode']})"]
    details = [f"{label} {s[key]}" for key, label in (("performer", "by"), ("upc", "UPC/EAN"))
               if s.get(key)]
    if details:
        lines.append("  " + ", ".join(details))
    if s.get("broken_file"):
        lines.append(f"  warning: {s['broken_file']} is broken; running from {s['loaded_from']}")
    for k, song in enumerate(s["songs"], start=1):
        mark = ">" if song["current"] else " "
        lanes = ", ".join(song["automation"]) or "no automation"
        isrc = f", ISRC {song['isrc']}" if song.get("isrc") else ""
        lines.append(f"{mark} {k:2d}. {song['title']}  [{song['id']}]  {song['file']}  "
                     f"offset {song['level_offset_db']:+.1f} dB, {lanes}{isrc}")
    for ref in s["references"]:
        mark = ">" if ref["id"] == s["reference"] else " "
        lines.append(f"{mark} ref {ref['title']}  [{ref['id']}]  {ref['file']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Send the operation and print the outcome."""
    command, arguments = request_for(args)
    with client_from_args(args, timeout=120.0) as client:
        data = client.request(command, **arguments)
        if command != "session" and not args.json:
            data = {**data, **client.request("session")}
    if args.json:
        print(json.dumps(data))
    elif command == "session_save":
        saved = data["saved"]
        print(f"saved as generation {saved['generation']} ({saved['backup']}) "
              f"in {saved['seconds'] * 1000:.1f} ms")
    else:
        print(describe(data))
    return 0

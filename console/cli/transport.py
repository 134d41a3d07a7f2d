"""Transport and listening commands for the running daemon, one subcommand each.

``masterdeck play``, ``stop``, ``locate POSITION``, ``loop START END | on |
off``, ``bypass [on|off]``, ``reference [on|off]``, ``match on|off``,
``load FILE [--reference]``, ``snapshot store|recall SLOT``, ``mode album|song``
(album mode: the session's songs on one timeline) and ``join [K] [--loop]``
(audition the join into song K, or the next one): thin clients
of the control protocol, so a shell script can drive a session. Each prints
the transport afterwards (or what was loaded or stored).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from console.cli.status import clock, describe_track, describe_transport
from console.control.client import add_connection_arguments, client_from_args
from dsp.errors import ParameterError

ON_OFF = ("on", "off")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the transport subcommands (play, stop, locate, loop, ... snapshot)."""
    def add(name: str, help_text: str) -> argparse.ArgumentParser:
        parser = subparsers.add_parser(name, help=help_text, description=help_text)
        add_connection_arguments(parser)
        parser.set_defaults(run=run, action=name)
        return parser

    add("play", "start playback from the current position")
    add("stop", "stop playback (the position is kept)")
    add("locate", "jump to a position in the song").add_argument(
        "position", metavar="POSITION", help="seconds (42.5) or minutes:seconds (1:02.5)")
    loop = add("loop", "set the loop region (START END) or switch looping on or off")
    loop.add_argument("region", nargs="+", metavar="ARG",
                      help="START END (seconds or m:ss), or on, or off")
    add("bypass", "hear the unprocessed song (toggles without on/off)").add_argument(
        "on", nargs="?", choices=ON_OFF)
    add("reference", "hear the reference track (toggles without on/off)").add_argument(
        "on", nargs="?", choices=ON_OFF)
    add("match", "loudness-match bypass and reference to the master").add_argument(
        "on", choices=ON_OFF)
    load = add("load", "load a song (or, with --reference, a reference track)")
    load.add_argument("path", metavar="FILE")
    load.add_argument("--reference", action="store_true", help="load it as the reference")
    load.add_argument("--title", help="title to show (default: the file name)")
    add("mode", "play the session's album on one timeline, or one song at a time").add_argument(
        "mode", choices=("album", "song"))
    join = add("join", "album mode: hear the join into song K (or the next join) from "
               "3 s before")
    join.add_argument("number", nargs="?", type=int, metavar="K", help="the song joined (2..)")
    join.add_argument("--loop", action="store_true", help="loop 3 s either side of the join")
    snapshot = add("snapshot", "store or recall a snapshot of the whole chain (A-D)")
    snapshot.add_argument("op", choices=("store", "recall"))
    snapshot.add_argument("slot", type=str.upper, choices=("A", "B", "C", "D"))


def parse_position(text: str) -> float:
    """Seconds from ``42.5``, ``1:02.5`` or ``1:00:02``."""
    try:
        seconds = 0.0
        for part in text.strip().split(":"):
            seconds = seconds * 60.0 + float(part)
    except ValueError:
        raise ParameterError(f"{text!r} is not a position: use seconds or m:ss") from None
    if seconds < 0:
        raise ParameterError(f"{text!r}: a position is 0 or more")
    return seconds


def request_for(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    """The protocol command and arguments for a parsed subcommand."""
    action = args.action
    if action in ("play", "stop"):
        return action, {}
    if action == "locate":
        return "locate", {"seconds": parse_position(args.position)}
    if action == "loop":
        if len(args.region) == 1 and args.region[0] in ON_OFF:
            return "loop", {"on": args.region[0] == "on"}
        if len(args.region) == 2:
            start, end = (parse_position(t) for t in args.region)
            return "loop", {"start_s": start, "end_s": end, "on": True}
        raise ParameterError("loop: give START END, or on, or off")
    if action in ("bypass", "reference"):
        return action, {} if args.on is None else {"on": args.on == "on"}
    if action == "match":
        return "match", {"on": args.on == "on"}
    if action == "load":
        command = "load_reference" if args.reference else "load_song"
        extra = {"title": args.title} if args.title else {}
        return command, {"path": str(Path(args.path).resolve()), **extra}
    if action == "mode":
        return "album_mode", {"on": args.mode == "album"}
    if action == "join":
        number = {"number": args.number} if args.number is not None else {}
        return "album_join", {**number, "loop": args.loop}
    return f"snapshot_{args.op}", {"slot": args.slot}


def describe_album_mode(state: dict[str, Any]) -> str:
    """One line: album mode on (its length, the song heard) or off."""
    if not state.get("on"):
        return "album mode off: one song at a time"
    return (f"album mode: {len(state['songs'])} songs, {clock(state['length_s'])}; at "
            f"{clock(state['position_s'])} in {state['song']}")


def run(args: argparse.Namespace) -> int:
    """Send the command and print the outcome."""
    command, arguments = request_for(args)
    decodes = command.startswith("load_") or command == "album_mode"
    timeout = 120.0 if decodes else 10.0  # decoding takes a while
    with client_from_args(args, timeout=timeout) as client:
        data = client.request(command, **arguments)
    if "album_mode" in data:
        print(describe_album_mode(data["album_mode"]))
    elif "join" in data:
        join = data["join"]
        print(f"join into song {join['number']} at {clock(join['start_s'])}: playing from "
              f"{clock(join['from_s'])}{' (looped)' if join['loop'] else ''}")
    elif "transport" in data:
        print(describe_transport(data["transport"]))
    elif "song" in data or "reference" in data:
        which = "song" if "song" in data else "reference"
        print(f"{which}: {describe_track(data[which])}")
    else:
        print(f"snapshot {data.get('snapshot')} {'stored' if args.op == 'store' else 'recalled'}")
    return 0


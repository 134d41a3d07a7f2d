"""``masterdeck room``: the client's listening room, served by the running daemon.

The room is closed until ``room start``. ``room invite --name NAME`` prints a
link holding a new token (made by the daemon, shown this once: only its hash
is kept, in a 0600 file); the client opens it in a browser and hears the
monitor live (Opus over WebRTC), sees the song, its place on the album, what
is heard and the loudness, and leaves notes that land as markers where they
heard the moment. ``room grant NAME ab bypass reference`` hands a client
switches (``room grant NAME`` with none takes them back); ``room revoke
NAME`` cuts the client off at once. ``room list`` shows the invites and who
listens now. The room listens on loopback (``127.0.0.1:8765``) unless told
otherwise (``--bind`` or ``[room] bind`` in the config); beyond loopback it
serves HTTPS only, with ``--cert``/``--key`` or a self-signed certificate.
A client who cannot reach this machine's addresses (behind a tunnel, a proxy,
a strict firewall) hears the room through a TURN server: ``--ice-server`` and
``--turn-secret-file`` (docs/room.md).
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from console.control.client import add_connection_arguments, client_from_args

SWITCHES = ("ab", "bypass", "reference")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``room`` subcommand and its actions."""
    parser = subparsers.add_parser("room", help="the client's listening room (browser, live)",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    start = actions.add_parser("start", help="open the room")
    start.add_argument("--bind", metavar="HOST:PORT", help="where to listen "
                       "(default: the config's, else 127.0.0.1:8765)")
    start.add_argument("--cert", metavar="PEM", help="TLS certificate (beyond loopback)")
    start.add_argument("--key", metavar="PEM", help="its private key")
    start.add_argument("--url", help="the address clients open, when not the bound one")
    start.add_argument("--bitrate", type=int, metavar="KBPS", help="Opus bitrate, 256..510")
    start.add_argument("--ice-server", action="append", metavar="URL", dest="ice_servers",
                       help="a TURN or STUN server as clients reach it, e.g. "
                       "turn:turn.example.com:3478?transport=tcp (repeat for more)")
    start.add_argument("--turn-secret-file", metavar="FILE",
                       help="the TURN server's shared secret (0600; coturn's "
                       "static-auth-secret): each listener gets credentials of its own")
    start.add_argument("--ice-policy", choices=("all", "relay"),
                       help="relay: clients reach the audio through the TURN server only")
    actions.add_parser("stop", help="close the room (every listener is told)")
    invite = actions.add_parser("invite", help="make an invite and print its link")
    invite.add_argument("--name", help="who it is for (default client, client-2 ...)")
    invite.add_argument("--grant", nargs="*", choices=SWITCHES, default=[], metavar="SWITCH",
                        help=f"switches to hand over: {', '.join(SWITCHES)}")
    actions.add_parser("list", help="invites, listeners, where the room listens")
    revoke = actions.add_parser("revoke", help="delete an invite; its listeners are cut off")
    revoke.add_argument("name")
    grant = actions.add_parser("grant", help="set the switches an invite may use")
    grant.add_argument("name")
    grant.add_argument("switches", nargs="*", choices=SWITCHES, metavar="SWITCH",
                       help=f"any of {', '.join(SWITCHES)}; none: listening only")
    for action in (start, invite, grant, revoke):
        action.add_argument("--json", action="store_true", help="print the reply as JSON")
    actions.choices["list"].add_argument("--json", action="store_true",
                                         help="print the reply as JSON")
    actions.choices["stop"].add_argument("--json", action="store_true",
                                         help="print the reply as JSON")
    for action in actions.choices.values():
        add_connection_arguments(action)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Send the action to the daemon and print what it says."""
    request = _request(args)
    with client_from_args(args) as client:
        reply = client.request(*request[:1], **request[1])
    if args.json:
        print(json.dumps(reply, indent=1))
        return 0
    for line in _lines(args.action, reply):
        print(line)
    return 0


def _request(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    if args.action == "start":
        given = {"bind": args.bind, "cert": _absolute(args.cert), "key": _absolute(args.key),
                 "url": args.url, "bitrate_kbps": args.bitrate, "ice_servers": args.ice_servers,
                 "turn_secret_file": _absolute(args.turn_secret_file),
                 "ice_policy": args.ice_policy}
        return "room_start", {k: v for k, v in given.items() if v is not None}
    if args.action == "invite":
        return "room_invite", {**({"name": args.name} if args.name else {}),
                               "grants": list(args.grant)}
    if args.action == "revoke":
        return "room_revoke", {"name": args.name}
    if args.action == "grant":
        return "room_grant", {"name": args.name, "switches": list(args.switches)}
    return {"stop": "room_stop", "list": "room"}[args.action], {}


def _absolute(path: str | None) -> str | None:
    """A file named here, as the daemon (in a folder of its own) must open it."""
    return os.path.abspath(os.path.expanduser(path)) if path else path


def _lines(action: str, reply: dict[str, Any]) -> list[str]:
    if action == "invite":
        invite = reply["invite"]
        lines = [invite["link"], f"for {invite['name']}; switches: "
                 f"{', '.join(invite['grants']) or 'none (listening only)'}"]
        if invite.get("replaced"):
            lines.append("the earlier link for this name no longer works")
        if not invite["running"]:
            lines.append("the room is closed: `masterdeck room start` opens it")
        return lines
    if action == "revoke":
        revoked = reply["revoked"]
        return [f"revoked {revoked['name']}; {revoked['cut_off']} listener(s) cut off"]
    if action == "grant":
        invite = reply["invite"]
        return [f"{invite['name']} may switch: {', '.join(invite['grants']) or 'nothing'}"]
    return describe(reply["room"])


def describe(room: dict[str, Any]) -> list[str]:
    """The room's state in a few lines (``room list``, ``room start``, ``room stop``)."""
    if room["running"]:
        lines = [f"room open at {room['url']} (bound to {room['bind']}, Opus "
                 f"{room['bitrate_kbps']} kb/s)"]
        tls = room.get("tls")
        if tls:
            lines.append(f"TLS {'self-signed' if tls['self_signed'] else 'certificate'} "
                         f"{tls['certificate']}; SHA-256 {tls['fingerprint_sha256']}")
    else:
        lines = ["room closed"]
    lines.append(f"invites ({len(room['invites'])}):")
    for invite in room["invites"]:
        lines.append(f"  {invite['name']:<20} made {invite['created']} · switches: "
                     f"{', '.join(invite['grants']) or 'none'}")
    lines.append(f"listeners ({len(room['listeners'])}):")
    for row in room["listeners"]:
        lines.append(f"  {row['name']:<20} since {row['connected_since']} · "
                     f"{row['audio_bytes_sent'] / 1e6:.1f} MB sent · {row['state']}")
    return lines

"""``masterdeck preview PLATFORM``: hear the master as a streaming platform would play it.

The daemon plays the master (monitor path only, never rendered) at the gain
the platform's loudness normalisation would give the current song, worked
out from the album arc (the song as mastered): Spotify (normal, loud, quiet),
Apple Music's Sound Check, YouTube, Tidal, Amazon, Deezer, or ``custom
--reference LUFS``. ``--album`` previews the album played in order, at one
gain where the platform does that. ``off`` stops. Prints the gain, which way
it turns the song, and how sure the platform's rule is.
"""

from __future__ import annotations

import argparse

from console.control.client import add_connection_arguments, client_from_args
from console.offline.platforms import BY_ID


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``preview`` subcommand."""
    parser = subparsers.add_parser("preview", help="hear the master at a platform's gain",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("platform", choices=("off", "custom", *BY_ID), metavar="PLATFORM",
                        help=f"off, custom, or one of: {', '.join(BY_ID)}")
    parser.add_argument("--album", action="store_true", help="the album in order")
    parser.add_argument("--reference", type=float, metavar="LUFS", dest="reference_lufs",
                        help="with custom: the reference loudness")
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Ask the daemon and say what the platform does."""
    request = {"platform": args.platform, "album": args.album}
    if args.reference_lufs is not None:
        request["reference_lufs"] = args.reference_lufs
    with client_from_args(args) as client:
        state = client.request("preview", **request)["preview"]
    if state.get("platform") is None:
        print("preview off: the master plays at its own level")
        return 0
    limiter = ", through the player's limiter (-1 dBFS)" if state.get("limiter") else ""
    print(f"{state['name']} ({state['reference_lufs']:g} LUFS): {state['gain_db']:+.1f} dB, "
          f"turns the song {state['turns']}{limiter}; {state['why']} [{state['confidence']}]")
    return 0

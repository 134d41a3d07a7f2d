"""``masterdeck translate NAME|off``: hear the master as listeners will (monitor only).

The daemon plays what the monitors hear through a translation check: ``mono``
(the fold-down), ``side`` (only what differs between the channels), ``swap``
(left and right swapped), or a listening-device curve: ``phone``, ``laptop``,
``earbuds``, ``car`` (engineering approximations of those devices, not
measurements of one). Each plays at the loudness of the master, so switching
is about tone, not level, and crossfades without a click. ``off`` is the
master as it is. Nothing rendered goes through a check.
"""

from __future__ import annotations

import argparse

from console.cli.status import describe_transport
from console.control.client import add_connection_arguments, client_from_args
from console.control.wire import TRANSLATIONS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``translate`` subcommand."""
    parser = subparsers.add_parser("translate", help="hear the master as a listener's device would",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", choices=TRANSLATIONS, metavar="NAME",
                        help=f"one of: {', '.join(TRANSLATIONS)}")
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Ask the daemon and print the transport."""
    with client_from_args(args) as client:
        transport = client.request("translate", name=args.name)["transport"]
    print(describe_transport(transport))
    return 0

"""``masterdeck set``: change parameters on the running daemon.

Each argument is ``ID=VALUE``; values are read as a person types them
(``-1.5``, ``on``, ``high_shelf``). All are set together or, if any id or
value is refused, none is. Prints the values as set.
"""

from __future__ import annotations

import argparse
import json

from console.control.client import add_connection_arguments, client_from_args
from dsp import params as P
from dsp.errors import ParameterError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``set`` subcommand."""
    parser = subparsers.add_parser("set", help="set parameters on the daemon",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("assignments", nargs="+", metavar="ID=VALUE")
    parser.add_argument("--json", action="store_true", help="print the values set as JSON")
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def parse_assignments(texts: list[str]) -> dict[str, str]:
    """``["a.b=1", ...]`` as ``{"a.b": "1"}``; the daemon reads the values."""
    values: dict[str, str] = {}
    for text in texts:
        param_id, sep, value = text.partition("=")
        if not sep or not param_id.strip() or not value.strip():
            raise ParameterError(f"{text!r}: write ID=VALUE, e.g. limiter.ceiling_dbtp=-1")
        values[param_id.strip()] = value.strip()
    return values


def run(args: argparse.Namespace) -> int:
    """Send the values and print what was set."""
    values = parse_assignments(args.assignments)
    with client_from_args(args) as client:
        done = client.request("set", values=values)["values"]
    if args.json:
        print(json.dumps(done, indent=1))
        return 0
    width = max(map(len, done), default=0)
    for param_id, value in done.items():
        print(f"{param_id:<{width}}  {P.get(param_id).display(value)}")
    return 0

"""``masterdeck get``: parameter values from the running daemon.

Give parameter ids (``limiter.ceiling_dbtp``) or stage names (``limiter``);
with none, every parameter. Each line shows the id and the value as an
engineer reads it; ``--json`` prints ``{id: value}`` in the table's units.
"""

from __future__ import annotations

import argparse
import json

from console.control.client import add_connection_arguments, client_from_args
from dsp import params as P


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``get`` subcommand."""
    parser = subparsers.add_parser("get", help="print parameter values from the daemon",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", metavar="ID", help="parameter ids or stage names")
    parser.add_argument("--json", action="store_true", help="print a JSON object {id: value}")
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


def expand(names: list[str]) -> list[str]:
    """Parameter ids for ``names``: a stage name stands for all of its parameters."""
    ids: list[str] = []
    for name in names:
        ids += [p.id for p in P.PARAMS if p.stage == name] if name in P.STAGES else [name]
    return ids


def run(args: argparse.Namespace) -> int:
    """Ask the daemon for the values and print them."""
    ids = expand(args.ids)
    with client_from_args(args) as client:
        values = client.request("get", **({"ids": ids} if ids else {}))["values"]
    if args.json:
        print(json.dumps(values, indent=1))
        return 0
    width = max(map(len, values), default=0)
    for param_id, value in values.items():
        print(f"{param_id:<{width}}  {P.get(param_id).display(value)}")
    return 0

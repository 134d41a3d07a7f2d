"""``masterdeck params``: print the parameter table, the names everything speaks."""

from __future__ import annotations

import argparse
import json

from dsp.params import PARAMS


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``params`` subcommand."""
    parser = subparsers.add_parser(
        "params", help="list every parameter (id, range, default, unit)", description=__doc__
    )
    parser.add_argument("--json", action="store_true", help="print a JSON array of objects")
    parser.add_argument("--stage", help="only this stage (input, eq, comp, ...)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Print the table as text or JSON."""
    rows = [p for p in PARAMS if args.stage is None or p.stage == args.stage]
    if args.json:
        print(json.dumps([p.as_dict() for p in rows], indent=1))
        return 0
    width = max(len(p.id) for p in rows) if rows else 0
    for p in rows:
        if p.kind == "choice":
            span = " | ".join(p.choices)
        elif p.kind == "switch":
            span = "off | on"
        else:
            span = f"{p.min:g} .. {p.max:g} {p.unit}".rstrip()
        print(f"{p.id:<{width}}  {p.display(p.default):>12}  {span}")
    return 0

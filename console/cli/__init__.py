"""The ``masterdeck`` command line: one entry point, a subcommand per job.

Each subcommand lives in its own module under :mod:`console.cli` with a
``register(subparsers)`` function that adds its parser and sets ``run`` as the
handler. ``--help`` imports every one of them, so a subcommand module imports
only the standard library at the top and what it runs inside ``run()``: the
thin clients then start without numba, numpy or the DSP.

A handler returns the exit status: 0 for success, 1 when some inputs failed
but others were handled, 2 for a usage error (unknown id, bad value,
unreadable file). Errors raised on purpose (:class:`dsp.errors.MasterdeckError`)
are printed as one clear line; anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from dsp.errors import MasterdeckError

COMMANDS = ("serve", "demo", "status", "get", "set", "transport", "session", "album", "preview",
            "translate", "render", "deliver", "analyze", "params", "surfaces", "compile", "bench",
            "room", "ui")
"""Modules in :mod:`console.cli`, in the order ``--help`` lists them."""


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="masterdeck",
        description="masterdeck: a mastering console (daemon, surfaces, UI, offline render).",
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"console.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"console.cli.{name}":
                raise
            continue  # a subcommand still being built
        module.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except MasterdeckError as exc:
        print(f"masterdeck {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into `head` and closed: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"masterdeck {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""``masterdeck compile``: compile every DSP kernel once, so that every start loads them.

numba compiles masterdeck's kernels on first use and keeps the machine code
in its cache (a folder named after the DSP sources, under
``$XDG_CACHE_HOME/masterdeck/numba`` unless ``NUMBA_CACHE_DIR`` is set). This
does that first compile up front, in worker processes side by side, with a
progress bar: the daemon, ``render`` and ``analyze`` then start in about a
second. ``./dev setup`` runs it. With a complete cache it only says so.
``--all`` adds what only rarer runs need (the live-input callback,
``Chain.process``), which is otherwise compiled on first use. ``--check``
loads every kernel in this one process and names any that had to be
compiled (exit status 1 then).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from console.cli.progress import ProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``compile`` subcommand."""
    parser = subparsers.add_parser("compile", help="compile the DSP kernels once, into the cache",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--all", action="store_true", dest="everything",
                        help="also the kernels only rarer runs need (live input, Chain.process)")
    parser.add_argument("--force", action="store_true",
                        help="run every job even if the cache is complete (kernels that are "
                             "cached load)")
    parser.add_argument("--check", action="store_true",
                        help="load every kernel in this process; exit 1 if any had to compile")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="worker processes (default: one per core, at most 4)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Compile (or check) and report."""
    from console.engine import kernels

    folder = kernels.cache_folder()
    names = list(kernels.BY_NAME) if args.everything else None
    if args.check:
        return _check(kernels, names, args)
    if not args.force and kernels.ready(names):
        if args.json:
            print(json.dumps({"cache": str(folder), "compiled": False, "ready": True}))
        else:
            print(f"masterdeck compile: every kernel is compiled already (cache: {folder})")
        return 0
    bar = ProgressBar(sys.stderr, "compiling kernels") if sys.stderr.isatty() else None
    if not args.json:
        print(f"masterdeck compile: compiling the DSP kernels, once: later starts load them "
              f"from {folder}", file=sys.stderr)

    def report(progress) -> None:
        if bar is not None:
            bar.update(progress.fraction, f"{progress.done}/{progress.total} "
                                          f"{', '.join(progress.running)}")
        elif progress.finished is not None and not args.json:
            print(kernels.describe(progress), file=sys.stderr, flush=True)

    started = time.perf_counter()
    outcomes = kernels.compile_all(report, names=names, workers=args.workers)
    seconds = time.perf_counter() - started
    if bar is not None:
        bar.close()
    compiled = sum(len(outcome.compiled) for outcome in outcomes)
    if args.json:
        print(json.dumps({"cache": str(folder), "compiled": True, "ready": kernels.ready(names),
                          "seconds": round(seconds, 1), "kernels_compiled": compiled,
                          "jobs": {o.name: round(o.seconds, 1) for o in outcomes}}))
    else:
        print(f"masterdeck compile: done in {seconds:.1f} s ({compiled} kernels compiled); "
              f"cached in {folder}", file=sys.stderr)
    return 0


def _check(kernels, names: list[str] | None, args: argparse.Namespace) -> int:
    outcomes = kernels.check(names)
    compiled = [name for outcome in outcomes for name in outcome.compiled]
    if args.json:
        print(json.dumps({"jobs": len(outcomes), "compiled": compiled,
                          "seconds": round(sum(o.seconds for o in outcomes), 2)}))
    else:
        for outcome in outcomes:
            state = ", ".join(outcome.compiled) if outcome.compiled else "loaded"
            print(f"{outcome.name:14s} {outcome.seconds:6.2f} s  {state}")
        print(f"{len(outcomes)} jobs; {len(compiled)} kernels had to compile")
    return 1 if compiled else 0

"""``masterdeck deliver SESSION OUTDIR``: the finished album as every plant and platform takes it.

Renders the album once (each song through its own chain, placed as album
playback places it), then each target's files into ``OUTDIR/<target>/``:
``streaming``, ``cd`` (DDP 2.0 image and CUE sheet), ``hires``, ``broadcast``,
``vinyl``, and yours from ``$XDG_CONFIG_HOME/masterdeck/targets/``; plus
``OUTDIR/report.json`` and ``OUTDIR/report.html``. Songs are mastered a
process per core; a second run masters and writes only what changed. Prints
pass / warn / fail per song and target; exits 1 when anything fails, 2 when
a target cannot be delivered (the rule and the song are named).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

MARK = {"pass": "pass", "warn": "WARN", "fail": "FAIL"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``deliver`` subcommand."""
    parser = subparsers.add_parser("deliver", help="the album in every format a plant or "
                                   "platform takes, with a report", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("session", metavar="SESSION", nargs="?", help="the session folder")
    parser.add_argument("outdir", metavar="OUTDIR", nargs="?", help="where the targets go")
    parser.add_argument("--target", action="append", dest="targets", metavar="NAME",
                        help="deliver this target (again for more; default: all)")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="songs mastered at once (default: one per core)")
    parser.add_argument("--list-targets", action="store_true", help="list the targets")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run)


def summary(report: dict[str, Any]) -> list[str]:
    """The verdicts per song and target, then what failed or warned and why."""
    targets = report["targets"]
    songs = report["songs"]
    width = max([len(s["title"]) for s in songs] + [5])
    names = [t["name"] for t in targets]
    lines = [f"{'':>3} {'song':<{width}}  " + "  ".join(f"{n:>9}" for n in names)]

    def status(target: dict[str, Any], song: int | None) -> str:
        found = {c["status"] for c in target["checks"] if c["song"] == song}
        return "fail" if "fail" in found else "warn" if "warn" in found else "pass"

    for song in songs:
        cells = "  ".join(f"{MARK[status(t, song['number'])]:>9}" for t in targets)
        lines.append(f"{song['number']:>3} {song['title']:<{width}}  {cells}")
    lines.append(f"{'':>3} {'album':<{width}}  " +
                 "  ".join(f"{MARK[status(t, None)]:>9}" for t in targets))
    for target in targets:
        for check in target["checks"]:
            if check["status"] != "pass":
                lines.append(f"{MARK[check['status']]} {target['name']}: {check['detail']}")
    for codec in report.get("codecs", []):
        if codec["status"] != "pass":
            lines.append(f"WARN codec: song {codec['song']} decoded from {codec['codec']} "
                         f"peaks at {codec['true_peak_dbtp']:+.2f} dBTP")
    kept = [t["name"] for t in targets if t.get("kept")]
    if kept:
        lines.append(f"unchanged since the last delivery, left as they were: {', '.join(kept)}")
    return lines


def run(args: argparse.Namespace) -> int:
    """Deliver, with a progress bar; print the summary."""
    from console.cli.progress import ProgressBar
    from console.delivery.targets import available, user_folder
    from dsp import prebuilt

    prebuilt.use()
    if args.list_targets:
        for name, target in available().items():
            print(f"{name:<10} {target.description}  [{target.source}]")
        print(f"(your own: {user_folder()}/NAME.toml)")
        return 0
    if not args.session or not args.outdir:
        print("masterdeck deliver: give SESSION and OUTDIR", file=sys.stderr)
        return 2
    from console.delivery.deliver import deliver

    bar = ProgressBar(sys.stderr, "delivering") if sys.stderr.isatty() else None
    try:
        report = deliver(args.session, args.outdir, args.targets, args.workers,
                         bar.update if bar else None)
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        print(json.dumps(report))
    else:
        print("\n".join(summary(report)))
        print(f"report: {report['written'][-1] if report.get('written') else '-'}")
    failed = any(t["status"] == "fail" for t in report["targets"])
    return 1 if failed else 0

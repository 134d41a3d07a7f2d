"""``masterdeck render``: master a file offline through the chain.

The output has exactly the input's length and timing. Settings come from the
parameter defaults, then ``--preset``, then each ``--set`` in order. Errors
(an unreadable file, an unknown id, a value out of range) are reported before
anything is written, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from console.presets import load_preset, parse_assignment
from console.progress import ProgressBar
from console.render import render


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``render`` subcommand."""
    parser = subparsers.add_parser(
        "render", help="master an audio file offline", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("input", metavar="IN", help="audio file to master (any soundfile format)")
    parser.add_argument("output", metavar="OUT", help="file to write (format from the extension)")
    parser.add_argument("--set", dest="assignments", metavar="ID=VALUE", action="append",
                        nargs="+", default=[], help="set a parameter (repeatable)")
    parser.add_argument("--preset", metavar="FILE", help="TOML file of parameter settings")
    parser.add_argument("--bit-depth", choices=("16", "24", "32f"), default="24",
                        help="output word length (16 and 24 are dithered per output.dither)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Render and print the summary."""
    settings: dict[str, float] = {}
    if args.preset:
        settings.update(load_preset(args.preset))
    for group in args.assignments:
        for text in group:
            param_id, value = parse_assignment(text)
            settings[param_id] = value
    bar = ProgressBar(sys.stderr, label="render") if sys.stderr.isatty() else None
    report = render(args.input, args.output, settings, args.bit_depth,
                    progress=bar.update if bar else None)
    if bar:
        bar.close()
    if args.json:
        print(json.dumps(report.as_dict()))
        return 0

    def fmt(value: float | None, unit: str) -> str:
        return "silent" if value is None else f"{value:+.2f} {unit}"

    print(f"{report.output}: {report.duration_s:.2f} s at {report.sample_rate} Hz, "
          f"{report.bit_depth}-bit, rendered at {report.speed_x_realtime:g}x real time")
    print(f"  peak {fmt(report.output_peak_dbfs, 'dBFS')}, "
          f"true peak {fmt(report.output_true_peak_dbtp, 'dBTP')}, "
          f"limiter GR max {report.max_limiter_gr_db:.1f} dB, "
          f"compressor GR max {report.max_comp_gr_db:.1f} dB")
    if report.guard_trips:
        print(f"  warning: the input had NaN/Inf samples; {report.guard_trips} blocks were muted")
    return 0

"""``masterdeck analyze``: measure audio files to EBU R128 / BS.1770-4.

Per file: integrated loudness, loudness range, true peak, sample peak, the
momentary and short-term maxima and PLR. Files are read in blocks, so a long
file never has to fit in memory. A file that cannot be read is reported as
such and the others are still measured; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``analyze`` subcommand."""
    parser = subparsers.add_parser(
        "analyze", help="measure loudness, LRA and true peak of audio files",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("files", nargs="+", metavar="FILE", help="audio files (WAV, FLAC, ...)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON array with an object per file")
    parser.add_argument("--dual-mono", action="store_true",
                        help="measure mono files as played on two speakers (+3.01 dB); "
                             "files with more channels are measured as they are")
    parser.set_defaults(run=run)


def _cell(value: float | None, width: int) -> str:
    return f"{'-' if value is None else f'{value:.1f}':>{width}}"


def _print_table(results: list[dict]) -> None:
    columns = [("integrated_lufs", "I LUFS"), ("loudness_range_lu", "LRA LU"),
               ("true_peak_dbtp", "TP dBTP"), ("sample_peak_dbfs", "SP dBFS"),
               ("momentary_max_lufs", "M max"), ("short_term_max_lufs", "S max"),
               ("plr_db", "PLR dB")]
    name_width = max([4] + [len(r["path"]) for r in results])
    print(f"{'FILE':<{name_width}}  " + "  ".join(f"{title:>7}" for _, title in columns)
          + "  FORMAT")
    for r in results:
        if "error" in r:
            print(f"{r['path']:<{name_width}}  error: {r['error']}")
            continue
        cells = "  ".join(_cell(r[key], 7) for key, _ in columns)
        fmt = f"{r['sample_rate']} Hz, {r['channels']} ch, {r['duration_s']:.1f} s"
        print(f"{r['path']:<{name_width}}  {cells}  {fmt}")


def run(args: argparse.Namespace) -> int:
    """Measure every file, print a table or JSON; return 1 if any file failed."""
    import soundfile as sf

    from dsp import prebuilt

    prebuilt.use()  # start without numba where ``masterdeck compile`` prebuilt the kernels

    from console.offline.analyze import analyze_file, failure
    from dsp.errors import MasterdeckError

    results = []
    for path in args.files:
        try:
            results.append(analyze_file(path, dual_mono=args.dual_mono))
        except (OSError, RuntimeError, sf.SoundFileError, MasterdeckError) as exc:
            results.append(failure(path, exc))
    failed = [r for r in results if "error" in r]
    if args.json:
        print(json.dumps(results, indent=1))
        for r in failed:  # stdout stays pure JSON; say it on stderr too
            print(f"masterdeck analyze: {r['error']}", file=sys.stderr)
    else:
        _print_table(results)
    return 1 if failed else 0

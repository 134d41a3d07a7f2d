"""``masterdeck analyze``: measure audio files to EBU R128 / BS.1770-4.

Per file: integrated loudness, loudness range, true peak, sample peak, the
momentary and short-term maxima and PLR. Files are read in blocks, so a long
file never has to fit in memory. A file that cannot be read is reported as
such and the others are still measured; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import soundfile as sf

from dsp.errors import MasterdeckError
from dsp.meter import LoudnessMeter

BLOCK_FRAMES = 65536
"""Frames read per block."""

KEYS = ("path", "sample_rate", "channels", "duration_s", "integrated_lufs",
        "loudness_range_lu", "true_peak_dbtp", "sample_peak_dbfs", "momentary_max_lufs",
        "short_term_max_lufs", "plr_db")
"""The keys of every JSON object, in order (failed files add ``error``)."""

DECIMALS = 4


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


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, DECIMALS)


def analyze_file(path: str, *, dual_mono: bool = False) -> dict:
    """Measure one file; return its result object (see :data:`KEYS`).

    Raises
    ------
    OSError, RuntimeError, MasterdeckError
        The file is missing or not audio soundfile can decode, or holds
        NaN/Inf samples.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"is a directory: {path}")
    with sf.SoundFile(path) as audio:
        rate, channels = audio.samplerate, audio.channels
        meter = LoudnessMeter(rate, channels, dual_mono=dual_mono and channels == 1)
        for block in audio.blocks(BLOCK_FRAMES, dtype="float64", always_2d=True):
            meter.process(block)
    reading = meter.reading()
    return {
        "path": path,
        "sample_rate": rate,
        "channels": channels,
        "duration_s": _rounded(reading.duration_s),
        **{key: _rounded(getattr(reading, key)) for key in KEYS[4:]},
    }


def _failure(path: str, exc: BaseException) -> dict:
    result: dict = dict.fromkeys(KEYS)
    result["path"] = path
    if isinstance(exc, (FileNotFoundError, IsADirectoryError)):
        message = str(exc)
    elif isinstance(exc, MasterdeckError):
        message = f"cannot measure {path}: {exc}"
    else:  # soundfile's errors carry libsndfile's reason, e.g. "Format not recognised."
        reason = getattr(exc, "error_string", None) or str(exc)
        message = f"cannot read {path} as audio: {reason}"
    result["error"] = message
    return result


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
    results = []
    for path in args.files:
        try:
            results.append(analyze_file(path, dual_mono=args.dual_mono))
        except (OSError, RuntimeError, sf.SoundFileError, MasterdeckError) as exc:
            results.append(_failure(path, exc))
    failed = [r for r in results if "error" in r]
    if args.json:
        print(json.dumps(results, indent=1))
        for r in failed:  # stdout stays pure JSON; say it on stderr too
            print(f"masterdeck analyze: {r['error']}", file=sys.stderr)
    else:
        _print_table(results)
    return 1 if failed else 0

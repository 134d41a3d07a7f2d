"""``masterdeck album --session DIR``: the album's shape, song by song, as it will be mastered.

Every song is mastered through its own chain (settings, automation, level
offset, fades), placed on the album timeline after its gap or crossfading
into the last, and measured: integrated loudness, the loudest 3 s
(short-term max), loudness range and true peak, and the change in
integrated loudness from the song before (what the level plan is for).
The whole album is measured too, and what each streaming platform's loudness
normalisation will do: the gain it plays each song at alone, and the one gain
it plays the album at in order where it does (how sure each fact is is
shown). ``--json`` prints one object: ``songs`` (with ``start_s``/``length_s``
and ``start``/``frames`` in samples), ``album`` and ``platforms``.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from console.cli.progress import ProgressBar


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``album`` subcommand."""
    parser = subparsers.add_parser("album", help="the album arc: every song mastered and "
                                   "measured in order", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--session", metavar="DIR", required=True,
                        help="the session folder (read only; no daemon needed)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


def _figure(value: float | None, width: int = 7, signed: bool = False) -> str:
    if value is None:
        return "-".rjust(width)
    return f"{value:+{width}.1f}" if signed else f"{value:{width}.1f}"


def print_arc(arc: dict[str, Any]) -> None:
    """The arc as a table: a line per song, then the album."""
    print(f"{'#':>2}  {'song':<24} {'start':>8} {'length':>7} {'LUFS':>7} {'ST max':>7} "
          f"{'LRA':>5} {'dBTP':>6} {'change':>7}")
    for song in arc["songs"]:
        minutes, seconds = divmod(song["start_s"], 60.0)
        print(f"{song['number']:>2}  {song['title'][:24]:<24} {int(minutes):>4}:{seconds:04.1f} "
              f"{song['length_s']:>6.1f}s {_figure(song['integrated_lufs'])} "
              f"{_figure(song['max_short_term_lufs'])} {_figure(song['lra_lu'], 5)} "
              f"{_figure(song['true_peak_dbtp'], 6)} {_figure(song['change_lu'], 7, True)}")
    album = arc["album"]
    print(f"    {'album':<24} {'':>8} {album['length_s']:>6.1f}s "
          f"{_figure(album['integrated_lufs'])} {'':>7} {_figure(album['lra_lu'], 5)} "
          f"{_figure(album['true_peak_dbtp'], 6)}")
    if not arc.get("platforms"):
        return
    numbers = "".join(f"{'#' + str(s['number']):>7}" for s in arc["songs"])
    print(f"\n{'platform gain, dB':<28} {'ref':>5}{numbers} {'album':>7}  how sure")
    for row in arc["platforms"]:
        gains = "".join(_figure(g, 7, True) for g in row["track_gains_db"])
        print(f"{row['name'][:28]:<28} {row['reference_lufs']:>5.0f}{gains} "
              f"{_figure(row['album_gain_db'], 7, True)}  {row['confidence']}")


def run(args: argparse.Namespace) -> int:
    """Measure the album and print the arc."""
    from dsp import prebuilt

    prebuilt.use()  # start without numba where ``masterdeck compile`` prebuilt the kernels
    from console.offline.album import measure_album

    bar = ProgressBar(sys.stderr, label="album") if sys.stderr.isatty() else None
    arc = measure_album(args.session, progress=bar.update if bar else None)
    if bar:
        bar.close()
    if args.json:
        print(json.dumps(arc))
    else:
        print_arc(arc)
    return 0

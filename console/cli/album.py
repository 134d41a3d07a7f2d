"""``masterdeck album``: the album's shape, song by song, as it will be mastered.

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

With ``--session DIR`` it measures the session folder here (no daemon
needed); without, it asks the running daemon, which keeps the arc of its
session current in a worker process (``--wait`` waits for a measurement
under way to land).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from typing import Any

from console.cli.progress import ProgressBar
from console.control.client import add_connection_arguments, client_from_args
from dsp.errors import MasterdeckError

WAIT_S = 600.0
"""How long ``--wait`` waits for a measurement under way."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``album`` subcommand."""
    parser = subparsers.add_parser("album", help="the album arc: every song mastered and "
                                   "measured in order", description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--session", metavar="DIR",
                        help="measure this session folder here (read only; no daemon needed)")
    parser.add_argument("--wait", action="store_true",
                        help="from the daemon: wait for a measurement under way")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    add_connection_arguments(parser)
    parser.set_defaults(run=run)


class AlbumError(MasterdeckError):
    """The daemon has no arc to give (no session, no songs, a song it cannot read)."""


def _from_daemon(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    with client_from_args(args) as client:
        while True:
            answer = client.request("album")["album"]
            if not (args.wait and answer["measuring"]) or time.monotonic() > deadline:
                break
            time.sleep(0.2)
    arc = answer["arc"]
    if arc is None:
        raise AlbumError("the daemon has no album arc yet" + (
            " (measuring now: try --wait)" if answer["measuring"] else ""))
    if "error" in arc:
        raise AlbumError(f"the daemon could not measure the album: {arc['error']}")
    return arc


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


def _here(folder: str) -> dict[str, Any]:
    from dsp import prebuilt

    prebuilt.use()  # start without numba where ``masterdeck compile`` prebuilt the kernels
    from console.offline.album import measure_album

    bar = ProgressBar(sys.stderr, label="album") if sys.stderr.isatty() else None
    arc = measure_album(folder, progress=bar.update if bar else None)
    if bar:
        bar.close()
    return arc


def run(args: argparse.Namespace) -> int:
    """Measure the album (here or in the daemon) and print the arc."""
    arc = _here(args.session) if args.session else _from_daemon(args)
    if args.json:
        print(json.dumps(arc))
    else:
        print_arc(arc)
    return 0

"""``masterdeck render``: master a file offline through the chain.

The output has exactly the input's length and timing. ``--session DIR --song N
OUT`` renders a song of a session with its settings, level offset, fades and
automation, exactly as the console played it; ``--all OUTDIR`` renders them all;
``--album OUT`` renders the album as one file: every song mastered through its
own chain, in order, after its gap or crossfading into the last (``--json``
gives where each song starts: the split points).
Settings come from the parameter defaults, then ``--preset``, then each
``--set`` in order. Errors (an unreadable file, an unknown id, a value out of
range) are reported before anything is written, with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from console.cli.progress import ProgressBar
from dsp.errors import MasterdeckError


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``render`` subcommand."""
    parser = subparsers.add_parser(
        "render", help="master an audio file offline", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="IN OUT",
                        help="IN: audio file to master (any soundfile format); OUT: file to "
                             "write (format from the extension). With --session: OUT only")
    parser.add_argument("--session", metavar="DIR",
                        help="render from a session: the song's settings, level offset, fades "
                             "and automation, exactly as heard live")
    parser.add_argument("--song", type=int, metavar="N", help="with --session: song number N "
                        "(from 1, album order)")
    parser.add_argument("--all", metavar="OUTDIR", dest="all_dir",
                        help="with --session: every song to OUTDIR/NN-<id>.wav")
    parser.add_argument("--album", metavar="OUT", dest="album_out",
                        help="with --session: the album timeline as one file")
    parser.add_argument("--set", dest="assignments", metavar="ID=VALUE", action="append",
                        nargs="+", default=[], help="set a parameter (repeatable)")
    parser.add_argument("--preset", metavar="FILE", help="TOML file of parameter settings")
    parser.add_argument("--bit-depth", choices=("16", "24", "32f"), default="24",
                        help="output word length (16 and 24 are dithered per output.dither)")
    parser.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    parser.set_defaults(run=run)


def _run_album(args: argparse.Namespace) -> int:
    from console.cli.album import print_arc
    from console.offline.album import render_album

    if args.song is not None or args.all_dir or args.paths:
        raise UsageError("--album OUT renders the whole album: give no --song, --all or OUT")
    bar = ProgressBar(sys.stderr, label="album") if sys.stderr.isatty() else None
    report = render_album(args.session, args.album_out, args.bit_depth,
                          progress=bar.update if bar else None)
    if bar:
        bar.close()
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"{report['output']}: {report['album']['length_s']:.2f} s, {len(report['songs'])} "
          f"songs, {report['bit_depth']}-bit at {report['sample_rate']} Hz")
    print_arc(report)
    return 0


def _run_session(args: argparse.Namespace) -> int:
    from console.offline.session_render import render_all, render_song

    if args.album_out:
        return _run_album(args)
    if args.all_dir:
        if args.song is not None or args.paths:
            raise UsageError("--all OUTDIR renders every song: give no --song and no OUT")
        reports = render_all(args.session, args.all_dir, args.bit_depth)
    else:
        if args.song is None or len(args.paths) != 1:
            raise UsageError("with --session give --song N and one OUT (or --all OUTDIR)")
        bar = ProgressBar(sys.stderr, label="render") if sys.stderr.isatty() else None
        reports = [render_song(args.session, args.song, args.paths[0], args.bit_depth,
                               progress=bar.update if bar else None)]
        if bar:
            bar.close()
    if args.json:
        print(json.dumps(reports if args.all_dir else reports[0]))
        return 0
    for r in reports:
        tp = "silent" if r["true_peak_dbtp"] is None else f"{r['true_peak_dbtp']:+.2f} dBTP"
        print(f"{r['output']}: song {r['number']} {r['title']!r}, {r['duration_s']:.2f} s, "
              f"true peak {tp}, automation: {', '.join(r['lanes']) or 'none'}")
    return 0


class UsageError(MasterdeckError):
    """Arguments that do not fit together."""


def run(args: argparse.Namespace) -> int:
    """Render and print the summary."""
    from dsp import prebuilt

    prebuilt.use()  # start without numba where ``masterdeck compile`` prebuilt the kernels
    if args.session:
        return _run_session(args)
    if args.song is not None or args.all_dir or args.album_out:
        raise UsageError("--song, --all and --album need --session DIR")
    if len(args.paths) != 2:
        raise UsageError("give IN and OUT (or --session DIR --song N OUT)")
    from console.offline.presets import load_preset, parse_assignment
    from console.offline.render import render

    args.input, args.output = args.paths
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
    if report.warning:
        print(f"masterdeck render: warning: {report.warning}", file=sys.stderr)
        return 1
    return 0

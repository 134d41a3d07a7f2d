"""``masterdeck bench``: measure the chain and the meters, in times real time.

Figures are medians of several passes in this process, with reference
implementations (pedalboard for the chain, libebur128 and pyloudnorm for the
meters) run on the same audio in the same process, so the ratios hold even on
a noisy machine. ``--only commands`` times whole processes instead, as a user
runs them: thin clients, ``render`` and ``analyze`` against the scripts a user
would write with pedalboard and libebur128. Install the references with
``pip install masterdeck[bench]``. ``--only limiter-peers`` compares the
limiter with x42-dpl, LSP's limiter, ffmpeg's alimiter and pedalboard on
music it renders itself: loudness, distortion at equal loudness, IMD, true
peak, latency and speed (Debian packages: x42-plugins, lsp-plugins-lv2,
lv2file, lilv-utils, ffmpeg; fluidsynth and fluid-soundfont-gm for the music).
``--only room`` measures the listening room on loopback: the delay from the
engine's output to audio decoded in headless Chromium (``/usr/bin/chromium``,
driven by Playwright), alone and beside four listeners, and xruns in phases
that alternate between no listener and four (aiortc clients in one process).
``--only chaos`` is the chaos soak: a daemon with a session under random
changes, MIDI floods, bad files, disk-full spells (as root), ``kill -9`` and
SIGTERM for ``--seconds``, every acknowledged change checked after each restart.
"""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``bench`` subcommand."""
    parser = subparsers.add_parser("bench", help="measure DSP speed against references",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=("chain", "meters", "startup", "commands", "soak",
                                           "session", "limiter-peers", "room", "chaos"),
                        help="run one benchmark (soak, limiter-peers, room and chaos run only "
                             "when named)")
    parser.add_argument("--seconds", type=float, default=None,
                        help="length of test audio (chain: 20, meters: 300; "
                             "limiter-peers: cut each song to this); soak and chaos: how long "
                             "to run (600); room: each phase (20; 10 suits)")
    parser.add_argument("--seed", type=int, default=None,
                        help="chaos: the seed of its random choices (printed; default: new)")
    parser.add_argument("--repeats", type=int, default=5, help="timed passes per figure")
    parser.add_argument("--block", type=int, default=64, help="soak: frames per callback")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the benchmarks and print their figures."""
    results: dict[str, object] = {}
    if args.only in (None, "chain"):
        from console.devtools.benchmarks.chain import run_chain_bench

        results["chain"] = run_chain_bench(args.seconds or 20.0, args.repeats)
        if not args.json:
            _print_chain(results["chain"])
    if args.only in (None, "meters"):
        from console.devtools.benchmarks.meters import run_meter_bench

        results["meters"] = run_meter_bench(args.seconds or 300.0)
        if not args.json:
            print(json.dumps(results["meters"], indent=1))
    if args.only in (None, "startup"):
        from console.devtools.benchmarks.startup import run_startup_bench

        results["startup"] = run_startup_bench()
        if not args.json:
            print("start-up (spawn to control socket answering):")
            print(json.dumps(results["startup"], indent=1))
    if args.only in (None, "commands"):
        from console.devtools.benchmarks.commands import run_commands_bench

        results["commands"] = run_commands_bench(args.seconds or 300.0, min(args.repeats, 5))
        if not args.json:
            print("whole processes (spawn to exit), against scripts a user would write:")
            print(json.dumps(results["commands"], indent=1))
    if args.only in (None, "session"):
        from console.devtools.benchmarks.session import run_session_bench

        results["session"] = run_session_bench()
        if not args.json:
            print("sessions and automation:")
            print(json.dumps(results["session"], indent=1))
    if args.only == "soak":
        from console.devtools.benchmarks.soak import run_soak

        results["soak"] = run_soak(args.seconds or 600.0, block=args.block)
        if not args.json:
            print(json.dumps(results["soak"], indent=1))
    if args.only == "room":
        from console.devtools.benchmarks.room import run_room_bench

        results["room"] = run_room_bench(args.seconds or 20.0)
        if not args.json:
            print("the listening room (loopback; delay to headless Chromium; xruns with "
                  "no listener and four):")
            print(json.dumps(results["room"], indent=1))
    if args.only == "chaos":
        from console.devtools.benchmarks.chaos.report import format_summary
        from console.devtools.benchmarks.chaos.run import run_chaos

        results["chaos"] = run_chaos(args.seconds or 600.0, args.seed)
        if not args.json:
            print("\n".join(format_summary(results["chaos"])))
    if args.only == "limiter-peers":
        code = _limiter_peers(args, results)
        if code:
            return code
    if args.json:
        print(json.dumps(results))
    return 0


def _limiter_peers(args: argparse.Namespace, results: dict[str, object]) -> int:
    """Run the limiter peer bench, or say what to install and return non-zero."""
    import sys

    from console.devtools.benchmarks import peer_limiters

    missing = peer_limiters.missing_packages()
    if missing:
        print("masterdeck bench: the limiter peers need Debian packages that are missing: "
              + ", ".join(missing), file=sys.stderr)
        print("  sudo apt-get install " + " ".join(peer_limiters.APT_PACKAGES)
              + " fluidsynth fluid-soundfont-gm", file=sys.stderr)
        return 2
    from console.devtools.benchmarks.limiter_peers import format_table, run_limiter_peers_bench

    results["limiter-peers"] = figures = run_limiter_peers_bench(args.seconds)
    if not args.json:
        print("\n".join(format_table(figures)))
    return 0


def _print_chain(figures: dict) -> None:
    print(f"chain benchmark: {figures['seconds_of_audio']:g} s of stereo "
          f"{figures['sample_rate']} Hz, median of {figures['repeats']} passes "
          f"(latency {figures['latency_samples']} samples)")
    blocks = figures["blocks"]
    keys = list(next(iter(blocks.values())).keys())
    print(f"{'x real time':<24}" + "".join(f"{b + ' fr':>12}" for b in blocks))
    for key in keys:
        label = key.replace("_x_realtime", "")
        print(f"{label:<24}" + "".join(f"{blocks[b][key]:>12}" for b in blocks))

"""``masterdeck ui``: the console UI, attached to a running daemon.

Runs in its own process, so drawing never competes with the audio. It finds
the daemon where ``serve`` puts its socket (or ``--socket``), or over TCP
with ``--connect HOST:PORT --token T`` (through ``ssh -L`` for a remote
rack). If the daemon is not there yet, or goes away, the UI says so and
reconnects by itself; quitting the UI never disturbs the daemon.

``--measure SECONDS`` runs the UI for that long once meters flow, then
quits and prints how many meter frames it showed per second and how much
CPU it used (CPU seconds per wall second), for benchmarks.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import threading
import time
from typing import Any

from console.control.client import add_connection_arguments


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``ui`` subcommand."""
    parser = subparsers.add_parser("ui", help="the console UI (meters, chain, album, surfaces)",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_connection_arguments(parser)
    parser.add_argument("--target-lufs", type=float, metavar="LUFS",
                        help="delivery loudness drawn on the meters (default -14; g cycles "
                             "presets)")
    parser.add_argument("--target-dbtp", type=float, metavar="DBTP",
                        help="true-peak ceiling drawn on the meters (default -1)")
    parser.add_argument("--measure", type=float, metavar="SECONDS",
                        help="quit after SECONDS of meters and print the refresh rate and the "
                             "UI's CPU use")
    parser.add_argument("--headless", action="store_true",
                        help="draw to no terminal (with --measure: the cost without output)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Run the UI until the user quits (or ``--measure`` ends it)."""
    from console.control.client import token_from_args
    from console.ui.app import build_app  # Textual loads only for this command

    app = build_app(args.socket, args.connect, token_from_args(args), target_lufs=args.target_lufs,
                    target_dbtp=args.target_dbtp, measure_s=args.measure)
    signal.signal(signal.SIGTERM, lambda *_: _quit_soon(app))
    app.run(headless=args.headless)
    if args.measure is not None:
        if app.measurement is None:
            print("masterdeck ui: no meter frames arrived; nothing measured")
            return 1
        print(json.dumps(app.measurement))
    return app.return_code or 0


def _quit_soon(app: Any) -> None:
    """SIGTERM: quit as ``q`` does, so the terminal is put back (not left in the UI's modes).

    A signal handler may not touch the app's event loop itself; a thread
    hands the exit to the loop, waiting for it if the app is still starting.
    An app that never comes up gets the default SIGTERM.
    """
    def hand_over() -> None:
        for _ in range(100):
            try:
                app.call_from_thread(app.exit)
                return
            except RuntimeError:  # not running yet
                time.sleep(0.05)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=hand_over, daemon=True).start()

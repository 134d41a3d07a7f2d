"""``masterdeck demo``: the whole console at once, on a demo album it makes itself.

The demo builds a session (four synthesised songs with a level plan, gaps,
fades, markers and notes, an opener that automation makes grow from soft
to loud, and a loud client reference), starts the daemon on it in a process
of its own (with its own JACK server and the dummy driver when there is no
sound card), plays the album, and opens the console UI in this terminal:
F2 meters and chain, F3 album, F4 automation, F5 surfaces, F1 the keys.
``q`` (or Ctrl-C) in the UI, or SIGTERM to the demo, stops the UI, the
daemon (it fades out and saves) and the JACK server it started.

The demo daemon listens on a private socket (printed at the start), so a
daemon of your own is not disturbed, and other clients can join:
``masterdeck status --socket PATH``. ``--headless`` shows a meter line
instead of the UI (so does a run without a terminal). The album is built
afresh on every run in ``$XDG_DATA_HOME/masterdeck/demo`` (or ``--folder``),
with the daemon's log beside it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

from console import config as configuration
from console.cli.serve import add_audio_arguments
from console.devtools.demo_processes import (
    SIGNALS,
    AlbumPlayer,
    Processes,
    Relay,
    StopFlag,
    say,
    terminal_state,
)

READY_TIMEOUT_S = 900.0
"""Longest wait for the daemon's socket (a cold start compiles every kernel first)."""
QUIET_NOTE_S = 15.0
"""Say that the daemon is still starting after this long without a word from it."""
SOCKET_BASE_MAX = 60
"""Longest runtime folder for the private socket (a Unix socket path has 107 bytes at most)."""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``demo`` subcommand."""
    parser = subparsers.add_parser("demo", help="the whole console on a built-in demo album",
                                   description=__doc__,
                                   formatter_class=argparse.RawDescriptionHelpFormatter)
    add_audio_arguments(parser)
    parser.add_argument("--headless", action="store_true",
                        help="no UI: a meter line on the terminal")
    parser.add_argument("--seconds", type=float, default=0.0,
                        help="stop after this long (default: until q, Ctrl-C or SIGTERM)")
    parser.add_argument("--folder", help="where to build the demo album (default: "
                        "$XDG_DATA_HOME/masterdeck/demo)")
    parser.add_argument("--jack", choices=("auto", "always", "never"), default="auto",
                        help="start a dummy JACK server: when no output device exists (auto)")
    parser.set_defaults(run=run)


def _has_output_device() -> bool:
    """Whether PortAudio sees an output device (it is shut down again afterwards)."""
    added = "JACK_NO_START_SERVER" not in os.environ
    if added:  # looking must not start a JACK server
        os.environ["JACK_NO_START_SERVER"] = "1"
    try:
        import sounddevice as sd

        try:
            return any(d["max_output_channels"] > 0 for d in sd.query_devices())
        except sd.PortAudioError:
            return False
        finally:
            sd._terminate()
    finally:
        if added:
            del os.environ["JACK_NO_START_SERVER"]


def _serve_command(args: argparse.Namespace, session: Path, socket_path: str) -> list[str]:
    """``masterdeck serve`` on the demo session, with the audio flags the demo was given."""
    command = [sys.executable, "-m", "console", "serve", "--session", str(session),
               "--socket", socket_path, "--virtual-midi"]
    for flag, key in (("--config", "config"), ("--device", "device"), ("--rate", "sample_rate"),
                      ("--block", "block_size"), ("--token", "token"),
                      ("--midi-backend", "midi_backend")):
        value = getattr(args, key, None)
        if value is not None:
            command += [flag, str(value)]
    command += ["--tcp", args.tcp or ""]  # never the TCP port of a daemon from the config file
    for binding in args.surfaces or ():
        command += ["--surface", binding]
    for flag, key in (("--python-callback", "python_callback"), ("--live-input", "live_input"),
                      ("--verbose", "verbose")):
        if getattr(args, key, None):
            command.append(flag)
    return command


def _private_socket(args: argparse.Namespace) -> tuple[str, str | None]:
    """The demo daemon's socket and the private folder made for it (None if given)."""
    if args.socket:
        return args.socket, None
    base = os.environ.get("XDG_RUNTIME_DIR")
    if not (base and os.path.isdir(base)) or len(base) > SOCKET_BASE_MAX:
        base = None  # the system's temporary folder: a socket's path must be short
    folder = tempfile.mkdtemp(prefix="masterdeck-demo-", dir=base)
    return os.path.join(folder, "control.sock"), folder


def run(args: argparse.Namespace) -> int:
    """Build the demo session, start JACK (if needed), the daemon and the UI; stop them all."""
    from console.devtools import demo_session

    headless = args.headless
    if not headless and not all(f.isatty() for f in (sys.stdin, sys.stdout, sys.stderr)):
        say("no terminal to draw the console in: showing the meter line instead (--headless)")
        headless = True
    root = Path(args.folder) if args.folder else configuration.data_home() / "demo"
    say(f"building the demo album in {root} (afresh each run)")
    demo = demo_session.build(root, args.sample_rate or 48000)
    socket_path, private = _private_socket(args)
    stop = StopFlag()
    stop.install()
    processes = Processes()
    status = 1
    try:
        with open(root / "daemon.log", "w", encoding="utf-8") as log:
            try:
                status = _run(args, demo, socket_path, headless, stop, processes, log)
            finally:
                for sig in SIGNALS:  # from here on nothing may interrupt the stop
                    signal.signal(sig, signal.SIG_IGN)
                daemon_status = processes.stop()
    finally:
        stop.restore()
        if private is not None:
            shutil.rmtree(private, ignore_errors=True)
    if daemon_status != 0:
        say(f"the daemon exited with status {daemon_status}; its log: {root / 'daemon.log'}")
        return status or 1
    say(f"stopped; the daemon's log is in {root / 'daemon.log'}")
    return status


def _run(args: argparse.Namespace, demo: Any, socket_path: str, headless: bool, stop: StopFlag,
         processes: Processes, log: IO[str]) -> int:
    """Start everything and run until the UI ends, ``--seconds`` pass or a signal comes."""
    from console.devtools.jackd import DummyJackServer

    env = dict(os.environ)
    need_jack = args.jack == "always" or (args.jack == "auto" and not _has_output_device())
    if need_jack:
        processes.jack = DummyJackServer(args.sample_rate or 48000, args.block_size or 256,
                                         detach=True, log=Path(log.name).with_name("jackd.log"))
        processes.jack.start()
        env = processes.jack.env()
        say(f"no sound card: playing into a dummy JACK server ({processes.jack.name})")
    if stop:
        return 0
    say(f"starting the daemon on {demo.folder}, control socket {socket_path}")
    say("a first start compiles the DSP kernels (a minute or two, once); later ones take "
        "about a second")
    processes.daemon = subprocess.Popen(
        _serve_command(args, demo.folder, socket_path), env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1,
        start_new_session=True)  # a Ctrl-C at the terminal reaches the demo alone
    processes.daemon_relay = Relay(processes.daemon.stdout, log)
    if not _wait_until_ready(processes, socket_path, stop):
        return 0 if stop else 1
    processes.daemon_ready = True
    processes.player = AlbumPlayer(socket_path, stop)
    processes.player.start()
    if headless:
        return _meter_lines(socket_path, args.seconds, stop)
    return _console_ui(socket_path, args.seconds, stop, processes)


def _wait_until_ready(processes: Processes, socket_path: str, stop: StopFlag) -> bool:
    """Wait until the daemon's socket answers (saying why it takes long); False if it died."""
    from console.control.client import Client, NoDaemonError

    daemon, relay = processes.daemon, processes.daemon_relay
    assert daemon is not None and relay is not None
    began = time.monotonic()
    while not stop:
        if daemon.poll() is not None:
            relay.join()
            say(f"the daemon exited ({daemon.returncode}) before it was ready")
            return False
        if os.path.exists(socket_path):
            try:
                with Client(socket_path, timeout=10.0, name="masterdeck-demo") as client:
                    client.request("status")
                return True
            except NoDaemonError:
                pass
        now = time.monotonic()
        if now - began > READY_TIMEOUT_S:
            say(f"the daemon did not answer within {READY_TIMEOUT_S:g} s")
            return False
        if now - relay.last_line_at > QUIET_NOTE_S:
            relay.last_line_at = now
            say(f"still starting ({now - began:.0f} s): compiling the DSP kernels, once")
        stop.sleep(0.25)
    return False


def _console_ui(socket_path: str, seconds: float, stop: StopFlag, processes: Processes) -> int:
    """Run ``masterdeck ui`` in this terminal until it ends (or ``seconds``, or a signal)."""
    assert processes.daemon_relay is not None
    say("opening the console UI: F2 meters, F3 album, F4 automation, F5 surfaces, F1 keys; "
        "q quits")
    processes.daemon_relay.echo = False  # the UI owns the terminal now; the log has the rest
    processes.terminal = terminal_state()
    processes.ui = subprocess.Popen([sys.executable, "-m", "console", "ui",
                                     "--socket", socket_path])
    began = time.monotonic()
    while processes.ui.poll() is None:
        if stop.sleep(0.1) or (seconds > 0 and time.monotonic() - began >= seconds):
            break
    processes.stop_ui()
    code = processes.ui.returncode
    return 0 if code == 0 or stop or seconds > 0 else code


def _meter_lines(socket_path: str, seconds: float, stop: StopFlag) -> int:
    """Print the meter line (in place on a terminal) until ``seconds`` or a signal."""
    from console.control.client import Client
    from dsp.errors import MasterdeckError

    tty = sys.stdout.isatty()
    began = time.monotonic()
    line = ""
    try:
        with Client(socket_path, timeout=10.0, name="masterdeck-demo-meters") as client:
            while not (seconds > 0 and time.monotonic() - began >= seconds):
                if stop.sleep(0.1):
                    break
                line = meter_line(client.request("status"))
                if tty:
                    sys.stdout.write("\r" + line[:120].ljust(120))
                    sys.stdout.flush()
    except MasterdeckError as exc:
        if tty:
            sys.stdout.write("\n")
        say(f"lost the daemon: {exc}")
        return 1
    if tty:
        sys.stdout.write("\n")
    print(line, flush=True)
    return 0


def meter_line(status: dict[str, Any]) -> str:
    """One line of what is playing and the meters, from a ``status`` reply."""
    m = status.get("meters") or {}
    transport = status.get("transport") or {}

    def f(key: str) -> str:
        value = m.get(key)
        return "  --  " if value is None else f"{value:6.1f}"

    title = (status.get("song") or {}).get("title") or "(no song)"
    return (f"{title[:24]:<24} {transport.get('position_s', 0.0):6.1f}s  "
            f"M{f('momentary_lufs')} S{f('short_term_lufs')} I{f('integrated_lufs')} LUFS  "
            f"TP{f('true_peak_dbtp')} dBTP  GR comp {m.get('comp_gr_db') or 0:4.1f} "
            f"lim {m.get('limiter_gr_db') or 0:4.1f} dB  [{transport.get('source', '?')}]")

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
import threading
import time
from pathlib import Path
from typing import IO, Any

from console import config as configuration
from console.cli.serve import add_audio_arguments

READY_TIMEOUT_S = 900.0
"""Longest wait for the daemon's socket (a cold start compiles every kernel first)."""
QUIET_NOTE_S = 15.0
"""Say that the daemon is still starting after this long without a word from it."""
STOP_TIMEOUT_S = 30.0
"""How long the daemon may take to fade out and save before it is killed."""
STARTING_STOP_TIMEOUT_S = 10.0
"""The same while it is still starting (it finishes compiling before it looks at SIGTERM)."""
UI_STOP_TIMEOUT_S = 5.0
END_EPSILON_S = 0.05
"""A playing song this close to its end has run off it (the console stops there)."""
TERMINAL_RESET = "\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l\x1b[?2004l\x1b[?1049l\x1b[?25h"
"""Mouse reporting and bracketed paste off, the main screen back, the cursor shown."""
SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
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


def say(text: str) -> None:
    """One line from the demo itself, on stderr (stdout carries the meter line).

    A terminal that has gone (closed window: SIGHUP) must not stop the demo
    from stopping what it started, so a failed write is let go.
    """
    try:
        print(f"masterdeck demo: {text}", file=sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class _Stop:
    """SIGTERM, SIGINT and SIGHUP only raise this flag; every wait in the demo polls it.

    Nothing is raised inside the demo's own code, so a signal can never cut
    a start or a stop in half and leave a process behind.
    """

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def __bool__(self) -> bool:
        return self.signal is not None

    def _handle(self, signum: int, _frame: object) -> None:
        self.signal = signum

    def install(self) -> None:
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if asked to stop meanwhile."""
        deadline = time.monotonic() + seconds
        while not self and time.monotonic() < deadline:
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
        return bool(self)


class _Relay:
    """Copies a child's output, line by line, into the demo's log and (while ``echo``) here."""

    def __init__(self, stream: IO[Any], log: IO[str], prefix: str = "", echo: bool = True) -> None:
        self.stream, self.log, self.prefix, self.echo = stream, log, prefix, echo
        self.last_line_at = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for raw in self.stream:
                line = raw.decode(errors="replace") if isinstance(raw, bytes) else raw
                self.last_line_at = time.monotonic()
                self.log.write(self.prefix + line)
                self.log.flush()
                if self.echo:
                    self._echo(self.prefix + line)
        except (OSError, ValueError):  # the stream or the log was closed under us
            pass
        finally:
            self.stream.close()

    def _echo(self, text: str) -> None:
        try:
            sys.stderr.write(text)
            sys.stderr.flush()
        except (OSError, ValueError):  # the terminal has gone: the log still gets it all
            self.echo = False

    def join(self, timeout: float = 5.0) -> None:
        self._thread.join(timeout)


class _Processes:
    """What the demo started; :meth:`stop` ends all of it, the UI first, JACK last."""

    def __init__(self) -> None:
        self.jack: Any = None
        self.daemon: subprocess.Popen | None = None
        self.daemon_ready = False
        self.daemon_relay: _Relay | None = None
        self.jack_relay: _Relay | None = None
        self.player: _AlbumPlayer | None = None
        self.ui: subprocess.Popen | None = None
        self.terminal: list | None = None
        self._status: int | None = None
        self._ui_stopped = False

    def stop(self) -> int:
        """Stop everything (once); return the daemon's exit status (0: it stopped cleanly)."""
        if self._status is not None:
            return self._status
        self._status = 1
        failure: BaseException | None = None
        steps = (self.stop_ui, self.player and self.player.stop, self._stop_daemon,
                 self.jack and self.jack.stop, self.daemon_relay and self.daemon_relay.join,
                 self.jack_relay and self.jack_relay.join)
        for step in steps:  # each one whatever happened to the one before
            if not step:
                continue
            try:
                result = step()
            except Exception as exc:
                failure = failure or exc
                continue
            if step == self._stop_daemon:
                self._status = result
        if failure is not None:
            raise failure
        return self._status

    def stop_ui(self) -> None:
        """End the UI: it is asked to quit, and killed if it does not."""
        ui = self.ui
        if ui is None or self._ui_stopped:
            return
        self._ui_stopped = True
        if ui.poll() is None:
            ui.send_signal(signal.SIGTERM)  # `masterdeck ui` quits cleanly on it
            try:
                ui.wait(UI_STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                ui.kill()
                ui.wait()
        if ui.returncode < 0:  # killed: it could not put the terminal back itself
            _restore_terminal(self.terminal, reset=True)
            say(f"the console UI was ended by signal {-ui.returncode}")

    def _stop_daemon(self) -> int:
        daemon = self.daemon
        if daemon is None:
            return 0
        if daemon.poll() is None:
            if self.daemon_relay is not None:
                self.daemon_relay.echo = True
            say("stopping the daemon (it fades out and saves the session)")
            daemon.send_signal(signal.SIGTERM)
            timeout = STOP_TIMEOUT_S if self.daemon_ready else STARTING_STOP_TIMEOUT_S
            try:
                daemon.wait(timeout)
            except subprocess.TimeoutExpired:
                say(f"the daemon did not stop within {timeout:g} s; killing it")
                daemon.kill()
                daemon.wait()
                return 0 if not self.daemon_ready else 1
        return daemon.returncode


class _AlbumPlayer:
    """Plays the album: when a song runs off its end, the next one after its gap; round again.

    The daemon plays one song at a time (a session is an album to work on,
    not a playlist), so the demo is the hand that moves the album on. It
    leaves a song alone that someone stopped, looped or moved away from.
    """

    def __init__(self, socket_path: str, stop: _Stop) -> None:
        self.socket_path = socket_path
        self.stop_flag = stop
        self._done = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._done = True
        self._thread.join(5)

    def _idle(self, seconds: float) -> bool:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self._done or self.stop_flag:
                return True
            time.sleep(0.05)
        return self._done or bool(self.stop_flag)

    def _run(self) -> None:
        from console.control.client import Client
        from dsp.errors import MasterdeckError

        try:
            with Client(self.socket_path, timeout=30.0, name="masterdeck-demo") as client:
                client.request("play")
                while not self._idle(0.2):
                    if _ran_off_the_end(client.request("status")):
                        self._next_song(client)
        except (MasterdeckError, OSError):  # the daemon is going away: the demo is stopping
            return

    def _next_song(self, client: Any) -> None:
        album = client.request("session")["session"]
        songs = album["songs"]
        ids = [song["id"] for song in songs]
        at = ids.index(album["current"]) if album["current"] in ids else -1
        following = songs[(at + 1) % len(songs)]
        began = time.monotonic()
        client.request("stop")
        client.request("song_select", id=following["id"])
        if self._idle(following["gap_s"] - (time.monotonic() - began)):
            return
        client.request("play")


def _ran_off_the_end(status: dict[str, Any]) -> bool:
    transport, song = status.get("transport") or {}, status.get("song")
    if not song or not transport.get("playing") or (transport.get("loop") or {}).get("on"):
        return False
    return transport.get("position_s", 0.0) >= song.get("duration_s", 0.0) - END_EPSILON_S


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


def _terminal_state() -> list | None:
    import termios

    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except (termios.error, OSError, ValueError):
        return None


def _restore_terminal(state: list | None, reset: bool) -> None:
    """Put the terminal back as it was before the UI (after a UI that was killed)."""
    import termios

    if state is None:
        return
    try:
        termios.tcsetattr(sys.stdin.fileno(), termios.TCSADRAIN, state)
        if reset:  # on stderr, where the UI draws
            sys.stderr.write(TERMINAL_RESET)
            sys.stderr.flush()
    except (termios.error, OSError, ValueError):
        pass


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
    stop = _Stop()
    stop.install()
    processes = _Processes()
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


def _run(args: argparse.Namespace, demo: Any, socket_path: str, headless: bool, stop: _Stop,
         processes: _Processes, log: IO[str]) -> int:
    """Start everything and run until the UI ends, ``--seconds`` pass or a signal comes."""
    from console.devtools.jackd import DummyJackServer

    env = dict(os.environ)
    need_jack = args.jack == "always" or (args.jack == "auto" and not _has_output_device())
    if need_jack:
        processes.jack = DummyJackServer(args.sample_rate or 48000, args.block_size or 256,
                                         detach=True)
        processes.jack.start()
        processes.jack_relay = _Relay(processes.jack.process.stderr, log, "jackd: ", echo=False)
        processes.jack.process.stderr = None  # the relay reads it; stop() must not close it
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
    processes.daemon_relay = _Relay(processes.daemon.stdout, log)
    if not _wait_until_ready(processes, socket_path, stop):
        return 0 if stop else 1
    processes.daemon_ready = True
    processes.player = _AlbumPlayer(socket_path, stop)
    processes.player.start()
    if headless:
        return _meter_lines(socket_path, args.seconds, stop)
    return _console_ui(socket_path, args.seconds, stop, processes)


def _wait_until_ready(processes: _Processes, socket_path: str, stop: _Stop) -> bool:
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


def _console_ui(socket_path: str, seconds: float, stop: _Stop, processes: _Processes) -> int:
    """Run ``masterdeck ui`` in this terminal until it ends (or ``seconds``, or a signal)."""
    assert processes.daemon_relay is not None
    say("opening the console UI: F2 meters, F3 album, F4 automation, F5 surfaces, F1 keys; "
        "q quits")
    processes.daemon_relay.echo = False  # the UI owns the terminal now; the log has the rest
    processes.terminal = _terminal_state()
    processes.ui = subprocess.Popen([sys.executable, "-m", "console", "ui",
                                     "--socket", socket_path])
    began = time.monotonic()
    while processes.ui.poll() is None:
        if stop.sleep(0.1) or (seconds > 0 and time.monotonic() - began >= seconds):
            break
    processes.stop_ui()
    code = processes.ui.returncode
    return 0 if code == 0 or stop or seconds > 0 else code


def _meter_lines(socket_path: str, seconds: float, stop: _Stop) -> int:
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

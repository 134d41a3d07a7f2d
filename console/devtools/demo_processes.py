"""The demo's processes: started in order, stopped in reverse, whatever happens.

``masterdeck demo`` starts a dummy JACK server, the daemon and the console UI,
each a process of its own, and a thread that moves the album on from song to
song. :class:`Processes` remembers what was started and ends it all, the UI
first and JACK last; :class:`StopFlag` turns signals into a flag every wait
polls, so a signal never cuts a start or a stop in half.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from typing import IO, Any

from console.devtools.stopping import stop_child

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


def say(text: str) -> None:
    """One line from the demo itself, on stderr (stdout carries the meter line).

    A terminal that has gone (closed window: SIGHUP) must not stop the demo
    from stopping what it started, so a failed write is let go.
    """
    try:
        sys.stderr.write(f"masterdeck demo: {text}\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


class StopFlag:
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
        """Take SIGTERM, SIGINT and SIGHUP (the previous handlers are kept)."""
        for sig in SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)

    def restore(self) -> None:
        """Give the signals back to the handlers they had."""
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def sleep(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if asked to stop meanwhile."""
        deadline = time.monotonic() + seconds
        while not self and time.monotonic() < deadline:
            time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
        return bool(self)


class Relay:
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
        """Wait for the child's output to end (at most ``timeout`` seconds)."""
        self._thread.join(timeout)


class Processes:
    """What the demo started; :meth:`stop` ends all of it, the UI first, JACK last."""

    def __init__(self) -> None:
        self.jack: Any = None
        self.daemon: subprocess.Popen | None = None
        self.daemon_ready = False
        self.daemon_relay: Relay | None = None
        self.player: AlbumPlayer | None = None
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
                 self.jack and self.jack.stop, self.daemon_relay and self.daemon_relay.join)
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
        stop_child(ui, UI_STOP_TIMEOUT_S)  # `masterdeck ui` quits cleanly on SIGTERM
        if ui.returncode < 0:  # killed: it could not put the terminal back itself
            restore_terminal(self.terminal, reset=True)
            say(f"the console UI was ended by signal {-ui.returncode}")

    def _stop_daemon(self) -> int:
        daemon = self.daemon
        if daemon is None:
            return 0
        if daemon.poll() is None:
            if self.daemon_relay is not None:
                self.daemon_relay.echo = True
            say("stopping the daemon (it fades out and saves the session)")
            timeout = STOP_TIMEOUT_S if self.daemon_ready else STARTING_STOP_TIMEOUT_S
            if not stop_child(daemon, timeout):
                say(f"the daemon did not stop within {timeout:g} s; it was killed")
                return 0 if not self.daemon_ready else 1
        return daemon.returncode


class AlbumPlayer:
    """Plays the album: when a song runs off its end, the next one after its gap; round again.

    The daemon plays one song at a time (a session is an album to work on,
    not a playlist), so the demo is the hand that moves the album on. It
    leaves a song alone that someone stopped, looped or moved away from.
    """

    def __init__(self, socket_path: str, stop: StopFlag) -> None:
        self.socket_path = socket_path
        self.stop_flag = stop
        self._done = False
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        """Start moving the album on."""
        self._thread.start()

    def stop(self) -> None:
        """Stop moving the album on (the song playing goes on)."""
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
                    if ran_off_the_end(client.request("status")):
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


def ran_off_the_end(status: dict[str, Any]) -> bool:
    """Whether the daemon's ``status`` shows a song that played to its end (not looping)."""
    transport, song = status.get("transport") or {}, status.get("song")
    if not song or not transport.get("playing") or (transport.get("loop") or {}).get("on"):
        return False
    return transport.get("position_s", 0.0) >= song.get("duration_s", 0.0) - END_EPSILON_S


def terminal_state() -> list | None:
    """The terminal's settings, to put back if the UI is killed; None without a terminal."""
    import termios

    try:
        return termios.tcgetattr(sys.stdin.fileno())
    except (termios.error, OSError, ValueError):
        return None


def restore_terminal(state: list | None, reset: bool) -> None:
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

"""Shutdown: every change the daemon acknowledged is in the session it saved (issue 16, item 8).

A client drops markers as fast as the daemon answers while SIGTERM arrives; a
marker answered ``ok`` must be in the saved session, and none is answered
``ok`` and then lost. And a daemon whose JACK server is wedged still ends
after SIGTERM, its session saved (the chaos soak found one that never did).
"""

from __future__ import annotations

import os
import signal
import threading
import time

from console.control.client import Client
from console.devtools.jackd import DummyJackServer
from console.session.store import SessionStore
from tests.test_session_daemon import Daemon


def test_markers_answered_ok_around_sigterm_are_all_saved(jack, tmp_path):
    daemon = Daemon(jack, tmp_path)
    try:
        daemon.start("--song", str(daemon.song))
        acked: list[float] = []
        refused: list[str] = []

        def drop_markers():
            try:
                with Client(socket_path=daemon.socket, timeout=5.0) as client:
                    for k in range(100000):
                        position = round(0.001 * (k + 1), 4)
                        try:
                            client.request("marker_add", position_s=position, name=f"m{k}")
                        except Exception as exc:  # refused or cut off: not acknowledged
                            refused.append(str(exc))
                            return
                        acked.append(position)
            except Exception as exc:
                refused.append(str(exc))

        thread = threading.Thread(target=drop_markers)
        thread.start()
        time.sleep(0.6)
        before = len(acked)
        daemon.process.send_signal(signal.SIGTERM)
        assert daemon.process.wait(30) == 0
        thread.join(30)
        assert before > 10 and refused  # markers were flowing; the stop cut them off
        saved = SessionStore(daemon.folder, lock=False).load().session
        kept = {m.position_s for song in saved.songs for m in song.markers}
        lost = [p for p in acked if p not in kept]
        assert lost == [], f"{len(lost)} acknowledged markers lost, first {lost[:5]}"
    finally:
        daemon.close()


def test_sigterm_ends_the_daemon_even_when_its_jack_server_is_wedged(tmp_path):
    """Closing a MIDI port on a stopped JACK server blocks in C holding the GIL."""
    server = DummyJackServer(prefix="mdtest")
    server.start()
    daemon = Daemon(server, tmp_path)
    try:
        daemon.start("--song", str(daemon.song), "--midi-backend", "jack")
        with Client(socket_path=daemon.socket) as client:
            client.request("marker_add", position_s=1.0, name="kept")
        os.kill(server.process.pid, signal.SIGSTOP)  # wedged: none of its clients gets an answer
        time.sleep(1.0)
        daemon.process.send_signal(signal.SIGTERM)
        stopping = time.monotonic()
        daemon.process.wait(25)
        assert time.monotonic() - stopping < 15  # the watchdog's 10 s, and its C backstop's 1 s
        saved = SessionStore(daemon.folder, lock=False).load().session
        assert [m.name for song in saved.songs for m in song.markers] == ["kept"]
    finally:
        os.kill(server.process.pid, signal.SIGCONT)
        daemon.close()
        server.stop()

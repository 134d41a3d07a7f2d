"""A real TURN server for the room's tests: coturn on loopback, TURN REST API credentials.

The shared secret sits in coturn's own config file and in a 0600 file for
the daemon, as an engineer would keep it. Loopback peers are allowed, since
the daemon's own addresses are loopback here. Only TCP listens for clients
(no UDP, TLS or DTLS listeners): a client that reaches the relay over TCP
alone is a client behind a tunnel or a strict firewall.
"""

from __future__ import annotations

import secrets
import shutil
import socket
import subprocess
import time
from pathlib import Path

from console.devtools.stopping import stop_child


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coturn:
    """``turnserver`` with a shared secret, listening on 127.0.0.1 over TCP."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.secret = secrets.token_urlsafe(24)
        self.secret_file = folder / "turn-secret"
        self.secret_file.write_text(self.secret + "\n")
        self.secret_file.chmod(0o600)
        self.log_path = folder / "turnserver.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        """The server as a client reaches it: TURN over TCP."""
        return f"turn:127.0.0.1:{self.port}?transport=tcp"

    def start(self) -> None:
        turnserver = shutil.which("turnserver")
        if turnserver is None:
            raise RuntimeError("coturn is not installed (Debian: apt-get install coturn)")
        config = self.folder / "turnserver.conf"
        config.write_text("\n".join([
            "listening-ip=127.0.0.1", "relay-ip=127.0.0.1", f"listening-port={self.port}",
            "min-port=49160", "max-port=49200", "allow-loopback-peers", "no-udp", "no-tls",
            "no-dtls", "no-cli", "realm=masterdeck.test", "use-auth-secret",
            f"static-auth-secret={self.secret}", "fingerprint", "no-multicast-peers",
            f"log-file={self.log_path}", "simple-log", "verbose", f"pidfile={self.folder}/pid",
            f"userdb={self.folder}/turndb",
            "",
        ]))
        config.chmod(0o600)
        self.process = subprocess.Popen([turnserver, "-c", str(config)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited at start: {self.log()[-800:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"turnserver did not listen within 10 s: {self.log()[-800:]}")

    def log(self) -> str:
        """What the server wrote (coturn may add a date to the file's name)."""
        return "".join(p.read_text(errors="replace")
                       for p in sorted(self.folder.glob("turnserver*.log")))

    def stop(self) -> None:
        if self.process is not None:
            stop_child(self.process, 5.0)

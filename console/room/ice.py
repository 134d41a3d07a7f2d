"""How a client's browser reaches the room's audio: ICE servers, TURN credentials, the policy.

On loopback, or on a network where the browser can reach the daemon's own
addresses, WebRTC needs nothing more. A client behind an SSH tunnel or a
reverse proxy cannot: those carry the page's HTTPS, not WebRTC's UDP. A TURN
server both sides reach (coturn, say; over TCP it passes a tunnel or a strict
firewall) relays the media. The room is given its address as the client uses
it (``turn:host:3478?transport=tcp``) and, for credentials, the TURN
server's shared secret in a file only its owner reads (coturn's
``use-auth-secret`` and ``static-auth-secret``). Each listener then gets a
username and password of its own, valid for :data:`CREDENTIAL_S`, made as the
TURN REST API draft (draft-uberti-behave-turn-rest) says: the username is
``EXPIRY:NAME`` and the password the base64 of its HMAC-SHA1 under the
secret. The secret never leaves the daemon; a revoked invite's credentials
still expire. The policy ``relay`` makes the page use the relay only, so
the daemon never learns the client's addresses.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from dataclasses import dataclass, field
from typing import Any

from console.control.trust import TrustError, read_token_file
from dsp.errors import MasterdeckError

CREDENTIAL_S = 12 * 3600
"""How long a listener's TURN credentials last: a long session, not a week."""
POLICIES = ("all", "relay")


class IceError(MasterdeckError):
    """An ICE server address, secret or policy the room cannot use."""


def check_url(url: str) -> dict[str, Any]:
    """The parts of a ``stun:`` or ``turn:`` address (IceError, naming it, if malformed)."""
    from aiortc.rtcicetransport import parse_stun_turn_uri

    try:
        parsed = parse_stun_turn_uri(url)
    except ValueError as exc:
        raise IceError(f"ICE server {url!r}: {exc} (e.g. turn:host:3478?transport=tcp or "
                       "stun:host:3478)") from None
    transport = parsed.get("transport")
    if transport not in (None, "udp", "tcp"):
        raise IceError(f"ICE server {url!r}: transport must be udp or tcp")
    return parsed


def turn_credentials(secret: str, name: str, now: float | None = None,
                     lifetime_s: int = CREDENTIAL_S) -> tuple[str, str]:
    """A username and password the TURN server accepts until ``now + lifetime_s``."""
    expiry = int((time.time() if now is None else now) + lifetime_s)
    username = f"{expiry}:{name}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


@dataclass(frozen=True)
class IceSettings:
    """The ICE servers both ends use, and whether the page may use anything but the relay."""

    urls: tuple[str, ...] = ()
    secret: str = field(default="", repr=False)
    policy: str = "all"

    @classmethod
    def make(cls, urls: list[str] | tuple[str, ...] = (), secret_file: str = "",
             policy: str = "all") -> IceSettings:
        """Checked settings: addresses parse, the secret file is private, the policy known."""
        urls = tuple(u.strip() for u in urls if u.strip())
        parsed = [check_url(u) for u in urls]
        if policy not in POLICIES:
            raise IceError(f"ICE policy {policy!r}: one of {', '.join(POLICIES)}")
        turns = any(p["scheme"] in ("turn", "turns") for p in parsed)
        secret = ""
        if secret_file:
            try:
                secret = read_token_file(secret_file)
            except TrustError as exc:
                raise IceError(f"TURN secret: {exc}") from None
        if turns and not secret:
            raise IceError("a TURN server needs its shared secret: give the file that holds "
                           "it (room.turn_secret_file, coturn's static-auth-secret)")
        if policy == "relay" and not turns:
            raise IceError("ICE policy relay needs a TURN server to relay through")
        return cls(urls, secret, policy)

    def servers(self, name: str, now: float | None = None) -> list[dict[str, Any]]:
        """The ``iceServers`` of an RTCPeerConnection for listener ``name``."""
        out: list[dict[str, Any]] = []
        for url in self.urls:
            entry: dict[str, Any] = {"urls": url}
            if url.startswith("turn"):
                entry["username"], entry["credential"] = turn_credentials(self.secret, name, now)
            out.append(entry)
        return out

    def page_configuration(self, name: str) -> dict[str, Any]:
        """What the page builds its RTCPeerConnection with."""
        return {"iceServers": self.servers(name), "iceTransportPolicy": self.policy}

    def aiortc_configuration(self, name: str) -> Any:
        """The daemon's side of the same connection (aiortc uses one STUN and one TURN)."""
        from aiortc import RTCConfiguration, RTCIceServer

        return RTCConfiguration(iceServers=[RTCIceServer(**s) for s in self.servers(name)])

    def describe(self) -> dict[str, Any]:
        """The settings without the secret (for ``room`` and ``status``)."""
        return {"servers": list(self.urls), "policy": self.policy,
                "turn_credentials_s": CREDENTIAL_S if self.secret else 0}

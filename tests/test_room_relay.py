"""A client who can reach the room only through a TURN relay still hears it.

A client behind an SSH tunnel, a reverse proxy or a strict firewall reaches
the page over HTTPS but cannot reach the daemon's addresses for WebRTC's
media. Here a real coturn listens on loopback over TCP only, with a shared
secret (the TURN REST API), and the room is started with it and the policy
``relay``: the browser may use nothing but the relay, which it reaches over
TCP, as it would through a tunnel. coturn itself checks the credentials the
daemon made. The page must hear the reference tone at its frequency and
levels, over a route the browser reports as a TCP relay; with a secret the
relay does not share, it must say the relay is unusable.
"""

from __future__ import annotations

import re

import pytest

from tests.roomfixtures import chromium, room_rig
from tests.roomrig import (
    RMS_DB,
    TONE_HZ,
    hear,
    is_tone,
    open_page,
    set_source,
    wait_until,
)
from tests.turnserver import Coturn


@pytest.fixture(scope="module")
def turn(tmp_path_factory):
    server = Coturn(tmp_path_factory.mktemp("turn"))
    server.start()
    yield server
    server.stop()


rig = room_rig
browser = chromium


def _reopen(rig, **settings) -> dict:
    """The room closed and opened again on loopback with ``settings``."""
    rig.request("room_stop")
    room = rig.request("room_start", bind="127.0.0.1:0", **settings)["room"]
    rig.url = room["url"]
    return room


def test_a_client_reaching_only_a_tcp_relay_hears_the_room_through_it(rig, browser, turn):
    room = _reopen(rig, ice_servers=[turn.url], turn_secret_file=str(turn.secret_file),
                   ice_policy="relay")
    assert room["ice"] == {"servers": [turn.url], "policy": "relay",
                           "turn_credentials_s": 12 * 3600}
    page = open_page(browser, rig.invite("dave"))
    try:
        set_source(rig, "reference")
        heard = hear(page)
        assert is_tone(heard, TONE_HZ, RMS_DB), heard
        stats = page.evaluate("window.roomProbe.stats()")
        route = stats["route"]  # the pair the transport selected (its byte count can lag)
        assert route["local"] == "relay" and route["relay_protocol"] == "tcp", route
        assert stats["bytes"] > 10_000, stats  # audio came, and a relay is all it could use
        # coturn saw the listener's own credentials (EXPIRY:NAME), not the secret
        assert re.search(r"username=<\d+:dave>", turn.log()), turn.log()[-2000:]
        assert turn.secret not in page.content()
    finally:
        set_source(rig, "master")
        page.close()


def test_a_relay_that_refuses_the_credentials_is_reported_to_the_client(rig, browser, turn,
                                                                        tmp_path):
    wrong = tmp_path / "other-secret"
    wrong.write_text("not-the-secret-coturn-was-given\n")
    wrong.chmod(0o600)
    _reopen(rig, ice_servers=[turn.url], turn_secret_file=str(wrong), ice_policy="relay")
    page = browser.new_page()
    try:
        page.goto(rig.invite("erin"))
        page.click("#listen")
        wait_until(page, "!document.getElementById('closed').classList.contains('hidden')",
                   timeout_s=20.0)
        assert "relay server" in page.inner_text("#closed-why")
        assert page.evaluate("window.roomProbe.ready()") is False
    finally:
        page.close()


def test_room_start_refuses_what_it_cannot_use_and_stays_closed(rig, turn, tmp_path):
    rig.request("room_stop")
    shared = tmp_path / "shared-secret"
    shared.write_text(turn.secret + "\n")
    shared.chmod(0o644)
    cases = [
        ({"ice_servers": ["turm:127.0.0.1:3478"]}, "ICE server 'turm:127.0.0.1:3478'"),
        ({"ice_servers": [turn.url]}, "needs its shared secret"),
        ({"ice_servers": [turn.url], "turn_secret_file": str(shared)}, "chmod 600"),
        ({"ice_policy": "relay"}, "needs a TURN server"),
        ({"ice_policy": "sometimes"}, "one of all, relay"),
    ]
    for settings, words in cases:
        with pytest.raises(Exception, match=re.escape(words)):
            rig.request("room_start", bind="127.0.0.1:0", **settings)
        assert rig.request("room")["room"]["running"] is False
    rig.url = rig.request("room_start", bind="127.0.0.1:0")["room"]["url"]

"""The room's parts without a browser: invites, limits, the page's state, TLS, the RTP clock."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import ssl
import urllib.request

import pytest

from console import config as configuration
from console.control.trust import TrustError, is_loopback
from console.daemon import room_defaults
from console.engine.stream import Engine
from console.room import opus, tls
from console.room.ice import CREDENTIAL_S, IceError, IceSettings
from console.room.invites import InviteError, Invites, digest
from console.room.limits import RequestLimit, TokenFailures
from console.room.room import Room
from console.room.state import page_state
from console.room.track import RoomTrack


def test_an_invite_keeps_only_the_tokens_hash_in_a_file_only_its_owner_reads(tmp_path):
    invites = Invites(tmp_path / "room-invites.json")
    _, token = invites.create("Ann", ["bypass"])
    text = (tmp_path / "room-invites.json").read_text()
    assert token not in text and digest(token) in text
    assert os.stat(tmp_path / "room-invites.json").st_mode & 0o777 == 0o600
    assert len(token) >= 32 and invites.find(token).name == "Ann"
    assert Invites(tmp_path / "room-invites.json").find(token).grants == ["bypass"]
    assert invites.find(token[:-1] + ("A" if token[-1] != "A" else "B")) is None
    _, again = invites.create("Ann")  # a new link for the same name: the old one is dead
    assert invites.find(token) is None and invites.find(again).name == "Ann"
    invites.revoke("Ann")
    assert invites.find(again) is None
    with pytest.raises(InviteError, match="no invite called"):
        invites.revoke("Ann")
    with pytest.raises(InviteError, match="unknown switch"):
        invites.create("Bob", ["gain"])
    with pytest.raises(InviteError, match="invite name"):
        invites.create("../etc")


def test_an_invites_file_others_can_read_is_refused(tmp_path):
    path = tmp_path / "room-invites.json"
    path.write_text(json.dumps({"invites": []}))
    os.chmod(path, 0o644)
    with pytest.raises(TrustError, match="chmod 600"):
        Invites(path)


def test_the_request_bucket_and_the_wrong_token_delays():
    now = [0.0]
    limit = RequestLimit(rate_per_s=5.0, burst=20.0, clock=lambda: now[0])
    assert all(limit.allow("a") == 0.0 for _ in range(20))
    assert limit.allow("a") == pytest.approx(0.2)
    assert limit.allow("b") == 0.0  # another address has its own bucket
    now[0] += 1.0
    assert sum(limit.allow("a") == 0.0 for _ in range(10)) == 5
    failures = TokenFailures(clock=lambda: now[0])
    assert [failures.fail("a") for _ in range(6)] == [0.25, 0.5, 1.0, 2.0, 4.0, 5.0]
    now[0] += 61.0
    assert failures.fail("a") == 0.25


def test_the_page_state_shows_what_is_heard_and_never_a_file_path():
    state = {"source": "bypass", "snapshot": "B", "album_mode": True,
             "preview": {"platform": "spotify", "name": "Spotify"},
             "song": {"title": "Opener", "path": "/home/me/secret/opener.wav",
                      "duration_s": 200.0},
             "album": {"title": "Lights", "current": "b",
                       "songs": [{"id": "a", "title": "Intro"}, {"id": "b", "title": "Two"}]}}
    meters = {"momentary_lufs": -9.5, "integrated_lufs": -10.25, "position_s": 12.5,
              "playing": True}
    page = page_state(state, meters, ["ab"], "ann")
    assert page["heard"] == {"source": "unprocessed", "snapshot": "B", "preview": "Spotify",
                             "translation": None}
    assert (page["song"], page["number"], page["count"], page["album"]) == ("Two", 2, 2,
                                                                            "Lights")
    assert page["loudness"]["integrated_lufs"] == -10.25 and page["grants"] == ["ab"]
    assert "secret" not in json.dumps(page)


def test_opus_is_refused_below_256_kbps_and_is_constant_at_the_rate_asked():
    import numpy as np

    with pytest.raises(ValueError, match=r"256\.\.510"):
        opus.OpusEncoder(128)
    encoder = opus.OpusEncoder(320)
    t = np.arange(opus.FRAME * 50) / opus.RATE
    audio = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    block = np.stack([audio, -audio], 1)
    sizes = [p.size for k in range(50)
             for p in encoder.encode(block[k * opus.FRAME:(k + 1) * opus.FRAME], k * opus.FRAME)]
    assert set(sizes) == {320_000 // 8 // 50}  # 800 bytes every 20 ms


def test_an_rtp_timestamp_maps_back_to_the_stream_across_the_wrap():
    import asyncio

    loop = asyncio.new_event_loop()
    track = RoomTrack(loop)
    loop.close()
    track.origin = 2**32 - 1000
    track._last_pts = 5000
    assert track.sample_of((2**32 - 1000 + 4040) % 2**32) == 4040
    track._last_pts = 2**32 + 50  # the stream has run past 2**32 samples (25 hours)
    assert track.sample_of(40) == 2**32 + 1040


@pytest.fixture
def room(tmp_path):
    room = Room(Engine(), tmp_path)
    yield room
    room.stop()


def _https(url: str, cafile: str) -> int:
    context = ssl.create_default_context(cafile=cafile)
    context.check_hostname = False  # the certificate names the bound address, not 127.0.0.1
    with urllib.request.urlopen(f"{url}/room.css", context=context, timeout=10) as response:
        return response.status


def test_beyond_loopback_the_room_serves_https_only_with_a_self_signed_certificate(room,
                                                                                   tmp_path):
    described = room.start(bind="0.0.0.0:0")
    port = room.bind[1]
    assert described["tls"]["self_signed"] and described["url"].startswith("https://")
    key = tmp_path / "room-key.pem"
    assert os.stat(key).st_mode & 0o777 == 0o600
    assert _https(f"https://127.0.0.1:{port}", described["tls"]["certificate"]) == 200
    import http.client

    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:  # plain HTTP to the TLS port gets no page
        with pytest.raises((OSError, http.client.HTTPException)):
            plain.request("GET", "/room.css")
            plain.getresponse().read()
    finally:
        plain.close()
    fingerprint = described["tls"]["fingerprint_sha256"]
    room.stop()
    assert room.start(bind="0.0.0.0:0")["tls"]["fingerprint_sha256"] == fingerprint  # kept


def test_loopback_is_every_127_address_and_ipv6s_one_and_nothing_else():
    assert [is_loopback(h) for h in ("127.0.0.1", "127.9.9.9", "::1", "localhost")] == [True] * 4
    assert not any(is_loopback(h) for h in ("0.0.0.0", "::", "192.168.1.20", "fe80::1",
                                            "example.com"))


def _has_ipv6() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6(), reason="this machine has no IPv6 loopback")
def test_ipv6_loopback_serves_plain_http_and_the_rest_of_ipv6_https_only(room):
    described = room.start(bind="[::1]:0")
    assert described["tls"] is None and described["url"].startswith("http://[::1]:")
    with urllib.request.urlopen(f"{described['url']}/room.css", timeout=10) as response:
        assert response.status == 200
    room.stop()
    assert room.start(bind="[::]:0")["url"].startswith("https://")


def test_the_users_own_certificate_is_used_when_given(room, tmp_path):
    cert, key = tls.self_signed(tmp_path / "mine", "127.0.0.1")
    described = room.start(bind="127.0.0.1:0", cert=str(cert), key=str(key))
    assert not described["tls"]["self_signed"] and described["tls"]["certificate"] == str(cert)
    assert _https(described["url"], str(cert)) == 200


def test_turn_credentials_are_the_listeners_own_and_expire(tmp_path):
    secret = tmp_path / "turn-secret"
    secret.write_text("a-shared-secret-of-the-turn-server\n")
    secret.chmod(0o600)
    ice = IceSettings.make(["stun:stun.example.net:3478",
                            "turn:turn.example.net:443?transport=tcp"], str(secret), "relay")
    stun, relay = ice.servers("dave", now=1_000_000)
    assert stun == {"urls": "stun:stun.example.net:3478"}  # no credentials where none are asked
    assert relay["username"] == f"{1_000_000 + CREDENTIAL_S}:dave"
    assert len(base64.b64decode(relay["credential"])) == 20  # an HMAC-SHA1
    assert ice.servers("erin", now=1_000_000)[1]["credential"] != relay["credential"]
    assert ice.servers("dave", now=1_000_001)[1]["credential"] != relay["credential"]
    assert ice.page_configuration("dave")["iceTransportPolicy"] == "relay"
    assert "a-shared-secret" not in json.dumps([ice.describe(), repr(ice),
                                                ice.page_configuration("dave")])


def test_ice_settings_refuse_what_cannot_work(tmp_path):
    open_secret = tmp_path / "secret"
    open_secret.write_text("a-shared-secret-of-the-turn-server\n")
    open_secret.chmod(0o644)
    turn = "turn:127.0.0.1:3478?transport=tcp"
    for args, words in [((["turm:host"],), "invalid scheme"),
                        ((["turn:host:3478?transport=sctp"],), "turn:host:3478?transport=sctp"),
                        (([turn],), "needs its shared secret"),
                        (([turn], str(open_secret)), "chmod 600"),
                        (([turn], str(tmp_path / "missing")), "cannot read"),
                        (([], "", "relay"), "needs a TURN server"),
                        (([], "", "never"), "one of all, relay")]:
        with pytest.raises(IceError, match=re.escape(words)):
            IceSettings.make(*args)
    assert IceSettings.make().describe() == {"servers": [], "policy": "all",
                                             "turn_credentials_s": 0}


def test_the_rooms_ice_settings_come_from_the_config_file(tmp_path, monkeypatch):
    file = tmp_path / "config.toml"
    file.write_text('[room]\nice_servers = ["turn:turn.example.net:443?transport=tcp"]\n'
                    'turn_secret_file = "/home/me/.config/masterdeck/turn-secret"\n'
                    'ice_policy = "relay"\n')
    config = configuration.load(file)
    assert room_defaults(config)["ice_servers"] == ["turn:turn.example.net:443?transport=tcp"]
    assert room_defaults(config)["ice_policy"] == "relay"
    assert config.room_turn_secret_file.endswith("turn-secret")
    home = tmp_path / "home"  # a config's "~/..." is the user's home, as in a shell
    (home / "masterdeck").mkdir(parents=True)
    (home / "masterdeck" / "turn-secret").write_text("a-shared-secret-of-the-turn-server\n")
    (home / "masterdeck" / "turn-secret").chmod(0o600)
    monkeypatch.setenv("HOME", str(home))
    ice = IceSettings.make(["turn:turn.example.net:443?transport=tcp"],
                           "~/masterdeck/turn-secret")
    assert ice.describe()["turn_credentials_s"] == CREDENTIAL_S
    file.write_text('[room]\nice_servers = "turn:turn.example.net"\n')
    with pytest.raises(configuration.ConfigError, match=r"room\.ice_servers must be list"):
        configuration.load(file)

"""The control server against a real engine on a dummy JACK server, over real sockets.

One engine and one server serve the whole module (compiling the callback is
the slow part); tests that need other limits start a second server on the
same engine. Raw sockets play the badly behaved clients.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

from console.control.async_client import AsyncClient
from console.control.client import Client, NoDaemonError
from console.control.server import ControlServer, Limits, ServerError
from console.control.wire import PROTOCOL, ProtocolError
from console.engine.stream import Engine

TOKEN = "correct horse battery staple"
LIMITS = Limits(stall_timeout_s=1.0, auth_timeout_s=1.0, close_grace_s=5.0)


@pytest.fixture(scope="module")
def daemon(jack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ctl")
    song = folder / "song.wav"
    t = np.arange(44100) / 44100
    tone = 0.25 * np.sin(2 * np.pi * 440 * t)
    sf.write(song, np.column_stack([tone, tone]), 44100)
    engine = Engine(sample_rate=48000, block_size=256)
    engine.start()
    server = ControlServer(engine, socket_path=folder / "control.sock", tcp="127.0.0.1:0",
                           token=TOKEN, limits=LIMITS)
    server.start()
    yield SimpleNamespace(engine=engine, server=server, path=str(folder / "control.sock"),
                          tcp=server.tcp_address, folder=folder, song=song)
    server.stop()
    engine.stop()


class Raw:
    """A bare socket client that can misbehave."""

    def __init__(self, address):
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(5.0)
        self.sock.connect(address)
        self.buffer = b""

    def send(self, message):
        self.sock.sendall(message if isinstance(message, bytes)
                          else json.dumps(message).encode() + b"\n")

    def read(self, timeout=5.0):
        """The next message, or None at end of stream."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            self.sock.settimeout(max(deadline - time.monotonic(), 0.001))
            try:
                chunk = self.sock.recv(1 << 20)
            except ConnectionResetError:
                return None
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def reply(self, timeout=5.0):
        while (message := self.read(timeout)) is not None and "event" in message:
            pass
        return message

    def ask(self, **request):
        self.send(request)
        return self.reply()

    def close(self):
        self.sock.close()


@pytest.fixture
def raw(daemon):
    clients = []

    def connect(address=None):
        clients.append(Raw(address or daemon.path))
        return clients[-1]
    yield connect
    for client in clients:
        client.close()


def client_ids(server):
    return [c["client_id"] for c in server.clients()]


def wait_until(condition, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# connecting -------------------------------------------------------------------------
def test_the_socket_is_private_to_its_owner(daemon):
    assert stat.S_IMODE(os.stat(daemon.path).st_mode) == 0o600
    assert stat.S_ISSOCK(os.stat(daemon.path).st_mode)


def test_the_default_socket_lives_in_a_private_runtime_folder(daemon, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    server = ControlServer(daemon.engine)
    server.start()
    try:
        assert server.socket_path == tmp_path / "masterdeck" / "control.sock"
        assert stat.S_IMODE(os.stat(tmp_path / "masterdeck").st_mode) == 0o700
        assert stat.S_IMODE(os.stat(server.socket_path).st_mode) == 0o600
        with Client() as client:  # the client finds it the same way
            assert client.request("get", ids=["comp.ratio"])["values"]
    finally:
        server.stop()
    assert not server.socket_path.exists()


def test_hello_reports_the_protocol_version_and_this_connections_source(daemon):
    with Client(daemon.path, name="pytest") as client:
        hello = client.hello
    assert hello["protocol"] == PROTOCOL
    assert hello["author"] == f"protocol:{hello['client_id']}"
    assert {"get", "set", "subscribe", "load_song", "snapshot_recall"} <= set(hello["commands"])


def test_hello_with_another_protocol_version_is_refused(raw):
    reply = raw().ask(command="hello", protocol=PROTOCOL + 1, request_id=1)
    assert reply["error"]["code"] == "unsupported_protocol"


def test_a_second_server_on_a_live_socket_is_refused(daemon):
    with pytest.raises(ServerError, match="is listening on"):
        ControlServer(daemon.engine, socket_path=daemon.path).start()
    with Client(daemon.path) as client:  # the first one is untouched
        assert client.request("get", ids=["comp.ratio"])


def test_a_stale_socket_left_by_a_dead_daemon_is_replaced(daemon, tmp_path):
    path = tmp_path / "stale.sock"
    dead = socket.socket(socket.AF_UNIX)
    dead.bind(str(path))
    dead.close()
    server = ControlServer(daemon.engine, socket_path=path)
    server.start()
    try:
        with Client(path) as client:
            assert client.request("get", ids=["comp.ratio"])
    finally:
        server.stop()


def test_no_daemon_is_a_clear_error(tmp_path):
    with pytest.raises(NoDaemonError, match="masterdeck serve"):
        Client(tmp_path / "nobody.sock").connect()


def test_tcp_refuses_a_missing_or_wrong_token(raw, daemon):
    first = raw(daemon.tcp)
    assert first.ask(command="get", request_id=1)["error"]["code"] == "unauthorized"
    assert first.read() is None  # closed
    wrong = raw(daemon.tcp)
    assert wrong.ask(command="hello", token="guess")["error"]["code"] == "unauthorized"
    assert wrong.read() is None
    missing = raw(daemon.tcp)
    assert missing.ask(command="hello")["error"]["code"] == "unauthorized"
    assert missing.read() is None
    with Client(connect=f"127.0.0.1:{daemon.tcp[1]}", token=TOKEN) as client:
        assert client.request("get", ids=["comp.ratio"])["values"]


def test_tcp_needs_a_token_to_start(daemon):
    with pytest.raises(ServerError, match="token"):
        ControlServer(daemon.engine, socket_path=daemon.folder / "x.sock", tcp="127.0.0.1:0")


def test_a_tcp_client_that_never_says_hello_is_dropped(raw, daemon):
    idle = raw(daemon.tcp)
    closing = idle.read(timeout=5.0)
    assert closing == {"event": "closing", "data": {"code": "auth_timeout",
                                                    "message": closing["data"]["message"]}}
    assert idle.read() is None


def test_the_connection_limit_turns_extra_clients_away(daemon, tmp_path):
    server = ControlServer(daemon.engine, socket_path=tmp_path / "few.sock",
                           limits=Limits(max_clients=1))
    server.start()
    try:
        with Client(server.socket_path):
            extra = Raw(str(server.socket_path))
            assert extra.read()["error"]["code"] == "too_many_clients"
            assert extra.read() is None
            extra.close()
    finally:
        server.stop()


# requests and errors ------------------------------------------------------------------
def test_request_ids_are_echoed_and_pipelined_replies_come_in_order(raw):
    client = raw()
    client.send(b"".join(json.dumps({"command": "get", "ids": ["comp.ratio"],
                                     "request_id": i}).encode() + b"\n" for i in range(20)))
    client.send({"command": "get", "ids": ["comp.ratio"], "request_id": "last"})
    ids = [client.reply()["request_id"] for _ in range(21)]
    assert ids == [*range(20), "last"]


def test_malformed_lines_get_an_error_and_the_connection_goes_on(raw):
    client = raw()
    client.send(b'garbage\n\xff\xfe\x00\n[1, 2]\n{"command": 5}\n{"command": "get", '
                b'"request_id": [1]}\n\n{"command": "get", "ids": ["comp.ratio"], '
                b'"request_id": 9}\n')
    codes = [client.reply()["error"]["code"] for _ in range(5)]
    assert codes == ["bad_json", "bad_json", "bad_request", "bad_request", "bad_request"]
    last = client.reply()
    assert last["request_id"] == 9 and last["ok"] is True


def test_unknown_commands_name_the_known_ones(raw):
    reply = raw().ask(command="fly", request_id=3)
    assert reply["request_id"] == 3 and reply["ok"] is False
    assert reply["error"]["code"] == "unknown_command" and "subscribe" in reply["error"]["message"]


@pytest.mark.parametrize("request_, word", [
    ({"command": "set", "values": [1]}, "values must be an object"),
    ({"command": "set"}, "missing argument 'values'"),
    ({"command": "set", "value": {}}, "unknown argument 'value'"),
    ({"command": "get", "ids": "comp.ratio"}, "ids must be a list of strings"),
    ({"command": "locate", "seconds": "ten"}, "seconds must be a finite number"),
    ({"command": "locate", "seconds": -1}, "0 or more"),
    ({"command": "loop", "on": "yes"}, "on must be true or false"),
    ({"command": "subscribe", "topic": "meters", "rate_hz": 1000}, "rate_hz must be"),
    ({"command": "subscribe", "topic": "weather"}, "unknown topic"),
    ({"command": "source", "name": "radio"}, "not one of"),
    ({"command": "snapshot_store", "slot": "Z"}, "not one of"),
    ({"command": "action", "name": "dance"}, "unknown action"),
    ({"command": "load_song", "path": "relative.wav"}, "absolute path"),
])
def test_wrong_arguments_are_bad_argument_errors(raw, request_, word):
    error = raw().ask(**request_)["error"]
    assert error["code"] == "bad_argument" and word in error["message"]


def test_out_of_range_values_are_refused_and_nothing_changes(daemon):
    desk = daemon.engine.desk
    desk.set_many({"input.trim_db": 0.0, "comp.ratio": 2.0})
    with Client(daemon.path) as client:
        with pytest.raises(ProtocolError, match="out of range") as refused:
            client.request("set", values={"input.trim_db": 3.0, "comp.ratio": 100})
        assert refused.value.code == "bad_value"
        for bad in ("loud", None, [1]):
            with pytest.raises(ProtocolError) as refused:
                client.request("set", values={"comp.ratio": bad})
            assert refused.value.code == "bad_value"
        with pytest.raises(ProtocolError) as refused:
            client.request("set", values={"comp.nope": 1.0})
        assert refused.value.code == "unknown_parameter"
        with pytest.raises(ProtocolError) as refused:
            client.request("get", ids=["comp.nope"])
        assert refused.value.code == "unknown_parameter"
    assert desk.get("input.trim_db") == 0.0 and desk.get("comp.ratio") == 2.0


def test_set_takes_numbers_and_words_as_a_person_types_them(daemon):
    with Client(daemon.path) as client:
        done = client.request("set", values={"eq.band2.gain_db": 1.5, "eq.band2.type": "low_shelf",
                                             "comp.bypass": "off", "limiter.link_pct": "80"})
        assert done["values"] == {"eq.band2.gain_db": 1.5, "eq.band2.type": 1.0,
                                  "comp.bypass": 0.0, "limiter.link_pct": 80.0}
        got = client.request("get", ids=list(done["values"]))["values"]
    assert got == done["values"]
    assert daemon.engine.desk.get("eq.band2.type") == 1.0


def test_params_lists_the_table(daemon):
    with Client(daemon.path) as client:
        rows = client.request("params", stage="limiter")["params"]
    assert {r["id"] for r in rows} >= {"limiter.ceiling_dbtp", "limiter.drive_db"}
    assert all(r["stage"] == "limiter" for r in rows)


def test_a_line_over_the_limit_is_refused_and_only_that_client_is_closed(raw, daemon):
    other = raw()
    big = raw()
    big.send(b'{"command": "get", "pad": "' + b"x" * 100_000 + b'"}\n')
    assert big.read()["error"]["code"] == "line_too_long"
    assert big.read() is None
    assert other.ask(command="get", ids=["comp.ratio"])["ok"] is True
    assert daemon.engine.running


def test_a_client_gone_halfway_through_a_line_is_forgotten(raw, daemon):
    before = set(client_ids(daemon.server))
    half = raw()
    half.send(b'{"command": "set", "values": {"input.trim_db": ')
    time.sleep(0.05)
    half.close()
    assert wait_until(lambda: set(client_ids(daemon.server)) <= before)
    assert raw().ask(command="get", ids=["input.trim_db"])["ok"] is True
    assert daemon.engine.running


# subscriptions --------------------------------------------------------------------------
def collect(client, seconds, kind):
    events, deadline = [], time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        event = client.next_event(left)
        if event is not None and event["event"] == kind:
            events.append(event)
    return events


def test_meter_events_arrive_at_the_rate_the_client_asked_for(daemon):
    with Client(daemon.path) as client:
        first = client.request("subscribe", topic="meters", rate_hz=10)
        assert first["rate_hz"] == 10.0 and "xruns" in first["current"]
        events = collect(client, 2.0, "meters")
    assert 10 <= len(events) <= 22  # 10 Hz for 2 s (the meter thread publishes at 30 Hz)
    assert 0.08 < np.median(np.diff([e["data"]["time"] for e in events])) < 0.14
    assert {"momentary_lufs", "true_peak_dbtp", "limiter_gr_db", "xruns"} <= set(events[-1]["data"])


def test_parameter_events_coalesce_latest_value_wins_and_name_the_source(daemon):
    with Client(daemon.path) as watcher, Client(daemon.path) as mover:
        watcher.request("subscribe", topic="params", rate_hz=5)
        started = time.monotonic()
        for i in range(200):
            mover.request("set", values={"eq.band3.gain_db": round(i * 0.05, 2)})
        daemon.engine.desk.set("eq.band4.gain_db", 2.0, author="surface:test")
        events = collect(watcher, 0.6, "params")
        elapsed = time.monotonic() - started
    assert len(events) <= 2 + 5 * elapsed * 2  # at most one per author per period
    latest = {}
    for event in events:
        for key, value in event["data"]["values"].items():
            latest[key] = (value, event["data"]["author"])
    assert latest["eq.band3.gain_db"] == (9.95, mover.hello["author"])
    assert latest["eq.band4.gain_db"] == (2.0, "surface:test")


def test_state_events_follow_the_console(daemon):
    with Client(daemon.path) as client:
        client.request("subscribe", topic="state", rate_hz=30)
        client.request("snapshot_store", slot="C")
        client.request("match", on=False)
        client.request("match", on=True)
        events = collect(client, 0.5, "state")
    changes = {k: (v, e["data"]["author"]) for e in events for k, v in e["data"]["values"].items()}
    assert changes["snapshot"] == ("C", client.hello["author"])
    assert changes["match"] == (True, client.hello["author"])


def test_unsubscribe_stops_the_events(daemon):
    with Client(daemon.path) as client:
        client.request("subscribe", topic="meters", rate_hz=30)
        assert client.next_event(1.0) is not None
        client.request("unsubscribe", topic="meters")
        client.events.clear()
        assert collect(client, 0.3, "meters") == []


def test_a_stalled_subscriber_neither_slows_others_nor_grows_and_is_dropped(raw, daemon):
    stalled = raw()
    for topic in ("meters", "params", "state"):
        stalled.ask(command="subscribe", topic=topic, rate_hz=60)
    stalled_id = client_ids(daemon.server)[-1]
    stalled.send(b'{"command": "params"}\n' * 400)  # ~5 MB of replies it will not read
    with Client(daemon.path) as fast:
        fast.request("subscribe", topic="meters", rate_hz=60)
        fast.events.clear()
        round_trips, meters, started = [], 0, time.monotonic()
        while time.monotonic() - started < 1.5:
            t0 = time.perf_counter()
            fast.request("set", values={"eq.band5.gain_db": round(meters * 0.1 % 5, 1)})
            round_trips.append(time.perf_counter() - t0)
            while (event := fast.next_event(0.01)) is not None:
                meters += event["event"] == "meters"
            meters += sum(e["event"] == "meters" for e in fast.events)
            fast.events.clear()
            buffered = {c["client_id"]: c["buffered_bytes"] for c in daemon.server.clients()}
            assert buffered.get(stalled_id, 0) < LIMITS.hold_bytes + 64 * 1024
        rate = meters / (time.monotonic() - started)
    assert rate > 15  # the meter thread publishes at 30 Hz
    assert max(round_trips) < 0.25 and np.median(round_trips) < 0.01
    assert wait_until(lambda: stalled_id not in client_ids(daemon.server), 5.0)
    lines = []
    while (message := stalled.read(timeout=6.0)) is not None:
        lines.append(message)
    assert lines[-1]["event"] == "closing" and lines[-1]["data"]["code"] == "too_slow"
    assert daemon.engine.running


# console commands -------------------------------------------------------------------------
def test_status_reports_stream_transport_song_load_and_meters(daemon):
    with Client(daemon.path) as client:
        status = client.request("status")
    assert status["stream"]["running"] is True
    assert status["stream"]["sample_rate"] == 48000 and status["stream"]["block_size"] == 256
    assert "device" in status["stream"] and "output_latency_s" in status["stream"]
    assert set(status["transport"]) >= {"playing", "position_s", "source", "match", "loop"}
    assert isinstance(status["xruns"], int)
    assert "p99_ms" in status["callback_load"]
    assert "momentary_lufs" in status["meters"]
    assert status["server"]["protocol"] == PROTOCOL and status["server"]["clients"] >= 1


def test_transport_plays_locates_loops_and_stops(daemon):
    with Client(daemon.path) as client:
        song = client.request("load_song", path=str(daemon.song), title="tone")["song"]
        assert song["title"] == "tone" and song["source_rate"] == 44100
        assert abs(song["duration_s"] - 1.0) < 0.01
        assert client.request("play")["transport"]["playing"] is True
        located = client.request("locate", seconds=0.5)["transport"]
        assert 0.45 < located["position_s"] < 0.75  # replied once the jump is made
        with pytest.raises(ProtocolError, match="after the start"):
            client.request("loop", start_s=0.8, end_s=0.2, on=True)
        assert client.request("loop", start_s=0.2, end_s=0.8, on=True)["transport"]["loop"] == {
            "on": True, "start_s": 0.2, "end_s": 0.8}
        assert wait_until(lambda: daemon.engine.meters().get("playing") is True)
        client.request("loop", on=False)
        stopped = client.request("stop")["transport"]
    assert stopped["playing"] is False
    assert daemon.engine.desk.state()["playing"] is False


def test_loading_a_missing_file_is_a_file_error(daemon):
    with Client(daemon.path) as client, pytest.raises(ProtocolError) as refused:
        client.request("load_reference", path=str(daemon.folder / "missing.wav"))
    assert refused.value.code == "file_error" and "missing.wav" in str(refused.value)


def test_bypass_reference_source_and_match(daemon):
    with Client(daemon.path) as client:
        client.request("source", name="master")
        if daemon.engine.reference is None:
            with pytest.raises(ProtocolError, match="no reference") as refused:
                client.request("reference", on=True)
            assert refused.value.code == "unavailable"
        assert client.request("bypass")["transport"]["source"] == "bypass"
        assert client.request("bypass")["transport"]["source"] == "master"
        client.request("load_reference", path=str(daemon.song))
        assert client.request("reference", on=True)["transport"]["source"] == "reference"
        assert client.request("source", name="master")["transport"]["source"] == "master"
        assert client.request("match", on=False)["transport"]["match"] is False
        assert daemon.engine.match is False
        client.request("match", on=True)


def test_translate_plays_a_check_and_refuses_an_unknown_one(daemon):
    with Client(daemon.path) as client:
        reply = client.request("translate", name="phone")
        assert reply["transport"]["translation"] == "phone"
        assert daemon.engine.translation_name == "phone"
        assert daemon.engine.desk.state()["translation"] == "phone"
        with pytest.raises(ProtocolError, match="'radio' is not one of off, mono") as refused:
            client.request("translate", name="radio")
        assert daemon.engine.translation_name == "phone"  # nothing changed
        client.request("action", name="translate", args={"check": "phone"})  # toggles off
        assert client.request("status")["transport"]["translation"] == "off"
    assert refused.value.code == "bad_argument"


def test_snapshots_store_and_recall_the_whole_chain(daemon):
    desk = daemon.engine.desk
    with Client(daemon.path) as client:
        client.request("set", values={"stereo.width_pct": 120})
        assert client.request("snapshot_store", slot="a") == {"snapshot": "A"}
        client.request("set", values={"stereo.width_pct": 80})
        client.request("snapshot_recall", slot="A")
        assert desk.get("stereo.width_pct") == 120.0
        desk.snapshots.pop("D", None)
        with pytest.raises(ProtocolError, match="empty") as refused:
            client.request("snapshot_recall", slot="D")
    assert refused.value.code == "unavailable"


def test_any_desk_action_can_be_performed_by_name(daemon):
    with Client(daemon.path) as client:
        client.request("stop")
        assert client.request("action", name="toggle_play") == {"result": None}
        assert daemon.engine.desk.state()["playing"] is True
        client.request("action", name="stop")
        with pytest.raises(ProtocolError) as refused:
            client.request("action", name="undo")
    assert refused.value.code == "unavailable"


def test_the_async_client_matches_concurrent_replies_and_streams_events(daemon):
    async def session():
        client = await AsyncClient.open(daemon.path)
        try:
            replies = await asyncio.gather(*(client.request("get", ids=[i]) for i in
                                             ("comp.ratio", "comp.knee_db", "comp.mix_pct")))
            await client.request("subscribe", topic="params", rate_hz=30)
            await client.request("set", values={"comp.knee_db": 7.0})
            async with asyncio.timeout(2.0):
                async for event in client.events():
                    if event["event"] == "params" and "comp.knee_db" in event["data"]["values"]:
                        return replies, event
        finally:
            await client.close()

    replies, event = asyncio.run(session())
    assert [list(r["values"]) for r in replies] == [["comp.ratio"], ["comp.knee_db"],
                                                    ["comp.mix_pct"]]
    assert event["data"]["values"]["comp.knee_db"] == 7.0


def test_stopping_the_server_tells_clients_and_removes_the_socket(daemon, tmp_path):
    server = ControlServer(daemon.engine, socket_path=tmp_path / "bye.sock")
    server.start()
    client = Raw(str(server.socket_path))
    assert client.ask(command="get", ids=["comp.ratio"])["ok"]
    server.stop()
    assert client.read()["data"]["code"] == "shutdown"
    assert client.read() is None
    client.close()
    assert not Path(server.socket_path).exists()


@pytest.fixture
def stranger_proof(daemon, tmp_path):
    """A server of its own (fresh failure counts), on the module's engine."""
    server = ControlServer(daemon.engine, socket_path=tmp_path / "own.sock", tcp="127.0.0.1:0",
                           token=TOKEN, limits=Limits(auth_timeout_s=3.0, max_tcp_clients=4))
    server.start()
    yield server
    server.stop()


def test_strangers_over_tcp_cannot_take_the_owners_places(stranger_proof, raw):
    server = stranger_proof
    squatters = [raw(server.tcp_address) for _ in range(4)]  # no hello: just holding places
    assert wait_until(lambda: len(server.clients()) == 4)
    late = raw(server.tcp_address)
    assert late.reply()["error"]["code"] == "too_many_clients"
    with Client(server.socket_path) as client:  # the owner's socket has places of its own
        assert client.request("status")["server"]["clients"] == 5
    assert all(s is not None for s in squatters)


def test_nothing_but_a_short_hello_is_read_from_a_stranger(stranger_proof, raw):
    big = raw(stranger_proof.tcp_address)
    big.send({"command": "hello", "token": "x" * 4000})
    assert big.reply()["error"]["code"] == "unauthorized"
    assert big.read() is None  # closed


def test_wrong_tokens_are_answered_slower_and_slower(stranger_proof, raw):
    took = []
    for _ in range(4):
        guess = raw(stranger_proof.tcp_address)
        started = time.monotonic()
        assert guess.ask(command="hello", token="guess-" * 4)["error"]["code"] == "unauthorized"
        took.append(time.monotonic() - started)
    assert took[0] < 0.6 and took[3] > 1.5  # 0.25 s, 0.5, 1, 2: a guess every few seconds
    assert took == sorted(took)


def test_huge_numbers_and_deep_nesting_are_bad_requests_not_internal_errors(raw):
    client = raw()
    deep = "[" * 100000 + "]" * 100000
    client.sock.sendall(('{"command": "get", "ids": ' + deep + "}\n").encode())
    assert client.reply()["error"]["code"] in ("bad_json", "line_too_long")
    client = raw()
    client.sock.sendall(b'{"command": "locate", "seconds": ' + b"9" * 400 + b"}\n")
    assert client.reply()["error"]["code"] == "bad_argument"
    client = raw()
    client.sock.sendall(b'{"command": "song_select", "number": ' + b"9" * 30 + b"}\n")
    assert client.reply()["error"]["code"] in ("bad_argument", "unavailable")

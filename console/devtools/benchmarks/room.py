"""The listening room's benchmark: engine output to browser, and xruns with listeners.

A daemon runs in this process on a dummy JACK server (its room on loopback),
playing a song of short 1 kHz bursts, one every half second, out of silence.

xruns, with no listener and with four, in alternating phases
  Four listeners that cost the machine little: four aiortc peer connections
  in one separate Python process (``python -m console.devtools.benchmarks.room``),
  each joining with its own invite exactly as the page does (``POST /join``
  with the token and an offer for audio to receive and a data channel named
  ``room``), decoding the Opus track (PyAV) and counting what arrives. The
  process runs throughout, idle in the no-listener phases. Phases alternate,
  ``rounds`` x [none, four], ``seconds`` each, with no browser running; each
  counts the daemon's xruns (the count ``status`` reports), the dummy JACK
  server's (a JACK client that only listens for them), the callbacks and
  their p99 (over that phase's callbacks only), and the CPU of the daemon's
  process and of the listeners' one. The dummy driver's timer slips on a
  shared VM and reports xruns even idle: the comparison is between the
  alternating phases (the medians per condition), not against zero.

The delay, engine output to audio decoded in the browser
  A thread reads the engine's output ring every millisecond and notes the
  wall-clock time each burst went out (the frame's place in the ring, back
  from the latest frame written). One headless Chromium page joins the room
  and notes the wall-clock time each burst is heard in the decoded stream
  (WebAudio's analyser, placed within its window of samples). The delay is
  the difference, burst by burst; measured with the page alone, then again
  with the four aiortc listeners connected (the page is then the fifth).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

RATE = 48000
BURST_EVERY_S = 0.5
BURST_S = 0.010
SONG_S = 30.0
SETTLE_S = 5.0
"""After a join, before measuring: the browser's jitter buffer shrinks to what it needs."""
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--autoplay-policy=no-user-gesture-required",
                "--disable-features=WebRtcHideLocalIpsWithMdns"]


def _bursts_song(path: Path) -> list[int]:
    """Write the song of bursts; return each burst's first sample."""
    import soundfile as sf

    audio = np.zeros((int(SONG_S * RATE), 2))
    starts = list(range(int(0.25 * RATE), len(audio) - RATE, int(BURST_EVERY_S * RATE)))
    n = int(BURST_S * RATE)
    burst = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(n) / RATE) * np.hanning(n) ** 0.1
    for start in starts:
        audio[start:start + n] = burst[:, None]
    sf.write(path, audio, RATE, subtype="FLOAT")
    return starts


class _RingWatch:
    """A thread noting when each burst leaves the engine (wall clock, from the ring)."""

    def __init__(self, engine: Any) -> None:
        from console.room.ring import OutputRing

        self.ring = OutputRing.of_engine(engine)
        self.times: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-ring", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        position = self.ring.written()
        last_loud = -1e9
        while not self._stop.wait(0.001):
            written, now = self.ring.written(), time.time()
            if written <= position:
                continue
            block = self.ring.read(position, written - position)
            if block is not None:
                loud = np.flatnonzero(np.abs(block[:, 0]) > 0.1)
                for index in loud:
                    frame = position + int(index)
                    at = now - (written - frame) / RATE
                    if at - last_loud > 0.1:
                        self.times.append(at)
                    last_loud = max(last_loud, at)
            position = written

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2.0)


def _say(what: str) -> None:
    """A progress line on stderr (the figures go to stdout at the end)."""
    print(f"bench room: {what}", file=sys.stderr, flush=True)


def _delays(out_times: list[float], heard_ms: list[float]) -> list[float]:
    """For each burst heard, the delay after the latest burst that went out before it."""
    delays = []
    for heard in heard_ms:
        t = heard / 1000.0
        before = [o for o in out_times if o <= t]
        if before and t - before[-1] < BURST_EVERY_S * 0.9:
            delays.append(t - before[-1])
    return delays


def _summary(delays: list[float]) -> dict[str, Any]:
    if not delays:
        return {"bursts": 0}
    ms = sorted(1000 * d for d in delays)
    return {"bursts": len(ms), "median_ms": round(statistics.median(ms), 1),
            "p90_ms": round(ms[int(0.9 * (len(ms) - 1))], 1), "max_ms": round(ms[-1], 1),
            "min_ms": round(ms[0], 1)}



def _server_xruns_probe() -> Any:
    """A JACK client on the dummy server that only counts the server's xruns."""
    import jack

    client = jack.Client("md-room-xruns", no_start_server=True)
    client.count = 0
    client.set_xrun_callback(lambda delay: setattr(client, "count", client.count + 1))
    client.activate()  # no process callback: it only listens for xruns
    return client


def _process_cpu_s(pid: int) -> float | None:
    """User + system CPU seconds of process ``pid`` (Linux ``/proc``)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class _Phase:
    """The engine's and the server's counts over one stretch of time."""

    def __init__(self, engine: Any, probe: Any, clients: _Clients | None) -> None:
        from console.engine import callback as cb

        self.engine, self.probe, self.clients, self.cb = engine, probe, clients, cb
        self.xruns, self.server = engine.rt[cb.R_XRUNS], probe.count
        self.blocks, self.index = engine.rt[cb.R_CALLBACKS], int(engine.rt[cb.R_TIME_INDEX])
        self.cpu, self.wall = time.process_time(), time.monotonic()
        self.client_cpu = clients.cpu() if clients else None
        self.received = clients.counts() if clients else None

    def end(self, condition: str) -> dict[str, Any]:
        cb, engine = self.cb, self.engine
        seconds = time.monotonic() - self.wall
        index = int(engine.rt[cb.R_TIME_INDEX])
        ring = engine.times
        span = min(index - self.index, len(ring))
        slots = [(k % len(ring)) for k in range(index - span, index)]
        ms = np.sort(ring[slots]) / 1e6 if slots else np.zeros(1)
        result: dict[str, Any] = {
            "condition": condition, "seconds": round(seconds, 2),
            "daemon_xruns": int(engine.rt[cb.R_XRUNS] - self.xruns),
            "server_xruns": int(self.probe.count - self.server),
            "callbacks": int(engine.rt[cb.R_CALLBACKS] - self.blocks),
            "callback_p99_ms": round(float(np.percentile(ms, 99)), 3),
            "callback_max_ms": round(float(ms[-1]), 3),
            "daemon_cpu_per_s": round((time.process_time() - self.cpu) / seconds, 3)}
        if self.clients:
            cpu = self.clients.cpu()
            if cpu is not None and self.client_cpu is not None:
                result["listener_process_cpu_per_s"] = round((cpu - self.client_cpu) / seconds, 3)
            after = self.clients.counts()
            if self.received and after and len(after) == len(self.received):
                result["decoded_audio_s_per_listener"] = [
                    round((a["samples"] - b["samples"]) / RATE, 2)
                    for a, b in zip(after, self.received, strict=True)]
        return result


def _medians(phases: list[dict[str, Any]], condition: str) -> dict[str, Any]:
    chosen = [p for p in phases if p["condition"] == condition]
    keys = ("daemon_xruns", "server_xruns", "callbacks", "callback_p99_ms", "daemon_cpu_per_s",
            "listener_process_cpu_per_s")
    return {"phases": len(chosen), **{k: statistics.median(p[k] for p in chosen)
                                      for k in keys if chosen and all(k in p for p in chosen)}}


class _Clients:
    """The process holding the aiortc listeners, driven one JSON line at a time."""

    def __init__(self, log: Path) -> None:
        import subprocess

        self._log = log.open("w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "console.devtools.benchmarks.room"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, text=True)
        self.log = log
        self.joined = False
        self._ask({"do": "hello"})

    def _ask(self, command: dict[str, Any]) -> dict[str, Any]:
        import json

        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError(f"the listeners' process ended; see {self.log}: "
                               + self.log.read_text()[-800:])
        reply = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"the listeners' process: {reply['error']}")
        return reply

    def join(self, links: list[str]) -> dict[str, Any]:
        reply = self._ask({"do": "join", "links": links})
        self.joined = True
        return reply

    def leave(self) -> dict[str, Any]:
        self.joined = False
        return self._ask({"do": "leave"})

    def counts(self) -> list[dict[str, Any]] | None:
        return self._ask({"do": "count"})["listeners"] if self.joined else None

    def cpu(self) -> float | None:
        return _process_cpu_s(self.process.pid)

    def close(self) -> None:
        import contextlib
        import subprocess

        with contextlib.suppress(Exception):
            self._ask({"do": "quit"})
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
        self._log.close()


def _wait_listeners(room: Any, count: int, timeout: float = 10.0) -> None:
    """Until the room has ``count`` listeners (joins answered, or hang-ups noticed)."""
    deadline = time.monotonic() + timeout
    while len(room.describe()["listeners"]) != count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the room has {len(room.describe()['listeners'])} listeners, "
                               f"not {count}")
        time.sleep(0.05)


def run_room_bench(seconds: float = 10.0, listeners: int = 4, rounds: int = 3
                   ) -> dict[str, Any]:
    """Measure xruns with no listener and with ``listeners``; the delay to one browser.

    ``rounds`` x [no listener, ``listeners`` aiortc ones], ``seconds`` a phase;
    then the delay to one Chromium page, alone and beside the aiortc listeners.
    The figures as a table go to stderr too.
    """
    from playwright.sync_api import sync_playwright

    from console.config import Config
    from console.daemon import Daemon
    from console.devtools.jackd import dummy_jack

    with tempfile.TemporaryDirectory(prefix="masterdeck-room-bench-") as folder:
        base = Path(folder)
        os.environ["XDG_CONFIG_HOME"] = str(base / "config")
        song = base / "bursts.wav"
        _bursts_song(song)
        with dummy_jack(prefix="mdbench") as _jack:
            daemon = Daemon(Config(socket=str(base / "control.sock"), songs=[str(song)]))
            _say("starting the daemon")
            daemon.start()
            clients = probe = None
            try:
                engine = daemon.engine
                engine.set_loop(0.0, SONG_S - 1.0, True)
                engine.play()
                room = daemon.room
                room.start(bind="127.0.0.1:0")
                probe = _server_xruns_probe()
                links = [room.invite(f"bench-{k}")["link"] for k in range(1, listeners + 1)]
                clients = _Clients(base / "listeners.log")
                _say(f"warming up: {listeners} aiortc listeners join and leave once")
                clients.join(links)
                _wait_listeners(room, listeners)
                time.sleep(SETTLE_S / 2)
                clients.leave()
                _wait_listeners(room, 0)
                phases: list[dict[str, Any]] = []
                for k in range(rounds):
                    time.sleep(1.0)
                    _say(f"round {k + 1}/{rounds}: no listener, {seconds:g} s")
                    phase = _Phase(engine, probe, clients)
                    time.sleep(seconds)
                    phases.append(phase.end("none"))
                    joined = clients.join(links)
                    _wait_listeners(room, listeners)
                    time.sleep(2.0)  # the handshakes done, the stream steady
                    _say(f"round {k + 1}/{rounds}: {listeners} aiortc listeners, {seconds:g} s")
                    phase = _Phase(engine, probe, clients)
                    time.sleep(seconds)
                    phases.append({**phase.end("four"), "join_s": joined["seconds"]})
                    phases[-1]["sent"] = _sent(room.describe())
                    left = clients.leave()
                    phases[-1]["packets_lost"] = [c["lost"] for c in left["listeners"]]
                    _wait_listeners(room, 0)
                watch = _RingWatch(engine)
                with sync_playwright() as p:
                    _say("starting Chromium: the delay to one page")
                    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=BROWSER_ARGS)
                    page = browser.new_page()
                    _join(page, room.invite("bench-browser")["link"])
                    time.sleep(SETTLE_S)
                    phase = _Phase(engine, probe, None)
                    alone = _listen(page, seconds)
                    alone_phase = phase.end("one Chromium page")
                    alone_stats = page.evaluate("window.roomProbe.stats()")
                    _say(f"the delay to the page beside {listeners} aiortc listeners")
                    clients.join(links)
                    _wait_listeners(room, listeners + 1)
                    time.sleep(SETTLE_S)
                    phase = _Phase(engine, probe, clients)
                    beside = _listen(page, seconds)
                    beside_phase = phase.end(f"one Chromium page and {listeners} aiortc")
                    beside_stats = page.evaluate("window.roomProbe.stats()")
                    sent = _sent(room.describe())
                    left = clients.leave()
                    browser.close()
                watch.stop()
            finally:
                if clients is not None:
                    clients.close()
                if probe is not None:
                    probe.deactivate()
                    probe.close()
                daemon.shutdown()
    result = {
        "phase_seconds": seconds,
        "phases": phases,
        "median_no_listener": _medians(phases, "none"),
        "median_four_listeners": _medians(phases, "four"),
        "delay_one_browser": {**_summary(_delays(watch.times, alone)), "goal_ms": 250,
                              "jitter_buffer_ms": _jitter(alone_stats),
                              "lost": alone_stats.get("lost"), "during": alone_phase},
        "delay_browser_beside_four": {**_summary(_delays(watch.times, beside)), "goal_ms": 250,
                                      "jitter_buffer_ms": _jitter(beside_stats),
                                      "lost": beside_stats.get("lost"),
                                      "aiortc_lost": [c["lost"] for c in left["listeners"]],
                                      "during": beside_phase},
        "opus_kbps_per_audio_s": sent,
    }
    print(table(result), file=sys.stderr, flush=True)
    return result


def _jitter(stats: dict[str, Any]) -> float:
    return round(stats.get("jitter_buffer_ms") or 0, 1)


def _sent(described: dict[str, Any]) -> list[float]:
    """Each listener's Opus rate, kb per second of audio sent (20 ms a packet)."""
    return [round(8 * r["audio_bytes_sent"] / (0.020 * max(r["audio_packets_sent"], 1)) / 1000,
                  1) for r in described["listeners"]]


def table(result: dict[str, Any]) -> str:
    """The figures as a Markdown table, phase by phase, then the delays."""
    rows = ["| phase | listeners | daemon xruns | server xruns | callbacks | callback p99 ms "
            "| daemon CPU | listeners' process CPU |", "|---|---|---|---|---|---|---|---|"]
    for k, p in enumerate(result["phases"], start=1):
        rows.append(f"| {k} | {p['condition']} | {p['daemon_xruns']} | {p['server_xruns']} "
                    f"| {p['callbacks']} | {p['callback_p99_ms']} | {p['daemon_cpu_per_s']} "
                    f"| {p.get('listener_process_cpu_per_s', '')} |")
    for condition in ("no_listener", "four_listeners"):
        m = result[f"median_{condition}"]
        rows.append(f"| median | {condition.replace('_', ' ')} | {m.get('daemon_xruns')} "
                    f"| {m.get('server_xruns')} | {m.get('callbacks')} "
                    f"| {m.get('callback_p99_ms')} | {m.get('daemon_cpu_per_s')} "
                    f"| {m.get('listener_process_cpu_per_s', '')} |")
    for key, what in (("delay_one_browser", "one Chromium page"),
                      ("delay_browser_beside_four", "Chromium beside four aiortc")):
        d = result[key]
        rows.append(f"\ndelay, {what}: median {d.get('median_ms')} ms, 90 % {d.get('p90_ms')} "
                    f"ms, max {d.get('max_ms')} ms ({d['bursts']} bursts; jitter buffer "
                    f"{d['jitter_buffer_ms']} ms; daemon xruns {d['during']['daemon_xruns']}, "
                    f"server {d['during']['server_xruns']} in {d['during']['seconds']} s)")
    return "\n".join(rows)


def _listen(page: Any, seconds: float) -> list[float]:
    """The bursts ``page`` hears over ``seconds`` (wall-clock ms)."""
    page.evaluate("window.roomProbe.watch(0.1, 100)")
    time.sleep(seconds)
    return page.evaluate("window.roomProbe.onsets()")


def _join(page: Any, link: str) -> Any:
    page.goto(link)
    page.click("#listen")
    deadline = time.monotonic() + 20
    while not page.evaluate("window.roomProbe.ready()"):
        if time.monotonic() > deadline:
            raise RuntimeError("a page did not start hearing the room")
        time.sleep(0.05)
    return page


# the listeners' process ------------------------------------------------------------------
def _stereo(sdp: str) -> str:
    """The page's offer munging (room.js ``stereo``): Opus in stereo, up to 510 kb/s."""
    import re

    def line(match: re.Match) -> str:
        pt, params = match.group(1), match.group(2)
        if not re.search(rf"a=rtpmap:{pt} opus/48000", sdp, re.IGNORECASE):
            return match.group(0)
        return f"a=fmtp:{pt} {params};stereo=1;sprop-stereo=1;maxaveragebitrate=510000\r\n"

    return re.sub(r"a=fmtp:(\d+) (.*)\r\n", line, sdp)


class _Listener:
    """One aiortc peer connection joining like the page, decoding what it hears."""

    def __init__(self) -> None:
        import asyncio

        from aiortc import RTCConfiguration, RTCPeerConnection

        self.pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        self.frames = self.samples = self.messages = 0
        self.first = asyncio.Event()
        self.tasks: list[Any] = []
        self.pc.addTransceiver("audio", direction="recvonly")
        self.channel = self.pc.createDataChannel("room")
        self.channel.on("message", self._message)
        self.pc.on("track", self._track)

    def _message(self, _raw: Any) -> None:
        self.messages += 1

    def _track(self, track: Any) -> None:
        import asyncio

        self.tasks.append(asyncio.ensure_future(self._consume(track)))

    async def _consume(self, track: Any) -> None:
        from aiortc.mediastreams import MediaStreamError

        while True:
            try:
                frame = await track.recv()  # decoded by aiortc (Opus through PyAV)
            except MediaStreamError:
                return
            self.frames += 1
            self.samples += frame.samples
            self.first.set()

    async def join(self, session: Any, link: str) -> None:
        from aiortc import RTCSessionDescription

        base, token = link.split("/#", 1)
        offer = await self.pc.createOffer()
        await self.pc.setLocalDescription(RTCSessionDescription(sdp=_stereo(offer.sdp),
                                                                type="offer"))
        body = {"token": token, "sdp": self.pc.localDescription.sdp, "type": "offer"}
        async with session.post(f"{base}/join", json=body, ssl=False) as response:
            reply = await response.json()
            if response.status != 200:
                raise RuntimeError(f"join: {response.status} {reply.get('error')}")
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=reply["sdp"],
                                                                 type=reply["type"]))

    async def counts(self) -> dict[str, Any]:
        lost = received = 0
        for stats in (await self.pc.getStats()).values():
            if stats.type == "inbound-rtp":
                lost, received = stats.packetsLost, stats.packetsReceived
        return {"frames": self.frames, "samples": self.samples, "messages": self.messages,
                "packets": received, "lost": lost}

    async def close(self) -> None:
        await self.pc.close()
        for task in self.tasks:
            task.cancel()


async def _listeners_main() -> None:
    """Serve the bench's commands on stdin, a JSON line each, a JSON line back."""
    import asyncio
    import json

    import aiohttp

    loop = asyncio.get_running_loop()
    listeners: list[_Listener] = []
    async with aiohttp.ClientSession() as session:
        while True:
            line = await loop.run_in_executor(None, sys.stdin.readline)
            if not line:
                break
            command = json.loads(line)
            reply: dict[str, Any] = {}
            try:
                if command["do"] == "join":
                    started = time.monotonic()
                    listeners = [_Listener() for _ in command["links"]]
                    await asyncio.gather(*(lst.join(session, link)
                                           for lst, link in zip(listeners, command["links"],
                                                                strict=True)))
                    await asyncio.wait_for(asyncio.gather(*(lst.first.wait()
                                                            for lst in listeners)), 20)
                    reply = {"joined": len(listeners),
                             "seconds": round(time.monotonic() - started, 3)}
                elif command["do"] == "count":
                    reply = {"listeners": [await lst.counts() for lst in listeners]}
                elif command["do"] == "leave":
                    reply = {"listeners": [await lst.counts() for lst in listeners]}
                    await asyncio.gather(*(lst.close() for lst in listeners))
                    listeners = []
                elif command["do"] == "quit":
                    await asyncio.gather(*(lst.close() for lst in listeners))
                    print(json.dumps({"bye": True}), flush=True)
                    break
            except Exception as exc:  # told to the bench, which stops
                reply = {"error": f"{type(exc).__name__}: {exc}"}
            print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    import asyncio

    asyncio.run(_listeners_main())

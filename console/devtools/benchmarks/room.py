"""The listening room's benchmark: engine output to browser, and xruns with listeners.

A daemon runs in this process on a dummy JACK server (its room on loopback),
playing a song of short 1 kHz bursts, one every half second, out of silence.
A thread reads the engine's output ring every millisecond and notes the
wall-clock time each burst went out (the frame's place in the ring, back
from the latest frame written). Headless Chromium pages join the room and note
the wall-clock time each burst is heard in the decoded stream (WebAudio's
analyser, placed within its window of samples). The delay is the difference,
burst by burst: engine output to audio decoded in the browser, on loopback.

xruns and the callback's load are read from the engine over the same length
of time with no listener and with four (one Opus encode serves them all;
each has its own peer connection and encryption). The four browser pages are
open in both (blank, then listening), so the difference is the streaming; on
a real session they run on the clients' machines, not beside the daemon.
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


def _xruns(engine: Any, seconds: float) -> dict[str, Any]:
    from console.engine import callback as cb

    before, blocks = engine.rt[cb.R_XRUNS], engine.rt[cb.R_CALLBACKS]
    cpu = time.process_time()
    time.sleep(seconds)
    load = engine.callback_load()
    return {"seconds": seconds, "xruns": int(engine.rt[cb.R_XRUNS] - before),
            "callbacks": int(engine.rt[cb.R_CALLBACKS] - blocks),
            "callback_p99_ms": load.get("p99_ms"),
            "daemon_cpu_per_s": round((time.process_time() - cpu) / seconds, 3)}


def run_room_bench(seconds: float = 20.0, listeners: int = 4) -> dict[str, Any]:
    """Measure the delay to the browser and the xruns with none and ``listeners`` listening."""
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
            try:
                engine = daemon.engine
                engine.set_loop(0.0, SONG_S - 1.0, True)
                engine.play()
                room = daemon.room
                room.start(bind="127.0.0.1:0")
                watch = _RingWatch(engine)
                with sync_playwright() as p:
                    _say("starting Chromium")
                    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=BROWSER_ARGS)
                    pages = [browser.new_page() for _ in range(listeners)]
                    for page in pages:
                        page.goto("about:blank")  # running, not listening
                    time.sleep(1.0)
                    _say(f"{listeners} pages open, none listening: {seconds:g} s of xruns")
                    idle = _xruns(engine, seconds)
                    _say("one listener: the delay")
                    _join(pages[0], room.invite("bench-1")["link"])
                    time.sleep(SETTLE_S)
                    alone = _listen(pages[0], seconds)
                    _say(f"{listeners} listeners: the delay and {seconds:g} s of xruns")
                    for k, page in enumerate(pages[1:], start=2):
                        _join(page, room.invite(f"bench-{k}")["link"])
                    time.sleep(SETTLE_S)
                    for page in pages:  # from now on only
                        page.evaluate("window.roomProbe.watch(0.1, 100)")
                    busy = _xruns(engine, seconds)
                    heard = [page.evaluate("window.roomProbe.onsets()") for page in pages]
                    stats = [page.evaluate("window.roomProbe.stats()") for page in pages]
                    described = room.describe()
                    browser.close()
                watch.stop()
            finally:
                daemon.shutdown()
    per_page = [_summary(_delays(watch.times, onsets)) for onsets in heard]
    all_delays = [d for onsets in heard for d in _delays(watch.times, onsets)]
    sent = described["listeners"]
    return {
        "delay_one_listener": {**_summary(_delays(watch.times, alone)), "goal_ms": 250},
        "delay_four_listeners": {**_summary(all_delays), "per_listener": per_page,
                                 "goal_ms": 250},
        "xruns_no_listener": {**idle, "browser_pages_open": listeners},
        "xruns_with_listeners": {**busy, "listeners": listeners},
        "opus_kbps_per_audio_s": [round(8 * r["audio_bytes_sent"]
                                        / (0.020 * max(r["audio_packets_sent"], 1)) / 1000, 1)
                                  for r in sent],
        "browser_jitter_buffer_ms": [round(s.get("jitter_buffer_ms") or 0, 1) for s in stats],
        "packets_lost": [s.get("lost") for s in stats],
    }


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

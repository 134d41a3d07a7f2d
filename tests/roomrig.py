"""A daemon with a session and its room open, and a headless Chromium to join it.

Shared by the room's browser tests and its benchmark: one daemon and one
browser per module. The song is a sweep (200 Hz rising 500 Hz a second), so
the frequency a page hears tells where in the song it is; the reference is a
steady 1 kHz tone, left louder than right by 6 dB, so a page's level,
frequency and stereo can be checked against known values.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import soundfile as sf

from console.control.client import Client
from console.devtools.jackd import DummyJackServer
from console.devtools.stopping import stop_child
from dsp.errors import MasterdeckError

RATE = 48000
SWEEP_START_HZ = 200.0
SWEEP_HZ_PER_S = 500.0
SWEEP_S = 20.0
TONE_HZ = 1000.0
TONE_PEAK_DB = (-10.0, -16.0)
"""The reference's peaks, left and right (its RMS is 3 dB lower)."""
RMS_DB = tuple(peak - 3.01 for peak in TONE_PEAK_DB)
"""The reference tone's RMS, left and right (a sine's RMS is 3 dB under its peak)."""
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--autoplay-policy=no-user-gesture-required",
                "--disable-features=WebRtcHideLocalIpsWithMdns"]
NEUTRAL = {"eq.bypass": 1, "comp.bypass": 1, "exciter.bypass": 1, "stereo.bypass": 1,
           "limiter.bypass": 1}
"""Every stage out: the master is the song as it is, so its level is known."""


def sweep_position_s(frequency_hz: float) -> float:
    """Where in the sweep a frequency is heard."""
    return (frequency_hz - SWEEP_START_HZ) / SWEEP_HZ_PER_S


def write_songs(folder: Path) -> tuple[Path, Path]:
    """The sweep song and the 1 kHz reference, as WAV files in ``folder``."""
    t = np.arange(int(SWEEP_S * RATE)) / RATE
    phase = 2 * np.pi * (SWEEP_START_HZ * t + 0.5 * SWEEP_HZ_PER_S * t * t)
    sweep = 0.25 * np.sin(phase)
    song = folder / "sweep.wav"
    sf.write(song, np.stack([sweep, sweep], 1), RATE, subtype="FLOAT")
    t = np.arange(int(30 * RATE)) / RATE
    tone = np.sin(2 * np.pi * TONE_HZ * t)
    left, right = (10 ** (db / 20) for db in TONE_PEAK_DB)
    ref = folder / "tone.wav"
    sf.write(ref, np.stack([left * tone, right * tone], 1), RATE, subtype="FLOAT")
    return song, ref


@contextmanager
def jack_without_portaudio() -> Iterator[DummyJackServer]:
    """A dummy JACK server for daemons only: this process opens no JACK client.

    The shared ``jack`` fixture also points this process's PortAudio at the
    server, whose JACK client the server drops as a zombie when a busy
    browser keeps the process from answering in time; PortAudio then aborts
    the whole test process at the end (``pa_jack.c: Terminate: Assertion``).
    The room's tests only need the daemon to play into JACK.
    """
    server = DummyJackServer(prefix="mdtest")
    server.start()
    try:
        yield server
    finally:
        server.stop()


class RoomDaemon:
    """``masterdeck serve --session`` on the test's JACK server, its room open on loopback."""

    def __init__(self, jack, folder: Path) -> None:
        self.folder = folder
        self.run_dir = folder / "run"
        self.run_dir.mkdir(mode=0o700, exist_ok=True)
        self.config = folder / "config"
        (self.config / "masterdeck").mkdir(parents=True, exist_ok=True)
        self.env = {**os.environ, **jack.env(), "XDG_CONFIG_HOME": str(self.config),
                    "XDG_RUNTIME_DIR": str(self.run_dir), "PYTHONUNBUFFERED": "1"}
        self.socket = str(self.run_dir / "masterdeck" / "control.sock")
        self.song, self.reference = write_songs(folder)
        self.process: subprocess.Popen | None = None
        self.log_file = open(folder / "daemon.log", "w+")  # closed in stop()
        self.url = ""

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--session", str(self.folder / "album"),
             "--song", str(self.song), "--reference", str(self.reference)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=self.log_file, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"daemon exited early: {self.log()}")
            try:
                with Client(socket_path=self.socket) as client:
                    client.request("status")
                    break
            except (OSError, MasterdeckError):
                time.sleep(0.2)
        else:
            raise AssertionError(f"daemon did not come up: {self.log()}")
        self.request("set", values=NEUTRAL)
        self.request("match", on=False)
        self.request("loop", start_s=0.5, end_s=SWEEP_S - 0.5, on=True)
        self.request("play")
        self.url = self.request("room_start", bind="127.0.0.1:0")["room"]["url"]

    def request(self, command: str, **args):
        with Client(socket_path=self.socket) as client:
            return client.request(command, **args)

    def invite(self, name: str, grants: list[str] | None = None) -> str:
        return self.request("room_invite", name=name, grants=grants or [])["invite"]["link"]

    def log(self) -> str:
        if not self.log_file.closed:
            self.log_file.flush()
        return (self.folder / "daemon.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.process is not None:
            stop_child(self.process, 20.0)
        self.log_file.close()


def post_join(url: str, token: str) -> tuple[int, dict]:
    """POST a join with ``token`` and a dummy offer: (HTTP status, JSON reply)."""
    body = json.dumps({"token": token, "sdp": "v=0\r\n", "type": "offer"}).encode()
    request = urllib.request.Request(f"{url}/join", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def open_page(browser, link: str):
    """A new page on ``link``, listening (the Listen button pressed) and hearing audio."""
    page = browser.new_page()
    page.goto(link)
    page.click("#listen")
    wait_until(page, "window.roomProbe.ready()")
    return page


def wait_until(page, expression: str, timeout_s: float = 15.0):
    """Poll ``expression`` in the page until it is truthy; return its value.

    (Playwright's ``wait_for_function`` evaluates a string, which the page's
    Content-Security-Policy rightly forbids.)
    """
    deadline = time.monotonic() + timeout_s
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{expression} still false after {timeout_s} s")
        time.sleep(0.05)


def hear(page, times: int = 5) -> dict:
    """The page's readings, ``times`` of them 0.1 s apart: the medians."""
    readings = []
    for _ in range(times):
        readings.append(page.evaluate("window.roomProbe.hear()"))
        time.sleep(0.1)
    return {key: statistics.median(r[key] for r in readings)
            for key in ("frequency_hz", "left_db", "right_db")}


def is_tone(heard: dict, frequency_hz: float, rms_db: tuple[float, float]) -> bool:
    """Whether a page heard a steady tone of this frequency (±2 Hz) and levels (±1 dB)."""
    return (abs(heard["frequency_hz"] - frequency_hz) <= 2.0
            and abs(heard["left_db"] - rms_db[0]) <= 1.0
            and abs(heard["right_db"] - rms_db[1]) <= 1.0)


def set_source(rig, name: str) -> None:
    rig.request("source", name=name)
    time.sleep(0.6)  # the 10 ms crossfade, then the stream's delay and the analyser's window

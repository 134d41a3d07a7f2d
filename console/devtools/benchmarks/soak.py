"""Soak benchmark: the daemon under load for minutes, beside a trivial JACK client.

Runs on its own dummy JACK server (48 kHz, 64-frame blocks by default; ``block`` to change):

- a trivial pass-through JACK client (``jack_thru``, C) runs throughout, and
  a listener counts the server's xruns: first for a baseline with the
  pass-through alone (the dummy driver's timer slips on a shared VM), then
  with a real ``masterdeck serve`` process playing a looped song, a client
  subscribed to meters at 30 Hz, and a virtual MIDI device (named like a
  nanoKONTROL2, so the shipped profile binds it) sending 1,000 control
  changes a second;
- the daemon's own xrun count (PortAudio's status flags in its callback) and
  its callback duration percentiles come from ``status``;
- a parameter change's way to the ear is measured in parts: the control
  socket round trip of ``set`` (the value is in the target array when the
  reply leaves), plus at most one period until the callback reads it, plus
  the output latency PortAudio reports.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jack
import numpy as np
import soundfile as sf

from console.control.client import Client, NoDaemonError
from console.devtools.jackd import dummy_jack
from console.devtools.stopping import stop_child

RATE = 48000


def _song(path: Path, seconds: float = 30.0) -> Path:
    t = np.arange(int(seconds * RATE)) / RATE
    s = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    sf.write(path, np.stack([s, s], 1), RATE, subtype="FLOAT")
    return path


def _wait_ready(socket_path: Path, process: subprocess.Popen, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("the daemon exited during start-up")
        if socket_path.exists():
            with contextlib.suppress(OSError, NoDaemonError):
                with Client(socket_path=str(socket_path)) as client:
                    client.request("status")
                return
        time.sleep(0.1)
    raise RuntimeError("the daemon did not become ready")


def _set_round_trips(socket_path: Path, count: int) -> list[float]:
    """Milliseconds for ``set`` over the socket (the value is in the target array on reply)."""
    times = []
    with Client(socket_path=str(socket_path)) as client:
        for k in range(count):
            started = time.perf_counter()
            client.request("set", values={"output.gain_db": -6.0 if k % 2 else 0.0})
            times.append(1000.0 * (time.perf_counter() - started))
            time.sleep(0.05)
    return times


def run_soak(seconds: float = 600.0, baseline_s: float | None = None,
             block: int = 64) -> dict[str, object]:
    """Run the soak; return the figures (see the module docstring)."""
    baseline_s = baseline_s if baseline_s is not None else min(60.0, seconds / 4)
    with dummy_jack(RATE, block, prefix="mdsoak") as server:
        return _soak(server, seconds, baseline_s, block)


def _soak(server, seconds: float, baseline_s: float, block: int) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="mdsoak-"))
    env = {**server.env(), "XDG_RUNTIME_DIR": str(folder / "run"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    (folder / "run").mkdir(mode=0o700)
    results: dict[str, object] = {"block": block, "rate": RATE, "seconds": seconds}
    spawn = {"env": env, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    children: list[subprocess.Popen] = []
    probe_client = jack.Client("md-soak-xruns", no_start_server=True)
    try:
        xruns = [0]
        probe_client.set_xrun_callback(lambda delay: xruns.__setitem__(0, xruns[0] + 1))
        probe_client.activate()  # no process callback: it only listens for xruns
        thru = subprocess.Popen(["jack_thru"], **spawn)
        children.append(thru)
        time.sleep(baseline_s)
        results["baseline_server_xruns_per_min"] = round(xruns[0] / baseline_s * 60, 2)
        log = (folder / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--block", str(block), "--midi-backend",
             "jack", "--song", str(_song(folder / "song.wav"))], env=env,
            stdout=subprocess.DEVNULL, stderr=log)
        results["daemon_log"] = str(folder / "daemon.log")
        children.append(daemon)
        socket_path = folder / "run" / "masterdeck" / "control.sock"
        _wait_ready(socket_path, daemon)
        with Client(socket_path=str(socket_path)) as control:
            control.request("loop", start_s=0.0, end_s=29.0, on=True)
            control.request("play")
        flood = subprocess.Popen([sys.executable, "-m", "console.devtools.benchmarks.midiflood",
                                  "1000", str(folder / "flood.count")], **spawn)
        children.append(flood)
        subscriber = Client(socket_path=str(socket_path))
        subscriber.connect()
        subscriber.request("subscribe", topic="meters", rate_hz=30)
        time.sleep(2.0)
        xruns_before = xruns[0]
        with Client(socket_path=str(socket_path)) as control:
            callbacks_before = control.request("status")["meters"].get("callbacks", 0)
        started = time.monotonic()
        round_trips: list[float] = []
        meter_events = 0
        while time.monotonic() - started < seconds:
            round_trips += _set_round_trips(socket_path, 4)
            until = time.monotonic() + min(5.0, seconds - (time.monotonic() - started))
            while time.monotonic() < until:  # read meters as a UI would
                if subscriber.next_event(timeout=0.2):
                    meter_events += 1
        elapsed = time.monotonic() - started
        with Client(socket_path=str(socket_path)) as control:
            status = control.request("status")
        subscriber.close()
        sent = int((folder / "flood.count").read_text() or 0)
        _stop(flood, grace=3.0)  # first: a wedged MIDI sender must not hold up the rest
        period_ms = 1000.0 * block / RATE
        output_ms = 1000.0 * float(status["stream"].get("output_latency_s") or 0.0)
        rtt = np.array(round_trips)
        results.update({
            "soak_server_xruns_per_min": round((xruns[0] - xruns_before) / elapsed * 60, 2),
            "daemon_xruns_total": status["xruns"],
            "daemon_callbacks": status["meters"].get("callbacks"),
            # audio the dummy server actually clocked, per second of wall time (1.0 = real time)
            "server_pace": round((status["meters"].get("callbacks", 0) - callbacks_before)
                                 * block / RATE / elapsed, 3),
            "callback": status["callback_load"],
            "portaudio_cpu_load": status["stream"].get("cpu_load"),
            "midi_messages_per_s": round(sent / (elapsed + 2.0), 1),
            "meter_events_read_per_s": round(meter_events / elapsed, 1),
            "set_round_trip_ms": {"count": int(rtt.size),
                                  "p50": round(float(np.percentile(rtt, 50)), 3),
                                  "p99": round(float(np.percentile(rtt, 99)), 3),
                                  "max": round(float(rtt.max()), 3)},
            "change_to_heard_ms": {
                "p50": round(float(np.percentile(rtt, 50)) + period_ms / 2 + output_ms, 2),
                "worst": round(float(rtt.max()) + period_ms + output_ms, 2),
                "parts": f"round trip + up to one period ({period_ms:.2f} ms) + output "
                         f"latency ({output_ms:.2f} ms)",
            },
        })
    finally:
        for child in reversed(children):
            _stop(child, grace=20.0)
        # A JACK server whose client was killed mid-cycle can wedge; closing our
        # clock client then never returns, and the figures are already in hand.
        threading.Thread(target=probe_client.close, daemon=True).start()
    return results


def _stop(child: subprocess.Popen, grace: float) -> None:
    """SIGTERM, then SIGKILL after ``grace`` seconds."""
    stop_child(child, grace)

"""Soak benchmark: the daemon under load for minutes, against a trivial JACK client.

Runs on its own dummy JACK server at 64-frame blocks (48 kHz):

- first a baseline: a trivial pass-through JACK client alone, counting the
  server's xruns (the dummy driver's timer slips on a shared VM);
- then a real ``masterdeck serve`` process playing a looped song, with a
  client subscribed to meters at 30 Hz and a virtual MIDI device (named like
  a nanoKONTROL2, so the shipped profile binds it) sending 1,000 control
  changes a second, while the pass-through client keeps counting;
- throughout, parameter changes are sent over the control socket and a
  recorder client times how long until they are heard.

Reports xruns (server-wide and the daemon's own), the callback's duration
percentiles and load from the daemon, and the change-to-heard latency.
"""

from __future__ import annotations

import contextlib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import jack
import numpy as np
import soundfile as sf

from console.client import Client, NoDaemonError
from console.jackd import dummy_jack

RATE, BLOCK = 48000, 64


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


def _latency_probes(jack_client, socket_path: Path, probes: int) -> list[tuple[int, bool]]:
    """Jump the output gain over the socket; return (frame sent, went down?) per probe."""
    sent = []
    with Client(socket_path=str(socket_path)) as client:
        for k in range(probes):
            low = k % 2 == 0
            sent.append((jack_client.frame_time, low))
            client.request("set", values={"output.gain_db": -20.0 if low else 0.0})
            time.sleep(0.25)
    return sent


def _heard_after(frames: np.ndarray, levels: np.ndarray, probes: list[tuple[int, bool]]
                 ) -> list[float]:
    """Milliseconds from each change being sent to the level moving 1 dB its way."""
    heard = []
    for sent_frame, low in probes:
        before = levels[(frames >= sent_frame - 2400) & (frames < sent_frame)]
        after = np.flatnonzero(frames >= sent_frame)
        if before.size == 0 or after.size == 0:
            continue
        reference = max(float(before.max()), 1e-9)
        change = 20 * np.log10(np.maximum(levels[after], 1e-9) / reference)
        moved = np.flatnonzero(change < -1.0 if low else change > 1.0)
        if moved.size:
            heard.append(1000.0 * (frames[after[moved[0]]] - sent_frame) / RATE)
    return heard


def run_soak(seconds: float = 600.0, baseline_s: float | None = None) -> dict[str, object]:
    """Run the soak; return the figures (see the module docstring)."""
    baseline_s = baseline_s if baseline_s is not None else min(60.0, seconds / 4)
    with dummy_jack(RATE, BLOCK, prefix="mdsoak") as server:
        return _soak(server, seconds, baseline_s)


def _soak(server, seconds: float, baseline_s: float) -> dict[str, object]:
    folder = Path(tempfile.mkdtemp(prefix="mdsoak-"))
    env = {**server.env(), "XDG_RUNTIME_DIR": str(folder / "run"),
           "XDG_CONFIG_HOME": str(folder / "config")}
    (folder / "run").mkdir(mode=0o700)
    results: dict[str, object] = {"block": BLOCK, "rate": RATE, "seconds": seconds}
    spawn = {"env": env, "stdout": subprocess.PIPE, "stderr": subprocess.DEVNULL, "text": True}
    children: list[subprocess.Popen] = []
    probe_client = jack.Client("md-soak-clock", no_start_server=True)
    try:
        base = subprocess.Popen([sys.executable, "-m", "console.benchmarks.passthrough",
                                 str(folder / "base.npz"), "none"], **spawn)
        time.sleep(baseline_s)
        base.terminate()
        base.wait(30)
        baseline = np.load(folder / "base.npz")
        results["baseline_server_xruns_per_min"] = round(
            float(baseline["xruns"]) / baseline_s * 60, 2)

        log = (folder / "daemon.log").open("w")
        daemon = subprocess.Popen(
            [sys.executable, "-m", "console", "serve", "--block", str(BLOCK), "--midi-backend",
             "jack", "--song", str(_song(folder / "song.wav"))], env=env,
            stdout=subprocess.DEVNULL, stderr=log)
        results["daemon_log"] = str(folder / "daemon.log")
        children.append(daemon)
        socket_path = folder / "run" / "masterdeck" / "control.sock"
        _wait_ready(socket_path, daemon)
        with Client(socket_path=str(socket_path)) as control:
            control.request("loop", start_s=0.0, end_s=29.0, on=True)
            control.request("play")
        listener = subprocess.Popen([sys.executable, "-m", "console.benchmarks.passthrough",
                                     str(folder / "soak.npz"), "PortAudio"], **spawn)
        flood = subprocess.Popen([sys.executable, "-m", "console.benchmarks.midiflood", "1000",
                                  str(folder / "flood.count")], **spawn)
        children += [listener, flood]
        subscriber = Client(socket_path=str(socket_path))
        subscriber.connect()
        subscriber.request("subscribe", topic="meters", rate_hz=30)
        time.sleep(2.0)
        started = time.monotonic()
        probes: list[tuple[int, bool]] = []
        meter_events = 0
        while time.monotonic() - started < seconds:
            probes += _latency_probes(probe_client, socket_path, 4)
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
        listener.terminate()
        listener.wait(30)
        soak = np.load(folder / "soak.npz")
        heard = _heard_after(soak["frames"], soak["levels"], probes)
        results.update({
            "soak_server_xruns_per_min": round(float(soak["xruns"]) / (elapsed + 2.0) * 60, 2),
            "daemon_xruns_total": status["xruns"],
            "daemon_callbacks": status["meters"].get("callbacks"),
            "callback": status["callback_load"],
            "portaudio_cpu_load": status["stream"].get("cpu_load"),
            "midi_messages_per_s": round(sent / (elapsed + 2.0), 1),
            "meter_events_read_per_s": round(meter_events / elapsed, 1),
            "change_to_heard_ms": {
                "probes": len(heard),
                "median": round(statistics.median(heard), 2) if heard else None,
                "p95": round(float(np.percentile(heard, 95)), 2) if heard else None,
                "max": round(max(heard), 2) if heard else None,
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
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(grace)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait(10)

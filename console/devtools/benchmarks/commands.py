"""Whole-process benchmark: the commands as a user runs them, against scripts a user would write.

In-process figures (``bench --only chain``, ``meters``) leave out what a user
waits for too: interpreter start, imports, loading compiled kernels, reading
and writing files. Here every figure is a whole process, spawned and timed to
its exit:

- thin clients (``--help``, ``status``, ``set``) against a running daemon;
- ``render`` and ``analyze`` of a 1 s file;
- ``render`` of a 5-minute stereo 48 kHz song with every stage engaged, against
  a pedalboard script (read the file, EQ + compressor + limiter, write 24-bit);
- ``analyze`` of the same song, against a libebur128 script (read the file,
  integrated + LRA + true peak through pyebur128).

Ours and the reference are timed turn about and each pair's ratio kept, so
the machine's drift stays out of the ratio; figures are medians.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

from console.control.client import Client, NoDaemonError
from console.devtools.benchmarks.chain import ENGAGED, RATE, program
from console.devtools.jackd import DummyJackServer
from console.devtools.stopping import stop_child

PEDALBOARD_SCRIPT = '''
import sys
import pedalboard as pb
import soundfile as sf
audio, rate = sf.read(sys.argv[1], dtype="float32", always_2d=True)
board = pb.Pedalboard([
    pb.HighpassFilter(cutoff_frequency_hz=30.0),
    pb.PeakFilter(cutoff_frequency_hz=300.0, gain_db=-2.5, q=1.2),
    pb.PeakFilter(cutoff_frequency_hz=2500.0, gain_db=1.5, q=1.0),
    pb.PeakFilter(cutoff_frequency_hz=6000.0, gain_db=-1.0, q=1.0),
    pb.HighShelfFilter(cutoff_frequency_hz=12000.0, gain_db=2.0),
    pb.Compressor(threshold_db=-24.0, ratio=3.0, attack_ms=10.0, release_ms=150.0),
    pb.Gain(gain_db=8.0),
    pb.Limiter(threshold_db=-1.0, release_ms=100.0),
])
out = board(audio.T.copy(), rate)
sf.write(sys.argv[2], out.T, rate, subtype="PCM_24")
'''
"""What a user would write to master a file with pedalboard (JUCE): the chain bench's board."""

LIBEBUR128_SCRIPT = '''
import math, sys
import pyebur128 as ebu
import soundfile as sf
audio, rate = sf.read(sys.argv[1], dtype="float64", always_2d=True)
mode = (ebu.MeasurementMode.MODE_I | ebu.MeasurementMode.MODE_LRA
        | ebu.MeasurementMode.MODE_TRUE_PEAK)
state = ebu.R128State(audio.shape[1], rate, mode)
state.add_frames(audio.reshape(-1), audio.shape[0])
peak = max(ebu.get_true_peak(state, c) for c in range(audio.shape[1]))
print(ebu.get_loudness_global(state), ebu.get_loudness_range(state), 20 * math.log10(peak))
'''
"""What a user would write to measure I, LRA and true peak with libebur128."""


def _masterdeck(*args: str) -> list[str]:
    return [sys.executable, "-m", "console", *args]


def _run(argv: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:5])} failed: {done.stderr.strip()[-400:]}")
    return elapsed


def _median_s(argv: list[str], env: dict[str, str], repeats: int) -> float:
    _run(argv, env)  # warm-up: page cache, compiled kernels
    return round(statistics.median(_run(argv, env) for _ in range(repeats)), 3)


def _turn_about(ours: list[str], theirs: list[str], env: dict[str, str],
                repeats: int) -> dict[str, float]:
    _run(ours, env)
    _run(theirs, env)
    pairs = [(_run(ours, env), _run(theirs, env)) for _ in range(repeats)]
    return {"ours_s": round(statistics.median(a for a, _ in pairs), 3),
            "reference_s": round(statistics.median(b for _, b in pairs), 3),
            "speed_vs_reference": round(statistics.median(b / a for a, b in pairs), 2)}


def _has(module: str) -> bool:
    return subprocess.run([sys.executable, "-c", f"import {module}"],
                          capture_output=True, check=False).returncode == 0


def _write_preset(path: Path) -> None:
    path.write_text("".join(f"{key} = {value!r}\n" for key, value in ENGAGED.items()))


def _clients(env: dict[str, str], runtime: Path, repeats: int) -> dict[str, float]:
    """Thin clients' whole-process times against a daemon on a dummy JACK server."""
    jack = DummyJackServer(prefix="mdcmd")
    jack.start()
    daemon = None
    try:
        daemon_env = {**env, **jack.env(), "JACK_NO_START_SERVER": "1"}
        daemon = subprocess.Popen(_masterdeck("serve"), env=daemon_env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        socket_path = runtime / "masterdeck" / "control.sock"
        deadline = time.monotonic() + 300.0
        while True:
            if daemon.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("masterdeck serve did not start")
            try:
                with Client(socket_path=str(socket_path)) as client:
                    client.request("status")
                break
            except (OSError, NoDaemonError):
                time.sleep(0.1)
        return {
            "python_-c_pass_s": _median_s([sys.executable, "-c", "pass"], env, repeats),
            "help_s": _median_s(_masterdeck("--help"), env, repeats),
            "status_s": _median_s(_masterdeck("status"), env, repeats),
            "set_s": _median_s(_masterdeck("set", "limiter.ceiling_dbtp=-1.1"), env, repeats),
            "play_s": _median_s(_masterdeck("play"), env, repeats),
        }
    finally:
        if daemon is not None:
            stop_child(daemon, 30.0)
        jack.stop()


def run_commands_bench(seconds: float = 300.0, repeats: int = 5) -> dict[str, object]:
    """Time the commands as whole processes; return the figures."""
    results: dict[str, object] = {"song_seconds": seconds, "repeats": repeats,
                                  "cpus": os.cpu_count()}
    with tempfile.TemporaryDirectory() as folder:
        base = Path(folder)
        runtime = base / "run"
        runtime.mkdir(mode=0o700)
        env = {**os.environ, "XDG_RUNTIME_DIR": str(runtime),
               "XDG_CONFIG_HOME": str(base / "config")}
        short, song = base / "short.wav", base / "song.wav"
        sf.write(short, program(1.0), RATE, subtype="PCM_24")
        sf.write(song, program(seconds), RATE, subtype="PCM_24")
        preset = base / "engaged.toml"
        _write_preset(preset)
        out = str(base / "out.wav")
        results["clients"] = _clients(env, runtime, repeats)
        results["one_second"] = {
            "render_s": _median_s(_masterdeck("render", str(short), out, "--preset",
                                              str(preset)), env, repeats),
            "analyze_s": _median_s(_masterdeck("analyze", str(short)), env, repeats),
        }
        render = _masterdeck("render", str(song), out, "--preset", str(preset))
        analyze = _masterdeck("analyze", str(song))
        if _has("pedalboard"):
            (base / "pedalboard_master.py").write_text(PEDALBOARD_SCRIPT)
            theirs = [sys.executable, str(base / "pedalboard_master.py"), str(song),
                      str(base / "pb.wav")]
            results["render_song"] = _turn_about(render, theirs, env, repeats)
        else:
            results["render_song"] = {"ours_s": _median_s(render, env, repeats),
                                      "reference": "pedalboard not installed"}
        if _has("pyebur128"):
            (base / "libebur128_measure.py").write_text(LIBEBUR128_SCRIPT)
            theirs = [sys.executable, str(base / "libebur128_measure.py"), str(song)]
            results["analyze_song"] = _turn_about(analyze, theirs, env, repeats)
        else:
            results["analyze_song"] = {"ours_s": _median_s(analyze, env, repeats),
                                       "reference": "pyebur128 not installed"}
    return results


def main() -> None:
    """Print the figures (``python -m console.devtools.benchmarks.commands``)."""
    import json

    print(json.dumps(run_commands_bench(), indent=1))


if __name__ == "__main__":
    main()

"""Start-up benchmark: how long ``masterdeck serve`` takes to be ready, cold and warm.

Cold: an empty numba cache, so every kernel compiles (the daemon runs
:func:`console.engine.kernels.compile_all` first, on every core:
``kernels_compile_s`` is that total cold compile). Warm: the cache the
cold run left. Each run is a real daemon process on a dummy JACK server,
timed from spawn until the control socket answers, with the daemon's own
figures (kernel and callback compile or load times, ready time) from
``status``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from console.control.client import Client, NoDaemonError
from console.devtools.jackd import DummyJackServer
from console.devtools.stopping import stop_child


def _one_start(env: dict[str, str], runtime: Path, timeout: float = 300.0) -> dict[str, float]:
    socket_path = runtime / "masterdeck" / "control.sock"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "console", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < timeout:
            if process.poll() is not None:
                raise RuntimeError("masterdeck serve exited during start-up")
            if socket_path.exists():
                try:
                    with Client(socket_path=str(socket_path)) as client:
                        status = client.request("status")
                    wall = time.perf_counter() - started
                    return {"wall_s": round(wall, 2), **status["start_times"]}
                except (OSError, NoDaemonError):  # bound, not yet listening
                    pass
            time.sleep(0.05)
        raise RuntimeError("masterdeck serve did not become ready")
    finally:
        stop_child(process, 30.0)


def run_startup_bench(warm_runs: int = 3) -> dict[str, object]:
    """Time one cold start and ``warm_runs`` warm starts; return the figures."""
    server = DummyJackServer(prefix="mdbench")
    server.start()
    try:
        with tempfile.TemporaryDirectory() as folder:
            base = Path(folder)
            runtime = base / "run"
            runtime.mkdir(mode=0o700)
            env = {**server.env(), "NUMBA_CACHE_DIR": str(base / "numba"),
                   "XDG_RUNTIME_DIR": str(runtime), "XDG_CONFIG_HOME": str(base / "config")}
            env.pop("JACK_NO_START_SERVER", None)
            env["JACK_NO_START_SERVER"] = "1"
            cold = _one_start(env, runtime)
            warm = [_one_start(env, runtime) for _ in range(warm_runs)]
    finally:
        server.stop()
    warm_wall = sorted(r["wall_s"] for r in warm)
    return {"cold": cold, "warm": warm, "warm_median_wall_s": warm_wall[len(warm_wall) // 2],
            "python": sys.version.split()[0], "cpus": os.cpu_count()}

"""``masterdeck compile`` and a cold ``serve``: every kernel compiled once, then only loaded.

Real processes on a numba cache of their own (``NUMBA_CACHE_DIR`` in a
temporary folder), so the user's cache is never touched. The module's cache
is what a compile killed part-way leaves: a copy of the cache this checkout's
set-up filled (``./dev setup`` compiles cold; CI runs it first), less the
stamp and two jobs' kernels, which the compile must notice, compile and
report. With no such cache to copy it starts cold (a minute of two cores).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import soundfile as sf

from console.control.client import Client
from console.engine import kernels


def _masterdeck(*args, env, timeout=900.0):
    return subprocess.run([sys.executable, "-m", "console", *args], env=env,
                          capture_output=True, text=True, timeout=timeout)


KILLED_BEFORE = ("dither", "stereo")
"""The jobs whose kernels the module's cache lacks (modules of their own in ``dsp/``)."""


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    """A cache completed by ``masterdeck compile``: (cache folder, environment, its run).

    Seeded as the module's docstring says, when the set-up's cache is there.
    """
    cache = tmp_path_factory.mktemp("numba")
    seed = kernels.cache_folder()
    if seed is not None and (seed / kernels.STAMP).exists():
        shutil.copytree(seed, cache, dirs_exist_ok=True)
        (cache / kernels.STAMP).unlink()
        for name in KILLED_BEFORE:
            for file in cache.glob(f"*/{name}.*"):
                file.unlink()
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    env.pop("NUMBA_DEBUG_CACHE", None)
    return cache, env, _masterdeck("compile", env=env)


def test_compile_says_it_happens_once_and_reports_every_job(compiled):
    cache, _, run = compiled
    assert run.returncode == 0, run.stderr
    assert "once" in run.stderr and f"later starts load them from {cache}" in run.stderr
    total = len(kernels.USUAL)
    lines = {}
    for name in kernels.USUAL:  # not a terminal: a line per job, "[n/N] what: ..."
        what = kernels.BY_NAME[name].what
        lines[name] = next(line for line in run.stderr.splitlines() if f"] {what}: " in line)
    assert f"[{total}/{total}] " in run.stderr
    for name in KILLED_BEFORE:  # what was missing is compiled, whatever else was there
        assert "kernels compiled" in lines[name], lines[name]
    assert "live input" not in run.stderr  # rarely needed: left to first use, or --all
    assert (cache / kernels.STAMP).exists()


def test_a_fresh_process_loads_every_kernel_from_that_cache(compiled):
    _, env, _ = compiled
    check = _masterdeck("compile", "--check", "--json", env=env)
    assert check.returncode == 0, check.stdout + check.stderr
    result = json.loads(check.stdout)
    assert result["jobs"] == len(kernels.USUAL)
    assert result["compiled"] == []


def test_compiling_again_only_says_the_cache_is_complete(compiled):
    cache, env, _ = compiled
    again = _masterdeck("compile", "--json", env=env)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout) == {"cache": str(cache), "compiled": False, "ready": True}
    assert "compiled already" in _masterdeck("compile", env=env).stdout


def test_all_adds_the_rarer_kernels_and_loads_the_rest(compiled, tmp_path):
    source, _, _ = compiled
    cache = tmp_path / "numba"
    shutil.copytree(source, cache)
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache)}
    run = _masterdeck("compile", "--all", env=env)
    assert run.returncode == 0, run.stderr
    lines = {line.split("] ", 1)[1].split(":")[0]: line
             for line in run.stderr.splitlines() if line.startswith("[")}
    assert len(lines) == len(kernels.JOBS)
    for job in kernels.JOBS:  # the usual jobs load; the rare ones compile, unless a first
        line = lines[job.what]  # use in the set-up's cache had compiled them already
        assert "kernels compiled" not in line or job.rare, line
    # and now every kernel, the rare ones too, is in the cache: nothing compiles
    check = _masterdeck("compile", "--all", "--check", "--json", env=env)
    assert check.returncode == 0 and json.loads(check.stdout)["compiled"] == []


def test_render_and_analyze_compile_nothing_on_that_cache(compiled, tmp_path):
    _, env, _ = compiled
    t = np.arange(48000) / 48000
    tone = 0.2 * np.sin(2 * np.pi * 440 * t)
    sf.write(tmp_path / "in.wav", np.stack([tone, tone], 1), 48000, subtype="PCM_24")
    debug = {**env, "NUMBA_DEBUG_CACHE": "1"}  # numba says "[cache] data saved" per compile
    render = _masterdeck("render", str(tmp_path / "in.wav"), str(tmp_path / "out.wav"),
                         "--set", "exciter.bypass=0", "--set", "comp.bypass=0", env=debug)
    assert render.returncode == 0, render.stderr
    analyze = _masterdeck("analyze", str(tmp_path / "out.wav"), env=debug)
    assert analyze.returncode == 0, analyze.stderr
    for run in (render, analyze):  # the prebuilt module: numba never even starts
        assert "[cache]" not in run.stdout + run.stderr
    through_numba = _masterdeck("analyze", str(tmp_path / "out.wav"),
                                env={**debug, "MASTERDECK_PREBUILT": "0"})
    assert through_numba.returncode == 0, through_numba.stderr
    assert "data loaded" in through_numba.stdout  # the check sees numba where it runs
    assert "data saved" not in through_numba.stdout + through_numba.stderr


def _wait_for_socket(path, process, timeout=600.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"daemon exited early: {process.stderr.read()}")
        if path.exists():
            try:
                with Client(socket_path=str(path)) as client:
                    return client.request("status")
            except OSError:
                pass
        time.sleep(0.2)
    raise AssertionError("daemon did not come up")


def test_serve_on_a_cache_without_the_stamp_compiles_first_and_says_so(compiled, jack,
                                                                       tmp_path):
    source, _, _ = compiled
    cache = tmp_path / "numba"
    shutil.copytree(source, cache)
    (cache / kernels.STAMP).unlink()  # as after an install: serve runs every job first
    (tmp_path / "run").mkdir(mode=0o700)
    env = {**jack.env(), "NUMBA_CACHE_DIR": str(cache), "PYTHONUNBUFFERED": "1",
           "XDG_CONFIG_HOME": str(tmp_path / "config"), "XDG_RUNTIME_DIR": str(tmp_path / "run")}
    process = subprocess.Popen([sys.executable, "-m", "console", "serve"], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        status = _wait_for_socket(tmp_path / "run" / "masterdeck" / "control.sock", process)
        process.send_signal(signal.SIGTERM)
        _, log = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 0, log
    assert "compiling every kernel, once" in log
    assert "cached for every later start" in log
    total = len(kernels.USUAL)
    for n in range(1, total + 1):
        assert f"kernels [{n}/{total}] " in log
    assert "loaded from the cache" in log  # what the first compile left is only loaded
    assert status["start_times"]["kernels_compile_s"] > 0
    assert (cache / kernels.STAMP).exists()

"""The thin command-line clients, run as subprocesses against a running server.

The server listens where ``masterdeck serve`` would put it under a private
XDG runtime folder, so the commands are also tested finding it on their own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from console.control.server import ControlServer
from console.engine.stream import Engine

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "cli-token"


@pytest.fixture(scope="module")
def daemon(jack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli")
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder / "run"),
           "XDG_CONFIG_HOME": str(folder / "config"), "MASTERDECK_TOKEN": ""}
    (folder / "run").mkdir(mode=0o700)
    sf.write(folder / "song.wav", np.zeros((4800, 2)), 48000)
    engine = Engine(sample_rate=48000, block_size=256)
    engine.start()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_RUNTIME_DIR", env["XDG_RUNTIME_DIR"])
        patch.setenv("XDG_CONFIG_HOME", env["XDG_CONFIG_HOME"])
        server = ControlServer(engine, tcp="127.0.0.1:0", token=TOKEN)
        server.start()
    yield engine, server, env, folder
    server.stop()
    engine.stop()


def masterdeck(daemon, *args, env=None, cwd=None):
    _, _, daemon_env, _ = daemon
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, env={**daemon_env, **(env or {}), "PYTHONPATH": str(ROOT)},
                          cwd=cwd or ROOT, timeout=60)


def test_status_finds_the_daemon_and_prints_stream_transport_and_meters(daemon):
    done = masterdeck(daemon, "status")
    assert done.returncode == 0, done.stderr
    assert "48000 Hz" in done.stdout and "256 frames" in done.stdout
    for heading in ("stream", "transport", "song", "callback", "xruns", "meters"):
        assert heading in done.stdout


def test_status_json_is_the_protocol_reply(daemon):
    done = masterdeck(daemon, "status", "--json")
    status = json.loads(done.stdout)
    assert status["stream"]["sample_rate"] == 48000 and "meters" in status


def test_set_then_get_by_id_and_by_stage(daemon):
    engine = daemon[0]
    done = masterdeck(daemon, "set", "limiter.ceiling_dbtp=-0.5", "eq.band1.type=bell")
    assert done.returncode == 0, done.stderr
    assert "-0.5 dBTP" in done.stdout and "bell" in done.stdout
    assert engine.desk.get("limiter.ceiling_dbtp") == -0.5
    one = masterdeck(daemon, "get", "limiter.ceiling_dbtp")
    assert one.stdout.split() == ["limiter.ceiling_dbtp", "-0.5", "dBTP"]
    stage = json.loads(masterdeck(daemon, "get", "--json", "limiter").stdout)
    assert stage["limiter.ceiling_dbtp"] == -0.5 and all(k.startswith("limiter.") for k in stage)


def test_a_refused_value_exits_2_with_the_reason_and_changes_nothing(daemon):
    engine = daemon[0]
    engine.desk.set("comp.ratio", 2.0)
    done = masterdeck(daemon, "set", "comp.ratio=3", "comp.ratio=100")
    assert done.returncode == 2
    assert "out of range" in done.stderr and "comp.ratio" in done.stderr
    assert engine.desk.get("comp.ratio") == 2.0
    unknown = masterdeck(daemon, "get", "comp.nope")
    assert unknown.returncode == 2 and "unknown parameter" in unknown.stderr


def test_transport_commands_drive_the_engine(daemon):
    engine, _, _, folder = daemon
    loaded = masterdeck(daemon, "load", "song.wav", cwd=folder)  # a relative path works
    assert loaded.returncode == 0, loaded.stderr
    assert "song: song" in loaded.stdout
    assert "playing" in masterdeck(daemon, "play").stdout
    assert masterdeck(daemon, "locate", "0:00.05").returncode == 0
    assert "loop 0:00.0-0:00.1" in masterdeck(daemon, "loop", "0", "0.08").stdout
    assert engine.loop_info()["on"] is True
    assert "hearing bypass" in masterdeck(daemon, "bypass", "on").stdout
    assert engine.source == "bypass"
    assert "match off" in masterdeck(daemon, "match", "off").stdout
    assert engine.match is False
    assert masterdeck(daemon, "snapshot", "store", "b").stdout.strip() == "snapshot B stored"
    assert "hearing master" in masterdeck(daemon, "bypass", "off").stdout
    assert "hearing master as earbuds" in masterdeck(daemon, "translate", "earbuds").stdout
    assert engine.translation_name == "earbuds"
    assert masterdeck(daemon, "translate", "radio").returncode == 2  # argparse's choices
    assert "as earbuds" not in masterdeck(daemon, "translate", "off").stdout
    assert engine.translation_name == "off"
    assert "stopped" in masterdeck(daemon, "stop").stdout
    assert engine.source == "master"
    engine.match = True
    assert engine.desk.state()["playing"] is False


def test_without_a_daemon_the_commands_say_so_and_fail(daemon, tmp_path):
    done = masterdeck(daemon, "status", "--socket", str(tmp_path / "none.sock"))
    assert done.returncode != 0
    assert "no masterdeck daemon" in done.stderr and "masterdeck serve" in done.stderr


def test_tcp_clients_need_the_token(daemon):
    _, server, _, _ = daemon
    where = f"127.0.0.1:{server.tcp_address[1]}"
    good = masterdeck(daemon, "get", "comp.ratio", "--connect", where,
                      env={"MASTERDECK_TOKEN": TOKEN})
    assert good.returncode == 0, good.stderr
    bad = masterdeck(daemon, "play", "--connect", where, "--token", "nope")
    assert bad.returncode == 2 and "token" in bad.stderr


HEAVY = ("numba", "llvmlite", "numpy", "scipy", "soundfile", "sounddevice", "soxr", "textual",
         "mido", "rtmidi", "asyncio")
"""Packages a thin client must not import: the DSP's stack, audio, MIDI, the UI, asyncio."""
LIGHT_DSP = {"dsp", "dsp.errors", "dsp.params"}
"""The only parts of dsp/ a thin client may read: the error types and the parameter table."""
PROBE = ("import json, sys\n"
         "from console.cli import main\n"
         "try:\n"
         "    rc = main(sys.argv[1:])\n"
         "except SystemExit as exc:\n"
         "    rc = exc.code\n"
         f"loaded = sorted(m for m in sys.modules if m.split('.')[0] in {set(HEAVY)}\n"
         f"                or (m.startswith('dsp') and m not in {LIGHT_DSP}))\n"
         "print('LOADED ' + json.dumps(loaded), file=sys.stderr)\n"
         "sys.exit(rc)\n")


def loaded_by(daemon, *args, env=None):
    _, _, daemon_env, _ = daemon
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True,
                          env={**daemon_env, "PYTHONPATH": str(ROOT), **(env or {})}, cwd=ROOT,
                          timeout=60)
    line = next(x for x in done.stderr.splitlines() if x.startswith("LOADED "))
    return done, json.loads(line.removeprefix("LOADED "))


@pytest.mark.parametrize("args", [
    ("--help",), ("status",), ("status", "--json"), ("get", "limiter"),
    ("set", "limiter.ceiling_dbtp=-1.2"), ("play",), ("stop",), ("locate", "0:01"),
    ("session", "--help"),
], ids=" ".join)
def test_thin_clients_start_without_numba_numpy_or_the_dsp(daemon, args):
    done, loaded = loaded_by(daemon, *args)
    assert done.returncode == 0, done.stderr
    assert loaded == [], f"masterdeck {' '.join(args)} imported {loaded[:8]}"


def test_the_import_probe_sees_a_heavy_import(daemon):
    """The probe above would catch a client that pulls in the DSP (analyze does, on purpose;
    without its prebuilt kernels, numba too)."""
    wav = daemon[3] / "song.wav"
    done, loaded = loaded_by(daemon, "analyze", str(wav), env={"MASTERDECK_PREBUILT": "0"})
    assert done.returncode == 0, done.stderr
    assert "numba" in loaded and "numpy" in loaded and "dsp.meter" in loaded

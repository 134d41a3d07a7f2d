"""``masterdeck analyze`` end to end: real files written with soundfile, the real CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from console.offline.analyze import KEYS
from dsp.meter import measure
from tests import ebu_signals as ebu

ROOT = Path(__file__).resolve().parent.parent


def analyze(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "console", "analyze", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Audio files of several formats and a few that cannot be read."""
    where = tmp_path_factory.mktemp("analyze")
    made = {}
    specs = [
        ("tone16.wav", ebu.case_3341(1), 48000, "PCM_16"),
        ("music24.wav", ebu.music_like(5.0, 48000, 2, seed=7), 48000, "PCM_24"),
        ("music96.wav", ebu.music_like(4.0, 96000, 2, seed=8), 96000, "FLOAT"),
        ("mono24.flac", ebu.music_like(5.0, 44100, 1, seed=9), 44100, "PCM_24"),
        ("surround16.flac", ebu.case_3341_6(48000, with_lfe=True), 48000, "PCM_16"),
        ("silence.wav", np.zeros((48000, 2)), 48000, "PCM_16"),
    ]
    for name, data, rate, subtype in specs:
        path = where / name
        sf.write(path, data, rate, subtype=subtype)
        made[name] = path
    garbage = where / "garbage.wav"
    garbage.write_bytes(b"RIFF not really a wave file" * 40)
    made["garbage.wav"] = garbage
    made["missing.wav"] = where / "missing.wav"
    return made


@pytest.fixture(scope="module")
def report(files) -> tuple[subprocess.CompletedProcess, dict[str, dict]]:
    names = ["tone16.wav", "garbage.wav", "music24.wav", "music96.wav", "missing.wav",
             "mono24.flac", "surround16.flac", "silence.wav"]
    done = analyze("--json", *(str(files[n]) for n in names))
    objects = json.loads(done.stdout)
    assert [Path(o["path"]).name for o in objects] == names
    return done, {Path(o["path"]).name: o for o in objects}


def test_json_objects_carry_exactly_the_documented_keys(report):
    _, objects = report
    for name, obj in objects.items():
        extra = {"error"} if name in ("garbage.wav", "missing.wav") else set()
        assert list(obj) == list(KEYS) + sorted(extra), name


def test_unreadable_files_get_an_error_and_exit_status_1_while_others_are_measured(report):
    done, objects = report
    assert done.returncode == 1
    assert "Format not recognised" in objects["garbage.wav"]["error"]
    assert "no such file" in objects["missing.wav"]["error"]
    for name in ("garbage.wav", "missing.wav"):
        assert all(objects[name][k] is None for k in KEYS[1:]), name
        assert objects[name]["error"] in done.stderr
    assert objects["music24.wav"]["integrated_lufs"] is not None


def test_ebu_tone_file_reads_minus_23(report):
    tone = report[1]["tone16.wav"]
    assert tone["sample_rate"] == 48000 and tone["channels"] == 2
    assert tone["duration_s"] == pytest.approx(20.0)
    for key in ("integrated_lufs", "momentary_max_lufs", "short_term_max_lufs"):
        assert tone[key] == pytest.approx(-23.0, abs=0.1), key
    assert tone["true_peak_dbtp"] == pytest.approx(-23.0, abs=0.05)
    assert tone["loudness_range_lu"] == pytest.approx(0.0, abs=0.1)


def test_surround_file_with_lfe_reads_minus_23(report):
    assert report[1]["surround16.flac"]["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("name", ["music24.wav", "music96.wav", "mono24.flac"])
def test_block_read_file_equals_the_whole_array_measured_in_memory(report, files, name):
    data, rate = sf.read(files[name], dtype="float64", always_2d=True)
    expected = measure(data, rate)
    got = report[1][name]
    for key in KEYS[4:]:
        assert got[key] == pytest.approx(getattr(expected, key), abs=1e-4), key
    assert got["sample_rate"] == rate and got["channels"] == data.shape[1]


def test_silent_file_gives_nulls_not_infinities(report):
    silent = report[1]["silence.wav"]
    assert silent["duration_s"] == pytest.approx(1.0)
    assert all(silent[k] is None for k in KEYS[4:])


def test_table_and_dual_mono(files):
    plain = analyze("--json", str(files["mono24.flac"]))
    dual = analyze("--json", "--dual-mono", str(files["mono24.flac"]), str(files["tone16.wav"]))
    assert plain.returncode == 0 and dual.returncode == 0, dual.stderr
    mono, = json.loads(plain.stdout)
    dual_mono, stereo = json.loads(dual.stdout)
    assert dual_mono["integrated_lufs"] - mono["integrated_lufs"] == pytest.approx(3.0103,
                                                                                   abs=2e-4)
    assert dual_mono["true_peak_dbtp"] == mono["true_peak_dbtp"]
    assert stereo["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)  # stereo is unchanged
    table = analyze(str(files["tone16.wav"]), str(files["garbage.wav"]))
    assert table.returncode == 1
    lines = table.stdout.splitlines()
    assert "I LUFS" in lines[0] and "LRA LU" in lines[0]
    assert "tone16.wav" in lines[1] and "-23.0" in lines[1]
    assert "garbage.wav" in lines[2] and "error" in lines[2]

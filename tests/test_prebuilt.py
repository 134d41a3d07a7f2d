"""The prebuilt kernels: render and analyze start without numba and give numba's bits.

Every command here runs as a user runs it, a whole process. Whether numba
was imported is read from Python's own ``-X importtime`` report, and the
check is shown to see numba where it is imported (``MASTERDECK_PREBUILT=0``).
"""

import importlib.machinery
import json
import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import soundfile as sf

from console.devtools.benchmarks.chain import ENGAGED, RATE, program
from console.engine import kernels
from dsp import _jit, prebuilt

SCRATCH = {"elapsed_s", "speed_x_realtime", "input", "output"}
"""Report fields that differ between two runs for reasons other than the audio."""


@pytest.fixture(scope="module")
def built():
    """The module for this checkout, built if ``masterdeck compile`` has not (never skipped)."""
    assert _jit.CACHE_FOLDER is not None
    if prebuilt.load(_jit.CACHE_FOLDER) is None:
        prebuilt.build(_jit.CACHE_FOLDER)
    assert prebuilt.load(_jit.CACHE_FOLDER) is not None
    return _jit.CACHE_FOLDER


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    """Three seconds of programme and a preset that engages every stage of the chain."""
    folder = tmp_path_factory.mktemp("prebuilt")
    sf.write(folder / "song.wav", program(3.0), RATE, subtype="PCM_24")
    engaged = {**ENGAGED, "clipper.bypass": 0.0}  # the benchmark's chain leaves it off
    (folder / "engaged.toml").write_text(
        "".join(f"{key} = {value!r}\n" for key, value in engaged.items()))
    return folder


def masterdeck(*words, prebuilt_ok=True):
    """Run ``masterdeck WORDS``; return (the process, the modules it imported)."""
    env = dict(os.environ)
    if not prebuilt_ok:
        env["MASTERDECK_PREBUILT"] = "0"
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "console", *words],
                          capture_output=True, text=True, env=env, timeout=300)
    imported = {line.split("|")[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    return done, imported


def numba_in(imported):
    """numba's modules and LLVM's (llvmlite.binding); llvmlite.ir is plain Python, allowed."""
    return sorted(m for m in imported
                  if m.split(".")[0] == "numba" or m.startswith("llvmlite.binding"))


def test_the_import_check_sees_numba_where_it_is_imported(built, song):
    done, imported = masterdeck("analyze", str(song / "song.wav"), prebuilt_ok=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "numba" in numba_in(imported)


@pytest.mark.parametrize("bit_depth", ["16", "32f"])
def test_render_starts_without_numba_and_gives_numbas_bits(built, song, tmp_path, bit_depth):
    args = [str(song / "song.wav"), "--preset", str(song / "engaged.toml"),
            "--bit-depth", bit_depth, "--json"]
    fast, imported = masterdeck("render", *args[:1], str(tmp_path / "fast.wav"), *args[1:])
    assert fast.returncode == 0, fast.stderr[-2000:]
    assert numba_in(imported) == []
    slow, imported = masterdeck("render", *args[:1], str(tmp_path / "slow.wav"), *args[1:],
                                prebuilt_ok=False)
    assert slow.returncode == 0, slow.stderr[-2000:]
    assert "numba" in numba_in(imported)
    a = sf.read(tmp_path / "fast.wav", dtype="float32" if bit_depth == "32f" else "int16")[0]
    b = sf.read(tmp_path / "slow.wav", dtype="float32" if bit_depth == "32f" else "int16")[0]
    assert a.shape == (3 * RATE, 2) and np.abs(a).max() > 0
    np.testing.assert_array_equal(a, b)
    fast_report, slow_report = json.loads(fast.stdout), json.loads(slow.stdout)
    assert fast_report["max_limiter_gr_db"] > 0.5  # the chain did work (1.0 dB: the clipper
    # takes the top of the peaks, 1.3 without it)
    for report in (fast_report, slow_report):
        for field in SCRATCH:
            del report[field]
    assert fast_report == slow_report


def test_analyze_starts_without_numba_and_measures_as_numba_does(built, song):
    fast, imported = masterdeck("analyze", str(song / "song.wav"), "--json")
    assert fast.returncode == 0, fast.stderr[-2000:]
    assert numba_in(imported) == []
    slow, _ = masterdeck("analyze", str(song / "song.wav"), "--json", prebuilt_ok=False)
    assert slow.returncode == 0, slow.stderr[-2000:]
    measured = json.loads(fast.stdout)[0]
    assert measured["integrated_lufs"] < -5 and measured["true_peak_dbtp"] > -30
    assert measured == json.loads(slow.stdout)[0]


def test_a_song_of_a_session_renders_without_numba(built, tmp_path):
    from console.session.model import Session
    from console.session.store import SessionStore

    sf.write(tmp_path / "mix.wav", program(2.0), RATE, subtype="PCM_24")
    session = Session(title="prebuilt")
    session.apply({"op": "song_add", "song": {"title": "One", "file": "../mix.wav"}})
    session.apply({"op": "lane", "id": "one", "param": "output.gain_db",
                   "points": [[0, -12.0], [RATE, 0.0]]})
    session.apply({"op": "song_set", "id": "one", "fields": {"level_offset_db": -2.0,
                                                              "fade_out_s": 0.5}})
    store = SessionStore(tmp_path / "album")
    store.save(session, 1)
    store.close()
    words = ["--session", str(tmp_path / "album"), "--song", "1", "--bit-depth", "32f"]
    fast, imported = masterdeck("render", *words, str(tmp_path / "fast.wav"))
    assert fast.returncode == 0, fast.stderr[-2000:]
    assert numba_in(imported) == []
    slow, _ = masterdeck("render", *words, str(tmp_path / "slow.wav"), prebuilt_ok=False)
    assert slow.returncode == 0, slow.stderr[-2000:]
    a, b = sf.read(tmp_path / "fast.wav")[0], sf.read(tmp_path / "slow.wav")[0]
    assert a.shape == (2 * RATE, 2)
    np.testing.assert_array_equal(a, b)


FALLBACK = textwrap.dedent("""
    import json, sys
    import numpy as np
    from dsp import prebuilt
    assert prebuilt.use()
    from dsp import _jit, chain, fastmath, truepeak
    assert _jit.PREBUILT is not None and "numba" not in sys.modules
    x = np.linspace(-2.0, 2.0, 512).reshape(256, 2)
    x[3, 1] = np.nan
    meter = truepeak.prepare(48000, 2)
    truepeak.process(np.asfortranarray(x), meter)  # not the layout it was built for
    result = {
        "log2": fastmath.fast_log2(10.0),  # not prebuilt; uses intrinsics
        "input": chain._input_settled(x.copy().reshape(-1), 0.5),  # calls other kernels
        "meter": truepeak.channel_peaks(meter).tolist(),
        "fallbacks": prebuilt.Entry.fallbacks,
        "numba": "numba" in sys.modules,
    }
    print(json.dumps(result))
""")


def test_what_the_module_cannot_take_compiles_through_numba_and_agrees(built):
    from dsp import chain, fastmath, truepeak

    done = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout)
    assert got["fallbacks"] == 3 and got["numba"]
    x = np.linspace(-2.0, 2.0, 512).reshape(256, 2)
    x[3, 1] = np.nan
    meter = truepeak.prepare(48000, 2)
    truepeak.process(np.asfortranarray(x), meter)
    assert got["log2"] == fastmath.fast_log2(10.0)
    assert got["input"] == list(chain._input_settled(x.copy().reshape(-1), 0.5))
    assert got["meter"] == truepeak.channel_peaks(meter).tolist()


def test_a_missing_or_damaged_module_is_not_loaded(tmp_path):
    assert prebuilt.load(tmp_path) is None  # nothing built
    here = prebuilt.folder(tmp_path)
    here.mkdir(parents=True)
    suffix = importlib.machinery.EXTENSION_SUFFIXES[0]
    (here / f"{prebuilt.MODULE}{suffix}").write_bytes(b"not a shared object")
    assert prebuilt.load(tmp_path) is None  # no key: the build never finished
    (here / prebuilt.KEY_FILE).write_text("{}")
    assert prebuilt.load(tmp_path) is None  # damaged


def test_the_key_follows_the_cpu_and_the_installs():
    k = prebuilt.key()
    assert k["python"] == sys.implementation.cache_tag
    assert k["numba"][0].endswith(os.path.join("numba", "__init__.py"))
    assert k["numpy"][0].endswith(os.path.join("numpy", "__init__.py"))
    assert len(k["cpu"]) == 16 and len(k["builder"]) == 16


def test_a_machine_that_cannot_build_it_is_told_why_and_still_renders(built, song, tmp_path):
    cache = tmp_path / "numba"
    shutil.copytree(built, cache, ignore=shutil.ignore_patterns(prebuilt.FOLDER))
    env = {**os.environ, "CC": "/nonexistent/cc", "NUMBA_CACHE_DIR": str(cache)}
    code = ("from console.engine import kernels; o = kernels.run_job('render'); "
            "print(o.problem)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "compiler" in done.stdout
    line = kernels.describe(kernels.Progress(1, 1, 1.0, (), kernels.Outcome(
        "render", 1.0, [], done.stdout.strip())))
    assert "render and analyze load through numba" in line
    assert prebuilt.load(cache) is None
    rendered = subprocess.run([sys.executable, "-m", "console", "render", str(song / "song.wav"),
                               str(tmp_path / "out.wav")], capture_output=True, text=True,
                              env=env, timeout=300)
    assert rendered.returncode == 0, rendered.stderr[-3000:]
    assert sf.info(str(tmp_path / "out.wav")).frames == 3 * RATE


def test_an_entry_takes_only_the_arguments_it_was_built_for():
    takes = prebuilt.accepts("dsp.truepeak.process")
    block, row = np.zeros((8, 2)), np.zeros(4)
    assert takes((block, row))
    readonly = np.zeros(4)
    readonly.flags.writeable = False
    for wrong in [(np.asfortranarray(block), row), (block[::2], row), (block, readonly),
                  (block.astype(np.float32), row), (block, np.zeros((4, 1))), (block,),
                  (block, list(row))]:
        assert not takes(wrong)
    flags = prebuilt.accepts("dsp.dither.quantize")
    out, errors = np.zeros((8, 2), dtype=np.int32), np.zeros((8, 2))
    assert flags((block, out, 24, np.int64(1), errors, np.zeros(2, dtype=np.uint64), True))
    assert not flags((block, out, 24.0, 1, errors, np.zeros(2, dtype=np.uint64), True))
    assert not flags((block, out, 24, 1, errors, np.zeros(2, dtype=np.uint64)))  # rest: missing
    assert prebuilt.accepts("dsp.automation.process")(
        (block, np.zeros(8), True, *[row] * 13))
    assert not prebuilt.accepts("dsp.automation.process")(
        (block, np.zeros(8), 1.0, *[row] * 13))

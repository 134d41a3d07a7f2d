"""``masterdeck render``: real files in, real files out, exact timing, clear errors."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from console.devtools.benchmarks.chain import ENGAGED, program
from console.offline.render import render
from dsp import dither
from tests.helpers import subnormals
from tests.jackrecorder import clicks


def _masterdeck(*args, check=False):
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, check=check)


def _burst(rate, seconds=1.0, channels=2, amp=0.3):
    t = np.arange(int(seconds * rate)) / rate
    env = np.minimum(1, np.minimum(t / 0.05, (t[-1] - t) / 0.05))
    s = amp * env * np.sin(2 * np.pi * 440 * t)
    return np.repeat(s[:, None], channels, axis=1)


@pytest.mark.parametrize("rate", [44100, 48000, 96000, 192000])
def test_output_has_the_input_length_and_timing_at_any_supported_rate(tmp_path, rate):
    x = _burst(rate, 0.5)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, x, rate, subtype="FLOAT")
    report = render(src, dst, {}, bit_depth="32f")
    y, out_rate = sf.read(dst)
    assert out_rate == rate and y.shape == x.shape
    # default chain: flat EQ, neutral stereo, limiter far above this level -> same samples
    assert np.abs(y - x).max() < 1e-6
    assert report.latency_samples > 0 and report.frames == x.shape[0]


def test_mono_in_gives_stereo_out(tmp_path):
    x = _burst(48000, 0.3, channels=1)
    src, dst = tmp_path / "mono.flac", tmp_path / "out.wav"
    sf.write(src, x, 48000, subtype="PCM_24")
    render(src, dst, {}, bit_depth="32f")
    y, _ = sf.read(dst)
    assert y.shape == (x.shape[0], 2)
    assert np.abs(y[:, 0] - y[:, 1]).max() == 0.0
    assert np.abs(y[:, 0] - x[:, 0]).max() < 1e-5


@pytest.mark.parametrize(("depth", "subtype"), [("16", "PCM_16"), ("24", "PCM_24"),
                                                ("32f", "FLOAT")])
def test_bit_depth_sets_the_file_subtype(tmp_path, depth, subtype):
    src, dst = tmp_path / "in.wav", tmp_path / f"out{depth}.wav"
    sf.write(src, _burst(48000, 0.2), 48000)
    render(src, dst, {}, bit_depth=depth)
    assert sf.info(dst).subtype == subtype


def test_a_hot_master_is_limited_to_the_ceiling_on_disk(tmp_path):
    x = _burst(48000, 1.0, amp=0.9)
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, x, 48000, subtype="FLOAT")
    out = _masterdeck("render", str(src), str(dst), "--set", "limiter.drive_db=12",
                      "limiter.ceiling_dbtp=-1.0", "--bit-depth", "24", "--json", check=True)
    report = json.loads(out.stdout)
    assert report["output_true_peak_dbtp"] <= -0.95
    assert report["max_limiter_gr_db"] > 5.0
    y, _ = sf.read(dst)
    assert 20 * np.log10(np.abs(y).max()) <= -1.0 + 1e-3


def test_presets_and_sets_apply_in_order(tmp_path):
    preset = tmp_path / "p.toml"
    preset.write_text("output.gain_db = -12.0\n")
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    x = _burst(48000, 0.3)
    sf.write(src, x, 48000, subtype="FLOAT")
    out = _masterdeck("render", str(src), str(dst), "--preset", str(preset), "--set",
                      "output.gain_db=-6", "--bit-depth", "32f", "--json", check=True)
    assert json.loads(out.stdout)["settings"] == {"output.gain_db": -6.0}
    y, _ = sf.read(dst)
    assert 20 * np.log10(np.abs(y).max() / np.abs(x).max()) == pytest.approx(-6.0, abs=0.01)


@pytest.mark.parametrize(("args", "message"), [
    (["--set", "limiter.ceiling=-1"], "unknown parameter id 'limiter.ceiling'"),
    (["--set", "limiter.ceiling_dbtp=3"], "limiter.ceiling_dbtp: 3 is out of range"),
    (["--set", "eq.band1.type=shelf"], "eq.band1.type: cannot read 'shelf'"),
    (["--preset", "/nonexistent/p.toml"], "cannot read"),
])
def test_bad_settings_exit_2_naming_the_problem_and_write_nothing(tmp_path, args, message):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _burst(48000, 0.1), 48000)
    result = _masterdeck("render", str(src), str(dst), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert not dst.exists() and list(tmp_path.iterdir()) == [src]


def test_unreadable_input_exits_2_and_leaves_an_existing_output_untouched(tmp_path):
    garbage = tmp_path / "broken.wav"
    garbage.write_bytes(b"RIFF\x00\x00garbage that is not audio" * 10)
    dst = tmp_path / "out.wav"
    dst.write_bytes(b"previous master")
    result = _masterdeck("render", str(garbage), str(dst))
    assert result.returncode == 2
    assert "broken.wav: cannot read audio" in result.stderr
    assert dst.read_bytes() == b"previous master"
    missing = _masterdeck("render", str(tmp_path / "nope.wav"), str(dst))
    assert missing.returncode == 2 and "nope.wav" in missing.stderr


def test_unsupported_rates_formats_and_depths_are_clear_errors(tmp_path):
    low = tmp_path / "low.wav"
    sf.write(low, _burst(22050, 0.1), 22050)
    result = _masterdeck("render", str(low), str(tmp_path / "o.wav"))
    assert result.returncode == 2 and "22050 Hz is outside 44100..192000 Hz" in result.stderr
    ok = tmp_path / "ok.wav"
    sf.write(ok, _burst(48000, 0.1), 48000)
    flac = _masterdeck("render", str(ok), str(tmp_path / "o.flac"), "--bit-depth", "32f")
    assert flac.returncode == 2 and "FLAC files cannot hold 32f-bit samples" in flac.stderr
    odd = _masterdeck("render", str(ok), str(tmp_path / "o.xyz"))
    assert odd.returncode == 2 and "cannot tell the file format" in odd.stderr
    assert not (tmp_path / "o.flac").exists() and not (tmp_path / "o.xyz").exists()


def test_json_summary_is_one_object_with_the_figures(tmp_path):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _burst(44100, 0.2), 44100)
    out = _masterdeck("render", str(src), str(dst), "--json", check=True)
    report = json.loads(out.stdout)
    for key in ("frames", "duration_s", "sample_rate", "latency_samples",
                "output_true_peak_dbtp", "output_peak_dbfs", "speed_x_realtime"):
        assert key in report
    assert report["sample_rate"] == 44100 and report["bit_depth"] == "24"


# ---- output hygiene: no subnormals, dither at rest on silence, tails that end -------------
RATE = 48000


def _ending(kind):
    """A second of programme, then how it ends: a reverb-like tail or a cut; then silence."""
    x = program(1.0, RATE)
    if kind == "reverb":  # noise decaying at 300 dB/s, through float32's subnormal range
        n = 3 * RATE
        decay = 10.0 ** (-300.0 / 20.0 * np.arange(n) / RATE)
        tail = 0.3 * np.random.default_rng(5).standard_normal((n, 2)) * decay[:, None]
        x = np.concatenate([x, tail])
    return np.concatenate([x, np.zeros((RATE, 2))])


def test_the_subnormal_count_sees_subnormals_in_a_float_file(tmp_path):
    x = np.zeros((100, 2), dtype=np.float32)
    x[10, 0], x[20, 1], x[30, 0] = 1e-40, -5e-39, np.finfo(np.float32).tiny
    sf.write(tmp_path / "sub.wav", x, RATE, subtype="FLOAT")
    y, _ = sf.read(tmp_path / "sub.wav", dtype="float32")
    assert subnormals(y) == 2  # the two below float32's smallest normal, not the normal one


@pytest.mark.parametrize("kind", ["reverb", "cut"])
@pytest.mark.parametrize("depth", ["32f", "24", "16"])
def test_a_render_holds_no_subnormal_and_its_tail_ends_in_exact_zeros(tmp_path, kind, depth):
    src, dst = tmp_path / "in.wav", tmp_path / "out.wav"
    sf.write(src, _ending(kind), RATE, subtype="DOUBLE")
    render(src, dst, ENGAGED, bit_depth=depth)
    y, _ = sf.read(dst, dtype="float32" if depth == "32f" else "int32")
    assert subnormals(y) == 0
    assert np.abs(y[:RATE]).max() > 0  # the programme is there
    assert not y[-RATE // 2:].any()  # and after the tail, exact zeros: no noise, no denormals


def _quiet_fade():
    """Half a second of silence, a -50 dBFS tone faded in and out (0.4 s each), silence."""
    t = np.arange(RATE) / RATE
    env = np.minimum(1.0, np.minimum(t / 0.4, (t[-1] - t) / 0.4))
    tone = 10 ** (-50 / 20) * env * np.sin(2 * np.pi * 440 * t)
    gap = np.zeros(RATE // 2)
    x = np.concatenate([gap, tone, gap])
    return np.ascontiguousarray(np.stack([x, x], axis=1))


@pytest.mark.parametrize("depth", ["16", "24"])
def test_dither_rests_on_digital_silence_and_returns_with_the_music(tmp_path, depth):
    x = _quiet_fade()
    src = tmp_path / "in.wav"
    sf.write(src, x, RATE, subtype="DOUBLE")
    render(src, tmp_path / "float.wav", {}, bit_depth="32f")
    render(src, tmp_path / "int.wav", {}, bit_depth=depth)
    exact, _ = sf.read(tmp_path / "float.wav", dtype="float64")
    words, _ = sf.read(tmp_path / "int.wav", dtype="int32")
    words >>= 32 - int(depth)
    gap = RATE // 2
    assert not words[:gap].any() and not words[-gap:].any()  # silence stays silence
    # the music is dithered: past the fade-in of the dither, the error is TPDF's 1/4 LSB^2
    music = slice(gap + dither.REST_RAMP, gap + RATE - 1)
    err = words[music] - exact[music] * 2.0 ** (int(depth) - 1)
    assert abs(np.var(err) - 0.25) < 0.03
    assert abs(np.mean(err)) < 0.02
    # and nothing clicks where the music leaves the silence and comes back to it
    heard = words / 2.0 ** (int(depth) - 1)
    assert clicks(heard) == []
    cut = heard.copy()
    cut[gap + RATE // 2 + 37:] = 0.0  # the check sees a hard cut of this quiet tone
    assert clicks(cut) != []


def test_dither_on_silence_when_asked_not_to_rest(tmp_path):
    src = tmp_path / "in.wav"
    sf.write(src, _quiet_fade(), RATE, subtype="DOUBLE")
    render(src, tmp_path / "int.wav", {"output.dither_rest": 0.0}, bit_depth="16")
    words, _ = sf.read(tmp_path / "int.wav", dtype="int16")
    assert np.count_nonzero(words[:RATE // 2]) > RATE // 4  # TPDF: 1 in 4 samples at +-1


def test_a_dithered_render_has_the_same_bits_at_every_block_size(tmp_path):
    src = tmp_path / "in.wav"
    sf.write(src, _quiet_fade(), RATE, subtype="DOUBLE")
    got = []
    for block in (1000, 8192):
        render(src, tmp_path / f"{block}.wav", ENGAGED, bit_depth="16", block=block)
        got.append(sf.read(tmp_path / f"{block}.wav", dtype="int16")[0])
    assert np.array_equal(got[0], got[1])


def test_a_truncated_or_header_only_wav_is_said_not_mastered_silently(tmp_path):
    import subprocess
    import sys

    full = tmp_path / "full.wav"
    sf.write(full, np.full((48000, 2), 0.1, dtype=np.float32), 48000, subtype="PCM_16")
    data = full.read_bytes()
    (tmp_path / "half.wav").write_bytes(data[:len(data) // 2])
    (tmp_path / "header.wav").write_bytes(data[:44])
    for name, says in (("half.wav", "(truncated)"), ("header.wav", "(a header only)")):
        done = subprocess.run([sys.executable, "-m", "console", "render", str(tmp_path / name),
                               str(tmp_path / f"out-{name}")], capture_output=True, text=True)
        assert done.returncode == 1 and "the header says 48000 frames" in done.stderr, done
        assert says in done.stderr
    whole = subprocess.run([sys.executable, "-m", "console", "render", str(full),
                            str(tmp_path / "out.wav")], capture_output=True, text=True)
    assert whole.returncode == 0 and "warning" not in whole.stderr

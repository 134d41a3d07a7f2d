"""The limiters the peer benchmark compares, each behind one call: audio in, audio out.

Every limiter gets the same float32-exact input (drive already applied as a
plain gain, so "drive" means the same thing for all) and returns its output
with its latency still in it; the bench measures and removes the latency.

- **masterdeck**: ``dsp.limiter`` alone, every setting at its default
  (ceiling -1 dBTP, release 100 ms, style ``transparent``, lookahead
  1.5 ms), in this process; and once per other release style
  (``md-single``, ``md-punchy``, ``md-loud``), the rest at the defaults; and
  ``md-clip+loud``: the clipper stage on at its defaults (clip level 3 dB
  over the ceiling, knee 6 dB under it) before the limiter in ``loud``, the
  way loud masters are made: part clipped, part limited.
- **x42-dpl**: x42's digital peak limiter (Debian's x42-plugins), true-peak
  mode on, threshold -1 dB, other controls at their defaults (release 10 ms),
  hosted by ``lv2file``: ``lv2apply`` refuses plug-ins with atom ports, and
  x42-dpl has two (and lv2file crashes on LSP's limiter, which lv2apply runs).
- **lsp**: LSP's stereo limiter (lsp-plugins-lv2) with threshold -1 dB,
  oversampling "Full x4 (3 lobes)", which is what LSP's true-peak mode picks
  at 44.1 and 48 kHz, gain boost off (on, it turns the output up so the
  threshold lands at 0 dBFS) and automatic level regulation (ALR) off: with
  ALR on, as shipped, LSP 1.2.5 compresses even below the threshold, and
  from about 12 dB of drive its output collapses (-35 LUFS at 18 dB on the
  rock song), which measures ALR, not the limiter. lv2apply is slow in
  itself (20 s of silence takes about 5 s, mostly in system calls: it seems
  to read and write a frame at a time), so LSP's speed figure is mostly the
  host's.
- **alimiter**: ffmpeg's, ``limit`` -1 dB and ``level`` off (on by default, it
  scales the output back up to 0 dBFS); a sample-peak limiter with a clip.
- **pedalboard**: its JUCE ``Limiter`` at -1 dB (also sample peak), when
  installed, then a -1 dB gain: JUCE's limiter turns its output up by the
  threshold and clips at 0 dBFS, so its own ceiling is always 0 dBFS.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dsp.params import RELEASE_STYLES, get

_DEFAULT_STYLE = int(get("limiter.release_style").default)

CEILING_DB = -1.0
BLOCK = 1024
X42_URI = "http://gareus.org/oss/lv2/dpl#stereo"
LSP_URI = "http://lsp-plug.in/plugins/lv2/limiter_stereo"
LSP_FULL_X4_3L = 16
APT_PACKAGES = ("x42-plugins", "lsp-plugins-lv2", "lv2file", "lilv-utils", "ffmpeg")
"""What the peers need on Debian (``apt-get install`` them)."""

Process = Callable[[np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class Limiter:
    """One limiter under test: a name, its settings in words, and how to run it."""

    name: str
    settings: str
    process: Process


def missing_packages() -> list[str]:
    """The Debian packages the peers need that are not installed (empty when all are)."""
    missing = []
    if shutil.which("ffmpeg") is None:
        missing.append("ffmpeg")
    if shutil.which("lv2file") is None:
        missing.append("lv2file")
    if shutil.which("lv2apply") is None:
        missing.append("lilv-utils")
    plugins = _lv2_plugins()
    if X42_URI not in plugins:
        missing.append("x42-plugins")
    if LSP_URI not in plugins:
        missing.append("lsp-plugins-lv2")
    return missing


def _lv2_plugins() -> set[str]:
    if shutil.which("lv2file") is None:
        return set()
    proc = subprocess.run(["lv2file", "--list"], capture_output=True, text=True, check=False)
    return {word for line in proc.stdout.splitlines() for word in line.split()
            if word.startswith("http")}


def limiters() -> list[Limiter]:
    """The limiters under test: masterdeck, the peers, and pedalboard when installed."""
    found = [
        Limiter("masterdeck", "defaults, ceiling -1 dBTP", run_masterdeck),
        *(Limiter(f"md-{style}", f"release style {style}", _masterdeck_style(k))
          for k, style in enumerate(RELEASE_STYLES) if k != _DEFAULT_STYLE),
        Limiter("md-clip+loud", "clipper on (+3 dB), release style loud",
                _masterdeck_style(RELEASE_STYLES.index("loud"), clip=True)),
        Limiter("x42-dpl", "true peak on, threshold -1 dB", run_x42),
        Limiter("lsp", "th -1 dB, Full x4(3L), boost off, ALR off", run_lsp),
        Limiter("alimiter", "limit -1 dB, level off", run_alimiter),
    ]
    try:
        import pedalboard  # noqa: F401
    except ImportError:
        return found
    return [*found, Limiter("pedalboard", "Limiter -1 dB, then Gain -1 dB", run_pedalboard)]


def run_masterdeck(x: np.ndarray, rate: int, style: int | None = None,
                   clip: bool = False) -> np.ndarray:
    """``dsp.limiter`` at its defaults (or another release style), block by block.

    ``clip``: the clipper stage first, on at its defaults (3 dB over the ceiling).
    """
    from dsp import clipper, limiter, taps
    from dsp import params as P

    values = P.defaults()
    values[P.LIMITER_CEILING] = CEILING_DB
    if style is not None:
        values[P.LIMITER_STYLE] = style
    values[P.CLIPPER_BYPASS] = 0.0 if clip else 1.0
    current = values.copy()
    state = limiter.prepare(rate)
    clip_state = clipper.prepare(rate) if clip else None
    tap = np.zeros(taps.COUNT)
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    for start in range(0, y.shape[0], BLOCK):
        if clip:
            clipper.process(y[start:start + BLOCK], values, current, clip_state, tap)
        limiter.process(y[start:start + BLOCK], values, current, state, tap)
    return y


def _masterdeck_style(style: int, clip: bool = False) -> Process:
    return lambda x, rate: run_masterdeck(x, rate, style, clip)


def run_pedalboard(x: np.ndarray, rate: int) -> np.ndarray:
    """Run pedalboard's Limiter at -1 dB (default release), then -1 dB: a -1 dBFS ceiling."""
    import pedalboard as pb

    board = pb.Pedalboard([pb.Limiter(threshold_db=CEILING_DB), pb.Gain(gain_db=CEILING_DB)])
    planar = np.ascontiguousarray(x.T, dtype=np.float32)
    return board(planar, rate).T.astype(np.float64)


def run_x42(x: np.ndarray, rate: int) -> np.ndarray:
    """x42-dpl, true peak on, threshold -1 dB, through lv2file."""
    return _through_file(x, rate, lambda src, dst: [
        "lv2file", "--ignore-clipping", "-i", src, "-o", dst,
        "-p", f"threshold:{CEILING_DB}", "-p", "truepeak:1", X42_URI])


def run_lsp(x: np.ndarray, rate: int) -> np.ndarray:
    """LSP's stereo limiter at -1 dB, 4x full oversampling, boost and ALR off (lv2apply)."""
    threshold = 10 ** (CEILING_DB / 20)
    return _through_file(x, rate, lambda src, dst: [
        "lv2apply", "-i", src, "-o", dst, "-c", "th", f"{threshold:.6f}",
        "-c", "ovs", str(LSP_FULL_X4_3L), "-c", "boost", "0", "-c", "alr", "0", LSP_URI])


def run_alimiter(x: np.ndarray, rate: int) -> np.ndarray:
    """Run ffmpeg's alimiter, limit -1 dB, auto level off, 32-bit float in and out."""
    limit = 10 ** (CEILING_DB / 20)
    return _through_file(x, rate, lambda src, dst: [
        "ffmpeg", "-v", "error", "-y", "-i", src, "-af",
        f"alimiter=limit={limit:.6f}:level=disabled", "-c:a", "pcm_f32le", dst])


def _through_file(x: np.ndarray, rate: int, command: Callable[[str, str], list[str]]
                  ) -> np.ndarray:
    """Write ``x`` as a 32-bit float WAV, run ``command(src, dst)``, read ``dst`` back.

    A fresh directory each time: lv2file writes into an existing file
    without truncating it, so a stale output would keep its old tail.
    """
    import soundfile as sf

    with tempfile.TemporaryDirectory(prefix="masterdeck-peers-") as tmp:
        src, dst = str(Path(tmp) / "in.wav"), str(Path(tmp) / "out.wav")
        sf.write(src, x.astype(np.float32), rate, subtype="FLOAT")
        proc = subprocess.run(command(src, dst), capture_output=True, text=True, check=False)
        if proc.returncode != 0 or not Path(dst).exists():
            raise RuntimeError(f"{command(src, dst)[0]} failed: {proc.stderr.strip()[-300:]}")
        y, _ = sf.read(dst, dtype="float64", always_2d=True)
    return y

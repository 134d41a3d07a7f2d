"""The clipper in the chain: off by default, a pure delay when off, less limiting when on."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from dsp import chain as C
from dsp import clipper, compressor, eq, exciter, limiter, stereo, taps
from dsp import params as P
from dsp.chain import Chain
from tests.jackrecorder import clicks
from tests.peakcheck import peak16_db

RATE = 48000.0
HOT = {"limiter.drive_db": 12.0, "limiter.ceiling_dbtp": -1.0}


def hot_programme(seconds: float, seed: int = 0) -> np.ndarray:
    """Drum-like bursts over a bass line, peaks near 0 dBFS: the limiter works hard.

    The bursts are noise below 6 kHz, as music's loud peaks are: the clipper
    corrects nothing above 0.40 fs (19.2 kHz), so full-band noise at this
    level would keep peaks of its own up there.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    beat = 0.25 + 0.75 * np.exp(-(t % 0.25) / 0.02)
    noise = sosfilt(butter(4, 6000.0, fs=RATE, output="sos"), rng.standard_normal((n, 2)), axis=0)
    x = 0.5 * noise * beat[:, None]
    x += 0.35 * np.sin(2 * np.pi * 55 * t)[:, None]
    return np.ascontiguousarray(x)


def chain_with(settings: dict[str, float]) -> Chain:
    chain = Chain(RATE)
    for param_id, value in settings.items():
        chain.set(param_id, value, glide=False)
    return chain


def run(chain: Chain, x: np.ndarray, block: int = 256) -> tuple[np.ndarray, float]:
    """The chain's output, and the largest gain reduction the limiter reported."""
    y = x.copy()
    most = 0.0
    for s in range(0, len(y), block):
        chain.process(y[s : s + block])
        most = max(most, chain.taps[taps.LIMITER_GR_DB])
    return y, most


def without_clipper(chain: Chain, x: np.ndarray, block: int = 256) -> np.ndarray:
    """``chain``'s stages run one by one from Python, the clipper left out."""
    y = x.copy()
    v, cur, tap = chain.values, chain.current, chain.taps
    for s in range(0, len(y), block):
        b = y[s : s + block]
        C._input(b, v, cur, chain.io, tap)
        eq.process(b, v, cur, chain.eq, tap)
        compressor.process(b, v, cur, chain.comp, tap)
        exciter.process(b, v, cur, chain.exciter, tap)
        stereo.process(b, v, cur, chain.stereo, tap)
        limiter.process(b, v, cur, chain.limiter, tap)
        C._output(b, v, cur, chain.io, tap)
    return y


def test_the_clipper_is_off_by_default():
    assert P.get("clipper.bypass").default == 1.0
    assert Chain(RATE).get("clipper.bypass") == 1.0


@pytest.mark.parametrize("rate", [44100.0, 48000.0, 96000.0, 192000.0])
def test_the_chains_latency_counts_the_clipper_on_or_off(rate):
    chain = Chain(rate)
    expected = (exciter.latency_samples(chain.exciter) + clipper.LATENCY
                + limiter.latency_samples(chain.limiter))
    assert chain.latency == expected
    for on in (0.0, 1.0):
        chain = chain_with({"clipper.bypass": 1.0 - on})
        x = np.zeros((2048, 2))
        x[100] = 0.1
        y, _ = run(chain, x)
        assert np.argmax(np.abs(y[:, 0])) == 100 + chain.latency


@pytest.mark.parametrize("limiting", [False, True])
def test_off_the_chain_is_the_chain_without_it_delayed(limiting):
    """Switched off, the clipper is a delay of :data:`dsp.clipper.LATENCY` samples.

    Bit for bit with the limiter bypassed. Limiting, the limiter must give
    the same output for an input that arrives later: its ``single`` style
    does, within 3e-15 (it rounds differently); ``transparent`` (the default)
    does not (-88 dB apart on its own for 75 samples of silence first, -83
    dB for 256: its release depends on the time since its reset), so it is
    not the style to show the clipper's delay with.
    """
    engaged = {"comp.bypass": 0.0, "exciter.bypass": 0.0, "stereo.width_pct": 120.0, **HOT,
               "limiter.bypass": 0.0 if limiting else 1.0,
               "limiter.release_style": float(P.RELEASE_STYLES.index("single"))}
    x = hot_programme(0.5) * (1.0 if limiting else 0.5)
    y, _ = run(chain_with(engaged), x)
    reference = without_clipper(chain_with(engaged), x)
    assert np.abs(reference).max() > 0.3  # the chain did work
    assert not y[: clipper.LATENCY].any()
    off_by = np.abs(y[clipper.LATENCY :] - reference[: -clipper.LATENCY]).max()
    assert off_by < 1e-13 if limiting else off_by == 0.0


def test_on_it_takes_the_peaks_the_limiter_would_have_taken_and_the_ceiling_holds():
    x = hot_programme(1.0)
    limited, gr_off = run(chain_with(HOT), x)
    level = 3.0
    clipped, gr_on = run(chain_with({**HOT, "clipper.bypass": 0.0, "clipper.level_db": level}), x)
    assert gr_off > 10.0  # measured 13.4 dB
    assert gr_on < level + 1.0  # measured 3.5 dB: the clipper took the rest
    skip = int(0.05 * RATE)
    for y in (limited, clipped):
        assert peak16_db(y[skip:]) <= -1.0 + 0.02
    assert np.abs(clipped - limited).max() > 0.05  # a different master, not a copy


def switched(glide: bool) -> np.ndarray:
    """A 440 Hz tone far over the clip level, the clipper switched every 50 ms."""
    n = int(0.6 * RATE)
    t = np.arange(n) / RATE
    y = np.ascontiguousarray(np.repeat((0.5 * np.sin(2 * np.pi * 440 * t))[:, None], 2, 1))
    # 7 dB over the clip level: at 1 dB over (drive 6) the cuts fell under the click
    # detector's threshold once the exciter's latency (70 -> 74) moved them along the
    # tone, which left the check blind
    chain = chain_with({"limiter.drive_db": 12.0, "clipper.level_db": 0.0})
    step = int(0.05 * RATE)
    for k, s in enumerate(range(0, n, step)):
        chain.set("clipper.bypass", float(k % 2), glide=glide)
        chain.process(y[s : s + step])
    return y[chain.latency + 256 :]


def test_switching_it_on_and_off_live_makes_no_click():
    heard = switched(glide=True)  # a 10 ms crossfade, as every stage's switch
    assert clicks(heard) == []
    cut = switched(glide=False)
    assert len(clicks(cut)) >= 10  # switched at once, every switch clicks: the check sees them

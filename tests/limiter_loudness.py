"""Loudness and added distortion the limiter reaches against drive, on the synthetic masters.

Run: ``PYTHONPATH=. python -m tests.limiter_loudness [--rate 48000] [--drives 0,6,10,16]``.
Prints, per master, release style and drive: integrated loudness (pyloudnorm),
the 16x true peak and the added distortion (the residual after the best scalar
fit of the driven input to the output, relative to the output, in dB), so a
change to the release can be judged at equal loudness.
"""

from __future__ import annotations

import argparse

import numpy as np
import pyloudnorm

from dsp import limiter, taps
from dsp import params as P
from tests.masters import rock, sub_heavy
from tests.peakcheck import peak16_db


def render(x: np.ndarray, rate: float, drive_db: float, block: int = 512,
           **kw: float) -> np.ndarray:
    """``x`` through the limiter alone at ``drive_db``, latency removed."""
    state = limiter.prepare(rate)
    target = P.defaults()
    target[P.LIMITER_DRIVE] = drive_db
    for key, value in kw.items():
        target[P.index(f"limiter.{key}")] = value
    current = target.copy()
    delay = limiter.latency_samples(state)
    y = np.concatenate([x, np.zeros((delay, 2))])
    tap = np.zeros(taps.COUNT)
    for s in range(0, y.shape[0], block):
        limiter.process(y[s:s + block], target, current, state, tap)
    return y[delay:]


def added_distortion_db(x: np.ndarray, y: np.ndarray, rate: float,
                        window_s: float = 0.04) -> float:
    """What the limiter added to ``y`` besides a slow gain on ``x``, relative to ``y``, in dB.

    A gain is fitted to ``x`` (least squares, both channels) every half
    window over Hann windows of ``window_s`` and interpolated between window
    centres; what is left of ``y`` is the distortion: the products of gain
    moving faster than about 1 / window_s (the waveform-following that a short
    release adds), not the slow gain riding that is the limiter's job.
    """
    hop = int(window_s * rate / 2)
    w = np.hanning(2 * hop)
    centres, gains = [], []
    for s in range(0, x.shape[0] - 2 * hop, hop):
        xs, ys = x[s:s + 2 * hop] * w[:, None], y[s:s + 2 * hop]
        den = float(np.sum(xs * x[s:s + 2 * hop]))
        if den > 0.0:
            centres.append(s + hop)
            gains.append(float(np.sum(xs * ys)) / den)
    g = np.interp(np.arange(x.shape[0]), centres, gains)
    core = slice(2 * hop, x.shape[0] - 2 * hop)
    res = y[core] - g[core, None] * x[core]
    return float(10.0 * np.log10(np.sum(res**2) / np.sum(y[core] ** 2)))


def main() -> None:
    """Print the table for the masters, styles and drives asked for."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=float, default=48000.0)
    ap.add_argument("--drives", default="0,6,10,16")
    ap.add_argument("--styles", default="")
    ap.add_argument("--release", type=float, default=None)
    args = ap.parse_args()
    drives = ([float(d) for d in range(19)] if args.drives == "all"
              else [float(d) for d in args.drives.split(",")])
    styles = [s for s in args.styles.split(",") if s]
    meter = pyloudnorm.Meter(args.rate)
    extra = {} if args.release is None else {"release_ms": args.release}
    for name, make in (("rock", rock), ("sub", sub_heavy)):
        x = make(args.rate)
        for style in styles or [None]:
            kw = dict(extra)
            if style is not None:
                kw["release_style"] = float(P.get("limiter.release_style").choices.index(style))
            for d in drives:
                y = render(x, args.rate, d, **kw)
                dist = added_distortion_db(10.0 ** (d / 20.0) * x, y, args.rate)
                print(f"{name:5s} {style or '-':12s} drive {d:5.1f}  "
                      f"I {meter.integrated_loudness(y):7.2f} LUFS  "
                      f"TP16 {peak16_db(y):6.2f}  dist {dist:6.1f} dB", flush=True)


if __name__ == "__main__":
    main()

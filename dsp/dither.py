"""Dither and quantisation for renders that reduce bit depth.

Quantising a master to 16 or 24 bits without dither turns the rounding error
into distortion correlated with the music (audible on fades and reverb
tails). TPDF dither (two uniform random values summed, ±1 LSB peak) makes
the error a steady, signal-independent noise. Noise-shaped dither feeds the
quantisation error back through a short filter so the same noise power moves
up toward the top of the band, where hearing is least sensitive.

The random generator (xorshift64*) lives in the caller's state, so a render
is repeatable and does not depend on block size.

Dither rests on digital silence (``rest``, ``output.dither_rest``): a
sample that is exactly zero is written as zero, because noise added to
silence is heard as hiss in a gap, a plant expects a CD's pregap to be
zeros, and a render's tail should end. The chain's output gate
(:data:`OUTPUT_FLOOR`) is what turns a decaying tail into such zeros.
Switching ±1 LSB of noise on at once where the music returns would be a
step in the noise floor, so the dither's level follows a ramp of
:data:`REST_RAMP` samples, down while a channel is silent and up while it
sounds; and a silent sample feeds back no error, so the noise shaper's
history is empty when the music returns instead of replaying stale error.
"""

from __future__ import annotations

import numpy as np

from dsp._jit import kernel

OFF, TPDF, SHAPED = 0, 1, 2
"""Dither modes, in the order of ``dsp.params.DITHER_TYPES``."""

SHAPING = np.array([1.623, -0.982, 0.109])
"""Error-feedback taps: E(z) = 1 - 1.623 z^-1 + 0.982 z^-2 - 0.109 z^-3.

The response is about -10 dB in the 2–5 kHz region where hearing is most
sensitive and rises toward Nyquist (measured in the tests).
"""

OUTPUT_FLOOR = 1e-10
"""Output samples smaller than this (-200 dBFS) are written as exact zero.

The chain's output stage gates below it, and :func:`to_float32` does at
every float32 edge. Far below any word length's last bit (24-bit is -144
dBFS) and far above float32's smallest normal number (1.2e-38, about -758
dBFS): a tail that the filters and envelopes leave decaying for seconds
ends in digital silence, on which dither rests, and converting to float32
never makes a subnormal sample (which is slow to process downstream and
which some tools and players treat as noise).
"""

REST_RAMP = 2048
"""Samples over which the dither fades out on silence and back in on music."""

_ERROR_LIMIT = 4.0  # LSB: keeps the feedback loop bounded when the output clips


def prepare(channels: int = 2, seed: int = 0x9E3779B97F4A7C15) -> tuple[np.ndarray, np.ndarray]:
    """Allocate the dither state: (per channel, random generator state).

    Per channel, a row of ``SHAPING.size + 1``: the error history, then the
    dither's level for resting on silence (full at the start, so music
    from the first sample is dithered in full).
    """
    errors = np.zeros((channels, SHAPING.size + 1))
    errors[:, SHAPING.size] = 1.0
    rng = np.array([seed or 1], dtype=np.uint64)
    return errors, rng


def to_float32(x: np.ndarray) -> np.ndarray:
    """``x`` as float32 with every sample below :data:`OUTPUT_FLOOR` set to exact zero.

    For the outputs that leave as float (a 32-bit float render, the album
    timeline a delivery keeps, its 32f files): a value gated only in float64
    can still become subnormal once scaled (a crossfade, a normalising gain,
    a resampler's ringing), so the gate is applied here, at the conversion.
    """
    y = np.asarray(x, dtype=np.float32)
    if y is x:
        y = y.copy()
    y[np.abs(y) < OUTPUT_FLOOR] = 0.0
    return y


@kernel
def _uniform(rng: np.ndarray) -> float:
    """Next value of xorshift64* mapped to [-0.5, 0.5)."""
    s = rng[0]
    s ^= s >> np.uint64(12)
    s ^= s << np.uint64(25)
    s ^= s >> np.uint64(27)
    rng[0] = s
    r = s * np.uint64(0x2545F4914F6CDD1D)
    return (r >> np.uint64(11)) * (1.0 / 9007199254740992.0) - 0.5


@kernel
def quantize(
    x: np.ndarray, out: np.ndarray, bits: int, mode: int, errors: np.ndarray, rng: np.ndarray,
    rest: bool,
) -> None:
    """Quantise ``x`` (float64, (n, channels), full scale ±1) to integers in ``out``.

    Parameters
    ----------
    x : ndarray, shape (n, channels)
        Samples at full scale ±1.0.
    out : ndarray of int32, shape (n, channels)
        Receives integers in -2**(bits-1) .. 2**(bits-1) - 1.
    bits : int
        Target word length (16 or 24).
    mode : int
        ``OFF``, ``TPDF`` or ``SHAPED``.
    errors, rng : ndarray
        State from :func:`prepare`, carried across blocks.
    rest : bool
        Rest on digital silence: a sample of exactly 0 gives 0, and the
        dither fades out and back in around silence (see the module's
        docstring). The random values are drawn all the same, so the
        sequence does not depend on where the silences fall.
    """
    scale = float(2 ** (bits - 1))
    top = scale - 1.0
    taps = SHAPING.size
    step = 1.0 / REST_RAMP
    for i in range(x.shape[0]):
        for c in range(x.shape[1]):
            silent = rest and x[i, c] == 0.0
            v = x[i, c] * scale
            if mode == SHAPED:
                for k in range(taps):
                    v -= SHAPING[k] * errors[c, k]
            d = 0.0
            if mode != OFF:
                d = _uniform(rng) + _uniform(rng)
            if rest:
                level = errors[c, taps]
                level = max(level - step, 0.0) if silent else min(level + step, 1.0)
                errors[c, taps] = level
                d *= level
            q = 0.0 if silent else np.floor(v + d + 0.5)
            q = min(max(q, -scale), top)
            if mode == SHAPED:
                e = 0.0 if silent else min(max(q - v, -_ERROR_LIMIT), _ERROR_LIMIT)
                for k in range(taps - 1, 0, -1):
                    errors[c, k] = errors[c, k - 1]
                errors[c, 0] = e
            out[i, c] = np.int32(q)

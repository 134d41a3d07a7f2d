"""Per-sample parameter smoothing shared by every stage kernel.

The control side writes ``target``; each stage, inside its own sample loop,
moves ``current`` toward ``target`` one sample at a time with :func:`glide`.
Because the step is per sample and carried in ``current``, the result never
depends on where block boundaries fall.

How a parameter glides comes from its row in :mod:`dsp.params`:

- dB, %, and other linear quantities: one-pole in the value itself;
- Hz, ms, Q, ratio (log taper): one-pole in the logarithm, so a sweep from
  20 Hz to 20 kHz moves evenly through the octaves;
- switches (bypass, band in/out): a linear ramp over ``SWITCH_FADE_MS``, which
  stages use directly as a crossfade amount, so switching never clicks;
- choices (filter type, channel mode): no glide; the stage that owns one
  handles the change itself without a click.

Call it only for a parameter that is moving. A numba call that passes arrays
costs about 35 ns even when it returns at once (reference counting around the
call is not pruned), so every kernel reads ``current[i]`` and glides only when
it differs from ``target[i]``::

    value = current[IDX]
    if value != target[IDX]:
        value = glide(target, current, IDX, state)

Every stage state array starts with the same header (:data:`HEADER`), written
by :func:`write_header` at prepare time.
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel
from dsp.params import SMOOTH_LINEAR, SMOOTH_LOG, SMOOTH_RAMP, SMOOTHING_MODES

SMOOTHING = np.array(SMOOTHING_MODES, dtype=np.int64)
"""Each parameter's smoothing mode, as the array the kernels read (frozen at compile time)."""

SMOOTH_TIME_MS = 12.0
"""Time constant of the one-pole glide for continuous parameters."""

SWITCH_FADE_MS = 10.0
"""Length of the linear crossfade a switch makes."""

HEADER = 3
"""Slots at the start of every stage state: sample rate, pole, ramp step."""
SR, POLE, RAMP = 0, 1, 2


def write_header(state: np.ndarray, sample_rate: float) -> None:
    """Write the shared smoothing constants for ``sample_rate`` into ``state[:HEADER]``."""
    state[SR] = sample_rate
    state[POLE] = 1.0 - math.exp(-1000.0 / (SMOOTH_TIME_MS * sample_rate))
    state[RAMP] = 1000.0 / (SWITCH_FADE_MS * sample_rate)


@kernel
def glide(target: np.ndarray, current: np.ndarray, i: int, state: np.ndarray) -> float:
    """Advance parameter ``i`` by one sample toward its target and return the new value.

    Parameters
    ----------
    target, current : ndarray, shape (n_params,)
        The dense parameter arrays; only ``current[i]`` is written.
    i : int
        Parameter index (a constant from :mod:`dsp.params`).
    state : ndarray
        The calling stage's state; its header holds the smoothing constants.
    """
    t = target[i]
    c = current[i]
    if c == t:
        return c
    mode = SMOOTHING[i]
    if mode == SMOOTH_RAMP:
        step = state[RAMP]
        c = min(c + step, t) if t > c else max(c - step, t)
    elif mode == SMOOTH_LOG and c > 0.0 and t > 0.0:
        c = c * math.exp(math.log(t / c) * state[POLE])
        if abs(c - t) <= 1e-9 * t:
            c = t
    elif mode == SMOOTH_LINEAR:
        c += (t - c) * state[POLE]
        if abs(c - t) <= 1e-9 * (1.0 + abs(t)):
            c = t
    else:  # choices, or a log parameter at a non-positive value: jump
        c = t
    current[i] = c
    return c

"""A streaming player's own limiter, for the platform preview (monitor path only).

Spotify's loud mode plays at -11 LUFS and, to get there, limits: at -1 dBFS
sample peak, 5 ms attack, 100 ms decay, applied whatever the true peak
(Spotify's own description, ``../shared/reference/delivery-and-platforms.md``
§0.8). Previewing that mode without its limiter would play the master's
peaks turned up, which no listener hears. No look-ahead: the player has none
said, so its overshoot on a transient is heard here too (the callback's
final clip keeps the monitor at full scale).
"""

from __future__ import annotations

import math

import numpy as np

from dsp._jit import kernel

CEILING_DBFS = -1.0
ATTACK_S = 0.005
DECAY_S = 0.100
GAIN, ATTACK, DECAY = 0, 1, 2
STATE_SIZE = 3


def prepare(sample_rate: float) -> np.ndarray:
    """The limiter's state: no gain reduction, and its two smoothing coefficients."""
    state = np.zeros(STATE_SIZE)
    state[GAIN] = 1.0
    state[ATTACK] = 1.0 - math.exp(-1.0 / (ATTACK_S * sample_rate))
    state[DECAY] = 1.0 - math.exp(-1.0 / (DECAY_S * sample_rate))
    return state


@kernel
def process(x: np.ndarray, n: int, state: np.ndarray, on: bool) -> None:
    """Limit ``x[:n]`` in place while ``on``; off, the gain glides back to unity (no click)."""
    ceiling = 10.0 ** (CEILING_DBFS / 20.0)
    gain = state[GAIN]
    attack, decay = state[ATTACK], state[DECAY]
    for i in range(n):
        peak = max(abs(x[i, 0]), abs(x[i, 1]))
        want = min(1.0, ceiling / peak) if on and peak > 0.0 else 1.0
        gain += (want - gain) * (attack if want < gain else decay)
        x[i, 0] *= gain
        x[i, 1] *= gain
    state[GAIN] = gain

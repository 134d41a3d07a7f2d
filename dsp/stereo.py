"""The stereo stage: width in mid/side, bass mono below a frequency, balance.

Width scales the side signal (0 % = mono, 100 % = untouched, 200 % = twice
the side). Bass mono removes the side signal below ``stereo.bass_mono_hz``
with a 4th-order Linkwitz-Riley high-pass on the side channel only, so low
end folds to the centre (vinyl cutting, club systems) while the stereo image
above is kept. Balance attenuates the opposite channel only, never boosts,
so it cannot push the limiter harder than the engineer set.
"""

from __future__ import annotations

import math

import numpy as np

from dsp import params as P
from dsp._jit import kernel
from dsp.fastmath import fma
from dsp.smoothing import HEADER, glide, write_header

# state layout after the shared header
_HP_COEF = HEADER  # b0, b1, b2, a1, a2 of one Butterworth high-pass section
_HP_FREQ = HEADER + 5  # frequency the coefficients were designed for
_HP_MEM = HEADER + 6  # two cascaded sections x two memories (TDF-II)
_BAL_DB = HEADER + 10  # balance the cached gains belong to
_BAL_GAIN = HEADER + 11  # left, right gain
SIZE = HEADER + 13


def prepare(sample_rate: float) -> np.ndarray:
    """Allocate the stage's state for ``sample_rate``."""
    state = np.zeros(SIZE)
    write_header(state, sample_rate)
    reset(state)
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Clear the filter memories and cached designs (the header stays)."""
    state[HEADER:] = 0.0
    state[_HP_FREQ] = -1.0
    state[_BAL_DB] = 1e9
    state[_BAL_GAIN] = 1.0
    state[_BAL_GAIN + 1] = 1.0


@kernel
def _design_highpass(state: np.ndarray, freq_hz: float) -> None:
    """Butterworth (Q = 1/sqrt 2) high-pass from the cookbook; two in series make LR4."""
    w0 = 2.0 * math.pi * freq_hz / state[0]
    cw, alpha = math.cos(w0), math.sin(w0) / math.sqrt(2.0)
    a0 = 1.0 + alpha
    state[_HP_COEF] = (1.0 + cw) / 2.0 / a0
    state[_HP_COEF + 1] = -(1.0 + cw) / a0
    state[_HP_COEF + 2] = (1.0 + cw) / 2.0 / a0
    state[_HP_COEF + 3] = -2.0 * cw / a0
    state[_HP_COEF + 4] = (1.0 - alpha) / a0
    state[_HP_FREQ] = freq_hz


@kernel(inline="always")
def _frame(left: float, right: float, c: tuple, z: tuple, mono_on: float, width: float,
           gains: tuple, bypass: float) -> tuple:
    """One frame: ``(left, right)`` out and the new memories.

    ``c`` is the high-pass section (b0, b1, b2, a1, a2), ``z`` the two
    sections' memories. The recursion is written as fused multiply-adds,
    which shortens its dependency chain (and rounds once per step).
    """
    b0, b1, b2, a1, a2 = c
    z1, z2, z3, z4 = z
    mid = 0.5 * (left + right)
    side = 0.5 * (left - right)
    # LR4 high-pass on the side signal, kept running so switching in is warm
    y = fma(b0, side, z1)
    z1 = fma(-a1, y, fma(b1, side, z2))
    z2 = fma(-a2, y, b2 * side)
    hp = fma(b0, y, z3)
    z3 = fma(-a1, hp, fma(b1, y, z4))
    z4 = fma(-a2, hp, b2 * y)
    # the settings' usual values skip arithmetic (settled, they are loop constants
    # and the loop is specialised); each shortcut gives what the full form would,
    # but for the rounding it leaves out
    side = hp if mono_on == 1.0 else side + mono_on * (hp - side)
    side *= width
    wet_l = mid + side
    wet_r = mid - side
    if gains[0] != 1.0 or gains[1] != 1.0:  # balance off centre: one side is cut
        wet_l *= gains[0]
        wet_r *= gains[1]
    if bypass != 0.0:
        wet_l += bypass * (left - wet_l)
        wet_r += bypass * (right - wet_r)
    return wet_l, wet_r, (z1, z2, z3, z4)


@kernel
def process(
    x: np.ndarray, target: np.ndarray, current: np.ndarray, state: np.ndarray, taps: np.ndarray
) -> None:
    """Apply width, bass mono and balance to ``x`` (float64, shape (n, 2)) in place."""
    z = (state[_HP_MEM], state[_HP_MEM + 1], state[_HP_MEM + 2], state[_HP_MEM + 3])
    settled = (current[P.STEREO_BYPASS] == target[P.STEREO_BYPASS]
               and current[P.STEREO_WIDTH] == target[P.STEREO_WIDTH]
               and current[P.STEREO_BASS_MONO] == target[P.STEREO_BASS_MONO]
               and current[P.STEREO_BASS_MONO_HZ] == target[P.STEREO_BASS_MONO_HZ]
               and current[P.STEREO_BALANCE] == target[P.STEREO_BALANCE]
               and current[P.STEREO_BASS_MONO_HZ] == state[_HP_FREQ]
               and current[P.STEREO_BALANCE] == state[_BAL_DB])
    if settled:  # nothing moves: settings in registers, the same arithmetic as below
        c = (state[_HP_COEF], state[_HP_COEF + 1], state[_HP_COEF + 2], state[_HP_COEF + 3],
             state[_HP_COEF + 4])
        gains = (state[_BAL_GAIN], state[_BAL_GAIN + 1])
        bypass = current[P.STEREO_BYPASS]
        mono_on = current[P.STEREO_BASS_MONO]
        width = current[P.STEREO_WIDTH] * 0.01
        for i in range(x.shape[0]):
            x[i, 0], x[i, 1], z = _frame(x[i, 0], x[i, 1], c, z, mono_on, width, gains, bypass)
    for i in range(0 if settled else x.shape[0]):
        # glide only what moves: a call that passes arrays costs ~35 ns even when idle
        bypass = current[P.STEREO_BYPASS]
        if bypass != target[P.STEREO_BYPASS]:
            bypass = glide(target, current, P.STEREO_BYPASS, state)
        width = current[P.STEREO_WIDTH]
        if width != target[P.STEREO_WIDTH]:
            width = glide(target, current, P.STEREO_WIDTH, state)
        mono_on = current[P.STEREO_BASS_MONO]
        if mono_on != target[P.STEREO_BASS_MONO]:
            mono_on = glide(target, current, P.STEREO_BASS_MONO, state)
        freq = current[P.STEREO_BASS_MONO_HZ]
        if freq != target[P.STEREO_BASS_MONO_HZ]:
            freq = glide(target, current, P.STEREO_BASS_MONO_HZ, state)
        balance = current[P.STEREO_BALANCE]
        if balance != target[P.STEREO_BALANCE]:
            balance = glide(target, current, P.STEREO_BALANCE, state)
        if freq != state[_HP_FREQ]:
            _design_highpass(state, freq)
        if balance != state[_BAL_DB]:
            cut = 10.0 ** (-abs(balance) / 20.0)
            state[_BAL_GAIN] = cut if balance > 0.0 else 1.0
            state[_BAL_GAIN + 1] = cut if balance < 0.0 else 1.0
            state[_BAL_DB] = balance
        c = (state[_HP_COEF], state[_HP_COEF + 1], state[_HP_COEF + 2], state[_HP_COEF + 3],
             state[_HP_COEF + 4])
        gains = (state[_BAL_GAIN], state[_BAL_GAIN + 1])
        x[i, 0], x[i, 1], z = _frame(x[i, 0], x[i, 1], c, z, mono_on, width * 0.01, gains,
                                     bypass)
    for j in range(4):
        state[_HP_MEM + j] = z[j] if abs(z[j]) > 1e-30 else 0.0

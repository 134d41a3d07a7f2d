"""The stereo stage: width in mid/side, bass mono below a frequency, balance.

Width scales the side signal (0 % = mono, 100 % = untouched, 200 % = twice
the side). Bass mono removes the side signal below ``stereo.bass_mono_hz``
with a 4th-order Linkwitz-Riley high-pass on the side channel only, so low
end folds to the centre (vinyl cutting, club systems) while the stereo image
above is kept. Balance attenuates the opposite channel only, never boosts,
so it cannot push the limiter harder than the engineer set.

While nothing moves, the stage runs in passes over chunks: the side signal,
then the LR4's two sections as a pair of recursions in one vector
(:mod:`dsp.lanes`: each section waits on its own recursion, so two cost
about what one did), then the mix. While a setting glides it runs frame by
frame. Both do the same arithmetic (direct form I, recursions as fused
multiply-adds), so the output does not depend on where blocks start.
"""

from __future__ import annotations

import math

import numpy as np

from dsp import lanes
from dsp import params as P
from dsp._jit import kernel
from dsp.fastmath import fma
from dsp.smoothing import HEADER, glide, write_header

CHUNK = 256
"""Frames per pass while nothing moves."""

# state layout after the shared header
_HP_COEF = HEADER  # b0, b1, b2, a1, a2 of one Butterworth high-pass section
_HP_FREQ = HEADER + 5  # frequency the coefficients were designed for
_HP_MEM = HEADER + 6  # direct form I: x1, x2, y1, y2 of section 1, then y1, y2 of section 2
_BAL_DB = HEADER + 12  # balance the cached gains belong to
_BAL_GAIN = HEADER + 13  # left, right gain
_PAIR = HEADER + 15  # the two sections as a pair (dsp.lanes)
_SIDE = _PAIR + lanes.WORKSPACE  # a chunk of side signal, as stereo frames (both the same)
SIZE = _SIDE + 2 * CHUNK


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
def _sections(side: float, c: tuple, z: tuple) -> tuple:
    """The LR4 high-pass of one side sample: ``(hp, memories)``.

    Two sections in direct form I, each recursion two fused multiply-adds,
    the arithmetic :mod:`dsp.lanes` does; the second section's past inputs
    are the first's past outputs. It runs even with bass mono off, so
    switching it in starts from a warm filter.
    """
    b0, b1, b2, a1, a2 = c
    x1, x2, y1, y2, w1, w2 = z
    y = fma(-a1, y1, fma(-a2, y2, b0 * side + b1 * x1 + b2 * x2))
    hp = fma(-a1, w1, fma(-a2, w2, b0 * y + b1 * y1 + b2 * y2))
    return hp, (side, x1, y, y1, hp, w1)


@kernel(inline="always")
def _mix(left: float, right: float, hp: float, mono_on: float, width: float, gains: tuple,
         bypass: float) -> tuple:
    """One frame out, from the input frame and the side signal's high-pass ``hp``.

    The settings' usual values skip arithmetic (settled, they are loop
    constants and the loop is specialised); each shortcut gives what the
    full form would, but for the rounding it leaves out.
    """
    mid = 0.5 * (left + right)
    side = 0.5 * (left - right)
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
    return wet_l, wet_r


@kernel
def _settled_chunk(xs: np.ndarray, n: int, state: np.ndarray, mono_on: float, width: float,
                   gains: tuple, bypass: float) -> None:
    """``n`` frames of the flat ``xs`` with nothing moving: side, the LR4 as a pair, the mix."""
    sides = state[_SIDE:_SIDE + 2 * n]
    for i in range(n):
        side = 0.5 * (xs[2 * i] - xs[2 * i + 1])
        sides[2 * i] = side
        sides[2 * i + 1] = side  # the pair's lanes come in twos; this one is not read
    work = state[_PAIR:_PAIR + lanes.WORKSPACE]
    c = (state[_HP_COEF], state[_HP_COEF + 1], state[_HP_COEF + 2], state[_HP_COEF + 3],
         state[_HP_COEF + 4])
    m = _HP_MEM
    for section in range(2):
        lanes.configure(work, section, c, lanes.STEREO, 1.0)
    for lane in range(2):
        lanes.set_memories(work, lane, state[m], state[m + 1], state[m + 2], state[m + 3])
        lanes.set_memories(work, 2 + lane, state[m + 2], state[m + 3], state[m + 4],
                           state[m + 5])
    lanes.run(sides, n, work)
    state[m], state[m + 1], state[m + 2], state[m + 3] = lanes.memories(work, 0)
    _, _, state[m + 4], state[m + 5] = lanes.memories(work, 2)
    for i in range(n):
        xs[2 * i], xs[2 * i + 1] = _mix(xs[2 * i], xs[2 * i + 1], sides[2 * i], mono_on, width,
                                        gains, bypass)


@kernel
def process(
    x: np.ndarray, target: np.ndarray, current: np.ndarray, state: np.ndarray, taps: np.ndarray
) -> None:
    """Apply width, bass mono and balance to ``x`` (float64, shape (n, 2)) in place."""
    z = (state[_HP_MEM], state[_HP_MEM + 1], state[_HP_MEM + 2], state[_HP_MEM + 3],
         state[_HP_MEM + 4], state[_HP_MEM + 5])
    settled = (current[P.STEREO_BYPASS] == target[P.STEREO_BYPASS]
               and current[P.STEREO_WIDTH] == target[P.STEREO_WIDTH]
               and current[P.STEREO_BASS_MONO] == target[P.STEREO_BASS_MONO]
               and current[P.STEREO_BASS_MONO_HZ] == target[P.STEREO_BASS_MONO_HZ]
               and current[P.STEREO_BALANCE] == target[P.STEREO_BALANCE]
               and current[P.STEREO_BASS_MONO_HZ] == state[_HP_FREQ]
               and current[P.STEREO_BALANCE] == state[_BAL_DB])
    if settled:  # nothing moves: passes over chunks, the same arithmetic as below
        gains = (state[_BAL_GAIN], state[_BAL_GAIN + 1])
        bypass = current[P.STEREO_BYPASS]
        mono_on = current[P.STEREO_BASS_MONO]
        width = current[P.STEREO_WIDTH] * 0.01
        for start in range(0, x.shape[0], CHUNK):
            n = min(CHUNK, x.shape[0] - start)
            _settled_chunk(x[start:start + n].reshape(2 * n), n, state, mono_on, width, gains,
                           bypass)
        z = (state[_HP_MEM], state[_HP_MEM + 1], state[_HP_MEM + 2], state[_HP_MEM + 3],
             state[_HP_MEM + 4], state[_HP_MEM + 5])
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
        left, right = x[i, 0], x[i, 1]
        hp, z = _sections(0.5 * (left - right), c, z)
        x[i, 0], x[i, 1] = _mix(left, right, hp, mono_on, width * 0.01, gains, bypass)
    for j in range(6):  # past outputs (slots 2 to 5) snap to zero when tiny
        state[_HP_MEM + j] = z[j] if j < 2 or abs(z[j]) > 1e-30 else 0.0

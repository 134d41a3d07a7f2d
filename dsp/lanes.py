"""Two biquads in series in one vector: their recursions side by side, a few frames apart.

A biquad's recursion waits one fused multiply-add per sample (about 4 CPU
cycles), and a stereo band is only two such chains, so a band runs at that
latency however wide the vector unit is, and five bands in a row cost five
times it. Two bands in series are independent if the second runs ``SKEW`` frames
behind the first (it reads what the first wrote that many frames ago, in
the same buffer): their four chains (band A left and right, band B left and
right) fit one 4-lane vector, and one step of the vector costs about what
one band's step did. Used by the EQ (neighbouring steady bands), the
exciter's output high-pass and the stereo stage's LR4 (two sections each).

Each lane computes exactly what the EQ's scalar code computes for that
channel of that band, operation for operation, so a pair gives the same
bits as the two bands run one after the other, for every channel mode:

- ``v`` is the band's input: the lane's own channel ``p`` (stereo), or
  ``0.5 * (alpha * p + beta * q)`` with ``q`` the other channel (mid:
  ``(L + R) / 2`` in both lanes; side: ``(L - R) / 2``). ``alpha`` and
  ``beta`` are +-1, so the products are exact and the sum rounds once, as
  ``0.5 * (left + right)`` does.
- ``y`` is the biquad, direct form I: ``fma(-a1, y1, fma(-a2, y2, b0 v + b1 x1 + b2 x2))``.
- the output is ``y`` (a stereo band fully on), or ``p + tau * (w * (y - v))``
  with the band's share ``w`` and ``tau`` = +-1 (the right channel of a side
  band gets minus the change).

Constants come in rows of four lanes (A left, A right, B left, B right), in
the order of :data:`ROWS`; the memories ``x1, x2, y1, y2`` likewise.
"""

from __future__ import annotations

import llvmlite.ir as ir

from dsp._jit import intrinsic, kernel

ROWS = ("b0", "b1", "b2", "na1", "na2", "alpha", "beta", "tau", "w", "stereo", "keep")
"""Rows of the lane constants (``na1 = -a1``; ``stereo`` and ``keep`` are 1.0 or 0.0)."""
B0, B1, B2, NA1, NA2, ALPHA, BETA, TAU, W, STEREO_ROW, KEEP = range(len(ROWS))
LANES = 4
CONSTANTS = len(ROWS) * LANES
MEMORIES = 4 * LANES  # x1, x2, y1, y2: one row of four lanes each
SKEW = 8
"""Frames band B runs behind band A: A's output is long stored before B reads it."""
STEREO, MID, SIDE = 0, 1, 2
"""A band's channel mode (the EQ's ``eq.bandN.mode`` choices)."""
# A pair's workspace (an array of WORKSPACE values): its lane constants and
# memories, the memories of lanes that idle while the pair fills or drains,
# and the frames an idle band runs on meanwhile.
CONSTS_AT = 0
MEMS_AT = CONSTS_AT + CONSTANTS
SAVED_AT = MEMS_AT + MEMORIES
IDLE_AT = SAVED_AT + 8
WORKSPACE = IDLE_AT + 2 * SKEW

_V4 = ir.VectorType(ir.DoubleType(), 4)
_V2 = ir.VectorType(ir.DoubleType(), 2)
_I32 = ir.IntType(32)
_I64 = ir.IntType(64)


def _shuffle(builder, a, b, lanes):
    mask = ir.Constant(ir.VectorType(_I32, len(lanes)), lanes)
    return builder.shuffle_vector(a, b, mask)


def _paired_codegen(plain: bool):
    """Code for :func:`paired_run` (``plain``: both bands stereo and fully on)."""

    def codegen(context, builder, signature, args):
        from numba.core import cgutils

        a_data = context.make_array(signature.args[0])(context, builder, args[0]).data
        b_data = context.make_array(signature.args[1])(context, builder, args[1]).data
        consts = context.make_array(signature.args[3])(context, builder, args[3]).data
        mems = context.make_array(signature.args[4])(context, builder, args[4]).data
        fma4 = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(_V4, [_V4] * 3), "llvm.fma.v4f64")

        def row(base, r):
            ptr = builder.gep(base, [ir.Constant(_I64, LANES * r)])
            return builder.bitcast(ptr, _V4.as_pointer())

        def frame(data, index):
            ptr = builder.gep(data, [builder.mul(index, ir.Constant(_I64, 2))])
            return builder.bitcast(ptr, _V2.as_pointer())

        k = [builder.load(row(consts, r), align=8) for r in range(len(ROWS))]
        zero = ir.Constant(_V4, [0.0] * LANES)
        stereo = builder.fcmp_ordered("!=", k[STEREO_ROW], zero)
        keep = builder.fcmp_ordered("!=", k[KEEP], zero)
        half = ir.Constant(_V4, [0.5] * LANES)
        slots = []
        for r in range(4):  # x1, x2, y1, y2 in allocas, which LLVM keeps in registers
            slot = cgutils.alloca_once(builder, _V4)
            builder.store(builder.load(row(mems, r), align=8), slot)
            slots.append(slot)
        with cgutils.for_range(builder, args[2]) as loop:
            a_at = frame(a_data, loop.index)
            b_at = frame(b_data, loop.index)
            p = _shuffle(builder, builder.load(a_at, align=8), builder.load(b_at, align=8),
                         [0, 1, 2, 3])
            x1, x2, y1, y2 = (builder.load(s) for s in slots)
            if plain:
                v = p
            else:
                q = _shuffle(builder, p, p, [1, 0, 3, 2])
                mixed = builder.call(fma4, [k[BETA], q, builder.fmul(k[ALPHA], p)])
                v = builder.select(stereo, p, builder.fmul(half, mixed))
            ff = builder.fadd(builder.fadd(builder.fmul(k[B0], v), builder.fmul(k[B1], x1)),
                              builder.fmul(k[B2], x2))
            y = builder.call(fma4, [k[NA1], y1, builder.call(fma4, [k[NA2], y2, ff])])
            if plain:
                out = y
            else:
                change = builder.fmul(k[W], builder.fsub(y, v))
                out = builder.select(keep, y, builder.call(fma4, [k[TAU], change, p]))
            builder.store(_shuffle(builder, out, out, [0, 1]), a_at, align=8)
            builder.store(_shuffle(builder, out, out, [2, 3]), b_at, align=8)
            for slot, value in zip(slots, (v, x1, y, y1), strict=True):
                builder.store(value, slot)
        for r, slot in enumerate(slots):
            builder.store(builder.load(slot), row(mems, r), align=8)
        return context.get_dummy_value()

    return codegen


@intrinsic
def paired_run(typingctx, a, b, frames, consts, mems):
    """Band A over the first ``frames`` stereo frames of flat ``a``, band B over ``b``, in place.

    ``a`` and ``b`` may be views of one buffer, B's ``SKEW`` frames behind A's.
    ``consts`` holds :data:`CONSTANTS` values, ``mems`` :data:`MEMORIES`
    (updated).
    """
    from numba import types

    sig = types.void(a, b, types.int64, consts, mems)
    return sig, _paired_codegen(plain=False)


@intrinsic
def paired_run_plain(typingctx, a, b, frames, consts, mems):
    """:func:`paired_run` when both bands are stereo and fully on (``stereo``, ``keep`` all 1)."""
    from numba import types

    sig = types.void(a, b, types.int64, consts, mems)
    return sig, _paired_codegen(plain=True)


@kernel
def configure(work, band, coefs, mode, share):
    """Band ``band`` (0: A, 1: B) of the pair: biquad ``coefs``, channel ``mode``, ``share``.

    ``coefs`` is ``(b0, b1, b2, a1, a2)``; the output is ``x + share (H(x) - x)``
    (``H(x)`` itself at share 1 in stereo), as in :mod:`dsp.eq`.
    """
    b0, b1, b2, a1, a2 = coefs
    for c in range(2):
        lane = 2 * band + c
        # mid: (L + R) / 2 in both lanes; side: (L - R) / 2, and R gets minus the change
        flip = -1.0 if mode == SIDE and c == 1 else 1.0
        values = (b0, b1, b2, -a1, -a2, flip, -flip if mode == SIDE else 1.0, flip, share,
                  1.0 if mode == STEREO else 0.0,
                  1.0 if mode == STEREO and share == 1.0 else 0.0)
        for r in range(len(ROWS)):
            work[CONSTS_AT + r * LANES + lane] = values[r]


@kernel
def set_memories(work, lane, x1, x2, y1, y2):
    """Memories of one lane (``2 band + channel``): past inputs and outputs."""
    work[MEMS_AT + lane] = x1
    work[MEMS_AT + LANES + lane] = x2
    work[MEMS_AT + 2 * LANES + lane] = y1
    work[MEMS_AT + 3 * LANES + lane] = y2


@kernel
def memories(work, lane):
    """``(x1, x2, y1, y2)`` of one lane."""
    return (work[MEMS_AT + lane], work[MEMS_AT + LANES + lane],
            work[MEMS_AT + 2 * LANES + lane], work[MEMS_AT + 3 * LANES + lane])


@kernel
def _idle(work, band, restore):
    """Keep (or, with ``restore``, put back) the memories of one band's two lanes.

    Before an idle pass the idle frames are also cleared: the idle band
    filters them in place, and left alone they would go round its filter
    call after call (growing toward inf under a boost, decaying into
    denormals, which are slow, under a cut).
    """
    for r in range(4):
        for c in range(2):
            at = MEMS_AT + r * LANES + 2 * band + c
            if restore:
                work[at] = work[SAVED_AT + 2 * r + c]
            else:
                work[SAVED_AT + 2 * r + c] = work[at]
    if not restore:
        for j in range(IDLE_AT, IDLE_AT + 2 * SKEW):
            work[j] = 0.0


@kernel
def _pass(a, b, frames, consts, mems, plain):
    """One run of the pair's vector loop, the plain one when it can."""
    if plain:
        paired_run_plain(a, b, frames, consts, mems)
    else:
        paired_run(a, b, frames, consts, mems)


@kernel
def run(xf, n, work):
    """Both bands of a configured pair over ``n`` frames of the flat stereo ``xf``, in place.

    Band B runs ``SKEW`` frames behind band A. While the pair fills (A's first
    frames) B's lanes run on idle frames, and while it drains A's do; their
    memories are kept and put back, so every frame is filtered exactly once
    by each band.
    """
    consts = work[CONSTS_AT:CONSTS_AT + CONSTANTS]
    mems = work[MEMS_AT:MEMS_AT + MEMORIES]
    idle = work[IDLE_AT:IDLE_AT + 2 * SKEW]
    plain = True
    for j in range(STEREO_ROW * LANES, CONSTANTS):  # the stereo and keep rows
        plain = plain and consts[j] == 1.0
    fill = min(SKEW, n)
    _idle(work, 1, False)
    _pass(xf, idle, fill, consts, mems, plain)
    _idle(work, 1, True)
    if n > SKEW:
        _pass(xf[2 * SKEW:], xf, n - SKEW, consts, mems, plain)
    _idle(work, 0, False)
    _pass(idle, xf[2 * (n - fill):], fill, consts, mems, plain)
    _idle(work, 0, True)

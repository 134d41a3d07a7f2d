"""Passes of a symmetric FIR: a few tap pairs added to many outputs at once.

A symmetric FIR sums ``g_i (a_i[k] + b_i[k])``, where ``a_i`` and ``b_i`` are
its input at the two taps of pair ``i``. The exciter's and the clipper's
oversamplers keep gains, signals and outputs in one float64 state array and
name every part of it by its offset; they choose which input frames each
pair reads (the phase bookkeeping is theirs) and run the sum a few pairs per
pass over contiguous views. Within a pass the sum stays in a register and
fused multiply-adds round once, so the loop vectorises, the outputs go
through memory once per pass, and vector and scalar code give the same bits.
``first`` starts the outputs instead of adding to them.
"""

from __future__ import annotations

from dsp._jit import kernel
from dsp.fastmath import fma


@kernel
def pass5(st, out, m, first, g, a0, a1, a2, a3, a4, b0, b1, b2, b3, b4):
    """Add five tap pairs (gains at ``st[g]``) to the ``m`` values at ``st[out]``."""
    g0, g1, g2, g3, g4 = st[g], st[g + 1], st[g + 2], st[g + 3], st[g + 4]
    o = st[out : out + m]
    x0, x1, x2 = st[a0 : a0 + m], st[a1 : a1 + m], st[a2 : a2 + m]
    x3, x4 = st[a3 : a3 + m], st[a4 : a4 + m]
    y0, y1, y2 = st[b0 : b0 + m], st[b1 : b1 + m], st[b2 : b2 + m]
    y3, y4 = st[b3 : b3 + m], st[b4 : b4 + m]
    if first:
        for k in range(m):
            s = g0 * (x0[k] + y0[k])
            s = fma(g1, x1[k] + y1[k], s)
            s = fma(g2, x2[k] + y2[k], s)
            s = fma(g3, x3[k] + y3[k], s)
            o[k] = fma(g4, x4[k] + y4[k], s)
    else:
        for k in range(m):
            s = fma(g0, x0[k] + y0[k], o[k])
            s = fma(g1, x1[k] + y1[k], s)
            s = fma(g2, x2[k] + y2[k], s)
            s = fma(g3, x3[k] + y3[k], s)
            o[k] = fma(g4, x4[k] + y4[k], s)


@kernel
def pass4(st, out, m, first, g, a0, a1, a2, a3, b0, b1, b2, b3):
    """:func:`pass5` with four pairs."""
    g0, g1, g2, g3 = st[g], st[g + 1], st[g + 2], st[g + 3]
    o = st[out : out + m]
    x0, x1, x2, x3 = st[a0 : a0 + m], st[a1 : a1 + m], st[a2 : a2 + m], st[a3 : a3 + m]
    y0, y1, y2, y3 = st[b0 : b0 + m], st[b1 : b1 + m], st[b2 : b2 + m], st[b3 : b3 + m]
    if first:
        for k in range(m):
            s = g0 * (x0[k] + y0[k])
            s = fma(g1, x1[k] + y1[k], s)
            s = fma(g2, x2[k] + y2[k], s)
            o[k] = fma(g3, x3[k] + y3[k], s)
    else:
        for k in range(m):
            s = fma(g0, x0[k] + y0[k], o[k])
            s = fma(g1, x1[k] + y1[k], s)
            s = fma(g2, x2[k] + y2[k], s)
            o[k] = fma(g3, x3[k] + y3[k], s)


@kernel
def pass3(st, out, m, first, g, a0, a1, a2, b0, b1, b2):
    """:func:`pass5` with three pairs."""
    g0, g1, g2 = st[g], st[g + 1], st[g + 2]
    o = st[out : out + m]
    x0, x1, x2 = st[a0 : a0 + m], st[a1 : a1 + m], st[a2 : a2 + m]
    y0, y1, y2 = st[b0 : b0 + m], st[b1 : b1 + m], st[b2 : b2 + m]
    if first:
        for k in range(m):
            s = g0 * (x0[k] + y0[k])
            s = fma(g1, x1[k] + y1[k], s)
            o[k] = fma(g2, x2[k] + y2[k], s)
    else:
        for k in range(m):
            s = fma(g0, x0[k] + y0[k], o[k])
            s = fma(g1, x1[k] + y1[k], s)
            o[k] = fma(g2, x2[k] + y2[k], s)


@kernel
def pass1(st, out, m, first, g, a0, b0):
    """:func:`pass5` with one pair."""
    g0 = st[g]
    o = st[out : out + m]
    x0, y0 = st[a0 : a0 + m], st[b0 : b0 + m]
    if first:
        for k in range(m):
            o[k] = g0 * (x0[k] + y0[k])
    else:
        for k in range(m):
            o[k] = fma(g0, x0[k] + y0[k], o[k])

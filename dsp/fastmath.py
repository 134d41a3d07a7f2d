"""Exact-enough arithmetic that vectorises: fused multiply-add, fast log2 and exp2.

numba leaves libm's log and exp as calls, which stop a loop from vectorising;
these are branch-free polynomials on the float's own bits, accurate far below
anything audible (log2 within 2.5e-9, i.e. 1.5e-8 dB; exp2 within 2e-15
relative). ``fma`` rounds once, so scalar and vector code give the same bits,
which the kernels' block-size tests rely on.
"""

from __future__ import annotations

import llvmlite.ir as ir
import numpy as np

from dsp._jit import intrinsic, kernel


@intrinsic
def as_bits(typingctx, value):
    """The IEEE-754 bits of a float64, as an int64 (a register move)."""
    from numba import types

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))

    return types.int64(types.float64), codegen


@intrinsic
def from_bits(typingctx, bits):
    """The float64 whose IEEE-754 bits are the int64 ``bits``."""
    from numba import types

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())

    return types.float64(types.int64), codegen


def _fma_codegen(llvm_type: ir.Type, name: str):
    """Code for a call to LLVM's fused multiply-add ``name`` on ``llvm_type`` operands."""

    def codegen(context, builder, signature, args):
        from numba.core import cgutils

        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(llvm_type, [llvm_type] * 3), name
        )
        return builder.call(fn, args)

    return codegen


@intrinsic
def fma(typingctx, a, b, c):
    """``a * b + c`` rounded once (LLVM's fma: one instruction where the CPU has one).

    Unlike contraction under fastmath, an explicit fma gives the same bits in
    scalar and vector code, so it is safe where results are compared exactly.
    """
    from numba import types

    return (types.float64(types.float64, types.float64, types.float64),
            _fma_codegen(ir.DoubleType(), "llvm.fma.f64"))


@intrinsic
def fma32(typingctx, a, b, c):
    """:func:`fma` in single precision, for estimates that need speed more than digits."""
    from numba import types

    return (types.float32(types.float32, types.float32, types.float32),
            _fma_codegen(ir.FloatType(), "llvm.fma.f32"))


_SQRT_HALF_BITS = 0x3FE6A09E667F3BCD  # bits of sqrt(1/2)
_SIGN_EXP_MASK = -(1 << 52)  # 0xFFF0000000000000 as an int64
# log2(1 + t) = t q(t) on t in [sqrt(1/2) - 1, sqrt(2) - 1]: near-minimax fit,
# |error| < 2.5e-9 (1.5e-8 dB).
_L0, _L1, _L2, _L3, _L4 = (1.4426950418497122, -0.7213473519964497, 0.4808979008045736,
                           -0.36069642471634983, 0.2885852622518021)
_L5, _L6, _L7, _L8, _L9 = (-0.23963656999568533, 0.20429616415507268, -0.19061289125893696,
                           0.18782590452708392, -0.11297335618592362)
# 2^f = 1 + f r(f) on f in [-1/2, 1/2]: near-minimax fit, relative error < 2e-15.
_E0, _E1, _E2, _E3, _E4 = (0.6931471805599463, 0.24022650695909248, 0.0555041086647307,
                           0.009618129108229725, 0.001333355818483074)
_E5, _E6, _E7, _E8, _E9 = (0.00015403529364138121, 1.5252682227093173e-05,
                           1.3216066911280367e-06, 1.0204222990487752e-07,
                           6.9569162156256035e-09)
_ROUND = 6755399441055744.0  # 1.5 * 2^52: an integer k added to it sits in the low bits
_ROUND_BITS = 0x4338000000000000  # the bits of _ROUND


@kernel
def fast_log2(v: float) -> float:
    """log2 of a positive, finite ``v`` (absolute error < 2.5e-9); finite for any input.

    The exponent comes from the bits, the mantissa is folded into
    [sqrt(1/2), sqrt(2)) and its log2 is a polynomial. 0 gives about -1075,
    subnormals a value below -1022; no branches, so loops of it vectorise.
    """
    bits = as_bits(v)
    tmp = bits - _SQRT_HALF_BITS
    k = tmp >> 52  # arithmetic shift: the unbiased exponent after folding
    t = from_bits(bits - (tmp & _SIGN_EXP_MASK)) - 1.0
    q = fma(_L9, t, _L8)
    q = fma(q, t, _L7)
    q = fma(q, t, _L6)
    q = fma(q, t, _L5)
    q = fma(q, t, _L4)
    q = fma(q, t, _L3)
    q = fma(q, t, _L2)
    q = fma(q, t, _L1)
    q = fma(q, t, _L0)
    return fma(t, q, float(k))


@kernel
def fast_exp2(v: float) -> float:
    """2**v for ``v`` <= 1023 (relative error < 2e-15, exactly 1 at 0); below -1022 it is 2**-1022.

    Split into an integer ``k`` (placed in the exponent bits) and ``f`` in
    [-1/2, 1/2] (a polynomial); no branches, so loops of it vectorise. ``k``
    stays a float and reaches the exponent bits through ``_ROUND``, never an
    int conversion, which AVX2 has only for scalars (a loop of it ran 1.75x
    faster so, with the same bits).
    """
    v = min(max(v, -1022.0), 1023.0)
    k = np.floor(v + 0.5)  # a float: math.floor's int costs AVX2 scalar conversions
    f = v - k
    r = fma(_E9, f, _E8)
    r = fma(r, f, _E7)
    r = fma(r, f, _E6)
    r = fma(r, f, _E5)
    r = fma(r, f, _E4)
    r = fma(r, f, _E3)
    r = fma(r, f, _E2)
    r = fma(r, f, _E1)
    r = fma(r, f, _E0)
    return fma(f, r, 1.0) * from_bits((as_bits(k + _ROUND) - _ROUND_BITS + 1023) << 52)



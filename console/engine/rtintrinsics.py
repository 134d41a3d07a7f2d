"""The few low-level operations the audio callback needs that numba does not offer.

- :func:`as_voidptr` turns an address from the callback's table into a pointer
  that :func:`numba.carray` can view as an array: the callback receives one
  ``void*`` and finds every preallocated array through it.
- :func:`flush_denormals` sets FTZ/DAZ in MXCSR. It is per thread, so the
  callback sets it itself on every call (one instruction); ``fastmath`` does
  not flush subnormals, and a decaying filter tail between songs is exactly
  where subnormals appear. x86-64 only; elsewhere it does nothing and the
  kernels' own snap-to-zero of recursive state is the guard.
- :func:`monotonic_ns` reads CLOCK_MONOTONIC through libc, so the callback can
  time itself into a ring for the callback-load figures.
"""

from __future__ import annotations

import platform

import llvmlite.ir as ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

X86 = platform.machine().lower() in ("x86_64", "amd64")
_FTZ_DAZ = 0x8040  # MXCSR bit 15 (flush to zero) and bit 6 (denormals are zero)


@intrinsic
def as_voidptr(typingctx, address):
    """Reinterpret an int64 address as ``void*``."""

    def codegen(context, builder, signature, args):
        return builder.inttoptr(args[0], cgutils.voidptr_t)

    return types.voidptr(types.int64), codegen


@intrinsic
def flush_denormals(typingctx):
    """Set FTZ and DAZ for the calling thread (no-op off x86-64)."""

    def codegen(context, builder, signature, args):
        if X86:
            i32 = ir.IntType(32)
            byte_ptr = ir.IntType(8).as_pointer()
            slot = cgutils.alloca_once(builder, i32)
            ptr = builder.bitcast(slot, byte_ptr)
            fnty = ir.FunctionType(ir.VoidType(), [byte_ptr])
            save = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.stmxcsr")
            load = cgutils.get_or_insert_function(builder.module, fnty, "llvm.x86.sse.ldmxcsr")
            builder.call(save, [ptr])
            builder.store(builder.or_(builder.load(slot), ir.Constant(i32, _FTZ_DAZ)), slot)
            builder.call(load, [ptr])
        return context.get_dummy_value()

    return types.void(), codegen


CLOCK_MONOTONIC = 1


@intrinsic
def monotonic_ns(typingctx):
    """CLOCK_MONOTONIC in nanoseconds, straight from libc's clock_gettime.

    Declared by name (not through ctypes) so kernels that call it can still be
    cached on disk.
    """

    def codegen(context, builder, signature, args):
        i64, i32 = ir.IntType(64), ir.IntType(32)
        timespec = cgutils.alloca_once(builder, ir.ArrayType(i64, 2))
        fnty = ir.FunctionType(i32, [i32, cgutils.voidptr_t])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "clock_gettime")
        builder.call(fn, [ir.Constant(i32, CLOCK_MONOTONIC),
                          builder.bitcast(timespec, cgutils.voidptr_t)])
        seconds = builder.load(cgutils.gep_inbounds(builder, timespec, 0, 0))
        nanos = builder.load(cgutils.gep_inbounds(builder, timespec, 0, 1))
        return builder.add(builder.mul(seconds, ir.Constant(i64, 1_000_000_000)), nanos)

    return types.int64(), codegen

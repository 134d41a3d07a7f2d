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

import ctypes
import ctypes.util
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


_libc = ctypes.CDLL(ctypes.util.find_library("c"))
clock_gettime = _libc.clock_gettime
clock_gettime.argtypes = (ctypes.c_int, ctypes.c_void_p)
clock_gettime.restype = ctypes.c_int
CLOCK_MONOTONIC = 1

"""One home for numba options, and a cache that cannot go stale.

numba keys its on-disk cache on the source file of each jitted function only.
Our kernels read module constants (parameter indices, meter tap slots) from
*other* modules, which numba freezes at compile time; editing ``params.py``
alone would leave a cached kernel reading the old indices. So the cache folder
is named after a hash of every source file in this package, and any edit here
starts a fresh cache. ``NUMBA_CACHE_DIR`` set by the user still wins.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def source_hash() -> str:
    """A hash of every source file of this package: the name of the cache folder."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.glob("*.py")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(base) / "masterdeck" / "numba"


if "NUMBA_CACHE_DIR" not in os.environ:
    _dir = _cache_root() / source_hash()
    try:
        _dir.mkdir(parents=True, exist_ok=True)
        os.environ["NUMBA_CACHE_DIR"] = str(_dir)
    except OSError:  # read-only home: numba falls back to __pycache__ or no cache
        pass

import numba  # noqa: E402  (must come after NUMBA_CACHE_DIR is set)
from numba.core import types  # noqa: E402

if "NUMBA_CACHE_DIR" in os.environ:  # numba may have been imported before us
    numba.config.CACHE_DIR = os.environ["NUMBA_CACHE_DIR"]

FULL_WIDTH_CPUS = frozenset({
    "icelake-server", "sapphirerapids", "emeraldrapids", "graniterapids", "znver4", "znver5",
})
"""CPUs whose 512-bit vector units run at full clock (Ice Lake server and later, Zen 4+)."""


def _full_width_features() -> str | None:
    """The host's CPU features without LLVM's preference for 256-bit vectors, where that pays.

    LLVM keeps loops to 256-bit vectors on every AVX-512 CPU because the first
    ones (Skylake-SP) lowered their clock for 512-bit work. The CPUs above do
    not, and there the chain runs about 8 % faster with full-width vectors
    (measured: ``masterdeck bench --only chain``). Elsewhere nothing changes.
    """
    from llvmlite import binding

    try:
        features = binding.get_host_cpu_features().flatten()
    except RuntimeError:  # llvmlite cannot read this CPU's features: leave LLVM's default
        return None
    if binding.get_host_cpu_name() in FULL_WIDTH_CPUS and "+avx512f" in features:
        return features + ",-prefer-256-bit"
    return None


if numba.config.CPU_FEATURES is None and os.environ.get("MASTERDECK_VECTOR_WIDTH") != "256":
    numba.config.CPU_FEATURES = _full_width_features()


def kernel(*args, literals: bool | None = None, **kwargs):
    """Compile a DSP kernel with the project's options.

    ``cache=True`` keeps start-up short; ``error_model="numpy"`` makes a
    division by zero give inf/nan instead of raising (a kernel that runs in
    the audio callback must never raise); no ``fastmath``, because it lets
    LLVM reassociate sums in filters whose results we test bit for bit.
    ``_nrt=False``: kernels never allocate (they run in the audio thread), so
    they need no reference counting, and without it every array view they
    make or pass stops costing two atomic operations (a call passing six
    views went from 110 to 11 ns; the chain's fixed cost per block from 3.7
    to 1.3 us). A kernel that must build arrays (the PortAudio callback's
    ``carray`` views) passes ``_nrt=True``.

    ``literals``: whether a call from another kernel with a constant
    argument compiles a version of this kernel for that constant (numba's
    way), or one version serves every call (ours, see :func:`_one_version`).
    Left unsaid, the limiter's kernels keep numba's way (see
    :data:`LITERAL_MODULES`) and every other kernel has one version.
    """
    options = {"cache": True, "error_model": "numpy", "nogil": True, "_nrt": False}
    options.update(kwargs)

    signatures = () if args and callable(args[0]) else args

    def decorate(function):
        dispatcher = numba.njit(*signatures, **options)(function)
        keep = literals if literals is not None else function.__module__.startswith(
            LITERAL_MODULES)
        return dispatcher if keep else _one_version(dispatcher)

    return decorate(args[0]) if args and callable(args[0]) else decorate


LITERAL_MODULES = ("dsp.limiter",)
"""Modules whose kernels are compiled per constant argument unless they say otherwise.

The limiter ran 1-3 % faster (the stage alone, best of 9 passes at 64 and
256 frames) with the versions numba makes of its inner runs for an offset
of 0, worth their two seconds or so of compile; a kernel there that wants
one version says ``kernel(literals=False)``.
"""


def _one_version(dispatcher):
    """Make calls from other kernels compile ``dispatcher`` for plain types, never for literals.

    numba compiles a callee afresh for every constant a kernel passes it
    (``glide(target, current, P.INPUT_TRIM, io)``: a version for
    ``Literal[int](1)``, another for 32, ...), each a whole compile, and the
    callers pay again when they link each version in: half of the cold
    compile went to such versions. Typed as ``int64``, one version serves
    every call; the callee is linked into its callers, where LLVM can still
    inline it and fold the constant.
    """
    call_template = dispatcher.get_call_template

    def get_call_template(args, kws):
        return call_template(tuple(types.unliteral(a) for a in args),
                             {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher

"""One home for numba options, and a cache that cannot go stale.

numba keys its on-disk cache on the source file of each jitted function only.
Our kernels read module constants (parameter indices, meter tap slots) from
*other* modules, which numba freezes at compile time; editing ``params.py``
alone would leave a cached kernel reading the old indices. So the cache folder
is named after a hash of every source file in this package, and any edit here
starts a fresh cache. ``NUMBA_CACHE_DIR`` set by the user still wins.

A process that asked for the prebuilt kernels (:mod:`dsp.prebuilt`) and
finds them current does not import numba at all: every kernel is then an
:class:`~dsp.prebuilt.Entry`, and numba starts only if one must compile.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from pathlib import Path

from dsp import prebuilt

_PACKAGE = Path(__file__).resolve().parent


def source_hash() -> str:
    """A hash of every source file a kernel may depend on: the name of the cache folder.

    That is every module here but :mod:`dsp.prebuilt`, which keys its own module.
    """
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.glob("*.py")):
        if path.name == "prebuilt.py":
            continue
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

CACHE_FOLDER = Path(os.environ["NUMBA_CACHE_DIR"]) if "NUMBA_CACHE_DIR" in os.environ else None
"""numba's cache folder (named after the sources); the prebuilt module is kept in it too."""

PREBUILT = (prebuilt.load(CACHE_FOLDER) if prebuilt.requested() and CACHE_FOLDER is not None
            else None)
"""The prebuilt kernels when this process asked for them (:func:`dsp.prebuilt.use`) and
they are current, else None."""

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

_numba_started = False


def _start_numba() -> None:
    """Import numba and give it the project's settings, once.

    With the prebuilt kernels in use, numba also learns that an
    :class:`~dsp.prebuilt.Entry` or :class:`~dsp.prebuilt.Deferred` a kernel
    refers to stands for its dispatcher or intrinsic.
    """
    global _numba_started
    if _numba_started:
        return
    import numba

    if CACHE_FOLDER is not None:  # numba may have been imported before us
        numba.config.CACHE_DIR = str(CACHE_FOLDER)
    if numba.config.CPU_FEATURES is None and os.environ.get("MASTERDECK_VECTOR_WIDTH") != "256":
        numba.config.CPU_FEATURES = _full_width_features()
    if PREBUILT is not None:
        from numba.core.typing.typeof import typeof, typeof_impl

        typeof_impl.register(prebuilt.Entry)(
            lambda entry, c: typeof(entry.dispatcher, c.purpose))
        typeof_impl.register(prebuilt.Deferred)(
            lambda deferred, c: typeof(deferred.intrinsic, c.purpose))
    _numba_started = True


if PREBUILT is None:
    _start_numba()


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
    Left unsaid, kernels of the modules in :data:`LITERAL_MODULES` keep
    numba's way (none do now) and every other kernel has one version.
    """
    options = {"cache": True, "error_model": "numpy", "nogil": True, "_nrt": False}
    options.update(kwargs)

    signatures = () if args and callable(args[0]) else args

    def decorate(function):
        if PREBUILT is None:
            return _dispatcher(function, signatures, options, literals)
        qualified = f"{function.__module__}.{function.__name__}"
        built = qualified in prebuilt.ENTRIES
        return prebuilt.Entry(function,
                              lambda: _dispatcher(function, signatures, options, literals),
                              getattr(PREBUILT, prebuilt.export_name(qualified)) if built else None,
                              prebuilt.accepts(qualified) if built else None)

    return decorate(args[0]) if args and callable(args[0]) else decorate


def _dispatcher(function: Callable, signatures: tuple, options: dict,
                literals: bool | None):
    """The numba dispatcher for ``function`` (see :func:`kernel`)."""
    _start_numba()
    import numba

    dispatcher = numba.njit(*signatures, **options)(function)
    keep = literals if literals is not None else function.__module__.startswith(LITERAL_MODULES)
    return dispatcher if keep else _one_version(dispatcher)


def intrinsic(function: Callable):
    """An intrinsic (code a kernel emits itself), made by numba when it compiles."""

    def make():
        _start_numba()
        from numba.extending import intrinsic as numba_intrinsic

        return numba_intrinsic(function)

    return make() if PREBUILT is None else prebuilt.Deferred(function, make)


LITERAL_MODULES: tuple[str, ...] = ()
"""Modules whose kernels are compiled per constant argument unless they say otherwise.

None now. The limiter (``"dsp.limiter"`` here) ran 1-3 % faster, the stage
alone, with the versions numba makes of its inner runs for an offset of 0,
but they cost 4 s of its compile, the longest job; with the prebuilt module
for render and analyze added, the cold compile went over the 40 s it is held
to (39.6 s with them, 36.9 s without, the same run's machine). A kernel can
still ask for them with ``kernel(literals=True)``.
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
    from numba.core import types

    call_template = dispatcher.get_call_template

    def get_call_template(args, kws):
        return call_template(tuple(types.unliteral(a) for a in args),
                             {k: types.unliteral(v) for k, v in kws.items()})

    dispatcher.get_call_template = get_call_template
    return dispatcher

"""The kernels ``render`` and ``analyze`` call, prebuilt into one extension module.

Why: a process that imports numba pays about 0.6 s before its first sample
(numba's import, its typing and target registries, loading each cached
kernel), more than a whole ``render`` of a short file should take. So
``masterdeck compile`` also builds the few kernels those commands call from
Python (:data:`ENTRIES`) ahead of time with numba's ``pycc`` into an
ordinary extension module, which needs numpy and nothing of numba to load.
Each entry is a forwarder to the very kernel the live path runs, so the
machine code inside is the kernel's, compiled with its own options; the
tests hold the two to the same bits.

How it is used: a command that wants it calls :func:`use` before anything
imports a kernel module. :mod:`dsp._jit` then gives each kernel as an
:class:`Entry` instead of a numba dispatcher: a call goes to the prebuilt
function, and any call the module cannot take (a kernel not in
:data:`ENTRIES`, other argument types) compiles the kernel with numba as
usual, so nothing ever fails for want of the library, it only slows.

The module is kept in numba's cache folder (named after the DSP sources), in
a folder named after what else its machine code and its loading depend on:
Python, numpy, numba (where each is installed) and the CPU (:func:`key`), so
two installs sharing a cache each find their own.

This module needs only the standard library until :func:`build` runs.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

MODULE = "masterdeck_prebuilt"
"""The extension module's name (its init function is named after it)."""
FOLDER = "prebuilt"
"""Its folder inside the cache folder."""
KEY_FILE = "key.json"
"""Beside the module: the key it was built for, in words (for people; loading reads the name)."""

KINDS: dict[str, tuple[str, str | None, int]] = {
    "block": ("f8[:, ::1]", "float64", 2),
    "row": ("f8[::1]", "float64", 1),
    "int32 block": ("i4[:, ::1]", "int32", 2),
    "uint64 row": ("u8[::1]", "uint64", 1),
    "int": ("i8", None, 0),
    "bool": ("b1", None, 0),
}
"""An argument's kind -> (numba type, dtype, dimensions): arrays are C-ordered and writable."""

ENTRIES: dict[str, tuple[str, tuple[str, ...]]] = {
    # render: the chain with automation, its set-up, and the output side
    "dsp.automation.process": ("void", ("block", "row", "bool", *["row"] * 13)),
    "dsp.chain._reset_io": ("void", ("row",)),
    "dsp.limiter.reset": ("void", ("row",)),
    "dsp.limiter_state.state_layout": ("UniTuple(i8, 20)", ("int",)),
    "dsp.stereo.reset": ("void", ("row",)),
    "dsp.dither.quantize": ("void", ("block", "int32 block", "int", "int", "block",
                                     "uint64 row", "bool")),
    # render and analyze: the meters
    "dsp.truepeak.process": ("void", ("block", "row")),
    "dsp.loudness.process": ("void", ("block", "row")),
}
"""Kernel (module.name) -> (its result, its arguments' kinds): what render and analyze call."""


def signature(qualified: str) -> str:
    """Entry ``qualified``'s numba signature: ``void(f8[:, ::1], f8[::1])``."""
    result, kinds = ENTRIES[qualified]
    return f"{result}({', '.join(KINDS[kind][0] for kind in kinds)})"


def accepts(qualified: str) -> Callable[[tuple], bool]:
    """A check that arguments are of the types entry ``qualified`` was built for.

    pycc's wrappers check an array's dtype and dimensions but not its
    layout: a Fortran-ordered block would be read as a C-ordered one. So an
    :class:`Entry` asks this first, as numba's dispatcher would by typing.
    """
    import numpy as np

    def check_array(dtype: np.dtype, ndim: int) -> Callable[[object], bool]:
        def check(a: object) -> bool:
            return (type(a) is np.ndarray and a.dtype == dtype and a.ndim == ndim
                    and a.flags.c_contiguous and a.flags.writeable and a.flags.aligned)
        return check

    def check_int(a: object) -> bool:
        return type(a) is int or isinstance(a, np.integer)

    def check_bool(a: object) -> bool:
        return type(a) is bool or isinstance(a, np.bool_)

    checks = []
    for kind in ENTRIES[qualified][1]:
        _, dtype, ndim = KINDS[kind]
        checks.append(check_array(np.dtype(dtype), ndim) if dtype is not None
                      else check_int if kind == "int" else check_bool)

    def accepted(args: tuple) -> bool:
        return len(args) == len(checks) and all(c(a) for c, a in zip(checks, args, strict=True))

    return accepted


_requested = False


def use() -> bool:
    """Ask for the prebuilt kernels in this process; False when it is too late to switch.

    Call before anything imports a kernel module (:mod:`dsp._jit` decides
    once, at its import). Whether the module is there and current is known
    only then: see :data:`dsp._jit.PREBUILT`. ``MASTERDECK_PREBUILT=0`` in
    the environment declines (to compare, or to rule the module out).
    """
    global _requested
    if "dsp._jit" in sys.modules or os.environ.get("MASTERDECK_PREBUILT") == "0":
        return False
    _requested = True
    return True


def requested() -> bool:
    """Whether :func:`use` was called before the kernels were imported."""
    return _requested


def export_name(qualified: str) -> str:
    """The C name of entry ``qualified``: ``dsp.chain._reset_io`` -> ``dsp_chain___reset_io``."""
    module, _, name = qualified.rpartition(".")
    return f"{module.replace('.', '_')}__{name}"


def _file_stamp(package: str) -> list[object]:
    """Where ``package`` is installed and when its ``__init__`` last changed (no import)."""
    spec = importlib.util.find_spec(package)
    origin = spec.origin if spec is not None else None
    if origin is None:
        return [package, None]
    return [origin, os.stat(origin).st_mtime_ns]


def _cpu() -> str:
    """The CPU model and feature flags (Linux), hashed: machine code is built for this CPU."""
    digest = hashlib.sha256(os.uname().machine.encode())
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as info:
            for line in info:
                if line.startswith(("model name", "flags")):
                    digest.update(line.encode())
                if not line.strip():  # the first processor is enough
                    break
    except OSError:
        digest.update(b"unknown")
    return digest.hexdigest()[:16]


def key() -> dict[str, object]:
    """What the module depends on besides the kernels' sources (which name the cache folder).

    This file is left out of that name (:func:`dsp._jit.source_hash`): no
    kernel depends on it, so an edit here rebuilds only the module.
    """
    builder = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()[:16]
    return {"python": sys.implementation.cache_tag, "numpy": _file_stamp("numpy"),
            "numba": _file_stamp("numba"), "cpu": _cpu(), "builder": builder}


def folder(cache_folder: Path) -> Path:
    """Where the module built for this Python, numpy, numba and CPU is kept."""
    digest = hashlib.sha256(json.dumps(key(), sort_keys=True).encode()).hexdigest()[:16]
    return cache_folder / FOLDER / digest


def load(cache_folder: Path) -> ModuleType | None:
    """The module built for this install and CPU, if ``masterdeck compile`` built it, else None."""
    here = folder(cache_folder)
    path = here / f"{MODULE}{importlib.machinery.EXTENSION_SUFFIXES[0]}"
    if not (here / KEY_FILE).is_file() or not path.is_file():
        return None  # not built, or a build that did not finish
    spec = importlib.util.spec_from_file_location(MODULE, path)
    if spec is None or spec.loader is None:
        return None
    try:
        module = importlib.util.module_from_spec(spec)  # an extension loads here
        spec.loader.exec_module(module)
    except ImportError:  # removed or damaged since: the kernels compile as usual
        return None
    return module


def _forwarder(kernel: Callable, arity: int) -> Callable:
    """A plain function of ``arity`` arguments that calls a twin of ``kernel`` with them.

    pycc compiles the function it exports with its own options; the kernel
    must keep its own (error model, fastmath), so the export is this
    forwarder and the kernel is compiled as its callee. The twin is the
    kernel's dispatcher without numba's on-disk cache: compiled only into
    the module, it skips the machine code a cached dispatcher would also
    write (seconds, for the chain). Its callees are the cached kernels.
    """
    import numba

    options = {k: v for k, v in kernel.targetoptions.items() if k != "nopython"}  # njit's own
    twin = numba.njit(**options)(kernel.py_func)
    names = ", ".join(f"a{k}" for k in range(arity))
    namespace: dict[str, object] = {"twin": twin}
    exec(f"def forward({names}):\n    return twin({names})\n", namespace)
    return namespace["forward"]  # type: ignore[return-value]


def build(cache_folder: Path) -> Path:
    """Build the module into ``cache_folder``/prebuilt with numba's pycc; return its path.

    Needs a C compiler and Python's headers (pycc compiles numba's small C
    runtime into the module). Runs in a normal (numba) process.
    """
    from numba.core.errors import NumbaPendingDeprecationWarning

    with warnings.catch_warnings():  # pycc is "pending deprecation" since numba 0.57: we
        warnings.simplefilter("ignore", NumbaPendingDeprecationWarning)  # pin numba < 0.69
        from numba.pycc import CC
        from numba.pycc import compiler as pycc_compiler

    class ReleasingTheGil(pycc_compiler.Flags):
        """pycc's compile flags, plus what ``nogil=True`` gives a dispatcher.

        pycc's wrappers keep the GIL through the call; render runs its output
        side on a second thread, which must run while the chain does.
        """

        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True

    here = folder(cache_folder)
    here.mkdir(parents=True, exist_ok=True)  # a module already here stays until replaced
    with tempfile.TemporaryDirectory(dir=here) as work:
        cc = CC(MODULE)
        cc.output_dir = work
        cc.target_cpu = "host"
        cc.use_nrt = False  # the kernels never allocate
        cc.verbose = False
        for qualified, (_, kinds) in ENTRIES.items():
            module, _, name = qualified.rpartition(".")
            kernel = getattr(importlib.import_module(module), name)
            cc.export(export_name(qualified), signature(qualified))(
                _forwarder(kernel, len(kinds)))
        plain_flags, cflags = pycc_compiler.Flags, os.environ.get("CFLAGS")
        pycc_compiler.Flags = ReleasingTheGil  # pycc has no option for it (numba < 0.69)
        # numba's C helpers (array reshape, error reporting) are off the hot path:
        # compiled quickly and without debug information, they save a second
        os.environ["CFLAGS"] = f"{cflags or ''} -O1 -g0"
        try:
            cc.compile()
        finally:
            pycc_compiler.Flags = plain_flags
            if cflags is None:
                del os.environ["CFLAGS"]
            else:
                os.environ["CFLAGS"] = cflags
        final = here / f"{MODULE}{importlib.machinery.EXTENSION_SUFFIXES[0]}"
        os.replace(Path(work) / Path(cc.output_file).name, final)
    (here / KEY_FILE).write_text(json.dumps(key(), indent=1) + "\n")
    return final


class Entry:
    """A kernel where the prebuilt module is in use: called like the dispatcher it stands for.

    ``prebuilt`` is the module's function for it (None: not built), taken
    when ``accepts`` the arguments. ``compile`` makes the numba dispatcher,
    on the first call the module cannot take. ``fallbacks`` counts such
    calls (tests read it).
    """

    fallbacks = 0

    def __init__(self, function: Callable, compile: Callable[[], Callable],
                 prebuilt: Callable | None, accepts: Callable[[tuple], bool] | None) -> None:
        self.py_func = function
        self.__name__ = function.__name__
        self.__qualname__ = function.__qualname__
        self.__module__ = function.__module__
        self.__doc__ = function.__doc__
        self._compile = compile
        self._prebuilt = prebuilt
        self._accepts = accepts
        self._dispatcher: Callable | None = None

    @property
    def dispatcher(self) -> Callable:
        """The numba dispatcher (compiled, or loaded from numba's cache, on first use)."""
        if self._dispatcher is None:
            self._dispatcher = self._compile()
        return self._dispatcher

    def __call__(self, *args: object) -> object:
        """Run the prebuilt function, or the numba dispatcher if the module cannot take these."""
        if self._prebuilt is not None and self._accepts is not None and self._accepts(args):
            return self._prebuilt(*args)
        Entry.fallbacks += 1
        return self.dispatcher(*args)

    def __repr__(self) -> str:
        how = "prebuilt" if self._prebuilt is not None else "compiled on first call"
        return f"<kernel {self.__module__}.{self.__qualname__} ({how})>"


class Deferred:
    """An intrinsic in a process that uses the prebuilt module: made only if numba compiles."""

    def __init__(self, function: Callable, make: Callable[[], object]) -> None:
        self.py_func = function
        self.__name__ = function.__name__
        self.__doc__ = function.__doc__
        self._make = make
        self._made: object | None = None

    @property
    def intrinsic(self) -> object:
        """The numba intrinsic, made on first use."""
        if self._made is None:
            self._made = self._make()
        return self._made

    def __call__(self, *args: object) -> object:
        """Refuse: an intrinsic has no Python implementation."""
        raise TypeError(f"{self.__name__} is an intrinsic: it runs only inside a kernel")

"""masterdeck's signal processing: numba kernels and the parameter table.

Pure numerical code: no I/O, no threads, no knowledge of MIDI or files.
Importing the package itself costs nothing: :mod:`dsp.params` and
:mod:`dsp.errors` need only the standard library, so a thin client can read the
parameter table without numba. Every kernel module imports :mod:`dsp._jit`
first, which points numba's on-disk cache at a folder named after a hash of
this package's sources, so a change to any module (the parameter table, say,
whose indices are frozen into every kernel) can never load a stale kernel.
"""

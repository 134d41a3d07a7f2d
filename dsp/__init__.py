"""masterdeck's signal processing: numba kernels and the parameter table.

Pure numerical code: no I/O, no threads, no knowledge of MIDI or files.
Importing this package points numba's on-disk cache at a folder named after a
hash of this package's sources (see :mod:`dsp._jit`), so a change to any module
(the parameter table, say, whose indices are frozen into every kernel) can never
load a stale compiled kernel.
"""

from dsp import _jit as _jit  # sets the numba cache folder first

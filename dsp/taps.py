"""Meter taps: the slots of the small float64 array every stage writes per block.

The kernels write, the control side copies the array out to read it (one
writer per slot). Gain reductions are positive dB amounts: the largest
reduction the stage applied during the last block.
"""

COMP_GR_DB = 0
"""Compressor gain reduction, dB (max over the block)."""
LIMITER_GR_DB = 1
"""Limiter gain reduction, dB (max over the block)."""
EXCITER_ADDED_DB = 2
"""Level of the harmonics the exciter added, dB relative to its input (block RMS)."""
GUARD_TRIPS = 3
"""Count of blocks in which a guard fired (non-finite input or state)."""
INPUT_PEAK = 4
"""Largest absolute input sample of the block (linear)."""
OUTPUT_PEAK = 5
"""Largest absolute output sample of the block (linear)."""
COUNT = 8

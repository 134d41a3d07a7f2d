"""The mastering chain: trim → EQ → compressor → exciter → stereo → clipper → limiter → output.

One jitted call processes one block through every stage, so the live audio
callback and the offline renderer run the very same machine code. The chain
also owns the guards that keep the speakers safe:

- input: NaN and Inf become silence, absurd levels are clamped (+60 dBFS);
- between stages: a stage whose output goes non-finite is reset;
- output: any trip mutes the output at once, holds it through the chain's
  latency, then fades back in over 10 ms; a final clip keeps every sample
  within ±1.0 (0 dBFS) whatever the settings, and a gate sets every sample
  below -200 dBFS to exact zero, so a decaying tail ends in digital silence
  and no float32 made from the output is ever subnormal.

:class:`Chain` is the Python-side owner of everything the kernel touches:
the two parameter arrays, one state array per stage and the meter taps.
The clipper's state lives in the chain's own section (``io``, after the
input/output slots), so everything that hands the chain its parts one by one
(the audio callback's table, the album's second voice, render) carries it
without a part of its own.
"""

from __future__ import annotations

import math

import numpy as np

from dsp import clipper, compressor, eq, exciter, limiter, stereo, taps
from dsp import params as P
from dsp._jit import kernel
from dsp.dither import OUTPUT_FLOOR
from dsp.errors import ParameterError
from dsp.fastmath import as_bits, from_bits
from dsp.smoothing import HEADER, RAMP, glide, write_header

INPUT_CLAMP = 1000.0
"""Largest input magnitude let through (+60 dBFS); beyond is a broken source."""
DENORMAL_FLOOR = 1e-30
"""Input samples smaller than this (-600 dBFS) are taken as zero."""
FAULT_HOLD_MS = 10.0
"""How long the output stays muted after a fault, beyond the chain's latency."""

# state of the chain's own input/output section, after the shared header
_TRIM_DB, _TRIM_GAIN = HEADER, HEADER + 1
_OUT_DB, _OUT_GAIN = HEADER + 2, HEADER + 3
_MUTE, _MUTE_HOLD, _HOLD_SAMPLES = HEADER + 4, HEADER + 5, HEADER + 6
_CLIPPER = 8 * ((HEADER + 7 + 7) // 8)  # the clipper's state, from here to the end (aligned
# to 8 slots, as the pack aligns each part)


def _prepare_io(sample_rate: float, latency: int) -> np.ndarray:
    """The chain's own section: trim, output gain and fault mute, then the clipper's state."""
    state = np.zeros(_CLIPPER + clipper.SIZE)
    write_header(state, sample_rate)
    state[_HOLD_SAMPLES] = latency + round(FAULT_HOLD_MS * sample_rate / 1000.0)
    state[_CLIPPER:] = clipper.prepare(sample_rate)
    _reset_io(state)
    return state


@kernel(inline="always")
def _clipper_state(io: np.ndarray) -> np.ndarray:
    return io[_CLIPPER:]


@kernel
def _reset_io(state: np.ndarray) -> None:
    """Reset the chain's own section: gains recomputed, unmuted, the clipper cleared."""
    state[_TRIM_DB] = math.nan  # forces the gains to be computed on the first sample
    state[_OUT_DB] = math.nan
    state[_MUTE] = 1.0
    state[_MUTE_HOLD] = 0.0
    clipper.reset(state[_CLIPPER:])


@kernel(fastmath={"reassoc"})
def _all_finite(x: np.ndarray) -> bool:
    """True when no sample is NaN or infinite.

    ``v * 0`` is 0 for every finite ``v`` and NaN otherwise, and NaN survives
    any sum, so one reassociated (vectorised) sum answers for the block.
    """
    xf = x.reshape(2 * x.shape[0])
    acc = 0.0
    for k in range(xf.size):
        acc += xf[k] * 0.0
    return acc == 0.0


@kernel(inline="always")
def _abs_bits(v: float) -> int:
    """The bits of ``|v|``: for finite ``v``, ordered as ``|v|`` is (a max of them vectorises)."""
    return as_bits(abs(v))


@kernel(inline="always")
def _clean_input(v: float) -> float:
    """An input sample made safe: NaN/Inf to 0, clamped to +-INPUT_CLAMP, subnormal to 0.

    Branch-free, so loops of it vectorise; both input paths use it.
    """
    v = min(max(v if v - v == 0.0 else 0.0, -INPUT_CLAMP), INPUT_CLAMP)  # v - v: NaN unless finite
    return v if abs(v) >= DENORMAL_FLOOR else 0.0  # subnormal input would seed every filter


@kernel(inline="always")
def _clip_output(v: float) -> float:
    """An output sample made safe: non-finite to 0, within +-1 (0 dBFS), below OUTPUT_FLOOR 0.

    Branch-free (two selects), so the settled output loop still vectorises.
    """
    v = min(max(v if v - v == 0.0 else 0.0, -1.0), 1.0)
    return v if abs(v) >= OUTPUT_FLOOR else 0.0


@kernel
def _input_settled(xf: np.ndarray, gain: float) -> tuple:
    """:func:`_input`'s sample arithmetic at a steady trim; return (non-finite count, peak).

    Branch-free, over the flat block, so it vectorises: the peak is kept as
    the largest bit pattern of the magnitudes, which orders like the values.
    """
    bad = 0
    peak_bits = 0
    for k in range(xf.size):
        v = xf[k]
        bad += 0 if v - v == 0.0 else 1
        v = _clean_input(v)
        peak_bits = max(peak_bits, _abs_bits(v))
        xf[k] = v * gain
    return bad, from_bits(peak_bits)


@kernel
def _output_settled(xf: np.ndarray, gain: float) -> float:
    """:func:`_output`'s sample arithmetic at a steady gain and no mute; return the peak."""
    peak_bits = 0
    for k in range(xf.size):
        v = _clip_output(xf[k] * gain)
        peak_bits = max(peak_bits, _abs_bits(v))
        xf[k] = v
    return from_bits(peak_bits)


@kernel
def _input(x: np.ndarray, target: np.ndarray, current: np.ndarray, io: np.ndarray,
           tap: np.ndarray) -> bool:
    """Sanitise and trim the input; return True if a non-finite sample arrived."""
    trim = current[P.INPUT_TRIM]
    if trim == target[P.INPUT_TRIM] and trim == io[_TRIM_DB]:
        bad, peak = _input_settled(x.reshape(2 * x.shape[0]), io[_TRIM_GAIN])
        tap[taps.INPUT_PEAK] = peak
        return bad > 0
    tripped = False
    peak = 0.0
    for i in range(x.shape[0]):
        trim = current[P.INPUT_TRIM]
        if trim != target[P.INPUT_TRIM]:  # glide only when moving (an idle call costs)
            trim = glide(target, current, P.INPUT_TRIM, io)
        if trim != io[_TRIM_DB]:
            io[_TRIM_DB] = trim
            io[_TRIM_GAIN] = 10.0 ** (trim / 20.0)
        gain = io[_TRIM_GAIN]
        for c in range(2):
            v = x[i, c]
            tripped = tripped or not math.isfinite(v)
            v = _clean_input(v)
            peak = max(peak, abs(v))
            x[i, c] = v * gain
    tap[taps.INPUT_PEAK] = peak
    return tripped


@kernel
def _output(x: np.ndarray, target: np.ndarray, current: np.ndarray, io: np.ndarray,
            tap: np.ndarray) -> None:
    """Output gain, fault mute, and the final safety clip at 0 dBFS."""
    out_db = current[P.OUTPUT_GAIN]
    if (out_db == target[P.OUTPUT_GAIN] and out_db == io[_OUT_DB] and io[_MUTE] == 1.0
            and io[_MUTE_HOLD] == 0.0):
        tap[taps.OUTPUT_PEAK] = _output_settled(x.reshape(2 * x.shape[0]), io[_OUT_GAIN])
        return
    peak = 0.0
    for i in range(x.shape[0]):
        out_db = current[P.OUTPUT_GAIN]
        if out_db != target[P.OUTPUT_GAIN]:
            out_db = glide(target, current, P.OUTPUT_GAIN, io)
        if out_db != io[_OUT_DB]:
            io[_OUT_DB] = out_db
            io[_OUT_GAIN] = 10.0 ** (out_db / 20.0)
        if io[_MUTE_HOLD] > 0.0:
            io[_MUTE_HOLD] -= 1.0
        elif io[_MUTE] < 1.0:
            io[_MUTE] = min(1.0, io[_MUTE] + io[RAMP])
        gain = io[_OUT_GAIN] * io[_MUTE]
        for c in range(2):
            v = _clip_output(x[i, c] * gain)
            peak = max(peak, abs(v))
            x[i, c] = v
    tap[taps.OUTPUT_PEAK] = peak


@kernel
def _fault(x: np.ndarray, io: np.ndarray, tap: np.ndarray) -> None:
    """Silence the block and hold the output muted: something upstream broke."""
    x[:, :] = 0.0
    io[_MUTE] = 0.0
    io[_MUTE_HOLD] = io[_HOLD_SAMPLES]
    tap[taps.GUARD_TRIPS] += 1.0


@kernel(inline="always")
def process_block(
    x: np.ndarray,
    target: np.ndarray,
    current: np.ndarray,
    io: np.ndarray,
    st_eq: np.ndarray,
    st_comp: np.ndarray,
    st_exciter: np.ndarray,
    st_stereo: np.ndarray,
    st_limiter: np.ndarray,
    tap: np.ndarray,
) -> None:
    """Run one block through the whole chain, in place.

    Parameters
    ----------
    x : ndarray, shape (n, 2), float64, C-contiguous
        The block; any n from 1 up. Replaced by the output.
    target, current : ndarray, shape (params.COUNT,)
        Parameter arrays: ``target`` is what the stages glide ``current``
        toward per sample (the desk's values, or automation's).
    io, st_eq, st_comp, st_exciter, st_stereo, st_limiter : ndarray
        Per-stage state from each stage's ``prepare``; ``io`` is the chain's
        own (from ``_prepare_io``), the clipper's state included.
    tap : ndarray, shape (taps.COUNT,)
        Meter taps, written once per block.

    Inlined where a kernel calls it (:func:`process_packed`,
    :func:`dsp.automation.process`): its own code is a few calls, and as a
    function of its own it would be compiled with the whole chain linked in
    and optimised once more, on the way to each of them. Called from Python
    it is compiled on first use.
    """
    faulted = _input(x, target, current, io, tap)
    eq.process(x, target, current, st_eq, tap)
    if not _all_finite(x):
        eq.reset(st_eq)
        faulted = True
    compressor.process(x, target, current, st_comp, tap)
    if not _all_finite(x):
        compressor.reset(st_comp)
        faulted = True
    exciter.process(x, target, current, st_exciter, tap)
    if not _all_finite(x):
        exciter.reset(st_exciter)
        faulted = True
    stereo.process(x, target, current, st_stereo, tap)
    if not _all_finite(x):
        stereo.reset(st_stereo)
        faulted = True
    clipper.process(x, target, current, _clipper_state(io), tap)
    if not _all_finite(x):
        clipper.reset(_clipper_state(io))
        faulted = True
    limiter.process(x, target, current, st_limiter, tap)
    if not _all_finite(x):
        limiter.reset(st_limiter)
        faulted = True
    if faulted:
        _fault(x, io, tap)
    _output(x, target, current, io, tap)


_PARTS = 7  # io, eq, comp, exciter, stereo, limiter, taps


def _pack(parts: list[np.ndarray]) -> np.ndarray:
    """One array holding ``parts``, each at a multiple of 8 slots; starts and sizes first.

    A Python call into a kernel pays for every array argument it passes
    (about 90 ns each); the chain's seven arrays in one make a block call
    about half a microsecond cheaper. The parts stay usable on their own as
    views of the pack.
    """
    start = 8 * ((2 * _PARTS + 7) // 8)
    header = []
    for part in parts:
        header += [start, part.size]
        start += 8 * ((part.size + 7) // 8)
    pack = np.zeros(start)
    pack[:2 * _PARTS] = header
    for i, part in enumerate(parts):
        pack[header[2 * i]:header[2 * i] + part.size] = part
    return pack


@kernel(inline="always")
def _part(pack: np.ndarray, i: int) -> np.ndarray:
    start = int(pack[2 * i])
    return pack[start:start + int(pack[2 * i + 1])]


@kernel
def process_packed(x: np.ndarray, target: np.ndarray, current: np.ndarray,
                   pack: np.ndarray) -> None:
    """:func:`process_block` with the chain's state arrays in one pack (see ``_pack``)."""
    process_block(x, target, current, _part(pack, 0), _part(pack, 1), _part(pack, 2),
                  _part(pack, 3), _part(pack, 4), _part(pack, 5), _part(pack, 6))


class Chain:
    """The mastering chain at one sample rate, with everything its kernel touches.

    Keep the object alive while a stream uses its arrays. ``values`` is the
    only array the control side writes (the settings; with no automation they
    are the target the stages glide to); ``taps`` is read by copying it.
    """

    def __init__(self, sample_rate: float) -> None:
        if not 8000.0 <= sample_rate <= 384000.0:
            raise ParameterError(f"sample rate {sample_rate:g} Hz is not supported")
        self.sample_rate = float(sample_rate)
        self.values = P.defaults()
        self.current = self.values.copy()
        self.eq = eq.prepare(self.sample_rate)
        self.comp = compressor.prepare(self.sample_rate)
        self.exciter = exciter.prepare(self.sample_rate)
        self.stereo = stereo.prepare(self.sample_rate)
        self.limiter = limiter.prepare(self.sample_rate)
        self.latency = int(
            exciter.latency_samples(self.exciter) + clipper.LATENCY
            + limiter.latency_samples(self.limiter)
        )
        """Samples between a sample entering and leaving the chain (constant: the clipper's
        counts whether it is on or off)."""
        io = _prepare_io(self.sample_rate, self.latency)
        parts = [io, self.eq, self.comp, self.exciter, self.stereo, self.limiter,
                 np.zeros(taps.COUNT)]
        self._pack = _pack(parts)
        views = [self._pack[int(self._pack[2 * i]):int(self._pack[2 * i]) + part.size]
                 for i, part in enumerate(parts)]
        self.io, self.eq, self.comp, self.exciter, self.stereo, self.limiter, self.taps = views
        self.clipper = self.io[_CLIPPER:]
        """The clipper's state (a view of ``io``: see the module's docstring)."""

    def set(self, param_id: str, value: float, *, glide: bool = True) -> None:
        """Set a parameter (checked against the table); it glides unless ``glide`` is False."""
        i = P.index(param_id)
        value = P.PARAMS[i].check(value)
        self.values[i] = value
        if not glide:
            self.current[i] = value

    def get(self, param_id: str) -> float:
        """The value a parameter is heading to."""
        return float(self.values[P.index(param_id)])

    def reset(self) -> None:
        """Clear all history: filters, envelopes, delay lines; jump to the values."""
        for module, state in self._stages():
            module.reset(state)
        _reset_io(self.io)
        self.current[:] = self.values
        self.taps[:] = 0.0

    def process(self, x: np.ndarray) -> np.ndarray:
        """Process ``x`` (float64, shape (n, 2), C-contiguous) in place and return it."""
        process_packed(x, self.values, self.current, self._pack)
        return x

    def _stages(self) -> tuple[tuple[object, np.ndarray], ...]:
        return ((eq, self.eq), (compressor, self.comp), (exciter, self.exciter),
                (stereo, self.stereo), (limiter, self.limiter))

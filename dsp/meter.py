"""The loudness meter: one object fed blocks, read at any time, same numbers as a file pass.

Two kinds of work, split the way the live chain needs them:

- per block, in the audio callback: :func:`dsp.loudness.process` (K-weighting,
  momentary/short-term windows and maxima, sample peaks, 100 ms chunk energies)
  and :func:`dsp.truepeak.process` (BS.1770 Annex 2 true peak). Neither
  allocates; each keeps its memory in one preallocated float64 state array;
- whenever a reading is wanted, off the audio thread: a
  :class:`dsp.gating.ChunkHistory` copies the new chunk energies out of the
  loudness state and :func:`read` turns the states and the history into a
  :class:`Reading` (integrated loudness, LRA, PLR, correlation need history).

:class:`LoudnessMeter` packages both for offline use (``masterdeck analyze``,
render reports): ``process`` blocks of any size, then ``reading()``. A live
chain holds ``meter.state`` and ``meter.true_peak_state`` in its callback
table, calls the two kernels per block, and calls ``meter.reading()`` (which
updates the history) from its meter thread at least every 100 s.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from dsp import gating, loudness, truepeak
from dsp.errors import ParameterError


@dataclass(frozen=True)
class Reading:
    """What a meter has measured so far. None wherever a value is undefined (silence)."""

    sample_rate: float
    channels: int
    duration_s: float
    integrated_lufs: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    momentary_lufs: float | None
    """Loudness of the last 400 ms."""
    short_term_lufs: float | None
    """Loudness of the last 3 s."""
    momentary_max_lufs: float | None
    short_term_max_lufs: float | None
    plr_db: float | None
    """Peak to loudness ratio: true peak minus integrated loudness."""
    correlation: float | None
    """Correlation of the first two channels over everything measured, -1..1."""
    correlation_live: float | None
    """The same over the last 400 ms (four complete 100 ms chunks)."""

    def as_dict(self) -> dict[str, float | int | None]:
        """The reading as a plain dict (JSON-ready)."""
        return asdict(self)


def _db(linear: float) -> float | None:
    return 20.0 * math.log10(linear) if linear > 0.0 else None


def read(state: np.ndarray, true_peak_state: np.ndarray,
         history: gating.ChunkHistory) -> Reading:
    """Build a :class:`Reading` from the two kernel states; updates ``history`` first.

    Call off the audio thread, while the callback runs if need be: the
    scalar readings are single float64 slots (one block old at worst), and
    the history copies only chunks the kernel has already counted, marking
    any the kernel overwrote meanwhile as lost (see ChunkHistory).
    """
    history.update()
    energy = history.data[gating.ENERGY]
    hop = history.hop
    gates = history.running
    integrated = (gates.integrated_lufs() if gates is not None
                  else gating.integrated_lufs(energy, hop))
    true_peak = _db(float(np.max(truepeak.channel_peaks(true_peak_state))))
    plr = None if true_peak is None or integrated is None else true_peak - integrated
    stereo = int(state[loudness.CHANNELS]) >= 2
    return Reading(
        sample_rate=float(state[0]),
        channels=int(state[loudness.CHANNELS]),
        duration_s=float(state[loudness.SAMPLES]) / float(state[0]),
        integrated_lufs=integrated,
        loudness_range_lu=(gates.loudness_range_lu() if gates is not None
                           else gating.loudness_range_lu(energy, hop)),
        true_peak_dbtp=true_peak,
        sample_peak_dbfs=_db(float(np.max(loudness.sample_peaks(state)))),
        momentary_lufs=loudness.momentary_lufs(state),
        short_term_lufs=loudness.short_term_lufs(state),
        momentary_max_lufs=loudness.momentary_max_lufs(state),
        short_term_max_lufs=loudness.short_term_max_lufs(state),
        plr_db=plr,
        correlation=(None if not stereo else gates.correlation() if gates is not None
                     else gating.correlation(history.data)),
        correlation_live=(None if not stereo else gates.correlation(live=True)
                          if gates is not None
                          else gating.correlation(history.data, loudness.MOMENTARY_CHUNKS)),
    )


class LoudnessMeter:
    """BS.1770-4 / EBU R128 meter: integrated, LRA, momentary, short-term, peaks, PLR.

    Parameters
    ----------
    sample_rate : float
        Hz, 8 kHz to 768 kHz (tested 44.1 to 192 kHz).
    channels : int
        BS.1770 weights follow the channel count (see
        :func:`dsp.kweighting.channel_weights`); 6 channels are L R C LFE Ls Rs.
    dual_mono : bool
        Mono only: measure as played on two speakers (+3.01 dB). Default is
        BS.1770's mono: one channel, weight 1.
    weights : ndarray, optional
        Explicit channel weights instead of the layout defaults.
    running : bool
        Keep the gated figures as the audio arrives (:class:`dsp.gating.RunningGates`):
        a live meter read for hours at a steady cost. Off, they are computed exactly
        from the whole history at each reading (offline analysis).

    Examples
    --------
    >>> meter = LoudnessMeter(48000, 2)
    >>> for block in blocks:            # any block sizes
    ...     meter.process(block)        # float64 (n, 2)
    >>> meter.reading().integrated_lufs
    """

    def __init__(self, sample_rate: float, channels: int, *, dual_mono: bool = False,
                 weights: np.ndarray | None = None, running: bool = False) -> None:
        self.state = loudness.prepare(sample_rate, channels, dual_mono=dual_mono,
                                      weights=weights)
        self.true_peak_state = truepeak.prepare(float(sample_rate), int(channels))
        self.history = gating.ChunkHistory(self.state, running)
        self.channels = int(channels)
        hop = loudness.hop_samples(self.state)
        # Stay well inside the chunk ring between two history updates.
        self._piece = (loudness.CHUNK_RING - loudness.SHORT_TERM_CHUNKS - 2) * hop

    def reset(self) -> None:
        """Start a new measurement (keeps rate, channels and weights)."""
        loudness.reset(self.state)
        truepeak.reset(self.true_peak_state)
        self.history.clear()

    def process(self, x: np.ndarray, *, true_peak: bool = True) -> np.ndarray:
        """Measure one block of audio, shape (n, channels) or (n,) for mono.

        Returns the block as the meter read it (float64, C-contiguous). With
        ``true_peak=False`` the caller feeds that block to
        ``truepeak.process(block, meter.true_peak_state)`` itself, in order,
        for instance on another thread while this one reads on (both kernels
        release the GIL).

        Raises
        ------
        ParameterError
            Wrong channel count, or a NaN/Inf sample (which would poison the
            filters for the rest of the measurement).
        """
        block = np.asarray(x, dtype=np.float64)
        if block.ndim == 1 and self.channels == 1:
            block = block[:, None]
        if block.ndim != 2 or block.shape[1] != self.channels:
            raise ParameterError(
                f"block must have shape (n, {self.channels}), got {np.shape(x)}"
            )
        if not np.isfinite(block).all():
            raise ParameterError("audio contains NaN or infinite samples")
        block = np.ascontiguousarray(block)
        for start in range(0, block.shape[0], self._piece):
            piece = block[start:start + self._piece]
            loudness.process(piece, self.state)
            if true_peak:
                truepeak.process(piece, self.true_peak_state)
            self.history.update()
        return block

    def reading(self) -> Reading:
        """Everything measured so far (see :class:`Reading`)."""
        return read(self.state, self.true_peak_state, self.history)


def measure(x: np.ndarray, sample_rate: float, *, dual_mono: bool = False) -> Reading:
    """Measure a whole signal, shape (n, channels) or (n,) for mono, in one call."""
    data = np.asarray(x, dtype=np.float64)
    channels = 1 if data.ndim == 1 else data.shape[1]
    meter = LoudnessMeter(sample_rate, channels, dual_mono=dual_mono)
    meter.process(data)
    return meter.reading()

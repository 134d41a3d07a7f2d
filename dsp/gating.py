"""Gated integrated loudness, loudness range and correlation from 100 ms chunk energies.

These measures need the whole history of a programme, so they are not
computed in the audio callback. The kernel in :mod:`dsp.loudness` writes the
K-weighted energy of every 100 ms chunk into a ring in its state;
:class:`ChunkHistory` copies new chunks out of that ring (off the audio
thread, allocating as it grows: 8 floats per chunk, about 2.3 MB for 10 hours),
and the functions below work on the copy. Given the same chunks they return
the same numbers, however the audio was cut into blocks.

- Integrated loudness (ITU-R BS.1770-4): 400 ms gating blocks every 100 ms
  (sums of 4 chunks, the first ending at 400 ms), absolute gate ``> -70 LUFS``,
  relative gate ``> Gamma_r`` = loudness of the absolutely gated mean minus 10 LU.
- Loudness range (EBU Tech 3342): short-term values (3 s) every 100 ms (the
  required 10 Hz), absolute gate ``>= -70 LUFS``, relative gate ``>=`` their
  energy mean minus 20 LU, then the 95th minus the 10th percentile taken with
  the MATLAB rounding rule of Tech 3342's reference code. No trailing silence
  is appended: the last value is the window ending at the last full chunk.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from dsp import loudness

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_LOW_PERCENT = 10.0
LRA_HIGH_PERCENT = 95.0

ENERGY, LR, LL, RR = 0, 1, 2, 3
"""Rows of :attr:`ChunkHistory.data`: weighted energy, then L*R, L*L, R*R sums."""


class ChunkHistory:
    """A growing copy of the chunks a meter state has written, for gating and LRA.

    Call :meth:`update` from any one thread other than the audio thread, at
    least once per :data:`dsp.loudness.CHUNK_RING` chunks (102.4 s); a reader
    that falls further behind loses chunks, and :attr:`lost_chunks` counts them.

    Parameters
    ----------
    state : ndarray
        A meter state from :func:`dsp.loudness.prepare`; only read.
    """

    def __init__(self, state: np.ndarray, running: bool = False) -> None:
        self.state = state
        self.running: RunningGates | None = None
        """With ``running``: the gated figures kept as chunks arrive (a live meter's)."""
        channels = int(state[loudness.CHANNELS])
        self.hop = loudness.hop_samples(state)
        self._ring = loudness.layout(channels, self.hop)["chunks"]
        self._data = np.zeros((4, 1024))
        if running:
            self.running = RunningGates(self.hop)
        self.count = 0
        """Chunks copied so far (lost ones included, as zeros)."""
        self.lost_chunks = 0

    @property
    def data(self) -> np.ndarray:
        """The chunks copied so far, shape (4, count); a view, do not keep it across updates."""
        return self._data[:, : self.count]

    def clear(self) -> None:
        """Forget the copy (call together with :func:`dsp.loudness.reset`)."""
        self.count = 0
        self.lost_chunks = 0
        if self.running is not None:
            self.running = RunningGates(self.hop)

    def update(self) -> int:
        """Copy the chunks written since the last call; return how many were new."""
        written = int(self.state[loudness.CHUNKS])
        new = written - self.count
        if new <= 0:
            return 0
        if self.count + new > self._data.shape[1]:
            grown = np.zeros((4, max(2 * self._data.shape[1], self.count + new)))
            grown[:, : self.count] = self._data[:, : self.count]
            self._data = grown
        ring = loudness.CHUNK_RING
        for index in range(max(self.count, written - ring), written):
            slot = self._ring + index % ring
            self._data[:, index] = self.state[slot : slot + 4 * ring : ring]
        # Chunks older than (count now - ring) were overwritten before or while we copied.
        first_bad = self.count
        last_bad = min(written, int(self.state[loudness.CHUNKS]) - ring)
        if last_bad > first_bad:
            self._data[:, first_bad:last_bad] = 0.0
            self.lost_chunks += last_bad - first_bad
        if self.running is not None:
            self.running.add(self._data[:, self.count:written])
        self.count = written
        return new


def _window_energies(energy: np.ndarray, chunks: int, hop: int) -> np.ndarray:
    """Mean power of every window of ``chunks`` consecutive chunks (direct sums, no drift)."""
    if energy.size < chunks:
        return np.zeros(0)
    return sliding_window_view(energy, chunks).sum(axis=1) / (chunks * hop)


def _lufs(power: float | np.ndarray) -> float | np.ndarray:
    with np.errstate(divide="ignore"):
        return loudness.LOUDNESS_OFFSET + 10.0 * np.log10(power)


def integrated_lufs(energy: np.ndarray, hop: int) -> float | None:
    """Gated integrated loudness (BS.1770-4) from chunk energies.

    Parameters
    ----------
    energy : ndarray, shape (n_chunks,)
        Weighted K-filtered energy of each 100 ms chunk.
    hop : int
        Samples per chunk.

    Returns
    -------
    float or None
        LUFS; None when no 400 ms block passes the absolute gate (silence, or
        less than 400 ms of audio).
    """
    blocks = _window_energies(energy, loudness.MOMENTARY_CHUNKS, hop)
    block_lufs = _lufs(blocks)
    kept = blocks[block_lufs > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return None
    relative = _lufs(kept.mean()) + RELATIVE_GATE_LU
    kept = blocks[(block_lufs > ABSOLUTE_GATE_LUFS) & (block_lufs > relative)]
    return float(_lufs(kept.mean()))


def short_term_series(energy: np.ndarray, hop: int) -> np.ndarray:
    """Short-term loudness every 100 ms (windows ending at each full chunk from 3 s on), LUFS."""
    return _lufs(_window_energies(energy, loudness.SHORT_TERM_CHUNKS, hop))


def _matlab_round(value: float) -> int:
    return int(np.floor(value + 0.5))


def loudness_range_lu(energy: np.ndarray, hop: int) -> float | None:
    """Loudness range (EBU Tech 3342) from chunk energies.

    Returns
    -------
    float or None
        LU; None when no short-term value passes the gates (silence, or less
        than 3 s of audio).
    """
    values = short_term_series(energy, hop)
    values = values[values >= ABSOLUTE_GATE_LUFS]
    if values.size == 0:
        return None
    mean = 10.0 * np.log10(np.mean(10.0 ** (values / 10.0)))
    values = np.sort(values[values >= mean + LRA_RELATIVE_GATE_LU])
    last = values.size - 1
    low = values[_matlab_round(last * LRA_LOW_PERCENT / 100.0)]
    high = values[_matlab_round(last * LRA_HIGH_PERCENT / 100.0)]
    return float(high - low)


def correlation(data: np.ndarray, last_chunks: int | None = None) -> float | None:
    """Correlation of the first two channels, -1..1, over all chunks or the last few.

    Parameters
    ----------
    data : ndarray, shape (4, n_chunks)
        :attr:`ChunkHistory.data`.
    last_chunks : int, optional
        Only the most recent chunks (4 gives the 400 ms a live meter shows).

    Returns
    -------
    float or None
        None for mono, or when either channel is silent.
    """
    span = data if last_chunks is None else data[:, -last_chunks:]
    lr, ll, rr = (float(span[row].sum()) for row in (LR, LL, RR))
    if not (ll > 0.0 and rr > 0.0):
        return None
    return max(-1.0, min(1.0, lr / float(np.sqrt(ll * rr))))


BIN_LU = 0.01
"""Width of the running gates' loudness bins: what a block's gate decision may be off by."""
_LOW, _HIGH = ABSOLUTE_GATE_LUFS, 30.0


class RunningGates:
    """Integrated loudness, loudness range and correlation, kept as chunks arrive.

    A live meter reads these 30 times a second for as long as the daemon
    runs; computed from the whole history each time (as :func:`integrated_lufs`
    does), their cost grew with uptime (a core's eighth after an hour). Here
    each 400 ms block and each 3 s short-term value is added once, to sums and
    to histograms of :data:`BIN_LU` bins (as libebur128's histogram mode does),
    so a reading costs the same after ten hours as after ten seconds. The
    energies in each bin are summed exactly: only which side of a gate a value
    falls on, within a bin's width of it, can differ from the exact figures,
    and the percentiles of the range are read to a bin (0.01 LU).
    """

    def __init__(self, hop: int) -> None:
        self.hop = hop
        bins = round((_HIGH - _LOW) / BIN_LU) + 1
        self._recent = np.zeros(0)
        """The last chunks' energies (as many as the longest window needs)."""
        self._block_energy = np.zeros(bins)
        self._block_count = np.zeros(bins)
        self._short_energy = np.zeros(bins)
        self._short_count = np.zeros(bins)
        self._sums = np.zeros(3)  # L*R, L*L, R*R
        self._last = np.zeros((3, 0))
        """The last chunks' channel sums, for the live correlation."""

    def add(self, chunks: np.ndarray) -> None:
        """Take new chunks (rows as :attr:`ChunkHistory.data`), oldest first."""
        if chunks.shape[1] == 0:
            return
        energy = np.concatenate([self._recent, chunks[ENERGY]])
        new = chunks.shape[1]
        self._gate(energy, new, loudness.MOMENTARY_CHUNKS, self._block_energy,
                   self._block_count, strict=True)
        self._gate(energy, new, loudness.SHORT_TERM_CHUNKS, self._short_energy,
                   self._short_count, strict=False)
        self._recent = energy[-loudness.SHORT_TERM_CHUNKS:]
        self._sums += chunks[[LR, LL, RR]].sum(axis=1)
        self._last = np.concatenate([self._last, chunks[[LR, LL, RR]]],
                                    axis=1)[:, -loudness.MOMENTARY_CHUNKS:]

    def _gate(self, energy: np.ndarray, new: int, chunks: int, energies: np.ndarray,
              counts: np.ndarray, strict: bool) -> None:
        """Add the windows of ``chunks`` that end at the ``new`` last chunks of ``energy``."""
        windows = _window_energies(energy, chunks, self.hop)[-new:]
        if windows.size == 0:
            return
        lufs = _lufs(windows)
        kept = lufs > _LOW if strict else lufs >= _LOW
        index = np.clip(((lufs[kept] - _LOW) / BIN_LU).astype(np.int64), 0, energies.size - 1)
        np.add.at(energies, index, windows[kept])
        np.add.at(counts, index, 1.0)

    def integrated_lufs(self) -> float | None:
        """As :func:`integrated_lufs` on every chunk so far (to a bin's width at the gate)."""
        total = self._block_count.sum()
        if total == 0:
            return None
        relative = float(_lufs(self._block_energy.sum() / total)) + RELATIVE_GATE_LU
        first = self._first_bin_above(relative)
        count = self._block_count[first:].sum()
        return float(_lufs(self._block_energy[first:].sum() / count))

    def loudness_range_lu(self) -> float | None:
        """As :func:`loudness_range_lu` on every chunk so far (percentiles to 0.01 LU)."""
        total = self._short_count.sum()
        if total == 0:
            return None
        mean = float(_lufs(self._short_energy.sum() / total)) + LRA_RELATIVE_GATE_LU
        first = self._first_bin_above(mean)
        counts = self._short_count[first:]
        n = int(counts.sum())
        cumulative = np.cumsum(counts)
        last = n - 1

        def value(rank: int) -> float:
            k = int(np.searchsorted(cumulative, rank + 1))
            return _LOW + (first + k + 0.5) * BIN_LU

        low = value(_matlab_round(last * LRA_LOW_PERCENT / 100.0))
        high = value(_matlab_round(last * LRA_HIGH_PERCENT / 100.0))
        return float(high - low)

    def correlation(self, live: bool = False) -> float | None:
        """As :func:`correlation` over every chunk, or the last 400 ms with ``live``."""
        lr, ll, rr = self._last.sum(axis=1) if live else self._sums
        if not (ll > 0.0 and rr > 0.0):
            return None
        return max(-1.0, min(1.0, float(lr / np.sqrt(ll * rr))))

    def _first_bin_above(self, gate: float) -> int:
        """The first bin whose values are above ``gate``.

        The bin holding the gate counts as above it when its middle is.
        """
        return int(np.clip(np.ceil((gate - _LOW) / BIN_LU - 0.5), 0, self._block_count.size))

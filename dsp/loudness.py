"""BS.1770 loudness metering kernel: K-weighting, exact sliding windows, 100 ms energies.

Everything the audio thread must do per sample happens in :func:`process`, a
numba kernel that allocates nothing and keeps all of its memory in ONE
float64 state array made by :func:`prepare`:

- K-weighting of every channel (two biquads, :mod:`dsp.kweighting`) and the
  BS.1770 channel-weighted power ``p[t] = sum_i G_i * y_i[t]**2``;
- the energy of each 100 ms *chunk* (``hop = round(fs / 10)`` samples),
  written into a ring of :data:`CHUNK_RING` chunks together with the stereo
  products (L*R, L*L, R*R) for correlation. Gating blocks (400 ms every 100 ms)
  and the 10 Hz short-term values for LRA are sums of 4 and 30 consecutive
  chunks, so integrated loudness and LRA can be computed off the audio thread
  from a copy of these chunks (:mod:`dsp.gating`);
- momentary (400 ms) and short-term (3 s) loudness at *every* sample and their
  maxima. A 100 ms evaluation step misreads EBU Tech 3341 case 13 by about
  0.35 LU, so the windows slide per sample. They are not running sums (adding
  the new sample and subtracting the old one drifts, and never returns to zero
  after a loud passage); each window is ``suffix of the oldest chunk + whole
  chunks + prefix of the current chunk``, where the suffix is the oldest
  chunk's total minus its stored in-chunk prefix sum. Rounding therefore stays
  local to one chunk, and digital silence reads exactly zero;
- sample peak per channel.

Because every step is per sample and the filter memories are flushed of
near-denormals only at chunk boundaries (fixed sample positions), the numbers
do not depend on how the signal is cut into blocks: feeding 1 sample or 8192
at a time gives bit-identical state.
"""

from __future__ import annotations

import numpy as np

from dsp import kweighting
from dsp._jit import kernel
from dsp.errors import ParameterError
from dsp.smoothing import HEADER, write_header

LOUDNESS_OFFSET = -0.691
"""BS.1770 constant: cancels the K-weighting gain at 997 Hz."""
MOMENTARY_CHUNKS = 4
"""Momentary window and gating block: 4 chunks of 100 ms."""
SHORT_TERM_CHUNKS = 30
"""Short-term window: 30 chunks of 100 ms."""
CHUNK_RING = 1024
"""Chunks kept in the state's ring (102.4 s): how far an off-thread reader may lag."""
SCRATCH = 4096
"""Frames per internal pass; longer blocks are processed in pieces of this size."""
DENORMAL_FLOOR = 1e-30
"""Filter memories below this are set to zero at each chunk boundary."""

# Scalar slots after the shared header.
CHANNELS, HOP, RING_LEN = HEADER, HEADER + 1, HEADER + 2
SAMPLES, POS, CHUNK_POS, CHUNKS = HEADER + 3, HEADER + 4, HEADER + 5, HEADER + 6
ACC, ACC_LR, ACC_LL, ACC_RR = HEADER + 7, HEADER + 8, HEADER + 9, HEADER + 10
MID_M, MID_S, OLD_M, OLD_S = HEADER + 11, HEADER + 12, HEADER + 13, HEADER + 14
MAX_M, MAX_S, CUR_M, CUR_S = HEADER + 15, HEADER + 16, HEADER + 17, HEADER + 18
COEFS = HEADER + 19
"""Ten slots: shelf b0 b1 b2 a1 a2, then high-pass b0 b1 b2 a1 a2."""
FIXED = COEFS + 10
"""Start of the per-channel slots: weights, then sample peaks, then 4 filter memories each."""


def layout(channels: int, hop: int) -> dict[str, int]:
    """Return the offsets of the variable-size regions of a state array.

    Parameters
    ----------
    channels : int
    hop : int
        Samples per 100 ms chunk.

    Returns
    -------
    dict
        ``weights``, ``peaks``, ``filters``, ``chunks`` (four rings of
        :data:`CHUNK_RING`: energy, L*R, L*L, R*R), ``scratch``, ``ring``
        (in-chunk prefix sums over the last 3 s) and ``size``.
    """
    weights = FIXED
    peaks = weights + channels
    filters = peaks + channels
    chunks = filters + 4 * channels
    scratch = chunks + 4 * CHUNK_RING
    ring = scratch + SCRATCH
    size = ring + SHORT_TERM_CHUNKS * hop
    return {"weights": weights, "peaks": peaks, "filters": filters, "chunks": chunks,
            "scratch": scratch, "ring": ring, "size": size}


def prepare(sample_rate: float, channels: int, *, dual_mono: bool = False,
            weights: np.ndarray | None = None) -> np.ndarray:
    """Allocate a meter state for ``channels`` channels at ``sample_rate``. Off the audio thread.

    Parameters
    ----------
    sample_rate : float
        Hz (8 kHz to 768 kHz).
    channels : int
    dual_mono : bool
        Mono only: weight the channel 2.0, as if played on two speakers (+3.01 dB).
    weights : ndarray, shape (channels,), optional
        Explicit BS.1770 channel weights; default from :func:`dsp.kweighting.channel_weights`.

    Returns
    -------
    ndarray, float64, 1-D
        About ``24 * sample_rate`` bytes (the 3 s prefix ring dominates).
    """
    rate = kweighting.check_rate(sample_rate)
    if weights is None:
        gains = kweighting.channel_weights(channels, dual_mono=dual_mono)
    else:
        gains = np.asarray(weights, dtype=np.float64).reshape(-1)
        if gains.size != channels or not np.all(np.isfinite(gains)) or np.any(gains < 0):
            raise ParameterError(
                f"weights must be {channels} finite values >= 0, got {weights!r}"
            )
    hop = round(rate / 10.0)
    where = layout(channels, hop)
    state = np.zeros(where["size"], dtype=np.float64)
    write_header(state, rate)
    state[CHANNELS] = channels
    state[HOP] = hop
    state[RING_LEN] = SHORT_TERM_CHUNKS * hop
    state[COEFS:COEFS + 10] = kweighting.coefficients(rate).reshape(-1)
    state[where["weights"]:where["weights"] + channels] = gains
    return state


@kernel
def reset(state: np.ndarray) -> None:
    """Forget everything measured; keep rate, channel weights and coefficients.

    Compiled, so the audio callback can reset a meter it owns (a new song).
    """
    channels = int(state[CHANNELS])
    state[SAMPLES:COEFS] = 0.0
    state[FIXED + channels:] = 0.0


def hop_samples(state: np.ndarray) -> int:
    """Samples per 100 ms chunk for this state."""
    return int(state[HOP])


def _loudness(energy_sum: float, samples: int) -> float | None:
    if not energy_sum > 0.0:
        return None
    return LOUDNESS_OFFSET + 10.0 * float(np.log10(energy_sum / samples))


def momentary_lufs(state: np.ndarray) -> float | None:
    """Momentary loudness (400 ms) ending at the last sample fed; None for silence."""
    return _loudness(state[CUR_M], MOMENTARY_CHUNKS * hop_samples(state))


def short_term_lufs(state: np.ndarray) -> float | None:
    """Short-term loudness (3 s) ending at the last sample fed; None for silence."""
    return _loudness(state[CUR_S], SHORT_TERM_CHUNKS * hop_samples(state))


def momentary_max_lufs(state: np.ndarray) -> float | None:
    """Largest momentary loudness at any sample so far; None if all silent."""
    return _loudness(state[MAX_M], MOMENTARY_CHUNKS * hop_samples(state))


def short_term_max_lufs(state: np.ndarray) -> float | None:
    """Largest short-term loudness at any sample so far; None if all silent."""
    return _loudness(state[MAX_S], SHORT_TERM_CHUNKS * hop_samples(state))


def sample_peaks(state: np.ndarray) -> np.ndarray:
    """Largest absolute sample of each channel so far (linear), a copy."""
    channels = int(state[CHANNELS])
    start = FIXED + channels
    return state[start:start + channels].copy()


@kernel
def _filter_channel(x, c, n, state, filters, scratch, weight, first, to_boundary,
                    hop):  # pragma: no cover
    """K-weight channel ``c`` of ``x[:n]``, add its weighted power into the scratch."""
    sb0, sb1, sb2, sa1, sa2 = (state[COEFS], state[COEFS + 1], state[COEFS + 2],
                               state[COEFS + 3], state[COEFS + 4])
    hb0, hb1, hb2, ha1, ha2 = (state[COEFS + 5], state[COEFS + 6], state[COEFS + 7],
                               state[COEFS + 8], state[COEFS + 9])
    z = filters + 4 * c
    s1, s2, h1, h2 = state[z], state[z + 1], state[z + 2], state[z + 3]
    peak = state[FIXED + int(state[CHANNELS]) + c]
    left = to_boundary
    for i in range(n):
        v = x[i, c]
        a = abs(v)
        if a > peak:
            peak = a
        y = sb0 * v + s1  # transposed direct form II: shelf, then high-pass
        s1 = sb1 * v - sa1 * y + s2
        s2 = sb2 * v - sa2 * y
        w = hb0 * y + h1
        h1 = hb1 * y - ha1 * w + h2
        h2 = hb2 * y - ha2 * w
        if first:
            state[scratch + i] = weight * (w * w)
        else:
            state[scratch + i] += weight * (w * w)
        left -= 1
        if left == 0:  # a chunk ends here: flush near-denormal memories at a fixed position
            left = hop
            if abs(s1) < DENORMAL_FLOOR:
                s1 = 0.0
            if abs(s2) < DENORMAL_FLOOR:
                s2 = 0.0
            if abs(h1) < DENORMAL_FLOOR:
                h1 = 0.0
            if abs(h2) < DENORMAL_FLOOR:
                h2 = 0.0
    state[z], state[z + 1], state[z + 2], state[z + 3] = s1, s2, h1, h2
    state[FIXED + int(state[CHANNELS]) + c] = peak


@kernel
def _chunk_sums(state, chunks, done):  # pragma: no cover
    """Load the window constants for the chunk that starts after ``done`` complete chunks."""
    f = chunks
    state[OLD_M] = state[f + (done - MOMENTARY_CHUNKS) % CHUNK_RING]
    mid = 0.0
    for k in range(MOMENTARY_CHUNKS - 1, 0, -1):
        mid += state[f + (done - k) % CHUNK_RING]
    state[MID_M] = mid
    state[OLD_S] = state[f + (done - SHORT_TERM_CHUNKS) % CHUNK_RING]
    mid = 0.0
    for k in range(SHORT_TERM_CHUNKS - 1, 0, -1):
        mid += state[f + (done - k) % CHUNK_RING]
    state[MID_S] = mid


@kernel
def _windows(x, n, state, chunks, scratch, ring):  # pragma: no cover
    """Slide the 400 ms and 3 s windows over the scratch powers; close finished chunks."""
    hop = int(state[HOP])
    length = int(state[RING_LEN])
    stereo = int(state[CHANNELS]) >= 2
    pos = int(state[POS])
    pos_m = pos - MOMENTARY_CHUNKS * hop
    if pos_m < 0:
        pos_m += length
    r = int(state[CHUNK_POS])
    acc, lr, ll, rr = state[ACC], state[ACC_LR], state[ACC_LL], state[ACC_RR]
    mid_m, mid_s, old_m, old_s = state[MID_M], state[MID_S], state[OLD_M], state[OLD_S]
    max_m, max_s = state[MAX_M], state[MAX_S]
    sum_m, sum_s = state[CUR_M], state[CUR_S]
    for i in range(n):
        acc += state[scratch + i]
        prefix_s = state[ring + pos]  # this chunk position, 3 s ago
        state[ring + pos] = acc
        prefix_m = state[ring + pos_m]  # this chunk position, 400 ms ago
        sum_m = (old_m - prefix_m) + mid_m + acc
        sum_s = (old_s - prefix_s) + mid_s + acc
        if sum_m > max_m:
            max_m = sum_m
        if sum_s > max_s:
            max_s = sum_s
        if stereo:
            left, right = x[i, 0], x[i, 1]
            lr += left * right
            ll += left * left
            rr += right * right
        pos += 1
        if pos == length:
            pos = 0
        pos_m += 1
        if pos_m == length:
            pos_m = 0
        r += 1
        if r == hop:
            done = int(state[CHUNKS])
            slot = done % CHUNK_RING
            state[chunks + slot] = acc
            state[chunks + CHUNK_RING + slot] = lr
            state[chunks + 2 * CHUNK_RING + slot] = ll
            state[chunks + 3 * CHUNK_RING + slot] = rr
            state[CHUNKS] = done + 1
            _chunk_sums(state, chunks, done + 1)
            mid_m, mid_s, old_m, old_s = state[MID_M], state[MID_S], state[OLD_M], state[OLD_S]
            acc = lr = ll = rr = 0.0
            r = 0
    state[POS] = pos
    state[CHUNK_POS] = r
    state[ACC], state[ACC_LR], state[ACC_LL], state[ACC_RR] = acc, lr, ll, rr
    state[MAX_M], state[MAX_S] = max_m, max_s
    state[CUR_M], state[CUR_S] = sum_m, sum_s
    state[SAMPLES] += n


@kernel
def process(x, state):  # pragma: no cover
    """Meter one block. Allocates nothing; safe for the audio callback.

    Parameters
    ----------
    x : ndarray, float64, shape (n, channels)
        The block, read only. Any ``n`` (0 included); results do not depend
        on how a signal is cut into blocks.
    state : ndarray
        From :func:`prepare`; updated in place.

    Notes
    -----
    The chunk ring holds :data:`CHUNK_RING` chunks: whoever reads it for
    gating (:class:`dsp.gating.ChunkHistory`) must do so before that many
    new chunks (102.4 s) have been written.
    """
    channels = int(state[CHANNELS])
    hop = int(state[HOP])
    weights = FIXED
    filters = FIXED + 2 * channels
    chunks = filters + 4 * channels
    scratch = chunks + 4 * CHUNK_RING
    ring = scratch + SCRATCH
    total = x.shape[0]
    start = 0
    while start < total:
        n = min(SCRATCH, total - start)
        part = x[start:start + n]
        to_boundary = hop - int(state[CHUNK_POS])
        for c in range(channels):
            _filter_channel(part, c, n, state, filters, scratch, state[weights + c], c == 0,
                            to_boundary, hop)
        _windows(part, n, state, chunks, scratch, ring)
        start += n

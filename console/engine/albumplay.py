"""The album timeline in the audio callback: each song through a chain of its own, placed.

The control side hands the callback an *album index*
(:class:`console.engine.timeline.Timeline`): one int64 row per song with the
addresses of its audio, its settings, automation and level plan (the
arrays :func:`console.offline.session_render.prepare` builds for a render),
where it starts on the album timeline and how long it overlaps the song
before it. Positions on the album timeline are *output* positions: sample
``t`` of the album is what the speakers play at ``t``.

A song's chain has a latency of ``L`` samples, so the song's chain starts
``L`` samples before the song is heard (fed from the song's first sample,
its first ``L`` outputs discarded as a render discards them) and runs ``L``
samples past the song's last input sample (fed silence, as a render flushes
the chain). Two songs' chains therefore run side by side wherever the album
has less than ``L`` of silence between them, and through every crossfade:
the callback keeps two *voices*, each a whole chain state. The *main* voice
plays the song that started last; when the next song's chain starts, the
main voice's state is copied to the *second* voice, which plays the outgoing
song to its end, and the main voice starts afresh (a copy of a chain that
never ran) for the incoming song. So each song is mastered exactly as a
render masters it, from a fresh chain at its first sample, and the album is
those masters placed and mixed: sample for sample what ``render --album``
writes.

These kernels do not touch the transport (``ctl``/``rt``): the callback
calls them with the rows and positions it decided.
"""

from __future__ import annotations

import numpy as np
from numba import carray

from console.engine.rtintrinsics import as_voidptr
from dsp import automation
from dsp._jit import kernel as _dsp_kernel

(COL_AUDIO, COL_FRAMES, COL_START, COL_CROSSFADE, COL_VALUES, COL_CURRENT, COL_CTL,
 COL_LANES, COL_LANES_SIZE, COL_GAINS, COL_SERIAL) = range(11)
COLS = 11
"""Album index columns: the song's float32 audio (address) and its frames; its first
sample on the album timeline; its overlap with the song before; the addresses of its
settings (``values``), the chain's ``current`` at its start, the automation kernel's
``ctl``, its lanes (and their length), its crossfade gains ((crossfade, 2): outgoing,
incoming); and a serial that names this song in this index (a voice compares it to
know whether it still plays the same thing after the index changed)."""
NO_CHANGE = 1 << 40
"""What :func:`next_change` returns when nothing changes again."""


def kernel(*args, **options):
    """A kernel with numba's reference counting, for ``carray`` views of the index's pointers."""
    return _dsp_kernel(*args, _nrt=True, **options)


@kernel
def length(index: np.ndarray) -> float:
    """The album timeline's length in samples: where its last song ends."""
    songs = index.shape[0]
    if songs == 0:
        return 0.0
    return float(index[songs - 1, COL_START] + index[songs - 1, COL_FRAMES])


@kernel
def rows_at(index: np.ndarray, t: float, latency: int) -> tuple:
    """The songs whose chains run at album position ``t``: (main, second), -1 for none.

    A song's chain runs from ``latency`` samples before its start to its end.
    The main voice has the latest of them; the second the one before, while
    it is still running.
    """
    main = -1
    for r in range(index.shape[0]):
        start = index[r, COL_START]
        if start - latency <= t < start + index[r, COL_FRAMES]:
            main = r
    second = -1
    if main > 0:
        before = main - 1
        if t < index[before, COL_START] + index[before, COL_FRAMES]:
            second = before
    return main, second


@kernel
def next_change(index: np.ndarray, t: float, latency: int) -> int:
    """Samples from ``t`` to the next position where a song's chain starts or stops (>= 1)."""
    nearest = NO_CHANGE
    for r in range(index.shape[0]):
        start = index[r, COL_START]
        for edge in (start - latency, start + index[r, COL_FRAMES]):
            if edge > t:
                nearest = min(nearest, int(edge - t))
    return max(nearest, 1)


@kernel
def _copy(source: np.ndarray, into: np.ndarray, count: int) -> None:
    """The first ``count`` values of ``source`` into ``into``.

    A loop: slice assignment compiles numba's shape checks, seconds of the cold compile.
    """
    for i in range(count):
        into[i] = source[i]


@kernel
def reset_voice(index: np.ndarray, row: int, fresh: np.ndarray, pack: np.ndarray,
                current: np.ndarray, target: np.ndarray, st: np.ndarray) -> None:
    """Start a voice on song ``row`` as a render starts it: a fresh chain at its settings.

    The automation state is forgotten but for its record ring's count (the
    control side drains the main voice's ring by that count).
    """
    _copy(fresh, pack, pack.shape[0])
    params = current.shape[0]
    _copy(carray(as_voidptr(index[row, COL_CURRENT]), (params,), np.float64), current, params)
    _copy(carray(as_voidptr(index[row, COL_VALUES]), (params,), np.float64), target, params)
    ring_count = st[automation.S_RING_COUNT]
    for i in range(automation.S_RING):
        st[i] = 0.0
    st[automation.S_RING_COUNT] = ring_count
    st[automation.S_LAST_POS] = -1e18  # as automation.reset leaves it: every mode M_DESK (0)
    st[automation.S_FORCE] = 1.0


@kernel
def hand_over(pack: np.ndarray, current: np.ndarray, target: np.ndarray, st: np.ndarray,
              pack2: np.ndarray, current2: np.ndarray, target2: np.ndarray,
              st2: np.ndarray) -> None:
    """Move the main voice's song to the second voice: its whole state, copied."""
    _copy(pack, pack2, pack.shape[0])
    _copy(current, current2, current.shape[0])
    _copy(target, target2, target.shape[0])
    _copy(st, st2, automation.S_RING)


@kernel
def feed(x: np.ndarray, pos: np.ndarray, m: int, t: float, index: np.ndarray, row: int,
         latency: int) -> None:
    """The input of song ``row``'s chain for album positions ``t .. t+m``, and its positions.

    The chain is ``latency`` ahead of the album: at ``t`` it takes the song's
    sample ``t - start + latency``; past the song's end, silence (the chain's
    tail flushing out).
    """
    frames = index[row, COL_FRAMES]
    audio = carray(as_voidptr(index[row, COL_AUDIO]), (max(frames, 1), 2), np.float32)
    at = t - index[row, COL_START] + latency
    for i in range(m):
        p = at + i
        pos[i] = p
        k = int(p)
        if 0 <= k < frames:
            x[i, 0] = audio[k, 0]
            x[i, 1] = audio[k, 1]
        else:
            x[i, 0] = 0.0
            x[i, 1] = 0.0


@kernel
def song_gain(index: np.ndarray, row: int, t: float) -> float:
    """How much of song ``row`` the album has at ``t``: 0 outside it, its crossfades' gains."""
    start = float(index[row, COL_START])
    if t < start or t >= start + index[row, COL_FRAMES]:
        return 0.0
    crossfade = index[row, COL_CROSSFADE]
    if t - start < crossfade:
        gains = carray(as_voidptr(index[row, COL_GAINS]), (crossfade, 2), np.float64)
        return gains[int(t - start), 1]
    if row + 1 < index.shape[0]:
        following = index[row + 1, COL_CROSSFADE]
        next_start = float(index[row + 1, COL_START])
        if following > 0 and t >= next_start:
            gains = carray(as_voidptr(index[row + 1, COL_GAINS]), (following, 2), np.float64)
            return gains[int(t - next_start), 0]
    return 1.0


@kernel
def mix(work: np.ndarray, work2: np.ndarray, dry: np.ndarray, fades: np.ndarray, m: int,
        t: float, index: np.ndarray, main: int, second: int) -> None:
    """Place the voices' masters on the album (into ``work``) and the songs as they are (``dry``).

    Each song at its gain on the album (0 while its chain primes, the
    equal-power gains through a crossfade), then the transport's fade.
    """
    for i in range(m):
        at = t + i
        left = 0.0
        right = 0.0
        dry_left = 0.0
        dry_right = 0.0
        for v in range(2):
            row = main if v == 0 else second
            if row < 0:
                continue
            g = song_gain(index, row, at)
            if g == 0.0:
                continue
            if v == 0:
                left += work[i, 0] * g
                right += work[i, 1] * g
            else:
                left += work2[i, 0] * g
                right += work2[i, 1] * g
            frames = index[row, COL_FRAMES]
            audio = carray(as_voidptr(index[row, COL_AUDIO]), (frames, 2), np.float32)
            k = int(at - index[row, COL_START])
            dry_left += audio[k, 0] * g
            dry_right += audio[k, 1] * g
        f = fades[i]
        work[i, 0] = left * f
        work[i, 1] = right * f
        dry[i, 0] = dry_left * f
        dry[i, 1] = dry_right * f


@kernel
def song_arrays(index: np.ndarray, row: int, params: int, ctl_size: int) -> tuple:
    """Song ``row``'s own settings, automation control and lanes, as the callback reads them."""
    values = carray(as_voidptr(index[row, COL_VALUES]), (params,), np.float64)
    ctl = carray(as_voidptr(index[row, COL_CTL]), (ctl_size,), np.float64)
    lanes = carray(as_voidptr(index[row, COL_LANES]), (index[row, COL_LANES_SIZE],), np.float64)
    return values, ctl, lanes


@kernel
def silence(work: np.ndarray, dry: np.ndarray, start: int, stop: int) -> None:
    """Samples ``start .. stop`` of the master and the unprocessed signal: silent."""
    for i in range(start, stop):
        for c in range(2):
            work[i, c] = 0.0
            dry[i, c] = 0.0

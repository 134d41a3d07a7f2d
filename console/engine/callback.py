"""The audio callback: a numba ``@cfunc`` that PortAudio calls, with no Python in it.

PortAudio hands the callback one ``void* userdata``: the address of the
engine's *table*, an int64 array of (address, length) rows, one per
preallocated array (parameters, stage states, meters, the songs). Inside,
:func:`numba.carray` views each row as an array, so the callback touches only
memory the engine allocated before the stream started. It never allocates,
locks, raises, logs or touches a file.

Control-side requests arrive in ``ctl`` (written only by the engine's Python
side); the callback's own state and status go to ``rt`` (written only by the
callback). A song or reference is swapped by writing its spare slot in the
table and then flipping ``ctl[C_SONG_SLOT]``; the callback acknowledges the
slot it plays in ``rt[R_SONG_SLOT]``, and the engine frees the old buffer
only after that.

Per block, the callback:

1. sets FTZ/DAZ and counts under/overflows from PortAudio's status flags;
2. fills the work buffer from the song (with transport fades, locate, loop)
   or from the live input, and the reference buffer from the reference;
3. keeps a copy of the unprocessed signal, runs the mastering chain on the
   work buffer with automation played from the lanes at each sample's song
   position (:mod:`dsp.automation`; the lanes are double-buffered like the
   songs: ``ctl[C_AUTO_SLOT]`` flipped, ``rt[R_AUTO_SLOT]`` acknowledged),
   and delays the copy by the chain's latency so bypass is time-aligned
   with the master;
4. meters the master (loudness, true peak) and the unprocessed signal
   (loudness, for matching);
5. crossfades (10 ms) between master, bypass and reference with their
   loudness-matching gains, plays the mix through the translation check
   (:mod:`dsp.translation`: mono, a phone ...; monitor only), clips, gates
   what is below -200 dBFS to zero, and writes float32 to the device;
6. copies what it sent into the output ring (``T_ROOM_RING``) with a record
   of the transport's position (``T_ROOM_INDEX``), for the listening room
   (:mod:`console.room.ring` reads it; nothing else of the room runs here).
"""

from __future__ import annotations

import math

import numpy as np
from numba import carray, cfunc, types

from console.engine import albumplay
from console.engine.rtintrinsics import as_voidptr, flush_denormals, monotonic_ns
from dsp import automation, loudness, player_limiter, translation, truepeak
from dsp._jit import kernel as _dsp_kernel
from dsp.dither import OUTPUT_FLOOR


def kernel(*args, **options):
    """A kernel with numba's reference counting, for ``carray`` views of PortAudio's pointers.

    The DSP kernels the callback calls run without it.
    """
    return _dsp_kernel(*args, _nrt=True, **options)


# table rows: (address, length); 2-D arrays are (length, 2)
(T_CTL, T_RT, T_VALUES, T_CURRENT, T_IO, T_EQ, T_COMP, T_EXCITER, T_STEREO, T_LIMITER,
 T_TAPS, T_WORK, T_DRY, T_REFBUF, T_DELAY, T_METER_OUT, T_PEAK_OUT, T_METER_DRY,
 T_TIMES, T_SONG0, T_SONG1, T_REF0, T_REF1, T_TARGET, T_AUTO_CTL, T_AUTO_ST, T_POSBUF,
 T_LANES0, T_LANES1, T_ALBUM0, T_ALBUM1, T_PACK, T_FRESH, T_PACK2, T_CURRENT2, T_TARGET2,
 T_AUTO_ST2, T_WORK2, T_POSBUF2, T_FADES, T_TRANSLATION, T_MONITOR, T_PLAYER,
 T_ROOM_RING, T_ROOM_INDEX) = range(45)
TABLE_ROWS = 45

# ctl: written by the engine (control side) only
(C_PLAY, C_LOOP, C_LOOP_START, C_LOOP_END, C_LOCATE_SEQ, C_LOCATE_TO, C_SOURCE,
 C_REF_FOLLOW, C_GAIN_MASTER, C_GAIN_DRY, C_GAIN_REF, C_SONG_SLOT, C_REF_SLOT, C_LIVE,
 C_METER_RESET_SEQ, C_AUTO_SLOT, C_REF_HOLD, C_ALBUM, C_ALBUM_SLOT, C_ALBUM_FOCUS,
 C_LATENCY, C_TRANSLATION, C_PLAYER_LIMIT) = range(23)
CTL_SIZE = 23
SOURCE_MASTER, SOURCE_BYPASS, SOURCE_REFERENCE = 0, 1, 2

# rt: written by the callback only
(R_POSITION, R_REF_POSITION, R_FADE, R_PLAYING, R_ENDED, R_LOCATE_DONE, R_CALLBACKS,
 R_XRUNS, R_FRAMES, R_W_MASTER, R_W_DRY, R_W_REF, R_G_MASTER, R_G_DRY, R_G_REF,
 R_DELAY_POS, R_SONG_SLOT, R_REF_SLOT, R_STEP, R_POLE, R_LAST_FRAMES, R_METER_RESET_DONE,
 R_TIME_INDEX, R_OUT_PEAK, R_AUTO_SLOT, R_REF_FADE, R_XF_LEFT, R_XF_LEN, R_XF_TAIL,
 R_ALBUM, R_ALBUM_SLOT, R_ALBUM_FOCUS, R_MAIN_ROW, R_MAIN_SERIAL, R_SECOND_ROW, R_SECOND_SERIAL,
 R_WRAP, R_MAIN_PRIME, R_SECOND_PRIME) = range(39)
RT_SIZE = 39

TIME_RING = 4096
"""Callback durations kept (ns), for the load percentiles."""

# the output ring (the listening room reads it): ``T_ROOM_RING`` is float32 (frames, 2),
# ``T_ROOM_INDEX`` float64: two counters, then one record per block written
ROOM_RING_FRAMES = 1 << 17
"""Frames of output the ring holds (2.7 s at 48 kHz): a reader may lag this far behind."""
(I_FRAMES, I_RECORDS) = range(2)
"""``T_ROOM_INDEX``: frames written so far (published after the frames), records so far."""
ROOM_INDEX_HEAD = 2
(RC_FRAME_END, RC_POSITION, RC_PLAYING, RC_ALBUM) = range(4)
"""A block's record: the frame count at its end, the transport's position then (samples of
the song, or of the album in album mode), whether the transport played, album mode."""
ROOM_RECORD = 4
ROOM_RECORDS = 8192
"""Block records kept (43 s of 256-frame blocks at 48 kHz)."""
_STATUS_XRUN = 0x1 | 0x2 | 0x4 | 0x8  # input under/overflow, output under/overflow


@kernel
def _play_song(work, n, song, ctl, rt, posbuf):
    """Fill ``work[:n]`` from the song with the transport's fades, locate and loop.

    ``posbuf[i]`` gets the song position of each sample (automation reads it).

    A loop wraps with an equal-power crossfade as long as the transport's
    fades (10 ms, shorter only for a shorter loop): from the wrap on, the
    position is the loop start's (it is what ``posbuf`` reports and what the
    start fades in from), while the audio running past the loop end (the
    *tail*, at ``rt[R_XF_TAIL]``) fades out beside it. Past the song's end
    the tail is silence.
    """
    frames = song.shape[0]
    pos = rt[R_POSITION]
    fade = rt[R_FADE]
    step = rt[R_STEP]
    ended = rt[R_ENDED] > 0.5
    xf_left = rt[R_XF_LEFT]
    xf_len = rt[R_XF_LEN]
    tail = rt[R_XF_TAIL]
    for i in range(n):
        pending = ctl[C_LOCATE_SEQ] != rt[R_LOCATE_DONE]
        if pending and fade <= 0.0:
            pos = min(max(ctl[C_LOCATE_TO], 0.0), float(frames))
            rt[R_LOCATE_DONE] = ctl[C_LOCATE_SEQ]
            pending = False
            ended = False
            xf_left = 0.0
        want = ctl[C_PLAY] > 0.5 and not pending and not ended
        fade = min(fade + step, 1.0) if want else max(fade - step, 0.0)
        posbuf[i] = pos
        if fade > 0.0 and not ended:
            k = int(pos)
            left = 0.0
            right = 0.0
            if k < frames:
                left = song[k, 0]
                right = song[k, 1]
                pos += 1.0
            if xf_left > 0.0:
                theta = 0.5 * math.pi * (xf_len - xf_left + 1.0) / xf_len
                g_in = math.sin(theta)
                g_out = math.cos(theta)
                left *= g_in
                right *= g_in
                t = int(tail)
                if 0 <= t < frames:
                    left += g_out * song[t, 0]
                    right += g_out * song[t, 1]
                tail += 1.0
                xf_left -= 1.0
            work[i, 0] = left * fade
            work[i, 1] = right * fade
            start, end = ctl[C_LOOP_START], ctl[C_LOOP_END]
            if ctl[C_LOOP] > 0.5 and end > start and pos >= end:
                tail = pos
                pos = start
                xf_len = min(math.floor(1.0 / step + 0.5), end - start) if step > 0.0 else 0.0
                xf_left = xf_len
            elif pos >= frames:
                ended = True
                fade = 0.0
                xf_left = 0.0
        else:
            work[i, 0] = 0.0
            work[i, 1] = 0.0
    rt[R_POSITION] = pos
    rt[R_FADE] = fade
    rt[R_ENDED] = 1.0 if ended else 0.0
    rt[R_PLAYING] = 1.0 if fade > 0.0 else 0.0
    rt[R_XF_LEFT] = xf_left
    rt[R_XF_LEN] = xf_len
    rt[R_XF_TAIL] = tail


@kernel
def _album_jump(album_len, ctl, rt):
    """Make a locate (or a loop's wrap) asked for on the album, once the output is silent."""
    if rt[R_FADE] > 0.0:
        return
    if ctl[C_LOCATE_SEQ] != rt[R_LOCATE_DONE]:
        rt[R_POSITION] = min(max(ctl[C_LOCATE_TO], 0.0), album_len)
        rt[R_LOCATE_DONE] = ctl[C_LOCATE_SEQ]
        rt[R_ENDED] = 0.0
        rt[R_WRAP] = 0.0
    elif rt[R_WRAP] > 0.5:
        rt[R_POSITION] = min(max(ctl[C_LOOP_START], 0.0), album_len)
        rt[R_WRAP] = 0.0


@kernel
def _album_step(n, album_len, ctl, rt, fades):
    """Move the album's transport on by at most ``n`` samples, with its fades.

    Returns how many samples play (each one's transport fade in ``fades``),
    or minus how many are silent: stopped, or faded out for a locate or a
    loop's wrap, which :func:`_album_jump` then makes. A loop fades out to
    end at the loop's end and fades in from its start: the album's chains
    run on, so the two ends cannot be crossfaded at the input as one song's
    are.
    """
    t = rt[R_POSITION]
    fade = rt[R_FADE]
    step = rt[R_STEP]
    ended = rt[R_ENDED] > 0.5 or t >= album_len
    wrap = rt[R_WRAP] > 0.5
    start, end = ctl[C_LOOP_START], ctl[C_LOOP_END]
    limit = n
    if ctl[C_LOOP] > 0.5 and end > start and not wrap and not ended and step > 0.0:
        wrap_at = end - math.ceil(1.0 / step)
        if t >= wrap_at:
            wrap = True
        else:
            limit = min(limit, int(wrap_at - t))
    if not ended:
        limit = min(limit, int(album_len - t))
    pending = ctl[C_LOCATE_SEQ] != rt[R_LOCATE_DONE]
    want = ctl[C_PLAY] > 0.5 and not pending and not ended and not wrap
    if ended:
        fade = 0.0
    m = 0
    while m < limit:
        f = min(fade + step, 1.0) if want else max(fade - step, 0.0)
        if f <= 0.0:
            fade = 0.0
            break
        fade = f
        fades[m] = f
        m += 1
    t += m
    if t >= album_len:
        ended = True
        fade = 0.0
    rt[R_POSITION] = t
    rt[R_FADE] = fade
    rt[R_ENDED] = 1.0 if ended else 0.0
    rt[R_WRAP] = 1.0 if wrap else 0.0
    rt[R_PLAYING] = 1.0 if fade > 0.0 else 0.0
    if m > 0:
        return m
    return -1 if pending or wrap else -n


@kernel
def _assign(index, latency, rt, fresh, pack, current, target, st, pack2, current2, target2,
            st2):
    """Give the two voices the songs whose chains run at the album's position.

    A voice keeps its song (and its state) while the song's serial is the
    same; the main voice's song passes to the second voice when the next
    song's chain starts; any other song a voice is given starts afresh, and
    when that is not at the song's first input sample (a locate, a loop) it
    is *primed*: the run-block first runs its chain over the input of the
    ``latency`` samples before (output discarded), so that what is heard
    from its first sample on is the song, not the chain's empty delay lines.
    """
    t = rt[R_POSITION]
    main, second = albumplay.rows_at(index, t, latency)
    want_main = float(index[main, albumplay.COL_SERIAL]) if main >= 0 else -1.0
    want_second = float(index[second, albumplay.COL_SERIAL]) if second >= 0 else -1.0
    has_main, has_second = rt[R_MAIN_SERIAL], rt[R_SECOND_SERIAL]
    if want_second >= 0.0 and want_second != has_second:
        if want_second == has_main:
            albumplay.hand_over(pack, current, target, st, pack2, current2, target2, st2)
        else:
            albumplay.reset_voice(index, second, fresh, pack2, current2, target2, st2)
            rt[R_SECOND_PRIME] = min(latency, t - index[second, albumplay.COL_START] + latency)
    if want_main >= 0.0 and want_main != has_main:
        albumplay.reset_voice(index, main, fresh, pack, current, target, st)
        rt[R_MAIN_PRIME] = min(latency, t - index[main, albumplay.COL_START] + latency)
    rt[R_MAIN_ROW] = main
    rt[R_MAIN_SERIAL] = want_main
    rt[R_SECOND_ROW] = second
    rt[R_SECOND_SERIAL] = want_second


@kernel
def _play_reference(buf, n, ref, ctl, rt, moving):
    """Fill ``buf[:n]`` from the reference, at the song's position or its own.

    ``ctl[C_REF_HOLD]`` fades the reference out (10 ms) and keeps it silent,
    so that the engine can swap it while it is heard; ``rt[R_REF_FADE]`` is
    where that fade stands.
    """
    frames = ref.shape[0]
    pos = rt[R_POSITION] - n if ctl[C_REF_FOLLOW] > 0.5 else rt[R_REF_POSITION]
    step = rt[R_STEP]
    hold = ctl[C_REF_HOLD] > 0.5
    fade = rt[R_REF_FADE]
    for i in range(n):
        fade = max(fade - step, 0.0) if hold else min(fade + step, 1.0)
        k = int(pos) + i
        if 0 <= k < frames and frames > 1:
            buf[i, 0] = ref[k, 0] * fade
            buf[i, 1] = ref[k, 1] * fade
        else:
            buf[i, 0] = 0.0
            buf[i, 1] = 0.0
    rt[R_REF_FADE] = fade
    if ctl[C_REF_FOLLOW] <= 0.5 and moving:
        rt[R_REF_POSITION] = min(rt[R_REF_POSITION] + n, float(frames))


@kernel
def _delay(x, n, line, rt):
    """Delay ``x[:n]`` in place by the length of ``line`` (the chain's latency)."""
    size = line.shape[0]
    if size <= 1:
        return
    pos = int(rt[R_DELAY_POS])
    for i in range(n):
        for c in range(2):
            v = line[pos, c]
            line[pos, c] = x[i, c]
            x[i, c] = v
        pos += 1
        if pos == size:
            pos = 0
    rt[R_DELAY_POS] = pos


@kernel
def _mix_out(out, n, channels, work, dry, ref, ctl, rt, mon, check, player):
    """Crossfade master / bypass / reference with their gains into the device buffer.

    The mix goes through ``mon`` (a scratch block): the master at its gain
    first, through a streaming player's limiter when the platform preview
    has one (``ctl[C_PLAYER_LIMIT]``, state ``player``), then the other
    sources (scaled in place in ``dry``, which is not read after this), then
    the translation check (state ``check``, chosen by ``ctl[C_TRANSLATION]``).
    Samples below ``OUTPUT_FLOOR`` go out as exact zero: FTZ makes the
    float32 conversion flush in this thread, but the bypass and reference
    paths, the fades and the translation filters decay below the chain's
    gate, and the Python fallback callback runs without FTZ.
    """
    source = int(ctl[C_SOURCE])
    step, pole = rt[R_STEP], rt[R_POLE]
    wm, wd, wr = rt[R_W_MASTER], rt[R_W_DRY], rt[R_W_REF]
    gm, gd, gr = rt[R_G_MASTER], rt[R_G_DRY], rt[R_G_REF]
    tm, td, tr = ctl[C_GAIN_MASTER], ctl[C_GAIN_DRY], ctl[C_GAIN_REF]
    peak = 0.0
    for i in range(n):
        wm = min(wm + step, 1.0) if source == SOURCE_MASTER else max(wm - step, 0.0)
        wd = min(wd + step, 1.0) if source == SOURCE_BYPASS else max(wd - step, 0.0)
        wr = min(wr + step, 1.0) if source == SOURCE_REFERENCE else max(wr - step, 0.0)
        gm += (tm - gm) * pole
        gd += (td - gd) * pole
        gr += (tr - gr) * pole
        a, b, c = wm * gm, wd * gd, wr * gr
        for ch in range(2):
            mon[i, ch] = a * work[i, ch]
            dry[i, ch] = b * dry[i, ch] + c * ref[i, ch]
    player_limiter.process(mon, n, player, ctl[C_PLAYER_LIMIT] > 0.5)
    for i in range(n):
        for ch in range(2):
            v = mon[i, ch] + dry[i, ch]
            mon[i, ch] = v if math.isfinite(v) else 0.0
    translation.process(mon, n, check, int(ctl[C_TRANSLATION]))
    for i in range(n):
        for ch in range(2):
            v = mon[i, ch]
            if not math.isfinite(v):
                v = 0.0
            v = min(max(v, -1.0), 1.0)
            if abs(v) < OUTPUT_FLOOR:
                v = 0.0
            peak = max(peak, abs(v))
            out[i * channels + ch] = np.float32(v)
        for ch in range(2, channels):
            out[i * channels + ch] = np.float32(0.0)
    rt[R_W_MASTER], rt[R_W_DRY], rt[R_W_REF] = wm, wd, wr
    rt[R_G_MASTER], rt[R_G_DRY], rt[R_G_REF] = gm, gd, gr
    rt[R_OUT_PEAK] = max(rt[R_OUT_PEAK], peak)


@kernel
def _room_write(out, n, channels, ring, index, rt):
    """Copy the block sent to the device into the output ring, and record where it was.

    The frames go in first and the frame counter after them, so a reader
    that sees the counter sees the frames; it checks afterwards that the
    callback has not come round and overwritten what it copied.
    """
    size = ring.shape[0]
    records = (index.shape[0] - ROOM_INDEX_HEAD) // ROOM_RECORD
    if size < 2 or records < 1:
        return
    written = int(index[I_FRAMES])
    at = written % size
    for i in range(n):
        ring[at, 0] = out[i * channels]
        ring[at, 1] = out[i * channels + 1]
        at += 1
        if at == size:
            at = 0
    count = int(index[I_RECORDS])
    base = ROOM_INDEX_HEAD + (count % records) * ROOM_RECORD
    index[base + RC_FRAME_END] = written + n
    index[base + RC_POSITION] = rt[R_POSITION]
    index[base + RC_PLAYING] = rt[R_PLAYING]
    index[base + RC_ALBUM] = rt[R_ALBUM]
    index[I_RECORDS] = count + 1
    index[I_FRAMES] = written + n


@kernel(inline="always")
def _row(table, row):
    return as_voidptr(table[row, 0]), table[row, 1]


@kernel(inline="always")
def _part(at, pack, i):
    """Part ``i`` of a chain's pack (see :func:`dsp.chain._pack`) as an array of its own."""
    return carray(as_voidptr(at + 8 * int(pack[2 * i])), (int(pack[2 * i + 1]),), np.float64)


@kernel
def _album_arrays(table, slot):
    """The album index in ``slot``, the main voice's pack, a fresh pack, the album's buffers.

    Functions of their own, these views (and the second voice's) keep the
    block function small: the callback's compile copies its body whole.
    """
    ptr, size = _row(table, T_ALBUM0 + slot)
    index = carray(ptr, (size, albumplay.COLS), np.int64)
    ptr, size = _row(table, T_PACK)
    pack = carray(ptr, (size,), np.float64)
    fresh = carray(_row(table, T_FRESH)[0], (size,), np.float64)
    ptr, size = _row(table, T_WORK2)
    work2 = carray(ptr, (size, 2), np.float64)
    posbuf2 = carray(_row(table, T_POSBUF2)[0], (size,), np.float64)
    fades = carray(_row(table, T_FADES)[0], (size,), np.float64)
    return index, pack, fresh, work2, posbuf2, fades


@kernel
def _second_voice(table):
    """The album's second voice: its pack, the pack's parts, its current, target, automation."""
    at = table[T_PACK2, 0]
    pack = carray(as_voidptr(at), (table[T_PACK2, 1],), np.float64)
    ptr, size = _row(table, T_CURRENT2)
    current = carray(ptr, (size,), np.float64)
    target = carray(_row(table, T_TARGET2)[0], (size,), np.float64)
    ptr, size = _row(table, T_AUTO_ST2)
    st = carray(ptr, (size,), np.float64)
    return (pack, _part(at, pack, 0), _part(at, pack, 1), _part(at, pack, 2),
            _part(at, pack, 3), _part(at, pack, 4), _part(at, pack, 5), _part(at, pack, 6),
            current, target, st)


@kernel(inline="always")
def run_block(table, inp, out, frames, in_channels, out_channels, status):
    """Process ``frames`` frames: everything the callback does, callable for tests.

    ``inp`` and ``out`` are interleaved float32 views (``inp`` may be empty
    when the stream has no input). Inlined into the callback, whose compile
    then builds it once (as a function of its own it would be compiled, and
    its whole call tree linked and optimised, once more); called from Python
    (tests, the ``--python-callback`` route) it is compiled on first use.
    """
    flush_denormals()
    started = monotonic_ns()

    ctl = carray(_row(table, T_CTL)[0], (CTL_SIZE,), np.float64)
    rt = carray(_row(table, T_RT)[0], (RT_SIZE,), np.float64)
    ptr, size = _row(table, T_VALUES)
    values = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_CURRENT)
    current = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_IO)
    io = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_EQ)
    st_eq = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_COMP)
    st_comp = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_EXCITER)
    st_exc = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_STEREO)
    st_stereo = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_LIMITER)
    st_lim = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_TAPS)
    tap = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_WORK)
    work_all = carray(ptr, (size, 2), np.float64)
    dry_all = carray(_row(table, T_DRY)[0], (size, 2), np.float64)
    ref_all = carray(_row(table, T_REFBUF)[0], (size, 2), np.float64)
    ptr, size = _row(table, T_DELAY)
    line = carray(ptr, (size, 2), np.float64)
    ptr, size = _row(table, T_METER_OUT)
    meter_out = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_PEAK_OUT)
    peak_out = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_METER_DRY)
    meter_dry = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_TIMES)
    times = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_TARGET)
    target = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_AUTO_CTL)
    auto_ctl = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_AUTO_ST)
    auto_st = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_POSBUF)
    posbuf_all = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_TRANSLATION)
    st_check = carray(ptr, (size,), np.float64)
    ptr, size = _row(table, T_MONITOR)
    monitor_all = carray(ptr, (size, 2), np.float64)
    ptr, size = _row(table, T_PLAYER)
    st_player = carray(ptr, (size,), np.float64)

    slot = int(ctl[C_SONG_SLOT])
    if slot != int(rt[R_SONG_SLOT]):
        rt[R_SONG_SLOT] = slot
        rt[R_POSITION] = 0.0
        rt[R_ENDED] = 0.0
        rt[R_XF_LEFT] = 0.0
    ptr, size = _row(table, T_SONG0 + slot)
    song = carray(ptr, (size, 2), np.float32)
    ref_slot = int(ctl[C_REF_SLOT])
    if ref_slot != int(rt[R_REF_SLOT]):
        rt[R_REF_SLOT] = ref_slot
        rt[R_REF_POSITION] = 0.0
    ptr, size = _row(table, T_REF0 + ref_slot)
    ref = carray(ptr, (size, 2), np.float32)
    auto_slot = int(ctl[C_AUTO_SLOT])
    if auto_slot != int(rt[R_AUTO_SLOT]):
        rt[R_AUTO_SLOT] = auto_slot
        auto_st[automation.S_FORCE] = 1.0
    ptr, size = _row(table, T_LANES0 + auto_slot)
    lanes = carray(ptr, (size,), np.float64)

    if ctl[C_METER_RESET_SEQ] != rt[R_METER_RESET_DONE]:
        loudness.reset(meter_out)
        loudness.reset(meter_dry)
        truepeak.reset(peak_out)
        rt[R_METER_RESET_DONE] = ctl[C_METER_RESET_SEQ]

    album = ctl[C_ALBUM] > 0.5
    if album != (rt[R_ALBUM] > 0.5):  # into or out of album mode: the voices start afresh
        rt[R_ALBUM] = 1.0 if album else 0.0
        rt[R_MAIN_SERIAL] = -1.0
        rt[R_SECOND_SERIAL] = -1.0
        rt[R_MAIN_ROW] = -1.0
        rt[R_SECOND_ROW] = -1.0
    album_slot = int(ctl[C_ALBUM_SLOT])
    rt[R_ALBUM_SLOT] = album_slot
    focus = int(ctl[C_ALBUM_FOCUS])
    rt[R_ALBUM_FOCUS] = focus
    index, pack, fresh, work2_all, posbuf2_all, fades_all = _album_arrays(table, album_slot)
    (pack2, s_io, s_eq, s_comp, s_exc, s_stereo, s_lim, s_tap, current2, target2,
     auto_st2) = _second_voice(table)
    album_len = albumplay.length(index)
    latency = int(ctl[C_LATENCY])

    if status & _STATUS_XRUN:
        rt[R_XRUNS] += 1.0
    rt[R_CALLBACKS] += 1.0
    rt[R_LAST_FRAMES] = frames
    chunk_max = work_all.shape[0]
    from_song = album or not (ctl[C_LIVE] > 0.5 and in_channels > 0)
    done = 0
    while done < frames:
        n = min(chunk_max, frames - done)
        work = work_all[:n]
        dry = dry_all[:n]
        refb = ref_all[:n]
        seg = 0
        while seg < n:  # album: runs in which the same songs play; else the whole chunk
            m = n - seg
            voices = 1
            main = -1
            second = -1
            t = 0.0
            if album:
                _album_jump(album_len, ctl, rt)
                _assign(index, latency, rt, fresh, pack, current, target, auto_st, pack2,
                        current2, target2, auto_st2)
                t = rt[R_POSITION]
                m = _album_step(min(m, albumplay.next_change(index, t, latency)), album_len,
                                ctl, rt, fades_all[seg:])
                if m < 0:  # silent: stopped, or faded out before a jump
                    albumplay.silence(work, dry, seg, seg - m)
                    seg -= m
                    continue
                main = int(rt[R_MAIN_ROW])
                second = int(rt[R_SECOND_ROW])
                voices = 2
            elif not from_song:
                for i in range(n):
                    base = (done + i) * in_channels
                    work[i, 0] = inp[base]
                    work[i, 1] = inp[base + min(1, in_channels - 1)]
                    posbuf_all[i] = rt[R_POSITION]
            else:
                _play_song(work, n, song, ctl, rt, posbuf_all)
            if not album:
                for i in range(n):  # a loop: slice assignment compiles shape-error messages
                    dry[i, 0] = work[i, 0]
                    dry[i, 1] = work[i, 1]
            for k in range(2 * voices):  # one call site of the chain: it is inlined here
                v = k // 2  # each voice: its priming (album only, when due), then the run
                row = main if v == 0 else second
                if album and row < 0:
                    continue
                count = m
                at = t
                x = work_all[seg:seg + m] if v == 0 else work2_all[seg:seg + m]
                pos = posbuf_all[seg:seg + m] if v == 0 else posbuf2_all[seg:seg + m]
                if k % 2 == 0:
                    count = int(rt[R_MAIN_PRIME if v == 0 else R_SECOND_PRIME]) if album else 0
                    if count <= 0:
                        continue
                    rt[R_MAIN_PRIME if v == 0 else R_SECOND_PRIME] = 0.0
                    at = t - count
                    x = ref_all[:count]  # scratch: the reference is read after the chains
                    pos = posbuf2_all[:count] if v == 0 else posbuf_all[:count]
                if album:
                    albumplay.feed(x, pos, count, at, index, row, latency)
                vals, actl, lns = values, auto_ctl, lanes
                if album and row != focus:  # a song the desk is not on: its own settings
                    vals, actl, lns = albumplay.song_arrays(index, row, values.shape[0],
                                                            auto_ctl.shape[0])
                if v == 0:
                    tg, cur, stv = target, current, auto_st
                    p_io, p_eq, p_comp, p_exc = io, st_eq, st_comp, st_exc
                    p_stereo, p_lim, p_tap = st_stereo, st_lim, tap
                else:
                    tg, cur, stv = target2, current2, auto_st2
                    p_io, p_eq, p_comp, p_exc = s_io, s_eq, s_comp, s_exc
                    p_stereo, p_lim, p_tap = s_stereo, s_lim, s_tap
                automation.process(x, pos, from_song, vals, tg, cur, actl, lns, stv, p_io, p_eq,
                                   p_comp, p_exc, p_stereo, p_lim, p_tap)
            if album:
                albumplay.mix(work_all[seg:seg + m], work2_all[seg:seg + m],
                              dry_all[seg:seg + m], fades_all[seg:seg + m], m, t, index, main,
                              second)
            seg += m
        if not album:
            _delay(dry, n, line, rt)
        _play_reference(refb, n, ref, ctl, rt, not from_song or rt[R_PLAYING] > 0.5)
        loudness.process(work, meter_out)
        truepeak.process(work, peak_out)
        loudness.process(dry, meter_dry)
        _mix_out(out[done * out_channels:], n, out_channels, work, dry, refb, ctl, rt,
                 monitor_all[:n], st_check, st_player)
        done += n
    rt[R_FRAMES] += frames
    ptr, size = _row(table, T_ROOM_RING)
    room_ring = carray(ptr, (size, 2), np.float32)
    ptr, size = _row(table, T_ROOM_INDEX)
    _room_write(out, frames, out_channels, room_ring, carray(ptr, (size,), np.float64), rt)

    elapsed = monotonic_ns() - started
    k = int(rt[R_TIME_INDEX])
    times[k % times.shape[0]] = elapsed
    rt[R_TIME_INDEX] = k + 1


_SIGNATURE = types.int32(types.voidptr, types.voidptr, types.uint64, types.voidptr,
                         types.uint64, types.voidptr)


def _output_only(inp, outp, frames, time_info, status, userdata):
    table = carray(userdata, (TABLE_ROWS, 2), np.int64)
    out = carray(outp, (frames * 2,), np.float32)
    run_block(table, carray(outp, (0,), np.float32), out, np.int64(frames), 0, 2,
              np.int64(status))
    return 0


def _duplex(inp, outp, frames, time_info, status, userdata):
    table = carray(userdata, (TABLE_ROWS, 2), np.int64)
    out = carray(outp, (frames * 2,), np.float32)
    run_block(table, carray(inp, (frames * 2,), np.float32), out, np.int64(frames), 2, 2,
              np.int64(status))
    return 0


def build_callback(live_input: bool):
    """Compile (or load from numba's cache) the PortAudio callback.

    Stereo out, and stereo in when ``live_input``. Returns the numba cfunc;
    pass ``callback.address`` to PortAudio and keep the object alive for the
    stream's lifetime.
    """
    body = _duplex if live_input else _output_only
    return cfunc(_SIGNATURE, nopython=True, error_model="numpy", cache=True)(body)

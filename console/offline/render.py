"""Offline render: audio through the same kernel the live callback runs, to a file.

One loop (:func:`master`) serves a plain file (``masterdeck render IN OUT``),
a session's songs (:mod:`console.offline.session_render`) and its album
(:mod:`console.offline.album`): every block goes through
:func:`dsp.automation.process`, the chain with automation evaluated at each
sample's song position, exactly as the audio callback calls it. A file with
no automation is a song whose lanes are empty.

The output has exactly the input's length and timing: the chain's latency
(exciter and limiter lookahead) is skipped at the start and the tail is
flushed with silence at the end. Mono input is played on both channels.
Reduced bit depths are dithered per ``output.dither``, resting on digital
silence per ``output.dither_rest``; a float output has no subnormal sample
(:func:`dsp.dither.to_float32`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from console.offline.audiofile import atomic_writer, open_source, output_format, shortfall
from dsp import automation as K
from dsp import dither, taps, truepeak
from dsp import params as P
from dsp.chain import Chain

BLOCK = 8192
"""Frames per processing block offline (the result does not depend on it)."""

Reader = Callable[[np.ndarray], int]
"""Fills the start of a (block, 2) float64 buffer with input; returns frames filled (0: done)."""


@dataclass
class Mastering:
    """A chain set up for one song: its settings, automation lanes and level plan."""

    chain: Chain
    ctl: np.ndarray
    """The automation kernel's control array (:mod:`dsp.automation`)."""
    lanes: np.ndarray

    @classmethod
    def plain(cls, sample_rate: int, settings: Mapping[str, float]) -> Mastering:
        """The chain with ``settings`` set (no glide), no automation, no level offset."""
        chain = Chain(sample_rate)
        for param_id, value in settings.items():
            chain.set(param_id, value, glide=False)
        ctl = K.prepare_ctl()
        ctl[K.CTL_TRIM_REF:K.CTL_TRIM_REF + K.N] = chain.values
        ctl[K.CTL_LATENCY] = chain.latency
        return cls(chain, ctl, K.empty_lanes())


@dataclass
class Pass:
    """What one render pass measured on its way through."""

    frames: int = 0
    input_peak: float = 0.0
    output_peak: float = 0.0
    output_true_peak: float = 0.0
    max_comp_gr_db: float = 0.0
    max_limiter_gr_db: float = 0.0
    guard_trips: int = 0
    elapsed_s: float = 0.0


Take = Callable[[np.ndarray], None]
"""Receives each mastered block, in order, on the render's second thread; the block's
buffer is reused once it returns, so it copies what it keeps."""


def master(read: Reader, frames: int, mastering: Mastering, take: Take,
           progress: Callable[[float], None] | None = None, block: int = BLOCK) -> Pass:
    """Master ``frames`` frames that ``read`` supplies, handing the result to ``take``.

    ``take`` gets exactly ``frames`` frames in all, lined up with the input
    (the chain's latency skipped, its tail flushed with silence). The chain
    runs on this thread and nothing else does: a second thread reads each
    block before the chain needs it and hands each mastered block to
    ``take`` (every kernel releases the GIL, and so do libsndfile and
    numpy), in the order they were asked, so three buffers used in turn are
    never touched by both at once.
    """
    started = time.perf_counter()
    chain, ctl, lanes = mastering.chain, mastering.ctl, mastering.lanes
    ctl[K.CTL_END] = frames
    state = K.prepare_state()
    target = chain.values.copy()
    result = Pass(frames=frames)
    buffers = [np.zeros((block, 2)) for _ in range(3)]
    positions = np.zeros(block)
    skip = chain.latency
    total = frames + chain.latency

    def fill(buffer: np.ndarray, start: int) -> float:
        """Read the block at ``start`` into ``buffer``; return its input peak."""
        n = min(block, total - start)
        got = read(buffer[:min(n, max(frames - start, 0))]) if start < frames else 0
        buffer[got:n] = 0.0  # the source ran dry: flush the latency with silence
        return float(np.abs(buffer[:got]).max()) if got else 0.0

    def hand_over(kept: np.ndarray) -> None:
        if kept.shape[0]:
            take(kept)

    with ThreadPoolExecutor(1, "render-io") as io:
        jobs: list[Future] = []
        reading = io.submit(fill, buffers[0], 0) if total else None
        for k, start in enumerate(range(0, total, block)):
            buffer = buffers[k % 3]
            result.input_peak = max(result.input_peak, reading.result())
            if start + block < total:  # its buffer's last block is handed over before it is read
                reading = io.submit(fill, buffers[(k + 1) % 3], start + block)
            n = min(block, total - start)
            positions[:n] = np.arange(start, start + n, dtype=np.float64)
            K.process(buffer[:n], positions[:n], True, chain.values, target, chain.current, ctl,
                      lanes, state, chain.io, chain.eq, chain.comp, chain.exciter,
                      chain.stereo, chain.limiter, chain.taps)
            result.max_comp_gr_db = max(result.max_comp_gr_db, chain.taps[taps.COMP_GR_DB])
            result.max_limiter_gr_db = max(result.max_limiter_gr_db,
                                           chain.taps[taps.LIMITER_GR_DB])
            first = min(skip, n)
            skip -= first
            for job in [job for job in jobs if job.done()]:
                job.result()  # raises what ``take`` met (a full disk, say)
                jobs.remove(job)
            jobs.append(io.submit(hand_over, buffer[first:n]))
            if progress is not None:
                progress(min(1.0, (start + n) / total) if total else 1.0)
        for job in jobs:
            job.result()
    result.guard_trips = int(chain.taps[taps.GUARD_TRIPS])
    result.elapsed_s = time.perf_counter() - started
    return result


def master_to_file(read: Reader, frames: int, mastering: Mastering, dst: str | Path,
                   bit_depth: str, progress: Callable[[float], None] | None = None,
                   block: int = BLOCK) -> Pass:
    """Master ``frames`` frames that ``read`` supplies into ``dst``; what it measured.

    Each mastered block is metered, dithered and written on the second
    thread (:func:`master`). The file appears at ``dst`` only when every
    frame is written.
    """
    chain = mastering.chain
    rate = int(chain.sample_rate)
    with atomic_writer(dst, rate, 2, bit_depth) as sink:
        output = Output(sink, rate, bit_depth, int(chain.get("output.dither")), block,
                        chain.get("output.dither_rest") > 0.5)
        result = master(read, frames, mastering, output, progress, block)
    result.output_peak = output.peak
    result.output_true_peak = output.true_peak()
    return result


class Output:
    """The output side: meter, dither and write each mastered block, in order.

    Blocks may be of any length up to ``block`` frames. ``dither_rest``:
    digital silence stays exact zero in a 16- or 24-bit file
    (:func:`dsp.dither.quantize`).
    """

    def __init__(self, sink: object, rate: int, bit_depth: str, dither_mode: int,
                 block: int, dither_rest: bool = True) -> None:
        self.sink = sink
        self.meter = truepeak.prepare(rate, 2)
        self.bits = {"16": 16, "24": 24}.get(bit_depth, 0)
        self.mode = dither_mode
        self.rest = bool(dither_rest)
        self.errors, self.rng = dither.prepare(2)
        self.quantized = np.zeros((block, 2), dtype=np.int32)
        self.peak = 0.0

    def __call__(self, kept: np.ndarray) -> None:
        """Meter, dither and write one block."""
        if not kept.shape[0]:
            return
        truepeak.process(kept, self.meter)
        self.peak = max(self.peak, float(np.abs(kept).max()))
        if self.bits:
            q = self.quantized[:kept.shape[0]]
            dither.quantize(kept, q, self.bits, self.mode, self.errors, self.rng, self.rest)
            self.sink.write(q.astype(np.int16) if self.bits == 16 else q << 8)
        else:
            self.sink.write(dither.to_float32(kept))

    def true_peak(self) -> float:
        """The output's true peak so far (linear)."""
        return float(truepeak.channel_peaks(self.meter).max())


def db(linear: float) -> float | None:
    """``linear`` in dB, rounded to 3 decimals; None for silence."""
    return round(20.0 * math.log10(linear), 3) if linear > 0.0 else None


@dataclass
class RenderReport:
    """What a render did, for the summary line and ``--json``."""

    input: str
    output: str
    sample_rate: int
    input_channels: int
    frames: int
    duration_s: float
    bit_depth: str
    latency_samples: int
    elapsed_s: float
    speed_x_realtime: float
    input_peak_dbfs: float | None
    output_peak_dbfs: float | None
    output_true_peak_dbtp: float | None
    max_comp_gr_db: float
    max_limiter_gr_db: float
    guard_trips: int
    warning: str | None
    """What the input lacked (a truncated file, a header only), or None."""
    settings: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready data."""
        return asdict(self)


def render(
    src: str | Path,
    dst: str | Path,
    settings: Mapping[str, float] | None = None,
    bit_depth: str = "24",
    progress: Callable[[float], None] | None = None,
    block: int = BLOCK,
) -> RenderReport:
    """Render the file ``src`` through the chain to ``dst``; return a report.

    The file is read block by block as it is mastered, so a long file never
    has to fit in memory. Raises AudioFileError for unreadable or unwritable
    files and ParameterError for bad settings, before anything is written.
    """
    settings = dict(settings or {})
    output_format(dst, bit_depth)  # fail before any work if OUT cannot be written
    started = time.perf_counter()
    with open_source(src) as source:
        rate, frames, channels = source.samplerate, source.frames, source.channels
        mastering = Mastering.plain(rate, settings)

        def read(into: np.ndarray) -> int:
            got = source.read(into.shape[0], dtype="float64", always_2d=True)
            into[:got.shape[0]] = got  # a mono column broadcasts to both channels
            return got.shape[0]

        done = master_to_file(read, frames, mastering, dst, bit_depth, progress, block)
    elapsed = time.perf_counter() - started
    duration = frames / rate
    return RenderReport(
        input=str(src),
        output=str(dst),
        sample_rate=rate,
        input_channels=channels,
        frames=frames,
        duration_s=round(duration, 6),
        bit_depth=bit_depth,
        latency_samples=mastering.chain.latency,
        elapsed_s=round(elapsed, 3),
        speed_x_realtime=round(duration / elapsed, 1) if elapsed > 0 else 0.0,
        input_peak_dbfs=db(done.input_peak),
        output_peak_dbfs=db(done.output_peak),
        output_true_peak_dbtp=db(done.output_true_peak),
        max_comp_gr_db=round(float(done.max_comp_gr_db), 3),
        max_limiter_gr_db=round(float(done.max_limiter_gr_db), 3),
        guard_trips=done.guard_trips,
        warning=shortfall(src, frames),
        settings={k: v for k, v in settings.items() if v != P.get(k).default},
    )

"""Offline render: a file through the same chain the live console runs.

The output has exactly the input's length and timing: the chain's latency
(exciter and limiter lookahead) is skipped at the start and the tail is
flushed with silence at the end. Mono input is played on both channels.
Reduced bit depths are dithered per ``output.dither``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from console.offline.audiofile import atomic_writer, open_source, output_format
from dsp import dither, taps, truepeak
from dsp import params as P
from dsp.chain import Chain

BLOCK = 8192
"""Frames per processing block offline (the result does not depend on it)."""


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
    settings: dict[str, float]

    def as_dict(self) -> dict[str, object]:
        """The report as plain JSON-ready data."""
        return asdict(self)


def _db(linear: float) -> float | None:
    return round(20.0 * math.log10(linear), 3) if linear > 0.0 else None


def render(
    src: str | Path,
    dst: str | Path,
    settings: Mapping[str, float] | None = None,
    bit_depth: str = "24",
    progress: Callable[[float], None] | None = None,
    block: int = BLOCK,
) -> RenderReport:
    """Render ``src`` through the chain to ``dst``; return a report.

    Raises AudioFileError for unreadable or unwritable files and
    ParameterError for bad settings, before anything is written.
    """
    settings = dict(settings or {})
    output_format(dst, bit_depth)  # fail before any work if OUT cannot be written
    started = time.perf_counter()
    with open_source(src) as source:
        rate, frames, channels = source.samplerate, source.frames, source.channels
        chain = Chain(rate)
        for param_id, value in settings.items():
            chain.set(param_id, value, glide=False)
        meter = truepeak.prepare(rate, 2)
        bits = {"16": 16, "24": 24}.get(bit_depth, 0)
        mode = int(chain.get("output.dither"))
        errors, rng = dither.prepare(2)
        stats = {"in_peak": 0.0, "out_peak": 0.0, "comp": 0.0, "lim": 0.0}

        with atomic_writer(dst, rate, 2, bit_depth) as sink:
            skip = chain.latency
            written = 0
            buffer = np.zeros((block, 2))
            quantized = np.zeros((block, 2), dtype=np.int32)
            while written < frames:
                got = source.read(block, dtype="float64", always_2d=True)
                n = got.shape[0]
                if n == 0:  # the source ran dry: flush the latency with silence
                    n = min(block, frames - written + skip)
                    buffer[:n] = 0.0
                else:
                    buffer[:n] = got  # a mono column broadcasts to both channels
                stats["in_peak"] = max(stats["in_peak"], float(np.abs(buffer[:n]).max()))
                chain.process(buffer[:n])
                stats["comp"] = max(stats["comp"], chain.taps[taps.COMP_GR_DB])
                stats["lim"] = max(stats["lim"], chain.taps[taps.LIMITER_GR_DB])
                start = min(skip, n)
                skip -= start
                keep = min(n - start, frames - written)
                out = buffer[start:start + keep]
                if keep:
                    truepeak.process(out, meter)
                    stats["out_peak"] = max(stats["out_peak"], float(np.abs(out).max()))
                    if bits:
                        dither.quantize(out, quantized[:keep], bits, mode, errors, rng)
                        ints = quantized[:keep]
                        sink.write(ints.astype(np.int16) if bits == 16 else ints << 8)
                    else:
                        sink.write(out.astype(np.float32))
                written += keep
                if progress is not None:
                    progress(written / frames if frames else 1.0)
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
        latency_samples=chain.latency,
        elapsed_s=round(elapsed, 3),
        speed_x_realtime=round(duration / elapsed, 1) if elapsed > 0 else 0.0,
        input_peak_dbfs=_db(stats["in_peak"]),
        output_peak_dbfs=_db(stats["out_peak"]),
        output_true_peak_dbtp=_db(float(truepeak.channel_peaks(meter).max())),
        max_comp_gr_db=round(float(stats["comp"]), 3),
        max_limiter_gr_db=round(float(stats["lim"]), 3),
        guard_trips=int(chain.taps[taps.GUARD_TRIPS]),
        settings={k: v for k, v in settings.items() if v != P.get(k).default},
    )

"""The report's pictures, drawn with matplotlib's SVG backend as text to inline in the page.

Every chart is a bare :class:`matplotlib.figure.Figure` (never pyplot: no global
figure list, no GUI backend, safe in a worker process) saved as SVG with glyphs
as paths, so the page needs no font and makes no request. Charts carry song
*numbers*, never titles: titles are user data, and drawing them would put
text matplotlib may lack glyphs for (or read as ``$mathtext$``) into a
picture; the page names the songs in HTML beside each chart instead.

Each SVG's ids get a prefix of their own: ids are document-wide in HTML, and
matplotlib numbers them afresh in every file.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Sequence

import matplotlib
import numpy as np
from matplotlib.figure import Figure

MASTER = "#1f5fa8"
REFERENCE = "#c0602a"
GRID = "#d9d9d9"
CEILING_DBTP = -1.0
"""Drawn on the true-peak chart: the ceiling most platforms ask for."""

_ID = re.compile(r'( id="|href="#|url\(#)')
_RC = {
    "svg.fonttype": "path",
    "font.size": 8.0,
    "axes.edgecolor": "#888888",
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": GRID,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig: Figure, prefix: str, label: str) -> str:
    """The figure as an inline ``<svg>`` element (no XML prolog), labelled for screen readers.

    matplotlib numbers its ids per file (``axes_1``, ``DejaVuSans-41``, clip
    paths), so the many SVGs of one page would share them; ids live in one
    namespace per HTML document, so each SVG's ids and the references to them
    (``xlink:href="#..."`` or ``href="#..."``, ``url(#...)``) get ``prefix``.
    """
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": prefix}):
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") + len("<svg"):]
    text = _ID.sub(lambda m: f"{m.group(1)}{prefix}-", text)
    return f'<svg role="img" aria-label="{html.escape(label, quote=True)}"{text}'


def _figure(width_in: float, height_in: float, top_in: float = 0.12) -> Figure:
    """A figure with margins fixed in inches: the axes line up across the small multiples.

    Fixed margins, not matplotlib's constrained layout, which measures every
    label first and takes half of a chart's drawing time.
    """
    fig = Figure(figsize=(width_in, height_in))
    fig.subplots_adjust(left=0.62 / width_in, right=1.0 - 0.12 / width_in,
                        bottom=0.45 / height_in, top=1.0 - top_in / height_in, wspace=0.25)
    return fig


def _nan(values: Sequence[float | None]) -> np.ndarray:
    return np.array([math.nan if v is None else float(v) for v in values], dtype=float)


def _labels(values: np.ndarray, form: str) -> list[str]:
    """Bar labels with real minus signs, "silent" where there is no value."""
    return ["silent" if math.isnan(v) else form.format(v).replace("-", "\u2212") for v in values]


def _silent(ax, text: str = "silent") -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", color="#777777")


def arc_svg(songs: Sequence[dict], album_lufs: float | None) -> str:
    """The album arc: each song's integrated loudness in order, the step between songs in LU."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.6, 2.8)
        ax = fig.add_subplot()
        numbers = [song["number"] for song in songs]
        lufs = _nan([song["integrated_lufs"] for song in songs])
        peaks = _nan([song["max_short_term_lufs"] for song in songs])
        ax.plot(numbers, lufs, "o-", color=MASTER, label="integrated")
        ax.plot(numbers, peaks, "v", color=MASTER, alpha=0.45, label="max short-term")
        if album_lufs is not None:
            ax.axhline(album_lufs, color="#555555", linestyle=":", linewidth=1.0,
                       label=f"album {album_lufs:.1f} LUFS")
        for k, song in enumerate(songs):
            change = song.get("change_lu")
            if k and change is not None and not math.isnan(lufs[k]):
                ax.annotate(f"{change:+.1f} LU", (numbers[k], lufs[k]), xytext=(0, 9),
                            textcoords="offset points", ha="center", fontsize=7.5)
        if np.all(np.isnan(lufs)):
            _silent(ax, "no song has a measurable loudness")
        ax.set_xticks(numbers)
        ax.set_xlabel("song")
        ax.set_ylabel("LUFS")
        ax.margins(x=0.06, y=0.25)
        ax.legend(loc="lower left", fontsize=7, frameon=False, ncols=3)
        return _svg(fig, "arc", "Album arc: integrated loudness of each song in order")


def short_term_limits(songs: Sequence[dict]) -> tuple[float, float]:
    """One loudness range for every song's short-term chart, so the small multiples compare."""
    values = [v for song in songs for v in song["short_term_lufs"] if v is not None]
    if not values:
        return -40.0, 0.0
    top = math.ceil(max(values) + 1.0)
    return max(min(values) - 2.0, top - 40.0), top


def short_term_svg(song: dict, limits: tuple[float, float]) -> str:
    """Short-term loudness second by second for one song, its integrated loudness dashed."""
    with matplotlib.rc_context(_RC):
        fig = _figure(3.7, 1.9)
        ax = fig.add_subplot()
        curve = _nan(song["short_term_lufs"])
        ax.plot(np.arange(len(curve)), curve, color=MASTER, linewidth=1.0)
        if song["integrated_lufs"] is not None:
            ax.axhline(song["integrated_lufs"], color=MASTER, linestyle="--", linewidth=0.8)
        if not len(curve) or np.all(np.isnan(curve)):
            _silent(ax)
        ax.set_ylim(*limits)
        ax.set_xlim(0, max(len(curve) - 1, 1))
        ax.set_xlabel("seconds")
        ax.set_ylabel("LUFS (3 s)")
        number = song["number"]
        return _svg(fig, f"st{number}", f"Short-term loudness of song {number}")


def peaks_svg(songs: Sequence[dict]) -> str:
    """True peak and PLR per song, side by side, the true-peak ceiling drawn at -1 dBTP."""
    with matplotlib.rc_context(_RC):
        fig = _figure(7.6, 2.4, top_in=0.3)
        left, right = fig.subplots(1, 2)
        numbers = [song["number"] for song in songs]
        peaks = _nan([song["true_peak_dbtp"] for song in songs])
        plr = _nan([song["plr_db"] for song in songs])
        measured = peaks[~np.isnan(peaks)]
        floor = min(-12.0, math.floor(measured.min()) - 1.0) if len(measured) else -12.0
        top = max(0.5, float(measured.max()) + 0.5) if len(measured) else 0.5
        bars = left.bar(numbers, np.nan_to_num(peaks - floor), bottom=floor, color=MASTER,
                        width=0.6)
        left.bar_label(bars, labels=_labels(peaks, "{:.1f}"), fontsize=7, padding=2)
        left.axhline(CEILING_DBTP, color="#b02020", linestyle="--", linewidth=0.9)
        left.set_ylim(floor, top)
        left.set_ylabel("dBTP")
        left.set_title(f"true peak (dashed: {CEILING_DBTP:g} dBTP)".replace("-", "\u2212"),
                       fontsize=8)
        bars = right.bar(numbers, np.nan_to_num(plr), color=MASTER, width=0.6)
        right.bar_label(bars, labels=_labels(plr, "{:.1f}"), fontsize=7, padding=2)
        right.margins(y=0.12)
        right.set_ylabel("dB")
        right.set_title("PLR: true peak minus integrated", fontsize=8)
        for ax in (left, right):
            ax.set_xticks(numbers)
            ax.set_xlabel("song")
        return _svg(fig, "peaks", "True peak and peak-to-loudness ratio of each song")


def _spectrum_line(ax, spectrum: dict | None, **style) -> bool:
    """Draw one spectrum; False when there is nothing to draw (silence, no data)."""
    if not spectrum or not spectrum.get("freqs_hz"):
        return False
    db = _nan(spectrum["db"])
    if np.all(np.isnan(db)):
        return False
    ax.semilogx(spectrum["freqs_hz"], db, **style)
    return True


def spectrum_svg(song: dict, reference: dict | None) -> str:
    """One master's long-term spectrum, the client's reference dashed behind it."""
    with matplotlib.rc_context(_RC):
        fig = _figure(3.7, 2.1)
        ax = fig.add_subplot()
        if reference is not None:
            _spectrum_line(ax, reference.get("spectrum"), color=REFERENCE, linestyle="--",
                           linewidth=1.0, label="reference")
        if not _spectrum_line(ax, song.get("spectrum"), color=MASTER, linewidth=1.2,
                              label="master"):
            _silent(ax)
        ax.set_xlim(20, 20000)
        ax.set_xticks([20, 100, 1000, 10000], ["20", "100", "1k", "10k"])
        ax.set_xlabel("Hz")
        ax.set_ylabel("dB (pink = flat)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(loc="best", fontsize=7, frameon=False)
        number = song["number"]
        return _svg(fig, f"sp{number}", f"Long-term spectrum of song {number}")

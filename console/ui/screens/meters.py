"""The main screen: big loudness figures, the meter bridge, the song's loudness, the chain.

What an engineer glances at while turning knobs: momentary, short-term and
integrated loudness, LRA, true peak and PLR as large figures; bars for those
and for sample peak, correlation and each stage's gain reduction, with the
delivery target drawn on them; the current song's short-term loudness over
its length; and every stage of the chain, with the parameter just touched
shown large. Built once; frames only change values.
"""

from __future__ import annotations

import time

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label

from console.ui.draw import CORRELATION_SCALE, GR_SCALE, LUFS_SCALE, PEAK_SCALE
from console.ui.model import ConsoleModel
from console.ui.screens.base import ConsoleScreen
from console.ui.widgets.chain import ChainView, FocusPanel
from console.ui.widgets.meters import BigFigure, CentreBar, MeterBar, Ruler
from console.ui.widgets.strip import LoudnessStrip
from dsp import params as P

LUFS_TICKS = (-42.0, -36.0, -30.0, -23.0, -18.0, -14.0, -9.0, -6.0, 0.0)
PEAK_TICKS = (-24.0, -18.0, -12.0, -6.0, -3.0, -1.0, 0.0, 3.0)
GR_TICKS = (0.0, 1.0, 2.0, 3.0, 6.0, 9.0, 12.0)


def loudness_level(value: float | None, target: float, near_db: float = 2.0) -> str:
    """``over`` above the target by more than 1 LU, ``near`` within ``near_db`` below it."""
    if value is None:
        return ""
    if value > target + 1.0:
        return "over"
    return "near" if value >= target - near_db else ""


def peak_level(value: float | None, ceiling: float) -> str:
    """``over`` above the ceiling, ``near`` within 1 dB under it."""
    if value is None:
        return ""
    return "over" if value > ceiling else "near" if value > ceiling - 1.0 else ""


def magnitude(value: float | None) -> float | None:
    """Gain reduction arrives negative (dB of gain); the bars draw its size."""
    return None if value is None else abs(value)


class MetersScreen(ConsoleScreen):
    """Meters on the left, the chain on the right, the key numbers across the top."""

    def compose_body(self) -> ComposeResult:
        """Figures, meters, strip, focus panel, chain."""
        self.figures = {
            "momentary_lufs": BigFigure("MOMENTARY", "LUFS", id="fig-m"),
            "short_term_lufs": BigFigure("SHORT-TERM", "LUFS", id="fig-s"),
            "integrated_lufs": BigFigure("INTEGRATED", "LUFS", id="fig-i"),
            "loudness_range_lu": BigFigure("RANGE", "LU", id="fig-lra"),
            "true_peak_dbtp": BigFigure("TRUE PEAK", "dBTP", id="fig-tp"),
            "plr_db": BigFigure("PLR", "dB", id="fig-plr"),
        }
        self.bars = {
            "momentary_lufs": MeterBar("M", LUFS_SCALE, "LUFS", id="bar-m"),
            "short_term_lufs": MeterBar("S", LUFS_SCALE, "LUFS", id="bar-s"),
            "integrated_lufs": MeterBar("I", LUFS_SCALE, "LUFS", id="bar-i"),
            "true_peak_dbtp": MeterBar("TP", PEAK_SCALE, "dBTP", near_db=1.0, id="bar-tp"),
            "sample_peak_dbfs": MeterBar("SP", PEAK_SCALE, "dBFS", near_db=1.0, id="bar-sp"),
            "comp_gr_db": MeterBar("Comp", GR_SCALE, "dB GR", classes="-gr", id="bar-comp"),
            "limiter_gr_db": MeterBar("Lim", GR_SCALE, "dB GR", classes="-gr", id="bar-lim"),
            "exciter_added_db": MeterBar("Exc", GR_SCALE, "dB +", classes="-gr", id="bar-exc"),
        }
        self.correlation = CentreBar("Corr", CORRELATION_SCALE, "", decimals=2, id="bar-corr")
        self.strip = LoudnessStrip(id="strip")
        self.info = Label(id="meter-info")
        self.strip_title = Label(id="strip-title")
        self.focus_panel = FocusPanel(id="focus")
        self.chain = ChainView(id="chain")
        with Horizontal(id="figures"):
            yield from self.figures.values()
        with Horizontal(id="meters-body"):
            with Vertical(id="meter-column"):
                yield self.bars["momentary_lufs"]
                yield self.bars["short_term_lufs"]
                yield self.bars["integrated_lufs"]
                yield Ruler(LUFS_SCALE, LUFS_TICKS)
                yield self.bars["true_peak_dbtp"]
                yield self.bars["sample_peak_dbfs"]
                yield Ruler(PEAK_SCALE, PEAK_TICKS)
                yield self.correlation
                yield self.bars["comp_gr_db"]
                yield self.bars["limiter_gr_db"]
                yield self.bars["exciter_added_db"]
                yield Ruler(GR_SCALE, GR_TICKS)
                yield self.strip_title
                yield self.strip
                yield self.info
            with Vertical(id="chain-column"):
                yield self.focus_panel
                yield self.chain

    def show_meters(self, model: ConsoleModel) -> None:
        """Move every meter to the new frame (each redraws only if a cell changes)."""
        super().show_meters(model)
        m, held, target = model.meters, model.held, model.target
        for key, figure in self.figures.items():
            value = m.get(key)
            level = ""
            if key in ("momentary_lufs", "short_term_lufs", "integrated_lufs"):
                level = loudness_level(value, target.lufs)
            elif key == "true_peak_dbtp":
                level = peak_level(value, target.dbtp)
            figure.update(value, level)
        for key in ("momentary_lufs", "short_term_lufs"):
            self.bars[key].update(m.get(key), held.get(key), target.lufs)
        self.bars["integrated_lufs"].update(m.get("integrated_lufs"), None, target.lufs)
        for key in ("true_peak_dbtp", "sample_peak_dbfs"):
            self.bars[key].update(m.get(key), held.get(key), target.dbtp)
        for key in ("comp_gr_db", "limiter_gr_db", "exciter_added_db"):
            self.bars[key].update(magnitude(m.get(key)))
        self.correlation.update(m.get("correlation_live", m.get("correlation")))
        duration = model.history.duration_s
        position = m.get("position_s")
        fraction = position / duration if duration and position is not None else None
        self.strip.update(model.history.bins, fraction, target.lufs)
        self._show_info(model)

    def _show_info(self, model: ConsoleModel) -> None:
        m, t = model.meters, model.target
        text = (f"target {t.name}: {t.lufs:g} LUFS, {t.dbtp:g} dBTP (g changes)  ·  "
                f"max M {_f(m.get('momentary_max_lufs'))}  S {_f(m.get('short_term_max_lufs'))}"
                f"  ·  xruns {m.get('xruns', '-')}  ·  DSP {100 * (m.get('cpu_load') or 0):.0f} %")
        if text != getattr(self, "_info_text", None):
            self._info_text = text
            self.info.update(text)
            self.strip_title.update("short-term loudness over the song "
                                    f"[dim](╌ target {t.lufs:g} LUFS, bright column: playhead)[/]")

    def show_params(self, model: ConsoleModel, changed: list[str] | None) -> None:
        """Update the chain rows that changed, and the focus panel."""
        self.chain.show(model, changed)
        self._show_focus(model)

    def show_selection(self, model: ConsoleModel) -> None:
        """Move the highlights and the focus panel."""
        self._show_focus(model)

    def tick(self, model: ConsoleModel) -> None:
        """Let a touch highlight fade once it is old."""
        super().tick(model)
        self._show_focus(model)

    def _show_focus(self, model: ConsoleModel) -> None:
        touch = model.touch(time.monotonic())
        param = model.selected_param
        why = "selected"
        if touch is not None:
            param, why = P.get(touch.param_id), f"touched by {touch.source}"
        key = (param.id, model.values[param.id], why, tuple(model.bindings.get(param.id, ())))
        if key != getattr(self, "_focus_key", None):
            self._focus_key = key
            self.focus_panel.show(param, model.values[param.id], why,
                                  model.bindings.get(param.id, []))
        self.chain.mark(model, touch.param_id if touch else None)

    def show_surfaces(self, model: ConsoleModel) -> None:
        """Bound-control marks follow the surfaces listing."""
        self.chain.show(model, None)
        self._show_focus(model)


def _f(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"

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

from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, Horizontal, Vertical, VerticalScroll

from console.ui.draw import CORRELATION_SCALE, GR_SCALE, LUFS_SCALE, PEAK_SCALE, Scale
from console.ui.model import ConsoleModel, DeliveryTarget
from console.ui.screens.base import ConsoleScreen
from console.ui.widgets.bridge import BarRow, CentreRow, MeterBridge, RulerRow
from console.ui.widgets.chain import ChainView, FocusPanel
from console.ui.widgets.meters import BigFigure, Line
from console.ui.widgets.strip import LoudnessStrip
from dsp import params as P

LUFS_TICKS = (-42.0, -36.0, -30.0, -23.0, -18.0, -14.0, -9.0, -6.0, 0.0)
PEAK_TICKS = (-24.0, -18.0, -12.0, -6.0, -3.0, -1.0, 0.0, 3.0)
GR_TICKS = (0.0, 1.0, 2.0, 3.0, 6.0, 9.0, 12.0)
EXCITER_SCALE = Scale(-60.0, 0.0)
"""The exciter's added harmonics, in dB against its input."""
NARROW_COLUMNS = 110
"""Narrower than this, meters and chain side by side are both unreadable."""
FIGURE_PERIOD_S = 0.1
"""Big figures, the loudness strip and the info line change at most ten times a second:
faster digits only blur, and the bars already move with every frame."""
ADDED_FLOOR_DB = -119.0
"""At or below this the exciter adds nothing (it reports -120 dB then)."""


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

    _slow_due = 0.0

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
            "momentary_lufs": BarRow("M", LUFS_SCALE, "LUFS"),
            "short_term_lufs": BarRow("S", LUFS_SCALE, "LUFS"),
            "integrated_lufs": BarRow("I", LUFS_SCALE, "LUFS"),
            "true_peak_dbtp": BarRow("TP", PEAK_SCALE, "dBTP", near_db=1.0),
            "sample_peak_dbfs": BarRow("SP", PEAK_SCALE, "dBFS", near_db=1.0),
            "comp_gr_db": BarRow("Comp", GR_SCALE, "dB GR", gr=True),
            "limiter_gr_db": BarRow("Lim", GR_SCALE, "dB GR", gr=True),
            "exciter_added_db": BarRow("Exc", EXCITER_SCALE, "dB", gr=True),
        }
        self.correlation = CentreRow("Corr", CORRELATION_SCALE, "", decimals=2)
        b = self.bars
        self.bridge = MeterBridge([
            b["momentary_lufs"], b["short_term_lufs"], b["integrated_lufs"],
            RulerRow(LUFS_SCALE, LUFS_TICKS),
            b["true_peak_dbtp"], b["sample_peak_dbfs"], RulerRow(PEAK_SCALE, PEAK_TICKS),
            self.correlation, b["comp_gr_db"], b["limiter_gr_db"], RulerRow(GR_SCALE, GR_TICKS),
            b["exciter_added_db"]], id="bridge")
        self.strip = LoudnessStrip(id="strip")
        self.info = Line(id="meter-info")
        self.strip_title = Line(id="strip-title")
        self.focus_panel = FocusPanel(id="focus")
        self.chain = ChainView(id="chain")
        with Horizontal(id="meters-body"):
            with VerticalScroll(id="meter-column"):
                with Grid(id="figures"):
                    yield from self.figures.values()
                yield self.bridge
                yield self.strip_title
                yield self.strip
                yield self.info
            with Vertical(id="chain-column"):
                yield self.focus_panel
                yield self.chain

    def on_resize(self, event: events.Resize) -> None:
        """Below ``NARROW_COLUMNS`` show the meters or the chain, one at a time (``v``)."""
        self.set_class(event.size.width < NARROW_COLUMNS, "-narrow")

    def toggle_view(self) -> None:
        """On a narrow terminal, switch between the meters and the chain."""
        self.toggle_class("-chain")

    def show_meters(self, model: ConsoleModel) -> None:
        """Move every meter to the new frame (each redraws only if a cell changes)."""
        super().show_meters(model)
        m, held, target = model.meters, model.held, model.target
        self._bars(m, held, target)
        now = time.monotonic()
        if now < self._slow_due:
            return
        self._slow_due = now + FIGURE_PERIOD_S
        for key, figure in self.figures.items():
            value = m.get(key)
            level = ""
            if key in ("momentary_lufs", "short_term_lufs", "integrated_lufs"):
                level = loudness_level(value, target.lufs)
            elif key == "true_peak_dbtp":
                level = peak_level(value, target.dbtp)
            figure.update(value, level)
        duration = model.history.duration_s
        position = m.get("position_s")
        fraction = position / duration if duration and position is not None else None
        self.strip.update(model.history.bins, fraction, target.lufs)
        self._show_info(model)

    def _bars(self, m: dict, held: dict, target: DeliveryTarget) -> None:
        update, bars = self.bridge.update_row, self.bars
        for key in ("momentary_lufs", "short_term_lufs"):
            update(bars[key], m.get(key), held.get(key), target.lufs)
        update(bars["integrated_lufs"], m.get("integrated_lufs"), None, target.lufs)
        for key in ("true_peak_dbtp", "sample_peak_dbfs"):
            update(bars[key], m.get(key), held.get(key), target.dbtp)
        for key in ("comp_gr_db", "limiter_gr_db"):
            update(bars[key], magnitude(m.get(key)))
        added = m.get("exciter_added_db")
        update(bars["exciter_added_db"], None if added is None or added <= ADDED_FLOOR_DB
               else added)
        update(self.correlation, m.get("correlation_live", m.get("correlation")))

    def _show_info(self, model: ConsoleModel) -> None:
        m, t = model.meters, model.target
        rate = model.rate.rate(time.monotonic())
        text = (f"target {t.lufs:g} LUFS, {t.dbtp:g} dBTP ({t.name}; g) · "
                f"{rate:.0f} fps · xruns {m.get('xruns', '-')}")
        self.info.show(text)
        self.strip_title.show(f"loudness over the song [dim](S; ╌ {t.lufs:g} LUFS)[/]")

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
            param, why = P.get(touch.param_id), f"touched by {touch.author}"
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

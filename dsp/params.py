"""The parameter table: every parameter of the chain, in one list.

This is the spine of masterdeck. The DSP kernels read parameters by index
from two dense float64 arrays (``target``, written by the control side, and
``current``, smoothed per sample inside the kernels); surfaces, automation,
sessions, snapshots, the control protocol and the UI speak the ids and values
defined here and nothing else. Range checks, tapers for a knob's travel and
parsing of values typed by a person all derive from this table.

Adding a parameter is one row here plus its use in one kernel.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dsp.errors import ParameterError

if TYPE_CHECKING:
    import numpy as np

Kind = Literal["continuous", "switch", "choice"]
Taper = Literal["linear", "log"]


@dataclass(frozen=True)
class Param:
    """One row of the table.

    Values are always in the parameter's own unit (dB, Hz, ms, %); a switch
    is 0.0 or 1.0, a choice is the index of one of ``choices`` as a float.
    """

    id: str
    stage: str
    label: str
    unit: str
    min: float
    max: float
    default: float
    kind: Kind = "continuous"
    taper: Taper = "linear"
    step: float = 0.0
    choices: tuple[str, ...] = ()
    fmt: str = "{:.1f}"

    def display(self, value: float) -> str:
        """Format ``value`` the way an engineer reads it (``-1.0 dBTP``, ``bell``)."""
        if self.kind == "choice":
            return self.choices[round(value)]
        if self.kind == "switch":
            return "on" if value >= 0.5 else "off"
        text = self.fmt.format(value)
        return f"{text} {self.unit}" if self.unit else text

    def to_normal(self, value: float) -> float:
        """Map a value to 0..1 along the parameter's taper (a knob's travel)."""
        value = min(max(value, self.min), self.max)
        if self.kind == "choice":
            return value / max(len(self.choices) - 1, 1)
        if self.taper == "log":
            return math.log(value / self.min) / math.log(self.max / self.min)
        return (value - self.min) / (self.max - self.min)

    def from_normal(self, normal: float) -> float:
        """Map 0..1 of a knob's travel to a value along the taper, snapped to ``step``."""
        normal = min(max(normal, 0.0), 1.0)
        if self.kind == "choice":
            return float(round(normal * (len(self.choices) - 1)))
        if self.kind == "switch":
            return 1.0 if normal >= 0.5 else 0.0
        if self.taper == "log":
            value = self.min * (self.max / self.min) ** normal
        else:
            value = self.min + normal * (self.max - self.min)
        if self.step > 0:
            value = round(value / self.step) * self.step
        return min(max(value, self.min), self.max)

    def check(self, value: float) -> float:
        """Return ``value`` as a float if it is allowed, else raise ParameterError."""
        if isinstance(value, bool):
            value = float(value)
        if not isinstance(value, int | float) or not math.isfinite(value):
            raise ParameterError(f"{self.id}: value must be a finite number, got {value!r}")
        value = float(value)
        if not self.min <= value <= self.max:
            span = f"{self.min:g}..{self.max:g} {self.unit}".rstrip()
            raise ParameterError(f"{self.id}: {value:g} is out of range {span}")
        if self.kind != "continuous" and value != round(value):
            raise ParameterError(f"{self.id}: must be a whole number, got {value:g}")
        return value

    def parse(self, text: str) -> float:
        """Parse a value typed by a person (``-1.5``, ``on``, ``high_shelf``)."""
        word = text.strip().lower()
        if self.kind == "choice" and word in self.choices:
            return float(self.choices.index(word))
        if self.kind == "switch" and word in _SWITCH_WORDS:
            return _SWITCH_WORDS[word]
        try:
            value = float(word)
        except ValueError:
            allowed = (
                ", ".join(self.choices)
                if self.kind == "choice"
                else "on/off" if self.kind == "switch" else f"{self.min:g}..{self.max:g}"
            )
            raise ParameterError(f"{self.id}: cannot read {text!r}; allowed: {allowed}") from None
        return self.check(value)

    def as_dict(self) -> dict[str, object]:
        """The row as plain data (for ``masterdeck params --json`` and the protocol)."""
        row: dict[str, object] = {
            "id": self.id,
            "stage": self.stage,
            "label": self.label,
            "unit": self.unit,
            "min": self.min,
            "max": self.max,
            "default": self.default,
            "kind": self.kind,
            "taper": self.taper,
            "step": self.step,
            "format": self.fmt,
        }
        if self.choices:
            row["choices"] = list(self.choices)
        return row


_SWITCH_WORDS = {"on": 1.0, "off": 0.0, "true": 1.0, "false": 0.0, "yes": 1.0, "no": 0.0}

EQ_BANDS = 5
EQ_TYPES = ("bell", "low_shelf", "high_shelf", "high_pass", "low_pass")
CHANNEL_MODES = ("stereo", "mid", "side")
DITHER_TYPES = ("off", "tpdf", "shaped")
RELEASE_STYLES = ("single", "transparent", "punchy", "loud")
"""The limiter's release styles: ``single`` is one release at ``limiter.release_ms``; the
others release fast after short reduction and at ``release_ms`` after sustained reduction,
from gentlest to loudest (their constants and the reasons: :data:`dsp.limiter.STYLES`).
``transparent`` is the default: louder and cleaner than ``single`` at every drive on the
peer benchmark's music (docs/decisions.md); sessions saved before it was (format 1) keep
``single``."""
_EQ_DEFAULTS = (  # type, freq, gain, q: a flat, ready-to-use five-band layout
    ("low_shelf", 80.0, 0.0, 0.707),
    ("bell", 250.0, 0.0, 1.0),
    ("bell", 1000.0, 0.0, 1.0),
    ("bell", 4000.0, 0.0, 1.0),
    ("high_shelf", 12000.0, 0.0, 0.707),
)


def _bypass(stage: str, label: str, default: float = 0.0) -> Param:
    return Param(f"{stage}.bypass", stage, f"{label} bypass", "", 0.0, 1.0, default, "switch")


def _eq_band(b: int) -> list[Param]:
    kind, freq, gain, q = _EQ_DEFAULTS[b - 1]
    s, n = "eq", f"eq.band{b}"
    return [
        Param(f"{n}.on", s, f"Band {b} in", "", 0.0, 1.0, 1.0, "switch"),
        Param(f"{n}.type", s, f"Band {b} type", "", 0.0, 4.0, float(EQ_TYPES.index(kind)),
              "choice", choices=EQ_TYPES),
        Param(f"{n}.freq_hz", s, f"Band {b} freq", "Hz", 20.0, 20000.0, freq, taper="log",
              fmt="{:.0f}"),
        Param(f"{n}.gain_db", s, f"Band {b} gain", "dB", -18.0, 18.0, gain, step=0.1,
              fmt="{:+.1f}"),
        Param(f"{n}.q", s, f"Band {b} Q", "", 0.1, 10.0, q, taper="log", fmt="{:.2f}"),
        Param(f"{n}.mode", s, f"Band {b} channels", "", 0.0, 2.0, 0.0, "choice",
              choices=CHANNEL_MODES),
    ]


EQ_BAND_FIELDS = ("on", "type", "freq_hz", "gain_db", "q", "mode")

PARAMS: tuple[Param, ...] = (
    Param("input.trim_db", "input", "Input trim", "dB", -24.0, 24.0, 0.0, step=0.1,
          fmt="{:+.1f}"),
    _bypass("eq", "EQ"),
    *[p for b in range(1, EQ_BANDS + 1) for p in _eq_band(b)],
    _bypass("comp", "Compressor", 1.0),
    Param("comp.threshold_db", "comp", "Threshold", "dB", -60.0, 0.0, -18.0, step=0.1,
          fmt="{:+.1f}"),
    Param("comp.ratio", "comp", "Ratio", ":1", 1.0, 20.0, 2.0, taper="log", fmt="{:.2f}"),
    Param("comp.knee_db", "comp", "Knee", "dB", 0.0, 24.0, 6.0, fmt="{:.1f}"),
    Param("comp.attack_ms", "comp", "Attack", "ms", 0.1, 300.0, 10.0, taper="log",
          fmt="{:.1f}"),
    Param("comp.release_ms", "comp", "Release", "ms", 5.0, 3000.0, 150.0, taper="log",
          fmt="{:.0f}"),
    Param("comp.makeup_db", "comp", "Makeup", "dB", -12.0, 24.0, 0.0, step=0.1,
          fmt="{:+.1f}"),
    Param("comp.sc_hpf_hz", "comp", "Sidechain HPF", "Hz", 20.0, 500.0, 20.0, taper="log",
          fmt="{:.0f}"),
    Param("comp.link_pct", "comp", "Stereo link", "%", 0.0, 100.0, 100.0, fmt="{:.0f}"),
    Param("comp.mix_pct", "comp", "Mix", "%", 0.0, 100.0, 100.0, fmt="{:.0f}"),
    _bypass("exciter", "Exciter", 1.0),
    Param("exciter.freq_hz", "exciter", "Exciter freq", "Hz", 1000.0, 16000.0, 3000.0,
          taper="log", fmt="{:.0f}"),
    Param("exciter.amount_pct", "exciter", "Amount", "%", 0.0, 100.0, 30.0, fmt="{:.0f}"),
    Param("exciter.mix_pct", "exciter", "Exciter mix", "%", 0.0, 100.0, 25.0, fmt="{:.0f}"),
    _bypass("stereo", "Stereo"),
    Param("stereo.width_pct", "stereo", "Width", "%", 0.0, 200.0, 100.0, fmt="{:.0f}"),
    Param("stereo.bass_mono", "stereo", "Bass mono", "", 0.0, 1.0, 0.0, "switch"),
    Param("stereo.bass_mono_hz", "stereo", "Bass mono below", "Hz", 20.0, 500.0, 120.0,
          taper="log", fmt="{:.0f}"),
    Param("stereo.balance_db", "stereo", "Balance", "dB", -6.0, 6.0, 0.0, step=0.1,
          fmt="{:+.1f}"),
    _bypass("clipper", "Clipper", 1.0),
    Param("clipper.level_db", "clipper", "Clip level", "dB", 0.0, 12.0, 3.0, step=0.1,
          fmt="{:+.1f}"),
    Param("clipper.knee_db", "clipper", "Clip knee", "dB", 6.0, 18.0, 6.0, step=0.1,
          fmt="{:.1f}"),
    _bypass("limiter", "Limiter"),
    Param("limiter.drive_db", "limiter", "Drive", "dB", 0.0, 24.0, 0.0, step=0.1,
          fmt="{:+.1f}"),
    Param("limiter.ceiling_dbtp", "limiter", "Ceiling", "dBTP", -12.0, 0.0, -1.0, step=0.1,
          fmt="{:+.1f}"),
    Param("limiter.release_ms", "limiter", "Release", "ms", 1.0, 1000.0, 100.0, taper="log",
          fmt="{:.0f}"),
    Param("limiter.release_style", "limiter", "Release style", "", 0.0, 3.0, 1.0, "choice",
          choices=RELEASE_STYLES),
    Param("limiter.lookahead_ms", "limiter", "Lookahead", "ms", 0.5, 5.0, 1.5, step=0.1,
          fmt="{:.1f}"),
    Param("limiter.link_pct", "limiter", "Stereo link", "%", 0.0, 100.0, 100.0, fmt="{:.0f}"),
    Param("output.gain_db", "output", "Output gain", "dB", -30.0, 0.0, 0.0, step=0.1,
          fmt="{:+.1f}"),
    Param("output.dither", "output", "Dither", "", 0.0, 2.0, 1.0, "choice",
          choices=DITHER_TYPES),
    Param("output.dither_rest", "output", "Dither rests on silence", "", 0.0, 1.0, 1.0,
          "switch"),
)

STAGES: tuple[str, ...] = ("input", "eq", "comp", "exciter", "stereo", "clipper", "limiter",
                           "output")

_INDEX: dict[str, int] = {p.id: i for i, p in enumerate(PARAMS)}
COUNT = len(PARAMS)


def index(param_id: str) -> int:
    """Return the position of ``param_id`` in the dense parameter arrays."""
    try:
        return _INDEX[param_id]
    except KeyError:
        raise ParameterError(f"unknown parameter id {param_id!r}") from None


def get(param_id: str) -> Param:
    """Return the row for ``param_id`` (ParameterError if there is none)."""
    return PARAMS[index(param_id)]


def defaults() -> np.ndarray:
    """A fresh ``float64`` array of every parameter at its default."""
    import numpy as np  # here, so that reading the table needs no numpy (thin clients)

    return np.array([p.default for p in PARAMS], dtype=np.float64)


# Smoothing modes, one per parameter, read by the kernels (see dsp.smoothing).
SMOOTH_NONE, SMOOTH_LINEAR, SMOOTH_LOG, SMOOTH_RAMP = 0, 1, 2, 3


def _smoothing(p: Param) -> int:
    if p.kind == "choice":
        return SMOOTH_NONE
    if p.kind == "switch":
        return SMOOTH_RAMP
    return SMOOTH_LOG if p.taper == "log" else SMOOTH_LINEAR


SMOOTHING_MODES: tuple[int, ...] = tuple(_smoothing(p) for p in PARAMS)
"""Each parameter's smoothing mode; :mod:`dsp.smoothing` holds it as the kernels' array."""

# Index constants for the kernels (numba freezes module globals at compile time).
INPUT_TRIM = index("input.trim_db")
EQ_BYPASS = index("eq.bypass")
EQ_BASE = index("eq.band1.on")
EQ_STRIDE = len(EQ_BAND_FIELDS)
EQ_ON, EQ_TYPE, EQ_FREQ, EQ_GAIN, EQ_Q, EQ_MODE = range(EQ_STRIDE)
COMP_BYPASS = index("comp.bypass")
COMP_THRESHOLD = index("comp.threshold_db")
COMP_RATIO = index("comp.ratio")
COMP_KNEE = index("comp.knee_db")
COMP_ATTACK = index("comp.attack_ms")
COMP_RELEASE = index("comp.release_ms")
COMP_MAKEUP = index("comp.makeup_db")
COMP_SC_HPF = index("comp.sc_hpf_hz")
COMP_LINK = index("comp.link_pct")
COMP_MIX = index("comp.mix_pct")
EXCITER_BYPASS = index("exciter.bypass")
EXCITER_FREQ = index("exciter.freq_hz")
EXCITER_AMOUNT = index("exciter.amount_pct")
EXCITER_MIX = index("exciter.mix_pct")
STEREO_BYPASS = index("stereo.bypass")
STEREO_WIDTH = index("stereo.width_pct")
STEREO_BASS_MONO = index("stereo.bass_mono")
STEREO_BASS_MONO_HZ = index("stereo.bass_mono_hz")
STEREO_BALANCE = index("stereo.balance_db")
CLIPPER_BYPASS = index("clipper.bypass")
CLIPPER_LEVEL = index("clipper.level_db")
CLIPPER_KNEE = index("clipper.knee_db")
LIMITER_BYPASS = index("limiter.bypass")
LIMITER_DRIVE = index("limiter.drive_db")
LIMITER_CEILING = index("limiter.ceiling_dbtp")
LIMITER_RELEASE = index("limiter.release_ms")
LIMITER_STYLE = index("limiter.release_style")
LIMITER_LOOKAHEAD = index("limiter.lookahead_ms")
LIMITER_LINK = index("limiter.link_pct")
OUTPUT_GAIN = index("output.gain_db")
OUTPUT_DITHER = index("output.dither")

if not all(  # the EQ kernel relies on this layout; checked once at import
    PARAMS[EQ_BASE + (b * EQ_STRIDE) + k].id == f"eq.band{b + 1}.{name}"
    for b in range(EQ_BANDS)
    for k, name in enumerate(EQ_BAND_FIELDS)
):
    raise RuntimeError("dsp.params: EQ band rows must be contiguous, in EQ_BAND_FIELDS order")

__all__ = ["PARAMS", "Param", "defaults", "get", "index"]

"""Pure value transforms between MIDI data and parameter values.

Everything here is a plain function of its arguments (no ports, no desk, no
clock), so each can be checked with a table of cases. The drivers call these
on every incoming message and every feedback update:

- raw controller data to a knob's 0..1 travel and back (7-bit, 14-bit);
- relative encoder data to signed ticks, in each common encoding;
- acceleration from how fast ticks arrive;
- soft takeover ("pickup") for absolute knobs without motors;
- a nudge along the parameter's taper that always moves at least one step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from dsp.params import Param

Encoding = Literal["twos_complement", "sign_magnitude", "binary_offset"]
ENCODINGS: tuple[str, ...] = ("twos_complement", "sign_magnitude", "binary_offset")

MAX7 = 127
MAX14 = 16383


# absolute values ------------------------------------------------------------
def normal_from_7bit(value: int) -> float:
    """Map a 7-bit controller value to 0..1 so that 64 lands exactly on the middle.

    A plain ``value / 127`` puts a centre-detent knob at 0.504, which on an
    EQ gain of ±18 dB is +0.3 dB instead of flat. Ardour's mapping
    ``(v - 1) / 126`` (0 and 1 both mean the bottom) keeps 64 at 0.5.
    Out-of-range input is clamped, never trusted.
    """
    value = min(max(int(value), 0), MAX7)
    return 0.0 if value == 0 else (value - 1) / 126.0


def raw7_from_normal(normal: float) -> int:
    """Inverse of :func:`normal_from_7bit`: 0..1 to the 7-bit value a device shows."""
    normal = min(max(float(normal), 0.0), 1.0)
    return 0 if normal <= 0.0 else round(normal * 126.0) + 1


def normal_from_14bit(value: int) -> float:
    """Map a 14-bit value (pitch bend, 14-bit CC, NRPN data) to 0..1, clamped."""
    return min(max(int(value), 0), MAX14) / MAX14


def raw14_from_normal(normal: float) -> int:
    """Inverse of :func:`normal_from_14bit`."""
    return round(min(max(float(normal), 0.0), 1.0) * MAX14)


def span_normal(param: Param, lo: float | None, hi: float | None) -> tuple[float, float]:
    """The slice of a parameter's travel a control covers, as (start, end) in 0..1.

    A binding may limit a fader to part of a parameter's range (``min``/``max``
    in the parameter's unit); the taper of the full range still applies.
    """
    start = 0.0 if lo is None else param.to_normal(lo)
    end = 1.0 if hi is None else param.to_normal(hi)
    return start, end


def value_from_control(param: Param, control_normal: float, span: tuple[float, float],
                       invert: bool = False) -> float:
    """The parameter value for a control at ``control_normal`` of its travel."""
    n = min(max(control_normal, 0.0), 1.0)
    if invert:
        n = 1.0 - n
    start, end = span
    return param.from_normal(start + n * (end - start))


def control_from_value(param: Param, value: float, span: tuple[float, float],
                       invert: bool = False) -> float:
    """Where a control must sit (0..1) to show ``value``: inverse of :func:`value_from_control`."""
    start, end = span
    n = param.to_normal(value)
    n = 0.0 if end == start else (n - start) / (end - start)
    n = min(max(n, 0.0), 1.0)
    return 1.0 - n if invert else n


# relative encoders ----------------------------------------------------------
def relative_steps(value: int, encoding: str) -> int:
    """Signed ticks from one relative-encoder message.

    ``twos_complement``: 1..63 up, 127..65 down (127 = -1), 0 none.
    ``sign_magnitude``: bit 6 set means down (the Mackie V-Pot form: 0x01 = +1,
    0x41 = -1); 0x00 and 0x40 mean nothing.
    ``binary_offset``: 64 is rest, 65 = +1, 63 = -1 (some encoders send a
    neutral 64, or 0 between ticks, which must count as nothing).
    """
    value = int(value) & 0x7F
    if encoding == "twos_complement":
        return value - 128 if value >= 64 else value
    if encoding == "sign_magnitude":
        magnitude = value & 0x3F
        return -magnitude if value & 0x40 else magnitude
    if encoding == "binary_offset":
        return 0 if value == 0 else value - 64
    raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {encoding!r}")


SLOW_TICKS_PER_S = 12.0
"""Below this turning speed there is no acceleration: every detent is one step."""
FAST_TICKS_PER_S = 120.0
"""At and above this speed acceleration is at its full ``1 + 4 * acceleration``."""


def accelerate(ticks: int, interval_s: float, acceleration: float) -> float:
    """Scale ``ticks`` by how fast the knob turns.

    Slow, deliberate turns stay one step per detent, so a mastering move can
    be made to a tenth of a dB; a fast spin covers the range in a few turns.
    The gain rises linearly from 1 at ``SLOW_TICKS_PER_S`` to
    ``1 + 4 * acceleration`` at ``FAST_TICKS_PER_S``. Devices that accelerate
    themselves (larger tick counts) stack with this, which is what players expect.
    """
    if ticks == 0 or acceleration <= 0.0:
        return float(ticks)
    rate = abs(ticks) / max(interval_s, 1e-3)
    boost = (rate - SLOW_TICKS_PER_S) / (FAST_TICKS_PER_S - SLOW_TICKS_PER_S)
    boost = min(max(boost, 0.0), 1.0)
    return ticks * (1.0 + 4.0 * acceleration * boost)


def nudge_value(param: Param, value: float, normal_delta: float) -> float:
    """Move ``value`` by ``normal_delta`` of the knob's travel, at least one step.

    ``from_normal`` snaps to the parameter's step, so a small delta on a
    coarse parameter (lookahead in 0.1 ms over 4.5 ms) would round back to
    the same value and the encoder would feel dead. Here a non-zero delta
    always moves by at least one step (or one choice), until the range ends.
    """
    if normal_delta == 0.0:
        return value
    direction = 1.0 if normal_delta > 0 else -1.0
    if param.kind == "switch":
        return 1.0 if direction > 0 else 0.0
    if param.kind == "choice":
        steps = max(1, round(abs(normal_delta) * (len(param.choices) - 1)))
        moved = round(value) + direction * steps
        return float(min(max(moved, param.min), param.max))
    target = param.from_normal(param.to_normal(value) + normal_delta)
    if target == value and param.step > 0:
        target = min(max(value + direction * param.step, param.min), param.max)
        target = round(target / param.step) * param.step
        target = min(max(target, param.min), param.max)
    return target


# soft takeover -----------------------------------------------------------------
@dataclass(frozen=True)
class Pickup:
    """Soft-takeover state of one absolute control.

    ``last`` is the control's previous position (0..1, None before the first
    message); ``engaged`` is True once the control has caught the value and
    may move it freely.
    """

    last: float | None = None
    engaged: bool = False


def pickup(state: Pickup, incoming: float, current: float,
           threshold: float) -> tuple[bool, Pickup]:
    """Decide whether a knob position may drive the parameter; return (accept, new state).

    A knob that sits elsewhere than the value must not make it jump. It takes
    over once it comes within ``threshold`` of the value, or when it crosses
    the value between two messages (a fast move skips over it). Once engaged
    it stays engaged until something else changes the parameter (the caller
    then passes ``Pickup(last, engaged=False)``).
    """
    if state.engaged:
        return True, Pickup(incoming, True)
    near = abs(incoming - current) <= threshold
    crossed = state.last is not None and (
        min(state.last, incoming) <= current <= max(state.last, incoming)
    )
    if near or crossed:
        return True, Pickup(incoming, True)
    return False, Pickup(incoming, False)


def disengage(state: Pickup) -> Pickup:
    """The parameter was changed elsewhere: the knob must catch it again."""
    return Pickup(state.last, False)


# text --------------------------------------------------------------------------
def fit_text(text: str, width: int) -> str:
    """Left-align ``text`` in exactly ``width`` printable ASCII cells."""
    ascii_text = "".join(c if 32 <= ord(c) < 127 else "_" for c in text)
    return ascii_text[:width].ljust(width)


def compact_value(param: Param, value: float, width: int = 6) -> str:
    """The value as an engineer reads it, squeezed into ``width`` characters.

    ``12000 Hz`` becomes ``12.0k``, ``-1.0 dBTP`` becomes ``-1.0``, a choice
    shows its first letters: the scribble strip has six cells per strip.
    """
    if param.kind in ("choice", "switch"):
        return param.display(value)[:width]
    if param.unit == "Hz" and value >= 1000.0:
        text = f"{value / 1000.0:.1f}k"
        return text if len(text) <= width else f"{value / 1000.0:.0f}k"[:width]
    number = param.fmt.format(value)
    unit = param.unit.replace("dBTP", "dB").replace(":1", "")
    for candidate in (f"{number}{unit}", number):
        if len(candidate) <= width:
            return candidate
    return f"{value:.0f}"[:width]

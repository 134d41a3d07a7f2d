"""Automation modes as engineers know them from DAWs, as one pure function.

========  ==========================================================================
mode      what the lane does
========  ==========================================================================
off       nothing: the desk's value plays, the lane is kept but ignored
read      the lane plays; the control follows it (motor faders move)
touch     the lane plays; while the control is touched and the transport rolls, the
          desk's value plays and is written; on release the lane takes over again
latch     as touch, but writing goes on after release until the transport stops
write     while rolling, every lane (and every control touched) is written
          from the start of the pass to the stop
trim      the lane plays with the control's move from where it was (the trim
          reference) on top; touched while rolling, the result is written
========  ==========================================================================

Transport stop ends every touch and every pass; writing happens only while the
song position moves forward. Switches and choices in touch mode latch, as in
Ardour ("toggle buttons always latch"): their release means nothing.
:func:`step` is the whole rule; the runner calls it for every lane on every
tick and hands the resulting kernel mode to the audio kernel.
"""

from __future__ import annotations

from dataclasses import dataclass

from dsp import automation as K

MODES = ("off", "read", "touch", "latch", "write", "trim")


@dataclass(frozen=True)
class LaneState:
    """What a lane is doing between ticks."""

    writing: bool = False
    """A pass is being recorded for this lane."""
    latched: bool = False
    """Touched at least once in this pass (latch, write, and switches in touch)."""


IDLE = LaneState()


def step(mode: str, state: LaneState, *, touched: bool, rolling: bool, has_lane: bool,
         toggled: bool = False) -> tuple[LaneState, int]:
    """One tick of one lane: its next state and the kernel mode (``dsp.automation.M_*``).

    Parameters
    ----------
    mode : str
        The lane's mode (one of :data:`MODES`).
    state : LaneState
        The lane's state after the previous tick.
    touched : bool
        The control is held (touch sense) or moved recently (inferred touch).
    rolling : bool
        The transport plays forward.
    has_lane : bool
        The lane has breakpoints.
    toggled : bool
        The parameter is a switch or a choice.
    """
    if mode not in MODES:
        raise ValueError(f"automation mode {mode!r}: use one of {', '.join(MODES)}")
    if mode == "off":
        return IDLE, K.M_DESK
    if not rolling:
        return IDLE, K.M_TRIM if mode == "trim" else K.M_LANE
    if mode == "read":
        return IDLE, K.M_LANE
    if mode == "trim":
        if touched:
            return LaneState(True, True), K.M_TRIM_REC
        return IDLE, K.M_TRIM
    latches = mode in ("latch", "write") or (mode == "touch" and toggled)
    latched = state.latched or (touched and latches)
    if mode == "write" and has_lane:
        latched = True  # a lane under a write pass is overwritten from the start
    if touched or latched:
        return LaneState(True, latched), K.M_DESK_REC
    return LaneState(False, latched), K.M_LANE

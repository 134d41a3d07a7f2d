"""The automation runner: connects lanes, modes and touch to a running engine.

A thread ticks every :data:`TICK_S`:

1. it drains the audio kernel's record ring: each entry is a desk value the
   callback applied, stamped with the song position of the first sample it
   applied to (``dsp.automation``), so a move is written where it was heard;
   a pass's entries are played as a staircase (:func:`lanes.staircase`),
   thinned (:func:`thin.thin`) and merged into the lane
   (:func:`lanes.merge_pass`) when the kernel reports the end of writing;
2. it runs every lane through :func:`modes.step` with the touch state
   (:class:`touch.TouchTracker`) and the transport, and hands the kernel the
   resulting mode of each parameter;
3. at :data:`FOLLOW_S` it reads back what the lanes play (``engine.target``)
   and tells the desk (author ``"automation"``), so motor faders, rings,
   displays and protocol clients follow the playback.

Locking: the engine's lock is always taken before the runner's, and the
runner calls the desk and its callbacks with no lock held.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from console.automation.lanes import (
    Lane,
    Point,
    SongAutomation,
    merge_pass,
    staircase,
    trimmed,
)
from console.automation.modes import IDLE, LaneState, step
from console.automation.thin import FACTOR, thin
from console.automation.touch import TouchTracker
from console.engine.callback import C_PLAY, R_ENDED, R_PLAYING
from dsp import automation as K
from dsp import params as P

if TYPE_CHECKING:
    from console.engine.stream import Engine

log = logging.getLogger(__name__)

TICK_S = 0.01
FOLLOW_S = 1.0 / 30.0
"""How often controls are told what the lanes play (motor faders move at this rate)."""
HOLD_AFTER_S = 0.25
"""A recorded value that held longer than this plays as a hold, not as part of a ramp.

Shorter waits are a fader in motion: a hand moving 20 dB in five seconds,
quantised to 0.1 dB steps, changes the value every 16-32 ms, and a slow one
every 100 ms or more."""
AUTHOR = "automation"

CommitHandler = Callable[[str, dict[str, Lane]], None]
"""Called with (song id, {param id: new lane}) when written passes are merged."""
PassHandler = Callable[[str, dict[str, Lane], dict[str, Lane]], None]
"""Called with (song id, lanes before, lanes after) when a transport pass ends (one undo step)."""


@dataclass
class _Recording:
    """The entries of one lane's current pass, as the kernel reported them."""

    start: int
    changes: list[Point] = field(default_factory=list)
    trim_reference: float | None = None
    """For a trim pass: the control's value when trimming began (moves are relative)."""


class AutomationRunner:
    """Plays, writes and follows automation on a running engine."""

    def __init__(self, engine: Engine, on_commit: CommitHandler, on_pass: PassHandler,
                 touch_timeout_s: float = 0.5, thinning_factor: float = FACTOR) -> None:
        self.engine = engine
        self.desk = engine.desk
        self.on_commit = on_commit
        self.on_pass = on_pass
        self.tracker = TouchTracker(touch_timeout_s)
        self.thinning_factor = thinning_factor
        self.global_mode = "read"
        self.song_id: str | None = None
        self.automation = SongAutomation()
        self.lost = 0
        """Record-ring entries overwritten before they were read (should stay 0)."""
        self._lock = threading.RLock()
        self._states: dict[int, LaneState] = {}
        self._recording: dict[int, _Recording] = {}
        self._trim_armed: dict[int, float] = {}
        self._pass_before: dict[str, Lane] = {}
        self._read = int(engine.auto_st[K.S_RING_COUNT])
        self._next_follow = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unsubscribe: list[Callable[[], None]] = []

    # life cycle --------------------------------------------------------------------
    def start(self) -> None:
        """Listen to the desk and start ticking."""
        self._unsubscribe = [self.desk.on_params(self._on_params),
                             self.desk.on_touch(self._on_touch)]
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="automation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Finish any pass and stop the thread."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe = []
        self.finish()

    def _run(self) -> None:
        while not self._stop.wait(TICK_S):
            try:
                self.tick(time.monotonic())
            except Exception:  # the runner must keep running whatever one tick met
                log.exception("automation tick failed")

    # inputs ----------------------------------------------------------------------------
    def _on_params(self, changes: dict[str, float], author: str) -> None:
        if author in (AUTHOR, "session", "undo"):
            return
        now = time.monotonic()
        for param_id in changes:
            self.tracker.move(param_id, now)

    def _on_touch(self, param_id: str, touched: bool, author: str) -> None:
        self.tracker.touch(param_id, touched, time.monotonic())

    # song --------------------------------------------------------------------------------
    def set_song(self, song_id: str | None, automation: SongAutomation,
                 bias_db: float = 0.0, fade_in_s: float = 0.0, fade_out_s: float = 0.0,
                 frames: int = 0) -> None:
        """Make ``automation`` the lanes in play (call with the song silent).

        Passes still being written go to the song they were written on first.
        """
        self.finish()
        engine = self.engine
        rate = engine.sample_rate
        with engine._lock, self._lock:
            self.song_id = song_id
            self.automation = automation
            self._states.clear()
            ctl = engine.auto_ctl
            ctl[K.CTL_MODE:K.CTL_MODE + K.N] = K.M_DESK
            ctl[K.CTL_BIAS:K.CTL_BIAS + K.N] = 0.0
            ctl[K.CTL_BIAS + P.OUTPUT_GAIN] = bias_db
            ctl[K.CTL_FADE_IN] = round(fade_in_s * rate)
            ctl[K.CTL_FADE_OUT] = round(fade_out_s * rate)
            ctl[K.CTL_END] = frames
            ctl[K.CTL_LATENCY] = engine.chain.latency
            engine.set_lanes(automation.packed())
        self.tick(time.monotonic())

    def reload(self, song_id: str) -> None:
        """The lanes of ``song_id`` changed (undo, edit): give the kernel the new ones."""
        with self.engine._lock, self._lock:
            if song_id == self.song_id:
                self.engine.set_lanes(self.automation.packed())

    def set_bias(self, bias_db: float, fade_in_s: float, fade_out_s: float) -> None:
        """Change the song's level offset and fades while it plays."""
        rate = self.engine.sample_rate
        ctl = self.engine.auto_ctl
        ctl[K.CTL_BIAS + P.OUTPUT_GAIN] = bias_db
        ctl[K.CTL_FADE_IN] = round(fade_in_s * rate)
        ctl[K.CTL_FADE_OUT] = round(fade_out_s * rate)

    def mode_of(self, param_id: str) -> str:
        """The mode a lane is in: its own, else the global one."""
        lane = self.automation.lanes.get(param_id)
        return lane.mode if lane is not None and lane.mode else self.global_mode

    def writing(self) -> list[str]:
        """Parameters being written now."""
        with self._lock:
            return [P.PARAMS[p].id for p, s in self._states.items() if s.writing]

    # the tick --------------------------------------------------------------------------------
    def rolling(self) -> bool:
        """Whether the transport plays forward."""
        rt, ctl = self.engine.rt, self.engine.ctl
        return ctl[C_PLAY] > 0.5 and rt[R_PLAYING] > 0.5 and rt[R_ENDED] < 0.5

    def tick(self, now: float) -> None:
        """Drain the ring, step every lane, follow playback (see the module docstring)."""
        commits: dict[str, Lane] = {}
        snaps: dict[str, float] = {}
        with self._lock:
            song_id = self.song_id
            self._drain(commits)
            self._step_lanes(now, snaps)
        if snaps:
            self.desk.set_many(snaps, AUTHOR)
        self._commit(song_id, commits)
        if now >= self._next_follow:
            self._next_follow = now + FOLLOW_S
            self._follow()

    def _step_lanes(self, now: float, snaps: dict[str, float]) -> None:
        engine = self.engine
        ctl = engine.auto_ctl
        rolling = self.rolling()
        for p, param in enumerate(P.PARAMS):
            lane = self.automation.lanes.get(param.id)
            mode = lane.mode if lane is not None and lane.mode else self.global_mode
            state = self._states.get(p, IDLE)
            new_state, kernel_mode = step(
                mode, state, touched=self.tracker.touched(param.id, now), rolling=rolling,
                has_lane=bool(lane and lane.points), toggled=param.kind != "continuous")
            old_mode = int(ctl[K.CTL_MODE + p])
            if kernel_mode != old_mode:
                if kernel_mode in (K.M_TRIM, K.M_TRIM_REC) and old_mode not in (K.M_TRIM,
                                                                                 K.M_TRIM_REC):
                    ctl[K.CTL_TRIM_REF + p] = engine.chain.values[p]
                if kernel_mode == K.M_TRIM_REC:  # the kernel's START entry will be a trim
                    self._trim_armed[p] = float(ctl[K.CTL_TRIM_REF + p])
                elif kernel_mode == K.M_DESK_REC:
                    self._trim_armed.pop(p, None)
                if kernel_mode == K.M_DESK_REC and old_mode == K.M_LANE and lane and lane.points \
                        and self.tracker.held(param.id):
                    snaps[param.id] = self._played(p)  # touch sense: start from what plays
                ctl[K.CTL_MODE + p] = kernel_mode
            if new_state == IDLE:
                self._states.pop(p, None)
            else:
                self._states[p] = new_state
            if new_state.writing and not state.writing:
                self._pass_before.setdefault(param.id, self.automation.lane(param.id))

    def _played(self, p: int) -> float:
        param = P.PARAMS[p]
        value = float(self.engine.target[p] - self.engine.auto_ctl[K.CTL_BIAS + p])
        return min(max(value, param.min), param.max)

    def _drain(self, commits: dict[str, Lane]) -> None:
        entries, self._read, lost = K.drain(self.engine.auto_st, self._read)
        if lost:
            self.lost += lost
            log.warning("automation: %d recorded moves were lost (the ring overflowed)", lost)
        for pos, p, value, kind in entries:
            position = int(pos)
            if kind == K.KIND_START:
                reference = self._trim_armed.pop(p, None)
                self._recording[p] = _Recording(position, [(position, value)], reference)
            elif kind == K.KIND_CHANGE:
                rec = self._recording.get(p)
                if rec is not None:
                    rec.changes.append((position, value))
            else:
                rec = self._recording.pop(p, None)
                if rec is not None and position > rec.start:
                    self._merge(p, rec, position, value, commits)

    def _merge(self, p: int, rec: _Recording, end: int, value: float,
               commits: dict[str, Lane]) -> None:
        param_id = P.PARAMS[p].id
        hold = round(HOLD_AFTER_S * self.engine.sample_rate)
        points = staircase([*rec.changes, (end, value)], hold)
        lane = commits.get(param_id) or self.automation.lane(param_id)
        if rec.trim_reference is not None:
            points = trimmed(param_id, lane.points, points, rec.trim_reference)
        points = thin(param_id, points, self.thinning_factor)
        merged = merge_pass(param_id, lane.points, points, rec.start, end)
        commits[param_id] = Lane(param_id, merged, lane.mode)

    def _commit(self, song_id: str | None, commits: dict[str, Lane], force: bool = False
                ) -> None:
        """Hand merged lanes to the owner and the kernel; close the pass if it is over."""
        if song_id is None:
            return
        if commits:
            self.on_commit(song_id, commits)
            self.reload(song_id)
        with self._lock:
            done = self._pass_done(force)
        if done is not None:
            self.on_pass(song_id, *done)

    def _pass_done(self, force: bool = False) -> tuple[dict[str, Lane], dict[str, Lane]] | None:
        """When the transport has stopped and every pass is in: (before, after) lanes."""
        if not self._pass_before:
            return None
        if not force and (self._recording or self.rolling() or
                          any(s.writing for s in self._states.values())):
            return None
        before, self._pass_before = self._pass_before, {}
        after = {k: self.automation.lane(k) for k in before}
        return before, after

    def _follow(self) -> None:
        engine = self.engine
        ctl = engine.auto_ctl
        values: dict[str, float] = {}
        desk_values = engine.chain.values
        for p, param in enumerate(P.PARAMS):
            lane = self.automation.lanes.get(param.id)
            if int(ctl[K.CTL_MODE + p]) != K.M_LANE or lane is None or not lane.points:
                continue
            value = self._played(p)
            if abs(value - desk_values[p]) > 1e-9 * (1.0 + abs(value)):
                values[param.id] = value
        if values:
            self.desk.set_many(values, AUTHOR)

    def finish(self, timeout_s: float = 0.5) -> None:
        """End every pass now (song change, shutdown) and merge what was written."""
        engine = self.engine
        recording = False
        with self._lock:
            ctl = engine.auto_ctl
            for p in range(K.N):
                mode = int(ctl[K.CTL_MODE + p])
                if mode == K.M_DESK_REC:
                    ctl[K.CTL_MODE + p] = K.M_LANE
                    recording = True
                elif mode == K.M_TRIM_REC:
                    ctl[K.CTL_MODE + p] = K.M_TRIM
                    recording = True
            self._states.clear()
        if engine.running and recording:  # the kernel reports the ends at its next block
            deadline = time.monotonic() + timeout_s
            st = engine.auto_st
            while time.monotonic() < deadline and any(
                    st[K.S_PREV_MODE + p] != ctl[K.CTL_MODE + p] for p in range(K.N)):
                time.sleep(0.002)
        commits: dict[str, Lane] = {}
        with self._lock:
            song_id = self.song_id
            self._drain(commits)
            self._recording.clear()
        self._commit(song_id, commits, force=True)

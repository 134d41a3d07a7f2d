"""The automation runner against the real callback, driven block by block (no audio device).

The engine's compiled block function is called directly, on a thread of its
own (it sets FTZ/DAZ for the thread that runs it), so every step is
deterministic: which block a move landed in, where a pass starts and ends.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf

from console.automation.lanes import Lane, SongAutomation, value_at
from console.automation.runner import AutomationRunner
from console.engine import callback as cb
from console.engine.stream import Engine
from dsp import automation as K
from dsp import params as P

RATE = 48000
BLOCK = 256
GAIN = P.index("output.gain_db")


class Rig:
    def __init__(self, tmp_path, lanes: SongAutomation, mode: str):
        t = np.arange(4 * RATE) / RATE
        s = 0.1 * np.sin(2 * np.pi * 440 * t)
        sf.write(tmp_path / "s.wav", np.stack([s, s], 1), RATE, subtype="FLOAT")
        self.engine = Engine(RATE, BLOCK)
        self.engine.load_song(str(tmp_path / "s.wav"))
        self.commits: list[dict[str, Lane]] = []
        self.passes: list[tuple] = []
        self.runner = AutomationRunner(self.engine, lambda song, c: self._commit(c),
                                       lambda song, b, a: self.passes.append((b, a)))
        self.runner.global_mode = mode
        self.lanes = lanes
        self.runner.set_song("s", lanes, frames=4 * RATE)
        self.out = np.zeros(BLOCK * 2, dtype=np.float32)
        self.inp = np.zeros(1, dtype=np.float32)

    def _commit(self, changes):
        for lane in changes.values():
            self.lanes.put(lane)
        self.commits.append(changes)

    def blocks(self, n: int) -> None:
        """Run ``n`` callbacks, then one runner tick."""
        def run():
            for _ in range(n):
                cb.run_block(self.engine.table, self.inp, self.out, BLOCK, 0, 2, 0)
        worker = threading.Thread(target=run)
        worker.start()
        worker.join()
        self.runner.tick(0.0)

    @property
    def position(self) -> int:
        return int(self.engine.rt[cb.R_POSITION])


@pytest.fixture
def trim_rig(tmp_path):
    lanes = SongAutomation()
    lanes.put(Lane("output.gain_db", ((0, -20.0), (2 * RATE, -10.0))))
    return Rig(tmp_path, lanes, "trim")


def test_a_trim_pass_rides_the_lane_by_the_fader_move(trim_rig):
    rig = trim_rig
    desk, runner = rig.engine.desk, rig.runner
    runner.global_mode = "read"
    rig.blocks(1)
    desk.set("output.gain_db", -6.0, "ui")  # where the fader sits when trimming begins
    runner.global_mode = "trim"
    rig.engine.ctl[cb.C_PLAY] = 1.0
    rig.blocks(8)
    assert rig.engine.auto_ctl[K.CTL_MODE + GAIN] == K.M_TRIM
    assert rig.engine.auto_ctl[K.CTL_TRIM_REF + GAIN] == -6.0
    runner.tracker.touch("output.gain_db", True, 0.0)
    rig.blocks(1)
    desk.set("output.gain_db", -3.0, "surface:x")  # +3 dB on top of the lane
    start = rig.position
    rig.blocks(40)
    assert rig.engine.target[GAIN] == pytest.approx(value_at(
        "output.gain_db", rig.lanes.lanes["output.gain_db"].points, rig.position - 1) + 3.0,
        abs=0.01)
    runner.tracker.touch("output.gain_db", False, 0.0)
    rig.blocks(1)
    end = rig.position
    rig.blocks(2)
    assert rig.commits, "the trim pass was not merged"
    new = rig.lanes.lanes["output.gain_db"].points
    old = ((0, -20.0), (2 * RATE, -10.0))
    for pos in range(start + BLOCK, end - BLOCK, 1000):
        assert value_at("output.gain_db", new, pos) == pytest.approx(
            value_at("output.gain_db", old, pos) + 3.0, abs=0.02)
    assert value_at("output.gain_db", new, 2 * RATE) == -10.0  # outside the pass: as before
    rig.engine.ctl[cb.C_PLAY] = 0.0
    rig.blocks(20)
    assert len(rig.passes) == 1


def test_write_mode_flattens_a_lane_from_play_to_stop(tmp_path):
    lanes = SongAutomation()
    lanes.put(Lane("output.gain_db", ((0, -20.0), (4 * RATE, 0.0))))
    rig = Rig(tmp_path, lanes, "write")
    rig.engine.desk.set("output.gain_db", -7.0, "ui")
    rig.engine.ctl[cb.C_PLAY] = 1.0
    rig.blocks(2)
    start = rig.position
    rig.blocks(100)
    rig.engine.ctl[cb.C_PLAY] = 0.0
    rig.blocks(30)  # faded out and stopped: the runner ends the pass ...
    end = rig.position
    rig.blocks(1)  # ... and the kernel reports where, at its next block
    points = rig.lanes.lanes["output.gain_db"].points
    for pos in range(start + 1000, end - 1000, 2000):
        assert value_at("output.gain_db", points, pos) == -7.0
    assert value_at("output.gain_db", points, 3 * RATE) == pytest.approx(-5.0, abs=0.01)
    assert len(rig.passes) == 1

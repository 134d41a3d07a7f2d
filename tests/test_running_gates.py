"""The live meter's gated figures kept as chunks arrive: exact enough, and a steady cost.

Issue 16, item 9: every meter update recomputed loudness over the whole history,
so a daemon up for 10 hours spent a core on it. :class:`dsp.gating.RunningGates`
must give the figures :func:`dsp.gating.integrated_lufs` and
:func:`dsp.gating.loudness_range_lu` give (to a bin's width), at a cost that does
not grow with the history.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from dsp import gating, loudness

HOP = 4800  # 100 ms at 48 kHz


def _chunks(hours: float, seed: int = 1) -> np.ndarray:
    """Chunk rows as a meter writes them: a programme that swells and breathes, with pauses."""
    n = int(hours * 36000)
    rng = np.random.default_rng(seed)
    level_db = -20 + 8 * np.sin(np.arange(n) / 3000) + rng.normal(0, 3, n)
    level_db[(np.arange(n) // 6000) % 7 == 6] = -120  # silent stretches
    energy = 10 ** ((level_db - loudness.LOUDNESS_OFFSET) / 10) * HOP
    left = np.sqrt(energy / HOP) * rng.uniform(0.5, 1.0, n)
    right = left * rng.uniform(0.2, 1.0, n)
    return np.stack([energy, left * right * HOP, left * left * HOP, right * right * HOP])


@pytest.mark.parametrize("pieces", [1, 7, 997])
def test_running_gates_give_the_exact_figures_to_a_bin(pieces):
    data = _chunks(0.5)
    gates = gating.RunningGates(HOP)
    for part in np.array_split(np.arange(data.shape[1]), pieces):
        gates.add(data[:, part])
    exact_i = gating.integrated_lufs(data[gating.ENERGY], HOP)
    exact_lra = gating.loudness_range_lu(data[gating.ENERGY], HOP)
    assert abs(gates.integrated_lufs() - exact_i) < 0.005
    assert abs(gates.loudness_range_lu() - exact_lra) <= 0.02
    assert gates.correlation() == pytest.approx(gating.correlation(data), abs=1e-12)
    assert gates.correlation(live=True) == pytest.approx(gating.correlation(data, 4), abs=1e-12)


def test_silence_and_too_little_audio_read_none():
    gates = gating.RunningGates(HOP)
    assert gates.integrated_lufs() is None and gates.loudness_range_lu() is None
    silence = np.zeros((4, 50))
    gates.add(silence)
    assert gates.integrated_lufs() is None and gates.correlation() is None


def test_a_reading_costs_the_same_after_ten_hours_as_after_one():
    def cost(hours):
        gates = gating.RunningGates(HOP)
        gates.add(_chunks(hours))
        fresh = _chunks(0.001, seed=9)  # one update's worth of new chunks (3-4)
        started = time.perf_counter()
        for _ in range(200):
            gates.add(fresh[:, :3])
            gates.integrated_lufs()
            gates.loudness_range_lu()
            gates.correlation()
        return (time.perf_counter() - started) / 200

    one, ten = min(cost(1.0) for _ in range(2)), min(cost(10.0) for _ in range(2))
    assert ten < 2.0 * one, (one, ten)  # the exact way: ten times the cost
    data = _chunks(10.0)
    started = time.perf_counter()
    gating.integrated_lufs(data[gating.ENERGY], HOP)
    exact = time.perf_counter() - started
    assert exact > 20 * ten  # what the running gates save each update, ten hours in

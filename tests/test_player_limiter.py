"""The streaming player's limiter the platform preview plays (Spotify loud): -1 dBFS, 5/100 ms."""

from __future__ import annotations

import numpy as np

from dsp import player_limiter
from tests.jackrecorder import clicks

RATE = 48000


def _run(x, on, state=None, block=256):
    state = player_limiter.prepare(RATE) if state is None else state
    y = x.copy()
    for at in range(0, len(y), block):
        part = y[at:at + block]
        player_limiter.process(part, part.shape[0], state, on)
    return y, state


def _tone(seconds, level_db, freq=200.0):
    t = np.arange(int(seconds * RATE)) / RATE
    x = 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)
    return np.ascontiguousarray(np.stack([x, x], 1))


def test_a_hot_master_is_pulled_down_to_about_minus_1_dbfs():
    x = _tone(1.0, 3.0)  # +3 dBFS peaks: what +6 dB of gain does to a -3 dBFS master
    y, state = _run(x, True)
    settled = y[int(0.05 * RATE):]
    peak_db = 20 * np.log10(np.abs(settled).max())
    # no look-ahead, a 5 ms attack: each 200 Hz crest overshoots the -1 dBFS ceiling a
    # little before the gain catches it, as the player's would
    assert -1.3 < peak_db <= 0.0
    assert 20 * np.log10(state[player_limiter.GAIN]) < -2.5  # about 3-4 dB of reduction


def test_a_quiet_master_is_left_alone_and_off_is_off():
    x = _tone(0.5, -6.0)
    assert np.array_equal(_run(x, True)[0], x)
    hot = _tone(0.5, 3.0)
    assert np.array_equal(_run(hot, False)[0], hot)


def test_the_attack_and_decay_are_5_and_100_ms():
    x = np.zeros((RATE, 2))
    x[:, :] = 1.0  # a step to 0 dBFS: the gain falls to -1 dB with the attack's time constant
    y, _ = _run(x, True)
    gain = y[:, 0]
    target = 10 ** (-1 / 20)
    k = int(np.argmax(gain - target < (1 - target) * np.exp(-1)))  # one time constant in
    assert abs(k / RATE - 0.005) < 0.0005
    x[RATE // 2:] = 0.5  # quieter: the gain recovers with the decay's
    y, _ = _run(x, True)
    recovered = int(np.argmax(y[RATE // 2:, 0] / 0.5 > 1 - (1 - target) * np.exp(-1)))
    assert abs(recovered / RATE - 0.100) < 0.005


def test_switching_it_off_glides_back_without_a_click():
    x = _tone(1.0, 3.0)
    state = player_limiter.prepare(RATE)
    first, state = _run(x[:RATE // 2], True, state)
    second, state = _run(x[RATE // 2:], False, state)
    heard = np.concatenate([first, second])
    assert clicks(heard) == []
    hard = np.concatenate([first, x[RATE // 2:]])  # what an unglided switch would do
    assert clicks(hard) != []

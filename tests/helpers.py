"""Small shared tools for the DSP tests: signals, levels, and running a stage."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from dsp import params as P
from dsp import taps


def db(x: float) -> float:
    return 20.0 * np.log10(max(float(x), 1e-300))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(x))))


def sine(freq: float, seconds: float, rate: float, amp: float = 0.5,
         phase: float = 0.0) -> np.ndarray:
    t = np.arange(round(seconds * rate)) / rate
    s = amp * np.sin(2 * np.pi * freq * t + phase)
    return np.ascontiguousarray(np.stack([s, s], axis=1))


def params(**settings: float) -> tuple[np.ndarray, np.ndarray]:
    """Target and current arrays with ``settings`` applied (dots written as __)."""
    target = P.defaults()
    for key, value in settings.items():
        target[P.index(key.replace("__", "."))] = value
    return target, target.copy()


def stage_params(stage: str, settled: bool = True, **values: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Target/current arrays with ``stage`` engaged and ``values`` by field (``ratio=4``).

    ``settled=False`` leaves ``current`` at the defaults, so the values glide in.
    """
    target = P.defaults()
    target[P.index(f"{stage}.bypass")] = 0.0
    for key, value in values.items():
        target[P.index(f"{stage}.{key}")] = value
    current = target.copy() if settled else P.defaults()
    return target, current


def run_in_blocks(process, x: np.ndarray, block: int, target: np.ndarray,
                  current: np.ndarray, state: np.ndarray) -> np.ndarray:
    """Run a stage's ``process`` over ``x`` in blocks of ``block`` frames; return a copy."""
    y = np.ascontiguousarray(x, dtype=np.float64).copy()
    tap = np.zeros(taps.COUNT)
    for start in range(0, y.shape[0], block):
        process(y[start:start + block], target, current, state, tap)
    return y


def subnormals(x: np.ndarray) -> int:
    """How many samples are subnormal as float32: nonzero, under float32's smallest normal."""
    x = np.asarray(x)
    return int(((np.abs(x) < np.finfo(np.float32).tiny) & (x != 0)).sum())


@contextmanager
def mounted_tmpfs(folder: Path, size: str) -> Iterator[Path]:
    """A real tmpfs of ``size`` mounted on ``folder`` (made here) while the block runs.

    Mounting needs root, as CI runs; elsewhere the test fails and says so
    rather than passing without having run.
    """
    if os.getuid() != 0:
        pytest.fail("this test mounts a tmpfs: run it as root (CI does)")
    folder.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                   check=True)
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)

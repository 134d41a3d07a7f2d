"""Session and automation figures: kernel cost per frame, save and load times, journal flushes.

- The automation kernel is timed against the bare chain on the same noise,
  in 256-frame blocks: with no lane, with four lanes that hold still (the
  kernel evaluates them every 32 samples but cuts no block), and with four
  lanes that move all the time (every parameter then glides continuously,
  which costs the stages more than the automation itself).
- Saves and loads use a large album in a temporary folder: twelve songs,
  four lanes of 2,000 breakpoints each, a full settings table.
- Journal flushes are ``write`` + ``fsync`` of a quarter second of moves.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from console.session import journal as jn
from console.session.model import Session
from console.session.store import SessionStore
from dsp import automation as K
from dsp import params as P
from dsp.chain import Chain, process_block

RATE = 48000
LANE_IDS = ("output.gain_db", "limiter.drive_db", "eq.band3.gain_db", "stereo.width_pct")


def _kernel_ns_per_frame(seconds: float, repeats: int, lanes: dict[int, tuple] | None,
                         bare: bool = False) -> float:
    """Median ns per frame of the automation kernel (or of the chain alone).

    ``bare`` runs the chain without the kernel, moving the targets once per
    block along the same lanes, so the stages glide just as much.
    """
    x0 = np.random.default_rng(1).standard_normal((int(seconds * RATE), 2)) * 0.05
    pos = np.arange(len(x0), dtype=np.float64)
    packed = K.pack_lanes(lanes or {})
    times = []
    for _ in range(repeats):
        c = Chain(RATE)
        ctl, st, target = K.prepare_ctl(), K.prepare_state(), c.values.copy()
        for p in lanes or {}:
            ctl[K.CTL_MODE + p] = K.M_LANE
        x = x0.copy()
        started = time.perf_counter()
        for s in range(0, len(x), 256):
            if bare:
                for p, (t, v) in (lanes or {}).items():
                    c.values[p] = np.interp(s, t, v)
                process_block(x[s:s + 256], c.values, c.current, c.io, c.eq, c.comp, c.exciter,
                              c.stereo, c.limiter, c.taps)
            else:
                K.process(x[s:s + 256], pos[s:s + 256], True, c.values, target, c.current, ctl,
                          packed, st, c.io, c.eq, c.comp, c.exciter, c.stereo, c.limiter,
                          c.taps)
        times.append(time.perf_counter() - started)
    return round(statistics.median(times) / len(x0) * 1e9, 1)


def _album(points: int = 2000) -> Session:
    s = Session(title="benchmark album")
    for k in range(12):
        s.apply({"op": "song_add", "song": {"title": f"song {k}", "file": f"mixes/{k}.wav"}})
        song = s.songs[-1].id
        s.apply({"op": "params", "id": song, "values": {p.id: p.max for p in P.PARAMS
                                                         if p.kind == "continuous"}})
        for param_id in LANE_IDS:
            param = P.get(param_id)
            values = np.linspace(param.min, param.max, points)
            s.apply({"op": "lane", "id": song, "param": param_id,
                     "points": [[i * 480, float(v)] for i, v in enumerate(values)]})
    return s


def run_session_bench(seconds: float = 10.0, repeats: int = 3) -> dict[str, Any]:
    """Measure and return the figures (see the module docstring)."""
    flat = {P.index(k): ([0.0, 1e9], [P.get(k).default] * 2) for k in LANE_IDS}
    moving = {P.index(k): ([0.0, seconds * RATE], [P.get(k).min, P.get(k).max])
              for k in LANE_IDS}
    kernel = {"bare_chain": _kernel_ns_per_frame(seconds, repeats, None, bare=True),
              "no_lanes": _kernel_ns_per_frame(seconds, repeats, None),
              "four_still_lanes": _kernel_ns_per_frame(seconds, repeats, flat),
              "bare_chain_same_moves": _kernel_ns_per_frame(seconds, repeats, moving,
                                                            bare=True),
              "four_moving_lanes": _kernel_ns_per_frame(seconds, repeats, moving)}
    album = _album()
    saves, loads, flushes = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(Path(tmp) / "album", keep_backups=3)
        for _ in range(5):
            started = time.perf_counter()
            store.save(album, store.next_generation(album))
            saves.append(time.perf_counter() - started)
            started = time.perf_counter()
            store.load(replay=False)
            loads.append(time.perf_counter() - started)
        journal = jn.Journal(Path(tmp) / "j.jsonl", 0, interval_s=3600.0)
        for k in range(40):
            for m in range(250):  # a knob moved every millisecond for a quarter second
                journal.append({"op": "params", "id": "song-0",
                                "values": {"output.gain_db": -(k + m) % 30}})
            started = time.perf_counter()
            journal.flush()
            flushes.append(time.perf_counter() - started)
        journal.close()
        store.close()
    return {
        "automation_kernel_ns_per_frame": kernel,
        "grid_samples": K.GRID,
        "album": {"songs": 12, "lanes_per_song": len(LANE_IDS), "points_per_lane": 2000},
        "save_ms": {"median": round(statistics.median(saves) * 1000, 1),
                    "max": round(max(saves) * 1000, 1)},
        "load_ms": {"median": round(statistics.median(loads) * 1000, 1)},
        "journal_flush_interval_s": jn.FLUSH_INTERVAL_S,
        "journal_flush_ms": {"median": round(statistics.median(flushes) * 1000, 2),
                             "max": round(max(flushes) * 1000, 2)},
    }

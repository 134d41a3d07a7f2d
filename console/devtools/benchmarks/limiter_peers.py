"""Limiter peer benchmark: masterdeck's limiter against x42-dpl, LSP, alimiter and pedalboard.

Issue 15 asks whether masterdeck gets as loud as its peers, as cleanly, with
the ceiling held. This answers it on music the bench makes itself
(:mod:`peer_music`), with the measurements in :mod:`peer_measures` and the
limiters behind one call each in :mod:`peer_limiters`:

- every song at 44.1 and 48 kHz is driven 0..18 dB (a plain gain) into each
  limiter at a -1 dB(TP) ceiling; per drive, the integrated loudness reached
  and the added distortion (null test), with each output aligned by the
  limiter's measured latency;
- loudness at the ceiling: a limiter that lets overs through is credited
  only with the loudness it has once its output is turned down until its
  true peak (16x) is at the ceiling, as a plant or platform would need;
- distortion at equal loudness: per song, each limiter's distortion
  interpolated (over its drive sweep) at the highest loudness (at the
  ceiling) every limiter reaches, and 3 LU below it, so a limiter is not
  credited for being quiet; turning an output down does not change its
  distortion (the null test fits the gain);
- the largest fall in loudness from one drive to the next (more drive
  should never make a master quieter);
- SMPTE and CCIF IMD at 6 dB of drive;
- the worst true peak over every song and drive on three meters;
- latency by impulse, and speed as seconds per minute of audio (median over
  every run; the external peers' figure includes starting a process and
  reading and writing a WAV, a few tens of ms per run).
"""

from __future__ import annotations

import datetime
import os
import platform
import statistics
import time

import numpy as np

from console.devtools.benchmarks import peer_limiters, peer_music
from console.devtools.benchmarks import peer_measures as M

DRIVES_DB = (0.0, 3.0, 6.0, 9.0, 12.0, 15.0, 18.0)
RATES = (44100, 48000)
IMD_DRIVE_DB = 6.0
TAIL_S = 0.25
"""Silence after each song, so a limiter's latency doesn't cut the end off."""
BELOW_COMMON_LU = 3.0


def _padded(x: np.ndarray, rate: int) -> np.ndarray:
    """``x`` with a silent tail, rounded to float32 (what the WAV-based peers get)."""
    tail = np.zeros((int(TAIL_S * rate), 2))
    return np.concatenate([x, tail]).astype(np.float32).astype(np.float64)


def _run(limiter: peer_limiters.Limiter, x: np.ndarray, rate: int, latency: int
         ) -> tuple[np.ndarray, float]:
    start = time.perf_counter()
    y = limiter.process(x, rate)
    elapsed = time.perf_counter() - start
    return M.align(y, latency, x.shape[0]), elapsed


def _imd(limiter: peer_limiters.Limiter, rate: int, latency: int) -> dict[str, float]:
    """SMPTE and CCIF IMD with the two-tone peaking at -1 dBFS, driven ``IMD_DRIVE_DB``."""
    peak = 10 ** ((-1.0 + IMD_DRIVE_DB) / 20)
    smpte, _ = _run(limiter, _padded(M.smpte_signal(rate, 3.0, peak), rate), rate, latency)
    ccif, _ = _run(limiter, _padded(M.ccif_signal(rate, 3.0, peak), rate), rate, latency)
    return {"smpte_db": round(M.smpte_imd_db(smpte, rate), 1),
            "ccif_db": round(M.ccif_imd_db(ccif, rate), 1)}


def _distortion_at(lufs: list[float], distortion: list[float], target: float) -> float | None:
    """Distortion interpolated at loudness ``target`` over a drive sweep (None if never reached).

    Interpolated as energy, not in dB: between a perfect null (-200 dB) at one
    drive and -30 dB at the next, halfway is about -33 dB, not -115.
    """
    pairs = sorted(zip(lufs, distortion, strict=True))
    xs = [p[0] for p in pairs]
    if not xs or target > xs[-1] + 1e-9 or target < xs[0] - 1e-9:
        return None
    energy = np.interp(target, xs, [10 ** (p[1] / 10) for p in pairs])
    return round(10 * float(np.log10(max(energy, 1e-30))), 1)


def equal_loudness(figures: dict[str, dict]) -> dict[str, dict]:
    """Per song, each limiter's distortion at the loudest level all reach, and 3 LU below.

    Loudness at the ceiling (overs pulled down), so an over is not loudness.
    """
    equal: dict[str, dict] = {}
    for key in next(iter(figures.values()))["songs"]:
        common = min(max(f["songs"][key]["lufs_at_ceiling"]) for f in figures.values())
        equal[key] = {}
        for target in (common, common - BELOW_COMMON_LU):
            equal[key][f"{target:.1f}"] = {
                n: _distortion_at(f["songs"][key]["lufs_at_ceiling"],
                                  f["songs"][key]["distortion_db"], target)
                for n, f in figures.items()}
    return equal


def ours(name: str) -> bool:
    """Whether a row of the bench is masterdeck (its default or another of its settings)."""
    return name == "masterdeck" or name.startswith("md-")


def at_the_peers_loudness(figures: dict[str, dict]) -> dict[str, list[dict]]:
    """Per song, at each peer's loudest level: the cleanest peer and masterdeck setting there.

    Issue 15's question. Levels are at the ceiling (overs pulled down).
    Distortion is interpolated over each drive sweep (:func:`_distortion_at`);
    a setting that never gets that loud has no figure.
    """
    out: dict[str, list[dict]] = {}
    for key in next(iter(figures.values()))["songs"]:
        rows = []
        for peer, f in figures.items():
            if ours(peer):
                continue
            level = max(f["songs"][key]["lufs_at_ceiling"])
            found = {n: _distortion_at(g["songs"][key]["lufs_at_ceiling"],
                                       g["songs"][key]["distortion_db"], level)
                     for n, g in figures.items()}
            theirs = {n: d for n, d in found.items() if d is not None and not ours(n)}
            mine = {n: d for n, d in found.items() if d is not None and ours(n)}
            best_peer = min(theirs, key=theirs.get)
            best_mine = min(mine, key=mine.get) if mine else None
            rows.append({"level": round(level, 2), "peer": peer,
                         "cleanest_peer": best_peer, "peer_db": theirs[best_peer],
                         "masterdeck": best_mine,
                         "masterdeck_db": mine[best_mine] if best_mine else None})
        out[key] = sorted(rows, key=lambda r: -r["level"])
    return out


def loudest_and_falls(figures: dict[str, dict]) -> dict[str, dict]:
    """Per song and limiter: the loudest at the ceiling, and the largest fall with more drive."""
    out: dict[str, dict] = {}
    for key in next(iter(figures.values()))["songs"]:
        out[key] = {}
        for name, f in figures.items():
            row = f["songs"][key]
            steps = np.diff(row["lufs"])
            out[key][name] = {"loudest_at_ceiling": max(row["lufs_at_ceiling"]),
                              "largest_fall_lu": round(float(max(0.0, -steps.min())), 2)}
    return out


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    system = f"{platform.system()} {platform.release()}"
    return f"{platform.node()} ({cpu}, {os.cpu_count()} cores, {system})"


def run_limiter_peers_bench(seconds: float | None = None,
                            drives_db: tuple[float, ...] = DRIVES_DB,
                            rates: tuple[int, ...] = RATES) -> dict[str, object]:
    """Run every limiter on every song, drive and rate; return the figures as a dict.

    ``seconds`` cuts each song short (for a quick run while developing).
    """
    began = time.perf_counter()
    limiters = peer_limiters.limiters()
    figures: dict[str, dict] = {
        lim.name: {"settings": lim.settings, "latency_samples": {}, "imd_at_6db": {},
                   "songs": {}, "true_peak_worst_dbtp": {}} for lim in limiters}
    timings: dict[str, list[float]] = {lim.name: [] for lim in limiters}
    made_with = set()
    for rate in rates:
        impulse = M.impulse(rate)
        latency = {}
        for lim in limiters:
            lim.process(impulse, rate)  # warm-up: masterdeck compiles its kernels here
            latency[lim.name] = M.latency_samples(impulse, lim.process(impulse, rate))
            figures[lim.name]["latency_samples"][str(rate)] = latency[lim.name]
            figures[lim.name]["imd_at_6db"][str(rate)] = _imd(lim, rate, latency[lim.name])
        for arr in peer_music.arrangements():
            song, how = peer_music.render(arr, rate)
            made_with.add(how)
            if seconds is not None:
                song = song[:int(seconds * rate)]
            key = f"{arr.name}@{rate // 1000 if rate % 1000 == 0 else rate / 1000:g}k"
            minutes = song.shape[0] / rate / 60.0
            for lim in limiters:
                row: dict[str, list] = {"lufs": [], "lufs_at_ceiling": [], "distortion_db": []}
                for drive in drives_db:
                    x = _padded(song * 10 ** (drive / 20), rate)
                    y, elapsed = _run(lim, x, rate, latency[lim.name])
                    timings[lim.name].append(elapsed / minutes)
                    lufs = M.integrated_lufs(y, rate)
                    peaks = M.true_peaks_dbtp(y, rate)
                    over = max(0.0, peaks["x16"] - peer_limiters.CEILING_DB)
                    row["lufs"].append(round(lufs, 2))
                    row["lufs_at_ceiling"].append(round(lufs - over, 2))
                    row["distortion_db"].append(round(M.null_residual_db(x, y), 1))
                    worst = figures[lim.name]["true_peak_worst_dbtp"]
                    for meter, value in peaks.items():
                        worst[meter] = max(worst.get(meter, -np.inf), value)
                figures[lim.name]["songs"][key] = row
    for name, runs in timings.items():
        figures[name]["seconds_per_minute"] = round(statistics.median(runs), 3)
    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": _machine(),
        "music": " and ".join(sorted(made_with)),
        "ceiling_db": peer_limiters.CEILING_DB,
        "drives_db": list(drives_db),
        "rates": list(rates),
        "song_seconds": seconds,
        "limiters": figures,
        "distortion_at_equal_loudness": equal_loudness(figures),
        "loudest_and_falls": loudest_and_falls(figures),
        "at_the_peers_loudness": at_the_peers_loudness(figures),
        "bench_seconds": round(time.perf_counter() - began, 1),
    }


def format_table(r: dict) -> list[str]:
    """The figures as the text table ``masterdeck bench`` prints."""
    lims = r["limiters"]
    names = list(lims)
    lines = [f"limiter peers, {r['date']} on {r['machine']}",
             f"music: {r['music']}; ceiling {r['ceiling_db']:g} dB(TP); "
             f"bench took {r['bench_seconds']:g} s", "",
             "loudness reached (LUFS) / added distortion (dB, null test) per drive:"]
    lines.append(f"{'song':<26}{'limiter':<16}" + "".join(f"{f'+{d:g} dB':>13}"
                                                          for d in r["drives_db"]))
    for key in next(iter(lims.values()))["songs"]:
        for i, name in enumerate(names):
            row = lims[name]["songs"][key]
            cells = "".join(f"{lufs:7.1f}{dist:6.0f}" for lufs, dist
                            in zip(row["lufs"], row["distortion_db"], strict=True))
            lines.append(f"{key if i == 0 else '':<26}{name:<16}{cells}")
    lines += ["", "loudest reached with overs pulled down to the ceiling (LUFS) / largest "
              "fall in loudness from one drive to the next (LU):",
              f"{'song':<26}" + "".join(f"{n:>16}" for n in names)]
    for key, by_name in r["loudest_and_falls"].items():
        cells = "".join(f"{by_name[n]['loudest_at_ceiling']:>9.2f}"
                        f"{by_name[n]['largest_fall_lu']:>7.2f}" for n in names)
        lines.append(f"{key:<26}{cells}")
    lines += ["", "added distortion (dB) at equal loudness (the loudest every limiter "
              "reaches at the ceiling, and 3 LU below):",
              f"{'song':<26}{'LUFS':>7}" + "".join(f"{n:>15}" for n in names)]
    for key, targets in r["distortion_at_equal_loudness"].items():
        for j, (target, by_name) in enumerate(targets.items()):
            cells = "".join(f"{'-' if by_name[n] is None else by_name[n]:>15}" for n in names)
            lines.append(f"{key if j == 0 else '':<26}{target:>7}{cells}")
    lines += ["", "at each peer's loudest level (at the ceiling): the cleanest peer there "
              "and masterdeck's cleanest setting there (added distortion, dB):"]
    for key, rows in r["at_the_peers_loudness"].items():
        for j, row in enumerate(rows):
            mine = ("never that loud" if row["masterdeck"] is None else
                    f"{row['masterdeck']} {row['masterdeck_db']:g}")
            lines.append(f"{key if j == 0 else '':<26}{row['level']:>7.2f} ({row['peer']})"
                         f"   peer: {row['cleanest_peer']} {row['peer_db']:g}   masterdeck: {mine}")
    rates = [str(rate) for rate in r["rates"]]
    lines += ["", f"{'limiter':<16}{'latency (smp)':>16}{'SMPTE IMD':>14}{'CCIF IMD':>14}"
              f"{'worst TP: md / ebur128 / x16':>32}{'s per min':>11}   settings"]
    for name in names:
        f = lims[name]
        lat = "/".join(str(f["latency_samples"][k]) for k in rates)
        smpte = "/".join(f"{f['imd_at_6db'][k]['smpte_db']:g}" for k in rates)
        ccif = "/".join(f"{f['imd_at_6db'][k]['ccif_db']:g}" for k in rates)
        tp = f["true_peak_worst_dbtp"]
        peaks = f"{tp['masterdeck']:+.2f} / {tp['libebur128']:+.2f} / {tp['x16']:+.2f}"
        lines.append(f"{name:<16}{lat:>16}{smpte:>14}{ccif:>14}{peaks:>32}"
                     f"{f['seconds_per_minute']:>11.3f}   {f['settings']}")
    lines.append(f"(latency, IMD: {' / '.join(rates)} Hz; IMD at +{IMD_DRIVE_DB:g} dB drive)")
    return lines

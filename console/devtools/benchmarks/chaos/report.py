"""The chaos soak's figures as a few lines an engineer reads at a glance."""

from __future__ import annotations

import json
from typing import Any


def format_summary(f: dict[str, Any]) -> list[str]:
    """The headline figures first, then the detail (``--json`` prints everything)."""
    status, restarts = f["status"], f["restarts"]
    lines = [
        f"chaos soak: {f['seconds']:g} s, seed {f['seed']} (again: --seed {f['seed']})",
        f"  changes acknowledged  {f['changes_acknowledged']}",
        f"  changes lost          {f['changes_lost']}  (the goal: 0)",
        f"  changes refused       {sum(f['changes_refused'].values())}  "
        + ", ".join(f"{k} {v}" for k, v in f["changes_refused"].items()),
        f"  restarts              {sum(restarts.values())}  "
        + ", ".join(f"{k} {v}" for k, v in restarts.items()),
        f"  longest status stall  {status['longest_stall_ms']:g} ms  (p50 "
        f"{status['p50_ms']:g} ms, p99 {status['p99_ms']:g} ms, {status['polls']} polls, "
        f"{status['over_1s']} over 1 s)",
        f"  CPU / RSS at start    {_resources(f['start'])}",
        f"  CPU / RSS at end      {_resources(f['end'])}; largest RSS seen "
        f"{f['rss_max_mb']:g} MB",
        f"  allowed by design     knob moves lost: {f['knob_moves_lost_in_flush_window']} in the "
        f"journal's flush window at kill -9 (the oldest "
        f"{f['oldest_knob_move_lost_in_window_s']:g} s before it), "
        f"{f['knob_moves_lost_while_the_disk_was_full']} waiting for a full disk; "
        f"{f['in_flight_at_a_kill_and_applied']} changes in flight at a kill were applied",
        f"  disk-full spells      {f['disk_full_spells']}  ({f['disk_full_s']:g} s in all; the "
        f"daemon said so {f['disk_full_said']['times']} times, "
        f"{f['disk_full_said']['seconds']:g} s in all)",
        f"  MIDI floods           {f['midi']['floods']}  ({f['midi']['messages']} messages)",
        f"  SIGTERM to exit       {_spread(f['sigterm_exit_s'])}",
        f"  start to ready        {_spread(f['ready_after_start_s'])}",
        f"  checks                {f['checks']}; meter events read {f['meter_events']}",
        "  loads                 " + "; ".join(
            f"{kind} " + ", ".join(f"{k} {v}" for k, v in outcomes.items())
            for kind, outcomes in f["loads"].items()),
    ]
    for title, key in (("lost (first five)", "lost_detail"), ("troubles", "troubles"),
                       ("start failures", "start_failures"),
                       ("invalid requests accepted", "invalid_requests_accepted"),
                       ("session load problems", "session_load_problems")):
        if f.get(key):
            lines.append(f"  {title}:")
            items = f[key].items() if isinstance(f[key], dict) else f[key]
            lines += [f"    {json.dumps(item)}" for item in items]
    lines.append(f"  logs and the session at the end: {f['folder']}")
    return lines


def _spread(spread: dict[str, float] | None) -> str:
    if not spread:
        return "-"
    return f"median {spread['median']:g} s, max {spread['max']:g} s ({spread['count']})"


def _resources(figures: dict[str, float]) -> str:
    if not figures:
        return "-"
    return (f"{figures['cpu_pct']:g} % of a core / {figures['rss_mb']:g} MB (the daemon's "
            f"uptime {figures['uptime_s']:g} s)")

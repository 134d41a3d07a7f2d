"""The oracle: what every acknowledged change should have left in the session.

The chaos driver tells the oracle each change it sends, and how it ended:
answered ``ok`` (acknowledged), answered with an error (refused: it must not
be there), or cut off by a kill (in flight: it may or may not be there). The
model is a flat dict of *keys*, each a tuple naming one thing in the session
(``("param", song, id)``, ``("marker", song, name)``, ``("order",)``...; see
:mod:`~console.devtools.benchmarks.chaos.views`), and the value the last
acknowledged change gave it; ``None`` means absent.

After a restart the session is read back and :meth:`Oracle.check` compares
every key. Allowed differences, counted apart from losses:

- the change in flight at the kill was applied (it was never acknowledged);
- knob moves (``set``, snapshot recalls) acknowledged in the journal's flush
  window before a ``kill -9`` (``docs/sessions.md``: at most a quarter of a
  second), or made while the disk was full (they wait in memory) and not yet
  written when the daemon died: the value found is then one the key held at
  or after the last move that must have been written. The two are counted
  apart, with the age of the oldest move lost in the flush window.

Anything else that differs is a lost change. Then the model takes the
session as found, so one loss is counted once.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

Key = tuple[Any, ...]

ANY = "<any>"
"""A value the oracle cannot know (an in-flight change whose reply would have said)."""
UNKNOWN = "<unknown>"
"""A view's value for a key it cannot read (snapshot contents over the protocol)."""

FLUSH_WINDOW_S = 1.0
"""How old a knob move may be and still be lost at ``kill -9``: the journal flushes every
0.25 s (``console.session.journal``); the rest is slack for a loaded 2-core machine. The
age of the oldest move lost this way is reported, so the 0.25 s can be judged."""


@dataclass(frozen=True)
class Kill:
    """How the daemon went down before a check."""

    at: float
    """``time.monotonic()`` just before the signal was sent."""
    how: str
    """``kill -9`` or ``SIGTERM``."""


@dataclass(frozen=True)
class Spell:
    """A disk-full spell: from ``start`` until ``end`` (None: still full)."""

    start: float
    end: float | None = None


@dataclass
class Ack:
    """One acknowledged change to one key."""

    value: Any
    at: float
    knob: bool
    command: str


@dataclass
class Lost:
    """An acknowledged change the session does not have."""

    key: Key
    expected: Any
    found: Any
    command: str
    age_s: float | None
    """Seconds between its acknowledgement and the kill (None: no kill)."""
    after: str
    """What came before the check: ``kill -9``, ``SIGTERM``, ``start``, ``end``."""

    def describe(self) -> dict[str, Any]:
        """Plain data for the summary."""
        return {"key": list(self.key), "expected": self.expected, "found": self.found,
                "command": self.command, "after": self.after,
                "acknowledged_s_before_kill": None if self.age_s is None else round(self.age_s, 3)}


@dataclass
class CheckReport:
    """What one check found."""

    checked: int = 0
    lost: list[Lost] = field(default_factory=list)
    applied_in_flight: int = 0
    knob_moves_in_window: int = 0
    """Keys whose newest knob moves were lost in the journal's flush window (``kill -9``)."""
    oldest_window_move_s: float = 0.0
    knob_moves_while_full: int = 0
    """Keys whose newest knob moves waited in memory for a full disk when the daemon died."""


class Oracle:
    """The expected session, built from acknowledged changes only."""

    def __init__(self, record: Path | None = None) -> None:
        self.record = record.open("a") if record else None
        """One JSON line per change sent, answered, cut off, and per check: what a loss
        found after the fact is read against."""
        self.baseline: dict[Key, Any] = {}
        """Every key as the last check found it."""
        self.acks: dict[Key, list[Ack]] = {}
        """Changes acknowledged since that check, oldest first."""
        self.maybe: dict[Key, list[Any]] = {}
        """Values a change cut off in flight would have given (it may have been applied)."""
        self.pending: tuple[str, dict[Key, Any]] | None = None
        self.acknowledged = 0
        self.refused: Counter[str] = Counter()
        self.lost: list[Lost] = []
        self.applied_in_flight = 0
        self.knob_moves_in_window = 0
        self.oldest_window_move_s = 0.0
        self.knob_moves_while_full = 0
        self.checks = 0

    # what the session should hold ----------------------------------------------------
    def expected(self, key: Key) -> Any:
        """The value ``key`` should have now (the last acknowledged; None: absent)."""
        acks = self.acks.get(key)
        return acks[-1].value if acks else self.baseline.get(key)

    def keys(self, kind: str) -> list[Key]:
        """Keys of one kind (``param``, ``marker``...) that exist now."""
        found = {k for k in (*self.baseline, *self.acks) if k[0] == kind}
        return sorted((k for k in found if self.expected(k) is not None), key=repr)

    # what the driver tells it ----------------------------------------------------------
    def sending(self, command: str, sets: dict[Key, Any]) -> None:
        """A change is on its way; if the daemon dies before it answers, it was in flight."""
        self.pending = (command, dict(sets))
        self.note("send", command, sets)

    def acknowledge(self, command: str, sets: dict[Key, Any], at: float,
                    knob: bool = False) -> None:
        """The daemon answered ``ok``: every key in ``sets`` must now hold its value.

        ``knob`` marks a parameter move, which the journal writes within its flush
        interval rather than before the reply.
        """
        self.pending = None
        self.acknowledged += 1
        self.note("ok", command, sets, at)
        for key, value in sets.items():
            self.acks.setdefault(key, []).append(Ack(value, at, knob, command))
            if key[0] == "song" and value is None:
                self._forget_song(key[1])

    def refuse(self, command: str, reason: str) -> None:
        """The daemon answered with an error: the change must not be in the session."""
        self.pending = None
        self.refused[reason] += 1
        self.note("refused", command, {}, reason=reason)

    def cut_off(self) -> None:
        """The daemon went away before answering the pending change: it may be there."""
        if self.pending is not None:
            for key, value in self.pending[1].items():
                self.maybe.setdefault(key, []).append(value)
        self.pending = None

    # checking --------------------------------------------------------------------------
    def check(self, view: dict[Key, Any], after: str, kill: Kill | None = None,
              spells: list[Spell] | tuple[Spell, ...] = ()) -> CheckReport:
        """Compare the session read back with every acknowledged change; then adopt it."""
        self.cut_off()
        self.note("check", after, {}, kill.at if kill else None, kill=kill and kill.how)
        report = CheckReport()
        for key in sorted(set(self.baseline) | set(self.acks), key=repr):
            found = view.get(key)
            if found == UNKNOWN:
                continue
            report.checked += 1
            self._judge(key, found, kill, spells, after, report)
        self._adopt(view)
        self.checks += 1
        for lost in report.lost:
            self.note("lost", lost.command, {lost.key: lost.found}, expected=lost.expected)
        self.lost += report.lost
        self.applied_in_flight += report.applied_in_flight
        self.knob_moves_in_window += report.knob_moves_in_window
        self.knob_moves_while_full += report.knob_moves_while_full
        self.oldest_window_move_s = max(self.oldest_window_move_s, report.oldest_window_move_s)
        return report

    def note(self, event: str, command: str, sets: dict[Key, Any], at: float | None = None,
             **more: Any) -> None:
        """Write one event to the record (if there is one)."""
        if self.record is not None:
            self.record.write(json.dumps({
                "event": event, "command": command, "at": round(at or time.monotonic(), 3),
                "sets": [[list(k), v] for k, v in sets.items()], **more}, default=str) + "\n")
            self.record.flush()

    def _judge(self, key: Key, found: Any, kill: Kill | None, spells: tuple[Spell, ...] | list,
               after: str, report: CheckReport) -> None:
        acks = self.acks.get(key, [])
        expected = acks[-1].value if acks else self.baseline.get(key)
        if same(found, expected):
            return
        if any(same(found, v) for v in self.maybe.get(key, ())):
            report.applied_in_flight += 1
            return
        risks = [_at_risk(a, kill, spells) for a in acks]
        safe = [k for k, risk in enumerate(risks) if risk is None]
        first = safe[-1] if safe else -1  # the newest change that must have been written
        held = [(k, acks[k].value) for k in range(max(first, 0), len(acks))]
        if first < 0:
            held.insert(0, (-1, self.baseline.get(key)))
        matches = [k for k, value in held if same(found, value)]
        if matches and kill is not None:  # only moves the journal could not have written are gone
            gone = matches[-1] + 1
            if "disk full" in risks[gone:]:
                report.knob_moves_while_full += 1
            else:
                report.knob_moves_in_window += 1
                report.oldest_window_move_s = max(report.oldest_window_move_s,
                                                  kill.at - acks[gone].at)
            return
        last = acks[-1] if acks else None
        report.lost.append(Lost(key, expected, found, last.command if last else "(baseline)",
                                kill.at - last.at if kill and last else None, after))

    def _adopt(self, view: dict[Key, Any]) -> None:
        keys = set(self.baseline) | set(self.acks) | set(view)
        fresh: dict[Key, Any] = {}
        for key in keys:
            found = view.get(key)
            expected = self.expected(key)
            fresh[key] = found if found != UNKNOWN or expected is None else expected
        self.baseline = {k: v for k, v in fresh.items() if v is not None}
        self.acks.clear()
        self.maybe.clear()
        for key, value in list(self.baseline.items()):
            if key[0] == "song" and value is None:
                self._forget_song(key[1])

    def _forget_song(self, song: str) -> None:
        """A song removed takes its settings, markers and snapshots with it."""
        for store in (self.baseline, self.acks):
            for key in [k for k in store if k[0] != "song" and len(k) > 1 and k[1] == song]:
                del store[key]

    def summary(self) -> dict[str, Any]:
        """The oracle's counts, for the bench's output."""
        return {"changes_acknowledged": self.acknowledged,
                "changes_refused": dict(sorted(self.refused.items())),
                "changes_lost": len(self.lost),
                "lost_detail": [x.describe() for x in self.lost[:5]],
                "in_flight_at_a_kill_and_applied": self.applied_in_flight,
                "knob_moves_lost_in_flush_window": self.knob_moves_in_window,
                "oldest_knob_move_lost_in_window_s": round(self.oldest_window_move_s, 3),
                "knob_moves_lost_while_the_disk_was_full": self.knob_moves_while_full,
                "checks": self.checks}


def _at_risk(ack: Ack, kill: Kill | None, spells: tuple[Spell, ...] | list) -> str | None:
    """Why a knob move may rightly be missing after ``kill`` (None: it may not)."""
    if not ack.knob or kill is None:
        return None
    for spell in spells:  # made while the disk was full, and still unwritten at the kill
        still_full = spell.end is None or kill.at <= spell.end + FLUSH_WINDOW_S
        if still_full and spell.start - FLUSH_WINDOW_S <= ack.at <= kill.at:
            return "disk full"
    if kill.how == "kill -9" and ack.at > kill.at - FLUSH_WINDOW_S:
        return "flush window"
    return None


def same(a: Any, b: Any) -> bool:
    """Equal, with floats equal to a part in 10^9 (TOML and JSON round trips)."""
    if a in (ANY, UNKNOWN) or b in (ANY, UNKNOWN):
        return True
    if isinstance(a, float | int) and isinstance(b, float | int) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, tuple) and isinstance(b, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b

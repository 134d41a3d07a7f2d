"""The chaos driver: random protocol requests, each change told to the oracle with its outcome.

One request at a time on one connection, as an engineer's UI sends them:
knob moves (``set``), a song's level plan and details, markers with notes,
snapshots stored and recalled, automation lanes and mode, the album's title,
song changes, songs added (a good file, now and then a text file named
``.wav``), moved and removed, saves; loads of good and bad files and
transport moves, which change no session; and requests that must be refused
(values out of range), which the oracle must never count.

Undo and redo are left out: what they undo depends on how the MIDI flood's
gestures interleave with the driver's, which the oracle cannot know.
"""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from typing import Any

from console.control.client import Client, ConnectionLostError, NoDaemonError
from console.control.wire import ProtocolError
from console.devtools.benchmarks.chaos.files import AudioFiles
from console.devtools.benchmarks.chaos.oracle import ANY, UNKNOWN, Key, Oracle
from console.devtools.benchmarks.chaos.views import LANE_PARAM, SLOTS, TRACKED_PARAMS
from dsp import params as P

WEIGHTS = {
    "set": 30, "set_out_of_range": 2, "song_set": 8, "song_set_invalid": 2, "song_level": 3,
    "marker_add": 9, "marker_remove": 4, "snapshot_store": 4, "snapshot_recall": 4,
    "lane": 3, "automation_mode": 2, "album_set": 2, "song_select": 3, "song_next": 2,
    "song_add": 2, "song_move": 3, "song_remove": 1, "session_save": 2, "load_good": 2,
    "load_bad": 4, "load_reference": 1, "transport": 4,
}
"""How often each action is picked, relative to the others."""
SONGS = (4, 10)
"""Songs the album keeps between: songs come and go, and it never grows without end (20
backups of a 300 KB session.toml fill the small disk on their own)."""
MARKERS = 10
"""Markers a song may hold before the driver removes rather than adds."""
NOTES = ("", "a touch bright; de-ess here", "snare too loud in the bridge", "ask the client",
         "fade earlier?", "breath at 1:02")
SONG_SECONDS = 4.0


class DaemonGoneError(Exception):
    """The daemon went away under a request (killed on purpose, died, or stopped answering)."""


class Driver:
    """Sends random requests on ``client`` and tells ``oracle`` how each change ended."""

    def __init__(self, oracle: Oracle, rng: random.Random, files: AudioFiles) -> None:
        self.client: Client | None = None
        """The connection to the daemon now (a new one after every restart)."""
        self.oracle = oracle
        self.rng = rng
        self.files = files
        self.actions: Counter[str] = Counter()
        self.anomalies: Counter[str] = Counter()
        """Requests that should have been refused and were not."""
        self.loads: defaultdict[str, Counter[str]] = defaultdict(Counter)
        """Outcome of each kind of load (``ok`` or the error code)."""
        self.examples: dict[str, str] = {}
        """The first error message of each refusal reason, to read."""
        self.names = list(WEIGHTS)
        self.weights = list(WEIGHTS.values())
        self.serial = 0

    def step(self) -> str:
        """Pick an action by weight and do it; return its name."""
        name = self.rng.choices(self.names, self.weights)[0]
        getattr(self, f"_{name}")()
        self.actions[name] += 1
        return name

    # talking to the daemon ---------------------------------------------------------------
    def _request(self, command: str, **args: Any) -> dict[str, Any]:
        if self.client is None:
            raise DaemonGoneError("not connected")
        return self.client.request(command, **args)

    def _change(self, command: str, sets: dict[Key, Any],
                then: Callable[[dict[str, Any]], dict[Key, Any]] | None = None,
                knob: bool = False, **args: Any) -> dict[str, Any] | None:
        """Send a change; the oracle learns the keys it sets (from the reply when ``then``)."""
        self.oracle.sending(command, sets)
        try:
            reply = self._request(command, **args)
        except ProtocolError as exc:
            self.oracle.refuse(command, self._reason(exc))
            return None
        except (ConnectionLostError, NoDaemonError, OSError) as exc:
            raise DaemonGoneError(f"{command}: {exc}") from None
        self.oracle.acknowledge(command, then(reply) if then else sets, time.monotonic(), knob)
        return reply

    def _invalid(self, command: str, **args: Any) -> None:
        """Send a change that must be refused; the oracle counts the refusal, never a change."""
        self.oracle.sending(command, {})
        try:
            self._request(command, **args)
        except ProtocolError as exc:
            self.oracle.refuse(command, f"{exc.code} (invalid on purpose)")
            return
        except (ConnectionLostError, NoDaemonError, OSError) as exc:
            raise DaemonGoneError(f"{command}: {exc}") from None
        self.oracle.pending = None
        self.anomalies[f"{command} accepted an invalid value"] += 1

    def _ask(self, command: str, **args: Any) -> tuple[str, dict[str, Any]]:
        """Send a request that changes no session: (``ok`` or the error code, reply)."""
        try:
            return "ok", self._request(command, **args)
        except ProtocolError as exc:
            return exc.code, {}
        except (ConnectionLostError, NoDaemonError, OSError) as exc:
            raise DaemonGoneError(f"{command}: {exc}") from None

    def _reason(self, exc: ProtocolError) -> str:
        text = exc.message
        reason = exc.code + (": disk full" if "No space left" in text else
                             ": closing" if "closing" in text else "")
        self.examples.setdefault(reason, text[:200])
        return reason

    # what the session holds now, as the oracle expects it --------------------------------
    def _order(self) -> list[str]:
        return list(self.oracle.expected(("order",)) or ())

    def _current(self) -> str | None:
        return self.oracle.expected(("current",))

    def _song(self) -> str | None:
        order = self._order()
        return self.rng.choice(order) if order else None

    def _markers(self, song: str) -> list[tuple[float, str]]:
        """The song's markers as (position, name), in the session's order."""
        found = [(self.oracle.expected(k)[0], k[2]) for k in self.oracle.keys("marker")
                 if k[1] == song]
        return sorted(found, key=lambda m: m[0])

    def _value(self, param_id: str) -> float:
        p = P.get(param_id)
        return round(self.rng.uniform(p.min, p.max), 2)

    # changes -------------------------------------------------------------------------------
    def _set(self) -> None:
        song = self._current()
        if song is None:
            return
        values = {p: self._value(p) for p in self.rng.sample(TRACKED_PARAMS,
                                                              self.rng.randint(1, 3))}
        self._change("set", {("param", song, p): v for p, v in values.items()},
                     lambda r: {("param", song, p): v for p, v in r["values"].items()},
                     knob=True, values=values)

    def _set_out_of_range(self) -> None:
        p = P.get(self.rng.choice(TRACKED_PARAMS))
        self._invalid("set", values={p.id: p.max + 1.0 + self.rng.random() * 10})

    def _song_set(self) -> None:
        song = self._song()
        if song is None:
            return
        pick = {"level_offset_db": lambda: round(self.rng.uniform(-12.0, 3.0), 2),
                "gap_s": lambda: round(self.rng.uniform(0.0, 4.0), 3),
                "fade_in_s": lambda: round(self.rng.uniform(0.0, 2.0), 3),
                "fade_out_s": lambda: round(self.rng.uniform(0.0, 3.0), 3),
                "title": lambda: f"Take {self._next()}"}
        fields = {f: pick[f]() for f in self.rng.sample(list(pick), self.rng.randint(1, 2))}
        self._change("song_set", {("field", song, f): v for f, v in fields.items()},
                     lambda r: {("field", song, f): r["song"][f] for f in fields},
                     id=song, **fields)

    def _song_set_invalid(self) -> None:
        song = self._song()
        if song is not None:
            field, value = self.rng.choice([("level_offset_db", 40.0), ("fade_out_s", 1e9),
                                            ("gap_s", -1.0)])
            self._invalid("song_set", id=song, **{field: value})

    def _song_level(self) -> None:
        order = self._order()
        if not order:
            return
        index = self.rng.randrange(len(order))
        db = round(self.rng.uniform(-10.0, 2.0), 2)
        self._change("action", {("field", order[index], "level_offset_db"): db},
                     lambda r: {("field", r["result"]["id"], "level_offset_db"):
                                r["result"]["level_offset_db"]},
                     name="song_level", args={"index": index, "db": db})

    def _marker_add(self) -> None:
        song = self._song()
        if song is None:
            return
        if len(self._markers(song)) >= MARKERS:
            self._marker_remove(song)
            return
        taken = {p for p, _ in self._markers(song)}
        position = round(self.rng.uniform(0.0, SONG_SECONDS), 3)
        while position in taken:
            position = round(self.rng.uniform(0.0, SONG_SECONDS), 3)
        name, note = f"m{self._next()}", self.rng.choice(NOTES)
        self._change("marker_add", {("marker", song, name): (position, note)},
                     position_s=position, name=name, note=note, song=song)

    def _marker_remove(self, song: str | None = None) -> None:
        song = song or self._song()
        markers = self._markers(song) if song else []
        if not markers:
            return
        index = self.rng.randrange(len(markers))
        self._change("marker_remove", {("marker", song, markers[index][1]): None},
                     index=index, song=song)

    def _snapshot_store(self) -> None:
        song = self._current()
        if song is None:
            return
        slot = self.rng.choice(SLOTS)
        values = tuple((p, self.oracle.expected(("param", song, p))) for p in TRACKED_PARAMS)
        self._change("snapshot_store", {("snapshot", song, slot): values}, slot=slot)

    def _snapshot_recall(self) -> None:
        song = self._current()
        if song is None:
            return
        slot = self.rng.choice(SLOTS)
        stored = self.oracle.expected(("snapshot", song, slot))
        if stored is None:  # the session has no such snapshot: the desk must not either
            self._invalid("snapshot_recall", slot=slot)
            return
        if stored == UNKNOWN:
            return
        self._change("snapshot_recall", {("param", song, p): v for p, v in stored},
                     knob=True, slot=slot)

    def _lane(self) -> None:
        song = self._song()
        if song is None:
            return
        count = self.rng.randint(2, 4)
        times = sorted(self.rng.sample(range(0, int(SONG_SECONDS * 48000)), count))
        points = [[t, round(self.rng.uniform(0.0, 12.0), 2)] for t in times]
        self._change("automation_lane",
                     {("lane", song, LANE_PARAM): tuple((float(t), v) for t, v in points)},
                     param=LANE_PARAM, points=points, song=song)

    def _automation_mode(self) -> None:
        mode = self.rng.choice(("off", "read"))  # no writing modes: passes would move knobs
        self._change("automation_mode", {("automation_mode",): mode}, mode=mode)

    def _album_set(self) -> None:
        field = self.rng.choice(("title", "performer"))
        value = f"Chaos {field} {self._next()}"
        self._change("album_set", {("album", field): value}, **{field: value})

    def _song_select(self) -> None:
        song = self._song()
        if song is not None:
            self._change("song_select", {("current",): song}, id=song)

    def _song_next(self) -> None:
        order, current = self._order(), self._current()
        if current in order:
            following = order[min(order.index(current) + 1, len(order) - 1)]
            self._change("song_next", {("current",): following},
                         lambda r: {("current",): r["song"]["id"]})

    def _song_add(self) -> None:
        order = self._order()
        if len(order) >= SONGS[1]:
            self._song_remove()
            return
        bad = self.rng.random() < 0.15
        path = self.files.bad["text"] if bad else self.rng.choice(self.files.good)
        title = f"Take {self._next()}"
        index = self.rng.choice([None, self.rng.randrange(len(order) + 1)])

        def added(reply: dict[str, Any]) -> dict[Key, Any]:
            song = reply["song"]
            at = len(order) if index is None else index
            keys: dict[Key, Any] = {("song", song["id"]): True,
                                    ("order",): tuple([*order[:at], song["id"], *order[at:]])}
            keys.update({("field", song["id"], f): song[f] for f in
                         ("title", "level_offset_db", "gap_s", "fade_in_s", "fade_out_s")})
            keys.update({("param", song["id"], p): P.get(p).default for p in TRACKED_PARAMS})
            return keys

        args = {"path": str(path), "title": title, **({} if index is None else {"index": index})}
        self._change("song_add", {("order",): ANY}, added, **args)

    def _song_move(self) -> None:
        order = self._order()
        if len(order) < 2:
            return
        song, index = self.rng.choice(order), self.rng.randrange(len(order))
        moved = [s for s in order if s != song]
        moved.insert(index, song)
        self._change("song_move", {("order",): tuple(moved)},
                     lambda r: {("order",): tuple(r["songs"])}, id=song, index=index)

    def _song_remove(self) -> None:
        order = self._order()
        if len(order) <= SONGS[0]:
            return
        song = self.rng.choice(order)
        self._change("song_remove", {("song", song): None, ("order",): ANY, ("current",): ANY},
                     lambda r: {("song", song): None, ("order",): tuple(r["songs"]),
                                ("current",): r["current"]}, id=song)

    # requests that change no session ---------------------------------------------------------
    def _session_save(self) -> None:
        outcome, _ = self._ask("session_save")
        self.loads["session_save"][outcome] += 1

    def _load_good(self) -> None:
        outcome, _ = self._ask("load_song", path=str(self.rng.choice(self.files.good)))
        self.loads["good"][outcome] += 1

    def _load_bad(self) -> None:
        kind = self.rng.choice(sorted(self.files.bad))
        outcome, _ = self._ask("load_song", path=str(self.files.bad[kind]))
        self.loads[kind][outcome] += 1

    def _load_reference(self) -> None:
        outcome, _ = self._ask("load_reference", path=str(self.rng.choice(self.files.good)))
        self.loads["reference"][outcome] += 1

    def _transport(self) -> None:
        move = self.rng.choice(("play", "stop", "locate", "loop"))
        if move == "locate":
            self._ask("locate", seconds=round(self.rng.uniform(0.0, SONG_SECONDS), 2))
        elif move == "loop":
            start = round(self.rng.uniform(0.0, 2.0), 2)
            self._ask("loop", start_s=start, end_s=start + 1.5, on=self.rng.random() < 0.7)
        else:
            self._ask(move)

    def _next(self) -> int:
        self.serial += 1
        return self.serial

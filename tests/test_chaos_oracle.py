"""The chaos soak's oracle catches a lost change, and never counts a refused one.

No daemon: a session folder written with the session store, and the oracle
told what the daemon would have answered.
"""

from __future__ import annotations

from console.devtools.benchmarks.chaos.oracle import ANY, Kill, Oracle, Spell
from console.devtools.benchmarks.chaos.views import view_of_folder
from console.session.model import Session
from console.session.store import SessionStore

MARKER = ("marker", "intro", "m1")
LEVEL = ("field", "intro", "level_offset_db")
GAIN = ("param", "intro", "output.gain_db")


def _album(folder, **changes):
    """A saved one-song album; ``changes`` are operations applied before the save."""
    session = Session(title="Chaos")
    session.apply({"op": "song_add", "song": {"id": "intro", "title": "Intro", "file": "a.wav"}})
    for op in changes.values():
        session.apply(op)
    store = SessionStore(folder)
    store.save(session, store.next_generation(session))
    store.close()
    return folder


def _started(view):
    oracle = Oracle()
    oracle.check(view, "start")  # the first check only learns the session
    return oracle


def test_an_acknowledged_marker_missing_from_the_folder_is_counted_lost(tmp_path):
    folder = _album(tmp_path / "album")
    oracle = _started(view_of_folder(folder)[0])
    oracle.acknowledge("marker_add", {MARKER: (1.5, "bright")}, at=10.0)
    report = oracle.check(view_of_folder(folder)[0], "kill -9", Kill(12.0, "kill -9"))
    assert [lost.key for lost in report.lost] == [MARKER]
    assert report.lost[0].command == "marker_add" and report.lost[0].age_s == 2.0
    assert oracle.summary()["changes_lost"] == 1


def test_a_marker_the_folder_has_is_not_lost(tmp_path):
    marker = {"op": "marker_add", "id": "intro",
              "marker": {"position_s": 1.5, "name": "m1", "note": "bright"}}
    folder = _album(tmp_path / "album", marker=marker)
    oracle = _started({})
    oracle.acknowledge("marker_add", {MARKER: (1.5, "bright")}, at=10.0)
    assert oracle.check(view_of_folder(folder)[0], "SIGTERM").lost == []


def test_a_refused_change_is_never_expected(tmp_path):
    folder = _album(tmp_path / "album")
    oracle = _started(view_of_folder(folder)[0])
    oracle.sending("song_set", {LEVEL: -3.0})
    oracle.refuse("song_set", "session_error: disk full")
    report = oracle.check(view_of_folder(folder)[0], "kill -9", Kill(12.0, "kill -9"))
    assert report.lost == [] and oracle.acknowledged == 0
    assert oracle.summary()["changes_refused"] == {"session_error: disk full": 1}


def test_a_change_cut_off_by_a_kill_may_be_there_or_not():
    base = {LEVEL: 0.0}
    for found in (0.0, -3.0):
        oracle = _started(base)
        oracle.sending("song_set", {LEVEL: -3.0})  # no answer: the daemon died
        report = oracle.check({LEVEL: found}, "kill -9", Kill(12.0, "kill -9"))
        assert report.lost == []
        assert report.applied_in_flight == (found == -3.0)


def test_a_song_added_in_flight_may_change_the_order_any_way():
    oracle = _started({("order",): ("intro",)})
    oracle.sending("song_add", {("order",): ANY})
    assert oracle.check({("order",): ("intro", "take-1")}, "kill -9",
                        Kill(1.0, "kill -9")).lost == []


def test_knob_moves_just_before_kill_9_may_be_lost_older_ones_may_not():
    oracle = _started({GAIN: 0.0})
    oracle.acknowledge("set", {GAIN: -2.0}, at=10.0, knob=True)  # written long before
    oracle.acknowledge("set", {GAIN: -4.0}, at=19.8, knob=True)  # in the flush window
    kill = Kill(20.0, "kill -9")
    window = oracle.check({GAIN: -2.0}, "kill -9", kill)
    assert window.lost == [] and window.knob_moves_in_window == 1
    assert abs(window.oldest_window_move_s - 0.2) < 1e-9

    oracle = _started({GAIN: 0.0})
    oracle.acknowledge("set", {GAIN: -2.0}, at=10.0, knob=True)
    oracle.acknowledge("set", {GAIN: -4.0}, at=19.8, knob=True)
    assert [x.key for x in oracle.check({GAIN: 0.0}, "kill -9", kill).lost] == [GAIN]


def test_sigterm_must_keep_every_knob_move_unless_the_disk_was_full():
    oracle = _started({GAIN: 0.0})
    oracle.acknowledge("set", {GAIN: -4.0}, at=19.8, knob=True)
    assert len(oracle.check({GAIN: 0.0}, "SIGTERM", Kill(20.0, "SIGTERM")).lost) == 1

    oracle = _started({GAIN: 0.0})
    oracle.acknowledge("set", {GAIN: -4.0}, at=16.0, knob=True)  # waited in memory
    report = oracle.check({GAIN: 0.0}, "SIGTERM", Kill(20.0, "SIGTERM"), [Spell(15.0)])
    assert report.lost == [] and report.knob_moves_while_full == 1


def test_a_structural_change_just_before_kill_9_must_be_there():
    oracle = _started({LEVEL: 0.0})
    oracle.acknowledge("song_set", {LEVEL: -3.0}, at=19.99)  # journaled before the reply
    assert len(oracle.check({LEVEL: 0.0}, "kill -9", Kill(20.0, "kill -9")).lost) == 1


def test_a_loss_is_counted_once_and_the_session_found_is_taken_as_it_is():
    oracle = _started({LEVEL: 0.0})
    oracle.acknowledge("song_set", {LEVEL: -3.0}, at=1.0)
    oracle.check({LEVEL: 0.0}, "kill -9", Kill(2.0, "kill -9"))
    assert oracle.check({LEVEL: 0.0}, "start").lost == []
    assert oracle.expected(LEVEL) == 0.0 and len(oracle.lost) == 1


def test_a_song_removed_takes_its_keys_with_it():
    oracle = _started({("song", "intro"): True, MARKER: (1.5, ""), LEVEL: 0.0})
    oracle.acknowledge("song_remove", {("song", "intro"): None}, at=1.0)
    assert oracle.check({}, "SIGTERM", Kill(2.0, "SIGTERM")).lost == []

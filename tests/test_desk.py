"""The desk: checked parameter writes into the spine, listeners, actions, snapshots."""

import threading

import pytest

from console.control.desk import ActionError, Desk
from dsp import params as P
from dsp.errors import ParameterError


def test_set_writes_the_chain_values_array_and_tells_listeners_who_changed_it():
    values = P.defaults()
    desk = Desk(values)
    seen = []
    desk.on_params(lambda changes, author: seen.append((changes, author)))
    desk.set("limiter.ceiling_dbtp", -0.5, author="surface:x-touch")
    assert values[P.index("limiter.ceiling_dbtp")] == -0.5
    assert seen == [({"limiter.ceiling_dbtp": -0.5}, "surface:x-touch")]
    desk.set("limiter.ceiling_dbtp", -0.5)  # no change, no news
    assert len(seen) == 1


def test_set_many_is_all_or_nothing():
    desk = Desk()
    with pytest.raises(ParameterError, match=r"comp\.ratio"):
        desk.set_many({"input.trim_db": 3.0, "comp.ratio": 100.0})
    assert desk.get("input.trim_db") == 0.0


def test_nudge_moves_along_the_taper_and_stops_at_the_ends():
    desk = Desk()
    desk.set("eq.band3.freq_hz", 1000.0)
    desk.nudge("eq.band3.freq_hz", 0.1)  # a tenth of 20 Hz..20 kHz is one octave
    assert desk.get("eq.band3.freq_hz") == pytest.approx(1995.3, rel=1e-3)
    desk.nudge("eq.band3.freq_hz", 5.0)
    assert desk.get("eq.band3.freq_hz") == 20000.0


def test_snapshots_store_and_recall_every_parameter():
    desk = Desk()
    desk.set("output.gain_db", -3.0)
    desk.perform("snapshot_store", slot="a")
    desk.set("output.gain_db", -9.0)
    desk.set("eq.band2.gain_db", 4.0)
    desk.perform("snapshot_recall", slot="A")
    assert desk.get("output.gain_db") == -3.0 and desk.get("eq.band2.gain_db") == 0.0
    assert desk.state()["snapshot"] == "A"
    with pytest.raises(ActionError, match="snapshot B is empty"):
        desk.perform("snapshot_recall", slot="B")
    with pytest.raises(ParameterError, match="use one of A, B, C, D"):
        desk.perform("snapshot_store", slot="E")


def test_unknown_and_unavailable_actions_are_clear_errors():
    desk = Desk()
    with pytest.raises(ActionError, match="unknown action 'explode'"):
        desk.perform("explode")
    with pytest.raises(ActionError, match="'play' is not available"):
        desk.perform("play")
    calls = []
    desk.register_action("play", lambda author: calls.append(author))
    desk.perform("play", author="ui")
    assert calls == ["ui"]


def test_concurrent_writers_leave_a_consistent_table():
    desk = Desk()
    total = []
    desk.on_params(lambda changes, author: total.append(len(changes)))

    def writer(k):
        for i in range(200):
            desk.set("output.gain_db", -((i + k) % 30))

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert -30 <= desk.get("output.gain_db") <= 0
    assert sum(total) <= 800

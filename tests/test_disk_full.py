"""A full disk loses nothing acknowledged and says so (issue 16, item 7).

The session folder is on a real tmpfs of 1 MB mounted for the test (as root,
as CI runs); a filler file takes the rest of it. A structural change is then
refused and not applied; knob moves wait in memory, the console says the
disk is full, and once there is room they are written, whole, and replay.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import soundfile as sf

from console.control.desk import ActionError
from console.engine.stream import Engine
from console.session import journal as jn
from console.session.controller import SessionController
from console.session.errors import SessionError
from console.session.store import SessionStore
from tests.helpers import mounted_tmpfs


@pytest.fixture
def small_disk(tmp_path):
    with mounted_tmpfs(tmp_path / "disk", "1m") as disk:
        yield disk


@pytest.fixture
def album(small_disk):
    """An album opened on the small disk (its journal written every 50 ms), closed unsaved."""
    controller = SessionController(small_disk / "album", Engine(48000, 256),
                                   journal_interval_s=0.05)
    controller.open()
    yield controller
    controller.close(save=False)


def _fill(disk):
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        while True:
            os.write(fd, b"\0" * 512)
    except OSError:
        pass  # the disk is full
    finally:
        os.close(fd)
    return filler


def test_a_full_disk_refuses_structure_keeps_knob_moves_and_writes_them_later(small_disk,
                                                                              tmp_path):
    song = tmp_path / "song.wav"
    t = np.arange(48000) / 48000
    sf.write(song, np.stack([0.1 * np.sin(2 * np.pi * 440 * t)] * 2, 1), 48000)
    engine = Engine(48000, 256)
    folder = small_disk / "album"
    controller = SessionController(folder, engine, journal_interval_s=0.05)
    controller.open()
    try:
        song_id = controller.add_song(str(song))["id"]
        filler = _fill(small_disk)
        acked, refused = [], None
        for k in range(2000):  # until the journal's last page has no room either
            value = -round(0.1 * (k % 100 + 1), 1)
            try:
                controller.set_song(song_id, level_offset_db=value)
            except SessionError as exc:
                refused = (value, str(exc))
                break
            acked.append(value)
        assert refused is not None and "not taken" in refused[1]
        assert "No space left" in refused[1]
        last = acked[-1] if acked else 0.0
        assert controller.session.song(song_id).level_offset_db == last  # the refused: not applied
        engine.desk.set_many({"output.gain_db": -4.5}, "test")  # a knob: waits in memory
        deadline = time.monotonic() + 5
        while engine.desk.state().get("disk", {}).get("ok", True) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.desk.state()["disk"]["ok"] is False  # the console says so
        assert "No space left" in engine.desk.state()["disk"]["problem"]
        filler.unlink()  # room again
        deadline = time.monotonic() + 5
        while not engine.desk.state()["disk"]["ok"] and time.monotonic() < deadline:
            time.sleep(0.02)
        assert engine.desk.state()["disk"]["ok"]
        path = controller.journal.path
        _, ops, problem = jn.read(path)
        assert problem is None  # every line whole
        assert any(op.get("op") == "params" and op["values"].get("output.gain_db") == -4.5
                   for op in ops)
        sets = [op["fields"]["level_offset_db"] for op in ops if op.get("op") == "song_set"]
        assert sets[-len(acked):] == acked if acked else True  # every acknowledged one, in order
        assert len(sets) == len(acked)  # and not the refused one
    finally:
        controller.close(save=False)
    replayed = SessionStore(folder, lock=False).load().session
    assert replayed.song(song_id).settings.get("output.gain_db") == -4.5
    assert replayed.song(song_id).level_offset_db == last


def test_a_torn_line_in_the_middle_is_skipped_and_the_replay_goes_on(tmp_path):
    path = tmp_path / "000001.jsonl"
    path.write_text('{"journal": 1, "base": 1}\n'
                    '{"op": "album", "title": "one"}\n'
                    '{"op": "album", "tit\n'
                    '{"op": "album", "title": "three"}\n')
    base, ops, problem = jn.read(path)
    assert base == 1 and [op["title"] for op in ops] == ["one", "three"]
    assert problem is not None and ":3: unreadable line skipped" in problem


def _song_file(path, hz=440.0):
    t = np.arange(48000) / 48000
    sf.write(path, np.stack([0.1 * np.sin(2 * np.pi * hz * t)] * 2, 1), 48000)
    return path


def _until_refused(controller, song_id):
    """Small changes until one is refused: the journal's last page has no room either."""
    for _ in range(2000):
        try:
            controller.change({"op": "current", "id": song_id})
        except SessionError:
            return
    raise AssertionError("the full disk never refused a change")


def test_a_save_on_a_full_disk_is_refused_clearly_and_later_changes_still_replay(
        small_disk, album, tmp_path):
    song_id = album.add_song(str(_song_file(tmp_path / "song.wav")))["id"]
    filler = _fill(small_disk)
    with pytest.raises(SessionError, match=r"not saved.*No space left"):
        album.save()  # the next journal cannot even start
    filler.unlink()
    album.add_marker(1.0, name="after the full disk")  # acknowledged: journaled
    replayed = SessionStore(album.folder, lock=False).load().session  # as after kill -9
    assert [m.name for m in replayed.song(song_id).markers] == ["after the full disk"]


def test_a_save_that_fails_after_the_journal_moved_on_never_replays_a_change_twice(
        small_disk, album, tmp_path):
    song_id = album.add_song(str(_song_file(tmp_path / "song.wav")))["id"]
    spare = small_disk / "spare"
    spare.write_bytes(b"\0" * 4096)
    filler = _fill(small_disk)
    spare.unlink()  # one page free: the next journal starts, the save's files do not fit
    with pytest.raises((SessionError, OSError)):
        album.save()
    filler.unlink()
    album.add_marker(1.0, name="x")  # goes to the journal the failed save began
    album.save()
    album.remove_marker(0)
    replayed = SessionStore(album.folder, lock=False).load().session  # as after kill -9
    assert replayed.song(song_id).markers == []


def test_a_snapshot_refused_on_a_full_disk_is_not_on_the_desk_either(small_disk, album,
                                                                     tmp_path):
    song_id = album.add_song(str(_song_file(tmp_path / "song.wav")))["id"]
    filler = _fill(small_disk)
    _until_refused(album, song_id)
    with pytest.raises(SessionError, match="not taken"):
        album.store_snapshot("A")
    assert "A" not in album.engine.desk.snapshots
    with pytest.raises(ActionError, match="empty"):
        album.engine.desk.perform("snapshot_recall", slot="A")
    filler.unlink()


def test_a_song_change_refused_on_a_full_disk_leaves_the_song_and_its_settings_heard(
        small_disk, album, tmp_path):
    engine = album.engine
    first = album.add_song(str(_song_file(tmp_path / "one.wav")), "One")["id"]
    second = album.add_song(str(_song_file(tmp_path / "two.wav", 330.0)),
                            "The second song")["id"]  # a longer line than "one"
    engine.desk.set_many({"output.gain_db": -3.0}, "test")
    album.select_song(second)
    engine.desk.set_many({"output.gain_db": -9.0}, "test")
    album.select_song(first)
    filler = _fill(small_disk)
    _until_refused(album, first)
    with pytest.raises(SessionError, match="not taken"):
        album.select_song(second)
    assert album.session.current == first
    assert engine.song.title == "One"  # what is heard is what the session says
    assert engine.desk.get("output.gain_db") == -3.0
    filler.unlink()


def test_a_journal_reopened_after_a_torn_last_line_keeps_the_next_line_whole(tmp_path):
    path = tmp_path / "000001.jsonl"
    path.write_text('{"journal": 1, "base": 1}\n{"op": "album", "tit')  # a kill mid-write
    journal = jn.Journal(path, 1)
    journal.append({"op": "album", "title": "after the restart"}, urgent=True)
    journal.close()
    _, ops, _ = jn.read(path)
    assert [op["title"] for op in ops] == ["after the restart"]


def test_a_session_with_a_journal_to_replay_opens_on_a_full_disk(small_disk, tmp_path):
    folder = small_disk / "album"
    before = SessionController(folder, Engine(48000, 256), journal_interval_s=0.05)
    before.open()
    song_id = before.add_song(str(_song_file(tmp_path / "song.wav")))["id"]
    before.add_marker(1.0, name="before the kill")
    before.close(save=False)  # as kill -9 leaves it: the marker is only in the journal
    filler = _fill(small_disk)
    controller = SessionController(folder, Engine(48000, 256), journal_interval_s=0.05)
    controller.open()  # the clean save after the replay cannot be made: it starts anyway
    try:
        assert [m.name for m in controller.session.song(song_id).markers] == ["before the kill"]
        filler.unlink()
        controller.add_marker(2.0, name="after the restart")
    finally:
        controller.close(save=False)
    replayed = SessionStore(folder, lock=False).load().session
    assert [m.name for m in replayed.song(song_id).markers] == ["before the kill",
                                                               "after the restart"]

"""The session folder: round trip, atomic saves, backups, recovery from broken files, journal."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from console.automation.lanes import Lane
from console.session import journal as jn
from console.session import tomlfile
from console.session.errors import NewerSessionError, SessionError, SessionFileError
from console.session.model import Session
from console.session.store import SessionStore
from dsp import params as P


def _album() -> Session:
    s = Session(title='Nachtmusik "live"', sample_rate=48000)
    s.apply({"op": "song_add", "song": {"title": "Intro", "file": "mixes/01 intro.wav"}})
    s.apply({"op": "song_add", "song": {"title": "Ballade für Anna", "file": "mixes/02.flac"}})
    s.apply({"op": "song_add", "song": {"title": "Finale", "file": "/abs/finale.wav"}})
    s.apply({"op": "song_set", "id": "intro", "fields": {
        "level_offset_db": -1.5, "gap_s": 0.5, "fade_in_s": 0.2, "fade_out_s": 3.0}})
    s.apply({"op": "params", "id": "intro", "values": {"output.gain_db": -2.0,
                                                         "eq.band2.type": 2.0,
                                                         "comp.bypass": 0.0}})
    s.apply({"op": "marker_add", "id": "ballade-f-r-anna", "marker": {
        "position_s": 61.25, "name": "chorus", "note": 'too bright;\n"de-ess" here'}})
    s.apply({"op": "snapshot", "id": "intro", "slot": "b",
             "values": {"limiter.drive_db": 4.5}})
    s.apply({"op": "ref_add", "ref": {"title": "Client ref", "file": "refs/ref.wav"}})
    s.apply({"op": "ref_current", "id": "client-ref"})
    s.apply({"op": "song_move", "id": "finale", "index": 0})
    s.apply({"op": "lane", "id": "intro", "param": "output.gain_db",
             "points": [[0, -20.0], [48000, -12.5], [480000, 0.0]], "mode": "latch"})
    s.apply({"op": "lane", "id": "intro", "param": "eq.band3.freq_hz",
             "points": [[0, 200.0], [96000, 4000.0]]})
    s.apply({"op": "automation", "mode": "touch", "touch_timeout_ms": 350})
    return s


def _saved(folder: Path, session: Session, keep: int = 20) -> SessionStore:
    store = SessionStore(folder, keep)
    store.save(session, store.next_generation(session))
    return store


def test_a_session_survives_a_round_trip_through_its_folder(tmp_path):
    album = _album()
    _saved(tmp_path / "album", album).close()
    loaded = SessionStore(tmp_path / "album").load()
    assert loaded.loaded_from == "session.toml" and loaded.problems == []
    again = loaded.session
    assert tomlfile.dump(again) == tomlfile.dump(album)
    assert [s.id for s in again.songs] == ["finale", "intro", "ballade-f-r-anna"]
    intro = again.song("intro")
    assert intro.automation.lanes == album.song("intro").automation.lanes
    assert intro.automation.lanes["output.gain_db"].mode == "latch"
    assert again.song("ballade-f-r-anna").markers[0].note == 'too bright;\n"de-ess" here'
    assert (tmp_path / "album" / "automation" / "intro.auto").read_text().count("\n") > 8


def test_the_files_are_readable_by_people(tmp_path):
    _saved(tmp_path / "a", _album()).close()
    text = (tmp_path / "a" / "session.toml").read_text()
    assert '"output.gain_db" = -2.0' in text and 'title = "Ballade für Anna"' in text
    auto = (tmp_path / "a" / "automation" / "intro.auto").read_text().splitlines()
    assert "lane output.gain_db latch" in auto and "48000 -12.5" in auto


def test_a_save_never_shows_a_partial_file_to_a_reader(tmp_path):
    store = _saved(tmp_path / "a", _album())
    session = store.load().session
    stop = threading.Event()
    reads, failures = [0], []

    def reader():
        while not stop.is_set():
            text = (tmp_path / "a" / "session.toml").read_text()
            try:
                tomlfile.parse(text, "session.toml")
                reads[0] += 1
            except SessionError as exc:
                failures.append(exc)

    thread = threading.Thread(target=reader)
    thread.start()
    for k in range(40):
        session.apply({"op": "album", "title": "x" * (k * 500)})  # each save a different size
        store.save(session, store.next_generation(session))
    stop.set()
    thread.join()
    assert failures == [] and reads[0] > 40


_SAVER = """
import sys
from console.session.store import SessionStore
from tests.test_session_store import _album
store = SessionStore(sys.argv[1], keep_backups=5)
session = _album()
print("ready", flush=True)
k = 0
while True:
    k += 1
    session.apply({"op": "album", "title": f"save {k} " + "x" * (k % 7) * 20000})
    store.save(session, store.next_generation(session))
"""


def test_a_process_killed_mid_save_leaves_the_previous_save_intact(tmp_path):
    folder = tmp_path / "a"
    for delay in (0.05, 0.13, 0.21, 0.37, 0.5):
        saver = subprocess.Popen([sys.executable, "-c", _SAVER, str(folder)],
                                 stdout=subprocess.PIPE, text=True, cwd=Path.cwd())
        assert saver.stdout.readline().strip() == "ready"
        time.sleep(delay)
        saver.send_signal(signal.SIGKILL)
        saver.wait(10)
        saver.stdout.close()
        store = SessionStore(folder, keep_backups=5)
        loaded = store.load()
        assert loaded.loaded_from == "session.toml", loaded.problems
        assert loaded.session.title.startswith("save ")
        # the save it was in the middle of, or the one before: both complete
        assert loaded.session.song("intro").automation.lanes["output.gain_db"].points[1] == (
            48000, -12.5)
        generations = [g for g, _ in store.backups()]
        assert len(generations) <= 6 and loaded.session.generation in generations
        store.save(loaded.session, store.next_generation(loaded.session))  # and it goes on
        store.close()


def test_backups_are_numbered_complete_and_bounded(tmp_path):
    album = _album()
    store = SessionStore(tmp_path / "a", keep_backups=3)
    for k in range(6):
        album.apply({"op": "album", "title": f"take {k}"})
        store.save(album, store.next_generation(album))
    backups = store.backups()
    assert [g for g, _ in backups] == [4, 5, 6]
    for generation, folder in backups:
        assert (folder / "automation" / "intro.auto").exists()
        text = (folder / "session.toml").read_text()
        assert f"generation = {generation}" in text and f'"take {generation - 1}"' in text


def test_a_broken_session_file_is_reported_by_line_and_the_last_good_save_is_used(tmp_path):
    folder = tmp_path / "a"
    album = _album()
    store = _saved(folder, album)
    album.apply({"op": "album", "title": "second save"})
    store.save(album, store.next_generation(album))
    store.close()
    path = folder / "session.toml"
    lines = path.read_text().splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith('"output.gain_db"'))
    lines[at] = '"output.gain_db" = 12.0'  # out of range: a slip of the hand
    broken = "\n".join(lines) + "\n"
    path.write_text(broken)
    backups_before = {p: p.read_bytes() for p in folder.glob("backups/*/**/*") if p.is_file()}

    store = SessionStore(folder)
    loaded = store.load()
    assert loaded.loaded_from == "backups/000002"
    assert loaded.problems == [f"{path}:{at + 1}: output.gain_db: 12 is out of range "
                               "-30..0 dB"]
    assert loaded.session.title == "second save"
    report = store.save(loaded.session, store.next_generation(loaded.session))
    assert report["session_file"] is None and report["broken_file"] == str(path)
    assert path.read_text() == broken  # never overwritten
    for p, data in backups_before.items():
        assert p.read_bytes() == data  # nor any backup
    assert store.load().loaded_from == "backups/000003"  # the newest good save, next time too
    store.save(loaded.session, store.next_generation(loaded.session), force=True)
    assert store.load().loaded_from == "session.toml"
    assert len(list(folder.glob("session.toml.broken-*"))) == 1  # moved aside, not lost


@pytest.mark.parametrize(("edit", "line", "message"), [
    ("[[song]\n", 1, "not valid TOML"),
    ('titel = "x"\n', 1, "unknown key 'titel'"),
    ('[[song]]\nid = "a"\nfile = "a.wav"\ngap_s = "long"\n', 4, "gap_s must be a number"),
    ('[[song]]\nid = "a"\nfile = "a.wav"\n[song.settings]\n"eq.band9.q" = 1\n', 5,
     "unknown parameter id 'eq.band9.q'"),
    ('[[song]]\nid = "a"\nfile = "a.wav"\n[song.settings]\noutput.gain_db = -1\n', 5,
     "write them in quotes"),
    ('current = "nope"\n', 1, "not one of the songs"),
])
def test_hand_edits_that_break_the_file_name_the_line(edit, line, message):
    text = "format = 1\n" + edit
    with pytest.raises(SessionFileError) as info:
        tomlfile.parse(text, "/x/session.toml")
    assert info.value.line == line + 1, str(info.value)
    assert message in str(info.value) and str(info.value).startswith("/x/session.toml:")


def test_a_broken_automation_file_names_its_line_and_the_last_good_save_is_used(tmp_path):
    folder = tmp_path / "a"
    _saved(folder, _album()).close()
    auto = folder / "automation" / "intro.auto"
    text = auto.read_text().replace("48000 -12.5", "48000 loud")
    auto.write_text(text)
    store = SessionStore(folder)
    loaded = store.load()
    line = text.splitlines().index("48000 loud") + 1
    assert loaded.problems[0].startswith(f"{auto}:{line}: cannot read '48000 loud'")
    assert loaded.loaded_from == "backups/000001"
    assert loaded.session.song("intro").automation.lanes["output.gain_db"].points[1] == (
        48000, -12.5)


def test_a_session_from_a_newer_masterdeck_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "a"
    _saved(folder, _album()).close()
    path = folder / "session.toml"
    newer = path.read_text().replace(f"format = {tomlfile.FORMAT}",
                                     f"format = {tomlfile.FORMAT + 1}").replace(
        "[automation]", "[automation]\nsidechain_ducking = true")
    path.write_text(newer)
    with pytest.raises(NewerSessionError, match=rf"newer masterdeck.*format {tomlfile.FORMAT + 1}"
                                                rf".*reads format {tomlfile.FORMAT}"):
        SessionStore(folder).load()
    assert path.read_text() == newer


def test_a_format_1_session_keeps_the_release_style_it_was_mastered_with(tmp_path):
    """Format 1's default style was ``single``; settings only keep what differs from defaults."""
    style = P.get("limiter.release_style")
    assert style.default == P.RELEASE_STYLES.index("transparent")
    text = ('format = 1\ngeneration = 3\ntitle = "Old album"\n\n'
            '[[song]]\nid = "one"\ntitle = "One"\nfile = "one.wav"\n\n'
            '[[song]]\nid = "two"\ntitle = "Two"\nfile = "two.wav"\n'
            '[song.settings]\n"limiter.release_style" = 3\n')
    old, _ = tomlfile.parse(text, "session.toml")
    assert old.song("one").values()[style.id] == P.RELEASE_STYLES.index("single")
    assert old.song("two").values()[style.id] == P.RELEASE_STYLES.index("loud")
    written = tomlfile.dump(old)
    assert f"format = {tomlfile.FORMAT}" in written
    again, _ = tomlfile.parse(written, "session.toml")
    assert again.song("one").values()[style.id] == P.RELEASE_STYLES.index("single")
    # a song added now starts at the new default
    again.apply({"op": "song_add", "song": {"title": "Three", "file": "three.wav"}})
    assert again.song("three").values()[style.id] == style.default


OLD_SESSION = """\
format = 1
generation = 3
written_by = "masterdeck 0.1.0"
title = "Before the clipper"
sample_rate = 48000
current = "one"

[[song]]
id = "one"
title = "One"
file = "one.wav"

[song.settings]
"stereo.width_pct" = 120.0
"limiter.drive_db" = 6.0
"""
"""A session file written before the clipper's parameters existed."""


def test_a_session_saved_before_the_clipper_loads_with_the_clipper_at_its_defaults(tmp_path):
    folder = tmp_path / "old"
    folder.mkdir()
    (folder / "session.toml").write_text(OLD_SESSION)
    loaded = SessionStore(folder).load()
    assert loaded.problems == []
    values = loaded.session.song("one").values()
    assert values["limiter.drive_db"] == 6.0 and values["stereo.width_pct"] == 120.0
    for param in P.PARAMS:
        if param.stage == "clipper":
            assert values[param.id] == param.default, param.id
    assert values["clipper.bypass"] == 1.0  # off: the old master sounds as it did


def test_a_save_cut_between_the_automation_and_the_session_file_loads_consistently(tmp_path):
    folder = tmp_path / "a"
    album = _album()
    store = _saved(folder, album)
    # save 2 got as far as the automation files, not to session.toml
    changed = album.song("intro").automation.lane("output.gain_db")
    album.song("intro").automation.put(Lane(changed.param, ((0, -3.0),), changed.mode))
    from console.automation import fileformat

    (folder / "automation" / "intro.auto").write_text(
        fileformat.dump(album.song("intro").automation, "intro", 2, 48000))
    loaded = store.load()
    assert loaded.loaded_from == "session.toml" and loaded.session.generation == 1
    assert loaded.session.song("intro").automation.lanes["output.gain_db"].points[0] == (
        0, -20.0)


def test_the_journal_replays_on_top_of_the_last_save_and_tolerates_a_torn_line(tmp_path):
    folder = tmp_path / "a"
    album = _album()
    store = _saved(folder, album)
    journal = jn.Journal(jn.journal_path(folder, 1), 1, interval_s=0.05)
    journal.append({"op": "params", "id": "intro", "values": {"output.gain_db": -5.0}})
    journal.append({"op": "params", "id": "intro", "values": {"output.gain_db": -6.0,
                                                              "limiter.drive_db": 2.0}})
    journal.append({"op": "song_remove", "id": "finale"}, urgent=True)
    time.sleep(0.2)
    journal.close()
    with open(jn.journal_path(folder, 1), "ab") as f:
        f.write(b'{"op": "params", "id": "intro", "val')  # killed mid-write
    loaded = store.load()
    assert loaded.replayed == 2  # the two moves were merged while they waited
    intro = loaded.session.song("intro")
    assert intro.settings["output.gain_db"] == -6.0 and intro.settings["limiter.drive_db"] == 2.0
    assert [s.id for s in loaded.session.songs] == ["intro", "ballade-f-r-anna"]
    assert loaded.problems == []


def test_one_folder_is_one_session_at_a_time(tmp_path):
    first = SessionStore(tmp_path / "a")
    with pytest.raises(SessionError, match="open in another masterdeck process"):
        SessionStore(tmp_path / "a")
    first.close()
    SessionStore(tmp_path / "a").close()


def test_unknown_ids_and_bad_operations_change_nothing():
    album = _album()
    before = tomlfile.dump(album)
    for op in ({"op": "song_move", "id": "nope", "index": 0},
               {"op": "song_set", "id": "intro", "fields": {"gap_s": 1.0, "level_offset_db": 99}},
               {"op": "params", "id": "intro", "values": {"output.gain_db": -1,
                                                            "limiter.drive_db": 99}},
               {"op": "teleport"}):
        with pytest.raises((SessionError, ValueError)):
            album.apply(op)
    assert tomlfile.dump(album) == before
    assert os.path.basename(tomlfile.automation_path("intro")) == "intro.auto"


@pytest.mark.parametrize("op", [
    {"op": "song_set", "id": "one", "fields": {"fade_out_s": 1e308}},
    {"op": "song_set", "id": "one", "fields": {"gap_s": float("inf")}},
    {"op": "marker_add", "id": "one", "marker": {"position_s": float("nan")}},
    {"op": "marker_add", "id": "one", "marker": {"position_s": 10 ** 400}},
])
def test_absurd_times_are_refused(op):
    from console.session.model import Session

    session = Session()
    session.apply({"op": "song_add", "song": {"id": "one", "title": "One", "file": "a.wav"}})
    with pytest.raises(SessionError, match="must be"):
        session.apply(op)


def test_a_negative_generation_and_an_automation_file_elsewhere_are_refused(tmp_path):
    from console.session.tomlfile import parse

    with pytest.raises(SessionFileError, match="generation -5"):
        parse('format = 1\ngeneration = -5\ntitle = "x"\n', "session.toml")
    folder = tmp_path / "album"
    (folder / "automation").mkdir(parents=True)
    (tmp_path / "secret.txt").write_text("do not read me\n")
    (folder / "session.toml").write_text(
        'format = 1\ngeneration = 1\ntitle = "x"\n\n[[song]]\nid = "one"\ntitle = "One"\n'
        'file = "a.wav"\nautomation = "../secret.txt"\n')
    with pytest.raises(SessionFileError, match="automation files live in automation/") as refused:
        SessionStore(folder, lock=False).load()
    assert "do not read me" not in str(refused.value)  # the file elsewhere was never read


def test_a_read_only_session_folder_is_a_clear_error_and_still_renders(tmp_path):
    import subprocess

    from console.session.model import Session
    from tests.helpers import mounted_tmpfs

    with mounted_tmpfs(tmp_path / "disk", "4m") as disk:
        store = SessionStore(disk / "album")
        store.save(Session(title="shelf"), 1)
        store.close()
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        with pytest.raises(SessionError, match=r"cannot open the session for changes.*Read-only"):
            SessionStore(disk / "album")
        assert SessionStore(disk / "album", lock=False).load().session.title == "shelf"

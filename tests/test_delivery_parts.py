"""Delivery's own parts: targets, where files begin and end, the session's new fields, masters."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from console.delivery import layout
from console.delivery.masters import Masters
from console.delivery.model import SECTOR
from console.delivery.targets import TargetError, available, parse, pick
from console.offline.album import master_song
from console.session.errors import SessionError
from console.session.model import Session
from console.session.tomlfile import dump
from console.session.tomlfile import parse as parse_session

RATE = 48000


def test_the_five_shipped_targets_read_and_say_what_they_are():
    targets = available()
    assert {"streaming", "cd", "hires", "broadcast", "vinyl"} <= set(targets)
    cd, broadcast = targets["cd"], targets["broadcast"]
    assert (cd.sample_rate, cd.bit_depth, cd.dither, "cd" in cd.files) == (44100, "16", True,
                                                                            True)
    assert broadcast.normalise_lufs == -23.0
    loudness = next(r for r in broadcast.rules if r.measure == "integrated_lufs")
    assert (loudness.minimum, loudness.maximum, loudness.severity) == (-23.5, -22.5, "fail")
    assert targets["streaming"].codec_check and targets["streaming"].platforms
    assert not any(r.measure == "true_peak_dbtp" for r in targets["vinyl"].rules)


def test_a_users_target_is_added_and_one_of_the_same_name_replaces_the_shipped(
        tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    folder = tmp_path / "masterdeck" / "targets"
    folder.mkdir(parents=True)
    (folder / "podcast.toml").write_text('description = "speech"\nnormalise_lufs = -16.0\n'
                                         'files = ["songs"]\n')
    (folder / "cd.toml").write_text('description = "my plant"\nsample_rate = 44100\n'
                                    'bit_depth = "16"\nfiles = ["cd"]\n')
    targets = available()
    assert targets["podcast"].normalise_lufs == -16.0
    assert targets["cd"].description == "my plant" and str(folder) in targets["cd"].source
    assert [t.name for t in pick(["podcast", "streaming"])] == ["podcast", "streaming"]
    with pytest.raises(TargetError, match="no target 'vinil'"):
        pick(["vinil"])


@pytest.mark.parametrize("text, says", [
    ('format = "mp3"', "format 'mp3'"),
    ('bit_depth = "20"', "bit_depth '20'"),
    ('files = ["cd"]\nsample_rate = 48000', "a CD image needs"),
    ('[[rule]]\nmeasure = "loudness"\nmax = 1', "measure 'loudness'"),
    ('[[rule]]\nmeasure = "true_peak_dbtp"', "give min, max or both"),
    ('colour = "red"', "unknown key 'colour'"),
    ('format = [', "x.toml"),
])
def test_a_broken_target_is_refused_with_its_file_and_key(text, says):
    with pytest.raises(TargetError, match=says):
        parse("x", text, "x.toml")


def test_rules_judge_pass_warn_and_fail():
    target = parse("t", '[[rule]]\nmeasure = "true_peak_dbtp"\nmax = -1.0\nseverity = "warn"\n'
                   'why = "encoders"\n[[rule]]\nmeasure = "integrated_lufs"\nmin = -24\nmax = -22',
                   "t.toml")
    peak, level = target.rules
    assert peak.judge(-1.2)[0] == "pass"
    status, detail = peak.judge(-0.5)
    assert status == "warn" and "-0.50" in detail and "encoders" in detail
    assert level.judge(-25.0)[0] == "fail" and level.judge(None)[0] == "pass"


def test_song_files_laid_end_to_end_are_the_album():
    bounds = [(1000, 5000), (5000, 9000), (9500, 12000)]
    spans = layout.song_spans(bounds, 12500, ["a", "b", "c"])
    assert [(s.start, s.end) for s in spans] == [(1000, 5000), (5000, 9500), (9500, 12500)]
    album = layout.album_span(bounds, 12500, "album")
    assert (album.start, album.end) == (spans[0].start, spans[-1].end)


def test_sides_are_as_even_as_the_album_order_allows():
    lengths = [300, 240, 200, 260, 180, 320]
    bounds, at = [], 0
    for n in lengths:
        bounds.append((at, at + n))
        at += n
    two = layout.sides(bounds, 2)
    assert two == [[1, 2, 3], [4, 5, 6]]  # 740 and 760: no other cut is closer
    three = layout.sides(bounds, 3)
    longest = max(sum(lengths[k - 1] for k in side) for side in three)
    assert longest == 540 and sum(len(s) for s in three) == 6


def _session(songs):
    session = Session(title="Night Drive", performer="The Band", upc="0123456789012")
    for k, (title, gap) in enumerate(songs):
        session.apply({"op": "song_add", "song": {"title": title, "file": f"{k}.wav"}})
        session.apply({"op": "song_set", "id": session.songs[-1].id, "fields": {"gap_s": gap}})
    return session


def test_the_cd_gets_a_2_s_first_pregap_and_every_index_on_a_sector():
    session = _session([("one", 0.5), ("two", 0.0), ("three", 1.0)])
    bounds = [(22050, 22050 + 441000), (463050, 463050 + 300007),
              (763057 + 44100, 763057 + 44100 + 200000)]
    total = bounds[-1][1]
    lead, cd = layout.cd_program(bounds, total, session)
    one, two, three = cd.tracks
    assert one.start >= 2 * 44100 and one.start == 22050 + lead
    assert all(t.start % SECTOR == 0 for t in cd.tracks) and cd.frames % SECTOR == 0
    assert abs(two.start - (bounds[1][0] + lead)) <= SECTOR // 2  # gapless: the index moves
    assert two.pregap == 0 and three.pregap > 0.9 * 44100
    assert cd.frames >= total + lead
    assert (cd.title, cd.performer, cd.upc) == ("Night Drive", "The Band", "0123456789012")


def test_isrc_upc_and_performer_are_session_fields_that_survive_a_save():
    session = _session([("one", 2.0)])
    session.apply({"op": "song_set", "id": "one", "fields": {"isrc": "gb-abc-26-00001",
                                                           "performer": "Guest"}})
    assert session.songs[0].isrc == "GBABC2600001"
    again, _ = parse_session(dump(session), "session.toml")
    assert (again.performer, again.upc) == ("The Band", "0123456789012")
    assert (again.songs[0].isrc, again.songs[0].performer) == ("GBABC2600001", "Guest")
    with pytest.raises(SessionError, match="an ISRC is"):
        session.apply({"op": "song_set", "id": "one", "fields": {"isrc": "GB-ABC-26"}})
    with pytest.raises(SessionError, match="12 or 13 digits"):
        session.apply({"op": "album", "upc": "12345"})
    session.apply({"op": "album", "upc": "123456789012"})  # a UPC-A: 12 digits
    assert session.upc == "0123456789012"


def _tone_session(folder, count=3, seconds=1.5):
    session = Session(title="cache")
    session.sample_rate = RATE
    for k in range(count):
        t = np.arange(int(seconds * RATE)) / RATE
        x = 0.2 * np.sin(2 * np.pi * (200 + 150 * k) * t)
        sf.write(folder / f"s{k}.wav", np.stack([x, x], 1), RATE, subtype="FLOAT")
        session.apply({"op": "song_add", "song": {"title": f"s{k}", "file": f"s{k}.wav"}})
    session.apply({"op": "params", "id": "s1", "values": {"comp.threshold_db": -30.0}})
    return session


def test_masters_are_made_in_worker_processes_and_kept_until_their_song_changes(tmp_path):
    session = _tone_session(tmp_path)
    masters = Masters(tmp_path, session, tmp_path / "cache")
    assert masters.missing() == ["s0", "s1", "s2"]
    masters.make(workers=2)
    assert sorted(masters.mastered) == ["s0", "s1", "s2"] and masters.missing() == []
    here = master_song(tmp_path, session, session.songs[1])  # this process, numba
    assert np.array_equal(masters.load(session.songs[1]), here.astype(np.float32))
    again = Masters(tmp_path, session, tmp_path / "cache")
    again.make(workers=2)
    assert again.mastered == []  # nothing changed: nothing mastered
    session.apply({"op": "song_set", "id": "s2", "fields": {"level_offset_db": -3.0}})
    changed = Masters(tmp_path, session, tmp_path / "cache")
    assert changed.missing() == ["s2"]
    changed.make(workers=2)
    assert changed.mastered == ["s2"]
    changed.forget_others()
    assert len(list((tmp_path / "cache").glob("*.npy"))) == 3

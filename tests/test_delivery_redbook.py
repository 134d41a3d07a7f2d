"""Red Book refusals by rule, split-point alignment, and CD-Text packs against a golden vector."""

from __future__ import annotations

import binascii

import numpy as np
import pytest

from console.delivery import cdtext, cue, ddp, ddpread, redbook
from console.delivery.model import SECTOR, CdAlbum, CdTrack
from console.delivery.redbook import align, align_down, align_up, check
from tests.cd_fixtures import S, album, replace_track, sectors


def rules(disc: CdAlbum) -> set[tuple[str, int | None, str]]:
    return {(p.rule, p.track, p.severity) for p in check(disc)}


def tracks_of(count: int, seconds: int) -> tuple[CdTrack, ...]:
    first = sectors(2 * S)
    return tuple(CdTrack(n, "", "", "", first + sectors((n - 1) * seconds * S),
                         first if n == 1 else 0) for n in range(1, count + 1))


def long_album(lead_out: str) -> CdAlbum:
    minutes, seconds, frames = (int(x) for x in lead_out.split(":"))
    return album(frames=sectors((minutes * 60 + seconds) * S + frames))


def test_the_fixture_album_breaks_no_rule():
    assert check(album()) == []


@pytest.mark.parametrize(("disc", "expected"), [
    pytest.param(album(frames=sectors(18 * S)), ("track-length", 3, "fail"), id="3 s track"),
    pytest.param(album(tracks=tracks_of(100, 4), frames=sectors(402 * S)),
                 ("track-count", None, "fail"), id="100 tracks"),
    pytest.param(album(tracks=(), frames=0), ("track-count", None, "fail"), id="no tracks"),
    pytest.param(replace_track(album(), 1, start=sectors(S), pregap=sectors(S)),
                 ("first-pregap", 1, "fail"), id="1 s first pregap"),
    pytest.param(replace_track(album(), 2, isrc="GB-AYE-26-00002"), ("isrc", 2, "fail"),
                 id="ISRC with dashes"),
    pytest.param(replace_track(album(), 2, isrc="gbaye2600002"), ("isrc", 2, "fail"),
                 id="lower-case ISRC"),
    pytest.param(replace_track(album(), 2, isrc="GBAYEAB00002"), ("isrc", 2, "fail"),
                 id="ISRC year not digits"),
    pytest.param(replace_track(album(), 3, isrc="GBAYE2600002"), ("isrc", 3, "warn"),
                 id="ISRC repeated"),
    pytest.param(replace_track(album(), 2, start=sectors(9 * S) + 1),
                 ("sector-boundary", 2, "fail"), id="start off a sector"),
    pytest.param(album(frames=sectors(19 * S) - 5), ("sector-boundary", None, "fail"),
                 id="lead-out off a sector"),
    pytest.param(replace_track(album(), 3, number=4), ("track-numbers", 4, "fail"),
                 id="numbers skip"),
    pytest.param(replace_track(album(), 1, pregap=0), ("index-order", 1, "fail"),
                 id="track 1 INDEX 00 not at 0"),
    pytest.param(replace_track(album(), 2, pregap=sectors(8 * S)), ("index-order", 2, "fail"),
                 id="pregap before the previous INDEX 01"),
    pytest.param(album(upc="400638133393"), ("upc", None, "fail"), id="UPC of 12 digits"),
    pytest.param(album(upc="4006381333932"), ("upc", None, "warn"), id="UPC check digit"),
    pytest.param(long_album("74:00:01"), ("total-length", None, "warn"), id="over 74 min"),
    pytest.param(long_album("79:57:75"), ("total-length", None, "warn"), id="over 79:57:74"),
    pytest.param(long_album("99:59:75"), ("total-length", None, "fail"), id="over 99:59:74"),
    pytest.param(replace_track(album(), 2, title="Price: 5 €"), ("cd-text", 2, "fail"),
                 id="not Latin-1"),
    pytest.param(replace_track(album(), 2, title="a\tb"), ("cd-text", 2, "fail"),
                 id="control character"),
    pytest.param(album(performer=""), ("cd-text", None, "warn"), id="track performer only"),
])
def test_each_broken_rule_is_named(disc, expected):
    assert expected in rules(disc)


def test_the_lengths_at_the_limits_pass():
    assert rules(long_album("74:00:00")) == set()
    assert rules(long_album("79:57:74")) == {("total-length", None, "warn")}
    assert "past 74:00:00" in check(long_album("79:57:74"))[0].message
    assert "past 79:57:74" in check(long_album("79:57:75"))[0].message
    assert [p.severity for p in check(long_album("99:59:74"))] == ["warn"]
    exact = album(frames=sectors(19 * S))  # track 3 exactly 4 s
    assert check(exact) == []


def test_too_many_cd_text_packs_fail():
    titles = tuple(CdTrack(t.number, "x" * 230, "y" * 30, "", t.start, t.pregap)
                   for t in tracks_of(12, 4))
    disc = CdAlbum("Disc", "Artist", "", titles, sectors(2 * S + 12 * 4 * S))
    assert cdtext.count_packs(disc) > 256
    assert ("cd-text", None, "fail") in rules(disc)


def test_writers_refuse_a_broken_album_and_write_nothing(tmp_path):
    disc = album(frames=sectors(18 * S))
    with pytest.raises(redbook.RedBookError, match=r"track-length \(track 3\)") as caught:
        ddp.write_ddp(disc, np.zeros((disc.frames, 2), np.int16), tmp_path / "ddp")
    assert [p.rule for p in caught.value.problems] == ["track-length"]
    with pytest.raises(redbook.RedBookError):
        cue.write_cue(disc, "x.wav", tmp_path / "x.cue")
    assert list(tmp_path.iterdir()) == []


def test_a_warning_does_not_stop_the_writers(tmp_path):
    disc = album(upc="4006381333932")
    assert redbook.require(disc)[0].rule == "upc"
    ddp.write_ddp(disc, np.zeros((disc.frames, 2), np.int16), tmp_path)
    assert (tmp_path / "DDPID").read_bytes()[8:21] == b"4006381333932"


@pytest.mark.parametrize(("frame", "nearest", "down", "up"), [
    (0, 0, 0, 0), (1, 0, 0, 588), (293, 0, 0, 588), (294, 588, 0, 588),
    (588, 588, 588, 588), (588 * 75 + 400, 588 * 76, 588 * 75, 588 * 76),
])
def test_align_puts_split_points_on_sectors(frame, nearest, down, up):
    assert (align(frame), align_down(frame), align_up(frame)) == (nearest, down, up)


def test_align_moves_at_most_half_a_sector():
    frames = np.random.default_rng(1).integers(0, 44100 * 4000, 500)
    for frame in map(int, frames):
        aligned = align(frame)
        assert aligned % SECTOR == 0 and abs(aligned - frame) <= SECTOR // 2


# --- CD-Text --------------------------------------------------------------------------


def golden_album() -> CdAlbum:
    names = ("Track One", "Track Two", "Track Three")
    tracks = tuple(CdTrack(n, name, "Artist", "", 0, 0) for n, name in enumerate(names, 1))
    return CdAlbum("Disc", "Artist", "", tracks, 0)


def test_cd_text_matches_the_golden_packs_of_the_reference():
    data = cdtext.encode(golden_album())
    packs = [data[i:i + 18] for i in range(0, len(data), 18)]
    assert len(packs) == 10
    assert packs[0] == bytes.fromhex("80000000") + b"Disc\0Track O" + bytes.fromhex("4804")
    assert packs[1][:4] == bytes.fromhex("80010107")
    assert packs[3][:4] == bytes.fromhex("8003030b") and packs[3][4:16] == bytes(12)
    assert [p[0] for p in packs[4:7]] == [0x81] * 3
    assert packs[7][:10] == bytes.fromhex("8f00070000010300" "0403")


def test_every_cd_text_crc_is_ccitt_inverted_and_catches_a_changed_bit():
    data = cdtext.encode(golden_album())
    for offset in range(0, len(data), 18):
        pack = data[offset:offset + 18]
        assert int.from_bytes(pack[16:], "big") == binascii.crc_hqx(pack[:16], 0) ^ 0xFFFF
        changed = bytes([pack[0], pack[1], pack[2], pack[3] ^ 1]) + pack[4:16]
        assert cdtext.crc(changed) != pack[16:]


def test_size_information_counts_packs_and_names_the_last_one():
    data = cdtext.encode(golden_album())
    info = b"".join(data[i + 4:i + 16] for i in range(7 * 18, 10 * 18, 18))
    assert info[0:4] == bytes([0x00, 1, 3, 0])  # ISO-8859-1, tracks 1 to 3, no copyright flag
    assert list(info[4:20]) == [4, 3] + [0] * 13 + [3]
    assert info[20] == 9 and info[28] == 0x09  # last sequence number of block 0; English


def test_long_strings_cap_the_character_position_at_15(tmp_path):
    disc = CdAlbum("A" * 40, "", "", (CdTrack(1, "B", "", "", 0, 0),), 0)
    data = cdtext.encode(disc)
    positions = [data[i + 3] & 0x0F for i in range(0, len(data), 18) if data[i] == 0x80]
    assert positions == [0, 12, 15, 15]
    (tmp_path / "t.bin").write_bytes(data)
    assert ddpread.read_cdtext(tmp_path / "t.bin")[0x80] == ["A" * 40, "B"]


def test_no_text_means_no_packs():
    disc = CdAlbum("", "", "", (CdTrack(1, "", "", "", 0, 0),), 0)
    assert cdtext.encode(disc) == b"" and cdtext.count_packs(disc) == 0

"""The CD master's files, read by tools we did not write: cd-info, cueprint, shntool, md5sum.

The tools come from Debian (libcdio-utils, cuetools, shntool, coreutils);
``./dev setup`` installs them. A missing tool fails the test rather than
skipping it: these tests are the only proof the files are what a plant reads.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from console.delivery import cue, ddp, ddpread
from console.delivery.model import SECTOR, CdAlbum, CdTrack
from tests.cd_fixtures import UPC, S, album, program, sectors


def run(*command: str, cwd: Path | None = None, check: bool = True) -> str:
    if shutil.which(command[0]) is None:
        pytest.fail(f"{command[0]} is not installed: run ./dev setup "
                    "(apt-get install libcdio-utils cuetools shntool)")
    done = subprocess.run(command, cwd=cwd, capture_output=True, timeout=60)
    if check and done.returncode:
        pytest.fail(f"{' '.join(command)} exited {done.returncode}: {done.stderr!r}")
    return (done.stdout + done.stderr).decode("iso-8859-1")


@pytest.fixture(scope="module")
def master(tmp_path_factory):
    """The fixture album written as a DDP image and as a CUE sheet with its WAV."""
    folder = tmp_path_factory.mktemp("cd")
    disc = album()
    pcm = program(disc.frames, silent=disc.tracks[0].start)
    files = ddp.write_ddp(disc, pcm, folder / "ddp")
    sf.write(folder / "prog.wav", cue.cue_audio(pcm), 44100, subtype="PCM_16")
    cue.write_cue(disc, "prog.wav", folder / "prog.cue")
    return disc, pcm, folder, files


# --- DDP ------------------------------------------------------------------------------


def test_ddp_fileset_has_the_sizes_and_fixed_fields_of_the_description(master):
    _, _, folder, files = master
    names = ["DDPID", "DDPMS", "CDTEXT.BIN", "PQDESCR", "IMAGE.DAT", "CHECKSUM.MD5"]
    assert [p.name for p in files] == names
    d = folder / "ddp"
    ddpid = (d / "DDPID").read_bytes()
    assert len(ddpid) == 128
    assert ddpid[0:8] == b"DDP 2.00" and ddpid[8:21] == UPC.encode() and ddpid[87:89] == b"CD"
    assert ddpid[38:86] == b" " * 48  # no master ID, no user text
    assert (d / "PQDESCR").stat().st_size == 8 * 64  # lead-in, 2 + 2 + 1 indexes, lead-out x2
    assert (d / "CDTEXT.BIN").stat().st_size % 18 == 0
    assert (d / "IMAGE.DAT").stat().st_size == 19 * S * 2352
    ms = (d / "DDPMS").read_bytes()
    packets = [ms[i:i + 128] for i in range(0, len(ms), 128)]
    assert len(ms) == 3 * 128
    assert [(p[4:6], p[30:38], p[74:91].rstrip()) for p in packets] == [
        (b"S0", b"CDTEXT  ", b"CDTEXT.BIN"),
        (b"S0", b"PQ DESCR", b"PQDESCR"),
        (b"D0", b" " * 8, b"IMAGE.DAT")]
    audio = packets[2]
    assert audio[14:22] == b"    1425" and audio[38:42] == b"DA71" and audio[46:50] == b" 150"
    assert packets[1][14:22] == b"     512"  # S0 lengths are bytes


def test_pq_descriptor_matches_the_cue2ddp_example(tmp_path):
    # The reference's exp/003: track 2 INDEX 00 at 00:10:00, INDEX 01 at 00:12:00.
    disc = CdAlbum("", "", "", (CdTrack(1, "", "", "", sectors(2 * S), sectors(2 * S)),
                                CdTrack(2, "", "", "", sectors(12 * S), sectors(2 * S))),
                   sectors(22 * S))
    ddp.write_ddp(disc, np.zeros((disc.frames, 2), np.int16), tmp_path)
    pq = (tmp_path / "PQDESCR").read_bytes()
    records = [pq[i:i + 64] for i in range(0, len(pq), 64)]
    assert [r[:18] for r in records] == [
        b"VVVS0000  00000001", b"VVVS0100  00000001", b"VVVS0101  00020001",
        b"VVVS0200  00100001", b"VVVS0201  00120001", b"VVVSAA01  00220001",
        b"VVVSAA01  00220001"]
    assert all(r[18:] == b" " * 46 for r in records)
    assert not (tmp_path / "CDTEXT.BIN").exists()
    assert (tmp_path / "DDPMS").stat().st_size == 2 * 128


def test_md5sum_checks_every_file_and_catches_a_changed_byte(master, tmp_path):
    _, _, folder, _ = master
    out = run("md5sum", "-c", "CHECKSUM.MD5", cwd=folder / "ddp")
    listed = set(re.findall(r"^(\S+): OK$", out, re.M))
    on_disk = {p.name for p in (folder / "ddp").iterdir()} - {"CHECKSUM.MD5"}
    assert listed == on_disk and len(listed) == 5
    assert (folder / "ddp" / "CHECKSUM.MD5").read_bytes().count(b"\r") == 0
    copy = shutil.copytree(folder / "ddp", tmp_path / "ddp")
    with (copy / "IMAGE.DAT").open("r+b") as image:
        image.seek(200_000)
        byte = image.read(1)
        image.seek(200_000)
        image.write(bytes([byte[0] ^ 1]))
    out = run("md5sum", "-c", "CHECKSUM.MD5", cwd=copy, check=False)
    assert "IMAGE.DAT: FAILED" in out and "DDPID: OK" in out


def test_reader_gives_back_the_album_and_identical_pcm(master):
    disc, pcm, folder, _ = master
    read, audio = ddpread.read_ddp(folder / "ddp")
    assert read == disc
    assert audio.dtype == np.int16 and audio.tobytes() == pcm.tobytes()
    raw = (folder / "ddp" / "IMAGE.DAT").read_bytes()
    frame = sectors(2 * S) + 1000  # little-endian, left first
    assert raw[frame * 4:frame * 4 + 4] == pcm[frame].astype("<i2").tobytes()
    assert int.from_bytes(raw[frame * 4:frame * 4 + 2], "little", signed=True) == pcm[frame, 0]


def test_pq_times_are_on_the_sector_grid_with_the_lead_out_twice(master):
    _, _, folder, _ = master
    pq = ddpread.read_pq(folder / "ddp" / "PQDESCR")
    points = [(e.track, e.index, e.sectors) for e in pq]
    assert points == [("00", 0, 0), ("01", 0, 0), ("01", 1, 150), ("02", 0, 525),
                      ("02", 1, 675), ("03", 1, 1125), ("AA", 1, 1425), ("AA", 1, 1425)]
    assert pq[0].upc == UPC and {e.control for e in pq} == {"01"}
    assert [e.isrc for e in pq[1:5]] == ["GBAYE2600001"] * 2 + ["GBAYE2600002"] * 2


def test_reader_finds_a_bad_crc_a_moved_lead_out_and_a_missing_index(master, tmp_path):
    _, _, folder, _ = master
    texts = ddpread.read_cdtext(folder / "ddp" / "CDTEXT.BIN")
    assert texts[0x80] == ["Disc", "Track One", "Café Two", "Track Three"]
    assert texts[0x81] == ["Artist", "Artist", "Artist", "Other"]
    copy = shutil.copytree(folder / "ddp", tmp_path / "text")
    data = bytearray((copy / "CDTEXT.BIN").read_bytes())
    data[18 + 5] ^= 0x20  # a letter's case in the second pack
    (copy / "CDTEXT.BIN").write_bytes(bytes(data))
    with pytest.raises(ddpread.DdpReadError, match="pack 1 has a bad CRC"):
        ddpread.read_ddp(copy)
    copy = shutil.copytree(folder / "ddp", tmp_path / "pq")
    pq = (copy / "PQDESCR").read_bytes().replace(b"00190001", b"00185001")
    (copy / "PQDESCR").write_bytes(pq)
    with pytest.raises(ddpread.DdpReadError, match="lead-out"):
        ddpread.read_ddp(copy)
    (copy / "PQDESCR").write_bytes(pq.replace(b"VVVS0301", b"VVVS0302").replace(b"00185001",
                                                                               b"00190001"))
    with pytest.raises(ddpread.DdpReadError, match="track 3 has no INDEX 01"):
        ddpread.read_ddp(copy)


# --- CUE ------------------------------------------------------------------------------


def cd_info(folder: Path, cue_name: str) -> str:
    """cd-info reads the cue's text and sizes the disc from ``<cue stem>.bin`` beside it."""
    return run("cd-info", "--no-device-info", "--no-header", "--cue-file", cue_name, cwd=folder)


@pytest.fixture(scope="module")
def cd_info_folder(master):
    """The cue beside a raw copy of the WAV's audio (IMAGE.DAT from 00:02:00), as cd-info wants."""
    _, _, folder, _ = master
    image = (folder / "ddp" / "IMAGE.DAT").read_bytes()
    (folder / "prog.bin").write_bytes(image[150 * 2352:])
    return folder


def test_cd_info_reads_track_starts_lead_out_mcn_and_cd_text(cd_info_folder):
    out = cd_info(cd_info_folder, "prog.cue")
    tracks = re.findall(r"^\s*(\d+): (\d\d:\d\d:\d\d)\s+(\d+) (audio|leadout)", out, re.M)
    # MSF is the DDP A-time; LSN is the same less the 150 sectors of the first pregap
    assert tracks == [("1", "00:02:00", "000000", "audio"), ("2", "00:09:00", "000525", "audio"),
                      ("3", "00:15:00", "000975", "audio"),
                      ("170", "00:19:00", "001275", "leadout")]
    assert f"Media Catalog Number (MCN): {UPC}" in out
    assert "Hidden Track" not in out
    disc_text = out.split("CD-TEXT for Disc:")[1].split("CD-TEXT for Track")[0]
    assert "TITLE: Disc" in disc_text and "PERFORMER: Artist" in disc_text
    track2 = out.split("CD-TEXT for Track  2:")[1].split("CD-TEXT for Track")[0]
    assert "TITLE: Café Two".encode().decode("iso-8859-1") in track2  # cd-info prints UTF-8


def test_cd_info_sees_a_wav_that_holds_the_first_pregap(cd_info_folder):
    # Why the WAV starts at 00:02:00: with the pregap in the file, track 1 moves by 150 sectors.
    text = (cd_info_folder / "prog.cue").read_text("iso-8859-1")
    text = text.replace("INDEX 01 00:00:00", "INDEX 00 00:00:00\n    INDEX 01 00:02:00", 1)
    (cd_info_folder / "pregap.cue").write_text(text, "iso-8859-1")
    shutil.copy(cd_info_folder / "prog.bin", cd_info_folder / "pregap.bin")
    out = cd_info(cd_info_folder, "pregap.cue")
    assert re.search(r"^\s*1: 00:04:00\s+000150 audio", out, re.M)


def test_cueprint_reads_isrc_titles_and_performers(master):
    _, _, folder, _ = master
    out = run("cueprint", "-d", "D|%N|%P|%T\n", "-t", "T|%n|%i|%p|%t\n", str(folder / "prog.cue"))
    assert out.splitlines() == ["D|3|Artist|Disc", "T|1|GBAYE2600001|Artist|Track One",
                                "T|2|GBAYE2600002|Artist|Café Two", "T|3||Other|Track Three"]


def test_shnsplit_cuts_tracks_equal_to_the_program_slices(master, tmp_path):
    disc, pcm, folder, _ = master
    run("shnsplit", "-q", "-f", str(folder / "prog.cue"), "-o", "wav", "-d", str(tmp_path),
        "-a", "cut", str(folder / "prog.wav"))
    pieces = sorted(tmp_path.glob("cut*.wav"))
    assert len(pieces) == 3
    ends = [t.start for t in disc.tracks[1:]] + [disc.frames]
    for piece, track, end in zip(pieces, disc.tracks, ends, strict=True):
        audio, rate = sf.read(piece, dtype="int16")
        assert rate == 44100
        assert np.array_equal(audio, pcm[track.start:end])  # pregap goes with the track before
    out = run("shntool", "len", *map(str, pieces))
    rows = re.findall(r"^\s*(\d+:\d\d\.\d\d)\s+\d+ B\s+(\S+)\s.*\.wav$", out, re.M)
    assert rows == [("0:07.00", "---"), ("0:06.00", "---"), ("0:04.00", "---")]


def test_shntool_len_flags_short_and_off_sector_files(tmp_path):
    # What the check above relies on: shntool does mark these columns.
    sf.write(tmp_path / "short.wav", program(sectors(3 * S), 0), 44100, subtype="PCM_16")
    sf.write(tmp_path / "ragged.wav", program(sectors(5 * S) + 100, 0), 44100, subtype="PCM_16")
    out = run("shntool", "len", str(tmp_path / "ragged.wav"), str(tmp_path / "short.wav"))
    flags = re.findall(r"^\s*\d+:\d\d\.\d\d\s+\d+ B\s+(\S+)\s.*\.wav$", out, re.M)
    assert flags == ["-b-", "--s"]


def test_cue_keeps_a_hidden_track_as_track_1_index_00():
    disc = album()
    first = disc.tracks[0]
    longer = CdTrack(1, first.title, first.performer, first.isrc, sectors(5 * S), sectors(5 * S))
    text = cue.cue_text(CdAlbum(disc.title, disc.performer, disc.upc,
                                (longer, *disc.tracks[1:]), disc.frames), "x.wav")
    assert "INDEX 00 00:00:00\n    INDEX 01 00:03:00" in text
    assert text.startswith(f"CATALOG {UPC}\n") and cue.CUE_START == 150 * SECTOR

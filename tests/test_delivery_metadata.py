"""Delivery metadata, read back by tools we did not write: wavinfo, mutagen, ffprobe."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess
from datetime import datetime

import numpy as np
import pytest
import soundfile as sf
import wavinfo
from mutagen.flac import FLAC
from mutagen.wave import WAVE

from console.delivery import bext
from console.delivery.bext import Bext, Loudness
from console.delivery.metadata import TrackTags, write_flac, write_wav
from dsp.errors import AudioFileError, ParameterError
from dsp.meter import measure

RATE = 44100
TAGS = TrackTags("Night Drive", "The Examples", "Test Album", 3, 11, "GBAYE2600012",
                 "2026-12-06")
LOUDNESS = Loudness(-14.03, 6.37, -1.21, -9.87, -11.42)
WHEN = datetime(2026, 12, 6, 13, 5, 9)


def _master(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    tone = 0.5 * np.sin(2 * np.pi * 440 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * 0.7 * t))
    return np.stack([tone, 0.8 * tone], axis=1)


def _chunks(path) -> list[tuple[bytes, int]]:
    """The file's chunk ids and sizes, walked by hand; the RIFF size must match the file."""
    data = path.read_bytes()
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack_from("<I", data, 4)[0] == len(data) - 8
    found, pos = [], 12
    while pos < len(data):
        cid, size = struct.unpack_from("<4sI", data, pos)
        found.append((cid, size))
        pos += 8 + size + size % 2
    assert pos == len(data)
    return found


@pytest.fixture
def wav(tmp_path):
    path = tmp_path / "03 Night Drive.wav"
    sf.write(path, _master(), RATE, subtype="PCM_24")
    return path


# BWF bext --------------------------------------------------------------------------------


def test_bext_reads_back_in_wavinfo_with_every_field(wav):
    before, _ = sf.read(wav, dtype="int32")
    write_wav(wav, TAGS, LOUDNESS, created=WHEN, originator_reference="GBXYZ0000012345")
    b = wavinfo.WavInfoReader(str(wav)).bext
    assert b.version == 2
    assert b.description == "ISRC:GBAYE2600012 The Examples - Night Drive"
    assert b.originator.startswith("masterdeck ")
    assert b.originator_ref == "GBXYZ0000012345"
    assert (b.originator_date, b.originator_time) == ("2026-12-06", "13:05:09")
    assert b.time_reference == 0
    assert b.umid == bytes(64)
    assert b.coding_history.startswith("A=PCM,F=44100,W=24,M=stereo,T=masterdeck")
    assert b.coding_history.endswith("\r\n")
    read = (b.loudness_value, b.loudness_range, b.max_true_peak, b.max_momentary_loudness,
            b.max_shortterm_loudness)
    assert read == pytest.approx(LOUDNESS.values(), abs=0.005)
    after, rate = sf.read(wav, dtype="int32")
    assert rate == RATE
    np.testing.assert_array_equal(after, before)


def test_bext_sits_before_data_and_the_riff_size_is_right(wav):
    write_wav(wav, TAGS, LOUDNESS, created=WHEN)
    ids = [cid for cid, _ in _chunks(wav)]
    assert ids == [b"fmt ", b"bext", b"data", b"id3 "]
    size = dict(_chunks(wav))[b"bext"]
    assert size >= 602 and size % 2 == 0


def test_the_loudness_of_a_real_measurement_goes_in_to_a_hundredth(wav):
    sf.write(wav, _master(8.0), RATE, subtype="PCM_24")  # long enough for an LRA
    x, _ = sf.read(wav)
    loudness = Loudness.from_reading(measure(x, RATE))
    assert None not in loudness.values()
    write_wav(wav, TAGS, loudness, created=WHEN)
    b = wavinfo.WavInfoReader(str(wav)).bext
    assert b.loudness_value == pytest.approx(round(loudness.integrated_lufs, 2), abs=1e-9)
    assert b.max_true_peak == pytest.approx(round(loudness.max_true_peak_dbtp, 2), abs=1e-9)
    assert b.loudness_range == pytest.approx(round(loudness.loudness_range_lu, 2), abs=1e-9)
    assert b.max_momentary_loudness == pytest.approx(
        round(loudness.max_momentary_lufs, 2), abs=1e-9)
    assert b.max_shortterm_loudness == pytest.approx(
        round(loudness.max_short_term_lufs, 2), abs=1e-9)


def test_unknown_loudness_is_0x7fff(wav):
    write_wav(wav, TAGS, Loudness(None, None, -1.0, None, None), created=WHEN)
    b = wavinfo.WavInfoReader(str(wav)).bext
    assert b.loudness_value == pytest.approx(327.67)  # 0x7FFF / 100
    assert b.max_true_peak == pytest.approx(-1.0)


def test_writing_again_replaces_bext_and_keeps_other_chunks(tmp_path):
    path = tmp_path / "info.wav"
    with sf.SoundFile(path, "w", RATE, 2, subtype="PCM_16") as f:
        f.title = "odd"  # a LIST/INFO chunk of odd-length text, padded
        f.write(_master(0.5))
    before, _ = sf.read(path, dtype="int16")
    write_wav(path, TAGS, LOUDNESS, created=WHEN)
    write_wav(path, TAGS, Loudness(-20.0, 3.0, -3.0, -15.0, -17.0), created=WHEN)
    ids = [cid for cid, _ in _chunks(path)]
    assert ids.count(b"bext") == 1 and ids.count(b"id3 ") == 1 and b"LIST" in ids
    info = wavinfo.WavInfoReader(str(path))
    assert info.info.title == "odd"
    assert info.bext.loudness_value == pytest.approx(-20.0)
    assert info.bext.coding_history.startswith("A=PCM,F=44100,W=16,")
    np.testing.assert_array_equal(sf.read(path, dtype="int16")[0], before)


def test_pack_is_the_602_byte_fixed_part_then_the_history():
    body = bext.pack(Bext(coding_history="A=PCM,F=48000,W=24,M=stereo,T=xy"))
    assert bext.FIXED.size == 602
    assert body[602:] == b"A=PCM,F=48000,W=24,M=stereo,T=xy\r\n"
    assert struct.unpack_from("<H", body, 346)[0] == 2  # Version after 256+32+32+10+8+8
    odd = bext.pack(Bext(coding_history="A"))
    assert len(odd) % 2 == 0 and odd[602:] == b"A\r\n\0"


@pytest.mark.parametrize(("fields", "message"), [
    ({"originator_reference": "x" * 33}, "OriginatorReference holds at most 32"),
    ({"description": "Café"}, "Description must be ASCII"),
    ({"loudness": Loudness(-400.0, None, None, None, None)}, "LoudnessValue must be in"),
    ({"loudness": Loudness(float("nan"), None, None, None, None)}, "must be finite"),
    ({"time_reference": -1}, "TimeReference"),
])
def test_bad_bext_fields_are_refused(wav, fields, message):
    original = wav.read_bytes()
    with pytest.raises(ParameterError, match=message):
        bext.write(wav, Bext(**fields))
    assert wav.read_bytes() == original


def test_a_file_that_is_not_a_wav_is_refused(tmp_path):
    path = tmp_path / "x.wav"
    path.write_bytes(b"fLaC" + bytes(100))
    with pytest.raises(AudioFileError, match="not a RIFF/WAVE"):
        bext.write(path, Bext())


# ISRC and tags -----------------------------------------------------------------------------


def test_the_wav_carries_the_isrc_as_id3_tsrc(wav):
    write_wav(wav, TAGS, LOUDNESS, created=WHEN)
    tags = WAVE(str(wav)).tags
    assert str(tags["TSRC"]) == "GBAYE2600012"
    assert str(tags["TIT2"]) == "Night Drive" and str(tags["TRCK"]) == "3/11"
    assert str(tags["TDRC"]) == "2026-12-06"


@pytest.mark.parametrize("isrc", ["GB-AYE-26-00012", "gbaye2600012", "GBAYE260001"])
def test_a_malformed_isrc_is_refused(isrc):
    with pytest.raises(ParameterError, match="ISRC must be 12 characters"):
        TrackTags("t", "a", "b", 1, 1, isrc)


def test_track_number_past_the_total_is_refused():
    with pytest.raises(ParameterError, match=r"track number must be in 1\.\.2"):
        TrackTags("t", "a", "b", 3, 2)


# FLAC ------------------------------------------------------------------------------------

EXPECTED_FLAC = {
    "TITLE": "Night Drive", "ARTIST": "The Examples", "ALBUM": "Test Album",
    "TRACKNUMBER": "3", "TRACKTOTAL": "11", "ISRC": "GBAYE2600012", "DATE": "2026-12-06",
    "LOUDNESS_INTEGRATED_LUFS": "-14.03", "LOUDNESS_RANGE_LU": "6.37",
    "TRUE_PEAK_DBTP": "-1.21", "MAX_MOMENTARY_LUFS": "-9.87", "MAX_SHORT_TERM_LUFS": "-11.42",
    "REPLAYGAIN_TRACK_GAIN": "-3.97 dB", "REPLAYGAIN_TRACK_PEAK": "0.869961",
}


@pytest.fixture
def flac(tmp_path):
    path = tmp_path / "03.flac"
    with sf.SoundFile(path, "w", RATE, 2, subtype="PCM_24", format="FLAC") as f:
        f.comment = "kept"
        f.write(_master())
    return path


def test_flac_vorbis_comments_read_back_in_mutagen(flac):
    before, _ = sf.read(flac, dtype="int32")
    write_flac(flac, TAGS, LOUDNESS)
    tags = FLAC(str(flac))
    for key, value in EXPECTED_FLAC.items():
        assert tags[key] == [value], key
    assert tags["COMMENT"] == ["kept"]
    np.testing.assert_array_equal(sf.read(flac, dtype="int32")[0], before)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="needs ffprobe")
def test_flac_vorbis_comments_read_back_in_ffprobe(flac):
    write_flac(flac, TAGS, LOUDNESS)
    done = subprocess.run(["ffprobe", "-v", "error", "-show_format", "-of", "json", str(flac)],
                          capture_output=True, text=True, timeout=60, check=True)
    tags = {k.upper(): v for k, v in json.loads(done.stdout)["format"]["tags"].items()}
    tags["TRACKNUMBER"] = tags.pop("TRACK")  # ffprobe's name for TRACKNUMBER
    for key, value in EXPECTED_FLAC.items():
        assert tags[key] == value, key


@pytest.mark.skipif(shutil.which("metaflac") is None, reason="needs metaflac")
def test_flac_vorbis_comments_read_back_in_metaflac(flac):
    write_flac(flac, TAGS, LOUDNESS)
    done = subprocess.run(["metaflac", "--export-tags-to=-", str(flac)],
                          capture_output=True, text=True, timeout=60, check=True)
    lines = set(done.stdout.splitlines())
    assert {f"{k}={v}" for k, v in EXPECTED_FLAC.items()} <= lines


def test_a_figure_no_longer_known_is_removed_from_the_flac(flac):
    write_flac(flac, TAGS, LOUDNESS)
    write_flac(flac, TrackTags("T", "A", "B", 1, 1), Loudness(None, None, -2.0, None, None))
    tags = FLAC(str(flac))
    for key in ("ISRC", "DATE", "LOUDNESS_INTEGRATED_LUFS", "REPLAYGAIN_TRACK_GAIN"):
        assert key not in tags, key
    assert tags["TRUE_PEAK_DBTP"] == ["-2.00"]

"""Platform loudness normalisation: the gains against the documented rules."""

import pytest

from console.offline import platforms as P
from dsp.errors import ParameterError


def test_spotify_turns_a_quiet_song_up_only_until_its_true_peak_reaches_minus_1():
    spotify = P.BY_ID["spotify"]
    assert spotify.track_gain_db(-20.0, -5.0) == pytest.approx(4.0)  # not +6
    assert spotify.track_gain_db(-20.0, -9.0) == pytest.approx(6.0)  # room enough
    assert spotify.track_gain_db(-20.0, -0.5) == 0.0  # no room at all: left as it is
    assert spotify.track_gain_db(-8.0, -0.2) == pytest.approx(-6.0)  # down, whatever the peak
    assert P.BY_ID["spotify-loud"].track_gain_db(-20.0, -5.0) == pytest.approx(9.0)
    assert P.BY_ID["spotify-quiet"].track_gain_db(-9.0, -1.0) == pytest.approx(-10.0)


def test_platforms_that_only_turn_down_never_raise():
    for name in ("youtube", "tidal", "amazon", "deezer"):
        platform = P.BY_ID[name]
        assert platform.track_gain_db(-30.0, -12.0) == 0.0
        assert platform.track_gain_db(platform.reference_lufs + 3.0, -1.0) == pytest.approx(-3.0)


def test_sound_check_turns_both_ways():
    apple = P.BY_ID["apple"]
    assert apple.reference_lufs == -16.0
    assert apple.track_gain_db(-20.0, -1.0) == pytest.approx(4.0)
    assert apple.track_gain_db(-9.0, -0.1) == pytest.approx(-7.0)


def test_an_album_in_order_gets_one_gain_where_the_platform_does_albums():
    songs = [{"integrated_lufs": -12.0, "true_peak_dbtp": -1.0},
             {"integrated_lufs": -9.0, "true_peak_dbtp": -0.5},
             {"integrated_lufs": None, "true_peak_dbtp": None}]
    album = {"integrated_lufs": -10.0, "true_peak_dbtp": -0.5}
    rows = {row["id"]: row for row in P.preview(songs, album)}
    assert rows["spotify"]["track_gains_db"] == [-2.0, -5.0, None]
    assert rows["spotify"]["album_gain_db"] == -4.0  # the level plan's 3 LU step survives
    assert rows["youtube"]["album_gain_db"] is None  # track by track
    assert rows["apple"]["album_gain_db"] == -6.0
    assert {row["confidence"] for row in rows.values()} <= {"official", "secondary",
                                                            "unverified"}
    assert rows["amazon"]["confidence"] == "unverified"


def test_a_custom_reference():
    mine = P.custom(-18.0)
    assert mine.track_gain_db(-20.0, -1.0) == pytest.approx(2.0)
    assert P.custom(-18.0, turns_up=False).track_gain_db(-20.0, -1.0) == 0.0
    with pytest.raises(ParameterError):
        P.custom(3.0)

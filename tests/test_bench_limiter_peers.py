"""The limiter peer benchmark's measurements measure what they say.

Each figure is checked on a signal with a known answer, with no peer
installed: a gain nulls and a clipper does not, a clipped two-tone shows IMD
and a clean one does not, a known delay is found, a known true peak is read.
"""

from __future__ import annotations

import numpy as np
import pytest

from console.devtools.benchmarks import peer_measures as M
from console.devtools.benchmarks import peer_music

RATE = 48000


def _music(seconds: float = 2.0) -> np.ndarray:
    rng = np.random.default_rng(3)
    t = np.arange(int(seconds * RATE)) / RATE
    x = 0.3 * np.sin(2 * np.pi * 110 * t)[:, None] + 0.1 * rng.standard_normal((t.size, 2))
    return x * (0.5 + 0.5 * np.abs(np.sin(2 * np.pi * 2 * t)))[:, None]


def test_a_plain_gain_adds_no_distortion() -> None:
    x = _music()
    assert M.null_residual_db(x, 0.5 * x) < -100


def test_a_clipper_adds_distortion_and_more_clipping_adds_more() -> None:
    x = _music()
    peak = np.abs(x).max()
    light = M.null_residual_db(x, np.clip(x, -0.8 * peak, 0.8 * peak))
    hard = M.null_residual_db(x, np.clip(x, -0.3 * peak, 0.3 * peak))
    assert -60 < light < -20
    assert hard > light + 10


def test_a_clean_smpte_two_tone_has_no_imd_and_a_clipped_one_has() -> None:
    x = M.smpte_signal(RATE, 2.0, 0.9)
    assert M.smpte_imd_db(x, RATE) < -120
    assert M.smpte_imd_db(np.clip(x, -0.6, 0.6), RATE) > -40


def test_a_clean_ccif_two_tone_has_no_imd_and_a_clipped_one_has() -> None:
    x = M.ccif_signal(RATE, 2.0, 0.9)
    assert M.ccif_imd_db(x, RATE) < -120
    assert M.ccif_imd_db(np.clip(x, -0.6, 0.6), RATE) > -40


def test_smpte_imd_reads_a_known_amplitude_modulation() -> None:
    # 7 kHz modulated at 60 Hz by depth m has sidebands of m/2 each: rms m/sqrt(2)
    t = np.arange(2 * RATE) / RATE
    m = 0.01
    x = (1 + m * np.sin(2 * np.pi * 60 * t)) * np.sin(2 * np.pi * 7000 * t)
    assert M.smpte_imd_db(x, RATE) == pytest.approx(20 * np.log10(m / np.sqrt(2)), abs=0.1)


@pytest.mark.parametrize("delay", [0, 37, 240])
def test_latency_finds_a_known_delay(delay: int) -> None:
    sent = M.impulse(RATE)
    received = np.roll(sent, delay, axis=0) * 0.7
    assert M.latency_samples(sent, received) == delay


def test_latency_finds_a_delay_through_a_smearing_filter() -> None:
    from scipy.signal import lfilter

    sent = M.impulse(RATE)
    taps = np.hanning(33)  # symmetric: a group delay of 16 samples
    received = lfilter(taps / taps.sum(), 1.0, np.roll(sent, 50, axis=0), axis=0)
    assert M.latency_samples(sent, received) == 66


def test_align_undoes_a_delay() -> None:
    x = _music(0.5)
    delayed = np.concatenate([np.zeros((64, 2)), x])
    assert np.array_equal(M.align(delayed, 64, x.shape[0]), x)


def test_three_meters_read_the_true_peak_of_an_inter_sample_peak() -> None:
    # EBU Tech 3341 case 16: fs/4 at 45 degrees, 0.5 FFS: samples at -9.03 dBFS, true peak -6.02
    n = np.arange(RATE)
    x = 0.5 * np.sin(2 * np.pi * n / 4 + np.pi / 4)
    x *= np.minimum(1.0, np.minimum(n, n[-1] - n) / (0.01 * RATE))
    peaks = M.true_peaks_dbtp(np.repeat(x[:, None], 2, axis=1), RATE)
    assert set(peaks) == {"masterdeck", "libebur128", "x16"}
    for reading in peaks.values():
        assert -6.42 <= reading <= -5.82
    assert peaks["x16"] == pytest.approx(-6.02, abs=0.02)


def test_loudness_reads_a_known_sine() -> None:
    # a 997 Hz sine at -20 dBFS peak in both channels reads -20 LUFS (-23 + 3 for two channels)
    t = np.arange(5 * RATE) / RATE
    x = np.repeat((10 ** (-20 / 20) * np.sin(2 * np.pi * 997 * t))[:, None], 2, axis=1)
    assert M.integrated_lufs(x, RATE) == pytest.approx(-20.0, abs=0.1)


def test_every_arrangement_loads_and_synthesises_at_the_peak_it_promises() -> None:
    songs = peer_music.arrangements()
    assert {a.name for a in songs} >= {"dense-rock", "sub-electronic", "acoustic-dynamics",
                                       "bright-percussion"}
    for arr in songs:
        x = peer_music.synthesise(arr, 8000)
        assert x.shape == (int((arr.seconds + 1.0) * 8000), 2)
        assert np.abs(x).max() > 0


def test_an_arrangement_becomes_a_midi_file_with_every_note(tmp_path) -> None:
    import mido

    arr = peer_music.arrangements()[0]
    path = tmp_path / "song.mid"
    peer_music.write_midi(arr, path)
    ons = [m for m in mido.MidiFile(path) if m.type == "note_on" and m.velocity > 0]
    assert len(ons) == arr.bars * sum(len(t.notes) for t in arr.tracks)


def test_distortion_at_equal_loudness_interpolates_over_the_drive_sweep() -> None:
    from console.devtools.benchmarks.limiter_peers import _distortion_at

    lufs = [-14.0, -11.0, -9.0, -8.0]
    distortion = [-200.0, -30.0, -20.0, -10.0]
    assert _distortion_at(lufs, distortion, -8.5) == pytest.approx(-12.6, abs=0.05)  # energy mean
    assert _distortion_at(lufs, distortion, -12.5) == pytest.approx(-33.0, abs=0.05)
    assert _distortion_at(lufs, distortion, -7.0) is None  # never that loud: no credit


def test_an_over_is_not_credited_as_loudness_and_a_fall_with_drive_is_reported() -> None:
    from console.devtools.benchmarks.limiter_peers import equal_loudness, loudest_and_falls

    def song(lufs, at_ceiling, distortion):
        return {"songs": {"s": {"lufs": lufs, "lufs_at_ceiling": at_ceiling,
                                "distortion_db": distortion}}}

    figures = {
        # louder on paper, but 2 dB over the ceiling at its loudest
        "overs": song([-12.0, -9.0, -7.0], [-12.0, -10.0, -9.0], [-40.0, -20.0, -10.0]),
        "clean": song([-12.0, -9.5, -9.7], [-12.0, -9.5, -9.7], [-45.0, -25.0, -22.0]),
    }
    table = loudest_and_falls(figures)["s"]
    assert table["overs"]["loudest_at_ceiling"] == -9.0
    assert table["clean"]["largest_fall_lu"] == pytest.approx(0.2)
    assert table["overs"]["largest_fall_lu"] == 0.0
    equal = equal_loudness(figures)["s"]
    assert list(equal) == ["-9.5", "-12.5"]  # the loudest both reach at the ceiling
    assert equal["-9.5"]["clean"] == pytest.approx(-25.0, abs=0.05)


def test_at_each_peers_loudest_level_the_cleanest_of_each_side_is_named() -> None:
    from console.devtools.benchmarks.limiter_peers import at_the_peers_loudness

    def song(at_ceiling, distortion):
        return {"songs": {"s": {"lufs": at_ceiling, "lufs_at_ceiling": at_ceiling,
                                "distortion_db": distortion}}}

    figures = {
        "masterdeck": song([-12.0, -10.0], [-40.0, -30.0]),  # never gets to -8
        "md-loud": song([-12.0, -9.0, -7.0], [-38.0, -26.0, -18.0]),
        "peer-a": song([-12.0, -8.0], [-35.0, -20.0]),
        "peer-b": song([-12.0, -9.0, -8.0], [-30.0, -22.0, -21.0]),
    }
    rows = at_the_peers_loudness(figures)["s"]
    assert [r["peer"] for r in rows] == ["peer-a", "peer-b"]  # both top at -8
    top = rows[0]
    assert top["level"] == -8.0 and top["cleanest_peer"] == "peer-b"
    assert top["peer_db"] == pytest.approx(-21.0)
    assert top["masterdeck"] == "md-loud"  # the default never gets there
    assert top["masterdeck_db"] == pytest.approx(-20.4, abs=0.05)  # energy halfway -26..-18


def test_the_bench_names_the_missing_packages_and_exits_non_zero(monkeypatch, capsys) -> None:
    from console.cli import main
    from console.devtools.benchmarks import peer_limiters

    monkeypatch.setattr(peer_limiters, "missing_packages", lambda: ["x42-plugins"])
    assert main(["bench", "--only", "limiter-peers"]) == 2
    err = capsys.readouterr().err
    assert "x42-plugins" in err and "apt-get install" in err


def test_the_limiters_are_masterdeck_and_the_peers_asked_for() -> None:
    from console.devtools.benchmarks import peer_limiters

    names = [lim.name for lim in peer_limiters.limiters()]
    assert names[:8] == ["masterdeck", "md-single", "md-punchy", "md-loud", "md-clip+loud",
                         "x42-dpl", "lsp", "alimiter"]
    x = 4.0 * _music(0.5)
    y = peer_limiters.run_masterdeck(x, RATE)
    assert y.shape == x.shape
    assert M.masterdeck_peak_dbtp(y, RATE) <= -1.0 + 0.02
    loud = peer_limiters.run_masterdeck(x, RATE, style=3)  # a style is really run
    assert np.abs(loud - y).max() > 1e-3
    clipped = peer_limiters.run_masterdeck(x, RATE, style=3, clip=True)  # and the clipper
    assert np.abs(clipped - loud).max() > 1e-3
    assert M.masterdeck_peak_dbtp(clipped, RATE) <= -1.0 + 0.02


def test_a_fraction_of_a_sample_of_delay_is_not_counted_as_distortion() -> None:
    # an oversampling plug-in's latency is rarely a whole number of samples; music
    # has little above 0.7 x Nyquist, and a short FIR can delay everything below it
    n = 2 * RATE
    f = np.fft.rfftfreq(n)
    spectrum = np.fft.rfft(_music(), axis=0)
    spectrum[f > 0.35] = 0.0
    x = np.fft.irfft(spectrum, n, axis=0)
    x *= np.minimum(1.0, np.minimum(np.arange(n), n - 1 - np.arange(n)) / 2000.0)[:, None]
    half = np.fft.irfft(np.fft.rfft(x, axis=0) * np.exp(-1j * np.pi * f)[:, None], n, axis=0)
    assert M.null_residual_db(x, half) < -100
    peak = np.abs(x).max()
    assert M.null_residual_db(x, np.clip(half, -0.8 * peak, 0.8 * peak)) > -60

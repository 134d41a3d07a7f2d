"""What streaming platforms will do to a master's level: the gain each applies, and why.

Each platform plays a song at its reference loudness by a gain of reference
minus the song's integrated loudness (ITU-R BS.1770), with its own rules:
some only turn loud songs down, Spotify's normal mode turns a quiet song up
only until its true peak reaches -1 dBTP, and a few play an album in order at
one gain for every song, so the level plan survives. The facts, and how sure
each is, are in ``../shared/reference/delivery-and-platforms.md`` (2025-26);
a platform marked ``unverified`` has no official statement behind it, and we
then assume the conservative rule (down only, track by track).

Album gain: AES TD1008 and Eelco Grimm define album normalisation as the album
at the reference loudness with the songs keeping their offsets; Spotify does
not say whether it pools the album's loudness or takes its loudest track
(unverified). We pool: the album's integrated loudness, its blocks gated as
one programme (what ``masterdeck album`` measures).
"""

from __future__ import annotations

from dataclasses import dataclass

from dsp.errors import ParameterError


@dataclass(frozen=True)
class Platform:
    """One platform's loudness normalisation."""

    id: str
    name: str
    reference_lufs: float
    turns_up: bool
    """Whether it raises a song quieter than the reference."""
    up_to_dbtp: float | None
    """When it raises a song, how far: only until the true peak reaches this (None: no limit)."""
    albums: bool
    """Whether an album played in order gets one gain."""
    confidence: str
    """``official`` (the platform says so), ``secondary`` (measured or reported by others) or
    ``unverified`` (conflicting or no source)."""
    source: str
    limits: bool = False
    """Whether its player limits what it turns up (the preview plays that limiter too)."""

    def track_gain_db(self, integrated_lufs: float, true_peak_dbtp: float) -> float:
        """The gain it plays a song at, alone (shuffle, a playlist)."""
        gain = self.reference_lufs - integrated_lufs
        if gain <= 0.0:
            return gain
        if not self.turns_up:
            return 0.0
        if self.up_to_dbtp is not None:
            gain = min(gain, max(self.up_to_dbtp - true_peak_dbtp, 0.0))
        return gain

    def album_gain_db(self, album_lufs: float, album_true_peak_dbtp: float) -> float | None:
        """The one gain it plays the album at in order (None: it does not; track gains apply)."""
        if not self.albums:
            return None
        return self.track_gain_db(album_lufs, album_true_peak_dbtp)


_SPOTIFY = "support.spotify.com/us/artists/article/loudness-normalization"
PLATFORMS = (
    Platform("spotify", "Spotify", -14.0, True, -1.0, True, "official", _SPOTIFY),
    Platform("spotify-loud", "Spotify (loud)", -11.0, True, None, True, "official",
             _SPOTIFY + " (with its limiter: -1 dBFS, 5 ms attack, 100 ms decay)", limits=True),
    Platform("spotify-quiet", "Spotify (quiet)", -19.0, True, -1.0, True, "official", _SPOTIFY),
    Platform("apple", "Apple Music (Sound Check)", -16.0, True, None, True, "secondary",
             "production-expert.com; productionadvice.co.uk/sound-check-album-mode"),
    Platform("youtube", "YouTube", -14.0, False, None, False, "secondary",
             "tuberlife.com, minitool (YouTube publishes nothing)"),
    Platform("tidal", "Tidal", -14.0, False, None, False, "secondary",
             "meterplugs.com/blog/2016/10/07/tidal-adds-loudness-normalization.html"),
    Platform("amazon", "Amazon Music", -14.0, False, None, False, "unverified",
             "apu.software (others say -9 to -13)"),
    Platform("deezer", "Deezer", -15.0, False, None, False, "unverified",
             "production-expert.com; apu.software"),
)
BY_ID = {p.id: p for p in PLATFORMS}


def custom(reference_lufs: float, turns_up: bool = True) -> Platform:
    """A platform of the engineer's own: any reference, both ways (or down only)."""
    if not -40.0 <= reference_lufs <= 0.0:
        raise ParameterError(f"a reference of {reference_lufs:g} LUFS: use -40..0")
    return Platform("custom", f"custom ({reference_lufs:g} LUFS)", reference_lufs, turns_up,
                    None, True, "official", "the engineer")


def preview(songs: list[dict], album: dict) -> list[dict]:
    """Every platform's gains for an album arc (``masterdeck album --json``'s figures).

    A song without an integrated loudness (silence) gets None.
    """
    rows = []
    for platform in PLATFORMS:
        gains = [None if s["integrated_lufs"] is None or s["true_peak_dbtp"] is None
                 else round(platform.track_gain_db(s["integrated_lufs"], s["true_peak_dbtp"]), 2)
                 for s in songs]
        whole = (None if album["integrated_lufs"] is None or album["true_peak_dbtp"] is None
                 else platform.album_gain_db(album["integrated_lufs"], album["true_peak_dbtp"]))
        rows.append({"id": platform.id, "name": platform.name,
                     "reference_lufs": platform.reference_lufs, "turns_up": platform.turns_up,
                     "confidence": platform.confidence, "track_gains_db": gains,
                     "album_gain_db": None if whole is None else round(whole, 2)})
    return rows

"""Album mode: the session's songs playing on one album timeline, as the album will sound.

:class:`AlbumMode` builds the timeline the callback plays
(:mod:`console.engine.timeline`): every song decoded at the console's rate,
with the arrays a render of it uses (settings, lanes, level offset, fades),
placed by the same rule as ``render --album``
(:func:`console.offline.album.placement`). The callback switches songs at
their first sample; Python only follows: when a new song's chain has started,
a thread makes it the session's current song, so the desk, the surfaces, the
automation runner and the UI are on the song that plays. That hand-over
gives the desk to no song while it changes (each song plays from its own
arrays meanwhile, which are the same values), so nothing is heard of it.

A change to a song's level offset or fades is written into its arrays in
place; a change to the album's layout (order, gaps, crossfades, a song's
file) builds a new timeline, swapped in at the same place in the same song.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from console.engine.callback import C_AUTO_SLOT
from console.engine.timeline import Timeline, TimelineSong
from console.engine.tracks import load_track
from console.offline.album import equal_power, placement
from console.offline.session_render import audio_file, prepare
from console.session.errors import SessionError
from console.session.model import Session
from dsp import automation as K
from dsp import params as P

if TYPE_CHECKING:
    from console.session.controller import SessionController

log = logging.getLogger(__name__)

FOLLOW_S = 0.01
"""How often the follower looks at which song's chain the callback started."""
JOIN_LEAD_S = 3.0
"""A join is auditioned from this long before the next song starts (and looped this long
either side of it)."""
LAYOUT_FIELDS = ("gap_s", "crossfade_s", "file")
"""Song fields that move songs on the album timeline: a new timeline is built."""


class AlbumMode:
    """Album playback of one session on its engine."""

    def __init__(self, controller: SessionController) -> None:
        self.controller = controller
        self.engine = controller.engine
        self.focus = -1
        """The timeline row the desk belongs to (-1: none)."""
        self._audio: dict[str, np.ndarray] = {}
        """Decoded songs by file, kept while album mode is on (a rebuild reuses them)."""
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.RLock()

    @property
    def on(self) -> bool:
        """Whether the album timeline is what plays."""
        return self.engine.timeline is not None

    # in and out ------------------------------------------------------------------------
    def enter(self) -> dict[str, Any]:
        """Play the album from the start of the current song (decodes every song first)."""
        with self._lock:
            timeline = self.build()
            song = self.controller.session.current_song()
            row = timeline.row_of(song.id) if song is not None else 0
            self.engine.set_album_focus(-1)
            self.focus = -1
            self._loop_off()  # a loop in the song's time means nothing on the album
            self.engine.play_album(timeline, timeline.songs[row].start / timeline.sample_rate)
            if self._thread is None:
                self._stop.clear()
                self._thread = threading.Thread(target=self._follow, name="album-follower",
                                                 daemon=True)
                self._thread.start()
            return self.describe()

    def leave(self) -> dict[str, Any]:
        """Back to one song at a time: the song heard, at the place heard, stopped."""
        with self._lock:
            timeline = self.engine.timeline
            if timeline is None:
                return self.describe()
            self._stop_following()
            position = self.engine.position
            row = timeline.heard_at(position)
            within = max(position - timeline.songs[row].start, 0) / timeline.sample_rate
            self.engine.leave_album()
            self._loop_off()
            self.focus = -1
            self._audio.clear()
            session = self.controller.session
            song = session.song(timeline.songs[row].id)
            self.controller.select_song(song.id, "session")
            self.engine.locate(within)
            return self.describe()

    def close(self) -> None:
        """Stop following (the session closes); the engine is left as it is."""
        self._stop_following()

    def _stop_following(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(2.0)
        self._thread = None

    # the timeline ------------------------------------------------------------------------
    def build(self) -> Timeline:
        """The session's album as the callback plays it; SessionError if it cannot be placed."""
        return build_timeline(self.controller.folder, self.controller.session,
                              self.engine.sample_rate, self.engine.chain.latency, self._audio)

    def relayout(self) -> None:
        """The album's layout changed: a new timeline, at the same place in the same song."""
        with self._lock:
            old = self.engine.timeline
            if old is None:
                return
            position = self.engine.position
            row = old.heard_at(position)
            song_id, within = old.songs[row].id, position - old.songs[row].start
            self._sync_focus()
            timeline = self.build()
            try:
                start = timeline.songs[timeline.row_of(song_id)].start
            except ValueError:  # the song heard was taken off the album
                start, within = 0, 0
            self.engine.set_album_focus(-1)
            self.focus = -1
            self.engine.play_album(timeline, max(start + within, 0) / timeline.sample_rate)

    def plan_changed(self, song_id: str) -> None:
        """A song's level offset or fades changed: its arrays in the timeline follow."""
        timeline = self.engine.timeline
        if timeline is None:
            return
        try:
            entry = timeline.songs[timeline.row_of(song_id)]
        except ValueError:
            return
        song = self.controller.session.song(song_id)
        rate = timeline.sample_rate
        entry.ctl[K.CTL_BIAS + P.OUTPUT_GAIN] = song.level_offset_db
        entry.ctl[K.CTL_FADE_IN] = round(song.fade_in_s * rate)
        entry.ctl[K.CTL_FADE_OUT] = round(song.fade_out_s * rate)

    # the transport on the album --------------------------------------------------------------
    def go_to(self, song_id: str) -> None:
        """Locate to the start of a song on the album."""
        timeline = self._need_timeline()
        self.engine.locate(timeline.songs[timeline.row_of(song_id)].start / timeline.sample_rate)

    def step(self, delta: int) -> str:
        """Locate to the start of the next (1) or previous (-1) song from the one heard."""
        timeline = self._need_timeline()
        row = timeline.heard_at(self.engine.position)
        target = timeline.songs[min(max(row + delta, 0), len(timeline.songs) - 1)]
        self.engine.locate(target.start / timeline.sample_rate)
        return target.id

    def join(self, number: int | None = None, loop: bool = False) -> dict[str, Any]:
        """Audition the join into song ``number`` (from 2; None: the next one from here).

        Locates :data:`JOIN_LEAD_S` before the song starts; with ``loop``, loops
        that long either side of its start. Without a number, a loop takes the
        join being heard (or the next), a jump the next join not yet heard.
        """
        timeline = self._need_timeline()
        rate = timeline.sample_rate
        if number is None:  # looped: the join around here; heard: the next one from here
            position = self.engine.position / rate
            later = [k for k, s in enumerate(timeline.songs[1:], start=2)
                     if (s.start / rate + JOIN_LEAD_S > position if loop
                         else s.start / rate - JOIN_LEAD_S > position + 0.5)]
            if not later:
                raise SessionError("there is no join after this point of the album")
            number = later[0]
        if not 2 <= number <= len(timeline.songs):
            raise SessionError(f"join {number}: the joins are into songs 2 to "
                               f"{len(timeline.songs)}")
        start = timeline.songs[number - 1].start / rate
        begin = max(start - JOIN_LEAD_S, 0.0)
        if loop:
            self.engine.set_loop(begin, min(start + JOIN_LEAD_S, timeline.frames / rate), True)
        else:
            self._loop_off()  # a loop around another join would take the playhead away
        self.engine.locate(begin)
        return {"number": number, "start_s": round(start, 6), "from_s": round(begin, 6),
                "loop": loop}

    def song_at(self, seconds: float) -> tuple[str, float]:
        """The song heard at ``seconds`` on the album, and how far into it (0 in its gap)."""
        timeline = self._need_timeline()
        rate = timeline.sample_rate
        position = round(seconds * rate)
        song = timeline.songs[timeline.heard_at(position)]
        return song.id, round(max(position - song.start, 0) / rate, 4)

    def _loop_off(self) -> None:
        if self.engine.loop_info()["on"]:
            self.engine.set_loop(on=False, author="album")

    def _need_timeline(self) -> Timeline:
        timeline = self.engine.timeline
        if timeline is None:
            raise SessionError("album mode is off: start it with 'masterdeck mode album'")
        return timeline

    # following the callback ---------------------------------------------------------------------
    def _follow(self) -> None:
        while not self._stop.wait(FOLLOW_S):
            try:
                row = self.engine.album_row
                if row >= 0 and row != self.focus:
                    with self._lock:
                        if self.engine.timeline is not None and not self._stop.is_set():
                            self._hand_over(self.engine.album_row)
            except Exception:  # the follower must keep following
                log.exception("album mode: following the album failed")

    def _hand_over(self, row: int) -> None:
        """Give the desk, the runner and the lanes to the song in ``row``."""
        controller = self.controller
        self._sync_focus()
        self.engine.set_album_focus(-1)
        timeline = self.engine.timeline
        assert timeline is not None
        song = controller.session.song(timeline.songs[row].id)
        with controller._switch_lock:
            controller.desk.set_many(song.values(), "session")
            controller.desk.snapshots = {k: dict(v) for k, v in song.snapshots.items()}
            controller.runner.set_song(song.id, song.automation, song.level_offset_db,
                                       song.fade_in_s, song.fade_out_s,
                                       timeline.songs[row].frames)
            controller.change({"op": "current", "id": song.id})
        self.engine.set_album_focus(row)
        self.focus = row
        controller.desk.set_state("session_song", song.id, "album")
        self.engine.reset_meters()

    def _sync_focus(self) -> None:
        """Copy what the desk and the runner hold for the focus song into its own arrays.

        So it sounds the same once the desk is no longer its (its tail through
        a join, or the next time it plays).
        """
        timeline = self.engine.timeline
        if timeline is None or not 0 <= self.focus < len(timeline.songs):
            return
        entry = timeline.songs[self.focus]
        entry.values[:] = self.engine.chain.values
        entry.ctl[:] = self.engine.auto_ctl
        entry.ctl[K.CTL_MODE:K.CTL_MODE + K.N] = np.where(
            entry.ctl[K.CTL_MODE:K.CTL_MODE + K.N] >= K.M_LANE, K.M_LANE, K.M_DESK)
        lanes = self.engine.lanes[int(self.engine.ctl[C_AUTO_SLOT])]
        if not np.array_equal(lanes, entry.lanes):
            self.engine.update_album(timeline.with_lanes(self.focus, lanes.copy()))

    def describe(self) -> dict[str, Any]:
        """Album mode as plain data: on or off, the songs' places, the song heard."""
        timeline = self.engine.timeline
        if timeline is None:
            return {"on": False}
        rate = timeline.sample_rate
        position = self.engine.position
        return {"on": True, "position_s": round(position / rate, 6),
                "length_s": round(timeline.frames / rate, 6),
                "song": timeline.songs[timeline.heard_at(position)].id,
                "songs": [{"id": s.id, "title": s.title, "start_s": round(s.start / rate, 6),
                           "length_s": round(s.frames / rate, 6)} for s in timeline.songs]}


def build_timeline(folder: str | Path, session: Session, rate: int, latency: int,
                   decoded: dict[str, np.ndarray] | None = None) -> Timeline:
    """The album timeline of ``session`` at ``rate``, for chains of ``latency`` samples.

    ``decoded`` keeps songs decoded by file between builds. Raises
    SessionError for an album without songs, crossfades that do not fit, or
    a song too short for the chains either side of it (three songs' chains
    would run at once).
    """
    if not session.songs:
        raise SessionError("the album has no songs: add one with 'masterdeck session add'")
    decoded = {} if decoded is None else decoded
    audio = {}
    for song in session.songs:
        path = str(audio_file(folder, song.file))
        if path not in decoded:
            decoded[path] = load_track(path, rate, song.title).audio
        audio[song.id] = decoded[path]
    places = placement(session.songs, [audio[s.id].shape[0] for s in session.songs], rate)
    songs = []
    for k, (song, placed) in enumerate(zip(session.songs, places, strict=True)):
        if k >= 2 and placed.start - latency < places[k - 2].end:
            raise SessionError(f"song {k} {session.songs[k - 1].title!r} is too short for "
                               "the crossfades either side of it")
        mastering = prepare(song, session, rate)
        mastering.ctl[K.CTL_END] = placed.frames
        gains = (np.ascontiguousarray(np.hstack(equal_power(placed.crossfade)))
                 if placed.crossfade else np.zeros((1, 2)))
        songs.append(TimelineSong(song.id, song.title, audio[song.id],
                                  mastering.chain.values.copy(), mastering.chain.current.copy(),
                                  mastering.ctl, np.ascontiguousarray(mastering.lanes),
                                  placed.start, placed.crossfade, gains))
    return Timeline(songs, rate)

"""The album page of a surface: its faders (or knobs) become the songs' level offsets.

A mixin of :class:`~console.surfaces.surface.Surface`, kept apart because it
is a second job: the page reads the songs from the desk's ``album`` state
(published by the session) and writes a move through the desk's
``song_level`` action, so the session records it as any other edit (undo,
journal, save). Bindings with ``song = k`` (and ``layer = "album"`` on a
generic surface) are the page's controls; control k is song
``song_bank * bank_size + k`` of the album. Bank buttons on the page move by
a whole bank of songs. When the album changes from anywhere (the UI, the
protocol, an undo), the page's motor faders and LEDs follow.
"""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING, Any

from console.surfaces import album
from console.surfaces.bindings import position
from console.surfaces.transforms import disengage
from dsp.errors import MasterdeckError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from console.control.desk import Desk
    from console.surfaces.bindings import BindingTable, Bound
    from console.surfaces.profile import Device

log = logging.getLogger(__name__)

class AlbumPage:
    """Album page state and behaviour for a surface (mixed into ``Surface``)."""

    desk: Desk
    device: Device
    author: str
    name: str
    counters: dict[str, int]
    _lock: threading.Lock
    _acting: threading.local
    _bindings: BindingTable
    _page: str = ""
    song_bank: int = 0
    """Which bank of songs the page shows (0: songs 1 to bank_size)."""

    # hooks the surface provides
    def post_all(self, bounds: Iterable[Bound]) -> None:
        """Post the feedback of ``bounds`` (the surface implements it)."""
        raise NotImplementedError

    def on_state_local(self, key: str, value: Any) -> None:
        """A ``surface.*`` state changed (the surface implements it)."""
        raise NotImplementedError

    def _show_value(self, bound: Bound, value: float) -> None:
        raise NotImplementedError

    # state --------------------------------------------------------------------------
    @property
    def album_page(self) -> bool:
        """Whether the album page is on."""
        return self._page == "album"

    def set_album_page(self, on: bool = True) -> None:
        """Turn the album page on or off and show what the controls now do."""
        if bool(on) == self.album_page:
            return
        self._page = "album" if on else ""
        self._release_songs()
        self.show_page()
        self.on_state_local("surface.album", self.album_page)

    def step_song_bank(self, delta: int) -> None:
        """Move the page by ``delta`` banks of songs (kept within the album)."""
        count = len(album.songs(self.desk.state()))
        last = max(count - 1, 0) // max(self.device.bank_size, 1)
        bank = min(max(self.song_bank + int(delta), 0), last)
        if bank == self.song_bank:
            return
        self.song_bank = bank
        self._release_songs()
        self.show_page()
        self.on_state_local("surface.song_bank", bank)

    def show_page(self) -> None:
        """Show every control again after the page or its bank changed (drivers extend)."""
        self.post_all(self._bindings.all)

    # input --------------------------------------------------------------------------------
    def song_index(self, bound: Bound) -> int:
        """The album place (0 = opener) a song control drives on the current bank."""
        song = bound.binding.song or 1
        return self.song_bank * self.device.bank_size + song - 1

    def song_level(self, bound: Bound) -> float | None:
        """The level offset of the song under a song control, or None if no song is there."""
        songs = album.songs(self.desk.state())
        index = self.song_index(bound)
        if not 0 <= index < len(songs):
            return None
        return float(songs[index].get("level_offset_db") or 0.0)

    def set_song_level(self, bound: Bound, value_db: float) -> None:
        """Send a song control's new level to the session (through the desk)."""
        if value_db == self.song_level(bound):
            return
        self.counters["actions"] += 1
        self._acting.bound = bound
        try:
            self.desk.perform("song_level", author=self.author, index=self.song_index(bound),
                              db=value_db)
            self.counters["applied"] += 1
        except MasterdeckError as exc:  # no session, or the session refused it
            self.counters["action_errors"] += 1
            log.info("%s: %s", self.name, exc)
        finally:
            self._acting.bound = None

    # feedback -----------------------------------------------------------------------------
    def show_song(self, bound: Bound) -> None:
        """Put a song control where its song's offset is (at the bottom if there is no song)."""
        level = self.song_level(bound)
        assert bound.level is not None
        self._show_value(bound, bound.level.min if level is None else level)

    def show_songs(self) -> None:
        """The album changed: every song control not being moved right now follows it."""
        acting = getattr(self._acting, "bound", None)
        for bound in self._bindings.all:
            if bound.level is None or (bound is acting and bound.binding.mode == "absolute"):
                continue
            level = self.song_level(bound)
            if bound.binding.pickup and level is not None:
                with self._lock:  # a fader still sitting at its song's offset keeps it
                    last = bound.pickup.last
                    if last is None or abs(position(bound, level) - last) \
                            > self.device.pickup_threshold:
                        bound.pickup = disengage(bound.pickup)
            self.show_song(bound)

    def _release_songs(self) -> None:
        """Song controls now drive other songs: each must pick its value up again."""
        with self._lock:
            for bound in self._bindings.all:
                if bound.level is not None:
                    bound.pickup = disengage(bound.pickup)

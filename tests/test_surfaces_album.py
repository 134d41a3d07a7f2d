"""The album page and markers from surfaces, on a daemon with a session of ten songs.

A real daemon (engine, control server, surfaces on JACK MIDI) opens a session
folder; a virtual X-Touch (Mackie Control) and a virtual nanoKONTROL2 are
played through real JACK MIDI ports. A fader on the album page must change
the song's level offset in the session (journalled, undoable), the Mackie
scribble strips must name the songs bank by bank, the motor faders must
follow changes made elsewhere, and a marker button must mark the playhead.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import soundfile as sf

from console.config import Config
from console.control.client import Client
from console.daemon import Daemon
from console.session import journal as jn
from console.surfaces import mcu
from tests.test_surfaces_support import Player, connected, until

pytestmark = pytest.mark.retake_on_xrun  # a period JACK dropped loses MIDI: tests/retakes.py

TITLES = ["Dawn", "Rise", "Tide", "Ember", "Drift", "Haze", "Orbit", "Shore", "Home", "Coda"]
RATE, BLOCK = 48000, 256
SONG_S = 2.0
MACKIE, NANO = "mackie-control", "korg-nanokontrol2"
WAIT_S = 5.0


def lcd(strip: int, line: int, text: str) -> bytes:
    """The exact SysEx for one scribble-strip cell (as the Mackie tests write it)."""
    body = text.ljust(6).encode() + b" "
    return bytes([0xF0, 0, 0, 0x66, 0x14, 0x12, strip * 7 + 0x38 * line, *body, 0xF7])


def fader_at(db: float) -> int:
    """The 14-bit position of a song fader at ``db`` (travel -12..+6 dB)."""
    return round((db + 12.0) / 18.0 * 16383)


def press(device: Player, *message: int) -> None:
    """Press and release a button (a note, or a CC at 127 then 0)."""
    device.send(*message[:2], 0x7F)
    device.send(*message[:2], 0x00)


@pytest.fixture(scope="module")
def rig(jack, tmp_path_factory):
    folder = tmp_path_factory.mktemp("album-surfaces")
    t = np.arange(int(SONG_S * RATE)) / RATE
    tone = np.stack([0.2 * np.sin(2 * np.pi * 220 * t)] * 2, 1)
    songs = []
    for title in TITLES:
        sf.write(folder / f"{title}.wav", tone, RATE)
        songs.append(str(folder / f"{title}.wav"))
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
        xtouch = Player("X-Touch", "X-Touch INT")
        nano = Player("nanoKONTROL2", "nanoKONTROL2 MIDI 1")
        daemon = Daemon(Config(socket=str(folder / "control.sock"), midi_backend="jack",
                               songs=songs, session=str(folder / "album"),
                               sample_rate=RATE, block_size=BLOCK))
        daemon.start()
        try:
            assert daemon.surfaces.wait_until(
                lambda m: connected(m, MACKIE) and connected(m, NANO), 15.0)
            assert xtouch.wait_message(lcd(7, 0, "Output"), WAIT_S)
            yield daemon, xtouch, nano
        finally:
            xtouch.unplug()
            nano.unplug()
            daemon.shutdown()


@pytest.fixture
def deck(rig):
    """The rig with every level offset back at 0 dB and the album pages off afterwards."""
    daemon, xtouch, nano = rig
    yield daemon, xtouch, nano
    for name in (MACKIE, NANO):
        daemon.surfaces.surface(name).set_album_page(False)
        daemon.surfaces.surface(name).song_bank = 0
    for song in daemon.session.session.songs:
        if song.level_offset_db:
            daemon.session.set_song(song.id, undoable=False, level_offset_db=0.0)
    time.sleep(0.1)  # the echo guard forgets the last LEDs before the next test presses


def level(daemon: Daemon, number: int) -> float:
    """Song ``number``'s (1 is the opener) level offset in the session."""
    return daemon.session.session.songs[number - 1].level_offset_db


def test_the_mackie_album_page_names_the_songs_eight_at_a_time(deck):
    daemon, xtouch, _nano = deck
    surface = daemon.surfaces.surface(MACKIE)
    xtouch.clear()
    press(xtouch, 0x90, 40)  # Track: the album page
    for strip, title in enumerate(TITLES[:8]):
        assert xtouch.wait_message(lcd(strip, 0, title)), title
    assert xtouch.wait_message(lcd(1, 1, "+0.0dB"))
    assert xtouch.wait_message(bytes([0x90, 40, 0x7F]))  # Track lit
    assert all(xtouch.wait_message(m) for m in mcu.assignment("A1"))
    assert surface.describe()["bank"] == "Album 1"
    xtouch.clear()
    press(xtouch, 0x90, 47)  # Bank >: songs 9 and 10, the other strips empty
    assert xtouch.wait_message(lcd(0, 0, "Home"))
    assert xtouch.wait_message(lcd(1, 0, "Coda"))
    assert xtouch.wait_message(lcd(2, 0, ""))
    assert xtouch.wait_message(mcu.fader(2, 0))  # no song under strip 3: fader down
    assert xtouch.wait_message(mcu.assignment("A2")[1])  # "A" stays, "2" is sent
    assert surface.describe()["bank"] == "Album 2"
    press(xtouch, 0x90, 47)  # no third bank of songs: stays
    time.sleep(0.2)
    assert surface.song_bank == 1
    xtouch.clear()
    press(xtouch, 0x90, 46)  # Bank <: back to the first eight
    assert xtouch.wait_message(lcd(0, 0, "Dawn"))
    press(xtouch, 0x90, 44)  # Assign EQ: back to the parameter banks
    assert xtouch.wait_message(lcd(0, 0, "Low"))
    assert not surface.album_page


def test_a_mackie_fader_sets_a_songs_level_offset_journalled_and_undoable(deck):
    daemon, xtouch, _nano = deck
    press(xtouch, 0x90, 40)
    assert xtouch.wait_message(lcd(1, 0, "Rise"))
    position = fader_at(3.0)
    xtouch.clear()
    xtouch.send(0xE1, position & 0x7F, position >> 7)  # strip 2 fader to +3 dB
    assert until(lambda: level(daemon, 2) == 3.0, WAIT_S)
    assert xtouch.wait_message(lcd(1, 1, "+3.0dB"))
    assert level(daemon, 1) == 0.0 and level(daemon, 3) == 0.0  # only song 2 moved
    song_id = daemon.session.session.songs[1].id
    ops = [{k: v for k, v in op.items() if k != "t"}  # without the time it was written
           for _, path in jn.journals(daemon.session.folder) for op in jn.read(path)[1]]
    assert {"op": "song_set", "id": song_id, "fields": {"level_offset_db": 3.0}} in ops
    assert daemon.session.history.describe()  # an undo step is there
    press(xtouch, 0x90, 81)  # Undo: the ride is taken back, and the motor follows
    assert until(lambda: level(daemon, 2) == 0.0, WAIT_S)
    assert xtouch.wait_message(mcu.fader(1, fader_at(0.0)))


def test_mackie_motor_faders_follow_offsets_changed_elsewhere(deck):
    daemon, xtouch, _nano = deck
    press(xtouch, 0x90, 40)
    assert xtouch.wait_message(lcd(2, 0, "Tide"))
    xtouch.clear()
    with Client(socket_path=daemon.config.socket) as client:
        client.request("song_set", id=daemon.session.session.songs[2].id, level_offset_db=-6.0)
    assert xtouch.wait_message(mcu.fader(2, fader_at(-6.0)))
    assert xtouch.wait_message(lcd(2, 1, "-6.0dB"))


def test_nanokontrol2_faders_pick_up_and_move_the_songs_offsets(deck):
    daemon, _xtouch, nano = deck
    surface = daemon.surfaces.surface(NANO)
    press(nano, 0xB0, 55)  # M8: the album page
    assert until(lambda: surface.album_page, WAIT_S)
    nano.send(0xB0, 3, 10)  # fader 4 far below 0 dB: held until it reaches the offset
    assert until(lambda: surface.counters["held_by_pickup"] > 0, WAIT_S)
    assert level(daemon, 4) == 0.0
    nano.send(0xB0, 3, 85)  # 0 dB sits at two thirds of the travel: picked up
    nano.send(0xB0, 3, 127)
    assert until(lambda: level(daemon, 4) == 6.0, WAIT_S)
    nano.send(0xB0, 3, 86)  # a hair above 0 dB is the detent: exactly 0 dB
    assert until(lambda: level(daemon, 4) == 0.0, WAIT_S)
    daemon.session.set_song(daemon.session.session.songs[3].id, level_offset_db=-6.0)
    held = surface.counters["held_by_pickup"]  # changed elsewhere: the fader must catch it
    nano.send(0xB0, 3, 90)
    assert until(lambda: surface.counters["held_by_pickup"] == held + 1, WAIT_S)
    assert level(daemon, 4) == -6.0
    press(nano, 0xB0, 59)  # Track >: the next eight songs; fader 1 is song 9
    assert until(lambda: surface.song_bank == 1, WAIT_S)
    nano.send(0xB0, 0, 85)
    nano.send(0xB0, 0, 43)  # (43 - 1) / 126 of -12..+6 dB: -6 dB
    assert until(lambda: level(daemon, 9) == -6.0, WAIT_S)
    assert level(daemon, 1) == 0.0
    eq_gain = daemon.desk.get("eq.band3.gain_db")
    assert eq_gain == 0.0  # the fader's own parameter was never touched on the page


def test_a_marker_button_marks_the_playhead(deck):
    daemon, xtouch, nano = deck
    engine = daemon.engine
    session = daemon.session.session
    song = session.current_song()
    engine.stop()
    engine.locate(1.25)
    assert until(lambda: abs(engine.position_s - 1.25) < 1e-3, WAIT_S)
    before = len(song.markers)
    press(xtouch, 0x90, 84)  # Mackie Marker
    assert until(lambda: len(song.markers) == before + 1, WAIT_S)
    assert abs(song.markers[-1].position_s - 1.25) <= BLOCK / RATE
    # while playing: between where the playhead was before the press and after it landed
    engine.set_loop(0.0, SONG_S, True)
    engine.play()
    try:
        time.sleep(0.2)
        known = [m.position_s for m in song.markers]
        start = engine.position_s
        press(nano, 0xB0, 54)  # nanoKONTROL2 M7
        assert until(lambda: len(song.markers) == len(known) + 1, WAIT_S)
        end = engine.position_s
        added = [m.position_s for m in song.markers]
        for position in known:
            added.remove(position)
        if start <= end:  # the loop did not wrap in between
            assert start - BLOCK / RATE <= added[0] <= end + BLOCK / RATE
    finally:
        engine.stop()

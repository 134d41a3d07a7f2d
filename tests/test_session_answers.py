"""A session change is answered ``ok`` exactly when it is taken (the chaos soak's rule).

The soak found a ``song_remove`` answered ``file_error`` and taken all the
same: the song was gone, but the error came from loading the song after it,
a file that would not decode. An error must mean nothing changed; a change
taken whose audio cannot play is answered with a warning instead.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from console.engine.stream import Engine
from console.session.controller import SessionController
from console.session.store import SessionStore
from dsp.errors import AudioFileError


def _song(path):
    t = np.arange(48000) / 48000
    sf.write(path, np.stack([0.1 * np.sin(2 * np.pi * 440 * t)] * 2, 1), 48000)
    return path


@pytest.fixture
def album(tmp_path):
    engine = Engine(48000, 256)
    controller = SessionController(tmp_path / "album", engine)
    controller.open()
    notes = tmp_path / "notes.wav"
    notes.write_text("mix notes: the snare is too loud in the bridge\n")
    yield controller, _song(tmp_path / "good.wav"), notes
    controller.close(save=False)


def test_removing_the_song_heard_is_taken_even_when_the_next_one_cannot_play(album):
    controller, good, notes = album
    first = controller.add_song(str(good), "First")["id"]
    broken = controller.add_song(str(notes), "Broken")["id"]  # a file, though not audio
    warning = controller.remove_song(first)  # no error: the removal is taken
    assert warning is not None and "cannot be loaded" in warning
    assert [s.id for s in controller.session.songs] == [broken]
    assert controller.session.current == broken
    saved = SessionStore(controller.folder, lock=False).load().session
    assert [s.id for s in saved.songs] == [broken]


def test_a_file_that_will_not_play_is_refused_for_the_song_heard_and_nothing_changes(album):
    controller, good, notes = album
    first = controller.add_song(str(good), "First")["id"]
    with pytest.raises(AudioFileError):
        controller.set_song(first, file=str(notes))
    assert controller.session.song(first).file.endswith("good.wav")
    assert controller.engine.song.title == "First"
    saved = SessionStore(controller.folder, lock=False).load().session
    assert saved.song(first).file.endswith("good.wav")


def test_the_song_made_current_brings_its_settings_to_the_desk_even_when_it_cannot_play(album):
    controller, good, notes = album
    desk = controller.engine.desk
    first = controller.add_song(str(good), "First")["id"]
    broken = controller.add_song(str(notes), "Broken")["id"]
    controller.change({"op": "params", "id": broken, "values": {"output.gain_db": -9.0}})
    desk.set_many({"output.gain_db": -3.0}, "test")
    controller.store_snapshot("A")  # the first song's snapshot
    controller.remove_song(first)
    assert desk.get("output.gain_db") == -9.0  # the broken song's value, not the first one's
    assert "A" not in desk.snapshots
    desk.set_many({"output.gain_db": -3.0}, "test")  # a move back to -3 is a move, and saved
    controller.journal.flush()  # knob moves are written within a quarter second
    saved = SessionStore(controller.folder, lock=False).load().session
    assert saved.song(broken).settings["output.gain_db"] == -3.0

"""The console UI and a client's note: shown at once, answered with ``N``."""

from __future__ import annotations

import pytest

from console.ui.screens.answer import AnswerScreen
from tests.test_ui_support import drive, press, start_deck, until


@pytest.fixture(scope="module")
def deck(jack, tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch:
        deck = start_deck(tmp_path_factory.mktemp("ui-room"), monkeypatch)
        try:
            yield deck
        finally:
            deck.daemon.shutdown()


def test_a_clients_note_shows_at_once_and_n_answers_it(deck):
    daemon = deck.daemon
    song = daemon.session.session.current_song()

    async def scenario(app, pilot):
        await press(app, pilot, "N")  # nothing to answer yet: said, no dialog
        await pilot.pause(0.2)
        assert not isinstance(app.screen, AnswerScreen)
        # what the room does with a note from a page (the browser tests drive the page)
        daemon.room.notes.add("ann", {"song": song.id, "title": song.title,
                                      "position_s": 3.25}, "snare too loud here")
        await until(pilot, lambda: app.model.room_note is not None, what="the note")
        await until(pilot, lambda: app.model.marker_index(app.model.room_note) is not None,
                    what="the session listing with the note")
        assert any("snare too loud here" in str(n.message) for n in app._notifications)
        await press(app, pilot, "N")
        await until(pilot, lambda: isinstance(app.screen, AnswerScreen), what="the dialog")
        await press(app, pilot, *"fixed, listen again", "enter")
        await until(pilot, lambda: any(m.answer == "fixed, listen again"
                                       for m in daemon.session.session.song(song.id).markers),
                    what="the answer in the session")

    drive(deck, scenario)
    marker = next(m for m in song.markers if m.note == "snare too loud here")
    assert marker.name == "room: ann" and marker.position_s == 3.25

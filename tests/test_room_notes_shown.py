"""A client's note from the listening room shows on a Mackie surface's scribble strips."""

from __future__ import annotations

from console.surfaces import mackie, mcu
from tests.test_surfaces_mackie import lcd, user_mappings, xtouch  # noqa: F401 (fixtures)

NOTE = {"name": "ann", "clock": "0:12.3", "title": "sweep", "note": "the vocal drops here",
        "song": "sweep", "position_s": 12.3}


def test_the_note_lines_say_who_where_and_what():
    top, words = mackie.note_lines(NOTE, 56)
    assert top == "Note ann @ 0:12.3 sweep"
    assert words == "the vocal drops here"
    assert len(mackie.note_lines({**NOTE, "note": "x" * 99}, 56)[1]) == 56


def test_a_clients_note_takes_the_strips_then_gives_them_back(xtouch, monkeypatch):  # noqa: F811
    desk, _watch, _manager, dev = xtouch
    monkeypatch.setattr(mackie, "NOTE_S", 0.6)
    dev.quiet()
    dev.clear()
    desk.set_state("room_note", NOTE, "room:ann")
    for strip, line, text in ((0, 0, "Note an"), (1, 0, "n @ 0:1"), (0, 1, "the voc"),
                              (1, 1, "al drop"), (2, 1, "s here ")):
        cell = mcu.lcd(0x14, strip * 7 + (0x38 if line else 0), text)
        assert dev.wait_message(cell), (strip, line, text)
    assert lcd(7, 0, "Output") not in dev.received
    assert dev.wait_message(lcd(7, 0, "Output"))  # the bank's labels come back

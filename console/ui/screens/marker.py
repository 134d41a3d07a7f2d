"""The marker dialog: the playhead's place is kept at the key press, then the note is typed.

The position is taken when ``M`` is pressed, not when the note is done, so
a marker lands where the engineer heard the moment while the music plays
on. Enter keeps the marker with the note as typed (it may be empty); Esc
drops it.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label

from console.ui.draw import clock


class MarkerNoteScreen(ModalScreen[str | None]):
    """Ask for a marker's note; dismiss with the note, or None when Esc drops the marker."""

    DEFAULT_CSS = """
    MarkerNoteScreen { align: center middle; }
    MarkerNoteScreen > Vertical { width: 70; height: auto; border: thick $accent;
                                  background: $surface; padding: 0 1; }
    """

    def __init__(self, position_s: float, song: str = "") -> None:
        super().__init__()
        self.position_s = position_s
        self.song = song

    def compose(self) -> ComposeResult:
        """Where the marker goes, and the note field."""
        where = f"{clock(self.position_s)}" + (f" in {self.song}" if self.song else "")
        with Vertical():
            yield Label(f"Marker at {where}: its note (enter keeps it, esc drops it)")
            yield Input(placeholder="what happens here", id="marker-note")

    def on_mount(self) -> None:
        """Typing goes straight into the note."""
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: keep the marker with this note."""
        event.stop()
        self.dismiss(event.value.strip())

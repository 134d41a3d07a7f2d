"""The answer dialog: the engineer replies to a client's note from the listening room.

``N`` opens it on the latest note a client wrote; Enter sends the answer
(the client's page shows it under the note at once, and it is kept with the
marker in the session); Esc closes it without answering.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class AnswerScreen(ModalScreen[str | None]):
    """Ask for the answer to ``note``; dismiss with it, or None on Esc."""

    DEFAULT_CSS = """
    AnswerScreen { align: center middle; }
    AnswerScreen > Vertical { width: 76; height: auto; border: thick $accent;
                              background: $surface; padding: 0 1; }
    """

    def __init__(self, note: dict[str, Any]) -> None:
        super().__init__()
        self.note = note

    def compose(self) -> ComposeResult:
        """The note, where it was heard, and the answer field."""
        note = self.note
        where = f"{note.get('clock', '?')}" + (f" in {note['title']}" if note.get("title")
                                               else "")
        with Vertical():
            yield Label(f"{note.get('name', 'client')} at {where}: {note.get('note', '')}")
            yield Input(placeholder="your answer (enter sends it, esc closes)", id="answer")

    def on_mount(self) -> None:
        """Typing goes straight into the answer."""
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter: send this answer (an empty one closes without answering)."""
        event.stop()
        self.dismiss(event.value.strip() or None)

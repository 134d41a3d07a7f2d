"""The help screen: every key, by what it does, from the same table the bindings come from."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Grid, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from console.ui.keys import groups


def group_table(title: str, keys: list) -> Table:
    """One group of keys as a two-column table."""
    table = Table(title=title, title_justify="left", box=None, expand=True, show_header=False,
                  title_style="bold")
    table.add_column("key", style="bold", no_wrap=True, width=9)
    table.add_column("what it does")
    for key in keys:
        table.add_row(Text(key.shown), Text(key.description))
    return table


class HelpScreen(ModalScreen[None]):
    """Every key the console answers to; any key closes it."""

    DEFAULT_CSS = """
    HelpScreen { align: center middle; }
    HelpScreen > VerticalScroll { width: 98%; max-width: 200; height: 96%;
                                  border: thick $accent; background: $surface; padding: 0 1; }
    HelpScreen Grid { grid-size: 3; grid-columns: 1fr 1fr 1fr; grid-gutter: 0 2; height: auto; }
    HelpScreen Static { height: auto; }
    HelpScreen #help-title { text-style: bold; width: 1fr; content-align: center middle; }
    """

    def compose(self) -> ComposeResult:
        """Title, then the groups in three columns (every key on one screen at 160x48)."""
        with VerticalScroll():
            yield Label("masterdeck keys: everything a surface does  ·  any key closes",
                        id="help-title")
            with Grid():
                for title, keys in groups().items():
                    yield Static(group_table(title, keys), classes="help-group")

    def on_key(self, event: events.Key) -> None:
        """Any key closes the help."""
        event.stop()
        self.dismiss()

"""The shape every console screen shares, and the hooks the app calls on it.

A screen shows the model; it never talks to the daemon. The app updates the
model from the link's messages and then calls the hook for what changed
(``show_meters`` about 30 times a second, the others when something
happens) on the screens of the current mode. A screen brought back into view
catches up with one ``show_all``. Every screen starts with the transport
line and the connection banner and ends with the footer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer

from console.ui.model import ConsoleModel
from console.ui.widgets.transport import ConnectionBanner, TransportBar

if TYPE_CHECKING:
    from console.ui.app import MasterdeckApp


class ConsoleScreen(Screen):
    """A screen of the console: transport line, connection banner, body, footer."""

    def __init__(self) -> None:
        super().__init__()
        self.transport = TransportBar()
        self.banner = ConnectionBanner(id="banner")
        self.ready = False
        """True once composed: the app calls hooks only on ready screens."""

    @property
    def model(self) -> ConsoleModel:
        """The app's model of the console."""
        return cast("MasterdeckApp", self.app).model

    def compose(self) -> ComposeResult:
        """Transport, banner, the screen's own body, footer."""
        yield self.transport
        yield self.banner
        yield from self.compose_body()
        yield Footer()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets (override)."""
        yield from ()

    def on_mount(self) -> None:
        """Show what is known already."""
        self.ready = True
        self.show_all(self.model)

    def on_screen_resume(self) -> None:
        """Catch up with everything that changed while another screen was shown."""
        self.show_all(self.model)

    # hooks the app calls ---------------------------------------------------------------
    def show_all(self, model: ConsoleModel) -> None:
        """Show the whole model."""
        self.show_connection(model)
        self.show_params(model, None)
        self.show_state(model)
        self.show_meters(model)
        self.show_surfaces(model)
        self.show_selection(model)

    def show_connection(self, model: ConsoleModel) -> None:
        """The link came up or went down."""
        self.banner.show(model)
        self.transport.show(model)

    def show_meters(self, model: ConsoleModel) -> None:
        """A new meter frame arrived."""
        self.transport.show(model)

    def show_params(self, model: ConsoleModel, changed: list[str] | None) -> None:
        """Parameters changed (``changed`` ids, or None for all)."""

    def show_state(self, model: ConsoleModel) -> None:
        """Console state flags changed."""
        self.transport.show(model)

    def show_surfaces(self, model: ConsoleModel) -> None:
        """A new surfaces listing arrived (or learn moved on)."""

    def show_selection(self, model: ConsoleModel) -> None:
        """The keyboard's parameter (or the touched one) changed."""

    def take_arrows(self, kind: str, step: int, coarse: bool = False) -> bool:
        """Give the arrow keys this screen's own meaning; False leaves them to the parameters.

        ``kind`` is ``select`` (up, down) or ``nudge`` (left, right; ``coarse``
        with shift). The arc screen takes them for the level plan.
        """
        return False

    def tick(self, model: ConsoleModel) -> None:
        """Twice a second: time-based changes (touch highlight fading, offline time)."""
        self.banner.show(model)

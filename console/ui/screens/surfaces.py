"""Surfaces and MIDI learn: which devices are connected, with which profile, bound to what.

Learn, as the protocol does it: pick a parameter (the arrow keys), press
``L``, move a control on the surface; the daemon writes the binding to the
user's copy of that surface's profile and replies with it, and the listing
here is refreshed. ``Esc`` cancels. The listing is asked for again every few
seconds while this screen is shown, so a device plugged in appears by itself.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Label, Static

from console.ui.model import ConsoleModel
from console.ui.screens.base import ConsoleScreen

COUNTERS = ("received", "applied", "held_by_pickup", "actions", "feedback_sent", "errors")
"""Surface counters worth a column, when the surface reports them."""


def surface_rows(listing: dict[str, Any] | None) -> list[tuple[str, ...]]:
    """One row per running surface: name, profile, ports, state, counters, binding count."""
    rows = []
    for s in (listing or {}).get("surfaces", []):
        counters = s.get("counters") or {}
        counted = " ".join(f"{k} {counters[k]}" for k in COUNTERS if k in counters)
        rows.append((str(s.get("name", "?")), str(s.get("profile", "?")),
                     str(s.get("input") or "-"), str(s.get("output") or "-"),
                     "connected" if s.get("connected") else "unplugged",
                     str(s.get("layer", "base")), str(len(s.get("bindings", []))), counted))
    return rows


class SurfacesScreen(ConsoleScreen):
    """Devices, ports, profiles, and the learn panel."""

    def compose_body(self) -> ComposeResult:
        """Learn panel on top, then devices, ports and profiles."""
        self.learn_param = Label(id="learn-param")
        self.learn_state = Label(id="learn-state")
        self.devices = Static(id="devices")
        self.ports = Static(id="ports")
        self.profiles = Static(id="profiles")
        with Vertical(id="learn-box"):
            yield Label("MIDI learn", classes="section")
            yield self.learn_param
            yield self.learn_state
        yield Label("Connected surfaces", classes="section")
        yield self.devices
        with Horizontal(id="surface-lists"):
            with Vertical():
                yield Label("MIDI inputs seen", classes="section")
                yield self.ports
            with Vertical():
                yield Label("Profiles", classes="section")
                yield self.profiles

    def on_screen_resume(self) -> None:
        """Ask for a fresh listing whenever the screen comes into view."""
        super().on_screen_resume()
        self.app.call_later(self.app.run_action, "refresh_surfaces")

    def show_selection(self, model: ConsoleModel) -> None:
        """The parameter learn would bind, and what is bound to it now."""
        param = model.selected_param
        bound = model.bindings.get(param.id, [])
        self.learn_param.update(
            f"parameter: [b]{param.label}[/] [dim]{param.id}[/] = "
            f"{param.display(model.values[param.id])}   bound to: "
            f"{', '.join(bound) if bound else 'nothing'}   (↑↓ pick, L learn, esc cancel)")

    def show_params(self, model: ConsoleModel, changed: list[str] | None) -> None:
        """Keep the learn panel's value current."""
        if changed is None or model.selected_param.id in changed:
            self.show_selection(model)

    def show_surfaces(self, model: ConsoleModel) -> None:
        """Devices, ports, profiles and the learn state from the latest listing."""
        self.show_selection(model)
        self.learn_state.update(Text(model.learn or "idle"))
        self.learn_state.set_class(bool(model.learn), "-active")
        listing = model.surfaces
        if listing is None:
            self.devices.update(Text(model.surfaces_problem or "asking the daemon…"))
            self.ports.update("")
            self.profiles.update("")
            return
        table = Table(expand=True, box=None)
        for name in ("surface", "profile", "input", "output", "state", "layer", "bindings",
                     "counters"):
            table.add_column(name, no_wrap=True, overflow="ellipsis")
        for row in surface_rows(listing):
            table.add_row(*(Text(cell) for cell in row))
        error = listing.get("error")
        self.devices.update(table if listing.get("surfaces") else Text(
                            f"no surface connected (MIDI backend {listing.get('backend')})"
                            + (f": {error}" if error else "")))
        inputs = (listing.get("ports") or {}).get("inputs", [])
        self.ports.update(Text("\n".join(f"{p.get('name')} → {p.get('surface') or '-'}"
                                         for p in inputs) or "none"))
        self.profiles.update(Text("\n".join(
            f"{p.get('id')}  ({p.get('origin', '')})" for p in listing.get("profiles", []))
            or "none"))

"""Support for the UI tests: a real daemon playing a tone, and a way to drive the app.

The daemon is the real thing (``console.daemon.Daemon``: engine, control
server and surfaces) on the module's dummy JACK server, playing a generated
song in a loop, so the UI sees live meters. :func:`drive` runs the app from
the same factory the command line uses, with Textual's ``run_test()``.
"""

from __future__ import annotations

import asyncio
import html
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf
from textual import events

from console.config import Config
from console.control.client import Client
from console.daemon import Daemon
from console.ui.app import MasterdeckApp, build_app
from dsp import params as P

SONG_S = 20.0
TOKEN = "ui test token"
SIZE = (150, 46)


def write_song(path: Path, seconds: float = SONG_S, rate: int = 48000) -> Path:
    """A tone that swells and falls (so the loudness moves), slightly wide in stereo."""
    t = np.arange(int(seconds * rate)) / rate
    level = 0.12 + 0.1 * np.sin(2 * np.pi * t / 5.0) ** 2
    left = level * np.sin(2 * np.pi * 330 * t)
    right = level * np.sin(2 * np.pi * 330 * t + 0.6)
    sf.write(path, np.stack([left, right], 1), rate)
    return path


def start_deck(folder: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """Start a daemon (engine, server with TCP, surfaces on JACK MIDI, a session of two
    songs) and play the first in a loop."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(folder / "config"))
    songs = [write_song(folder / "swell.wav"), write_song(folder / "second.wav")]
    config = Config(socket=str(folder / "control.sock"), tcp="127.0.0.1:0", token=TOKEN,
                    midi_backend="jack", songs=[str(s) for s in songs],
                    session=str(folder / "album"))
    daemon = Daemon(config)
    daemon.start()
    play_in_a_loop(daemon)
    host, port = daemon.server.tcp_address
    return SimpleNamespace(daemon=daemon, socket=str(folder / "control.sock"),
                           tcp=f"{host}:{port}", folder=folder, songs=songs)


def play_in_a_loop(daemon: Daemon) -> None:
    """Loop the whole current song and play (what every test starts from)."""
    daemon.engine.set_loop(0.0, SONG_S, True)
    daemon.engine.play()


async def until(pilot, condition: Callable[[], object], timeout: float = 10.0,
                what: str = "") -> None:
    """Let the app run until ``condition()`` holds (AssertionError after ``timeout``)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await pilot.pause(0.05)


async def press(app: MasterdeckApp, pilot, *keys: str) -> None:
    """Press keys as a terminal sends them.

    Pilot's own ``press`` waits for the process to go idle after each key,
    and a process hosting a playing daemon never does (a second per key);
    here each key goes to the app as the driver would post it, and the test
    waits only until the screen has handled it.
    """
    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))
        await pilot.pause(0.01)


def drive(deck: SimpleNamespace, scenario: Callable[[MasterdeckApp, object], Awaitable[None]],
          size: tuple[int, int] = SIZE, connected: bool = True, **options) -> MasterdeckApp:
    """Run the app against ``deck`` and play ``scenario(app, pilot)``; return the app."""
    options.setdefault("socket_path", deck.socket)

    async def main() -> MasterdeckApp:
        app = build_app(retry_s=0.1, retry_max_s=0.3, **options)
        async with app.run_test(size=size, notifications=True) as pilot:
            if connected:
                await until(pilot, lambda: app.model.connected and app.model.meters,
                            what="the first meter frame")
            await scenario(app, pilot)
        return app

    return asyncio.run(main())


def daemon_values(deck: SimpleNamespace, *ids: str) -> dict[str, float]:
    """``get`` from a separate protocol client."""
    with Client(socket_path=deck.socket) as client:
        return client.request("get", ids=list(ids))["values"]


def daemon_request(deck: SimpleNamespace, command: str, **args) -> dict:
    """Any request from a separate protocol client."""
    with Client(socket_path=deck.socket) as client:
        return client.request(command, **args)


async def ask(deck: SimpleNamespace, *ids: str) -> dict[str, float]:
    """``get`` from a separate client, off the app's loop."""
    return await asyncio.to_thread(daemon_values, deck, *ids)


def select(app: MasterdeckApp, param_id: str) -> list[str]:
    """The keys a user would press to walk the selection to ``param_id``."""
    keys = []
    here = app.model.selected
    target = P.index(param_id)
    while P.PARAMS[here].stage != P.PARAMS[target].stage:
        keys.append("pagedown")
        stages = list(P.STAGES)
        stage = stages[(stages.index(P.PARAMS[here].stage) + 1) % len(stages)]
        here = next(i for i, p in enumerate(P.PARAMS) if p.stage == stage)
    keys += ["down"] * (target - here) if target >= here else ["up"] * (here - target)
    return keys


def screen_text(app: MasterdeckApp) -> str:
    """The current screen as Textual's SVG export, with its non-breaking spaces plain."""
    return html.unescape(app.export_screenshot()).replace("\xa0", " ")

"""The room's module fixtures: one daemon with its room open, one headless Chromium.

A test module takes them by name (``rig = room_rig``, ``browser = chromium``).
"""

from __future__ import annotations

import pytest

from tests.roomrig import BROWSER_ARGS, CHROMIUM, RoomDaemon, jack_without_portaudio


@pytest.fixture(scope="module")
def room_rig(tmp_path_factory):
    """A daemon on a dummy JACK server of its own, its room open on loopback."""
    with jack_without_portaudio() as jack:
        daemon = RoomDaemon(jack, tmp_path_factory.mktemp("room"))
        try:
            daemon.start()
            yield daemon
        finally:
            daemon.stop()


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (autoplay allowed)."""
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=BROWSER_ARGS)
        yield browser
        browser.close()

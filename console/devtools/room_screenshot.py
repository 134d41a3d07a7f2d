"""Draw ``docs/room.png``: the listening room's page on the demo album, in headless Chromium.

``python -m console.devtools.room_screenshot [PATH]``: a daemon on the demo
session (its own dummy JACK server), the room open on loopback, a client
invited with every switch, a note written and answered, then the page as
the client sees it. Needs Debian's ``chromium`` and Playwright.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--autoplay-policy=no-user-gesture-required",
        "--disable-features=WebRtcHideLocalIpsWithMdns"]


def draw(path: Path) -> None:
    """Write the screenshot to ``path``."""
    from playwright.sync_api import sync_playwright

    from console.config import Config
    from console.daemon import Daemon
    from console.devtools import demo_session
    from console.devtools.jackd import dummy_jack

    with tempfile.TemporaryDirectory(prefix="masterdeck-room-shot-") as folder:
        base = Path(folder)
        os.environ["XDG_CONFIG_HOME"] = str(base / "config")
        demo = demo_session.build(base / "demo")
        with dummy_jack(prefix="mdshot"):
            daemon = Daemon(Config(socket=str(base / "control.sock"),
                                   session=str(demo.folder)))
            daemon.start()
            try:
                daemon.desk.perform("snapshot_store", slot="A")
                engine = daemon.engine
                engine.set_loop(0.0, engine.song.duration_s, True)
                engine.locate(min(14.0, engine.song.duration_s / 2))
                engine.play()
                room = daemon.room
                room.start(bind="127.0.0.1:0")
                link = room.invite("Ann", ["ab", "bypass", "reference"])["link"]
                with sync_playwright() as p:
                    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                args=ARGS)
                    page = browser.new_page(viewport={"width": 1100, "height": 900})
                    page.goto(link)
                    page.click("#listen")
                    time.sleep(4.0)
                    page.fill("#note", "the chorus vocal drops back here")
                    time.sleep(0.5)
                    page.press("#note", "Enter")
                    time.sleep(0.5)
                    song = daemon.session.session.current_song()
                    index = next(k for k, m in enumerate(song.markers)
                                 if m.name == "room: Ann")
                    room.notes.answer(song.id, index, "brought it up 0.5 dB, listen again")
                    page.fill("#note", "the snare")
                    time.sleep(2.0)
                    page.screenshot(path=str(path), full_page=True)
                    browser.close()
            finally:
                daemon.shutdown()


if __name__ == "__main__":
    draw(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/room.png"))

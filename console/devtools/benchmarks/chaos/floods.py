"""MIDI floods: a virtual nanoKONTROL2 turning a knob hundreds of times a second, now and then.

Each flood is the soak's ``midiflood`` process on the run's JACK server, for a
few seconds at a random rate; the daemon binds it with the shipped profile,
so every message is a parameter move journaled into the current song (CC 16,
``eq.band1.freq_hz``, which the chaos driver never sets, so the oracle need
not know what the knob did).
"""

from __future__ import annotations

import contextlib
import random
import subprocess
import sys
import threading
from pathlib import Path

from console.devtools.stopping import stop_child


class MidiFloods:
    """A thread that starts a flood now and then and stops it a few seconds later."""

    def __init__(self, folder: Path, env: dict[str, str], rng: random.Random,
                 every_s: float = 30.0, lasting_s: tuple[float, float] = (3.0, 10.0),
                 rate_hz: tuple[float, float] = (300.0, 3000.0)) -> None:
        self.folder = folder
        self.env = env
        self.rng = rng
        self.every_s = every_s
        self.lasting_s = lasting_s
        self.rate_hz = rate_hz
        self.floods = 0
        self.messages = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="midi-floods", daemon=True)

    def start(self) -> None:
        """Begin."""
        self._thread.start()

    def _run(self) -> None:
        while not self._done.wait(self.rng.expovariate(1.0 / self.every_s)):
            self.floods += 1
            count = self.folder / f"flood-{self.floods}.count"
            flood = subprocess.Popen(
                [sys.executable, "-m", "console.devtools.benchmarks.midiflood",
                 str(round(self.rng.uniform(*self.rate_hz))), str(count)],
                env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self._done.wait(self.rng.uniform(*self.lasting_s))
            _stop(flood)
            with contextlib.suppress(OSError, ValueError):
                self.messages += int(count.read_text() or 0)

    def stop(self) -> None:
        """Stop flooding (a flood under way ends at once)."""
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(15.0)

    def summary(self) -> dict[str, int]:
        """Floods run and messages sent."""
        return {"floods": self.floods, "messages": self.messages}


def _stop(child: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL: RtMidi spins in C while nobody reads its port."""
    stop_child(child, 2.0)

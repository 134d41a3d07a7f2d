"""A one-line progress bar for long jobs on a terminal."""

from __future__ import annotations

import time
from typing import TextIO


class ProgressBar:
    """Redraw ``label [#####.....]  42%`` in place, at most ten times a second."""

    def __init__(self, stream: TextIO, label: str, width: int = 30) -> None:
        self.stream, self.label, self.width = stream, label, width
        self._last = 0.0
        self._note = 0

    def update(self, fraction: float, note: str = "") -> None:
        """Show ``fraction`` (0..1) done, and ``note`` after the bar (what is being done)."""
        now = time.monotonic()
        if now - self._last < 0.1 and fraction < 1.0:
            return
        self._last = now
        filled = round(self.width * min(max(fraction, 0.0), 1.0))
        bar = "#" * filled + "." * (self.width - filled)
        tail = f"  {note}" if note else ""
        pad = " " * max(self._note - len(tail), 0)  # wipe a longer note drawn before
        self._note = len(tail)
        self.stream.write(f"\r{self.label} [{bar}] {fraction * 100:3.0f}%{tail}{pad}")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line."""
        self.update(1.0)
        self.stream.write("\n")
        self.stream.flush()

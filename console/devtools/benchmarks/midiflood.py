"""A virtual nanoKONTROL2 that turns a knob 1,000 times a second (soak benchmark).

Usage: ``python -m console.devtools.benchmarks.midiflood RATE_HZ COUNT_FILE``; runs
until stopped, writing how many messages it has sent to COUNT_FILE twice a
second (RtMidi's JACK output spins in C while its ring buffer is full, where
no signal handler can run, so the count must not depend on a clean exit).
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from pathlib import Path

import rtmidi


def main() -> None:
    """Send control changes at the given rate until SIGTERM."""
    rate = float(sys.argv[1]) if len(sys.argv) > 1 else 1000.0
    count_file = Path(sys.argv[2]) if len(sys.argv) > 2 else None
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    device = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="nanoKONTROL2")
    device.open_virtual_port("MIDI 1")
    sent, value = 0, 0
    next_at = time.monotonic()
    written_at = next_at
    while not done.is_set():
        device.send_message([0xB0, 16, value])  # knob 1: an EQ band frequency
        sent += 1
        value = (value + 1) % 128
        next_at += 1.0 / rate
        if count_file is not None and next_at - written_at > 0.5:
            count_file.write_text(str(sent))
            written_at = next_at
        delay = next_at - time.monotonic()
        if delay > 0:
            time.sleep(delay)
    device.close_port()
    if count_file is not None:
        count_file.write_text(str(sent))


if __name__ == "__main__":
    main()

"""The test JACK server is real: MIDI bytes travel between rtmidi JACK ports."""

import signal
import subprocess
import sys
import time

import rtmidi

from tests.jackrecorder import Recorder


def test_midi_bytes_travel_through_the_dummy_server(jack):
    out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="md-sender")
    inp = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="md-receiver")
    out.open_virtual_port("out")
    inp.open_virtual_port("in")
    received = []
    inp.set_callback(lambda event, data: received.append(event[0]))
    try:
        names = inp.get_ports()
        target = next(i for i, n in enumerate(out.get_ports()) if "md-receiver" in n)
        probe = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="md-probe")
        probe.open_port(target)
        probe.send_message([0xB0, 7, 100])
        deadline = time.monotonic() + 2
        while not received and time.monotonic() < deadline:
            time.sleep(0.01)
        probe.close_port()
        assert received == [[0xB0, 7, 100]]
        assert any("md-sender" in n for n in names)
    finally:
        out.close_port()
        inp.close_port()


LATE = """
import time
import rtmidi
midi_out = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="md-late")
midi_out.open_virtual_port("out")
print("ready", flush=True)
time.sleep(30)
"""

RECEIVER = """
import sys, time
import rtmidi
midi_in = rtmidi.MidiIn(rtmidi.API_UNIX_JACK, name="md-late")
midi_in.open_port(next(i for i, n in enumerate(midi_in.get_ports()) if "md-steady" in n))
print("ready", flush=True)
values, quiet_since = [], time.monotonic()
while time.monotonic() - quiet_since < 1.0:
    item = midi_in.get_message()
    if item is None:
        time.sleep(0.001)
    else:
        values.append(item[0][2])
        quiet_since = time.monotonic()
print(len(values), flush=True)
"""


def test_a_late_client_is_counted_as_an_xrun_and_loses_midi(jack):
    """The premise of tests/retakes.py: a client that misses periods loses their MIDI,
    and the server's xrun count says so."""
    sender = rtmidi.MidiOut(rtmidi.API_UNIX_JACK, name="md-steady")
    sender.open_virtual_port("out")
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], env=jack.env(),
                                stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        before = jack.xruns()
        for value in range(60):
            sender.send_message([0xB0, 7, value])
            if value % 20 == 10:  # the receiver misses about ten periods
                receiver.send_signal(signal.SIGSTOP)
                time.sleep(0.05)
                receiver.send_signal(signal.SIGCONT)
            time.sleep(0.01)
        received = int(receiver.communicate(timeout=10)[0])
    finally:
        receiver.kill()
        receiver.communicate()
        sender.delete()
    assert jack.xruns() >= before + 3
    assert received < 60


def test_the_recorder_counts_what_the_server_logged(jack):
    """The recorder's witness for retakes: the server's log, read at once (no GIL wait)."""
    recorder = Recorder("md-witness", server=jack)
    late = subprocess.Popen([sys.executable, "-c", LATE], env=jack.env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert late.stdout.readline().strip() == "ready"
        before = jack.xruns()  # a loaded machine may have had some already
        late.send_signal(signal.SIGSTOP)
        time.sleep(0.05)
        late.send_signal(signal.SIGCONT)
        logged = jack.xruns() - before
        assert logged >= 1
        assert recorder.xruns >= logged  # every one, the moment jackd wrote it
    finally:
        late.kill()
        late.communicate()
        recorder.close()

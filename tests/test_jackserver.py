"""The test JACK server is real: MIDI bytes travel between rtmidi JACK ports."""

import time

import rtmidi


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

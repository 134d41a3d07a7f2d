"""Generic surfaces on a real JACK MIDI server: each shipped profile in its factory state.

Every test plays a device through a virtual JACK port named like the device;
the manager finds it by name, binds its profile, and the test checks the desk
values and actions that result and the feedback bytes sent back.
"""

from __future__ import annotations

import json
import time

import pytest
import rtmidi

from console.cli import main as cli_main
from console.control.desk import Desk
from console.devtools.jackd import DummyJackServer
from console.surfaces import VirtualPort, load_profile
from console.surfaces.config import SHIPPED_DIR
from console.surfaces.surface import ECHO_WINDOW_S
from dsp import params as P
from tests.test_surfaces_support import (
    JACK,
    WAIT_S,
    DeskWatch,
    Player,
    connected,
    make_manager,
    until,
)
from tests.test_surfaces_support import user_mappings as user_mappings_fixture

pytestmark = pytest.mark.retake_on_xrun  # a period JACK dropped loses MIDI: tests/retakes.py

user_mappings = user_mappings_fixture


@pytest.fixture
def rig(jack, user_mappings):
    """A desk with recorded actions, and a function that starts a manager for a device."""
    desk = Desk()
    watch = DeskWatch(desk)
    started = []

    def start(client: str, port: str, surface: str, **kwargs):
        player = Player(client, port)
        manager = make_manager(desk, user_mappings, **kwargs)
        manager.start()
        started.append((manager, player))
        assert manager.wait_until(lambda m: connected(m, surface), WAIT_S)
        player.quiet()  # the restore burst
        return manager, player

    yield desk, watch, start
    for manager, player in started:
        manager.stop()
        player.unplug()


def test_nanokontrol2_faders_knobs_buttons_and_transport(rig):
    desk, watch, start = rig
    manager, dev = start("nanoKONTROL2", "nanoKONTROL2 MIDI 1", "korg-nanokontrol2")
    # fader 1 (CC 0) at its middle is where input trim sits (0 dB): it takes over
    dev.send(0xB0, 0, 64)
    dev.send(0xB0, 0, 80)
    assert watch.wait_value("input.trim_db", lambda v: v == pytest.approx(6.1))
    # S1 (CC 32) switches EQ band 1 out; its LED goes dark
    dev.clear()
    dev.send(0xB0, 32, 127)
    dev.send(0xB0, 32, 0)
    assert watch.wait_value("eq.band1.on", lambda v: v == 0.0)
    assert dev.wait_message(bytes([0xB0, 32, 0]))
    # transport
    dev.send(0xB0, 41, 127)
    assert watch.wait_action("play")["author"] == "surface:korg-nanokontrol2"
    dev.send(0xB0, 43, 127)
    assert watch.wait_action("locate")["seconds"] == 0.0  # << : back to the start
    dev.send(0xB0, 46, 127)  # Cycle toggles the loop: on, since the console's loop is off
    assert watch.wait_action("loop")["on"] is True
    desk.set_state("loop", {"on": True, "start_s": 0.0, "end_s": 8.0}, author="engine")
    assert dev.wait_message(bytes([0xB0, 46, 127]))  # its LED follows the console's loop
    watch.actions.clear()
    time.sleep(ECHO_WINDOW_S)  # a hand comes later than a MIDI thru echo of that LED would
    dev.send(0xB0, 46, 127)
    assert watch.wait_action("loop")["on"] is False
    # SET held is Shift: R1 stores snapshot A; released, R1 recalls it
    dev.send(0xB0, 60, 127)
    dev.send(0xB0, 64, 127)
    assert watch.wait_for(lambda: "A" in desk.snapshots)
    dev.send(0xB0, 60, 0)
    desk.set("input.trim_db", -3.0, author="ui")
    dev.send(0xB0, 64, 127)
    assert watch.wait_value("input.trim_db", lambda v: v == pytest.approx(6.1))
    assert desk.state()["snapshot"] == "A"
    assert manager.surface("korg-nanokontrol2").counters["errors"] == 0


def test_pickup_holds_a_far_knob_until_it_reaches_the_value(rig):
    desk, watch, start = rig
    manager, dev = start("nanoKONTROL2", "nanoKONTROL2 MIDI 1", "korg-nanokontrol2")
    surface = manager.surface("korg-nanokontrol2")
    # knob 3 (CC 18) drives band 3's frequency, 1000 Hz = 2/3 of its travel
    for value in (10, 20, 30):
        dev.send(0xB0, 18, value)
    assert until(lambda: surface.counters["held_by_pickup"] >= 3)
    assert desk.get("eq.band3.freq_hz") == 1000.0

    def shown():  # what masterdeck surfaces --json and the protocol show for knob 3
        rows = surface.describe()["bindings"]
        return next(r["pickup"] for r in rows if r["control"] == "cc 18 ch1")

    assert shown() == "waiting"
    dev.send(0xB0, 18, 100)  # jumps across the value: picked up
    assert watch.wait_value("eq.band3.freq_hz", lambda v: v > 4000.0)
    assert shown() == "engaged"
    dev.send(0xB0, 18, 90)  # engaged: follows
    assert watch.wait_value("eq.band3.freq_hz", lambda v: 2500.0 < v < 4000.0)
    desk.set("eq.band3.freq_hz", 100.0, author="ui")  # changed elsewhere: catch it again
    held = surface.counters["held_by_pickup"]
    dev.send(0xB0, 18, 91)
    assert until(lambda: surface.counters["held_by_pickup"] == held + 1)
    assert desk.get("eq.band3.freq_hz") == 100.0


FACTORY = [
    # client, port, profile, fader message (to middle), param, LED press, LED param, LED off bytes
    ("MIDI Mix", "MIDI Mix MIDI 1", "akai-midimix", (0xB0, 62), "output.gain_db",
     (0x90, 1), "eq.band1.on", bytes([0x90, 1, 0])),
    ("Launch Control XL", "Launch Control XL MIDI 1", "novation-launch-control-xl", (0xB8, 84),
     "output.gain_db", (0x98, 41), "eq.band1.on", bytes([0x98, 41, 12])),
    ("X-TOUCH MINI", "X-TOUCH MINI MIDI 1", "behringer-x-touch-mini", (0xBA, 9),
     "output.gain_db", (0x9A, 8), "eq.bypass", bytes([0x90, 0, 1])),
]


@pytest.mark.parametrize("client, port, profile, fader, param, button, switch, led", FACTORY,
                         ids=[row[2] for row in FACTORY])
def test_factory_surfaces_drive_parameters_and_light_leds(rig, client, port, profile, fader,
                                                          param, button, switch, led):
    desk, watch, start = rig
    manager, dev = start(client, port, profile)
    # the output fader sits at the top (0 dB); from there it follows down to the middle
    dev.send(*fader, 127)
    dev.send(*fader, 64)
    assert watch.wait_value(param, lambda v: v == pytest.approx(-15.0)), \
        manager.surface(profile).counters
    before = desk.get(switch)
    dev.clear()
    dev.send(*button, 127)
    dev.send(button[0] & 0xEF, button[1], 0)  # release as note off
    assert watch.wait_value(switch, lambda v: v != before)
    assert dev.wait_message(led)


def test_the_daemon_opens_its_own_virtual_port_for_software_controllers(jack, user_mappings):
    desk = Desk()
    watch = DeskWatch(desk)
    manager = make_manager(desk, user_mappings, autodetect=False,
                           virtual_ports=[VirtualPort("md-virtual", "generic")])
    manager.start()
    app = rtmidi.MidiOut(JACK, name="software-controller")
    try:
        names = app.get_ports()
        app.open_port(next(i for i, n in enumerate(names) if n.startswith("masterdeck-md-virtual")))
        app.send_message([0x90, 41, 100])  # button 6: loudness-matched bypass
        assert watch.wait_action("bypass") is not None
        assert manager.describe()["surfaces"][0]["name"] == "virtual:md-virtual"
    finally:
        app.delete()
        manager.stop()


def test_feedback_sent_back_by_a_midi_thru_never_loops(jack, user_mappings):
    desk = Desk()
    watch = DeskWatch(desk)
    dev = Player("nanoKONTROL2", "nanoKONTROL2 MIDI 1", thru=True)
    manager = make_manager(desk, user_mappings)
    manager.start()
    try:
        assert manager.wait_until(lambda m: connected(m, "korg-nanokontrol2"), WAIT_S)
        surface = manager.surface("korg-nanokontrol2")
        assert until(lambda: surface.counters["echoes"] > 20)  # the restore came back
        dev.send(0xB0, 32, 127)  # S1 once: band 1 out, its LED off, echoed back
        dev.send(0xB0, 32, 0)
        assert watch.wait_value("eq.band1.on", lambda v: v == 0.0)
        assert not watch.wait_value("eq.band1.on", lambda v: v == 1.0, timeout=0.3)
        assert len([c for c, _ in watch.changes if "eq.band1.on" in c]) == 1
    finally:
        manager.stop()
        dev.unplug()


def test_garbage_and_truncated_input_is_counted_and_harmless(rig):
    desk, watch, start = rig
    manager, dev = start("nanoKONTROL2", "nanoKONTROL2 MIDI 1", "korg-nanokontrol2")
    surface = manager.surface("korg-nanokontrol2")
    before = desk.values()
    garbage = [
        [0xB0, 0],             # truncated control change
        [0x10, 0x20],          # running-status noise: data bytes without a status
        [0x40],
        [0xB0, 0x80, 0x10],    # a status byte where data should be
        [0xF0, 0x7D, 0x01, 0x02, 0xF7],  # unknown SysEx
        [0xF0, 0x00, 0x00, 0x66, 0x14, 0x12, 0x00, 0x41, 0xF7],  # someone else's Mackie LCD
        [0xC0, 5],             # program change: decodable, unbound
        [0xE0, 0x7F, 0x7F],    # pitch bend: unbound on this device
        [0xB0, 6, 127],        # NRPN data entry without a parameter: a plain unbound CC here
    ]
    for data in garbage:
        dev.send(*data)
    dev.send(0xB0, 16, 26)  # a real message after the noise still works (band 1 freq, pickup)
    dev.send(0xB0, 16, 40)
    assert watch.wait_value("eq.band1.freq_hz", lambda v: v != 80.0)
    counters = surface.counters
    assert counters["undecodable"] >= 3
    assert counters["errors"] == 0
    changed = {k for k, v in desk.values().items() if v != before[k]}
    assert changed == {"eq.band1.freq_hz"}


def test_a_flood_of_thousands_of_messages_a_second_stays_in_range(rig):
    _desk, watch, start = rig
    manager, dev = start("nanoKONTROL2", "nanoKONTROL2 MIDI 1", "korg-nanokontrol2")
    surface = manager.surface("korg-nanokontrol2")
    dev.send(0xB0, 7, 127)  # output fader at 0 dB: engaged
    assert watch.wait_value("output.gain_db", lambda v: v == 0.0)
    t0 = time.monotonic()
    sent = 0
    for burst in range(40):
        for i in range(100):
            dev.send(0xB0, 7, (burst * 100 + i) % 128)
            dev.send(0xB0, 16 + i % 8, (i * 37) % 128)  # knobs, mostly held by pickup
            sent += 2
        time.sleep(0.004)
    dev.send(0xB0, 7, 1)
    elapsed = time.monotonic() - t0
    assert watch.wait_value("output.gain_db", lambda v: v == -30.0)
    assert sent / elapsed > 2000  # thousands a second really were offered
    assert surface.counters["errors"] == 0
    assert surface.counters["received"] > 0.9 * sent
    for changes, _source in watch.changes:
        for key, value in changes.items():
            assert P.get(key).min <= value <= P.get(key).max, key


def test_unplugged_surface_is_reported_and_restored_within_two_seconds(rig):
    desk, watch, start = rig
    manager, dev = start("nanoKONTROL2", "nanoKONTROL2 MIDI 1", "korg-nanokontrol2")
    events = []
    manager.on_change(lambda event, info: events.append(event))
    dev.unplug()
    assert manager.wait_until(lambda m: not m.surfaces()[0].input, WAIT_S)
    assert events == ["disconnected"]
    desk.set("eq.band2.on", 0.0, author="ui")  # changed while the surface was away
    desk.set("comp.bypass", 0.0, author="ui")
    dev.clear()
    t0 = time.monotonic()
    dev.replug()
    assert manager.wait_until(lambda m: connected(m, "korg-nanokontrol2"), WAIT_S)
    assert dev.wait_message(bytes([0xB0, 33, 0]))  # S2: band 2 out
    assert dev.wait_message(bytes([0xB0, 49, 0]))  # M2: compressor in
    reconnect_s = time.monotonic() - t0
    assert reconnect_s < 2.0
    assert events == ["disconnected", "reconnected"]
    dev.send(0xB0, 41, 127)
    assert watch.wait_action("play") is not None


def test_midi_learn_writes_the_user_profile_and_takes_effect_at_once(rig, user_mappings):
    _desk, watch, start = rig
    manager, dev = start("nanoKONTROL2", "nanoKONTROL2 MIDI 1", "korg-nanokontrol2")
    request = manager.learn(param="comp.ratio")
    dev.send(0xB0, 100, 30)  # an unbound CC: the control being learned
    result = request.wait(WAIT_S)
    assert result is not None, request.error
    path = user_mappings / "korg-nanokontrol2.toml"
    assert result["file"] == str(path)
    text = path.read_text()
    assert "Korg nanoKONTROL2, factory scene" in text  # the shipped file's comments kept
    learned = load_profile(path, "user")
    assert any(b.control.key == ("cc", 0, 100) and b.param == "comp.ratio"
               for b in learned.bindings)
    assert len(learned.bindings) == len(load_profile(
        SHIPPED_DIR / "korg-nanokontrol2.toml").bindings) + 1
    # effective at once: 2:1 sits near 30/127 of the travel, so it picks up and follows
    dev.send(0xB0, 100, 31)
    dev.send(0xB0, 100, 127)
    assert watch.wait_value("comp.ratio", lambda v: v == 20.0)
    # learning an action onto a bound button replaces that binding
    request = manager.learn(action="reference")
    dev.send(0xB0, 39, 127)  # S8, factory: reference already; now learned into the user file
    assert request.wait(WAIT_S) is not None
    dev.send(0xB0, 32, 127)  # S1 still toggles band 1
    assert watch.wait_value("eq.band1.on", lambda v: v == 0.0)
    origins = {p["id"]: p["origin"] for p in manager.describe()["profiles"]}
    assert origins["korg-nanokontrol2"] == "user"


def test_surfaces_command_lists_profiles_ports_and_bindings(jack, capsys):
    dev = Player("nanoKONTROL2", "nanoKONTROL2 MIDI 1")
    try:
        assert cli_main(["surfaces", "--json", "--midi-backend", "jack"]) == 0
        report = json.loads(capsys.readouterr().out)
        assert {p["id"] for p in report["profiles"]} >= {
            "mackie-control", "korg-nanokontrol2", "akai-midimix", "behringer-x-touch-mini",
            "novation-launch-control-xl", "generic"}
        port = next(p for p in report["ports"]["inputs"] if p["name"].startswith("nanoKONTROL2"))
        assert port["profile"] == "korg-nanokontrol2"
        assert cli_main(["surfaces", "--midi-backend", "jack"]) == 0
        text = capsys.readouterr().out
        assert "korg-nanokontrol2" in text and "nanoKONTROL2:nanoKONTROL2 MIDI 1" in text
    finally:
        dev.unplug()


MY_BOX = """
# A user's own device: 14-bit, NRPN, pressure and pitch bend controls.
[device]
name = "My Box"
ports = ["my box"]

[[binding]]
control = "cc14"
number = 1
param = "output.gain_db"
pickup = false
feedback = "value"

[[binding]]
control = "nrpn"
number = 300
param = "limiter.ceiling_dbtp"
pickup = false

[[binding]]
control = "nrpn"
number = 301
mode = "relative"
param = "eq.band1.q"

[[binding]]
control = "pressure"
param = "stereo.width_pct"
pickup = false

[[binding]]
control = "pitchbend"
channel = 2
param = "input.trim_db"
min = -6.0
max = 6.0
"""


def test_a_users_profile_with_14_bit_nrpn_pressure_and_pitch_bend_controls(rig, user_mappings):
    user_mappings.mkdir(parents=True)
    (user_mappings / "my-box.toml").write_text(MY_BOX)
    desk, watch, start = rig
    manager, dev = start("My Box", "My Box MIDI 1", "my-box")
    dev.clear()
    dev.send(0xB0, 1, 0x40)  # 14-bit: MSB then LSB
    dev.send(0xB0, 33, 0x00)
    assert watch.wait_value("output.gain_db", lambda v: v == -15.0)
    desk.set("output.gain_db", -7.5, author="ui")  # 3/4 of the travel: 12287 = 0x5F 0x7F
    assert dev.wait_message(bytes([0xB0, 33, 0x7F]))  # fed back as a pair, LSB last
    assert dev.received[-2:] == [bytes([0xB0, 1, 0x5F]), bytes([0xB0, 33, 0x7F])]
    dev.send(0xB0, 99, 2)  # NRPN 300 = 2 << 7 | 44
    dev.send(0xB0, 98, 44)
    dev.send(0xB0, 6, 0x7F)
    dev.send(0xB0, 38, 0x7F)
    assert watch.wait_value("limiter.ceiling_dbtp", lambda v: v == 0.0)
    dev.send(0xB0, 98, 45)  # NRPN 301, stepped by data increment
    dev.send(0xB0, 96, 0)
    assert watch.wait_value("eq.band1.q", lambda v: v > 0.707)
    dev.send(0xD0, 127)  # channel pressure
    assert watch.wait_value("stereo.width_pct", lambda v: v == 200.0)
    dev.send(0xE1, 0x7F, 0x7F)  # pitch bend on channel 2, limited to -6..+6 dB
    dev.send(0xE1, 0x00, 0x40)
    dev.send(0xE1, 0x7F, 0x7F)
    assert watch.wait_value("input.trim_db", lambda v: v == 6.0)
    assert manager.surface("my-box").counters["errors"] == 0


def test_the_daemon_goes_on_without_midi_and_binds_once_the_server_is_up(user_mappings,
                                                                          monkeypatch):
    server = DummyJackServer()
    monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
    monkeypatch.setenv("JACK_NO_START_SERVER", "1")
    desk = Desk()
    manager = make_manager(desk, user_mappings, scan_interval_s=0.2,
                           virtual_ports=[VirtualPort("late", "generic")])
    manager.start()  # no JACK server yet: reported, not raised
    try:
        assert "JACK" in manager.describe()["error"]
        server.start()
        # with JACK's registry full of dead servers, start() takes one's name: follow it
        monkeypatch.setenv("JACK_DEFAULT_SERVER", server.name)
        assert until(lambda: manager.error is None and manager.surfaces(), 15.0)
        assert manager.surfaces()[0].input is not None
        json.dumps(manager.describe())  # plain data all the way down
    finally:
        manager.stop()
        server.stop()

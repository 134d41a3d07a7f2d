"""Profiles: every shipped file loads, bad ones are clear errors, users override, learn writes.

Also the port-name matching that decides which profile binds which port.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
import rtmidi

from console.surfaces import SurfaceConfig, album, load_profile, load_profiles
from console.surfaces.bindings import bind, position
from console.surfaces.config import SHIPPED_DIR, VirtualPort, parse_explicit
from console.surfaces.decode import Event
from console.surfaces.learn import LearnRequest, binding_from_event, write_binding
from console.surfaces.mackie import strip_bindings
from console.surfaces.ports import assign_ports, best_profile, match_score, pair_output, resolve_api
from dsp import params as P
from dsp.errors import DeviceError, MappingError

SHIPPED = sorted(p for p in SHIPPED_DIR.iterdir()
                 if p.name not in {"__init__.py", "__pycache__"})
"""Every file in mappings/ but the marker that makes it a package for the wheel."""


@pytest.mark.parametrize("path", SHIPPED, ids=[p.name for p in SHIPPED])
def test_every_file_in_mappings_loads(path):
    assert path.suffix == ".toml", f"{path.name}: only .toml profiles belong in mappings/"
    profile = load_profile(path)
    assert profile.bindings or profile.banks
    for b in profile.bindings:
        assert sum(t is not None for t in (b.param, b.action, b.song)) == 1
        if b.param:
            P.get(b.param)
    if profile.id != "generic":
        assert profile.device.ports, "a shipped device profile must name its ports"


def test_factory_assignments_of_the_shipped_profiles():
    profiles, errors = load_profiles([(SHIPPED_DIR, "shipped")])
    assert errors == []

    def target(pid, kind, channel, number, layer=""):
        layers = {(b.control.key, b.layer): b for b in profiles[pid].bindings}
        b = layers[((kind, channel - 1, number), layer)]
        return b.param or b.action

    assert target("korg-nanokontrol2", "cc", 1, 0) == "input.trim_db"      # fader 1
    assert target("korg-nanokontrol2", "cc", 1, 16) == "eq.band1.freq_hz"  # knob 1
    assert target("korg-nanokontrol2", "cc", 1, 41) == "play"
    assert target("korg-nanokontrol2", "cc", 1, 64, "shift") == "snapshot_store"
    assert target("akai-midimix", "cc", 1, 19) == "eq.band1.gain_db"      # fader 1
    assert target("akai-midimix", "cc", 1, 62) == "output.gain_db"        # master
    assert target("akai-midimix", "note", 1, 1) == "eq.band1.on"          # mute 1
    assert target("novation-launch-control-xl", "cc", 9, 77) == "eq.band1.gain_db"
    assert target("novation-launch-control-xl", "note", 9, 41) == "eq.band1.on"
    assert target("behringer-x-touch-mini", "cc", 11, 1) == "eq.band1.freq_hz"
    assert target("behringer-x-touch-mini", "cc", 11, 10) == "input.trim_db"  # layer B fader
    assert target("mackie-control", "pitchbend", 9, 0) == "output.gain_db"  # master fader
    assert target("mackie-control", "note", 1, 0x5E) == "play"
    mackie = profiles["mackie-control"]
    assert mackie.device.motorised and mackie.device.touch and mackie.device.display == "mackie"
    assert [b.name for b in mackie.banks] == ["EQ", "EQ Q", "Dynamics", "Stereo"]
    assert all(len(b.strips) == 8 for b in mackie.banks)
    nano = profiles["korg-nanokontrol2"]
    assert all(b.pickup for b in nano.bindings if b.mode == "absolute")


GOOD = """
[device]
name = "Test box"
ports = ["test box"]

[[binding]]
control = "cc"
number = 1
param = "eq.band2.gain_db"
"""

BAD = [
    ('param = "eq.band2.gain_db"', 'param = "eq.band9.gain_db"', "binding[0].param",
     "unknown parameter id"),
    ("number = 1", "number = 128", "binding[0].number", "0..127"),
    ('control = "cc"', 'control = "sysex"', "binding[0].control", "must be one of"),
    ("number = 1", "number = 1\nchannel = 0", "binding[0].channel", "1..16"),
    ("number = 1", "number = 1\npikcup = true", "binding[0].pikcup", "unknown key"),
    ("number = 1", 'number = 1\nmode = "relative"\nencoding = "gray"', "binding[0].encoding",
     "twos_complement"),
    ('param = "eq.band2.gain_db"', 'action = "explode"', "binding[0].action", "unknown action"),
    ('param = "eq.band2.gain_db"', 'param = "eq.band2.gain_db"\naction = "play"', "binding[0]",
     "exactly one target"),
    ("number = 1", "number = 1\nmin = -30.0", "binding[0].min", "out of range"),
    ('name = "Test box"', 'name = "Test box"\nchannel = 17', "device.channel", "1..16"),
    ('name = "Test box"', 'name = "Test box"\nprotocol = "hui"', "device.protocol", "generic"),
    ("number = 1", 'number = 1\nfeedback = { type = "ring", style = "zigzag" }',
     "binding[0].feedback.style", "boost_cut"),
    ('control = "cc"', 'control = "pitchbend"', "binding[0].number", "has no number"),
    ('param = "eq.band2.gain_db"', 'song = 1\nmode = "button"', "binding[0].mode",
     "not a button"),
    ('param = "eq.band2.gain_db"', "song = 1\nmin = -40.0", "binding[0].min", "-30..6 dB"),
    ('param = "eq.band2.gain_db"', "song = 0", "binding[0].song", "1..64"),
    ('param = "eq.band2.gain_db"', 'param = "eq.band2.gain_db"\nsong = 2', "binding[0]",
     "exactly one target"),
    ("number = 1", 'number = 1\nlayer = "page2"', "binding[0].layer", "album"),
]


@pytest.mark.parametrize("old, new, key, message", BAD, ids=[row[2] for row in BAD])
def test_a_bad_binding_names_the_file_and_the_key(tmp_path, old, new, key, message):
    path = tmp_path / "test-box.toml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(MappingError) as info:
        load_profile(path)
    assert str(info.value).startswith(f"test-box.toml: {key}: ")
    assert message in str(info.value)


def test_a_song_binding_is_a_level_offset_fader_with_unity_two_thirds_up(tmp_path):
    path = tmp_path / "test-box.toml"
    path.write_text(GOOD.replace('param = "eq.band2.gain_db"', 'song = 3\nlayer = "album"'))
    b = load_profile(path).bindings[0]
    assert (b.song, b.layer, b.target, b.param, b.action) == (3, "album", "song 3 level",
                                                              None, None)
    bound = bind(b)
    assert bound.param is None and (bound.level.min, bound.level.max) == (-12.0, 6.0)
    assert position(bound, 0.0) == pytest.approx(2 / 3)
    assert position(bound, 6.0) == 1.0 and position(bound, -12.0) == 0.0
    assert album.detent(0.2) == 0.0 and album.detent(-0.3) == -0.3
    assert album.detent(2.142857) == 2.1
    path.write_text(GOOD.replace('param = "eq.band2.gain_db"', "song = 3\nmin = -6.0\nmax = 6.0"))
    assert position(bind(load_profile(path).bindings[0]), 0.0) == pytest.approx(0.5)


def test_a_translate_button_lights_while_its_check_is_heard(tmp_path):
    path = tmp_path / "checks.toml"
    path.write_text(GOOD + '\n[[binding]]\ncontrol = "note"\nnumber = 20\naction = "translate"\n'
                    'args = { check = "phone" }\n')
    binding = load_profile(path).bindings[-1]
    assert binding.action == "translate" and binding.args == {"check": "phone"}
    assert (binding.feedback.state, binding.feedback.equals) == ("translation", "phone")


def test_duplicate_controls_and_broken_toml_are_errors(tmp_path):
    path = tmp_path / "dup.toml"
    path.write_text(GOOD + '\n[[binding]]\ncontrol = "cc"\nnumber = 1\nparam = "input.trim_db"\n')
    with pytest.raises(MappingError, match=r"dup.toml: binding\[1\]: cc 1 ch1 is already bound"):
        load_profile(path)
    path.write_text("[device\nname=")
    with pytest.raises(MappingError, match=r"dup\.toml: not valid TOML"):
        load_profile(path)


def test_user_profiles_override_shipped_ones_and_broken_ones_are_skipped(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "korg-nanokontrol2.toml").write_text(GOOD)
    (user / "broken.toml").write_text(GOOD.replace("number = 1", "number = 999"))
    profiles, errors = load_profiles([(SHIPPED_DIR, "shipped"), (user, "user")])
    assert profiles["korg-nanokontrol2"].device.name == "Test box"
    assert profiles["korg-nanokontrol2"].origin == "user"
    assert profiles["mackie-control"].origin == "shipped"
    assert "broken" not in profiles
    assert errors == ["broken.toml: binding[0].number: must be in range 0..127, got 999"]


def test_learn_writes_a_checked_binding_keeping_the_shipped_comments(tmp_path):
    shipped = load_profile(SHIPPED_DIR / "korg-nanokontrol2.toml")
    fader1 = next(b for b in shipped.bindings if b.control.key == ("cc", 0, 0))
    row = binding_from_event(Event("cc", 0, 0, 64), LearnRequest({"param": "comp.ratio"}),
                             None)
    assert row == {"control": "cc", "channel": 1, "number": 0, "param": "comp.ratio"}
    learned = write_binding(shipped, row, tmp_path)
    text = (tmp_path / "korg-nanokontrol2.toml").read_text()
    assert "# Korg nanoKONTROL2, factory scene" in text
    assert learned.origin == "user" and len(learned.bindings) == len(shipped.bindings)
    assert [b.param for b in learned.bindings
            if b.control == fader1.control and not b.layer] == ["comp.ratio"]
    assert list(tmp_path.iterdir()) == [tmp_path / "korg-nanokontrol2.toml"]  # no temp files
    # a relative encoder learned on a Mackie V-Pot keeps its encoding and ring
    mackie = load_profile(SHIPPED_DIR / "mackie-control.toml")
    vpot = bind(strip_bindings(mackie.banks[0], 0, mackie.device)[1])
    row = binding_from_event(Event("cc", 0, 0x10, 1), LearnRequest({"param": "comp.knee_db"}),
                             vpot)
    assert row["mode"] == "relative" and row["encoding"] == "sign_magnitude"
    assert row["feedback"] == {"type": "ring", "cc": 0x30, "style": "wrap"}
    assert any(b.param == "comp.knee_db" for b in write_binding(mackie, row, tmp_path).bindings)


def test_a_learned_binding_that_would_not_load_is_not_written(tmp_path):
    shipped = load_profile(SHIPPED_DIR / "korg-nanokontrol2.toml")
    row = {"control": "cc", "channel": 1, "number": 5, "mode": "button",
           "param": "eq.band1.gain_db"}  # a button on a continuous parameter needs a value
    with pytest.raises(MappingError, match="needs a value"):
        write_binding(shipped, row, tmp_path)
    assert not (tmp_path / "korg-nanokontrol2.toml").exists()


@pytest.mark.parametrize("port, pattern, scores", [
    ("X-TOUCH MINI:X-TOUCH MINI MIDI 1 24:0", "x-touch mini", True),
    ("X-Touch:X-Touch INT", "x-touch", True),
    ("nanoKONTROL2:nanoKONTROL2 MIDI 1", "nanokontrol2", True),
    ("Launch Control XL:Launch Control XL MIDI 1", "launch xl", True),  # words, any order
    ("Launch Control:Launch Control MIDI 1", "launch control xl", False),
])
def test_port_patterns_match_words_ignoring_case(port, pattern, scores):
    assert bool(match_score(port, pattern)) is scores


def test_the_most_specific_profile_wins_and_our_own_ports_are_never_bound():
    patterns = {"mackie-control": ["x-touch", "mcu"], "behringer-x-touch-mini": ["x-touch mini"]}
    assert best_profile("X-TOUCH MINI MIDI 1", patterns) == ("behringer-x-touch-mini", [])
    assert best_profile("X-Touch INT", patterns) == ("mackie-control", [])
    assert best_profile("Keystation 49", patterns) == (None, [])
    plan = assign_ports(["masterdeck-x-touch:out", "X-Touch One", "My Box"], patterns,
                        {"generic": "my box"}, "masterdeck")
    assert plan == {"X-Touch One": ("mackie-control", []), "My Box": ("generic", [])}


def test_outputs_pair_with_the_input_of_the_same_device():
    outputs = ["nanoKONTROL2-03:nanoKONTROL2 MIDI 1", "X-Touch-01:X-Touch INT",
               "nanoKONTROL2-01:nanoKONTROL2 MIDI 1"]
    assert pair_output("X-Touch:X-Touch INT", outputs, ["x-touch"]) == "X-Touch-01:X-Touch INT"
    taken = {"nanoKONTROL2-01:nanoKONTROL2 MIDI 1"}
    assert pair_output("nanoKONTROL2-02:nanoKONTROL2 MIDI 1", outputs, ["nanokontrol2"],
                       taken.__contains__) == "nanoKONTROL2-03:nanoKONTROL2 MIDI 1"
    assert pair_output("Other:in", outputs, ["other"]) is None


@pytest.mark.parametrize("backend, api", [
    ("jack", rtmidi.API_UNIX_JACK), ("alsa", rtmidi.API_LINUX_ALSA),
    ("UNIX_JACK", rtmidi.API_UNIX_JACK), ("mido.backends.rtmidi/UNIX_JACK", rtmidi.API_UNIX_JACK),
])
def test_backend_names_resolve_as_mido_names_them(backend, api):
    assert resolve_api(backend)[0] == api


def test_mido_backend_variable_is_honoured_and_other_backends_refused(monkeypatch):
    monkeypatch.setenv("MIDO_BACKEND", "mido.backends.rtmidi/UNIX_JACK")
    assert resolve_api(None) == (rtmidi.API_UNIX_JACK, "mido.backends.rtmidi/UNIX_JACK")
    assert resolve_api("auto")[0] == rtmidi.API_UNIX_JACK
    with pytest.raises(DeviceError, match="not supported"):
        resolve_api("mido.backends.portmidi")
    with pytest.raises(DeviceError, match="not available"):
        resolve_api("WINDOWS_MM")
    monkeypatch.delenv("MIDO_BACKEND")
    if not os.path.exists("/dev/snd/seq"):  # no ALSA sequencer: auto takes JACK
        assert resolve_api("auto")[0] == rtmidi.API_UNIX_JACK


def test_config_comes_from_the_daemon_config_a_mapping_or_flags():
    daemon = SimpleNamespace(midi_backend="jack", surfaces=["mackie-control=X-Touch"],
                             virtual_midi=True)
    config = SurfaceConfig.from_any(daemon)
    assert config.backend == "jack" and config.explicit == {"mackie-control": "X-Touch"}
    assert config.virtual_ports == (VirtualPort(),)
    config = SurfaceConfig.from_any({"backend": "alsa", "explicit": ["generic=My Box"],
                                     "virtual_ports": [{"name": "sw", "profile": "generic"}]})
    assert config.explicit == {"generic": "My Box"}
    assert config.virtual_ports == (VirtualPort("sw", "generic"),)
    with pytest.raises(MappingError, match="unknown key 'bakend'"):
        SurfaceConfig.from_any({"bakend": "jack"})
    with pytest.raises(MappingError, match="PROFILE=PORT"):
        parse_explicit(["mackie-control"])
    assert SurfaceConfig().profile_dirs()[0] == (SHIPPED_DIR, "shipped")
    assert isinstance(SurfaceConfig().profile_dirs()[1][0], Path)

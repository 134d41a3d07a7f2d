"""Settings typed by a person: ``ID=VALUE`` and TOML presets."""

import pytest

from console.offline.presets import load_preset, parse_assignment
from dsp.errors import ParameterError


def test_assignment_parses_numbers_and_words():
    assert parse_assignment("limiter.ceiling_dbtp=-0.3") == ("limiter.ceiling_dbtp", -0.3)
    assert parse_assignment("eq.band1.type=high_pass") == ("eq.band1.type", 3.0)
    with pytest.raises(ParameterError, match="expected ID=VALUE"):
        parse_assignment("limiter.ceiling_dbtp")


def test_preset_reads_dotted_keys_and_stage_tables(tmp_path):
    path = tmp_path / "pop.toml"
    path.write_text('input.trim_db = -2.0\n[comp]\nbypass = "off"\nratio = 1.5\n'
                    '[eq.band1]\ntype = "high_pass"\nfreq_hz = 30\n')
    assert load_preset(path) == {
        "input.trim_db": -2.0, "comp.bypass": 0.0, "comp.ratio": 1.5,
        "eq.band1.type": 3.0, "eq.band1.freq_hz": 30.0,
    }


@pytest.mark.parametrize(("text", "message"), [
    ("limiter.ceiling = -1\n", r"bad.toml: unknown parameter id 'limiter.ceiling'"),
    ("limiter.ceiling_dbtp = 2\n", r"bad.toml: limiter.ceiling_dbtp: 2 is out of range"),
    ("limiter.ceiling_dbtp = [1]\n", r"expected a number or a word"),
    ("limiter.ceiling_dbtp = = 2\n", r"bad.toml: .*line 1"),
])
def test_a_bad_preset_names_the_file_and_the_problem(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(ParameterError, match=message):
        load_preset(path)


def test_a_missing_or_binary_preset_is_a_clear_error(tmp_path):
    with pytest.raises(ParameterError, match="cannot read"):
        load_preset(tmp_path / "nope.toml")
    binary = tmp_path / "x.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(ParameterError, match="not a text file"):
        load_preset(binary)

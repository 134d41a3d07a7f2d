"""The parameter table: the ids engineers see, checks, tapers, and ``masterdeck params``."""

import json
import math
import subprocess
import sys

import pytest

from dsp import params as P
from dsp.errors import ParameterError

REQUIRED = {
    "input.trim_db", "limiter.drive_db", "limiter.ceiling_dbtp", "limiter.release_ms",
    "limiter.lookahead_ms", "output.gain_db", "eq.bypass", "comp.bypass", "exciter.bypass",
    "stereo.bypass", "limiter.bypass",
}


def test_required_ids_exist_with_units():
    ids = {p.id for p in P.PARAMS}
    assert REQUIRED <= ids
    assert P.get("limiter.ceiling_dbtp").unit == "dBTP"
    assert P.get("limiter.release_ms").unit == "ms"
    for stage in ("eq", "comp", "exciter", "stereo", "limiter"):
        bypass = P.get(f"{stage}.bypass")
        assert bypass.kind == "switch" and (bypass.min, bypass.max) == (0.0, 1.0)


def test_ids_are_unique_and_prefixed_by_their_stage():
    ids = [p.id for p in P.PARAMS]
    assert len(ids) == len(set(ids))
    for p in P.PARAMS:
        assert p.id.split(".")[0] == p.stage
        assert p.stage in P.STAGES


def test_every_default_lies_in_range_and_passes_check():
    for p in P.PARAMS:
        assert p.min <= p.default <= p.max, p.id
        assert p.check(p.default) == p.default
        if p.kind == "choice":
            assert len(p.choices) == int(p.max) + 1, p.id


def test_eq_has_five_parametric_bands_of_every_type():
    for b in range(1, 6):
        for field in ("on", "type", "freq_hz", "gain_db", "q", "mode"):
            P.get(f"eq.band{b}.{field}")
    assert P.get("eq.band3.type").choices == (
        "bell", "low_shelf", "high_shelf", "high_pass", "low_pass")
    assert P.get("eq.band3.mode").choices == ("stereo", "mid", "side")


def test_check_names_the_id_and_the_range():
    with pytest.raises(ParameterError, match=r"limiter.ceiling_dbtp: 3 is out of range -12..0"):
        P.get("limiter.ceiling_dbtp").check(3.0)
    with pytest.raises(ParameterError, match="finite"):
        P.get("input.trim_db").check(math.nan)
    with pytest.raises(ParameterError, match=r"unknown parameter id 'eq\.band9\.q'"):
        P.get("eq.band9.q")


def test_parse_reads_words_for_switches_and_choices():
    assert P.get("eq.bypass").parse("on") == 1.0
    assert P.get("eq.band1.type").parse("high_pass") == 3.0
    assert P.get("eq.band1.freq_hz").parse(" 100 ") == 100.0
    with pytest.raises(ParameterError, match="allowed: bell, low_shelf"):
        P.get("eq.band1.type").parse("shelf")


@pytest.mark.parametrize("param_id", ["eq.band2.freq_hz", "comp.ratio", "input.trim_db"])
def test_taper_round_trips_a_knob_travel(param_id):
    p = P.get(param_id)
    for normal in (0.0, 0.25, 0.5, 0.75, 1.0):
        value = p.from_normal(normal)
        assert p.min <= value <= p.max
        assert abs(p.to_normal(value) - normal) < 0.01


def test_log_taper_puts_one_kilohertz_near_the_middle_of_a_frequency_knob():
    assert abs(P.get("eq.band2.freq_hz").from_normal(0.5) - 632.5) < 1.0


def test_params_json_lists_every_row_with_the_required_keys():
    out = subprocess.run([sys.executable, "-m", "console", "params", "--json"],
                         capture_output=True, text=True, check=True).stdout
    rows = json.loads(out)
    assert [r["id"] for r in rows] == [p.id for p in P.PARAMS]
    for row in rows:
        assert {"id", "unit", "min", "max", "default", "kind"} <= row.keys()
    ceiling = next(r for r in rows if r["id"] == "limiter.ceiling_dbtp")
    assert (ceiling["min"], ceiling["max"], ceiling["default"]) == (-12.0, 0.0, -1.0)

"""Reading chain settings typed by a person: ``--set ID=VALUE`` and preset files.

A preset is a TOML file of parameter ids and values. Dotted keys read
naturally, and tables group a stage::

    # gentle glue for a pop master
    input.trim_db = -2.0
    [comp]
    bypass = "off"
    threshold_db = -20.0
    ratio = 1.5
    [limiter]
    ceiling_dbtp = -1.0

Values are numbers, or words for switches and choices (``"on"``,
``"high_shelf"``). Every id and value is checked against the parameter table;
an error names the file, the id and what is allowed.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from dsp import params as P
from dsp.errors import ParameterError


def parse_assignment(text: str) -> tuple[str, float]:
    """Parse ``ID=VALUE`` into a checked (id, value) pair."""
    param_id, sep, value = text.partition("=")
    if not sep or not param_id.strip():
        raise ParameterError(f"expected ID=VALUE, got {text!r}")
    param = P.get(param_id.strip())
    return param.id, param.parse(value)


def load_preset(path: str | Path) -> dict[str, float]:
    """Read a preset file into checked {id: value} settings."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ParameterError(f"preset {path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError:
        raise ParameterError(f"preset {path}: not a text file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ParameterError(f"preset {path}: {exc}") from exc
    settings: dict[str, float] = {}
    for param_id, raw in _flatten(data):
        try:
            param = P.get(param_id)
            if isinstance(raw, str):
                value = param.parse(raw)
            elif isinstance(raw, bool | int | float):
                value = param.check(raw)
            else:
                raise ParameterError(f"{param_id}: expected a number or a word, got {raw!r}")
        except ParameterError as exc:
            raise ParameterError(f"preset {path}: {exc}") from None
        settings[param.id] = value
    return settings


def _flatten(table: dict, prefix: str = "") -> list[tuple[str, object]]:
    items: list[tuple[str, object]] = []
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            items.extend(_flatten(value, name + "."))
        else:
            items.append((name, value))
    return items

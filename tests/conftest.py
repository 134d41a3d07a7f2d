"""Shared fixtures: a dummy JACK server for audio and MIDI tests."""

import pytest

from tests.jackserver import jack_server

pytest_plugins = ["pytester", "tests.retakes"]


@pytest.fixture(scope="module")
def jack():
    """A running JACK dummy server (48 kHz, 256 frames) for this test module."""
    with jack_server() as server:
        yield server

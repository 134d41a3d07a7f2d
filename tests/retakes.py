"""Retakes for MIDI tests whose JACK server reported an xrun while they ran.

A JACK client that misses its period loses the MIDI of that period: a
real-time server on a loaded machine (CI) drops a fader move, and the test
fails for the machine's sake. As the audio recorder retakes a take with an
xrun, a test marked ``retake_on_xrun`` that failed while its server (the
``jack`` fixture) reported xruns runs again, up to ``TAKES`` times in all. A
failure with no xrun is final at once, and every retake is listed at the end
of the run, so a retake never passes unseen.
"""

from __future__ import annotations

import pytest
from _pytest.runner import runtestprotocol

TAKES = 3
XRUNS = pytest.StashKey[int]()
RETAKEN = pytest.StashKey[list[tuple[str, int]]]()  # (test, xruns in the failed take)


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RETAKEN] = []
    config.addinivalue_line(
        "markers", "retake_on_xrun: run again if it failed while the JACK server had xruns")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    server = _server(item)
    before = server.xruns() if server is not None else 0
    try:
        return (yield)
    finally:
        item.stash[XRUNS] = (server.xruns() - before) if server is not None else 0


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    if item.get_closest_marker("retake_on_xrun") is None:
        return None
    item.ihook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    for take in range(1, TAKES + 1):
        item.stash[XRUNS] = 0
        reports = runtestprotocol(item, nextitem=nextitem, log=False)
        failed = any(r.failed for r in reports if r.when == "call")
        xruns = item.stash[XRUNS]
        if not failed or not xruns or take == TAKES:
            break
        item.config.stash[RETAKEN].append((item.nodeid, xruns))
    for report in reports:
        item.ihook.pytest_runtest_logreport(report=report)
    item.ihook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    retaken = terminalreporter.config.stash[RETAKEN]
    if retaken:
        terminalreporter.section("retaken after JACK xruns")
        for nodeid, xruns in retaken:
            terminalreporter.line(f"{nodeid}: failed with {xruns} xrun(s) reported, taken again")


def _server(item: pytest.Item):
    funcargs = getattr(item, "funcargs", None) or {}
    server = funcargs.get("jack")
    return server if hasattr(server, "xruns") else None

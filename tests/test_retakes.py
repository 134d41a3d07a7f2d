"""The xrun retake: only a marked test that failed while its server had xruns runs again."""

from __future__ import annotations

import pytest

# A stand-in server whose xruns the inner test raises itself: what is under test
# here is the retake rule, not JACK (test_jackserver shows the real count).
INNER = """
import pytest

class Server:
    xrun_count = 0
    def xruns(self):
        return self.xrun_count

SERVER = Server()
TAKES = {}

@pytest.fixture
def jack():
    return SERVER

def take(name):
    TAKES[name] = TAKES.get(name, 0) + 1
    return TAKES[name]

@pytest.mark.retake_on_xrun
def test_dropped_once(jack):
    if take("dropped_once") == 1:
        jack.xrun_count += 2
        assert False, "a fader move lost"

@pytest.mark.retake_on_xrun
def test_fails_without_xruns(jack):
    take("without")
    assert False, "our own fault"

@pytest.mark.retake_on_xrun
def test_always_dropped(jack):
    take("always")
    jack.xrun_count += 1
    assert False

def test_unmarked(jack):
    take("unmarked")
    jack.xrun_count += 1
    assert False

def test_takes_counted():
    assert TAKES == {"dropped_once": 2, "without": 1, "always": 3, "unmarked": 1}
"""


def test_a_marked_test_is_retaken_only_after_xruns(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest("-p", "tests.retakes", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines([
        "*retaken after JACK xruns*",
        "*test_dropped_once: failed with 2 xrun(s) reported, taken again",
        "*test_always_dropped: failed with 1 xrun(s) reported, taken again",
        "*test_always_dropped: failed with 1 xrun(s) reported, taken again",
    ])
    assert "test_fails_without_xruns: failed with" not in result.stdout.str()

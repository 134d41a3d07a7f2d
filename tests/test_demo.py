"""``masterdeck demo``: the album and session it builds, and the whole console run as processes.

The demo runs as a user runs it: ``masterdeck demo`` in a process (in a real
terminal, tmux, for the UI), its daemon, UI and dummy JACK server each in
processes of their own. Every process the demo starts inherits a marker in
its environment, so "nothing is left running" is checked by looking for the
marker in every live process, not by trusting the demo's word.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
import uuid
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from console.automation.lanes import value_at
from console.control.client import Client
from console.devtools import demo_session
from console.devtools.demo_album import SONGS, ensure_album, make_album
from console.session.errors import SessionError
from console.session.store import SessionStore
from dsp.meter import measure

ROOT = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 480.0
"""A cold start compiles every kernel first (minutes on a busy 2-core machine)."""
SIZE = (150, 46)


@pytest.fixture(scope="module")
def mixes(tmp_path_factory):
    """The demo songs, written once for the module (a build finds and keeps them)."""
    folder = tmp_path_factory.mktemp("demo-mixes")
    ensure_album(folder)
    return folder


def _seed(root: Path, mixes: Path) -> Path:
    """A demo folder holding the module's songs already, as after an earlier run."""
    shutil.copytree(mixes, root / demo_session.MIXES_DIR, copy_function=shutil.copy)
    return root


# the album and the session ---------------------------------------------------------------------
def test_the_demo_album_is_an_album_of_different_songs_and_a_loud_reference(tmp_path, mixes):
    paths = make_album(tmp_path)
    assert [p.name for p in paths] == [s.filename for s in SONGS]
    loudness = {}
    for path, song in zip(paths, SONGS, strict=True):
        x, rate = sf.read(path)
        assert rate == 48000 and x.shape[1] == 2 and x.shape[0] > 10 * rate
        assert np.abs(x).max() < 1.0
        loudness[song.id] = measure(x, rate).integrated_lufs
    assert loudness["client-ref"] > loudness["engine-room"] > loudness["undertow"] \
        > loudness["slow-light"]  # different character and loudness
    assert loudness["client-ref"] - loudness["slow-light"] > 10.0
    for path in paths:  # the same on every machine: as written in another folder
        assert path.read_bytes() == (mixes / path.name).read_bytes()


def test_the_album_is_written_once_and_again_only_when_missing(tmp_path):
    first = ensure_album(tmp_path)
    stamps = [p.stat().st_mtime_ns for p in first]
    assert ensure_album(tmp_path) == first
    assert [p.stat().st_mtime_ns for p in first] == stamps  # not rewritten
    first[2].unlink()
    assert ensure_album(tmp_path)[2].is_file()


def test_the_demo_session_is_an_album_with_a_plan_notes_automation_and_a_reference(tmp_path,
                                                                                    mixes):
    demo = demo_session.build(_seed(tmp_path, mixes))
    session = SessionStore(demo.folder, lock=False).load().session
    assert session.title == demo_session.TITLE
    songs = session.songs
    assert [s.id for s in songs] == ["rising-tide", "engine-room", "slow-light", "undertow"]
    assert [s.title for s in songs] == [s.title for s in SONGS[:4]]
    for song in songs:
        assert (demo.folder / song.file).resolve().is_file(), song.file
        assert song.settings.get("comp.bypass") == 0.0  # the gentle master is on every song
    offsets = {s.id: s.level_offset_db for s in songs}
    assert offsets["slow-light"] <= offsets["undertow"] - 1.0  # the ballad sits lower
    assert max(offsets.values()) == 0.0 and min(offsets.values()) >= -3.0
    assert songs[0].gap_s == 0.0 and all(s.gap_s >= 1.0 for s in songs[1:])
    assert songs[-1].fade_out_s > 0.0  # the album ends in a fade
    notes = [m.note for s in songs for m in s.markers]
    assert all(s.markers for s in songs) and all(notes)
    assert any("chorus lifts here" in n for n in notes)
    assert any(n.startswith("client: vocal a touch loud") for n in notes)
    assert session.current == "rising-tide" and session.automation_mode == "read"

    lanes = songs[0].automation.lanes
    rate = session.sample_rate
    gain = lanes["output.gain_db"]
    start, end = (value_at(gain.param, gain.points, t * rate) for t in (0.0, 30.0))
    assert end - start >= 10.0  # grows from soft to loud
    samples = [value_at(gain.param, gain.points, t * rate) for t in np.arange(0, 30, 0.5)]
    assert all(b >= a for a, b in pairwise(samples))  # never falls
    drive = lanes["limiter.drive_db"]
    assert drive.points[-1][1] > drive.points[0][1]

    assert [r.id for r in session.references] == ["client-ref"]
    assert session.reference == "client-ref"
    assert (demo.folder / session.references[0].file).resolve().is_file()


def test_the_demo_session_is_built_the_same_every_time_and_never_over_a_real_one(tmp_path,
                                                                                   mixes):
    demo = demo_session.build(_seed(tmp_path, mixes))
    files = sorted(p for p in demo.folder.rglob("*") if p.is_file())
    first = {p: p.read_bytes() for p in files}
    (demo.folder / "journal").mkdir(exist_ok=True)  # what a demo run leaves behind
    (demo.folder / "journal" / "000002.jsonl").write_text("{}\n")
    demo_session.build(tmp_path)
    assert sorted(p for p in demo.folder.rglob("*") if p.is_file()) == files
    assert {p: p.read_bytes() for p in files} == first

    mine = _seed(tmp_path / "mine", mixes)
    (mine / demo_session.SESSION_DIR).mkdir(parents=True)
    toml = mine / demo_session.SESSION_DIR / "session.toml"
    toml.write_text('format = 1\ntitle = "My album"\n')
    with pytest.raises(SessionError, match="other than the demo session"):
        demo_session.build(mine)
    assert toml.read_text() == 'format = 1\ntitle = "My album"\n'


# the demo as processes ------------------------------------------------------------------------
def _environment(tmp_path: Path, marker: str, mixes: Path) -> dict[str, str]:
    """XDG folders of the test's own (the demo's songs already there) and the marker."""
    run = tmp_path / "run"
    run.mkdir(mode=0o700, exist_ok=True)
    _seed(tmp_path / "data" / "masterdeck" / "demo", mixes)
    return {"XDG_DATA_HOME": str(tmp_path / "data"), "XDG_CONFIG_HOME": str(tmp_path / "config"),
            "XDG_RUNTIME_DIR": str(run), "PYTHONUNBUFFERED": "1", "MASTERDECK_TEST_RUN": marker}


def _processes_with(marker: str) -> list[str]:
    """Live processes (zombies excluded) whose environment carries ``marker``."""
    needle = f"MASTERDECK_TEST_RUN={marker}".encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as f:
                environ = f.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if needle in environ and state != "Z":
            found.append(f"{pid}: {command}")
    return found


def _nothing_left(marker: str, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := _processes_with(marker)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_the_headless_demo_plays_the_album_and_sigterm_stops_everything(tmp_path, mixes):
    marker = uuid.uuid4().hex
    process = subprocess.Popen(
        [sys.executable, "-m", "console", "demo", "--headless", "--jack", "always"],
        env={**os.environ, **_environment(tmp_path, marker, mixes)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        seen = ""
        deadline = time.monotonic() + START_TIMEOUT_S
        while "ready in" not in seen:
            assert time.monotonic() < deadline, seen[-2000:]
            line = process.stderr.readline()
            assert line, f"the demo ended early: {seen[-2000:]}"
            seen += line
        assert "dummy JACK server" in seen
        socket_path = re.search(r"control socket (\S+)", seen).group(1)
        private = Path(socket_path).parent  # a folder of its own: nobody else's daemon
        assert private.name.startswith("masterdeck-demo-") and private.stat().st_mode & 0o077 == 0
        jackd = [p for p in _processes_with(marker) if "jackd" in p]
        daemon = [p for p in _processes_with(marker) if " serve " in p]
        assert len(jackd) == 1 and len(daemon) == 1, _processes_with(marker)
        assert f"--session {tmp_path / 'data'}" in daemon[0]

        # the soft start heard, skip to the loud end (20 s of the opener's 30 would pass idle)
        frames = _listen(socket_path, "Engine Room", 120.0, skip=("Rising Tide", 3.2, 23.0))
        opener = [(t, m) for title, t, m in frames if title.startswith("Rising Tide") and m]
        soft = [m for t, m in opener if 1.0 <= t <= 3.0]
        loud = [m for t, m in opener if 24.5 <= t <= 29.0]
        assert soft and loud, frames[:5]
        assert np.median(loud) - np.median(soft) >= 8.0  # the automation makes it grow
        after = [title for title, _, _ in frames if not title.startswith("Rising Tide")]
        assert after and after[-1].startswith("Engine Room")  # the album moved on

        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=90)
        assert process.returncode == 0, err[-2000:]
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert "stopped;" in err and "shutting down" in err
    assert not private.exists()
    last = out.strip().splitlines()[-1]
    assert "LUFS" in last and "[master]" in last
    assert re.search(r" S *-\d+\.\d I *-\d+\.\d LUFS", last)  # loudness was measured
    assert not _nothing_left(marker), "left running"


def _listen(socket_path: str, until: str, timeout: float,
            skip: tuple[str, float, float] | None = None
            ) -> list[tuple[str, float, float | None]]:
    """(song title, position, momentary loudness) five times a second, until a song whose
    title starts with ``until`` has played for a second (or ``timeout``).

    ``skip`` (title, from_s, to_s): once, when that song has played past ``from_s``,
    locate to ``to_s``, as an engineer jumps ahead.
    """
    frames = []
    with Client(socket_path, timeout=10.0, name="test-demo") as client:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            status = client.request("status")
            frames.append(((status.get("song") or {}).get("title", ""),
                           status["transport"]["position_s"],
                           (status.get("meters") or {}).get("momentary_lufs")))
            if frames[-1][0].startswith(until) and frames[-1][1] > 1.0:
                break
            if skip and frames[-1][0].startswith(skip[0]) and frames[-1][1] > skip[1]:
                client.request("locate", seconds=skip[2])
                skip = None
            time.sleep(0.2)
    return frames


# the console UI in a real terminal ----------------------------------------------------------------
class Tmux:
    """A private tmux server running one command in a ``SIZE`` terminal, kept after it exits."""

    def __init__(self, command: str) -> None:
        self.name = f"mdtest-{uuid.uuid4().hex[:8]}"
        self.tmux("-f", "/dev/null", "new-session", "-d", "-x", str(SIZE[0]), "-y", str(SIZE[1]),
                  "-s", "demo", "sh")
        self.tmux("resize-window", "-t", "demo", "-x", str(SIZE[0]), "-y", str(SIZE[1]))
        self.tmux("set-option", "-t", "demo", "remain-on-exit", "on")
        for stale in ("COLUMNS", "LINES"):  # tmux may put 80x24 here; the UI would believe it
            self.tmux("set-environment", "-g", "-u", stale)
        self.tmux("respawn-pane", "-k", "-t", "demo", f"{command}; echo EXIT-STATUS=$?")

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.name, *args], capture_output=True, text=True,
                              check=True, timeout=30).stdout

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "demo")

    def history(self) -> str:
        return self.tmux("capture-pane", "-p", "-S", "-", "-t", "demo")

    def keys(self, *keys: str) -> None:
        self.tmux("send-keys", "-t", "demo", *keys)

    def wait_for(self, *texts: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen()
            if all(t in screen for t in texts):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"never showed {texts}:\n{screen}")
            time.sleep(0.2)

    def exit_status(self, timeout: float) -> int:
        """The command's exit status, once it has ended."""
        deadline = time.monotonic() + timeout
        while self.tmux("display-message", "-p", "-t", "demo", "#{pane_dead}").strip() != "1":
            assert time.monotonic() < deadline, self.screen()
            time.sleep(0.2)
        return int(re.findall(r"EXIT-STATUS=(\d+)", self.history())[-1])

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.name, "kill-server"], capture_output=True, timeout=30)


@pytest.fixture
def terminal_demo(tmp_path, mixes):
    """``masterdeck demo`` (the UI) in a tmux terminal; yields (tmux, marker)."""
    if shutil.which("tmux") is None:
        pytest.skip("tmux is not installed (apt-get install tmux)")
    marker = uuid.uuid4().hex
    env = {**_environment(tmp_path, marker, mixes), "TERM": "xterm-256color"}
    command = " ".join(["env", *(f"{k}={v}" for k, v in env.items()), sys.executable, "-m",
                        "console", "demo", "--jack", "always"])
    tmux = Tmux(f"cd {ROOT} && {command}")
    try:
        yield tmux, marker
    finally:
        tmux.close()  # the terminal goes away: SIGHUP
        for line in _nothing_left(marker, 60):  # a failed test must not leave them either
            os.kill(int(line.split(":")[0]), signal.SIGKILL)


def test_the_demo_opens_the_whole_console_and_q_ends_everything(terminal_demo):
    tmux, marker = terminal_demo
    screen = tmux.wait_for("MOMENTARY", "Rising Tide", "PLAYING", timeout=START_TIMEOUT_S)
    assert "NO DAEMON" not in screen
    meters = tmux.wait_for("SHORT-TERM", "Compressor")  # the meters and the chain
    assert re.search(r"\n M +█+.*-\d+\.\d LUFS", meters), meters  # measuring the song
    # demo, JACK, daemon, UI; the daemon's album-arc worker comes and goes beside them
    lasting = [p for p in _processes_with(marker) if "console.session.arc" not in p]
    kinds = {p.split(": ", 1)[1].split()[0].rsplit("/", 1)[-1] for p in lasting}
    assert "jackd" in kinds and len(lasting) == 4, lasting

    tmux.keys("F3")
    album = tmux.wait_for("Night Shift", "Client Reference", "chorus lifts here")
    for title in ("Rising Tide", "Engine Room", "Slow Light", "Undertow"):
        assert title in album
    assert "client: wants it this loud by here" in album

    tmux.keys("F4")
    lanes = tmux.wait_for("Lanes", "Output gain", "Drive", "read (global)")
    assert "no lanes" not in lanes and "No session" not in lanes

    tmux.keys("F5")
    surfaces = tmux.wait_for("Connected surfaces", "virtual:masterd", "generic  (shipped)")
    assert "no surface connected" not in surfaces

    tmux.keys("F1")
    tmux.wait_for("masterdeck keys", "play / stop", "next song of the album")
    tmux.keys("Escape")  # any key closes the help
    tmux.keys("F2")
    tmux.wait_for("MOMENTARY")

    tmux.keys("q")
    assert tmux.exit_status(90) == 0, tmux.history()[-3000:]
    history = tmux.history()
    assert "masterdeck demo: stopped;" in history and "INFO masterdeck: stopped" in history
    assert not _nothing_left(marker), "left running"


def test_ctrl_c_in_the_console_ends_everything_too(terminal_demo):
    tmux, marker = terminal_demo
    tmux.wait_for("MOMENTARY", "Rising Tide", timeout=START_TIMEOUT_S)
    tmux.keys("C-c")
    assert tmux.exit_status(90) == 0, tmux.history()[-3000:]
    assert "masterdeck demo: stopped;" in tmux.history()
    assert not _nothing_left(marker), "left running"


def test_sigterm_to_the_demo_closes_the_console_and_puts_the_terminal_back(terminal_demo):
    tmux, marker = terminal_demo
    tmux.wait_for("MOMENTARY", "Rising Tide", timeout=START_TIMEOUT_S)
    demo = [p for p in _processes_with(marker) if " demo " in p]
    assert len(demo) == 1, _processes_with(marker)
    os.kill(int(demo[0].split(":")[0]), signal.SIGTERM)
    assert tmux.exit_status(90) == 0, tmux.history()[-3000:]
    history = tmux.history()
    assert "masterdeck demo: stopped;" in history
    assert "the console UI was ended by signal" not in history  # it quit by itself
    assert "masterdeck demo: building the demo album" in history  # the main screen is back
    assert not _nothing_left(marker), "left running"


def test_closing_the_terminal_ends_everything(terminal_demo, tmp_path):
    tmux, marker = terminal_demo
    tmux.wait_for("MOMENTARY", "Rising Tide", timeout=START_TIMEOUT_S)
    socket_folders = [p for p in _processes_with(marker) if " serve " in p]
    private = Path(re.search(r"--socket (\S+)", socket_folders[0]).group(1)).parent
    assert private.is_dir()
    tmux.close()  # the window closes: the demo and its UI get SIGHUP
    assert not _nothing_left(marker, 60), "left running"
    assert not private.exists()
    log = (tmp_path / "data" / "masterdeck" / "demo" / "daemon.log").read_text()
    assert "INFO masterdeck: stopped" in log  # faded out and saved, not killed

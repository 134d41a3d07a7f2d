"""Whom the control link trusts: tokens kept where only their owner reads, sockets only ours.

Real daemons on the module's JACK server, real TCP and Unix sockets, real
files and modes; the "stranger's folder" is made by root and given to
``nobody``, as another local user would have made it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading

import pytest

from console.control.client import Client
from console.control.trust import read_token_file
from console.devtools.stopping import stop_child
from tests.test_session_daemon import Daemon


def _cli(daemon, *args, env=None):
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, env={**daemon.env, **(env or {})}, timeout=60)


def _serve(daemon, *args):
    """Start ``serve`` with ``args``; return (exit code or None if it runs, its log so far)."""
    process = subprocess.Popen([sys.executable, "-m", "console", "serve", "--session",
                                str(daemon.folder), *args], env=daemon.env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        code = process.wait(20)
    except subprocess.TimeoutExpired:
        stop_child(process, 30.0)
        code = None
    with process.stderr:
        return code, process.stderr.read()


@pytest.fixture
def daemon(jack, tmp_path):
    d = Daemon(jack, tmp_path)
    yield d
    if d.process is not None and d.process.poll() is None:
        d.stop()
    d.close()


def test_a_short_token_is_refused_before_anything_listens(daemon):
    code, log = _serve(daemon, "--tcp", "127.0.0.1:0", "--token", "hunter2")
    assert code == 2 and "7 characters: a token needs 16" in log


def test_a_token_file_others_can_read_is_refused(daemon, tmp_path):
    token = tmp_path / "token"
    token.write_text("a-long-enough-secret-token-0123\n")
    token.chmod(0o644)
    code, log = _serve(daemon, "--tcp", "127.0.0.1:0", "--token-file", str(token))
    assert code == 2 and "can be read by other users" in log and "chmod 600" in log


def test_a_token_files_tilde_is_the_users_home(tmp_path, monkeypatch):
    (tmp_path / "secret").write_text("a-long-enough-secret-token-0123\n")
    (tmp_path / "secret").chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))  # a config file's "~/...": no shell expands it
    assert read_token_file("~/secret") == "a-long-enough-secret-token-0123"


def test_tcp_without_a_token_makes_one_in_a_private_file_that_clients_read(daemon):
    info = daemon.start("--tcp", "127.0.0.1:0")
    kept = daemon.folder.parent / "config" / "masterdeck" / "token"
    assert kept.is_file() and (kept.stat().st_mode & 0o777) == 0o600
    assert len(kept.read_text().strip()) >= 16
    with Client(socket_path=daemon.socket) as client:
        where = client.request("status")["server"]["tcp"]
    done = _cli(daemon, "status", "--connect", where)  # finds the kept token itself
    assert done.returncode == 0, done.stderr
    refused = _cli(daemon, "status", "--connect", where, "--token", "x" * 20)
    assert refused.returncode == 2 and "wrong or missing token" in refused.stderr
    daemon.stop()
    assert info is not None
    assert str(kept) in daemon.log()


def test_a_command_line_token_works_but_is_warned_about(daemon):
    daemon.start("--tcp", "127.0.0.1:0", "--token", "t" * 24)
    with Client(socket_path=daemon.socket) as client:
        assert client.request("status")["server"]["tcp"]
    daemon.stop()
    assert "visible to every local user" in daemon.log()


def test_the_daemon_takes_the_token_from_the_environment(daemon):
    daemon.env["MASTERDECK_TOKEN"] = "e" * 24
    daemon.start("--tcp", "127.0.0.1:0")
    with Client(socket_path=daemon.socket) as client:
        where = client.request("status")["server"]["tcp"]
    with Client(connect=where, token="e" * 24) as client:
        assert "transport" in client.request("status")
    daemon.stop()
    assert "needs the token kept" not in daemon.log()  # none was made


def test_a_client_refuses_a_socket_folder_a_stranger_made(tmp_path):
    if os.getuid() != 0:
        pytest.fail("this test makes another user's folder: run it as root (CI does)")
    run = tmp_path / "run"
    run.mkdir(mode=0o700)
    folder = run / "masterdeck"
    folder.mkdir(mode=0o755)
    heard = []
    trap = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    trap.bind(str(folder / "control.sock"))
    trap.listen(1)
    os.chown(folder, 65534, 65534)  # nobody's, as if another user had made it first
    os.chown(folder / "control.sock", 65534, 65534)

    def listen():
        trap.settimeout(5)
        try:
            conn, _ = trap.accept()
            heard.append(conn.recv(4096))
        except OSError:
            pass

    thread = threading.Thread(target=listen)
    thread.start()
    env = {**os.environ, "XDG_RUNTIME_DIR": str(run), "XDG_CONFIG_HOME": str(tmp_path / "c")}
    done = subprocess.run([sys.executable, "-m", "console", "status"], capture_output=True,
                          text=True, env=env, timeout=60)
    trap.close()
    thread.join()
    assert done.returncode == 2 and "is not yours alone" in done.stderr
    assert heard == []  # nothing was sent through it


def test_the_trust_check_passes_our_own_private_folder(tmp_path):
    from console.control.trust import TrustError, check_socket

    folder = tmp_path / "masterdeck"
    folder.mkdir(mode=0o700)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(folder / "control.sock"))
    os.chmod(folder / "control.sock", 0o600)
    check_socket(folder / "control.sock", default_place=True)  # ours alone: no error
    os.chmod(folder, 0o755)
    with pytest.raises(TrustError, match="not yours alone"):
        check_socket(folder / "control.sock", default_place=True)
    os.chmod(folder, 0o700)
    os.chmod(folder / "control.sock", 0o666)
    with pytest.raises(TrustError, match="not a socket of yours"):
        check_socket(folder / "control.sock", default_place=True)
    sock.close()

"""JACK's server registry: slots of servers that died are found, so their names can be reused."""

import os
import subprocess
import sys

from console.devtools.jackd import _ENTRY, _HEADER, _SLOTS, reclaimable_names


def _entry(pid: int, name: str) -> bytes:
    raw = pid.to_bytes(4, sys.byteorder, signed=True) + f"jack-{os.getuid()}:{name}:".encode()
    return raw.ljust(_ENTRY, b"\0")


def test_dead_servers_are_reclaimable_and_live_ones_are_not(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    registry = tmp_path / "jack-shm-registry"
    entries = [_entry(os.getpid(), "alive-one"), _entry(dead.pid, "killed-one"),
               _entry(0, ""), _entry(dead.pid, "killed-two")]
    registry.write_bytes(b"KCAJ".ljust(_HEADER, b"\0") + b"".join(entries).ljust(
        _ENTRY * _SLOTS, b"\0"))
    assert reclaimable_names(str(registry)) == ["killed-one", "killed-two"]
    assert reclaimable_names(str(tmp_path / "missing")) == []

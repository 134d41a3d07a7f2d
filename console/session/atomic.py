"""Writing files so that a crash leaves either the old version or the new one, never half.

The POSIX recipe: write a temporary file in the same folder, ``fsync`` it,
``rename`` it over the old name (atomic within one file system), then
``fsync`` the folder so the rename itself is on disk. A reader, or a process
killed at any instant, sees the complete old file or the complete new one.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_dir(folder: str | Path) -> None:
    """Make a folder's entries (a rename, a new file) durable."""
    fd = os.open(str(folder), os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomic(path: str | Path, data: bytes | str, sync_dir: bool = True) -> None:
    """Replace ``path`` with ``data`` atomically and durably."""
    path = Path(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(str(temp), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            temp.unlink()
        raise
    os.close(fd)
    os.replace(temp, path)
    if sync_dir:
        fsync_dir(path.parent)


def remove_temporaries(folder: str | Path) -> list[Path]:
    """Delete temporary files a crashed save left behind; return what was removed."""
    removed = []
    for temp in Path(folder).glob(".*.tmp-*"):
        with contextlib.suppress(OSError):
            temp.unlink()
            removed.append(temp)
    return removed

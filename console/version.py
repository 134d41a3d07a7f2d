"""The installed masterdeck's version, read when first asked for.

Reading package metadata costs a thin client about 20 ms at start-up, so it is
read only by what reports it (the server's ``hello``, session files).
"""

from __future__ import annotations

from functools import cache


@cache
def version() -> str:
    """The version pip installed, or ``"unknown"`` when running from a plain checkout."""
    from importlib import metadata

    try:
        return metadata.version("masterdeck")
    except metadata.PackageNotFoundError:
        return "unknown"

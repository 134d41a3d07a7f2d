"""Encode and decode through the ffmpeg program: the real encoders, run from sample 0.

A codec's overshoot depends on where its frames fall, so the check encodes the
whole file from its first sample, exactly as a distributor will (a live codec
meter that starts anywhere gives other over counts). ffmpeg runs as a
subprocess with one thread each, so the codec check can run one per core.

Decoding asks ffmpeg for the raw stream: ``-flags2 +skip_manual`` keeps the
priming that the LAME tag and the Ogg pre-skip would have cut, and
``-ignore_editlist`` does the same for MP4. Every codec then comes back the
same way, delay and all, and :mod:`console.delivery.align` finds the delay
from the audio itself. Output is 32-bit float, so nothing above full scale is
clipped before it is measured.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from dsp.errors import MasterdeckError

TIMEOUT_S = 600
"""Longest an encode or a decode may take (a 10-minute song takes a few seconds)."""


class CodecError(MasterdeckError, OSError):
    """ffmpeg is missing, or failed to encode or decode (its last words are in the message)."""


def _ffmpeg() -> str:
    found = shutil.which("ffmpeg")
    if found is None:
        raise CodecError("ffmpeg not found on PATH: install it (Debian: apt-get install ffmpeg)")
    return found


def _run(args: list[str], what: str) -> bytes:
    try:
        done = subprocess.run([_ffmpeg(), "-hide_banner", "-nostdin", "-v", "error", *args],
                              capture_output=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise CodecError(f"{what}: ffmpeg took more than {TIMEOUT_S} s") from exc
    if done.returncode != 0:
        tail = done.stderr.decode(errors="replace").strip()[-500:]
        raise CodecError(f"{what}: ffmpeg exited {done.returncode}: {tail}")
    return done.stdout


def encode(source: Path, target: Path, encoder: str, bitrate_kbps: int) -> None:
    """Encode the WAV ``source`` into ``target`` (container from its suffix) at CBR/ABR."""
    _run(["-i", str(source), "-map", "0:a", "-threads", "1", "-c:a", encoder,
          "-b:a", f"{bitrate_kbps}k", "-y", str(target)], f"encoding {target.name}")


def decode(path: Path, channels: int) -> np.ndarray:
    """Decode ``path`` to float64, shape (frames, channels), untrimmed, at its own rate.

    The codec's priming and padding stay in (see the module docstring).
    """
    demuxer = ["-ignore_editlist", "1"] if path.suffix in (".m4a", ".mp4") else []
    raw = _run(["-flags2", "+skip_manual", "-threads", "1", *demuxer, "-i", str(path),
                "-map", "0:a", "-f", "f32le", "-c:a", "pcm_f32le", "-ac", str(channels), "-"],
               f"decoding {path.name}")
    return np.frombuffer(raw, dtype="<f4").reshape(-1, channels).astype(np.float64)

"""The BWF ``bext`` chunk (EBU Tech 3285 v2), written by hand into an existing WAV.

No library we can install writes ``bext``: soundfile writes only RIFF INFO
strings, mutagen only ID3, and libsndfile's broadcast-info call is not exposed
by soundfile. So the chunk's bytes are packed here, from the published layout:
a 602-byte fixed part, then the CodingHistory text.

==========================  =====  =============================================
field                       bytes  content
==========================  =====  =============================================
Description                 256    ASCII, NUL-padded
Originator                  32     ASCII
OriginatorReference         32     ASCII
OriginationDate             10     ``yyyy-mm-dd``
OriginationTime             8      ``hh:mm:ss``
TimeReference               8      uint64, samples since midnight
Version                     2      uint16, 2 (the version with loudness)
UMID                        64     SMPTE 330M; zero here (we mint none)
LoudnessValue ...           5 x 2  int16 each, value x 100: integrated LUFS,
                                   LRA LU, max true peak dBTP, max momentary
                                   and max short-term LUFS; 0x7FFF = not known
Reserved                    180    zero
CodingHistory               n      ASCII lines ending CR LF (EBU R 98)
==========================  =====  =============================================

The chunk goes right before ``data``, which Tech 3285 allows (chunks may come in
any order) and which keeps the audio at the file's end; a ``bext`` already there
is replaced. Every other chunk (``fmt ``, ``LIST``, ``id3 ``...) is copied over
byte for byte, and the RIFF size is rewritten. Plain RIFF only: files over 4 GiB
need RF64, which this does not write.
"""

from __future__ import annotations

import math
import os
import struct
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from dsp.errors import AudioFileError, ParameterError

if TYPE_CHECKING:
    from dsp.meter import Reading

FIXED = struct.Struct("<256s32s32s10s8sQH64s5h180s")
"""The fixed part of the chunk: 602 bytes, little-endian like all of RIFF."""

VERSION = 2
UNKNOWN = 0x7FFF
"""The int16 stored for a loudness figure that is not known (silence)."""


@dataclass(frozen=True)
class Loudness:
    """The five EBU R128 figures ``bext`` v2 carries; None where not known (silence)."""

    integrated_lufs: float | None
    loudness_range_lu: float | None
    max_true_peak_dbtp: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None

    @classmethod
    def from_reading(cls, reading: Reading) -> Loudness:
        """Take the figures from a :class:`dsp.meter.Reading` of the whole master."""
        return cls(
            integrated_lufs=reading.integrated_lufs,
            loudness_range_lu=reading.loudness_range_lu,
            max_true_peak_dbtp=reading.true_peak_dbtp,
            max_momentary_lufs=reading.momentary_max_lufs,
            max_short_term_lufs=reading.short_term_max_lufs,
        )

    def values(self) -> tuple[float | None, ...]:
        """The figures in the chunk's order."""
        return (self.integrated_lufs, self.loudness_range_lu, self.max_true_peak_dbtp,
                self.max_momentary_lufs, self.max_short_term_lufs)


@dataclass(frozen=True)
class Bext:
    """What goes into one ``bext`` chunk."""

    description: str = ""
    originator: str = "masterdeck"
    originator_reference: str = ""
    origination_date: str = ""
    """``yyyy-mm-dd``."""
    origination_time: str = ""
    """``hh:mm:ss``."""
    time_reference: int = 0
    loudness: Loudness | None = None
    coding_history: str = ""
    """Lines like ``A=PCM,F=44100,W=24,M=stereo,T=masterdeck`` (CR LF added)."""


def _text(value: str, size: int, field: str) -> bytes:
    try:
        raw = value.encode("ascii")
    except UnicodeEncodeError as exc:
        raise ParameterError(f"bext {field} must be ASCII, got {value!r}") from exc
    if len(raw) > size:
        raise ParameterError(f"bext {field} holds at most {size} characters, got {len(raw)}")
    return raw


def _centi(value: float | None, field: str) -> int:
    if value is None:
        return UNKNOWN
    if not math.isfinite(value):
        raise ParameterError(f"bext {field} must be finite, got {value}")
    scaled = round(value * 100.0)
    if not -32768 <= scaled < UNKNOWN:
        raise ParameterError(f"bext {field} must be in -327.68..327.66, got {value}")
    return scaled


_LOUDNESS_FIELDS = ("LoudnessValue", "LoudnessRange", "MaxTruePeakLevel",
                    "MaxMomentaryLoudness", "MaxShortTermLoudness")


def pack(bext: Bext) -> bytes:
    """The chunk's body (fixed part and CodingHistory), without the chunk header.

    The body is kept an even length (a NUL after the history if needed), so no
    reader has to know about RIFF's pad byte.

    Raises
    ------
    ParameterError
        A text that is not ASCII or is too long for its field, a time reference
        out of uint64, or a loudness figure that does not fit int16 x 100.
    """
    if not 0 <= bext.time_reference < 1 << 64:
        raise ParameterError(f"bext TimeReference must fit uint64, got {bext.time_reference}")
    loudness = bext.loudness or Loudness(None, None, None, None, None)
    lines = [line for line in bext.coding_history.splitlines() if line]
    history = _text("".join(f"{line}\r\n" for line in lines), 1 << 20, "CodingHistory")
    body = FIXED.pack(
        _text(bext.description, 256, "Description"),
        _text(bext.originator, 32, "Originator"),
        _text(bext.originator_reference, 32, "OriginatorReference"),
        _text(bext.origination_date, 10, "OriginationDate"),
        _text(bext.origination_time, 8, "OriginationTime"),
        bext.time_reference,
        VERSION,
        bytes(64),
        *(_centi(v, f) for v, f in zip(loudness.values(), _LOUDNESS_FIELDS, strict=True)),
        bytes(180),
    ) + history
    return body + b"\0" * (len(body) % 2)


def _scan(f: BinaryIO, path: Path) -> list[tuple[bytes, int, int]]:
    """The RIFF/WAVE file's chunks as (id, offset of the body, size), in order."""
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise AudioFileError(f"{path}: not a RIFF/WAVE file (RF64 is not supported)")
    end = f.seek(0, os.SEEK_END)
    chunks, pos = [], 12
    while pos + 8 <= end:
        f.seek(pos)
        cid, size = struct.unpack("<4sI", f.read(8))
        if pos + 8 + size > end:
            raise AudioFileError(f"{path}: chunk {cid!r} runs past the end of the file")
        chunks.append((cid, pos + 8, size))
        pos += 8 + size + (size % 2)
    return chunks


def _copy(src: BinaryIO, offset: int, size: int, out: BinaryIO) -> None:
    src.seek(offset)
    left = size
    while left:
        piece = src.read(min(left, 1 << 20))
        out.write(piece)
        left -= len(piece)


def write(path: Path, bext: Bext) -> None:
    """Put ``bext`` into the WAV at ``path``, right before ``data``; replace any old one.

    The file is rewritten into a temporary file beside it, chunk by chunk (the
    audio is copied in pieces, never held whole), and moved into place, so a
    failure leaves the original untouched.

    Raises
    ------
    AudioFileError
        Not a RIFF/WAVE file, no ``data`` chunk, or the result would pass 4 GiB.
    ParameterError
        See :func:`pack`.
    """
    path = Path(path)
    body = pack(bext)
    with open(path, "rb") as src:
        chunks = [c for c in _scan(src, path) if c[0] != b"bext"]
        ids = [cid for cid, _, _ in chunks]
        if b"data" not in ids:
            raise AudioFileError(f"{path}: no data chunk")
        riff_size = 4 + 8 + len(body) + sum(8 + size + size % 2 for _, _, size in chunks)
        if riff_size >= 1 << 32:
            raise AudioFileError(f"{path}: over 4 GiB with bext; RF64 is not supported")
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(b"RIFF" + struct.pack("<I", riff_size) + b"WAVE")
                for cid, offset, size in chunks:
                    if cid == b"data":
                        out.write(b"bext" + struct.pack("<I", len(body)) + body)
                    out.write(cid + struct.pack("<I", size))
                    _copy(src, offset, size, out)
                    out.write(b"\0" * (size % 2))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

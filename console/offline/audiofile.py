"""Opening audio files for reading and writing, with errors a person can act on.

soundfile (libsndfile) reads WAV, AIFF, FLAC, OGG/Vorbis, Opus, MP3 and more;
its own errors are turned into :class:`AudioFileError` naming the path.
Writes go to a hidden temporary file beside the destination and are renamed
over it only when complete, so a failed or interrupted render never leaves a
half-written file at OUT (and never damages a file that was already there).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import soundfile as sf

from dsp.errors import AudioFileError

MIN_RATE, MAX_RATE = 44100, 192000
"""Sample rates the console accepts for mastering."""

BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}
"""Bit-depth names on the command line and the libsndfile subtype each means."""

_SUFFIX_FORMATS = {"aif": "AIFF", "aifc": "AIFF", "oga": "OGG"}


def open_source(path: str | Path) -> sf.SoundFile:
    """Open an audio file for reading, checking it is something we can master."""
    if not Path(path).exists():
        raise AudioFileError(f"{path}: no such file")
    if Path(path).is_dir():
        raise AudioFileError(f"{path}: is a folder, not an audio file")
    if not Path(path).is_file():  # a pipe or a device blocks a reader for ever
        raise AudioFileError(f"{path}: not a regular file (a pipe, a device or a socket); "
                             "masterdeck reads audio files")
    try:
        source = sf.SoundFile(str(path))
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        reason = getattr(exc, "error_string", None) or getattr(exc, "strerror", None) or exc
        raise AudioFileError(f"{path}: cannot read audio: {reason}") from None
    if not MIN_RATE <= source.samplerate <= MAX_RATE:
        source.close()
        raise AudioFileError(
            f"{path}: sample rate {source.samplerate} Hz is outside "
            f"{MIN_RATE}..{MAX_RATE} Hz"
        )
    if source.channels not in (1, 2):
        source.close()
        raise AudioFileError(f"{path}: {source.channels} channels; mono or stereo only")
    return source


def shortfall(path: str | Path, frames_read: int) -> str | None:
    """Why a WAV file holds less audio than its header says (truncated, or a header only).

    libsndfile reads what is there without a word; a master made from half a
    file would be delivered as if it were the song. None when nothing is missing
    (or the file is not a WAV).
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            size = os.fstat(f.fileno()).st_size
            frame_bytes = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                kind, length = chunk[:4], int.from_bytes(chunk[4:], "little")
                if kind == b"fmt ":
                    fmt = f.read(length)
                    frame_bytes = int.from_bytes(fmt[12:14], "little") or None
                    length = 0
                elif kind == b"data":
                    available = size - f.tell()
                    if frame_bytes is None or length <= available:
                        return None
                    declared = length // frame_bytes
                    what = "a header only" if not frames_read else "truncated"
                    return (f"{path}: the header says {declared} frames, the file holds "
                            f"{frames_read} ({what}); only what is there was read")
                f.seek(length + (length & 1), os.SEEK_CUR)
    except OSError:
        return None


def output_format(path: str | Path, bit_depth: str) -> tuple[str, str]:
    """Return (format, subtype) for writing ``path`` at ``bit_depth``, or raise."""
    suffix = Path(path).suffix.lower().lstrip(".")
    fmt = _SUFFIX_FORMATS.get(suffix, suffix.upper())
    if fmt not in sf.available_formats():
        raise AudioFileError(
            f"{path}: cannot tell the file format from the extension {('.' + suffix)!r}; "
            "use .wav, .flac, .aiff, .w64 or .caf"
        )
    if bit_depth not in BIT_DEPTHS:
        raise AudioFileError(f"bit depth {bit_depth!r}: use one of {', '.join(BIT_DEPTHS)}")
    subtype = BIT_DEPTHS[bit_depth]
    if not sf.check_format(fmt, subtype):
        raise AudioFileError(f"{path}: {fmt} files cannot hold {bit_depth}-bit samples")
    return fmt, subtype


@contextlib.contextmanager
def atomic_writer(
    path: str | Path, sample_rate: int, channels: int, bit_depth: str
) -> Iterator[sf.SoundFile]:
    """Yield a SoundFile that appears at ``path`` only if the block completes."""
    path = Path(path)
    fmt, subtype = output_format(path, bit_depth)
    if path.is_dir():
        raise AudioFileError(f"{path}: is a folder, not a file name")
    if not path.parent.is_dir():
        raise AudioFileError(f"{path}: folder {path.parent} does not exist")
    temp = path.with_name(f".{path.name}.partial-{os.getpid()}{path.suffix}")
    try:
        sink = sf.SoundFile(str(temp), "w", samplerate=sample_rate, channels=channels,
                            format=fmt, subtype=subtype)
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioFileError(f"{path}: cannot write: {exc}") from None
    try:
        with sink:
            yield sink
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise

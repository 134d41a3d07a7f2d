"""Read a DDP 2.00 audio image back: a check on the writer, written apart from it.

It follows the public description (``../shared/reference/delivery-and-platforms.md``
section 1) on its own and shares no layout code with :mod:`console.delivery.ddp`,
so one misreading of the layout cannot hide in both. It starts where a plant's
reader starts, at ``DDPMS``, finds each stream's file by the name it gives, and
accepts numbers padded with spaces or zeros. Any inconsistency is an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from console.delivery.model import SECTOR, CdAlbum, CdTrack
from dsp.errors import MasterdeckError


class DdpReadError(MasterdeckError, ValueError):
    """A DDP image that is not what its own maps and descriptors say."""


@dataclass(frozen=True)
class PqEntry:
    """One PQ descriptor packet: an index point and what the subcode says there."""

    track: str
    """``00`` lead-in, ``01``-``99``, ``AA`` lead-out."""
    index: int
    sectors: int
    """Absolute time from 00:00:00, in sectors."""
    control: str
    isrc: str
    upc: str


def read_ddp(folder: Path) -> tuple[CdAlbum, np.ndarray]:
    """The album the image describes and its program, int16 of shape (frames, 2)."""
    ddpid = _read(folder / "DDPID")
    if len(ddpid) != 128 or ddpid[:8] != b"DDP 2.00" or ddpid[87:89] != b"CD":
        raise DdpReadError("DDPID is not a 128-byte DDP 2.00 CD record")
    streams = _read_map(folder)
    pq = read_pq(folder / streams["PQ DESCR"][0])
    pcm = _read_image(folder, *streams["DA"])
    text = read_cdtext(folder / streams["CDTEXT"][0]) if "CDTEXT" in streams else {}
    upc = ddpid[8:21].decode("ascii").strip()
    album = _album(pq, upc, len(pcm), text)
    if streams["DA"][2] * SECTOR != album.tracks[0].start:
        raise DdpReadError("DDPMS PRE2 differs from track 1's INDEX 01")
    return album, pcm


def read_pq(path: Path) -> list[PqEntry]:
    """Every packet of a PQ descriptor file, in file order."""
    data = _read(path)
    if len(data) % 64:
        raise DdpReadError(f"{path.name}: {len(data)} bytes is not a whole number of packets")
    entries = []
    for offset in range(0, len(data), 64):
        p = data[offset:offset + 64].decode("ascii")
        if p[:4] != "VVVS":
            raise DdpReadError(f"{path.name}: packet at byte {offset} is not VVVS")
        minutes, seconds, frames = int(p[10:12]), int(p[12:14]), int(p[14:16])
        if seconds > 59 or frames > 74:
            raise DdpReadError(f"{path.name}: time {p[10:16]} is not MMSSFF")
        entries.append(PqEntry(p[4:6], int(p[6:8]), (minutes * 60 + seconds) * 75 + frames,
                               p[16:18], p[20:32].strip(), p[32:45].strip()))
    return entries


def read_cdtext(path: Path) -> dict[int, list[str]]:
    """Strings per pack type (disc first, then each track), every CRC checked."""
    data = _read(path)
    if len(data) % 18:
        raise DdpReadError(f"{path.name}: {len(data)} bytes is not a whole number of packs")
    runs: dict[int, bytearray] = {}
    for seq, offset in enumerate(range(0, len(data), 18)):
        pack = data[offset:offset + 18]
        if _crc_ccitt(pack[:16]) ^ 0xFFFF != int.from_bytes(pack[16:], "big"):
            raise DdpReadError(f"{path.name}: pack {seq} has a bad CRC")
        if pack[2] != seq:
            raise DdpReadError(f"{path.name}: pack {seq} carries sequence number {pack[2]}")
        if pack[0] != 0x8F:
            runs.setdefault(pack[0], bytearray()).extend(pack[4:16])
    return {kind: [s.decode("iso-8859-1") for s in bytes(run).rstrip(b"\0").split(b"\0")]
            for kind, run in runs.items()}


def _crc_ccitt(data: bytes) -> int:
    """CRC-16, polynomial 0x1021, start 0, most significant bit first, bit by bit."""
    value = 0
    for byte in data:
        value ^= byte << 8
        for _ in range(8):
            value = ((value << 1) ^ 0x1021 if value & 0x8000 else value << 1) & 0xFFFF
    return value


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise DdpReadError(f"cannot read {path}: {error.strerror}") from error


def _read_map(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Per stream (``DA``, ``PQ DESCR``, ``CDTEXT``): its file, its length and PRE2."""
    data = _read(folder / "DDPMS")
    if not data or len(data) % 128:
        raise DdpReadError("DDPMS is not a whole number of 128-byte packets")
    streams = {}
    for offset in range(0, len(data), 128):
        p = data[offset:offset + 128].decode("ascii")
        if p[:4] != "VVVM":
            raise DdpReadError(f"DDPMS packet at byte {offset} is not VVVM")
        kind = p[38:40] if p[4:6] == "D0" else p[30:38].strip()
        name, length, pre2 = p[74:91].strip(), _number(p[14:22]), _number(p[46:50])
        if kind != "DA":
            actual = len(_read(folder / name))
            if actual != length:
                raise DdpReadError(f"{name}: {actual} bytes, DDPMS says {length}")
        streams[kind] = (name, length, pre2)
    for needed in ("DA", "PQ DESCR"):
        if needed not in streams:
            raise DdpReadError(f"DDPMS names no {needed} stream")
    return streams


def _number(field: str) -> int:
    """A numeric field padded with spaces or zeros; blank is 0."""
    return int(field.strip() or 0)


def _read_image(folder: Path, name: str, sectors: int, _pre2: int) -> np.ndarray:
    raw = _read(folder / name)
    if len(raw) != sectors * 2352:
        raise DdpReadError(f"{name}: {len(raw)} bytes, DDPMS says {sectors} sectors")
    return np.frombuffer(raw, dtype="<i2").reshape(-1, 2).astype(np.int16)


def _album(pq: list[PqEntry], upc: str, frames: int, text: dict[int, list[str]]) -> CdAlbum:
    """Tracks from the PQ's index points, checked against the image and the DDPID."""
    if not pq or (pq[0].track, pq[0].index, pq[0].sectors) != ("00", 0, 0):
        raise DdpReadError("the PQ descriptor does not open with the lead-in at 000000")
    if pq[0].upc != upc:
        raise DdpReadError(f"UPC {upc!r} in DDPID but {pq[0].upc!r} in the PQ lead-in")
    lead_outs = [e for e in pq if e.track == "AA"]
    if [e.sectors * SECTOR for e in lead_outs] != [frames] * len(lead_outs) or not lead_outs:
        raise DdpReadError("the PQ lead-out is not at the end of the image")
    indexes: dict[int, dict[int, PqEntry]] = {}
    for entry in pq[1:]:
        if entry.track != "AA":
            indexes.setdefault(int(entry.track), {})[entry.index] = entry
    titles = text.get(0x80, [])
    performers = text.get(0x81, [])
    tracks = []
    for number, points in indexes.items():
        if 1 not in points:
            raise DdpReadError(f"track {number} has no INDEX 01 in the PQ descriptor")
        start = points[1].sectors * SECTOR
        pregap = start - points[0].sectors * SECTOR if 0 in points else 0
        tracks.append(CdTrack(number, _nth(titles, number), _nth(performers, number),
                              points[1].isrc, start, pregap))
    return CdAlbum(_nth(titles, 0), _nth(performers, 0), upc, tuple(tracks), frames)


def _nth(texts: list[str], n: int) -> str:
    return texts[n] if n < len(texts) else ""

"""DDP 2.00 image of an audio CD: the fileset a pressing plant cuts a glass master from.

Files: ``DDPID`` (what the image is), ``DDPMS`` (one 128-byte packet per
stream, naming its file), ``PQDESCR`` (the PQ subcode: one 64-byte packet per
index point), ``IMAGE.DAT`` (the program's audio from disc time 00:00:00),
``CDTEXT.BIN`` when there is text, and ``CHECKSUM.MD5`` over all of them.
Byte layouts follow the cue2ddp layout described in
``../shared/reference/delivery-and-platforms.md`` section 1; built from that
public description, not certified by anyone. "DDP" is a trademark of DCA.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from console.delivery import cdtext, redbook
from console.delivery.model import SECTOR, CdAlbum
from console.delivery.redbook import msf_text

DDPID = "DDPID"
DDPMS = "DDPMS"
PQ = "PQDESCR"
IMAGE = "IMAGE.DAT"
CDTEXT = "CDTEXT.BIN"
CHECKSUMS = "CHECKSUM.MD5"
_CHUNK_FRAMES = SECTOR * 1800
"""IMAGE.DAT is written 24 s at a time, so a long album is never copied whole."""


def write_ddp(album: CdAlbum, pcm: np.ndarray, folder: Path) -> list[Path]:
    """Write the album's DDP image into ``folder`` and return its files, checksums last.

    ``pcm`` is the whole program, int16 of shape (album.frames, 2), starting at
    disc time 00:00:00 (track 1's pregap first). The Red Book rules are
    checked before anything is written (:class:`redbook.RedBookError`). The
    folder is created if missing; files of the same names in it are replaced.
    """
    redbook.require(album)
    if not isinstance(pcm, np.ndarray) or pcm.dtype != np.int16 or pcm.ndim != 2:
        raise TypeError("pcm must be a numpy int16 array of shape (frames, 2)")
    if pcm.shape != (album.frames, 2):
        raise ValueError(f"pcm has shape {pcm.shape}; the album needs ({album.frames}, 2)")
    folder.mkdir(parents=True, exist_ok=True)
    text = cdtext.encode(album)
    pq = pq_descriptor(album)
    files = [(DDPID, ddpid(album)), (DDPMS, ddpms(album, len(pq), len(text)))]
    if text:
        files.append((CDTEXT, text))
    files.append((PQ, pq))
    written = []
    for name, data in files:
        (folder / name).write_bytes(data)
        written.append(folder / name)
    written.append(_write_image(pcm, folder / IMAGE))
    lines = "".join(f"{_md5(path)} *{path.name}\n" for path in written)
    (folder / CHECKSUMS).write_bytes(lines.encode("ascii"))
    return [*written, folder / CHECKSUMS]


def ddpid(album: CdAlbum) -> bytes:
    """The 128-byte DDPID: level ``DDP 2.00``, the UPC/EAN and disc type ``CD``."""
    record = bytearray(b" " * 128)
    _put(record, 0, 8, "DDP 2.00")
    _put(record, 8, 13, album.upc)
    _put(record, 87, 2, "CD")
    return bytes(record)


def ddpms(album: CdAlbum, pq_bytes: int, text_bytes: int) -> bytes:
    """The map: a packet per stream, in cue2ddp's order (CD-Text, PQ, audio)."""
    packets = []
    if text_bytes:
        packets.append(_map_packet("S0", text_bytes, sub="CDTEXT", track="00", name=CDTEXT))
    packets.append(_map_packet("S0", pq_bytes, sub="PQ DESCR", name=PQ))
    audio = _map_packet("D0", album.frames // SECTOR, name=IMAGE)
    audio[38:42] = b"DA71"  # CDM audio, SSM 7 = whole 2352-byte sectors, SCR 1 (cue2ddp)
    _put(audio, 46, 4, f"{album.tracks[0].start // SECTOR:>4d}")  # PRE2: track 1's pregap
    packets.append(audio)
    return b"".join(bytes(p) for p in packets)


def _map_packet(kind: str, length: int, name: str, sub: str = "", track: str = "") -> bytearray:
    packet = bytearray(b" " * 128)
    _put(packet, 0, 4, "VVVM")
    _put(packet, 4, 2, kind)
    _put(packet, 14, 8, f"{length:>8d}")  # DSL: sectors for D0, bytes for S0
    _put(packet, 30, 8, sub)
    _put(packet, 55, 2, track)
    _put(packet, 71, 3, " 17")  # SIZ: the DSI field's length
    _put(packet, 74, 17, name)
    return packet


def pq_descriptor(album: CdAlbum) -> bytes:
    """The PQ packets: lead-in (with the UPC), INDEX 00 and 01 of each track, lead-out twice.

    Times are absolute from 00:00:00; the ISRC goes on both index packets of
    its track, so a plant that reads either one finds it.
    """
    packets = [_pq_packet("00", "00", 0, upc=album.upc)]
    for track in album.tracks:
        number = f"{track.number:02d}"
        start = track.start // SECTOR
        if track.number == 1 or track.pregap:
            index0 = 0 if track.number == 1 else start - track.pregap // SECTOR
            packets.append(_pq_packet(number, "00", index0, isrc=track.isrc))
        packets.append(_pq_packet(number, "01", start, isrc=track.isrc))
    lead_out = _pq_packet("AA", "01", album.frames // SECTOR)
    packets += [lead_out, lead_out]
    return b"".join(packets)


def _pq_packet(track: str, index: str, sectors: int, isrc: str = "", upc: str = "") -> bytes:
    packet = bytearray(b" " * 64)
    _put(packet, 0, 4, "VVVS")
    _put(packet, 4, 2, track)
    _put(packet, 6, 2, index)
    _put(packet, 10, 6, msf_text(sectors, sep=""))
    _put(packet, 16, 2, "01")  # control 0 (2 channels, no pre-emphasis, copy prohibited), ADR 1
    _put(packet, 20, 12, isrc)
    _put(packet, 32, 13, upc)
    return bytes(packet)


def _put(record: bytearray, offset: int, width: int, text: str) -> None:
    """Write ASCII text left-aligned into a space-padded field."""
    data = text.encode("ascii")
    if len(data) > width:
        raise ValueError(f"{text!r} is longer than its {width}-character field")
    record[offset:offset + len(data)] = data


def _write_image(pcm: np.ndarray, path: Path) -> Path:
    """Raw 16-bit little-endian interleaved samples, no header."""
    with path.open("wb") as out:
        for first in range(0, len(pcm), _CHUNK_FRAMES):
            out.write(pcm[first:first + _CHUNK_FRAMES].astype("<i2", copy=False).tobytes())
    return path


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as source:
        while block := source.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()

"""CD-Text: the album's and each track's title and performer as lead-in packs.

A pack is 18 bytes: type, track, sequence number, block and character
position, 12 bytes of text, and a CRC. Each type's strings (the disc's, then
each track's, NUL-terminated) run on from pack to pack, so one pack may hold
the end of one title and the start of the next. The size-information packs
(type 0x8F) close the block and say how many packs of each type it holds.
Layout from ``../shared/reference/delivery-and-platforms.md`` section 1.6;
one block (block 0), ISO-8859-1, English.
"""

from __future__ import annotations

import binascii

from console.delivery.model import CdAlbum

PACK = 18
PAYLOAD = 12
TITLE = 0x80
PERFORMER = 0x81
SIZE_INFO = 0x8F
SIZE_INFO_PACKS = 3
CHARSET_LATIN1 = 0x00
LANGUAGE_ENGLISH = 0x09


def crc(header_and_payload: bytes) -> bytes:
    """The pack's CRC: CRC-16/CCITT (poly 0x1021, init 0) XOR 0xFFFF, big-endian.

    ``binascii.crc_hqx`` is exactly that polynomial and start value, MSB first.
    """
    return (binascii.crc_hqx(header_and_payload, 0) ^ 0xFFFF).to_bytes(2, "big")


def strings(album: CdAlbum) -> dict[int, list[str]]:
    """The text of each pack type in use: the disc's string, then each track's.

    A type whose strings are all empty is left out; no text at all is ``{}``.
    """
    by_type = {
        TITLE: [album.title] + [t.title for t in album.tracks],
        PERFORMER: [album.performer] + [t.performer for t in album.tracks],
    }
    return {kind: texts for kind, texts in by_type.items() if any(texts)}


def count_packs(album: CdAlbum) -> int:
    """How many packs :func:`encode` writes, size information included (0 for none)."""
    by_type = strings(album)
    if not by_type:
        return 0
    return sum(_packs_for(texts) for texts in by_type.values()) + SIZE_INFO_PACKS


def encode(album: CdAlbum) -> bytes:
    """The packs of block 0 as ``CDTEXT.BIN`` holds them (``b""`` when there is no text).

    Raises ``UnicodeEncodeError`` for text outside ISO-8859-1: check the album
    with :func:`console.delivery.redbook.check` first.
    """
    by_type = strings(album)
    if not by_type:
        return b""
    packs: list[bytes] = []
    counts = [0] * 16
    for kind, texts in by_type.items():
        typed = _text_packs(kind, texts, first_seq=len(packs))
        counts[kind - TITLE] = len(typed)
        packs += typed
    counts[SIZE_INFO - TITLE] = SIZE_INFO_PACKS
    last_seq = len(packs) + SIZE_INFO_PACKS - 1
    info = bytes([CHARSET_LATIN1, 1, len(album.tracks), 0, *counts])
    info += bytes([last_seq, 0, 0, 0, 0, 0, 0, 0])
    info += bytes([LANGUAGE_ENGLISH, 0, 0, 0, 0, 0, 0, 0])
    for i in range(SIZE_INFO_PACKS):
        header = bytes([SIZE_INFO, i, len(packs), 0])
        packs.append(_sealed(header, info[i * PAYLOAD:(i + 1) * PAYLOAD]))
    return b"".join(packs)


def _packs_for(texts: list[str]) -> int:
    size = sum(len(t) + 1 for t in texts)
    return -(-size // PAYLOAD)


def _text_packs(kind: int, texts: list[str], first_seq: int) -> list[bytes]:
    """One type's strings cut into payloads; each header names where its first byte is from."""
    stream = bytearray()
    owner: list[tuple[int, int]] = []  # per byte: (track, position in its string)
    for track, text in enumerate(texts):
        data = text.encode("iso-8859-1") + b"\0"
        stream += data
        owner += [(track, pos) for pos in range(len(data))]
    packs = []
    for n, offset in enumerate(range(0, len(stream), PAYLOAD)):
        payload = bytes(stream[offset:offset + PAYLOAD]).ljust(PAYLOAD, b"\0")
        track, pos = owner[offset]
        header = bytes([kind, track, first_seq + n, min(pos, 15)])
        packs.append(_sealed(header, payload))
    return packs


def _sealed(header: bytes, payload: bytes) -> bytes:
    return header + payload + crc(header + payload)

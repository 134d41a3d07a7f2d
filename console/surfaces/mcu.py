"""The Mackie Control (MCU) protocol as bytes: pure builders and constants.

Each function returns the exact bytes for one message, so tests compare them
with the reference vectors and the driver stays free of bit twiddling.
Sources: Ardour ``libs/surfaces/mackie`` (surface.cc, strip.cc, pot.cc,
meter.cc) cross-checked with the TouchMCU protocol notes; see
``reference/control-surfaces.md`` section 1.
"""

from __future__ import annotations

import itertools

MACKIE = (0x00, 0x00, 0x66)
LCD_CELLS = 7  # 6 characters and a separator per strip
LCD_LINE = 0x38  # offset of line 2

# input: strip controls (channel 1), relative to strip index 0..7
REC, SOLO, MUTE, SELECT, VSELECT, TOUCH = 0x00, 0x08, 0x10, 0x18, 0x20, 0x68
STRIP_BUTTONS = {"rec": REC, "solo": SOLO, "mute": MUTE, "select": SELECT, "push": VSELECT}
VPOT_CC, RING_CC = 0x10, 0x30
MASTER_TOUCH = 0x70
ASSIGN_LEFT, ASSIGN_RIGHT = 0x4B, 0x4A

# sysex commands
QUERY, HOST_QUERY, CONFIRM, ERROR, VERSION_REPLY, READY = 0x00, 0x01, 0x03, 0x04, 0x14, 0x06
LCD, METER_MODE = 0x12, 0x20

RING_MODES = {"dot": 0, "boost_cut": 1, "wrap": 2, "spread": 3}


def sysex(device_id: int, *body: int) -> bytes:
    """``F0 00 00 66 <id> <body…> F7``."""
    return bytes((0xF0, *MACKIE, device_id & 0x7F, *(b & 0x7F for b in body), 0xF7))


def device_query(device_id: int = 0x14) -> bytes:
    """The host's device query, which a surface answers with its serial."""
    return sysex(device_id, QUERY)


def parse_sysex(data: tuple[int, ...]) -> tuple[int, int, tuple[int, ...]] | None:
    """(device id, command, payload) of a Mackie SysEx body (no F0/F7), else None."""
    if len(data) < 5 or tuple(data[:3]) != MACKIE:
        return None
    return data[3], data[4], tuple(data[5:])


def fader(strip: int, position: int) -> bytes:
    """Move motor fader ``strip`` (0-7, 8 = master) to ``position`` 0..16383."""
    position = min(max(int(position), 0), 16383)
    return bytes((0xE0 | (strip & 0x0F), position & 0x7F, position >> 7))


def ring_value(normal: float | None, style: str = "wrap") -> int:
    """The ring byte for a value at ``normal`` of its travel (None = ring off).

    ``vv = centre<<6 | mode<<4 | pos``; dot, boost/cut and wrap use positions
    1..11, spread 0..6; the centre LED marks the middle (Ardour pot.cc).
    """
    if normal is None:
        return 0
    normal = min(max(normal, 0.0), 1.0)
    pos = round(normal * 6) if style == "spread" else round(normal * 10) + 1
    centre = 1 if 0.48 < normal < 0.58 else 0
    return (centre << 6) | (RING_MODES[style] << 4) | pos


def ring(strip: int, normal: float | None, style: str = "wrap") -> bytes:
    """Light V-Pot ring ``strip`` (0-7) for a value at ``normal`` of its travel."""
    return bytes((0xB0, RING_CC + strip, ring_value(normal, style)))


def led(note: int, state: int) -> bytes:
    """Button LED: velocity 0 off, 1 flashing, 127 on."""
    return bytes((0x90, note & 0x7F, state & 0x7F))


def lcd(device_id: int, offset: int, text: str) -> bytes:
    """Write ``text`` (printable ASCII) into the LCD from cell ``offset`` (0..111)."""
    chars = [c if 32 <= c < 127 else 0x5F for c in text.encode("latin-1", "replace")]
    return sysex(device_id, LCD, offset, *chars)


def lcd_cell(device_id: int, strip: int, line: int, text: str) -> bytes:
    """Fill one strip's cell on line 0 (top) or 1 (bottom): six characters and a gap."""
    body = text[:LCD_CELLS - 1].ljust(LCD_CELLS - 1) + " "
    return lcd(device_id, strip * LCD_CELLS + (LCD_LINE if line else 0), body)


def meter_mode(device_id: int, strip: int, mode: int) -> bytes:
    """Enable a strip's meter: bit 0 signal LED, bit 1 peak hold, bit 2 LCD meter."""
    return sysex(device_id, METER_MODE, strip, mode)


_DEFLECTION = ((-70.0, 0.0), (-60.0, 2.5), (-50.0, 7.5), (-40.0, 15.0), (-30.0, 30.0),
               (-20.0, 50.0), (0.0, 100.0), (6.0, 115.0))


def meter_segment(db: float) -> int:
    """Level in dBFS to a meter segment 0..13 (Ardour's meter.cc deflection).

    0 dBFS lights 11 segments, -20 dB six, -60 dB none; above 0 dB reaches the
    overload segments.
    """
    if db != db or db <= _DEFLECTION[0][0]:  # NaN or very quiet
        return 0
    deflection = _DEFLECTION[-1][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(_DEFLECTION):
        if db < x1:
            deflection = y0 + (db - x0) / (x1 - x0) * (y1 - y0)
            break
    return min(round(deflection / 115.0 * 13.0), 13)


def reduction_segment(gr_db: float) -> int:
    """Gain reduction in dB (positive) to segments: two dB per LED, twelve LEDs."""
    if gr_db != gr_db or gr_db <= 0:
        return 0
    return min(round(gr_db / 2.0), 12)


def meter(strip: int, segment: int) -> bytes:
    """Channel pressure ``D0 (strip<<4 | level)``: the meter LEDs of one strip."""
    return bytes((0xD0, ((strip & 0x07) << 4) | (min(max(segment, 0), 0x0F))))


def seven_segment(char: str) -> int:
    """Ardour's character code for the 7-segment displays (blank if unsupported)."""
    c = ord(char.upper()[:1] or " ")
    if 0x40 <= c <= 0x5F:
        return c - 0x40
    return c if 0x20 <= c <= 0x3F else 0x20


def assignment(text: str) -> tuple[bytes, bytes]:
    """The two-character assignment display: (left digit, right digit) messages."""
    text = (text + "  ")[:2]
    return (bytes((0xB0, ASSIGN_LEFT, seven_segment(text[0]))),
            bytes((0xB0, ASSIGN_RIGHT, seven_segment(text[1]))))

"""Turn raw MIDI messages into control events, rejecting anything malformed.

RtMidi hands over whole messages as lists of byte values, but nothing stops a
device (or a broken driver) from sending a truncated message, a data byte
with no status (running-status noise), a value above 127 or a SysEx without
its end. :meth:`Decoder.feed` returns ``None`` for anything it cannot read and
the caller counts it; it never raises on input.

14-bit pairs follow the MIDI 1.0 rule: an MSB (CC 0-31) takes effect at once
with the LSB reset to zero, and the LSB (CC 32-63) refines it; NRPN likewise
(CC 99/98 select, CC 6/38 data, CC 96/97 step). Only controllers a profile
binds as 14-bit or NRPN are read that way; the rest stay plain CCs.
"""

from __future__ import annotations

from typing import NamedTuple

_LENGTHS = {0x80: 3, 0x90: 3, 0xA0: 3, 0xB0: 3, 0xC0: 2, 0xD0: 2, 0xE0: 3}
_SYSTEM_LENGTHS = {0xF1: 2, 0xF2: 3, 0xF3: 2, 0xF6: 1}
NRPN_MSB, NRPN_LSB, DATA_MSB, DATA_LSB, DATA_INC, DATA_DEC = 99, 98, 6, 38, 96, 97


class Event(NamedTuple):
    """One decoded control event.

    ``kind`` is note, cc, cc14, nrpn, nrpn_step, pitchbend, pressure or sysex;
    ``value`` is 0..127, 0..16383 (14-bit kinds), ±1 (nrpn_step) or 0 (sysex,
    whose bytes are in ``data``).
    """

    kind: str
    channel: int
    number: int
    value: int
    data: tuple[int, ...] = ()


class Decoder:
    """Decodes one surface's input; keeps the 14-bit and NRPN state per channel.

    Parameters
    ----------
    cc14 : set of (channel, msb)
        Controller numbers bound as 14-bit pairs (LSB is ``msb + 32`` unless
        ``lsb_of`` says otherwise).
    nrpn_channels : set of int
        Channels on which CC 6/38/96/97/98/99 are NRPN, not plain CCs.
    lsb_of : dict of (channel, msb) to int, optional
        LSB controller numbers for pairs that do not use ``msb + 32``.
    """

    def __init__(self, cc14: set[tuple[int, int]] | None = None,
                 nrpn_channels: set[int] | None = None,
                 lsb_of: dict[tuple[int, int], int] | None = None) -> None:
        self._msb_lsb = {key: (lsb_of or {}).get(key, key[1] + 32) for key in (cc14 or set())}
        self._lsb_msb = {(ch, lsb): msb for (ch, msb), lsb in self._msb_lsb.items()}
        self._msb_value: dict[tuple[int, int], int] = {}
        self._nrpn_channels = set(nrpn_channels or ())
        self._nrpn: dict[int, list[int]] = {}  # channel -> [param msb, param lsb, data msb]

    def feed(self, data: list[int] | tuple[int, ...]) -> Event | None:
        """Decode one message; ``None`` if it is malformed or carries no control."""
        if not data:
            return None
        status = data[0]
        if not isinstance(status, int) or status < 0x80 or status > 0xFF:
            return None  # running-status noise or garbage: no status byte
        if any(not isinstance(b, int) or b < 0 or b > 0x7F for b in data[1:-1]):
            return None
        if status == 0xF0:
            if len(data) < 2 or data[-1] != 0xF7:
                return None
            return Event("sysex", 0, 0, 0, tuple(data[1:-1]))
        if data[-1] > 0x7F and len(data) > 1:
            return None
        if status >= 0xF0:
            expected = _SYSTEM_LENGTHS.get(status, 1 if status >= 0xF8 else 0)
            return None if len(data) != expected else Event("system", 0, status, 0)
        kind, channel = status & 0xF0, status & 0x0F
        if len(data) != _LENGTHS[kind]:
            return None
        if kind == 0x90:
            return Event("note", channel, data[1], data[2])
        if kind == 0x80:
            return Event("note", channel, data[1], 0)
        if kind == 0xB0:
            return self._controller(channel, data[1], data[2])
        if kind == 0xE0:
            return Event("pitchbend", channel, 0, data[1] | (data[2] << 7))
        if kind == 0xD0:
            return Event("pressure", channel, 0, data[1])
        return Event("other", channel, data[1], data[-1])  # program change, poly pressure

    def _controller(self, channel: int, number: int, value: int) -> Event | None:
        if channel in self._nrpn_channels and number in (
                NRPN_MSB, NRPN_LSB, DATA_MSB, DATA_LSB, DATA_INC, DATA_DEC):
            return self._nrpn_cc(channel, number, value)
        key = (channel, number)
        if key in self._msb_lsb:
            self._msb_value[key] = value
            return Event("cc14", channel, number, value << 7)
        msb = self._lsb_msb.get(key)
        if msb is not None:
            high = self._msb_value.get((channel, msb))
            if high is None:
                return Event("cc14_lsb_orphan", channel, number, value)
            return Event("cc14", channel, msb, (high << 7) | value)
        return Event("cc", channel, number, value)

    def _nrpn_cc(self, channel: int, number: int, value: int) -> Event | None:
        state = self._nrpn.setdefault(channel, [-1, -1, 0])
        if number == NRPN_MSB:
            state[0] = value
            return Event("nrpn_select", channel, number, value)
        if number == NRPN_LSB:
            state[1] = value
            return Event("nrpn_select", channel, number, value)
        if state[0] < 0 or state[1] < 0 or (state[0] == 0x7F and state[1] == 0x7F):
            return Event("nrpn_unselected", channel, number, value)
        param = (state[0] << 7) | state[1]
        if number == DATA_MSB:
            state[2] = value
            return Event("nrpn", channel, param, value << 7)
        if number == DATA_LSB:
            return Event("nrpn", channel, param, (state[2] << 7) | value)
        return Event("nrpn_step", channel, param, 1 if number == DATA_INC else -1)

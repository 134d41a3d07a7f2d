"""The Mackie Control driver: banks of eight strips, scribble strips, meters, handshake.

Built on the generic :class:`~console.surfaces.surface.Surface`: each bank's
strips become ordinary bindings (fader = pitch bend with touch and the servo
echo, V-Pot = sign-magnitude relative CC with its ring, strip buttons =
switches with LEDs), rebuilt and swapped in when the bank changes. What only
Mackie has is added here: both LCD lines (strip label on top, the value of
the control in use below), meters by channel pressure, the two-character
assignment display showing the bank, and the device query. The album page
(see :mod:`console.surfaces.page`) puts eight songs on the strips instead:
fader and V-Pot are each song's level offset, the title on the upper line and
the offset below, ``A1``, ``A2``... on the assignment display, and the bank
buttons step eight songs at a time. Everything
device-specific comes from the profile's ``[device]`` table (SysEx id,
handshake, meters, touch), never from the model's name.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from console.control.desk import Desk
from console.surfaces import album, mcu
from console.surfaces.bindings import Bound
from console.surfaces.profile import Bank, Binding, Control, Feedback, Profile, Strip
from console.surfaces.surface import Surface
from console.surfaces.transforms import compact_value, fit_text
from dsp import params as P

MeterSource = Callable[[], Mapping[str, float]]
ACTIVE_S = 1.5  # how long a moved fader's value stays on the strip's lower line
METER_S = 0.1  # meter refresh (the LEDs decay by themselves in about 300 ms)
NOTE_S = 8.0  # how long a client's note from the listening room stays on the strips


def note_lines(note: Mapping[str, Any], width: int) -> tuple[str, str]:
    """A listening-room note as the two LCD lines: who and where above, the words below."""
    where = f"{note.get('clock', '')} {note.get('title') or ''}".strip()
    top = f"Note {note.get('name', '')} @ {where}"
    words = " ".join(str(note.get("note", "")).split())
    return top[:width], words[:width]


def strip_bindings(bank: Bank, bank_index: int, device: Any) -> list[Binding]:
    """The bindings that put ``bank``'s strips on faders, V-Pots and strip buttons."""
    out: list[Binding] = []
    for i, strip in enumerate(bank.strips):
        where = f"bank[{bank_index}].strips[{i}]"
        if strip.fader:
            pb = Control("pitchbend", i)
            out.append(Binding(
                control=pb, where=f"{where}.fader", param=strip.fader,
                touch=mcu.TOUCH + i if device.touch else None,
                feedback=Feedback("fader", control=pb)))
        if strip.vpot:
            out.append(Binding(
                control=Control("cc", 0, mcu.VPOT_CC + i), where=f"{where}.vpot",
                mode="relative", param=strip.vpot, encoding="sign_magnitude",
                step=device.encoder_step,
                feedback=Feedback("ring", control=Control("cc", 0, mcu.RING_CC + i),
                                  style=strip.ring or ring_style(P.get(strip.vpot)))))
        for name, param in strip.buttons.items():
            note = Control("note", 0, mcu.STRIP_BUTTONS[name] + i)
            kind = P.get(param).kind
            out.append(Binding(
                control=note, where=f"{where}.{name}", mode="button", param=param,
                button="toggle" if kind == "switch" else "press",
                feedback=Feedback("led", control=note, on=device.led_on, off=device.led_off)
                if kind == "switch" else Feedback()))
    return out


def song_strip_bindings(device: Any) -> list[Binding]:
    """The album page's strips: fader and V-Pot k are the level offset of song k of the bank."""
    out: list[Binding] = []
    for i in range(device.bank_size):
        pb = Control("pitchbend", i)
        out.append(Binding(control=pb, where=f"album.strips[{i}].fader", song=i + 1,
                           touch=mcu.TOUCH + i if device.touch else None,
                           feedback=Feedback("fader", control=pb)))
        out.append(Binding(
            control=Control("cc", 0, mcu.VPOT_CC + i), where=f"album.strips[{i}].vpot",
            mode="relative", song=i + 1, encoding="sign_magnitude", step=device.encoder_step,
            feedback=Feedback("ring", control=Control("cc", 0, mcu.RING_CC + i))))
    return out


def ring_style(param: P.Param) -> str:
    """A ring that reads like the parameter: centred for ± values, filling otherwise."""
    if param.kind == "continuous" and param.min == -param.max:
        return "boost_cut"
    return "dot" if param.kind == "choice" else "wrap"


def strip_label(strip: Strip) -> str:
    """The six-character name over a strip: the profile's, or the parameter's squeezed."""
    if strip.label:
        return strip.label
    param = strip.vpot or strip.fader
    return P.get(param).label.replace(" ", "")[:6] if param else ""


class MackieSurface(Surface):
    """A Mackie Control surface (MCU, X-Touch, X-Touch One, Platform M+, UF8 in MCU mode)."""

    def __init__(self, desk: Desk, profile: Profile, name: str,
                 wake: Callable[[], None] = lambda: None,
                 meter_source: MeterSource | None = None) -> None:
        self.bank_index = 0
        self.sysex_id = profile.device.sysex_id
        self.online = False
        self.meter_source = meter_source
        self._active: dict[int, float] = {}  # strip -> fader active until
        self._next_meter = 0.0
        self._note: tuple[str, str] | None = None  # a client's note on the LCD, until:
        self._note_until = 0.0
        super().__init__(desk, profile, name, wake)

    @property
    def bank(self) -> Bank:
        """The bank on the strips now."""
        return self.profile.banks[self.bank_index]

    def extra_bindings(self) -> Iterable[Binding]:
        """The current bank's strips, or the album page's songs."""
        if self.album_page:
            return song_strip_bindings(self.device)
        return strip_bindings(self.bank, self.bank_index, self.device)

    def _strip_count(self) -> int:
        return self.device.bank_size if self.album_page else len(self.bank.strips)

    def show_page(self) -> None:
        """The album page went on or off, or to other songs: new strips, all shown."""
        self._active.clear()
        self.rebuild()
        self.refresh()

    def show_songs(self) -> None:
        """The album changed: faders, rings and the strips' titles and offsets follow."""
        super().show_songs()
        if self.album_page:
            for i in range(self.device.bank_size):
                self._show_lcd(i)

    def change_bank(self, delta: int = 0, index: int | None = None, name: str | None = None
                    ) -> None:
        """Go to another bank (by step, index or name) and show it; it ends the album page."""
        banks = self.profile.banks
        if name is not None:
            matches = [i for i, b in enumerate(banks) if b.name.lower() == str(name).lower()]
            target = matches[0] if matches else self.bank_index
        elif index is not None:
            target = int(index) % len(banks)
        else:
            target = min(max(self.bank_index + int(delta), 0), len(banks) - 1)
        leaving = self.album_page
        if target == self.bank_index and not leaving:
            return
        self._page = ""
        self.bank_index = target
        self._active.clear()
        self.rebuild()
        self.refresh()
        if leaving:
            self.on_state_local("surface.album", False)
        self.on_state_local("surface.bank", target)

    def use_profile(self, profile: Profile) -> None:
        """A new version of the profile; stay on the same bank if it still exists."""
        self.bank_index = min(self.bank_index, len(profile.banks) - 1)
        super().use_profile(profile)

    def local_state(self, key: str) -> Any:
        """``surface.bank`` is the bank index (None on the album page); others as generic."""
        if key == "surface.bank":
            return None if self.album_page else self.bank_index
        return super().local_state(key)

    # input extras ---------------------------------------------------------------
    def on_sysex(self, data: tuple[int, ...]) -> None:
        """Answer the handshake; adopt the device id the surface speaks with."""
        parsed = mcu.parse_sysex(data)
        if parsed is None:
            self.counters["ignored"] += 1
            return
        device_id, command, _payload = parsed
        if device_id != self.sysex_id:
            self.sysex_id = device_id
            self.queue.forget()
        if command in (mcu.HOST_QUERY, mcu.READY, mcu.CONFIRM):
            self.online = True
            self.restore(query=False)  # the surface (re)started: show everything

    def on_activity(self, event: Any) -> None:
        """Any traffic means the surface is there (profiles without a handshake)."""
        self.online = True

    def on_touch(self, bound: Bound, touched: bool) -> None:
        """A touched fader shows its value on its strip; released, it fades back."""
        strip = bound.binding.control.channel if bound.binding.control.kind == "pitchbend" \
            else None
        if strip is None or strip >= self._strip_count():
            return
        self._active[strip] = float("inf") if touched else time.monotonic() + ACTIVE_S
        self._show_lcd(strip)

    def _absolute(self, bound: Bound, normal: float, data: list[int], now: float) -> None:
        super()._absolute(bound, normal, data, now)
        c = bound.binding.control
        if c.kind == "pitchbend" and c.channel < self._strip_count():
            if self._active.get(c.channel) != float("inf"):
                self._active[c.channel] = now + ACTIVE_S
            self._show_lcd(c.channel)

    # feedback extras ----------------------------------------------------------------
    def on_params(self, changes: dict[str, float], author: str) -> None:
        """Generic feedback, then the scribble strips showing those parameters."""
        super().on_params(changes, author)
        if self.album_page:
            return
        for i, strip in enumerate(self.bank.strips):
            if strip.fader in changes or strip.vpot in changes:
                self._show_lcd(i)

    def on_state(self, key: str, value: Any, author: str) -> None:
        """Generic state feedback; a client's note from the listening room on the LCD."""
        super().on_state(key, value, author)
        if key == "room_note" and isinstance(value, Mapping) and self.device.display == "mackie":
            self._note = note_lines(value, self.device.bank_size * mcu.LCD_CELLS)
            self._note_until = time.monotonic() + NOTE_S
            for i in range(self.device.bank_size):
                self._show_lcd(i)

    def _show_lcd(self, strip: int) -> None:
        if self.device.display != "mackie":
            return
        if self._note is not None:
            for line, text in enumerate(self._note):
                cell = text[strip * mcu.LCD_CELLS:(strip + 1) * mcu.LCD_CELLS]
                offset = strip * mcu.LCD_CELLS + (mcu.LCD_LINE if line else 0)
                self._post(("lcd", line, strip),
                           (mcu.lcd(self.sysex_id, offset, cell.ljust(mcu.LCD_CELLS)),))
            return
        if self.album_page:
            self._show_song_lcd(strip)
            return
        s = self.bank.strips[strip] if strip < len(self.bank.strips) else Strip()
        active = self._active.get(strip, 0.0) > time.monotonic()
        shown = s.fader if (active and s.fader) or not s.vpot else s.vpot
        value = "" if shown is None else compact_value(P.get(shown), self.desk.get(shown))
        for line, text in ((0, strip_label(s)), (1, value)):
            self._post(("lcd", line, strip),
                       (mcu.lcd_cell(self.sysex_id, strip, line, fit_text(text, 6)),))

    def _show_song_lcd(self, strip: int) -> None:
        """A song's title on the upper line of its strip, its level offset below."""
        songs = album.songs(self.desk.state())
        index = self.song_bank * self.device.bank_size + strip
        title = value = ""
        if index < len(songs):
            song = songs[index]
            title = album.strip_title(str(song.get("title") or song.get("id") or ""))
            value = compact_value(album.level_param(), float(song.get("level_offset_db") or 0))
        for line, text in ((0, title), (1, value)):
            self._post(("lcd", line, strip),
                       (mcu.lcd_cell(self.sysex_id, strip, line, fit_text(text, 6)),))

    def _refresh_album(self) -> None:
        for i in range(self.device.bank_size):
            for note in mcu.STRIP_BUTTONS.values():
                self._post(("fb", "ctl", "note", 0, note + i), (mcu.led(note + i, 0),))
        self.post_all(self.bindings.all)
        for i in range(self.device.bank_size):
            self._show_lcd(i)
        if self.device.assignment_display:
            left, right = mcu.assignment(album.bank_short(self.song_bank))
            self._post(("assign", 0), (left,))
            self._post(("assign", 1), (right,))

    def refresh(self) -> None:
        """Post every strip's fader, ring, LEDs, LCD cells and the bank display."""
        if self.album_page:
            self._refresh_album()
            return
        bank_size = self.device.bank_size
        for i in range(len(self.bank.strips), bank_size):  # strips this bank leaves empty
            self._post(("fb", "fader", "pitchbend", i, 0), (mcu.fader(i, 0),))
            self._post(("fb", "ring", "cc", 0, mcu.RING_CC + i), (mcu.ring(i, None),))
        for i, strip in enumerate(self.bank.strips):
            if not strip.fader:
                self._post(("fb", "fader", "pitchbend", i, 0), (mcu.fader(i, 0),))
            if not strip.vpot:
                self._post(("fb", "ring", "cc", 0, mcu.RING_CC + i), (mcu.ring(i, None),))
            for name, note in mcu.STRIP_BUTTONS.items():
                if name not in strip.buttons:
                    self._post(("fb", "ctl", "note", 0, note + i), (mcu.led(note + i, 0),))
        self.post_all(self.bindings.all)
        for i in range(bank_size):
            self._show_lcd(i)
        if self.device.assignment_display:
            left, right = mcu.assignment(self.bank.short)
            self._post(("assign", 0), (left,))
            self._post(("assign", 1), (right,))

    def restore(self, query: bool = True) -> None:
        """After (re)connect: the device query, meter modes, then the whole state."""
        self.queue.forget()
        if query and self.device.handshake == "query":
            self._post(("query",), (mcu.device_query(self.sysex_id),), force=True)
        if self.device.meters and self.device.meter_keys:
            for i, key in enumerate(self.device.meter_keys[:self.device.bank_size]):
                mode = self.device.meter_mode if key else 0
                self._post(("meter_mode", i), (mcu.meter_mode(self.sysex_id, i, mode),))
        self.refresh()
        self._wake()

    def periodic(self, now: float) -> None:
        """Touch timeouts, lower LCD lines falling back, meters every 100 ms."""
        super().periodic(now)
        if self._note is not None and now >= self._note_until:
            self._note = None
            for strip in range(self.device.bank_size):
                self._show_lcd(strip)
        for strip, until in list(self._active.items()):
            if until != float("inf") and now >= until:
                del self._active[strip]
                self._show_lcd(strip)
        if now >= self._next_meter and self.meter_source and self.device.meter_keys:
            self._next_meter = now + METER_S
            self._send_meters(self.meter_source())

    def _send_meters(self, levels: Mapping[str, float]) -> None:
        for i, key in enumerate(self.device.meter_keys[:self.device.bank_size]):
            if not key or key not in levels:
                continue
            raw = levels[key]
            level = float(raw) if isinstance(raw, int | float) else float("-inf")
            segment = (mcu.reduction_segment(level) if key.endswith("gr_db")
                       else mcu.meter_segment(level))
            self._post(("meter", i), (mcu.meter(i, segment),), force=True)

    def describe(self) -> dict[str, Any]:
        """The generic description plus bank and handshake state."""
        row = super().describe()
        row.update(bank=f"Album {self.song_bank + 1}" if self.album_page else self.bank.name,
                   banks=[b.name for b in self.profile.banks],
                   online=self.online, sysex_id=self.sysex_id)
        return row

"""The keyboard map: one table gives the app its bindings and the help screen its text.

Everything a control surface can do has a key here (transport, what is heard,
bypass per stage, A/B/C/D snapshots, parameter selection and nudge, learn),
so the console works with no surface at all. Keys are Textual key names;
``shown`` is how the help screen writes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from textual.binding import Binding


@dataclass(frozen=True)
class Key:
    """One row of the keyboard map."""

    keys: str
    """Textual key names, comma-separated (all do the same)."""
    action: str
    description: str
    group: str
    shown: str
    footer: str = ""
    """A short name for the footer; empty keeps the key off the footer."""


_HEARD = "As listeners hear it (the key again: off)"
"""The translation checks' group."""

KEYMAP: tuple[Key, ...] = (
    # transport
    Key("space", "toggle_play", "play / stop", "Transport", "space", footer="play"),
    Key("home", "locate(0)", "back to the start", "Transport", "home"),
    Key("comma", "seek(-5)", "back 5 s", "Transport", ","),
    Key("full_stop", "seek(5)", "forward 5 s", "Transport", "."),
    Key("less_than_sign", "seek(-30)", "back 30 s", "Transport", "<"),
    Key("greater_than_sign", "seek(30)", "forward 30 s", "Transport", ">"),
    Key("l", "toggle_loop", "loop on / off", "Transport", "l"),
    Key("left_square_bracket", "loop_mark('start')", "loop starts at the playhead",
        "Transport", "["),
    Key("right_square_bracket", "loop_mark('end')", "loop ends at the playhead",
        "Transport", "]"),
    Key("n", "song(1)", "next song of the album", "Transport", "n"),
    Key("p", "song(-1)", "previous song of the album", "Transport", "p"),
    Key("M,shift+m", "marker", "a marker at the playhead, then type its note", "Transport",
        "M"),
    Key("N,shift+n", "answer_note", "answer the latest note from the listening room",
        "Transport", "N"),
    Key("z", "album_mode", "album mode on / off: the album on one timeline", "Transport", "z"),
    Key("J,shift+j", "join(False)", "album mode: hear the next join (from 3 s before)",
        "Transport", "J"),
    Key("K,shift+k", "join(True)", "album mode: loop 3 s either side of the next join",
        "Transport", "K"),
    # what is heard
    Key("m", "hear('master')", "hear the master (the chain)", "Listen", "m"),
    Key("b", "toggle_source('bypass')", "bypass: hear the unprocessed song", "Listen", "b",
        footer="bypass"),
    Key("r", "toggle_source('reference')", "hear the reference track", "Listen", "r"),
    Key("equals_sign", "toggle_match", "loudness matching on / off", "Listen", "="),
    # translation checks, at the master's loudness
    Key("O,shift+o", "translate('mono')", "mono fold-down", _HEARD, "O"),
    Key("S,shift+s", "translate('side')", "side only (L-R)", _HEARD, "S"),
    Key("W,shift+w", "translate('swap')", "left and right swapped", _HEARD, "W"),
    Key("P,shift+p", "translate('phone')", "a phone speaker (approximation)", _HEARD, "P"),
    Key("T,shift+t", "translate('laptop')", "laptop speakers (approximation)", _HEARD, "T"),
    Key("E,shift+e", "translate('earbuds')", "earbuds (approximation)", _HEARD, "E"),
    Key("C,shift+c", "translate('car')", "a car (approximation)", _HEARD, "C"),
    # stages
    Key("e", "stage_bypass('eq')", "EQ in / bypassed", "Stages", "e"),
    Key("c", "stage_bypass('comp')", "compressor in / bypassed", "Stages", "c"),
    Key("x", "stage_bypass('exciter')", "exciter in / bypassed", "Stages", "x"),
    Key("w", "stage_bypass('stereo')", "stereo (width) in / bypassed", "Stages", "w"),
    Key("i", "stage_bypass('clipper')", "clipper in / bypassed", "Stages", "i"),
    Key("t", "stage_bypass('limiter')", "limiter in / bypassed", "Stages", "t"),
    Key("enter", "stage_bypass('')", "the selected parameter's stage in / bypassed",
        "Stages", "enter"),
    # snapshots
    Key("1", "snapshot('A')", "recall snapshot A (after s: store)", "Snapshots", "1"),
    Key("2", "snapshot('B')", "recall snapshot B (after s: store)", "Snapshots", "2"),
    Key("3", "snapshot('C')", "recall snapshot C (after s: store)", "Snapshots", "3"),
    Key("4", "snapshot('D')", "recall snapshot D (after s: store)", "Snapshots", "4"),
    Key("s", "arm_store", "store: the next 1-4 stores A-D", "Snapshots", "s"),
    # parameters
    Key("up,k", "select(-1)", "previous parameter", "Parameters", "↑ k"),
    Key("down,j", "select(1)", "next parameter", "Parameters", "↓ j"),
    Key("pageup", "select_stage(-1)", "previous stage", "Parameters", "pgup"),
    Key("pagedown", "select_stage(1)", "next stage", "Parameters", "pgdn"),
    Key("right,plus", "nudge(1)", "raise the parameter a step", "Parameters", "→ +"),
    Key("left,minus", "nudge(-1)", "lower the parameter a step", "Parameters", "← -"),
    Key("shift+right", "nudge(1, True)", "raise it ten steps", "Parameters", "shift →"),
    Key("shift+left", "nudge(-1, True)", "lower it ten steps", "Parameters", "shift ←"),
    Key("backspace,delete", "reset_param", "back to its default", "Parameters", "bksp"),
    Key("u", "undo", "undo the last move, recall or automation pass", "Parameters", "u"),
    Key("U,shift+u", "redo", "redo it", "Parameters", "U"),
    # surfaces and automation
    Key("L,shift+l", "learn", "MIDI learn: bind the next control moved to the parameter",
        "Surfaces", "L"),
    Key("a", "automation_mode('lane')", "next automation mode for the parameter's lane",
        "Surfaces", "a"),
    Key("A,shift+a", "automation_mode('global')", "next global automation mode", "Surfaces",
        "A"),
    Key("escape", "cancel", "cancel learn or store", "Surfaces", "esc"),
    # screens
    Key("f2", "switch_mode('meters')", "meters and chain", "Screens", "F2", footer="meters"),
    Key("f3", "switch_mode('album')", "album and transport", "Screens", "F3", footer="album"),
    Key("f4", "switch_mode('automation')", "automation", "Screens", "F4", footer="automation"),
    Key("f5", "switch_mode('surfaces')", "surfaces and learn", "Screens", "F5", footer="surfaces"),
    Key("f6", "switch_mode('arc')", "the album arc", "Screens", "F6", footer="arc"),
    Key("f1,question_mark", "help", "this help", "Screens", "F1 ?", footer="keys"),
    Key("v", "toggle_view", "narrow terminal: meters or chain", "Screens", "v"),
    Key("g", "cycle_target", "next delivery target (-14, -16, -15, -23 LUFS)", "Screens", "g"),
    Key("q,ctrl+c", "quit", "quit the UI (the daemon keeps playing)", "Screens", "q ^C",
        footer="quit"),
)


def bindings() -> list[Binding]:
    """The app's bindings, from :data:`KEYMAP`."""
    return [Binding(k.keys, k.action, k.footer or k.description, show=bool(k.footer),
                    key_display=k.shown.split()[0], priority=True)
            for k in KEYMAP]


def groups() -> dict[str, list[Key]]:
    """The keymap by group, in table order (for the help screen)."""
    out: dict[str, list[Key]] = {}
    for key in KEYMAP:
        out.setdefault(key.group, []).append(key)
    return out

"""The report's tables as HTML text: every value escaped, every status in words and colour.

Titles, paths, rules and details come from the user's session or from tools,
so each goes through :func:`esc`; numbers go through :func:`num`, which shows
None (a silent song has no loudness) as a dash instead of failing. A status is
never colour alone: each cell says pass, warn or fail beside a symbol, for
readers who do not see the colour and for printouts in black and white.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

STATUSES = ("pass", "warn", "fail")
_SYMBOL = {"pass": "✓", "warn": "!", "fail": "✗"}
DASH = "—"


def esc(value: object) -> str:
    """Any value as HTML text, quotes included (safe inside attributes too)."""
    return html.escape(str(value), quote=True)


def num(value: float | None, digits: int = 1, unit: str = "", signed: bool = False) -> str:
    """A rounded number with its unit, or a dash for None."""
    if value is None:
        return DASH
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    text = text.replace("-", "−")  # a minus sign, not a hyphen: it does not wrap or shrink
    return f"{text} {unit}".rstrip()


def duration(seconds: float | None) -> str:
    """Seconds as m:ss (or h:mm:ss), a dash for None."""
    if seconds is None:
        return DASH
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def worst(statuses: Iterable[str]) -> str | None:
    """The worst of some statuses (fail over warn over pass), None for none."""
    ranks = [STATUSES.index(s) for s in statuses]
    return STATUSES[max(ranks)] if ranks else None


def status_cell(status: str | None, attrs: str = "") -> str:
    """A table cell saying ``status`` in words, with its symbol and colour class."""
    if status is None:
        return f'<td class="status none"{attrs} data-status="none">{DASH} not checked</td>'
    return (f'<td class="status {esc(status)}"{attrs} data-status="{esc(status)}">'
            f'<span aria-hidden="true">{_SYMBOL.get(status, "?")}</span> {esc(status)}</td>')


def song_label(songs: Sequence[dict], number: int | None) -> str:
    """"3. Title" for a song number, "Album" for None (a check on the whole album)."""
    if number is None:
        return "Album"
    for song in songs:
        if song["number"] == number:
            return f"{number}. {song['title']}"
    return f"{number}."


def _table(head: Sequence[str], rows: Sequence[str], cls: str) -> str:
    header = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h in head)
    return (f'<table class="{cls}"><thead><tr>{header}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def songs_table(songs: Sequence[dict]) -> str:
    """Every song's numbers in album order."""
    head = ("#", "Title", "ISRC", "Start", "Length", "Integrated", "Max short-term", "LRA",
            "True peak", "PLR", "Change")
    rows = [
        f'<tr><td>{song["number"]}</td><th scope="row">{esc(song["title"])}</th>'
        f'<td>{esc(song["isrc"]) or DASH}</td><td>{duration(song["start_s"])}</td>'
        f'<td>{duration(song["length_s"])}</td><td>{num(song["integrated_lufs"], 1, "LUFS")}</td>'
        f'<td>{num(song["max_short_term_lufs"], 1, "LUFS")}</td><td>{num(song["lra_lu"], 1, "LU")}'
        f'</td><td>{num(song["true_peak_dbtp"], 1, "dBTP")}</td><td>{num(song["plr_db"], 1, "dB")}'
        f'</td><td>{num(song["change_lu"], 1, "LU", signed=True)}</td></tr>'
        for song in songs
    ]
    return _table(head, rows, "songs")


def status_table(songs: Sequence[dict], targets: Sequence[dict]) -> str:
    """Pass, warn or fail per song (and the album as a whole) and target: each cell's worst check.

    Cells carry ``data-target``, ``data-song`` ("album" for checks on the whole
    album) and ``data-status``, so tools (and the tests) read them without parsing words.
    """
    head = ["", *(target["name"] for target in targets)]
    numbers: list[int | None] = [None, *(song["number"] for song in songs)]
    rows = []
    for number in numbers:
        key = "album" if number is None else str(number)
        cells = [
            status_cell(
                worst(c["status"] for c in target["checks"] if c["song"] == number),
                f' data-target="{esc(target["name"])}" data-song="{key}"')
            for target in targets
        ]
        rows.append(f'<tr><th scope="row">{esc(song_label(songs, number))}</th>'
                    f'{"".join(cells)}</tr>')
    summary = [status_cell(target["status"], f' data-target="{esc(target["name"])}"'
                           ' data-song="target"') for target in targets]
    rows.append(f'<tr class="total"><th scope="row">Target</th>{"".join(summary)}</tr>')
    return _table(head, rows, "status")


def checks_table(songs: Sequence[dict], targets: Sequence[dict], only_problems: bool) -> str:
    """Checks one per row: those that warn or fail, or every one."""
    rows = [
        f'<tr><td>{esc(target["name"])}</td><td>{esc(song_label(songs, check["song"]))}</td>'
        f'<td>{esc(check["rule"])}</td>{status_cell(check["status"])}'
        f'<td>{esc(check["detail"])}</td></tr>'
        for target in targets for check in target["checks"]
        if not only_problems or check["status"] != "pass"
    ]
    if not rows:
        return '<p class="allpass">Every check passed.</p>'
    return _table(("Target", "Song", "Rule", "Status", "Detail"), rows, "checks")


def targets_table(targets: Sequence[dict]) -> str:
    """Each target's format and files, with the MD5 of every file (folded away)."""
    rows = []
    for target in targets:
        files = "".join(f"<li><code>{esc(f['path'])}</code> <code>{esc(f['md5'])}</code></li>"
                        for f in target["files"])
        listing = (f'<details><summary>{len(target["files"])} files</summary><ul>{files}</ul>'
                   "</details>") if files else "no files"
        rows.append(
            f'<tr><th scope="row">{esc(target["name"])}</th><td>{esc(target["description"])}</td>'
            f'<td>{esc(target["format"])}</td><td>{target["sample_rate"] / 1000:g} kHz</td>'
            f'<td>{esc(target["bit_depth"])}</td>{status_cell(target["status"])}'
            f"<td>{listing}</td></tr>")
    return _table(("Target", "What", "Format", "Rate", "Bits", "Status", "Files"), rows, "targets")


def codecs_table(songs: Sequence[dict], codecs: Sequence[dict]) -> str:
    """Decoded true peak per song and codec; warn where a listener's decoder would clip."""
    names = list(dict.fromkeys(c["codec"] for c in codecs))
    if not names:
        return "<p>No codec check was run.</p>"
    found = {(c["song"], c["codec"]): c for c in codecs}
    rows = []
    for song in songs:
        cells = []
        for name in names:
            row = found.get((song["number"], name))
            if row is None:
                cells.append(f"<td>{DASH}</td>")
                continue
            symbol = _SYMBOL.get(row["status"], "?")
            cells.append(
                f'<td class="status {esc(row["status"])}" data-status="{esc(row["status"])}">'
                f'{num(row["true_peak_dbtp"], 2, "dBTP")} <span aria-hidden="true">{symbol}'
                f'</span> {esc(row["status"])}</td>')
        rows.append(f'<tr><th scope="row">{esc(song_label(songs, song["number"]))}</th>'
                    f'{"".join(cells)}</tr>')
    return _table(["Song", *names], rows, "codecs")


def platforms_table(songs: Sequence[dict], platforms: Sequence[dict]) -> str:
    """The gain each platform's normalisation would play each song (and the album) at."""
    names = {p["platform"]: p["name"] for p in platforms}
    if not names:
        return "<p>No platform figures.</p>"
    gains = {(p["platform"], p["song"]): p["gain_db"] for p in platforms}
    numbers: list[int | None] = [*(song["number"] for song in songs), None]
    rows = []
    for number in numbers:
        if number is None and not any(song is None for _, song in gains):
            continue
        cells = "".join(f'<td>{num(gains.get((key, number)), 1, "dB", signed=True)}</td>'
                        for key in names)
        label = "Album in order" if number is None else song_label(songs, number)
        rows.append(f'<tr><th scope="row">{esc(label)}</th>{cells}</tr>')
    return _table(["Song", *names.values()], rows, "platforms")

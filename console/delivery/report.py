"""The report a client can open: ``report.json`` for tools, ``report.html`` for people.

The HTML is one self-contained file, to be mailed, archived or opened from a
USB stick years later: the styles are inline, every picture is an inline SVG
drawn by :mod:`console.delivery.charts` (glyphs as paths), and the page has
no script and loads nothing, so it opens the same offline, in a mail
client's viewer or printed. All text from the session (titles, ISRCs, paths,
check details) is escaped: a song called ``<script>`` is shown, never run.

The report dict (built by the delivery orchestrator; see ``docs/delivery.md``)
has ``session``, ``created``, ``masterdeck``, ``album``, ``songs``,
``reference``, ``targets``, ``codecs`` and ``platforms``; any measured value
may be None (a silent song has no loudness), and the page shows a dash.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

from console.delivery import charts
from console.delivery.report_tables import (
    checks_table,
    codecs_table,
    duration,
    esc,
    num,
    platforms_table,
    songs_table,
    status_table,
    targets_table,
)

_CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 color:#1c1c1c;margin:0 auto;max-width:1180px;padding:24px}
h1{font-size:24px;margin:0 0 4px}h2{font-size:18px;margin:32px 0 8px;border-bottom:1px solid #ccc}
dl.facts{display:grid;grid-template-columns:repeat(4,auto);gap:4px 24px;margin:12px 0;
 justify-content:start}
dl.facts dt{color:#666;font-size:12px}dl.facts dd{margin:0 0 8px;font-weight:600}
table{border-collapse:collapse;margin:8px 0;font-variant-numeric:tabular-nums}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
thead th{background:#f2f2f2}
td.status{font-weight:600;white-space:nowrap}
.pass{background:#dff2df;color:#175c17}.warn{background:#fff1c9;color:#7a5200}
.fail{background:#f9d6d6;color:#8f1515}.none{color:#888}
tr.total th,tr.total td{border-top:2px solid #999}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(320px,1fr));gap:12px}
figure{margin:0}figcaption{font-size:13px;color:#333;margin-top:2px}
svg{width:100%;height:auto;display:block}
.note{color:#555;font-size:13px}code{font-size:12px}
@media print{body{padding:0}h2{break-after:avoid}figure,tr{break-inside:avoid}}
"""


def _figure(svg: str, caption: str) -> str:
    return f"<figure>{svg}<figcaption>{esc(caption)}</figcaption></figure>"


def _created(text: str) -> str:
    """The creation time as people read it; the raw text when it is not ISO 8601."""
    try:
        when = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return str(text)
    zone = when.tzname() or ""
    return f"{when:%Y-%m-%d %H:%M} {'UTC' if zone in ('UTC', 'UTC+00:00') else zone}".rstrip()


def _header(report: dict) -> str:
    album = report["album"]
    reference = report.get("reference")
    facts = [
        ("Album loudness", num(album["integrated_lufs"], 1, "LUFS")),
        ("Loudness range", num(album["lra_lu"], 1, "LU")),
        ("True peak", num(album["true_peak_dbtp"], 1, "dBTP")),
        ("Length", duration(album["length_s"])),
        ("Songs", str(len(report["songs"]))),
        ("Reference", esc(reference["title"]) if reference else "none"),
        ("Created", esc(_created(report["created"]))),
        ("masterdeck", esc(report["masterdeck"])),
    ]
    items = "".join(f"<div><dt>{name}</dt><dd>{value}</dd></div>" for name, value in facts)
    return (f'<header><h1>{esc(report["session"]["title"])}</h1>'
            f'<p class="note">Delivery report</p><dl class="facts">{items}</dl></header>')


def _arc(report: dict) -> str:
    songs = report["songs"]
    svg = charts.arc_svg(songs, report["album"]["integrated_lufs"])
    return ("<section><h2>The album arc</h2>"
            + _figure(svg, "Integrated loudness of each song in album order (dots) and its "
                      "loudest 3 seconds (triangles); the step from the song before in LU.")
            + songs_table(songs) + "</section>")


def _checks(report: dict) -> str:
    songs, targets = report["songs"], report["targets"]
    return ("<section><h2>Checks: pass, warn, fail</h2>"
            '<p class="note">Each cell is the worst check of that target on that song.</p>'
            + status_table(songs, targets)
            + "<h3>What warned or failed</h3>" + checks_table(songs, targets, only_problems=True)
            + "<details><summary>Every check</summary>"
            + checks_table(songs, targets, only_problems=False) + "</details></section>")


def _short_term(report: dict) -> str:
    songs = report["songs"]
    limits = charts.short_term_limits(songs)
    figures = "".join(_figure(charts.short_term_svg(song, limits),
                              f'{song["number"]}. {song["title"]}') for song in songs)
    return ("<section><h2>Short-term loudness</h2>"
            '<p class="note">Loudness over 3 s windows, second by second, on one scale for '
            "every song; dashed: the song's integrated loudness.</p>"
            f'<div class="grid">{figures}</div></section>')


def _peaks(report: dict) -> str:
    return ("<section><h2>True peak and PLR</h2>"
            + _figure(charts.peaks_svg(report["songs"]),
                      "True peak (dBTP) and peak-to-loudness ratio (true peak minus integrated "
                      "loudness, dB) of each song; a higher PLR keeps more of the transients.")
            + "</section>")


def _spectra(report: dict) -> str:
    reference = report.get("reference")
    figures = "".join(_figure(charts.spectrum_svg(song, reference),
                              f'{song["number"]}. {song["title"]}') for song in report["songs"])
    against = (f"the client's reference, {esc(reference['title'])}, dashed"
               if reference else "no reference was given")
    return ("<section><h2>Long-term spectrum</h2>"
            f'<p class="note">Each master\'s average spectrum; {against}. Pink noise draws a '
            "flat line; each curve is set to its own average, so tone compares, not level.</p>"
            f'<div class="grid">{figures}</div></section>')


def render_html(report: dict) -> str:
    """The whole page as text: header facts, charts and tables, no script, nothing external."""
    songs = report["songs"]
    body = "".join((
        _header(report),
        _arc(report),
        _checks(report),
        _short_term(report),
        _peaks(report),
        "<section><h2>Codecs</h2><p class=\"note\">True peak after encoding and decoding; "
        "above −0.1 dBTP a listener's decoder may clip.</p>"
        + codecs_table(songs, report["codecs"]) + "</section>",
        _spectra(report),
        "<section><h2>Targets and files</h2>" + targets_table(report["targets"]) + "</section>",
        "<section><h2>Streaming platforms</h2><p class=\"note\">The gain each platform's "
        "loudness normalisation would play at.</p>"
        + platforms_table(songs, report["platforms"]) + "</section>",
    ))
    title = esc(f'{report["session"]["title"]}: delivery report')
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{title}</title><style>{_CSS}</style></head>"
            f"<body>{body}</body></html>\n")


def write_report(report: dict, folder: Path) -> tuple[Path, Path]:
    """Write ``report.json`` (the dict, indented) and ``report.html`` into ``folder``.

    Returns
    -------
    tuple of Path
        The JSON file and the HTML file.

    Raises
    ------
    ValueError
        When the dict holds NaN or infinity: JSON has no such numbers, so a
        measurement that produced one must say None instead.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False)
    page = render_html(report)
    json_path, html_path = folder / "report.json", folder / "report.html"
    json_path.write_text(text + "\n", encoding="utf-8")
    html_path.write_text(page, encoding="utf-8")
    return json_path, html_path

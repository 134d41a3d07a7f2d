"""The client's report: JSON as given, one self-contained HTML page that shows every number.

The page is parsed with html.parser and opened in Debian's Chromium through
Playwright (the system browser, one launch for the module) with every request
recorded: only the file itself may load, no script may run (a song title is
``<script>``), every picture is an SVG in the DOM, and the pass / warn / fail
table says what the checks said. A screenshot goes to docs/report.png.
"""

import json
import math
import re
import struct
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from console.delivery.report import write_report
from console.delivery.spectrum import spectrum

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = Path(__file__).resolve().parent.parent / "docs" / "report.png"
HOSTILE = ["Intro", '<script>window.__ran = "title"</script>',
           '<img src="nowhere.png" onerror="window.__ran = \'img\'">', 'Café "Blue" & $5 $\\alpha$']
NICE = ["Nachtfahrt", "Glass & Steel", "Slow Water", "Neon Kiosk", "Home"]


def _noise_spectrum(exponent: float, seed: int) -> dict:
    """The spectrum of stereo noise with power density going as f ** -exponent."""
    n = 8 * 48000
    rng = np.random.default_rng(seed)
    spec = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    spec /= np.maximum(np.fft.rfftfreq(n, 1 / 48000), 30.0) ** (exponent / 2)
    return spectrum(np.fft.irfft(spec, n, axis=1).T, 48000)


def _song(number: int, title: str, lufs: float | None, seconds: int, start_s: float) -> dict:
    """One song's measurements; ``lufs`` None makes it silent (every measure None)."""
    if lufs is None:
        curve: list[float | None] = [None] * seconds
        tp = plr = lra = top = None
        spec = {"freqs_hz": _noise_spectrum(1.0, 0)["freqs_hz"], "db": [None] * 100}
    else:
        t = np.arange(seconds)
        swell = 3.0 * np.sin(2 * np.pi * t / max(seconds, 1) * (1 + number % 3))
        curve = [None, None] + [round(float(lufs + v), 1) for v in swell[2:]]
        top = max(v for v in curve if v is not None)
        tp = round(min(-0.3, lufs + 7.0 + 0.7 * number), 1)
        plr, lra = round(tp - lufs, 1), 4.0 + number
        spec = _noise_spectrum(1.0 + 0.1 * number, number)
    return {"number": number, "id": f"s{number}", "title": title, "isrc": f"DEA1726000{number:02d}",
            "start_s": start_s, "length_s": float(seconds), "integrated_lufs": lufs,
            "max_short_term_lufs": top, "lra_lu": lra, "true_peak_dbtp": tp, "plr_db": plr,
            "change_lu": None, "short_term_lufs": curve, "spectrum": spec}


def build_report(titles: list[str], lufs: list[float | None], reference: bool = True) -> dict:
    """A report dict as the orchestrator writes it: three targets, codecs and platforms."""
    songs, start = [], 2.0
    for k, (title, level) in enumerate(zip(titles, lufs, strict=True)):
        songs.append(_song(k + 1, title, level, 40 + 7 * k, start))
        start += songs[-1]["length_s"] + 2.0
    for before, song in pairwise(songs):
        if before["integrated_lufs"] is not None and song["integrated_lufs"] is not None:
            song["change_lu"] = round(song["integrated_lufs"] - before["integrated_lufs"], 1)
    numbers = [song["number"] for song in songs]
    checks = {
        "streaming": [{"song": n, "rule": "true peak <= -1 dBTP", "status": "pass",
                       "detail": "-1.2 dBTP"} for n in numbers],
        "cd": [{"song": None, "rule": "total length <= 79:57", "status": "fail",
                "detail": "80:02 is too long"}]
        + [{"song": n, "rule": "track >= 4 s", "status": "pass", "detail": ""} for n in numbers]
        + [{"song": 2, "rule": "ISRC", "status": "warn", "detail": 'no ISRC <given> & "so"'}],
        "broadcast": [{"song": n, "rule": "-23 +-0.5 LU", "status": "fail" if n == 3 else "pass",
                       "detail": "-21.9 LUFS"} for n in numbers[:3]],
    }
    overall = {"streaming": "pass", "cd": "fail", "broadcast": "fail"}
    targets = [{"name": name, "description": f"{name} masters", "format": "wav",
                "sample_rate": 44100 if name == "cd" else 48000,
                "bit_depth": "16" if name == "cd" else "24", "status": overall[name],
                "files": [{"path": f"{name}/{n:02d}.wav", "song": n, "md5": "0" * 32}
                          for n in numbers],
                "checks": checks[name]} for name in checks]
    codecs = [{"song": n, "codec": codec, "true_peak_dbtp": peak,
               "status": "warn" if peak > -0.1 else "pass"}
              for n in numbers for codec, peak in (("aac-256", -0.6), ("mp3-320", -0.4 + 0.2 * n),
                                                   ("opus-160", -0.5))]
    platforms = [{"platform": p, "name": name, "song": n, "gain_db": gain}
                 for p, name, gain in (("spotify", "Spotify", -3.0), ("apple", "Apple Music", -5.0))
                 for n in [*numbers, None]]
    measured = [v for v in lufs if v is not None]
    return {
        "session": {"title": "Night Drive <deluxe>", "folder": "/albums/night-drive"},
        "created": "2026-12-06T12:30:00+00:00", "masterdeck": "0.1.0",
        "album": {"integrated_lufs": max(measured) - 1.0 if measured else None,
                  "lra_lu": 6.5 if measured else None,
                  "true_peak_dbtp": -0.3 if measured else None, "length_s": start},
        "songs": songs,
        "reference": {"title": "Client's favourite", "spectrum": _noise_spectrum(0.8, 99)}
        if reference else None,
        "targets": targets, "codecs": codecs, "platforms": platforms,
    }


def expected_svgs(report: dict) -> int:
    """The arc, the peaks chart, and a short-term and a spectrum chart per song."""
    return 2 + 2 * len(report["songs"])


EXPECTED_STATUS = {  # (target, song) -> status, worked out by hand from build_report
    ("streaming", "album"): "none", ("streaming", "1"): "pass", ("streaming", "2"): "pass",
    ("streaming", "3"): "pass", ("streaming", "4"): "pass", ("streaming", "target"): "pass",
    ("cd", "album"): "fail", ("cd", "1"): "pass", ("cd", "2"): "warn", ("cd", "3"): "pass",
    ("cd", "4"): "pass", ("cd", "target"): "fail",
    ("broadcast", "album"): "none", ("broadcast", "1"): "pass", ("broadcast", "2"): "pass",
    ("broadcast", "3"): "fail", ("broadcast", "4"): "none", ("broadcast", "target"): "fail",
}


class Page(HTMLParser):
    """What html.parser sees: nesting checked as it goes, tags, attributes and text."""

    VOID = frozenset({"meta", "br", "img", "hr", "input", "link", "source", "wbr"})

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data):
        self.text.append(data)


@pytest.fixture(scope="module")
def hostile(tmp_path_factory) -> tuple[dict, Path]:
    report = build_report(HOSTILE, [-14.0, -11.5, -16.0, -12.0])
    report["reference"]["title"] = "<i>Their</i> single"
    _, html_path = write_report(report, tmp_path_factory.mktemp("hostile"))
    return report, html_path


def _parse(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    page.close()
    return page


def test_json_is_the_dict_pretty_printed(tmp_path):
    report = build_report(NICE[:2], [-14.0, -12.0])
    json_path, html_path = write_report(report, tmp_path / "out")
    assert (json_path.name, html_path.name) == ("report.json", "report.html")
    text = json_path.read_text(encoding="utf-8")
    assert json.loads(text) == report
    assert text.startswith('{\n  "session"')


def test_nan_is_refused_rather_than_written_as_invalid_json(tmp_path):
    report = build_report(NICE[:1], [-14.0])
    report["songs"][0]["plr_db"] = math.nan
    with pytest.raises(ValueError):
        write_report(report, tmp_path)


def test_the_page_parses_and_every_element_closes(hostile):
    page = _parse(hostile[1])
    assert page.errors == [] and page.stack == []
    assert page.tags[0] == "html" and page.tags.count("body") == 1


def test_the_page_has_no_script_and_points_nowhere(hostile):
    page = _parse(hostile[1])
    assert "script" not in page.tags and "img" not in page.tags
    linked = [value for name, value in page.attrs if name in ("src", "href", "xlink:href")]
    assert all(value.startswith("#") for value in linked if value)
    assert not any(name.startswith("on") for name, _ in page.attrs)


def test_ids_are_unique_and_every_reference_resolves(hostile):
    page = _parse(hostile[1])
    ids = [value for name, value in page.attrs if name == "id"]
    assert len(ids) > 100 and len(set(ids)) == len(ids)
    refs = [value[1:] for name, value in page.attrs if name.endswith("href")]
    refs += [m for _, value in page.attrs if value for m in re.findall(r"url\(#([^)]+)\)", value)]
    assert refs and set(refs) <= set(ids)


def test_every_title_appears_as_text_escaped(hostile):
    report, path = hostile
    text = "".join(_parse(path).text)
    for song in report["songs"]:
        assert song["title"] in text
    assert "Night Drive <deluxe>" in text and "<i>Their</i> single" in text
    raw = path.read_text(encoding="utf-8")
    assert "&lt;script&gt;" in raw and "<script" not in raw


def test_one_svg_per_picture_in_the_source(hostile):
    report, path = hostile
    assert _parse(path).tags.count("svg") == expected_svgs(report) == 10


def test_a_silent_album_still_makes_a_page(tmp_path):
    report = build_report(["Silence", "More silence"], [None, None], reference=False)
    report["codecs"], report["platforms"] = [], []
    _, path = write_report(report, tmp_path)
    page = _parse(path)
    assert page.errors == [] and page.tags.count("svg") == expected_svgs(report)
    text = "".join(page.text)
    assert "—" in text and "no reference was given" in text and "No codec check" in text


# --- in the browser -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield chromium
        chromium.close()


def _open(browser, path: Path, width: int = 1200):
    """Load ``path`` recording every request; anything but the file itself is refused."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    own = path.resolve().as_uri()
    requests: list[str] = []
    errors: list[str] = []

    def route(request_route):
        requests.append(request_route.request.url)
        if request_route.request.url == own:
            request_route.continue_()
        else:
            request_route.abort()

    page.route("**/*", route)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text)
            if message.type == "error" else None)
    page.goto(own, wait_until="load")
    return page, requests, errors


def test_the_recorder_sees_external_requests_and_scripts(browser, tmp_path):
    # the checks below can fail: an external image and an inline script are caught here
    path = tmp_path / "leaky.html"
    path.write_text('<!DOCTYPE html><img src="https://example.invalid/a.png">'
                    "<script>window.__ran = 'inline'</script>")
    page, requests, _ = _open(browser, path)
    assert "https://example.invalid/a.png" in requests
    assert page.evaluate("() => window.__ran") == "inline"
    page.close()


def test_the_browser_loads_only_the_file_and_runs_nothing(browser, hostile):
    _, path = hostile
    page, requests, errors = _open(browser, path)
    assert requests == [path.resolve().as_uri()]
    assert errors == []
    assert page.evaluate("() => window.__ran === undefined && document.scripts.length === 0")
    titles = page.locator("table.songs tbody th").all_text_contents()
    assert titles == HOSTILE
    page.close()


def test_the_browser_draws_every_picture(browser, hostile):
    report, path = hostile
    page, _, _ = _open(browser, path)
    sizes = page.eval_on_selector_all(
        "svg", "svgs => svgs.map(s => [s.getBoundingClientRect().width,"
               " s.getBoundingClientRect().height, s.querySelectorAll('path').length])")
    assert len(sizes) == expected_svgs(report)
    assert all(w > 200 and h > 100 and paths > 10 for w, h, paths in sizes)
    labels = page.eval_on_selector_all("svg", "s => s.map(x => x.getAttribute('aria-label'))")
    assert labels[0].startswith("Album arc") and sum("Short-term" in x for x in labels) == 4
    page.close()


def test_the_status_table_says_what_the_checks_said(browser, hostile):
    _, path = hostile
    page, _, _ = _open(browser, path)
    cells = page.eval_on_selector_all(
        "table.status td",
        "cells => cells.map(c => [c.dataset.target, c.dataset.song, c.dataset.status,"
        " c.textContent, getComputedStyle(c).backgroundColor])")
    found = {(target, song): status for target, song, status, _, _ in cells}
    assert found == EXPECTED_STATUS
    for _, _, status, text, colour in cells:  # words, not colour alone; and colour too
        assert (status if status != "none" else "not checked") in text
        assert (colour == "rgba(0, 0, 0, 0)") == (status == "none")
    page.close()


def test_a_screenshot_for_the_docs(browser, tmp_path):
    report = build_report(NICE, [-13.0, -10.5, -15.5, -11.0, -14.0])
    _, path = write_report(report, tmp_path)
    page, requests, errors = _open(browser, path, width=1100)
    assert requests == [path.resolve().as_uri()] and errors == []
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    page.close()
    head = SCREENSHOT.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", head[16:24])
    assert width == 1100 and height > 2000

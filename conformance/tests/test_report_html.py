"""report.html in headless Chromium: the page renders, the matrix shows the
colours of the outcomes present (and no failure colour when nothing
fails), and the filters set through the URL hash work.

Chromium is a named dependency (.ci/install_deps.sh): without it these
tests fail rather than skip."""

from __future__ import annotations

import json
import re
import shutil
import struct
import subprocess
import time
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from test_report import FAILING, META, Records, synthetic

from ddk_conformance import report  # noqa: E402 (test_report put it on sys.path)
from ddk_conformance.report_html import (CRASH_COLOUR, FAILURE_COLOURS,  # noqa: E402
                                         MATRIX_CELL_MIN_WIDTH, PASS_COLOUR)


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        p = shutil.which(name)
        if p:
            return p
    pytest.fail("headless Chromium is missing (neither chromium nor chromium-browser is on "
                "PATH): run .ci/install_deps.sh, which installs the Debian package 'chromium'")


def browse(url: str, *args, timeout=120) -> subprocess.CompletedProcess:
    cmd = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
           "--force-device-scale-factor=1", "--enable-logging=stderr", "--v=0", *args, url]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{cmd}: {r.stderr[-2000:]}"
    # the page's console (errors included) goes to stderr as INFO:CONSOLE lines
    console = [line for line in r.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, "the page logged:\n" + "\n".join(console)
    return r


def screenshot(page: Path, out: Path, hash_: str = "") -> "Image":
    browse(page.resolve().as_uri() + hash_, f"--screenshot={out}", "--window-size=1280,2000")
    assert out.exists(), "chromium wrote no screenshot"
    return Image(out.read_bytes())


def dump_dom(page: Path, hash_: str = "") -> "Dom":
    r = browse(page.resolve().as_uri() + hash_, "--dump-dom")
    return Dom(r.stdout)


# ---- a small PNG decoder (8-bit RGB/RGBA, not interlaced: what Chromium writes) ----

class Image:
    def __init__(self, data: bytes):
        assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
        pos, idat, hdr = 8, [], None
        while pos < len(data):
            n, kind = struct.unpack(">I4s", data[pos:pos + 8])
            body = data[pos + 8:pos + 8 + n]
            pos += 12 + n
            if kind == b"IHDR":
                hdr = struct.unpack(">IIBBBBB", body)
            elif kind == b"IDAT":
                idat.append(body)
            elif kind == b"IEND":
                break
        w, h, depth, ctype, _, _, interlace = hdr
        assert depth == 8 and ctype in (2, 6) and interlace == 0, hdr
        self.w, self.h, ch = w, h, (3 if ctype == 2 else 4)
        raw = zlib.decompress(b"".join(idat))
        stride = w * ch
        prev = bytearray(stride)
        self.rows = []  # each row: RGB bytes
        for y in range(h):
            f = raw[y * (stride + 1)]
            line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
            if f == 1:
                for i in range(ch, stride):
                    line[i] = (line[i] + line[i - ch]) & 255
            elif f == 2:
                line = bytearray((a + b) & 255 for a, b in zip(line, prev))
            elif f == 3:
                for i in range(stride):
                    left = line[i - ch] if i >= ch else 0
                    line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
            elif f == 4:
                for i in range(stride):
                    a = line[i - ch] if i >= ch else 0
                    b, c = prev[i], (prev[i - ch] if i >= ch else 0)
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
                    line[i] = (line[i] + pred) & 255
            else:
                assert f == 0, f"bad PNG filter {f}"
            prev = line
            if ch == 4:
                line = bytearray(b for i, b in enumerate(line) if i % 4 != 3)
            self.rows.append(bytes(line))

    def count(self, colour: str) -> int:
        """Pixels of exactly `colour` ("#rrggbb")."""
        px = bytes.fromhex(colour.lstrip("#"))
        n = 0
        for row in self.rows:
            i = row.find(px)
            while i >= 0:
                if i % 3 == 0:
                    n += 1
                i = row.find(px, i + 1)
        return n

    def longest_run(self, colour: str) -> int:
        """The longest horizontal run of `colour` pixels."""
        px = bytes.fromhex(colour.lstrip("#"))
        best = 0
        for row in self.rows:
            run = 0
            for x in range(0, len(row), 3):
                run = run + 1 if row[x:x + 3] == px else 0
                best = max(best, run)
        return best

    def colours(self) -> set:
        return {row[x:x + 3] for row in self.rows[::7] for x in range(0, len(row), 21)}


# ---- the dumped DOM -------------------------------------------------------------

class Dom(HTMLParser):
    """Rows of the matrix and of the case tables, and every tag seen."""

    def __init__(self, text: str):
        super().__init__()
        self.text = text
        self.table = None
        self.mrows, self.cells, self.crows, self.tags = [], [], {}, []
        self.body = {}
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append((tag, a))
        cls = (a.get("class") or "").split()
        if tag == "body":
            self.body = a
        if tag == "table":
            self.table = a.get("id")
        elif tag == "tr" and "mrow" in cls:
            self.mrows.append(a)
        elif tag == "td" and "cell" in cls:
            self.cells.append(a)
        elif tag == "tr" and "crow" in cls:
            self.crows.setdefault(self.table, []).append(a)


# ---- records ------------------------------------------------------------------

def with_graph_crash() -> list:
    recs = synthetic()
    b = Records()
    b.next["graph"] = 100
    recs.append(b.graph("crash", ["graph"]))
    return recs


@pytest.fixture(scope="module")
def failing_page(tmp_path_factory) -> tuple:
    d = tmp_path_factory.mktemp("failing")
    recs = with_graph_crash()
    report.write_reports(d, META, recs)
    return d / "report.html", recs


@pytest.fixture(scope="module")
def clean_page(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("clean")
    report.write_reports(d, META, [r for r in synthetic() if r["outcome"] not in FAILING])
    return d / "report.html"


# ---- the screenshot -------------------------------------------------------------

def test_screenshot_shows_the_outcome_colours(failing_page, tmp_path):
    page, _ = failing_page
    img = screenshot(page, tmp_path / "shot.png")
    assert (img.w, img.h) == (1280, 2000)
    # rendered: not blank, many colours
    assert len(img.colours()) > 20
    white = img.count("#ffffff")
    assert white < 0.97 * img.w * img.h
    # matrix cells (runs at least a cell wide) in the pass and crash colours
    assert img.longest_run(PASS_COLOUR) >= MATRIX_CELL_MIN_WIDTH - 2
    assert img.longest_run(CRASH_COLOUR) >= MATRIX_CELL_MIN_WIDTH - 2
    assert img.count(CRASH_COLOUR) > 500


def test_screenshot_of_a_clean_report_has_no_failure_colour(clean_page, tmp_path):
    img = screenshot(clean_page, tmp_path / "shot.png")
    assert img.longest_run(PASS_COLOUR) >= MATRIX_CELL_MIN_WIDTH - 2
    for c in FAILURE_COLOURS:
        assert img.count(c) == 0, c


def test_hash_filter_changes_the_screenshot(failing_page, tmp_path):
    """outcome=crash leaves only the crash cells (and the static crash
    chips): no matrix cell in the pass colour."""
    page, _ = failing_page
    img = screenshot(page, tmp_path / "shot.png", "#outcome=crash")
    assert img.longest_run(CRASH_COLOUR) >= MATRIX_CELL_MIN_WIDTH - 2
    assert img.longest_run(PASS_COLOUR) < MATRIX_CELL_MIN_WIDTH - 2


# ---- filters through the URL hash, seen in the DOM after the script ran -------------

def ops_with(recs, pred) -> set:
    return {r["op"] for r in recs if r["kind"] == "op" and pred(r)}


def test_unfiltered_dom_lists_everything(failing_page):
    page, recs = failing_page
    dom = dump_dom(page)
    assert dom.body.get("data-ready") == "1", "the page's script did not finish"
    assert {m["data-op"] for m in dom.mrows} == ops_with(recs, lambda r: True)
    n_groups = len({(r["op"], r["dtype"]) for r in recs if r["kind"] == "op"})
    assert len(dom.cells) == n_groups
    assert len(dom.crows["failures"]) == sum(r["outcome"] in FAILING and r["kind"] == "op"
                                             for r in recs)
    assert len(dom.crows["graphs"]) == sum(r["kind"] == "graph" for r in recs)
    assert len(dom.crows["worst"]) == sum(r["max_ulp"] is not None and r["outcome"] != "unsupported"
                                          for r in recs)


def test_outcome_filter_in_hash_shows_only_crash_rows(failing_page):
    page, recs = failing_page
    dom = dump_dom(page, "#outcome=crash")
    assert dom.body.get("data-ready") == "1"
    crash_ops = ops_with(recs, lambda r: r["outcome"] == "crash")
    assert crash_ops == {"aten::relu"}
    assert {m["data-op"] for m in dom.mrows} == crash_ops
    for m in dom.mrows:
        assert "crash" in m["data-outcomes"].split()
    assert dom.cells and all("crash" in c["data-outcomes"].split() for c in dom.cells)
    for table in ("failures", "worst", "graphs"):
        for row in dom.crows.get(table, []):
            assert row["data-outcome"] == "crash", (table, row)
    assert len(dom.crows["failures"]) == sum(r["outcome"] == "crash" and r["kind"] == "op"
                                             for r in recs)
    assert len(dom.crows["graphs"]) == sum(r["outcome"] == "crash" and r["kind"] == "graph"
                                           for r in recs) == 1
    # the checkboxes show the filter
    boxes = {a["data-outcome"]: "checked" in a for t, a in dom.tags
             if t == "input" and "data-outcome" in a}
    assert boxes.pop("crash") is True
    assert boxes and not any(boxes.values())


def test_several_filters_in_hash(failing_page):
    page, recs = failing_page
    dom = dump_dom(page, "#outcome=pass,fail&op=ADD&claimed=1")
    assert {m["data-op"] for m in dom.mrows} == {"aten::add.Tensor"}
    assert {c["data-dtype"] for c in dom.cells} == {"float32", "int32", "float16"}
    assert [r["data-outcome"] for r in dom.crows["failures"]] == ["fail"]

    dom = dump_dom(page, "#tier=Core-Int/Bool")
    want = ops_with(recs, lambda r: r["dtype"] in ("int8", "uint8", "int16", "int32", "int64",
                                                    "bool"))
    assert {m["data-op"] for m in dom.mrows} == want
    assert {c["data-dtype"] for c in dom.cells} <= {"int32", "int64", "bool"}
    assert dom.crows.get("failures", []) == []  # no int/bool case fails
    assert all(r["data-outcome"] != "crash" for r in dom.crows.get("graphs", []))

    dom = dump_dom(page, "#claimed=1")
    claimed = ops_with(recs, lambda r: r["outcome"] != "unsupported")
    assert {m["data-op"] for m in dom.mrows} == claimed
    assert "aten::mul.Tensor" not in {m["data-op"] for m in dom.mrows}


def test_controls_drive_the_filters(failing_page, tmp_path):
    """The checkboxes, the op field, the claimed toggle and a click on a
    cell, driven by a script appended to a copy of the page."""
    page, recs = failing_page
    drive = (
        "<script>"
        "const n = () => document.querySelectorAll('#matrix td.cell[data-worst=pass]').length;"
        "document.body.dataset.before = n();"
        "document.querySelector('input[data-outcome=pass]').click();"
        "document.body.dataset.after = n();"
        "const f = document.getElementById('f-op'); f.value = 'RELU';"
        "f.dispatchEvent(new Event('input'));"
        "document.getElementById('f-claimed').click();"
        "document.querySelector('#matrix td.cell').click();"
        "document.body.dataset.hash = decodeURIComponent(location.hash);"
        "</script></body>")
    copy = tmp_path / "report.html"
    copy.write_text(page.read_text().replace("</body>", drive))
    dom = dump_dom(copy)
    # groups whose only claimed outcome is pass go when pass is unchecked
    assert int(dom.body["data-before"]) > 0 and int(dom.body["data-after"]) == 0
    assert {m["data-op"] for m in dom.mrows} == {"aten::relu"}
    assert [set(c["data-outcomes"].split()) for c in dom.cells] == [{"crash", "pass"}]
    assert [r["data-outcome"] for r in dom.crows["failures"]] == ["crash"]
    assert dom.crows.get("graphs", []) == []
    h = dom.body["data-hash"]
    assert "op=RELU" in h and "claimed=1" in h and "sel=aten::relu|float32" in h
    outs = h.split("outcome=")[1].split("&")[0].split(",")
    assert "pass" not in outs and "crash" in outs
    detail = dom.crows["detail-table"]
    relu = [r for r in recs if r["op"] == "aten::relu"]
    assert detail and {int(r["data-index"]) for r in detail} <= {r["index"] for r in relu}


def test_selection_in_hash_lists_the_groups_cases(failing_page):
    page, recs = failing_page
    dom = dump_dom(page, "#sel=aten::add.Tensor|float16")
    rows = dom.crows.get("detail-table", [])
    # the failing case of the group is listed (passing cases only when among the worst)
    want = [r for r in recs if r["op"] == "aten::add.Tensor" and r["dtype"] == "float16"]
    assert {int(r["data-index"]) for r in rows} <= {r["index"] for r in want}
    assert any(r["data-outcome"] == "fail" for r in rows)


# ---- the file itself -------------------------------------------------------------

def test_page_is_self_contained(failing_page):
    page, _ = failing_page
    text = page.read_text()
    assert not re.search(r"""(src|href)\s*=|url\(|@import|https?://""", text)
    assert text.count("<script") == 2 and text.count("<style") == 1


def test_hostile_names_are_text_not_markup(tmp_path):
    b = Records()
    r = b.op("aten::add.Tensor", "float32", "fail", ulp=3)[0]
    r["case"] = "</script><script>document.body.dataset.pwned=1</script>"
    r["detail"] = '<img src=x onerror="document.body.dataset.pwned=1"> & </table>'
    b.op("aten::relu", "float32", "pass", ulp=0)
    meta = json.loads(json.dumps(META))
    meta["backend"]["name"] = "<b>evil</b>"
    report.write_reports(tmp_path, meta, b.recs)
    dom = dump_dom(tmp_path / "report.html")
    assert dom.body.get("data-ready") == "1"
    assert "data-pwned" not in dom.text
    assert not any(t == "img" for t, _ in dom.tags)
    assert len(dom.crows["failures"]) == 1
    assert "&lt;img src=x" in dom.text
    assert "&lt;b&gt;evil&lt;/b&gt;" in dom.text


def test_page_size_with_25k_cases(tmp_path):
    """Aggregates for every group, full records for failing and worst cases
    only: 25k cases with 300 failing stay small, and the page still works."""
    b = Records()
    ops = [f"aten::op{i}" for i in range(250)]
    dts = ["float32", "float16", "int32", "int64", "bool"]
    n = 0
    while n < 25000:
        for op in ops:
            for dt in dts:
                out = "fail" if n % 83 == 0 else "unsupported" if n % 7 == 0 else "pass"
                b.op(op, dt, out, ulp=float(n % 11))
                n += 1
                if n >= 25000:
                    break
            if n >= 25000:
                break
    t = time.time()
    rep = report.write_reports(tmp_path, META, b.recs)
    took = time.time() - t
    size = (tmp_path / "report.html").stat().st_size
    n_fail = rep["summary"]["failing_cases"]
    assert n_fail == sum(r["outcome"] == "fail" for r in b.recs) > 250
    assert size < 1_000_000, size
    assert took < 30, took
    dom = dump_dom(tmp_path / "report.html")
    assert dom.body.get("data-ready") == "1"
    assert len(dom.mrows) == 250
    assert len(dom.crows["failures"]) == n_fail
    assert "report.json holds every case" in dom.text

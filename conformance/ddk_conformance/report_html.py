"""report.html from a report dict (report.build_report): one self-contained
page (inline CSS and JavaScript, no network; it opens from file://).

The header, summary, tier cards and legend are written here; the op
matrix, the case tables and the case details are drawn by the page's
script from one embedded JSON document, so filters redraw them. The page
embeds aggregates for every (op, dtype) group but full records only for
failing cases (at most MAX_EMBEDDED_FAILURES), the worst cases and the
graph cases: with 25k cases it stays a few MB at most. report.json holds
every case.

Filters live in the URL hash, so a link can carry them:
    report.html#outcome=crash,hang&op=conv&tier=Core-FP32&claimed=1&sel=aten::add.Tensor|float32
(outcome: comma-separated outcomes shown; op: a case-insensitive substring
of the op or graph case name; tier: a tier name; claimed=1: hide
unsupported; sel: the op and optionally dtype whose cases are shown).
"""

from __future__ import annotations

import html
import json

from . import OUTCOMES, is_failing
from . import tiers as _tiers
from .report import SEVERITY, dtype_key

# Outcome colours: Paul Tol's "muted" scheme, distinct under the common
# colour-vision deficiencies; each cell also writes its outcome as text.
COLOURS = {
    "pass": "#117733",
    "unsupported": "#dddddd",
    "fail": "#cc6677",
    "claimed-but-broken": "#ddcc77",
    "crash": "#882255",
    "hang": "#aa4499",
    "out-of-bounds-write": "#332288",
    "input-modified": "#88ccee",
    "leak": "#999933",
    "error": "#44aa99",
}
TEXT_COLOURS = {o: ("#ffffff" if o in ("pass", "crash", "hang", "out-of-bounds-write")
                    else "#000000") for o in OUTCOMES}
LABELS = {
    "pass": "ok", "unsupported": "n/a", "fail": "FAIL", "claimed-but-broken": "BROKEN",
    "crash": "CRASH", "hang": "HANG", "out-of-bounds-write": "OOB", "input-modified": "INPUT",
    "leak": "LEAK", "error": "ERROR",
}
MEANINGS = {
    "pass": "agrees with the reference within the op's tolerance",
    "unsupported": "not claimed by the backend (not a failure)",
    "fail": "claimed, ran, and differs from the reference",
    "claimed-but-broken": "claimed, then partition/preprocess/init/execute returned an error",
    "crash": "the case's process died",
    "hang": "no result within the time limit",
    "out-of-bounds-write": "wrote outside an output buffer",
    "input-modified": "changed an input",
    "leak": "allocations outlived destroy",
    "error": "the harness or the reference could not run the case",
}
PASS_COLOUR = COLOURS["pass"]
CRASH_COLOUR = COLOURS["crash"]
FAILURE_COLOURS = tuple(COLOURS[o] for o in OUTCOMES if is_failing(o))
# Legend and filter order: the non-failures, then failures mildest first.
LEGEND_ORDER = ("pass", "unsupported") + tuple(
    o for o in reversed(SEVERITY) if is_failing(o))
# The verdict badge: colours that are no outcome's (so that an outcome's
# colour on the page always means a case).
VERDICT_COLOURS = {"pass": "#0b4f22", "fail": "#b00020"}
# Matrix cells are at least this wide (px): wider than any outcome chip, so
# a run of an outcome's colour this long is a matrix cell.
MATRIX_CELL_MIN_WIDTH = 78
MAX_EMBEDDED_FAILURES = 5000
assert len(set(COLOURS.values())) == len(OUTCOMES) and set(COLOURS) == set(OUTCOMES)

# Page colours other than outcomes' (none of them is an outcome colour).
_CSS = """
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;
 margin:0;padding:0 24px 40px;color:#1f1f1f;background:#ffffff}
h1{font-size:22px;margin:18px 0 6px}h2{font-size:17px;margin:26px 0 8px;
 border-bottom:1px solid #c8c8c8;padding-bottom:3px}
code,.mono{font-family:"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:12px}
.verdict{display:inline-block;padding:3px 12px;border-radius:4px;font-weight:700;
 margin-left:10px;vertical-align:middle;font-size:15px}
table{border-collapse:collapse}
.meta{display:grid;grid-template-columns:max-content minmax(0,1fr) max-content minmax(0,1fr);
 gap:1px 12px;max-width:1400px}
.meta .k{color:#5a5a5a;white-space:nowrap}.meta .v{word-break:break-all}
.chip{display:inline-block;min-width:34px;padding:1px 6px;border-radius:3px;
 font-weight:600;font-size:11px;text-align:center;margin-right:4px}
.counts span.item{margin-right:14px;white-space:nowrap}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.card{border:1px solid #c8c8c8;border-left:8px solid #6b6b6b;border-radius:4px;
 padding:8px 12px;background:#fafafa}
.card.earned{border-left-color:#117733}
.card.selected{outline:3px solid #1f1f1f}
.card h3{margin:0 0 4px;font-size:15px}.card .state{font-weight:700}
.card ul{margin:4px 0 0;padding-left:18px;font-size:12px;overflow-wrap:anywhere}
.card .desc{font-size:12px;color:#4a4a4a}
.filters{position:sticky;top:0;background:#f2f2f2;border:1px solid #c8c8c8;
 padding:6px 10px;z-index:2;display:flex;flex-wrap:wrap;gap:6px 18px;align-items:center}
.filters label{white-space:nowrap;cursor:pointer}
.legend span.item{margin-right:14px;white-space:nowrap;display:inline-block}
.swatch{display:inline-block;width:12px;height:12px;border:1px solid #6b6b6b;
 vertical-align:-1px;margin-right:3px}
#matrix th,#matrix td{border:1px solid #ffffff;padding:0}
#matrix thead th{background:#f2f2f2;padding:3px 6px;font-weight:600}
.mwrap{overflow-x:auto;max-width:100%}
#matrix th.op{text-align:left;padding:2px 8px 2px 2px;font-weight:normal;cursor:pointer;
 white-space:nowrap;background:#ffffff;position:sticky;left:0;z-index:1}
#matrix th.op:hover{text-decoration:underline}
#matrix td.cell{min-width:@CELL_WIDTH@px;height:24px;text-align:center;cursor:pointer;
 font-size:11px;font-weight:600;padding:2px 6px}
#matrix td.off{background:#f4f4f4;color:#9a9a9a;text-align:center;font-size:11px}
#matrix td.none{background:#ffffff}
table.cases th,table.cases td{border:1px solid #c8c8c8;padding:2px 6px;
 vertical-align:top;font-size:12px}
table.cases th{background:#f2f2f2;text-align:left;position:sticky;top:38px}
table.cases td.num{text-align:right;font-family:"DejaVu Sans Mono",Menlo,monospace}
table.cases td.detail{max-width:520px;word-break:break-word}
#detail{border:2px solid #1f1f1f;border-radius:4px;padding:6px 12px;margin-top:12px;
 background:#fcfcfc}
.note{color:#4a4a4a;font-size:12px}
button{font:inherit;font-size:12px;cursor:pointer}
"""

_JS = r"""
(function () {
"use strict";
const D = JSON.parse(document.getElementById("ddk-data").textContent);
const OUT = D.outcomes;
const ROW_LIMIT = 500;
const state = {outcomes: new Set(D.present), op: "", tier: "", claimed: false, sel: null};
const showAll = {};
const $ = (id) => document.getElementById(id);

function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "style") e.style.cssText = v; else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  return e;
}
function fmt(v) {
  if (v === null || v === undefined || v === "") return "\u2013";
  if (typeof v !== "number") return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(3) : String(+v.toPrecision(5));
}
function chip(o) {
  return el("span", {"class": "chip", style: "background:" + OUT[o].colour + ";color:" + OUT[o].fg},
            OUT[o].label);
}

// ---- filters and the URL hash -------------------------------------------
function parseHash() {
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  state.outcomes = p.has("outcome")
    ? new Set(p.get("outcome").split(",").filter((o) => o in OUT)) : new Set(D.present);
  state.op = p.get("op") || "";
  state.tier = D.tiers.includes(p.get("tier")) ? p.get("tier") : "";
  state.claimed = p.get("claimed") === "1";
  state.sel = p.get("sel") ? p.get("sel").split("|") : null;
}
function writeHash() {
  const parts = [];
  const all = D.present.every((o) => state.outcomes.has(o));
  if (!all) parts.push("outcome=" + [...state.outcomes].join(","));
  if (state.op) parts.push("op=" + encodeURIComponent(state.op));
  if (state.tier) parts.push("tier=" + encodeURIComponent(state.tier));
  if (state.claimed) parts.push("claimed=1");
  if (state.sel) parts.push("sel=" + state.sel.map(encodeURIComponent).join("|"));
  const url = parts.length ? "#" + parts.join("&") : location.pathname + location.search;
  try { history.replaceState(null, "", url); }
  catch (e) { /* some browsers refuse on file://; the filters still apply */ }
}
function syncControls() {
  // defaultChecked/defaultValue too: the attributes then show the state
  // (a saved or dumped page keeps its filters)
  for (const cb of document.querySelectorAll("input[data-outcome]"))
    cb.checked = cb.defaultChecked = state.outcomes.has(cb.dataset.outcome);
  $("f-op").value = $("f-op").defaultValue = state.op;
  $("f-tier").value = state.tier;
  $("f-claimed").checked = $("f-claimed").defaultChecked = state.claimed;
  for (const c of document.querySelectorAll(".card"))
    c.classList.toggle("selected", c.dataset.tier === state.tier);
}
function opMatches(name) {
  return !state.op || name.toLowerCase().includes(state.op.toLowerCase());
}
function groupVisible(g) {
  if (state.tier && !g.tiers.includes(state.tier)) return false;
  if (state.claimed && g.cases === (g.outcomes.unsupported || 0)) return false;
  return Object.keys(g.outcomes).some((o) => state.outcomes.has(o));
}
function caseVisible(c) {
  if (!state.outcomes.has(c.outcome)) return false;
  if (!opMatches(c.op || c.case)) return false;
  if (state.tier && !c.tiers.includes(state.tier)) return false;
  return !(state.claimed && c.outcome === "unsupported");
}

// ---- the op matrix ------------------------------------------------------------
function groupTitle(op, dt, g) {
  const counts = D.order.filter((o) => g.outcomes[o]).map((o) => g.outcomes[o] + " " + o);
  return op + " \u00b7 " + dt + "\n" + counts.join(", ") +
    "\nmax ULP " + fmt(g.max_ulp) + " \u00b7 max abs " + fmt(g.max_abs) + " \u00b7 NMSE " +
    fmt(g.nmse) + (g.tiers.length ? "\ntiers: " + g.tiers.join(", ") : "") +
    "\n(click for its cases)";
}
function drawMatrix() {
  const rows = [];
  const cols = new Set();
  for (const o of D.ops) {
    if (!opMatches(o.op)) continue;
    const vis = D.dtypes.filter((dt) => o.groups[dt] && groupVisible(o.groups[dt]));
    if (!vis.length) continue;
    vis.forEach((dt) => cols.add(dt));
    rows.push([o, vis]);
  }
  const dts = D.dtypes.filter((dt) => cols.has(dt));
  const t = $("matrix");
  t.textContent = "";
  t.append(el("thead", {}, el("tr", {}, el("th", {}, "op"), ...dts.map((dt) => el("th", {}, dt)))));
  const tb = el("tbody");
  for (const [o, vis] of rows) {
    const outs = new Set();
    vis.forEach((dt) => Object.keys(o.groups[dt].outcomes).forEach((x) => outs.add(x)));
    const tr = el("tr", {"class": "mrow", "data-op": o.op, "data-status": o.status,
                         "data-outcomes": [...outs].join(" ")});
    const th = el("th", {"class": "op", title: o.op + ": " + o.status + " (click for its cases)"},
                  o.op, " ", el("span", {"class": "note"}, o.status));
    th.addEventListener("click", () => select([o.op]));
    tr.append(th);
    for (const dt of dts) {
      const g = o.groups[dt];
      if (!g) { tr.append(el("td", {"class": "none"})); continue; }
      if (!vis.includes(dt)) {
        tr.append(el("td", {"class": "off", title: o.op + " \u00b7 " + dt + ": filtered out"},
                     "\u00b7"));
        continue;
      }
      const w = g.worst_outcome;
      const td = el("td", {"class": "cell", "data-dtype": dt, "data-worst": w,
                           "data-outcomes": Object.keys(g.outcomes).join(" "),
                           style: "background:" + OUT[w].colour + ";color:" + OUT[w].fg,
                           title: groupTitle(o.op, dt, g)},
                    OUT[w].label + " " + g.outcomes[w] + "/" + g.cases);
      td.addEventListener("click", () => select([o.op, dt]));
      tr.append(td);
    }
    tb.append(tr);
  }
  t.append(tb);
  $("matrix-count").textContent = rows.length + " of " + D.ops.length + " ops shown";
}

// ---- case tables -----------------------------------------------------------
const OP_COLS = [["#", (c) => c.index, "num"], ["op", (c) => c.op], ["dtype", (c) => c.dtype],
  ["case", (c) => c.case], ["outcome", null], ["stage", (c) => c.stage],
  ["detail", (c) => c.detail, "detail"], ["max abs", (c) => c.max_abs, "num"],
  ["max ULP", (c) => c.max_ulp, "num"], ["NMSE", (c) => c.nmse, "num"],
  ["bias", (c) => c.bias, "num"], ["worst index", (c) => c.worst_index, "num"],
  ["got", (c) => c.worst_got, "num"], ["want", (c) => c.worst_want, "num"]];
const GRAPH_COLS = [["#", (c) => c.index, "num"], ["case", (c) => c.case],
  ["tags", (c) => (c.tags || []).join(" ")], ["outcome", null],
  ["nodes", (c) => c.nodes, "num"], ["delegated", (c) => c.delegated, "num"],
  ["partitions", (c) => c.partitions, "num"], ["stage", (c) => c.stage],
  ["detail", (c) => c.detail, "detail"], ["max abs", (c) => c.max_abs, "num"],
  ["max ULP", (c) => c.max_ulp, "num"], ["NMSE", (c) => c.nmse, "num"],
  ["ms", (c) => c.time_ms, "num"]];
function caseRow(c, cols) {
  const tr = el("tr", {"class": "crow", "data-outcome": c.outcome, "data-kind": c.kind,
                       "data-index": c.index});
  for (const [name, get, cls] of cols) {
    if (!get) { tr.append(el("td", {}, chip(c.outcome), c.outcome)); continue; }
    const v = get(c);
    tr.append(el("td", {"class": cls || null}, cls === "num" ? fmt(v) : (v ?? "")));
  }
  return tr;
}
function drawCases(id, cases, cols, filtered, empty) {
  const shown = filtered ? cases.filter(caseVisible) : cases;
  const t = $(id);
  t.textContent = "";
  t.append(el("thead", {}, el("tr", {}, ...cols.map((c) => el("th", {}, c[0])))));
  const tb = el("tbody");
  const n = showAll[id] ? shown.length : Math.min(shown.length, ROW_LIMIT);
  for (let i = 0; i < n; i++) tb.append(caseRow(shown[i], cols));
  t.append(tb);
  t.hidden = shown.length === 0;
  const cnt = $(id + "-count");
  if (!cnt) return;
  cnt.textContent = shown.length ? (shown.length + (filtered ? " shown by the filters" : "") +
    (n < shown.length ? "; the first " + n + " listed " : "")) : empty;
  if (n < shown.length) {
    const b = el("button", {}, "list all " + shown.length);
    b.addEventListener("click", () => { showAll[id] = true; draw(); });
    cnt.append(" ", b);
  }
}

// ---- one op's (or group's) cases ------------------------------------------
function select(sel) { state.sel = sel; writeHash(); drawDetail(); $("detail").scrollIntoView(); }
function drawDetail() {
  const box = $("detail");
  box.textContent = "";
  if (!state.sel) { box.hidden = true; return; }
  const [op, dt] = state.sel;
  const o = D.ops.find((x) => x.op === op);
  box.hidden = false;
  const close = el("button", {style: "float:right"}, "close");
  close.addEventListener("click", () => { state.sel = null; writeHash(); drawDetail(); });
  box.append(close, el("h3", {}, op + (dt ? " \u00b7 " + dt : "")));
  if (!o) { box.append(el("p", {}, "no cases of this op in the report")); return; }
  const dts = dt ? [dt] : D.dtypes.filter((d) => o.groups[d]);
  const agg = el("table", {"class": "cases"}, el("thead", {}, el("tr", {},
    ...["dtype", "cases", "outcomes", "worst", "max ULP", "max abs", "NMSE", "tiers"]
      .map((h) => el("th", {}, h)))));
  let notListed = 0;
  const tb = el("tbody");
  for (const d of dts) {
    const g = o.groups[d];
    if (!g) continue;
    const listed = D.cases.filter((c) => c.op === op && c.dtype === d).length;
    notListed += g.cases - listed;
    tb.append(el("tr", {}, el("td", {}, d), el("td", {"class": "num"}, g.cases),
      el("td", {}, D.order.filter((x) => g.outcomes[x]).map((x) => g.outcomes[x] + " " + x)
        .join(", ")),
      el("td", {}, chip(g.worst_outcome), g.worst_outcome),
      el("td", {"class": "num"}, fmt(g.max_ulp)),
      el("td", {"class": "num"}, fmt(g.max_abs)), el("td", {"class": "num"}, fmt(g.nmse)),
      el("td", {}, g.tiers.join(", "))));
  }
  agg.append(tb);
  box.append(agg);
  const cases = D.cases.filter((c) => c.kind === "op" && c.op === op && (!dt || c.dtype === dt));
  const t = el("table", {"class": "cases", id: "detail-table"});
  box.append(el("h4", {}, "cases listed on this page (" + cases.length + ")"), t);
  drawCases("detail-table", cases, OP_COLS, false, "");
  if (notListed > 0)
    box.append(el("p", {"class": "note"}, notListed + " passing or unsupported case(s) of " +
      "this selection are counted above but not listed here: report.json has every case."));
}

function draw() {
  drawMatrix();
  drawCases("failures", D.cases.filter((c) => c.kind === "op" && OUT[c.outcome].failing),
            OP_COLS, true, "no failing op case matches the filters");
  drawCases("worst", D.worst.map((k) => D.byKey[k]), OP_COLS, true,
            "no compared case matches the filters");
  drawCases("graphs", D.cases.filter((c) => c.kind === "graph"), GRAPH_COLS, true,
            D.graphCount ? "no graph case matches the filters" : "no graph case was run");
  drawDetail();
}

D.byKey = {};
for (const c of D.cases) D.byKey[c.kind + ":" + c.index] = c;
for (const cb of document.querySelectorAll("input[data-outcome]"))
  cb.addEventListener("change", () => {
    if (cb.checked) state.outcomes.add(cb.dataset.outcome);
    else state.outcomes.delete(cb.dataset.outcome);
    writeHash(); draw();
  });
$("f-op").addEventListener("input", (e) => { state.op = e.target.value; writeHash(); draw(); });
$("f-tier").addEventListener("change", (e) => {
  state.tier = e.target.value; writeHash(); syncControls(); draw();
});
$("f-claimed").addEventListener("change", (e) => {
  state.claimed = e.target.checked; writeHash(); draw();
});
$("f-reset").addEventListener("click", () => {
  state.outcomes = new Set(D.present); state.op = ""; state.tier = ""; state.claimed = false;
  writeHash(); syncControls(); draw();
});
window.addEventListener("hashchange", () => { parseHash(); syncControls(); draw(); });
parseHash();
syncControls();
draw();
document.body.dataset.ready = "1";
})();
"""


def _e(v) -> str:
    return html.escape("" if v is None else str(v), quote=True)


def _chip(o: str) -> str:
    return (f'<span class="chip" style="background:{COLOURS[o]};color:{TEXT_COLOURS[o]}">'
            f"{_e(LABELS[o])}</span>")


def _kv(v) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={_kv(x)}" for k, x in v.items()) or "(none)"
    if isinstance(v, (list, tuple)):
        return ", ".join(_kv(x) for x in v) or "(all)"
    return "" if v is None else str(v)


def _embedded_cases(rep: dict) -> tuple:
    """(cases, keys of the worst cases, failing op cases embedded, failing
    op cases in all): the records the page lists, each with its tiers."""
    chosen: dict = {}
    failing = [r for r in rep["cases"] if r["kind"] == "op" and is_failing(r["outcome"])]
    for r in failing[:MAX_EMBEDDED_FAILURES]:
        chosen[(r["kind"], r["index"])] = r
    by_key = {(r["kind"], r["index"]): r for r in rep["cases"]}
    worst = []
    for w in rep["worst"]:
        k = (w["kind"], w["index"])
        chosen[k] = by_key[k]
        worst.append("%s:%d" % k)
    for r in rep["cases"]:
        if r["kind"] == "graph":
            chosen[(r["kind"], r["index"])] = r
    cases = []
    for k in sorted(chosen, key=lambda k: (k[0] != "op", k[1])):
        c = dict(chosen[k])
        c["tiers"] = _tiers.tiers_of(c)
        cases.append(c)
    return cases, worst, min(len(failing), MAX_EMBEDDED_FAILURES), len(failing)


def _data(rep: dict) -> tuple:
    cases, worst, n_emb, n_fail = _embedded_cases(rep)
    dtypes = sorted({dt for o in rep["ops"] for dt in o["groups"]}, key=dtype_key)
    present = [o for o in LEGEND_ORDER if rep["summary"]["outcomes"].get(o)]
    data = {
        "outcomes": {o: {"colour": COLOURS[o], "fg": TEXT_COLOURS[o], "label": LABELS[o],
                         "failing": is_failing(o)} for o in OUTCOMES},
        "order": list(LEGEND_ORDER),
        "present": present,
        "tiers": [t["name"] for t in rep["tiers"]],
        "dtypes": dtypes,
        "ops": rep["ops"],
        "cases": cases,
        "worst": worst,
        "graphCount": rep["summary"]["graph_cases"],
    }
    return data, n_emb, n_fail


def _json_for_script(obj) -> str:
    s = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _header(rep: dict) -> str:
    be = rep.get("backend") or {}
    sm = rep["summary"]
    verdict = sm["verdict"]
    vcol = VERDICT_COLOURS[verdict]
    rows = [
        ("backend", be.get("name")), ("version", be.get("version")), ("ABI", be.get("abi")),
        ("device", be.get("device")), ("plugin", be.get("path")),
        ("sha256", be.get("sha256")), ("available", be.get("available")),
        ("backend detail", be.get("detail")), ("accuracy profile", rep.get("profile")),
        ("options", _kv(rep.get("options") or {})), ("suite version", rep.get("suite_version")),
        ("op-table hash", rep.get("op_table_hash")), ("runner version", rep.get("runner_version")),
        ("created", rep.get("created")),
        ("duration", None if rep.get("duration_s") is None else f"{rep['duration_s']} s"),
        ("selection", _kv(rep.get("selection") or {})), ("host", _kv(rep.get("host") or {})),
    ]
    meta = "".join(f'<div class="k">{_e(k)}</div><div class="v mono">{_e(v)}</div>'
                   for k, v in rows if v not in (None, ""))
    return (f'<h1>DDK conformance report: {_e(be.get("name") or "?")}'
            f'<span class="verdict" id="verdict" style="background:{vcol};color:#ffffff">'
            f"{_e(verdict.upper())}</span></h1>\n"
            f'<div class="meta">{meta}</div>\n')


def _summary(rep: dict) -> str:
    sm = rep["summary"]
    outs = "".join(f'<span class="item">{_chip(o)}{_e(o)} <b>{sm["outcomes"][o]}</b></span>'
                   for o in LEGEND_ORDER if sm["outcomes"].get(o))
    return ("<h2>Summary</h2>\n"
            f'<p class="counts">{sm["cases"]} cases: {outs}</p>\n'
            f'<p>ops: <b>{sm["ops_total"]}</b> run, <b>{sm["ops_claimed"]}</b> claimed, '
            f'<b>{sm["ops_passed"]}</b> passed (claimed, every claimed case passes), '
            f'<b>{sm["ops_failed"]}</b> failed, <b>{sm["ops_unsupported"]}</b> unsupported. '
            f'Graph cases: <b>{sm["graph_cases"]}</b> run, <b>{sm["graph_cases_passed"]}</b> '
            f'passed, <b>{sm["graph_cases_failed"]}</b> failed.</p>\n')


def _tier_cards(rep: dict) -> str:
    cards = []
    for t in rep["tiers"]:
        state = ("EARNED, complete" if t["complete"] else "EARNED") if t["earned"] else "NOT EARNED"
        counts = ", ".join(f"{n} {o}" for o, n in sorted(
            t["cases"].items(), key=lambda kv: LEGEND_ORDER.index(kv[0]))) or "no cases run"
        blockers = t["blockers"]
        bl = ""
        if blockers:
            items = "".join(f"<li>{_e(b)}</li>" for b in blockers[:8])
            more = ""
            if len(blockers) > 8:
                more = ("<details><summary>%d more</summary><ul>%s</ul></details>"
                        % (len(blockers) - 8, "".join(f"<li>{_e(b)}</li>" for b in blockers[8:])))
            bl = f"<div>what keeps it from being earned:</div><ul>{items}</ul>{more}"
        cov = (f'{t["ops_claimed"]} of {t["ops_in_tier"]} ops claimed, {t["ops_clean"]} clean'
               if t["ops_in_tier"] else f'{t["ops_claimed"]} graph case(s) claimed, '
               f'{t["ops_clean"]} clean')
        cards.append(
            f'<div class="card{" earned" if t["earned"] else ""}" data-tier="{_e(t["name"])}">'
            f'<h3>{_e(t["name"])}</h3><div class="state">{_e(state)}</div>'
            f'<div class="desc">{_e(t["description"])}</div>'
            f"<div>coverage: {_e(cov)}</div><div>cases: {_e(counts)}</div>{bl}</div>")
    rule = rep["tiers"][0]["rule"] if rep["tiers"] else ""
    return (f'<h2>Tiers</h2>\n<p class="note">Rule for every tier: {_e(rule)}. '
            "Complete: earned with every op of the tier claimed and every case claimed.</p>\n"
            f'<div class="cards">{"".join(cards)}</div>\n')


def _filters(rep: dict, present: list) -> str:
    boxes = "".join(
        f'<label><input type="checkbox" data-outcome="{_e(o)}" checked>'
        f'<span class="swatch" style="background:{COLOURS[o]}"></span>{_e(o)}</label>'
        for o in present)
    tiers = "".join(f'<option value="{_e(t["name"])}">{_e(t["name"])}</option>'
                    for t in rep["tiers"])
    return ('<div class="filters" id="filters"><b>Filters</b>'
            f"{boxes}"
            '<label>op <input type="search" id="f-op" placeholder="name contains" size="18">'
            "</label>"
            f'<label>tier <select id="f-tier"><option value="">all</option>{tiers}</select></label>'
            '<label><input type="checkbox" id="f-claimed"> claimed only</label>'
            '<button id="f-reset">reset</button></div>\n')


def _legend(present: list) -> str:
    items = "".join(f'<span class="item">{_chip(o)}<b>{_e(o)}</b>: {_e(MEANINGS[o])}</span>'
                    for o in present)
    return (f'<p class="legend">{items}</p>\n'
            '<p class="note">A cell is coloured by the most severe outcome among its cases '
            f'(most severe first: {_e(", ".join(SEVERITY))}) and reads "outcome '
            'count/cases"; hover for the counts and error statistics, click a cell or an op '
            "for its cases.</p>\n")


def render(rep: dict) -> str:
    """The page (a str of HTML)."""
    data, n_emb, n_fail = _data(rep)
    present = data["present"]
    be = (rep.get("backend") or {}).get("name") or "?"
    embed_note = (
        f"This page holds aggregates for all {rep['summary']['cases']} cases (every op and "
        f"dtype group) but lists case by case only the failing op cases"
        + (f" (the first {n_emb} of {n_fail})" if n_emb < n_fail else f" ({n_fail})")
        + f", the {len(data['worst'])} worst compared cases and every graph case; passing and "
        "unsupported op cases are counted, not listed. report.json holds every case.")
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n",
        f"<title>DDK conformance: {_e(be)} ({_e(rep['summary']['verdict'])})</title>\n",
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n',
        "<style>", _CSS.replace("@CELL_WIDTH@", str(MATRIX_CELL_MIN_WIDTH)),
        "</style>\n</head><body>\n",
        "<noscript><p><b>This page draws its matrix and tables with JavaScript;"
        " report.json holds the same data.</b></p></noscript>\n",
        _header(rep), _summary(rep), _tier_cards(rep),
        "<h2>Ops by dtype group</h2>\n", _filters(rep, present), _legend(present),
        '<p class="note" id="matrix-count"></p>',
        '<div class="mwrap"><table id="matrix"></table></div>\n',
        '<div id="detail" hidden></div>\n',
        '<h2>Failing cases</h2>\n<p class="note" id="failures-count"></p>',
        '<table class="cases" id="failures"></table>\n',
        f'<h2>Worst cases by error (top {len(data["worst"])} by max ULP, then NMSE)</h2>\n',
        '<p class="note" id="worst-count"></p><table class="cases" id="worst"></table>\n',
        '<h2>Graph cases</h2>\n<p class="note" id="graphs-count"></p>',
        '<table class="cases" id="graphs"></table>\n',
        f'<p class="note" id="embed-note">{_e(embed_note)}</p>\n',
        f'<script type="application/json" id="ddk-data">{_json_for_script(data)}</script>\n',
        f"<script>{_JS}</script>\n</body></html>\n",
    ])

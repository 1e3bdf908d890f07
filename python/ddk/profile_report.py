"""`ddk profile --plot / --html`: the per-op time plot and the HTML report.

Owns the drawing (matplotlib, Agg backend: no display needed) and the
self-contained HTML page (the tables, with the PNG embedded as a base64
data URI). The data comes from python/ddk/profiling.py (profile() reports
and compare() comparisons); nothing here measures anything.
"""
from __future__ import annotations

import base64
import html
import io
from collections.abc import Sequence

__all__ = ["require_matplotlib", "plot_png", "write_plot", "html_page", "write_html",
           "leaf_rows", "COLOURS"]

MATPLOTLIB_MISSING = ("the profile plot needs matplotlib, which is not installed "
                      "(python3 -m pip install matplotlib, or .ci/install_deps.sh)")

# Bar colours: a delegate's own work, the portable kernels (not claimed),
# a fallen-back partition (claimed, init failed), boundary work (copies,
# call overhead), a backend event that is no one node's (a whole-runtime
# timing, say).
COLOURS = {"delegate": "#1f77b4", "portable": "#7f7f7f", "fallback": "#d62728",
           "boundary": "#ff7f0e", "other": "#9467bd"}
SIDE_COLOURS = ("#7f7f7f", "#1f77b4")  # compare: A, B


class MissingDependency(ValueError):
    """An optional Python package the asked-for output needs is absent."""


def require_matplotlib():
    """matplotlib.pyplot on the Agg backend; MissingDependency if absent."""
    try:
        import matplotlib
    except ImportError as e:
        raise MissingDependency(f"{MATPLOTLIB_MISSING}: {e}") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def leaf_rows(report: dict) -> list[dict]:
    """The rows whose times add up to the whole run, each once: kernels,
    fallen-back partitions, a delegate's events and its unaccounted call
    time, or the delegate call itself when it emitted no events. Each
    gets "category" (a COLOURS key) and "label"."""
    rows = report["rows"]
    with_events = {r["instruction"] for r in rows if r["level"] == 1}
    out = []
    for r in rows:
        if r["level"] == 0 and r["instruction"] in with_events:
            continue
        cat = {"kernel": "portable", "fallback": "fallback", "delegate": "delegate",
               "op": "delegate", "copy": "boundary", "overhead": "boundary"}.get(
                   r["kind"], "other")  # other, compile
        node = "" if r["node"] is None or r["kind"] == "delegate" else f"n{r['node']} "
        op = r["op"].split("::")[-1]
        op = op if len(op) <= 30 else op[:29] + "\u2026"
        out.append({**r, "category": cat, "label": f"{node}{op} [{r['ran_on']}]"})
    return out


def _figure_png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _plot_report(plt, report: dict, top: int):
    leaves = sorted(leaf_rows(report), key=lambda r: -r["time_ns"])[:top]
    leaves.reverse()  # the slowest at the top of a horizontal bar chart
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.28 * max(1, len(leaves))))
    ax.barh(range(len(leaves)), [r["time_ns"] / 1e3 for r in leaves],
            color=[COLOURS[r["category"]] for r in leaves])
    ax.set_yticks(range(len(leaves)), [r["label"] for r in leaves], fontsize=8)
    ax.set_xlabel("median time per run (us)")
    total = sum(r["time_ns"] for r in report["rows"] if r["level"] == 0)
    on = ", ".join(report["backends"]) or "portable"
    ax.set_title(f"{report['program'].split('/')[-1]} on {on}: top {len(leaves)} ops "
                 f"of {total / 1e6:.2f} ms", fontsize=10)
    from matplotlib.patches import Patch
    present = sorted({r["category"] for r in leaves})
    labels = {"delegate": "delegate", "portable": "portable (not claimed)",
              "fallback": "fallback (init failed)", "boundary": "boundary: copy / overhead",
              "other": "backend event of no one node"}
    ax.legend(handles=[Patch(color=COLOURS[c], label=labels[c]) for c in present],
              loc="lower right", fontsize=8)
    return fig


def _compare_entries(cmp: dict) -> list[dict]:
    rows = {r["node"]: r for r in cmp["rows"]}
    out = []
    for kind, key in cmp["order"]:
        if kind == "group":
            g = cmp["groups"][key]
            out.append({**g, "label": g["label"][:40]})
        else:
            r = rows[key]
            out.append({**r, "label": f"n{key} {r['op'].split('::')[-1]}"[:40]})
    return out


def _plot_compare(plt, cmp: dict, top: int):
    ents = _compare_entries(cmp)
    ents.sort(key=lambda e: -max(e["time_a_ns"] or 0, e["time_b_ns"] or 0))
    ents = ents[:top][::-1]
    fig, ax = plt.subplots(figsize=(10, 1.2 + 0.36 * max(1, len(ents))))
    h = 0.4
    ys = range(len(ents))
    for side, (key, colour) in enumerate(zip(("time_a_ns", "time_b_ns"), SIDE_COLOURS)):
        label = f"{'AB'[side]}: {cmp['label_' + 'ab'[side]]}"
        ax.barh([y + (h / 2 if side == 0 else -h / 2) for y in ys],
                [(e[key] or 0) / 1e3 for e in ents], height=h, color=colour, label=label)
    ax.set_yticks(list(ys), [e["label"] for e in ents], fontsize=8)
    for y, e in zip(ys, ents):
        if e["speedup"] is not None:
            ax.annotate(f"x{e['speedup']:.2f}", (max(e["time_a_ns"] or 0, e["time_b_ns"] or 0)
                                                 / 1e3, y), xytext=(3, -3),
                        textcoords="offset points", fontsize=7)
    ax.set_xlabel("median time per run (us); xN = time A / time B")
    ax.set_title(f"A = {cmp['label_a']} vs B = {cmp['label_b']}: the {len(ents)} "
                 "slowest nodes or groups", fontsize=10)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def plot_png(report: dict | None = None, compare: dict | None = None, top: int = 25) -> bytes:
    """The plot as PNG bytes: per-op time of a profile (the `top` slowest,
    coloured delegate / portable / fallback / boundary), or for a
    comparison both sides' times per node."""
    plt = require_matplotlib()
    fig = _plot_compare(plt, compare, top) if compare is not None else \
        _plot_report(plt, report, top)
    try:
        return _figure_png(fig)
    finally:
        plt.close(fig)


def write_plot(path: str, report: dict | None = None, compare: dict | None = None,
               top: int = 25) -> None:
    data = plot_png(report, compare, top)
    with open(path, "wb") as f:
        f.write(data)


# ---- HTML ------------------------------------------------------------------------------

_CSS = """body{font-family:sans-serif;margin:1.5em;color:#222}
table{border-collapse:collapse;font-size:13px;margin:.5em 0 1.5em}
td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}
td.t,th.t{text-align:left} tr.sub td{color:#555;font-size:12px}
tr.portable td.on{color:#7f7f7f} tr.fallback td.on{color:#d62728}
tr.loss td.sp{color:#d62728;font-weight:bold} img{max-width:100%}
.note{color:#666}"""


def _cell(v, spec: str = "", cls: str = "") -> str:
    text = "-" if v is None else (format(v, spec) if spec else str(v))
    c = f' class="{cls}"' if cls else ""
    return f"<td{c}>{html.escape(text)}</td>"


def _table(head: Sequence[str], body: list[str], left: Sequence[int] = ()) -> str:
    th = "".join(f'<th{" class=t" if i in left else ""}>{html.escape(h)}</th>'
                 for i, h in enumerate(head))
    return f"<table><thead><tr>{th}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _report_html(r: dict) -> str:
    lat, t = r["latency_ms"], r["times_ms"]
    parts = [f"<h2>{html.escape(r['program'])} on "
             f"{html.escape(', '.join(r['backends']) or 'portable')}</h2>",
             "<p>" + html.escape(", ".join(f"{k[:-3]} {v:.2f} ms" for k, v in t.items())) +
             "<br>" + html.escape(
                 f"warm latency over {lat['n']} runs (ms): min {lat['min']:.3f}, p10 "
                 f"{lat['p10']:.3f}, p50 {lat['p50']:.3f}, p90 {lat['p90']:.3f}, max "
                 f"{lat['max']:.3f}, trimmed mean {lat['trimmed_mean']:.3f}") + "<br>" +
             html.escape(f"memory: arena {r['memory']['arena_bytes']:,} B, peak RSS "
                         f"{r['memory']['peak_rss_bytes']:,} B") + "</p>",
             "<p class=note>" + "<br>".join(html.escape(n) for n in r["notes"]) + "</p>"]
    body = []
    for x in r["rows"]:
        cls = " ".join(c for c in (x["ran_on"] if x["ran_on"] == "portable" else "",
                                   "fallback" if x["kind"] == "fallback" else "",
                                   "sub" if x["level"] else "") if c)
        op = ("\u00a0\u00a0" * x["level"]) + x["op"]
        body.append(f'<tr class="{cls}">' + _cell(x["instruction"]) + _cell(x["node"]) +
                    _cell(op, cls="t") + _cell(x["ran_on"], cls="t on") +
                    _cell(x["time_ns"] / 1e3, ".1f") + _cell(100 * x["share"], ".1f") +
                    _cell(x["gflop_per_s"], ".2f") + _cell(x["gb_per_s"], ".2f") +
                    _cell(x["reason"], cls="t") + "</tr>")
    parts.append(_table(["instr", "node", "op", "ran on", "time us", "share %", "GFLOP/s",
                         "GB/s", "note"], body, left=(2, 3, 8)))
    if r["boundaries"]:
        body = []
        for b in r["boundaries"]:
            body.append("<tr>" + _cell(b["delegate"]) + _cell(b["backend"], cls="t") +
                        _cell(b["nodes"]) + _cell(b["call_ns"] / 1e3, ".1f") +
                        _cell(b["copy_in_ns"] / 1e3, ".1f") + _cell(b["copy_in_bytes"]) +
                        _cell(b["copy_out_ns"] / 1e3, ".1f") + _cell(b["copy_out_bytes"]) +
                        _cell(b["ops_ns"] / 1e3, ".1f") + _cell(b["other_ns"] / 1e3, ".1f") +
                        _cell(b["remainder_ns"] / 1e3, ".1f") + _cell(b["note"], cls="t") +
                        "</tr>")
        parts.append("<h3>Partition boundaries (per delegate call, us)</h3>" + _table(
            ["delegate", "backend", "nodes", "call", "copy in", "in bytes", "copy out",
             "out bytes", "ops", "other", "remainder", "note"], body, left=(1, 11)))
    return "\n".join(parts)


def _compare_html(cmp: dict) -> str:
    t = cmp["totals"]
    sp = lambda s: "-" if s is None else f"x{s:.2f}"  # noqa: E731
    parts = [f"<h2>Compare: A = {html.escape(cmp['label_a'])}, B = "
             f"{html.escape(cmp['label_b'])}</h2>",
             "<p>" + html.escape(
                 f"speed-up = time A / time B (below x1.00 B loses). Sum of instruction "
                 f"medians: A {t['instructions_a_ns'] / 1e6:.3f} ms, B "
                 f"{t['instructions_b_ns'] / 1e6:.3f} ms ({sp(t['speedup_instructions'])}); "
                 f"warm p50: A {t['latency_p50_a_ms']:.3f} ms, B {t['latency_p50_b_ms']:.3f}"
                 f" ms ({sp(t['speedup_latency_p50'])})") + "</p>"]
    body = []
    for e in _compare_entries(cmp):
        loss = e["speedup"] is not None and e["speedup"] < 1
        body.append(f'<tr class="{"loss" if loss else ""}">' + _cell(e["label"], cls="t") +
                    _cell(e["ran_on_a"], cls="t") + _cell(e["ran_on_b"], cls="t") +
                    _cell(None if e["time_a_ns"] is None else e["time_a_ns"] / 1e3, ".1f") +
                    _cell(None if e["time_b_ns"] is None else e["time_b_ns"] / 1e3, ".1f") +
                    _cell(sp(e["speedup"]), cls="sp") + _cell(e["note"], cls="t") + "</tr>")
    parts.append(_table(["node / group", "A on", "B on", "A us", "B us", "speed-up", "note"],
                        body, left=(0, 1, 2, 6)))
    return "\n".join(parts)


def html_page(report: dict | None = None, compare: dict | None = None, top: int = 25,
              png: bytes | None = None, plot_note: str = "") -> str:
    """A self-contained page: the plot (`png`, embedded as a data URI, or
    `plot_note` saying why there is none) and the tables."""
    title = "ddk profile" + (" --compare" if compare is not None else "")
    if png is not None:
        img = (f'<img alt="per-op time" src="data:image/png;base64,'
               f'{base64.b64encode(png).decode("ascii")}">')
    else:
        img = f"<p class=note>{html.escape(plot_note)}</p>"
    if compare is not None:
        body = [_compare_html(compare), img, _report_html(compare["a"]),
                _report_html(compare["b"])]
    else:
        body = [img, _report_html(report)]
    return (f"<!DOCTYPE html>\n<html><head><meta charset=utf-8><title>{title}</title>"
            f"<style>{_CSS}</style></head><body><h1>{title}</h1>\n" + "\n".join(body) +
            "\n</body></html>\n")


def write_html(path: str, report: dict | None = None, compare: dict | None = None,
               top: int = 25) -> str:
    """Writes html_page() to `path`, with the plot when matplotlib is
    installed. Returns a note ("" when the plot is in)."""
    try:
        png, note = plot_png(report, compare, top), ""
    except MissingDependency as e:
        png, note = None, f"plot omitted: {e}"
    with open(path, "w", encoding="utf-8") as f:
        f.write(html_page(report, compare, top, png, note))
    return note

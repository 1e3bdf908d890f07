"""junit.xml from a report dict (report.build_report).

One <testsuite> per backend (suite_of), one <testcase> per case:
classname "<backend>.<op>" (graph cases: "<backend>.graph"), name
"<dtype>/<case>" (graph cases: the case name). A failing outcome is a
<failure type="<outcome>"> whose text holds the stage, detail and error
statistics; "unsupported" is <skipped message="unsupported"/>. Every case
outcome that fails the backend, "error" included, counts as a failure
(there are no junit errors: the report's verdict and junit agree).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from . import is_failing

# Characters XML 1.0 cannot hold, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(v) -> str:
    """`v` as text XML 1.0 can hold: characters it forbids become \\uXXXX
    (ElementTree escapes the rest)."""
    return _NOT_XML.sub(lambda m: "\\u%04x" % ord(m.group()), "" if v is None else str(v))


def _num(v) -> str:
    return "-" if v is None else "%.6g" % v if isinstance(v, float) else str(v)


def failure_text(r) -> str:
    lines = []
    if r.get("stage"):
        lines.append(f"stage: {r['stage']}")
    if r.get("detail"):
        lines.append(f"detail: {r['detail']}")
    if r.get("max_ulp") is not None or r.get("max_abs") is not None or r.get("nmse") is not None:
        lines.append("max_abs {} max_ulp {} nmse {} bias {}".format(
            *(_num(r.get(k)) for k in ("max_abs", "max_ulp", "nmse", "bias"))))
        lines.append("worst element {}: got {} want {}".format(
            *(_num(r.get(k)) for k in ("worst_index", "worst_got", "worst_want"))))
    return "\n".join(lines)


def testcase_names(r, backend: str) -> tuple:
    """(classname, name) of a case's <testcase>."""
    if r["kind"] == "graph":
        return f"{backend}.graph", r["case"]
    return f"{backend}.{r['op']}", f"{r['dtype']}/{r['case']}"


def suite_of(r, default: str) -> str:
    """The <testsuite> of a case: its backend. A graph case run on two
    backends names both ("a,b"); it goes to the backend under test
    (`default`, the run's backend) when that is one of them, else to the
    first."""
    names = [n.strip() for n in (r.get("backend") or "").split(",") if n.strip()]
    if not names or default in names:
        return default
    return names[0]


def _set(el, attrs: dict) -> None:
    for k, v in attrs.items():
        el.set(k, xml_text(v))


def render(rep: dict) -> bytes:
    """The junit.xml document (UTF-8 bytes, with an XML declaration)."""
    default = (rep.get("backend") or {}).get("name") or "backend"
    suites: dict = {}
    for r in rep["cases"]:
        suites.setdefault(suite_of(r, default), []).append(r)
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "errors": 0, "skipped": 0, "time": 0.0}
    for backend, recs in suites.items():
        failures = sum(is_failing(r["outcome"]) for r in recs)
        skipped = sum(r["outcome"] == "unsupported" for r in recs)
        secs = sum((r.get("time_ms") or 0) for r in recs) / 1000.0
        ts = ET.SubElement(root, "testsuite")
        _set(ts, {"name": backend, "tests": len(recs), "failures": failures, "errors": 0,
                  "skipped": skipped, "time": "%.3f" % secs,
                  "timestamp": rep.get("created") or ""})
        props = ET.SubElement(ts, "properties")
        be = rep.get("backend") or {}
        for k, v in (("schema", rep.get("schema")), ("suite_version", rep.get("suite_version")),
                     ("op_table_hash", rep.get("op_table_hash")),
                     ("runner_version", rep.get("runner_version")),
                     ("profile", rep.get("profile")),
                     *((f"backend.{k}", be.get(k)) for k in ("name", "version", "abi", "sha256",
                                                            "device"))):
            if v is not None:
                _set(ET.SubElement(props, "property"), {"name": k, "value": v})
        for r in recs:
            cls, name = testcase_names(r, backend)
            tc = ET.SubElement(ts, "testcase")
            _set(tc, {"classname": cls, "name": name,
                      "time": "%.3f" % ((r.get("time_ms") or 0) / 1000.0)})
            if is_failing(r["outcome"]):
                f = ET.SubElement(tc, "failure")
                msg = r["outcome"] + (f": {r['detail']}" if r.get("detail") else "")
                _set(f, {"type": r["outcome"], "message": msg})
                f.text = xml_text(failure_text(r))
            elif r["outcome"] == "unsupported":
                _set(ET.SubElement(tc, "skipped"), {"message": "unsupported"})
        totals["tests"] += len(recs)
        totals["failures"] += failures
        totals["skipped"] += skipped
        totals["time"] += secs
    _set(root, {"name": "ddk-conformance", "tests": totals["tests"],
                "failures": totals["failures"], "errors": 0, "skipped": totals["skipped"],
                "time": "%.3f" % totals["time"]})
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"

"""The DDK conformance suite's Python side: case selection (from the op
table), tiers and their pass rules, the pytest plugin, bundles for targets
without Python, and the report writers.

    python3 -m pytest -p ddk_conformance.plugin conformance/suite \\
        --backend build/sample_delegates/libddk_backend_template.so \\
        --report-dir build/reports/conformance

See conformance/README.md.
"""

SUITE_VERSION = "1.0.0"

# Outcomes a case can have (conformance/runner/ddk_conform.c). Every
# outcome except these two is a failure of the backend.
NON_FAILING = ("pass", "unsupported")
OUTCOMES = ("pass", "fail", "unsupported", "claimed-but-broken", "crash", "hang",
            "out-of-bounds-write", "input-modified", "leak", "error")


def is_failing(outcome: str) -> bool:
    return outcome not in NON_FAILING

"""The conformance suite's items (see ddk_conformance/plugin.py, which
parametrizes them from the op table and the graph cases):

    python3 -m pytest -p ddk_conformance.plugin conformance/suite --backend NAME_OR_PATH
"""
from ddk_conformance import plugin


def test_op_cases(request, ddk_conformance, ddk_op_group):
    backend, group = ddk_op_group
    plugin.run_op_group(request.node, ddk_conformance, backend, group)


def test_graph_case(request, ddk_conformance, ddk_graph_case):
    backend, case = ddk_graph_case
    plugin.run_graph_case(request.node, ddk_conformance, backend, case)


def test_write_bundle(ddk_conformance):
    """Only with --write-bundle DIR: writes the selected cases as a bundle
    (ddk_conformance/bundle.py) instead of running them."""
    plugin.write_bundle(ddk_conformance)

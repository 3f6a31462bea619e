"""The package's shape, checked: no import cycles, no module over 400 lines, every module imports
on its own, and the registry's pretrained tags match the weights shipped."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from import_graph import cycles, import_graph, modules  # noqa: E402

MAX_LINES = 400


def test_no_import_cycles_inside_the_package():
    graph = import_graph(ROOT)
    assert len(graph) > 100 and sum(map(len, graph.values())) > 300  # the graph was really read
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_over_400_lines():
    long = {name: n for name, path in modules(ROOT).items() if (n := len(path.read_text().splitlines())) > MAX_LINES}
    assert long == {}


@pytest.mark.parametrize("name", sorted(modules(ROOT)))
def test_every_module_imports(name):
    importlib.import_module(name)


def test_pretrained_tags_are_the_weights_shipped():
    from edgeseg.registry import list_pretrained
    from edgeseg.weights import WEIGHTS_DIR

    declared = {f"{name}-{tag}.safetensors" for name, tag in list_pretrained()}
    assert declared == {p.name for p in WEIGHTS_DIR.glob("*.safetensors")} and declared

"""The report modules import one way: results call renderers, renderers never call back.

``postpilot.reports`` renders every HTML report; the result objects
(``DriftReport``, ``PerformanceReport``, ``Card``) import their renderer inside
``to_html`` only, and the renderers name the result classes for type checking only.
The chart code (``postpilot.reports.charts``) depends on nothing but the standard
library and the page helpers, so a dashboard can draw the same charts.

Two kinds of checks:

- each module imported alone in a fresh interpreter (so it is the first of the
  group to load, the order in which a circle of module-level imports fails), then
  every report rendered from there, which runs the function-level imports too;
- the runtime import graph read from the source (module-level and function-level
  imports, ``if TYPE_CHECKING:`` blocks left out), which sees imports that a
  particular run does not execute.
"""

from __future__ import annotations

import ast
import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

import postpilot

SRC = Path(postpilot.__file__).resolve().parent

RESULTS = ["postpilot.monitoring.results", "postpilot.performance.results", "postpilot.card"]
RENDERERS = ["postpilot.reports.drift", "postpilot.reports.performance", "postpilot.reports.card"]
HELPERS = ["postpilot.reports", "postpilot.reports.html", "postpilot.reports.charts"]
CALLERS = ("postpilot.monitoring", "postpilot.performance", "postpilot.card")

# What importing each module alone must not load.
FORBIDDEN = {
    **{m: (*CALLERS, "postpilot.profiles", *RENDERERS) for m in HELPERS},
    **{m: CALLERS for m in RENDERERS},
    **{m: ("postpilot.reports",) for m in RESULTS},
}

_SCRIPT = r"""
import importlib, json, sys

first = sys.argv[1]
importlib.import_module(first)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "postpilot")

from postpilot.card import Card, Section, Table
from postpilot.monitoring.results import ChunkDrift, ColumnDrift, DriftReport, MultivariateDrift
from postpilot.performance.results import (
    ChunkPerformance, MetricResult, PerformanceReport, Threshold,
)

name = "<script>alert(1)</script>"


def column(i):
    return ColumnDrift(name, "jensen_shannon", 0.05 * i, None, 0.1, drifted=i == 3)


def pca(i):
    return MultivariateDrift(1.0 + i, 0.5, 2.5, i == 3, direction="above" if i == 3 else None)


def auc(i):
    change = "worse" if i == 3 else None
    return MetricResult("roc_auc", 0.9 - 0.05 * i, 0.8, 0.95, None, i == 3, change=change)


chunks = [ChunkDrift(str(i), None, None, 100, [column(i)], pca(i)) for i in range(4)]
drift = DriftReport(chunks=chunks, reference_rows=400, columns=[name])
perf = PerformanceReport(
    problem="binary",
    method="cbpe",
    chunks=[
        ChunkPerformance(str(i), None, None, 100, 0, [auc(i)], warnings=[name] if i == 2 else [])
        for i in range(4)
    ],
    reference_chunks=[],
    thresholds={"roc_auc": Threshold(0.85, None, "sla")},
    reference_rows=400,
)
card = Card(name, [Section(name, [name, Table([name], [[name]])])])
pages = {
    "drift": drift.to_html(name, performance=perf),
    "performance": perf.to_html(name),
    "card": card.to_html(),
}
print(json.dumps({"loaded": loaded, "pages": pages}))
"""


def _alone(module: str) -> dict[str, object]:
    run = subprocess.run(
        [sys.executable, "-c", _SCRIPT, module], capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, f"importing {module} first failed:\n{run.stderr}"
    data: dict[str, object] = json.loads(run.stdout)
    return data


@functools.cache
def _package_alone() -> frozenset[str]:
    """What ``import postpilot`` loads by itself: Python runs a package's
    ``__init__`` before any module in it, so that is not the module's doing."""
    code = "import json, sys, postpilot; print(json.dumps(sorted(sys.modules)))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return frozenset(json.loads(run.stdout))


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


@pytest.mark.parametrize("module", [*HELPERS, *RENDERERS, *RESULTS])
def test_each_module_imports_alone_and_every_report_renders_after_it(module: str) -> None:
    data = _alone(module)
    loaded = data["loaded"]
    assert isinstance(loaded, list)
    leaked = [m for m in loaded if _within(m, FORBIDDEN[module]) and m not in _package_alone()]
    assert not leaked, f"importing {module} alone loaded {leaked}"
    pages = data["pages"]
    assert isinstance(pages, dict)
    for kind, page in pages.items():
        assert page.startswith("<!doctype html>"), kind
        assert "<script" not in page, f"{kind}: user text not escaped"
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page, kind
    assert "<h2>Model performance</h2>" in pages["drift"]  # the section, on the drift page
    assert "<svg" in pages["drift"]
    assert "<svg" in pages["performance"]


# The runtime import graph, read from the source.


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = ("postpilot", *path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(module: str) -> list[tuple[str, bool]]:
    """The postpilot modules ``module`` imports when it runs: (target, at module level).
    Function-level imports count (they run when the function does); imports under
    ``if TYPE_CHECKING:`` do not."""
    found: list[tuple[str, bool]] = []

    def target(name: str) -> str:
        return name if name in MODULES else name.rsplit(".", 1)[0]

    def visit(node: ast.AST, top: bool) -> None:
        if isinstance(node, ast.If) and _type_checking(node):
            for child in node.orelse:
                visit(child, top)
            return
        if isinstance(node, ast.Import):
            found.extend((a.name, top) for a in node.names if a.name.split(".")[0] == "postpilot")
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "postpilot":
            found.extend((target(f"{node.module}.{a.name}"), top) for a in node.names)
        inner = top and not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(MODULES[module].read_text()), True)
    return found


def _closure(start: list[str]) -> dict[str, set[str]]:
    """Every postpilot module reachable at runtime from ``start``, with its edges."""
    graph: dict[str, set[str]] = {}
    todo = list(start)
    while todo:
        module = todo.pop()
        if module in graph or module not in MODULES:
            continue
        graph[module] = {t for t, _ in _imports(module) if t in MODULES}
        todo.extend(graph[module])
    return graph


def _layer(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := walk(nxt)):
                return found
        state[node] = 2
        path.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := walk(node)):
            return found
    return None


REPORT_MODULES = [*RESULTS, *sorted(m for m in MODULES if _within(m, ("postpilot.reports",)))]


def test_the_report_modules_are_found() -> None:
    assert set(HELPERS + RENDERERS) <= set(REPORT_MODULES)


def test_no_circle_between_the_layers_the_reports_load() -> None:
    """The layers (``postpilot.monitoring``, ``postpilot.performance``,
    ``postpilot.reports`` ...) that the report modules load at runtime import each
    other in one direction only. Before the reports had one home this failed:
    monitoring.results -> performance.html -> monitoring.html."""
    graph = _closure(REPORT_MODULES)
    layers: dict[str, set[str]] = {}
    for module, targets in graph.items():
        layers.setdefault(_layer(module), set()).update(
            _layer(t) for t in targets if _layer(t) != _layer(module)
        )
    cycle = _cycle(layers)
    assert cycle is None, f"layers import in a circle: {' -> '.join(cycle or [])}"
    ours = ("postpilot.reports", *CALLERS)
    modules = {
        m: {t for t in ts if _within(t, ours)} for m, ts in graph.items() if _within(m, ours)
    }
    cycle = _cycle(modules)
    assert cycle is None, f"modules import in a circle: {' -> '.join(cycle or [])}"


@pytest.mark.parametrize("module", HELPERS + RENDERERS)
def test_renderers_never_import_the_layers_that_call_them(module: str) -> None:
    assert module in MODULES
    reached = sorted(m for m in _closure([module]) if _within(m, CALLERS))
    assert not reached, f"{module} imports {reached} at runtime (type-check imports only)"


def test_the_charts_need_only_the_standard_library_and_the_page_helpers() -> None:
    for module in ("postpilot.reports.charts", "postpilot.reports.html"):
        tree = ast.parse(MODULES[module].read_text())
        names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        outside = {
            n
            for n in names
            if n.split(".")[0] not in sys.stdlib_module_names and n != "postpilot.reports.html"
        }
        assert not outside, f"{module} imports {sorted(outside)}"


@pytest.mark.parametrize("module", RESULTS)
def test_results_import_a_renderer_only_inside_a_function(module: str) -> None:
    imports = _imports(module)
    at_top = [t for t, top in imports if top and _within(t, ("postpilot.reports",))]
    assert not at_top, f"{module} imports {at_top} when it is imported"
    assert any(_within(t, ("postpilot.reports",)) for t, _ in imports), module

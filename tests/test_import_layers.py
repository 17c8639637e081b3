"""The packages of `runtime/` import each other top-down, without cycles.

    entry        app.py (the Litestar app), cli/, demo*.py
    api          api/ and every slice's controller (`controller.py`, `*_controller.py`) and
                 dependency providers (`deps.py`): the HTTP edge of the slices
    composition  composition.py: builds the services the app hands to the controllers
    slices       approvals, audit, connections, feedback, flows, knowledge, llm, mcp,
                 monitoring, notifications, runs, starters, testing, users (their
                 services, models and schemas); among themselves without cycles
    engine       engine/: the flow document, its validation and its execution (it builds
                 on `nodes/`, which imports nothing of `runtime`)
    storage      db/, policy/
    leaves       errors.py, settings.py, canonical.py, wire.py, json_limits.py,
                 private_files.py

Every import counts, wherever it stands: at module level, inside a function, under
`if TYPE_CHECKING:`. An import inside a function is the usual way to hide a cycle from
Python, not from a reader; the one way out is a comment on the import's line that says
`late binding` and why (there is none today). The graph is read from the source (ast),
so a module that is never imported in a test run is checked all the same.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "runtime"
NODES = ROOT / "nodes"
LATE_BINDING = "late binding"

LAYERS: list[tuple[str, set[str]]] = [
    ("entry", {"app", "cli", "demo", "demo_assistant", "demo_sources"}),
    ("api", {"api"}),
    ("composition", {"composition"}),
    (
        "slices",
        {
            "approvals",
            "audit",
            "connections",
            "feedback",
            "flows",
            "knowledge",
            "llm",
            "mcp",
            "monitoring",
            "notifications",
            "runs",
            "starters",
            "testing",
            "users",
        },
    ),
    ("engine", {"engine"}),
    ("storage", {"db", "observability", "policy"}),
    (
        "leaves",
        {"canonical", "codes", "errors", "extras", "json_limits", "private_files", "settings", "wire"},
    ),
]
RANK = {part: rank for rank, (_, parts) in enumerate(LAYERS) for part in parts}
LAYER_NAME = {part: name for name, parts in LAYERS for part in parts}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def part_of(module: str) -> str | None:
    """The node of the graph a `runtime` module belongs to (None outside `runtime`)."""
    parts = module.split(".")
    if parts[0] != "runtime" or len(parts) < 2:
        return None
    if len(parts) > 2 and (parts[-1].endswith("controller") or parts[-1] == "deps"):
        return "api"  # a slice's controller and its dependency providers: its HTTP edge
    return parts[1]


def resolve(target: str, root: Path = ROOT) -> str:
    """`runtime.x.y.Name` -> the module `runtime.x.y` (a name imported from a module)."""
    path = root.joinpath(*target.split("."))
    if path.with_suffix(".py").exists() or (path / "__init__.py").exists():
        return target
    return target.rsplit(".", 1)[0]


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[str, int]]:
    """(imported module, line) of every import in the file, wherever it stands, except
    those marked as deliberate late binding."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    module = module_name(path, root)
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[tuple[str, int]] = []
    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [resolve(f"{base}.{alias.name}", root) for alias in node.names]
        else:
            continue
        statement = "\n".join(lines[node.lineno - 1 : (node.end_lineno or node.lineno)])
        if LATE_BINDING in statement:
            continue
        found.extend((target, node.lineno) for target in targets)
    return found


def runtime_graph(root: Path = ROOT) -> tuple[nx.DiGraph, dict[tuple[str, str], list[str]]]:
    """The parts of `root/runtime` (see `part_of`) and which imports which, with where."""
    graph: nx.DiGraph = nx.DiGraph()
    sites: dict[tuple[str, str], list[str]] = defaultdict(list)
    runtime = root / "runtime"
    for path in sorted(runtime.rglob("*.py")):
        if "migrations" in path.relative_to(runtime).parts:
            continue  # Alembic's scripts: data, loaded by path
        source = part_of(module_name(path, root))
        if source is None:
            continue  # runtime/__init__.py
        graph.add_node(source)
        for target, line in imports_of(path, root):
            imported = part_of(target)
            if imported is not None and imported != source:
                graph.add_edge(source, imported)
                sites[(source, imported)].append(f"{path.relative_to(root)}:{line}")
    return graph, sites


def test_every_part_of_runtime_has_a_layer() -> None:
    graph, _ = runtime_graph()
    assert set(graph.nodes) - set(RANK) == set(), "add the new package or module to LAYERS"


def test_no_import_cycle_between_the_packages_of_runtime() -> None:
    graph, sites = runtime_graph()
    cycles = [
        sorted(component) for component in nx.strongly_connected_components(graph) if len(component) > 1
    ]
    if cycles:
        cycle = nx.find_cycle(graph)
        where = "; ".join(f"{a} -> {b} ({', '.join(sites[(a, b)][:3])})" for a, b in cycle)
        raise AssertionError(f"import cycles among {cycles}: {where}")


def test_imports_point_down_the_layers() -> None:
    graph, sites = runtime_graph()
    upward = [
        f"{LAYER_NAME[a]} {a} -> {LAYER_NAME[b]} {b} ({', '.join(sites[(a, b)][:3])})"
        for a, b in graph.edges
        if a in RANK and b in RANK and RANK[b] < RANK[a]
    ]
    assert upward == []


def test_nodes_import_nothing_of_the_runtime() -> None:
    """A node gets what it needs through the run context it is handed (ARCHITECTURE.md)."""
    offending = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in sorted(NODES.rglob("*.py"))
        for target, line in imports_of(path)
        if target == "runtime" or target.startswith("runtime.")
    ]
    assert offending == []


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    """Imports inside functions, under TYPE_CHECKING and relative ones count; a marked
    late binding does not; a controller belongs to the api layer."""
    files = {
        "runtime/__init__.py": "",
        "runtime/engine/__init__.py": "",
        "runtime/engine/compiled.py": "from . import inputs\n",
        "runtime/engine/inputs.py": "def later():\n    from runtime.flows import service\n",
        "runtime/flows/__init__.py": "",
        "runtime/flows/service.py": (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from runtime.engine.compiled import X\n"
        ),
        "runtime/flows/controller.py": "from runtime.flows.service import get_flow\n",
        "runtime/runs/__init__.py": "",
        "runtime/runs/manager.py": "def f():\n    from runtime.flows import service  # late binding: hooks\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph, sites = runtime_graph(tmp_path)
    assert set(graph.edges) == {("engine", "flows"), ("flows", "engine"), ("api", "flows")}
    assert sites[("engine", "flows")] == ["runtime/engine/inputs.py:2"]
    assert not nx.is_directed_acyclic_graph(graph)

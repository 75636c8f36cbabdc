"""The import graph of ``search``, ``planner`` and ``prover``: no circles, and the layers point one way
(``prover`` -> ``planner`` -> ``search``, DESIGN.md). Every import statement counts, also one inside a
function or under ``TYPE_CHECKING``: a circle hidden in a function still ties two modules together.

``from package import name`` is an edge to the submodule ``package.name`` when there is one, else to the
package's ``__init__``. A new circle fails here with each of its edges named (file and line)."""

from __future__ import annotations

import ast
from collections.abc import Iterator, Sequence
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("search", "planner", "prover")  # each may import only itself and the ones before it


def project_modules(root: Path, packages: Sequence[str]) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` file of ``packages`` (a package is its ``__init__``)."""
    modules = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            modules[".".join(parts)] = path
    return modules


def imported_names(module: str, path: Path) -> Iterator[tuple[str, int]]:
    """``(dotted name, line)`` of everything ``path`` imports, relative imports resolved; a ``from``
    import yields ``package.name`` for each name (the caller keeps the longest prefix that is a module)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((alias.name, node.lineno) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                package = package[:len(package) - node.level + 1]
                base = ".".join([*package, base] if base else package)
            yield from ((f"{base}.{alias.name}", node.lineno) for alias in node.names)


def import_graph(root: Path, packages: Sequence[str]) -> nx.DiGraph:
    """Modules of ``packages`` and the imports among them; an edge's ``where`` is its first import."""
    modules = project_modules(root, packages)
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for module, path in modules.items():
        for name, line in imported_names(module, path):
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name and name != module and not graph.has_edge(module, name):
                graph.add_edge(module, name, where=f"{path.relative_to(root)}:{line}")
    return graph


def circles(graph: nx.DiGraph) -> list[list[str]]:
    """One circle per strongly connected group of modules, each edge as ``a -> b (file:line)``."""
    found = []
    for group in nx.strongly_connected_components(graph):
        if len(group) > 1:
            cycle = nx.find_cycle(graph.subgraph(group))
            found.append([f"{a} -> {b} ({graph.edges[a, b]['where']})" for a, b in cycle])
    return found


def test_no_module_of_the_project_imports_itself_back() -> None:
    found = circles(import_graph(ROOT, LAYERS))
    assert found == [], "import circles:\n" + "\n".join("  " + "; ".join(circle) for circle in found)


def test_the_layers_import_only_downwards() -> None:
    graph = import_graph(ROOT, LAYERS)
    layer = {module: LAYERS.index(module.split(".")[0]) for module in graph}
    upwards = [f"{a} -> {b} ({where})" for a, b, where in graph.edges(data="where") if layer[b] > layer[a]]
    assert upwards == [], "imports against the layering search <- planner <- prover:\n" + "\n".join(upwards)


def test_only_command_line_modules_import_the_command_line() -> None:
    """``prover.cli`` is the top of the house: the run spec, sweeps, policies and the engine never import
    it; only other commands' own CLI modules (``prover.expert.cli``, ``prover.tracing.cli`` ...) do."""
    graph = import_graph(ROOT, LAYERS)

    def is_cli(module: str) -> bool:
        return module.startswith("prover.cli") or module.rsplit(".", 1)[-1].endswith("cli")

    inverted = [f"{a} -> {b} ({where})" for a, b, where in graph.edges(data="where")
                if b.startswith("prover.cli") and not is_cli(a)]
    assert inverted == [], "imports of the command line from below it:\n" + "\n".join(inverted)


def test_circles_through_function_level_and_type_checking_imports_are_found(tmp_path: Path) -> None:
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("def f():\n    from pkg.b import g\n    return g\n")
    (package / "b.py").write_text("import typing\nif typing.TYPE_CHECKING:\n    from pkg import a\n")
    (package / "sub" / "__init__.py").write_text("from .c import h\n")
    (package / "sub" / "c.py").write_text("from .. import sub\n")
    (package / "d.py").write_text("import pkg.a\n")
    found = circles(import_graph(tmp_path, ["pkg"]))
    assert sorted(sorted(edge.split(" (")[0] for edge in circle) for circle in found) == [
        ["pkg.a -> pkg.b", "pkg.b -> pkg.a"], ["pkg.sub -> pkg.sub.c", "pkg.sub.c -> pkg.sub"]]
    assert "pkg/a.py:2" in " ".join(" ".join(circle) for circle in found)

"""No import circles anywhere in the package: every module's imports, at the top or inside a
function, form a graph without cycles, so that each module can be read (and loaded) knowing
only what it imports. Imports under ``if TYPE_CHECKING:`` are for the type checker and do not
count."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "assembly"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(path): path for path in PACKAGE.rglob("*.py")}


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[str]:
    """Every module named by an import in ``tree``, skipping ``if TYPE_CHECKING:`` blocks."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _is_type_checking(node):
            yield from (name for child in node.orelse for name in _imports(child))
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # ``from assembly.x import y`` imports the module assembly.x.y when there is one,
            # and otherwise the name y from assembly.x.
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            yield from (name for name in submodules if name in MODULES)
            if any(name not in MODULES for name in submodules):
                yield node.module
        yield from _imports(node)


def import_graph() -> dict[str, set[str]]:
    """Each of the package's modules → the package's modules it imports."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {target for target in _imports(tree) if target in MODULES} - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle in ``graph`` (its modules in order, the first repeated at the end),
    or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for target in sorted(graph[module]):
            if target in on_path:
                return [*path[path.index(target) :], target]
            if target not in done and (cycle := visit(target)) is not None:
                return cycle
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done and (cycle := visit(module)) is not None:
            return cycle
    return None


def test_the_finder_sees_a_circle_and_its_absence() -> None:
    """The cycle finder reports a circle through a function-level import and none in a tree."""
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    inner = ast.parse("def f():\n    from assembly.records import views\n")
    assert "assembly.records.views" in set(_imports(inner))
    hidden = ast.parse("if TYPE_CHECKING:\n    from assembly.app import create_app\n")
    assert set(_imports(hidden)) == set()


def test_the_package_has_no_import_circles() -> None:
    """No module of assembly imports, directly or through others, a module that imports it."""
    graph = import_graph()
    assert len(graph) > 100
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph) or [])


def _reached(graph: dict[str, set[str]], module: str) -> set[str]:
    """Every module ``module`` imports, directly or through others."""
    seen: set[str] = set()
    waiting = [module]
    while waiting:
        for target in graph[waiting.pop()] - seen:
            seen.add(target)
            waiting.append(target)
    return seen


def test_the_records_service_imports_no_feature() -> None:
    """No module of assembly.records (its pages included) imports, directly or through others,
    a feature whose records it keeps: each feature hands it its records and serves its own
    record pages."""
    graph = import_graph()
    features = ("assembly.elections", "assembly.assemblies")
    found = {
        module: sorted(t for t in _reached(graph, module) if t.startswith(features))
        for module in graph
        if module == "assembly.records" or module.startswith("assembly.records.")
    }
    assert len(found) > 20
    assert {m: t for m, t in found.items() if t} == {}

"""The shape of the package: no import cycle between its modules or its folders, no module too long.

The import graph is read from the source (ast), so a cycle hidden in a function's body counts too: it
only waits for the right call order to bite.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import socmon

PACKAGE = Path(socmon.__file__).parent
MAX_MODULE_LINES = 500


def module_name(path: Path) -> str:
    parts = ["socmon", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def imports_of(path: Path, known: set[str]) -> set[str]:
    """The package's modules `path` imports, wherever in the file (TYPE_CHECKING blocks aside)."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(node)
        for block in ast.walk(tree)
        if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
        for child in block.body
        for node in ast.walk(child)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up one level per dot after the first
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, base]).rstrip(".")
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected component of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for child in sorted(graph.get(node, ())):
            if child not in index:
                visit(child)
                low[node] = min(low[node], low[child])
            elif child in on_stack:
                low[node] = min(low[node], index[child])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def module_graph() -> dict[str, set[str]]:
    known = modules()
    names = set(known)
    return {name: imports_of(path, names) for name, path in known.items()}


def folder_of(name: str) -> str:
    parts = name.split(".")
    return ".".join(parts[:2])  # socmon.sources, socmon.hooks, … (top-level modules are their own)


def test_no_module_imports_itself_back():
    assert cycles(module_graph()) == []


def test_no_folder_imports_itself_back():
    graph: dict[str, set[str]] = {}
    for module, imported in module_graph().items():
        graph.setdefault(folder_of(module), set()).update(
            folder_of(i) for i in imported if folder_of(i) != folder_of(module)
        )
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_module_is_over_500_lines():
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def allowed_imports() -> dict[str, set[str] | None]:
    """docs/ARCHITECTURE.md's table of layers: each folder or top-level module (first column) and the
    ones it may import (second column; None: anything)."""
    document = (PACKAGE.parents[1] / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8")
    table = document.split("| folder / module", 1)[1].split("\n\n", 1)[0]
    allowed: dict[str, set[str] | None] = {}
    for row in table.splitlines()[2:]:
        _, layer, may_import, _ = row.split("|")
        imports = {name.rstrip("/") for name in re.findall(r"`([^`]+)`", may_import)}
        for name in re.findall(r"`([^`]+)`", layer):
            allowed[name.rstrip("/")] = None if may_import.strip() == "anything" else imports
    return allowed


def test_each_folder_imports_only_what_docs_architecture_allows():
    allowed = allowed_imports()
    top = {name: name.split(".")[1] if "." in name else "socmon" for name in modules()}
    assert set(top.values()) <= set(allowed), "a folder or module the document does not place"
    unexpected = sorted(
        (top[module], top[i])
        for module, imported in module_graph().items()
        for i in imported
        if top[i] != top[module]
        and (permitted := allowed[top[module]]) is not None
        and top[i] not in permitted
    )
    assert unexpected == []

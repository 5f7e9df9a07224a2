"""No module of the package writes the process's environment at run time (issue 15).

A write to os.environ is seen by every thread and every later call of the process, and by every program
it starts: settings are passed explicitly instead (`socmon.config.using_database`, the environment built
for a dbt process in `socmon.dbt_process`). Read from the source (ast), so a write in a rarely taken
branch counts too; the integration tests check the running paths (test_search_discovery,
test_incident_engine's eval: os.environ is the same after extraction, dbt and the eval as before).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import socmon
import socmon_sandbox
from socmon.dbt_process import child_environment

PACKAGE = Path(socmon.__file__).parent
SANDBOX = Path(socmon_sandbox.__file__).parent  # the emulators and the stack run alongside the package
WRITING_METHODS = {"update", "setdefault", "pop", "popitem", "clear", "__setitem__", "__delitem__"}


def _is_environ(node: ast.AST, aliases: set[str]) -> bool:
    """`os.environ`, or a name bound to it (`from os import environ`, `env = os.environ`)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "environ" and isinstance(node.value, ast.Name) and node.value.id == "os"
    return isinstance(node, ast.Name) and node.id in aliases


def environment_writes(source: str) -> list[int]:
    """The lines of `source` that write os.environ (or call os.putenv / os.unsetenv)."""
    tree = ast.parse(source)
    aliases = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "os"
        for alias in node.names
        if alias.name == "environ"
    }
    aliases |= {
        target.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and _is_environ(node.value, aliases)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    lines = []
    for node in ast.walk(tree):
        targets: list[ast.AST] = []
        if isinstance(node, ast.Assign | ast.Delete):
            targets = list(node.targets)
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        if any(isinstance(t, ast.Subscript) and _is_environ(t.value, aliases) for t in targets):
            lines.append(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method, owner = node.func.attr, node.func.value
            if method in WRITING_METHODS and _is_environ(owner, aliases):
                lines.append(node.lineno)
            if method in {"putenv", "unsetenv"} and isinstance(owner, ast.Name) and owner.id == "os":
                lines.append(node.lineno)
    return sorted(lines)


@pytest.mark.parametrize("package", [PACKAGE, SANDBOX], ids=["socmon", "socmon_sandbox"])
def test_no_module_of_the_package_writes_the_environment(package: Path) -> None:
    """bench/ is left out: a benchmark script sets its own scratch database before it imports socmon,
    as a shell would, and bench/dbt_process.py measures the old in-process path on purpose."""
    writes = {
        str(path.relative_to(package.parent)): lines
        for path in sorted(package.rglob("*.py"))
        if (lines := environment_writes(path.read_text(encoding="utf-8")))
    }
    assert writes == {}


def test_the_check_sees_each_way_of_writing() -> None:
    writes = [
        'os.environ["A"] = "1"',
        "os.environ.update(dbt_environment())",
        'os.environ.setdefault("A", "1")',
        'os.environ.pop("A", None)',
        'del os.environ["A"]',
        'os.putenv("A", "1")',
        'from os import environ\nenviron["A"] = "1"',
        'env = os.environ\nenv.update({"A": "1"})',
    ]
    assert [bool(environment_writes(f"import os\n{source}")) for source in writes] == [True] * len(writes)
    reads = 'import os\nos.environ.get("A")\nenv = dict(os.environ)\nenv["A"] = "1"\nenv.update(B="2")'
    assert environment_writes(reads) == []


def test_a_dbt_process_gets_only_what_it_needs_of_the_environment(monkeypatch) -> None:
    monkeypatch.setattr("socmon.dbt_process.dbt_environment", lambda: {"SOCMON_DBT_PASSWORD": "p"})
    parent = {
        "PATH": "/usr/bin",
        "HOME": "/home/socmon",
        "DBT_PARTIAL_PARSE": "true",
        "SOCMON_PSEUDONYM_KEY": "the key",
        "SOCMON_PG_PASSWORD__SOCMON": "the owner's",
        "AIRFLOW_CONN_SOCMON_WAREHOUSE_ADMIN": "postgresql://socmon:x@h/db",
    }
    assert child_environment(parent) == {
        "PATH": "/usr/bin",
        "HOME": "/home/socmon",
        "DBT_PARTIAL_PARSE": "true",
        "SOCMON_DBT_PASSWORD": "p",
    }

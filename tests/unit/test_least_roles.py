"""Every process connects as the least role that works. The owner (`admin`) is named by the two jobs that
must act across raw, the marts and ops (erasure and retention), and the cluster's superuser bootstraps
only (`db up`/`db init`, and the scratch database of `socmon eval`, which it creates like `db init`)."""

from __future__ import annotations

import ast

from socmon.config import settings

OWNER_ROLE_USERS = {"plugins/socmon/warehouse/erasure.py", "plugins/socmon/warehouse/retention.py"}
# creating roles and databases: `db up`/`db init`, and eval's scratch database
BOOTSTRAP_USERS = {
    "plugins/socmon/warehouse/roles.py",
    "plugins/socmon/warehouse/server.py",
    "plugins/socmon/cli.py",
    "plugins/socmon/evaluation.py",
}


def _sources() -> dict[str, ast.Module]:
    root = settings().project_dir
    files = [*(root / "plugins" / "socmon").rglob("*.py"), *(root / "dags").glob("*.py")]
    return {str(path.relative_to(root)): ast.parse(path.read_text(encoding="utf-8")) for path in files}


def _names_the_owner(tree: ast.Module) -> list[int]:
    """Lines that connect as the owner: the role's key `"admin"`, or its name OWNER, outside ROLES' table."""
    return [
        node.lineno
        for node in ast.walk(tree)
        if (isinstance(node, ast.Constant) and node.value == "admin")
        or (isinstance(node, ast.Name) and node.id == "OWNER")
    ]


def _calls(tree: ast.Module, names: set[str]) -> list[int]:
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and (getattr(node.func, "attr", None) or getattr(node.func, "id", None)) in names
    ]


def test_only_erasure_and_retention_connect_as_the_owner() -> None:
    role_machinery = {"plugins/socmon/warehouse/credentials.py", "plugins/socmon/warehouse/roles.py"}
    found = {
        path: lines
        for path, tree in _sources().items()
        if path not in OWNER_ROLE_USERS | role_machinery and (lines := _names_the_owner(tree))
    }
    assert found == {}, "connect as the least role that works (README, «Роли»), not as the owner"


def test_only_the_bootstrap_creates_roles_and_databases() -> None:
    found = {
        path: lines
        for path, tree in _sources().items()
        if path not in BOOTSTRAP_USERS | {"plugins/socmon/warehouse/credentials.py"}
        and (lines := _calls(tree, {"bootstrap_connection", "ensure_database", "credentials"}))
    }
    assert found == {}

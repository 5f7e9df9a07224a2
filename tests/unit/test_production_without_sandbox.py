"""The production image has no sandbox: every socmon module must import without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# `sys.modules[name] = None` makes every import of that name raise ImportError, as in the image.
WITHOUT_SANDBOX = """
import importlib, pkgutil, sys
sys.modules["socmon_sandbox"] = None
import socmon
failed = []
for module in pkgutil.walk_packages(socmon.__path__, "socmon."):
    try:
        importlib.import_module(module.name)
    except ImportError as error:
        failed.append(f"{module.name}: {error}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_socmon_module_imports_without_the_sandbox_package() -> None:
    result = subprocess.run(
        [sys.executable, "-c", WITHOUT_SANDBOX], capture_output=True, text=True, cwd=REPO, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_sandbox_is_not_part_of_the_socmon_package() -> None:
    assert not (REPO / "plugins" / "socmon" / "sandbox").exists()
    assert "sandbox" in (REPO / "docker" / "Dockerfile.dockerignore").read_text().split()

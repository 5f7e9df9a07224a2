"""Loads the suite registry from the project's `expectations/` folder (it is not part of this package)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from socmon.config import settings

PACKAGE_NAME = "socmon_expectations"


def load_registry(expectations_dir: Path | None = None) -> ModuleType:
    """Import `expectations/__init__.py` as the package `socmon_expectations` (once per process)."""
    if PACKAGE_NAME in sys.modules:
        return sys.modules[PACKAGE_NAME]
    folder = expectations_dir or settings().expectations_dir
    init = folder / "__init__.py"
    if not init.exists():
        raise FileNotFoundError(f"no expectation suites at {folder} (set SOCMON_HOME to the project folder)")
    spec = importlib.util.spec_from_file_location(
        PACKAGE_NAME, init, submodule_search_locations=[str(folder)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE_NAME] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[PACKAGE_NAME]
        raise
    return module

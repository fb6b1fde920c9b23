"""Load a repository script (a docs/results regenerate script, a benchmark) as a
module, so that tests can call the functions that write the docs' generated
sections and compare the pages with them. Not a test module."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: Path) -> ModuleType:
    """Import the script at ``path`` (relative to the repository or absolute) under
    a module name made from its path, e.g. ``docs_results_selection_regenerate``."""
    path = (ROOT / path).resolve()
    name = "_".join(path.relative_to(ROOT).with_suffix("").parts)
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    spec.loader.exec_module(module)
    return module

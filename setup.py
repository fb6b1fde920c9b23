"""Build hook: put the top-level ``models/`` and ``experiments/`` inside the wheel.

The repository keeps the model and the experiments at its top level (the project's
contract: data beside the code, not inside it). An installed wheel has no
repository around it, so at wheel-build time the two directories are copied into
the package as ``secretome/_shipped/models`` and ``secretome/_shipped/experiments``,
where :mod:`secretome.paths` reads them through :mod:`importlib.resources`.
An editable install skips the copy and reads the checkout itself.

All metadata live in ``pyproject.toml``; this file only registers the command.
``MANIFEST.in`` puts the same directories in the sdist, so a wheel built from an
sdist has them too.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

# Keep in step with secretome.paths (SHIPPED, DATA_DIRS); setup.py cannot import
# the package it is building.
DATA_DIRS = ("models", "experiments")
SHIPPED = "_shipped"
ROOT = Path(__file__).resolve().parent


class BuildPyWithData(build_py):
    """``build_py`` that also copies the data directories into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "secretome" / SHIPPED
        for name in DATA_DIRS:
            source = ROOT / name
            if not source.is_dir():
                raise FileNotFoundError(f"cannot ship {name}/: {source} is not a directory")
            # A stale copy from an earlier build would keep files deleted since.
            shutil.rmtree(target / name, ignore_errors=True)
            shutil.copytree(
                source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.py[cod]")
            )


setup(cmdclass={"build_py": BuildPyWithData})

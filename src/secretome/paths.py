"""Where the project's data live: ``models/`` and ``experiments/`` beside ``src/``.

The package is installed editable from its repository (``make`` does this), so the
data directories are found relative to this file. ``SECRETOME_ROOT`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path


def project_root() -> Path:
    """Return the repository root that holds ``models/`` and ``experiments/``."""
    env = os.environ.get("SECRETOME_ROOT")
    if env:
        return Path(env).resolve()
    return Path(__file__).resolve().parents[2]


def models_dir() -> Path:
    return project_root() / "models"


def experiments_dir() -> Path:
    return project_root() / "experiments"


def evidence_file() -> Path:
    """The curated evidence base shipped with the package."""
    return experiments_dir() / "data" / "evidence.csv"


def papers_dir() -> Path:
    """The source papers' text (``shared/papers`` beside the checkout; ``SECRETOME_PAPERS``).

    Only the tests read it, to check that every quote in the evidence base is verbatim.
    """
    env = os.environ.get("SECRETOME_PAPERS")
    return Path(env) if env else project_root().parent / "shared" / "papers"

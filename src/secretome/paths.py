"""Where the project's data live: the ``models/`` and ``experiments/`` directories.

The repository keeps them at its top level, beside ``src/``. A wheel carries a copy
inside the package (``secretome/_shipped/``, written by ``setup.py`` when the wheel
is built), because an installed package has no repository around it. The data
root is looked for in this order:

1. ``$SECRETOME_ROOT``, a development tree holding ``models/`` and
   ``experiments/``: to run an installed package on edited data.
2. The copy shipped in the installed package, read through
   :func:`importlib.resources.files` (``pip install secretome`` or a built wheel).
3. The repository two levels above this file: an editable install of a checkout
   (``make install``), which has no shipped copy, so edits to ``models/`` take
   effect without reinstalling.

Every function looks again on each call (no cached answer), so a changed
``SECRETOME_ROOT`` takes effect at once.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from secretome.errors import SecretomeError

#: Environment variable naming a development tree that overrides the installed data.
ROOT_ENV = "SECRETOME_ROOT"
#: Environment variable naming the directory of the source papers' text (tests only).
PAPERS_ENV = "SECRETOME_PAPERS"
#: Directory inside the installed package that holds the shipped data (see ``setup.py``).
SHIPPED = "_shipped"
#: The directories a data root must hold.
DATA_DIRS = ("models", "experiments")


def _holds_data(root: Path) -> bool:
    return all((root / name).is_dir() for name in DATA_DIRS)


def _shipped_root() -> Path | None:
    """The data copied into the installed package, or None in a checkout."""
    shipped = resources.files("secretome") / SHIPPED
    if not shipped.is_dir():
        return None
    # Wheels install unpacked, so this is a real directory. A zipped install would give
    # a Traversable without a path, and the model code opens files by path.
    if not isinstance(shipped, Path):
        raise SecretomeError(
            f"secretome's data ({shipped}) are not in a directory on disk; "
            "install the package unzipped, or set SECRETOME_ROOT to a checkout"
        )
    return shipped


def _checkout_root() -> Path:
    """The repository root when the package is imported from ``src/`` in a checkout."""
    return Path(__file__).resolve().parents[2]


def project_root() -> Path:
    """Return the directory that holds ``models/`` and ``experiments/``.

    Returns
    -------
    pathlib.Path
        ``$SECRETOME_ROOT`` if set, else the copy shipped in the installed package,
        else the checkout this module was imported from (see the module docstring
        for why this order).

    Raises
    ------
    SecretomeError
        If ``$SECRETOME_ROOT`` is set but lacks ``models/`` or ``experiments/``, or if
        no data directory is found at all; the message names every place looked at.
    """
    env = os.environ.get(ROOT_ENV)
    if env:
        root = Path(env).expanduser().resolve()
        if not _holds_data(root):
            raise SecretomeError(
                f"{ROOT_ENV}={env} must be a directory holding models/ and experiments/ "
                f"(looked in {root}); unset it to use the data installed with secretome"
            )
        return root
    shipped = _shipped_root()
    if shipped is not None:
        return shipped
    checkout = _checkout_root()
    if _holds_data(checkout):
        return checkout
    looked = resources.files("secretome") / SHIPPED
    raise SecretomeError(
        "secretome's data directories (models/, experiments/) were not found: "
        f"{ROOT_ENV} is not set, the installed package has no {looked}, and {checkout} "
        "is not a checkout. Reinstall secretome from a wheel or sdist, or set "
        f"{ROOT_ENV} to a checkout of the repository."
    )


#: Environment variable naming another model directory (e.g. ``models/v2``, the
#: candidate model), used by every command instead of ``models/``.
MODELS_ENV = "SECRETOME_MODELS"


def models_dir() -> Path:
    """Return the directory of the Antimony modules and parameter tables.

    Returns
    -------
    pathlib.Path
        ``$SECRETOME_MODELS`` if set (relative paths from the current directory),
        else ``project_root() / "models"``.

    Raises
    ------
    SecretomeError
        If ``$SECRETOME_MODELS`` is not a directory.
    """
    env = os.environ.get(MODELS_ENV)
    if env:
        path = Path(env).expanduser().resolve()
        if not path.is_dir():
            raise SecretomeError(f"{MODELS_ENV}={env} is not a directory (looked in {path})")
        return path
    return project_root() / "models"


def experiments_dir() -> Path:
    """Return the directory of the scenarios, the fit configuration and the data.

    Returns
    -------
    pathlib.Path
        ``project_root() / "experiments"``.
    """
    return project_root() / "experiments"


def evidence_file() -> Path:
    """Return the curated evidence base shipped with the package.

    Returns
    -------
    pathlib.Path
        ``experiments_dir() / "data" / "evidence.csv"``.
    """
    return experiments_dir() / "data" / "evidence.csv"


def papers_dir() -> Path:
    """Return the source papers' text (``shared/papers`` beside the checkout).

    Only the tests read it, to check that every quote in the evidence base is
    verbatim, so it is looked for beside the development tree (``$SECRETOME_ROOT``,
    else the checkout this module was imported from), never in an installed
    package's data; ``$SECRETOME_PAPERS`` overrides it.

    Returns
    -------
    pathlib.Path
        ``$SECRETOME_PAPERS`` if set, else ``shared/papers`` beside the development
        tree (the directory may not exist).
    """
    env = os.environ.get(PAPERS_ENV)
    if env:
        return Path(env)
    root = os.environ.get(ROOT_ENV)
    tree = Path(root).expanduser().resolve() if root else _checkout_root()
    return tree.parent / "shared" / "papers"

"""File input and output: atomic writes, and the parameter-value files.

Parameter files are CSV with columns ``name`` and ``value`` (``name`` may be
``name[context]``), as :func:`secretome.fitting.write_parameter_file` writes them and
``--params`` / ``--centre`` read them.

Every file secretome writes goes through :func:`atomic_write`: the content is
written to a temporary file in the same directory, flushed to disk, then renamed
over the target in one step, so a reader sees the old file or the new one, never
a mix, and an interrupted run loses nothing already written.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from secretome.errors import SecretomeError


def atomic_write(path: str | os.PathLike[str], data: str | bytes) -> Path:
    """Write ``data`` to ``path`` atomically (creating parent directories).

    Parameters
    ----------
    path : path-like
        Target file.
    data : str or bytes
        Text is written as UTF-8.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return atomic_write_with(path, lambda fh: fh.write(payload))


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], object]) -> Path:
    """Call ``writer`` on a binary temporary file, then move it over ``path``.

    Use this for libraries that write to a file object (``savefig``, ``to_csv``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def read_parameter_file(path: str | os.PathLike[str]) -> dict[str, float]:
    """Parameter values from a ``name,value`` CSV file; errors name the file and row.

    Parameters
    ----------
    path : path-like
        A CSV with a ``name,value`` header; names may carry a context
        (``w_prol_AKT[AGS]``), as :func:`secretome.fitting.write_parameter_file` writes.

    Returns
    -------
    dict
        Name -> value, for :func:`secretome.simulation.simulate` ``params``.

    Raises
    ------
    SecretomeError
        Missing file or column, or a value that is not a number."""
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype={"name": str})
    except FileNotFoundError:
        raise SecretomeError(f"{path}: no such parameter file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SecretomeError(f"{path}: not a readable CSV table ({exc})") from None
    missing = [c for c in ("name", "value") if c not in table.columns]
    if missing:
        raise SecretomeError(f"{path}: missing column(s) {', '.join(missing)} (need name, value)")
    values = pd.to_numeric(table["value"], errors="coerce")
    bad = [
        f"row {i + 1} ({n})"
        for i, (n, v) in enumerate(zip(table["name"], values, strict=True))
        if not v == v
    ]
    if bad:
        raise SecretomeError(f"{path}: field 'value' is not a number in {', '.join(bad)}")
    return dict(zip(table["name"], values.astype(float), strict=True))

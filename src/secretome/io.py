"""File output that never leaves a half-written file behind.

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

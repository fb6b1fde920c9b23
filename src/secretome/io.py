"""File input and output: atomic writes, output directories, and the parameter-value files.

Parameter files are CSV with columns ``name`` and ``value`` (``name`` may be
``name[context]``), as :func:`secretome.fitting.write_parameter_file` writes them and
``--params`` / ``--centre`` read them.

Every file secretome writes goes through :func:`atomic_write`: the content is
written to a temporary file in the same directory, flushed to disk, then renamed
over the target in one step, so a reader sees the old file or the new one, never
a mix, and an interrupted run loses nothing already written. The file gets the
permissions any new file of the process gets (``0666`` less the umask, usually
``0644``), so reports can be shared and served.
"""

from __future__ import annotations

import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from secretome.errors import SecretomeError


class WriteError(SecretomeError, OSError):
    """A file or directory could not be written (it is also an :class:`OSError`)."""


def _umask() -> int:
    """The process umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: read it by setting it, and put it back at once
    os.umask(mask)
    return mask


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def check_output_dir(path: str | os.PathLike[str], option: str = "output directory") -> Path:
    """Refuse an output directory that cannot be created or written, before any work.

    Parameters
    ----------
    path : path-like
        The directory; it may not exist yet (it is not created here).
    option : str
        How messages name it (e.g. ``"--out"``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    WriteError
        ``path`` is empty or an existing file, or its nearest existing ancestor is
        not a directory or not writable.
    """
    if not str(path).strip():
        raise WriteError(f"{option} is empty; name a directory (e.g. '.' for this one)")
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise WriteError(f"{option} {target}: exists and is not a directory")
    probe = target
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        raise WriteError(f"{option} {target}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise WriteError(f"{option} {target}: {probe} is not writable")
    return target


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

    Raises
    ------
    WriteError
        The file or its directory cannot be written (the message names the path).
    """
    payload = data.encode("utf-8") if isinstance(data, str) else data
    return atomic_write_with(path, lambda fh: fh.write(payload))


def write_between_markers(path: str | os.PathLike[str], begin: str, end: str, body: str) -> Path:
    """Replace the text between the markers ``begin`` and ``end`` of the file ``path``
    by ``body`` (the markers stay), atomically.

    The generated sections of the docs (results tables, decisive predictions) are
    written this way; everything outside the markers is left as it was.

    Raises
    ------
    SecretomeError
        The file does not hold exactly one ``begin`` followed by one ``end``.
    """
    with open(path, encoding="utf-8", newline="") as fh:  # line endings as they are
        text = fh.read()
    if text.count(begin) != 1 or text.count(end) != 1 or text.index(begin) > text.index(end):
        raise SecretomeError(f"{path} must hold one {begin!r} followed by one {end!r}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return atomic_write(path, head + begin + body + end + tail)


def atomic_write_with(path: str | os.PathLike[str], writer: Callable[[IO[bytes]], object]) -> Path:
    """Call ``writer`` on a binary temporary file, then move it over ``path``.

    Use this for libraries that write to a file object (``savefig``, ``to_csv``).
    The file's mode is ``0666`` less the process umask, as for any new file
    (:func:`tempfile.mkstemp` alone would leave it ``0600``).

    Raises
    ------
    WriteError
        The file or its directory cannot be written.
    """
    target = Path(path)
    if target.is_dir():
        raise WriteError(f"cannot write {target}: it is a directory")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise WriteError(f"cannot write {target}: {_reason(exc)}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            os.fchmod(fh.fileno(), 0o666 & ~_umask())
            writer(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, SecretomeError):
            raise WriteError(f"cannot write {target}: {_reason(exc)}") from exc
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
        Missing file or column, an empty or repeated name, or a value that is not
        a finite number; every such row is named. Values are not checked against
        the parameter table here (:func:`secretome.parameter_sets.check_values`)."""
    import pandas as pd

    p = Path(path)
    if p.is_dir():
        raise SecretomeError(f"{p}: is a directory, not a parameter file")
    try:
        table = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except FileNotFoundError:
        raise SecretomeError(f"{p}: no such parameter file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SecretomeError(f"{p}: not a readable CSV table ({exc})") from None
    except OSError as exc:
        raise SecretomeError(f"{p}: cannot read it ({_reason(exc)})") from None
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in ("name", "value") if c not in table.columns]
    if missing:
        raise SecretomeError(f"{p}: missing column(s) {', '.join(missing)} (need name, value)")
    problems: list[str] = []
    values: dict[str, float] = {}
    first_row: dict[str, int] = {}
    for i, (raw_name, raw_value) in enumerate(zip(table["name"], table["value"], strict=True)):
        name, text = str(raw_name).strip(), str(raw_value).strip()
        where = f"row {i + 1}" + (f" ({name})" if name else "")
        if not name:
            problems.append(f"{where}: field 'name' is empty")
            continue
        try:
            value = float(text)
        except ValueError:
            problems.append(f"{where}: field 'value' is not a number ({text!r})")
            continue
        if not math.isfinite(value):
            problems.append(f"{where}: field 'value' is not a finite number ({text!r})")
            continue
        if name in first_row:
            problems.append(f"{where}: {name} is given again (first in row {first_row[name]})")
            continue
        first_row[name] = i + 1
        values[name] = value
    if not problems and not values:
        problems.append("no rows: the file names no parameter")
    if problems:
        raise SecretomeError(f"{p}: " + "; ".join(problems))
    return values

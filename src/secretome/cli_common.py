"""Argument groups and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path
from typing import Any

from secretome.parallel import default_workers


def finite_float(text: str) -> float:
    """An argparse type: a finite number (``nan`` and ``inf`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a finite number")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} must be a number above 0")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def seed_int(text: str) -> int:
    """An argparse type: a random seed, a whole number of at least 0."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; a seed is a whole number >= 0")
    return value


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``: where the independent tasks run."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=positive_int,
        default=default_workers(),
        metavar="N",
        help=f"local worker processes (default: every core, here {default_workers()})",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786"
    )


def add_parameter_args(
    p: argparse.ArgumentParser, option: str = "--params", help: str | None = None
) -> None:
    """The parameter set a command runs with (:func:`~secretome.parameter_sets.choose_parameters`).

    The shipped fit by default; ``--params FILE`` or ``--nominal`` instead, and
    ``--allow-outside-bounds`` to accept a file's values beyond the table's bounds.
    """
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        option,
        metavar="FILE",
        type=Path,
        help=help
        or (
            "CSV of name,value (names may be name[context]) overriding the table's values; "
            "default: the shipped fit, models/fitted_parameters.csv"
        ),
    )
    which.add_argument(
        "--nominal",
        action="store_true",
        help="the parameter table's nominal values instead of the shipped fit",
    )
    p.add_argument(
        "--allow-outside-bounds",
        action="store_true",
        help=f"accept {option} values outside the table's bounds (refused otherwise)",
    )


class LazyBar:
    """A tqdm progress bar made on the first report, so bad input fails before any bar.

    ``bar.get(total)`` returns the bar (made with ``total`` the first time); use it
    as a context manager to close the bar if one was made.
    """

    def __init__(self, **kwargs: Any) -> None:
        self._kwargs = kwargs
        self._bar = None

    def get(self, total: int | None = None):
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, file=sys.stderr, **self._kwargs)
        elif total is not None and self._bar.total != total:
            self._bar.total = total
        return self._bar

    def __enter__(self) -> LazyBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.close()

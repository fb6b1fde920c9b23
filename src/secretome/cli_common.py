"""Argument groups shared by several subcommands."""

from __future__ import annotations

import argparse

from secretome.parallel import default_workers


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``: where the independent tasks run."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers",
        type=int,
        default=default_workers(),
        metavar="N",
        help=f"local worker processes (default: every core, here {default_workers()})",
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786"
    )

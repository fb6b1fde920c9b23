"""Argument groups shared by several subcommands."""

from __future__ import annotations

import argparse


def add_executor_args(p: argparse.ArgumentParser) -> None:
    """``--workers N`` or ``--scheduler ADDRESS``: where the independent tasks run."""
    where = p.add_mutually_exclusive_group()
    where.add_argument(
        "--workers", type=int, default=1, metavar="N", help="local worker processes (default 1)"
    )
    where.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://host:8786"
    )

"""``secretome sensitivity``: argument parsing for the sensitivity stage (issue 6)."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``sensitivity`` subcommand (filled in by the sensitivity stage)."""

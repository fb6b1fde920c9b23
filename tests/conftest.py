"""Shared fixtures."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from secretome import data


@pytest.fixture(scope="session")
def evidence() -> pd.DataFrame:
    """The shipped evidence base, validated."""
    return data.load_evidence()


@pytest.fixture(scope="session")
def evidence_raw() -> pd.DataFrame:
    """The shipped evidence base as raw strings, as a user's file would be read."""
    return pd.read_csv(data.evidence_file(), dtype=str, keep_default_na=False)


@pytest.fixture
def write_csv(tmp_path: Path):
    """Write a raw table to a CSV file in a temporary directory and return its path."""

    def _write(table: pd.DataFrame, name: str = "table.csv") -> Path:
        path = tmp_path / name
        table.to_csv(path, index=False)
        return path

    return _write

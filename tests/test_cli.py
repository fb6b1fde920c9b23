"""The command line: help everywhere, clear errors and exit codes on bad input."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from secretome import cli


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "secretome.cli", *args], capture_output=True, text=True, check=False
    )


def test_help_lists_every_subcommand():
    result = run("--help")
    assert result.returncode == 0
    for command in cli.build_parser()._subparsers._group_actions[0].choices:
        assert command in result.stdout


@pytest.mark.parametrize("command", ["data", "model", "reproduce"])
def test_every_subcommand_has_help(command):
    result = run(command, "--help")
    assert result.returncode == 0
    assert "usage: secretome " + command in result.stdout


def test_data_summary(capsys):
    assert cli.main(["data"]) == 0
    out = capsys.readouterr().out
    assert "farahzadi2024" in out and "quantitative" in out


def test_validate_good_file(capsys):
    from secretome.paths import evidence_file

    assert cli.main(["data", "--validate", str(evidence_file())]) == 0
    assert "valid" in capsys.readouterr().out


def test_validate_bad_file_exits_nonzero_without_traceback(evidence_raw, write_csv):
    bad = evidence_raw.copy()
    bad.loc[2, "assay"] = "pcr"
    path = write_csv(bad, "mine.csv")
    result = run("data", "--validate", str(path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "mine.csv, row 3" in result.stderr and "field 'assay'" in result.stderr


def test_validate_missing_file():
    result = run("data", "--validate", "/nonexistent/evidence.csv")
    assert result.returncode == 2
    assert "no such file" in result.stderr and "Traceback" not in result.stderr


def test_reproduce_writes_summary(tmp_path, evidence):
    assert cli.main(["reproduce", "--out", str(tmp_path)]) == 0
    summary = pd.read_csv(tmp_path / "evidence_summary.csv")
    assert summary["total"].sum() == len(evidence)
    assert not list(tmp_path.glob(".*.tmp")), "temporary files left behind"

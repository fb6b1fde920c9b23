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


@pytest.mark.parametrize(
    "command",
    [
        "data",
        "model",
        "simulate",
        "fit",
        "profile",
        "loso",
        "export-petab",
        "sensitivity",
        "reproduce",
    ],
)
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


def _scenario_file(tmp_path, text: str):
    path = tmp_path / "mine.toml"
    path.write_text(text)
    return str(path)


GOOD = """
cell_line = "AGS"
msc_source = "human_adipose"
duration_h = 24
sampling_h = [24]
[delivery]
mode = "transwell"
msc_cells = 1e4
"""


@pytest.mark.parametrize(
    ("make_args", "message"),
    [
        (
            lambda p: ["simulate", _scenario_file(p, GOOD.replace('"AGS"', '"HeLa"'))],
            "field 'cell_line': unknown cell line 'HeLa'",
        ),
        (
            lambda p: ["simulate", _scenario_file(p, GOOD.replace("[24]", "[48]"))],
            "field 'sampling_h': 48 h is after the end",
        ),
        (
            lambda p: ["simulate", _scenario_file(p, GOOD.replace("1e4", "-1e4"))],
            "field 'delivery.msc_cells'",
        ),
        (
            lambda p: [
                "simulate",
                _scenario_file(p, GOOD + "[[perturbations]]\ntype = 'inhibit'\ntarget = 'BRAF'\n"),
            ],
            "unknown inhibit target 'BRAF'",
        ),
        (lambda p: ["simulate", "no_such_scenario"], "no such scenario file"),
        (
            lambda p: ["simulate", "najafi2024_MDA-MB-231", "--msc-cells", "1e4"],
            "--msc-cells is for transwell",
        ),
        (
            lambda p: ["simulate", _scenario_file(p, GOOD), "--params", str(p / "absent.csv")],
            "no such parameter file",
        ),
    ],
)
def test_simulate_bad_input_exits_2_with_a_clear_message(tmp_path, make_args, message):
    result = run(*make_args(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_simulate_refuses_unknown_parameter_in_params_file(tmp_path):
    params = tmp_path / "p.csv"
    params.write_text("name,value\nno_such_rate,1.0\n")
    result = run("simulate", _scenario_file(tmp_path, GOOD), "--params", str(params))
    assert result.returncode == 2
    assert "unknown parameter(s) no_such_rate" in result.stderr


def test_simulate_refuses_non_numeric_parameter(tmp_path):
    params = tmp_path / "p.csv"
    params.write_text("name,value\nsec_IL2,fast\n")
    result = run("simulate", _scenario_file(tmp_path, GOOD), "--params", str(params))
    assert result.returncode == 2
    assert "row 1 (sec_IL2)" in result.stderr


def test_bad_list_argument_is_a_usage_error(tmp_path):
    result = run("simulate", "mirfendereski2024_AGS", "--doses", "a,b")
    assert result.returncode == 2
    assert "not a comma-separated list of numbers" in result.stderr


def test_closed_pipe_is_not_a_traceback():
    """Regression: `secretome model | head` ended in a BrokenPipeError traceback."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "secretome.cli", "model", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    proc.stdout.read(10)
    proc.stdout.close()
    stderr = proc.stderr.read().decode()
    proc.wait()
    assert "Traceback" not in stderr
    assert proc.returncode == 0


def test_simulate_backends_agree_through_the_cli(tmp_path):
    for backend in ("compiled", "roadrunner"):
        out = tmp_path / backend
        args = ["simulate", "mirfendereski2024_A431", "--out", str(out), "--backend", backend]
        assert cli.main(args) == 0
    a = pd.read_csv(tmp_path / "compiled" / "observables.csv")
    b = pd.read_csv(tmp_path / "roadrunner" / "observables.csv")
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-5)


def test_unknown_backend_exits_2_naming_the_choices():
    result = run("simulate", "mirfendereski2024_A431", "--backend", "cvode")
    assert result.returncode == 2
    assert "invalid choice: 'cvode'" in result.stderr and "roadrunner" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_texts_show_percent_signs_once(capsys):
    # argparse formats help strings of options (where % must be doubled) but not
    # descriptions: a doubled %% in a description is printed as it is
    for command in ("fit", "profile", "loso", "sample", "select", "predict", "reproduce"):
        with pytest.raises(SystemExit):
            cli.main([command, "--help"])
        assert "%%" not in capsys.readouterr().out, command

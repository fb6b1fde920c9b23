"""Issue 16: every bad input is refused with exit status 2 and one line naming it.

Each case runs the command line in this process (``cli.main``), as a user would
type it, and checks the exit status, that stderr ends in exactly one error line
(argparse's usage lines before it are fine), the words that name the input at
fault, that there is no traceback, and that nothing was written.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from secretome import cli, data, model
from secretome.objective import load_fit_config
from secretome.space import parameter_space


def refused(args: list[str], capsys) -> str:
    """Run the CLI; return its one error line (asserting exit 2 and no traceback)."""
    try:
        code = cli.main(args)
    except SystemExit as exc:  # argparse's usage errors
        code = exc.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("secretome ")]
    assert len(errors) == 1, err
    assert "error:" in errors[0]
    return errors[0]


def bounds(name: str) -> tuple[float, float]:
    table = model.load_model().parameters
    row = table[table["name"] == name].iloc[0]
    return float(row["lower"]), float(row["upper"])


@pytest.fixture
def params_file(tmp_path):
    def write(text: str) -> str:
        path = tmp_path / "p.csv"
        path.write_text(text)
        return str(path)

    return write


# --- item 2: parameter values outside the table's bounds, duplicates ------------------


def test_negative_parameter_is_refused_with_name_value_and_bounds(tmp_path, params_file, capsys):
    lo, hi = bounds("w_inh_OF")
    f = params_file("name,value\nw_inh_OF,-1\n")
    out = tmp_path / "out"
    line = refused(["simulate", "mirfendereski2024_AGS", "--params", f, "--out", str(out)], capsys)
    assert f"w_inh_OF = -1: must not be negative (bounds [{lo:g}, {hi:g}])" in line
    assert not out.exists()


def test_value_above_the_bounds_is_refused_unless_allowed(tmp_path, params_file, capsys):
    lo, hi = bounds("w_inh_OF")
    f = params_file(f"name,value\nw_inh_OF,{10 * hi:g}\n")
    out = tmp_path / "out"
    args = ["simulate", "mirfendereski2024_A431", "--params", f, "--out", str(out)]
    line = refused(args, capsys)
    assert f"w_inh_OF = {10 * hi:g} is outside its bounds [{lo:g}, {hi:g}]" in line
    assert "--allow-outside-bounds" in line
    assert not out.exists()
    assert cli.main([*args, "--allow-outside-bounds"]) == 0
    assert "outside the table's bounds allowed" in capsys.readouterr().out
    assert set(pd.read_csv(out / "observables.csv")["parameters"]) == {"p.csv"}


def test_duplicate_parameter_rows_are_refused(params_file, capsys):
    f = params_file("name,value\nw_inh_OF,0.5\nsec_IL2,1\nw_inh_OF,0.6\n")
    line = refused(["simulate", "mirfendereski2024_AGS", "--params", f], capsys)
    assert "row 3 (w_inh_OF): w_inh_OF is given again (first in row 1)" in line


def test_the_library_checks_bounds_too(tmp_path):
    from secretome import parameter_sets, report, scenarios
    from secretome.errors import SecretomeError

    with pytest.raises(SecretomeError, match="w_inh_OF = -1: must not be negative"):
        parameter_sets.check_values({"w_inh_OF": -1})
    scenario = scenarios.load_scenario("mirfendereski2024_AGS")
    with pytest.raises(SecretomeError, match="outside its bounds"):
        report.simulation_report(scenario, tmp_path / "out", {"w_inh_OF": 1e6})
    assert not (tmp_path / "out").exists()


# --- item 4: limits of the model's inputs and of the experiment ------------------------


def test_times_after_the_end_need_an_explicit_duration(tmp_path, capsys):
    out = tmp_path / "out"
    line = refused(
        ["simulate", "mirfendereski2024_AGS", "--times", "10,500", "--out", str(out)], capsys
    )
    assert "--times: 500 h is after the end of mirfendereski2024_AGS's exposure (96 h)" in line
    assert "--duration 500" in line
    assert not out.exists()
    args = ["simulate", "mirfendereski2024_AGS", "--times", "10,120", "--duration", "100"]
    assert "--times: 120 h is after --duration 100 h" in refused(args, capsys)


def test_cm_fraction_beyond_the_table_bound_is_refused(capsys):
    lo, hi = bounds("cm_fraction")
    line = refused(["simulate", "najafi2024_MDA-MB-231", "--cm-fraction", "5"], capsys)
    assert f"--cm-fraction: CM fraction 5 is outside the model's range [{lo:g}, {hi:g}]" in line
    assert "cm_fraction in models/parameters.csv" in line


def test_msc_number_beyond_the_density_bound_is_refused(capsys):
    line = refused(["simulate", "mirfendereski2024_AGS", "--msc-cells", "1e9"], capsys)
    assert "--msc-cells: 1e+09 MSCs in 3 mL" in line and "msc_density" in line


# --- item 5: tracebacks that became one line ---------------------------------------------


def test_negative_time_is_refused(capsys):
    line = refused(["simulate", "mirfendereski2024_AGS", "--times=-5,10"], capsys)
    assert "--times: -5 must be > 0" in line


@pytest.mark.parametrize(
    "command",
    [
        ["simulate", "mirfendereski2024_AGS"],
        ["fit", "--starts", "1"],
        ["reproduce"],
        ["loso"],
        ["sensitivity", "mirfendereski2024_AGS"],
    ],
)
def test_out_that_is_a_file_is_refused_before_any_work(tmp_path, capsys, command):
    existing = tmp_path / "afile"
    existing.write_text("mine\n")
    line = refused([*command, "--out", str(existing)], capsys)
    assert f"{existing}: exists and is not a directory" in line
    assert existing.read_text() == "mine\n"


def test_out_below_a_file_is_refused(tmp_path, capsys):
    blocker = tmp_path / "afile"
    blocker.write_text("")
    line = refused(["simulate", "mirfendereski2024_AGS", "--out", str(blocker / "run")], capsys)
    assert f"{blocker} is not a directory" in line


def test_sbml_to_a_directory_is_refused(tmp_path, capsys):
    line = refused(["model", "--sbml", str(tmp_path)], capsys)
    assert f"cannot write {tmp_path}: it is a directory" in line


@pytest.fixture(scope="module")
def fit_dir(tmp_path_factory) -> Path:
    """What `secretome fit --out DIR` leaves for `profile`, at the nominal point."""
    out = tmp_path_factory.mktemp("fit")
    config = load_fit_config()
    space = parameter_space(config.parameters)
    problem = {"config": dataclasses.asdict(config), "studies": None, "parameters": space.keys}
    (out / "problem.json").write_text(json.dumps(problem))
    pd.DataFrame({"key": space.keys, "log10": space.nominal}).to_csv(
        out / "best_parameters.csv", index=False
    )
    return out


def test_profile_of_a_parameter_not_fitted_is_refused(fit_dir, capsys):
    line = refused(["profile", str(fit_dir), "--params", "nope", "--workers", "1"], capsys)
    assert "not fitted, so not profiled: nope; the fitted parameters are" in line
    assert not (fit_dir / "profiles").exists()


def test_profile_of_a_damaged_fit_is_refused(tmp_path, fit_dir, capsys):
    broken = tmp_path / "fit"
    broken.mkdir()
    (broken / "problem.json").write_text("{not json")
    (broken / "best_parameters.csv").write_text((fit_dir / "best_parameters.csv").read_text())
    line = refused(["profile", str(broken)], capsys)
    assert "problem.json: not the problem file of a `secretome fit` run" in line


# --- items 6, 7, 8: unknown observables, flags blamed on files, negative lists -----------


def test_unknown_observable_is_refused(tmp_path, capsys):
    out = tmp_path / "out"
    line = refused(
        ["simulate", "mirfendereski2024_AGS", "--observables", "foo", "--out", str(out)], capsys
    )
    assert "unknown observable(s) foo; known: mrna_JAK2" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--msc-cells=-5"], "--msc-cells: -5 must be >= 0"),
        (["--msc-cells", "-5"], "--msc-cells: -5 must be >= 0"),
        (["--duration", "0"], "--duration: 0 must be > 0"),
        (["--duration", "-1e3"], "--duration: -1000 must be > 0"),
        (["--doses", "-1e4,6e4"], "--doses: -10000 must be >= 0"),
        (["--doses=-1e4,6e4"], "--doses: -10000 must be >= 0"),
    ],
)
def test_flags_are_blamed_not_the_shipped_file(capsys, flags, message):
    line = refused(["simulate", "mirfendereski2024_AGS", *flags], capsys)
    assert message in line
    assert ".toml" not in line and "expected one argument" not in line


# --- item 9: data --validate ------------------------------------------------------------


def test_validate_reports_each_problem_once(evidence_raw, write_csv, capsys):
    bad = evidence_raw.copy()
    bad.loc[0, "value"] = "abc"
    bad.loc[1, "sd"] = "-x"
    bad.loc[2, "assay"] = ""
    bad.loc[3, "time_h"] = ""
    path = write_csv(bad, "mine.csv")
    assert cli.main(["data", "--validate", str(path)]) == 2
    err = capsys.readouterr().err
    problems = [line for line in err.splitlines() if line.startswith("  - ")]
    assert len(problems) == len(set(problems)) == 4, err


def test_validate_warns_about_readouts_the_model_does_not_observe(evidence_raw, write_csv, capsys):
    bad = evidence_raw.copy()
    row = bad.index[bad["assay"] == "qpcr"][0]
    bad.loc[row, ["readout", "hgnc"]] = "NOTAGENE"
    path = write_csv(bad, "mine.csv")
    assert cli.main(["data", "--validate", str(path)]) == 0
    captured = capsys.readouterr()
    assert f"valid ({len(bad)} rows; 1 warning(s) on stderr)" in captured.out
    warning = captured.err.strip()
    assert warning.startswith("secretome data: warning:") and "\n" not in warning
    assert f"row {row + 1}" in warning and "field 'hgnc': NOTAGENE is not a gene symbol" in warning
    assert data.check_readouts(data.load_evidence()) == []  # the shipped evidence is clean


# --- item 10: validate before creating output --------------------------------------------


def test_fit_with_zero_workers_writes_nothing(tmp_path, capsys):
    out = tmp_path / "fit"
    line = refused(["fit", "--workers", "0", "--out", str(out)], capsys)
    assert "argument --workers: 0 must be at least 1" in line
    assert not out.exists()


def test_fit_with_an_unreachable_scheduler_writes_nothing_and_draws_no_bar(tmp_path, capsys):
    pytest.importorskip("dask.distributed")
    out = tmp_path / "fit"
    line = refused(["fit", "--scheduler", "tcp://127.0.0.1:1", "--out", str(out)], capsys)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in line
    assert not out.exists()


def test_the_library_fit_validates_before_writing(tmp_path):
    from secretome.errors import SecretomeError
    from secretome.fitting import fit

    out = tmp_path / "fit"
    with pytest.raises(SecretomeError, match="workers must be a whole number of at least 1"):
        fit(starts=1, workers=0, out=out)
    with pytest.raises(SecretomeError, match="seed must be a whole number >= 0"):
        fit(starts=1, seed=-1, out=out)
    assert not out.exists()


# --- more bad inputs (beyond the list) --------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name,value\nw_inh_OF,inf\n", "row 1 (w_inh_OF): field 'value' is not a finite number"),
        ("name,value\n,0.5\n", "row 1: field 'name' is empty"),
        ("name,value\n", "no rows: the file names no parameter"),
        ("name,value\ncm_fraction,0.5\n", "cm_fraction: set by each scenario's delivery"),
        (
            "name,value\nsec_IL2,1\nsec_IL2[human_adipose],2\n",
            "sec_IL2 is given both bare and as sec_IL2[human_adipose]",
        ),
        ("name,value\nsec_IL2[AGS],1\n", "sec_IL2[AGS]: sec_IL2 has no row for AGS"),
        ("name,value\nw_inh_OF[HeLa],1\n", "w_inh_OF[HeLa]: unknown context 'HeLa'"),
        ("name,value\nno_such_rate,1\n", "unknown parameter(s) no_such_rate"),
    ],
)
def test_more_bad_parameter_files(params_file, capsys, text, message):
    line = refused(["simulate", "mirfendereski2024_AGS", "--params", params_file(text)], capsys)
    assert message in line


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["simulate", "mirfendereski2024_AGS", "--doses", "1e4,1e4"],
            "--doses: a value is repeated",
        ),
        (["simulate", "mirfendereski2024_AGS", "--doses", "nan"], "--doses: nan is not a finite"),
        (["simulate", "mirfendereski2024_AGS", "--times", "inf"], "--times: inf is not a finite"),
        (
            ["simulate", "mirfendereski2024_AGS", "--doses", "1e4", "--msc-cells", "5e4"],
            "--doses and --msc-cells both set the dose; give one",
        ),
        (["simulate", "mirfendereski2024_AGS", "--duration", "nan"], "'nan' is not a finite"),
        (["simulate", "mirfendereski2024_AGS", "--out", ""], "output directory is empty"),
        (["simulate", "mirfendereski2024_AGS", "--nominal", "--params", "x.csv"], "not allowed"),
        (["fit", "--starts", "0"], "argument --starts: 0 must be at least 1"),
        (["fit", "--seed", "-1"], "argument --seed: -1 is negative"),
        (["fit", "--max-nfev", "0"], "argument --max-nfev: 0 must be at least 1"),
        (["fit", "--qualitative-sigma", "nan"], "'nan' is not a finite number"),
        (["fit", "--studies", "nope"], "unknown study nope"),
        (["profile", "no_such_fit"], "problem.json: not found"),
        (["profile", "no_such_fit", "--span", "-1"], "argument --span: -1 must be a number above"),
        (["profile", "no_such_fit", "--points", "0"], "argument --points: 0 must be at least 1"),
        (["loso", "--starts", "0"], "argument --starts: 0 must be at least 1"),
        (["sensitivity", "mirfendereski2024_AGS", "--n", "0"], "argument --n: 0 must be at least"),
        (["sensitivity", "mirfendereski2024_AGS", "--params", ","], "--params: the list is empty"),
        (["sensitivity", "mirfendereski2024_AGS", "--factor", "nan"], "is not a finite number"),
        (["reproduce", "--nominal", "--params", "x.csv"], "not allowed with argument"),
        (["data", "--validate", "."], "cannot read it (Is a directory)"),
        (["simulate", "."], "cannot read it (Is a directory)"),
    ],
)
def test_more_bad_arguments(tmp_path, monkeypatch, capsys, args, message):
    monkeypatch.chdir(tmp_path)
    assert message in refused(args, capsys)
    assert list(tmp_path.iterdir()) == []


def test_sensitivity_centre_is_held_to_the_bounds(params_file, tmp_path, capsys):
    f = params_file("name,value\nw_inh_OF,1e6\n")
    line = refused(
        ["sensitivity", "mirfendereski2024_AGS", "--centre", f, "--out", str(tmp_path / "s")],
        capsys,
    )
    assert "w_inh_OF = 1e+06 is outside its bounds" in line


def test_scenario_file_beyond_the_model_limits_names_the_field(tmp_path, capsys):
    path = tmp_path / "mine.toml"
    path.write_text(
        'cell_line = "AGS"\nmsc_source = "human_adipose"\nduration_h = 24\nsampling_h = [24]\n'
        '[delivery]\nmode = "transwell"\nmsc_cells = 1e4\n'
        '[[perturbations]]\ntype = "receptor"\ntarget = "IL2R"\nscale = 50\n'
    )
    assert cli.main(["simulate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "field 'perturbations[0].scale': 50 is outside the model's range [0, 10]" in err


def test_one_subprocess_run_shows_no_traceback(tmp_path):
    """The same refusals through the installed entry point, as a shell user sees them."""
    args = ["simulate", "mirfendereski2024_AGS", "--doses", "-1e4,6e4", "--out", str(tmp_path)]
    result = subprocess.run(
        [sys.executable, "-m", "secretome.cli", *args],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip() == "secretome simulate: error: --doses: -10000 must be >= 0"

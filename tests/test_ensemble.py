"""Posterior ensembles: reading and checking the file, running every draw, the bands.

Ensembles here are stand-ins built by :func:`perturbed_draws` (log-normal
perturbations of the shipped fit, clipped to the table's bounds), not posterior
draws: the machinery does not care where the draws came from.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from secretome import comparison, ensemble, model, parameter_sets, report, scenarios
from secretome.errors import SecretomeError
from secretome.paths import models_dir
from secretome.simulation import simulate, split_key

SCENARIO = "mirfendereski2024_AGS"
META = {"draw": 0, "chain": 0, "log_posterior": -1.0}


def perturbed_draws(n: int, sd: float = 0.1, seed: int = 0) -> list[dict[str, float]]:
    """``n`` stand-in draws: the shipped fit times 10**N(0, sd), clipped to the bounds."""
    fit = parameter_sets.shipped_fit().as_dict()
    table = model.load_model().parameters
    rng = np.random.default_rng(seed)
    draws = []
    for _ in range(n):
        draw = {}
        for key, value in fit.items():
            name, context = split_key(key)
            rows = table[table["name"] == name]
            if context:
                rows = rows[rows["context"] == context]
            lo, hi = rows["lower"].max(), rows["upper"].min()
            draw[key] = float(np.clip(value * 10 ** rng.normal(0, sd), lo, hi))
        draws.append(draw)
    return draws


def write_ensemble(path: Path, draws: list[dict[str, float]], **extra_columns) -> Path:
    """Write draws in the ensemble file format (draw, chain, log_posterior, keys...)."""
    rows = [
        {"draw": i, "chain": i % 2, "log_posterior": -10.0 - i, **d, **extra_columns}
        for i, d in enumerate(draws)
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def scenario():
    return scenarios.load_scenario(SCENARIO)


@pytest.fixture(scope="module")
def varied_run(scenario):
    ens = ensemble.from_draws(perturbed_draws(6, sd=0.15), label="stand-in", name="stand-in")
    return ensemble.run_ensemble([scenario], ens, record=report.record_variables())[0]


# --- the bands ---------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 30), st.integers(1, 8)),
        elements=st.floats(-1e6, 1e6, allow_nan=False) | st.just(np.nan),
    )
)
def test_bands_are_ordered_and_contain_the_median(samples):
    q05, q50, q95 = ensemble.quantile_band(samples)
    some = ~np.all(np.isnan(samples), axis=0)
    assert np.all(q05[some] <= q50[some]) and np.all(q50[some] <= q95[some])
    lo, hi = np.nanmin(samples[:, some], axis=0), np.nanmax(samples[:, some], axis=0)
    assert np.all(lo <= q05[some]) and np.all(q95[some] <= hi)
    assert np.all(np.isnan(q50[~some]))


def test_bands_skip_failed_draws():
    samples = np.array([[1.0, 2.0], [np.nan, np.nan], [3.0, 4.0]])
    q05, q50, q95 = ensemble.quantile_band(samples)
    assert q50.tolist() == [2.0, 3.0]
    assert q05[0] == pytest.approx(1.1) and q95[1] == pytest.approx(3.9)


def test_identical_draws_give_zero_width_bands_equal_to_the_point(scenario):
    fit = parameter_sets.shipped_fit().as_dict()
    ens = ensemble.from_draws([fit] * 3)
    (run,) = ensemble.run_ensemble([scenario], ens, record=report.record_variables())
    point = simulate(scenario, fit, record=report.record_variables())
    bands = ensemble.observable_bands(run)
    for col in ensemble.BAND_COLUMNS:
        np.testing.assert_allclose(bands[col], point.observables["value"], rtol=1e-12)
    tc = ensemble.timecourse_bands(run)
    assert len(tc) == len(point.timecourses)
    for col in ensemble.BAND_COLUMNS:
        np.testing.assert_allclose(tc[col], point.timecourses["level"], rtol=1e-12, atol=0)
    assert (bands["failed_fraction"] == 0).all()


def test_varied_draws_give_ordered_bands_everywhere(varied_run):
    obs = ensemble.observable_bands(varied_run)
    tc = ensemble.timecourse_bands(varied_run)
    for table, prefixes in ((obs, ("", "control_")), (tc, ("", "relative_"))):
        for p in prefixes:
            lo, mid, hi = (table[f"{p}{c}"].to_numpy() for c in ensemble.BAND_COLUMNS)
            assert np.all(lo <= mid) and np.all(mid <= hi)
    viability = obs[obs["observable"] == "viable_cells"].iloc[0]
    assert viability["q95"] - viability["q05"] > 1.0  # the draws differ: a real band


def test_median_result_judges_the_median(varied_run):
    median = ensemble.median_result(varied_run)
    np.testing.assert_array_equal(median.observables["value"], median.observables["q50"])
    rows = comparison.compare(comparison.evidence_for(median), [median])
    single = rows[rows["kind"].isin(["quantitative", "direction"]) & (rows["arm"] == "treated")]
    assert len(single)
    assert (single["q05"] <= single["predicted"]).all()
    assert (single["predicted"] <= single["q95"]).all()
    np.testing.assert_allclose(single["q50"], single["predicted"])
    assert single["detail"].str.startswith("ensemble median").all()
    assert "fit" in rows.columns


def test_control_arm_fold_change_band_is_exactly_one(scenario):
    """With no MSCs the treated arm is the control arm: every fold change is 1 in every draw."""
    no_mscs = scenarios.modify(scenario, doses=[0.0])
    ens = ensemble.from_draws(perturbed_draws(4, sd=0.2, seed=3))
    (run,) = ensemble.run_ensemble([no_mscs], ens)
    bands = ensemble.observable_bands(run)
    ratio = bands[bands["assay"].isin(["qpcr", "western", "elisa"])]
    for col in ensemble.BAND_COLUMNS:
        assert (ratio[col] == 1.0).all()
    tc = ensemble.timecourse_bands(run)
    start = tc[(tc["arm"] == "control") & (tc["time_h"] == 0)]
    for col in ("relative_q05", "relative_q50", "relative_q95"):
        assert (start.loc[start["q50"] != 0, col] == 1.0).all()


def test_failed_draws_are_counted_not_dropped(scenario):
    draws = perturbed_draws(3, seed=1)
    draws[1] = {**draws[1], "w_inh_OF": 1e12}  # the integrator cannot follow this one
    ens = ensemble.from_draws(draws, allow_outside_bounds=True)
    (run,) = ensemble.run_ensemble([scenario], ens, timecourses=False)
    assert run.failed.tolist() == [False, True, False]
    assert run.n_failed == 1 and len(run.errors) == 1 and run.errors[0].startswith("draw 1:")
    assert np.isnan(run.value[1]).all()
    bands = ensemble.observable_bands(run)
    assert bands["failed_fraction"].iloc[0] == pytest.approx(1 / 3)
    assert bands["q50"].notna().all()


def test_local_workers_give_the_same_bands_as_serial(scenario):
    ens = ensemble.from_draws(perturbed_draws(4, seed=2))
    serial = ensemble.run_ensemble([scenario], ens, timecourses=False)[0]
    pooled = ensemble.run_ensemble([scenario], ens, timecourses=False, workers=2)[0]
    np.testing.assert_array_equal(serial.value, pooled.value)


# --- the file -----------------------------------------------------------------------------


def test_a_file_round_trips_and_ignores_noise_columns(tmp_path):
    draws = perturbed_draws(3)
    path = write_ensemble(tmp_path / "posterior.csv", draws, **{"noise:sigma_qpcr": 0.3})
    ens = ensemble.load_ensemble(path)
    assert len(ens) == 3 and "noise:sigma_qpcr" not in ens.keys
    assert ens.parameters(2) == pytest.approx(draws[2])
    assert "3 draws" in ens.label and "no provenance file" in ens.label
    (tmp_path / "posterior.toml").write_text('command = "secretome sample --seed 0"\n')
    assert "`secretome sample --seed 0`" in ensemble.load_ensemble(path).label


def _bad(tmp_path: Path, edit) -> Path:
    table = pd.DataFrame(
        [{**META, "draw": i, **d} for i, d in enumerate(perturbed_draws(3))]
    ).astype(object)
    table = edit(table)
    path = tmp_path / "bad.csv"
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (lambda t: t.drop(columns=["chain"]), ["missing column(s) chain"]),
        (lambda t: t.assign(k_nonsense=1.0), ["header", "unknown column(s) k_nonsense"]),
        (lambda t: t.assign(**{"w_inh_OF[Mars]": 1.0}), ["unknown context 'Mars'"]),
        (lambda t: t.iloc[:0], ["no rows"]),
        (lambda t: t[["draw", "chain", "log_posterior"]], ["no parameter columns"]),
        (
            lambda t: t.assign(w_inh_OF=[1.0, "abc", 1.0]),
            ["row 2 (draw 1)", "field 'w_inh_OF'", "not a number ('abc')"],
        ),
        (
            lambda t: t.assign(w_inh_OF=[1.0, 1.0, -2.0]),
            ["row 3 (draw 2)", "field 'w_inh_OF'", "must not be negative"],
        ),
        (
            lambda t: t.assign(w_inh_OF=[1.0, 1.0, "inf"]),
            ["row 3 (draw 2)", "field 'w_inh_OF'", "not a finite number"],
        ),
        (
            lambda t: t.assign(w_inh_OF=[1.0, 1e6, 1.0]),
            ["row 2 (draw 1)", "w_inh_OF", "outside its bounds", "--allow-outside-bounds"],
        ),
        (lambda t: t.assign(draw=[0, 1.5, 2]), ["row 2", "field 'draw'", "whole number"]),
        (lambda t: t.assign(chain=[0, "inf", 0]), ["row 2", "field 'chain'", "whole number"]),
    ],
)
def test_bad_files_are_refused_naming_file_row_and_column(tmp_path, edit, expected):
    path = _bad(tmp_path, edit)
    with pytest.raises(SecretomeError) as info:
        ensemble.load_ensemble(path)
    message = str(info.value)
    assert str(path) in message
    for words in expected:
        assert words in message


def test_repeated_columns_and_missing_files_are_named(tmp_path):
    path = tmp_path / "twice.csv"
    path.write_text("draw,chain,log_posterior,w_inh_OF,w_inh_OF\n0,0,-1,1,1\n")
    with pytest.raises(SecretomeError, match="w_inh_OF appear more than once"):
        ensemble.load_ensemble(path)
    with pytest.raises(SecretomeError, match="no such ensemble file"):
        ensemble.load_ensemble(tmp_path / "absent.csv")


def test_outside_bounds_can_be_allowed(tmp_path):
    path = _bad(tmp_path, lambda t: t.assign(w_inh_OF=[1.0, 1e6, 1.0]))
    ens = ensemble.load_ensemble(path, allow_outside_bounds=True)
    assert ens.parameters(1)["w_inh_OF"] == 1e6


# --- the default: the shipped posterior when there is one --------------------------------


@pytest.fixture
def models_copy(tmp_path, monkeypatch):
    """A copy of the shipped models/ (without any posterior), used by every command."""
    target = tmp_path / "models"
    shutil.copytree(models_dir(), target, ignore=shutil.ignore_patterns("posterior.*"))
    monkeypatch.setenv("SECRETOME_MODELS", str(target))
    return target


def test_default_is_the_shipped_posterior_only_when_it_exists(models_copy):
    assert ensemble.choose_ensemble() is None
    assert ensemble.choose_ensemble("none") is None
    write_ensemble(models_copy / ensemble.ENSEMBLE_FILE, perturbed_draws(2))
    chosen = ensemble.choose_ensemble()
    assert chosen is not None and len(chosen) == 2
    assert chosen.source == models_copy / ensemble.ENSEMBLE_FILE
    assert ensemble.choose_ensemble("NONE") is None


def _secretome(*args: str, env: dict | None = None, cwd: Path | None = None):
    return subprocess.run(
        [sys.executable, "-m", "secretome.cli", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=600,
    )


def test_cli_simulate_uses_the_shipped_posterior_by_default(models_copy, tmp_path):
    env = {"SECRETOME_MODELS": str(models_copy)}
    out = tmp_path / "point"
    done = _secretome("simulate", SCENARIO, "--out", str(out), "--workers", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert "ensemble: none: point estimate only" in done.stdout
    assert "no shipped posterior" in done.stdout
    assert pd.read_csv(out / "observables.csv")["q50"].isna().all()

    write_ensemble(models_copy / ensemble.ENSEMBLE_FILE, perturbed_draws(3))
    out = tmp_path / "banded"
    done = _secretome("simulate", SCENARIO, "--out", str(out), "--workers", "1", env=env)
    assert done.returncode == 0, done.stderr
    assert "ensemble: ensemble " in done.stdout and "3 draws" in done.stdout
    obs = pd.read_csv(out / "observables.csv")
    assert (obs["q05"] <= obs["q50"]).all() and (obs["q50"] <= obs["q95"]).all()
    assert obs["ensemble"].str.contains("3 draws").all()
    cmp = pd.read_csv(out / "comparison.csv")
    assert {"q05", "q50", "q95", "fit"} <= set(cmp.columns)
    tc = pd.read_csv(out / "timecourses.csv")
    assert tc["q50"].notna().all()

    out = tmp_path / "nominal"  # the shipped posterior belongs to the shipped fit only
    done = _secretome("simulate", SCENARIO, "--nominal", "--out", str(out), env=env)
    assert done.returncode == 0, done.stderr
    assert "ensemble: none" in done.stdout and "--ensemble FILE" in done.stdout


@pytest.mark.parametrize("command", ["simulate", "reproduce"])
def test_cli_refuses_a_bad_ensemble_with_exit_2(tmp_path, command):
    bad = _bad(tmp_path, lambda t: t.assign(w_inh_OF=[1.0, "abc", 1.0]))
    args = [command, SCENARIO] if command == "simulate" else [command]
    done = _secretome(*args, "--ensemble", str(bad), "--out", str(tmp_path / "out"))
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert str(bad) in done.stderr and "row 2 (draw 1)" in done.stderr
    assert "w_inh_OF" in done.stderr


def test_cli_no_ensemble_says_so(tmp_path):
    done = _secretome("simulate", SCENARIO, "--no-ensemble", "--out", str(tmp_path / "o"))
    assert done.returncode == 0, done.stderr
    assert "ensemble: none: point estimate only, no bands (--no-ensemble)" in done.stdout


# --- the report ----------------------------------------------------------------------------


def test_reproduce_with_an_ensemble_reports_bands_and_splits_agreement(tmp_path):
    ens = ensemble.from_draws(perturbed_draws(3, seed=6), label="three stand-in draws")
    loso = tmp_path / "loso.csv"
    agreement = ["agree", "agree", "disagree"]
    held = pd.DataFrame({"held_out": ["a", "a", "b"], "id": ["x", "y", "z"]})
    held["agreement"] = agreement
    held.to_csv(loso, index=False)
    done = report.reproduce(
        tmp_path / "rep",
        parameter_sets.shipped_fit(),
        ensemble=ens,
        loso=loso,
        decisive=tmp_path / "absent_decisive.csv",
    )
    table = pd.read_csv(tmp_path / "rep" / "comparison.csv")
    banded = table[table["q50"].notna()]
    assert len(banded) and (banded["q05"] <= banded["q50"]).all()
    assert (banded["q50"] <= banded["q95"]).all()
    assert banded["detail"].str.startswith("ensemble median").all()
    assert done.ensemble is not None and len(done.ensemble) == len(scenarios.shipped_scenarios())
    page = (tmp_path / "rep" / "index.html").read_text()
    assert "three stand-in draws" in page and "judged on the ensemble median" in page
    assert report.in_and_out_of_sample(done.comparison) in page
    assert "fitted rows agree" in page and "held-out rows agree" in page
    assert "Leave one study out" in page and str(loso) in page
    assert "absent_decisive.csv does not exist" in page
    obs = pd.read_csv(tmp_path / "rep" / "observables.csv")
    assert obs["q50"].notna().all() and (obs["ensemble"] == ens.name).all()


def test_in_and_out_of_sample_counts_every_judged_row_once():
    rows = pd.DataFrame(
        {
            "fit": [True, True, True, False, False],
            "agreement": ["agree", "disagree", "not scored", "agree", "agree"],
        }
    )
    text = report.in_and_out_of_sample(rows)
    assert text == "1 of 2 fitted rows agree; 2 of 2 held-out rows agree"


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_values_within_bounds_round_trip_through_a_file(tmp_path_factory, data):
    keys = ["w_inh_OF", "sec_IL2[rat_bone_marrow]", "e0[KG1a_CD34]"]
    lo, hi = ensemble._bounds(keys)
    n = data.draw(st.integers(1, 6))
    draws = [
        {
            k: data.draw(st.floats(float(a) * 1.000001, float(b) * 0.999999))
            for k, a, b in zip(keys, lo, hi, strict=True)
        }
        for _ in range(n)
    ]
    path = write_ensemble(tmp_path_factory.mktemp("round") / "e.csv", draws)
    ens = ensemble.load_ensemble(path)
    assert ens.keys == tuple(keys)
    np.testing.assert_array_equal(ens.values, [[d[k] for k in keys] for d in draws])
    row = data.draw(st.integers(0, n - 1))
    text = data.draw(st.text(alphabet="abcxyz!?", min_size=1, max_size=5))
    table = pd.read_csv(path, dtype=str)
    table.loc[row, keys[1]] = text
    table.to_csv(path, index=False)
    with pytest.raises(SecretomeError) as info:
        ensemble.load_ensemble(path)
    assert f"row {row + 1} (draw {row})" in str(info.value)
    assert f"field '{keys[1]}'" in str(info.value)


def test_an_unconverged_sample_says_so_in_its_label(tmp_path):
    import shutil

    from secretome.paths import models_dir

    csv = tmp_path / "posterior.csv"
    shutil.copy(models_dir() / "posterior.csv", csv)
    csv.with_suffix(".toml").write_text('command = "x"\nr_hat_max = 1.5\n', encoding="utf-8")
    assert "NOT CONVERGED: R-hat up to 1.5" in ensemble.load_ensemble(csv).label
    csv.with_suffix(".toml").write_text('command = "x"\nr_hat_max = 1.004\n', encoding="utf-8")
    assert "NOT CONVERGED" not in ensemble.load_ensemble(csv).label

"""Calibration: the objective's rules, deterministic starts, resume after a kill, Dask."""

from __future__ import annotations

import dataclasses
import json
import math
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from secretome import fitting, objective
from secretome.errors import SecretomeError

#: A small problem for tests: three parameters, the farahzadi2024 evidence only.
SMALL = ("sec_IL2[rat_bone_marrow]", "sec_IL4[rat_bone_marrow]", "w_apo_casp")


@pytest.fixture(scope="module")
def small_config() -> objective.FitConfig:
    return dataclasses.replace(objective.load_fit_config(), parameters=SMALL, max_nfev=3)


def test_shipped_config_loads_and_names_real_parameters():
    config = objective.load_fit_config()
    obj = objective.Objective(config)
    assert len(obj.model_space) == len(config.parameters)
    # the estimated noise parameters follow the model parameters in the fitted point
    assert obj.space.keys == obj.model_space.keys + [g.name for g in config.noise]
    assert all(k.startswith("sigma_") for k in obj.noise_keys)
    # every fitted evidence row contributes residuals
    assert {t.id for t in obj.terms} == set(obj.evidence["id"])


def test_bad_config_is_refused(tmp_path):
    path = tmp_path / "fit.toml"
    path.write_text('parameters = ["no_such_rate"]\n')
    with pytest.raises(SecretomeError, match="unknown parameter"):
        objective.load_fit_config(path)
    path.write_text('parameters = ["w_apo_casp"]\n[sigma]\nqpcr = -1\n')
    with pytest.raises(SecretomeError, match=r"sigma\.qpcr"):
        objective.load_fit_config(path)
    path.write_text('parameters = ["msc_density"]\n')
    with pytest.raises(SecretomeError, match="scenario inputs"):
        objective.load_fit_config(path)


def _one_row(evidence: pd.DataFrame, row_id: str) -> pd.DataFrame:
    return evidence[evidence["id"] == row_id]


def test_quantitative_residual_is_log_ratio_over_sigma(small_config, evidence):
    obj = objective.Objective(small_config, evidence=_one_row(evidence, "far24_wb_TP53"))
    x = obj.space.nominal
    pred = obj.predictions(x)["farahzadi2024_KG1a_CD34"]
    p53 = pred.loc[pred["observable"] == "prot_TP53", "value"].iloc[0]
    sigma = obj.noise_sigmas(x)["sigma_protein"]  # western rows without SD share it
    expected = (math.log(p53) - math.log(2.09)) / sigma
    assert obj.residuals(x)[0] == pytest.approx(expected)
    assert len(obj.residuals(x)) == 1 + len(small_config.noise)  # + the noise priors


def test_percentage_residual_uses_the_papers_sd(small_config, evidence):
    obj = objective.Objective(small_config, evidence=_one_row(evidence, "mir24_AGS_mtt"))
    x = obj.space.nominal
    pred = obj.predictions(x)["mirfendereski2024_AGS"]
    viability = pred.loc[pred["observable"] == "viable_cells", "value"].iloc[0]
    assert obj.residuals(x)[0] == pytest.approx((viability - 76.71) / 3.97)


def test_qualitative_residuals_are_zero_when_satisfied_and_grow_when_not(small_config, evidence):
    row = _one_row(evidence, "naj24_qpcr_KRAS")  # KRAS mRNA down at 50% CM
    obj = objective.Objective(small_config, evidence=row)
    x = obj.space.nominal
    fold = obj.predictions(x)["najafi2024_MDA-MB-231"]
    fold = fold[(fold["observable"] == "mrna_KRAS") & (fold["time_h"] == 48)]
    fc = fold.loc[np.isclose(fold["dose"], 0.5), "value"].iloc[0]
    r = obj.residuals(x)[0]
    margin, sigma = small_config.direction_margin, small_config.qualitative_sigma
    assert r == pytest.approx(max(0.0, margin + math.log(fc)) / sigma)
    flipped = row.assign(direction="up")
    r_up = objective.Objective(small_config, evidence=flipped).residuals(x)[0]
    assert r_up == pytest.approx(max(0.0, margin - math.log(fc)) / sigma)
    assert (r == 0) != (r_up == 0)  # exactly one direction is satisfied


def test_starting_points_are_deterministic_and_in_bounds(small_config):
    space = objective.Objective(small_config).space
    a = fitting.starting_points(space, 6, seed=3)
    b = fitting.starting_points(space, 6, seed=3)
    c = fitting.starting_points(space, 6, seed=4)
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a[1:], c[1:])
    np.testing.assert_allclose(a[0], space.nominal)
    assert np.all(a >= space.lower) and np.all(a <= space.upper)


def test_fit_lowers_the_objective_and_writes_every_start(small_config, tmp_path):
    result = fitting.fit(small_config, studies=["farahzadi2024"], starts=2, seed=0, out=tmp_path)
    assert (result.starts["cost"] <= result.starts["initial_cost"] + 1e-12).all()
    assert sorted(p.name for p in (tmp_path / "starts").iterdir()) == [
        "start_0000.json",
        "start_0001.json",
    ]
    # rerunning into the same directory without --resume is refused, not overwritten
    with pytest.raises(SecretomeError, match="--resume"):
        fitting.fit(small_config, studies=["farahzadi2024"], starts=2, seed=0, out=tmp_path)
    again = fitting.fit(
        small_config, studies=["farahzadi2024"], starts=2, seed=0, out=tmp_path, resume=True
    )
    pd.testing.assert_frame_equal(again.starts, result.starts)


def test_resume_refuses_a_different_problem(small_config, tmp_path):
    fitting.fit(small_config, studies=["farahzadi2024"], starts=2, seed=0, out=tmp_path)
    with pytest.raises(SecretomeError, match="different fit"):
        fitting.fit(
            small_config, studies=["farahzadi2024"], starts=2, seed=1, out=tmp_path, resume=True
        )


def test_dask_local_cluster_gives_the_serial_result(small_config):
    distributed = pytest.importorskip("dask.distributed")
    serial = fitting.fit(small_config, studies=["farahzadi2024"], starts=2, seed=5)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False) as cluster,
        distributed.Client(cluster) as client,
    ):
        remote = fitting.fit(
            small_config, studies=["farahzadi2024"], starts=2, seed=5, scheduler=client
        )
    cols = ["start", "cost", "nfev"] + [c for c in serial.starts if c.startswith("x:")]
    pd.testing.assert_frame_equal(serial.starts[cols], remote.starts[cols])


def test_killed_fit_resumes_without_losing_finished_starts(tmp_path):
    """Kill a real `secretome fit` after its first start is written, then resume it."""
    config = tmp_path / "fit.toml"
    config.write_text("parameters = " + json.dumps(list(SMALL)) + "\n[optimiser]\nmax_nfev = 3\n")
    out = tmp_path / "run"
    args = [
        sys.executable,
        "-m",
        "secretome.cli",
        "fit",
        "--config",
        str(config),
        "--studies",
        "farahzadi2024",
        "--starts",
        "6",
        # one worker: starts finish one after another, so there is a moment with
        # some written and some not (with a pool, all could land between two polls)
        "--workers",
        "1",
        "--out",
        str(out),
    ]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    while (
        not list((out / "starts").glob("start_*.json"))
        and proc.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = sorted((out / "starts").glob("start_*.json"))
    assert finished, "no start finished before the kill"
    assert len(finished) < 6, "the fit finished before it could be killed"
    kept = {p.name: p.read_text() for p in finished}
    for text in kept.values():
        json.loads(text)  # every written start is complete JSON
    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert len(list((out / "starts").glob("start_*.json"))) == 6
    for name, text in kept.items():  # finished starts were not redone
        assert (out / "starts" / name).read_text() == text
    table = pd.read_csv(out / "starts.csv")
    assert sorted(table["start"]) == [0, 1, 2, 3, 4, 5]
    assert (out / "waterfall.png").is_file() and (out / "fit_vs_data" / "index.html").is_file()


def test_shipped_fitted_parameters_reproduce_their_recorded_objective():
    """models/fitted_parameters.csv is valid, in bounds, and still gives the objective
    its provenance file records (a model change that alters it needs a refit)."""
    import tomllib

    from secretome.paths import models_dir

    table = pd.read_csv(models_dir() / "fitted_parameters.csv")
    meta = tomllib.loads((models_dir() / "fitted_parameters.toml").read_text())
    config = objective.load_fit_config()
    obj = objective.Objective(config)
    assert list(table["name"]) == obj.model_space.keys  # noise is in the .toml, not here
    noise = meta.get("noise", {})
    assert sorted(noise) == sorted(obj.noise_keys), "refit: the provenance lacks [noise]"
    x = np.log10(np.r_[table["value"].to_numpy(), [noise[k] for k in obj.noise_keys]])
    assert np.all(x >= obj.space.lower - 1e-9) and np.all(x <= obj.space.upper + 1e-9)
    assert obj.cost(x) == pytest.approx(meta["objective"], rel=1e-3)
    assert obj.cost(x) < obj.cost(obj.space.nominal)

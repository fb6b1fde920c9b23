"""PEtab export: the linter accepts it, and its single-simulation observables reproduce
what secretome.simulation reports (treated / control of two simulations)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import roadrunner

from secretome import comparison, model, scenarios
from secretome.errors import SecretomeError
from secretome.objective import Objective, load_fit_config
from secretome.petab_export import (
    MEASUREMENT_FILE,
    QUALITATIVE_FILE,
    _check_exportable,
    _petab_id,
    context_parameter_id,
    export_petab,
)
from secretome.simulation import simulate

petab = pytest.importorskip("petab.v1")

_NAME = re.compile(r"(?<![\w.])[A-Za-z_]\w*")


@pytest.fixture(scope="module")
def config():
    return load_fit_config()


@pytest.fixture(scope="module")
def objective(config):
    return Objective(config)


@pytest.fixture(scope="module")
def exported(tmp_path_factory, config) -> Path:
    out = tmp_path_factory.mktemp("petab") / "problem"
    yaml_path = export_petab(out, config)
    assert yaml_path == out / "problem.yaml"
    return out


@pytest.fixture(scope="module")
def problem(exported):
    return petab.Problem.from_yaml(exported / "problem.yaml")


@pytest.fixture(scope="module")
def runner(exported):
    rr = roadrunner.RoadRunner(str(exported / "model.xml"))
    integrator = rr.getIntegrator()
    integrator.setValue("relative_tolerance", 1e-8)
    integrator.setValue("absolute_tolerance", 1e-12)
    return rr


def test_linter_reports_no_errors(problem):
    assert petab.lint_problem(problem) is False


def test_files_written(exported):
    names = {p.name for p in exported.iterdir()}
    expected = {"problem.yaml", "model.xml", "conditions.tsv", "measurements.tsv"}
    expected |= {"observables.tsv", "parameters.tsv", "qualitative_data.tsv", "README.md"}
    assert expected <= names
    assert not [n for n in names if n.endswith(".tmp")]


def test_every_quantitative_row_is_one_measurement(exported, objective):
    ev = objective.evidence
    meas = pd.read_csv(exported / MEASUREMENT_FILE, sep="\t")
    quantitative = ev.loc[ev["kind"] == "quantitative", "id"]
    assert sorted(meas["evidence_id"]) == sorted(quantitative)
    qual = pd.read_csv(exported / QUALITATIVE_FILE, sep="\t")
    assert sorted(qual["id"]) == sorted(ev.loc[ev["kind"] != "quantitative", "id"])
    assert set(qual["kind"]) <= {"direction", "no_change", "ordering"}


def test_fitted_parameters_estimated(problem, objective):
    par = problem.parameter_df
    estimated = set(par.index[par["estimate"] == 1])
    ids = {
        context_parameter_id(p.name, p.context) if p.context else p.name
        for p in objective.space.parameters
    }
    # every fitted parameter reached by a measurement is estimated, nothing else is
    assert estimated <= ids
    assert "w_prol_AKT__AGS" in estimated and "w_inh_OF" in estimated
    assert (par.loc[list(estimated), "parameterScale"] == "log10").all()
    cond = problem.condition_df
    assert cond.loc["mirfendereski2024_AGS__dose1", "w_prol_AKT"] == "w_prol_AKT__AGS"


def _petab_simulation(problem, rr, values: dict[str, float]) -> pd.DataFrame:
    """Simulate every measurement of the exported problem with libroadrunner."""
    par = problem.parameter_df["nominalValue"].astype(float).to_dict()
    par.update(values)
    sbml_params = set(rr.model.getGlobalParameterIds())
    obs_df = problem.observable_df
    out = problem.measurement_df.copy()
    sims = np.full(len(out), np.nan)
    for cid, group in out.groupby("simulationConditionId"):
        for pid, v in par.items():
            if pid in sbml_params:
                rr[pid] = v
        for col, v in problem.condition_df.loc[cid].items():
            if col == "conditionName":
                continue
            rr[col] = par[v] if v in par else float(v)
        rr.reset()  # re-evaluates initial assignments from the values just set
        times = sorted({0.0, *group["time"]})
        formulas = {o: obs_df.loc[o, "observableFormula"] for o in set(group["observableId"])}
        names = sorted({n for f in formulas.values() for n in _NAME.findall(f)})
        res = np.asarray(rr.simulate(times=times, selections=names))
        for i, row in group.iterrows():
            k = times.index(row["time"])
            env = dict(zip(names, res[k], strict=True))
            sims[out.index.get_loc(i)] = eval(formulas[row["observableId"]], {}, env)
    out["simulation"] = sims
    return out


def _secretome_values(objective: Objective, params: dict[str, float]) -> dict[str, float]:
    """What secretome.simulation reports for every quantitative evidence row."""
    results = {}
    for name, s in objective.scenarios.items():
        results[name] = simulate(s, params, n_points=2, timecourses=False).observables
    out = {}
    for term, (_, row) in zip(objective.terms, objective.evidence.iterrows(), strict=True):
        if row["kind"] != "quantitative":
            continue
        obs = results[term.scenario]
        sel = obs[
            (obs["observable"] == term.observable)
            & np.isclose(obs["time_h"], term.time_h)
            & np.isclose(obs["dose"], comparison.row_doses(row)[0])
        ]
        assert len(sel) == 1
        out[row["id"]] = float(sel["control" if row["arm"] == "control" else "value"].iloc[0])
    return out


def _points(objective):
    space = objective.space
    rng = np.random.default_rng(7)
    u = rng.uniform(space.lower, space.upper)
    return [space.nominal, space.nominal + 0.5 * (u - space.nominal)]


@pytest.mark.parametrize("point", [0, 1], ids=["nominal", "perturbed"])
def test_single_simulation_matches_treated_over_control(problem, runner, objective, point):
    x = _points(objective)[point]
    space = objective.space
    keyed = {p.key: float(10.0**xi) for p, xi in zip(space.parameters, x, strict=True)}
    petab_values = {
        (context_parameter_id(p.name, p.context) if p.context else p.name): keyed[p.key]
        for p in space.parameters
    }
    sim = _petab_simulation(problem, runner, petab_values)
    expected = _secretome_values(objective, keyed)
    for _, row in sim.iterrows():
        want = expected[row["evidence_id"]]
        assert row["simulation"] == pytest.approx(want, rel=1e-6), row["evidence_id"]

    # and the PEtab residuals are the objective's quantitative residuals
    sim_df = sim[["observableId", "simulationConditionId", "time", "simulation"]]
    resid = petab.calculate_residuals(
        problem.measurement_df, sim_df, problem.observable_df, problem.parameter_df
    )[0]
    r = objective.residuals(x)
    offsets = np.cumsum([0] + [t.size for t in objective.terms])
    ours = {t.id: r[offsets[i]] for i, t in enumerate(objective.terms) if t.kind == "quantitative"}
    got = dict(zip(problem.measurement_df["evidence_id"], resid["residual"], strict=True))
    for key, value in ours.items():
        assert -got[key] == pytest.approx(value, rel=1e-5, abs=1e-7), key


def test_control_levels_equal_the_control_arm(problem, runner, objective):
    """ctrl_<variable> of every ratio observable equals simulate's control arm."""
    spec = model.load_model()
    par = problem.parameter_df["nominalValue"].astype(float).to_dict()
    sbml_params = set(runner.model.getGlobalParameterIds())
    for pid, v in par.items():  # the runner is shared: back to nominal values
        if pid in sbml_params:
            runner[pid] = v
    for cid, cond in problem.condition_df.iterrows():
        name = cid.split("__")[0]
        s = next(s for n, s in objective.scenarios.items() if _petab_id(n) == name)
        for col, v in cond.items():
            if col != "conditionName":
                runner[col] = par[v] if v in par else float(v)
        runner.reset()
        control = simulate(s, n_points=2, timecourses=False).observables
        for o in spec.observables:
            if o.assay == "annexin":
                continue
            want = control.loc[control["observable"] == o.name, "control"].iloc[0]
            assert runner[f"ctrl_{o.variable}"] == pytest.approx(want, rel=1e-6), (cid, o.name)


def test_output_path_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "a_file"
    f.write_text("x")
    with pytest.raises(SecretomeError, match="not a directory"):
        export_petab(f)
    with pytest.raises(SecretomeError):
        export_petab(f / "sub")


def test_perturbed_or_medium_changed_scenarios_refused():
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34")
    neutralised = s.with_changes(perturbations=(scenarios.Perturbation("neutralise", "IL2", 1.0),))
    with pytest.raises(SecretomeError, match="perturbations"):
        _check_exportable(neutralised)
    with pytest.raises(SecretomeError, match="medium changes"):
        _check_exportable(s.with_changes(medium_changes_h=(72.0,)))

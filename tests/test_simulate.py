"""Simulation of scenarios: control arm flat, fold change 1 without secretome, directions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secretome import comparison, data, scenarios
from secretome.errors import SecretomeError
from secretome.simulation import observation_value, simulate


@pytest.fixture(scope="module")
def kg1a() -> scenarios.Scenario:
    return scenarios.load_scenario("farahzadi2024_KG1a_CD34")


@pytest.fixture(scope="module")
def shipped_results():
    return [simulate(s) for s in scenarios.shipped_scenarios()]


def test_observables_table_shape(kg1a):
    result = simulate(kg1a)
    obs = result.observables
    assert list(obs.columns) == [
        "scenario",
        "observable",
        "assay",
        "hgnc",
        "time_h",
        "dose",
        "treated",
        "control",
        "value",
    ]
    assert set(obs["time_h"]) == set(kg1a.sampling_h)
    assert np.isfinite(obs["value"]).all()


def test_zero_dose_arm_reports_no_change(kg1a):
    """A treated arm without MSCs is the control arm: every fold change is 1, MTT 100%."""
    s = kg1a.with_changes(msc_cells=(0.0, 1e5))
    obs = simulate(s).observables
    zero = obs[obs["dose"] == 0.0]
    ratio = zero[zero["assay"].isin(["qpcr", "western", "elisa", "wound"])]
    np.testing.assert_allclose(ratio["value"], 1.0, rtol=1e-9)
    np.testing.assert_allclose(zero.loc[zero["assay"] == "mtt", "value"], 100.0, rtol=1e-9)
    annexin = zero[zero["assay"] == "annexin"]
    np.testing.assert_allclose(annexin["value"], annexin["control"], rtol=1e-9)
    # and the real dose does change something
    assert not np.allclose(obs.loc[obs["dose"] == 1e5, "value"], zero["value"].to_numpy())


def test_control_arm_is_flat(kg1a):
    # per-cell species stay at control; the cell counts grow in the well (model v2)
    tc = simulate(kg1a, record=("pSTAT3", "pAKT", "pERK", "p53")).timecourses
    tc = tc[tc["variable"].isin(["pSTAT3", "pAKT", "pERK", "p53"])]
    control = tc[tc["arm"] == "control"]
    for name, g in control.groupby("variable"):
        levels = g["level"].to_numpy()
        np.testing.assert_allclose(levels, levels[0], rtol=1e-6, atol=1e-12, err_msg=name)


def test_more_mscs_more_il2_in_the_medium(kg1a):
    s = kg1a.with_changes(msc_cells=(1e4, 3e4, 1e5, 3e5))
    obs = simulate(s).observables
    il2 = obs[obs["observable"] == "elisa_IL2"].sort_values("dose")["value"].to_numpy()
    assert np.all(np.diff(il2) > 0) and il2[0] > 1


def test_neutralising_il2_weakens_the_effect_on_jak_stat(kg1a):
    base = simulate(kg1a).observables
    blocked = simulate(
        kg1a.with_changes(
            perturbations=(
                scenarios.Perturbation("neutralise", "IL2", 1.0),
                scenarios.Perturbation("neutralise", "IL4", 1.0),
            )
        ),
        record=("obs_jak_activity",),
    ).observables
    # ELISA still sees the cytokine (neutralisation blocks receptors, not the assay)
    for frame in (base, blocked):
        assert frame.loc[frame["observable"] == "elisa_IL2", "value"].iloc[0] > 1
    effect = lambda f, n: abs(np.log(f.loc[f["observable"] == n, "value"].iloc[0]))  # noqa: E731
    assert effect(blocked, "mrna_STAT3") < effect(base, "mrna_STAT3")


def test_medium_change_restores_fresh_medium():
    s = scenarios.load_scenario("najafi2024_MDA-MB-231").with_changes(medium_changes_h=(12.0,))
    tc = simulate(s).timecourses
    il2 = tc[(tc["variable"] == "IL2") & (tc["arm"] == "treated") & (tc["dose"] == 1.0)]
    before = il2[il2["time_h"] < 12]["level"].to_numpy()
    after = il2[il2["time_h"] > 12]["level"].to_numpy()
    assert before.min() > 1.05  # the conditioned medium raised IL-2
    np.testing.assert_allclose(after, 1.0, rtol=1e-6)  # fresh medium: baseline only


def test_unknown_parameter_is_refused(kg1a):
    with pytest.raises(SecretomeError, match="unknown parameter"):
        simulate(kg1a, {"no_such_rate": 1.0})


def test_unknown_record_variable_is_refused(kg1a):
    with pytest.raises(SecretomeError, match="unknown model variable"):
        simulate(kg1a, record=("pSTAT9",))


def test_observation_models():
    t, c = np.array([2.0, 50.0]), np.array([1.0, 100.0])
    np.testing.assert_allclose(observation_value("qpcr", t, c), [2.0, 0.5])
    np.testing.assert_allclose(observation_value("mtt", t, c), [200.0, 50.0])
    np.testing.assert_allclose(observation_value("annexin", t, c), t)
    with pytest.raises(ValueError, match="unknown assay"):
        observation_value("facs", t, c)


def test_every_evidence_row_has_a_scenario_and_observable(shipped_results):
    evidence = data.load_evidence()
    table = comparison.compare(evidence, shipped_results)
    assert len(table) == len(evidence)
    orphans = table[~table["agreement"].isin(["agree", "disagree"])]
    assert orphans.empty, orphans[["id", "observable", "agreement"]]


def test_judge_rules():
    row = pd.Series(
        {
            "kind": "direction",
            "direction": "up",
            "arm": "treated",
            "assay": "qpcr",
            "scale": "fold_change",
        }
    )
    pred = pd.DataFrame({"value": [1.5], "control": [1.0]})
    assert comparison.judge(row, pred)[0] == "agree"
    assert comparison.judge(row.replace({"up": "down"}), pred)[0] == "disagree"
    nc = row.copy()
    nc["kind"], nc["direction"] = "no_change", "none"
    assert (
        comparison.judge(nc, pd.DataFrame({"value": [1.1, 0.9], "control": [1, 1]}))[0] == "agree"
    )
    assert (
        comparison.judge(nc, pd.DataFrame({"value": [1.1, 1.5], "control": [1, 1]}))[0]
        == "disagree"
    )
    order = row.copy()
    order["kind"], order["direction"] = "ordering", "down"
    assert (
        comparison.judge(order, pd.DataFrame({"value": [3, 2, 1], "control": [1] * 3}))[0]
        == "agree"
    )
    assert (
        comparison.judge(order, pd.DataFrame({"value": [3, 3, 1], "control": [1] * 3}))[0]
        == "disagree"
    )
    q = pd.Series({**row.to_dict(), "kind": "quantitative", "value": 2.0})
    assert comparison.judge(q, pd.DataFrame({"value": [2.4], "control": [1]}))[0] == "agree"
    assert comparison.judge(q, pd.DataFrame({"value": [2.6], "control": [1]}))[0] == "disagree"


def test_threads_do_not_share_a_runner(kg1a):
    """Regression: threaded Dask workers shared one RoadRunner and mixed their results."""
    from concurrent.futures import ThreadPoolExecutor

    doses = [(1e4,), (3e4,), (1e5,), (3e5,)] * 2
    scenarios_ = [kg1a.with_changes(msc_cells=d) for d in doses]
    serial = [simulate(s, timecourses=False).observables["value"].to_numpy() for s in scenarios_]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda s: simulate(s, timecourses=False).observables, scenarios_))
    for a, b in zip(serial, threaded, strict=True):
        np.testing.assert_array_equal(a, b["value"].to_numpy())


def test_context_keys_apply_only_in_their_context(kg1a):
    """name[context] keys (as in a fitted file) apply to their own cell line only."""
    base = simulate(kg1a, timecourses=False).observables
    other = simulate(kg1a, {"w_prol_ERK[A431]": 0.5}, timecourses=False).observables
    np.testing.assert_array_equal(base["value"], other["value"])
    own = simulate(kg1a, {"sec_IL2[rat_bone_marrow]": 1.0}, timecourses=False).observables
    il2 = lambda f: f.loc[f["observable"] == "elisa_IL2", "value"].iloc[0]  # noqa: E731
    assert il2(own) > il2(base)
    with pytest.raises(SecretomeError, match="context one of"):
        simulate(kg1a, {"sec_IL2[bone]": 1.0})
    with pytest.raises(SecretomeError, match="expected name or name"):
        simulate(kg1a, {"sec_IL2[rat_bone_marrow": 1.0})

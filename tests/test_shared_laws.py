"""Readouts that share a model law, readouts the model cannot change, and agreement
counts that count each independent prediction once (issue 12, item 5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import secretome as st
from secretome import comparison, model
from secretome.errors import SimulationFailed, ValidationError
from secretome.gsa import choose_space

SPEC = st.load_model()
SHARED = [(o.name, o.shares_law_with) for o in SPEC.observables if o.shares_law_with]
FIXED = [o.name for o in SPEC.observables if o.fixed_by_construction]
SCENARIOS = [s.name for s in st.shipped_scenarios()]


def _draws(scenario, n: int, seed: int) -> list[dict[str, float]]:
    space = choose_space(scenario)
    x = np.random.default_rng(seed).uniform(space.lower, space.upper, size=(n, len(space)))
    return [space.overrides(row, scenario.cell_line, scenario.msc_source) for row in x]


@pytest.fixture(scope="module", params=SCENARIOS)
def values(request) -> list[pd.Series]:
    """Each readout's value at the first sampling time and dose, for the nominal
    point and eight points drawn within the table's bounds."""
    scenario = st.load_scenario(request.param)
    out = []
    for params in [None, *_draws(scenario, 8, seed=1)]:
        try:
            obs = st.simulate(scenario, params, timecourses=False).observables
        except SimulationFailed:
            continue
        out.append(obs.groupby("observable")["value"].first())
    return out


def test_the_catalogue_flags_what_review_found():
    # model v2: the JAK2 and MTOR transcripts follow STAT3's law (no separate
    # regulator in the literature), PIK3CA has its own; KRAS, HRAS, RAF1 and TERC
    # follow c-Myc; p21 is no longer one of p53 (only wild-type p53 transactivates
    # it); total ERK1/2 cannot change
    law = {o.name: o.law for o in SPEC.observables}
    assert {law[n] for n in ("mrna_JAK2", "mrna_STAT3", "mrna_MTOR")} == {"mrna_STAT3"}
    assert law["mrna_PIK3CA"] == "mrna_PIK3CA"
    assert law["prot_CDKN1A"] == "prot_CDKN1A"
    group = ("mrna_KRAS", "prot_KRAS", "prot_HRAS", "prot_RAF1", "rna_TERC")
    assert len({law[n] for n in group}) == 1
    assert FIXED == ["prot_ERK_total"]


#: The agreement rule's direction margin (experiments/fit.toml: ln 1.1): readouts
#: that share a law must never be judged to move in opposite directions. Below it,
#: members with their own turnover may lag their regulator in opposite small ways.
MARGIN = np.log(1.1)


def test_readouts_sharing_a_law_move_the_same_way(values):
    for v in values:
        for name, head in SHARED:
            a, b = np.log(v[name]), np.log(v[head])
            if min(abs(a), abs(b)) > MARGIN:
                assert np.sign(a) == np.sign(b), (name, head, v[name], v[head])


def test_fixed_readouts_do_not_move(values):
    for v in values:
        for name in FIXED:
            assert v[name] == pytest.approx(1.0, rel=1e-6)


def _table(rows: list[dict]) -> pd.DataFrame:
    base = {
        "study": "s",
        "cell_line": "c",
        "scenario": "x",
        "arm": "treated",
        "time_h": 96.0,
        "dose": "1",
        "kind": "direction",
    }
    table = pd.DataFrame([{**base, **r} for r in rows])
    table["id"] = [f"r{i}" for i in range(len(table))]
    return comparison._mark_counted(table, SPEC)


def test_a_shared_law_counts_once_and_agrees_only_when_every_readout_agrees():
    rows = [
        {"observable": "mrna_JAK2", "agreement": "agree"},
        {"observable": "mrna_STAT3", "agreement": "agree"},
        {"observable": "mrna_MMP9", "agreement": "agree"},
    ]
    table = _table(rows)
    assert table["counted"].tolist() == [True, False, True]
    assert comparison.agreement_counts(table).to_dict() == {"agree": 2, "disagree": 0}
    rows[1]["agreement"] = "disagree"
    assert comparison.agreement_counts(_table(rows)).to_dict() == {"agree": 1, "disagree": 1}


def test_fixed_readouts_and_control_arms_are_not_counted():
    table = _table(
        [
            {"observable": "prot_ERK_total", "agreement": "agree"},
            {"observable": "early_apoptotic", "agreement": "agree", "arm": "control"},
            {"observable": "early_apoptotic", "agreement": "disagree"},
        ]
    )
    assert table["counted"].tolist() == [False, False, True]
    assert comparison.agreement_counts(table).to_dict() == {"agree": 0, "disagree": 1}


def test_the_same_law_in_another_scenario_or_kind_counts_again():
    table = _table(
        [
            {"observable": "mrna_KRAS", "agreement": "agree"},
            {"observable": "prot_KRAS", "agreement": "agree", "kind": "ordering"},
            {"observable": "prot_HRAS", "agreement": "agree", "scenario": "y"},
        ]
    )
    assert table["counted"].all()


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("shares_law_with", "nope", "'nope' is not an observable"),
        ("shares_law_with", "mrna_JAK2", "must head its group"),
        ("fixed_by_construction", "maybe", "'maybe' is not true/false"),
    ],
)
def test_bad_catalogue_entries_are_refused_naming_row_and_field(tmp_path, column, value, message):
    import shutil

    shutil.copytree(SPEC.models_dir, tmp_path / "models")
    path = tmp_path / "models" / model.OBSERVABLE_FILE
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    row = table.index[table["name"] == "mrna_PIK3CA"][0]
    table.loc[row, column] = value
    table.to_csv(path, index=False)
    with pytest.raises(ValidationError) as info:
        model.load_model(tmp_path / "models")
    assert f"row {row + 2} (name=mrna_PIK3CA), field '{column}': " in str(info.value)
    assert message in str(info.value)

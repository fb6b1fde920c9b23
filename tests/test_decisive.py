"""Decisive predictions: paired direction probabilities over an ensemble, and the call."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secretome import decisive, ensemble, model, parameter_sets, scenarios
from secretome.decisive import Question
from secretome.errors import SecretomeError
from test_ensemble import _secretome, perturbed_draws, write_ensemble

AGS = "mirfendereski2024_AGS"
CM = "najafi2024_MDA-MB-231"


# --- the rule --------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.floats(-0.99, 5.0) | st.just(np.nan), min_size=1, max_size=40),
    st.floats(0.51, 1.0),
    st.floats(0.0, 0.5),
)
def test_probabilities_add_up_and_the_call_follows_the_rule(changes, threshold, band):
    out = decisive.classify(np.array(changes), threshold=threshold, band=band)
    finite = [c for c in changes if np.isfinite(c)]
    assert out["n_draws"] == len(changes) and out["n_failed"] == len(changes) - len(finite)
    if not finite:
        assert out["call"] == "undetermined"
        return
    assert out["p_up"] + out["p_down"] + out["p_within"] == pytest.approx(1.0)
    expected = (
        "up"
        if out["p_up"] >= threshold
        else "down"
        if out["p_down"] >= threshold
        else "no change"
        if out["p_within"] >= threshold
        else "undetermined"
    )
    assert out["call"] == expected
    assert out["change_q05"] <= out["change_q50"] <= out["change_q95"]


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.11, 10.0), min_size=1, max_size=30), st.booleans())
def test_sign_probability_is_0_or_1_when_every_draw_agrees(magnitudes, up):
    m = np.array(magnitudes)
    # up: +11 % to +1000 %; down: the same draws mapped onto -11 % to -99 %
    changes = m if up else -(0.11 + (m - 0.11) / (10.0 - 0.11) * 0.88)
    out = decisive.classify(changes)
    assert (out["p_up"], out["p_down"]) == ((1.0, 0.0) if up else (0.0, 1.0))
    assert out["call"] == ("up" if up else "down")


def test_a_sign_that_flips_inside_the_posterior_is_undetermined():
    out = decisive.classify(np.array([0.5] * 8 + [-0.5] * 2))
    assert out["p_up"] == pytest.approx(0.8) and out["call"] == "undetermined"
    assert decisive.classify(np.array([0.5] * 8 + [-0.5] * 2), threshold=0.8)["call"] == "up"


@pytest.mark.parametrize("threshold", [0.5, 0.3, 1.2, float("nan")])
def test_a_threshold_that_allows_two_calls_is_refused(threshold):
    with pytest.raises(SecretomeError, match="threshold"):
        decisive.classify(np.array([0.2]), threshold=threshold)


# --- the table ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def varied():
    return ensemble.from_draws(perturbed_draws(5, sd=0.15, seed=4), label="stand-in")


def test_a_perturbation_that_changes_nothing_is_no_change_in_every_draw(varied):
    same = Question("nothing", lambda s: s.with_changes(description="the same experiment"))
    table = decisive.decisive_predictions(varied, [scenarios.load_scenario(AGS)], questions=[same])
    rows = table[table["question"] == "nothing"]
    assert len(rows) == len(decisive.HEADLINE_READOUTS)
    assert (rows["p_within"] == 1.0).all() and (rows["p_up"] == 0).all()
    assert (rows["p_down"] == 0).all() and (rows["call"] == "no change").all()
    assert (rows["change_q05"] == 0).all() and (rows["change_q95"] == 0).all()


def test_no_mscs_against_control_is_exactly_no_change(varied):
    """As published with no MSCs: the treated arm is the control arm, in every draw."""
    none = scenarios.modify(scenarios.load_scenario(AGS), doses=[0.0])
    table = decisive.decisive_predictions(varied, [none], questions=[])
    assert (table["question"] == decisive.AS_PUBLISHED).all()
    assert (table["change_q50"] == 0).all() and (table["call"] == "no change").all()


def test_identical_draws_give_certain_probabilities():
    fit = parameter_sets.shipped_fit().as_dict()
    point = ensemble.from_draws([fit, fit])
    table = decisive.decisive_predictions(point, [scenarios.load_scenario(AGS)])
    judged = table[table["call"] != "not applicable"]
    for col in ("p_up", "p_down", "p_within"):
        assert judged[col].isin([0.0, 1.0]).all()
    assert (judged["call"] != "undetermined").all()
    assert (judged["change_q05"] == judged["change_q95"]).all()


def test_every_question_and_readout_has_a_row(varied):
    base = [scenarios.load_scenario(AGS), scenarios.load_scenario(CM)]
    table = decisive.decisive_predictions(varied, base)
    assert list(table.columns) == list(decisive.DECISIVE_COLUMNS)
    n_questions = 1 + len(decisive.QUESTIONS)
    assert len(table) == len(base) * n_questions * len(decisive.HEADLINE_READOUTS)
    assert set(table["call"]) <= set(decisive.CALLS)
    known = {o.name for o in model.load_model().observables}
    assert set(table["observable"]) <= known
    # a conditioned-medium experiment has no MSC dose to multiply
    ten = table[(table["scenario"] == CM) & (table["question"] == "10-fold MSC dose")]
    assert (ten["call"] == "not applicable").all() and ten["note"].str.contains("CM").all()
    ags_ten = table[(table["scenario"] == AGS) & (table["question"] == "10-fold MSC dose")]
    assert (ags_ten["dose"] == 6e5).all()
    long = table[table["question"] == "14 days of exposure"]
    assert (long["time_h"] == decisive.FOURTEEN_DAYS_H).all()
    assert (table["ensemble"] == "stand-in").all() and (table["threshold"] == 0.9).all()
    counts = decisive.summary(table)
    assert counts.to_numpy().sum() == len(table)


def test_unknown_readouts_are_refused(varied):
    with pytest.raises(SecretomeError, match="unknown observable"):
        decisive.decisive_predictions(varied, [], readouts={"x": "prot_nothing"})


# --- the command ------------------------------------------------------------------------------


def test_cli_predict_writes_the_table(tmp_path):
    path = write_ensemble(tmp_path / "ens.csv", perturbed_draws(3, seed=5))
    out = tmp_path / "predict"
    done = _secretome(
        "predict", "--ensemble", str(path), "--scenarios", AGS, "--workers", "1",
        "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "decisive.csv")
    assert len(table) == (1 + len(decisive.QUESTIONS)) * len(decisive.HEADLINE_READOUTS)
    assert table["ensemble"].str.contains("3 draws").all()
    assert "Decisive predictions" in (out / "index.html").read_text()
    assert "ensemble: ensemble " in done.stdout


def test_cli_predict_without_an_ensemble_says_the_point_is_certain_by_construction(tmp_path):
    out = tmp_path / "point"
    done = _secretome(
        "predict", "--no-ensemble", "--scenarios", AGS, "--workers", "1", "--out", str(out)
    )
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(out / "decisive.csv")
    assert table["ensemble"].str.contains("0 or 1 by construction").all()


@pytest.mark.parametrize(
    "args",
    [["--ensemble", "{bad}"], ["--threshold", "0.4"], ["--scenarios", "no_such_scenario"]],
)
def test_cli_predict_refuses_bad_input_with_exit_2(tmp_path, args):
    bad = tmp_path / "bad.csv"
    bad.write_text("draw,chain,log_posterior,k_unknown\n0,0,-1,1\n")
    args = [a.format(bad=bad) for a in args]
    done = _secretome("predict", *args, "--out", str(tmp_path / "o"), "--workers", "1")
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and "error:" in done.stderr


def test_the_report_table_has_one_row_per_scenario_and_question(varied):
    from secretome import report

    table = decisive.decisive_predictions(varied, [scenarios.load_scenario(AGS)])
    page = report.decisive_html(table, "decisive.csv")
    assert page.count("<tr>") == 1 + len(decisive.QUESTIONS)  # as published, then the rest
    for label in decisive.HEADLINE_READOUTS:
        assert f"<th>{label}</th>" in page
    assert "at least 0.9 of the draws" in page and "stand-in" in page
    assert "not a decisive-predictions table" in report.decisive_html(table[["scenario"]], "x")


def test_docs_quote_the_committed_decisive_table():
    from secretome.paths import project_root

    root = project_root()
    page = (root / "docs" / "uncertainty.md").read_text(encoding="utf-8")
    section = page.split("<!-- decisive:begin -->\n", 1)[1].split("<!-- decisive:end -->", 1)[0]
    table = pd.read_csv(root / "docs" / "results" / "decisive.csv")
    assert section == decisive.markdown_table(table), (
        "docs/uncertainty.md is stale: paste decisive.markdown_table of docs/results/decisive.csv"
    )


def test_the_reading_of_the_table_holds():
    """docs/uncertainty.md reads the committed table in words ("How to read it");
    each statement there is one assertion here."""
    from secretome.paths import project_root

    table = pd.read_csv(project_root() / "docs" / "results" / "decisive.csv")
    call = table.set_index(["scenario", "question", "readout"])["call"]
    kg1a = "farahzadi2024_KG1a_CD34"
    published = {
        "viability": "down",
        "late apoptosis": "up",
        "p53": "up",
        "p-ERK": "down",
        "early apoptosis": "undetermined",
    }
    for readout, expected in published.items():
        assert call[(kg1a, "as published", readout)] == expected, readout
    il2 = table[(table["question"] == "neutralise IL-2") & (table["call"] != "not applicable")]
    assert (il2["call"] == "no change").mean() >= 0.9  # "almost every scenario and readout"
    apoptosis = table["readout"].isin(["early apoptosis", "late apoptosis"])
    for question in ("neutralise IL-4", "neutralise IL-2 and IL-4"):
        rows = table[(table["question"] == question) & apoptosis]
        undetermined = (rows["call"] == "undetermined").groupby(rows["scenario"]).any()
        assert undetermined.all(), (question, undetermined[~undetermined].index.tolist())

"""Model selection (issue 14): criteria, ranking on synthetic data, resuming, export, CLI."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from secretome import comparison, scenarios, selection, variants
from secretome.cli import main as cli_main
from secretome.errors import SecretomeError
from secretome.objective import FitConfig
from secretome.simulation import simulate

#: The variant the synthetic data come from: no other factors from the MSCs.
TRUTH = {"sec_OF": 0.0, "cm_OF": 0.0}
#: A cheap calibration: two parameters, few iterations.
CONFIG = FitConfig(parameters=("w_apo_p53", "l0[KG1a_CD34]"), max_nfev=4)
STUDIES = ("farahzadi2024", "mirfendereski2024")


def _variants() -> list[variants.Variant]:
    head = {"hypothesis": "h.", "source": "assumed: test"}
    return [
        # the data's own structure with one parameter too many (inert without the
        # other factors): ties on fit, loses on the parameter penalty
        variants.variant_from_dict(
            {**head, "fix": TRUTH, "estimate": ["w_NFKB_OF"]}, "truth_plus", CONFIG
        ),
        variants.variant_from_dict(head, "wrong", CONFIG),  # other factors at table values
        variants.variant_from_dict({**head, "fix": TRUTH}, "truth", CONFIG),
    ]


@pytest.fixture(scope="module")
def synthetic_evidence(evidence) -> pd.DataFrame:
    """The quantitative rows of two studies, their values replaced by what the model
    predicts with TRUTH at the table's values (so the truth fits them exactly)."""
    rows = evidence[
        evidence["fit"] & (evidence["kind"] == "quantitative") & evidence["study"].isin(STUDIES)
    ].copy()
    shipped = scenarios.shipped_scenarios()
    used = {comparison.scenario_for(r, shipped).name for _, r in rows.iterrows()}
    results = [simulate(s, TRUTH, timecourses=False) for s in shipped if s.name in used]
    table = comparison.compare(rows, results)
    rows["value"] = table["predicted"].to_numpy(dtype=float)
    rows["sd"] = np.nan  # every σ from the assay: fixed, the same for every variant
    assert np.isfinite(rows["value"]).all() and len(rows) >= 10
    return rows.reset_index(drop=True)


@pytest.fixture(scope="module")
def synthetic(synthetic_evidence, tmp_path_factory) -> selection.SelectionResult:
    out = tmp_path_factory.mktemp("select")
    return selection.select(
        _variants(), CONFIG, starts=2, evidence=synthetic_evidence, out=out, workers=1
    )


def test_information_criteria_of_a_known_case():
    c = selection.information_criteria(nll=10.0, k=2, n=20)
    assert c["AIC"] == pytest.approx(24.0)
    assert c["AICc"] == pytest.approx(24.0 + 12.0 / 17.0)
    assert c["BIC"] == pytest.approx(2.0 * math.log(20.0) + 20.0)
    assert selection.information_criteria(nll=1.0, k=5, n=6)["AICc"] == math.inf


@given(
    nll=st.floats(-1e3, 1e3),
    dnll=st.floats(0.0, 1e3),
    k=st.integers(0, 10),
    n=st.integers(12, 500),
)
def test_criteria_grow_with_nll_and_with_parameters(nll, dnll, k, n):
    a = selection.information_criteria(nll, k, n)
    worse = selection.information_criteria(nll + dnll, k, n)
    bigger = selection.information_criteria(nll, k + 1, n)
    for crit in ("AIC", "AICc", "BIC"):
        assert worse[crit] - a[crit] == pytest.approx(2.0 * dnll, abs=1e-6)
        assert bigger[crit] > a[crit]
    assert a["AICc"] >= a["AIC"]


def test_select_ranks_the_variant_that_made_the_data_first(synthetic):
    r = synthetic.ranking.set_index("variant")
    assert synthetic.best == "truth"
    assert r.loc["truth", "rank_AICc"] == 1 and r.loc["truth", "rank_BIC"] == 1
    assert r.loc["truth", "rank_LOSO"] == 1
    # the exact structure fits exactly; the one without the switch cannot
    assert r.loc["wrong", "nll"] > r.loc["truth", "nll"] + 1.0
    assert r.loc["truth_plus", "nll"] == pytest.approx(r.loc["truth", "nll"], abs=1e-6)
    assert r.loc["truth_plus", "k"] == r.loc["truth", "k"] + 1
    assert r.loc["truth_plus", "dAICc"] > 0
    for name, row in r.iterrows():
        c = selection.information_criteria(row["nll"], int(row["k"]), int(row["n"]))
        assert row["AICc"] == pytest.approx(c["AICc"]), name
        assert row["BIC"] == pytest.approx(c["BIC"]), name


def test_leave_one_study_out_predicts_each_study_from_the_other(synthetic):
    loso = synthetic.loso
    assert set(loso["held_out"]) == set(STUDIES)
    assert len(loso) == 3 * len(STUDIES)
    wide = loso.pivot(index="variant", columns="held_out", values="nll")
    # the truth predicts a left-out study at least as well as the wrong structure
    assert (wide.loc["truth"] <= wide.loc["wrong"] + 1e-9).all()
    # a KG1-a-only parameter is not taken from the left-out study's own fit
    for _, row in synthetic.ranking.iterrows():
        total = sum(row[f"loso_nll:{s}"] for s in STUDIES)
        assert row["loso_nll"] == pytest.approx(total)


def test_agreement_table_judges_every_row_for_every_variant(synthetic, synthetic_evidence):
    a = synthetic.agreement
    assert len(a) == 3 * len(synthetic_evidence)
    truth = a[a["variant"] == "truth"]
    assert (truth["agreement"] == "agree").all()


def test_discriminating_measurements(synthetic):
    same = selection.discriminating_measurements(
        synthetic, ("truth", "truth_plus"), perturbations={"none": ()}
    )
    assert np.nanmax(same["z"]) < 1e-3  # an inert parameter changes no prediction
    with pytest.raises(SecretomeError, match="nope"):
        selection.discriminating_measurements(synthetic, ("truth", "nope"))
    apart = selection.discriminating_measurements(
        synthetic, ("truth", "wrong"), perturbations={"none": (), "IL-2": ("IL2",)}
    )
    assert list(apart["z"]) == sorted(apart["z"], reverse=True)
    assert apart["z"].iloc[0] > 1.0
    assert set(apart["perturbation"]) == {"none", "IL-2"}
    top = apart.iloc[0]
    assert top["z"] == pytest.approx(
        abs(top["difference"])
        / math.sqrt(top["sigma_assay"] ** 2 + top["spread_a"] ** 2 + top["spread_b"] ** 2)
    )


def _files(root) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.glob("**/start_*.json"))}


def test_a_stopped_select_resumes_without_refitting_finished_variants(
    synthetic_evidence, tmp_path
):
    """A stopped run leaves the starts it finished on disk (each written atomically);
    here the run is 'stopped' by removing the start files it had not reached."""
    chosen = [v for v in _variants() if v.name != "truth_plus"]
    kw = {"starts": 2, "loso": False, "evidence": synthetic_evidence, "out": tmp_path}
    first = selection.select(chosen, CONFIG, **kw)
    assert first.starts_run == 4
    before = _files(tmp_path)
    assert len(before) == 4
    (tmp_path / "fits" / "wrong" / "starts" / "start_0001.json").unlink()

    with pytest.raises(SecretomeError, match="--resume"):
        selection.select(chosen, CONFIG, **kw)
    again = selection.select(chosen, CONFIG, resume=True, **kw)
    assert again.starts_run == 1  # only the missing start was run
    after = _files(tmp_path)
    truth = {k: v for k, v in before.items() if k.startswith("fits/truth/")}
    assert truth and all(after[k] == v for k, v in truth.items())  # not refitted
    assert "fits/wrong/starts/start_0001.json" in after
    pd.testing.assert_frame_equal(
        again.ranking[["variant", "nll", "k"]], first.ranking[["variant", "nll", "k"]]
    )

    # the same directory, a changed variant: refused, not mixed
    changed = variants.variant_from_dict(
        {"hypothesis": "h.", "source": "s", "fix": {"sec_OF": 0.5}}, "truth", CONFIG
    )
    with pytest.raises(SecretomeError, match="different fit"):
        selection.select([changed], CONFIG, resume=True, **kw)


def test_select_refuses_bad_settings_before_any_work(tmp_path):
    vs = _variants()
    with pytest.raises(SecretomeError, match="share the name"):
        selection.select([vs[0], vs[0]], CONFIG)
    with pytest.raises(SecretomeError, match="starts"):
        selection.select(vs, CONFIG, starts=0)
    with pytest.raises(SecretomeError, match="--out"):
        selection.select(vs, CONFIG, resume=True)
    assert not any(tmp_path.iterdir())


def test_petab_select_export_reads_back(synthetic, tmp_path):
    import petab_select
    from petab_select import Criterion, Models

    from secretome.selection_report import export_petab_select

    problem_file = export_petab_select(synthetic, tmp_path)
    problem = petab_select.Problem.from_yaml(problem_file)
    assert set(problem.model_space.model_subspaces) == {"truth", "truth_plus", "wrong"}
    space = pd.read_csv(tmp_path / "model_space.tsv", sep="\t", dtype=str)
    space = space.set_index("model_subspace_id")
    assert float(space.loc["truth", "sec_OF__rat_bone_marrow"]) == 0.0
    assert float(space.loc["wrong", "sec_OF__rat_bone_marrow"]) > 0.0
    assert space.loc["truth_plus", "w_NFKB_OF"] == "estimate"
    models = Models.from_yaml(tmp_path / "calibrated_models.yaml")
    by_id = {m.model_id: m for m in models}
    ranking = synthetic.ranking.set_index("variant")
    for name, m in by_id.items():
        assert m.get_criterion(Criterion.AICC) == pytest.approx(ranking.loc[name, "AICc"])
    assert by_id["truth"].estimated_parameters.keys() == {"w_apo_p53", "l0__KG1a_CD34"}


def test_cli_select_names_the_bad_variant_file_and_key(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('hypothesis = "h."\nsource = "s"\n[fix]\nw_nonexistent = 0\n')
    code = cli_main(["select", str(bad), "--out", str(tmp_path / "out"), "--workers", "1"])
    err = capsys.readouterr().err
    assert code == 2
    assert str(bad) in err and "fix.w_nonexistent" in err
    assert "Traceback" not in err


def test_cli_select_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        cli_main(["select", "--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for option in ("--starts", "--loso-starts", "--resume", "--workers", "--scheduler"):
        assert option in out


def test_cli_select_runs_and_writes_its_tables(tmp_path, capsys):
    """One shipped variant, one short start, no refits: the command's whole path."""
    from secretome.variants import variants_dir

    out = tmp_path / "out"
    args = ["select", str(variants_dir() / "apoptosis_only.toml"), "--out", str(out)]
    args += ["--starts", "1", "--max-nfev", "1", "--no-loso", "--no-petab-select"]
    args += ["--no-figures", "--workers", "1"]
    assert cli_main(args) == 0
    ranking = pd.read_csv(out / "ranking.csv")
    assert ranking["variant"].tolist() == ["apoptosis_only"]
    assert (out / "fits" / "apoptosis_only" / "starts" / "start_0000.json").is_file()
    assert "apoptosis_only" in capsys.readouterr().out
    # a second run of the same selection without --resume is refused (exit 2)
    assert cli_main(args) == 2
    assert "--resume" in capsys.readouterr().err


@pytest.mark.parametrize("rows", [2, 3, 6])
def test_criteria_figure_puts_the_ranking_in_order_best_on_top(rows):
    """Regression: with four panels sharing the y axis, inverting it once per panel
    put the best variant at the bottom."""
    from secretome.selection_report import plot_criteria

    names = [f"v{i}" for i in range(rows)]
    ranking = pd.DataFrame(
        {
            "variant": names,
            "nll": np.arange(rows, dtype=float),
            "dAICc": np.arange(rows, dtype=float),
            "dBIC": np.arange(rows, dtype=float),
            "dLOSO": np.arange(rows, dtype=float)[::-1],
        }
    )
    fig = plot_criteria(ranking)
    try:
        assert len(fig.axes) == 4
        fig.canvas.draw()
        for ax in fig.axes:
            bottom, top = ax.get_ylim()
            assert bottom > top, "the first row of the ranking must be drawn at the top"
        labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
        assert labels == names
    finally:
        import matplotlib.pyplot as plt

        plt.close(fig)


def test_loso_from_more_origins_adds_a_spread_and_keeps_the_score(synthetic, synthetic_evidence):
    """Resuming with loso_from=2 refits only from the second near-optimal end point;
    the score (from the best) and the fits are the ones already on disk."""
    again = selection.select(
        _variants(),
        CONFIG,
        starts=2,
        loso_from=2,
        evidence=synthetic_evidence,
        out=synthetic.settings["out"],
        resume=True,
        workers=1,
    )
    r0 = synthetic.ranking.set_index("variant")
    r = again.ranking.set_index("variant")
    near = r0["near_optimal_starts"].clip(upper=2)
    assert near.max() == 2, "no variant has a second near-optimal start to refit from"
    assert (r["loso_origins"] == near).all()
    assert again.starts_run == int(((near - 1) * len(STUDIES)).sum())
    pd.testing.assert_series_equal(r["loso_nll"], r0["loso_nll"].loc[r.index])
    assert (r["loso_nll_min"] <= r["loso_nll"] + 1e-12).all()
    assert (r["loso_nll"] <= r["loso_nll_max"] + 1e-12).all()
    first = again.loso[again.loso["origin"] == 0].reset_index(drop=True)
    pd.testing.assert_frame_equal(first, synthetic.loso.reset_index(drop=True))
    assert set(again.loso["origin"]) == set(range(int(near.max())))
    assert again.settings["loso_from"] == 2
    assert r0["loso_origins"].eq(1).all()  # the default refits from the best only

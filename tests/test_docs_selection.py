"""docs/selection.md holds the committed selection's numbers, and its reading holds.

``docs/results/selection/regenerate.py`` writes three sections of the page (the
ranking, the separating measurements, the cost) from the files of
``docs/results/selection/`` and ``benchmarks/results/select.json``. These tests
check the page holds what the script writes, that the benchmark and the results
are one run, and that each sentence of the hand-written reading outside the
generated sections is true of the committed results: a new selection that changes
the picture fails here until the reading is rewritten.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "results" / "selection" / "regenerate.py"
STALE = "rerun docs/results/selection/regenerate.py (without --select for the page alone)"


regen = load_script(SCRIPT)
RANKING = pd.read_csv(regen.HERE / "ranking.csv").set_index("variant")
SUMMARY = json.loads((regen.HERE / "summary.json").read_text(encoding="utf-8"))
BENCH = json.loads(regen.BENCH.read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", regen.SECTIONS)
def test_the_page_holds_what_the_script_writes(name):
    text = regen.DOC.read_text(encoding="utf-8")
    begin, end = regen._markers(name)
    assert text.count(begin) == 1 and text.count(end) == 1
    section = text.split(begin, 1)[1].split(end, 1)[0]
    assert section == regen.WRITERS[name](), STALE


def test_the_benchmark_timed_the_committed_run():
    settings = SUMMARY["settings"]
    assert settings["starts"] == int(regen.SETTINGS["--starts"])
    assert sorted(BENCH["variants"]) == sorted(SUMMARY["variants"]) == sorted(RANKING.index)
    for variant, cost in BENCH["per_variant"].items():
        assert cost["fit_starts"] == settings["starts"], variant
        assert cost["fit_seconds"] == pytest.approx(RANKING.loc[variant, "fit_seconds"], abs=0.1)
    shipped = {p.stem for p in (ROOT / "models" / "variants").glob("*.toml")}
    assert set(RANKING.index) == shipped, "a shipped variant is missing from the selection"
    pairs = {tuple(p) for p in regen._pairs_present(regen.HERE)}
    assert pairs == set(regen.PAIRS)


# The reading of docs/selection.md (and of notebook 06), one test per claim.

FIT_WELL = ["full", "canonical_of_brake", "apoptosis_only", "full_activity"]
FIT_BADLY = ["canonical_only", "canonical_of"]


def _within_threshold(names):
    lowest = RANKING["nll"].min()
    return {v for v in RANKING.index if RANKING.loc[v, "nll"] - lowest < regen.HALF_CHI2} == set(
        names
    )


def test_the_variants_with_factors_and_brake_fit_equally_and_the_others_do_not():
    assert _within_threshold(FIT_WELL)
    for criterion in ("AICc", "BIC", "loso_nll"):
        last_two = RANKING[criterion].sort_values().index[-2:]
        assert set(last_two) == set(FIT_BADLY), criterion
    worst_agreeing = RANKING.loc[FIT_WELL, "agree"].min()
    assert RANKING.loc[FIT_BADLY, "agree"].max() < worst_agreeing / 2


def test_factors_without_the_brake_lose_to_canonical_only_by_aicc():
    assert RANKING.loc["canonical_of", "AICc"] > RANKING.loc["canonical_only", "AICc"]
    assert RANKING.loc["canonical_of", "nll"] < RANKING.loc["canonical_only", "nll"]


def test_the_open_questions_differ_by_less_than_the_threshold_in_nll():
    for a, b in regen.PAIRS:
        assert abs(RANKING.loc[a, "nll"] - RANKING.loc[b, "nll"]) < regen.HALF_CHI2, (a, b)
    assert RANKING.loc["full", "k"] == RANKING.loc["canonical_of_brake", "k"]


def test_among_the_variants_that_fit_aicc_and_bic_count_parameters():
    for criterion in ("AICc", "BIC"):
        k = RANKING.loc[FIT_WELL].sort_values(criterion)["k"].to_numpy()
        assert (k[1:] >= k[:-1]).all(), criterion


def test_leave_one_study_out_order_of_the_four_is_not_stable_between_runs():
    moved = regen.run_to_run(regen.HERE)
    assert moved is not None, "the earlier run the page compares with is missing"
    assert set(moved["order_after"]) == set(FIT_WELL)
    assert moved["order_before"] != moved["order_after"]
    assert moved["max_dloso"] > moved["gap"]
    assert moved["max_dnll"] < regen.HALF_CHI2  # the fits themselves did not move


def test_leave_one_study_out_of_the_four_moves_with_its_origin_as_much_as_between_them():
    four = RANKING.loc[FIT_WELL]
    assert (four["loso_origins"] > 1).all(), "the page's run refits from several origins"
    spread = four["loso_nll_max"] - four["loso_nll_min"]
    between = four["loso_nll"].max() - four["loso_nll"].min()
    assert spread.max() >= 0.5 * between
    assert regen.loso_range_gap(four) < 2.0
    # ... while the two that fit badly stay far outside every range of the four
    assert RANKING.loc[FIT_BADLY, "loso_nll_min"].min() > four["loso_nll_max"].max() + 10


def test_no_single_measurement_separates_any_asked_pair():
    files = [regen.HERE / "candidates.csv", *regen.HERE.glob("candidates_*_vs_*.csv")]
    assert len(files) == 1 + len(regen.PAIRS)
    for f in files:
        assert pd.read_csv(f)["z"].max() < 2, f.name


def test_the_two_best_by_aicc_are_the_species_and_the_arrest_variants():
    """Notebook 06 reads the best candidate as separating species activity from the
    arrest branch."""
    assert set(RANKING.sort_values("AICc").index[:2]) == {"full_activity", "apoptosis_only"}
    best = pd.read_csv(regen.HERE / "candidates.csv").iloc[0]
    assert {best["variant_a"], best["variant_b"]} == {"full_activity", "apoptosis_only"}

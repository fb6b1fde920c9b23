"""docs/calibration.md quotes the committed calibration tables, not numbers typed by hand.

The results section of the page is written by ``docs/results/calibration/regenerate.py``
from the tables under ``docs/results/calibration/`` and the shipped fit's provenance
(``models/fitted_parameters.toml``); these tests check that the page holds exactly
what the script writes from them, and that the shipped fit is the one the tables
describe.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from scripts import load_script

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "results" / "calibration" / "regenerate.py"
STALE = "rerun `make calibration-results` (or regenerate.py --docs-only for the page alone)"


regen = load_script(SCRIPT)


def test_the_page_holds_what_the_script_writes_from_the_tables():
    text = regen.DOC.read_text(encoding="utf-8")
    assert text.count(regen.BEGIN) == 1 and text.count(regen.END) == 1
    section = text.split(regen.BEGIN, 1)[1].split(regen.END, 1)[0]
    assert section == "\n" + regen.results_markdown(), STALE


def test_the_shipped_fit_is_the_best_start_of_the_committed_fit():
    shipped = pd.read_csv(ROOT / "models" / "fitted_parameters.csv")
    best = pd.read_csv(regen.HERE / "best_parameters.csv").set_index("key")
    for name, value in zip(shipped["name"], shipped["value"], strict=True):
        assert value == pytest.approx(best.loc[name, "value"], rel=1e-7), (name, STALE)
    prov = tomllib.loads((ROOT / "models" / "fitted_parameters.toml").read_text("utf-8"))
    starts = pd.read_csv(regen.HERE / "fit_starts.csv")
    assert prov["objective"] == pytest.approx(starts["cost"].min(), rel=1e-6), STALE
    assert (
        f"--seed {regen.SEED}" in prov["command"] and f"--starts {regen.STARTS}" in prov["command"]
    )


def test_every_table_the_page_reads_is_committed():
    for name in (
        "fit_starts.csv",
        "best_parameters.csv",
        "identifiability.csv",
        "leave_one_study_out.csv",
        "comparison.csv",
    ):
        assert (regen.HERE / name).is_file(), f"{name} missing: {STALE}"

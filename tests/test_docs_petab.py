"""docs/petab.md quotes the committed PEtab measurements, not numbers typed by hand.

The measured sections of the page are written by ``docs/results/petab/measure.py``
from ``docs/results/petab/measured.json`` and ``refit.csv``; these tests check that
the page holds exactly what the script writes from them, and that they were measured
at the shipped fit (a refit of the model makes them stale).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from scripts import load_script
from secretome.petab_export import context_parameter_id

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "results" / "petab" / "measure.py"
STALE = "rerun `make petab-results` (or measure.py --docs-only for the page alone)"


measure = load_script(SCRIPT)
MEASURED, REFIT = measure.load_results()
PROVENANCE = tomllib.loads((ROOT / "models" / "fitted_parameters.toml").read_text("utf-8"))


def test_the_page_holds_what_the_script_writes_from_the_files():
    text = measure.DOC.read_text(encoding="utf-8")
    assert text.count(measure.BEGIN) == 1 and text.count(measure.END) == 1
    section = text.split(measure.BEGIN, 1)[1].split(measure.END, 1)[0]
    assert section == "\n" + measure.results_markdown(), STALE


def test_measured_at_the_shipped_fit():
    shipped = MEASURED["shipped_fit"]
    assert shipped["J"] == pytest.approx(PROVENANCE["objective"], rel=1e-6), (
        f"measured.json is of a fit with objective {shipped['J']}, the shipped fit's is "
        f"{PROVENANCE['objective']}: rerun `make petab-results`"
    )
    parts = ("J_quantitative", "J_directions_no_changes", "J_orderings", "J_noise_priors")
    assert sum(shipped[k] for k in parts) == pytest.approx(shipped["J"], rel=1e-9)


def _petab_id(key: str) -> str:
    if "[" not in key:
        return key
    name, context = key.rstrip("]").split("[", 1)
    return context_parameter_id(name, context)


def test_the_refit_has_its_starts_and_start_0_is_the_shipped_fit():
    assert sorted(REFIT["start"]) == list(range(measure.STARTS)) == [0, 1, 2, 3]
    fitted = pd.read_csv(ROOT / "models" / "fitted_parameters.csv")
    nominal = {_petab_id(k): v for k, v in zip(fitted["name"], fitted["value"], strict=True)}
    nominal |= PROVENANCE.get("noise", {})
    start = REFIT.set_index("start")
    columns = [c for c in REFIT.columns if c.startswith("start_" + measure.X_PREFIX)]
    assert len(columns) == MEASURED["export"]["estimated_parameters"]
    for column in columns:
        pid = column.removeprefix("start_" + measure.X_PREFIX)
        assert start.loc[0, column] == pytest.approx(math.log10(nominal[pid]), abs=1e-9), (
            pid,
            STALE,
        )
    # the other starts are uniform draws, not the shipped fit
    for k in (1, 2, 3):
        assert any(abs(start.loc[k, c] - start.loc[0, c]) > 1e-3 for c in columns)
    assert (start["start_point"].iloc[1:] != start.loc[0, "start_point"]).all()


def test_the_refit_kept_used_only_finite_gradients():
    fit = MEASURED["refit"]
    assert fit["gradients_recorded"] > 0
    assert fit["gradients_nonfinite"] == 0, "measure.py keeps no refit with a NaN gradient"
    if fit["discarded_refit_with_orderings"]:
        assert fit["discarded_refit_with_orderings"]["gradients_nonfinite"] > 0
        assert not fit["orderings_included"]

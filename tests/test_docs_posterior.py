"""docs/sampling.md and models/posterior.* describe the same sampler run.

``docs/results/posterior/regenerate.py`` ships a finished ``secretome sample`` run:
a thinned ensemble and its provenance under ``models/``, the run's diagnostics under
``docs/results/posterior/``, and the section of ``docs/sampling.md`` written from
them. These tests check the page holds what the script writes from those files,
and that the shipped ensemble, its provenance and the diagnostics agree.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest

from scripts import load_script
from secretome import ensemble

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "docs" / "results" / "posterior" / "regenerate.py"
STALE = "rerun docs/results/posterior/regenerate.py (--docs-only for the page alone)"


regen = load_script(SCRIPT)
META = tomllib.loads((ROOT / "models" / "posterior.toml").read_text(encoding="utf-8"))


def test_the_page_holds_what_the_script_writes():
    text = regen.DOC.read_text(encoding="utf-8")
    assert text.count(regen.BEGIN) == 1 and text.count(regen.END) == 1
    section = text.split(regen.BEGIN, 1)[1].split(regen.END, 1)[0]
    assert section == "\n" + regen.posterior_markdown(), STALE


def test_the_provenance_matches_the_diagnostics_it_came_with():
    diag = pd.read_csv(regen.HERE / "diagnostics.csv").set_index("key")
    params = diag.drop(index="log_posterior")
    assert META["r_hat_max"] == pytest.approx(params["r_hat"].max(), abs=1e-4), STALE
    assert META["ess_bulk_min"] == pytest.approx(params["ess_bulk"].min(), abs=0.1), STALE
    assert META["converged"] == (META["r_hat_max"] <= ensemble.R_HAT_CONVERGED)
    assert META["draws"] == META["walkers"] * -(-(META["steps"] - META["burn_in"]) // META["thin"])


def test_the_shipped_draws_are_the_fitted_parameters_within_their_bounds():
    draws = pd.read_csv(ROOT / "models" / "posterior.csv")
    assert len(draws) == META["shipped_draws"] and draws["draw"].is_unique
    fitted = pd.read_csv(ROOT / "models" / "fitted_parameters.csv")["name"]
    assert set(fitted) <= set(draws.columns)
    values = draws[list(fitted)]
    assert (values > 0).all().all() and values.notna().all().all()
    diag = pd.read_csv(regen.HERE / "diagnostics.csv").set_index("key")
    assert set(fitted) <= set(diag.index)  # every fitted parameter has its diagnostics


def test_the_noise_posterior_lies_above_the_fitted_noise_as_the_page_says():
    """docs/sampling.md ("The noise parameters carry the misfit"): each noise σ's
    posterior median is above the fitted value. Fails when a new run changes that."""
    import math

    fitted = tomllib.loads((ROOT / "models" / "fitted_parameters.toml").read_text("utf-8"))
    diag = pd.read_csv(regen.HERE / "diagnostics.csv").set_index("key")
    noise = [k for k in diag.index if k.startswith("sigma_")]
    assert noise
    for key in noise:
        assert diag.loc[key, "q50"] > math.log10(fitted["noise"][key]), key

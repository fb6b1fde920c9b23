"""The numbers docs/likelihood.md quotes are those of the result files it names.

The page's "Files:" list names the shipped fit's starts, its provenance and the
profiles of the noise parameters; the bullets after it quote numbers from them.
Each number is rebuilt here from its file, so a new fit or profile that changes a
file fails this test until the page is rewritten (no number is retyped blindly).
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "docs" / "results"
PAGE = (ROOT / "docs" / "likelihood.md").read_text(encoding="utf-8")
STARTS = pd.read_csv(RESULTS / "likelihood_fit_starts.csv")
PROVENANCE = tomllib.loads(
    (RESULTS / "likelihood_fit_provenance.toml").read_text(encoding="utf-8")
)
PROFILES = pd.read_csv(RESULTS / "likelihood_profile_identifiability.csv").set_index("key")


def _quoted(text: str) -> None:
    assert text in PAGE, f"docs/likelihood.md should say {text!r} (from its result files)"


def test_the_starts_range_is_the_files():
    costs = STARTS["cost"]
    _quoted(f"All {len(STARTS)} starts end at J = {costs.min():.4f}–{costs.max():.4f}")


def test_the_fitted_noise_is_the_provenance():
    noise = PROVENANCE["noise"]
    _quoted(f"σ_protein = {noise['sigma_protein']:.3f}")
    _quoted(f"σ_annexin = {noise['sigma_annexin']:.2f}")


@pytest.mark.parametrize(
    ("key", "label", "digits"),
    [
        ("sigma_protein", "σ_protein", 3),
        ("sigma_annexin", "σ_annexin", 2),
        ("sec_IL2[rat_bone_marrow]", "`sec_IL2[rat_bone_marrow]`", 3),
    ],
)
def test_the_profile_intervals_are_the_files(key, label, digits):
    row = PROFILES.loc[key]
    lo, hi = 10.0 ** row["ci_lower"], 10.0 ** row["ci_upper"]
    _quoted(f"{label} {lo:.{digits}f}–{hi:.{digits}f}")


def test_the_one_sided_profile_is_the_files():
    row = PROFILES.loc["w_inh_OF"]
    assert math.isnan(row["ci_upper"]) and row["class"] == "practically non-identifiable"
    _quoted(f"`w_inh_OF` above {10.0 ** row['ci_lower']:.3f}")


def test_the_page_describes_the_shipped_fit():
    shipped = tomllib.loads((ROOT / "models" / "fitted_parameters.toml").read_text("utf-8"))
    assert shipped["objective"] == pytest.approx(PROVENANCE["objective"], abs=1e-6)

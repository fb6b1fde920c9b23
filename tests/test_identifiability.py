"""Identifiability: the classification rules, and the checks on a real small problem."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from secretome import identifiability as ident
from secretome import objective


def _profile(key: str, deltas_left, deltas_right) -> pd.DataFrame:
    left = [(-(i + 1) * 0.5, d) for i, d in enumerate(deltas_left)]
    right = [((i + 1) * 0.5, d) for i, d in enumerate(deltas_right)]
    rows = [(key, off, d) for off, d in [*left, (0.0, 0.0), *right]]
    return pd.DataFrame(rows, columns=["key", "offset", "delta"])


def test_classification_rules():
    profiles = pd.concat(
        [
            _profile("both", [3.0, 10.0], [2.5, 8.0]),
            _profile("one_side", [0.5, 1.0], [5.0, 20.0]),
            _profile("flat", [0.0, 1e-6], [0.0, 0.0]),
        ]
    )
    classes = ident.classify(profiles).set_index("key")["class"]
    assert classes["both"] == "identifiable"
    assert classes["one_side"] == "practically non-identifiable"
    assert classes["flat"] == "structurally non-identifiable"


def test_threshold_is_the_95_percent_chi2_on_half_the_sum_of_squares():
    assert ident.THRESHOLD == pytest.approx(3.841 / 2, rel=1e-3)


@pytest.fixture(scope="module")
def small():
    """farahzadi2024 only: IL-2 secretion is seen by ELISA; an A431-only weight is not."""
    config = dataclasses.replace(
        objective.load_fit_config(),
        parameters=("sec_IL2[rat_bone_marrow]", "w_prol_ERK[A431]"),
        max_nfev=3,
    )
    obj = objective.Objective(config, ["farahzadi2024"])
    return config, obj.space.nominal


def test_jacobian_sees_a_parameter_that_no_data_reach(small):
    config, x = small
    jac = ident.jacobian_check(config, x, ["farahzadi2024"]).set_index("key")
    assert jac.loc["sec_IL2[rat_bone_marrow]", "column_norm"] > 1e-3
    assert jac.loc["w_prol_ERK[A431]", "column_norm"] == 0.0


def test_profiles_separate_an_informed_from_an_uninformed_parameter(small):
    config, x = small
    profiles = ident.profile(config, x, studies=["farahzadi2024"], points=1, max_nfev=2)
    assert set(profiles["key"]) == {"sec_IL2[rat_bone_marrow]", "w_prol_ERK[A431]"}
    assert np.isfinite(profiles["cost"]).all()
    classes = ident.classify(profiles).set_index("key")["class"]
    assert classes["w_prol_ERK[A431]"] == "structurally non-identifiable"
    assert classes["sec_IL2[rat_bone_marrow]"] != "structurally non-identifiable"

"""The error model: noise parameters, the negative log-likelihood, the noise config.

``Objective.cost`` (what the optimiser minimises) and ``neg_log_likelihood`` must
differ by a constant; the likelihood must be the Gaussian one its docs describe
(``docs/likelihood.md``), checked here against scipy's densities; noise parameters
go into the provenance TOML, never into the ``--params`` file.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy import stats

from secretome import fitting, objective, parameter_sets
from secretome.errors import SecretomeError

FIXTURE = [HealthCheck.function_scoped_fixture]
SMALL = ("sec_IL2[rat_bone_marrow]", "sec_IL4[rat_bone_marrow]", "w_apo_casp")


@pytest.fixture(scope="module")
def small() -> objective.Objective:
    """farahzadi2024: 13 quantitative rows (9 western/ELISA, 4 Annexin), 2 qualitative."""
    config = dataclasses.replace(objective.load_fit_config(), parameters=SMALL)
    return objective.Objective(config, ["farahzadi2024"])


def _points(obj: objective.Objective):
    lo, hi = obj.space.lower, obj.space.upper
    return st.lists(st.floats(0.0, 1.0), min_size=len(lo), max_size=len(lo)).map(
        lambda u: lo + np.asarray(u) * (hi - lo)
    )


def test_shipped_config_estimates_noise_for_the_rows_without_sd():
    config = objective.load_fit_config()
    obj = objective.Objective(config)
    assert obj.noise_keys == ["sigma_protein", "sigma_annexin"]
    # 7 western + 2 ELISA rows and 4 Annexin rows give no SD; the MTT rows give theirs
    assert obj.noise_counts == (9, 4)
    assert obj.n_residuals == 43 + 2
    assert [p.scope for p in obj.space.parameters][-2:] == ["noise", "noise"]
    mtt = obj.evidence[obj.evidence["assay"] == "mtt"]
    assert all(obj.row_sigma(r) == pytest.approx(3.97) for r in mtt["id"][:1])


@settings(max_examples=6, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.data())
def test_cost_and_likelihood_differ_by_a_constant(small, data):
    x = data.draw(_points(small))
    assert small.neg_log_likelihood(x) - small.cost(x) == pytest.approx(
        small.nll_constant, abs=1e-9
    )


def _independent_nll(obj: objective.Objective, x: np.ndarray) -> float:
    """Sum the densities one by one with scipy: Gaussian for each quantitative
    residual (its raw error = residual × σ), log-normal prior density of each σ (in
    ln σ), ½ h² for each qualitative hinge residual."""
    r = obj.residuals(x)
    total, at = 0.0, 0
    for term in obj.terms:
        if term.kind == "quantitative":
            sigma = obj.row_sigma(term.id, x)
            total -= stats.norm.logpdf(r[at] * sigma, 0.0, sigma)
        else:
            total += 0.5 * float(r[at : at + term.size] @ r[at : at + term.size])
        at += term.size
    for group, value in zip(obj.config.noise, obj.noise_sigmas(x).values(), strict=True):
        total -= stats.norm.logpdf(math.log(value), math.log(group.median), group.log_sd)
    return total


@settings(max_examples=4, deadline=None, suppress_health_check=FIXTURE)
@given(data=st.data())
def test_likelihood_is_the_documented_gaussian(small, data):
    x = data.draw(_points(small))
    assert small.neg_log_likelihood(x) == pytest.approx(_independent_nll(small, x), rel=1e-9)


def test_a_larger_sigma_shrinks_the_residuals_of_its_rows_only(small):
    x = small.space.nominal.copy()
    r0 = small.residuals(x)
    k = small.space.keys.index("sigma_protein")
    x[k] += math.log10(2.0)
    r1 = small.residuals(x)
    ids = [t.id for t in small.terms]
    protein = [
        i
        for i, t in enumerate(small.terms)
        if t.kind == "quantitative"
        and small.evidence.set_index("id").loc[t.id, "assay"] in ("western", "elisa")
    ]
    assert len(protein) == 9
    np.testing.assert_allclose(r1[protein], r0[protein] / 2.0)
    others = [i for i in range(len(ids)) if i not in protein]
    np.testing.assert_allclose(r1[others], r0[others])


def test_noise_prior_pulls_an_unused_sigma_to_its_median():
    """With no row using it, a σ's residual is its prior alone: zero at the median."""
    config = dataclasses.replace(objective.load_fit_config(), parameters=SMALL)
    obj = objective.Objective(config, ["mirfendereski2024"])  # MTT with SD, qPCR directions
    assert obj.noise_counts == (0, 0)
    x = obj.space.nominal
    np.testing.assert_allclose(obj.residuals(x)[-2:], 0.0, atol=1e-12)


def test_config_round_trips_through_its_dictionary():
    config = objective.load_fit_config()
    assert objective.config_from_dict(dataclasses.asdict(config)) == config


NOISE = """parameters = ["w_apo_casp"]
[noise.{name}]
assays = {assays}
median = {median}
log_sd = 0.5
lower = 0.03
upper = 3.0
"""


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"name": "protein"}, r"noise\.protein': a noise parameter's name is sigma_<word>"),
        ({"assays": '["gel"]'}, r"noise\.sigma_x\.assays': unknown assay\(s\) gel"),
        ({"median": "5.0"}, r"noise\.sigma_x': needs lower < median < upper"),
        ({"median": "-1"}, r"noise\.sigma_x\.median': -1 must be a positive number"),
    ],
)
def test_bad_noise_sections_are_refused_naming_the_field(tmp_path, fields, message):
    values = {"name": "sigma_x", "assays": '["western"]', "median": "0.25"} | fields
    path = tmp_path / "fit.toml"
    path.write_text(NOISE.format(**values))
    with pytest.raises(SecretomeError, match=message):
        objective.load_fit_config(path)


def test_an_assay_in_two_noise_groups_is_refused(tmp_path):
    path = tmp_path / "fit.toml"
    text = NOISE.format(name="sigma_a", assays='["western"]', median=0.25)
    second = NOISE.split("\n", 1)[1]
    text += "\n" + second.format(name="sigma_b", assays='["western"]', median=0.25)
    path.write_text(text)
    with pytest.raises(SecretomeError, match="western already belongs to sigma_a"):
        objective.load_fit_config(path)


def test_parameter_file_holds_model_parameters_and_provenance_holds_noise(small, tmp_path):
    x = small.space.nominal
    starts = pd.DataFrame({"start": [0], "cost": [small.cost(x)]})
    result = fitting.FitResult(
        small.space,
        starts,
        x,
        small.cost(x),
        None,
        small.nll_constant,
        small.n_residuals,
        0,
        small.config,
    )
    path = fitting.write_parameter_file(result, tmp_path / "p.csv", command="secretome fit")
    written = pd.read_csv(path)
    assert list(written["name"]) == small.model_space.keys
    parameter_sets.from_file(path)  # --params accepts it: no unknown (noise) names
    meta = tomllib.loads((tmp_path / "p.toml").read_text())
    assert meta["noise"] == pytest.approx({"sigma_protein": 0.25, "sigma_annexin": 3.0})
    assert meta["objective"] == pytest.approx(small.cost(x), rel=1e-6)
    assert meta["neg_log_likelihood"] == pytest.approx(small.neg_log_likelihood(x), rel=1e-6)
    assert meta["command"] == "secretome fit"
    assert meta["residuals"] == small.n_residuals - 2  # data only, not the noise priors
    assert (meta["fitted_parameters"], meta["noise_parameters"]) == (len(SMALL), 2)
    assert set(meta["versions"]) >= {"python", "numpy", "scipy", "secretome", "commit"}
    assert meta["versions"]["numpy"] == np.__version__

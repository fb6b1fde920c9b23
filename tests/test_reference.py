"""The SciPy reference implementation agrees with simulate() (both backends) on every
paper scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from secretome import libroadrunner, model, reference, scenarios
from secretome.errors import SecretomeError
from secretome.paths import models_dir
from secretome.simulation import BACKENDS, simulate

RELATIVE = 1e-4


def _fitted() -> dict[str, float]:
    table = pd.read_csv(models_dir() / "fitted_parameters.csv")
    return dict(zip(table["name"], table["value"].astype(float), strict=True))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("which", ["nominal", "fitted"])
@pytest.mark.parametrize("scenario", scenarios.shipped_scenarios(), ids=lambda s: s.name)
def test_reference_agrees_with_simulate(scenario, which, backend):
    params = _fitted() if which == "fitted" else {}
    expected = simulate(scenario, params, timecourses=False, backend=backend).observables
    got = reference.reference_simulate(scenario, params)
    keys = ["observable", "time_h", "dose"]
    pd.testing.assert_frame_equal(got[keys], expected[keys])
    for col in ("treated", "control", "value"):
        np.testing.assert_allclose(got[col], expected[col], rtol=RELATIVE, atol=0, err_msg=col)


def test_same_tolerances_as_the_runner():
    rr = libroadrunner.new_runner(model.load_model())  # keep it: the integrator belongs to it
    integrator = rr.getIntegrator()
    assert integrator.getValue("relative_tolerance") == reference.RTOL == model.RTOL
    assert integrator.getValue("absolute_tolerance") == reference.ATOL == model.ATOL


def test_medium_changes_refused():
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34").with_changes(medium_changes_h=(48.0,))
    with pytest.raises(SecretomeError, match="medium changes"):
        reference.reference_simulate(s)


def test_unsupported_construct_named():
    sbml = model.load_model().sbml.replace("<ln/>", "<sin/>", 1)
    with pytest.raises(SecretomeError, match="not supported"):
        reference.compile_reference(sbml, ())

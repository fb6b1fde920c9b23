"""No shipped scenario changed by ``secretome simulate``'s options within their
validated ranges grows more viable cells than its well holds (issue 12, done-when):
any dose the scenario's limits accept, durations up to 21 days, either cytokine
neutralised, at the shipped fit and at the table's nominal values."""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st_

import secretome as st
from secretome import scenarios
from secretome.errors import SecretomeError
from secretome.parameter_sets import choose_parameters

SCENARIOS = [s.name for s in st.shipped_scenarios()]
FITTED = choose_parameters(None).as_dict()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st_.sampled_from(SCENARIOS),
    log_dose=st_.floats(-3.0, 7.0),
    duration=st_.floats(1.0, 504.0),
    neutralise=st_.sampled_from([(), ("IL2",), ("IL4",), ("IL2", "IL4")]),
    fitted=st_.booleans(),
)
def test_options_within_their_ranges_never_outgrow_the_well(
    name, log_dose, duration, neutralise, fitted
):
    scenario = st.load_scenario(name)
    dose = 10.0**log_dose
    option = {"msc_cells": dose} if scenario.mode == "transwell" else {"cm_fraction": dose}
    try:
        changed = scenarios.modify(scenario, duration=duration, neutralise=neutralise, **option)
    except SecretomeError:
        assume(False)  # outside the validated range: refused, as it should be
    capacity = changed.well_capacity_cells / changed.tumour_cells
    tc = st.simulate(changed, FITTED if fitted else None, n_points=40).timecourses
    viable = tc.loc[tc["variable"] == "viable_cells", "level"].to_numpy()
    assert np.isfinite(viable).all()
    assert viable.max() <= capacity * (1 + 1e-9)

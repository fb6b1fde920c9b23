"""Numerical edges (issue 15, item 5): a solution that runs away is a failure
(:class:`SimulationFailed`) on every backend, not a stall near overflow and not a
result of 1e83.

Model v1 had parameter sets within its bounds that did this (benchmark set 100
stalled every integrator at 127 h; set 32 reached 9.5e83 viable cells). Model v2
limits growth by the well, and no set within its bounds grows past the well
(tests/test_model_dynamics.py), so the guard is exercised here by a culture given
a well of astronomical capacity and a doubling time of minutes: outside every
shipped scenario and bound on purpose (``simulate`` does not check bounds).
"""

from __future__ import annotations

import pytest

from secretome import model
from secretome.errors import SimulationFailed
from secretome.scenarios import load_scenario
from secretome.simulation import simulate

SCENARIO = "farahzadi2024_KG1a_CD34"
BACKENDS = ("compiled", "roadrunner")
#: A doubling time of 6 minutes: the cells multiply about 1e6-fold in 12 h.
FAST = {"Td[KG1a_CD34]": 0.1}


def _culture(capacity_over_seeded: float):
    s = load_scenario(SCENARIO)
    return s.with_changes(well_capacity_cells=capacity_over_seeded * s.tumour_cells)


@pytest.mark.parametrize("backend", BACKENDS)
def test_runaway_growth_is_a_failure_not_a_result(backend):
    # libRoadRunner may stop on its step limit before the output check sees the
    # blow-up; either way it is a named failure of the scenario, not a result
    with pytest.raises(SimulationFailed, match=SCENARIO):
        simulate(_culture(1e300), FAST, timecourses=False, backend=backend)


def test_the_compiled_backend_names_the_blow_up():
    """It stops where the state crosses the bound, long before overflow."""
    with pytest.raises(
        SimulationFailed, match=r"state exceeded 1e\+10 at t = .* the model blew up"
    ):
        simulate(_culture(1e300), FAST, timecourses=False, backend="compiled")


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_growth_within_the_bound_is_still_a_result(backend):
    obs = simulate(_culture(1e8), FAST, timecourses=False, backend=backend).observables
    viable = obs.loc[obs["observable"] == "viable_cells", "treated"].max()
    assert 1e6 < viable < model.MAX_STATE

"""Numerical edges (issue 15, item 5): parameter sets within the table's bounds
whose solution runs away are failures (:class:`SimulationFailed`) on every backend,
not stalls near overflow and not results of 1e83.

The sets are those ``benchmarks/bench_simulation.py`` draws (``parameter_sets``:
seed 0, uniform in log10 units between the bounds of the scenario's free
parameters). ``benchmarks/`` is not a package, so the draw is repeated here; row
``i`` of the draw does not depend on how many rows are drawn.
"""

from __future__ import annotations

import numpy as np
import pytest

from secretome import model
from secretome.errors import SimulationFailed
from secretome.gsa import choose_space
from secretome.scenarios import Scenario, load_scenario
from secretome.simulation import simulate

SCENARIO = "farahzadi2024_KG1a_CD34"
#: Viable cells of the treated arm grow about 5-fold an hour and overflow double
#: precision at 127 h, where every integrator tried (in-house BDF, CVODE, LSODA,
#: Radau) stalled.
STALLING_SET = 100
#: Viable cells of the treated arm reach 9.5e83 at 168 h, which was returned.
RUNAWAY_SET = 32
#: Viable cells of the treated arm reach 2.9e7 at 168 h: large, but within
#: :data:`secretome.model.MAX_STATE`, so still a result.
LARGE_SET = 2
BACKENDS = ("compiled", "roadrunner")


def benchmark_sets(n: int = 200, seed: int = 0) -> tuple[Scenario, list[dict[str, float]]]:
    """The scenario and the first ``n`` parameter sets of the benchmark's draw."""
    scenario = load_scenario(SCENARIO)
    space = choose_space(scenario)
    rng = np.random.default_rng(seed)
    x = rng.uniform(space.lower, space.upper, size=(n, len(space)))
    return scenario, [space.overrides(row, scenario.cell_line, scenario.msc_source) for row in x]


@pytest.fixture(scope="module")
def drawn() -> tuple[Scenario, list[dict[str, float]]]:
    return benchmark_sets()


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_set_that_stalled_every_integrator_fails(drawn, backend):
    scenario, sets = drawn
    with pytest.raises(SimulationFailed, match=scenario.name):
        simulate(scenario, sets[STALLING_SET], timecourses=False, backend=backend)


def test_the_compiled_backend_names_the_blow_up(drawn):
    """It stops where the state crosses the bound (about 7 h), long before overflow."""
    scenario, sets = drawn
    with pytest.raises(
        SimulationFailed, match=r"state exceeded 1e\+10 at t = .* the model blew up"
    ):
        simulate(scenario, sets[STALLING_SET], timecourses=False, backend="compiled")


@pytest.mark.parametrize("backend", BACKENDS)
def test_runaway_growth_is_a_failure_not_a_result(drawn, backend):
    scenario, sets = drawn
    with pytest.raises(SimulationFailed, match="the model blew up"):
        simulate(scenario, sets[RUNAWAY_SET], timecourses=False, backend=backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_large_growth_within_the_bound_is_still_a_result(drawn, backend):
    scenario, sets = drawn
    obs = simulate(scenario, sets[LARGE_SET], timecourses=False, backend=backend).observables
    viable = obs.loc[obs["observable"] == "viable_cells", "treated"].max()
    assert 1e6 < viable < model.MAX_STATE

"""The compiled backend (Numba + BDF): the integrator on problems with known
solutions, and agreement with libRoadRunner on the model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import expm

from secretome import bdf, compiled, model, scenarios
from secretome.gsa import choose_space
from secretome.paths import models_dir
from secretome.simulation import SimulationFailed, simulate

#: Agreement between the two backends (both integrate at rtol 1e-8).
RELATIVE = 1e-5

# One module for every analytic problem (each module costs a Numba compile):
# p[0] selects the problem.
#   0: dy/dt = -p[1] y, y(t) = y0 exp(-p[1] t)
#   1: dy/dt = A y with A = [[-1, 1], [0, -1000]] (stiff), y(t) = expm(A t) y0
#   2: Robertson's chemical kinetics (stiff, conserves y0 + y1 + y2)
#   3: dy/dt = 1 / (1 - t): blows up at t = 1
_PROBLEMS = """
import numpy as np
from numba import njit

@njit(cache=True, error_model="numpy")
def rhs(t, y, p):
    kind = int(p[0])
    if kind == 0:
        return -p[1] * y
    if kind == 1:
        return np.array([-y[0] + y[1], -1000.0 * y[1]])
    if kind == 2:
        a = 0.04 * y[0]
        b = 1e4 * y[1] * y[2]
        c = 3e7 * y[1] * y[1]
        return np.array([-a + b, a - b - c, c])
    return np.array([1.0 / (1.0 - t)])
"""


@pytest.fixture(scope="module")
def problems():
    return compiled.build_module(_PROBLEMS)


def _solve(module, kind, y0, t_out, *, k=0.0, rtol=1e-8, atol=1e-12, max_steps=20000):
    n = len(y0)
    groups, ptr, idx = bdf.column_groups([list(range(n))] * n)
    return module.solve(
        np.array([kind, k], dtype=float),
        0.0,
        np.asarray(y0, dtype=float),
        np.asarray(t_out, dtype=float),
        rtol,
        atol,
        max_steps,
        groups,
        ptr,
        idx,
    )


@pytest.mark.parametrize("k", [0.01, 1.0, 50.0])
def test_exponential_decay_matches_closed_form(problems, k):
    t = np.array([0.0, 0.1, 1.0, 3.0, 10.0])
    out, status, steps = _solve(problems, 0, [2.0], t, k=k)
    assert status == bdf.SUCCESS and steps > 0
    np.testing.assert_allclose(out[:, 0], 2.0 * np.exp(-k * t), rtol=1e-6, atol=1e-11)


def test_stiff_linear_system_matches_matrix_exponential(problems):
    a = np.array([[-1.0, 1.0], [0.0, -1000.0]])
    y0 = np.array([1.0, 1.0])
    t = np.array([1e-3, 0.01, 0.5, 2.0, 5.0])
    out, status, steps = _solve(problems, 1, y0, t)
    assert status == bdf.SUCCESS
    exact = np.array([expm(a * ti) @ y0 for ti in t])
    np.testing.assert_allclose(out, exact, rtol=1e-6, atol=1e-10)
    # an implicit method does not need steps of the fast time scale (1e-3) throughout
    assert steps < 2000


def test_robertson_matches_scipy_and_conserves_mass(problems):
    t = np.array([0.4, 4.0, 40.0, 400.0])
    out, status, _ = _solve(problems, 2, [1.0, 0.0, 0.0], t, rtol=1e-8, atol=1e-14)
    assert status == bdf.SUCCESS

    def f(_, y):
        a, b, c = 0.04 * y[0], 1e4 * y[1] * y[2], 3e7 * y[1] ** 2
        return [-a + b, a - b - c, c]

    ref = solve_ivp(f, (0, 400), [1, 0, 0], method="Radau", t_eval=t, rtol=1e-11, atol=1e-16)
    np.testing.assert_allclose(out, ref.y.T, rtol=1e-5, atol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, rtol=1e-7)


def test_outputs_at_the_start_are_the_initial_state(problems):
    out, status, _ = _solve(problems, 0, [3.0], [0.0, 0.0, 1.0], k=1.0)
    assert status == bdf.SUCCESS
    assert out[0, 0] == out[1, 0] == 3.0


def test_blow_up_is_reported_not_returned(problems):
    out, status, _ = _solve(problems, 3, [0.0], [0.5, 2.0])
    assert status != bdf.SUCCESS
    assert np.isfinite(out[0, 0]) and np.isnan(out[1, 0])  # rows after the failure


def test_step_budget_is_reported(problems):
    _, status, steps = _solve(problems, 2, [1.0, 0.0, 0.0], [400.0], max_steps=5)
    assert status == bdf.TOO_MANY_STEPS and steps == 5


def _integrate(module, y0, t_out, max_state):
    """dy/dt = y (problem 0 with k = -1) under a bound on the state."""
    groups, ptr, idx = bdf.column_groups([[0]])
    return module.integrate(
        np.array([0.0, -1.0]),
        0.0,
        np.array([y0]),
        np.asarray(t_out, dtype=float),
        1e-8,
        1e-12,
        20000,
        max_state,
        groups,
        ptr,
        idx,
    )


def test_state_bound_stops_exponential_growth_where_it_is_crossed(problems):
    """y = exp(t) crosses 1e10 at t = ln 1e10 = 23.03: the integrator stops at the
    first step beyond, with earlier outputs exact and later ones NaN."""
    t = np.array([1.0, 10.0, 20.0, 24.0, 30.0])
    out, status, steps, t_stop = _integrate(problems, 1.0, t, 1e10)
    assert status == bdf.BLEW_UP and steps > 0
    # the computed state may exceed the bound a relative error (~1e-7) early
    assert np.log(1e10 * (1 - 1e-6)) <= t_stop < 24.0
    # an error made early grows with the solution: 1.2e-6 relative at t = 20
    np.testing.assert_allclose(out[:3, 0], np.exp(t[:3]), rtol=1e-5)
    assert np.isnan(out[3:]).all()


def test_without_a_bound_the_same_growth_is_integrated(problems):
    t = np.array([10.0, 30.0])
    out, status, _, t_stop = _integrate(problems, 1.0, t, np.inf)
    assert status == bdf.SUCCESS and t_stop == 30.0
    np.testing.assert_allclose(out[:, 0], np.exp(t), rtol=1e-5)  # exp(30) = 1.1e13


def test_an_initial_state_beyond_the_bound_is_refused_before_any_step(problems):
    out, status, steps, t_stop = _integrate(problems, 2e10, [1.0], 1e10)
    assert (status, steps, t_stop) == (bdf.BLEW_UP, 0, 0.0)
    assert np.isnan(out).all()


def test_failures_name_where_integration_stopped(problems):
    """dy/dt = 1 / (1 - t) (problem 3) cannot pass t = 1: the time returned is the
    last accepted step, just short of it."""
    groups, ptr, idx = bdf.column_groups([[0]])
    _, status, _, t_stop = problems.integrate(
        np.array([3.0]),
        0.0,
        np.array([0.0]),
        np.array([2.0]),
        1e-8,
        1e-12,
        20000,
        np.inf,
        groups,
        ptr,
        idx,
    )
    assert status not in (bdf.SUCCESS, bdf.BLEW_UP)
    assert 0.99 < t_stop < 1.0


def test_module_files_are_content_addressed(problems):
    again = compiled.build_module(_PROBLEMS)
    other = compiled.build_module(_PROBLEMS + "\n# another model\n")
    assert again.__file__ == problems.__file__
    assert other.__file__ != problems.__file__


# --- the model: both backends -------------------------------------------------------


def _fitted() -> dict[str, float]:
    table = pd.read_csv(models_dir() / "fitted_parameters.csv")
    return dict(zip(table["name"], table["value"].astype(float), strict=True))


def _assert_agree(a: pd.DataFrame, b: pd.DataFrame, rtol: float = RELATIVE) -> None:
    keys = ["observable", "time_h", "dose"]
    pd.testing.assert_frame_equal(a[keys], b[keys])
    for col in ("treated", "control", "value"):
        np.testing.assert_allclose(a[col], b[col], rtol=rtol, atol=0, err_msg=col)


@pytest.mark.parametrize("which", ["nominal", "fitted"])
@pytest.mark.parametrize("scenario", scenarios.shipped_scenarios(), ids=lambda s: s.name)
def test_backends_agree_on_every_scenario(scenario, which):
    params = _fitted() if which == "fitted" else {}
    fast = simulate(scenario, params, timecourses=False, backend="compiled")
    rr = simulate(scenario, params, timecourses=False, backend="roadrunner")
    _assert_agree(fast.observables, rr.observables)


@pytest.mark.parametrize("name", ["farahzadi2024_KG1a_CD34", "mirfendereski2024_AGS"])
def test_backends_agree_across_the_parameter_bounds(name):
    scenario = scenarios.load_scenario(name)
    space = choose_space(scenario)
    rng = np.random.default_rng(0)
    compared = 0
    for x in rng.uniform(space.lower, space.upper, size=(6, len(space))):
        params = space.overrides(x, scenario.cell_line, scenario.msc_source)
        try:
            rr = simulate(scenario, params, timecourses=False, backend="roadrunner")
        except SimulationFailed:
            continue  # CVODE gave up: nothing to compare against
        fast = simulate(scenario, params, timecourses=False, backend="compiled")
        _assert_agree(fast.observables, rr.observables, rtol=1e-4)
        compared += 1
    assert compared >= 4


def test_time_courses_and_medium_changes_agree():
    s = scenarios.load_scenario("mirfendereski2024_AGS").with_changes(medium_changes_h=(24.0,))
    record = ("pSTAT3", "IL2")
    fast = simulate(s, record=record, n_points=49, backend="compiled")
    rr = simulate(s, record=record, n_points=49, backend="roadrunner")
    _assert_agree(fast.observables, rr.observables)
    a, b = fast.timecourses, rr.timecourses
    pd.testing.assert_frame_equal(a.drop(columns="level"), b.drop(columns="level"))
    np.testing.assert_allclose(a["level"], b["level"], rtol=RELATIVE, atol=1e-10)
    # the medium change took effect: IL-2 in the medium is back at its control level
    il2 = a[(a["variable"] == "IL2") & (a["arm"] == "treated")].set_index("time_h")
    assert il2.loc[24.0, "level"] > 1.0  # before the change, secreted IL-2 accumulated
    later = il2.loc[il2.index > 24.0, "level"]
    assert later.iloc[0] < il2.loc[24.0, "level"]


@pytest.mark.parametrize("backend", ["compiled", "roadrunner"])
def test_a_broken_parameter_set_fails_cleanly(backend):
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34")
    with pytest.raises(SimulationFailed, match=s.name):
        simulate(s, {"Td": 0.0}, timecourses=False, backend=backend)


def test_unknown_backend_is_named():
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34")
    with pytest.raises(Exception, match="backend must be one of compiled, roadrunner"):
        simulate(s, backend="cvode")


def test_compiled_model_covers_the_sbml():
    spec = model.load_model()
    cm = compiled.compile_model(spec.sbml)
    assert cm.species == spec.species
    assert {o.variable for o in spec.observables} <= set(cm.rules)
    assert cm.path.parent == compiled.cache_dir()


def test_cache_directory_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRETOME_CACHE_DIR", str(tmp_path / "mine"))
    assert compiled.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv("SECRETOME_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert compiled.cache_dir() == tmp_path / "xdg" / "secretome"


def test_jacobian_pattern_covers_every_dependency():
    """Every nonzero of a dense finite-difference Jacobian, at states along a treated
    arm, lies inside the structural pattern the grouped Jacobian relies on."""
    spec = model.load_model()
    cm = compiled.compile_model(spec.sbml)
    s = scenarios.load_scenario("farahzadi2024_KG1a_CD34")
    values = model.parameter_values(spec, s.cell_line, s.msc_source)
    values.update(scenarios.model_inputs(s, s.doses[0]))
    p = cm.parameter_vector(values)
    y0 = cm.initial(p)
    states = cm.integrate(p, 0.0, y0, np.array([0.0, 1.0, 24.0, 168.0]), 1e-8, 1e-12)
    allowed = np.zeros((len(cm.species), len(cm.species)), dtype=bool)
    for j in range(len(cm.species)):
        allowed[cm.pat_idx[cm.pat_ptr[j] : cm.pat_ptr[j + 1]], j] = True
    for y in states:
        f0 = cm.module.rhs(0.0, y, p)
        for j in range(len(y)):
            step = 1e-6 * max(abs(y[j]), 1e-6)
            yj = y.copy()
            yj[j] += step
            column = cm.module.rhs(0.0, yj, p) - f0
            assert not (column[~allowed[:, j]] != 0).any(), cm.species[j]

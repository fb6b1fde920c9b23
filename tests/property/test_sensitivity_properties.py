"""Property tests of failure handling: counts match the NaNs, nothing is silently lost."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from secretome import gsa as sa


@st.composite
def runs_with_failures(draw):
    n_vars = draw(st.integers(1, 4))
    n_traj = draw(st.integers(2, 12))
    rows = n_traj * (n_vars + 1)
    y = np.asarray(draw(st.lists(st.floats(-5, 5), min_size=rows, max_size=rows)))
    failed = draw(st.lists(st.booleans(), min_size=rows, max_size=rows))
    y[np.asarray(failed)] = np.nan
    return n_vars, y


@settings(max_examples=60, deadline=None)
@given(runs_with_failures())
def test_morris_keeps_exactly_the_complete_trajectories(case):
    n_vars, y = case
    X = np.arange(len(y) * n_vars, dtype=float).reshape(len(y), n_vars)
    Xk, yk, reason = sa.handle_failures("morris", X, y, n_vars)
    complete = ~np.isnan(y).reshape(-1, n_vars + 1).any(axis=1)
    if not np.isnan(y).any():
        assert reason is None and np.array_equal(yk, y)
    elif complete.sum() >= 2:
        assert reason is None and np.isfinite(yk).all()
        assert len(yk) == complete.sum() * (n_vars + 1) == len(Xk)
    else:
        assert reason is not None


@settings(max_examples=60, deadline=None)
@given(runs_with_failures())
def test_sobol_never_drops_rows_and_counts_match(case):
    n_vars, y = case
    X = np.zeros((len(y), n_vars))
    n_failed, per_output = sa.count_failures(y[:, None])
    assert n_failed == per_output[0] == np.isnan(y).sum()
    _, yk, reason = sa.handle_failures("sobol", X, y, n_vars)
    assert len(yk) == len(y)
    if reason is None:
        assert np.isfinite(yk).all()
        assert np.isnan(y).mean() <= sa.MAX_FAILED_FRACTION

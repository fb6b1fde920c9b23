"""What the data determine: profile likelihoods, local sensitivities, leave-one-study-out.

* :func:`profile` — for each fitted parameter, fix it on a grid around the best
  value (log10 units) and re-optimise all the others from the best point; the
  rise of the objective says how well the data pin it. With the objective
  J = ½ Σ r², the 95 % pointwise threshold is ΔJ = χ²₁(0.95)/2 ≈ 1.92.
* :func:`classify` — per parameter: *identifiable* (the profile crosses the
  threshold on both sides within the bounds), *practically non-identifiable* (it
  rises but stays below the threshold on at least one side), *structurally
  non-identifiable* (flat: no data point moves when it moves, or another
  parameter compensates exactly; the column of the residual Jacobian is zero or
  lies in its null space).
* :func:`leave_one_study_out` — refit without one study, then predict it.

Profiles re-optimise with a limited number of iterations (``max_nfev``); a less
optimised point has a higher objective, so a short profile can make a parameter
look better determined than it is. Reports state the setting used.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import chi2

from secretome import comparison, data, scenarios
from secretome.errors import SecretomeError
from secretome.fitting import DIFF_STEP, fit
from secretome.objective import FitConfig, Objective
from secretome.parallel import run_tasks
from secretome.simulation import simulate

THRESHOLD = chi2.ppf(0.95, df=1) / 2.0  # on J = ½ Σ r²
FLAT = 1e-3  # a profile that never rises more than this is flat


def _profile_point(task) -> tuple[str, float, float, int]:
    """Optimise every parameter but one, held at ``value`` (module-level for workers)."""
    config, studies, best_x, k, value, max_nfev = task
    obj = Objective(config, studies)
    free = np.array([i for i in range(len(best_x)) if i != k])
    lo, hi = obj.space.lower[free], obj.space.upper[free]

    def residuals(z: np.ndarray) -> np.ndarray:
        x = best_x.copy()
        x[free] = z
        x[k] = value
        return obj.residuals(x)

    if len(free) == 0:
        r = residuals(np.array([]))
        return obj.space.keys[k], value, 0.5 * float(r @ r), obj.failures
    z0 = np.clip(best_x[free], lo, hi)
    sol = least_squares(
        residuals, z0, bounds=(lo, hi), method="trf", diff_step=DIFF_STEP, max_nfev=max_nfev
    )
    return obj.space.keys[k], value, float(sol.cost), obj.failures


def profile(
    config: FitConfig,
    best_x: np.ndarray,
    *,
    studies: Iterable[str] | None = None,
    parameters: Iterable[str] | None = None,
    span: float = 1.0,
    points: int = 4,
    max_nfev: int = 10,
    workers: int | None = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Profile likelihoods around ``best_x``.

    Parameters
    ----------
    span : float
        Decades either side of the best value (clipped to the bounds).
    points : int
        Grid points on each side (the best point itself is added).
    max_nfev : int
        Iterations of each re-optimisation.

    Returns
    -------
    DataFrame
        key, log10_value, offset (decades from the best), cost, delta (cost − best cost),
        failures.
    """
    studies = sorted(studies) if studies is not None else None
    obj = Objective(config, studies)
    space = obj.space
    best_x = np.asarray(best_x, dtype=float)
    if best_x.shape != (len(space),):
        raise SecretomeError(
            f"the best point has {best_x.size} value(s); the fit has {len(space)} parameters"
        )
    if not (isinstance(span, int | float) and math.isfinite(span) and span > 0):
        raise SecretomeError(f"span must be a number of decades above 0, not {span!r}")
    for name, value in (("points", points), ("max_nfev", max_nfev)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SecretomeError(f"{name} must be a whole number of at least 1, not {value!r}")
    keys = list(dict.fromkeys(parameters)) if parameters is not None else space.keys
    unknown = [k for k in keys if k not in space.keys]
    if unknown:
        raise SecretomeError(
            f"not fitted, so not profiled: {', '.join(unknown)}; the fitted parameters are "
            f"{', '.join(space.keys)}"
        )
    if not keys:
        raise SecretomeError("the list of parameters to profile is empty")
    r = obj.residuals(best_x)
    best_cost = 0.5 * float(r @ r)
    tasks = []
    for key in keys:
        k = space.keys.index(key)
        lo, hi = space.lower[k], space.upper[k]
        grid = best_x[k] + np.linspace(-span, span, 2 * points + 1)
        grid = np.unique(np.clip(grid, lo, hi))
        grid = grid[~np.isclose(grid, best_x[k])]
        tasks += [(config, studies, best_x, k, float(v), max_nfev) for v in grid]
    rows = [(key, float(best_x[space.keys.index(key)]), best_cost, 0) for key in keys]
    done = 0
    for _, (key, value, cost, failures) in run_tasks(
        _profile_point, tasks, workers=workers, scheduler=scheduler
    ):
        rows.append((key, value, cost, failures))
        done += 1
        if progress:
            progress(done, len(tasks))
    table = pd.DataFrame(rows, columns=["key", "log10_value", "cost", "failures"])
    best = {k: best_x[space.keys.index(k)] for k in keys}
    table["offset"] = table["log10_value"] - table["key"].map(best)
    table["delta"] = table["cost"] - best_cost
    return table.sort_values(["key", "log10_value"]).reset_index(drop=True)


def jacobian_check(config: FitConfig, best_x: np.ndarray, studies=None) -> pd.DataFrame:
    """Local sensitivities at the best point: each parameter's Jacobian column norm and
    how much of it lies outside the span of the other columns (0 = compensated).

    Parameters
    ----------
    config : FitConfig
    best_x : numpy.ndarray
        The best point, log10 units, in the order of the config's parameters.
    studies : list of str, optional
        The studies fitted (default: every study).

    Returns
    -------
    pandas.DataFrame
        One row per parameter: ``key``, the column norm and ``unique_fraction``."""
    obj = Objective(config, studies)
    x = np.asarray(best_x, dtype=float)
    r0 = obj.residuals(x)
    h = 1e-3
    J = np.empty((len(r0), len(x)))
    for k in range(len(x)):
        step = h if x[k] + h <= obj.space.upper[k] else -h
        xk = x.copy()
        xk[k] += step
        J[:, k] = (obj.residuals(xk) - r0) / step
    norms = np.linalg.norm(J, axis=0)
    unique = []
    for k in range(len(x)):
        others = np.delete(J, k, axis=1)
        coef, *_ = np.linalg.lstsq(others, J[:, k], rcond=None)
        resid = J[:, k] - others @ coef
        unique.append(np.linalg.norm(resid) / norms[k] if norms[k] > 0 else 0.0)
    sv = np.linalg.svd(J, compute_uv=False)
    return pd.DataFrame(
        {
            "key": obj.space.keys,
            "column_norm": norms,
            "unique_fraction": unique,
            "condition_number": sv[0] / max(sv[-1], 1e-300),
        }
    )


def classify(profiles: pd.DataFrame, jacobian: pd.DataFrame | None = None) -> pd.DataFrame:
    """Classify each profiled parameter (see the module docstring).

    Parameters
    ----------
    profiles : pandas.DataFrame
        From :func:`profile`.
    jacobian : pandas.DataFrame, optional
        From :func:`jacobian_check`; lets a flat profile be told structurally
        from practically non-identifiable.

    Returns
    -------
    pandas.DataFrame
        One row per parameter with ``key``, ``class`` and the measures behind it."""
    rows = []
    jac = jacobian.set_index("key") if jacobian is not None else None
    for key, g in profiles.groupby("key"):
        left = g[g["offset"] < -1e-9]["delta"]
        right = g[g["offset"] > 1e-9]["delta"]
        rise = float(g["delta"].max())
        crosses_left = bool((left > THRESHOLD).any())
        crosses_right = bool((right > THRESHOLD).any())
        structural = rise < FLAT
        if jac is not None and key in jac.index:
            structural = structural or jac.loc[key, "column_norm"] < 1e-8
        if structural:
            label = "structurally non-identifiable"
        elif crosses_left and crosses_right:
            label = "identifiable"
        else:
            label = "practically non-identifiable"
        rows.append(
            {
                "key": key,
                "class": label,
                "max_delta": rise,
                "crosses_below": crosses_left,
                "crosses_above": crosses_right,
                "lower_edge_reached": left.empty,
                "upper_edge_reached": right.empty,
            }
        )
    return pd.DataFrame(rows)


def leave_one_study_out(
    config: FitConfig,
    *,
    starts: int = 2,
    seed: int = 0,
    max_nfev: int | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
) -> pd.DataFrame:
    """Refit without each study, then predict the left-out study.

    The refit starts from the nominal point and ``starts - 1`` Latin hypercube points,
    never from the full fit (that would leak the left-out data into the prediction);
    parameters that only the left-out study informs stay where the training data
    leave them.

    Parameters
    ----------
    config : FitConfig
    starts : int
        Starts per refit (the first is the nominal point).
    seed : int
        Seed of the Latin hypercube starts.
    max_nfev : int, optional
        Iterations per start (default: the config's).
    workers, scheduler
        Local process pool size, or a Dask scheduler address
        (:func:`secretome.parallel.run_tasks`).

    Returns
    -------
    pandas.DataFrame
        One row per left-out evidence row, with ``held_out`` and ``agreement``.
    """
    cfg = dataclasses.replace(config, max_nfev=max_nfev or config.max_nfev)
    evidence = data.load_evidence()
    fitted = evidence[evidence["fit"]]
    studies = sorted(fitted["study"].unique())
    shipped = scenarios.shipped_scenarios()
    out = []
    for held in studies:
        train = [s for s in studies if s != held]
        result = fit(
            cfg, studies=train, starts=starts, seed=seed, workers=workers, scheduler=scheduler
        )
        params = result.best_parameters
        rows = fitted[fitted["study"] == held]
        used = {comparison.scenario_for(r, shipped).name for _, r in rows.iterrows()}
        results = [simulate(s, params, timecourses=False) for s in shipped if s.name in used]
        table = comparison.compare(rows, results)
        table.insert(0, "held_out", held)
        out.append(table)
    return pd.concat(out, ignore_index=True)

"""What the data determine: profile likelihoods, local sensitivities, leave-one-study-out.

* :func:`profile` — for each fitted parameter (noise parameters included), walk
  away from the best value on each side (log10 units), fixing it at each step and
  re-optimising all the others to convergence from the previous point. The step
  adapts so that the objective rises by a bounded amount per step; a walk stops
  when the rise crosses the threshold, at the bound (or ``span``), or after
  ``max_steps`` points. The objective is J = ½ Σ r² = negative log-likelihood +
  constant (:mod:`secretome.objective`, ``docs/likelihood.md``), so the 95 %
  pointwise threshold is ΔJ = χ²₁(0.95)/2 ≈ 1.92 (:data:`THRESHOLD`). Each point
  is written to disk the moment it is done; an interrupted profile resumes.
* :func:`classify` — per parameter: *identifiable* (the profile crosses the
  threshold on both sides within the bounds), *practically non-identifiable* (it
  rises but stays below the threshold on at least one side), *structurally
  non-identifiable* (flat: no data point moves when it moves, or another
  parameter compensates exactly; the column of the residual Jacobian is zero or
  lies in its null space); with the 95 % interval where the profile crosses.
* :func:`leave_one_study_out` — refit without one study, then predict it.

A re-optimisation that stops at its iteration limit (``max_nfev``) leaves the
profile higher than it is, which can make a parameter look better determined than
it is: :func:`profile` counts such points (``converged`` false) and warns.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import chi2

from secretome import comparison, data, scenarios
from secretome.errors import SecretomeError
from secretome.fitting import DIFF_STEP, fit
from secretome.io import atomic_write, check_output_dir
from secretome.objective import FitConfig, Objective
from secretome.parallel import check_executor, run_tasks
from secretome.simulation import simulate

THRESHOLD = chi2.ppf(0.95, df=1) / 2.0  # on J = ½ Σ r² = NLL + constant
FLAT = 1e-3  # a profile that never rises more than this is flat


class CoarseProfileWarning(UserWarning):
    """A profile's settings were too coarse (or its re-optimisations too short) to
    classify a parameter with confidence."""


@dataclass(frozen=True)
class ProfileSettings:
    """How :func:`profile` walks (log10 decades; see its docstring)."""

    span: float | None = None
    points: int = 4
    step: float = 0.1
    min_step: float = 0.005
    max_steps: int = 30
    max_nfev: int = 200
    threshold: float = float(THRESHOLD)

    @property
    def rise_low(self) -> float:
        """Below this rise per step the step grows (doubles)."""
        return 0.1 * self.threshold

    @property
    def rise_high(self) -> float:
        """Above this rise per step the point is redone with half the step."""
        return 0.5 * self.threshold


_PROBLEMS: dict[str, object] = {}


def _problem(spec) -> object:
    """The residual problem of a walk: an Objective rebuilt once per process, or the
    problem object itself (anything with ``space`` and ``residuals``)."""
    if not (isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], FitConfig)):
        return spec
    key = json.dumps([asdict(spec[0]), spec[1]], sort_keys=True)
    if key not in _PROBLEMS:
        _PROBLEMS.clear()
        _PROBLEMS[key] = Objective(spec[0], spec[1])
    return _PROBLEMS[key]


def _walk_dir(out: Path, k: int, side: int) -> Path:
    return out / "points" / f"{k:03d}{'+' if side > 0 else '-'}"


def _load_walk(out: Path | None, k: int, side: int, problem: str) -> list[dict]:
    if out is None:
        return []
    records = []
    folder = _walk_dir(out, k, side)
    for i in range(10_000):
        path = folder / f"{i:04d}.json"
        if not path.is_file():
            break
        doc = json.loads(path.read_text())
        if doc.get("problem") != problem:
            raise SecretomeError(
                f"{path} belongs to a different profile (fit, settings or configuration "
                "changed); use another --out or remove it"
            )
        records.append(doc)
    return records


@dataclass
class _WalkState:
    x: np.ndarray  # the last accepted point (full vector, log10)
    pos: float  # its distance from the best value (decades, ≥ 0)
    delta: float  # its rise above the best
    step: float  # the next step
    accepted: int = 0
    stop: str = ""


def _advance(state: _WalkState, rec: dict, st: ProfileSettings, length: float) -> _WalkState:
    """Accept or reject a finished point and plan the next step (also used to replay
    the points on disk when a profile resumes, so both follow the same path)."""
    rise = rec["delta"] - state.delta
    used = rec["pos"] - state.pos
    if rise > st.rise_high and used > st.min_step * (1 + 1e-9):
        rec["accepted"] = False
        return dataclasses.replace(state, step=max(used / 2.0, st.min_step))
    rec["accepted"] = True
    step = state.step
    if rise < st.rise_low:
        step = min(2.0 * step, _max_step(st, length))
    new = _WalkState(np.asarray(rec["x"], dtype=float), rec["pos"], rec["delta"], step)
    new.accepted = state.accepted + 1
    if rec["delta"] >= st.threshold:
        new.stop = "threshold"
    elif rec["pos"] >= length - 1e-12:
        new.stop = rec["edge"]
    elif new.accepted >= st.max_steps:
        new.stop = "max_steps"
    return new


def _max_step(st: ProfileSettings, length: float) -> float:
    return max(length / st.points, st.min_step)


def _walk(task) -> list[dict]:
    """Walk one side of one parameter's profile (module-level for workers)."""
    spec, best_x, best_cost, k, side, st, out, problem = task
    prob = _problem(spec)
    lo, hi = prob.space.lower, prob.space.upper
    key = prob.space.keys[k]
    room = (hi[k] - best_x[k]) if side > 0 else (best_x[k] - lo[k])
    room = max(float(room), 0.0)
    length = room if st.span is None else min(room, st.span)
    edge = "bound" if st.span is None or st.span >= room else "span"
    state = _WalkState(best_x.copy(), 0.0, 0.0, min(st.step, _max_step(st, length)))
    if length <= 1e-12:
        return []
    records = _load_walk(out, k, side, problem)
    for rec in records:
        state = _advance(state, rec, st, length)
    free = np.array([i for i in range(len(best_x)) if i != k], dtype=int)
    while not state.stop:
        pos = min(state.pos + state.step, length)
        value = float(best_x[k] + side * pos)
        x = state.x.copy()
        x[k] = value

        def residuals(z: np.ndarray, x=x) -> np.ndarray:
            y = x.copy()
            y[free] = z
            return prob.residuals(y)

        failures_before = int(getattr(prob, "failures", 0))
        if len(free):
            z0 = np.clip(x[free], lo[free], hi[free])
            sol = least_squares(
                residuals,
                z0,
                bounds=(lo[free], hi[free]),
                method="trf",
                diff_step=DIFF_STEP,
                max_nfev=st.max_nfev,
            )
            x[free] = sol.x
            cost, status, nfev = float(sol.cost), int(sol.status), int(sol.nfev)
        else:
            r = prob.residuals(x)
            cost, status, nfev = 0.5 * float(r @ r), 1, 1
        rec = {
            "key": key,
            "side": side,
            "index": len(records),
            "log10_value": value,
            "offset": value - float(best_x[k]),
            "pos": pos,
            "cost": cost,
            "delta": cost - best_cost,
            "status": status,
            "converged": status > 0,
            "nfev": nfev,
            "failures": int(getattr(prob, "failures", 0)) - failures_before,
            "edge": edge,
            "x": [float(v) for v in x],
        }
        state = _advance(state, rec, st, length)
        rec["stop"] = state.stop
        if out is not None:
            path = _walk_dir(out, k, side) / f"{rec['index']:04d}.json"
            atomic_write(path, json.dumps(rec | {"problem": problem}, indent=1))
        records.append(rec)
    if records:
        records[-1]["stop"] = state.stop
    return records


def _profile_hash(spec, best_x: np.ndarray, st: ProfileSettings) -> str:
    if isinstance(spec, tuple):
        what = {"config": asdict(spec[0]) | {"source": ""}, "studies": spec[1]}
    else:
        what = {"problem": type(spec).__qualname__, "keys": list(spec.space.keys)}
    payload = json.dumps(
        what | {"best_x": np.round(best_x, 12).tolist(), "settings": asdict(st)}, sort_keys=True
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def profile(
    config,
    best_x: np.ndarray,
    *,
    studies: Iterable[str] | None = None,
    parameters: Iterable[str] | None = None,
    span: float | None = None,
    points: int = 4,
    step: float = 0.1,
    min_step: float = 0.005,
    max_steps: int = 30,
    max_nfev: int = 200,
    threshold: float = float(THRESHOLD),
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """Profile likelihoods around ``best_x``, with adaptive steps, resumable.

    For each parameter and side, the parameter is moved away from its best value
    in steps (log10 decades) and every other parameter re-optimised
    (``least_squares``, up to ``max_nfev`` evaluations) from the previous point.
    A step whose rise of the objective exceeds ``threshold / 2`` is redone with
    half the step (down to ``min_step``); a rise below ``threshold / 10`` doubles
    the next step (up to the side's length / ``points``, so at least ``points``
    points lie between the best value and the bound). A side stops at the first
    point above ``threshold``, at the bound or ``span``, or after ``max_steps``
    accepted points.

    Parameters
    ----------
    config : FitConfig or problem
        The fit configuration (an :class:`~secretome.objective.Objective` is built
        from it and ``studies``), or any object with ``space`` (``keys``,
        ``lower``, ``upper``) and ``residuals(x)`` whose ½ Σ r² is the objective.
    best_x : numpy.ndarray
        The best point, log10 units, in the order of the space.
    studies : iterable of str, optional
        The studies fitted (with a FitConfig).
    parameters : iterable of str, optional
        Keys to profile (default: every fitted parameter, noise included).
    span : float, optional
        Walk at most this many decades either side (default: to the bounds).
    points : int
        At least this many points per side before the bound (caps the step), and
        fewer points than this on a side that stopped below the threshold is a
        warning.
    step, min_step : float
        First and smallest step (decades).
    max_steps : int
        Accepted points per side at most.
    max_nfev : int
        Function evaluations of each re-optimisation (a point that reaches it is
        counted as not converged).
    threshold : float
        Rise of the objective that bounds the confidence region (default
        χ²₁(0.95)/2 ≈ 1.92).
    workers, scheduler
        Where the walks (one per parameter and side) run
        (:func:`secretome.parallel.run_tasks`).
    out : path, optional
        Directory where every point is written as it finishes
        (``OUT/points/NNN±/MMMM.json``); required for ``resume``.
    resume : bool
        Continue the walks already on disk for the same fit and settings.
    progress : callable, optional
        Called as ``progress(done_walks, total_walks)``.

    Returns
    -------
    DataFrame
        The accepted points and the best point per key: ``key``, ``side`` (−1, 0,
        +1), ``log10_value``, ``offset`` (decades from the best), ``cost``,
        ``delta`` (cost − best cost = Δ negative log-likelihood), ``converged``,
        ``status``, ``nfev``, ``failures``, ``stop`` (why a side ended, on its last
        point). ``attrs["warnings"]`` lists what was too coarse (also issued as
        :class:`CoarseProfileWarning`); ``attrs["not_converged"]`` counts points.

    Raises
    ------
    SecretomeError
        Bad settings, unknown keys, or ``out`` holding another profile's points.
    """
    studies = sorted(studies) if studies is not None else None
    if isinstance(config, FitConfig):
        spec = (config, studies)
    else:
        spec = config
    prob = _problem(spec)
    space = prob.space
    keys = list(dict.fromkeys(parameters)) if parameters is not None else list(space.keys)
    unknown = [k for k in keys if k not in space.keys]
    if unknown:
        raise SecretomeError(
            f"not fitted, so not profiled: {', '.join(unknown)}; the fitted parameters are "
            f"{', '.join(space.keys)}"
        )
    if not keys:
        raise SecretomeError("the list of parameters to profile is empty")
    best_x = np.asarray(best_x, dtype=float)
    if best_x.shape != (len(space.keys),):
        raise SecretomeError(
            f"the best point has {best_x.size} value(s); the fit has {len(space.keys)} parameters"
        )
    for name, value in (("span", span), ("step", step), ("min_step", min_step)):
        if name == "span" and value is None:
            continue
        if not (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and math.isfinite(value)
            and value > 0
        ):
            raise SecretomeError(f"{name} must be a number of decades above 0, not {value!r}")
    if min_step > step:
        raise SecretomeError(f"min_step ({min_step}) must not exceed step ({step})")
    for name, value in (("points", points), ("max_steps", max_steps), ("max_nfev", max_nfev)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise SecretomeError(f"{name} must be a whole number of at least 1, not {value!r}")
    if not (isinstance(threshold, int | float) and math.isfinite(threshold) and threshold > 0):
        raise SecretomeError(f"threshold must be a number above 0, not {threshold!r}")
    if resume and out is None:
        raise SecretomeError("--resume needs --out (where the finished points are)")
    out_dir = check_output_dir(out, "--out") if out is not None else None
    check_executor(workers, scheduler)
    st = ProfileSettings(
        None if span is None else float(span),
        points,
        float(step),
        float(min_step),
        max_steps,
        max_nfev,
        float(threshold),
    )
    problem = _profile_hash(spec, best_x, st)
    r = prob.residuals(best_x)
    best_cost = 0.5 * float(r @ r)
    walks = [(space.keys.index(key), side) for key in keys for side in (-1, 1)]
    if out_dir is not None:
        found = sum(len(_load_walk(out_dir, k, side, problem)) for k, side in walks)
        if found and not resume:
            raise SecretomeError(
                f"{out_dir} already holds {found} finished profile point(s) of this "
                "profile; pass --resume to continue it, or choose another --out"
            )
        atomic_write(
            out_dir / "profile_problem.json",
            json.dumps(
                {
                    "problem": problem,
                    "settings": asdict(st),
                    "parameters": list(space.keys),
                    "best_x": best_x.tolist(),
                    "best_cost": best_cost,
                },
                indent=2,
            ),
        )
    tasks = [(spec, best_x, best_cost, k, side, st, out_dir, problem) for k, side in walks]
    found_walks: dict[int, list[dict]] = {}
    for i, records in run_tasks(_walk, tasks, workers=workers, scheduler=scheduler):
        found_walks[i] = records
        if progress:
            progress(len(found_walks), len(tasks))
    columns = [
        "key",
        "side",
        "log10_value",
        "offset",
        "cost",
        "delta",
        "converged",
        "status",
        "nfev",
        "failures",
        "stop",
    ]
    rows = [
        (key, 0, float(best_x[space.keys.index(key)]), 0.0, best_cost, 0.0, True, 0, 0, 0, "")
        for key in keys
    ]
    for i in range(len(tasks)):
        rows += [
            tuple(rec.get(c, "") for c in columns) for rec in found_walks[i] if rec["accepted"]
        ]
    table = pd.DataFrame(rows, columns=columns)
    table["converged"] = table["converged"].astype(bool)
    table = table.sort_values(["key", "log10_value"]).reset_index(drop=True)
    notes = _coarse_notes(table, walks, space, best_x, st)
    table.attrs["warnings"] = notes
    table.attrs["not_converged"] = int((~table["converged"]).sum())
    table.attrs["threshold"] = st.threshold
    for note in notes:
        warnings.warn(note, CoarseProfileWarning, stacklevel=2)
    return table


def profile_summary(profiles: pd.DataFrame) -> pd.DataFrame:
    """Summarise each walk of a :func:`profile` table.

    Parameters
    ----------
    profiles : pandas.DataFrame
        From :func:`profile`.

    Returns
    -------
    pandas.DataFrame
        One row per parameter and side (``key``, ``side``): ``points``,
        ``not_converged``, ``failures`` (failed simulations), ``reached`` (the
        largest |offset|, decades), ``max_delta``
        and ``stop`` (threshold, bound, span or max_steps). A side without points
        (the best value on its bound) has no row.
    """
    rows = []
    for (key, side), g in profiles[profiles["side"] != 0].groupby(["key", "side"]):
        g = g.sort_values("offset", key=abs)
        rows.append(
            {
                "key": key,
                "side": int(side),
                "points": len(g),
                "not_converged": int((~g["converged"].astype(bool)).sum()),
                "failures": int(g["failures"].sum()),
                "reached": float(g["offset"].abs().max()),
                "max_delta": float(g["delta"].max()),
                "stop": str(g["stop"].iloc[-1]),
            }
        )
    return pd.DataFrame(
        rows,
        columns=[
            "key",
            "side",
            "points",
            "not_converged",
            "failures",
            "reached",
            "max_delta",
            "stop",
        ],
    )


def _coarse_notes(table, walks, space, best_x, st: ProfileSettings) -> list[str]:
    notes = []
    summary = profile_summary(table).set_index(["key", "side"])
    for k, side in walks:
        key = space.keys[k]
        where = f"{key} ({'above' if side > 0 else 'below'} the best)"
        if (key, side) not in summary.index:
            continue  # the best value is on this bound: nothing to walk
        row = summary.loc[(key, side)]
        if row["stop"] == "max_steps":
            notes.append(
                f"{where}: the threshold was not reached within max_steps = {st.max_steps} "
                f"points (rise {row['max_delta']:.3g} at {row['reached']:.3g} decades); "
                "raise max_steps or step"
            )
        elif row["stop"] == "span":
            notes.append(
                f"{where}: stopped at span = {st.span} decades below the threshold "
                f"(rise {row['max_delta']:.3g}); the bound is further: cannot classify"
            )
        elif row["stop"] == "bound" and row["points"] < st.points:
            notes.append(
                f"{where}: only {row['points']} point(s) before the bound (points = "
                f"{st.points}); too coarse to tell a shallow rise from a flat one"
            )
        if row["failures"]:
            notes.append(
                f"{where}: {row['failures']} simulation(s) failed while re-optimising; "
                "a rise there may be the failure penalty, not the data"
            )
        if row["not_converged"]:
            notes.append(
                f"{where}: {row['not_converged']} of {row['points']} re-optimisation(s) "
                f"stopped at max_nfev = {st.max_nfev} before converging; the profile may "
                "lie above the true one"
            )
    below = table[table["delta"] < -1e-6]
    if len(below):
        notes.append(
            f"{len(below)} profile point(s) lie below the best point (lowest "
            f"{below['delta'].min():.3g}): the fit had not converged; refit from there"
        )
    return notes


def confidence_intervals(profiles: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """Where each profile crosses ``threshold``, in log10 units: interpolated between
    the two points that bracket the crossing, linearly in √Δ (exact for a quadratic
    profile).

    Parameters
    ----------
    profiles : pandas.DataFrame
        From :func:`profile` (``key``, ``offset``, ``delta``, and ``log10_value``;
        without it the interval is given as offsets from the best).
    threshold : float, optional
        Default: the table's ``attrs["threshold"]``, else :data:`THRESHOLD`.

    Returns
    -------
    pandas.DataFrame
        ``key``, ``best`` (log10), ``ci_lower``, ``ci_upper`` (log10; NaN where the
        profile does not cross on that side).
    """
    thr = threshold if threshold is not None else profiles.attrs.get("threshold", THRESHOLD)
    # a table without log10_value gives the interval as offsets from the best
    column = "log10_value" if "log10_value" in profiles else "offset"
    rows = []
    for key, g in profiles.groupby("key"):
        g = g.sort_values("offset")
        best = g[np.isclose(g["offset"], 0.0)]
        centre = float(best[column].iloc[0]) if len(best) else float("nan")
        ends = {}
        for name, sel in (("ci_lower", g["offset"] <= 0), ("ci_upper", g["offset"] >= 0)):
            side = g[sel].sort_values("offset", key=abs)
            v, d = side[column].to_numpy(), side["delta"].to_numpy()
            ends[name] = float("nan")
            for i in range(1, len(side)):
                if d[i] >= thr > d[i - 1]:
                    # in √Δ, which is linear in the offset for a quadratic profile
                    lo_, hi_ = math.sqrt(max(d[i - 1], 0.0)), math.sqrt(d[i])
                    t = (math.sqrt(thr) - lo_) / (hi_ - lo_)
                    ends[name] = float(v[i - 1] + t * (v[i] - v[i - 1]))
                    break
        rows.append({"key": key, "best": centre, **ends})
    return pd.DataFrame(rows, columns=["key", "best", "ci_lower", "ci_upper"])


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
        One row per parameter with ``key``, ``class`` and the measures behind it,
        the 95 % interval where the profile crosses the threshold (``ci_lower``,
        ``ci_upper``, log10; :func:`confidence_intervals`) and, for tables from
        :func:`profile`, ``not_converged`` (re-optimisations that hit max_nfev).
        The threshold is the table's ``attrs["threshold"]`` (default
        :data:`THRESHOLD`)."""
    rows = []
    thr = profiles.attrs.get("threshold", THRESHOLD)
    jac = jacobian.set_index("key") if jacobian is not None else None
    ci = confidence_intervals(profiles, thr).set_index("key")
    for key, g in profiles.groupby("key"):
        left = g[g["offset"] < -1e-9]["delta"]
        right = g[g["offset"] > 1e-9]["delta"]
        rise = float(g["delta"].max())
        crosses_left = bool((left > thr).any())
        crosses_right = bool((right > thr).any())
        structural = rise - float(g["delta"].min()) < FLAT  # flat, whatever its level
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
                "ci_lower": ci.loc[key, "ci_lower"],
                "ci_upper": ci.loc[key, "ci_upper"],
            }
        )
        if "converged" in g:
            rows[-1]["not_converged"] = int((~g["converged"].astype(bool)).sum())
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

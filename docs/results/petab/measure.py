"""Measure the PEtab export at the shipped fit, refit it with pyPESTO, rewrite the docs.

What ``docs/petab.md`` quotes about the export (sections "Numbers measured at the
shipped fit" and "A pyPESTO refit of the export"), measured on a fresh export
(:func:`secretome.petab_export.export_petab` into a temporary directory):

1. secretome's objective J = ½ Σ r² (:meth:`secretome.objective.Objective.cost`) at the
   shipped fit, split by the kind of its terms, with the qualitative results it
   violates (hinge > 0) and where secretome's report (:func:`secretome.comparison.compare`)
   judges a qualitative result differently;
2. pyPESTO's roadrunner objective on ``problem_quantitative.yaml``: ½χ² against our
   quantitative ½ Σ r²;
3. AMICI through pyPESTO's hierarchical importer on ``problem.yaml``: import time, each
   censored result's term against our hinge, the ordinal rows' term under both interval
   constraints, and whether the ordinal gradient is finite at the shipped fit;
4. a pyPESTO refit of the export (AMICI, hierarchical objective; fides if installed,
   else pyPESTO's ScipyOptimizer with L-BFGS-B): 4 starts, start 0 at the exported
   nominal values (the shipped fit), starts 1-3 uniform within the bounds on the log10
   scale (:data:`SEED`); each end point scored with secretome's objective (its ordering
   hinges and the qualitative results it violates) and with pyPESTO's ``max-min``
   ordinal term.

pyPESTO 0.7.0's ordinal gradient is NaN wherever it meets a singular KKT matrix
(scipy's "Matrix is exactly singular", :data:`SINGULAR`): at the shipped fit when it is
asked for after an objective value alone at the same point (pyPESTO's inner solver
restarts from its previous solution; probed in 3.), and at some points whatever the
order of the calls (probed at each start point on a fresh problem). fides asks for the
value and the gradient together at every point, so with fides the refit first includes
the orderings (interval constraints ``max-min``); L-BFGS-B asks for them apart when the
objective is an aggregate, so without fides it leaves them out unless both probes at
the shipped fit are finite. Every gradient the refit evaluates is read back from
pyPESTO's history; if one has a non-finite entry, the refit with the orderings is
discarded (its end points are kept in ``measured.json``) and repeated without them.

Results go to ``measured.json`` and ``refit.csv`` here; the part of ``docs/petab.md``
between :data:`BEGIN` and :data:`END` is then written from those two files alone
(``--docs-only`` rewrites it without measuring) and ``tests/test_docs_petab.py``
checks that it matches them.

pyPESTO 0.7.0 refuses hierarchical optimisation when the parameter table has
objective priors (``NotImplementedError``), and the export gives the noise parameters
``sigma_*`` normal priors. The AMICI problems here are therefore imported from a copy
whose objective priors are all ``parameterScaleUniform`` (a constant), and the refit
adds pyPESTO's own prior objective, built from the exported table by
``PetabImporter.create_prior``, to the AMICI objective (:func:`_refit_problem`).

Usage (from the repository root; ``make petab-results`` installs AMICI first)::

    .venv/bin/python docs/results/petab/measure.py
    .venv/bin/python docs/results/petab/measure.py --maxiter 20 --maxtime 120
    .venv/bin/python docs/results/petab/measure.py --docs-only
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import importlib.util
import json
import logging
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
import tomllib
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DOC = ROOT / "docs" / "petab.md"
MEASURED = HERE / "measured.json"
REFIT = HERE / "refit.csv"
PROVENANCE = ROOT / "models" / "fitted_parameters.toml"
BEGIN = "<!-- petab-numbers:begin (written by docs/results/petab/measure.py) -->"
END = "<!-- petab-numbers:end -->"
#: Seed of the uniform starts 1-3 (``numpy.random.default_rng``).
SEED = 0
STARTS = 4
#: Optimizer iterations per start, and a wall-time limit per start (seconds) so that
#: the whole run stays under about 25 min on 2 shared cores.
MAXITER = 100
MAXTIME = 240.0
#: pyPESTO's option for ordinal data: intervals sized by the simulations' range
#: ("max-min"; zero term when the doses are ordered) or by their maximum (default).
MAX_MIN = {"interval_constraints": "max-min"}
#: scipy's warning when pyPESTO 0.7.0's ordinal gradient solves a singular KKT system
#: (``pypesto.hierarchical.ordinal.solver.calculate_dxi_dtheta``): that gradient is NaN.
SINGULAR = "Matrix is exactly singular"
#: Columns of pyPESTO's extension that mark the qualitative rows.
MEASUREMENT_TYPE = "measurementType"
CENSORED = "interval-censored"
ORDINAL = "ordinal"
#: refit.csv: the end point's estimated parameters, by PEtab id, log10 scale.
X_PREFIX = "log10:"
#: What measured.json keeps of the end points of a refit with the orderings that met a
#: non-finite gradient (and was repeated without them).
DISCARDED_COLUMNS = (
    "start",
    "fval",
    "message",
    "gradients_recorded",
    "gradients_nonfinite",
    "J",
    "J_orderings",
    "violated",
)
LIBRARIES = ("numpy", "scipy", "pandas", "petab", "pypesto", "amici", "libroadrunner", "fides")


# --- secretome's objective --------------------------------------------------------------


def _term_parts(objective, x: np.ndarray) -> dict:
    """J = ½ Σ r² at ``x`` split by the kind of term, and the qualitative results
    violated (a hinge residual above zero)."""
    r = objective.residuals(x)
    offsets = np.cumsum([0] + [t.size for t in objective.terms])
    parts = {"quantitative": 0.0, "directions_no_changes": 0.0, "orderings": 0.0}
    violated, hinges = [], {}
    for i, term in enumerate(objective.terms):
        ri = r[offsets[i] : offsets[i + 1]]
        half = 0.5 * float(ri @ ri)
        if term.kind == "quantitative":
            parts["quantitative"] += half
            continue
        parts["orderings" if term.kind == "ordering" else "directions_no_changes"] += half
        hinges[term.id] = [float(v) for v in ri]
        if np.any(ri > 0):
            violated.append(term.id)
    prior = r[offsets[-1] :]
    return {
        "J": 0.5 * float(r @ r),
        "J_quantitative": parts["quantitative"],
        "J_directions_no_changes": parts["directions_no_changes"],
        "J_orderings": parts["orderings"],
        "J_qualitative": parts["directions_no_changes"] + parts["orderings"],
        "J_noise_priors": 0.5 * float(prior @ prior),
        "violated": violated,
        "hinges": hinges,
    }


def _our_point(objective, values: dict[str, float], ids: dict[str, str]) -> np.ndarray:
    """A point of the objective's space (log10) from PEtab parameter values (log10,
    by PEtab id); ``ids`` maps our keys to PEtab ids."""
    missing = [p.key for p in objective.space.parameters if ids.get(p.key) not in values]
    if missing:
        raise SystemExit(f"parameters of the objective absent from the export: {missing}")
    return np.array([values[ids[p.key]] for p in objective.space.parameters])


def _report_differences(objective, x: np.ndarray, hinges: dict) -> list[dict]:
    """Qualitative results that secretome's report (its bands) and the objective (its
    margins) judge differently at ``x``."""
    from secretome import comparison
    from secretome.simulation import simulate

    results = [
        simulate(
            s,
            objective.model_space.overrides(objective.model_point(x), s.cell_line, s.msc_source),
            n_points=2,
            timecourses=False,
        )
        for s in objective.scenarios.values()
    ]
    table = comparison.compare(objective.evidence, results).set_index("id")
    out = []
    for key, h in hinges.items():
        ours = not any(v > 0 for v in h)
        report = table.loc[key, "agreement"] == "agree"
        if ours != report:
            out.append(
                {
                    "id": key,
                    "kind": str(table.loc[key, "kind"]),
                    "objective_holds": ours,
                    "report_agrees": bool(report),
                    "report_detail": str(table.loc[key, "detail"]),
                    "hinge_max": max(h),
                }
            )
    return out


# --- pyPESTO -----------------------------------------------------------------------------


@contextlib.contextmanager
def _quiet():
    """AMICI logs every parameter mapping at DEBUG; pyPESTO's ordinal solver takes
    log(0) of the σ of masked (non-quantitative) entries before dropping them."""

    def hush() -> None:
        for name in list(logging.root.manager.loggerDict):
            if name.startswith(("amici", "pypesto")):
                logging.getLogger(name).setLevel(logging.WARNING)
            elif name.startswith("petab"):  # the linter warns of every missing optional table
                logging.getLogger(name).setLevel(logging.ERROR)

    hush()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="divide by zero encountered in log")
        try:
            yield
        finally:
            hush()  # loggers created meanwhile


def _roadrunner(exported: Path, objective, x_ours: np.ndarray) -> dict:
    """pyPESTO's roadrunner objective on the quantitative problem (as the tests do)."""
    import petab.v1 as petab
    from pypesto.objective.roadrunner import RoadRunnerObjective, SolverOptions
    from pypesto.petab import PetabImporter

    from secretome import model

    prob = petab.Problem.from_yaml(exported / "problem_quantitative.yaml")
    with _quiet():
        pp = PetabImporter(prob, simulator_type="roadrunner").create_problem()
    parts = getattr(pp.objective, "_objectives", [pp.objective])
    simulator = next(o for o in parts if isinstance(o, RoadRunnerObjective))
    simulator.solver_options = SolverOptions(
        relative_tolerance=model.RTOL, absolute_tolerance=model.ATOL
    )
    full = pp.get_full_vector(np.asarray(prob.x_nominal_free_scaled))
    res = simulator(full, mode="mode_res", return_dict=True)["res"]
    res = np.asarray(res).reshape(len(prob.measurement_df), -1)
    columns = ["residual" if c == "measurement" else c for c in prob.measurement_df.columns]
    got = -pd.DataFrame(res, columns=columns)["residual"].astype(float).to_numpy()
    r = objective.residuals(x_ours)
    offsets = np.cumsum([0] + [t.size for t in objective.terms])
    ours = {t.id: r[offsets[i]] for i, t in enumerate(objective.terms) if t.kind == "quantitative"}
    want = np.array([ours[k] for k in prob.measurement_df["evidence_id"]])
    half_chi2 = 0.5 * float(got @ got)
    half_ours = 0.5 * float(want @ want)
    return {
        "half_chi2": half_chi2,
        "ours_quantitative": half_ours,
        "rel_diff": abs(half_chi2 - half_ours) / half_ours,
        "max_abs_residual_diff": float(np.max(np.abs(got - want))),
        "fval": float(simulator(full)),
        "rows": len(got),
    }


def _without_priors(problem):
    """A copy of a petab.v1 Problem whose objective priors are all uniform (pyPESTO
    0.7.0 refuses hierarchical optimisation with priors)."""
    import copy

    p = copy.copy(problem)
    p.parameter_df = problem.parameter_df.copy()
    if "objectivePriorType" in p.parameter_df:
        p.parameter_df["objectivePriorType"] = "parameterScaleUniform"
        p.parameter_df = p.parameter_df.drop(columns=["objectivePriorParameters"], errors="ignore")
    return p


def _amici_problem(exported: Path, amici_dir: Path, rows=None, options=None):
    """pyPESTO's hierarchical AMICI problem of the export (its objective priors left
    out), optionally on a subset of the measurement rows; compiles the model into
    ``amici_dir`` the first time."""
    import petab.v1 as petab
    from pypesto.petab import PetabImporter

    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    if rows is not None:
        prob.measurement_df = rows.reset_index(drop=True)
    with _quiet():
        importer = PetabImporter(
            _without_priors(prob),
            hierarchical=True,
            output_folder=str(amici_dir),
            model_name="secretome_petab",
            inner_options=options or None,
        )
        return importer.create_problem(verbose=False)


def _amici(exported: Path, amici_dir: Path, objective, x_ours, hinges, config) -> dict:
    """Import time, censored terms against our hinges, the ordinal terms and the
    finiteness of their gradient, at the shipped fit."""
    import petab.v1 as petab

    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    x = np.asarray(prob.x_nominal_free_scaled)
    full = prob.measurement_df
    kind = full[MEASUREMENT_TYPE]
    quant, censored, ordinal = full[kind.isna()], full[kind == CENSORED], full[kind == ORDINAL]

    start = time.perf_counter()
    pp = _amici_problem(exported, amici_dir)
    import_seconds = time.perf_counter() - start
    solver = pp.objective.amici_solver
    tolerances = [solver.get_relative_tolerance(), solver.get_absolute_tolerance()]

    def fval(rows, options=None) -> float:
        with _quiet():
            return float(_amici_problem(exported, amici_dir, rows, options).objective(x))

    both = fval(pd.concat([quant, censored]))
    const = 0.5 * math.log(2 * math.pi * config.qualitative_sigma**2)
    deviations = {}
    for key, rows in censored.groupby("evidence_id"):
        without = fval(pd.concat([quant, censored[censored["evidence_id"] != key]]))
        ours = 0.5 * sum(v * v for v in hinges[key])
        deviations[key] = abs((both - without - const * len(rows)) - ours)
    everything = pd.concat([quant, censored, ordinal])
    ordinal_terms = {
        "max-min": fval(everything, MAX_MIN) - both,
        "default": fval(everything) - both,
    }
    gradient = {}
    for name, options in (("max-min", MAX_MIN), ("default", None)):
        found = {}
        for order in ("gradient first", "after an fval-only call"):
            problem = _amici_problem(exported, amici_dir, everything, options)
            with _quiet():
                if order != "gradient first":
                    problem.objective(x)
                _, g = problem.objective(x, sensi_orders=(0, 1))
            found[order] = int(np.sum(~np.isfinite(g)))
        gradient[name] = found
    worst = max(deviations, key=deviations.get)
    return {
        "import_seconds": import_seconds,
        "solver_tolerances": tolerances,
        "fval_quantitative_censored": both,
        "censored_results": len(deviations),
        "censored_rows": len(censored),
        "censored_max_deviation": deviations[worst],
        "censored_worst": worst,
        "ordinal_results": int(ordinal["evidence_id"].nunique()),
        "ordinal_rows": len(ordinal),
        "ordinal_term": ordinal_terms,
        "ordinal_gradient_nonfinite": gradient,
        "estimated_parameters": len(x),
    }


def _refit_problem(exported: Path, amici_dir: Path, with_orderings: bool, guesses):
    """The refit's pyPESTO problem: the hierarchical AMICI objective (orderings with
    interval constraints max-min, or left out) plus pyPESTO's prior objective of the
    exported parameter table, which pyPESTO 0.7.0's importer refuses to combine."""
    import petab.v1 as petab
    import pypesto
    from pypesto.objective import AggregatedObjective
    from pypesto.petab import PetabImporter

    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    full = prob.measurement_df
    rows = full if with_orderings else full[full[MEASUREMENT_TYPE] != ORDINAL]
    pp = _amici_problem(exported, amici_dir, rows, MAX_MIN if with_orderings else None)
    with _quiet():
        prior = PetabImporter(prob, hierarchical=True).create_prior()
    if list(pp.x_names) != list(prob.x_ids):
        raise SystemExit("pyPESTO's parameters are not the PEtab problem's; cannot add priors")
    objective = pp.objective if prior is None else AggregatedObjective([pp.objective, prior])
    return pypesto.Problem(
        objective=objective,
        lb=pp.lb_full,
        ub=pp.ub_full,
        x_fixed_indices=pp.x_fixed_indices,
        x_fixed_vals=pp.x_fixed_vals,
        x_names=pp.x_names,
        x_scales=pp.x_scales,
        x_priors_defs=prior,
        x_guesses=guesses,
        copy_objective=False,
    )


def _has_fides() -> bool:
    return importlib.util.find_spec("fides") is not None


def _optimizer(maxiter: int, maxtime: float):
    """(optimizer, its description): fides with BFGS when installed, else pyPESTO's
    ScipyOptimizer with L-BFGS-B."""
    import pypesto.optimize as optimize

    if _has_fides():
        import fides

        opt = optimize.FidesOptimizer(
            hessian_update=fides.BFGS(), options={"maxiter": maxiter}, verbose=logging.WARNING
        )
        name = "fides with BFGS (pyPESTO's FidesOptimizer)"
    else:
        opt = optimize.ScipyOptimizer(method="L-BFGS-B", options={"maxiter": maxiter})
        name = "pyPESTO's ScipyOptimizer with L-BFGS-B (fides is not installed)"
    if opt.supports_maxtime():
        opt.set_maxtime(maxtime)
    return opt, name


def _gradients(history) -> tuple[int, int]:
    """(gradients a start evaluated, how many of them have a non-finite entry), from
    its pyPESTO history (which stores a scalar NaN where no gradient was asked for)."""
    grads = [np.asarray(g) for g in history.get_grad_trace()]
    grads = [g for g in grads if g.ndim == 1]
    return len(grads), sum(1 for g in grads if not np.all(np.isfinite(g)))


def _count_singular(caught) -> int:
    return sum(SINGULAR in str(w.message) for w in caught)


def _starts(prob) -> np.ndarray:
    """The refit's start points (free parameters, log10): the exported nominal values
    (the shipped fit), then uniform draws within the bounds (:data:`SEED`)."""
    lb, ub = np.asarray(prob.lb_scaled), np.asarray(prob.ub_scaled)
    free = np.asarray(prob.x_free_indices)
    rng = np.random.default_rng(SEED)
    uniform = rng.uniform(lb[free], ub[free], size=(STARTS - 1, len(free)))
    return np.vstack([np.asarray(prob.x_nominal_free_scaled), uniform])


def _start_gradients(exported: Path, amici_dir: Path) -> dict:
    """The max-min ordinal problem's gradient at each start point, value and gradient
    in one call on a fresh problem: its non-finite entries and scipy's singular-matrix
    warnings of that call."""
    import petab.v1 as petab

    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    bad, singular = [], []
    for x in _starts(prob):
        problem = _amici_problem(exported, amici_dir, prob.measurement_df, MAX_MIN)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with _quiet():
                _, g = problem.objective(x, sensi_orders=(0, 1))
        bad.append(int(np.sum(~np.isfinite(g))))
        singular.append(_count_singular(caught))
    return {"nonfinite_entries": bad, "singular_matrix_warnings": singular}


def _ordinal_terms(exported: Path, amici_dir: Path, xs) -> list[float]:
    """pyPESTO's max-min ordinal term at each point: the AMICI objective on every row
    minus the same without the ordinal rows, each on a fresh problem (value only)."""
    import petab.v1 as petab

    full = petab.Problem.from_yaml(exported / "problem.yaml").measurement_df
    rest = full[full[MEASUREMENT_TYPE] != ORDINAL]
    out = []
    for x in xs:
        everything = _amici_problem(exported, amici_dir, full, MAX_MIN)
        without = _amici_problem(exported, amici_dir, rest)
        with _quiet():
            out.append(float(everything.objective(x)) - float(without.objective(x)))
    return out


def _refit(exported, amici_dir, objective, ids, with_orderings, maxiter, maxtime):
    """The multistart refit, each end point scored with our objective and with
    pyPESTO's ordinal term, and the count of non-finite gradients it met."""
    import petab.v1 as petab
    import pypesto.optimize as optimize
    from pypesto.engine import SingleCoreEngine
    from pypesto.history import HistoryOptions

    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    free = np.asarray(prob.x_free_indices)
    nominal = np.asarray(prob.x_nominal_free_scaled)
    guesses = _starts(prob)
    problem = _refit_problem(exported, amici_dir, with_orderings, guesses)
    optimizer, name = _optimizer(maxiter, maxtime)
    ids_ = [str(k) for k in range(STARTS)]
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _quiet():
            result = optimize.minimize(
                problem,
                optimizer=optimizer,
                n_starts=STARTS,
                ids=ids_,
                engine=SingleCoreEngine(),
                progress_bar=False,
                # every evaluation with its gradient, to check that each one was finite
                history_options=HistoryOptions(trace_record=True, trace_record_grad=True),
            )
    seconds = time.perf_counter() - start
    names = [problem.x_names[i] for i in problem.x_free_indices]
    ends = sorted(result.optimize_result.list, key=lambda r: int(r.id))
    ordinal = _ordinal_terms(exported, amici_dir, [r.x[problem.x_free_indices] for r in ends])
    orderings = sorted(t.id for t in objective.terms if t.kind == "ordering")
    rows = []
    for r, pypesto_ordinal in zip(ends, ordinal, strict=True):
        k = int(r.id)
        values = dict(zip(names, map(float, r.x[problem.x_free_indices]), strict=True))
        parts = _term_parts(objective, _our_point(objective, values, ids))
        n_grad, n_bad = _gradients(r.history)
        # fides moves a start on a bound just inside it, so pyPESTO's fval0 (the value at
        # the start itself) can be missing; the first evaluation is always there
        first = float(r.history.get_fval_trace(0)) if len(r.history) else math.nan
        # pyPESTO's fval is our J without the orderings plus a constant (the normalising
        # terms), plus pyPESTO's own ordinal term when the orderings are fitted
        ours = parts["J"] - parts["J_orderings"] + (pypesto_ordinal if with_orderings else 0.0)
        rows.append(
            {
                "start": k,
                "start_point": "nominal (shipped fit)" if k == 0 else f"uniform, seed {SEED}",
                "fval0": float(r.fval0) if r.fval0 is not None else math.nan,
                "fval_first_evaluation": first,
                "fval": float(r.fval),
                "n_fval": int(r.n_fval or 0),
                "n_grad": int(r.n_grad or 0),
                "gradients_recorded": n_grad,
                "gradients_nonfinite": n_bad,
                "exitflag": r.exitflag,
                "message": str(r.message).strip(),
                "seconds": float(r.time),
                "pypesto_ordinal_term": pypesto_ordinal,
                "fval_minus_ours": float(r.fval) - ours,
                "J": parts["J"],
                "J_quantitative": parts["J_quantitative"],
                "J_qualitative": parts["J_qualitative"],
                "J_orderings": parts["J_orderings"],
                "J_noise_priors": parts["J_noise_priors"],
                "violated": ";".join(parts["violated"]),
                "violated_orderings": ";".join(v for v in parts["violated"] if v in orderings),
                "max_abs_dlog10_from_start": float(np.max(np.abs(r.x[free] - guesses[k]))),
                "max_abs_dlog10_from_shipped_fit": float(np.max(np.abs(r.x[free] - nominal))),
                **{X_PREFIX + n: v for n, v in values.items()},
                **{
                    f"start_{X_PREFIX}{n}": float(v)
                    for n, v in zip(names, guesses[k], strict=True)
                },
            }
        )
    table = pd.DataFrame(rows).sort_values("start", ignore_index=True)
    meta = {
        "optimizer": name,
        "fides_installed": _has_fides(),
        "maxiter": maxiter,
        "maxtime_per_start_s": maxtime,
        "starts": STARTS,
        "seed": SEED,
        "orderings_included": with_orderings,
        "ordering_ids": orderings,
        "gradients_recorded": int(table["gradients_recorded"].sum()),
        "gradients_nonfinite": int(table["gradients_nonfinite"].sum()),
        "gradients_nonfinite_by_start": [int(v) for v in table["gradients_nonfinite"]],
        "messages_by_start": list(table["message"]),
        "singular_matrix_warnings": _count_singular(caught),
        "seconds": seconds,
    }
    return table, meta


# --- the run -------------------------------------------------------------------------


def _versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    try:
        out["secretome"] = metadata.version("secretome")
    except metadata.PackageNotFoundError:
        out["secretome"] = None
    return out


def _commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _orderings_reason(probe: dict[str, int], has_fides: bool, attempt: dict | None) -> str:
    """Why the refit includes the orderings or leaves them out (the rule of
    :func:`measure`): fides asks for the objective value and its gradient together at
    every point, so only the max-min gradient computed first matters to it; L-BFGS-B
    also asks for the gradient after a value alone; a refit that met a non-finite
    gradient anyway is repeated without the orderings."""
    if probe["gradient first"]:
        return "the max-min ordinal gradient is NaN at the shipped fit even when computed first"
    if attempt is not None:
        bad = [
            f"start {k}: {n}" for k, n in enumerate(attempt["gradients_nonfinite_by_start"]) if n
        ]
        return (
            f"a first refit with them met {attempt['gradients_nonfinite']} gradients with "
            f"non-finite entries among the {attempt['gradients_recorded']} it evaluated "
            f"({', '.join(bad)}), although fides asks for the value and the gradient "
            "together; scipy reported a singular matrix in pyPESTO's ordinal gradient "
            f"(`calculate_dxi_dtheta`) {attempt['singular_matrix_warnings']} times during "
            "it. That refit was discarded and repeated without the orderings"
        )
    if not probe["after an fval-only call"]:
        return "the max-min ordinal gradient is finite at the shipped fit in both probes"
    if has_fides:
        return (
            "fides asks for the objective value and its gradient together at every point, "
            "never for the value alone, after which the max-min ordinal gradient is NaN at "
            "the shipped fit"
        )
    return (
        "the max-min ordinal gradient is NaN at the shipped fit after an fval-only call; "
        "pyPESTO's L-BFGS-B asks for the objective value and then the gradient at each "
        "point when the objective is an aggregate, as here"
    )


def measure(work: Path, maxiter: int, maxtime: float) -> tuple[dict, pd.DataFrame]:
    """Every number of the docs section (see the module docstring)."""
    # AMICI calls SWIG by name; the `amici` extra installs it beside this interpreter
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    import petab.v1 as petab

    from secretome.objective import Objective, load_fit_config
    from secretome.petab_export import export_petab

    begin = time.perf_counter()
    load = [round(os.getloadavg()[0], 2)]
    seconds: dict[str, float] = {}
    config = load_fit_config()
    objective = Objective(config)
    exported = work / "problem"
    export_petab(exported, config)
    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    par = prob.parameter_df
    estimated = par[par["estimate"] == 1]
    ids = dict(zip(estimated["parameterName"], estimated.index, strict=True))
    nominal = dict(zip(prob.x_free_ids, map(float, prob.x_nominal_free_scaled), strict=True))
    x_ours = _our_point(objective, nominal, ids)
    seconds["export"] = time.perf_counter() - begin

    t = time.perf_counter()
    parts = _term_parts(objective, x_ours)
    report = _report_differences(objective, x_ours, parts["hinges"])
    seconds["objective"] = time.perf_counter() - t
    t = time.perf_counter()
    roadrunner = _roadrunner(exported, objective, x_ours)
    seconds["roadrunner"] = time.perf_counter() - t
    t = time.perf_counter()
    amici = _amici(exported, work / "amici", objective, x_ours, parts["hinges"], config)
    seconds["amici"] = time.perf_counter() - t

    probe = amici["ordinal_gradient_nonfinite"]["max-min"]
    has_fides = _has_fides()
    with_orderings = not probe["gradient first"] and (
        has_fides or not probe["after an fval-only call"]
    )
    table, refit = _refit(
        exported, work / "amici", objective, ids, with_orderings, maxiter, maxtime
    )
    attempt = None
    if with_orderings and refit["gradients_nonfinite"]:
        attempt = refit
        attempt["ends"] = table[list(DISCARDED_COLUMNS)].to_dict("records")
        seconds["refit_with_orderings_discarded"] = attempt.pop("seconds")
        table, refit = _refit(exported, work / "amici", objective, ids, False, maxiter, maxtime)
    refit["start_gradients_max_min"] = _start_gradients(exported, work / "amici")
    refit["orderings_reason"] = _orderings_reason(probe, has_fides, attempt)
    refit["discarded_refit_with_orderings"] = attempt
    # pyPESTO's objective is our J without the orderings plus a constant (docs/likelihood.md;
    # the priors' Jacobian ln ln 10 each), plus its ordinal term where the orderings are
    # fitted: check it at every end point
    refit["fval_minus_ours"] = [float(v) for v in table["fval_minus_ours"]]
    refit["expected_constant"] = (
        objective.nll_constant
        - len(config.noise) * math.log(math.log(10.0))
        + amici["censored_rows"] * 0.5 * math.log(2 * math.pi * config.qualitative_sigma**2)
    )
    seconds["refit"] = refit.pop("seconds")
    seconds["total"] = time.perf_counter() - begin
    load.append(round(os.getloadavg()[0], 2))

    kinds = prob.measurement_df[MEASUREMENT_TYPE]
    prov = tomllib.loads(PROVENANCE.read_text(encoding="utf-8"))
    measured = {
        "date": datetime.date.today().isoformat(),
        "commit": _commit(),
        "command": "python docs/results/petab/measure.py "
        f"--maxiter {maxiter} --maxtime {maxtime:g}",
        "versions": _versions(),
        "platform": platform.platform(),
        "cores": os.cpu_count(),
        "load_average_1min": load,
        "seconds": seconds,
        "export": {
            "quantitative_rows": int(kinds.isna().sum()),
            "qualitative_results": int(
                prob.measurement_df.loc[kinds.notna(), "evidence_id"].nunique()
            ),
            "qualitative_rows": int(kinds.notna().sum()),
            "conditions": len(prob.condition_df),
            "estimated_parameters": int(par["estimate"].sum()),
            "noise_parameters": len(config.noise),
        },
        "shipped_fit": {
            "provenance_objective": float(prov["objective"]),
            **{k: v for k, v in parts.items() if k != "hinges"},
            "report_differs": report,
        },
        "roadrunner": roadrunner,
        "amici": amici,
        "refit": refit,
    }
    return measured, table


# --- the docs section, from the two files alone ------------------------------------------


def _f(x: float, digits: int = 4) -> str:
    return f"{x:.{digits}f}"


def _e(x: float) -> str:
    return f"{x:.1e}"


def _ids(ids: list[str]) -> str:
    return ", ".join(f"`{k}`" for k in ids) if ids else "none"


def _gradient_text(found: dict[str, int], n: int) -> str:
    bad = {order: k for order, k in found.items() if k}
    if not bad:
        return "finite"
    return "; ".join(
        f"{order}: {'finite' if not found[order] else f'{found[order]} of {n} entries NaN'}"
        for order in found
    )


def _signed(x: float) -> str:
    return f"{x:+.2g}"


def _farthest(row: pd.Series, m: dict) -> str:
    """The parameter of an end point farthest (log10) from the shipped fit."""
    ends = {c.removeprefix(X_PREFIX): row[c] for c in row.index if c.startswith(X_PREFIX)}
    zero = {c.removeprefix("start_" + X_PREFIX): v for c, v in m["refit_start_0"].items()}
    pid = max(ends, key=lambda k: abs(ends[k] - zero[k]))
    return f"`{pid}` {_decades(ends[pid] - zero[pid], signed=True)}"


def _decades(x: float, signed: bool = False) -> str:
    number = _signed(x) if signed else f"{x:.2g}"
    return f"{number} decade" + ("" if number.lstrip("+-") == "1" else "s")


def _exit(message: str) -> str:
    """A short reason for the end of a start, from L-BFGS-B's or pyPESTO's fides message."""
    m = message.lower()
    if "iterations" in m and ("limit" in m or "maximum" in m):
        return "iteration limit"
    if "callback" in m or "maximum time" in m or "maximum allowed time" in m:
        return "time limit"
    if m.startswith("converged according to "):
        return f"converged: {m.removeprefix('converged according to ')}"
    if "convergence" in m:
        return "converged"
    if "non-finite gradient" in m:
        where = re.search(r"at (iteration \d+|initial point)", m)
        if where is None:
            return "stopped: NaN gradient"
        at = "its start point" if where.group(1) == "initial point" else where.group(1)
        return f"stopped: NaN gradient at {at}"
    if "non-finite" in m:
        return "stopped at a non-finite value"
    if "radius too small" in m:
        return "trust region too small"
    return message


def _measured_section(m: dict) -> list[str]:
    ship, rr, am = m["shipped_fit"], m["roadrunner"], m["amici"]
    v = m["versions"]
    n_est = am["estimated_parameters"]
    violated = ship["violated"]
    lines = [
        "### Numbers measured at the shipped fit",
        "",
        f"Measured by `docs/results/petab/measure.py` (`make petab-results`; "
        f"{m['date']}, commit {m['commit']}, pyPESTO {v['pypesto']}, AMICI {v['amici']}, "
        f"petab {v['petab']}, libRoadRunner {v['libroadrunner']}) on a fresh export, at the "
        "shipped fit (`models/fitted_parameters.csv`, the noise σ of "
        "`models/fitted_parameters.toml`); every number here is read from "
        "`docs/results/petab/measured.json`.",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| our objective J (½Σr², `Objective.cost`) | {_f(ship['J'])}: quantitative rows "
        f"{_f(ship['J_quantitative'])}, directions and no-changes "
        f"{_f(ship['J_directions_no_changes'])}, orderings {_f(ship['J_orderings'])}, "
        f"noise priors {_f(ship['J_noise_priors'])} |",
        f"| qualitative results violated by our objective (hinge > 0) | {len(violated)} of "
        f"{m['export']['qualitative_results']}: {_ids(violated)} |",
        f"| pyPESTO roadrunner objective on `problem_quantitative.yaml` | ½χ² = "
        f"{_f(rr['half_chi2'])} against our quantitative ½Σr² {_f(rr['ours_quantitative'])} "
        f"(relative difference {_e(rr['rel_diff'])}; residuals differ by at most "
        f"{_e(rr['max_abs_residual_diff'])}); fval = ½χ² + Σ½ln(2πσ²) = {_f(rr['fval'])} |",
        f"| AMICI import of the PEtab problem (code generation and compilation) | "
        f"{am['import_seconds']:.0f} s ({m['cores']} cores shared with another job) |",
        f"| pyPESTO + AMICI hierarchical, the {am['censored_results']} censored results "
        f"({am['censored_rows']} rows) | each result's term − ½ln(2πσ_q²) per row equals "
        f"½ (our hinge)² to {_e(am['censored_max_deviation'])} (largest: "
        f"`{am['censored_worst']}`) |",
        f"| pyPESTO + AMICI hierarchical, the {am['ordinal_results']} orderings "
        f"({am['ordinal_rows']} rows), interval constraints `max-min` | "
        f"{_e(am['ordinal_term']['max-min'])} |",
        f"| the same, pyPESTO's default interval constraints (`max`) | "
        f"{_f(am['ordinal_term']['default'])} |",
        "| gradient of the ordinal term at the shipped fit, `max-min` | "
        + _gradient_text(am["ordinal_gradient_nonfinite"]["max-min"], n_est)
        + " |",
        "| the same, default (`max`) | "
        + _gradient_text(am["ordinal_gradient_nonfinite"]["default"], n_est)
        + " |",
        "",
        f"AMICI solved at its default tolerances (relative {am['solver_tolerances'][0]:g}, "
        f"absolute {am['solver_tolerances'][1]:g}); our objective at secretome's, with the "
        "compiled backend. The gradient's finiteness is probed on a fresh problem twice: "
        "computed first, and after an objective value at the same point (pyPESTO's inner "
        "solver starts from its previous solution).",
    ]
    differs = ship["report_differs"]
    if differs:
        lines += [
            "",
            "Where secretome's report (`comparison.compare` on `simulate` at the shipped "
            "fit, its bands) and the objective (`fit.toml`'s margins) judge a qualitative "
            "result differently:",
            "",
            "| result | kind | objective | report | report's reading |",
            "|---|---|---|---|---|",
        ]
        for d in differs:
            ours = (
                "holds"
                if d["objective_holds"]
                else f"violated (largest hinge residual {d['hinge_max']:.2g})"
            )
            report = "agrees" if d["report_agrees"] else "disagrees"
            lines.append(
                f"| `{d['id']}` | {d['kind']} | {ours} | {report} | {d['report_detail']} |"
            )
    else:
        lines += ["", "The report and the objective agree on every qualitative result."]
    lines.append("")
    return lines


def _listed(values: str) -> list[str]:
    return [v for v in str(values).split(";") if v and v != "nan"]


def _gradients_text(fit: dict) -> str:
    total, bad = fit["gradients_recorded"], fit["gradients_nonfinite"]
    if not bad:
        return (
            f"Every one of the {total} gradients the refit evaluated was finite (pyPESTO's "
            "history of each start, every evaluation recorded). "
        )
    by_start = ", ".join(
        f"start {k}: {n}" for k, n in enumerate(fit["gradients_nonfinite_by_start"]) if n
    )
    return (
        f"{bad} of the {total} gradients the refit evaluated had non-finite entries "
        f"({by_start}; pyPESTO's history of each start). "
    )


def _start_gradients_text(fit: dict) -> str:
    s = fit["start_gradients_max_min"]
    nan = [str(k) for k, n in enumerate(s["nonfinite_entries"]) if n]
    finite = [str(k) for k, n in enumerate(s["nonfinite_entries"]) if not n]
    text = (
        "The max-min ordinal gradient at the start points, on a fresh problem with value "
        "and gradient in one call: "
    )
    if not nan:
        return text + "finite at every start. "
    singular = [
        n for n, b in zip(s["singular_matrix_warnings"], s["nonfinite_entries"], strict=True) if b
    ]
    return (
        text
        + (
            f"finite at start{'s' if len(finite) > 1 else ''} {', '.join(finite)}, "
            if finite
            else ""
        )
        + f"NaN at start{'s' if len(nan) > 1 else ''} {', '.join(nan)}"
        + (
            " (each time with scipy's singular-matrix warning from pyPESTO's ordinal "
            "gradient, `calculate_dxi_dtheta`). "
            if all(singular)
            else ". "
        )
    )


def _discarded_text(fit: dict, ship: dict) -> str:
    """The refit with the orderings that met non-finite gradients, if there was one."""
    d = fit.get("discarded_refit_with_orderings")
    if not d:
        return ""
    shipped = set(ship["violated"])
    ends = []
    for e in d["ends"]:
        new = [v for v in _listed(e["violated"]) if v not in shipped]
        new_orderings = [v for v in new if v in fit["ordering_ids"]]
        ends.append(
            f"start {e['start']}: fval {_f(e['fval'])}, {_exit(e['message'])}, "
            f"{e['gradients_nonfinite']} of {e['gradients_recorded']} gradients non-finite; "
            f"our J {_f(e['J'])}, ordering hinges {_f(e['J_orderings'])}, "
            + (
                f"{len(new)} qualitative results violated that the shipped fit satisfies "
                f"(orderings among them: {_ids(new_orderings)})"
                if new
                else "no qualitative result violated that the shipped fit satisfies"
            )
        )
    return (
        "The discarded refit with the orderings (interval constraints `max-min`, the same "
        f"optimizer and limits) ended at: {'; '.join(ends)}"
        + (
            " (fides stops a start at its first non-finite gradient: where it stopped, not "
            "an optimum). "
            if any("non-finite gradient" in e["message"] for e in d["ends"])
            else ". "
        )
    )


def _refit_section(m: dict, table: pd.DataFrame) -> list[str]:
    fit, ship, am = m["refit"], m["shipped_fit"], m["amici"]
    included = fit["orderings_included"]
    n_qual = m["export"]["qualitative_results"]
    orderings = fit["ordering_ids"]
    lines = [
        "### A pyPESTO refit of the export",
        "",
        f"pyPESTO {m['versions']['pypesto']} + AMICI {m['versions']['amici']}, hierarchical "
        f"objective, {fit['optimizer']}, at most {fit['maxiter']} iterations and "
        f"{fit['maxtime_per_start_s']:.0f} s a start; {fit['starts']} starts: start 0 at "
        "the exported nominal values (the shipped fit), starts 1–"
        f"{fit['starts'] - 1} drawn uniformly within the bounds on the log10 scale "
        f"(`numpy.random.default_rng({fit['seed']})`). Fitted: the "
        f"{m['export']['quantitative_rows']} quantitative rows"
        + (", the " if included else " and the ")
        + f"{am['censored_results']} censored results"
        + (
            f" and the {len(orderings)} orderings ({am['ordinal_rows']} rows, interval "
            "constraints `max-min`). "
            if included
            else f" (not the {len(orderings)} orderings). "
        )
        + "pyPESTO 0.7.0 refuses hierarchical optimisation with priors, so the noise "
        "parameters' priors enter as pyPESTO's prior objective added to the AMICI "
        f"objective. Wall time {m['seconds']['refit'] / 60:.1f} min"
        + (
            f" (and {m['seconds']['refit_with_orderings_discarded'] / 60:.1f} min for the "
            "discarded refit with the orderings)"
            if "refit_with_orderings_discarded" in m["seconds"]
            else ""
        )
        + ".",
        "",
        f"The orderings were {'fitted' if included else 'left out'} because "
        f"{fit['orderings_reason']}. "
        + (_gradients_text(fit) + _start_gradients_text(fit)).rstrip(),
        "",
        f"Each end point scored with secretome's objective (all {n_qual} qualitative "
        "results) and with pyPESTO's `max-min` ordinal term (the AMICI objective with minus "
        "without the ordinal rows, on fresh problems; `docs/results/petab/refit.csv` has "
        "the end points):",
        "",
        "| start | pyPESTO fval | evaluations (fval, grad), exit | pyPESTO's ordinal term | "
        "our J | our J: quantitative | our J: qualitative (of which orderings) | "
        "qualitative results violated (hinge > 0) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in table.sort_values("fval").itertuples(index=False):
        label = f"{r.start} (shipped fit)" if r.start == 0 else str(r.start)
        viol = _listed(r.violated)
        lines.append(
            f"| {label} | {_f(r.fval)} | {r.n_fval}, {r.n_grad}, {_exit(r.message)} | "
            f"{_e(r.pypesto_ordinal_term)} | {_f(r.J)} | {_f(r.J_quantitative)} | "
            f"{_f(r.J_qualitative)} ({_f(r.J_orderings)}) | {len(viol)}: {_ids(viol)} |"
        )
    lines.append("")
    best = table.loc[table["fval"].idxmin()]
    zero = table.loc[table["start"] == 0].iloc[0]
    text = (
        "Started at the shipped fit, pyPESTO's fval went from "
        f"{_f(zero['fval_first_evaluation'])} (first evaluation) to "
        f"{_f(zero['fval'])} ({_exit(zero['message'])}). "
    )
    if int(best["start"]) == 0:
        text += "No random start reached a lower pyPESTO objective within the limits. "
    else:
        text += (
            f"Start {int(best['start'])} reached a lower pyPESTO objective "
            f"({_f(best['fval'])}, {_e(float(zero['fval'] - best['fval']))} below start 0's), "
            f"where our J is {_f(best['J'])}. "
        )
    d_all = float(best["J"]) - ship["J"]
    d_orderings = float(best["J_orderings"]) - ship["J_orderings"]
    far = float(best["max_abs_dlog10_from_shipped_fit"])
    same_j = abs(d_all) <= 1e-3 * max(1.0, ship["J"])
    text += (
        f"pyPESTO's best end point lies up to {_decades(far)} from the shipped fit "
        f"({_farthest(best, m)}); our J there is {_f(float(best['J']))}, "
        f"{_signed(d_all)} from the shipped fit's"
        + (" (the same optimum in our objective, |ΔJ| ≤ 1e-3 relative)" if same_j else "")
        + f": {_signed(d_all - d_orderings)} on the quantitative rows, directions, "
        f"no-changes and priors and {_signed(d_orderings)} from our ordering hinges"
        + (". " if included else " (the orderings are not in this refit). ")
    )
    others = table[table["start"] != 0]
    if len(others):
        worst = others.loc[others["max_abs_dlog10_from_shipped_fit"].idxmax()]
        lo = float(others["J"].min()) - ship["J"]
        hi = float(others["J"].max()) - ship["J"]
        text += (
            f"The random starts ended {_signed(lo)} to {_signed(hi)} from the shipped fit "
            f"in our J, up to {_decades(float(worst['max_abs_dlog10_from_shipped_fit']))} "
            f"from it (start {int(worst['start'])}: {_farthest(worst, m)}). "
        )
    text += _fval_text(fit)
    lines += [text.rstrip(), "", _orderings_text(fit, ship, table), ""]
    return lines


def _fval_text(fit: dict) -> str:
    """pyPESTO's fval against our J at the end points."""
    diff = fit["fval_minus_ours"]
    spread = max(diff) - min(diff)
    off = max(abs(v - fit["expected_constant"]) for v in diff)
    constant = spread <= 1e-4 and off <= 1e-4
    if fit["orderings_included"]:
        what = "pyPESTO's fval minus our J without the orderings minus pyPESTO's ordinal term"
        then = (
            "apart from the orderings pyPESTO weighs the end points as our objective does; "
            "on the orderings the two differ (the columns above): pyPESTO's `max-min` term "
            "is zero whenever the doses are in the stated order, our hinge asks each log "
            "step to exceed the margin m_o. "
        )
    else:
        what = "pyPESTO's fval minus our J without the orderings"
        then = "pyPESTO ranks points as our objective does on the rows it fits. "
    text = (
        f"{what} is {_f(diff[0])} at start 0 and varies by {_e(spread)} over the end points "
        f"(expected: the constant {_f(fit['expected_constant'])}, the normalising terms, "
        "ln ln 10 per noise prior and ½ln(2πσ_q²) per censored row, at most "
        f"{_e(off)} away)"
    )
    if constant:
        return text + ": " + then
    return (
        text + ": not the expected constant, so pyPESTO's objective and ours (without the "
        "orderings) differ here by more than the normalising terms. "
    )


def _orderings_text(fit: dict, ship: dict, table: pd.DataFrame) -> str:
    """Whether the refit lands where our objective says qualitative results (the
    orderings above all) are violated."""
    orderings = fit["ordering_ids"]
    shipped = set(ship["violated"])
    held = [k for k in orderings if k not in shipped]
    text = (
        f"Of the {len(orderings)} orderings our objective holds {len(held)} at the shipped "
        f"fit (ordering hinges {_f(ship['J_orderings'])}; violated: "
        f"{_ids([k for k in orderings if k in shipped])}). "
    )
    extra = []
    for r in table.sort_values("start").itertuples(index=False):
        new = [v for v in _listed(r.violated) if v not in shipped]
        if new:
            n_ord = len([v for v in new if v in orderings])
            extra.append(
                f"start {r.start} violates {len(new)}"
                + (
                    f", {n_ord} of them orderings ({_ids([v for v in new if v in orderings])})"
                    if n_ord
                    else ""
                )
            )
    hinges = ", ".join(
        f"start {r.start} {_f(r.J_orderings)}" for r in table.sort_values("start").itertuples()
    )
    this = "this refit (without the orderings)" if not fit["orderings_included"] else "the refit"
    if extra:
        text += (
            f"Of the qualitative results the shipped fit satisfies in our objective, at the "
            f"end points of {this} " + "; ".join(extra) + " (the table names them all). "
        )
    else:
        text += (
            f"No end point of {this} violates a qualitative result the shipped fit "
            "satisfies in our objective. "
        )
    text += f"Our ordering hinges at the end points: {hinges}. "
    top = float(table["pypesto_ordinal_term"].max())
    if top < 1e-9:
        text += (
            f"pyPESTO's `max-min` ordinal term is at most {_e(top)} at every end point (the "
            "doses of every ordering in the stated order, for pyPESTO). "
        )
    return (text + _discarded_text(fit, ship)).rstrip()


def load_results() -> tuple[dict, pd.DataFrame]:
    measured = json.loads(MEASURED.read_text(encoding="utf-8"))
    table = pd.read_csv(REFIT, keep_default_na=False, na_values=[""])
    for column in ("violated", "violated_orderings"):
        if column in table:
            table[column] = table[column].fillna("")
    return measured, table


def results_markdown() -> str:
    """The generated part of ``docs/petab.md`` (between the markers)."""
    measured, table = load_results()
    start0 = table.loc[table["start"] == 0].iloc[0]
    measured["refit_start_0"] = {
        c: float(start0[c]) for c in table.columns if c.startswith("start_" + X_PREFIX)
    }
    lines = _measured_section(measured) + _refit_section(measured, table)
    return "\n".join(lines).rstrip() + "\n"


def write_docs() -> None:
    from secretome.io import write_between_markers

    write_between_markers(DOC, BEGIN, END, "\n" + results_markdown())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs-only", action="store_true", help="only rewrite the docs section")
    parser.add_argument("--maxiter", type=int, default=MAXITER, help="iterations per start")
    parser.add_argument("--maxtime", type=float, default=MAXTIME, help="seconds per start")
    parser.add_argument("--work", type=Path, help="work directory (default: a temporary one)")
    args = parser.parse_args(argv)
    if not args.docs_only:
        with tempfile.TemporaryDirectory(prefix="secretome-petab-") as tmp:
            work = args.work or Path(tmp)
            work.mkdir(parents=True, exist_ok=True)
            measured, table = measure(work, args.maxiter, args.maxtime)
        MEASURED.write_text(json.dumps(measured, indent=2) + "\n", encoding="utf-8")
        table.to_csv(REFIT, index=False, lineterminator="\n")
    write_docs()
    print(f"wrote the PEtab numbers of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

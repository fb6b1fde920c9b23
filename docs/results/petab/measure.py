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
   scale (:data:`SEED`); each end point scored with secretome's objective.

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
import json
import logging
import math
import os
import platform
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
#: L-BFGS-B iterations per start, and a wall-time limit per start (seconds) so that
#: the whole run stays under about 25 min on 2 shared cores.
MAXITER = 100
MAXTIME = 240.0
#: pyPESTO's option for ordinal data: intervals sized by the simulations' range
#: ("max-min"; zero term when the doses are ordered) or by their maximum (default).
MAX_MIN = {"interval_constraints": "max-min"}
#: Columns of pyPESTO's extension that mark the qualitative rows.
MEASUREMENT_TYPE = "measurementType"
CENSORED = "interval-censored"
ORDINAL = "ordinal"
#: refit.csv: the end point's estimated parameters, by PEtab id, log10 scale.
X_PREFIX = "log10:"
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


def _optimizer(maxiter: int, maxtime: float):
    """(optimizer, its description, whether fides is installed): fides with BFGS when
    installed, else pyPESTO's ScipyOptimizer with L-BFGS-B."""
    import pypesto.optimize as optimize

    try:
        import fides
    except ImportError:
        opt = optimize.ScipyOptimizer(method="L-BFGS-B", options={"maxiter": maxiter})
        name, has_fides = "pyPESTO's ScipyOptimizer with L-BFGS-B (fides is not installed)", False
    else:
        opt = optimize.FidesOptimizer(
            hessian_update=fides.BFGS(), options={"maxiter": maxiter}, verbose=logging.WARNING
        )
        name, has_fides = "fides with BFGS (pyPESTO's FidesOptimizer)", True
    if opt.supports_maxtime():
        opt.set_maxtime(maxtime)
    return opt, name, has_fides


def _refit(exported, amici_dir, objective, ids, with_orderings, maxiter, maxtime):
    import petab.v1 as petab
    import pypesto.optimize as optimize
    from pypesto.engine import SingleCoreEngine

    prob = petab.Problem.from_yaml(exported / "problem.yaml")
    lb, ub = np.asarray(prob.lb_scaled), np.asarray(prob.ub_scaled)
    free = np.asarray(prob.x_free_indices)
    nominal = np.asarray(prob.x_nominal_free_scaled)
    rng = np.random.default_rng(SEED)
    uniform = rng.uniform(lb[free], ub[free], size=(STARTS - 1, len(free)))
    guesses = np.vstack([nominal, uniform])
    problem = _refit_problem(exported, amici_dir, with_orderings, guesses)
    optimizer, name, has_fides = _optimizer(maxiter, maxtime)
    ids_ = [str(k) for k in range(STARTS)]
    start = time.perf_counter()
    with _quiet():
        result = optimize.minimize(
            problem,
            optimizer=optimizer,
            n_starts=STARTS,
            ids=ids_,
            engine=SingleCoreEngine(),
            progress_bar=False,
        )
    seconds = time.perf_counter() - start
    names = [problem.x_names[i] for i in problem.x_free_indices]
    rows = []
    for r in result.optimize_result.list:
        k = int(r.id)
        values = dict(zip(names, map(float, r.x[problem.x_free_indices]), strict=True))
        parts = _term_parts(objective, _our_point(objective, values, ids))
        rows.append(
            {
                "start": k,
                "start_point": "nominal (shipped fit)" if k == 0 else f"uniform, seed {SEED}",
                "fval0": float(r.fval0) if r.fval0 is not None else math.nan,
                "fval": float(r.fval),
                "n_fval": int(r.n_fval or 0),
                "n_grad": int(r.n_grad or 0),
                "exitflag": r.exitflag,
                "message": str(r.message).strip(),
                "seconds": float(r.time),
                "J": parts["J"],
                "J_quantitative": parts["J_quantitative"],
                "J_qualitative": parts["J_qualitative"],
                "J_orderings": parts["J_orderings"],
                "J_noise_priors": parts["J_noise_priors"],
                "violated": ";".join(parts["violated"]),
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
        "fides_installed": has_fides,
        "maxiter": maxiter,
        "maxtime_per_start_s": maxtime,
        "starts": STARTS,
        "seed": SEED,
        "orderings_included": with_orderings,
        "ordering_ids": sorted(t.id for t in objective.terms if t.kind == "ordering"),
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


def _orderings_reason(nonfinite: dict[str, int]) -> str:
    """Why the refit includes the orderings or leaves them out (the rule of :func:`measure`:
    included when the max-min gradient is finite at the shipped fit in every probe)."""
    bad = [order for order, k in nonfinite.items() if k]
    if not bad:
        return "the max-min ordinal gradient is finite at the shipped fit"
    return (
        "the max-min ordinal gradient is NaN at the shipped fit "
        + " and ".join(bad)
        + "; pyPESTO's L-BFGS-B asks for the objective value and then the gradient at each "
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

    with_orderings = not any(amici["ordinal_gradient_nonfinite"]["max-min"].values())
    table, refit = _refit(
        exported, work / "amici", objective, ids, with_orderings, maxiter, maxtime
    )
    refit["orderings_reason"] = _orderings_reason(amici["ordinal_gradient_nonfinite"]["max-min"])
    # pyPESTO's objective on the refit's rows is our J on the same rows plus a constant
    # (docs/likelihood.md; the priors' Jacobian ln ln 10 each): check it at every end point
    ours_rows = table["J"] - (0 if with_orderings else table["J_orderings"])
    refit["fval_minus_our_J"] = [float(v) for v in table["fval"] - ours_rows]
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
    return f"`{pid}` {_signed(ends[pid] - zero[pid])} decades"


def _exit(message: str) -> str:
    m = message.lower()
    if "iterations" in m and "limit" in m:
        return "iteration limit"
    if "callback" in m or "maximum time" in m:
        return "time limit"
    if "convergence" in m:
        return "converged"
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


def _refit_section(m: dict, table: pd.DataFrame) -> list[str]:
    fit, ship = m["refit"], m["shipped_fit"]
    reason = _orderings_reason(m["amici"]["ordinal_gradient_nonfinite"]["max-min"])
    n_qual = m["export"]["qualitative_results"]
    lines = [
        "### A pyPESTO refit of the export",
        "",
        f"pyPESTO {m['versions']['pypesto']} + AMICI {m['versions']['amici']}, hierarchical "
        f"objective, {fit['optimizer']}, at most {fit['maxiter']} iterations and "
        f"{fit['maxtime_per_start_s']:.0f} s a start; {fit['starts']} starts: start 0 at "
        "the exported nominal values (the shipped fit), starts 1–"
        f"{fit['starts'] - 1} drawn uniformly within the bounds on the log10 scale "
        f"(`numpy.random.default_rng({fit['seed']})`). "
        + (
            f"The orderings were fitted with interval constraints `max-min` ({reason}). "
            if fit["orderings_included"]
            else f"The orderings were left out ({reason}); the "
            f"{m['export']['quantitative_rows']} quantitative rows and the censored "
            "results were fitted. "
        )
        + "pyPESTO 0.7.0 refuses hierarchical optimisation with priors, so the noise "
        "parameters' priors enter as pyPESTO's prior objective added to the AMICI "
        f"objective. Wall time {m['seconds']['refit'] / 60:.1f} min. Each end point scored "
        f"with secretome's objective (all {n_qual} qualitative results; "
        "`docs/results/petab/refit.csv` has the end points):",
        "",
        "| start | pyPESTO fval | evaluations (fval, grad), exit | our J | our J: "
        "quantitative | our J: qualitative | qualitative results violated (hinge > 0) |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.sort_values("fval").itertuples(index=False):
        label = f"{r.start} (shipped fit)" if r.start == 0 else str(r.start)
        viol = [v for v in str(r.violated).split(";") if v and v != "nan"]
        lines.append(
            f"| {label} | {_f(r.fval)} | {r.n_fval}, {r.n_grad}, {_exit(r.message)} | "
            f"{_f(r.J)} | {_f(r.J_quantitative)} | {_f(r.J_qualitative)} | "
            f"{len(viol)}: {_ids(viol)} |"
        )
    lines.append("")
    best = table.loc[table["fval"].idxmin()]
    zero = table.loc[table["start"] == 0].iloc[0]
    text = (
        f"Started at the shipped fit, pyPESTO's fval went from {_f(zero['fval0'])} to "
        f"{_f(zero['fval'])} ({_exit(zero['message'])}). "
    )
    if int(best["start"]) == 0:
        text += "No random start reached a lower pyPESTO objective within the limits. "
    else:
        text += (
            f"Start {int(best['start'])} reached a lower pyPESTO objective "
            f"({_f(best['fval'])}), where our J is {_f(best['J'])}. "
        )
    d_all = float(best["J"]) - ship["J"]
    d_orderings = float(best["J_orderings"]) - ship["J_orderings"]
    far = float(best["max_abs_dlog10_from_shipped_fit"])
    same_j = abs(d_all) <= 1e-3 * max(1.0, ship["J"])
    text += (
        f"pyPESTO's best end point lies up to {far:.2g} decades from the shipped fit "
        f"({_farthest(best, m)}); our J there is {_f(float(best['J']))}, "
        f"{_signed(d_all)} from the shipped fit's"
        + (" (the same optimum in our objective, |ΔJ| ≤ 1e-3 relative)" if same_j else "")
    )
    if fit["orderings_included"]:
        text += ". "
    else:
        text += (
            f": {_signed(d_all - d_orderings)} on the rows the refit fits and "
            f"{_signed(d_orderings)} from the orderings it leaves out. "
        )
    others = table[table["start"] != 0]
    if len(others):
        worst = others.loc[others["max_abs_dlog10_from_shipped_fit"].idxmax()]
        text += (
            f"The random starts ended {_f(float(others['J'].min()) - ship['J'])} to "
            f"{_f(float(others['J'].max()) - ship['J'])} above the shipped fit in our J, "
            f"yet up to {float(worst['max_abs_dlog10_from_shipped_fit']):.2g} decades from "
            f"it (start {int(worst['start'])}: {_farthest(worst, m)}). "
        )
    spread = max(fit["fval_minus_our_J"]) - min(fit["fval_minus_our_J"])
    rows = "our J" if fit["orderings_included"] else "our J without the orderings"
    text += (
        f"pyPESTO's fval minus {rows} is {_f(fit['fval_minus_our_J'][0])} at start 0 and "
        f"varies by {_e(spread)} over the end points (expected: the constant "
        f"{_f(fit['expected_constant'])}, the normalising terms, ln ln 10 per noise prior "
        "and ½ln(2πσ_q²) per censored row): pyPESTO ranks points as our objective does "
        "on the rows it fits. "
    )
    shipped_viol = set(ship["violated"])
    extra = []
    for r in table.sort_values("start").itertuples(index=False):
        viol = {v for v in str(r.violated).split(";") if v and v != "nan"}
        new = viol - shipped_viol
        if new:
            orderings = len(new & set(fit.get("ordering_ids", [])))
            extra.append(
                f"start {r.start} violates {len(new)}"
                + (f" ({orderings} of them orderings)" if orderings else "")
            )
    if extra:
        text += (
            "Of the qualitative results the shipped fit satisfies, "
            + "; ".join(extra)
            + " (the table names them)"
            + ("; the orderings are not in this refit." if not fit["orderings_included"] else ".")
        )
    else:
        text += "No end point violates a qualitative result the shipped fit satisfies."
    lines += [text, ""]
    return lines


def load_results() -> tuple[dict, pd.DataFrame]:
    measured = json.loads(MEASURED.read_text(encoding="utf-8"))
    table = pd.read_csv(REFIT, keep_default_na=False, na_values=[""])
    table["violated"] = table["violated"].fillna("")
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
    text = DOC.read_text(encoding="utf-8")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    DOC.write_text(head + BEGIN + "\n" + results_markdown() + END + tail, encoding="utf-8")


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

"""Global sensitivity analysis: which parameters decide a scenario's outputs.

The stage follows SALib's contract in three small steps that can be used alone:

1. :func:`sample` — an N×D array of points in log10 parameter units
   (Saltelli/Sobol' sampling or Morris trajectories);
2. :func:`evaluate_sample` — the model at every point, in chunks of
   :data:`CHUNK_ROWS` rows run through :func:`secretome.parallel.run_tasks` (in this
   process, on a local process pool or on a Dask cluster; the chunks are put back in
   order, so every executor gives the same array);
3. :func:`analyse` — indices of one output with bootstrap confidence intervals.

:func:`sensitivity` chains them for one scenario and returns a frozen
:class:`SensitivityResult` whose ``indices`` table is tidy (:data:`INDEX_COLUMNS`).
:func:`secretome.gsa_report.write_results` writes it as ``indices.csv``,
``summary.json`` and figures.

What is analysed (``docs/sensitivity.md``): the natural log of fold-change outputs
(qPCR, western, ELISA, wound) and of viability (MTT, % of control), and the
percentage itself for Annexin V outputs. A failed simulation (integrator error, or
any non-finite or non-positive value where a log is taken) counts as failed; see
:func:`handle_failures` for what is done with it.

References
----------
Saltelli, A. et al. (2010). Variance based sensitivity analysis of model output.
Comput. Phys. Commun. 181, 259–270. https://doi.org/10.1016/j.cpc.2009.09.018

Morris, M. D. (1991). Factorial sampling plans for preliminary computational
experiments. Technometrics 33, 161–174. https://doi.org/10.1080/00401706.1991.10484804

Campolongo, F., Cariboni, J. & Saltelli, A. (2007). An effective screening design
for sensitivity analysis of large models. Environ. Model. Softw. 22, 1509–1518.
https://doi.org/10.1016/j.envsoft.2006.10.004
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from secretome import model
from secretome.comparison import measured_observables
from secretome.errors import SecretomeError
from secretome.parallel import run_tasks
from secretome.scenarios import Scenario, load_scenario
from secretome.simulation import RATIO_ASSAYS, split_key
from secretome.space import ParameterSpace, evaluate, output_index, parameter_space

METHODS = ("sobol", "morris")
#: Columns of :attr:`SensitivityResult.indices`.
INDEX_COLUMNS = ("output", "parameter", "index", "value", "ci")
#: Index names: Sobol' first, total and second order; Morris μ*, μ and σ.
SOBOL_INDICES = ("S1", "ST", "S2")
MORRIS_INDICES = ("mu_star", "mu", "sigma")
#: What each index is, in words (printouts and figure labels).
INDEX_NAMES = {
    "S1": "S1, first-order Sobol' index",
    "ST": "ST, total-order Sobol' index",
    "S2": "S2, second-order Sobol' index",
    "mu_star": "μ*, Morris mean absolute elementary effect",
    "mu": "μ, Morris mean elementary effect",
    "sigma": "σ, Morris standard deviation of the elementary effects",
}
#: Default N: Saltelli base sample size (Sobol) or number of trajectories (Morris).
DEFAULT_N = {"sobol": 128, "morris": 20}
MORRIS_LEVELS = 4
#: Rows of the sample per task sent to a worker.
CHUNK_ROWS = 64
#: An output whose share of failed evaluations exceeds this is not analysed (Sobol).
MAX_FAILED_FRACTION = 0.02
CONF_LEVEL = 0.95
#: Assays analysed on a log scale (fold changes and % of control).
LOG_ASSAYS = (*RATIO_ASSAYS, "mtt")

Seed = int | np.random.Generator
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class SensitivityResult:
    """What :func:`sensitivity` returns.

    Attributes
    ----------
    scenario : str
        Scenario name.
    method : {"sobol", "morris"}
    n : int
        Saltelli base sample size (Sobol) or number of trajectories (Morris).
    seed : int
    parameters : pandas.DataFrame
        ``key``, ``lower``, ``upper`` (log10 units) and ``centre`` (linear) of each
        varied parameter, in sample column order.
    outputs : tuple of str
        Output names, e.g. ``viable_cells@96h`` or ``mrna_CASP3@48h@0.5``.
    indices : pandas.DataFrame
        Tidy table with :data:`INDEX_COLUMNS`; ``ci`` is the half-width of the
        bootstrap confidence interval (NaN where SALib gives none).
    n_evaluations : int
        Model evaluations (points of the sample).
    n_failed : int
        Evaluations where the simulation failed for at least one output.
    failed_by_output : mapping
        Failed evaluations per output.
    skipped : mapping
        Outputs not analysed, with the reason.
    seconds : float
        Wall time of the model evaluations.
    centre_label : str
        Which parameter set held the parameters not varied (and centred the
        ranges with ``factor``), e.g. the shipped fit; ``""`` when not said.
    """

    scenario: str
    method: str
    n: int
    seed: int
    parameters: pd.DataFrame
    outputs: tuple[str, ...]
    indices: pd.DataFrame
    n_evaluations: int
    n_failed: int
    failed_by_output: Mapping[str, int] = field(default_factory=dict)
    skipped: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    centre_label: str = ""

    @property
    def main_index(self) -> str:
        """The index that ranks parameters: ``ST`` (Sobol') or ``mu_star`` (Morris)."""
        return "ST" if self.method == "sobol" else "mu_star"

    def summary(self) -> dict:
        """JSON-ready counts and settings (``summary.json``)."""
        return {
            "scenario": self.scenario,
            "method": self.method,
            "n": self.n,
            "seed": self.seed,
            "n_parameters": len(self.parameters),
            "n_outputs": len(self.outputs),
            "n_evaluations": self.n_evaluations,
            "failures": self.n_failed,
            "failed_by_output": {k: int(v) for k, v in self.failed_by_output.items() if v},
            "skipped_outputs": dict(self.skipped),
            "seconds": round(self.seconds, 2),
            "seconds_per_evaluation": round(self.seconds / max(self.n_evaluations, 1), 5),
            "parameters": self.centre_label,
            "ranked_by": INDEX_NAMES[self.main_index],
        }

    def top(self, index: str | None = None, k: int = 5) -> pd.DataFrame:
        """The ``k`` highest-ranked parameters per output for ``index`` (ST / mu_star)."""
        index = index or self.main_index
        d = self.indices[self.indices["index"] == index]
        return (
            d.sort_values(["output", "value"], ascending=[True, False])
            .groupby("output", sort=False)
            .head(k)
            .reset_index(drop=True)
        )


# --- the problem: parameters and outputs ------------------------------------------------


def choose_space(scenario: Scenario, params: str | Iterable[str] | None = None) -> ParameterSpace:
    """The parameters to vary for a scenario.

    Parameters
    ----------
    params : None, "all" or iterable of str
        ``None``: the free (``estimate``) parameters that apply to the scenario's
        cell line and MSC source. ``"all"``: every non-input row of those contexts.
        Otherwise names (all applicable contexts) or keys ``name[context]``.

    Raises
    ------
    SecretomeError
        Unknown names, model inputs, or names with no row for this scenario.
    """
    contexts = [scenario.cell_line, scenario.msc_source]
    if params is None:
        space = parameter_space(contexts=contexts)
    elif isinstance(params, str) and params == "all":
        table = model.load_model().parameters
        names = list(dict.fromkeys(table.loc[table["scope"] != "input", "name"]))
        space = parameter_space(names, contexts=contexts)
    else:
        wanted = [params] if isinstance(params, str) else list(params)
        if not wanted:
            raise SecretomeError("the parameter list is empty")
        space = parameter_space(wanted, contexts=contexts)
        found = {p.name for p in space.parameters} | set(space.keys)
        absent = [w for w in wanted if w not in found]
        if absent:
            raise SecretomeError(
                f"{', '.join(absent)} cannot affect scenario {scenario.name}: no row for its "
                f"cell line {scenario.cell_line} or MSC source {scenario.msc_source}"
            )
    space = space.relevant_to(scenario.cell_line, scenario.msc_source)
    if len(space) == 0:
        raise SecretomeError(f"no parameters to vary for scenario {scenario.name}")
    return space


def _centre_for(centre: Mapping[str, float] | None, scenario: Scenario) -> dict[str, float] | None:
    """Drop ``name[context]`` centre values of other cell lines and MSC sources.

    A fitted parameter file holds values for every context; only this scenario's
    apply (a bare name, or a key of its own cell line or MSC source). Centre values
    of parameters that are not varied hold those parameters fixed at that value.
    """
    if centre is None:
        return None
    own = (scenario.cell_line, scenario.msc_source)
    kept = {}
    for key, value in centre.items():
        context = split_key(key)[1]
        if not context or context in own:
            kept[key] = value
    return kept


def parameter_bounds(
    space: ParameterSpace,
    *,
    factor: float | None = None,
    centre: Mapping[str, float] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Lower and upper bounds (log10 units) and centre values (linear) of a space.

    Without ``factor``: the table's bounds. With ``factor`` (> 1): centre / factor to
    centre × factor, where the centre is ``centre[key]`` or ``centre[name]`` if given
    (e.g. fitted values) and the nominal value otherwise. Not clipped to the table's
    bounds; points outside them may fail to integrate (and are counted).
    """
    centre = dict(centre or {})
    keys = set(space.keys) | {p.name for p in space.parameters}
    unknown = sorted(set(centre) - keys)
    if unknown:
        raise SecretomeError(f"centre values for parameters not varied: {', '.join(unknown)}")
    values = []
    for p in space.parameters:
        v = float(centre.get(p.key, centre.get(p.name, p.nominal)))
        if not (math.isfinite(v) and v > 0):
            raise SecretomeError(f"centre value of {p.key} must be a positive number, not {v}")
        values.append(v)
    mid = np.asarray(values)
    if factor is None:
        return space.lower, space.upper, mid
    if not (math.isfinite(factor) and factor > 1):
        raise SecretomeError(f"factor must be a number above 1, not {factor}")
    half = math.log10(factor)
    return np.log10(mid) - half, np.log10(mid) + half, mid


def salib_problem(keys: Sequence[str], lower: np.ndarray, upper: np.ndarray) -> dict:
    """SALib's problem dictionary for parameters varied between ``lower`` and ``upper``."""
    return {
        "num_vars": len(keys),
        "names": list(keys),
        "bounds": [[float(lo), float(hi)] for lo, hi in zip(lower, upper, strict=True)],
    }


def output_label(observable: str, time_h: float, dose: float | None = None) -> str:
    """``viable_cells@96h``; with ``dose`` (several doses): ``mrna_CASP3@48h@0.5``."""
    label = f"{observable}@{time_h:g}h"
    return label if dose is None else f"{label}@{dose:g}"


def choose_outputs(scenario: Scenario, outputs: Iterable[str] | None = None) -> pd.DataFrame:
    """The outputs to analyse: :func:`secretome.space.output_index` plus ``label``, ``assay``.

    ``outputs`` holds observable names (every sampling time and dose) or labels like
    ``viable_cells@96h``. Default: :func:`secretome.comparison.measured_observables`.
    """
    spec = model.load_model()
    observables = {o.name: o for o in spec.observables}
    several = len(scenario.doses) > 1
    if outputs is None:
        index = output_index(scenario, measured_observables(scenario))
    else:
        wanted = list(dict.fromkeys(outputs))
        if not wanted:
            raise SecretomeError("the output list is empty")
        full = output_index(scenario, [n for n in observables])
        full["label"] = _labels(full, several)
        unknown = [w for w in wanted if w not in observables and w not in set(full["label"])]
        if unknown:
            example = full["label"].iloc[0]
            raise SecretomeError(
                f"unknown output(s) {', '.join(unknown)}; give observable names "
                f"({', '.join(observables)}) or labels like {example}"
            )
        keep = [
            i for w in wanted for i in full.index[(full["observable"] == w) | (full["label"] == w)]
        ]
        index = full.loc[list(dict.fromkeys(keep))].drop(columns="label").reset_index(drop=True)
    index = index.copy()
    index["label"] = _labels(index, several)
    index["assay"] = [observables[n].assay for n in index["observable"]]
    return index


def _labels(index: pd.DataFrame, several_doses: bool) -> list[str]:
    return [
        output_label(o, t, d if several_doses else None)
        for o, t, d in index[["observable", "time_h", "dose"]].itertuples(index=False)
    ]


# --- sampling, evaluation, analysis -----------------------------------------------------


def _seed_int(seed: Seed) -> int:
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31 - 1))
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SecretomeError(f"seed must be a non-negative integer, not {seed!r}")
    return int(seed)


def check_n(method: str, n: int) -> int:
    """Validate N: a power of two (≥ 2) for Sobol, at least 2 trajectories for Morris."""
    if method not in METHODS:
        raise SecretomeError(f"unknown method {method!r}; choose {' or '.join(METHODS)}")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2:
        raise SecretomeError(f"n must be an integer of at least 2, not {n!r}")
    n = int(n)
    if method == "sobol" and n & (n - 1):
        lo = 1 << (n.bit_length() - 1)
        raise SecretomeError(
            f"n = {n} is not a power of two; Sobol' (Saltelli) sampling needs one "
            f"(try {lo} or {2 * lo})"
        )
    return n


def sample(
    problem: dict, method: str, n: int, *, seed: Seed = 0, second_order: bool = False
) -> np.ndarray:
    """Points to evaluate, one per row (SALib's samplers).

    Sobol: Saltelli's extension of a scrambled Sobol' sequence, N·(D+2) rows, or
    N·(2D+2) with ``second_order``. Morris: N trajectories of D+1 rows on a
    4-level grid.
    """
    from SALib.sample import morris as morris_sample
    from SALib.sample import sobol as sobol_sample

    n = check_n(method, n)
    rng = np.random.default_rng(_seed_int(seed))
    if method == "sobol":
        return sobol_sample.sample(problem, n, calc_second_order=second_order, seed=rng)
    return morris_sample.sample(problem, n, num_levels=MORRIS_LEVELS, seed=rng)


def _evaluate_chunk(task: tuple) -> np.ndarray:
    """Worker: evaluate one chunk of the sample (module level so it pickles)."""
    space, scenario, X, outputs, fixed = task
    return evaluate(space, scenario, X, outputs, fixed)


def evaluate_sample(
    space: ParameterSpace,
    scenario: Scenario,
    X: np.ndarray,
    outputs: pd.DataFrame,
    *,
    workers: int | None = 1,
    scheduler=None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
    fixed: Mapping[str, float] | None = None,
) -> np.ndarray:
    """The model at every row of ``X`` (log10 units): an N×K array, NaN rows for failures.

    ``fixed`` holds values for parameters that are not varied (e.g. fitted values).

    Chunks run through :func:`secretome.parallel.run_tasks` and are reassembled in
    submission order, so the result does not depend on the executor.
    ``progress(done, total)`` is called after each chunk with evaluation counts.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    cols = outputs[["observable", "time_h", "dose"]]
    starts = range(0, len(X), chunk_rows)
    tasks = [(space, scenario, X[s : s + chunk_rows], cols, dict(fixed or {})) for s in starts]
    pieces: dict[int, np.ndarray] = {}
    done = 0
    for i, Y in run_tasks(_evaluate_chunk, tasks, workers=workers, scheduler=scheduler):
        pieces[i] = Y
        done += len(Y)
        if progress is not None:
            progress(done, len(X))
    if not pieces:
        return np.empty((0, len(cols)))
    return np.vstack([pieces[i] for i in range(len(tasks))])


def analysed_values(Y: np.ndarray, assays: Sequence[str]) -> np.ndarray:
    """The quantity analysed per output column: log of ratios and % of control, else as is.

    Non-finite results (failed runs, log of a non-positive value) become NaN.
    """
    Y = np.array(Y, dtype=float, copy=True)
    log = np.array([a in LOG_ASSAYS for a in assays], dtype=bool)
    with np.errstate(divide="ignore", invalid="ignore"):
        Y[:, log] = np.log(Y[:, log])
    Y[~np.isfinite(Y)] = np.nan
    return Y


def count_failures(Y: np.ndarray) -> tuple[int, np.ndarray]:
    """Failed evaluations: rows with any non-finite value, and the count per column."""
    bad = ~np.isfinite(np.atleast_2d(np.asarray(Y, dtype=float)))
    return int(bad.any(axis=1).sum()), bad.sum(axis=0)


def handle_failures(
    method: str, X: np.ndarray, y: np.ndarray, n_vars: int
) -> tuple[np.ndarray, np.ndarray, str | None]:
    """Make one output column analysable despite failed evaluations, or say why not.

    Morris: trajectories holding a failed point are dropped whole (each trajectory
    is a self-contained set of elementary effects, so the rest stay valid); at least
    two trajectories must remain. Sobol: rows cannot be dropped without breaking
    Saltelli's A/B/AB structure, so if at most :data:`MAX_FAILED_FRACTION` of the
    evaluations failed they are replaced by the mean of the successful ones (a
    failed point then adds no variance; with few failures the bias is small), and
    otherwise the output is not analysed.

    Returns
    -------
    X, y, reason
        ``reason`` is None when the output can be analysed.
    """
    bad = ~np.isfinite(y)
    if not bad.any():
        return X, y, None
    if bad.all():
        return X, y, "every evaluation failed"
    if method == "morris":
        per = n_vars + 1
        ok = ~bad.reshape(-1, per).any(axis=1)
        if ok.sum() < 2:
            return X, y, f"{int((~ok).sum())} of {len(ok)} trajectories hold a failed run"
        keep = np.repeat(ok, per)
        return X[keep], y[keep], None
    fraction = bad.mean()
    if fraction > MAX_FAILED_FRACTION:
        return (
            X,
            y,
            (
                f"{int(bad.sum())} of {len(y)} evaluations failed ({100 * fraction:.1f}% > "
                f"{100 * MAX_FAILED_FRACTION:g}%)"
            ),
        )
    y = y.copy()
    y[bad] = y[~bad].mean()
    return X, y, None


def analyse(
    problem: dict,
    method: str,
    X: np.ndarray,
    y: np.ndarray,
    *,
    seed: Seed = 0,
    second_order: bool = False,
    output: str = "y",
) -> pd.DataFrame:
    """Indices of one output (SALib's analysers), as tidy rows of :data:`INDEX_COLUMNS`.

    Sobol: ``S1``, ``ST`` (and ``S2`` per pair ``a:b`` with ``second_order``) with
    bootstrap confidence intervals (Saltelli 2010; Jansen's total-order estimator).
    Morris: ``mu_star`` with a bootstrap interval, ``mu`` and ``sigma`` (no interval).
    ``y`` must be complete (see :func:`handle_failures`).
    """
    from SALib.analyze import morris as morris_analyze
    from SALib.analyze import sobol as sobol_analyze

    y = np.asarray(y, dtype=float)
    if not np.isfinite(y).all():
        raise ValueError("y holds non-finite values; pass it through handle_failures first")
    names = problem["names"]
    # a fresh generator per output: the bootstrap does not depend on the order of outputs
    # (and SALib's Sobol analyser ignores an integer seed of 0, but not a Generator)
    rng = np.random.default_rng(_seed_int(seed))
    rows: list[tuple] = []
    if method == "sobol":
        if np.ptp(y) == 0:
            return _constant_rows(output, names, ("S1", "ST"))
        res = sobol_analyze.analyze(
            problem, y, calc_second_order=second_order, conf_level=CONF_LEVEL, seed=rng
        )
        for idx in ("S1", "ST"):
            for name, v, c in zip(names, res[idx], res[f"{idx}_conf"], strict=True):
                rows.append((output, name, idx, float(v), float(c)))
        if second_order:
            for i, a in enumerate(names):
                for j in range(i + 1, len(names)):
                    rows.append(
                        (output, f"{a}:{names[j]}", "S2", res["S2"][i, j], res["S2_conf"][i, j])
                    )
    elif method == "morris":
        if np.ptp(y) == 0:
            return _constant_rows(output, names, MORRIS_INDICES)
        res = morris_analyze.analyze(
            problem, X, y, conf_level=CONF_LEVEL, num_levels=MORRIS_LEVELS, seed=rng
        )
        for k, name in enumerate(names):
            rows.append((output, name, "mu_star", res["mu_star"][k], res["mu_star_conf"][k]))
            rows.append((output, name, "mu", res["mu"][k], np.nan))
            rows.append((output, name, "sigma", res["sigma"][k], np.nan))
    else:
        raise SecretomeError(f"unknown method {method!r}; choose {' or '.join(METHODS)}")
    table = pd.DataFrame(rows, columns=list(INDEX_COLUMNS))
    table[["value", "ci"]] = table[["value", "ci"]].astype(float)
    return table


def _constant_rows(output: str, names: Sequence[str], indices: Sequence[str]) -> pd.DataFrame:
    """A constant output depends on no parameter: every index is exactly 0."""
    rows = [(output, n, i, 0.0, 0.0) for i in indices for n in names]
    return pd.DataFrame(rows, columns=list(INDEX_COLUMNS))


# --- the verb ---------------------------------------------------------------------------


def sensitivity(
    scenario: Scenario | str,
    *,
    method: str = "sobol",
    n: int | None = None,
    params: str | Iterable[str] | None = None,
    outputs: Iterable[str] | None = None,
    second_order: bool = False,
    factor: float | None = None,
    centre: Mapping[str, float] | None = None,
    workers: int | None = 1,
    scheduler=None,
    seed: Seed = 0,
    progress: Progress | None = None,
    centre_label: str = "",
) -> SensitivityResult:
    """Global sensitivity of a scenario's outputs to the model parameters.

    Parameters
    ----------
    scenario : Scenario or str
        A scenario or the name / path of one (:func:`secretome.scenarios.load_scenario`).
    method : {"sobol", "morris"}
        Sobol' indices with Saltelli sampling, or Morris elementary effects (screening).
    n : int, optional
        Saltelli base sample size, a power of two (Sobol; N·(D+2) evaluations, or
        N·(2D+2) with ``second_order``), or number of trajectories (Morris; N·(D+1)
        evaluations). Default :data:`DEFAULT_N`.
    params : None, "all" or iterable of str
        See :func:`choose_space`.
    outputs : iterable of str, optional
        See :func:`choose_outputs`.
    second_order : bool
        Also estimate second-order Sobol' indices.
    factor, centre
        Vary each parameter between centre / factor and centre × factor instead of
        within the table's bounds (:func:`parameter_bounds`).
    workers : int or None
        Local worker processes (1: this process; None: every core).
    scheduler : str or dask.distributed.Client, optional
        A Dask scheduler address (or client); overrides ``workers``.
    seed : int or numpy.random.Generator
        Seeds the sampler and the bootstrap; the same seed gives the same indices.
    progress : callable, optional
        ``progress(done, total)`` after each chunk of evaluations.
    centre_label : str
        Which parameter set ``centre`` is (e.g. ``"shipped fit"``), kept in the result
        and its ``summary.json``.

    Returns
    -------
    SensitivityResult
    """
    if isinstance(scenario, str):
        scenario = load_scenario(scenario)
    n = check_n(method, DEFAULT_N.get(method, 0) if n is None else n)
    seed = _seed_int(seed)
    space = choose_space(scenario, params)
    out = choose_outputs(scenario, outputs)
    centre = _centre_for(centre, scenario)
    varied = set(space.keys) | {p.name for p in space.parameters}
    fixed = {k: v for k, v in (centre or {}).items() if k not in varied}
    centre = {k: v for k, v in (centre or {}).items() if k in varied} if centre else None
    lower, upper, mid = parameter_bounds(space, factor=factor, centre=centre)
    problem = salib_problem(space.keys, lower, upper)
    X = sample(problem, method, n, seed=seed, second_order=second_order)

    t0 = time.perf_counter()
    raw = evaluate_sample(
        space,
        scenario,
        X,
        out,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
        fixed=fixed,
    )
    seconds = time.perf_counter() - t0
    Y = analysed_values(raw, list(out["assay"]))
    n_failed, per_output = count_failures(Y)

    tables, skipped = [], {}
    for k, label in enumerate(out["label"]):
        Xk, yk, reason = handle_failures(method, X, Y[:, k], len(space))
        if reason is not None:
            skipped[label] = reason
            continue
        tables.append(
            analyse(problem, method, Xk, yk, seed=seed, second_order=second_order, output=label)
        )
    indices = (
        pd.concat(tables, ignore_index=True)
        if tables
        else pd.DataFrame(columns=list(INDEX_COLUMNS))
    )
    parameters = pd.DataFrame({"key": space.keys, "lower": lower, "upper": upper, "centre": mid})
    return SensitivityResult(
        scenario=scenario.name,
        method=method,
        n=n,
        seed=seed,
        parameters=parameters,
        outputs=tuple(out["label"]),
        indices=indices,
        n_evaluations=len(X),
        n_failed=n_failed,
        failed_by_output=dict(zip(out["label"], per_output.tolist(), strict=True)),
        skipped=skipped,
        seconds=seconds,
        centre_label=centre_label,
    )


def convergence(
    first: SensitivityResult, second: SensitivityResult, *, k: int = 5
) -> pd.DataFrame:
    """How the top-ranked indices moved from one run to one at larger N.

    For each output, the ``k`` parameters ranked highest (ST for Sobol, μ* for Morris)
    in either run, with value, CI and rank at both N and the change.
    """
    index = "ST" if first.method == "sobol" else "mu_star"
    cols = ["output", "parameter", "value", "ci"]
    a = first.indices.loc[first.indices["index"] == index, cols].copy()
    b = second.indices.loc[second.indices["index"] == index, cols].copy()
    for d in (a, b):
        d["rank"] = d.groupby("output")["value"].rank(ascending=False, method="min")
    m = a.merge(b, on=["output", "parameter"], suffixes=(f"_n{first.n}", f"_n{second.n}"))
    m = m[(m[f"rank_n{first.n}"] <= k) | (m[f"rank_n{second.n}"] <= k)].copy()
    m.insert(2, "index", index)
    m["change"] = m[f"value_n{second.n}"] - m[f"value_n{first.n}"]
    m["within_ci"] = m["change"].abs() <= m[f"ci_n{second.n}"].fillna(0) + m[
        f"ci_n{first.n}"
    ].fillna(0)
    return m.sort_values(["output", f"rank_n{second.n}"]).reset_index(drop=True)

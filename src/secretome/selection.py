"""Model selection: fit every variant, rank them, and find the measurement that separates them.

:func:`select` takes a set of :class:`~secretome.variants.Variant` (competing
hypotheses, ``models/variants/*.toml``) and

1. fits each to the evidence from several starting points, with the objective
   and optimiser of ``secretome fit`` (:class:`~secretome.objective.Objective`,
   ``scipy.optimize.least_squares`` with the settings of :mod:`secretome.fitting`)
   and the variant's fixed values; every start's result is written to
   ``OUT/fits/<variant>/starts/start_NNNN.json`` the moment it finishes, in the
   format of ``secretome fit``, so a stopped selection resumes (``resume=True``)
   without refitting what it finished;
2. ranks them by AICc and BIC (:func:`information_criteria`) from the maximised
   log-likelihood and the number of estimated parameters, and by the
   leave-one-study-out predictive log-likelihood: each study is predicted by a fit
   of the variant to the other studies (``OUT/loso/<variant>/<study>/``);
3. judges every evidence row at each variant's best point with the agreement
   rules of :mod:`secretome.comparison` (which rows each variant gets right);
4. :func:`discriminating_measurements`: for the two best variants, every readout
   of every shipped scenario (and of the scenario with IL-2 or IL-4 neutralised),
   how far apart their predictions are relative to the assay's noise and to the
   spread of each variant's near-optimal fits.

The log-likelihood is the objective's, :meth:`Objective.neg_log_likelihood`
(``docs/likelihood.md``): Gaussian in each quantitative residual, a soft censoring
term per qualitative one, and the log-normal priors of the estimated noise
parameters (so, strictly, a penalised likelihood; the penalty is the same prior
in every variant). ``k`` counts every estimated parameter, the noise parameters
``sigma_*`` included; ``n`` is the number of data residuals (a dose ordering
over k doses gives k − 1; the noise priors' residuals are not data).

Leave-one-study-out refits start from the variant's full-data best point, with
every parameter that only the left-out study's cell lines or MSC sources use
reset to its table value (so those are predicted, not remembered); the shared
parameters start where all the data put them, so the score is optimistic in the
same way for every variant. ``loso_starts`` adds Latin hypercube starts.
``loso_from`` repeats the refits from the variant's next-best near-optimal end
points: equally good fits lie along flat valleys, and the held-out score depends
on where in its valley the origin lies; the spread over origins says how much.
"""

from __future__ import annotations

import hashlib
import json
import math
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import chi2

from secretome import comparison, data, fitting, model, scenarios
from secretome.errors import SecretomeError
from secretome.fitting import FitResult, StartResult, _collect, starting_points
from secretome.io import atomic_write, check_output_dir
from secretome.objective import FitConfig, Objective, load_fit_config
from secretome.parallel import check_executor, run_tasks
from secretome.simulation import SimulationFailed, simulate
from secretome.variants import Variant

#: A start is near-optimal when its cost is within this of the best (½ χ²₁(0.95)).
NEAR_OPTIMAL = float(chi2.ppf(0.95, df=1) / 2.0)
#: σ of a cell-cycle fraction (percentage points); no paper measured one, so the
#: Annexin value of ``experiments/fit.toml`` is used (assumed: both are flow
#: cytometry fractions of all cells).
CELL_CYCLE_SIGMA_ASSAY = "annexin"
#: Perturbations tried on every shipped scenario by :func:`discriminating_measurements`.
PERTURBATIONS: dict[str, tuple[str, ...]] = {
    "none": (),
    "neutralise IL-2": ("IL2",),
    "neutralise IL-4": ("IL4",),
}


def information_criteria(nll: float, k: int, n: int) -> dict[str, float]:
    """AIC, AICc and BIC from a maximised log-likelihood.

    Parameters
    ----------
    nll : float
        The minimised negative log-likelihood, −ln L̂.
    k : int
        Estimated parameters (noise parameters included when they are estimated).
    n : int
        Data points.

    Returns
    -------
    dict
        ``AIC = 2k + 2 nll``; ``AICc = AIC + 2k(k + 1)/(n − k − 1)`` (infinite
        when ``n − k − 1 <= 0``: the correction is undefined, and a model with as
        many parameters as data is not supported); ``BIC = k ln n + 2 nll``
        (Burnham & Anderson 2002, Model Selection and Multimodel Inference, ch. 2;
        Schwarz 1978, doi:10.1214/aos/1176344136).
    """
    if k < 0 or n < 1:
        raise ValueError(f"need k >= 0 and n >= 1, not k={k}, n={n}")
    aic = 2.0 * k + 2.0 * nll
    aicc = aic + 2.0 * k * (k + 1) / (n - k - 1) if n - k - 1 > 0 else math.inf
    return {"AIC": aic, "AICc": aicc, "BIC": k * math.log(n) + 2.0 * nll}


def neg_log_likelihood(objective: Objective, x: Sequence[float]) -> float:
    """The objective's negative log-likelihood at ``x`` (see the module docstring)."""
    return float(objective.neg_log_likelihood(np.asarray(x, dtype=float)))


def n_data(objective: Objective) -> int:
    """Data points of an objective: its residuals less the noise priors' ones."""
    return objective.n_residuals - len(objective.config.noise)


@dataclass(frozen=True)
class _Problem:
    """What one fit solves: a configuration, its fixed values, the evidence used."""

    config: FitConfig
    fixed: tuple[tuple[str, float], ...]
    studies: tuple[str, ...] | None = None
    evidence: pd.DataFrame | None = field(default=None, compare=False)

    def objective(self, studies: Iterable[str] | None = None) -> Objective:
        return Objective(
            self.config,
            list(studies) if studies is not None else self.studies,
            evidence=self.evidence,
            fixed=dict(self.fixed),
        )

    def digest(self, x0: np.ndarray | None = None) -> str:
        """A hash of the problem (and of one starting point): what a start file must match."""
        ev = "" if self.evidence is None else self.evidence.to_csv(index=False)
        payload = json.dumps(
            {
                "config": asdict(self.config) | {"source": ""},
                "fixed": [list(f) for f in self.fixed],
                "studies": self.studies,
                "evidence": hashlib.sha256(ev.encode()).hexdigest(),
                "x0": None if x0 is None else np.asarray(x0).round(12).tolist(),
            },
            sort_keys=True,
        )
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


def run_variant_start(task: tuple[_Problem, int, np.ndarray]) -> StartResult:
    """Optimise one start of one problem (module-level so that workers can run it).

    The same optimiser and settings as :func:`secretome.fitting.run_start`, with
    the variant's fixed values in the objective.
    """
    problem, index, x0 = task
    return fitting.optimise_start(problem.objective(), index, x0, problem.config.max_nfev)


@dataclass(frozen=True)
class _Unit:
    """One multi-start fit and the directory its starts go to."""

    label: str
    problem: _Problem
    x0s: np.ndarray
    out: Path

    def start_path(self, i: int) -> Path:
        return self.out / "starts" / f"start_{i:04d}.json"


def _load_done(unit: _Unit) -> dict[int, StartResult]:
    """The starts of ``unit`` already on disk; each must belong to this problem and x0."""
    done = {}
    for i in range(len(unit.x0s)):
        path = unit.start_path(i)
        if not path.is_file():
            continue
        doc = json.loads(path.read_text())
        if doc.get("problem") != unit.problem.digest(unit.x0s[i]):
            raise SecretomeError(
                f"{path} belongs to a different fit of {unit.label} (variant file, "
                "configuration, evidence or starting point changed); use another --out "
                "or remove it"
            )
        doc.pop("problem")
        done[i] = StartResult(**{**doc, "x0": tuple(doc["x0"]), "x": tuple(doc["x"])})
    return done


def _fit_units(
    units: list[_Unit],
    *,
    resume: bool,
    workers: int | None,
    scheduler: str | None,
    progress: Callable[[str, int, int], None] | None,
    phase: str,
) -> tuple[dict[str, FitResult], int]:
    """Run every unit's missing starts as one batch of tasks; (results, starts run)."""
    done: dict[str, dict[int, StartResult]] = {}
    for u in units:
        done[u.label] = _load_done(u)
        if done[u.label] and not resume:
            raise SecretomeError(
                f"{u.out} already holds {len(done[u.label])} finished start(s); pass "
                "--resume to continue the selection, or choose another --out"
            )
    for u in units:
        atomic_write(
            u.out / "problem.json",
            json.dumps(
                {
                    "problem": u.problem.digest(),
                    "label": u.label,
                    "config": asdict(u.problem.config),
                    "fixed": dict(u.problem.fixed),
                    "studies": u.problem.studies,
                    "starts": len(u.x0s),
                    "parameters": list(u.problem.config.parameters),
                },
                indent=2,
            ),
        )
    todo = [(u, i) for u in units for i in range(len(u.x0s)) if i not in done[u.label]]
    total = sum(len(u.x0s) for u in units)
    finished = total - len(todo)
    if progress:
        progress(phase, finished, total)
    tasks = [(u.problem, i, u.x0s[i]) for u, i in todo]
    for k, result in run_tasks(run_variant_start, tasks, workers=workers, scheduler=scheduler):
        unit = todo[k][0]
        done[unit.label][result.index] = result
        doc = asdict(result) | {"problem": unit.problem.digest(unit.x0s[result.index])}
        atomic_write(unit.start_path(result.index), json.dumps(doc, indent=1))
        finished += 1
        if progress:
            progress(phase, finished, total)
    out = {}
    for u in units:
        space = u.problem.objective().space
        results = [done[u.label][i] for i in range(len(u.x0s))]
        out[u.label] = _collect(space, results, u.out)
    return out, len(todo)


def _contexts(objective: Objective) -> set[str]:
    return {c for s in objective.scenarios.values() for c in (s.cell_line, s.msc_source)}


def _near_optimal_points(fit: FitResult, most: int) -> list[np.ndarray]:
    """The best end point of ``fit``, then its next-best near-optimal ones (cost within
    :data:`NEAR_OPTIMAL` of the best), at most ``most`` in all (``fit.starts`` is
    ordered by cost, its first row the best point)."""
    starts = fit.starts
    near = starts[starts["cost"] <= starts["cost"].min() + NEAR_OPTIMAL].head(most)
    keys = [f"x:{k}" for k in fit.space.keys]
    return [row.to_numpy(dtype=float) for _, row in near[keys].iterrows()]


def _loso_start(space, best_x: np.ndarray, train_contexts: set[str]) -> np.ndarray:
    """The full-data best point with held-out-only parameters back at the table value."""
    x = np.array(best_x, dtype=float)
    for i, p in enumerate(space.parameters):
        if p.context and p.context not in train_contexts:
            x[i] = math.log10(p.nominal)
    return np.clip(x, space.lower, space.upper)


@dataclass(frozen=True)
class SelectionResult:
    """What :func:`select` returns.

    Attributes
    ----------
    ranking : pandas.DataFrame
        One row per variant, best AICc first: ``variant``, ``hypothesis``,
        ``changes``, ``k`` (estimated parameters), ``n`` (data points), ``nll``,
        ``AIC``, ``AICc``, ``BIC``, ``dAICc``, ``dBIC`` (differences from the best),
        ``loso_nll`` (summed over the left-out studies; NaN without LOSO),
        ``dLOSO``, ``loso_nll:<study>``, ranks ``rank_AICc``, ``rank_BIC``,
        ``rank_LOSO``, the agreement counts (``agree``, ``disagree``, counted rows
        only), ``near_optimal_starts``, ``starts``, ``fit_seconds`` (sum over
        starts) and ``loso_seconds``.
    loso : pandas.DataFrame
        One row per (variant, left-out study): ``nll`` of the left-out study's
        evidence at the training fit's best point, ``train_cost``, ``seconds``.
    agreement : pandas.DataFrame
        The comparison table (:data:`secretome.comparison.COMPARISON_COLUMNS`) of
        every variant's best point, with a ``variant`` column.
    fits : dict
        Variant name -> :class:`~secretome.fitting.FitResult` of the full data.
    variants : list of Variant
    config : FitConfig
        The base configuration.
    starts_run : int
        Optimisation starts actually run (not read back from ``out``).
    seconds : float
        Wall time of the call.
    settings : dict
        starts, loso_starts, seed, max_nfev, workers, scheduler.
    """

    ranking: pd.DataFrame
    loso: pd.DataFrame
    agreement: pd.DataFrame
    fits: dict[str, FitResult]
    variants: list[Variant]
    config: FitConfig
    starts_run: int
    seconds: float
    settings: dict

    @property
    def best(self) -> str:
        """The variant with the lowest AICc."""
        return str(self.ranking["variant"].iloc[0])

    def problem(self, name: str, evidence: pd.DataFrame | None = None) -> _Problem:
        """The fit problem of one variant (its configuration and fixed values)."""
        v = next(v for v in self.variants if v.name == name)
        return _Problem(v.fit_config(self.config), v.fix, None, evidence)


def select(
    variants: Sequence[Variant],
    config: FitConfig | None = None,
    *,
    starts: int = 8,
    loso_starts: int = 1,
    loso_max_nfev: int | None = 20,
    loso_from: int = 1,
    loso: bool = True,
    seed: int = 0,
    max_nfev: int | None = None,
    evidence: pd.DataFrame | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[str, int, int], None] | None = None,
) -> SelectionResult:
    """Fit every variant, rank them by AICc, BIC and leave-one-study-out prediction.

    Parameters
    ----------
    variants : sequence of Variant
        The hypotheses (:func:`secretome.variants.load_variants`); names must differ.
    config : FitConfig, optional
        The base calibration the variants change; default ``experiments/fit.toml``.
    starts : int
        Starting points per variant (start 0 is the table's nominal point).
    loso_starts : int
        Starts per leave-one-study-out refit (the first from the full-data best
        point, see the module docstring).
    loso_max_nfev : int, optional
        Iterations per leave-one-study-out start (default 20: the first start is
        already near an optimum; ``None``: the configuration's).
    loso_from : int
        Refit each held-out study from this many of the variant's full-data end
        points, the best and then its next-best near-optimal starts (cost within
        :data:`NEAR_OPTIMAL` of the best, fewer if it has fewer). The score is the
        one from the best; the others give its spread over equally good fits
        (``loso_nll_min``, ``loso_nll_max`` of the ranking).
    loso : bool
        Rank by leave-one-study-out prediction too (needs at least two studies).
    seed : int
        Seed of the Latin hypercube starts.
    max_nfev : int, optional
        Iterations per start (default: the configuration's).
    evidence : DataFrame, optional
        Default: the shipped evidence base (rows with ``fit`` true are used).
    workers, scheduler
        Where the starts run (:func:`secretome.parallel.run_tasks`).
    out : path, optional
        Directory for every start's result; required for ``resume``. Default: a
        new temporary directory (kept; its path is ``settings["out"]``).
    resume : bool
        Read back starts already in ``out`` (same problem) instead of refitting.
    progress : callable, optional
        ``progress(phase, done, total)`` as starts finish; phase ``"fit"`` or ``"loso"``.

    Returns
    -------
    SelectionResult

    Raises
    ------
    SecretomeError
        Before any work: bad settings, duplicate variant names, ``out`` holding a
        different selection, or ``resume`` without ``out``.
    """
    t0 = time.perf_counter()
    config = config or load_fit_config()
    for what, value in (
        ("starts", starts),
        ("loso_starts", loso_starts),
        ("max_nfev", max_nfev),
        ("loso_max_nfev", loso_max_nfev),
        ("loso_from", loso_from),
    ):
        bad = isinstance(value, bool) or not isinstance(value, int) or value < 1
        if value is not None and bad:
            raise SecretomeError(f"{what} must be a whole number of at least 1, not {value!r}")
    if max_nfev is not None:
        config = replace(config, max_nfev=max_nfev)
    variants = list(variants)
    if not variants:
        raise SecretomeError("no variants to select from")
    names = [v.name for v in variants]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise SecretomeError(f"two variants share the name(s) {', '.join(twice)}")
    loso_config = config if loso_max_nfev is None else replace(config, max_nfev=loso_max_nfev)
    if resume and out is None:
        raise SecretomeError("--resume needs --out (where the finished starts are)")
    check_executor(workers, scheduler)
    root = check_output_dir(out, "--out") if out is not None else None
    if root is None:
        root = Path(tempfile.mkdtemp(prefix="secretome-select-"))

    problems = {v.name: _Problem(v.fit_config(config), v.fix, None, evidence) for v in variants}
    objectives = {name: p.objective() for name, p in problems.items()}  # checks names now
    units = [
        _Unit(
            v.name,
            problems[v.name],
            starting_points(objectives[v.name].space, starts, seed),
            root / "fits" / v.name,
        )
        for v in variants
    ]
    common = {"resume": resume, "workers": workers, "scheduler": scheduler, "progress": progress}
    fits, run = _fit_units(units, phase="fit", **common)

    ev = objectives[names[0]].evidence
    studies = sorted(ev["study"].unique())
    loso_rows = []
    if loso and len(studies) > 1:
        loso_units = []
        for v in variants:
            full = fits[v.name]
            origins = _near_optimal_points(full, loso_from)
            for held in studies:
                train = tuple(s for s in studies if s != held)
                p = _Problem(v.fit_config(loso_config), v.fix, train, evidence)
                obj = p.objective()
                for j, origin in enumerate(origins):
                    x0 = _loso_start(obj.space, origin, _contexts(obj))
                    if j == 0:  # from the best: the score, with any extra Latin hypercube starts
                        x0s = np.vstack([x0, starting_points(obj.space, loso_starts, seed)[1:]])
                        unit = _Unit(f"{v.name}/{held}/0", p, x0s, root / "loso" / v.name / held)
                    else:  # from the j-th near-optimal end point: the spread
                        where = root / "loso" / v.name / held / f"from_{j}"
                        unit = _Unit(f"{v.name}/{held}/{j}", p, x0[None, :], where)
                    loso_units.append(unit)
        loso_fits, run_loso = _fit_units(loso_units, phase="loso", **common)
        run += run_loso
        for u in loso_units:
            name, held, origin = u.label.split("/")
            r = loso_fits[u.label]
            test = u.problem.objective(studies=[held])
            loso_rows.append(
                {
                    "variant": name,
                    "held_out": held,
                    "origin": int(origin),
                    "nll": neg_log_likelihood(test, r.best_x),
                    "n": n_data(test),
                    "train_cost": r.best_cost,
                    "seconds": float(r.starts["seconds"].sum()),
                }
            )
    loso_table = pd.DataFrame(
        loso_rows,
        columns=["variant", "held_out", "origin", "nll", "n", "train_cost", "seconds"],
    )
    agreement = _agreement(variants, fits, problems, ev)
    ranking = _ranking(variants, fits, objectives, loso_table, agreement)
    return SelectionResult(
        ranking=ranking,
        loso=loso_table,
        agreement=agreement,
        fits=fits,
        variants=variants,
        config=config,
        starts_run=run,
        seconds=time.perf_counter() - t0,
        settings={
            "starts": starts,
            "loso_starts": loso_starts if loso and len(studies) > 1 else 0,
            "loso_max_nfev": loso_config.max_nfev,
            "loso_from": loso_from if loso and len(studies) > 1 else 0,
            "seed": seed,
            "max_nfev": config.max_nfev,
            "workers": workers,
            "scheduler": scheduler,
            "out": str(root),
        },
    )


def _variant_parameters(fit: FitResult, fixed: Iterable[tuple[str, float]]) -> dict[str, float]:
    params = dict(fixed)
    params.update(fit.best_parameters)
    return params


def _agreement(
    variants: Sequence[Variant],
    fits: dict[str, FitResult],
    problems: dict[str, _Problem],
    evidence: pd.DataFrame,
) -> pd.DataFrame:
    """Every evidence row judged at each variant's best point."""
    shipped = scenarios.shipped_scenarios()
    used = {comparison.scenario_for(r, shipped).name for _, r in evidence.iterrows()}
    tables = []
    for v in variants:
        params = _variant_parameters(fits[v.name], problems[v.name].fixed)
        results = []
        for s in shipped:
            if s.name not in used:
                continue
            try:
                results.append(simulate(s, params, timecourses=False))
            except SimulationFailed:
                continue  # its rows come out as "no scenario"
        table = comparison.compare(evidence, results)
        table.insert(0, "variant", v.name)
        tables.append(table)
    return pd.concat(tables, ignore_index=True)


def _ranking(
    variants: Sequence[Variant],
    fits: dict[str, FitResult],
    objectives: dict[str, Objective],
    loso: pd.DataFrame,
    agreement: pd.DataFrame,
) -> pd.DataFrame:
    rows = []
    for v in variants:
        fit, obj = fits[v.name], objectives[v.name]
        nll = neg_log_likelihood(obj, fit.best_x)
        k, n = len(fit.space), n_data(obj)
        costs = fit.starts["cost"].to_numpy()
        counted = agreement[(agreement["variant"] == v.name) & agreement["counted"].astype(bool)]
        row = {
            "variant": v.name,
            "hypothesis": v.hypothesis,
            "changes": v.describe(),
            "k": k,
            "n": n,
            "nll": nll,
            **information_criteria(nll, k, n),
            "agree": int((counted["agreement"] == "agree").sum()),
            "disagree": int((counted["agreement"] != "agree").sum()),
            "near_optimal_starts": int((costs <= costs.min() + NEAR_OPTIMAL).sum()),
            "starts": len(costs),
            "fit_seconds": float(fit.starts["seconds"].sum()),
        }
        every = loso[loso["variant"] == v.name]
        mine = every[every["origin"] == 0]  # refits from the best: the score
        row["loso_nll"] = float(mine["nll"].sum()) if len(mine) else math.nan
        totals = every.groupby("origin")["nll"].sum()
        row["loso_nll_min"] = float(totals.min()) if len(totals) else math.nan
        row["loso_nll_max"] = float(totals.max()) if len(totals) else math.nan
        row["loso_origins"] = len(totals)
        row["loso_seconds"] = float(every["seconds"].sum()) if len(every) else 0.0
        for _, r in mine.iterrows():
            row[f"loso_nll:{r['held_out']}"] = float(r["nll"])
        rows.append(row)
    table = pd.DataFrame(rows)
    for crit in ("AICc", "BIC"):
        table[f"d{crit}"] = table[crit] - table[crit].min()
        table[f"rank_{crit}"] = table[crit].rank(method="min").astype(int)
    table["dLOSO"] = table["loso_nll"] - table["loso_nll"].min()
    table["rank_LOSO"] = table["loso_nll"].rank(method="min")
    order = ["variant", "hypothesis", "changes", "k", "n", "nll", "AIC", "AICc", "dAICc"]
    order += ["BIC", "dBIC", "loso_nll", "dLOSO", "rank_AICc", "rank_BIC", "rank_LOSO"]
    order += ["loso_nll_min", "loso_nll_max", "loso_origins"]
    order += ["agree", "disagree", "near_optimal_starts", "starts", "fit_seconds"]
    order += ["loso_seconds", *sorted(c for c in table if c.startswith("loso_nll:"))]
    table = table[order]
    return table.sort_values(["AICc", "BIC", "variant"]).reset_index(drop=True)


def _assay_sigma(assay: str, config: FitConfig) -> float:
    if assay == "cell_cycle":
        return config.sigma[CELL_CYCLE_SIGMA_ASSAY]
    return config.sigma[assay]


def discriminating_measurements(
    result: SelectionResult,
    pair: tuple[str, str] | None = None,
    *,
    max_near_optimal: int = 5,
    perturbations: dict[str, tuple[str, ...]] | None = None,
) -> pd.DataFrame:
    """Which single readout x scenario best separates two variants.

    For every observable of the model at every sampling time and dose of every
    shipped scenario, unperturbed and with each of ``perturbations`` (cytokines
    neutralised in both arms, :func:`secretome.scenarios.modify`), the two
    variants' predictions on the scale the objective compares (natural log of a
    fold change; percentage points for Annexin, MTT and cell-cycle fractions).

    Parameters
    ----------
    result : SelectionResult
    pair : (str, str), optional
        The two variants; default the two best by AICc.
    max_near_optimal : int
        At most this many near-optimal starts per variant (cost within
        :data:`NEAR_OPTIMAL` of the best) give the spread of its prediction.
    perturbations : dict, optional
        Label -> cytokines to neutralise; default :data:`PERTURBATIONS`.

    Returns
    -------
    pandas.DataFrame
        One row per candidate, best first: ``scenario``, ``perturbation``,
        ``observable``, ``assay``, ``time_h``, ``dose``, ``measured`` (whether the
        evidence already holds this readout for this scenario), the two
        predictions ``pred_a``, ``pred_b`` (assay scale), ``difference``,
        ``sigma_assay``, ``spread_a``, ``spread_b`` (SD across near-optimal
        starts; 0 with one), ``z_noise = |difference| / sigma_assay`` and
        ``z = |difference| / sqrt(sigma_assay² + spread_a² + spread_b²)``.
    """
    ranking = result.ranking
    if pair is None:
        if len(ranking) < 2:
            raise SecretomeError("need at least two variants to compare")
        pair = (str(ranking["variant"].iloc[0]), str(ranking["variant"].iloc[1]))
    unknown = [name for name in pair if name not in result.fits]
    if unknown or len(set(pair)) != 2:
        raise SecretomeError(
            f"a pair of two different variants of the selection is needed, not {pair}; "
            f"variants: {', '.join(result.fits)}"
        )
    perturbations = PERTURBATIONS if perturbations is None else perturbations
    spec = model.load_model()
    constant = {o.name for o in spec.observables if o.fixed_by_construction}
    evidence = data.load_evidence()
    shipped = scenarios.shipped_scenarios()
    measured = set()
    for _, row in evidence.iterrows():
        s = comparison.scenario_for(row, shipped)
        if s is not None:
            measured.add((s.name, comparison.observable_for(row)))

    def points(name: str) -> list[dict[str, float]]:
        fit = result.fits[name]
        fixed = next(v for v in result.variants if v.name == name).fix
        out = []
        for x in _near_optimal_points(fit, max_near_optimal):
            params = dict(fixed)
            params.update(
                {
                    p.key: float(10.0**v)
                    for p, v in zip(fit.space.parameters, x, strict=True)
                    if p.scope != "noise"
                }
            )
            sigmas = {
                p.key: float(10.0**v)
                for p, v in zip(fit.space.parameters, x, strict=True)
                if p.scope == "noise"
            }
            out.append((params, sigmas))
        return out

    sets = {name: points(name) for name in pair}
    frames = []
    for s in shipped:
        for label, cytokines in perturbations.items():
            scenario = scenarios.modify(s, neutralise=cytokines) if cytokines else s
            preds = {}
            for name in pair:
                runs = []
                for params, _ in sets[name]:
                    try:
                        obs = simulate(scenario, params, timecourses=False).observables
                    except SimulationFailed:
                        continue
                    runs.append(obs)
                preds[name] = runs
            if not preds[pair[0]] or not preds[pair[1]]:
                continue
            base = preds[pair[0]][0][["observable", "assay", "time_h", "dose"]].copy()
            keep = ~base["observable"].isin(constant).to_numpy()
            scaled = {}
            for name in pair:
                stack = np.vstack(
                    [
                        _assay_scale_rows(base["assay"].to_numpy(), o["value"].to_numpy())
                        for o in preds[name]
                    ]
                )
                scaled[name] = stack
            a, b = scaled[pair[0]], scaled[pair[1]]
            frame = base.copy()
            frame.insert(0, "perturbation", label)
            frame.insert(0, "scenario", s.name)
            frame["measured"] = [
                label == "none" and (s.name, o) in measured for o in frame["observable"]
            ]
            frame["pred_a"] = a[0]
            frame["pred_b"] = b[0]
            frame["spread_a"] = a.std(axis=0, ddof=1) if len(a) > 1 else 0.0
            frame["spread_b"] = b.std(axis=0, ddof=1) if len(b) > 1 else 0.0
            frames.append(frame[keep])
    if not frames:
        raise SecretomeError(f"no scenario could be simulated for both {pair[0]} and {pair[1]}")
    table = pd.concat(frames, ignore_index=True)
    table["difference"] = table["pred_a"] - table["pred_b"]
    # an estimated σ: the larger of the two variants' best fits (the conservative one)
    fitted = {
        a: max(sets[pair[0]][0][1][g.name], sets[pair[1]][0][1][g.name])
        for g in result.config.noise
        for a in g.assays
    }
    table["sigma_assay"] = [
        fitted.get(a) or _assay_sigma(a, result.config) for a in table["assay"]
    ]
    table["z_noise"] = table["difference"].abs() / table["sigma_assay"]
    table["z"] = table["difference"].abs() / np.sqrt(
        table["sigma_assay"] ** 2 + table["spread_a"] ** 2 + table["spread_b"] ** 2
    )
    table = table[np.isfinite(table["z"])]
    table.insert(0, "variant_b", pair[1])
    table.insert(0, "variant_a", pair[0])
    return table.sort_values("z", ascending=False, kind="stable").reset_index(drop=True)


def _assay_scale_rows(assays: np.ndarray, values: np.ndarray) -> np.ndarray:
    out = np.array(values, dtype=float)
    ratio = ~np.isin(assays, ("annexin", "mtt", "cell_cycle"))
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ratio] = np.log(out[ratio])
    return out


__all__ = [
    "NEAR_OPTIMAL",
    "SelectionResult",
    "discriminating_measurements",
    "information_criteria",
    "n_data",
    "neg_log_likelihood",
    "run_variant_start",
    "select",
]

"""Multi-start fitting of the model to the evidence.

:func:`fit` draws starting points by Latin hypercube in the fitted parameters'
log10 bounds (start 0 is the table's nominal point), runs a bounded least-squares
optimisation from each (``scipy.optimize.least_squares``, trust-region
reflective, forward finite differences), and writes every start's result to
``OUT/starts/start_NNNN.json`` the moment it finishes (atomic writes). With
``resume=True`` a rerun with the same configuration and seed skips the starts
already on disk, so a stopped fit loses nothing it finished.

Starts run in this process, on a local process pool, or on a Dask cluster
(:mod:`secretome.parallel`); each start is deterministic given its starting
point, so the result does not depend on where it ran.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import least_squares
from scipy.stats import qmc

from secretome.errors import SecretomeError
from secretome.io import atomic_write, check_output_dir
from secretome.objective import FitConfig, Objective, load_fit_config
from secretome.parallel import check_executor, run_tasks
from secretome.simulation import DEFAULT_BACKEND
from secretome.space import ParameterSpace

#: Finite-difference step in log10 units (about 0.2 % in linear units).
DIFF_STEP = 1e-3


@dataclass(frozen=True)
class StartResult:
    """One optimisation run."""

    index: int
    x0: tuple[float, ...]
    x: tuple[float, ...]
    cost: float
    initial_cost: float
    nfev: int
    status: int
    message: str
    failures: int
    evaluations: int
    seconds: float


@dataclass(frozen=True)
class FitResult:
    """What :func:`fit` returns: every start, sorted by cost, and the best point.

    Attributes
    ----------
    space : ParameterSpace
        The fitted parameters with their bounds (log10 units).
    starts : pandas.DataFrame
        One row per start, best first: ``start``, ``cost``, ``initial_cost``,
        ``nfev``, ``status``, ``failures``, ``seconds``, ``message`` and the point
        (``x:<key>`` columns, log10).
    best_x : numpy.ndarray
        The best point, log10 units, in the order of ``space.keys``.
    best_cost : float
        Its objective value.
    out_dir : pathlib.Path or None
        Where each start's result was written as it finished.
    """

    space: ParameterSpace
    starts: pd.DataFrame
    best_x: np.ndarray
    best_cost: float
    out_dir: Path | None
    nll_constant: float = 0.0
    n_residuals: int = 0
    seed: int | None = None
    config: FitConfig | None = None

    @property
    def best_parameters(self) -> dict[str, float]:
        """Fitted model-parameter values in linear units, keyed ``name`` or
        ``name[context]`` (the noise parameters are in :attr:`noise_parameters`)."""
        return {
            p.key: float(10.0**v)
            for p, v in zip(self.space.parameters, self.best_x, strict=True)
            if p.scope != "noise"
        }

    @property
    def noise_parameters(self) -> dict[str, float]:
        """Fitted noise parameters σ (linear, residual units), keyed ``sigma_<name>``."""
        return {
            p.key: float(10.0**v)
            for p, v in zip(self.space.parameters, self.best_x, strict=True)
            if p.scope == "noise"
        }

    @property
    def best_neg_log_likelihood(self) -> float:
        """The best point's negative log-likelihood (``best_cost + nll_constant``)."""
        return self.best_cost + self.nll_constant


def starting_points(space: ParameterSpace, n: int, seed: int | np.random.Generator) -> np.ndarray:
    """``n`` starting points (log10 units): the nominal point, then a Latin hypercube."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise SecretomeError(f"starts must be a whole number of at least 1, not {n!r}")
    if not isinstance(seed, np.random.Generator) and (
        isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0
    ):
        raise SecretomeError(f"seed must be a whole number >= 0, not {seed!r}")
    rng = np.random.default_rng(seed)
    lo, hi = space.lower, space.upper
    points = [np.clip(space.nominal, lo, hi)]
    if n > 1:
        sampler = qmc.LatinHypercube(d=len(space), rng=rng)
        points.extend(qmc.scale(sampler.random(n - 1), lo, hi))
    return np.vstack(points)


def _problem_hash(config: FitConfig, studies, x0s: np.ndarray) -> str:
    payload = json.dumps(
        {
            "config": asdict(config) | {"source": ""},
            "studies": studies,
            "x0": x0s.round(12).tolist(),
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def optimise_start(obj: Objective, index: int, x0: np.ndarray, max_nfev: int) -> StartResult:
    """Optimise ``obj`` from one starting point: the optimiser and settings of every
    fit (trust-region reflective least squares within the bounds, forward
    differences of step :data:`DIFF_STEP`), used by :func:`run_start` and by the
    model-selection fits of :mod:`secretome.selection`."""
    lo, hi = obj.space.lower, obj.space.upper
    t0 = time.perf_counter()
    r0 = obj.residuals(x0)
    sol = least_squares(
        obj.residuals,
        x0,
        bounds=(lo, hi),
        method="trf",
        diff_step=DIFF_STEP,
        x_scale=1.0,
        max_nfev=max_nfev,
    )
    return StartResult(
        index=index,
        x0=tuple(float(v) for v in x0),
        x=tuple(float(v) for v in sol.x),
        cost=float(sol.cost),
        initial_cost=0.5 * float(r0 @ r0),
        nfev=int(sol.nfev),
        status=int(sol.status),
        message=str(sol.message),
        failures=obj.failures,
        evaluations=obj.evaluations,
        seconds=time.perf_counter() - t0,
    )


def run_start(task: tuple[FitConfig, list[str] | None, int, np.ndarray]) -> StartResult:
    """Optimise from one starting point (module-level so that workers can run it)."""
    config, studies, index, x0 = task
    return optimise_start(Objective(config, studies), index, x0, config.max_nfev)


def _start_path(out: Path, index: int) -> Path:
    return out / "starts" / f"start_{index:04d}.json"


def _load_done(out: Path, problem: str, n: int) -> dict[int, StartResult]:
    done = {}
    for i in range(n):
        path = _start_path(out, i)
        if path.is_file():
            doc = json.loads(path.read_text())
            if doc.get("problem") != problem:
                raise SecretomeError(
                    f"{path} belongs to a different fit (configuration, studies or seed "
                    "changed); use another --out or remove it"
                )
            doc.pop("problem")
            done[i] = StartResult(**{**doc, "x0": tuple(doc["x0"]), "x": tuple(doc["x"])})
    return done


def fit(
    config: FitConfig | None = None,
    *,
    studies: Iterable[str] | None = None,
    starts: int = 10,
    seed: int = 0,
    workers: int | None = 1,
    scheduler: str | None = None,
    out: str | Path | None = None,
    resume: bool = False,
    progress: Callable[[StartResult, int, int], None] | None = None,
) -> FitResult:
    """Fit the model to the evidence from several starting points.

    Parameters
    ----------
    config : FitConfig, optional
        Default: ``experiments/fit.toml``.
    studies : iterable of str, optional
        Fit only these studies' evidence.
    starts : int
        Number of starting points (start 0 is the nominal point).
    seed : int
        Seed of the Latin hypercube; the same seed gives the same starts.
    workers, scheduler
        Where the starts run (:func:`secretome.parallel.run_tasks`).
    out : path, optional
        Directory for per-start results and the tables; required for ``resume``.
    resume : bool
        Skip starts already written to ``out`` by the same problem.
    progress : callable, optional
        Called as ``progress(result, done, total)`` when a start finishes.
    """
    config = config or load_fit_config()
    studies = sorted(studies) if studies is not None else None
    # every check before any work and before anything is written
    if resume and out is None:
        raise SecretomeError("--resume needs --out (where the finished starts are)")
    out_dir = check_output_dir(out, "--out") if out is not None else None
    max_nfev = config.max_nfev
    if isinstance(max_nfev, bool) or not isinstance(max_nfev, int) or max_nfev < 1:
        raise SecretomeError(f"max_nfev must be a whole number of at least 1, not {max_nfev!r}")
    objective = Objective(config, studies)  # validates names and studies
    space = objective.space
    x0s = starting_points(space, starts, seed)
    check_executor(workers, scheduler)
    problem = _problem_hash(config, studies, x0s)
    done: dict[int, StartResult] = {}
    if out_dir is not None:
        existing = _load_done(out_dir, problem, starts)
        if existing and not resume:
            raise SecretomeError(
                f"{out_dir} already holds {len(existing)} finished start(s) of this fit; "
                "pass --resume to continue it, or choose another --out"
            )
        done = existing
        atomic_write(
            out_dir / "problem.json",
            json.dumps(
                {
                    "problem": problem,
                    "config": asdict(config),
                    "studies": studies,
                    "starts": starts,
                    "seed": seed,
                    "parameters": space.keys,
                    "versions": library_versions(),
                },
                indent=2,
            ),
        )
    todo = [(config, studies, i, x0s[i]) for i in range(starts) if i not in done]
    for k, result in enumerate(done.values(), start=1):
        if progress:
            progress(result, k, starts)
    for _, result in run_tasks(run_start, todo, workers=workers, scheduler=scheduler):
        done[result.index] = result
        if out_dir is not None:
            doc = asdict(result) | {"problem": problem}
            atomic_write(_start_path(out_dir, result.index), json.dumps(doc, indent=1))
        if progress:
            progress(result, len(done), starts)
    result = _collect(space, [done[i] for i in range(starts)], out_dir)
    return dataclasses.replace(
        result,
        nll_constant=objective.nll_constant,
        n_residuals=objective.n_residuals,
        seed=seed,
        config=config,
        starts=result.starts.assign(
            neg_log_likelihood=result.starts["cost"] + objective.nll_constant
        ),
    )


def _collect(space: ParameterSpace, results: list[StartResult], out: Path | None) -> FitResult:
    rows = []
    for r in results:
        row = {
            "start": r.index,
            "cost": r.cost,
            "initial_cost": r.initial_cost,
            "nfev": r.nfev,
            "status": r.status,
            "failures": r.failures,
            "evaluations": r.evaluations,
            "seconds": r.seconds,
            "message": r.message,
        }
        row.update({f"x:{k}": v for k, v in zip(space.keys, r.x, strict=True)})
        rows.append(row)
    table = pd.DataFrame(rows).sort_values(["cost", "start"]).reset_index(drop=True)
    best = table.iloc[0]
    best_x = np.array([best[f"x:{k}"] for k in space.keys])
    return FitResult(space, table, best_x, float(best["cost"]), out)


def parameters_table(result: FitResult) -> pd.DataFrame:
    """The best point as a table: key, name, context, value (linear), log10, bounds."""
    frame = result.space.to_frame()
    frame.insert(1, "value", 10.0**result.best_x)
    frame.insert(2, "log10", result.best_x)
    frame["at_bound"] = np.isclose(result.best_x, result.space.lower, atol=1e-3) | np.isclose(
        result.best_x, result.space.upper, atol=1e-3
    )
    return frame


def library_versions() -> dict[str, str]:
    """What produced a result: Python, NumPy, SciPy, secretome and, in a git checkout,
    its commit (read from ``.git``; uncommitted changes are not detected), and the
    simulation backend with the libraries behind it.

    Returns
    -------
    dict
        ``python``, ``numpy``, ``scipy``, ``secretome``, ``commit`` (``""`` outside a
        git checkout), ``platform``, ``backend`` (the default simulation backend, which
        the objective uses), ``numba``, ``libroadrunner``.
    """
    import platform
    from importlib import metadata

    import scipy

    try:
        ours = metadata.version("secretome")
    except metadata.PackageNotFoundError:  # run from a source tree, not installed
        ours = "not installed"
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "secretome": ours,
        "commit": _git_commit(Path(__file__).resolve().parents[2]),
        "platform": platform.platform(),
        "backend": DEFAULT_BACKEND,  # what Objective simulates with
        "numba": _version_of("numba"),
        "libroadrunner": _version_of("libroadrunner"),
    }


def _version_of(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _git_commit(root: Path) -> str:
    """HEAD's commit of a git checkout at ``root``, read from its files ("" if none)."""
    git = root / ".git"
    try:
        if git.is_file():  # a worktree: "gitdir: <path>"
            git = (root / git.read_text().split(":", 1)[1].strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref:"):
            return head
        ref = head.split(":", 1)[1].strip()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        for base in (git, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
        packed = common / "packed-refs"
        if packed.is_file():
            for line in packed.read_text().splitlines():
                if line.endswith(" " + ref):
                    return line.split()[0]
    except (OSError, IndexError):
        pass
    return ""


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v) if isinstance(v, int) else f"{v:.8g}"
    return json.dumps(str(v), ensure_ascii=False)  # a JSON string is a TOML basic string


def provenance_toml(result: FitResult, **fields) -> str:
    """The provenance of a fit's parameter file as TOML.

    Parameters
    ----------
    result : FitResult
    **fields
        Extra top-level entries (e.g. ``command``, ``config``, ``starts``, ``note``).

    Returns
    -------
    str
        Top-level entries (``objective`` = the best cost, ``neg_log_likelihood``,
        ``residuals`` (data residuals, without the noise priors'),
        ``fitted_parameters`` (model parameters), ``noise_parameters``,
        ``best_start``, ``seed``, ``date``,
        ``commit`` and the given fields), then ``[noise]`` (fitted σ per noise
        parameter) and ``[versions]`` (:func:`library_versions`).
    """
    import datetime

    versions = library_versions()
    top = {
        "objective": round(result.best_cost, 6),
        "neg_log_likelihood": round(result.best_neg_log_likelihood, 6),
        # data residuals; the objective has one more per noise parameter (its prior)
        "residuals": result.n_residuals - len(result.noise_parameters),
        "fitted_parameters": len(result.best_parameters),
        "noise_parameters": len(result.noise_parameters),
        "best_start": int(result.starts["start"].iloc[0]),
        "starts": len(result.starts),
    }
    if result.seed is not None:
        top["seed"] = result.seed
    if result.config is not None and result.config.source:
        source = Path(result.config.source).resolve()
        with contextlib.suppress(ValueError):  # shown relative to the working directory
            source = source.relative_to(Path.cwd())
        top["config"] = str(source)
    top.update(fields)
    top.setdefault("date", datetime.date.today().isoformat())
    top.setdefault("commit", versions["commit"][:7])
    lines = [
        "# Provenance of the parameter file next to this one (secretome.fitting).",
        "# Noise parameters are here, not in the parameter file: they are not",
        "# model parameters, and --params refuses names the table does not have.",
    ]
    lines += [f"{k} = {_toml_value(v)}" for k, v in top.items()]
    lines += ["", "[noise]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in result.noise_parameters.items()]
    lines += ["", "[versions]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in versions.items()]
    return "\n".join(lines) + "\n"


def write_parameter_file(result: FitResult, path: str | Path, **provenance) -> Path:
    """Write ``name,value`` (keys ``name[context]``), the format ``--params`` reads, and
    its provenance next to it (same name, ``.toml``; :func:`provenance_toml`).

    Parameters
    ----------
    result : FitResult
    path : path-like
        The CSV file; the TOML goes to ``path`` with suffix ``.toml``.
    **provenance
        Extra entries for the TOML (``command``, ``note``, ...).

    Returns
    -------
    pathlib.Path
        The CSV file written. Only model parameters go into it; the fitted noise
        parameters go into the TOML's ``[noise]`` table.
    """
    frame = pd.DataFrame(
        {"name": list(result.best_parameters), "value": list(result.best_parameters.values())}
    )
    written = atomic_write(path, frame.to_csv(index=False, float_format="%.8g"))
    atomic_write(Path(path).with_suffix(".toml"), provenance_toml(result, **provenance))
    return written

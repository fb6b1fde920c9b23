"""Posterior ensembles: many parameter sets, simulated alike and summarised as bands.

An **ensemble file** is what ``secretome sample`` writes (the shipped one is
``models/posterior.csv``, provenance in ``models/posterior.toml``): a CSV with

* ``draw``, ``chain``, ``log_posterior``: which draw of which chain, and its
  log posterior density;
* one column per fitted parameter, named by its key as in
  ``models/fitted_parameters.csv`` (``name`` or ``name[context]``), values in
  linear units;
* optionally ``noise:...`` columns (the error model's parameters), which a
  simulation does not read and which are ignored here;

one row per draw. Every draw is simulated with the table's nominal values
overridden by that row (as a fitted parameter file overrides them).

:func:`load_ensemble` reads and checks such a file (every problem named with its
file, row and column; bounds as :func:`secretome.parameter_sets.check_values`
holds a parameter file to them). :func:`run_ensemble` simulates scenarios for
every draw, on the local pool or Dask (:mod:`secretome.parallel`); a draw whose
simulation fails is kept as a row of NaN, counted and reported, never dropped
silently. :func:`observable_bands` and :func:`timecourse_bands` summarise the
draws per observable and time point: the 5 %, 50 % and 95 % quantiles
(``q05``, ``q50``, ``q95``; linear interpolation between order statistics,
:func:`numpy.nanquantile`) over the draws that did not fail, and the fraction
that failed. :func:`median_result` turns the bands back into a
:class:`~secretome.simulation.SimulationResult` whose ``value`` is the median, so
the evidence is judged against the ensemble's median
(:func:`secretome.comparison.compare`).

Without an ensemble (``--ensemble none``, or no ``models/posterior.csv``) every
command simulates one point, the parameter set it names, as before.
"""

from __future__ import annotations

import csv
import math
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from secretome import model, parameter_sets
from secretome.errors import Problem, SecretomeError, SimulationFailed, ValidationError
from secretome.parallel import check_executor, default_workers, run_tasks
from secretome.paths import models_dir
from secretome.scenarios import Scenario
from secretome.simulation import DEFAULT_BACKEND, SimulationResult, simulate, split_key

#: The shipped posterior ensemble under ``models/`` and its provenance.
ENSEMBLE_FILE = "posterior.csv"
ENSEMBLE_PROVENANCE = "posterior.toml"
#: Largest R-hat (``r_hat_max`` of the provenance) of a sample called converged.
R_HAT_CONVERGED = 1.01
#: Columns every ensemble file starts with.
META_COLUMNS = ("draw", "chain", "log_posterior")
#: Prefix of the error model's columns (not read by a simulation).
NOISE_PREFIX = "noise:"
#: The band: 5 %, 50 % and 95 % quantiles over the draws, and their column names.
QUANTILES = (0.05, 0.5, 0.95)
BAND_COLUMNS = ("q05", "q50", "q95")
#: Column of the fraction of draws whose simulation failed.
FAILED_COLUMN = "failed_fraction"
#: What commands say when they run without an ensemble.
NO_ENSEMBLE = "none: point estimate only, no bands"
#: Problems listed in one error message before the rest are only counted.
MAX_LISTED = 12


@dataclass(frozen=True)
class Ensemble:
    """Parameter sets drawn from a posterior, one row per draw.

    Attributes
    ----------
    keys : tuple of str
        Parameter keys (``name`` or ``name[context]``), one per column of ``values``.
    values : numpy.ndarray
        ``(n_draws, n_keys)`` values in linear units (read-only).
    draws : pandas.DataFrame
        ``draw``, ``chain``, ``log_posterior`` of each row.
    label : str
        Where the draws came from, in full (reports, ``provenance.json``).
    name : str
        A short name for CSV columns and figure titles.
    source : pathlib.Path or None
        The file read (``None`` for draws made in Python).
    """

    keys: tuple[str, ...]
    values: np.ndarray
    draws: pd.DataFrame
    label: str
    name: str
    source: Path | None = None

    def __len__(self) -> int:
        return int(self.values.shape[0])

    def parameters(self, i: int) -> dict[str, float]:
        """The ``i``-th draw as ``key -> value`` (for :func:`secretome.simulation.simulate`)."""
        return dict(zip(self.keys, (float(v) for v in self.values[i]), strict=True))


def from_draws(
    draws: Sequence[Mapping[str, float]],
    *,
    label: str = "draws given in Python",
    name: str = "custom ensemble",
    allow_outside_bounds: bool = False,
) -> Ensemble:
    """An ensemble from parameter sets held in memory, checked like a file.

    Parameters
    ----------
    draws : sequence of mapping
        One ``key -> value`` mapping per draw, all with the same keys.
    label, name : str
        How reports name the ensemble.
    allow_outside_bounds : bool
        Accept values outside the table's bounds.

    Returns
    -------
    Ensemble

    Raises
    ------
    SecretomeError
        No draws, draws with different keys, or values the table refuses.
    """
    if not draws:
        raise SecretomeError(f"{label}: no draws")
    keys = tuple(draws[0])
    for i, d in enumerate(draws):
        if tuple(d) != keys:
            raise SecretomeError(f"{label}: draw {i} has keys {sorted(d)}, draw 0 {sorted(keys)}")
    values = np.array([[float(d[k]) for k in keys] for d in draws], dtype=float)
    meta = pd.DataFrame(
        {"draw": np.arange(len(draws)), "chain": 0, "log_posterior": np.nan},
        columns=list(META_COLUMNS),
    )
    _check_table(values, keys, meta, label, allow_outside_bounds)
    values.setflags(write=False)
    return Ensemble(keys, values, meta, label, name)


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            return [c.strip() for c in next(csv.reader(fh), [])]
    except FileNotFoundError:
        raise SecretomeError(f"{path}: no such ensemble file") from None
    except UnicodeDecodeError as exc:
        raise SecretomeError(f"{path}: not a readable CSV table ({exc})") from None
    except OSError as exc:
        raise SecretomeError(f"{path}: cannot read it ({exc.strerror or exc})") from None


def load_ensemble(path: str | Path, *, allow_outside_bounds: bool = False) -> Ensemble:
    """Read and check an ensemble file (format in the module docstring).

    Parameters
    ----------
    path : path-like
        The CSV file; a sibling ``posterior.toml`` (same stem, ``.toml``), when
        present, names the command that made it.
    allow_outside_bounds : bool
        Accept values outside the table's bounds (negative and non-finite values
        are refused regardless).

    Returns
    -------
    Ensemble

    Raises
    ------
    SecretomeError
        Naming the file and, for each problem, the row (1 = first data row, with
        its ``draw``) and column: a missing ``draw``/``chain``/``log_posterior``
        column (``log_posterior`` values may be empty: they are only reported), a
        repeated column, an unknown parameter key or context, a value
        that is not a number, not finite, negative or outside its bounds, or a
        file without draws or parameters.
    """
    p = Path(path)
    if p.is_dir():
        raise SecretomeError(f"{p}: is a directory, not an ensemble file")
    header = _header(p)
    seen: set[str] = set()
    repeated = sorted({c for c in header if c in seen or seen.add(c)})
    if repeated:
        raise SecretomeError(f"{p}: column(s) {', '.join(repeated)} appear more than once")
    missing = [c for c in META_COLUMNS if c not in header]
    if missing:
        raise SecretomeError(
            f"{p}: missing column(s) {', '.join(missing)} (an ensemble file starts with "
            f"{', '.join(META_COLUMNS)}, then one column per parameter)"
        )
    try:
        table = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SecretomeError(f"{p}: not a readable CSV table ({exc})") from None
    table.columns = [str(c).strip() for c in table.columns]
    keys = tuple(
        c for c in table.columns if c not in META_COLUMNS and not c.startswith(NOISE_PREFIX)
    )
    if table.empty:
        raise SecretomeError(f"{p}: no rows (an ensemble needs at least one draw)")
    if not keys:
        raise SecretomeError(f"{p}: no parameter columns (only {', '.join(table.columns)})")
    # keys first: values of a column nobody knows cannot be checked
    try:
        parameter_sets.check_values(
            dict.fromkeys(keys, 1.0), allow_outside_bounds=True, where=f"{p}, header"
        )
    except SecretomeError as exc:
        raise SecretomeError(
            str(exc).replace("unknown parameter(s)", "unknown column(s)")
        ) from None

    problems: list[Problem] = []
    numbers: dict[str, np.ndarray] = {}
    for column in (*META_COLUMNS, *keys):
        text = table[column].str.strip()
        values = pd.to_numeric(text, errors="coerce").to_numpy(dtype=float)
        # log_posterior is only reported, never used: it may be left empty
        missing_ok = ["nan", ""] if column == "log_posterior" else ["nan"]
        bad = np.isnan(values) & ~text.str.lower().isin(missing_ok).to_numpy()
        for i in np.flatnonzero(bad):
            problems.append(
                Problem(_where(p, i, table), column, f"not a number ({text.iloc[i]!r})")
            )
        numbers[column] = values
    values = np.column_stack([numbers[k] for k in keys])
    meta = pd.DataFrame({c: numbers[c] for c in META_COLUMNS})
    reported = {(pr.where, pr.field) for pr in problems}
    for column in ("draw", "chain"):
        col = numbers[column]
        for i in np.flatnonzero(~(np.isfinite(col) & (col == np.round(col)))):
            where = _where(p, i, table)
            if (where, column) not in reported:
                problems.append(Problem(where, column, f"not a whole number ({col[i]:g})"))
    if problems:
        raise _validation(problems, p)
    meta["draw"] = meta["draw"].astype("Int64")
    meta["chain"] = meta["chain"].astype("Int64")
    _check_table(values, keys, meta, str(p), allow_outside_bounds)
    values.setflags(write=False)
    label, name = _describe(p, len(values))
    return Ensemble(keys, values, meta, label, name, p)


def _where(path: Path, i: int, table: pd.DataFrame | None = None) -> str:
    draw = ""
    if table is not None and "draw" in table.columns:
        draw = f" (draw {str(table['draw'].iloc[i]).strip()})"
    return f"{path}, row {i + 1}{draw}"


def _validation(problems: list[Problem], what: object) -> ValidationError:
    shown = problems[:MAX_LISTED]
    if len(problems) > MAX_LISTED:
        shown.append(Problem("", "", f"... and {len(problems) - MAX_LISTED} more"))
    return ValidationError(shown, what=f"{what}")


def _bounds(keys: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per key, the tightest bounds of every table row it applies to (as check_values)."""
    table = model.load_model().parameters
    lower, upper = [], []
    for key in keys:
        name, context = split_key(key)
        rows = table[table["name"] == name]
        if context:
            rows = rows[rows["context"] == context]
        lower.append(float(rows["lower"].max()))
        upper.append(float(rows["upper"].min()))
    rtol = parameter_sets.BOUND_RTOL
    return np.array(lower) * (1 - rtol), np.array(upper) * (1 + rtol)


def _check_table(
    values: np.ndarray,
    keys: Sequence[str],
    meta: pd.DataFrame,
    where: str,
    allow_outside_bounds: bool,
) -> None:
    """Refuse non-finite, negative or out-of-bounds values, naming row and column."""
    problems: list[Problem] = []
    draws = meta["draw"].to_numpy()

    def at(i: int) -> str:
        return f"{where}, row {i + 1} (draw {draws[i]})"

    for i, j in zip(*np.nonzero(~np.isfinite(values)), strict=True):
        problems.append(Problem(at(i), keys[j], f"not a finite number ({values[i, j]})"))
    for i, j in zip(*np.nonzero(np.isfinite(values) & (values < 0)), strict=True):
        problems.append(Problem(at(i), keys[j], f"must not be negative ({values[i, j]:g})"))
    if problems:
        raise _validation(problems, where)
    if allow_outside_bounds:
        return
    lo, hi = _bounds(keys)
    outside = (values < lo) | (values > hi)
    for i in np.flatnonzero(outside.any(axis=1)):
        row = dict(zip(keys, values[i], strict=True))
        try:  # the table's own words for the problem (bounds per context, as for a file)
            parameter_sets.check_values(row, where="")
        except SecretomeError as exc:
            message = str(exc).removeprefix(": ").split("; to use values")[0]
        else:  # pragma: no cover - _bounds and check_values disagree
            message = "outside the table's bounds"
        columns = ", ".join(keys[j] for j in np.flatnonzero(outside[i]))
        problems.append(Problem(at(i), columns, message))
    if problems:
        error = _validation(problems, where)
        raise ValidationError(
            error.problems, what=f"{where} ({parameter_sets.OUTSIDE_BOUNDS_HINT})"
        )


def _describe(path: Path, n: int) -> tuple[str, str]:
    """Label and short name of an ensemble file, with its provenance when present."""
    label = f"ensemble {path} ({n} draws"
    meta_file = path.with_suffix(".toml")
    if meta_file.is_file():
        try:
            meta = tomllib.loads(meta_file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
            raise SecretomeError(f"{meta_file}: not readable TOML ({exc})") from None
        r_hat = meta.get("r_hat_max")
        if meta.get("converged") is False or (r_hat is not None and r_hat > R_HAT_CONVERGED):
            shown = "" if r_hat is None else f": R-hat up to {r_hat:g}"
            label += f"; NOT CONVERGED{shown}, bands show this chain's spread only"
        if "command" in meta:
            label += f"; `{meta['command']}`"
        if "note" in meta:
            label += f"; {meta['note']}"
    else:
        label += f"; no provenance file {meta_file.name}"
    return label + ")", f"{path.name} ({n} draws)"


def shipped_ensemble_file() -> Path:
    """Where the shipped posterior ensemble lives (it may not exist yet)."""
    return models_dir() / ENSEMBLE_FILE


def shipped_ensemble() -> Ensemble | None:
    """The shipped posterior ensemble (``models/posterior.csv``), or ``None`` if there is none.

    Returns
    -------
    Ensemble or None
    """
    path = shipped_ensemble_file()
    return load_ensemble(path) if path.is_file() else None


def choose_ensemble(
    option: str | Path | None = None, *, allow_outside_bounds: bool = False
) -> Ensemble | None:
    """The ensemble a command runs with (``--ensemble``).

    Parameters
    ----------
    option : str, path or None
        ``None``: the shipped ensemble if there is one (:func:`shipped_ensemble`);
        ``"none"``: no ensemble; anything else: an ensemble file.
    allow_outside_bounds : bool
        Accept a file's values outside the table's bounds.

    Returns
    -------
    Ensemble or None
        ``None`` means: simulate the point estimate only.
    """
    if option is None:
        return shipped_ensemble()
    if str(option).strip().lower() == "none":
        return None
    return load_ensemble(option, allow_outside_bounds=allow_outside_bounds)


def describe(ensemble: Ensemble | None) -> str:
    """How outputs name an ensemble choice (:data:`NO_ENSEMBLE` for none)."""
    return NO_ENSEMBLE if ensemble is None else ensemble.label


# --- running every draw ----------------------------------------------------------------


@dataclass(frozen=True)
class EnsembleRun:
    """Every draw of an ensemble simulated in one scenario.

    Attributes
    ----------
    scenario : Scenario
    observables : pandas.DataFrame
        The observables table's layout (``scenario`` ... ``dose``, as
        :attr:`SimulationResult.observables` without its numbers), one row per
        column of the arrays below.
    value, treated, control : numpy.ndarray
        ``(n_draws, n_rows)``: what the assay reports, and the model quantities
        of both arms; a failed draw's row is NaN.
    timecourses : pandas.DataFrame or None
        The time-course layout (``scenario``, ``arm``, ``dose``, ``time_h``,
        ``variable``), one row per column of ``levels``.
    levels : numpy.ndarray or None
        ``(n_draws, n_timecourse_rows)``.
    failed : numpy.ndarray
        Boolean, per draw: its simulation failed.
    errors : tuple of str
        One message per failed draw (``"draw D: ..."``).
    ensemble : str
        The ensemble's label.
    """

    scenario: Scenario
    observables: pd.DataFrame
    value: np.ndarray
    treated: np.ndarray
    control: np.ndarray
    timecourses: pd.DataFrame | None
    levels: np.ndarray | None
    failed: np.ndarray
    errors: tuple[str, ...]
    ensemble: str

    @property
    def n_draws(self) -> int:
        """Draws simulated (failed ones included)."""
        return int(self.failed.size)

    @property
    def n_failed(self) -> int:
        """Draws whose simulation failed."""
        return int(self.failed.sum())


@dataclass(frozen=True)
class _Task:
    scenarios: tuple[Scenario, ...]
    keys: tuple[str, ...]
    values: np.ndarray
    draws: tuple[int, ...]
    record: tuple[str, ...]
    variables: tuple[str, ...] | None
    timecourses: bool
    n_points: int
    backend: str


def _simulate_chunk(task: _Task) -> list[dict]:
    """Simulate one chunk of draws in every scenario (runs in a worker)."""
    out = []
    for scenario in task.scenarios:
        layout = tc_layout = None
        n = len(task.draws)
        rows: list = [None] * n
        levels: list = [None] * n
        errors: list[tuple[int, str]] = []
        for k, values in enumerate(task.values):
            params = dict(zip(task.keys, (float(v) for v in values), strict=True))
            try:
                r = simulate(
                    scenario,
                    params,
                    n_points=task.n_points,
                    record=task.record,
                    timecourses=task.timecourses,
                    backend=task.backend,
                )
            except SimulationFailed as exc:
                errors.append((k, str(exc)))
                continue
            obs = r.observables
            rows[k] = obs[["value", "treated", "control"]].to_numpy(dtype=float).T
            if layout is None:
                layout = obs.drop(columns=["value", "treated", "control"])
            if task.timecourses:
                tc = r.timecourses
                if tc_layout is None:  # every draw's table has the same rows, in order
                    keep = (
                        np.ones(len(tc), dtype=bool)
                        if task.variables is None
                        else tc["variable"].isin(task.variables).to_numpy()
                    )
                    tc_layout = tc.loc[keep].drop(columns=["level"]).reset_index(drop=True)
                levels[k] = tc["level"].to_numpy(dtype=float)[keep]
        out.append(
            {
                "layout": layout,
                "rows": rows,
                "tc_layout": tc_layout,
                "levels": levels,
                "errors": errors,
            }
        )
    return out


def _chunks(n: int, workers: int) -> list[range]:
    """Split ``n`` draws into chunks: a few per worker, so progress moves and loads balance."""
    size = max(1, min(25, math.ceil(n / max(1, 4 * workers))))
    return [range(i, min(n, i + size)) for i in range(0, n, size)]


def run_ensemble(
    scenarios: Sequence[Scenario],
    ensemble: Ensemble,
    *,
    record: Sequence[str] = (),
    variables: Sequence[str] | None = None,
    timecourses: bool = True,
    n_points: int = 121,
    workers: int | None = 1,
    scheduler: str | None = None,
    backend: str = DEFAULT_BACKEND,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[EnsembleRun, ...]:
    """Simulate every draw of ``ensemble`` in every scenario.

    Parameters
    ----------
    scenarios : sequence of Scenario
    ensemble : Ensemble
    record : sequence of str
        Further model variables for the time courses (as :func:`simulate`).
    variables : sequence of str, optional
        Keep only these time-course variables (default: every one recorded);
        bands over time of a few variables need far less memory.
    timecourses : bool
        Keep the time courses (``False``: observables only, much faster).
    n_points : int
        Points of the time-course grid.
    workers : int or None
        Local worker processes (``1``: here; ``None``: every core).
    scheduler : str, optional
        Dask scheduler address (instead of local workers).
    backend : str
        Simulator (:data:`secretome.simulation.BACKENDS`).
    progress : callable, optional
        ``progress(done_draws, total_draws)`` as chunks of draws finish.

    Returns
    -------
    tuple of EnsembleRun
        One per scenario, in order. Draws that failed are NaN rows, counted in
        :attr:`EnsembleRun.n_failed` with their messages in ``errors``.

    Raises
    ------
    SimulationFailed
        Every draw failed in some scenario (the first message is quoted).
    """
    scenarios = tuple(scenarios)
    check_executor(workers, scheduler)
    n = len(ensemble)
    n_workers = default_workers() if workers is None else int(workers)
    chunks = _chunks(n, 1 if scheduler is None and n_workers == 1 else max(n_workers, 2))
    tasks = [
        _Task(
            scenarios,
            ensemble.keys,
            np.asarray(ensemble.values[c.start : c.stop]),
            tuple(c),
            tuple(record),
            None if variables is None else tuple(variables),
            timecourses,
            n_points,
            backend,
        )
        for c in chunks
    ]
    parts: dict[int, list[dict]] = {}
    done = 0
    for i, part in run_tasks(_simulate_chunk, tasks, workers=workers, scheduler=scheduler):
        parts[i] = part
        done += len(chunks[i])
        if progress is not None:
            progress(done, n)
    draws = ensemble.draws["draw"].to_numpy()
    runs = []
    for s, scenario in enumerate(scenarios):
        pieces = [parts[i][s] for i in range(len(chunks))]
        layout = next((p["layout"] for p in pieces if p["layout"] is not None), None)
        errors = [
            f"draw {draws[chunks[i].start + k]}: {msg}"
            for i, p in enumerate(pieces)
            for k, msg in p["errors"]
        ]
        if layout is None:
            raise SimulationFailed(
                f"{scenario.name}: every one of the {n} draws of {ensemble.name} failed "
                f"(first: {errors[0] if errors else '?'})"
            )
        rows = [r for p in pieces for r in p["rows"]]
        stack = np.full((n, 3, len(layout)), np.nan)
        for k, r in enumerate(rows):
            if r is not None:
                stack[k] = r
        failed = np.array([r is None for r in rows])
        tc_layout = next((p["tc_layout"] for p in pieces if p["tc_layout"] is not None), None)
        levels = None
        if timecourses and tc_layout is not None:
            levels = np.full((n, len(tc_layout)), np.nan)
            for k, lv in enumerate(lv for p in pieces for lv in p["levels"]):
                if lv is not None:
                    levels[k] = lv
        runs.append(
            EnsembleRun(
                scenario,
                layout.reset_index(drop=True),
                stack[:, 0, :],
                stack[:, 1, :],
                stack[:, 2, :],
                tc_layout,
                levels,
                failed,
                tuple(errors),
                ensemble.label,
            )
        )
    return tuple(runs)


# --- summaries ---------------------------------------------------------------------------


def quantile_band(samples: np.ndarray) -> np.ndarray:
    """The 5 %, 50 % and 95 % quantiles over axis 0, ignoring NaN (failed draws).

    Parameters
    ----------
    samples : numpy.ndarray
        ``(n_draws, ...)``.

    Returns
    -------
    numpy.ndarray
        ``(3, ...)``: q05, q50, q95; NaN where every draw is NaN.
    """
    samples = np.asarray(samples, dtype=float)
    shape = samples.shape[1:]
    flat = samples.reshape(len(samples), -1)
    flat = flat[~np.all(np.isnan(flat), axis=1)]  # failed draws
    out = np.full((len(QUANTILES), flat.shape[1]), np.nan)
    if len(flat):
        gaps = np.isnan(flat).any(axis=0)
        # numpy's nanquantile is far slower than quantile: only where it is needed
        out[:, ~gaps] = np.quantile(flat[:, ~gaps], QUANTILES, axis=0)
        some = gaps & ~np.all(np.isnan(flat), axis=0)
        if some.any():
            out[:, some] = np.nanquantile(flat[:, some], QUANTILES, axis=0)
        # interpolation can leave the median a rounding error outside the band
        out[0] = np.fmin(out[0], out[1])
        out[2] = np.fmax(out[2], out[1])
    out = out.reshape((len(QUANTILES), *shape))
    return out


def observable_bands(run: EnsembleRun) -> pd.DataFrame:
    """Per observable, sampling time and dose: the assay value's band over the draws.

    Parameters
    ----------
    run : EnsembleRun

    Returns
    -------
    pandas.DataFrame
        The observables layout with ``q05``, ``q50``, ``q95`` (of ``value``),
        ``control_q05``, ``control_q50``, ``control_q95`` (the control arm's
        model quantity) and ``failed_fraction``.
    """
    band = quantile_band(run.value)
    control = quantile_band(run.control)
    out = run.observables.copy()
    for j, col in enumerate(BAND_COLUMNS):
        out[col] = band[j]
    for j, col in enumerate(BAND_COLUMNS):
        out[f"control_{col}"] = control[j]
    out[FAILED_COLUMN] = run.n_failed / run.n_draws
    return out


def timecourse_bands(run: EnsembleRun) -> pd.DataFrame:
    """Per arm, dose, variable and time: the level's band over the draws.

    Besides the level's quantiles, each draw's level relative to its own control
    arm at t = 0 is summarised (``relative_q05`` ...): what the pathway figures
    draw, and narrower than the level's band when draws differ mostly in scale.

    Parameters
    ----------
    run : EnsembleRun
        Simulated with time courses.

    Returns
    -------
    pandas.DataFrame
        The time-course layout with ``q05``, ``q50``, ``q95``, ``relative_q05``,
        ``relative_q50``, ``relative_q95`` and ``failed_fraction``.

    Raises
    ------
    SecretomeError
        The run kept no time courses.
    """
    if run.timecourses is None or run.levels is None:
        raise SecretomeError(f"{run.scenario.name}: the ensemble run kept no time courses")
    tc = run.timecourses
    start = (tc["arm"] == "control") & (tc["time_h"] == tc["time_h"].min())
    first = pd.Series(np.flatnonzero(start.to_numpy()), index=tc.loc[start, "variable"].to_numpy())
    ref = run.levels[:, first.reindex(tc["variable"]).to_numpy(dtype=int)]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(ref != 0, run.levels / np.where(ref != 0, ref, 1.0), run.levels)
    out = tc.copy()
    for prefix, samples in (("", run.levels), ("relative_", relative)):
        band = quantile_band(samples)
        for j, col in enumerate(BAND_COLUMNS):
            out[f"{prefix}{col}"] = band[j]
    out[FAILED_COLUMN] = run.n_failed / run.n_draws
    return out


def median_result(
    run: EnsembleRun, parameters: Mapping[str, float] | None = None
) -> SimulationResult:
    """The ensemble as one :class:`SimulationResult`: every number is the draws' median.

    ``value``, ``treated`` and ``control`` are each the median over the draws;
    the band columns of :func:`observable_bands` ride along, so
    :func:`secretome.comparison.compare` judges the median and reports the band.
    The time courses (when kept) carry the median ``level`` and the band columns
    of :func:`timecourse_bands`.

    Parameters
    ----------
    run : EnsembleRun
    parameters : mapping, optional
        What the result's ``parameters`` holds (default: empty; the draws differ).

    Returns
    -------
    SimulationResult
    """
    obs = observable_bands(run)
    obs.insert(list(obs.columns).index("dose") + 1, "treated", quantile_band(run.treated)[1])
    obs.insert(list(obs.columns).index("treated") + 1, "control", obs["control_q50"])
    obs.insert(list(obs.columns).index("control") + 1, "value", obs["q50"])
    tc = None
    if run.levels is not None:
        tc = timecourse_bands(run)
        tc.insert(list(tc.columns).index("variable") + 1, "level", tc["q50"])
    return SimulationResult(run.scenario, obs, tc, dict(parameters or {}))


__all__ = [
    "BAND_COLUMNS",
    "ENSEMBLE_FILE",
    "FAILED_COLUMN",
    "META_COLUMNS",
    "NOISE_PREFIX",
    "NO_ENSEMBLE",
    "QUANTILES",
    "Ensemble",
    "EnsembleRun",
    "choose_ensemble",
    "describe",
    "from_draws",
    "load_ensemble",
    "median_result",
    "observable_bands",
    "quantile_band",
    "run_ensemble",
    "shipped_ensemble",
    "shipped_ensemble_file",
    "timecourse_bands",
]

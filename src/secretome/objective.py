"""The calibration objective: every fitted evidence row as weighted residuals.

:class:`Objective` maps a point of the fitted :class:`~secretome.space.ParameterSpace`
(log10 units) to a fixed-length vector of residuals, one or more per evidence row
with ``fit = true`` (``docs/calibration.md`` has the rules and their weights):

============  ====================================================================
kind          residual(s)
============  ====================================================================
quantitative  fold changes: (ln predicted − ln observed) / σ, σ = ln(1 + SD/value)
              when the paper gives SD, else the estimated σ of the assay's noise
              group (``[noise.sigma_*]``), else the fixed σ of the assay
              (``[sigma]``); percentages (Annexin, MTT): (predicted − observed) / σ
              (percentage points)
noise σ_a     (ln σ_a − ln m_a + n_a s_a²) / s_a: the log-normal prior of an
              estimated σ and the n_a ln σ_a terms of its rows (one per group)
direction     max(0, m − s·ln FC) / σ_q, s = +1 (up) or −1 (down), m = margin
no_change     max(0, |ln FC| − b) / σ_q at every dose
ordering      max(0, m_o − s·(ln v_{k+1} − ln v_k)) / σ_q for consecutive doses
============  ====================================================================

So ½ Σ r² (:meth:`Objective.cost`) is the negative log-likelihood
(:meth:`Objective.neg_log_likelihood`) up to a constant: ``docs/likelihood.md``.

A simulation that fails (integrator error, non-finite values) turns every
residual of that scenario into ``failure_residual``: finite, so the optimiser
moves away, and counted in :attr:`Objective.failures`.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from secretome import comparison, data, scenarios
from secretome.errors import SecretomeError
from secretome.paths import experiments_dir
from secretome.simulation import SimulationFailed, simulate
from secretome.space import FreeParameter, ParameterSpace, parameter_space

_HALF_LN_2PI = 0.5 * math.log(2.0 * math.pi)
_LN10 = math.log(10.0)

ASSAY_SIGMA_DEFAULT = {
    "qpcr": 0.3,
    "western": 0.25,
    "elisa": 0.25,
    "wound": 0.3,
    "mtt": 10.0,
    "annexin": 3.0,
}


@dataclass(frozen=True)
class NoiseGroup:
    """One estimated noise parameter: the σ shared by the quantitative rows of some
    assays that give no SD (``[noise.<name>]`` in ``experiments/fit.toml``).

    σ enters the fitted point as ``log10 σ`` (key ``name``, which starts with
    ``sigma_``), bounded by ``lower`` and ``upper``; its prior is log-normal,
    ln σ ~ N(ln ``median``, ``log_sd``²), and is part of
    :meth:`Objective.neg_log_likelihood` (``docs/likelihood.md``).

    Attributes
    ----------
    name : str
        Parameter key, ``sigma_<something>``.
    assays : tuple of str
        Assays whose rows without SD share this σ.
    median, log_sd : float
        The log-normal prior: median (residual units) and SD of ln σ.
    lower, upper : float
        Bounds of σ (linear units).
    reason : str
        Why this prior (the config's ``reason``).
    """

    name: str
    assays: tuple[str, ...]
    median: float
    log_sd: float
    lower: float
    upper: float
    reason: str = ""


@dataclass(frozen=True)
class FitConfig:
    """What is fitted and how the evidence is weighted (``experiments/fit.toml``).

    Attributes
    ----------
    parameters : tuple of str
        Fitted parameter keys (``name`` or ``name[context]``).
    sigma : dict
        Assay -> fixed σ of a quantitative result (ln fold change, or percentage
        points) where the paper gives no SD and no noise group estimates it.
    qualitative_sigma : float
        σ (log units) of a qualitative constraint's residual: its weight.
    direction_margin, no_change_bound, order_margin : float
        The bands of directional, no-change and dose-ordering constraints (log units).
    max_nfev : int
        Iterations per start.
    failure_residual : float
        The residual given to every row of a scenario whose simulation failed.
    source : str
        The file it was read from.
    noise : tuple of NoiseGroup
        Estimated noise parameters (empty: every σ fixed, as in ``sigma``).
    """

    parameters: tuple[str, ...]
    sigma: dict[str, float] = field(default_factory=lambda: dict(ASSAY_SIGMA_DEFAULT))
    qualitative_sigma: float = 0.1
    # the same bands the report's agreement rules use (secretome.comparison)
    direction_margin: float = math.log(comparison.DIRECTION_BAND)
    no_change_bound: float = math.log(comparison.NO_CHANGE_BAND)
    order_margin: float = 0.01
    max_nfev: int = 60
    failure_residual: float = 100.0
    source: str = ""
    noise: tuple[NoiseGroup, ...] = ()


def load_fit_config(path: str | Path | None = None) -> FitConfig:
    """Read a fit configuration; unknown keys and parameter names are refused.

    Parameters
    ----------
    path : path-like, optional
        A TOML file; default ``experiments/fit.toml`` (format: ``docs/calibration.md``).

    Returns
    -------
    FitConfig

    Raises
    ------
    SecretomeError
        Naming the file and the key at fault."""
    p = Path(path) if path is not None else experiments_dir() / "fit.toml"
    try:
        doc = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SecretomeError(f"{p}: no such fit configuration") from None
    except tomllib.TOMLDecodeError as exc:
        raise SecretomeError(f"{p}: not valid TOML ({exc})") from None
    problems = []
    allowed = {"parameters", "sigma", "qualitative", "optimiser", "noise"}
    problems += [f"unknown section or key '{k}'" for k in doc if k not in allowed]
    sigma = dict(ASSAY_SIGMA_DEFAULT)
    for k, v in doc.get("sigma", {}).items():
        if k not in sigma:
            problems.append(f"field 'sigma.{k}': unknown assay; known: {', '.join(sigma)}")
        elif not isinstance(v, int | float) or v <= 0:
            problems.append(f"field 'sigma.{k}': {v!r} must be a positive number")
        else:
            sigma[k] = float(v)
    q = doc.get("qualitative", {})
    o = doc.get("optimiser", {})
    for section, keys, given in (
        ("qualitative", {"sigma", "direction_margin", "no_change_bound", "order_margin"}, q),
        ("optimiser", {"max_nfev", "failure_residual"}, o),
    ):
        for k, v in given.items():
            if k not in keys:
                problems.append(
                    f"field '{section}.{k}': unknown; known: {', '.join(sorted(keys))}"
                )
            elif not isinstance(v, int | float) or v <= 0:
                problems.append(f"field '{section}.{k}': {v!r} must be a positive number")
    noise, noise_problems = _read_noise(doc.get("noise", {}))
    problems += noise_problems
    params = doc.get("parameters")
    if not isinstance(params, list) or not params or not all(isinstance(x, str) for x in params):
        problems.append("field 'parameters': must be a non-empty list of parameter names")
    if problems:
        raise SecretomeError(f"{p}: " + "; ".join(problems))
    given = {
        "qualitative_sigma": q.get("sigma"),
        "direction_margin": q.get("direction_margin"),
        "no_change_bound": q.get("no_change_bound"),
        "order_margin": q.get("order_margin"),
        "max_nfev": o.get("max_nfev"),
        "failure_residual": o.get("failure_residual"),
    }
    config = FitConfig(
        parameters=tuple(params),
        sigma=sigma,
        source=str(p),
        noise=noise,
        **{k: v for k, v in given.items() if v is not None},  # else the defaults above
    )
    config = replace(config, max_nfev=int(config.max_nfev))
    parameter_space(config.parameters)  # refuses unknown names now, not mid-fit
    return config


_NOISE_KEYS = {"assays", "median", "log_sd", "lower", "upper", "reason"}


def _read_noise(section) -> tuple[tuple[NoiseGroup, ...], list[str]]:
    """The ``[noise.<name>]`` tables of a fit configuration, and what is wrong with them."""
    problems: list[str] = []
    groups: list[NoiseGroup] = []
    if not isinstance(section, dict):
        return (), ["field 'noise': must be a table of [noise.sigma_<name>] tables"]
    claimed: dict[str, str] = {}
    for name, spec in section.items():
        where = f"field 'noise.{name}'"

        def field(sub: str, name=name) -> str:
            return f"field 'noise.{name}.{sub}'"

        if not name.startswith("sigma_") or not name[6:].isidentifier():
            problems.append(f"{where}: a noise parameter's name is sigma_<word>")
            continue
        if not isinstance(spec, dict):
            problems.append(f"{where}: must be a table with {', '.join(sorted(_NOISE_KEYS))}")
            continue
        unknown = sorted(set(spec) - _NOISE_KEYS)
        missing = sorted(_NOISE_KEYS - {"reason"} - set(spec))
        if unknown:
            problems.append(f"{where}: unknown key(s) {', '.join(unknown)}")
        if missing:
            problems.append(f"{where}: missing {', '.join(missing)}")
        if unknown or missing:
            continue
        assays = spec["assays"]
        if (
            not isinstance(assays, list)
            or not assays
            or not all(isinstance(a, str) for a in assays)
        ):
            problems.append(f"{field('assays')}: must be a non-empty list of assay names")
            continue
        bad = [a for a in assays if a not in ASSAY_SIGMA_DEFAULT]
        if bad:
            problems.append(
                f"{field('assays')}: unknown assay(s) {', '.join(bad)}; known: "
                f"{', '.join(ASSAY_SIGMA_DEFAULT)}"
            )
        for a in assays:
            if a in claimed:
                problems.append(f"{field('assays')}: {a} already belongs to {claimed[a]}")
            claimed.setdefault(a, name)
        numbers = {k: spec[k] for k in ("median", "log_sd", "lower", "upper")}
        wrong = [
            k
            for k, v in numbers.items()
            if isinstance(v, bool) or not isinstance(v, int | float) or not v > 0
        ]
        if wrong:
            problems += [f"{field(k)}: {numbers[k]!r} must be a positive number" for k in wrong]
            continue
        if not numbers["lower"] < numbers["median"] < numbers["upper"]:
            problems.append(f"{where}: needs lower < median < upper")
            continue
        reason = spec.get("reason", "")
        if not isinstance(reason, str):
            problems.append(f"{field('reason')}: must be a string")
            continue
        groups.append(
            NoiseGroup(name, tuple(assays), *(float(numbers[k]) for k in numbers), reason=reason)
        )
    return tuple(groups), problems


def config_from_dict(doc: dict) -> FitConfig:
    """Rebuild a :class:`FitConfig` from :func:`dataclasses.asdict` output (as fit
    outputs store it in ``problem.json``).

    Parameters
    ----------
    doc : dict
        The fields of a FitConfig; lists where the dataclass has tuples.

    Returns
    -------
    FitConfig

    Raises
    ------
    KeyError, TypeError
        ``doc`` is not such a dictionary (callers turn this into a SecretomeError
        naming their file).
    """
    noise = tuple(NoiseGroup(**{**g, "assays": tuple(g["assays"])}) for g in doc.get("noise", ()))
    return FitConfig(**{**doc, "parameters": tuple(doc["parameters"]), "noise": noise})


#: Scales whose residuals are differences in percentage points (not log ratios).
PERCENT_SCALES = ("percent_cells", "percent_of_control", "percent_change_vs_control")


def observed_value(row: pd.Series) -> float:
    """A quantitative row's value on the scale the model reports: a stated change of
    viability (``percent_change_vs_control``) becomes % of control."""
    value = float(row["value"])
    return value + 100.0 if row["scale"] == "percent_change_vs_control" else value


def quantitative_sigma(row: pd.Series, config: FitConfig) -> float:
    """σ of a quantitative row's residual: the paper's SD (percentage points, or
    ln(1 + SD/value) for fold changes) where stated, else the assay's σ."""
    sd = row["sd"]
    if pd.isna(sd):
        return config.sigma[row["assay"]]
    if row["scale"] in PERCENT_SCALES:
        return float(sd)
    return math.log1p(float(sd) / float(row["value"]))


@dataclass(frozen=True)
class _Term:
    """The residuals one evidence row contributes."""

    id: str
    scenario: str
    observable: str
    time_h: float
    doses: tuple[float, ...]
    kind: str
    size: int


class Objective:
    """Weighted residuals of the fitted evidence for a point of the parameter space.

    The point ``x`` (log10 units) is in the order of :attr:`space`: the model
    parameters of ``config.parameters`` (:attr:`model_space`), then one ``log10 σ``
    per estimated noise parameter (``config.noise``, keys ``sigma_<name>``, scope
    ``noise``; :attr:`noise_keys`). The noise parameters' log-normal priors are
    inside :meth:`neg_log_likelihood` (and :meth:`cost`); a sampler adds only its
    prior on the model parameters and a flat prior in log10 σ within the bounds.
    Simulations take only the model parameters: use :attr:`model_space` (or
    :meth:`model_point`) to turn ``x`` into parameter values.

    Parameters
    ----------
    config : FitConfig
    studies : iterable of str, optional
        Restrict the evidence (and the scenarios simulated) to these studies.
    evidence : DataFrame, optional
        Default: the shipped evidence base; only rows with ``fit`` true are used.
    fixed : mapping, optional
        Values for parameters that are not fitted (default: the table's values).
    """

    def __init__(
        self,
        config: FitConfig,
        studies=None,
        evidence: pd.DataFrame | None = None,
        fixed: dict[str, float] | None = None,
    ) -> None:
        self.config = config
        self.model_space: ParameterSpace = parameter_space(config.parameters)
        self.space: ParameterSpace = ParameterSpace(
            self.model_space.parameters
            + tuple(
                FreeParameter(g.name, "noise", "", g.median, g.lower, g.upper)
                for g in config.noise
            )
        )
        clash = sorted(set(self.model_space.keys) & {g.name for g in config.noise})
        if clash:
            raise SecretomeError(f"{config.source}: {', '.join(clash)} is both fitted and noise")
        ev = data.load_evidence() if evidence is None else evidence
        ev = ev[ev["fit"]]
        if studies is not None:
            studies = list(studies)
            known = sorted(set(ev["study"]))
            unknown = [s for s in studies if s not in known]
            if unknown:
                raise SecretomeError(
                    f"unknown study {', '.join(unknown)}; known: {', '.join(known)}"
                )
            ev = ev[ev["study"].isin(studies)]
        if ev.empty:
            raise SecretomeError("no evidence rows to fit")
        self.evidence = ev.reset_index(drop=True)
        shipped = scenarios.shipped_scenarios()
        self.fixed = dict(fixed or {})
        self.terms: list[_Term] = []
        used: dict[str, scenarios.Scenario] = {}
        for _, row in self.evidence.iterrows():
            s = comparison.scenario_for(row, shipped)
            if s is None:
                raise SecretomeError(f"evidence row {row['id']}: no shipped scenario samples it")
            used[s.name] = s
            doses = comparison.row_doses(row)
            size = {"ordering": len(doses) - 1, "no_change": len(doses)}.get(row["kind"], 1)
            self.terms.append(
                _Term(
                    row["id"],
                    s.name,
                    comparison.observable_for(row),
                    float(row["time_h"]),
                    doses,
                    row["kind"],
                    size,
                )
            )
        self.scenarios = dict(sorted(used.items()))
        self._rows = {r["id"]: r for _, r in self.evidence.iterrows()}
        # which σ each quantitative row uses: a noise parameter's index, or fixed
        by_assay = {a: i for i, g in enumerate(config.noise) for a in g.assays}
        self._noise_of: dict[str, int] = {}
        self._fixed_sigma: dict[str, float] = {}
        for _, row in self.evidence.iterrows():
            if row["kind"] != "quantitative":
                continue
            if pd.isna(row["sd"]) and row["assay"] in by_assay:
                self._noise_of[row["id"]] = by_assay[row["assay"]]
            else:
                self._fixed_sigma[row["id"]] = quantitative_sigma(row, config)
        self.noise_counts = tuple(
            sum(1 for i in self._noise_of.values() if i == g) for g in range(len(config.noise))
        )
        self.failures = 0
        self.evaluations = 0

    @property
    def n_model(self) -> int:
        """Number of model parameters (the first entries of ``x``)."""
        return len(self.model_space)

    @property
    def noise_keys(self) -> list[str]:
        """Keys of the estimated noise parameters (the last entries of ``x``)."""
        return [g.name for g in self.config.noise]

    @property
    def n_residuals(self) -> int:
        """Length of :meth:`residuals`: the evidence's residuals, then one prior
        residual per noise parameter."""
        return sum(t.size for t in self.terms) + len(self.config.noise)

    def model_point(self, x) -> np.ndarray:
        """The model-parameter part of ``x`` (log10 units, order of :attr:`model_space`)."""
        return np.asarray(x, dtype=float)[: self.n_model]

    def noise_sigmas(self, x) -> dict[str, float]:
        """The noise parameters of ``x`` as σ values (linear, residual units)."""
        x = np.asarray(x, dtype=float)
        return {k: float(10.0 ** x[self.n_model + i]) for i, k in enumerate(self.noise_keys)}

    def noise_parameter_of(self, row_id: str) -> str | None:
        """The key of the noise parameter a quantitative row's σ is, or None (fixed σ)."""
        g = self._noise_of.get(row_id)
        return None if g is None else self.config.noise[g].name

    def row_sigma(self, row_id: str, x=None) -> float:
        """σ of a quantitative row's residual at ``x`` (needed only where the row uses
        an estimated noise parameter; default: the noise parameters' prior medians)."""
        if row_id in self._fixed_sigma:
            return self._fixed_sigma[row_id]
        g = self._noise_of[row_id]
        if x is None:
            return self.config.noise[g].median
        return float(10.0 ** np.asarray(x, dtype=float)[self.n_model + g])

    def predictions(self, x) -> dict[str, pd.DataFrame | None]:
        """Simulated observables per scenario (None where the simulation failed)."""
        out: dict[str, pd.DataFrame | None] = {}
        xm = self.model_point(x)
        for name, s in self.scenarios.items():
            params = dict(self.fixed)
            params.update(self.model_space.overrides(xm, s.cell_line, s.msc_source))
            try:
                obs = simulate(s, params, n_points=2, timecourses=False).observables
            except SimulationFailed:
                out[name] = None
                continue
            out[name] = None if not np.isfinite(obs["value"]).all() else obs
        return out

    def residuals(self, x) -> np.ndarray:
        """The residual vector at ``x`` (log10 units); fixed length :attr:`n_residuals`.

        The evidence's residuals (in the order of :attr:`terms`), then per noise
        parameter σ_a the prior residual (ln σ_a − ln m_a + n_a s_a²)/s_a, which
        carries both its log-normal prior (median m_a, SD s_a of ln σ_a) and the
        n_a ln σ_a normalising terms of the n_a rows that use it, so that
        ½ Σ r² is the negative log-likelihood up to a constant (``docs/likelihood.md``).
        """
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self.space),):
            raise ValueError(f"point has shape {x.shape}, the space has {len(self.space)}")
        self.evaluations += 1
        preds = self.predictions(x)
        if any(p is None for p in preds.values()):
            self.failures += 1
        parts = []
        for term in self.terms:
            obs = preds[term.scenario]
            if obs is None:
                parts.append(np.full(term.size, self.config.failure_residual))
                continue
            values = _values_at(obs, term)
            parts.append(self._term_residuals(self._rows[term.id], term, values, x))
        parts.append(self._noise_prior_residuals(x))
        r = np.concatenate(parts)
        return np.where(np.isfinite(r), r, self.config.failure_residual)

    def _noise_prior_residuals(self, x: np.ndarray) -> np.ndarray:
        out = np.empty(len(self.config.noise))
        for i, (g, n) in enumerate(zip(self.config.noise, self.noise_counts, strict=True)):
            ln_sigma = x[self.n_model + i] * _LN10
            out[i] = (ln_sigma - math.log(g.median) + n * g.log_sd**2) / g.log_sd
        return out

    def cost(self, x) -> float:
        """Half the sum of squared residuals (what least_squares minimises).

        Differs from :meth:`neg_log_likelihood` by :attr:`nll_constant`, which does
        not depend on ``x``; differences of ``cost`` are differences of the negative
        log-likelihood (``docs/likelihood.md``)."""
        r = self.residuals(x)
        return 0.5 * float(r @ r)

    @property
    def nll_constant(self) -> float:
        """``neg_log_likelihood(x) - cost(x)``: the x-independent normalising terms.

        For each quantitative residual with a fixed σ: ln σ + ½ ln 2π (σ in the
        residual's units: natural-log fold change or percentage points). Qualitative
        hinge terms add nothing (their likelihood factor is 1 when the constraint
        holds; ``docs/likelihood.md``)."""
        total = sum(math.log(v) + _HALF_LN_2PI for v in self._fixed_sigma.values())
        for g, n in zip(self.config.noise, self.noise_counts, strict=True):
            # ½((u − u*)/s)² = n u + (u − ln m)²/(2s²) − n ln m + n² s²/2, u = ln σ
            total += n * _HALF_LN_2PI + n * math.log(g.median) - 0.5 * n**2 * g.log_sd**2
            total += math.log(g.log_sd) + _HALF_LN_2PI  # the prior's normalisation
        return total

    def neg_log_likelihood(self, x) -> float:
        """The negative log-likelihood of the fitted evidence at ``x`` (log10 units, the
        order of :attr:`space`), every constant included.

        Quantitative rows: Gaussian in the residual's scale (ln fold change, or
        percentage points). Qualitative rows: a one-sided Gaussian penalty on the
        hinge residual, exp(−½ (h/σ_q)²), i.e. a soft censoring likelihood with
        fixed scale σ_q, equal to 1 when the constraint holds. Equals
        :meth:`cost` plus :attr:`nll_constant` (``docs/likelihood.md``)."""
        return self.cost(x) + self.nll_constant

    def _term_residuals(
        self, row: pd.Series, term: _Term, values: np.ndarray, x: np.ndarray
    ) -> np.ndarray:
        c = self.config
        assay = row["assay"]
        if term.kind == "quantitative":
            pred = values[0]
            if row["arm"] == "control":
                pred = values[1]  # the control arm's own value (Annexin control %)
            obs, sigma = observed_value(row), self.row_sigma(term.id, x)
            if row["scale"] in PERCENT_SCALES:
                return np.array([(pred - obs) / sigma])
            return np.array([(math.log(max(pred, 1e-300)) - math.log(obs)) / sigma])
        fold = values[0] / 100.0 if assay == "mtt" else values[0]
        s = {"up": 1.0, "down": -1.0}.get(row["direction"], 0.0)
        if term.kind == "direction":
            lnfc = math.log(max(fold, 1e-300))
            return np.array([max(0.0, c.direction_margin - s * lnfc) / c.qualitative_sigma])
        series = values[2] / (100.0 if assay == "mtt" else 1.0)
        ln = np.log(np.maximum(series, 1e-300))
        if term.kind == "no_change":
            return np.maximum(0.0, np.abs(ln) - c.no_change_bound) / c.qualitative_sigma
        steps = np.diff(ln)
        return np.maximum(0.0, c.order_margin - s * steps) / c.qualitative_sigma


def _values_at(obs: pd.DataFrame, term: _Term) -> tuple[float, float, np.ndarray]:
    """(first dose's value, its control-arm quantity, values across the term's doses)."""
    mask = (obs["observable"].to_numpy() == term.observable) & np.isclose(
        obs["time_h"].to_numpy(), term.time_h
    )
    doses = obs["dose"].to_numpy()[mask]
    value = obs["value"].to_numpy()[mask]
    control = obs["control"].to_numpy()[mask]
    idx = [int(np.argmin(np.abs(doses - d))) for d in term.doses]
    return float(value[idx[0]]), float(control[idx[0]]), value[idx]

"""The calibration objective: every fitted evidence row as weighted residuals.

:class:`Objective` maps a point of the fitted :class:`~secretome.space.ParameterSpace`
(log10 units) to a fixed-length vector of residuals, one or more per evidence row
with ``fit = true`` (``docs/calibration.md`` has the rules and their weights):

============  ====================================================================
kind          residual(s)
============  ====================================================================
quantitative  fold changes: (ln predicted − ln observed) / σ, σ = ln(1 + SD/value)
              when the paper gives SD, else σ of the assay; percentages (Annexin,
              MTT): (predicted − observed) / SD (percentage points)
direction     max(0, m − s·ln FC) / σ_q, s = +1 (up) or −1 (down), m = margin
no_change     max(0, |ln FC| − b) / σ_q at every dose
ordering      max(0, m_o − s·(ln v_{k+1} − ln v_k)) / σ_q for consecutive doses
============  ====================================================================

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
from secretome.space import ParameterSpace, parameter_space

ASSAY_SIGMA_DEFAULT = {
    "qpcr": 0.3,
    "western": 0.25,
    "elisa": 0.25,
    "wound": 0.3,
    "mtt": 10.0,
    "annexin": 3.0,
}


@dataclass(frozen=True)
class FitConfig:
    """What is fitted and how the evidence is weighted (``experiments/fit.toml``).

    Attributes
    ----------
    parameters : tuple of str
        Fitted parameter keys (``name`` or ``name[context]``).
    sigma : dict
        Assay -> σ of a quantitative result's log fold change where the paper
        gives no SD.
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
    allowed = {"parameters", "sigma", "qualitative", "optimiser"}
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
        **{k: v for k, v in given.items() if v is not None},  # else the defaults above
    )
    config = replace(config, max_nfev=int(config.max_nfev))
    parameter_space(config.parameters)  # refuses unknown names now, not mid-fit
    return config


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
        self.space: ParameterSpace = parameter_space(config.parameters)
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
        self.failures = 0
        self.evaluations = 0

    @property
    def n_residuals(self) -> int:
        return sum(t.size for t in self.terms)

    def predictions(self, x) -> dict[str, pd.DataFrame | None]:
        """Simulated observables per scenario (None where the simulation failed)."""
        out: dict[str, pd.DataFrame | None] = {}
        for name, s in self.scenarios.items():
            params = dict(self.fixed)
            params.update(self.space.overrides(x, s.cell_line, s.msc_source))
            try:
                obs = simulate(s, params, n_points=2, timecourses=False).observables
            except SimulationFailed:
                out[name] = None
                continue
            out[name] = None if not np.isfinite(obs["value"]).all() else obs
        return out

    def residuals(self, x) -> np.ndarray:
        """The residual vector at ``x`` (log10 units); fixed length :attr:`n_residuals`."""
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
            parts.append(self._term_residuals(self._rows[term.id], term, values))
        r = np.concatenate(parts)
        return np.where(np.isfinite(r), r, self.config.failure_residual)

    def cost(self, x) -> float:
        """Half the sum of squared residuals (what least_squares minimises)."""
        r = self.residuals(x)
        return 0.5 * float(r @ r)

    def _term_residuals(self, row: pd.Series, term: _Term, values: np.ndarray) -> np.ndarray:
        c = self.config
        assay = row["assay"]
        if term.kind == "quantitative":
            pred = values[0]
            if row["arm"] == "control":
                pred = values[1]  # the control arm's own value (Annexin control %)
            obs, sigma = observed_value(row), quantitative_sigma(row, c)
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

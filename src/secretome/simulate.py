"""Simulate a scenario: treated arms (one per dose) and a control arm, then observe.

:func:`simulate` is a pure function of (scenario, parameters): it returns a frozen
:class:`SimulationResult` holding two tidy tables,

* ``observables``: one row per (observable, sampling time, dose) with the treated and
  control model quantities and ``value``, what the assay reports (DESIGN.md §3):

  ========  ==========================================================
  assay     value
  ========  ==========================================================
  qpcr      mRNA treated / control (2^-ΔΔCt against a stable reference)
  western   protein (or phospho, or cleaved/pro ratio) treated / control
  elisa     medium cytokine treated / control
  annexin   % of all cells early (Annexin⁺PI⁻) or late (Annexin⁺PI⁺) apoptotic, treated arm
  mtt       100 × viable cells treated / control
  wound     migration index treated / control
  ========  ==========================================================

* ``timecourses``: every observable and medium cytokine over time, per arm and dose.

RoadRunner objects hold state, so each process keeps its own runner (created on
first use) and every arm starts from a reset.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from secretome import model
from secretome.errors import SecretomeError
from secretome.scenarios import Scenario, model_inputs

#: Columns of :attr:`SimulationResult.observables`.
OBSERVABLE_COLUMNS = (
    "scenario",
    "observable",
    "assay",
    "hgnc",
    "time_h",
    "dose",
    "treated",
    "control",
    "value",
)
#: Columns of :attr:`SimulationResult.timecourses`.
TIMECOURSE_COLUMNS = ("scenario", "arm", "dose", "time_h", "variable", "level")
MEDIUM_COMPARTMENT = "medium"
MEDIUM_CONTROL_LEVEL = 1.0
#: Assays reported as treated / control.
RATIO_ASSAYS = ("qpcr", "western", "elisa", "wound")


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` returns: the scenario, its observables and time courses."""

    scenario: Scenario
    observables: pd.DataFrame
    timecourses: pd.DataFrame
    parameters: Mapping[str, float]


class SimulationFailed(SecretomeError):
    """The integrator failed or produced non-finite values for a parameter set."""


@cache
def _runner_for(pid: int, models_dir: str | None):
    """One RoadRunner per process (and model directory); ``pid`` keys forked workers apart."""
    spec = model.load_model(models_dir)
    return spec, model.new_runner(spec)


@cache
def medium_species(sbml: str) -> tuple[str, ...]:
    """Species in the ``medium`` compartment (the cytokines a medium change removes)."""
    import libsbml

    doc = libsbml.readSBMLFromString(sbml)
    m = doc.getModel()
    return tuple(
        m.getSpecies(i).getId()
        for i in range(m.getNumSpecies())
        if m.getSpecies(i).getCompartment() == MEDIUM_COMPARTMENT
    )


def _medium_reset_values(spec: model.ModelSpec) -> dict[str, float]:
    """Levels that a medium change restores: fresh medium holds each cytokine at its
    control level, which is 1 by the unit convention of ``models/secretome.ant``."""
    return dict.fromkeys(medium_species(spec.sbml), MEDIUM_CONTROL_LEVEL)


def observation_value(assay: str, treated: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Turn model quantities of both arms into what the assay reports (see module docs)."""
    treated = np.asarray(treated, dtype=float)
    control = np.asarray(control, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if assay in RATIO_ASSAYS:
            return treated / control
        if assay == "mtt":
            return 100.0 * treated / control
        if assay == "annexin":
            return treated
    raise ValueError(f"unknown assay {assay!r}")


def _run_arm(
    rr,
    spec: model.ModelSpec,
    values: Mapping[str, float],
    scenario: Scenario,
    variables: list[str],
    n_points: int,
) -> pd.DataFrame:
    """Simulate one arm; returns a wide table indexed by time with one column per variable."""
    model.apply_parameters(rr, values)
    grid = np.linspace(0.0, scenario.duration_h, n_points)
    times = np.unique(np.concatenate([grid, scenario.sampling_h, scenario.medium_changes_h]))
    bounds = [0.0, *scenario.medium_changes_h, scenario.duration_h]
    reset = _medium_reset_values(spec)
    pieces = []
    for k, (t0, t1) in enumerate(itertools.pairwise(bounds)):
        if k > 0:
            for name, level in reset.items():  # fresh medium: cytokines back to control
                rr[f"[{name}]"] = level
        seg = times[(times >= t0) & (times <= t1)]
        seg = np.unique(np.concatenate([[t0], seg, [t1]]))
        try:
            out = rr.simulate(times=list(seg), selections=["time", *variables])
        except RuntimeError as exc:
            raise SimulationFailed(f"integration failed in {scenario.name}: {exc}") from None
        block = pd.DataFrame(np.asarray(out), columns=["time", *variables])
        # a medium change at t1 is applied after sampling t1: keep the pre-change value
        pieces.append(block if k == 0 else block.iloc[1:])
    wide = pd.concat(pieces, ignore_index=True).set_index("time")
    if not np.isfinite(wide.to_numpy()).all():
        raise SimulationFailed(f"non-finite values in {scenario.name}")
    return wide


def simulate(
    scenario: Scenario,
    params: Mapping[str, float] | None = None,
    *,
    n_points: int = 121,
    record: Sequence[str] = (),
    models_dir: str | None = None,
) -> SimulationResult:
    """Simulate a scenario's control arm and one treated arm per dose.

    Parameters
    ----------
    scenario : Scenario
        From :func:`secretome.scenarios.load_scenario`.
    params : mapping, optional
        Parameter values overriding the table's nominal (or fitted) values for the
        scenario's cell line and MSC source. Unknown names are refused.
    n_points : int
        Points of the time-course grid (sampling times are always included).
    record : sequence of str
        Further model variables (species, assignment rules) to keep in the time
        courses, e.g. ``("pSTAT3", "pAKT")`` (observables are always kept).
        Unknown names are refused.
    models_dir : str, optional
        Another model directory (default: the shipped ``models/``).

    Returns
    -------
    SimulationResult

    Raises
    ------
    SimulationFailed
        If the integrator fails or returns non-finite values.
    """
    spec, rr = _runner_for(os.getpid(), models_dir)
    base = model.parameter_values(spec, scenario.cell_line, scenario.msc_source, params)
    variables = [o.variable for o in spec.observables]
    variables += [v for v in medium_species(spec.sbml) if v not in variables]
    observable_names = {o.name for o in spec.observables}  # recorded anyway
    record = [v for v in record if v not in observable_names]
    known = set(rr.model.getFloatingSpeciesIds()) | set(rr.model.getGlobalParameterIds())
    unknown = [v for v in record if v not in known]
    if unknown:
        raise SecretomeError(
            f"unknown model variable(s) {', '.join(unknown)}; "
            f"species are: {', '.join(rr.model.getFloatingSpeciesIds())}"
        )
    variables += [v for v in record if v not in variables]

    arms = [("control", None)] + [("treated", d) for d in scenario.doses]
    wide: dict[tuple[str, float | None], pd.DataFrame] = {}
    for arm, dose in arms:
        values = {**base, **model_inputs(scenario, dose, arm=arm)}
        wide[arm, dose] = _run_arm(rr, spec, values, scenario, variables, n_points)

    control = wide["control", None]
    rows = []
    for obs in spec.observables:
        c = control.loc[list(scenario.sampling_h), obs.variable].to_numpy()
        for dose in scenario.doses:
            t = wide["treated", dose].loc[list(scenario.sampling_h), obs.variable].to_numpy()
            v = observation_value(obs.assay, t, c)
            for time_h, ti, ci, vi in zip(scenario.sampling_h, t, c, v, strict=True):
                rows.append(
                    (scenario.name, obs.name, obs.assay, obs.hgnc, time_h, dose, ti, ci, vi)
                )
    observables = pd.DataFrame(rows, columns=list(OBSERVABLE_COLUMNS))

    names = {o.variable: o.name for o in spec.observables}
    frames = []
    for (arm, dose), w in wide.items():
        long = w.rename(columns=names).reset_index(names="time_h")
        long = long.melt(id_vars="time_h", var_name="variable", value_name="level")
        long.insert(0, "dose", np.nan if dose is None else dose)
        long.insert(0, "arm", arm)
        long.insert(0, "scenario", scenario.name)
        frames.append(long)
    timecourses = pd.concat(frames, ignore_index=True)[list(TIMECOURSE_COLUMNS)]
    return SimulationResult(scenario, observables, timecourses, dict(base))

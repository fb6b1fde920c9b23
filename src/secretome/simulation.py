"""Simulate a scenario: treated arms (one per dose) and a control arm, then observe.

:func:`simulate` is a pure function of (scenario, parameters): it returns a frozen
:class:`SimulationResult` holding two tidy tables,

* ``observables``: one row per (observable, sampling time, dose) with the treated and
  control model quantities and ``value``, what the assay reports (DESIGN.md §3):

  ==========  ========================================================
  assay       value
  ==========  ========================================================
  qpcr        mRNA treated / control (2^-ΔΔCt against a stable reference)
  western     protein (or phospho, or cleaved/pro ratio) treated / control
  elisa       medium cytokine treated / control
  annexin     % of all cells early (Annexin⁺PI⁻) or late (Annexin⁺PI⁺) apoptotic, treated arm
  cell_cycle  % of all cells cycling or arrested, treated arm
  mtt         100 × viable cells treated / control
  wound       migration index treated / control
  ==========  ========================================================

* ``timecourses``: every observable and medium cytokine over time, per arm and dose.

Two backends integrate the same SBML at the same tolerances (rtol 1e-8, atol
1e-12) and agree to within 1e-5 relative (``tests/test_compiled.py``):

* ``"compiled"`` (default): the model compiled with Numba and integrated by the
  BDF integrator of :mod:`secretome.bdf` (:mod:`secretome.compiled`); about 5x
  faster, compiled once per machine and cached.
* ``"roadrunner"``: libRoadRunner's CVODE, the SBML community's simulator.
  RoadRunner objects hold state, so each process keeps its own runner (created
  on first use) and every arm starts from a reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import ModuleType

import numpy as np
import pandas as pd

from secretome import compiled, libroadrunner, model
from secretome.errors import SecretomeError, SimulationFailed
from secretome.scenarios import Scenario, capacity_input, model_inputs

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
#: Assays reported as treated / control.
RATIO_ASSAYS = ("qpcr", "western", "elisa", "wound")
#: Simulation backends (see the module docstring); the first is the default.
BACKENDS = ("compiled", "roadrunner")
DEFAULT_BACKEND = BACKENDS[0]
#: The module implementing each backend's ``run_arm`` (one interface, see
#: :func:`secretome.compiled.run_arm`).
_BACKEND_MODULES: dict[str, ModuleType] = {"compiled": compiled, "roadrunner": libroadrunner}


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate` returns: the scenario, its observables and time courses.

    Attributes
    ----------
    scenario : Scenario
        The scenario simulated (with any changes the caller made).
    observables : pandas.DataFrame
        One row per (observable, sampling time, dose); columns
        :data:`OBSERVABLE_COLUMNS`.
    timecourses : pandas.DataFrame or None
        Long table (:data:`TIMECOURSE_COLUMNS`) of every recorded variable over time,
        per arm and dose; ``None`` when ``simulate(..., timecourses=False)``.
    parameters : mapping
        Every parameter value used (the context's table values and the overrides).
    """

    scenario: Scenario
    observables: pd.DataFrame
    timecourses: pd.DataFrame | None
    parameters: Mapping[str, float]


def split_key(key: str) -> tuple[str, str]:
    """``"w_prol_AKT[AGS]"`` -> ``("w_prol_AKT", "AGS")``; a bare name has context ``""``."""
    name, bracket, rest = key.partition("[")
    if bracket and not rest.endswith("]"):
        raise SecretomeError(f"parameter key {key!r}: expected name or name[context]")
    return name, rest.removesuffix("]")


def resolve_context(
    spec: model.ModelSpec, params: Mapping[str, float], cell_line: str, msc_source: str
) -> dict[str, float]:
    """Keep the entries of ``params`` that apply to one cell line and MSC source.

    ``name[context]`` keys apply only in their context; bare names everywhere.
    """
    known = {*spec.cell_lines, *spec.msc_sources}
    out: dict[str, float] = {}
    for key, value in params.items():
        name, context = split_key(key)
        if not context:
            out[name] = float(value)
            continue
        if context not in known:
            raise SecretomeError(
                f"parameter key {key!r}: expected name[context] with context one of "
                f"{', '.join(sorted(known))}"
            )
        if context in (cell_line, msc_source):
            out[name] = float(value)
    return out


def _assay_form(assay: str) -> tuple[bool, float]:
    """How an assay reports the arms: (as treated / control?, times what factor)."""
    if assay in RATIO_ASSAYS:
        return True, 1.0
    if assay == "mtt":
        return True, 100.0
    if assay in model.PERCENT_ASSAYS:
        return False, 1.0
    raise ValueError(f"unknown assay {assay!r}")


def observation_value(assay: str, treated: np.ndarray, control: np.ndarray) -> np.ndarray:
    """Turn model quantities of both arms into what the assay reports (see module docs)."""
    ratio, factor = _assay_form(assay)
    treated = np.asarray(treated, dtype=float)
    if not ratio:
        return factor * treated
    with np.errstate(divide="ignore", invalid="ignore"):
        return factor * treated / np.asarray(control, dtype=float)


def simulate(
    scenario: Scenario,
    params: Mapping[str, float] | None = None,
    *,
    n_points: int = 121,
    record: Sequence[str] = (),
    timecourses: bool = True,
    models_dir: str | None = None,
    backend: str = DEFAULT_BACKEND,
) -> SimulationResult:
    """Simulate a scenario's control arm and one treated arm per dose.

    Parameters
    ----------
    scenario : Scenario
        From :func:`secretome.scenarios.load_scenario`.
    params : mapping, optional
        Parameter values overriding the table's nominal values. A key is a name
        (applies to every context) or ``name[context]`` (applies only when the
        scenario's cell line or MSC source is that context), as in a fitted
        parameter file. Unknown names and contexts are refused.
    n_points : int
        Points of the time-course grid (sampling times are always included).
    record : sequence of str
        Further model variables (species, assignment rules) to keep in the time
        courses, e.g. ``("pSTAT3", "pAKT")`` (observables are always kept).
        Unknown names are refused.
    timecourses : bool
        Build the time-course table (``False`` leaves it ``None``: fits and
        sensitivity analyses need only the observables).
    models_dir : str, optional
        Another model directory (default: the shipped ``models/``).
    backend : {"compiled", "roadrunner"}
        Which simulator integrates the model (see the module docstring).

    Returns
    -------
    SimulationResult

    Raises
    ------
    SimulationFailed
        If the integrator fails or returns non-finite values.
    """
    if backend not in BACKENDS:
        raise SecretomeError(f"backend must be one of {', '.join(BACKENDS)}, not {backend!r}")
    run_arm = _BACKEND_MODULES[backend].run_arm
    spec = _spec_for(models_dir)
    params = resolve_context(spec, params or {}, scenario.cell_line, scenario.msc_source)
    base = _parameter_values(spec, scenario, params)
    known = model.variable_names(spec)

    variables = [o.variable for o in spec.observables]
    variables += [v for v in model.medium_species(spec.sbml) if v not in variables]
    observable_names = {o.name for o in spec.observables}  # recorded anyway
    record = [v for v in record if v not in observable_names]
    unknown = [v for v in record if v not in known]
    if unknown:
        raise SecretomeError(
            f"unknown model variable(s) {', '.join(unknown)}; "
            f"species are: {', '.join(spec.species)}"
        )
    variables += [v for v in record if v not in variables]

    if timecourses:
        grid = np.linspace(0.0, scenario.duration_h, max(int(n_points), 2))
        times = np.unique(np.concatenate([grid, scenario.sampling_h]))
    else:  # only the sampling times are read
        times = np.unique(np.asarray(scenario.sampling_h, dtype=float))
    at = np.searchsorted(times, scenario.sampling_h)
    arms = [("control", None)] + [("treated", d) for d in scenario.doses]
    runs = {
        (arm, dose): run_arm(
            spec, scenario, params, arm_inputs(spec, scenario, dose, arm), variables, times
        )
        for arm, dose in arms
    }

    n_obs = len(spec.observables)
    control = runs["control", None][at, :n_obs]  # sampling times × observables
    treated = np.stack([runs["treated", dose][at, :n_obs] for dose in scenario.doses])
    layout = _observables_layout(spec, scenario.name, scenario.sampling_h, scenario.doses)
    control_col = np.tile(control.T.ravel(), len(scenario.doses))
    treated_col = treated.transpose(0, 2, 1).ravel()  # dose, observable, time
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(layout["ratio"], treated_col / control_col, treated_col)
    value = layout["factor"] * ratio
    observables = pd.DataFrame(
        {
            **layout["columns"],
            "treated": treated_col,
            "control": control_col,
            "value": value,
        },
        columns=list(OBSERVABLE_COLUMNS),
    )

    timecourses = (
        _timecourse_table(spec, scenario, variables, times, runs) if timecourses else None
    )
    return SimulationResult(scenario, observables, timecourses, dict(base))


def arm_inputs(
    spec: model.ModelSpec, scenario: Scenario, dose: float | None, arm: str = "treated"
) -> dict[str, float]:
    """The model inputs of one arm of ``scenario``: its delivery
    (:func:`secretome.scenarios.model_inputs`) and, for a model that limits growth
    by the well (an input ``capacity``), the well's capacity in cells seeded.

    Parameters
    ----------
    spec : ModelSpec
    scenario : Scenario
    dose : float or None
        The treated arm's dose; ``None`` for the control arm.
    arm : {"treated", "control"}

    Returns
    -------
    dict
        Input name to value.
    """
    inputs = model_inputs(scenario, dose, arm=arm)
    if "capacity" in model.variable_names(spec):
        well = capacity_input(scenario)
        if well is not None:
            inputs = {"capacity": well, **inputs}
    return inputs


def _parameter_values(
    spec: model.ModelSpec, scenario: Scenario, params: dict[str, float]
) -> dict[str, float]:
    """:func:`secretome.model.parameter_values` for a scenario, from the cached defaults."""
    defaults = model.context_values(spec, scenario.cell_line, scenario.msc_source)
    if any(k not in defaults for k in params):  # let the model stage word the error
        return model.parameter_values(spec, scenario.cell_line, scenario.msc_source, params)
    return {**defaults, **params}


def observables_index(scenario: Scenario, models_dir: str | None = None) -> pd.MultiIndex:
    """(observable, time_h, dose) of each row of :func:`simulate`'s observables
    table for ``scenario``, in row order: look rows up once, then index arrays."""
    spec = _spec_for(models_dir)
    cols = _observables_layout(spec, scenario.name, scenario.sampling_h, scenario.doses)["columns"]
    return pd.MultiIndex.from_arrays(
        [cols["observable"], cols["time_h"], cols["dose"]], names=["observable", "time_h", "dose"]
    )


@cache
def _spec_for(models_dir: str | None) -> model.ModelSpec:
    return model.load_model(models_dir)


@cache
def _observables_layout(
    spec: model.ModelSpec, name: str, sampling_h: tuple[float, ...], doses: tuple[float, ...]
) -> dict:
    """The columns of the observables table that do not depend on the simulation,
    in its row order (dose, observable, sampling time), and how each row's value is
    made from the two arms (:func:`_assay_form`, as :func:`observation_value` does)."""
    obs = spec.observables
    n_t, n_obs, n_d = len(sampling_h), len(obs), len(doses)

    def strings(values) -> pd.api.extensions.ExtensionArray:
        return pd.array(np.tile(np.repeat(values, n_t), n_d), dtype="str")

    forms = [_assay_form(o.assay) for o in obs]
    ratio = np.tile(np.repeat([r for r, _ in forms], n_t), n_d)
    factor = np.tile(np.repeat([f for _, f in forms], n_t), n_d)
    return {
        "columns": {
            "scenario": pd.array(np.repeat(name, n_t * n_obs * n_d), dtype="str"),
            "observable": strings([o.name for o in obs]),
            "assay": strings([o.assay for o in obs]),
            "hgnc": strings([o.hgnc for o in obs]),
            "time_h": np.tile(np.asarray(sampling_h, dtype=float), n_obs * n_d),
            "dose": np.repeat(np.asarray(doses, dtype=float), n_obs * n_t),
        },
        "ratio": ratio,
        "factor": factor,
    }


def _timecourse_table(
    spec: model.ModelSpec,
    scenario: Scenario,
    variables: list[str],
    times: np.ndarray,
    runs: Mapping[tuple[str, float | None], np.ndarray],
) -> pd.DataFrame:
    """Long table of every recorded variable over time, per arm and dose."""
    names = {o.variable: o.name for o in spec.observables}
    labels = [names.get(v, v) for v in variables]
    frames = []
    for (arm, dose), block in runs.items():
        n_t, n_v = block.shape
        frames.append(
            pd.DataFrame(
                {
                    "scenario": scenario.name,
                    "arm": arm,
                    "dose": np.nan if dose is None else dose,
                    "time_h": np.tile(times, n_v),
                    "variable": np.repeat(labels, n_t),
                    "level": block.T.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)[list(TIMECOURSE_COLUMNS)]


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "OBSERVABLE_COLUMNS",
    "TIMECOURSE_COLUMNS",
    "SimulationFailed",
    "SimulationResult",
    "arm_inputs",
    "observables_index",
    "observation_value",
    "resolve_context",
    "simulate",
    "split_key",
]

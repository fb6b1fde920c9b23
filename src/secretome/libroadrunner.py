"""The libRoadRunner backend: the SBML integrated by libRoadRunner's CVODE.

One of the two simulation backends (the other is :mod:`secretome.compiled`); both
implement :func:`run_arm` with the same signature, and
:func:`secretome.simulation.simulate` picks one by name. Everything that touches a
``roadrunner.RoadRunner`` lives here.

RoadRunner objects hold state: each process and thread keeps its own runner
(:func:`runner_for`, created on first use) and every arm starts from a reset.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from functools import cache

import numpy as np
import roadrunner

from secretome import model
from secretome.errors import SecretomeError, SimulationFailed
from secretome.scenarios import Scenario, segments

#: Most CVODE steps per output interval. libRoadRunner's default (20000) lets a
#: stalling parameter set grind for minutes; a treated arm of 7 days takes a few
#: hundred steps in all, so this bound only ever stops a stall.
MAX_STEPS = 5000


def new_runner(spec: model.ModelSpec) -> roadrunner.RoadRunner:
    """A fresh RoadRunner for the model, selections = time, species, observables.

    RoadRunner objects hold state: create one per worker and never share it.
    Integrator failures are raised, counted and reported by the callers
    (:class:`~secretome.errors.SimulationFailed`), so libRoadRunner's own log is
    limited to critical messages instead of printing CVODE errors to stderr.
    """
    roadrunner.Logger.setLevel(roadrunner.Logger.LOG_CRITICAL)
    rr = roadrunner.RoadRunner(spec.sbml)
    rr.timeCourseSelections = ["time", *spec.species, *(o.variable for o in spec.observables)]
    integrator = rr.getIntegrator()
    integrator.setValue("relative_tolerance", model.RTOL)
    integrator.setValue("absolute_tolerance", model.ATOL)
    integrator.setValue("maximum_num_steps", MAX_STEPS)
    return rr


def apply_parameters(rr: roadrunner.RoadRunner, values: Mapping[str, float]) -> None:
    """Reset ``rr`` to t = 0 with the given parameter values.

    Values are set as the parameters' current values in one vectorised call, then
    the model is reset: ``reset()`` re-evaluates every species' initial assignment
    (control levels, initial cell fractions, the conditioned-medium bolus) from
    the current values, and every derived rate constant is an assignment rule
    (``:=`` in the Antimony files), so nothing is left from an earlier call.
    Setting ``init(name)`` instead makes libRoadRunner regenerate the model, about
    0.4 s per parameter; this path takes well under a millisecond. Pass a complete
    set (from :func:`secretome.model.parameter_values`): values persist on ``rr``.
    """
    index = _parameter_index(rr)
    try:
        idx = np.fromiter((index[name] for name in values), dtype=np.int32, count=len(values))
    except KeyError as exc:
        raise SecretomeError(f"unknown parameter {exc.args[0]!r}") from None
    vals = np.fromiter((float(v) for v in values.values()), dtype=float, count=len(values))
    rr.model.setGlobalParameterValues(idx, vals)
    rr.reset()


def _parameter_index(rr: roadrunner.RoadRunner) -> dict[str, int]:
    """Global parameter id -> index in ``rr.model`` (cached on the runner)."""
    cached = getattr(rr, "_secretome_index", None)
    if cached is None:
        cached = {name: i for i, name in enumerate(rr.model.getGlobalParameterIds())}
        rr._secretome_index = cached
    return cached


@cache
def _runner(spec: model.ModelSpec, pid: int, thread: int) -> roadrunner.RoadRunner:
    return new_runner(spec)


def runner_for(spec: model.ModelSpec) -> roadrunner.RoadRunner:
    """This process's and thread's RoadRunner for ``spec`` (created on first use).

    Two threads (a threaded Dask worker) must never share a runner; the process
    id keeps forked workers apart.
    """
    return _runner(spec, os.getpid(), threading.get_ident())


def initial_values(spec: model.ModelSpec, names: Sequence[str]) -> dict[str, float]:
    """Values of model symbols at t = 0 with the SBML's own parameter values."""
    rr = roadrunner.RoadRunner(spec.sbml)
    return {n: float(rr[n]) for n in names}


def run_arm(
    spec: model.ModelSpec,
    scenario: Scenario,
    params: Mapping[str, float],
    inputs: Mapping[str, float],
    variables: Sequence[str],
    times: np.ndarray,
) -> np.ndarray:
    """Simulate one arm of ``scenario``: a (times × variables) array.

    The backend interface (:func:`secretome.compiled.run_arm` has the same one).

    Parameters
    ----------
    spec : ModelSpec
    scenario : Scenario
        Its cell line and MSC source pick the table values; its medium changes
        split the integration (fresh medium: cytokines back to control).
    params : mapping
        Overrides of the context's table values (names already resolved to this
        context, see :func:`secretome.simulation.resolve_context`).
    inputs : mapping
        The arm's inputs (:func:`secretome.scenarios.model_inputs`), set last.
    variables : sequence of str
        Model symbols to return, in column order.
    times : numpy.ndarray
        Ascending output times (h), within the scenario's duration.

    Raises
    ------
    SimulationFailed
        If CVODE fails or stalls, or a value is not finite.
    """
    rr = runner_for(spec)
    values = {**model.context_values(spec, scenario.cell_line, scenario.msc_source), **params}
    apply_parameters(rr, {**values, **inputs})
    reset = model.medium_reset_values(spec)
    selections = list(variables)
    pieces = []
    for k, seg, keep in segments(scenario, times):
        if k > 0:
            for name, level in reset.items():  # fresh medium: cytokines back to control
                rr[f"[{name}]"] = level
        try:
            out = np.asarray(rr.simulate(times=list(seg), selections=selections))
        except RuntimeError as exc:
            raise SimulationFailed(f"integration failed in {scenario.name}: {exc}") from None
        pieces.append(out[keep])
    block = np.vstack(pieces)
    if not np.isfinite(block).all():
        raise SimulationFailed(f"non-finite values in {scenario.name}")
    # CVODE has no bound on the state: check the outputs and the final state
    state = np.asarray(rr.model.getFloatingSpeciesConcentrations())
    if max(np.abs(block).max(), np.abs(state).max()) > model.MAX_STATE:
        raise SimulationFailed(
            f"integration failed in {scenario.name}: state exceeded {model.MAX_STATE:g} "
            f"by t = {times[-1]:g} h: the model blew up"
        )
    return block


__all__ = [
    "MAX_STEPS",
    "apply_parameters",
    "initial_values",
    "new_runner",
    "run_arm",
    "runner_for",
]

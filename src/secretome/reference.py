"""A reference implementation of the model: a plain SciPy right-hand side from the SBML.

Used only to check :func:`secretome.simulation.simulate` (both backends) for
accuracy and to measure its speed against (``benchmarks/``); nothing else in the
package calls it.

:func:`compile_reference` has :func:`secretome.codegen.generate` write plain
Python source for ``rhs``, ``initial`` and ``observe`` (the observables'
assignment rules), compiled once per SBML text.

:func:`reference_simulate` integrates each arm with ``scipy.integrate.solve_ivp``
(LSODA) at the tolerances of :func:`secretome.libroadrunner.new_runner` and returns the
observables table of :func:`~secretome.simulation.simulate`. Scenarios with medium
changes are refused (no paper scenario has one).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

import numpy as np
import pandas as pd

from secretome import model
from secretome.codegen import generate
from secretome.errors import SecretomeError
from secretome.scenarios import Scenario
from secretome.simulation import (
    OBSERVABLE_COLUMNS,
    SimulationFailed,
    arm_inputs,
    observation_value,
    resolve_context,
)

#: Integrator tolerances; the same as every simulator's (:data:`secretome.model.RTOL`).
RTOL = model.RTOL
ATOL = model.ATOL
METHOD = "LSODA"


@dataclass(frozen=True)
class ReferenceModel:
    """The model as plain Python functions (see the module docstring).

    Attributes
    ----------
    species : tuple of str
        State variables, in the order of ``y``.
    parameters : tuple of str
        Constant global parameters, in the order of ``p``.
    defaults : numpy.ndarray
        The SBML's values of ``parameters``.
    observed : tuple of str
        Assignment-rule variables returned by ``observe``, in that order.
    rhs, initial, observe : callable
    source : str
        The generated Python source (for reading and debugging).
    """

    species: tuple[str, ...]
    parameters: tuple[str, ...]
    defaults: np.ndarray
    observed: tuple[str, ...]
    rhs: Callable[[float, np.ndarray, tuple], list]
    initial: Callable[[tuple], list]
    observe: Callable[[float, np.ndarray, tuple], list]
    source: str

    def parameter_vector(self, values: Mapping[str, float]) -> tuple[float, ...]:
        """The SBML defaults with ``values`` set; unknown names are refused."""
        index = {n: i for i, n in enumerate(self.parameters)}
        p = self.defaults.copy()
        for name, v in values.items():
            if name not in index:
                raise SecretomeError(f"unknown parameter {name!r}")
            p[index[name]] = float(v)
        return tuple(p.tolist())


@cache
def compile_reference(sbml: str, observed: tuple[str, ...]) -> ReferenceModel:
    """Generate (:func:`secretome.codegen.generate`) and compile the reference
    functions for an SBML text (cached).

    Parameters
    ----------
    sbml : str
        SBML of the composed model (``ModelSpec.sbml``).
    observed : tuple of str
        Assignment-rule variables that ``observe`` returns.
    """
    gen = generate(sbml, tuple(observed), "python")
    namespace: dict = {}
    exec(compile(gen.source, "<secretome.reference>", "exec"), namespace)  # generated code
    return ReferenceModel(
        gen.species,
        gen.parameters,
        np.array(gen.defaults, dtype=float),
        gen.observed,
        namespace["rhs"],
        namespace["initial"],
        namespace["observe"],
        gen.source,
    )


def reference_model(spec: model.ModelSpec | None = None) -> ReferenceModel:
    """The reference functions for a model (default: the shipped one), observing its
    observables."""
    spec = spec or model.load_model()
    return compile_reference(spec.sbml, tuple(o.variable for o in spec.observables))


def integrate_arm(
    ref: ReferenceModel, values: Mapping[str, float], times: np.ndarray
) -> np.ndarray:
    """Observables of one arm at ``times`` (> 0): a (times × observables) array."""
    from scipy.integrate import solve_ivp

    p = ref.parameter_vector(values)
    y0 = np.asarray(ref.initial(p), dtype=float)
    times = np.asarray(times, dtype=float)
    sol = solve_ivp(
        ref.rhs,
        (0.0, float(times.max())),
        y0,
        method=METHOD,
        t_eval=times,
        rtol=RTOL,
        atol=ATOL,
        args=(p,),
    )
    if not sol.success:
        raise SimulationFailed(f"reference integration failed: {sol.message}")
    out = np.array([ref.observe(t, y, p) for t, y in zip(sol.t, sol.y.T, strict=True)])
    if not np.isfinite(out).all():
        raise SimulationFailed("reference integration gave non-finite values")
    return out


def reference_simulate(
    scenario: Scenario, params: Mapping[str, float] | None = None
) -> pd.DataFrame:
    """The observables table of :func:`secretome.simulation.simulate`, from the reference.

    Parameters
    ----------
    scenario : Scenario
        Must have no medium changes.
    params : mapping, optional
        As for :func:`~secretome.simulation.simulate` (``name`` or ``name[context]`` keys).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`secretome.simulation.OBSERVABLE_COLUMNS`, rows in the same order.
    """
    if scenario.medium_changes_h:
        raise SecretomeError(
            f"scenario {scenario.name} has medium changes; the reference implementation "
            "does not model them"
        )
    spec = model.load_model()
    ref = reference_model(spec)
    params = resolve_context(spec, params or {}, scenario.cell_line, scenario.msc_source)
    base = model.parameter_values(spec, scenario.cell_line, scenario.msc_source, params)
    times = np.asarray(scenario.sampling_h, dtype=float)
    control_inputs = arm_inputs(spec, scenario, None, arm="control")
    control = integrate_arm(ref, {**base, **control_inputs}, times)
    obs = spec.observables
    frames = []
    for dose in scenario.doses:
        treated = integrate_arm(ref, {**base, **arm_inputs(spec, scenario, dose)}, times)
        for j, o in enumerate(obs):
            frames.append(
                pd.DataFrame(
                    {
                        "scenario": scenario.name,
                        "observable": o.name,
                        "assay": o.assay,
                        "hgnc": o.hgnc,
                        "time_h": times,
                        "dose": float(dose),
                        "treated": treated[:, j],
                        "control": control[:, j],
                        "value": observation_value(o.assay, treated[:, j], control[:, j]),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)[list(OBSERVABLE_COLUMNS)]


__all__ = [
    "ATOL",
    "METHOD",
    "RTOL",
    "ReferenceModel",
    "compile_reference",
    "integrate_arm",
    "reference_model",
    "reference_simulate",
]

"""The space of free parameters, shared by fitting and sensitivity analysis.

A free parameter is one row of ``models/parameters.csv``: a name and, for a
cell-line or MSC-source parameter, its context. ``w_prol_AKT[AGS]`` and
``w_prol_AKT[A431]`` are two free parameters. Points of the space are vectors in
log10 units within the table's bounds; :meth:`ParameterSpace.overrides` turns a
point into the parameter values one scenario needs (only the rows of its cell
line and MSC source apply).

:func:`evaluate` maps an N×D array of points to an N×K array of observable values
for one scenario, through the same :func:`secretome.simulation.simulate` path as
everything else; SALib and the optimiser both call it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from secretome import model
from secretome.errors import SecretomeError
from secretome.scenarios import Scenario
from secretome.simulation import SimulationFailed, observables_index, simulate


@dataclass(frozen=True)
class FreeParameter:
    """One row of the parameter table that a fit or an analysis varies."""

    name: str
    scope: str
    context: str
    nominal: float
    lower: float
    upper: float

    @property
    def key(self) -> str:
        """``name`` for shared parameters, ``name[context]`` for scoped ones."""
        return f"{self.name}[{self.context}]" if self.context else self.name

    def applies_to(self, cell_line: str, msc_source: str) -> bool:
        return self.scope == "shared" or self.context in (cell_line, msc_source)


@dataclass(frozen=True)
class ParameterSpace:
    """An ordered set of free parameters, varied in log10 units within their bounds."""

    parameters: tuple[FreeParameter, ...]

    def __len__(self) -> int:
        return len(self.parameters)

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.parameters]

    @property
    def lower(self) -> np.ndarray:
        return np.log10([p.lower for p in self.parameters])

    @property
    def upper(self) -> np.ndarray:
        return np.log10([p.upper for p in self.parameters])

    @property
    def nominal(self) -> np.ndarray:
        return np.log10([p.nominal for p in self.parameters])

    def overrides(self, x: Sequence[float], cell_line: str, msc_source: str) -> dict[str, float]:
        """Linear-scale parameter values of point ``x`` that apply to one context."""
        x = np.asarray(x, dtype=float)
        if x.shape != (len(self),):
            raise ValueError(f"point has shape {x.shape}, the space has {len(self)} parameters")
        return {
            p.name: float(10.0**xi)
            for p, xi in zip(self.parameters, x, strict=True)
            if p.applies_to(cell_line, msc_source)
        }

    def relevant_to(self, cell_line: str, msc_source: str) -> ParameterSpace:
        """The sub-space that can affect a scenario of this cell line and MSC source."""
        return ParameterSpace(
            tuple(p for p in self.parameters if p.applies_to(cell_line, msc_source))
        )

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "key": p.key,
                    "name": p.name,
                    "scope": p.scope,
                    "context": p.context,
                    "nominal": p.nominal,
                    "lower": p.lower,
                    "upper": p.upper,
                }
                for p in self.parameters
            ]
        )


def parameter_space(
    select: Iterable[str] | None = None,
    *,
    contexts: Iterable[str] | None = None,
    spec: model.ModelSpec | None = None,
) -> ParameterSpace:
    """Build a space from the parameter table.

    Parameters
    ----------
    select : iterable of str, optional
        Parameter names (every context of each) or keys ``name[context]``. Default:
        every row whose ``estimate`` column is true.
    contexts : iterable of str, optional
        Keep only shared rows and rows of these cell lines / MSC sources.
    spec : ModelSpec, optional
        Default: the shipped model.

    Raises
    ------
    SecretomeError
        For names or keys that are not in the table, or that are model inputs.
    """
    spec = spec or model.load_model()
    table = spec.parameters.copy()
    table["context"] = table["context"].fillna("").astype(str)
    table["key"] = [
        f"{n}[{c}]" if c else n for n, c in zip(table["name"], table["context"], strict=True)
    ]
    if select is None:
        rows = table[table["estimate"].astype(bool)]
    else:
        wanted = list(dict.fromkeys(select))
        unknown = [w for w in wanted if w not in set(table["name"]) | set(table["key"])]
        if unknown:
            known = ", ".join(sorted(set(table.loc[table["scope"] != "input", "name"])))
            raise SecretomeError(f"unknown parameter(s) {', '.join(unknown)}; known: {known}")
        rows = table[table["name"].isin(wanted) | table["key"].isin(wanted)]
        inputs = sorted(set(rows.loc[rows["scope"] == "input", "name"]))
        if inputs:
            raise SecretomeError(
                f"{', '.join(inputs)} are scenario inputs, not parameters to vary; "
                "set them in the scenario"
            )
    if contexts is not None:
        keep = set(contexts)
        rows = rows[(rows["context"] == "") | rows["context"].isin(keep)]
    return ParameterSpace(
        tuple(
            FreeParameter(
                r["name"],
                r["scope"],
                r["context"],
                float(r["value"]),
                float(r["lower"]),
                float(r["upper"]),
            )
            for _, r in rows.iterrows()
        )
    )


def output_index(scenario: Scenario, observables: Iterable[str] | None = None) -> pd.DataFrame:
    """The K outputs of :func:`evaluate`: (observable, time_h, dose) in a fixed order."""
    spec = model.load_model()
    names = list(observables) if observables is not None else [o.name for o in spec.observables]
    for n in names:
        model.get_observable(spec, n)
    rows = [(n, t, d) for n in names for t in scenario.sampling_h for d in scenario.doses]
    return pd.DataFrame(rows, columns=["observable", "time_h", "dose"])


def output_rows(scenario: Scenario, outputs: pd.DataFrame) -> np.ndarray:
    """Positions of ``outputs`` (from :func:`output_index`) in the observables table."""
    keys = list(outputs[["observable", "time_h", "dose"]].itertuples(index=False, name=None))
    rows = observables_index(scenario).get_indexer(keys)
    if (rows < 0).any():
        missing = keys[int(np.flatnonzero(rows < 0)[0])]
        raise SecretomeError(f"scenario {scenario.name} does not simulate output {missing}")
    return rows


def evaluate_point(
    space: ParameterSpace,
    scenario: Scenario,
    x: Sequence[float],
    outputs: pd.DataFrame,
    fixed: Mapping[str, float] | None = None,
    rows: np.ndarray | None = None,
) -> np.ndarray:
    """The assay values of ``outputs`` at one point; NaN everywhere if the simulation fails.

    ``rows`` is :func:`output_rows` of ``outputs`` (computed here if not given).
    """
    if rows is None:
        rows = output_rows(scenario, outputs)
    params = dict(fixed or {})
    params.update(space.overrides(x, scenario.cell_line, scenario.msc_source))
    try:
        obs = simulate(scenario, params, n_points=2, timecourses=False).observables
    except SimulationFailed:
        return np.full(len(outputs), np.nan)
    return obs["value"].to_numpy(dtype=float)[rows]


def evaluate(
    space: ParameterSpace,
    scenario: Scenario,
    X: np.ndarray,
    outputs: pd.DataFrame,
    fixed: Mapping[str, float] | None = None,
) -> np.ndarray:
    """Evaluate N points (rows of ``X``, log10 units) in this process: an N×K array.

    Failed simulations give rows of NaN; callers count and report them.
    """
    X = np.atleast_2d(np.asarray(X, dtype=float))
    if X.shape[1] != len(space):
        raise ValueError(f"X has {X.shape[1]} columns, the space has {len(space)} parameters")
    rows = output_rows(scenario, outputs)
    return np.vstack([evaluate_point(space, scenario, x, outputs, fixed, rows) for x in X])

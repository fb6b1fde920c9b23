"""Helpers shared by the model tests (kept out of conftest.py, which others edit)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import roadrunner

from secretome import libroadrunner, model

SPEC = model.load_model()


def runner() -> roadrunner.RoadRunner:
    """A fresh runner that also records every symbol the tests read."""
    return libroadrunner.new_runner(SPEC)


def run(
    rr: roadrunner.RoadRunner,
    cell_line: str,
    msc_source: str,
    overrides: Mapping[str, float] | None = None,
    end: float = 168.0,
    points: int = 169,
    extra: tuple[str, ...] = (),
) -> dict[str, np.ndarray]:
    """Simulate from t = 0 and return each selected symbol's time course."""
    values = model.parameter_values(SPEC, cell_line, msc_source, overrides)
    libroadrunner.apply_parameters(rr, values)
    selections = ["time", *SPEC.species, *(o.variable for o in SPEC.observables), *extra]
    rr.timeCourseSelections = selections
    result = rr.simulate(0.0, end, points)
    return {name: np.asarray(result[:, i]) for i, name in enumerate(selections)}


def at(rr, cell_line, msc_source, overrides, end, names, base=None) -> dict[str, float]:
    """Values of ``names`` at ``end`` (``base`` overrides apply to both arms)."""
    out = run(rr, cell_line, msc_source, {**(base or {}), **overrides}, end, 2, tuple(names))
    return {n: float(out[n][-1]) for n in names}


def fold(rr, cell_line, msc_source, treatment, end, names, base=None) -> dict[str, float]:
    """Treated / control at ``end``, same cell line, MSC source and base overrides."""
    treated = at(rr, cell_line, msc_source, treatment, end, names, base)
    control = at(rr, cell_line, msc_source, {}, end, names, base)
    return {n: treated[n] / control[n] for n in names}

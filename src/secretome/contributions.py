"""How much of each readout's change runs through IL-2, IL-4, IL-15 and the lumped
other factors of the secretome.

:func:`attribution` simulates the scenario as it is, then with the MSCs
delivering every factor but one (the model input ``omit_X``: no secretion of X and
none in the conditioned medium, the medium's baseline kept), one run per factor.
A factor's share of a readout's change is what the readout loses when that factor
is omitted:

* fold-change readouts (qPCR, western, ELISA, wound, MTT): in natural-log units,
  ``ln FC(all) - ln FC(all but X)``;
* Annexin V/PI readouts (% of cells): in percentage points.

The shares add up to the total change only when the factors act independently;
the remainder is reported as ``interaction`` (one factor's effect depending on
another's presence, e.g. through a shared saturating receptor signal). Omitting
every factor reproduces the control arm exactly (tested), so the total change is
what the secretome does.

This is a knock-out attribution, the in-silico version of the papers' neutralising
experiments; it answers "what would this readout do without X", not a variance
decomposition (for that, see :mod:`secretome.gsa`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from secretome import comparison, model
from secretome.errors import SecretomeError
from secretome.scenarios import Scenario
from secretome.simulation import DEFAULT_BACKEND, resolve_context, simulate

#: The secretome's factors in the model, each with its ``omit_<factor>`` input.
FACTORS: tuple[str, ...] = ("IL2", "IL4", "IL15", "OF")
#: Columns of :attr:`Attribution.table`.
ATTRIBUTION_COLUMNS = (
    "scenario",
    "observable",
    "assay",
    "time_h",
    "dose",
    "unit",
    "value",
    "total",
    *FACTORS,
    "interaction",
)


@dataclass(frozen=True)
class Attribution:
    """What :func:`attribution` returns.

    Attributes
    ----------
    scenario : Scenario
    table : pandas.DataFrame
        One row per (observable, sampling time, dose), columns
        :data:`ATTRIBUTION_COLUMNS`: ``value`` as the assay reports it, ``total``
        its change from control and each factor's share of it in ``unit``
        (``"ln FC"`` or ``"% points"``), and the ``interaction`` remainder.
    """

    scenario: Scenario
    table: pd.DataFrame


def _level(assays: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Readouts on the scale whose differences are their attribution: % of cells
    for Annexin V/PI (percentage points), ln fold change for the rest."""
    values = np.asarray(values, dtype=float)
    scale = np.where(assays == "mtt", 100.0, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.isin(assays, model.PERCENT_ASSAYS), values, np.log(values / scale))


def attribution(
    scenario: Scenario,
    params: Mapping[str, float] | None = None,
    *,
    observables: Sequence[str] | None = None,
    backend: str = DEFAULT_BACKEND,
) -> Attribution:
    """Split each readout's change into the shares of IL-2, IL-4, IL-15 and the
    lumped other factors (see the module docstring).

    Parameters
    ----------
    scenario : Scenario
    params : mapping, optional
        Parameter overrides (``name`` or ``name[context]``), as for
        :func:`secretome.simulation.simulate`; they must not set ``omit_*``.
    observables : sequence of str, optional
        Readouts to attribute; default
        :func:`secretome.comparison.measured_observables`.
    backend : str
        Simulator (:data:`secretome.simulation.BACKENDS`).

    Returns
    -------
    Attribution

    Raises
    ------
    SecretomeError
        Unknown observables, or ``params`` that set an ``omit_*`` input.
    """
    params = dict(params or {})
    spec = model.load_model()
    resolved = resolve_context(spec, params, scenario.cell_line, scenario.msc_source)
    clash = sorted(k for k in resolved if k.startswith("omit_"))
    if clash:
        raise SecretomeError(f"attribution sets the omit_* inputs itself; remove {clash}")
    names = list(observables or comparison.measured_observables(scenario))
    known = {o.name: o for o in spec.observables}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SecretomeError(
            f"unknown observable(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )

    def run(omitted: Sequence[str]) -> pd.DataFrame:
        extra = {f"omit_{f}": 1.0 for f in omitted}
        obs = simulate(scenario, {**params, **extra}, timecourses=False, backend=backend)
        return obs.observables[obs.observables["observable"].isin(names)].reset_index(drop=True)

    full = run(())
    assays = full["assay"].to_numpy()
    level = _level(assays, full["value"])
    # Annexin reports the treated arm's %: its change is against the control's %
    percent = np.isin(assays, model.PERCENT_ASSAYS)
    total = np.where(percent, level - full["control"].to_numpy(), level)
    table = pd.DataFrame(
        {
            "scenario": full["scenario"],
            "observable": full["observable"],
            "assay": full["assay"],
            "time_h": full["time_h"],
            "dose": full["dose"],
            "unit": np.where(percent, "% points", "ln FC"),
            "value": full["value"],
            "total": total,
        }
    )
    shares = np.zeros_like(total)
    for factor in FACTORS:
        lost = level - _level(assays, run((factor,))["value"])
        table[factor] = lost
        shares = shares + lost
    table["interaction"] = total - shares
    return Attribution(scenario, table[list(ATTRIBUTION_COLUMNS)])


__all__ = ["ATTRIBUTION_COLUMNS", "FACTORS", "Attribution", "attribution"]

"""Model versus evidence: which observable and scenario answer each evidence row, and
whether the model agrees with it.

Agreement rules (shown in the report; the calibration objective weighs the same
kinds of result, see docs/calibration.md once it exists):

* ``quantitative``: the prediction is within 25 % of the observed value (relative
  difference on the paper's scale; for ``percent_change_vs_control`` on the
  implied % of control).
* ``direction``: the predicted change has the stated sign and is larger than
  the no-change band (fold change outside [1/1.1, 1.1]).
* ``no_change``: the predicted fold change is inside [1/1.25, 1.25] at every dose.
* ``ordering``: the prediction moves monotonically in the stated direction across
  the doses (ties within 0.1 % count as violations).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from secretome import data, model
from secretome.scenarios import Scenario
from secretome.simulation import SimulationResult

QUANT_TOLERANCE = 0.25
DIRECTION_BAND = 1.10
NO_CHANGE_BAND = 1.25
ORDER_TOLERANCE = 1e-3

#: Columns of the comparison table (``comparison.csv``).
COMPARISON_COLUMNS = (
    "id",
    "study",
    "cell_line",
    "scenario",
    "observable",
    "assay",
    "kind",
    "time_h",
    "dose",
    "observed",
    "direction",
    "arm",
    "predicted",
    "q05",
    "q50",
    "q95",
    "control_predicted",
    "predicted_series",
    "fit",
    "agreement",
    "detail",
    "law",
    "counted",
)
#: What makes two comparison rows one prediction when their observables share a
#: law (:attr:`secretome.model.Observable.shares_law_with`).
LAW_GROUP = ("law", "study", "cell_line", "scenario", "arm", "time_h", "dose", "kind")


#: Observables every study's default output list starts with.
CELL_FATE_OUTPUTS = ("viable_cells", "early_apoptotic", "late_apoptotic")


def measured_observables(scenario: Scenario, evidence: pd.DataFrame | None = None) -> list[str]:
    """Viability, early and late apoptosis, then every observable the scenario's study
    measured (in the evidence base's row order): what a user looks at first.

    Parameters
    ----------
    scenario : Scenario
    evidence : pandas.DataFrame, optional
        The evidence table; default :func:`secretome.data.load_evidence`.
    """
    evidence = data.load_evidence() if evidence is None else evidence
    names = list(CELL_FATE_OUTPUTS)
    for _, row in evidence[evidence["study"] == scenario.study].iterrows():
        name = observable_for(row)
        if name not in names:
            names.append(name)
    return names


def evidence_for(result: SimulationResult, evidence: pd.DataFrame | None = None) -> pd.DataFrame:
    """The evidence rows that this simulated scenario samples (empty if none).

    A scenario changed by the user (other doses or times) keeps the rows it still
    samples; a new experiment has none.

    Parameters
    ----------
    result : SimulationResult
    evidence : pandas.DataFrame, optional
        The evidence table; default :func:`secretome.data.load_evidence`.

    Returns
    -------
    pandas.DataFrame
        The rows of ``evidence`` that ``result`` samples.
    """
    evidence = data.load_evidence() if evidence is None else evidence
    rows = evidence[evidence["study"] == result.scenario.study]
    keep = [scenario_for(r, [result.scenario]) is not None for _, r in rows.iterrows()]
    return rows[keep]


def observable_for(row: pd.Series) -> str:
    """The model observable that measures an evidence row (rules in docs/data.md)."""
    assay, form, hgnc = row["assay"], row["form"], row["hgnc"]
    if assay == "qpcr":
        return f"mrna_{hgnc}"
    if assay == "western":
        if form == "cleaved_pro_ratio":
            return "casp3_cleaved_pro"
        if hgnc == "MAPK3;MAPK1":
            return "prot_pERK" if form == "phospho" else "prot_ERK_total"
        return f"prot_{hgnc}"
    if assay == "elisa":
        return f"elisa_{hgnc}"
    if assay == "annexin":
        stage = row["readout"].split()[0].lower()
        return f"{stage}_apoptotic"
    if assay == "mtt":
        return "viable_cells"
    if assay == "wound":
        return "migration_index"
    raise ValueError(f"no observable for assay {assay!r}")


def row_doses(row: pd.Series) -> tuple[float, ...]:
    """The doses an evidence row speaks about (on the scenario's dose axis)."""
    if row["doses"]:
        return tuple(float(x) for x in row["doses"].split(";"))
    if row["delivery"] == "conditioned_medium":
        return (float(row["cm_fraction"]),)
    return (float(row["msc_cells"]),) if pd.notna(row["msc_cells"]) else ()


def scenario_for(row: pd.Series, scenarios: Iterable[Scenario]) -> Scenario | None:
    """The first scenario of the row's study and cell line that samples its time and doses."""
    doses = row_doses(row)
    for s in scenarios:
        if s.study != row["study"] or s.cell_line != row["cell_line"]:
            continue
        if row["delivery"] != s.mode or row["time_h"] not in s.sampling_h:
            continue
        if all(any(np.isclose(d, x) for x in s.doses) for d in doses):
            return s
    return None


def _at(obs: pd.DataFrame, name: str, time_h: float, doses: Sequence[float]) -> pd.DataFrame:
    sel = obs[(obs["observable"] == name) & np.isclose(obs["time_h"], time_h)]
    keep = [any(np.isclose(d, x) for x in doses) for d in sel["dose"]]
    return sel[keep].sort_values("dose")


def judge(row: pd.Series, pred: pd.DataFrame) -> tuple[str, str, float, float]:
    """Agreement of one evidence row with its predictions (one row per dose).

    Returns (agreement, detail, predicted, control_predicted); agreement is
    ``agree`` or ``disagree``.
    """
    values = pred["value"].to_numpy(dtype=float)
    control = float(pred["control"].iloc[0])
    kind, direction = row["kind"], row["direction"]
    if kind == "ordering":
        steps = np.diff(values) / np.abs(values[:-1])
        ok = (
            np.all(steps < -ORDER_TOLERANCE)
            if direction == "down"
            else np.all(steps > ORDER_TOLERANCE)
        )
        listed = ", ".join(f"{v:.3g}" for v in values)
        return ("agree" if ok else "disagree"), f"across doses: {listed}", np.nan, control

    value = float(values[0]) if len(values) == 1 else np.nan
    if kind == "no_change":
        ok = bool(np.all((values > 1 / NO_CHANGE_BAND) & (values < NO_CHANGE_BAND)))
        listed = ", ".join(f"{v:.3g}" for v in values)
        return ("agree" if ok else "disagree"), f"fold change {listed}", value, control

    if row["arm"] == "control":
        predicted = control
    elif row["scale"] == "percent_change_vs_control":
        predicted = value - 100.0  # the model reports % of control
    else:
        predicted = value
    if kind == "direction":
        fold = value / 100.0 if row["assay"] == "mtt" else value
        up = fold > DIRECTION_BAND
        down = fold < 1 / DIRECTION_BAND
        ok = up if direction == "up" else down
        return ("agree" if ok else "disagree"), f"fold change {fold:.3g}", predicted, control

    observed = float(row["value"])
    if row["scale"] == "percent_change_vs_control":
        rel = abs((100 + predicted) - (100 + observed)) / (100 + observed)
    else:
        rel = abs(predicted - observed) / abs(observed)
    ok = rel <= QUANT_TOLERANCE
    return ("agree" if ok else "disagree"), f"relative difference {rel:.0%}", predicted, control


#: Band columns an ensemble's observables carry (:func:`secretome.ensemble.median_result`).
BAND_COLUMNS = ("q05", "q50", "q95")


def _band(row: pd.Series, pred: pd.DataFrame) -> dict[str, float]:
    """The 5-95 % band of the number :func:`judge` predicts for a row, on the same scale.

    Empty when the observables carry no band (a point simulation); NaN for results
    across several doses (orderings, no change at every dose), which predict no
    single number.
    """
    if BAND_COLUMNS[0] not in pred.columns:
        return {}
    if len(pred) != 1 or row["kind"] == "ordering":
        return dict.fromkeys(BAND_COLUMNS, np.nan)
    r = pred.iloc[0]
    if row["arm"] == "control":
        return {c: float(r.get(f"control_{c}", np.nan)) for c in BAND_COLUMNS}
    shift = 100.0 if row["scale"] == "percent_change_vs_control" else 0.0
    return {c: float(r[c]) - shift for c in BAND_COLUMNS}


def compare(
    evidence: pd.DataFrame,
    results: Iterable[SimulationResult],
    spec: model.ModelSpec | None = None,
) -> pd.DataFrame:
    """One row per evidence row: observed versus predicted, and whether they agree.

    Parameters
    ----------
    evidence : pandas.DataFrame
        Evidence rows (:func:`secretome.data.load_evidence`).
    results : iterable of SimulationResult
        Simulations of the scenarios that sample them.
    spec : ModelSpec, optional
        The model, for which readouts share a law; default the shipped model.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`COMPARISON_COLUMNS`; ``agreement`` is ``"agree"`` or
        ``"disagree"`` by the rules in the module docstring. ``law`` names the
        observable whose law the row's readout follows, and ``counted`` is false
        for a readout the model cannot change, for a result about the control arm
        (the control state is set from the papers' control values, e.g. the
        Annexin fractions ``e0``, ``l0``, so it agrees by construction), and for
        every row but the first of a group that shares one law in one scenario,
        time, dose and kind of result (:data:`LAW_GROUP`): those are one
        prediction, not several (:func:`agreement_counts`). When the results
        carry an ensemble's bands (:func:`secretome.ensemble.median_result`), the
        row is judged on the ensemble's median (``detail`` says so) and ``q05``,
        ``q50``, ``q95`` give the band of ``predicted``; otherwise they are NaN.

    Rows with no scenario that samples them get ``agreement = "no scenario"`` (the
    tests require there are none in the shipped evidence).
    """
    results = list(results)
    by_name = {r.scenario.name: r for r in results}
    out = []
    for _, row in evidence.iterrows():
        name = observable_for(row)
        scenario = scenario_for(row, [r.scenario for r in results])
        base = {
            "id": row["id"],
            "study": row["study"],
            "cell_line": row["cell_line"],
            "observable": name,
            "assay": row["assay"],
            "kind": row["kind"],
            "time_h": row["time_h"],
            "dose": row["doses"] or _dose_text(row),
            "observed": row["value"],
            "direction": row["direction"],
            "arm": row["arm"],
            "fit": bool(row["fit"]),
        }
        if scenario is None:
            out.append({**base, "scenario": "", "agreement": "no scenario", "detail": ""})
            continue
        pred = _at(by_name[scenario.name].observables, name, row["time_h"], row_doses(row))
        if pred.empty:
            out.append(
                {**base, "scenario": scenario.name, "agreement": "no observable", "detail": ""}
            )
            continue
        agreement, detail, predicted, control = judge(row, pred)
        band = _band(row, pred)
        if band:  # an ensemble's median stands in the value column (ensemble.median_result)
            detail = f"ensemble median: {detail}"
        out.append(
            {
                **base,
                **band,
                "scenario": scenario.name,
                "predicted": predicted,
                "control_predicted": control,
                "predicted_series": ";".join(f"{v:.6g}" for v in pred["value"]),
                "agreement": agreement,
                "detail": detail,
            }
        )
    table = pd.DataFrame(out, columns=list(COMPARISON_COLUMNS))
    return _mark_counted(table, model.load_model() if spec is None else spec)


def _law_keys(table: pd.DataFrame) -> pd.Series:
    """Each row's :data:`LAW_GROUP` as one string (NaN doses and times stay groupable)."""
    return table[list(LAW_GROUP)].astype(str).agg("|".join, axis=1)


def _mark_counted(table: pd.DataFrame, spec: model.ModelSpec) -> pd.DataFrame:
    observables = {o.name: o for o in spec.observables}
    law = [observables[n].law if n in observables else n for n in table["observable"]]
    fixed = [
        n in observables and observables[n].fixed_by_construction for n in table["observable"]
    ]
    table = table.assign(law=law)
    judged = (
        table["agreement"].isin(["agree", "disagree"])
        & ~pd.Series(fixed, index=table.index, dtype=bool)
        & (table["arm"] != "control")
    )
    # the first judged row of each group stands for the group
    first = ~_law_keys(table).where(judged).duplicated()
    return table.assign(counted=judged & first)


def agreement_counts(table: pd.DataFrame) -> pd.Series:
    """Agreeing and disagreeing independent predictions in a :func:`compare` table.

    Readouts that share a law in one scenario, time, dose and kind of result
    (:data:`LAW_GROUP`) count once: as agreeing when every one of them agrees.
    Readouts the model cannot change (``fixed_by_construction``) and results about
    the control arm (agreeing by construction) are not counted.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`compare`.

    Returns
    -------
    pandas.Series
        ``agree`` and ``disagree`` counts (both present, possibly 0).
    """
    keys = _law_keys(table)
    rows = keys.isin(keys[table["counted"]]) & table["agreement"].isin(["agree", "disagree"])
    group_agrees = (table.loc[rows, "agreement"] == "agree").groupby(keys[rows]).all()
    n_agree = int(group_agrees.sum())
    return pd.Series({"agree": n_agree, "disagree": int(len(group_agrees) - n_agree)})


def _dose_text(row: pd.Series) -> str:
    doses = row_doses(row)
    return ";".join(f"{d:g}" for d in doses)

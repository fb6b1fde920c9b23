"""Decisive predictions: what the posterior says about experiments nobody has done yet.

For every paper scenario and each of a few perturbations (:data:`QUESTIONS`:
neutralise IL-2, IL-4 or both; a 10-fold MSC dose; 14 days of exposure), every
draw of an ensemble is simulated twice, perturbed and as published, and each
headline readout (:data:`HEADLINE_READOUTS`: viability, early and late
apoptosis, p53, p-ERK) is compared **within the draw** (paired):

    change = perturbed value / unperturbed value - 1

where a value is what the readout's assay reports (MTT: % of control; Annexin: %
of cells; western: treated / control) at the scenario's last sampling time and
highest dose (for the 10-fold dose: ten times it). The question ``"as published"``
asks what the paper's own experiment does: the treated arm against the control
arm of the same draw (``treated / control - 1`` of the model quantities).

Over the draws whose simulations both succeeded, the probabilities that the
readout goes **up** (change > +``band``), **down** (change < -``band``) or
**stays within** ±``band`` (default 10 %) are the fractions of draws. The call:

* ``up`` / ``down`` when that probability is at least ``threshold`` (default 0.9);
* ``no change`` when staying within ±``band`` has probability at least ``threshold``;
* ``undetermined`` otherwise: neither direction (nor no change) is what at least
  ``threshold`` of the posterior predicts, e.g. the sign flips inside the posterior.

With one parameter set (no ensemble) every probability is 0 or 1 by
construction: the table then says what the point estimate predicts, not how sure
the data make it (the ``ensemble`` column says which).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import pandas as pd

from secretome import ensemble as ens
from secretome import scenarios
from secretome.errors import SecretomeError, SimulationFailed
from secretome.scenarios import Scenario
from secretome.simulation import DEFAULT_BACKEND

#: The headline readouts: label -> observable id (models/observables.csv).
HEADLINE_READOUTS: Mapping[str, str] = MappingProxyType(
    {
        "viability": "viable_cells",
        "early apoptosis": "early_apoptotic",
        "late apoptosis": "late_apoptotic",
        "p53": "prot_TP53",
        "p-ERK": "prot_pERK",
    }
)
#: Default probability a direction needs to be called (see the module docstring).
THRESHOLD = 0.9
#: Default relative change inside which a readout "stays" (±10 %).
BAND = 0.10
#: The question that compares the paper's treated arm with its control arm.
AS_PUBLISHED = "as published"
#: The long exposure asked about: 14 days (the longest paper exposure is 7).
FOURTEEN_DAYS_H = 336.0
#: Calls.
CALLS = ("up", "down", "no change", "undetermined", "not applicable")
#: Columns of the decisive-predictions table (``decisive.csv``).
DECISIVE_COLUMNS = (
    "scenario",
    "question",
    "change",
    "readout",
    "observable",
    "assay",
    "time_h",
    "dose",
    "n_draws",
    "n_failed",
    "p_up",
    "p_down",
    "p_within",
    "change_q05",
    "change_q50",
    "change_q95",
    "call",
    "threshold",
    "band",
    "ensemble",
    "note",
)


def _highest(s: Scenario) -> float:
    """The highest dose of a scenario (the one a decisive prediction reads)."""
    return float(max(s.doses))


@dataclass(frozen=True)
class Question:
    """A perturbation of a paper scenario.

    Attributes
    ----------
    name : str
        Short name, e.g. ``"neutralise IL-2"``.
    perturb : callable
        ``perturb(scenario) -> Scenario``, through :func:`secretome.scenarios.modify`;
        a :class:`~secretome.errors.SecretomeError` means the question does not
        apply to that scenario (the row says why).
    compare_dose : callable
        ``compare_dose(scenario) -> float``: the dose of the perturbed scenario
        that is read (paired with the unperturbed scenario's highest dose).
    """

    name: str
    perturb: Callable[[Scenario], Scenario]
    compare_dose: Callable[[Scenario], float] = _highest


def _ten_fold(s: Scenario) -> Scenario:
    if s.mode != "transwell":
        raise SecretomeError(
            f"{s.name} uses conditioned medium: a 10-fold MSC dose is not a dose of this "
            "experiment (its CM fraction cannot rise ten-fold)"
        )
    return scenarios.modify(s, doses=[10 * d for d in s.doses])


#: The perturbations asked about, each applied to every paper scenario.
QUESTIONS: tuple[Question, ...] = (
    Question("neutralise IL-2", lambda s: scenarios.modify(s, neutralise=["IL2"])),
    Question("neutralise IL-4", lambda s: scenarios.modify(s, neutralise=["IL4"])),
    Question("neutralise IL-2 and IL-4", lambda s: scenarios.modify(s, neutralise=["IL2", "IL4"])),
    Question("10-fold MSC dose", _ten_fold),
    Question("14 days of exposure", lambda s: scenarios.modify(s, duration=FOURTEEN_DAYS_H)),
)


def classify(
    changes: np.ndarray, *, threshold: float = THRESHOLD, band: float = BAND
) -> dict[str, float | str | int]:
    """Direction probabilities and the call for one readout's paired changes.

    Parameters
    ----------
    changes : numpy.ndarray
        Relative change per draw (NaN: a draw whose simulation failed; left out).
    threshold : float
        Probability a direction (or no change) needs to be called, in (0.5, 1].
    band : float
        Relative change inside which the readout "stays" (0.1: ±10 %).

    Returns
    -------
    dict
        ``n_draws``, ``n_failed``, ``p_up``, ``p_down``, ``p_within``,
        ``change_q05``, ``change_q50``, ``change_q95`` and ``call`` (one of
        :data:`CALLS`; ``undetermined`` when neither up, down nor no change
        reaches ``threshold``, or every draw failed).
    """
    _check_rule(threshold, band)
    changes = np.asarray(changes, dtype=float).ravel()
    ok = changes[np.isfinite(changes)]
    out: dict[str, float | str | int] = {
        "n_draws": int(changes.size),
        "n_failed": int(changes.size - ok.size),
    }
    if not ok.size:
        return {
            **out,
            **dict.fromkeys(["p_up", "p_down", "p_within"], np.nan),
            **dict.fromkeys(["change_q05", "change_q50", "change_q95"], np.nan),
            "call": "undetermined",
        }
    p_up = float(np.mean(ok > band))
    p_down = float(np.mean(ok < -band))
    p_within = float(np.mean(np.abs(ok) <= band))
    q05, q50, q95 = ens.quantile_band(ok[:, None])[:, 0]
    if p_up >= threshold:
        call = "up"
    elif p_down >= threshold:
        call = "down"
    elif p_within >= threshold:
        call = "no change"
    else:
        call = "undetermined"
    return {
        **out,
        "p_up": p_up,
        "p_down": p_down,
        "p_within": p_within,
        "change_q05": float(q05),
        "change_q50": float(q50),
        "change_q95": float(q95),
        "call": call,
    }


def _check_rule(threshold: float, band: float) -> None:
    if not (0.5 < float(threshold) <= 1.0):
        raise SecretomeError(
            f"threshold must be above 0.5 and at most 1 (so at most one call can reach it), "
            f"not {threshold!r}"
        )
    if not (0.0 <= float(band) < 1.0) or not np.isfinite(band):
        raise SecretomeError(f"band must be a relative change in [0, 1), not {band!r}")


def _column(run: ens.EnsembleRun, observable: str, dose: float) -> int:
    """Index of the row of ``observable`` at the last sampling time and ``dose``."""
    obs = run.observables
    t_last = max(run.scenario.sampling_h)
    hit = np.flatnonzero(
        (obs["observable"] == observable).to_numpy()
        & np.isclose(obs["time_h"].to_numpy(dtype=float), t_last)
        & np.isclose(obs["dose"].to_numpy(dtype=float), dose)
    )
    if not hit.size:
        raise SecretomeError(
            f"{run.scenario.name}: no {observable} at {t_last:g} h and dose {dose:g}"
        )
    return int(hit[0])


def _readouts(readouts: Mapping[str, str] | None) -> Mapping[str, str]:
    from secretome import model

    readouts = HEADLINE_READOUTS if readouts is None else readouts
    known = {o.name: o for o in model.load_model().observables}
    unknown = [name for name in readouts.values() if name not in known]
    if unknown:
        raise SecretomeError(
            f"unknown observable(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )
    return readouts


def decisive_predictions(
    ensemble: ens.Ensemble,
    scenario_list: Sequence[Scenario] | None = None,
    *,
    questions: Sequence[Question] = QUESTIONS,
    readouts: Mapping[str, str] | None = None,
    threshold: float = THRESHOLD,
    band: float = BAND,
    workers: int | None = 1,
    scheduler: str | None = None,
    backend: str = DEFAULT_BACKEND,
    progress: Callable[[int, int], None] | None = None,
) -> pd.DataFrame:
    """The decisive-predictions table: per scenario, question and readout, the call.

    Parameters
    ----------
    ensemble : Ensemble
        The draws (:func:`secretome.ensemble.choose_ensemble`); a one-draw
        ensemble gives probabilities of 0 or 1 only.
    scenario_list : sequence of Scenario, optional
        Default: every shipped paper scenario.
    questions : sequence of Question
        Default :data:`QUESTIONS`; the ``"as published"`` question (treated versus
        control arm) is always asked first.
    readouts : mapping, optional
        Label -> observable id; default :data:`HEADLINE_READOUTS`.
    threshold, band : float
        The call's rule (module docstring).
    workers, scheduler, backend
        Where and how the draws are simulated (:func:`secretome.ensemble.run_ensemble`).
    progress : callable, optional
        ``progress(done_draws, total_draws)``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`DECISIVE_COLUMNS`; ``change_q05`` ... are quantiles of the
        paired relative change, ``note`` says why a question does not apply or how
        many draws failed.
    """
    _check_rule(threshold, band)
    readouts = _readouts(readouts)
    base = list(scenarios.shipped_scenarios() if scenario_list is None else scenario_list)
    variants: list[tuple[Scenario, Question, Scenario | None, str]] = []
    for s in base:
        for q in questions:
            try:
                variants.append((s, q, q.perturb(s), ""))
            except SecretomeError as exc:
                variants.append((s, q, None, str(exc)))
    to_run = base + [v for _, _, v, _ in variants if v is not None]
    runs = _run_each(to_run, ensemble, workers, scheduler, backend, progress)
    by_scenario = dict(zip([id(s) for s in to_run], runs, strict=True))

    rows = []
    common = {"threshold": threshold, "band": band, "ensemble": ensemble.label}
    for s in base:
        ref = by_scenario[id(s)]
        for label, observable in readouts.items():
            head = _head(s, AS_PUBLISHED, "treated versus control arm", label, observable)
            if isinstance(ref, str):
                rows.append({**head, **common, "call": "undetermined", "note": ref})
                continue
            j = _column(ref, observable, _highest(s))
            with np.errstate(divide="ignore", invalid="ignore"):
                change = ref.treated[:, j] / ref.control[:, j] - 1.0
            rows.append(_row(head, ref, j, change, threshold, band, common))
        for scenario, q, perturbed, why in variants:
            if scenario is not s:
                continue
            for label, observable in readouts.items():
                head = _head(s, q.name, _change_text(s, perturbed), label, observable)
                if perturbed is None:
                    rows.append({**head, **common, "call": "not applicable", "note": why})
                    continue
                run = by_scenario[id(perturbed)]
                if isinstance(ref, str) or isinstance(run, str):
                    note = run if isinstance(run, str) else ref
                    rows.append({**head, **common, "call": "undetermined", "note": note})
                    continue
                j_ref = _column(ref, observable, _highest(s))
                j = _column(run, observable, q.compare_dose(perturbed))
                with np.errstate(divide="ignore", invalid="ignore"):
                    change = run.value[:, j] / ref.value[:, j_ref] - 1.0
                rows.append(_row(head, run, j, change, threshold, band, common))
    return pd.DataFrame(rows, columns=list(DECISIVE_COLUMNS))


def _run_each(
    to_run: list[Scenario],
    ensemble: ens.Ensemble,
    workers: int | None,
    scheduler: str | None,
    backend: str,
    progress: Callable[[int, int], None] | None,
) -> list[ens.EnsembleRun | str]:
    """Every scenario over every draw; a scenario where every draw failed becomes its message."""
    try:
        return list(
            ens.run_ensemble(
                to_run,
                ensemble,
                timecourses=False,
                workers=workers,
                scheduler=scheduler,
                backend=backend,
                progress=progress,
            )
        )
    except SimulationFailed:
        pass  # find which: run them one by one (rare, and worth the time)
    out: list[ens.EnsembleRun | str] = []
    for s in to_run:
        try:
            out += ens.run_ensemble(
                [s], ensemble, timecourses=False, workers=workers, scheduler=scheduler
            )
        except SimulationFailed as exc:
            out.append(str(exc))
    return out


def _change_text(s: Scenario, perturbed: Scenario | None) -> str:
    if perturbed is None:
        return ""
    parts = []
    if perturbed.perturbations != s.perturbations:
        added = [p.target for p in perturbed.perturbations if p not in s.perturbations]
        parts.append(f"{' and '.join(added)} neutralised in both arms")
    if perturbed.doses != s.doses:
        parts.append(
            f"dose {_numbers(perturbed.doses)} (paper: {_numbers(s.doses)}) {s.dose_unit}"
        )
    if perturbed.duration_h != s.duration_h:
        parts.append(f"read at {max(perturbed.sampling_h):g} h (paper: {max(s.sampling_h):g} h)")
    return "; ".join(parts)


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def _head(s: Scenario, question: str, change: str, label: str, observable: str) -> dict:
    return {
        "scenario": s.name,
        "question": question,
        "change": change,
        "readout": label,
        "observable": observable,
    }


def _row(
    head: dict,
    run: ens.EnsembleRun,
    j: int,
    change: np.ndarray,
    threshold: float,
    band: float,
    common: dict,
) -> dict:
    obs = run.observables.iloc[j]
    verdict = classify(change, threshold=threshold, band=band)
    note = ""
    if verdict["n_failed"]:
        note = f"{verdict['n_failed']} of {verdict['n_draws']} draws failed and are left out"
    return {
        **head,
        "assay": obs["assay"],
        "time_h": float(obs["time_h"]),
        "dose": float(obs["dose"]),
        **verdict,
        **common,
        "note": note,
    }


def summary(table: pd.DataFrame) -> pd.DataFrame:
    """Calls counted per question: how much of the table the data decide.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`decisive_predictions` (or ``decisive.csv``).

    Returns
    -------
    pandas.DataFrame
        One row per question, one column per call (counts).
    """
    counts = table.groupby(["question", "call"], sort=False).size().unstack(fill_value=0)
    return counts.reindex(columns=[c for c in CALLS if c in counts.columns])


def markdown_table(table: pd.DataFrame) -> str:
    """A decisive-predictions table as Markdown: one row per scenario and question,
    one column per readout, each cell the call and p(up)/p(down).

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`decisive_predictions` (or ``decisive.csv``).

    Returns
    -------
    str
    """
    readouts = list(dict.fromkeys(table["readout"]))
    lines = [
        "| scenario | question | " + " | ".join(readouts) + " |",
        "|---|---|" + "---|" * len(readouts),
    ]
    for (scenario, question), g in table.groupby(["scenario", "question"], sort=False):
        by = g.set_index("readout")
        cells = []
        for r in readouts:
            row = by.loc[r]
            if row["call"] == "not applicable":
                cells.append("n/a")
            else:
                cells.append(f"{row['call']} ({row['p_up']:.2f}/{row['p_down']:.2f})")
        lines.append(f"| {scenario} | {question} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


__all__ = [
    "AS_PUBLISHED",
    "BAND",
    "CALLS",
    "DECISIVE_COLUMNS",
    "HEADLINE_READOUTS",
    "QUESTIONS",
    "THRESHOLD",
    "Question",
    "classify",
    "decisive_predictions",
    "markdown_table",
    "summary",
]

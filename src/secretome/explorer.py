"""The interactive explorer: ask the model "what if?" without writing code.

:func:`explore` shows ipywidgets controls (cell line, MSC source and number,
transwell or conditioned medium, duration, IL-2/IL-4 neutralised, JAK, PI3K, MEK
or mTOR inhibited, fitted or nominal parameters) and, for each choice, the time
courses of the pathway nodes, apoptosis and viability, with the paper's data where
the choice is one of the papers' experiments.

The widgets are a thin layer over plain functions, each usable (and tested) on its
own:

* :func:`settings_for` / :class:`Settings`: what the controls say, as a frozen
  value (:func:`settings_for` reads a shipped scenario into one);
* :func:`build_scenario`: settings -> a validated :class:`~secretome.scenarios.Scenario`
  (built on the shipped scenario of the cell line, so the well, seeding and
  medium volume stay the paper's);
* :func:`run`: settings -> :class:`ExplorerRun` (the simulation, and the paper's
  evidence rows with the model's agreement when the scenario matches a paper's);
* :func:`curves` and :func:`data_points`: the tidy tables a figure draws;
* :func:`plot_run`: the figure.

Inhibitors are the model's inputs (``models/parameters.csv``, scope ``input``):
``inhib_JAK2`` (which removes the same fraction of JAK2 activity and of the
STAT5/STAT6 activation by the cytokine receptors' JAK1/JAK3, ``models/jak_stat.ant``),
``inhib_PI3K``, ``inhib_MEK`` and ``inhib_MTOR``. :data:`INHIBITORS` maps each
control to its scenario target; a control whose target the model lacks is shown
disabled, with the reason (:func:`inhibitor_inputs`).

Uncertainty bands: the line is always one parameter set (the shipped fit or the
nominal values). With the shipped fit, if the package ships a posterior ensemble
(``models/posterior.csv``, :func:`secretome.ensemble.shipped_ensemble`, checked at
each call), or if the caller passes an ensemble, :func:`run` also simulates its
draws (at most ``max_draws`` of them, evenly spaced) and :func:`curves` carries the
5-95 % band of each curve over the draws (``lower``, ``upper``); each draw's
curve is computed as the assay reports it (treated / control of that draw) before
the quantiles are taken. Without an ensemble the curves are single lines,
labelled so (:data:`SINGLE_SET_NOTE`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.ticker import FuncFormatter

from secretome import data, ensemble, model, parameter_sets, report, scenarios
from secretome.comparison import compare, evidence_for
from secretome.errors import SecretomeError
from secretome.simulation import SimulationResult, observation_value, simulate

#: Explorer control -> target of an ``inhibit`` perturbation (secretome.scenarios).
INHIBITORS: dict[str, str] = {"JAK": "JAK2", "PI3K": "PI3K", "MEK": "MEK", "mTOR": "MTOR"}
#: What each inhibitor control does in the model (shown beside the control).
INHIBITOR_NOTES: dict[str, str] = {
    "JAK": "inhib_JAK2: JAK2 activity and STAT5/STAT6 activation by JAK1/JAK3",
    "PI3K": "inhib_PI3K: PI3K activity",
    "MEK": "inhib_MEK: MEK kinase activity on ERK",
    "mTOR": "inhib_MTOR: mTORC1 activity",
}
#: Cytokines a neutralising antibody can block (secretome.scenarios).
NEUTRALISABLE = tuple(scenarios.PERTURBATION_TARGETS["neutralise"])
#: Parameter sets the explorer offers.
PARAMETER_CHOICES = ("fitted", "nominal")
#: Label of a curve drawn from one parameter set (no ensemble, no band).
SINGLE_SET_NOTE = "single parameter set, no uncertainty band (no posterior ensemble used)"
#: Draws of an ensemble the explorer simulates at most (evenly spaced), to stay interactive.
MAX_DRAWS = 40

#: Panels of the time-course figure: title -> model variables, each drawn as
#: treated / control at the same time (what a western, qPCR or ELISA reports).
PANELS: dict[str, tuple[str, ...]] = {
    "Medium (ELISA)": ("IL2", "IL4", "IL15", "OF"),
    "IL-2R → STAT5, IL-4R → STAT6": ("pSTAT5", "pSTAT6", "CIS", "SOCS1"),
    "JAK2 / STAT3": ("pJAK2", "pSTAT3", "SOCS3"),
    "PI3K / AKT / mTOR": ("PIP3", "pAKT", "MTORa", "PTEN"),
    "RAS / ERK": ("RASGTP", "pERK", "DUSP"),
    "p53, arrest, caspase-3": ("p53", "CDKN1A", "CDKN2A", "cC3"),
}
#: Cell-fate panels: title -> observables, on the assay's own scale.
FATE_PANELS: dict[str, tuple[str, ...]] = {
    "Viability (MTT, % of control)": ("viable_cells",),
    "Annexin V/PI and arrest (% of cells)": ("early_apoptotic", "late_apoptotic", "arrested"),
}
#: Assay of each cell-fate observable (how its value is reported).
FATE_ASSAYS = {
    "viable_cells": "mtt",
    "early_apoptotic": "annexin",
    "late_apoptotic": "annexin",
    "arrested": "cell_cycle",
}
#: Observables whose measurements are drawn on a time-course panel, and the variable
#: they sit on.
DATA_ON_PANELS = {
    "elisa_IL2": "IL2",
    "elisa_IL4": "IL4",
    "elisa_IL15": "IL15",
    "viable_cells": "viable_cells",
    "early_apoptotic": "early_apoptotic",
    "late_apoptotic": "late_apoptotic",
}
#: Columns of :func:`curves`.
CURVE_COLUMNS = ("panel", "variable", "arm", "time_h", "value", "lower", "upper")
#: Columns of :func:`data_points`.
POINT_COLUMNS = ("panel", "variable", "arm", "time_h", "observed", "sd", "predicted", "agreement")


@dataclass(frozen=True)
class Settings:
    """What the explorer's controls say.

    Attributes
    ----------
    cell_line, msc_source : str
        Contexts of the parameter table (``secretome model --json`` lists them).
    mode : str
        ``"transwell"`` (living MSCs in an insert) or ``"conditioned_medium"``.
    msc_cells : float
        MSCs per well (transwell).
    cm_fraction : float
        Fraction of the medium that is conditioned medium (conditioned medium).
    duration_h : float
        Exposure, hours.
    neutralise : tuple of str
        Cytokines neutralised in both arms (:data:`NEUTRALISABLE`).
    inhibit : tuple of (str, float)
        Inhibitor control (a key of :data:`INHIBITORS`) and the fraction of its
        target's activity removed, in both arms.
    parameters : str
        ``"fitted"`` (the shipped fit) or ``"nominal"`` (the table's values).
    """

    cell_line: str
    msc_source: str
    mode: str
    msc_cells: float
    cm_fraction: float
    duration_h: float
    neutralise: tuple[str, ...] = ()
    inhibit: tuple[tuple[str, float], ...] = ()
    parameters: str = "fitted"

    @property
    def dose(self) -> float:
        """The dose of the treated arm: MSCs per well or CM fraction."""
        return self.msc_cells if self.mode == "transwell" else self.cm_fraction


@dataclass(frozen=True)
class ExplorerRun:
    """One explorer run: what was asked, what the model says, what the paper says.

    Attributes
    ----------
    settings : Settings
    result : SimulationResult
    comparison : pandas.DataFrame
        :func:`secretome.compare` of the paper's evidence rows that the scenario
        samples (empty when it is not one of the papers' experiments).
    paper : str
        The shipped scenario the run reproduces, or ``""``.
    why_no_data : str
        Why no data are shown (``""`` when some are).
    parameters_label : str
        Which parameter set ran (:class:`secretome.parameter_sets.ParameterSet`).
    band_note : str
        How uncertainty is shown: the ensemble's label and draws, or
        :data:`SINGLE_SET_NOTE`.
    evidence : pandas.DataFrame
        The evidence table the run was matched against.
    ensemble_run : EnsembleRun or None
        The ensemble's draws simulated in the same scenario (``None``: no band).
    """

    settings: Settings
    result: SimulationResult
    comparison: pd.DataFrame
    paper: str
    why_no_data: str
    parameters_label: str
    band_note: str = SINGLE_SET_NOTE
    evidence: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    ensemble_run: ensemble.EnsembleRun | None = field(default=None, repr=False)


def inhibitor_inputs() -> dict[str, str | None]:
    """Each inhibitor control and the model input it sets, or ``None`` if the model has none.

    Returns
    -------
    dict
        ``{"JAK": "inhib_JAK2", ...}``; a ``None`` value means the control is shown
        disabled (the model has no such input, and the explorer does not invent one).
    """
    known = scenarios.PERTURBATION_TARGETS["inhibit"]
    return {label: known.get(target) for label, target in INHIBITORS.items()}


def base_scenario(cell_line: str) -> scenarios.Scenario:
    """The shipped scenario of a cell line (the first by name), whose well the explorer keeps.

    Raises
    ------
    SecretomeError
        No shipped scenario uses that cell line (the known ones are named).
    """
    shipped = scenarios.shipped_scenarios()
    for s in shipped:
        if s.cell_line == cell_line:
            return s
    known = ", ".join(dict.fromkeys(s.cell_line for s in shipped))
    raise SecretomeError(f"cell_line: no shipped scenario uses {cell_line!r}; known: {known}")


def cell_lines() -> tuple[str, ...]:
    """Cell lines the explorer offers: those of the shipped scenarios."""
    return tuple(dict.fromkeys(s.cell_line for s in scenarios.shipped_scenarios()))


def msc_sources() -> tuple[str, ...]:
    """MSC sources of the parameter table."""
    return tuple(model.load_model().msc_sources)


def settings_for(scenario: str | scenarios.Scenario, parameters: str = "fitted") -> Settings:
    """The explorer's settings that reproduce a shipped scenario (its first dose).

    Parameters
    ----------
    scenario : str or Scenario
        A shipped scenario's name (e.g. ``"farahzadi2024_KG1a_CD34"``) or a scenario.
    parameters : {"fitted", "nominal"}

    Returns
    -------
    Settings
    """
    s = scenarios.load_scenario(scenario) if isinstance(scenario, str) else scenario
    return Settings(
        cell_line=s.cell_line,
        msc_source=s.msc_source,
        mode=s.mode,
        msc_cells=s.msc_cells[0] if s.msc_cells else 1e5,
        cm_fraction=s.cm_fraction[0] if s.cm_fraction else 1.0,
        duration_h=s.duration_h,
        parameters=parameters,
    )


def default_settings() -> Settings:
    """The explorer's opening state: farahzadi2024's KG1-a co-culture, shipped fit."""
    return settings_for("farahzadi2024_KG1a_CD34")


def _check(settings: Settings) -> list[str]:
    problems = []
    if settings.mode not in scenarios.DELIVERY_MODES:
        known = ", ".join(scenarios.DELIVERY_MODES)
        problems.append(f"mode: {settings.mode!r} is not a delivery mode ({known})")
    if settings.parameters not in PARAMETER_CHOICES:
        known = ", ".join(PARAMETER_CHOICES)
        problems.append(f"parameters: {settings.parameters!r} is not one of {known}")
    if not (math.isfinite(settings.duration_h) and settings.duration_h > 0):
        problems.append(f"duration_h: {settings.duration_h:g} must be a number > 0")
    for name in ("msc_cells", "cm_fraction"):
        value = getattr(settings, name)
        if not (math.isfinite(value) and value >= 0):
            problems.append(f"{name}: {value:g} must be a number >= 0")
    for target in settings.neutralise:
        if target not in NEUTRALISABLE:
            problems.append(
                f"neutralise: unknown cytokine {target!r}; known: {', '.join(NEUTRALISABLE)}"
            )
    inputs = inhibitor_inputs()
    for label, fraction in settings.inhibit:
        if label not in inputs:
            problems.append(f"inhibit: unknown inhibitor {label!r}; known: {', '.join(inputs)}")
        elif inputs[label] is None:
            problems.append(f"inhibit: the model has no input for a {label} inhibitor")
        elif not 0 <= fraction <= 1:
            problems.append(f"inhibit {label}: fraction {fraction:g} must be within [0, 1]")
    labels = [label for label, _ in settings.inhibit]
    twice = sorted({x for x in labels if labels.count(x) > 1})
    problems += [f"inhibit: {x} is given twice" for x in twice]
    return problems


def build_scenario(settings: Settings) -> scenarios.Scenario:
    """The scenario the settings describe, validated like a scenario file.

    The well (cells seeded, medium volume, capacity) and the pre-incubation are
    those of the cell line's shipped scenario (:func:`base_scenario`). The samples
    are the paper's sampling times within the exposure, and its end. The scenario
    keeps the paper's ``study`` only when it is that paper's experiment (same MSC
    source and delivery, nothing neutralised or inhibited), so that
    :func:`secretome.evidence_for` finds the paper's rows only then.

    Parameters
    ----------
    settings : Settings

    Returns
    -------
    Scenario

    Raises
    ------
    SecretomeError
        A setting out of range, each named (the dose limits are the model's, see
        :func:`secretome.scenarios.dose_limit_problems`).
    """
    problems = _check(settings)
    if problems:
        raise SecretomeError("explorer settings: " + "; ".join(problems))
    base = base_scenario(settings.cell_line)
    perturbations = tuple(
        scenarios.Perturbation("neutralise", target, 1.0, "both")
        for target in dict.fromkeys(settings.neutralise)
    )
    perturbations += tuple(
        scenarios.Perturbation("inhibit", INHIBITORS[label], float(fraction), "both")
        for label, fraction in settings.inhibit
        if fraction > 0
    )
    end = float(settings.duration_h)
    sampling = tuple(sorted({*(t for t in base.sampling_h if t <= end), end}))
    same_experiment = (
        settings.msc_source == base.msc_source and settings.mode == base.mode and not perturbations
    )
    transwell = settings.mode == "transwell"
    try:
        return base.with_changes(
            name=f"explorer_{settings.cell_line}",
            study=base.study if same_experiment else "",
            description="built by secretome.explore",
            msc_source=settings.msc_source,
            mode=settings.mode,
            msc_cells=(float(settings.msc_cells),) if transwell else (),
            cm_fraction=() if transwell else (float(settings.cm_fraction),),
            duration_h=end,
            sampling_h=sampling,
            medium_changes_h=tuple(t for t in base.medium_changes_h if t < end),
            perturbations=perturbations,
        )
    except SecretomeError as exc:
        raise SecretomeError(f"explorer settings: {exc}") from None


def parameter_set(choice: str) -> parameter_sets.ParameterSet:
    """The parameter set of the ``parameters`` control: the shipped fit or the nominal values."""
    if choice not in PARAMETER_CHOICES:
        raise SecretomeError(
            f"parameters: {choice!r} is not one of {', '.join(PARAMETER_CHOICES)}"
        )
    return parameter_sets.choose_parameters(nominal=choice == "nominal")


def band_ensemble(
    settings: Settings,
    choice: ensemble.Ensemble | str | None = "shipped",
    max_draws: int = MAX_DRAWS,
) -> ensemble.Ensemble | None:
    """The ensemble whose draws give a run its bands, or ``None`` for a single line.

    Parameters
    ----------
    settings : Settings
    choice : Ensemble, "shipped" or None
        ``"shipped"``: the shipped posterior (:func:`secretome.ensemble.shipped_ensemble`)
        when the settings use the shipped fit, else none (a posterior of the fit says
        nothing about the nominal values); ``None``: none; an Ensemble: that one.
    max_draws : int
        Keep at most this many draws, evenly spaced (all if fewer).

    Returns
    -------
    Ensemble or None
    """
    if choice is None:
        return None
    if isinstance(choice, str):
        if choice != "shipped":
            raise SecretomeError(f"ensemble: {choice!r}; give 'shipped', None or an Ensemble")
        if settings.parameters != "fitted":
            return None
        choice = ensemble.shipped_ensemble()
        if choice is None:
            return None
    if len(choice) <= max_draws:
        return choice
    keep = np.unique(np.linspace(0, len(choice) - 1, max_draws).round().astype(int))
    return ensemble.from_draws(
        [choice.parameters(int(i)) for i in keep],
        label=f"{choice.label}; {len(keep)} of its {len(choice)} draws, evenly spaced",
        name=choice.name,
        allow_outside_bounds=True,  # checked when the ensemble was read
    )


def run(
    settings: Settings,
    *,
    n_points: int = 121,
    evidence: pd.DataFrame | None = None,
    ensemble_choice: ensemble.Ensemble | str | None = "shipped",
    max_draws: int = MAX_DRAWS,
    workers: int | None = 1,
) -> ExplorerRun:
    """Simulate the settings and find the paper's data the scenario samples.

    Parameters
    ----------
    settings : Settings
    n_points : int
        Points of the time-course grid.
    evidence : pandas.DataFrame, optional
        The evidence table (default :func:`secretome.load_evidence`).
    ensemble_choice : Ensemble, "shipped" or None
        Where the bands come from (:func:`band_ensemble`).
    max_draws : int
        Draws of the ensemble simulated at most.
    workers : int or None
        Processes for the ensemble's draws (:func:`secretome.ensemble.run_ensemble`).

    Returns
    -------
    ExplorerRun
    """
    scenario = build_scenario(settings)
    params = parameter_set(settings.parameters)
    record = tuple(dict.fromkeys(v for names in PANELS.values() for v in names))
    result = simulate(scenario, params.as_dict(), n_points=n_points, record=record)
    evidence = data.load_evidence() if evidence is None else evidence
    rows = evidence_for(result, evidence) if scenario.study else evidence.iloc[:0]
    paper, why = "", ""
    if not rows.empty:
        paper = base_scenario(settings.cell_line).name
        table = compare(rows, [result])
    else:
        table = pd.DataFrame()
        why = _why_no_data(settings, scenario)
    chosen = band_ensemble(settings, ensemble_choice, max_draws)
    band_run, note = None, SINGLE_SET_NOTE
    if chosen is not None:
        (band_run,) = ensemble.run_ensemble(
            [scenario], chosen, record=record, n_points=n_points, workers=workers
        )
        note = (
            f"band: 5-95 % of {band_run.n_draws - band_run.n_failed} draws of {chosen.label}"
            + (f" ({band_run.n_failed} failed)" if band_run.n_failed else "")
        )
    return ExplorerRun(settings, result, table, paper, why, params.label, note, evidence, band_run)


def _why_no_data(settings: Settings, scenario: scenarios.Scenario) -> str:
    base = base_scenario(settings.cell_line)
    if scenario.perturbations:
        return "no paper neutralised or inhibited anything: model only"
    if settings.msc_source != base.msc_source or settings.mode != base.mode:
        return f"the paper ({base.study}) used {base.msc_source} MSCs by {base.mode}: model only"
    return (
        f"no evidence row of {base.study} was measured at this dose within "
        f"{settings.duration_h:g} h (its scenario samples "
        f"{', '.join(f'{t:g}' for t in base.sampling_h)} h at doses "
        f"{', '.join(f'{d:g}' for d in base.doses)}; rows stated across several doses "
        "need them all)"
    )


def _by_arm(tc: pd.DataFrame, variable: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = tc[tc["variable"] == variable]
    control = v[v["arm"] == "control"].sort_values("time_h")
    treated = v[v["arm"] == "treated"].sort_values("time_h")
    return (
        control["time_h"].to_numpy(),
        treated["level"].to_numpy(dtype=float),
        control["level"].to_numpy(dtype=float),
    )


def _band(
    explorer_run: ExplorerRun, variable: str, assay: str, arm: str
) -> tuple[np.ndarray, np.ndarray] | None:
    """5 and 95 % quantiles over the ensemble's draws of one curve, or None."""
    band_run = explorer_run.ensemble_run
    if band_run is None or band_run.levels is None:
        return None
    tc = band_run.timecourses.reset_index(drop=True)
    rows = tc[tc["variable"] == variable]
    control = rows[rows["arm"] == "control"].sort_values("time_h").index.to_numpy()
    treated = rows[rows["arm"] == "treated"].sort_values("time_h").index.to_numpy()
    c = band_run.levels[:, control]
    t = band_run.levels[:, treated] if arm == "treated" else c
    q = ensemble.quantile_band(observation_value(assay, t, c))
    return q[0], q[-1]


def curves(explorer_run: ExplorerRun) -> pd.DataFrame:
    """The time courses a figure draws, one row per (panel, variable, arm, time).

    Pathway nodes and medium cytokines are treated / control at the same time
    (``arm = "treated"``; the control is 1 by definition). Viability is the MTT
    value, 100 x viable cells treated / control. Annexin and arrested fractions are
    % of all cells, for both arms (``arm`` ``"treated"`` and ``"control"``).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CURVE_COLUMNS`: ``value`` from the run's parameter set,
        ``lower`` and ``upper`` the 5 and 95 % quantiles over the ensemble's draws
        (NaN without an ensemble).
    """
    tc = explorer_run.result.timecourses
    parts = []

    def add(panel: str, variable: str, assay: str, arm: str) -> None:
        t, treated, control = _by_arm(tc, variable)
        y = observation_value(assay, treated if arm == "treated" else control, control)
        band = _band(explorer_run, variable, assay, arm)
        lower, upper = (np.full(len(t), np.nan),) * 2 if band is None else band
        parts.append(
            pd.DataFrame(
                {
                    "panel": panel,
                    "variable": variable,
                    "arm": arm,
                    "time_h": t,
                    "value": y,
                    "lower": lower,
                    "upper": upper,
                }
            )
        )

    for panel, names in PANELS.items():
        for name in names:
            add(panel, name, "western", "treated")
    for panel, names in FATE_PANELS.items():
        for name in names:
            assay = FATE_ASSAYS[name]
            add(panel, name, assay, "treated")
            if assay != "mtt":
                add(panel, name, assay, "control")
    return pd.concat(parts, ignore_index=True)[list(CURVE_COLUMNS)]


def _panel_of(variable: str) -> str:
    for panel, names in {**PANELS, **FATE_PANELS}.items():
        if variable in names:
            return panel
    raise KeyError(variable)


def data_points(explorer_run: ExplorerRun) -> pd.DataFrame:
    """The paper's numbers that sit on a time-course panel (ELISA, Annexin, MTT).

    Only quantitative rows are drawn as points; the other rows (directions,
    orderings, "no change") and the readouts without a panel are in
    :attr:`ExplorerRun.comparison` and the model-versus-data figure.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`POINT_COLUMNS`, on the scale of :func:`curves` (an MTT
        "percent change" is turned into % of control).
    """
    table = explorer_run.comparison
    if table.empty:
        return pd.DataFrame(columns=list(POINT_COLUMNS))
    evidence = explorer_run.evidence.set_index("id")
    rows = []
    for r in table.itertuples():
        if r.kind != "quantitative" or r.observable not in DATA_ON_PANELS:
            continue
        ev = evidence.loc[r.id]
        shift = 100.0 if ev["scale"] == "percent_change_vs_control" else 0.0
        variable = DATA_ON_PANELS[r.observable]
        rows.append(
            {
                "panel": _panel_of(variable),
                "variable": variable,
                "arm": r.arm,
                "time_h": float(r.time_h),
                "observed": float(r.observed) + shift,
                "sd": float(ev["sd"]) if pd.notna(ev["sd"]) else np.nan,
                "predicted": float(r.predicted) + shift,
                "agreement": r.agreement,
            }
        )
    return pd.DataFrame(rows, columns=list(POINT_COLUMNS))


def describe(explorer_run: ExplorerRun) -> str:
    """One paragraph saying what ran, with which parameters, and what data are shown."""
    s = explorer_run.settings
    dose = (
        f"{s.msc_cells:g} MSCs per well (transwell)"
        if s.mode == "transwell"
        else f"{100 * s.cm_fraction:g} % conditioned medium"
    )
    extra = [f"anti-{c}" for c in s.neutralise]
    extra += [f"{label} inhibitor {100 * f:g} %" for label, f in s.inhibit if f > 0]
    text = (
        f"{s.cell_line} with {s.msc_source} MSCs, {dose}, {s.duration_h:g} h"
        + (f", {', '.join(extra)}" if extra else "")
        + f". Parameters: {explorer_run.parameters_label}; {explorer_run.band_note}."
    )
    if explorer_run.paper:
        n = len(explorer_run.comparison)
        agree = int((explorer_run.comparison["agreement"] == "agree").sum())
        text += (
            f" The paper's data: {explorer_run.paper}, {n} evidence rows sampled, "
            f"the model agrees with {agree}."
        )
    else:
        text += f" No paper data: {explorer_run.why_no_data}."
    return text


def _plain(value: float, _pos: object = None) -> str:
    return f"{value:g}"


def _plain_2_5(value: float, _pos: object = None) -> str:
    """Label the minor ticks 2 and 5 of each decade (as plain numbers), no others."""
    if value <= 0:
        return ""
    leading = round(value / 10 ** math.floor(math.log10(value)))
    return f"{value:g}" if leading in (2, 5) else ""


def plot_run(explorer_run: ExplorerRun, *, curve_table: pd.DataFrame | None = None) -> plt.Figure:
    """Draw a run: one panel per pathway and for cell fate, the paper's numbers as points.

    Parameters
    ----------
    explorer_run : ExplorerRun
    curve_table : pandas.DataFrame, optional
        :func:`curves` of the run (computed if not given).

    Returns
    -------
    matplotlib.figure.Figure
    """
    table = curves(explorer_run) if curve_table is None else curve_table
    points = data_points(explorer_run)
    panels = [*PANELS, *FATE_PANELS]
    fig, axes = plt.subplots(2, 4, figsize=(15, 6.6), squeeze=False)
    colours = plt.cm.tab10.colors
    for ax, panel in zip(axes.flat, panels, strict=True):
        d = table[table["panel"] == panel]
        for j, variable in enumerate(dict.fromkeys(d["variable"])):
            for arm, style in (("treated", "-"), ("control", "--")):
                c = d[(d["variable"] == variable) & (d["arm"] == arm)]
                if c.empty:
                    continue
                label = variable if arm == "treated" else None
                ax.plot(c["time_h"], c["value"], ls=style, color=colours[j % 10], label=label)
                if c["lower"].notna().any():
                    ax.fill_between(
                        c["time_h"], c["lower"], c["upper"], color=colours[j % 10], alpha=0.2
                    )
            p = points[(points["panel"] == panel) & (points["variable"] == variable)]
            for q in p.itertuples():
                ax.errorbar(
                    q.time_h,
                    q.observed,
                    yerr=None if np.isnan(q.sd) else q.sd,
                    fmt="o" if q.arm == "treated" else "s",
                    mfc=colours[j % 10] if q.arm == "treated" else "white",
                    mec="black",
                    ecolor="black",
                    ms=7,
                    zorder=5,
                )
        if panel in PANELS:  # fold changes: halving and doubling equally far from 1
            ax.axhline(1, color="grey", lw=0.7)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(_plain))
            ax.yaxis.set_minor_formatter(FuncFormatter(_plain_2_5))
            ax.set_ylabel("treated / control (log scale)")
        elif panel.startswith("Viability"):
            ax.axhline(100, color="grey", lw=0.7)
            ax.set_ylabel("% of control")
        else:
            ax.set_ylabel("% of cells (dashed: control)")
        ax.set_title(panel, fontsize=10)
        ax.set_xlabel("time (h)")
        ax.legend(fontsize=7)
    s = explorer_run.settings
    title = f"{s.cell_line}, {s.msc_source}, {s.mode}, {s.duration_h:g} h"
    note = f"parameters: {parameter_set(s.parameters).name}; {explorer_run.band_note}"
    if explorer_run.paper:
        note += f"; points: {explorer_run.paper} (filled: treated, open: control)"
    fig.suptitle(report.fit_title(f"{title}\n{note}", fig, 10), fontsize=10)
    fig.tight_layout()
    return fig


def plot_data(explorer_run: ExplorerRun) -> plt.Figure | None:
    """Model versus every paper row the run samples (:func:`secretome.report.plot_model_vs_data`).

    Returns
    -------
    matplotlib.figure.Figure or None
        ``None`` when the run is not one of the papers' experiments.
    """
    if explorer_run.comparison.empty:
        return None
    name = parameter_set(explorer_run.settings.parameters).name
    title = f"{explorer_run.paper} versus the model ({name})"
    return report.plot_model_vs_data(explorer_run.comparison, explorer_run.evidence, title)


def settings_from_controls(values: Mapping[str, object]) -> Settings:
    """Settings from the widgets' values (the callback's first step).

    Parameters
    ----------
    values : mapping
        ``cell_line``, ``msc_source``, ``mode``, ``msc_cells``, ``cm_percent``
        (0-100), ``duration_h``, ``parameters``, ``neutralise_IL2`` and
        ``neutralise_IL4`` (bool), and ``inhibit_<label>`` (% inhibited, 0-100) for
        each key of :data:`INHIBITORS`.

    Returns
    -------
    Settings
    """
    neutralise = tuple(c for c in NEUTRALISABLE if values.get(f"neutralise_{c}", False))
    inhibit = tuple(
        (label, float(values.get(f"inhibit_{label}", 0.0)) / 100.0)
        for label in INHIBITORS
        if float(values.get(f"inhibit_{label}", 0.0)) > 0
    )
    return Settings(
        cell_line=str(values["cell_line"]),
        msc_source=str(values["msc_source"]),
        mode=str(values["mode"]),
        msc_cells=float(values["msc_cells"]),
        cm_fraction=round(float(values["cm_percent"]), 6) / 100.0,
        # a browser's slider arithmetic gives 168.00000000000003 for 168: sampling
        # times are matched exactly to the papers', so round to a millisecond
        duration_h=round(float(values["duration_h"]), 6),
        neutralise=neutralise,
        inhibit=inhibit,
        parameters=str(values["parameters"]),
    )


def explore(
    settings: Settings | None = None,
    *,
    n_points: int = 121,
    ensemble_choice: ensemble.Ensemble | str | None = "shipped",
    max_draws: int = MAX_DRAWS,
    workers: int | None = 1,
):
    """Open the interactive explorer in a Jupyter notebook (ipywidgets).

    Each change of a control re-runs :func:`run` (a few tenths of a second; longer
    with an ensemble, whose draws are simulated too) and
    redraws :func:`plot_run`, the paper's data when the settings are one of the
    papers' experiments, and :func:`plot_data`.

    Parameters
    ----------
    settings : Settings, optional
        Where the controls start (default :func:`default_settings`).
    n_points : int
        Points of the time-course grid.
    ensemble_choice, max_draws, workers
        Where the bands come from and how many draws are simulated, in how many
        processes (:func:`run`; by default the shipped posterior, if there is one,
        for the shipped fit).

    Returns
    -------
    ipywidgets.VBox
        The explorer (a notebook displays it when it is a cell's last value).

    Raises
    ------
    SecretomeError
        ipywidgets is not installed (``pip install 'secretome[notebooks]'``).
    """
    try:
        import ipywidgets as w
        from IPython.display import display
    except ImportError:
        raise SecretomeError(
            "the explorer needs ipywidgets: pip install 'secretome[notebooks]'"
        ) from None
    start = settings or default_settings()
    style = {"description_width": "140px"}
    layout = w.Layout(width="360px")
    controls = {
        "cell_line": w.Dropdown(
            options=cell_lines(), value=start.cell_line, description="cell line"
        ),
        "msc_source": w.Dropdown(
            options=msc_sources(), value=start.msc_source, description="MSC source"
        ),
        "mode": w.ToggleButtons(
            options=[("transwell", "transwell"), ("conditioned medium", "conditioned_medium")],
            value=start.mode,
            description="delivery",
        ),
        "msc_cells": w.FloatLogSlider(
            value=max(start.msc_cells, 1e2),
            base=10,
            min=2,
            max=6,
            step=0.1,
            description="MSCs per well",
            readout_format=".2g",
        ),
        "cm_percent": w.FloatSlider(
            value=100 * start.cm_fraction, min=0, max=120, step=5, description="CM (% of medium)"
        ),
        "duration_h": w.FloatSlider(
            value=start.duration_h, min=6, max=336, step=6, description="duration (h)"
        ),
        "parameters": w.ToggleButtons(
            options=[("shipped fit", "fitted"), ("nominal", "nominal")],
            value=start.parameters,
            description="parameters",
        ),
    }
    for c in NEUTRALISABLE:
        controls[f"neutralise_{c}"] = w.Checkbox(
            value=c in start.neutralise, description=f"neutralise {c}"
        )
    inputs = inhibitor_inputs()
    started = dict(start.inhibit)
    for label in INHIBITORS:
        controls[f"inhibit_{label}"] = w.FloatSlider(
            value=100 * started.get(label, 0.0),
            min=0,
            max=100,
            step=5,
            description=f"{label} inhibited (%)",
            disabled=inputs[label] is None,
            tooltip=INHIBITOR_NOTES[label] if inputs[label] else f"no {label} input in the model",
        )
    for c in controls.values():
        c.style = style
        c.layout = layout
    for name in ("mode", "parameters"):
        controls[name].style = {**style, "button_width": "auto"}
    status = w.HTML()
    out = w.Output()

    def redraw(*_):
        values = {k: c.value for k, c in controls.items()}
        controls["msc_cells"].disabled = values["mode"] != "transwell"
        controls["cm_percent"].disabled = values["mode"] == "transwell"
        out.clear_output(wait=True)
        with out:
            try:
                result = run(
                    settings_from_controls(values),
                    n_points=n_points,
                    ensemble_choice=ensemble_choice,
                    max_draws=max_draws,
                    workers=workers,
                )
            except SecretomeError as exc:
                status.value = f"<b>Cannot run:</b> {exc}"
                return
            status.value = describe(result)
            fig = plot_run(result)
            display(fig)
            plt.close(fig)
            fig = plot_data(result)
            if fig is not None:
                display(fig)
                plt.close(fig)

    for c in controls.values():
        c.observe(redraw, names="value")
    notes = "<br>".join(
        f"{label}: {INHIBITOR_NOTES[label]}" if inputs[label] else f"{label}: not in the model"
        for label in INHIBITORS
    )
    left = ("cell_line", "msc_source", "mode", "msc_cells", "cm_percent")
    middle = ("duration_h", "parameters", *(f"neutralise_{c}" for c in NEUTRALISABLE))
    right = [controls[f"inhibit_{label}"] for label in INHIBITORS]
    right.append(w.HTML(f"<small>{notes}</small>"))
    columns = [w.VBox([controls[k] for k in left]), w.VBox([controls[k] for k in middle])]
    box = w.VBox([w.HBox([*columns, w.VBox(right)]), status, out])
    redraw()
    return box


__all__ = [
    "CURVE_COLUMNS",
    "INHIBITORS",
    "PANELS",
    "POINT_COLUMNS",
    "ExplorerRun",
    "Settings",
    "band_ensemble",
    "base_scenario",
    "build_scenario",
    "curves",
    "data_points",
    "default_settings",
    "describe",
    "explore",
    "inhibitor_inputs",
    "parameter_set",
    "plot_data",
    "plot_run",
    "run",
    "settings_for",
    "settings_from_controls",
]

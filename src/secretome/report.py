"""The ``reproduce`` report: every paper scenario simulated and set against the evidence.

:func:`reproduce` runs the shipped scenarios with the package's current best
parameters, compares them with every evidence row (:mod:`secretome.comparison`) and
writes a directory a person can open without a server:

* ``index.html`` — per study: agreement counts, a model-versus-data figure, the
  pathway time courses, and the row-by-row comparison table;
* ``comparison.csv`` — one row per evidence row;
* ``observables.csv`` — every observable of every scenario at its sampling times;
* ``evidence_summary.csv`` — the evidence base counted per study, assay and kind;
* ``figures/*.png``.

With a posterior ensemble (:mod:`secretome.ensemble`) every draw is simulated too:
the tables gain ``q05``, ``q50``, ``q95``, rows are judged on the ensemble's
median, and the figures draw 5-95 % bands (``docs/uncertainty.md``).

Plotting functions only draw; they take tables and return figures.
"""

from __future__ import annotations

import datetime
import html
import io
import json
import subprocess
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

import secretome
from secretome import comparison, data, model, parameter_sets, paths, scenarios
from secretome import ensemble as ensembles
from secretome.errors import SecretomeError
from secretome.io import atomic_write, atomic_write_with, check_output_dir
from secretome.parameter_sets import ParameterSet
from secretome.simulation import DEFAULT_BACKEND, SimulationResult, simulate

#: Pathway panels of the time-course figure: title -> model variables.
PATHWAY_PANELS: dict[str, tuple[str, ...]] = {
    "Medium cytokines": ("IL2", "IL4", "IL15", "OF"),
    "Receptors / JAK2–STAT3": ("obs_jak_activity", "pJAK2", "pSTAT3", "SOCS3", "CIS"),
    "PI3K / AKT / mTOR": ("PIP3", "pAKT", "MTORa", "PTEN"),
    "RAS / RAF / ERK": ("RASGTP", "pRAF1", "pMEK", "pERK", "DUSP"),
    "p53 / NF-κB / caspase-3": ("p53", "CDKN1A", "NFKB", "TERT", "MYC", "cC3"),
    "Cell fate": ("viable_cells", "early_apoptotic", "late_apoptotic"),
}
AGREE_COLOURS = {"agree": "#1a9850", "disagree": "#d73027"}
#: Agreement of a run that departs from the paper's experiment (e.g. a cytokine
#: neutralised): its predictions are shown beside the paper's data but not judged.
NOT_SCORED = "not scored"
#: What each evidence scale means, for the ``unit`` column of comparison tables.
#: ``percent_change_vs_control`` results are shown on the % of control scale.
UNITS = {
    "fold_change": "fold change (treated / control)",
    "percent_cells": "% of cells",
    "percent_of_control": "% of control",
    "percent_change_vs_control": "% of control",
    "relative_migration": "migration (treated / control)",
}
#: How the dose axis of each delivery mode reads on figures.
DOSE_LABELS = {"msc_cells": "MSCs per well", "cm_fraction": "CM fraction"}
#: Line styles of the treated arms, one per dose (highest dose solid).
DOSE_STYLES: tuple = (
    "-",
    "--",
    "-.",
    ":",
    (0, (6, 1.5, 1, 1.5, 1, 1.5)),
    (0, (1, 3)),
    (0, (10, 3)),
    (0, (3, 1, 3, 4)),
)


@dataclass(frozen=True)
class Variant:
    """How a simulated scenario departs from the paper experiment it stands for.

    Attributes
    ----------
    reference : str
        The shipped scenario it was compared with (``""`` when none).
    changes : tuple of str
        Every departure, in words (empty: as in the paper).
    comparable : bool
        False when a departure changes the experiment the paper's data describe
        (a perturbation, the MSC source, the medium volume, pre-incubation or
        medium changes): its predictions are then not scored against those data.
        Other doses, sampling times or a longer run stay comparable where they
        sample the paper's.
    """

    reference: str
    changes: tuple[str, ...]
    comparable: bool

    @property
    def label(self) -> str:
        """``"as in the paper"``, or the departures joined by ``"; "``."""
        if not self.reference:
            return "not a paper scenario"
        return "; ".join(self.changes) if self.changes else "as in the paper"


@dataclass(frozen=True)
class SimulationReport:
    """What :func:`simulation_report` wrote and found.

    Attributes
    ----------
    out_dir : pathlib.Path
    result : SimulationResult
        The simulation (observables and the pathway time courses).
    comparison : pandas.DataFrame or None
        The scenario's evidence rows judged against the model; ``None`` when the
        scenario samples no evidence row.
    shown : pandas.DataFrame
        The observables rows of the chosen outputs (what the CLI prints).
    written : tuple of pathlib.Path
        Every file written, in order.
    ensemble : EnsembleRun or None
        Every draw of the ensemble simulated (``None`` without an ensemble).
    """

    out_dir: Path
    result: SimulationResult
    comparison: pd.DataFrame | None
    shown: pd.DataFrame
    written: tuple[Path, ...]
    parameters: ParameterSet
    variant: Variant
    ensemble: ensembles.EnsembleRun | None = None


@dataclass(frozen=True)
class Report:
    """What :func:`reproduce` wrote and found.

    Attributes
    ----------
    out_dir : pathlib.Path
    comparison : pandas.DataFrame
        Every evidence row against the model (as ``comparison.csv``).
    results : tuple of SimulationResult
    parameters : ParameterSet
        The parameter set used, named in every file.
    ensemble : tuple of EnsembleRun or None
        Every draw simulated in every scenario (``None`` without an ensemble).
    """

    out_dir: Path
    comparison: pd.DataFrame
    results: tuple[SimulationResult, ...]
    parameters: ParameterSet
    ensemble: tuple[ensembles.EnsembleRun, ...] | None = None


def record_variables() -> tuple[str, ...]:
    """Model variables the pathway time-course figure draws."""
    seen: list[str] = []
    for names in PATHWAY_PANELS.values():
        seen += [n for n in names if n not in seen]
    return tuple(seen)


# --- figures (draw only) ---------------------------------------------------------------


def plot_model_vs_data(rows: pd.DataFrame, evidence: pd.DataFrame, title: str) -> plt.Figure:
    """Model versus data for one study's comparison rows.

    Fold-change results on a log2 axis (observed: black dot with SD where stated;
    qualitative: an arrow for the stated direction, a bar for no change); percent
    results on their own axis (% of cells, or % of control); dose orderings as
    predicted dose-response lines on a log dose axis. Predictions are diamonds,
    green where they agree with the paper, red where not, grey where not scored;
    the paper's data are drawn on top of them. Rows with an ensemble's band
    (``q05``, ``q95``) get a whisker from its 5 % to its 95 % quantile through
    the diamond (the median).
    """
    ev = evidence.set_index("id")
    rows = rows.assign(scale=[ev.loc[i, "scale"] for i in rows["id"]])
    ordering = rows[rows["dose"].astype(str).str.contains(";")]  # results across doses
    percent = rows[
        rows["scale"].isin(["percent_cells", "percent_of_control", "percent_change_vs_control"])
        & ~rows.index.isin(ordering.index)
    ]
    fold = rows[~rows.index.isin(ordering.index) & ~rows.index.isin(percent.index)]
    panels = [
        (k, d) for k, d in (("fold", fold), ("percent", percent), ("ordering", ordering)) if len(d)
    ]
    widths = [max(len(d), 2) if k != "ordering" else 3 for k, d in panels]
    fig, axes = plt.subplots(
        1,
        len(panels),
        figsize=(1.0 + 0.55 * sum(widths) + 1.5 * len(panels), 4.6),
        gridspec_kw={"width_ratios": widths},
        squeeze=False,
    )
    for ax, (kind, d) in zip(axes[0], panels, strict=True):
        if kind == "fold":
            _draw_fold(ax, d, ev)
        elif kind == "percent":
            _draw_percent(ax, d, ev)
        else:
            _draw_orderings(ax, d)
    fig.suptitle(fit_title(title, fig))
    fig.tight_layout()
    return fig


def _label(r: pd.Series, ev: pd.DataFrame) -> str:
    e = ev.loc[r["id"]]
    dose = f" {r['dose']}" if e["delivery"] == "conditioned_medium" else ""
    return f"{e['readout']}\n{e['cell_line']}{dose} ({e['assay']})"


#: Drawing order: model diamonds under the paper's data, so the data stay visible.
MODEL_Z, DATA_Z = 2, 4


def _draw_model(
    ax: plt.Axes, x: float, y: float, agreement: str, band: tuple[float, float] | None = None
) -> None:
    """A prediction's diamond; with an ensemble, a whisker from its 5 % to its 95 % quantile."""
    colour = AGREE_COLOURS.get(agreement, "grey")
    if band is not None and all(np.isfinite(band)):
        ax.plot([x, x], band, color=colour, lw=2.5, alpha=0.6, zorder=MODEL_Z)
    ax.plot(x, y, "D", color=colour, ms=8, alpha=0.8, zorder=MODEL_Z)


def _band_of(r: pd.Series, transform: Callable[[float], float]) -> tuple[float, float] | None:
    """A comparison row's 5-95 % band on the figure's scale (None without an ensemble)."""
    if "q05" not in r.index or pd.isna(r["q05"]) or pd.isna(r["q95"]):
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(transform(r["q05"])), float(transform(r["q95"]))


def _draw_data(ax: plt.Axes, x: float, y: float, lo: float | None, hi: float | None) -> None:
    """One stated value, with its SD as an error bar where the paper gives one."""
    if lo is None:
        ax.plot(x, y, "o", color="black", ms=6, zorder=DATA_Z)
    else:
        ax.errorbar(
            x, y, yerr=[[y - lo], [hi - y]], fmt="o", color="black", ms=6, capsize=3, zorder=DATA_Z
        )


def _draw_fold(ax: plt.Axes, d: pd.DataFrame, ev: pd.DataFrame) -> None:
    x = np.arange(len(d))
    for xi, (_, r) in zip(x, d.iterrows(), strict=True):
        e = ev.loc[r["id"]]
        if pd.notna(r["predicted"]):
            scale = 100.0 if e["assay"] == "mtt" else 1.0
            band = _band_of(r, lambda v, scale=scale: np.log2(v / scale))
            _draw_model(ax, xi, np.log2(r["predicted"] / scale), r["agreement"], band)
        if r["kind"] == "quantitative":
            y = np.log2(e["value"])
            if pd.notna(e["sd"]) and e["value"] > e["sd"]:
                lo, hi = np.log2(e["value"] - e["sd"]), np.log2(e["value"] + e["sd"])
                _draw_data(ax, xi, y, lo, hi)
            else:
                _draw_data(ax, xi, y, None, None)
        elif r["kind"] == "direction":
            dy = 0.6 if r["direction"] == "up" else -0.6
            ax.annotate(
                "",
                (xi, dy),
                (xi, 0),
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.8},
                annotation_clip=False,
                zorder=DATA_Z,
            )
            ax.plot(xi, dy, alpha=0)  # keep the arrow inside the axis limits
        else:  # no_change
            ax.plot([xi - 0.25, xi + 0.25], [0, 0], color="black", lw=3, zorder=DATA_Z)
    ax.axhline(0, color="grey", lw=0.8, zorder=1)
    ax.set_xticks(x, [_label(r, ev) for _, r in d.iterrows()], rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("log2 fold change (treated / control)")
    ax.set_title("Fold changes")


def _draw_percent(ax: plt.Axes, d: pd.DataFrame, ev: pd.DataFrame) -> None:
    x = np.arange(len(d))
    for xi, (_, r) in zip(x, d.iterrows(), strict=True):
        e = ev.loc[r["id"]]
        obs, pred = e["value"], r["predicted"]
        if e["scale"] == "percent_change_vs_control":  # show on the % of control scale
            obs, pred = 100 + obs, 100 + pred
        if pd.notna(pred):
            shift = 100.0 if e["scale"] == "percent_change_vs_control" else 0.0
            _draw_model(ax, xi, pred, r["agreement"], _band_of(r, lambda v, s=shift: v + s))
        if pd.notna(obs):
            sd = e["sd"] if pd.notna(e["sd"]) else None
            _draw_data(
                ax, xi, obs, None if sd is None else obs - sd, None if sd is None else obs + sd
            )
    ax.set_xticks(
        x,
        [f"{_label(r, ev)}\n{ev.loc[r['id'], 'arm']}" for _, r in d.iterrows()],
        rotation=70,
        ha="right",
        fontsize=7,
    )
    scales = {ev.loc[i, "scale"] for i in d["id"]}
    units = sorted({UNITS[sc] for sc in scales})
    ax.set_ylabel(" / ".join(units))
    ax.set_title("Percentages")


def _draw_orderings(ax: plt.Axes, d: pd.DataFrame) -> None:
    """Results across doses: the model's curve relative to its lowest dose."""
    said = {"down": "decreasing", "up": "increasing", "none": "no change"}
    for _, r in d.iterrows():
        doses = [float(v) for v in str(r["dose"]).split(";")]
        values = np.array([float(v) for v in str(r["predicted_series"]).split(";")])
        caveat = "" if r["fit"] else ", caveat"
        ax.plot(
            doses,
            values / values[0],
            "D-",
            color=AGREE_COLOURS.get(r["agreement"], "grey"),
            label=f"{r['observable']} (paper: {said[r['direction']]}{caveat})",
        )
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(_PLAIN)
    ax.xaxis.set_minor_formatter(_PLAIN)
    ax.set_xlabel(f"dose ({DOSE_LABELS['cm_fraction']}, log scale)")
    ax.set_ylabel("model, relative to the lowest dose")
    ax.set_title("Across doses")
    ax.legend(fontsize=7)


def plot_timecourses(
    result: SimulationResult, *, note: str = "", bands: pd.DataFrame | None = None
) -> plt.Figure:
    """Pathway activity over time, each variable relative to its control level at t = 0.

    Control arm thin grey (flat when the model sits at its steady state); treated
    arms in colour, one colour per variable and one line style per dose (the
    highest dose solid; a legend names each dose with its unit). ``note`` (e.g.
    the parameter set and how the scenario was changed) goes under the title.
    With ``bands`` (:func:`secretome.ensemble.timecourse_bands`) each line is an
    ensemble's median, shaded from its 5 % to its 95 % quantile (every draw
    relative to its own control level at t = 0).
    """
    tc = result.timecourses if bands is None else bands
    present = set(tc["variable"])
    panels = {k: [v for v in vs if v in present] for k, vs in PATHWAY_PANELS.items()}
    panels = {k: v for k, v in panels.items() if v}
    fig, axes = plt.subplots(2, 3, figsize=(13, 7.4), squeeze=False)
    doses = sorted(tc.loc[tc["arm"] == "treated", "dose"].unique())
    dose_style = {d: _dose_style(i) for i, d in enumerate(reversed(doses))}
    colours = plt.cm.tab10.colors
    for ax, (title, names) in zip(axes.flat, panels.items(), strict=False):
        for j, name in enumerate(names):
            v = tc[tc["variable"] == name]
            ctrl = v[v["arm"] == "control"]
            line = _relative_line(ctrl, ctrl, bands is not None)
            ax.plot(ctrl["time_h"], line[1], color="grey", lw=0.8)
            if bands is not None:
                ax.fill_between(ctrl["time_h"], line[0], line[2], color="grey", alpha=0.15, lw=0)
            for dose in doses:
                t = v[(v["arm"] == "treated") & (v["dose"] == dose)]
                label = name if dose == doses[-1] else None
                line = _relative_line(t, ctrl, bands is not None)
                ax.plot(
                    t["time_h"],
                    line[1],
                    color=colours[j % 10],
                    ls=dose_style[dose],
                    lw=1.6,
                    label=label,
                )
                if bands is not None:
                    ax.fill_between(
                        t["time_h"], line[0], line[2], color=colours[j % 10], alpha=0.18, lw=0
                    )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time (h)")
        ax.set_ylabel("level / control level at t = 0")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    s = result.scenario
    handles = [Line2D([], [], color="grey", lw=0.8, label="control")]
    handles += [
        Line2D([], [], color="black", ls=dose_style[d], lw=1.6, label=dose_text(d, s.dose_unit))
        for d in reversed(doses)
    ]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 5), fontsize=8)
    title = f"{s.name}: treated arms (one line style per dose) versus control (grey)"
    if bands is not None:
        title += "; lines: ensemble median, shaded: 5-95 %"
    fig.suptitle(fit_title(title + (f"\n{note}" if note else ""), fig, 11), fontsize=11)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return fig


def _relative_line(rows: pd.DataFrame, ctrl: pd.DataFrame, banded: bool) -> tuple:
    """(low, middle, high) of a variable relative to its control level at t = 0.

    A point simulation divides by that level (the band collapses to the line); an
    ensemble's bands were divided draw by draw (``relative_q05`` ...).
    """
    if banded:
        return tuple(rows[f"relative_{c}"].to_numpy() for c in ("q05", "q50", "q95"))
    first = ctrl["level"].iloc[0]
    y = rows["level"].to_numpy() / (first if first != 0 else 1.0)
    return y, y, y


def dose_text(dose: float, dose_unit: str) -> str:
    """A dose with its unit: ``"60,000 MSCs per well"``, ``"CM fraction 0.5"``."""
    if dose_unit == "msc_cells":
        return f"{dose:,.0f} {DOSE_LABELS[dose_unit]}"
    return f"{DOSE_LABELS.get(dose_unit, 'dose')} {dose:g}"


#: Tick labels as plain numbers (0.3, 1, 60000), not powers of ten.
_PLAIN = FuncFormatter(lambda v, _: f"{v:g}")


def _dose_style(i: int):
    """The i-th dose's line style: distinct for up to len(DOSE_STYLES) doses."""
    return DOSE_STYLES[i % len(DOSE_STYLES)]


def plot_response(
    observables: pd.DataFrame,
    names: Sequence[str],
    axis: str,
    *,
    dose_label: str = "dose",
    title: str = "",
) -> plt.Figure:
    """Response curves: each observable's assay value against dose or sampling time.

    Parameters
    ----------
    observables : DataFrame
        :attr:`SimulationResult.observables`.
    names : sequence of str
        Observables to draw, one panel each.
    axis : {"dose", "time_h"}
        What varies along x; the other is fixed (one line per value of it). Doses
        are drawn on a log axis (they span decades).
    dose_label : str
        The dose's unit, e.g. ``"MSCs per well"`` or ``"CM fraction"``
        (:data:`DOSE_LABELS`).
    title : str
        Figure title (e.g. the scenario and parameter set).

    When ``observables`` carries an ensemble's band (``q05``, ``q50``, ``q95``,
    :func:`secretome.ensemble.observable_bands`), each line is the median and the
    5-95 % band is shaded.
    """
    other = "time_h" if axis == "dose" else "dose"
    banded = "q50" in observables.columns and observables["q50"].notna().any()
    n = len(names)
    cols = min(n, 3)
    rows_ = -(-n // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 3.3 * rows_ + 0.5), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        d = observables[observables["observable"] == name]
        for key, g in d.groupby(other):
            g = g.sort_values(axis)
            label = f"{key:g} h" if other == "time_h" else f"{key:g} {dose_label}"
            (drawn,) = ax.plot(g[axis], g["q50" if banded else "value"], "o-", label=label)
            if banded:
                ax.fill_between(g[axis], g["q05"], g["q95"], color=drawn.get_color(), alpha=0.2)
        assay = d["assay"].iloc[0]
        neutral = None if assay in model.PERCENT_ASSAYS else 100.0 if assay == "mtt" else 1.0
        if neutral is not None:
            ax.axhline(neutral, color="grey", lw=0.8, ls="--")
        ax.set_title(f"{name} ({assay})", fontsize=10)
        if axis == "dose":
            if (d["dose"] > 0).all():
                ax.set_xscale("log")
                ax.xaxis.set_major_formatter(_PLAIN)
                ax.xaxis.set_minor_formatter(_PLAIN)
            ax.set_xlabel(f"{dose_label} (log scale)" if (d["dose"] > 0).all() else dose_label)
        else:
            ax.set_xlabel("time (h)")
        percent = assay in model.PERCENT_ASSAYS
        ax.set_ylabel(
            "% of cells" if percent else "% of control" if assay == "mtt" else "treated / control"
        )
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    if title:
        fig.suptitle(
            title + ("\nlines: ensemble median, shaded: 5-95 %" if banded else ""), fontsize=10
        )
    fig.tight_layout()
    return fig


def plot_waterfall(starts: pd.DataFrame) -> plt.Figure:
    """Final objective of every start, sorted: a plateau at the left means the best
    optimum was found repeatedly (convergence); a staircase means it may not be."""
    table = starts.sort_values("cost").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    best = table["cost"].iloc[0]
    colours = np.where(np.isclose(table["cost"], best, rtol=1e-3, atol=1e-6), "#1a9850", "#4575b4")
    ax.scatter(np.arange(1, len(table) + 1), table["cost"], c=colours, zorder=3)
    ax.plot(np.arange(1, len(table) + 1), table["cost"], color="grey", lw=0.8)
    ax.scatter(
        np.arange(1, len(table) + 1),
        table["initial_cost"],
        marker="x",
        color="grey",
        label="start",
    )
    ax.set_yscale("log")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # starts are counted
    ax.set_xlabel("start (sorted by final objective)")
    ax.set_ylabel("objective (½ Σ residual²)")
    hits = int(np.isclose(table["cost"], best, rtol=1e-3, atol=1e-6).sum())
    ax.set_title(f"Waterfall: {hits} of {len(table)} starts reach the best value {best:.4g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_profiles(profiles: pd.DataFrame, classes: pd.DataFrame, threshold: float) -> plt.Figure:
    """One panel per parameter: objective rise against the log10 offset from the best.

    The y axis is linear up to 1 and logarithmic above (symlog), with plain
    numbers as tick labels; it starts at 0 unless a profile point fell below the
    best value (a sign that the fit had not converged).
    """
    keys = list(classes["key"])
    cols = max(1, min(5, len(keys)))
    rows_ = -(-len(keys) // cols)
    fig, axes = plt.subplots(
        rows_,
        cols,
        figsize=(2.9 * cols + 0.6, 2.3 * rows_ + 0.9),
        squeeze=False,
        layout="constrained",
    )
    colour = {
        "identifiable": "#1a9850",
        "practically non-identifiable": "#fdae61",
        "structurally non-identifiable": "#d73027",
    }
    label = classes.set_index("key")["class"]
    lowest = min(0.0, float(profiles["delta"].min())) if len(profiles) else 0.0
    highest = max(float(profiles["delta"].max()) if len(profiles) else 0.0, threshold)
    for ax, key in zip(axes.flat, keys, strict=False):
        g = profiles[profiles["key"] == key].sort_values("offset")
        ax.plot(g["offset"], g["delta"], "o-", color=colour[label[key]], ms=3)
        ax.axhline(threshold, color="grey", ls="--", lw=0.8)
        ax.set_title(key, fontsize=8)
        ax.set_yscale("symlog", linthresh=1.0)
        ax.set_ylim(lowest, highest * 1.5)
        ax.yaxis.set_major_formatter(_PLAIN)
        ax.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: ""))
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys) :]:
        fig.delaxes(ax)
    fig.supxlabel("log10 offset from the best value", fontsize=9)
    fig.supylabel("Δ objective (dashed: 95 % threshold)", fontsize=9)
    handles = [Line2D([], [], color=c, marker="o", label=k) for k, c in colour.items()]
    fig.legend(handles=handles, loc="outside upper center", ncol=3, fontsize=8)
    return fig


def fit_title(text: str, fig: plt.Figure, fontsize: float = 12.0) -> str:
    """``text`` with each line wrapped to the width of ``fig`` at ``fontsize``.

    A title wider than its figure widens the saved image (files and inline
    notebook figures are cropped to what is drawn) and shrinks the panels; long
    provenance notes (an ensemble's label, a command line) are wrapped instead.

    Parameters
    ----------
    text : str
        The title; its own line breaks are kept.
    fig : matplotlib.figure.Figure
    fontsize : float
        The title's font size in points.

    Returns
    -------
    str
    """
    width = max(40, int(fig.get_figwidth() * 120 / fontsize))  # characters that fit
    return "\n".join(textwrap.fill(line, width) for line in text.split("\n"))


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Write a figure as PNG atomically and close it."""
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    def write(fh) -> None:
        fig.savefig(fh, format="png", dpi=110)

    atomic_write_with(path, write)
    plt.close(fig)


# --- what every report says about itself ------------------------------------------------


def _commit() -> str:
    """The git commit of the checkout the data are read from, if it is one."""
    root = paths.project_root()
    if not (root / ".git").exists():
        return "unknown (not a git checkout)"

    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, timeout=10
        )
        return done.stdout.strip() if done.returncode == 0 else ""

    try:
        sha = git("rev-parse", "--short=9", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if not sha:
        return "unknown"
    return sha + (" with uncommitted changes" if dirty else "")


def provenance(parameters: ParameterSet, backend: str, **extra: object) -> dict[str, object]:
    """The stamp every report carries: version, commit, date, parameter set, simulator.

    Parameters
    ----------
    parameters : ParameterSet
        The parameter set used.
    backend : str
        The simulator.
    **extra
        Further entries (e.g. the scenario and how it was changed).

    Returns
    -------
    dict
        JSON-ready; written as ``provenance.json`` beside every report.
    """
    now = datetime.datetime.now(datetime.UTC)
    return {
        "secretome": secretome.__version__,
        "commit": _commit(),
        "date": now.strftime("%Y-%m-%d %H:%M UTC"),
        "parameters": parameters.label,
        "backend": backend,
        **extra,
    }


def _stamp(meta: Mapping[str, object]) -> str:
    return f"secretome {meta['secretome']}, commit {meta['commit']}, {meta['date']}"


def _as_parameter_set(
    params: ParameterSet | Mapping[str, float] | None,
    label: str | None = None,
    *,
    allow_outside_bounds: bool = False,
) -> ParameterSet:
    """Any accepted form of parameters as a checked, named :class:`ParameterSet`."""
    if isinstance(params, ParameterSet):
        if params.values is not None:
            parameter_sets.check_values(
                params.values,
                allow_outside_bounds=allow_outside_bounds or params.allow_outside_bounds,
                where=params.label,
            )
        return params
    if params is None:
        return parameter_sets.ParameterSet(None, label or parameter_sets.NOMINAL_LABEL, "nominal")
    values = {str(k): float(v) for k, v in params.items()}
    parameter_sets.check_values(
        values, allow_outside_bounds=allow_outside_bounds, where=label or "parameters"
    )
    return parameter_sets.ParameterSet(
        values,
        label or f"{len(values)} value(s) given in Python",
        "custom",
        allow_outside_bounds=allow_outside_bounds,
    )


# --- the paper's scale, and runs that depart from the paper -----------------------------


def presented(rows: pd.DataFrame, evidence: pd.DataFrame) -> pd.DataFrame:
    """Comparison rows with one meaning per column: every value on its stated unit.

    ``observed`` and ``predicted`` of a result stated as a change versus control
    (``percent_change_vs_control``: A431's "+30.12 %") are shown on the % of control
    scale (130.12), like every other MTT result; a ``unit`` column after
    ``observed`` says what each row's numbers are.

    Parameters
    ----------
    rows : pandas.DataFrame
        From :func:`secretome.comparison.compare`.
    evidence : pandas.DataFrame
        The evidence table the rows come from.

    Returns
    -------
    pandas.DataFrame
    """
    scale = rows["id"].map(evidence.set_index("id")["scale"])
    change = (scale == "percent_change_vs_control").to_numpy()
    out = rows.copy()
    for col in ("observed", "predicted", *(c for c in comparison.BAND_COLUMNS if c in out)):
        values = pd.to_numeric(out[col], errors="coerce")
        out[col] = np.where(change, 100.0 + values, values)
    unit = [
        f"% of control (stated as {v:+g} % vs control)" if c and pd.notna(v) else UNITS.get(sc, "")
        for c, v, sc in zip(change, rows["observed"], scale, strict=True)
    ]
    out.insert(list(out.columns).index("observed") + 1, "unit", unit)
    return out


def _perturbation_text(p: scenarios.Perturbation) -> str:
    if p.type == "neutralise":
        what = f"{p.target} neutralised" + ("" if p.amount == 1 else f" {100 * p.amount:g} %")
    elif p.type == "inhibit":
        what = f"{p.target} inhibited {100 * p.amount:g} %"
    else:
        what = f"{p.target} level x {p.amount:g}"
    return what + (" in the treated arm only" if p.arms == "treated" else " in both arms")


def _numbers(values: Sequence[float]) -> str:
    return ", ".join(f"{v:g}" for v in values)


def variant_of(scenario: scenarios.Scenario) -> Variant:
    """How ``scenario`` departs from the shipped paper scenario it stands for.

    The reference is the shipped scenario of the same name, else the first of the
    same study, cell line and delivery mode (none: not a paper scenario).

    Parameters
    ----------
    scenario : Scenario

    Returns
    -------
    Variant
    """
    shipped = scenarios.shipped_scenarios()
    ref = next((s for s in shipped if s.name == scenario.name), None)
    if ref is None and scenario.study:
        ref = next(
            (
                s
                for s in shipped
                if (s.study, s.cell_line, s.mode)
                == (scenario.study, scenario.cell_line, scenario.mode)
            ),
            None,
        )
    if ref is None:
        return Variant("", (), True)
    s = scenario
    changing: list[str] = []
    other: list[str] = []
    if (s.cell_line, s.mode) != (ref.cell_line, ref.mode):
        changing.append(f"{s.cell_line} {s.mode} (paper: {ref.cell_line} {ref.mode})")
    if s.msc_source != ref.msc_source:
        changing.append(f"MSC source {s.msc_source} (paper: {ref.msc_source})")
    if s.medium_ml != ref.medium_ml:
        changing.append(f"medium {s.medium_ml:g} mL (paper: {ref.medium_ml:g} mL)")
    if s.preincubation_h != ref.preincubation_h:
        changing.append(
            f"pre-incubation {s.preincubation_h:g} h (paper: {ref.preincubation_h:g} h)"
        )
    last = max(s.sampling_h)
    if [t for t in s.medium_changes_h if t < last] != [
        t for t in ref.medium_changes_h if t < last
    ]:
        changing.append(
            f"medium changes at {_numbers(s.medium_changes_h) or 'none'} h "
            f"(paper: {_numbers(ref.medium_changes_h) or 'none'})"
        )
    added = [p for p in s.perturbations if p not in ref.perturbations]
    removed = [p for p in ref.perturbations if p not in s.perturbations]
    changing += [_perturbation_text(p) for p in added]
    changing += [f"without the paper's {_perturbation_text(p)}" for p in removed]
    unit = DOSE_LABELS[s.dose_unit]
    if s.doses != ref.doses:
        other.append(f"doses {_numbers(s.doses)} {unit} (paper: {_numbers(ref.doses)})")
    if s.sampling_h != ref.sampling_h:
        other.append(f"sampled at {_numbers(s.sampling_h)} h (paper: {_numbers(ref.sampling_h)})")
    if s.duration_h != ref.duration_h:
        other.append(f"exposure {s.duration_h:g} h (paper: {ref.duration_h:g} h)")
    return Variant(ref.name, tuple(changing + other), not changing)


def _not_scored(rows: pd.DataFrame, variant: Variant) -> pd.DataFrame:
    """Rows judged against data of another experiment: keep the numbers, drop the verdict."""
    departs = "; ".join(variant.changes)
    out = rows.assign(
        agreement=NOT_SCORED,
        detail=f"the model run departs from the paper ({departs}); the data are the paper's",
    )
    if "counted" in out.columns:
        out["counted"] = False
    return out


# --- the report ------------------------------------------------------------------------


def independent_agreement(rows: pd.DataFrame) -> str:
    """ "A of N independent predictions agree": readouts that share a model law count
    once, readouts the model cannot change and control-arm results not at all
    (:func:`secretome.comparison.agreement_counts`)."""
    counts = comparison.agreement_counts(rows)
    total = int(counts.sum())
    return f"{int(counts['agree'])} of {total} independent predictions agree"


def _agreement_counts(rows: pd.DataFrame) -> str:
    parts = []
    judged = rows[rows["agreement"].isin(list(AGREE_COLOURS))]
    for kind in data.KINDS:
        k = judged[judged["kind"] == kind]
        if len(k):
            parts.append(f"{kind}: {(k['agreement'] == 'agree').sum()}/{len(k)} agree")
    skipped = int((rows["agreement"] == NOT_SCORED).sum())
    if skipped:
        parts.append(f"{skipped} {NOT_SCORED}")
    return f"{independent_agreement(rows)} (per row: {'; '.join(parts)})"


def _table_html(rows: pd.DataFrame) -> str:
    cols = [
        "id",
        "observable",
        "kind",
        "time_h",
        "dose",
        "observed",
        "unit",
        "direction",
        "predicted",
        "q05",
        "q95",
        "fit",
        "agreement",
        "detail",
    ]
    if "q05" in rows.columns and rows["q05"].isna().all():  # no ensemble: no band
        cols = [c for c in cols if c not in ("q05", "q95")]
    rows = rows.assign(fit=rows["fit"].map({True: "fitted", False: "held out"}))
    return _table_html_plain(rows[[c for c in cols if c in rows.columns]])


def in_and_out_of_sample(rows: pd.DataFrame) -> str:
    """ "N of M fitted rows agree; K of L held-out rows agree": agreement split by
    whether the evidence row entered the fit (its ``fit`` flag) or was held out.

    Every judged row counts once (rows not scored are left out); a fitted row's
    agreement is in-sample, a held-out row's is a prediction.

    Parameters
    ----------
    rows : pandas.DataFrame
        A comparison table (:func:`secretome.comparison.compare`).

    Returns
    -------
    str
    """
    judged = rows[rows["agreement"].isin(list(AGREE_COLOURS))]
    parts = []
    for flag, what in ((True, "fitted"), (False, "held-out")):
        k = judged[judged["fit"].astype(bool) == flag]
        parts.append(f"{int((k['agreement'] == 'agree').sum())} of {len(k)} {what} rows agree")
    return "; ".join(parts)


def _ensemble_html(ensemble, runs: Sequence[ensembles.EnsembleRun]) -> str:
    if ensemble is None:
        return (
            "<p>Ensemble: <b>none</b>: every prediction is the single point of the "
            "parameter set above, with no band; how far the data determine it is not "
            f"shown (no posterior ensemble <code>models/{ensembles.ENSEMBLE_FILE}</code> "
            "was found or <code>--ensemble none</code> was given).</p>"
        )
    failed = [f"{r.scenario.name}: {r.n_failed} of {r.n_draws}" for r in runs if r.n_failed]
    failures = (
        f" Failed simulations, left out of the bands: {html.escape('; '.join(failed))}."
        if failed
        else " No draw failed."
    )
    return (
        f"<p>Ensemble: <b>{html.escape(ensemble.label)}</b>. Every draw is simulated in "
        "every scenario; each row is <b>judged on the ensemble median</b>, and "
        "<code>q05</code>, <code>q95</code> give the 5 % and 95 % quantiles over the draws "
        "(whiskers on the diamonds, shaded bands on the time courses; the point "
        f"estimate's own numbers are <code>value</code> in observables.csv).{failures}</p>"
    )


def _loso_html(path: Path | None) -> str:
    """The leave-one-study-out predictions from a result file, whatever columns it has."""
    if path is None:
        return ""
    head = "<h2>Leave one study out</h2>"
    if not path.is_file():
        return (
            f"{head}<p>No leave-one-study-out result: {html.escape(str(path))} does not exist "
            "(make it with <code>secretome loso --out DIR</code> and copy "
            "DIR/leave_one_study_out.csv there).</p>"
        )
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        return f"{head}<p>{html.escape(str(path))} could not be read: {html.escape(str(exc))}</p>"
    text = (
        f"{head}<p>Each study predicted by a fit to the other studies only, from "
        f"<code>{html.escape(str(path))}</code> ({len(table)} rows): the out-of-sample test "
        "of whether the mechanism carries over between cell lines and MSC sources.</p>"
    )
    if {"held_out", "agreement"} <= set(table.columns):
        judged = table[table["agreement"].isin(list(AGREE_COLOURS))]
        counts = judged.groupby("held_out")["agreement"].agg(
            agree=lambda a: int((a == "agree").sum()), judged="size"
        )
        text += counts.to_html(classes="cmp")
    shown = [
        c
        for c in (
            "held_out",
            "id",
            "observable",
            "kind",
            "time_h",
            "dose",
            "observed",
            "unit",
            "predicted",
            "q05",
            "q95",
            "agreement",
            "detail",
        )
        if c in table.columns
    ]
    return text + _table_html_plain(table[shown or list(table.columns)])


def _table_html_plain(rows: pd.DataFrame) -> str:
    buf = io.StringIO()
    rows.to_html(
        buf, index=False, float_format=lambda x: f"{x:.4g}", na_rep="", escape=True, classes="cmp"
    )
    out = buf.getvalue()
    for word, colour in AGREE_COLOURS.items():
        out = out.replace(
            f"<td>{word}</td>", f'<td style="color:{colour};font-weight:bold">{word}</td>'
        )
    return out


def decisive_html(table: pd.DataFrame, source: str = "") -> str:
    """The decisive-predictions table as HTML: one row per scenario and question,
    one column per headline readout, each cell the call and the probabilities of
    up and down.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`secretome.decisive.decisive_predictions` (or ``decisive.csv``).
    source : str
        Where the table came from (a file), named above it.

    Returns
    -------
    str
    """
    needed = {"scenario", "question", "readout", "call", "p_up", "p_down"}
    if not needed <= set(table.columns):
        missing = ", ".join(sorted(needed - set(table.columns)))
        return f"<p>{html.escape(source)}: not a decisive-predictions table (no {missing})</p>"

    def cell(r: pd.Series) -> str:
        if r["call"] == "not applicable":
            return "not applicable"
        return f"{r['call']} (↑ {r['p_up']:.2f}, ↓ {r['p_down']:.2f})"

    cells = table.assign(cell=table.apply(cell, axis=1))
    wide = cells.pivot_table(
        index=["scenario", "question"],
        columns="readout",
        values="cell",
        aggfunc="first",
        sort=False,
    )
    wide = wide[[c for c in table["readout"].drop_duplicates() if c in wide.columns]]
    wide.columns.name = None
    first = table.iloc[0] if len(table) else None
    rule = ""
    if first is not None and {"threshold", "band", "ensemble"} <= set(table.columns):
        rule = (
            f"<p>Ensemble: <b>{html.escape(str(first['ensemble']))}</b>. A readout is called "
            f"up (down) when at least {first['threshold']:g} of the draws change it by more "
            f"than +{100 * first['band']:g} % (-{100 * first['band']:g} %), no change when at "
            f"least {first['threshold']:g} stay within ±{100 * first['band']:g} %, and "
            "undetermined otherwise; each draw is compared with itself unperturbed (paired). "
            "In brackets: the probabilities of up and down. "
            f"{'From ' + html.escape(source) + '.' if source else ''}</p>"
        )
    buf = io.StringIO()
    wide.reset_index().to_html(buf, index=False, escape=True, classes="cmp")
    out = buf.getvalue()
    # direction, not good or bad: blue up, brown down, purple where the posterior is split
    colours = {"up": "#2166ac", "down": "#8c510a", "undetermined": "#7b3294"}
    for word, colour in colours.items():
        out = out.replace(f"<td>{word} (", f'<td style="color:{colour}">{word} (')
    return rule + out


def _decisive_section(path: Path | None) -> str:
    if path is None:
        return ""
    head = "<h2>Decisive predictions</h2>"
    if not path.is_file():
        return (
            f"{head}<p>No decisive-predictions table: {html.escape(str(path))} does not "
            "exist (make one with <code>secretome predict --out DIR</code>).</p>"
        )
    try:
        table = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        return f"{head}<p>{html.escape(str(path))} could not be read: {html.escape(str(exc))}</p>"
    return (
        f"{head}<p>What the posterior predicts for experiments not in the evidence "
        "(docs/uncertainty.md explains the method).</p>" + decisive_html(table, str(path))
    )


def _index_html(
    table: pd.DataFrame,
    results: Sequence[SimulationResult],
    params_label: str,
    meta: Mapping[str, object],
    *,
    ensemble: ensembles.Ensemble | None = None,
    runs: Sequence[ensembles.EnsembleRun] = (),
    loso: Path | None = None,
    decisive: Path | None = None,
) -> str:
    studies = sorted(table["study"].unique())
    fit = table
    head = f"""<!doctype html><html><head><meta charset="utf-8"><title>secretome: model versus evidence</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}} img{{max-width:100%}}
table.cmp{{border-collapse:collapse;font-size:12px}} table.cmp td,table.cmp th{{border:1px solid #ccc;padding:2px 5px}}
.stamp{{color:#555;font-size:12px}}</style>
</head><body><h1>secretome: model versus the published evidence</h1>
<p class="stamp">{html.escape(_stamp(meta))} (<a href="provenance.json">provenance.json</a>)</p>
<p>Parameters: <b>{html.escape(params_label)}</b>. Every row of the evidence base
(<code>experiments/data/evidence.csv</code>) is compared with the model's prediction in the
paper's scenario (<code>experiments/scenarios/</code>). In the figures, black marks are the papers' results
(dots: numbers stated in the text, with SD as error bars where given; arrows: a significant change whose size is only in a figure;
bars: no significant change), drawn over the model's diamonds, <span style="color:{AGREE_COLOURS["agree"]}">green</span> where it agrees,
<span style="color:{AGREE_COLOURS["disagree"]}">red</span> where it does not. Agreement rules: quantitative within
{comparison.QUANT_TOLERANCE:.0%}; direction beyond a fold change of {comparison.DIRECTION_BAND}; no change within a fold change of
{comparison.NO_CHANGE_BAND}; dose orderings monotone. The <code>unit</code> column gives each row's scale (the band's too); a result stated as a
change versus control is shown as % of control.</p>
{_ensemble_html(ensemble, runs)}
<p><b>Overall</b>: {_agreement_counts(fit)}. Full table: <a href="comparison.csv">comparison.csv</a>;
all simulated observables: <a href="observables.csv">observables.csv</a>.</p>
<p><b>In sample and out of sample</b> (per row): {in_and_out_of_sample(fit)}. Fitted rows entered the
calibration (<code>fit</code> column: fitted), so their agreement is in-sample; held-out rows did not, so theirs is a prediction.</p>"""
    body = []
    for study in studies:
        rows = table[table["study"] == study]
        body.append(f"<h2>{html.escape(study)}</h2><p>{_agreement_counts(rows)}</p>")
        body.append(
            f'<img src="figures/{study}_model_vs_data.png" alt="model versus data, {study}">'
        )
        for r in results:
            if r.scenario.study == study:
                body.append(
                    f"<h3>Scenario {html.escape(r.scenario.name)}</h3><p>{html.escape(r.scenario.description)}</p>"
                )
                body.append(
                    f'<img src="figures/{r.scenario.name}_timecourses.png" alt="time courses, {r.scenario.name}">'
                )
        body.append(_table_html(rows))
    body.append(_loso_html(loso))
    body.append(_decisive_section(decisive))
    foot = f'<p class="stamp">{html.escape(_stamp(meta))}</p>'
    return head + "\n".join(body) + foot + "</body></html>\n"


FITTED_PARAMETERS = parameter_sets.FITTED_PARAMETERS
FITTED_PROVENANCE = parameter_sets.FITTED_PROVENANCE


def _check_observables(names: Sequence[str]) -> None:
    known = [o.name for o in model.load_model().observables]
    unknown = [n for n in names if n not in known]
    if unknown:
        raise SecretomeError(
            f"unknown observable(s) {', '.join(unknown)}; known: {', '.join(known)}"
        )


def simulation_report(
    scenario: scenarios.Scenario,
    out_dir: str | Path,
    params: ParameterSet | Mapping[str, float] | None = None,
    *,
    observables: Sequence[str] | None = None,
    backend: str = DEFAULT_BACKEND,
    allow_outside_bounds: bool = False,
    ensemble: ensembles.Ensemble | None = None,
    workers: int | None = 1,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationReport:
    """Simulate one scenario and write what a person reads about it.

    Writes (atomically) ``observables.csv`` and ``timecourses.csv``,
    ``timecourses.png`` (the pathway panels), ``provenance.json``, and where they
    apply ``comparison.csv`` with ``model_vs_data.png`` (the scenario samples evidence
    rows), ``dose_response.png`` (several doses) and ``time_response.png``
    (several sampling times). Every file names the parameter set, and how the
    scenario departs from the paper's experiment (:func:`variant_of`); a run
    that changes the experiment (e.g. a cytokine neutralised) is shown beside the
    paper's data but not scored against them (``agreement = "not scored"``).

    Parameters
    ----------
    scenario : Scenario
    out_dir : path
        Created if missing; refused before any work if it cannot be written.
    params : ParameterSet or mapping, optional
        A :class:`~secretome.parameter_sets.ParameterSet` (e.g.
        :func:`~secretome.parameter_sets.shipped_fit`), or overrides (``name`` or
        ``name[context]`` keys), checked against the table's bounds
        (:func:`~secretome.parameter_sets.check_values`); default the table's
        nominal values.
    observables : sequence of str, optional
        Outputs to show in the response figures and :attr:`SimulationReport.shown`;
        default :func:`secretome.comparison.measured_observables`. Unknown names
        are refused.
    backend : str
        Simulator (:data:`secretome.simulation.BACKENDS`).
    allow_outside_bounds : bool
        Accept override values outside the table's bounds.
    ensemble : Ensemble, optional
        A posterior ensemble (:func:`secretome.ensemble.choose_ensemble`): every
        draw is simulated too, ``observables.csv`` and ``timecourses.csv`` gain
        its ``q05``, ``q50``, ``q95`` (and ``failed_fraction``), the figures draw
        the median with a shaded 5-95 % band, and the evidence is judged against
        the median. Without one those columns are empty and ``ensemble`` says
        ``none``.
    workers : int or None
        Local worker processes for the ensemble's draws.
    progress : callable, optional
        ``progress(done_draws, total_draws)`` while the ensemble runs.

    Returns
    -------
    SimulationReport
    """
    pset = _as_parameter_set(params, allow_outside_bounds=allow_outside_bounds)
    out = check_output_dir(out_dir)
    evidence = data.load_evidence()
    names = list(observables or comparison.measured_observables(scenario, evidence))
    _check_observables(names)
    variant = variant_of(scenario)
    result = simulate(scenario, pset.as_dict(), record=record_variables(), backend=backend)
    run = judged = None
    if ensemble is not None:
        (run,) = ensembles.run_ensemble(
            [scenario],
            ensemble,
            record=record_variables(),
            workers=workers,
            backend=backend,
            progress=progress,
        )
        judged = ensembles.median_result(run)
    tags = {
        "variant": variant.label,
        "parameters": pset.name,
        "ensemble": _ensemble_name(ensemble),
    }
    obs = with_bands(result.observables, None if judged is None else judged.observables)
    obs = obs.assign(**tags)
    timecourses = with_bands(result.timecourses, None if judged is None else judged.timecourses)
    meta = provenance(
        pset,
        backend,
        scenario=scenario.name,
        variant=variant.label,
        scored_against_the_paper=variant.comparable,
        **_ensemble_meta(ensemble, [] if run is None else [run]),
    )
    note = f"parameters: {pset.name}; scenario: {variant.label}"
    if ensemble is not None:
        note += f"\nensemble: {ensemble.name}" + _failed_note([run])
    written = [
        atomic_write(out / "observables.csv", obs.to_csv(index=False)),
        atomic_write(out / "timecourses.csv", timecourses.assign(**tags).to_csv(index=False)),
    ]
    bands = None if judged is None else judged.timecourses
    save_figure(plot_timecourses(result, note=note, bands=bands), out / "timecourses.png")
    written.append(out / "timecourses.png")
    rows = None
    sampled = comparison.evidence_for(result, evidence)
    if not sampled.empty:
        rows = comparison.compare(sampled, [result if judged is None else judged])
        if variant.comparable:
            title = f"{scenario.name}: model (diamonds) versus {scenario.study} (black)"
        else:
            rows = _not_scored(rows, variant)
            title = (
                f"{scenario.name} with {'; '.join(variant.changes)}: model (grey, "
                f"{NOT_SCORED}) beside the paper's data for the unchanged experiment (black)"
            )
        said = f"parameters: {pset.name}"
        if ensemble is not None:
            said += f"; diamonds: median of ensemble {ensemble.name}, whiskers: 5-95 %"
        figure = plot_model_vs_data(rows, sampled, f"{title}\n{said}")
        rows = presented(rows, sampled).assign(**tags)
        written.append(atomic_write(out / "comparison.csv", rows.to_csv(index=False)))
        save_figure(figure, out / "model_vs_data.png")
        written.append(out / "model_vs_data.png")
    for axis, several, name in (
        ("dose", len(scenario.doses) > 1, "dose_response.png"),
        ("time_h", len(scenario.sampling_h) > 1, "time_response.png"),
    ):
        if several:
            fig = plot_response(
                obs,
                names,
                axis,
                dose_label=DOSE_LABELS[scenario.dose_unit],
                title=f"{scenario.name} ({variant.label}); {note.split(';')[0]}",
            )
            save_figure(fig, out / name)
            written.append(out / name)
    written.append(
        atomic_write(out / "provenance.json", json.dumps(meta, indent=2, default=str) + "\n")
    )
    shown = obs[obs["observable"].isin(names)].reset_index(drop=True)
    return SimulationReport(out, result, rows, shown, tuple(written), pset, variant, run)


def _ensemble_name(ensemble: ensembles.Ensemble | None) -> str:
    return "none" if ensemble is None else ensemble.name


def _ensemble_meta(
    ensemble: ensembles.Ensemble | None, runs: Sequence[ensembles.EnsembleRun]
) -> dict[str, object]:
    """What provenance.json says about the ensemble: which, how judged, what failed."""
    if ensemble is None:
        return {"ensemble": ensembles.NO_ENSEMBLE}
    return {
        "ensemble": ensemble.label,
        "ensemble_draws": len(ensemble),
        "judged_on": "the ensemble median; bands are its 5 % and 95 % quantiles",
        "failed_draws": {r.scenario.name: r.n_failed for r in runs},
        "failures": [e for r in runs for e in r.errors[:5]],
    }


def _failed_note(runs: Sequence[ensembles.EnsembleRun]) -> str:
    failed = sum(r.n_failed for r in runs)
    if not failed:
        return ""
    total = sum(r.n_draws for r in runs)
    return f" ({failed} of {total} simulations failed, left out of the bands)"


def with_bands(point: pd.DataFrame, banded: pd.DataFrame | None) -> pd.DataFrame:
    """A point simulation's table with an ensemble's band columns beside its numbers.

    Parameters
    ----------
    point : pandas.DataFrame
        :attr:`SimulationResult.observables` or ``timecourses`` of the point estimate.
    banded : pandas.DataFrame or None
        The same table of :func:`secretome.ensemble.median_result` (same rows in the
        same order); ``None``: no ensemble, the band columns are left empty.

    Returns
    -------
    pandas.DataFrame
        ``point`` with ``q05``, ``q50``, ``q95`` and ``failed_fraction``.
    """
    columns = [*ensembles.BAND_COLUMNS, ensembles.FAILED_COLUMN]
    if banded is None:
        return point.assign(**dict.fromkeys(columns, np.nan))
    if len(banded) != len(point):
        raise ValueError("the ensemble's table does not have the point simulation's rows")
    return point.assign(**{c: banded[c].to_numpy() for c in columns})


def shipped_parameters() -> tuple[dict[str, float] | None, str]:
    """The package's current best parameters and where they came from.

    The fitted set committed under ``models/`` (``fitted_parameters.csv``, with its
    command, seed and objective in ``fitted_parameters.toml``) when there is one,
    else ``None`` (the table's nominal values). The same set as a named
    :class:`~secretome.parameter_sets.ParameterSet`:
    :func:`secretome.parameter_sets.shipped_fit`.

    Returns
    -------
    params : dict or None
        ``name`` / ``name[context]`` -> value, for :func:`secretome.simulation.simulate`.
    label : str
        Where they came from, for reports.
    """
    pset = parameter_sets.shipped_fit()
    return pset.as_dict(), pset.label


def reproduce(
    out_dir: str | Path,
    params: ParameterSet | Mapping[str, float] | None = None,
    *,
    params_label: str | None = None,
    progress: Callable[[str, int], None] | None = None,
    backend: str = DEFAULT_BACKEND,
    ensemble: ensembles.Ensemble | None = None,
    workers: int | None = 1,
    loso: str | Path | None = None,
    decisive: str | Path | None = None,
    draw_progress: Callable[[int, int], None] | None = None,
) -> Report:
    """Run every shipped scenario, compare with the evidence, write the report.

    Parameters
    ----------
    out_dir : path
        Created if missing (refused before any work if it cannot be written);
        files are written atomically.
    params : ParameterSet or mapping, optional
        A named parameter set (e.g. :func:`secretome.parameter_sets.shipped_fit`,
        what ``secretome reproduce`` uses), or overrides checked against the
        table's bounds; default the table's nominal values.
    params_label : str, optional
        Where mapping ``params`` came from, printed at the top of the report.
    progress : callable, optional
        Called as ``progress(message, total_steps)`` before each step (the CLI shows a
        progress bar).
    backend : str
        Simulator (:data:`secretome.simulation.BACKENDS`), named in the report.
    ensemble : Ensemble, optional
        A posterior ensemble (:func:`secretome.ensemble.choose_ensemble`): every
        draw is simulated in every scenario; ``comparison.csv`` and
        ``observables.csv`` gain ``q05``, ``q50``, ``q95``, every row is judged
        on the ensemble's median, and the figures draw 5-95 % bands. Without
        one, the band columns are empty and the report says so.
    workers : int or None
        Local worker processes for the ensemble's draws.
    loso : path, optional
        A leave-one-study-out result (``secretome loso``); default
        ``docs/results/calibration/leave_one_study_out.csv`` of the project, shown when present.
    decisive : path, optional
        A decisive-predictions table (``secretome predict``); default
        ``docs/results/decisive.csv`` of the project, shown when present.
    draw_progress : callable, optional
        ``draw_progress(done_draws, total_draws)`` while the ensemble runs.

    Returns
    -------
    Report
    """
    pset = _as_parameter_set(params, params_label)
    out = check_output_dir(out_dir)
    evidence = data.load_evidence()
    shipped = scenarios.shipped_scenarios()
    total = 2 * len(shipped) + evidence["study"].nunique() + 1 + (ensemble is not None)

    def say(message: str) -> None:
        if progress is not None:
            progress(message, total)

    record = record_variables()
    values = pset.as_dict()
    results = []
    for s in shipped:
        say(f"simulating {s.name}")
        results.append(simulate(s, values, record=record, backend=backend))
    runs: tuple[ensembles.EnsembleRun, ...] | None = None
    judged = results
    if ensemble is not None:
        say(f"simulating {len(ensemble)} draws of {ensemble.name}")
        runs = ensembles.run_ensemble(
            shipped,
            ensemble,
            record=record,
            variables=record,
            workers=workers,
            backend=backend,
            progress=draw_progress,
        )
        judged = [ensembles.median_result(r) for r in runs]
    say("comparing with the evidence")
    table = comparison.compare(evidence, judged)
    tags = {"parameters": pset.name, "ensemble": _ensemble_name(ensemble)}
    shown = presented(table, evidence).assign(**tags)
    meta = provenance(pset, backend, **_ensemble_meta(ensemble, runs or ()))
    atomic_write(out / "comparison.csv", shown.to_csv(index=False))
    atomic_write(out / "evidence_summary.csv", data.summarise(evidence).to_csv())
    observables = pd.concat(
        [
            with_bands(r.observables, None if runs is None else j.observables)
            for r, j in zip(results, judged, strict=True)
        ],
        ignore_index=True,
    )
    atomic_write(out / "observables.csv", observables.assign(**tags).to_csv(index=False))
    note = f"parameters: {pset.name}"
    if ensemble is not None:
        note += f"; ensemble: {ensemble.name}, judged on its median (whiskers, shading: 5-95 %)"
        note += _failed_note(runs)
    for study in sorted(table["study"].unique()):
        say(f"drawing {study}")
        rows = table[table["study"] == study]
        title = f"{study}: model (diamonds) versus data (black)\n{note}"
        _save(
            plot_model_vs_data(rows, evidence, title),
            out / "figures" / f"{study}_model_vs_data.png",
        )
    for r, j in zip(results, judged, strict=True):
        say(f"drawing {r.scenario.name}")
        _save(
            plot_timecourses(r, note=note, bands=None if runs is None else j.timecourses),
            out / "figures" / f"{r.scenario.name}_timecourses.png",
        )
    label = f"{pset.label}; simulated with the {backend} backend"
    extras = {
        "ensemble": ensemble,
        "runs": runs or (),
        "loso": _project_result("calibration/leave_one_study_out.csv")
        if loso is None
        else Path(loso),
        "decisive": _project_result("decisive.csv") if decisive is None else Path(decisive),
    }
    atomic_write(out / "provenance.json", json.dumps(meta, indent=2, default=str) + "\n")
    atomic_write(out / "index.html", _index_html(shown, results, label, meta, **extras))
    return Report(out, shown, tuple(results), pset, runs)


def _project_result(name: str) -> Path:
    """A result file the project keeps under ``docs/results/`` (it may not exist)."""
    return paths.project_root() / "docs" / "results" / name

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

Plotting functions only draw; they take tables and return figures.
"""

from __future__ import annotations

import html
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from secretome import comparison, data, scenarios
from secretome.errors import SecretomeError
from secretome.io import atomic_write, atomic_write_with, read_parameter_file
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
    """

    out_dir: Path
    result: SimulationResult
    comparison: pd.DataFrame | None
    shown: pd.DataFrame
    written: tuple[Path, ...]


@dataclass(frozen=True)
class Report:
    """What :func:`reproduce` wrote and found."""

    out_dir: Path
    comparison: pd.DataFrame
    results: tuple[SimulationResult, ...]


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
    results on their own axis; dose orderings as predicted dose-response lines.
    Predictions are diamonds, green where they agree with the paper, red where not.
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
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def _label(r: pd.Series, ev: pd.DataFrame) -> str:
    e = ev.loc[r["id"]]
    dose = f" {r['dose']}" if e["delivery"] == "conditioned_medium" else ""
    return f"{e['readout']}\n{e['cell_line']}{dose} ({e['assay']})"


def _draw_fold(ax: plt.Axes, d: pd.DataFrame, ev: pd.DataFrame) -> None:
    x = np.arange(len(d))
    for xi, (_, r) in zip(x, d.iterrows(), strict=True):
        e = ev.loc[r["id"]]
        if r["kind"] == "quantitative":
            y = np.log2(e["value"])
            if pd.notna(e["sd"]):
                lo, hi = np.log2(e["value"] - e["sd"]), np.log2(e["value"] + e["sd"])
                ax.errorbar(xi, y, yerr=[[y - lo], [hi - y]], fmt="o", color="black", ms=6)
            else:
                ax.plot(xi, y, "o", color="black", ms=6)
        elif r["kind"] == "direction":
            dy = 0.6 if r["direction"] == "up" else -0.6
            ax.annotate(
                "",
                (xi, dy),
                (xi, 0),
                arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.8},
                annotation_clip=False,
            )
            ax.plot(xi, dy, alpha=0)  # keep the arrow inside the axis limits
        else:  # no_change
            ax.plot([xi - 0.25, xi + 0.25], [0, 0], color="black", lw=3)
        if pd.notna(r["predicted"]):
            pred = r["predicted"] / 100 if e["assay"] == "mtt" else r["predicted"]
            ax.plot(xi, np.log2(pred), "D", color=AGREE_COLOURS.get(r["agreement"], "grey"), ms=7)
    ax.axhline(0, color="grey", lw=0.8)
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
        sd = e["sd"] if pd.notna(e["sd"]) else 0.0
        ax.errorbar(xi, obs, yerr=sd, fmt="o", color="black", ms=6)
        ax.plot(xi, pred, "D", color=AGREE_COLOURS.get(r["agreement"], "grey"), ms=7)
    ax.set_xticks(
        x,
        [f"{_label(r, ev)}\n{ev.loc[r['id'], 'arm']}" for _, r in d.iterrows()],
        rotation=70,
        ha="right",
        fontsize=7,
    )
    ax.set_ylabel("% (cells, or of control viability)")
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
    ax.set_xlabel("dose (CM fraction)")
    ax.set_ylabel("model, relative to the lowest dose")
    ax.set_title("Across doses")
    ax.legend(fontsize=7)


def plot_timecourses(result: SimulationResult) -> plt.Figure:
    """Pathway activity over time, each variable relative to its control level at t = 0.

    Control arm thin grey (flat when the model sits at its steady state); treated
    arms in colour, one colour per variable and one line style per dose.
    """
    tc = result.timecourses
    present = set(tc["variable"])
    panels = {k: [v for v in vs if v in present] for k, vs in PATHWAY_PANELS.items()}
    panels = {k: v for k, v in panels.items() if v}
    fig, axes = plt.subplots(2, 3, figsize=(13, 7), squeeze=False)
    doses = sorted(tc.loc[tc["arm"] == "treated", "dose"].unique())
    # the highest dose solid, lower doses progressively lighter dashes
    styles = ["-", "--", "-.", ":"]
    dose_style = {d: styles[min(i, len(styles) - 1)] for i, d in enumerate(reversed(doses))}
    colours = plt.cm.tab10.colors
    for ax, (title, names) in zip(axes.flat, panels.items(), strict=False):
        for j, name in enumerate(names):
            v = tc[tc["variable"] == name]
            ctrl = v[v["arm"] == "control"]
            ref = ctrl["level"].iloc[0] if ctrl["level"].iloc[0] != 0 else 1.0
            ax.plot(ctrl["time_h"], ctrl["level"] / ref, color="grey", lw=0.8)
            for dose in doses:
                t = v[(v["arm"] == "treated") & (v["dose"] == dose)]
                label = name if dose == doses[-1] else None
                ax.plot(
                    t["time_h"],
                    t["level"] / ref,
                    color=colours[j % 10],
                    ls=dose_style[dose],
                    lw=1.6,
                    label=label,
                )
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("time (h)")
        ax.set_ylabel("level / control level at t = 0")
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(panels) :]:
        ax.set_visible(False)
    s = result.scenario
    unit = "MSCs" if s.mode == "transwell" else "CM fraction"
    dose_text = ", ".join(f"{d:g} ({dose_style[d]})" for d in doses)
    fig.suptitle(f"{s.name}: treated ({unit} {dose_text}) versus control (grey)")
    fig.tight_layout()
    return fig


def plot_response(observables: pd.DataFrame, names: Sequence[str], axis: str) -> plt.Figure:
    """Response curves: each observable's assay value against dose or sampling time.

    Parameters
    ----------
    observables : DataFrame
        :attr:`SimulationResult.observables`.
    names : sequence of str
        Observables to draw, one panel each.
    axis : {"dose", "time_h"}
        What varies along x; the other is fixed (one line per value of it).
    """
    other = "time_h" if axis == "dose" else "dose"
    n = len(names)
    cols = min(n, 3)
    rows_ = -(-n // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(4.2 * cols, 3.3 * rows_), squeeze=False)
    for ax, name in zip(axes.flat, names, strict=False):
        d = observables[observables["observable"] == name]
        for key, g in d.groupby(other):
            g = g.sort_values(axis)
            label = f"{key:g} h" if other == "time_h" else f"dose {key:g}"
            ax.plot(g[axis], g["value"], "o-", label=label)
        assay = d["assay"].iloc[0]
        neutral = {"mtt": 100.0, "annexin": None}.get(assay, 1.0)
        if neutral is not None:
            ax.axhline(neutral, color="grey", lw=0.8, ls="--")
        ax.set_title(f"{name} ({assay})", fontsize=10)
        ax.set_xlabel("dose" if axis == "dose" else "time (h)")
        ax.set_ylabel(
            {"mtt": "% of control", "annexin": "% of cells"}.get(assay, "treated / control")
        )
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
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
    ax.set_xlabel("start (sorted by final objective)")
    ax.set_ylabel("objective (½ Σ residual²)")
    hits = int(np.isclose(table["cost"], best, rtol=1e-3, atol=1e-6).sum())
    ax.set_title(f"Waterfall: {hits} of {len(table)} starts reach the best value {best:.4g}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_profiles(profiles: pd.DataFrame, classes: pd.DataFrame, threshold: float) -> plt.Figure:
    """One panel per parameter: objective rise against the log10 offset from the best."""
    keys = list(classes["key"])
    cols = 5
    rows_ = -(-len(keys) // cols)
    fig, axes = plt.subplots(rows_, cols, figsize=(3.1 * cols, 2.5 * rows_), squeeze=False)
    colour = {
        "identifiable": "#1a9850",
        "practically non-identifiable": "#fdae61",
        "structurally non-identifiable": "#d73027",
    }
    label = classes.set_index("key")["class"]
    for ax, key in zip(axes.flat, keys, strict=False):
        g = profiles[profiles["key"] == key].sort_values("offset")
        ax.plot(g["offset"], g["delta"], "o-", color=colour[label[key]], ms=3)
        ax.axhline(threshold, color="grey", ls="--", lw=0.8)
        ax.set_title(key, fontsize=8)
        ax.set_yscale("symlog", linthresh=1.0)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(keys) :]:
        ax.set_visible(False)
    fig.supxlabel("log10 offset from the best value")
    fig.supylabel("Δ objective (dashed: 95 % threshold)")
    handles = [plt.Line2D([], [], color=c, marker="o", label=k) for k, c in colour.items()]
    fig.legend(handles=handles, loc="upper center", ncol=3, fontsize=8)
    fig.tight_layout(rect=(0, 0, 1, 0.95))
    return fig


def save_figure(fig: plt.Figure, path: Path) -> None:
    """Write a figure as PNG atomically and close it."""
    _save(fig, path)


def _save(fig: plt.Figure, path: Path) -> None:
    def write(fh) -> None:
        fig.savefig(fh, format="png", dpi=110)

    atomic_write_with(path, write)
    plt.close(fig)


# --- the report ------------------------------------------------------------------------


def _agreement_counts(rows: pd.DataFrame) -> str:
    parts = []
    for kind in data.KINDS:
        k = rows[rows["kind"] == kind]
        if len(k):
            parts.append(f"{kind}: {(k['agreement'] == 'agree').sum()}/{len(k)} agree")
    return "; ".join(parts)


def _table_html(rows: pd.DataFrame) -> str:
    cols = [
        "id",
        "observable",
        "kind",
        "time_h",
        "dose",
        "observed",
        "direction",
        "predicted",
        "agreement",
        "detail",
    ]
    buf = io.StringIO()
    rows[cols].to_html(
        buf, index=False, float_format=lambda x: f"{x:.3g}", na_rep="", escape=True, classes="cmp"
    )
    out = buf.getvalue()
    for word, colour in AGREE_COLOURS.items():
        out = out.replace(
            f"<td>{word}</td>", f'<td style="color:{colour};font-weight:bold">{word}</td>'
        )
    return out


def _index_html(
    table: pd.DataFrame, results: Sequence[SimulationResult], params_label: str
) -> str:
    studies = sorted(table["study"].unique())
    fit = table
    head = f"""<!doctype html><html><head><meta charset="utf-8"><title>secretome: model versus evidence</title>
<style>body{{font-family:sans-serif;max-width:1200px;margin:auto;padding:1em}} img{{max-width:100%}}
table.cmp{{border-collapse:collapse;font-size:12px}} table.cmp td,table.cmp th{{border:1px solid #ccc;padding:2px 5px}}</style>
</head><body><h1>secretome: model versus the published evidence</h1>
<p>Parameters: <b>{html.escape(params_label)}</b>. Every row of the evidence base
(<code>experiments/data/evidence.csv</code>) is compared with the model's prediction in the
paper's scenario (<code>experiments/scenarios/</code>). In the figures, black marks are the papers' results
(dots: numbers stated in the text, with SD where given; arrows: a significant change whose size is only in a figure;
bars: no significant change); diamonds are the model, <span style="color:{AGREE_COLOURS["agree"]}">green</span> where it agrees,
<span style="color:{AGREE_COLOURS["disagree"]}">red</span> where it does not. Agreement rules: quantitative within
{comparison.QUANT_TOLERANCE:.0%}; direction beyond a fold change of {comparison.DIRECTION_BAND}; no change within a fold change of
{comparison.NO_CHANGE_BAND}; dose orderings monotone.</p>
<p><b>Overall</b>: {_agreement_counts(fit)}. Full table: <a href="comparison.csv">comparison.csv</a>;
all simulated observables: <a href="observables.csv">observables.csv</a>.</p>"""
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
    return head + "\n".join(body) + "</body></html>\n"


FITTED_PARAMETERS = "fitted_parameters.csv"
FITTED_PROVENANCE = "fitted_parameters.toml"


def simulation_report(
    scenario: scenarios.Scenario,
    out_dir: str | Path,
    params: Mapping[str, float] | None = None,
    *,
    observables: Sequence[str] | None = None,
    backend: str = DEFAULT_BACKEND,
) -> SimulationReport:
    """Simulate one scenario and write what a person reads about it.

    Writes (atomically) ``observables.csv`` and ``timecourses.csv``,
    ``timecourses.png`` (the pathway panels), and where they apply
    ``comparison.csv`` with ``model_vs_data.png`` (the scenario samples evidence
    rows), ``dose_response.png`` (several doses) and ``time_response.png``
    (several sampling times).

    Parameters
    ----------
    scenario : Scenario
    out_dir : path
        Created if missing.
    params : mapping, optional
        Parameter overrides (``name`` or ``name[context]`` keys).
    observables : sequence of str, optional
        Outputs to show in the response figures and :attr:`SimulationReport.shown`;
        default :func:`secretome.comparison.measured_observables`. Unknown names
        are refused.
    backend : str
        Simulator (:data:`secretome.simulation.BACKENDS`).

    Returns
    -------
    SimulationReport
    """
    result = simulate(scenario, params, record=record_variables(), backend=backend)
    evidence = data.load_evidence()
    names = list(observables or comparison.measured_observables(scenario, evidence))
    obs = result.observables
    unknown = [n for n in names if n not in set(obs["observable"])]
    if unknown:
        raise SecretomeError(
            f"unknown observable(s) {', '.join(unknown)}; known: "
            f"{', '.join(dict.fromkeys(obs['observable']))}"
        )
    out = Path(out_dir)
    written = [
        atomic_write(out / "observables.csv", obs.to_csv(index=False)),
        atomic_write(out / "timecourses.csv", result.timecourses.to_csv(index=False)),
    ]
    save_figure(plot_timecourses(result), out / "timecourses.png")
    written.append(out / "timecourses.png")
    rows = None
    sampled = comparison.evidence_for(result, evidence)
    if not sampled.empty:
        rows = comparison.compare(sampled, [result])
        written.append(atomic_write(out / "comparison.csv", rows.to_csv(index=False)))
        title = f"{scenario.name}: model (diamonds) versus {scenario.study} (black)"
        save_figure(plot_model_vs_data(rows, sampled, title), out / "model_vs_data.png")
        written.append(out / "model_vs_data.png")
    for axis, several, name in (
        ("dose", len(scenario.doses) > 1, "dose_response.png"),
        ("time_h", len(scenario.sampling_h) > 1, "time_response.png"),
    ):
        if several:
            save_figure(plot_response(obs, names, axis), out / name)
            written.append(out / name)
    shown = obs[obs["observable"].isin(names)].reset_index(drop=True)
    return SimulationReport(out, result, rows, shown, tuple(written))


def shipped_parameters() -> tuple[dict[str, float] | None, str]:
    """The package's current best parameters and where they came from.

    The fitted set committed under ``models/`` (``fitted_parameters.csv``, with its
    command, seed and objective in ``fitted_parameters.toml``) when there is one,
    else ``None`` (the table's nominal values).

    Returns
    -------
    params : dict or None
        ``name`` / ``name[context]`` -> value, for :func:`secretome.simulation.simulate`.
    label : str
        Where they came from, for reports.
    """
    import tomllib

    from secretome.paths import models_dir

    values_file = models_dir() / FITTED_PARAMETERS
    if not values_file.is_file():
        return None, "nominal values of models/parameters.csv (not fitted)"
    values = read_parameter_file(values_file)
    label = f"fitted (models/{FITTED_PARAMETERS})"
    meta_file = models_dir() / FITTED_PROVENANCE
    if meta_file.is_file():
        meta = tomllib.loads(meta_file.read_text())
        label += f": `{meta.get('command', '?')}`, objective {meta.get('objective', '?')}"
    return values, label


def reproduce(
    out_dir: str | Path,
    params: Mapping[str, float] | None = None,
    *,
    params_label: str = "nominal values of models/parameters.csv (not fitted)",
    progress: Callable[[str, int], None] | None = None,
    backend: str = DEFAULT_BACKEND,
) -> Report:
    """Run every shipped scenario, compare with the evidence, write the report.

    Parameters
    ----------
    out_dir : path
        Created if missing; files are written atomically.
    params : mapping, optional
        Parameter overrides (e.g. fitted values); default the table's values.
    params_label : str
        Where the parameters came from, printed at the top of the report.
    progress : callable, optional
        Called as ``progress(message, total_steps)`` before each step (the CLI shows a
        progress bar).
    backend : str
        Simulator (:data:`secretome.simulation.BACKENDS`), named in the report.
    """
    out = Path(out_dir)
    evidence = data.load_evidence()
    shipped = scenarios.shipped_scenarios()
    total = 2 * len(shipped) + evidence["study"].nunique() + 1

    def say(message: str) -> None:
        if progress is not None:
            progress(message, total)

    record = record_variables()
    results = []
    for s in shipped:
        say(f"simulating {s.name}")
        results.append(simulate(s, params, record=record, backend=backend))
    say("comparing with the evidence")
    table = comparison.compare(evidence, results)
    atomic_write(out / "comparison.csv", table.to_csv(index=False))
    atomic_write(out / "evidence_summary.csv", data.summarise(evidence).to_csv())
    observables = pd.concat([r.observables for r in results], ignore_index=True)
    atomic_write(out / "observables.csv", observables.to_csv(index=False))
    for study in sorted(table["study"].unique()):
        say(f"drawing {study}")
        rows = table[table["study"] == study]
        _save(
            plot_model_vs_data(rows, evidence, f"{study}: model (diamonds) versus data (black)"),
            out / "figures" / f"{study}_model_vs_data.png",
        )
    for r in results:
        say(f"drawing {r.scenario.name}")
        _save(plot_timecourses(r), out / "figures" / f"{r.scenario.name}_timecourses.png")
    label = f"{params_label}; simulated with the {backend} backend"
    atomic_write(out / "index.html", _index_html(table, results, label))
    return Report(out, table, tuple(results))

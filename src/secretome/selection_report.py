"""Write a model selection: tables, figures, and the variant set as a PEtab Select problem.

:func:`write_results` writes what ``secretome select`` leaves in its output
directory (``docs/selection.md`` describes each file):

* ``ranking.csv`` (:attr:`SelectionResult.ranking`), ``loso.csv``,
  ``agreement.csv`` (every evidence row judged at every variant's best point),
  ``candidates.csv`` (:func:`~secretome.selection.discriminating_measurements`
  for the two best variants) and ``summary.json`` (settings, timings, the best
  variant per criterion);
* ``figures/criteria.png``: ΔAICc, ΔBIC and the leave-one-study-out score per
  variant, the best marked; ``figures/agreement.png``: variant x evidence row,
  agree or disagree;
* ``petab_select/`` (:func:`export_petab_select`): the calibration problem as
  PEtab (``petab/``), ``model_space.tsv`` with one model subspace per variant,
  ``petab_select_problem.yaml`` (brute force over the space, criterion AICc) and
  ``calibrated_models.yaml`` with each variant's estimates and criteria, so that
  other PEtab Select tools can rerun or extend the selection.
"""

from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from secretome import model
from secretome.errors import SecretomeError
from secretome.io import atomic_write
from secretome.parameter_sets import ParameterSet
from secretome.petab_export import QUANTITATIVE_PROBLEM_FILE, context_parameter_id, export_petab
from secretome.report import save_figure
from secretome.selection import SelectionResult
from secretome.simulation import split_key
from secretome.variants import Variant

#: The panels plotted: the ranking's column (``dnll`` is computed from ``nll``), a
#: label, and the difference below which the data do not distinguish two variants.
CRITERIA = (
    ("dnll", "Δ −ln L̂ (the fit alone)", 1.92),
    ("dAICc", "ΔAICc", 2.0),
    ("dBIC", "ΔBIC", 2.0),
    ("dLOSO", "Δ leave-one-study-out\n−log predictive likelihood", 2.0),
)


def plot_criteria(ranking: pd.DataFrame) -> plt.Figure:
    """Δ −ln L̂, ΔAICc, ΔBIC and Δ leave-one-study-out score per variant; the best
    marked ★, and a dotted line where a difference starts to count (½χ²₁(0.95) = 1.92
    for −ln L̂, 2 for the criteria)."""
    ranking = ranking.assign(dnll=ranking["nll"] - ranking["nll"].min())
    cols = [c for c in CRITERIA if ranking[c[0]].notna().any()]
    fig, axes = plt.subplots(
        1, len(cols), figsize=(3.3 * len(cols), 0.45 * len(ranking) + 1.6), sharey=True
    )
    axes = np.atleast_1d(axes)
    y = np.arange(len(ranking))
    for ax, (col, label, threshold) in zip(axes, cols, strict=True):
        values = ranking[col].to_numpy(dtype=float)
        finite = np.where(np.isfinite(values), values, np.nan)
        ax.barh(y, np.nan_to_num(finite), color="#8da0cb")
        best = int(np.nanargmin(finite))
        ax.plot(
            [0], [y[best]], marker="*", color="#d95f02", markersize=14, linestyle="", clip_on=False
        )
        for yi, v in zip(y, values, strict=True):
            ax.text(
                0 if not np.isfinite(v) else v,
                yi,
                f" {v:.1f}" if np.isfinite(v) else " inf",
                va="center",
                fontsize=8,
            )
        ax.axvline(threshold, color="grey", linewidth=0.8, linestyle=":")
        ax.set_xlabel(label, fontsize=9)
        ax.set_yticks(y)
        ax.set_yticklabels(ranking["variant"])
    axes[0].invert_yaxis()  # once: the panels share the y axis (best on top)
    fig.suptitle(
        "Model variants (★ best; dotted: the difference below which the data do not "
        "distinguish two variants)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def plot_agreement(agreement: pd.DataFrame, order: list[str]) -> plt.Figure:
    """Variant x evidence row: agrees (green), disagrees (red), not counted (grey)."""
    ids = list(dict.fromkeys(agreement["id"]))
    grid = np.full((len(order), len(ids)), np.nan)
    for i, v in enumerate(order):
        rows = agreement[agreement["variant"] == v].set_index("id")
        for j, rid in enumerate(ids):
            if rid not in rows.index:
                continue
            r = rows.loc[rid]
            value = 1.0 if r["agreement"] == "agree" else 0.0
            grid[i, j] = value if bool(r["counted"]) else 0.5 + 0.25 * value
    cmap = plt.matplotlib.colors.ListedColormap(["#d7301f", "#bdbdbd", "#d9d9d9", "#1a9850"])
    fig, ax = plt.subplots(figsize=(0.22 * len(ids) + 2.5, 0.4 * len(order) + 2.6))
    ax.imshow(grid, cmap=cmap, vmin=-0.125, vmax=1.125, aspect="auto")
    ax.set_xticks(range(len(ids)))
    ax.set_xticklabels(ids, rotation=90, fontsize=6)
    ax.set_yticks(range(len(order)))
    ax.set_yticklabels(order, fontsize=8)
    ax.set_title(
        "Evidence rows at each variant's best fit: green agrees, red disagrees, "
        "grey not counted (control arm, shared law or fixed by construction)",
        fontsize=8,
    )
    fig.tight_layout()
    return fig


def _petab_ids(key: str, spec: model.ModelSpec) -> list[str]:
    """PEtab ids of a parameter key (a bare scoped name: one per context)."""
    name, context = split_key(key)
    rows = spec.parameters[spec.parameters["name"] == name]
    contexts = [c for c in rows["context"].fillna("").astype(str)]
    if context:
        return [context_parameter_id(name, context)]
    if contexts == [""]:
        return [name]
    return [context_parameter_id(name, c) for c in contexts if c]


def _table_value(key: str, spec: model.ModelSpec) -> float:
    name, context = split_key(key)
    t = spec.parameters
    rows = t[(t["name"] == name) & (t["context"].fillna("").astype(str) == context)]
    return float(rows["value"].iloc[0])


def export_petab_select(
    result: SelectionResult, out_dir: str | Path, criterion: str = "AICc"
) -> Path:
    """Write the variant set as a PEtab Select problem, with each variant's calibration.

    The PEtab problem (``petab/``, :func:`secretome.petab_export.export_petab`) is the
    base calibration with every parameter that any variant fixes, frees or holds
    added to the estimated set; each variant is a model subspace of
    ``model_space.tsv`` that sets those parameters to a value or ``estimate``.
    The standard PEtab v1 problem (``petab/problem_quantitative.yaml``: the
    quantitative rows only, with the noise parameters of the configuration
    estimated as in the selection) is the one named, as every PEtab tool reads it;
    the qualitative rows are in ``petab/problem.yaml`` (pyPESTO's extension).

    Parameters
    ----------
    result : SelectionResult
    out_dir : path-like
    criterion : str
        The PEtab Select criterion of the problem file (``AICc``, ``AIC``, ``BIC``).

    Returns
    -------
    pathlib.Path
        ``out_dir/petab_select_problem.yaml``.
    """
    import petab_select
    from petab_select import Criterion, Model, Models

    out = Path(out_dir)
    spec = model.load_model()
    variants: list[Variant] = result.variants
    switched: list[str] = []  # keys (bare or with context) any variant changes
    for v in variants:
        for k in [k for k, _ in v.fix] + list(v.estimate) + list(v.hold):
            for pid_key in _expand_key(k, spec):
                if pid_key not in switched:
                    switched.append(pid_key)
    base = result.config
    superset = list(base.parameters) + [k for k in switched if k not in base.parameters]
    # the start of a rerun: the best variant's estimates, the table's values elsewhere
    best = result.fits[result.best]
    start = ParameterSet(
        {k: v for k, v in best.best_parameters.items() if k in superset},
        f"best variant of the selection ({result.best})",
        result.best,
    )
    export_petab(out / "petab", replace(base, parameters=tuple(superset)), start=start)
    petab_yaml = out / "petab" / QUANTITATIVE_PROBLEM_FILE

    columns = {k: _petab_ids(k, spec)[0] for k in switched}
    rows = []
    for v in variants:
        fixed = {}
        for k, value in v.fix:
            for kk in _expand_key(k, spec):
                fixed[kk] = value
        row = {
            "model_subspace_id": v.name,
            "model_subspace_petab_yaml": "petab/" + petab_yaml.name,
        }
        for k, pid in columns.items():
            if k in fixed:
                row[pid] = _number(fixed[k])
            elif k in v.parameters:
                row[pid] = "estimate"
            else:
                row[pid] = _number(_table_value(k, spec))
        rows.append(row)
    space = pd.DataFrame(rows)
    atomic_write(out / "model_space.tsv", space.to_csv(sep="\t", index=False))
    problem_file = out / "petab_select_problem.yaml"
    atomic_write(
        problem_file,
        "format_version: 1.0.0\n"
        f"criterion: {criterion}\n"
        "method: brute_force\n"
        "model_space_files:\n- model_space.tsv\n",
    )
    problem = petab_select.Problem.from_yaml(problem_file)  # validates what was written
    ranking = result.ranking.set_index("variant")
    models = []
    for v, row in zip(variants, rows, strict=True):
        fit = result.fits[v.name]
        estimated = {}
        for key, value in fit.best_parameters.items():
            estimated[_petab_ids(key, spec)[0]] = float(value)
        estimated.update(fit.noise_parameters)  # sigma_*: their own PEtab ids
        r = ranking.loc[v.name]
        criteria = {
            Criterion.NLLH: float(r["nll"]),
            Criterion.AIC: float(r["AIC"]),
            Criterion.AICC: float(r["AICc"]) if math.isfinite(r["AICc"]) else 1e300,
            Criterion.BIC: float(r["BIC"]),
        }
        models.append(
            Model(
                model_subspace_id=v.name,
                model_subspace_indices=[0] * len(columns),
                model_subspace_petab_yaml=petab_yaml.resolve(),
                model_id=v.name,
                model_label=v.hypothesis,
                parameters={
                    pid: (val if val == "estimate" else float(val))
                    for pid, val in row.items()
                    if pid in columns.values()
                },
                estimated_parameters=estimated,
                criteria=criteria,
            )
        )
    Models(models).to_yaml(out / "calibrated_models.yaml")
    if len(problem.model_space.model_subspaces) != len(variants):
        raise SecretomeError(f"{problem_file}: PEtab Select read back a different model space")
    return problem_file


def _expand_key(key: str, spec: model.ModelSpec) -> list[str]:
    """A bare scoped name -> its ``name[context]`` keys; other keys unchanged."""
    name, context = split_key(key)
    if context:
        return [key]
    rows = spec.parameters[spec.parameters["name"] == name]
    contexts = [c for c in rows["context"].fillna("").astype(str) if c]
    return [f"{name}[{c}]" for c in contexts] or [name]


def _number(v: float) -> float | int:
    return int(v) if float(v).is_integer() else float(v)


def _md_table(frame: pd.DataFrame) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float | np.floating):
                cells.append("inf" if math.isinf(v) else ("" if math.isnan(v) else f"{v:.2f}"))
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown_tables(
    out_dir: str | Path,
    top: int = 10,
    parts: tuple[str, ...] = ("ranking", "loso", "candidates"),
) -> str:
    """The ranking, the leave-one-study-out scores and the best candidate measurements
    of a selection's output directory, as Markdown tables (what ``docs/selection.md``
    shows; ``write_results`` writes them to ``tables.md``).

    Parameters
    ----------
    out_dir : path-like
        A directory written by :func:`write_results`.
    top : int
        Candidate measurements shown (the best per observable and scenario).
    parts : tuple of str
        Which tables, in this order of the page: ``"ranking"``, ``"loso"`` (the
        leave-one-study-out scores), ``"candidates"`` (one table per candidate file).

    Returns
    -------
    str
    """
    unknown = set(parts) - {"ranking", "loso", "candidates"}
    if unknown:
        raise ValueError(f"unknown table(s) {sorted(unknown)}: use ranking, loso, candidates")
    out = Path(out_dir)
    r = pd.read_csv(out / "ranking.csv")
    blocks: list[str] = []
    if "ranking" in parts:
        cols = ["variant", "k", "n", "nll", "dAICc", "dBIC", "dLOSO", "agree", "disagree"]
        cols += ["near_optimal_starts", "starts"]
        blocks += ["### Ranking (best AICc first)", "", _md_table(r[cols]), ""]
    loso_cols = [c for c in r.columns if c.startswith("loso_nll:")]
    if loso_cols and "loso" in parts:
        spread = []  # with refits from several near-optimal end points: their range
        if "loso_origins" in r and r["loso_origins"].max() > 1:
            spread = ["loso_nll_min", "loso_nll_max", "loso_origins"]
        t = r[["variant", *loso_cols, "loso_nll", *spread]].rename(
            columns={c: c.removeprefix("loso_nll:") for c in loso_cols}
        )
        blocks += [
            "### Leave-one-study-out: −log predictive likelihood of each left-out study",
            "",
            _md_table(t),
            "",
        ]
    candidates = [out / "candidates.csv", *sorted(out.glob("candidates_*_vs_*.csv"))]
    for cand in candidates if "candidates" in parts else []:
        if not cand.is_file():
            continue
        c = pd.read_csv(cand)
        c = c.drop_duplicates(["scenario", "observable"]).head(top)
        c["dose"] = [f"{d:g}" for d in c["dose"]]
        c["time_h"] = [f"{t:g}" for t in c["time_h"]]
        pair = f"{c['variant_a'].iloc[0]} vs {c['variant_b'].iloc[0]}" if len(c) else ""
        keep = ["scenario", "perturbation", "observable", "time_h", "dose", "measured"]
        keep += ["pred_a", "pred_b", "sigma_assay", "spread_a", "spread_b", "z_noise", "z"]
        blocks += [
            f"### Measurements that best separate {pair} (best per readout and scenario)",
            "",
            _md_table(c[keep]),
            "",
        ]
    return "\n".join(blocks)


def write_results(
    result: SelectionResult,
    out_dir: str | Path,
    candidates: pd.DataFrame | None = None,
    *,
    extra_candidates: dict[str, pd.DataFrame] | None = None,
    figures: bool = True,
    petab_select: bool = True,
) -> list[Path]:
    """Write the selection's tables, figures and PEtab Select export (atomically).

    Parameters
    ----------
    result : SelectionResult
    out_dir : path-like
    candidates : DataFrame, optional
        :func:`~secretome.selection.discriminating_measurements`; written as
        ``candidates.csv``.
    extra_candidates : dict, optional
        Label (``A_vs_B``) -> the same for another pair; ``candidates_<label>.csv``.
    figures, petab_select : bool
        Also write ``figures/`` and ``petab_select/``.

    Returns
    -------
    list of pathlib.Path
    """
    out = Path(out_dir)
    r = result.ranking
    best = {
        "AICc": str(r.loc[r["AICc"].idxmin(), "variant"]),
        "BIC": str(r.loc[r["BIC"].idxmin(), "variant"]),
        "LOSO": str(r.loc[r["loso_nll"].idxmin(), "variant"])
        if r["loso_nll"].notna().any()
        else None,
    }
    summary = {
        "best": best,
        "variants": r["variant"].tolist(),
        "settings": result.settings,
        "seconds": round(result.seconds, 1),
        "starts_run": result.starts_run,
        "fit_seconds": {
            v: round(s, 1) for v, s in zip(r["variant"], r["fit_seconds"], strict=True)
        },
        "loso_seconds": {
            v: round(s, 1) for v, s in zip(r["variant"], r["loso_seconds"], strict=True)
        },
        "config": result.config.source,
    }
    written = [
        atomic_write(out / "ranking.csv", r.to_csv(index=False)),
        atomic_write(out / "loso.csv", result.loso.to_csv(index=False)),
        atomic_write(out / "agreement.csv", result.agreement.to_csv(index=False)),
    ]
    if candidates is not None:
        written.append(atomic_write(out / "candidates.csv", candidates.to_csv(index=False)))
        if len(candidates):
            top = candidates.iloc[0]
            summary["best_new_measurement"] = {
                k: (v.item() if hasattr(v, "item") else v) for k, v in top.items()
            }
    for label, table in (extra_candidates or {}).items():
        written.append(atomic_write(out / f"candidates_{label}.csv", table.to_csv(index=False)))
    written.append(atomic_write(out / "summary.json", json.dumps(summary, indent=2) + "\n"))
    written.append(atomic_write(out / "tables.md", markdown_tables(out)))
    if figures:
        path = out / "figures" / "criteria.png"
        save_figure(plot_criteria(r), path)
        written.append(path)
        path = out / "figures" / "agreement.png"
        save_figure(plot_agreement(result.agreement, r["variant"].tolist()), path)
        written.append(path)
    if petab_select:
        written.append(export_petab_select(result, out / "petab_select"))
    return written


__all__ = [
    "export_petab_select",
    "markdown_tables",
    "plot_agreement",
    "plot_criteria",
    "write_results",
]

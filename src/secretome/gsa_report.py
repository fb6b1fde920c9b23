"""Sensitivity-analysis results as files and figures (figures only draw).

:func:`write_results` writes a :class:`secretome.gsa.SensitivityResult` as
``indices.csv``, ``parameters.csv``, ``summary.json`` and figures;
:func:`plot_ranked` and :func:`plot_heatmap` take the tidy ``indices`` table and
return a figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from secretome.gsa import SensitivityResult
from secretome.io import atomic_write
from secretome.report import save_figure


def plot_ranked(indices: pd.DataFrame, output: str, method: str, top: int = 15):
    """Ranked horizontal bars with CI error bars for one output (top ``top`` parameters)."""
    d = indices[indices["output"] == output]
    shown = ("S1", "ST") if method == "sobol" else ("mu_star",)
    main = shown[-1]
    order = d[d["index"] == main].sort_values("value", ascending=False)["parameter"].head(top)
    order = list(order)[::-1]
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(order) + 1.4))
    height = 0.8 / len(shown)
    colours = {"S1": "#9ecae1", "ST": "#08519c", "mu_star": "#08519c"}
    for j, idx in enumerate(shown):
        s = d[d["index"] == idx].set_index("parameter").reindex(order)
        pos = np.arange(len(order)) + (j - (len(shown) - 1) / 2) * height
        ax.barh(
            pos,
            s["value"],
            height,
            xerr=s["ci"].fillna(0),
            color=colours[idx],
            label=idx,
            error_kw={"elinewidth": 0.8, "capsize": 2},
        )
    ax.set_yticks(np.arange(len(order)), order, fontsize=8)
    ax.set_xlabel("Sobol' index" if method == "sobol" else "Morris μ* (analysed units)")
    ax.set_title(output, fontsize=10)
    ax.axvline(0, color="0.3", lw=0.6)
    if len(shown) > 1:
        ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def plot_heatmap(indices: pd.DataFrame, method: str, top: int = 30):
    """Heat map of ST (Sobol) or μ* scaled per output (Morris): parameters × outputs.

    Rows: the ``top`` parameters with the largest index over any output.
    """
    idx = "ST" if method == "sobol" else "mu_star"
    d = indices[indices["index"] == idx]
    grid = d.pivot_table(index="parameter", columns="output", values="value", sort=False)
    if method == "morris":  # μ* is in the output's units: scale each output to its largest
        peak = grid.max(axis=0).replace(0, np.nan)
        grid = grid / peak
    rows = grid.max(axis=1).sort_values(ascending=False).head(top).index
    grid = grid.loc[rows]
    fig, ax = plt.subplots(
        figsize=(max(5.0, 0.35 * grid.shape[1] + 3.5), 0.28 * grid.shape[0] + 2.2)
    )
    im = ax.imshow(grid.to_numpy(dtype=float), aspect="auto", cmap="viridis", vmin=0, vmax=1)
    ax.set_xticks(range(grid.shape[1]), grid.columns, rotation=70, ha="right", fontsize=7)
    ax.set_yticks(range(grid.shape[0]), grid.index, fontsize=7)
    label = "total-order index ST" if method == "sobol" else "μ* / largest μ* of the output"
    fig.colorbar(im, ax=ax, label=label, shrink=0.8)
    fig.tight_layout()
    return fig


def _file_label(output: str) -> str:
    return "".join(c if c.isalnum() or c in "._-@" else "_" for c in output)


def write_results(
    result: SensitivityResult,
    out_dir: str | Path,
    *,
    convergence_table: pd.DataFrame | None = None,
    figures: bool = True,
) -> list[Path]:
    """Write ``indices.csv``, ``parameters.csv``, ``summary.json`` and figures (atomically).

    Figures: ``figures/ranked_<output>.png`` per analysed output and
    ``figures/heatmap.png``. With ``convergence_table``: ``convergence.csv``.
    """
    out = Path(out_dir)
    written = [
        atomic_write(out / "indices.csv", result.indices.to_csv(index=False)),
        atomic_write(out / "parameters.csv", result.parameters.to_csv(index=False)),
        atomic_write(out / "summary.json", json.dumps(result.summary(), indent=2) + "\n"),
    ]
    if convergence_table is not None:
        written.append(
            atomic_write(out / "convergence.csv", convergence_table.to_csv(index=False))
        )
    if figures and len(result.indices):
        for output in dict.fromkeys(result.indices["output"]):
            path = out / "figures" / f"ranked_{_file_label(output)}.png"
            save_figure(plot_ranked(result.indices, output, result.method), path)
            written.append(path)
        path = out / "figures" / "heatmap.png"
        fig = plot_heatmap(result.indices, result.method)
        if result.centre_label:
            fig.suptitle(
                f"{result.scenario}, {result.method} N={result.n}\n"
                f"parameters not varied: {result.centre_label}",
                fontsize=8,
            )
            fig.tight_layout()
        save_figure(fig, path)
        written.append(path)
    return written


__all__ = ["plot_heatmap", "plot_ranked", "write_results"]

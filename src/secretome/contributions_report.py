"""Attribution results as a file and a figure (figures only draw).

:func:`plot_attribution` draws, per readout, the shares of IL-2, IL-4, IL-15 and
the lumped other factors in its change (and the interaction remainder) as
stacked bars, with the total change marked; :func:`write_attribution` writes
``attribution.csv`` and ``attribution.png``.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from secretome.contributions import FACTORS, Attribution
from secretome.io import atomic_write
from secretome.report import save_figure

#: Bar colour of each factor's share.
COLOURS = {
    "IL2": "#1b9e77",
    "IL4": "#d95f02",
    "IL15": "#7570b3",
    "OF": "#e7298a",
    "interaction": "#bdbdbd",
}


def plot_attribution(result: Attribution) -> plt.Figure:
    """Stacked horizontal bars of each factor's share per readout; one panel per unit.

    Positive shares stack to the right of zero, negative ones to the left; a black
    tick marks the total change. Rows: the readouts at each sampling time and dose.
    """
    table = result.table
    units = list(dict.fromkeys(table["unit"]))
    heights = [max(2.0, 0.38 * (table["unit"] == u).sum() + 1.2) for u in units]
    fig, axes = plt.subplots(
        len(units),
        1,
        figsize=(7.5, sum(heights)),
        gridspec_kw={"height_ratios": heights},
        squeeze=False,
    )
    several = table["dose"].nunique() > 1 or table["time_h"].nunique() > 1
    for ax, unit in zip(axes[:, 0], units, strict=True):
        rows = table[table["unit"] == unit].reset_index(drop=True)
        labels = [
            f"{r.observable} @{r.time_h:g} h" + (f", dose {r.dose:g}" if several else "")
            for r in rows.itertuples()
        ]
        y = np.arange(len(rows))[::-1]
        left_pos, left_neg = np.zeros(len(rows)), np.zeros(len(rows))
        for part in (*FACTORS, "interaction"):
            share = rows[part].to_numpy(dtype=float)
            left = np.where(share >= 0, left_pos, left_neg)
            ax.barh(y, share, left=left, color=COLOURS[part], label=part, height=0.7)
            left_pos += np.clip(share, 0, None)
            left_neg += np.clip(share, None, 0)
        ax.scatter(rows["total"], y, marker="|", s=300, color="black", zorder=3, label="total")
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xlabel(
            "change from control, percentage points"
            if unit == "% points"
            else "change from control, ln fold change"
        )
    axes[0, 0].legend(ncol=6, fontsize=7, loc="lower left", bbox_to_anchor=(0, 1.02))
    fig.suptitle(f"{result.scenario.name}: what each secretome factor contributes", y=1.0)
    fig.tight_layout()
    return fig


def write_attribution(result: Attribution, out_dir: str | Path) -> list[Path]:
    """Write ``attribution.csv`` and ``attribution.png`` into ``out_dir`` (atomically).

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    out = Path(out_dir)
    csv = atomic_write(out / "attribution.csv", result.table.to_csv(index=False))
    save_figure(plot_attribution(result), out / "attribution.png")
    return [csv, out / "attribution.png"]


__all__ = ["plot_attribution", "write_attribution"]

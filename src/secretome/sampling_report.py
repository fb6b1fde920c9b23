"""The files a posterior sample leaves: ensemble, diagnostics, figures, provenance.

:func:`write_sample` writes, into the run's output directory,

* ``posterior.csv``: the ensemble, one row per retained draw (after burn-in and
  thinning): ``draw, chain, log_posterior``, one column per fitted model parameter
  (key as in ``models/fitted_parameters.csv``, linear units), then the noise
  parameters as ``noise:sigma_*`` (linear units);
* ``diagnostics.csv``: :func:`secretome.sampling.diagnostics` (log10 units);
* ``modes.csv`` (when walkers started from a fit's optima): per optimum, how many
  walkers started there and the share of retained draws nearest to it;
* ``corner.png`` (pairwise 2-D histograms and marginals, log10 units) and
  ``trace.png`` (every walker per parameter);
* ``posterior.toml``: command, seed, sampler and settings, steps, burn-in,
  thinning, acceptance, library versions, date and git commit.

Plotting only draws; the numbers come from :mod:`secretome.sampling`.
"""

from __future__ import annotations

import json
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import numpy as np
import pandas as pd

from secretome import report
from secretome.io import atomic_write
from secretome.sampling import Chains, diagnostics, nearest_optimum, posterior_table

#: Libraries whose versions ``posterior.toml`` records.
LIBRARIES = ("numpy", "scipy", "pandas", "emcee", "arviz", "matplotlib", "numba")


@dataclass(frozen=True)
class SampleReport:
    """What :func:`write_sample` wrote and the numbers a person reads first.

    Attributes
    ----------
    diagnostics : DataFrame
    posterior : DataFrame
        The ensemble table as written to ``posterior.csv``.
    modes : DataFrame or None
    written : tuple of pathlib.Path
    """

    diagnostics: pd.DataFrame
    posterior: pd.DataFrame
    modes: pd.DataFrame | None
    written: tuple[Path, ...]


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a sample depends on (and Python's)."""
    out = {"python": platform.python_version()}
    for name in ("secretome", *LIBRARIES):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def mode_table(
    chains: Chains, burn_in: int, optima: pd.DataFrame, start_labels: np.ndarray
) -> pd.DataFrame:
    """Per distinct optimum of the fit: walkers started there, share of draws nearest it.

    Returns
    -------
    DataFrame
        ``optimum``, ``objective`` (the fit's best J there), ``fit_starts``,
        ``walkers_started``, ``share_of_draws``, ``walkers_ending_nearest``.
    """
    d = len(chains.keys)
    kept = chains.chain[burn_in:].reshape(-1, d)
    labels = nearest_optimum(kept, optima, chains.keys)
    last = nearest_optimum(chains.chain[-1], optima, chains.keys)
    rows = []
    for g in sorted(optima["optimum"].unique()):
        members = optima[optima["optimum"] == g]
        rows.append(
            {
                "optimum": int(g),
                "objective": float(members["cost"].min()),
                "fit_starts": len(members),
                "walkers_started": int((np.asarray(start_labels) == g).sum()),
                "share_of_draws": float((labels == g).mean()),
                "walkers_ending_nearest": int((last == g).sum()),
            }
        )
    return pd.DataFrame(rows)


def plot_trace(chains: Chains, burn_in: int):
    """Every walker's path per parameter (log10) and the log posterior; burn-in shaded."""
    import matplotlib.pyplot as plt

    names = [*chains.keys, "log_posterior"]
    n = len(names)
    cols = 3
    rows = -(-n // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 1.6 * rows), sharex=True)
    axes = np.atleast_1d(axes).ravel()
    steps = np.arange(chains.steps)
    for j, ax in enumerate(axes):
        if j >= n:
            ax.set_visible(False)
            continue
        y = chains.chain[:, :, j] if j < len(chains.keys) else chains.log_prob
        if j == len(chains.keys):
            # walkers far out (burn-in, prior draws) would flatten the rest: floor them
            kept = y[burn_in:]
            finite = kept[np.isfinite(kept)]
            floor = np.quantile(finite, 0.05) if finite.size else 0.0
            y = np.where(np.isfinite(y), np.maximum(y, floor), np.nan)
        ax.plot(steps, y, color="C0", alpha=max(0.05, min(0.5, 8 / chains.walkers)), lw=0.5)
        ax.axvspan(0, burn_in, color="0.85", zorder=0)
        ax.set_title(names[j], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.supxlabel(f"step (grey: burn-in, {burn_in} steps)", fontsize=9)
    fig.tight_layout()
    return fig


def plot_corner(draws: pd.DataFrame, keys: list[str], bins: int = 20):
    """Corner plot of the retained draws (log10 units): marginal histograms on the
    diagonal, pairwise 2-D histograms below it; axes span the 0.5-99.5 % range.

    Drawn with matplotlib's ``imshow`` rather than the ``corner`` package, whose
    contours take minutes for 30 parameters (465 panels)."""
    import matplotlib.pyplot as plt

    x = draws[keys].to_numpy(dtype=float)
    d = len(keys)
    lo = np.quantile(x, 0.005, axis=0)
    hi = np.quantile(x, 0.995, axis=0)
    flat = hi - lo < 1e-12
    lo, hi = np.where(flat, lo - 0.5, lo), np.where(flat, hi + 0.5, hi)
    size = max(4.0, 0.75 * d + 1.0)
    fig = plt.figure(figsize=(size, size))
    grid = fig.add_gridspec(
        d, d, hspace=0.06, wspace=0.06, left=0.1, right=0.99, bottom=0.1, top=0.97
    )
    for i in range(d):
        for j in range(i + 1):
            ax = fig.add_subplot(grid[i, j])
            if i == j:
                h, edges = np.histogram(x[:, i], bins=bins, range=(lo[i], hi[i]))
                ax.stairs(h, edges, color="k", lw=0.7)
                ax.set_yticks([])
            else:
                h, _, _ = np.histogram2d(
                    x[:, j], x[:, i], bins=bins, range=[(lo[j], hi[j]), (lo[i], hi[i])]
                )
                ax.imshow(
                    h.T,
                    origin="lower",
                    extent=(lo[j], hi[j], lo[i], hi[i]),
                    aspect="auto",
                    cmap="Greys",
                    interpolation="nearest",
                )
            ax.set_xlim(lo[j], hi[j])
            ax.tick_params(labelsize=5, length=2)
            if i < d - 1:
                ax.set_xticks([])
            else:
                ax.set_xlabel(keys[j], fontsize=6, rotation=45, ha="right")
            if j > 0 or i == 0:
                ax.set_yticks([])
            else:
                ax.set_ylabel(keys[i], fontsize=6, rotation=0, ha="right")
    fig.suptitle("posterior draws, log10 units", fontsize=9)
    return fig


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if np.isfinite(value) else json.dumps(str(value))
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def write_sample(
    chains: Chains,
    out: str | Path,
    *,
    burn_in: int,
    thin: int,
    command: str,
    settings: dict[str, object],
    optima: pd.DataFrame | None = None,
    start_labels: np.ndarray | None = None,
    figures: bool = True,
) -> SampleReport:
    """Write the ensemble, diagnostics, figures and provenance of a finished run.

    Parameters
    ----------
    chains : Chains
    out : path
    burn_in, thin : int
        Steps discarded first, then every ``thin``-th step kept (``posterior.csv``).
    command : str
        The command line that made the run (recorded).
    settings : dict
        Further settings to record (walkers' initialisation, executor...).
    optima, start_labels : optional
        :func:`~secretome.sampling.fit_optima` and the optimum each walker started
        from; with them ``modes.csv`` is written.
    figures : bool
        Draw ``corner.png`` and ``trace.png``.

    Returns
    -------
    SampleReport
    """
    out = Path(out)
    diag = diagnostics(chains, burn_in)
    table = posterior_table(chains, burn_in, thin)
    written = [
        atomic_write(out / "posterior.csv", table.to_csv(index=False, float_format="%.8g")),
        atomic_write(out / "diagnostics.csv", diag.to_csv(index=False, float_format="%.6g")),
    ]
    modes = None
    if optima is not None and start_labels is not None and not optima.empty:
        modes = mode_table(chains, burn_in, optima, start_labels)
        written.append(
            atomic_write(out / "modes.csv", modes.to_csv(index=False, float_format="%.6g"))
        )
    if figures:
        report.save_figure(plot_trace(chains, burn_in), out / "trace.png")
        draws = chains.draws(burn_in, thin)
        report.save_figure(plot_corner(draws, chains.keys), out / "corner.png")
        written += [out / "trace.png", out / "corner.png"]
    params = diag[diag["key"] != "log_posterior"]
    prov = {
        "command": command,
        "sampler": "emcee.EnsembleSampler",
        "moves": chains.moves,
        "seed": chains.seed,
        "walkers": chains.walkers,
        "steps": chains.steps,
        "burn_in": burn_in,
        "thin": thin,
        "draws": len(table),
        "acceptance": round(chains.acceptance, 4),
        "evaluations": chains.evaluations,
        "seconds": round(chains.seconds, 1),
        "r_hat_max": round(float(params["r_hat"].max()), 4),
        "ess_bulk_min": round(float(params["ess_bulk"].min()), 1),
        "ess_tail_min": round(float(params["ess_tail"].min()), 1),
        "prior": "uniform in log10 units within the bounds (models/parameters.csv has no "
        "prior column); noise parameters' log-normal priors are in the likelihood",
        **settings,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": report._commit(),
        "versions": library_versions(),
    }
    header = (
        "# Provenance of posterior.csv (`secretome sample`): draws after burn-in, every\n"
        "# thin-th step of every walker; values in linear units; docs/sampling.md.\n"
    )
    body = "".join(f"{k} = {_toml(v)}\n" for k, v in prov.items())
    written.append(atomic_write(out / "posterior.toml", header + body))
    return SampleReport(diag, table, modes, tuple(written))

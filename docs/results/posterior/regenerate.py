"""Ship a finished `secretome sample` run as the posterior ensemble, and rewrite its docs.

From a run directory (what ``secretome sample --out DIR`` wrote):

* ``models/posterior.csv``: :data:`DRAWS` draws of the run's ``posterior.csv``,
  evenly spaced in draw order (step by step, every walker of a step in turn), the
  ensemble that ``simulate``, ``reproduce``, ``predict`` and the explorer draw
  their bands from;
* ``models/posterior.toml``: the run's provenance (command, seed, versions,
  diagnostics) plus how the draws were chosen, whether the run converged by
  :data:`secretome.ensemble.R_HAT_CONVERGED`, and ``--note``;
* ``docs/results/posterior/diagnostics.csv`` and ``modes.csv`` (copies of the
  run's), ``docs/figures/posterior_corner.png`` and ``posterior_trace.png``;
* the part of ``docs/sampling.md`` between :data:`BEGIN` and :data:`END`, from
  these files alone (``--docs-only`` rewrites just that, and
  ``tests/test_docs_posterior.py`` checks it matches);
* with ``--predict WORK``: ``secretome predict`` on the new ensemble into WORK,
  its ``decisive.csv`` copied to ``docs/results/decisive.csv`` and its table
  written between the ``decisive`` markers of ``docs/uncertainty.md``
  (``tests/test_decisive.py`` checks them).

The run itself is the command in :func:`sample_command` (about 4 steps a second on 2
cores, about 1.5 hours for 22 000 steps; ``--sample`` runs or resumes it first)::

    .venv/bin/python docs/results/posterior/regenerate.py --run RUN_DIR --note "..."
    .venv/bin/python docs/results/posterior/regenerate.py --sample --run RUN_DIR --init FIT_DIR
    .venv/bin/python docs/results/posterior/regenerate.py --docs-only
"""

from __future__ import annotations

import argparse
import math
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DOC = ROOT / "docs" / "sampling.md"
MODELS = ROOT / "models"
FIGURES = ROOT / "docs" / "figures"
BEGIN = "<!-- posterior:begin (written by docs/results/posterior/regenerate.py) -->"
END = "<!-- posterior:end -->"
DECISIVE_BEGIN = "<!-- decisive:begin -->\n"
DECISIVE_END = "<!-- decisive:end -->"
#: Draws kept in models/posterior.csv: enough for 5-95 % bands (each quantile
#: from 12 draws beyond it), few enough for `reproduce` to stay under a minute.
DRAWS = 240
#: The run: walkers from the shipped fit's starts (``--init``), none from the
#: prior (the fit's valley is where the posterior mass is; prior draws take
#: thousands of steps to join it), the second half kept.
SETTINGS = {
    "--steps": "22000",
    "--walkers": "64",
    "--burn-in": "11000",
    "--thin": "10",
    "--seed": "0",
    "--moves": "de",
    "--prior-fraction": "0",
    "--workers": "2",
}


def sample_command(run: Path, init: Path) -> list[str]:
    """The ``secretome sample`` command line of the shipped run (resumable)."""
    args = ["sample", "--out", str(run), "--init", str(init)]
    for k, v in SETTINGS.items():
        args += [k, v]
    return [*args, "--resume"]


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, dict):
        return "{ " + ", ".join(f'"{k}" = {_toml_value(x)}' for k, x in v.items()) + " }"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def ship(run: Path, note: str) -> None:
    """Install ``run``'s draws and provenance under models/ and copy its tables and figures."""
    from secretome.ensemble import R_HAT_CONVERGED
    from secretome.io import atomic_write

    draws = pd.read_csv(run / "posterior.csv")
    meta = tomllib.loads((run / "posterior.toml").read_text(encoding="utf-8"))
    every = max(1, len(draws) // DRAWS)
    shipped = draws.iloc[::every].head(DRAWS)
    converged = bool(meta["r_hat_max"] <= R_HAT_CONVERGED)
    meta |= {
        "shipped_draws": len(shipped),
        "shipped_selection": f"every {every}th draw of the run's posterior.csv (draw order)",
        "converged": converged,
        "run_note": note,
    }
    header = [
        "# Provenance of models/posterior.csv, the shipped posterior ensemble that",
        "# `simulate`, `reproduce`, `predict` and the explorer use for their bands.",
        "# Written by docs/results/posterior/regenerate.py from the run below;",
        "# docs/sampling.md says what was reached.",
    ]
    if not converged:
        header.append(
            f"# NOT CONVERGED: R-hat up to {meta['r_hat_max']} > {R_HAT_CONVERGED}; the bands "
            "show the spread of this chain, not a converged posterior."
        )
    body = [f"{k} = {_toml_value(v)}" for k, v in meta.items()]
    atomic_write(MODELS / "posterior.csv", shipped.to_csv(index=False))
    atomic_write(MODELS / "posterior.toml", "\n".join(header + body) + "\n")
    HERE.mkdir(exist_ok=True)
    for name in ("diagnostics.csv", "modes.csv"):
        atomic_write(HERE / name, (run / name).read_text(encoding="utf-8"))
    for name in ("corner", "trace"):
        shutil.copyfile(run / f"{name}.png", FIGURES / f"posterior_{name}.png")


def _g(x: float, digits: int = 3) -> str:
    return f"{x:.{digits}g}"


def posterior_markdown() -> str:
    """The section of docs/sampling.md, from models/posterior.toml and the copied tables."""
    from secretome.ensemble import R_HAT_CONVERGED

    meta = tomllib.loads((MODELS / "posterior.toml").read_text(encoding="utf-8"))
    diag = pd.read_csv(HERE / "diagnostics.csv")
    modes = pd.read_csv(HERE / "modes.csv")
    params = diag[diag["key"] != "log_posterior"]
    n = len(params)
    kept = meta["steps"] - meta["burn_in"]
    tau_max = params["tau"].max()
    rhat = params["r_hat"]
    ess = params["ess_bulk"]
    worst = params.sort_values("r_hat", ascending=False).head(5)
    state = (
        "**converged** by that criterion"
        if meta["converged"]
        else "**not converged** by that criterion"
    )
    lines = [
        f"The shipped ensemble (`models/posterior.csv`, {meta['shipped_draws']} draws, "
        f"{meta['shipped_selection']}) comes from one run, recorded in "
        "`models/posterior.toml`:",
        "",
        "```",
        meta["command"],
        "```",
        "",
        f"- {meta['run_note']}",
        f"- {meta['walkers']} walkers × {meta['steps']} steps, burn-in {meta['burn_in']}, "
        f"thin {meta['thin']}: {meta['draws']} draws; acceptance {_g(meta['acceptance'], 2)}; "
        f"{meta['evaluations']} evaluations in {meta['seconds'] / 60:.0f} min of sampling "
        f"({meta['executor']}).",
        f"- **R-hat** (rank-normalised split, each walker a chain) "
        f"{_g(rhat.min())}–{_g(rhat.max())} (median {_g(rhat.median())}) over the {n} "
        f"coordinates; {int((rhat <= R_HAT_CONVERGED).sum())} at or below "
        f"{R_HAT_CONVERGED}, {int((rhat <= 1.05).sum())} at or below 1.05, "
        f"{int((rhat <= 1.1).sum())} at or below 1.1: {state}. Largest: "
        + ", ".join(f"`{k}` {_g(r)}" for k, r in zip(worst["key"], worst["r_hat"], strict=True))
        + ".",
        f"- **Bulk ESS** {_g(ess.min())}–{_g(ess.max())} (median {_g(ess.median())}), "
        f"**tail ESS** from {_g(params['ess_tail'].min())}; "
        f"{int((ess >= 400).sum())} of {n} coordinates reach the target of 400.",
        f"- emcee's integrated autocorrelation time τ is {_g(params['tau'].min())}–"
        f"{_g(tau_max)} steps; the {kept} kept steps are {kept / tau_max:.0f} τ "
        "(emcee's authors ask for 50 τ before trusting τ itself).",
    ]
    if len(modes) == 1:
        lines.append(
            f"- **One optimum to start from.** The {int(modes['fit_starts'].iloc[0])} starts "
            "of the shipped fit all end within 0.05 of one objective "
            f"(J = {modes['objective'].iloc[0]}), so every walker starts in that valley; "
            "the second optimum of model v1 that issue 13 describes has no counterpart in "
            "this fit, and a mode the fit never found is not looked for."
        )
    else:
        shares = ", ".join(
            f"optimum {int(r.optimum)} (J {r.objective}): {r.share_of_draws:.2f}"
            for r in modes.itertuples()
        )
        lines.append(f"- **Optima.** Share of retained draws nearest each: {shares}.")
    if not math.isnan(meta.get("ess_bulk_min", float("nan"))):
        lines.append(
            "- Diagnostics per coordinate: `docs/results/posterior/diagnostics.csv`; "
            "corner plot `docs/figures/posterior_corner.png`, traces "
            "`docs/figures/posterior_trace.png`."
        )
    return "\n".join(lines) + "\n"


def write_docs() -> None:
    from secretome.io import write_between_markers

    write_between_markers(DOC, BEGIN, END, "\n" + posterior_markdown())


def predict(work: Path) -> None:
    """Rerun the decisive predictions on the shipped ensemble and put them in the docs."""
    from secretome import decisive
    from secretome.io import atomic_write, write_between_markers

    exe = Path(sys.executable).with_name("secretome")
    subprocess.run([str(exe), "predict", "--workers", "2", "--out", str(work)], check=True)
    table = pd.read_csv(work / "decisive.csv")
    atomic_write(ROOT / "docs" / "results" / "decisive.csv", table.to_csv(index=False))
    page = ROOT / "docs" / "uncertainty.md"
    write_between_markers(page, DECISIVE_BEGIN, DECISIVE_END, decisive.markdown_table(table))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--run", type=Path, help="a `secretome sample` output directory")
    parser.add_argument("--init", type=Path, help="the shipped fit's directory (with --sample)")
    parser.add_argument("--sample", action="store_true", help="run or resume the sampler first")
    parser.add_argument("--note", default="", help="how the run was made, for the provenance")
    parser.add_argument("--docs-only", action="store_true", help="only rewrite docs/sampling.md")
    parser.add_argument(
        "--predict", type=Path, metavar="WORK", help="rerun the decisive predictions into WORK"
    )
    args = parser.parse_args(argv)
    if not args.docs_only:
        if args.run is None:
            parser.error("--run is needed unless --docs-only")
        if args.sample:
            if args.init is None:
                parser.error("--sample needs --init FIT_DIR")
            exe = Path(sys.executable).with_name("secretome")
            subprocess.run([str(exe), *sample_command(args.run, args.init)], check=True)
        command = " ".join(sample_command(args.run, args.init or Path("FIT_DIR")))
        ship(args.run, args.note or f"made by: secretome {command}")
    write_docs()
    if args.predict is not None:
        predict(args.predict)
    return 0


if __name__ == "__main__":
    sys.exit(main())

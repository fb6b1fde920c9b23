"""Rerun every sensitivity result that docs/sensitivity.md quotes, and rewrite its results.

Every run is one ``secretome sensitivity`` command (listed in :func:`planned_runs`);
its tables go to ``docs/results/sensitivity/<run>/`` (``indices.csv``,
``parameters.csv``, ``summary.json``, ``convergence.csv`` for Sobol) together with
``run.json``: the exact command, seed, start date, commit, wall time and the load
of the machine while it ran. The figures ``docs/figures/sobol_*.png`` and
``docs/figures/morris_*.png`` and the part of ``docs/sensitivity.md`` between
:data:`BEGIN` and :data:`END` are then drawn and written from those tables alone,
so they can be rebuilt without rerunning anything (``--docs-only``), and
``tests/test_docs_sensitivity.py`` checks that the markdown matches the tables.

The Sobol runs vary the parameters of the calibration (``experiments/fit.toml``)
that apply to each scenario, around the shipped fit (``models/fitted_parameters.csv``):
refit, then rerun this script.

Usage (from the repository root; ``make sensitivity-results`` runs the first)::

    .venv/bin/python docs/results/sensitivity/regenerate.py            # every run, then docs
    .venv/bin/python docs/results/sensitivity/regenerate.py --runs sobol_AGS_viability
    .venv/bin/python docs/results/sensitivity/regenerate.py --docs-only
    .venv/bin/python docs/results/sensitivity/regenerate.py --list
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import shlex
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DOC = ROOT / "docs" / "sensitivity.md"
FIGURES = ROOT / "docs" / "figures"
V1 = ROOT / "docs" / "results" / "v1" / "sensitivity"
FIT_CONFIG = "experiments/fit.toml"
FIT_FILE = "models/fitted_parameters.csv"
BEGIN = "<!-- results:begin (written by docs/results/sensitivity/regenerate.py) -->"
END = "<!-- results:end -->"
SEED = 0
WORKERS = 2
MORRIS_N = 20
SOBOL_N = 512
FACTOR = 3

#: The shipped paper scenarios, in the order the docs discuss them.
SCENARIOS = (
    "mirfendereski2024_AGS",
    "mirfendereski2024_A431",
    "farahzadi2024_KG1a_CD34",
    "najafi2024_MDA-MB-231",
    "najafi2024_MDA-MB-231_mtt",
)
#: Parameters of the IL-2 / IL-4 arm (the hypothesis the project asks about) ...
CYTOKINE_WORDS = ("IL2", "IL4", "IL15", "STAT5", "STAT6", "gc", "IL13")
#: ... and of the lumped other factors of the secretome.
OTHER_FACTOR_WORDS = ("_OF",)
#: Initial apoptotic shares of a culture (fitted to its control arm).
SEEDING = ("e0", "l0")
#: An output whose largest μ* is below this does not change (numerical noise).
CONSTANT_MU_STAR = 1e-6
#: Cell-fate outputs, shown first for every scenario.
FATE_OUTPUTS = ("viable_cells", "early_apoptotic", "late_apoptotic")
OUTPUT_NAMES = {
    "viable_cells": "viability",
    "early_apoptotic": "early apoptosis",
    "late_apoptotic": "late apoptosis",
}


@dataclass(frozen=True)
class Run:
    """One ``secretome sensitivity`` command and where its tables go."""

    name: str
    scenario: str
    method: str
    n: int
    args: tuple[str, ...]
    what: str

    @property
    def out(self) -> Path:
        return HERE / self.name

    def command(self) -> list[str]:
        return [
            "secretome",
            "sensitivity",
            self.scenario,
            "--method",
            self.method,
            "--n",
            str(self.n),
            *self.args,
            "--seed",
            str(SEED),
            "--workers",
            str(WORKERS),
            "--no-figures",
            "--out",
            str(self.out.relative_to(ROOT)),
        ]


def fitted_parameters_for(scenario: str) -> list[str]:
    """The calibration's parameters (``experiments/fit.toml``) that apply to a scenario."""
    from secretome import gsa
    from secretome.errors import SecretomeError
    from secretome.scenarios import load_scenario

    names = tomllib.loads((ROOT / FIT_CONFIG).read_text(encoding="utf-8"))["parameters"]
    sc = load_scenario(scenario)
    own = []
    for name in names:
        try:
            gsa.choose_space(sc, [name])
        except SecretomeError:  # a row of another cell line or MSC source
            continue
        own.append(name)
    return own


def planned_runs() -> list[Run]:
    """Every run the docs quote."""
    runs = [
        Run(
            f"morris_{s}_bounds",
            s,
            "morris",
            MORRIS_N,
            (),
            "Morris screening of the free parameters within the table bounds",
        )
        for s in SCENARIOS
    ]
    runs += [
        Run(
            f"morris_{s}_factor{FACTOR}",
            s,
            "morris",
            MORRIS_N,
            ("--factor", str(FACTOR), "--nominal"),
            f"Morris screening within a factor {FACTOR} of the nominal values",
        )
        for s in SCENARIOS[:2]
    ]
    sobol = [
        ("sobol_AGS_viability", "mirfendereski2024_AGS", "viable_cells"),
        ("sobol_A431_viability", "mirfendereski2024_A431", "viable_cells"),
        (
            "sobol_KG1a_apoptosis",
            "farahzadi2024_KG1a_CD34",
            "early_apoptotic,late_apoptotic,viable_cells",
        ),
    ]
    for name, s, outputs in sobol:
        params = ",".join(fitted_parameters_for(s))
        runs.append(
            Run(
                name,
                s,
                "sobol",
                SOBOL_N,
                (
                    "--outputs",
                    outputs,
                    "--params",
                    params,
                    "--centre",
                    FIT_FILE,
                    "--check-convergence",
                ),
                "Sobol indices of the fitted parameters within their table bounds, "
                "the others held at the shipped fit",
            )
        )
    # e0 / l0 (the apoptotic shares at seeding, fitted to the control arm) set the
    # baseline of both arms and take most of the variance of the Annexin percentages;
    # held at the fit, the rest ask what decides the secretome's effect on it
    params = [p for p in fitted_parameters_for(SCENARIOS[2]) if base_name(p) not in SEEDING]
    runs.append(
        Run(
            "sobol_KG1a_apoptosis_secretome",
            SCENARIOS[2],
            "sobol",
            SOBOL_N,
            (
                "--outputs",
                "early_apoptotic,late_apoptotic,viable_cells",
                "--params",
                ",".join(params),
                "--centre",
                FIT_FILE,
                "--check-convergence",
            ),
            "Sobol indices as for sobol_KG1a_apoptosis, with the apoptotic shares at "
            f"seeding ({', '.join(SEEDING)}) held at the shipped fit",
        )
    )
    return runs


def fit_digest() -> str:
    """SHA-256 of the shipped fit (``models/fitted_parameters.csv``) the runs centre on:
    a refit changes it, and the Sobol runs must then be rerun."""
    return hashlib.sha256((ROOT / FIT_FILE).read_bytes()).hexdigest()


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def _commit() -> str:
    from secretome.parameter_sets import shipped_fit
    from secretome.report import provenance

    return str(provenance(shipped_fit(), "compiled")["commit"])


def execute(run: Run) -> dict:
    """Run one command and write ``run.json`` beside its tables."""
    from secretome.io import atomic_write

    cmd = run.command()
    exe = Path(sys.executable).with_name("secretome")
    start = datetime.datetime.now(datetime.UTC)
    load_start = _load()
    t0 = time.perf_counter()
    subprocess.run([str(exe), *cmd[1:]], cwd=ROOT, check=True)
    wall = time.perf_counter() - t0
    meta = {
        "command": shlex.join(cmd),
        "what": run.what,
        "seed": SEED,
        "workers": WORKERS,
        "date": start.strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "fitted_parameters_sha256": fit_digest(),
        "wall_seconds": round(wall, 1),
        "load_average_1min_start_end": [load_start[0], _load()[0]],
        "cores": os.cpu_count(),
        "note": (
            "wall time on a 2-core machine shared with other jobs (load average above); "
            "an upper value, not a benchmark"
        ),
    }
    atomic_write(run.out / "run.json", json.dumps(meta, indent=2) + "\n")
    return meta


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", metavar="NAME", help="only these runs")
    parser.add_argument("--docs-only", action="store_true", help="figures and markdown only")
    parser.add_argument("--list", action="store_true", help="print the commands and stop")
    args = parser.parse_args(argv)
    runs = planned_runs()
    if args.list:
        for r in runs:
            print(f"{r.name}: {shlex.join(r.command())}")
        return 0
    if args.runs:
        unknown = sorted(set(args.runs) - {r.name for r in runs})
        if unknown:
            parser.error(f"unknown run(s) {', '.join(unknown)}; see --list")
        runs = [r for r in runs if r.name in args.runs]
    if not args.docs_only:
        for r in runs:
            print(f"== {r.name}: {shlex.join(r.command())}", flush=True)
            try:
                meta = execute(r)
            except subprocess.CalledProcessError as e:
                print(f"== {r.name} failed (exit {e.returncode}); later runs not started")
                return 1
            print(f"== {r.name}: {meta['wall_seconds']} s", flush=True)
    write_docs()
    return 0


# --- reading the tables ---------------------------------------------------------------


@dataclass(frozen=True)
class Result:
    """The committed tables of one run."""

    name: str
    meta: dict
    summary: dict
    indices: pd.DataFrame
    parameters: pd.DataFrame
    convergence: pd.DataFrame | None


def read_result(name: str, root: Path = HERE) -> Result:
    """The tables of run ``name`` under ``root``."""
    d = root / name
    conv = d / "convergence.csv"
    return Result(
        name=name,
        meta=json.loads((d / "run.json").read_text(encoding="utf-8")),
        summary=json.loads((d / "summary.json").read_text(encoding="utf-8")),
        indices=pd.read_csv(d / "indices.csv"),
        parameters=pd.read_csv(d / "parameters.csv"),
        convergence=pd.read_csv(conv) if conv.is_file() else None,
    )


def available_runs(root: Path = HERE) -> list[str]:
    """Run folders under ``root`` that hold a finished run (``run.json``), sorted."""
    return sorted(p.parent.name for p in root.glob("*/run.json"))


def base_name(key: str) -> str:
    """``sec_IL2[rat_bone_marrow]`` -> ``sec_IL2``."""
    return key.split("[", 1)[0]


def group(key: str) -> str:
    """``cytokine`` (IL-2 / IL-4 / IL-15 arm and receptor chains), ``other`` (lumped
    other factors of the secretome) or ``cell`` (everything else)."""
    name = base_name(key)
    if name.startswith("rc_") or any(w in name for w in CYTOKINE_WORDS):
        return "cytokine"
    if any(w in name for w in OTHER_FACTOR_WORDS) or name.startswith("OF_"):
        return "other"
    return "cell"


GROUP_LABEL = {"cytokine": "IL-2/IL-4", "other": "other factors", "cell": "cell"}
INDEX_SYMBOL = {"ST": "ST", "mu_star": "μ*"}


def fmt(v: float, digits: int = 2) -> str:
    """``digits`` significant digits without an exponent (0.0034, 0.52, 41, 1300)."""
    if not np.isfinite(v):
        return "n/a"
    if v == 0:
        return "0"
    exp = int(np.floor(np.log10(abs(v))))
    if exp < -3:
        return f"{v:.0e}".replace("e-0", "e-")
    decimals = max(0, digits - 1 - exp)
    return f"{v:.{decimals}f}"


def fmt2(v: float) -> str:
    """A Sobol index: two decimals, or two significant digits below 0.01."""
    if not np.isfinite(v):
        return "n/a"
    return f"{v:.2f}" if abs(v) >= 0.01 else fmt(v)


def pm(value: float, ci: float) -> str:
    """``value ± ci`` for a Sobol index: two decimals each, or two significant digits
    each when the value is below 0.01."""
    if abs(value) >= 0.01:
        return f"{value:.2f} ± {ci:.2f}"
    return f"{fmt(value)} ± {fmt(ci)}"


def ranked(indices: pd.DataFrame, output: str, index: str) -> pd.DataFrame:
    """One output's rows of ``index``, highest first, with a ``rank`` column (1 = top)."""
    d = indices[(indices["output"] == output) & (indices["index"] == index)]
    d = d.sort_values("value", ascending=False, kind="stable").reset_index(drop=True)
    d["rank"] = np.arange(1, len(d) + 1)
    return d


def split_label(label: str) -> tuple[str, float, float | None]:
    """``viable_cells@48h@0.5`` -> (``viable_cells``, 48.0, 0.5)."""
    parts = label.split("@")
    dose = float(parts[2]) if len(parts) > 2 else None
    return parts[0], float(parts[1].rstrip("h")), dose


def main_outputs(indices: pd.DataFrame, observables=FATE_OUTPUTS) -> list[str]:
    """Labels of ``observables`` at the last time and the highest dose, in that order."""
    labels = list(dict.fromkeys(indices["output"]))
    chosen = []
    for obs in observables:
        mine = [(split_label(x), x) for x in labels if split_label(x)[0] == obs]
        if mine:
            chosen.append(max(mine, key=lambda t: (t[0][1], t[0][2] or 0))[1])
    return chosen


def readout_outputs(indices: pd.DataFrame) -> list[str]:
    """The study's readouts (not viability or apoptosis) at the last time, highest dose."""
    labels = list(dict.fromkeys(indices["output"]))
    others = list(dict.fromkeys(split_label(x)[0] for x in labels))
    return main_outputs(indices, [o for o in others if o not in FATE_OUTPUTS])


def nice(label: str) -> str:
    obs, t, dose = split_label(label)
    name = OUTPUT_NAMES.get(obs, f"`{obs}`")
    return f"{name} at {t:g} h" + ("" if dose is None else f", dose {dose:g}")


# --- writing the markdown --------------------------------------------------------------


def _when(r: Result) -> str:
    return f"{r.meta['date']}, commit {r.meta['commit']}"


def runs_table(results: list[Result]) -> list[str]:
    lines = [
        "| run (folder) | method, N | parameters × outputs | evaluations | failed | "
        "wall time | s per evaluation | load (1 min) | date, commit |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        s, m = r.summary, r.meta
        n = f"{s['n']}" if r.convergence is None else f"{s['n'] // 2} → {s['n']}"
        evals = s["n_evaluations"]
        if r.convergence is not None:  # the run at N, then the one at 2N
            evals = f"{evals // 2 + evals} ({evals // 2} + {evals})"
        load = m["load_average_1min_start_end"]
        lines.append(
            f"| `{r.name}` | {s['method']}, {n} | {s['n_parameters']} × {s['n_outputs']} | "
            f"{evals} | {s['failures']} | {m['wall_seconds']:.0f} s | "
            f"{s['seconds_per_evaluation']:.3f} | {load[0]:g}–{load[1]:g} | {_when(r)} |"
        )
    return lines


def _top_text(d: pd.DataFrame, k: int, fmt_value=fmt, ci: bool = True) -> str:
    items = []
    for row in d.head(k).itertuples():
        v = fmt_value(row.value)
        if ci and np.isfinite(row.ci):
            v += f" ± {fmt_value(row.ci)}"
        items.append(f"`{row.parameter}` {v}")
    return ", ".join(items)


def _best_of(d: pd.DataFrame, grp: str, fmt_value=fmt) -> str:
    mine = d[[group(p) == grp for p in d["parameter"]]]
    if mine.empty:
        return "none varied"
    row = mine.iloc[0]
    return f"`{row.parameter}` {fmt_value(row.value)} (rank {row['rank']})"


def morris_section(r: Result) -> list[str]:
    s = r.summary
    lines = [
        f"**`{r.name}`** — {s['scenario']}. {r.meta['what']}: "
        f"{s['n_parameters']} parameters, {s['n_evaluations']} evaluations, "
        f"{s['failures']} failed"
        + (
            f" (skipped outputs: {', '.join(s['skipped_outputs'])})"
            if s["skipped_outputs"]
            else ""
        )
        + ".",
    ]
    failed = {k: v for k, v in s["failed_by_output"].items() if v}
    if failed:
        lines[0] += (
            " Failed points per output: "
            + ", ".join(f"{nice(k)} {v}" for k, v in failed.items())
            + " (each drops its trajectory from that output's indices)."
        )
    lines += [
        "",
        "| output | top 5 by μ* (± 95 % CI) | σ/μ* of the first | best IL-2/IL-4 parameter "
        "| best other-factor parameter |",
        "|---|---|---|---|---|",
    ]
    for out in main_outputs(r.indices):
        d = ranked(r.indices, out, "mu_star")
        first = d.iloc[0]["parameter"]
        sig = r.indices[
            (r.indices["output"] == out)
            & (r.indices["index"] == "sigma")
            & (r.indices["parameter"] == first)
        ]["value"].iloc[0]
        ratio = sig / d.iloc[0]["value"] if d.iloc[0]["value"] > 0 else np.nan
        lines.append(
            f"| {nice(out)} | {_top_text(d, 5)} | {fmt(ratio)} | "
            f"{_best_of(d, 'cytokine')} | {_best_of(d, 'other')} |"
        )
    readouts = readout_outputs(r.indices)
    if readouts:
        lines += ["", "Readouts of the study (top 3 by μ*):", ""]
        for out in readouts:
            d = ranked(r.indices, out, "mu_star")
            if d.iloc[0]["value"] < CONSTANT_MU_STAR:
                lines.append(
                    f"* {nice(out)}: constant (largest μ* {fmt(d.iloc[0]['value'])}): "
                    "no parameter moves it (at most numerical noise)"
                )
                continue
            lines.append(
                f"* {nice(out)}: {_top_text(d, 3, ci=False)}; best IL-2/IL-4 parameter "
                f"{_best_of(d, 'cytokine')}"
            )
    return lines


def summary_table(results: list[Result]) -> list[str]:
    """Per run and cell-fate output: the leader, and the best parameter of each group."""
    lines = [
        "| run | output | index | first | best IL-2/IL-4 parameter | best other-factor "
        "parameter |",
        "|---|---|---|---|---|---|",
    ]
    for r in results:
        index = "ST" if r.summary["method"] == "sobol" else "mu_star"
        value = fmt2 if index == "ST" else fmt
        for out in main_outputs(r.indices):
            d = ranked(r.indices, out, index)
            first = d.iloc[0]
            lines.append(
                f"| `{r.name}` | {nice(out)} | {INDEX_SYMBOL[index]} | `{first.parameter}` "
                f"{value(first.value)} | {_best_of(d, 'cytokine', value)} | "
                f"{_best_of(d, 'other', value)} |"
            )
    return lines


def ranking_sentence(results: list[Result]) -> str:
    """In how many (run, cell-fate output) pairs an other-factor parameter outranks
    every IL-2/IL-4 parameter, and which pairs are the exceptions."""
    pairs, exceptions = 0, []
    for r in results:
        index = "ST" if r.summary["method"] == "sobol" else "mu_star"
        for out in main_outputs(r.indices):
            d = ranked(r.indices, out, index)
            groups = d["parameter"].map(group)
            cyt = d.loc[groups == "cytokine", "rank"].min()
            oth = d.loc[groups == "other", "rank"].min()
            if not (np.isfinite(cyt) and np.isfinite(oth)):
                continue
            pairs += 1
            if cyt < oth:
                exceptions.append(f"`{r.name}` {nice(out)}")
    return (
        f"In {pairs - len(exceptions)} of {pairs} run × cell-fate output pairs an "
        "other-factor parameter ranks above every IL-2/IL-4 parameter"
        + (f"; the exceptions: {', '.join(exceptions)}." if exceptions else ".")
    )


def same_model_sentence(a: Result, b: Result) -> str:
    """Whether two Morris runs (AGS and A431 within the bounds) gave the same indices."""

    def table(r: Result) -> pd.Series:
        d = r.indices[r.indices["index"] == "mu_star"]
        return d.set_index(["output", d["parameter"].map(base_name)])["value"].sort_index()

    x, y = table(a), table(b)
    common = x.index.intersection(y.index)
    diff = float(np.max(np.abs(x[common] - y[common]))) if len(common) else np.nan
    peak = float(np.max(np.abs(x[common]))) if len(common) else np.nan
    if np.isfinite(diff) and diff <= 1e-9 * max(peak, 1.0):
        return (
            f"Within the table bounds `{a.name}` and `{b.name}` give the same μ* to the "
            "last digit: the two lines are the same model there."
        )
    return (
        f"Within the table bounds AGS and A431 are no longer the same model (they were in "
        f"v1): their μ* differ by up to {fmt(diff)} (largest μ* {fmt(peak)}), because v2 "
        "reads per-line facts that the bounds do not vary (TP53 status, receptor chains; "
        "`models/cell_lines.csv`)."
    )


def sobol_section(r: Result, figure_for) -> list[str]:
    s = r.summary
    n2 = s["n"]
    n1 = n2 // 2
    lines = [
        f"**`{r.name}`** — {s['scenario']}: the {s['n_parameters']} calibrated parameters "
        f"that apply (`{FIT_CONFIG}`) vary within their table bounds, every other parameter "
        f"is held at the shipped fit; N = {n1} → {n2}, {s['failures']} of "
        f"{s['n_evaluations']} evaluations at N = {n2} failed.",
        "",
    ]
    for out in [o for o in main_outputs(r.indices) if o not in s["skipped_outputs"]]:
        st = ranked(r.indices, out, "ST")
        s1 = r.indices[(r.indices["output"] == out) & (r.indices["index"] == "S1")]
        s1 = s1.set_index("parameter")
        conv = r.convergence[r.convergence["output"] == out].set_index("parameter")
        show = st[(st["rank"] <= 6) | st["parameter"].map(group).eq("cytokine")]
        lines += [
            f"{nice(out)} (N = {n2}):",
            "",
            f"| rank | parameter | group | ST (± CI) | S1 (± CI) | rank at N = {n1} (top 5) |",
            "|---|---|---|---|---|---|",
        ]
        for row in show.itertuples():
            r1 = conv[f"rank_n{n1}"].get(row.parameter, np.nan)
            lines.append(
                f"| {row.rank} | `{row.parameter}` | {GROUP_LABEL[group(row.parameter)]} | "
                f"{pm(row.value, row.ci)} | "
                f"{pm(s1.loc[row.parameter, 'value'], s1.loc[row.parameter, 'ci'])} | "
                f"{'—' if not np.isfinite(r1) else int(r1)} |"
            )
        lines += ["", *sobol_sentences(r, out, st, s1), ""]
        lines += [f"![{r.name} {out}]({figure_for(r, out)})", ""]
    for out, reason in s["skipped_outputs"].items():
        lines += [f"{nice(out)}: not analysed ({reason}).", ""]
    return lines


def _matters(row) -> bool:
    """ST distinguishable from 0: its CI excludes 0 and it is at least 0.01."""
    return row.value >= 0.01 and row.value > row.ci


def sobol_sentences(r: Result, out: str, st: pd.DataFrame, s1: pd.DataFrame) -> list[str]:
    n2 = r.summary["n"]
    n1 = n2 // 2
    conv = r.convergence[r.convergence["output"] == out]
    top1 = conv[conv[f"rank_n{n1}"] <= 5].sort_values(f"rank_n{n1}")["parameter"].tolist()
    top2 = conv[conv[f"rank_n{n2}"] <= 5].sort_values(f"rank_n{n2}")["parameter"].tolist()
    moved = conv[~conv["within_ci"].astype(bool)]
    # the longest head of the ranking that holds the same parameters at both N
    k = max((j for j in range(len(top2) + 1) if set(top1[:j]) == set(top2[:j])), default=0)
    same = (
        "the same parameters in the same order"
        if top1 == top2
        else (
            "the same parameters in another order"
            if set(top1) == set(top2)
            else f"not the same parameters (the first {k} are)"
        )
    )
    wide = st.head(5)
    wide = wide[wide["ci"] > 0.5 * wide["value"].abs()]
    conv_text = (
        f"Convergence (`{r.name}/convergence.csv`): the top five at N = {n1} and {n2} are "
        f"{same}; {len(moved)} of {len(conv)} top-ranked indices moved by more than their "
        f"two CIs (largest change {fmt2(conv['change'].abs().max())}); "
        f"{len(wide)} of the top five have a CI wider than half their value. "
    )
    if top1 == top2 and moved.empty and wide.empty:
        conv_text += "The ranking of the top five is settled at this N."
    elif set(top1) == set(top2) and moved.empty:
        conv_text += (
            "Which parameters lead is settled; their order within the CIs is not "
            f"(a larger N, e.g. `--n {2 * n2}`, would narrow it)."
        )
    elif moved.empty and k > 0:
        conv_text += (
            f"The first {k} are settled; below them parameters with overlapping CIs "
            f"swap places (a larger N, e.g. `--n {2 * n2}`, would separate them)."
        )
    else:
        conv_text += f"Not converged: rerun with a larger N (e.g. `--n {2 * n2}`)."
    matters = [row for row in st.itertuples() if _matters(row)]
    by_group = {g: [row for row in matters if group(row.parameter) == g] for g in GROUP_LABEL}
    cyt = st[[group(p) == "cytokine" for p in st["parameter"]]]
    oth = st[[group(p) == "other" for p in st["parameter"]]]

    def names(rows) -> str:
        return ", ".join(f"`{x.parameter}` ({fmt2(x.value)})" for x in rows) or "none"

    verdict = (
        f"Parameters whose ST is distinguishable from 0 (ST ≥ 0.01 and above its CI): "
        f"IL-2/IL-4 arm: {names(by_group['cytokine'])}; other factors: "
        f"{names(by_group['other'])}; cell: {names(by_group['cell'])}. "
        f"Sum of ST over the IL-2/IL-4 parameters {fmt2(cyt['value'].sum())}, over the "
        f"other-factor parameters {fmt2(oth['value'].sum())}; sum of S1 over all "
        f"{fmt2(s1['value'].sum())}"
        + (
            " (well below 1: the output is decided by interactions)."
            if s1["value"].sum() < 0.7
            else "."
        )
    )
    return [conv_text, "", verdict]


def v1_comparison(results: dict[str, Result]) -> list[str]:
    """Top five ST of v1 (from docs/results/v1/sensitivity) next to v2's."""
    pairs = [
        ("AGS viability", "sobol_AGS_viability_indices.csv", "sobol_AGS_viability"),
        ("A431 viability", "sobol_A431_viability_indices.csv", "sobol_A431_viability"),
    ]
    lines = []
    for title, v1_file, v2_name in pairs:
        if v2_name not in results or not (V1 / v1_file).is_file():
            continue
        v1 = pd.read_csv(V1 / v1_file)
        out1 = v1["output"].iloc[0]
        d1 = ranked(v1, out1, "ST")
        r2 = results[v2_name]
        out2 = main_outputs(r2.indices)[0]
        d2 = ranked(r2.indices, out2, "ST")
        lines += [
            f"{title}, total-order ST (± CI): v1 from `docs/results/v1/sensitivity/{v1_file}` "
            f"(N = 1024, {len(d1)} parameters), v2 from `{v2_name}/indices.csv` "
            f"(N = {r2.summary['n']}, {len(d2)} parameters).",
            "",
            "| rank | v1 | ST | v2 | ST |",
            "|---|---|---|---|---|",
        ]
        for k in range(5):
            a, b = d1.iloc[k], d2.iloc[k]
            lines.append(
                f"| {k + 1} | `{a.parameter}` | {pm(a.value, a.ci)} | "
                f"`{b.parameter}` | {pm(b.value, b.ci)} |"
            )
        gone = sorted(
            {base_name(p) for p in d1["parameter"]} - {base_name(p) for p in d2["parameter"]}
        )
        table = pd.read_csv(ROOT / "models" / "parameters.csv")["name"]
        absent = [g for g in gone if g not in set(table)]
        kept = [g for g in gone if g in set(table)]
        lines += [
            "",
            "v1 parameters that v2's run does not vary: "
            f"{', '.join(f'`{g}`' for g in absent) or 'none'} (no longer in "
            "`models/parameters.csv`)"
            + (f", {', '.join(f'`{g}`' for g in kept)} (not calibrated in v2)" if kept else "")
            + ".",
            "",
        ]
    return lines


def figure_path(r: Result, out: str | None = None) -> Path:
    """Where the figure of a run (and output) goes under docs/figures/."""
    if out is None:
        return FIGURES / f"{r.name}.png"
    parts = r.name.split("_")  # sobol_<line>_<what>[_<variant>]
    stem = "_".join(["sobol", parts[1], *parts[3:]])
    obs = split_label(out)[0]
    return FIGURES / f"{stem}_{OUTPUT_NAMES.get(obs, obs).replace(' ', '_')}.png"


def _rel(path: Path) -> str:
    return str(path.relative_to(DOC.parent))


def render_results(root: Path = HERE) -> str:
    """The markdown between :data:`BEGIN` and :data:`END`, from the tables under ``root``."""
    names = available_runs(root)
    results = {n: read_result(n, root) for n in names}
    order = [r.name for r in planned_static() if r.name in results]
    order += [n for n in names if n not in order]
    ordered = [results[n] for n in order]
    morris = [r for r in ordered if r.summary["method"] == "morris"]
    sobol = [r for r in ordered if r.summary["method"] == "sobol"]
    loads = [x for r in ordered for x in r.meta["load_average_1min_start_end"]]
    lines = [
        "",
        "### The runs",
        "",
        "Each row is one `secretome sensitivity` command; its exact command, seed, date and "
        "commit are in `docs/results/sensitivity/<run>/run.json`, its tables beside it. "
        f"Times are wall times with `--workers {WORKERS}` on a {ordered[0].meta['cores']}-core "
        "machine **shared with other jobs** while they ran (1-minute load average "
        f"{fmt(min(loads))}–{fmt(max(loads))}, i.e. several times more work than cores): "
        "upper values, not benchmarks. "
        "A Sobol run with `--check-convergence` runs N and then 2N; the tables are those "
        "of 2N. The whole set took "
        f"{fmt(sum(r.meta['wall_seconds'] for r in ordered) / 60)} min of wall time.",
        "",
        *runs_table(ordered),
        "",
        "### IL-2/IL-4 versus the other factors, at a glance",
        "",
        "For each run and cell-fate output: the parameter ranked first, and the "
        "highest-ranked parameter of the IL-2/IL-4 group and of the other-factor group "
        "(μ* for Morris, ST for Sobol; rank among all parameters varied in that run).",
        "",
        *summary_table(ordered),
        "",
        ranking_sentence(ordered),
        "",
        "### Morris screening",
        "",
        "μ* is in analysed units (log of viability % of control or of a fold change, "
        "percentage points for Annexin); compare it within an output only. σ/μ* above 1 "
        "means the effect of the first parameter depends strongly on where the others are.",
        "",
    ]
    pair = [r for r in morris if r.name.endswith("_bounds") and "mirfendereski" in r.name]
    if len(pair) == 2:
        lines += [same_model_sentence(*pair), ""]
    for r in morris:
        lines += [*morris_section(r), "", f"![{r.name}]({_rel(figure_path(r))})", ""]
    lines += ["### Sobol indices around the shipped fit", ""]
    for r in sobol:
        lines += sobol_section(r, lambda res, out: _rel(figure_path(res, out)))
    lines += ["### Compared with v1", "", *v1_comparison(results)]
    return "\n".join(lines).rstrip() + "\n"


def planned_static() -> list[Run]:
    """The run names in the docs' order, without loading the model."""
    names = [f"morris_{s}_bounds" for s in SCENARIOS]
    names += [f"morris_{s}_factor{FACTOR}" for s in SCENARIOS[:2]]
    names += ["sobol_AGS_viability", "sobol_A431_viability", "sobol_KG1a_apoptosis"]
    names += ["sobol_KG1a_apoptosis_secretome"]
    return [Run(n, "", "", 0, (), "") for n in names]


def between_markers(text: str) -> str:
    """The part of ``text`` between the markers (without the newline after BEGIN)."""
    return text.split(BEGIN, 1)[1].split(END, 1)[0].removeprefix("\n")


def write_figures(root: Path = HERE) -> list[Path]:
    """Ranked Sobol bars per output and Morris heat maps per run, from the tables."""
    from secretome.gsa_report import plot_heatmap, plot_ranked
    from secretome.report import save_figure

    written = []
    for name in available_runs(root):
        r = read_result(name, root)
        if r.summary["method"] == "sobol":
            for out in main_outputs(r.indices):
                fig = plot_ranked(r.indices, out, "sobol")
                fig.axes[0].set_title(
                    f"{r.summary['scenario']}\n{out}, N = {r.summary['n']}", fontsize=9
                )
                path = figure_path(r, out)
                save_figure(fig, path)
                written.append(path)
        else:
            # an output no parameter moves (μ* at noise level) would be scaled up to 1
            mu = r.indices[r.indices["index"] == "mu_star"]
            moving = mu.groupby("output")["value"].max() >= CONSTANT_MU_STAR
            shown = r.indices[r.indices["output"].map(moving)]
            fig = plot_heatmap(shown, "morris")
            fig.suptitle(f"{name}: Morris N = {r.summary['n']}", fontsize=8)
            fig.tight_layout()
            path = figure_path(r)
            save_figure(fig, path)
            written.append(path)
    return written


def write_docs() -> None:
    """Figures and the results section of docs/sensitivity.md, from the tables."""
    from secretome.io import write_between_markers

    write_figures()
    write_between_markers(DOC, BEGIN, END, "\n" + render_results())


if __name__ == "__main__":
    sys.exit(main())

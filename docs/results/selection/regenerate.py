"""Rerun the model selection behind docs/selection.md, and rewrite the page's numbers.

    .venv/bin/python docs/results/selection/regenerate.py --select   # the run, then the page
    .venv/bin/python docs/results/selection/regenerate.py            # the page alone

``--select`` runs ``benchmarks/bench_select.py`` with :data:`SETTINGS` and
:data:`PAIRS`: ``secretome select`` over every shipped variant
(``models/variants/*.toml``) into this directory, timed into
``benchmarks/results/select.json``. A stopped run continues with
``--select --resume``.

Without it, the script redraws ``figures/criteria.png`` from ``ranking.csv`` and
rewrites the three generated sections of ``docs/selection.md`` (between the
``selection-…:begin`` and ``…:end`` markers) from the files of this directory
and ``benchmarks/results/select.json``; nothing outside the markers changes.
``tests/test_docs_selection.py`` checks that the page holds what this script
writes, and that the hand-written reading of the results still holds for them.

A new run needs an empty ``fits/`` and ``loso/`` here (move the old run away, or
keep it as ``EARLIER`` for the run-to-run comparison): ``secretome select``
refuses start files made from other starting points.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DOC = ROOT / "docs" / "selection.md"
BENCH = ROOT / "benchmarks" / "results" / "select.json"
#: The run of the page: the command's default number of starts.
SETTINGS = {"--starts": "8", "--loso-starts": "1", "--loso-from": "5", "--workers": "2"}
#: The questions the seed data leave open, asked of the variant they change.
PAIRS = (("full", "apoptosis_only"), ("full", "full_activity"), ("full", "canonical_of_brake"))
#: ½ χ²₁(0.95): a difference in −ln L̂ below it is not a difference the data make.
HALF_CHI2 = 1.92
#: An earlier run kept beside this one, to show how much the ranking moves between runs.
EARLIER = "earlier_2_starts"
#: Assays whose predictions are percentages (the rest: natural log of a fold change).
PERCENT = ("annexin", "mtt", "cell_cycle")


def _markers(name: str) -> tuple[str, str]:
    return (
        f"<!-- selection-{name}:begin (written by docs/results/selection/regenerate.py) -->",
        f"<!-- selection-{name}:end -->",
    )


SECTIONS = ("ranking", "candidates", "cost")


def _load(results: Path) -> tuple[pd.DataFrame, dict]:
    ranking = pd.read_csv(results / "ranking.csv")
    summary = json.loads((results / "summary.json").read_text(encoding="utf-8"))
    return ranking, summary


def _command(settings: dict, pairs) -> str:
    args = [f"--starts {settings['starts']}", f"--loso-starts {settings['loso_starts']}"]
    args.append(f"--loso-max-nfev {settings['loso_max_nfev']}")
    if settings.get("loso_from", 1) > 1:
        args.append(f"--loso-from {settings['loso_from']}")
    args.append(f"--workers {settings['workers']}")
    line = "secretome select --out docs/results/selection " + " ".join(args)
    for a, b in pairs:
        line += f" \\\n    --pair {a} {b}"
    return line


def _pairs_present(results: Path) -> list[tuple[str, str]]:
    out = []
    for f in sorted(results.glob("candidates_*_vs_*.csv")):
        c = pd.read_csv(f, nrows=1)
        out.append((str(c["variant_a"].iloc[0]), str(c["variant_b"].iloc[0])))
    return out


def _aicc_step(k: int, n: int) -> float:
    """Half the AICc cost of one parameter more at k: the nll a variant must gain."""
    from secretome.selection import information_criteria

    aicc = [information_criteria(0.0, kk, n)["AICc"] for kk in (k, k + 1)]
    return 0.5 * (aicc[1] - aicc[0])


def ranking_markdown(results: Path = HERE) -> str:
    """The run, its ranking and leave-one-study-out tables, and the differences they
    hold (the section ``selection-ranking`` of the page)."""
    from secretome.selection_report import markdown_tables

    r, summary = _load(results)
    s = summary["settings"]
    n = int(r["n"].iloc[0])
    lowest = r["nll"].min()
    r = r.assign(dnll=r["nll"] - lowest)
    near = r[r["dnll"] < HALF_CHI2].sort_values("nll")
    far = r[r["dnll"] >= HALF_CHI2].sort_values("nll")
    lines = [
        "",
        "Measured with",
        "",
        "```",
        _command(s, _pairs_present(results)),
        "```",
        "",
        f"i.e. the {len(r)} shipped variants against the evidence rows of "
        f"`experiments/fit.toml` (n = {n} data residuals), **{s['starts']} starts per "
        f"variant** (the nominal point and {s['starts'] - 1} Latin hypercube points, "
        f"{s['max_nfev']} iterations each) and {s['loso_starts']} leave-one-study-out "
        f"refit of {s['loso_max_nfev']} iterations per variant and study. The tables are "
        "`docs/results/selection/tables.md`, made by "
        "`secretome.selection_report.markdown_tables` from `ranking.csv` and `loso.csv` "
        "beside it; the figures are `docs/results/selection/figures/criteria.png` and "
        "`agreement.png`.",
        "",
        markdown_tables(results, parts=("ranking", "loso")).rstrip("\n"),
        "",
        "The numbers the reading above rests on:",
        "",
        "* **−ln L̂ within ½χ²₁(0.95) = 1.92 of the lowest** ("
        + ", ".join(f"`{v}` {x:.2f}" for v, x in zip(near["variant"], near["nll"], strict=True))
        + f"): these agree with {near['agree'].min()}–{near['agree'].max()} counted "
        f"evidence rows of {int(near['agree'].iloc[0] + near['disagree'].iloc[0])}.",
    ]
    if len(far):
        lines.append(
            "* **Above it:** "
            + ", ".join(
                f"`{v}` {x:.2f} (+{d:.2f}, agrees with {a})"
                for v, x, d, a in zip(
                    far["variant"], far["nll"], far["dnll"], far["agree"], strict=True
                )
            )
            + f"; by BIC these are {far['dBIC'].min():.2f}–{far['dBIC'].max():.2f} above the "
            f"best, by the leave-one-study-out score {far['dLOSO'].min():.2f}–"
            f"{far['dLOSO'].max():.2f}."
        )
    ks = sorted(int(k) for k in near["k"].unique())
    lines += [
        "* **Near-optimal starts** (within 1.92 of the variant's best): "
        + ", ".join(
            f"`{v}` {int(a)} of {int(b)}"
            for v, a, b in zip(r["variant"], r["near_optimal_starts"], r["starts"], strict=True)
        )
        + ".",
        f"* **What one parameter more costs** at n = {n}: ½ ln n = {0.5 * math.log(n):.2f} "
        "in −ln L̂ by BIC; by AICc "
        + ", ".join(f"{_aicc_step(k, n):.1f} from k = {k} to {k + 1}" for k in ks)
        + ".",
        f"* **Best by each criterion:** AICc `{summary['best']['AICc']}`, BIC "
        f"`{summary['best']['BIC']}`, leave one study out `{summary['best']['LOSO']}`.",
    ]
    if "loso_origins" in r and r["loso_origins"].max() > 1:
        spread = near["loso_nll_max"] - near["loso_nll_min"]
        lines.append(
            "* **Leave one study out from several origins** (up to "
            f"{int(r['loso_origins'].max())} near-optimal end points per variant): for "
            "the variants within 1.92 of the lowest −ln L̂, the score's range over the "
            f"origins spans {spread.min():.2f}–{spread.max():.2f}; their scores from the "
            f"best point differ by at most {near['loso_nll'].max() - near['loso_nll'].min():.2f}"
            + (
                ", and their ranges overlap."
                if loso_range_gap(near) <= 0
                else f"; their ranges come within {loso_range_gap(near):.2f} of each other "
                "(the highest of the ranges' lower ends minus the lowest of their upper ends)."
            )
        )
    earlier = run_to_run(results)
    if earlier is not None:
        e = earlier
        lines.append(
            f"* **Run to run** (against `{EARLIER}/`, {e['starts']} starts per variant): "
            f"the largest change of a variant's −ln L̂ is {e['max_dnll']:.2f}. Of the "
            "variants within 1.92 of the lowest −ln L̂, the largest change of the "
            f"leave-one-study-out score is {e['max_dloso']:.2f} (`{e['moved']}`: "
            f"{e['loso_before']:.2f} → {e['loso_after']:.2f}), against a gap of "
            f"{e['gap']:.2f} between the best and the second best of them now. "
            "Their order by that score then: "
            + ", ".join(f"`{v}`" for v in e["order_before"])
            + "; now: "
            + ", ".join(f"`{v}`" for v in e["order_after"])
            + "."
        )
    lines.append("")
    return "\n".join(lines)


def loso_range_gap(rows: pd.DataFrame) -> float:
    """How far apart the leave-one-study-out ranges (min–max over origins) of ``rows``
    are at most: the highest lower end minus the lowest upper end (≤ 0: they share a
    point)."""
    return float(rows["loso_nll_min"].max() - rows["loso_nll_max"].min())


def run_to_run(results: Path = HERE) -> dict | None:
    """How the ranking moved against the earlier run kept in ``EARLIER/`` (None
    without one): the largest change of any variant's −ln L̂; for the variants that
    fit (−ln L̂ within 1.92 of the lowest now), the largest change of the
    leave-one-study-out score and their order by it, before and after."""
    old_dir = results / EARLIER
    if not (old_dir / "ranking.csv").is_file():
        return None
    now = pd.read_csv(results / "ranking.csv").set_index("variant")
    old = pd.read_csv(old_dir / "ranking.csv").set_index("variant").reindex(now.index)
    old_settings = json.loads((old_dir / "summary.json").read_text(encoding="utf-8"))
    near = now.index[now["nll"] - now["nll"].min() < HALF_CHI2]
    dloso = (now.loc[near, "loso_nll"] - old.loc[near, "loso_nll"]).abs()
    moved = str(dloso.idxmax())
    scores = now.loc[near, "loso_nll"].sort_values()
    return {
        "starts": old_settings["settings"]["starts"],
        "max_dnll": float((now["nll"] - old["nll"]).abs().max()),
        "max_dloso": float(dloso.max()),
        "moved": moved,
        "loso_before": float(old.loc[moved, "loso_nll"]),
        "loso_after": float(now.loc[moved, "loso_nll"]),
        "gap": float(scores.iloc[1] - scores.iloc[0]),
        "order_before": old.loc[near, "loso_nll"].sort_values().index.tolist(),
        "order_after": scores.index.tolist(),
    }


def _scale(assay: str) -> str:
    return "percentage points" if assay in PERCENT else "ln fold change"


def _describe(row: pd.Series) -> str:
    pert = "" if row["perturbation"] == "none" else f", {row['perturbation']}"
    return (
        f"`{row['observable']}` ({row['assay']}) in `{row['scenario']}`{pert}, at "
        f"{row['time_h']:g} h"
    )


def candidates_markdown(results: Path = HERE) -> str:
    """The best separating measurement of the two best variants and of each asked
    pair, and the candidate tables (the section ``selection-candidates``)."""
    from secretome.selection_report import markdown_tables

    best = pd.read_csv(results / "candidates.csv").iloc[0]
    z = float(best["z"])
    lines = [
        "",
        f"The top two by AICc are `{best['variant_a']}` and `{best['variant_b']}`. Their "
        f"best single separating measurement is {_describe(best)}: "
        f"`{best['variant_a']}` predicts {best['pred_a']:+.2f}, `{best['variant_b']}` "
        f"{best['pred_b']:+.2f} ({_scale(best['assay'])}); the difference is "
        f"{best['z_noise']:.2f} times the assay's σ ({best['sigma_assay']:.2f}), "
        f"`z` = {z:.2f} with the spread of the near-optimal starts. "
        + (
            "One replicate per arm would separate them by two standard errors."
            if z >= 2
            else f"With r replicates per arm the standard error of the difference falls "
            f"by √r, so about (2 / {z:.2f})² ≈ {math.ceil((2 / z) ** 2)} replicates "
            "would be needed for a difference of two standard errors."
        ),
        "",
        "The questions the seed data leave open (`--pair`), each pair's best candidate:",
        "",
    ]
    for f in sorted(results.glob("candidates_*_vs_*.csv")):
        row = pd.read_csv(f).iloc[0]
        lines.append(
            f"* `{row['variant_a']}` vs `{row['variant_b']}`: {_describe(row)}, "
            f"`z` {row['z']:.2f} (`z_noise` {row['z_noise']:.2f})."
        )
    lines += [
        "",
        "The tables (from `candidates.csv` and `candidates_<A>_vs_<B>.csv`, best row per "
        "readout and scenario; predictions on the objective's scale, ln fold change or "
        "percentage points):",
        "",
        markdown_tables(results, parts=("candidates",)).rstrip("\n"),
        "",
    ]
    return "\n".join(lines)


def cost_markdown(results: Path = HERE, bench: Path = BENCH) -> str:
    """What the run cost, from ``benchmarks/results/select.json`` (the section
    ``selection-cost``)."""
    b = json.loads(bench.read_text(encoding="utf-8"))
    per = b["per_variant"]
    fit = {v: c["fit_seconds"] for v, c in per.items()}
    loso = {v: c["loso_seconds"] for v, c in per.items()}
    starts = sum(c["fit_starts"] for c in per.values())
    loso_starts = sum(c["loso_starts"] for c in per.values())
    evaluations = sum(c["fit_evaluations"] + c["loso_evaluations"] for c in per.values())
    busy = sum(fit.values()) + sum(loso.values())
    cheap, dear = min(fit, key=fit.get), max(fit, key=fit.get)
    verdict = "within" if b["within_target"] else "**outside**"
    return "\n".join(
        [
            "",
            f"Measured by `python benchmarks/bench_select.py` on {b['date'][:10]} "
            f"(`{b['command']}`, in-process; the results were then copied to "
            "`docs/results/selection/`; `benchmarks/results/select.json`):",
            "",
            f"* wall time **{b['wall_s']:.0f} s ({b['wall_min']:.1f} min)** for "
            f"{len(b['variants'])} variants: {starts} full-data starts and {loso_starts} "
            f"leave-one-study-out refits on {SETTINGS['--workers']} workers, compiled "
            f"backend, {verdict} the target for a full selection (≥ 5 variants in < "
            f"{b['target_min']:.0f} min on 2 cores);",
            f"* the machine: {b['cpu_count']} cores, 1-minute load average "
            f"{b['load_average_1min_before']:.2f} before and "
            f"{b['load_average_1min_after']:.2f} after the run; one objective evaluation "
            f"timed in the benchmark's own process took {b['ms_per_evaluation_before']:.1f} ms "
            f"before and {b['ms_per_evaluation_after']:.1f} ms after, and "
            f"{1000 * busy / evaluations:.1f} ms on average inside the workers "
            f"({busy:.0f} s of optimiser time for {evaluations:,} evaluations);",
            f"* per variant (seconds inside the optimiser summed over its starts, i.e. on one "
            f"core): from {fit[cheap]:.0f} s (`{cheap}`) to {fit[dear]:.0f} s (`{dear}`) for "
            f"the full-data starts, {min(loso.values()):.0f}–{max(loso.values()):.0f} s for "
            "its leave-one-study-out refits.",
            "",
        ]
    )


WRITERS = {"ranking": ranking_markdown, "candidates": candidates_markdown, "cost": cost_markdown}


def write_page() -> None:
    from secretome.io import write_between_markers
    from secretome.report import save_figure
    from secretome.selection_report import plot_criteria

    ranking = pd.read_csv(HERE / "ranking.csv")
    save_figure(plot_criteria(ranking), HERE / "figures" / "criteria.png")
    for name in SECTIONS:
        begin, end = _markers(name)
        write_between_markers(DOC, begin, end, WRITERS[name]())


def run_selection(resume: bool) -> int:
    held = [f"{d}/" for d in ("fits", "loso") if (HERE / d).is_dir()]
    if held and not resume:
        print(
            f"{HERE.relative_to(ROOT)} holds a finished run ({', '.join(held)}): move it "
            "away first, or pass --resume "
            "to continue it",
            file=sys.stderr,
        )
        return 2
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_select.py")]
    command += [x for kv in SETTINGS.items() for x in kv]
    command += ["--out-dir", str(HERE), "--out", str(BENCH)]
    for a, b in PAIRS:
        command += ["--pair", a, b]
    if resume:
        command.append("--resume")
    return subprocess.call(command, cwd=ROOT)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--select", action="store_true", help="run the selection first")
    p.add_argument("--resume", action="store_true", help="with --select: continue a stopped run")
    args = p.parse_args(argv)
    if args.select:
        rc = run_selection(args.resume)
        if rc != 0:
            print(f"the selection exited with {rc}; the page is unchanged", file=sys.stderr)
            return rc
    write_page()
    print(f"wrote the results sections of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

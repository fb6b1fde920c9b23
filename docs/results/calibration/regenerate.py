"""Rerun the calibration the docs quote, install the shipped fit, and rewrite the results.

Four ``secretome`` commands, in order (:func:`planned_runs`; each writes into a work
directory, default ``/tmp/secretome-calibration``; ``fit`` and ``profile`` resume
what an interrupted run of this script left there):

1. ``fit``: the shipped fit. Its ``fitted_parameters.csv`` and ``.toml`` (with the
   exact command, seed, versions) become ``models/fitted_parameters.*``; its
   ``starts.csv`` and ``best_parameters.csv`` are kept here, its waterfall as
   ``docs/figures/fit_waterfall.png``.
2. ``profile`` of that fit: ``identifiability.csv`` and ``profiles.csv`` here,
   ``docs/figures/profiles.png``.
3. ``loso``: each study predicted by a fit to the others,
   ``leave_one_study_out.csv`` here (the HTML report of ``reproduce`` shows it).
4. ``reproduce --no-ensemble`` at the new shipped fit: ``comparison.csv`` here.

Each run's command, date, commit, wall time and machine load go to ``runs.json``.
The part of ``docs/calibration.md`` between :data:`BEGIN` and :data:`END` is then
written from these tables alone (``--docs-only`` rewrites it without rerunning), and
``tests/test_docs_calibration.py`` checks that it matches them.

Usage (from the repository root; ``make calibration-results`` runs everything)::

    .venv/bin/python docs/results/calibration/regenerate.py
    .venv/bin/python docs/results/calibration/regenerate.py --runs profile loso
    .venv/bin/python docs/results/calibration/regenerate.py --docs-only
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import shlex
import shutil
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
DOC = ROOT / "docs" / "calibration.md"
FIGURES = ROOT / "docs" / "figures"
MODELS = ROOT / "models"
V1 = ROOT / "docs" / "results" / "v1"
BEGIN = "<!-- results:begin (written by docs/results/calibration/regenerate.py) -->"
END = "<!-- results:end -->"
SEED = 0
WORKERS = 2
STARTS = 12
LOSO_STARTS = 2
#: Profile threshold: the 95 % pointwise χ²₁ quantile over 2 (the objective is a
#: negative log-likelihood, docs/likelihood.md).
THRESHOLD = 1.92
#: Profile settings: steps of 0.3 decades up to 2 decades either side, at most 8
#: points a side, each re-optimised for at most 40 iterations from its neighbour.
#: Chosen to finish 30 profiles in well under an hour on 2 cores (the default, 200
#: iterations a point, takes about 45 s a point here); points that stop at the
#: limit are reported as not converged in profiles.csv and warnings.txt.
PROFILE_SETTINGS = ("--step", "0.3", "--span", "2", "--max-steps", "8", "--max-nfev", "40")
#: Two starts "reach the best" when their objectives differ by less than this.
SAME_OPTIMUM = 1e-3


def planned_runs(work: Path) -> dict[str, list[str]]:
    """Each run's ``secretome`` command line (without the executable)."""
    fit = work / "fit"
    return {
        "fit": ["fit", "--starts", str(STARTS), "--seed", str(SEED), "--workers", str(WORKERS),
                "--out", str(fit), "--resume"],
        "profile": ["profile", str(fit), *PROFILE_SETTINGS, "--workers", str(WORKERS),
                    "--out", str(work / "profile"), "--resume"],
        "loso": ["loso", "--starts", str(LOSO_STARTS), "--seed", str(SEED), "--workers",
                 str(WORKERS), "--out", str(work / "loso")],
        "reproduce": ["reproduce", "--no-ensemble", "--out", str(work / "reproduce")],
    }  # fmt: skip


def _commit() -> str:
    out = subprocess.run(
        ["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() or "unknown"


def _run(name: str, argv: list[str]) -> dict:
    exe = str(Path(sys.executable).with_name("secretome"))
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    t0 = time.perf_counter()
    print(f"[{name}] secretome {shlex.join(argv)}", flush=True)
    subprocess.run([exe, *argv], cwd=ROOT, check=True)
    return {
        "command": "secretome " + shlex.join(argv),
        "started": started,
        "commit": _commit(),
        "wall_s": round(time.perf_counter() - t0, 1),
        "load_1min_after": round(os.getloadavg()[0], 2),
    }


def _install(name: str, work: Path) -> None:
    """Copy a finished run's tables (and figures, and the shipped fit) into place."""
    if name == "fit":
        src = work / "fit"
        shutil.copy(src / "starts.csv", HERE / "fit_starts.csv")
        shutil.copy(src / "best_parameters.csv", HERE / "best_parameters.csv")
        shutil.copy(src / "waterfall.png", FIGURES / "fit_waterfall.png")
        shutil.copy(src / "fitted_parameters.csv", MODELS / "fitted_parameters.csv")
        shutil.copy(src / "fitted_parameters.toml", MODELS / "fitted_parameters.toml")
    elif name == "profile":
        src = work / "profile"
        for f in ("identifiability.csv", "profiles.csv", "warnings.txt"):
            shutil.copy(src / f, HERE / f)
        shutil.copy(src / "profiles.png", FIGURES / "profiles.png")
    elif name == "loso":
        shutil.copy(work / "loso" / "leave_one_study_out.csv", HERE / "leave_one_study_out.csv")
    elif name == "reproduce":
        shutil.copy(work / "reproduce" / "comparison.csv", HERE / "comparison.csv")


# --- the docs section, from the tables alone -------------------------------------------


def _g(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    return f"{x:.{digits}g}"


def _fit_section() -> list[str]:
    prov = tomllib.loads((MODELS / "fitted_parameters.toml").read_text(encoding="utf-8"))
    starts = pd.read_csv(HERE / "fit_starts.csv")
    best = float(starts["cost"].min())
    same = int((starts["cost"] - best < SAME_OPTIMUM).sum())
    near = int((starts["cost"] - best < THRESHOLD).sum())
    table = pd.read_csv(HERE / "best_parameters.csv")
    lines = [
        "### The fit",
        "",
        f"`{prov.get('command', '?')}` (seed {prov.get('seed', '?')}, commit "
        f"{prov.get('commit', '?')}, {prov.get('date', '?')}; versions in "
        "`models/fitted_parameters.toml`).",
        "",
        "| quantity | value |",
        "|---|---|",
        f"| objective J = ½ Σ r² (best start) | {best:.4f} |",
        f"| negative log-likelihood | {_g(prov.get('neg_log_likelihood'), 6)} |",
        f"| residuals | {prov.get('residuals', '?')} |",
        f"| fitted parameters (model + noise) | {len(table)} |",
        f"| starts | {len(starts)} |",
        f"| starts at the best optimum (ΔJ < {SAME_OPTIMUM:g}) | {same} |",
        f"| starts within ΔJ < {THRESHOLD} of the best | {near} |",
        f"| starts that failed or hit the iteration limit | {_limit_count(starts)} |",
    ]
    noise = prov.get("noise", {})
    for k, v in noise.items():
        lines.append(f"| fitted noise `{k}` | {_g(float(v))} |")
    if "at_bound" in table.columns:
        on = [k for k, b in zip(table["key"], table["at_bound"], strict=True) if _truthy(b)]
        lines.append(f"| parameters on a bound | {len(on)}: {', '.join(f'`{k}`' for k in on)} |")
    lines.append("")
    return lines


def _truthy(v) -> bool:
    return str(v).strip().lower() not in ("", "false", "nan", "none", "0")


def _limit_count(starts: pd.DataFrame) -> int:
    msg = starts.get("message", pd.Series([""] * len(starts))).astype(str)
    return int(msg.str.contains("maximum number of function evaluations").sum())


def _agreement_section() -> list[str]:
    comp = pd.read_csv(HERE / "comparison.csv")
    comp["fit"] = comp["fit"].astype(str).str.lower() == "true"
    comp["counted"] = comp["counted"].astype(str).str.lower() == "true"
    lines = [
        "### How well it fits (in-sample)",
        "",
        "Every fitted row below was also used to fit, so agreement here is in-sample: "
        "it says the model can be made to match, not that it predicts (for that, see "
        "leave one study out below). Counted rows count each independent prediction "
        "once (readouts sharing a law once, control arms and readouts fixed by "
        "construction not at all; `models/observables.csv`).",
        "",
        "| study | fitted rows agreeing | independent predictions agreeing "
        "| held-out rows agreeing |",
        "|---|---|---|---|",
    ]
    for study, g in comp.groupby("study", sort=True):
        fitted, held = g[g["fit"]], g[~g["fit"]]
        counted = fitted[fitted["counted"]]
        lines.append(
            f"| {study} | {(fitted['agreement'] == 'agree').sum()} of {len(fitted)} "
            f"| {(counted['agreement'] == 'agree').sum()} of {len(counted)} "
            f"| {(held['agreement'] == 'agree').sum()} of {len(held)} |"
        )
    misses = comp[comp["agreement"] == "disagree"]
    lines += ["", "Rows the fitted model gets wrong:", ""]
    lines += ["| row | readout | kind | observed | predicted | fitted | detail |"]
    lines += ["|---|---|---|---|---|---|---|"]
    for r in misses.itertuples(index=False):
        obs = r.observed if isinstance(r.observed, str) else _g(r.observed)
        lines.append(
            f"| `{r.id}` | {r.observable} | {r.kind} | {obs} | {_g(r.predicted)} "
            f"| {'yes' if r.fit else 'no'} | {r.detail} |"
        )
    lines.append("")
    return lines


def _identifiability_section() -> list[str]:
    ident = pd.read_csv(HERE / "identifiability.csv")
    best = pd.read_csv(HERE / "best_parameters.csv").set_index("key")
    counts = ident["class"].value_counts()
    warnings = HERE / "warnings.txt"
    n_warn = len(warnings.read_text(encoding="utf-8").splitlines()) if warnings.is_file() else 0
    not_conv = int(ident["not_converged"].sum()) if "not_converged" in ident.columns else 0
    lines = [
        "### What the data determine",
        "",
        f"Profile likelihoods (`secretome profile` with {' '.join(PROFILE_SETTINGS)}), "
        f"threshold ΔNLL = {THRESHOLD} (95 % pointwise); `identifiability.csv`, "
        "`profiles.csv` and `warnings.txt` here, figure `docs/figures/profiles.png`. "
        f"{not_conv} re-optimisations stopped at the iteration limit and the run wrote "
        f"{n_warn} warnings (sides that reached the span or a bound below the threshold "
        "cannot be classified finer than 'practically non-identifiable'; points that "
        "did not converge may lie above the true profile, which makes a parameter look "
        "better determined than it is). Read the classes as at most this well determined. "
        "An interval end is 'open' where the profile stayed below the threshold up to "
        "the bound or the span.",
        "",
        ", ".join(f"{n} {c}" for c, n in counts.items()) + f" (of {len(ident)}).",
        "",
        "| parameter | fitted | class | 95 % interval | max ΔNLL | points not converged |",
        "|---|---|---|---|---|---|",
    ]
    for r in ident.sort_values(["class", "key"]).to_dict(orient="records"):
        fitted = best["value"].get(r["key"], math.nan)
        lo, hi = r.get("ci_lower", math.nan), r.get("ci_upper", math.nan)
        lo_text = "open" if pd.isna(lo) else _g(10.0**lo)
        hi_text = "open" if pd.isna(hi) else _g(10.0**hi)
        lines.append(
            f"| `{r['key']}` | {_g(fitted)} | {r['class']} | {lo_text} – {hi_text} "
            f"| {_g(r['max_delta'])} | {int(r.get('not_converged', 0))} |"
        )
    lines.append("")
    return lines


def _loso_section() -> list[str]:
    loso = pd.read_csv(HERE / "leave_one_study_out.csv")
    lines = [
        "### Leave one study out (out-of-sample)",
        "",
        f"For each study, the model is refitted to the others ({LOSO_STARTS} starts) and "
        "predicts the held-out study's rows; `leave_one_study_out.csv` here.",
        "",
        "| held-out study | rows agreeing | of which quantitative |",
        "|---|---|---|",
    ]
    for study, g in loso.groupby("held_out", sort=True):
        quant = g[g["kind"] == "quantitative"]
        lines.append(
            f"| {study} | {(g['agreement'] == 'agree').sum()} of {len(g)} "
            f"| {(quant['agreement'] == 'agree').sum()} of {len(quant)} |"
        )
    lines.append("")
    return lines


def _v1_section() -> list[str]:
    lines = ["### Model v1 against model v2", ""]
    v1_starts = pd.read_csv(V1 / "fit_starts.csv")
    v1_ident = pd.read_csv(V1 / "identifiability.csv")
    v1_loso = pd.read_csv(V1 / "leave_one_study_out.csv")
    v2_starts = pd.read_csv(HERE / "fit_starts.csv")
    v2_ident = pd.read_csv(HERE / "identifiability.csv")
    v2_loso = pd.read_csv(HERE / "leave_one_study_out.csv")

    def ident_count(t: pd.DataFrame, cls: str) -> int:
        return int((t["class"] == cls).sum())

    def loso_agree(t: pd.DataFrame) -> str:
        return f"{(t['agreement'] == 'agree').sum()} of {len(t)}"

    lines += [
        "v1's numbers are from `docs/results/v1/` (git tag `model-v1`); v1's objective had "
        "fixed σ and no noise terms, so its J and v2's are not on the same scale: compare "
        "agreement, identifiability and held-out prediction, not J.",
        "",
        "| | v1 | v2 |",
        "|---|---|---|",
        f"| best J | {v1_starts['cost'].min():.4f} | {v2_starts['cost'].min():.4f} |",
        f"| fitted parameters | {len(v1_ident)} | {len(v2_ident)} |",
    ]
    for cls in ("identifiable", "practically non-identifiable", "structurally non-identifiable"):
        lines.append(f"| {cls} | {ident_count(v1_ident, cls)} | {ident_count(v2_ident, cls)} |")
    lines.append(f"| held-out rows agreeing (leave one study out) | {loso_agree(v1_loso)} "
                 f"| {loso_agree(v2_loso)} |")  # fmt: skip
    lines.append("")
    return lines


def results_markdown() -> str:
    """The generated section of ``docs/calibration.md`` (between the markers)."""
    parts = [
        _fit_section(),
        _agreement_section(),
        _identifiability_section(),
        _loso_section(),
        _v1_section(),
    ]
    return "\n".join(line for part in parts for line in part).rstrip() + "\n"


def write_docs() -> None:
    from secretome.io import write_between_markers

    write_between_markers(DOC, BEGIN, END, "\n" + results_markdown())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", nargs="+", choices=list(planned_runs(Path("."))))
    parser.add_argument("--work", type=Path, default=Path("/tmp/secretome-calibration"))
    parser.add_argument("--docs-only", action="store_true")
    args = parser.parse_args(argv)
    if not args.docs_only:
        runs = planned_runs(args.work)
        log_path = HERE / "runs.json"
        log = json.loads(log_path.read_text()) if log_path.is_file() else {}
        for name in args.runs or list(runs):
            log[name] = _run(name, runs[name])
            _install(name, args.work)
            log_path.write_text(json.dumps(log, indent=2) + "\n")
    write_docs()
    print(f"wrote the results section of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Write the measured sections of docs/scaling.md from benchmarks/results/*.json.

    python benchmarks/scaling_doc.py        # after `make bench`

Three sections of ``docs/scaling.md`` (between their ``scaling-…:begin`` and
``…:end`` markers) are written from ``results/simulation.json`` and
``results/scaling.json`` alone: what one simulation costs on each backend, the
Sobol, executor and fit runs on 1 and 2 local workers, and the expected wall time
on a cluster from the cost model ``T(W) ≈ s + ⌈B / W⌉ · (c + o) + A`` with the
measured s, B, c, o and A. ``make bench`` runs this after the benchmarks;
``tests/test_docs_scaling.py`` checks that the page holds what it writes.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
DOC = ROOT / "docs" / "scaling.md"
SECTIONS = ("cost", "scaling", "cluster")
#: Workers of the cluster table.
CLUSTER_WORKERS = (1, 8, 32, 64, 128)


def markers(name: str) -> tuple[str, str]:
    return (
        f"<!-- scaling-{name}:begin (written by benchmarks/scaling_doc.py) -->",
        f"<!-- scaling-{name}:end -->",
    )


def _load(name: str) -> dict:
    return json.loads((RESULTS / f"{name}.json").read_text(encoding="utf-8"))


def _stamp(r: dict) -> str:
    return (
        f"commit {r['commit'][:7]}{' with changes to src/' if r.get('src_modified') else ''}, "
        f"{r['date'][:10]}, {r['cpu_count']} cores, load average {r['load_average_1min']:.1f} "
        "at the end of the run"
    )


def cost_markdown() -> str:
    """What one parameter set costs on each backend (``simulation.json``)."""
    s = _load("simulation")
    rr, ref = s["roadrunner_ms_per_set"], s["reference_ms_per_set"]
    lines = [
        "",
        f"Measured by `benchmarks/bench_simulation.py` (`benchmarks/results/simulation.json`, "
        f"{_stamp(s)}). One parameter set is the KG1-a scenario (168 h), treated and "
        "control arm, every observable, through `simulate(scenario, params, "
        "timecourses=False)` in one process (one core).",
        "",
        "| quantity | compiled (default) | roadrunner | SciPy reference |",
        "|---|---|---|---|",
        f"| parameter sets per second, {s['parameter_sets']} sets drawn across the table "
        f"bounds ({s['failed']} failed) | **{s['sims_per_s']:.0f} /s** ({s['ms_per_set']:.2f} ms) "
        f"| {1000 / rr:.0f} /s ({rr:.1f} ms) | {1000 / ref:.0f} /s ({ref:.0f} ms) |",
        f"| the same at the nominal point / the shipped fitted point | "
        f"{s['sims_per_s_nominal_point']:.0f} /s / {s['sims_per_s_fitted_point']:.0f} /s | | |",
        f"| speed-up over the SciPy reference, same {s['reference_sets']} sets, back to back | "
        f"**{s['speedup_vs_scipy']:.1f}×** | {s['roadrunner_speedup_vs_scipy']:.1f}× | 1 |",
        f"| speed-up over libRoadRunner, same {s['roadrunner_sets']} sets | "
        f"**{s['speedup_vs_roadrunner']:.1f}×** | 1 | |",
        f"| first simulation in a fresh process, empty cache (Numba compiles) | "
        f"{s['first_call_s_empty_cache']:.1f} s | | |",
        f"| first simulation in a fresh process, filled cache (loads) | "
        f"{s['first_call_s_filled_cache']:.2f} s | | |",
        f"| peak resident memory, one process with all three loaded | "
        f"{s['peak_rss_mb']:.0f} MB | | |",
        "",
    ]
    shares = s["time_shares"]["compiled"]
    lines += [
        f"Where a compiled set's {s['ms_per_set']:.2f} ms go (cProfile own-time of "
        f"{shares['profiled_calls']} calls, `time_shares`): "
        f"{100 * shares['integrator']:.0f} % the compiled integrator, "
        f"{100 * shares['pandas_tables']:.0f} % building the pandas table of observables, "
        f"{100 * shares['other_python']:.0f} % other Python (parameter resolution, "
        "bookkeeping).",
        "",
    ]
    tol = s["tolerance_study_roadrunner"]
    base = tol[0]["ms_per_set"]
    lines += [
        "Tolerance study on libRoadRunner (`tolerance_study_roadrunner`, the same sets): "
        + "; ".join(
            f"rtol {t['rtol']:g}, atol {t['atol']:g}: largest relative change of an "
            f"observable {t['max_rel_change']:.1e}, time "
            f"{100 * (1 - t['ms_per_set'] / base):.0f} % less"
            for t in tol[1:]
        )
        + ".",
        "",
    ]
    return "\n".join(lines)


def _runs(scal: dict, kind: str) -> list[dict]:
    return [r for r in scal["runs"] if r["run"] == kind]


def scaling_markdown() -> str:
    """The Sobol, executor and fit runs (``scaling.json``)."""
    c = _load("scaling")
    sobol = sorted(_runs(c, "sobol"), key=lambda r: r["workers"])
    over = _runs(c, "executor_overhead")[0]
    fit = _runs(c, "fit")[0]
    first = sobol[0]
    lines = [
        "",
        f"Measured by `benchmarks/bench_scaling.py` (`benchmarks/results/scaling.json`, "
        f"{_stamp(c)}; compiled backend, filled cache), each run in a fresh process, so "
        "loading the model and pool start-up are included.",
        "",
        f"**Sobol analysis**, KG1-a scenario, N = {first['n']}, all {first['parameters']} "
        f"free parameters, {first['outputs']} outputs: N·(D+2) = {first['evaluations']:,} "
        "model evaluations in batches of 64, then SALib's analysis.",
        "",
        "| workers | wall time | of which evaluation | analysis | per evaluation | speed-up | "
        "failed | peak RSS parent / worker |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in sobol:
        worker = f"{r['peak_rss_mb_worker']:.0f} MB" if r["peak_rss_mb_worker"] else "–"
        lines.append(
            f"| {r['workers']} | **{r['wall_s']:.1f} s** | {r['evaluation_s']:.1f} s | "
            f"{r['analysis_s']:.1f} s | {r['ms_per_evaluation_wall']:.2f} ms | "
            f"{first['wall_s'] / r['wall_s']:.2f}× | {r['failed']} | "
            f"{r['peak_rss_mb_parent']:.0f} MB / {worker} |"
        )
    per_batch = over["batch_compute_s"]
    lines += [
        "",
        f"**Executor overhead** (2 workers, batches of {over['chunk_rows']} rows as the "
        "Sobol analysis ships them):",
        "",
        "| | local spawn pool | local Dask cluster |",
        "|---|---|---|",
        f"| start-up until the first result | {over['pool_startup_s']:.2f} s | "
        f"{over['dask_first_result_s']:.2f} s (cluster start "
        f"{over['dask_cluster_startup_s']:.2f} s) |",
        f"| start-up including loading the compiled model in each worker | "
        f"{over['pool_startup_with_model_s']:.2f} s (load {over['model_load_in_worker_s']:.2f} s) "
        "| same load on first use |",
        f"| cost per batch (ship the rows, return the outputs) | "
        f"{over['per_batch_overhead_ms']:.1f} ms | {over['dask_per_batch_overhead_ms']:.1f} ms |",
        f"| compute per batch ({over['chunk_rows']} evaluations) | {per_batch:.3f} s | "
        f"{per_batch:.3f} s |",
        f"| overhead / compute | {100 * over['per_batch_overhead_ms'] / 1000 / per_batch:.1f} % "
        f"| {100 * over['dask_per_batch_overhead_ms'] / 1000 / per_batch:.1f} % |",
        "",
        f"**Multi-start fit**, `experiments/fit.toml` ({fit['parameters']} estimated "
        f"parameters), {fit['starts']} starts, seed 0, {fit['workers']} workers, at most "
        f"{fit['max_nfev']} iterations per start:",
        "",
        "| quantity | compiled |",
        "|---|---|",
        f"| wall time | **{fit['wall_s']:.0f} s** |",
        f"| objective evaluations | {fit['objective_evaluations']:,} |",
        "| per objective evaluation (every fitted arm) | "
        f"{fit['ms_per_objective_evaluation']:.1f} ms |",
        f"| mean time of one start | {fit['start_s_mean']:.1f} s |",
        f"| best cost | {fit['best_cost']:.4f} |",
        f"| peak RSS parent / worker | {fit['peak_rss_mb_parent']:.0f} MB / "
        f"{fit['peak_rss_mb_worker']:.0f} MB |",
        "",
    ]
    return "\n".join(lines)


def cluster_model() -> dict:
    """The cost model's terms from the Sobol run on one worker and the executor run."""
    c = _load("scaling")
    one = min(_runs(c, "sobol"), key=lambda r: r["workers"])
    over = _runs(c, "executor_overhead")[0]
    rows = over["chunk_rows"]
    return {
        "B": math.ceil(one["evaluations"] / rows),
        "c": over["batch_compute_s"],  # one batch of `rows`, as the Sobol run ships them
        "o_local": over["per_batch_overhead_ms"] / 1000,
        "o_dask": over["dask_per_batch_overhead_ms"] / 1000,
        "s": over["pool_startup_with_model_s"],
        "A": one["analysis_s"],
        "measured": {r["workers"]: r["wall_s"] for r in _runs(c, "sobol")},
    }


def expected_wall(m: dict, workers: int, overhead: float) -> float:
    return m["s"] + math.ceil(m["B"] / workers) * (m["c"] + overhead) + m["A"]


def cluster_markdown() -> str:
    """The cost model's terms and the expected wall times on W Dask workers."""
    m = cluster_model()
    local = {w: expected_wall(m, w, m["o_local"]) for w in m["measured"]}
    lines = [
        "",
        f"Measured terms for the Sobol analysis above: B = {m['B']}, c = {m['c']:.3f} s, "
        f"o = {1000 * m['o_dask']:.1f} ms on Dask ({1000 * m['o_local']:.1f} ms local), "
        f"s ≈ {m['s']:.1f} s, A ≈ {m['A']:.1f} s. On the local pool the formula gives "
        + ", ".join(f"{local[w]:.0f} s at W = {w}" for w in sorted(local))
        + " (measured "
        + ", ".join(f"{m['measured'][w]:.1f} s" for w in sorted(m["measured"]))
        + "). On Dask, with the same per-core speed and batches of 64:",
        "",
        "| workers | rounds ⌈B/W⌉ | expected wall time | speed-up |",
        "|---|---|---|---|",
    ]
    t1 = expected_wall(m, 1, m["o_dask"])
    for w in CLUSTER_WORKERS:
        t = expected_wall(m, w, m["o_dask"])
        lines.append(f"| {w} | {math.ceil(m['B'] / w)} | {t:.1f} s | {t1 / t:.1f}× |")
    lines += [
        "",
        f"The fixed parts (s + A, about {m['s'] + m['A']:.1f} s) dominate once ⌈B/W⌉ · c "
        f"falls below them, from about {math.ceil(m['B'] * m['c'] / (m['s'] + m['A']))} "
        "workers on; bigger problems scale further, as B grows with N·(D+2) while s and A "
        "stay fixed.",
        "",
    ]
    return "\n".join(lines)


WRITERS = {"cost": cost_markdown, "scaling": scaling_markdown, "cluster": cluster_markdown}


def main() -> int:
    from secretome.io import write_between_markers

    for name in SECTIONS:
        begin, end = markers(name)
        write_between_markers(DOC, begin, end, WRITERS[name]())
    print(f"wrote the measured sections of {DOC.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

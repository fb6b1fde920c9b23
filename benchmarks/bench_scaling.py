"""Wall time and memory of the costly workflows, and the executor's per-batch overhead.

    python benchmarks/bench_scaling.py [--quick] [--out FILE]
        [--sobol-n 512] [--workers 1 2] [--fit-starts 20] [--fit-workers 2]

Measures, each in a fresh Python process (so the peaks and caches of one do not
leak into the next, and the model compile of every process is included):

* a Sobol analysis (``secretome.gsa.sensitivity``; N = ``--sobol-n``, every
  free parameter of the KG1-a scenario, default outputs) on the local process pool
  with each of ``--workers``;
* a multi-start fit (``secretome.fitting.fit``, ``experiments/fit.toml``) with
  ``--fit-starts`` starts on ``--fit-workers`` workers;
* the executor's cost (:func:`secretome.parallel.run_tasks`): starting a local pool
  of 2 spawned workers, shipping one Sobol batch (``CHUNK_ROWS`` rows) to a worker
  and its result back, and evaluating one batch in a worker that has the model.

Prints one JSON object (and writes it to ``--out``): per run the wall time, the
model evaluations, peak resident memory of the parent and of the largest worker,
plus date, commit, core count and load average. Set ``--quick`` for a smoke run.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulation import SCENARIO, emit, machine


def _peaks() -> dict:
    self_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"peak_rss_mb_parent": round(self_mb, 1), "peak_rss_mb_worker": round(child_mb, 1)}


def one_sobol(n: int, workers: int) -> dict:
    from secretome.gsa import sensitivity

    t0 = time.perf_counter()
    res = sensitivity(SCENARIO, method="sobol", n=n, workers=workers, seed=0)
    wall = time.perf_counter() - t0
    return {
        "run": "sobol",
        "scenario": SCENARIO,
        "n": n,
        "workers": workers,
        "parameters": len(res.parameters),
        "outputs": len(res.outputs),
        "evaluations": res.n_evaluations,
        "failed": res.n_failed,
        "wall_s": round(wall, 2),
        "evaluation_s": round(res.seconds, 2),
        "analysis_s": round(wall - res.seconds, 2),
        "ms_per_evaluation_wall": round(1e3 * res.seconds / res.n_evaluations, 3),
        **_peaks(),
    }


def one_fit(starts: int, workers: int, max_nfev: int | None, out: Path | None) -> dict:
    from dataclasses import replace

    from secretome.fitting import fit
    from secretome.objective import load_fit_config

    config = load_fit_config()
    if max_nfev is not None:
        config = replace(config, max_nfev=max_nfev)
    t0 = time.perf_counter()
    res = fit(config, starts=starts, seed=0, workers=workers, out=out)
    wall = time.perf_counter() - t0
    st = res.starts
    return {
        "run": "fit",
        "starts": starts,
        "workers": workers,
        "parameters": len(res.space),
        "max_nfev": config.max_nfev,
        "objective_evaluations": int(st["evaluations"].sum()),
        "best_cost": round(float(res.best_cost), 5),
        "wall_s": round(wall, 2),
        "start_s_mean": round(float(st["seconds"].mean()), 2),
        "ms_per_objective_evaluation": round(
            1e3 * float(st["seconds"].sum()) / max(int(st["evaluations"].sum()), 1), 3
        ),
        **_peaks(),
    }


def _echo(task: tuple) -> np.ndarray:
    """Worker: receive a Sobol batch and send back an array of its result's shape."""
    X, outputs = task[2], task[3]
    return np.zeros((len(X), len(outputs)))


def _warm(_: int) -> float:
    """Worker: load the model (the first task of every worker pays this once)."""
    from secretome.simulation import simulate

    t0 = time.perf_counter()
    simulate(load_scenario_cached(), timecourses=False)
    return time.perf_counter() - t0


def load_scenario_cached():
    from secretome.scenarios import load_scenario

    return load_scenario(SCENARIO)


def one_overhead(batches: int) -> dict:
    """Pool start-up, per-batch shipping cost and per-batch compute, measured apart."""
    from secretome.gsa import CHUNK_ROWS, choose_outputs, choose_space
    from secretome.parallel import run_tasks
    from secretome.space import evaluate

    scenario = load_scenario_cached()
    space = choose_space(scenario)
    outputs = choose_outputs(scenario)[["observable", "time_h", "dose"]]
    rng = np.random.default_rng(0)
    X = rng.uniform(space.lower, space.upper, size=(CHUNK_ROWS, len(space)))
    task = (space, scenario, X, outputs, {})  # what sensitivity.evaluate_sample ships

    # time stamps of the results: start-up until the first, then one batch per gap
    t0 = time.perf_counter()
    stamps = [time.perf_counter() for _ in run_tasks(_echo, [task] * batches, workers=2)]
    startup = stamps[0] - t0
    per_batch = (stamps[-1] - stamps[0]) / (batches - 1) * 2  # two workers share them

    dask = _dask_overhead(task, batches)

    t0 = time.perf_counter()
    compile_s = max(v for _, v in run_tasks(_warm, [0, 1], workers=2))
    pool_with_model = time.perf_counter() - t0

    evaluate(space, scenario, X[:1], outputs)  # this process has the model from now on
    t0 = time.perf_counter()
    evaluate(space, scenario, X, outputs)
    chunk = time.perf_counter() - t0
    return {
        "run": "executor_overhead",
        "executor": "local spawn pool, 2 workers",
        "chunk_rows": CHUNK_ROWS,
        "pool_startup_s": round(startup, 3),
        "pool_startup_with_model_s": round(pool_with_model, 3),
        "model_load_in_worker_s": round(compile_s, 3),
        "per_batch_overhead_ms": round(1e3 * per_batch, 3),
        "batch_compute_s": round(chunk, 3),
        "overhead_fraction_per_batch": round(per_batch / chunk, 5),
        **dask,
        **_peaks(),
    }


def _dask_overhead(task: tuple, batches: int) -> dict:
    """The same echo batches through a local Dask cluster (2 worker processes)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        return {"dask": "not installed"}
    from secretome.parallel import run_tasks

    t0 = time.perf_counter()
    with (
        LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        Client(cluster) as client,
    ):
        ready = time.perf_counter() - t0
        t1 = time.perf_counter()
        stamps = [
            time.perf_counter() for _ in run_tasks(_echo, [task] * batches, scheduler=client)
        ]
        first = stamps[0] - t1
    return {
        "dask_cluster_startup_s": round(ready, 3),
        "dask_first_result_s": round(first, 3),
        "dask_per_batch_overhead_ms": round(1e3 * (stamps[-1] - stamps[0]) / (batches - 1) * 2, 3),
    }


def _child(args: list[str]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, *args], capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(f"{' '.join(args)} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (small N, 2 starts)")
    parser.add_argument("--sobol-n", type=int, default=512)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--fit-starts", type=int, default=20)
    parser.add_argument("--fit-workers", type=int, default=2)
    parser.add_argument("--skip-fit", action="store_true")
    parser.add_argument("--out", type=Path, help="also write the JSON object here")
    parser.add_argument("--one", choices=["sobol", "fit", "overhead"], help=argparse.SUPPRESS)
    parser.add_argument("--max-nfev", type=int, help=argparse.SUPPRESS)
    parser.add_argument(
        "--fit-out", type=Path, help="write each fit start here as it finishes (see `fit`)"
    )
    args = parser.parse_args(argv)

    if args.one == "sobol":
        print(json.dumps(one_sobol(args.sobol_n, args.workers[0])))
        return 0
    if args.one == "fit":
        print(json.dumps(one_fit(args.fit_starts, args.fit_workers, args.max_nfev, args.fit_out)))
        return 0
    if args.one == "overhead":
        print(json.dumps(one_overhead(50 if args.quick else 500)))
        return 0

    n = 16 if args.quick else args.sobol_n
    starts = 2 if args.quick else args.fit_starts
    nfev = ["--max-nfev", "2"] if args.quick else []
    runs = [_child(["--one", "overhead", *(["--quick"] if args.quick else [])])]
    print(json.dumps(runs[-1]), file=sys.stderr)
    for w in args.workers:
        runs.append(_child(["--one", "sobol", "--sobol-n", str(n), "--workers", str(w)]))
        print(json.dumps(runs[-1]), file=sys.stderr)
    if not args.skip_fit:
        runs.append(
            _child(
                [
                    "--one",
                    "fit",
                    "--fit-starts",
                    str(starts),
                    "--fit-workers",
                    str(args.fit_workers),
                    *nfev,
                    *(["--fit-out", str(args.fit_out)] if args.fit_out else []),
                ]
            )
        )
    sobol = {r["workers"]: r["wall_s"] for r in runs if r["run"] == "sobol"}
    result = {
        "benchmark": "scaling",
        "quick": args.quick,
        "runs": runs,
        "sobol_speedup_2_vs_1_workers": (
            round(sobol[1] / sobol[2], 2) if 1 in sobol and 2 in sobol else None
        ),
        **machine(),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

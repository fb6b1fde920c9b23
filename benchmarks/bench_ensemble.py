"""``reproduce`` with an ensemble: how much an ensemble of draws costs over the point.

    python benchmarks/bench_ensemble.py [--draws 200] [--workers 2] [--quick] [--out FILE]

Issue 13's target: ``reproduce`` with the default ensemble (at least 200 draws)
in under 60 s on 2 cores. Measured in this process, back to back, after a warm-up
simulation (so neither run pays for loading the compiled model):

* ``point_s``: ``report.reproduce(OUT, shipped_fit())`` without an ensemble (today's
  report: 5 scenarios, figures, HTML);
* ``ensemble_s``: the same with ``ensemble=E, workers=W``: every draw simulated in
  every scenario on W local worker processes (their start-up included), bands
  summarised, figures with bands;
* ``ratio`` = ``ensemble_s / point_s``, and ``ensemble_run_s``: the draws alone
  (``ensemble.run_ensemble`` for the 5 scenarios with the report's time courses).

The ensemble is the shipped posterior (``models/posterior.csv``) when it exists;
otherwise a stand-in built here (``stand_in: true`` in the output): the shipped fit
times 10**N(0, 0.1) per parameter (seed 0), clipped to the table's bounds. The
cost of a draw hardly depends on where it came from, but stiffer draws can be
slower. Absolute times depend on the machine's load (recorded as the 1-minute
load average before and after); ``point_cpu_s`` and ``ensemble_cpu_s`` (CPU time
of this process and its worker processes) depend on it much less: on an idle
machine with W cores the ensemble run takes about ``ensemble_cpu_s / W`` plus the
part of ``point_cpu_s`` that runs in this process alone.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulation import emit, machine


def stand_in(n: int, path: Path, sd: float = 0.1, seed: int = 0) -> Path:
    """Write ``n`` stand-in draws (log-normal around the shipped fit, within bounds)."""
    from secretome import model, parameter_sets
    from secretome.simulation import split_key

    fit = parameter_sets.shipped_fit().as_dict()
    table = model.load_model().parameters
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        row = {"draw": i, "chain": i % 4, "log_posterior": np.nan}
        for key, value in fit.items():
            name, context = split_key(key)
            r = table[table["name"] == name]
            if context:
                r = r[r["context"] == context]
            lo, hi = r["lower"].max(), r["upper"].min()
            row[key] = float(np.clip(value * 10 ** rng.normal(0, sd), lo, hi))
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the worker processes)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200, help="stand-in draws (default 200)")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    parser.add_argument("--quick", action="store_true", help="40 draws instead")
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")

    from secretome import ensemble, parameter_sets, report, scenarios
    from secretome.simulation import simulate

    load_before = os.getloadavg()[0]
    pset = parameter_sets.shipped_fit()
    shipped = ensemble.shipped_ensemble()
    n = 40 if args.quick else args.draws
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if shipped is None:
            ens = ensemble.load_ensemble(stand_in(n, tmp / "stand_in.csv"))
        else:
            ens = shipped
        simulate(scenarios.load_scenario("farahzadi2024_KG1a_CD34"), pset.as_dict())  # warm up

        t, c = time.perf_counter(), cpu_seconds()
        report.reproduce(tmp / "point", pset)
        point_s, point_cpu = time.perf_counter() - t, cpu_seconds() - c

        t, c = time.perf_counter(), cpu_seconds()
        done = report.reproduce(tmp / "banded", pset, ensemble=ens, workers=args.workers)
        ensemble_s, ensemble_cpu = time.perf_counter() - t, cpu_seconds() - c

        record = report.record_variables()
        t = time.perf_counter()
        ensemble.run_ensemble(
            scenarios.shipped_scenarios(),
            ens,
            record=record,
            variables=record,
            workers=args.workers,
        )
        run_s = time.perf_counter() - t
    failed = sum(r.n_failed for r in done.ensemble or ())
    result = {
        "benchmark": "reproduce_ensemble",
        "draws": len(ens),
        "stand_in": shipped is None,
        "ensemble": ens.label,
        "workers": args.workers,
        "point_s": round(point_s, 2),
        "ensemble_s": round(ensemble_s, 2),
        "ratio": round(ensemble_s / point_s, 2),
        "ensemble_run_s": round(run_s, 2),
        "point_cpu_s": round(point_cpu, 2),
        "ensemble_cpu_s": round(ensemble_cpu, 2),
        "cpu_ratio": round(ensemble_cpu / point_cpu, 2),
        "failed_simulations": failed,
        "target": "reproduce with >= 200 draws in < 60 s on 2 cores (issue 13)",
        "meets_target": bool(len(ens) >= 200 and ensemble_s < 60 and args.workers <= 2),
        "load_1min_before": round(load_before, 2),
        **machine(),
    }
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Posterior sampling of the calibration problem: speed, ESS and R-hat for a budget.

Two modes:

* default: run ``secretome.sampling.sample`` (emcee, the package's sampler) on the
  real posterior for ``--budget`` log-posterior evaluations and write ESS per
  minute, R-hat and evaluations per second, each also as a ratio against one
  objective evaluation timed in this process, to ``benchmarks/results/sampling.json``.
* ``--compare``: the measured comparison of ``docs/sampling.md``. emcee (stretch and
  DE moves), pyPESTO's adaptive parallel tempering and dynesty's nested sampling at
  the same budget of evaluations, serial, from the optima of a finished fit
  (``--init FIT_DIR``); one row per sampler to ``docs/results/sampling_comparison.csv``.

Examples::

    python benchmarks/bench_sampling.py --init fit --budget 3000 --workers 2
    python benchmarks/bench_sampling.py --compare --init fit --budget 8000 \\
        --out docs/results/sampling_comparison.csv
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

warnings.filterwarnings("ignore", category=FutureWarning)  # ArviZ's refactor notice

from secretome import objective, sampling  # noqa: E402
from secretome.io import atomic_write  # noqa: E402
from secretome.report import _commit  # noqa: E402

WALKERS = 64  # at least 2 x 30 parameters (28 model, 2 noise)


def _time_one_evaluation(post: sampling.SecretomePosterior, x: np.ndarray, n: int = 10) -> float:
    post.log_likelihood(x)  # build and warm up
    t0 = time.perf_counter()
    for _ in range(n):
        post.log_likelihood(x)
    return (time.perf_counter() - t0) / n


def _mode_shares(x: np.ndarray, optima: pd.DataFrame, keys, weights=None) -> dict[str, float]:
    labels = sampling.nearest_optimum(x, optima, keys)
    w = np.ones(len(labels)) if weights is None else np.asarray(weights)
    out = {}
    for g in sorted(optima["optimum"].unique()):
        cost = float(optima.loc[optima["optimum"] == g, "cost"].min())
        out[f"share_optimum_{g}_J{cost:.2f}"] = float(w[labels == g].sum() / w.sum())
    return out


def _summary_from_chains(chain: np.ndarray, lp: np.ndarray, keys) -> dict[str, float]:
    """ESS/R-hat over the retained part of chains shaped (steps, chains, d)."""
    c = sampling.Chains(
        keys=list(keys),
        chain=chain,
        log_prob=lp,
        accepted=np.zeros(chain.shape[1]),
        initial=chain[0],
        seed=0,
        moves="",
        evaluations=0,
        seconds=0.0,
    )
    d = sampling.diagnostics(c).set_index("key").drop(index="log_posterior")
    return {
        "ess_bulk_min": float(d["ess_bulk"].min()),
        "ess_bulk_median": float(d["ess_bulk"].median()),
        "ess_tail_min": float(d["ess_tail"].min()),
        "r_hat_max": float(d["r_hat"].max()),
        "r_hat_median": float(d["r_hat"].median()),
    }


def run_emcee(post, optima, budget, seed, moves, workers=1):
    x0, _ = sampling.initial_walkers(post, WALKERS, seed, optima)
    steps = max(4, budget // WALKERS)
    ch = sampling.sample(post, x0, steps, seed=seed, moves=moves, workers=workers)
    burn = steps // 2
    kept = ch.chain[burn:]
    row = {
        "sampler": f"emcee ({moves})",
        "settings": f"{WALKERS} walkers, {steps} steps, burn-in {burn}",
        "evaluations": ch.evaluations,
        "seconds": ch.seconds,
        "acceptance": ch.acceptance,
    }
    row |= _summary_from_chains(kept, ch.log_prob[burn:], post.keys)
    row |= _mode_shares(kept.reshape(-1, len(post.keys)), optima, post.keys)
    row["min_nll"] = float(-(ch.log_prob.max() - sampling.log_prior(post, ch.chain[0, 0])))
    return row


def run_pypesto(post, optima, budget, seed):
    import pypesto
    import pypesto.sample as ps

    logging.getLogger("pypesto").setLevel(logging.ERROR)
    n_temps = 4
    runs = 2  # independent runs, for R-hat
    per_run = max(4, budget // (n_temps * runs))
    objective_ = pypesto.Objective(fun=lambda x: -post.log_likelihood(x))
    problem = pypesto.Problem(objective_, lb=post.lower, ub=post.upper)
    best = optima.sort_values("cost")
    cols = [f"x:{k}" for k in post.keys]
    chains, lps, t0 = [], [], time.perf_counter()
    np.random.seed(seed)  # noqa: NPY002 (pyPESTO's samplers use NumPy's global generator)
    for r in range(runs):
        g = r % int(optima["optimum"].nunique())  # one run from each optimum
        x0 = best.loc[best["optimum"] == g, cols].to_numpy(dtype=float)[0]
        sampler = ps.AdaptiveParallelTemperingSampler(
            internal_sampler=ps.AdaptiveMetropolisSampler(),
            n_chains=n_temps,
            options={"show_progress": False},
        )
        res = ps.sample(problem, n_samples=per_run, sampler=sampler, x0=x0)
        chains.append(res.sample_result.trace_x[0])
        lps.append(-res.sample_result.trace_neglogpost[0])
    seconds = time.perf_counter() - t0
    chain = np.stack(chains, axis=1)  # (steps, runs, d)
    lp = np.stack(lps, axis=1)
    burn = chain.shape[0] // 2
    row = {
        "sampler": "pyPESTO adaptive parallel tempering",
        "settings": f"{n_temps} temperatures, {runs} runs x {per_run} iterations, burn-in {burn}",
        "evaluations": runs * n_temps * (per_run + 1),
        "seconds": seconds,
        "acceptance": float(np.mean(np.any(np.diff(chain, axis=0) != 0, axis=2))),
    }
    row |= _summary_from_chains(chain[burn:], lp[burn:], post.keys)
    row |= _mode_shares(chain[burn:].reshape(-1, len(post.keys)), optima, post.keys)
    row["min_nll"] = float(-lp.max())
    return row


def run_dynesty(post, optima, budget, seed):
    import dynesty

    lo, hi = post.lower, post.upper

    def prior_transform(u):
        return lo + u * (hi - lo)

    t0 = time.perf_counter()
    ns = dynesty.NestedSampler(
        post.log_likelihood,
        prior_transform,
        len(post.keys),
        nlive=100,
        sample="rslice",
        rstate=np.random.default_rng(seed),
    )
    dlogz = float("nan")
    for it in ns.sample(maxcall=budget, dlogz=0.01):
        dlogz = float(it.delta_logz)  # evidence still in the live points (log units)
    ns.add_final_live(print_progress=False)
    res = ns.results
    seconds = time.perf_counter() - t0
    w = res.importance_weights()
    kish = float(w.sum() ** 2 / (w**2).sum())
    row = {
        "sampler": "dynesty nested sampling",
        "settings": f"100 live points, rslice, maxcall {budget}",
        "evaluations": int(np.sum(res.ncall)),
        "seconds": seconds,
        "acceptance": float("nan"),
        "ess_bulk_min": kish,  # Kish ESS of the importance weights (one number for all)
        "ess_bulk_median": kish,
        "ess_tail_min": float("nan"),
        "r_hat_max": float("nan"),
        "r_hat_median": float("nan"),
        "log_evidence": float(res.logz[-1]),
        "log_evidence_err": float(res.logzerr[-1]),
        "dlogz_remaining": dlogz,
    }
    row |= _mode_shares(res.samples, optima, post.keys, weights=w)
    row["min_nll"] = float(-res.logl.max())
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--init", type=Path, required=True, help="a `secretome fit` output directory")
    ap.add_argument("--budget", type=int, default=3000, help="log-posterior evaluations")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--compare", action="store_true", help="compare the candidate samplers")
    ap.add_argument(
        "--samplers",
        default="emcee-de,emcee-stretch,pypesto-apt,dynesty",
        help="with --compare: which, comma-separated",
    )
    ap.add_argument("--out", type=Path, help="result file (default by mode)")
    args = ap.parse_args(argv)

    config = objective.load_fit_config()
    post = sampling.SecretomePosterior(config)
    optima = sampling.fit_optima(args.init, post)
    x_best = optima[[f"x:{k}" for k in post.keys]].to_numpy(dtype=float)[0]
    t_eval = _time_one_evaluation(post, x_best)
    print(f"one objective evaluation: {t_eval * 1000:.1f} ms", file=sys.stderr)
    stamp = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": _commit(),
        "machine": f"{platform.machine()}, {platform.python_version()}",
        "command": "python benchmarks/bench_sampling.py " + " ".join(argv or sys.argv[1:]),
        "seconds_per_objective_evaluation": t_eval,
        "init": str(args.init),
        "optima": {
            int(g): int((optima["optimum"] == g).sum()) for g in optima["optimum"].unique()
        },
    }

    if args.compare:
        rows = []
        for name in args.samplers.split(","):
            t0 = time.perf_counter()
            if name.startswith("emcee-"):
                row = run_emcee(post, optima, args.budget, args.seed, name.split("-", 1)[1])
            elif name == "pypesto-apt":
                row = run_pypesto(post, optima, args.budget, args.seed)
            elif name == "dynesty":
                row = run_dynesty(post, optima, args.budget, args.seed)
            else:
                raise SystemExit(f"unknown sampler {name}")
            row["ess_bulk_min_per_1000_evaluations"] = (
                1000 * row["ess_bulk_min"] / row["evaluations"]
            )
            row["evaluations_per_second"] = row["evaluations"] / row["seconds"]
            row["speed_vs_one_evaluation"] = row["evaluations_per_second"] * t_eval
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
            print(f"{name}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
            table = pd.DataFrame(rows)
            out = args.out or Path("docs/results/sampling_comparison.csv")
            meta = "".join(f"# {k}: {v}\n" for k, v in stamp.items())
            atomic_write(out, meta + table.to_csv(index=False, float_format="%.6g"))
        print(f"wrote {out}", file=sys.stderr)
        return 0

    x0, _ = sampling.initial_walkers(post, WALKERS, args.seed, optima)
    steps = max(4, args.budget // WALKERS)
    ch = sampling.sample(post, x0, steps, seed=args.seed, workers=args.workers)
    burn = steps // 2
    diag = sampling.diagnostics(ch, burn).set_index("key").drop(index="log_posterior")
    minutes = ch.seconds / 60
    result = stamp | {
        "sampler": f"emcee ({ch.moves}), {WALKERS} walkers, {steps} steps, burn-in {burn}",
        "workers": args.workers,
        "evaluations": ch.evaluations,
        "seconds": ch.seconds,
        "evaluations_per_second": ch.evaluations / ch.seconds,
        # how many evaluations' worth of one serial objective call each second buys
        "speed_vs_one_evaluation": ch.evaluations / ch.seconds * t_eval,
        "acceptance": ch.acceptance,
        "ess_bulk_min": float(diag["ess_bulk"].min()),
        "ess_bulk_min_per_minute": float(diag["ess_bulk"].min() / minutes),
        "ess_tail_min": float(diag["ess_tail"].min()),
        "r_hat_max": float(diag["r_hat"].max()),
        # ESS grows linearly with steps only once the walkers have mixed (R-hat ~ 1);
        # before that an ESS across walkers counts walkers, not independent draws
        "minutes_to_ess_400_extrapolated": (
            400 / float(diag["ess_bulk"].min()) * minutes
            if diag["r_hat"].max() <= 1.01 and diag["ess_bulk"].min() > 0
            else None
        ),
        "converged": bool(diag["r_hat"].max() <= 1.01),
    }
    out = args.out or Path("benchmarks/results/sampling.json")
    atomic_write(out, json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

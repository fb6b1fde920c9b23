"""``secretome sample``: argument parsing for posterior sampling (issue 13)."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from secretome.cli_common import LazyBar, add_executor_args, positive_int, seed_int
from secretome.errors import SecretomeError

#: Target of the convergence summary (issue 13): bulk and tail ESS per parameter.
ESS_TARGET = 400
#: R-hat below which a parameter is reported as converged (Vehtari et al. 2021).
RHAT_TARGET = 1.01


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} must be within 0 and 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative")
    return value


def _command(args: argparse.Namespace, walkers: int, burn_in: int) -> str:
    parts = ["secretome", "sample", "--out", str(args.out), "--steps", str(args.steps)]
    parts += ["--walkers", str(walkers), "--burn-in", str(burn_in), "--thin", str(args.thin)]
    parts += ["--seed", str(args.seed), "--moves", args.moves]
    if args.config is not None:
        parts += ["--config", str(args.config)]
    if args.init is not None:
        parts += ["--init", str(args.init), "--prior-fraction", str(args.prior_fraction)]
    if args.scheduler is not None:
        parts += ["--scheduler", args.scheduler]
    else:
        parts += ["--workers", str(args.workers)]
    return shlex.join(parts)


def _cmd_sample(args: argparse.Namespace) -> int:
    from secretome import objective, sampling
    from secretome.io import check_output_dir

    out = check_output_dir(args.out, "--out")
    config = objective.load_fit_config(args.config)
    posterior = sampling.SecretomePosterior(config)
    d = len(posterior.keys)
    least = 2 * d + (2 * d) % 2
    walkers = args.walkers if args.walkers is not None else max(least, 64)
    if walkers < least or walkers % 2:
        raise SecretomeError(
            f"--walkers {walkers}: need an even number of at least {least} "
            f"(twice the {d} sampled parameters)"
        )
    burn_in = args.burn_in if args.burn_in is not None else args.steps // 2
    if burn_in >= args.steps:
        raise SecretomeError(
            f"--burn-in {burn_in} leaves no draws of --steps {args.steps}; "
            "use a smaller --burn-in or more --steps"
        )
    optima = sampling.fit_optima(args.init, posterior) if args.init is not None else None
    initial, labels = sampling.initial_walkers(
        posterior, walkers, args.seed, optima, prior_fraction=args.prior_fraction
    )
    bar = LazyBar(desc="sample", unit="step")

    def progress(done: int, total: int, acceptance: float) -> None:
        b = bar.get(total)
        b.set_postfix(acceptance=f"{acceptance:.2f}", refresh=False)
        b.update(done - b.n)

    with bar:  # SIGTERM stops like Ctrl-C (secretome.cli.main): checkpoints are kept
        chains = sampling.sample(
            posterior,
            initial,
            args.steps,
            seed=args.seed,
            moves=args.moves,
            workers=args.workers,
            scheduler=args.scheduler,
            out=out,
            resume=args.resume,
            restart=args.restart,
            checkpoint_every=args.checkpoint_every,
            progress=progress,
        )
    return _report(args, config, chains, out, optima, labels, walkers, burn_in)


def _report(args, config, chains, out, optima, labels, walkers, burn_in) -> int:
    """Write the outputs of a finished run and print its summary."""
    from secretome.sampling_report import write_sample

    settings = {
        "config": config.source,
        "init": str(args.init) if args.init is not None else "prior draws only",
        "prior_fraction": args.prior_fraction if args.init is not None else 1.0,
        "optima_in_init": 0 if optima is None else int(optima["optimum"].nunique()),
        "executor": args.scheduler or f"{args.workers} local worker(s)",
    }
    done = write_sample(
        chains,
        out,
        burn_in=burn_in,
        thin=args.thin,
        command=_command(args, walkers, burn_in),
        settings=settings,
        optima=optima,
        start_labels=labels,
        figures=not args.no_figures,
    )
    diag = done.diagnostics
    params = diag[diag["key"] != "log_posterior"].copy()
    for c in ("q05", "q50", "q95"):
        params[c] = 10.0 ** params[c]
    shown = params[["key", "q05", "q50", "q95", "r_hat", "ess_bulk", "ess_tail"]]
    print(
        f"emcee ({chains.moves} moves): {chains.walkers} walkers x {chains.steps} steps, "
        f"burn-in {burn_in}, thin {args.thin}: {len(done.posterior)} draws; acceptance "
        f"{chains.acceptance:.2f}; {chains.evaluations} evaluations in {chains.seconds:.0f} s"
    )
    print("posterior median and 5-95 % (linear units), R-hat, bulk and tail ESS:")
    print(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    ess = params[["ess_bulk", "ess_tail"]].min(axis=1).fillna(0.0)  # NaN: too few steps
    params["r_hat"] = params["r_hat"].fillna(float("inf"))
    short = params.loc[ess < ESS_TARGET, "key"].tolist()
    high = params.loc[params["r_hat"] > RHAT_TARGET, "key"].tolist()
    print(
        f"minimum ESS {ess.min():.0f} (target {ESS_TARGET}: "
        + (f"not reached for {len(short)} of {len(params)} parameters" if short else "reached")
        + f"); maximum R-hat {params['r_hat'].max():.3f} (target {RHAT_TARGET}: "
        + (f"exceeded for {len(high)}" if high else "met")
        + ")"
    )
    if done.modes is not None:
        print("walkers by the fit's distinct optima (modes.csv):")
        print(done.modes.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    names = ", ".join(p.name for p in done.written)
    print(f"wrote chain.npz, {names} to {out}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``sample`` subcommand."""
    p = sub.add_parser(
        "sample",
        help="draw a posterior ensemble of the fitted parameters (emcee), resumable",
        description=(
            "Sample the posterior of the calibration problem (experiments/fit.toml): "
            "likelihood = the full negative log-likelihood of the fit's objective (noise "
            "parameters sigma_* included where the configuration estimates them), prior "
            "uniform in log10 units within the parameter table's bounds. emcee's ensemble "
            "sampler with differential-evolution moves (--moves). Walkers start from the "
            "distinct optima of a finished fit (--init FIT_DIR, each optimum equally "
            "represented) plus --prior-fraction of prior draws, or from the prior alone. "
            "The chain is checkpointed to OUT/chain.npz every --checkpoint-every steps and "
            "on Ctrl-C; --resume continues it (same draws as an uninterrupted run), and a "
            "resumed run with more --steps samples the rest. Writes posterior.csv (draws "
            "after --burn-in, every --thin-th step; linear units), diagnostics.csv (R-hat, "
            "bulk and tail ESS per parameter, ArviZ), modes.csv, corner.png, trace.png and "
            "posterior.toml. See docs/sampling.md."
        ),
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="fit configuration (default: experiments/fit.toml)",
    )
    p.add_argument(
        "--init",
        metavar="FIT_DIR",
        type=Path,
        help="output directory of `secretome fit`: walkers start around its distinct optima",
    )
    p.add_argument(
        "--prior-fraction",
        type=_fraction,
        default=0.25,
        metavar="F",
        help="with --init, share of walkers drawn from the prior instead (default 0.25)",
    )
    p.add_argument(
        "--walkers",
        type=positive_int,
        metavar="N",
        help="ensemble size, even and at least twice the parameters (default: max(64, that))",
    )
    p.add_argument(
        "--steps", type=positive_int, default=1000, help="steps per walker (default 1000)"
    )
    p.add_argument(
        "--burn-in",
        type=_non_negative_int,
        metavar="N",
        help="steps discarded before posterior.csv and the diagnostics (default: half --steps)",
    )
    p.add_argument(
        "--thin",
        type=positive_int,
        default=10,
        metavar="K",
        help="keep every K-th step of each walker in posterior.csv (default 10)",
    )
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--moves",
        choices=["de", "stretch"],
        default="de",
        help="proposals: differential evolution with mode jumps and snooker (default), or "
        "emcee's stretch move",
    )
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=25,
        metavar="K",
        help="steps between checkpoints (default 25)",
    )
    again = p.add_mutually_exclusive_group()
    again.add_argument(
        "--resume", action="store_true", help="continue the checkpointed chain in --out"
    )
    again.add_argument(
        "--restart", action="store_true", help="discard a checkpointed chain in --out"
    )
    p.add_argument("--no-figures", action="store_true", help="skip corner.png and trace.png")
    p.add_argument(
        "--out", metavar="DIR", default="sample", help="output directory (default: sample)"
    )
    add_executor_args(p)
    p.set_defaults(func=_cmd_sample)

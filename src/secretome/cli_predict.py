"""``secretome predict`` and the ``--ensemble`` options of ``simulate`` and ``reproduce``.

``predict`` is a subcommand of its own, not part of ``reproduce``: it asks about
experiments that are not in the evidence (the questions of
:mod:`secretome.decisive`), needs every draw in six variants of every scenario
(about six times the simulations of ``reproduce``, which has a time budget of its
own), and its table is a result to keep and cite (``docs/results/decisive.csv``),
which ``reproduce`` then shows.
"""

from __future__ import annotations

import argparse
import json
import sys

from secretome.cli_common import LazyBar, add_executor_args, add_parameter_args, positive_float

#: What ``--ensemble`` accepts besides a file.
NONE_WORDS = ("none",)


def add_ensemble_args(p: argparse.ArgumentParser) -> None:
    """``--ensemble FILE`` / ``--no-ensemble``: the posterior draws behind the bands."""
    which = p.add_mutually_exclusive_group()
    which.add_argument(
        "--ensemble",
        metavar="FILE",
        help=(
            "posterior ensemble (CSV: draw, chain, log_posterior, one column per fitted "
            "parameter): every draw is simulated and outputs gain 5/50/95 %% bands "
            "(q05, q50, q95); 'none' for the point estimate only. Default: the shipped "
            "models/posterior.csv when it exists and the parameters are the shipped fit, "
            "else none. --allow-outside-bounds applies to its values too"
        ),
    )
    which.add_argument(
        "--no-ensemble",
        action="store_true",
        help="the point estimate only, no bands (same as --ensemble none)",
    )


def add_workers_arg(p: argparse.ArgumentParser) -> None:
    """``--workers N`` for the ensemble's draws."""
    from secretome.cli_common import positive_int
    from secretome.parallel import default_workers

    p.add_argument(
        "--workers",
        type=positive_int,
        default=default_workers(),
        metavar="N",
        help=(
            "local worker processes simulating the ensemble's draws "
            f"(default: every core, here {default_workers()})"
        ),
    )


def choose_ensemble(args: argparse.Namespace):
    """The ensemble of ``--ensemble`` / ``--no-ensemble``, and a sentence saying why.

    The shipped posterior belongs to the shipped fit: it is the default only when
    the parameters are the shipped fit too (no ``--params`` / ``--nominal`` /
    ``--centre``); otherwise an ensemble must be asked for by name.

    Returns
    -------
    (Ensemble or None, str)
    """
    from secretome import ensemble as ens

    if args.no_ensemble:
        return None, f"{ens.NO_ENSEMBLE} (--no-ensemble)"
    if args.ensemble is not None:
        chosen = ens.choose_ensemble(
            args.ensemble, allow_outside_bounds=getattr(args, "allow_outside_bounds", False)
        )
        return chosen, ens.describe(chosen) + (" (--ensemble none)" if chosen is None else "")
    own = getattr(args, "params", None) is not None or getattr(args, "nominal", False)
    shipped = ens.shipped_ensemble_file()
    if own:
        return None, (
            f"{ens.NO_ENSEMBLE} (the shipped posterior goes with the shipped fit; with "
            "--params or --nominal, name an ensemble with --ensemble FILE)"
        )
    if not shipped.is_file():
        return None, f"{ens.NO_ENSEMBLE} (no shipped posterior {shipped} yet)"
    chosen = ens.load_ensemble(shipped)
    return chosen, chosen.label


def _cmd_predict(args: argparse.Namespace) -> int:
    from secretome import decisive, report, scenarios
    from secretome import ensemble as ens
    from secretome.io import atomic_write, check_output_dir
    from secretome.parameter_sets import choose_parameters

    out = check_output_dir(args.out, "--out")
    chosen, said = choose_ensemble(args)
    pset = choose_parameters(
        args.params, nominal=args.nominal, allow_outside_bounds=args.allow_outside_bounds
    )
    if chosen is None:  # the point estimate as a one-draw ensemble: 0 or 1 by construction
        chosen = ens.from_draws(
            [pset.as_dict() or {}],
            label=f"point estimate only ({pset.label}): probabilities are 0 or 1 by construction",
            name=f"point ({pset.name})",
            allow_outside_bounds=pset.allow_outside_bounds,
        )
    base = (
        [scenarios.load_scenario(s) for s in args.scenarios]
        if args.scenarios
        else scenarios.shipped_scenarios()
    )
    bar = LazyBar(desc="predict", unit="draw")

    def progress(done: int, total: int) -> None:
        b = bar.get(total)
        b.update(done - b.n)

    with bar:
        table = decisive.decisive_predictions(
            chosen,
            base,
            threshold=args.threshold,
            band=args.band,
            workers=args.workers,
            scheduler=args.scheduler,
            backend=args.backend,
            progress=progress,
        )
    atomic_write(out / "decisive.csv", table.to_csv(index=False))
    meta = report.provenance(
        pset,
        args.backend,
        ensemble=chosen.label,
        ensemble_choice=said,
        threshold=args.threshold,
        band=args.band,
    )
    atomic_write(out / "provenance.json", json.dumps(meta, indent=2, default=str) + "\n")
    page = (
        '<!doctype html><html><head><meta charset="utf-8"><title>secretome: decisive '
        "predictions</title><style>body{font-family:sans-serif;max-width:1200px;margin:auto;"
        "padding:1em} table.cmp{border-collapse:collapse;font-size:12px} table.cmp td,"
        "table.cmp th{border:1px solid #ccc;padding:2px 5px}</style></head><body>"
        "<h1>Decisive predictions</h1>"
        + report.decisive_html(table, str(out / "decisive.csv"))
        + "</body></html>\n"
    )
    atomic_write(out / "index.html", page)
    print(f"ensemble: {chosen.label}")
    counts = decisive.summary(table)
    print(counts.to_string())
    print(f"wrote decisive.csv, index.html, provenance.json to {out}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``secretome predict``."""
    from secretome import decisive
    from secretome.simulation import BACKENDS, DEFAULT_BACKEND

    p = sub.add_parser(
        "predict",
        help="decisive predictions: what the posterior says about new experiments",
        description=(
            "For every paper scenario (or --scenarios), neutralise IL-2, IL-4 or both, give "
            "a 10-fold MSC dose, or expose for 14 days; for each draw of the ensemble "
            "compare each headline readout (viability, early and late apoptosis, p53, "
            "p-ERK) with the same draw unperturbed, and report the probability that it "
            "goes up, down or stays within --band. A readout is called up or down when "
            "that probability is at least --threshold, no change when staying within the "
            "band is, and undetermined otherwise. Writes OUT/decisive.csv, index.html and "
            "provenance.json (docs/uncertainty.md)."
        ),
    )
    add_ensemble_args(p)
    add_parameter_args(p)
    p.add_argument("--scenarios", nargs="+", metavar="SCENARIO", help="default: every shipped")
    p.add_argument(
        "--threshold",
        type=positive_float,
        default=decisive.THRESHOLD,
        help=f"probability a call needs, in (0.5, 1] (default {decisive.THRESHOLD})",
    )
    p.add_argument(
        "--band",
        type=float,
        default=decisive.BAND,
        help=f"relative change that counts as no change (default {decisive.BAND}: ±10 %%)",
    )
    p.add_argument("--out", metavar="DIR", default="predict", help="output directory")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=f"simulator (default: {DEFAULT_BACKEND}; see `secretome simulate --help`)",
    )
    add_executor_args(p)
    p.set_defaults(func=_cmd_predict)

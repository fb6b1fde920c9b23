"""``secretome select``: fit competing model variants and rank them (issue 14)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from secretome.cli_common import LazyBar, add_executor_args, positive_int, seed_int


def _cmd_select(args: argparse.Namespace) -> int:
    from secretome import selection, variants
    from secretome.io import check_output_dir
    from secretome.objective import load_fit_config
    from secretome.selection_report import write_results

    out = check_output_dir(args.out, "--out")
    config = load_fit_config(args.config)
    chosen = variants.load_variants(args.variants or None, base=config)
    bars = {
        "fit": LazyBar(desc="fit variants", unit="start"),
        "loso": LazyBar(desc="leave one study out", unit="start"),
    }

    def progress(phase: str, done: int, total: int) -> None:
        b = bars[phase].get(total)
        b.update(done - b.n)

    with bars["fit"], bars["loso"]:
        result = selection.select(
            chosen,
            config,
            starts=args.starts,
            loso_starts=args.loso_starts,
            loso_max_nfev=args.loso_max_nfev,
            loso_from=args.loso_from,
            loso=not args.no_loso,
            seed=args.seed,
            max_nfev=args.max_nfev,
            workers=args.workers,
            scheduler=args.scheduler,
            out=out,
            resume=args.resume,
            progress=progress,
        )
    candidates = None
    if len(chosen) > 1:
        candidates = selection.discriminating_measurements(result)
    extra = {
        f"{a}_vs_{b}": selection.discriminating_measurements(result, (a, b))
        for a, b in args.pair or []
    }
    write_results(
        result,
        out,
        candidates,
        extra_candidates=extra,
        figures=not args.no_figures,
        petab_select=not args.no_petab_select,
    )
    r = result.ranking
    print(
        f"{len(r)} variants, {result.starts_run} starts run ({result.seconds:.0f} s); "
        f"n = {int(r['n'].iloc[0])} data points"
    )
    print(f"{'variant':<22} {'k':>3} {'nll':>9} {'dAICc':>8} {'dBIC':>8} {'dLOSO':>8}  agree")
    for _, row in r.iterrows():
        print(
            f"{row['variant']:<22} {row['k']:>3} {row['nll']:>9.2f} {row['dAICc']:>8.2f} "
            f"{row['dBIC']:>8.2f} {row['dLOSO']:>8.2f}  {row['agree']}/"
            f"{row['agree'] + row['disagree']}"
        )
    if candidates is not None and len(candidates):
        c = candidates.iloc[0]
        print(
            f"best new measurement to separate {c['variant_a']} from {c['variant_b']}: "
            f"{c['observable']} at {c['time_h']:g} h, {c['scenario']} ({c['perturbation']}), "
            f"dose {c['dose']:g}: difference {c['difference']:.3g} = {c['z']:.1f} x its "
            "uncertainty (candidates.csv)"
        )
    print(f"wrote ranking.csv, loso.csv, agreement.csv, figures/ to {out}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``select`` subcommand."""
    p = sub.add_parser(
        "select",
        help="fit competing model variants and rank them (AICc, BIC, leave-one-study-out)",
        description=(
            "Fit every model variant (models/variants/*.toml, or the files given) to "
            "the evidence with the objective of `secretome fit`, rank them by AICc, BIC "
            "and leave-one-study-out predictive log-likelihood, judge every evidence "
            "row at each variant's best point, and list the single new measurement "
            "that best separates the two best variants. Writes DIR/ranking.csv, "
            "loso.csv, agreement.csv, candidates.csv, summary.json, figures/ and "
            "petab_select/ (the variant set as a PEtab Select problem). Every start is "
            "written as it finishes (DIR/fits/, DIR/loso/): --resume continues a "
            "stopped selection. See docs/selection.md."
        ),
    )
    p.add_argument(
        "variants",
        nargs="*",
        metavar="VARIANT",
        type=Path,
        help="variant files or directories of them (default: models/variants/)",
    )
    p.add_argument(
        "--config",
        metavar="FILE",
        type=Path,
        help="base fit configuration (default: experiments/fit.toml)",
    )
    p.add_argument("--starts", type=positive_int, default=8, help="starts per variant (default 8)")
    p.add_argument(
        "--loso-starts",
        type=positive_int,
        default=1,
        help="starts per leave-one-study-out refit; the first from the variant's "
        "full-data best point (default 1)",
    )
    p.add_argument(
        "--loso-max-nfev",
        type=positive_int,
        default=20,
        help="iterations per leave-one-study-out start (default 20: it starts near an optimum)",
    )
    p.add_argument(
        "--loso-from",
        type=positive_int,
        default=1,
        help="also refit each held-out study from the variant's next-best near-optimal "
        "end points, this many origins in all (default 1: the best only); the ranking's "
        "loso_nll_min/max give the score's spread over equally good fits",
    )
    p.add_argument("--no-loso", action="store_true", help="rank by AICc and BIC only (no refits)")
    p.add_argument(
        "--max-nfev", type=positive_int, help="iterations per start (default: the config's)"
    )
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the starting points")
    p.add_argument(
        "--resume",
        action="store_true",
        help="continue a stopped selection in --out (finished starts are read back)",
    )
    p.add_argument(
        "--pair",
        nargs=2,
        action="append",
        metavar=("A", "B"),
        help="also list the measurements that best separate variants A and B "
        "(DIR/candidates_A_vs_B.csv); repeatable. candidates.csv is always the two best",
    )
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    p.add_argument("--no-petab-select", action="store_true", help="skip the PEtab Select export")
    p.add_argument(
        "--out", metavar="DIR", default="selection", help="output directory (default: selection)"
    )
    add_executor_args(p)
    p.set_defaults(func=_cmd_select)

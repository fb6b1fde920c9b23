"""``secretome sensitivity``: argument parsing for the sensitivity stage (issue 6)."""

from __future__ import annotations

import argparse
import sys

from secretome.cli_common import (
    LazyBar,
    add_executor_args,
    add_parameter_args,
    positive_float,
    positive_int,
    seed_int,
)
from secretome.errors import SecretomeError


def _name_list(text: str) -> list[str]:
    return [x.strip() for x in text.split(",") if x.strip()]


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from secretome import gsa as sa
    from secretome.gsa_report import write_results
    from secretome.io import check_output_dir
    from secretome.parameter_sets import choose_parameters

    out = check_output_dir(args.out, "--out")
    params = None
    if args.params is not None:
        params = "all" if args.params.strip() == "all" else _name_list(args.params)
        if not params:
            raise SecretomeError("--params: the list is empty (give names, or 'all')")
    if args.outputs is not None and not args.outputs:
        raise SecretomeError("--outputs: the list is empty")
    pset = choose_parameters(
        args.centre, nominal=args.nominal, allow_outside_bounds=args.allow_outside_bounds
    )
    centre = pset.as_dict()
    common = {
        "method": args.method,
        "params": params,
        "outputs": args.outputs,
        "second_order": args.second_order,
        "factor": args.factor,
        "centre": centre,
        "workers": args.workers,
        "scheduler": args.scheduler,
        "seed": args.seed,
        "centre_label": pset.label,
    }
    n = args.n if args.n is not None else sa.DEFAULT_N[args.method]
    runs = [n, 2 * n] if args.check_convergence else [n]
    results = []
    for size in runs:
        # made on the first report, so bad input fails before any bar
        with LazyBar(desc=f"{args.method} N={size}", unit="run") as bar:

            def progress(done: int, total: int, bar=bar) -> None:
                b = bar.get(total)
                b.update(done - b.n)

            results.append(sa.sensitivity(args.scenario, n=size, progress=progress, **common))
    result = results[-1]
    table = sa.convergence(results[0], results[1]) if args.check_convergence else None
    write_results(result, out, convergence_table=table, figures=not args.no_figures)

    s = result.summary()
    print(
        f"{result.scenario}: {result.method}, N={result.n}, {s['n_parameters']} parameters, "
        f"{s['n_outputs']} outputs, {result.n_evaluations} evaluations "
        f"({s['seconds_per_evaluation'] * 1000:.1f} ms each), {result.n_failed} failed"
    )
    print(f"parameters not varied held at: {pset.label}")
    for output, reason in result.skipped.items():
        print(f"  not analysed: {output}: {reason}")
    top = result.top(k=3)
    if len(top):
        print(f"top 3 parameters per output by {sa.INDEX_NAMES[result.main_index]}:")
    else:
        print("no output could be analysed (see above); try a larger --n")
    for output, d in top.groupby("output", sort=False):
        ranked = ", ".join(f"{p} {v:.2g}" for p, v in zip(d["parameter"], d["value"], strict=True))
        print(f"  {output}: {ranked}")
    if table is not None:
        moved = table[~table["within_ci"]]
        print(
            f"convergence N={results[0].n} -> {result.n}: {len(table)} top-ranked indices, "
            f"{len(moved)} moved by more than their CIs; largest change "
            f"{table['change'].abs().max():.3g} (convergence.csv)"
        )
    print(f"wrote indices.csv, summary.json and figures to {out}", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``sensitivity`` subcommand."""
    p = sub.add_parser(
        "sensitivity",
        help="global sensitivity analysis (Sobol or Morris) of a scenario's outputs",
        description=(
            "Vary the model parameters in log10 space within their table bounds (or "
            "within a factor around given values) and rank them by how much they move "
            "the scenario's outputs: viability, early and late apoptosis and every "
            "readout of the scenario's study at its sampling times. Writes "
            "DIR/indices.csv (output, parameter, index, value, ci), summary.json (counts "
            "of evaluations and failures) and figures/. See docs/sensitivity.md."
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or shipped name")
    p.add_argument(
        "--method",
        choices=["sobol", "morris"],
        default="sobol",
        help="Sobol indices (Saltelli sampling) or Morris screening (default: sobol)",
    )
    p.add_argument(
        "--n",
        type=positive_int,
        metavar="N",
        help="Sobol: base sample size, a power of two (default 128; N(D+2) runs); "
        "Morris: trajectories (default 20; N(D+1) runs)",
    )
    p.add_argument(
        "--params",
        metavar="all|LIST",
        help="parameters to vary: 'all' non-input parameters, or names / name[context] "
        "(default: the free parameters that apply to the scenario)",
    )
    p.add_argument(
        "--outputs",
        type=_name_list,
        metavar="LIST",
        help="observables (e.g. viable_cells) or labels (viable_cells@96h) to analyse",
    )
    p.add_argument("--second-order", action="store_true", help="Sobol second-order indices too")
    p.add_argument(
        "--factor",
        type=positive_float,
        metavar="F",
        help="vary each parameter from centre/F to centre*F instead of the table bounds",
    )
    add_parameter_args(
        p,
        "--centre",
        "CSV of name,value: parameters not varied are held at these values, and with "
        "--factor the varied ones range around them (default: the shipped fit, "
        "models/fitted_parameters.csv)",
    )
    add_executor_args(p)
    p.add_argument("--seed", type=seed_int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--check-convergence",
        action="store_true",
        help="run again at 2N and report how the top-ranked indices moved",
    )
    p.add_argument("--no-figures", action="store_true", help="write the tables only")
    p.add_argument(
        "--out",
        metavar="DIR",
        default="sensitivity",
        help="output directory (default: sensitivity)",
    )
    p.set_defaults(func=_cmd_sensitivity)

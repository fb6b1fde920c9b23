"""``secretome export-omex``: the scenarios as SED-ML in a COMBINE archive (issue 18)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from secretome.cli_common import add_parameter_args, positive_int


def _cmd_export_omex(args: argparse.Namespace) -> int:
    from secretome import omex_export, scenarios
    from secretome.parameter_sets import choose_parameters

    params = choose_parameters(
        args.params, nominal=args.nominal, allow_outside_bounds=args.allow_outside_bounds
    )
    chosen = None
    if args.scenarios:
        chosen = [scenarios.load_scenario(x.strip()) for x in args.scenarios.split(",") if x]
    path = omex_export.export_omex(args.file, chosen, params, n_points=args.points)
    print(f"wrote the COMBINE archive {path} ({params.name})", file=sys.stderr)
    return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register the ``export-omex`` subcommand."""
    p = sub.add_parser(
        "export-omex",
        help="write the scenarios as SED-ML simulations in a COMBINE archive (OMEX)",
        description=(
            "Write FILE, a COMBINE archive: the annotated SBML, one SED-ML time course "
            "per scenario and one task per arm and dose, with the context's and the "
            "parameter set's values and the arm's inputs as SED-ML changes (medium "
            "changes as SBML events), every observable and what each assay reports as "
            "data generators, and the per-context parameter table. Tellurium runs it "
            "(tellurium.executeCombineArchive). See docs/petab.md."
        ),
    )
    p.add_argument("file", metavar="FILE", type=Path, help="the .omex file to write")
    p.add_argument(
        "--scenarios",
        metavar="LIST",
        help="comma-separated scenario files or shipped names (default: every shipped one)",
    )
    p.add_argument(
        "--points",
        type=positive_int,
        default=121,
        metavar="N",
        help="time-course points per scenario (default 121)",
    )
    add_parameter_args(p)
    p.set_defaults(func=_cmd_export_omex)

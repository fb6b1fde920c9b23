"""The ``secretome`` command line: thin wrappers, one public function per subcommand.

User mistakes (bad files, unknown names) are :class:`~secretome.errors.SecretomeError`
and end with one clear message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from secretome.errors import SecretomeError

EXIT_USER_ERROR = 2


def _cmd_data(args: argparse.Namespace) -> int:
    from secretome import data

    if args.validate is not None:
        table = data.load_evidence(args.validate)
        print(f"{args.validate}: valid ({len(table)} rows)")
        return 0
    table = data.load_evidence()
    print(data.format_summary(data.summarise(table)))
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from secretome import data
    from secretome.io import atomic_write

    table = data.load_evidence()
    summary = data.summarise(table)
    out = Path(args.out)
    atomic_write(out / "evidence_summary.csv", summary.to_csv())
    atomic_write(out / "evidence.csv", table.to_csv(index=False))
    print(data.format_summary(summary))
    print(f"\nwrote {out / 'evidence_summary.csv'} and {out / 'evidence.csv'}", file=sys.stderr)
    return 0


def _cmd_model(args: argparse.Namespace) -> int:
    from secretome import model

    spec = model.load_model()
    did = False
    if args.sbml is not None:
        model.write_sbml(spec, args.sbml)
        print(f"wrote SBML to {args.sbml}", file=sys.stderr)
        did = True
    if args.markdown is not None:
        model.write_markdown(spec, args.markdown)
        print(f"wrote {args.markdown}", file=sys.stderr)
        did = True
    if args.json or not did:
        print(json.dumps(model.catalogue(spec), indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="secretome",
        description=(
            "Simulate how the mesenchymal stem cell secretome (IL-2, IL-4 and other "
            "factors) acts on cancer-cell signalling, apoptosis and viability, and "
            "compare the model with the published evidence."
        ),
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser(
        "data",
        help="summarise or validate the evidence base",
        description=(
            "Without options, print a summary of the curated evidence base "
            "(experiments/data/evidence.csv): rows per study and assay, and how many "
            "are quantitative, directional, no-change and dose-ordering results. "
            "With --validate FILE, check a table of your own against the same schema "
            "(docs/data.md) and report every problem found."
        ),
    )
    p.add_argument(
        "--validate",
        metavar="FILE",
        type=Path,
        help="check FILE against the evidence schema; exit 2 listing every problem",
    )
    p.set_defaults(func=_cmd_data)

    p = sub.add_parser(
        "model",
        help="describe the model: species, parameters, observables; export SBML",
        description=(
            "Compose the Antimony modules under models/ into one model. By default "
            "print its catalogue (species, parameters, observables) as JSON."
        ),
    )
    p.add_argument("--json", action="store_true", help="print the catalogue as JSON")
    p.add_argument("--sbml", metavar="FILE", type=Path, help="write the model as SBML")
    p.add_argument(
        "--markdown",
        metavar="FILE",
        type=Path,
        help="write the reaction and rate-law listing (docs/model.md)",
    )
    p.set_defaults(func=_cmd_model)

    p = sub.add_parser(
        "reproduce",
        help="the main job: check the evidence base and write the report",
        description=(
            "Run the main job of `make reproduce`: validate the evidence base and "
            "write its summary to the output directory. Later stages (model versus "
            "data for every paper scenario) extend this report."
        ),
    )
    p.add_argument(
        "--out", metavar="DIR", default="results", help="output directory (default: results)"
    )
    p.set_defaults(func=_cmd_reproduce)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``secretome`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args))
    except SecretomeError as exc:
        print(f"secretome {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"secretome {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())

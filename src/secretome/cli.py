"""The ``secretome`` command line: thin wrappers, one public function per subcommand.

User mistakes (bad files, unknown names) are :class:`~secretome.errors.SecretomeError`
and end with one clear message on stderr and exit status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import io
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from secretome import cli_export, cli_predict, cli_sample, cli_select, cli_sensitivity, interrupts
from secretome.cli_common import (
    LazyBar,
    add_executor_args,
    add_parameter_args,
    finite_float,
    positive_float,
    positive_int,
    seed_int,
)
from secretome.errors import SecretomeError

EXIT_USER_ERROR = 2


def _cmd_data(args: argparse.Namespace) -> int:
    from secretome import data

    if args.validate is not None:
        table = data.load_evidence(args.validate)
        warnings = data.check_readouts(table, str(args.validate))
        for w in warnings:
            print(f"secretome data: warning: {w}", file=sys.stderr)
        noted = f"; {len(warnings)} warning(s) on stderr" if warnings else ""
        print(f"{args.validate}: valid ({len(table)} rows{noted})")
        return 0
    table = data.load_evidence()
    print(data.format_summary(data.summarise(table)))
    return 0


def _number_list(text: str) -> list[float]:
    try:
        values = [float(x) for x in text.replace(";", ",").split(",") if x.strip()]
    except ValueError:
        msg = f"{text!r} is not a comma-separated list of numbers"
        raise argparse.ArgumentTypeError(msg) from None
    if not values:
        raise argparse.ArgumentTypeError("the list is empty")
    return values


def _cmd_simulate(args: argparse.Namespace) -> int:
    from secretome import report, scenarios
    from secretome.parameter_sets import choose_parameters

    scenario = scenarios.modify(
        scenarios.load_scenario(args.scenario),
        doses=args.doses,
        msc_cells=args.msc_cells,
        cm_fraction=args.cm_fraction,
        duration=args.duration,
        times=args.times,
        neutralise=args.neutralise or (),
    )
    pset = choose_parameters(
        args.params, nominal=args.nominal, allow_outside_bounds=args.allow_outside_bounds
    )
    chosen, said = cli_predict.choose_ensemble(args)
    with LazyBar(desc="ensemble", unit="draw") as bar:

        def progress(done: int, total: int) -> None:
            b = bar.get(total)
            b.update(done - b.n)

        done = report.simulation_report(
            scenario,
            args.out,
            pset,
            observables=args.observables,
            backend=args.backend,
            ensemble=chosen,
            workers=args.workers,
            progress=progress,
        )
    variant = done.variant
    print(f"scenario: {scenario.name} ({variant.label})")
    if not variant.comparable:
        print(
            f"  not scored against {scenario.study}'s data: they are from the experiment "
            "as published (comparison.csv: agreement 'not scored')"
        )
    print(f"parameters: {pset.label}")
    print(f"ensemble: {said}")
    if done.ensemble is not None and done.ensemble.n_failed:
        run = done.ensemble
        print(f"  {run.n_failed} of {run.n_draws} draws failed (left out of the bands)")
    table = done.shown.drop(columns=["scenario", "variant", "parameters", "ensemble"])
    if chosen is None:  # no bands to show
        table = table.drop(columns=["q05", "q50", "q95", "failed_fraction"])
    else:
        table = table.drop(columns=["failed_fraction"])
    print(table.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
    written = list(done.written)
    if args.attribution:
        from secretome.contributions import attribution
        from secretome.contributions_report import write_attribution

        parts = attribution(
            scenario, pset.as_dict(), observables=args.observables, backend=args.backend
        )
        written += write_attribution(parts, done.out_dir)
        print("\nwhat each secretome factor contributes (attribution.csv):")
        shown = parts.table.drop(columns=["scenario", "assay"])
        print(shown.to_string(index=False, float_format=lambda x: f"{x:.3g}"))
    names = ", ".join(p.name for p in written)
    print(f"\nwrote {names} to {done.out_dir}", file=sys.stderr)
    return 0


def _cmd_fit(args: argparse.Namespace) -> int:
    import dataclasses

    from secretome import fitting, objective, report
    from secretome.io import atomic_write, check_output_dir
    from secretome.parameter_sets import ParameterSet

    out = check_output_dir(args.out, "--out")
    config = objective.load_fit_config(args.config)
    if args.max_nfev is not None:
        config = dataclasses.replace(config, max_nfev=args.max_nfev)
    if args.qualitative_sigma is not None:
        config = dataclasses.replace(config, qualitative_sigma=args.qualitative_sigma)
    bar = LazyBar(desc="fit", unit="start")
    state = {"best": float("inf"), "failures": 0}

    def progress(result, done: int, total: int) -> None:
        state["best"] = min(state["best"], result.cost)
        state["failures"] += result.failures
        b = bar.get(total)
        b.set_postfix(best=f"{state['best']:.4g}", failed_sims=state["failures"])
        b.update(done - b.n)

    with bar:
        result = fitting.fit(
            config,
            studies=args.studies,
            starts=args.starts,
            seed=args.seed,
            workers=args.workers,
            scheduler=args.scheduler,
            out=out,
            resume=args.resume,
            progress=progress,
        )
    atomic_write(out / "starts.csv", result.starts.to_csv(index=False))
    atomic_write(out / "best_parameters.csv", fitting.parameters_table(result).to_csv(index=False))
    command = ["secretome fit"] + ([f"--config {args.config}"] if args.config else [])
    command += [f"--studies {' '.join(args.studies)}"] if args.studies else []
    command += [f"--starts {args.starts}", f"--seed {args.seed}"]
    command += [f"--max-nfev {args.max_nfev}"] if args.max_nfev is not None else []
    if args.qualitative_sigma is not None:
        command.append(f"--qualitative-sigma {args.qualitative_sigma}")
    command += [f"--workers {args.workers}"] if args.scheduler is None else []
    command.append(f"--out {args.out}")
    fitting.write_parameter_file(result, out / "fitted_parameters.csv", command=" ".join(command))
    report.save_figure(report.plot_waterfall(result.starts), out / "waterfall.png")
    label = (
        f"fitted: best of {args.starts} starts (seed {args.seed}), "
        f"objective {result.best_cost:.4g} ({out / 'fitted_parameters.csv'})"
    )
    fitted = ParameterSet(result.best_parameters, label, f"fit {out.name}")
    report.reproduce(out / "fit_vs_data", fitted)
    print(
        f"best objective {result.best_cost:.6g} (start {int(result.starts['start'].iloc[0])}), "
        f"negative log-likelihood {result.best_neg_log_likelihood:.6g}"
    )
    if result.noise_parameters:
        noise = ", ".join(f"{k} = {v:.4g}" for k, v in result.noise_parameters.items())
        print(f"fitted noise: {noise}")
    written = (
        "starts.csv, best_parameters.csv, fitted_parameters.csv (+ .toml provenance), "
        "waterfall.png, fit_vs_data/"
    )
    print(f"wrote {written} to {out}")
    return 0


def _load_fit_dir(fit_dir: Path):
    """The configuration, studies and best point of a finished `secretome fit` run."""
    import numpy as np
    import pandas as pd

    from secretome import objective

    problem_file, best_file = fit_dir / "problem.json", fit_dir / "best_parameters.csv"
    for f in (problem_file, best_file):
        if not f.is_file():
            raise SecretomeError(f"{f}: not found; run `secretome fit --out {fit_dir}` first")
    try:
        problem = json.loads(problem_file.read_text(encoding="utf-8"))
        config = objective.config_from_dict(problem["config"])
        keys = list(problem["parameters"])
        studies = problem["studies"]
    except (ValueError, KeyError, TypeError) as exc:
        raise SecretomeError(
            f"{problem_file}: not the problem file of a `secretome fit` run ({exc!r})"
        ) from None
    try:
        best = pd.read_csv(best_file).set_index("key")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, KeyError, ValueError) as exc:
        raise SecretomeError(f"{best_file}: not a readable parameter table ({exc})") from None
    missing = [k for k in keys if k not in best.index]
    if missing:
        raise SecretomeError(f"{best_file}: no value for {', '.join(missing)}")
    return config, studies, np.array([float(best.loc[k, "log10"]) for k in keys])


def _cmd_profile(args: argparse.Namespace) -> int:
    import warnings

    from secretome import identifiability as ident
    from secretome import report
    from secretome.io import atomic_write, check_output_dir

    out = check_output_dir(args.out or Path(args.fit_dir) / "profiles", "--out")
    config, studies, best_x = _load_fit_dir(Path(args.fit_dir))
    bar = LazyBar(desc="profile", unit="walk")

    def progress(done: int, total: int) -> None:
        b = bar.get(total)
        b.update(done - b.n)

    with bar, warnings.catch_warnings():
        warnings.simplefilter("ignore", ident.CoarseProfileWarning)  # printed below
        profiles = ident.profile(
            config,
            best_x,
            studies=studies,
            parameters=args.params,
            span=args.span,
            points=args.points,
            step=args.step,
            min_step=args.min_step,
            max_steps=args.max_steps,
            max_nfev=args.max_nfev,
            workers=args.workers,
            scheduler=args.scheduler,
            out=out,
            resume=args.resume,
            progress=progress,
        )
    jac = ident.jacobian_check(config, best_x, studies)
    classes = ident.classify(profiles, jac).merge(jac, on="key")
    summary = ident.profile_summary(profiles)
    atomic_write(out / "profiles.csv", profiles.to_csv(index=False))
    atomic_write(out / "profile_walks.csv", summary.to_csv(index=False))
    atomic_write(out / "identifiability.csv", classes.to_csv(index=False))
    atomic_write(out / "warnings.txt", "".join(f"{w}\n" for w in profiles.attrs["warnings"]))
    report.save_figure(
        report.plot_profiles(profiles, classes, ident.THRESHOLD), out / "profiles.png"
    )
    print(f"profiles around the best point of {args.fit_dir} (best_parameters.csv)")
    shown = ["key", "class", "max_delta", "ci_lower", "ci_upper", "unique_fraction"]
    print(classes[shown].to_string(index=False))
    points = int((profiles["side"] != 0).sum())
    print(
        f"{points} profile points, {profiles.attrs['not_converged']} did not converge "
        f"within --max-nfev {args.max_nfev}"
    )
    for w in profiles.attrs["warnings"]:
        print(f"warning: {w}", file=sys.stderr)
    print(
        "wrote profiles.csv, profile_walks.csv, identifiability.csv, warnings.txt, "
        f"profiles.png and points/ to {out}"
    )
    return 0


def _cmd_loso(args: argparse.Namespace) -> int:
    from secretome import identifiability as ident
    from secretome import objective
    from secretome.io import atomic_write, check_output_dir

    out = check_output_dir(args.out, "--out")
    config = objective.load_fit_config(args.config)
    table = ident.leave_one_study_out(
        config,
        starts=args.starts,
        seed=args.seed,
        max_nfev=args.max_nfev,
        workers=args.workers,
        scheduler=args.scheduler,
    )
    atomic_write(out / "leave_one_study_out.csv", table.to_csv(index=False))
    summary = table.groupby(["held_out", "kind"])["agreement"].agg(
        agree=lambda a: int((a == "agree").sum()), total="size"
    )
    print(summary.to_string())
    print(f"wrote {out / 'leave_one_study_out.csv'}")
    return 0


def _cmd_export_petab(args: argparse.Namespace) -> int:
    from secretome.objective import load_fit_config
    from secretome.petab_export import export_petab

    config = load_fit_config(args.config) if args.config else None
    path = export_petab(args.dir, config)
    print(f"wrote the PEtab problem {path} (lint it with: petablint {path})")
    return 0


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from secretome import report
    from secretome.parameter_sets import choose_parameters

    pset = choose_parameters(
        args.params, nominal=args.nominal, allow_outside_bounds=args.allow_outside_bounds
    )
    chosen, said = cli_predict.choose_ensemble(args)
    bar = LazyBar(desc="reproduce", unit="step")
    draws = LazyBar(desc="ensemble", unit="draw")

    def progress(message: str, total: int) -> None:
        b = bar.get(total)
        b.set_postfix_str(message)
        b.update(1)

    def draw_progress(done: int, total: int) -> None:
        b = draws.get(total)
        b.update(done - b.n)

    with bar, draws:
        result = report.reproduce(
            args.out,
            pset,
            progress=progress,
            backend=args.backend,
            ensemble=chosen,
            workers=args.workers,
            draw_progress=draw_progress,
        )
    print(f"parameters: {pset.label}")
    print(f"ensemble: {said}")
    if result.ensemble:
        failed = sum(r.n_failed for r in result.ensemble)
        total = sum(r.n_draws for r in result.ensemble)
        print(
            f"  judged on the ensemble median; {failed} of {total} draw simulations failed"
            + (" (left out of the bands)" if failed else "")
        )
    print(report.in_and_out_of_sample(result.comparison))
    counts = result.comparison["agreement"].value_counts()
    print(f"report: {Path(args.out) / 'index.html'}")
    print("agreement with the evidence: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    print(
        report.independent_agreement(result.comparison)
        + " (readouts sharing a model law count once; control arms and readouts the "
        "model cannot change are not counted)"
    )
    return 0


def _cmd_model(args: argparse.Namespace) -> int:
    from secretome import model
    from secretome.model_markdown import write_markdown

    spec = model.load_model()
    did = False
    if args.sbml is not None:
        model.write_sbml(spec, args.sbml)
        print(f"wrote SBML to {args.sbml}", file=sys.stderr)
        did = True
    if args.markdown is not None:
        write_markdown(spec, args.markdown)
        print(f"wrote {args.markdown}", file=sys.stderr)
        did = True
    if args.json or not did:
        print(json.dumps(model.catalogue(spec), indent=2))
    return 0


def _add_backend(p: argparse.ArgumentParser) -> None:
    from secretome.simulation import BACKENDS, DEFAULT_BACKEND

    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=DEFAULT_BACKEND,
        help=(
            "simulator: 'compiled' (Numba + BDF, about 5x faster; compiles once per "
            "machine, about 1 min) or 'roadrunner' (libRoadRunner's CVODE); they agree to "
            f"1e-5 (default: {DEFAULT_BACKEND})"
        ),
    )


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
        "simulate",
        help="simulate one in-silico experiment (scenario) and write its observables",
        description=(
            "Simulate the scenario's control arm and one treated arm per dose, and "
            "write DIR/observables.csv (what each assay would report at the sampling "
            "times), DIR/timecourses.csv, figures and provenance.json. SCENARIO is a "
            "TOML file or the name of a shipped scenario (experiments/scenarios/). "
            "Parameters: the shipped fit (models/fitted_parameters.csv) unless --params "
            "or --nominal; every output names the set used. Flags change the common "
            "settings without writing a file; several --doses or --times give a "
            "response-curve figure. A run that changes the paper's experiment (e.g. "
            "--neutralise) is shown beside the paper's data but not scored against them. "
            "With a posterior ensemble (--ensemble; by default models/posterior.csv when "
            "present) every draw is simulated too: the CSV files gain q05/q50/q95 columns, "
            "figures draw 5-95 % bands, and the evidence is judged on the median."
        ),
    )
    p.add_argument("scenario", metavar="SCENARIO", help="scenario file or shipped name")
    add_parameter_args(p)
    p.add_argument("--out", metavar="DIR", default="simulation", help="output directory")
    p.add_argument("--msc-cells", type=finite_float, help="MSCs per well (transwell)")
    p.add_argument("--cm-fraction", type=finite_float, help="conditioned-medium fraction")
    p.add_argument(
        "--doses", type=_number_list, metavar="LIST", help="dose sweep, e.g. 1e4,3e4,1e5"
    )
    p.add_argument(
        "--duration",
        type=finite_float,
        metavar="H",
        help="exposure duration (hours); alone, the run is sampled at its end",
    )
    p.add_argument(
        "--times",
        type=_number_list,
        metavar="LIST",
        help="sampling times (hours), within the exposure (longer runs need --duration)",
    )
    p.add_argument(
        "--attribution",
        action="store_true",
        help=(
            "also split each readout's change into what IL-2, IL-4, IL-15 and the lumped "
            "other factors contribute (each omitted from what the MSCs deliver in turn): "
            "attribution.csv and attribution.png"
        ),
    )
    p.add_argument(
        "--neutralise",
        action="append",
        choices=["IL2", "IL4"],
        help=(
            "neutralise a cytokine in both arms (repeatable); such a run is not scored "
            "against the paper's data"
        ),
    )
    p.add_argument(
        "--observables",
        type=lambda s: [x for x in s.split(",") if x],
        metavar="LIST",
        help="observables to print and plot (default: viability, apoptosis, the study's readouts)",
    )
    _add_backend(p)
    cli_predict.add_ensemble_args(p)
    cli_predict.add_workers_arg(p)
    p.set_defaults(func=_cmd_simulate)

    p = sub.add_parser(
        "fit",
        help="fit the model to the evidence: multi-start least squares, resumable",
        description=(
            "Fit the parameters listed in the fit configuration (experiments/fit.toml) "
            "to every fitted evidence row, from --starts starting points (nominal, then "
            "a Latin hypercube drawn with --seed). Each start's result is written to "
            "OUT/starts/ when it finishes; --resume continues a stopped fit. Writes "
            "starts.csv, best_parameters.csv, fitted_parameters.csv (for --params), "
            "waterfall.png and a model-versus-data report in OUT/fit_vs_data/."
        ),
    )
    p.add_argument("--config", metavar="FILE", type=Path, help="fit configuration (TOML)")
    p.add_argument("--studies", nargs="+", metavar="STUDY", help="fit only these studies")
    p.add_argument("--starts", type=positive_int, default=10, help="number of starts (default 10)")
    p.add_argument(
        "--seed", type=seed_int, default=0, help="seed of the starting points (default 0)"
    )
    p.add_argument(
        "--max-nfev", type=positive_int, help="iterations per start (default: the config's)"
    )
    p.add_argument(
        "--qualitative-sigma",
        type=positive_float,
        metavar="S",
        help="weight of qualitative results: their σ in log units (default: the config's)",
    )
    p.add_argument("--out", metavar="DIR", default="fit", help="output directory (default: fit)")
    p.add_argument("--resume", action="store_true", help="continue a stopped fit in --out")
    add_executor_args(p)
    p.set_defaults(func=_cmd_fit)

    p = sub.add_parser(
        "profile",
        help="profile likelihoods of a finished fit: which parameters the data determine",
        description=(
            "For each fitted parameter of FIT_DIR (the --out of `secretome fit`), noise "
            "parameters included, walk away from the best value on each side, fixing it and "
            "re-optimising the others to convergence from the previous point. The step "
            "adapts to the rise of the negative log-likelihood; a side stops at the 95 % "
            "threshold (1.92), the bound (or --span) or --max-steps points. Every point is "
            "written to OUT/points/ as it finishes; --resume continues a stopped profile. "
            "Classifies each parameter as identifiable, practically or structurally "
            "non-identifiable, with its 95 % interval; warns when the settings are too "
            "coarse. Writes profiles.csv, profile_walks.csv, identifiability.csv, "
            "warnings.txt, profiles.png."
        ),
    )
    p.add_argument("fit_dir", metavar="FIT_DIR", help="output directory of `secretome fit`")
    p.add_argument("--params", nargs="+", metavar="KEY", help="profile only these parameters")
    p.add_argument(
        "--span",
        type=positive_float,
        help="walk at most this many decades either side (default: to the bounds)",
    )
    p.add_argument(
        "--points",
        type=positive_int,
        default=4,
        help="at least this many points per side before a bound (default 4)",
    )
    p.add_argument(
        "--step", type=positive_float, default=0.1, help="first step in decades (default 0.1)"
    )
    p.add_argument(
        "--min-step",
        type=positive_float,
        default=0.005,
        help="smallest step in decades (default 0.005)",
    )
    p.add_argument(
        "--max-steps", type=positive_int, default=30, help="points per side at most (default 30)"
    )
    p.add_argument(
        "--max-nfev",
        type=positive_int,
        default=200,
        help="evaluations per re-optimisation; more = not converged (default 200)",
    )
    p.add_argument("--out", metavar="DIR", help="output directory (default FIT_DIR/profiles)")
    p.add_argument("--resume", action="store_true", help="continue a stopped profile in --out")
    add_executor_args(p)
    p.set_defaults(func=_cmd_profile)

    p = sub.add_parser(
        "loso",
        help="leave one study out: refit without it, predict it",
        description=(
            "For each study, fit the model to the other studies' evidence (nominal "
            "start plus Latin hypercube starts), then predict the left-out study and "
            "report agreement row by row: the test of whether the mechanism carries "
            "over between cell lines and MSC sources."
        ),
    )
    p.add_argument("--config", metavar="FILE", type=Path, help="fit configuration (TOML)")
    p.add_argument("--starts", type=positive_int, default=2, help="starts per refit (default 2)")
    p.add_argument("--seed", type=seed_int, default=0, help="seed of the starting points")
    p.add_argument(
        "--max-nfev", type=positive_int, help="iterations per start (default: the config's)"
    )
    p.add_argument("--out", metavar="DIR", default="loso", help="output directory")
    add_executor_args(p)
    p.set_defaults(func=_cmd_loso)

    p = sub.add_parser(
        "export-petab",
        help="write the calibration problem as PEtab v1 files",
        description=(
            "Write the calibration problem as PEtab v1: DIR/problem.yaml (every fitted "
            "row, with the qualitative evidence in measurements_qualitative.tsv in "
            "pyPESTO's censored/ordinal extension), problem_quantitative.yaml (standard "
            "PEtab v1, the quantitative rows only), the annotated SBML, conditions, "
            "observables and parameters with priors and the shipped fit as the start "
            "(docs/petab.md)."
        ),
    )
    p.add_argument("dir", metavar="DIR", type=Path, help="output directory")
    p.add_argument("--config", metavar="FILE", type=Path, help="fit configuration (TOML)")
    p.set_defaults(func=_cmd_export_petab)

    cli_sensitivity.add_parser(sub)
    cli_export.add_parser(sub)
    cli_sample.add_parser(sub)
    cli_select.add_parser(sub)
    cli_predict.add_parser(sub)

    p = sub.add_parser(
        "reproduce",
        help="the main job: every paper scenario against the evidence, as an HTML report",
        description=(
            "Run every shipped paper scenario with the package's current best "
            "parameters (the fitted set in models/fitted_parameters.csv when present), "
            "compare each evidence row with the model, and write a report "
            "directory: index.html (open it in a browser), comparison.csv, "
            "observables.csv and figures/. With a posterior ensemble (--ensemble; by "
            "default models/posterior.csv when present) every draw is simulated too: "
            "comparison.csv and observables.csv gain q05/q50/q95, rows are judged on the "
            "ensemble median, figures draw 5-95 % bands (docs/uncertainty.md)."
        ),
    )
    p.add_argument(
        "--out", metavar="DIR", default="results", help="output directory (default: results)"
    )
    add_parameter_args(p)
    _add_backend(p)
    cli_predict.add_ensemble_args(p)
    cli_predict.add_workers_arg(p)
    p.set_defaults(func=_cmd_reproduce)

    return parser


def _value_options(parser: argparse.ArgumentParser) -> set[str]:
    """Every option string, in every subcommand, that takes a value."""
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _value_options(sub)
        elif action.option_strings and action.nargs != 0:
            found.update(action.option_strings)
    return found


def _attach_negative_values(argv: Sequence[str], options: set[str]) -> list[str]:
    """``--doses -1e4,6e4`` -> ``--doses=-1e4,6e4``.

    argparse reads a value that starts with '-' and is not a plain negative number
    ('-1e4,6e4', '-1e3') as an option and fails with "expected one argument"; no
    option of ours starts with '-' and a digit, so such a value belongs to the
    option before it (and is then checked, and refused, with a message that names
    the option).
    """
    out: list[str] = []
    for token in argv:
        if (
            out
            and out[-1] in options
            and len(token) > 1
            and token[0] == "-"
            and (token[1].isdigit() or token[1] == ".")
        ):
            out[-1] = f"{out[-1]}={token}"
        else:
            out.append(token)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``secretome`` command."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = parser.parse_args(_attach_negative_values(argv, _value_options(parser)))
    # figures are files here, never windows; the library leaves the backend alone
    os.environ.setdefault("MPLBACKEND", "Agg")
    if hasattr(signal, "SIGUSR1"):
        # `kill -USR1 PID` prints where every thread of a command that seems stuck is
        # (not when stderr is no file, as under a test's capture)
        with contextlib.suppress(AttributeError, ValueError, io.UnsupportedOperation):
            faulthandler.register(signal.SIGUSR1, file=sys.stderr.fileno(), all_threads=True)
    try:
        with interrupts.stop_on_signals():  # SIGTERM stops like Ctrl-C
            return int(args.func(args))
    except SecretomeError as exc:
        print(f"secretome {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(f"secretome {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # the reader went away (e.g. `secretome model | head`): not an error of ours
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())

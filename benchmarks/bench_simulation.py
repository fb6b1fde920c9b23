"""Simulation throughput: parameter sets per second through the public API, and the
speed-up over the SciPy reference implementation (:mod:`secretome.reference`).

    python benchmarks/bench_simulation.py [--quick] [--out FILE]

Prints one JSON object (and writes it to ``--out`` if given). The work measured is
one parameter set of the KG1-a scenario: its treated and control arms, every
observable, through ``simulate(scenario, params, timecourses=False)`` in this
process, on the default backend (``compiled``: Numba + BDF) and on libRoadRunner
(``backend="roadrunner"``). The parameter sets are drawn (seed 0) uniformly in
log10 units between the table's bounds of every free parameter of the scenario,
as a Sobol analysis does; the nominal and the shipped fitted point are timed too.
The reference runs the same work (same parameter sets, same process) with
``scipy.integrate.solve_ivp`` (LSODA, same tolerances). Without ``--quick`` the
first-call cost of the compiled backend is measured in fresh processes: with an
empty cache directory (Numba compiles) and again with the filled one (it loads).

Absolute rates depend on the machine and its load (recorded in the output as the
1-minute load average); ``speedup_vs_scipy`` is a ratio of two measurements taken
back to back and is much less sensitive to it. ``model_v2`` times the shipped
model v2 against model v1 (git tag ``model-v1``) at their nominal points, back to
back (issue 12 asks v2 to stay within 2x of v1 per parameter set).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import resource
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

SCENARIO = "farahzadi2024_KG1a_CD34"
#: Name of the compiled integrator call in libRoadRunner's Python binding.
INTEGRATOR_CALL = "RoadRunner__simulate"
#: Module-name prefix of the compiled backend's generated code (secretome.compiled).
COMPILED_MODULE = "secretome_model_"


def emit(result: dict, out: Path | None) -> None:
    """Print the result as one JSON object and, if asked, write it atomically."""
    from secretome.io import atomic_write

    text = json.dumps(result, indent=2)
    print(text)
    if out is not None:
        atomic_write(out, text + "\n")


def machine() -> dict:
    """Core count, load and the code measured (date, commit)."""
    root = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain", "--", "src"],
                cwd=root,
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = "unknown", False
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "src_modified": dirty,
        "cpu_count": os.cpu_count(),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "python": sys.version.split()[0],
    }


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports kB)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def parameter_sets(n: int, seed: int = 0) -> tuple[object, list[dict[str, float]]]:
    """The scenario and ``n`` parameter sets (plain names) within the table's bounds."""
    from secretome.gsa import choose_space
    from secretome.scenarios import load_scenario

    scenario = load_scenario(SCENARIO)
    space = choose_space(scenario)
    rng = np.random.default_rng(seed)
    X = rng.uniform(space.lower, space.upper, size=(n, len(space)))
    sets = [space.overrides(x, scenario.cell_line, scenario.msc_source) for x in X]
    return scenario, sets


def time_sets(fn, scenario, sets) -> tuple[float, int]:
    """Wall time of ``fn(scenario, params)`` over every set, and the failures."""
    from secretome.simulation import SimulationFailed

    failed = 0
    t0 = time.perf_counter()
    for params in sets:
        try:
            fn(scenario, params)
        except SimulationFailed:
            failed += 1
    return time.perf_counter() - t0, failed


def profile_shares(scenario, sets, backend: str) -> dict:
    """Share of ``simulate`` time inside the integrator, parameter handling and tables."""
    from secretome.simulation import SimulationFailed, simulate

    prof = cProfile.Profile()
    prof.enable()
    for params in sets:
        try:
            simulate(scenario, params, timecourses=False, backend=backend)
        except SimulationFailed:
            pass
    prof.disable()
    stats = pstats.Stats(prof).stats
    total = sum(v[2] for v in stats.values())  # tottime: every call counted once

    def own(pred) -> float:
        return sum(v[2] for k, v in stats.items() if pred(k))

    integrator = own(lambda k: INTEGRATOR_CALL in k[2] or COMPILED_MODULE in k[0])
    reset = own(lambda k: "RoadRunner_reset" in k[2] or "setGlobalParameterValues" in k[2])
    pandas = own(lambda k: "pandas" in k[0])
    return {
        "integrator": round(integrator / total, 3),
        "reset_and_set_parameters": round(reset / total, 3),
        "pandas_tables": round(pandas / total, 3),
        "other_python": round(1 - (integrator + reset + pandas) / total, 3),
        "backend": backend,
        "profiled_calls": len(sets),
        "profiler": "cProfile (tottime shares)",
    }


def tolerance_study(scenario, sets) -> list[dict]:
    """Time per set and largest relative change of any observable value when
    libRoadRunner's tolerances are loosened (restored afterwards); the shipped ones
    first."""
    from secretome.libroadrunner import runner_for
    from secretome.model import load_model
    from secretome.simulation import SimulationFailed, simulate

    rr = runner_for(load_model())
    integrator = rr.getIntegrator()
    shipped = (
        integrator.getValue("relative_tolerance"),
        integrator.getValue("absolute_tolerance"),
    )
    rows, ref = [], None
    try:
        for rtol, atol in (shipped, (1e-7, 1e-11), (1e-6, 1e-10), (1e-6, 1e-8)):
            integrator.setValue("relative_tolerance", rtol)
            integrator.setValue("absolute_tolerance", atol)
            values, t0 = [], time.perf_counter()
            for params in sets:
                try:
                    obs = simulate(
                        scenario, params, timecourses=False, backend="roadrunner"
                    ).observables
                    values.append(obs["value"].to_numpy())
                except SimulationFailed:
                    values.append(np.full(len(values[0]) if values else 1, np.nan))
            ms = 1e3 * (time.perf_counter() - t0) / len(sets)
            Y = np.vstack(values)
            ref = Y if ref is None else ref
            with np.errstate(divide="ignore", invalid="ignore"):
                dev = np.nanmax(np.abs(Y / ref - 1))
            rows.append(
                {"rtol": rtol, "atol": atol, "ms_per_set": round(ms, 3), "max_rel_change": dev}
            )
    finally:
        integrator.setValue("relative_tolerance", shipped[0])
        integrator.setValue("absolute_tolerance", shipped[1])
    return rows


def first_call_s(cache: Path) -> float:
    """Seconds a fresh process takes for its first compiled simulation, with
    ``cache`` as the cache directory (empty: Numba compiles; filled: it loads)."""
    code = (
        "import time; from secretome.scenarios import load_scenario; "
        f"from secretome.simulation import simulate; s = load_scenario({SCENARIO!r}); "
        "t = time.perf_counter(); simulate(s, timecourses=False); "
        "print(time.perf_counter() - t)"
    )
    env = {**os.environ, "SECRETOME_CACHE_DIR": str(cache)}
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return round(float(out.stdout.strip().splitlines()[-1]), 2)


def model_v2(scenario, n: int) -> dict:
    """ms per set of model v1 (the git tag ``model-v1``, extracted into a temporary
    directory) and of the shipped model v2 at their nominal points; ``None`` where
    the checkout has no such tag."""
    import tarfile
    import tempfile

    from secretome.paths import project_root
    from secretome.simulation import simulate

    with tempfile.TemporaryDirectory() as tmp:
        archive = subprocess.run(
            ["git", "archive", "model-v1", "models"],
            cwd=project_root(),
            capture_output=True,
            check=False,
        )
        if archive.returncode != 0:
            return {"skipped": "no git tag model-v1 in this checkout"}
        tar = Path(tmp) / "v1.tar"
        tar.write_bytes(archive.stdout)
        with tarfile.open(tar) as t:
            t.extractall(tmp, filter="data")
        v1 = str(Path(tmp) / "models")
        simulate(scenario, timecourses=False, models_dir=v1)  # compile outside the timing
        simulate(scenario, timecourses=False)
        v1_s, _ = time_sets(
            lambda s, p: simulate(s, p, timecourses=False, models_dir=v1), scenario, [{}] * n
        )
        v2_s, failed = time_sets(
            lambda s, p: simulate(s, p, timecourses=False), scenario, [{}] * n
        )
    return {
        "sets": n,
        "v1_ms_per_set": round(1e3 * v1_s / n, 3),
        "v2_ms_per_set": round(1e3 * v2_s / n, 3),
        "v2_over_v1": round(v2_s / v1_s, 2),
        "v2_failed": failed,
    }


def run(quick: bool) -> dict:
    import tempfile

    from secretome.reference import reference_simulate
    from secretome.report import shipped_parameters
    from secretome.simulation import simulate

    n_api, n_rr, n_ref = (120, 30, 12) if quick else (1500, 300, 60)
    t0 = time.perf_counter()
    scenario, sets = parameter_sets(n_api)
    simulate(scenario, timecourses=False)  # compile or load the model outside the timing
    simulate(scenario, timecourses=False, backend="roadrunner")
    reference_simulate(scenario)  # generate the reference once too
    setup_s = time.perf_counter() - t0
    fitted = shipped_parameters()[0] or {}

    def api(s, p):
        return simulate(s, p, timecourses=False)

    def rr(s, p):
        return simulate(s, p, timecourses=False, backend="roadrunner")

    api_s, api_failed = time_sets(api, scenario, sets)
    nominal_s, _ = time_sets(api, scenario, [{}] * (n_api // 3))
    fitted_s, _ = time_sets(api, scenario, [fitted] * (n_api // 3))
    # the same work, same process, back to back, on the first sets
    sub_rr = sets[:n_rr]
    sub_api_s, _ = time_sets(api, scenario, sub_rr)
    rr_s, rr_failed = time_sets(rr, scenario, sub_rr)
    sub = sets[:n_ref]
    ref_api_s, _ = time_sets(api, scenario, sub)
    ref_rr_s, _ = time_sets(rr, scenario, sub)
    ref_s, ref_failed = time_sets(reference_simulate, scenario, sub)
    shares = {
        b: profile_shares(scenario, sets[: min(100, n_api)], b) for b in ("compiled", "roadrunner")
    }
    tolerances = tolerance_study(scenario, sets[: 20 if quick else 100])
    result = {
        "benchmark": "simulation",
        "scenario": SCENARIO,
        "quick": quick,
        "work": "one parameter set = treated + control arm, all observables, "
        "simulate(..., timecourses=False), one process",
        "backend": "compiled (default)",
        "parameter_sets": n_api,
        "failed": api_failed,
        "sims_per_s": round(n_api / api_s, 1),
        "ms_per_set": round(1e3 * api_s / n_api, 3),
        "sims_per_s_per_core": round(n_api / api_s, 1),  # one process: one core
        "sims_per_s_nominal_point": round((n_api // 3) / nominal_s, 1),
        "sims_per_s_fitted_point": round((n_api // 3) / fitted_s, 1),
        "roadrunner_sets": n_rr,
        "roadrunner_failed": rr_failed,
        "roadrunner_ms_per_set": round(1e3 * rr_s / n_rr, 3),
        "speedup_vs_roadrunner": round(rr_s / sub_api_s, 2),
        "reference_sets": n_ref,
        "reference_failed": ref_failed,
        "reference_ms_per_set": round(1e3 * ref_s / n_ref, 2),
        "api_ms_per_set_same_sets": round(1e3 * ref_api_s / n_ref, 3),
        "speedup_vs_scipy": round(ref_s / ref_api_s, 2),
        "roadrunner_speedup_vs_scipy": round(ref_s / ref_rr_s, 2),
        "time_shares": shares,
        "tolerance_study_roadrunner": tolerances,
        "setup_s": round(setup_s, 2),
        "model_v2": model_v2(scenario, 30 if quick else 300),
    }
    if not quick:
        with tempfile.TemporaryDirectory() as cache:
            result["first_call_s_empty_cache"] = first_call_s(Path(cache))
            result["first_call_s_filled_cache"] = first_call_s(Path(cache))
    return {**result, "peak_rss_mb": peak_rss_mb(), **machine()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sets (< 30 s)")
    parser.add_argument("--out", type=Path, help="also write the JSON object here")
    args = parser.parse_args(argv)
    emit(run(args.quick), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Wall time of a full model selection (``secretome select``) and what each variant costs.

    python benchmarks/bench_select.py [--quick] [--starts 8] [--loso-starts 1] [--loso-from 1]
        [--workers 2] [--out-dir docs/results/selection] [--out FILE] [--pair A B ...]

Runs ``secretome select`` in this process over every shipped variant
(``models/variants/*.toml``) with the given starts and workers, writing its
results to ``--out-dir`` (``docs/selection.md`` reads them from
``docs/results/selection/``), and reports:

* ``wall_s`` / ``wall_min``: the whole command (fits, leave-one-study-out refits,
  agreement, candidate measurements, figures, PEtab Select export), against the
  target of issue 14 (``target_min`` = 60 min on 2 cores, compiled backend);
* per variant: starts, objective evaluations and the summed seconds of its
  full-data starts and of its leave-one-study-out refits (seconds inside the
  optimiser, summed over starts: the cost of the variant on one core);
* the reference: one objective evaluation of ``experiments/fit.toml`` at the
  nominal point, timed in this process before and after the run
  (``ms_per_evaluation_before/after``), and the wall time in units of it
  (``wall_in_evaluations``), so that runs on a busy and on an idle machine can
  be compared; the 1-minute load average before and after says how busy it was.

``--quick``: two variants, two starts, ``--max-nfev 3``, into a temporary directory
(a smoke run of the benchmark itself, about a minute).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_simulation import emit

ROOT = Path(__file__).resolve().parents[1]
TARGET_MIN = 60.0


def _reference_ms(n: int = 20) -> float:
    """Milliseconds per objective evaluation (base configuration, nominal point)."""
    from secretome.objective import Objective, load_fit_config

    obj = Objective(load_fit_config())
    x = obj.space.nominal
    obj.residuals(x)  # model compiled and loaded before timing
    t0 = time.perf_counter()
    for _ in range(n):
        obj.residuals(x)
    return 1000.0 * (time.perf_counter() - t0) / n


def _costs(out: Path) -> dict:
    """Per variant: starts, evaluations and seconds from the start files."""
    costs: dict[str, dict] = {}
    for phase in ("fits", "loso"):
        for f in sorted((out / phase).glob("**/starts/start_*.json")):
            variant = f.relative_to(out / phase).parts[0]
            doc = json.loads(f.read_text())
            c = costs.setdefault(
                variant,
                {
                    "fit_starts": 0,
                    "fit_evaluations": 0,
                    "fit_seconds": 0.0,
                    "loso_starts": 0,
                    "loso_evaluations": 0,
                    "loso_seconds": 0.0,
                },
            )
            key = "fit" if phase == "fits" else "loso"
            c[f"{key}_starts"] += 1
            c[f"{key}_evaluations"] += int(doc["evaluations"])
            c[f"{key}_seconds"] += float(doc["seconds"])
    for c in costs.values():
        c["fit_seconds"] = round(c["fit_seconds"], 1)
        c["loso_seconds"] = round(c["loso_seconds"], 1)
    return costs


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true")
    p.add_argument("--starts", type=int, default=8)
    p.add_argument("--loso-starts", type=int, default=1)
    p.add_argument("--loso-from", type=int, default=1)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out-dir", type=Path, default=ROOT / "docs" / "results" / "selection")
    p.add_argument("--resume", action="store_true", help="continue a stopped run in --out-dir")
    p.add_argument("--note", default="", help="free text stored with the result")
    p.add_argument("--out", type=Path, help="write the JSON here too")
    p.add_argument(
        "--pair",
        nargs=2,
        action="append",
        default=[],
        metavar=("A", "B"),
        help="also rank the measurements that separate variants A and B (repeatable)",
    )
    args = p.parse_args(argv)

    from secretome.cli import main as secretome

    out_dir = Path(tempfile.mkdtemp(prefix="bench-select-")) if args.quick else args.out_dir
    command = ["select", "--out", str(out_dir), "--workers", str(args.workers)]
    command += ["--loso-starts", str(args.loso_starts), "--loso-from", str(args.loso_from)]
    if args.quick:
        shipped = ROOT / "models" / "variants"
        command += [str(shipped / "full.toml"), str(shipped / "canonical_only.toml")]
        command += ["--starts", "2", "--max-nfev", "3"]
    else:
        command += ["--starts", str(args.starts)]
    if args.resume:
        command.append("--resume")
    for a, b in args.pair:
        command += ["--pair", a, b]
    load_before = os.getloadavg()[0]
    ref_before = _reference_ms()
    t0 = time.perf_counter()
    rc = secretome(command)
    wall = time.perf_counter() - t0
    ref_after = _reference_ms()
    load_after = os.getloadavg()[0]
    if rc != 0:  # the fits are on disk; rerun with --resume to finish the outputs
        print(f"secretome select exited with {rc}", file=sys.stderr)
    summary = json.loads((out_dir / "summary.json").read_text())
    ref = 0.5 * (ref_before + ref_after)
    result = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "command": "secretome " + " ".join(command),
        "quick": args.quick,
        "exit_code": rc,
        "resumed": args.resume,
        "variants": summary["variants"],
        "starts_run": summary["starts_run"],
        "wall_s": round(wall, 1),
        "wall_min": round(wall / 60.0, 2),
        "target_min": TARGET_MIN,
        "within_target": wall / 60.0 < TARGET_MIN,
        "ms_per_evaluation_before": round(ref_before, 2),
        "ms_per_evaluation_after": round(ref_after, 2),
        "wall_in_evaluations": round(1000.0 * wall / ref, 0),
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(load_after, 2),
        "per_variant": _costs(out_dir),
        "best": summary["best"],
        "note": args.note,
    }
    emit(result, args.out)
    return rc


if __name__ == "__main__":
    sys.exit(main())

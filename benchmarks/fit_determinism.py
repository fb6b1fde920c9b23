"""Is a fit reproducible? Compare two fit directories start by start, or rerun one start.

    python benchmarks/fit_determinism.py compare DIR_A DIR_B
    python benchmarks/fit_determinism.py rerun DIR START

``compare``: for every ``starts/start_NNNN.json`` in both ``secretome fit --out``
directories, whether cost, point and iterations are bitwise equal (and the largest
difference of the point, log10). ``rerun``: runs start ``START`` of DIR's design
(its ``problem.json``: configuration, studies, starts, seed) again in this process,
without a pool, and compares it with DIR's result. Set ``OPENBLAS_NUM_THREADS``
to see whether the BLAS thread count matters. ``docs/results/fit_reproducibility.md``
reports what this found.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def _same(a: dict, b: dict) -> str:
    dx = float(np.max(np.abs(np.asarray(a["x"]) - np.asarray(b["x"]))))
    equal = a["x"] == b["x"] and a["cost"] == b["cost"] and a["nfev"] == b["nfev"]
    return (
        f"cost {a['cost']!r} vs {b['cost']!r}, nfev {a['nfev']} vs {b['nfev']}, "
        f"bitwise {'equal' if equal else 'DIFFERENT'}, max |dx| {dx:.3g}"
    )


def compare(dir_a: Path, dir_b: Path) -> None:
    for path in sorted((dir_b / "starts").glob("start_*.json")):
        other = dir_a / "starts" / path.name
        if other.is_file():
            print(path.name, _same(json.loads(other.read_text()), json.loads(path.read_text())))


def rerun(fit_dir: Path, start: int) -> None:
    from secretome import fitting, objective

    problem = json.loads((fit_dir / "problem.json").read_text())
    config = objective.config_from_dict(problem["config"])
    obj = objective.Objective(config, problem["studies"])
    x0s = fitting.starting_points(obj.space, problem["starts"], problem["seed"])
    result = fitting.run_start((config, problem["studies"], start, x0s[start]))
    done = json.loads((fit_dir / "starts" / f"start_{start:04d}.json").read_text())
    print(f"start {start}: x0 equal {done['x0'] == list(result.x0)};", end=" ")
    print(_same(done, {"x": list(result.x), "cost": result.cost, "nfev": result.nfev}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    c = sub.add_parser("compare")
    c.add_argument("dir_a", type=Path)
    c.add_argument("dir_b", type=Path)
    r = sub.add_parser("rerun")
    r.add_argument("fit_dir", type=Path)
    r.add_argument("start", type=int)
    args = parser.parse_args()
    if args.what == "compare":
        compare(args.dir_a, args.dir_b)
    else:
        rerun(args.fit_dir, args.start)


if __name__ == "__main__":
    main()

"""How long each teaching notebook takes at its full (teaching) settings.

    python benchmarks/bench_notebooks.py [NAME ...] [--out benchmarks/results/notebooks.json]
        [--readme]

Executes every notebook of ``notebooks/`` (or those named, e.g. ``03_fitting_to_data``)
top to bottom in a fresh kernel of this interpreter with nbclient, as
``tests/test_notebooks.py`` does but without ``SECRETOME_NOTEBOOK_SMALL``, one after
the other, in a temporary working directory. For each it records the wall time of
the whole execution (kernel start included), the cells' own times from nbclient's
timing metadata, and the three slowest cells (index, first line, seconds). The
machine's 1-minute load average is recorded before and after each notebook: the
notebooks use 2 worker processes where they parallelise, so a busy machine slows
them.

Issue 17's target: every notebook in full in under 5 minutes on 2 cores.
``--readme`` rewrites the run-time table of ``notebooks/README.md`` (between its
``notebook-times`` markers) from the result file; ``tests/test_notebooks.py``
checks that the table is what the result file says. Results of notebooks not run
this time are kept from the existing file.
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
from bench_simulation import emit, machine

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
RESULT = ROOT / "benchmarks" / "results" / "notebooks.json"
README = NOTEBOOKS / "README.md"
BEGIN = "<!-- notebook-times:begin (written by benchmarks/bench_notebooks.py --readme) -->"
END = "<!-- notebook-times:end -->"
TARGET_S = 300.0
KERNEL = "secretome-bench-python"


def write_kernelspec(home: Path, name: str = KERNEL) -> str:
    """Write a kernelspec for this interpreter under ``home/kernels/name`` and return
    its name; a Jupyter client finds it when ``JUPYTER_PATH`` holds ``home``, so
    executing a notebook does not depend on the kernels the machine has installed.
    ``tests/test_notebooks.py`` uses it too."""
    spec_dir = home / "kernels" / name
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"secretome ({name})",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec))
    return name


def _seconds(cell) -> float | None:
    timing = cell.get("metadata", {}).get("execution", {})
    start, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
    if not start or not end:
        return None
    parse = datetime.fromisoformat
    return (
        parse(end.replace("Z", "+00:00")) - parse(start.replace("Z", "+00:00"))
    ).total_seconds()


def run_notebook(path: Path, kernel: str) -> dict:
    """Execute one notebook at full settings; its wall time and slowest cells."""
    import nbclient
    import nbformat

    nb = nbformat.read(path, as_version=4)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-notebook-") as work:
        client = nbclient.NotebookClient(
            nb, timeout=3600, kernel_name=kernel, resources={"metadata": {"path": work}}
        )
        t0 = time.perf_counter()
        client.execute()
        wall = time.perf_counter() - t0
    cells = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        s = _seconds(cell)
        if s is not None:
            first = next((ln for ln in cell.source.splitlines() if ln.strip()), "")
            cells.append({"cell": i, "first_line": first[:80], "seconds": round(s, 1)})
    cells.sort(key=lambda c: -c["seconds"])
    return {
        "wall_s": round(wall, 1),
        "cells_s": round(sum(c["seconds"] for c in cells), 1),
        "slowest": cells[:3],
        "load_average_1min_before": round(load_before, 2),
        "load_average_1min_after": round(os.getloadavg()[0], 2),
        "within_target": wall < TARGET_S,
    }


def readme_table(result: dict) -> str:
    """The run-time table of ``notebooks/README.md`` (between the markers)."""
    lines = [
        "",
        f"Measured by `python benchmarks/bench_notebooks.py --readme` "
        f"(`benchmarks/results/notebooks.json`) on {result['machine']['cpu_count']} cores: "
        "each notebook executed top to bottom at its full teaching settings in a fresh "
        "kernel with nbclient, one after the other, with the worker counts the notebooks "
        "use. The load average is the machine's 1-minute load before and after each one.",
        "",
        "| notebook | full settings | date | load average | slowest cell (its first line) |",
        "|---|---|---|---|---|",
    ]
    for name, r in sorted(result["notebooks"].items()):
        top = r["slowest"][0]
        line = top["first_line"] if len(top["first_line"]) <= 50 else top["first_line"][:49] + "…"
        slow = f"{top['seconds']:.0f} s: `{line}`"
        lines.append(
            f"| `{name}` | {r['wall_s']:.0f} s | {r['date'][:10]} | "
            f"{r['load_average_1min_before']:.1f} → {r['load_average_1min_after']:.1f} | {slow} |"
        )
    worst = max(r["wall_s"] for r in result["notebooks"].values())
    verdict = "under" if worst < TARGET_S else "**over**"
    lines += [
        "",
        f"The slowest takes {worst:.0f} s: {verdict} the target of {TARGET_S / 60:.0f} "
        "minutes each on 2 cores.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="notebook stems (default: all)")
    p.add_argument("--out", type=Path, default=RESULT)
    p.add_argument("--readme", action="store_true", help="rewrite notebooks/README.md's table")
    args = p.parse_args(argv)
    paths = sorted(NOTEBOOKS.glob("*.ipynb"))
    if args.names:
        known = {q.stem: q for q in paths}
        missing = [n for n in args.names if n not in known]
        if missing:
            p.error(f"no notebook {', '.join(missing)} in {NOTEBOOKS}")
        paths = [known[n] for n in args.names]
    os.environ.pop("SECRETOME_NOTEBOOK_SMALL", None)
    os.environ["MPLBACKEND"] = "module://matplotlib_inline.backend_inline"
    result = json.loads(args.out.read_text()) if args.out.is_file() else {"notebooks": {}}
    result["machine"] = machine()
    with tempfile.TemporaryDirectory(prefix="bench-jupyter-") as home:
        kernel = write_kernelspec(Path(home))
        os.environ["JUPYTER_PATH"] = home
        for path in paths:
            print(f"{path.stem} ...", file=sys.stderr, flush=True)
            r = run_notebook(path, kernel)
            r["date"] = datetime.now(UTC).isoformat(timespec="seconds")
            result["notebooks"][path.stem] = r
            print(f"{path.stem}: {r['wall_s']} s", file=sys.stderr, flush=True)
    stale = [n for n in result["notebooks"] if not (NOTEBOOKS / f"{n}.ipynb").is_file()]
    for n in stale:
        del result["notebooks"][n]
    emit(result, args.out)
    if args.readme:
        from secretome.io import write_between_markers

        write_between_markers(README, BEGIN, END, readme_table(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())

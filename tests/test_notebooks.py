"""The teaching notebooks run top to bottom in a fresh kernel, on small settings, and
every exercise has a worked answer in ``notebooks/solutions/<notebook>.md``.

Each notebook reads ``SECRETOME_NOTEBOOK_SMALL=1`` in its first code cell and caps
its costly loops (fit starts, profile points, Morris trajectories, Sobol N, sweep
lengths). The kernel is this interpreter: a kernelspec naming ``sys.executable`` is
written to a temporary directory on ``JUPYTER_PATH``, so the test does not depend on
which kernels the machine has installed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts import load_script

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
KERNEL = "secretome-test-python"


BENCH = load_script(NOTEBOOK_DIR.parent / "benchmarks" / "bench_notebooks.py")


@pytest.fixture
def kernel(tmp_path, monkeypatch) -> str:
    """A kernelspec for the running interpreter, found through JUPYTER_PATH."""
    name = BENCH.write_kernelspec(tmp_path / "jupyter", KERNEL)
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("SECRETOME_NOTEBOOK_SMALL", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return name


def test_there_are_notebooks():
    assert len(NOTEBOOKS) >= 4


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path: Path, kernel: str, tmp_path: Path):
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name=kernel, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, naming the cell, on the first error
    figures = sum(
        "image/png" in out.get("data", {})
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.outputs
    )
    assert figures >= 2, f"{path.name}: expected figures, found {figures}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_clean(path: Path):
    """Committed without outputs, reads the small-settings switch, ends with exercises."""
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.outputs]
    assert not dirty, f"{path.name}: outputs in cells {dirty}; clear them before committing"
    counted = [i for i, c in enumerate(nb.cells) if c.get("execution_count") is not None]
    assert not counted, f"{path.name}: execution counts in cells {counted}"
    assert code and "SECRETOME_NOTEBOOK_SMALL" in code[0].source, (
        f"{path.name}: the first code cell must read SECRETOME_NOTEBOOK_SMALL"
    )
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "## Exercises" in markdown, f"{path.name}: no '## Exercises' section"
    assert nb.cells[0].cell_type == "markdown", f"{path.name}: start with a title and story"


def _exercises(nb) -> list[int]:
    """Numbers of the exercises listed after the notebook's '## Exercises' heading."""
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    section = markdown.split("## Exercises", 1)[1]
    return [int(n) for n in re.findall(r"^(\d+)\. \*\*", section, flags=re.MULTILINE)]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_every_exercise_has_a_worked_answer(path: Path):
    nb = nbformat.read(path, as_version=4)
    asked = _exercises(nb)
    assert asked == list(range(1, len(asked) + 1)) and len(asked) >= 3, (
        f"{path.name}: exercises numbered {asked}"
    )
    answers = NOTEBOOK_DIR / "solutions" / f"{path.stem}.md"
    assert answers.is_file(), f"{path.name}: no worked answers in notebooks/solutions/"
    text = answers.read_text(encoding="utf-8")
    answered = [int(n) for n in re.findall(r"^## (\d+)\. ", text, flags=re.MULTILINE)]
    assert answered == asked, f"{answers.name}: answers {answered}, exercises {asked}"
    markdown = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    pointer = f"solutions/{answers.name}"
    assert pointer in markdown, f"{path.name}: does not point to {pointer}"


def test_the_run_time_table_is_the_measured_one_for_every_notebook():
    """notebooks/README.md's times come from benchmarks/results/notebooks.json, which
    holds a full-settings run of every notebook there is."""
    bench = BENCH
    result = json.loads(bench.RESULT.read_text(encoding="utf-8"))
    assert set(result["notebooks"]) == {p.stem for p in NOTEBOOKS}, (
        "rerun benchmarks/bench_notebooks.py for the notebooks added or removed"
    )
    text = bench.README.read_text(encoding="utf-8")
    section = text.split(bench.BEGIN, 1)[1].split(bench.END, 1)[0]
    assert section == bench.readme_table(result), (
        "rerun benchmarks/bench_notebooks.py --readme (or fix the table by the script)"
    )

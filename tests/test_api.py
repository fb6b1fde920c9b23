"""The package as a library: its public names, and the one-way layering of its modules."""

from __future__ import annotations

import ast
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

import secretome as st

PACKAGE = Path(st.__file__).parent

#: Each module's layer. A module imports only from lower layers, never from its own
#: or a higher one, not even inside a function (STYLE.md: layers point one way).
LAYERS: dict[str, int] = {
    "errors": 0,
    "interrupts": 0,
    "paths": 1,
    "bdf": 0,
    "io": 1,
    "codegen": 1,
    "sbml_export": 1,
    "parallel": 1,
    "data": 2,
    "model": 2,
    "scenarios": 3,
    "compiled": 4,
    "libroadrunner": 4,
    "model_markdown": 5,
    "simulation": 5,
    "reference": 6,
    "comparison": 6,
    "space": 6,
    "parameter_sets": 6,
    "gsa": 7,
    "contributions": 7,
    "objective": 7,
    "ensemble": 7,
    "fitting": 8,
    "sampling": 8,
    "petab_export": 8,
    "omex_export": 8,
    "variants": 8,
    "decisive": 8,
    "identifiability": 9,
    "selection": 9,
    "report": 10,
    "gsa_report": 11,
    "sampling_report": 11,
    "contributions_report": 11,
    "explorer": 11,
    "selection_report": 11,
    "cli_common": 12,
    "cli_sensitivity": 13,
    "cli_export": 13,
    "cli_sample": 13,
    "cli_select": 13,
    "cli_predict": 13,
    "cli": 14,
}


def _imports(path: Path) -> set[str]:
    """secretome modules that ``path`` imports, anywhere in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("secretome."):
                    found.add(alias.name.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "secretome":
                for alias in node.names:
                    name = alias.name
                    found.add(name if (PACKAGE / f"{name}.py").exists() else st._API[name])
            elif node.module.startswith("secretome."):
                found.add(node.module.split(".")[1])
    return found


def test_every_module_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert modules == set(LAYERS), "place new modules in LAYERS"


@pytest.mark.parametrize("module", sorted(LAYERS))
def test_imports_point_down(module):
    upward = {
        name: LAYERS[name]
        for name in _imports(PACKAGE / f"{module}.py")
        if LAYERS[name] >= LAYERS[module]
    }
    assert upward == {}, f"{module} (layer {LAYERS[module]}) imports {upward}"


def test_all_lists_every_public_name_and_each_resolves():
    assert set(st.__all__) == {"__version__", *st._API}
    for name in st._API:
        obj = getattr(st, name)
        assert obj is getattr(sys.modules[f"secretome.{st._API[name]}"], name)
    assert "simulate" in dir(st)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        _ = st.nope


def test_no_public_name_is_also_a_module_name():
    # a submodule import binds its name on the package, which would hide a verb
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert set(st._API) & modules == set()


def test_verbs_are_functions_not_modules():
    # the stage modules are named apart from their verbs, so importing a submodule
    # never replaces the verb on the package
    import secretome.comparison
    import secretome.contributions
    import secretome.fitting
    import secretome.gsa
    import secretome.simulation  # noqa: F401

    for verb in (
        "simulate",
        "fit",
        "compare",
        "sensitivity",
        "profile",
        "reproduce",
        "attribution",
    ):
        assert inspect.isfunction(getattr(st, verb)), verb


@pytest.mark.parametrize("name", sorted(st._API))
def test_public_names_have_numpy_docstrings(name):
    obj = getattr(st, name)
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return  # constants (BACKENDS) are documented where defined
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{name} has no docstring"
    if inspect.isfunction(obj):
        assert "Parameters\n----------" in doc or "Returns\n-------" in doc, name
    elif not issubclass(obj, Exception):
        assert "Attributes\n----------" in doc or "Parameters\n----------" in doc, name


def test_import_is_light():
    # the command line imports the package first: the heavy stages load on use
    code = (
        "import sys, secretome, secretome.cli; "
        "print(sorted(m for m in ('roadrunner', 'numba', 'matplotlib', 'scipy', 'pandas') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_reads_like_a_table_of_contents():
    text = inspect.getdoc(st)
    for name in ("simulate", "fit", "profile", "sensitivity", "reproduce", "load_scenario"):
        assert name in text


def test_readme_python_tour_runs(tmp_path, monkeypatch):
    import re
    import textwrap

    from secretome.paths import project_root

    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, flags=re.S)
    assert blocks, "the README has a Python tour"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for block in blocks:
        exec(compile(textwrap.dedent(block), "README.md", "exec"), {})
    assert (tmp_path / "run1" / "comparison.csv").is_file()

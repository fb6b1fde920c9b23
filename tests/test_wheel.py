"""The package works when installed from a wheel, with no checkout around it (issue 15).

A wheel is built from a copy of the repository, installed into a fresh virtual
environment outside the repository, and its command line is run from an empty
directory with ``SECRETOME_ROOT`` unset: the model and the experiments must come
from inside the installed package. The new environment sees the project
environment's dependencies through a ``.pth`` file listing its site-packages; a
directory added that way is not a site directory, so the editable install's own
``.pth`` there is not processed and cannot shadow the wheel.

The build uses pip's build isolation, so it needs setuptools >= 77 from the package
index or pip's cache (the project environment's own setuptools may be older).
``SECRETOME_CACHE_DIR`` is passed on, so the compiled model is loaded, not rebuilt.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATA_DIRS = ("models", "experiments")
SHIPPED = "secretome/_shipped"
# Environments, caches and outputs in the checkout are no input of the build.
NOT_SOURCE = shutil.ignore_patterns(
    ".venv",
    ".git",
    "build",
    "dist",
    "results",
    "*.egg-info",
    "__pycache__",
    "*.py[cod]",
    ".pytest_cache",
    ".hypothesis",
    ".ruff_cache",
    ".ipynb_checkpoints",
)


def _run(args: list[str | Path], **kwargs) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, check=False, **kwargs
    )


def _ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, (
        f"{' '.join(result.args)} exited {result.returncode}\n"
        f"stdout:\n{result.stdout[-3000:]}\nstderr:\n{result.stderr[-3000:]}"
    )
    return result


def _repo_data_files() -> set[str]:
    files = set()
    for name in DATA_DIRS:
        for path in (REPO / name).rglob("*"):
            parts = path.relative_to(REPO).parts
            if path.is_file() and "__pycache__" not in parts and path.suffix != ".pyc":
                files.add("/".join(parts))
    return files


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the checkout (building in place would write build/)."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "source"
    shutil.copytree(REPO, source, ignore=NOT_SOURCE)
    dist = tmp / "dist"
    _ok(_run([sys.executable, "-m", "pip", "wheel", source, "--no-deps", "-q", "-w", dist]))
    (built,) = dist.glob("secretome-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel, tmp_path_factory) -> Path:
    """A fresh environment with the wheel installed; returns its directory."""
    venv = tmp_path_factory.mktemp("venv").resolve()
    _ok(_run([sys.executable, "-m", "venv", "--without-pip", venv]))
    python = venv / "bin" / "python"
    install = ["install", "--no-deps", "--no-index", "-q", wheel]
    _ok(_run([sys.executable, "-m", "pip", "--python", python, *install]))
    site = _ok(_run([python, "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]))
    deps = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (Path(site.stdout.strip()) / "secretome-test-deps.pth").write_text("\n".join(sorted(deps)))
    return venv


@pytest.fixture
def env(venv) -> dict[str, str]:
    """The environment of a user of the installed package: no checkout, no overrides."""
    drop = {"SECRETOME_ROOT", "PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP"}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["PYTHONNOUSERSITE"] = "1"
    return env


def test_wheel_ships_every_data_file(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    shipped = {n.removeprefix(SHIPPED + "/") for n in names if n.startswith(SHIPPED + "/")}
    assert shipped == _repo_data_files()
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_installed_package_reads_its_own_data(venv, env, tmp_path):
    code = "import secretome, secretome.paths as p; print(secretome.__file__, p.models_dir())"
    out = _ok(_run([venv / "bin" / "python", "-c", code], cwd=tmp_path, env=env))
    module, models = (Path(line) for line in out.stdout.split())
    assert module.is_relative_to(venv), module
    assert models.is_relative_to(venv) and models.name == "models", models
    assert (models / "functions.ant").is_file()


def test_installed_cli_runs_outside_the_checkout(venv, env, tmp_path):
    cli = venv / "bin" / "secretome"
    run = {"cwd": tmp_path, "env": env}
    _ok(_run([cli, "simulate", "mirfendereski2024_AGS", "--out", "sim"], **run))
    assert (tmp_path / "sim" / "observables.csv").is_file()
    _ok(_run([cli, "reproduce", "--out", "report"], **run))
    assert (tmp_path / "report" / "index.html").is_file()
    fit = ["fit", "--starts", "1", "--max-nfev", "2", "--studies", "farahzadi2024"]
    _ok(_run([cli, *fit, "--workers", "1", "--out", "fit"], **run))
    assert (tmp_path / "fit" / "best_parameters.csv").is_file()


def test_installed_without_data_names_where_it_looked(venv, env, tmp_path):
    site = next((venv / "lib").glob("python*/site-packages"))
    shipped = site / SHIPPED
    hidden = shipped.with_name("_shipped_hidden")
    shipped.rename(hidden)
    try:
        result = _run(
            [venv / "bin" / "secretome", "simulate", "mirfendereski2024_AGS", "--out", "sim"],
            cwd=tmp_path,
            env=env,
        )
    finally:
        hidden.rename(shipped)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "SECRETOME_ROOT" in result.stderr and str(shipped) in result.stderr

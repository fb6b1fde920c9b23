"""Where the data are found: ``SECRETOME_ROOT`` first, then the installed copy, then the checkout.

The installed copy itself is exercised by ``test_wheel.py``, on a real wheel.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from secretome import paths
from secretome.errors import SecretomeError


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A development tree with empty data directories."""
    for name in paths.DATA_DIRS:
        (tmp_path / name).mkdir()
    return tmp_path


def test_secretome_root_wins(tree, monkeypatch):
    monkeypatch.setenv(paths.ROOT_ENV, str(tree))
    assert paths.project_root() == tree.resolve()
    assert paths.models_dir() == tree.resolve() / "models"
    assert paths.experiments_dir() == tree.resolve() / "experiments"
    assert paths.evidence_file() == tree.resolve() / "experiments" / "data" / "evidence.csv"


def test_secretome_root_without_data_is_an_error(tree, monkeypatch):
    (tree / "experiments").rmdir()
    monkeypatch.setenv(paths.ROOT_ENV, str(tree))
    with pytest.raises(SecretomeError, match="models/ and experiments/") as error:
        paths.models_dir()
    assert str(tree.resolve()) in str(error.value)


@pytest.mark.parametrize("value", [None, ""])
def test_without_secretome_root_the_installed_data_are_used(value, monkeypatch):
    if value is None:
        monkeypatch.delenv(paths.ROOT_ENV, raising=False)
    else:
        monkeypatch.setenv(paths.ROOT_ENV, value)  # set but empty counts as unset
    shipped = resources.files("secretome") / paths.SHIPPED
    # An editable install (a checkout) has no shipped copy and reads the repository.
    expected = shipped if shipped.is_dir() else Path(paths.__file__).resolve().parents[2]
    assert paths.project_root() == expected
    assert (paths.models_dir() / "functions.ant").is_file()
    assert (paths.experiments_dir() / "fit.toml").is_file()
    assert paths.evidence_file().is_file()


def test_papers_beside_the_development_tree(tree, monkeypatch):
    monkeypatch.delenv(paths.PAPERS_ENV, raising=False)
    monkeypatch.setenv(paths.ROOT_ENV, str(tree))
    assert paths.papers_dir() == tree.resolve().parent / "shared" / "papers"
    monkeypatch.setenv(paths.PAPERS_ENV, str(tree / "papers"))
    assert paths.papers_dir() == tree / "papers"


def test_secretome_models_selects_another_model_directory(monkeypatch, tmp_path):
    import shutil

    from secretome import model
    from secretome.errors import SecretomeError
    from secretome.paths import models_dir, project_root

    other = tmp_path / "models"
    shutil.copytree(project_root() / "models", other)
    receptors = other / "receptors.ant"
    receptors.write_text(receptors.read_text() + "\nspecies marker_of_copy = 1;\n")
    monkeypatch.setenv("SECRETOME_MODELS", str(other))
    assert models_dir() == other.resolve()
    assert "marker_of_copy" in model.load_model().species
    monkeypatch.setenv("SECRETOME_MODELS", str(other / "nope"))
    with pytest.raises(SecretomeError, match=r"SECRETOME_MODELS=.*is not a directory"):
        models_dir()
    monkeypatch.delenv("SECRETOME_MODELS")
    assert "marker_of_copy" not in model.load_model().species

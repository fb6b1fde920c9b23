"""Issue 16, items 1 and 13: the compiled-model cache says when it compiles, and a
damaged cache is removed and rebuilt instead of breaking every later run.

The fast tests drive :func:`secretome.compiled.build_module` with a one-function
model (compiled in well under a second); the slow test does the same to the real
model through the command line (two compiles, 1-3 min).
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pandas as pd
import pytest

from secretome import compiled

TINY = """
@njit(cache=True)
def twice(x):
    return 2.0 * x
"""


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """A fresh module source in a fresh cache directory; ``load()`` imports it as a new
    process would (forgetting the module this process already imported)."""
    monkeypatch.setenv("SECRETOME_CACHE_DIR", str(tmp_path))
    source = f"# {uuid.uuid4().hex}\n{TINY}"
    names: list[str] = []

    def load():
        for name in names:
            sys.modules.pop(name, None)
        module = compiled.build_module(source, warm_up=lambda m: m.twice(2.0))
        names.append(module.__name__)
        return module

    yield load, tmp_path
    for name in names:
        sys.modules.pop(name, None)


def _nb_files(directory, suffix):
    return sorted((directory / "__pycache__").glob(f"*.{suffix}"))


def test_first_compile_says_so_once(tiny, capsys):
    load, cache = tiny
    assert load().twice(3.0) == 6.0
    err = capsys.readouterr().err
    assert err.strip() == compiled.COMPILE_NOTICE.format(where=cache)
    assert _nb_files(cache, "nbi")
    assert load().twice(3.0) == 6.0
    assert capsys.readouterr().err == ""  # loaded from the cache: nothing to say


@pytest.mark.parametrize("damage", ["truncate nbc", "empty nbc", "garble nbi"])
def test_a_damaged_cache_is_rebuilt_with_one_line(tiny, capsys, damage):
    load, cache = tiny
    load()
    capsys.readouterr()
    if damage == "garble nbi":
        for f in _nb_files(cache, "nbi"):
            f.write_bytes(b"garbage\n")
    else:
        for f in _nb_files(cache, "nbc"):
            f.write_bytes(f.read_bytes()[:10] if damage == "truncate nbc" else b"")
    assert load().twice(4.0) == 8.0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith(f"secretome: the compiled-model cache in {cache} could not be read")
    assert "compiling again" in err[0]
    assert load().twice(5.0) == 10.0  # repaired: the next process loads quietly
    assert capsys.readouterr().err == ""


def test_an_error_without_a_cache_is_not_mistaken_for_damage(tmp_path, monkeypatch):
    monkeypatch.setenv("SECRETOME_CACHE_DIR", str(tmp_path))

    def fails(module):
        raise ValueError("a bug, not a cache")

    with pytest.raises(ValueError, match="a bug, not a cache"):
        compiled.build_module(f"# {uuid.uuid4().hex}\n{TINY}", warm_up=fails)


@pytest.mark.slow
def test_real_model_recovers_from_a_truncated_cache(tmp_path):
    env = {**os.environ, "SECRETOME_CACHE_DIR": str(tmp_path / "cache")}

    def simulate(out):
        args = ["simulate", "mirfendereski2024_AGS", "--out", str(tmp_path / out)]
        return subprocess.run(
            [sys.executable, "-m", "secretome.cli", *args],
            capture_output=True,
            text=True,
            env=env,
            check=False,
        )

    first = simulate("a")
    assert first.returncode == 0, first.stderr
    assert "compiling the model for this machine, once" in first.stderr
    for f in (tmp_path / "cache" / "__pycache__").glob("*.nbc"):
        f.write_bytes(f.read_bytes()[:20])
    second = simulate("b")
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    assert "could not be read" in second.stderr
    a = pd.read_csv(tmp_path / "a" / "observables.csv")
    b = pd.read_csv(tmp_path / "b" / "observables.csv")
    pd.testing.assert_frame_equal(a, b)

"""Identifiability: the classification rules, and the checks on a real small problem."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import least_squares

from secretome import identifiability as ident
from secretome import objective
from secretome.errors import SecretomeError


def _profile(key: str, deltas_left, deltas_right) -> pd.DataFrame:
    left = [(-(i + 1) * 0.5, d) for i, d in enumerate(deltas_left)]
    right = [((i + 1) * 0.5, d) for i, d in enumerate(deltas_right)]
    rows = [(key, off, d) for off, d in [*left, (0.0, 0.0), *right]]
    return pd.DataFrame(rows, columns=["key", "offset", "delta"])


def test_classification_rules():
    profiles = pd.concat(
        [
            _profile("both", [3.0, 10.0], [2.5, 8.0]),
            _profile("one_side", [0.5, 1.0], [5.0, 20.0]),
            _profile("flat", [0.0, 1e-6], [0.0, 0.0]),
        ]
    )
    classes = ident.classify(profiles).set_index("key")["class"]
    assert classes["both"] == "identifiable"
    assert classes["one_side"] == "practically non-identifiable"
    assert classes["flat"] == "structurally non-identifiable"


def test_threshold_is_the_95_percent_chi2_on_half_the_sum_of_squares():
    assert ident.THRESHOLD == pytest.approx(3.841 / 2, rel=1e-3)


@pytest.fixture(scope="module")
def small():
    """farahzadi2024 only: IL-2 secretion is seen by ELISA; an A431-only weight is not."""
    config = dataclasses.replace(
        objective.load_fit_config(),
        parameters=("sec_IL2[rat_bone_marrow]", "w_prol_ERK[A431]"),
        max_nfev=3,
    )
    obj = objective.Objective(config, ["farahzadi2024"])
    return config, obj.space.nominal


@pytest.fixture(scope="module")
def small_optimum(small):
    """The small problem's optimum: profiles start from a best point."""
    config, x = small
    obj = objective.Objective(config, ["farahzadi2024"])
    sol = least_squares(obj.residuals, x, bounds=(obj.space.lower, obj.space.upper), xtol=1e-10)
    return config, sol.x


def test_jacobian_sees_a_parameter_that_no_data_reach(small):
    config, x = small
    jac = ident.jacobian_check(config, x, ["farahzadi2024"]).set_index("key")
    assert jac.loc["sec_IL2[rat_bone_marrow]", "column_norm"] > 1e-3
    assert jac.loc["w_prol_ERK[A431]", "column_norm"] == 0.0


def test_profiles_separate_an_informed_from_an_uninformed_parameter(small_optimum):
    config, x = small_optimum
    keys = ["sec_IL2[rat_bone_marrow]", "w_prol_ERK[A431]"]
    with pytest.warns(ident.CoarseProfileWarning):  # 2 points a side cannot classify
        profiles = ident.profile(
            config, x, studies=["farahzadi2024"], parameters=keys, max_steps=2, max_nfev=2
        )
    assert set(profiles["key"]) == set(keys)
    assert np.isfinite(profiles["cost"]).all()
    classes = ident.classify(profiles).set_index("key")["class"]
    assert classes["w_prol_ERK[A431]"] == "structurally non-identifiable"
    assert classes["sec_IL2[rat_bone_marrow]"] != "structurally non-identifiable"


# --- profiles on a problem with a known answer -----------------------------------------


@dataclasses.dataclass
class _Space:
    keys: list
    lower: np.ndarray
    upper: np.ndarray


class LinearProblem:
    """r = A x − b: every profile is an exact parabola, Δ = ½ (x_k − x̂_k)² / C_kk with
    C = (AᵀA)⁻¹, so the 95 % interval is x̂_k ± √(2·1.92·C_kk). Parameter ``flat``
    reaches no residual. ``interrupt_after`` raises KeyboardInterrupt on that call,
    as Ctrl-C would."""

    def __init__(self, interrupt_after: int | None = None):
        rng = np.random.default_rng(1)
        self.A = np.c_[rng.normal(size=(12, 2)), np.zeros(12)]
        self.b = rng.normal(size=12)
        self.space = _Space(["a", "b", "flat"], np.full(3, -6.0), np.full(3, 6.0))
        self.calls = 0
        self.interrupt_after = interrupt_after

    def residuals(self, x):
        self.calls += 1
        if self.interrupt_after is not None and self.calls == self.interrupt_after:
            raise KeyboardInterrupt
        return self.A @ x - self.b

    def best(self) -> np.ndarray:
        x = np.zeros(3)
        x[:2] = np.linalg.lstsq(self.A[:, :2], self.b, rcond=None)[0]
        return x


def test_a_quadratic_profile_is_identifiable_with_the_analytic_interval():
    problem = LinearProblem()
    best = problem.best()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ident.CoarseProfileWarning)  # the defaults suffice
        profiles = ident.profile(problem, best, parameters=["a", "b"])
    assert profiles.attrs["not_converged"] == 0 and profiles.attrs["warnings"] == []
    classes = ident.classify(profiles).set_index("key")
    assert (classes["class"] == "identifiable").all()
    cov = np.linalg.inv(problem.A[:, :2].T @ problem.A[:, :2])
    half = np.sqrt(2 * ident.THRESHOLD * np.diag(cov))
    np.testing.assert_allclose(classes.loc[["a", "b"], "ci_lower"], best[:2] - half, atol=1e-5)
    np.testing.assert_allclose(classes.loc[["a", "b"], "ci_upper"], best[:2] + half, atol=1e-5)
    # the adaptive step keeps every accepted rise per step below threshold / 2
    for _, g in profiles.groupby(["key", "side"]):
        rises = np.diff(g.sort_values("offset", key=abs)["delta"].to_numpy())
        assert (rises <= ident.THRESHOLD / 2 + 1e-9).all()


def test_a_parameter_no_residual_sees_is_structurally_non_identifiable():
    problem = LinearProblem()
    profiles = ident.profile(problem, problem.best(), parameters=["flat"])
    row = ident.classify(profiles).set_index("key").loc["flat"]
    assert row["class"] == "structurally non-identifiable"
    assert set(ident.profile_summary(profiles)["stop"]) == {"bound"}  # walked to both bounds
    assert (ident.profile_summary(profiles)["points"] >= 4).all()


def test_coarse_settings_warn():
    problem = LinearProblem()
    with pytest.warns(ident.CoarseProfileWarning, match="not reached within max_steps = 2"):
        ident.profile(problem, problem.best(), parameters=["a"], step=0.01, max_steps=2)
    with pytest.warns(ident.CoarseProfileWarning, match="stopped at span"):
        ident.profile(problem, problem.best(), parameters=["a"], span=0.05)
    with pytest.warns(ident.CoarseProfileWarning, match="before converging"):
        ident.profile(problem, problem.best(), parameters=["a"], max_nfev=1)


def test_an_interrupted_profile_resumes_to_the_uninterrupted_result(tmp_path):
    keys = ["a", "b"]
    whole = ident.profile(LinearProblem(), LinearProblem().best(), parameters=keys)
    cut = LinearProblem(interrupt_after=40)  # somewhere inside the first walks
    with pytest.raises(KeyboardInterrupt):
        ident.profile(cut, cut.best(), parameters=keys, out=tmp_path)
    written = sorted(tmp_path.glob("points/*/*.json"))
    assert written, "no point was written before the interrupt"
    kept = {p: p.read_text() for p in written}
    with pytest.raises(SecretomeError, match="--resume"):
        ident.profile(LinearProblem(), cut.best(), parameters=keys, out=tmp_path)
    resumed = ident.profile(
        LinearProblem(), LinearProblem().best(), parameters=keys, out=tmp_path, resume=True
    )
    pd.testing.assert_frame_equal(resumed, whole)
    for path, text in kept.items():  # finished points were not redone
        assert path.read_text() == text
    # another setting is another profile: its points are not mixed in
    with pytest.raises(SecretomeError, match="different profile"):
        ident.profile(
            LinearProblem(),
            LinearProblem().best(),
            parameters=keys,
            step=0.2,
            out=tmp_path,
            resume=True,
        )


def test_sigterm_stops_a_profile_that_resumes_from_its_points(tmp_path):
    """`secretome profile` on a real (small) fit: SIGTERM after the first point is on
    disk ends it like Ctrl-C (exit 130, no traceback), and --resume finishes it
    without redoing a finished point."""
    import signal
    import subprocess
    import sys
    import time

    from secretome import fitting

    config = dataclasses.replace(
        objective.load_fit_config(), parameters=("sec_IL2[rat_bone_marrow]",), max_nfev=5
    )
    fit_dir = tmp_path / "fit"
    result = fitting.fit(config, studies=["farahzadi2024"], starts=1, out=fit_dir)
    fitting.parameters_table(result).to_csv(fit_dir / "best_parameters.csv", index=False)
    out = tmp_path / "profiles"
    args = [sys.executable, "-m", "secretome.cli", "profile", str(fit_dir), "--out", str(out)]
    args += ["--params", "sigma_annexin", "--max-nfev", "5", "--step", "0.02", "--workers", "1"]
    err_file = (tmp_path / "stderr.txt").open("w")  # a file: an undrained pipe can block
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=err_file, text=True)
    deadline = time.monotonic() + 300
    while not list(out.glob("points/*/*.json")) and proc.poll() is None:
        assert time.monotonic() < deadline, "no profile point was written"
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=60)
    err_file.close()
    stderr = (tmp_path / "stderr.txt").read_text()
    assert code == 130, stderr[-500:]
    assert "interrupted" in stderr and "Traceback" not in stderr
    kept = {p: p.read_text() for p in out.glob("points/*/*.json")}
    assert not (out / "profiles.csv").exists()
    done = subprocess.run([*args, "--resume"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr[-500:]
    for path, text in kept.items():
        assert path.read_text() == text
    table = pd.read_csv(out / "profiles.csv")
    assert len(table) > len(kept) // 2 and (table["key"] == "sigma_annexin").all()
    assert (out / "identifiability.csv").is_file() and (out / "profile_walks.csv").is_file()

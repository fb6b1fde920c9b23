"""The posterior sampler (secretome.sampling) on densities with known answers.

The analytic posteriors go through the same code path as the calibration
problem's: ``sample`` -> evaluator (serial, pool or Dask) -> ``log_posterior``.
Tolerances are Monte-Carlo errors computed from ArviZ's effective sample size.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from secretome import sampling
from secretome.cli import main
from secretome.errors import SecretomeError

MEAN = (0.5, -1.0)
COV = ((1.0, 0.6), (0.6, 2.0))


def _gaussian(keys=None):
    return sampling.GaussianPosterior(MEAN, COV, [-30.0, -30.0], [30.0, 30.0], keys or [])


def _start(posterior, walkers=16, seed=1):
    # a ball near the centre of the box, away from the truth: the sampler must move
    rng = np.random.default_rng(seed)
    return rng.normal(0.0, 0.5, size=(walkers, len(posterior.keys)))


def test_gaussian_mean_and_covariance_within_monte_carlo_error():
    post = _gaussian()
    chains = sampling.sample(post, _start(post), 1000, seed=3)
    burn = 200
    diag = sampling.diagnostics(chains, burn).set_index("key")
    x = chains.chain[burn:].reshape(-1, 2)
    sd = np.sqrt(np.diag(COV))
    for j, key in enumerate(post.keys):
        ess = diag.loc[key, "ess_bulk"]
        assert ess > 200, "too few effective draws for the check to mean anything"
        assert diag.loc[key, "r_hat"] < 1.01  # Vehtari et al. 2021's threshold
        # mean: MC error sd/sqrt(ESS); variance of a normal: var*sqrt(2/ESS)
        assert abs(x[:, j].mean() - MEAN[j]) < 4 * sd[j] / math.sqrt(ess)
        assert abs(x[:, j].var() - COV[j][j]) < 4 * COV[j][j] * math.sqrt(2 / ess)
    ess = diag.loc[post.keys, "ess_bulk"].min()
    cov = np.cov(x.T)[0, 1]
    # covariance of a bivariate normal: Var(x0 x1) = s00 s11 + s01^2
    se = math.sqrt((COV[0][0] * COV[1][1] + COV[0][1] ** 2) / ess)
    assert abs(cov - COV[0][1]) < 4 * se


def test_two_separated_modes_are_both_found_with_their_weights():
    weights = (0.3, 0.7)
    post = sampling.MixturePosterior(
        ((-4.0, -4.0), (4.0, 4.0)), 0.5, weights, [-10.0, -10.0], [10.0, 10.0]
    )
    x0, labels = sampling.initial_walkers(post, 32, seed=0)  # prior draws only
    assert (labels == -1).all()
    chains = sampling.sample(post, x0, 1500, seed=0, moves="de")
    burn = 300
    in_second = (chains.chain[burn:, :, 0] > 0).astype(float)  # (steps, walkers)
    import arviz as az

    ess = float(az.ess(in_second.T))
    share = in_second.mean()
    assert 0 < share < 1, "one mode was never visited"
    se = math.sqrt(weights[1] * weights[0] / ess)
    assert abs(share - weights[1]) < 4 * se + 0.02


def test_stretch_moves_keep_the_weights_they_started_with():
    # why "de" is the default: stretch moves do not carry walkers across modes
    post = sampling.MixturePosterior(
        ((-4.0, -4.0), (4.0, 4.0)), 0.5, (0.3, 0.7), [-10.0, -10.0], [10.0, 10.0]
    )
    rng = np.random.default_rng(0)
    x0 = np.vstack([rng.normal(-4, 0.5, (8, 2)), rng.normal(4, 0.5, (8, 2))])
    chains = sampling.sample(post, x0, 400, seed=0, moves="stretch")
    assert (chains.chain[-1, :, 0] > 0).sum() == 8


def test_resumed_chain_equals_uninterrupted(tmp_path):
    post = _gaussian()
    x0 = _start(post)
    whole = sampling.sample(post, x0, 60, seed=7, out=tmp_path / "whole", checkpoint_every=10)

    def kill_at_37(done, total, acceptance):
        if done == 37:
            raise KeyboardInterrupt

    run = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        sampling.sample(post, x0, 60, seed=7, out=run, checkpoint_every=10, progress=kill_at_37)
    kept = sampling.load_checkpoint(run / sampling.CHECKPOINT)
    assert kept["chain"].shape[0] == 37  # the interrupt kept every finished step
    resumed = sampling.sample(post, x0, 60, seed=7, out=run, resume=True, checkpoint_every=10)
    np.testing.assert_array_equal(resumed.chain, whole.chain)
    np.testing.assert_array_equal(resumed.log_prob, whole.log_prob)
    np.testing.assert_array_equal(resumed.accepted, whole.accepted)

    # a run stopped at a periodic checkpoint and extended with more steps: the same
    short = tmp_path / "short"
    sampling.sample(post, x0, 30, seed=7, out=short, checkpoint_every=10)
    longer = sampling.sample(post, x0, 60, seed=7, out=short, resume=True)
    np.testing.assert_array_equal(longer.chain, whole.chain)


def test_serial_pool_and_dask_give_the_same_draws():
    post = _gaussian()
    x0 = _start(post)
    serial = sampling.sample(post, x0, 25, seed=11)
    pool = sampling.sample(post, x0, 25, seed=11, workers=2)
    np.testing.assert_array_equal(serial.chain, pool.chain)
    np.testing.assert_array_equal(serial.log_prob, pool.log_prob)
    distributed = pytest.importorskip("dask.distributed")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2) as client:
        dask = sampling.sample(post, x0, 25, seed=11, scheduler=client)
    np.testing.assert_array_equal(serial.chain, dask.chain)


def test_other_seed_gives_other_draws():
    post = _gaussian()
    a = sampling.sample(post, _start(post), 10, seed=1)
    b = sampling.sample(post, _start(post), 10, seed=2)
    assert not np.array_equal(a.chain, b.chain)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"initial": np.zeros((3, 2))}, "need an even number of at least 4"),
        ({"initial": np.zeros((5, 2))}, "need an even number"),
        ({"initial": np.zeros((4, 3))}, "shape"),
        ({"initial": np.full((4, 2), 99.0)}, "walker 0 starts outside the prior: x0"),
        ({"steps": 0}, "steps must be"),
        ({"seed": -1}, "seed must be"),
        ({"moves": "gibbs"}, "moves 'gibbs' unknown"),
        ({"resume": True}, "--resume needs --out"),
        ({"workers": 0}, "workers must be"),
    ],
)
def test_bad_input_is_refused_before_sampling(change, message):
    post = _gaussian()
    kwargs = {"initial": _start(post, walkers=4), "steps": 5} | change
    with pytest.raises(SecretomeError, match=message):
        sampling.sample(post, **kwargs)


def test_checkpoints_are_not_overwritten_or_mixed_up(tmp_path):
    post = _gaussian()
    x0 = _start(post, walkers=4)
    sampling.sample(post, x0, 5, seed=0, out=tmp_path)
    with pytest.raises(SecretomeError, match="pass --resume to continue it, --restart"):
        sampling.sample(post, x0, 5, seed=0, out=tmp_path)
    with pytest.raises(SecretomeError, match="belongs to a different run"):
        sampling.sample(post, x0, 5, seed=1, out=tmp_path, resume=True)
    with pytest.raises(SecretomeError, match="holds 5 steps already"):
        sampling.sample(post, x0, 3, seed=0, out=tmp_path, resume=True)
    again = sampling.sample(post, x0, 3, seed=1, out=tmp_path, restart=True)
    assert again.steps == 3
    fresh = sampling.sample(post, x0, 5, seed=0, out=tmp_path / "empty", resume=True)
    assert fresh.steps == 5  # --resume with nothing to continue starts afresh, as fit does
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / sampling.CHECKPOINT).write_text("not a checkpoint")
    with pytest.raises(SecretomeError, match="not a chain checkpoint"):
        sampling.sample(post, x0, 5, out=tmp_path / "bad", resume=True)


def _chains(steps, walkers, keys):
    rng = np.random.default_rng(0)
    return sampling.Chains(
        keys=keys,
        chain=rng.normal(size=(steps, walkers, len(keys))),
        log_prob=rng.normal(size=(steps, walkers)),
        accepted=np.zeros(walkers),
        initial=np.zeros((walkers, len(keys))),
        seed=0,
        moves="de",
        evaluations=0,
        seconds=0.0,
    )


@settings(max_examples=40, deadline=None)
@given(
    steps=st.integers(1, 30),
    walkers=st.integers(1, 6),
    burn=st.integers(0, 40),
    thin=st.integers(1, 7),
)
def test_retained_draws_are_every_thin_th_step_after_burn_in(steps, walkers, burn, thin):
    chains = _chains(steps, walkers, ["a", "sigma_b"])
    if burn >= steps:
        with pytest.raises(SecretomeError, match="leaves no draws"):
            chains.draws(burn, thin)
        return
    table = sampling.posterior_table(chains, burn, thin)
    kept = range(burn, steps, thin)
    assert len(table) == len(kept) * walkers
    assert list(table.columns) == ["draw", "chain", "log_posterior", "a", "noise:sigma_b"]
    first = chains.chain[burn]
    np.testing.assert_allclose(table["a"].to_numpy()[:walkers], 10.0 ** first[:, 0])
    np.testing.assert_array_equal(table["chain"].to_numpy()[:walkers], np.arange(walkers))


def test_initial_walkers_cover_every_optimum_and_stay_in_bounds():
    post = sampling.MixturePosterior(((0.0, 0.0), (1.0, 1.0)), 0.1, (0.5, 0.5), [0, 0], [1, 1])
    starts = pd.DataFrame(
        {
            "start": [0, 1, 2, 3],
            "cost": [5.0, 5.01, 9.0, float("nan")],
            "x:x0": [0.0, 0.01, 1.0, 0.5],
            "x:x1": [0.0, 0.02, 1.0, 0.5],
        }
    )
    optima = sampling.distinct_optima(starts, post.keys)
    assert optima["optimum"].tolist() == [0, 0, 1]  # NaN cost dropped
    x, labels = sampling.initial_walkers(post, 20, seed=0, optima=optima, prior_fraction=0.2)
    assert (labels == -1).sum() == 4
    assert (labels == 0).sum() == (labels == 1).sum() == 8
    assert ((x >= 0) & (x <= 1)).all()
    np.testing.assert_array_equal(
        sampling.nearest_optimum(x[labels >= 0], optima, post.keys), labels[labels >= 0]
    )
    with pytest.raises(SecretomeError, match="lacks column"):
        sampling.distinct_optima(starts.drop(columns="x:x1"), post.keys)


def test_secretome_posterior_is_the_negative_log_likelihood_plus_the_prior():
    from secretome.objective import Objective, load_fit_config

    config = load_fit_config()
    post = sampling.SecretomePosterior(config)
    obj = Objective(config)
    x = obj.space.nominal.clip(obj.space.lower, obj.space.upper)
    expected = -obj.neg_log_likelihood(x) - np.sum(np.log(obj.space.upper - obj.space.lower))
    assert sampling.log_posterior(post, x) == pytest.approx(expected, rel=1e-12)
    assert post.keys == obj.space.keys
    outside = x.copy()
    outside[0] = obj.space.upper[0] + 1
    assert sampling.log_posterior(post, outside) == -math.inf


def test_cli_refuses_bad_input_with_exit_2(tmp_path, capsys):
    code = main(["sample", "--init", str(tmp_path / "nofit"), "--out", str(tmp_path / "s")])
    assert code == 2
    assert "starts.csv: not found" in capsys.readouterr().err
    code = main(["sample", "--walkers", "8", "--out", str(tmp_path / "s")])
    assert code == 2
    assert "--walkers 8: need an even number of at least" in capsys.readouterr().err
    code = main(["sample", "--steps", "4", "--burn-in", "4", "--out", str(tmp_path / "s")])
    assert code == 2
    assert "--burn-in 4 leaves no draws" in capsys.readouterr().err
    assert not (tmp_path / "s").exists()


def test_written_sample_has_the_ensemble_format_and_valid_provenance(tmp_path):
    import tomllib

    from secretome.sampling_report import write_sample

    post = _gaussian(keys=["k_a[ctx]", "sigma_b"])
    chains = sampling.sample(post, _start(post, walkers=8), 40, seed=0, out=tmp_path)
    starts = pd.DataFrame(
        {"start": [0, 1], "cost": [1.0, 5.0], "x:k_a[ctx]": [0.5, -5], "x:sigma_b": [-1.0, 5]}
    )
    optima = sampling.distinct_optima(starts, post.keys)
    done = write_sample(
        chains,
        tmp_path,
        burn_in=20,
        thin=5,
        command="secretome sample --test",
        settings={"init": "test"},
        optima=optima,
        start_labels=np.zeros(8, dtype=int),
    )
    table = pd.read_csv(tmp_path / "posterior.csv")
    assert list(table.columns) == [
        "draw", "chain", "log_posterior", "k_a[ctx]", "noise:sigma_b"
    ]  # fmt: skip
    assert len(table) == 4 * 8
    assert (table["noise:sigma_b"] > 0).all()  # linear units
    prov = tomllib.loads((tmp_path / "posterior.toml").read_text())
    assert prov["steps"] == 40 and prov["burn_in"] == 20 and prov["thin"] == 5
    assert prov["draws"] == 32 and prov["versions"]["emcee"]
    diag = pd.read_csv(tmp_path / "diagnostics.csv")
    assert {"r_hat", "ess_bulk", "ess_tail"} <= set(diag.columns)
    assert done.modes["walkers_started"].tolist() == [8, 0]
    for name in ("corner.png", "trace.png", "modes.csv", sampling.CHECKPOINT):
        assert (tmp_path / name).is_file()


@pytest.mark.slow
def test_serial_and_pool_give_the_same_draws_on_the_calibration_posterior():
    from secretome.objective import load_fit_config

    post = sampling.SecretomePosterior(load_fit_config())
    x0, _ = sampling.initial_walkers(post, 2 * len(post.keys), seed=0)
    serial = sampling.sample(post, x0, 2, seed=0)
    pool = sampling.sample(post, x0, 2, seed=0, workers=2)
    np.testing.assert_array_equal(serial.chain, pool.chain)
    np.testing.assert_array_equal(serial.log_prob, pool.log_prob)

"""Posterior sampling: an ensemble of parameter sets the evidence supports.

:func:`sample` runs emcee's affine-invariant ensemble sampler (Foreman-Mackey et
al. 2013, doi:10.1086/670067) on a posterior over the fitted parameters in log10
units. The choice of emcee over pyPESTO's adaptive parallel tempering and dynesty's
nested sampling was measured on this problem (``docs/sampling.md``).

The posterior of the calibration problem (:class:`SecretomePosterior`) is

    log p(x | data) = -NLL(x) + log prior(x) + const,

NLL the full negative log-likelihood of
:meth:`~secretome.objective.Objective.neg_log_likelihood` (noise parameters
``sigma_*``, where the configuration estimates them, are coordinates of ``x`` and
their log-normal priors are inside the NLL), the prior uniform in log10 units within
the bounds (log-uniform in linear units): ``models/parameters.csv`` has no prior
column, so no parameter has a literature prior.

Moves: ``"de"`` (default) mixes differential-evolution moves (ter Braak 2006,
doi:10.1007/s11222-006-8769-1) with a 10 % share of γ = 1 jumps, which carry a
walker from one mode to another exactly by the difference of two walkers in
different modes, and snooker moves (ter Braak & Vrugt 2008,
doi:10.1007/s11222-008-9104-9); ``"stretch"`` is emcee's default
(Goodman & Weare 2010, doi:10.2140/camcos.2010.5.65), which cannot jump between
well-separated modes.

Checkpoints: the chain, the log posterior, the acceptance counts and the state of
the random generator are written atomically to ``OUT/chain.npz`` every
``checkpoint_every`` steps and when the run is interrupted. A resumed run
continues from the last checkpoint and gives the same draws, bit for bit, as an
uninterrupted run with the same seed. Log posteriors are evaluated in this
process, on a local process pool or on Dask (:mod:`secretome.parallel`); they do
not depend on where they ran, so neither do the draws.

Analytic densities (:class:`GaussianPosterior`, :class:`MixturePosterior`) go
through the same code path and test it against known answers.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from secretome import parallel
from secretome.errors import SecretomeError
from secretome.io import atomic_write_with, check_output_dir

if TYPE_CHECKING:  # imported where used: workers sampling analytic densities skip the model
    from secretome.objective import FitConfig, Objective

#: Move sets :func:`sample` offers (``docs/sampling.md`` compares them).
MOVES = ("de", "stretch")
#: Name of the checkpoint file in the output directory.
CHECKPOINT = "chain.npz"
#: Prefix of noise-parameter columns in ``posterior.csv``.
NOISE_PREFIX = "noise:"


class Posterior(Protocol):
    """What :func:`sample` needs: named coordinates, a box prior, a log-likelihood.

    Implementations must be picklable (they travel to worker processes) and
    deterministic (the same ``x`` gives the same value anywhere)."""

    keys: list[str]
    lower: np.ndarray
    upper: np.ndarray

    def log_likelihood(self, x: np.ndarray) -> float: ...

    def describe(self) -> dict[str, Any]: ...


def log_prior(posterior: Posterior, x: np.ndarray) -> float:
    """Uniform prior in the box ``[lower, upper]`` (log10 units): normalised, -inf outside."""
    lo, hi = posterior.lower, posterior.upper
    if np.any(x < lo) or np.any(x > hi):
        return -math.inf
    return -float(np.sum(np.log(hi - lo)))


def log_posterior(posterior: Posterior, x: np.ndarray) -> float:
    """Log prior plus log-likelihood; -inf outside the box or where either is not finite."""
    x = np.asarray(x, dtype=float)
    lp = log_prior(posterior, x)
    if not math.isfinite(lp):
        return -math.inf
    ll = float(posterior.log_likelihood(x))
    return lp + ll if math.isfinite(ll) else -math.inf


def _evaluate_chunk(task: tuple[Posterior, np.ndarray]) -> np.ndarray:
    """Log posterior of each row (module level, so that workers can run it)."""
    posterior, points = task
    return np.array([log_posterior(posterior, x) for x in points], dtype=float)


# --- the calibration problem's posterior ---------------------------------------------

_OBJECTIVES: dict[str, Objective] = {}  # one per process and problem: model built once


@dataclass(frozen=True)
class SecretomePosterior:
    """Posterior of the calibration problem over ``config.parameters`` (log10 units).

    Parameters
    ----------
    config : FitConfig
        The calibration (``experiments/fit.toml``): fitted parameters and σ.
    studies : tuple of str, optional
        Restrict the evidence to these studies.

    Notes
    -----
    log-likelihood = -NLL(x) (:meth:`secretome.objective.Objective.neg_log_likelihood`,
    constants included). A failed simulation gives every residual of its scenario
    the configured failure residual, which makes such points improbable rather than
    impossible.
    """

    config: FitConfig
    studies: tuple[str, ...] | None = None
    keys: list[str] = field(init=False, compare=False)
    lower: np.ndarray = field(init=False, compare=False, repr=False)
    upper: np.ndarray = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        space = self.objective().space
        object.__setattr__(self, "keys", space.keys)
        object.__setattr__(self, "lower", space.lower)
        object.__setattr__(self, "upper", space.upper)

    def _cache_key(self) -> str:
        return json.dumps([asdict(self.config), self.studies], sort_keys=True)

    def objective(self) -> Objective:
        """This process's :class:`~secretome.objective.Objective` (built on first use)."""
        from secretome.objective import Objective

        key = self._cache_key()
        if key not in _OBJECTIVES:
            _OBJECTIVES[key] = Objective(self.config, self.studies)
        return _OBJECTIVES[key]

    def log_likelihood(self, x: np.ndarray) -> float:
        """Minus :meth:`~secretome.objective.Objective.neg_log_likelihood`."""
        return -self.objective().neg_log_likelihood(x)

    def describe(self) -> dict[str, Any]:
        """What identifies the problem (for the checkpoint's check on resume)."""
        return {
            "posterior": "secretome",
            "config": asdict(self.config) | {"source": ""},
            "studies": self.studies,
            "keys": self.keys,
        }


# --- analytic densities with known answers (the tests sample them) -------------------


@dataclass(frozen=True)
class GaussianPosterior:
    """A multivariate normal likelihood in a box prior: mean and covariance are known.

    Parameters
    ----------
    mean : sequence of float
    cov : 2-D array-like
        Symmetric positive definite.
    lower, upper : sequence of float
        The prior box; far from the mean, the posterior is the normal itself.
    """

    mean: tuple[float, ...]
    cov: tuple[tuple[float, ...], ...]
    lower: np.ndarray
    upper: np.ndarray
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        d = len(self.mean)
        object.__setattr__(self, "lower", np.asarray(self.lower, dtype=float))
        object.__setattr__(self, "upper", np.asarray(self.upper, dtype=float))
        if not self.keys:
            object.__setattr__(self, "keys", [f"x{i}" for i in range(d)])
        object.__setattr__(self, "_prec", np.linalg.inv(np.asarray(self.cov, dtype=float)))

    def log_likelihood(self, x: np.ndarray) -> float:
        r = np.asarray(x, dtype=float) - np.asarray(self.mean)
        return -0.5 * float(r @ self._prec @ r)  # type: ignore[attr-defined]

    def describe(self) -> dict[str, Any]:
        return {"posterior": "gaussian", "mean": list(self.mean), "cov": list(self.cov)}


@dataclass(frozen=True)
class MixturePosterior:
    """Isotropic normal components with weights, in a box prior: modes and weights known.

    Parameters
    ----------
    means : sequence of sequences
        One mean per component.
    sd : float
        Standard deviation of every component in every coordinate.
    weights : sequence of float
        Component weights (summing to 1).
    lower, upper : sequence of float
        The prior box.
    """

    means: tuple[tuple[float, ...], ...]
    sd: float
    weights: tuple[float, ...]
    lower: np.ndarray
    upper: np.ndarray
    keys: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        object.__setattr__(self, "lower", np.asarray(self.lower, dtype=float))
        object.__setattr__(self, "upper", np.asarray(self.upper, dtype=float))
        if not self.keys:
            object.__setattr__(self, "keys", [f"x{i}" for i in range(len(self.means[0]))])

    def log_likelihood(self, x: np.ndarray) -> float:
        m = np.asarray(self.means, dtype=float)
        d2 = np.sum((np.asarray(x, dtype=float) - m) ** 2, axis=1) / self.sd**2
        terms = np.log(np.asarray(self.weights)) - 0.5 * d2
        top = float(terms.max())
        return top + math.log(float(np.exp(terms - top).sum()))

    def describe(self) -> dict[str, Any]:
        return {
            "posterior": "mixture",
            "means": [list(m) for m in self.means],
            "sd": self.sd,
            "weights": list(self.weights),
        }


# --- where the log posteriors are evaluated ------------------------------------------


class _Evaluator:
    """Evaluate batches of points on one kept-open executor
    (:class:`secretome.parallel.KeptExecutor`: here, a local pool or Dask), each
    batch split into one chunk per worker, and count the evaluations."""

    def __init__(self, posterior: Posterior, workers: int | None, scheduler: Any) -> None:
        self.posterior = posterior
        self.executor = parallel.KeptExecutor(workers, scheduler)
        self.evaluations = 0

    def __enter__(self) -> _Evaluator:
        self.executor.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.executor.__exit__(*exc)

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, dtype=float)
        self.evaluations += len(points)
        n = self.executor.slots or len(points)
        chunks = [c for c in np.array_split(points, min(n, len(points))) if len(c)]
        parts = self.executor.map(_evaluate_chunk, [(self.posterior, c) for c in chunks])
        return np.concatenate(parts)


# --- the sampler ---------------------------------------------------------------------


@dataclass(frozen=True)
class Chains:
    """What :func:`sample` returns: every step of every walker.

    Attributes
    ----------
    keys : list of str
        Coordinate names (``name`` or ``name[context]``; noise parameters ``sigma_*``).
    chain : numpy.ndarray
        Positions, shape (steps, walkers, parameters), log10 units.
    log_prob : numpy.ndarray
        Log posterior of each position, shape (steps, walkers).
    accepted : numpy.ndarray
        Accepted proposals per walker.
    initial : numpy.ndarray
        The walkers' starting positions (walkers, parameters).
    seed : int
    moves : str
    evaluations : int
        Log-posterior evaluations, this run and any it resumed.
    seconds : float
        Wall time, this run and any it resumed.
    out_dir : pathlib.Path or None
    """

    keys: list[str]
    chain: np.ndarray
    log_prob: np.ndarray
    accepted: np.ndarray
    initial: np.ndarray
    seed: int
    moves: str
    evaluations: int
    seconds: float
    out_dir: Path | None = None

    @property
    def steps(self) -> int:
        return int(self.chain.shape[0])

    @property
    def walkers(self) -> int:
        return int(self.chain.shape[1])

    @property
    def acceptance(self) -> float:
        """Mean fraction of proposals accepted."""
        return float(self.accepted.mean() / max(self.steps, 1))

    def draws(self, burn_in: int = 0, thin: int = 1) -> pd.DataFrame:
        """Retained draws as a table: ``draw, chain, log_posterior`` and one column per key.

        Values are log10 (as sampled). Steps ``burn_in`` onwards, every ``thin``-th;
        ``chain`` is the walker, ``draw`` counts rows from 0.
        """
        burn_in, thin = _check_burn_thin(burn_in, thin, self.steps)
        kept = self.chain[burn_in::thin]  # (s, w, d)
        lp = self.log_prob[burn_in::thin]
        s, w, d = kept.shape
        frame = pd.DataFrame(kept.reshape(s * w, d), columns=self.keys)
        frame.insert(0, "log_posterior", lp.reshape(s * w))
        frame.insert(0, "chain", np.tile(np.arange(w), s))
        frame.insert(0, "draw", np.arange(s * w))
        return frame


def _check_burn_thin(burn_in: int, thin: int, steps: int) -> tuple[int, int]:
    for name, value, least in (("burn_in", burn_in, 0), ("thin", thin, 1)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < least:
            raise SecretomeError(f"{name} must be a whole number >= {least}, not {value!r}")
    if burn_in >= steps:
        raise SecretomeError(
            f"burn-in of {burn_in} steps leaves no draws of the {steps} steps sampled; "
            "use a smaller --burn-in or more --steps"
        )
    return int(burn_in), int(thin)


def _emcee_moves(moves: str):
    import emcee

    if moves == "stretch":
        return [(emcee.moves.StretchMove(), 1.0)]
    return [
        (emcee.moves.DEMove(), 0.7),
        (emcee.moves.DEMove(gamma0=1.0), 0.1),  # mode jumps (ter Braak 2006)
        (emcee.moves.DESnookerMove(), 0.2),
    ]


def _problem_hash(posterior: Posterior, initial: np.ndarray, seed: int, moves: str) -> str:
    payload = json.dumps(
        {
            "posterior": posterior.describe(),
            "initial": np.asarray(initial).round(12).tolist(),
            "seed": seed,
            "moves": moves,
        },
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _save_checkpoint(path: Path, state: dict[str, Any]) -> None:
    rng = state["random_state"]
    arrays = {
        "chain": state["chain"],
        "log_prob": state["log_prob"],
        "accepted": state["accepted"],
        "initial": state["initial"],
        "rng_keys": rng[1],
        "rng_meta": np.array([rng[2], rng[3], rng[4]], dtype=float),
        "meta": np.array(
            json.dumps(
                {
                    "problem": state["problem"],
                    "keys": state["keys"],
                    "seed": state["seed"],
                    "moves": state["moves"],
                    "evaluations": state["evaluations"],
                    "seconds": state["seconds"],
                    "rng": rng[0],
                }
            )
        ),
    }
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_with(path, lambda fh: fh.write(buffer.getvalue()))


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a chain checkpoint written by :func:`sample`.

    Returns
    -------
    dict
        ``chain``, ``log_prob``, ``accepted``, ``initial``, ``random_state`` and the
        metadata (``problem``, ``keys``, ``seed``, ``moves``, ``evaluations``, ``seconds``).

    Raises
    ------
    SecretomeError
        The file is missing or is not a checkpoint.
    """
    p = Path(path)
    try:
        with np.load(p, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            rng_meta = f["rng_meta"]
            state = {k: f[k].copy() for k in ("chain", "log_prob", "accepted", "initial")}
            state["random_state"] = (
                meta.pop("rng"),
                f["rng_keys"].copy(),
                int(rng_meta[0]),
                int(rng_meta[1]),
                float(rng_meta[2]),
            )
    except FileNotFoundError:
        raise SecretomeError(f"{p}: no such checkpoint") from None
    except (OSError, ValueError, KeyError) as exc:
        raise SecretomeError(
            f"{p}: not a chain checkpoint of `secretome sample` ({exc})"
        ) from None
    state.update(meta)
    return state


def check_initial(posterior: Posterior, initial: np.ndarray) -> np.ndarray:
    """Refuse starting positions the sampler cannot use; return them as a float array.

    Raises
    ------
    SecretomeError
        Wrong shape, fewer than 2·D walkers (or an odd number), non-finite values or
        a point outside the prior box (naming the walker and the parameter).
    """
    x = np.asarray(initial, dtype=float)
    d = len(posterior.keys)
    if x.ndim != 2 or x.shape[1] != d:
        raise SecretomeError(f"initial walkers have shape {x.shape}; need (walkers, {d})")
    w = x.shape[0]
    if w < 2 * d or w % 2:
        raise SecretomeError(
            f"{w} walkers for {d} parameters: need an even number of at least {2 * d}"
        )
    bad = ~np.isfinite(x) | (x < posterior.lower) | (x > posterior.upper)
    if bad.any():
        i, j = (int(v) for v in np.argwhere(bad)[0])
        raise SecretomeError(
            f"walker {i} starts outside the prior: {posterior.keys[j]} = {x[i, j]!r} "
            f"(log10 bounds {posterior.lower[j]:.4g} .. {posterior.upper[j]:.4g})"
        )
    return x


def sample(
    posterior: Posterior,
    initial: np.ndarray,
    steps: int,
    *,
    seed: int = 0,
    moves: str = "de",
    workers: int | None = 1,
    scheduler: Any = None,
    out: str | Path | None = None,
    resume: bool = False,
    restart: bool = False,
    checkpoint_every: int = 25,
    progress: Callable[[int, int, float], None] | None = None,
) -> Chains:
    """Draw from a posterior with emcee's ensemble sampler, checkpointing as it goes.

    Parameters
    ----------
    posterior : Posterior
        E.g. :class:`SecretomePosterior`; picklable for workers.
    initial : numpy.ndarray
        Starting positions (walkers × parameters, log10), inside the prior box; an
        even number of walkers, at least twice the parameters (:func:`initial_walkers`).
    steps : int
        Total steps per walker (a resumed run samples what is missing).
    seed : int
        Seed of the sampler's random generator; the same seed and start give the
        same draws wherever the log posteriors were evaluated.
    moves : {"de", "stretch"}
        Proposal moves (module docstring).
    workers, scheduler
        Where log posteriors are evaluated (:mod:`secretome.parallel`).
    out : path, optional
        Directory for the checkpoint ``chain.npz``; required for ``resume``.
    resume : bool
        Continue the checkpoint in ``out`` (same posterior, start, seed and moves);
        without one, start afresh (as `secretome fit --resume` does).
    restart : bool
        Discard a checkpoint in ``out`` and start again.
    checkpoint_every : int
        Steps between checkpoints (and one when the run ends or is interrupted).
    progress : callable, optional
        ``progress(done_steps, total_steps, acceptance)`` after every step.

    Returns
    -------
    Chains

    Raises
    ------
    SecretomeError
        Bad settings or starting positions; a checkpoint of another problem, or one
        present without ``resume``/``restart``; all before any sampling.
    """
    import emcee

    for name, value in (("steps", steps), ("checkpoint_every", checkpoint_every)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise SecretomeError(f"{name} must be a whole number of at least 1, not {value!r}")
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise SecretomeError(f"seed must be a whole number >= 0, not {seed!r}")
    if moves not in MOVES:
        raise SecretomeError(f"moves {moves!r} unknown; choose one of {', '.join(MOVES)}")
    if resume and restart:
        raise SecretomeError("--resume and --restart exclude each other")
    if resume and out is None:
        raise SecretomeError("--resume needs --out (where the checkpoint is)")
    initial = check_initial(posterior, initial)
    out_dir = check_output_dir(out, "--out") if out is not None else None
    parallel.check_executor(workers, scheduler)
    problem = _problem_hash(posterior, initial, int(seed), moves)
    walkers, d = initial.shape

    done = None
    ckpt = out_dir / CHECKPOINT if out_dir is not None else None
    if ckpt is not None and ckpt.is_file() and not restart:
        if not resume:
            raise SecretomeError(
                f"{ckpt} holds a chain already; pass --resume to continue it, "
                "--restart to discard it, or choose another --out"
            )
        done = load_checkpoint(ckpt)
        if done["problem"] != problem:
            raise SecretomeError(
                f"{ckpt} belongs to a different run (posterior, starting walkers, seed or "
                "moves changed); use --restart or another --out"
            )

    if done is not None:
        chain = [row for row in done["chain"]]
        lps = [row for row in done["log_prob"]]
        accepted = done["accepted"].astype(np.int64)
        evaluations, seconds = int(done["evaluations"]), float(done["seconds"])
        coords, lp0 = chain[-1], lps[-1]
        rstate = done["random_state"]
    else:
        chain, lps = [], []
        accepted = np.zeros(walkers, dtype=np.int64)
        evaluations, seconds = 0, 0.0
        coords, lp0 = initial, None
        rstate = np.random.RandomState(int(seed)).get_state()
    if len(chain) > steps:
        raise SecretomeError(
            f"{ckpt} holds {len(chain)} steps already, more than --steps {steps}; "
            f"ask for at least {len(chain)}"
        )

    def save(rs) -> None:
        if ckpt is None:
            return
        _save_checkpoint(
            ckpt,
            {
                "chain": np.asarray(chain).reshape(len(chain), walkers, d),
                "log_prob": np.asarray(lps).reshape(len(lps), walkers),
                "accepted": accepted,
                "initial": initial,
                "random_state": rs,
                "problem": problem,
                "keys": list(posterior.keys),
                "seed": int(seed),
                "moves": moves,
                "evaluations": evaluations + ev.evaluations,
                "seconds": seconds + (time.perf_counter() - t0),
            },
        )

    t0 = time.perf_counter()
    with _Evaluator(posterior, workers, scheduler) as ev:
        if lp0 is None:
            lp0 = ev(coords)
            if not np.isfinite(lp0).any():
                raise SecretomeError("every starting walker has log posterior -inf")
        sampler = emcee.EnsembleSampler(walkers, d, ev, moves=_emcee_moves(moves), vectorize=True)
        # emcee wraps the function to print every exception with the walkers' positions;
        # an interrupt or a user error is reported once, by the caller
        sampler.log_prob_fn = ev
        state = emcee.State(
            np.array(coords, dtype=float), log_prob=np.array(lp0), random_state=rstate
        )
        last_rs = rstate
        try:
            remaining = steps - len(chain)
            if remaining > 0:
                for new in sampler.sample(
                    state, iterations=remaining, store=False, skip_initial_state_check=True
                ):
                    moved = np.any(new.coords != coords, axis=1)
                    accepted += moved
                    coords = new.coords.copy()
                    chain.append(coords)
                    lps.append(np.array(new.log_prob, dtype=float))
                    last_rs = new.random_state
                    if len(chain) % checkpoint_every == 0:
                        save(last_rs)
                    if progress is not None:
                        progress(len(chain), steps, float(accepted.mean() / len(chain)))
        except BaseException:
            if chain:
                save(last_rs)  # what is done is kept; a resume continues from here
            raise
        save(last_rs)
        evaluations += ev.evaluations
    seconds += time.perf_counter() - t0
    return Chains(
        keys=list(posterior.keys),
        chain=np.asarray(chain).reshape(len(chain), walkers, d),
        log_prob=np.asarray(lps).reshape(len(lps), walkers),
        accepted=accepted,
        initial=initial,
        seed=int(seed),
        moves=moves,
        evaluations=evaluations,
        seconds=seconds,
        out_dir=out_dir,
    )


# --- starting walkers ----------------------------------------------------------------


def distinct_optima(
    starts: pd.DataFrame,
    keys: Sequence[str],
    tol: float = 0.05,
    defaults: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Group a fit's starts into distinct optima by objective value.

    Parameters
    ----------
    starts : DataFrame
        ``starts.csv`` of `secretome fit`: ``start``, ``cost`` and ``x:<key>`` columns.
    keys : sequence of str
        The parameters, in the sampler's order.
    tol : float
        Starts whose objectives differ by less than this (J units) share an optimum.
    defaults : dict, optional
        Values (log10) for keys the table lacks, e.g. noise parameters of a fit
        made when σ was fixed (their prior medians); other missing keys are refused.

    Returns
    -------
    DataFrame
        ``start``, ``cost`` and ``x:<key>`` columns, plus ``optimum`` (0 for the best).

    Raises
    ------
    SecretomeError
        Missing columns.
    """
    starts = starts.copy()
    for k, v in (defaults or {}).items():
        if f"x:{k}" not in starts:
            starts[f"x:{k}"] = float(v)
    missing = [c for c in ["start", "cost", *(f"x:{k}" for k in keys)] if c not in starts]
    if missing:
        raise SecretomeError(f"starts table lacks column(s) {', '.join(missing)}")
    table = starts.sort_values(["cost", "start"]).reset_index(drop=True)
    table = table[np.isfinite(table["cost"])].reset_index(drop=True)
    optimum, label, anchor = [], -1, -math.inf
    for c in table["cost"]:
        if c - anchor >= tol:
            label, anchor = label + 1, c
        optimum.append(label)
    table["optimum"] = optimum
    return table


def fit_optima(fit_dir: str | Path, posterior: SecretomePosterior) -> pd.DataFrame:
    """The distinct optima among the starts of a `secretome fit` run (``--init``).

    Noise parameters the fit did not estimate (a fit with fixed σ) are set to their
    prior medians.

    Raises
    ------
    SecretomeError
        No readable ``starts.csv`` in ``fit_dir``, or it lacks a model parameter.
    """
    path = Path(fit_dir) / "starts.csv"
    try:
        starts = pd.read_csv(path)
    except FileNotFoundError:
        raise SecretomeError(
            f"{path}: not found; --init takes the --out directory of `secretome fit`"
        ) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SecretomeError(f"{path}: not a readable table ({exc})") from None
    space = posterior.objective().space
    medians = {
        k: float(v)
        for k, v, p in zip(space.keys, space.nominal, space.parameters, strict=True)
        if p.scope == "noise"
    }
    try:
        return distinct_optima(starts, posterior.keys, defaults=medians)
    except SecretomeError as exc:
        raise SecretomeError(f"{path}: {exc}") from None


def initial_walkers(
    posterior: Posterior,
    walkers: int,
    seed: int | np.random.Generator,
    optima: pd.DataFrame | None = None,
    prior_fraction: float = 0.25,
    jitter: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """Starting positions: every distinct optimum equally represented, plus prior draws.

    Parameters
    ----------
    posterior : Posterior
    walkers : int
    seed : int or numpy.random.Generator
    optima : DataFrame, optional
        :func:`distinct_optima` of a fit. Without it every walker is a prior draw.
    prior_fraction : float
        Share of walkers drawn from the prior (uniform in the box), in [0, 1].
    jitter : float
        SD (log10 units) of the normal jitter around each optimum's starts; points
        are reflected back into the box.

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Positions (walkers × parameters) and, per walker, the optimum it started
        from (-1 for prior draws).
    """
    if not 0.0 <= prior_fraction <= 1.0:
        raise SecretomeError(f"prior_fraction must be within [0, 1], not {prior_fraction!r}")
    rng = np.random.default_rng(seed)
    lo, hi = posterior.lower, posterior.upper
    d = len(posterior.keys)
    n_prior = walkers if optima is None or optima.empty else round(walkers * prior_fraction)
    labels = np.full(walkers, -1)
    x = np.empty((walkers, d))
    x[:n_prior] = rng.uniform(lo, hi, size=(n_prior, d))
    if n_prior < walkers:
        cols = [f"x:{k}" for k in posterior.keys]
        groups = sorted(optima["optimum"].unique())
        share = np.array_split(np.arange(n_prior, walkers), len(groups))
        for g, idx in zip(groups, share, strict=True):
            centres = optima.loc[optima["optimum"] == g, cols].to_numpy(dtype=float)
            pick = centres[rng.integers(len(centres), size=len(idx))]
            p = pick + rng.normal(0.0, jitter, size=pick.shape)
            p = np.where(p < lo, 2 * lo - p, p)
            p = np.where(p > hi, 2 * hi - p, p)
            x[idx] = np.clip(p, lo, hi)
            labels[idx] = g
    return x, labels


# --- diagnostics ---------------------------------------------------------------------


def diagnostics(chains: Chains, burn_in: int = 0) -> pd.DataFrame:
    """Convergence per parameter with ArviZ, each walker counted as a chain.

    Parameters
    ----------
    chains : Chains
    burn_in : int
        Steps discarded first.

    Returns
    -------
    DataFrame
        ``key``, ``mean``, ``sd``, ``q05``, ``q50``, ``q95`` (log10 units), ``r_hat``
        (rank-normalised split R-hat, Vehtari et al. 2021, doi:10.1214/20-BA1221),
        ``ess_bulk``, ``ess_tail``, and ``tau`` (emcee's integrated autocorrelation
        time in steps, ensemble-averaged; ``steps × walkers / tau`` is emcee's ESS)
        and a last row ``log_posterior``.

    Notes
    -----
    Walkers of an ensemble are not independent chains; R-hat across walkers is the
    usual check all the same (it falls to 1 only when every walker has explored the
    same distribution). ``tau`` estimated from fewer than 50 τ of steps is a lower bound.
    """
    import emcee

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # ArviZ 0.x announces its refactor
        import arviz as az

    burn_in, _ = _check_burn_thin(burn_in, 1, chains.steps)
    kept = chains.chain[burn_in:]  # (s, w, d)
    lp = chains.log_prob[burn_in:]
    names = [*chains.keys, "log_posterior"]
    values = np.concatenate([kept, lp[:, :, None]], axis=2)  # (s, w, d+1)
    data = {f"v{j}": values[:, :, j].T for j in range(len(names))}  # (chain, draw)
    ds = az.convert_to_dataset(data)
    rhat = az.rhat(ds)
    bulk = az.ess(ds, method="bulk")
    tail = az.ess(ds, method="tail")
    rows = []
    for j, name in enumerate(names):
        v = values[:, :, j]
        # tol=0: no warning for short chains (the docstring states the caveat)
        tau = float(emcee.autocorr.integrated_time(v[:, :, None], tol=0)[0])
        q05, q50, q95 = np.quantile(v, [0.05, 0.5, 0.95])
        rows.append(
            {
                "key": name,
                "mean": float(v.mean()),
                "sd": float(v.std()),
                "q05": float(q05),
                "q50": float(q50),
                "q95": float(q95),
                "r_hat": float(rhat[f"v{j}"]),
                "ess_bulk": float(bulk[f"v{j}"]),
                "ess_tail": float(tail[f"v{j}"]),
                "tau": tau,
            }
        )
    return pd.DataFrame(rows)


def nearest_optimum(x: np.ndarray, optima: pd.DataFrame, keys: Sequence[str]) -> np.ndarray:
    """Per point (rows of ``x``, log10), the optimum of :func:`distinct_optima` it is nearest.

    Distance: Euclidean in log10 units to the nearest start of each optimum.
    """
    cols = [f"x:{k}" for k in keys]
    centres = optima[cols].to_numpy(dtype=float)
    labels = optima["optimum"].to_numpy()
    d2 = ((np.asarray(x)[:, None, :] - centres[None, :, :]) ** 2).sum(axis=2)
    return labels[np.argmin(d2, axis=1)]


def posterior_table(chains: Chains, burn_in: int, thin: int) -> pd.DataFrame:
    """The ensemble file's table: ``draw, chain, log_posterior``, parameters, ``noise:`` columns.

    Parameter values are linear units (10**x); coordinates named ``sigma_*`` are
    noise parameters and get the ``noise:`` prefix, after the model parameters.
    """
    frame = chains.draws(burn_in, thin)
    model_keys = [k for k in chains.keys if not k.startswith("sigma_")]
    noise_keys = [k for k in chains.keys if k.startswith("sigma_")]
    out = frame[["draw", "chain", "log_posterior"]].copy()
    for k in model_keys:
        out[k] = 10.0 ** frame[k].to_numpy()
    for k in noise_keys:
        out[f"{NOISE_PREFIX}{k}"] = 10.0 ** frame[k].to_numpy()
    return out

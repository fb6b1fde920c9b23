"""A variable-order, variable-step BDF integrator compiled with Numba.

The model's right-hand side is compiled by :mod:`secretome.compiled`; this module
integrates it without returning to Python between steps, which is where the time of
an ODE solve goes for a 50-species model once the right-hand side costs well
under a microsecond (``docs/scaling.md``).

The method is the numerical differentiation formula family NDF1–NDF5 of
Shampine & Reichelt (1997), *The MATLAB ODE Suite*, SIAM J. Sci. Comput. 18:1–22,
https://doi.org/10.1137/S1064827594276424: backward-difference form with
quasi-constant step size (the difference array is rescaled when the step
changes), a simplified Newton iteration with an LU factorisation of
``I - c J`` that is kept while the step is unchanged, a finite-difference
Jacobian recomputed only when Newton fails to converge, and order and step
selection from the error estimates of the neighbouring orders. The error is the
root-mean-square norm of the local error weighted by ``atol + rtol |y|``, as in
CVODE and SciPy. Outputs are interpolated from the backward differences.

The integrator calls a module-level ``rhs(t, y, p) -> dy/dt``. Passing it as an
argument instead would stop Numba from caching the compiled code (a function
value is a run-time pointer), and compiling costs about 15 s per process. So
this file is a source template: :func:`secretome.compiled.build_module` writes
it, followed by a model's generated ``rhs`` (which replaces the placeholder
below), into one module that Numba compiles once and caches on disk. Every
function is compiled with ``error_model="numpy"``: a division by zero gives
inf or NaN as in C (and CVODE) instead of raising, and the integrator reports a
non-finite state as a failure.

:func:`integrate` also stops when any state component's magnitude exceeds a
bound (``max_state``): a solution growing without bound is otherwise followed,
accurately and step by step, until it overflows, and near overflow every
integrator stalls instead of failing (a model's caller chooses the bound:
:data:`secretome.model.MAX_STATE`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

MAX_ORDER = 5
NEWTON_MAXITER = 4
# Newton convergence test of CVODE (Hindmarsh et al. 2005, ACM TOMS 31:363-396,
# https://doi.org/10.1145/1089014.1089020, §2.1): converged when the weighted norm
# of the last correction times the estimated convergence rate is below NEWTON_TOL,
# a small fraction of the local error allowed; the rate estimate decays by at
# most CRATE_DOWN per iteration and a correction more than NEWTON_DIVERGENCE times
# the previous one means divergence.
NEWTON_TOL = 0.03
CRATE_DOWN = 0.3
NEWTON_DIVERGENCE = 2.0
# The Newton matrix I - c J is refactorised only when c has changed by more than
# this fraction since the last factorisation (CVODE's DGMAX), or when Newton fails.
MAX_GAMMA_CHANGE = 0.3
MIN_FACTOR = 0.2
MAX_FACTOR = 10.0
EPS = np.finfo(float).eps

#: Returned status codes of :func:`solve`.
SUCCESS = 0
TOO_MANY_STEPS = 1
STEP_TOO_SMALL = 2
NOT_FINITE = 3
CONVERGENCE_FAILURES = 4
ERROR_TEST_FAILURES = 5
BLEW_UP = 6
STATUS_MESSAGES = {
    SUCCESS: "success",
    TOO_MANY_STEPS: "too many steps",
    STEP_TOO_SMALL: "step size fell below the resolution of t",
    NOT_FINITE: "a non-finite initial state or right-hand side",
    CONVERGENCE_FAILURES: "the corrector failed to converge repeatedly",
    ERROR_TEST_FAILURES: "the error test failed repeatedly",
    BLEW_UP: "a state component exceeded the bound on its magnitude: the model blew up",
}
# Failures allowed within one step before giving up (CVODE's MXNCF and MXNEF).
MAX_CONVERGENCE_FAILURES = 10
MAX_ERROR_TEST_FAILURES = 7

# NDF coefficients (Shampine & Reichelt 1997, Table 1): kappa per order; gamma_k =
# sum_{j<=k} 1/j; alpha = (1 - kappa) gamma; error constants kappa gamma + 1/(k+1).
_KAPPA = np.array([0.0, -0.1850, -1.0 / 9.0, -0.0823, -0.0415, 0.0])
_GAMMA = np.concatenate(([0.0], np.cumsum(1.0 / np.arange(1, MAX_ORDER + 1))))
_ALPHA = (1.0 - _KAPPA) * _GAMMA
_ERROR_CONST = _KAPPA * _GAMMA + 1.0 / np.arange(1, MAX_ORDER + 2)


def rhs(t, y, p):  # replaced by the model's own in a built module
    raise NotImplementedError("bdf.py is a template; use secretome.compiled.build_module")


@njit(cache=True, error_model="numpy")
def _rms(x: np.ndarray, scale: np.ndarray, factor: float = 1.0) -> float:
    """Root-mean-square of ``factor * x / scale``."""
    s = 0.0
    for i in range(x.size):
        v = factor * x[i] / scale[i]
        s += v * v
    return np.sqrt(s / x.size)


@njit(cache=True, error_model="numpy")
def _compute_r(order: int, factor: float) -> np.ndarray:
    """The matrix that re-expresses backward differences on a step ``factor`` times
    as long (Shampine & Reichelt 1997, §2.2)."""
    m = np.zeros((order + 1, order + 1))
    for j in range(order + 1):
        m[0, j] = 1.0
    for i in range(1, order + 1):
        for j in range(1, order + 1):
            m[i, j] = (i - 1 - factor * j) / i
    for i in range(1, order + 1):  # cumulative product down the columns
        for j in range(order + 1):
            m[i, j] *= m[i - 1, j]
    return m


@njit(cache=True, error_model="numpy")
def _change_d(d: np.ndarray, order: int, factor: float) -> None:
    """Rescale the difference array in place for a step ``factor`` times as long."""
    ru = _compute_r(order, factor) @ _compute_r(order, 1.0)
    head = d[: order + 1].copy()
    n = d.shape[1]
    for i in range(order + 1):
        for k in range(n):
            s = 0.0
            for j in range(order + 1):
                s += ru[j, i] * head[j, k]
            d[i, k] = s


@njit(cache=True, error_model="numpy")
def _lu_factor(a: np.ndarray, piv: np.ndarray) -> bool:
    """LU with partial pivoting, in place. A reaction network's Jacobian is mostly
    zeros: rows with a zero multiplier are skipped and each update touches only
    the pivot row's nonzeros. Returns False if singular."""
    n = a.shape[0]
    cols = np.empty(n, dtype=np.int64)
    for k in range(n):
        p = k
        big = abs(a[k, k])
        for i in range(k + 1, n):
            if abs(a[i, k]) > big:
                big = abs(a[i, k])
                p = i
        piv[k] = p
        if big == 0.0:
            return False
        if p != k:
            for j in range(n):
                tmp = a[k, j]
                a[k, j] = a[p, j]
                a[p, j] = tmp
        inv = 1.0 / a[k, k]
        nc = 0
        for j in range(k + 1, n):
            if a[k, j] != 0.0:
                cols[nc] = j
                nc += 1
        for i in range(k + 1, n):
            if a[i, k] != 0.0:
                m = a[i, k] * inv
                a[i, k] = m
                for c in range(nc):
                    j = cols[c]
                    a[i, j] -= m * a[k, j]
    return True


@njit(cache=True, error_model="numpy")
def _lu_compress(a: np.ndarray):
    """The nonzeros of a factorised matrix by row: strict lower part, strict upper
    part and the diagonal, so that each solve touches only those (a reaction
    network's Jacobian is mostly zeros and so are its factors)."""
    n = a.shape[0]
    lp = np.zeros(n + 1, dtype=np.int64)
    up = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        nl = 0
        nu = 0
        for j in range(n):
            if a[i, j] != 0.0:
                if j < i:
                    nl += 1
                elif j > i:
                    nu += 1
        lp[i + 1] = lp[i] + nl
        up[i + 1] = up[i] + nu
    li = np.empty(lp[n], dtype=np.int64)
    lv = np.empty(lp[n])
    ui = np.empty(up[n], dtype=np.int64)
    uv = np.empty(up[n])
    diag = np.empty(n)
    for i in range(n):
        kl = lp[i]
        ku = up[i]
        for j in range(n):
            v = a[i, j]
            if v != 0.0:
                if j < i:
                    li[kl] = j
                    lv[kl] = v
                    kl += 1
                elif j > i:
                    ui[ku] = j
                    uv[ku] = v
                    ku += 1
        diag[i] = a[i, i]
    return lp, li, lv, up, ui, uv, diag


@njit(cache=True, error_model="numpy")
def _lu_solve(piv, lp, li, lv, up, ui, uv, diag, b: np.ndarray) -> np.ndarray:
    """Solve with the factors of :func:`_lu_factor` as compressed by :func:`_lu_compress`."""
    n = b.size
    x = b.copy()
    for k in range(n):
        p = piv[k]
        if p != k:
            tmp = x[k]
            x[k] = x[p]
            x[p] = tmp
    for i in range(n):
        s = x[i]
        for k in range(lp[i], lp[i + 1]):
            s -= lv[k] * x[li[k]]
        x[i] = s
    for i in range(n - 1, -1, -1):
        s = x[i]
        for k in range(up[i], up[i + 1]):
            s -= uv[k] * x[ui[k]]
        x[i] = s / diag[i]
    return x


@njit(cache=True, error_model="numpy")
def _fd_jacobian(t, y, p, scale, groups, pat_ptr, pat_idx) -> np.ndarray:
    """Forward-difference Jacobian, one right-hand-side call per column group.

    Columns in one group (``groups[j]``) share no row of the structural pattern
    (``pat_idx[pat_ptr[j]:pat_ptr[j + 1]]``: the rows column ``j`` can reach), so they
    are perturbed together (Curtis, Powell & Reid 1974, J. Inst. Math. Appl.
    13:117-119, https://doi.org/10.1093/imamat/13.1.117). The increment is
    sqrt(eps) times the larger of |y_j| and its error weight.
    """
    n = y.size
    f0 = rhs(t, y, p)
    jac = np.zeros((n, n))
    yj = y.copy()
    step = np.empty(n)
    n_groups = 0
    for j in range(n):
        n_groups = max(n_groups, groups[j] + 1)
    for g in range(n_groups):
        for j in range(n):
            if groups[j] == g:
                h = np.sqrt(EPS) * max(abs(y[j]), scale[j])
                yj[j] = y[j] + h
                step[j] = yj[j] - y[j]  # the increment actually representable
        f1 = rhs(t, yj, p)
        for j in range(n):
            if groups[j] == g:
                for k in range(pat_ptr[j], pat_ptr[j + 1]):
                    i = pat_idx[k]
                    jac[i, j] = (f1[i] - f0[i]) / step[j]
                yj[j] = y[j]
    return jac


def column_groups(pattern) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy grouping of Jacobian columns whose row sets do not overlap.

    Parameters
    ----------
    pattern : sequence of sequence of int
        For each column, the rows that can be nonzero.

    Returns
    -------
    groups, pat_ptr, pat_idx : ndarray
        The arguments :func:`solve` takes for its Jacobian.
    """
    groups = np.empty(len(pattern), dtype=np.int64)
    taken: list[set[int]] = []
    for j, rows in enumerate(pattern):
        rows = set(rows)
        for g, used in enumerate(taken):
            if not used & rows:
                used |= rows
                groups[j] = g
                break
        else:
            taken.append(set(rows))
            groups[j] = len(taken) - 1
    pat_ptr = np.zeros(len(pattern) + 1, dtype=np.int64)
    pat_ptr[1:] = np.cumsum([len(r) for r in pattern])
    pat_idx = np.array([i for rows in pattern for i in rows], dtype=np.int64)
    return groups, pat_ptr, pat_idx


@njit(cache=True, error_model="numpy")
def _initial_step(t0, y0, f0, p, rtol, atol, span) -> float:
    """Starting step (Hairer, Nørsett & Wanner, Solving ODEs I, §II.4), for order 1."""
    scale = atol + rtol * np.abs(y0)
    d0 = _rms(y0, scale)
    d1 = _rms(f0, scale)
    h0 = 1e-6 if (d0 < 1e-5 or d1 < 1e-5) else 0.01 * d0 / d1
    h0 = min(h0, span)
    f1 = rhs(t0 + h0, y0 + h0 * f0, p)
    d2 = _rms(f1 - f0, scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** 0.5
    return min(100.0 * h0, h1, span)


@njit(cache=True, error_model="numpy")
def solve(p, t0, y0, t_out, rtol, atol, max_steps, groups, pat_ptr, pat_idx):
    """:func:`integrate` with no bound on the state, returning ``(out, status,
    steps)`` (the same parameters and results, without ``max_state`` and ``t``)."""
    out, status, steps, _ = integrate(
        p, t0, y0, t_out, rtol, atol, max_steps, np.inf, groups, pat_ptr, pat_idx
    )
    return out, status, steps


@njit(cache=True, error_model="numpy")
def integrate(p, t0, y0, t_out, rtol, atol, max_steps, max_state, groups, pat_ptr, pat_idx):
    """Integrate ``dy/dt = rhs(t, y, p)`` from ``t0`` and return ``y`` at ``t_out``.

    ``rhs`` is the module-level function of the module this source is part of
    (see the module docstring).

    Parameters
    ----------
    p : ndarray
        Parameter vector passed through to ``rhs``.
    t0 : float
    y0 : ndarray
    t_out : ndarray
        Output times, ascending, none before ``t0``; the last is where integration
        stops.
    rtol, atol : float
    max_steps : int
        Most accepted steps (:data:`TOO_MANY_STEPS` beyond).
    max_state : float
        Bound on every state component's magnitude: the initial state and each
        accepted step are checked (:data:`BLEW_UP` beyond; ``inf``: no bound).
    groups, pat_ptr, pat_idx : ndarray
        The Jacobian's structure, from :func:`column_groups`.

    Returns
    -------
    out : ndarray, shape (len(t_out), len(y0))
    status : int
        :data:`SUCCESS` or the reason for stopping (:data:`STATUS_MESSAGES`); rows
        after the failure are NaN.
    steps : int
        Accepted steps.
    t : float
        Where integration stopped: the last output time on success, else the last
        accepted step (for :data:`BLEW_UP`, the step whose state exceeded the
        bound).
    """
    n = y0.size
    n_out = t_out.size
    out = np.full((n_out, n), np.nan)
    k_out = 0
    for i in range(n):
        if not np.isfinite(y0[i]):
            return out, NOT_FINITE, 0, t0
        if abs(y0[i]) > max_state:
            return out, BLEW_UP, 0, t0
    while k_out < n_out and t_out[k_out] <= t0:
        out[k_out] = y0
        k_out += 1
    if k_out == n_out:
        return out, SUCCESS, 0, t0
    t_end = t_out[n_out - 1]

    crate = 1.0  # Newton convergence rate, carried from step to step as in CVODE
    t = t0
    f = rhs(t, y0, p)
    for i in range(n):
        if not np.isfinite(f[i]):
            return out, NOT_FINITE, 0, t0
    h = _initial_step(t0, y0, f, p, rtol, atol, t_end - t0)

    d = np.zeros((MAX_ORDER + 3, n))
    d[0] = y0
    d[1] = f * h
    order = 1
    n_equal = 0
    scale = atol + rtol * np.abs(y0)
    jac = _fd_jacobian(t, y0, p, scale, groups, pat_ptr, pat_idx)
    jac_current = True
    lu = np.eye(n)
    piv = np.empty(n, dtype=np.int64)
    lp, li, lv, up, ui, uv, diag = _lu_compress(lu)
    lu_valid = False
    c_lu = 1.0
    steps = 0
    rhs_b = np.empty(n)  # work arrays, reused by every step
    y_pred = np.empty(n)
    psi = np.empty(n)
    y_new = np.empty(n)
    dd = np.empty(n)

    while True:
        # one accepted step
        n_conv_fail = 0
        n_err_fail = 0
        while True:
            min_step = 10.0 * (np.nextafter(t, np.inf) - t)
            if h < min_step:
                return out, STEP_TOO_SMALL, steps, t
            t_new = t + h
            if t_new >= t_end:  # land on the last output time exactly
                t_new = t_end
                _change_d(d, order, (t_new - t) / h)
                h = t_new - t
                n_equal = 0

            alpha = _ALPHA[order]
            for i in range(n):  # predictor, error weights and the history term psi
                yp = d[0, i]
                ps = 0.0
                for j in range(1, order + 1):
                    yp += d[j, i]
                    ps += _GAMMA[j] * d[j, i]
                y_pred[i] = yp
                psi[i] = ps / alpha
                scale[i] = atol + rtol * abs(yp)
            c = h / alpha
            if lu_valid and abs(c / c_lu - 1.0) > MAX_GAMMA_CHANGE:
                lu_valid = False

            converged = False
            n_iter = 0
            while True:
                if not lu_valid:
                    for i in range(n):
                        for j in range(n):
                            lu[i, j] = -c * jac[i, j]
                        lu[i, i] += 1.0
                    if not _lu_factor(lu, piv):
                        break
                    lp, li, lv, up, ui, uv, diag = _lu_compress(lu)
                    lu_valid = True
                    c_lu = c
                    crate = 1.0
                # a factorisation for a slightly different c: damp the correction
                # (CVODE's 2 / (1 + gamma ratio), exact for neither stiff nor
                # non-stiff components, between the two)
                damp = 2.0 / (1.0 + c / c_lu)
                # simplified Newton iteration for the corrector
                y_new[:] = y_pred
                dd[:] = 0.0
                dy_norm_old = -1.0
                converged = False
                for k in range(NEWTON_MAXITER):
                    n_iter = k + 1
                    fk = rhs(t_new, y_new, p)
                    finite = True
                    for i in range(n):
                        if not np.isfinite(fk[i]):
                            finite = False
                    if not finite:
                        break
                    for i in range(n):
                        rhs_b[i] = c * fk[i] - psi[i] - dd[i]
                    dy = _lu_solve(piv, lp, li, lv, up, ui, uv, diag, rhs_b)
                    if damp != 1.0:
                        dy *= damp
                    dy_norm = _rms(dy, scale)
                    if k > 0:
                        if dy_norm > NEWTON_DIVERGENCE * dy_norm_old:
                            break
                        crate = max(CRATE_DOWN * crate, dy_norm / dy_norm_old)
                    y_new += dy
                    dd += dy
                    if dy_norm * min(1.0, crate) < NEWTON_TOL:
                        converged = True
                        break
                    dy_norm_old = dy_norm
                if converged or jac_current:
                    break
                jac = _fd_jacobian(t_new, y_pred, p, scale, groups, pat_ptr, pat_idx)
                jac_current = True
                lu_valid = False

            if not converged:
                n_conv_fail += 1
                if n_conv_fail > MAX_CONVERGENCE_FAILURES:
                    return out, CONVERGENCE_FAILURES, steps, t
                h *= 0.5
                _change_d(d, order, 0.5)
                n_equal = 0
                lu_valid = False
                continue

            safety = 0.9 * (2 * NEWTON_MAXITER + 1) / (2 * NEWTON_MAXITER + n_iter)
            for i in range(n):
                scale[i] = atol + rtol * abs(y_new[i])
            error_norm = _rms(dd, scale, _ERROR_CONST[order])
            if error_norm > 1.0:
                n_err_fail += 1
                if n_err_fail > MAX_ERROR_TEST_FAILURES:
                    return out, ERROR_TEST_FAILURES, steps, t
                factor = max(MIN_FACTOR, safety * error_norm ** (-1.0 / (order + 1)))
                h *= factor
                _change_d(d, order, factor)
                n_equal = 0
                continue
            break

        # accept: update the differences (d[0] becomes y_new)
        steps += 1
        n_equal += 1
        t = t_new
        for i in range(n):
            d[order + 2, i] = dd[i] - d[order + 1, i]
            d[order + 1, i] = dd[i]
        for j in range(order, -1, -1):
            for i in range(n):
                d[j, i] += d[j + 1, i]
        jac_current = False
        for i in range(n):  # before any output: rows from here on stay NaN
            if abs(d[0, i]) > max_state:
                return out, BLEW_UP, steps, t

        # outputs in (t_old, t]: Newton backward-difference interpolation
        while k_out < n_out and t_out[k_out] <= t:
            if t_out[k_out] == t:
                out[k_out] = d[0]
            else:
                yo = d[0].copy()
                prod = 1.0
                for j in range(1, order + 1):
                    prod *= (t_out[k_out] - (t - (j - 1) * h)) / (j * h)
                    yo += prod * d[j]
                out[k_out] = yo
            k_out += 1
        if t >= t_end:
            return out, SUCCESS, steps, t
        if steps >= max_steps:
            return out, TOO_MANY_STEPS, steps, t
        if n_equal < order + 1:
            continue

        # order and step selection from the neighbouring orders' error estimates
        best_factor = -1.0
        best_delta = 0
        for delta in (-1, 0, 1):
            q = order + delta
            if q < 1 or q > MAX_ORDER:
                continue
            if delta == -1:
                norm = _rms(d[order], scale, _ERROR_CONST[q])
            elif delta == 0:
                norm = error_norm
            else:
                norm = _rms(d[order + 2], scale, _ERROR_CONST[q])
            fac = MAX_FACTOR if norm == 0.0 else norm ** (-1.0 / (q + 1))
            if fac > best_factor:
                best_factor = fac
                best_delta = delta
        order += best_delta
        factor = min(MAX_FACTOR, safety * best_factor)
        h *= factor
        _change_d(d, order, factor)
        n_equal = 0


__all__ = ["BLEW_UP", "STATUS_MESSAGES", "SUCCESS", "column_groups", "integrate", "solve"]

"""Shared machinery of the maximum-likelihood models: compression, optimisation, Hessian.

Every model fits by maximum likelihood on the log scale of its (positive) parameters:

* the data are compressed to their distinct rows with a weight (:func:`compress`), so a
  million customers with weekly data cost as much as a few tens of thousands of rows;
* the mean weighted negative log-likelihood (plus the optional ``penalizer_coef * sum(p**2)``
  of lifetimes) is minimised with L-BFGS-B from several starting points
  (:func:`maximise_likelihood`); the best converged start wins;
* a fit that does not converge raises :class:`ConvergenceError`, naming what went wrong and
  what to try -- it never returns silent garbage;
* on large data the starting points are compared on a random subsample and the best is
  carried to the full data, where a model that supplies its analytic Hessian (BG/NBD)
  converges in a few Newton steps (:func:`newton_polish`);
* standard errors come from the Hessian of the total log-likelihood in the log parameters
  (analytic, or central differences of the gradient), mapped back with the delta method
  (:func:`standard_errors_from_hessian`, :func:`standard_errors`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from threadpoolctl import ThreadpoolController

from segkit.errors import ConvergenceError  # defined with every segkit error; importable here as before

__all__ = [
    "ConvergenceError",
    "FitResult",
    "compress",
    "distinct_rows",
    "factorize_rows",
    "maximise_likelihood",
    "newton_polish",
    "numeric_gradient",
    "screening_sample",
    "single_threaded_blas",
    "standard_errors",
    "standard_errors_from_hessian",
]

# log-parameter box: exp(+-30) ~ 1e13 / 1e-13; a solution on the box did not converge.
LOG_BOUND = 30.0
#: Above twice this many customers, a purchase model compares its starting points on a random
#: subsample of this size and carries only the best on to convergence on all customers.
SCREEN_SIZE = 20_000
#: A parameter whose standard error on the log scale exceeds this is not identified by the
#: data (its 95% interval spans a factor of e^39): the fit raises instead of returning it.
MAX_LOG_SE = 10.0


# ---------------------------------------------------------------------------------------------
# distinct rows with weights
# ---------------------------------------------------------------------------------------------
def _value_codes(column: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of ``column`` and each row's position among them.

    Whole numbers in a range not much wider than the column (periods of a BTYD summary) are
    counted instead of sorted.
    """
    if column.size:
        lo, hi = float(column.min()), float(column.max())
        if hi - lo <= 4 * column.size + 1024 and np.array_equal(column, np.round(column)):
            shifted = (column - lo).astype(np.intp)
            present = np.bincount(shifted) > 0
            rank = np.cumsum(present) - 1
            return np.flatnonzero(present).astype(np.float64) + lo, rank[shifted]
    values, codes = np.unique(column, return_inverse=True)
    return values, codes.reshape(-1)


def _dense_ranks(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values of non-negative integer ``key`` and each element's rank among them.

    ``np.unique(key, return_inverse=True)``, faster: a sort of the keys and, for keys up to a
    few times the number of elements, a look-up table instead of an argsort.
    """
    if key.size == 0:
        return key, key.astype(np.intp)
    ordered = np.sort(key)
    kinds = ordered[np.r_[True, ordered[1:] != ordered[:-1]]]
    if int(kinds[-1]) >= 16 * key.size + 2**20:
        kinds, row = np.unique(key, return_inverse=True)
        return kinds, row.reshape(-1)
    table = np.empty(int(kinds[-1]) + 1, dtype=np.int32 if kinds.size < 2**31 else np.intp)
    table[kinds] = np.arange(kinds.size)
    return kinds, table[key]


def _row_kinds(columns):
    """Per column its distinct values and codes; the rows' kinds and each row's kind."""
    values, codes = zip(*(_value_codes(np.asarray(c, dtype=np.float64)) for c in columns),
                        strict=True)
    key = codes[0].astype(np.int64)
    for vals, code in zip(values[1:], codes[1:], strict=True):
        if (int(key.max(initial=0)) + 1) * vals.size >= 2**62:  # renumber before overflowing
            key = np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64)
        key = key * vals.size + code
    kinds, row = _dense_ranks(key)
    return values, codes, kinds, row


def factorize_rows(*columns: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` and, for every row, its position among them.

    For evaluating an expensive function once per distinct row: ``f(*distinct)[inverse]``.

    Examples
    --------
    >>> (x, y), inverse = factorize_rows(np.array([2., 1., 2.]), np.array([5., 0., 5.]))
    >>> x.tolist(), y.tolist(), inverse.tolist()
    ([1.0, 2.0], [0.0, 5.0], [1, 0, 1])
    """
    values, codes, kinds, row = _row_kinds(columns)
    out = []
    for vals, code in zip(values, codes, strict=True):
        distinct = np.empty(kinds.size, dtype=np.intp)
        distinct[row] = code
        out.append(vals[distinct])
    return out, row


def distinct_rows(
    *columns: np.ndarray, weight: np.ndarray
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` as codes into each column's sorted distinct values.

    Returns ``(values, codes, w)``: per column its sorted distinct values and, per distinct
    row, the position of the row's value among them; ``w`` is the summed weight of each
    distinct row. Rows come in lexicographic order; zero weights are dropped. The rows are
    numbered by one integer key (mixed radix of the column codes), so the cost is one sort
    of integers (or counting) rather than a multi-column group-by.

    Examples
    --------
    >>> values, codes, w = distinct_rows(np.array([1., 0., 1.]), np.array([2., 0., 2.]),
    ...                                  weight=np.ones(3))
    >>> [v.tolist() for v in values], [c.tolist() for c in codes], w.tolist()
    ([[0.0, 1.0], [0.0, 2.0]], [[0, 1], [0, 1]], [1.0, 2.0])
    """
    weight = np.asarray(weight, dtype=np.float64)
    keep = weight > 0
    if not keep.all():
        columns = tuple(np.asarray(c)[keep] for c in columns)
        weight = weight[keep]
    values, codes, kinds, row = _row_kinds(columns)
    w = np.bincount(row, weights=weight, minlength=kinds.size)
    out = []
    for code in codes:  # every row of a kind has the same code, so the scatter is well defined
        distinct = np.empty(kinds.size, dtype=np.intp)
        distinct[row] = code
        out.append(distinct)
    return list(values), out, w


def compress(*columns: np.ndarray, weight: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """Distinct rows of ``columns`` and the summed weight of each (zero weights dropped).

    Rows come in lexicographic order (see :func:`distinct_rows`).

    Examples
    --------
    >>> cols, w = compress(np.array([1., 0., 1.]), np.array([2., 0., 2.]), weight=np.ones(3))
    >>> [c.tolist() for c in cols], w.tolist()
    ([[0.0, 1.0], [0.0, 2.0]], [1.0, 2.0])
    """
    values, codes, w = distinct_rows(*columns, weight=weight)
    return [v[c] for v, c in zip(values, codes, strict=True)], w


# ---------------------------------------------------------------------------------------------
# optimisation
# ---------------------------------------------------------------------------------------------
@dataclass
class FitResult:
    """Outcome of :func:`maximise_likelihood` (log-parameters and bookkeeping)."""

    log_params: np.ndarray
    objective: float
    n_iter: int
    n_converged: int
    n_starts: int


def numeric_gradient(fun: Callable[[np.ndarray], float], theta: np.ndarray, step: float = 1e-6):
    """Central-difference gradient of ``fun`` at ``theta`` (error ~ step**2)."""
    grad = np.empty_like(theta)
    for i in range(theta.size):
        e = np.zeros_like(theta)
        e[i] = step
        grad[i] = (fun(theta + e) - fun(theta - e)) / (2 * step)
    return grad


_CONTROLLER: list[ThreadpoolController] = []


def single_threaded_blas():
    """Context in which BLAS runs on one thread.

    The likelihoods are sums over at most a few hundred thousand rows and the optimisers'
    own algebra is 4x4: multi-threaded BLAS only adds hand-off overhead (and stalls badly on
    a busy machine). The loaded libraries are looked up once per process (a fresh
    ``threadpool_limits`` scans them every time, which costs milliseconds).
    """
    if not _CONTROLLER:
        _CONTROLLER.append(ThreadpoolController())
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


def newton_polish(
    fun: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]],
    theta: np.ndarray,
    *,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, float, int, bool]:
    """Newton's method with a backtracking line search, from a point near the optimum.

    ``fun(theta) -> (value, gradient, hessian)``. Each step solves ``H d = -g``; the step is
    halved until the value decreases (Armijo), or -- at the level of rounding, where values
    no longer tell -- until the gradient shrinks. Returns ``(theta, value, iterations,
    converged)``; converged means ``max |gradient| <= tol``. It gives up (not converged) where
    the Hessian is not positive definite or no step helps, leaving the point to a
    quasi-Newton method.
    """
    theta = np.clip(np.asarray(theta, dtype=np.float64), -LOG_BOUND + 1, LOG_BOUND - 1)
    value, grad, hess = fun(theta)

    def finite(v, g, h):
        return np.isfinite(v) and np.all(np.isfinite(g)) and np.all(np.isfinite(h))

    if not finite(value, grad, hess):
        return theta, float("inf"), 0, False
    for it in range(max_iter):
        if np.max(np.abs(grad)) <= tol:
            return theta, float(value), it, True
        try:
            np.linalg.cholesky(hess)  # a descent direction needs a positive definite Hessian
        except np.linalg.LinAlgError:
            return theta, float(value), it, False
        step = -np.linalg.solve(hess, grad)
        slope = float(grad @ step)
        noise = 64 * np.finfo(float).eps * max(1.0, abs(value))
        t = 1.0
        while True:
            cand = np.clip(theta + t * step, -LOG_BOUND, LOG_BOUND)
            v, g, h = fun(cand)
            if finite(v, g, h) and (
                v <= value + 1e-4 * t * slope
                or (v <= value + noise and np.max(np.abs(g)) < np.max(np.abs(grad)))
            ):
                break
            t *= 0.5
            if t < 1e-8:
                return theta, float(value), it, False
        theta, value, grad, hess = cand, v, g, h
    return theta, float(value), max_iter, bool(np.max(np.abs(grad)) <= tol)


def penalised_objective(log_likelihood: Callable[[np.ndarray], tuple[float, np.ndarray]], total: float,
                        penalizer: float) -> Callable[[np.ndarray], tuple[float, np.ndarray]]:
    """What every fit minimises, over log-parameters ``theta``: ``-ln L / total + penalizer *
    sum(p^2)`` with ``p = exp(theta)``, and its gradient (``log_likelihood(theta)`` returns
    ``(ln L, d ln L / d p)``).

    Examples
    --------
    >>> f = penalised_objective(lambda th: (-float(np.exp(th) @ np.exp(th)), -2 * np.exp(th)), 2.0, 0.5)
    >>> value, gradient = f(np.zeros(2))
    >>> float(value), gradient.tolist()
    (2.0, [2.0, 2.0])
    """
    def objective(theta):
        ll, grad = log_likelihood(theta)
        p = np.exp(theta)
        return -ll / total + penalizer * np.sum(p**2), -grad * p / total + 2 * penalizer * p**2

    return objective


def maximise_likelihood(
    objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
    start: np.ndarray,
    *,
    names: Sequence[str],
    model: str,
    n_starts: int,
    random_state: Any,
    tol: float,
    max_iter: int,
    screen: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None,
    newton: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]] | None = None,
    boundary: Callable[[np.ndarray, float], str | None] | None = None,
) -> FitResult:
    """Minimise ``objective(log_params) -> (value, gradient)`` from several starts.

    The first start is ``start`` (a data-based guess); the others are drawn around it with
    ``random_state`` (log-normal, sd 1). The best converged start wins. With ``screen`` (the
    same objective on a random subsample of customers), the starts are compared on the
    subsample and only the best one is carried on to convergence on the full data -- the
    landscape is the same, the cost a fraction. With ``newton`` as well (the full objective
    with its Hessian), that last stage is Newton's method, which from the subsample's
    optimum needs a handful of steps where L-BFGS-B needs a dozen or more; L-BFGS-B takes
    over if Newton does not converge.

    With ``boundary`` (``(theta, objective value) -> None``, or a description of the limit
    the iterate has practically reached), a start whose iterate reaches that limit is stopped
    there instead of being followed to the log-parameter box: on the Pareto/NBD's no-dropout
    ridge that walk took minutes.

    Raises
    ------
    ConvergenceError
        When no start converges, or the best solution sits on the log-parameter box
        (a parameter running off to 0 or infinity) or at ``boundary``, with advice on what to
        try and the point in ``log_params``.
    """
    if n_starts < 1:
        raise ValueError(f"n_starts must be at least 1, got {n_starts}")
    rng = np.random.default_rng(random_state)
    starts = [np.asarray(start, dtype=np.float64)]
    for _ in range(n_starts - 1):
        starts.append(starts[0] + rng.normal(0.0, 1.0, size=starts[0].size))
    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)

    def run(fun, points):
        def safe(theta: np.ndarray) -> tuple[float, np.ndarray]:
            value, grad = fun(theta)
            if not np.isfinite(value) or not np.all(np.isfinite(grad)):
                # outside the numerically usable region: a large finite value makes the
                # line search step back instead of stopping.
                return 1e10, np.zeros_like(theta)
            return value, grad

        def stop_at_boundary(intermediate_result):
            where = boundary(intermediate_result.x, float(intermediate_result.fun))
            if where is not None:
                raise _AtBoundary(intermediate_result.x.copy(), float(intermediate_result.fun),
                                  where)

        best, converged, n_iter, failures = None, 0, 0, []
        for theta0 in points:
            # ftol far below gtol, so that the gradient test decides: with ftol = tol * 1e-3
            # Pareto/NBD fits stopped on the flat (s, beta) ridge with gradients 10-100x gtol,
            # 1.6 log-likelihood units short of the optimum on 500 k customers.
            try:
                res = minimize(
                    safe,
                    np.clip(theta0, -LOG_BOUND + 1, LOG_BOUND - 1),
                    jac=True,
                    method="L-BFGS-B",
                    bounds=bounds,
                    options={"maxiter": max_iter, "ftol": tol * 1e-6, "gtol": tol, "maxcor": 20},
                    callback=stop_at_boundary if boundary is not None else None,
                )
            except _AtBoundary as hit:
                hits.append(hit)
                continue
            n_iter += int(res.nit)
            grad_ok = np.all(np.isfinite(res.jac)) and (
                np.max(np.abs(res.jac)) < max(100 * tol, 1e-5)
            )
            if not (np.isfinite(res.fun) and res.fun < 1e10 and (res.success or grad_ok)):
                failures.append(str(res.message))
                continue
            converged += 1
            if best is None or res.fun < best.fun:
                best = res
        return best, converged, n_iter, failures

    hits: list[_AtBoundary] = []
    with single_threaded_blas():
        n_iter_screen = 0
        if screen is not None and (len(starts) > 1 or newton is not None):
            best, _, n_iter_screen, _ = run(screen, starts)
            hits.clear()  # on the subsample: only the full data decide
            if best is not None:
                starts = [best.x]
                if newton is not None:
                    theta, value, n_newton, ok = newton_polish(newton, best.x, tol=tol,
                                                               max_iter=min(max_iter, 50))
                    n_iter_screen += n_newton
                    if ok:
                        return _checked(FitResult(theta, value, n_iter_screen, 1, n_starts),
                                        names, model)
                    if np.isfinite(value):
                        starts = [theta]
        best, converged, n_iter, failures = run(objective, starts)
    n_iter += n_iter_screen
    if hits:
        hit = min(hits, key=lambda h: h.value)
        if best is None or hit.value < best.fun:
            raise ConvergenceError(
                f"{model}: the likelihood keeps improving towards {hit.where}, so the data do "
                f"not pin the model down. Try penalizer_coef=0.001 (or larger), a longer "
                f"calibration period, or a simpler model.",
                log_params=hit.theta,
            )
    if best is None:
        raise ConvergenceError(
            f"{model}: the likelihood maximisation did not converge from any of {n_starts} "
            f"starting points (last message: {failures[-1] if failures else 'n/a'}). "
            f"Try more iterations (max_iter, now {max_iter}), more starting points "
            f"(n_starts), a small penalizer_coef (e.g. 0.001), or check the data: enough "
            f"customers with repeat purchases, and recency/T in one unit."
        )
    return _checked(FitResult(best.x, float(best.fun), n_iter, converged, n_starts), names, model)


class _AtBoundary(Exception):
    """An optimiser's iterate reached the limit named by ``where`` (see maximise_likelihood)."""

    def __init__(self, theta: np.ndarray, value: float, where: str):
        super().__init__(where)
        self.theta, self.value, self.where = theta, value, where


def _checked(result: FitResult, names: Sequence[str], model: str) -> FitResult:
    """``result``, unless a parameter sits on the log-parameter box (ConvergenceError)."""
    on_bound = np.abs(result.log_params) >= LOG_BOUND - 1e-6
    if on_bound.any():
        which = ", ".join(
            f"{n}={np.exp(v):.3g}"
            for n, v, b in zip(names, result.log_params, on_bound, strict=True)
            if b
        )
        raise ConvergenceError(
            f"{model}: the likelihood keeps improving as {which} runs off to 0 or infinity, "
            f"so the data do not pin the model down. Try penalizer_coef=0.001 (or larger), "
            f"a longer calibration period, or a simpler model.",
            log_params=result.log_params,
        )
    return result


def screening_sample(
    arrays: Sequence[np.ndarray], weight: np.ndarray, size: int, random_state: Any
) -> tuple[list[np.ndarray], np.ndarray] | None:
    """A random ``size`` of the customers, for comparing starting points (or None).

    ``arrays`` are distinct rows and ``weight`` the customers in each (as from
    :func:`compress`); the draw is of customers, not rows -- without replacement when the
    weights are whole numbers, else multinomial with the weights as probabilities -- so
    per-customer data and the same data compressed to distinct rows give the same subsample.
    None when there are at most ``2 * size`` customers.

    Examples
    --------
    >>> (x,), w = screening_sample([np.array([0.0, 1.0])], np.array([90_000.0, 10_000.0]),
    ...                            20_000, random_state=0)
    >>> int(w.sum()), x.tolist()
    (20000, [0.0, 1.0])
    """
    weight = np.asarray(weight, dtype=np.float64)
    total = float(weight.sum())
    if total <= 2 * size:
        return None
    rng = np.random.default_rng(random_state)
    if np.array_equal(weight, np.round(weight)) and total < 2**53:
        # customers numbered 0..total-1 row by row: draw their numbers, count them per row
        picks = rng.choice(int(total), size=size, replace=False)
        row = np.searchsorted(np.cumsum(weight), picks, side="right")
        counts = np.bincount(row, minlength=weight.size).astype(np.float64)
    else:
        counts = rng.multinomial(size, weight / total).astype(np.float64)
    keep = counts > 0
    return [np.asarray(a)[keep] for a in arrays], counts[keep]


def standard_errors(
    neg_log_likelihood_grad: Callable[[np.ndarray], np.ndarray],
    log_params: np.ndarray,
    names: Sequence[str],
    step: float = 1e-5,
    model: str = "model",
    with_covariance: bool = False,
) -> dict[str, float] | tuple[dict[str, float], pd.DataFrame]:
    """Standard errors of the parameters from the Hessian of the total log-likelihood.

    The Hessian of the negative log-likelihood in the log-parameters is built from central
    differences of its gradient; by the delta method ``se(p) = p * se(log p)`` (see
    :func:`standard_errors_from_hessian`).

    Raises
    ------
    ConvergenceError
        When the Hessian is not positive definite: the optimum is flat in some direction
        (parameters not identified by the data) or not a maximum.
    """
    k = log_params.size
    hess = np.empty((k, k))
    with single_threaded_blas():
        for i in range(k):  # central differences of the gradient
            e = np.zeros(k)
            e[i] = step
            hess[i] = (
                neg_log_likelihood_grad(log_params + e) - neg_log_likelihood_grad(log_params - e)
            ) / (2 * step)
    return standard_errors_from_hessian(hess, log_params, names, model=model,
                                        with_covariance=with_covariance)


def standard_errors_from_hessian(
    hess: np.ndarray, log_params: np.ndarray, names: Sequence[str], model: str = "model",
    with_covariance: bool = False,
) -> dict[str, float] | tuple[dict[str, float], pd.DataFrame]:
    """Standard errors from the Hessian of the total negative log-likelihood in log-params.

    ``se(log p) = sqrt(diag(H^-1))`` and, by the delta method, ``se(p) = p * se(log p)``.
    With ``with_covariance=True`` also ``H^-1`` itself, the asymptotic covariance of the
    log-parameters (a DataFrame labelled by ``names``), as ``(standard_errors, covariance)``:
    what the fitted models keep as ``covariance_`` and :func:`segkit.models.clv.clv_interval`
    draws from.

    Examples
    --------
    >>> se, cov = standard_errors_from_hessian(np.array([[4.0, 0.0], [0.0, 16.0]]),
    ...                                        np.log([2.0, 8.0]), ["r", "s"], with_covariance=True)
    >>> {k: round(v, 12) for k, v in se.items()}  # se(p) = p * se(log p) = p / sqrt(H_ii)
    {'r': 1.0, 's': 2.0}
    >>> float(cov.loc["s", "s"])
    0.0625

    Raises
    ------
    ConvergenceError
        When the Hessian is not positive definite: the optimum is flat in some direction
        (parameters not identified by the data) or not a maximum; or when a parameter's
        standard error on the log scale exceeds ``MAX_LOG_SE`` (e.g. BG/NBD a = 4.9e5 with
        standard error 7.7e8 on 2 repeat buyers among 1,000 customers).
    """
    hess = (hess + hess.T) / 2
    eigenvalues = np.linalg.eigvalsh(hess) if np.all(np.isfinite(hess)) else np.array([np.nan])
    if not np.all(eigenvalues > 1e-10 * max(1.0, float(np.max(np.abs(eigenvalues))))):
        raise ConvergenceError(
            f"{model}: the log-likelihood is flat (or not at a maximum) in some direction at the "
            f"solution, so the data do not pin down all of {', '.join(names)}. Check that enough "
            f"customers made repeat purchases, or add a small penalizer_coef (e.g. 0.001).",
            log_params=log_params,
        )
    covariance = np.linalg.inv(hess)
    covariance = (covariance + covariance.T) / 2
    var = np.diag(covariance)
    params = np.exp(log_params)
    loose = np.sqrt(var) > MAX_LOG_SE
    if loose.any():
        which = ", ".join(f"{n} = {p:.3g} (standard error {p * np.sqrt(v):.3g})"
                          for n, p, v, bad in zip(names, params, var, loose, strict=True) if bad)
        raise ConvergenceError(
            f"{model}: the data hardly pin down {which}: its 95% interval spans more than "
            f"e^{2 * 1.96 * MAX_LOG_SE:.0f}, so predictions from this fit would be arbitrary. "
            f"Typical causes: very few repeat buyers, or no sign of dropout. Add a small "
            f"penalizer_coef (e.g. 0.001), or use a longer calibration period.",
            log_params=log_params,
        )
    se = {n: float(p * np.sqrt(v)) for n, p, v in zip(names, params, var, strict=True)}
    if with_covariance:
        return se, pd.DataFrame(covariance, index=list(names), columns=list(names))
    return se

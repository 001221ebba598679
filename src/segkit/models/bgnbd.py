"""BG/NBD: the beta-geometric / negative binomial model of repeat purchasing.

Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your Customers" the Easy
Way: An Alternative to the Pareto/NBD Model. *Marketing Science* 24(2), 275-284.

While active, a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)`` (``alpha`` is a
scale in the data's time unit); after each purchase she drops out with probability
``p ~ Beta(a, b)``. The sufficient statistics are ``x`` (repeat purchases), ``t_x``
(recency) and ``T`` (age), all in one unit.
"""

from __future__ import annotations

from typing import Any

import warnings

import numpy as np
from scipy import integrate
from scipy.special import betainc, betaln, digamma, gammaln, hyp2f1, polygamma
from sklearn.utils.validation import check_is_fitted

from segkit.models import _nbd
from segkit.models._base import (
    SCREENING_DOC,
    Likelihood,
    PurchaseModel,
    check_counts,
    check_horizon,
)
from segkit.models._optim import (
    as_output,
    broadcast,
    check_prediction_inputs,
    distinct_rows,
    factorize_rows,
    log_hyp2f1_series,
    penalised_objective,
    single_threaded_blas,
    standard_errors_from_hessian,
)

__all__ = ["BetaGeo"]

PARAMS = ("r", "alpha", "a", "b")


class _Data:
    """Distinct (x, t_x, T) rows with weights, split into per-value tables and repeat rows.

    Everything that depends on one of x, t_x or T alone is summed per distinct value (a few
    hundred), so the per-row work is only the soft-plus term of the repeat buyers. Those rows
    are numbered by their (T, t_x) pair, so terms that depend on alpha only through
    ``ln(alpha+T) - ln(alpha+t_x)`` are computed once per distinct pair.
    """

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, weight: np.ndarray):
        # T first: the distinct rows come ordered by (T, t_x, x), i.e. grouped by pair
        (self.T_u, self.tx_u, self.x_u), (T_i, tx_i, x_i), w = distinct_rows(
            T, t_x, x, weight=weight
        )
        self.rows = int(w.size)
        self.total_weight = float(w.sum())
        x = self.x_u[x_i]
        self.w_x = np.bincount(x_i, weights=w, minlength=self.x_u.size)
        self.w_T = np.bincount(T_i, weights=w, minlength=self.T_u.size)
        self.wx_T = np.bincount(T_i, weights=w * x, minlength=self.T_u.size)
        rep = x > 0
        self.x_r, self.w_r, self.x_i_r = x[rep], w[rep], x_i[rep]
        pair = T_i[rep] * self.tx_u.size + tx_i[rep]  # non-decreasing
        new_pair = np.r_[True, pair[1:] != pair[:-1]] if pair.size else pair.astype(bool)
        self.pair_i = np.cumsum(new_pair) - 1  # each repeat row's (T, t_x) pair
        first = pair[new_pair]
        self.pair_T, self.pair_tx = first // self.tx_u.size, first % self.tx_u.size


def _log_likelihood(log_params: np.ndarray, d: _Data, gradient: bool = True,
                    hessian: bool = False):
    """Weighted total log-likelihood, its gradient and Hessian in the natural parameters.

    Eq. (6) of Fader, Hardie & Lee (2005), written as

    ``ln L = ln G(r+x) - ln G(r) + r ln(alpha) + ln B(a, b+x) - ln B(a, b)
    - (r+x) ln(alpha+T) + ln(1 + [x>0] exp(D))``, with
    ``D = ln(a) - ln(b+x-1) + (r+x) ln((alpha+T)/(alpha+t_x))``

    (the second term of eq. (6) divided by the first), so the sum of the two terms is a
    stable soft-plus, ``max(D, 0) + log1p(exp(-|D|))``. Returns ``(ll, gradient)``
    (gradient None when not asked for), or ``(ll, gradient, hessian)`` with ``hessian=True``.
    """
    r, alpha, a, b = np.exp(log_params)
    W = d.total_weight
    x_u, T_u = d.x_u, d.T_u
    ln_alpha_T = np.log(alpha + T_u)
    b_x1 = np.where(x_u > 0, b + x_u - 1, 1.0)  # b + x - 1 (x = 0: unused)
    # repeat buyers: the soft-plus term; ln((alpha+T)/(alpha+t_x)) per distinct (T, t_x) pair
    diff_p = ln_alpha_T[d.pair_T] - np.log(alpha + d.tx_u)[d.pair_tx]
    diff = diff_p[d.pair_i]
    rx = r + d.x_r
    D = (np.log(a) - np.log(b_x1))[d.x_i_r]
    D += rx * diff
    # soft-plus ln(1 + exp(D)) = max(D, 0) + log1p(exp(-|D|)): as stable as np.logaddexp(0, D)
    # and several times faster (this is the per-row work); e is reused for the Hessian
    e = np.exp(-np.abs(D))
    softplus = np.log1p(e)
    softplus += np.maximum(D, 0.0)
    ll = (
        d.w_x @ (gammaln(r + x_u) + betaln(a, b + x_u))
        + W * (-gammaln(r) + r * np.log(alpha) - betaln(a, b))
        - (r * d.w_T + d.wx_T) @ ln_alpha_T
        + d.w_r @ softplus
    )
    if not (gradient or hessian):
        return ll, None
    n_p, n_x = d.pair_T.size, x_u.size
    with np.errstate(over="ignore"):  # exp(-D) = inf for D < -709: expit(D) = 0
        ws = d.w_r / (1.0 + np.exp(-D))  # weight of the second term, = 1 - P(alive | x > 0)
    ws_p = np.bincount(d.pair_i, weights=ws, minlength=n_p)
    wsrx_p = np.bincount(d.pair_i, weights=ws * rx, minlength=n_p)
    ws_x = np.bincount(d.x_i_r, weights=ws, minlength=n_x)
    inv_T = 1.0 / (alpha + T_u)
    inv_tx = 1.0 / (alpha + d.tx_u)
    dinv_p = inv_T[d.pair_T] - inv_tx[d.pair_tx]  # d diff / d alpha
    q = np.where(x_u > 0, 1.0 / b_x1, 0.0)  # -d D / d b
    ab = digamma(a + b)
    abx = digamma(a + b + x_u)
    g_r = (d.w_x @ digamma(r + x_u) + W * (np.log(alpha) - digamma(r)) - d.w_T @ ln_alpha_T
           + ws_p @ diff_p)
    g_alpha = W * r / alpha - (r * d.w_T + d.wx_T) @ inv_T + wsrx_p @ dinv_p
    g_a = d.w_x @ (ab - abx) + ws_x.sum() / a
    g_b = d.w_x @ (digamma(b + x_u) - abx) + W * (ab - digamma(b)) - ws_x @ q
    grad = np.array([g_r, g_alpha, g_a, g_b])
    if not hessian:
        return ll, grad
    # soft-plus part: sum of w [s(1-s) dD dD' + s d2D], s = expit(D); s(1-s) = e/(1+e)^2
    v = d.w_r * e / (1.0 + e) ** 2
    vrx = v * rx
    v_p = np.bincount(d.pair_i, weights=v, minlength=n_p)
    vrx_p = np.bincount(d.pair_i, weights=vrx, minlength=n_p)
    vrx2_p = np.bincount(d.pair_i, weights=vrx * rx, minlength=n_p)
    v_x = np.bincount(d.x_i_r, weights=v, minlength=n_x)
    vr_x = np.bincount(d.x_i_r, weights=v * diff, minlength=n_x)
    va_x = np.bincount(d.x_i_r, weights=vrx * dinv_p[d.pair_i], minlength=n_x)  # v dD/dalpha
    trig_ab = polygamma(1, a + b) - polygamma(1, a + b + x_u)
    h = np.empty((4, 4))
    h[0, 0] = v_p @ diff_p**2 + d.w_x @ polygamma(1, r + x_u) - W * polygamma(1, r)
    h[0, 1] = vrx_p @ (diff_p * dinv_p) + ws_p @ dinv_p + W / alpha - d.w_T @ inv_T
    h[1, 1] = (
        vrx2_p @ dinv_p**2
        + wsrx_p @ (inv_tx[d.pair_tx] ** 2 - inv_T[d.pair_T] ** 2)
        - W * r / alpha**2
        + (r * d.w_T + d.wx_T) @ inv_T**2
    )
    h[0, 2] = vr_x.sum() / a
    h[0, 3] = -(vr_x @ q)
    h[1, 2] = va_x.sum() / a
    h[1, 3] = -(va_x @ q)
    h[2, 2] = (v_x.sum() - ws_x.sum()) / a**2 + d.w_x @ trig_ab
    h[2, 3] = -(v_x @ q) / a + d.w_x @ trig_ab
    h[3, 3] = (
        (v_x + ws_x) @ q**2
        + d.w_x @ (polygamma(1, b + x_u) - polygamma(1, a + b + x_u))
        + W * (polygamma(1, a + b) - polygamma(1, b))
    )
    return ll, grad, np.triu(h) + np.triu(h, 1).T


def _hyp_product(log_power, first, second, c, z):
    """``exp(log_power) * 2F1(first, second; c; z)`` without overflow of either factor.

    The power is passed as its log and the product is taken as ``sign(F) exp(log_power +
    ln|F|)``, so a power that underflows times a 2F1 that is huge (or the other way round)
    gives their finite product. NaN where scipy's 2F1 is not finite.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyp = hyp2f1(first, second, c, z)
        return np.where(hyp == 0, 0.0, np.sign(hyp) * np.exp(log_power + np.log(np.abs(hyp))))


def _pfaff_series(r, a1, c, w, max_terms: int = 2_000):
    """``1 - 2F1(r, a1; c; w)`` by its power series, for ``-1 < w <= 0`` (NaN where it fails).

    The first term is exact and the bracket of eq. (9) is summed directly, so there is no
    cancellation of ``1 - P`` (small t, or b much larger than a). The terms alternate; the
    sum is accepted where it converged and no term exceeded 1e4 times the sum (so at most
    4 digits are lost to the alternation).
    """
    r, a1, c, w = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, a1, c, w)))
    out = np.full(r.shape, np.nan)
    term = -r * a1 / c * w
    out[(w == 0) | (term == 0)] = 0.0
    live = np.flatnonzero(np.isnan(out))
    R, A1, C, Wv = r[live], a1[live], c[live], w[live]
    term = term[live]
    total = term.copy()
    largest = np.abs(term)
    for n in range(1, max_terms):
        if live.size == 0:
            break
        ratio = (R + n) * (A1 + n) / ((C + n) * (n + 1)) * Wv
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging row ends NaN: next form
            term = term * ratio
            total += term
        largest = np.maximum(largest, np.abs(term))
        bound = np.maximum(np.abs(ratio), np.abs(Wv))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            done = (n > np.abs(A1) + R) & (bound < 1) & (np.abs(term) * bound / (1 - bound) <= 1e-17 * np.abs(total))
        if np.any(done):
            out[live[done]] = np.where(largest[done] <= 1e4 * np.abs(total[done]), total[done], np.nan)
            keep = ~done
            live, R, A1, C, Wv = live[keep], R[keep], A1[keep], C[keep], Wv[keep]
            term, total, largest = term[keep], total[keep], largest[keep]
    return out


def _difference_series(r, a, c, z, max_terms: int = 10_000):
    """E[X(t)] of eq. (9) as one series of positive terms, for ``0 < z < 1`` and ``c > r``.

    With Euler's transformation ``P = (1-z)^(a-1) 2F1(c-r, a-1; c; z)`` and the binomial
    series ``1 = (1-z)^(a-1) sum_n (a-1)_n z^n / n!``, the bracket ``1 - P`` is
    ``(1-z)^(a-1) sum_n (a-1)_n z^n / n! [1 - (c-r)_n / (c)_n]``, and dividing by ``a - 1``
    (``(a-1)_n / (a-1) = (a)_(n-1)``)::

        E[X(t)] = c (1-z)^(a-1) sum_{n>=1} (a)_(n-1) z^n / n! * d_n,
        d_n = 1 - prod_{k<n} (1 - r/(c+k))   (by expm1 of a sum of log1p)

    Every term is positive (a > 0, c > r), so nothing cancels: this is the form for the
    bracket ``1 - P`` near 0 (b much larger than a - 1), where ``1 - P`` in doubles loses
    ``eps / (1 - P)`` relatively, and it is regular at a = 1. NaN where it does not converge
    within ``max_terms`` (z near 1 with large a); there the other forms stand.
    """
    r, a, c, z = (np.ravel(v) for v in np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, a, c, z))))
    out = np.full(r.shape, np.nan)
    live = np.flatnonzero((c > r) & (z > 0) & (z < 1))
    R, A, C, Z = r[live], a[live], c[live], z[live]
    log_z = np.log(Z)
    log_scale = np.log(C) + (A - 1) * np.log1p(-Z)  # c (1-z)^(a-1)
    log_u = log_z.copy()  # n = 1: (a)_0 z^1 / 1!
    log_q = np.log1p(-R / C)  # log of (c-r)_1 / (c)_1
    total = np.zeros(live.size)
    for n in range(1, max_terms):
        if live.size == 0:
            break
        scaled = np.exp(log_scale + log_u)
        total += scaled * -np.expm1(log_q)
        # the later u_m shrink by at most rho per step and d_m <= 1: a bound on the tail
        rho = np.maximum((A + n - 1) * Z / (n + 1), Z)
        with np.errstate(divide="ignore", invalid="ignore"):
            done = (rho < 1) & (scaled * rho / (1 - rho) <= 1e-17 * total)
        if np.any(done):
            out[live[done]] = total[done]
            keep = ~done
            live, R, A, C, Z, log_z, log_scale, log_u, log_q, total = (
                v[keep] for v in (live, R, A, C, Z, log_z, log_scale, log_u, log_q, total))
        log_u = log_u + np.log((A + n - 1) / (n + 1)) + log_z
        log_q = log_q + np.log1p(-R / (C + n))
    return out


def _quadrature_mean(t: float, r: float, alpha: float, a: float, b: float) -> float:
    """E[X(t)] of one parameter row by adaptive quadrature over the dropout probability.

    Given p, purchases follow the NBD until dropout: ``E[X(t) | p] = (1 - (1 + p t/alpha)^-r)
    / p`` (eq. (7) of [1] averaged over the gamma lambda), so ``E[X(t)] = E[h(p)]`` with p ~
    Beta(a, b). The integrand is bounded and smooth; the density is taken up to a constant
    and divided by its own integral (by the same rule), so no ``B(a, b)`` is needed (its
    ``gammaln`` difference loses ``eps * gammaln(b)`` for large b). For a < 1 the variable is
    ``u = p^a`` (``p^(a-1) dp = du / a``), which takes the singularity at 0 away. Break points
    at the mean +- multiples of the standard deviation and at ``p = alpha/t`` guide the rule.
    NaN when the rule does not reach a relative error of 1e-11.
    """
    k = t / alpha
    mean = a / (a + b)
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    if a < 1:
        to_p, to_v, log_peak = (lambda v: v ** (1 / a)), (lambda p: p ** a), 0.0
        at_zero = 1.0

        def log_density(p):
            return (b - 1) * np.log1p(-p)
    else:
        to_p, to_v = (lambda v: v), (lambda p: p)
        mode = (a - 1) / (a + b - 2) if a + b > 2 else mean
        log_peak = (a - 1) * np.log(mode) + (b - 1) * np.log1p(-mode) if mode > 0 else 0.0
        at_zero = float(np.exp(-log_peak)) if a == 1 else 0.0

        def log_density(p):
            return (a - 1) * np.log(p) + (b - 1) * np.log1p(-p)

    def density(v):
        p = to_p(v)
        if p <= 0:
            return at_zero
        return float(np.exp(log_density(p) - log_peak)) if p < 1 else 0.0

    def weighted(v):
        p = to_p(v)
        return density(v) * (r * k if p <= 0 else -np.expm1(-r * np.log1p(p * k)) / p)

    marks = {mean + s * sd for s in (-30, -10, -4, -1.5, 0, 1.5, 4, 10, 30)} | {1 / k}
    options = dict(points=sorted({float(to_v(p)) for p in marks if 0 < p < 1}), epsabs=0.0,
                   epsrel=1e-13, limit=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        top, top_err = integrate.quad(weighted, 0.0, 1.0, **options)
        bottom, bottom_err = integrate.quad(density, 0.0, 1.0, **options)
    if not (top > 0 and bottom > 0) or max(top_err / top, bottom_err / bottom) > 1e-11:
        return np.nan
    return top / bottom


def _population_mean(t, r, alpha, a, b):
    """E[X(t)] of the BG/NBD, eq. (9) of Fader, Hardie & Lee (2005), vectorised and finite.

    ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z)]``, z = t/(alpha+t). The
    product ``P = (1-z)^r 2F1(r, b; c; z)`` (c = a+b-1) is evaluated in one of three equal
    forms, whichever is finite and accurate:

    * for ``t < alpha`` (``w = -t/alpha`` in (-1, 0]), Pfaff's transformation
      ``P = 2F1(r, a-1; c; w)`` summed as a series for ``1 - P`` (no cancellation in the
      bracket; :func:`_pfaff_series`);
    * otherwise the series of the form as written, whose terms are all positive
      (``log_hyp2f1_series``), where it converges within its term limit;
    * otherwise scipy's 2F1 of the form as written (``a - 1 > r``: it converges at z = 1) or
      of Euler's transformation ``P = (1-z)^(a-1) 2F1(c-r, a-1; c; z)`` (moderate for large
      ``r`` = r + x in the conditional expectation); what is still not finite raises
      FloatingPointError rather than returning NaN;
    * where the last two leave ``1 - P`` below 1e-4, which costs ``eps / (1 - P)`` of
      relative precision, the mean is summed as one series of positive terms instead
      (:func:`_difference_series`);
    * rows that needed scipy's 2F1 (good to about 1e-8 near z = 1) or that no form made
      finite are integrated over the dropout probability (:func:`_quadrature_mean`, a few
      milliseconds per distinct row) where the quadrature converges.

    The powers are kept as logs and multiplied in log space (:func:`_hyp_product`): a power
    that underflows times a 2F1 that overflows was NaN or 0 before (a = b = 500). At a = 1 the
    expression is 0/0 with a finite limit; there it is extrapolated from a = 1 -+ 1e-3, 5e-4.
    """
    if np.any(np.abs(np.asarray(a) - 1) < 1e-6):
        # Richardson extrapolation of the symmetric means at a = 1 -+ h and 1 -+ h/2
        # (error of order h^4; the cancellation near a = 1 costs about eps/h)
        a = np.asarray(a, dtype=float)
        near = np.abs(a - 1) < 1e-6

        def mean_at(h):
            lo = _population_mean(t, r, alpha, np.where(near, 1 - h, a), b)
            return 0.5 * (lo + _population_mean(t, r, alpha, np.where(near, 1 + h, a), b)), lo

        wide, lo = mean_at(1e-3)
        narrow, _ = mean_at(5e-4)
        return np.where(near, (4 * narrow - wide) / 3, lo)
    near_zero_c = np.abs(np.asarray(a) + b - 1) < 1e-6  # 0 * 2F1(...; c=0; z): removable too
    if np.any(near_zero_c):
        b = np.asarray(b, dtype=float)
        shifted = 2 * _population_mean(t, r, alpha, a, b + 1e-5 * near_zero_c) - _population_mean(
            t, r, alpha, a, b + 2e-5 * near_zero_c
        )
        return np.where(near_zero_c, shifted, _population_mean(t, r, alpha, a, b + near_zero_c))
    t, r, alpha, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, r, alpha, a, b)))
    shape = t.shape
    if t.size > 1:
        # once per distinct (t, r, alpha, a, b): customers share (x, T), so the series run on
        # a few thousand rows, not one per customer
        distinct, inverse = factorize_rows(*(np.ravel(v) for v in (t, r, alpha, a, b)))
        if distinct[0].size < t.size:
            return _population_mean(*distinct)[inverse].reshape(shape)
    t, r, alpha, a, b = (np.ravel(v) for v in (t, r, alpha, a, b))
    c = a + b - 1
    w = -t / alpha
    z = t / (alpha + t)
    log_1mz = -np.log1p(t / alpha)  # ln(1 - z) = ln(alpha/(alpha+t))
    bracket = np.full(t.shape, np.nan)  # 1 - P
    small = (w > -1) & (c > 0)
    if np.any(small):
        bracket[small] = _pfaff_series(r[small], a[small] - 1, c[small], w[small])
    rest = np.isnan(bracket)
    via_scipy = np.zeros(t.shape, dtype=bool)
    if np.any(rest):
        ri, ai, bi, ci, zi, li = r[rest], a[rest], b[rest], c[rest], z[rest], log_1mz[rest]
        # the series of the form as written: positive terms, exact where it converges
        with np.errstate(over="ignore", invalid="ignore"):
            prod = np.where(ci > 0, np.exp(ri * li + log_hyp2f1_series(ri, bi, np.maximum(ci, 1e-300), zi)), np.nan)
        direct = ai - 1 > ri
        slow = np.isnan(prod)
        via_scipy[np.flatnonzero(rest)[slow]] = True
        if np.any(slow):
            prod[slow] = np.where(direct, _hyp_product(ri * li, ri, bi, ci, zi),
                                  _hyp_product((ai - 1) * li, ci - ri, ai - 1, ci, zi))[slow]
        bad = ~np.isfinite(prod)
        if np.any(bad):  # the other form
            other = np.where(direct, _hyp_product((ai - 1) * li, ci - ri, ai - 1, ci, zi),
                             _hyp_product(ri * li, ri, bi, ci, zi))
            prod = np.where(bad, other, prod)
        bad = ~np.isfinite(prod)
        if np.any(bad):
            # scipy's 2F1 returns NaN near z = 1 when c - a - b is an integer (e.g. r = a =
            # 0.05); the function is continuous in r, so take the mean of r -+ 1e-7
            idx = np.flatnonzero(bad)
            up = _hyp_product((ai[idx] - 1) * li[idx], ci[idx] - ri[idx] - 1e-7, ai[idx] - 1, ci[idx], zi[idx])
            down = _hyp_product((ai[idx] - 1) * li[idx], ci[idx] - ri[idx] + 1e-7, ai[idx] - 1, ci[idx], zi[idx])
            prod[idx] = 0.5 * (up + down)
        bracket[rest] = 1 - prod
    out = c / (a - 1) * bracket
    # 1 - P near 0 (b much larger than a - 1, with t >= alpha): the difference in doubles
    # loses eps/|1 - P| relatively; the series of positive terms does not
    cancelled = np.flatnonzero(np.isfinite(bracket) & (np.abs(bracket) < 1e-4) & (w <= -1))
    if cancelled.size:
        exact = _difference_series(r[cancelled], a[cancelled], c[cancelled], z[cancelled])
        out[cancelled] = np.where(np.isfinite(exact), exact, out[cancelled])
        via_scipy[cancelled[~np.isfinite(exact)]] = True
    # scipy's 2F1 near z = 1 is good to about 1e-8 (and may be NaN): those rows, and the
    # cancelled ones the series could not sum, are integrated instead where that converges
    for i in np.flatnonzero(via_scipy | ~np.isfinite(out)):
        value = _quadrature_mean(t[i], r[i], alpha[i], a[i], b[i])
        if np.isfinite(value):
            out[i] = value
    out = out.reshape(shape)
    if not np.all(np.isfinite(out)):
        i = int(np.flatnonzero(~np.isfinite(out.ravel()))[0])
        raise FloatingPointError(
            f"BetaGeo: E[X(t)] is not computable in double precision at t={t[i]:.6g} with "
            f"r={r[i]:.6g}, alpha={alpha[i]:.6g}, a={a[i]:.6g}, b={b[i]:.6g} (t/(alpha+t) = "
            f"{z[i]:.9f} is too close to 1 for the hypergeometric series at these parameters); "
            f"predict over a shorter horizon, or refit with penalizer_coef if a or b is extreme"
        )
    # rounding must not make an expectation negative
    return np.where(t.reshape(shape) == 0, 0.0, np.maximum(out, 0.0))


class BetaGeo(PurchaseModel):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005).

    Parameters
    ----------
    %(parameters)s

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``; ``alpha`` is in the time unit of recency and T. In the
        no-dropout limit (``limit_``) only ``{"r", "alpha"}``.
    limit_ : str or None
        None for the BG/NBD itself; ``"no_dropout"`` when the fit is its limit without
        dropout, the NBD (Poisson-gamma; ``p`` -> 0, i.e. ``b/a`` -> infinity). An
        unpenalised fit takes it when the BG/NBD's log-likelihood is less than 3.84/2 above
        the NBD's (a likelihood-ratio test; the NBD is the BG/NBD's limit, so it can never be
        higher), and warns (:class:`~segkit.models.LimitingModelWarning`). The predictions are
        then the NBD's: P(alive) = 1, E[X(t)] = r t/alpha, E[Y(t) | x, T] = (r+x) t/(alpha+T),
        P(Y(t) = 0 | x, T) = ((alpha+T)/(alpha+T+t))^(r+x), P(X(t) = n) negative binomial.
    %(fitted)s

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting Your Customers"
       the Easy Way: An Alternative to the Pareto/NBD Model. Marketing Science 24(2).
    .. [2] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008). Computing P(alive) using the
       BG/NBD model. http://brucehardie.com/notes/021/

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2],
    ...                      "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4], "T": [39.0] * 10})
    >>> customers = [600, 150, 60, 500, 30, 120, 300, 10, 100, 80]  # per row
    >>> bg = BetaGeo().fit_snapshot(snap, sample_weight=customers)
    >>> {k: round(v, 3) for k, v in bg.params_.items()}
    {'r': 0.124, 'alpha': 2.832, 'a': 4.909, 'b': 3.372}
    >>> round(bg.probability_alive(1, 5.0, 39.0), 3)  # bought again once, long ago
    0.095
    """

    _param_names = PARAMS
    _doc_starts = SCREENING_DOC + (" There the refinement is Newton's method with the analytic "
                                   "Hessian (a few steps; L-BFGS-B takes over should it fail).")
    _doc_hessian = "analytic"

    def _likelihood(self, x, t_x, big_t, weight) -> Likelihood:
        """Eq. (6) of [1] on the distinct rows, with its analytic Hessian for Newton's method
        on large data and for the standard errors."""
        d = _Data(x, t_x, big_t, weight)
        pen = float(self.penalizer_coef)
        W = d.total_weight
        rate = max(float(d.w_x @ d.x_u) / max(float(d.w_T @ d.T_u), 1e-9), 1e-6)
        screen = newton = None
        last: dict[str, Any] = {}  # the latest evaluation with the Hessian
        sample = self._screening_sample(x, t_x, big_t, weight)
        if sample is not None:
            d_s = _Data(*sample[0], sample[1])
            screen = penalised_objective(lambda theta: _log_likelihood(theta, d_s),
                                         d_s.total_weight, pen)

            def newton(theta):
                ll, grad, hess = _log_likelihood(theta, d, hessian=True)
                last.update(theta=theta.copy(), ll=ll, grad=grad, hess=hess)
                p = np.exp(theta)
                value = -ll / W + pen * np.sum(p**2)
                # chain rule to log-parameters: P H P + diag(p g)
                h = -(np.outer(p, p) * hess + np.diag(grad * p)) / W + np.diag(4 * pen * p**2)
                return value, -grad * p / W + 2 * pen * p**2, h

        def errors(theta):
            if "theta" in last and np.array_equal(last["theta"], theta):
                ll, grad, hess = last["ll"], last["grad"], last["hess"]
            else:
                with single_threaded_blas():
                    ll, grad, hess = _log_likelihood(theta, d, hessian=True)
                last.update(theta=theta.copy(), ll=ll, grad=grad, hess=hess)
            p = np.exp(theta)
            # the Hessian of the penalised objective on the total scale (W * penalizer_coef *
            # sum(p^2) for the penalty)
            return standard_errors_from_hessian(
                -(np.outer(p, p) * hess + np.diag(grad * p)) + np.diag(4 * pen * W * p**2),
                theta, PARAMS, model="BetaGeo", with_covariance=True,
            )

        return Likelihood(
            objective=penalised_objective(lambda theta: _log_likelihood(theta, d), W, pen),
            log_likelihood=lambda theta: (last["ll"] if np.array_equal(last.get("theta"), theta)
                                          else _log_likelihood(theta, d, gradient=False)[0]),
            start=np.log([1.0, 1.0 / rate, 1.0, 1.0]), total=W, n_distinct=d.rows,
            screen=screen, newton=newton, errors=errors, limit_data=(x, big_t, weight),
        )

    # -- predictions -------------------------------------------------------------------------
    def _p(self):
        check_is_fitted(self, "params_")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

    def _log_odds_dead(self, x, t_x, big_t):
        """D of eq. (6) rearranged: ln of P(dead)/P(alive) for x > 0, -inf for x = 0."""
        r, alpha, a, b = self._p()
        with np.errstate(divide="ignore", invalid="ignore"):
            D = (
                np.log(a)
                - np.log(np.where(x > 0, b + x - 1, 1.0))
                + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
            )
        return np.where(x > 0, D, -np.inf)

    def probability_alive(self, frequency: Any, recency: Any, T: Any):
        """P(still active at T | x, t_x, T) (Fader, Hardie & Lee 2008, eq. (2)).

        ``1 / (1 + [x>0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))``: 1 for customers without a
        repeat purchase (in the BG/NBD nobody drops out before the first repeat purchase).

        Examples
        --------
        >>> bg = BetaGeo()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> round(float(bg.probability_alive(2, 30.43, 38.86)), 3)
        0.727
        """
        return super().probability_alive(frequency, recency, T)

    def expected_purchases_population(self, t: Any):
        """E[X(t)]: expected purchases in (0, t] of a new customer (eq. (9) of [1]).

        ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]`` (see
        ``_population_mean`` for how it is evaluated). The published CDNOW values at
        t = 1, 3, 32 are 0.0532, 0.1506, 1.0437 (reproduced to 4 decimals by the fitted
        model); at t = 78 the fitted model gives 1.8580 against a published 1.8576, a gap
        consistent with a truncated hypergeometric series in the original spreadsheet.

        Examples
        --------
        >>> bg = BetaGeo()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> [round(float(v), 3) for v in bg.expected_purchases_population([1, 3, 32, 78])]
        [0.053, 0.151, 1.045, 1.861]
        """
        if self._limit():
            return self._limit_population_mean(t)
        r, alpha, a, b = self._p()
        t_arr, index = check_horizon(t)
        out = _population_mean(t_arr, r, alpha, a, b)
        return as_output(out, index, "expected_purchases", (t,))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (eq. (10) of [1]).

        ``(a+b+x-1)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x; a+b+x-1; z)]
        * P(alive)`` with ``z = t/(alpha+T+t)``, i.e. P(alive) times eq. (9) at the updated
        parameters (r+x, alpha+T, a, b+x).

        Parameters
        ----------
        t : float or array-like
            Length of the future period, in the unit of recency and T (broadcast against the
            customers).
        frequency, recency, T : array-like or Series

        Examples
        --------
        >>> bg = BetaGeo()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> round(float(bg.expected_purchases(39, 2, 30.43, 38.86)), 3)
        1.226
        """
        return super().expected_purchases(t, frequency, recency, T)

    def _alive(self, x, t_x, big_t):
        return np.exp(-np.logaddexp(0.0, self._log_odds_dead(x, t_x, big_t)))

    def _conditional(self, t, x, big_t, alive):
        """Eq. (10) of [1] for broadcastable arrays, given P(alive) (no input checks).

        Given that she is alive, a customer's future purchases follow the BG/NBD with the
        updated parameters (r+x, alpha+T, a, b+x), so eq. (10) is P(alive) times eq. (9)
        evaluated at those parameters.
        """
        r, alpha, a, b = self._p()
        return alive * _population_mean(t, r + x, alpha + big_t, a, b + x)


    def probability_no_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """P(Y(t) = 0 | x, t_x, T): the chance of no purchase in (T, T+t], per customer.

        A customer who has dropped out buys nothing; one who is alive has the updated rate
        ``lambda ~ Gamma(r+x, alpha+T)`` and (in the BG/NBD) cannot drop out before her next
        purchase, so she buys nothing with probability ``((alpha+T)/(alpha+T+t))^(r+x)``:

        ``1 - P(alive) + P(alive) ((alpha+T)/(alpha+T+t))^(r+x)``

        (eq. (10) of [1] gives the mean of Y(t); this is its zero class). Computed as
        ``1 - P(alive) (1 - ratio^(r+x))`` with ``expm1``, so it is exact for small ``t``. It
        is not ``exp(-E[Y(t)])``: purchases given the history are not Poisson.

        Parameters
        ----------
        t : float or array-like
            Length of the future period, in the unit of recency and T.
        frequency, recency, T : array-like or Series

        Examples
        --------
        >>> bg = BetaGeo()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> round(float(bg.probability_no_purchases(13, 2, 30.43, 38.86)), 4)
        0.6765
        >>> round(float(bg.probability_no_purchases(13, 0, 0.0, 38.86)), 4)  # never bought again
        0.9382
        """
        self._limit()
        x, t_x, big_t, index = check_prediction_inputs(frequency, recency, T)
        t_arr, _ = check_horizon(t)
        t_arr, x, t_x, big_t = broadcast(t_arr, x, t_x, big_t)
        out = self._no_purchase(t_arr, x, t_x, big_t)
        return as_output(out, index, "probability_no_purchases", (t, frequency, recency, T))

    def _no_purchase(self, t, x, t_x, big_t):
        if self._limit():  # alive for sure: ((alpha+T)/(alpha+T+t))^(r+x)
            return _nbd.no_purchase(t, x, big_t, *self._limit_params())
        r, alpha, _, _ = self._p()
        alive = self._alive(x, t_x, big_t)
        buys = -np.expm1(-(r + x) * np.log1p(t / (alpha + big_t)))  # 1 - ratio^(r+x)
        return 1.0 - alive * buys

    def probability_of_purchases(self, n: Any, t: Any):
        """P(X(t) = n): chance that a new customer makes ``n`` purchases in (0, t] (eq. (8) of [1]).

        ``B(a, b+n)/B(a, b) NB(n; r, z) + [n>0] B(a+1, b+n-1)/B(a, b) P(NB >= n)``, with
        ``NB(n; r, z) = G(r+n)/(G(r) n!) (1-z)^r z^n`` the negative binomial (Poisson-gamma)
        probability, ``z = t/(alpha+t)``, and its upper tail written as the regularised
        incomplete beta function ``P(NB >= n) = I_z(n, r)`` (no cancelling sum). The first
        term is taken in log space, so large ``n`` and ``t`` stay finite.

        Parameters
        ----------
        n : int or array-like
            Number of purchases (whole, non-negative).
        t : float or array-like
            Length of the period, in the unit of recency and T (broadcast against ``n``).

        Returns
        -------
        float, ndarray or Series
            A Series when ``n`` or ``t`` was one.

        Examples
        --------
        >>> bg = BetaGeo()
        >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
        >>> [round(float(p), 4) for p in bg.probability_of_purchases([0, 1, 2], 39)]
        [0.5738, 0.1994, 0.0854]
        >>> bg.probability_of_purchases(10, 2)  # R package BTYD, bgnbd.pmf: 1.07869e-07
        1.0786896403691495e-07
        """
        if self._limit():
            return self._limit_count_probability(n, t)
        r, alpha, a, b = self._p()
        n_arr, t_arr, index = check_counts(n, t)
        out = _purchase_count_probability(n_arr, t_arr, r, alpha, a, b)
        return as_output(out, index, "probability_of_purchases", (n, t))


def _purchase_count_probability(n, t, r, alpha, a, b):
    """Eq. (8) of Fader, Hardie & Lee (2005) for broadcast arrays (see probability_of_purchases)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        log_1mz = -np.log1p(t / alpha)  # ln(alpha/(alpha+t))
        log_z = np.log(t) - np.log(alpha + t)
        log_nb = gammaln(r + n) - gammaln(r) - gammaln(n + 1) + r * log_1mz + np.where(n > 0, n * log_z, 0.0)
        first = np.exp(betaln(a, b + n) - betaln(a, b) + log_nb)
        tail = np.where(n > 0, betainc(np.maximum(n, 1.0), r, t / (alpha + t)), 0.0)
        second = np.where(n > 0, np.exp(betaln(a + 1, b + n - 1) - betaln(a, b)) * tail, 0.0)
    return first + second

"""Pareto/NBD: the classic model of repeat purchasing with unobserved dropout.

Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting Your Customers: Who Are
They and What Will They Do Next? *Management Science* 33(1), 1-24; likelihood and
expressions as in Fader, P. S. and Hardie, B. G. S. (2005), "A Note on Deriving the
Pareto/NBD Model and Related Expressions", http://brucehardie.com/notes/009/.

While active a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; her lifetime is
exponential with rate ``mu ~ Gamma(s, beta)``. ``alpha`` and ``beta`` are scales in the
data's time unit.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import gammaln, hyp2f1

from segkit.models._base import Likelihood, PurchaseModel, check_counts, check_horizon
from segkit.models._checks import as_output
from segkit.models._docs import SCREENING_DOC
from segkit.models._hypergeometric import log_hyp2f1_series
from segkit.models._nbd import NO_DROPOUT_LR_CRITICAL, fit_nbd
from segkit.models._optim import (
    ConvergenceError,
    compress,
    factorize_rows,
    numeric_gradient,
    standard_errors,
)

__all__ = ["ParetoNBD"]

PARAMS = ("r", "alpha", "s", "beta")
#: An unpenalised fit stops following a start once fewer than this share of customers would
#: drop out within the longest observation period while its likelihood is not significantly
#: above the NBD's: it is heading for the no-dropout limit.
NO_DROPOUT_SHARE = 1e-3
#: Gauss-Legendre rule for the A0 integral near the no-dropout boundary (:func:`_log_A0_integral`).
GAUSS_NODES, GAUSS_WEIGHTS = np.polynomial.legendre.leggauss(64)
#: The rule is used where the log-integrand varies by at most this over the interval (there
#: 64 nodes integrate it to rounding).
GAUSS_SPAN = 80.0


def _log_G(r, alpha, s, beta, x, y):
    """ln G(y), the bounded hypergeometric factor of the A0 term (see :func:`_log_terms`).

    Eq. (22) of Fader & Hardie (2005) writes ``A0`` with ``2F1(r+s+x, s+1; r+s+x+1; z)``
    (alpha >= beta) or ``2F1(r+s+x, r+x; r+s+x+1; z)`` (alpha < beta). Both diverge like
    ``(1-z)^-s`` near z = 1; Euler's transformation ``2F1(a,b;c;z) = (1-z)^(c-a-b)
    2F1(c-a, c-b; c; z)`` turns them into ``2F1(1, b'; c; z)`` with ``c > b' > 0`` -- a series
    of positive, decreasing terms between 1 and 1/(1-z) -- and moves the powers of (1-z) into
    the closed-form part:

    * alpha >= beta: ``G = 2F1(1, r+x; r+s+x+1; (alpha-beta)/(alpha+y))``
    * alpha <  beta: ``G = (alpha+y)/(beta+y) * 2F1(1, s+1; r+s+x+1; (beta-alpha)/(beta+y))``
    """
    c = r + s + x + 1
    if alpha >= beta:
        z = (alpha - beta) / (alpha + y)
        second, log_front = r + x, 0.0
    else:
        z = (beta - alpha) / (beta + y)
        second, log_front = s + 1, np.log1p(-z)
    # scipy's 2F1 where it is reliable and fast (small c or z, z not near 1); elsewhere, and where
    # it is not finite, the series of positive terms (scipy's is NaN or wrong for c in the
    # hundreds near z = 1: P(alive) was NaN for x = 89, r = 10, alpha = 1, s = 1, beta = 100)
    second, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (second, c, z)))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_hyp = np.log(hyp2f1(1.0, second, c, z))
    series = ((c > 30) & (z > 0.5)) | (z > 0.9) | ~np.isfinite(log_hyp)
    if np.any(series):
        exact = log_hyp2f1_series(1.0, second[series], c[series], z[series])
        log_hyp[series] = np.where(np.isnan(exact), log_hyp[series], exact)
    return log_front + log_hyp


def _quadrature_rows(r, alpha, s, beta, x, t_x, T):
    """Rows whose A0 is taken by :func:`_log_A0_integral` instead of the hypergeometric series.

    Near the no-dropout boundary (beta much larger than alpha) ``z = (beta-alpha)/(beta+y)``
    of :func:`_log_G` is close to 1 and, for customers with few purchases, its series needs
    tens of thousands of terms -- 3 s per likelihood evaluation on 5,000 customers at beta =
    1e3 to 1e7 instead of milliseconds, so that the fit on data without dropout took minutes
    to fail (issue 14). There the integral is smooth and short: a fixed Gauss rule is exact
    to rounding and costs 64 evaluations per row.
    """
    if alpha >= beta:
        return np.zeros(np.shape(x), dtype=bool)
    z = (beta - alpha) / (beta + t_x)
    span = (np.abs(r + x - 1) + s + 1) * (np.log(alpha + T) - np.log(alpha + t_x))
    return (z > 0.9) & (span <= GAUSS_SPAN)


def _log_A0_integral(r, alpha, s, beta, x, t_x, T):
    """``ln A0`` from its integral, ``A0 = (r+s+x) * integral over (t_x, T) of
    (alpha+u)^-(r+x) (beta+u)^-(s+1) du`` (the dropout term of the likelihood: purchases at
    rate lambda up to the time of leaving u, integrated over the gamma mixing distributions).

    Taken over ``w = ln(alpha+u)``, where the log of the integrand,
    ``-(r+x-1) w - (s+1) ln(beta-alpha+e^w)``, is smooth with slopes between -(r+x-1)-(s+1)
    and -(r+x-1): 64-point Gauss-Legendre in log space (``logsumexp``). -inf when t_x = T.
    """
    lo, hi = np.log(alpha + t_x), np.log(alpha + T)
    half = (hi - lo) / 2
    w = ((lo + hi) / 2)[:, None] + half[:, None] * GAUSS_NODES
    log_f = -(r + x - 1)[:, None] * w - (s + 1) * np.log(beta - alpha + np.exp(w))
    log_f += np.log(GAUSS_WEIGHTS)
    top = log_f.max(axis=1)  # log-sum-exp by hand: scipy's costs as much again
    with np.errstate(divide="ignore"):
        return (np.log(r + s + x) + top + np.log(np.exp(log_f - top[:, None]).sum(axis=1))
                + np.log(half))


def _log_G_needed(r, alpha, s, beta, pair_x, pair_y, needed):
    """:func:`_log_G` of the pairs a row still needs (NaN for the others)."""
    out = np.full(pair_x.shape, np.nan)
    if np.any(needed):
        out[needed] = _log_G(r, alpha, s, beta, pair_x[needed], pair_y[needed])
    return out


def _log_terms(r, alpha, s, beta, x, t_x, T, log_G_tx, log_G_T, quad=None):
    """ln of the bracket of the likelihood and ln of its first term.

    Fader & Hardie (2005), eq. (22)::

        L = G(r+x) alpha^r beta^s / G(r) * [ 1/((alpha+T)^(r+x) (beta+T)^s) + s/(r+s+x) A0 ]
        A0 = F(t_x) - F(T),  F(y) = (alpha+y)^-(r+x) (beta+y)^-s G(y)

    Returns ``(ln bracket, ln first term)``; the difference of the two F terms is taken as
    ``ln F(t_x) + log1p(-exp(ln F(T) - ln F(t_x)))`` and the sum by ``logaddexp``. Rows marked
    in ``quad`` take ``ln A0`` from its integral (:func:`_log_A0_integral`) instead.
    """
    ln_first = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    ln_F_tx = -(r + x) * np.log(alpha + t_x) - s * np.log(beta + t_x) + log_G_tx
    ln_F_T = ln_first + log_G_T
    gap = np.minimum(ln_F_T - ln_F_tx, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ln_A0 = ln_F_tx + np.log(-np.expm1(gap))  # -inf when t_x == T
    if quad is not None and np.any(quad):
        ln_A0[quad] = _log_A0_integral(r, alpha, s, beta, x[quad], t_x[quad], T[quad])
    ln_second = np.log(s) - np.log(r + s + x) + ln_A0
    return np.logaddexp(ln_first, ln_second), ln_first


class _Data:
    """Distinct (x, t_x, T) rows with weights; hypergeometric terms per distinct (x, y)."""

    def __init__(self, x, t_x, T, weight):
        (x, t_x, T), w = compress(x, t_x, T, weight=weight)
        self.x, self.t_x, self.T, self.w = x, t_x, T, w
        self.total_weight = float(w.sum())
        pairs_x = np.concatenate([x, x])
        pairs_y = np.concatenate([t_x, T])
        (self.pair_x, self.pair_y), _ = compress(pairs_x, pairs_y, weight=np.ones(pairs_x.size))
        # position of each row's (x, t_x) and (x, T) pair among the distinct pairs
        key = pd.MultiIndex.from_arrays([self.pair_x, self.pair_y])
        self.i_tx = key.get_indexer(pd.MultiIndex.from_arrays([x, t_x]))
        self.i_T = key.get_indexer(pd.MultiIndex.from_arrays([x, T]))
        self.x_u, self.x_i = np.unique(x, return_inverse=True)
        self.w_x = np.bincount(self.x_i, weights=w, minlength=self.x_u.size)
        self.rows = int(x.size)


def _log_likelihood(log_params: np.ndarray, d: _Data) -> float:
    """Weighted total log-likelihood (eq. (22) of Fader & Hardie 2005)."""
    r, alpha, s, beta = np.exp(log_params)
    quad = _quadrature_rows(r, alpha, s, beta, d.x, d.t_x, d.T)
    needed = np.zeros(d.pair_x.size, dtype=bool)
    needed[d.i_tx[~quad]] = needed[d.i_T[~quad]] = True
    log_G = _log_G_needed(r, alpha, s, beta, d.pair_x, d.pair_y, needed)
    ln_bracket, _ = _log_terms(r, alpha, s, beta, d.x, d.t_x, d.T, log_G[d.i_tx], log_G[d.i_T],
                               quad)
    return float(
        d.w_x @ gammaln(r + d.x_u)
        + d.total_weight * (-gammaln(r) + r * np.log(alpha) + s * np.log(beta))
        + d.w @ ln_bracket
    )


class ParetoNBD(PurchaseModel):
    """Pareto/NBD model of repeat purchasing (Schmittlein, Morrison & Colombo 1987).

    %(parameters)s

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "s", "beta"}``; ``alpha`` and ``beta`` are in the time unit of the data.
        In the no-dropout limit (``limit_``) only ``{"r", "alpha"}``.
    limit_ : str or None
        None for the Pareto/NBD itself; ``"no_dropout"`` when the fit is its limit without
        dropout (mean dropout rate ``s/beta`` -> 0), the NBD, taken as by
        :class:`~segkit.models.BetaGeo` (likelihood-ratio test, with a
        :class:`~segkit.models.LimitingModelWarning`); the predictions are then the NBD's.
    %(fitted)s

    References
    ----------
    .. [1] Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987). Counting Your
       Customers: Who Are They and What Will They Do Next? Management Science 33(1).
    .. [2] Fader, P. S. and Hardie, B. G. S. (2005). A Note on Deriving the Pareto/NBD Model
       and Related Expressions. http://brucehardie.com/notes/009/

    Examples
    --------
    >>> pn = ParetoNBD()
    >>> pn.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
    >>> round(float(pn.expected_purchases_population(39)), 3)
    1.213
    >>> round(float(pn.probability_alive(2, 30.43, 38.86)), 3)
    0.869
    """

    _param_names = PARAMS
    _doc_starts = SCREENING_DOC
    _doc_tol = (" The gradient is taken by central differences, as the hypergeometric term "
                "has no closed-form derivatives in its parameters.")
    _doc_hessian = "numeric (central differences of a central-difference gradient)"

    def __init__(self, penalizer_coef: float = 0.0, n_starts: int = 3, random_state: Any = 0,
                 tol: float = 1e-7, max_iter: int = 1000):
        super().__init__(penalizer_coef, n_starts, random_state, tol, max_iter)

    def _likelihood(self, x, t_x, big_t, weight) -> Likelihood:
        """Eq. (22) of [2] on the distinct rows, with central-difference gradients; an
        unpenalised start heading for the no-dropout limit is stopped on the way."""
        d = _Data(x, t_x, big_t, weight)
        pen = float(self.penalizer_coef)
        W = d.total_weight

        def value(theta):
            ll = _log_likelihood(theta, d)
            return -ll / W + pen * float(np.sum(np.exp(2 * theta)))

        def objective(theta):
            with np.errstate(all="ignore"):
                return value(theta), numeric_gradient(value, theta, step=1e-5)

        rate = max(float(d.w @ d.x) / float(d.w @ np.maximum(d.T, 1e-9)), 1e-6)
        mean_T = max(float(d.w @ d.T) / W, 1e-6)
        screen = None
        sample = self._screening_sample(x, t_x, big_t, weight)
        if sample is not None and self.n_starts > 1:
            d_s = _Data(*sample[0], sample[1])
            W_s = d_s.total_weight

            def value_s(theta):
                return -_log_likelihood(theta, d_s) / W_s + pen * float(np.sum(np.exp(2 * theta)))

            def screen(theta):
                with np.errstate(all="ignore"):
                    return value_s(theta), numeric_gradient(value_s, theta, step=1e-5)

        def neg_grad(th):  # of the objective optimised: penalised when penalised
            return numeric_gradient(
                lambda u: -_log_likelihood(u, d) + W * pen * float(np.sum(np.exp(2 * u))), th, step=1e-4
            )

        longest = float(d.T.max())
        try:  # the no-dropout limit's log-likelihood, for stopping early on the way there
            nbd_value = -fit_nbd(d.x, d.T, d.w, model="ParetoNBD").log_likelihood / W
        except ConvergenceError:
            nbd_value = -np.inf

        def no_dropout(theta, value):
            """Stop a start where fewer than 1 in 1,000 customers would drop out within the
            longest observation and the likelihood is not significantly above the NBD's: it
            is on its way to the no-dropout limit, which the limit test then compares. The walk
            along the ridge to beta = e^30 took minutes (the fit took 155 s to fail, issue 14)
            and each step there changes the likelihood by less than rounding."""
            _, _, s, beta = np.exp(theta)
            dropped = -np.expm1(-s * np.log1p(longest / beta))  # 1 - (beta/(beta+T))^s
            near = value > nbd_value - NO_DROPOUT_LR_CRITICAL / 2 / W
            return "no dropout (s/beta -> 0)" if dropped < NO_DROPOUT_SHARE and near else None

        return Likelihood(
            objective=objective, log_likelihood=lambda theta: _log_likelihood(theta, d),
            start=np.log([1.0, 1.0 / rate, 1.0, mean_T]), total=W, n_distinct=d.rows,
            screen=screen, boundary=no_dropout if pen == 0 else None,
            errors=lambda theta: standard_errors(neg_grad, theta, PARAMS, step=1e-3,
                                                 model="ParetoNBD", with_covariance=True),
            limit_data=(d.x, d.T, d.w),
        )

    # -- predictions -------------------------------------------------------------------------
    def _alive(self, x, t_x, big_t):
        r, alpha, s, beta = self._p()
        # the hypergeometric term once per distinct (x, y) pair, as in the fit: a million
        # customers have a few tens of thousands of pairs
        shape = np.shape(x)
        x, t_x, big_t = (np.ravel(a) for a in (x, t_x, big_t))
        (pair_x, pair_y), inverse = factorize_rows(np.concatenate([x, x]),
                                                   np.concatenate([t_x, big_t]))
        quad = _quadrature_rows(r, alpha, s, beta, x, t_x, big_t)
        needed = np.zeros(pair_x.size, dtype=bool)
        needed[inverse[np.concatenate([~quad, ~quad])]] = True
        log_G = _log_G_needed(r, alpha, s, beta, pair_x, pair_y, needed)[inverse]
        ln_bracket, ln_first = _log_terms(r, alpha, s, beta, x, t_x, big_t,
                                          log_G[: x.size], log_G[x.size:], quad)
        alive = np.exp(ln_first - ln_bracket)
        if not np.all(np.isfinite(alive)):
            i = int(np.flatnonzero(~np.isfinite(alive))[0])
            raise FloatingPointError(
                f"ParetoNBD: P(alive) is not computable in double precision for x={x[i]:.0f}, "
                f"t_x={t_x[i]:.6g}, T={big_t[i]:.6g} with r={r:.6g}, alpha={alpha:.6g}, s={s:.6g}, "
                f"beta={beta:.6g} (the hypergeometric series converges too slowly: alpha and beta "
                f"differ by orders of magnitude); refit with penalizer_coef or check the data"
            )
        return alive.reshape(shape)

    def probability_alive(self, frequency: Any, recency: Any, T: Any):
        """P(still active at T | x, t_x, T) (Fader & Hardie 2005, eq. (18)).

        The first term of the likelihood bracket divided by the whole bracket:
        ``1 / (1 + s/(r+s+x) (alpha+T)^(r+x) (beta+T)^s A0)``.
        """
        return super().probability_alive(frequency, recency, T)

    def expected_purchases_population(self, t: Any):
        """E[X(t)] = r beta / (alpha (s-1)) [1 - (beta/(beta+t))^(s-1)] (eq. (17) of [1]).

        At s = 1 the limit ``r beta/alpha ln((beta+t)/beta)`` is used.
        """
        if self._limit():
            return self._limit_population_mean(t)
        r, alpha, s, beta = self._p()
        t_arr, index = check_horizon(t)
        out = r / alpha * _survival_integral(s, beta, t_arr)
        return as_output(out, index, "expected_purchases", (t,))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """E[Y(t) | x, t_x, T], expected purchases in (T, T+t] (Fader & Hardie 2005, eq. (21)).

        ``(r+x)(beta+T) / ((alpha+T)(s-1)) [1 - ((beta+T)/(beta+T+t))^(s-1)] * P(alive)``.
        """
        return super().expected_purchases(t, frequency, recency, T)

    def _conditional(self, t, x, big_t, alive):
        """Eq. (21) of [2] for broadcastable arrays, given P(alive) (no input checks)."""
        r, alpha, s, beta = self._p()
        return (r + x) / (alpha + big_t) * _survival_integral(s, beta + big_t, t) * alive

    def probability_of_purchases(self, n: Any, t: Any):
        """P(X(t) = n): chance that a new customer makes ``n`` purchases in (0, t].

        Given the purchase rate and the dropout rate, the count is Poisson over the time the
        customer is alive in (0, t]; integrated over both gamma distributions,

        ``P(X(t)=n) = NB(n; r, t/(alpha+t)) (beta/(beta+t))^s
        + integral over (0, t] of NB(n; r, u/(alpha+u)) (s/beta) (beta/(beta+u))^(s+1) du``

        with ``NB(n; r, z) = G(r+n)/(G(r) n!) (1-z)^r z^n`` the negative binomial: the first
        term is the customer alive all along, the second one who left at ``u``. This is the
        expression Fader, Hardie & Lee derive in closed form with Gauss hypergeometric
        functions ("Deriving an expression for P(X(t) = x) under the Pareto/NBD model",
        2006); the integral of a smooth positive function is taken numerically instead
        (adaptive quadrature in log space), so it stays finite where those functions do not
        (large n, t, or parameters far apart), and the tests check it against the closed form.

        %(counts)s

        Raises
        ------
        FloatingPointError
            If the quadrature does not reach its tolerance (it never has on published
            parameters; the message names n, t and the parameters).

        Examples
        --------
        >>> pnbd = ParetoNBD()
        >>> pnbd.params_ = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}  # CDNOW
        >>> [round(float(p), 4) for p in pnbd.probability_of_purchases([0, 1, 2], 39)]
        [0.5936, 0.1656, 0.0825]
        """
        if self._limit():
            return self._limit_count_probability(n, t)
        r, alpha, s, beta = self._p()
        n_arr, t_arr, index = check_counts(n, t)
        shape = n_arr.shape
        flat_n, flat_t = np.ravel(n_arr), np.ravel(t_arr)
        (pair_n, pair_t), inverse = factorize_rows(flat_n, flat_t)  # each distinct (n, t) once
        values = np.array([_count_probability(k, u, r, alpha, s, beta) for k, u in zip(pair_n, pair_t, strict=True)])
        out = values[inverse].reshape(shape)
        return as_output(out, index, "probability_of_purchases", (n, t))



def _log_nb(n: float, r: float, alpha: float, u):
    """ln NB(n; r, u/(alpha+u)): Poisson(lambda u) counts over lambda ~ gamma(r, alpha)."""
    u = np.asarray(u, dtype=float)
    with np.errstate(divide="ignore"):
        log_z = np.where(u > 0, np.log(u) - np.log(alpha + u), -np.inf)
    counted = n * log_z if n > 0 else 0.0
    return gammaln(r + n) - gammaln(r) - gammaln(n + 1) - r * np.log1p(u / alpha) + counted


def _count_probability(n: float, t: float, r: float, alpha: float, s: float, beta: float) -> float:
    """P(X(t) = n) of the Pareto/NBD (see ParetoNBD.probability_of_purchases)."""
    from scipy import integrate

    if t == 0:
        return 1.0 if n == 0 else 0.0
    alive = np.exp(_log_nb(n, r, alpha, t) - s * np.log1p(t / beta))
    log_scale = np.log(s / beta)

    def left_at(u):
        return np.exp(_log_nb(n, r, alpha, u) + log_scale - (s + 1) * np.log1p(u / beta))

    # the integrand peaks near the time in which the mean count reaches n: tell the quadrature
    peak = alpha * n / max(r, 1e-12)
    points = [peak] if 0 < peak < t else None
    left, error = integrate.quad(left_at, 0.0, t, points=points, limit=500, epsabs=0.0, epsrel=1e-12)
    total = alive + left
    if not np.isfinite(total) or error > 1e-9 * max(total, 1e-300) + 1e-300:
        raise FloatingPointError(
            f"ParetoNBD: P(X(t)={n:.0f}) for t={t:.6g} did not converge (estimated error {error:.3g}) with "
            f"r={r:.6g}, alpha={alpha:.6g}, s={s:.6g}, beta={beta:.6g}")
    return float(total)


def _survival_integral(s: float, b: Any, t: Any) -> np.ndarray:
    """``b/(s-1) [1 - (b/(b+t))^(s-1)]`` = integral over (0, t] of ``(b/(b+u))^s du``.

    Written with ``expm1`` so it stays exact near s = 1, where it tends to ``b ln((b+t)/b)``.
    """
    log_ratio = np.log1p(t / b)  # ln((b+t)/b)
    if abs(s - 1) < 1e-10:
        return b * log_ratio
    return b * -np.expm1(-(s - 1) * log_ratio) / (s - 1)

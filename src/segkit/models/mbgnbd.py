"""MBG/NBD: the modified beta-geometric / negative binomial model of repeat purchasing.

Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical validation and comparison
of models for customer base analysis. *International Journal of Research in Marketing*
24(3), 201-209; with the corrections of Wagner, U. and Hoppe, D. (2008). Erratum on the
MBG/NBD model. *IJRM* 25(3), 225-226.

As the BG/NBD (:class:`~segkit.models.BetaGeo`), except that a customer may also drop out
right after her first purchase (at time 0), with the same probability ``p ~ Beta(a, b)``
as after every repeat purchase. So a customer without a repeat purchase need not be alive
-- the BG/NBD's P(alive) = 1 for them is the best-known complaint about that model.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.special import betaln, digamma, gammaln

from segkit.models._base import Likelihood, PurchaseModel, check_horizon
from segkit.models._checks import as_output
from segkit.models._docs import SCREENING_DOC
from segkit.models._hypergeometric import _population_mean
from segkit.models._optim import penalised_objective

__all__ = ["ModifiedBetaGeo"]

PARAMS = ("r", "alpha", "a", "b")


def _log_likelihood(log_params: np.ndarray, x, t_x, T, w, gradient: bool = True):
    """Weighted total log-likelihood and its gradient in the natural parameters.

    Batislam et al. (2007), eq. (4) as corrected by Wagner & Hoppe (2008)::

        ln L = ln G(r+x) - ln G(r) + r ln(alpha) + ln B(a, b+x+1) - ln B(a, b)
               - (r+x) ln(alpha+T) + ln(1 + exp(D)),
        D    = ln(a) - ln(b+x) + (r+x) ln((alpha+T)/(alpha+t_x)),

    the last term a soft-plus: ``1 + exp(D)`` is 1/P(alive). Unlike the BG/NBD, D is defined
    for x = 0 too (the customer may have dropped out at time 0).
    """
    r, alpha, a, b = np.exp(log_params)
    diff = np.log(alpha + T) - np.log(alpha + t_x)
    rx = r + x
    D = np.log(a) - np.log(b + x) + rx * diff
    ll = w @ (
        gammaln(rx) + betaln(a, b + x + 1) - rx * np.log(alpha + T) + np.logaddexp(0.0, D)
    ) + w.sum() * (-gammaln(r) + r * np.log(alpha) - betaln(a, b))
    if not gradient:
        return ll, None
    with np.errstate(over="ignore"):
        s = 1.0 / (1.0 + np.exp(-D))  # expit(D) = 1 - P(alive)
    W = w.sum()
    ab, abx = digamma(a + b), digamma(a + b + x + 1)
    grad = np.array([
        w @ (digamma(rx) - np.log(alpha + T) + s * diff) + W * (np.log(alpha) - digamma(r)),
        W * r / alpha - w @ (rx / (alpha + T) - s * rx * (1 / (alpha + T) - 1 / (alpha + t_x))),
        w @ (ab - abx + s / a),
        w @ (digamma(b + x + 1) - abx - s / (b + x)) + W * (ab - digamma(b)),
    ])
    return ll, grad


def _mean(t, r, alpha, a, b):
    """The BG/NBD's eq. (9) at these parameters, or FloatingPointError where it failed.

    A BG/NBD customer makes at least the purchases of the first one before t, so
    ``E[X(t)] >= 1 - (alpha/(alpha+t))^r``; with very large ``a`` the closed form can give
    NaN, or 0 below that bound (issue 14), which must not pass for a prediction.
    """
    out = _population_mean(t, r, alpha, a, b)
    first = -np.expm1(-r * np.log1p(np.asarray(t) / alpha))  # P(a purchase in (0, t])
    with np.errstate(invalid="ignore"):
        # (below first ~ 1e-6 the bracket 1 - ... cancels to rounding, so 0 is no evidence)
        bad = ~np.isfinite(out) | ((out < 0.5 * first) & (first > 1e-6))
    if np.any(bad):
        raise FloatingPointError(
            f"ModifiedBetaGeo: the expected purchases are not computable in floating point "
            f"for {int(np.sum(bad))} of {np.size(bad)} values at r={np.max(r):.4g}, "
            f"alpha={np.max(alpha):.4g}, a={a:.4g}, b={np.max(b):.4g} (the BG/NBD closed form "
            f"fails for very large a); a fit with penalizer_coef (e.g. 0.001) keeps a moderate"
        )
    return out


class ModifiedBetaGeo(PurchaseModel):
    """MBG/NBD model of repeat purchasing (Batislam, Denizel & Filiztekin 2007).

    While active a customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)``; at time 0 and
    after each repeat purchase she drops out with probability ``p ~ Beta(a, b)``. Same data
    (frequency, recency, T in one unit), same front (:meth:`fit_snapshot`,
    :meth:`probability_alive`, :meth:`expected_purchases`) as :class:`~segkit.models.BetaGeo`.

    %(parameters)s

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``, as for :class:`~segkit.models.BetaGeo` (only ``{"r",
        "alpha"}`` in the no-dropout limit).
    limit_ : str or None
        None for the MBG/NBD itself; ``"no_dropout"`` when the fit is its limit without
        dropout (``b/a`` -> infinity: no dropout at time 0 nor after a purchase), the NBD,
        taken as by :class:`~segkit.models.BetaGeo` (likelihood-ratio test, with a
        :class:`~segkit.models.LimitingModelWarning`); the predictions are then the NBD's.
    %(fitted)s

    References
    ----------
    .. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical validation and
       comparison of models for customer base analysis. IJRM 24(3), 201-209.
    .. [2] Wagner, U. and Hoppe, D. (2008). Erratum on the MBG/NBD model. IJRM 25(3), 225-226.

    Examples
    --------
    The data of :class:`~segkit.models.BetaGeo`'s example, as a table with counts:

    >>> import pandas as pd
    >>> table = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2],
    ...                       "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4], "T": 39.0,
    ...                       "n_customers": [600, 150, 60, 500, 30, 120, 300, 10, 100, 80]})
    >>> mbg = ModifiedBetaGeo().fit_snapshot(table, sample_weight="n_customers")
    >>> {k: round(v, 3) for k, v in mbg.params_.items()}
    {'r': 0.764, 'alpha': 6.677, 'a': 8.731, 'b': 4.948}
    >>> round(mbg.probability_alive(0, 0.0, 39.0), 3)  # no repeat purchase: not surely alive
    0.115
    """

    _param_names = PARAMS
    _doc_starts = SCREENING_DOC

    def _likelihood(self, x, t_x, big_t, weight) -> Likelihood:
        """Eq. (4) of [1] (as corrected by [2]) on the distinct rows; the optimum is polished
        by Newton's method with the numeric Hessian of the analytic gradient."""
        pen = float(self.penalizer_coef)

        def make_objective(data, total):
            return penalised_objective(lambda theta: _log_likelihood(theta, *data), total, pen)

        W = float(weight.sum())
        screen = None
        sample = self._screening_sample(x, t_x, big_t, weight)
        if sample is not None:
            screen = make_objective((*sample[0], sample[1]), float(sample[1].sum()))
        rate = max(float(weight @ x) / max(float(weight @ big_t), 1e-9), 1e-6)
        # b/a -> infinity removes both kinds of dropout (at time 0 and after a purchase)
        return Likelihood(
            objective=make_objective((x, t_x, big_t, weight), W),
            log_likelihood=lambda theta: _log_likelihood(theta, x, t_x, big_t, weight,
                                                         gradient=False)[0],
            start=np.log([1.0, 1.0 / rate, 1.0, 1.0]), total=W, n_distinct=weight.size,
            screen=screen, polish=True, limit_data=(x, big_t, weight),
        )

    # -- predictions -------------------------------------------------------------------------
    def probability_alive(self, frequency: Any, recency: Any, T: Any):
        """P(still active at T | x, t_x, T) (Batislam et al. 2007, appendix, eq. (5)).

        ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))``, below 1 for customers without a
        repeat purchase too.

        Examples
        --------
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> [round(float(v), 3) for v in mbg.probability_alive([0, 2], [0.0, 30.43], 38.86)]
        [0.39, 0.706]
        """
        return super().probability_alive(frequency, recency, T)

    def expected_purchases_population(self, t: Any):
        """E[X(t)]: expected repeat purchases in (0, t] of a new customer.

        ``b/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b+1; a+b; t/(alpha+t))]``: with probability
        E[1-p] = b/(a+b) she survives time 0, and then buys as a BG/NBD customer with
        ``p ~ Beta(a, b+1)`` -- so it is evaluated as ``b/(a+b)`` times the BG/NBD's eq. (9)
        at (r, alpha, a, b+1), with its guards against under- and overflow.

        Examples
        --------
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> [round(float(v), 4) for v in mbg.expected_purchases_population([1, 39, 78])]
        [0.0531, 1.183, 1.8048]
        """
        if self._limit():
            return self._limit_population_mean(t)
        r, alpha, a, b = self._p()
        t_arr, index = check_horizon(t)
        out = b / (a + b) * _mean(t_arr, r, alpha, a, b + 1)
        return as_output(out, index, "expected_purchases", (t,))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] (Wagner & Hoppe 2008).

        ``(a+b+x)/(a-1) [1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+1; a+b+x; z)]
        * P(alive)``, ``z = t/(alpha+T+t)``: an active customer buys on as a BG/NBD customer
        with the updated parameters (r+x, alpha+T, a, b+x+1).

        Examples
        --------
        >>> mbg = ModifiedBetaGeo()
        >>> mbg.params_ = {"r": 0.525, "alpha": 6.183, "a": 0.891, "b": 1.614}
        >>> [round(float(v), 3) for v in mbg.expected_purchases([13, 39], 2, 30.43, 38.86)]
        [0.477, 1.263]
        """
        return super().expected_purchases(t, frequency, recency, T)

    def _alive(self, x, t_x, big_t):
        r, alpha, a, b = self._p()
        D = np.log(a) - np.log(b + x) + (r + x) * (np.log(alpha + big_t) - np.log(alpha + t_x))
        return np.exp(-np.logaddexp(0.0, D))

    def _conditional(self, t, x, big_t, alive):
        r, alpha, a, b = self._p()
        t, x, big_t = np.broadcast_arrays(t, x, big_t)
        return alive * _mean(t, r + x, alpha + big_t, a, b + x + 1)

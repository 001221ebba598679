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
from sklearn.utils.validation import check_is_fitted

from segkit.models._base import FITTED, PurchaseModel, check_horizon, polish_optimum
from segkit.models._optim import (
    ConvergenceError,
    as_output,
    check_btyd_data,
    compress,
    maximise_likelihood,
    penalised_objective,
    require_repeat_buyers,
    screening_sample,
    standard_errors,
)
from segkit.models.bgnbd import _population_mean

__all__ = ["ModifiedBetaGeo"]

#: Above twice this many customers, starting points are compared on a random subsample of
#: this size and only the best is carried on to convergence on all customers.
SCREEN_SIZE = 20_000

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

    Parameters
    ----------
    penalizer_coef : float, default 0.0
        Adds ``penalizer_coef * sum(params**2)`` to the mean negative log-likelihood (as
        lifetimes does).
    n_starts : int, default 3
        Starting points for the optimiser (a data-based guess plus random perturbations);
        on more than 40,000 customers they are compared on a random subsample of 20,000.
    random_state : int, Generator or None, default 0
        Seed for the perturbed starting points and the subsample.
    tol : float, default 1e-8
        Gradient tolerance of L-BFGS-B on the mean log-likelihood.
    max_iter : int, default 1000
        Iterations per start.

    Attributes
    ----------
    params_ : dict
        ``{"r", "alpha", "a", "b"}``; ``alpha`` is in the time unit of recency and T. In the
        no-dropout limit (``limit_``) only ``{"r", "alpha"}``.
    limit_ : str or None
        None for the MBG/NBD itself; ``"no_dropout"`` when the fit is its limit without
        dropout (``b/a`` -> infinity: no dropout at time 0 nor after a purchase), the NBD,
        taken as by :class:`~segkit.models.BetaGeo` (likelihood-ratio test, with a
        :class:`~segkit.models.LimitingModelWarning`); the predictions are then the NBD's.
    log_likelihood_ : float
        Total log-likelihood of the data at ``params_`` (without the penalty).
    standard_errors_ : dict
        Standard errors of ``params_`` from the Hessian of the objective that was optimised
        (the total negative log-likelihood plus the penalty), by central differences of its
        analytic gradient; a Hessian that is not positive definite raises ConvergenceError.
    covariance_ : DataFrame
        Asymptotic covariance of the log-parameters ``ln(params_)``: the inverse of the Hessian
        of the same objective, labelled by parameter (``sqrt(diag) * params_`` =
        ``standard_errors_``); :func:`segkit.models.clv.clv_interval` draws from it.
    n_customers_ : int
        Customers fitted (sum of the weights).
    n_distinct_ : int
        Distinct (frequency, recency, T) rows the likelihood was evaluated on.
    n_iter_ : int
        L-BFGS-B iterations over all starts.
    unit_ : str or None
        Time unit of the data when fitted with :meth:`fit_snapshot` on a
        :func:`segkit.summary.btyd_summary` table, else None.

    References
    ----------
    .. [1] Batislam, E. P., Denizel, M. and Filiztekin, A. (2007). Empirical validation and
       comparison of models for customer base analysis. IJRM 24(3), 201-209.
    .. [2] Wagner, U. and Hoppe, D. (2008). Erratum on the MBG/NBD model. IJRM 25(3), 225-226.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2],
    ...                      "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4], "T": [39.0] * 10})
    >>> customers = [600, 150, 60, 500, 30, 120, 300, 10, 100, 80]  # per row
    >>> mbg = ModifiedBetaGeo().fit_snapshot(snap, sample_weight=customers)
    >>> {k: round(v, 3) for k, v in mbg.params_.items()}
    {'r': 0.764, 'alpha': 6.677, 'a': 8.731, 'b': 4.948}
    >>> round(mbg.probability_alive(0, 0.0, 39.0), 3)  # no repeat purchase: not surely alive
    0.115
    """

    def __init__(
        self,
        penalizer_coef: float = 0.0,
        n_starts: int = 3,
        random_state: Any = 0,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ):
        self.penalizer_coef = penalizer_coef
        self.n_starts = n_starts
        self.random_state = random_state
        self.tol = tol
        self.max_iter = max_iter

    def fit(
        self, frequency: Any, recency: Any, T: Any, sample_weight: Any = None
    ) -> ModifiedBetaGeo:
        """Fit by maximum likelihood on the distinct (x, t_x, T) rows.

        Parameters
        ----------
        frequency, recency, T : array-like or Series
            Repeat purchases, time of the last purchase and age since the first, per
            customer, in one time unit (see :func:`segkit.summary.btyd_summary`).
        sample_weight : array-like or None, default None
            Customers each row stands for (e.g. ``n_customers`` of
            :func:`~segkit.models.compress_snapshot`); distinct rows with counts fit exactly
            like one row per customer.

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For impossible data, naming the customers, or when nobody bought again.
        segkit.models.ConvergenceError
            When the maximisation does not converge, or the optimum is not identified and the
            data do show dropout.

        Warns
        -----
        segkit.models.LimitingModelWarning
            When the data show no dropout and the fit is the NBD limit (``limit_``).
        """
        for attr in FITTED:
            self.__dict__.pop(attr, None)
        x, t_x, big_t, weight = check_btyd_data(frequency, recency, T, sample_weight)
        require_repeat_buyers(x, weight, "ModifiedBetaGeo")
        (x, t_x, big_t), w = compress(x, t_x, big_t, weight=weight)
        W = float(w.sum())
        pen = float(self.penalizer_coef)

        def make_objective(data, total):
            return penalised_objective(lambda theta: _log_likelihood(theta, *data), total, pen)

        objective = make_objective((x, t_x, big_t, w), W)
        screen = None
        sample = screening_sample((x, t_x, big_t), w, SCREEN_SIZE, self.random_state)
        if sample is not None:
            screen = make_objective((*sample[0], sample[1]), float(sample[1].sum()))
        rate = max(float(w @ x) / max(float(w @ big_t), 1e-9), 1e-6)
        failure = None
        try:
            result = maximise_likelihood(
                objective, np.log([1.0, 1.0 / rate, 1.0, 1.0]), names=PARAMS,
                model="ModifiedBetaGeo", n_starts=self.n_starts, random_state=self.random_state,
                tol=self.tol, max_iter=self.max_iter, screen=screen,
            )
            theta = polish_optimum(objective, result.log_params)
            # the Hessian of the objective actually optimised, scaled to the total
            standard_errors_ = standard_errors(
                lambda th: objective(th)[1] * W, theta, PARAMS, model="ModifiedBetaGeo",
                with_covariance=True,
            )
        except ConvergenceError as exc:
            # b running off or a flat optimum: compare with the no-dropout limit (unpenalised)
            if exc.log_params is None:
                raise
            failure, theta = exc, exc.log_params
        ll = float(_log_likelihood(theta, x, t_x, big_t, w, gradient=False)[0])
        # as the BG/NBD: the NBD when dropout (here also at time 0) does not improve the
        # likelihood significantly; b/a -> infinity removes both kinds of dropout
        if (pen == 0 or failure is not None) and self._fit_limit("ModifiedBetaGeo", ll, failure, x, big_t, w):
            return self
        self.params_ = dict(zip(PARAMS, map(float, np.exp(theta)), strict=True))
        self.log_likelihood_ = ll
        self.standard_errors_, self.covariance_ = standard_errors_
        self.limit_ = None
        self.n_customers_ = int(round(W))
        self.n_distinct_ = int(w.size)
        self.n_iter_ = result.n_iter
        self.unit_ = None
        return self

    # -- predictions -------------------------------------------------------------------------
    def _p(self):
        check_is_fitted(self, "params_")
        p = self.params_
        return p["r"], p["alpha"], p["a"], p["b"]

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
        >>> round(float(mbg.expected_purchases(39, 2, 30.43, 38.86)), 3)
        1.263
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

"""sBG: the shifted-beta-geometric model of contract renewals (contractual retention).

Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer Retention. *Journal of
Interactive Marketing* 21(1), 76-90; discounted expected residual lifetime from Fader, P. S.
and Hardie, B. G. S. (2010). Customer-Base Valuation in a Contractual Setting: The Perils of
Ignoring Heterogeneity. *Marketing Science* 29(1), 85-93.

For contracts renewed period by period (annual B2B renewals, 续约; monthly subscriptions): at
the end of each period a customer fails to renew with her own probability
``theta ~ Beta(alpha, beta)``, the same every period. Heterogeneity in theta is why a
cohort's retention rate rises with tenure -- the likely leavers leave first.

The data are a renewal history per customer (or per row, with counts): ``periods``, the
contract periods completed, and ``churned``, whether she did not renew after the last of
them (False: still a customer, renewed every time so far).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from segkit.models._base import COUNT_COLUMN, Likelihood, MaximumLikelihoodModel, snapshot_weight
from segkit.models._checks import _require, as_array, as_output, check_weight, require_columns
from segkit.models._optim import compress, penalised_objective

__all__ = ["ShiftedBetaGeo", "cohort_renewals", "discounted_survival_sum"]

PARAMS = ("alpha", "beta")
RENEWAL_COLUMNS = ("periods", "churned")


def cohort_renewals(active: Sequence[float]) -> pd.DataFrame:
    """The renewal-history table of a cohort from the number still active after each period.

    ``active[0]`` is the cohort's size at the start, ``active[t]`` how many are still
    customers after t periods (renewed t times). Those who left in period t get a row
    ``(periods=t, churned=True)``, those still active at the end one row
    ``(periods=len(active)-1, churned=False)``, each with its count.

    Parameters
    ----------
    active : sequence of numbers
        Non-increasing counts, first the cohort's size.

    Returns
    -------
    DataFrame
        ``periods``, ``churned`` and ``n_customers``, one row per period with leavers plus
        the still-active row.

    Raises
    ------
    ValueError
        When the counts are negative, missing or increase.

    Examples
    --------
    >>> cohort_renewals([1000, 631, 468, 382])
       periods  churned  n_customers
    0        1     True        369.0
    1        2     True        163.0
    2        3     True         86.0
    3        3    False        382.0
    """
    counts, _ = as_array("active", active)
    if counts.size < 2:
        raise ValueError("active needs the cohort's size and at least one later count")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError(f"active counts must be non-negative numbers, got {list(active)}")
    left = counts[:-1] - counts[1:]
    if np.any(left < 0):
        t = int(np.flatnonzero(left < 0)[0]) + 1
        raise ValueError(
            f"active counts must not increase: {counts[t]:g} after period {t} is more than "
            f"{counts[t - 1]:g} after period {t - 1} (a cohort only loses customers)"
        )
    last = counts.size - 1
    out = pd.DataFrame({
        "periods": np.r_[np.arange(1, last + 1), last].astype(np.int64),
        "churned": np.r_[np.ones(last, dtype=bool), False],
        COUNT_COLUMN: np.r_[left, counts[-1]].astype(np.float64),
    })
    return out[out[COUNT_COLUMN] > 0].reset_index(drop=True)


def check_renewal_data(periods: Any, churned: Any, sample_weight: Any = None):
    """Validate (periods, churned[, weight]) and return float arrays (churned as 0/1).

    Raises
    ------
    ValueError
        Naming the rule and the customers that break it.
    """
    n, index = as_array("periods", periods)
    if isinstance(churned, pd.Series) and pd.api.types.is_bool_dtype(churned):
        churned = churned.to_numpy(dtype=float)
    c, idx_c = as_array("churned", churned)
    index = index if index is not None else idx_c
    if n.size != c.size:
        raise ValueError(f"periods and churned must have the same length, got {n.size}, {c.size}")
    if n.size == 0:
        raise ValueError("no customers: periods and churned are empty")
    _require(~np.isfinite(n), "periods is missing or infinite", index)
    _require(n != np.round(n), "periods is not a whole number of contract periods", index)
    _require(n < 0, "periods is negative", index)
    _require(~np.isin(c, (0.0, 1.0)), "churned is not True/False (1/0)", index)
    _require((c == 1) & (n < 1), "churned with periods 0 (a churner completed at least one "
             "period)", index)
    return n, c, check_weight(sample_weight, n.size, index)


def _log_likelihood(log_params: np.ndarray, n, c, w, gradient: bool = True):
    """Weighted log-likelihood and gradient: eqs. (3) and (5) of Fader & Hardie (2007).

    A churner after t periods contributes ``P(T=t) = B(alpha+1, beta+t-1)/B(alpha,beta)``,
    a customer still active after t periods ``S(t) = B(alpha, beta+t)/B(alpha,beta)``;
    both are ``B(alpha+c, beta+t-c)/B(alpha,beta)`` with c = 1 for a churner.
    """
    alpha, beta = np.exp(log_params)
    ll = float(w @ (betaln(alpha + c, beta + n - c) - betaln(alpha, beta)))
    if not gradient:
        return ll, None
    d_all = digamma(alpha + beta + n)
    d_ab = digamma(alpha + beta)
    grad = np.array([
        w @ (digamma(alpha + c) - d_all - digamma(alpha) + d_ab),
        w @ (digamma(beta + n - c) - d_all - digamma(beta) + d_ab),
    ])
    return ll, grad


class ShiftedBetaGeo(MaximumLikelihoodModel):
    """Shifted-beta-geometric model of contract renewals (Fader & Hardie 2007).

    The contractual member of the family: it is fitted on a renewal history (periods
    completed, churned or still active) instead of purchases, with the same
    ``sample_weight`` convention (rows with counts fit like one row per customer), optimiser,
    errors and standard errors as the purchase models.

    %(parameters)s

    Attributes
    ----------
    params_ : dict
        ``{"alpha", "beta"}``: the churn probability per period is Beta(alpha, beta).
    %(fitted)s

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2007). How to Project Customer Retention.
       Journal of Interactive Marketing 21(1), 76-90.
    .. [2] Fader, P. S. and Hardie, B. G. S. (2010). Customer-Base Valuation in a Contractual
       Setting: The Perils of Ignoring Heterogeneity. Marketing Science 29(1), 85-93.

    Examples
    --------
    The "regular" cohort of [1] (1000 customers, still active after years 1-7: 631, 468,
    382, 326, 289, 262, 241):

    >>> history = cohort_renewals([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> sbg = ShiftedBetaGeo().fit_table(history, sample_weight="n_customers")
    >>> {k: round(v, 3) for k, v in sbg.params_.items()}
    {'alpha': 0.704, 'beta': 1.182}
    >>> [round(float(v), 3) for v in sbg.retention_rate([1, 2, 8, 12])]
    [0.627, 0.756, 0.921, 0.945]
    >>> round(sbg.renewal_probability(7), 3)  # after 7 renewals: the 8th
    0.921
    """

    _param_names = PARAMS

    def fit(self, periods: Any, churned: Any, sample_weight: Any = None) -> ShiftedBetaGeo:
        """Fit by maximum likelihood (eq. (5) of [1]) on the distinct (periods, churned) rows.

        Parameters
        ----------
        periods : array-like or Series
            Contract periods completed per customer (whole numbers; a churner at least 1).
        churned : array-like of bool or Series
            True if the customer did not renew after her last period, False if she is
            still a customer.
        sample_weight : array-like or None, default None
            Customers per row (cohort counts); rows with counts fit like one row per
            customer.

        %(returns_self)s

        Raises
        ------
        ValueError
            For impossible data (naming the customers), or when nobody churned or nobody
            renewed (the likelihood then has no maximum).
        segkit.models.ConvergenceError
            When the maximisation does not converge.
        """
        self._forget()
        n, c, weight = check_renewal_data(periods, churned, sample_weight)
        (n, c), w = compress(n, c, weight=weight)
        if not np.any(c == 1):
            raise ValueError("ShiftedBetaGeo: nobody churned, so the churn rate cannot be "
                             "estimated (its maximum-likelihood value is 0); observe longer")
        if not np.any(n - c > 0):
            raise ValueError("ShiftedBetaGeo: nobody renewed even once, so the churn rate "
                             "cannot be estimated (its maximum-likelihood value is 1)")
        W = float(w.sum())
        self._fit_likelihood(Likelihood(
            objective=penalised_objective(lambda theta: _log_likelihood(theta, n, c, w), W,
                                          float(self.penalizer_coef)),
            log_likelihood=lambda theta: _log_likelihood(theta, n, c, w, gradient=False)[0],
            start=np.zeros(2), total=W, n_distinct=w.size, polish=True,
        ))
        return self

    def fit_table(self, table: pd.DataFrame, sample_weight: Any = None) -> ShiftedBetaGeo:
        """Fit on a renewal-history table with ``periods`` and ``churned`` columns.

        Parameters
        ----------
        table : DataFrame
            One row per customer, or distinct rows with counts (e.g.
            :func:`cohort_renewals`).
        sample_weight : array-like, str or None, default None
            Customers per row, or the name of the column of ``table`` that holds them.

        %(returns_self)s
        """
        require_columns(table, list(RENEWAL_COLUMNS))
        weight = snapshot_weight(table, sample_weight)
        return self.fit(table["periods"], table["churned"], weight)

    # -- predictions -------------------------------------------------------------------------
    def survival(self, t: Any):
        """S(t): share of a new cohort still a customer after t periods (eq. (3) of [1]).

        ``B(alpha, beta+t) / B(alpha, beta)``; S(0) = 1.

        Examples
        --------
        >>> sbg = ShiftedBetaGeo()
        >>> sbg.params_ = {"alpha": 0.668, "beta": 3.806}  # the high-end cohort of [1]
        >>> [round(float(v), 3) for v in sbg.survival([0, 1, 7, 12])]
        [1.0, 0.851, 0.489, 0.378]
        """
        alpha, beta = self._p()
        t_arr, index = _periods(t)
        out = np.exp(betaln(alpha, beta + t_arr) - betaln(alpha, beta))
        return as_output(out, index, "survival", (t,))

    def retention_rate(self, t: Any):
        """r(t) = S(t)/S(t-1): share of those active after t-1 periods who renew a t-th time.

        ``(beta + t - 1) / (alpha + beta + t - 1)`` (eq. (4) of [1]), rising with t.

        Examples
        --------
        >>> sbg = ShiftedBetaGeo()
        >>> sbg.params_ = {"alpha": 0.668, "beta": 3.806}
        >>> [round(float(v), 3) for v in sbg.retention_rate([1, 2, 8])]
        [0.851, 0.878, 0.942]
        """
        alpha, beta = self._p()
        t_arr, index = _periods(t)
        if np.any(t_arr < 1):
            raise ValueError(f"t must be at least 1 (the first renewal), got {t}")
        return as_output((beta + t_arr - 1) / (alpha + beta + t_arr - 1), index,
                         "retention_rate", (t,))

    def renewal_probability(self, periods: Any):
        """P(renews at the next decision | active after ``periods`` periods).

        ``(beta + periods) / (alpha + beta + periods)`` = r(periods + 1): the posterior mean
        of 1 - theta given ``periods`` renewals, per customer (or per tier, with its tenure).

        Examples
        --------
        >>> sbg = ShiftedBetaGeo()
        >>> sbg.params_ = {"alpha": 0.704, "beta": 1.182}
        >>> [round(float(v), 3) for v in sbg.renewal_probability([0, 1, 7])]
        [0.627, 0.756, 0.921]
        """
        alpha, beta = self._p()
        n, index = _periods(periods, "periods")
        return as_output((beta + n) / (alpha + beta + n), index, "renewal_probability",
                         (periods,))

    def expected_remaining_lifetime(self, periods: Any, discount: float):
        """DERL: discounted expected number of future periods of an active customer.

        For a customer active after ``periods`` periods, facing her next renewal decision,
        ``sum_{j>=1} S(periods+j)/S(periods) / (1+discount)^(j-1)`` =
        ``(beta+n)/(alpha+beta+n) 2F1(1, beta+n+1; alpha+beta+n+1; 1/(1+discount))`` with
        n = periods (Fader & Hardie 2010, eq. (6), for a customer who has made n renewals).
        Multiplied by the margin per period it is her residual lifetime value; the first
        future payment is not discounted (it is due at the decision).

        Parameters
        ----------
        periods : int or array-like
            Periods completed (all renewed) by each customer.
        discount : float
            Discount rate per period (e.g. 0.10 for annual contracts at 10% a year); 0 gives
            the undiscounted expected number of further renewals, finite only for alpha > 1.

        Raises
        ------
        ValueError
            For a negative or missing discount, or discount 0 with alpha <= 1 (the expected
            remaining lifetime is then infinite).

        Examples
        --------
        >>> sbg = ShiftedBetaGeo()
        >>> sbg.params_ = {"alpha": 0.668, "beta": 3.806}
        >>> [round(float(v), 2) for v in sbg.expected_remaining_lifetime([0, 7], discount=0.1)]
        [5.41, 7.53]
        """
        alpha, beta = self._p()
        n, index = _periods(periods, "periods")
        d = float(discount)
        if not np.isfinite(d) or d < 0:
            raise ValueError(f"discount must be a rate >= 0, got {discount}")
        if d == 0 and alpha <= 1:
            raise ValueError(
                f"ShiftedBetaGeo: with alpha = {alpha:.3g} <= 1 the undiscounted expected "
                f"remaining lifetime is infinite; give a discount rate > 0"
            )
        if d == 0:
            # 2F1(1, b; c; 1) = (c-1)/(c-b-1): (beta+n)/(alpha-1)
            out = (beta + n) / (alpha - 1)
        else:
            out = np.empty_like(n)
            for value in np.unique(n):
                out[n == value] = discounted_survival_sum(alpha, beta + value, d)
        return as_output(np.asarray(out, dtype=float), index, "expected_remaining_lifetime",
                         (periods,))


def discounted_survival_sum(alpha: float, b: float, discount: float) -> float:
    """``sum_{j>=1} B(alpha, b+j)/B(alpha, b) / (1+discount)^(j-1)``, term by term.

    For ``theta ~ Beta(alpha, b)``, the discounted expected number of further periods
    ``E[sum_j (1-theta)^j]`` -- the sBG's DERL at b = beta + n, and the sum over future
    opportunities of the BG/BB's DERT. It equals ``b/(alpha+b) 2F1(1, b+1; alpha+b+1; z)``,
    z = 1/(1+discount), but scipy's ``hyp2f1`` returns inf there when ``c - a - b`` is a whole
    number (e.g. alpha = 66, b = 64), so the positive terms are added directly: each is at
    most z times the one before, and the sum stops when the tail bound ``term z/(1-z)`` is
    below 1e-17 of it.
    """
    z = 1.0 / (1.0 + discount)
    if not 0 < z < 1:
        raise ValueError(f"discount must be a rate > 0, got {discount}")
    total, start, block = 0.0, 0, 65_536
    while True:
        k = np.arange(start, start + block, dtype=np.float64)
        # ln of (b)_(k+1) / (alpha+b)_(k+1) z^k: k+1 more periods, discounted k times
        log_terms = (gammaln(b + k + 1) - gammaln(b) - gammaln(alpha + b + k + 1)
                     + gammaln(alpha + b) + k * np.log(z))
        terms = np.exp(log_terms)
        total += float(terms.sum())
        if terms[-1] * z / (1 - z) <= 1e-17 * total or not np.isfinite(total):
            return total
        start += block


def _periods(t: Any, name: str = "t") -> tuple[np.ndarray, pd.Index | None]:
    arr, index = as_array(name, t)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be a whole number of periods >= 0, got {t}")
    return arr, index

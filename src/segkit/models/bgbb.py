"""BG/BB: the beta-geometric / beta-Bernoulli model of discrete-opportunity repeat purchasing.

Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base Analysis in a
Discrete-Time Noncontractual Setting. *Marketing Science* 29(6), 1086-1108.

For events that can happen only at discrete occasions -- a yearly donation, an annual
conference, a trade fair -- a customer who is active transacts at each opportunity with
probability ``p ~ Beta(alpha, beta)``, and before each opportunity becomes inactive for good
with probability ``theta ~ Beta(gamma, delta)``. The data per customer are ``x`` (the
opportunities with a transaction), ``t_x`` (the last such opportunity, 0 if none) and ``n``
(the opportunities observed), all whole numbers. Here they are called frequency, recency and
T, as for the other purchase models, so a table of distinct rows with counts (the paper's
"recency/frequency table") fits through :meth:`~segkit.models._base.PurchaseModel.fit_snapshot`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy.special import betaln, digamma, gammaln

from segkit.models._base import Likelihood, PurchaseModel
from segkit.models._checks import _require, as_array, as_output, broadcast, check_weight
from segkit.models._optim import penalised_objective
from segkit.models.sbg import discounted_survival_sum

__all__ = ["BetaGeoBetaBinom", "check_bgbb_data"]

PARAMS = ("alpha", "beta", "gamma", "delta")


def check_bgbb_data(frequency: Any, recency: Any, T: Any, sample_weight: Any = None,
                    index: pd.Index | None = None):
    """Validate (x, t_x, n[, weight]) of the BG/BB and return them as float arrays.

    Raises
    ------
    ValueError
        Naming the rule and the customers that break it, e.g. "recency is smaller than
        frequency for 2 customers (ids: 4, 9)".
    """
    x, idx = as_array("frequency", frequency)
    t_x, idx_r = as_array("recency", recency)
    n, idx_n = as_array("T", T)
    if index is None:
        index = next((i for i in (idx, idx_r, idx_n) if i is not None), None)
    x, t_x, n = broadcast(x, t_x, n)
    if index is not None and len(index) != x.size:
        index = None
    if x.size == 0:
        raise ValueError("no customers: frequency, recency and T are empty")
    for name, arr in (("frequency", x), ("recency", t_x), ("T", n)):
        _require(~np.isfinite(arr), f"{name} is missing or infinite", index)
        _require(arr < 0, f"{name} is negative", index)
        _require(arr != np.round(arr), f"{name} is not a whole number of opportunities", index)
    _require(t_x > n, "recency is larger than T (the opportunities observed)", index)
    _require(x > t_x, "recency is smaller than frequency (x transactions need x opportunities)",
             index)
    _require((x == 0) & (t_x != 0), "recency is not 0 while frequency is 0", index)
    _require((x > 0) & (t_x == 0), "recency is 0 while frequency is positive", index)
    return x, t_x, n, check_weight(sample_weight, x.size, index)


def _terms(params, x, t_x, n):
    """ln of the terms of eq. (5) of Fader, Hardie & Shang (2010), and their (k, g, m).

    ``L = B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n)/B(gamma,delta)
    + sum_{i=0}^{n-t_x-1} B(alpha+x, beta+t_x-x+i)/B(alpha,beta)
    B(gamma+1, delta+t_x+i)/B(gamma,delta)``: alive throughout, or inactive from opportunity
    t_x+i+1 on. Every term is ``B(alpha+x, beta+k) B(gamma+g, delta+m) / (B(alpha,beta)
    B(gamma,delta))``; column 0 is the first term, columns 1.. the sum, -inf where unused.
    """
    alpha, beta, gamma, delta = params
    width = int(np.max(n - t_x)) if n.size else 0
    i = np.arange(width)[None, :]
    k = np.concatenate([(n - x)[:, None], (t_x - x)[:, None] + i], axis=1)
    m = np.concatenate([n[:, None], t_x[:, None] + i], axis=1)
    g = np.zeros_like(k, dtype=float)
    g[:, 1:] = 1.0
    used = np.ones_like(k, dtype=bool)
    used[:, 1:] = i < (n - t_x)[:, None]
    with np.errstate(invalid="ignore"):
        ln_terms = (betaln(alpha + x[:, None], beta + k) + betaln(gamma + g, delta + m)
                    - betaln(alpha, beta) - betaln(gamma, delta))
    return np.where(used, ln_terms, -np.inf), k, g, m, used


def _log_likelihood_rows(params, x, t_x, n):
    ln_terms = _terms(params, x, t_x, n)[0]
    top = ln_terms.max(axis=1)
    return top + np.log(np.exp(ln_terms - top[:, None]).sum(axis=1))


def _log_likelihood(log_params: np.ndarray, x, t_x, n, w, gradient: bool = True):
    """Weighted total log-likelihood (eq. (5) of [FHS 2010]) and its gradient.

    The sum of the terms is taken in log space; the gradient of each term is a difference of
    digammas, and that of the log of the sum their average weighted by the terms' shares.
    """
    params = np.exp(log_params)
    alpha, beta, gamma, delta = params
    ln_terms, k, g, m, used = _terms(params, x, t_x, n)
    top = ln_terms.max(axis=1)
    share = np.exp(ln_terms - top[:, None])
    total = share.sum(axis=1)
    ll_rows = top + np.log(total)
    ll = float(w @ ll_rows)
    if not gradient:
        return ll, None
    share = share / total[:, None] * w[:, None]  # each term's share of its row, weighted
    ab, gd = digamma(alpha + beta), digamma(gamma + delta)
    xa = x[:, None]
    kk, gg, mm = np.where(used, k, 0), g, np.where(used, m, 0)
    d_ab = digamma(alpha + beta + xa + kk)
    d_gd = digamma(gamma + delta + gg + mm)
    grad = np.array([
        np.sum(share * (digamma(alpha + xa) - d_ab)) + w.sum() * (ab - digamma(alpha)),
        np.sum(share * (digamma(beta + kk) - d_ab)) + w.sum() * (ab - digamma(beta)),
        np.sum(share * (digamma(gamma + gg) - d_gd)) + w.sum() * (gd - digamma(gamma)),
        np.sum(share * (digamma(delta + mm) - d_gd)) + w.sum() * (gd - digamma(delta)),
    ])
    return ll, grad


def _alive_sum(start, count, gamma, delta):
    """``sum_{k=1}^{count} B(gamma, delta+start+k) / B(gamma, delta)``, vectorised.

    The expected number of the next ``count`` opportunities at which a customer alive at
    opportunity ``start`` (unconditionally: start = 0 for a new one) is still alive, by the
    telescoping identity ``B(c-1, d) - B(c-1, d+1) = B(c, d)``::

        delta/(gamma-1) G(gamma+delta)/G(1+delta) [R(start) - R(start+count)],
        R(j) = G(1+delta+j) / G(gamma+delta+j)

    (the form of FHS 2010, eqs. (8) and (13)). The difference is taken as ``R(start) *
    -expm1(ln R(start+count) - ln R(start))``, accurate for gamma near 1 as well; at
    |gamma - 1| < 1e-7 (0/0) the mean of gamma = 1 -+ 1e-6 is used (the function is smooth
    in gamma, so the error is of order 1e-12).
    """
    if abs(gamma - 1.0) < 1e-7:
        return 0.5 * (_alive_sum(start, count, 1.0 - 1e-6, delta)
                      + _alive_sum(start, count, 1.0 + 1e-6, delta))
    ln_r0 = gammaln(1 + delta + start) - gammaln(gamma + delta + start)
    ln_r1 = gammaln(1 + delta + start + count) - gammaln(gamma + delta + start + count)
    lead = np.exp(gammaln(gamma + delta) - gammaln(delta) + ln_r0)
    return lead * -np.expm1(ln_r1 - ln_r0) / (gamma - 1.0)


class BetaGeoBetaBinom(PurchaseModel):
    """BG/BB model of repeat transactions at discrete opportunities (Fader, Hardie & Shang 2010).

    ``frequency`` = opportunities with a transaction (x), ``recency`` = the last of them
    (t_x, 0 if none), ``T`` = opportunities observed (n); whole numbers.

    %(parameters)s

    Attributes
    ----------
    params_ : dict
        ``{"alpha", "beta", "gamma", "delta"}``: transaction probability ~ Beta(alpha, beta),
        dropout probability ~ Beta(gamma, delta).
    %(fitted)s

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Shang, J. (2010). Customer-Base Analysis in a
       Discrete-Time Noncontractual Setting. Marketing Science 29(6), 1086-1108.

    Examples
    --------
    A recency/frequency table of yearly donors over 4 opportunities, with counts:

    >>> import pandas as pd
    >>> table = pd.DataFrame({"frequency": [0, 1, 1, 2, 2, 3, 4], "recency": [0, 1, 4, 2, 4, 4, 4],
    ...                       "T": 4, "n_customers": [400, 120, 60, 70, 90, 110, 150]})
    >>> bb = BetaGeoBetaBinom().fit_snapshot(table, sample_weight="n_customers")
    >>> {k: round(v, 2) for k, v in bb.params_.items()}
    {'alpha': 1.39, 'beta': 0.89, 'gamma': 0.25, 'delta': 0.61}
    >>> round(bb.probability_alive(1, 1, 4), 3)  # gave once, at the first opportunity
    0.216
    """

    _param_names = PARAMS

    def fit(self, frequency: Any, recency: Any, T: Any, sample_weight: Any = None):
        """Fit by maximum likelihood (eq. (5) of [1]) on the distinct (x, t_x, n) rows.

        Parameters
        ----------
        frequency, recency, T : array-like or Series
            Opportunities with a transaction, the last of them (0 if none) and the
            opportunities observed, per customer (or per row of a recency/frequency table).
        sample_weight : array-like or None, default None
            Customers each row stands for; distinct rows with counts fit exactly like one
            row per customer.

        %(returns_self)s

        Raises
        ------
        ValueError
            For impossible data, naming the customers.
        segkit.models.ConvergenceError
            When the maximisation does not converge or the optimum is not identified.
        """
        return super().fit(frequency, recency, T, sample_weight)

    def _check_data(self, frequency, recency, T, sample_weight):
        return check_bgbb_data(frequency, recency, T, sample_weight)

    def _likelihood(self, x, t_x, n, w) -> Likelihood:
        W = float(w.sum())
        return Likelihood(
            objective=penalised_objective(lambda theta: _log_likelihood(theta, x, t_x, n, w), W,
                                          float(self.penalizer_coef)),
            log_likelihood=lambda theta: _log_likelihood(theta, x, t_x, n, w, gradient=False)[0],
            start=np.zeros(4), total=W, n_distinct=w.size, polish=True,
        )

    # -- predictions -------------------------------------------------------------------------
    def _checked(self, frequency, recency, T):
        x, t_x, n, _ = check_bgbb_data(frequency, recency, T)
        index = next((v.index for v in (frequency, recency, T) if isinstance(v, pd.Series)), None)
        return x, t_x, n, index

    def probability_alive(self, frequency: Any, recency: Any, T: Any, m: Any = 1):
        """P(active at opportunity n+m | x, t_x, n) (eq. (11) of [1] for m = 1).

        ``B(alpha+x, beta+n-x)/B(alpha,beta) B(gamma, delta+n+m)/B(gamma,delta) / L``: the
        chance that the customer has not dropped out before the m-th next opportunity (m = 1:
        she is still there for the next one, the paper's "P(alive in 2002)").

        Examples
        --------
        >>> bb = BetaGeoBetaBinom()
        >>> bb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> [round(float(v), 2) for v in bb.probability_alive([0, 2, 6], [0, 4, 6], 6)]
        [0.11, 0.59, 0.93]
        """
        alpha, beta, gamma, delta = self._p()
        x, t_x, n, index = self._checked(frequency, recency, T)
        m_arr, x, t_x, n = broadcast(_opportunities(m, "m"), x, t_x, n)
        ln_alive = (betaln(alpha + x, beta + n - x) - betaln(alpha, beta)
                    + betaln(gamma, delta + n + m_arr) - betaln(gamma, delta))
        out = np.exp(ln_alive - _log_likelihood_rows(self._p(), x, t_x, n))
        return as_output(np.minimum(out, 1.0), index, "probability_alive",
                         (frequency, recency, T, m))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """E[X(n, n+t) | x, t_x, n]: expected transactions at the next t opportunities (eq. (13)).

        ``1/L B(alpha+x+1, beta+n-x)/B(alpha,beta) sum_{k=1}^{t} B(gamma, delta+n+k)/
        B(gamma,delta)`` (see ``_alive_sum`` for the closed form of the sum).

        Parameters
        ----------
        t : int or array-like
            Number of future opportunities (whole, >= 0; broadcast against the customers).
        frequency, recency, T : array-like or Series

        Examples
        --------
        >>> bb = BetaGeoBetaBinom()
        >>> bb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> round(float(bb.expected_purchases(5, 6, 6, 6)), 3)  # gave every year so far
        3.752
        """
        alpha, beta, gamma, delta = self._p()
        x, t_x, n, index = self._checked(frequency, recency, T)
        t_arr = _opportunities(t)
        t_arr, x, t_x, n = broadcast(t_arr, x, t_x, n)
        ln_lead = (betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta)
                   - _log_likelihood_rows(self._p(), x, t_x, n))
        out = np.exp(ln_lead) * _alive_sum(n, t_arr, gamma, delta)
        return as_output(out, index, "expected_purchases", (t, frequency, recency, T))

    def expected_purchases_population(self, t: Any):
        """E[X(t)]: expected transactions of a new customer at her first t opportunities (eq. (8)).

        ``alpha/(alpha+beta) delta/(gamma-1) [1 - G(gamma+delta) G(1+delta+t) /
        (G(gamma+delta+t) G(1+delta))]``.

        Examples
        --------
        >>> bb = BetaGeoBetaBinom()
        >>> bb.params_ = {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}
        >>> [round(float(v), 4) for v in bb.expected_purchases_population([1, 6, 11])]
        [0.4985, 2.2202, 3.3887]
        """
        alpha, beta, gamma, delta = self._p()
        t_arr = _opportunities(t)
        out = alpha / (alpha + beta) * _alive_sum(0.0, t_arr, gamma, delta)
        index = t.index if isinstance(t, pd.Series) else None
        return as_output(out, index, "expected_purchases", (t,))

    def discounted_expected_transactions(self, frequency: Any, recency: Any, T: Any,
                                         discount: float):
        """DERT: the discounted expected number of all future transactions (FHS 2010).

        ``sum_{k>=1} P(transaction at opportunity n+k | x, t_x, n) / (1+discount)^k`` =
        ``1/L B(alpha+x+1, beta+n-x)/B(alpha,beta) sum_k B(gamma, delta+n+k)/B(gamma,delta)
        (1+discount)^-k`` (the sum by :func:`segkit.models.sbg.discounted_survival_sum`).
        Times the value of one transaction it is the customer's residual lifetime value.

        Parameters
        ----------
        frequency, recency, T : array-like or Series
        discount : float
            Discount rate per opportunity (e.g. 0.10 for yearly opportunities at 10% a year),
            > 0.

        Examples
        --------
        >>> bb = BetaGeoBetaBinom()
        >>> bb.params_ = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
        >>> [round(float(v), 2) for v in
        ...  bb.discounted_expected_transactions([0, 6], [0, 6], 6, discount=0.1)]
        [0.11, 5.91]
        """
        alpha, beta, gamma, delta = self._p()
        x, t_x, n, index = self._checked(frequency, recency, T)
        d = float(discount)
        if not np.isfinite(d) or d <= 0:
            raise ValueError(f"discount must be a rate > 0, got {discount}")
        ln_lead = (betaln(alpha + x + 1, beta + n - x) - betaln(alpha, beta)
                   + betaln(gamma, delta + n) - betaln(gamma, delta)
                   - _log_likelihood_rows(self._p(), x, t_x, n))
        tail = np.empty_like(n)
        for value in np.unique(n):
            tail[n == value] = discounted_survival_sum(gamma, delta + value, d)
        out = np.exp(ln_lead) * tail / (1.0 + d)
        return as_output(out, index, "discounted_expected_transactions",
                         (frequency, recency, T))

    def _expected_purchases_curve(self, t_grid, x, t_x, big_t):
        """Not defined: :func:`segkit.clv` steps through continuous time (days, weeks)."""
        raise TypeError(
            "BetaGeoBetaBinom counts discrete opportunities, while segkit.clv works in days "
            "or weeks; take expected_purchases(t, ...) over the next t opportunities times the "
            "value of one transaction instead"
        )

    def probability_of_purchases(self, k: Any, t: Any):
        """P(X(t) = k): chance that a new customer transacts at exactly k of her first t
        opportunities (eq. (7) of [1]).

        ``C(t,k) B(alpha+k, beta+t-k)/B(alpha,beta) B(gamma, delta+t)/B(gamma,delta)
        + sum_{i=k}^{t-1} C(i,k) B(alpha+k, beta+i-k)/B(alpha,beta)
        B(gamma+1, delta+i)/B(gamma,delta)``; 0 for k > t.

        Examples
        --------
        >>> bb = BetaGeoBetaBinom()
        >>> bb.params_ = {"alpha": 1.2035, "beta": 0.7497, "gamma": 0.6567, "delta": 2.7834}
        >>> [round(11104 * float(bb.probability_of_purchases(k, 6)), 1) for k in (0, 6)]
        [3454.9, 1253.1]
        """
        alpha, beta, gamma, delta = self._p()
        k_arr, t_arr = broadcast(_opportunities(k, "k"), _opportunities(t))
        out = np.zeros(k_arr.shape)
        for pos, (kk, tt) in enumerate(zip(k_arr, t_arr, strict=True)):
            if kk > tt:
                continue
            i = np.arange(kk, tt)
            ln_choose = gammaln(i + 1) - gammaln(kk + 1) - gammaln(i - kk + 1)
            ln_tail = (ln_choose + betaln(alpha + kk, beta + i - kk) + betaln(gamma + 1, delta + i))
            ln_first = (gammaln(tt + 1) - gammaln(kk + 1) - gammaln(tt - kk + 1)
                        + betaln(alpha + kk, beta + tt - kk) + betaln(gamma, delta + tt))
            ln_all = np.append(ln_tail, ln_first) - betaln(alpha, beta) - betaln(gamma, delta)
            out[pos] = np.exp(ln_all).sum()
        return as_output(out, None, "probability", (k, t))


def _opportunities(t: Any, name: str = "t") -> np.ndarray:
    """A number of opportunities as a float array: whole and non-negative, or ValueError."""
    arr, _ = as_array(name, t)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise ValueError(f"{name} must be a whole number of opportunities >= 0, got {t}")
    return arr

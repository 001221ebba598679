"""Gamma-Gamma model of the spend per transaction.

Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary Value.
http://brucehardie.com/notes/025/ (the model of Colombo & Jiang 1999).

A customer's transaction values are Gamma(p, nu) with her own ``nu ~ Gamma(q, v)``; the
observed average ``m_x`` of ``x`` repeat transactions then has the density of eq. (4) of the
note. The model assumes spend is independent of purchase frequency; :meth:`GammaGamma.fit`
warns when the data clearly say otherwise.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import digamma, gammaln
from scipy.stats import t as student_t
from sklearn.utils.validation import check_is_fitted

from segkit.models._base import Likelihood, MaximumLikelihoodModel, snapshot_weight
from segkit.models._checks import (
    _require,
    as_array,
    as_output,
    broadcast,
    check_weight,
    require_columns,
)
from segkit.models._optim import compress, penalised_objective

__all__ = ["GammaGamma"]

PARAMS = ("p", "q", "v")

#: |Pearson r| between frequency and average spend above which fit() warns (when p < 0.05).
CORRELATION_WARNING = 0.3


def _log_likelihood(log_params: np.ndarray, x: np.ndarray, m: np.ndarray, w: np.ndarray):
    """Weighted total log-likelihood and gradient (eq. (4) of Fader & Hardie 2013)::

        ln f(m_x | p, q, v, x) = ln G(px+q) - ln G(px) - ln G(q) + q ln v
                                 + (px-1) ln m_x + px ln x - (px+q) ln(v + x m_x)
    """
    p, q, v = np.exp(log_params)
    px = p * x
    ln_vxm = np.log(v + x * m)
    ll = w @ (
        gammaln(px + q) - gammaln(px) + (px - 1) * np.log(m) + px * np.log(x) - (px + q) * ln_vxm
    ) + w.sum() * (q * np.log(v) - gammaln(q))
    psi_pxq = digamma(px + q)
    g_p = w @ (x * (psi_pxq - digamma(px) + np.log(m) + np.log(x) - ln_vxm))
    g_q = w @ (psi_pxq - ln_vxm) + w.sum() * (np.log(v) - digamma(q))
    g_v = w.sum() * q / v - w @ ((px + q) / (v + x * m))
    return float(ll), np.array([g_p, g_q, g_v])


class GammaGamma(MaximumLikelihoodModel):
    """Gamma-Gamma model of average transaction value (Fader & Hardie 2013).

    %(parameters)s

    Attributes
    ----------
    params_ : dict
        ``{"p", "q", "v"}`` (``v`` is the scale, in currency units; "gamma" in the note).
    %(fitted)s
    n_excluded_ : int
        Customers left out because their frequency is 0 (not in ``n_customers_``).
    correlation_ : float
        Pearson correlation of frequency and average spend among the repeat buyers.

    References
    ----------
    .. [1] Fader, P. S. and Hardie, B. G. S. (2013). The Gamma-Gamma Model of Monetary
       Value. http://brucehardie.com/notes/025/

    Examples
    --------
    >>> gg = GammaGamma()
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> round(float(gg.expected_average_spend(2, 22.35)), 2)  # shrinks 22.35 to the mean
    24.66
    >>> round(float(gg.expected_average_spend(0, 0.0)), 2)  # population mean p v / (q - 1)
    35.22
    """

    _param_names = PARAMS

    def fit(self, frequency: Any, monetary_value: Any, sample_weight: Any = None) -> GammaGamma:
        """Fit on the customers with at least one repeat purchase.

        Parameters
        ----------
        frequency : array-like or Series
            Repeat purchases per customer. Customers with 0 are left out with a warning:
            their ``monetary_value`` (0 by convention) says nothing about repeat spend.
        monetary_value : array-like or Series
            Average value of the repeat purchases (must be positive for repeat buyers).
        %(sample_weight)s

        %(returns_self)s

        Warns
        -----
        UserWarning
            When customers with frequency 0 are left out, and when frequency and average
            spend are clearly correlated (|Pearson r| > 0.3 with p < 0.05), which breaks the
            model's independence assumption.

        Raises
        ------
        ValueError
            For negative or fractional frequencies, non-positive average spend of a repeat
            buyer, or fewer than 2 repeat buyers.
        """
        self._forget()
        x, index = as_array("frequency", frequency)
        m, idx_m = as_array("monetary_value", monetary_value)
        index = index if index is not None else idx_m
        if x.size != m.size:
            raise ValueError(f"frequency has {x.size} values but monetary_value {m.size}")
        w = check_weight(sample_weight, x.size, index)
        _require(~np.isfinite(x) | (x < 0) | (x != np.round(x)),
                 "frequency is negative, missing or not a whole number", index)
        _require(~np.isfinite(m), "monetary_value is missing or infinite", index)
        _require((x > 0) & (m <= 0), "monetary_value is not positive although frequency > 0",
                 index, "; the Gamma-Gamma model needs positive spend (net refunds out first)")
        repeat = x > 0
        self.n_excluded_ = int(round(float(w[~repeat].sum())))
        if self.n_excluded_:
            warnings.warn(
                f"GammaGamma: {self.n_excluded_} customers with frequency 0 are left out of the "
                f"fit; without a repeat purchase their monetary_value carries no information "
                f"(Fader & Hardie 2013).",
                UserWarning,
                stacklevel=2,
            )
        x, m, w = x[repeat], m[repeat], w[repeat]
        if w.sum() < 2:
            raise ValueError(
                f"GammaGamma needs at least 2 customers with a repeat purchase, got {w.sum():g}"
            )
        (x, m), w = compress(x, m, weight=w)
        self.correlation_ = _correlation(x, m, w)
        if self.correlation_ is not None:
            r_value, p_value = self.correlation_
            if abs(r_value) > CORRELATION_WARNING and p_value < 0.05:
                warnings.warn(
                    f"GammaGamma: frequency and average spend are correlated (Pearson r = "
                    f"{r_value:.2f}, p = {p_value:.2g}); the model assumes they are independent, "
                    f"so its spend predictions may be biased.",
                    UserWarning,
                    stacklevel=2,
                )
            self.correlation_ = r_value
        W = float(w.sum())
        self._fit_likelihood(Likelihood(
            objective=penalised_objective(lambda theta: _log_likelihood(theta, x, m, w), W,
                                          float(self.penalizer_coef)),
            log_likelihood=lambda theta: _log_likelihood(theta, x, m, w)[0],
            start=np.log([1.0, 2.0, float(w @ m) / W]), total=W, n_distinct=w.size,
        ))
        return self

    def fit_snapshot(self, snapshot: pd.DataFrame, sample_weight: Any = None) -> GammaGamma:
        """Fit on a table with ``frequency`` and ``monetary_value`` columns.

        One row per customer, or distinct rows with counts:
        ``compress_snapshot(snap, ["frequency", "monetary_value"])`` then
        ``sample_weight="n_customers"`` (the name of a column, or an array of weights).
        """
        require_columns(snapshot, ["frequency", "monetary_value"])
        return self.fit(snapshot["frequency"], snapshot["monetary_value"],
                        snapshot_weight(snapshot, sample_weight))

    def expected_average_spend(self, frequency: Any, monetary_value: Any):
        """E[M | p, q, v, x, m_x]: expected spend per future transaction (eq. (5) of [1]).

        ``(p (v + x m_x)) / (p x + q - 1)``, a weighted average of the population mean
        ``p v / (q - 1)`` and the customer's own ``m_x``; for x = 0 the population mean.

        Raises
        ------
        ValueError
            When ``q <= 1`` (the population mean spend is infinite).
        """
        check_is_fitted(self, "params_")
        p, q, v = (self.params_[k] for k in PARAMS)
        if q <= 1:
            raise ValueError(
                f"expected spend is infinite when q <= 1 (q = {q:.3g}); refit with more repeat "
                f"buyers or a penalizer_coef"
            )
        x, index = as_array("frequency", frequency)
        m, idx_m = as_array("monetary_value", monetary_value)
        index = index if index is not None else idx_m
        x, m = broadcast(x, m)
        _require(x < 0, "frequency is negative", index)
        m = np.where(x > 0, m, 0.0)
        out = p * (v + x * m) / (p * x + q - 1)
        return as_output(out, index, "expected_average_spend", (frequency, monetary_value))


def _correlation(x: np.ndarray, m: np.ndarray, w: np.ndarray) -> tuple[float, float] | None:
    """Pearson r of frequency and average spend over the customers (rows weighted by ``w``)
    and its two-sided p-value (t-test with n - 2 degrees of freedom, n = customers), as
    :func:`scipy.stats.pearsonr` gives on one row per customer."""
    n = float(w.sum())
    if n < 3 or np.ptp(x) == 0 or np.ptp(m) == 0:
        return None
    dx = x - (w @ x) / n
    dm = m - (w @ m) / n
    r = float(np.clip((w @ (dx * dm)) / np.sqrt((w @ dx**2) * (w @ dm**2)), -1.0, 1.0))
    if abs(r) == 1.0:
        return r, 0.0
    t_stat = r * np.sqrt((n - 2) / (1 - r * r))
    return r, float(2 * student_t.sf(abs(t_stat), n - 2))

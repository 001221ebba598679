"""Predicted CLV with its uncertainty: :func:`clv_interval` and :class:`ClvInterval`.

Split from :mod:`segkit.models.clv` (which had grown to 1,150 lines): the point estimate, CLV
tiers and the holdout checks stay there; this module puts an interval on the total and on each
customer's CLV from the uncertainty of the fitted parameters of both models (parametric
bootstrap, its linearised variant, or the delta method). ``from segkit.models.clv import
clv_interval, ClvInterval`` keeps working.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from segkit.models.clv import _discount_grid, _discounted_rows, _distinct_rows, clv, load_config
from segkit.summary import UNIT_DAYS

__all__ = ["INTERVAL_METHODS", "ClvInterval", "clv_interval"]

INTERVAL_METHODS = ("bootstrap", "bootstrap_linear", "delta")
#: Cells (rows x draws) of one block of :func:`clv_interval`'s bootstrap (~32 MB of floats).
_BLOCK_CELLS = 4_000_000


@dataclass
class ClvInterval:
    """Result of :func:`clv_interval`: predicted CLV with intervals per customer and in total.

    Attributes
    ----------
    customers : DataFrame
        Indexed like the snapshot: ``clv`` (the point estimate, equal to :func:`clv`'s),
        ``clv_lower``, ``clv_upper``.
    total, total_lower, total_upper : float
        Sum of ``clv`` over the customers and its interval.
    total_se : float
        Standard error of the total from the parameter uncertainty: the standard deviation
        of the bootstrap totals (infinite when some draws have an infinite mean spend), or
        the delta-method standard error.
    level : float
        Coverage of the intervals (e.g. 0.9).
    method : {"bootstrap", "bootstrap_linear", "delta"}
    draws : int
        Parameter draws of the bootstrap (0 for the delta method).
    seed : int
        Seed of the draws.
    process_sd : float
        Rough size of what the intervals leave out, the customers' own randomness: the
        standard deviation of the realised total if the parameters were known, approximated
        as compound Poisson, ``sqrt(sum_i margin^2 E[spend_i]^2 (1 + 1/p) E[Y_i])``; not
        included in any interval.
    total_draws : ndarray or None
        The total CLV of every bootstrap draw (None for the delta method).
    attrs : dict
        As :func:`clv`'s ``attrs`` (horizon, unit, margin, discount rate).
    """

    customers: pd.DataFrame
    total: float
    total_lower: float
    total_upper: float
    total_se: float
    level: float
    method: str
    draws: int
    seed: int
    process_sd: float
    total_draws: np.ndarray | None = field(default=None, repr=False)
    attrs: dict = field(default_factory=dict, repr=False)


def _log_parameters(model: Any, what: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Names, log-values and covariance (on the log scale) of a fitted model's parameters."""
    names = list(model.params_)
    cov = getattr(model, "covariance_", None)
    if cov is None:
        raise ValueError(
            f"{what} ({type(model).__name__}) has no covariance_: its parameters were set by "
            f"hand, not fitted, so their uncertainty is unknown; fit it to get intervals"
        )
    cov = pd.DataFrame(cov).reindex(index=names, columns=names).to_numpy(float)
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{what}: covariance_ does not cover the parameters {names}")
    theta = np.log(np.array([model.params_[n] for n in names], float))
    return names, theta, cov


def _with_params(model: Any, names: list[str], log_params: np.ndarray) -> Any:
    """A shallow copy of ``model`` with other parameters (the original is left alone)."""
    other = copy.copy(model)
    other.params_ = dict(zip(names, map(float, np.exp(log_params)), strict=True))
    return other


def _spend_shape(spend_model: Any) -> float:
    """Per-transaction squared coefficient of variation factor ``1 + 1/p`` of Gamma-Gamma."""
    p = spend_model.params_.get("p")
    return 1.0 + 1.0 / p if p else 1.0


def clv_interval(
    snapshot: pd.DataFrame,
    purchase_model: Any,
    spend_model: Any,
    horizon: Any = None,
    *,
    method: Literal["bootstrap", "bootstrap_linear", "delta"] | None = None,
    level: float | None = None,
    draws: int | None = None,
    seed: int | None = None,
    margin: float | None = None,
    annual_discount_rate: float | None = None,
    unit: str | None = None,
    observation_end: Any = None,
    config: str | Path | Mapping[str, Any] | None = None,
    chunk_size: int = 100_000,
    progress: bool | None = None,
) -> ClvInterval:
    """Predicted CLV with intervals from the uncertainty of both fitted models' parameters.

    Both models are fitted by maximum likelihood on the log scale of their parameters, so
    the estimates are approximately normal there, ``ln(theta_hat) ~ N(ln theta, H^-1)`` with
    ``H`` the Hessian of the objective optimised (the models' ``covariance_``). The purchase
    and the spend model are fitted on separate likelihoods, so they are drawn independently.

    * ``method="bootstrap"`` (parametric bootstrap): ``draws`` parameter vectors
      ``ln theta_b = ln theta_hat + L z_b`` (``L L' = covariance_``, ``z_b`` standard
      normal, seeded), CLV re-evaluated exactly for each draw on the distinct (x, t_x, T)
      rows, and the ``(1 - level)/2`` and ``(1 + level)/2`` percentiles per customer and of
      the total. Percentiles follow the skew of CLV in the parameters and never go below 0.
      Each draw costs one evaluation of the purchase model over the horizon (for the BG/NBD
      about 0.4 s per 2,000 customers), so 1,000 draws take minutes.
    * ``method="bootstrap_linear"`` (the default): the same draws, the spend model
      re-evaluated exactly for each draw (that is where the strong non-linearity is: the mean
      spend ``p v / (q - 1)`` when ``q`` is near 1), the purchase model's discounted
      purchases by their first-order expansion in the log-parameters,
      ``D_i(theta_b) = D_i(theta_hat) exp(g_i' (ln theta_b - ln theta_hat))`` with ``g_i``
      from forward differences: k+1 evaluations of the purchase model instead of
      ``draws``. On CDNOW and on the sample data its interval of the total is the exact
      bootstrap's to about 1% (tests/test_clv_interval.py).
    * ``method="delta"``: ``se(ln CLV) = sqrt(g' Sigma g)`` with ``g`` the gradient of
      ln CLV in the log-parameters of both models (finite differences), the interval
      ``clv * exp(+-z se)`` (normal on the log scale, so it stays positive); for the total the
      gradient of the sum. Symmetric on the log scale: it misses the right skew when the
      spend model's q is near 1.

    Only the parameters' uncertainty is covered -- how well the models' averages are known
    -- not the customers' own randomness (how many purchases a customer actually makes,
    and how much each is worth, given the parameters); ``process_sd`` gives the rough size
    of the latter for the total.

    Parameters
    ----------
    snapshot, purchase_model, spend_model, horizon, margin, annual_discount_rate, unit, observation_end, config, chunk_size
        As for :func:`clv`; the models must be fitted (``covariance_``).
    method : {"bootstrap", "bootstrap_linear", "delta"}, default from the configuration ("bootstrap_linear")
    level : float, default from the configuration (0.90)
        Coverage of the intervals.
    draws : int, default from the configuration (1000)
        Parameter draws of the bootstrap.
    seed : int, default from the configuration (0)
        Seed of the draws: the same seed gives the same intervals.
    progress : bool or None, default None
        Progress bar of the bootstrap: None shows one on a terminal once the work has taken
        a second, True always, False never.

    Returns
    -------
    ClvInterval

    Raises
    ------
    ValueError
        When a model has no ``covariance_`` (parameters set by hand), or when the spend
        model's ``q`` is so near 1 that at least ``(1 - level)/2`` of the draws have q <= 1
        (infinite mean spend, so no finite upper bound); fewer such draws count as infinite
        CLV.

    Examples
    --------
    >>> import pandas as pd
    >>> from segkit.models import BetaGeo, GammaGamma
    >>> bg, gg = BetaGeo(), GammaGamma()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> # covariance_ of the log-parameters as fitted on CDNOW (2,357 customers, 946 repeat buyers)
    >>> bg.covariance_ = pd.DataFrame([[0.00268, 0.00346, -0.00046, 0.00011],
    ...                                [0.00346, 0.00734, -0.00082, 0.00098],
    ...                                [-0.00046, -0.00082, 0.05487, 0.06406],
    ...                                [0.00011, 0.00098, 0.06406, 0.08456]],
    ...                               index=list(bg.params_), columns=list(bg.params_))
    >>> gg.covariance_ = pd.DataFrame([[0.03626, -0.00991, -0.04976], [-0.00991, 0.006, 0.01715],
    ...                                [-0.04976, 0.01715, 0.07254]],
    ...                               index=list(gg.params_), columns=list(gg.params_))
    >>> snap = pd.DataFrame({"frequency": [2, 0], "recency": [30.43, 0.0], "T": [38.86, 38.86],
    ...                      "monetary_value": [22.35, 0.0]})
    >>> res = clv_interval(snap, bg, gg, "52W", unit="W", annual_discount_rate=0.0, draws=500)
    >>> res.customers.round(1)
        clv  clv_lower  clv_upper
    0  38.4       35.8       41.6
    1   8.9        8.1        9.8
    >>> round(res.total, 1), round(res.total_lower, 1), round(res.total_upper, 1)
    (47.3, 44.5, 50.8)
    """
    cfg = load_config(config)
    rules = cfg.interval
    method = rules.method if method is None else method
    level = rules.level if level is None else float(level)
    draws = rules.draws if draws is None else int(draws)
    seed = rules.seed if seed is None else int(seed)
    if method not in INTERVAL_METHODS:
        raise ValueError(f"method={method!r}; use one of {list(INTERVAL_METHODS)}")
    if not 0 < level < 1:
        raise ValueError(f"level={level} must be a share between 0 and 1, e.g. 0.9")
    if method != "delta" and draws < 2:
        raise ValueError(f"draws={draws}: the bootstrap needs at least 2 draws (1000 is usual)")
    point = clv(snapshot, purchase_model, spend_model, horizon, margin=margin,
                annual_discount_rate=annual_discount_rate, unit=unit,
                observation_end=observation_end, config=config, chunk_size=chunk_size)
    p_names, p_theta, p_cov = _log_parameters(purchase_model, "purchase_model")
    s_names, s_theta, s_cov = _log_parameters(spend_model, "spend_model")
    attrs = dict(point.attrs)
    t_grid, discount = _discount_grid(attrs["horizon_in_unit"], UNIT_DAYS[attrs["btyd_unit"]],
                                      attrs["annual_discount_rate"], cfg.step_days)
    margin_used = attrs["margin"]
    x = snapshot["frequency"].to_numpy(float)
    t_x = snapshot["recency"].to_numpy(float)
    big_t = snapshot["T"].to_numpy(float)
    m = snapshot["monetary_value"].to_numpy(float)
    values = point["clv"].to_numpy(float)
    total = float(values.sum())
    spend = point["expected_average_spend"].to_numpy(float)
    process_sd = float(np.sqrt(
        margin_used**2 * _spend_shape(spend_model) * np.sum(spend**2 * point["expected_purchases"].to_numpy(float))
    ))
    z = _normal_quantile((1 + level) / 2)
    tail = (1 - level) / 2
    codes, first = _distinct_rows(x, t_x, big_t)
    rows = (x[first], t_x[first], big_t[first])
    n_draws, total_draws = 0, None
    if method == "delta":
        present, grad_p = _log_gradient_present(purchase_model, p_names, p_theta, rows, t_grid,
                                                discount, chunk_size)
        grad_s = _log_gradient_spend(spend_model, s_names, s_theta, x, m)
        grad_p = grad_p[codes]
        se_log = np.sqrt(np.einsum("ij,jk,ik->i", grad_p, p_cov, grad_p)
                         + np.einsum("ij,jk,ik->i", grad_s, s_cov, grad_s))
        lower, upper = values * np.exp(-z * se_log), values * np.exp(z * se_log)
        by_p, by_s = values @ grad_p, values @ grad_s  # gradient of the total
        total_se = math.sqrt(float(by_p @ p_cov @ by_p + by_s @ s_cov @ by_s))
        ratio = math.exp(z * total_se / total) if total > 0 else 1.0
        total_lower, total_upper = total / ratio, total * ratio
    else:
        rng = np.random.default_rng(seed)
        p_draws = p_theta + rng.standard_normal((draws, p_theta.size)) @ _cholesky(p_cov, "purchase_model").T
        s_draws = s_theta + rng.standard_normal((draws, s_theta.size)) @ _cholesky(s_cov, "spend_model").T
        finite_spend = _finite_spend_draws(spend_model, s_names, s_draws, tail)
        spend_models = [_with_params(spend_model, s_names, d) if ok else None
                        for d, ok in zip(s_draws, finite_spend, strict=True)]
        if method == "bootstrap":
            purchase_models = [_with_params(purchase_model, p_names, d) for d in p_draws]

            def present_block(lo, hi, bar):
                out = np.empty((hi - lo, draws))
                for b, model in enumerate(purchase_models):
                    out[:, b] = _discounted_rows(model, t_grid, discount, *(r[lo:hi] for r in rows))[1]
                    bar.update(hi - lo)
                return out
        else:  # bootstrap_linear
            present, grad_p = _log_gradient_present(purchase_model, p_names, p_theta, rows,
                                                    t_grid, discount, chunk_size)
            shift = (p_draws - p_theta).T

            def present_block(lo, hi, bar):
                bar.update((hi - lo) * draws)
                return present[lo:hi, None] * np.exp(grad_p[lo:hi] @ shift)

        lower, upper, total_draws = _bootstrap(present_block, spend_models, codes, first.size,
                                               x, m, margin_used, tail, chunk_size, progress)
        total_lower, total_upper = (float(v) for v in np.quantile(total_draws, [tail, 1 - tail]))
        total_se = float(np.std(total_draws, ddof=1)) if finite_spend.all() else math.inf
        n_draws = draws
    customers = pd.DataFrame({"clv": values, "clv_lower": lower, "clv_upper": upper},
                             index=snapshot.index)
    attrs.update({"interval_method": method, "interval_level": level})
    customers.attrs.update(attrs)
    return ClvInterval(
        customers=customers, total=total, total_lower=float(total_lower),
        total_upper=float(total_upper), total_se=float(total_se), level=level, method=method,
        draws=n_draws, seed=seed, process_sd=process_sd, total_draws=total_draws, attrs=attrs,
    )


def _normal_quantile(q: float) -> float:
    from scipy.stats import norm

    return float(norm.ppf(q))


def _cholesky(cov: np.ndarray, what: str) -> np.ndarray:
    try:
        return np.linalg.cholesky((cov + cov.T) / 2)
    except np.linalg.LinAlgError as exc:
        raise ValueError(f"{what}: covariance_ is not positive definite; refit the model") from exc


def _finite_spend_draws(spend_model: Any, names: list[str], s_draws: np.ndarray,
                        tail: float) -> np.ndarray:
    """Which draws have a finite mean spend (Gamma-Gamma: q > 1).

    A draw with q <= 1 has an infinite mean spend per purchase; it counts as an infinite CLV,
    which the upper percentile survives as long as such draws are fewer than the upper tail.
    """
    if "q" not in names:
        return np.ones(len(s_draws), dtype=bool)
    finite = np.exp(s_draws[:, names.index("q")]) > 1
    if (~finite).sum() >= tail * finite.size:
        q = spend_model.params_["q"]
        se = q * math.sqrt(float(spend_model.covariance_.loc["q", "q"]))
        raise ValueError(
            f"spend_model: q = {q:.3g} (standard error {se:.2g}) is within sampling error of 1; "
            f"{int((~finite).sum())} of {finite.size} draws have q <= 1, where the mean spend per "
            f"purchase is infinite, so CLV has no upper bound at this level. Fit the spend "
            f"model on more repeat buyers, or use a lower level"
        )
    return finite


def _bootstrap(present_block, spend_models, codes, n_rows, x, m, margin, tail, chunk_size,
               progress):
    """Per-customer percentiles and per-draw totals of CLV over the parameter draws.

    The distinct (x, t_x, T) rows are taken a block at a time (rows x draws cells at most
    ``_BLOCK_CELLS``): ``present_block(lo, hi, bar)`` gives their discounted purchases per
    draw; the customers on those rows (contiguous once sorted by row) get their draws of
    ``margin * spend * discounted purchases`` and their percentiles. A spend model of None
    (a draw with infinite mean spend) gives an infinite CLV.
    """
    from tqdm import tqdm  # plain text bar, as segkit.insights.churn's

    n_draws = len(spend_models)
    order = np.argsort(codes, kind="stable")
    sorted_codes = codes[order]
    block = max(1, min(chunk_size, _BLOCK_CELLS // n_draws))
    lower = np.empty(x.size)
    upper = np.empty(x.size)
    totals = np.zeros(n_draws)
    bar = tqdm(total=n_rows * n_draws, desc="CLV interval", unit="row-draw", unit_scale=True,
               disable=None if progress is None else not progress,
               delay=1.0 if progress is None else 0.0)
    with bar:
        for lo in range(0, n_rows, block):
            hi = min(lo + block, n_rows)
            present = present_block(lo, hi, bar)
            start, stop = np.searchsorted(sorted_codes, [lo, hi])
            for c_lo in range(start, stop, block):
                who = order[c_lo:min(c_lo + block, stop)]
                xc, mc = x[who], m[who]
                spend = np.column_stack([
                    np.asarray(s.expected_average_spend(xc, mc), float) if s is not None
                    else np.full(who.size, np.inf) for s in spend_models
                ])
                value = margin * spend * present[codes[who] - lo]
                totals += value.sum(axis=0)
                lower[who], upper[who] = np.quantile(value, [tail, 1 - tail], axis=1)
    return lower, upper, totals


#: Step on the log scale of the differences of the delta method and the linearised bootstrap.
_LOG_STEP = 1e-5


def _log_gradient_present(model, names, theta, rows, t_grid, discount, chunk_size):
    """Discounted purchases D per distinct row and d ln D / d ln(params).

    Forward differences (relative error ~ step = 1e-5, far below what the interval needs):
    k+1 evaluations of the purchase model, the costly part (0.4 s per 2,000 customers for the
    BG/NBD), instead of the 2k of central ones.
    """

    def present(log_params):
        other = _with_params(model, names, log_params) if log_params is not None else model
        out = np.empty(rows[0].size)
        for lo in range(0, out.size, chunk_size):
            hi = min(lo + chunk_size, out.size)
            out[lo:hi] = _discounted_rows(other, t_grid, discount, *(r[lo:hi] for r in rows))[1]
        return out

    base = present(None)
    grad = np.empty((base.size, theta.size))
    for j, e in enumerate(np.eye(theta.size) * _LOG_STEP):
        grad[:, j] = (present(theta + e) - base) / _LOG_STEP
    with np.errstate(divide="ignore", invalid="ignore"):
        grad = np.where(base[:, None] > 0, grad / base[:, None], 0.0)
    return base, grad


def _log_gradient_spend(model, names, theta, x, m):
    """d ln E[spend] / d ln(params) per customer, by central differences (cheap here)."""
    grad = np.empty((x.size, theta.size))
    for j, e in enumerate(np.eye(theta.size) * _LOG_STEP):
        up = np.log(np.asarray(_with_params(model, names, theta + e).expected_average_spend(x, m), float))
        down = np.log(np.asarray(_with_params(model, names, theta - e).expected_average_spend(x, m), float))
        grad[:, j] = (up - down) / (2 * _LOG_STEP)
    return grad

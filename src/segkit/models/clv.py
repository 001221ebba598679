"""Customer lifetime value: predicted (BTYD x Gamma-Gamma), historical, CLV tiers, validation.

* :func:`clv` -- discounted expected margin over a horizon given with its unit, from a fitted
  purchase model (:class:`~segkit.models.BetaGeo` or :class:`~segkit.models.ParetoNBD`) and a
  fitted :class:`~segkit.models.GammaGamma`; streams customers in chunks.
* :func:`historical_clv` -- realised margin over a past window.
* :func:`clv_tiers` -- 高价值 / 高潜力 / 低价值 (business-rules.md section 6).
* :func:`validate_clv` -- holdout check: actual vs predicted purchases by calibration
  frequency, aggregate error and ROC AUC (Fader, Hardie & Lee 2005, Figure 3).
* :func:`repeat_purchase_tracking` -- cumulative actual vs expected repeat purchases per
  period (Fader, Hardie & Lee 2005, Figure 1).
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from segkit.config import ConfigError, StrictModel, load_section
from segkit.labels import money
from segkit.segment.thresholds import Thresholds, load_thresholds_config, resolve_thresholds
from segkit.summary import UNIT_DAYS, _day_number, _encode, _resolve_units

__all__ = [
    "ClvConfig",
    "ClvInterval",
    "HoldoutValidation",
    "Horizon",
    "clv",
    "clv_interval",
    "clv_tiers",
    "historical_clv",
    "parse_horizon",
    "repeat_purchase_tracking",
    "validate_clv",
]

TIER_KEYS = ("high_value", "high_potential", "low_value")
DAYS_PER_YEAR = 365.25  # for the annual discount rate only (Act/365.25)


# ---------------------------------------------------------------------------------------------
# configuration
# ---------------------------------------------------------------------------------------------
class Label(StrictModel):
    zh: str
    en: str


class ClvTierRules(StrictModel):
    current_column: str = "revenue_12m"
    predicted_column: str = "clv"
    # a number, or the name of a line of the thresholds section (default: core_revenue)
    current_high: float | str
    predicted_high: float | str
    high_now_low_later: Literal["high_value", "high_potential", "low_value"] = "high_value"


class ClvIntervalRules(StrictModel):
    """How :func:`clv_interval` puts an interval on predicted CLV (``clv.interval``)."""

    method: Literal["bootstrap", "bootstrap_linear", "delta"]
    draws: int = Field(ge=100, le=100_000)
    level: float = Field(gt=0, lt=1)
    seed: int = Field(ge=0)


class ClvConfig(StrictModel):
    """The ``clv`` configuration section (``segkit/defaults/clv.yaml``)."""

    horizon: str
    margin: float
    annual_discount_rate: float
    step_days: int
    interval: ClvIntervalRules
    tiers: ClvTierRules
    labels: dict[Literal["high_value", "high_potential", "low_value"], Label]


def load_config(config: str | Path | Mapping[str, Any] | None = None) -> ClvConfig:
    """The CLV settings: package defaults overridden by ``config`` (see segkit.config).

    A tier cut-off given by name must be a line of the ``thresholds`` section.

    Examples
    --------
    >>> load_config().tiers.current_high
    'core_revenue'
    >>> load_config({"clv": {"tiers": {"current_high": "core_revenu"}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: clv.tiers.current_high: unknown line 'core_revenu'; known lines: ['core_interactions', 'core_orders_6m', 'core_revenue', ...]
    """
    cfg = load_section("clv", ClvConfig, config)
    known = sorted(load_thresholds_config(config).lines)
    for key in ("current_high", "predicted_high"):
        value = getattr(cfg.tiers, key)
        if isinstance(value, str) and value not in known:
            raise ConfigError(f"clv.tiers.{key}: unknown line {value!r}; known lines: {known}")
    return cfg


# ---------------------------------------------------------------------------------------------
# horizons with units
# ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Horizon:
    """A length of time with its unit: ``D`` days, ``W`` weeks, ``M`` months, ``Y`` years."""

    value: float
    unit: str

    def days(self, start: Any = None) -> float:
        """Length in days. Months and years are calendar ones counted from ``start``.

        Examples
        --------
        >>> Horizon(2, "W").days()
        14.0
        >>> Horizon(12, "M").days("2024-03-31")  # 2024-03-31 -> 2025-03-31
        365.0
        """
        if self.unit in UNIT_DAYS:
            return float(self.value * UNIT_DAYS[self.unit])
        if start is None:
            raise ValueError(
                f"a horizon in {'months' if self.unit == 'M' else 'years'} ({self}) is counted "
                f"in calendar {'months' if self.unit == 'M' else 'years'} from the observation "
                f"end, which is unknown here: pass observation_end=, use a btyd_summary table "
                f"(attrs['observation_end']), or give the horizon in days or weeks"
            )
        if self.value != int(self.value):
            raise ValueError(f"calendar horizons need a whole number of {self.unit}, got {self}")
        begin = pd.Timestamp(start).normalize()
        months = int(self.value) * (12 if self.unit == "Y" else 1)
        return float((begin + pd.DateOffset(months=months) - begin).days)

    def __str__(self) -> str:
        value = int(self.value) if float(self.value).is_integer() else self.value
        return f"{value}{self.unit}"


_HORIZON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([DWMY])\s*$", re.IGNORECASE)


def parse_horizon(horizon: Any) -> Horizon:
    """Read ``"12M"``, ``"52W"``, ``"365D"``, ``"1Y"`` or ``(52, "W")``; a bare number is an error.

    Examples
    --------
    >>> parse_horizon("12M")
    Horizon(value=12.0, unit='M')
    >>> parse_horizon((52, "w"))
    Horizon(value=52.0, unit='W')
    """
    if isinstance(horizon, Horizon):
        return horizon
    if isinstance(horizon, tuple) and len(horizon) == 2:
        value, unit = horizon
        text = f"{value}{unit}"
    elif isinstance(horizon, str):
        text = horizon
    else:
        raise ValueError(
            f"horizon={horizon!r} has no unit; write it as '12M', '52W', '365D', '1Y' or (52, 'W')"
        )
    match = _HORIZON.match(text)
    if not match or float(match.group(1)) <= 0:
        raise ValueError(
            f"horizon={horizon!r} is not a positive length with a unit; write it as '12M', "
            f"'52W', '365D', '1Y' or (52, 'W')"
        )
    return Horizon(float(match.group(1)), match.group(2).upper())


def _data_unit(frame: pd.DataFrame, model: Any, unit: str | None) -> str:
    """The time unit of the BTYD statistics, checked across the frame, the model and ``unit``."""
    sources = {
        "the table (attrs['btyd_unit'])": frame.attrs.get("btyd_unit"),
        "the model (unit_)": getattr(model, "unit_", None),
        "the unit argument": unit.upper() if isinstance(unit, str) else unit,
    }
    known = {k: v for k, v in sources.items() if v is not None}
    if not known:
        raise ValueError(
            "the time unit of frequency/recency/T is unknown: pass unit='W' or unit='D' (or use "
            "a table made by segkit.summary.btyd_summary, which records it)"
        )
    values = set(known.values())
    if len(values) > 1:
        detail = ", ".join(f"{k} says {v!r}" for k, v in known.items())
        raise ValueError(f"conflicting time units: {detail}; refit or recompute in one unit")
    found = values.pop()
    if found not in UNIT_DAYS:
        raise ValueError(f"unsupported time unit {found!r}; use 'D' or 'W'")
    return found


# ---------------------------------------------------------------------------------------------
# predicted CLV
# ---------------------------------------------------------------------------------------------
def _distinct_rows(x: np.ndarray, t_x: np.ndarray, big_t: np.ndarray):
    codes = pd.DataFrame({"x": x, "t": t_x, "T": big_t}).groupby(
        ["x", "t", "T"], sort=False
    ).ngroup().to_numpy()
    _, first = np.unique(codes, return_index=True)
    return codes, first


def discounted_purchases(
    model: Any,
    frequency: np.ndarray,
    recency: np.ndarray,
    T: np.ndarray,
    horizon_units: float,
    unit_days: int,
    annual_discount_rate: float,
    step_days: int = 7,
    chunk_size: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over the horizon, undiscounted and discounted, per customer.

    The horizon is cut into steps of ``step_days``; the expected purchases of step k,
    ``E[Y(t_k)] - E[Y(t_(k-1))]``, are discounted at the step's end by
    ``(1 + rate) ** -(days_k / 365.25)``. The work is done on the distinct (x, t_x, T) rows,
    ``chunk_size`` rows at a time, so memory stays at about ``chunk_size * steps * 8`` bytes
    per temporary array whatever the number of customers.
    """
    t_grid, discount = _discount_grid(horizon_units, unit_days, annual_discount_rate, step_days)
    codes, first = _distinct_rows(frequency, recency, T)
    ux, ut, uT = frequency[first], recency[first], T[first]
    total = np.empty(first.size)
    present = np.empty(first.size)
    for lo in range(0, first.size, chunk_size):
        hi = min(lo + chunk_size, first.size)
        total[lo:hi], present[lo:hi] = _discounted_rows(
            model, t_grid, discount, ux[lo:hi], ut[lo:hi], uT[lo:hi]
        )
    return total[codes], present[codes]


def _discount_grid(horizon_units: float, unit_days: int, annual_discount_rate: float,
                   step_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Ends of the discounting steps (in the data's unit) and the discount factor of each."""
    horizon_days = horizon_units * unit_days
    n_steps = max(1, math.ceil(horizon_days / step_days - 1e-9))
    ends_days = np.minimum(np.arange(1, n_steps + 1) * float(step_days), horizon_days)
    return ends_days / unit_days, (1.0 + annual_discount_rate) ** -(ends_days / DAYS_PER_YEAR)


def _discounted_rows(model, t_grid, discount, x, t_x, big_t) -> tuple[np.ndarray, np.ndarray]:
    """Expected purchases over the horizon, undiscounted and discounted, for given rows."""
    curve = model._expected_purchases_curve(t_grid, x, t_x, big_t)
    return curve[:, -1], np.diff(curve, axis=1, prepend=0.0) @ discount


def clv(
    snapshot: pd.DataFrame,
    purchase_model: Any,
    spend_model: Any,
    horizon: Any = None,
    *,
    margin: float | None = None,
    annual_discount_rate: float | None = None,
    unit: str | None = None,
    observation_end: Any = None,
    config: str | Path | Mapping[str, Any] | None = None,
    chunk_size: int = 100_000,
) -> pd.DataFrame:
    """Discounted expected customer lifetime value over a horizon.

    ``clv = margin * E[spend per purchase] * sum_k (E[Y(t_k)] - E[Y(t_(k-1))]) / (1+d)^(t_k / year)``
    with the conditional expectation ``E[Y(t) | x, t_x, T]`` of the purchase model (eq. (10)
    of Fader, Hardie & Lee 2005 for BG/NBD) and ``E[spend]`` from Gamma-Gamma (eq. (5) of
    Fader & Hardie 2013).

    Parameters
    ----------
    snapshot : DataFrame
        ``frequency``, ``recency``, ``T``, ``monetary_value`` per customer, e.g. from
        :func:`segkit.summary.btyd_summary`.
    purchase_model : fitted BetaGeo or ParetoNBD
    spend_model : fitted GammaGamma
    horizon : str or (number, unit), default from the configuration ("12M")
        ``"365D"``, ``"52W"``, ``"12M"``, ``"1Y"``; months and years are calendar ones from the
        observation end.
    margin : float, default from the configuration (1.0)
        Share of revenue kept as margin.
    annual_discount_rate : float, default from the configuration (0.10)
    unit : {"D", "W"} or None
        Time unit of recency and T. Taken from ``snapshot.attrs["btyd_unit"]`` and the model's
        ``unit_`` when known; all that are given must agree.
    observation_end : date-like or None
        Start of the horizon, needed for calendar months/years; defaults to
        ``snapshot.attrs["observation_end"]`` (a ``btyd_summary``) or ``snapshot.attrs["as_of"]``
        (a :func:`segkit.snapshot`).
    config : path, mapping or None
        User configuration overriding ``segkit/defaults/clv.yaml``.
    chunk_size : int, default 100_000
        Distinct customer rows evaluated at a time (memory ~ chunk_size x weekly steps).

    Returns
    -------
    DataFrame
        Indexed like ``snapshot``: ``expected_purchases`` (undiscounted, over the horizon),
        ``expected_average_spend``, ``clv``. ``attrs`` record the horizon, its length in the
        data's unit, the margin and the discount rate.

    Examples
    --------
    >>> import pandas as pd
    >>> from segkit.models import BetaGeo, GammaGamma
    >>> bg, gg = BetaGeo(), GammaGamma()
    >>> bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    >>> gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    >>> snap = pd.DataFrame({"frequency": [2, 0], "recency": [30.43, 0.0], "T": [38.86, 38.86],
    ...                      "monetary_value": [22.35, 0.0]}, index=pd.Index([1, 2], name="customer_id"))
    >>> out = clv(snap, bg, gg, "52W", unit="W", margin=1.0, annual_discount_rate=0.0)
    >>> out["expected_purchases"].round(3).tolist()  # = bg.expected_purchases(52, ...)
    [1.559, 0.252]
    >>> out["clv"].round(2).tolist()  # undiscounted: purchases x expected spend
    [38.44, 8.88]
    """
    cfg = load_config(config)
    horizon = parse_horizon(cfg.horizon if horizon is None else horizon)
    margin = cfg.margin if margin is None else float(margin)
    rate = cfg.annual_discount_rate if annual_discount_rate is None else float(annual_discount_rate)
    if not 0 <= margin <= 1:
        raise ValueError(f"margin={margin} must be a share between 0 and 1")
    if rate <= -1:
        raise ValueError(f"annual_discount_rate={rate} must be above -1")
    if not isinstance(snapshot, pd.DataFrame):
        raise TypeError(f"snapshot must be a DataFrame, got {type(snapshot).__name__}")
    missing = [c for c in ("frequency", "recency", "T", "monetary_value") if c not in snapshot]
    if missing:
        raise KeyError(f"snapshot lacks column(s) {missing}; found {list(snapshot.columns)}")
    for model, what in ((purchase_model, "purchase_model"), (spend_model, "spend_model")):
        try:
            check_is_fitted(model, "params_")
        except NotFittedError as exc:
            raise NotFittedError(f"{what} is not fitted: call .fit(...) first") from exc
    data_unit = _data_unit(snapshot, purchase_model, unit)
    # a btyd_summary records its observation_end, a segkit.snapshot its as_of: the same date
    start = observation_end if observation_end is not None else snapshot.attrs.get("observation_end", snapshot.attrs.get("as_of"))
    horizon_days = horizon.days(start)
    unit_days = UNIT_DAYS[data_unit]
    horizon_units = horizon_days / unit_days

    from segkit.models._checks import check_btyd_data

    x, t_x, big_t, _ = check_btyd_data(
        snapshot["frequency"], snapshot["recency"], snapshot["T"], index=snapshot.index
    )
    purchases, discounted = discounted_purchases(
        purchase_model, x, t_x, big_t, horizon_units, unit_days, rate, cfg.step_days, chunk_size
    )
    spend = np.asarray(
        spend_model.expected_average_spend(x, snapshot["monetary_value"].to_numpy(float)), float
    )
    out = pd.DataFrame(
        {
            "expected_purchases": purchases,
            "expected_average_spend": spend,
            "clv": margin * spend * discounted,
        },
        index=snapshot.index,
    )
    out.attrs.update(
        {
            "horizon": str(horizon),
            "horizon_in_unit": horizon_units,
            "btyd_unit": data_unit,
            "margin": margin,
            "annual_discount_rate": rate,
        }
    )
    return out


# ---------------------------------------------------------------------------------------------
# predicted CLV with its uncertainty
# ---------------------------------------------------------------------------------------------
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
    from tqdm import tqdm  # plain text bar, as segkit.churn's

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


# ---------------------------------------------------------------------------------------------
# historical CLV
# ---------------------------------------------------------------------------------------------
def historical_window(as_of: Any, window: Any = "12M") -> tuple[pd.Timestamp, pd.Timestamp]:
    """The window ``(start, end]`` of :func:`historical_clv`: ``end`` is ``as_of``'s day,
    ``start`` calendar months (``"12M"``, ``"1Y"``) or days (``"90D"``, ``"13W"``) before it.

    Examples
    --------
    >>> [d.date().isoformat() for d in historical_window("2026-09-30", "12M")]
    ['2025-09-30', '2026-09-30']
    """
    window = parse_horizon(window)
    end = pd.Timestamp(np.datetime64(_day_number(as_of, "as_of"), "D"))
    if window.unit in ("M", "Y"):
        months = int(window.value) * (12 if window.unit == "Y" else 1)
        return (end - pd.DateOffset(months=months)).normalize(), end
    return end - pd.Timedelta(days=int(round(window.days()))), end


def historical_clv(
    transactions: pd.DataFrame,
    as_of: Any,
    window: Any = "12M",
    *,
    margin: float | None = None,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
    amount_col: str = "amount",
    config: str | Path | Mapping[str, Any] | None = None,
) -> pd.Series:
    """Realised margin per customer over the window ending on ``as_of`` (inclusive).

    Refunds (negative amounts) count against the window in which they are booked. Customers
    with transactions on or before ``as_of`` but none in the window get 0.

    Examples
    --------
    >>> import pandas as pd
    >>> tx = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...                    "order_date": pd.to_datetime(["2023-12-31", "2024-06-01", "2024-01-15"]),
    ...                    "amount": [100.0, 50.0, 20.0]})
    >>> historical_clv(tx, "2024-12-31", "12M", margin=0.5).to_dict()
    {'a': 25.0, 'b': 10.0}
    """
    cfg = load_config(config)
    margin = cfg.margin if margin is None else float(margin)
    start, end = historical_window(as_of, window)
    window = parse_horizon(window)
    start_day, end_day = _day_number(start, "window start"), _day_number(end, "as_of")
    enc = _encode(transactions, customer_col, date_col, amount_col)
    seen = enc.days <= end_day
    inside = seen & (enc.days > start_day)
    n = len(enc.customers)
    value = np.bincount(enc.codes[inside], weights=enc.amount[inside], minlength=n)
    present = np.bincount(enc.codes[seen], minlength=n) > 0
    index = enc.customers[present]
    index.name = "customer_id"
    result = pd.Series(margin * value[present], index=index, name="historical_clv")
    result.attrs.update({"window": str(window), "as_of": end.date().isoformat(), "margin": margin})
    return result


# ---------------------------------------------------------------------------------------------
# CLV tiers
# ---------------------------------------------------------------------------------------------
def clv_tiers(
    frame: pd.DataFrame,
    *,
    lang: str = "zh",
    config: str | Path | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """CLV tiers from current value x predicted value (business-rules.md section 6).

    ============  ===================  ==========================================
    current       predicted            tier
    ============  ===================  ==========================================
    high          high                 high_value 高价值客户
    low           high                 high_potential 高潜力客户
    low           low                  low_value 低价值客户
    high          low                  ``high_now_low_later`` (high_value), flagged
                                       ``needs_review``: not a case the handbook names
    ============  ===================  ==========================================

    "High" means at or above ``tiers.current_high`` (current 12-month value) and
    ``tiers.predicted_high`` (predicted value); both default to the line ``core_revenue``
    of the ``thresholds`` section (500,000 CNY, or derived from the data for another
    currency, see :func:`segkit.segment.thresholds.resolve_thresholds`).

    Parameters
    ----------
    frame : DataFrame
        Per customer, the current value column (default ``revenue_12m``) and the predicted
        value column (default ``clv``, as returned by :func:`clv`).
    lang : {"zh", "en"}, default "zh"
        Language of ``clv_tier_label`` and ``clv_basis``.
    config : path, mapping or None
        Overrides of the ``clv`` configuration section (cut-offs, labels) and of the
        ``thresholds`` section.
    thresholds : Thresholds, optional
        The lines in use; default resolved from ``frame`` (its ``attrs["currency"]``).

    Returns
    -------
    DataFrame
        ``clv_tier`` (stable key), ``clv_tier_label``, ``needs_review``, ``clv_basis``.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"revenue_12m": [800_000, 100_000, 30_000, 900_000],
    ...                   "clv": [600_000, 700_000, 20_000, 50_000]}, index=["A", "B", "C", "D"])
    >>> tiers = clv_tiers(f)
    >>> tiers["clv_tier"].tolist()
    ['high_value', 'high_potential', 'low_value', 'high_value']
    >>> tiers["clv_tier_label"].tolist()
    ['高价值客户', '高潜力客户', '低价值客户', '高价值客户']
    >>> tiers["needs_review"].tolist()  # D: high now, low predicted -> review
    [False, False, False, True]
    >>> clv_tiers(f, lang="en").loc["B", "clv_basis"]
    '12-month value CNY 100,000 < CNY 500,000; predicted value CNY 700,000 ≥ CNY 500,000'
    """
    if lang not in ("zh", "en"):
        raise ValueError(f"lang={lang!r}; use 'zh' or 'en'")
    cfg = load_config(config)
    rules = cfg.tiers
    for col in (rules.current_column, rules.predicted_column):
        if col not in frame.columns:
            raise KeyError(
                f"column {col!r} is missing; clv_tiers needs {rules.current_column!r} (current "
                f"value) and {rules.predicted_column!r} (predicted value), found {list(frame.columns)}"
            )
    current = pd.to_numeric(frame[rules.current_column], errors="coerce").to_numpy(float)
    predicted = pd.to_numeric(frame[rules.predicted_column], errors="coerce").to_numpy(float)
    unknown = np.isnan(current) | np.isnan(predicted)
    th = thresholds if thresholds is not None else resolve_thresholds(frame, config)
    line = lambda v: float(th.values[v]) if isinstance(v, str) else float(v)  # noqa: E731
    current_high, predicted_high = line(rules.current_high), line(rules.predicted_high)
    _money = lambda v, lang: money(v, lang, th.currency, style="value")  # noqa: E731
    _line = lambda v, lang: money(v, lang, th.currency, style="threshold")  # noqa: E731
    high_now = current >= current_high
    high_later = predicted >= predicted_high
    tier = np.select(
        [high_now & high_later, ~high_now & high_later, ~high_now & ~high_later],
        ["high_value", "high_potential", "low_value"],
        default=rules.high_now_low_later,
    ).astype(object)
    review = (high_now & ~high_later) | unknown
    tier[unknown] = "low_value"
    labels = {k: getattr(v, lang) for k, v in cfg.labels.items()}
    cmp_now = np.where(high_now, "≥", "<")
    cmp_later = np.where(high_later, "≥", "<")
    if lang == "zh":
        basis = [
            f"近12个月价值 {_money(c, 'zh')} {a} {_line(current_high, 'zh')}；"
            f"预测价值 {_money(p, 'zh')} {b} {_line(predicted_high, 'zh')}"
            if not u else "当前或预测价值缺失，需人工复核"
            for c, p, a, b, u in zip(current, predicted, cmp_now, cmp_later, unknown, strict=True)
        ]
    else:
        basis = [
            f"12-month value {_money(c, 'en')} {a} {_line(current_high, 'en')}; "
            f"predicted value {_money(p, 'en')} {b} {_line(predicted_high, 'en')}"
            if not u else "current or predicted value missing; review by hand"
            for c, p, a, b, u in zip(current, predicted, cmp_now, cmp_later, unknown, strict=True)
        ]
    return pd.DataFrame(
        {
            "clv_tier": pd.array(tier.tolist(), dtype="str"),
            "clv_tier_label": pd.array([labels[t] for t in tier], dtype="str"),
            "needs_review": review,
            "clv_basis": pd.array(basis, dtype="str"),
        },
        index=frame.index,
    )


# ---------------------------------------------------------------------------------------------
# holdout validation
# ---------------------------------------------------------------------------------------------
@dataclass
class HoldoutValidation:
    """Result of :func:`validate_clv`.

    Attributes
    ----------
    table : DataFrame
        Index ``frequency_cal`` ("0", "1", ..., "7+"); columns ``n_customers``,
        ``actual`` and ``predicted`` (mean holdout purchases), ``error`` (predicted - actual).
    aggregate_error : float
        (total predicted - total actual) / total actual holdout purchases.
    mean_absolute_error : float
        Mean over customers of |predicted - actual|.
    roc_auc : float
        ROC AUC of the expected holdout purchases for "bought again in the holdout".
    roc_auc_probability_alive : float
        The same for P(alive) alone (weak: it is 1 for everyone without a repeat purchase).
    predictions : DataFrame
        Per customer: ``actual``, ``predicted``, ``probability_alive``.
    model : estimator
        The fitted purchase model used.
    """

    table: pd.DataFrame
    aggregate_error: float
    mean_absolute_error: float
    roc_auc: float
    roc_auc_probability_alive: float
    predictions: pd.DataFrame = field(repr=False)
    model: Any = field(repr=False)


def validate_clv(
    model: Any, calibration_holdout_frame: pd.DataFrame, *, max_frequency: int = 7
) -> HoldoutValidation:
    """Compare a purchase model's holdout predictions with what customers actually did.

    Parameters
    ----------
    model : BetaGeo or ParetoNBD
        Fitted on the calibration columns; an unfitted one is cloned and fitted on
        ``frequency_cal``, ``recency_cal``, ``T_cal``.
    calibration_holdout_frame : DataFrame
        From :func:`segkit.summary.calibration_holdout`.
    max_frequency : int, default 7
        Calibration frequencies at or above it are pooled ("7+").

    Returns
    -------
    HoldoutValidation

    References
    ----------
    Fader, Hardie & Lee (2005), section 4 and Figure 3 (conditional expectations).
    """
    frame = calibration_holdout_frame
    needed = ["frequency_cal", "recency_cal", "T_cal", "frequency_holdout", "duration_holdout"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise KeyError(
            f"calibration/holdout table lacks {missing}; make it with "
            f"segkit.summary.calibration_holdout (found {list(frame.columns)})"
        )
    try:
        check_is_fitted(model, "params_")
    except NotFittedError:
        model = clone(model).fit(frame["frequency_cal"], frame["recency_cal"], frame["T_cal"])
        model.unit_ = frame.attrs.get("btyd_unit")
    if frame.attrs.get("btyd_unit") and getattr(model, "unit_", None):
        _data_unit(frame, model, None)  # raises when they disagree
    x = frame["frequency_cal"].to_numpy(float)
    predicted = np.asarray(
        model.expected_purchases(
            frame["duration_holdout"].to_numpy(float), x,
            frame["recency_cal"].to_numpy(float), frame["T_cal"].to_numpy(float),
        ),
        float,
    )
    alive = np.asarray(
        model.probability_alive(x, frame["recency_cal"].to_numpy(float),
                                frame["T_cal"].to_numpy(float)),
        float,
    )
    actual = frame["frequency_holdout"].to_numpy(float)
    group = np.minimum(x, max_frequency).astype(int)
    labels = [str(k) if k < max_frequency else f"{max_frequency}+" for k in range(max_frequency + 1)]
    per = pd.DataFrame({"group": group, "actual": actual, "predicted": predicted})
    table = per.groupby("group").agg(
        n_customers=("actual", "size"), actual=("actual", "mean"), predicted=("predicted", "mean")
    )
    table = table.reindex(range(max_frequency + 1))
    table["n_customers"] = table["n_customers"].fillna(0).astype(int)
    table["error"] = table["predicted"] - table["actual"]
    table.index = pd.Index(labels, name="frequency_cal")
    bought = actual > 0
    if bought.all() or not bought.any():
        auc = auc_alive = float("nan")
    else:
        auc = float(roc_auc_score(bought, predicted))
        auc_alive = float(roc_auc_score(bought, alive))
    return HoldoutValidation(
        table=table,
        aggregate_error=float((predicted.sum() - actual.sum()) / max(actual.sum(), 1e-12)),
        mean_absolute_error=float(np.mean(np.abs(predicted - actual))),
        roc_auc=auc,
        roc_auc_probability_alive=auc_alive,
        predictions=pd.DataFrame(
            {"actual": actual, "predicted": predicted, "probability_alive": alive},
            index=frame.index,
        ),
        model=model,
    )


# ---------------------------------------------------------------------------------------------
# tracking: cumulative repeat purchases, actual vs expected
# ---------------------------------------------------------------------------------------------
def repeat_purchase_tracking(
    transactions: pd.DataFrame,
    model: Any,
    start: Any,
    end: Any,
    unit: str = "W",
    *,
    period: str | None = "D",
    cohort_end: Any = None,
    customer_col: str = "customer_id",
    date_col: str = "order_date",
) -> pd.DataFrame:
    """Cumulative repeat purchases of a cohort per period: actual vs the model's expectation.

    The cohort is every customer whose first purchase lies in ``[start, cohort_end]``
    (default: up to ``end``). Expected repeat purchases by the end of period k are
    ``sum_i E[X(t_k - t_i)]`` with ``t_i`` the customer's first purchase (eq. (9) of Fader,
    Hardie & Lee 2005 for BG/NBD); actual ones count the distinct purchase ``period``\\ s after
    the first, as :func:`segkit.summary.btyd_summary` does. Period k ends on day
    ``start + k * unit - 1`` (inclusive), so with CDNOW's start 1997-01-01 week 39 ends on
    1997-09-30, the calibration end of the paper.

    Returns
    -------
    DataFrame
        Index ``period`` (1, 2, ...); columns ``period_end``, ``actual``, ``expected``
        (cumulative), ``actual_incremental``, ``expected_incremental``.
    """
    unit, period = _resolve_units(unit, period)
    unit_days = UNIT_DAYS[unit]
    start_day = _day_number(start, "start")
    end_day = _day_number(end, "end")
    cohort_day = end_day if cohort_end is None else _day_number(cohort_end, "cohort_end")
    if end_day < start_day + unit_days - 1:
        raise ValueError(f"end ({end}) must be at least one {unit} period after start ({start})")
    enc = _encode(transactions, customer_col, date_col, None)
    keep = enc.days <= end_day
    codes, days = enc.codes[keep], enc.days[keep]
    n = len(enc.customers)
    first = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, days)
    in_cohort = (first >= start_day) & (first <= cohort_day)
    sel = in_cohort[codes]
    codes, days = codes[sel], days[sel]
    period_index = days if period == "D" else (days + 3) // 7
    pairs = np.unique(codes * (int(period_index.max()) + 1) + period_index) if codes.size else codes
    pair_codes = pairs // (int(period_index.max()) + 1) if codes.size else pairs
    pair_period = pairs - pair_codes * (int(period_index.max()) + 1) if codes.size else pairs
    is_first = np.empty(pairs.size, dtype=bool)
    if pairs.size:
        is_first[0] = True
        is_first[1:] = pair_codes[1:] != pair_codes[:-1]
    repeat_period = pair_period[~is_first]
    # the day each repeat purchase period starts (or the day itself for daily periods)
    repeat_day = repeat_period if period == "D" else repeat_period * 7 - 3
    n_periods = (end_day - start_day + 1) // unit_days
    k = np.arange(1, n_periods + 1)
    period_end_day = start_day + k * unit_days - 1
    actual = np.searchsorted(np.sort(repeat_day), period_end_day, side="right")
    first_days, counts = np.unique(first[in_cohort], return_counts=True)
    elapsed = (period_end_day[None, :] - first_days[:, None]) / unit_days
    population = np.asarray(model.expected_purchases_population(np.maximum(elapsed, 0).ravel()))
    expected = counts @ population.reshape(elapsed.shape)
    table = pd.DataFrame(
        {
            "period_end": (period_end_day.astype("datetime64[D]")).astype("datetime64[ns]"),
            "actual": actual.astype(float),
            "expected": expected,
        },
        index=pd.Index(k, name="period"),
    )
    table["actual_incremental"] = table["actual"].diff().fillna(table["actual"])
    table["expected_incremental"] = table["expected"].diff().fillna(table["expected"])
    table.attrs.update({"btyd_unit": unit, "btyd_period": period, "cohort_size": int(in_cohort.sum())})
    return table

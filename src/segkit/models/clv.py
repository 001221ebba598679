"""Customer lifetime value: predicted (BTYD x Gamma-Gamma), historical, CLV tiers.

* :func:`clv` -- discounted expected value over a horizon given with its unit (revenue, or
  margin when ``clv.margin`` is configured: ``attrs["basis"]``), from a fitted
  purchase model (:class:`~segkit.models.BetaGeo` or :class:`~segkit.models.ParetoNBD`) and a
  fitted :class:`~segkit.models.GammaGamma`; streams customers in chunks.
* :func:`historical_clv` -- realised value (revenue or margin) over a past window.
* :func:`clv_tiers` -- 高价值 / 高潜力 / 低价值 (business-rules.md section 6), keys;
  their labels and basis in words, at the edge: :func:`segkit.models.clv_words.explain_clv_tiers`.
* intervals on predicted CLV: :mod:`segkit.models.clv_interval`.
* checks against a holdout: :mod:`segkit.models.clv_validation`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, field_validator
from sklearn.exceptions import NotFittedError
from sklearn.utils.validation import check_is_fitted

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.segment.thresholds import Thresholds, load_thresholds_config, resolve_thresholds
from segkit.summary import UNIT_DAYS, _day_number, _encode

__all__ = [
    "ClvConfig",
    "Horizon",
    "clv",
    "clv_tiers",
    "historical_clv",
    "parse_horizon",
    "value_basis",
]

TIER_KEYS = ("high_value", "high_potential", "low_value")
DAYS_PER_YEAR = 365.25  # for the annual discount rate only (Act/365.25)


# --- configuration ---------------------------------------------------------------------------
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


@register_section("clv")
class ClvConfig(StrictModel):
    """The ``clv`` configuration section (``segkit/defaults/clv.yaml``)."""

    horizon: str
    # None (``margin: null``) = CLV in revenue terms; stored as 1.0, see :func:`value_basis`
    margin: float = Field(gt=0, le=1)
    annual_discount_rate: float
    step_days: int
    interval: ClvIntervalRules
    tiers: ClvTierRules
    labels: dict[Literal["high_value", "high_potential", "low_value"], Label]


    @field_validator("margin", mode="before")
    @classmethod
    def _no_margin_is_revenue(cls, value: Any) -> Any:
        return 1.0 if value is None else value

    @property
    def basis(self) -> str:
        """``"revenue"`` or ``"margin"``: what CLV measures with these settings (:func:`value_basis`)."""
        return value_basis(self.margin)


def value_basis(margin: float) -> str:
    """What a value computed with ``margin`` measures: ``"revenue"`` at 1 (no margin
    configured), ``"margin"`` below it. Reports label CLV by this key, never "margin" for
    revenue.

    Examples
    --------
    >>> value_basis(1.0), value_basis(0.35)
    ('revenue', 'margin')
    >>> load_config().basis, load_config({"clv": {"margin": 0.35}}).basis
    ('revenue', 'margin')
    """
    return "revenue" if float(margin) == 1.0 else "margin"


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


# --- horizons with units ---------------------------------------------------------------------
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


# --- predicted CLV ---------------------------------------------------------------------------
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
    margin : float, default from the configuration (``margin: null``: 1.0, CLV in revenue)
        Share of revenue kept as margin, in (0, 1]; below 1 the CLV is a margin.
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
        data's unit, the margin, the discount rate and ``basis``: ``"revenue"`` (margin 1, the
        default) or ``"margin"`` (:func:`value_basis`), what the ``clv`` column measures.

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
    if not 0 < margin <= 1:
        raise ValueError(f"margin={margin} must be a share of revenue above 0 and at most 1 (1 = CLV in revenue)")
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
            "basis": value_basis(margin),
            "annual_discount_rate": rate,
        }
    )
    return out


# --- historical CLV --------------------------------------------------------------------------
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
    customer_col: str = "customer_id", date_col: str = "order_date", amount_col: str = "amount",
    config: str | Path | Mapping[str, Any] | None = None,
) -> pd.Series:
    """Realised value per customer over the window ending on ``as_of`` (inclusive): revenue,
    or margin when one is configured (``attrs["basis"]``, see :func:`value_basis`).

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
    result.attrs.update({"window": str(window), "as_of": end.date().isoformat(), "margin": margin,
                         "basis": value_basis(margin)})
    return result


# --- CLV tiers -------------------------------------------------------------------------------
def clv_tiers(
    frame: pd.DataFrame,
    *,
    config: str | Path | Mapping[str, Any] | None = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """CLV tiers from current value x predicted value (business-rules.md section 6); keys.

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
    config : path, mapping or None
        Overrides of the ``clv`` configuration section (cut-offs, labels) and of the
        ``thresholds`` section.
    thresholds : Thresholds, optional
        The lines in use; default resolved from ``frame`` (its ``attrs["currency"]``).

    Returns
    -------
    DataFrame
        ``clv_tier`` (stable key) and ``needs_review``; ``attrs["thresholds"]`` holds the lines
        used. Labels and the basis in words: :func:`segkit.models.clv_words.explain_clv_tiers`.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"revenue_12m": [800_000, 100_000, 30_000, 900_000],
    ...                   "clv": [600_000, 700_000, 20_000, 50_000]}, index=["A", "B", "C", "D"])
    >>> tiers = clv_tiers(f)
    >>> tiers["clv_tier"].tolist()
    ['high_value', 'high_potential', 'low_value', 'high_value']
    >>> tiers["needs_review"].tolist()  # D: high now, low predicted -> review
    [False, False, False, True]
    """
    cfg = load_config(config)
    rules = cfg.tiers
    current, predicted, unknown = _clv_values(frame, rules)
    th = thresholds if thresholds is not None else resolve_thresholds(frame, config)
    current_high, predicted_high = _clv_lines(rules, th)
    high_now = current >= current_high
    high_later = predicted >= predicted_high
    tier = np.select(
        [high_now & high_later, ~high_now & high_later, ~high_now & ~high_later],
        ["high_value", "high_potential", "low_value"],
        default=rules.high_now_low_later,
    ).astype(object)
    review = (high_now & ~high_later) | unknown
    tier[unknown] = "low_value"
    out = pd.DataFrame({"clv_tier": pd.array(tier.tolist(), dtype="str"), "needs_review": review}, index=frame.index)
    out.attrs["thresholds"] = th
    return out


def _clv_values(frame: pd.DataFrame, rules: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    for col in (rules.current_column, rules.predicted_column):
        if col not in frame.columns:
            raise KeyError(
                f"column {col!r} is missing; clv_tiers needs {rules.current_column!r} (current "
                f"value) and {rules.predicted_column!r} (predicted value), found {list(frame.columns)}"
            )
    current = pd.to_numeric(frame[rules.current_column], errors="coerce").to_numpy(float)
    predicted = pd.to_numeric(frame[rules.predicted_column], errors="coerce").to_numpy(float)
    return current, predicted, np.isnan(current) | np.isnan(predicted)


def _clv_lines(rules: Any, th: Thresholds) -> tuple[float, float]:
    return tuple(float(th.values[v]) if isinstance(v, str) else float(v) for v in (rules.current_high, rules.predicted_high))

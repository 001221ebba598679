"""Churn risk (流失风险预警): handbook signals, leak-free training tables, backtests, scoring.

business-rules.md section 8. Four steps, each usable on its own:

* :func:`risk_signals` -- one yes/no column per handbook signal, with the reasons in words,
  and :func:`high_risk_list`, the handbook's rule-based high-risk list (no interaction in
  the last 3 months and orders down by 50%);
* :func:`churn_training_table` -- point-in-time features at several as-of dates (quarter
  ends) with the label "churned within the horizon". Features come from
  :func:`segkit.features.snapshot`, which reads nothing dated after the as-of date; labels
  read only the outcome window ``(as_of, as_of + horizon]``. Customers whose outcome window
  has not ended by the data's as-of date are kept apart as "to score";
* :func:`fit_churn_model` -- the model for a date, trained on every earlier quarter end
  whose outcome is complete, on at most ``training.max_training_rows`` rows: above the cap a
  sample stratified by quarter end and label, seeded with ``training.sample_seed``
  (:func:`sample_training_rows`);
* :func:`backtest_churn` -- train on earlier quarter ends, test on the latest one whose
  outcome is complete; the model side by side with the BG/NBD baseline (expected purchases
  over the horizon) and the rule-based list;
* :func:`score_churn` -- today's churn probability, risk level, reasons and the retention
  action of the customer's tier (business-rules.md sections 8 and 9), with owner and
  department.

Thresholds, label definitions, risk cut-offs and model defaults live in
``segkit/defaults/churn.yaml`` (section ``churn`` of a user configuration).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from segkit.config import ConfigError, StrictModel, load_section
from segkit.features import month_window, months_before, snapshot, snapshot_ids
from segkit.io import Dataset
from segkit.labels import check_lang, label_series

__all__ = [
    "ChurnConfig",
    "ChurnTrainingTable",
    "ChurnBacktest",
    "SIGNALS",
    "load_churn_config",
    "risk_signals",
    "high_risk_list",
    "BTYD_FEATURES",
    "horizon_periods",
    "fit_btyd",
    "btyd_features",
    "churn_features",
    "churn_labels",
    "churn_training_table",
    "quarter_ends",
    "training_dates",
    "history_needed",
    "horizon_end",
    "churn_metrics",
    "lift_capture",
    "calibration_table",
    "backtest_churn",
    "sample_training_rows",
    "fit_churn_model",
    "risk_levels",
    "score_churn",
]

#: Signal keys in the order they are reported.
SIGNALS = (
    "high_risk", "orders_falling", "low_satisfaction", "key_contact_change", "complaints",
    "cooperation_shortening", "contact_drop",
)


# --------------------------------------------------------------------------------------------
# configuration


class Text(StrictModel):
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return getattr(self, lang)


class _Signal(StrictModel):
    enabled: bool = True
    label: Text
    reason: Text


class HighRiskSignal(_Signal):
    no_interaction_months: Literal[3, 6] = 3
    compare_months: Literal[3, 6] = 3
    order_drop: float = Field(gt=0, le=1)


class OrdersFallingSignal(_Signal):
    quarters: Literal[2, 3] = 2


class LowSatisfactionSignal(_Signal):
    below: float = Field(ge=0, le=100)


class KeyContactSignal(_Signal):
    pass


class ComplaintsSignal(_Signal):
    window_months: Literal[6, 12] = 6
    min_count: int = Field(ge=1)


class CooperationShorteningSignal(_Signal):
    gap_factor: float = Field(gt=1)
    min_repeat_orders: int = Field(ge=1)


class ContactDropSignal(_Signal):
    drop: float = Field(gt=0, le=1)
    min_previous: int = Field(ge=1)


class Signals(StrictModel):
    high_risk: HighRiskSignal
    orders_falling: OrdersFallingSignal
    low_satisfaction: LowSatisfactionSignal
    key_contact_change: KeyContactSignal
    complaints: ComplaintsSignal
    cooperation_shortening: CooperationShorteningSignal
    contact_drop: ContactDropSignal


class LabelDefinition(StrictModel):
    kind: Literal["no_order", "revenue_drop"]
    drop: float | None = Field(default=None, gt=0, le=1)
    zh: str
    en: str

    @model_validator(mode="after")
    def _drop_needed(self):
        if self.kind == "revenue_drop" and self.drop is None:
            raise ValueError("a revenue_drop definition needs `drop` (a share, e.g. 0.8)")
        return self


class LabelsConfig(StrictModel):
    default: str
    active_months: int = Field(ge=1, le=120)
    definitions: dict[str, LabelDefinition]

    @model_validator(mode="after")
    def _default_known(self):
        if self.default not in self.definitions:
            raise ValueError(f"default {self.default!r} is not one of the definitions {sorted(self.definitions)}")
        return self


class BtydFeaturesConfig(StrictModel):
    """``training.btyd_features``: BG/NBD outputs as churn features (:func:`btyd_features`)."""

    enabled: bool = True
    #: Seed of the BG/NBD fit (its random starts and screening sample).
    random_state: int = Field(default=0, ge=0)


class TrainingConfig(StrictModel):
    exclude_columns: list[str]
    date_ages: dict[str, str]
    add_signals: bool = True
    btyd_features: BtydFeaturesConfig = BtydFeaturesConfig()
    min_history_months: int = Field(ge=0)
    #: Most training rows (customer x quarter end) a model is fitted on; above it a sample
    #: stratified by quarter end and label is drawn (:func:`sample_training_rows`). None: no cap.
    max_training_rows: int | None = Field(default=200_000, ge=1)
    #: Seed of that sample: the same table and seed give the same rows.
    sample_seed: int = Field(default=0, ge=0)


class RiskLevels(StrictModel):
    high: float = Field(gt=0, le=1)
    medium: float = Field(ge=0, le=1)
    labels: dict[Literal["high", "medium", "low"], Text]

    @model_validator(mode="after")
    def _ordered(self):
        if self.medium > self.high:
            raise ValueError(f"medium ({self.medium}) must not be above high ({self.high})")
        return self


class DormantRule(StrictModel):
    after_days: int = Field(ge=1)
    levels: list[Literal["high", "medium", "low"]]
    action: str
    except_tiers: list[str] = []


class ActionsConfig(StrictModel):
    by_level: dict[Literal["high", "medium", "low"], dict[str, str]]
    dormant: DormantRule


class ModelDefaults(StrictModel):
    model: Literal["logistic", "tree", "gbm"] = "logistic"
    calibrate: bool = True
    random_state: int | None = 0


class BacktestConfig(StrictModel):
    top_share: float = Field(gt=0, lt=1)
    calibration_bins: int = Field(ge=2, le=100)


class ChurnConfig(StrictModel):
    """The ``churn`` configuration section (``segkit/defaults/churn.yaml``)."""

    signals: Signals
    labels: LabelsConfig
    training: TrainingConfig
    risk_levels: RiskLevels
    actions: ActionsConfig
    model: ModelDefaults
    backtest: BacktestConfig
    features: dict[str, Text]


def load_churn_config(config: str | Path | Mapping[str, Any] | ChurnConfig | None = None) -> ChurnConfig:
    """The ``churn`` section: package defaults overridden by ``config``.

    Examples
    --------
    >>> cfg = load_churn_config()
    >>> cfg.signals.high_risk.order_drop, cfg.signals.low_satisfaction.below, cfg.labels.default
    (0.5, 70.0, 'no_order')
    >>> load_churn_config({"churn": {"risk_levels": {"hihg": 0.4}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'churn' configuration:
      - unknown key 'risk_levels.hihg'; allowed keys here: ['high', 'labels', 'medium']
    """
    if isinstance(config, ChurnConfig):
        return config
    return load_section("churn", ChurnConfig, config)


# --------------------------------------------------------------------------------------------
# risk signals


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what} needs the snapshot column(s) {', '.join(missing)} (see segkit.snapshot)")


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _fill_reasons(mask: pd.Series, template: str, fields: dict[str, Any]) -> pd.Series:
    """The reason text where ``mask`` holds, "" elsewhere; fields may be scalars or Series."""
    out = pd.Series("", index=mask.index, dtype="str")
    hit = mask.to_numpy(dtype=bool)
    if hit.any():
        n = int(hit.sum())
        columns = {k: (v.to_numpy(dtype=object)[hit] if isinstance(v, pd.Series) else [v] * n) for k, v in fields.items()}
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())] if columns else [{}] * n
        out.iloc[np.flatnonzero(hit)] = [template.format(**row) for row in rows]
    return out


def _no_reasons(mask: pd.Series, template: str, fields: dict[str, Any]) -> pd.Series:
    return pd.Series("", index=mask.index, dtype="str")


def risk_signals(snapshot: pd.DataFrame, config: Any = None, lang: str = "zh", *, with_reasons: bool = True) -> pd.DataFrame:
    """The handbook's churn-risk signals (流失风险信号), one yes/no column each, with reasons.

    Parameters
    ----------
    snapshot : DataFrame
        From :func:`segkit.snapshot`, indexed by customer_id.
    config : path, mapping or ChurnConfig, optional
        Overrides of the ``churn`` section (thresholds under ``signals``).
    lang : {"zh", "en"}, default "zh"
        Language of ``reasons``.
    with_reasons : bool, default True
        False leaves ``reasons`` empty: the yes/no columns only, as the churn model's
        features need them (much faster on many customers).

    Returns
    -------
    DataFrame
        Indexed like ``snapshot``:

        * ``high_risk`` -- the high-risk list rule: no interaction in the last 3 months and
          orders down >= 50% on the previous 3 months (a customer without orders in the
          previous period cannot be "down");
        * ``orders_falling`` -- orders fell 2 quarters in a row
          (``orders_6_9m > orders_3_6m > orders_0_3m``);
        * ``low_satisfaction`` -- latest satisfaction below 70;
        * ``key_contact_change`` -- key contact changed in the last 6 months;
        * ``complaints`` -- at least one complaint in the last 6 months;
        * ``cooperation_shortening`` -- time since the last order more than twice the
          customer's usual gap between orders (needs >= 2 repeat orders);
        * ``contact_drop`` -- interactions in the last 3 months down >= 50% on the 3 months
          before (from at least 2);
        * ``n_signals`` -- how many of these hold; ``reasons`` -- their texts joined.

        A disabled signal (``enabled: false``) is all False. Missing data (no survey, no
        orders) never raises a signal.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({
    ...     "orders_0_3m": [0, 4], "orders_3_6m": [3, 5], "orders_6_9m": [5, 5], "orders_9_12m": [5, 5],
    ...     "orders_6m": [3, 9], "interactions_3m": [0, 6], "interactions_6m": [2, 12],
    ...     "interactions_prev_3m": [2, 6], "satisfaction": [65.0, 90.0],
    ...     "key_contact_changed_6m": [True, False], "complaints_6m": [1, 0], "complaints_12m": [1, 0],
    ...     "frequency": [12.0, 30.0], "recency": [40.0, 51.0], "recency_days": [100.0, 3.0],
    ...     "T": [52.0, 52.0]}, index=pd.Index(["C1", "C2"], name="customer_id"))
    >>> snap.attrs["btyd_unit"] = "W"
    >>> signals = risk_signals(snap, lang="en")
    >>> signals["n_signals"].tolist()
    [7, 0]
    >>> signals.loc["C1", "reasons"].split("; ")[0]
    'no interaction in the last 3 months and orders down 100% on the previous 3 months (3 -> 0)'
    """
    check_lang(lang)
    cfg = load_churn_config(config).signals
    fill = _fill_reasons if with_reasons else _no_reasons
    unit_days = {"W": 7.0, "D": 1.0}.get(snapshot.attrs.get("btyd_unit", "W"), 7.0)
    index = snapshot.index
    false = pd.Series(False, index=index)
    flags: dict[str, pd.Series] = {}
    reasons: dict[str, pd.Series] = {}

    s = cfg.high_risk
    if s.enabled:
        contact_col = "interactions_3m" if s.no_interaction_months == 3 else "interactions_6m"
        if s.compare_months == 3:
            _require(snapshot, [contact_col, "orders_0_3m", "orders_3_6m"], "the high-risk rule")
            now, before = _num(snapshot, "orders_0_3m"), _num(snapshot, "orders_3_6m")
        else:
            _require(snapshot, [contact_col, "orders_6m", "orders_6_9m", "orders_9_12m"], "the high-risk rule")
            now = _num(snapshot, "orders_6m")
            before = _num(snapshot, "orders_6_9m") + _num(snapshot, "orders_9_12m")
        drop = 1.0 - now / before.where(before > 0)
        flag = (_num(snapshot, contact_col) == 0) & (drop >= s.order_drop - 1e-12)
        flags["high_risk"] = flag.fillna(False).astype(bool)
        reasons["high_risk"] = fill(flags["high_risk"], s.reason.text(lang), {
            "months": s.no_interaction_months, "compare_months": s.compare_months, "drop": drop,
            "before": before.astype("Int64"), "now": now.astype("Int64"),
        })

    s = cfg.orders_falling
    if s.enabled:
        windows = ["orders_0_3m", "orders_3_6m", "orders_6_9m", "orders_9_12m"][: s.quarters + 1]
        _require(snapshot, windows, "the orders-falling signal")
        counts = [_num(snapshot, c) for c in windows]  # newest first
        flag = pd.Series(True, index=index)
        for newer, older in zip(counts, counts[1:]):
            flag &= newer < older
        flags["orders_falling"] = flag.fillna(False).astype(bool)
        as_text = [c.astype("Int64").astype("str") for c in reversed(counts)]  # oldest first
        text = as_text[0]
        for part in as_text[1:]:
            text = text + " -> " + part
        reasons["orders_falling"] = fill(flags["orders_falling"], s.reason.text(lang), {"quarters": s.quarters, "counts": text})

    s = cfg.low_satisfaction
    if s.enabled:
        _require(snapshot, ["satisfaction"], "the low-satisfaction signal")
        value = _num(snapshot, "satisfaction")
        flags["low_satisfaction"] = (value < s.below).fillna(False).astype(bool)
        reasons["low_satisfaction"] = fill(flags["low_satisfaction"], s.reason.text(lang), {"value": value, "below": s.below})

    s = cfg.key_contact_change
    if s.enabled:
        _require(snapshot, ["key_contact_changed_6m"], "the key-contact signal")
        flags["key_contact_change"] = snapshot["key_contact_changed_6m"].astype("boolean").fillna(False).astype(bool)
        reasons["key_contact_change"] = fill(flags["key_contact_change"], s.reason.text(lang), {})

    s = cfg.complaints
    if s.enabled:
        column = f"complaints_{s.window_months}m"
        _require(snapshot, [column], "the complaints signal")
        count = _num(snapshot, column)
        flags["complaints"] = (count >= s.min_count).fillna(False).astype(bool)
        reasons["complaints"] = fill(flags["complaints"], s.reason.text(lang), {
            "months": s.window_months, "count": count.astype("Int64"),
        })

    s = cfg.cooperation_shortening
    if s.enabled:
        _require(snapshot, ["frequency", "recency", "recency_days"], "the cooperation-shortening signal")
        repeat = _num(snapshot, "frequency")
        gap = (_num(snapshot, "recency") * unit_days / repeat.where(repeat >= s.min_repeat_orders))
        days = _num(snapshot, "recency_days")
        ratio = days / gap.where(gap > 0)
        flags["cooperation_shortening"] = (ratio > s.gap_factor).fillna(False).astype(bool)
        reasons["cooperation_shortening"] = fill(flags["cooperation_shortening"], s.reason.text(lang), {
            "days": days, "gap": gap, "ratio": ratio,
        })

    s = cfg.contact_drop
    if s.enabled:
        _require(snapshot, ["interactions_3m", "interactions_prev_3m"], "the contact-drop signal")
        now, before = _num(snapshot, "interactions_3m"), _num(snapshot, "interactions_prev_3m")
        drop = 1.0 - now / before.where(before >= s.min_previous)
        flags["contact_drop"] = (drop >= s.drop - 1e-12).fillna(False).astype(bool)
        reasons["contact_drop"] = fill(flags["contact_drop"], s.reason.text(lang), {
            "now": now.astype("Int64"), "before": before.astype("Int64"), "drop": drop,
        })

    out = pd.DataFrame({key: flags.get(key, false) for key in SIGNALS}, index=index)
    out["n_signals"] = out[list(SIGNALS)].sum(axis=1).astype("int64")
    separator = "；" if lang == "zh" else "; "
    joined = pd.Series("", index=index, dtype="str")
    for key in SIGNALS:
        if key in reasons:
            text = reasons[key]
            joined = joined + np.where((joined != "") & (text != ""), separator, "") + text
    out["reasons"] = joined
    return out


def high_risk_list(snapshot: pd.DataFrame, config: Any = None, lang: str = "zh") -> pd.DataFrame:
    """The rule-based high-risk customer list (高风险客户名单) that triggers intervention.

    Customers meeting the handbook rule (no interaction in the last 3 months and orders down
    by 50%), most signals first, then by 12-month revenue.

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``name``, ``owner``, ``department``, ``revenue_12m`` (where the
        snapshot has them), ``n_signals``, ``reasons`` and every signal column.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({
    ...     "name": ["A", "B"], "orders_0_3m": [0, 1], "orders_3_6m": [2, 1], "orders_6_9m": [2, 1],
    ...     "orders_9_12m": [1, 1], "orders_6m": [2, 2], "interactions_3m": [0, 0], "interactions_6m": [1, 2],
    ...     "interactions_prev_3m": [1, 2], "satisfaction": [80.0, 80.0], "key_contact_changed_6m": [False, False],
    ...     "complaints_6m": [0, 0], "complaints_12m": [0, 0], "frequency": [5.0, 4.0], "recency": [40.0, 50.0],
    ...     "recency_days": [120.0, 10.0], "T": [52.0, 52.0], "revenue_12m": [1e5, 2e5]},
    ...     index=pd.Index(["C1", "C2"], name="customer_id"))
    >>> high_risk_list(snap, lang="en")[["name", "n_signals"]]  # doctest: +NORMALIZE_WHITESPACE
                name  n_signals
    customer_id
    C1             A          2
    """
    signals = risk_signals(snapshot, config, lang)
    listed = signals.loc[signals["high_risk"]]
    keep = [c for c in ("name", "owner", "department", "revenue_12m") if c in snapshot.columns]
    out = snapshot.loc[listed.index, keep].join(listed[["n_signals", "reasons", *SIGNALS]])
    sort = ["n_signals", "revenue_12m"] if "revenue_12m" in out else ["n_signals"]
    return out.sort_values(sort, ascending=False, kind="stable")


# --------------------------------------------------------------------------------------------
# horizons and dates

_HORIZON = re.compile(r"^\s*(\d+)\s*([QMDW])\s*$", re.IGNORECASE)


def _parse_horizon(horizon: str) -> tuple[int, str]:
    match = _HORIZON.match(str(horizon))
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"horizon {horizon!r} not understood; write a count and a unit: '1Q' (quarters), "
            "'3M' (months), '13W' (weeks) or '90D' (days)"
        )
    return int(match.group(1)), match.group(2).upper()


def horizon_end(as_of: Any, horizon: str = "1Q") -> pd.Timestamp:
    """Last day of the outcome window ``(as_of, end]``.

    Quarters and months keep month ends month ends (2026-06-30 + 1Q = 2026-09-30).

    Examples
    --------
    >>> horizon_end("2026-06-30", "1Q").date(), horizon_end("2025-11-30", "3M").date()
    (datetime.date(2026, 9, 30), datetime.date(2026, 2, 28))
    >>> horizon_end("2026-06-30", "90D").date()
    datetime.date(2026, 9, 28)
    """
    n, unit = _parse_horizon(horizon)
    as_of = pd.Timestamp(as_of).normalize()
    if unit in ("Q", "M"):
        months = n * 3 if unit == "Q" else n
        if as_of.is_month_end:
            return (as_of.to_period("M") + months).end_time.normalize()
        return as_of + pd.DateOffset(months=months)
    return as_of + pd.Timedelta(days=n * (7 if unit == "W" else 1))


def _horizon_start(as_of: pd.Timestamp, horizon: str) -> pd.Timestamp:
    """Start (exclusive) of the period of the same length just before ``as_of``."""
    n, unit = _parse_horizon(horizon)
    if unit in ("Q", "M"):
        return months_before(as_of, n * 3 if unit == "Q" else n)
    return as_of - pd.Timedelta(days=n * (7 if unit == "W" else 1))


def quarter_ends(start: Any, end: Any) -> list[pd.Timestamp]:
    """Quarter-end dates from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> [d.date().isoformat() for d in quarter_ends("2025-12-31", "2026-09-30")]
    ['2025-12-31', '2026-03-31', '2026-06-30', '2026-09-30']
    """
    return list(pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="QE"))


def _default_as_of_dates(ds: Dataset, min_history_months: int) -> list[pd.Timestamp]:
    from segkit.engine import first_order_date

    first = first_order_date(ds)
    if pd.isna(first):
        raise ValueError("the data set has no orders; churn needs order history")
    first = first.normalize() + pd.DateOffset(months=min_history_months) - pd.Timedelta(days=1)
    return quarter_ends(first, ds.as_of)


def training_dates(ds: Dataset, as_of: Any = None, horizon: str = "1Q", config: Any = None) -> list[pd.Timestamp]:
    """Quarter ends a churn model for ``as_of`` can be trained on.

    Every quarter end with ``training.min_history_months`` of order history (counted from the
    first order) whose outcome window ``(date, date + horizon]`` has ended by ``as_of``. An
    empty list means the data are too short for a churn model at ``as_of``: with the default
    12 months of history and a one-quarter horizon, the first order must be at least 15 months
    before ``as_of``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")
    >>> [d.date().isoformat() for d in training_dates(ds, "2026-09-30")][-2:]
    ['2026-03-31', '2026-06-30']
    """
    cfg = load_churn_config(config)
    when = pd.Timestamp(ds.as_of if as_of is None else as_of).normalize()
    from segkit.engine import first_order_date

    if pd.isna(first_order_date(ds)):
        return []
    return [d for d in _default_as_of_dates(ds, cfg.training.min_history_months) if horizon_end(d, horizon) <= when]


def history_needed(as_of: Any, horizon: str = "1Q", config: Any = None) -> pd.Timestamp:
    """The latest first-order date that still gives a churn model for ``as_of`` one quarter end
    to train on (the counterpart of :func:`training_dates` for saying what data are missing).

    Examples
    --------
    >>> history_needed("2026-09-30").date()   # 12 months of history to 2026-06-30, outcome to 09-30
    datetime.date(2025, 7, 1)
    """
    cfg = load_churn_config(config)
    when = pd.Timestamp(as_of).normalize()
    last = [d for d in quarter_ends(when - pd.DateOffset(years=2), when) if horizon_end(d, horizon) <= when][-1]
    return last - pd.DateOffset(months=cfg.training.min_history_months) + pd.Timedelta(days=1)


# --------------------------------------------------------------------------------------------
# features and labels


#: Columns :func:`btyd_features` adds to the churn features (feature group ``btyd_features``).
BTYD_FEATURES = ("btyd_p_alive", "btyd_expected_purchases", "btyd_p_no_purchase")


def horizon_periods(as_of: Any, horizon: str, unit: str = "W") -> float:
    """Length of the outcome window ``(as_of, as_of + horizon]`` in the BTYD time unit.

    Examples
    --------
    >>> horizon_periods("2026-06-30", "1Q")            # 92 days in weeks
    13.142857142857142
    >>> horizon_periods("2026-06-30", "1Q", unit="D")
    92.0
    """
    as_of = pd.Timestamp(as_of).normalize()
    return (horizon_end(as_of, horizon) - as_of).days / (7.0 if str(unit).upper() == "W" else 1.0)


def fit_btyd(snap: pd.DataFrame, config: Any = None):
    """The BG/NBD model behind :func:`btyd_features`: fitted on the purchase histories of
    ``snap`` (customers with a first order; distinct (frequency, recency, T) rows weighted by
    their customers), seeded with ``training.btyd_features.random_state``.

    Raises
    ------
    ValueError, segkit.models.ConvergenceError
        When the data cannot give a BG/NBD fit (no repeat buyers, a flat likelihood, ...).
    """
    from segkit.models import BetaGeo, compress_snapshot

    cfg = load_churn_config(config)
    _require(snap, ["frequency", "recency", "T"], "the BTYD features")
    bought = snap[["frequency", "recency", "T"]].astype("float64").dropna()
    if bought.empty:
        raise ValueError("no customer has a first order by this date")
    rows = compress_snapshot(bought)
    return BetaGeo(random_state=cfg.training.btyd_features.random_state).fit(
        rows["frequency"], rows["recency"], rows["T"], sample_weight=rows["n_customers"])


def btyd_features(snap: pd.DataFrame, horizon: str = "1Q", config: Any = None) -> pd.DataFrame:
    """BG/NBD outputs at the snapshot's date, one row per customer of ``snap``.

    A BG/NBD model is fitted on the purchase histories in ``snap`` (:func:`fit_btyd`); a
    snapshot reads nothing dated after its as-of date, so neither does the fit. Each
    customer then gets, with ``t`` the horizon in the snapshot's BTYD unit
    (:func:`horizon_periods`):

    * ``btyd_p_alive`` -- :meth:`~segkit.models.BetaGeo.probability_alive`;
    * ``btyd_expected_purchases`` -- :meth:`~segkit.models.BetaGeo.expected_purchases` over ``t``;
    * ``btyd_p_no_purchase`` -- :meth:`~segkit.models.BetaGeo.probability_no_purchases` over
      ``t`` (exact, not ``exp(-expected)``).

    Customers without a first order get NaN. When the fit fails, or gives a value that is not
    finite, the result has no columns and a :class:`UserWarning` names the date: the churn
    model trains without the BTYD features there instead of on silent NaN.

    Parameters
    ----------
    snap : DataFrame
        From :func:`segkit.snapshot` (``attrs["as_of"]``, ``attrs["btyd_unit"]``). Pass the
        whole snapshot: the model is fitted on the customers it holds.
    horizon : str, default "1Q"
    config : path, mapping or ChurnConfig, optional

    Returns
    -------
    DataFrame
        Indexed like ``snap``: the :data:`BTYD_FEATURES` columns (none if the fit failed);
        ``attrs["btyd_params"]`` holds the fitted parameters (None if it failed).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2, None],
    ...                      "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4, None], "T": [39.0] * 10 + [None]},
    ...                     index=pd.Index([f"C{i}" for i in range(11)], name="customer_id"))
    >>> snap.attrs.update(as_of=pd.Timestamp("2026-06-30"), btyd_unit="W")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     features = btyd_features(snap, "1Q")
    >>> sorted(features.attrs["btyd_params"])  # 10 customers show no dropout: the NBD limit
    ['alpha', 'r']
    >>> features.loc[["C1", "C7"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
                 btyd_p_alive  btyd_expected_purchases  btyd_p_no_purchase
    customer_id
    C1                    1.0                    0.445               0.661
    C7                    1.0                    1.228               0.319
    >>> int(features["btyd_p_alive"].isna().sum())      # C10: no order yet
    1
    """
    import warnings

    from segkit.models import ConvergenceError

    as_of = snap.attrs.get("as_of")
    if as_of is None:
        raise ValueError("the snapshot has no attrs['as_of']; make it with segkit.snapshot(ds, as_of)")
    when = pd.Timestamp(as_of).date()
    try:
        bg = fit_btyd(snap, config)
        history = snap[["frequency", "recency", "T"]].astype("float64")
        bought = history.notna().all(axis=1).to_numpy()
        x, t_x, big_t = (history[c].to_numpy()[bought] for c in ("frequency", "recency", "T"))
        t = horizon_periods(as_of, horizon, snap.attrs.get("btyd_unit", "W"))
        values = {
            "btyd_p_alive": bg.probability_alive(x, t_x, big_t),
            "btyd_expected_purchases": bg.expected_purchases(t, x, t_x, big_t),
            "btyd_p_no_purchase": bg.probability_no_purchases(t, x, t_x, big_t),
        }
        bad = [name for name, v in values.items() if not np.isfinite(np.asarray(v, dtype=float)).all()]
        if bad:
            raise ValueError(f"the fitted model gives values that are not finite for {', '.join(bad)} "
                             f"(parameters {', '.join(f'{k}={v:.4g}' for k, v in bg.params_.items())})")
    except (ValueError, ConvergenceError, ArithmeticError) as exc:
        warnings.warn(f"BTYD features left out at {when}: the BG/NBD fit on the purchase histories up to "
                      f"that date failed ({exc}); the churn model uses the other features there",
                      UserWarning, stacklevel=2)
        out = pd.DataFrame(index=snap.index)
        out.attrs["btyd_params"] = None
        return out
    out = pd.DataFrame(np.nan, index=snap.index, columns=list(BTYD_FEATURES))
    for name, v in values.items():
        out.loc[bought, name] = np.asarray(v, dtype=float)
    out.attrs["btyd_params"] = dict(bg.params_)
    return out


def churn_features(snap: pd.DataFrame, config: Any = None, *, horizon: str = "1Q",
                   btyd: pd.DataFrame | None = None) -> pd.DataFrame:
    """Model features from a snapshot: no personal data, no today-only attributes, dates as ages.

    Drops ``training.exclude_columns`` (personal data, owner/department, and attributes the
    customers table holds only as of today: stage, renewal intention, record date), turns
    the date columns of ``training.date_ages`` into ages in days at the snapshot date, adds
    the handbook signals as ``signal_*`` yes/no columns and, with
    ``training.btyd_features.enabled``, the BG/NBD features :data:`BTYD_FEATURES`.

    Parameters
    ----------
    snap : DataFrame
        From :func:`segkit.snapshot`.
    config : path, mapping or ChurnConfig, optional
    horizon : str, default "1Q"
        Horizon of the BTYD features (the churn horizon).
    btyd : DataFrame, optional
        :func:`btyd_features` computed on the whole snapshot, when ``snap`` is a subset of it
        (the model is then fitted on every customer, not only those of ``snap``). Default:
        computed from ``snap``.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"name": ["A"], "revenue_12m": [1.0], "stage": ["active"],
    ...                      "survey_date": pd.to_datetime(["2026-06-20"])}, index=["C1"])
    >>> snap.attrs["as_of"] = pd.Timestamp("2026-06-30")
    >>> churn_features(snap, {"training": {"add_signals": False, "btyd_features": {"enabled": False}}})
        revenue_12m  days_since_survey
    C1          1.0               10.0
    """
    cfg = load_churn_config(config)
    as_of = snap.attrs.get("as_of")
    if as_of is None:
        raise ValueError("the snapshot has no attrs['as_of']; make it with segkit.snapshot(ds, as_of)")
    out = snap.drop(columns=[c for c in cfg.training.exclude_columns if c in snap.columns])
    for column, name in cfg.training.date_ages.items():
        if column in out.columns:
            out[name] = (pd.Timestamp(as_of) - pd.to_datetime(out[column])).dt.days.astype("float64")
            out = out.drop(columns=column)
    if cfg.training.add_signals:
        signals = risk_signals(snap, cfg, "en", with_reasons=False)
        for key in SIGNALS:
            out[f"signal_{key}"] = signals[key]
    if cfg.training.btyd_features.enabled:
        if btyd is None:
            btyd = btyd_features(snap, horizon, cfg)
        for name in btyd.columns:
            out[name] = btyd[name].reindex(out.index).to_numpy()
    return out


def churn_labels(ds: Dataset, as_of: Any, horizon: str = "1Q", definition: str | Callable | None = None,
                 config: Any = None) -> pd.Series:
    """Churned within ``(as_of, as_of + horizon]`` (True/False) for every customer in ``ds``.

    Parameters
    ----------
    definition : str or callable, optional
        A key of ``labels.definitions`` (default ``labels.default``: ``"no_order"``, no order
        with a positive amount in the window; ``"revenue_drop"``: net revenue in the window
        below ``1 - drop`` times the revenue of the same length just before ``as_of``, or no
        revenue in either), or a
        function ``f(ds, as_of, end) -> boolean Series indexed by customer_id`` for a
        definition from your own data, e.g. contracts not renewed by ``end``.

    Returns
    -------
    Series of bool, named ``churned``, indexed by customer_id.
    """
    cfg = load_churn_config(config)
    as_of = pd.Timestamp(as_of).normalize()
    end = horizon_end(as_of, horizon)
    customers = pd.Index(ds.customers["customer_id"].drop_duplicates(), name="customer_id")
    if callable(definition):
        result = pd.Series(definition(ds, as_of, end))
        return result.reindex(customers).astype("boolean").fillna(False).astype(bool).rename("churned")
    spec = _label_definition(cfg, definition)
    if ds._as_stored():  # counted where the orders are
        return _WindowActivity(ds, [as_of], horizon, spec, cfg, every_window=True).labels(as_of)
    tx = ds.transactions
    dates, amount = tx["order_date"], tx["amount"]
    window = (dates > as_of) & (dates <= end)
    if spec.kind == "no_order":
        bought = tx.loc[window & (amount > 0), "customer_id"].unique()
        churned = ~customers.isin(bought)
    else:
        start = _horizon_start(as_of, horizon)
        after = amount.where(window, 0.0).groupby(tx["customer_id"]).sum().reindex(customers, fill_value=0.0)
        before = amount.where((dates > start) & (dates <= as_of), 0.0).groupby(tx["customer_id"]).sum().reindex(customers, fill_value=0.0)
        churned = (after < (1.0 - spec.drop) * before.clip(lower=0)).to_numpy() | ((before <= 0) & (after <= 0)).to_numpy()
    return pd.Series(np.asarray(churned, dtype=bool), index=customers, name="churned")


def _among(index: pd.Index, ids: pd.Index) -> np.ndarray:
    """``index.isin(ids)`` for unique ``ids`` by a hash lookup: Arrow's for text ids held by
    Arrow (pandas' str dtype, no copy), else pandas' (ten times faster than ``isin``)."""
    index, ids = pd.Index(index), pd.Index(ids)
    if isinstance(index.array, pd.arrays.ArrowStringArray) and isinstance(ids.array, pd.arrays.ArrowStringArray):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            return np.asarray(pc.is_in(pa.array(index.array), value_set=pa.array(ids.array)).to_numpy(zero_copy_only=False), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):  # pragma: no cover - other string types
            pass
    return ids.get_indexer(index) >= 0


def _eligible(ds: Dataset, as_of: pd.Timestamp, months: int) -> pd.Index:
    """Customers with an order (positive amount) in the ``months`` before ``as_of``."""
    if ds._as_stored():  # counted where the orders are
        from segkit.engine import order_windows

        active = order_windows(ds, {"active": (months_before(as_of, months), as_of)})["orders_active"]
        return pd.Index(active.index[active.to_numpy() > 0])
    tx = ds.transactions
    recent = month_window(tx["order_date"], as_of, 0, months) & (tx["amount"] > 0)
    return pd.Index(tx.loc[recent, "customer_id"].unique())


class _WindowActivity:
    """Eligibility and churn labels at many as-of dates from one pass over the orders.

    The same definitions as :func:`_eligible` and :func:`churn_labels`, computed by the engine
    that holds the orders (:func:`segkit.engine.order_windows`) instead of in pandas: a
    training table of ten quarter ends reads the orders once and never brings them into memory.
    """

    def __init__(self, ds: Dataset, dates: Sequence[pd.Timestamp], horizon: str, spec: LabelDefinition, cfg: ChurnConfig,
                 every_window: bool = False):
        from segkit.engine import order_windows

        self.spec, self.horizon, self.months = spec, horizon, cfg.labels.active_months
        windows: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
        for i, as_of in enumerate(dates):
            windows[f"active{i}"] = (months_before(as_of, self.months), as_of)
            end = horizon_end(as_of, horizon)
            if end <= ds.as_of or every_window:   # labels only for complete outcome windows, unless asked
                windows[f"after{i}"] = (as_of, end)
                if spec.kind != "no_order":
                    windows[f"before{i}"] = (_horizon_start(as_of, horizon), as_of)
        self.position = {d: i for i, d in enumerate(dates)}
        self.table = order_windows(ds, windows)
        self.customers = pd.Index(ds.customers["customer_id"].drop_duplicates(), name="customer_id")

    def eligible(self, as_of: pd.Timestamp) -> pd.Index:
        active = self.table[f"orders_active{self.position[as_of]}"]
        return pd.Index(active.index[active.to_numpy() > 0])

    def labels(self, as_of: pd.Timestamp) -> pd.Series:
        i = self.position[as_of]

        def column(name: str) -> pd.Series:
            return self.table[name].reindex(self.customers, fill_value=0)

        if self.spec.kind == "no_order":
            churned = column(f"orders_after{i}").to_numpy() == 0
        else:
            after, before = column(f"revenue_after{i}"), column(f"revenue_before{i}")
            churned = ((after < (1.0 - self.spec.drop) * before.clip(lower=0)).to_numpy()
                       | ((before <= 0) & (after <= 0)).to_numpy())
        return pd.Series(np.asarray(churned, dtype=bool), index=self.customers, name="churned")


def _label_definition(cfg: ChurnConfig, definition: str | None) -> LabelDefinition:
    """The configured churn definition named ``definition`` (default ``labels.default``)."""
    key = cfg.labels.default if definition is None else definition
    if key not in cfg.labels.definitions:
        raise ValueError(f"unknown churn definition {key!r}; configured: {', '.join(sorted(cfg.labels.definitions))}")
    return cfg.labels.definitions[key]


def _window_activity(ds: Dataset, dates: Sequence[pd.Timestamp], horizon: str, definition: str | None,
                     cfg: ChurnConfig) -> _WindowActivity:
    return _WindowActivity(ds, dates, horizon, _label_definition(cfg, definition), cfg)


# --------------------------------------------------------------------------------------------
# training table


@dataclass
class ChurnTrainingTable:
    """Point-in-time churn features and labels at several as-of dates.

    Attributes
    ----------
    train : DataFrame
        Index ``(as_of, customer_id)``; the feature columns and ``churned`` (0/1): customers
        active in the year before ``as_of`` whose outcome window ``(as_of, outcome_end]`` has
        ended by the data's as-of date.
    to_score : DataFrame
        Same features, no label: eligible customers whose outcome window is not complete yet.
    feature_columns : list of str
    horizon, definition : str
    dates : DataFrame
        Per as-of date: ``outcome_end``, ``complete``, ``eligible``, ``churned``,
        ``churn_rate`` (NaN when not complete).
    snapshots : dict
        Each as-of date's full snapshot (``keep_snapshots=True`` only).
    btyd_params : dict
        Per as-of date, the parameters of the BG/NBD model behind the BTYD features (None
        where its fit failed; empty when ``training.btyd_features`` is off).
    """

    train: pd.DataFrame
    to_score: pd.DataFrame
    feature_columns: list[str]
    horizon: str
    definition: str
    dates: pd.DataFrame
    snapshots: dict[pd.Timestamp, pd.DataFrame] = field(default_factory=dict, repr=False)
    btyd_params: dict[pd.Timestamp, dict | None] = field(default_factory=dict, repr=False)

    @property
    def X(self) -> pd.DataFrame:
        """Training features."""
        return self.train[self.feature_columns]

    @property
    def y(self) -> pd.Series:
        """Training labels (1 = churned)."""
        return self.train["churned"]

    def __repr__(self) -> str:
        rate = self.train["churned"].mean() if len(self.train) else float("nan")
        return (
            f"ChurnTrainingTable(horizon={self.horizon!r}, definition={self.definition!r}, "
            f"train={len(self.train):,} rows at {self.train.index.get_level_values(0).nunique()} as-of dates "
            f"(churn rate {rate:.1%}), to_score={len(self.to_score):,}, features={len(self.feature_columns)})"
        )


def _progress(iterable: Sequence, progress: bool | None, desc: str):
    from tqdm import tqdm  # plain text bar: tqdm.auto needs ipywidgets in notebooks

    # None: tqdm's disable=None (a bar only when stderr is a terminal), and only once the work
    # has taken more than a second; True: always, at once; False: never.
    if progress is None:
        return tqdm(iterable, desc=desc, unit="snapshot", disable=None, delay=1.0)
    return tqdm(iterable, desc=desc, unit="snapshot", disable=not progress)


def churn_training_table(
    ds: Dataset,
    as_of_dates: Iterable[Any] | None = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    *,
    config: Any = None,
    progress: bool | None = None,
    keep_snapshots: bool = False,
    max_rows: int | None = None,
    seed: int = 0,
) -> ChurnTrainingTable:
    """Churn features at several as-of dates with "churned within the horizon" labels.

    For each as-of date: a snapshot (only records dated on or before it), the customers
    active in the year before it (``labels.active_months``), their features
    (:func:`churn_features`) and their label (:func:`churn_labels`) over ``(as_of, as_of +
    horizon]``. Nothing dated after an as-of date enters its features; labels are the only
    thing read from after it. With ``training.btyd_features`` (on by default) a BG/NBD model
    is fitted at each date on every purchase history up to it (the snapshot's) and gives
    each customer ``btyd_p_alive``, ``btyd_expected_purchases`` and ``btyd_p_no_purchase``
    over the horizon (:func:`btyd_features`); its parameters are kept in ``.btyd_params``.

    Parameters
    ----------
    ds : Dataset
    as_of_dates : iterable of dates, optional
        Default: every quarter end from 12 months after the first order
        (``training.min_history_months``) to the data's as-of date.
    horizon : str, default "1Q"
        Outcome window length: ``"1Q"``, ``"2Q"``, ``"3M"``, ``"13W"``, ``"90D"``.
    definition : str or callable, optional
        Churn definition (see :func:`churn_labels`); default ``"no_order"``.
    config : path, mapping or ChurnConfig, optional
    progress : bool or None, default None
        Progress bar over the as-of dates (on stderr). None shows it only on a terminal
        (tqdm's ``disable=None``) and only once the build has taken more than a second; True
        always; False never.
    keep_snapshots : bool, default False
        Keep each as-of date's full snapshot in ``.snapshots`` (for baselines).
    max_rows : int, optional
        Keep only the training rows :func:`sample_training_rows` would keep with this cap and
        ``seed``: the sample is drawn from the labels before any feature is computed, so only
        the kept rows are built and held (at 200 k customers, 200 k rows instead of 1.3 M).
        ``.train.attrs["rows_available"]`` says how many rows there were. Default: all rows.
    seed : int, default 0
        The sample's seed (``training.sample_seed``).

    Returns
    -------
    ChurnTrainingTable
        ``.train`` (complete outcome windows), ``.to_score`` (incomplete: the data end before
        the window does), ``.X``, ``.y``, ``.dates``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                               # doctest: +SKIP
    >>> table = churn_training_table(ds, ["2026-03-31", "2026-06-30", "2026-09-30"])  # doctest: +SKIP
    >>> table.dates[["outcome_end", "complete", "eligible"]]                  # doctest: +SKIP
    """
    cfg = load_churn_config(config)
    dates = (
        _default_as_of_dates(ds, cfg.training.min_history_months)
        if as_of_dates is None
        else sorted({pd.Timestamp(d).normalize() for d in ([as_of_dates] if isinstance(as_of_dates, (str, pd.Timestamp)) else as_of_dates)})
    )
    if not dates:
        raise ValueError("no as-of dates to build a training table for")
    late = [d for d in dates if d > ds.as_of]
    if late:
        raise ValueError(
            f"as-of date(s) {', '.join(str(d.date()) for d in late)} are after the data's as-of date {ds.as_of.date()}"
        )
    name = getattr(definition, "__name__", "custom") if callable(definition) else (definition or cfg.labels.default)
    activity = _window_activity(ds, dates, horizon, definition, cfg) if ds._as_stored() and not callable(definition) else None
    labels_at: dict[pd.Timestamp, pd.Series] = {}
    eligible_sets: dict[pd.Timestamp, pd.Index] = {}  # the sample and the features read each twice

    def eligible_at(as_of: pd.Timestamp) -> pd.Index:
        if as_of not in eligible_sets:
            eligible_sets[as_of] = (_eligible(ds, as_of, cfg.labels.active_months) if activity is None
                                    else activity.eligible(as_of))
        return eligible_sets[as_of]

    def labels_of(as_of: pd.Timestamp) -> pd.Series:
        if as_of not in labels_at:
            labels_at[as_of] = churn_labels(ds, as_of, horizon, definition, cfg) if activity is None else activity.labels(as_of)
        return labels_at[as_of]

    chosen, available = (None, None) if max_rows is None else _sampled_rows(ds, dates, horizon, eligible_at, labels_of, max_rows, seed)
    train_parts, score_parts, rows = [], [], []
    kept: dict[pd.Timestamp, pd.DataFrame] = {}
    btyd_params: dict[pd.Timestamp, dict | None] = {}
    template: pd.DataFrame | None = None
    for as_of in _progress(dates, progress, "churn training table"):
        snap = snapshot(ds, as_of)
        if keep_snapshots:
            kept[as_of] = snap
        keep = _among(snap.index, eligible_at(as_of))
        n_eligible = int(keep.sum())
        end = horizon_end(as_of, horizon)
        complete = end <= ds.as_of
        churned = labels_of(as_of).reindex(snap.index[keep]).to_numpy().astype("int64") if complete else None
        if complete and chosen is not None:
            keep &= _among(snap.index, chosen.get(as_of, pd.Index([])))
        # features are computed row by row, so those of the kept rows alone are the same; the
        # BTYD model is fitted on every purchase history up to the date, whoever is kept
        btyd = btyd_features(snap, horizon, cfg) if cfg.training.btyd_features.enabled else None
        if btyd is not None:
            btyd_params[as_of] = btyd.attrs["btyd_params"]
        features = churn_features(snap.loc[keep] if not keep.all() else snap, cfg, horizon=horizon, btyd=btyd)
        features.index = pd.MultiIndex.from_arrays(
            [pd.DatetimeIndex([as_of] * len(features)), features.index], names=["as_of", "customer_id"]
        )
        row = {"as_of": as_of, "outcome_end": end, "complete": complete, "eligible": n_eligible}
        if complete:
            features["churned"] = labels_of(as_of).reindex(features.index.get_level_values("customer_id")).to_numpy().astype("int64")
            train_parts.append(features)
            row.update(churned=int(churned.sum()), churn_rate=float(churned.mean()) if len(churned) else np.nan)
        else:
            score_parts.append(features)
            row.update(churned=pd.NA, churn_rate=np.nan)
        rows.append(row)
        if template is None:
            template = features.iloc[:0].drop(columns="churned", errors="ignore")
        else:  # a date whose BTYD fit failed lacks those columns: the table has them all
            template = template.reindex(columns=[*template.columns, *(c for c in features.columns
                                                                      if c not in template.columns and c != "churned")])
    feature_columns = list(template.columns)
    train = (pd.concat(train_parts)[[*feature_columns, "churned"]] if train_parts
             else template.assign(churned=pd.Series(dtype="int64")))
    if available is not None:
        train.attrs["rows_available"] = available
    to_score = pd.concat(score_parts)[feature_columns] if score_parts else template
    summary = pd.DataFrame(rows).set_index("as_of")
    summary["churned"] = summary["churned"].astype("Int64")
    return ChurnTrainingTable(train, to_score, feature_columns, str(horizon), str(name), summary, kept, btyd_params)


def _sampled_rows(ds: Dataset, dates, horizon: str, eligible_at, labels_of, max_rows: int,
                  seed: int) -> tuple[dict[pd.Timestamp, pd.Index] | None, int]:
    """The customers per as-of date that :func:`sample_training_rows` keeps of the complete
    rows, found from eligibility and labels alone (the rows in the order the table has
    them), and how many complete rows there are. None: all rows are kept."""
    ids = snapshot_ids(ds)
    parts = []
    for as_of in dates:
        if horizon_end(as_of, horizon) > ds.as_of:
            continue
        mine = ids[_among(ids, eligible_at(as_of))]
        churned = labels_of(as_of).reindex(mine).to_numpy().astype("int64")
        index = pd.MultiIndex.from_arrays([pd.DatetimeIndex([as_of] * len(mine)), mine], names=["as_of", "customer_id"])
        parts.append(pd.DataFrame({"churned": churned}, index=index))
    keys = pd.concat(parts) if parts else pd.DataFrame({"churned": pd.Series(dtype="int64")})
    if len(keys) <= max_rows:
        return None, len(keys)
    used = sample_training_rows(keys, max_rows, seed).index
    when = used.get_level_values("as_of")
    return {d: used.get_level_values("customer_id")[when == d] for d in when.unique()}, len(keys)


# --------------------------------------------------------------------------------------------
# fitting: a capped, seeded, stratified sample of the training rows


def sample_training_rows(
    train: pd.DataFrame, max_rows: int | None, seed: int = 0, *, label: str = "churned", by: str | None = "as_of"
) -> pd.DataFrame:
    """At most ``max_rows`` rows of a training table, stratified by label and as-of date.

    A table of ``max_rows`` rows or fewer (or ``max_rows=None``) is returned as it is. A
    larger one is cut to exactly ``max_rows`` rows: each stratum (as-of date x label) keeps
    its share of the table, rounded by largest remainder, so its row count is within one row
    of ``len(stratum) * max_rows / len(train)`` and the churn rate of every quarter end is
    kept. The rows of a stratum are drawn without replacement by
    ``numpy.random.default_rng(seed)``: the same table and seed give the same rows. Rows keep
    their order in ``train``.

    Parameters
    ----------
    train : DataFrame
        Training rows with the ``label`` column (0/1), e.g. ``ChurnTrainingTable.train``.
    max_rows : int or None
        The cap (``churn.training.max_training_rows``).
    seed : int, default 0
        ``churn.training.sample_seed``.
    label : str, default "churned"
    by : str or None, default "as_of"
        Index level (or column) that forms strata with the label; None, or a name ``train``
        does not have: the label only.

    Returns
    -------
    DataFrame
        ``attrs["rows_available"]`` and ``attrs["rows_used"]`` say how many rows there were
        and how many are kept.

    Examples
    --------
    >>> import pandas as pd
    >>> index = pd.MultiIndex.from_arrays([["2026-03-31"] * 8 + ["2026-06-30"] * 4, list("ABCDEFGHIJKL")],
    ...                                   names=["as_of", "customer_id"])
    >>> train = pd.DataFrame({"x": range(12), "churned": [1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]}, index=index)
    >>> part = sample_training_rows(train, 6, seed=1)
    >>> part.groupby(["as_of", "churned"]).size().tolist()   # strata of 6, 2, 2, 2 rows, halved
    [3, 1, 1, 1]
    >>> part.attrs["rows_available"], part.attrs["rows_used"]
    (12, 6)
    >>> sample_training_rows(train, 6, seed=1).index.equals(part.index)   # seeded: the same rows
    True
    """
    n = len(train)
    if max_rows is None or n <= max_rows:
        out = train.copy(deep=False)
        # a table sampled while it was built (churn_training_table's max_rows) keeps its count
        out.attrs.update(rows_available=int(train.attrs.get("rows_available", n)), rows_used=n)
        return out
    if int(max_rows) < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    keys = [train[label].to_numpy()]
    if by is not None and by in train.index.names:
        keys.insert(0, np.asarray(train.index.get_level_values(by)))
    elif by is not None and by in train.columns:
        keys.insert(0, train[by].to_numpy())
    # strata numbered in sorted (as-of, label) order: each key's sorted codes, combined
    codes = np.zeros(n, dtype=np.int64)
    for key in keys:
        key_codes, uniques = pd.factorize(key, sort=True)
        codes = codes * len(uniques) + key_codes
    codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
    sizes = np.bincount(codes)
    quota = sizes * (int(max_rows) / n)
    take = np.floor(quota).astype(np.int64)
    remainder = quota - take
    short = int(max_rows) - int(take.sum())
    take[np.argsort(-remainder, kind="stable")[:short]] += 1   # largest remainders get the rows left
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    chosen = [rng.choice(order[starts[s]:starts[s + 1]], size=int(take[s]), replace=False) for s in range(len(sizes))]
    out = train.iloc[np.sort(np.concatenate(chosen))].copy(deep=False)
    out.attrs.update(rows_available=n, rows_used=len(out))
    return out


def _fit_on(train: pd.DataFrame, feature_columns: list[str], model: Any, cfg: ChurnConfig, *, horizon: str,
            definition: str) -> Any:
    """Fit ``model`` on a capped sample of ``train``; the model carries ``training_summary_``."""
    used = sample_training_rows(train, cfg.training.max_training_rows, cfg.training.sample_seed)
    fitted = _make_model(model, cfg).fit(used[feature_columns], used["churned"])
    dates = sorted(pd.DatetimeIndex(train.index.get_level_values("as_of")).unique())
    fitted.training_summary_ = {
        "as_of": [d.date().isoformat() for d in dates],
        "horizon": str(horizon),
        "definition": str(definition),
        "rows_available": int(used.attrs["rows_available"]),
        "rows_used": int(used.attrs["rows_used"]),
        "max_training_rows": cfg.training.max_training_rows,
        "sample_seed": cfg.training.sample_seed,
    }
    return fitted


def fit_churn_model(
    ds: Dataset,
    as_of: Any = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    model: Any = None,
    *,
    config: Any = None,
    progress: bool | None = None,
) -> Any:
    """The churn model for ``as_of``: trained on every quarter end whose outcome has ended by then.

    The training rows (customer x quarter end, :func:`churn_training_table` at
    :func:`training_dates`) are capped at ``churn.training.max_training_rows`` (default
    200,000) by a sample stratified by quarter end and label, seeded with
    ``training.sample_seed`` (:func:`sample_training_rows`). Scoring is not capped: the
    model scores every customer. Point in time: no label read for training ends after
    ``as_of``, so the model for last quarter end never learns from this quarter's outcomes.

    Parameters
    ----------
    ds : Dataset
    as_of : date-like, optional
        Date the model is for; default the data's as-of date.
    horizon, definition
        See :func:`churn_training_table`.
    model : estimator or {"logistic", "tree", "gbm"}, optional
        Cloned before fitting; default ``churn.yaml`` ``model``.
    config : path, mapping or ChurnConfig, optional
    progress : bool or None, default None

    Returns
    -------
    estimator
        Fitted, with ``training_summary_``: ``as_of`` (training quarter ends, ISO dates),
        ``horizon``, ``definition``, ``rows_available``, ``rows_used``,
        ``max_training_rows``, ``sample_seed``. Pass it to :func:`score_churn` and
        :func:`backtest_churn` to use it as it is.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                          # doctest: +SKIP
    >>> fitted = fit_churn_model(ds, "2026-06-30", progress=False)       # doctest: +SKIP
    >>> fitted.training_summary_["rows_used"], fitted.training_summary_["rows_available"]  # doctest: +SKIP
    (10567, 10567)
    """
    cfg = load_churn_config(config)
    when = pd.Timestamp(ds.as_of if as_of is None else as_of).normalize()
    if when > ds.as_of:
        raise ValueError(f"as_of {when.date()} is after the data's as-of date {ds.as_of.date()}")
    train_dates = training_dates(ds, when, horizon, cfg)
    if not train_dates:
        raise ValueError(f"no quarter end before {when.date()} has a complete {horizon} outcome to train on")
    table = churn_training_table(ds, train_dates, horizon, definition, config=cfg, progress=progress,
                                 max_rows=cfg.training.max_training_rows, seed=cfg.training.sample_seed)
    return _fit_on(table.train, table.feature_columns, model, cfg, horizon=table.horizon, definition=table.definition)


def _training_summary(model: Any) -> dict | None:
    summary = getattr(model, "training_summary_", None)
    return summary if isinstance(summary, dict) else None


# --------------------------------------------------------------------------------------------
# evaluation


def lift_capture(y: Any, score: Any, share: float = 0.10) -> tuple[float, float]:
    """Lift and capture rate in the top ``share`` of customers by ``score``.

    Ties are shared: when the cut falls inside a group of equal scores, the group counts with
    the fraction of it that fits (the expected result of breaking ties at random), so a yes/no
    list is measured fairly.

    Returns
    -------
    (lift, capture)
        ``lift`` = churn rate in the top share / overall churn rate; ``capture`` = share of
        all churners found in the top share.

    Examples
    --------
    >>> lift_capture([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 0.2)
    (2.5, 0.5)
    >>> lift_capture([1, 0, 0, 0], [1, 1, 0, 0], 0.25)  # half of the tied top pair
    (2.0, 0.5)
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if y.size == 0 or y.sum() == 0:
        return float("nan"), float("nan")
    k = share * y.size
    frame = pd.DataFrame({"y": y, "score": score}).groupby("score", sort=True)["y"].agg(["sum", "count"]).iloc[::-1]
    taken = np.clip(k - (frame["count"].cumsum() - frame["count"]), 0, frame["count"])
    found = float((frame["sum"] * taken / frame["count"]).sum())
    capture = found / y.sum()
    lift = (found / k) / y.mean()
    return float(lift), float(capture)


def churn_metrics(y: Any, score: Any, probability: Any = None, top_share: float = 0.10) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier score, lift and capture in the top share.

    ``score`` ranks customers (higher = more likely to churn); ``probability`` (default
    ``score``) is what the Brier score judges.

    Examples
    --------
    >>> m = churn_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], top_share=0.25)
    >>> m["roc_auc"], round(m["brier"], 6), m["lift_top"], m["capture_top"]
    (0.75, 0.158125, 2.0, 0.5)
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    probability = score if probability is None else np.asarray(probability, dtype=float)
    lift, capture = lift_capture(y, score, top_share)
    two_classes = 0 < y.sum() < y.size
    return {
        "roc_auc": float(roc_auc_score(y, score)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, score)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, probability)),
        "lift_top": lift,
        "capture_top": capture,
        "customers": int(y.size),
        "churn_rate": float(y.mean()) if y.size else float("nan"),
    }


def calibration_table(y: Any, probability: Any, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn in bins of equal size (deciles by default).

    Returns
    -------
    DataFrame
        One row per bin (``bin`` 1 = lowest probabilities): ``customers``, ``predicted``
        (mean probability), ``observed`` (churn rate), ``low`` / ``high`` (probability range).

    Examples
    --------
    >>> calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)  # doctest: +NORMALIZE_WHITESPACE
         customers  predicted  observed  low  high
    bin
    1            2       0.15       0.0  0.1   0.2
    2            2       0.80       1.0  0.7   0.9
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    order = np.argsort(p, kind="stable")
    groups = np.empty(p.size, dtype=int)
    groups[order] = np.arange(p.size) * bins // max(p.size, 1) + 1
    frame = pd.DataFrame({"bin": groups, "p": p, "y": y})
    out = frame.groupby("bin").agg(customers=("p", "size"), predicted=("p", "mean"), observed=("y", "mean"),
                                   low=("p", "min"), high=("p", "max"))
    return out


@dataclass
class ChurnBacktest:
    """Result of :func:`backtest_churn`.

    Attributes
    ----------
    metrics : DataFrame
        One row per method (``model``, ``model_btyd``, ``bgnbd``, ``rules``): ``roc_auc``,
        ``pr_auc``, ``brier``, ``lift_top``, ``capture_top``, ``customers``, ``churn_rate``,
        and ``method_label``.
    calibration : DataFrame
        Calibration tables of the two models and the BG/NBD baseline (column ``method``).
    scores : DataFrame
        Test customers: ``churned`` and each method's score / probability.
    model : ChurnModel
        The fitted model passed to :func:`backtest_churn`, else the one the configuration
        deploys (with the BTYD features if ``training.btyd_features.enabled``); its key is
        :attr:`deployed`. Fitted on the training dates (``model.training_summary_`` describes its training rows).
    models : dict
        Both fitted models, by method key (``model``, ``model_btyd``).
    train_as_of : list of Timestamp
    test_as_of, outcome_end : Timestamp
    n_train : int
        Training rows the model was fitted on: at most ``training.max_training_rows``.
    n_train_available : int
        Training rows there were (customer x training quarter end), before the cap.
    bgnbd_params : dict
    top_share : float
    """

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    scores: pd.DataFrame
    model: Any
    train_as_of: list[pd.Timestamp]
    test_as_of: pd.Timestamp
    outcome_end: pd.Timestamp
    n_train: int
    bgnbd_params: dict
    top_share: float
    horizon: str
    definition: str
    n_train_available: int | None = None
    models: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def deployed(self) -> str:
        """Method key of :attr:`model`: ``"model_btyd"`` if it was fitted with the BTYD
        features, else ``"model"``."""
        names = getattr(self.model, "feature_names_in_", None)
        if names is None:
            return "model_btyd" if "model_btyd" in self.metrics.index else "model"
        return "model_btyd" if set(BTYD_FEATURES) & set(names) else "model"

    @property
    def winner(self) -> str:
        """Method key with the highest ROC AUC (the first of equals, in the table's order)."""
        return str(self.metrics["roc_auc"].idxmax())

    def in_language(self, lang: str) -> ChurnBacktest:
        """The same backtest with ``metrics["method_label"]`` in ``lang`` (the numbers are shared)."""
        from dataclasses import replace

        check_lang(lang)
        metrics = self.metrics.drop(columns="method_label", errors="ignore")
        metrics.insert(0, "method_label", [_METHOD_LABELS[m][lang] for m in metrics.index])
        return replace(self, metrics=metrics)

    def __repr__(self) -> str:
        auc = self.metrics["roc_auc"].round(3).to_dict()
        available = self.n_train if self.n_train_available is None else self.n_train_available
        of = f" of {available:,}" if available != self.n_train else ""
        return (
            f"ChurnBacktest(test_as_of={self.test_as_of.date()}, outcome to {self.outcome_end.date()}, "
            f"trained on {len(self.train_as_of)} as-of dates / {self.n_train:,}{of} rows, ROC AUC {auc})"
        )


_METHOD_LABELS = {
    "model": {"zh": "流失模型", "en": "Churn model"},
    "model_btyd": {"zh": "流失模型 + BTYD 特征", "en": "Churn model + BTYD features"},
    "bgnbd": {"zh": "BG/NBD 不购买概率（基准）", "en": "BG/NBD chance of no purchase (baseline)"},
    "rules": {"zh": "规则高风险名单（基准）", "en": "Rule-based high-risk list (baseline)"},
}


def _latest_complete(ds: Dataset, horizon: str) -> pd.Timestamp:
    candidates = [d for d in quarter_ends(ds.as_of - pd.DateOffset(years=3), ds.as_of) if horizon_end(d, horizon) <= ds.as_of]
    if not candidates:
        raise ValueError(f"no quarter end has a complete {horizon} outcome window before {ds.as_of.date()}")
    return candidates[-1]


def _make_model(model: Any, cfg: ChurnConfig):
    from sklearn.base import clone

    from segkit.models.churn import ChurnModel

    if model is None:
        return ChurnModel(**cfg.model.model_dump())
    if isinstance(model, str):
        return ChurnModel(**{**cfg.model.model_dump(), "model": model})
    return clone(model)


def backtest_churn(
    ds: Dataset,
    *,
    test_as_of: Any = None,
    train_as_of: Iterable[Any] | None = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    model: Any = None,
    config: Any = None,
    progress: bool | None = None,
    lang: str = "zh",
) -> ChurnBacktest:
    """Time-based backtest: train on earlier quarter ends, test on a later one.

    The test date defaults to the latest quarter end whose outcome window has ended (data to
    2026-09-30 and a one-quarter horizon: 2026-06-30, outcome 2026-07-01 .. 2026-09-30). The
    training dates default to every quarter end with a year of history whose outcome window
    ends on or before the test date, so no training label looks past the test date.

    Four methods are scored on the same test customers (active in the year before the test
    date):

    * ``model`` -- the churn model (default ``ChurnModel()`` from ``churn.yaml`` ``model``)
      on the features without the BTYD ones;
    * ``model_btyd`` -- the same model on the same rows with the BTYD features too
      (:func:`btyd_features`: P(alive), expected purchases and P(no purchase) from a BG/NBD
      fitted at each quarter end on the histories up to it), whatever
      ``training.btyd_features.enabled`` says; the setting picks which of the two is
      :attr:`ChurnBacktest.model`;
    * ``bgnbd`` -- the BTYD baseline: a BG/NBD model fitted on every customer's purchase
      history up to the test date (the model of the BTYD features at that date); customers
      are ranked by the model's own chance of no purchase over the horizon,
      :meth:`~segkit.models.BetaGeo.probability_no_purchases`
      (``1 - P(alive) + P(alive) ((alpha+T)/(alpha+T+t))^(r+x)``), which is also its
      probability for the Brier score and calibration; the expected purchases are kept in
      ``scores`` for reference;
    * ``rules`` -- the handbook's high-risk list as a yes/no score; its probability is the
      churn rate of listed and unlisted customers in the training data.

    Parameters
    ----------
    ds : Dataset
    test_as_of : date-like, optional
    train_as_of : iterable of dates, optional
    horizon : str, default "1Q"
    definition : str or callable, optional
        Churn definition (see :func:`churn_labels`).
    model : ChurnModel, estimator or {"logistic", "tree", "gbm"}, optional
        Cloned and fitted on the training rows, capped at ``training.max_training_rows`` by a
        seeded sample stratified by quarter end and label (:func:`sample_training_rows`). A
        model from :func:`fit_churn_model` (it has ``training_summary_``) is used as it is,
        if no training label of it ends after the test date and its horizon and definition
        are the backtest's; this is how a report shares one fit between the backtest and
        last quarter's scores. The other variant (with or without the BTYD features) is
        fitted with the same settings on the same rows.
    config : path, mapping or ChurnConfig, optional
    progress : bool or None, default None
    lang : {"zh", "en"}, default "zh"
        Language of ``metrics["method_label"]``.

    Returns
    -------
    ChurnBacktest

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                 # doctest: +SKIP
    >>> bt = backtest_churn(ds)                                  # doctest: +SKIP
    >>> bt.metrics[["roc_auc", "pr_auc", "brier", "lift_top"]]   # doctest: +SKIP
    """
    check_lang(lang)
    cfg = load_churn_config(config)
    test = _latest_complete(ds, horizon) if test_as_of is None else pd.Timestamp(test_as_of).normalize()
    end = horizon_end(test, horizon)
    if end > ds.as_of:
        raise ValueError(
            f"the outcome window of test date {test.date()} ends {end.date()}, after the data end "
            f"({ds.as_of.date()}); choose a test date on or before {_latest_complete(ds, horizon).date()}"
        )
    if train_as_of is None:
        train_dates = training_dates(ds, test, horizon, cfg)
    else:
        train_dates = sorted({pd.Timestamp(d).normalize() for d in train_as_of})
        leaking = [d for d in train_dates if horizon_end(d, horizon) > test]
        if leaking:
            raise ValueError(
                f"training date(s) {', '.join(str(d.date()) for d in leaking)} have outcome windows "
                f"ending after the test date {test.date()}; their labels would look into the test period"
            )
    if not train_dates:
        raise ValueError(f"no training dates before the test date {test.date()}")
    # the backtest compares the model with and without the BTYD features: the table has them
    with_btyd = cfg.model_copy(update={"training": cfg.training.model_copy(update={
        "btyd_features": cfg.training.btyd_features.model_copy(update={"enabled": True})})})
    table = churn_training_table(ds, [*train_dates, test], horizon, definition, config=with_btyd, progress=progress,
                                 keep_snapshots=True)
    dates = table.train.index.get_level_values("as_of")
    train, held_out = table.train.loc[dates != test], table.train.loc[dates == test]
    if train["churned"].nunique() < 2 or held_out["churned"].nunique() < 2:
        raise ValueError("training and test data must both contain churned and retained customers")
    columns = {"model": [c for c in table.feature_columns if c not in BTYD_FEATURES]}
    if any(c in BTYD_FEATURES for c in table.feature_columns):  # absent only if every date's fit failed
        columns["model_btyd"] = list(table.feature_columns)
    deployed = "model_btyd" if cfg.training.btyd_features.enabled and "model_btyd" in columns else "model"

    prefit = model is not None and not isinstance(model, str) and _is_fitted(model)
    summary = _training_summary(model) if prefit else None
    models: dict[str, Any] = {}
    if summary is not None:
        late = [d for d in summary["as_of"] if horizon_end(d, horizon) > test]
        if late or summary["horizon"] != table.horizon or summary["definition"] != table.definition:
            raise ValueError(
                f"the fitted model was trained on quarter ends {', '.join(summary['as_of'])} with horizon "
                f"{summary['horizon']!r} and definition {summary['definition']!r}; a backtest at {test.date()} "
                f"with horizon {table.horizon!r} and definition {table.definition!r} needs one whose training "
                "labels all end by the test date, with the same horizon and definition"
            )
        names = getattr(model, "feature_names_in_", None)
        kind = deployed if names is None else ("model_btyd" if set(BTYD_FEATURES) & set(names) else "model")
        models[kind] = model
        deployed = kind  # the model given is the one reported as `model`, whatever the setting
        train_dates = [pd.Timestamp(d) for d in summary["as_of"]]
    for kind, used in columns.items():  # the variant(s) not given, from the same rows and settings
        if kind not in models:
            models[kind] = _fit_on(train, used, model, cfg, horizon=table.horizon, definition=table.definition)
    summary = models[deployed].training_summary_ if summary is None else summary
    probability = {kind: fitted.predict_proba(held_out[columns[kind]])[:, 1] for kind, fitted in models.items()}
    y = held_out["churned"].to_numpy()
    ids = held_out.index.get_level_values("customer_id")

    # BTYD baseline: the BG/NBD of the BTYD features, on every purchase history up to the test date
    snap = table.snapshots[test]
    bg = fit_btyd(snap, cfg)
    t = horizon_periods(test, horizon, snap.attrs.get("btyd_unit", "W"))
    at_test = snap.loc[ids]
    history = (at_test["frequency"].to_numpy(), at_test["recency"].to_numpy(), at_test["T"].to_numpy())
    expected = np.asarray(bg.expected_purchases(t, *history), dtype=float)
    p_none = np.asarray(bg.probability_no_purchases(t, *history), dtype=float)

    # rule-based list: yes/no, with the training churn rates of listed / unlisted customers
    listed_train = _high_risk_rows(table, train.index, cfg)
    listed = _high_risk_rows(table, held_out.index, cfg)
    rate_listed = train["churned"].to_numpy()[listed_train].mean() if listed_train.any() else train["churned"].mean()
    rate_unlisted = train["churned"].to_numpy()[~listed_train].mean()
    rule_probability = np.where(listed, rate_listed, rate_unlisted)

    methods = [kind for kind in ("model", "model_btyd") if kind in models]
    scores = pd.DataFrame({
        "churned": y,
        **{kind: probability[kind] for kind in methods},
        "bgnbd_expected_purchases": expected,
        "bgnbd": p_none,
        "rules": listed.astype(int),
        "rules_probability": rule_probability,
    }, index=pd.Index(ids, name="customer_id"))
    share = cfg.backtest.top_share
    metrics = pd.DataFrame({
        **{kind: churn_metrics(y, probability[kind], top_share=share) for kind in methods},
        "bgnbd": churn_metrics(y, p_none, p_none, top_share=share),
        "rules": churn_metrics(y, listed.astype(float), rule_probability, top_share=share),
    }).T
    metrics["customers"] = metrics["customers"].astype("int64")
    metrics.insert(0, "method_label", [_METHOD_LABELS[m][lang] for m in metrics.index])
    metrics.index.name = "method"
    bins = cfg.backtest.calibration_bins
    calibration = pd.concat([
        *(calibration_table(y, probability[kind], bins).assign(method=kind) for kind in methods),
        calibration_table(y, p_none, bins).assign(method="bgnbd"),
    ]).reset_index().set_index(["method", "bin"])
    return ChurnBacktest(
        metrics=metrics, calibration=calibration, scores=scores, model=models[deployed], train_as_of=train_dates,
        test_as_of=test, outcome_end=end, n_train=summary["rows_used"], bgnbd_params=dict(bg.params_), top_share=share,
        horizon=table.horizon, definition=table.definition, n_train_available=summary["rows_available"], models=models,
    )


def _high_risk_rows(table: ChurnTrainingTable, index: pd.MultiIndex, cfg: ChurnConfig) -> np.ndarray:
    """The handbook's high-risk rule for rows ``(as_of, customer_id)``, from the kept snapshots."""
    out = np.zeros(len(index), dtype=bool)
    for as_of in index.get_level_values(0).unique():
        rows = index.get_level_values(0) == as_of
        flags = risk_signals(table.snapshots[as_of], cfg, "en")["high_risk"]
        out[rows] = flags.reindex(index[rows].get_level_values(1)).to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# scoring


def _is_fitted(model: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError:
        return False
    return True


def _action_keys(cfg: ChurnConfig, strategy: Any) -> None:
    allowed = sorted([*strategy.win_back, "tier"])
    used = {f"actions.by_level.{level}.{tier}": key for level, rule in cfg.actions.by_level.items() for tier, key in rule.items()}
    used["actions.dormant.action"] = cfg.actions.dormant.action
    for where, key in used.items():
        if key not in allowed:
            raise ConfigError(f"churn.{where}: unknown action {key!r}; allowed: {allowed} (strategy.yaml win_back keys, or 'tier')")
    missing = [level for level in ("high", "medium", "low") if level not in cfg.actions.by_level]
    if missing:
        raise ConfigError(f"churn.actions.by_level: no action for risk level(s) {missing}")


def _with_model_columns(features: pd.DataFrame, fitted: Any) -> pd.DataFrame:
    """``features`` with the BTYD columns the model was fitted with and this date lacks (its
    BG/NBD fit failed, with a warning) added as missing values, which the model imputes."""
    names = getattr(fitted, "feature_names_in_", None)
    absent = [c for c in BTYD_FEATURES if names is not None and c in set(names) and c not in features.columns]
    return features.assign(**{c: np.nan for c in absent}) if absent else features


def risk_levels(probability: pd.Series, config: Any = None) -> pd.Series:
    """Risk level ``high`` / ``medium`` / ``low`` from churn probabilities (inclusive lower
    bounds ``risk_levels.high`` and ``risk_levels.medium``).

    Examples
    --------
    >>> risk_levels(pd.Series([0.9, 0.5, 0.3, 0.1])).tolist()
    ['high', 'high', 'medium', 'low']
    """
    cut = load_churn_config(config).risk_levels
    level = np.where(probability >= cut.high, "high", np.where(probability >= cut.medium, "medium", "low"))
    return pd.Series(level, index=probability.index, dtype="str", name="risk_level")


def score_churn(
    ds: Dataset,
    model: Any = None,
    *,
    as_of: Any = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    config: Any = None,
    tiers: pd.DataFrame | pd.Series | None = None,
    lang: str = "zh",
    top: int = 3,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Churn probability, risk level, reasons and retention action per active customer.

    Parameters
    ----------
    ds : Dataset
    model : fitted or unfitted estimator, or {"logistic", "tree", "gbm"}, optional
        A fitted model is used as it is (it must take :func:`churn_features` columns), e.g.
        one from :func:`fit_churn_model`; an unfitted one, a model name or None
        (``churn.yaml`` ``model``) is trained by :func:`fit_churn_model` on every quarter end
        whose outcome window ends by ``as_of``, on at most ``training.max_training_rows``
        rows (a seeded sample stratified by quarter end and label). Every active customer is
        scored, however many rows the model was trained on.
    as_of : date-like, optional
        Scoring date; default the data's as-of date.
    horizon, definition
        Used when training (see :func:`churn_training_table`).
    config : path, mapping or ChurnConfig, optional
        User configuration (sections ``churn``, ``strategy``, ``tiers``).
    tiers : DataFrame or Series, optional
        Tier per customer (column ``tier``); default :func:`segkit.segment.tiers.assign_tiers`.
    lang : {"zh", "en"}, default "zh"
    top : int, default 3
        Model reasons per customer; 0 leaves ``top_reasons`` empty (faster, for when only the
        probabilities and risk levels are needed).
    progress : bool or None, default None

    Returns
    -------
    DataFrame
        Indexed by customer_id, customers active in the year before ``as_of``, highest
        probability first: ``name``, ``tier``, ``tier_label``, ``churn_probability``,
        ``risk_level`` (high / medium / low), ``risk_label``, ``top_reasons`` (drivers that raise
        the model's risk, in words), ``signals`` (handbook signals that hold), ``n_signals``,
        ``high_risk_rule``, ``recommended_action``, ``action_key``, ``respond_within_hours``,
        ``owner``, ``department``, ``revenue_12m``, ``recency_days``.
        ``attrs`` holds ``as_of``, the training dates (``train_as_of``), a description of the
        model, ``training_rows`` (rows the model was fitted on) and
        ``training_rows_available`` (rows there were before the cap); these three are empty
        for a fitted model without ``training_summary_``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                       # doctest: +SKIP
    >>> risk = score_churn(ds, lang="en")                              # doctest: +SKIP
    >>> risk.loc[risk["risk_level"] == "high", ["name", "tier", "recommended_action"]]  # doctest: +SKIP
    """
    from segkit.segment.tiers import assign_tiers, load_strategy

    check_lang(lang)
    cfg = load_churn_config(config)
    user_config = None if isinstance(config, ChurnConfig) else config
    strategy = load_strategy(user_config)
    _action_keys(cfg, strategy)
    when = pd.Timestamp(ds.as_of if as_of is None else as_of).normalize()
    if when > ds.as_of:
        raise ValueError(f"as_of {when.date()} is after the data's as-of date {ds.as_of.date()}")

    if model is not None and not isinstance(model, str) and _is_fitted(model):
        fitted = model
    else:
        fitted = fit_churn_model(ds, when, horizon, definition, model, config=cfg, progress=progress)
    summary = _training_summary(fitted) or {}
    train_dates = [pd.Timestamp(d) for d in summary.get("as_of", [])]

    snap = snapshot(ds, when)
    btyd = btyd_features(snap, horizon, cfg) if cfg.training.btyd_features.enabled else None  # fitted on everyone
    active = _among(snap.index, _eligible(ds, when, cfg.labels.active_months))
    snap = snap.loc[active]
    features = churn_features(snap, cfg, horizon=horizon, btyd=btyd)
    if btyd is not None and btyd.columns.empty:
        features = _with_model_columns(features, fitted)
    probability = pd.Series(fitted.predict_proba(features)[:, 1], index=snap.index, name="churn_probability")
    level = risk_levels(probability, cfg)
    separator = "；" if lang == "zh" else "; "
    if int(top) < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    if hasattr(fitted, "explain") and len(features) and int(top) > 0:
        drivers = fitted.explain(features, top=top, lang=lang, direction="raises")
        # a customer's drivers are consecutive rows, by rank: join each run of rows
        owners = drivers.index.to_numpy()
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.array([], dtype=int)
        texts = drivers["text"].tolist()
        joined = [separator.join(texts[a:b]) for a, b in zip(starts, [*starts[1:], len(texts)], strict=True)]
        reasons = pd.Series(joined, index=owners[starts], dtype="str").reindex(snap.index).fillna("")
    else:
        reasons = pd.Series("", index=snap.index)
    signals = risk_signals(snap, cfg, lang)

    if tiers is None:
        tier_table = assign_tiers(snap, config=user_config, lang=lang, as_of=when)
    else:
        tier_table = tiers.to_frame("tier") if isinstance(tiers, pd.Series) else tiers
    tier = tier_table["tier"].reindex(snap.index).astype(object)
    if "tier_label" in tier_table:
        tier_label = tier_table["tier_label"].reindex(snap.index)
    else:
        tier_label = label_series("tier", tier, lang)

    # action: by risk level and tier; dormant customers get the recall offer (except core)
    key = pd.Series("tier", index=snap.index, dtype=object)
    for lvl, rule in cfg.actions.by_level.items():
        at_level = (level == lvl).to_numpy()
        key[at_level] = tier[at_level].map(rule).fillna(rule.get("default", "tier")).to_numpy()
    dormant = cfg.actions.dormant
    recency = pd.to_numeric(snap["recency_days"], errors="coerce")
    is_dormant = level.isin(dormant.levels) & ~tier.isin(dormant.except_tiers) & (recency >= dormant.after_days)
    key[is_dormant.to_numpy()] = dormant.action
    tier_texts = {t: entry.summary.text(lang) for t, entry in strategy.tiers.items()}
    win_back_texts = {k: getattr(entry, lang) for k, entry in strategy.win_back.items()}
    hours_by_key = {k: entry.within_hours for k, entry in strategy.win_back.items()}
    by_tier = key == "tier"
    texts = key.map(win_back_texts).where(~by_tier, tier.map(tier_texts)).fillna("")
    hours = key.map(hours_by_key).where(~by_tier)

    out = pd.DataFrame({
        "name": snap["name"],
        "tier": tier,
        "tier_label": tier_label.astype("str"),
        "churn_probability": probability,
        "risk_level": level,
        "risk_label": level.map(lambda k: cfg.risk_levels.labels[k].text(lang)).astype("str"),
        "top_reasons": reasons.astype("str"),
        "signals": signals["reasons"],
        "n_signals": signals["n_signals"],
        "high_risk_rule": signals["high_risk"],
        "recommended_action": texts.astype("str"),
        "action_key": key.astype("str"),
        "respond_within_hours": hours.astype("Int64"),
        "owner": snap["owner"],
        "department": snap["department"],
        "revenue_12m": snap["revenue_12m"],
        "recency_days": snap["recency_days"],
    }, index=snap.index)
    out = out.sort_values("churn_probability", ascending=False, kind="stable")
    # attrs are copied with the frame: keep them small (the model's description, not the model)
    out.attrs.update({"as_of": when, "train_as_of": train_dates, "model": repr(fitted), "horizon": horizon,
                      "training_rows": summary.get("rows_used"), "training_rows_available": summary.get("rows_available")})
    return out

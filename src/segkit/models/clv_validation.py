"""Checks of a purchase model against what customers did later: holdout and tracking.

* :func:`validate_clv` -- holdout check: actual vs predicted purchases by calibration
  frequency, aggregate error and ROC AUC (Fader, Hardie & Lee 2005, Figure 3).
* :func:`repeat_purchase_tracking` -- cumulative actual vs expected repeat purchases per
  period (Fader, Hardie & Lee 2005, Figure 1).

Split from :mod:`segkit.models.clv` (1,150 lines); both names stay importable from there.
The revenue-level check a report shows (predicted vs actual revenue per tier) is
:func:`segkit.insights.value.clv_holdout_check`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted

from segkit.models.clv import _data_unit
from segkit.summary import UNIT_DAYS, _day_number, _encode, _resolve_units

__all__ = ["HoldoutValidation", "repeat_purchase_tracking", "validate_clv"]

# --- holdout validation ----------------------------------------------------------------------
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


# --- tracking: cumulative repeat purchases, actual vs expected -------------------------------
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

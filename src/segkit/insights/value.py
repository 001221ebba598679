"""CLV with its holdout check: would the models have predicted the revenue that came?

:func:`clv_holdout_check` goes back one horizon, fits the purchase model (BG/NBD) and the spend
model (Gamma-Gamma) on what was known then (the snapshot of that date, as a report of that
quarter fitted them), predicts each customer's revenue over the horizon, and sets it against the
revenue those customers actually brought, per tier and in total. A report shows it beside the
CLV so a reader sees how far the forecast can be trusted.

The check is in revenue and undiscounted whatever the ``clv`` settings say: actual revenue is
neither discounted nor a margin, and the ratio must compare like with like.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from segkit.features import months_before, snapshot
from segkit.insights.migration import customers_at
from segkit.io import Dataset

__all__ = ["HOLDOUT_COLUMNS", "clv_holdout_check"]

#: Columns of :func:`clv_holdout_check`.
HOLDOUT_COLUMNS = ["customers", "predicted", "actual", "ratio"]
TOTAL = "total"


def clv_holdout_check(
    ds: Dataset,
    as_of: Any = None,
    horizon_months: int = 12,
    config: Any = None,
) -> pd.DataFrame:
    """Predicted against actual revenue over the last ``horizon_months`` before ``as_of``.

    1. Calibration end = ``as_of`` minus ``horizon_months`` calendar months (a month end stays
       a month end). The BG/NBD and Gamma-Gamma models are fitted on the snapshot of that date
       (every customer with an order by then; Gamma-Gamma on the repeat buyers).
    2. :func:`segkit.models.clv.clv` predicts each of those customers' revenue over the
       horizon, undiscounted, margin 1.
    3. Actual: each customer's revenue dated in ``(calibration end, as_of]``, net of refunds.

    Customers are grouped by their tier at the calibration end. Customers whose first order
    came after the calibration end (or in its last week, so that they have no history yet) are
    not in the table: the models know nothing of them. How many and their holdout revenue are
    in ``attrs["unpredicted_customers"]`` and ``attrs["unpredicted_revenue"]``.

    Parameters
    ----------
    ds : Dataset
        From :func:`segkit.load_dataset`.
    as_of : date-like, optional
        End of the holdout; default the data set's as-of date.
    horizon_months : int, default 12
        Length of the holdout, in calendar months.
    config : path or mapping, optional
        User configuration (tiers).

    Returns
    -------
    DataFrame
        Indexed by ``tier`` (tier keys in tier order, then ``total``); columns
        :data:`HOLDOUT_COLUMNS`: ``customers`` (with an order by the calibration end),
        ``predicted`` and ``actual`` revenue over the holdout, ``ratio`` = predicted / actual
        (NaN when actual is 0). ``attrs``: ``calibration_end``, ``as_of``, ``horizon``
        (e.g. ``"12M"``), ``basis`` (``"revenue"``), ``unpredicted_customers``,
        ``unpredicted_revenue``, ``params`` (the fitted parameters of both models), ``currency``.

    Raises
    ------
    ValueError
        When ``horizon_months`` is not a positive whole number, or no order is dated on or
        before the calibration end.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                  # doctest: +SKIP
    >>> clv_holdout_check(ds, "2026-09-30", horizon_months=12)    # doctest: +SKIP
    """
    from segkit.models import BetaGeo, GammaGamma
    from segkit.models.clv import clv
    from segkit.segment.tiers import assign_tiers

    if isinstance(horizon_months, bool) or not isinstance(horizon_months, (int, np.integer)) or horizon_months < 1:
        raise ValueError(f"horizon_months={horizon_months!r} must be a whole number of months, at least 1")
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    calibration_end = months_before(as_of, int(horizon_months))
    cal = snapshot(ds, calibration_end)
    stats = cal.loc[cal["T"].notna() & (cal["T"] > 0)]
    if stats.empty:
        raise ValueError(f"no order is dated on or before the calibration end {calibration_end.date()} "
                         f"({horizon_months} months before {as_of.date()}); choose a shorter horizon_months")
    purchase = BetaGeo().fit(stats["frequency"], stats["recency"], stats["T"])
    repeat = stats.loc[stats["frequency"] > 0]
    spend = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Gamma-Gamma's note on the spend/frequency correlation
        predicted = clv(stats, purchase, spend, f"{int(horizon_months)}M", margin=1.0, annual_discount_rate=0.0,
                        observation_end=calibration_end, config=config)["clv"]

    end = snapshot(ds, as_of)
    actual_all = end["revenue_total"] - cal["revenue_total"].reindex(end.index, fill_value=0.0)
    tiers = assign_tiers(cal, config=config, as_of=calibration_end)
    order = list(tiers.attrs.get("tier_order") or [])
    tier = tiers["tier"].astype("str").reindex(stats.index)
    per = pd.DataFrame({"customers": 1, "predicted": predicted, "actual": actual_all.reindex(stats.index)})
    sums = per.groupby(tier).sum()
    sums = sums.reindex([t for t in order if t in sums.index] + sorted(set(sums.index) - set(order)))
    sums.loc[TOTAL] = per.sum()
    sums["customers"] = sums["customers"].astype("int64")
    sums["ratio"] = (sums["predicted"] / sums["actual"].where(sums["actual"] != 0)).astype("float64")
    sums.index = pd.Index(sums.index.astype("str"), name="tier")

    # not predicted: customers who first ordered after the calibration end (or in its last week, T = 0)
    unseen = customers_at(end) & ~end.index.isin(stats.index)
    sums.attrs.update({
        "calibration_end": calibration_end,
        "as_of": as_of,
        "horizon": f"{int(horizon_months)}M",
        "basis": "revenue",
        "unpredicted_customers": int(unseen.sum()),
        "unpredicted_revenue": float(actual_all[unseen].sum()),
        "params": {"purchase": dict(purchase.params_), "spend": dict(spend.params_)},
        "currency": getattr(ds, "currency", None),
    })
    return sums[HOLDOUT_COLUMNS]

"""Point-in-time customer features: one row per customer as of a date.

:func:`snapshot` is the table every later stage reads (tiers, RFM, CLV, churn, KPIs). It uses
only records dated on or before ``as_of``, so a snapshot taken for an earlier quarter is what
an analyst would have seen then, and adding later records changes nothing.

Windows are month windows closed on the right: "12 months" is ``(as_of - 12 months, as_of]``,
so an order placed exactly 12 months before ``as_of`` belongs to the previous window. When
``as_of`` is a month end the windows are whole calendar months (as of 2026-09-30 the last 6
months are 2026-04-01 .. 2026-09-30), so quarter-end snapshots line up with quarters.
Revenue is net of refunds (negative amounts are included); order counts count orders with a
positive amount only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segkit.io import Dataset

__all__ = ["snapshot", "SNAPSHOT_COLUMNS", "month_window", "months_before"]

CUSTOMER_COLUMNS = [
    "name", "credit_code", "region", "industry", "employees", "annual_revenue", "customer_type",
    "need_type", "stage", "contact_name", "contact_title", "phone", "email",
    "first_cooperation_date", "owner", "department", "renewal_intent", "record_updated",
]
ORDER_COLUMNS = [
    "revenue_12m", "revenue_prev_12m", "revenue_6m", "revenue_prev_6m", "revenue_growth_6m",
    "revenue_total", "orders_total", "orders_12m", "orders_6m",
    "orders_0_3m", "orders_3_6m", "orders_6_9m", "orders_9_12m",
    "avg_order_value_12m", "product_lines_12m", "first_order_date", "last_order_date",
    "recency_days", "tenure_months",
]
INTERACTION_COLUMNS = [
    "interactions_6m", "interactions_3m", "interactions_prev_3m", "last_interaction_date",
    "new_need_inquiry_6m", "complaints_6m", "complaints_12m", "key_contact_changed_6m",
]
SURVEY_COLUMNS = ["satisfaction", "nps", "survey_date"]
BTYD_COLUMNS = ["frequency", "recency", "T", "monetary_value"]
SNAPSHOT_COLUMNS = CUSTOMER_COLUMNS + ORDER_COLUMNS + INTERACTION_COLUMNS + SURVEY_COLUMNS + BTYD_COLUMNS

# Interaction types that are not contact with the customer, only a change in the record.
NOT_CONTACT = {"key_contact_change"}


def month_window(dates: pd.Series, as_of: pd.Timestamp, newest: int, oldest: int) -> pd.Series:
    """Mask of ``dates`` in ``(as_of - oldest months, as_of - newest months]``.

    Examples
    --------
    >>> d = pd.Series(pd.to_datetime(["2026-03-31", "2026-04-01", "2026-09-30"]))
    >>> month_window(d, pd.Timestamp("2026-09-30"), 0, 6).tolist()  # (2026-03-31, 2026-09-30]
    [False, True, True]
    """
    upper, lower = months_before(as_of, newest), months_before(as_of, oldest)
    return (dates > lower) & (dates <= upper)


def months_before(as_of: pd.Timestamp, months: int) -> pd.Timestamp:
    """``as_of`` minus whole months; a month end stays a month end (2026-09-30 -> 2026-03-31).

    Examples
    --------
    >>> months_before(pd.Timestamp("2026-09-30"), 6).date(), months_before(pd.Timestamp("2026-08-15"), 6).date()
    (datetime.date(2026, 3, 31), datetime.date(2026, 2, 15))
    """
    if as_of.is_month_end:
        return (as_of.to_period("M") - months).end_time.normalize()
    return as_of - pd.DateOffset(months=months)


def _months_between(start: pd.Series, end: pd.Timestamp) -> pd.Series:
    """Whole months from ``start`` to ``end``; from a day to the end of a month counts the
    month whole when ``end`` is a month end (2026-03-31 -> 2026-09-30 is 6 months)."""
    short = (start.dt.day > end.day) & (not end.is_month_end)
    months = (end.year - start.dt.year) * 12 + (end.month - start.dt.month) - short.astype("Int64")
    return months.clip(lower=0).astype("Int64")


def snapshot(ds: Dataset, as_of: str | pd.Timestamp | None = None, *, btyd_unit: str = "W") -> pd.DataFrame:
    """One row per customer with features computed only from records dated <= ``as_of``.

    Parameters
    ----------
    ds : Dataset
        From :func:`segkit.load_dataset`.
    as_of : date-like, optional
        The snapshot date; defaults to the data set's as-of date.
    btyd_unit : {"W", "D"}, default "W"
        Time unit of the BTYD statistics ``frequency`` (repeat purchase periods), ``recency``
        and ``T``; stored in ``result.attrs["btyd_unit"]``.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id``; columns in :data:`SNAPSHOT_COLUMNS`:

        * customer attributes (name, industry, owner, department, renewal_intent, ...) as in the
          customers table (the table has no history, so these are today's values);
        * ``revenue_12m``, ``revenue_prev_12m`` (12-24 months back), ``revenue_6m``,
          ``revenue_prev_6m``, ``revenue_growth_6m`` (last 6 months vs the 6 before, NaN when
          the earlier half is <= 0), ``revenue_total``, ``orders_total``, ``orders_12m``,
          ``orders_6m``, ``orders_0_3m`` ... ``orders_9_12m`` (the last four quarters, newest
          first), ``avg_order_value_12m``, ``product_lines_12m``, ``first_order_date``,
          ``last_order_date``, ``recency_days``, ``tenure_months`` (from the first
          cooperation date, else the first order);
        * ``interactions_6m`` / ``_3m`` / ``_prev_3m`` (every interaction type except a
          key-contact change), ``new_need_inquiry_6m``, ``complaints_6m``,
          ``complaints_12m``, ``key_contact_changed_6m``, ``last_interaction_date``;
        * ``satisfaction``, ``nps`` (latest answers) and ``survey_date``;
        * ``frequency``, ``recency``, ``T``, ``monetary_value`` (lifetimes conventions,
          positive orders only; NaN for customers without an order).

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                 # doctest: +SKIP
    >>> snap = segkit.snapshot(ds, "2026-09-30")                 # doctest: +SKIP
    >>> snap.loc[:, ["revenue_12m", "interactions_6m"]].head()  # doctest: +SKIP
    """
    from segkit.summary import btyd_summary  # models and summary share one implementation

    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    customers = ds.customers.drop_duplicates("customer_id").set_index("customer_id")
    index = customers.index
    out = customers.reindex(columns=CUSTOMER_COLUMNS).copy()

    # --- orders ---------------------------------------------------------------------------
    tx = ds.transactions.loc[ds.transactions["order_date"] <= as_of, ["customer_id", "order_date", "amount", "product_line"]]
    dates, amount = tx["order_date"], tx["amount"]
    positive = amount > 0
    windows = {
        "12m": month_window(dates, as_of, 0, 12), "prev_12m": month_window(dates, as_of, 12, 24),
        "6m": month_window(dates, as_of, 0, 6), "prev_6m": month_window(dates, as_of, 6, 12),
        "0_3m": month_window(dates, as_of, 0, 3), "3_6m": month_window(dates, as_of, 3, 6),
        "6_9m": month_window(dates, as_of, 6, 9), "9_12m": month_window(dates, as_of, 9, 12),
    }
    parts = {"revenue_total": amount, "orders_total": positive.astype("int64")}
    for name in ("12m", "prev_12m", "6m", "prev_6m"):
        parts[f"revenue_{name}"] = amount.where(windows[name], 0.0)
    for name in ("12m", "6m", "0_3m", "3_6m", "6_9m", "9_12m"):
        parts[f"orders_{name}"] = (positive & windows[name]).astype("int64")
    parts["gross_12m"] = amount.where(positive & windows["12m"], 0.0)
    sums = pd.DataFrame(parts).groupby(tx["customer_id"]).sum().reindex(index, fill_value=0)
    for col in sums.columns.drop("gross_12m"):
        out[col] = sums[col].round(2) if col.startswith("revenue") else sums[col].astype("int64")
    prev = out["revenue_prev_6m"]
    out["revenue_growth_6m"] = (out["revenue_6m"] / prev.where(prev > 0) - 1.0).astype("float64")
    out["avg_order_value_12m"] = (sums["gross_12m"] / sums["orders_12m"].where(sums["orders_12m"] > 0)).round(2)
    in_12m = tx.loc[windows["12m"] & positive]
    out["product_lines_12m"] = in_12m.groupby("customer_id")["product_line"].nunique().reindex(index, fill_value=0).astype("int64")
    bought = tx.loc[positive]
    grouped_dates = bought.groupby("customer_id")["order_date"]
    out["first_order_date"] = grouped_dates.min().reindex(index)
    out["last_order_date"] = grouped_dates.max().reindex(index)
    out["recency_days"] = (as_of - out["last_order_date"]).dt.days.astype("float64")
    start = out["first_cooperation_date"].where(out["first_cooperation_date"] <= as_of).fillna(out["first_order_date"])
    out["tenure_months"] = _months_between(start, as_of)

    # --- interactions -----------------------------------------------------------------------
    it = ds.interactions.loc[ds.interactions["date"] <= as_of, ["customer_id", "date", "type"]]
    contact = ~it["type"].isin(NOT_CONTACT)
    w6, w3 = month_window(it["date"], as_of, 0, 6), month_window(it["date"], as_of, 0, 3)
    counts = pd.DataFrame({
        "interactions_6m": contact & w6,
        "interactions_3m": contact & w3,
        "interactions_prev_3m": contact & month_window(it["date"], as_of, 3, 6),
        "new_need_inquiry_6m": (it["type"] == "new_need_inquiry") & w6,
        "complaints_6m": (it["type"] == "complaint") & w6,
        "complaints_12m": (it["type"] == "complaint") & month_window(it["date"], as_of, 0, 12),
        "key_contact_changed_6m": (it["type"] == "key_contact_change") & w6,
    }).astype("int64").groupby(it["customer_id"]).sum().reindex(index, fill_value=0)
    for col in counts.columns:
        out[col] = counts[col] > 0 if col == "key_contact_changed_6m" else counts[col]
    out["last_interaction_date"] = it.loc[contact].groupby("customer_id")["date"].max().reindex(index)

    # --- surveys ------------------------------------------------------------------------------
    sv = ds.surveys.loc[ds.surveys["date"] <= as_of].sort_values(["customer_id", "date"], kind="stable")
    latest = sv.groupby("customer_id")[["satisfaction", "nps", "date"]].last()
    out["satisfaction"] = latest["satisfaction"].reindex(index).astype("float64")
    out["nps"] = latest["nps"].reindex(index).astype("Int64")
    out["survey_date"] = latest["date"].reindex(index)

    # --- BTYD statistics --------------------------------------------------------------------
    if len(bought):
        btyd = btyd_summary(bought, observation_end=as_of, unit=btyd_unit)
        btyd.index = btyd.index.astype("str")
        for col in BTYD_COLUMNS:
            out[col] = btyd[col].reindex(index).astype("float64")
    else:
        for col in BTYD_COLUMNS:
            out[col] = np.nan

    out = out[SNAPSHOT_COLUMNS]
    out.index.name = "customer_id"
    out.attrs.update({"as_of": as_of, "btyd_unit": btyd_unit, "currency": ds.currency, "present": sorted(ds.present)})
    return out

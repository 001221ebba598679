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

import weakref
from collections import OrderedDict

import pandas as pd

from segkit.io import Dataset
from segkit.periods import shift_months

__all__ = ["snapshot", "snapshot_ids", "checked_snapshot", "snapshot_aggregates", "finish_snapshot", "SNAPSHOT_COLUMNS", "AGGREGATE_COLUMNS", "month_window", "months_before"]

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


# Month windows of the snapshot: name -> (newest, oldest) months before as_of, i.e. the
# window (as_of - oldest months, as_of - newest months]. Every engine uses these.
ORDER_REVENUE_WINDOWS = {"12m": (0, 12), "prev_12m": (12, 24), "6m": (0, 6), "prev_6m": (6, 12)}
ORDER_COUNT_WINDOWS = {"12m": (0, 12), "6m": (0, 6), "0_3m": (0, 3), "3_6m": (3, 6), "6_9m": (6, 9), "9_12m": (9, 12)}
# interaction count column -> (interaction type or None for any contact, newest, oldest)
INTERACTION_COUNTS = {
    "interactions_6m": (None, 0, 6),
    "interactions_3m": (None, 0, 3),
    "interactions_prev_3m": (None, 3, 6),
    "new_need_inquiry_6m": ("new_need_inquiry", 0, 6),
    "complaints_6m": ("complaint", 0, 6),
    "complaints_12m": ("complaint", 0, 12),
    "key_contact_changed_6m": ("key_contact_change", 0, 6),
}
# What an engine returns per customer (customers without records may be absent); everything
# else in the snapshot is derived from these by :func:`finish_snapshot`.
AGGREGATE_COLUMNS = (
    ["revenue_total", "orders_total"]
    + [f"revenue_{w}" for w in ORDER_REVENUE_WINDOWS]
    + [f"orders_{w}" for w in ORDER_COUNT_WINDOWS]
    + ["gross_12m", "product_lines_12m", "first_order_date", "last_order_date"]
    + list(INTERACTION_COUNTS) + ["last_interaction_date", "satisfaction", "nps", "survey_date"]
    + BTYD_COLUMNS
)


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
    """``as_of`` minus whole months: :func:`segkit.periods.shift_months` backwards, the way the
    snapshot's windows read ("the 6 months before as_of"); a month end stays a month end.

    Examples
    --------
    >>> months_before(pd.Timestamp("2026-09-30"), 6).date(), months_before(pd.Timestamp("2026-08-15"), 6).date()
    (datetime.date(2026, 3, 31), datetime.date(2026, 2, 15))
    """
    return shift_months(as_of, -months)  # the calendar arithmetic is written once, in segkit.periods


def _months_between(start: pd.Series, end: pd.Timestamp) -> pd.Series:
    """Whole months from ``start`` to ``end``; from a day to the end of a month counts the
    month whole when ``end`` is a month end (2026-03-31 -> 2026-09-30 is 6 months)."""
    short = (start.dt.day > end.day) & (not end.is_month_end)
    months = (end.year - start.dt.year) * 12 + (end.month - start.dt.month) - short.astype("Int64")
    return months.clip(lower=0).astype("Int64")


def snapshot(ds: Dataset, as_of: str | pd.Timestamp | None = None, *, btyd_unit: str = "W", engine: str | None = None) -> pd.DataFrame:
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
    engine : {"duckdb", "pandas"}, optional
        What computes the per-customer aggregates: DuckDB (embedded, out-of-core) through the
        Ibis expressions of :mod:`segkit.engine`, or pandas/numpy in this process. Both give
        the same table. By default the engine that holds the data: DuckDB for a data set
        loaded by the engine (its orders never come into pandas), pandas for tables that are
        in memory already.

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
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    if engine is None:
        engine = "duckdb" if ds._as_stored() else "pandas"
    if engine not in ("pandas", "duckdb"):
        raise ValueError(f"engine={engine!r} is not supported; use 'pandas' or 'duckdb'")
    key = _memo_key(ds, as_of, btyd_unit, engine)
    aggregates = _recall(ds, key)
    fresh = aggregates is None
    if fresh:
        if engine == "pandas":
            aggregates = snapshot_aggregates(ds, as_of, btyd_unit=btyd_unit)
        else:
            from segkit.engine import duckdb_aggregates

            aggregates = duckdb_aggregates(ds, as_of, btyd_unit=btyd_unit)
    customers = _snapshot_customers(ds)
    if not aggregates.index.equals(customers.index):
        # kept in the customers' order: the next snapshot of this date needs no realignment
        aggregates, fresh = aggregates.reindex(customers.index), True
    if fresh:
        _remember(ds, key, aggregates)
    out = finish_snapshot(customers, aggregates, as_of)
    out = out[SNAPSHOT_COLUMNS]
    out.index.name = "customer_id"
    # the tables a snapshot summarises (contracts are not among them), as snapshot_from_ibis says
    present = sorted(set(ds.present) & set(_MEMO_TABLES))
    out.attrs.update({"as_of": as_of, "btyd_unit": btyd_unit, "currency": ds.currency, "present": present})
    return out


def _snapshot_customers(ds: Dataset) -> pd.DataFrame:
    return ds.customers.drop_duplicates("customer_id").set_index("customer_id")


def snapshot_ids(ds: Dataset) -> pd.Index:
    """The customers of every :func:`snapshot` of ``ds``, in its row order."""
    return _snapshot_customers(ds).index


def checked_snapshot(ds: Dataset, as_of=None, *, what: str = "--as-of", **kwargs) -> pd.DataFrame:
    """:func:`snapshot` at a date a person chose, refused when it lies outside the data.

    What ``segkit snapshot`` and ``segkit tiers`` run. The date is read strictly
    (:func:`segkit.periods.parse_date`); a date after the data's as-of date is refused, as a
    report refuses a quarter that ends after it (the data cannot say what happened later), and
    so is a date before every order (every customer would be "low value" with no revenue).
    :func:`snapshot` itself takes any date, because analyses look back from earlier dates
    (the previous quarter, the churn model's training dates).

    Raises
    ------
    ValueError
        Naming the date, the data's as-of date and where it came from.

    Examples
    --------
    >>> ds = segkit.load_dataset("data/sample")            # doctest: +SKIP
    >>> checked_snapshot(ds, "2027-03-31")                   # doctest: +SKIP
    Traceback (most recent call last):
    ValueError: --as-of 2027-03-31 is after the data's as-of date: as of 2026-09-30 (from dataset.yaml); ...
    """
    from segkit.periods import parse_date

    date = ds.as_of if as_of is None else parse_date(as_of, what)
    if date.normalize() > ds.as_of.normalize():
        raise ValueError(f"{what} {date.date()} is after the data's as-of date: {ds.notes()[0]}; the data cannot say "
                         f"what happened after it. Choose a date on or before {ds.as_of.date()}, or set as_of in "
                         "dataset.yaml if the data run later")
    snap = snapshot(ds, date, **kwargs)
    if len(snap) and not snap["first_order_date"].notna().any():
        raise ValueError(f"{what} {date.date()}: no customer has an order on or before it, so every customer would "
                         "look like one without revenue; choose a date within the data's orders")
    return snap


# The aggregates of the last few snapshots: a report asks for the same dates many times (tiers,
# migration, each churn training table), and at 200 k customers each costs seconds. The key
# holds the identity of the data set and of each of its tables, so a changed table is a new key.
_AGGREGATES: OrderedDict = OrderedDict()
_MEMO_SIZE = 12


_MEMO_TABLES = ("customers", "transactions", "interactions", "surveys")


def _memo_key(ds: Dataset, as_of: pd.Timestamp, btyd_unit: str, engine: str) -> tuple:
    objects = (ds, *(object.__getattribute__(ds, name) for name in _MEMO_TABLES))
    return (tuple(id(o) for o in objects), as_of, btyd_unit.upper(), engine)


def _recall(ds: Dataset, key: tuple) -> pd.DataFrame | None:
    """The remembered aggregates, if every object of the key is still the one they came from
    (an id can be reused once an object is gone)."""
    hit = _AGGREGATES.get(key)
    if hit is None:
        return None
    refs, aggregates = hit
    objects = (ds, *(object.__getattribute__(ds, name) for name in _MEMO_TABLES))
    if any(ref() is not obj for ref, obj in zip(refs, objects)):
        del _AGGREGATES[key]
        return None
    _AGGREGATES.move_to_end(key)
    return aggregates


def _remember(ds: Dataset, key: tuple, aggregates: pd.DataFrame) -> None:
    objects = (ds, *(object.__getattribute__(ds, name) for name in _MEMO_TABLES))
    _AGGREGATES[key] = (tuple(weakref.ref(o) for o in objects), aggregates)
    while len(_AGGREGATES) > _MEMO_SIZE:
        _AGGREGATES.popitem(last=False)


def snapshot_aggregates(ds: Dataset, as_of: pd.Timestamp, *, btyd_unit: str = "W") -> pd.DataFrame:
    """Per-customer aggregates (:data:`AGGREGATE_COLUMNS`) computed by pandas and numpy."""
    from segkit.summary import btyd_summary  # models and summary share one implementation

    # --- orders ---------------------------------------------------------------------------
    tx = ds.transactions.loc[ds.transactions["order_date"] <= as_of, ["customer_id", "order_date", "amount", "product_line"]]
    dates, amount = tx["order_date"], tx["amount"]
    positive = amount > 0
    parts = {"revenue_total": amount, "orders_total": positive.astype("int64")}
    for name, (newest, oldest) in ORDER_REVENUE_WINDOWS.items():
        parts[f"revenue_{name}"] = amount.where(month_window(dates, as_of, newest, oldest), 0.0)
    for name, (newest, oldest) in ORDER_COUNT_WINDOWS.items():
        parts[f"orders_{name}"] = (positive & month_window(dates, as_of, newest, oldest)).astype("int64")
    in_12m = positive & month_window(dates, as_of, 0, 12)
    parts["gross_12m"] = amount.where(in_12m, 0.0)
    out = pd.DataFrame(parts).groupby(tx["customer_id"]).sum()
    out["product_lines_12m"] = tx.loc[in_12m].groupby("customer_id")["product_line"].nunique()
    bought = tx.loc[positive]
    grouped_dates = bought.groupby("customer_id")["order_date"]
    out["first_order_date"] = grouped_dates.min()
    out["last_order_date"] = grouped_dates.max()

    # --- interactions -----------------------------------------------------------------------
    it = ds.interactions.loc[ds.interactions["date"] <= as_of, ["customer_id", "date", "type"]]
    contact = ~it["type"].isin(NOT_CONTACT)
    counts = pd.DataFrame({
        col: (contact if kind is None else it["type"] == kind) & month_window(it["date"], as_of, newest, oldest)
        for col, (kind, newest, oldest) in INTERACTION_COUNTS.items()
    }).astype("int64").groupby(it["customer_id"]).sum()
    counts["last_interaction_date"] = it.loc[contact].groupby("customer_id")["date"].max()

    # --- surveys: the latest answer to each question ------------------------------------------
    sv = ds.surveys.loc[ds.surveys["date"] <= as_of].sort_values(["customer_id", "date"], kind="stable")
    latest = sv.groupby("customer_id")[["satisfaction", "nps", "date"]].last().rename(columns={"date": "survey_date"})

    # --- BTYD statistics --------------------------------------------------------------------
    btyd = btyd_summary(bought, observation_end=as_of, unit=btyd_unit)[BTYD_COLUMNS] if len(bought) else None
    frames = [out, counts, latest] + ([btyd] if btyd is not None else [])
    for frame in frames:
        frame.index = frame.index.astype("str")
    return pd.concat(frames, axis=1).reindex(columns=AGGREGATE_COLUMNS)


def finish_snapshot(customers: pd.DataFrame, aggregates: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """The snapshot from the customers table (indexed by id) and an engine's aggregates."""
    index = customers.index
    out = customers.reindex(columns=CUSTOMER_COLUMNS).copy()
    agg = aggregates.reindex(index)
    counts = [c for c in AGGREGATE_COLUMNS if c.startswith(("orders_", "interactions_", "new_need", "complaints_", "key_contact"))]
    for col in ["revenue_total", *[f"revenue_{w}" for w in ORDER_REVENUE_WINDOWS]]:
        out[col] = agg[col].astype("float64").fillna(0.0).round(2)
    for col in counts + ["product_lines_12m"]:
        out[col] = agg[col].fillna(0).astype("int64")
    out["key_contact_changed_6m"] = out["key_contact_changed_6m"] > 0
    prev = out["revenue_prev_6m"]
    out["revenue_growth_6m"] = (out["revenue_6m"] / prev.where(prev > 0) - 1.0).astype("float64")
    orders_12m = out["orders_12m"]
    # the gross sum is a whole number of cents: rounding it first removes the summation-order
    # noise, so every engine gets the same average (41922.315 must not round both ways)
    gross = agg["gross_12m"].astype("float64").fillna(0.0).round(2)
    out["avg_order_value_12m"] = (gross / orders_12m.where(orders_12m > 0)).round(2)
    for col in ("first_order_date", "last_order_date", "last_interaction_date", "survey_date"):
        out[col] = pd.to_datetime(agg[col]).astype("datetime64[ns]")
    out["recency_days"] = (as_of - out["last_order_date"]).dt.days.astype("float64")
    start = out["first_cooperation_date"].where(out["first_cooperation_date"] <= as_of).fillna(out["first_order_date"])
    out["tenure_months"] = _months_between(start, as_of)
    out["satisfaction"] = agg["satisfaction"].astype("float64")
    out["nps"] = agg["nps"].astype("Int64")
    for col in BTYD_COLUMNS:
        out[col] = agg[col].astype("float64")
    return out

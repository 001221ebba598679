"""The snapshot's per-customer aggregates as Ibis expressions, run by DuckDB or any Ibis backend.

:func:`segkit.features.snapshot` reads one row per customer; the heavy part is aggregating
millions of orders and interactions into that row. This module writes that aggregation once,
as Ibis table expressions over three tables with segkit's canonical columns:

* ``transactions``: ``customer_id``, ``order_date`` (timestamp), ``amount``, ``product_line``
* ``interactions``: ``customer_id``, ``date``, ``type``
* ``surveys``: ``customer_id``, ``date``, ``satisfaction``, ``nps`` and ``_position`` (row
  order in the export, which breaks ties between answers given on the same day)

so the same code runs embedded in DuckDB (the default: no server, spills to disk when memory
is short) or on Spark or a warehouse through an Ibis connection. The month windows and the
BTYD statistics follow exactly the definitions of :mod:`segkit.features` and
:mod:`segkit.summary`, which the tests check table against table.

Examples
--------
>>> import segkit
>>> ds = segkit.load_dataset("data/sample")                                  # doctest: +SKIP
>>> snap = segkit.snapshot(ds, "2026-09-30", engine="duckdb")                # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd
import pyarrow as pa

from segkit.features import (
    AGGREGATE_COLUMNS,
    INTERACTION_COUNTS,
    NOT_CONTACT,
    ORDER_COUNT_WINDOWS,
    ORDER_REVENUE_WINDOWS,
    months_before,
)
from segkit.ingest import ibis_table
from segkit.io import Dataset
from segkit.summary import UNIT_DAYS

__all__ = ["aggregate_expr", "collect", "duckdb_aggregates", "dataset_tables", "first_order_date", "order_windows", "table_rows", "column_has_values",
           "snapshot_from_ibis"]

# Day 0 (1970-01-01) is a Thursday: adding 3 makes weeks start on Monday (pandas' "W" periods),
# as in segkit.summary.
_MONDAY_SHIFT = 3


def _ibis():
    try:
        import ibis
    except ImportError as exc:  # pragma: no cover - ibis is a dependency
        raise ImportError("engine='duckdb' needs ibis-framework[duckdb]: pip install 'ibis-framework[duckdb]'") from exc
    return ibis


def _window(column, as_of: pd.Timestamp, newest: int, oldest: int):
    """``column`` in ``(as_of - oldest months, as_of - newest months]`` (features.month_window)."""
    upper, lower = months_before(as_of, newest), months_before(as_of, oldest)
    return (column > lower.to_pydatetime()) & (column <= upper.to_pydatetime())


# Amounts are summed as decimals: exact, so the result does not depend on the order in which the
# engine's threads happen to add them (a float sum does, in its last bits, and a churn model
# trained on it would differ from run to run). Six decimals hold any currency's smallest unit.
_EXACT = "decimal(38, 6)"


def _money_sum(amount, where=None):
    return amount.cast(_EXACT).sum(where=where).cast("float64")


def _day_number(column):
    """Whole days since 1970-01-01 (time of day dropped)."""
    return (column.epoch_seconds() // 86400).cast("int64")


def aggregate_expr(transactions, interactions, surveys, as_of: pd.Timestamp, *, btyd_unit: str = "W"):
    """Ibis expressions for the snapshot aggregates of every customer with a record.

    Parameters
    ----------
    transactions, interactions, surveys : ibis.Table
        Tables with segkit's canonical columns (see the module docstring).
    as_of : Timestamp
        The snapshot date (normalised); records after it are ignored.
    btyd_unit : {"W", "D"}
        Unit and purchase period of ``frequency``, ``recency`` and ``T``.

    Returns
    -------
    dict of str -> ibis.Table
        ``orders``, ``btyd``, ``interactions`` and ``surveys``, each keyed by ``customer_id``,
        whose columns together are :data:`segkit.features.AGGREGATE_COLUMNS`.
    """
    ibis = _ibis()
    as_of = pd.Timestamp(as_of).normalize()
    cutoff = as_of.to_pydatetime()
    unit = btyd_unit.upper()
    if unit not in UNIT_DAYS:
        raise ValueError(f"btyd_unit={btyd_unit!r} is not a supported time unit; use 'D' or 'W'")

    # --- orders -------------------------------------------------------------------------------
    tx = transactions.filter(transactions.order_date <= cutoff)
    positive = tx.amount > 0
    metrics = {"revenue_total": _money_sum(tx.amount), "orders_total": positive.sum()}
    for name, (newest, oldest) in ORDER_REVENUE_WINDOWS.items():
        metrics[f"revenue_{name}"] = _money_sum(tx.amount, where=_window(tx.order_date, as_of, newest, oldest))
    for name, (newest, oldest) in ORDER_COUNT_WINDOWS.items():
        metrics[f"orders_{name}"] = (positive & _window(tx.order_date, as_of, newest, oldest)).sum()
    in_12m = positive & _window(tx.order_date, as_of, 0, 12)
    metrics["gross_12m"] = _money_sum(tx.amount, where=in_12m)
    metrics["first_order_date"] = tx.order_date.min(where=positive)
    metrics["last_order_date"] = tx.order_date.max(where=positive)
    orders = tx.group_by("customer_id").aggregate(**metrics)
    # distinct product lines as distinct pairs, then a count: cheaper than a DISTINCT aggregate
    lines = (tx.filter(in_12m & tx.product_line.notnull()).select("customer_id", "product_line").distinct()
             .group_by("customer_id").aggregate(lines=lambda t: t.count()))
    orders = orders.left_join(lines, orders.customer_id == lines.customer_id).select(
        *[orders[c] for c in orders.columns], product_lines_12m=lines.lines.fill_null(0))

    # --- BTYD statistics over positive orders (segkit.summary.btyd_summary) -------------------
    bought = tx.filter(positive)
    day = _day_number(bought.order_date)
    period = day if unit == "D" else (day + _MONDAY_SHIFT) // 7
    per_period = bought.mutate(period=period).group_by(["customer_id", "period"]).aggregate(spend=lambda t: t.amount.cast(_EXACT).sum())
    # repeat spend = all spend less the first period's (argmin over the customer's distinct
    # periods), exact in decimals; aggregates, not windows, so the engine can spill them to disk
    btyd = per_period.group_by("customer_id").aggregate(
        n_periods=per_period.period.count(),
        first_period=per_period.period.min(),
        last_period=per_period.period.max(),
        repeat_spend=(per_period.spend.sum() - per_period.spend.argmin(per_period.period)).cast("float64"),
    )
    obs_day = int((as_of - pd.Timestamp("1970-01-01")).days)
    obs_period = obs_day if unit == "D" else (obs_day + _MONDAY_SHIFT) // 7
    days_per_period = 1 if unit == "D" else 7  # period starts are this many days apart
    scale = days_per_period / UNIT_DAYS[unit]
    frequency = btyd.n_periods - 1
    btyd = btyd.select(
        "customer_id",
        frequency=frequency.cast("float64"),
        recency=(btyd.last_period - btyd.first_period).cast("float64") * scale,
        T=(ibis.literal(obs_period) - btyd.first_period).cast("float64") * scale,
        monetary_value=ibis.ifelse(frequency > 0, btyd.repeat_spend.fill_null(0) / frequency.cast("float64"), 0.0),
    )

    # --- interactions ---------------------------------------------------------------------------
    it = interactions.filter(interactions.date <= cutoff)
    contact = ~it.type.isin(list(NOT_CONTACT)).fill_null(False)
    counts = {}
    for col, (kind, newest, oldest) in INTERACTION_COUNTS.items():
        hit = contact if kind is None else (it.type == kind).fill_null(False)
        counts[col] = (hit & _window(it.date, as_of, newest, oldest)).sum()
    counts["last_interaction_date"] = it.date.max(where=contact)
    inter = it.group_by("customer_id").aggregate(**counts)

    # --- surveys: the latest non-missing answer to each question (pandas' groupby.last) ---------
    sv = surveys.filter(surveys.date <= cutoff)
    order = sv.date.epoch_seconds().cast("int64") * 1_000_000_000 + sv._position.cast("int64")
    sv = sv.mutate(_order=order)
    latest = sv.group_by("customer_id").aggregate(
        satisfaction=sv.satisfaction.argmax(sv._order, where=sv.satisfaction.notnull()),
        nps=sv.nps.argmax(sv._order, where=sv.nps.notnull()),
        survey_date=sv.date.max(),
    )
    return {"orders": orders, "btyd": btyd, "interactions": inter, "surveys": latest}


def dataset_tables(ds: Dataset, con=None):
    """Register a :class:`~segkit.io.Dataset`'s tables with an Ibis backend (DuckDB by default)."""
    ibis = _ibis()
    store = ds.store
    if con is None and ds._as_stored():
        # the tables are in the engine already: aggregate them where they are
        surveys = store.table("surveys")
        return store.con, {
            "transactions": store.table("transactions").select("customer_id", "order_date", "amount", "product_line"),
            "interactions": store.table("interactions").select("customer_id", "date", "type"),
            "surveys": surveys.select("customer_id", "date", "satisfaction", "nps",
                                      _position=surveys._fid * (2 ** 40) + surveys._row),
        }
    con = con if con is not None else ibis.duckdb.connect()
    surveys = ds.surveys[["customer_id", "date", "satisfaction", "nps"]].copy()
    surveys["_position"] = range(len(surveys))
    surveys["nps"] = surveys["nps"].astype("float64")
    frames = {
        "transactions": ds.transactions[["customer_id", "order_date", "amount", "product_line"]],
        "interactions": ds.interactions[["customer_id", "date", "type"]],
        "surveys": surveys,
    }
    # read in place by DuckDB (Arrow); no copy of the data is created in the database
    # handed over as Arrow tables, which DuckDB scans in place
    return con, {name: ibis.memtable(pa.Table.from_pandas(frame, preserve_index=False)) for name, frame in frames.items()}


def _to_pandas(expr, con) -> pd.DataFrame:
    frame = con.to_pyarrow(expr).to_pandas()
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame.set_index("customer_id")


def duckdb_aggregates(ds: Dataset, as_of: pd.Timestamp, *, btyd_unit: str = "W", con=None) -> pd.DataFrame:
    """:func:`segkit.features.snapshot_aggregates`, computed by DuckDB through :func:`aggregate_expr`."""
    con, tables = dataset_tables(ds, con)
    exprs = aggregate_expr(tables["transactions"], tables["interactions"], tables["surveys"], as_of, btyd_unit=btyd_unit)
    return collect(exprs, con)


def order_windows(ds: Dataset, windows: Mapping[str, tuple[pd.Timestamp, pd.Timestamp]]) -> pd.DataFrame:
    """Positive orders and net revenue per customer in date windows, in one pass over the orders.

    Parameters
    ----------
    ds : Dataset
    windows : mapping of name -> (start, end)
        Each window is ``(start, end]``, as :func:`segkit.features.month_window`.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (every customer with an order): ``orders_<name>`` (orders
        with a positive amount in the window) and ``revenue_<name>`` (net amount, refunds
        included; 0 without orders in the window), for each window.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")
    >>> q3 = order_windows(ds, {"q3": (pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30"))})
    >>> int((q3["orders_q3"] > 0).sum())   # customers who bought in 2026Q3
    1230
    """
    con, tables = dataset_tables(ds)
    tx = tables["transactions"]
    metrics = {}
    for name, (start, end) in windows.items():
        inside = (tx.order_date > pd.Timestamp(start).to_pydatetime()) & (tx.order_date <= pd.Timestamp(end).to_pydatetime())
        metrics[f"orders_{name}"] = (inside & (tx.amount > 0)).sum().cast("int64")
        metrics[f"revenue_{name}"] = _money_sum(tx.amount, where=inside).fill_null(0.0)
    if not metrics:
        raise ValueError("no windows given")
    return _to_pandas(tx.group_by("customer_id").aggregate(**metrics), con).sort_index()


def sql_time(value) -> str:
    """A timestamp literal for the conditions of :func:`table_rows`."""
    return f"TIMESTAMP '{pd.Timestamp(value).isoformat(sep=' ')}'"


def table_rows(ds: Dataset, name: str, where: str, columns: list[str] | None = None) -> pd.DataFrame:
    """The rows of table ``name`` a computation needs, without bringing the rest into pandas.

    For a data set the engine holds, the engine keeps the rows meeting ``where`` (an SQL
    condition on the canonical columns) and only those come into pandas, in table order, with
    only ``columns`` (default all). Otherwise the pandas table is returned whole. Either way the
    caller then applies its own filters, so ``where`` must keep every row the caller uses: it
    saves memory, never changes a result.
    """
    if ds._as_stored() and not ds.is_loaded(name):
        return ds.store.frame(name, where, columns)
    table = ds.table(name)
    return table if columns is None else table[[c for c in columns if c in table.columns]]


def column_has_values(ds: Dataset, name: str, column: str) -> bool | None:
    """Whether column ``column`` of table ``name`` holds at least one value; None when the
    table has no such column. Asked of the engine for a data set it holds (the table does not
    come into pandas for it).

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")
    >>> column_has_values(ds, "transactions", "product_line"), column_has_values(ds, "transactions", "colour")
    (True, None)
    """
    if ds._as_stored() and not ds.is_loaded(name):
        return ds.store.has_values(name, column)
    frame = ds.table(name)
    return bool(frame[column].notna().any()) if column in frame.columns else None


def first_order_date(ds: Dataset, *, positive: bool = True) -> pd.Timestamp:
    """The date of the first order (with a positive amount, by default); NaT without one.

    Read where the orders are: from the engine for a data set it holds, else from pandas.
    """
    if not ds._as_stored():
        tx = ds.transactions
        dates = tx.loc[tx["amount"] > 0, "order_date"] if positive else tx["order_date"]
        return pd.Timestamp(dates.min()) if len(dates) else pd.NaT
    con, tables = dataset_tables(ds)
    tx = tables["transactions"]
    if positive:
        tx = tx.filter(tx.amount > 0)
    value = con.execute(tx.order_date.min())
    return pd.NaT if value is None or pd.isna(value) else pd.Timestamp(value).as_unit("ns")


def collect(exprs: Mapping[str, object], con) -> pd.DataFrame:
    """Execute the expressions of :func:`aggregate_expr` on ``con``: one row per customer, in pandas."""
    parts = list(exprs.values())
    ids = None
    for part in parts:  # as text: an empty part's id column may have another type
        these = part.select(customer_id=part.customer_id.cast("string"))
        ids = these if ids is None else ids.union(these, distinct=True)
    # one query: the engine joins the parts on the customer, pandas gets one table
    joined = ids
    for part in parts:
        joined = joined.left_join(part, joined.customer_id == part.customer_id.cast("string")).select(
            *[joined[c] for c in joined.columns], *[part[c] for c in part.columns if c != "customer_id"])
    return _to_pandas(joined, con).reindex(columns=AGGREGATE_COLUMNS)


def _empty(con, schema: dict):
    ibis = _ibis()
    return ibis.memtable(pa.table({name: pa.array([], type=kind) for name, kind in schema.items()}))


def snapshot_from_ibis(
    con,
    as_of,
    *,
    transactions,
    customers=None,
    interactions=None,
    surveys=None,
    btyd_unit: str = "W",
    currency: str = "CNY",
) -> pd.DataFrame:
    """The point-in-time snapshot of tables that live in a warehouse, Spark or a DuckDB file.

    The aggregation runs where the data are (only one row per customer comes back), with the
    same definitions as :func:`segkit.snapshot`.

    Parameters
    ----------
    con : Ibis backend
        E.g. ``ibis.duckdb.connect("crm.duckdb")``, ``ibis.pyspark.connect(spark)``,
        ``ibis.postgres.connect(...)``.
    as_of : date-like
        Snapshot date; later records are ignored.
    transactions : str or ibis.Table
        Orders with ``customer_id``, ``order_date``, ``amount`` and optionally ``product_line``
        (a table name such as ``"crm.orders"``, or an expression that renames columns).
    customers : str or ibis.Table, optional
        Customer attributes (segkit's canonical column names); without it the customers are
        the ids in ``transactions``.
    interactions, surveys : str or ibis.Table, optional
        ``customer_id, date, type`` and ``customer_id, date, satisfaction, nps``. Answers given
        on the same day are ordered by a ``_position`` column when the table has one (else the
        higher answer counts as the later one, so the result never depends on scan order).
    btyd_unit : {"W", "D"}, default "W"
    currency : str, default "CNY"

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` with the columns of :data:`segkit.features.SNAPSHOT_COLUMNS`.

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> con = ibis.duckdb.connect()
    >>> orders = ibis.memtable(pd.DataFrame({
    ...     "customer_id": ["A", "A", "B"],
    ...     "order_date": pd.to_datetime(["2026-01-05", "2026-08-20", "2026-09-01"]),
    ...     "amount": [120000.0, 80000.0, 3000.0]}))
    >>> snap = snapshot_from_ibis(con, "2026-09-30", transactions=orders)
    >>> snap[["revenue_12m", "orders_12m", "frequency"]]
                 revenue_12m  orders_12m  frequency
    customer_id
    A               200000.0           2        1.0
    B                 3000.0           1        0.0
    """
    from segkit.features import CUSTOMER_COLUMNS, SNAPSHOT_COLUMNS, finish_snapshot

    as_of = pd.Timestamp(as_of).normalize()
    present = {"transactions"}
    tx = ibis_table(con, transactions)
    if "product_line" not in tx.columns:
        tx = tx.mutate(product_line=_ibis().null("string"))
    it = ibis_table(con, interactions)
    sv = ibis_table(con, surveys)
    present |= {name for name, table in (("interactions", it), ("surveys", sv)) if table is not None}
    if it is None:
        it = _empty(con, {"customer_id": pa.string(), "date": pa.timestamp("ns"), "type": pa.string()})
    if sv is None:
        sv = _empty(con, {"customer_id": pa.string(), "date": pa.timestamp("ns"), "satisfaction": pa.float64(),
                          "nps": pa.float64(), "_position": pa.int64()})
    elif "_position" not in sv.columns:
        # no row order in a warehouse: same-day answers are ordered by their values
        sv = sv.mutate(_position=(sv.satisfaction.fill_null(-1) * 100 + sv.nps.fill_null(-1)).cast("int64"))
    exprs = aggregate_expr(tx, it, sv, as_of, btyd_unit=btyd_unit)
    aggregates = collect(exprs, con)
    if customers is not None:
        frame = con.to_pyarrow(ibis_table(con, customers)).to_pandas()
        present.add("customers")
    else:
        ids = con.to_pyarrow(tx.select("customer_id").distinct().order_by("customer_id")).to_pandas()
        frame = ids.assign(name=ids["customer_id"])
    frame["customer_id"] = frame["customer_id"].astype("str")
    for column in ("first_cooperation_date", "record_updated"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column]).astype("datetime64[ns]")
    frame = frame.drop_duplicates("customer_id").set_index("customer_id").reindex(columns=CUSTOMER_COLUMNS)
    if frame["first_cooperation_date"].isna().all():
        frame["first_cooperation_date"] = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    out = finish_snapshot(frame, aggregates, as_of)[SNAPSHOT_COLUMNS]
    out.index.name = "customer_id"
    out.attrs.update({"as_of": as_of, "btyd_unit": btyd_unit.upper(), "currency": currency.upper(),
                      "present": sorted(present)})
    return out

"""Trends over the last quarters: tier mix, revenue, retention, NPS, and the flows between tiers.

:func:`quarterly_trends` gives one row per quarter end, each computed as an analyst would have
computed it on that day: the point-in-time snapshot (:func:`segkit.features.snapshot`), the tiers
of :func:`segkit.segment.tiers.assign_tiers` and the KPIs of :func:`segkit.insights.kpi.kpis`
(retention and NPS are kpi.py's definitions, not new ones). Orders placed after a quarter end
never change that quarter's row.

:func:`segment_flows` gives, for each pair of consecutive quarter ends, how many customers went
from each tier to each tier (with ``new`` and ``lost``, as in
:func:`segkit.insights.migration.migration`), as a long table for a flow chart.

Counts are of the customers *on the date* (:func:`segkit.insights.migration.customers_at`:
cooperation started or an order placed), so the tier columns of a trend row add up to the
customers that day, and the flows into a quarter add up to the same tier counts.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from segkit.features import snapshot
from segkit.insights.kpi import kpis
from segkit.insights.migration import LOST, NEW, customers_at, migration
from segkit.io import Dataset
from segkit.periods import parse_date, parse_quarter, quarter_end as end_of_quarter

__all__ = ["TREND_COLUMNS", "FLOW_COLUMNS", "quarter_ends", "quarterly_trends", "segment_flows"]

#: Columns of :func:`quarterly_trends` after the tier columns (one per tier key, in tier order).
TREND_COLUMNS = ["customers", "revenue_quarter", "revenue_12m", "retention_base", "retention_rate", "nps", "nps_responses"]
#: Columns of :func:`segment_flows`.
FLOW_COLUMNS = ["from_quarter", "to_quarter", "from_tier", "to_tier", "customers"]


def quarter_ends(quarter_end: Any, n_quarters: int) -> list[pd.Timestamp]:
    """The last ``n_quarters`` quarter ends up to ``quarter_end``, oldest first.

    Parameters
    ----------
    quarter_end : str or date-like
        A quarter (``"2026Q3"``) or the last day of one (``"2026-09-30"``).
    n_quarters : int
        How many quarter ends (at least 1).

    Examples
    --------
    >>> [d.date().isoformat() for d in quarter_ends("2026Q3", 3)]
    ['2026-03-31', '2026-06-30', '2026-09-30']
    >>> quarter_ends("2026-09-29", 2)
    Traceback (most recent call last):
    ...
    ValueError: quarter_end 2026-09-29 is not the last day of a quarter (2026Q3 ends on 2026-09-30)
    """
    if isinstance(n_quarters, bool) or not isinstance(n_quarters, int) or n_quarters < 1:
        raise ValueError(f"n_quarters={n_quarters!r} must be a whole number of quarters, at least 1")
    try:
        last = end_of_quarter(parse_quarter(quarter_end))
    except ValueError:
        last = parse_date(quarter_end, "quarter_end").normalize()
        period = last.to_period("Q")
        if period.end_time.normalize() != last:
            raise ValueError(f"quarter_end {last.date()} is not the last day of a quarter "
                             f"({period} ends on {period.end_time.date()})") from None
    period = last.to_period("Q")
    return [(period - k).end_time.normalize() for k in range(n_quarters - 1, -1, -1)]


def _progress(items: list, progress: bool | None, desc: str):
    from tqdm import tqdm  # plain text bar, as segkit.insights.churn's

    # None: a bar only on a terminal and only once the work has taken a second; True: always
    return tqdm(items, desc=desc, unit="quarter", disable=None if progress is None else not progress,
                delay=1.0 if progress is None else 0.0)


def _tiers_at(ds: Dataset, when: pd.Timestamp, config: Any, thresholds: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The snapshot of ``when`` and the tiers of the customers on that date."""
    from segkit.segment.tiers import assign_tiers

    snap = snapshot(ds, when)
    tiers = assign_tiers(snap, config=config, as_of=when, thresholds=thresholds)
    present = customers_at(snap).to_numpy(bool)
    order = list(tiers.attrs.get("tier_order") or [])
    tiers = tiers.loc[present]
    tiers.attrs["tier_order"] = order
    return snap, tiers


def _has_orders(snap: pd.DataFrame) -> bool:
    return bool(snap["first_order_date"].notna().any())


def quarterly_trends(
    ds: Dataset,
    quarter_end: Any,
    n_quarters: int = 8,
    config: Any = None,
    *,
    thresholds: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Tier mix, revenue, retention and NPS at each of the last quarter ends.

    Every row is point in time: the snapshot, tiers and KPIs as of that quarter end, from the
    records dated on or before it.

    Parameters
    ----------
    ds : Dataset
        From :func:`segkit.load_dataset`.
    quarter_end : str or date-like
        The newest quarter (``"2026Q3"``) or its last day.
    n_quarters : int, default 8
        How many quarter ends to look back over (quarters before the first order are left out).
    config : path or mapping, optional
        User configuration (tiers and kpi sections).
    thresholds : Thresholds, optional
        The tier lines for every quarter; by default each quarter's own (those
        :func:`~segkit.segment.tiers.assign_tiers` resolves from that quarter's snapshot, which is
        what a report of that quarter showed).
    progress : bool or None, default None
        Progress bar over the quarters: None on a terminal once the work takes a second, True
        always, False never.

    Returns
    -------
    DataFrame
        Indexed by ``quarter_end`` (oldest first): ``quarter`` (``"2026Q3"``), one column per tier
        key in tier order (customers in that tier on the date), then :data:`TREND_COLUMNS`:
        ``customers`` (customers on the date, the sum of the tier columns), ``revenue_quarter``
        (revenue of the orders dated in the quarter, net of refunds, over every customer record),
        ``revenue_12m``, ``retention_base`` and ``retention_rate`` (kpi.py's quarterly retention),
        ``nps`` and ``nps_responses`` (kpi.py's NPS). ``attrs`` hold ``tier_order`` and
        ``currency``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                      # doctest: +SKIP
    >>> quarterly_trends(ds, "2026Q3")[["core", "customers", "retention_rate"]]  # doctest: +SKIP
    """
    ends = quarter_ends(quarter_end, n_quarters)
    rows, order = [], []
    before = snapshot(ds, (ends[0].to_period("Q") - 1).end_time.normalize())
    for when in _progress(ends, progress, "trends"):
        snap, tiers = _tiers_at(ds, when, config, thresholds)
        revenue_quarter = float(snap["revenue_total"].sum() - before["revenue_total"].reindex(snap.index, fill_value=0.0).sum())
        before = snap
        if not _has_orders(snap):
            continue
        order = order or tiers.attrs["tier_order"]
        counts = tiers["tier"].astype("str").value_counts()
        unknown = sorted(set(counts.index) - set(order))
        total = kpis(ds, when, by=None, snap=snap, config=config).loc["total"]
        row = {"quarter_end": when, "quarter": str(when.to_period("Q"))}
        row |= {t: int(counts.get(t, 0)) for t in [*order, *unknown]}
        row |= {
            "customers": len(tiers),
            "revenue_quarter": round(revenue_quarter, 2),
            "revenue_12m": float(total["revenue_12m"]),
            "retention_base": int(total["retention_base"]),
            "retention_rate": float(total["retention_rate"]),
            "nps": float(total["nps"]),
            "nps_responses": int(total["nps_responses"]),
        }
        rows.append(row)
    if not rows:
        raise ValueError(f"no order is dated on or before {ends[-1].date()}: there is no quarter to show a trend "
                         "for; choose a quarter within the data's orders")
    out = pd.DataFrame(rows).set_index("quarter_end")
    tier_columns = [c for c in out.columns if c not in ("quarter", *TREND_COLUMNS)]
    out[tier_columns] = out[tier_columns].fillna(0).astype("int64")
    out["quarter"] = out["quarter"].astype("str")
    out.attrs.update({"tier_order": tier_columns, "currency": getattr(ds, "currency", None)})
    return out


def segment_flows(
    ds: Dataset,
    quarter_end: Any,
    n_quarters: int = 4,
    config: Any = None,
    *,
    thresholds: Any = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Customers moving between tiers, quarter to quarter, as a long table for a flow chart.

    For each of the last ``n_quarters`` quarters, the flows from the tiers at the end of the
    quarter before it to the tiers at its end (:func:`segkit.insights.migration.migration` with
    both snapshots): ``from_tier`` is ``new`` for customers who were not customers yet,
    ``to_tier`` is ``lost`` for customers no longer in the data's customers.

    Parameters
    ----------
    ds, quarter_end, config, thresholds, progress
        As in :func:`quarterly_trends`.
    n_quarters : int, default 4
        How many quarter-to-quarter steps (``n_quarters + 1`` quarter ends).

    Returns
    -------
    DataFrame
        Columns :data:`FLOW_COLUMNS`; one row per non-empty (from, to) cell, steps oldest first,
        tiers in tier order with ``new`` last among ``from_tier`` and ``lost`` last among
        ``to_tier``. For each ``to_quarter``, the customers of the rows whose ``to_tier`` is not
        ``lost`` add up to the customers on that date (the ``customers`` of
        :func:`quarterly_trends`). Steps before the first order are left out.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")           # doctest: +SKIP
    >>> segment_flows(ds, "2026Q3").head()                # doctest: +SKIP
    """
    ends = quarter_ends(quarter_end, n_quarters + 1)
    frames = []
    previous = None
    for when in _progress(ends, progress, "segment flows"):
        snap, tiers = _tiers_at(ds, when, config, thresholds)
        if previous is not None and _has_orders(snap):
            prev_snap, prev_tiers = previous
            counts = migration(prev_tiers, tiers, snapshots=(prev_snap, snap), config=config).counts
            long = counts.stack().rename("customers").reset_index()
            long.columns = ["from_tier", "to_tier", "customers"]
            long = long.loc[long["customers"] > 0]
            long.insert(0, "to_quarter", str(when.to_period("Q")))
            long.insert(0, "from_quarter", str(previous[0].attrs["as_of"].to_period("Q")))
            frames.append(long)
        previous = (snap, tiers)
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype="int64" if c == "customers" else "str") for c in FLOW_COLUMNS})
    out = pd.concat(frames, ignore_index=True)[FLOW_COLUMNS]
    for col in FLOW_COLUMNS[:-1]:
        out[col] = out[col].astype("str")
    out["customers"] = out["customers"].astype("int64")
    out.attrs.update({"new": NEW, "lost": LOST, "tier_order": list(previous[1].attrs.get("tier_order") or [])})
    return out

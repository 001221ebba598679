"""Tier migration between two quarters (动态调整: who moved up and down).

:func:`migration` compares two tier tables (from :func:`segkit.segment.tiers.assign_tiers` at
two snapshot dates) and returns the transition matrix in customers and in revenue, with
customers that appear only in the current table as the row ``new`` and those only in the
previous table as the column ``lost``, plus the lists of upgrades and downgrades with both
quarters' basis.

The matrices reconcile with the tier tables they were made from: :attr:`Migration.margins`
gives, per tier and quarter, the rows of the tier table, those left out of the matrix because
they were not yet customers on that date (prospects listed for a need, see
:func:`customers_at`; their ids are in :attr:`Migration.prospects`) and the matrix margin, so
``listed == prospects + margin`` for every tier on both dates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segkit.labels import check_lang
from segkit.segment.rules import RuleSet
from segkit.segment.tiers import load_tiers_config

__all__ = ["Migration", "migration", "customers_at", "NEW", "LOST"]

NEW = "new"
LOST = "lost"
_WORDS = {
    "zh": {NEW: "新增客户", LOST: "流失/移出", "up": "升级", "down": "降级", "same": "不变"},
    "en": {NEW: "New", LOST: "Lost", "up": "Up", "down": "Down", "same": "Same"},
}


@dataclass
class Migration:
    """The result of :func:`migration`.

    Attributes
    ----------
    counts : DataFrame
        Customers per (previous tier, current tier); rows = tiers + ``new``, columns =
        tiers + ``lost``; keys in tier order (highest first). :meth:`Migration.names` gives
        the words for them.
    revenue : DataFrame or None
        The same cells summing revenue (current revenue; previous revenue in ``lost``).
    moves : DataFrame
        One row per customer: ``previous_tier``, ``current_tier``, ``direction`` (up / down /
        same / new / lost), both bases and revenues.
    upgrades, downgrades : DataFrame
        The rows of ``moves`` that moved up / down, highest current tier first.
    order : list of str
        Tier keys, highest first.
    prospects : DataFrame
        Rows of the tier tables left out of the matrices because they were not yet customers
        on that date (only when ``snapshots`` were given): indexed by customer_id, columns
        ``previous_tier`` and ``current_tier`` holding the tier of the side where the record
        was a prospect (missing on the other side).
    margins : DataFrame
        Per tier key (rows, highest first): ``previous_listed`` / ``current_listed`` (rows of
        each tier table with that tier), ``previous_prospects`` / ``current_prospects`` (of
        which not yet customers, left out), ``previous`` / ``current`` (the matrix's row /
        column sums: ``listed - prospects``), and ``previous_revenue`` / ``current_revenue``
        (the customers' revenue on each date; ``current_revenue`` is the revenue matrix's
        column sum) when there is revenue.
    """

    counts: pd.DataFrame
    revenue: pd.DataFrame | None
    moves: pd.DataFrame
    upgrades: pd.DataFrame
    downgrades: pd.DataFrame
    order: list[str] = field(default_factory=list)
    prospects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["previous_tier", "current_tier"]))
    margins: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def totals(self) -> dict[str, int]:
        """Number of customers per direction."""
        counts = self.moves["direction"].value_counts()
        return {d: int(counts.get(d, 0)) for d in ("up", "down", "same", NEW, LOST)}

    def names(self, lang: str = "zh", config: Any = None) -> dict[str, str]:
        """Words for the matrices' keys in ``lang``: each tier's label (from the tiers
        configuration in use), ``new`` and ``lost`` (the edge: the result itself holds keys).

        Examples
        --------
        >>> import pandas as pd
        >>> m = migration(pd.Series({"A": "core"}), pd.Series({"B": "ordinary"}))
        >>> names = m.names("en")
        >>> names["core"], names["new"], names["lost"]
        ('Core', 'New', 'Lost')
        >>> m.counts.rename(index=m.names("zh")).index.tolist()[-1]
        '新增客户'
        """
        check_lang(lang)
        rules = RuleSet(load_tiers_config(config), "tiers")
        return {t: rules.label(t, lang) for t in self.order} | {NEW: _WORDS[lang][NEW], LOST: _WORDS[lang][LOST]}


def _tier_series(table: pd.DataFrame | pd.Series, name: str) -> tuple[pd.Series, pd.Series]:
    if isinstance(table, pd.Series):
        tiers, basis = table, pd.Series("", index=table.index)
    else:
        if "tier" not in table.columns:
            raise ValueError(f"the {name} table has no column 'tier'; pass the output of segkit.assign_tiers")
        tiers = table["tier"]
        basis = table["basis"] if "basis" in table.columns else pd.Series("", index=table.index)
    if tiers.index.has_duplicates:
        dup = tiers.index[tiers.index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"the {name} table has several rows for customers {dup}")
    index = tiers.index.astype(str)
    return pd.Series(tiers.to_numpy(), index=index).astype(str), pd.Series(basis.to_numpy(), index=index).astype(str)


def _revenue_series(value: Any, index: pd.Index) -> pd.Series | None:
    if value is None:
        return None
    if isinstance(value, pd.DataFrame):
        if "revenue_12m" not in value.columns:
            raise ValueError("a revenue table needs the column 'revenue_12m' (e.g. a snapshot)")
        value = value["revenue_12m"]
    series = pd.to_numeric(pd.Series(value), errors="coerce")
    series.index = series.index.astype(str)
    return series.reindex(index).astype(float)


def customers_at(snapshot: pd.DataFrame) -> pd.Series:
    """Which rows of a snapshot were customers on its date: cooperation started or ordered.

    A snapshot lists every customer record, including those signed later and prospects; for
    migration, a customer counts from its first cooperation date (or first order) on.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"first_cooperation_date": pd.to_datetime(["2026-01-05", "2026-08-01", None]),
    ...                      "first_order_date": pd.to_datetime([None, None, "2026-03-01"])},
    ...                     index=["A", "B", "C"])
    >>> snap.attrs["as_of"] = pd.Timestamp("2026-06-30")
    >>> customers_at(snap).tolist()
    [True, False, True]
    """
    present = pd.Series(False, index=snapshot.index)
    as_of = snapshot.attrs.get("as_of")
    if "first_cooperation_date" in snapshot.columns and as_of is not None:
        present |= (pd.to_datetime(snapshot["first_cooperation_date"]) <= pd.Timestamp(as_of)).fillna(False).astype(bool)
    if "first_order_date" in snapshot.columns:
        dates = pd.to_datetime(snapshot["first_order_date"])
        present |= (dates.notna() & ((dates <= pd.Timestamp(as_of)) if as_of is not None else True)).astype(bool)
    if "first_cooperation_date" not in snapshot.columns and "first_order_date" not in snapshot.columns:
        raise ValueError("the snapshot needs first_cooperation_date or first_order_date to tell who was a customer")
    return present


def migration(
    previous: pd.DataFrame | pd.Series,
    current: pd.DataFrame | pd.Series,
    revenue: Any = None,
    *,
    snapshots: tuple[pd.DataFrame, pd.DataFrame] | None = None,
    order: list[str] | None = None,
    config: Any = None,
) -> Migration:
    """Tier migration from one quarter to the next.

    Parameters
    ----------
    previous, current : DataFrame or Series
        Tier tables (``tier`` and ``basis`` columns, indexed by customer_id), e.g.
        ``assign_tiers(snapshot(ds, "2026-06-30"))`` and ``assign_tiers(snapshot(ds, "2026-09-30"))``.
    revenue : Series, DataFrame or (previous, current) pair, optional
        Revenue per customer for the revenue matrix (a snapshot works: its ``revenue_12m`` is
        used). A pair gives each quarter its own revenue: current customers are counted with
        the current revenue, lost customers with the previous one. Default: a
        ``revenue_12m`` column of the tier tables if present, else no revenue matrix.
    snapshots : (previous, current) pair of snapshots, optional
        The snapshots the tier tables were made from. Only customers on each date count
        (:func:`customers_at`: cooperation started or an order placed), so customers signed
        during the quarter form the row ``new``; and, unless ``revenue`` is given, their
        ``revenue_12m`` gives the revenue matrix.
    order : list of str, optional
        Tier keys, highest first; default from the tier tables or the ``tiers`` config.
    config : path or mapping, optional
        Tiers configuration (for the order).

    Returns
    -------
    Migration
        Keys and numbers; :meth:`Migration.names` gives the words.

    Notes
    -----
    What ``new`` and ``lost`` mean, as the code decides it: ``new`` is a customer in the
    current table who was not a customer at the previous date (not in the previous table, or,
    with ``snapshots``, first cooperation and first order after it); ``lost`` is a customer of
    the previous date not in the current table (the record left the data or, in a scoped
    report, the scope). :func:`segkit.assign_tiers` tiers every listed record, so a customer
    who stopped buying is not lost: it keeps a tier (low value, once its revenue is gone) and
    its risk is the churn model's. Listed records that are not yet customers (prospects) are in
    no cell; :attr:`Migration.margins` counts them so the matrix reconciles with the tier tables.

    Examples
    --------
    >>> import pandas as pd
    >>> prev = pd.DataFrame({"tier": ["potential", "ordinary", "core"], "basis": ["p", "o", "c"]},
    ...                     index=["A", "B", "C"])
    >>> curr = pd.DataFrame({"tier": ["core", "low_value", "ordinary"], "basis": ["c", "l", "o"]},
    ...                     index=["A", "B", "D"])
    >>> m = migration(prev, curr)
    >>> m.counts
    current    core  potential  ordinary  low_value  lost
    previous                                             
    core          0          0         0          0     1
    potential     1          0         0          0     0
    ordinary      0          0         0          1     0
    low_value     0          0         0          0     0
    new           0          0         1          0     0
    >>> m.margins[["previous_listed", "previous", "current_listed", "current"]]
               previous_listed  previous  current_listed  current
    tier                                                          
    core                     1         1               1        1
    potential                1         1               0        0
    ordinary                 1         1               1        1
    low_value                0         0               1        1
    >>> m.upgrades[["previous_tier", "current_tier", "previous_basis", "current_basis"]]
                previous_tier current_tier previous_basis current_basis
    customer_id                                                        
    A               potential         core              p             c
    """
    prev_tier, prev_basis = _tier_series(previous, "previous")
    curr_tier, curr_basis = _tier_series(current, "current")
    prev_listed, curr_listed = prev_tier, curr_tier
    if snapshots is not None:
        prev_snap, curr_snap = snapshots
        def present(tier: pd.Series, snap: pd.DataFrame) -> pd.Series:
            mask = customers_at(snap)
            mask.index = mask.index.astype(str)
            return tier[mask.reindex(tier.index, fill_value=False).to_numpy(bool)]

        prev_tier, curr_tier = present(prev_tier, prev_snap), present(curr_tier, curr_snap)
        prev_basis, curr_basis = prev_basis.reindex(prev_tier.index), curr_basis.reindex(curr_tier.index)
        if revenue is None:
            revenue = (prev_snap, curr_snap)
    cfg = load_tiers_config(config)
    if order is None:
        attrs = getattr(current, "attrs", {}) or {}
        order = list(attrs.get("tier_order") or cfg.order)
    order = list(order)
    for t in [*pd.unique(prev_tier), *pd.unique(curr_tier)]:
        if t not in order:
            order.append(t)
    rank = {t: i for i, t in enumerate(order)}

    ids = prev_tier.index.union(curr_tier.index, sort=False)
    moves = pd.DataFrame(index=pd.Index(ids, name="customer_id"))
    moves["previous_tier"] = prev_tier.reindex(ids).fillna(NEW).astype(str)
    moves["current_tier"] = curr_tier.reindex(ids).fillna(LOST).astype(str)
    p_rank = moves["previous_tier"].map(rank)
    c_rank = moves["current_tier"].map(rank)
    direction = np.select(
        [moves["previous_tier"] == NEW, moves["current_tier"] == LOST, c_rank < p_rank, c_rank > p_rank],
        [NEW, LOST, "up", "down"],
        "same",
    )
    moves["direction"] = pd.Series(direction, index=ids).astype(str)
    moves["previous_basis"] = prev_basis.reindex(ids).fillna("").astype(str)
    moves["current_basis"] = curr_basis.reindex(ids).fillna("").astype(str)

    if revenue is None:
        pair = (
            previous if isinstance(previous, pd.DataFrame) and "revenue_12m" in previous else None,
            current if isinstance(current, pd.DataFrame) and "revenue_12m" in current else None,
        )
        revenue = pair if pair[1] is not None else None
    if revenue is not None:
        prev_rev_src, curr_rev_src = revenue if isinstance(revenue, tuple) else (revenue, revenue)
        prev_rev = _revenue_series(prev_rev_src, ids) if prev_rev_src is not None else pd.Series(np.nan, index=ids)
        curr_rev = _revenue_series(curr_rev_src, ids)
        moves["previous_revenue"] = prev_rev
        moves["current_revenue"] = curr_rev
        cell_revenue = curr_rev.where(moves["current_tier"] != LOST, prev_rev).fillna(0.0)
    rows, cols = [*order, NEW], [*order, LOST]
    counts = pd.crosstab(moves["previous_tier"], moves["current_tier"]).reindex(index=rows, columns=cols, fill_value=0)
    counts = counts.astype("int64")
    revenue_matrix = None
    if revenue is not None:
        revenue_matrix = (
            cell_revenue.groupby([moves["previous_tier"], moves["current_tier"]]).sum().unstack(fill_value=0.0)
            .reindex(index=rows, columns=cols, fill_value=0.0)
            .astype(float)
        )

    prospects = pd.DataFrame({
        "previous_tier": prev_listed.drop(prev_tier.index).astype(object),
        "current_tier": curr_listed.drop(curr_tier.index).astype(object),
    })
    prospects.index.name = "customer_id"
    margins = _margins(counts, prev_listed, curr_listed, prospects, order, moves if revenue is not None else None)

    for matrix in (counts, revenue_matrix):
        if matrix is not None:
            matrix.index.name, matrix.columns.name = "previous", "current"

    sort_keys = moves["current_tier"].map(rank)
    moves = moves.assign(_rank=sort_keys)
    sort_by = ["_rank"] + (["current_revenue"] if "current_revenue" in moves else [])
    ascending = [True] + ([False] if "current_revenue" in moves else [])
    upgrades = moves[moves["direction"] == "up"].sort_values(sort_by, ascending=ascending, kind="stable").drop(columns="_rank")
    downgrades = moves[moves["direction"] == "down"].sort_values(sort_by, ascending=ascending, kind="stable").drop(columns="_rank")
    moves = moves.drop(columns="_rank")
    return Migration(counts, revenue_matrix, moves, upgrades, downgrades, order, prospects, margins)


def _margins(counts: pd.DataFrame, prev_listed: pd.Series, curr_listed: pd.Series, prospects: pd.DataFrame,
             order: list[str], moves: pd.DataFrame | None) -> pd.DataFrame:
    """Per tier: the tier tables' rows, the prospects left out, the matrix margins (and revenue)."""
    def tally(values: pd.Series) -> pd.Series:
        return values.value_counts().reindex(order, fill_value=0).astype("int64")

    out = pd.DataFrame(index=pd.Index(order, name="tier"))
    out["previous_listed"] = tally(prev_listed)
    out["previous_prospects"] = tally(prospects["previous_tier"].dropna())
    out["previous"] = counts.loc[order].sum(axis=1).astype("int64")
    out["current_listed"] = tally(curr_listed)
    out["current_prospects"] = tally(prospects["current_tier"].dropna())
    out["current"] = counts[order].sum(axis=0).astype("int64")
    if moves is not None:
        out["previous_revenue"] = moves.groupby("previous_tier")["previous_revenue"].sum().reindex(order, fill_value=0.0)
        out["current_revenue"] = moves.groupby("current_tier")["current_revenue"].sum().reindex(order, fill_value=0.0)
    return out

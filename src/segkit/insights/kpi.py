"""KPIs by segment (business-rules.md section 10): retention, repurchase, NPS, cross-sell, ...

:func:`kpis` returns one row per group of customers (a tier, an industry, an owner: any
snapshot column) and a ``total`` row. Every KPI is a ratio of sums over the group's
customers, so the total row is computed exactly like a group row and a group of one customer
shows that customer's own numbers. The definitions are written once, in
``segkit/defaults/kpi.yaml``, and printed by :func:`kpi_definitions` (report appendix).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.features import month_window, months_before, snapshot
from segkit.io import Dataset
from segkit.labels import check_lang

__all__ = ["KPI_COLUMNS", "KpiConfig", "kpis", "kpi_definitions", "load_kpi_config"]

#: The KPI columns in table order (``clv`` and ``clv_growth`` only when CLV is given).
KPI_COLUMNS = [
    "customers", "revenue_12m", "revenue_share", "buyers_12m", "retention_base", "retention_rate",
    "repurchase_rate", "avg_order_value", "interactions_per_customer", "nps", "nps_responses",
    "satisfaction", "cross_sell_rate", "repeat_revenue_share", "complaint_rate", "resolution_days",
    "clv", "clv_growth",
]
TOTAL = "total"
MISSING_GROUP = "(missing)"


# --- configuration -------------------------------------------------------------------------


class _Window(StrictModel):
    window_months: int = Field(ge=1)


class _Nps(StrictModel):
    promoter_min: int = Field(ge=0, le=10)
    detractor_max: int = Field(ge=0, le=10)


class _Definition(StrictModel):
    zh: str
    en: str
    definition_zh: str
    definition_en: str


class _Period(StrictModel):
    months: int = Field(ge=1)
    zh: str
    en: str


@register_section("kpi")
class KpiConfig(StrictModel):
    """The ``kpi`` configuration section (``segkit/defaults/kpi.yaml``)."""

    surveys: _Window
    nps: _Nps
    complaints: _Window
    definitions: dict[str, _Definition]
    periods: dict[str, _Period]


def load_kpi_config(config: str | Path | Mapping[str, Any] | KpiConfig | None = None) -> KpiConfig:
    """The ``kpi`` section: package defaults overridden by ``config``, validated.

    Examples
    --------
    >>> load_kpi_config().nps.promoter_min
    9
    >>> load_kpi_config({"kpi": {"nps": {"promoter_mn": 8}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'kpi' configuration:
      - unknown key 'nps.promoter_mn'; allowed keys here: ['detractor_max', 'promoter_min']
    """
    if isinstance(config, KpiConfig):
        cfg = config
    else:
        cfg = load_section("kpi", KpiConfig, config)
    if cfg.nps.detractor_max >= cfg.nps.promoter_min:
        raise ConfigError(
            f"kpi.nps: detractor_max ({cfg.nps.detractor_max}) must be below promoter_min "
            f"({cfg.nps.promoter_min})"
        )
    missing = [k for k in KPI_COLUMNS if k not in cfg.definitions]
    if missing:
        raise ConfigError(f"kpi.definitions: no definition for {missing}; every KPI column needs one")
    return cfg


def kpi_definitions(lang: str = "zh", period: str = "Q", config: Any = None) -> pd.DataFrame:
    """Label and definition of every KPI, for the report appendix.

    Parameters
    ----------
    lang : {"zh", "en"}, default "zh"
    period : {"M", "Q", "H", "Y"}, default "Q"
        The retention period the definitions speak of.
    config : path, mapping or KpiConfig, optional

    Returns
    -------
    DataFrame
        Indexed by KPI key (the column names of :func:`kpis`): ``label``, ``definition``.

    Examples
    --------
    >>> d = kpi_definitions("en")
    >>> d.loc["retention_rate", "definition"]
    'Of the customers active in the previous quarter, the share still active this quarter (active = at least one order of positive amount in the quarter).'
    >>> kpi_definitions("zh").loc["nps", "label"]
    '净推荐值（NPS）'
    """
    check_lang(lang)
    cfg = load_kpi_config(config)
    per = _period(cfg, period)
    words = {
        "period": per.zh if lang == "zh" else per.en,
        "promoter_min": cfg.nps.promoter_min,
        "detractor_max": cfg.nps.detractor_max,
        "survey_months": cfg.surveys.window_months,
        "complaint_months": cfg.complaints.window_months,
    }
    rows = {}
    for key in KPI_COLUMNS:
        d = cfg.definitions[key]
        label, text = (d.zh, d.definition_zh) if lang == "zh" else (d.en, d.definition_en)
        rows[key] = {"label": label.format(**words), "definition": text.format(**words)}
    out = pd.DataFrame.from_dict(rows, orient="index").astype("str")
    out.index.name = "kpi"
    return out


def _period(cfg: KpiConfig, period: str) -> _Period:
    if period not in cfg.periods:
        raise ValueError(f"unknown period {period!r}; use one of {list(cfg.periods)} (months: "
                         + ", ".join(f"{k}={v.months}" for k, v in cfg.periods.items()) + ")")
    return cfg.periods[period]


# --- inputs --------------------------------------------------------------------------------


def _as_series(values: pd.Series | pd.DataFrame, column: str, what: str) -> pd.Series:
    """A customer-indexed Series from a Series or from a table's ``column``."""
    if isinstance(values, pd.Series):
        return values
    if isinstance(values, pd.DataFrame):
        frame = values.set_index("customer_id") if "customer_id" in values.columns else values
        if column in frame.columns:
            return frame[column]
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if column == "clv" and len(numeric) == 1:
            return frame[numeric[0]]
        raise ValueError(f"{what} has no column {column!r}; columns: {list(frame.columns)}")
    raise TypeError(f"{what} must be a Series or a DataFrame indexed by customer_id, not {type(values).__name__}")


def _groups(snap: pd.DataFrame, by: str | None, tiers: pd.DataFrame | pd.Series | None) -> tuple[pd.Series, list[str] | None]:
    """The group key of every customer and, for tiers, the tier order."""
    index = snap.index
    if by is None:
        return pd.Series(TOTAL, index=index, dtype="str"), None
    order = None
    if by == "tier" or (isinstance(tiers, pd.DataFrame) and by in tiers.columns):
        if tiers is None:
            from segkit.segment.tiers import assign_tiers  # segmentation is only needed here

            tiers = assign_tiers(snap)
        keys = _as_series(tiers, by, "tiers")
        unknown = keys.index.difference(index)
        if len(unknown):
            raise ValueError(f"the tiers table has {len(unknown)} customer(s) not in the data "
                             f"(ids: {', '.join(map(str, unknown[:5]))}); take it from the same data set")
        keys = keys.reindex(index)
        if by == "tier":
            order = list(getattr(tiers, "attrs", {}).get("tier_order") or [])
            if not order:
                from segkit.segment.tiers import load_tiers_config

                order = list(load_tiers_config().order)
    elif by in snap.columns:
        keys = snap[by]
    else:
        raise ValueError(f"cannot group by {by!r}: not a snapshot column nor a column of tiers; "
                         f"snapshot columns: {', '.join(snap.columns)}")
    keys = keys.astype("object").where(keys.notna(), MISSING_GROUP).astype("str")
    return keys, order


# --- per-customer counts -------------------------------------------------------------------


def _per_customer(ds: Dataset, snap: pd.DataFrame, as_of: pd.Timestamp, months: int, cfg: KpiConfig) -> pd.DataFrame:
    """Additive per-customer quantities; every KPI is a ratio of their sums over a group."""
    index = snap.index
    out = pd.DataFrame(index=index)
    out["customers"] = 1
    out["revenue_12m"] = snap["revenue_12m"].astype("float64")

    from segkit.engine import sql_time, table_rows

    # only the orders of the windows below come into pandas (the 12 months, and two periods)
    oldest = months_before(as_of, max(12, 2 * months))
    tx = table_rows(ds, "transactions", f"amount > 0 AND order_date > {sql_time(oldest)} AND order_date <= {sql_time(as_of)}",
                    ["customer_id", "order_date", "amount"])
    tx = tx.loc[(tx["order_date"] <= as_of) & (tx["amount"] > 0), ["customer_id", "order_date", "amount"]]
    in_12m = month_window(tx["order_date"], as_of, 0, 12)
    cur = month_window(tx["order_date"], as_of, 0, months)
    prev = month_window(tx["order_date"], as_of, months, 2 * months)
    orders = pd.DataFrame({
        "gross_12m": tx["amount"].where(in_12m, 0.0),
        "orders_12m": in_12m.astype("int64"),
        "orders_cur": cur.astype("int64"),
        "orders_prev": prev.astype("int64"),
    }).groupby(tx["customer_id"]).sum().reindex(index, fill_value=0)
    buyer = orders["orders_12m"] >= 1
    out["gross_12m"] = orders["gross_12m"]
    out["orders_12m"] = orders["orders_12m"]
    out["buyers_12m"] = buyer.astype("int64")
    out["repeat_buyers_12m"] = (orders["orders_12m"] >= 2).astype("int64")
    active_prev = orders["orders_prev"] >= 1
    out["retention_base"] = active_prev.astype("int64")
    out["retained"] = (active_prev & (orders["orders_cur"] >= 1)).astype("int64")
    out["product_lines_buyers"] = snap["product_lines_12m"].where(buyer, 0).astype("int64")
    out["repeat_revenue_12m"] = out["revenue_12m"].where(orders["orders_12m"] >= 2, 0.0)
    out["interactions_6m"] = snap["interactions_6m"].astype("int64")

    # surveys: the latest answer per customer and measure in the window
    sv = table_rows(ds, "surveys", f"date > {sql_time(months_before(as_of, cfg.surveys.window_months))} AND date <= {sql_time(as_of)}",
                    ["customer_id", "date", "nps", "satisfaction"])
    sv = sv.loc[month_window(sv["date"], as_of, 0, cfg.surveys.window_months)]
    sv = sv.sort_values(["customer_id", "date"], kind="stable")
    nps = sv.dropna(subset=["nps"]).groupby("customer_id")["nps"].last().reindex(index).astype("float64")
    sat = sv.dropna(subset=["satisfaction"]).groupby("customer_id")["satisfaction"].last().reindex(index)
    out["nps_responses"] = nps.notna().astype("int64")
    out["promoters"] = (nps >= cfg.nps.promoter_min).astype("int64")
    out["detractors"] = (nps <= cfg.nps.detractor_max).astype("int64")
    out["satisfaction_responses"] = sat.notna().astype("int64")
    out["satisfaction_sum"] = sat.fillna(0.0).astype("float64")

    # complaints in the window; resolution time over those resolved by as_of
    start = months_before(as_of, cfg.complaints.window_months)
    it = table_rows(ds, "interactions", f"type = 'complaint' AND date > {sql_time(start)} AND date <= {sql_time(as_of)}",
                    ["customer_id", "type", "date", "resolved_date"])
    complaints = it.loc[(it["type"] == "complaint")
                        & month_window(it["date"], as_of, 0, cfg.complaints.window_months)]
    out["complainants"] = pd.Series(index.isin(complaints["customer_id"].unique()), index=index).astype("int64")
    if "resolved_date" in complaints.columns:
        done = complaints.loc[complaints["resolved_date"].notna() & (complaints["resolved_date"] <= as_of)]
        days = (done["resolved_date"] - done["date"]).dt.days.astype("float64")
    else:
        done, days = complaints.iloc[:0], pd.Series(dtype="float64")
    out["resolved_complaints"] = days.groupby(done["customer_id"]).size().reindex(index, fill_value=0).astype("int64")
    out["resolution_days_sum"] = days.groupby(done["customer_id"]).sum().reindex(index, fill_value=0.0)
    return out


def _ratios(sums: pd.DataFrame, revenue_total: float) -> pd.DataFrame:
    """KPI columns from the sums of :func:`_per_customer` (one row per group)."""

    def ratio(num: pd.Series, den: pd.Series) -> pd.Series:
        return (num / den.where(den > 0)).astype("float64")

    out = pd.DataFrame(index=sums.index)
    out["customers"] = sums["customers"].astype("int64")
    out["revenue_12m"] = sums["revenue_12m"].round(2)
    out["revenue_share"] = (sums["revenue_12m"] / revenue_total) if revenue_total else np.nan
    out["buyers_12m"] = sums["buyers_12m"].astype("int64")
    out["retention_base"] = sums["retention_base"].astype("int64")
    out["retention_rate"] = ratio(sums["retained"], sums["retention_base"])
    out["repurchase_rate"] = ratio(sums["repeat_buyers_12m"], sums["buyers_12m"])
    out["avg_order_value"] = ratio(sums["gross_12m"], sums["orders_12m"])
    out["interactions_per_customer"] = ratio(sums["interactions_6m"], sums["customers"])
    out["nps"] = 100.0 * ratio(sums["promoters"] - sums["detractors"], sums["nps_responses"])
    out["nps_responses"] = sums["nps_responses"].astype("int64")
    out["satisfaction"] = ratio(sums["satisfaction_sum"], sums["satisfaction_responses"])
    out["cross_sell_rate"] = ratio(sums["product_lines_buyers"], sums["buyers_12m"])
    out["repeat_revenue_share"] = ratio(sums["repeat_revenue_12m"], sums["revenue_12m"])
    out["complaint_rate"] = ratio(sums["complainants"], sums["customers"])
    out["resolution_days"] = ratio(sums["resolution_days_sum"], sums["resolved_complaints"])
    if "clv" in sums.columns:
        out["clv"] = ratio(sums["clv"], sums["clv_customers"])
    if "clv_now_both" in sums.columns:
        out["clv_growth"] = ratio(sums["clv_now_both"], sums["clv_prev_both"]) - 1.0
    return out


# --- the KPI table -------------------------------------------------------------------------


def kpis(
    ds: Dataset,
    as_of: Any = None,
    by: str | None = "tier",
    tiers: pd.DataFrame | pd.Series | None = None,
    clv: pd.DataFrame | pd.Series | None = None,
    period: str = "Q",
    *,
    clv_prev: pd.DataFrame | pd.Series | None = None,
    snap: pd.DataFrame | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """KPIs per group of customers, with a total row.

    Windows are the snapshot's month windows, closed on the right: "12 months" is
    ``(as_of - 12 months, as_of]``; the current period is the last ``period`` (a quarter by
    default) and the previous period the one before it. Orders count when their amount is
    positive; revenue is net of refunds.

    Definitions (rates are fractions 0-1; NPS is -100..100):

    - ``customers``: customers in the group (all rows of the customers table).
    - ``revenue_12m``: 12-month revenue, net of refunds; ``revenue_share``: the group's
      share of the 12-month revenue of all customers.
    - ``buyers_12m``: customers with at least one positive order in 12 months.
    - ``retention_rate`` (客户留存率): of the customers *active* in the previous period
      (``retention_base``; active = at least one positive order in the period), the share
      active again in the current period.
    - ``repurchase_rate`` (复购率): of the buyers of the last 12 months, the share with two or
      more positive orders in those 12 months.
    - ``avg_order_value`` (客单价): amount of the positive orders of 12 months divided by
      their number (order-weighted; refunds excluded).
    - ``interactions_per_customer``: interactions of the last 6 months per customer (every
      interaction type except a key-contact change).
    - ``nps`` (净推荐值): % promoters (score 9-10) minus % detractors (0-6) among the
      customers with a score in the last 12 months, each counted once with their latest
      answer; ``nps_responses``: how many such customers.
    - ``satisfaction``: mean of each customer's latest satisfaction score (0-100) in the
      last 12 months.
    - ``cross_sell_rate`` (交叉销售率): distinct product lines bought in 12 months per buyer.
    - ``repeat_revenue_share``: share of the 12-month revenue from repeat customers, the
      customers counted as repurchasing above (two or more positive orders in 12 months).
    - ``complaint_rate``: share of customers with at least one complaint in 12 months.
    - ``resolution_days``: mean days from complaint to resolved date over the complaints of
      the last 12 months resolved by ``as_of`` (NaN when none is resolved or the
      interactions carry no ``resolved_date``).
    - ``clv`` (when ``clv`` is given): mean CLV of the customers that have one;
      ``clv_growth`` (when ``clv_prev`` is also given): sum of CLV over the sum of the
      previous CLV, minus 1, over customers with both.

    A ratio whose denominator is 0 is NaN. Windows, thresholds and texts come from the
    ``kpi`` configuration; :func:`kpi_definitions` prints these definitions in zh or en.

    Parameters
    ----------
    ds : Dataset
        From :func:`segkit.load_dataset`.
    as_of : date-like, optional
        Default: the data set's as-of date. Only records dated on or before it are used.
    by : str or None, default "tier"
        Group by this snapshot column (``region`` 注册地区, ``industry``, ``owner``, ``department``, ...), or by a
        column of ``tiers`` (``tier``, ``rule_tier``, ...). None gives the total row only.
    tiers : DataFrame or Series, optional
        Indexed by customer_id, e.g. from :func:`segkit.assign_tiers`. When ``by="tier"``
        and no tiers are given, they are assigned with the default rules.
    clv, clv_prev : DataFrame or Series, optional
        CLV per customer this period and the previous one (a table's ``clv`` column).
    period : {"M", "Q", "H", "Y"}, default "Q"
        Length of the retention period: month, quarter, half-year, year.
    snap : DataFrame, optional
        ``segkit.snapshot(ds, as_of)`` if already computed (saves computing it again).
    config : path, mapping or KpiConfig, optional

    Returns
    -------
    DataFrame
        One row per group (tiers in tier order, other keys sorted) and a last row
        ``total``; columns :data:`KPI_COLUMNS` (``clv`` / ``clv_growth`` only when given).
        ``attrs`` hold ``as_of``, ``period``, ``current_period`` and ``previous_period``
        (``(start, end]`` timestamps) and ``by``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                          # doctest: +SKIP
    >>> kpis(ds, "2026-09-30", by="industry")[["customers", "retention_rate", "nps"]]  # doctest: +SKIP
    """
    cfg = load_kpi_config(config)
    months = _period(cfg, period).months
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    if snap is None:
        snap = snapshot(ds, as_of)
    elif snap.attrs.get("as_of") is not None and pd.Timestamp(snap.attrs["as_of"]) != as_of:
        raise ValueError(f"the snapshot is as of {pd.Timestamp(snap.attrs['as_of']).date()}, "
                         f"not {as_of.date()}; pass the snapshot of the same date")
    keys, order = _groups(snap, by, tiers)
    per = _per_customer(ds, snap, as_of, months, cfg)

    if clv is not None:
        now = _as_series(clv, "clv", "clv").reindex(per.index).astype("float64")
        per["clv"] = now.fillna(0.0)
        per["clv_customers"] = now.notna().astype("int64")
        if clv_prev is not None:
            before = _as_series(clv_prev, "clv", "clv_prev").reindex(per.index).astype("float64")
            both = now.notna() & before.notna()
            per["clv_now_both"] = now.where(both, 0.0)
            per["clv_prev_both"] = before.where(both, 0.0)
    elif clv_prev is not None:
        raise ValueError("clv_prev needs clv: pass this period's CLV as clv= as well")

    sums = per.groupby(keys, sort=True).sum()
    if order:
        sums = sums.reindex([k for k in order if k in sums.index] + [k for k in sums.index if k not in order])
    total = per.sum().to_frame(TOTAL).T
    sums = pd.concat([sums, total]) if by is not None else total
    out = _ratios(sums, float(per["revenue_12m"].sum()))
    out.index = out.index.astype("str")
    out.index.name = by if by is not None else "group"
    out.attrs = {
        "as_of": as_of,
        "by": by,
        "period": period,
        "current_period": (months_before(as_of, months), as_of),
        "previous_period": (months_before(as_of, 2 * months), months_before(as_of, months)),
    }
    return out


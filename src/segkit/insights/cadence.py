"""Record-maintenance cadence (档案维护): which customer records are overdue for a refresh.

business-rules.md section 9: records are refreshed by tier cadence (core monthly, potential
quarterly, ordinary and low value half-yearly), contact changes are recorded within 3
working days and contract status changes within 24 hours; overdue records are flagged.
:func:`cadence_report` checks every customer against the first two rules (the data carry no
dated contract-status events, so the third cannot be checked from them) and
:func:`cadence_summary` counts the overdue records per owner; at the edge,
:func:`cadence_reasons` says why each record is overdue, in words.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.io import Dataset
from segkit.labels import check_lang

__all__ = ["CadenceConfig", "load_cadence_config", "cadence_report", "cadence_summary", "cadence_reasons"]

CONTACT_CHANGE = "key_contact_change"


class _Text(StrictModel):
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


class _Reasons(StrictModel):
    interval: _Text
    never: _Text
    contact_change: _Text
    unknown: _Text
    interval_months: _Text
    interval_one_month: _Text


@register_section("cadence")
class CadenceConfig(StrictModel):
    """The ``cadence`` configuration section (``segkit/defaults/cadence.yaml``)."""

    refresh_months: dict[str, int]
    default_months: int = Field(ge=1)
    contact_change_working_days: int = Field(ge=0)
    contract_status_hours: int = Field(ge=0)
    holidays: list[str] = []
    reasons: _Reasons


def load_cadence_config(config: str | Path | Mapping[str, Any] | None = None) -> CadenceConfig:
    """The ``cadence`` section, checked against the ``strategy`` section's cadences.

    The refresh interval of each tier also appears in the strategy configuration (the
    cadence shown in the per-tier strategy table); the two must agree, so a user
    configuration that changes one without the other is refused with both keys named.

    Examples
    --------
    >>> load_cadence_config().refresh_months
    {'core': 1, 'potential': 3, 'ordinary': 6, 'low_value': 6}
    >>> load_cadence_config({"cadence": {"refresh_months": {"core": 2}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: cadence.refresh_months.core is 2 month(s) but strategy.tiers.core.cadence is 'monthly' (1 month(s)); set both to the same interval
    """
    from segkit.insights.strategy import load_strategy

    cfg = load_section("cadence", CadenceConfig, config)
    for tier, months in cfg.refresh_months.items():
        if months < 1:
            raise ConfigError(f"cadence.refresh_months.{tier} must be at least 1 month, got {months}")
    for day in cfg.holidays:
        if pd.isna(pd.to_datetime(day, format="%Y-%m-%d", errors="coerce")):
            raise ConfigError(f"cadence.holidays: {day!r} is not a date (use YYYY-MM-DD)")
    strategy = load_strategy(config)
    for tier, plan in strategy.tiers.items():
        months = strategy.cadences[plan.cadence].months
        mine = cfg.refresh_months.get(tier)
        if mine is None:
            raise ConfigError(f"cadence.refresh_months has no interval for tier {tier!r} "
                              f"(strategy.tiers.{tier}.cadence is {plan.cadence!r}); add it")
        if mine != months:
            raise ConfigError(f"cadence.refresh_months.{tier} is {mine} month(s) but strategy.tiers.{tier}.cadence "
                              f"is {plan.cadence!r} ({months} month(s)); set both to the same interval")
    for key in ("contact_change_working_days", "contract_status_hours"):
        if getattr(cfg, key) != getattr(strategy.record_refresh, key):
            raise ConfigError(f"cadence.{key} is {getattr(cfg, key)} but strategy.record_refresh.{key} is "
                              f"{getattr(strategy.record_refresh, key)}; set both to the same value")
    return cfg


def _tier_keys(tiers: pd.DataFrame | pd.Series, index: pd.Index) -> pd.Series:
    keys = tiers["tier"] if isinstance(tiers, pd.DataFrame) else tiers
    if isinstance(tiers, pd.DataFrame) and "tier" not in tiers.columns:
        raise ValueError(f"the tiers table has no 'tier' column; columns: {list(tiers.columns)}")
    unknown = keys.index.difference(index)
    if len(unknown):
        raise ValueError(f"the tiers table has {len(unknown)} customer(s) not in the data "
                         f"(ids: {', '.join(map(str, unknown[:5]))}); take it from the same data set")
    return keys.reindex(index)


def _day(ts: Any) -> str:
    return "" if pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


def cadence_report(
    ds: Dataset,
    tiers: pd.DataFrame | pd.Series | None = None,
    as_of: Any = None,
    *,
    config: Any = None,
) -> pd.DataFrame:
    """Per customer: required refresh interval, last update and contact, overdue or not.

    A record is **due** ``refresh_months`` after its last update (``record_updated``; core
    1 month, potential 3, ordinary and low value 6 by default; month ends stay month ends,
    as in the snapshot's windows: a core record updated on 2026-06-30 is due on 2026-07-31,
    one updated on 2026-07-15 on 2026-08-15). When a key-contact
    change (interaction type ``key_contact_change``) happened after the last update, the
    record is due ``contact_change_working_days`` working days (Monday-Friday, minus the
    configured holidays; default 3) after the change, if that is earlier. A record is
    **overdue** when ``as_of`` is after its due date; ``days_overdue`` counts calendar days
    since then. A record without an update date is overdue (``days_overdue`` missing); one
    updated after ``as_of`` has an unknown status (``overdue`` missing) -- the customers
    table keeps only the latest update date.

    Parameters
    ----------
    ds : Dataset
    tiers : DataFrame or Series, optional
        Indexed by customer_id with a ``tier`` column (e.g. :func:`segkit.assign_tiers`);
        by default the tiers are assigned from the snapshot at ``as_of``. Customers without a
        tier get ``default_months``.
    as_of : date-like, optional
        Default: the data set's as-of date.
    config : path, mapping, optional
        User configuration (sections ``cadence`` and ``strategy``).

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``tier``, ``owner``, ``department``,
        ``refresh_months``, ``record_updated``, ``last_contact`` (latest interaction other
        than a key-contact change, on or before ``as_of``), ``days_since_contact``,
        ``pending_contact_change`` (earliest key-contact change after the last update),
        ``due_refresh`` (by the tier's interval), ``due_contact_change`` (by the working
        days after a pending change), ``due_date`` (the earlier of the two), ``overdue``
        (boolean, missing when unknown), ``days_overdue`` (Int64). Sorted as the customers
        table. Keys, dates and numbers: :func:`cadence_reasons` says why in words.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                 # doctest: +SKIP
    >>> report = cadence_report(ds, as_of="2026-09-30")        # doctest: +SKIP
    >>> cadence_summary(report)                                # doctest: +SKIP
    """
    cfg = load_cadence_config(config)
    as_of = pd.Timestamp(as_of if as_of is not None else ds.as_of).normalize()
    customers = ds.customers.drop_duplicates("customer_id").set_index("customer_id")
    index = customers.index
    if tiers is None:
        from segkit.features import snapshot
        from segkit.segment.tiers import assign_tiers

        tiers = assign_tiers(snapshot(ds, as_of))
    tier = _tier_keys(tiers, index)
    unknown = sorted(set(tier.dropna()) - set(cfg.refresh_months))
    if unknown:
        raise ValueError(f"no refresh interval for tier(s) {unknown}; cadence.refresh_months has "
                         f"{sorted(cfg.refresh_months)}")
    months = tier.map(cfg.refresh_months).fillna(cfg.default_months).astype("int64")

    out = pd.DataFrame(index=index)
    out["tier"] = tier.astype("object").where(tier.notna(), "").astype("str")
    for col in ("owner", "department"):
        out[col] = customers[col] if col in customers.columns else pd.Series(pd.NA, index=index, dtype="str")
    out["refresh_months"] = months
    updated = customers["record_updated"] if "record_updated" in customers.columns else pd.Series(pd.NaT, index=index)
    updated = pd.to_datetime(updated).astype("datetime64[ns]")
    out["record_updated"] = updated

    from segkit.engine import sql_time, table_rows

    # what comes into pandas: the key-contact changes, and each customer's latest other contact
    until = sql_time(as_of)
    latest = (f"SELECT customer_id, max(date) FROM accepted_interactions WHERE date <= {until} "
              f"AND type IS DISTINCT FROM '{CONTACT_CHANGE}' GROUP BY customer_id")
    it = table_rows(ds, "interactions", f"date <= {until} AND (type = '{CONTACT_CHANGE}' OR (customer_id, date) IN ({latest}))",
                    ["customer_id", "type", "date"])
    it = it.loc[it["date"] <= as_of]
    contact = it.loc[it["type"] != CONTACT_CHANGE]
    out["last_contact"] = contact.groupby("customer_id")["date"].max().reindex(index).astype("datetime64[ns]")
    out["days_since_contact"] = (as_of - out["last_contact"]).dt.days.astype("Int64")

    changes = it.loc[it["type"] == CONTACT_CHANGE, ["customer_id", "date"]]
    changes = changes.assign(updated=changes["customer_id"].map(updated))
    pending = changes.loc[changes["updated"].isna() | (changes["date"] > changes["updated"])]
    out["pending_contact_change"] = pending.groupby("customer_id")["date"].min().reindex(index).astype("datetime64[ns]")

    # due dates: calendar months after the update; working days after a pending contact change
    due_interval = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    known = updated.notna() & (updated <= as_of)
    month_end = updated.dt.is_month_end.fillna(False).astype(bool)
    for n in months[known].unique():
        rows = known & (months == n)
        due_interval[rows] = updated[rows] + pd.DateOffset(months=int(n))
        ends = rows & month_end  # a month end stays a month end (2026-06-30 -> 2026-07-31)
        due_interval[ends] = (updated[ends].dt.to_period("M") + int(n)).dt.to_timestamp(how="end").dt.normalize()
    change_days = out["pending_contact_change"]
    due_change = pd.Series(pd.NaT, index=index, dtype="datetime64[ns]")
    has_change = change_days.notna()
    if has_change.any():
        holidays = np.array(cfg.holidays, dtype="datetime64[D]")
        shifted = np.busday_offset(change_days[has_change].to_numpy().astype("datetime64[D]"),
                                   cfg.contact_change_working_days, roll="forward", holidays=holidays)
        due_change[has_change] = pd.to_datetime(shifted)
    due = pd.concat([due_interval, due_change], axis=1).min(axis=1)
    out["due_refresh"] = due_interval
    out["due_contact_change"] = due_change
    out["due_date"] = due.astype("datetime64[ns]")

    after = updated.notna() & (updated > as_of)
    never = updated.isna()
    late = due.notna() & (as_of > due)
    overdue = pd.Series(late | never, index=index, dtype="boolean")
    overdue[after] = pd.NA
    out["overdue"] = overdue
    days = (as_of - due).dt.days.where(late)
    out["days_overdue"] = days.where(late, 0).where(~never & ~after).astype("Int64")

    out.attrs = {"as_of": as_of, "contract_status_hours": cfg.contract_status_hours}
    return out


def cadence_reasons(report: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.Series:
    """Why each record of a :func:`cadence_report` is overdue (or its status unknown), in words.

    The edge where the report's dates become sentences (``cadence.yaml`` ``reasons``): the
    interval missed, the key-contact change not recorded in time, no update date, or an
    update after the report's date; "" for a record on time.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.Timestamp
    >>> report = pd.DataFrame({
    ...     "refresh_months": [1, 6, 3], "record_updated": [t("2026-06-30"), pd.NaT, t("2026-09-01")],
    ...     "pending_contact_change": [pd.NaT, pd.NaT, t("2026-09-21")],
    ...     "due_refresh": [t("2026-07-31"), pd.NaT, t("2026-12-01")],
    ...     "due_contact_change": [pd.NaT, pd.NaT, t("2026-09-24")]}, index=["C1", "C2", "C3"])
    >>> report.attrs["as_of"] = t("2026-09-30")
    >>> cadence_reasons(report, "en").tolist()  # doctest: +NORMALIZE_WHITESPACE
    ['record not updated for more than 1 month (last update 2026-06-30, due 2026-07-31)',
     'the record has no update date',
     'key-contact change on 2026-09-21 not recorded within 3 working days (due 2026-09-24)']
    """
    check_lang(lang)
    cfg = load_cadence_config(config)
    as_of = pd.Timestamp(report.attrs["as_of"])
    reasons = cfg.reasons
    rows_reason = []
    for n, up, d_int, chg, d_chg in zip(report["refresh_months"], report["record_updated"], report["due_refresh"],
                                        report["pending_contact_change"], report["due_contact_change"]):
        parts = []
        if pd.isna(up):
            parts.append(reasons.never.text(lang))
        elif up > as_of:
            parts.append(reasons.unknown.text(lang).format(date=_day(up)))
        elif not pd.isna(d_int) and as_of > d_int:
            unit = reasons.interval_one_month if n == 1 else reasons.interval_months
            parts.append(reasons.interval.text(lang).format(interval=unit.text(lang).format(n=n), date=_day(up),
                                                            due=_day(d_int)))
        if not pd.isna(d_chg) and as_of > d_chg and not (not pd.isna(up) and up > as_of):
            parts.append(reasons.contact_change.text(lang).format(date=_day(chg), days=cfg.contact_change_working_days,
                                                                  due=_day(d_chg)))
        rows_reason.append(("；" if lang == "zh" else "; ").join(parts))
    return pd.Series(rows_reason, index=report.index, dtype="str", name="reason")


def cadence_summary(report: pd.DataFrame, by: str = "owner") -> pd.DataFrame:
    """Overdue records per owner (or department, or tier), with a total row.

    Parameters
    ----------
    report : DataFrame
        From :func:`cadence_report`.
    by : str, default "owner"
        A column of the report: ``owner``, ``department``, ``tier``.

    Returns
    -------
    DataFrame
        Indexed by ``by`` (most overdue first, then a ``total`` row): ``customers``,
        ``overdue``, ``overdue_share``, ``never_updated``, ``status_unknown``,
        ``max_days_overdue``, ``median_days_overdue`` (over the overdue records with a date).

    Examples
    --------
    >>> import pandas as pd
    >>> report = pd.DataFrame({"owner": ["Wang", "Wang", "Li"],
    ...                        "overdue": pd.array([True, False, True], dtype="boolean"),
    ...                        "days_overdue": pd.array([12, 0, pd.NA], dtype="Int64"),
    ...                        "record_updated": pd.to_datetime(["2026-01-02", "2026-09-01", None])})
    >>> cadence_summary(report)[["customers", "overdue", "never_updated", "max_days_overdue"]]
           customers  overdue  never_updated  max_days_overdue
    owner                                                     
    Li             1        1              1              <NA>
    Wang           2        1              0                12
    total          3        2              1                12
    """
    if by not in report.columns:
        raise ValueError(f"the report has no column {by!r}; columns: {list(report.columns)}")
    keys = report[by].astype("object").where(report[by].notna(), "(missing)").astype("str")
    frame = pd.DataFrame({
        "customers": 1,
        "overdue": report["overdue"].fillna(False).astype("int64"),
        "never_updated": report["record_updated"].isna().astype("int64"),
        "status_unknown": report["overdue"].isna().astype("int64"),
        "days": report["days_overdue"].where(report["overdue"].fillna(False).astype(bool)).astype("Float64"),
    }, index=report.index)

    def summarise(part: pd.DataFrame) -> dict[str, Any]:
        days = part["days"].dropna()
        return {
            "customers": int(part["customers"].sum()),
            "overdue": int(part["overdue"].sum()),
            "overdue_share": part["overdue"].sum() / len(part) if len(part) else np.nan,
            "never_updated": int(part["never_updated"].sum()),
            "status_unknown": int(part["status_unknown"].sum()),
            "max_days_overdue": int(days.max()) if len(days) else pd.NA,
            "median_days_overdue": float(days.median()) if len(days) else np.nan,
        }

    rows = {key: summarise(part) for key, part in frame.groupby(keys, sort=True)}
    out = pd.DataFrame.from_dict(rows, orient="index")
    if len(out):
        out = out.sort_values(["overdue", "overdue_share"], ascending=False, kind="stable")
    out.loc["total"] = summarise(frame)
    out["max_days_overdue"] = out["max_days_overdue"].astype("Int64")
    for col in ("customers", "overdue", "never_updated", "status_unknown"):
        out[col] = out[col].astype("int64")
    out.index.name = by
    return out

"""Who to call first, by whom, by when: the churn action list ordered by value at stake.

A list sorted by churn probability puts first the small accounts that stopped buying long
ago. This one is sorted by what the company stands to lose, ``value at stake =
churn probability x value`` (12-month revenue, or CLV when given), so the largest exposure
is at the top. Each customer gets its tier's at-risk action from the strategy configuration
(``strategy.tiers.<tier>.at_risk``, business-rules.md sections 8 and 9): a core customer a
senior-management visit within 72 hours, a low-value customer an automated recall and no
personal call (section 9: stop investing), the others the recall process within 24 hours.
The due date is the as-of date plus the action's response time.

:func:`owner_lists` splits the list per account owner (客户负责人); :func:`write_owner_lists`
writes one spreadsheet per owner with segkit's injection-safe writer, contact details
masked unless the report's scope allows them.

Functions here return numbers and keys; words for people are added at the edge.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from segkit.insights.strategy import at_risk_customers, load_strategy, respond_within_days
from segkit.periods import parse_date

__all__ = ["VALUES", "CONTACT_COLUMNS", "action_list", "owner_lists", "write_owner_lists"]

#: What the value at stake multiplies the churn probability by.
VALUES = ("revenue_12m", "clv")
#: Snapshot columns copied into the list so an owner can act on it (masked when written
#: beyond the owner, see :func:`write_owner_lists`).
CONTACT_COLUMNS = ("name", "contact_name", "contact_title", "phone", "email")
#: Columns of the churn scores passed through when present (reason keys and signal counts).
REASON_COLUMNS = ("risk_level", "reason_keys", "signal_keys", "n_signals", "high_risk_rule")


def _ids(ids: pd.Index) -> str:
    return f"{len(ids)} customer(s) ({', '.join(map(str, ids[:5]))}{', ...' if len(ids) > 5 else ''})"


def _value(value: str, snapshot: pd.DataFrame, clv: Any, ids: pd.Index) -> pd.Series:
    if value not in VALUES:
        raise ValueError(f"value must be one of {list(VALUES)}, got {value!r}")
    if value == "revenue_12m":
        if "revenue_12m" not in snapshot.columns:
            raise ValueError(f"the snapshot has no 'revenue_12m' column; columns: {list(snapshot.columns)[:12]}")
        source = snapshot["revenue_12m"]
    else:
        if clv is None:
            raise ValueError("value='clv' needs clv= (a Series, or a table with a 'clv' column, by customer_id)")
        if isinstance(clv, pd.DataFrame):
            if "clv" not in clv.columns:
                raise ValueError(f"the clv table has no 'clv' column; columns: {list(clv.columns)}")
            clv = clv["clv"]
        source = clv
    missing = ids.difference(source.index)
    if len(missing):
        raise ValueError(f"{_ids(missing)} at risk have no {value}; take it from the same data")
    amount = pd.to_numeric(source.reindex(ids), errors="coerce").astype(float)
    if amount.isna().any():
        bad = ids[amount.isna().to_numpy()]
        raise ValueError(f"{value} is missing or not a number for {_ids(bad)}")
    return amount


def action_list(
    scores: pd.DataFrame,
    tiers: pd.DataFrame | pd.Series,
    snapshot: pd.DataFrame,
    *,
    value: str = "revenue_12m",
    clv: pd.Series | pd.DataFrame | None = None,
    as_of: Any = None,
    threshold: float | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """One row per customer at churn risk, the largest value at stake first.

    Parameters
    ----------
    scores : DataFrame
        Churn scores indexed by customer_id (:func:`segkit.score_churn`):
        ``churn_probability`` and ``risk_level``.
    tiers : DataFrame or Series
        Tier per customer (column ``tier``, :func:`segkit.assign_tiers`).
    snapshot : DataFrame
        The snapshot the scores were made on: ``owner``, ``department``,
        ``revenue_12m`` and the contact columns in :data:`CONTACT_COLUMNS` when present.
    value : {"revenue_12m", "clv"}, default "revenue_12m"
        What is at stake: 12-month revenue, or the CLV passed as ``clv``.
    clv : Series or DataFrame with a ``clv`` column, optional
        Needed for ``value="clv"``.
    as_of : date-like, optional
        The date the deadlines count from; default ``scores.attrs["as_of"]``.
    threshold : float, optional
        At risk means ``churn_probability >= threshold``; default: the scores' high risk
        level (:func:`segkit.insights.strategy.at_risk_customers`).
    config : path, mapping or StrategyConfig, optional

    Returns
    -------
    DataFrame
        Columns ``customer_id``, ``tier``, ``owner``, ``department``,
        ``churn_probability``, ``value_12m`` (the chosen value), ``value_at_stake``
        (probability x value), ``action_key`` (a ``strategy.win_back`` key),
        ``owner_role``, ``respond_within_days``, ``due_date``, then the reason columns the
        scores carry (``risk_level``, ``n_signals``, ...) and the contact columns. Sorted by
        ``value_at_stake`` descending, ties by ``customer_id``; ``attrs`` holds ``as_of``,
        ``value`` and ``threshold``.

    Examples
    --------
    >>> import pandas as pd
    >>> ids = pd.Index(["C1", "C2", "C3"], name="customer_id")
    >>> scores = pd.DataFrame({"churn_probability": [0.9, 0.6, 0.2], "risk_level": ["high", "high", "low"]}, index=ids)
    >>> snap = pd.DataFrame({"owner": ["王", "李", "李"], "department": ["华东", "华东", "华东"],
    ...                      "revenue_12m": [1_000.0, 500_000.0, 9_000.0]}, index=ids)
    >>> tiers = pd.Series(["low_value", "core", "ordinary"], index=ids, name="tier")
    >>> a = action_list(scores, tiers, snap, as_of="2026-09-30")
    >>> a[["customer_id", "value_at_stake", "action_key", "respond_within_days"]].values.tolist()
    [['C2', 300000.0, 'core_at_risk', 3], ['C1', 900.0, 'automated', 7]]
    >>> a["due_date"].dt.strftime("%Y-%m-%d").tolist()
    ['2026-10-03', '2026-10-07']
    """
    cfg = load_strategy(config)
    if as_of is None:
        as_of = scores.attrs.get("as_of") if isinstance(scores, pd.DataFrame) else None
        if as_of is None:
            raise ValueError("as_of is needed (the date deadlines count from): pass as_of= or scores with attrs['as_of']")
    when = parse_date(as_of, "as_of").normalize()
    ids = at_risk_customers(scores, threshold)
    if "churn_probability" not in scores.columns:
        raise ValueError(f"the scores have no 'churn_probability' column; columns: {list(scores.columns)}")
    table = tiers.to_frame("tier") if isinstance(tiers, pd.Series) else tiers
    if "tier" not in table.columns:
        raise ValueError(f"the tiers table has no 'tier' column; columns: {list(table.columns)}")
    for what, index in (("tiers table", table.index), ("snapshot", snapshot.index)):
        missing = ids.difference(index)
        if len(missing):
            raise ValueError(f"{_ids(missing)} at risk are not in the {what}; take it from the same data")
    tier = table["tier"].reindex(ids).astype("str")
    unknown = sorted(set(tier) - set(cfg.tiers))
    if unknown:
        raise ValueError(f"no strategy for tier(s) {unknown}; strategy.tiers has {list(cfg.tiers)}")

    probability = pd.to_numeric(scores["churn_probability"].reindex(ids), errors="coerce").astype(float)
    amount = _value(value, snapshot, clv, ids)
    action = tier.map({t: plan.at_risk for t, plan in cfg.tiers.items()})
    days = action.map({k: respond_within_days(k, cfg) for k in cfg.win_back}).astype("int64")

    def snap_col(name: str) -> pd.Series:
        if name in snapshot.columns:
            return snapshot[name].reindex(ids)
        if name in scores.columns:
            return scores[name].reindex(ids)
        return pd.Series(pd.NA, index=ids, dtype="str")

    out = pd.DataFrame({
        "customer_id": pd.Series(ids.astype(str), index=ids, dtype="str"),
        "tier": tier,
        "owner": snap_col("owner").astype("str"),
        "department": snap_col("department").astype("str"),
        "churn_probability": probability,
        "value_12m": amount,
        "value_at_stake": probability * amount,
        "action_key": action.astype("str"),
        "owner_role": action.map({k: w.owner_role for k, w in cfg.win_back.items()}).astype("str"),
        "respond_within_days": days,
        "due_date": when + pd.to_timedelta(days, unit="D"),
    }, index=ids)
    for col in REASON_COLUMNS:
        if col in scores.columns:
            out[col] = scores[col].reindex(ids)
    for col in CONTACT_COLUMNS:
        if col in snapshot.columns:
            out[col] = snapshot[col].reindex(ids)
    out = out.reset_index(drop=True)
    out = out.sort_values(["value_at_stake", "customer_id"], ascending=[False, True], kind="stable", ignore_index=True)
    out.attrs = {"as_of": when, "value": value, "threshold": threshold}
    return out


def owner_lists(actions: pd.DataFrame) -> dict[str | None, pd.DataFrame]:
    """Split an action list per account owner; each list keeps the value-at-stake order.

    Owners are in name order; customers without an owner are under ``None`` (last). Every
    row of ``actions`` is in exactly one list.

    Examples
    --------
    >>> import pandas as pd
    >>> a = pd.DataFrame({"customer_id": ["C2", "C1", "C3"], "owner": ["李", "王", None],
    ...                   "value_at_stake": [30.0, 20.0, 10.0]})
    >>> {k: v["customer_id"].tolist() for k, v in owner_lists(a).items()}
    {'李': ['C2'], '王': ['C1'], None: ['C3']}
    """
    if "owner" not in actions.columns:
        raise ValueError(f"the action list has no 'owner' column; columns: {list(actions.columns)}")
    owner = actions["owner"].astype("str").str.strip()
    owner = owner.where(owner.ne("") & owner.notna())
    lists: dict[str | None, pd.DataFrame] = {}
    for name in sorted(owner.dropna().unique()):
        lists[str(name)] = actions.loc[(owner == name).fillna(False).to_numpy()].reset_index(drop=True)
    if owner.isna().any():
        lists[None] = actions.loc[owner.isna().to_numpy()].reset_index(drop=True)
    return lists


def write_owner_lists(actions: pd.DataFrame, folder: str | Path, *, mask: bool = True,
                      present: Callable[[pd.DataFrame], pd.DataFrame] | None = None) -> dict[str | None, Path]:
    """Write one XLSX per account owner into ``folder``, spreadsheet-injection safe.

    Parameters
    ----------
    actions : DataFrame
        From :func:`action_list`.
    folder : str or Path
        Created when missing; files are ``actions-<owner>.xlsx`` (the file-safe owner name
        the department reports use) and ``actions-no-owner.xlsx``.
    mask : bool, default True
        Mask contact names, phones, e-mails and credit codes
        (:func:`segkit.access.mask_pii`). Pass False only when the files go to the owners
        themselves, i.e. the report's scope is that owner.
    present : callable, optional
        Applied to each owner's (masked) table before it is written: the edge's words for
        people (the reports pass :func:`segkit.reporting.quarterly_actions.for_people`).
        None writes the keys and numbers as they are.

    Returns
    -------
    dict
        Owner (None for customers without one) -> path written.
    """
    from segkit.access import mask_pii
    from segkit.writers import file_slug, write_table

    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ValueError(f"{folder} is a file; write_owner_lists needs a folder")
    lists = owner_lists(actions)
    stems: dict[str | None, str] = {}
    for owner in lists:
        stem = "actions-no-owner" if owner is None else f"actions-{file_slug(owner)}"
        clash = [other for other, used in stems.items() if used.casefold() == stem.casefold()]
        if clash:
            raise ValueError(f"owners {clash[0]!r} and {owner!r} would share the file {stem}.xlsx; rename one")
        stems[owner] = stem
    written: dict[str | None, Path] = {}
    for owner, stem in stems.items():
        table = mask_pii(lists[owner]) if mask else lists[owner]
        written[owner] = write_table(present(table) if present else table, folder / f"{stem}.xlsx", sheet_name="actions")
    return written

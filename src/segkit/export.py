"""The handbook's tier table (客户关系划分表) and ``segkit tiers``.

:func:`tier_table` builds the template's columns, the strategy column (后续策略建议) among
them, so this module sits above the insights layer (see ``[tool.importlinter]`` in
``pyproject.toml``); the injection-safe writing itself is :mod:`segkit.writers`.

:func:`tiers_command` is what ``segkit tiers --as-of DATE --data DIR --out FILE`` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from segkit.labels import check_lang, label_series
from segkit.insights.strategy import tier_strategy
from segkit.segment.tiers import EXPORT_COLUMNS, assign_tiers, explain_tiers, load_tiers_config, tier_labels
from segkit.writers import check_output_file, write_table

__all__ = ["tier_table", "write_tier_table", "tiers_command"]


_NOTE_WORDS = {
    "zh": {"review": "需复核：{reason}", "override": "人工调整，规则判定为{rule}", "sep": "；"},
    "en": {"review": "to review: {reason}", "override": "manual override; the rules gave {rule}", "sep": "; "},
}


def _contact(snapshot: pd.DataFrame, mask: bool) -> pd.Series:
    def one(name: Any, title: Any) -> str:
        name = "" if name is None or pd.isna(name) else str(name).strip()
        title = "" if title is None or pd.isna(title) else str(title).strip()
        if not name and not title:
            return "/"
        if mask:
            return f"*{title}" if title else "*"
        return f"{name} {title}".strip()

    names = snapshot["contact_name"] if "contact_name" in snapshot else pd.Series(None, index=snapshot.index)
    titles = snapshot["contact_title"] if "contact_title" in snapshot else pd.Series(None, index=snapshot.index)
    return pd.Series([one(n, t) for n, t in zip(names, titles)], index=snapshot.index, dtype=object)


def tier_table(
    tiers: pd.DataFrame,
    snapshot: pd.DataFrame,
    lang: str = "zh",
    config: Any = None,
    strategy: Any = None,
    mask_contacts: bool | None = None,
) -> pd.DataFrame:
    """The handbook's tier table (客户关系划分表): one row per customer, template columns.

    Columns (zh): 客户编号, 客户名称, 所属行业, 联系人及职务, 近12个月交易金额(万元),
    近6个月互动频次(次), 合作时长(月), 核心需求类型, 客户关系划分, 划分依据摘要, 后续策略建议,
    备注 — or their English equivalents. Rows are sorted by tier (highest first), then by
    12-month revenue. Contacts are masked (``*总监``) unless ``mask_contacts=False``, as the
    handbooks write them; 备注 holds review reasons and manual overrides.

    Parameters
    ----------
    tiers : DataFrame
        From :func:`segkit.segment.tiers.assign_tiers`; its words (labels, basis, review
        reasons) come from :func:`segkit.segment.tiers.explain_tiers` in ``lang``.
    snapshot : DataFrame
        The snapshot the tiers were assigned on (names, industry, contact, amounts).
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
        Tiers configuration (headers, tier order, contact masking).
    strategy : path or mapping, optional
        Strategy configuration (后续策略建议 texts).
    mask_contacts : bool, optional
        Default from the configuration (True).

    Examples
    --------
    >>> from segkit.segment.tiers import assign_tiers, handbook_examples
    >>> snap = handbook_examples()
    >>> table = tier_table(assign_tiers(snap), snap)
    >>> list(table.columns[:6])
    ['客户编号', '客户名称', '所属行业', '联系人及职务', '近12个月交易金额(万元)', '近6个月互动频次(次)']
    >>> table.iloc[3, [0, 2, 3, 4, 7, 8]].astype(str).tolist()
    ['C004', '服务业', '/', '3.0', '产品采购型', '低价值客户']
    """
    check_lang(lang)
    cfg = load_tiers_config(config)
    mask = cfg.export.mask_contacts if mask_contacts is None else mask_contacts
    missing = sorted(set(tiers.index.astype(str)) - set(snapshot.index.astype(str)))
    if missing:
        raise ValueError(f"{len(missing)} customers of the tier table are not in the snapshot: {missing[:5]}")
    t = tiers.join(explain_tiers(tiers, snapshot, lang, config))
    snap = snapshot.copy()
    snap.index = snap.index.astype(str)
    t.index = t.index.astype(str)
    snap = snap.reindex(t.index)

    def col(name: str, default: Any = None) -> pd.Series:
        return snap[name] if name in snap else pd.Series(default, index=snap.index)

    words = _NOTE_WORDS[lang]
    rule_labels = tier_labels(t["rule_tier"], lang, cfg)
    notes = []
    for cid in t.index:
        parts = []
        if bool(t.at[cid, "needs_review"]) and str(t.at[cid, "review_reason"]):
            parts.append(words["review"].format(reason=t.at[cid, "review_reason"]))
        if "override_reason" in t and not pd.isna(t.at[cid, "override_reason"]):
            parts.append(words["override"].format(rule=rule_labels[cid]))
        notes.append(words["sep"].join(parts))
    revenue = pd.to_numeric(col("revenue_12m"), errors="coerce")
    data = {
        "customer_id": pd.Series(t.index, index=t.index, dtype="str"),
        "name": col("name").astype("str"),
        "industry": label_series("industry", col("industry").astype(object), lang),
        "contact": _contact(snap, mask).astype("str"),
        "revenue_12m_wan": (revenue / 1e4).round(2),
        "interactions_6m": pd.to_numeric(col("interactions_6m"), errors="coerce").astype("Int64"),
        "tenure_months": pd.to_numeric(col("tenure_months"), errors="coerce").astype("Int64"),
        "need_type": label_series("need_type", col("need_type").astype(object), lang),
        "tier": t["tier_label"],
        "basis": t["basis"],
        "strategy": tier_strategy(t["tier"], lang, strategy),
        "note": pd.Series(notes, index=t.index, dtype="str"),
    }
    table = pd.DataFrame(data, index=t.index).rename_axis(None)
    rank = t["tier"].map({k: i for i, k in enumerate(cfg.order)})
    table = table.assign(_rank=rank, _rev=revenue).sort_values(["_rank", "_rev", "customer_id"], ascending=[True, False, True], kind="stable")
    table = table.drop(columns=["_rank", "_rev"]).reset_index(drop=True)
    headers = {key: cfg.export.columns[key].text(lang) if key in cfg.export.columns else key for key in EXPORT_COLUMNS}
    currency = str(snapshot.attrs.get("currency") or "CNY").upper()
    if currency != "CNY" and "revenue_12m_wan" in headers:  # the template's 万元 column, in the data's currency
        from segkit.labels import currency_name

        headers["revenue_12m_wan"] = (headers["revenue_12m_wan"].replace("万元", f"万{currency_name(currency, 'zh')}")
                                      .replace("CNY 10k", f"{currency} 10k"))
    return table.rename(columns=headers)


def write_tier_table(
    tiers: pd.DataFrame,
    snapshot: pd.DataFrame,
    path: str | Path,
    lang: str = "zh",
    config: Any = None,
    strategy: Any = None,
    mask_contacts: bool | None = None,
) -> Path:
    """Write :func:`tier_table` to ``path`` (``.xlsx`` or ``.csv``), injection-safe.

    Returns
    -------
    Path
    """
    table = tier_table(tiers, snapshot, lang, config, strategy, mask_contacts)
    sheet = "客户关系划分" if lang == "zh" else "Tiers"
    return write_table(table, path, sheet_name=sheet)


def tiers_command(
    data: str | Path,
    as_of: Any,
    out: str | Path,
    lang: str = "zh",
    config: Any = None,
    overrides: str | Path | None = None,
) -> pd.DataFrame:
    """``segkit tiers``: load the data, take the snapshot, assign tiers, write the tier table.

    Parameters
    ----------
    data : folder
        Customer data for :func:`segkit.io.load_dataset`.
    as_of : date-like
        Snapshot date, read strictly; refused when after the data's as-of date or before every
        order (:func:`segkit.features.checked_snapshot`).
    out : path
        ``.xlsx`` or ``.csv`` file to write.
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
        User configuration (``tiers`` and ``strategy`` sections).
    overrides : path, optional
        Manual tier overrides (see :func:`segkit.segment.tiers.read_overrides`).

    Returns
    -------
    DataFrame
        The tier table from :func:`segkit.segment.tiers.assign_tiers` (for the CLI to report
        counts and customers needing review).
    """
    from segkit.features import checked_snapshot
    from segkit.io import load_dataset

    check_lang(lang)
    out = check_output_file(out)
    ds = load_dataset(data, config=config)  # the configuration's vocabularies read the files too
    snap = checked_snapshot(ds, as_of)
    tiers = assign_tiers(snap, config=config, overrides=overrides)
    write_tier_table(tiers, snap, out, lang=lang, config=config, strategy=config)
    return tiers

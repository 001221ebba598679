"""Manual tier overrides: read a hand-kept file, check it, apply it to a tier table.

An overrides file has one row per customer with ``customer_id, tier, reason, reviewer, date``
(Chinese headers work too; a tier may be its key or its label). :func:`read_overrides` reads
and checks it, listing every problem with its row; :func:`apply_overrides` is what
:func:`segkit.segment.tiers.assign_tiers` uses to put it into the tiers. :func:`read_table` and
:func:`alias_columns` also read the other hand-kept files of ``segment`` (manual tags).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from segkit.config import shorten
from segkit.errors import OverrideError  # defined with every segkit error; importable here as before
from segkit.periods import parse_date
from segkit.schema import fold_header

if TYPE_CHECKING:
    from segkit.segment.tiers import TiersConfig

__all__ = ["OverrideError", "read_overrides", "normalise_overrides", "apply_overrides", "override_texts", "read_table", "alias_columns"]


_OVERRIDE_ALIASES = {
    "customer_id": ("customer_id", "客户编号", "客户id", "客户号", "客户代码", "customer", "id"),
    "tier": ("tier", "层级", "客户关系划分", "客户层级", "分层", "调整后层级", "new_tier", "override_tier"),
    "reason": ("reason", "原因", "调整原因", "理由", "说明"),
    "reviewer": ("reviewer", "复核人", "审核人", "复核", "approved_by", "reviewed_by"),
    "date": ("date", "日期", "调整日期", "复核日期", "reviewed_on", "override_date"),
}


def read_table(path: Path, error: type[Exception] = OverrideError, what: str = "an overrides file") -> pd.DataFrame:
    r"""Read a small hand-kept table (CSV in UTF-8 or GBK, or XLSX) as text.

    Parameters
    ----------
    path : Path
    error : exception class, default OverrideError
        Raised when the file cannot be read, with the path and the reason.
    what : str, default "an overrides file"
        The kind of file, for the message.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "o.csv"
    >>> _ = path.write_text("客户编号,层级\nC001,核心客户\n", encoding="gb18030")
    >>> read_table(path).iloc[0].tolist()
    ['C001', '核心客户']
    >>> read_table(path.with_suffix(".xls"))
    Traceback (most recent call last):
    ...
    segkit.segment.overrides.OverrideError: ...o.xls: .xls (Excel 97-2003) is not read; save it as .xlsx or .csv
    """
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str)
    if suffix == ".xls":  # the old binary format needs a reader segkit does not install
        raise error(f"{path}: .xls (Excel 97-2003) is not read; save it as .xlsx or .csv")
    if suffix not in (".csv", ".txt"):
        raise error(f"{path}: {what} is .csv or .xlsx, not {shorten(suffix)}")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, na_values=[""])
        except UnicodeDecodeError:
            continue
    raise error(f"{path}: cannot read as UTF-8 or GBK text")


def alias_columns(raw: pd.DataFrame, aliases: Mapping[str, Iterable[str]]) -> dict[str, Any]:
    r"""Which column of ``raw`` holds each canonical field (the first whose header is an alias).

    Headers are compared with :func:`segkit.schema.fold_header` (full-width, BOM, case, spaces).

    Examples
    --------
    >>> raw = pd.DataFrame(columns=["\ufeff客户编号", "Tier ", "tier"])
    >>> alias_columns(raw, {"customer_id": ("customer_id", "客户编号"), "tier": ("tier",), "date": ("date",)})
    {'customer_id': '\ufeff客户编号', 'tier': 'Tier '}
    """
    found: dict[str, Any] = {}
    for canonical, names in aliases.items():
        folded = {fold_header(a) for a in names}
        for col in raw.columns:
            if fold_header(col) in folded:
                found.setdefault(canonical, col)
    return found


def _tier_lookup(config: TiersConfig) -> dict[str, str]:
    lookup = {}
    for key in config.order:
        lookup[fold_header(key)] = key
        entry = config.labels[key]
        for text in (entry.zh, entry.en, entry.zh_short, entry.en_short):
            if text:
                lookup[fold_header(text)] = key
    return lookup


def normalise_overrides(raw: pd.DataFrame, config: TiersConfig, source: str) -> pd.DataFrame:
    """Check an overrides table as read (any header spelling) and return it in canonical form.

    ``source`` names the table in messages. Returns the frame :func:`read_overrides` returns;
    raises :class:`OverrideError` listing every problem with its row.

    Examples
    --------
    >>> from segkit.segment.tiers import load_tiers_config
    >>> raw = pd.DataFrame({"客户编号": ["C001"], "层级": ["Core"], "原因": ["战略客户"],
    ...                     "复核人": ["王"], "日期": ["2026-09-01"]})
    >>> normalise_overrides(raw, load_tiers_config(), "example")[["customer_id", "tier", "source_row"]]
      customer_id  tier  source_row
    0        C001  core           2
    """
    index = alias_columns(raw, _OVERRIDE_ALIASES)
    missing = [c for c in _OVERRIDE_ALIASES if c not in index]
    if missing:
        raise OverrideError(
            f"{source}: missing column(s) {missing}; an overrides file needs customer_id, tier, "
            f"reason, reviewer, date (or 客户编号, 层级, 原因, 复核人, 日期); found {list(raw.columns)}"
        )
    df = pd.DataFrame({c: raw[index[c]] for c in _OVERRIDE_ALIASES})
    df = df.reset_index(drop=True)
    problems: list[str] = []
    rows = pd.RangeIndex(2, len(df) + 2)  # row numbers as a spreadsheet shows them
    text = {}
    for col in ("customer_id", "tier", "reason", "reviewer"):
        cleaned = [None if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in df[col].astype(object)]
        text[col] = pd.Series(cleaned, dtype=object)
        for row, value in zip(rows, cleaned):
            if value is None:
                problems.append(f"row {row}: {col} is empty")
    lookup = _tier_lookup(config)
    tiers = []
    for row, value in zip(rows, text["tier"]):
        if value is None or pd.isna(value):
            tiers.append(None)
            continue
        key = lookup.get(fold_header(value))
        if key is None:
            problems.append(f"row {row}: unknown tier {shorten(value)}; allowed: {config.order} (or their labels)")
        tiers.append(key)
    dates = []
    for row, value in zip(rows, df["date"]):
        # only unambiguous dates: 01/09/2026 could be 1 September or 9 January; "now" is no date
        try:
            parsed = parse_date(None if value is None or pd.isna(value) else value, "date")
        except ValueError as exc:
            problems.append(f"row {row}, column {shorten(str(index['date']))}: {exc}")
            parsed = pd.NaT
        dates.append(parsed)
    ids = text["customer_id"]
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    for cid in pd.unique(dup):
        where = [str(r) for r, v in zip(rows, ids) if v == cid]
        problems.append(f"rows {', '.join(where)}: several overrides for customer {shorten(cid)}; keep one")
    if problems:
        raise OverrideError(f"{source}: {len(problems)} problem(s) in the overrides:\n  - " + "\n  - ".join(problems))
    out = pd.DataFrame(
        {
            "customer_id": ids.astype(str),
            "tier": pd.Series(tiers, dtype=str),
            "reason": text["reason"].astype(str),
            "reviewer": text["reviewer"].astype(str),
            "date": pd.to_datetime(pd.Series(dates)).astype("datetime64[ns]"),
            "source_row": np.asarray(rows),
        }
    )
    return out


def read_overrides(path: str | Path, config: Any = None) -> pd.DataFrame:
    """Read a manual tier overrides file (CSV or XLSX).

    The file has one row per customer with ``customer_id, tier, reason, reviewer, date``;
    Chinese headers (客户编号, 层级 / 客户关系划分, 原因, 复核人, 日期) work too, and a tier may be
    written as its key (``core``) or its label (``核心客户``).

    Parameters
    ----------
    path : str or Path
    config : tiers configuration, optional
        For the allowed tiers and their labels.

    Returns
    -------
    DataFrame
        ``customer_id, tier, reason, reviewer, date, source_row`` (the file's row number).

    Raises
    ------
    OverrideError
        Listing every problem with its row: a missing column, an empty field, an unknown
        tier, a date that is not a date, two overrides for the same customer.
    """
    path = Path(path)
    if not path.is_file():
        raise OverrideError(f"overrides file not found: {path}")
    from segkit.segment.tiers import load_tiers_config  # tiers imports this module for assign_tiers

    return normalise_overrides(read_table(path), load_tiers_config(config), str(path))


_OVERRIDE_WORDS = {
    "zh": {
        "basis": "人工调整为{tier}：{reason}（复核人：{reviewer}，{date}）；规则判定：{rule}（{basis}）",
        "stale": "人工调整已超过{days}天（{date}，复核人：{reviewer}），需重新复核",
    },
    "en": {
        "basis": "manual override to {tier}: {reason} (reviewer {reviewer}, {date}); the rules gave {rule} ({basis})",
        "stale": "manual override is older than {days} days ({date}, reviewer {reviewer}); review it again",
    },
}


def apply_overrides(out: pd.DataFrame, overrides: pd.DataFrame, cfg: TiersConfig, as_of: pd.Timestamp, source: str) -> pd.DataFrame:
    """Put the overrides dated on or before ``as_of`` into a tier table (in place; returned).

    ``out`` is the table :func:`segkit.segment.tiers.assign_tiers` builds (``tier``,
    ``rule_tier``, ``override_*``, ``needs_review``, ``review``); ``overrides`` is
    :func:`normalise_overrides`' result. An override for a customer not in ``out`` raises
    :class:`OverrideError`; one older than ``overrides.stale_after_days`` is flagged for review
    (``review`` = ``stale_override``); the rules' own review of an overridden customer is
    dropped. Words come from :func:`override_texts`.
    (Exercised through ``assign_tiers(..., overrides=...)``; see its tests.)
    """
    unknown = overrides[~overrides["customer_id"].isin(out.index.astype(str))]
    if len(unknown):
        items = [f"row {r}: customer {shorten(c)}" for r, c in zip(unknown["source_row"], unknown["customer_id"])]
        raise OverrideError(
            f"{source}: {len(unknown)} override(s) for customers not in the snapshot:\n  - " + "\n  - ".join(items)
        )
    valid = overrides[overrides["date"] <= as_of]  # an override made later does not rewrite the past
    limit = cfg.overrides.stale_after_days
    id_map = pd.Series(out.index, index=out.index.astype(str))
    for row in valid.itertuples(index=False):
        cid = id_map[row.customer_id]
        stale = (as_of - row.date).days > limit
        out.at[cid, "tier"] = row.tier
        out.at[cid, "override_reason"] = row.reason
        out.at[cid, "override_reviewer"] = row.reviewer
        out.at[cid, "override_date"] = row.date
        out.at[cid, "override_stale"] = stale
        out.at[cid, "needs_review"] = stale
        out.at[cid, "review"] = "stale_override" if stale else ""
    return out


def override_texts(tiers: pd.DataFrame, rule_basis: pd.Series, label: Any, stale_after_days: int, lang: str) -> pd.DataFrame:
    """The words of the overridden rows of a tier table: ``basis`` and ``review_reason``.

    ``rule_basis`` is the rules' basis of those rows, ``label`` maps a tier key to its label;
    used by :func:`segkit.segment.tiers.explain_tiers`. Rows without an override are left out.
    """
    words = _OVERRIDE_WORDS[lang]
    done = tiers[tiers["override_date"].notna()]
    basis, reason = [], []
    for cid, row in zip(done.index, done.itertuples(index=False)):
        date_text = row.override_date.strftime("%Y-%m-%d")
        basis.append(words["basis"].format(tier=label(row.tier), reason=row.override_reason, reviewer=row.override_reviewer,
                                           date=date_text, rule=label(row.rule_tier), basis=rule_basis[cid]))
        reason.append(words["stale"].format(days=stale_after_days, date=date_text, reviewer=row.override_reviewer)
                      if row.override_stale else "")
    return pd.DataFrame({"basis": basis, "review_reason": reason}, index=done.index, dtype=object)

"""Spreadsheet-safe writers (CSV / XLSX) and the handbook's tier table export.

Any text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
*neutralised* by prefixing a single quote, so a spreadsheet shows it as text and never runs
it as a formula (CSV/formula injection). Header cells are treated the same way. Numbers,
dates and booleans are written as such (a negative number is a number, not a formula).
In XLSX files every text cell is also stored with the string type, never as a formula.

:func:`tiers_command` is what ``segkit tiers --as-of DATE --data DIR --out FILE`` runs.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from segkit.labels import check_lang, label_series
from segkit.insights.strategy import tier_strategy
from segkit.segment.tiers import EXPORT_COLUMNS, RuleSet, assign_tiers, load_tiers_config

__all__ = ["DANGEROUS_PREFIXES", "check_output_file", "neutralise", "write_table", "tier_table", "write_tier_table", "tiers_command"]

DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
# characters XLSX cannot store (C0 controls other than tab, LF, CR)
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value: Any) -> Any:
    """Make a text cell safe for spreadsheets; other values are returned unchanged.

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise("-2+3"), neutralise("@SUM(A1)"), neutralise("\\tx")
    ("'-2+3", "'@SUM(A1)", "'\\tx")
    >>> neutralise("核心客户"), neutralise(-5.0)
    ('核心客户', -5.0)
    """
    if isinstance(value, str) and value.startswith(DANGEROUS_PREFIXES):
        return "'" + value
    return value


def _is_text_column(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or pd.api.types.is_object_dtype(series.dtype)


def _date_text(series: pd.Series) -> pd.Series:
    values = pd.to_datetime(series)
    midnight = values.dropna().dt.normalize().eq(values.dropna()).all()
    fmt = "%Y-%m-%d" if midnight else "%Y-%m-%d %H:%M:%S"
    return values.dt.strftime(fmt).astype(object).where(values.notna(), None)


def _safe_frame(df: pd.DataFrame, index: bool, dates_as_text: bool) -> pd.DataFrame:
    out = df.reset_index() if index else df.copy()
    out.columns = [neutralise(str(c)) for c in out.columns]
    for col in out.columns:
        series = out[col]
        if pd.api.types.is_datetime64_any_dtype(series.dtype):
            if dates_as_text:
                out[col] = _date_text(series)
        elif _is_text_column(series):
            out[col] = series.astype(object).map(
                lambda v: None if v is None or (not isinstance(v, str) and pd.api.types.is_scalar(v) and pd.isna(v))
                else neutralise(v if isinstance(v, str) else str(v))
            )
    return out


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def check_output_file(path: str | Path, what: str = "--out") -> Path:
    """Check, before anything is computed or written, that ``path`` can be a table file:
    a ``.csv`` or ``.xlsx`` name that is not an existing folder, in a folder that is not a file.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> check_output_file(folder)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: --out ... is a folder; name the file to write in it, e.g. .../tiers.xlsx
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{what} {path} is a folder; name the file to write in it, e.g. {path / 'tiers.xlsx'}")
    if path.suffix.lower() not in (".csv", ".xlsx"):
        raise ValueError(f"{what} must end in .xlsx or .csv, got {path.name!r}")
    for parent in path.absolute().parents:
        if parent.exists():
            if not parent.is_dir():
                raise ValueError(f"{what} {path}: {parent} is a file, not a folder")
            break
    return path


def write_table(df: pd.DataFrame, path: str | Path, *, index: bool = False, sheet_name: str = "Sheet1") -> Path:
    """Write a table to ``.csv`` (UTF-8 with BOM, opens in Excel) or ``.xlsx``, injection-safe.

    Parameters
    ----------
    df : DataFrame
    path : str or Path
        The suffix chooses the format: ``.csv`` or ``.xlsx``.
    index : bool, default False
        Write the index as the first column(s).
    sheet_name : str, default "Sheet1"
        XLSX only.

    Returns
    -------
    Path

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = write_table(pd.DataFrame({"note": ["=1+1", "ok"], "amount": [-5.0, 2.5]}), out)
    >>> out.read_bytes().decode("utf-8-sig").splitlines()
    ['note,amount', "'=1+1,-5.0", 'ok,2.5']
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        raise ValueError(f"cannot write {path.name!r}: use a .csv or .xlsx file name")
    check_output_file(path, "output")
    safe = _safe_frame(df, index, dates_as_text=suffix == ".csv")
    path.parent.mkdir(parents=True, exist_ok=True)
    # written beside the target and renamed into place: a failure leaves no half-written file
    # (and an earlier file of that name stays as it was)
    staged = path.with_name(f".{path.stem[:40]}-{uuid.uuid4().hex[:8]}.partial{suffix}")  # default permissions
    try:
        _write_staged(safe, staged, suffix, sheet_name)
        os.replace(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return path


def _write_staged(safe: pd.DataFrame, path: Path, suffix: str, sheet_name: str) -> None:
    if suffix == ".csv":
        # CRLF rows (as Excel writes them): the csv module then quotes every field holding a
        # CR or LF, so a line break inside a cell can never start a new, unneutralised cell.
        safe.to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
        return

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = str(sheet_name)[:31]
    widths = []
    for j, name in enumerate(safe.columns, start=1):
        cell = ws.cell(row=1, column=j, value=_ILLEGAL_XML.sub("", name))
        cell.data_type = "s"
        cell.font = Font(bold=True)
        widths.append(_width(name))
    for i, row in enumerate(safe.itertuples(index=False, name=None), start=2):
        for j, value in enumerate(row, start=1):
            if value is None or (pd.api.types.is_scalar(value) and not isinstance(value, str) and pd.isna(value)):
                continue
            if isinstance(value, (np.integer,)):
                value = int(value)
            elif isinstance(value, (np.floating,)):
                value = float(value)
            elif isinstance(value, (np.bool_,)):
                value = bool(value)
            elif isinstance(value, (pd.Timestamp, dt.date)):
                value = pd.Timestamp(value).to_pydatetime()
            elif not isinstance(value, (int, float, bool, str)):
                value = neutralise(str(value))
            if isinstance(value, str):
                value = _ILLEGAL_XML.sub("", value)
                cell = ws.cell(row=i, column=j, value=value)
                cell.data_type = "s"  # text, never a formula
                widths[j - 1] = max(widths[j - 1], min(_width(value), 60))
            else:
                cell = ws.cell(row=i, column=j, value=value)
                if isinstance(value, dt.datetime):
                    cell.number_format = "yyyy-mm-dd"
                widths[j - 1] = max(widths[j - 1], len(str(value)))
    for j, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(j)].width = min(max(width + 2, 8), 62)
    ws.freeze_panes = "A2"
    wb.save(path)


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
        From :func:`segkit.segment.tiers.assign_tiers` (made with the same ``lang``: the
        basis and review texts are copied as they are).
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
    rules = RuleSet(cfg, "tiers")
    mask = cfg.export.mask_contacts if mask_contacts is None else mask_contacts
    missing = sorted(set(tiers.index.astype(str)) - set(snapshot.index.astype(str)))
    if missing:
        raise ValueError(f"{len(missing)} customers of the tier table are not in the snapshot: {missing[:5]}")
    snap = snapshot.copy()
    snap.index = snap.index.astype(str)
    t = tiers.copy()
    t.index = t.index.astype(str)
    snap = snap.reindex(t.index)

    def col(name: str, default: Any = None) -> pd.Series:
        return snap[name] if name in snap else pd.Series(default, index=snap.index)

    words = _NOTE_WORDS[lang]
    notes = []
    for cid in t.index:
        parts = []
        if bool(t.at[cid, "needs_review"]) and str(t.at[cid, "review_reason"]):
            parts.append(words["review"].format(reason=t.at[cid, "review_reason"]))
        if "override_reason" in t and not pd.isna(t.at[cid, "override_reason"]):
            parts.append(words["override"].format(rule=rules.label(t.at[cid, "rule_tier"], lang)))
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
        "tier": t["tier"].map(lambda k: rules.label(k, lang)),
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
    tiers = assign_tiers(snap, config=config, overrides=overrides, lang=lang)
    write_tier_table(tiers, snap, out, lang=lang, config=config, strategy=config)
    return tiers

"""Spreadsheet-safe table writers (CSV / XLSX): the io layer's way out.

Any text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
*neutralised* by prefixing a single quote, so a spreadsheet shows it as text and never runs
it as a formula (CSV/formula injection). Header cells are treated the same way. Numbers,
dates and booleans are written as such (a negative number is a number, not a formula).
In XLSX files every text cell is also stored with the string type, never as a formula.

This module knows nothing of tiers or strategies, so every layer may write with it (the
rejected-row ledger of :mod:`segkit.io` included); the handbook's tier table is
:mod:`segkit.export`.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import re
import unicodedata
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["DANGEROUS_PREFIXES", "check_output_file", "file_slug", "neutralise", "write_table"]

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


_SLUG_CHARS = 60  # longest scope in a file name (a file name has at most 255 bytes)


def file_slug(text: str) -> str:
    """File-name-safe text that keeps Chinese characters; unique and stable for each text.

    A name that had to be changed (``/``, spaces, dots, more than 60 characters) ends in six
    characters of its hash, so ``华东/销售部`` and ``华东 销售部`` never share a file.

    Examples
    --------
    >>> file_slug("华东销售部"), file_slug("华东/销售部"), file_slug("华东 销售部")
    ('华东销售部', '华东_销售部-560416', '华东_销售部-710498')
    """
    raw = str(text)
    slug = re.sub(r"[^\w\u4e00-\u9fff-]+", "_", raw.strip()).strip("_")
    if slug == raw and len(slug) <= _SLUG_CHARS:
        return slug
    digest = hashlib.sha256(raw.encode("utf-8")).hexdigest()[:6]
    return f"{slug[:_SLUG_CHARS] or 'scope'}-{digest}"

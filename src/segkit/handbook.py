"""The handbook's own tier table (客户关系划分模板) as an input: read it, tier it, write it back.

A handbook user does not have order and interaction exports; they have the template of
business-rules.md section 2, one row per customer::

    客户编号, 客户名称, 所属行业, 联系人及职务, 近12个月交易金额(万元), 近6个月互动频次(次),
    合作时长(月), 核心需求类型, 客户关系划分, 划分依据摘要, 后续策略建议, 备注

:func:`tiers_from_table` reads that table (XLSX or CSV in UTF-8, UTF-8 with BOM or GBK;
Chinese or English headers; amounts in 万元 or 元), tiers every row with the same rules as
:func:`segkit.segment.tiers.assign_tiers`, and fills 客户关系划分 (the tier), 划分依据摘要 (the
basis, plus the review reason when the tier needs review) and 后续策略建议 (the tier's
strategy summary from the ``strategy`` configuration). Everything else is written back as it
was: same columns in the same order with the same header texts, same rows in the same order,
every input value as written (65 stays 65, ``0012`` keeps its zeros), 备注 untouched.

Decisions, documented once:

* **Bad rows are kept.** A row whose id is empty or repeated, whose amount or interaction
  count is not a non-negative number, or whose optional rule column is unreadable, is written
  back with an empty tier and a 划分依据摘要 naming the column, the value and the rule; the
  same problems are listed in :attr:`TableTiers.problems` (file, row, column, value, rule).
  When more than ``max_bad_share`` of the rows are bad (default: more than half) the table is
  probably not this template, or its unit is wrong: :class:`~segkit.schema.SchemaError`.
* **Columns the rules need but the table lacks** (by default 近6个月新需求咨询 and 续约意向,
  which the handbook's template does not have) are named in one
  :class:`MissingColumnsWarning`; their values are *unknown*, never "no": an unknown inquiry
  count does not make a customer potential, and the basis says when an unknown renewal
  intention was treated as none (the rule configuration decides that, not this module).
* **Units.** The amount header must say its unit (``(万元)``, ``（元）``, ``(CNY 10k)``,
  ``_cny``), or ``amount_unit`` must: a bare 近12个月交易金额 could be off by 10,000x.
* **Output format** follows the input: XLSX is edited in place (styles, widths, number cells
  kept), CSV is written in the input's encoding and line endings. Every text cell written,
  input cells included, goes through :func:`segkit.writers.neutralise`; formula cells of an
  XLSX input are written back as inert text. A text cell that is a plain number (``-3``) is a
  number to a spreadsheet, not a formula, and is left as written.
* **Rows** are the numbers a person sees: the CSV line or the sheet row (header = 1); for a
  DataFrame input, the 1-based position plus one (as if the header were row 1).

Why this module is long: reading, checking and writing back the same table must agree on every
row and cell, and these decisions are easiest to keep consistent in one module.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from copy import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from segkit.errors import MissingColumnsWarning  # defined with every segkit error; importable here as before
from segkit.export import _NOTE_WORDS
from segkit.writers import neutralise, write_table
from segkit.cells import _parse_bool, _parse_numbers
from segkit.rawfiles import _read_csv_text, _read_raw
from segkit.labels import check_lang
from segkit.insights.strategy import tier_strategy
from segkit.schema import CUSTOMERS, SchemaError, clean_header, fold_header, normalise_header
from segkit.segment.rules import RuleSet
from segkit.segment.tiers import assign_tiers, explain_tiers, load_tiers_config

__all__ = ["tiers_from_table", "TableTiers", "MissingColumnsWarning", "TEMPLATE_KEYS"]


#: Template columns in the handbook's order (keys of ``tiers.export.columns``), then the
#: optional rule columns a table may add.
TEMPLATE_KEYS = (
    "customer_id", "name", "industry", "contact", "revenue_12m_wan", "interactions_6m",
    "tenure_months", "need_type", "tier", "basis", "strategy", "note",
)
OUTPUT_KEYS = ("tier", "basis", "strategy")
REQUIRED_KEYS = ("customer_id", "revenue_12m_wan", "interactions_6m")

# Spellings beyond the configured headers (tiers.export.columns) and the rule measures' names.
# Compared after folding: full-width -> half-width, case, spaces, _ - ( ) / and a trailing
# count unit such as (次) or (months) are ignored; an amount unit is read, not ignored.
_ALIASES: dict[str, tuple[str, ...]] = {
    "customer_id": (CUSTOMERS.column("customer_id").zh, *CUSTOMERS.column("customer_id").aliases,
                    "customer_id", "customer id", "客户编码"),
    "name": (CUSTOMERS.column("name").zh, *CUSTOMERS.column("name").aliases, "name"),
    "industry": ("所属行业", "行业", "行业分类", "industry"),
    "contact": ("联系人及职务", "联系人", "联系人/职务", "关键联系人", "contact", "contact and title", "contact_title"),
    "revenue_12m_wan": ("近12个月交易金额", "近12个月交易额", "近一年交易金额", "近12个月成交金额", "12个月交易金额",
                        "12-month revenue", "12-month amount", "revenue 12m", "revenue_12m", "revenue (12 months)"),
    "interactions_6m": ("近6个月互动频次", "近6个月互动次数", "近6个月互动", "互动频次", "互动次数",
                        "6-month interactions", "interactions 6m", "interactions_6m", "interactions (6 months)"),
    "tenure_months": ("合作时长", "合作月数", "合作时长(月)", "tenure", "tenure_months", "tenure (months)"),
    "need_type": ("核心需求类型", "核心需求", "需求类型", "core need type", "core need", "need type", "need_type"),
    "tier": ("客户关系划分", "客户层级", "层级", "分层", "tier", "tier_label"),
    "basis": ("划分依据摘要", "划分依据", "basis", "basis summary"),
    "strategy": ("后续策略建议", "策略建议", "运营策略", "recommended actions", "strategy", "actions"),
    "note": ("备注", "说明", "note", "notes", "remark", "remarks", "comments"),
    "new_need_inquiry_6m": ("近6个月新需求咨询", "近6个月新需求咨询次数", "新需求咨询", "新需求咨询次数", "新需求",
                            "6-month new-need inquiries", "new-need inquiries", "new need inquiry",
                            "new_need_inquiry_6m"),
    "renewal_intent": (CUSTOMERS.column("renewal_intent").zh, *CUSTOMERS.column("renewal_intent").aliases,
                       "renewal intention", "renewal intent", "renewal_intent"),
}
# A header that names segkit's own snapshot column is in yuan, as that column is.
_YUAN_BY_NAME = {"revenue12m"}

_WAN_EN = re.compile(r"[(（]\s*(?:cny|rmb|¥)?\s*10\s*k\s*(?:cny|rmb)?\s*[)）]|[(（]\s*(?:cny|rmb)?\s*ten\s+thousands?\s*(?:cny|rmb|yuan)?\s*[)）]", re.I)
_COUNT_UNIT = re.compile(r"_?\((次|个|月|个月|months?|times|count|no\.)\)$")
_PUNCT = re.compile(r"[\s_\-()/·.:：、]+")
_CJK = re.compile(r"[\u3400-\u9fff]")
_PLAIN_NUMBER = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")

_WORDS = {
    "zh": {
        "empty": "为空", "not_number": "不是数字", "negative": "不能为负数", "not_whole": "不是整数",
        "not_bool": "不是是/否值（是/否、有/无）", "duplicate": "客户编号重复（首次出现在第{first}行）",
        "malformed": "该行有{n}个字段，表头有{m}个",
        "problem": "{column}「{value}」{rule}", "bad_row": "未划分：{problems}", "sep": "；",
        "whole_line": "（整行）",
    },
    "en": {
        "empty": "is empty", "not_number": "is not a number", "negative": "must not be negative",
        "not_whole": "is not a whole number", "not_bool": "is not a yes/no value (yes/no, 是/否)",
        "duplicate": "duplicate customer id (first on row {first})",
        "malformed": "the line has {n} fields where the header has {m}",
        "problem": "{column} {value!r} {rule}", "bad_row": "not tiered: {problems}", "sep": "; ",
        "whole_line": "(whole line)",
    },
}


def _fold(text: str) -> str:
    return _PUNCT.sub("", _COUNT_UNIT.sub("", text))


def _header_key(header: Any) -> tuple[str, float | None]:
    """Fold a header for alias lookup; return ``(key, amount multiplier)``.

    The multiplier is None when the header names no unit.

    Examples
    --------
    >>> _header_key("近12个月交易金额（万元）"), _header_key("近12个月交易金额 (元)")
    (('近12个月交易金额', 10000.0), ('近12个月交易金额', 1.0))
    >>> _header_key("12-month revenue (CNY 10k)"), _header_key("近6个月互动频次(次)")
    (('12monthrevenue', 10000.0), ('近6个月互动频次', None))
    """
    text = clean_header(header)
    if _WAN_EN.search(text):
        return _fold(normalise_header(_WAN_EN.sub("", text))[0]), 10_000.0
    key, multiplier = normalise_header(text)
    plain = fold_header(text)
    unit_named = multiplier != 1.0 or key != plain
    key = _fold(key)
    if not unit_named and key in _YUAN_BY_NAME:
        return key, 1.0
    return key, multiplier if unit_named else None


def _alias_index(cfg) -> dict[str, str]:
    index: dict[str, str] = {}
    spellings: dict[str, list[str]] = {key: [] for key in _ALIASES}
    for key, label in cfg.export.columns.items():
        spellings.setdefault(key, []).extend([label.zh, label.en])
    for key, measure in cfg.measures.items():
        spellings.setdefault(key, []).extend([key, measure.zh, measure.en])
    for key, extra in _ALIASES.items():
        spellings[key].extend(extra)
    for key, texts in spellings.items():
        for text in texts:
            index.setdefault(_header_key(text)[0], key)
    return index


def _is_plain_number(text: str) -> bool:
    return bool(_PLAIN_NUMBER.fullmatch(text))


def _safe_text(value: str) -> str:
    """:func:`segkit.writers.neutralise`, except for text that is a plain number (``-3``)."""
    return value if _is_plain_number(value) else neutralise(value)


def _is_missing(value: Any) -> bool:
    return value is None or (not isinstance(value, str) and pd.api.types.is_scalar(value) and pd.isna(value))


def _as_text(value: Any) -> str:
    """A DataFrame cell as a person would type it (for parsing only; values are kept as they are)."""
    if _is_missing(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# --------------------------------------------------------------------------------------------
# the result


@dataclass
class TableTiers:
    """A tiered handbook table.

    Attributes
    ----------
    table : DataFrame
        The template as read (headers and values as written), with 客户关系划分, 划分依据摘要
        and 后续策略建议 filled (added at the end when the input lacked them). Same rows, same
        order.
    tiers : DataFrame
        :func:`segkit.segment.tiers.assign_tiers` for the rows that could be tiered, indexed by
        customer id, with the words of :func:`segkit.segment.tiers.explain_tiers`
        (``tier_label``, ``basis``, ``review_reason``), plus ``row`` (the row in the file).
    problems : DataFrame
        One row per problem: ``file, row, column, value, rule``; the rows are kept in
        ``table`` with an empty tier.
    missing_columns : list of str
        Rule columns the table lacks (treated as unknown), e.g. ``new_need_inquiry_6m``.
    source : str
        The file read, or ``"<DataFrame>"``.
    file_format : {"xlsx", "csv", "dataframe"}
    encoding : str or None
        CSV input: ``utf-8``, ``utf-8-sig`` (with BOM) or ``gb18030`` (GBK and its superset).
    lang, header_lang : {"zh", "en"}
        Language of the filled texts and of the headers.
    columns : dict
        Template key (``customer_id``, ``revenue_12m_wan``, ``tier``, ...) -> column position.
    rows : ndarray
        The row number a person sees, per row of ``table``.
    """

    table: pd.DataFrame
    tiers: pd.DataFrame
    problems: pd.DataFrame
    missing_columns: list[str]
    source: str
    file_format: str
    encoding: str | None
    lang: str
    header_lang: str
    columns: dict[str, int]
    rows: np.ndarray
    newline: str = "\r\n"
    written: Path | None = None

    @property
    def n_bad(self) -> int:
        """Rows that could not be tiered."""
        return int(self.problems["row"].nunique()) if len(self.problems) else 0

    def counts(self) -> pd.Series:
        """Rows per tier label (in tier order), then the rows not tiered under ``""``."""
        labels = self.tiers["tier_label"]
        order = list(dict.fromkeys(self.tiers.sort_values("tier")["tier_label"])) if len(self.tiers) else []
        counts = labels.value_counts().reindex(order).astype("int64")
        if self.n_bad:
            counts[""] = self.n_bad
        return counts

    def summary(self) -> str:
        """What a person reads after a run: counts, rows to review, every problem."""
        name = Path(self.source).name
        parts = [f"{label} {n:,}" for label, n in self.counts().items() if label]
        lines = [
            f"{name}: {len(self.table):,} rows; tiered {len(self.tiers):,} ({', '.join(parts) or 'none'}); "
            f"{int(self.tiers['needs_review'].sum()):,} to review; {self.n_bad:,} not tiered"
        ]
        if len(self.problems):
            lines.append("Rows not tiered (file, row, column, value, rule):")
            for p in self.problems.itertuples(index=False):
                lines.append(f"  {p.file}, row {p.row}, {p.column}, {p.value!r}: {p.rule}")
        return "\n".join(lines)

    def write(self, path: str | Path, *, encoding: str | None = None) -> Path:
        """Write the filled template to ``path`` (``.xlsx`` or ``.csv``), injection-safe.

        An XLSX input written to ``.xlsx`` is the input workbook with the three output
        columns filled (its styles, widths and number cells kept); a CSV is written in
        ``encoding``, default the input's (UTF-8 with BOM for other inputs), with the input's
        line endings.
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".xlsx"):
            raise ValueError(f"cannot write {path.name!r}: use a .csv or .xlsx file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        if suffix == ".xlsx" and self.file_format == "xlsx":
            self._write_xlsx_in_place(path)
        elif suffix == ".xlsx":
            write_table(self.table, path, sheet_name="客户关系划分" if self.header_lang == "zh" else "Tiers")
        else:
            self._write_csv(path, encoding or (self.encoding if self.file_format == "csv" else "utf-8-sig"))
        self.written = path
        return path

    def _write_csv(self, path: Path, encoding: str) -> None:
        buffer = io.StringIO(newline="")
        writer = csv.writer(buffer, lineterminator=self.newline)
        writer.writerow([_safe_text(str(c)) for c in self.table.columns])
        for record in self.table.itertuples(index=False, name=None):
            writer.writerow(["" if _is_missing(v) else _safe_text(v if isinstance(v, str) else _as_text(v)) for v in record])
        try:
            path.write_bytes(buffer.getvalue().encode(encoding))
        except UnicodeEncodeError as exc:
            raise ValueError(f"{path}: a cell cannot be written as {encoding} ({exc}); use utf-8-sig") from exc

    def _write_xlsx_in_place(self, path: Path) -> None:
        from openpyxl import load_workbook

        wb = load_workbook(self.source)
        ws = wb.worksheets[0]
        for row in ws.iter_rows():
            for cell in row:
                value = cell.value
                if cell.data_type == "f" or (isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r"))):
                    text = value if isinstance(value, str) else str(getattr(value, "text", value))
                    cell.value = _safe_text(text)
                    cell.data_type = "s"
        for key in OUTPUT_KEYS:
            j = self.columns[key] + 1
            header = ws.cell(row=1, column=j)
            if header.value is None:
                header.value = _safe_text(str(self.table.columns[j - 1]))
                header._style = copy(ws.cell(row=1, column=max(1, j - 1))._style)  # look like the other headers
            values = self.table.iloc[:, j - 1]
            for sheet_row, value in zip(self.rows, values):
                cell = ws.cell(row=int(sheet_row), column=j)
                cell.value = _safe_text(value) if isinstance(value, str) and value else None
        wb.save(path)


# --------------------------------------------------------------------------------------------
# reading


def _read_file(path: Path) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, str, str | None, str, dict[int, tuple[str, int]]]:
    """Read the template.

    Returns the table as written (strings; an XLSX formula as its text), the values to parse
    (an XLSX formula as its cached value, as a spreadsheet shows it), the row numbers, the
    format, the CSV encoding and line ending, and the malformed CSV lines (position ->
    (line, number of fields)), which are kept in place.
    """
    raw, rows, encoding, malformed = _read_raw(path)
    if encoding == "xlsx":
        from openpyxl import load_workbook

        written = raw.copy()
        wb = load_workbook(path, read_only=True)  # formulas as written, not their cached values
        try:
            wanted = {int(r): i for i, r in enumerate(rows)}
            for r, row in enumerate(wb.worksheets[0].iter_rows(values_only=True), start=1):
                if r in wanted:
                    for j, value in enumerate(row[: raw.shape[1]]):
                        if isinstance(value, str) and value.startswith("="):
                            written.iat[wanted[r], j] = value
        finally:
            wb.close()
        return written, raw, rows, "xlsx", None, "\r\n", {}
    if encoding == "parquet":
        raise SchemaError(f"{path}: the handbook table is read from XLSX or CSV, not {path.suffix}")
    text, _ = _read_csv_text(path)
    encoding = "utf-8-sig" if path.read_bytes()[:3] == b"\xef\xbb\xbf" else ("utf-8" if encoding == "utf-8-sig" else encoding)
    newline = "\r\n" if "\r\n" in text else "\n"
    bad: dict[int, tuple[str, int]] = {}
    if malformed:
        raw, rows, bad = _with_malformed(raw, rows, text, {m["row"] for m in malformed})
    return raw, raw, rows, "csv", encoding, newline, bad


def _with_malformed(raw: pd.DataFrame, rows: np.ndarray, text: str, lines: set[int]):
    """Put CSV lines with the wrong number of fields back in their place.

    A short line is padded with empty cells; the surplus fields of a long line are kept,
    joined, in its last cell. Nothing of the line is lost.
    """
    width = raw.shape[1]
    found: dict[int, list[str]] = {}
    reader = csv.reader(io.StringIO(text, newline=""))
    next(reader, None)
    line = reader.line_num
    for fields in reader:
        start, line = line + 1, reader.line_num
        if start in lines:
            found[start] = fields
    fixed = [(f + [""] * width)[:width] if len(f) <= width else [*f[: width - 1], ",".join(f[width - 1:])]
             for f in found.values()]
    extra = pd.DataFrame(fixed, columns=raw.columns, dtype="str")
    both = pd.concat([raw.assign(_row=rows), extra.assign(_row=list(found))], ignore_index=True)
    both = both.sort_values("_row", kind="stable").reset_index(drop=True)
    new_rows = both.pop("_row").to_numpy(dtype="int64")
    where = {int(r): i for i, r in enumerate(new_rows)}
    bad = {where[r]: (",".join(f), len(f)) for r, f in found.items()}
    return both, new_rows, bad


# --------------------------------------------------------------------------------------------
# the function


def tiers_from_table(
    table: str | Path | pd.DataFrame,
    *,
    lang: Literal["zh", "en"] | None = None,
    config: Any = None,
    out: str | Path | None = None,
    encoding: str | None = None,
    amount_unit: Literal["wan", "yuan"] | None = None,
    max_bad_share: float = 0.5,
) -> TableTiers:
    """Tier the handbook's customer table (客户关系划分模板) and fill its output columns.

    Parameters
    ----------
    table : path or DataFrame
        An ``.xlsx`` / ``.csv`` file (UTF-8, UTF-8 with BOM or GBK) or a DataFrame whose
        columns are the template headers (Chinese or English, e.g. 客户编号 / Customer ID,
        近12个月交易金额(万元) / 12-month revenue (CNY 10k), 近6个月互动频次(次)). Needed:
        customer id, 12-month amount, 6-month interactions; optional rule columns
        近6个月新需求咨询(次) and 续约意向 are used when present.
    lang : {"zh", "en"}, optional
        Language of the filled texts; default the language of the headers.
    config : path or mapping, optional
        segkit configuration: the ``tiers`` rules and headers, the ``strategy`` texts.
    out : path, optional
        Write the filled template there (``.xlsx`` or ``.csv``, see :meth:`TableTiers.write`).
    encoding : str, optional
        Encoding of a CSV ``out`` (default: the input's).
    amount_unit : {"wan", "yuan"}, optional
        Unit of the amount column when its header does not say (``(万元)`` / ``(元)``).
    max_bad_share : float, default 0.5
        Stop with an error when more than this share of the rows cannot be tiered.

    Returns
    -------
    TableTiers
        ``.table`` (the filled template), ``.tiers``, ``.problems``, ``.missing_columns``.

    Raises
    ------
    SchemaError
        The file cannot be read, a needed column is missing, the amount unit is unknown, or
        most rows cannot be tiered (listing the first problems with file, row, column, value
        and rule).

    Warns
    -----
    MissingColumnsWarning
        Once, naming the rule columns the table lacks.

    Examples
    --------
    >>> import pandas as pd, warnings
    >>> handbook = pd.DataFrame({
    ...     "客户编号": ["C001", "C002", "C003", "C004"],
    ...     "近12个月交易金额(万元)": [65, 28, 12, 3],
    ...     "近6个月互动频次(次)": [12, 5, 3, 0],
    ...     "备注": ["", "", "", "=1+1"]})
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore", MissingColumnsWarning)
    ...     result = tiers_from_table(handbook)
    >>> result.table["客户关系划分"].tolist()
    ['核心客户', '潜力客户', '普通客户', '低价值客户']
    >>> result.table.loc[0, "划分依据摘要"]
    '近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次'
    >>> list(result.table.columns)
    ['客户编号', '近12个月交易金额(万元)', '近6个月互动频次(次)', '备注', '客户关系划分', '划分依据摘要', '后续策略建议']
    """
    cfg = load_tiers_config(config)
    if isinstance(table, pd.DataFrame):
        source, file_format, file_encoding, newline, malformed = "<DataFrame>", "dataframe", None, "\r\n", {}
        written = table.copy().reset_index(drop=True)
        text = written.map(_as_text) if len(written.columns) else written.astype(str)
        rows = np.arange(len(written), dtype="int64") + 2
        headers = [str(c) for c in written.columns]
    else:
        path = Path(table)
        source = str(path)
        if path.suffix.lower() not in (".csv", ".txt", ".xlsx", ".xlsm"):
            raise SchemaError(f"{path}: the handbook table is read from .xlsx or .csv, not {path.suffix or 'a file without suffix'}")
        written, text, rows, file_format, file_encoding, newline, malformed = _read_file(path)
        headers = list(written.columns)
    name = Path(source).name

    # -- headers
    index = _alias_index(cfg)
    columns: dict[str, int] = {}
    multipliers: dict[str, float | None] = {}
    for j, header in enumerate(headers):
        key, multiplier = _header_key(header)
        canonical = index.get(key)
        if canonical is None:
            continue
        if canonical in columns:
            raise SchemaError(f"{name}: columns {headers[columns[canonical]]!r} and {header!r} both mean "
                              f"{canonical!r}; keep one of them")
        columns[canonical] = j
        multipliers[canonical] = multiplier
    mapped_headers = [headers[j] for j in columns.values()]
    header_lang = "zh" if any(_CJK.search(h) for h in mapped_headers) else "en"
    lang = header_lang if lang is None else lang
    check_lang(lang)
    missing = [k for k in REQUIRED_KEYS if k not in columns]
    if missing:
        expected = ", ".join(f"{cfg.export.columns[k].zh} / {cfg.export.columns[k].en}" for k in REQUIRED_KEYS)
        raise SchemaError(f"{name}: no column for {', '.join(missing)}. The handbook table needs {expected}. "
                          f"Found: {', '.join(map(repr, headers))}")
    unit = multipliers["revenue_12m_wan"]
    if unit is None:
        if amount_unit is None:
            header = headers[columns["revenue_12m_wan"]]
            raise SchemaError(
                f"{name}: the amount column {header!r} does not say its unit; name it "
                f"近12个月交易金额(万元) or 近12个月交易金额(元) (12-month revenue (CNY 10k) / (CNY)), "
                "or pass amount_unit='wan' or 'yuan' (segkit tiers --amount-unit)")
        if amount_unit not in ("wan", "yuan"):
            raise ValueError(f"amount_unit must be 'wan' or 'yuan', got {amount_unit!r}")
        unit = 10_000.0 if amount_unit == "wan" else 1.0
    for key in OUTPUT_KEYS:  # output columns the input lacks go at the end, in the header language
        if key not in columns:
            header = cfg.export.columns[key].text(header_lang)
            columns[key] = len(written.columns)
            written[header] = ""
            if text is not written:
                text[header] = ""
    n = len(written)
    if n == 0:
        raise SchemaError(f"{name}: the table has no customer rows")
    words = _WORDS[lang]

    # -- values: parse, collect problems per row
    problems: list[dict] = []

    def cell(key: str) -> pd.Series:
        return text.iloc[:, columns[key]].astype(str).reset_index(drop=True)

    def problem(mask: np.ndarray | pd.Series, key: str, rule: str | list[str]) -> None:
        mask = np.asarray(mask, dtype=bool)
        values = cell(key)
        rules = [rule] * n if isinstance(rule, str) else rule
        for i in np.flatnonzero(mask):
            problems.append({"_i": int(i), "file": name, "row": int(rows[i]), "column": headers[columns[key]],
                             "value": values.iloc[i], "rule": rules[i]})

    def numbers(key: str, *, required: bool, whole: bool) -> pd.Series:
        raw = cell(key)
        empty = raw.str.strip() == ""
        values, bad = _parse_numbers(raw)
        if key == "new_need_inquiry_6m":  # the handbook writes "asked about new products": yes/no works too
            flags, not_flag = _parse_bool(raw)
            use_flag = bad & ~not_flag
            values = values.where(~use_flag, pd.Series(flags.astype("Float64").to_numpy(dtype="float64", na_value=np.nan), index=values.index))
            bad = bad & not_flag
        if required:
            problem(empty, key, words["empty"])
        problem(bad, key, words["not_number"])
        negative = (values < 0).fillna(False).to_numpy(dtype=bool)
        problem(negative, key, words["negative"])
        if whole:
            fractional = (values.notna() & (values != values.round()) & ~negative).to_numpy(dtype=bool)
            problem(fractional, key, words["not_whole"])
        return values

    for i, (line, n_fields) in malformed.items():
        problems.append({"_i": i, "file": name, "row": int(rows[i]), "column": words["whole_line"], "value": line,
                         "rule": words["malformed"].format(n=n_fields, m=len(headers))})
    ids = cell("customer_id").str.strip()
    problem(ids == "", "customer_id", words["empty"])
    dup = (ids != "") & ids.duplicated(keep="first")
    first_row = {cid: int(rows[i]) for i, cid in reversed(list(enumerate(ids)))}
    problem(dup, "customer_id", [words["duplicate"].format(first=first_row.get(cid, "")) for cid in ids])

    snap = pd.DataFrame(index=pd.RangeIndex(n))
    snap["revenue_12m"] = (numbers("revenue_12m_wan", required=True, whole=False) * unit).round(2)
    snap["interactions_6m"] = numbers("interactions_6m", required=True, whole=True)
    if "tenure_months" in columns:  # not used by the default rules; kept for rules that do
        snap["tenure_months"] = _parse_numbers(cell("tenure_months"))[0]
    if "new_need_inquiry_6m" in columns:
        snap["new_need_inquiry_6m"] = numbers("new_need_inquiry_6m", required=False, whole=True)
    if "renewal_intent" in columns:
        flags, bad = _parse_bool(cell("renewal_intent"))
        problem(bad, "renewal_intent", words["not_bool"])
        snap["renewal_intent"] = flags
    rules = RuleSet(cfg, "tiers")
    lacking = [c for c in rules.columns if c not in snap.columns]
    for column in lacking:  # unknown, not "no": a missing value never satisfies a comparison
        snap[column] = pd.array([pd.NA] * n, dtype="boolean") if cfg.measures[column].unit == "flag" else np.nan
    if lacking:
        described = ", ".join(f"{cfg.measures[c].zh} / {cfg.measures[c].en} ({c})" for c in lacking)
        warnings.warn(MissingColumnsWarning(
            f"{name}: no column for {described}, which the tier rules use; every customer's value is "
            "treated as unknown (an unknown count never meets a threshold; see the basis for how an "
            "unknown flag was treated). Add the column(s) to use them."), stacklevel=2)

    problem_frame = pd.DataFrame(problems, columns=["_i", "file", "row", "column", "value", "rule"])
    problem_frame = problem_frame.sort_values(["_i"], kind="stable")
    bad_rows = sorted(set(problem_frame["_i"]))
    if len(bad_rows) > max_bad_share * n:
        listed = "\n".join(f"  {p.file}, row {p.row}, column {p.column}, value {p.value!r}: {p.rule}"
                           for p in problem_frame.head(10).itertuples(index=False))
        raise SchemaError(
            f"{name}: {len(bad_rows)} of {n} rows cannot be tiered (more than {max_bad_share:.0%}); is this the "
            f"handbook table, with amounts in the unit its header says? First problems:\n{listed}")

    # -- tier the good rows with the configured rules
    good = np.setdiff1d(np.arange(n), bad_rows)
    snap_good = snap.iloc[good].copy()
    snap_good.index = pd.Index(ids.iloc[good].tolist(), name="customer_id", dtype="str")
    tiers = assign_tiers(snap_good, config=config)
    attrs = tiers.attrs  # a join keeps attrs only when both sides hold the same
    tiers = tiers.join(explain_tiers(tiers, snap_good, lang, config))  # the table shows every row's words
    tiers.attrs = attrs
    strategy = tier_strategy(tiers["tier"], lang, config)
    review = _NOTE_WORDS[lang]["review"]
    basis = [
        b + (_NOTE_WORDS[lang]["sep"] + review.format(reason=r) if flag and r else "")
        for b, flag, r in zip(tiers["basis"], tiers["needs_review"], tiers["review_reason"])
    ]
    out_tier = pd.Series("", index=range(n), dtype=object)
    out_basis = pd.Series("", index=range(n), dtype=object)
    out_strategy = pd.Series("", index=range(n), dtype=object)
    out_tier.iloc[good] = tiers["tier_label"].tolist()
    out_basis.iloc[good] = basis
    out_strategy.iloc[good] = strategy.tolist()
    for i, group in problem_frame.groupby("_i", sort=True):
        listed = words["sep"].join(words["problem"].format(column=p.column, value=p.value, rule=p.rule)
                                   for p in group.itertuples(index=False))
        out_basis.iloc[int(i)] = words["bad_row"].format(problems=listed)
    for key, values in (("tier", out_tier), ("basis", out_basis), ("strategy", out_strategy)):
        j = columns[key]
        written.isetitem(j, pd.Series(values.tolist(), index=written.index, dtype=object))

    tiers = tiers.assign(row=rows[good], rank=tiers["tier"].cat.codes.astype("int64"))
    result = TableTiers(
        table=written,
        tiers=tiers,
        problems=problem_frame.drop(columns="_i").reset_index(drop=True).astype({"row": "int64"}),
        missing_columns=lacking,
        source=source,
        file_format=file_format,
        encoding=file_encoding,
        lang=lang,
        header_lang=header_lang,
        columns=columns,
        rows=rows,
        newline=newline,
    )
    if out is not None:
        result.write(out, encoding=encoding)
    return result

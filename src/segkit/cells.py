"""Reading one cell: dates, numbers, ids and yes/no values, and the words of every rule.

The parsers are vectorised over one column of one file and return ``(parsed, bad mask)``
(dates a :class:`ParsedDates`); they decide nothing from a single value that the column as a
whole does not show (a decimal comma, the day/month order). Both readers use them: the pandas
reference reader of :mod:`segkit.io` for every cell, and the DuckDB reader of
:mod:`segkit.ingest` for the values its SQL does not read itself, so both engines read every value
identically and reject it with the same words (the ``REASON_*`` texts and ``reason_*`` functions).
The rules themselves are in ``docs/data.md``.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import unicodedata
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd

from segkit.config import default_section
from segkit.periods import DateRange
from segkit.schema import Table, fold_header

_TRUE = {"是", "有", "y", "yes", "true", "t", "1", "续约", "愿意", "√", "✓"}
_FALSE = {"否", "无", "n", "no", "false", "f", "0", "不续约", "不愿意", "×", "✗"}


def _fold(text: str) -> str:
    """A value folded for vocabulary lookup: :func:`segkit.schema.fold_header` with its
    separators dropped too, so "New-Material", "new_material" and "newmaterial" meet."""
    return fold_header(text).replace("_", "")


# --------------------------------------------------------------------------------------------
# parsing values (vectorised); each returns (parsed, bad mask)

_DATE_SEP = re.compile(r"[/.年月]")


_MONTH_NAME = r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\b"
_YEAR_LAST = re.compile(r"(\d{1,2})-(\d{1,2})-(\d{4})")
DATE_ORDERS = ("auto", "MDY", "DMY")
_ORDER_WORDS = {"MDY": "month/day/year", "DMY": "day/month/year"}


# Excel's empty date: a zero in a cell formatted as a date is day 0 of Excel's calendar, which
# readers write as 1900-01-00, 1899-12-31, 1899-12-30 (day 0 of the serial numbers) or, from an
# XLSX file, as a bare time (00:00:00: a serial below 1 has no day)
_EXCEL_EMPTY_DATES = (pd.Timestamp("1899-12-30"), pd.Timestamp("1899-12-31"))
_EXCEL_DAY_ZERO = r"1900-0?[01]-0?0"
_EXCEL_TIME_ONLY = r"[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?"


class ParsedDates(NamedTuple):
    """What :func:`_parse_dates` read from one column of one file."""

    values: pd.Series     # datetime64[ns]; NaT where empty or rejected
    bad: pd.Series        # not empty and not read (every mask below is part of it)
    used: str | None      # the year-last order used (None when the column has no year-last date)
    excel: pd.Series      # Excel's empty date
    outside: pd.Series    # a real day outside engine.dates
    ambiguous: pd.Series  # day and month could be either way round, and nothing in the file tells


def _date_text(raw: pd.Series) -> pd.Series:
    """Dates with their separators as ``-``, without a time; ``20260930`` as ``2026-09-30``."""
    text = raw.str.strip()
    text = text.str.replace("日", "", regex=False).str.replace(_DATE_SEP, "-", regex=True)
    text = text.str.replace(r"[T ].*$", "", regex=True)
    compact = text.str.fullmatch(r"\d{8}")
    return text.where(~compact, text.str[:4] + "-" + text.str[4:6] + "-" + text.str[6:8])


def _year_last_numbers(text: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """The first and second numbers and the year of each year-last date of ``text`` (normalised)."""
    parts = text.str.extract(_YEAR_LAST.pattern + "$").dropna()
    return parts[0].astype(int), parts[1].astype(int), parts[2]


def file_date_order(columns: Iterable[pd.Series], order: str = "auto") -> str:
    """How a file's year-last dates are read: ``order`` when it is ``MDY`` or ``DMY``; with
    ``"auto"`` the dates of all of the file's date ``columns`` decide.

    A date whose first number is a day (13-31) and second a month (1-12) can only be day first;
    the other way round, only month first. The kind with more distinct dates decides (``"DMY"``
    or ``"MDY"``), and the dates of the other kind are then unparseable; ``"mixed"`` when both
    kinds have as many dates, ``"ambiguous"`` when there are none (every year-last date could
    be read either way).

    Examples
    --------
    >>> import pandas as pd
    >>> file_date_order([pd.Series(["01/02/2026", "25/12/2025"])])
    'DMY'
    >>> file_date_order([pd.Series(["01/02/2026", "03/04/2026"])])
    'ambiguous'
    >>> file_date_order([pd.Series(["12/25/2025", "01/13/2026"]), pd.Series(["25/12/2025"])])
    'MDY'
    >>> file_date_order([pd.Series(["12/25/2025"]), pd.Series(["25/12/2025", "25.12.2025"])])
    'mixed'
    """
    if order != "auto":
        return order
    parts = [pd.DataFrame(dict(zip(("first", "second", "year"), _year_last_numbers(_date_text(c))))) for c in columns]
    dates = pd.concat(parts, ignore_index=True).drop_duplicates() if parts else pd.DataFrame(columns=["first", "second"])
    first, second = dates["first"], dates["second"]
    day_first = int(((first > 12) & (first <= 31) & (second >= 1) & (second <= 12)).sum())
    month_first = int(((second > 12) & (second <= 31) & (first >= 1) & (first <= 12)).sum())
    if not day_first and not month_first:
        return "ambiguous"
    if day_first == month_first:
        return "mixed"
    return "DMY" if day_first > month_first else "MDY"


def _outside_days(text: pd.Series, dates: DateRange) -> pd.Series:
    """Which ``YYYY-M-D`` texts are days of the calendar outside ``dates`` (pandas holds no
    9999-12-31, so each distinct such text is checked by Python's calendar)."""
    earliest, latest = dates.earliest, dates.latest

    def outside(value: str) -> bool:
        try:
            day = dt.date(*map(int, value.split("-")))
        except ValueError:
            return False
        return not earliest <= day <= latest

    candidates = text[text.str.fullmatch(r"\d{4}-\d{1,2}-\d{1,2}", na=False)]
    return text.isin([value for value in candidates.unique() if outside(value)])


def _parse_dates(raw: pd.Series, order: str = "auto", dates: DateRange | None = None) -> ParsedDates:
    """Dates as written by CRMs and spreadsheets: year first (2026-09-30, 2026/9/30, 20260930,
    2026年9月30日, with or without a time) or year last (09/30/2026, 30.09.2026).

    Year-last dates are read month first or day first as ``order`` says (``MDY``, ``DMY``, or
    a file's decision from :func:`file_date_order`; ``"auto"`` lets this column decide). When
    the order is ``"ambiguous"`` or ``"mixed"``, a date is read only when both readings agree
    (01/01/2026); the others are rejected as ambiguous, never guessed.
    Excel's empty date (``1899-12-30``, ``1899-12-31``, ``1900-01-00`` in any spelling, or a bare
    time such as ``00:00:00``, which is how an XLSX date cell holding 0 reads) is a
    placeholder, not a date: it is unparseable and flagged. So is a day outside ``dates``
    (default ``engine.dates``: 1900-01-01..2200-12-31).

    Examples
    --------
    >>> import pandas as pd
    >>> got = _parse_dates(pd.Series(["2026-09-30", "01/02/2026", "01/01/2026", "9999-12-31"]))
    >>> got.values.dt.strftime("%Y-%m-%d").tolist(), got.used
    (['2026-09-30', nan, '2026-01-01', nan], 'ambiguous')
    >>> got.ambiguous.tolist(), got.outside.tolist()
    ([False, True, False, False], [False, False, False, True])
    """
    dates = default_date_range() if dates is None else dates
    text = _date_text(raw)
    iso = text.copy()
    used = None
    ambiguous = pd.Series(False, index=raw.index)
    first, second, year = _year_last_numbers(text)
    if len(year):
        used = file_date_order([raw]) if order == "auto" else order
        if used == "MDY":
            month, day = first, second
        elif used == "DMY":
            month, day = second, first
        else:  # ambiguous or mixed: only a date whose day is its month (or that no reading allows)
            low, high = np.minimum(first, second), np.maximum(first, second)
            month, day = low, high
            ambiguous.loc[year.index] = (first != second) & (low >= 1) & (low <= 12) & (high <= (12 if used == "ambiguous" else 31))
        iso.loc[year.index] = (year + "-" + month.astype(str) + "-" + day.astype(str)).where(~ambiguous.loc[year.index], "")
    parsed = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    # a month name and a four-digit year (never a guessed year)
    named = parsed.isna() & ~ambiguous & raw.str.contains(_MONTH_NAME, regex=True, na=False) & raw.str.contains(r"\b\d{4}\b", regex=True, na=False)
    if named.any():  # "Jan 5, 2026", "5 January 2026": the month is spelled out, nothing is ambiguous
        parsed.loc[named] = pd.to_datetime(raw[named].str.strip(), format="mixed", errors="coerce").dt.normalize()
    excel_empty = parsed.isin(_EXCEL_EMPTY_DATES)
    unread = parsed.isna()
    if unread.any():
        excel_empty[unread] = (text[unread].str.contains(f"^(?:{_EXCEL_DAY_ZERO})$", regex=True)
                               | raw[unread].str.strip().str.contains(f"^(?:{_EXCEL_TIME_ONLY})$", regex=True))
    # a day outside the plausible range (9999-12-31, 0001-01-01, 1850-03-01) is a typo or a placeholder
    earliest, latest = dates.bounds
    outside = ~excel_empty & (((parsed < earliest) | (parsed > latest)).fillna(False)
                              | (unread & _outside_days(iso, dates)))
    parsed = parsed.where(~excel_empty & ~outside)
    bad = parsed.isna() & (raw.str.strip() != "")
    return ParsedDates(parsed.astype("datetime64[ns]"), bad, used, excel_empty & bad, outside & bad, ambiguous & bad)


def date_reasons(got: ParsedDates, dates: DateRange) -> np.ndarray:
    """The rejection reason of each value :func:`_parse_dates` could not read."""
    return np.select([got.excel.to_numpy(), got.outside.to_numpy(), got.ambiguous.to_numpy()],
                     [REASON_EXCEL_DATE, reason_date_range(dates), REASON_AMBIGUOUS_DATE],
                     reason_date(got.used)).astype(object)


# Number spellings. A value's separators are read by the convention of its column (one file's
# column): "point" (1,234.50: comma thousands, point decimal), "comma" (1.234,56: point
# thousands, comma decimal), "mixed" (both written in full somewhere) or "unstated" (neither).
_US_FULL = r"[+-]?\d{1,3}(?:,\d{3})+\.\d+"        # 1,234.50
_EU_FULL = r"[+-]?\d{1,3}(?:\.\d{3})+,\d+"        # 1.234,56
_US_GROUPS = r"[+-]?\d{1,3}(?:,\d{3})+"           # 1,234 / 1,234,567
_EU_GROUPS = r"[+-]?\d{1,3}(?:\.\d{3})+"          # 1.234 / 1.234.567
_ONE_COMMA = r"[+-]?\d+,\d+"                       # 12,5 / 1234,56 / 1,234
_ONE_POINT = r"[+-]?\d+\.\d+"                      # 12.5 / 1.234
_CURRENCY = (r"[¥￥$€£元\s]|^(?:CNY|RMB|USD|US|HKD|EUR|GBP|JPY|SGD|AUD|CAD)"
             r"|(?:CNY|RMB|USD|HKD|EUR|GBP|JPY|SGD|AUD|CAD)$")
_NON_FINITE = r"(?i)[+-]?(?:nan|inf|infinity)"
_PLAIN_NUMBER = r"^-?[0-9]{1,15}(?:\.[0-9]{1,15})?$"  # what every convention reads alike (but 12.5: see below)


def _number_text(raw: pd.Series) -> pd.Series:
    """A number cell without currency signs, codes and spaces (¥1,200.00, USD 1200, 1200元,
    1 234,56), full-width commas as commas; separators and brackets are left in place."""
    return raw.str.strip().str.replace("，", ",", regex=False).str.replace(_CURRENCY, "", regex=True)


def number_convention(raw: pd.Series) -> str:
    """The decimal separator of a column: ``"comma"`` when some value is written ``1.234,56``
    and none ``1,234.50``, ``"point"`` the other way round, ``"mixed"`` when both forms occur,
    ``"unstated"`` when neither does.

    Only values that show both separators decide it; an unstated column is read the
    Chinese/US way, cautiously (``1,234`` is 1234 unless a value such as ``12,5`` hints at
    decimal commas; ``12,5`` is ambiguous).

    Examples
    --------
    >>> import pandas as pd
    >>> number_convention(pd.Series(["1.234,56", "12,5", "7"], dtype="str"))
    'comma'
    >>> number_convention(pd.Series(["1,234.50", "12,5"], dtype="str"))
    'point'
    >>> number_convention(pd.Series(["12,5", "1,234"], dtype="str"))
    'unstated'
    """
    text = _number_text(raw).str.strip("()")
    eu, us = text.str.fullmatch(_EU_FULL).any(), text.str.fullmatch(_US_FULL).any()
    return "mixed" if eu and us else "comma" if eu else "point" if us else "unstated"


def _read_numbers(raw: pd.Series, convention: str | None = None) -> tuple[pd.Series, pd.Series]:
    """Numbers as written in CRM and spreadsheet exports; returns the values (NaN where
    unreadable) and the reason per value (``""`` when it was read).

    * Currency signs and codes before or after the number are dropped: ¥1,200.00, $1,200.00,
      1.200 EUR, USD 1200, 1200元.
    * ``(500)`` is an accounting negative, -500; ``(-500)``, ``(500`` and ``500)`` are not numbers.
    * Separators follow the column's :func:`number_convention`: with ``"point"`` ``1,234.50``
      and ``1,234`` are read with comma thousands and ``12,5`` is ambiguous; ``"unstated"`` is
      read the same way, except that ``1,234`` is ambiguous too when the column also has values
      like ``12,5`` (a hint of decimal commas); with ``"comma"`` ``1.234,56``,
      ``12,5``, ``1,234`` (1.234) and ``1.234`` (1234) are read the European way and ``12.5`` is
      ambiguous; in a ``"mixed"`` column only values written with both separators, or none, are
      read. Ambiguous values are rejected, never guessed.
    * ``inf``, ``nan`` and values beyond the float range (``1e309``) are not finite numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> values, reasons = _read_numbers(pd.Series(["¥1,234.50", "(500)", "(-500)", "12,5", "1e309"], dtype="str"))
    >>> values.tolist()[:2], reasons.tolist()[2:]
    ([1234.5, -500.0], ['not a number', 'ambiguous (decimal comma?): the column does not show which of , and . is the decimal separator', 'not a finite number (inf, nan or beyond ±1.8e308)'])
    """
    plain = raw.str.strip().str.contains(_PLAIN_NUMBER, regex=True)
    convention = convention or number_convention(raw[~plain])
    if convention in ("comma", "mixed"):  # 12.5 is ambiguous and 1.234 is 1234 here
        plain &= ~raw.str.contains(".", regex=False)
    values = pd.Series(np.nan, index=raw.index, dtype="float64")
    values[plain] = pd.to_numeric(raw[plain].str.strip()).astype("float64")
    reasons = pd.Series("", index=raw.index, dtype="str")
    if not plain.all():
        values[~plain], reasons[~plain] = _read_number_spellings(raw[~plain], convention)
    return values, reasons


def _read_number_spellings(raw: pd.Series, convention: str) -> tuple[pd.Series, pd.Series]:
    """:func:`_read_numbers` of the values that are not plain digits."""
    text = _number_text(raw)
    bracketed = text.str.fullmatch(r"\([^()+\-]*\)")  # (500): an accounting negative; (-500) is not
    text = text.where(~bracketed, text.str[1:-1])
    comma, point = text.str.contains(",", regex=False), text.str.contains(".", regex=False)
    us_full, eu_full = text.str.fullmatch(_US_FULL), text.str.fullmatch(_EU_FULL)
    one_comma, one_point = text.str.fullmatch(_ONE_COMMA), text.str.fullmatch(_ONE_POINT)
    us_groups, eu_groups = text.str.fullmatch(_US_GROUPS), text.str.fullmatch(_EU_GROUPS)
    ambiguous = pd.Series(False, index=text.index)
    as_us = us_full.copy()   # drop the commas
    as_eu = eu_full.copy()   # drop the points, the comma is the decimal point
    if convention in ("point", "unstated"):
        # unstated, and 12,5 somewhere: 1,234 may be 1.234
        decimal_comma_hint = convention == "unstated" and bool((one_comma & ~us_groups).any())
        ambiguous |= comma & ~point & one_comma & (~us_groups | decimal_comma_hint)
        as_us |= comma & ~point & us_groups & ~ambiguous
    elif convention == "comma":
        as_eu |= (comma & ~point & one_comma) | (point & ~comma & eu_groups)
        ambiguous |= point & ~comma & one_point & ~eu_groups
    else:  # mixed: only what needs no convention (both separators, or one repeated)
        ambiguous |= (comma & ~point & one_comma) | (point & ~comma & one_point)
        as_us |= comma & ~point & us_groups & ~one_comma
        as_eu |= point & ~comma & eu_groups & ~one_point
    text = text.where(~as_us, text.str.replace(",", "", regex=False))
    text = text.where(~as_eu, text.str.replace(".", "", regex=False).str.replace(",", ".", regex=False))
    text = text.where(~(comma & ~as_us & ~as_eu), "x")  # any other comma: not a number
    values = pd.to_numeric(text.where(~ambiguous, "x"), errors="coerce").astype("float64")
    values = values.where(~bracketed, -values)
    non_finite = ~ambiguous & (np.isinf(values) | text.str.fullmatch(_NON_FINITE))
    values = values.where(~non_finite)
    reasons = pd.Series("", index=raw.index, dtype="str")
    reasons[values.isna() & (raw.str.strip() != "")] = REASON_NUMBER
    reasons[ambiguous] = REASON_AMBIGUOUS_NUMBER
    reasons[non_finite] = REASON_NOT_FINITE
    return values, reasons


def _parse_numbers(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """:func:`_read_numbers` with a mask of the values that could not be read."""
    values, reasons = _read_numbers(raw)
    return values, reasons != ""


# Ids are compared as text, after what no one can see or means is taken away: Unicode format
# characters (zero-width space and joiners, word joiner, BOM, bidi marks, soft hyphen) are
# removed, a no-break or ideographic space is a space, full-width ASCII (Ｃ００１) is ASCII.
_FORMAT_CHARS = "".join(chr(c) for c in (*range(0x10000), *range(0xE0000, 0xE0080))
                        if unicodedata.category(chr(c)) == "Cf")
_FORMAT_RE = "[" + re.escape(_FORMAT_CHARS) + "]"
_WIDE = "".join(chr(c) for c in range(0xFF01, 0xFF5F)) + "\u00a0\u3000"
_NARROW = "".join(chr(c) for c in range(0x21, 0x7F)) + "  "
_ID_WIDTH = str.maketrans(_WIDE, _NARROW)
# an id a float column wrote: 1.0 is id 1; 1.5 or 1.2345678901234568e+16 is no id
_FLOAT_WHOLE_ID = r"[0-9]+\.0+"
_FLOAT_ID = r"[0-9]+\.[0-9]+|[0-9](?:\.[0-9]+)?e[+-][0-9]+"


def _read_ids(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Ids as text: invisible characters removed, spaces and full-width ASCII folded, ends
    stripped, a float's ``.0`` dropped; returns the ids and a mask of ids written as decimal
    numbers (a float column's ``1.5``), which are no ids.

    Examples
    --------
    >>> import pandas as pd
    >>> ids, bad = _read_ids(pd.Series(["C001\u200b", "\ufeffＣ００１", "1.0", "1.5", "C\u00a0001"], dtype="str"))
    >>> ids.tolist(), bad.tolist()
    (['C001', 'C001', '1', '1.5', 'C 001'], [False, False, False, True, False])
    """
    text = raw.copy()
    wide = text.str.contains(r"[^\x00-\x7f]", regex=True)
    if wide.any():
        text[wide] = text[wide].str.replace(_FORMAT_RE, "", regex=True).str.translate(_ID_WIDTH)
    text = text.str.strip()
    decimal = pd.Series(False, index=text.index)
    dotted = text.str.contains(".", regex=False)
    if dotted.any():
        whole = dotted & text.str.contains(f"^(?:{_FLOAT_WHOLE_ID})$", regex=True)
        text[whole] = text[whole].str.replace(r"\.0+$", "", regex=True)
        decimal = dotted & text.str.contains(f"^(?:{_FLOAT_ID})$", regex=True)
    return text, decimal


def _repeated_headers(raw: pd.DataFrame) -> np.ndarray:
    """Rows whose every cell is its column's header (two exports joined into one file)."""
    if not len(raw.columns) or raw.empty:
        return np.zeros(len(raw), dtype=bool)
    same = np.ones(len(raw), dtype=bool)
    for header in raw.columns:
        same &= (raw[header].str.strip() == str(header).strip()).to_numpy(dtype=bool)
    return same


def _without_header_lines(raw: pd.DataFrame, rows: np.ndarray, malformed: list[dict]):
    """A file's records without its repeated header lines, which join the malformed lines: they
    are rejected whole (with the line as a record) and never become a customer or an order."""
    again = _repeated_headers(raw)
    if not again.any():
        return raw, rows, malformed
    lines = [{"row": int(row), "value": ",".join(cells), "reason": REASON_HEADER, "record": dict(zip(raw.columns, cells))}
             for row, cells in zip(rows[again], raw.loc[again].itertuples(index=False))]
    return raw.loc[~again].reset_index(drop=True), rows[~again], sorted([*malformed, *lines], key=lambda m: m["row"])


def _parse_bool(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    folded = raw.map(_fold)
    out = pd.Series(pd.NA, index=raw.index, dtype="boolean")
    out[folded.isin(_TRUE)] = True
    out[folded.isin(_FALSE)] = False
    bad = out.isna() & (folded != "")
    return out, bad


# --------------------------------------------------------------------------------------------
# the rules' words: one place for every engine (segkit.ingest writes the same reasons)

REASON_NUMBER = "not a number"
REASON_WHOLE = "not a whole number"
REASON_BOOL = "not a yes/no value (是/否, yes/no)"
REASON_CREDIT = "invalid unified social credit code (GB 32100-2015 check character)"
REASON_UNKNOWN = "unknown customer_id (not in the customers table)"
REASON_UNKNOWN_DERIVED = "unknown customer_id (no accepted order; there is no customers file)"
REASON_REJECTED_CUSTOMER = "customer_id was rejected in customers"
REASON_AMBIGUOUS_NUMBER = ("ambiguous (decimal comma?): the column does not show which of , and . is the decimal "
                           "separator")
REASON_NOT_FINITE = "not a finite number (inf, nan or beyond ±1.8e308)"
REASON_EXCEL_DATE = "Excel's empty date (1899-12-30 / 1900-01-00: a 0 in a cell formatted as a date), not a date"
REASON_DECIMAL_ID = "id written as a decimal number (a float column of a spreadsheet or Parquet file?)"
REASON_HEADER = "repeated header line (two exports joined into one file?)"
REASON_AMBIGUOUS_DATE = "ambiguous day/month order (set date_order: MDY or DMY in dataset.yaml)"


def reason_empty(col) -> str:
    return f"empty value in required column {col.name} ({col.zh})"


def reason_date(used: str | None) -> str:
    """The unparseable-date reason; ``used`` is the year-last order read in the file, if any."""
    reason = "unparseable date (expected e.g. 2026-09-30, 2026/9/30, 20260930, 2026年9月30日, 09/30/2026"
    return reason + (f"; year-last dates read as {_ORDER_WORDS[used]})" if used in _ORDER_WORDS else ")")


def reason_date_range(dates: DateRange) -> str:
    """A day outside ``engine.dates``."""
    return f"date outside {dates.words()} (engine.dates): a typo or a placeholder, not a real date"


@functools.lru_cache(maxsize=1)
def default_date_range() -> DateRange:
    """``engine.dates`` of the packaged configuration."""
    return DateRange.model_validate(default_section("engine")["dates"])


def reason_range(col) -> str:
    limits = f"{col.low:g}-{col.high:g}" if col.high is not None else f">= {col.low:g}"
    return f"out of range (allowed {limits})"


def reason_vocab(col) -> str:
    return (f"value not in the {col.vocab} vocabulary; kept as written (add it as a synonym under "
            f"vocabularies.{col.vocab} in a configuration file)")


def reason_late(as_of: pd.Timestamp) -> str:
    return f"date after the data's as-of date {as_of.date()}"


def reason_not_before(table: Table, later: str, earlier: str) -> str:
    """A date before the date it cannot precede (a complaint resolved before it was made)."""
    return (f"{later} before {earlier} ({table.column(later).zh} 早于 {table.column(earlier).zh}): "
            f"{later} cannot precede {earlier}")

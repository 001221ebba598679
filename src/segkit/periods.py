"""Quarters, horizons and single dates a person types: strict parsing, the last day of a
quarter, the latest complete one, and the outcome windows of the churn work.

The lowest layer of segkit (it imports only :mod:`segkit.config`), so reading data, building report contexts and
the command line all use the same rules:

* a **quarter** is written ``2026Q3`` (also ``2026q3``, ``2026-Q3``, ``2026 Q3``); anything
  else (``2026``, ``2026/07/15``, ``../x``) is an error, never a guess;
* a **date** typed as an argument or in a settings file (an as-of date, an override date) is
  read only when its form is unambiguous: year first (``2026-09-30``, ``2026/9/30``,
  ``2026.09.30``, ``20260930``, ``2026年9月30日``, optionally with a time ``10:30[:00]``), an
  eight-digit number ``20260930`` (YAML reads it as an integer), or a date/datetime value (an
  Excel date cell). Day/month-ambiguous forms (``01/09/2026``), words (``now``, ``Sept
  2026``), time zones and days outside ``engine.dates`` (1900-01-01..2200-12-31) are errors;
* a **horizon** is a whole count and a unit: ``1Q`` (quarters), ``3M`` (months), ``13W``
  (weeks), ``90D`` (days). Quarters and months are calendar ones and keep month ends month
  ends; an **outcome window** is ``(as_of, horizon_end(as_of, horizon)]``.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import numpy as np
import pandas as pd
from pydantic import model_validator

from segkit.config import StrictModel, default_section

__all__ = [
    "DATE_RANGE", "DateRange", "parse_date", "parse_quarter", "quarter_end", "latest_complete_quarter",
    "split_horizon", "shift_months", "horizon_end", "horizon_start", "horizon_periods", "quarter_ends",
    "latest_outcome_start", "outcome_quarters",
]

class DateRange(StrictModel):
    """The dates segkit accepts (``engine.dates`` in ``segkit/defaults/engine.yaml``).

    Examples
    --------
    >>> DateRange(earliest="1900-01-01", latest="2200-12-31").words()
    '1900-01-01..2200-12-31'
    """

    earliest: dt.date
    latest: dt.date

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.earliest >= self.latest:
            raise ValueError(f"earliest ({self.earliest}) must be before latest ({self.latest})")
        return self

    @property
    def bounds(self) -> tuple[pd.Timestamp, pd.Timestamp]:
        """The first and the last day accepted, as timestamps (midnight)."""
        return pd.Timestamp(self.earliest), pd.Timestamp(self.latest)

    def words(self) -> str:
        return f"{self.earliest.isoformat()}..{self.latest.isoformat()}"


#: The days segkit accepts as a typed date: the packaged ``engine.dates`` (data files are checked
#: against ``engine.dates`` of the configuration in use).
DATE_RANGE = DateRange.model_validate(default_section("engine")["dates"]).bounds

_QUARTER = re.compile(r"(\d{4})\s*-?\s*[Qq]([1-4])")
_TIME = r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?)?"
_DATE_FORMS = (
    re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})" + _TIME),
    re.compile(r"(\d{4})()(\d{2})(\d{2})" + _TIME),
    re.compile(r"(\d{4})(年)(\d{1,2})月(\d{1,2})日?" + _TIME),
)
_ZONE = re.compile(r".*\d(?:Z|[+-]\d{2}:?\d{2}|\s*(?:UTC|GMT|CST)\S*)$", re.I)
_YEAR_LAST = re.compile(r"\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}.*")
_HINT = "write it year first, e.g. 2026-09-30 (also 2026/09/30, 20260930, 2026年9月30日)"


def _cut(value) -> str:
    text = repr(value)
    return text if len(text) <= 200 else f"{text[:198]}… ({len(text):,} characters)"


def parse_quarter(value) -> str:
    """A quarter as ``2026Q3``, from ``2026Q3``, ``2026q3``, ``2026-Q3`` or ``2026 Q3``.

    Raises
    ------
    ValueError
        For anything else, naming the value (a year alone is not a quarter).

    Examples
    --------
    >>> parse_quarter("2026-q3"), parse_quarter(" 2026Q4 ")
    ('2026Q3', '2026Q4')
    >>> parse_quarter("2026")
    Traceback (most recent call last):
    ...
    ValueError: not a quarter: '2026'; write it like 2026Q3 (year, Q, 1 to 4)
    """
    match = _QUARTER.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"not a quarter: {_cut(value)}; write it like 2026Q3 (year, Q, 1 to 4)")
    return f"{match.group(1)}Q{match.group(2)}"


def parse_date(value, what: str = "date") -> pd.Timestamp:
    """Read a date a person typed (an as-of date, an override date) only when it is unambiguous.

    Parameters
    ----------
    value : str, int, date, datetime, Timestamp or numpy datetime64
        See the module docstring for the accepted forms.
    what : str, default "date"
        What the value is, for the error message (e.g. ``"dataset.yaml: as_of"``).

    Returns
    -------
    Timestamp
        Without a time zone; with the time of day when one was given.

    Raises
    ------
    ValueError
        Naming ``what``, the value (cut to 200 characters) and the forms that are read.

    Examples
    --------
    >>> parse_date("2026年9月30日"), parse_date(20260930)
    (Timestamp('2026-09-30 00:00:00'), Timestamp('2026-09-30 00:00:00'))
    >>> parse_date("01/09/2026", "override date")
    Traceback (most recent call last):
    ...
    ValueError: override date '01/09/2026': day and month could be either way round; write it year first, e.g. 2026-09-30 (also 2026/09/30, 20260930, 2026年9月30日)
    """
    if value is None:
        raise ValueError(f"{what} is empty; {_HINT}")
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{what} {_cut(value)} is not a date; {_HINT}")
    if isinstance(value, (int, np.integer)):
        if not 10_000_000 <= int(value) <= 99_999_999:
            raise ValueError(f"{what} {_cut(value)} is a number, not a date; {_HINT}")
        value = str(int(value))
    if isinstance(value, (dt.date, np.datetime64)) and not isinstance(value, str):
        stamp = pd.Timestamp(value)
        if pd.isna(stamp):
            raise ValueError(f"{what} is empty; {_HINT}")
        if stamp.tzinfo is not None:
            raise ValueError(f"{what} {_cut(str(value))} has a time zone; write the local date without one, e.g. 2026-09-30")
        return _in_range(stamp, value, what)
    if not isinstance(value, str):
        raise ValueError(f"{what} {_cut(value)} is not a date; {_HINT}")
    text = value.strip()
    if not text:
        raise ValueError(f"{what} is empty; {_HINT}")
    for form in _DATE_FORMS:
        match = form.fullmatch(text)
        if match:
            year, _, month, day, hour, minute, second = match.groups()
            try:
                stamp = pd.Timestamp(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
            except ValueError:
                raise ValueError(f"{what} {_cut(value)} is not a day of the calendar; {_HINT}") from None
            return _in_range(stamp, value, what)
    if _ZONE.fullmatch(text):
        raise ValueError(f"{what} {_cut(value)} has a time zone; write the local date without one, e.g. 2026-09-30")
    if _YEAR_LAST.fullmatch(text):
        raise ValueError(f"{what} {_cut(value)}: day and month could be either way round; {_HINT}")
    raise ValueError(f"{what} {_cut(value)} is not a date segkit reads unambiguously; {_HINT}")


def _in_range(stamp: pd.Timestamp, value, what: str) -> pd.Timestamp:
    if pd.isna(stamp) or not DATE_RANGE[0] <= stamp.normalize() <= DATE_RANGE[1]:
        raise ValueError(f"{what} {_cut(str(value))} is outside {DATE_RANGE[0].date()}..{DATE_RANGE[1].date()}; {_HINT}")
    return stamp


def quarter_end(quarter: str) -> pd.Timestamp:
    """Last day of a quarter written like ``2026Q3``.

    Examples
    --------
    >>> quarter_end("2026Q3").date()
    datetime.date(2026, 9, 30)
    """
    return pd.Period(parse_quarter(quarter), freq="Q").end_time.normalize()


def latest_complete_quarter(as_of: str | pd.Timestamp) -> str:
    """The latest quarter that has ended on or before ``as_of``.

    Data that end on 1998-06-30 (CDNOW) have 1998Q2 as their latest complete quarter; data
    that end a day earlier only 1998Q1.

    Examples
    --------
    >>> latest_complete_quarter("2026-09-30"), latest_complete_quarter("2026-09-29")
    ('2026Q3', '2026Q2')
    >>> latest_complete_quarter("1998-06-30")
    '1998Q2'
    """
    as_of = pd.Timestamp(as_of)
    period = as_of.to_period("Q")
    if period.end_time.normalize() > as_of.normalize():
        period -= 1
    return str(period)


# --------------------------------------------------------------------------------------------
# horizons and outcome windows

_HORIZON = re.compile(r"^\s*(\d+)\s*([QMDW])\s*$", re.IGNORECASE)


def split_horizon(horizon: str) -> tuple[int, str]:
    """A horizon as ``(count, unit)``, unit one of ``Q``, ``M``, ``W``, ``D``.

    Examples
    --------
    >>> split_horizon("1Q"), split_horizon(" 13w ")
    ((1, 'Q'), (13, 'W'))
    >>> split_horizon("1Y")
    Traceback (most recent call last):
    ...
    ValueError: horizon '1Y' not understood; write a count and a unit: '1Q' (quarters), '3M' (months), '13W' (weeks) or '90D' (days)
    """
    match = _HORIZON.match(str(horizon))
    if not match or int(match.group(1)) < 1:
        raise ValueError(
            f"horizon {horizon!r} not understood; write a count and a unit: '1Q' (quarters), "
            "'3M' (months), '13W' (weeks) or '90D' (days)"
        )
    return int(match.group(1)), match.group(2).upper()


def shift_months(day: pd.Timestamp, months: int) -> pd.Timestamp:
    """``day`` plus (or, negative, minus) whole calendar months; a month end stays a month end.

    Examples
    --------
    >>> shift_months(pd.Timestamp("2026-09-30"), -6).date(), shift_months(pd.Timestamp("2025-11-30"), 3).date()
    (datetime.date(2026, 3, 31), datetime.date(2026, 2, 28))
    >>> shift_months(pd.Timestamp("2026-08-15"), -6).date()
    datetime.date(2026, 2, 15)
    """
    if day.is_month_end:
        return (day.to_period("M") + months).end_time.normalize()
    return day + pd.DateOffset(months=months)


def _shift(as_of: Any, horizon: str, sign: int) -> pd.Timestamp:
    n, unit = split_horizon(horizon)
    as_of = pd.Timestamp(as_of).normalize()
    if unit in ("Q", "M"):
        return shift_months(as_of, sign * (n * 3 if unit == "Q" else n))
    return as_of + sign * pd.Timedelta(days=n * (7 if unit == "W" else 1))


def horizon_end(as_of: Any, horizon: str = "1Q") -> pd.Timestamp:
    """Last day of the outcome window ``(as_of, end]``.

    Quarters and months keep month ends month ends (2026-06-30 + 1Q = 2026-09-30).

    Examples
    --------
    >>> horizon_end("2026-06-30", "1Q").date(), horizon_end("2025-11-30", "3M").date()
    (datetime.date(2026, 9, 30), datetime.date(2026, 2, 28))
    >>> horizon_end("2026-06-30", "90D").date()
    datetime.date(2026, 9, 28)
    """
    return _shift(as_of, horizon, +1)


def horizon_start(as_of: Any, horizon: str = "1Q") -> pd.Timestamp:
    """Start (exclusive) of the period of the same length just before ``as_of``.

    Examples
    --------
    >>> horizon_start("2026-09-30", "1Q").date(), horizon_start("2026-09-30", "2W").date()
    (datetime.date(2026, 6, 30), datetime.date(2026, 9, 16))
    """
    return _shift(as_of, horizon, -1)


def horizon_periods(as_of: Any, horizon: str, unit: str = "W") -> float:
    """Length of the outcome window ``(as_of, as_of + horizon]`` in the BTYD time unit.

    Examples
    --------
    >>> horizon_periods("2026-06-30", "1Q")            # 92 days in weeks
    13.142857142857142
    >>> horizon_periods("2026-06-30", "1Q", unit="D")
    92.0
    """
    as_of = pd.Timestamp(as_of).normalize()
    return (horizon_end(as_of, horizon) - as_of).days / (7.0 if str(unit).upper() == "W" else 1.0)


def quarter_ends(start: Any, end: Any) -> list[pd.Timestamp]:
    """Quarter-end dates from ``start`` to ``end`` inclusive.

    Examples
    --------
    >>> [d.date().isoformat() for d in quarter_ends("2025-12-31", "2026-09-30")]
    ['2025-12-31', '2026-03-31', '2026-06-30', '2026-09-30']
    """
    return list(pd.date_range(pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize(), freq="QE"))


def latest_outcome_start(as_of: Any, horizon: str = "1Q") -> pd.Timestamp:
    """The latest quarter end whose outcome window ``(date, date + horizon]`` has ended by ``as_of``.

    Examples
    --------
    >>> latest_outcome_start("2026-09-30").date(), latest_outcome_start("2026-09-29").date()
    (datetime.date(2026, 6, 30), datetime.date(2026, 3, 31))
    >>> latest_outcome_start("2026-09-30", "2Q").date()
    datetime.date(2026, 3, 31)
    """
    as_of = pd.Timestamp(as_of).normalize()
    period = pd.Period(latest_complete_quarter(as_of), freq="Q")
    while horizon_end(period.end_time.normalize(), horizon) > as_of:  # ends: each step is a quarter
        period -= 1
    return period.end_time.normalize()


def outcome_quarters(as_of: Any, horizon: str = "1Q") -> str:
    """The quarter(s) of the outcome window ``(as_of, horizon_end]`` as a key: the quarter a
    forecast made at ``as_of`` is for.

    Examples
    --------
    >>> outcome_quarters("2026-09-30"), outcome_quarters("2026-09-30", "2Q"), outcome_quarters("2026-06-30", "90D")
    ('2026Q4', '2026Q4-2027Q1', '2026Q3')
    """
    as_of = pd.Timestamp(as_of).normalize()
    first = (as_of + pd.Timedelta(days=1)).to_period("Q")
    last = horizon_end(as_of, horizon).to_period("Q")
    return str(first) if first == last else f"{first}-{last}"

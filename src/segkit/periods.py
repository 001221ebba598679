"""Quarters: names like ``2026Q3``, their last day, and the latest complete one.

The lowest layer of segkit (no segkit imports), so reading data, building report contexts and
the command line all use the same quarter arithmetic.
"""

from __future__ import annotations

import pandas as pd

__all__ = ["quarter_end", "latest_complete_quarter"]


def quarter_end(quarter: str) -> pd.Timestamp:
    """Last day of a quarter written like ``2026Q3``.

    Examples
    --------
    >>> quarter_end("2026Q3").date()
    datetime.date(2026, 9, 30)
    """
    try:
        return pd.Period(str(quarter).upper(), freq="Q").end_time.normalize()
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a quarter: {quarter!r}; write it like 2026Q3") from exc


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

"""Helpers the quarterly and churn report sections share: tier labels and order, the quarter
and scope in words, a customer as a reader sees it, money tables in one unit per column, and
notes on what was left out.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segkit.labels import label
from segkit.reporting.blocks import esc, money_columns
from segkit.reporting.context import ReportContext

__all__ = ["customer_text", "money_table", "strategy_words"]

# --- helpers ---------------------------------------------------------------------------------------

def _tier_label(ctx: ReportContext, key: str) -> str:
    """The tier's label from the tiers configuration in use (a user may rename tiers)."""
    from segkit.segment.tiers import load_tiers_config

    labels = load_tiers_config(ctx.user_config).labels
    entry = labels.get(key)
    return getattr(entry, ctx.lang, None) or label("tier", key, ctx.lang, default=key)


def strategy_words(ctx: ReportContext):
    """Label functions ``(key, lang) -> text`` for at-risk actions and owner roles: the action's
    short name, its full text and the role, from the run's strategy configuration (the churn
    action list and the lists written beside the quarterly report both use them)."""
    from segkit.insights.strategy import load_strategy

    cfg = load_strategy(ctx.user_config)
    short = lambda key, lang: cfg.win_back[key].text(lang, short=True)  # noqa: E731
    full = lambda key, lang: cfg.win_back[key].text(lang)  # noqa: E731
    role = lambda key, lang: cfg.roles[key].text(lang)  # noqa: E731
    return short, full, role


def _quarter_text(ctx: ReportContext, quarter: str) -> str:
    period = pd.Period(quarter, freq="Q")
    return ctx.words["quarter"].format(year=period.year, q=period.quarter)


def _scope_text(ctx: ReportContext) -> str:
    w = ctx.words
    if ctx.owner is not None:
        return w["scope_owner"].format(name=ctx.owner)
    if ctx.department is not None:
        return w["scope_department"].format(name=ctx.department)
    return w["scope_all"]


def customer_text(customer_id: object, name: object) -> str:
    """A customer as a reader sees it: id and name, or the id alone when there is no name or
    the name is the id (customers derived from orders).

    Examples
    --------
    >>> customer_text("C0001", "华为"), customer_text("00042", "00042"), customer_text("C7", None)
    ('C0001 华为', '00042', 'C7')
    """
    if name is None or (isinstance(name, float) and pd.isna(name)) or str(name) in ("", str(customer_id)):
        return str(customer_id)
    return f"{customer_id} {name}"


def _scaled(ctx: ReportContext, text: str, values) -> tuple[float, str]:
    """Chart/heading scale in the data's currency for ``values``: the words' ``{unit}`` becomes
    its unit (万元 for CNY in Chinese, USD k in English, plain USD for small amounts, ...)."""
    from segkit.labels import money_scale

    largest = float(np.nanmax(np.abs(np.asarray(values, dtype=float)))) if np.size(values) else None
    scale, unit = money_scale(ctx.lang, ctx.currency, largest)
    return scale, text.replace("{unit}", unit)


def money_table(ctx: ReportContext, shown: pd.DataFrame, formats: dict, columns, signed=()) -> tuple[pd.DataFrame, dict]:
    """``shown`` with its money ``columns`` in one unit each (in the header) and ``formats``
    completed for them (:func:`~segkit.reporting.blocks.money_columns`)."""
    shown, money_formats = money_columns(shown, columns, ctx.lang, ctx.currency, signed=signed)
    return shown, {**formats, **money_formats}


def _tier_order(keys, config=None) -> list[str]:
    """Tier keys highest first, in the order of the tiers configuration."""
    from segkit.segment.tiers import load_tiers_config

    order = list(load_tiers_config(config).order)
    keys = list(dict.fromkeys(keys))
    return [k for k in order if k in keys] + [k for k in keys if k not in order]


def _notes(sentences) -> str:
    """Sentences saying what was left out and why (class ``left-out``)."""
    return "".join(f'<p class="note left-out">{esc(t)}</p>' for t in sentences)

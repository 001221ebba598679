"""CLV tiers in words: the labels and the basis of :func:`segkit.models.clv.clv_tiers`.

The analysis (:func:`~segkit.models.clv.clv_tiers`) gives keys and numbers; this is the edge
that puts them into words (zh or en), for the rows a person reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from segkit.labels import check_lang, money
from segkit.models.clv import _clv_lines, _clv_values, load_config
from segkit.segment.thresholds import resolve_thresholds

__all__ = ["explain_clv_tiers"]

_CLV_BASIS = {
    "zh": ("近12个月价值 {c} {a} {ch}；预测价值 {p} {b} {ph}", "当前或预测价值缺失，需人工复核"),
    "en": ("12-month value {c} {a} {ch}; predicted value {p} {b} {ph}", "current or predicted value missing; review by hand"),
}


def explain_clv_tiers(
    tiers: pd.DataFrame,
    frame: pd.DataFrame,
    lang: str = "zh",
    *,
    config: str | Path | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """The words for :func:`clv_tiers`' result: ``clv_tier_label`` and ``clv_basis``.

    The edge function of CLV tiers, for the rows a person reads.

    Parameters
    ----------
    tiers : DataFrame
        :func:`clv_tiers`' result (or some of its rows); its ``attrs["thresholds"]`` give
        the lines (default: resolved from ``frame``).
    frame : DataFrame
        The table the tiers were made from (current and predicted values).
    lang : {"zh", "en"}, default "zh"
    config : path, mapping or None
        The configuration the tiers were made with.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"revenue_12m": [800_000, 100_000], "clv": [600_000, 700_000]}, index=["A", "B"])
    >>> from segkit.models.clv import clv_tiers
    >>> words = explain_clv_tiers(clv_tiers(f), f, "en")
    >>> words.loc["B", "clv_tier_label"]
    'High potential'
    >>> words.loc["B", "clv_basis"]
    '12-month value CNY 100,000 < CNY 500,000; predicted value CNY 700,000 ≥ CNY 500,000'
    """
    check_lang(lang)
    cfg = load_config(config)
    rules = cfg.tiers
    rows = frame.loc[tiers.index]
    current, predicted, unknown = _clv_values(rows, rules)
    th = tiers.attrs.get("thresholds") or resolve_thresholds(frame, config)
    current_high, predicted_high = _clv_lines(rules, th)
    value = lambda v: money(v, lang, th.currency, style="value")  # noqa: E731
    ch, ph = (money(v, lang, th.currency, style="threshold") for v in (current_high, predicted_high))
    known, missing = _CLV_BASIS[lang]
    basis = [missing if u else known.format(c=value(c), a="≥" if c >= current_high else "<", ch=ch,
                                            p=value(p), b="≥" if p >= predicted_high else "<", ph=ph)
             for c, p, u in zip(current, predicted, unknown, strict=True)]
    labels = {k: getattr(v, lang) for k, v in cfg.labels.items()}
    return pd.DataFrame(
        {
            "clv_tier_label": pd.array([labels[t] for t in tiers["clv_tier"]], dtype="str"),
            "clv_basis": pd.array(basis, dtype="str"),
        },
        index=tiers.index,
    )

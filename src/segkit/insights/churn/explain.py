"""A churn model's drivers in words (the edge where numbers become sentences).

:meth:`segkit.models.ChurnModel.drivers` gives each customer's drivers of churn risk as numbers
and keys; :func:`explain_drivers` adds the sentence a reader sees, from ``churn.yaml``
(``explanations`` for the sentence, ``features`` for the feature names) and the vocabulary
labels (``segkit.labels``) for category values.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segkit.insights.churn.config import load_churn_config
from segkit.labels import check_lang, label

__all__ = ["SIGNAL_SOURCES", "explain_drivers", "driver_reasons"]

#: The handbook signals (:func:`churn_features`) restate a snapshot column; in explanations their
#: contribution is added to that column so one fact gives one reason.
SIGNAL_SOURCES = {
    "signal_key_contact_change": "key_contact_changed_6m",
    "signal_complaints": "complaints_6m",
    "signal_low_satisfaction": "satisfaction",
}
#: Columns whose values are vocabulary keys (``solution_customisation``), shown by their label.
_VOCABULARY_COLUMNS = {"industry", "need_type", "customer_type", "stage", "channel"}


def _value_label(column: str, value: Any, lang: str) -> Any:
    """A stable vocabulary key (``solution_customisation``) as people read it (解决方案定制型)."""
    if column in _VOCABULARY_COLUMNS and isinstance(value, str):
        return label(column, value, lang, default=value)
    return value


def _format_odds(log_odds: float) -> str:
    odds = float(np.exp(log_odds))
    if odds > 99:
        return ">99"
    if odds < 0.01:
        return "<0.01"
    return f"{odds:.2g}"


def _format_value(value: Any, words: dict[str, str]) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return words["missing"]
    if isinstance(value, (bool, np.bool_)) or value in ("True", "False"):
        return words["yes"] if value in (True, "True") else words["no"]
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if float(value).is_integer():
            return f"{int(value):,}"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:,.1f}" if abs(value) >= 1 else f"{value:.2g}"
    return str(value)


def explain_drivers(
    model: Any,
    X: Any,
    top: int = 3,
    *,
    lang: str = "zh",
    direction: str = "both",
    labels: dict[str, str] | None = None,
    config: Any = None,
) -> pd.DataFrame:
    """Each customer's ``top`` drivers of churn risk, with a sentence for each.

    Parameters
    ----------
    model : ChurnModel
        Fitted; its :meth:`~segkit.models.ChurnModel.drivers` gives the numbers.
    X : DataFrame
        Customers to explain (same columns as in ``fit``).
    top : int, default 3
    lang : {"zh", "en"}, default "zh"
    direction : {"both", "raises", "lowers"}, default "both"
    labels : dict, optional
        Column name -> display name; defaults to ``churn.features`` (segkit snapshot columns),
        else the column name.
    config : path, mapping or ChurnConfig, optional
        ``explanations`` and ``features`` of the ``churn`` section.

    Returns
    -------
    DataFrame
        :meth:`~segkit.models.ChurnModel.drivers` (the handbook signals combined with the
        column they restate, :data:`SIGNAL_SOURCES`) and ``text``.

    Examples
    --------
    >>> import pandas as pd
    >>> from segkit.models import ChurnModel
    >>> X = pd.DataFrame({"complaints_6m": [0, 0, 1, 3] * 50, "satisfaction": [90.0, 80.0, 60.0, 50.0] * 50})
    >>> model = ChurnModel().fit(X, [0, 0, 1, 1] * 40 + [1, 0, 0, 0] * 10)
    >>> explain_drivers(model, X.tail(1), top=2, lang="en")["text"].tolist()
    ['satisfaction: 50 (typical: 70) raises churn risk (odds x6.5)', 'complaints in 6 months: 3 (typical: 1) raises churn risk (odds x1.2)']
    >>> explain_drivers(model, X.tail(1), top=1)["text"].tolist()
    ['满意度：50（通常为70），提高流失风险（几率×6.5）']
    """
    check_lang(lang)
    cfg = load_churn_config(config)
    out = model.drivers(X, top, direction=direction, combine=SIGNAL_SOURCES)
    names = {**{key: entry.text(lang) for key, entry in cfg.features.items()}, **(labels or {})}
    words = {key: getattr(cfg.explanations, key).text(lang) for key in ("text", "raises", "lowers", "missing", "yes", "no")}
    shown: dict = {}   # each (column, value) put into words once

    def said(column: str, value: Any) -> str:
        key = (column, value if isinstance(value, str) or not pd.isna(value) else None)
        if key not in shown:
            shown[key] = _format_value(_value_label(column, value, lang), words)
        return shown[key]

    out["text"] = pd.Series([
        words["text"].format(feature=names.get(column, column), value=said(column, value),
                             typical=said(column, typical), direction=words[sign], odds=_format_odds(c))
        for column, value, typical, sign, c in zip(out["feature"], out["value"], out["typical"], out["direction"],
                                                    out["contribution"], strict=True)
    ], index=out.index, dtype="str")
    return out


def driver_reasons(model: Any, X: Any, top: int = 3, *, lang: str = "zh", config: Any = None) -> pd.Series:
    """Each customer's ``top`` drivers that raise the model's churn risk, in one text.

    The sentences of :func:`explain_drivers` (``direction="raises"``), joined per customer
    with the language's separator; "" for a customer with none. A report asks it for the
    customers it shows, with :func:`~segkit.insights.churn.scoring.scoring_features`.

    Examples
    --------
    >>> import pandas as pd
    >>> from segkit.models import ChurnModel
    >>> X = pd.DataFrame({"satisfaction": [95.0, 85.0, 60.0, 40.0] * 25})
    >>> model = ChurnModel().fit(X, [0, 0, 1, 1] * 20 + [0, 1, 0, 0] * 5)
    >>> driver_reasons(model, X.iloc[[0, 3]], lang="en").tolist()   # 95 lowers the risk: no reason
    ['', 'satisfaction: 40 (typical: 70) raises churn risk (odds x10)']
    """
    if int(top) < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    index = X.index
    if not len(X) or int(top) == 0:
        return pd.Series("", index=index, dtype="str", name="top_reasons")
    drivers = explain_drivers(model, X, top, lang=lang, direction="raises", config=config)
    # a customer's drivers are consecutive rows, by rank: join each run of rows
    owners = drivers.index.to_numpy()
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.array([], dtype=int)
    texts = drivers["text"].tolist()
    separator = "；" if lang == "zh" else "; "
    joined = [separator.join(texts[a:b]) for a, b in zip(starts, [*starts[1:], len(texts)], strict=True)]
    return pd.Series(joined, index=owners[starts], dtype="str").reindex(index).fillna("").rename("top_reasons")

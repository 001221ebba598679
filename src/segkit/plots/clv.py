"""Figures for the CLV models: tracking chart and holdout comparison (matplotlib Figures)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segkit.models.clv_validation import HoldoutValidation

__all__ = ["plot_holdout", "plot_tracking"]

_TEXT = {
    "zh": {
        "actual": "实际",
        "expected": "模型预期",
        "tracking_title": "累计重复购买：实际 vs 模型",
        "tracking_y": "累计重复购买次数",
        "period": {"W": "周", "D": "天"},
        "calibration_end": "校准期结束",
        "holdout_title": "留存期购买：实际 vs 预测（按校准期频次）",
        "holdout_x": "校准期重复购买次数",
        "holdout_y": "留存期平均购买次数",
    },
    "en": {
        "actual": "Actual",
        "expected": "Model",
        "tracking_title": "Cumulative repeat purchases: actual vs model",
        "tracking_y": "Cumulative repeat purchases",
        "period": {"W": "Week", "D": "Day"},
        "calibration_end": "end of calibration",
        "holdout_title": "Holdout purchases: actual vs predicted, by calibration frequency",
        "holdout_x": "Repeat purchases in calibration",
        "holdout_y": "Mean purchases in holdout",
    },
}


def _text(lang: str) -> dict[str, Any]:
    if lang not in _TEXT:
        raise ValueError(f"lang={lang!r}; use 'zh' or 'en'")
    return _TEXT[lang]


def plot_tracking(
    tracking: pd.DataFrame,
    *,
    calibration_end: Any = None,
    incremental: bool = False,
    lang: str = "en",
) -> Figure:
    """Tracking chart of :func:`segkit.models.clv.repeat_purchase_tracking` (FHL 2005, Fig. 1).

    Parameters
    ----------
    tracking : DataFrame
        From ``repeat_purchase_tracking``.
    calibration_end : date-like or None
        Draws a vertical line at the period containing this date.
    incremental : bool, default False
        Per-period instead of cumulative purchases.
    lang : {"en", "zh"}, default "en"
    """
    text = _text(lang)
    suffix = "_incremental" if incremental else ""
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    x = tracking.index.to_numpy()
    ax.plot(x, tracking["actual" + suffix], color="black", label=text["actual"])
    ax.plot(x, tracking["expected" + suffix], color="tab:blue", linestyle="--",
            label=text["expected"])
    if calibration_end is not None:
        ends = tracking["period_end"].to_numpy()
        k = int(np.searchsorted(ends, np.datetime64(pd.Timestamp(calibration_end)), side="left"))
        if k < len(x):
            ax.axvline(x[k], color="grey", linestyle=":", label=text["calibration_end"])
    unit = tracking.attrs.get("btyd_unit", "W")
    ax.set_xlabel(text["period"].get(unit, unit))
    ax.set_ylabel(text["tracking_y"])
    ax.set_title(text["tracking_title"])
    ax.legend(loc="upper left" if not incremental else "upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_holdout(validation: HoldoutValidation, *, lang: str = "en") -> Figure:
    """Mean actual vs predicted holdout purchases by calibration frequency (FHL 2005, Fig. 3)."""
    text = _text(lang)
    table = validation.table
    fig = Figure(figsize=(7, 4.5))
    ax = fig.add_subplot()
    pos = np.arange(len(table))
    ax.plot(pos, table["actual"], marker="o", color="black", label=text["actual"])
    ax.plot(pos, table["predicted"], marker="s", linestyle="--", color="tab:blue",
            label=text["expected"])
    ax.set_xticks(pos, table.index.tolist())
    ax.set_xlabel(text["holdout_x"])
    ax.set_ylabel(text["holdout_y"])
    ax.set_title(text["holdout_title"])
    ax.legend(loc="upper left")
    ax.grid(alpha=0.3)
    ax.text(0.98, 0.04, f"ROC AUC = {validation.roc_auc:.3f}", transform=ax.transAxes,
            ha="right", va="bottom")
    fig.tight_layout()
    return fig

"""Figures for churn backtests: ROC curves, lift / gains chart, calibration curve.

Each function takes the result of :func:`segkit.insights.churn.backtest_churn` (or its ``scores``
table: ``churned`` plus one score column per method, higher = more likely to churn) and
returns a :class:`matplotlib.figure.Figure` built with :func:`segkit.plots.new_figure`
inside :func:`segkit.plots.style` (Chinese labels need a CJK font; use ``lang="en"``
without one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segkit.labels import check_lang
from segkit.plots import PALETTE, new_figure, style

__all__ = ["plot_roc", "plot_lift", "plot_calibration"]

#: Score columns of ``ChurnBacktest.scores`` drawn, in this order; higher = more risk.
METHODS = ("model", "model_btyd", "bgnbd", "rules")
_COLORS = {"model": PALETTE[0], "model_btyd": PALETTE[4], "bgnbd": PALETTE[3], "rules": PALETTE[5]}

_TEXT = {
    "zh": {
        "model": "流失模型", "model_btyd": "流失模型 + BTYD 特征", "bgnbd": "BG/NBD 不购买概率", "rules": "规则高风险名单", "chance": "随机",
        "roc": "ROC 曲线", "fpr": "误报率（未流失客户中被选出的比例）", "tpr": "命中率（流失客户中被选出的比例）",
        "gains": "累计命中", "lift": "累计提升度", "share": "按风险从高到低选出的客户比例",
        "captured": "流失客户被选出的比例", "calibration": "校准曲线",
        "predicted": "预测流失概率（分组平均）", "observed": "实际流失率", "perfect": "完全校准",
    },
    "en": {
        "model": "Churn model", "model_btyd": "Churn model + BTYD features", "bgnbd": "BG/NBD chance of no purchase", "rules": "Rule-based list", "chance": "Chance",
        "roc": "ROC curve", "fpr": "False positive rate", "tpr": "True positive rate",
        "gains": "Cumulative gains", "lift": "Cumulative lift", "share": "Share of customers, highest risk first",
        "captured": "Share of churners captured", "calibration": "Calibration",
        "predicted": "Predicted churn probability (bin mean)", "observed": "Observed churn rate", "perfect": "Perfectly calibrated",
    },
}


def _scores(result: Any) -> tuple[pd.DataFrame, str]:
    scores = getattr(result, "scores", result)
    if not isinstance(scores, pd.DataFrame) or "churned" not in scores:
        raise TypeError("pass the result of backtest_churn or a DataFrame with a 'churned' column and score columns")
    test_as_of = getattr(result, "test_as_of", None)
    return scores, (str(test_as_of.date()) if test_as_of is not None else "")


def _title(base: str, date: str, lang: str) -> str:
    if not date:
        return base
    return f"{base}（{date}）" if lang == "zh" else f"{base} ({date})"


def _methods(scores: pd.DataFrame, methods) -> list[str]:
    chosen = [m for m in (methods or METHODS) if m in scores.columns]
    if not chosen:
        raise ValueError(f"no score columns to draw; expected some of {list(methods or METHODS)}, found {list(scores.columns)}")
    return chosen


def plot_roc(result: Any, lang: str = "zh", methods: tuple[str, ...] | None = None) -> Figure:
    """ROC curves of the model and the baselines on the test customers, AUC in the legend.

    Parameters
    ----------
    result : ChurnBacktest or DataFrame
    lang : {"zh", "en"}, default "zh"
    methods : tuple of str, optional
        Score columns to draw (default: model, bgnbd, rules).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"churned": [0, 0, 1, 1], "model": [0.1, 0.4, 0.35, 0.8]})
    >>> fig = plot_roc(scores, lang="en")
    >>> fig.axes[0].get_legend().get_texts()[0].get_text()
    'Churn model (AUC 0.750)'
    """
    from sklearn.metrics import roc_auc_score, roc_curve

    check_lang(lang)
    text = _TEXT[lang]
    scores, date = _scores(result)
    y = scores["churned"].to_numpy()
    with style(lang):
        fig = new_figure(4.6, 4.2)
        ax = fig.subplots()
        for m in _methods(scores, methods):
            fpr, tpr, _ = roc_curve(y, scores[m].to_numpy())
            ax.plot(fpr, tpr, color=_COLORS.get(m), label=f"{text.get(m, m)} (AUC {roc_auc_score(y, scores[m]):.3f})")
        ax.plot([0, 1], [0, 1], ls=":", color="grey", label=text["chance"])
        ax.set_xlabel(text["fpr"])
        ax.set_ylabel(text["tpr"])
        ax.set_title(_title(text["roc"], date, lang))
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1.01)
        ax.legend(loc="lower right")
    return fig


def plot_lift(result: Any, lang: str = "zh", methods: tuple[str, ...] | None = None, top_share: float | None = None) -> Figure:
    """Cumulative gains (share of churners captured) and cumulative lift by share targeted.

    Ties (the yes/no rule list) are shared as in :func:`segkit.insights.churn.lift_capture`. A dotted
    line marks the top share of the backtest (default 10%).

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"churned": [1, 0, 0, 0] * 5, "model": [0.9, 0.2, 0.3, 0.1] * 5})
    >>> fig = plot_lift(scores, lang="en")
    >>> round(float(fig.axes[1].lines[0].get_ydata()[9]), 2)  # lift at 10%: every pick a churner
    4.0
    """
    from segkit.insights.churn import lift_capture

    check_lang(lang)
    text = _TEXT[lang]
    scores, date = _scores(result)
    top_share = getattr(result, "top_share", 0.10) if top_share is None else top_share
    y = scores["churned"].to_numpy()
    shares = np.arange(1, 101) / 100.0
    with style(lang):
        fig = new_figure(8.0, 3.6)
        gains_ax, lift_ax = fig.subplots(1, 2)
        for m in _methods(scores, methods):
            values = np.array([lift_capture(y, scores[m].to_numpy(), s) for s in shares])
            gains_ax.plot(np.r_[0, shares], np.r_[0, values[:, 1]], color=_COLORS.get(m), label=text.get(m, m))
            lift_ax.plot(shares, values[:, 0], color=_COLORS.get(m), label=text.get(m, m))
        gains_ax.plot([0, 1], [0, 1], ls=":", color="grey", label=text["chance"])
        lift_ax.axhline(1.0, ls=":", color="grey")
        for ax in (gains_ax, lift_ax):
            ax.axvline(top_share, ls="--", lw=0.8, color="grey")
            ax.set_xlabel(text["share"])
            ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        gains_ax.set_ylabel(text["captured"])
        gains_ax.yaxis.set_major_formatter(lambda v, _pos: f"{v:.0%}")
        lift_ax.set_ylabel(text["lift"])
        gains_ax.set_title(_title(text["gains"], date, lang))
        gains_ax.legend(loc="lower right")
    return fig


def plot_calibration(result: Any, lang: str = "zh", bins: int = 10, methods: tuple[str, ...] = ("model", "model_btyd", "bgnbd")) -> Figure:
    """Mean predicted probability against the observed churn rate, in bins of equal size.

    Uses ``result.calibration`` of a backtest; for a scores table the bins are computed with
    :func:`segkit.insights.churn.calibration_table`.

    Examples
    --------
    >>> import pandas as pd
    >>> scores = pd.DataFrame({"churned": [0, 0, 1, 1], "model": [0.1, 0.2, 0.7, 0.9]})
    >>> fig = plot_calibration(scores, lang="en", bins=2)
    >>> [round(float(v), 2) for v in fig.axes[0].lines[0].get_xdata()]
    [0.15, 0.8]
    """
    from segkit.insights.churn import calibration_table

    check_lang(lang)
    text = _TEXT[lang]
    scores, date = _scores(result)
    table = getattr(result, "calibration", None)
    with style(lang):
        fig = new_figure(4.6, 4.2)
        ax = fig.subplots()
        for m in methods:
            if table is not None and m in table.index.get_level_values("method"):
                part = table.loc[m]
            elif m in scores:
                part = calibration_table(scores["churned"], scores[m], bins)
            else:
                continue
            ax.plot(part["predicted"], part["observed"], marker="o", ms=4, color=_COLORS.get(m), label=text.get(m, m))
        ax.plot([0, 1], [0, 1], ls=":", color="grey", label=text["perfect"])
        ax.set_xlabel(text["predicted"])
        ax.set_ylabel(text["observed"])
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(_title(text["calibration"], date, lang))
        ax.legend(loc="upper left")
    return fig

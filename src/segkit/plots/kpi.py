"""Figures for KPIs, A/B tests and record-maintenance cadence.

Each function takes a result table (from :func:`~segkit.insights.kpi.kpis`,
:func:`~segkit.insights.abtest.ab_evaluate`, :func:`~segkit.insights.cadence.cadence_summary`)
and returns a :class:`matplotlib.figure.Figure` built with :func:`segkit.plots.new_figure`
inside :func:`segkit.plots.style` (Chinese labels need a CJK font such as Noto Sans CJK SC;
use ``lang="en"`` without one).
"""

from __future__ import annotations

from collections.abc import Sequence

import textwrap

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter

from segkit.insights.abtest import describe_ab
from segkit.insights.kpi import TOTAL, kpi_definitions
from segkit.labels import check_lang, kinds, label
from segkit.plots import PALETTE, TIER_COLORS, freeze_fonts, new_figure, style

__all__ = ["plot_kpis", "plot_ab_result", "plot_cadence"]

#: KPI columns that are shares (plotted as percentages).
RATE_COLUMNS = {"revenue_share", "retention_rate", "repurchase_rate", "repeat_revenue_share", "complaint_rate", "clv_growth"}
VERDICT_COLORS = {"roll_out": "#27ae60", "keep_testing": "#f39c12", "no_effect": "#7f8c8d"}

_METRICS = {
    "repurchase": {"zh": "复购率", "en": "Repurchase rate"},
    "orders": {"zh": "订单数", "en": "Orders"},
    "revenue": {"zh": "交易额（元）", "en": "Revenue (CNY)"},
}

_TEXT = {
    "zh": {"total": "全部客户", "difference": "差值：实验组 − 对照组", "min_effect": "最小有意义差值",
           "ab_title": "A/B测试：{metric}", "overdue": "逾期未更新", "on_time": "按期更新",
           "unknown": "无法判断", "customers": "客户数", "cadence_title": "档案更新：各负责人逾期情况"},
    "en": {"total": "All customers", "difference": "Difference (treatment − control)", "min_effect": "Smallest worthwhile difference",
           "ab_title": "A/B test: {metric}", "overdue": "Overdue", "on_time": "Up to date",
           "unknown": "Unknown", "customers": "Customers", "cadence_title": "Record maintenance: overdue records per owner"},
}


def _group_labels(keys: Sequence[str], by: str | None, lang: str) -> list[str]:
    kind = {"tier": "tier", "rule_tier": "tier"}.get(by or "", by)
    if kind in kinds():
        return [label(kind, k, lang) for k in keys]
    return [str(k) for k in keys]


def plot_kpis(
    table: pd.DataFrame,
    metrics: Sequence[str] = ("retention_rate", "repurchase_rate", "nps", "cross_sell_rate"),
    lang: str = "zh",
) -> Figure:
    """Small multiples: one bar chart per KPI across the groups, the total as a dashed line.

    Parameters
    ----------
    table : DataFrame
        From :func:`segkit.insights.kpi.kpis`.
    metrics : sequence of str
        KPI columns to show (rates are drawn as percentages).
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_lang(lang)
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        raise ValueError(f"the KPI table has no column(s) {missing}; columns: {list(table.columns)}")
    titles = kpi_definitions(lang, period=table.attrs.get("period", "Q"))["label"]
    groups = table.drop(index=TOTAL, errors="ignore")
    by = table.attrs.get("by")
    names = _group_labels(list(groups.index), by, lang)
    colors = [TIER_COLORS.get(k, PALETTE[i % len(PALETTE)]) if by == "tier" else PALETTE[1]
              for i, k in enumerate(groups.index)]
    n = len(metrics)
    cols = min(n, 2)
    rows = int(np.ceil(n / cols))
    horizontal = len(names) > 5  # many groups: horizontal bars keep the names readable
    height = (0.22 * len(names) + 1.0) if horizontal else 2.6
    with style(lang):
        fig = new_figure(7.0, height * rows + 0.4)
        axes = np.atleast_1d(fig.subplots(rows, cols, squeeze=False)).ravel()
        for i, (ax, metric) in enumerate(zip(axes, metrics)):
            values = np.nan_to_num(groups[metric].astype("float64").to_numpy())
            pos = np.arange(len(values))
            total = table.loc[TOTAL, metric] if TOTAL in table.index else np.nan
            formatter = PercentFormatter(1.0) if metric in RATE_COLUMNS else None
            if horizontal:
                ax.barh(pos[::-1], values, color=colors)
                ax.set_yticks(pos[::-1], names if i % cols == 0 else [""] * len(names))
                if np.isfinite(total):
                    ax.axvline(float(total), color="#333333", linestyle="--", linewidth=0.9, label=_TEXT[lang]["total"])
                if formatter:
                    ax.xaxis.set_major_formatter(formatter)
                if metric == "nps":
                    ax.axvline(0, color="#999999", linewidth=0.6)
            else:
                ax.bar(pos, values, color=colors)
                ax.set_xticks(pos, names)
                if np.isfinite(total):
                    ax.axhline(float(total), color="#333333", linestyle="--", linewidth=0.9, label=_TEXT[lang]["total"])
                if formatter:
                    ax.yaxis.set_major_formatter(formatter)
                if metric == "nps":
                    ax.axhline(0, color="#999999", linewidth=0.6)
            ax.set_title(textwrap.fill(titles.get(metric, metric), 30 if lang == "en" else 16))
        for ax in axes[n:]:
            ax.set_visible(False)
        handles, labels_ = axes[0].get_legend_handles_labels()
        if handles:
            fig.legend(handles, labels_, loc="outside lower center", ncols=1)
        freeze_fonts(fig)
    return fig


def plot_ab_result(result: pd.DataFrame, lang: str = "zh") -> Figure:
    """Difference between the groups with its confidence interval, one line per row.

    Parameters
    ----------
    result : DataFrame
        From :func:`segkit.insights.abtest.ab_evaluate`; points are coloured by verdict,
        the smallest worthwhile difference is a dotted line.
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_lang(lang)
    text = _TEXT[lang]
    verdicts = describe_ab(result, lang)["verdict_label"]
    rate = (result["kind"] == "rate").all()
    scale = 100.0 if rate else 1.0
    by = result.index.name if result.index.name != "group" else None
    names = [text["total"] if k == "total" else n for k, n in zip(result.index, _group_labels(list(result.index), by, lang))]
    with style(lang):
        fig = new_figure(6.5, 0.45 * len(result) + 1.6)
        ax = fig.subplots()
        y = np.arange(len(result))[::-1]
        for yi, (key, row) in zip(y, result.iterrows()):
            color = VERDICT_COLORS.get(row["verdict"], PALETTE[0])
            ax.plot([row["ci_low"] * scale, row["ci_high"] * scale], [yi, yi], color=color, linewidth=2.2)
            ax.plot(row["difference"] * scale, yi, "o", color=color)
            ax.annotate(verdicts[key], (row["ci_high"] * scale, yi), xytext=(6, 0), textcoords="offset points",
                        va="center", fontsize=8, color=color)
        ax.axvline(0, color="#333333", linewidth=0.8)
        effect = result["min_effect"].iloc[-1]
        if np.isfinite(effect):
            ax.axvline(effect * scale, color="#999999", linestyle=":", linewidth=1.0, label=text["min_effect"])
            fig.legend(loc="outside lower center")
        ax.set_yticks(y, names)
        unit = " (pp)" if rate and lang == "en" else "（百分点）" if rate else ""
        ax.set_xlabel(text["difference"] + unit)
        metric = str(result["metric"].iloc[0])
        ax.set_title(text["ab_title"].format(metric=_METRICS.get(metric, {}).get(lang, metric)))
        freeze_fonts(fig)
    return fig


def plot_cadence(summary: pd.DataFrame, lang: str = "zh") -> Figure:
    """Records per owner: up to date, overdue and unknown, as stacked horizontal bars.

    Parameters
    ----------
    summary : DataFrame
        From :func:`segkit.insights.cadence.cadence_summary`.
    lang : {"zh", "en"}, default "zh"

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_lang(lang)
    text = _TEXT[lang]
    rows = summary.drop(index="total", errors="ignore")
    overdue = rows["overdue"].to_numpy()
    unknown = rows["status_unknown"].to_numpy()
    on_time = rows["customers"].to_numpy() - overdue - unknown
    with style(lang):
        fig = new_figure(6.5, 0.32 * len(rows) + 1.4)
        ax = fig.subplots()
        y = np.arange(len(rows))[::-1]
        ax.barh(y, overdue, color="#c0392b", label=text["overdue"])
        ax.barh(y, on_time, left=overdue, color="#85c1e9", label=text["on_time"])
        if unknown.any():
            ax.barh(y, unknown, left=overdue + on_time, color="#b3b6b7", label=text["unknown"])
        for yi, n, share in zip(y, overdue, rows["overdue_share"].to_numpy()):
            ax.annotate(f"{int(n)} ({share:.0%})", (n, yi), xytext=(3, 0), textcoords="offset points",
                        va="center", fontsize=7, color="white" if n > rows["customers"].max() * 0.15 else "#333333")
        ax.set_yticks(y, [str(k) for k in rows.index])
        ax.set_xlabel(text["customers"])
        ax.set_title(text["cadence_title"])
        ax.legend(loc="lower right")
        freeze_fonts(fig)
    return fig

"""Figures for segmentation results. Each function takes a result table and returns a Figure.

Figures are built with :func:`segkit.plots.new_figure` inside :func:`segkit.plots.style`
and end with :func:`segkit.plots.freeze_fonts`, so Chinese labels keep the CJK font when the
figure is drawn later (Noto Sans CJK SC; use ``lang="en"`` without one).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segkit.insights.migration import LOST, NEW, Migration
from segkit.labels import check_lang, money, money_scale
from segkit.plots import PALETTE, TIER_COLORS, freeze_fonts, new_figure, style
from segkit.segment.rules import RuleSet
from segkit.segment.tiers import load_tiers_config

__all__ = ["plot_tier_distribution", "plot_rfm_heatmap", "plot_rfm_segments", "plot_migration", "plot_tag_review"]

_TEXT = {
    "zh": {
        "customers": "客户数",
        "review": "需复核",
        "clear": "无需复核",
        "tiers": "客户关系划分",
        "r": "R 得分（最近消费）",
        "f": "F 得分（消费频次）",
        "mean_m": "平均 M 得分",
        "segments": "RFM 客户分群",
        "previous": "上期",
        "current": "本期",
        "migration_counts": "客户层级迁移（客户数）",
        "migration_revenue": "客户层级迁移（近12个月交易额，{unit}）",
        "new": "新增客户",
        "lost": "流失/移出",
        "tag_review": "标签复盘：标记与未标记客户的复购率差异",
        "diff": "复购率差异（百分点）",
        "separates": "区分有效",
        "not_separates": "未能区分",
    },
    "en": {
        "customers": "Customers",
        "review": "Needs review",
        "clear": "Clear",
        "tiers": "Tiers",
        "r": "R score (recency)",
        "f": "F score (frequency)",
        "mean_m": "mean M score",
        "segments": "RFM segments",
        "previous": "Previous quarter",
        "current": "Current quarter",
        "migration_counts": "Tier migration (customers)",
        "migration_revenue": "Tier migration (12-month revenue, {unit})",
        "new": "New",
        "lost": "Lost",
        "tag_review": "Tag review: repurchase rate, tagged minus untagged",
        "diff": "Difference in repurchase rate (points)",
        "separates": "separates",
        "not_separates": "does not separate",
    },
}


def plot_tier_distribution(tiers: pd.DataFrame, lang: str = "zh", config: Any = None) -> Figure:
    """Customers per tier, split into those that need review and those that do not.

    Parameters
    ----------
    tiers : DataFrame
        From :func:`segkit.segment.tiers.assign_tiers`.
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
        Tiers configuration (order and labels).

    Returns
    -------
    matplotlib.figure.Figure
    """
    check_lang(lang)
    text = _TEXT[lang]
    cfg = load_tiers_config(config)
    rules = RuleSet(cfg, "tiers")
    order = [t for t in cfg.order] + [t for t in pd.unique(tiers["tier"]) if t not in cfg.order]
    review = tiers["needs_review"].astype(bool)
    clear_counts = tiers.loc[~review, "tier"].value_counts().reindex(order, fill_value=0)
    review_counts = tiers.loc[review, "tier"].value_counts().reindex(order, fill_value=0)
    with style(lang):
        fig = new_figure(6.5, 3.4)
        ax = fig.subplots()
        x = np.arange(len(order))
        colors = [TIER_COLORS.get(t, PALETTE[i % len(PALETTE)]) for i, t in enumerate(order)]
        ax.bar(x, clear_counts.to_numpy(), color=colors, label=text["clear"])
        ax.bar(x, review_counts.to_numpy(), bottom=clear_counts.to_numpy(), color=TIER_COLORS["borderline"], label=text["review"])
        for xi, total in zip(x, clear_counts.to_numpy() + review_counts.to_numpy()):
            ax.annotate(f"{int(total)}", (xi, total), ha="center", va="bottom", fontsize=8)
        ax.set_xticks(x, [rules.label(t, lang) for t in order])
        ax.set_ylabel(text["customers"])
        ax.set_title(text["tiers"])
        ax.legend()
        freeze_fonts(fig)
    return fig


def plot_rfm_heatmap(rfm: pd.DataFrame, lang: str = "zh", monetary: pd.Series | None = None, currency: str | None = None) -> Figure:
    """Customers per (R score, F score) cell, annotated with the count and mean M score.

    Parameters
    ----------
    rfm : DataFrame
        From :func:`segkit.segment.rfm.rfm_scores`.
    lang : {"zh", "en"}, default "zh"
    monetary : Series, optional
        Money per customer (e.g. ``snapshot["revenue_total"]``); when given, cells show the
        average of it (万元 in zh, CNY k in en) instead of the mean M score.
    currency : str, optional
        ISO code of ``monetary``; default ``monetary.attrs["currency"]`` or CNY
        (see :func:`segkit.labels.money_scale`).
    """
    check_lang(lang)
    text = _TEXT[lang]
    scored = rfm.dropna(subset=["r_score", "f_score"])
    r = scored["r_score"].astype(int)
    f = scored["f_score"].astype(int)
    r_levels = list(range(int(r.min()) if len(r) else 1, (int(r.max()) if len(r) else 1) + 1))
    f_levels = list(range(int(f.min()) if len(f) else 1, (int(f.max()) if len(f) else 1) + 1))
    counts = pd.crosstab(r, f).reindex(index=r_levels, columns=f_levels, fill_value=0)
    if monetary is None:
        values, fmt = scored["m_score"].astype(float), "M {:.1f}".format
    else:
        code = currency or monetary.attrs.get("currency") or "CNY"
        values = pd.to_numeric(monetary.reindex(scored.index), errors="coerce")
        fmt = lambda v: money(v, lang, code)  # noqa: E731
    mean_m = scored.assign(_m=values).groupby([r, f])["_m"].mean().unstack().reindex(index=r_levels, columns=f_levels)
    with style(lang):
        fig = new_figure(5.5, 4.2)
        ax = fig.subplots()
        image = ax.imshow(counts.to_numpy(), origin="lower", cmap="Blues", aspect="auto")
        for i, rv in enumerate(r_levels):
            for j, fv in enumerate(f_levels):
                n = counts.at[rv, fv]
                if n:
                    m = mean_m.at[rv, fv]
                    ax.text(j, i, f"{n}\n{fmt(m)}", ha="center", va="center", fontsize=7,
                            color="white" if n > counts.to_numpy().max() / 2 else "black")
        ax.set_xticks(range(len(f_levels)), [str(v) for v in f_levels])
        ax.set_yticks(range(len(r_levels)), [str(v) for v in r_levels])
        ax.set_xlabel(text["f"])
        ax.set_ylabel(text["r"])
        ax.grid(False)
        fig.colorbar(image, ax=ax, label=text["customers"])
        freeze_fonts(fig)
    return fig


def plot_rfm_segments(rfm: pd.DataFrame, lang: str = "zh") -> Figure:
    """Customers per RFM segment (horizontal bars, largest first)."""
    check_lang(lang)
    text = _TEXT[lang]
    from segkit.segment.rfm import explain_rfm

    labels = explain_rfm(rfm, lang)["rfm_segment_label"]
    counts = labels.value_counts().sort_values()
    with style(lang):
        fig = new_figure(6.0, max(2.5, 0.32 * len(counts) + 1))
        ax = fig.subplots()
        ax.barh(counts.index.astype(str), counts.to_numpy(), color=PALETTE[1])
        for y, n in enumerate(counts.to_numpy()):
            ax.annotate(f"{int(n)}", (n, y), va="center", ha="left", fontsize=8, xytext=(2, 0), textcoords="offset points")
        ax.set_xlabel(text["customers"])
        ax.set_title(text["segments"])
        freeze_fonts(fig)
    return fig


def plot_migration(result: Migration, lang: str = "zh", value: str = "counts", config: Any = None, currency: str = "CNY") -> Figure:
    """Transition matrix as a heatmap (previous tier in rows, current tier in columns).

    Parameters
    ----------
    result : Migration
        From :func:`segkit.insights.migration.migration` (with or without ``lang``).
    value : {"counts", "revenue"}, default "counts"
        Customers, or revenue in 万元 / CNY k (the dataset's currency, see ``currency``).
    currency : str, default "CNY"
        ISO code of the revenue (:func:`segkit.labels.money_scale`).
    """
    check_lang(lang)
    if value not in ("counts", "revenue"):
        raise ValueError(f"value must be 'counts' or 'revenue', got {value!r}")
    text = _TEXT[lang]
    matrix = result.counts if value == "counts" else result.revenue
    if matrix is None:
        raise ValueError("this migration has no revenue matrix; call migration(..., revenue=...)")
    scale, unit = money_scale(lang, currency)
    data = matrix.to_numpy(dtype=float) / (1.0 if value == "counts" else scale)
    rules = RuleSet(load_tiers_config(config), "tiers")
    names = {t: rules.label(t, lang) for t in result.order} | {NEW: text["new"], LOST: text["lost"]}
    rows = [names.get(k, str(k)) for k in matrix.index]
    cols = [names.get(k, str(k)) for k in matrix.columns]
    with style(lang):
        fig = new_figure(6.5, 4.2)
        ax = fig.subplots()
        ax.imshow(data, cmap="Blues", aspect="auto")
        top = data.max() if data.size else 0
        for i in range(data.shape[0]):
            for j in range(data.shape[1]):
                v = data[i, j]
                if v:
                    ax.text(j, i, f"{v:.0f}" if value == "counts" else f"{v:.1f}", ha="center", va="center",
                            fontsize=8, color="white" if v > top / 2 else "black")
        ax.set_xticks(range(len(cols)), cols)
        ax.set_yticks(range(len(rows)), rows)
        ax.set_xlabel(text["current"])
        ax.set_ylabel(text["previous"])
        ax.set_title(text["migration_counts"] if value == "counts" else text["migration_revenue"].format(unit=unit))
        ax.grid(False)
        freeze_fonts(fig)
    return fig


def plot_tag_review(review: pd.DataFrame, lang: str = "zh") -> Figure:
    """Repurchase-rate difference (tagged minus untagged) per tag, coloured by separation.

    Parameters
    ----------
    review : DataFrame
        From :func:`segkit.segment.tags.tag_review` (tags are labelled here, in ``lang``).
    """
    from segkit.segment.tags import label_tags

    check_lang(lang)
    text = _TEXT[lang]
    shown = review[review["n_tagged"] > 0].dropna(subset=["repurchase_diff"]).sort_values("repurchase_diff")
    shown = shown.assign(tag_label=label_tags(shown, lang)["tag_label"])
    with style(lang):
        fig = new_figure(7.0, max(2.5, 0.3 * len(shown) + 1))
        ax = fig.subplots()
        colors = [PALETTE[0] if s else TIER_COLORS["borderline"] for s in shown["separates"]]
        ax.barh(shown["tag_label"].astype(str), shown["repurchase_diff"].to_numpy() * 100, color=colors)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_xlabel(text["diff"])
        ax.set_title(text["tag_review"])
        from matplotlib.patches import Patch

        ax.legend(handles=[Patch(color=PALETTE[0], label=text["separates"]), Patch(color=TIER_COLORS["borderline"], label=text["not_separates"])])
        freeze_fonts(fig)
    return fig

"""Figures for trends over quarters and the flows between tiers.

:func:`plot_trends` draws the table of :func:`segkit.insights.trends.quarterly_trends` as small
multiples (tier mix, revenue, retention, NPS); :func:`plot_segment_flow` draws the table of
:func:`segkit.insights.trends.segment_flows` as an alluvial chart, with matplotlib only.

Words come from the caller (the report's label YAML): every title, axis label and tier name is
in ``labels``; without them the keys are shown. Money axes use one unit for the whole axis
(:func:`segkit.labels.money_scale`, e.g. 万元 or CNY k) and plain tick numbers, never a ``1e6``
offset. Tiers keep the report's colours (:data:`segkit.plots.TIER_COLORS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import PathPatch, Rectangle
from matplotlib.path import Path
from matplotlib.ticker import FuncFormatter, PercentFormatter

from segkit.labels import money_scale
from segkit.plots import PALETTE, TIER_COLORS, freeze_fonts, new_figure, style

__all__ = ["plot_trends", "plot_segment_flow"]

#: The words :func:`plot_trends` and :func:`plot_segment_flow` look up in ``labels`` (and tier
#: keys, ``new`` and ``lost``); a missing one shows its key.
LABEL_KEYS = ("title", "tier_mix", "customers", "revenue", "revenue_quarter", "revenue_12m", "retention_rate", "nps",
              "flow_title")


def _words(labels: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k): str(v) for k, v in (labels or {}).items()}


def _style_lang(words: Mapping[str, str]) -> str:
    # Chinese words need the CJK font, and segkit's style says so clearly when it is missing
    return "zh" if any(ord(ch) > 127 for text in words.values() for ch in text) else "en"


def _color(key: str, i: int) -> str:
    return TIER_COLORS.get(key, PALETTE[i % len(PALETTE)])


def _plain_numbers(ax, axis: str = "y") -> None:
    """Tick labels as plain numbers with thousands separators: no ``1e6`` offset."""
    formatter = FuncFormatter(lambda v, _pos: f"{v:,.0f}" if abs(v) >= 10 or v == int(v) else f"{v:,.1f}")
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def plot_trends(
    trends: pd.DataFrame,
    labels: Mapping[str, Any] | None = None,
    *,
    money: tuple[float, str] | None = None,
) -> Figure:
    """Tier mix, revenue, retention and NPS per quarter, as four small multiples.

    Parameters
    ----------
    trends : DataFrame
        From :func:`segkit.insights.trends.quarterly_trends` (its ``attrs["tier_order"]`` names
        the tier columns).
    labels : mapping, optional
        Words for the chart: ``title``, ``tier_mix``, ``customers``, ``revenue``,
        ``revenue_quarter``, ``revenue_12m``, ``retention_rate``, ``nps`` and one per tier key.
    money : (divisor, unit), optional
        Scale of the revenue axis, e.g. ``segkit.labels.money_scale("zh", "CNY")`` ->
        ``(10000.0, "万元")``. Default: ``money_scale("en", currency, largest)`` with the
        table's currency.

    Returns
    -------
    Figure
        Four axes: tier mix (stacked bars), revenue (quarter bars, 12-month line), retention,
        NPS; quarters on the x axis, oldest first.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"quarter": ["2026Q2", "2026Q3"], "core": [3, 4], "low_value": [5, 5],
    ...                   "customers": [8, 9], "revenue_quarter": [1.2e6, 1.5e6], "revenue_12m": [4.0e6, 4.6e6],
    ...                   "retention_rate": [0.5, 0.6], "nps": [-10.0, 5.0]})
    >>> t.attrs.update(tier_order=["core", "low_value"], currency="CNY")
    >>> fig = plot_trends(t, {"revenue": "Revenue", "core": "Core"})
    >>> [ax.get_ylabel() for ax in fig.axes][:2]
    ['customers', 'Revenue (CNY M)']
    """
    words = _words(labels)
    word = lambda key: words.get(key, key)  # noqa: E731
    tiers = list(trends.attrs.get("tier_order") or [])
    missing = [c for c in [*tiers, "quarter", "revenue_quarter", "revenue_12m", "retention_rate", "nps"] if c not in trends]
    if missing:
        raise KeyError(f"the trends table lacks {missing}; make it with segkit.insights.trends.quarterly_trends")
    if money is None:
        largest = float(np.nanmax(np.abs(trends[["revenue_quarter", "revenue_12m"]].to_numpy(float)))) if len(trends) else None
        money = money_scale("en", trends.attrs.get("currency") or "CNY", largest)
    scale, unit = money
    x = np.arange(len(trends))
    quarters = trends["quarter"].astype("str").tolist()
    with style(_style_lang(words)):
        fig = new_figure(9.0, 6.0)
        axes = fig.subplots(2, 2, sharex=True)
        mix, revenue, retention, nps = axes.ravel()

        bottom = np.zeros(len(trends))
        for i, tier in enumerate(tiers):
            values = trends[tier].to_numpy(float)
            mix.bar(x, values, bottom=bottom, color=_color(tier, i), label=word(tier), width=0.7)
            bottom += values
        mix.set_title(word("tier_mix"))
        mix.set_ylabel(word("customers"))
        mix.legend(loc="upper left", ncols=2)
        _plain_numbers(mix)

        revenue.bar(x, trends["revenue_quarter"].to_numpy(float) / scale, color=PALETTE[1], width=0.7, label=word("revenue_quarter"))
        revenue.plot(x, trends["revenue_12m"].to_numpy(float) / scale, color=PALETTE[0], marker="o", label=word("revenue_12m"))
        revenue.set_title(word("revenue"))
        revenue.set_ylabel(f"{word('revenue')} ({unit})")
        revenue.set_ylim(bottom=0)
        revenue.legend(loc="upper left")
        _plain_numbers(revenue)

        retention.plot(x, trends["retention_rate"].to_numpy(float), color=PALETTE[0], marker="o")
        retention.set_title(word("retention_rate"))
        retention.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        retention.set_ylim(0, 1)

        nps.plot(x, trends["nps"].to_numpy(float), color=PALETTE[4], marker="o")
        nps.axhline(0, color="#555555", lw=0.8)
        nps.set_title(word("nps"))
        nps.set_ylim(-100, 100)
        _plain_numbers(nps)

        for ax in axes[1]:
            ax.set_xticks(x, quarters, rotation=45 if len(x) > 6 else 0)
        if "title" in words:
            fig.suptitle(words["title"])
        return freeze_fonts(fig)


def _band(x0: float, x1: float, top0: float, bottom0: float, top1: float, bottom1: float) -> Path:
    """A ribbon from ``[bottom0, top0]`` at ``x0`` to ``[bottom1, top1]`` at ``x1`` (cubic curves)."""
    xm = (x0 + x1) / 2
    verts = [(x0, top0), (xm, top0), (xm, top1), (x1, top1), (x1, bottom1), (xm, bottom1), (xm, bottom0), (x0, bottom0), (x0, top0)]
    codes = [Path.MOVETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.LINETO, Path.CURVE4, Path.CURVE4, Path.CURVE4, Path.CLOSEPOLY]
    return Path(verts, codes)


def _stack(sizes: Mapping[str, float], keys: list[str], gap: float) -> dict[str, tuple[float, float]]:
    """(top, bottom) of each non-empty node, stacked downwards from 0 in ``keys`` order."""
    spans, top = {}, 0.0
    for key in keys:
        size = float(sizes.get(key, 0.0))
        if size > 0:
            spans[key] = (top, top - size)
            top -= size + gap
    return spans


def plot_segment_flow(flows: pd.DataFrame, labels: Mapping[str, Any] | None = None) -> Figure:
    """Customers flowing between tiers from quarter to quarter (an alluvial chart).

    Each quarter is a column of nodes, one per tier (height = customers), with ``new``
    customers entering from below on the left of a step and ``lost`` ones leaving below on its
    right; ribbons carry the customers from tier to tier in the colour of the tier they left.

    Parameters
    ----------
    flows : DataFrame
        From :func:`segkit.insights.trends.segment_flows`.
    labels : mapping, optional
        ``flow_title`` and a name per tier key, ``new`` and ``lost``.

    Returns
    -------
    Figure
        One axes: quarters on the x axis, nodes stacked downwards in tier order.

    Examples
    --------
    >>> import pandas as pd
    >>> f = pd.DataFrame({"from_quarter": ["2026Q2"] * 4, "to_quarter": ["2026Q3"] * 4,
    ...                   "from_tier": ["core", "core", "low_value", "new"],
    ...                   "to_tier": ["core", "low_value", "low_value", "core"], "customers": [3, 1, 5, 2]})
    >>> f.attrs["tier_order"] = ["core", "low_value"]
    >>> fig = plot_segment_flow(f, {"core": "Core"})
    >>> len(fig.axes[0].patches)   # 4 ribbons, 2 nodes at 2026Q2 + new, 2 nodes at 2026Q3
    9
    """
    words = _words(labels)
    word = lambda key: words.get(key, key)  # noqa: E731
    missing = [c for c in ("from_quarter", "to_quarter", "from_tier", "to_tier", "customers") if c not in flows]
    if missing:
        raise KeyError(f"the flows table lacks {missing}; make it with segkit.insights.trends.segment_flows")
    new, lost = flows.attrs.get("new", "new"), flows.attrs.get("lost", "lost")
    order = list(flows.attrs.get("tier_order") or [])
    order += [t for t in pd.unique(pd.concat([flows["from_tier"], flows["to_tier"]])) if t not in order and t not in (new, lost)]
    colors = {t: _color(t, i) for i, t in enumerate(order)} | {new: TIER_COLORS["new"], lost: TIER_COLORS["lost"]}
    steps = list(dict.fromkeys(zip(flows["from_quarter"], flows["to_quarter"])))
    quarters = list(dict.fromkeys([q for step in steps for q in step]))
    width = 0.08
    with style(_style_lang(words)):
        fig = new_figure(9.0, 4.8)
        ax = fig.subplots()
        largest = flows.groupby("to_quarter")["customers"].sum().max() if len(flows) else 1
        gap = 0.03 * float(largest)
        drawn: set[tuple[int, str]] = set()

        def node(xi: int, key: str, span: tuple[float, float]) -> None:
            if (xi, key) in drawn:
                return
            drawn.add((xi, key))
            ax.add_patch(Rectangle((xi - width / 2, span[1]), width, span[0] - span[1], color=colors[key], lw=0))

        for left_q, right_q in steps:
            step = flows.loc[(flows["from_quarter"] == left_q) & (flows["to_quarter"] == right_q)]
            x0, x1 = quarters.index(left_q), quarters.index(right_q)
            left = _stack(step.groupby("from_tier")["customers"].sum(), [*order, new], gap)
            right = _stack(step.groupby("to_tier")["customers"].sum(), [*order, lost], gap)
            out_used = {k: 0.0 for k in left}
            in_used = {k: 0.0 for k in right}
            rank = {k: i for i, k in enumerate([*order, new, lost])}
            step = step.assign(_f=step["from_tier"].map(rank), _t=step["to_tier"].map(rank)).sort_values(["_f", "_t"])
            for row in step.itertuples(index=False):
                size = float(row.customers)
                top0 = left[row.from_tier][0] - out_used[row.from_tier]
                top1 = right[row.to_tier][0] - in_used[row.to_tier]
                out_used[row.from_tier] += size
                in_used[row.to_tier] += size
                ax.add_patch(PathPatch(_band(x0 + width / 2, x1 - width / 2, top0, top0 - size, top1, top1 - size),
                                       facecolor=colors[row.from_tier], alpha=0.45, lw=0))
            for key, span in left.items():
                node(x0, key, span)
            for key, span in right.items():
                node(x1, key, span)
            if x0 == 0:
                for key, (top, bottom) in left.items():
                    if key == new:
                        continue  # labelled below, as at every step
                    ax.text(x0 - width, (top + bottom) / 2, word(key), ha="right", va="center", fontsize=8)
            for key in (new, lost):
                spans = left if key == new else right
                if key in spans:
                    xi = x0 if key == new else x1
                    ax.text(xi + (width if key == lost else -width), sum(spans[key]) / 2, word(key),
                            ha="left" if key == lost else "right", va="center", fontsize=7, color=colors[key])
        ax.set_xticks(range(len(quarters)), quarters)
        ax.set_xlim(-0.6, len(quarters) - 0.4)
        ax.autoscale(axis="y")
        ax.set_yticks([])
        ax.grid(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(side == "bottom")
        if "flow_title" in words:
            ax.set_title(words["flow_title"])
        return freeze_fonts(fig)

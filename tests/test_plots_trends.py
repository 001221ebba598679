"""Trend and flow figures: what is drawn carries the table's numbers, one money unit per axis,
no offset, the report's tier colours."""

from __future__ import annotations

import matplotlib.colors as mcolors
import numpy as np
import pandas as pd
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.patches import PathPatch, Rectangle

from segkit.labels import money_scale
from segkit.plots import TIER_COLORS
from segkit.plots.trends import plot_segment_flow, plot_trends


@pytest.fixture
def trends():
    t = pd.DataFrame({"quarter": ["2026Q1", "2026Q2", "2026Q3"], "core": [3, 4, 4], "potential": [2, 2, 3],
                      "low_value": [5, 5, 6], "customers": [10, 11, 13],
                      "revenue_quarter": [1_200_000.0, 1_500_000.0, 900_000.0],
                      "revenue_12m": [4_000_000.0, 4_600_000.0, 4_900_000.0],
                      "retention_rate": [np.nan, 0.5, 0.75], "nps": [-10.0, 5.0, 20.0]})
    t.attrs.update(tier_order=["core", "potential", "low_value"], currency="CNY")
    return t


def test_trends_panels_carry_the_numbers_in_one_unit(trends):
    fig = plot_trends(trends, {"revenue": "交易额", "customers": "客户数", "core": "核心客户"},
                      money=money_scale("zh", "CNY"))
    FigureCanvasAgg(fig).draw()
    mix, revenue, retention, nps = fig.axes
    assert revenue.get_ylabel() == "交易额 (万元)"
    assert revenue.yaxis.get_offset_text().get_text() == ""           # no "1e6" above the axis
    bars = [p for p in revenue.patches if isinstance(p, Rectangle)]
    assert [round(b.get_height(), 6) for b in bars] == [120.0, 150.0, 90.0]   # 万元
    assert revenue.lines[0].get_ydata().tolist() == [400.0, 460.0, 490.0]
    # stacked tier bars: heights are the counts, colours the report's tier colours
    heights = [round(p.get_height()) for p in mix.patches]
    assert heights == [3, 4, 4, 2, 2, 3, 5, 5, 6]
    assert mcolors.to_hex(mix.patches[0].get_facecolor()) == TIER_COLORS["core"]
    assert mcolors.to_hex(mix.patches[6].get_facecolor()) == TIER_COLORS["low_value"]
    assert [t.get_text() for t in mix.get_legend().get_texts()] == ["核心客户", "potential", "low_value"]
    assert np.isnan(retention.lines[0].get_ydata()[0]) and retention.lines[0].get_ydata()[2] == 0.75
    assert nps.lines[0].get_ydata().tolist() == [-10.0, 5.0, 20.0]


def test_default_money_unit_follows_the_size(trends):
    fig = plot_trends(trends)
    assert fig.axes[1].get_ylabel() == "revenue (CNY M)"   # 4.9 million at most: M, not 4,900 k
    small = trends.assign(revenue_quarter=[100.0, 200.0, 300.0], revenue_12m=[400.0, 500.0, 600.0])
    assert plot_trends(small).axes[1].get_ylabel() == "revenue (CNY)"


def test_trends_table_is_checked(trends):
    with pytest.raises(KeyError, match="lacks \\['nps'\\]"):
        plot_trends(trends.drop(columns="nps"))


def test_flow_ribbons_are_as_thick_as_their_customers():
    flows = pd.DataFrame({"from_quarter": ["2026Q2"] * 5, "to_quarter": ["2026Q3"] * 5,
                          "from_tier": ["core", "core", "low_value", "new", "low_value"],
                          "to_tier": ["core", "low_value", "low_value", "core", "lost"],
                          "customers": [3, 1, 5, 2, 1]})
    flows.attrs.update(tier_order=["core", "low_value"], new="new", lost="lost")
    fig = plot_segment_flow(flows, {"new": "新增"})
    ax = fig.axes[0]
    ribbons = [p for p in ax.patches if isinstance(p, PathPatch)]
    assert len(ribbons) == 5
    thickness = sorted(round(p.get_path().vertices[0, 1] - p.get_path().vertices[-2, 1], 9) for p in ribbons)
    assert thickness == [1, 1, 2, 3, 5]
    nodes = {round(p.get_height(), 9) for p in ax.patches if isinstance(p, Rectangle)}
    assert nodes == {4.0, 6.0, 2.0, 5.0, 1.0}     # left: core 4, low 6, new 2; right: core 5, low 5, lost 1
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2026Q2", "2026Q3"]

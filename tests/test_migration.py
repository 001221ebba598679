"""Tier migration between two quarters: matrices in customers and revenue, new/lost, up/down lists."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segkit.insights.migration import migration
from segkit.segment.tiers import assign_tiers, explain_tiers


def quarter(rows: dict[str, tuple[float, int]], as_of: str) -> pd.DataFrame:
    """A snapshot-shaped table: id -> (revenue_12m, interactions_6m)."""
    df = pd.DataFrame(
        {
            "revenue_12m": [float(v[0]) for v in rows.values()],
            "interactions_6m": [v[1] for v in rows.values()],
            "new_need_inquiry_6m": 0,
            "renewal_intent": pd.array([True] * len(rows), dtype="boolean"),
        },
        index=pd.Index(list(rows), name="customer_id"),
    )
    df.attrs["as_of"] = pd.Timestamp(as_of)
    return df


@pytest.fixture
def quarters():
    q2 = quarter({
        "A": (420000, 12),   # potential -> passes 500k next quarter: core
        "B": (650000, 12),   # core -> stays core
        "C": (120000, 4),    # ordinary -> drops below 50k: low value
        "D": (30000, 1),     # low value -> leaves the customer list: lost
        "E": (250000, 6),    # potential -> stays
    }, "2026-06-30")
    q3 = quarter({
        "A": (560000, 12),
        "B": (700000, 11),
        "C": (40000, 4),
        "E": (260000, 6),
        "F": (90000, 5),     # new customer record: ordinary
    }, "2026-09-30")
    return q2, q3


def test_transition_matrix_counts_and_revenue(quarters):
    q2, q3 = quarters
    result = migration(assign_tiers(q2), assign_tiers(q3), revenue=(q2, q3))
    tiers = ["core", "potential", "ordinary", "low_value"]
    assert result.counts.index.tolist() == [*tiers, "new"]
    assert result.counts.columns.tolist() == [*tiers, "lost"]
    expected = pd.DataFrame(0, index=result.counts.index, columns=result.counts.columns)
    expected.loc["core", "core"] = 1           # B
    expected.loc["potential", "core"] = 1      # A
    expected.loc["potential", "potential"] = 1  # E
    expected.loc["ordinary", "low_value"] = 1  # C
    expected.loc["low_value", "lost"] = 1      # D
    expected.loc["new", "ordinary"] = 1        # F
    pd.testing.assert_frame_equal(result.counts, expected, check_names=False)
    assert int(result.counts.to_numpy().sum()) == 6
    # revenue: current revenue, lost customers with their previous revenue
    assert result.revenue.loc["potential", "core"] == 560000
    assert result.revenue.loc["core", "core"] == 700000
    assert result.revenue.loc["low_value", "lost"] == 30000
    assert result.revenue.loc["new", "ordinary"] == 90000
    assert result.revenue.to_numpy().sum() == 560000 + 700000 + 40000 + 260000 + 90000 + 30000
    assert result.totals == {"up": 1, "down": 1, "same": 2, "new": 1, "lost": 1}


def test_upgrades_and_downgrades_carry_both_bases(quarters):
    q2, q3 = quarters
    t2, t3 = assign_tiers(q2), assign_tiers(q3)  # keys; the bases are their words (explain_tiers)
    result = migration(t2.join(explain_tiers(t2, q2)), t3.join(explain_tiers(t3, q3)), revenue=(q2, q3))
    up = result.upgrades
    assert up.index.tolist() == ["A"]
    assert (up.loc["A", "previous_tier"], up.loc["A", "current_tier"]) == ("potential", "core")
    assert up.loc["A", "previous_basis"] == "近12个月交易额42.0万元 ∈ [20万元, 50万元)"
    assert up.loc["A", "current_basis"] == "近12个月交易额56.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次"
    assert (up.loc["A", "previous_revenue"], up.loc["A", "current_revenue"]) == (420000, 560000)
    down = result.downgrades
    assert down.index.tolist() == ["C"]
    assert down.loc["C", "current_basis"].startswith("近12个月交易额4.0万元 < 5万元")
    moves = result.moves
    assert moves.loc["D", ["previous_tier", "current_tier", "direction"]].tolist() == ["low_value", "lost", "lost"]
    assert moves.loc["F", ["previous_tier", "current_tier", "direction"]].tolist() == ["new", "ordinary", "new"]


def test_labels_and_defaults():
    prev = pd.DataFrame({"tier": ["potential", "ordinary"], "basis": ["", ""]}, index=["A", "B"])
    curr = pd.DataFrame({"tier": ["core", "ordinary"], "basis": ["", ""]}, index=["A", "C"])
    result = migration(prev, curr)
    # keys only in the result; the words come from Migration.names at the edge
    assert result.counts.index.tolist() == ["core", "potential", "ordinary", "low_value", "new"]
    assert not [c for c in result.moves.columns if c.endswith("_label")]
    zh = result.counts.rename(index=result.names("zh"), columns=result.names("zh"))
    assert zh.index.tolist() == ["核心客户", "潜力客户", "普通客户", "低价值客户", "新增客户"]
    assert zh.columns.tolist()[-1] == "流失/移出"
    assert zh.loc["潜力客户", "核心客户"] == 1 and zh.loc["新增客户", "普通客户"] == 1
    assert result.revenue is None  # no revenue given and none in the tables
    en = migration(prev["tier"], curr["tier"])
    names = en.names("en")
    assert en.upgrades["current_tier"].map(names).tolist() == ["Core"]
    assert names[en.moves.loc["B", "current_tier"]] == "Lost"
    renamed = {"tiers": {"labels": {"core": {"zh": "战略客户", "en": "Strategic"}}}}
    assert en.names("en", renamed)["core"] == "Strategic"  # a user's own tier names
    with pytest.raises(ValueError, match="unknown language"):
        en.names("fr")
    single = migration(prev, curr, revenue=pd.Series({"A": 10.0, "B": 5.0, "C": 1.0}))
    assert single.revenue.loc["ordinary", "lost"] == 5.0 and single.revenue.loc["potential", "core"] == 10.0


def test_bad_tables_are_explained():
    with pytest.raises(ValueError, match="has no column 'tier'"):
        migration(pd.DataFrame({"x": [1]}), pd.DataFrame({"tier": ["core"]}))
    dup = pd.DataFrame({"tier": ["core", "core"]}, index=["A", "A"])
    with pytest.raises(ValueError, match=r"several rows for customers \['A'\]"):
        migration(dup, dup)


def test_snapshots_decide_who_is_new(quarters):
    q2, q3 = quarters
    for snap, signed in ((q2, ["2025-01-01", "2024-05-01", "2026-07-15", "2023-01-01", "2025-06-01"]),
                         (q3, ["2025-01-01", "2024-05-01", "2026-07-15", "2025-06-01", "2026-09-01"])):
        snap["first_cooperation_date"] = pd.to_datetime(signed)
        snap["first_order_date"] = pd.NaT
    # C signed on 2026-07-15: listed in the June snapshot, but not yet a customer then
    result = migration(assign_tiers(q2), assign_tiers(q3), snapshots=(q2, q3))
    assert result.moves.loc["C", ["previous_tier", "current_tier", "direction"]].tolist() == ["new", "low_value", "new"]
    assert result.counts.loc["new"].sum() == 2 and result.counts.loc["ordinary"].sum() == 0
    assert result.revenue.loc["new", "low_value"] == 40000  # revenue from the snapshots


def test_migration_figure(quarters):
    from segkit.plots.segment import plot_migration

    q2, q3 = quarters
    result = migration(assign_tiers(q2), assign_tiers(q3), revenue=(q2, q3))
    ax = plot_migration(result, lang="en").axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Core", "Potential", "Ordinary", "Low value", "New"]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "Lost"
    assert sorted(t.get_text() for t in ax.texts) == ["1"] * 6
    revenue = plot_migration(result, lang="en", value="revenue").axes[0]
    assert "560.0" in [t.get_text() for t in revenue.texts]  # 560,000 CNY = 560.0 x CNY k
    assert revenue.get_title() == "Tier migration (12-month revenue, CNY k)"
    zh = plot_migration(result, lang="zh", value="revenue").axes[0]
    assert "56.0" in [t.get_text() for t in zh.texts] and zh.get_title().endswith("（近12个月交易额，万元）")
    assert plot_migration(result, lang="zh", value="revenue", currency="USD").axes[0].get_title().endswith("万美元）")
    with pytest.raises(ValueError, match="no revenue matrix"):
        plot_migration(migration(assign_tiers(q2), assign_tiers(q3)), lang="en", value="revenue")


def test_margins_reconcile_with_the_tier_tables(quarters):
    q2, q3 = quarters
    for snap, signed in ((q2, ["2025-01-01", "2024-05-01", "2026-07-15", "2023-01-01", "2025-06-01"]),
                         (q3, ["2025-01-01", "2024-05-01", "2026-07-15", "2025-06-01", None])):
        snap["first_cooperation_date"] = pd.to_datetime(signed)
        snap["first_order_date"] = pd.NaT
    prev, curr = assign_tiers(q2), assign_tiers(q3)
    result = migration(prev, curr, snapshots=(q2, q3))
    # C (signed 2026-07-15) was listed as ordinary in June but not yet a customer; F (never
    # signed, no order) is listed as ordinary in September and is a prospect still
    assert result.prospects["previous_tier"].dropna().to_dict() == {"C": "ordinary"}
    assert result.prospects["current_tier"].dropna().to_dict() == {"F": "ordinary"}
    m = result.margins
    assert m.loc["ordinary"].to_dict() == {"previous_listed": 1, "previous_prospects": 1, "previous": 0,
                                           "current_listed": 1, "current_prospects": 1, "current": 0,
                                           "previous_revenue": 0.0, "current_revenue": 0.0}
    tiers = result.order
    pd.testing.assert_series_equal(m["previous_listed"], prev["tier"].value_counts().reindex(tiers, fill_value=0), check_names=False)
    pd.testing.assert_series_equal(m["current_listed"], curr["tier"].value_counts().reindex(tiers, fill_value=0), check_names=False)
    assert (m["previous"] == result.counts.loc[tiers].sum(axis=1)).all()
    assert (m["current"] == result.counts[tiers].sum(axis=0)).all()
    assert (m["previous_listed"] == m["previous_prospects"] + m["previous"]).all()
    assert (m["current_listed"] == m["current_prospects"] + m["current"]).all()
    # revenue: the matrix's column sums are the current customers' revenue per tier
    assert m.loc["core", "current_revenue"] == 560000 + 700000 == result.revenue.loc[tiers, "core"].sum()
    assert m.loc["potential", "previous_revenue"] == 420000 + 250000


@st.composite
def two_quarters(draw):
    """Random tier tables on two dates over a pool of ids, with sign dates and missing rows."""
    n = draw(st.integers(1, 25))
    tiers = ["core", "potential", "ordinary", "low_value"]
    rows = draw(st.lists(st.tuples(st.sampled_from(tiers), st.sampled_from(tiers), st.booleans(), st.booleans(),
                                   st.sampled_from(["2025-01-01", "2026-08-01", "2026-12-01"]),
                                   st.integers(0, 900_000), st.integers(0, 900_000)), min_size=n, max_size=n))
    ids = [f"C{i}" for i in range(n)]
    frames = []
    for side, as_of in ((0, "2026-06-30"), (1, "2026-09-30")):
        keep = [i for i, r in zip(ids, rows) if r[2 + side]]
        frame = pd.DataFrame({"tier": [r[side] for r in rows if r[2 + side]],
                              "first_cooperation_date": pd.to_datetime([r[4] for r in rows if r[2 + side]])},
                             index=pd.Index(keep, name="customer_id"), dtype=object)
        frame["first_cooperation_date"] = pd.to_datetime(frame["first_cooperation_date"])
        frame["revenue_12m"] = [float(r[5 + side]) for r in rows if r[2 + side]]
        frame.attrs["as_of"] = pd.Timestamp(as_of)
        frames.append(frame)
    return frames


@given(two_quarters())
@settings(max_examples=40, deadline=None)
def test_matrix_margins_equal_customer_counts_property(frames):
    prev, curr = frames
    result = migration(prev, curr, snapshots=(prev, curr))
    tiers = result.order
    is_customer = [f["first_cooperation_date"] <= f.attrs["as_of"] for f in (prev, curr)]
    prev_customers, curr_customers = prev.loc[is_customer[0], "tier"], curr.loc[is_customer[1], "tier"]
    assert result.counts.loc[tiers].sum(axis=1).tolist() == prev_customers.value_counts().reindex(tiers, fill_value=0).tolist()
    assert result.counts[tiers].sum(axis=0).tolist() == curr_customers.value_counts().reindex(tiers, fill_value=0).tolist()
    assert result.counts.loc["new"].sum() == len(curr_customers.index.difference(prev_customers.index))
    assert result.counts["lost"].sum() == len(prev_customers.index.difference(curr_customers.index))
    assert result.counts.to_numpy().sum() == len(prev_customers.index.union(curr_customers.index))
    m = result.margins
    for side, table in (("previous", prev), ("current", curr)):
        assert m[f"{side}_listed"].tolist() == table["tier"].value_counts().reindex(tiers, fill_value=0).tolist()
        assert (m[f"{side}_listed"] == m[f"{side}_prospects"] + m[side]).all()
    assert result.revenue[tiers].sum(axis=0).tolist() == pytest.approx(
        curr.loc[is_customer[1]].groupby("tier")["revenue_12m"].sum().reindex(tiers, fill_value=0.0).tolist())
    assert m["previous_revenue"].tolist() == pytest.approx(
        prev.loc[is_customer[0]].groupby("tier")["revenue_12m"].sum().reindex(tiers, fill_value=0.0).tolist())

"""KPIs by segment: every number of a five-customer data set computed by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.features import snapshot
from segkit.insights.kpi import KPI_COLUMNS, kpi_definitions, kpis
from segkit.io import load_dataset

AS_OF = "2026-09-30"
# Windows as of 2026-09-30: 12 months (2025-09-30, 2026-09-30]; this quarter
# (2026-06-30, 2026-09-30]; previous quarter (2026-03-31, 2026-06-30]; 6 months (2026-03-31, ...].


@pytest.fixture
def tiny(write, tmp_path):
    write("customers.csv", ["customer_id", "name", "industry", "owner"], [
        ["A", "甲公司", "manufacturing", "王"],
        ["B", "乙公司", "it_services", "王"],
        ["C", "丙公司", "manufacturing", "李"],
        ["D", "丁公司", "", "李"],          # a prospect: no orders, no interactions, no survey
        ["E", "戊公司", "retail", "李"],
    ])
    write("orders.csv", ["customer_id", "order_date", "amount", "product_line"], [
        ["A", "2024-01-01", "50000", "X"],     # older than 12 months: counts only in orders_total
        ["A", "2026-05-10", "100000", "X"],    # previous quarter
        ["A", "2026-08-01", "200000", "Y"],    # this quarter
        ["A", "2026-08-15", "-20000", "Y"],    # refund: in revenue, not an order
        ["B", "2026-04-15", "50000", "X"],     # previous quarter only: not retained
        ["C", "2025-09-30", "10000", "Z"],     # exactly 12 months back: outside the 12-month window
        ["C", "2026-09-30", "30000", "Z"],     # on the as-of day: this quarter
        ["E", "2026-04-01", "10000", "X"],     # previous quarter, first day
        ["E", "2026-06-30", "5000", "X"],      # previous quarter, last day
    ])
    write("interactions.csv", ["customer_id", "date", "type", "resolved_date"], [
        ["A", "2026-07-01", "visit", ""],
        ["A", "2026-08-01", "call", ""],
        ["A", "2026-09-01", "complaint", "2026-09-05"],            # resolved in 4 days
        ["A", "2026-09-10", "key_contact_change", ""],             # not an interaction
        ["B", "2025-12-01", "complaint", "2026-01-01"],            # 12-month window, resolved in 31 days
        ["B", "2026-05-01", "call", ""],
        ["C", "2026-09-20", "complaint", ""],                      # unresolved
        ["C", "2026-09-25", "complaint", "2026-10-05"],            # resolved after as_of: unresolved then
    ])
    write("surveys.csv", ["customer_id", "date", "satisfaction", "nps"], [
        ["A", "2025-06-01", "50", "3"],     # outside the 12-month survey window
        ["A", "2026-02-01", "90", "10"],
        ["A", "2026-07-01", "80", "8"],     # latest: passive, 80
        ["B", "2026-03-01", "95", "9"],     # promoter
        ["C", "2026-08-01", "60", "5"],     # detractor (latest NPS answer)
        ["C", "2026-09-01", "70", ""],      # latest satisfaction 70, no NPS answer
        ["E", "2026-09-01", "100", "10"],   # promoter
    ])
    return load_dataset(tmp_path, as_of=AS_OF)


@pytest.fixture
def tiers():
    return pd.DataFrame({"tier": ["core", "core", "potential", "potential", "ordinary"]},
                        index=pd.Index(["A", "B", "C", "D", "E"], name="customer_id"))


def test_fixture_loads_everything(tiny):
    assert tiny.rejected.empty
    assert len(tiny.interactions) == 8 and len(tiny.surveys) == 7


def test_kpis_by_tier_hand_computed(tiny, tiers):
    k = kpis(tiny, AS_OF, by="tier", tiers=tiers)
    assert k.index.tolist() == ["core", "potential", "ordinary", "total"]   # tier order, then total
    assert list(k.columns) == [c for c in KPI_COLUMNS if not c.startswith("clv")]

    core = k.loc["core"]
    assert core["customers"] == 2
    assert core["revenue_12m"] == 100000 + 200000 - 20000 + 50000
    assert core["revenue_share"] == pytest.approx(330000 / 375000)
    assert (core["buyers_12m"], core["retention_base"]) == (2, 2)
    assert core["retention_rate"] == 0.5                    # A bought again this quarter, B did not
    assert core["repurchase_rate"] == 0.5                   # A: 2 orders in 12 months, B: 1
    assert core["avg_order_value"] == pytest.approx(350000 / 3)   # refund excluded
    assert core["interactions_per_customer"] == (3 + 1) / 2       # key-contact change excluded
    assert core["nps"] == pytest.approx(100 * (1 - 0) / 2)         # A passive (8), B promoter (9)
    assert core["nps_responses"] == 2
    assert core["satisfaction"] == (80 + 95) / 2
    assert core["cross_sell_rate"] == (2 + 1) / 2
    assert core["repeat_revenue_share"] == pytest.approx(280000 / 330000)   # A repurchased, B did not
    assert core["complaint_rate"] == 1.0
    assert core["resolution_days"] == (4 + 31) / 2

    pot = k.loc["potential"]
    assert (pot["customers"], pot["revenue_12m"], pot["buyers_12m"], pot["retention_base"]) == (2, 30000, 1, 0)
    assert np.isnan(pot["retention_rate"])                  # nobody was active last quarter
    assert pot["repurchase_rate"] == 0.0                    # C's other order is older than 12 months
    assert pot["avg_order_value"] == 30000
    assert pot["interactions_per_customer"] == 1.0
    assert (pot["nps"], pot["nps_responses"], pot["satisfaction"]) == (-100.0, 1, 70.0)
    assert pot["repeat_revenue_share"] == 0.0               # C: one order in 12 months (another before)
    assert pot["complaint_rate"] == 0.5
    assert np.isnan(pot["resolution_days"])                 # one open, one resolved only after as_of

    ordinary = k.loc["ordinary"]
    assert (ordinary["retention_rate"], ordinary["repurchase_rate"], ordinary["avg_order_value"]) == (0.0, 1.0, 7500.0)
    assert (ordinary["nps"], ordinary["complaint_rate"]) == (100.0, 0.0)

    total = k.loc["total"]
    assert (total["customers"], total["revenue_12m"], total["revenue_share"]) == (5, 375000, 1.0)
    assert total["retention_rate"] == pytest.approx(1 / 3)  # A, B, E active last quarter; A again
    assert total["repurchase_rate"] == 0.5                  # A and E of 4 buyers
    assert total["avg_order_value"] == pytest.approx(395000 / 6)
    assert total["interactions_per_customer"] == pytest.approx(6 / 5)
    assert total["nps"] == pytest.approx(100 * (2 - 1) / 4)
    assert total["satisfaction"] == pytest.approx((80 + 95 + 70 + 100) / 4)
    assert total["cross_sell_rate"] == pytest.approx(5 / 4)
    assert total["repeat_revenue_share"] == pytest.approx((280000 + 15000) / 375000)   # A and E
    assert total["complaint_rate"] == pytest.approx(3 / 5)
    assert total["resolution_days"] == 17.5
    assert k.attrs["current_period"] == (pd.Timestamp("2026-06-30"), pd.Timestamp(AS_OF))
    assert k.attrs["previous_period"] == (pd.Timestamp("2026-03-31"), pd.Timestamp("2026-06-30"))


def test_group_rows_add_up_to_the_total(tiny, tiers):
    k = kpis(tiny, AS_OF, by="tier", tiers=tiers)
    groups = k.drop(index="total")
    for col in ("customers", "revenue_12m", "buyers_12m", "retention_base", "nps_responses"):
        assert groups[col].sum() == pytest.approx(k.loc["total", col])
    assert groups["revenue_share"].sum() == pytest.approx(1.0)


def test_by_snapshot_column_with_missing_group(tiny):
    k = kpis(tiny, AS_OF, by="industry")
    assert k.index.tolist() == ["(missing)", "it_services", "manufacturing", "retail", "total"]
    assert k.loc["manufacturing", "customers"] == 2                        # A and C
    assert k.loc["manufacturing", "revenue_12m"] == 280000 + 30000
    assert k.loc["(missing)", "customers"] == 1 and k.loc["(missing)", "revenue_12m"] == 0
    assert k.loc["manufacturing", "nps"] == pytest.approx(100 * (0 - 1) / 2)   # A passive, C detractor
    by_owner = kpis(tiny, AS_OF, by="owner")
    assert by_owner.loc["王", "revenue_12m"] == 330000 and by_owner.loc["李", "customers"] == 3


def test_monthly_period_moves_the_retention_windows(tiny, tiers):
    # month: this (2026-08-31, 2026-09-30], previous (2026-07-31, 2026-08-31]: only A was active
    # in August (the refund is not an order) and A bought nothing in September.
    k = kpis(tiny, AS_OF, by="tier", tiers=tiers, period="M")
    assert k.loc["total", "retention_base"] == 1 and k.loc["total", "retention_rate"] == 0.0
    yearly = kpis(tiny, AS_OF, by=None, period="Y")
    assert yearly.index.tolist() == ["total"]
    # year: previous (2024-09-30, 2025-09-30] has C's order of 2025-09-30; C bought again in 2026
    assert yearly.loc["total", "retention_base"] == 1 and yearly.loc["total", "retention_rate"] == 1.0


def test_clv_mean_and_growth(tiny, tiers):
    clv = pd.DataFrame({"clv": [100.0, 50.0, 10.0]}, index=pd.Index(["A", "B", "C"], name="customer_id"))
    prev = pd.Series({"A": 80.0, "B": 40.0, "E": 5.0})
    k = kpis(tiny, AS_OF, by="tier", tiers=tiers, clv=clv, clv_prev=prev)
    assert list(k.columns[-2:]) == ["clv", "clv_growth"]
    assert k.loc["core", "clv"] == 75.0 and k.loc["core", "clv_growth"] == pytest.approx(150 / 120 - 1)
    assert k.loc["potential", "clv"] == 10.0 and np.isnan(k.loc["potential", "clv_growth"])
    assert k.loc["total", "clv"] == pytest.approx(160 / 3)
    assert k.loc["total", "clv_growth"] == pytest.approx(0.25)   # E has no current CLV: left out
    only_now = kpis(tiny, AS_OF, by="tier", tiers=tiers, clv=clv)
    assert "clv" in only_now.columns and "clv_growth" not in only_now.columns


def test_point_in_time_earlier_as_of(tiny, tiers):
    # As of 2026-06-30 nothing after that date exists: A's August order and the complaints of
    # September are unseen; B's December complaint was resolved on 2026-01-01.
    k = kpis(tiny, "2026-06-30", by="tier", tiers=tiers)
    assert k.loc["core", "revenue_12m"] == 150000
    assert k.loc["core", "resolution_days"] == 31.0
    assert k.loc["core", "complaint_rate"] == 0.5


def test_snapshot_can_be_passed_and_must_match(tiny, tiers):
    snap = snapshot(tiny, AS_OF)
    assert kpis(tiny, AS_OF, tiers=tiers, snap=snap).equals(kpis(tiny, AS_OF, tiers=tiers))
    with pytest.raises(ValueError, match="snapshot is as of 2026-09-30, not 2026-06-30"):
        kpis(tiny, "2026-06-30", tiers=tiers, snap=snap)


def test_errors_name_the_problem(tiny, tiers):
    with pytest.raises(ValueError, match="unknown period 'W'"):
        kpis(tiny, AS_OF, tiers=tiers, period="W")
    with pytest.raises(ValueError, match="cannot group by 'colour'"):
        kpis(tiny, AS_OF, by="colour")
    stranger = pd.DataFrame({"tier": ["core"]}, index=pd.Index(["Z9"], name="customer_id"))
    with pytest.raises(ValueError, match="not in the data.*Z9"):
        kpis(tiny, AS_OF, tiers=stranger)
    with pytest.raises(ConfigError, match="promoter_mn"):
        kpis(tiny, AS_OF, tiers=tiers, config={"kpi": {"nps": {"promoter_mn": 8}}})


def test_nps_thresholds_are_configurable(tiny, tiers):
    # with promoters from 8, A (8) becomes a promoter: core NPS = 100 * 2/2
    k = kpis(tiny, AS_OF, by="tier", tiers=tiers, config={"kpi": {"nps": {"promoter_min": 8}}})
    assert k.loc["core", "nps"] == 100.0


def test_definitions_cover_every_column_in_both_languages():
    zh, en = kpi_definitions("zh"), kpi_definitions("en", period="M")
    assert zh.index.tolist() == en.index.tolist() == KPI_COLUMNS
    assert (zh["definition"].str.len() > 10).all() and (en["definition"].str.len() > 10).all()
    assert "本季度" in zh.loc["retention_rate", "definition"]
    assert "previous month" in en.loc["retention_rate", "definition"]
    assert "9-10" in en.loc["nps", "definition"] and "0-6" in en.loc["nps", "definition"]
    assert not zh["definition"].str.contains("{", regex=False).any()


def test_default_tiers_are_assigned_when_not_given(tiny):
    # default rules: A 280,000 -> potential; B 50,000 with 1 interaction -> ordinary (provisional,
    # flagged for review); C, D, E below 50,000 -> low value. Tiers without customers are absent.
    k = kpis(tiny, AS_OF)
    assert k.index.tolist() == ["potential", "ordinary", "low_value", "total"]
    assert k["customers"].tolist() == [1, 1, 3, 5]
    assert k.loc["low_value", "revenue_12m"] == 30000 + 15000


def test_plot_kpis_draws_one_panel_per_metric(tiny, tiers):
    from matplotlib.figure import Figure

    from segkit.insights.plots import plot_kpis

    k = kpis(tiny, AS_OF, by="tier", tiers=tiers)
    fig = plot_kpis(k, metrics=["retention_rate", "nps", "complaint_rate"], lang="en")
    assert isinstance(fig, Figure)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in visible] == ["Retention rate", "NPS", "Complaint rate"]
    assert [t.get_text() for t in visible[0].get_xticklabels()] == ["Core", "Potential", "Ordinary"]
    heights = [p.get_height() for p in visible[1].patches]
    assert heights == pytest.approx([50.0, -100.0, 100.0])          # NPS per tier; NaN would be 0
    with pytest.raises(ValueError, match="no column"):
        plot_kpis(k, metrics=["happiness"])


# --- the region table (注册地区), on the sample and on a second generated data set ---------------


@pytest.fixture(scope="module")
def seed13(tmp_path_factory):
    """A second data set: another seed and size than data/sample."""
    from segkit.sample import generate_sample

    root = tmp_path_factory.mktemp("seed13")
    generate_sample(root, seed=13, n_customers=400)
    return load_dataset(root)


def _check_region_table(ds, region):
    table = kpis(ds, by="region")
    assert table.index.name == "region" and table.index[-1] == "total"
    customers = ds.customers.drop_duplicates("customer_id").set_index("customer_id")
    counts = customers["region"].value_counts()
    assert table["customers"].drop("total").to_dict() == counts.to_dict()
    assert table.loc["total", "customers"] == len(customers)
    assert table["revenue_12m"].drop("total").sum() == pytest.approx(table.loc["total", "revenue_12m"])
    assert table["revenue_share"].drop("total").sum() == pytest.approx(1.0)
    # retention of one region by hand from the orders: active (a positive order) in the
    # previous quarter and again in this one
    as_of = ds.as_of.normalize()
    q0, q1 = as_of - pd.offsets.QuarterEnd(2), as_of - pd.offsets.QuarterEnd(1)
    ids = set(customers.index[customers["region"] == region])
    tx = ds.transactions.loc[(ds.transactions["amount"] > 0) & ds.transactions["customer_id"].isin(ids)]
    prev = set(tx.loc[(tx["order_date"] > q0) & (tx["order_date"] <= q1), "customer_id"])
    cur = set(tx.loc[(tx["order_date"] > q1) & (tx["order_date"] <= as_of), "customer_id"])
    assert table.loc[region, "retention_base"] == len(prev)
    assert table.loc[region, "retention_rate"] == pytest.approx(len(prev & cur) / len(prev))
    return table


def test_region_table_on_the_sample():
    table = _check_region_table(load_dataset("data/sample"), "华东")
    assert table.index.tolist() == ["东北", "华东", "华中", "华北", "华南", "西北", "西南", "total"]
    assert table.loc["华东", "customers"] == 644 and table.loc["total", "customers"] == 1997


def test_region_table_on_a_second_data_set(seed13):
    table = _check_region_table(seed13, "华南")
    assert set(table.index[:-1]) <= {"华东", "华南", "华北", "华中", "西南", "东北", "西北"}

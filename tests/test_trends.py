"""Trends over quarters and segment flows: a three-customer set by hand, point in time, and the
reconciliations (tier columns = customers on the date = flows into the quarter) on the sample and
on a second generated data set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segkit.features import snapshot
from segkit.insights.migration import customers_at
from segkit.insights.trends import FLOW_COLUMNS, quarter_ends, quarterly_trends, segment_flows
from segkit.io import load_dataset
from test_kpi import seed13  # noqa: F401  (the second generated data set, a fixture)

ORDERS = [
    ["A", "2026-02-10", "300000", "X"],   # Q1: A potential (200k-500k) all year
    ["A", "2026-05-10", "30000", "X"],
    ["A", "2026-08-10", "10000", "X"],
    ["B", "2026-03-01", "100000", "X"],   # Q1: B ordinary (50k-200k); nothing in Q2
    ["B", "2026-09-01", "150000", "Y"],   # Q3: 250k -> potential
    ["C", "2026-05-20", "20000", "Z"],    # C becomes a customer in Q2: low value
    ["C", "2026-07-05", "-5000", "Z"],    # refund: in revenue, not an order
    ["C", "2026-07-15", "10000", "Z"],
]
SURVEYS = [
    ["A", "2026-03-15", "90", "10"],   # promoter
    ["B", "2026-06-01", "40", "3"],    # detractor
    ["C", "2026-09-10", "85", "9"],    # promoter
]


def _write_set(write, tmp_path, orders, surveys):
    write("customers.csv", ["customer_id", "name", "industry", "region"], [
        ["A", "甲公司", "manufacturing", "华东"],
        ["B", "乙公司", "retail", "华南"],
        ["C", "丙公司", "retail", "华东"],
        ["D", "丁公司", "retail", "华北"],    # a prospect: never a customer
    ])
    write("orders.csv", ["customer_id", "order_date", "amount", "product_line"], orders)
    # B has 3 calls in the 6 months before Q1 and Q2 ends: ordinary (3-9 interactions), not
    # "no contact" low value
    write("interactions.csv", ["customer_id", "date", "type"], [
        ["B", "2026-01-10", "call"], ["B", "2026-02-10", "call"], ["B", "2026-03-10", "call"],
        ["D", "2026-01-05", "call"],
    ])
    write("surveys.csv", ["customer_id", "date", "satisfaction", "nps"], surveys)
    return load_dataset(tmp_path, as_of="2026-09-30")


@pytest.fixture
def three(write, tmp_path):
    return _write_set(write, tmp_path, ORDERS, SURVEYS)


def test_quarter_ends_accept_a_quarter_or_its_last_day():
    assert quarter_ends("2026-09-30", 2) == [pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30")]
    assert quarter_ends("2026Q1", 1) == [pd.Timestamp("2026-03-31")]
    with pytest.raises(ValueError, match="n_quarters=0"):
        quarter_ends("2026Q3", 0)
    with pytest.raises(ValueError, match="2026-08-31 is not the last day of a quarter"):
        quarter_ends("2026-08-31", 2)


def test_three_customers_over_three_quarters_by_hand(three):
    tr = quarterly_trends(three, "2026Q3", n_quarters=4, progress=False)
    # 2025Q4 has no order yet: left out
    assert tr["quarter"].tolist() == ["2026Q1", "2026Q2", "2026Q3"]
    assert tr.index.tolist() == [pd.Timestamp("2026-03-31"), pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30")]
    assert list(tr.columns[1:5]) == ["core", "potential", "ordinary", "low_value"]   # config tier order
    assert tr[["core", "potential", "ordinary", "low_value"]].to_numpy().tolist() == [
        [0, 1, 1, 0],     # A potential, B ordinary (C not a customer yet, D never)
        [0, 1, 1, 1],     # C joins as low value
        [0, 2, 0, 1],     # B up to potential
    ]
    assert tr["customers"].tolist() == [2, 3, 3]
    assert tr["revenue_quarter"].tolist() == [400000.0, 50000.0, 165000.0]    # Q3: 10k + 150k + 10k - 5k
    assert tr["revenue_12m"].tolist() == [400000.0, 450000.0, 615000.0]
    # retention: active in the previous quarter and again in this one
    assert tr["retention_base"].tolist() == [0, 2, 2]          # -, {A, B}, {A, C}
    assert np.isnan(tr["retention_rate"].iloc[0])
    assert tr["retention_rate"].iloc[1:].tolist() == [0.5, 1.0]  # A of {A, B}; A and C of {A, C}
    assert tr["nps_responses"].tolist() == [1, 2, 3]
    assert tr["nps"].round(2).tolist() == [100.0, 0.0, 33.33]     # (1-0)/1, (1-1)/2, (2-1)/3
    assert tr.attrs["tier_order"] == ["core", "potential", "ordinary", "low_value"]


def test_segment_flows_by_hand(three):
    fl = segment_flows(three, "2026Q3", n_quarters=3, progress=False)   # 2025Q4 -> 2026Q1 has no orders before
    assert list(fl.columns) == FLOW_COLUMNS
    got = {tuple(r[:4]): r[4] for r in fl.itertuples(index=False)}
    assert got == {
        ("2025Q4", "2026Q1", "new", "potential"): 1,
        ("2025Q4", "2026Q1", "new", "ordinary"): 1,
        ("2026Q1", "2026Q2", "potential", "potential"): 1,
        ("2026Q1", "2026Q2", "ordinary", "ordinary"): 1,
        ("2026Q1", "2026Q2", "new", "low_value"): 1,
        ("2026Q2", "2026Q3", "potential", "potential"): 1,
        ("2026Q2", "2026Q3", "ordinary", "potential"): 1,
        ("2026Q2", "2026Q3", "low_value", "low_value"): 1,
    }


def test_rows_are_point_in_time(write, tmp_path, three):
    before = quarterly_trends(three, "2026Q3", n_quarters=3, progress=False)
    later_orders = ORDERS + [
        ["B", "2026-07-01", "1000000", "X"],   # B would be core-sized in Q3
        ["E", "2026-08-01", "50000", "X"],     # an order of a customer id not in the customers table
        ["C", "2026-06-30", "1", "Z"],         # exactly on the Q2 end: belongs to Q2
    ]
    later_surveys = SURVEYS + [["B", "2026-07-01", "90", "10"]]
    (tmp_path / "later").mkdir()
    ds = _write_set(lambda name, header, rows: write(f"later/{name}", header, rows), tmp_path / "later",
                    later_orders, later_surveys)
    after = quarterly_trends(ds, "2026Q3", n_quarters=3, progress=False)
    pd.testing.assert_frame_equal(after.iloc[:1], before.iloc[:1])     # Q1 untouched
    assert after.loc["2026-06-30", "revenue_quarter"] == before.loc["2026-06-30", "revenue_quarter"] + 1
    assert after.loc["2026-09-30", "revenue_12m"] > before.loc["2026-09-30", "revenue_12m"]
    assert after.loc["2026-09-30", "nps"] > before.loc["2026-09-30", "nps"]


def _check_reconciles(ds, quarter, n_quarters):
    tr = quarterly_trends(ds, quarter, n_quarters=n_quarters, progress=False)
    tiers = tr.attrs["tier_order"]
    assert (tr[tiers].sum(axis=1) == tr["customers"]).all()
    for when, row in tr.iterrows():
        assert row["customers"] == int(customers_at(snapshot(ds, when)).sum())
    fl = segment_flows(ds, quarter, n_quarters=n_quarters - 1, progress=False)
    into = fl.loc[fl["to_tier"] != "lost"].groupby(["to_quarter", "to_tier"])["customers"].sum().unstack(fill_value=0)
    out_of = fl.loc[fl["from_tier"] != "new"].groupby(["from_quarter", "from_tier"])["customers"].sum().unstack(fill_value=0)
    by_quarter = tr.set_index("quarter")[tiers]
    pd.testing.assert_frame_equal(into.reindex(columns=tiers, fill_value=0), by_quarter.iloc[1:], check_names=False)
    pd.testing.assert_frame_equal(out_of.reindex(columns=tiers, fill_value=0), by_quarter.iloc[:-1], check_names=False)
    return tr


def _retention_by_hand(ds, start_prev, end_prev, end_cur):
    tx = ds.transactions.loc[ds.transactions["amount"] > 0]
    prev = set(tx.loc[(tx["order_date"] > start_prev) & (tx["order_date"] <= end_prev), "customer_id"])
    cur = set(tx.loc[(tx["order_date"] > end_prev) & (tx["order_date"] <= end_cur), "customer_id"])
    return len(prev), len(prev & cur) / len(prev)


def test_sample_reconciles_and_retention_matches_the_orders():
    ds = load_dataset("data/sample")
    tr = _check_reconciles(ds, "2026Q3", 8)
    assert len(tr) == 8 and tr["quarter"].iloc[0] == "2024Q4"
    base, rate = _retention_by_hand(ds, pd.Timestamp("2026-03-31"), pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30"))
    assert tr["retention_base"].iloc[-1] == base
    assert tr["retention_rate"].iloc[-1] == pytest.approx(rate)
    q = ds.transactions
    in_q3 = (q["order_date"] > "2026-06-30") & (q["order_date"] <= "2026-09-30")
    assert tr["revenue_quarter"].iloc[-1] == pytest.approx(q.loc[in_q3, "amount"].sum(), abs=0.01)


def test_second_data_set_reconciles(seed13):
    tr = _check_reconciles(seed13, "2026Q3", 5)
    assert tr["customers"].is_monotonic_increasing          # customers are never removed from the table
    assert ((tr["retention_rate"] > 0) & (tr["retention_rate"] < 1)).all()
    assert ((tr["nps"] >= -100) & (tr["nps"] <= 100)).all()


@pytest.fixture(scope="module")
def three_rows(tmp_path_factory):
    """The trend rows of the three-customer set, computed once for the property below."""
    from conftest import write_csv

    folder = tmp_path_factory.mktemp("three")
    ds = _write_set(lambda name, header, rows: write_csv(folder / name, header, rows), folder, ORDERS, SURVEYS)
    return quarterly_trends(ds, "2026Q3", n_quarters=3, progress=False)


# few examples: each one loads a data set and computes three snapshots (a second or two each)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(later=st.lists(st.tuples(st.sampled_from(["A", "B", "C", "D"]), st.integers(1, 92),
                                st.integers(-50_000, 2_000_000).filter(bool)), min_size=1, max_size=6))
def test_orders_after_a_quarter_end_never_change_its_row(tmp_path_factory, three_rows, later):
    """Property: whatever is ordered after 2026-06-30 (refunds, big orders, a prospect's first
    order), the rows of 2026Q1 and 2026Q2 are those computed without it."""
    from conftest import write_csv

    folder = tmp_path_factory.mktemp("later")
    extra = [[c, (pd.Timestamp("2026-06-30") + pd.Timedelta(days=d)).date().isoformat(), str(a), "X"] for c, d, a in later]
    ds = _write_set(lambda name, header, rows: write_csv(folder / name, header, rows), folder, ORDERS + extra, SURVEYS)
    more = quarterly_trends(ds, "2026Q3", n_quarters=3, progress=False)
    pd.testing.assert_frame_equal(more.iloc[:2], three_rows.iloc[:2])

"""snapshot: hand-computed values and the point-in-time guarantee."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segkit.features import SNAPSHOT_COLUMNS, snapshot
from segkit.io import load_dataset

AS_OF = "2026-09-30"


@pytest.fixture
def small(write, tmp_path):
    write("customers.csv", ["客户编号", "客户名称", "首次合作时间", "续约意向"], [
        ["C1", "甲", "2024-03-15", "是"], ["C2", "乙", "", "否"], ["C3", "丙", "2026-09-01", ""],
    ])
    write("orders.csv", ["客户编号", "交易日期", "交易金额", "产品线"], [
        ["C1", "2024-10-01", "100000", "设备"],   # prev_12m window (12-24 months back)
        ["C1", "2025-09-30", "50000", "设备"],    # exactly 12 months back: previous window
        ["C1", "2025-10-01", "200000", "设备"],   # first day of the 12-month window (9-12m quarter)
        ["C1", "2026-03-31", "120000", "软件"],   # 6-9 months back
        ["C1", "2026-04-01", "300000", "服务"],   # 3-6 months back (first day of the 6-month window)
        ["C1", "2026-09-30", "30000", "服务"],    # the as-of day itself
        ["C1", "2026-09-30", "-10000", "服务"],   # refund on the same day
        ["C2", "2026-01-10", "8000", "耗材"],
    ])
    write("interactions.csv", ["客户编号", "互动日期", "互动类型"], [
        ["C1", "2026-04-01", "拜访"], ["C1", "2026-07-01", "电话沟通"], ["C1", "2026-08-01", "投诉"],
        ["C1", "2026-09-01", "新需求咨询"], ["C1", "2026-09-02", "关键联系人变更"], ["C1", "2026-03-31", "邮件"],
        ["C2", "2025-01-01", "拜访"],
    ])
    write("surveys.csv", ["客户编号", "调查日期", "满意度", "净推荐值"], [
        ["C1", "2025-06-01", "90", "10"], ["C1", "2026-06-01", "65", "6"],
    ])
    return load_dataset(tmp_path, as_of=AS_OF)


def test_hand_computed_snapshot(small):
    snap = snapshot(small, AS_OF)
    assert list(snap.columns) == SNAPSHOT_COLUMNS
    assert snap.index.tolist() == ["C1", "C2", "C3"]
    c1 = snap.loc["C1"]
    assert c1["revenue_12m"] == 200000 + 120000 + 300000 + 30000 - 10000
    assert c1["revenue_prev_12m"] == 100000 + 50000
    assert c1["revenue_6m"] == 300000 + 30000 - 10000
    assert c1["revenue_prev_6m"] == 200000 + 120000
    assert c1["revenue_growth_6m"] == pytest.approx(320000 / 320000 - 1)
    assert c1["revenue_total"] == 790000
    assert (c1["orders_total"], c1["orders_12m"], c1["orders_6m"]) == (6, 4, 2)     # refund is not an order
    assert [c1[f"orders_{w}"] for w in ("0_3m", "3_6m", "6_9m", "9_12m")] == [1, 1, 1, 1]
    assert c1["avg_order_value_12m"] == pytest.approx((200000 + 120000 + 300000 + 30000) / 4)
    assert c1["product_lines_12m"] == 3
    assert c1["recency_days"] == 0 and c1["last_order_date"] == pd.Timestamp(AS_OF)
    assert c1["tenure_months"] == 30                                                 # 2024-03-15 -> 2026-09-30
    assert (c1["interactions_6m"], c1["interactions_3m"], c1["interactions_prev_3m"]) == (4, 3, 1)
    assert (c1["new_need_inquiry_6m"], c1["complaints_6m"], bool(c1["key_contact_changed_6m"])) == (1, 1, True)
    assert (c1["satisfaction"], c1["nps"]) == (65, 6)
    assert bool(c1["renewal_intent"]) is True
    c2 = snap.loc["C2"]
    assert (c2["revenue_12m"], c2["orders_12m"], c2["interactions_6m"], c2["tenure_months"]) == (8000, 1, 0, 8)
    assert c2["revenue_growth_6m"] == -1.0 and np.isnan(c2["satisfaction"])   # all 8000 in the earlier half
    c3 = snap.loc["C3"]                                                              # no orders at all
    assert (c3["revenue_12m"], c3["orders_total"]) == (0, 0)
    assert np.isnan(c3["recency_days"]) and np.isnan(c3["frequency"]) and pd.isna(c3["renewal_intent"])
    # BTYD statistics in weeks (Monday-Sunday purchase weeks): C1 bought in the weeks starting
    # 2024-09-30, 2025-09-29 (twice), 2026-03-30 (twice) and 2026-09-28: 4 weeks -> 3 repeats;
    # first to last purchase week = 728 days = 104 weeks = T (the as-of week is the last one).
    assert snap.attrs == {"as_of": pd.Timestamp(AS_OF), "btyd_unit": "W", "currency": "CNY",
                          "present": ["customers", "interactions", "surveys", "transactions"]}
    assert (c1["frequency"], c1["recency"], c1["T"]) == (3, 104, 104)
    assert c1["monetary_value"] == pytest.approx((250000 + 420000 + 30000) / 3)   # refunds are not purchases


def test_earlier_as_of_sees_only_its_past(small):
    snap = snapshot(small, "2026-06-30")
    c1 = snap.loc["C1"]
    assert c1["revenue_12m"] == 50000 + 200000 + 120000 + 300000       # (2025-06-30, 2026-06-30]
    assert (c1["satisfaction"], c1["nps"]) == (65, 6)
    assert c1["recency_days"] == (pd.Timestamp("2026-06-30") - pd.Timestamp("2026-04-01")).days


dates = st.dates(min_value=pd.Timestamp("2026-10-01").date(), max_value=pd.Timestamp("2028-12-31").date())


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    orders=st.lists(st.tuples(st.sampled_from(["C1", "C2", "C3"]), dates, st.floats(-1e5, 1e6, allow_nan=False)), max_size=8),
    interactions=st.lists(st.tuples(st.sampled_from(["C1", "C2"]), dates, st.sampled_from(["拜访", "投诉", "新需求咨询", "关键联系人变更"])), max_size=6),
    surveys=st.lists(st.tuples(st.sampled_from(["C1", "C3"]), dates, st.integers(0, 100)), max_size=4),
)
def test_records_after_as_of_change_nothing(small, orders, interactions, surveys):
    before = snapshot(small, AS_OF)
    ds = small
    later = type(ds)(**{**ds.__dict__})
    later.transactions = pd.concat([ds.transactions, pd.DataFrame(
        {"customer_id": [o[0] for o in orders], "order_date": pd.to_datetime([o[1] for o in orders]).astype("datetime64[ns]"),
         "amount": [round(o[2], 2) for o in orders], "product_line": "新产品"})], ignore_index=True)
    later.interactions = pd.concat([ds.interactions, pd.DataFrame(
        {"customer_id": [i[0] for i in interactions], "date": pd.to_datetime([i[1] for i in interactions]).astype("datetime64[ns]"),
         "type": ["visit" if i[2] == "拜访" else "complaint" if i[2] == "投诉" else "new_need_inquiry" if i[2] == "新需求咨询" else "key_contact_change" for i in interactions]})],
        ignore_index=True)
    later.surveys = pd.concat([ds.surveys, pd.DataFrame(
        {"customer_id": [s[0] for s in surveys], "date": pd.to_datetime([s[1] for s in surveys]).astype("datetime64[ns]"),
         "satisfaction": [float(s[2]) for s in surveys], "nps": pd.array([s[2] // 10 for s in surveys], dtype="Int64")})],
        ignore_index=True)
    after = snapshot(later, AS_OF)
    pd.testing.assert_frame_equal(before, after)

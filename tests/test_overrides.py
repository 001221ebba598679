"""Manual tier overrides: applied after the rules, rule tier kept, clear errors, stale reported."""

from __future__ import annotations

import pandas as pd
import pytest

from segkit.segment.overrides import OverrideError, read_overrides
from segkit.segment.tiers import assign_tiers, explain_tiers, handbook_examples
from segkit.writers import write_table

AS_OF = pd.Timestamp("2026-09-30")


@pytest.fixture
def snap():
    df = handbook_examples()
    df.attrs["as_of"] = AS_OF
    return df


def test_overrides_file_with_chinese_headers_and_labels(write):
    path = write("人工调整.csv", ["客户编号", "客户关系划分", "原因", "复核人", "日期"], [
        ["C003", "潜力客户", "已签署年度框架协议", "张三", "2026-08-01"],
        ["C004", "ordinary", "新门店开业，预计采购量上升", "李四", "2026-09-15"],
    ])
    table = read_overrides(path)
    assert table["customer_id"].tolist() == ["C003", "C004"]
    assert table["tier"].tolist() == ["potential", "ordinary"]
    assert table["date"].tolist() == [pd.Timestamp("2026-08-01"), pd.Timestamp("2026-09-15")]
    assert table["source_row"].tolist() == [2, 3]


def test_override_replaces_the_rule_tier_and_keeps_it(snap, write):
    path = write("overrides.csv", ["customer_id", "tier", "reason", "reviewer", "date"], [
        ["C003", "potential", "已签署年度框架协议", "张三", "2026-08-01"],
    ])
    tiers = assign_tiers(snap, overrides=path)
    row = tiers.join(explain_tiers(tiers, snap)).loc["C003"]
    assert (row["tier"], row["tier_label"], row["rule_tier"]) == ("potential", "潜力客户", "ordinary")
    assert (row["override_reason"], row["override_reviewer"]) == ("已签署年度框架协议", "张三")
    assert row["override_date"] == pd.Timestamp("2026-08-01")
    assert not row["override_stale"] and not row["needs_review"]
    assert row["basis"] == (
        "人工调整为潜力客户：已签署年度框架协议（复核人：张三，2026-08-01）；规则判定：普通客户"
        "（近12个月交易额12.0万元 ∈ [5万元, 20万元) 且 近6个月互动3次 ∈ [3次, 9次]）"
    )
    # the others are untouched
    assert tiers.drop(index="C003")["tier"].tolist() == ["core", "potential", "low_value"]
    assert tiers.drop(index="C003")["override_reason"].isna().all()


def test_overrides_from_xlsx_and_dataframe(snap, tmp_path):
    table = pd.DataFrame({"客户编号": ["C004"], "层级": ["Ordinary"], "原因": ["=cmd|' /C calc'!A0"],
                          "复核人": ["王五"], "日期": ["2026-09-01"]})
    path = write_table(table, tmp_path / "overrides.xlsx")
    from_file = assign_tiers(snap, overrides=path)
    from_frame = assign_tiers(snap, overrides=table)
    assert from_file.loc["C004", "tier"] == from_frame.loc["C004", "tier"] == "ordinary"
    assert from_frame.loc["C004", "override_reason"] == "=cmd|' /C calc'!A0"
    assert from_file.loc["C004", "override_reason"] == "'=cmd|' /C calc'!A0"  # neutralised when it was written


def test_stale_overrides_are_reported_and_flagged(snap, write):
    path = write("overrides.csv", ["customer_id", "tier", "reason", "reviewer", "date"], [
        ["C002", "core", "战略客户", "张三", "2026-04-02"],   # 181 days before 2026-09-30
        ["C003", "potential", "框架协议", "李四", "2026-04-03"],  # 180 days: not stale yet
    ])
    tiers = assign_tiers(snap, overrides=path)
    assert tiers["override_stale"].to_dict() == {"C001": False, "C002": True, "C003": False, "C004": False}
    assert tiers.loc["C002", "tier"] == "core"  # a stale override still applies until replaced
    assert tiers.loc["C002", "needs_review"] and tiers.loc["C002", "review"] == "stale_override"
    assert explain_tiers(tiers, snap).loc["C002", "review_reason"] == "人工调整已超过180天（2026-04-02，复核人：张三），需重新复核"
    strict = assign_tiers(snap, overrides=path, config={"tiers": {"overrides": {"stale_after_days": 90}}})
    assert strict["override_stale"].tolist() == [False, True, True, False]
    english = explain_tiers(tiers, snap, "en")
    assert english.loc["C002", "review_reason"] == "manual override is older than 180 days (2026-04-02, reviewer 张三); review it again"


def test_overrides_made_after_the_snapshot_date_do_not_apply(snap, write):
    path = write("overrides.csv", ["customer_id", "tier", "reason", "reviewer", "date"], [
        ["C003", "potential", "框架协议", "张三", "2026-10-15"],
    ])
    tiers = assign_tiers(snap, overrides=path)
    assert tiers.loc["C003", "tier"] == "ordinary" and pd.isna(tiers.loc["C003", "override_reason"])
    later = assign_tiers(snap, overrides=path, as_of="2026-12-31")
    assert later.loc["C003", "tier"] == "potential"


def test_unknown_customer_is_rejected_with_its_row(snap, write):
    path = write("overrides.csv", ["customer_id", "tier", "reason", "reviewer", "date"], [
        ["C003", "potential", "框架协议", "张三", "2026-08-01"],
        ["C999", "core", "不存在", "张三", "2026-08-01"],
    ])
    with pytest.raises(OverrideError, match=r"1 override\(s\) for customers not in the snapshot:\n  - row 3: customer 'C999'"):
        assign_tiers(snap, overrides=path)


def test_every_problem_of_a_file_is_listed_at_once(write):
    path = write("overrides.csv", ["客户编号", "层级", "原因", "复核人", "日期"], [
        ["C001", "VIP客户", "重要", "张三", "2026-08-01"],
        ["C002", "core", "", "张三", "2026-13-01"],
        ["C003", "core", "ok", "张三", "2026-08-01"],
        ["C003", "potential", "ok", "李四", "2026-08-02"],
    ])
    with pytest.raises(OverrideError) as info:
        read_overrides(path)
    message = str(info.value)
    assert "4 problem(s)" in message
    assert "row 2: unknown tier 'VIP客户'; allowed: ['core', 'potential', 'ordinary', 'low_value'] (or their labels)" in message
    assert "row 3: reason is empty" in message
    assert ("row 3, column '日期': date '2026-13-01' is not a day of the calendar; write it year first, "
            "e.g. 2026-09-30 (also 2026/09/30, 20260930, 2026年9月30日)") in message
    assert "rows 4, 5: several overrides for customer 'C003'; keep one" in message


def test_missing_columns_are_named(write):
    path = write("overrides.csv", ["客户编号", "层级"], [["C001", "core"]])
    with pytest.raises(OverrideError, match=r"missing column\(s\) \['reason', 'reviewer', 'date'\]"):
        read_overrides(path)


def test_overrides_need_a_snapshot_date(write):
    snap = handbook_examples()
    path = write("overrides.csv", ["customer_id", "tier", "reason", "reviewer", "date"], [["C001", "core", "x", "y", "2026-01-01"]])
    with pytest.raises(ValueError, match="overrides need the snapshot date"):
        assign_tiers(snap, overrides=path)

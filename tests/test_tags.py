"""Tags: taxonomy, safe automatic rules, manual and hybrid tags, synonyms, quarterly review."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.segment.tags import (
    TAG_COLUMNS,
    TagError,
    Taxonomy,
    assign_tags,
    auto_tags,
    label_tags,
    load_tags_config,
    merge_synonyms,
    read_confirmations,
    read_manual_tags,
    tag_matrix,
    tag_review,
)


@pytest.fixture
def snap():
    """Three customers with the columns of the default tag rules."""
    return pd.DataFrame(
        {
            "employees": pd.array([1500, 200, None], dtype="Int64"),
            "annual_revenue": [np.nan, 5e6, 2e6],
            "customer_type": ["end_customer", "dealer", None],
            "orders_12m": [72, 20, 3],          # 6 / 1.67 / 0.25 per month
            "interactions_6m": [12, 4, 0],
            "revenue_total": [250000.0, 80000.0, 20000.0],
            "avg_order_value_12m": [25000.0, 4000.0, np.nan],
            "product_lines_12m": [3, 1, 0],
            "complaints_12m": [0, 2, 0],
            "tenure_months": [36, 24, 2],
            "satisfaction": [92.0, 65.0, np.nan],
            "key_contact_changed_6m": [False, False, True],
        },
        index=pd.Index(["A", "B", "C"], name="customer_id"),
    )


def tags_of(table: pd.DataFrame, cid: str, status: str | None = None) -> set[str]:
    rows = table[table["customer_id"] == cid]
    if status:
        rows = rows[rows["status"] == status]
    return set(rows["tag"])


def test_taxonomy_has_three_levels_and_bilingual_labels():
    tax = Taxonomy(load_tags_config())
    assert "value.spend_level.high" in tax.leaves and all(t.count(".") == 2 for t in tax.leaves)
    assert tax.label("status.risk_level.low", "zh") == "状态标签/风险等级/低风险"
    assert tax.label("status.risk_level.low", "en") == "Status/Risk level/Low risk"
    assert tax.resolve("需求标签/服务需求/2小时内响应") == "need.service.fast_response"
    with pytest.raises(TagError, match=r"unknown tag 'mobil'; closest: \['behaviour.channel.mobile'\]|unknown tag 'mobil'"):
        tax.resolve("mobil")
    with pytest.raises(TagError, match=r"'high' is ambiguous"):
        tax.resolve("high")


def test_automatic_rules_on_a_hand_built_snapshot(snap):
    tags = auto_tags(snap)
    assert list(tags.columns) == TAG_COLUMNS
    assert tags_of(tags, "A") == {
        "basic.size.large", "basic.customer_type.end_customer", "behaviour.order_frequency.high",
        "behaviour.engagement.frequent_contact", "value.spend_level.high", "value.order_value.high",
        "status.cooperation_depth.deep", "status.risk_level.low",
    }
    assert tags_of(tags, "B") == {
        "basic.size.medium", "basic.customer_type.dealer", "behaviour.order_frequency.regular",
        "value.spend_level.mid", "status.risk_level.high",
    }
    # C: employees unknown, revenue 2M -> small; key contact changed -> high risk
    assert tags_of(tags, "C") == {"basic.size.small", "status.risk_level.high"}
    # hybrid rules wait for a person
    assert tags_of(tags, "A", "to_confirm") == {"value.spend_level.high", "value.order_value.high"}
    row = tags[(tags["customer_id"] == "A") & (tags["tag"] == "value.spend_level.high")].iloc[0]
    assert (row["level1"], row["level2"], row["level3"], row["source"]) == ("value", "spend_level", "high", "hybrid")
    assert label_tags(tags).loc[row.name, "tag_label"] == "价值标签/消费水平/高消费"
    assert not [c for c in tags.columns if c.endswith("_label")]  # keys only; words come from label_tags


def test_rules_are_validated_when_the_configuration_loads():
    def rules(when):
        return {"tags": {"rules": [{"tag": "value.spend_level.high", "when": when}]}}

    with pytest.raises(ConfigError, match=r"tags.rules\[0\].when: unknown name 'revenue_totl'"):
        load_tags_config(rules("revenue_totl >= 100000"))
    with pytest.raises(ConfigError, match=r"unknown operator '=>' at position 14 .*did you mean '>='"):
        load_tags_config(rules("revenue_total => 100000"))
    with pytest.raises(ConfigError, match=r"unknown operator '&&'"):
        load_tags_config(rules("revenue_total > 1 && orders_12m > 1"))
    with pytest.raises(ConfigError, match=r"is not a rule"):
        load_tags_config(rules("revenue_total + 1"))
    with pytest.raises(ConfigError, match=r"unknown tag 'value.spend.high'"):
        load_tags_config({"tags": {"rules": [{"tag": "value.spend.high", "when": "revenue_total > 1"}]}})
    with pytest.raises(ConfigError, match=r"unknown key 'mode_'; allowed keys here: \['mode', 'tag', 'when'\]"):
        load_tags_config({"tags": {"rules": [{"tag": "value.spend_level.high", "when": "revenue_total > 1", "mode_": "auto"}]}})
    # nothing in a rule is ever executed as Python
    with pytest.raises(ConfigError, match=r"unknown column '__import__'|expected|unknown operator"):
        load_tags_config(rules("__import__('os').system('echo hi') == 0"))
    extra = load_tags_config({"tags": {"extra_columns": ["web_visits_per_week"], "rules": [
        {"tag": "behaviour.channel.online", "when": "web_visits_per_week >= 3"}]}})
    assert extra.rules[0].when == "web_visits_per_week >= 3"


def test_manual_tags_merge_synonyms(snap, write):
    path = write("手工标签.csv", ["客户编号", "标签", "标注人"], [
        ["A", "APP", "张三"], ["A", "mobile", "张三"], ["A", "移动端", "李四"],
        ["B", "2小时内响应", "张三"], ["B", "need.product_preference.customised", "张三"],
        ["C", "年度协议", "李四"],
    ])
    manual = read_manual_tags(path)
    assert manual[["customer_id", "tag"]].values.tolist() == [
        ["A", "behaviour.channel.mobile"], ["B", "need.service.fast_response"],
        ["B", "need.product_preference.customised"], ["C", "status.cooperation_depth.deep"],
    ]
    tags = assign_tags(snap, manual=path)
    mobile = tags[(tags["customer_id"] == "A") & (tags["tag"] == "behaviour.channel.mobile")]
    assert len(mobile) == 1 and mobile.iloc[0]["source"] == "manual"
    deep = tags[(tags["customer_id"] == "C") & (tags["tag"] == "status.cooperation_depth.deep")]
    assert deep.iloc[0]["status"] == "confirmed"


def test_merge_synonyms_keeps_the_strongest_status():
    raw = pd.DataFrame({
        "customer_id": ["A", "A", "A", "B"],
        "tag": ["value.spend_level.high", "高消费", "value/spend_level/high", "app"],
        "source": ["hybrid", "manual", "auto", "manual"],
        "status": ["to_confirm", "confirmed", "confirmed", "confirmed"],
    })
    merged = merge_synonyms(raw)
    assert merged[["customer_id", "tag", "source", "status"]].values.tolist() == [
        ["A", "value.spend_level.high", "hybrid+manual+auto", "confirmed"],
        ["B", "behaviour.channel.mobile", "manual", "confirmed"],
    ]


def test_unknown_manual_tags_and_customers_are_errors(snap, write):
    path = write("tags.csv", ["customer_id", "tag"], [["A", "VIP"], ["B", ""]])
    with pytest.raises(TagError) as info:
        read_manual_tags(path)
    assert "row 2: unknown tag 'VIP'" in str(info.value) and "row 3: tag is empty" in str(info.value)
    stranger = write("tags2.csv", ["customer_id", "tag"], [["Z", "APP"]])
    with pytest.raises(TagError, match=r"manual tags for customers not in the snapshot: \['Z'\]"):
        assign_tags(snap, manual=stranger)


def test_hybrid_tags_stay_to_confirm_until_a_person_decides(snap, write):
    decisions = write("确认.csv", ["客户编号", "标签", "是否确认", "复核人"], [
        ["A", "value.spend_level.high", "是", "张三"],
        ["A", "高客单价", "否", "张三"],   # e.g. one huge abnormal order
    ])
    assert read_confirmations(decisions)["confirmed"].tolist() == [True, False]
    tags = assign_tags(snap, confirmations=decisions)
    status = {t: s for c, t, s in zip(tags["customer_id"], tags["tag"], tags["status"]) if c == "A" and t.startswith("value.")}
    assert status == {"value.spend_level.high": "confirmed", "value.order_value.high": "rejected"}
    undecided = assign_tags(snap)
    assert tags_of(undecided, "A", "to_confirm") == {"value.spend_level.high", "value.order_value.high"}
    assert not tag_matrix(tags, snap.index).loc["A", "value.order_value.high"]
    assert tag_matrix(tags, snap.index).loc["A", "value.spend_level.high"]
    bad = write("bad.csv", ["customer_id", "tag", "confirmed"], [["A", "高消费", "也许"]])
    with pytest.raises(TagError, match=r"row 2: confirmed '也许' is not yes/no"):
        read_confirmations(bad)


# --- quarterly review ------------------------------------------------------------------------


def review_population():
    ids = [f"C{i:02d}" for i in range(20)]
    snap_now = pd.DataFrame({"orders_total": [3] * 20}, index=pd.Index(ids, name="customer_id"))
    snap_now.attrs["as_of"] = pd.Timestamp("2026-06-30")
    tags = pd.DataFrame({
        "customer_id": ids[:10] + ids[::2],
        "tag": ["value.spend_level.high"] * 10 + ["behaviour.channel.online"] * 10,
    })
    # next quarter: tagged C00-C09 -> 8 of 10 ordered again; untagged -> 2 of 10
    repurchased = set(ids[:8]) | {"C12", "C13"}
    satisfaction = [80.0, 85.0, 90.0, 95.0] + [np.nan] * 6 + [60.0, 65.0, 70.0, 75.0] + [np.nan] * 6
    snap_next = pd.DataFrame(
        {
            "orders_total": [4 if i in repurchased else 3 for i in ids],
            "satisfaction": satisfaction,
            "survey_date": pd.to_datetime(["2026-08-01"] * 20),
        },
        index=pd.Index(ids, name="customer_id"),
    )
    return tags, snap_now, snap_next


def test_tag_review_hand_computed():
    tags, snap_now, snap_next = review_population()
    review = tag_review(tags, snap_now, snap_next)
    high = review.loc["value.spend_level.high"]
    assert (high["n_tagged"], high["coverage"]) == (10, 0.5)
    assert (high["repurchase_tagged"], high["repurchase_untagged"]) == (0.8, 0.2)
    # two-proportion z: pooled 0.5, se = sqrt(0.25 * 0.2); Fisher: 2 * (2025 + 100 + 1) / C(20, 10)
    assert high["repurchase_z"] == pytest.approx(0.6 / np.sqrt(0.05))
    assert high["repurchase_p"] == pytest.approx(4252 / 184756)
    # satisfaction 87.5 vs 67.5, both variances 125/3 with 4 answers: t = 20 / sqrt(2 * 125 / 12)
    assert high["satisfaction_diff"] == pytest.approx(20.0)
    assert high["satisfaction_t"] == pytest.approx(20 / np.sqrt(2 * 125 / 12))
    assert high["satisfaction_p"] < 0.01
    assert high["separates"] and high["flag"] == "ok"

    online = review.loc["behaviour.channel.online"]  # every other customer: 5/10 vs 5/10
    assert (online["repurchase_tagged"], online["repurchase_untagged"], online["repurchase_z"]) == (0.5, 0.5, 0.0)
    assert online["repurchase_p"] == pytest.approx(1.0)
    assert not online["separates"] and online["flag"] == "no_longer_separates"
    words = label_tags(review)
    assert words.loc["behaviour.channel.online", "flag_label"] == "已不能区分复购与满意度，建议复核或停用"
    assert label_tags(review, "en").loc["behaviour.channel.online"].tolist() == ["Behaviour/Channel/Online", "no longer separates repurchase or satisfaction; review or retire"]
    assert review.loc["need.service.fast_response", "flag"] == "unused"
    pending = tags.assign(status="to_confirm")
    assert tag_review(pending, snap_now, snap_next).loc["value.spend_level.high", "flag"] == "unconfirmed"
    assert tag_review(pending, snap_now, snap_next, statuses=("confirmed", "to_confirm")).loc["value.spend_level.high", "flag"] == "ok"


def test_tag_review_uses_only_answers_after_the_snapshot_and_small_groups():
    tags, snap_now, snap_next = review_population()
    snap_next["survey_date"] = pd.Timestamp("2026-05-01")  # answered before snapshot_now: not an outcome
    review = tag_review(tags, snap_now, snap_next)
    assert np.isnan(review.loc["value.spend_level.high", "satisfaction_tagged"])
    few = tag_review(tags.iloc[:3], snap_now, snap_next)
    assert few.loc["value.spend_level.high", "flag"] == "not_tested"
    outcome = pd.DataFrame({"repurchase": [True] * 10 + [False] * 10}, index=snap_now.index)
    direct = tag_review(tags, snap_now, outcome)
    assert direct.loc["value.spend_level.high", "repurchase_diff"] == 1.0
    with pytest.raises(ValueError, match="needs a column 'repurchase'"):
        tag_review(tags, snap_now, pd.DataFrame({"x": [1]}))


def test_tag_review_figure():
    from segkit.plots.segment import plot_tag_review

    tags, snap_now, snap_next = review_population()
    ax = plot_tag_review(tag_review(tags, snap_now, snap_next), lang="en").axes[0]
    widths = {t.get_text(): p.get_width() for t, p in zip(ax.get_yticklabels(), ax.patches)}
    assert widths == {"Behaviour/Channel/Online": pytest.approx(0.0), "Value/Spend level/High spend": pytest.approx(60.0)}

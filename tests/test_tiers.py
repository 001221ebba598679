"""Tiers (客户关系划分): the handbook's worked examples, basis texts, review flags, config."""

from __future__ import annotations

import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.features import snapshot
from segkit.io import load_dataset
from segkit.segment.rules import RuleSet
from segkit.segment.tiers import assign_tiers, explain_tiers, handbook_examples, load_tiers_config, tier_dtype

AS_OF = "2026-09-30"
HANDBOOK_TIERS = {"C001": "核心客户", "C002": "潜力客户", "C003": "普通客户", "C004": "低价值客户"}


def frame(rows: dict[str, tuple], renewal: dict[str, object] | None = None) -> pd.DataFrame:
    """Snapshot-shaped rows: id -> (revenue_12m, interactions_6m, new_need_inquiry_6m)."""
    df = pd.DataFrame(
        [(cid, *values) for cid, values in rows.items()],
        columns=["customer_id", "revenue_12m", "interactions_6m", "new_need_inquiry_6m"],
    ).set_index("customer_id")
    renewal = renewal or {}
    df["renewal_intent"] = pd.array([renewal.get(c) for c in df.index], dtype="boolean")
    df["revenue_12m"] = df["revenue_12m"].astype(float)
    return df


def explained(snap: pd.DataFrame, lang: str = "zh", **kwargs) -> pd.DataFrame:
    """The tiers (keys) joined with their words from the edge function, as these tests read both."""
    tiers = assign_tiers(snap, **kwargs)
    words = explain_tiers(tiers, snap, lang, kwargs.get("config"))
    assert words.index.equals(tiers.index) and not set(words.columns) & set(tiers.columns)
    out = tiers.join(words)
    out.attrs = tiers.attrs  # a join keeps attrs only when both sides hold the same
    return out


# --- the handbook's worked examples, end to end ------------------------------------------------


@pytest.fixture
def handbook_dataset(write, tmp_path):
    """C001-C004 as raw CRM exports with Chinese headers (amounts in 万元, as in the template)."""
    (tmp_path / "dataset.yaml").write_text(f"name: handbook\nas_of: {AS_OF}\n", encoding="utf-8")
    write("客户信息.csv", ["客户编号", "客户名称", "所属行业", "联系人", "职务", "首次合作时间", "核心需求类型", "续约意向"], [
        ["C001", "*科技有限公司", "互联网", "李明", "总监", "2024-09-15", "定制化软件开发", ""],
        ["C002", "*贸易公司", "零售", "王芳", "经理", "2025-09-15", "标准产品采购", ""],
        ["C003", "*制造厂", "机械制造", "赵强", "主管", "2026-03-15", "设备维护服务", ""],
        ["C004", "*个体工商户", "餐饮", "", "", "2026-06-15", "一次性耗材采购", "否"],
    ])
    write("订单记录.csv", ["客户编号", "交易日期", "交易金额（万元）"], [
        ["C001", "2025-11-15", "20"], ["C001", "2026-02-10", "25"], ["C001", "2026-08-20", "20"],  # 65
        ["C002", "2025-12-01", "18"], ["C002", "2026-07-15", "10"],                                # 28
        ["C003", "2026-04-10", "7"], ["C003", "2026-08-01", "5"],                                  # 12
        ["C004", "2026-07-05", "3"],                                                               # 3
        ["C001", "2024-10-15", "40"],  # more than 12 months before: not in the 12-month amount
    ])
    visits = [["C001", f"2026-{m:02d}-{d:02d}", "拜访" if d == 5 else "电话沟通"] for m in range(4, 10) for d in (5, 20)]
    write("互动记录.csv", ["客户编号", "互动日期", "互动类型"], [
        *visits,                                                                   # C001: 12
        ["C002", "2026-04-15", "电话"], ["C002", "2026-05-15", "邮件"], ["C002", "2026-06-15", "拜访"],
        ["C002", "2026-08-15", "电话"], ["C002", "2026-09-10", "新产品咨询"],        # C002: 5, asked about new products
        ["C003", "2026-05-02", "电话"], ["C003", "2026-07-02", "拜访"], ["C003", "2026-09-02", "邮件"],  # C003: 3
        ["C003", "2026-03-15", "电话"],  # before the 6-month window
    ])
    return load_dataset(tmp_path)


def test_handbook_examples_end_to_end(handbook_dataset):
    ds = handbook_dataset
    assert ds.rejected.empty, ds.rejected
    snap = snapshot(ds, AS_OF)
    template = snap.loc[:, ["revenue_12m", "interactions_6m", "tenure_months", "new_need_inquiry_6m"]]
    assert template["revenue_12m"].tolist() == [650000.0, 280000.0, 120000.0, 30000.0]
    assert template["interactions_6m"].tolist() == [12, 5, 3, 0]
    assert template["tenure_months"].tolist() == [24, 12, 6, 3]
    assert template["new_need_inquiry_6m"].tolist() == [0, 1, 0, 0]

    tiers = explained(snap)
    assert tiers["tier_label"].to_dict() == HANDBOOK_TIERS
    assert tiers["tier"].tolist() == ["core", "potential", "ordinary", "low_value"]
    assert not tiers["needs_review"].any()
    assert tiers.loc["C001", "basis"] == "近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次"
    assert tiers.loc["C002", "basis"] == "近12个月交易额28.0万元 ∈ [20万元, 50万元)；近6个月新需求咨询1次 ≥ 1次"
    assert tiers.loc["C003", "basis"] == "近12个月交易额12.0万元 ∈ [5万元, 20万元) 且 近6个月互动3次 ∈ [3次, 9次]"
    assert tiers.loc["C004", "basis"].startswith("近12个月交易额3.0万元 < 5万元；")
    assert tiers.loc["C004", "basis"].endswith("近6个月互动0次 = 0次 且 无续约意向")


def test_handbook_examples_in_english():
    tiers = explained(handbook_examples(), lang="en")
    assert tiers["tier_label"].tolist() == ["Core", "Potential", "Ordinary", "Low value"]
    assert tiers.loc["C001", "basis"] == "12-month revenue CNY 650,000 ≥ CNY 500,000 and 6-month interactions 12 ≥ 10"
    assert "6-month new-need inquiries 1 ≥ 1" in tiers.loc["C002", "basis"]


def test_output_columns_and_dtypes():
    tiers = assign_tiers(handbook_examples())
    assert list(tiers.columns) == [
        "tier", "needs_review", "review", "rule", "rule_tier",
        "override_reason", "override_reviewer", "override_date", "override_stale",
    ]
    assert isinstance(tiers["tier"].dtype, pd.CategoricalDtype) and tiers["tier"].dtype == tier_dtype()
    assert tiers["rule_tier"].dtype == tier_dtype() and pd.api.types.is_bool_dtype(tiers["needs_review"])
    assert pd.api.types.is_string_dtype(tiers["review"]) and pd.api.types.is_string_dtype(tiers["rule"])
    assert tiers["rule"].tolist() == ["rules[0]", "rules[1]", "rules[2]", "rules[3]"]
    assert (tiers["rule_tier"] == tiers["tier"]).all()
    assert tiers["override_reason"].isna().all() and not tiers["override_stale"].any()
    assert tiers.attrs["tier_order"] == ["core", "potential", "ordinary", "low_value"]


# --- rules no row matched: explicit provisional tier + review ----------------------------------


def test_amount_met_interactions_not_is_flagged_not_silently_picked():
    tiers = explained(frame({"X": (600000, 5, 0), "Y": (600000, 5, 1)}))
    # X matches no rule: provisional potential, flagged with the unmet condition and numbers
    assert tiers.loc["X", "tier"] == "potential"
    assert tiers.loc["X", "needs_review"]
    assert tiers.loc["X", "basis"] == "未完全满足任何规则；近12个月交易额60.0万元 ≥ 50万元"
    reason = tiers.loc["X", "review_reason"]
    assert reason.startswith("交易额达到核心客户标准（50万元）但近6个月互动未达标")
    assert "近6个月互动5次（需 ≥ 10次）" in reason
    # Y is potential by its new-need inquiry, but the amount met core and interactions did not
    assert tiers.loc["Y", "tier"] == "potential" and tiers.loc["Y", "needs_review"]
    assert tiers.loc["Y", "review_reason"] == "核心客户条件部分满足：近12个月交易额60.0万元 ≥ 50万元，但近6个月互动5次（需 ≥ 10次）"


@pytest.mark.parametrize("interactions", [1, 2, 10, 25])
def test_ordinary_amount_with_interactions_outside_3_to_9(interactions):
    tiers = explained(frame({"X": (100000, interactions, 0)}))
    assert tiers.loc["X", "tier"] == "ordinary"
    assert tiers.loc["X", "needs_review"]
    assert "近6个月互动不在3-9次之间" in tiers.loc["X", "review_reason"]


def test_no_interactions_and_no_renewal_intention_is_low_value():
    tiers = explained(frame({"N": (100000, 0, 0), "U": (100000, 0, 0), "R": (100000, 0, 0)}, {"N": False, "R": True}))
    assert tiers.loc["N", "tier"] == "low_value" and tiers.loc["N", "basis"].endswith("无续约意向")
    assert tiers.loc["U", "tier"] == "low_value"  # unknown intention counts as none, and says so
    assert tiers.loc["U", "basis"].endswith("续约意向未知（按无续约意向处理）")
    assert tiers.loc["R", "tier"] == "ordinary" and tiers.loc["R", "needs_review"]  # intends to renew: no rule matches


def test_missing_revenue_goes_to_the_default_tier_with_review():
    tiers = explained(frame({"M": (float("nan"), 4, 0)}))
    assert tiers.loc["M", "tier"] == "low_value" and tiers.loc["M", "needs_review"]
    assert "近12个月交易额缺失" in tiers.loc["M", "review_reason"]


# --- borderline: within 10% of a threshold that decided the tier ------------------------------


def test_near_threshold_customers_are_flagged():
    tiers = explained(frame({
        "below_core": (480000, 12, 0),   # 4% below 500k; across it: core
        "above_core": (540000, 12, 0),   # 8% above 500k; below it: potential (via review)
        "far": (560000, 12, 0),          # 12% above: clear
        "edge_10": (550000, 12, 0),      # exactly 10%: within the margin
        "just_potential": (205000, 4, 0),  # 2.5% above 200k; below it: ordinary
        "low_near": (48000, 4, 0),       # 4% below 50k; across it: ordinary
        "interactions_10": (650000, 10, 0),  # at the interaction threshold
        "interactions_12": (650000, 12, 0),  # 20% above: clear
        "irrelevant": (480000, 4, 0),    # near 500k, but with 4 interactions crossing changes nothing
    }))
    flagged = tiers["needs_review"].to_dict()
    assert flagged == {
        "below_core": True, "above_core": True, "far": False, "edge_10": True, "just_potential": True,
        "low_near": True, "interactions_10": True, "interactions_12": False, "irrelevant": False,
    }
    assert tiers.loc["below_core", "review_reason"] == "近12个月交易额48.0万元，距阈值50万元不足10%（越过阈值将为核心客户）"
    assert tiers.loc["interactions_10", "review_reason"] == "近6个月互动10次，距阈值10次不足10%（越过阈值将为潜力客户）"
    assert tiers.loc["low_near", "review_reason"] == "近12个月交易额4.8万元，距阈值5万元不足10%（越过阈值将为普通客户）"


def test_review_margin_is_configurable():
    rows = frame({"four": (480000, 12, 0), "eight": (460000, 12, 0)})
    default = assign_tiers(rows)
    assert default["needs_review"].tolist() == [True, True]
    narrow = assign_tiers(rows, config={"tiers": {"review": {"margin": 0.05}}})
    assert narrow["needs_review"].tolist() == [True, False]
    off = assign_tiers(rows, config={"tiers": {"review": {"margin": 0}}})
    assert not off["needs_review"].any()


def test_values_that_round_to_a_threshold_are_shown_exactly():
    tiers = explained(frame({"X": (499999.6, 12, 0)}))
    assert tiers.loc["X", "basis"] == "近12个月交易额499,999.60元 ∈ [20万元, 50万元)"


# --- configuration ---------------------------------------------------------------------------


def test_user_config_changes_only_what_it_sets():
    cfg = {"tiers": {"rules": [
        {"tier": "core", "any_of": [["revenue_12m >= 600000", "interactions_6m >= 8"]]},
        {"tier": "low_value", "any_of": [["revenue_12m < 600000"]]},
    ], "labels": {"core": {"zh": "重点客户", "en": "Key"}}}}
    tiers = explained(frame({"A": (650000, 8, 0), "B": (590000, 30, 0)}), config=cfg)
    assert tiers["tier"].tolist() == ["core", "low_value"]
    assert tiers.loc["A", "tier_label"] == "重点客户"
    assert tiers.loc["B", "tier_label"] == "低价值客户"  # labels not set keep their defaults
    assert load_tiers_config(cfg).review.margin == 0.10


def test_rule_with_unknown_column_or_tier_is_rejected():
    with pytest.raises(ConfigError, match=r"unknown name 'revenue_12' .*did you mean 'revenue_12m'.*thresholds: \[.*'core_revenue'"):
        load_tiers_config({"tiers": {"rules": [{"tier": "core", "any_of": [["revenue_12 >= 1"]]}]}})
    with pytest.raises(ConfigError, match=r"tiers.rules\[0\].tier: unknown key 'vip'; allowed: \['core', 'potential', 'ordinary', 'low_value'\]"):
        load_tiers_config({"tiers": {"rules": [{"tier": "vip", "any_of": [["revenue_12m >= 1"]]}]}})
    with pytest.raises(ConfigError, match=r"must compare one column with a value"):
        load_tiers_config({"tiers": {"rules": [{"tier": "core", "any_of": [["revenue_12m >= interactions_6m"]]}]}})
    with pytest.raises(ConfigError, match=r"unknown key 'tierr'; allowed keys here: \['any_of', 'partial_review', 'tier'\]"):
        load_tiers_config({"tiers": {"rules": [{"tierr": "core", "any_of": [["revenue_12m >= 1"]]}]}})


def test_missing_snapshot_column_is_named():
    with pytest.raises(ValueError, match="'new_need_inquiry_6m'"):
        assign_tiers(frame({"A": (1.0, 1, 0)}).drop(columns="new_need_inquiry_6m"))


def test_rule_engine_assign_matches_evaluate():
    rows = frame({"A": (650000, 12, 0), "B": (600000, 5, 0), "C": (10000, 0, 0)})
    rules = RuleSet(load_tiers_config())
    assert rules.assign(rows).tolist() == rules.evaluate(rows)["key"].tolist() == ["core", "potential", "low_value"]


def test_tier_distribution_figure():
    from matplotlib.figure import Figure

    from segkit.plots.segment import plot_tier_distribution

    tiers = assign_tiers(frame({"A": (650000, 12, 0), "B": (600000, 5, 0), "C": (10000, 0, 0), "D": (20000, 1, 0)}))
    fig = plot_tier_distribution(tiers, lang="en")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["Core", "Potential", "Ordinary", "Low value"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [1, 0, 0, 2, 0, 1, 0, 0]  # clear bars, then needs-review bars (B is provisional)


# --- keys in the analysis, words at the edge ---------------------------------------------------


def _digest(lines) -> str:
    import hashlib

    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


# sha256 prefixes of main's assign_tiers output before words moved to explain_tiers (commit
# 404fa18): "id, tier, needs_review" per customer and "id, tier_label, basis, review_reason"
# per language. The split must change neither the keys nor a single word.
BEFORE_THE_SPLIT = {
    "sample": {"keys": "792610f82b6b9bb8", "zh": "75e4fe16c82ae991", "en": "4714f6991676b0ba"},
    "second": {"keys": "799829b83a67484f", "zh": "02cd1e6da0e7c08c", "en": "aa99a9f84f025300"},
}


@pytest.fixture(scope="module")
def sample_snapshot():
    from conftest import SAMPLE

    return snapshot(load_dataset(SAMPLE), AS_OF)


@pytest.fixture(scope="module")
def second_snapshot(second_data):
    return snapshot(load_dataset(second_data), AS_OF)


@pytest.mark.parametrize("name", ["sample", "second"])
def test_keys_and_words_are_those_of_before_the_split(name, request):
    import warnings

    snap = request.getfixturevalue(f"{name}_snapshot")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiers = assign_tiers(snap)
    assert _digest(f"{i}\t{t}\t{r}" for i, t, r in zip(tiers.index, tiers["tier"], tiers["needs_review"])) == BEFORE_THE_SPLIT[name]["keys"]
    for lang in ("zh", "en"):
        words = explain_tiers(tiers, snap, lang)
        lines = (f"{i}\t{a}\t{b}\t{c}" for i, a, b, c in zip(words.index, words["tier_label"], words["basis"], words["review_reason"]))
        assert _digest(lines) == BEFORE_THE_SPLIT[name][lang], (name, lang)
        # a review key for every review reason and none without
        assert ((words["review_reason"] != "") == (tiers["review"] != "")).all()
    # every review key names one of the kinds the rules know
    kinds = {k.split(":")[0] for keys in tiers["review"] if keys for k in keys.split(";")}
    assert kinds <= {"unmatched", "partial", "near_threshold"} and "near_threshold" in kinds


def test_the_analysis_output_holds_no_words():
    snap = frame({"X": (600000, 5, 0), "Y": (480000, 12, 0), "Z": (30000, 0, 0)})
    tiers = assign_tiers(snap)
    assert not {"tier_label", "basis", "review_reason"} & set(tiers.columns)
    assert "lang" not in tiers.attrs
    text_columns = [c for c in tiers.columns
                    if pd.api.types.is_string_dtype(tiers[c]) and not isinstance(tiers[c].dtype, pd.CategoricalDtype)]
    assert text_columns == ["review", "rule", "override_reason", "override_reviewer"]  # keys, and the reviewer's own text
    assert tiers["review"].tolist() == ["unmatched;partial:core", "near_threshold:revenue_12m", ""]
    assert tiers["rule"].tolist() == ["unmatched.rules[0]", "rules[1]", "rules[3]"]
    assert tiers["needs_review"].tolist() == [True, True, False]


def test_explaining_some_rows_gives_their_words_of_all_rows(sample_snapshot):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tiers = assign_tiers(sample_snapshot)
    shown = tiers[tiers["needs_review"]].iloc[::7]  # a list shows a few rows: only they are put into words
    some = explain_tiers(shown, sample_snapshot, "en")
    assert some.index.equals(shown.index) and len(some) < len(tiers) / 10
    pd.testing.assert_frame_equal(some, explain_tiers(tiers, sample_snapshot, "en").loc[shown.index])


def test_explaining_tiers_of_another_snapshot_names_the_missing_customers():
    tiers = assign_tiers(handbook_examples())
    with pytest.raises(ValueError, match=r"1 customer\(s\) of the tier table are not in the snapshot \(e.g. 'C004'\)"):
        explain_tiers(tiers, handbook_examples().drop(index="C004"))


def test_the_handbook_worked_examples_in_words_from_the_rule_engine():
    """business-rules.md section 2: C001-C004 come out as shown, now through RuleSet.explain."""
    snap = handbook_examples()
    rules = RuleSet(load_tiers_config())
    keys = rules.evaluate(snap)
    assert keys["key"].tolist() == ["core", "potential", "ordinary", "low_value"]
    assert keys.columns.tolist() == ["key", "rule", "clause", "needs_review", "review"]
    words = rules.explain(snap, keys, "zh")
    assert words.loc["C001", "basis"] == "近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次"
    assert words.loc["C003", "basis"] == "近12个月交易额12.0万元 ∈ [5万元, 20万元) 且 近6个月互动3次 ∈ [3次, 9次]"
    assert (words["review_reason"] == "").all()

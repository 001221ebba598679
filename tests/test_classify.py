"""Other classifications (sections 3-4) and the combined label."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.segment.classify import (
    classify,
    combined_label,
    company_size,
    explain_classes,
    industry,
    lifecycle_stage,
    load_classify_config,
    need_type,
    value_class,
)


def test_value_classes_with_growth():
    snap = pd.DataFrame(
        {
            "revenue_12m": [500000.0, 499999.0, 100000.0, 300000.0, 300000.0, 99999.0, 200000.0],
            "revenue_growth_6m": [np.nan, 0.20, 0.35, 0.19, np.nan, 5.0, -0.3],
        },
        index=list("ABCDEFG"),
    )
    keys = value_class(snap)
    assert keys["value_class"].tolist() == ["high_value", "potential", "potential", "ordinary", "ordinary", "ordinary", "ordinary"]
    assert keys.columns.tolist() == ["value_class"]  # the analysis gives keys; words come from explain_classes
    out = explain_classes(keys, snap)
    assert out["value_class_label"].tolist()[:3] == ["高价值客户", "潜力客户", "潜力客户"]
    assert out.loc["A", "value_class_basis"] == "近12个月交易额50.0万元 ≥ 50万元"
    assert out.loc["D", "value_class_basis"] == "未完全满足任何规则；近12个月交易额30.0万元 ∈ [10万元, 50万元)"
    english = explain_classes(keys, snap, "en")
    assert english.loc["C", "value_class_basis"] == "12-month revenue CNY 100,000 ∈ [CNY 100,000, CNY 500,000) and 6-month revenue growth 35.0% ≥ 20%"
    assert english["value_class_label"].tolist()[0] == "High value"


def test_value_class_shows_exact_values_next_to_thresholds():
    snap = pd.DataFrame({"revenue_12m": [99999.0], "revenue_growth_6m": [0.1999999]})
    out = explain_classes(value_class(snap), snap)
    assert out["value_class_basis"].iloc[0] == "近12个月交易额99,999.00元 < 10万元"


def lifecycle_frame():
    return pd.DataFrame(
        {
            "stage": ["active", "churned", "intent", None, "active", "churned", "prospect", "active", "active"],
            "orders_total": [5, 3, 0, 0, 2, 4, 0, 6, 0],
            "orders_0_3m": [1, 0, 0, 0, 0, 1, 0, 0, 0],
            "interactions_3m": [2, 0, 1, 0, 0, 0, 3, 4, 0],
            "tenure_months": [30, 40, 0, 0, 8, 50, 0, 6, 1],
            "renewal_intent": pd.array([True, None, None, None, None, None, None, None, None], dtype="boolean"),
        },
        index=[f"L{i}" for i in range(9)],
    )


def test_lifecycle_stage_cooperation_scheme():
    out = lifecycle_stage(lifecycle_frame())
    assert out["lifecycle_stage"].tolist() == [
        "active",    # ordered in the last 3 months
        "churned",   # record says churned, no recent order
        "intent",    # in negotiation, never ordered
        "prospect",  # nothing known
        "churned",   # ordered before, no order and no contact for 3 months, no renewal intention
        "active",    # record says churned but ordered in the last 3 months: cooperation goes on
        "prospect",
        "active",    # no order in 3 months but still in contact
        "active",    # signed (record says active), nothing delivered yet
    ]
    assert explain_classes(out)["lifecycle_stage_label"].tolist()[:4] == ["合作中客户", "流失客户", "意向客户", "潜在客户"]


def test_lifecycle_stage_relationship_scheme():
    out = lifecycle_stage(lifecycle_frame(), scheme="relationship")
    assert out["lifecycle_stage"].tolist() == ["old", "churned", "prospect", "prospect", "churned", "old", "prospect", "new", "new"]
    assert explain_classes(out, lang="en")["lifecycle_stage_label"].tolist()[:2] == ["Long-standing", "Churned"]
    with pytest.raises(ValueError, match=r"unknown lifecycle scheme 'funnel'; schemes: \['cooperation', 'relationship'\]"):
        lifecycle_stage(lifecycle_frame(), scheme="funnel")


def test_company_size_boundaries():
    snap = pd.DataFrame(
        {
            "employees": pd.array([1001, 1000, 100, 99, None, None, None, None, 20], dtype="Int64"),
            "annual_revenue": [np.nan, np.nan, np.nan, np.nan, 100_000_001.0, 100_000_000.0, 10_000_000.0, 9_999_999.0, 5e8],
        },
        index=list("ABCDEFGHI"),
    )
    out = company_size(snap)
    assert out["company_size"].tolist() == ["large", "medium", "medium", "small", "large", "medium", "medium", "small", "large"]
    unknown = company_size(pd.DataFrame({"employees": pd.array([None], dtype="Int64"), "annual_revenue": [np.nan]}))
    assert unknown["company_size"].tolist() == ["unknown"]
    assert explain_classes(unknown, lang="en")["company_size_label"].tolist() == ["Size unknown"]


def test_industry_and_need_type_labels():
    snap = pd.DataFrame({"industry": ["manufacturing", "it_services", "制衣业", None],
                         "need_type": ["solution_customisation", "technical_service", "strategic", None]})
    ind = explain_classes(industry(snap))
    assert ind["industry_label"].tolist() == ["制造业", "IT服务业", "制衣业", ""]  # unknown values shown as written
    assert explain_classes(need_type(snap), lang="en")["need_type_label"].tolist() == ["Solution customisation", "Technical service", "Long-term strategic", ""]


def test_combined_label_handbook_example_and_configuration():
    classes = pd.DataFrame({
        "industry": ["manufacturing", "retail", None],
        "value_class": ["high_value", "potential", "ordinary"],
        "lifecycle_stage": ["active", "churned", "prospect"],
        "need_type": ["solution_customisation", "product_purchase", "strategic"],
        "company_size": ["large", "small", "unknown"],
    })
    assert combined_label(classes).tolist() == [
        "制造业-高价值-合作中-解决方案定制型",
        "零售业-潜力-流失-产品采购型",
        "未知-普通-潜在客户-长期战略合作型",
    ]
    assert combined_label(classes, parts=["company_size", "industry"], separator="/", lang="en").tolist() == [
        "Large/Manufacturing", "Small/Retail", "Size unknown/unknown",
    ]
    configured = {"classify": {"combined_label": {"parts": ["value_class", "industry"], "separator": "|"}}}
    assert combined_label(classes, config=configured).tolist()[0] == "高价值|制造业"
    with pytest.raises(ValueError, match=r"unknown class 'tier'"):
        combined_label(classes, parts=["tier"])


def test_classify_all_together():
    snap = pd.DataFrame(
        {
            "revenue_12m": [650000.0, 30000.0], "revenue_growth_6m": [0.1, np.nan],
            "stage": ["active", "prospect"], "orders_total": [8, 0], "orders_0_3m": [2, 0],
            "interactions_3m": [4, 0], "tenure_months": [30, 0],
            "renewal_intent": pd.array([True, None], dtype="boolean"),
            "employees": pd.array([1200, 30], dtype="Int64"), "annual_revenue": [np.nan, 2e6],
            "industry": ["manufacturing", "education"], "need_type": ["solution_customisation", "technical_service"],
        },
        index=pd.Index(["A", "B"], name="customer_id"),
    )
    keys = classify(snap)
    assert list(keys.columns) == ["value_class", "lifecycle_stage", "company_size", "industry", "need_type"]
    assert all(pd.api.types.is_string_dtype(keys[c]) for c in keys.columns)
    words = explain_classes(keys, snap)
    assert list(words.columns) == [
        "value_class_label", "value_class_basis", "lifecycle_stage_label", "company_size_label", "industry_label",
        "need_type_label", "combined_label",
    ]
    out = keys.join(words)
    assert out["combined_label"].tolist() == ["制造业-高价值-合作中-解决方案定制型", "教育行业-普通-潜在客户-技术服务型"]
    assert out["company_size"].tolist() == ["large", "small"]


def test_classify_config_errors_name_the_key():
    with pytest.raises(ConfigError, match=r"classify.lifecycle.schemes.cooperation\[0\].when: unknown name 'order_0_3m'"):
        load_classify_config({"classify": {"lifecycle": {"schemes": {"cooperation": [{"key": "active", "when": "order_0_3m > 0"}]}}}})
    with pytest.raises(ConfigError, match=r"unknown key 'company_size.other_key'; allowed keys here: \['labels', 'other', 'rules'\]"):
        load_classify_config({"classify": {"company_size": {"other_key": "x"}}})


# counts main gave before the words moved to explain_classes (commit 404fa18): the keys must not move
BEFORE_THE_SPLIT = {
    "sample": {"value_class": {"ordinary": 1447, "potential": 278, "high_value": 272},
               "lifecycle_stage": {"active": 1520, "churned": 393, "intent": 43, "prospect": 41},
               "company_size": {"medium": 895, "small": 790, "large": 312}},
    "second": {"value_class": {"ordinary": 266, "potential": 68, "high_value": 63},
               "lifecycle_stage": {"active": 313, "churned": 70, "intent": 9, "prospect": 5},
               "company_size": {"medium": 176, "small": 147, "large": 74}},
}


@pytest.mark.parametrize("which", ["sample", "second"])
def test_classes_and_their_words_on_two_data_sets(which, second_data):
    """Keys only from classify, as many of each as before; every key gets a label, the value
    class its basis, and the combined label joins the labels."""
    import warnings

    from segkit.features import snapshot
    from segkit.io import load_dataset

    from conftest import SAMPLE

    snap = snapshot(load_dataset(SAMPLE if which == "sample" else second_data), "2026-09-30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        keys = classify(snap)
    assert not [c for c in keys.columns if c.endswith(("_label", "_basis"))]
    for column, counts in BEFORE_THE_SPLIT[which].items():
        assert keys[column].value_counts().to_dict() == counts, column
    cfg = load_classify_config()
    for lang in ("zh", "en"):
        words = explain_classes(keys, snap, lang)
        assert (words["value_class_label"] != "").all() and (words["value_class_basis"] != "").all()
        assert words["value_class_basis"].str.contains("USD" if which == "second" and lang == "en" else "").all()
        second = words["combined_label"].str.split("-").str[1]
        expected = keys["value_class"].map({k: v.text(lang, short=True) for k, v in cfg.value_class.labels.items()})
        assert (second == expected).all()

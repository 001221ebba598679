"""The rule engine's public helpers (segment.rules) and the one header normaliser (schema).

Hand-computed cases: the numbers are the default lines of tiers.yaml / thresholds.yaml
(core 500,000; potential 200,000; 10 interactions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segkit.config import ConfigError
from segkit.handbook import _header_key
from segkit.schema import clean_header, fold_header, normalise_header
from segkit.segment.overrides import OverrideError, alias_columns, read_table
from segkit.segment.rules import (
    ConditionSpec,
    ConfigItem,
    Label,
    RuleSet,
    compile_condition,
    join_texts,
)
from segkit.segment.tiers import load_tiers_config

MEASURES = load_tiers_config().measures


# --- compile_condition -------------------------------------------------------------------------


def test_a_named_line_on_the_left_is_turned_round():
    cond = compile_condition("core_revenue <= revenue_12m", MEASURES, "here")
    assert (cond.column, cond.op, cond.value) == ("revenue_12m", ">=", 500_000.0)
    assert cond.thresholds == [500_000.0]
    frame = pd.DataFrame({"revenue_12m": [499_999.99, 500_000.0, np.nan]})
    assert cond.expr.evaluate(frame).tolist() == [False, True, False]


def test_a_range_keeps_both_ends_and_their_operators():
    cond = compile_condition("potential_revenue <= revenue_12m < core_revenue", MEASURES, "here")
    assert (cond.op, cond.low, cond.high, cond.low_op, cond.high_op) == ("between", 200_000.0, 500_000.0, "<=", "<")
    assert cond.thresholds == [200_000.0, 500_000.0]
    frame = pd.DataFrame({"revenue_12m": [199_999.0, 200_000.0, 499_999.0, 500_000.0]})
    assert cond.expr.evaluate(frame).tolist() == [False, True, True, False]


def test_a_condition_marked_not_borderline_has_no_review_thresholds():
    cond = compile_condition(ConditionSpec(condition="interactions_6m >= 10", borderline=False), MEASURES, "here")
    assert (cond.op, cond.value, cond.thresholds) == (">=", 10, [])
    # a comparison with 0 is no line to be near to
    assert compile_condition("interactions_6m > 0", MEASURES, "here").thresholds == []


def test_bad_conditions_name_the_place_and_the_problem():
    with pytest.raises(ConfigError, match=r"^rules\[3\]: 'revenue_12m >= interactions_6m' must compare one column with a value"):
        compile_condition("revenue_12m >= interactions_6m", MEASURES, "rules[3]")
    with pytest.raises(ConfigError, match=r"columns used in rules must be listed under `measures`"):
        compile_condition("employees >= 10", MEASURES, "rules[0]")


# --- join_texts, ConfigItem, RuleSet helpers ---------------------------------------------------


def test_join_texts_skips_missing_and_empty_parts_row_by_row():
    index = pd.Index(["A", "B", "C"])
    first = pd.Series(["a1", "", None], index=["A", "B", "C"])
    second = pd.Series(["a2", "b2"], index=["A", "B"])
    third = pd.Series(["x"], index=["Z"])  # a row not in the index is ignored
    out = join_texts([first, second, third], index, "; ")
    assert out.tolist() == ["a1; a2", "b2", ""]
    assert out.index.equals(index)


def test_config_items_name_an_unknown_key_and_the_allowed_ones():
    class Pair(ConfigItem):
        low: int
        high: int

    assert Pair.model_validate({"low": 1, "high": 2}).high == 2
    with pytest.raises(ValueError, match=r"unknown key 'hihg'; allowed keys here: \['high', 'low'\]"):
        Pair.model_validate({"low": 1, "hihg": 2})
    assert Label(zh="核心客户", en="Core", en_short="C").text("en", short=True) == "C"
    assert Label(zh="核心客户", en="Core").text("zh", short=True) == "核心客户"


def test_rule_set_rank_and_label_follow_the_configuration():
    rules = RuleSet(load_tiers_config())
    keys = pd.Series(["low_value", "core", "ordinary", "potential"])
    assert rules.rank(keys).tolist() == [3, 0, 2, 1]
    assert [rules.label(k, "en") for k in ("core", "low_value")] == ["Core", "Low value"]
    assert rules.label("unknown", "en") == "unknown"


# --- the header normaliser, on headers as CRM exports and hand-kept sheets write them ----------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("\ufeffcustomer_id", "customer_id"),  # a BOM Excel left on the first header
        ("\ufeff 客户编号 ", "客户编号"),
        ("客户\u3000编号", "客户_编号"),  # full-width space (IME)
        ("ＣＵＳＴＯＭＥＲ＿ＩＤ", "customer_id"),  # full-width letters
        ("Customer ID", "customer_id"),
        ("  Order - Date\t", "order_date"),
        ("Reviewed-By", "reviewed_by"),
        ("New  Tier", "new_tier"),
        ("低价值客户", "低价值客户"),
        ("Low value", "low_value"),
    ],
)
def test_fold_header_on_real_world_headers(header, expected):
    assert fold_header(header) == expected


def test_the_three_former_copies_now_agree():
    # overrides (tiers' old _norm_header), the table contracts and the handbook table read
    # headers through the same function
    for header in ("\ufeff Customer\u3000ID ", "复核人", "ＤＡＴＥ"):
        assert normalise_header(header)[0] == fold_header(header)
    assert clean_header("\ufeff近12个月交易金额（万元） ") == "近12个月交易金额(万元)"
    assert _header_key("\ufeff近12个月交易金额（万元）") == ("近12个月交易金额", 10_000.0)


@given(st.text(max_size=20))
def test_fold_header_is_idempotent_and_case_blind(text):
    once = fold_header(text)
    assert fold_header(once) == once
    assert fold_header(text.upper()) == fold_header(text.lower()) or not text.isascii()


def test_alias_columns_finds_bom_full_width_and_cased_headers():
    raw = pd.DataFrame(columns=["\ufeff客户编号", "ＴＩＥＲ", "Reason ", "复核人", "日期", "tier"])
    found = alias_columns(raw, {
        "customer_id": ("customer_id", "客户编号"), "tier": ("tier",), "reason": ("reason",),
        "reviewer": ("reviewer", "复核人"), "date": ("date", "日期"), "note": ("note",),
    })
    assert found == {"customer_id": "\ufeff客户编号", "tier": "ＴＩＥＲ", "reason": "Reason ", "reviewer": "复核人", "date": "日期"}


def test_read_table_reads_gbk_and_names_the_file_and_kind(tmp_path):
    path = tmp_path / "人工调整.csv"
    path.write_bytes("客户编号,层级\r\nC003,潜力客户\r\n".encode("gb18030"))
    assert read_table(path).to_dict("records") == [{"客户编号": "C003", "层级": "潜力客户"}]
    with pytest.raises(OverrideError, match=r"an overrides file is \.csv or \.xlsx, not '\.json'"):
        read_table(tmp_path / "o.json")

    class Mine(ValueError):
        pass

    with pytest.raises(Mine, match=r"a manual tags file is \.csv or \.xlsx"):
        read_table(tmp_path / "t.json", Mine, "a manual tags file")

"""Formatting of report tables: one money unit per column, deltas, ties, layout classes,
English names, and side files masked like the report (issue 13, "units", "layout", "privacy")."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import SAMPLE
from segkit.labels import dataset_name, money_column, money_scale
from segkit.reporting.blocks import extreme_rows, gross_change, kpi_tiles, money_columns, table_html
from segkit.reporting.side_outputs import mask_rejected, write_side_outputs

PLAIN_NUMBER = re.compile(r"^[+-]?\d{1,3}(,\d{3})*(\.\d+)?$")


# --- one unit per column ------------------------------------------------------------------------

def test_a_column_of_yi_and_wan_amounts_reads_in_one_unit():
    # the case: a tier table where core holds 3.2亿元 and the others tens of 万元
    frame = pd.DataFrame({"层级": ["核心", "潜力", "普通", "低价值"], "交易额": [3.2e8, 4.1e7, 6.52e5, 1.2e4]})
    shown, formats = money_columns(frame, ["交易额"], "zh")
    assert list(shown.columns) == ["层级", "交易额（万元）"]
    cells = [formats["交易额（万元）"](v) for v in shown["交易额（万元）"]]
    # median 2,087.6万: 万元 without decimals (a typical row has 4 digits); 1.2万 still reads 1
    assert cells == ["32,000", "4,100", "65", "1"]


def test_english_column_of_millions_and_thousands_reads_in_one_unit():
    frame = pd.DataFrame({"Revenue": [1.6e6, 2.46e5, 3.1e6]})
    shown, formats = money_columns(frame, ["Revenue"], "en", "CNY")
    assert list(shown.columns) == ["Revenue (CNY M)"]
    assert [formats["Revenue (CNY M)"](v) for v in shown["Revenue (CNY M)"]] == ["1.60", "0.25", "3.10"]


def test_small_dollar_amounts_stay_in_dollars_and_yuan_always_in_wan():
    assert money_column([629.0, 1_480.0, 1_020.0], "en", "USD") == (1000.0, "USD k", 2)
    assert money_column([629.0, 480.0, 120.0], "en", "USD") == (1.0, "USD", 0)
    assert money_column([629.0, 480.0], "zh", "USD") == (1.0, "美元", 0)
    assert money_column([2_500.0, 3_100.0], "zh", "CNY")[:2] == (1e4, "万元")


def test_chart_axes_grow_to_yi_and_millions():
    # the en revenue chart's axis ran to 400000 (CNY k); by its largest bar it is now CNY M
    assert money_scale("en", "CNY", largest=4.0e8) == (1e6, "CNY M")
    assert money_scale("zh", "CNY", largest=4.0e8) == (1e8, "亿元")
    assert money_scale("zh", "CNY", largest=6.5e5) == (1e4, "万元")


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=5e9, allow_nan=False), min_size=1, max_size=30),
       st.sampled_from(["zh", "en"]), st.sampled_from(["CNY", "USD"]))
def test_every_cell_of_a_money_column_is_a_plain_number_in_the_header_unit(amounts, lang, currency):
    frame = pd.DataFrame({"amount": amounts})
    shown, formats = money_columns(frame, ["amount"], lang, currency)
    (header,) = shown.columns
    scale, unit, decimals = money_column(amounts, lang, currency)
    assert header.endswith(f"（{unit}）" if lang == "zh" else f" ({unit})")
    for value, cell in zip(amounts, map(formats[header], shown[header])):
        assert PLAIN_NUMBER.match(cell), cell
        assert float(cell.replace(",", "")) == pytest.approx(value / scale, abs=0.51 * 10 ** -decimals)


def test_signed_money_column_marks_gains_and_shows_no_minus_zero():
    shown, formats = money_columns(pd.DataFrame({"d": [1.5e5, -2e4, -1.0]}), ["d"], "en", signed=["d"])
    assert [formats["d (CNY k)"](v) for v in shown["d (CNY k)"]] == ["+150.00", "-20.00", "0.00"]


# --- deltas -------------------------------------------------------------------------------------

def test_net_zero_with_customers_changing_shows_the_gross():
    # a hand case: 12 in, 12 out, the count unchanged
    now = pd.Series([True] * 12 + [False] * 12 + [True] * 5, index=range(29))
    before = pd.Series([False] * 12 + [True] * 12 + [True] * 5, index=range(29))
    assert gross_change(now, before) == ("+12 / −12", 0)
    tile = kpi_tiles([("High churn risk", "17", f"{gross_change(now, before)[0]} vs last quarter", False, 0)])
    assert 'class="delta flat"' in tile and "+0" not in tile
    # only arrivals: the net; nobody moved: 0
    assert gross_change(now, now & (now.index < 20)) == ("+5", 5)
    assert gross_change(now, now) == ("0", 0)


def test_a_tile_without_a_comparison_has_no_delta():
    html = kpi_tiles([("Customers", "1,200", None), ("Revenue", "CNY 3.2M", "")])
    assert "delta" not in html


def test_tile_colour_follows_the_sign_and_direction():
    html = kpi_tiles([("Risk", "20", "+5", False), ("Customers", "20", "−3"), ("Share", "4%", "+0.0 pp")])
    assert re.findall(r'class="delta (\w+)"', html) == ["bad", "bad", "flat"]


# --- ties ---------------------------------------------------------------------------------------

def test_two_cells_that_read_the_same_are_both_marked():
    nps = pd.Series([-13.2, 20.0, -12.6, 5.0], index=["core", "potential", "ordinary", "low_value"])
    assert extreme_rows(nps, True, 0) == (["potential"], ["core", "ordinary"])
    # complaint rate: lower is better, shown as a percentage with one decimal
    complaints = pd.Series([0.0504, 0.0496, 0.09], index=["a", "b", "c"])
    assert extreme_rows(complaints, False, 3) == (["a", "b"], ["c"])


def test_all_equal_or_too_few_values_mark_nothing():
    assert extreme_rows(pd.Series([-13.2, -12.8]), True, 0) == ([], [])
    assert extreme_rows(pd.Series([5.0, np.nan, np.nan]), True, 0) == ([], [])


# --- layout classes -----------------------------------------------------------------------------

def test_tables_carry_what_phone_and_print_layouts_need():
    listing = pd.DataFrame({c: range(20) for c in ["customer", "tier", "p", "revenue", "reasons", "action"]})
    html = table_html(listing, max_rows=15)
    assert '<div class="table-wrap cards">' in html                    # 15 rows: long, may split
    assert html.count('data-label="reasons"') == 15
    matrix = pd.DataFrame(np.ones((4, 5)), columns=list("abcde"))
    html = table_html(matrix, index=True)
    assert '<div class="table-wrap short wide">' in html and 'class="scroll-hint"' in html
    narrow = table_html(pd.DataFrame({c: [1, 2] for c in "abcd"}))
    assert '"table-wrap short"' in narrow and "scroll-hint" not in narrow


def test_headers_wrap_between_words_only():
    html = table_html(pd.DataFrame({"流失概率": [0.7], "近12个月交易额（万元）": [1.0], "Expected remaining years": [2.0]}))
    heads = re.findall(r"<th>(.*?)</th>", html)
    assert heads[0] == '<span class="w">流失概率</span>'
    assert heads[1] == '<span class="w">近12个月交易额</span><span class="w">（万元）</span>'
    assert re.sub(r"<[^>]+>", "", heads[2]) == "Expected remaining years"


def test_css_keeps_rows_and_headers_whole_and_cues_scrolling():
    from importlib import resources

    css = resources.files("segkit.reporting").joinpath("templates/segkit_report/report.css").read_text(encoding="utf-8")
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    assert re.search(r"thead\s*\{\s*display:\s*table-header-group", css)
    assert re.search(r"\.table-wrap\.short\s*\{\s*break-inside:\s*avoid", css)
    assert re.search(r"tbody tr:last-child\s*\{\s*break-before:\s*avoid", css)
    assert re.search(r"\bth \.w\s*\{\s*white-space:\s*nowrap", css)
    assert re.search(r"td::before\s*\{\s*content:\s*attr\(data-label\)", css)
    assert ".scroll-hint::after" in css


# --- English throughout -------------------------------------------------------------------------

def test_dataset_name_in_the_report_language():
    assert dataset_name("示例公司客户数据 / Sample B2B CRM data", "en") == "Sample B2B CRM data"
    assert dataset_name("示例公司客户数据 / Sample B2B CRM data", "zh") == "示例公司客户数据"
    assert dataset_name("Acme / West", "en") == "Acme / West"          # not a zh / en pair: a data value


def test_english_words_have_table_names_and_separators():
    from segkit.reporting.context import words
    from segkit.schema import TABLES

    en = words("en")
    for table in TABLES:
        assert not re.search(r"[\u3400-\u9fff]", en[f"table_{table}"])
    for key in ("separator_list", "separator_meta", "separator_clause"):
        assert not re.search(r"[\u3000-\u303f\uff00-\uffef]", en[key]), key
        assert words("zh")[key]


# --- side outputs -------------------------------------------------------------------------------

def test_rejected_records_are_masked_in_value_and_raw_record():
    ledger = pd.DataFrame({
        "table": ["customers", "transactions"], "column": ["email", "amount"], "value": ["li.na@corp.cn", "-5"],
        "record": [json.dumps({"客户编号": "C9", "关键联系人": "李娜", "联系电话": "13900001111", "电子邮箱": "li.na@corp.cn"},
                              ensure_ascii=False, separators=(",", ":")),
                   '{"订单编号":"T1","客户编号":"C9","交易金额":"-5"}'],
    })
    out = mask_rejected(ledger)
    assert out["value"].tolist() == ["l***@corp.cn", "-5"]
    assert json.loads(out.loc[0, "record"]) == {"客户编号": "C9", "关键联系人": "李*", "联系电话": "139****1111", "电子邮箱": "l***@corp.cn"}
    assert out.loc[1, "record"] == ledger.loc[1, "record"]                # nothing personal: unchanged


@pytest.fixture(scope="module")
def sample_snapshot():
    from segkit.features import snapshot
    from segkit.io import load_dataset

    ds = load_dataset(SAMPLE)
    return ds, snapshot(ds, "2026-09-30")


def _personal_values(snap: pd.DataFrame) -> set[str]:
    values = set()
    for col in ("contact_name", "phone", "email"):
        if col in snap:
            values |= {str(v) for v in snap[col].dropna() if len(str(v)) > 1}
    # a contact who shares a sales rep's name: the owner column names the rep, shown on purpose
    return values - set(snap["owner"].dropna().astype(str))


def test_side_files_of_a_masked_run_hold_no_phone_email_or_contact_name(sample_snapshot, tmp_path):
    ds, snap = sample_snapshot
    personal = _personal_values(snap)
    assert len(personal) > 100                                           # the sample has contacts to hide
    rejected_path, snapshot_path = write_side_outputs(ds, snap, tmp_path)
    assert [p.name for p in (rejected_path, snapshot_path)] == ["rejected_rows.csv", "customer_snapshot.csv"]
    written = pd.read_csv(snapshot_path, dtype=str, encoding="utf-8-sig")
    assert len(written) == len(snap)
    text = rejected_path.read_text(encoding="utf-8-sig") + snapshot_path.read_text(encoding="utf-8-sig")
    leaked = [v for v in personal if v in text]
    assert leaked == []
    assert written["phone"].dropna().str.contains(r"\*").all()


def test_side_files_for_an_owner_hold_only_their_customers_unmasked(sample_snapshot, tmp_path):
    ds, snap = sample_snapshot
    owner = snap["owner"].dropna().value_counts().index[0]
    _, snapshot_path = write_side_outputs(ds, snap, tmp_path, owner=owner)
    written = pd.read_csv(snapshot_path, dtype=str, encoding="utf-8-sig")
    mine = snap.loc[snap["owner"] == owner]
    assert set(written["customer_id"]) == set(mine.index)
    assert set(written["phone"].dropna()) == set(mine["phone"].dropna().astype(str))

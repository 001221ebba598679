"""Scoped views (owner / department) and masking of personal data."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from segkit.access import PII_COLUMNS, mask_credit_code, mask_email, mask_name, mask_phone, mask_pii, scope
from segkit.features import snapshot
from segkit.io import load_dataset
from segkit.schema import credit_code_check_char

# --- masking ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("raw", "masked"), [
    ("张伟", "张*"), ("欧阳娜娜", "欧***"), ("李", "*"), (" 王小明 ", "王**"), ("Anna Lee", "A*******"),
])
def test_names(raw, masked):
    assert mask_name(raw) == masked


@pytest.mark.parametrize(("raw", "masked"), [
    ("13812345678", "138****5678"),
    ("138-1234-5678", "138-****-5678"),
    ("+86 13812345678", "+86 138****5678"),
    ("+8613812345678", "+86138****5678"),
    ("010-62345678", "010-****5678"),
    ("100-0000-1234", "100-****-1234"),      # the sample data's numbers
    ("62345678", "623*5678"),
    ("1234567", "*****67"),                  # too short to keep the ends: last 2 only
])
def test_phones(raw, masked):
    assert mask_phone(raw) == masked


def test_emails_and_credit_codes():
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_email("x@sub.example.com") == "x***@sub.example.com"
    assert mask_email("broken") == "***"
    code = "91350100M000100Y4" + credit_code_check_char("91350100M000100Y4")
    assert mask_credit_code(code) == code[:4] + "*" * 12 + code[-2:]
    assert len(mask_credit_code(code)) == 18


@given(st.text(alphabet="0123456789 -", min_size=1, max_size=20).filter(lambda s: s == s.strip()))
def test_phone_masking_hides_the_middle_and_is_idempotent(raw):
    masked = mask_phone(raw)
    assert len(masked) == len(raw) and mask_phone(masked) == masked
    digits = [c for c in raw if c.isdigit()]
    shown = [c for c in masked if c.isdigit()]
    assert len(shown) == (7 if len(digits) >= 8 else min(2, len(digits)))
    for a, b in zip(raw, masked):
        assert b == a or (a.isdigit() and b == "*")


@given(st.text(min_size=1, max_size=12).filter(lambda s: s.strip() == s and s))
def test_name_masking_keeps_one_character(raw):
    masked = mask_name(raw)
    assert len(masked) == len(raw) and mask_name(masked) == masked
    assert masked.count("*") >= len(raw) - 1


def test_mask_pii_only_touches_personal_columns():
    table = pd.DataFrame({
        "name": ["甲公司", "乙公司", "丙公司"],
        "contact_name": ["张伟", None, "欧阳娜娜"],
        "contact_title": ["经理", "总监", None],
        "phone": ["13812345678", "010-62345678", None],
        "email": ["wei@example.com", None, "nana@example.com"],
        "credit_code": ["91350100M000100Y43", "", None],
        "revenue_12m": [1.0, 2.0, 3.0],
    }, index=pd.Index(["C1", "C2", "C3"], name="customer_id"))
    masked = mask_pii(table)
    assert masked["contact_name"].tolist()[::2] == ["张*", "欧***"] and pd.isna(masked.loc["C2", "contact_name"])
    assert masked["phone"].tolist()[:2] == ["138****5678", "010-****5678"]
    assert masked.loc["C1", "email"] == "w***@example.com" and masked.loc["C1", "credit_code"] == "9135************43"
    assert masked.loc["C2", "credit_code"] == ""
    for col in ("name", "contact_title", "revenue_12m"):
        assert masked[col].equals(table[col])
    assert masked.index.equals(table.index) and table.loc["C1", "contact_name"] == "张伟"   # the input is unchanged
    only_phones = mask_pii(table, columns=["phone"])
    assert only_phones.loc["C1", "contact_name"] == "张伟" and only_phones.loc["C1", "phone"] == "138****5678"
    with pytest.raises(ValueError, match="not known personal-data columns"):
        mask_pii(table, columns=["name"])


def test_mask_pii_understands_chinese_headers():
    assert {"关键联系人", "联系电话", "电子邮箱", "统一社会信用代码"} <= set(PII_COLUMNS)
    export = pd.DataFrame({"客户名称": ["甲公司"], "关键联系人": ["刘洋"], "联系电话": ["13900001111"]})
    assert mask_pii(export).iloc[0].tolist() == ["甲公司", "刘*", "139****1111"]


# --- scoping ---------------------------------------------------------------------------------

GOOD_CODE = "91350100M000100Y4" + credit_code_check_char("91350100M000100Y4")
BAD_CODE = GOOD_CODE[:-1] + ("0" if GOOD_CODE[-1] != "0" else "1")


@pytest.fixture
def ds(write, tmp_path):
    write("customers.csv", ["customer_id", "name", "owner", "department", "contact_name", "phone", "credit_code"], [
        ["A1", "甲", "王", "华东", "张伟", "13812345678", GOOD_CODE],
        ["A2", "乙", "王", "华东", "李娜", "13900001111", ""],
        ["B1", "丙", "李", "华东", "赵强", "13700002222", ""],
        ["C1", "丁", "张", "华南", "孙丽", "13600003333", ""],
        ["A3", "戊", "王", "华东", "周杰", "13500004444", BAD_CODE],    # rejected: bad credit code
    ])
    write("orders.csv", ["customer_id", "order_date", "amount"], [
        ["A1", "2026-09-01", "100"], ["A2", "2026-08-01", "200"], ["B1", "2026-07-01", "300"],
        ["C1", "2026-06-01", "400"],
        ["A1", "2026-09-02", "lots"],     # rejected, A1's
        ["C1", "2026-09-03", "oops"],     # rejected, C1's
        ["A3", "2026-09-04", "500"],      # rejected: A3 was rejected in customers
    ])
    write("interactions.csv", ["customer_id", "date", "type"], [
        ["A1", "2026-09-05", "visit"], ["B1", "2026-09-06", "call"], ["C1", "2026-09-07", "complaint"],
    ])
    write("surveys.csv", ["customer_id", "date", "satisfaction", "nps"], [
        ["A2", "2026-09-08", "80", "9"], ["C1", "2026-09-09", "40", "2"],
    ])
    return load_dataset(tmp_path, as_of="2026-09-30", max_rejected_share=None)  # rejections on purpose


def test_fixture_has_rejections(ds):
    assert set(ds.rejected["table"]) == {"customers", "transactions"} and len(ds.customers) == 4


def test_owner_scope_filters_every_table(ds):
    mine = scope(ds, owner="王")
    assert mine.customers["customer_id"].tolist() == ["A1", "A2"]
    assert mine.transactions["customer_id"].tolist() == ["A1", "A2"]
    assert mine.interactions["customer_id"].tolist() == ["A1"]
    assert mine.surveys["customer_id"].tolist() == ["A2"]
    # rejected rows: A3's customer row and order (owner 王) and A1's bad order; not C1's
    assert sorted(mine.rejected["value"].tolist()) == sorted([BAD_CODE, "lots", "A3"])
    assert not mine.rejected["record"].str.contains("孙丽|oops").any()
    assert mine.warnings.empty and mine.meta["scope"] == {"owner": ["王"], "department": None}
    assert len(ds.customers) == 4                         # the original is untouched
    snap = snapshot(mine, "2026-09-30")
    assert snap.index.tolist() == ["A1", "A2"] and snap["revenue_12m"].sum() == 300


def test_department_and_combined_scopes(ds):
    east = scope(ds, department="华东")
    assert east.customers["customer_id"].tolist() == ["A1", "A2", "B1"]
    assert sorted(east.transactions["customer_id"]) == ["A1", "A2", "B1"]
    both = scope(ds, owner="李", department="华东")
    assert both.customers["customer_id"].tolist() == ["B1"] and both.rejected.empty
    several = scope(ds, owner=["王", "张"])
    assert several.customers["customer_id"].tolist() == ["A1", "A2", "C1"]
    assert scope(ds) is ds                                # administrators see everything


def test_unknown_owner_is_an_error_not_an_empty_report(ds):
    with pytest.raises(ValueError, match="no customers with owner '王五'; owners in the data: 张, 李, 王"):
        scope(ds, owner="王五")
    with pytest.raises(ValueError, match="no customers with department '西北'"):
        scope(ds, department="西北")


def test_scoping_tables(ds):
    snap = snapshot(ds, "2026-09-30")
    assert scope(snap, owner="王").index.tolist() == ["A1", "A2"]             # own owner column
    tiers = pd.DataFrame({"tier": ["core", "low_value", "ordinary", "potential"]}, index=snap.index)
    assert scope(tiers, department="华南", customers=ds).index.tolist() == ["C1"]   # looked up by id
    orders = ds.transactions
    assert scope(orders, owner="李", customers=ds.customers)["amount"].tolist() == [300.0]
    owners_only = snap[["owner"]]                                                # department via lookup
    assert scope(owners_only, owner="王", department="华东", customers=ds).index.tolist() == ["A1", "A2"]
    with pytest.raises(ValueError, match="pass customers=ds"):
        scope(tiers, owner="王")
    with pytest.raises(ValueError, match="no customers with owner 'nobody'"):
        scope(tiers, owner="nobody", customers=ds)


def test_scoped_and_masked_view_for_sharing(ds):
    shared = mask_pii(scope(snapshot(ds, "2026-09-30"), department="华东"))
    assert shared["contact_name"].tolist() == ["张*", "李*", "赵*"]
    assert shared["phone"].tolist() == ["138****5678", "139****1111", "137****2222"]
    assert shared.loc["A1", "credit_code"] == GOOD_CODE[:4] + "*" * 12 + GOOD_CODE[-2:]

"""load_dataset: encodings, header aliases, units, vocabularies and every bad-input rule."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segkit.config import ConfigError
from segkit.io import load_dataset, read_table
from segkit.schema import SchemaError, credit_code_check_char, is_valid_credit_code

CUST_ZH = ["客户编号", "客户名称", "所属行业", "统一社会信用代码", "续约意向"]
ORDER_ZH = ["订单编号", "客户编号", "交易日期", "交易金额"]
GOOD_CODE = "91350100M000100Y43"


def test_gbk_chinese_headers_and_wan_units(write, tmp_path):
    write("客户信息.csv", CUST_ZH, [["C001", "华东精密机械有限公司", "生产业", GOOD_CODE, "是"],
                                   ["C002", "南方贸易公司", "零售", "", "否"]], encoding="gbk")
    write("订单.csv", ["订单编号", "客户编号", "交易日期", "交易金额（万元）"],
          [["O1", "C001", "2026-01-05", "65"], ["O2", "C002", "2026/2/3", "1.25"]], encoding="gbk")
    ds = load_dataset(tmp_path, as_of="2026-09-30")
    assert list(ds.files["encoding"]) == ["gb18030", "gb18030"]
    assert ds.customers["name"].tolist() == ["华东精密机械有限公司", "南方贸易公司"]
    assert ds.customers["industry"].tolist() == ["manufacturing", "retail"]   # 生产业 -> 制造业
    assert ds.transactions["amount"].tolist() == [650_000.0, 12_500.0]       # 万元 -> 元
    assert ds.transactions["order_date"].tolist() == [pd.Timestamp("2026-01-05"), pd.Timestamp("2026-02-03")]
    assert ds.customers["renewal_intent"].tolist() == [True, False]
    assert pd.api.types.is_string_dtype(ds.customers["customer_id"])
    assert ds.rejected.empty and ds.warnings.empty


def test_utf8_bom_and_english_headers(write, tmp_path):
    write("customers.csv", ["Customer ID", "Name", "Industry"], [["A1", "Acme", "Retail"]], encoding="utf-8-sig")
    write("orders.csv", ["customer_id", "Order Date", "Amount"], [["A1", "20250101", "1,234.50"]])
    ds = load_dataset(tmp_path, as_of="2026-01-01")
    assert ds.files["encoding"].tolist() == ["utf-8-sig", "utf-8-sig"]
    assert ds.customers.loc[0, "customer_id"] == "A1"
    assert ds.transactions.loc[0, "amount"] == 1234.5


def test_xlsx_and_parquet(tmp_path):
    pd.DataFrame({"客户编号": ["C1", "C2"], "客户名称": ["甲", "乙"]}).to_excel(tmp_path / "customers.xlsx", index=False)
    pd.DataFrame({"customer_id": ["C1", "C9"], "order_date": ["2025-05-01", "2025-05-02"], "amount": [10.0, 20.0]}).to_parquet(tmp_path / "orders.parquet")
    ds = load_dataset(tmp_path, as_of="2026-01-01", max_rejected_share=None)  # 1 of 2 orders rejected on purpose
    assert len(ds.customers) == 2 and len(ds.transactions) == 1
    bad = ds.rejected.iloc[0]
    assert (bad["file"].endswith("orders.parquet"), bad["row"], bad["column"], bad["value"]) == (True, 2, "customer_id", "C9")


def test_missing_required_column_names_file_and_columns(write, tmp_path):
    write("customers.csv", ["客户编号", "客户名称"], [["C1", "甲"]])
    write("orders.csv", ["客户编号", "交易日期"], [["C1", "2025-01-01"]])
    with pytest.raises(SchemaError) as info:
        load_dataset(tmp_path)
    message = str(info.value)
    assert "orders.csv" in message and "amount (交易金额)" in message and "'交易日期'" in message


def test_missing_folder_and_missing_table(tmp_path):
    with pytest.raises(SchemaError, match="folder not found"):
        load_dataset(tmp_path / "nope")
    with pytest.raises(SchemaError, match="no transactions file found .*name it after one of: transactions, orders"):
        load_dataset(tmp_path)


def test_unreadable_file(tmp_path, write):
    write("customers.csv", ["customer_id", "name"], [["C1", "x"]])
    (tmp_path / "orders.xlsx").write_bytes(b"this is not a spreadsheet")
    with pytest.raises(SchemaError, match="orders.xlsx: cannot read"):
        load_dataset(tmp_path)


def test_undecodable_csv(tmp_path, write):
    write("customers.csv", ["customer_id", "name"], [["C1", "x"]])
    (tmp_path / "orders.csv").write_bytes(b"customer_id,order_date,amount\n\xff\xfe\x81\x30\xff,2025-01-01,1\n")
    with pytest.raises(SchemaError, match="cannot decode"):
        load_dataset(tmp_path)


def test_every_row_rule_rejects_with_file_row_column_value(write, tmp_path):
    bad_code = GOOD_CODE[:-1] + "4"
    write("customers.csv", CUST_ZH, [
        ["C001", "甲公司", "制造业", GOOD_CODE, "是"],      # line 2 ok
        ["C002", "乙公司", "外星产业", "", "maybe"],          # line 3 kept: unknown industry + bad yes/no -> warnings
        ["C001", "甲公司副本", "制造业", "", "是"],            # line 4 duplicate id
        ["C003", "丙公司", "零售", bad_code, "否"],           # line 5 invalid credit code
        ["", "无编号公司", "零售", "", "否"],                 # line 6 empty id
    ], encoding="gbk")
    write("orders.csv", ORDER_ZH, [
        ["O1", "C001", "2026-01-05", "1000"],                 # line 2 ok
        ["O2", "C001", "2026-02-30", "1000"],                 # line 3 impossible date
        ["O3", "C001", "N/A", "1000"],                        # line 4 unparseable date
        ["O4", "C001", "2026-03-01", "待确认"],                # line 5 non-numeric amount
        ["O5", "C404", "2026-03-01", "10"],                   # line 6 unknown customer
        ["O6", "C003", "2026-03-01", "10"],                   # line 7 customer rejected above
        ["O7", "C001", "2026-12-01", "10"],                   # line 8 after as_of
        ["O8", "C001", "2026-03-02", "-200"],                 # line 9 refund: kept
        ["O1", "C002", "2026-03-03", "5"],                    # line 10 duplicate order id
    ], encoding="gbk")
    write("surveys.csv", ["客户编号", "调查日期", "满意度", "净推荐值"], [
        ["C001", "2026-06-01", "85", "9"], ["C001", "2026-07-01", "120", "9"], ["C002", "2026-07-01", "70", "11"],
    ])
    # one bad row per rule: mostly rejected on purpose, so the stop for such runs is off here
    ds = load_dataset(tmp_path, as_of="2026-09-30", max_rejected_share=None)
    got = {(r.file.rsplit("/", 1)[-1], r.row, r.column, r.value): r.reason for r in ds.rejected.itertuples()}
    expected = {
        ("customers.csv", 4, "customer_id", "C001"): "duplicate customer_id (first on customers.csv row 2)",
        ("customers.csv", 5, "credit_code", bad_code): "invalid unified social credit code",
        ("customers.csv", 6, "customer_id", ""): "empty value in required column customer_id",
        ("orders.csv", 3, "order_date", "2026-02-30"): "unparseable date",
        ("orders.csv", 4, "order_date", "N/A"): "unparseable date",
        ("orders.csv", 5, "amount", "待确认"): "not a number",
        ("orders.csv", 6, "customer_id", "C404"): "unknown customer_id",
        ("orders.csv", 7, "customer_id", "C003"): "customer_id was rejected in customers (customers.csv row 5)",
        ("orders.csv", 8, "order_date", "2026-12-01"): "date after the data's as-of date 2026-09-30",
        ("orders.csv", 10, "order_id", "O1"): "duplicate order_id (first on orders.csv row 2)",
        ("surveys.csv", 3, "satisfaction", "120"): "out of range (allowed 0-100)",
        ("surveys.csv", 4, "nps", "11"): "out of range (allowed 0-10)",
    }
    assert set(got) == set(expected)
    for key, reason in expected.items():
        assert got[key].startswith(reason), (key, got[key])
    # nothing lost: each rejected record keeps the raw row
    record = json.loads(ds.rejected.set_index(["row", "column"]).loc[(5, "amount"), "record"])
    assert record == {"订单编号": "O4", "客户编号": "C001", "交易日期": "2026-03-01", "交易金额": "待确认"}
    # refunds are kept and flagged
    refund = ds.transactions.set_index("order_id").loc["O8"]
    assert refund["amount"] == -200 and bool(refund["is_refund"])
    assert ds.transactions["order_id"].tolist() == ["O1", "O8"]
    # questionable optional values are kept, with warnings
    assert ds.customers.set_index("customer_id").loc["C002", "industry"] == "外星产业"
    assert set(ds.warnings["column"]) == {"industry", "renewal_intent"}
    # reconciliation per file
    files = ds.reconcile().set_index(ds.reconcile()["file"].str.rsplit("/", n=1).str[-1])
    assert files.loc["customers.csv", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [5, 2, 3]
    assert files.loc["orders.csv", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [9, 2, 7]
    assert files.loc["surveys.csv", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [3, 1, 2]


def test_malformed_line_is_rejected_not_fatal(tmp_path):
    (tmp_path / "customers.csv").write_text('customer_id,name\nC1,"multi\nline name"\nC2,b,extra\nC3,c,,\n', encoding="utf-8")
    (tmp_path / "orders.csv").write_text("customer_id,order_date,amount\nC1,2025-01-01,1\n", encoding="utf-8")
    ds = load_dataset(tmp_path, as_of="2026-01-01", max_rejected_share=None)  # 1 of 3 customers malformed on purpose
    assert ds.customers["customer_id"].tolist() == ["C1", "C3"]   # trailing empty cells are fine
    bad = ds.rejected.iloc[0]
    assert (bad["row"], bad["column"], bad["value"]) == (4, "(whole line)", "C2,b,extra")  # line 4: the name spans 2-3
    assert bad["reason"] == "malformed line: 3 fields where the header has 2"
    assert ds.reconcile()["rows_rejected"].tolist() == [1, 0]


def test_blank_lines_are_not_records_and_rows_stay_true(tmp_path):
    (tmp_path / "customers.csv").write_text("customer_id,name\nC1,a\n\nC2,b\n", encoding="utf-8")
    (tmp_path / "orders.csv").write_text("customer_id,order_date,amount\nC1,2025-01-01,1\n\n\nC3,2025-01-01,1\n", encoding="utf-8")
    ds = load_dataset(tmp_path, as_of="2026-01-01", max_rejected_share=None)  # C3 is unknown: 1 of 2 on purpose
    assert ds.files["rows_read"].tolist() == [2, 2]
    assert ds.rejected["row"].tolist() == [5]   # the line a person sees in an editor


def test_as_of_from_manifest(write, tmp_path):
    write("customers.csv", ["customer_id", "name"], [["C1", "a"]])
    write("orders.csv", ["customer_id", "order_date", "amount"], [["C1", "2026-10-01", "1"]])
    (tmp_path / "dataset.yaml").write_text("name: demo\nas_of: 2026-09-30\n", encoding="utf-8")
    ds = load_dataset(tmp_path, max_rejected_share=None)  # its one order is late on purpose
    assert ds.name == "demo" and ds.as_of == pd.Timestamp("2026-09-30")
    assert ds.rejected["reason"].tolist() == ["date after the data's as-of date 2026-09-30"]


def test_two_headers_for_one_column(write, tmp_path):
    write("customers.csv", ["客户编号", "customer_id", "name"], [["C1", "C1", "a"]])
    write("orders.csv", ["customer_id", "order_date", "amount"], [["C1", "2025-01-01", "1"]])
    with pytest.raises(SchemaError, match="both mean 'customer_id'"):
        load_dataset(tmp_path)


def test_explicit_files_and_extra_columns_kept(write, tmp_path):
    c = write("clients_2026.csv", ["customer_id", "name", "crm_flag"], [["C1", "a", "x"]])
    o = write("sales_2026.csv", ["customer_id", "order_date", "amount"], [["C1", "2025-01-01", "1"]])
    ds = load_dataset(customers=c, transactions=o, as_of="2026-01-01")
    assert ds.customers.loc[0, "crm_flag"] == "x"


def test_credit_code_checksum():
    assert is_valid_credit_code(GOOD_CODE)
    # every single-character change of the check character is detected
    for ch in "0123456789ABCDEFGHJKLMNPQRTUWXY":
        assert is_valid_credit_code(GOOD_CODE[:-1] + ch) == (ch == "3")
    assert not is_valid_credit_code("91350100M000100Y4")        # 17 characters
    assert not is_valid_credit_code("91350100M000100I43")       # I is not used


@given(st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=17, max_size=17), st.integers(0, 16), st.integers(1, 30))
def test_credit_code_detects_any_single_substitution(body, position, shift):
    chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    code = body + credit_code_check_char(body)
    assert is_valid_credit_code(code)
    changed = chars[(chars.index(code[position]) + shift) % 31]
    assert not is_valid_credit_code(code[:position] + changed + code[position + 1:])


def test_read_table_raises_on_first_problem(write):
    path = write("c.csv", ["customer_id", "name"], [["C1", "a"], ["", "b"]])
    with pytest.raises(SchemaError, match="row 3, column customer_id"):
        read_table(path, "customers")


# --- reconciliation property: rows read = accepted + rejected, whatever the rows contain -----
cell = st.one_of(st.sampled_from(["", "C1", "C2", "C3", "x", "2025-01-01", "2030-01-01", "-5", "1,000", "abc", "01/02/2025"]),
                 st.text(alphabet="0123456789-/.年月日abc", max_size=10))


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(customers=st.lists(st.tuples(cell, cell), max_size=12), orders=st.lists(st.tuples(cell, cell, cell), max_size=25))
def test_rows_read_equal_accepted_plus_rejected(tmp_path_factory, customers, orders):
    folder = tmp_path_factory.mktemp("prop")
    (folder / "customers.csv").write_text("customer_id,name\n" + "".join(f"{a},{b}\n" for a, b in customers), encoding="utf-8")
    (folder / "orders.csv").write_text("customer_id,order_date,amount\n" + "".join(f"{a},{b},{c}\n" for a, b, c in orders), encoding="utf-8")
    ds = load_dataset(folder, as_of="2026-09-30", max_rejected_share=None)  # random rows are mostly bad
    files = ds.reconcile()
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_rejected"]).all()
    assert files["rows_accepted"].tolist() == [len(ds.customers), len(ds.transactions)]
    rejected_rows = ds.rejected.drop_duplicates(["file", "row"]).groupby("table").size()
    for table, n in zip(files["table"], files["rows_rejected"]):
        assert rejected_rows.get(table, 0) == n


def test_user_vocabulary_adds_synonyms_and_values(write, tmp_path):
    write("customers.csv", ["客户编号", "客户名称", "所属行业"], [["C1", "a", "新材料"], ["C2", "b", "生产业"], ["C3", "c", "农业"]])
    write("orders.csv", ["客户编号", "交易日期", "交易金额"], [["C1", "2025-01-01", "1"]])
    config = tmp_path / "my.yaml"
    config.write_text("vocabularies:\n  industry:\n    manufacturing: {zh: 制造业, en: Manufacturing, synonyms: [新材料]}\n"
                      "    agriculture: {zh: 农业, en: Agriculture}\n", encoding="utf-8")
    ds = load_dataset(tmp_path, as_of="2026-01-01", config=config)
    assert ds.customers["industry"].tolist() == ["manufacturing", "manufacturing", "agriculture"]   # 生产业 still maps
    assert ds.warnings.empty
    config.write_text("vocabularies:\n  industri: {}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key 'industri'"):
        load_dataset(tmp_path, as_of="2026-01-01", config=config)

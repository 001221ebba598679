"""Hostile and careless cell values (issue #12, part A): each is read right or rejected with its
file, row, column, value and reason, on both engines, and nothing is lost.

Every file is written the way a user's tool writes it: CSV quoted as Excel does (UTF-8 with BOM,
GBK), XLSX with openpyxl, Parquet with pyarrow.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import write_csv
from test_ingest import assert_same_load, load_both

from segkit.insights import kpi
from segkit.cells import (
    REASON_AMBIGUOUS_NUMBER,
    REASON_DECIMAL_ID,
    REASON_EXCEL_DATE,
    REASON_HEADER,
    REASON_NOT_FINITE,
    REASON_NUMBER,
    REASON_UNKNOWN,
)
from segkit.io import load_dataset

pytest.importorskip("duckdb")
AS_OF = "2026-09-30"
OUTSIDE = "date outside 1900-01-01..2200-12-31 (engine.dates): a typo or a placeholder, not a real date"
ORDER_COLUMNS = ["customer_id", "order_date", "amount"]


def _customers(folder: Path, ids=("C001", "C002")) -> None:
    write_csv(folder / "customers.csv", ["customer_id", "name"], [[i, f"name of {i}"] for i in ids], encoding="utf-8-sig")


def _orders(folder: Path, name: str, amounts: list[str], customer: str = "C001") -> Path:
    return write_csv(folder / name, ORDER_COLUMNS, [[customer, "2026-01-05", a] for a in amounts])


def load(folder: Path, **kwargs):
    """Both engines, checked equal (tables, ledger, warnings, counts; read = accepted + rejected)."""
    reference, engine = load_both(folder, as_of=AS_OF, max_rejected_share=None, **kwargs)
    assert_same_load(reference, engine)
    return engine


def problems(ds, file: str, warnings: bool = False) -> list[tuple]:
    frame = ds.warnings if warnings else ds.rejected
    frame = frame.loc[frame["file"].map(lambda f: Path(f).name) == file]
    return [(int(r), c, v, why) for r, c, v, why in frame[["row", "column", "value", "reason"]].itertuples(index=False)]


def accepted_amounts(ds, file: str) -> list[float]:
    # each file's rows are accepted in file order, and the files are read in name order
    files = sorted(Path(f).name for f in ds.files.loc[ds.files["table"] == "transactions", "file"])
    counts = ds.files.set_index(ds.files["file"].map(lambda f: Path(f).name))["rows_accepted"]
    start = sum(int(counts[f]) for f in files[:files.index(file)])
    return ds.transactions["amount"].iloc[start:start + int(counts[file])].tolist()


# --- 1. decimal commas ------------------------------------------------------------------------------
def test_decimal_commas_follow_the_columns_convention(tmp_path):
    _customers(tmp_path)
    _orders(tmp_path, "orders_1_eu.csv", ["1.234,56", "12,5", "1,234", "1.234", "7", "(1.000,00)", "12.5", "1.234.567,8"])
    _orders(tmp_path, "orders_2_us.csv", ["1,234.50", "¥1,234", "12,5", "1,234.5", "2.5", "1.234,56x"])
    _orders(tmp_path, "orders_3_hint.csv", ["12,5", "1,234", "3", "1,234,567"])
    _orders(tmp_path, "orders_4_mixed.csv", ["1.234,56", "1,234.50", "12,5", "12.5", "1,234,567", "8"])
    ds = load(tmp_path)

    # European: one value shows 1.234,56, so 12,5 is 12.5, 1,234 is 1.234 and 1.234 is 1234
    assert accepted_amounts(ds, "orders_1_eu.csv") == [1234.56, 12.5, 1.23, 1234.0, 7.0, -1000.0, 1234567.8]
    assert problems(ds, "orders_1_eu.csv") == [(8, "amount", "12.5", REASON_AMBIGUOUS_NUMBER)]
    # US / Chinese (as before): 1,234.50 and ¥1,234 keep working; 12,5 is never 125
    assert accepted_amounts(ds, "orders_2_us.csv") == [1234.5, 1234.0, 1234.5, 2.5]
    assert problems(ds, "orders_2_us.csv") == [(4, "amount", "12,5", REASON_AMBIGUOUS_NUMBER),
                                                (7, "amount", "1.234,56x", REASON_NUMBER)]
    # no value shows the convention, and 12,5 hints at decimal commas: 1,234 may be 1.234 too
    assert accepted_amounts(ds, "orders_3_hint.csv") == [3.0, 1234567.0]
    assert problems(ds, "orders_3_hint.csv") == [(2, "amount", "12,5", REASON_AMBIGUOUS_NUMBER),
                                                  (3, "amount", "1,234", REASON_AMBIGUOUS_NUMBER)]
    # both conventions in one column: only values that need none are read
    assert accepted_amounts(ds, "orders_4_mixed.csv") == [1234.56, 1234.5, 1234567.0, 8.0]
    assert [p[2] for p in problems(ds, "orders_4_mixed.csv")] == ["12,5", "12.5"]
    assert ds.summary()["rejected_by_rule"].set_index("rule").loc["ambiguous", "rows"] == 6


def test_decimal_commas_in_xlsx_text_cells(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    _customers(tmp_path)
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["客户编号", "交易日期", "交易金额"])
    for amount in ["1.234,56", 99.5, "0,5", "2.000"]:   # a number cell among text cells
        sheet.append(["C001", "2026-01-05", amount])
    book.save(tmp_path / "订单.xlsx")
    ds = load(tmp_path)
    assert ds.transactions["amount"].tolist() == [1234.56, 0.5, 2000.0]
    assert problems(ds, "订单.xlsx") == [(3, "amount", "99.5", REASON_AMBIGUOUS_NUMBER)]


# --- 2. brackets, 3. non-finite numbers -------------------------------------------------------------
def test_brackets_and_non_finite_amounts(tmp_path):
    _customers(tmp_path)
    _orders(tmp_path, "orders.csv", ["(500)", "(-500)", "(500", "500)", "(¥1,200.00)",
                                     "inf", "-inf", "1e309", "nan", "NaN", "Infinity", "1e300"])
    ds = load(tmp_path)
    assert ds.transactions["amount"].tolist() == [-500.0, -1200.0, 1e300]
    assert ds.transactions["is_refund"].tolist() == [True, True, False]
    assert problems(ds, "orders.csv") == [
        (3, "amount", "(-500)", REASON_NUMBER), (4, "amount", "(500", REASON_NUMBER), (5, "amount", "500)", REASON_NUMBER),
        (7, "amount", "inf", REASON_NOT_FINITE), (8, "amount", "-inf", REASON_NOT_FINITE),
        (9, "amount", "1e309", REASON_NOT_FINITE), (10, "amount", "nan", REASON_NOT_FINITE),
        (11, "amount", "NaN", REASON_NOT_FINITE), (12, "amount", "Infinity", REASON_NOT_FINITE)]
    reconcile = ds.reconcile().set_index(ds.reconcile()["file"].map(lambda f: Path(f).name))
    assert reconcile.loc["orders.csv", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [12, 3, 9]


def test_an_amount_finite_as_written_but_not_in_yuan(tmp_path):
    _customers(tmp_path)
    write_csv(tmp_path / "orders.csv", ["客户编号", "交易日期", "交易金额(万元)"],
              [["C001", "2026-01-05", "1e305"], ["C001", "2026-01-06", "1.5"], ["C001", "2026-01-07", "(1e305)"]],
              encoding="gbk")
    ds = load(tmp_path)
    assert ds.transactions["amount"].tolist() == [15000.0]
    assert problems(ds, "orders.csv") == [(2, "amount", "1e305", REASON_NOT_FINITE), (4, "amount", "(1e305)", REASON_NOT_FINITE)]


def test_non_finite_survey_scores_are_rejected(tmp_path):
    _customers(tmp_path)
    _orders(tmp_path, "orders.csv", ["10"])
    write_csv(tmp_path / "surveys.csv", ["customer_id", "date", "satisfaction", "nps"],
              [["C001", "2026-02-01", "inf", "9"], ["C001", "2026-02-02", "80", "nan"], ["C001", "2026-02-03", "85,5", "7"]])
    ds = load(tmp_path)
    assert problems(ds, "surveys.csv", warnings=True) == [
        (2, "satisfaction", "inf", REASON_NOT_FINITE), (3, "nps", "nan", REASON_NOT_FINITE),
        (4, "satisfaction", "85,5", REASON_AMBIGUOUS_NUMBER)]
    assert ds.surveys["satisfaction"].isna().tolist() == [True, False, True]


# --- 4. invisible characters in ids ---------------------------------------------------------------
INVISIBLE_IDS = ["C001\u200b", "\ufeffC001", "C001\u00a0", "\u2060C001", "C\u200d001", "Ｃ００１", "\u200cC001\u3000"]


def test_invisible_characters_do_not_make_a_second_customer(tmp_path):
    write_csv(tmp_path / "customers.csv", ["customer_id", "name"],
              [["C001", "华东精密"], ["C002\u200b", "南方贸易"], ["C002", "南方贸易(重复)"], ["\u200b", "只有零宽空格"]],
              encoding="utf-8-sig")
    write_csv(tmp_path / "orders.csv", ["order_id", "customer_id", "order_date", "amount"],
              [[f"O{i}\u200b", cid, "2026-01-05", "10"] for i, cid in enumerate(INVISIBLE_IDS)]
              + [["O0", "C002", "2026-01-06", "5"]], encoding="gb18030")
    write_csv(tmp_path / "interactions.csv", ["customer_id", "date", "type"], [["\ufeffC002\u200b", "2026-02-01", "call"]])
    ds = load(tmp_path)
    assert ds.customers["customer_id"].tolist() == ["C001", "C002"]
    assert problems(ds, "customers.csv") == [
        (4, "customer_id", "C002", "duplicate customer_id (first on customers.csv row 3)"),
        (5, "customer_id", "\u200b", "empty value in required column customer_id (客户编号)")]
    assert ds.transactions["customer_id"].tolist() == ["C001"] * 7
    assert ds.transactions["order_id"].tolist() == [f"O{i}" for i in range(7)]
    # the order id O0 of the last row duplicates O0\u200b of the first once the invisible space is gone
    assert problems(ds, "orders.csv") == [(9, "order_id", "O0", "duplicate order_id (first on orders.csv row 2)")]
    assert ds.interactions["customer_id"].tolist() == ["C002"]


# --- 5. float ids from Parquet and XLSX number cells ----------------------------------------------
def test_float_ids_match_whole_ids(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    pq.write_table(pa.table({"customer_id": pa.array([1, 2, 3], pa.int64()), "name": ["a", "b", "c"]}),
                   tmp_path / "customers.parquet")
    pq.write_table(pa.table({"customer_id": pa.array([1.0, 2.0, 1.5, None, 3.0]),   # ids with a gap become floats
                             "order_date": pa.array([dt.date(2026, 1, d) for d in range(1, 6)]),
                             "amount": pa.array([10.0, 20.0, 30.0, 40.0, 50.0])}), tmp_path / "orders_1.parquet")
    book = openpyxl.Workbook()
    book.active.append(ORDER_COLUMNS)
    for cid in [1.0, 2, 2.5, "3"]:
        book.active.append([cid, "2026-02-01", 7])
    book.save(tmp_path / "orders_2.xlsx")
    ds = load(tmp_path)
    assert ds.transactions["customer_id"].tolist() == ["1", "2", "3", "1", "2", "3"]
    assert ds.transactions["amount"].tolist() == [10.0, 20.0, 50.0, 7.0, 7.0, 7.0]
    assert problems(ds, "orders_1.parquet") == [(3, "customer_id", "1.5", REASON_DECIMAL_ID),
                                                 (4, "customer_id", "", "empty value in required column customer_id (客户编号)")]
    assert problems(ds, "orders_2.xlsx") == [(4, "customer_id", "2.5", REASON_DECIMAL_ID)]
    assert REASON_UNKNOWN not in set(ds.rejected["reason"])


# --- 6. Excel's empty date, 9. days outside engine.dates -----------------------------------------------
def test_excel_empty_date_and_far_dates_name_file_row_and_column(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    write_csv(tmp_path / "customers.csv", ["customer_id", "name", "first_cooperation_date", "record_updated"],
              [["C001", "a", "1899-12-30", "2026-01-01"], ["C002", "b", "9999-12-31", "1900-01-00"],
               ["C003", "c", "2020-05-05", "1899/12/31"]], encoding="utf-8-sig")
    write_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "1899-12-30", "1"], ["C001", "1900-01-00", "2"], ["C001", "9999-12-31", "3"],
               ["C001", "30/12/1899", "4"], ["C001", "2026-01-05", "5"], ["C001", "1900-01-01", "6"]])
    book = openpyxl.Workbook()
    book.active.append(["customer_id", "order_date", "amount"])
    book.active.append(["C002", dt.datetime(1899, 12, 30), 7])   # a 0 in a date cell: Excel's empty date
    book.active.append(["C002", dt.datetime(2026, 3, 1), 8])
    book.save(tmp_path / "orders_x.xlsx")
    ds = load(tmp_path)
    assert problems(ds, "orders.csv") == [
        (2, "order_date", "1899-12-30", REASON_EXCEL_DATE), (3, "order_date", "1900-01-00", REASON_EXCEL_DATE),
        (4, "order_date", "9999-12-31", OUTSIDE),
        (5, "order_date", "30/12/1899", REASON_EXCEL_DATE)]
    assert problems(ds, "orders_x.xlsx") == [(2, "order_date", "00:00:00", REASON_EXCEL_DATE)]
    assert ds.transactions["amount"].tolist() == [5.0, 6.0, 8.0]     # 1900-01-01 is a real (if odd) date
    # optional date columns: the customer stays, the date goes, and a warning says why
    assert problems(ds, "customers.csv", warnings=True) == [
        (2, "first_cooperation_date", "1899-12-30", REASON_EXCEL_DATE),
        (3, "first_cooperation_date", "9999-12-31", OUTSIDE),
        (3, "record_updated", "1900-01-00", REASON_EXCEL_DATE), (4, "record_updated", "1899/12/31", REASON_EXCEL_DATE)]
    assert ds.customers["first_cooperation_date"].isna().tolist() == [True, True, False]


# --- 7. a header line repeated inside the data --------------------------------------------------------
def test_repeated_header_line_is_rejected_whole(tmp_path):
    header = ["客户编号", "客户名称"]
    lines = [header, ["C001", "a"], header, ["C002", "b"], [" 客户编号 ", "客户名称"]]
    text = "\r\n".join(",".join(cells) for cells in lines) + "\r\n"
    (tmp_path / "客户.csv").write_bytes(text.encode("utf-8-sig"))
    orders = [ORDER_COLUMNS, ["C001", "2026-01-05", "10"], ORDER_COLUMNS, ["C002", "2026-01-06", "20"]]
    (tmp_path / "orders.csv").write_bytes(("\r\n".join(",".join(c) for c in orders) + "\r\n").encode("gbk"))
    pd.DataFrame([["C002", "2026-01-07", "3"], ORDER_COLUMNS], columns=ORDER_COLUMNS).to_parquet(tmp_path / "orders_2.parquet")
    ds = load(tmp_path)
    assert ds.customers["customer_id"].tolist() == ["C001", "C002"]
    assert problems(ds, "客户.csv") == [(3, "(whole line)", "客户编号,客户名称", REASON_HEADER),
                                        (5, "(whole line)", " 客户编号 ,客户名称", REASON_HEADER)]
    assert problems(ds, "orders.csv") == [(3, "(whole line)", "customer_id,order_date,amount", REASON_HEADER)]
    assert problems(ds, "orders_2.parquet") == [(2, "(whole line)", "customer_id,order_date,amount", REASON_HEADER)]
    assert ds.transactions["amount"].sum() == 33.0
    record = ds.rejected.loc[ds.rejected["file"].str.endswith("客户.csv"), "record"].iloc[0]
    assert json.loads(record) == {"客户编号": "客户编号", "客户名称": "客户名称"}
    assert ds.files["rows_read"].tolist() == [4, 3, 2] and ds.files["rows_rejected"].tolist() == [2, 1, 1]


def test_a_header_like_row_that_differs_is_data(tmp_path):
    write_csv(tmp_path / "orders.csv", ORDER_COLUMNS, [["customer_id", "order_date", "12"], ["A", "2026-01-05", "1"]])
    ds = load(tmp_path)
    assert problems(ds, "orders.csv") == [(2, "order_date", "order_date", "unparseable date (expected e.g. 2026-09-30, "
                                           "2026/9/30, 20260930, 2026年9月30日, 09/30/2026)")]


# --- 8. a complaint resolved before it was made ------------------------------------------------------
def test_complaint_resolved_before_it_was_made(tmp_path):
    _customers(tmp_path)
    _orders(tmp_path, "orders.csv", ["10"])
    write_csv(tmp_path / "interactions.csv", ["customer_id", "date", "type", "resolved_date"],
              [["C001", "2026-03-10", "投诉", "2026-03-04"],     # resolved six days before it was made
               ["C001", "2026-03-10", "complaint", "2026-03-10"],  # the same day: 0 days
               ["C002", "2026-04-01", "complaint", "2026-04-05"],
               ["C002", "2026-04-02", "call", ""]], encoding="utf-8-sig")
    ds = load(tmp_path)
    reason = "resolved_date before date (解决日期 早于 互动日期): resolved_date cannot precede date"
    assert problems(ds, "interactions.csv") == [(2, "resolved_date", "2026-03-04", reason)]
    days = (ds.interactions["resolved_date"] - ds.interactions["date"]).dt.days.dropna()
    assert days.tolist() == [0.0, 4.0]


def test_resolution_days_in_the_kpis_are_never_negative(tmp_path):
    _customers(tmp_path)
    _orders(tmp_path, "orders.csv", ["10"])
    write_csv(tmp_path / "interactions.csv", ["customer_id", "date", "type", "resolved_date"],
              [["C001", "2026-09-10", "complaint", "2026-09-01"], ["C002", "2026-09-10", "complaint", "2026-09-13"]])
    ds = load(tmp_path)
    # the complaint "resolved" 9 days before it was made is rejected, so the mean is 3 days, not -3
    assert kpi.kpis(ds, by=None)["resolution_days"].tolist() == [3.0]

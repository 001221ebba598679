"""Hostile and careless dates (issue #12, part E): a year-last date is read only when its file
tells day from month, and a day outside ``engine.dates`` (1900-01-01..2200-12-31) is rejected,
on both engines alike, naming file, row, column, value and rule.

Files are written the way users' tools write them: CSV as Excel saves it (UTF-8 with BOM, CRLF,
quoted), XLSX with openpyxl holding text dates and real date cells.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path

import pandas as pd
import pytest
from test_hostile_values import load, problems

from segkit.config import ConfigError
from segkit.cells import REASON_AMBIGUOUS_DATE, REASON_EXCEL_DATE
from segkit.io import load_dataset

pytest.importorskip("duckdb")
ORDER_COLUMNS = ["customer_id", "order_date", "amount"]
AMBIGUOUS = "ambiguous day/month order (set date_order: MDY or DMY in dataset.yaml)"
OUTSIDE = "date outside 1900-01-01..2200-12-31 (engine.dates): a typo or a placeholder, not a real date"
UNPARSEABLE = "unparseable date (expected e.g. 2026-09-30, 2026/9/30, 20260930, 2026年9月30日, 09/30/2026"


def excel_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    """CSV as Excel's "CSV UTF-8" writes it: BOM, CRLF, fields quoted only when they must be."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows([header, *rows])
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))
    return path


def dates_of(ds, table: str = "transactions", column: str = "order_date") -> list:
    return [None if pd.isna(d) else d.strftime("%Y-%m-%d") for d in getattr(ds, table)[column]]


def test_the_reason_is_the_shared_one():
    assert REASON_AMBIGUOUS_DATE == AMBIGUOUS


# --- 1. nothing in the file tells day from month: rejected, never guessed -----------------------------
def test_a_file_that_never_tells_day_from_month_rejects_the_dates_that_could_be_either(tmp_path):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "01/02/2026", "10"], ["C001", "3/4/2026", "20"], ["C002", "01/01/2026", "30"],
               ["C002", "2026-03-05", "40"], ["C001", "12.12.2025", "50"], ["C002", "11/10/2025", "60"]])
    excel_csv(tmp_path / "customers.csv", ["customer_id", "name", "first_cooperation_date"],
              [["C001", "甲公司", "05/06/2020"], ["C002", "乙公司", "2019-04-01"]])
    ds = load(tmp_path)
    assert problems(ds, "orders.csv") == [(2, "order_date", "01/02/2026", AMBIGUOUS), (3, "order_date", "3/4/2026", AMBIGUOUS),
                                          (7, "order_date", "11/10/2025", AMBIGUOUS)]
    # a day that is its own month reads the same either way; year-first dates are never in doubt
    assert dates_of(ds) == ["2026-01-01", "2026-03-05", "2025-12-12"]
    assert ds.transactions["amount"].tolist() == [30.0, 40.0, 50.0]
    # an optional date column: the customer stays, the date goes, with a warning
    assert problems(ds, "customers.csv", warnings=True) == [(2, "first_cooperation_date", "05/06/2020", AMBIGUOUS)]
    assert dates_of(ds, "customers", "first_cooperation_date") == [None, "2019-04-01"]
    assert ds.files.set_index(ds.files["file"].map(lambda f: Path(f).name))["date_order"].to_dict() == {
        "customers.csv": "ambiguous", "orders.csv": "ambiguous"}
    assert [n.split(":")[0] for n in ds.notes() if "date_order: MDY or DMY" in n] == ["customers.csv", "orders.csv"]


@pytest.mark.parametrize(("order", "expected"), [
    ("MDY", ["2026-01-02", "2026-03-04", "2026-01-01", "2026-03-05", "2025-12-12", "2025-11-10"]),
    ("dmy", ["2026-02-01", "2026-04-03", "2026-01-01", "2026-03-05", "2025-12-12", "2025-10-11"]),
])
def test_date_order_in_dataset_yaml_reads_every_year_last_date_as_told(tmp_path, order, expected):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "01/02/2026", "10"], ["C001", "3/4/2026", "20"], ["C002", "01/01/2026", "30"],
               ["C002", "2026-03-05", "40"], ["C001", "12.12.2025", "50"], ["C002", "11/10/2025", "60"],
               ["C002", "25/12/2025" if order == "MDY" else "12/25/2025", "70"]])  # the other order: not a date
    (tmp_path / "dataset.yaml").write_text(f"date_order: {order}\n", encoding="utf-8")
    ds = load(tmp_path)
    assert dates_of(ds) == expected
    words = "month/day/year" if order == "MDY" else "day/month/year"
    [(row, _, _, reason)] = problems(ds, "orders.csv")
    assert row == 8 and reason == f"{UNPARSEABLE}; year-last dates read as {words})"
    assert ds.files["date_order"].tolist() == [order.upper()]
    assert not any("date_order" in note for note in ds.notes())


# --- 2. the file decides: per file, all its date columns together ------------------------------------
def test_each_file_decides_its_own_order(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "25/12/2025", "1"], ["C001", "01/02/2026", "2"], ["C002", "3.4.2026", "3"]])
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(ORDER_COLUMNS)
    sheet.append(["C001", "12/25/2025", 4])                  # text cells, as a US CRM export pastes them
    sheet.append(["C002", "01/02/2026", 5])
    sheet.append(["C002", dt.datetime(2026, 1, 2), 6])        # a real date cell: never in doubt
    sheet["B4"].number_format = "dd/mm/yyyy"
    book.save(tmp_path / "orders_2.xlsx")
    ds = load(tmp_path)
    assert dates_of(ds) == ["2025-12-25", "2026-02-01", "2026-04-03", "2025-12-25", "2026-01-02", "2026-01-02"]
    assert ds.files["date_order"].tolist() == ["DMY", "MDY"]
    assert ds.rejected.empty


def test_one_date_column_decides_for_the_others_of_its_file(tmp_path):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS, [["C001", "2026-03-01", "1"]])
    excel_csv(tmp_path / "interactions.csv", ["customer_id", "date", "type", "resolved_date"],
              [["C001", "03/04/2026", "call", "05/04/2026"], ["C001", "01/05/2026", "call", "20/05/2026"],
               ["C001", "02/06/2026", "call", ""]])
    ds = load(tmp_path)
    # only resolved_date's 20/05/2026 tells: day first, for the date column as well
    assert dates_of(ds, "interactions", "date") == ["2026-04-03", "2026-05-01", "2026-06-02"]
    assert dates_of(ds, "interactions", "resolved_date") == ["2026-04-05", "2026-05-20", None]
    assert ds.files["date_order"].tolist() == ["", "DMY"] and ds.rejected.empty and ds.warnings.empty  # orders, interactions


def test_a_file_mostly_month_first_rejects_its_day_first_date(tmp_path):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "12/25/2025", "1"], ["C001", "01/13/2026", "2"], ["C001", "01/13/2026", "3"],
               ["C002", "25/12/2025", "4"], ["C002", "01/02/2026", "5"]])
    ds = load(tmp_path)
    # two distinct month-first dates against one day-first: month first; 25/12/2025 contradicts it
    assert problems(ds, "orders.csv") == [(5, "order_date", "25/12/2025", f"{UNPARSEABLE}; year-last dates read as month/day/year)")]
    assert dates_of(ds) == ["2025-12-25", "2026-01-13", "2026-01-13", "2026-01-02"]
    assert ds.files["date_order"].tolist() == ["MDY"]


def test_a_file_with_as_many_dates_of_each_order_decides_nothing(tmp_path):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "12/25/2025", "1"], ["C001", "25.12.2025", "2"], ["C002", "01/02/2026", "3"],
               ["C002", "07/07/2026", "4"], ["C002", "13/13/2026", "5"]])
    ds = load(tmp_path)
    assert problems(ds, "orders.csv") == [
        (2, "order_date", "12/25/2025", AMBIGUOUS), (3, "order_date", "25.12.2025", AMBIGUOUS),
        (4, "order_date", "01/02/2026", AMBIGUOUS), (6, "order_date", "13/13/2026", UNPARSEABLE + ")")]
    assert dates_of(ds) == ["2026-07-07"]
    assert ds.files["date_order"].tolist() == ["mixed"]
    assert any(n.startswith("orders.csv: as many dates") for n in ds.notes())


# --- 3. days outside engine.dates --------------------------------------------------------------------
def test_days_outside_1900_to_2200_are_rejected_in_every_spelling(tmp_path):
    openpyxl = pytest.importorskip("openpyxl")
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "1900-01-01", "1"], ["C001", "1899-12-31", "2"], ["C001", "2201-01-01", "3"],
               ["C001", "22010101", "4"], ["C001", "1850-03-01", "5"], ["C001", "0001-01-01", "6"],
               ["C001", "31/12/9999", "7"], ["C001", "2300年1月1日", "8"], ["C001", "9999-12-31 00:00:00", "9"],
               ["C001", "2201-02-30", "10"], ["C001", "2026-06-30", "11"]])
    book = openpyxl.Workbook()
    book.active.append(ORDER_COLUMNS)
    book.active.append(["C002", dt.datetime(2250, 6, 1), 12])    # a date cell far in the future
    book.active.append(["C002", "1850-03-01", 13])                # text in a workbook
    book.active.append(["C002", dt.datetime(2026, 7, 1), 14])
    book.save(tmp_path / "orders_2.xlsx")
    excel_csv(tmp_path / "customers.csv", ["customer_id", "name", "first_cooperation_date", "record_updated"],
              [["C001", "a", "2200-12-31", "2201-01-01"], ["C002", "b", "1900-01-01", "1899-12-30"]])
    ds = load(tmp_path)
    assert problems(ds, "orders.csv") == [
        (3, "order_date", "1899-12-31", REASON_EXCEL_DATE), (4, "order_date", "2201-01-01", OUTSIDE),
        (5, "order_date", "22010101", OUTSIDE), (6, "order_date", "1850-03-01", OUTSIDE),
        (7, "order_date", "0001-01-01", OUTSIDE), (8, "order_date", "31/12/9999", OUTSIDE),
        (9, "order_date", "2300年1月1日", OUTSIDE), (10, "order_date", "9999-12-31 00:00:00", OUTSIDE),
        (11, "order_date", "2201-02-30", UNPARSEABLE + "; year-last dates read as day/month/year)")]
    assert [(r, v, why) for r, _, v, why in problems(ds, "orders_2.xlsx")] == [
        (2, "2250-06-01 00:00:00", OUTSIDE), (3, "1850-03-01", OUTSIDE)]
    assert ds.transactions["amount"].tolist() == [1.0, 11.0, 14.0]
    assert dates_of(ds) == ["1900-01-01", "2026-06-30", "2026-07-01"]
    # optional date columns: both ends of the range are days; beyond them the value goes with a warning
    assert problems(ds, "customers.csv", warnings=True) == [
        (2, "record_updated", "2201-01-01", OUTSIDE), (3, "record_updated", "1899-12-30", REASON_EXCEL_DATE)]
    assert dates_of(ds, "customers", "first_cooperation_date") == ["2200-12-31", "1900-01-01"]
    assert len(ds.customers) == 2


def test_the_range_is_configuration_and_both_engines_apply_it(tmp_path):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS,
              [["C001", "2019-12-31", "1"], ["C001", "2019/12/31", "2"], ["C001", "2020-01-01", "3"],
               ["C001", "2026-06-30 23:59", "4"], ["C001", "2026-07-01", "5"], ["C001", "01/07/2026", "6"],
               ["C001", "13/07/2026", "7"]])
    config = {"engine": {"dates": {"earliest": "2020-01-01", "latest": "2026-06-30"}}}
    ds = load(tmp_path, config=config)
    outside = "date outside 2020-01-01..2026-06-30 (engine.dates): a typo or a placeholder, not a real date"
    # 2019-12-31 and 2026-07-01 take the engine's fast path (SQL), the others the reference parser
    assert problems(ds, "orders.csv") == [(2, "order_date", "2019-12-31", outside), (3, "order_date", "2019/12/31", outside),
                                          (6, "order_date", "2026-07-01", outside), (7, "order_date", "01/07/2026", outside),
                                          (8, "order_date", "13/07/2026", outside)]
    assert ds.transactions["amount"].tolist() == [3.0, 4.0]


@pytest.mark.parametrize("dates", [{"earliest": "2030-01-01", "latest": "2020-01-01"}, {"earliest": "soon", "latest": "2030-01-01"}])
def test_a_wrong_range_is_a_configuration_error(tmp_path, dates):
    excel_csv(tmp_path / "orders.csv", ORDER_COLUMNS, [["C001", "2026-01-01", "1"]])
    for engine in ("pandas", "duckdb"):
        with pytest.raises(ConfigError, match="dates"):
            load_dataset(tmp_path, engine=engine, config={"engine": {"dates": dates}})

"""Files missing, doubled, misdecoded or slow (issue #12, part B): every file in a data folder is
read, refused by name, or skipped with a warning that names it -- in both engines.

Files are written the way the tools that make them write them: workbooks with several sheets
by openpyxl, CSV bytes in GBK, Big5, Windows-1252 and UTF-16 ("Unicode text" from Excel),
browser-style duplicates (``orders (1).csv``), gzip.
"""

from __future__ import annotations

import codecs
import gzip
import json

import numpy as np
import openpyxl
import pandas as pd
import pytest
from conftest import write_csv
from test_ingest import assert_same_load, load_both

import segkit
from segkit.io import load_dataset
from segkit.schema import TABLES, SchemaError
from segkit.sources import detect_encoding

pytest.importorskip("duckdb")

ENGINES = ["pandas", "duckdb"]
ORDERS = ["customer_id", "order_date", "amount"]


def _orders(folder, name="orders.csv", rows=None, encoding="utf-8"):
    rows = rows if rows is not None else [["C1", "2026-01-05", "100"], ["C2", "2026-02-05", "50.5"]]
    return write_csv(folder / name, ORDERS, rows, encoding=encoding)


def _skipped(ds) -> dict[str, str]:
    """File name -> reason of every whole-file warning."""
    w = ds.warnings.loc[ds.warnings["column"] == "(file)"]
    return dict(zip(w["value"], w["reason"]))


def _raises_both(folder, *names, match=None, **kwargs):
    """Both engines stop with a SchemaError naming every one of ``names``."""
    messages = []
    for engine in ENGINES:
        with pytest.raises(SchemaError, match=match) as info:
            load_dataset(folder, engine=engine, as_of="2026-09-30", **kwargs)
        for name in names:
            assert name in str(info.value), (name, str(info.value))
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    return messages[0]


# --------------------------------------------------------------------------------------------
# 1. encodings

BIG5_NAMES = ["台灣積體電路製造股份有限公司", "鴻海精密工業", "國泰人壽保險", "統一企業"]
LATIN_NAMES = ["Müller GmbH", "Café Crème SARL", "Señor Pérez – “Olé”", "Ørsted A/S"]


@pytest.mark.parametrize(("names", "encoding", "codec"), [(BIG5_NAMES, "big5", "cp950"), (LATIN_NAMES, "cp1252", "cp1252")])
def test_big5_and_windows_1252_are_decoded_right(tmp_path, names, encoding, codec):
    ids = [f"C{i}" for i in range(1, len(names) + 1)]
    write_csv(tmp_path / "customers.csv", ["customer_id", "name", "region"],
              [[i, n, "台北" if encoding == "big5" else "Zürich"] for i, n in zip(ids, names)], encoding=codec)
    _orders(tmp_path, rows=[[i, "2026-01-05", "10"] for i in ids])
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.customers["name"].tolist() == names
    assert engine.files.set_index("table").loc["customers", "encoding"] == encoding


def test_utf16_unicode_text_from_excel(tmp_path):
    # Excel's "Unicode text (*.txt)": UTF-16 LE with a BOM, tab-separated, CRLF
    text = "客户编号\t交易日期\t交易金额\r\nC1\t2026-01-05\t100\r\nC2\t2026-02-05\t50.5\r\n"
    (tmp_path / "订单.txt").write_bytes(codecs.BOM_UTF16_LE + text.encode("utf-16-le"))
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].tolist() == [100.0, 50.5]
    assert engine.files["encoding"].tolist() == ["utf-16"]


def test_unclear_encoding_stops_and_dataset_yaml_decides(tmp_path):
    # two hanzi: valid and common in GBK and in Big5 alike (北京 in GBK reads 疇儔 in Big5)
    write_csv(tmp_path / "customers.csv", ["customer_id", "name"], [["C1", "北京"]], encoding="gbk")
    _orders(tmp_path, rows=[["C1", "2026-01-05", "10"]])
    message = _raises_both(tmp_path, "customers.csv", "encoding:", match="encoding is not clear")
    assert "GB18030/GBK" in message and "Big5" in message
    (tmp_path / "dataset.yaml").write_text("files:\n  customers.csv: {encoding: gbk}\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.customers["name"].tolist() == ["北京"]


def test_a_chinese_header_tells_gbk_from_big5(tmp_path):
    path = write_csv(tmp_path / "c.csv", ["客户编号", "客户名称"], [["C1", "北京"]], encoding="gbk")
    assert detect_encoding(path)[0] == "gb18030"
    path = write_csv(tmp_path / "u.csv", ["客户编号", "客户名称"], [["C1", "北京"]], encoding="utf-8")
    assert detect_encoding(path)[0] == "utf-8-sig"


def test_non_ascii_text_after_the_first_megabyte_decides(tmp_path):
    # 1.4 MB of ASCII (a UTF-8 check alone would pass it), then a GBK name and a Big5 name
    ascii_part = b"customer_id,name\n" + b"C1,abc\n" * 200_000
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(ascii_part + "C2,华东精密机械有限公司南方贸易\n".encode("gbk"))
    big5 = tmp_path / "big5.csv"
    big5.write_bytes(ascii_part + "C2,台灣積體電路製造股份有限公司\n".encode("cp950"))
    assert detect_encoding(gbk) == ("gb18030", 200_002, True)
    assert detect_encoding(big5) == ("big5", 200_002, True)


def test_declared_encoding_must_fit(tmp_path):
    write_csv(tmp_path / "orders.csv", ORDERS + ["note"], [["C1", "2026-01-05", "1", "客户"]], encoding="gbk")
    (tmp_path / "dataset.yaml").write_text("files:\n  orders.csv: {encoding: utf-8}\n", encoding="utf-8")
    _raises_both(tmp_path, "orders.csv", match="does not decode as utf-8")
    (tmp_path / "dataset.yaml").write_text("files:\n  orders.csv: {encoding: klingon}\n", encoding="utf-8")
    _raises_both(tmp_path, "orders.csv", match="unknown encoding 'klingon'")


# --------------------------------------------------------------------------------------------
# 2. a header written twice


def test_duplicated_header_is_an_error_naming_file_and_column(tmp_path):
    write_csv(tmp_path / "订单.csv", ["客户编号", "交易日期", "交易金额", "交易金额"], [["C1", "2026-01-05", "1", "2"]], encoding="gbk")
    _raises_both(tmp_path, "订单.csv", "'交易金额' twice", "columns C and D")


def test_duplicated_unknown_header_in_a_workbook(tmp_path):
    book = openpyxl.Workbook()
    book.active.append(["customer_id", "order_date", "amount", "备注", "备注"])
    book.active.append(["C1", "2026-01-05", 1, "a", "b"])
    book.save(tmp_path / "orders.xlsx")
    _raises_both(tmp_path, "orders.xlsx", "'备注' twice", "columns D and E")


# --------------------------------------------------------------------------------------------
# 3. workbooks with several sheets


def _book(path, sheets: dict[str, list[list]]):
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


def test_empty_and_notes_sheets_are_skipped_with_warnings(tmp_path):
    _book(tmp_path / "orders.xlsx", {
        "说明": [["本表由 CRM 导出"], ["金额单位：元"]],
        "订单": [ORDERS, ["C1", "2026-01-05", 100], ["C2", "2026-02-05", 50.5]],
        "Sheet3": [],
    })
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].tolist() == [100.0, 50.5]
    assert engine.warnings["reason"].tolist() == [
        "file skipped: sheet '说明' holds notes, not data (by its name)",
        "file skipped: sheet 'Sheet3' is empty",
    ]


def test_data_on_two_sheets_is_an_error_unless_dataset_yaml_names_one(tmp_path):
    _book(tmp_path / "orders.xlsx", {
        "2026Q1": [ORDERS, ["C1", "2026-01-05", 100]],
        "2026Q2": [ORDERS, ["C1", "2026-04-05", 70]],
    })
    _raises_both(tmp_path, "orders.xlsx", "'2026Q1'", "'2026Q2'", "sheet:")
    (tmp_path / "dataset.yaml").write_text("files:\n  orders.xlsx:\n    sheet: 2026Q2\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].tolist() == [70.0]
    assert _skipped(engine) == {"orders.xlsx": "file skipped: sheet '2026Q1' not read (dataset.yaml names sheet '2026Q2')"}
    (tmp_path / "dataset.yaml").write_text("files:\n  orders.xlsx:\n    sheet: Q3\n", encoding="utf-8")
    _raises_both(tmp_path, "orders.xlsx", "'Q3'", "'2026Q1', '2026Q2'")


# --------------------------------------------------------------------------------------------
# 4. two exports of one table


@pytest.mark.parametrize("second", ["orders (1).csv", "orders - 副本.csv", "orders.xlsx"])
def test_two_exports_of_one_table_are_an_error_naming_both(tmp_path, second):
    _orders(tmp_path)
    if second.endswith(".xlsx"):
        pd.DataFrame([["C1", "2026-01-05", "100"]], columns=ORDERS).to_excel(tmp_path / second, index=False)
    else:
        _orders(tmp_path, second)
    _raises_both(tmp_path, "'orders.csv'", repr(second), match="count their rows twice")


def test_same_bytes_under_two_names_is_an_error(tmp_path):
    _orders(tmp_path, "orders_jan.csv")
    _orders(tmp_path, "orders_backup.csv")
    _raises_both(tmp_path, "orders_backup.csv", "orders_jan.csv", match="same content")


def test_listing_both_in_dataset_yaml_reads_both(tmp_path):
    _orders(tmp_path, rows=[["C1", "2026-01-05", "100"]])
    _orders(tmp_path, "orders (1).csv", rows=[["C2", "2026-02-05", "7"]])
    (tmp_path / "dataset.yaml").write_text("files:\n  orders.csv: {}\n  orders (1).csv: {}\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].sum() == 107.0
    (tmp_path / "dataset.yaml").write_text("files:\n  orders (1).csv: {skip: true}\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].sum() == 100.0
    assert _skipped(engine) == {"orders (1).csv": "file skipped: dataset.yaml says skip"}


def test_monthly_files_of_one_table_are_still_read_together(tmp_path):
    _orders(tmp_path, "orders_2026-01.csv", rows=[["C1", "2026-01-05", "100"]])
    _orders(tmp_path, "orders_2026-02.csv", rows=[["C2", "2026-02-05", "7"]])
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].sum() == 107.0 and engine.warnings.empty


# --------------------------------------------------------------------------------------------
# 5. segkit's own outputs in the data folder


def test_segkit_outputs_in_the_folder_are_not_read(tmp_path):
    from segkit.export import write_tier_table
    from segkit.writers import write_table

    _orders(tmp_path, rows=[["C1", "2026-01-05", "100"], ["C2", "2026-02-05", "x"], ["C3", "2026-03-05", "5"]])
    ds = load_dataset(tmp_path, as_of="2026-09-30", engine="pandas", max_rejected_share=None)  # 1 of 3 on purpose
    snap = segkit.snapshot(ds, ds.as_of)
    write_table(snap.reset_index(), tmp_path / "customer_snapshot.csv")
    ds.write_rejected(tmp_path / "rejected_rows.csv")
    ds.write_rejected(tmp_path / "customers_problems.xlsx")  # a ledger under a name of the user's
    tiers = segkit.assign_tiers(snap)
    write_tier_table(tiers, snap, tmp_path / "客户关系划分.xlsx")  # starts with 客户: a customers name
    reference, engine = load_both(tmp_path, as_of="2026-09-30", max_rejected_share=None)
    assert_same_load(reference, engine)
    assert engine.customers_derived and sorted(engine.customers["customer_id"]) == ["C1", "C3"]
    skipped = _skipped(engine)
    assert set(skipped) == {"customer_snapshot.csv", "rejected_rows.csv", "customers_problems.xlsx", "客户关系划分.xlsx"}
    assert skipped["customer_snapshot.csv"].startswith("file skipped: segkit's own output (a customer snapshot)")
    assert "(a tier table)" in skipped["客户关系划分.xlsx"]
    assert "(a rejected-rows or warnings list)" in skipped["customers_problems.xlsx"]


# --------------------------------------------------------------------------------------------
# 6. formats


def test_gzipped_csv_is_read_like_the_plain_file(tmp_path):
    plain, zipped = tmp_path / "plain", tmp_path / "zipped"
    plain.mkdir(), zipped.mkdir()
    rows = [["C1", "2026-01-05", "100"], ["C2", "2026-02-05", "¥1,200"], ["C3", "2026-13-01", "3"]]
    _orders(plain, rows=rows)
    (zipped / "orders.csv.gz").write_bytes(gzip.compress((plain / "orders.csv").read_bytes()))
    write_csv(zipped / "客户.csv.gz", ["客户编号", "客户名称"], [])  # header only, then replaced by GBK bytes
    (zipped / "客户.csv.gz").write_bytes(gzip.compress("客户编号,客户名称\nC1,甲\nC2,乙\nC3,丙\n".encode("gbk")))
    reference, engine = load_both(zipped, as_of="2026-09-30", max_rejected_share=None)  # 2026-13-01: 1 of 3 on purpose
    assert_same_load(reference, engine)
    assert engine.transactions["amount"].tolist() == [100.0, 1200.0]
    assert engine.customers["name"].tolist() == ["甲", "乙", "丙"]
    assert engine.rejected["row"].tolist() == [4]
    assert engine.files["encoding"].tolist() == ["gb18030", "utf-8-sig"]


def test_xls_is_refused_by_name_and_other_files_are_named(tmp_path):
    _orders(tmp_path)
    (tmp_path / "notes.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "surveys_2025.json").write_text("{}", encoding="utf-8")
    (tmp_path / "leads.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    skipped = _skipped(engine)
    assert set(skipped) == {"notes.pdf", "surveys_2025.json", "leads.csv"}
    assert skipped["leads.csv"].startswith("file skipped: its name matches no table")
    (tmp_path / "customers.xls").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504)  # an OLE2 header
    _raises_both(tmp_path, "customers.xls", "save it as .xlsx")


# --------------------------------------------------------------------------------------------
# 7. an unclosed quote


def test_unclosed_quote_rejects_every_line_it_swallows(tmp_path):
    lines = ["customer_id,order_date,amount,note"]
    lines += [f"C{i},2026-01-{i:02d},{i},ok" for i in range(1, 4)]          # lines 2-4
    lines += ['C4,2026-01-04,4,"forgot to close']                          # line 5
    lines += [f"C{i},2026-02-{i - 4:02d},{i},ok" for i in range(5, 43)]    # lines 6-43
    lines += ['C43,2026-03-01,43,"quoted"']                                # line 44: its quote closes line 5's
    lines += ["C44,2026-03-02,44,ok"]                                      # line 45
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30", max_rejected_share=None)
    assert_same_load(reference, engine)
    counts = engine.reconcile().iloc[0]
    assert (counts["rows_read"], counts["rows_accepted"], counts["rows_rejected"]) == (44, 4, 40)
    rejected = engine.rejected
    assert rejected["row"].tolist() == list(range(5, 45))
    assert set(rejected["reason"]) == {"unclosed quote (a quoted field starting at line 5 runs over 40 lines, to line 44; "
                                       "every line of the run is rejected)"}
    assert rejected["value"].iloc[1] == "C5,2026-02-01,5,ok"
    assert json.loads(rejected["record"].iloc[0]) == 'C4,2026-01-04,4,"forgot to close'
    assert engine.transactions["customer_id"].tolist() == ["C1", "C2", "C3", "C44"]


def test_quote_left_open_to_the_end_of_the_file(tmp_path):
    lines = ["customer_id,order_date,amount,note", "C1,2026-01-01,1,ok", 'C2,2026-01-02,2,"open']
    lines += [f"C{i},2026-01-03,{i},ok" for i in range(3, 30)]
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30", max_rejected_share=None)
    assert_same_load(reference, engine)
    counts = engine.reconcile().iloc[0]
    assert (counts["rows_read"], counts["rows_accepted"], counts["rows_rejected"]) == (29, 1, 28)
    assert engine.rejected["row"].tolist() == list(range(3, 31))


def test_a_note_on_a_few_lines_is_still_one_record(tmp_path):
    text = 'customer_id,order_date,amount,note\nC1,2026-01-01,1,"line one\nline two\nline three"\nC2,2026-01-02,2,ok\n'
    (tmp_path / "orders.csv").write_text(text, encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["note"].tolist() == ["line one\nline two\nline three", "ok"]
    assert engine.rejected.empty


# --------------------------------------------------------------------------------------------
# 8, 9. headers: a leading underscore, Excel's ghost columns


def test_unknown_column_with_leading_underscore_is_kept(tmp_path):
    write_csv(tmp_path / "orders.csv", [*ORDERS, "_source", "__id"], [["C1", "2026-01-05", "1", "web", "x9"]])
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions[["_source", "__id"]].values.tolist() == [["web", "x9"]]


def test_a_column_named_like_segkits_own_is_refused(tmp_path):
    write_csv(tmp_path / "orders.csv", [*ORDERS, "_row"], [["C1", "2026-01-05", "1", "5"]])
    _raises_both(tmp_path, "orders.csv", "'_row'", match="rename the column")


def test_ten_thousand_named_columns_are_refused_by_name(tmp_path):
    header = [*ORDERS, *(f"col{j}" for j in range(10_000))]
    write_csv(tmp_path / "orders.csv", header, [["C1", "2026-01-05", "1", *([""] * 10_000)]])
    _raises_both(tmp_path, "orders.csv", "10,003 columns", "engine.max_columns")
    config = {"engine": {"max_columns": 20_000}}
    write_csv(tmp_path / "orders.csv", [*ORDERS, *(f"col{j}" for j in range(1_200))], [["C1", "2026-01-05", "1", *([""] * 1_200)]])
    ds = load_dataset(tmp_path, engine="pandas", as_of="2026-09-30", config=config)
    assert ds.transactions.shape == (1, 6 + 1_200 + 1)


def test_ten_thousand_empty_columns_are_dropped_and_counted(tmp_path):
    ghosts = "," * 10_000
    lines = [f"customer_id,order_date,amount,,region{ghosts}"]
    lines += [f"C{i},2026-01-{i % 28 + 1:02d},{i},,华东{ghosts}" for i in range(1, 201)]
    lines[7] = f"C7,2026-01-08,7,stray,华东{ghosts}"  # one value under the unnamed column D keeps it
    (tmp_path / "orders.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert list(engine.transactions.columns) == [*(c.name for c in TABLES["transactions"].columns),
                                                 "(column D)", "region", "is_refund"]
    assert engine.transactions["(column D)"].tolist().count("stray") == 1
    # the last ghost is column 10,005 = 14 * 26**2 + 20 * 26 + 21: N, T, U
    assert engine.warnings["reason"].tolist() == [
        "empty columns dropped: 10,000 column(s) with neither a header nor a value (F to NTU)"]
    assert len(engine.transactions) == 200 and np.isclose(engine.transactions["amount"].sum(), 200 * 201 / 2)

"""Injection-safe CSV/XLSX writing and the handbook tier table export."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest
from openpyxl import load_workbook

from segkit.export import tier_table, tiers_command, write_tier_table
from segkit.writers import neutralise, write_table
from segkit.segment.tiers import assign_tiers, handbook_examples

ZH_COLUMNS = ["客户编号", "客户名称", "所属行业", "联系人及职务", "近12个月交易金额(万元)", "近6个月互动频次(次)",
              "合作时长(月)", "核心需求类型", "客户关系划分", "划分依据摘要", "后续策略建议", "备注"]
EN_COLUMNS = ["Customer ID", "Customer name", "Industry", "Contact and title", "12-month revenue (CNY 10k)",
              "6-month interactions", "Tenure (months)", "Core need type", "Tier", "Basis", "Recommended actions", "Notes"]
PAYLOADS = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(A1)", "\t=1+1", "\r=1+1", '=HYPERLINK("http://evil","x")']


@pytest.mark.parametrize("payload", PAYLOADS)
def test_dangerous_text_is_neutralised(payload):
    assert neutralise(payload) == "'" + payload


@pytest.mark.parametrize("value", ["核心客户", "a=b", "1-2", "", 5, -5.0, None, True])
def test_other_values_are_unchanged(value):
    assert neutralise(value) == value


def table_with_payloads() -> pd.DataFrame:
    return pd.DataFrame({
        "text": PAYLOADS,
        "amount": [-5.0, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0],
        "count": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
        "date": pd.to_datetime(["2026-09-30"] * 6 + [None]),
        "=header": ["x"] * 7,
    })


def test_csv_has_no_live_formulas(tmp_path):
    path = write_table(table_with_payloads(), tmp_path / "out.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM: Excel reads the Chinese as UTF-8
    back = pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert len(back) == len(PAYLOADS)  # a CR or LF inside a cell is quoted: it cannot start a new row
    assert back.columns.tolist() == ["text", "amount", "count", "date", "'=header"]
    assert back["text"].tolist() == ["'" + p for p in PAYLOADS]
    import csv

    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    cells = rows[0] + [row[0] for row in rows[1:]]  # the header and the text column
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert back["amount"].tolist()[0] == "-5.0"  # numbers stay numbers
    assert back["count"].tolist()[:2] == ["1", ""]
    assert back["date"].tolist()[0] == "2026-09-30" and back["date"].tolist()[-1] == ""


def test_xlsx_has_no_live_formulas(tmp_path):
    path = write_table(table_with_payloads(), tmp_path / "out.xlsx", sheet_name="表")
    ws = load_workbook(path)["表"]
    cells = [c for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert [c.value for c in ws[1]] == ["text", "amount", "count", "date", "'=header"]
    # (XML stores a carriage return as a line feed; the cell still starts with the quote)
    assert [ws.cell(row=i, column=1).value for i in range(2, 9)] == ["'" + p.replace("\r", "\n") for p in PAYLOADS]
    assert ws["B2"].value == -5.0 and ws["B2"].data_type == "n"
    assert ws["C3"].value is None
    assert ws["D2"].value == dt.datetime(2026, 9, 30) and ws["D2"].number_format == "yyyy-mm-dd"
    assert ws.freeze_panes == "A2"
    # formulas are not recognised even by a reader that evaluates them
    assert not any(isinstance(c.value, str) and c.value.startswith("=") for c in cells)


def test_unknown_suffix_is_refused(tmp_path):
    with pytest.raises(ValueError, match="use a .csv or .xlsx file name"):
        write_table(pd.DataFrame({"a": [1]}), tmp_path / "out.xls")


def test_tier_table_has_the_handbook_template_columns():
    snap = handbook_examples()
    tiers = assign_tiers(snap)
    table = tier_table(tiers, snap)
    assert table.columns.tolist() == ZH_COLUMNS
    assert table["客户编号"].tolist() == ["C001", "C002", "C003", "C004"]
    assert table["近12个月交易金额(万元)"].tolist() == [65.0, 28.0, 12.0, 3.0]
    assert table["近6个月互动频次(次)"].tolist() == [12, 5, 3, 0]
    assert table["合作时长(月)"].tolist() == [24, 12, 6, 3]
    assert table["客户关系划分"].tolist() == ["核心客户", "潜力客户", "普通客户", "低价值客户"]
    assert table["联系人及职务"].tolist() == ["*总监", "*经理", "*主管", "/"]  # masked as in the handbook
    assert table["核心需求类型"].tolist() == ["解决方案定制型", "产品采购型", "技术服务型", "产品采购型"]
    assert table["后续策略建议"].iloc[0].startswith("专属客户成功经理，每月1对1沟通")
    assert table["划分依据摘要"].iloc[0] == "近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次"
    unmasked = tier_table(tiers, snap, mask_contacts=False)
    assert unmasked["联系人及职务"].tolist() == ["李明 总监", "王芳 经理", "赵强 主管", "/"]
    english = tier_table(assign_tiers(snap), snap, lang="en")
    assert english.columns.tolist() == EN_COLUMNS
    assert english["Tier"].tolist() == ["Core", "Potential", "Ordinary", "Low value"]
    assert english["Industry"].tolist() == ["IT services", "Retail", "Manufacturing", "Business services"]


def test_notes_and_order(write):
    snap = handbook_examples()
    snap.loc["C003", "revenue_12m"] = 600000.0  # amount of core, 3 interactions: review
    snap.attrs["as_of"] = pd.Timestamp("2026-09-30")
    overrides = pd.DataFrame({"customer_id": ["C004"], "tier": ["ordinary"], "reason": ["新门店"],
                              "reviewer": ["张三"], "date": ["2026-09-01"]})
    tiers = assign_tiers(snap, overrides=overrides)
    table = tier_table(tiers, snap)
    assert table["客户编号"].tolist() == ["C001", "C003", "C002", "C004"]  # tier order, then revenue
    notes = dict(zip(table["客户编号"], table["备注"]))
    assert notes["C003"].startswith("需复核：交易额达到核心客户标准（50万元）但近6个月互动未达标")
    assert notes["C004"] == "人工调整，规则判定为低价值客户"
    assert notes["C001"] == ""


def test_written_tier_table_opens_with_template_columns_and_no_formulas(tmp_path):
    snap = handbook_examples()
    snap.loc["C002", "name"] = '=HYPERLINK("http://evil","点我")'
    path = write_tier_table(assign_tiers(snap), snap, tmp_path / "tiers.xlsx")
    ws = load_workbook(path).active
    assert ws.title == "客户关系划分"
    assert [c.value for c in ws[1]] == ZH_COLUMNS
    assert not [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    names = [ws.cell(row=i, column=2).value for i in range(2, 6)]
    assert names[1] == "'=HYPERLINK(\"http://evil\",\"点我\")"
    assert ws.cell(row=2, column=5).value == 65.0
    csv_path = write_tier_table(assign_tiers(snap), snap, tmp_path / "tiers.csv", lang="en")
    back = pd.read_csv(csv_path, encoding="utf-8-sig")
    assert back.columns.tolist() == EN_COLUMNS and len(back) == 4


def test_tiers_command_end_to_end(write, tmp_path):
    (tmp_path / "dataset.yaml").write_text("as_of: 2026-09-30\n", encoding="utf-8")
    write("customers.csv", ["客户编号", "客户名称", "所属行业", "联系人", "职务", "首次合作时间", "需求类型", "续约意向"], [
        ["K1", "@甲公司", "制造业", "张伟", "采购经理", "2023-05-10", "解决方案定制", "是"],
        ["K2", "乙公司", "零售", "", "", "2026-01-10", "产品采购", "否"],
    ])
    write("orders.csv", ["客户编号", "交易日期", "交易金额"], [
        ["K1", "2026-03-01", "300000"], ["K1", "2026-08-01", "300000"], ["K2", "2026-02-01", "20000"],
    ])
    write("interactions.csv", ["客户编号", "互动日期", "互动类型"],
          [["K1", f"2026-{m:02d}-10", "电话"] for m in range(4, 10)] + [["K1", f"2026-{m:02d}-20", "拜访"] for m in range(4, 10)])
    out = tmp_path / "out" / "tiers.xlsx"
    tiers = tiers_command(tmp_path, "2026-09-30", out, lang="zh")
    assert tiers["tier"].to_dict() == {"K1": "core", "K2": "low_value"}
    ws = load_workbook(out).active
    assert [c.value for c in ws[1]] == ZH_COLUMNS
    rows = {r[0]: r for r in ws.iter_rows(min_row=2, values_only=True)}
    assert rows["K1"][1] == "'@甲公司" and rows["K1"][3] == "*采购经理" and rows["K1"][4] == 60.0
    assert rows["K2"][8] == "低价值客户"
    with pytest.raises(ValueError, match="--out must end in .xlsx or .csv"):
        tiers_command(tmp_path, "2026-09-30", tmp_path / "tiers.txt")

"""The handbook's own tier table (客户关系划分模板) as an input: ``segkit.tiers_from_table``.

Files are written the way people's tools write them (openpyxl numbers as Excel stores them,
GBK CSV, UTF-8 with BOM and CRLF), and expected tiers come from business-rules.md section 2,
not from segkit.
"""

from __future__ import annotations

import csv
import io
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font

import segkit
from segkit.cli import main
from segkit.handbook import MissingColumnsWarning, tiers_from_table
from segkit.schema import SchemaError

ROOT = Path(__file__).resolve().parents[1]
HEADERS_ZH = ["客户编号", "客户名称", "所属行业", "联系人及职务", "近12个月交易金额(万元)", "近6个月互动频次(次)",
              "合作时长(月)", "核心需求类型", "客户关系划分", "划分依据摘要", "后续策略建议", "备注"]
HEADERS_EN = ["Customer ID", "Customer name", "Industry", "Contact and title", "12-month revenue (CNY 10k)",
              "6-month interactions", "Tenure (months)", "Core need type", "Tier", "Basis", "Recommended actions", "Notes"]
# business-rules.md section 2, worked examples (amounts in 万元)
HANDBOOK = [
    ["C001", "*科技有限公司", "互联网", "*总监", 65, 12, 24, "定制化软件开发", None, None, None, None],
    ["C002", "*贸易公司", "零售", "*经理", 28, 5, 12, "标准产品采购", None, None, None, "咨询过新产品"],
    ["C003", "*制造厂", "机械制造", "*主管", 12, 3, 6, "设备维护服务", None, None, None, None],
    ["C004", "*个体工商户", "餐饮", "/", 3, 0, 3, "一次性耗材采购", None, None, None, None],
]
EXPECTED_ZH = ["核心客户", "潜力客户", "普通客户", "低价值客户"]
EXPECTED_EN = ["Core", "Potential", "Ordinary", "Low value"]
CORE_ACTIONS_ZH = "专属客户成功经理，每月1对1沟通"  # strategy.yaml core summary starts so
DANGEROUS = ("=", "+", "-", "@", "\t", "\r")


def _write_xlsx(path: Path, headers: list[str], rows: list[list]) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.title = "客户关系划分"
    ws.append(headers)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for row in rows:
        ws.append(row)
    ws.column_dimensions["B"].width = 23
    wb.save(path)
    return path


def _csv_text(headers: list[str], rows: list[list], newline: str = "\r\n") -> str:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator=newline)
    writer.writerow(headers)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    return buffer.getvalue()


def _read_csv(path: Path, encoding: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def _quiet(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingColumnsWarning)
        return tiers_from_table(*args, **kwargs)


# A number as a spreadsheet reads one: digits, an optional sign, decimal point and exponent.
# Python's float() is no oracle for this: it also takes "-INFINITY", "-nan" and "-1_0", which
# Excel and WPS read as formulas (=-INFINITY is a name lookup), so those must be neutralised.
_SPREADSHEET_NUMBER = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*")


def _expected_cell(value: str) -> str:
    """What a spreadsheet-safe writer must make of an input text cell (independent of segkit)."""
    if _SPREADSHEET_NUMBER.fullmatch(value):
        return value  # a plain number is not a formula
    return "'" + value if value.startswith(DANGEROUS) else value


def test_words_that_python_reads_as_numbers_are_still_neutralised(tmp_path):
    """-INFINITY, -nan and -1_0 are numbers to Python but formulas to a spreadsheet."""
    assert [_expected_cell(v) for v in ("-INFINITY", "-nan", "-1_0", "-12.5", "+3", "-1e5")] == [
        "'-INFINITY", "'-nan", "'-1_0", "-12.5", "+3", "-1e5"]
    headers = ["客户编号", "近12个月交易金额(万元)", "近6个月互动频次(次)", "备注"]
    src = tmp_path / "n.csv"
    src.write_text(_csv_text(headers, [["C1", "30", "5", "-INFINITY"], ["C2", "30", "5", "-12.5"],
                                       ["C3", "30", "5", "-nan"]]), encoding="utf-8-sig")
    _quiet(src, out=tmp_path / "n_out.csv")
    assert [row[3] for row in _read_csv(tmp_path / "n_out.csv", "utf-8-sig")[1:]] == ["'-INFINITY", "-12.5", "'-nan"]


# --- the handbook's worked examples in every format ------------------------------------------


def test_xlsx_as_excel_writes_it_round_trips_with_tiers(tmp_path):
    src = _write_xlsx(tmp_path / "客户关系划分模板.xlsx", HEADERS_ZH, HANDBOOK)
    out = tmp_path / "out.xlsx"
    with pytest.warns(MissingColumnsWarning, match="近6个月新需求咨询.*续约意向"):
        result = tiers_from_table(src, out=out)
    ws = load_workbook(out).active
    assert [c.value for c in ws[1]] == HEADERS_ZH
    assert [ws.cell(r, 9).value for r in range(2, 6)] == EXPECTED_ZH
    # numbers stay number cells as the input had them; nothing else changed
    assert ws.cell(2, 5).value == 65 and ws.cell(2, 5).data_type == "n"
    for r, row in enumerate(HANDBOOK, start=2):
        for j in (1, 2, 3, 4, 5, 6, 7, 8, 12):
            assert ws.cell(r, j).value == row[j - 1], (r, j)
    assert ws.cell(2, 10).value == "近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次"
    assert ws.cell(3, 10).value.startswith("近12个月交易额28.0万元 ∈ [20万元, 50万元)")  # C002 by amount
    assert ws.cell(5, 10).value.startswith("近12个月交易额3.0万元 < 5万元")
    assert ws.cell(2, 11).value.startswith(CORE_ACTIONS_ZH)
    assert ws.cell(1, 1).font.bold and ws.column_dimensions["B"].width == 23  # the template's look is kept
    assert ws.title == "客户关系划分"
    assert result.tiers["tier"].tolist() == ["core", "potential", "ordinary", "low_value"]
    assert result.tiers["row"].tolist() == [2, 3, 4, 5]
    assert result.missing_columns == ["new_need_inquiry_6m", "renewal_intent"]


def test_gbk_csv_is_written_back_in_gbk(tmp_path):
    src = tmp_path / "客户.csv"
    src.write_bytes(_csv_text(HEADERS_ZH, HANDBOOK, newline="\n").encode("gbk"))
    out = tmp_path / "out.csv"
    result = _quiet(src, out=out)
    assert result.encoding == "gb18030"
    data = out.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf") and b"\r\n" not in data
    rows = _read_csv(out, "gbk")  # plain GBK decodes every byte
    assert rows[0] == HEADERS_ZH
    assert [r[8] for r in rows[1:]] == EXPECTED_ZH
    assert [r[:8] + r[11:] for r in rows[1:]] == [[str(v) for v in row[:8]] + [row[11] or ""] for row in HANDBOOK]


def test_utf8_bom_crlf_csv_keeps_bom_and_crlf(tmp_path):
    src = ROOT / "data" / "handbook" / "客户关系划分模板.csv"
    assert src.read_bytes().startswith(b"\xef\xbb\xbf") and b"\r\n" in src.read_bytes()
    out = tmp_path / "out.csv"
    _quiet(src, out=out)
    data = out.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    assert data.count(b"\r\n") == 5 and data.count(b"\n") == 5
    rows = _read_csv(out, "utf-8-sig")
    assert rows[0] == HEADERS_ZH and [r[8] for r in rows[1:]] == EXPECTED_ZH
    assert rows[2][11] == "咨询过新产品"


def test_amounts_in_yuan_give_the_same_tiers(tmp_path):
    headers = [*HEADERS_ZH[:4], "近12个月交易金额（元）", *HEADERS_ZH[5:]]
    rows = [[*row[:4], row[4] * 10_000, *row[5:]] for row in HANDBOOK]
    src = tmp_path / "yuan.csv"
    src.write_text(_csv_text(headers, rows), encoding="utf-8")
    out = tmp_path / "out.csv"
    result = _quiet(src, out=out)
    assert result.table["客户关系划分"].tolist() == EXPECTED_ZH
    assert result.encoding == "utf-8" and not out.read_bytes().startswith(b"\xef\xbb\xbf")
    assert [r[4] for r in _read_csv(out, "utf-8")[1:]] == ["650000", "280000", "120000", "30000"]


def test_english_headers_give_english_output_and_added_columns(tmp_path):
    rows = [row[:8] + row[11:] for row in HANDBOOK]  # no output columns at all
    src = _write_xlsx(tmp_path / "tiers.xlsx", [*HEADERS_EN[:8], "Notes"], rows)
    result = _quiet(src, out=tmp_path / "out.xlsx")
    assert result.header_lang == "en" and result.lang == "en"
    ws = load_workbook(tmp_path / "out.xlsx").active
    assert [c.value for c in ws[1]] == [*HEADERS_EN[:8], "Notes", "Tier", "Basis", "Recommended actions"]
    assert [ws.cell(r, 10).value for r in range(2, 6)] == EXPECTED_EN
    assert ws.cell(2, 11).value == "12-month revenue CNY 650,000 ≥ CNY 500,000 and 6-month interactions 12 ≥ 10"
    assert ws.cell(1, 10).font.bold  # added headers look like the others
    # the texts can be in the other language; headers stay as the input wrote them
    zh = _quiet(src, lang="zh")
    assert zh.table["Tier"].tolist() == EXPECTED_ZH and list(zh.table.columns)[-1] == "Recommended actions"


def test_header_spellings_full_width_and_spaces(tmp_path):
    headers = [" 客户编号 ", "近12个月交易金额 （万元）", "近6个月互动频次（次）", "备注"]
    src = tmp_path / "t.csv"
    src.write_text(_csv_text(headers, [["C001", "65", "12", ""], ["C004", "3", "0", ""]]), encoding="utf-8-sig")
    result = _quiet(src)
    assert result.table["客户关系划分"].tolist() == ["核心客户", "低价值客户"]
    assert list(result.table.columns[:4]) == headers


# --- 54 customers, edges exactly at 5 / 20 / 50 万 ---------------------------------------------


def _handbook_rule(amount_yuan: float, interactions: int) -> str:
    """business-rules.md section 2 with no inquiry and no renewal information, written out."""
    if amount_yuan >= 500_000 and interactions >= 10:
        return "core"
    if 200_000 <= amount_yuan < 500_000:
        return "potential"
    if 50_000 <= amount_yuan < 200_000 and 3 <= interactions <= 9:
        return "ordinary"
    if amount_yuan < 50_000 or (amount_yuan < 200_000 and interactions == 0):
        return "low_value"
    return "potential" if amount_yuan >= 500_000 else "ordinary"  # borderline: provisional, reviewed


def test_54_row_table_matches_the_handbook_rules(tmp_path):
    rng = np.random.default_rng(20260930)
    edges = [(5, 3), (5, 2), (20, 0), (20, 12), (50, 10), (50, 9), (4.99, 5), (19.99, 5), (49.99, 15)]
    random = [(round(float(rng.lognormal(2.3, 1.2)), 2), int(rng.integers(0, 16))) for _ in range(54 - len(edges))]
    pairs = edges + random
    rows = [[f"K{i:04d}", f"*公司{i}", "制造业", "*经理", amount, n, int(rng.integers(1, 60)), "产品采购型", None, None, None,
             f"第{i}行"] for i, (amount, n) in enumerate(pairs, start=1)]
    src = _write_xlsx(tmp_path / "54.xlsx", HEADERS_ZH, rows)
    result = _quiet(src, out=tmp_path / "out.xlsx")
    expected = [_handbook_rule(round(a * 10_000, 2), n) for a, n in pairs]
    assert result.tiers["tier"].tolist() == expected
    assert result.n_bad == 0 and len(result.table) == 54
    assert result.tiers.index.tolist() == [r[0] for r in rows]  # ids with leading zeros, in order
    ws = load_workbook(tmp_path / "out.xlsx").active
    labels = {"core": "核心客户", "potential": "潜力客户", "ordinary": "普通客户", "low_value": "低价值客户"}
    assert [ws.cell(r, 9).value for r in range(2, 56)] == [labels[k] for k in expected]
    assert [ws.cell(r, 12).value for r in range(2, 56)] == [f"第{i}行" for i in range(1, 55)]
    # exactly at a threshold: the tier follows ">=", and the row is flagged for review in its basis
    at_50 = ws.cell(6, 10).value
    assert ws.cell(6, 9).value == "核心客户" and "50.0万元 ≥ 50万元" in at_50 and "需复核" in at_50
    # 5万 with 3 interactions is ordinary; with 2 no rule matches: provisionally ordinary, to review
    assert ws.cell(2, 9).value == "普通客户" and ws.cell(3, 9).value == "普通客户" and "需复核" in ws.cell(3, 10).value
    assert ws.cell(8, 9).value == "低价值客户"  # 4.99万
    assert result.counts().sum() == 54


# --- hostile and bad cells ---------------------------------------------------------------------

HOSTILE = ['=HYPERLINK("http://evil.example","click")', "<script>alert(1)</script>", "+cmd|' /C calc'!A0",
           "@SUM(1+1)", "-2+3", "=1+1"]


def test_hostile_cells_are_neutralised_in_csv(tmp_path):
    rows = [[f"C{i}", text, "", "", 30, 5, 1, "", "", "", "", text] for i, text in enumerate(HOSTILE)]
    rows.append(["=C9", "ok", "", "", 3, "-3", 1, "", "=SUM(A1)", "", "", ""])  # bad row with hostile id
    src = tmp_path / "h.csv"
    src.write_text(_csv_text(HEADERS_ZH, rows), encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    result = _quiet(src, out=out)
    written = _read_csv(out, "utf-8-sig")
    for row_in, row_out in zip(rows, written[1:]):
        assert row_out[1] == _expected_cell(str(row_in[1])) and row_out[11] == _expected_cell(str(row_in[11]))
    assert written[1][1] == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert written[2][1] == "<script>alert(1)</script>"  # not a formula; CSV is not HTML
    last = written[-1]
    assert last[0] == "'=C9" and last[5] == "-3" and last[8] == ""  # the old tier is replaced by "not tiered"
    assert last[9].startswith("'") is False and "近6个月互动频次(次)「-3」不能为负数" in last[9]
    assert result.problems[["row", "column", "value"]].values.tolist() == [[8, "近6个月互动频次(次)", "-3"]]
    for row in written:
        for value in row:
            assert not value.startswith(DANGEROUS) or _expected_cell(value) == value


def test_hostile_cells_and_formulas_are_inert_in_xlsx(tmp_path):
    rows = [[f"C{i}", text, "", "", 30, 5, 1, "", None, None, None, text] for i, text in enumerate(HOSTILE)]
    src = _write_xlsx(tmp_path / "h.xlsx", HEADERS_ZH, rows)  # openpyxl stores "=..." as formulas
    assert load_workbook(src).active.cell(2, 2).data_type == "f"
    result = _quiet(src, out=tmp_path / "out.xlsx")
    ws = load_workbook(tmp_path / "out.xlsx").active
    assert all(cell.data_type != "f" for row in ws.iter_rows() for cell in row)
    assert ws.cell(2, 2).value == "'=HYPERLINK(\"http://evil.example\",\"click\")"
    assert ws.cell(3, 2).value == "<script>alert(1)</script>" and ws.cell(5, 12).value == "'@SUM(1+1)"
    assert result.table.iloc[0, 1] == '=HYPERLINK("http://evil.example","click")'  # as written, in memory
    assert set(result.table["客户关系划分"]) == {"潜力客户"}
    # CSV out of an XLSX in: the formula text, inert
    result.write(tmp_path / "out.csv")
    assert _read_csv(tmp_path / "out.csv", "utf-8-sig")[1][1] == "'=HYPERLINK(\"http://evil.example\",\"click\")"


def test_bad_rows_are_kept_in_place_with_the_reason(tmp_path):
    rows = [
        ["C001", "a", "", "", "65", "12", "", "", "", "", "", "keep"],
        ["C002", "b", "", "", "abc", "5", "", "", "", "", "", ""],
        ["", "c", "", "", "12", "3", "", "", "", "", "", ""],
        ["C004", "d", "", "", "3", "-1", "", "", "", "", "", ""],
        ["C001", "e", "", "", "28", "5", "", "", "", "", "", ""],
        ["0012", "f", "", "", "28", "2.5", "", "", "", "", "", ""],
        ["C007", "g", "", "", "12", "3", "", "", "", "", "", ""],
        ["C008", "h", "", "", "1,200", "20", "", "", "", "", "", ""],
        ["C009", "i", "", "", "", "20", "", "", "", "", "", ""],
        ["C010", "j", "", "", "3", "0", "", "", "", "", "", ""],
        ["C011", "k", "", "", "30", "1", "", "", "", "", "", ""],
        ["C012", "l", "", "", "6", "4", "", "", "", "", "", ""],
        ["C013", "m", "", "", "7", "4", "", "", "", "", "", ""],
    ]
    src = tmp_path / "bad.csv"
    src.write_text(_csv_text(HEADERS_ZH, rows), encoding="utf-8-sig")
    out = tmp_path / "out.csv"
    result = _quiet(src, out=out)
    written = _read_csv(out, "utf-8-sig")[1:]
    assert [r[0] for r in written] == [r[0] for r in rows]  # every row, same order
    assert [r[8] for r in written] == ["核心客户", "", "", "", "", "", "普通客户", "核心客户", "", "低价值客户",
                                       "潜力客户", "普通客户", "普通客户"]
    problems = result.problems
    assert problems.columns.tolist() == ["file", "row", "column", "value", "rule"]
    assert problems[["row", "column", "value", "rule"]].values.tolist() == [
        [3, "近12个月交易金额(万元)", "abc", "不是数字"],
        [4, "客户编号", "", "为空"],
        [5, "近6个月互动频次(次)", "-1", "不能为负数"],
        [6, "客户编号", "C001", "客户编号重复（首次出现在第2行）"],
        [7, "近6个月互动频次(次)", "2.5", "不是整数"],
        [10, "近12个月交易金额(万元)", "", "为空"],
    ]
    assert set(problems["file"]) == {"bad.csv"}
    assert written[1][9] == "未划分：近12个月交易金额(万元)「abc」不是数字"
    assert written[0][11] == "keep" and written[5][0] == "0012"
    assert result.n_bad == 6
    summary = result.summary()
    assert "bad.csv, row 3, 近12个月交易金额(万元), 'abc': 不是数字" in summary and "6 not tiered" in summary


def test_csv_line_with_wrong_field_count_is_kept(tmp_path):
    text = _csv_text(HEADERS_ZH[:6], [["C001", "a", "", "", "65", "12"], ["C002", "b", "", "", "3", "0"]])
    text += "C003,c,,,12,3,extra,more\r\nC004,d,,,12,3\r\nC005,e,,\r\n"
    src = tmp_path / "m.csv"
    src.write_text(text, encoding="utf-8")
    out = tmp_path / "out.csv"
    result = _quiet(src, out=out)
    written = _read_csv(out, "utf-8")
    assert [r[0] for r in written[1:]] == ["C001", "C002", "C003", "C004", "C005"]
    assert [r[6] for r in written[1:]] == ["核心客户", "低价值客户", "", "普通客户", ""]
    assert written[3][5] == "3,extra,more"  # the surplus fields are kept in the last cell
    assert result.problems.loc[0, "row"] == 4 and "8个字段，表头有6个" in result.problems.loc[0, "rule"]
    # a short line reads as empty trailing cells: its empty amount is the problem
    assert result.problems.iloc[-2:][["row", "rule"]].values.tolist() == [[6, "为空"], [6, "为空"]]


def test_mostly_bad_rows_stop_with_a_clear_error(tmp_path):
    src = tmp_path / "wrong.csv"
    src.write_text(_csv_text(HEADERS_ZH[:6], [["C1", "", "", "", "x", "1"], ["C2", "", "", "", "y", "1"],
                                               ["C3", "", "", "", "3", "1"]]), encoding="utf-8")
    with pytest.raises(SchemaError, match=r"(?s)wrong.csv: 2 of 3 rows cannot be tiered.*row 2, column 近12个月交易金额\(万元\), value 'x'"):
        _quiet(src)


def test_amount_without_unit_is_an_error_unless_told(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text(_csv_text(["客户编号", "近12个月交易金额", "近6个月互动频次"], [["C1", "65", "12"]]), encoding="utf-8")
    with pytest.raises(SchemaError, match="does not say its unit"):
        _quiet(src)
    assert _quiet(src, amount_unit="wan").table["客户关系划分"].tolist() == ["核心客户"]
    assert _quiet(src, amount_unit="yuan").table["客户关系划分"].tolist() == ["低价值客户"]


def test_missing_needed_column_names_it(tmp_path):
    src = tmp_path / "t.csv"
    src.write_text(_csv_text(["客户编号", "近12个月交易金额(万元)"], [["C1", "65"]]), encoding="utf-8")
    with pytest.raises(SchemaError, match="no column for interactions_6m.*近6个月互动频次"):
        _quiet(src)


def test_optional_rule_columns_are_used_and_no_warning(tmp_path):
    headers = ["客户编号", "近12个月交易金额(万元)", "近6个月互动频次(次)", "近6个月新需求咨询(次)", "续约意向", "备注"]
    rows = [["N1", "3", "1", "1", "", ""],      # small amount, but asked about new needs -> potential
            ["N2", "10", "0", "0", "是", ""],     # no interaction but renews: not low value (review)
            ["N3", "10", "0", "0", "否", ""],     # no interaction, no renewal -> low value
            ["N4", "10", "5", "", "", ""],        # unknown inquiry: by amount and interactions
            ["N5", "10", "5", "0", "也许", ""]]   # not a yes/no value -> not tiered
    src = tmp_path / "t.csv"
    src.write_text(_csv_text(headers, rows), encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("error", MissingColumnsWarning)
        result = tiers_from_table(src)
    assert result.table["客户关系划分"].tolist() == ["潜力客户", "普通客户", "低价值客户", "普通客户", ""]
    assert "需复核" in result.table.loc[1, "划分依据摘要"]
    assert result.problems[["row", "column", "value"]].values.tolist() == [[6, "续约意向", "也许"]]
    assert result.missing_columns == []


def test_dataframe_in_dataframe_out_keeps_values_and_types():
    frame = pd.DataFrame([row for row in HANDBOOK], columns=HEADERS_ZH)
    result = _quiet(frame)
    assert result.table["客户关系划分"].tolist() == EXPECTED_ZH
    pd.testing.assert_frame_equal(result.table.drop(columns=HEADERS_ZH[8:11]), frame.drop(columns=HEADERS_ZH[8:11]))
    assert result.table.loc[0, "近12个月交易金额(万元)"] == 65
    assert segkit.tiers_from_table is tiers_from_table


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.tuples(
            st.from_regex(r"[A-Z0-9]{1,4}", fullmatch=True),
            st.one_of(st.integers(0, 120).map(str), st.floats(0, 120, allow_nan=False).map(lambda x: f"{x:.2f}"),
                      st.sampled_from(["", "abc", "-5", "=1+1"])),
            st.one_of(st.integers(-2, 20).map(str), st.sampled_from(["", "x"])),
            st.text(st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff") | st.sampled_from(["\n", "=", "+", "-", "@", ","]), max_size=12),
        ),
        min_size=1, max_size=15,
    )
)
@example(records=[("A", "1", "1", "-INFINITY")])  # float() reads it; a spreadsheet runs it as a formula
def test_property_every_input_value_and_row_order_is_kept(tmp_path, records):
    headers = ["客户编号", "近12个月交易金额(万元)", "近6个月互动频次(次)", "备注"]
    src = tmp_path / "p.csv"
    src.write_text(_csv_text(headers, [list(r) for r in records]), encoding="utf-8-sig")
    out = tmp_path / "p_out.csv"
    result = _quiet(src, out=out, max_bad_share=1.0)
    written = _read_csv(out, "utf-8-sig")
    assert written[0] == [*headers, "客户关系划分", "划分依据摘要", "后续策略建议"]
    assert len(written) == len(records) + 1
    for record, row in zip(records, written[1:]):
        assert row[:4] == [_expected_cell(v) for v in record]
    tiered = [row[4] != "" for row in written[1:]]
    assert sum(tiered) == len(result.tiers) == len(records) - result.n_bad


# --- command line ----------------------------------------------------------------------------


def test_cli_tiers_table(tmp_path, capsys):
    src = ROOT / "data" / "handbook" / "客户关系划分模板.csv"
    out = tmp_path / "划分结果.xlsx"
    assert main(["tiers", "--table", str(src), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("warning: 客户关系划分模板.csv: no column for 近6个月新需求咨询")
    assert "tiered 4 (核心客户 1, 潜力客户 1, 普通客户 1, 低价值客户 1)" in printed and f"written to {out}" in printed
    assert [load_workbook(out).active.cell(r, 9).value for r in range(2, 6)] == EXPECTED_ZH


def test_cli_tiers_table_reports_bad_rows_and_needs_table_or_date(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_text(_csv_text(HEADERS_ZH[:6], [["C1", "", "", "", "65", "12"], ["C2", "", "", "", "x", "1"],
                                               ["C3", "", "", "", "3", "0"]]), encoding="gbk")
    assert main(["tiers", "--table", str(src), "--out", str(tmp_path / "o.csv"), "--lang", "en"]) == 0
    printed = capsys.readouterr().out
    assert "t.csv, row 3, 近12个月交易金额(万元), 'x': is not a number" in printed
    assert _read_csv(tmp_path / "o.csv", "gbk")[1][6] == "Core"
    assert main(["tiers", "--out", str(tmp_path / "x.csv")]) == 2
    assert "--table FILE" in capsys.readouterr().err

"""Contracts (the optional table), renewal histories and the sBG per tier (issue 14).

Hand-made contracts written as Excel writes a Chinese export (UTF-8 with BOM, CRLF, zh
headers, amounts in 万元) -> exact renewal counts, by both engines; bad contract rows go to the
ledger with their reason; the sBG per tier on the Fader & Hardie (2007) cohorts reproduces the
published parameters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln

from segkit.config import ConfigError
from segkit.insights.renewals import (
    load_renewals_config,
    period_discount,
    renewal_by_tier,
    renewal_history,
    renewal_table,
)
from segkit.io import load_dataset
from segkit.models import ShiftedBetaGeo, cohort_renewals

AS_OF = "2026-09-30"
# Fader & Hardie (2007), "How to Project Customer Retention", Journal of Interactive
# Marketing 21(1), 76-90: still active after years 0..7 of two cohorts of 1,000; published MLE
# regular alpha = 0.704, beta = 1.182; high end alpha = 0.668, beta = 3.806.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]

CONTRACT_HEADER = ["合同编号", "客户编号", "合同开始日期", "合同结束日期", "合同金额（万元）"]
GOOD = [
    # C001: four annual contracts -> three renewals, active
    ["HT001", "C001", "2023-01-01", "2023-12-31", "12"],
    ["HT002", "C001", "2024-01-01", "2024-12-31", "12"],
    ["HT003", "C001", "2025-01-01", "2025-12-31", "12.5"],
    ["HT004", "C001", "2026-01-01", "2026-12-31", "13"],
    # C002: two years, then nothing since 2025-02-28 (579 days) -> churned after 2 periods
    ["HT005", "C002", "2023-03-01", "2024-02-29", "5"],
    ["HT006", "C002", "2024-03-01", "2025-02-28", "5"],
    # C003: renewed 47 days late (within the 90-day grace); ended 61 days ago -> pending
    ["HT007", "C003", "2024-06-15", "2025-06-14", "3"],
    ["HT008", "C003", "2025-08-01", "2026-07-31", "3"],
    # C004: left after 2022, back in 2025-10 (a gap of 1,004 days): two relationships
    ["HT009", "C004", "2022-01-01", "2022-12-31", "2"],
    ["HT010", "C004", "2025-10-01", "2026-09-30", "2"],
    # C005: one three-year contract, ended 2025-06-30 -> churned after 3 periods
    ["HT011", "C005", "2022-07-01", "2025-06-30", "30"],
    # C006: an add-on contract inside the first year, then two renewals
    ["HT012", "C006", "2024-04-01", "2025-03-31", "8"],
    ["HT013", "C006", "2024-10-01", "2025-03-31", "1"],
    ["HT014", "C006", "2025-04-01", "2026-03-31", "8"],
    ["HT015", "C006", "2026-04-01", "2027-03-31", "8"],
]
BAD = [
    ["HT016", "C001", "2025-05-01", "2025-04-01", "1"],     # ends before it starts
    ["HT017", "C999", "2025-01-01", "2025-12-31", "1"],     # unknown customer
    ["HT018", "C002", "2025-02-30", "2026-02-27", "1"],     # no such day
    ["HT001", "C006", "2026-05-01", "2026-06-30", "1"],     # duplicate contract id
    ["HT019", "C001", "2027-01-01", "2027-12-31", "13"],    # starts after the as-of date
]


def _excel_csv(path, header, rows):
    """CSV as Chinese Excel saves it: UTF-8 with BOM, CRLF line ends."""
    text = "\r\n".join(",".join(r) for r in [header, *rows]) + "\r\n"
    path.write_bytes(text.encode("utf-8-sig"))


@pytest.fixture
def folder(tmp_path):
    ids = [f"C00{i}" for i in range(1, 7)]
    _excel_csv(tmp_path / "客户.csv", ["客户编号", "客户名称"], [[c, f"公司{c}"] for c in ids])
    _excel_csv(tmp_path / "订单.csv", ["客户编号", "交易日期", "交易金额"], [[c, "2026-03-01", "1000"] for c in ids])
    _excel_csv(tmp_path / "合同.csv", CONTRACT_HEADER, GOOD + BAD)
    (tmp_path / "dataset.yaml").write_text(f"as_of: {AS_OF}\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize("engine", ["pandas", "duckdb"])
def test_contracts_load_with_zh_headers_and_bad_rows_in_the_ledger(folder, engine):
    ds = load_dataset(folder, engine=engine, max_rejected_share=None)
    assert ds.has("contracts")
    contracts = ds.contracts
    assert contracts["contract_id"].tolist() == [r[0] for r in GOOD]
    assert pd.api.types.is_datetime64_any_dtype(contracts["contract_end"])
    assert contracts["amount"].tolist()[:3] == [120_000.0, 120_000.0, 125_000.0]  # 万元 -> yuan
    rejected = ds.rejected.loc[ds.rejected["table"] == "contracts"].set_index("row")
    # row numbers as a person sees them in Excel (header = row 1)
    first_bad = len(GOOD) + 2
    reasons = {row: (rejected.loc[row, "column"], rejected.loc[row, "reason"]) for row in rejected.index}
    assert reasons[first_bad][0] == "contract_end"
    assert reasons[first_bad][1].startswith("contract_end before contract_start (合同结束日期 早于 合同开始日期)")
    assert reasons[first_bad + 1] == ("customer_id", "unknown customer_id (not in the customers table)")
    assert reasons[first_bad + 2][0] == "contract_start" and reasons[first_bad + 2][1].startswith("unparseable date")
    assert reasons[first_bad + 3] == ("contract_id", "duplicate contract_id (first on 合同.csv row 2)")
    assert reasons[first_bad + 4] == ("contract_start", "date after the data's as-of date 2026-09-30")
    files = ds.files.set_index("table")
    assert files.loc["contracts", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [20, 15, 5]


@pytest.mark.parametrize("form", ["xlsx", "gbk"])
def test_contracts_from_an_xlsx_with_date_cells_or_a_gbk_csv(folder, form):
    """The same contracts saved by Excel as XLSX (date cells, the amount a number) or by WPS as
    GBK CSV give the same renewal counts."""
    import datetime as dt

    (folder / "合同.csv").unlink()
    if form == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.append(CONTRACT_HEADER)
        for cid, customer, start, end, amount in GOOD:
            ws.append([cid, customer, dt.datetime.fromisoformat(start), dt.datetime.fromisoformat(end), float(amount)])
        wb.save(folder / "合同台账.xlsx")
    else:
        text = "\r\n".join(",".join(r) for r in [CONTRACT_HEADER, *GOOD]) + "\r\n"
        (folder / "续约记录.csv").write_bytes(text.encode("gbk"))
    ds = load_dataset(folder)
    assert ds.files.set_index("table").loc["contracts", "rows_rejected"] == 0
    history = renewal_history(ds.contracts, AS_OF)
    assert history["periods"].tolist() == [3, 2, 1, 1, 0, 3, 2]
    assert history["status"].tolist() == ["active", "churned", "pending", "churned", "active", "churned", "active"]
    assert ds.contracts["amount"].sum() == pytest.approx(sum(float(r[4]) for r in GOOD) * 10_000)


def test_both_engines_read_the_same_contracts(folder):
    a = load_dataset(folder, engine="pandas", max_rejected_share=None)
    b = load_dataset(folder, engine="duckdb", max_rejected_share=None)
    pd.testing.assert_frame_equal(a.contracts, b.contracts)
    cols = ["table", "file", "row", "column", "value", "reason"]
    pd.testing.assert_frame_equal(a.rejected[cols], b.rejected[cols])


def test_a_folder_without_contracts_has_none(folder):
    (folder / "合同.csv").unlink()
    ds = load_dataset(folder, engine="pandas")
    assert not ds.has("contracts") and ds.contracts.empty
    assert list(ds.contracts.columns) == ["contract_id", "customer_id", "contract_start", "contract_end", "amount"]


def test_renewal_counts_of_the_hand_made_contracts(folder):
    ds = load_dataset(folder, engine="pandas", max_rejected_share=None)
    history = renewal_history(ds.contracts, AS_OF)
    got = history.set_index(["customer_id", "relationship"])
    want = {
        # customer, relationship: status, periods, churned, renewals, contracts, days covered
        ("C001", 1): ("active", 3, False, 3, 4, 1369),
        ("C002", 1): ("churned", 2, True, 1, 2, 731),
        ("C003", 1): ("pending", 1, False, 1, 2, 730),
        ("C004", 1): ("churned", 1, True, 0, 1, 365),
        ("C004", 2): ("active", 0, False, 0, 1, 365),
        ("C005", 1): ("churned", 3, True, 2, 1, 1096),
        ("C006", 1): ("active", 2, False, 2, 4, 913),
    }
    assert set(got.index) == set(want)
    for key, (status, periods, churned, renewals, contracts, days) in want.items():
        row = got.loc[key]
        assert (row["status"], row["periods"], row["churned"], row["renewals"], row["contracts"], row["covered_days"]) \
            == (status, periods, churned, renewals, contracts, days), key
    # the tier of a leaver is read one period before she left; of a current customer, now
    assert got.loc[("C002", 1), "tier_date"] == pd.Timestamp("2024-02-28")
    assert got.loc[("C001", 1), "tier_date"] == pd.Timestamp(AS_OF)
    # the counts the sBG takes: (periods, churned) -> customers
    table = renewal_table(history)
    assert table.to_dict("list") == {"periods": [0, 1, 1, 2, 2, 3, 3], "churned": [False, True, False, True, False, True, False],
                                     "n_customers": [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0]}


def test_anniversaries_and_the_grace_window():
    one = pd.DataFrame({"customer_id": ["A"], "contract_start": pd.to_datetime(["2025-01-01"]),
                        "contract_end": pd.to_datetime(["2025-12-31"])})
    two = pd.concat([one, one.assign(contract_start=pd.Timestamp("2026-01-01"), contract_end=pd.Timestamp("2026-12-31"))])
    # on the contract's last day the renewal has not happened; on the first day of the next it has
    assert renewal_history(two, "2025-12-31")["periods"].tolist() == [0]
    assert renewal_history(two, "2026-01-01")["periods"].tolist() == [1]
    # a contract that started after the date is not seen
    assert renewal_history(two, "2025-06-30")["contracts"].tolist() == [1]
    # the last day of the grace window: pending; the day after: churned after one period
    assert renewal_history(one, "2026-03-31")[["status", "periods", "churned"]].values.tolist() == [["pending", 0, False]]
    assert renewal_history(one, "2026-04-01")[["status", "periods", "churned"]].values.tolist() == [["churned", 1, True]]
    assert renewal_history(one, "2026-04-01", grace_days=120)["status"].tolist() == ["pending"]
    # half-year contracts: four anniversaries in two years
    halves = pd.DataFrame({"customer_id": ["B"] * 5,
                           "contract_start": pd.to_datetime(["2024-01-01", "2024-07-01", "2025-01-01", "2025-07-01", "2026-01-01"]),
                           "contract_end": pd.to_datetime(["2024-06-30", "2024-12-31", "2025-06-30", "2025-12-31", "2026-06-30"])})
    assert renewal_history(halves, "2026-01-01", period="6M")["periods"].tolist() == [4]
    assert renewal_history(halves, "2026-01-01", period="1Y")["periods"].tolist() == [2]


def test_bad_contract_tables_raise_naming_row_column_and_value():
    frame = pd.DataFrame({"customer_id": ["A", "B"], "contract_start": ["2025-01-01", "2025-06-01"],
                          "contract_end": ["2025-12-31", "2025-05-01"]})
    with pytest.raises(ValueError, match=r"contracts row 1, column contract_end: 2025-05-01 is before contract_start "
                                         r"2025-06-01"):
        renewal_history(frame, AS_OF)
    with pytest.raises(ValueError, match=r"contracts row 0, column contract_start: 'soon' is not a date"):
        renewal_history(frame.assign(contract_start=["soon", "2025-01-01"]), AS_OF)
    with pytest.raises(KeyError, match="lacks column"):
        renewal_history(frame.drop(columns="contract_end"), AS_OF)
    with pytest.raises(ConfigError, match="renewals.period"):
        load_renewals_config({"renewals": {"period": "2W"}})


def _cohort(active, tier):
    rows = cohort_renewals(active)
    rows = rows.loc[rows.index.repeat(rows["n_customers"].astype(int))]
    return rows[["periods", "churned"]].assign(tier=tier)


def test_sbg_per_tier_reproduces_fader_hardie_2007():
    history = pd.concat([_cohort(REGULAR, "regular"), _cohort(HIGH_END, "high_end")], ignore_index=True)
    history["customer_id"] = [f"K{i}" for i in range(len(history))]
    result = renewal_by_tier(history, order=["high_end", "regular"])
    s = result.summary
    assert (round(s.loc["regular", "alpha"], 3), round(s.loc["regular", "beta"], 3)) == (0.704, 1.182)
    assert (round(s.loc["high_end", "alpha"], 3), round(s.loc["high_end", "beta"], 3)) == (0.668, 3.806)
    assert list(s.index) == ["high_end", "regular", "total"] and set(s["basis"]) == {"tier"}
    assert s.loc["regular", "customers"] == 1000 and s.loc["regular", "current"] == 241
    # observed: 2,744 renewals of 3,503 decisions in the regular cohort (sum of active after years 1-7
    # over those facing each year)
    assert s.loc["regular", "renewals"] == sum(REGULAR[1:]) and s.loc["regular", "decisions"] == sum(REGULAR[:-1])
    # the 241 still active have renewed 7 times: the next renewal is r(8) = (b+7)/(a+b+7), 0.921 in the paper
    sbg = result.models["regular"]
    a, b = sbg.params_["alpha"], sbg.params_["beta"]
    assert s.loc["regular", "next_renewal"] == pytest.approx((b + 7) / (a + b + 7), rel=1e-12)
    assert round(s.loc["regular", "next_renewal"], 3) == 0.921
    # DERL at 10 % a year, for a customer with 7 renewals, summed term by term
    j = np.arange(1, 20_000)
    derl = np.sum(np.exp(betaln(a, b + 7 + j) - betaln(a, b + 7) - (j - 1) * np.log(1.1)))
    assert s.loc["regular", "remaining_years"] == pytest.approx(derl, rel=1e-9)
    # the curve: the current customers' share left after k more periods, S(7+k)/S(7)
    k = np.arange(6)
    want = np.exp(betaln(a, b + 7 + k) - betaln(a, b + 7))
    np.testing.assert_allclose(result.curve["regular"], want, rtol=1e-12)
    np.testing.assert_allclose(result.by_renewals["high_end"].iloc[:2], [0.851, 0.878], atol=5e-4)


def test_a_small_tier_uses_the_overall_model():
    history = pd.concat([_cohort(REGULAR, "regular"), _cohort([20, 15, 12, 11], "tiny"),
                         _cohort([40, 40, 40], "loyal")], ignore_index=True)
    history["customer_id"] = [f"K{i}" for i in range(len(history))]
    result = renewal_by_tier(history, order=["regular", "tiny", "loyal"])
    s = result.summary
    assert s.loc["tiny", "basis"] == "overall" and s.loc["tiny", "basis_reason"] == "few"
    assert s.loc["loyal", "basis"] == "overall" and s.loc["loyal", "basis_reason"] == "no_churn"
    total = ShiftedBetaGeo().fit_table(renewal_table(history), sample_weight="n_customers")
    assert s.loc["tiny", "alpha"] == pytest.approx(total.params_["alpha"], rel=1e-9)
    assert s.loc["loyal", "observed_rate"] == 1.0
    # its own customers' tenure still counts: the loyal 40 have renewed twice
    assert s.loc["loyal", "next_renewal"] == pytest.approx(float(total.renewal_probability(2)), rel=1e-12)
    with pytest.raises(ValueError, match="no customer has left yet"):
        renewal_by_tier(_cohort([40, 40, 40], "loyal").assign(customer_id="x"))


def test_period_discount_comes_from_the_clv_rate():
    assert period_discount("12M") == pytest.approx(0.10)
    assert period_discount("6M", {"clv": {"annual_discount_rate": 0.21}}) == pytest.approx(0.10)


# --------------------------------------------------------------------------------------------
# the quarterly report's section


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    """Another seed and size of `segkit sample` (its contracts included), and a copy without
    the contracts file."""
    import shutil

    from segkit.sample import generate_sample

    root = tmp_path_factory.mktemp("renewals_sample")
    generate_sample(root / "with", seed=7, n_customers=400)
    shutil.copytree(root / "with", root / "without")
    (root / "without" / "contracts.csv").unlink()
    return root


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_renewals_section_shows_segkits_numbers(small_sample, lang):
    from segkit.reporting import quarterly, report_context
    from segkit.reporting.blocks import fmt_int, fmt_pct

    ctx = report_context("2026Q3", small_sample / "with", lang=lang)
    block = quarterly.renewals_view(ctx)
    html = block._repr_html_()
    w = ctx.words
    assert html.count("data:image/png;base64,") == 1
    # the numbers are those of renewal_by_tier on the history at the quarter end
    history = renewal_history(ctx.dataset_full.contracts, "2026-09-30")
    total = ctx.renewals.summary.loc["total"]
    assert total["customers"] == history["customer_id"].nunique()
    assert total["decisions"] == history["decisions"].sum() and total["renewals"] == history["renewals"].sum()
    assert f"{fmt_int(total['customers'])}" in html and fmt_pct(total["observed_rate"]) in html
    assert f">{w['total_row']}</td>" in html
    assert fmt_pct(total["next_renewal"]) in html and f"{total['remaining_years']:.1f}" in html
    for key in ctx.renewals.summary.index.drop("total"):
        row = ctx.renewals.summary.loc[key]
        assert fmt_pct(row["next_renewal"]) in html, key
    other = "zh" if lang == "en" else "en"
    from segkit.reporting.context import words

    from segkit.reporting.blocks import esc

    assert esc(words(other)["renewals_tier_note"]) not in html and esc(w["renewals_tier_note"]) in html


def test_no_contracts_no_section(small_sample):
    from segkit.reporting import quarterly, report_context

    ctx = report_context("2026Q3", small_sample / "without", lang="en")
    assert not ctx.has("contracts")
    assert quarterly.renewals_view(ctx) is None


def test_contracts_that_cannot_be_modelled_say_why(tmp_path):
    from segkit.reporting import quarterly, report_context

    ids = [f"C{i:03d}" for i in range(40)]
    _excel_csv(tmp_path / "customers.csv", ["客户编号", "客户名称"], [[c, c] for c in ids])
    _excel_csv(tmp_path / "orders.csv", ["客户编号", "交易日期", "交易金额"],
               [[c, d, "1000"] for c in ids for d in ("2025-03-01", "2025-09-01", "2026-03-01", "2026-08-01")])
    # everybody renewed every year: nobody has left
    _excel_csv(tmp_path / "contracts.csv", CONTRACT_HEADER,
               [[f"H{c}{y}", c, f"{y}-01-01", f"{y}-12-31", "1"] for c in ids for y in (2024, 2025, 2026)])
    (tmp_path / "dataset.yaml").write_text(f"as_of: {AS_OF}\n", encoding="utf-8")
    ctx = report_context("2026Q3", tmp_path, lang="en")
    html = quarterly.renewals_view(ctx)._repr_html_()
    assert "Left out: no customer has left yet." in html and "<table" not in html


@pytest.mark.slow
def test_rendered_report_with_and_without_contracts(small_sample, tmp_path):
    from segkit.reporting import render

    with_contracts = render("quarterly", "2026Q3", data_dir=small_sample / "with", lang="zh", formats=("html",),
                            out=tmp_path / "a", progress=False)
    html = with_contracts.paths["html"].read_text(encoding="utf-8")
    headings = [h for h in __import__("re").findall(r"<h2[^>]*>([^<]+)", html)]
    assert headings.index("合同续约") == headings.index("客户价值（CLV）") + 1
    assert "Traceback" not in html and "renewals_view" not in html
    without = render("quarterly", "2026Q3", data_dir=small_sample / "without", lang="en", formats=("html",),
                     out=tmp_path / "b", progress=False)
    text = without.paths["html"].read_text(encoding="utf-8")
    assert "Contract renewals" not in text and "contract" not in text.lower().replace("contracts file", "")

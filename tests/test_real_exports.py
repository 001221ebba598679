"""Exports as other CRMs and spreadsheets write them: US and European dates, currency signs,
month names; and a run whose input is mostly rejected stops, naming why, and loses nothing."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from segkit.cli import main
from segkit.io import MostlyRejectedError, load_dataset
from segkit.schema import SchemaError

from conftest import CDNOW


def orders_folder(tmp_path, rows, header="Customer ID,Order Date,Amount", yaml=None, newline="\r\n"):
    folder = tmp_path / "export"
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_bytes((newline.join([header, *rows]) + newline).encode("utf-8"))
    if yaml:
        (folder / "dataset.yaml").write_text(yaml, encoding="utf-8")
    return folder


def test_us_export_with_dollar_amounts_and_month_first_dates(tmp_path):
    folder = orders_folder(tmp_path, [
        '00042,01/13/2026,"$1,200.50"',   # 13 cannot be a month: month first
        "00042,2/3/2026,$99.00",
        '7,12/31/2025,"-$15.25"',         # a refund
        "7,3/4/2026,USD 10",
    ], yaml="currency: USD\n")
    ds = load_dataset(folder)
    tx = ds.transactions.sort_values(["customer_id", "order_date"], ignore_index=True)
    assert tx["order_date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-01-13", "2026-02-03", "2025-12-31", "2026-03-04"]
    assert tx["amount"].tolist() == [1200.50, 99.0, -15.25, 10.0]
    assert tx["customer_id"].tolist() == ["00042", "00042", "7", "7"]  # leading zeros kept
    assert ds.files["date_order"].tolist() == ["MDY"]
    assert ds.as_of == pd.Timestamp("2026-03-04") and ds.currency == "USD"
    assert not any("month first" in note for note in ds.notes())


def test_european_export_is_read_day_first(tmp_path):
    folder = orders_folder(tmp_path, ["A,13.02.2026,10", "A,03.04.2026,20", "B,28/02/2026,5"])
    ds = load_dataset(folder)
    assert sorted(ds.transactions["order_date"].dt.strftime("%Y-%m-%d")) == ["2026-02-13", "2026-02-28", "2026-04-03"]
    assert ds.files["date_order"].tolist() == ["DMY"]


def test_ambiguous_year_last_dates_are_rejected_not_guessed_and_said_so(tmp_path):
    rows = ["A,01/02/2026,10", "A,03/04/2026,20", "A,05/05/2026,30"]  # 05/05 reads the same either way
    ds = load_dataset(orders_folder(tmp_path, rows), max_rejected_share=None)
    assert ds.transactions["order_date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-05-05"]
    assert ds.rejected[["row", "value", "reason"]].values.tolist() == [
        [2, "01/02/2026", "ambiguous day/month order (set date_order: MDY or DMY in dataset.yaml)"],
        [3, "03/04/2026", "ambiguous day/month order (set date_order: MDY or DMY in dataset.yaml)"]]
    assert ds.files["date_order"].tolist() == ["ambiguous"]
    assert any("orders.csv" in note and "date_order: MDY or DMY" in note for note in ds.notes())
    month_first = load_dataset(orders_folder(tmp_path / "mdy", rows, yaml="date_order: MDY\n"))
    assert sorted(month_first.transactions["order_date"].dt.strftime("%m-%d")) == ["01-02", "03-04", "05-05"]
    day_first = load_dataset(orders_folder(tmp_path / "dmy", rows, yaml="date_order: dmy\n"))
    assert sorted(day_first.transactions["order_date"].dt.strftime("%m-%d")) == ["02-01", "04-03", "05-05"]
    assert day_first.files["date_order"].tolist() == ["DMY"]
    assert not any("date_order" in note for note in day_first.notes())


def test_a_day_first_date_in_a_month_first_column_is_rejected_not_guessed(tmp_path):
    rows = [f"A,{m:02d}/{d:02d}/2026,10" for m, d in [(1, 13), (2, 14), (3, 15), (4, 16)]] + ["B,25/12/2025,7"]
    ds = load_dataset(orders_folder(tmp_path, rows))
    assert len(ds.transactions) == 4
    [reason] = ds.rejected["reason"].tolist()
    assert ds.rejected["value"].tolist() == ["25/12/2025"]
    assert "year-last dates read as month/day/year" in reason


def test_month_names(tmp_path):
    ds = load_dataset(orders_folder(tmp_path, ['A,"Jan 5, 2026",10', "A,5 February 2026,20", "B,2026-03-01,1"]))
    assert sorted(ds.transactions["order_date"].dt.strftime("%Y-%m-%d")) == ["2026-01-05", "2026-02-05", "2026-03-01"]


def test_unknown_date_order_is_an_error(tmp_path):
    with pytest.raises(SchemaError, match="date_order 'YMD' is not one of auto, MDY, DMY"):
        load_dataset(orders_folder(tmp_path, ["A,2026-01-01,1"], yaml="date_order: YMD\n"))


def mostly_bad(tmp_path):
    return orders_folder(tmp_path, ["A,May 5,10", "B,2026-02-30,12", "C,2026-03-01,5"])


def test_mostly_rejected_input_stops_naming_rule_file_row_column_value(tmp_path):
    with pytest.raises(MostlyRejectedError) as info:
        load_dataset(mostly_bad(tmp_path))
    message = str(info.value)
    assert message.startswith("more than 20% of a table was rejected for one rule")
    assert "transactions: unparseable date: 2 of 3 rows (67%), e.g." in message
    assert "orders.csv row 2, column order_date, value 'May 5'" in message
    # nothing lost: the dataset with its ledger rides on the error
    ds = info.value.dataset
    assert ds.files[["rows_read", "rows_accepted", "rows_rejected"]].values.tolist() == [[3, 1, 2]]
    assert set(ds.rejected["value"]) == {"May 5", "2026-02-30"}  # no year guessed, no impossible day
    # the share is a setting
    assert len(load_dataset(mostly_bad(tmp_path / "again"), max_rejected_share=None).transactions) == 1


def test_validate_writes_the_ledger_then_exits_2(tmp_path, capsys):
    out = tmp_path / "rejected.csv"
    assert main(["validate", str(mostly_bad(tmp_path)), "--rejected", str(out)]) == 2
    err = capsys.readouterr().err
    assert "was rejected for one rule, so segkit stops" in err
    ledger = pd.read_csv(out, dtype=str)
    assert sorted(ledger["value"]) == ["2026-02-30", "May 5"]


def test_report_on_mostly_rejected_input_refuses_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "reports"
    assert main(["report", "quarterly", "--data", str(mostly_bad(tmp_path)), "--out", str(out), "--format", "html"]) == 2
    assert "was rejected for one rule" in capsys.readouterr().err
    assert not out.exists()


def test_cdnow_as_a_us_spreadsheet_export(tmp_path):
    """CDNOW's orders with US-style dates, $ amounts and CRLF, as Excel (US locale) saves them."""
    raw = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", dtype=str)
    dates = pd.to_datetime(raw.iloc[:, 1], format="%Y%m%d")
    rows = [f'{c},{d.month}/{d.day}/{d.year},"${float(a):,.2f}"' for c, d, a in zip(raw.iloc[:, 0], dates, raw.iloc[:, 3])]
    ds = load_dataset(orders_folder(tmp_path, rows, yaml="name: CDNOW\ncurrency: USD\n"))
    assert len(ds.transactions) == 69_659 and len(ds.rejected) == 0
    assert len(ds.customers) == 23_570
    assert ds.transactions["amount"].sum() == pytest.approx(2_500_315.63, abs=0.01)
    assert ds.as_of == pd.Timestamp("1998-06-30")


@pytest.fixture(scope="module")
def one_order_each(tmp_path_factory):
    """40 customers in EUR with one order each over 2026: no repeat purchase anywhere, so no
    purchase model can be fitted and no churn model trained; both reports must still render."""
    import random

    from segkit.reporting.render import render

    folder = tmp_path_factory.mktemp("one-order-each")
    rng = random.Random(3)
    rows = [f"T{i:02d},2026-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d},{rng.randint(100, 9000)}" for i in range(40)]
    (folder / "orders.csv").write_text("customer_id,order_date,amount\n" + "\n".join(rows) + "\n", encoding="utf-8")
    (folder / "dataset.yaml").write_text("currency: EUR\nas_of: 2026-12-31\n", encoding="utf-8")
    out = tmp_path_factory.mktemp("reports")
    pages = {}
    for name in ("quarterly", "churn"):
        result = render(name, "2026Q4", data_dir=folder, out=out, lang="en", formats=["html"])
        pages[name] = result.paths["html"].read_text(encoding="utf-8")
    return pages


@pytest.mark.slow
def test_reports_render_when_no_model_can_be_fitted(one_order_each):
    quarterly, churn = one_order_each["quarterly"], one_order_each["churn"]
    assert "Left out: the orders are not enough to fit the purchase (BG/NBD) and spend (Gamma-Gamma) models" in quarterly
    assert "no customer made a repeat purchase" in quarterly
    assert churn.count("too short for a churn model and not enough to fit the purchase model") == 2
    for page in (quarterly, churn):
        text = re.sub(r"<[^>]+>", " ", re.sub(r"<(style|script)\b.*?</\1>|data:image/[^\"']+", "", page, flags=re.S))
        assert not re.search(r"\b(nan|NaN|None)\b|\(missing\)", text)
        assert "CNY" not in text and "EUR" in quarterly

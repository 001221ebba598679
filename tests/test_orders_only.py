"""Orders-only folders (CDNOW-style exports), the as-of / quarter defaults, and reports that
leave out what the data cannot support instead of printing nan or failing."""

from __future__ import annotations

import ast
import re
import subprocess
from pathlib import Path

import nbformat as nbf
import pandas as pd
import pytest

from conftest import CDNOW, REPO, SAMPLE, write_csv
from segkit.insights.churn import history_needed, training_dates
from segkit.cli import main
from segkit.io import load_dataset
from segkit.periods import latest_complete_quarter, quarter_end
from segkit.reporting import ReportError, render
from segkit.reporting.render import _existing_ancestor, default_quarter

MISSING = re.compile(r"\bnan\b|\bNaN\b|\bNone\b|\(missing\)|\bNaT\b|<NA>")


def cdnow_folder(folder: Path, source: str = "CDNOW_master.txt") -> Path:
    """CDNOW written as an orders-only export: orders.csv (id, date YYYYMMDD, amount) and a
    dataset.yaml with the currency and no as_of."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for line in (CDNOW / source).read_text().splitlines():
        fields = line.split()
        if not fields or not fields[0].isdigit():
            continue  # the master file's header line
        # master: id, date, cds, dollars; sample: id, id in the full set, date, cds, dollars
        customer, date, amount = (fields[0], fields[1], fields[3]) if len(fields) == 4 else (fields[0], fields[2], fields[4])
        rows.append([customer, date, amount])
    write_csv(folder / "orders.csv", ["customer_id", "order_date", "amount"], rows)
    (folder / "dataset.yaml").write_text("name: CDNOW\ncurrency: USD\n", encoding="utf-8")
    return folder


def _text(html: str) -> str:
    html = re.sub(r"<style.*?</style>", "", re.sub(r'src="data:[^"]+"', "", html), flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# ------------------------------------------------------------------------------------------------
# reading an orders-only folder


@pytest.fixture(scope="module")
def cdnow_master(tmp_path_factory):
    folder = cdnow_folder(tmp_path_factory.mktemp("cdnow"))
    return folder, load_dataset(folder)


def test_cdnow_master_loads_without_a_customers_file(cdnow_master):
    folder, ds = cdnow_master
    ids = {line.split()[0] for line in (CDNOW / "CDNOW_master.txt").read_text().splitlines()[1:] if line.strip()}
    assert len(ids) == 23_570
    assert len(ds.customers) == 23_570 and set(ds.customers["customer_id"]) == ids
    assert (ds.customers["name"] == ds.customers["customer_id"]).all()          # named by its id
    assert ds.customers["industry"].isna().all() and ds.customers["record_updated"].isna().all()
    assert len(ds.transactions) == 69_659 and ds.rejected.empty
    assert ds.present == frozenset({"transactions"}) and not ds.has("customers") and ds.customers_derived
    assert ds.has("transactions") and not ds.has("interactions") and not ds.has("surveys")
    files = ds.reconcile()
    assert files["table"].tolist() == ["transactions"]                         # no phantom customers file
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_rejected"]).all()
    assert ds.currency == "USD" and ds.name == "CDNOW"
    assert ds.as_of == pd.Timestamp("1998-06-30") and ds.as_of_source == "data"
    assert ds.transactions["amount"].sum() == pytest.approx(2_500_315.63, abs=0.01)


def test_cdnow_default_quarter_is_the_last_complete_one(cdnow_master):
    folder, ds = cdnow_master
    assert latest_complete_quarter(ds.as_of) == "1998Q2"
    assert default_quarter(folder) == ("1998Q2", pd.Timestamp("1998-06-30"))


def test_derived_customers_reject_what_has_no_accepted_order(write, tmp_path):
    write("orders.csv", ["customer_id", "order_date", "amount"], [
        ["A", "2024-01-05", "100"],
        ["B", "2024-02-10", "50"],
        ["A", "2024-03-01", "-20"],           # a refund: kept
        ["C", "2024-03-02", "abc"],           # C's only order is rejected: C is no customer
        ["", "2024-03-03", "10"],             # no id: rejected
        ["D", "2099-01-01", "10"],            # a typo in the future: rejected, and not the as-of date
    ])
    write("interactions.csv", ["customer_id", "date", "type"], [
        ["A", "2024-03-10", "visit"],
        ["C", "2024-03-11", "call"],          # unknown now
        ["Z", "2024-03-12", "call"],          # never ordered (its date still tells when the export was made)
    ])
    ds = load_dataset(tmp_path, max_rejected_share=None)  # a bad row per rule: mostly rejected on purpose
    assert ds.customers["customer_id"].tolist() == ["A", "B"]
    assert ds.as_of == pd.Timestamp("2024-03-12") and ds.as_of_source == "data"   # latest date not in the future
    assert ds.present == frozenset({"transactions", "interactions"})
    files = ds.reconcile().set_index("table")
    assert files.loc["transactions", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [6, 3, 3]
    assert files.loc["interactions", ["rows_read", "rows_accepted", "rows_rejected"]].tolist() == [3, 1, 2]
    unknown = ds.rejected.loc[ds.rejected["table"] == "interactions"]
    assert unknown["row"].tolist() == [3, 4]
    assert unknown["reason"].str.startswith("unknown customer_id (no accepted order").all()
    late = ds.rejected.loc[ds.rejected["column"] == "order_date"]
    assert late["row"].tolist() == [7] and late["reason"].iloc[0] == "date after the data's as-of date 2024-03-12"


def test_as_of_comes_from_the_argument_then_dataset_yaml_then_the_data(write, tmp_path):
    write("orders.csv", ["customer_id", "order_date", "amount"], [["A", "2024-01-05", "1"], ["A", "2024-05-20", "1"]])
    assert load_dataset(tmp_path).as_of == pd.Timestamp("2024-05-20")
    assert latest_complete_quarter(load_dataset(tmp_path).as_of) == "2024Q1"
    (tmp_path / "dataset.yaml").write_text("as_of: 2024-06-30\n", encoding="utf-8")
    ds = load_dataset(tmp_path)
    assert (ds.as_of, ds.as_of_source) == (pd.Timestamp("2024-06-30"), "dataset.yaml")
    assert default_quarter(tmp_path)[0] == "2024Q2"
    ds = load_dataset(tmp_path, as_of="2024-03-31", max_rejected_share=None)  # 1 of 2 orders late on purpose
    assert (ds.as_of, ds.as_of_source) == (pd.Timestamp("2024-03-31"), "argument")
    assert len(ds.transactions) == 1 and len(ds.rejected) == 1                   # the May order is after it
    assert default_quarter(SAMPLE)[0] == "2026Q3"


def test_a_customers_file_still_rules(write, tmp_path):
    write("customers.csv", ["customer_id", "name"], [["A", "甲"]])
    write("orders.csv", ["customer_id", "order_date", "amount"], [["A", "2024-01-05", "1"], ["B", "2024-01-06", "1"]])
    ds = load_dataset(tmp_path, max_rejected_share=None)  # B unknown: 1 of 2 on purpose
    assert ds.has("customers") and not ds.customers_derived and ds.customers["name"].tolist() == ["甲"]
    assert ds.rejected["reason"].tolist() == ["unknown customer_id (not in the customers table)"]


# ------------------------------------------------------------------------------------------------
# quarters and the command line


def test_quarter_helpers():
    assert quarter_end("1998q2") == pd.Timestamp("1998-06-30")
    assert [latest_complete_quarter(d) for d in ("1998-06-30", "1998-06-29", "1998-07-01", "1997-12-31")] == \
        ["1998Q2", "1998Q1", "1998Q2", "1997Q4"]
    with pytest.raises(ValueError, match="write it like 2026Q3"):
        quarter_end("Q2/1998")


def test_nothing_inside_the_package_imports_the_cli():
    package = REPO / "src" / "segkit"
    offenders = []
    for path in package.rglob("*.py"):
        if path.name == "cli.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(package)}: {n}" for n in names if n == "segkit.cli"]
    assert offenders == []


def test_validate_says_where_customers_and_as_of_came_from(write, tmp_path, capsys):
    write("orders.csv", ["customer_id", "order_date", "amount"], [["A", "2024-01-05", "1"], ["B", "2024-02-05", "2"]])
    assert main(["validate", str(tmp_path), "--rejected", str(tmp_path / "out" / "rejected.csv")]) == 0
    out = capsys.readouterr().out
    assert "as of 2024-02-05 (the latest date in the data" in out
    assert out.count("customers: 2 derived from the orders (no customers file") == 1


def test_quarter_outputs_default_quarter_and_refusal(write, tmp_path, capsys):
    data = tmp_path / "data"
    data.mkdir()
    write_csv(data / "orders.csv", ["customer_id", "order_date", "amount"], [["A", "2024-11-05", "1"], ["B", "2025-02-05", "2"]])
    assert main(["quarter-outputs", "--data", str(data), "--out", str(tmp_path / "reports")]) == 0
    assert "quarter 2024Q4 (data as of 2025-02-05)" in capsys.readouterr().out
    written = sorted(p.name for p in (tmp_path / "reports" / "2024Q4").iterdir())
    assert written == ["customer_snapshot.csv", "rejected_rows.csv", "validation_summary.txt"]
    summary = (tmp_path / "reports" / "2024Q4" / "validation_summary.txt").read_text(encoding="utf-8")
    assert "customers: 2 derived from the orders" in summary
    snap = pd.read_csv(tmp_path / "reports" / "2024Q4" / "customer_snapshot.csv", dtype={"customer_id": str})
    assert snap["customer_id"].tolist() == ["A", "B"] and snap["revenue_12m"].tolist() == [1.0, 0.0]
    # a quarter the data do not cover is refused and writes nothing
    assert main(["quarter-outputs", "--data", str(data), "--quarter", "2025Q1", "--out", str(tmp_path / "later")]) == 2
    assert "after the data's as-of date 2025-02-05; the latest complete quarter is 2024Q4" in capsys.readouterr().err
    assert not (tmp_path / "later").exists()


def test_report_for_all_departments_without_departments_is_refused(write, tmp_path, capsys):
    write("orders.csv", ["customer_id", "order_date", "amount"], [["A", "2024-01-05", "1"], ["A", "2024-03-31", "1"]])
    code = main(["report", "quarterly", "--data", str(tmp_path), "--all-departments", "--out", str(tmp_path / "reports")])
    captured = capsys.readouterr()
    assert code == 2 and "quarter 2024Q1: the latest complete quarter of the data (as of 2024-03-31)" in captured.out
    assert "--all-departments needs a department column" in captured.err and not (tmp_path / "reports").exists()


def test_churn_history_boundary(write, tmp_path):
    """12 months of history plus a quarter of outcome: orders from 2023-07-01 give a churn
    model for 2024-09-30 one quarter end (2024-06-30); a day later, none."""
    assert history_needed("2024-09-30") == pd.Timestamp("2023-07-01")
    assert history_needed("1998-06-30") == pd.Timestamp("1997-04-01")
    for first, expected in (("2023-07-01", ["2024-06-30"]), ("2023-07-02", [])):
        folder = tmp_path / first
        folder.mkdir()
        write_csv(folder / "orders.csv", ["customer_id", "order_date", "amount"], [["A", first, "1"], ["A", "2024-09-30", "1"]])
        ds = load_dataset(folder)
        assert ds.as_of == pd.Timestamp("2024-09-30")
        assert [d.date().isoformat() for d in training_dates(ds, "2024-09-30")] == expected


def test_existing_ancestor(tmp_path):
    assert _existing_ancestor(tmp_path / "reports" / "1998Q2") == tmp_path
    assert _existing_ancestor(tmp_path) == tmp_path


# ------------------------------------------------------------------------------------------------
# rendering (slow): CDNOW orders-only, a short history, and a run that fails


def _fail_notebook(folder: Path) -> Path:
    nb = nbf.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = nbf.v4.new_code_cell('quarter = None\ndata_dir = None\nconfig = None\nlang = "en"\nowner = None\n'
                                  'department = None\nmask_pii = True')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbf.v4.new_markdown_cell("## Broken"), nbf.v4.new_code_cell("raise RuntimeError('boom')")]
    folder.mkdir(parents=True)
    nbf.write(nb, folder / "quarterly_segmentation.ipynb")
    return folder


@pytest.mark.slow
def test_a_failed_run_leaves_no_folders_behind(write, tmp_path):
    write("orders.csv", ["customer_id", "order_date", "amount"], [["A", "2024-01-05", "1"]])
    nbdir = _fail_notebook(tmp_path / "nb")
    out = tmp_path / "reports" / "nested"
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(ReportError, match=r"cell 3 \(section 'Broken'\) failed: RuntimeError: boom"):
        render("quarterly", data_dir=tmp_path, notebook_dir=nbdir, out=out, lang="en", progress=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == before        # no reports/, no staging folder


@pytest.fixture(scope="module")
def cdnow_reports(tmp_path_factory):
    """CDNOW's 1/10 sample (2,357 customers) as an orders-only USD folder, rendered once:
    the quarterly report as HTML and PDF, the churn report as HTML (default quarter)."""
    root = tmp_path_factory.mktemp("cdnow_reports")
    data = cdnow_folder(root / "cdnow", "CDNOW_sample.txt")
    out = root / "reports"
    quarterly = render("quarterly", data_dir=data, lang="en", out=out, progress=False)
    churn = render("churn", data_dir=data, lang="en", formats=("html",), out=out, progress=False)
    return data, quarterly, churn


@pytest.mark.slow
def test_cdnow_reports_render_for_the_default_quarter(cdnow_reports):
    data, quarterly, churn = cdnow_reports
    assert quarterly.quarter == churn.quarter == "1998Q2"
    assert sorted(p.name for p in quarterly.paths.values()) == ["quarterly-en.html", "quarterly-en.ipynb", "quarterly-en.pdf"]
    assert quarterly.paths["html"].parent == data.parent / "reports" / "1998Q2"


@pytest.mark.slow
def test_cdnow_quarterly_leaves_out_what_orders_cannot_support(cdnow_reports):
    data, quarterly, _ = cdnow_reports
    text = _text(quarterly.paths["html"].read_text(encoding="utf-8"))
    assert MISSING.findall(text) == []
    ds = load_dataset(data)
    assert len(ds.customers) == 2_357
    # the core tile and the core sentence compare with last quarter on the same (this quarter's) lines: with
    # lines derived from USD data, last quarter's own lines gave 108 core customers and the tile read -10
    assert "Core customers 98 -14 vs last quarter" in text and "14 fewer than last quarter" in text
    for sentence in (
        "Average interactions: left out; it needs an interactions file.",
        "NPS and satisfaction: left out; it needs a surveys file.",
        "Cross-sell rate: left out; it needs a product line column in the orders file.",
        "Key metrics by industry: left out; it needs an industry column in the customers file.",
        "The repurchase comparison by region and industry: left out; it needs a region column in the customers file "
        "and an industry column in the customers file.",
        "Records overdue for refresh: left out; it needs a record_updated (last review date) column in the customers file.",
        "No customers file: the 2,357 customers are the distinct ids in the orders, each named by its id.",
        "The data's as-of date 1998-06-30 is the latest date in the data",
        "6,919 rows read, 6,919 accepted, 0 rejected",
    ):
        assert sentence in text, sentence
    assert "overdue core customer records" not in text                       # no focus built on absent dates
    pdf = subprocess.run(["pdftotext", "-layout", str(quarterly.paths["pdf"]), "-"], capture_output=True, text=True, check=True).stdout
    assert "left out; it needs a surveys file" in re.sub(r"\s+", " ", pdf) and not MISSING.findall(pdf)


@pytest.mark.slow
def test_cdnow_churn_report_compares_with_bgnbd_only(cdnow_reports):
    _, _, churn = cdnow_reports
    text = _text(churn.paths["html"].read_text(encoding="utf-8"))
    assert MISSING.findall(text) == []
    assert "The handbook-rule baseline: left out; it needs an interactions file." in text
    assert "Rule-based high-risk list" not in text and "BG/NBD chance of no purchase (baseline)" in text
    assert "compared with the BG/NBD baseline." in text
    assert "Contact" not in text                                                  # no empty contact column
    # most CDNOW customers churn: the model card says how many a capacity (a tenth) would flag
    suggested = re.search(r"this threshold puts ([\d,]+) of ([\d,]+) customers on the list\. A list cut to the team's "
                          r"capacity would hold ([\d,]+) customers", text)
    assert suggested is not None
    flagged, scored, capacity = (int(g.replace(",", "")) for g in suggested.groups())
    assert 0 < capacity <= scored // 10 < flagged                                 # ties at the limit are left out


@pytest.fixture(scope="module")
def short_history(tmp_path_factory):
    """`segkit sample` with another seed and 300 customers, cut to the last 18 months
    (orders, interactions and surveys after 2025-03-31; unreadable dates stay, as dirty rows)."""
    from segkit.sample import generate_sample

    root = tmp_path_factory.mktemp("short")
    generate_sample(root / "data", seed=11, n_customers=300)
    columns = {"orders.csv": "交易日期", "interactions.csv": "互动日期", "surveys.csv": "调查日期"}
    for name, column in columns.items():
        frame = pd.read_csv(root / "data" / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        dates = pd.to_datetime(frame[column], format="%Y-%m-%d", errors="coerce")
        frame.loc[dates.isna() | (dates > pd.Timestamp("2025-03-31"))].to_csv(root / "data" / name, index=False, encoding="utf-8-sig")
    return root


@pytest.mark.slow
def test_short_history_quarterly_report_renders(short_history):
    ds = load_dataset(short_history / "data")
    assert ds.transactions["order_date"].min() >= pd.Timestamp("2025-04-01")
    assert [d.date().isoformat() for d in training_dates(ds, "2026-06-30")] == ["2026-03-31"]
    result = render("quarterly", data_dir=short_history / "data", lang="en", formats=("html",), out=short_history / "reports", progress=False)
    assert result.quarter == "2026Q3"
    text = _text(result.paths["html"].read_text(encoding="utf-8"))
    assert MISSING.findall(text) == [] and "left out" not in text and "cannot be computed" not in text
    # the previous quarter's model exists: a change (net, or gross "+12 / −10" when customers came and left)
    assert re.search(r"High churn risk [\d,]+ (?:[+-][\d,]+|\+[\d,]+ / −[\d,]+|0) vs last quarter", text)


@pytest.mark.slow
def test_too_short_for_a_churn_model_shows_bgnbd_instead(short_history):
    """12 months of orders: no churn model (it needs orders from 2025-07-01); each section
    says so in one sentence and the churn report's list comes from BG/NBD."""
    from segkit.reporting import churn_report, quarterly, report_context

    data = short_history / "data12"
    data.mkdir()
    for path in (short_history / "data").iterdir():
        frame = path.read_text(encoding="utf-8-sig") if path.suffix == ".csv" else None
        if frame is None:
            (data / path.name).write_bytes(path.read_bytes())
            continue
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        column = {"orders.csv": "交易日期", "interactions.csv": "互动日期", "surveys.csv": "调查日期"}.get(path.name)
        if column:
            dates = pd.to_datetime(table[column], format="%Y-%m-%d", errors="coerce")
            table = table.loc[dates.isna() | (dates > pd.Timestamp("2025-09-30"))]
        table.to_csv(data / path.name, index=False, encoding="utf-8-sig")
    ctx = report_context("2026Q3", data, lang="en")
    assert not ctx.has("churn_model") and not ctx.has("backtest") and ctx.has("previous")
    too_short = ("cannot be computed; a churn model for 2026-09-30 needs orders from 2025-07-01 or earlier "
                 "(12 months of history plus one quarter of outcome), and the orders start on 2025-10-01.")
    summary = _text(churn_report.summary(ctx)._repr_html_())
    assert f"Model ROC AUC: {too_short}" in summary
    forecast = ctx.btyd_forecast_all
    likely = int((forecast["p_no_purchase"] >= 0.5).sum())
    assert likely > 0 and f"Chance of no purchase next quarter ≥ 50% {likely:,} " in summary
    listing = _text(churn_report.high_risk_view(ctx)._repr_html_())
    assert listing.startswith(f" High-risk customers {likely:,} customers who ordered in the last 12 months")
    for section in (churn_report.backtest_view, churn_report.drivers_view, churn_report.method):
        assert "cannot be computed; a churn model for 2026-06-30 needs orders from 2025-04-01 or earlier" in _text(section(ctx)._repr_html_())
    executive = _text(quarterly.executive_summary(ctx)._repr_html_())
    assert f"High churn risk: {too_short}" in executive and "High churn risk 0" not in executive
    assert MISSING.findall(summary + listing + executive) == []

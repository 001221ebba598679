"""Loading with validation on DuckDB (segkit.ingest) gives what the pandas reference gives.

Every comparison loads the same files with ``engine="pandas"`` and ``engine="duckdb"`` and
requires equal tables (values, dtypes, row order), an equal ledger (file, row, column, value,
reason and the raw record), equal warnings, equal per-file counts and the same as-of date.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
from conftest import CDNOW, SAMPLE, write_csv
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segkit
from segkit.io import MostlyRejectedError, load_dataset

pytest.importorskip("duckdb")

TABLE_NAMES = ["customers", "transactions", "interactions", "surveys", "contracts"]
GOOD_CODE = "91350100M000100Y43"


def load_both(*args, **kwargs):
    reference = load_dataset(*args, engine="pandas", **kwargs)
    engine = load_dataset(*args, engine="duckdb", **kwargs)
    assert engine.store is not None and reference.store is None
    return reference, engine


def _records(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["record"] = out["record"].map(json.loads)
    return out


def assert_same_load(reference, engine) -> None:
    """Tables, ledger, warnings and counts of the two engines are equal."""
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(engine, name), getattr(reference, name), check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(_records(engine.rejected), _records(reference.rejected))
    pd.testing.assert_frame_equal(engine.warnings, reference.warnings)
    pd.testing.assert_frame_equal(engine.files, reference.files)
    assert (engine.as_of, engine.as_of_source, engine.present, engine.currency, engine.name) == (
        reference.as_of, reference.as_of_source, reference.present, reference.currency, reference.name)
    assert engine.notes() == reference.notes()
    reconcile = engine.reconcile()
    assert (reconcile["rows_read"] == reconcile["rows_accepted"] + reconcile["rows_rejected"]).all()


def test_sample_is_read_identically():
    reference, engine = load_both(SAMPLE)
    assert_same_load(reference, engine)
    assert int(engine.files["rows_rejected"].sum()) == 51 and len(engine.warnings) == 6  # 4 in contracts.csv
    summary_engine, summary_reference = engine.summary(), reference.summary()
    fresh = load_dataset(SAMPLE)  # summary straight from the engine, before the ledger is loaded
    assert not fresh.is_loaded("rejected")
    for key in ("rejected_by_rule", "warnings_by_rule"):
        pd.testing.assert_frame_equal(fresh.summary()[key], summary_reference[key], check_dtype=False)
        pd.testing.assert_frame_equal(summary_engine[key], summary_reference[key], check_dtype=False)
    assert not fresh.is_loaded("transactions") and fresh.count("transactions") == 53_413


def test_second_seed_other_currency(tmp_path):
    segkit.generate_sample(tmp_path, seed=11, n_customers=250)
    (tmp_path / "dataset.yaml").write_text("name: second\ncurrency: usd\nas_of: 2026-06-30\n", encoding="utf-8")
    reference, engine = load_both(tmp_path)
    assert_same_load(reference, engine)
    assert engine.currency == "USD" and engine.as_of == pd.Timestamp("2026-06-30")
    assert (engine.files["rows_rejected"] > 0).any()  # later records are rejected, and named


def test_cdnow_orders_only(tmp_path):
    raw = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", header=0, names=["id", "date", "qty", "amount"], dtype=str)
    raw[["id", "date", "amount"]].rename(columns={"id": "customer_id", "date": "order_date"}).to_csv(
        tmp_path / "orders.csv", index=False)
    reference, engine = load_both(tmp_path)
    assert_same_load(reference, engine)
    assert engine.customers_derived and len(engine.customers) == 23_570
    assert engine.transactions["amount"].sum() == pytest.approx(2_500_315.63, abs=0.01)


def _messy_folder(folder):
    """Files written the way Excel, WPS and CRMs write them, with one of every problem."""
    customers = [
        ["C001", "华东精密机械有限公司", "生产业", GOOD_CODE, "是", "25", "  C-1 "],
        ["\u3000C002 ", "南方贸易公司", "零售", "", "否", "12.5", ""],     # ideographic space; 12.5 staff: warning
        ["C003", "西部能源", "火星产业", "91350100M000100Y44", "maybe", "-3", "x"],  # bad code rejects; unknown industry warns
        ["C001", "重复公司", "制造业", "", "", "", ""],                    # duplicate id
        ["", "无编号公司", "", "", "", "", ""],                              # empty id
        [" C004", "=HYPERLINK(\"http://x\")", "IT", "", "yes", "1e3", ""],
    ]
    write_csv(folder / "客户信息.csv", ["客户编号", "客户名称", "所属行业", "统一社会信用代码", "续约意向", "员工人数", "备用列"],
              customers, encoding="gbk")
    orders = ["订单编号,客户编号,交易日期,交易金额（万元）,产品线,渠道",
              "O1,C001,2026-01-05,65,设备,线上",
              "O2,C002,2026/2/3,1.25,,电话",
              "",
              "O3,C001,2026年3月4日,\"1,234.5\",耗材,经销",
              "O4,C009,2026-03-05,2,耗材,线上",          # unknown customer
              "O5,C003,2026-03-06,3,耗材,线上",          # customer rejected (bad code)
              "O6,C001,9999-12-31,4,耗材,线上",          # out of pandas' range: unparseable
              "O7,C001,2026-13-01,abc,耗材,线上",        # bad date and bad number
              "O8,C001,2026-10-05,(5),耗材,线上",        # after the as-of date; refund in brackets
              "O1,C002,2026-04-01, 7 ,耗材,飞鸽",        # duplicate order id; unknown channel
              ",C001,2026-04-02,0.125,耗材,线上",        # rounding half to even in yuan
              "O9,C001,2026-04-03,,耗材,线上"]           # empty amount
    (folder / "订单.csv").write_bytes("\n".join(orders).encode("gb18030"))
    pd.DataFrame({"customer_id": ["C001", "C004", "C005"], "order_date": ["05/03/2026", "13/03/2026", "Jan 5, 2026"],
                  "amount": ["$1,200.00", "USD 30", "€4"], "extra": ["a", "b", None]}).to_excel(folder / "orders_2.xlsx", index=False)
    text = ("interaction_id,customer_id,date,type,resolved_date,note\n"
            "I1,C001,2026-02-01,visit,,\"first line\nsecond line\"\n"   # quoted line break: the line-by-line reader
            "I2,C001,2026-02-02,complaint,2026-02-05,\n"
            "I3,C002,2026-02-03,投诉,not a date,\n"
            "I4,C001,2026-02-04,telepathy,,\n"
            "I5,C001,2026-02-05,call,,,,\n"          # trailing empty cells
            "I6,C001,2026-02-06,call\n"              # too few fields
            "I7,C001,2026-02-07,call,,,surplus\n")   # too many fields: malformed
    (folder / "interactions.csv").write_text(text, encoding="utf-8-sig")
    pd.DataFrame({"customer_id": ["C001", "C002", "C001", "C004"], "date": pd.to_datetime(["2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"]),
                  "satisfaction": [80.0, 101.0, None, 50.0], "nps": [9.0, 7.5, 11.0, None]}).to_parquet(folder / "surveys.parquet")


def test_messy_exports_are_read_identically(tmp_path):
    _messy_folder(tmp_path)
    reference, engine = load_both(tmp_path, as_of="2026-09-30", max_rejected_share=None)
    assert_same_load(reference, engine)
    rejected = engine.rejected
    assert {"duplicate customer_id (first on 客户信息.csv row 2)", "unknown customer_id (not in the customers table)",
            "not a number", REASON_LATE} <= set(rejected["reason"])
    assert "customer_id was rejected in customers (客户信息.csv row 4)" in set(rejected["reason"])
    assert rejected.loc[rejected["column"] == "(whole line)", "row"].tolist() == [8, 9]  # too few, too many fields
    amounts = engine.transactions.set_index("order_id")["amount"]
    assert amounts["O3"] == 12_345_000.0 and amounts["O2"] == 12_500.0
    assert engine.transactions["amount"].isin([1200.0]).any()          # XLSX, $ and thousands separator
    assert engine.transactions.loc[engine.transactions["order_id"].isna(), "amount"].tolist() == [1200.0, 30.0, 1250.0]
    assert engine.files.loc[engine.files["file"].str.endswith("orders_2.xlsx"), "date_order"].item() == "DMY"


REASON_LATE = "date after the data's as-of date 2026-09-30"


def test_orders_only_and_as_of_from_the_data(tmp_path):
    write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "amount"],
              [["A", "2026-01-05", "10"], ["B", "2026-02-05", "-3"], ["A", "2026-03-05", "x"], ["C", "2099-01-01", "1"]])
    write_csv(tmp_path / "interactions.csv", ["customer_id", "date", "type"],
              [["A", "2026-01-06", "call"], ["Z", "2026-01-07", "visit"]])
    reference, engine = load_both(tmp_path, max_rejected_share=None)  # a bad row per rule: mostly rejected on purpose
    assert_same_load(reference, engine)
    assert engine.customers["customer_id"].tolist() == ["A", "B"] and engine.as_of_source == "data"


def test_two_files_of_one_table_with_different_extra_columns(tmp_path):
    write_csv(tmp_path / "customers.csv", ["customer_id", "name", "tag"], [["A", "a", "x"], ["B", "b", "y"]])
    write_csv(tmp_path / "orders_2025.csv", ["customer_id", "order_date", "amount", "coupon"], [["A", "2025-01-05", "10", "Q1"]])
    write_csv(tmp_path / "orders_2026.csv", ["customer_id", "order_date", "amount"], [["B", "2026-01-05", "20"], ["A", "2026-01-05", "5"]])
    reference, engine = load_both(tmp_path, as_of="2026-06-30")
    assert_same_load(reference, engine)
    assert engine.transactions["coupon"].isna().tolist() == [False, True, True]


def test_ledger_written_by_the_engine(tmp_path):
    (tmp_path / "data").mkdir()
    _messy_folder(tmp_path / "data")
    engine = load_dataset(tmp_path / "data", as_of="2026-09-30", max_rejected_share=None)
    engine.write_rejected(tmp_path / "rejected.parquet")
    engine.write_rejected(tmp_path / "rejected.csv")
    assert not engine.is_loaded("rejected")  # written without coming into pandas
    reference = load_dataset(tmp_path / "data", as_of="2026-09-30", max_rejected_share=None, engine="pandas").rejected
    parquet = pd.read_parquet(tmp_path / "rejected.parquet")
    pd.testing.assert_frame_equal(_records(parquet.astype({"row": "int64"})), _records(reference), check_dtype=False)
    csv = pd.read_csv(tmp_path / "rejected.csv", dtype=str, keep_default_na=False)
    assert len(csv) == len(reference)
    assert not csv["value"].str.startswith(("=", "+", "-", "@")).any()
    amount = csv.loc[(csv["row"] == "9") & csv["file"].str.endswith("订单.csv"), "record"].iloc[0]
    assert json.loads(amount)["交易金额（万元）"] == "abc"


def test_mostly_rejected_stops_with_the_same_message(tmp_path):
    write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "amount"],
              [["A", "01.02.1997x", "$1,177.00"], ["B", "nope", "1"], ["C", "2026-01-01", "2"]])
    messages = []
    for engine in ("pandas", "duckdb"):
        with pytest.raises(MostlyRejectedError) as info:
            load_dataset(tmp_path, engine=engine)
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "transactions: unparseable date: 2 of 3 rows (67%)" in messages[1]


def test_unknown_engine(tmp_path):
    write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "amount"], [["A", "2026-01-01", "2"]])
    with pytest.raises(ValueError, match="engine='polars' is not supported"):
        load_dataset(tmp_path, engine="polars")


# --- random cells: any mix of tricky spellings reads the same on both engines ---------------------
CELLS = {
    "customer_id": ["A", " A", "A\u3000", "B", "", "  ", "C\t", "a", "Ａ", "A\u200b", "\ufeffB", "\u00a0A", "1", "1.0",
                    "1.5", "\u200b", "customer_id"],
    "order_date": ["2026-01-05", "2026/1/5", "20260105", "2026年1月5日", "01/05/2026", "13/01/2026", "2026-02-30",
                   "9999-12-31", "1899-12-30", "Jan 5, 2026", "2026-01-05 13:45", "2026-01-05T08:00", "", "soon", " 2026-01-05 ",
                   "1900-01-00", "00:00:00", "1899/12/31", "2026-1-5", "order_date",
                   # day/month order decided by the file (or not), and days outside engine.dates
                   "02/01/2026", "01/01/2026", "12/25/2025", "25.12.2025", "45/03/2026", "2200-12-31", "2201-01-01",
                   "2201/1/1", "1850-03-01", "0001-01-01", "31/12/9999", "1899-12-29"],
    "amount": ["10", "-3", "1,234.50", "¥1,200", "$5", "(500)", "1e3", "0.125", "0.135", "2.675", "abc", "", "  7 ",
               "1.005", "123456789012.345", "-0", "inf", "1.2.3", "12元", "USD 30", "1.234,56", "12,5", "1,234", "1.234",
               "(-500)", "(500", "500)", "nan", "1e309", "(1.000,00)", "1.234.567", "amount"],
    "channel": ["线上", "online", "电话", "飞鸽", "", " 线上 ", "DEALER", "channel"],
}


@st.composite
def order_rows(draw):
    n = draw(st.integers(1, 25))
    return [[draw(st.sampled_from(CELLS[c])) for c in CELLS] for _ in range(n)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=order_rows(), blank_line=st.booleans(), header_again=st.booleans())
def test_random_cells_read_identically(tmp_path_factory, rows, blank_line, header_again):
    folder = tmp_path_factory.mktemp("cells")
    if header_again:  # two exports joined: the header line again, somewhere in the data
        rows = [*rows[: len(rows) // 2], list(CELLS), *rows[len(rows) // 2:]]
    path = write_csv(folder / "orders.csv", list(CELLS), rows)
    if blank_line:
        path.write_text(path.read_text(encoding="utf-8") + "\n,,,\n", encoding="utf-8")
    reference, engine = load_both(folder, as_of="2026-09-30", max_rejected_share=None)
    assert_same_load(reference, engine)


def test_rounding_matches_numpy_half_even(tmp_path):
    values = ["0.125", "0.135", "2.675", "1.005", "-0.125", "1234.5650", "0.0049999"]
    write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "amount"], [["A", "2026-01-01", v] for v in values])
    engine = load_dataset(tmp_path, as_of="2026-09-30")
    expected = np.round(np.array([float(v) for v in values]), 2)
    assert engine.transactions["amount"].tolist() == expected.tolist()


# --- tables of an Ibis backend read like files -----------------------------------------------------
def _raw_tables(folder) -> dict[str, pd.DataFrame]:
    """The sample's files as text tables, the way a CRM would have copied them into a database."""
    names = {"customers": "customers.csv", "transactions": "orders.csv", "interactions": "interactions.csv",
             "surveys": "surveys.csv", "contracts": "contracts.csv"}
    return {table: pd.read_csv(folder / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            for table, name in names.items()}


def _where_free(problems: pd.DataFrame) -> pd.DataFrame:
    """Reasons without the place they point to ("first on FILE row N"): a table is not a file."""
    out = problems.reset_index(drop=True).copy()
    out["reason"] = out["reason"].str.replace(r"\((first on )?[^()]* row \d+\)", "(...)", regex=True)
    return out


def assert_same_as_files(got, expected) -> None:
    """A data set read from tables equals the one read from the same rows in files (the ledger's
    rows are record numbers there, line numbers here: one less)."""
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), check_exact=False, rtol=1e-12)
    cols = ["table", "column", "value", "reason"]
    pd.testing.assert_frame_equal(_where_free(got.rejected[cols]), _where_free(expected.rejected[cols]))
    assert got.rejected["reason"].str.contains("first on duckdb:crm.customers row 440", regex=False).any()
    assert (got.rejected["row"].to_numpy() == expected.rejected["row"].to_numpy() - 1).all()
    assert got.files["rows_rejected"].tolist() == expected.files["rows_rejected"].tolist()
    assert got.files["rows_read"].tolist() == expected.files["rows_read"].tolist()


def test_from_ibis_reads_a_duckdb_file_like_the_files(tmp_path):
    import duckdb
    import ibis

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as db:
        db.execute("CREATE SCHEMA crm")
        for table, frame in _raw_tables(SAMPLE).items():
            db.register("frame", frame)
            db.execute(f"CREATE TABLE crm.{table} AS SELECT * FROM frame")
            db.unregister("frame")
    expected = load_dataset(SAMPLE)
    con = ibis.duckdb.connect(str(path), read_only=True)
    got = segkit.from_ibis(con, customers="crm.customers", transactions="crm.transactions",
                           interactions="crm.interactions", surveys="crm.surveys", contracts="crm.contracts",
                           as_of=expected.as_of)
    assert_same_as_files(got, expected)
    assert got.files["file"].tolist()[1] == "duckdb:crm.transactions"
    pd.testing.assert_frame_equal(segkit.snapshot(got), segkit.snapshot(expected, engine="pandas"), check_exact=False, rtol=1e-9)


def test_from_ibis_renamed_columns_and_typed_values():
    import ibis

    con = ibis.duckdb.connect()
    raw = ibis.memtable(pd.DataFrame({"cust_no": [1, 2, 2], "created": pd.to_datetime(["2026-01-05", "2026-02-01", "2027-01-01"]),
                                      "net": [10.5, -2.0, 3.0]}))
    orders = raw.select(customer_id=raw.cust_no.cast("string"), order_date=raw.created, amount=raw.net)
    ds = segkit.from_ibis(con, transactions=orders, as_of="2026-09-30", max_rejected_share=None)
    assert ds.transactions["customer_id"].tolist() == ["1", "2"] and ds.transactions["is_refund"].tolist() == [False, True]
    assert ds.rejected["reason"].tolist() == [REASON_LATE] and ds.rejected["row"].tolist() == [3]


def test_columns_with_no_readable_value_at_all(tmp_path):
    """Every channel unknown, every yes/no unreadable: the engine's lookup tables are typed anyway."""
    write_csv(tmp_path / "customers.csv", ["customer_id", "name", "renewal_intent", "industry"],
              [["A", "a", "maybe", "火星产业"], ["B", "b", "perhaps", ""]])
    write_csv(tmp_path / "orders.csv", ["customer_id", "order_date", "amount", "channel"], [["A", "2026-01-05", "10", "飞鸽"]])
    reference, engine = load_both(tmp_path, as_of="2026-09-30")
    assert_same_load(reference, engine)
    assert engine.transactions["channel"].tolist() == ["飞鸽"] and engine.customers["renewal_intent"].isna().all()


# --- a database as the source: a DuckDB file, or a connection described in dataset.yaml ------


def _write_database(path, names: dict[str, str], schema: str | None = None) -> None:
    import duckdb

    with duckdb.connect(str(path)) as db:
        if schema:
            db.execute(f"CREATE SCHEMA {schema}")
        for table, frame in _raw_tables(SAMPLE).items():
            db.register("frame", frame)
            db.execute(f"CREATE TABLE {schema + '.' if schema else ''}\"{names[table]}\" AS SELECT * FROM frame")
            db.unregister("frame")


def _assert_same_tables(got, expected) -> None:
    for name in TABLE_NAMES:
        pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name), check_exact=False, rtol=1e-12)
    assert got.files["rows_read"].tolist() == expected.files["rows_read"].tolist()
    assert got.files["rows_rejected"].tolist() == expected.files["rows_rejected"].tolist()


def test_a_duckdb_file_is_a_data_set_with_tables_found_by_name(tmp_path):
    path = tmp_path / "crm.duckdb"
    _write_database(path, {"customers": "客户", "transactions": "orders_2026", "interactions": "interactions",
                           "surveys": "满意度调查", "contracts": "合同台账"})
    expected = load_dataset(SAMPLE)
    got = load_dataset(path, as_of=expected.as_of)
    _assert_same_tables(got, expected)
    assert got.name == "crm" and got.files["file"].tolist() == [
        "duckdb:客户", "duckdb:orders_2026", "duckdb:interactions", "duckdb:满意度调查", "duckdb:合同台账"]


def test_dataset_yaml_describes_a_database_source_and_a_run_reads_it_once(tmp_path, monkeypatch):
    folder = tmp_path / "quarterly"
    folder.mkdir()
    _write_database(folder / "warehouse.duckdb", {t: t for t in TABLE_NAMES}, schema="crm")
    (folder / "dataset.yaml").write_text(
        "name: 华东客户\ncurrency: CNY\nas_of: 2026-09-30\nsource:\n  url: duckdb://warehouse.duckdb\n  tables:\n"
        "    customers: crm.customers\n    transactions: crm.transactions\n    interactions: crm.interactions\n"
        "    surveys: crm.surveys\n    contracts: crm.contracts\n", encoding="utf-8")
    expected = load_dataset(SAMPLE)
    cache = tmp_path / "cache"
    monkeypatch.setenv("SEGKIT_DATA_CACHE", str(cache))
    got = load_dataset(folder)
    _assert_same_tables(got, expected)
    assert got.name == "华东客户" and got.as_of == pd.Timestamp("2026-09-30")
    assert len(list(cache.glob("data-*.duckdb"))) == 1
    import segkit.ingest as ingest

    monkeypatch.setattr(ingest, "from_ibis", lambda *a, **k: pytest.fail("read the database again"))
    again = load_dataset(folder)   # the run's saved copy
    assert again.fingerprint() == got.fingerprint()


@pytest.mark.parametrize(("source", "message"), [
    ("source:\n  url: duckdb://missing.duckdb\n", "missing.duckdb not found"),
    ("source:\n  url: duckdb://w.duckdb\n  table: {transactions: x}\n", "unknown key(s) table"),
    ("source:\n  url: duckdb://w.duckdb\n  tables: {orders: x}\n", "source.tables maps"),
    ("source: duckdb://w.duckdb\n", "source must be a mapping with a url"),
    ("source:\n  url: duckdb://w.duckdb\n  tables: {customers: customers}\n", "no transactions table"),
])
def test_database_source_mistakes_are_named(tmp_path, source, message):
    _write_database(tmp_path / "w.duckdb", {t: t for t in TABLE_NAMES} | {"transactions": "sales"})
    (tmp_path / "dataset.yaml").write_text(source, encoding="utf-8")
    with pytest.raises(segkit.SchemaError, match=re.escape(message)):
        load_dataset(tmp_path)
    with pytest.raises(segkit.SchemaError, match="read by the engine"):
        load_dataset(tmp_path, engine="pandas")

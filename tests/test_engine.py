"""The DuckDB engine (Ibis expressions) gives the same snapshot as pandas, column for column.

Integers, dates and labels must be equal; floats may differ by 1e-9 relative (sums in another
order). Checked on the sample at several dates and both BTYD units, on a second generated data
set with another seed and size, on CDNOW's orders, and on random small data sets with the
awkward cases (refunds, ties on a day, missing types and answers, records after as_of).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import segkit
from segkit.features import snapshot
from segkit.io import Dataset

from conftest import CDNOW, SAMPLE

pytest.importorskip("ibis")


def assert_same(ds: Dataset, as_of, unit: str = "W") -> pd.DataFrame:
    expected = snapshot(ds, as_of, btyd_unit=unit)
    got = snapshot(ds, as_of, btyd_unit=unit, engine="duckdb")
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9, atol=0)
    assert got.attrs == expected.attrs
    return got


@pytest.fixture(scope="module")
def sample():
    return segkit.load_dataset(SAMPLE)


@pytest.mark.parametrize("as_of", ["2026-09-30", "2026-06-30", "2025-12-31", "2026-08-16"])
@pytest.mark.parametrize("unit", ["W", "D"])
def test_sample_snapshot_equal(sample, as_of, unit):
    got = assert_same(sample, as_of, unit)
    assert len(got) == len(sample.customers)


def test_sample_numbers_are_the_known_ones(sample):
    # the engine's result, not only its agreement: sample totals at 2026-09-30
    got = snapshot(sample, "2026-09-30", engine="duckdb")
    expected = snapshot(sample, "2026-09-30")
    assert got["orders_total"].sum() == expected["orders_total"].sum() > 0
    assert got["revenue_12m"].sum() == pytest.approx(expected["revenue_12m"].sum(), rel=1e-12)
    assert (got["frequency"].dropna() >= 0).all()


def test_second_generated_data_set(tmp_path):
    segkit.generate_sample(tmp_path, seed=7, n_customers=300)
    ds = segkit.load_dataset(tmp_path)
    assert_same(ds, ds.as_of)
    assert_same(ds, ds.as_of - pd.offsets.QuarterEnd(2), "D")


def _dataset(customers, transactions, interactions, surveys, as_of) -> Dataset:
    empty = pd.DataFrame({c: pd.Series(dtype="str") for c in ["table", "file", "row", "column", "value", "reason"]})
    return Dataset(
        customers=customers, transactions=transactions, interactions=interactions, surveys=surveys,
        rejected=empty.assign(record=pd.Series(dtype="str")), warnings=empty,
        files=pd.DataFrame(columns=["table", "file", "encoding", "rows_read", "rows_accepted", "rows_rejected"]),
        as_of=pd.Timestamp(as_of),
    )


def test_cdnow_orders(sample):
    """CDNOW's 69,659 orders (USD, 1997-1998) under the sample's customer columns."""
    raw = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", header=0, names=["id", "date", "qty", "amount"],
                      dtype={"id": str, "date": str})
    tx = pd.DataFrame({
        "order_id": np.arange(len(raw)).astype(str), "customer_id": raw["id"].astype(str),
        "order_date": pd.to_datetime(raw["date"].astype(str), format="%Y%m%d"), "amount": raw["amount"].astype(float),
        "product_line": pd.Series(None, index=raw.index, dtype="str"), "channel": pd.Series(None, index=raw.index, dtype="str"),
    }).assign(is_refund=lambda t: t["amount"] < 0)
    ids = tx["customer_id"].drop_duplicates().sort_values()
    customers = sample.customers.iloc[:0].reindex(range(len(ids)))
    customers["customer_id"] = ids.to_numpy()
    ds = _dataset(customers, tx, sample.interactions.iloc[:0], sample.surveys.iloc[:0], "1998-06-30")
    got = assert_same(ds, "1998-06-30")
    assert len(got) == 23_570
    assert_same(ds, "1997-09-30", "D")


# --- random small data sets -----------------------------------------------------------------------
DAYS = list(pd.date_range("2024-01-01", "2026-12-31", freq="D"))
IDS = [f"C{i}" for i in range(6)]


@st.composite
def small_dataset(draw):
    n_tx = draw(st.integers(0, 40))
    tx = pd.DataFrame({
        "order_id": [f"O{i}" for i in range(n_tx)],
        "customer_id": draw(st.lists(st.sampled_from(IDS), min_size=n_tx, max_size=n_tx)),
        "order_date": pd.DatetimeIndex(draw(st.lists(st.sampled_from(DAYS), min_size=n_tx, max_size=n_tx)), dtype="datetime64[ns]"),
        # cents, refunds and zero amounts
        "amount": [c / 100 for c in draw(st.lists(st.integers(-50_000, 5_000_000), min_size=n_tx, max_size=n_tx))],
        "product_line": pd.Series(draw(st.lists(st.sampled_from(["A", "B", None]), min_size=n_tx, max_size=n_tx)), dtype="str"),
        "channel": pd.Series([None] * n_tx, dtype="str"),
    })
    tx["is_refund"] = tx["amount"] < 0
    n_it = draw(st.integers(0, 30))
    types = ["visit", "call", "new_need_inquiry", "complaint", "key_contact_change", None]
    it = pd.DataFrame({
        "interaction_id": [f"I{i}" for i in range(n_it)],
        "customer_id": draw(st.lists(st.sampled_from(IDS), min_size=n_it, max_size=n_it)),
        "date": pd.DatetimeIndex(draw(st.lists(st.sampled_from(DAYS), min_size=n_it, max_size=n_it)), dtype="datetime64[ns]"),
        "type": pd.Series(draw(st.lists(st.sampled_from(types), min_size=n_it, max_size=n_it)), dtype="str"),
    })
    n_sv = draw(st.integers(0, 12))
    few_days = DAYS[::200]  # few distinct days: several answers on one day, order decides
    sv = pd.DataFrame({
        "customer_id": draw(st.lists(st.sampled_from(IDS), min_size=n_sv, max_size=n_sv)),
        "date": pd.DatetimeIndex(draw(st.lists(st.sampled_from(few_days), min_size=n_sv, max_size=n_sv)), dtype="datetime64[ns]"),
        "satisfaction": draw(st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=n_sv, max_size=n_sv)),
        "nps": pd.array(draw(st.lists(st.one_of(st.none(), st.integers(0, 10)), min_size=n_sv, max_size=n_sv)), dtype="Int64"),
    })
    sv["satisfaction"] = sv["satisfaction"].astype("float64")
    customers = pd.DataFrame({"customer_id": pd.Series(IDS, dtype="str")})
    customers["first_cooperation_date"] = pd.DatetimeIndex(
        draw(st.lists(st.one_of(st.none(), st.sampled_from(DAYS)), min_size=len(IDS), max_size=len(IDS))), dtype="datetime64[ns]")
    as_of = draw(st.sampled_from(["2025-06-30", "2025-11-15", "2026-09-30", "2026-02-28"]))
    return _dataset(customers, tx, it, sv, as_of)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ds=small_dataset(), unit=st.sampled_from(["W", "D"]))
def test_random_data_sets_equal(ds, unit):
    assert_same(ds, ds.as_of, unit)


def test_unknown_engine(sample):
    with pytest.raises(ValueError, match="engine='spark' is not supported"):
        snapshot(sample, "2026-09-30", engine="spark")


def test_scoped_dataset_is_unchanged(sample):
    # a Dataset made with dataclasses.replace (as segkit.scope does) works the same
    small = dataclasses.replace(sample, customers=sample.customers.iloc[:50])
    assert len(assert_same(small, "2026-09-30")) == 50


# --- tables that live in a database: snapshot_from_ibis ------------------------------------------
def _export_tables(ds: Dataset) -> dict[str, pd.DataFrame]:
    """The Dataset's tables as a warehouse would hold them (surveys keep their export order)."""
    surveys = ds.surveys[["customer_id", "date", "satisfaction", "nps"]].copy()
    surveys["nps"] = surveys["nps"].astype("float64")
    surveys["_position"] = np.arange(len(surveys))
    return {
        "customers": ds.customers.astype({"renewal_intent": "object", "employees": "float64"}),
        "orders": ds.transactions[["customer_id", "order_date", "amount", "product_line"]],
        "interactions": ds.interactions[["customer_id", "date", "type"]],
        "surveys": surveys,
    }


def test_snapshot_from_a_duckdb_file(sample, tmp_path):
    import ibis

    from segkit.engine import snapshot_from_ibis

    import duckdb

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as db:  # a CRM's tables in a DuckDB file, schema "crm"
        db.execute("CREATE SCHEMA crm")
        for name, frame in _export_tables(sample).items():
            db.register("incoming", pa.Table.from_pandas(frame, preserve_index=False))
            db.execute(f"CREATE TABLE crm.{name} AS SELECT * FROM incoming")
            db.unregister("incoming")

    con = ibis.duckdb.connect(str(path), read_only=True)
    got = snapshot_from_ibis(con, "2026-09-30", customers="crm.customers", transactions="crm.orders",
                             interactions="crm.interactions", surveys="crm.surveys")
    expected = snapshot(sample, "2026-09-30")
    order_cols = [c for c in expected.columns if c not in ("employees", "annual_revenue", "renewal_intent")]
    pd.testing.assert_frame_equal(got[order_cols], expected[order_cols], check_exact=False, rtol=1e-9)
    assert got.attrs == expected.attrs


def test_orders_only_tables(sample):
    """Without customers, interactions and surveys: one row per ordering customer, named by id."""
    import ibis

    from segkit.engine import snapshot_from_ibis

    orders = ibis.memtable(pa.Table.from_pandas(_export_tables(sample)["orders"], preserve_index=False))
    got = snapshot_from_ibis(ibis.duckdb.connect(), "2026-09-30", transactions=orders, currency="usd")
    ordering = sample.transactions.loc[sample.transactions["order_date"] <= "2026-09-30", "customer_id"]
    assert list(got.index) == sorted(ordering.unique())
    assert (got["name"] == got.index).all()
    assert got.attrs["present"] == ["transactions"] and got.attrs["currency"] == "USD"
    assert (got["interactions_6m"] == 0).all() and got["satisfaction"].isna().all()
    full = snapshot(sample, "2026-09-30").loc[got.index]
    for col in ("revenue_12m", "orders_6m", "frequency", "recency", "T", "monetary_value", "recency_days"):
        pd.testing.assert_series_equal(got[col], full[col], check_exact=False, rtol=1e-9)


def test_amounts_are_summed_exactly_whatever_the_order():
    """Decimal sums: the result cannot depend on the order the engine's threads add in."""
    import ibis

    from segkit.engine import snapshot_from_ibis

    orders = pd.DataFrame({"customer_id": ["A", "A", "A", "B"],
                           "order_date": pd.to_datetime(["2026-01-05", "2026-02-05", "2026-03-05", "2026-03-05"]),
                           "amount": [1e15, 0.01, -1e15, 5.0]})
    assert (1e15 + 0.01) - 1e15 == 0.0  # what a float sum in this order gives
    snap = snapshot_from_ibis(ibis.duckdb.connect(), "2026-09-30", transactions=ibis.memtable(orders))
    assert snap.loc["A", "revenue_total"] == 0.01 and snap.loc["B", "revenue_total"] == 5.0


# --- churn training tables: eligibility and labels counted where the orders are ---------------


@pytest.mark.parametrize("definition", ["no_order", "revenue_drop"])
@pytest.mark.parametrize("source", ["sample", "seed11"])
def test_churn_training_table_from_the_engine_equals_pandas(source, definition, tmp_path):
    from segkit.insights.churn import churn_training_table

    if source == "sample":
        folder = SAMPLE
    else:
        folder = tmp_path
        segkit.generate_sample(folder, seed=11, n_customers=300)
        (folder / "dataset.yaml").write_text("name: second\ncurrency: usd\n", encoding="utf-8")
    stored = segkit.load_dataset(folder, engine="duckdb")
    reference = segkit.load_dataset(folder, engine="pandas")
    got = churn_training_table(stored, definition=definition, progress=False)
    assert not stored.is_loaded("transactions")  # the orders never came into pandas
    expected = churn_training_table(reference, definition=definition, progress=False)
    pd.testing.assert_frame_equal(got.train, expected.train, check_exact=False, rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(got.to_score, expected.to_score, check_exact=False, rtol=1e-9, atol=0)
    pd.testing.assert_frame_equal(got.dates, expected.dates)
    assert got.train["churned"].sum() > 0 and (got.train["churned"] == 0).sum() > 0


@pytest.mark.parametrize("source", ["sample", "seed11"])
def test_kpis_and_cadence_from_the_engine_equal_pandas(source, tmp_path):
    """KPIs and the refresh cadence read only the rows they need from the engine: same tables."""
    from segkit.insights.cadence import cadence_report
    from segkit.insights.kpi import kpis
    from segkit.segment.tiers import assign_tiers

    if source == "sample":
        folder, as_of = SAMPLE, pd.Timestamp("2026-09-30")
    else:
        folder, as_of = tmp_path, pd.Timestamp("2026-06-30")
        segkit.generate_sample(folder, seed=11, n_customers=300)
        (folder / "dataset.yaml").write_text("name: second\ncurrency: usd\n", encoding="utf-8")
    stored = segkit.load_dataset(folder, engine="duckdb")
    reference = segkit.load_dataset(folder, engine="pandas")
    tiers = assign_tiers(snapshot(reference, as_of), as_of=as_of)
    for by in ("tier", "industry", None):
        got = kpis(stored, as_of, by=by, tiers=tiers)
        pd.testing.assert_frame_equal(got, kpis(reference, as_of, by=by, tiers=tiers), check_exact=False, rtol=1e-9, atol=0)
    got = cadence_report(stored, tiers, as_of)
    pd.testing.assert_frame_equal(got, cadence_report(reference, tiers, as_of))
    assert not any(stored.is_loaded(t) for t in ("transactions", "interactions", "surveys"))
    assert got["last_contact"].notna().any()
    if source == "sample":  # the sample has key-contact changes still to record
        assert got["pending_contact_change"].notna().any()


def test_a_report_asks_the_engine_whether_a_column_has_values(tmp_path):
    """ReportContext.has on an order or customer column: the engine answers, the tables stay out
    of pandas (the KPI section's product-line check once brought every order into the kernel)."""
    from segkit.engine import column_has_values
    from segkit.reporting.context import report_context

    segkit.generate_sample(tmp_path, seed=3, n_customers=120)
    stored, reference = (segkit.load_dataset(tmp_path, engine=e) for e in ("duckdb", "pandas"))
    for table, column in (("transactions", "product_line"), ("transactions", "channel"), ("customers", "industry"),
                          ("customers", "record_updated"), ("transactions", "colour")):
        assert column_has_values(stored, table, column) == column_has_values(reference, table, column)
    assert column_has_values(stored, "transactions", "colour") is None
    ctx = report_context("2026Q3", tmp_path)
    ctx.__dict__["dataset_full"] = stored
    assert ctx.has("product_line") and ctx.has("industry")
    with pytest.raises(ValueError, match="unknown data need"):
        ctx.has("colour")
    assert not stored.is_loaded("transactions")


def test_churn_labels_and_scores_from_the_engine_equal_pandas():
    from segkit.insights.churn import churn_labels, fit_churn_model, score_churn

    stored = segkit.load_dataset(SAMPLE, engine="duckdb")
    reference = segkit.load_dataset(SAMPLE, engine="pandas")
    for definition in ("no_order", "revenue_drop"):
        for when in ("2026-06-30", "2026-09-30"):   # complete, and running past the data
            pd.testing.assert_series_equal(churn_labels(stored, when, definition=definition),
                                           churn_labels(reference, when, definition=definition))
    model = fit_churn_model(reference, "2026-06-30", progress=False)
    got = score_churn(stored, model, as_of="2026-09-30", progress=False)
    pd.testing.assert_frame_equal(got, score_churn(reference, model, as_of="2026-09-30", progress=False),
                                  check_exact=False, rtol=1e-9, atol=0)
    assert not stored.is_loaded("transactions") and len(got) > 1000

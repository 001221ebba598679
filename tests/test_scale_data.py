"""benchmarks/scale_data.py: K renamed copies of the sample are K times the sample."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from conftest import REPO, SAMPLE
from segkit.features import snapshot
from segkit.io import load_dataset

spec = importlib.util.spec_from_file_location("scale_data", REPO / "benchmarks" / "scale_data.py")
scale_data = importlib.util.module_from_spec(spec)
spec.loader.exec_module(scale_data)


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def doubled(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample-x2")
    written = scale_data.scale(SAMPLE, out, copies=2, parquet=True)
    return out, written


@pytest.fixture(scope="module")
def loaded(doubled):
    return {folder: load_dataset(doubled[0] / folder) for folder in ("", "parquet")}


def test_files_look_like_the_sample(doubled):
    out, written = doubled
    assert written == {"customers.csv": 2 * 2002, "interactions.csv": 2 * 71721,
                       "orders.csv": 2 * 53436, "surveys.csv": 2 * 2946, "contracts.csv": 2 * 3464}
    for name in written:
        source = (SAMPLE / name).read_bytes()
        copy = (out / name).read_bytes()
        assert copy.startswith(b"\xef\xbb\xbf") and source.startswith(b"\xef\xbb\xbf")
        assert copy.splitlines()[0] == source.splitlines()[0]  # the same Chinese header
        assert b"\r\n" not in copy
    orders = (out / "orders.csv").read_text(encoding="utf-8-sig").splitlines()
    first = (SAMPLE / "orders.csv").read_text(encoding="utf-8-sig").splitlines()[1]
    order_id, customer_id, rest = first.split(",", 2)
    assert orders[1] == f"{order_id}-k001,{customer_id}-k001,{rest}"
    assert orders[53436 + 1] == f"{order_id}-k002,{customer_id}-k002,{rest}"
    meta = (out / "dataset.yaml").read_text(encoding="utf-8")
    assert "as_of: 2026-09-30" in meta and "currency: CNY" in meta and "n_customers: 4000" in meta


@pytest.mark.parametrize("folder", ["", "parquet"])
def test_counts_are_twice_the_sample(sample, loaded, folder):
    ds = loaded[folder]
    assert ds.as_of == sample.as_of and ds.currency == sample.currency
    per_table = ds.summary()["tables"]
    want = sample.summary()["tables"]
    pd.testing.assert_frame_equal(per_table, 2 * want)
    for table in ("customers", "transactions", "interactions", "surveys"):
        assert len(ds.table(table)) == 2 * len(sample.table(table)), table
    # the same rejections for the same reasons, once per copy
    reasons = ds.rejected.groupby(["table", "column"]).size()
    pd.testing.assert_series_equal(reasons, 2 * sample.rejected.groupby(["table", "column"]).size())


def test_each_copy_has_the_snapshot_of_the_sample(sample, loaded):
    want = snapshot(sample).sort_index()
    both = snapshot(loaded[""])
    assert len(both) == 2 * len(want) > 3000
    for k in (1, 2):
        tail = f"-k00{k}"
        part = both.loc[both.index.str.endswith(tail)].copy()
        part.index = part.index.str.removesuffix(tail)
        assert len(part) == len(want)
        pd.testing.assert_frame_equal(part.sort_index(), want)


def test_ids_keep_their_gaps_and_empty_cells():
    rows = [["C1", "", "x"], [" ", "O9", "y"]]
    assert list(scale_data.renamed(rows, [0, 1], "-k007")) == [["C1-k007", "", "x"],
                                                               [" ", "O9-k007", "y"]]
    # an id that needs quoting keeps its suffix inside the quotes
    text = scale_data.csv_template([['A,1', 'say "hi"', ""]], [0, 2])
    assert text.replace(scale_data.SENTINEL, "-k001") == '"A,1-k001","say ""hi""",\n'
    assert scale_data.suffix(3, 100) == "-k003" and scale_data.suffix(12, 1000) == "-k0012"
    assert scale_data.id_positions("transactions", ["订单编号", "客户编号", "交易日期"]) == [0, 1]
    assert scale_data.id_positions("surveys", ["客户编号", "调查日期", "满意度"]) == [0]


# --- --typed: validated tables as Parquet, streamed in row groups -----------------------------------
@pytest.fixture(scope="module")
def typed(tmp_path_factory):
    out = tmp_path_factory.mktemp("typed-x3")
    # 60,000 rows per group: one copy of the orders (53,413 rows) per row group, all customers in one
    written = scale_data.write_typed(SAMPLE, out, copies=3, rows_per_group=60_000)
    return out, written


def test_typed_copies_are_three_samples_with_renamed_ids(sample, typed):
    import pyarrow.parquet as pq

    out, written = typed
    id_columns = {"customers": ["customer_id"], "transactions": ["order_id", "customer_id"],
                  "interactions": ["interaction_id", "customer_id"], "surveys": ["customer_id"]}
    for name, ids in id_columns.items():
        source = sample.table(name).reset_index(drop=True)
        n = len(source)
        assert n > 1900, name
        got = pd.read_parquet(out / f"{name}.parquet")
        assert written[name] == len(got) == 3 * n, name
        for column in ids:
            base = source[column]
            want = pd.concat([base + f"-k00{k}" for k in (1, 2, 3)], ignore_index=True)
            assert got[column].tolist() == want.tolist(), (name, column)  # missing ids stay missing
            # K times as many distinct ids, and no id shared between copies
            assert got[column].nunique() == 3 * base.nunique(), (name, column)
            if base.is_unique:
                assert got[column].is_unique, (name, column)
        # every other column is the sample's, three times over, in the sample's types
        for column in source.columns.difference(ids):
            for k in range(3):
                part = got[column].iloc[k * n:(k + 1) * n].reset_index(drop=True)
                if pd.api.types.is_datetime64_any_dtype(source[column]):
                    assert pd.api.types.is_datetime64_any_dtype(part), (name, column)
                    pd.testing.assert_series_equal(part, source[column], check_dtype=False, check_names=False)
                else:
                    assert part.astype(object).where(part.notna(), None).tolist() == \
                        source[column].astype(object).where(source[column].notna(), None).tolist(), (name, column)
    surveys = pd.read_parquet(out / "surveys.parquet")
    assert surveys["_position"].tolist() == list(range(3 * len(sample.surveys)))
    # streamed: one row group per copy of the orders, the 3 x 1,997 customers in one
    orders = pq.ParquetFile(out / "transactions.parquet")
    assert orders.num_row_groups == 3
    assert [orders.metadata.row_group(i).num_rows for i in range(3)] == [len(sample.transactions)] * 3
    assert pq.ParquetFile(out / "customers.parquet").num_row_groups == 1
    meta = json.loads((out / "meta.json").read_text())
    assert meta["as_of"] == "2026-09-30" and meta["currency"] == "CNY" and meta["copies"] == 3
    assert meta["rows"] == written


def test_typed_copies_give_three_times_the_snapshot(sample, typed):
    """DuckDB on the Parquet copies (as benchmarks/bench_scale.py reads them) = the sample's snapshot per copy."""
    ibis = pytest.importorskip("ibis")
    from segkit.engine import snapshot_from_ibis

    out, _ = typed
    con = ibis.duckdb.connect()
    for name in ("customers", "transactions", "interactions", "surveys"):
        con.read_parquet(str(out / f"{name}.parquet"), table_name=name)
    got = snapshot_from_ibis(con, "2026-09-30", transactions="transactions", customers="customers",
                             interactions="interactions", surveys="surveys")
    want = snapshot(sample).sort_index()
    assert len(got) == 3 * len(want)
    columns = [c for c in want.columns if c not in ("employees", "renewal_intent")]  # types differ, values checked above
    for k in (1, 2, 3):
        part = got.loc[got.index.str.endswith(f"-k00{k}"), columns].copy()
        part.index = part.index.str.removesuffix(f"-k00{k}")
        pd.testing.assert_frame_equal(part.sort_index(), want[columns], check_exact=False, rtol=1e-9, atol=0)

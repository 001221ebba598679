"""Snapshot at scale: pandas (the reference) against DuckDB through Ibis, with Polars as a
near-limit reference for the order and interaction aggregates, in one run.

    .venv/bin/python benchmarks/bench_snapshot.py --copies 100

1. ``benchmarks/scale_data.py`` writes K copies of ``data/sample`` (K = 100: 200,200 customers,
   5.3 M orders, 7.2 M interactions) unless the folder exists.
2. ``load_dataset`` reads and validates it once (timed; this is still pandas, see
   docs/engine.md), and the typed tables are saved as Parquet.
3. Each engine runs in its own process (so its peak memory is its own) on those typed tables:
   ``snapshot(ds, as_of)`` with ``engine="pandas"`` and ``engine="duckdb"``, and Polars computing
   the same order and interaction aggregates. Reading the typed tables is not timed.
4. The DuckDB snapshot must equal the pandas one (integers and dates exactly, floats to 1e-9
   relative) and Polars' aggregates the same columns of it. Results are appended to
   ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
AS_OF = "2026-09-30"
TABLE_NAMES = ("customers", "transactions", "interactions", "surveys")


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM; unlike ru_maxrss it is not inherited from
    the parent through fork and exec)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # pragma: no cover - not Linux


def _load_typed(folder: Path):
    import pandas as pd

    from segkit.io import Dataset

    meta = json.loads((folder / "meta.json").read_text())
    frames = {name: pd.read_parquet(folder / f"{name}.parquet") for name in TABLE_NAMES}
    empty = pd.DataFrame(columns=["table", "file", "row", "column", "value", "reason", "record"])
    return Dataset(**frames, rejected=empty, warnings=empty.drop(columns="record"),
                   files=pd.DataFrame(columns=["table", "file", "rows_read", "rows_accepted", "rows_rejected"]),
                   as_of=pd.Timestamp(meta["as_of"]), currency=meta["currency"], present=frozenset(meta["present"]))


def child(engine: str, folder: Path) -> None:
    """One engine on the typed tables; prints seconds and peak RSS as JSON."""
    ds = _load_typed(folder)
    base = _peak_mb()
    start = time.perf_counter()
    if engine in ("pandas", "duckdb"):
        from segkit.features import snapshot

        result = snapshot(ds, AS_OF, engine=engine)
    else:
        result = _polars_aggregates(ds)
    seconds = time.perf_counter() - start
    result.attrs = {}  # Timestamps in attrs do not go into Parquet metadata
    result.to_parquet(folder / f"result-{engine}.parquet")
    print(json.dumps({"engine": engine, "seconds": seconds, "peak_mb": _peak_mb(), "extra_mb": _peak_mb() - base}))


def _polars_aggregates(ds):
    """The order and interaction counts/sums of the snapshot, in Polars (a reference, not segkit)."""
    import polars as pl

    tx = pl.from_pandas(ds.transactions[["customer_id", "order_date", "amount"]]).lazy()
    it = pl.from_pandas(ds.interactions[["customer_id", "date", "type"]]).lazy()
    return polars_aggregates(tx, it, AS_OF).collect().to_pandas().set_index("customer_id")


def polars_aggregates(tx, it, as_of):
    """The same aggregates as a Polars LazyFrame over ``tx`` (customer_id, order_date, amount)
    and ``it`` (customer_id, date, type), e.g. ``pl.scan_parquet(...)`` for data that do not fit
    in memory (collect it with the streaming engine)."""
    import pandas as pd
    import polars as pl

    from segkit.features import INTERACTION_COUNTS, NOT_CONTACT, ORDER_COUNT_WINDOWS, ORDER_REVENUE_WINDOWS, months_before

    as_of = pd.Timestamp(as_of)

    def window(column: str, newest: int, oldest: int):
        upper, lower = months_before(as_of, newest), months_before(as_of, oldest)
        return (pl.col(column) > lower.to_pydatetime()) & (pl.col(column) <= upper.to_pydatetime())

    tx = tx.select("customer_id", "order_date", "amount").filter(pl.col("order_date") <= as_of.to_pydatetime())
    positive = pl.col("amount") > 0
    exprs = [pl.col("amount").sum().alias("revenue_total"), positive.sum().cast(pl.Int64).alias("orders_total")]
    exprs += [pl.col("amount").filter(window("order_date", n, o)).sum().alias(f"revenue_{w}") for w, (n, o) in ORDER_REVENUE_WINDOWS.items()]
    exprs += [(positive & window("order_date", n, o)).sum().cast(pl.Int64).alias(f"orders_{w}") for w, (n, o) in ORDER_COUNT_WINDOWS.items()]
    orders = tx.group_by("customer_id").agg(exprs)
    it = it.select("customer_id", "date", "type").filter(pl.col("date") <= as_of.to_pydatetime())
    contact = ~pl.col("type").is_in(list(NOT_CONTACT)).fill_null(False)
    counts = it.group_by("customer_id").agg([
        ((contact if kind is None else (pl.col("type") == kind).fill_null(False)) & window("date", n, o)).sum().cast(pl.Int64).alias(col)
        for col, (kind, n, o) in INTERACTION_COUNTS.items()
    ])
    return orders.join(counts, on="customer_id", how="full", coalesce=True)


def run_child(engine: str, folder: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", engine, "--typed", str(folder)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", "-k", type=int, default=100)
    parser.add_argument("--data", type=Path, default=None, help="scaled folder (default benchmarks/.data/sample-x<K>)")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--typed", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; do not append to RESULTS.md")
    args = parser.parse_args()
    if args.child:
        child(args.child, args.typed)
        return

    import numpy as np
    import pandas as pd

    from segkit.io import load_dataset

    folder = args.data or ROOT / "benchmarks" / ".data" / f"sample-x{args.copies}"
    if not folder.exists():
        subprocess.run([sys.executable, str(ROOT / "benchmarks" / "scale_data.py"), "--copies", str(args.copies), "--out", str(folder)],
                       check=True)
    start = time.perf_counter()
    ds = load_dataset(folder)
    load_seconds, load_peak = time.perf_counter() - start, _peak_mb()
    typed = folder / "typed"
    typed.mkdir(exist_ok=True)
    for name in TABLE_NAMES:
        ds.table(name).to_parquet(typed / f"{name}.parquet")
    (typed / "meta.json").write_text(json.dumps({"as_of": str(ds.as_of.date()), "currency": ds.currency, "present": sorted(ds.present)}))
    rows = {name: len(ds.table(name)) for name in TABLE_NAMES}
    del ds

    results = {engine: run_child(engine, typed) for engine in ("pandas", "duckdb", "polars")}
    reference = pd.read_parquet(typed / "result-pandas.parquet")
    duck = pd.read_parquet(typed / "result-duckdb.parquet")
    pd.testing.assert_frame_equal(duck, reference, check_exact=False, rtol=1e-9)
    polars = pd.read_parquet(typed / "result-polars.parquet").reindex(reference.index)
    for column in polars.columns:
        expected = reference[column].to_numpy(dtype=float)
        got = polars[column].fillna(0).to_numpy(dtype=float)
        if column.startswith("revenue"):
            got = np.round(got, 2)
        assert np.allclose(got, expected, rtol=1e-9, atol=0), column
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip().split("load average:")[-1].strip()

    lines = [
        "",
        f"## Snapshot at scale: pandas vs DuckDB (Ibis), Polars as reference ({rows['customers']:,} customers)",
        "",
        f"`{Path(sys.executable).relative_to(ROOT) if str(sys.executable).startswith(str(ROOT)) else 'python'} benchmarks/bench_snapshot.py --copies {args.copies}`"
        f" — {rows['transactions']:,} orders, {rows['interactions']:,} interactions, {rows['surveys']:,} survey answers; as of {AS_OF}; load average at the end {load}.",
        "",
        "| step | wall time | peak RSS | extra over the typed tables |",
        "| --- | --- | --- | --- |",
        f"| `load_dataset` (pandas: read CSV, validate) | {load_seconds:.1f} s | {load_peak:,.0f} MB | |",
    ]
    names = {"pandas": "snapshot, `engine=\"pandas\"` (reference)", "duckdb": "snapshot, `engine=\"duckdb\"`",
             "polars": "Polars: order and interaction aggregates only (reference, not segkit)"}
    for engine, result in results.items():
        lines.append(f"| {names[engine]} | {result['seconds']:.2f} s | {result['peak_mb']:,.0f} MB | {result['extra_mb']:,.0f} MB |")
    lines += ["", "The DuckDB snapshot equals pandas' (every column; floats to 1e-9 relative), and Polars' aggregates "
              "equal the same columns of it. Each engine ran in its own process on the typed tables."]
    text = "\n".join(lines) + "\n"
    print(text)
    if not args.no_write:
        with (ROOT / "benchmarks" / "RESULTS.md").open("a", encoding="utf-8") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()

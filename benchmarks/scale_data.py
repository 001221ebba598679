"""Scale a segkit data folder by K for benchmarks: K copies with renamed ids.

Every id column of every table (customer, order and interaction ids; surveys have none)
gets a per-copy suffix, ``C0001`` -> ``C0001-k003`` in copy 3, in the customers table and in
every reference to it, so each copy is the original data set under other names: the same
accepted and rejected rows (the intentional dirty records included), the same snapshot per
customer. Empty ids stay empty. The files are written the way the source is (CSV: the
source's headers, UTF-8 with BOM when the source has one, LF line ends), copy after copy, so
memory holds one copy of the source whatever K is; ``dataset.yaml`` keeps the source's
``as_of`` and currency.

    .venv/bin/python benchmarks/scale_data.py --copies 100 --out benchmarks/.data/sample-x100
    .venv/bin/python benchmarks/scale_data.py --copies 100 --out ... --parquet  # also .parquet

K = 100 of ``data/sample`` gives 200,200 customer rows, 5.3 M orders and 7.2 M interactions.
With ``--parquet`` each table is also written as Parquet (all columns text, empty cells
null, one row group per copy) next to the CSV files, in a ``parquet/`` sub-folder with its
own ``dataset.yaml``, so ``load_dataset`` can read either folder.

``--typed`` writes instead the *validated* tables, as an engine reads them from a data lake:

    .venv/bin/python benchmarks/scale_data.py --copies 1872 --out benchmarks/.data/typed-x1872 --typed

The source is loaded once with ``load_dataset`` (the rejected rows stay out), and each table
(``customers``, ``transactions``, ``interactions``, ``surveys``; canonical column names and
types: timestamps, float amounts) goes to ``<out>/<table>.parquet`` copy after copy, several
copies per row group (``--rows-per-group``, about 1 M rows), so memory holds one row group
whatever K is. Ids get the same suffixes as in the CSV copies; ``surveys`` gets ``_position``,
its row order in the export (which breaks ties between same-day answers). ``meta.json``
records as_of, currency, K and the row counts. No CSV files are written.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import yaml

from segkit.schema import ALIASES, TABLES, normalise_header

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "data" / "sample"
BOM = "\ufeff"


def table_of(path: Path) -> str | None:
    """The segkit table a file holds, by its name (as :func:`segkit.load_dataset` finds it)."""
    stem = path.stem.lower()
    for name, table in TABLES.items():
        if any(stem == s or stem.startswith(s) for s in table.file_stems):
            return name
    return None


def id_positions(table: str, header: list[str]) -> list[int]:
    """Positions of the columns of kind ``id`` (customer, order, interaction ids) in ``header``."""
    kinds = {c.name: c.kind for c in TABLES[table].columns}
    out = []
    for i, raw in enumerate(header):
        canonical = ALIASES[table].get(normalise_header(raw)[0])
        if canonical is not None and kinds.get(canonical) == "id":
            out.append(i)
    return out


def suffix(copy: int, copies: int) -> str:
    """``-k003``: the id suffix of copy ``copy`` (1-based), zero-padded to at least 3 digits."""
    return f"-k{copy:0{max(3, len(str(copies)))}d}"


SENTINEL = "\ue000"  # a private-use character: marks where each copy's suffix goes


def renamed(rows: list[list[str]], positions: list[int], tail: str) -> Iterator[list[str]]:
    """``rows`` with ``tail`` appended to every non-empty id (at ``positions``)."""
    for row in rows:
        out = list(row)
        for i in positions:
            if i < len(out) and out[i].strip():
                out[i] = out[i] + tail
        yield out


def read_source(path: Path) -> tuple[list[str], list[list[str]], bool]:
    """Header, rows and whether the file starts with a UTF-8 BOM."""
    raw = path.read_bytes()
    has_bom = raw.startswith(BOM.encode())
    text = raw.decode("utf-8-sig")
    if SENTINEL in text:
        raise ValueError(f"{path}: contains U+E000, which scale_data uses as a marker")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    return rows[0], rows[1:], has_bom


def csv_template(rows: list[list[str]], positions: list[int]) -> str:
    """The rows as CSV text with a marker after every non-empty id (inside its quotes, if any).

    A copy is then one ``str.replace`` of the marker by the copy's suffix: the csv module
    formats each row once, not once per copy.
    """
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(renamed(rows, positions, SENTINEL))
    return buffer.getvalue()


def write_parquet(path: Path, header: list[str], rows: list[list[str]], positions: list[int],
                  copies: int) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = pa.schema([(name, pa.string()) for name in header])
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(header)
    base = [pa.array([v if v != "" else None for v in col], pa.string()) for col in columns]
    blank = {i: pc.equal(pc.utf8_trim_whitespace(base[i]), "") for i in positions}
    with pq.ParquetWriter(path, schema) as writer:
        for k in range(1, copies + 1):  # one row group per copy; empty ids (null) stay empty
            arrays = list(base)
            for i in positions:
                tagged = pc.binary_join_element_wise(base[i], suffix(k, copies), "")
                arrays[i] = pc.if_else(blank[i], base[i], tagged)
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


TYPED_TABLES = ("customers", "transactions", "interactions", "surveys")


def typed_frames(source: Path) -> tuple[dict, object]:
    """The validated tables of ``source`` in the column types an engine reads from Parquet.

    ``employees`` becomes float64 and ``renewal_intent`` object, so Arrow and DuckDB read them
    without pandas extension types; ``nps`` becomes float64 (as :mod:`segkit.engine` does).
    Returns the tables and the :class:`~segkit.io.Dataset`.
    """
    from segkit.io import load_dataset

    ds = load_dataset(source)
    customers = ds.customers.copy()
    for column, kind in (("employees", "float64"), ("renewal_intent", "object")):
        if column in customers.columns:
            customers[column] = customers[column].astype(kind)
    surveys = ds.surveys.copy()
    surveys["nps"] = surveys["nps"].astype("float64")
    surveys["_position"] = range(len(surveys))
    frames = {"customers": customers, "transactions": ds.transactions, "interactions": ds.interactions,
              "surveys": surveys}
    return frames, ds


def write_typed(source: Path, out: Path, copies: int, rows_per_group: int = 1_000_000) -> dict[str, int]:
    """Write ``copies`` renamed copies of the validated tables of ``source`` as Parquet.

    Streams: each row group holds as many whole copies as fit in ``rows_per_group`` rows (at
    least one), built from the one Arrow copy of the source and written before the next. Returns
    the number of rows written per table.
    """
    import json

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from segkit.schema import TABLES as SCHEMA

    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    frames, ds = typed_frames(source)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for name in TYPED_TABLES:
        base = pa.Table.from_pandas(frames[name], preserve_index=False)
        kinds = {c.name: c.kind for c in SCHEMA[name].columns}
        ids = [i for i, field in enumerate(base.schema) if kinds.get(field.name) == "id"]
        for i in ids:  # ids as plain strings, whatever pandas' string type was
            base = base.set_column(i, base.schema.field(i).name, base.column(i).cast(pa.string()))
        per_group = max(1, rows_per_group // max(1, base.num_rows))
        position = base.schema.get_field_index("_position")
        with pq.ParquetWriter(out / f"{name}.parquet", base.schema) as writer:
            for first in range(1, copies + 1, per_group):
                parts = []
                for k in range(first, min(copies, first + per_group - 1) + 1):
                    part = base
                    for i in ids:  # null ids stay null
                        tagged = pc.binary_join_element_wise(base.column(i), suffix(k, copies), "")
                        part = part.set_column(i, base.schema.field(i), tagged)
                    if position >= 0:  # the export's row order continues copy after copy
                        shifted = pc.add(base.column(position), (k - 1) * base.num_rows)
                        part = part.set_column(position, base.schema.field(position), shifted)
                    parts.append(part)
                group = pa.concat_tables(parts)
                writer.write_table(group, row_group_size=group.num_rows)
        written[name] = base.num_rows * copies
    meta = {"as_of": str(ds.as_of.date()), "currency": ds.currency, "copies": copies,
            "scaled_from": str(source), "present": sorted(ds.present), "rows": written}
    (out / "meta.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return written


def write_manifest(source: Path, out: Path, copies: int) -> None:
    manifest = source / "dataset.yaml"
    meta = yaml.safe_load(manifest.read_text(encoding="utf-8")) if manifest.is_file() else {}
    meta = dict(meta or {})
    meta["name"] = f"{meta.get('name', source.name)} x{copies}"
    if "n_customers" in meta:
        meta["n_customers"] = int(meta["n_customers"]) * copies
    meta["scaled_from"] = str(source)
    meta["copies"] = copies
    meta["id_suffix"] = f"{suffix(1, copies)} ... {suffix(copies, copies)}"
    text = ("# Written by benchmarks/scale_data.py: copies of the source with renamed ids.\n"
            + yaml.safe_dump(meta, allow_unicode=True, sort_keys=False))
    (out / "dataset.yaml").write_text(text, encoding="utf-8")


def scale(source: Path, out: Path, copies: int, parquet: bool = False) -> dict[str, int]:
    """Write ``copies`` renamed copies of every table file of ``source`` into ``out``.

    Returns the number of data rows written per file.
    """
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    files = sorted(p for p in source.glob("*.csv") if table_of(p) is not None)
    if not files:
        raise FileNotFoundError(f"{source}: no table files (customers*.csv, orders*.csv, ...)")
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    for path in files:
        table = table_of(path)
        header, rows, has_bom = read_source(path)
        positions = id_positions(table, header)
        with open(out / path.name, "w", encoding="utf-8-sig" if has_bom else "utf-8",
                  newline="") as handle:
            csv.writer(handle, lineterminator="\n").writerow(header)
            template = csv_template(rows, positions)
            for k in range(1, copies + 1):  # one copy at a time
                handle.write(template.replace(SENTINEL, suffix(k, copies)))
        written[path.name] = len(rows) * copies
        if parquet:
            (out / "parquet").mkdir(exist_ok=True)
            write_parquet(out / "parquet" / f"{path.stem}.parquet", header, rows, positions,
                          copies)
    write_manifest(source, out, copies)
    if parquet:
        write_manifest(source, out / "parquet", copies)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--copies", "-k", type=int, required=True, help="number of copies K")
    parser.add_argument("--out", type=Path, required=True, help="folder to write")
    parser.add_argument("--source", type=Path, default=SAMPLE, help="data folder (data/sample)")
    parser.add_argument("--parquet", action="store_true", help="also write Parquet files")
    parser.add_argument("--typed", action="store_true",
                        help="write only the validated tables as typed Parquet (for engines)")
    parser.add_argument("--rows-per-group", type=int, default=1_000_000,
                        help="with --typed: rows per Parquet row group (whole copies)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    if args.typed:
        written = write_typed(args.source, args.out, args.copies, args.rows_per_group)
    else:
        written = scale(args.source, args.out, args.copies, args.parquet)
    for name, n in written.items():
        print(f"{args.out / name}: {n:,} rows")
    print(f"{args.copies} copies in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

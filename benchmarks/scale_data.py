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
    args = parser.parse_args(argv)
    started = time.perf_counter()
    written = scale(args.source, args.out, args.copies, args.parquet)
    for name, n in written.items():
        print(f"{args.out / name}: {n:,} rows")
    print(f"{args.copies} copies in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())

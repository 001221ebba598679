"""Loading with validation on an engine: files -> DuckDB tables + a rejected-row ledger.

:func:`segkit.io.load_dataset` with ``engine="duckdb"`` (the default for files) lands here. It
applies exactly the rules of the pandas reference implementation in :mod:`segkit.io` (same
reasons, same rows, same values; the tests check the two against each other), but the data
never sit in pandas:

1. **Reading.** Each file is streamed into an embedded DuckDB database (a file in a temporary
   folder, so DuckDB can spill) as text columns plus the row number a person sees in the file.
   Well-formed CSV goes through Arrow's multi-threaded reader; a CSV file with malformed lines,
   quoted line breaks or odd headers, and XLSX and ``.txt`` files go through the reference
   reader of :mod:`segkit.io` (they are small or messy, and their row numbers need the line
   by line reader). GB18030/GBK files are transcoded while they are read.
2. **Rules as column expressions.** Every rule of :mod:`segkit.schema` is an Ibis expression
   that yields a mask and a reason per row. Values in the common forms (``2026-09-30``,
   ``1234.50``) are parsed by the engine; each *distinct* spelling of any other form
   (``2026年9月30日``, ``¥1,200``, a vocabulary synonym) is parsed once by the reference parser
   of :mod:`segkit.io` and joined back, so both engines read every value identically.
3. **Rules across rows** (duplicate ids, unknown customers, dates after the as-of date) are
   window functions and joins.
4. **The ledger** (file, row, column, value, reason, raw record as JSON) stays in the engine;
   :meth:`segkit.io.Dataset.write_rejected` writes it with DuckDB, and only counts and what a
   caller asks for come into memory.

The accepted tables are materialised in pandas only when a caller reads
``Dataset.transactions`` etc.; :func:`segkit.features.snapshot` aggregates them in DuckDB.

Why this module is long: the DuckDB reader is one pipeline (the store, streaming files in,
every rule as a column expression, the ledger, the saved store, Ibis and database sources)
whose sections share the private ``EngineStore`` and ``_File`` records, and an Ibis table is
read by the same file loop as a CSV file. The rules as column expressions (``_TableRules``,
about 300 lines) are the seam for a later split.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pydantic import Field

from segkit.cells import (
    _FLOAT_ID,
    _FLOAT_WHOLE_ID,
    _FORMAT_CHARS,
    _NARROW,
    _WIDE,
    REASON_AMBIGUOUS_DATE,
    REASON_BOOL,
    REASON_CREDIT,
    REASON_DECIMAL_ID,
    REASON_EXCEL_DATE,
    REASON_HEADER,
    REASON_NOT_FINITE,
    REASON_NUMBER,
    REASON_REJECTED_CUSTOMER,
    REASON_UNKNOWN,
    REASON_UNKNOWN_DERIVED,
    REASON_WHOLE,
    _fold,
    _parse_bool,
    _parse_dates,
    _read_numbers,
    file_date_order,
    number_convention,
    reason_date,
    reason_date_range,
    reason_empty,
    reason_late,
    reason_not_before,
    reason_range,
    reason_vocab,
)
from segkit.config import StrictModel, load_section, register_section
from segkit.io import (
    PROBLEM_COLUMNS,
    REJECTED_COLUMNS,
    Dataset,
    SchemaError,
    dataset_facts,
    resolve_as_of,
)
from segkit.periods import DateRange
from segkit.rawfiles import _RESERVED_HEADER, _map_headers, _read_raw
from segkit.schema import TABLES, Table, is_valid_credit_code
from segkit.sources import Discovery, FileSpec, detect_encoding, file_kind, notice, open_binary

__all__ = ["EngineConfig", "EngineStore", "from_ibis", "load_with_engine", "open_store", "save_store"]


@register_section("engine")
class EngineConfig(StrictModel):
    """The ``engine`` section (``segkit/defaults/engine.yaml``)."""

    default: str
    memory_limit: str
    threads: int
    temp_directory: str
    batch_rows: int
    max_field_lines: int
    notes_sheets: list[str]
    max_columns: int
    dates: DateRange
    max_rejected_share: float | None = Field(ge=0, le=1)


ENGINE_VARIABLE = "SEGKIT_ENGINE"


def engine_config(config=None) -> EngineConfig:
    """The ``engine`` section; the environment variable ``SEGKIT_ENGINE`` (``duckdb`` or
    ``pandas``), set by ``segkit report --engine``, overrides ``default``."""
    cfg = load_section("engine", EngineConfig, config)
    cfg.default = os.environ.get(ENGINE_VARIABLE) or cfg.default
    if cfg.default not in ("duckdb", "pandas"):
        raise SchemaError(f"engine.default ({ENGINE_VARIABLE}) must be 'duckdb' or 'pandas', not {cfg.default!r}")
    return cfg


# Python's str.strip() whitespace: the characters, and one regular-expression class (RE2)
_WS_CHARS = "".join(ch for ch in map(chr, range(0x3001)) if ch.isspace())
_WS = ("[\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x{85}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}"
       "\\x{202f}\\x{205f}\\x{3000}]")
_STRIP = f"^{_WS}+|{_WS}+$"


def _ibis():
    import ibis

    return ibis


def ibis_table(con, value):
    """An Ibis table from a table name on ``con`` (``"db.table"`` allowed) or an Ibis table expression."""
    if value is None or not isinstance(value, str):
        return value
    database, _, name = value.rpartition(".")
    return con.table(name, database=database or None)


def _run(duck, query: str, params=None):
    """Execute on a fresh cursor and return it (DuckDB 2 refuses new work on a connection whose
    last result was not fetched)."""
    return duck.cursor().execute(query, params or [])


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


# --------------------------------------------------------------------------------------------
# the store: a DuckDB database in a temporary folder, removed with the Dataset


def _remove(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


@dataclass
class EngineStore:
    """Where an engine-loaded :class:`~segkit.io.Dataset` lives: an Ibis DuckDB connection with
    the accepted tables ``accepted_<table>`` and the ledger ``problems``.

    ``files`` maps each file id to its path; ``columns`` lists the output columns of each table.
    """

    con: object
    workdir: Path | None
    columns: dict[str, list[str]]
    extras: dict[str, list[str]]
    record_sql: str = ""
    loaded: dict = field(default_factory=dict)  # table -> id of the frame loaded from the engine
    _finalizer: object = field(default=None, repr=False)

    @property
    def duck(self):
        return self.con.con

    def sql(self, query: str, params=None):
        return self.duck.cursor().execute(query, params or [])

    def arrow(self, query: str) -> pa.Table:
        return self.duck.cursor().sql(query).to_arrow_table()

    def table(self, name: str):
        """The accepted rows of ``name`` as an Ibis table (canonical columns, typed)."""
        return self.con.table(f"accepted_{name}")

    def count(self, name: str) -> int:
        return int(self.sql(f"SELECT count(*) FROM accepted_{name}").fetchone()[0])

    def has_values(self, name: str, column: str) -> bool | None:
        """Whether ``column`` of ``name`` holds a value; None when there is no such column."""
        if column not in self.columns[name]:
            return None
        return bool(self.sql(f"SELECT EXISTS (SELECT 1 FROM accepted_{name} WHERE {_quote(column)} IS NOT NULL)").fetchone()[0])

    def frame(self, name: str, where: str | None = None, columns: list[str] | None = None) -> pd.DataFrame:
        """The accepted rows of ``name`` in pandas, with the dtypes of the reference loader.

        ``where``: an SQL condition on the canonical columns (segkit's own, never text from a
        file); only the rows meeting it come into pandas, in their order in the table.
        ``columns``: only these columns (default all).
        """
        cols = self.columns[name] if columns is None else [c for c in self.columns[name] if c in columns]
        if columns is not None and len(cols) != len(set(columns)):
            raise KeyError(f"{name} has no column {sorted(set(columns) - set(cols))}")
        condition = f"WHERE {where}" if where else ""
        arrow = self.arrow(f"SELECT {', '.join(map(_quote, cols))} FROM accepted_{name} {condition} ORDER BY _fid, _row")
        frame = arrow.to_pandas()
        table = TABLES[name]
        for col in table.columns:
            if col.name in frame.columns:
                frame[col.name] = _as_kind(frame[col.name], col.kind)
        for extra in self.extras[name]:
            if extra in frame.columns:
                frame[extra] = frame[extra].astype("str")
        if "is_refund" in frame.columns:
            frame["is_refund"] = frame["is_refund"].astype(bool)
        return frame

    def problems(self, reject: bool, limit: int | None = None) -> pd.DataFrame:
        """The ledger (``reject=True``) or the warnings, in the reference loader's order."""
        cols = REJECTED_COLUMNS if reject else PROBLEM_COLUMNS
        query = self._problems_sql(reject) + (f" LIMIT {int(limit)}" if limit is not None else "")
        frame = self.arrow(query).to_pandas()
        frame["row"] = frame["row"].astype("int64")
        return frame[cols].astype({c: "str" for c in cols if c != "row"})

    def by_reason(self, reject: bool) -> pd.DataFrame:
        """Problems and rows per table and rule (the rule is the reason up to ``:``, ``;`` or ``(``)."""
        rule = r"regexp_replace(reason, '\s*[:;(].*$', '')"
        query = (f"SELECT _table AS \"table\", {rule} AS rule, count(*) AS problems, "
                 f"count(DISTINCT (_fid, _row)) AS \"rows\" FROM problems WHERE reject = {str(reject).upper()} "
                 "GROUP BY ALL ORDER BY \"table\", \"rows\" DESC, rule")
        frame = self.arrow(query).to_pandas()
        return frame.astype({"problems": "int64", "rows": "int64", "table": "str", "rule": "str"})

    def rule_problems(self, table: str, rule: str, limit: int) -> pd.DataFrame:
        """The first ``limit`` rejections of ``rule`` (a reason up to ``:``, ``;`` or ``(``) in
        ``table``, in ledger order: file, row, column, value, reason."""
        query = (f"SELECT f.path AS file, p._row AS row, p.col AS \"column\", p.value, p.reason "
                 f"FROM problems p JOIN _files f USING (_fid) WHERE p.reject AND p._table = ? "
                 f"AND regexp_replace(p.reason, '\\s*[:;(].*$', '') = ? ORDER BY file, row, p.rule_no LIMIT {int(limit)}")
        cols = ["file", "row", "column", "value", "reason"]
        frame = pd.DataFrame(self.sql(query, [table, rule]).fetchall(), columns=cols)
        return frame.astype({c: "int64" if c == "row" else "str" for c in cols})

    def _problems_sql(self, reject: bool) -> str:
        record = ", r.record" if reject else ""
        join = f" LEFT JOIN ({self.record_sql}) r USING (_table, _fid, _row)" if reject else ""
        return (f'SELECT p._table AS "table", f.path AS file, p._row AS row, p.col AS "column", p.value, p.reason{record} '
                f"FROM problems p JOIN _files f USING (_fid){join} WHERE p.reject = {str(reject).upper()} "
                'ORDER BY "table", file, row, p.rule_no')

    def write_problems(self, path: Path, *, reject: bool = True) -> Path:
        """Write the ledger (or the warnings) from the engine: Parquet as it is, CSV with every text
        cell that a spreadsheet would run as a formula neutralised (as :mod:`segkit.writers` does)."""
        from segkit.writers import DANGEROUS_PREFIXES

        cols = REJECTED_COLUMNS if reject else PROBLEM_COLUMNS
        base = self._problems_sql(reject)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.suffix.lower() in (".parquet", ".pq"):
            self.sql(f"COPY ({base}) TO {_literal(str(path))} (FORMAT parquet)").fetchall()
            return path

        def safe(column: str) -> str:
            c = _quote(column)
            danger = " OR ".join(f"starts_with({c}, {_literal(p)})" for p in DANGEROUS_PREFIXES)
            return f"CASE WHEN {danger} THEN {tick} || {c} ELSE {c} END AS {c}"

        tick = _literal("'")

        select = ", ".join(_quote(c) if c == "row" else safe(c) for c in cols)
        body = path.with_name(path.name + ".part")
        self.sql(f"COPY (SELECT {select} FROM ({base})) TO {_literal(str(body))} (FORMAT csv, HEADER)").fetchall()
        with path.open("wb") as out, body.open("rb") as part:  # UTF-8 with BOM, as segkit.writers writes CSV for Excel
            out.write(codecs.BOM_UTF8)
            shutil.copyfileobj(part, out, 1 << 24)
        body.unlink()
        return path

    def fingerprint(self) -> str:
        """A hash of every accepted row, in order (the engine's :meth:`Dataset.fingerprint`)."""
        parts = []
        for name, cols in self.columns.items():
            row = ", ".join(["_fid", "_row", *map(_quote, cols)])
            value = self.sql(f"SELECT count(*), coalesce(sum(hash({row}) % 1000000007), 0), "
                             f"coalesce(bit_xor(hash({row})), 0) FROM accepted_{name}").fetchone()
            parts.append(f"{name}:{value[0]}:{value[1]}:{value[2]}")
        return "|".join(parts)

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()


def _as_kind(series: pd.Series, kind: str) -> pd.Series:
    if kind == "date":
        return pd.to_datetime(series).astype("datetime64[ns]")
    if kind in ("money", "float"):
        return series.astype("float64")
    if kind == "int":
        return series.astype("Int64")
    if kind == "bool":
        return series.astype("boolean")
    return series.astype("str")


def _connect(cfg: EngineConfig):
    """An in-memory DuckDB database that spills to a temporary folder above ``memory_limit``."""
    ibis = _ibis()
    base = cfg.temp_directory or None
    workdir = Path(tempfile.mkdtemp(prefix="segkit-", dir=base))
    con = ibis.duckdb.connect()
    _run(con.con, f"SET memory_limit = {_literal(cfg.memory_limit)}")
    _run(con.con, f"SET temp_directory = {_literal(str(workdir))}")
    _run(con.con, "SET preserve_insertion_order = true")  # a table's rowid is then its line in the file
    if cfg.threads:
        _run(con.con, f"SET threads = {int(cfg.threads)}")
    return con, workdir


# --------------------------------------------------------------------------------------------
# reading files into text tables


@dataclass
class _File:
    fid: int
    path: Path
    table: str
    encoding: str = ""
    row_sql: str = "_row"                                # the row a person sees, in raw_f<fid>
    headers: list[str] = field(default_factory=list)   # as written in the file
    columns: list[str] = field(default_factory=list)   # canonical name or the header of an extra column
    units: dict[str, float] = field(default_factory=dict)
    malformed: list[dict] = field(default_factory=list)
    header_rows: list[tuple[int, str]] = field(default_factory=list)  # (row, line) of a repeated header line
    spec: FileSpec = field(default_factory=FileSpec)
    notes: list[str] = field(default_factory=list)     # facts about the whole file (warnings)


def _rows_in(file: _File, rows_sql: str) -> str:
    """A condition on ``raw_f<fid>``: its rows whose row number is among ``rows_sql`` (a query of
    one column). Written on the rowid where the row number is one, which the engine then reads
    straight from the table instead of scanning every record through a join."""
    if file.row_sql == "rowid + 2":
        return f"rowid IN (SELECT r - 2 FROM ({rows_sql}) AS wanted(r))"
    return f"{file.row_sql} IN ({rows_sql})"


class _NotSimple(Exception):
    """The file needs the line-by-line reader."""


def _csv_header(path: Path, encoding: str) -> list[str]:
    with open_binary(path) as binary, io.TextIOWrapper(binary, encoding=encoding, newline="") as handle:
        first = handle.readline()
    if '"' in first or not first.strip():
        raise _NotSimple
    header = next(csv.reader([first.rstrip("\r\n")]))
    if any(not h.strip() or _RESERVED_HEADER.match(h) for h in header) or len(set(header)) != len(header):
        raise _NotSimple  # empty, repeated or reserved headers: the reference reader names or refuses them
    return header


def _arrow_csv(path: Path, encoding: str, width: int, batch_rows: int):
    import pyarrow.csv as pacsv

    names = [f"c{i}" for i in range(width)]
    codec = "utf8" if encoding.startswith("utf-8") else {"big5": "cp950"}.get(encoding, encoding)
    read = pacsv.ReadOptions(column_names=names, skip_rows=1, encoding=codec, block_size=1 << 22)
    # a line with the wrong number of fields raises ArrowInvalid: the reference reader then names it
    parse = pacsv.ParseOptions(ignore_empty_lines=False, newlines_in_values=True)
    convert = pacsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=False,
                                   quoted_strings_can_be_null=False)
    return pacsv.open_csv(path, read_options=read, parse_options=parse, convert_options=convert)


def _batches_with_rows(batches, names: list[str], first_row: int):
    """Batches of text columns ``c0..`` plus ``_row`` (the row a person sees)."""
    row = first_row
    for batch in batches:
        n = batch.num_rows
        if not n:
            continue
        arrays = [batch.column(i).cast(pa.string()) for i in range(len(names))]
        yield pa.RecordBatch.from_arrays([*arrays, pa.array(np.arange(row, row + n, dtype="int64"))],
                                         names=[*names, "_row"])
        row += n


def _frame_batches(frame: pd.DataFrame, rows: np.ndarray, batch_rows: int):
    names = [f"c{i}" for i in range(frame.shape[1])]
    for start in range(0, len(frame), batch_rows):
        part = frame.iloc[start:start + batch_rows]
        arrays = [pa.array(part.iloc[:, i].astype(object).tolist(), type=pa.string()) for i in range(frame.shape[1])]
        yield pa.RecordBatch.from_arrays([*arrays, pa.array(rows[start:start + batch_rows], type=pa.int64())],
                                         names=[*names, "_row"])


def _store_batches(duck, name: str, width: int, batches) -> int:
    schema = pa.schema([*(pa.field(f"c{i}", pa.string()) for i in range(width)), pa.field("_row", pa.int64())])
    reader = pa.RecordBatchReader.from_batches(schema, batches)
    cursor = duck.cursor()
    cursor.register("_incoming", reader)
    cursor.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _incoming").fetchall()
    cursor.close()
    return int(_run(duck, f"SELECT count(*) FROM {name}").fetchone()[0])


def _read_file(duck, file: _File, batch_rows: int) -> None:
    """Stream one file into ``raw_f<fid>`` (text columns ``c0..``, ``_row``); fills ``file``."""
    path, name = file.path, f"raw_f{file.fid}"
    if isinstance(path, IbisSource):
        _read_ibis(duck, file, batch_rows)
        return
    if not path.exists():
        raise SchemaError(f"{path}: file not found")
    suffix = file_kind(path)
    if suffix in (".csv", ".csv.gz"):
        encoding, newlines, ends = detect_encoding(path, file.spec.encoding)
        try:
            if encoding.startswith("utf-16"):
                raise _NotSimple  # line feeds are not single bytes: the reference reader counts lines
            header = _csv_header(path, encoding)
            if len(header) > file.spec.max_columns:
                raise _NotSimple  # the reference reader drops empty columns, then names the limit
            if encoding.startswith("utf-8"):  # DuckDB's parallel reader; rowid keeps the line order
                n = _duckdb_csv(duck, name, path, len(header))
                file.row_sql = "rowid + 2"
            else:  # transcoded while Arrow reads it
                reader = _arrow_csv(path, encoding, len(header), batch_rows)
                n = _store_batches(duck, name, len(header), _batches_with_rows(reader, [f"c{i}" for i in range(len(header))], 2))
            lines = newlines + (0 if ends else 1)
            if n + 1 != lines:  # a quoted line break or a skipped line: records are no longer lines
                raise _NotSimple
            file.encoding, file.headers = encoding, header
            return
        except (_NotSimple, pa.ArrowInvalid, _duckdb_error()):
            file.row_sql = "_row"
    elif suffix in (".parquet", ".pq"):
        _read_parquet(duck, file, batch_rows)
        return
    frame, rows, encoding, malformed = _read_raw(path, file.spec, file.notes)
    file.encoding, file.headers, file.malformed = encoding, [str(c) for c in frame.columns], malformed
    _store_batches(duck, name, frame.shape[1], _frame_batches(frame, np.asarray(rows, dtype="int64"), batch_rows))


def _repeated_headers(duck, file: _File) -> list[tuple[int, str]]:
    """Rows whose every cell is its column's header, as :func:`segkit.cells._repeated_headers` finds
    them: the engine picks the rows that contain each header, Python compares the few it finds."""
    if not file.headers:
        return []
    cells = ", ".join(f"c{i}" for i in range(len(file.headers)))
    near = " AND ".join(f"contains(coalesce(c{i}, ''), {_literal(h.strip())})" for i, h in enumerate(file.headers))
    found = _run(duck, f"SELECT {file.row_sql}, {cells} FROM raw_f{file.fid} WHERE {near} ORDER BY 1").fetchall()
    return [(int(row), ",".join(c or "" for c in values)) for row, *values in found
            if all((c or "").strip() == h.strip() for c, h in zip(values, file.headers))]


def _duckdb_error():
    import duckdb

    return duckdb.Error


def _duckdb_csv(duck, name: str, path: Path, width: int) -> int:
    """Read a UTF-8 CSV file with DuckDB: text columns ``c0..``, no guessing, a wrong number of
    fields is an error (the caller then uses the reference reader, which names the line)."""
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
    _run(duck, f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_csv({_literal(str(path))}, header = false, skip = 1, "
               f"columns = {columns}, delim = ',', quote = '\"', escape = '\"', strict_mode = true, auto_detect = false, "
               "null_padding = false)")
    return int(_run(duck, f"SELECT count(*) FROM {name}").fetchone()[0])


def _read_parquet(duck, file: _File, batch_rows: int) -> None:
    import pyarrow.parquet as pq

    try:
        source = pq.ParquetFile(file.path)
    except Exception as exc:
        raise SchemaError(f"{file.path}: cannot read the file: {exc}") from exc
    file.encoding, file.headers = "parquet", [str(n) for n in source.schema_arrow.names]
    _store_batches(duck, f"raw_f{file.fid}", len(file.headers), _typed_batches(source.iter_batches(batch_size=batch_rows), batch_rows))


def _typed_batches(batches, batch_rows: int):
    """Typed Arrow batches as text (each value written as the reference reader writes a Parquet
    value), numbered from record 1."""
    row = 1
    for batch in batches:
        frame = batch.to_pandas()
        frame = frame.astype(str).where(frame.notna(), "")
        rows = np.arange(row, row + len(frame), dtype="int64")
        row += len(frame)
        yield from _frame_batches(frame, rows, batch_rows)


# --------------------------------------------------------------------------------------------
# rules as column expressions


@dataclass
class _Rule:
    column: str
    mask: str            # name of the boolean column in parsed_<table>
    reason: object       # str, or a function of the parsed table returning an Ibis string
    reject: bool
    value: str | None = None  # column holding the value shown (default: the raw text of `column`)


def _strip(value):
    """``str.strip()``; the replacement runs only where an end is whitespace, which is rare."""
    ibis = _ibis()
    value = value.fill_null("")
    first, last = value.ascii_str(), value.right(1).ascii_str()
    plain = (first > 32) & (first < 127) & (last > 32) & (last < 127)  # printable ASCII at both ends
    edge = ~plain & value.re_search(f"^{_WS}|{_WS}$")
    return ibis.ifelse(edge, value.re_replace(_STRIP, ""), value)


def _fast_number(text):
    """Digits with an optional sign and decimal point, which the engine reads itself; other
    spellings (``¥1,200``, ``(500)``, ``1e3``) go to the reference parser."""
    return text.re_search(r"^-?\d{1,15}(\.\d{1,15})?$")


def _fast_date(text):
    """``YYYY-MM-DD`` (years 1900-2099, months 01-12, days 01-31), optionally followed by a time;
    ``1900-01-00`` (Excel's empty date) and other spellings go to the reference parser."""
    return text.re_search(r"^(19|20)\d\d-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])([T ].*)?$")


def _re2_class(chars: str) -> str:
    """A regular-expression class (RE2 syntax) of ``chars``, as ranges."""
    codes = sorted(map(ord, chars))
    ranges, start = [], codes[0]
    for prev, code in zip(codes, [*codes[1:], None]):
        if code != prev + 1:
            ranges.append(f"\\x{{{start:x}}}" + (f"-\\x{{{prev:x}}}" if prev != start else ""))
            start = code
    return "[" + "".join(ranges) + "]"


_FORMAT_CLASS = _re2_class(_FORMAT_CHARS)


def _clean_id(value):
    """:func:`segkit.cells._read_ids` (without the decimal-id mask): invisible characters removed,
    spaces and full-width ASCII folded, ends stripped, a float's ``.0`` dropped. Values of
    printable ASCII only skip the folding."""
    ibis = _ibis()

    @ibis.udf.scalar.builtin
    def strlen(text: str) -> int:  # DuckDB: bytes, so equal to length() only for ASCII
        ...

    value = value.fill_null("")
    ascii_only = strlen(value) == value.length()
    text = _strip(ibis.ifelse(ascii_only, value, value.re_replace(_FORMAT_CLASS, "").translate(_WIDE, _NARROW)))
    whole = text.contains(".") & text.re_search(f"^(?:{_FLOAT_WHOLE_ID})$")
    return ibis.ifelse(whole, text.re_replace(r"\.0+$", ""), text)


def _round2(value):
    """``numpy.round(value, 2)`` exactly: times 100, round half to even, divided by 100."""
    ibis = _ibis()
    y = value * 100.0
    floor = y.floor().cast("float64")
    diff = y - floor
    even = (floor % 2.0) == 0.0
    rint = ibis.cases((diff > 0.5, floor + 1.0), (diff < 0.5, floor), (even, floor), else_=floor + 1.0)
    return ibis.ifelse(y.abs() < 2.0 ** 52, rint / 100.0, value)


def _register(con, name: str, frame: pd.DataFrame):
    cursor = con.con.cursor()
    cursor.register("_src", pa.Table.from_pandas(frame, preserve_index=False))
    cursor.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM _src").fetchall()
    cursor.close()
    return con.table(name)


class _TableRules:
    """Builds ``parsed_<table>``: typed values plus one mask column per rule.

    Values of kinds with a common form the engine parses (dates, numbers) are read by the
    engine when they have that form; every other distinct raw spelling (and every value of a
    yes/no, vocabulary or credit-code column, which have few distinct values) is stripped and
    parsed once by the reference parser of :mod:`segkit.io` and joined back by its raw text.
    """

    def __init__(self, con, table: Table, files: list[_File], vocab: Mapping[str, dict], date_order: str,
                 dates: DateRange):
        self.con, self.table, self.files, self.vocab, self.date_order = con, table, files, vocab, date_order
        self.dates = dates
        self.rules: list[_Rule] = []
        self.date_orders: dict[int, dict[str, str]] = {f.fid: {} for f in files}
        self.maps = 0

    def _distinct_raw(self, raw, column: str, fast, by_file: bool) -> pd.DataFrame:
        """Distinct raw values of ``column`` that are not empty and not in the ``fast`` form."""
        value = raw[column]
        keys = [raw._fid, value.name("_k")] if by_file else [value.name("_k")]
        distinct = raw.filter(value.notnull() & (value != "")).select(*keys).distinct()
        if fast is not None:  # the form is tested on each distinct spelling, not on every row
            distinct = distinct.filter(~fast(distinct._k))
        frame = self.con.to_pyarrow(distinct).to_pandas()
        frame["_k"] = frame["_k"].astype(object)
        return frame

    def _join(self, stage, column: str, mapping: pd.DataFrame, by_file: bool):
        self.maps += 1
        prefix = f"_m{self.maps}_"
        right = _register(self.con, f"map_{self.table.name}_{self.maps}",
                          mapping.rename(columns={c: prefix + c for c in mapping.columns}))
        preds = [stage[column] == right[prefix + "_k"]]
        if by_file:
            preds.append(stage._fid == right[prefix + "_fid"])
        joined = stage.left_join(right, preds)
        return joined.drop(*[c for c in (prefix + "_k", prefix + "_fid") if c in joined.columns]), prefix

    def build(self, raw):
        ibis = _ibis()
        table = self.table
        present = [c for c in table.columns if c.name in raw.columns]
        stage = raw
        prefixes: dict[str, str] = {}
        # the day/month order of each file, decided by all its date columns (year-last dates never
        # take the fast path, so the spellings the reference parser reads are all it needs)
        date_values = {col.name: self._distinct_raw(raw, col.name, _fast_date, by_file=True)
                       for col in present if col.kind == "date"}
        file_orders = {f.fid: file_date_order([v.loc[v["_fid"] == f.fid, "_k"].astype("str") for v in date_values.values()],
                                              self.date_order) for f in self.files}
        for col in present:
            if col.kind == "date":
                values = date_values[col.name]
                mapping = self._parse_dates_by_file(values, col.name, file_orders) if len(values) else None
            elif col.kind in ("money", "float", "int"):
                values = self._distinct_raw(raw, col.name, _fast_number, by_file=True)
                mapping = self._parse_numbers_by_file(raw, col.name, values) if len(values) else None
            elif col.kind in ("bool", "vocab", "credit_code"):
                values = self._distinct_raw(raw, col.name, None, by_file=False)
                mapping = self._map_other(col, values["_k"]) if len(values) else None
            else:
                continue
            if mapping is not None:
                by_file = col.kind in ("date", "money", "float", "int")
                stage, prefixes[col.name] = self._join(stage, col.name, mapping, by_file=by_file)

        # pass 1: each cell's text or value, computed once (the rules below refer to them often)
        first: dict[str, object] = {"_fid": stage._fid, "_row": stage._row}
        for col in present:
            value_raw = stage[col.name]
            blank = value_raw.isnull() | (value_raw == "")
            prefix = prefixes.get(col.name)

            def mapped(name: str, kind: str, prefix=prefix):
                return stage[prefix + name] if prefix else ibis.null(kind)

            if col.kind in ("id", "str"):
                first[f"_t_{col.name}"] = _clean_id(value_raw) if col.kind == "id" else _strip(value_raw)
                continue
            first[f"_e_{col.name}"] = blank | mapped("empty", "boolean").fill_null(False)
            if col.kind == "date":
                fast = _fast_date(value_raw).fill_null(False)
                engine_value = value_raw.left(10).try_cast("date").cast("timestamp")
                earliest, latest = (ibis.literal(b.to_pydatetime(), "timestamp") for b in self.dates.bounds)
                fast_outside = fast & ((engine_value < earliest) | (engine_value > latest)).fill_null(False)
                engine_value = ibis.ifelse(fast_outside, ibis.null("timestamp"), engine_value)
                first[f"_x_{col.name}"] = ibis.ifelse(fast, engine_value, mapped("value", "timestamp").cast("timestamp"))
                first[f"_z_{col.name}"] = mapped("excel", "boolean").fill_null(False)
                first[f"_o_{col.name}"] = fast_outside | mapped("outside", "boolean").fill_null(False)
                first[f"_a_{col.name}"] = mapped("ambiguous", "boolean").fill_null(False)
            elif col.kind in ("money", "float", "int"):
                # a file whose column is written 1.234,56 has its 12.5 read by the reference parser too
                fast = _fast_number(value_raw).fill_null(False) & mapped("empty", "boolean").isnull()
                first[f"_x_{col.name}"] = ibis.ifelse(fast, value_raw.try_cast("float64"), mapped("value", "float64").cast("float64"))
                first[f"_w_{col.name}"] = mapped("reason", "string").cast("string")
            elif col.kind == "bool":
                first[f"_x_{col.name}"] = mapped("value", "boolean").cast("boolean")
                first[f"_b_{col.name}"] = mapped("bad", "boolean").fill_null(False)
            elif col.kind == "vocab":
                first[f"_x_{col.name}"] = mapped("key", "string")
                first[f"_t_{col.name}"] = mapped("text", "string")
            else:  # credit_code
                first[f"_x_{col.name}"] = mapped("upper", "string")
                first[f"_b_{col.name}"] = ~mapped("valid", "boolean").fill_null(False)
        extras = [c for c in raw.columns if c not in {c.name for c in table.columns} and c not in ("_fid", "_row")]
        first.update({c: stage[c] for c in extras})
        # a query of its own, so that the engine evaluates each cell once
        name = f"cells_{table.name}"
        _run(self.con.con, f"CREATE OR REPLACE VIEW {name} AS {self.con.compile(stage.select(**first))}")
        cells = self.con.table(name)

        out: dict[str, object] = {}
        masks: dict[str, object] = {}
        reasons: dict[str, object] = {}  # a rule's reason per row, where it depends on the value
        for col in present:
            if col.kind in ("id", "str"):
                text = cells[f"_t_{col.name}"]
                empty = text == ""
                if col.kind == "id":
                    decimal = text.contains(".") & text.re_search(f"^(?:{_FLOAT_ID})$")
                    masks[f"_r_decimal_{col.name}"] = decimal
                    empty_or_bad = empty | decimal
                else:
                    empty_or_bad = empty
                out[col.name] = ibis.ifelse(empty_or_bad, ibis.null("string"), text)
            else:
                empty = cells[f"_e_{col.name}"]
                value = cells[f"_x_{col.name}"]
                if col.kind == "date":
                    out[col.name] = value
                    masks[f"_r_bad_{col.name}"] = ~empty & value.isnull()
                    for flag in ("_z_", "_o_", "_a_"):
                        reasons[f"{flag}{col.name}"] = cells[f"{flag}{col.name}"]
                elif col.kind in ("money", "float", "int"):
                    masks[f"_r_nan_{col.name}"] = ~empty & value.isnull()
                    out[col.name] = self._number_rules(col, cells, value, masks, reasons)
                elif col.kind == "bool":
                    out[col.name] = value
                    masks[f"_r_bool_{col.name}"] = cells[f"_b_{col.name}"]
                elif col.kind == "vocab":
                    unknown = value.isnull() & ~empty
                    masks[f"_r_vocab_{col.name}"] = unknown
                    out[col.name] = ibis.ifelse(empty, ibis.null("string"), ibis.ifelse(unknown, cells[f"_t_{col.name}"], value))
                else:  # credit_code
                    masks[f"_r_credit_{col.name}"] = ~empty & cells[f"_b_{col.name}"]
                    out[col.name] = ibis.ifelse(empty, ibis.null("string"), value)
            if col.required:
                masks[f"_r_empty_{col.name}"] = empty

        self._order_rules(present, masks)
        for col in table.columns:
            if col.name not in out:
                out[col.name] = ibis.null(_IBIS_KIND[col.kind])
        selection = {"_fid": cells._fid, "_row": cells._row, **out, **{c: cells[c] for c in extras}, **masks, **reasons}
        if table.name == "transactions":
            selection["is_refund"] = (out["amount"] < 0).fill_null(False)
        return cells.select(**selection), extras

    def _number_rules(self, col, stage, value, masks, reasons):
        """Unit (万元), rounding to cents, range and whole-number rules of a number column; the
        reason of an unreadable value (the reference parser's, or not finite once in 元)."""
        ibis = _ibis()
        why = stage[f"_w_{col.name}"]
        if col.kind == "money":
            units = {f.fid: f.units.get(col.name, 1.0) for f in self.files}
            if any(u != 1.0 for u in units.values()):
                value = value * ibis.cases(*[(stage._fid == fid, u) for fid, u in units.items()], else_=1.0)
                overflow = value.isinf().fill_null(False)  # 1e305 万元: finite as written, not in 元
                masks[f"_r_nan_{col.name}"] = masks[f"_r_nan_{col.name}"] | overflow
                why = ibis.ifelse(overflow, REASON_NOT_FINITE, why)
                value = ibis.ifelse(overflow, ibis.null("float64"), value)
            value = _round2(value)
        reasons[f"_w_{col.name}"] = why.fill_null(REASON_NUMBER)
        if col.low is not None or col.high is not None:
            out_of_range = ibis.literal(False)
            if col.low is not None:
                out_of_range = out_of_range | (value < col.low).fill_null(False)
            if col.high is not None:
                out_of_range = out_of_range | (value > col.high).fill_null(False)
            masks[f"_r_range_{col.name}"] = out_of_range
            value = ibis.ifelse(out_of_range, ibis.null("float64"), value)
        if col.kind == "int":
            fractional = (value.notnull() & ~value.isinf() & ((value % 1.0) != 0.0)).fill_null(False)
            masks[f"_r_whole_{col.name}"] = fractional
            value = ibis.ifelse(fractional, ibis.null("float64"), value)
        return value

    def _order_rules(self, present, masks) -> None:
        """The rules in the reference loader's order: per column, empty -> parse -> range -> whole."""
        table = self.table
        for col in present:
            for kind in ("empty", "decimal", "bad", "nan", "range", "whole", "bool", "vocab", "credit"):
                mask = f"_r_{kind}_{col.name}"
                if mask not in masks:
                    continue
                if kind == "empty":
                    rule = _Rule(col.name, mask, reason_empty(col), True)
                elif kind == "decimal":
                    rule = _Rule(col.name, mask, REASON_DECIMAL_ID, col.required)
                elif kind == "bad":
                    rule = _Rule(col.name, mask, self._date_reason(col.name), col.required)
                elif kind == "nan":
                    rule = _Rule(col.name, mask, lambda parsed, c=col.name: parsed[f"_w_{c}"], col.required)
                elif kind == "range":
                    # scores outside their scale are data errors; company facts out of range are warnings
                    rule = _Rule(col.name, mask, reason_range(col), table.name == "surveys")
                elif kind == "whole":
                    rule = _Rule(col.name, mask, REASON_WHOLE, table.name == "surveys")
                elif kind == "bool":
                    rule = _Rule(col.name, mask, REASON_BOOL, col.required)
                elif kind == "vocab":
                    rule = _Rule(col.name, mask, reason_vocab(col), False)
                else:
                    rule = _Rule(col.name, mask, REASON_CREDIT, True)
                self.rules.append(rule)

    def _date_reason(self, column: str):
        """Excel's empty date, else the unparseable-date words of the value's file."""
        ibis = _ibis()
        words = {fid: reason_date(orders.get(column)) for fid, orders in self.date_orders.items()}

        def reason(parsed):
            if len(set(words.values())) <= 1:
                unparseable = ibis.literal(next(iter(words.values()), reason_date(None)))
            else:
                unparseable = ibis.cases(*[(parsed._fid == fid, w) for fid, w in words.items()], else_=reason_date(None))
            return ibis.cases((parsed[f"_z_{column}"], REASON_EXCEL_DATE), (parsed[f"_o_{column}"], outside),
                              (parsed[f"_a_{column}"], REASON_AMBIGUOUS_DATE), else_=unparseable)
        outside = reason_date_range(self.dates)
        return reason

    def _parse_dates_by_file(self, values: pd.DataFrame, column: str, orders: Mapping[int, str]) -> pd.DataFrame:
        parts = []
        for fid, group in values.groupby("_fid", sort=True):
            text = group["_k"].astype("str").str.strip().reset_index(drop=True)
            got = _parse_dates(text, orders[int(fid)], self.dates)
            if got.used:
                self.date_orders[int(fid)][column] = got.used
            parts.append(pd.DataFrame({"_fid": group["_fid"].to_numpy(), "_k": group["_k"].to_numpy(),
                                       "value": got.values.astype("datetime64[us]").to_numpy(), "empty": (text == "").to_numpy(),
                                       "excel": got.excel.to_numpy(dtype=bool), "outside": got.outside.to_numpy(dtype=bool),
                                       "ambiguous": got.ambiguous.to_numpy(dtype=bool)}))
        return pd.concat(parts, ignore_index=True)

    def _parse_numbers_by_file(self, raw, column: str, values: pd.DataFrame) -> pd.DataFrame:
        """Each file's distinct spellings read by the reference parser with that file's convention
        (:func:`segkit.cells.number_convention`, decided by values the engine never reads itself)."""
        parts = []
        for fid, group in values.groupby("_fid", sort=True):
            keys = group["_k"].reset_index(drop=True)
            convention = number_convention(keys.astype("str").str.strip())
            if convention in ("comma", "mixed"):  # here 12.5 is ambiguous and 1.234 is 1234: the reference reads them
                value = raw[column]
                dotted = (raw._fid == int(fid)) & _fast_number(value) & value.contains(".")
                more = self.con.to_pyarrow(raw.filter(dotted).select(value.name("_k")).distinct()).to_pandas()["_k"]
                keys = pd.concat([keys, more.astype(object)], ignore_index=True)
            text = keys.astype("str").str.strip()
            parsed, why = _read_numbers(text, convention)
            parts.append(pd.DataFrame({"_fid": np.full(len(keys), fid, dtype="int64"), "_k": keys.to_numpy(),
                                       "value": parsed.astype("float64").to_numpy(), "empty": (text == "").to_numpy(),
                                       "reason": pd.Series(why.where(why != "", None).to_numpy(), dtype="str")}))
        return pd.concat(parts, ignore_index=True)

    def _map_other(self, col, keys: pd.Series) -> pd.DataFrame:
        text = keys.astype("str").str.strip().reset_index(drop=True)
        # typed columns: a column of nothing but missing values must still say what it holds
        frame = pd.DataFrame({"_k": keys.to_numpy(), "text": pd.Series(text.to_numpy(), dtype="str"),
                              "empty": (text == "").to_numpy()})
        if col.kind == "bool":
            values, bad = _parse_bool(text)
            frame["value"] = pd.Series(values.to_numpy(), dtype="boolean")
            frame["bad"] = bad.to_numpy(dtype=bool)
        elif col.kind == "vocab":
            index = self.vocab[col.vocab]
            frame["key"] = pd.Series([index.get(_fold(v)) if v else None for v in text], dtype="str")
        else:  # credit_code
            upper = text.str.upper()
            frame["upper"] = pd.Series(upper.to_numpy(), dtype="str")
            frame["valid"] = [is_valid_credit_code(v) for v in upper]
        return frame


_IBIS_KIND = {"id": "string", "str": "string", "vocab": "string", "credit_code": "string", "date": "timestamp",
              "money": "float64", "float": "float64", "int": "float64", "bool": "boolean"}


# --------------------------------------------------------------------------------------------
# the loader


def _materialise(con, name: str, expr) -> None:
    _run(con.con, f"CREATE OR REPLACE TABLE {name} AS {con.compile(expr)}")


def load_with_engine(found: Mapping[str, list[Path]], *, meta: dict, name: str, date_order: str, as_of,
                     config, vocab: Mapping[str, dict], derive_customers: bool,
                     discovery: Discovery | None = None) -> tuple[Dataset, EngineStore]:
    """Read, validate and store the files of ``found`` in DuckDB (see the module docstring).

    ``discovery`` (from :func:`segkit.sources.discover`) says how to read each file and which
    files of the folder were skipped (they become warnings).

    Returns the :class:`~segkit.io.Dataset` (tables and ledger read from the engine on first
    use) and its :class:`EngineStore`.
    """
    cfg = engine_config(config)
    con, workdir = _connect(cfg)
    duck = con.con
    store = EngineStore(con=con, workdir=workdir, columns={}, extras={})
    store._finalizer = weakref.finalize(store, _close, con, str(workdir))
    try:
        return _load(store, found, meta=meta, name=name, date_order=date_order, as_of=as_of, vocab=vocab,
                     derive_customers=derive_customers, cfg=cfg, duck=duck, discovery=discovery)
    except BaseException:
        store.close()
        raise


def _close(con, workdir: str) -> None:
    try:
        con.disconnect()
    except Exception:  # pragma: no cover - already closed
        pass
    _remove(workdir)


def _load(store: EngineStore, found, *, meta, name, date_order, as_of, vocab, derive_customers, cfg, duck, discovery=None):
    con = store.con
    base = FileSpec(max_field_lines=cfg.max_field_lines, notes_sheets=tuple(cfg.notes_sheets), max_columns=cfg.max_columns)
    discovery = discovery or Discovery(found=dict(found), specs={"": base})
    files: list[_File] = []
    for table_name in TABLES:
        for path in found[table_name]:
            files.append(_File(fid=len(files), path=path if isinstance(path, IbisSource) else Path(path), table=table_name,
                               spec=discovery.spec(path)))
    for file in files:
        _read_file(duck, file, cfg.batch_rows)
        file.header_rows = _repeated_headers(duck, file)
        frame = pd.DataFrame(columns=file.headers)
        mapped, file.units = _map_headers(frame, TABLES[file.table], file.path)
        file.columns = [str(c) for c in mapped.columns]
    # warnings about whole files: the folder's skipped files first, then each file read
    notices = [*discovery.notices, *(notice(f.table, f.path, note) for f in files for note in f.notes)]
    paths = {str(f.path): f.fid for f in files}
    for n in notices:
        paths.setdefault(n["file"], len(paths))
    _register(con, "_files", pd.DataFrame({"_fid": list(paths.values()), "path": list(paths),
                                           "name": [Path(p).name for p in paths]}).astype({"_fid": "int64"}))

    # rules per table
    rules: dict[str, _TableRules] = {}
    extras: dict[str, list[str]] = {}
    for table_name, table in TABLES.items():
        mine = [f for f in files if f.table == table_name]
        if not mine:
            continue
        blank_free = []
        for f in mine:
            cols = ", ".join(f"c{i} AS {_quote(c)}" for i, c in enumerate(f.columns))
            # a line whose cells are all empty or blank is not a record; a first cell that starts
            # with printable ASCII (the usual id) settles it without the regular expressions, which
            # the engine evaluates for every cell of an OR (a CASE evaluates its ELSE only where needed)
            blank_cells = " OR ".join(f"NOT regexp_full_match(coalesce(c{i}, ''), '{_WS}*')" for i in range(len(f.columns)))
            not_blank = f"CASE WHEN c0 >= '!' AND c0 < chr(127) THEN TRUE ELSE {blank_cells} END" if f.columns else "FALSE"
            if f.header_rows:
                not_blank = f"({not_blank}) AND {f.row_sql} NOT IN ({', '.join(str(r) for r, _ in f.header_rows)})"
            blank_free.append(f"SELECT {f.fid}::BIGINT AS _fid, {f.row_sql} AS _row, {cols} FROM raw_f{f.fid} WHERE {not_blank}")
        _run(duck, f"CREATE OR REPLACE VIEW raw_{table_name} AS " + " UNION ALL BY NAME ".join(blank_free))
        raw = con.table(f"raw_{table_name}")
        builder = rules[table_name] = _TableRules(con, table, mine, vocab, date_order, cfg.dates)
        parsed, extras[table_name] = builder.build(raw)
        _materialise(con, f"parsed_{table_name}", parsed)

    _run(duck, "CREATE OR REPLACE TABLE problems (_table VARCHAR, _fid BIGINT, _row BIGINT, col VARCHAR, value VARCHAR, "
                 "reason VARCHAR, reject BOOLEAN, rule_no INTEGER)")
    for table_name, builder in rules.items():
        parsed = con.table(f"parsed_{table_name}")
        for number, rule in enumerate(builder.rules):
            reason = rule.reason(parsed) if callable(rule.reason) else _ibis().literal(rule.reason)
            _insert_problems(con, table_name, parsed, parsed[rule.mask], rule.column, reason, rule.reject, number)
    _fill_values(duck, files)
    malformed = [{"_table": f.table, "_fid": f.fid, "_row": m["row"], "col": "(whole line)", "value": m["value"],
                  "reason": m["reason"], "reject": True, "rule_no": -1} for f in files for m in f.malformed]
    malformed += [{"_table": f.table, "_fid": f.fid, "_row": row, "col": "(whole line)", "value": line,
                   "reason": REASON_HEADER, "reject": True, "rule_no": -2} for f in files for row, line in f.header_rows]
    malformed += [{"_table": n["table"], "_fid": paths[n["file"]], "_row": 0, "col": n["column"], "value": n["value"],
                   "reason": n["reason"], "reject": False, "rule_no": -(1 << 30) + i} for i, n in enumerate(notices)]
    if malformed:
        cursor = duck.cursor()
        cursor.register("_malformed", pa.Table.from_pylist(malformed))
        cursor.execute("INSERT INTO problems SELECT _table, _fid, _row, col, value, reason, reject, rule_no FROM _malformed").fetchall()
        cursor.close()

    # as-of date
    as_of_ts, as_of_source = resolve_as_of(as_of, meta, lambda: _latest_date(duck, rules))

    # rules across rows, in the reference order: customers, transactions, interactions, surveys
    for table_name, table in TABLES.items():
        if table_name not in rules or (table_name == "customers" and derive_customers):
            continue
        _table_rules(store, table, as_of_ts, derive_customers, len(rules[table_name].rules))

    read_rows = {f.fid: 0 for f in files}
    for table_name in rules:
        for fid, n in _run(duck, f"SELECT _fid, count(*) FROM parsed_{table_name} GROUP BY _fid").fetchall():
            read_rows[fid] = n
    # accepted tables: the parsed table less its rejected rows and its rule columns (deleting the
    # few rejected rows and dropping columns does not copy the table, as a filtered copy would)
    for table_name, table in TABLES.items():
        out_cols = [c.name for c in table.columns] + extras.get(table_name, [])
        if table_name == "transactions":
            out_cols.append("is_refund")
        if table_name in rules:
            parsed = f"parsed_{table_name}"
            _run(duck, f"DELETE FROM {parsed} p WHERE EXISTS (SELECT 1 FROM problems q WHERE q.reject AND "
                       f"q._table = {_literal(table_name)} AND q._fid = p._fid AND q._row = p._row)")
            keep = {"_fid", "_row", *out_cols}
            for (column,) in _run(duck, "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [parsed]).fetchall():
                if column not in keep:
                    _run(duck, f"ALTER TABLE {parsed} DROP COLUMN {_quote(column)}")
            _run(duck, f"DROP TABLE IF EXISTS accepted_{table_name}")
            _run(duck, f"ALTER TABLE {parsed} RENAME TO accepted_{table_name}")
        elif not (table_name == "customers" and derive_customers):
            _empty_accepted(duck, table, table_name)
        store.columns[table_name] = out_cols
        store.extras[table_name] = extras.get(table_name, [])
    if derive_customers:
        _derived_customers(duck)
        store.columns["customers"] = [c.name for c in TABLES["customers"].columns]
        store.extras["customers"] = []
    counts = _run(duck, 
        "SELECT _fid, count(*) FROM (SELECT DISTINCT _fid, _row FROM problems WHERE reject AND rule_no >= 0) GROUP BY _fid"
    ).fetchall()
    rejected_rows = dict(counts)
    # keep the raw records of the rejected rows; the files' text and the parsed tables go, so the
    # engine holds only the accepted, typed tables from here on
    _run(duck, f"CREATE OR REPLACE TABLE records AS {_record_sql(files)}")
    store.record_sql = "SELECT _table, _fid, _row, record FROM records"
    for table_name in rules:
        _run(duck, f"DROP VIEW IF EXISTS cells_{table_name}")
        _run(duck, f"DROP VIEW IF EXISTS raw_{table_name}")
    for f in files:
        _run(duck, f"DROP TABLE IF EXISTS raw_f{f.fid}")
    for table in [t for (t,) in _run(duck, "SELECT table_name FROM duckdb_tables() WHERE starts_with(table_name, 'map_')").fetchall()]:
        _run(duck, f"DROP TABLE {table}")
    file_rows = []
    for f in files:
        orders = rules[f.table].date_orders[f.fid]
        rejected = rejected_rows.get(f.fid, 0)
        file_rows.append({"table": f.table, "file": str(f.path), "encoding": f.encoding,
                          "rows_read": read_rows[f.fid] + len(f.malformed) + len(f.header_rows),
                          "rows_accepted": read_rows[f.fid] - rejected,
                          "rows_rejected": rejected + len(f.malformed) + len(f.header_rows),
                          "date_order": ", ".join(sorted(set(orders.values())))})
    files_frame = pd.DataFrame(file_rows, columns=["table", "file", "encoding", "rows_read", "rows_accepted",
                                                   "rows_rejected", "date_order"])
    dataset = Dataset.deferred(store, **dataset_facts(files_frame, as_of_ts, as_of_source, name, meta, found))
    return dataset, store


def _fill_values(duck, files: list[_File]) -> None:
    """Each problem's value as written in the file (the rules above leave it empty)."""
    wanted: dict[int, list[str]] = {}
    for fid, column in _run(duck, "SELECT DISTINCT _fid, col FROM problems WHERE value IS NULL ORDER BY 1, 2").fetchall():
        if column in files[fid].columns:
            wanted.setdefault(fid, []).append(column)
    for fid, columns in wanted.items():  # one pass over each file's text for all its columns
        file = files[fid]
        cell = " ".join(f"WHEN {_literal(c)} THEN r.c{file.columns.index(c)}" for c in columns)
        wanted = f"problems._fid = {fid} AND problems.col IN ({', '.join(map(_literal, columns))}) AND problems.value IS NULL"
        rows = (f"SELECT {file.row_sql} AS _r, * FROM raw_f{fid} WHERE "
                + _rows_in(file, f"SELECT _row FROM problems WHERE {wanted}"))
        _run(duck, f"UPDATE problems SET value = coalesce(CASE problems.col {cell} END, '') FROM ({rows}) r "
                   f"WHERE {wanted} AND problems._row = r._r")


def _insert_problems(con, table_name: str, parsed, mask, column: str, reason, reject: bool, number: int) -> None:
    ibis = _ibis()
    expr = parsed.filter(mask).select(
        _table=ibis.literal(table_name), _fid=parsed._fid, _row=parsed._row, col=ibis.literal(column),
        value=ibis.null("string"), reason=reason.cast("string"), reject=ibis.literal(reject),
        rule_no=ibis.literal(number).cast("int32"),
    )
    _run(con.con, f"INSERT INTO problems {con.compile(expr)}")


def _latest_date(duck, rules: Mapping[str, _TableRules]) -> pd.Timestamp:
    """The latest order, interaction or survey date of any row read, but not after today."""
    today = pd.Timestamp.today().normalize()
    parts = [f"SELECT max({_quote(TABLES[t].date_column)}) AS d FROM parsed_{t} WHERE {_quote(TABLES[t].date_column)} <= ?"
             for t in rules if TABLES[t].date_column is not None]
    if not parts:
        return today
    latest = _run(duck, f"SELECT max(d) FROM ({' UNION ALL '.join(parts)})", [today.to_pydatetime()] * len(parts)).fetchone()[0]
    return pd.Timestamp(latest).normalize() if latest is not None else today


def _table_rules(store: EngineStore, table: Table, as_of: pd.Timestamp, derive_customers: bool, first_no: int) -> None:
    """Duplicate ids, unknown customers, dates after ``as_of`` and dates before the date they
    cannot precede (:func:`segkit.io._table_rules`)."""
    duck = store.duck
    name = table.name
    number = first_no
    if table.key is not None:
        key = _quote(table.key)
        _run(duck, f"""
            INSERT INTO problems
            SELECT {_literal(name)}, d._fid, d._row, {_literal(table.key)}, d.{key},
                   'duplicate {table.key} (first on ' || f.name || ' row ' || d.first_row || ')', TRUE, {number}
            FROM (SELECT _fid, _row, {key},
                         row_number() OVER w AS n,
                         first_value(_fid) OVER w AS first_fid, first_value(_row) OVER w AS first_row
                  FROM parsed_{name} WHERE {key} IN (
                      SELECT {key} FROM parsed_{name} WHERE {key} IS NOT NULL GROUP BY {key} HAVING count(*) > 1)
                  WINDOW w AS (PARTITION BY {key} ORDER BY _fid, _row)) d
            JOIN _files f ON f._fid = d.first_fid
            WHERE d.n > 1""")
        number += 1
    if name != "customers" and not (derive_customers and name == "transactions"):
        source = "transactions" if derive_customers else "customers"
        rejected = (f"SELECT DISTINCT _fid, _row FROM problems WHERE reject AND _table = {_literal(source)}")
        if derive_customers:
            reason = _literal(REASON_UNKNOWN_DERIVED)
            join = ""
        else:
            reason = (f"CASE WHEN k.where_ IS NOT NULL THEN {_literal(REASON_REJECTED_CUSTOMER + ' (')} || k.where_ || ')' "
                      f"ELSE {_literal(REASON_UNKNOWN)} END")
            join = f"""LEFT JOIN (
                SELECT customer_id, arg_min(f.name || ' row ' || s._row, (s._fid, s._row)) AS where_
                FROM parsed_{source} s JOIN ({rejected}) r USING (_fid, _row) JOIN _files f ON f._fid = s._fid
                WHERE customer_id IS NOT NULL GROUP BY customer_id) k ON k.customer_id = t.customer_id"""
        _run(duck, f"""
            INSERT INTO problems
            SELECT {_literal(name)}, t._fid, t._row, 'customer_id', t.customer_id, {reason}, TRUE, {number}
            FROM parsed_{name} t {join}
            WHERE t.customer_id IS NOT NULL AND t.customer_id NOT IN (
                SELECT s.customer_id FROM parsed_{source} s ANTI JOIN ({rejected}) r USING (_fid, _row)
                WHERE s.customer_id IS NOT NULL)""")
        number += 1
    if table.date_column is not None:
        column = _quote(table.date_column)
        _run(duck, f"""
            INSERT INTO problems
            SELECT {_literal(name)}, _fid, _row, {_literal(table.date_column)}, strftime({column}, '%Y-%m-%d'),
                   {_literal(reason_late(as_of))}, TRUE, {number}
            FROM parsed_{name} WHERE {column} > ?""", [as_of.to_pydatetime()])
        number += 1
    for later, earlier in table.not_before:
        _run(duck, f"""
            INSERT INTO problems
            SELECT {_literal(name)}, _fid, _row, {_literal(later)}, strftime({_quote(later)}, '%Y-%m-%d'),
                   {_literal(reason_not_before(table, later, earlier))}, TRUE, {number}
            FROM parsed_{name} WHERE {_quote(later)} < {_quote(earlier)}""")
        number += 1


_SQL_KIND = {"id": "VARCHAR", "str": "VARCHAR", "vocab": "VARCHAR", "credit_code": "VARCHAR", "date": "TIMESTAMP",
             "money": "DOUBLE", "float": "DOUBLE", "int": "DOUBLE", "bool": "BOOLEAN"}


def _empty_accepted(duck, table: Table, name: str) -> None:
    kinds = _SQL_KIND
    cols = ", ".join(f"{_quote(c.name)} {kinds[c.kind]}" for c in table.columns)
    refund = ", is_refund BOOLEAN" if name == "transactions" else ""
    _run(duck, f"CREATE OR REPLACE TABLE accepted_{name} (_fid BIGINT, _row BIGINT, {cols}{refund})")


def _derived_customers(duck) -> None:
    """One customer per distinct id of the accepted orders, in order of first appearance."""
    table = TABLES["customers"]
    kinds = _SQL_KIND
    others = ", ".join(f"NULL::{kinds[c.kind]} AS {_quote(c.name)}" for c in table.columns if c.name not in ("customer_id", "name"))
    _run(duck, f"""
        CREATE OR REPLACE TABLE accepted_customers AS
        SELECT 0::BIGINT AS _fid, row_number() OVER (ORDER BY first_fid, first_row)::BIGINT AS _row,
               customer_id, customer_id AS name, {others}
        FROM (SELECT customer_id, min(_fid) AS first_fid, arg_min(_row, (_fid, _row)) AS first_row
              FROM accepted_transactions WHERE customer_id IS NOT NULL GROUP BY customer_id)""")


def _record_sql(files: list[_File]) -> str:
    """SQL of ``(_table, _fid, _row, record)``: each rejected row's raw record as JSON, with the
    file's own headers (a malformed line: the line as a JSON string)."""
    parts = []
    for f in files:
        if f.headers:
            pairs = ", ".join(f"{_literal(h)}, coalesce(c{i}, '')" for i, h in enumerate(f.headers))
            record = f"json_object({pairs})::VARCHAR"
        else:
            record = "'{}'"
        parts.append(f"SELECT {_literal(f.table)} AS _table, {f.fid}::BIGINT AS _fid, {f.row_sql} AS _row, {record} AS record "
                     f"FROM raw_f{f.fid} WHERE " + _rows_in(f, f"SELECT _row FROM problems WHERE reject AND _fid = {f.fid}"))
        if f.malformed:
            parts.append(f"SELECT _table, _fid, _row, to_json(value)::VARCHAR AS record FROM problems "
                         f"WHERE _fid = {f.fid} AND rule_no = -1")
    return " UNION ALL ".join(parts) if parts else "SELECT NULL::VARCHAR AS _table, 0::BIGINT AS _fid, 0::BIGINT AS _row, NULL::VARCHAR AS record"




# --------------------------------------------------------------------------------------------
# a validated data set saved once and reopened by every report of a run

CACHE_VARIABLE = "SEGKIT_DATA_CACHE"
_STORE_FORMAT = 2  # 2: the contracts table


def cache_key(found: Mapping[str, list[Path]], **settings) -> str:
    """A key for a load: every file's path, size and modification time, and the settings that
    change what is read (as-of date, date order, configuration, segkit version)."""
    import hashlib

    from segkit._version import __version__

    parts = [__version__, str(_STORE_FORMAT), json.dumps(settings, sort_keys=True, default=str)]
    for table in sorted(found):
        for path in found[table]:
            stat = Path(path).stat()
            parts.append(f"{table}|{Path(path).resolve()}|{stat.st_size}|{stat.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def save_store(dataset: Dataset, path: Path) -> Path:
    """Write an engine-loaded data set (accepted tables, ledger, counts) to a DuckDB file."""
    store = dataset.store
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    part.unlink(missing_ok=True)
    meta = {"files": dataset.files.to_dict(orient="list"), "as_of": str(dataset.as_of), "name": dataset.name,
            "meta": dataset.meta, "currency": dataset.currency, "present": sorted(dataset.present),
            "as_of_source": dataset.as_of_source, "columns": store.columns, "extras": store.extras}
    duck = store.duck.cursor()
    duck.execute(f"ATTACH {_literal(str(part))} AS saved")
    try:
        for table in [*(f"accepted_{t}" for t in store.columns), "problems", "_files"]:
            duck.execute(f"CREATE TABLE saved.{table} AS SELECT * FROM {table}").fetchall()
        duck.execute(f"CREATE TABLE saved.records AS {store.record_sql}").fetchall()  # rejected rows' raw records
        duck.execute("CREATE TABLE saved._meta (format INTEGER, meta VARCHAR)")
        duck.execute("INSERT INTO saved._meta VALUES (?, ?)", [_STORE_FORMAT, json.dumps(meta, ensure_ascii=False, default=str)])
    finally:
        duck.execute("DETACH saved")
    part.replace(path)
    return path


def open_store(path: Path, config=None) -> Dataset:
    """Reopen a data set written by :func:`save_store` (read only; nothing is validated again)."""
    cfg = engine_config(config)
    con, workdir = _connect(cfg)
    _run(con.con, f"ATTACH {_literal(str(path))} AS saved (READ_ONLY)")
    version, text = _run(con.con, "SELECT format, meta FROM saved._meta").fetchone()
    if version != _STORE_FORMAT:
        raise SchemaError(f"{path}: a segkit data store of format {version}, expected {_STORE_FORMAT}")
    meta = json.loads(text)
    for table in [*(f"accepted_{t}" for t in meta["columns"]), "problems", "_files", "records"]:
        _run(con.con, f"CREATE VIEW {table} AS SELECT * FROM saved.{table}")
    store = EngineStore(con=con, workdir=workdir, columns=meta["columns"], extras=meta["extras"],
                        record_sql="SELECT _table, _fid, _row, record FROM records")
    store._finalizer = weakref.finalize(store, _close, con, str(workdir))
    return Dataset.deferred(
        store, files=pd.DataFrame(meta["files"]).astype({"rows_read": "int64", "rows_accepted": "int64", "rows_rejected": "int64"}),
        as_of=pd.Timestamp(meta["as_of"]), name=meta["name"], meta=meta["meta"], currency=meta["currency"],
        present=frozenset(meta["present"]), as_of_source=meta["as_of_source"])


# --------------------------------------------------------------------------------------------
# tables of any Ibis backend (a DuckDB file, Spark, a warehouse) as sources


class IbisSource:
    """A table of an Ibis backend read like a file: its rows stream (``to_pyarrow_batches``)
    into the engine, where every rule of a file applies; ``row`` is the record's number in the
    order the backend returns them."""

    def __init__(self, label: str, table, con):
        self.label, self.table, self.con = label, table, con
        self.name = label

    def __str__(self) -> str:
        return self.label

    def __fspath__(self) -> str:  # pragma: no cover - never opened as a file
        raise TypeError(f"{self.label} is a table, not a file")

    @property
    def suffix(self) -> str:
        return ""

    def exists(self) -> bool:
        return True

    def resolve(self):
        return self

    def stat(self):
        raise TypeError(f"{self.label} is a table, not a file")


def _arrow_batches(backend, table, batch_rows: int):
    """The rows of an Ibis table as Arrow record batches, streamed from ``backend``."""
    if backend.name == "duckdb":  # Ibis' own streaming misses DuckDB 2's renamed reader
        backend._run_pre_execute_hooks(table)
        return backend.con.sql(backend.compile(table)).to_arrow_reader(batch_rows)
    return backend.to_pyarrow_batches(table, chunk_size=batch_rows)


def _read_ibis(duck, file: _File, batch_rows: int) -> None:
    table = file.path.table
    file.encoding, file.headers = "ibis", [str(c) for c in table.columns]
    _store_batches(duck, f"raw_f{file.fid}", len(file.headers),
                   _typed_batches(_arrow_batches(file.path.con, table, batch_rows), batch_rows))


def from_ibis(
    con,
    *,
    transactions,
    customers=None,
    interactions=None,
    surveys=None,
    contracts=None,
    as_of=None,
    config=None,
    name: str | None = None,
    currency: str = "CNY",
    max_rejected_share: float | str | None = "config",
) -> Dataset:
    """Load and validate tables that live in a DuckDB file, on Spark or in a warehouse.

    Each table is read like a file of :func:`segkit.load_dataset`: its columns are matched by
    name (segkit's names, the handbook's Chinese terms or an alias), every row goes through the
    same rules in segkit's embedded DuckDB, and rejected rows go to the ledger. The rows stream
    from the backend in batches, so memory stays bounded; for a warehouse too big to copy, compute
    the snapshot where the data are with :func:`segkit.engine.snapshot_from_ibis`.

    Parameters
    ----------
    con : Ibis backend
        E.g. ``ibis.duckdb.connect("crm.duckdb", read_only=True)`` or ``ibis.pyspark.connect(spark)``.
    transactions, customers, interactions, surveys, contracts : str, ibis.Table or list of them
        Table names (``"crm.orders"``) or Ibis expressions; ``customers`` etc. are optional.
    as_of : date-like, optional
        As in :func:`segkit.load_dataset`; default the latest date in the data.
    config : path or mapping, optional
    name : str, optional
        The data set's name (default: the transactions table's name).
    currency : str, default "CNY"
    max_rejected_share : float, None or "config", default "config"
        As in :func:`segkit.load_dataset`.

    Returns
    -------
    Dataset

    Examples
    --------
    >>> import ibis, pandas as pd
    >>> con = ibis.duckdb.connect()
    >>> orders = ibis.memtable(pd.DataFrame({"customer_id": ["A", "A", "B"],
    ...     "order_date": ["2026-01-05", "2026-08-20", "not a date"], "amount": [120.0, 80.0, 3.0]}))
    >>> ds = from_ibis(con, transactions=orders, as_of="2026-09-30", max_rejected_share=None)
    >>> ds.transactions["amount"].tolist(), ds.rejected[["row", "column", "reason"]].values.tolist()[0][:2]
    ([120.0, 80.0], [3, 'order_date'])
    """
    from segkit.io import _stop_if_mostly_rejected, vocabulary_indexes

    given = {"customers": customers, "transactions": transactions, "interactions": interactions, "surveys": surveys,
             "contracts": contracts}
    found: dict[str, list] = {}
    for table_name, value in given.items():
        values = [] if value is None else list(value) if isinstance(value, (list, tuple)) else [value]
        sources = []
        for i, item in enumerate(values):
            expr = ibis_table(con, item)
            label = item if isinstance(item, str) else f"{table_name}#{i + 1}" if len(values) > 1 else table_name
            sources.append(IbisSource(f"{con.name}:{label}", expr, con))
        found[table_name] = sources
    if not found["transactions"]:
        raise SchemaError("from_ibis needs a transactions table")
    meta = {"currency": currency}
    dataset, _ = load_with_engine(found, meta=meta, name=name or str(found["transactions"][0]), date_order="auto",
                                  as_of=as_of, config=config, vocab=vocabulary_indexes(config),
                                  derive_customers=not found["customers"])
    _stop_if_mostly_rejected(dataset, max_rejected_share, config)
    return dataset


# --------------------------------------------------------------------------------------------
# a data set from a database: a DuckDB file, or a connection described in dataset.yaml

_SOURCE_KEYS = {"url", "tables"}


def _connect_source(url: str, base: Path):
    """An Ibis connection from a URL (``duckdb:///crm.duckdb``, ``postgres://...``,
    ``pyspark://``); a DuckDB file is opened read-only, relative to ``base``."""
    ibis = _ibis()
    if url.startswith("duckdb://"):
        target = url.removeprefix("duckdb://")
        if not target or target == ":memory:":
            raise SchemaError(f"source url {url!r} names no DuckDB file; write duckdb:///path/to/file.duckdb")
        path = Path(target) if Path(target).is_absolute() else base / target
        if not path.is_file():
            raise SchemaError(f"source url {url!r}: {path} not found")
        return ibis.duckdb.connect(str(path), read_only=True)
    try:
        return ibis.connect(url)
    except Exception as exc:  # the backend's own message says what is wrong (driver, host, login)
        raise SchemaError(f"source url {url!r}: cannot connect ({type(exc).__name__}: {exc})") from exc


def _list_tables(con) -> list[str]:
    """Table names in the connection's current database and schema, sorted."""
    if con.name == "duckdb":  # Ibis 12's list_tables uses a result method DuckDB 2 renamed
        query = "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
        return sorted(row[0] for row in con.con.execute(query).fetchall())
    return sorted(con.list_tables())


def database_tables(con) -> dict[str, list[str]]:
    """The tables of a database that hold segkit's tables, found by name as files are
    (``customers``, ``orders`` / ``transactions``, ``客户``, ``订单``, ...)."""
    from segkit.sources import table_of_name

    found: dict[str, list[str]] = {name: [] for name in TABLES}
    for name in _list_tables(con):
        table = table_of_name(name)
        if table is not None:
            found[table].append(name)
    return found


def load_source(source: Mapping, *, base: Path, meta: Mapping, as_of=None, config=None,
                max_rejected_share: float | str | None = "config", cache_files: list[Path] | None = None) -> Dataset:
    """Load and validate the tables of a database, as :func:`from_ibis` does.

    ``source`` is the ``source`` mapping of a ``dataset.yaml``::

        source:
          url: duckdb:///crm.duckdb          # or postgres://user@host/crm, pyspark://, ...
          tables:                            # optional: found by name when left out
            transactions: crm.orders
            customers: crm.customers

    ``meta`` gives the data set's ``name``, ``currency`` and ``as_of`` (from ``dataset.yaml``).
    When ``cache_files`` lists the database's files and a run cache is set
    (``SEGKIT_DATA_CACHE``, as ``segkit report`` sets it), the validated tables are read once
    per run, as for a folder of files.
    """
    if not isinstance(source, Mapping) or not isinstance(source.get("url"), str):
        raise SchemaError("dataset.yaml: source must be a mapping with a url, e.g. source: {url: duckdb:///crm.duckdb}")
    unknown = set(source) - _SOURCE_KEYS
    if unknown:
        raise SchemaError(f"dataset.yaml: source has unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                          f"allowed: {', '.join(sorted(_SOURCE_KEYS))}")
    tables = source.get("tables") or {}
    if not isinstance(tables, Mapping) or set(tables) - set(TABLES):
        raise SchemaError(f"dataset.yaml: source.tables maps segkit's tables ({', '.join(TABLES)}) to table names")
    from segkit.io import _config_text

    settings = {"as_of": as_of, "source": dict(source), "config": _config_text(config), "meta": dict(meta)}
    cache = os.environ.get(CACHE_VARIABLE)
    saved = None
    if cache and cache_files:
        saved = Path(cache) / f"data-{cache_key({'source': cache_files}, **settings)}.duckdb"
        if saved.is_file():
            from segkit.io import _stop_if_mostly_rejected

            dataset = open_store(saved, config)
            _stop_if_mostly_rejected(dataset, max_rejected_share, config)
            return dataset
    con = _connect_source(source["url"], base)
    named = {name: value for name, value in tables.items() if value}
    if not named:
        named = {name: found for name, found in database_tables(con).items() if found}
    if not named.get("transactions"):
        listed = ", ".join(_list_tables(con)[:20]) or "none"
        raise SchemaError(f"source {source['url']!r}: no transactions table (tables: {listed}); "
                          "name it in dataset.yaml as source: {tables: {transactions: ...}}")
    dataset = from_ibis(con, **named, as_of=as_of if as_of is not None else meta.get("as_of"), config=config,
                        name=str(meta.get("name") or Path(source["url"]).stem), currency=str(meta.get("currency", "CNY")),
                        max_rejected_share=max_rejected_share)
    if saved is not None:
        save_store(dataset, saved)
    return dataset


"""Reading one raw file into a table of text cells, with its headers checked and mapped.

CSV text (decoded as :mod:`segkit.sources` decides; a fast parser, and a line-by-line one that
reports malformed lines with the row a person sees), XLSX sheets and Parquet files become a
DataFrame of strings with the bookkeeping columns ``_file``, ``_row`` and ``_key``; headers are
checked (empty, duplicated, reserved, too many columns) and mapped to canonical names through
the aliases of :mod:`segkit.schema`. Nothing here knows a rule about the values: that is
:mod:`segkit.cells` (one cell) and :mod:`segkit.io` (one table, one data set).
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd

from segkit.schema import ALIASES, SchemaError, Table, normalise_header
from segkit.sources import READABLE_KINDS, TEXT_KINDS, FileSpec, choose_sheet, detect_encoding, file_kind, open_binary

def _read_csv_text(path: Path, spec: FileSpec | None = None) -> tuple[str, str]:
    """The file's text and encoding (:func:`segkit.sources.detect_encoding`; gzip is opened)."""
    encoding, _, _ = detect_encoding(path, (spec or FileSpec()).encoding)
    with open_binary(path) as handle:
        data = handle.read()
    codec = {"big5": "cp950"}.get(encoding, encoding)
    return data.decode(codec), encoding


def _parse_csv(text: str, path: Path, spec: FileSpec | None = None,
               notes: list[str] | None = None) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """CSV text -> string frame; a line whose field count differs from the header's is malformed.

    Fast path: pandas' C parser, used when every record is exactly one line (then the line
    number of record i is i + 2) and the header names each column once. Otherwise -- quoted
    fields spanning lines, lines with the wrong number of fields, empty or repeated headers --
    the csv module, which keeps the true line number and the headers as written.
    """
    spec = spec or FileSpec()
    if file_kind(path) in (".csv", ".csv.gz"):
        head = list(itertools.islice(csv.reader(io.StringIO(text[:1 << 20], newline="")), 2))
        first = head[0] if head else []
        named = sum(1 for h in first if h.strip())
        if named > spec.max_columns:  # refused before the records are parsed
            raise _too_wide(path, named, spec.max_columns)
        simple = (first and all(h.strip() for h in first) and len(set(first)) == len(first)
                  and (len(head) < 2 or len(head[1]) == len(first)))
        frame = None
        if simple:
            try:
                frame = pd.read_csv(io.StringIO(text), dtype="str", keep_default_na=False, skip_blank_lines=False)
            except (pd.errors.ParserError, ValueError):
                frame = None
        lines = text.count("\n") + (0 if text.endswith("\n") else 1)
        # more fields in the records than in the header: pandas makes the first ones an index
        if (frame is not None and len(frame) + 1 == lines and list(frame.columns) == first
                and isinstance(frame.index, pd.RangeIndex)):
            return frame, np.arange(len(frame), dtype="int64") + 2, []
    return _parse_csv_slow(text, path, spec, notes)


def _physical_lines(text: str) -> list[str]:
    return [line.rstrip("\r") for line in text.split("\n")]


def _parse_csv_slow(text: str, path: Path, spec: FileSpec | None = None,
                    notes: list[str] | None = None) -> tuple[pd.DataFrame, np.ndarray, list[dict]]:
    """The csv module's reading. A record that runs over several lines because of a quote is
    kept only if its field count is right and its quoted field spans at most
    ``spec.max_field_lines`` lines; otherwise the quote is taken as unclosed and every physical
    line of the run is rejected on its own, so the lines it swallowed are counted and shown."""
    spec = spec or FileSpec()
    sample = text[:4096]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|") if file_kind(path) in (".txt", ".txt.gz") else csv.excel
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    header = next(reader, None)
    if header is None:
        raise SchemaError(f"{path}: the file is empty (no header line)")
    width = len(header)
    # trailing columns without a header (Excel's ghost columns) are cut from every record at
    # once while they stay empty: a file may have thousands
    named = max((i + 1 for i, h in enumerate(header) if h.strip()), default=width)
    ghosts = width - named
    records, rows, malformed = [], [], []
    line = reader.line_num
    physical: list[str] | None = None
    for fields in reader:
        start, line = line + 1, reader.line_num
        if not "".join(fields).strip():
            continue  # an empty line is not a record
        if len(fields) > width and not "".join(fields[width:]).strip():
            fields = fields[:width]  # trailing empty cells, as spreadsheets export them
        if ghosts and len(fields) == width:
            if "".join(fields[named:]).strip():
                ghosts = 0  # a value under a headerless column: it stays, named by its letter
            else:
                fields = fields[:named]
        span = line - start + 1
        if span > 1 and (len(fields) != width or span > spec.max_field_lines):
            physical = _physical_lines(text) if physical is None else physical
            reason = (f"unclosed quote (a quoted field starting at line {start} runs over {span} lines, to line "
                      f"{line}; every line of the run is rejected)")
            malformed.extend({"row": n, "value": physical[n - 1] if n <= len(physical) else "", "reason": reason}
                             for n in range(start, line + 1) if n > len(physical) or physical[n - 1].strip())
            continue
        if len(fields) != width and not (ghosts and len(fields) == named):
            malformed.append({"row": start, "value": ",".join(fields),
                              "reason": f"malformed line: {len(fields)} fields where the header has {width}"})
            continue
        records.append(fields)
        rows.append(start)
    if ghosts and notes is not None:
        header = header[:named]
        notes.append(_ghost_note(range(named, width)))
    elif len(header) > named:
        records = [r + [""] * (width - len(r)) for r in records]
    return _frame_of(records, header), np.asarray(rows, dtype="int64"), malformed


def _frame_of(records: list[list[str]], header: list[str]) -> pd.DataFrame:
    """Records -> string frame; headers may repeat here (:func:`_check_header` names them)."""
    frame = pd.DataFrame(records, dtype="str") if records else pd.DataFrame(columns=range(len(header)), dtype="str")
    frame.columns = header
    return frame


def _column_letter(position: int) -> str:
    """``0`` -> ``A``, ``26`` -> ``AA``: the column as a spreadsheet labels it."""
    letters = ""
    position += 1
    while position:
        position, rest = divmod(position - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _too_wide(path: Path, columns: int, limit: int) -> SchemaError:
    return SchemaError(f"{path}: {columns:,} columns hold a header or a value; segkit reads at most {limit:,} "
                       "(engine.max_columns). Delete the columns you do not need, or raise the limit in a "
                       "configuration file")


def _ghost_note(positions) -> str:
    positions = list(positions)
    where = _column_letter(positions[0]) + (f" to {_column_letter(positions[-1])}" if len(positions) > 1 else "")
    return f"empty columns dropped: {len(positions):,} column(s) with neither a header nor a value ({where})"


# headers segkit uses for its own bookkeeping columns (a file's column may not take them)
_RESERVED_HEADER = re.compile(r"^_(?:file|row|key|fid)$|^_[texbr]_|^_m\d+_")
_INTERNAL = ("_file", "_row", "_key")


def _check_header(frame: pd.DataFrame, path: Path, notes: list[str], max_columns: int | None = None) -> pd.DataFrame:
    """Drop columns with neither a header nor a value (Excel's ghost columns, counted in a
    warning), name a headerless column that holds values by its letter (``(column F)``), and
    refuse a header that repeats or collides with segkit's own column names."""
    names = [str(c) for c in frame.columns]
    unnamed = [i for i, h in enumerate(names) if not h.strip() or re.fullmatch(r"Unnamed: \d+", h)]
    if unnamed:
        values = frame.iloc[:, unnamed].to_numpy(dtype=object) if len(frame) else np.empty((0, len(unnamed)), dtype=object)
        used = np.zeros(len(unnamed), dtype=bool)
        if values.size:
            used = (np.char.str_len(np.char.strip(values.astype("U"))) > 0).any(axis=0)
        ghosts = [i for i, u in zip(unnamed, used) if not u]
        if ghosts:
            keep = np.ones(len(names), dtype=bool)
            keep[ghosts] = False
            frame = frame.iloc[:, keep]
            notes.append(_ghost_note(ghosts))
            names = [n for n, k in zip(names, keep) if k]
            positions = [i for i, k in enumerate(keep) if k]
        else:
            positions = list(range(len(names)))
        names = [f"(column {_column_letter(p)})" if (not n.strip() or re.fullmatch(r"Unnamed: \d+", n)) else n
                 for n, p in zip(names, positions)]
        frame = frame.set_axis(names, axis=1)
    if max_columns is not None and len(names) > max_columns:
        raise _too_wide(path, len(names), max_columns)
    seen: dict[str, int] = {}
    for position, name in enumerate(names):
        if _RESERVED_HEADER.match(name):
            raise SchemaError(f"{path}: column {name!r} has a name segkit keeps for itself; rename the column")
        key = name.strip()
        if key in seen:
            raise SchemaError(f"{path}: the header names column {key!r} twice (columns {_column_letter(seen[key])} and "
                              f"{_column_letter(position)}); rename or delete one of them")
        seen[key] = position
    return frame


def _read_raw(path: Path, spec: FileSpec | None = None, notes: list[str] | None = None
              ) -> tuple[pd.DataFrame, np.ndarray, str, list[dict]]:
    """Read a file as strings.

    Returns the frame, the row number a person sees for each record, the encoding (or file
    type) and the malformed lines (CSV lines with the wrong number of fields). Facts about the
    whole file that the caller should report (empty columns dropped, sheets not read) are
    appended to ``notes``.
    """
    spec = spec or FileSpec()
    notes = [] if notes is None else notes
    if not path.exists():
        raise SchemaError(f"{path}: file not found")
    suffix = file_kind(path)
    malformed: list[dict] = []
    try:
        if suffix in TEXT_KINDS:
            text, encoding = _read_csv_text(path, spec)
            frame, rows, malformed = _parse_csv(text, path, spec, notes)
        elif suffix in (".xlsx", ".xlsm"):
            encoding = "xlsx"
            sheet, sheet_notes = choose_sheet(path, spec)
            notes.extend(sheet_notes)
            frame = pd.read_excel(path, sheet_name=sheet, dtype=str, keep_default_na=False, engine="openpyxl", header=None)
            header = [("" if pd.isna(h) else str(h)) for h in frame.iloc[0]] if len(frame) else []
            frame = frame.iloc[1:].reset_index(drop=True).set_axis(header, axis=1) if len(frame) else frame
            rows = np.arange(len(frame)) + 2
        elif suffix in (".parquet", ".pq"):
            encoding = "parquet"
            frame = pd.read_parquet(path)
            frame = frame.astype(str).where(frame.notna(), "")
            rows = np.arange(len(frame)) + 1
        else:
            raise SchemaError(f"{path}: unsupported file type {suffix!r}; use {', '.join(READABLE_KINDS)}")
    except SchemaError:
        raise
    except Exception as exc:  # any reader failure (bad zip, parser error, ...) names the file
        raise SchemaError(f"{path}: cannot read the file: {exc}") from exc
    frame.columns = [str(c) for c in frame.columns]
    frame = frame.fillna("").astype(str)
    frame = _check_header(frame, path, notes, spec.max_columns)
    blank = np.ones(len(frame), dtype=bool)
    for position in range(frame.shape[1]):  # column by column, only over the rows still blank
        left = np.flatnonzero(blank)
        if not len(left):
            break
        blank[left] = (frame.iloc[left, position].str.strip() == "").to_numpy(dtype=bool)
    return frame.loc[~blank].reset_index(drop=True), rows[~blank], encoding, malformed


def _map_headers(frame: pd.DataFrame, table: Table, path: Path) -> tuple[pd.DataFrame, dict[str, float]]:
    aliases = ALIASES[table.name]
    mapping: dict[str, str] = {}
    units: dict[str, float] = {}
    for header in frame.columns:
        key, multiplier = normalise_header(header)
        canonical = aliases.get(key)
        if canonical is None:
            continue
        if canonical in mapping.values():
            first = next(h for h, c in mapping.items() if c == canonical)
            raise SchemaError(
                f"{path}: columns {first!r} and {header!r} both mean {canonical!r}; keep one of them"
            )
        mapping[header] = canonical
        units[canonical] = multiplier
    missing = [c for c in table.required if c not in mapping.values()]
    if missing:
        expected = ", ".join(f"{c} ({table.column(c).zh})" for c in table.required)
        raise SchemaError(
            f"{path}: missing required column(s) {', '.join(missing)} for the {table.name} table. "
            f"Expected: {expected}. Found: {', '.join(map(repr, frame.columns))}"
        )
    return frame.rename(columns=mapping), units

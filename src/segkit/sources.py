"""Which file is which table, and how each is decoded: every file in a data folder accounted for.

:func:`segkit.io.load_dataset` (both engines) asks this module what to read. The rules, each
written once here and documented in ``docs/data.md``:

* **Tables by file name.** A file belongs to the table whose name its file name starts with
  (``orders*``, ``订单*``, ...; :data:`segkit.schema.TABLES`), or to the table ``dataset.yaml``
  gives it under ``files:``.
* **Two exports of one table** (``orders.csv`` beside ``orders (1).csv``, ``orders.xlsx``
  beside ``orders.csv``, or two files with the same bytes) are an error naming both: reading
  both would count every order twice. Listing both under ``files:`` in ``dataset.yaml`` says
  they are different parts, and then both are read.
* **segkit's own outputs** (a customer snapshot, a rejected-rows ledger, a tier table, the
  validation summary) saved into the folder are not input: they are skipped with a warning.
* **Formats.** ``.csv``, ``.txt``, ``.csv.gz``, ``.txt.gz``, ``.xlsx``, ``.xlsm``, ``.parquet``
  are read; ``.xls`` / ``.xlsb`` / ``.et`` are refused by name ("save it as .xlsx"); any other
  file is skipped with a warning naming it.
* **Encodings** of text files: see :func:`detect_encoding`.
* **Workbooks**: see :func:`choose_sheet`.

A skipped file is reported in ``Dataset.warnings`` (row 0, column ``(file)``), never silently.
"""

from __future__ import annotations

import codecs
import dataclasses
import functools
import gzip
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from segkit.config import StrictModel, default_section
from segkit.schema import ALIASES, TABLES, SchemaError, fold_header, normalise_header

__all__ = ["FileSpec", "Discovery", "discover", "detect_encoding", "file_kind", "open_binary", "choose_sheet",
           "READABLE_KINDS", "REFUSED_KINDS"]

READABLE_KINDS = (".csv", ".txt", ".csv.gz", ".txt.gz", ".xlsx", ".xlsm", ".parquet", ".pq")
TEXT_KINDS = (".csv", ".txt", ".csv.gz", ".txt.gz")
# files that describe the data rather than hold it: passed over without a warning
COMPANION_KINDS = (".yaml", ".yml", ".md")
REFUSED_KINDS = {
    ".xls": "an Excel 97-2003 workbook; open it in Excel or WPS and save it as .xlsx",
    ".xlsb": "a binary Excel workbook; open it in Excel and save it as .xlsx",
    ".et": "a WPS spreadsheet; open it in WPS and save it as .xlsx",
}
# the encodings tried, in the words a user sees; the codec segkit uses for each
ENCODING_NAMES = {"utf-8-sig": "UTF-8", "utf-16": "UTF-16", "gb18030": "GB18030/GBK", "big5": "Big5",
                  "cp1252": "Windows-1252"}
_CODECS = {"big5": "cp950"}  # Big5 as Windows writes it (code page 950)
_SAMPLE_BYTES = 1 << 20
_NON_ASCII_LINE = re.compile(rb"[^\n]*[\x80-\xff][^\n]*")

WARN_SKIPPED = "file skipped"


@dataclass(frozen=True)
class FileSpec:
    """How one file is read: what ``dataset.yaml`` says about it plus the reading limits of the
    ``engine`` configuration section."""

    encoding: str | None = None
    sheet: str | None = None
    max_field_lines: int = 20
    notes_sheets: tuple[str, ...] = ()
    max_columns: int = 1000


@dataclass
class Discovery:
    """The files of each table, how to read each, and what was skipped (warnings)."""

    found: dict[str, list[Path]]
    specs: dict[str, FileSpec]
    notices: list[dict] = field(default_factory=list)

    def spec(self, path) -> FileSpec:
        return self.specs.get(str(path), self.specs.get("", FileSpec()))


def notice(table: str, file, reason: str) -> dict:
    """A warning about a whole file (``row`` 0, ``column`` ``(file)``)."""
    return {"table": table, "file": str(file), "row": 0, "column": "(file)", "value": Path(str(file)).name,
            "reason": reason}


# --------------------------------------------------------------------------------------------
# dataset.yaml: files


class FileEntry(StrictModel):
    """One file under ``files:`` in ``dataset.yaml``."""

    table: str | None = None
    encoding: str | None = None
    sheet: str | None = None
    skip: bool = False


def file_entries(meta: Mapping, folder: Path) -> dict[str, FileEntry]:
    """``files:`` of ``dataset.yaml``: file name -> :class:`FileEntry`, checked."""
    raw = meta.get("files") if isinstance(meta, Mapping) else None
    if raw is None:
        return {}
    where = f"{folder / 'dataset.yaml'}"
    if not isinstance(raw, Mapping):
        raise SchemaError(f"{where}: files: must map file names to settings, e.g. files: {{orders.csv: {{encoding: big5}}}}")
    entries: dict[str, FileEntry] = {}
    for name, value in raw.items():
        value = {} if value is None else value
        if not isinstance(value, Mapping):
            raise SchemaError(f"{where}: files: {name!r} must be a mapping (table, encoding, sheet, skip)")
        unknown = set(value) - set(FileEntry.model_fields)
        if unknown:
            raise SchemaError(f"{where}: files: {name!r}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; "
                              f"allowed: {', '.join(FileEntry.model_fields)}")
        entry = FileEntry.model_validate(dict(value))
        if entry.table is not None and entry.table not in TABLES:
            raise SchemaError(f"{where}: files: {name!r}: table {entry.table!r} is not one of {', '.join(TABLES)}")
        if entry.encoding is not None:
            entry.encoding = _codec_of(entry.encoding, f"{where}: files: {name!r}")
        path = folder / str(name)
        if not path.is_file():
            raise SchemaError(f"{where}: files: lists {name!r}, which is not a file in {folder}")
        entries[path.name] = entry
    return entries


def _codec_of(name: str, where: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    aliases = {"utf-8": "utf-8-sig", "utf8": "utf-8-sig", "utf-8-bom": "utf-8-sig", "gbk": "gb18030", "gb2312": "gb18030",
               "big5": "big5", "cp950": "big5", "windows-1252": "cp1252", "latin-1": "cp1252", "utf-16": "utf-16"}
    if key in aliases:
        return aliases[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        raise SchemaError(f"{where}: unknown encoding {name!r}; e.g. {', '.join(ENCODING_NAMES)}") from None


# --------------------------------------------------------------------------------------------
# file kinds


def file_kind(path) -> str:
    """The file's type by its name: ``.csv``, ``.csv.gz``, ``.xlsx``, ... (lower case)."""
    suffixes = [s.lower() for s in Path(str(path)).suffixes]
    if len(suffixes) >= 2 and suffixes[-1] == ".gz":
        return "".join(suffixes[-2:])
    return suffixes[-1] if suffixes else ""


def file_stem(path) -> str:
    """The name without its type: ``orders (1)`` for ``orders (1).csv.gz``."""
    name = Path(str(path)).name
    kind = file_kind(path)
    return name[: len(name) - len(kind)] if kind and name.lower().endswith(kind) else Path(name).stem


def open_binary(path):
    """The file's bytes, decompressed when it is gzipped."""
    return gzip.open(path, "rb") if file_kind(path).endswith(".gz") else open(path, "rb")


# --------------------------------------------------------------------------------------------
# encodings


def _pairs(codec: str, leads, trails) -> frozenset[str]:
    out = set()
    for lead in leads:
        for trail in trails:
            try:
                out.add(bytes([lead, trail]).decode(codec))
            except UnicodeDecodeError:
                pass
    return frozenset(out)


@functools.lru_cache(maxsize=None)
def _common() -> dict[str, frozenset[str]]:
    """The characters ordinary text uses in each double-byte encoding: GB2312 punctuation,
    full-width forms, pinyin letters and its 6,763 hanzi; Big5 punctuation and its 5,401
    level-1 (frequent) hanzi."""
    return {
        "gb18030": _pairs("gb2312", [0xA1, 0xA2, 0xA3, 0xA8, *range(0xB0, 0xF8)], range(0xA1, 0xFF)),
        "big5": _pairs("cp950", range(0xA1, 0xC7), [*range(0x40, 0x7F), *range(0xA1, 0xFF)]),
    }


_LATIN_PUNCT = set("€£°“”‘’–—…™©®«»•")


def _latin_share(text: str) -> float:
    """Share of non-ASCII characters that look like Western text: a letter next to a letter
    (é in Café), or typographic punctuation. Chinese bytes read as Windows-1252 give runs of
    symbols and capitals (¿Í»§) and score low."""
    hits = total = 0
    for i, ch in enumerate(text):
        if ord(ch) < 128:
            continue
        total += 1
        before = text[i - 1] if i else " "
        after = text[i + 1] if i + 1 < len(text) else " "
        run = sum(1 for c in (before, after) if ord(c) >= 128)
        if ch in _LATIN_PUNCT or (ch.isalpha() and run < 2 and (before.isalpha() or after.isalpha())):
            hits += 1
    return hits / total if total else 1.0


def _share(text: str, encoding: str) -> float:
    if encoding == "cp1252":
        return _latin_share(text)
    common = _common()[encoding]
    chars = [c for c in text if ord(c) >= 128]
    return sum(c in common for c in chars) / len(chars) if chars else 1.0


def _known_headers(text: str) -> int:
    """How many non-ASCII fields of the first line are column names segkit knows (客户编号, ...)."""
    first = text.split("\n", 1)[0]
    fields = re.split(r"[,;\t|]", first)
    known = set().union(*ALIASES.values())
    return sum(1 for f in fields if any(ord(c) >= 128 for c in f) and normalise_header(f.strip().strip('"'))[0] in known)


# a clear choice: the best reading has this share of plausible characters, and this lead over the next
CLEAR_SHARE, CLEAR_LEAD = 0.85, 0.15


def detect_encoding(path, declared: str | None = None) -> tuple[str, int, bool]:
    """The encoding of a text file, its count of line feeds and whether it ends with one.

    The decision, in order (the whole file is streamed, never held):

    1. ``declared`` (``encoding:`` for the file in ``dataset.yaml``) when given; the file must
       decode with it.
    2. A byte-order mark: UTF-8 with BOM, or UTF-16 (Excel's "Unicode text").
    3. Every second byte zero: UTF-16 without a BOM, little or big endian.
    4. Valid UTF-8 (no other encoding of non-ASCII text is valid UTF-8 by accident).
    5. Otherwise GB18030 (GBK), Big5 and Windows-1252 are tried. Those that decode the whole
       file are candidates; with one, it is used. With several, the first line decides if its
       non-ASCII column names are known segkit headers (客户编号, 交易金额) in exactly one of
       them; else the share of characters ordinary text uses (GB2312 hanzi for GB18030, Big5
       level-1 hanzi for Big5, accented letters inside words for Windows-1252) decides, when
       the best reaches 85 % and leads the next by 15 points.
    6. Otherwise :class:`SchemaError` naming the file, the encodings tried and how each read,
       and asking for ``encoding:`` in ``dataset.yaml``.
    """
    path = Path(str(path))
    with open_binary(path) as handle:
        head = handle.read(_SAMPLE_BYTES)
    if declared:
        candidates = [declared]
    elif head.startswith(codecs.BOM_UTF8):
        candidates = ["utf-8-sig"]
    elif head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        candidates = ["utf-16"]
    elif len(head) >= 4 and head.count(0) * 3 >= len(head):
        odd_zero = head[1::2].count(0) > head[0::2].count(0)
        candidates = ["utf-16-le" if odd_zero else "utf-16-be"]
    else:
        candidates = ["utf-8-sig", "gb18030", "big5", "cp1252"]
    failed: dict[str, str] = {}
    newlines, last = 0, b""
    sample = bytearray()  # lines with non-ASCII bytes, wherever they are in the file: what is scored
    # UTF-8 first, alone (it is the common case and needs one pass); the others only if it fails
    passes = [candidates[:1], candidates[1:]] if len(candidates) > 1 else [candidates]
    for number, group in enumerate(passes):
        if number and "utf-8-sig" not in failed:
            break  # valid UTF-8: no second pass
        decoders = {e: codecs.getincrementaldecoder(_CODECS.get(e, e))() for e in group}
        newlines, last = 0, b""
        with open_binary(path) as handle:
            while chunk := handle.read(1 << 24):
                newlines += chunk.count(b"\n")
                last = chunk[-1:]
                if number and len(sample) < _SAMPLE_BYTES // 4:
                    for match in _NON_ASCII_LINE.finditer(chunk):
                        sample += match.group() + b"\n"
                        if len(sample) >= _SAMPLE_BYTES // 4:
                            break
                for encoding in [e for e in group if e not in failed]:
                    try:
                        decoders[encoding].decode(chunk)
                    except UnicodeDecodeError as exc:
                        failed[encoding] = str(exc)
                if all(e in failed for e in group):
                    break
        for encoding in group:
            if encoding not in failed:
                try:
                    decoders[encoding].decode(b"", final=True)
                except UnicodeDecodeError as exc:
                    failed[encoding] = str(exc)
    ok = [e for e in candidates if e not in failed]
    ends = last == b"\n"
    if declared:
        if not ok:
            raise SchemaError(f"{path}: does not decode as {declared}, the encoding dataset.yaml gives it "
                              f"({failed[declared]}); correct encoding: for it under files: in dataset.yaml")
        return declared, newlines, ends
    if "utf-8-sig" in ok or len(ok) == 1:
        return ok[0], newlines, ends
    if not ok:
        tried = ", ".join(ENCODING_NAMES.get(e, e) for e in candidates)
        raise SchemaError(f"{path}: cannot decode the file as any of {tried}; save it as UTF-8 CSV, or set its "
                          "encoding under files: in dataset.yaml")
    first_line = head.split(b"\n", 1)[0]
    headers = {e: _known_headers(first_line.decode(_CODECS.get(e, e), errors="ignore")) for e in ok}
    texts = {e: bytes(sample).decode(_CODECS.get(e, e), errors="ignore") for e in ok}
    best_header = max(headers.values())
    if best_header and sum(1 for n in headers.values() if n == best_header) == 1:
        return max(headers, key=headers.get), newlines, ends
    shares = sorted(((_share(t, e), e) for e, t in texts.items()), reverse=True)
    (best, chosen), (second, _) = shares[0], shares[1]
    if best >= CLEAR_SHARE and best - second >= CLEAR_LEAD:
        return chosen, newlines, ends
    readings = "; ".join(f"{ENCODING_NAMES[e]}: {texts[e].split(chr(10), 1)[0][:40]!r}" for _, e in shares)
    raise SchemaError(
        f"{path}: the encoding is not clear: the file decodes as {', '.join(ENCODING_NAMES[e] for _, e in shares)} "
        f"and none is clearly right ({readings}). Say which under files: in dataset.yaml, e.g.\n"
        f"files:\n  {path.name}:\n    encoding: {shares[0][1]}"
    )


# --------------------------------------------------------------------------------------------
# workbooks


def choose_sheet(path, spec: FileSpec) -> tuple[str, list[str]]:
    """The sheet of a workbook to read, and warnings about the others.

    ``sheet:`` in ``dataset.yaml`` names it. Otherwise the workbook must hold data on one
    sheet: empty sheets and notes sheets (named 说明, 备注, Notes, ReadMe, ...; the ``engine``
    section's ``notes_sheets``) are skipped with a warning, and data on two or more sheets is an
    error naming them. A workbook with no data at all reads its first sheet.
    """
    import openpyxl

    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        names = list(book.sheetnames)
        if spec.sheet is not None:
            if spec.sheet not in names:
                raise SchemaError(f"{path}: dataset.yaml names sheet {spec.sheet!r}, which the workbook does not have; "
                                  f"its sheets: {', '.join(map(repr, names))}")
            others = [n for n in names if n != spec.sheet]
            notes = [f"{WARN_SKIPPED}: sheet {n!r} not read (dataset.yaml names sheet {spec.sheet!r})"
                     for n in others if _has_data(book[n])]
            return spec.sheet, notes
        folded_notes = {_fold_name(n) for n in spec.notes_sheets}
        with_data, notes = [], []
        for name in names:
            if not _has_data(book[name]):
                if len(names) > 1:
                    notes.append(f"{WARN_SKIPPED}: sheet {name!r} is empty")
            elif _fold_name(name) in folded_notes:
                notes.append(f"{WARN_SKIPPED}: sheet {name!r} holds notes, not data (by its name)")
            else:
                with_data.append(name)
    finally:
        book.close()
    if len(with_data) > 1:
        raise SchemaError(
            f"{path}: the workbook has data on {len(with_data)} sheets ({', '.join(map(repr, with_data))}); segkit reads "
            f"one sheet per file. Name it in dataset.yaml, e.g.\nfiles:\n  {Path(path).name}:\n    sheet: {with_data[0]}\n"
            "or save each sheet as a file of its own.")
    return (with_data[0] if with_data else names[0]), notes


def _fold_name(name: str) -> str:
    """A file or sheet name folded for comparison: :func:`segkit.schema.fold_header` with its
    separators dropped too ("Order-Lines" matches the stem "orderlines")."""
    return fold_header(name).replace("_", "")


def _has_data(sheet) -> bool:
    for row in sheet.iter_rows(values_only=True):
        if any(v is not None and str(v).strip() for v in row):
            return True
    return False


# --------------------------------------------------------------------------------------------
# segkit's own outputs


@functools.lru_cache(maxsize=None)
def _output_signatures() -> tuple[tuple[str, frozenset[str]], ...]:
    """Header sets that mark a file segkit wrote: the rejected-rows ledger and warnings, a
    customer snapshot (its BTYD columns), a tier table (its tier and basis columns, zh or en)."""
    export = default_section("tiers")["export"]["columns"]
    tiers = [frozenset({export["tier"][lang], export["basis"][lang]}) for lang in ("zh", "en")]
    return (("a rejected-rows or warnings list", frozenset({"table", "file", "row", "column", "value", "reason"})),
            ("a customer snapshot", frozenset({"customer_id", "frequency", "recency", "T", "monetary_value"})),
            *(("a tier table", t) for t in tiers))


# file names segkit's commands write by default (segkit validate / report)
OUTPUT_NAMES = {"rejected_rows": "a rejected-rows list", "customer_snapshot": "a customer snapshot",
                "validation_summary": "a validation summary"}


def segkit_output(path, spec: FileSpec) -> str | None:
    """What segkit output the file is (by its default name or its header), or None."""
    stem = _fold_name(file_stem(path))
    for name, what in OUTPUT_NAMES.items():
        if stem.startswith(_fold_name(name)):
            return what
    header = _first_row(path, spec)
    if header is None:
        return None
    cells = {str(h).strip() for h in header}
    for what, signature in _output_signatures():
        if signature <= cells:
            return what
    return None


def _first_row(path, spec: FileSpec) -> list | None:
    kind = file_kind(path)
    try:
        if kind in TEXT_KINDS:
            import csv

            with open_binary(path) as handle:
                head = handle.read(1 << 16)
            for encoding in ([spec.encoding] if spec.encoding else ["utf-8-sig", "gb18030", "cp1252"]):
                try:
                    text = head.decode(_CODECS.get(encoding, encoding), errors="strict" if encoding != "cp1252" else "replace")
                    break
                except UnicodeDecodeError:
                    continue
            line = text.splitlines()[0] if text else ""
            return next(csv.reader([line], csv.excel_tab if "\t" in line and "," not in line else csv.excel), [])
        if kind in (".xlsx", ".xlsm"):
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
            try:
                for row in book.worksheets[0].iter_rows(values_only=True, max_row=1):
                    return [v for v in row if v is not None]
            finally:
                book.close()
        if kind in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
    except Exception:  # an unreadable file is the reader's to report, by name
        return None
    return None


# --------------------------------------------------------------------------------------------
# discovery


_COPY_MARKS = re.compile(r"(?:[(（]\d+[)）]|副本\d*|的副本|copy\d*)$|^(?:copyof|副本)")


def _export_key(path) -> str:
    """The name two exports of one table share: ``orders`` for ``orders (1).csv``,
    ``orders - 副本.xlsx`` and ``Copy of orders.csv``."""
    key = _fold_name(file_stem(path))
    while True:
        stripped = _COPY_MARKS.sub("", key)
        if stripped == key:
            return key
        key = stripped


def _table_of(path) -> str | None:
    return table_of_name(file_stem(path))


def table_of_name(name: str) -> str | None:
    """The table a file or database table called ``name`` holds (``orders_2026`` ->
    ``"transactions"``, ``客户`` -> ``"customers"``), or None."""
    stem = _fold_name(name)
    for table_name, table in TABLES.items():
        if any(stem.startswith(_fold_name(s)) for s in table.file_stems):
            return table_name
    return None


def _digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def discover(folder: Path, meta: Mapping, base: FileSpec, skip_tables: set[str] | frozenset = frozenset()) -> Discovery:
    """Sort the files of ``folder`` into tables; see the module docstring for the rules.

    ``base`` carries the reading limits; ``dataset.yaml``'s ``files:`` adds each file's
    encoding, sheet, table or ``skip``. Tables in ``skip_tables`` are given by the caller
    (``load_dataset(transactions=...)``): their files in the folder are not checked for doubles.
    """
    entries = file_entries(meta, folder)
    found: dict[str, list[Path]] = {name: [] for name in TABLES}
    specs: dict[str, FileSpec] = {"": base}
    notices: list[dict] = []
    refused: list[str] = []
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name.startswith((".", "~$")) or file_kind(path) in COMPANION_KINDS:
            continue  # hidden files, Excel's lock files, dataset.yaml and the folder's README
        entry = entries.get(path.name)
        kind = file_kind(path)
        if entry is not None and entry.skip:
            notices.append(notice(entry.table or _table_of(path) or "", path, f"{WARN_SKIPPED}: dataset.yaml says skip"))
            continue
        if kind in REFUSED_KINDS:
            refused.append(f"{path.name} ({REFUSED_KINDS[kind]})")
            continue
        if kind not in READABLE_KINDS:
            notices.append(notice("", path, f"{WARN_SKIPPED}: not a data file segkit reads "
                                            f"({', '.join(READABLE_KINDS)})"))
            continue
        spec = dataclasses.replace(base, encoding=entry.encoding if entry else None, sheet=entry.sheet if entry else None)
        if entry is None or entry.table is None:
            what = segkit_output(path, spec)
            if what is not None:
                notices.append(notice(_table_of(path) or "", path, f"{WARN_SKIPPED}: segkit's own output ({what}), "
                                                                      "not input data; keep outputs out of the data folder"))
                continue
        table = entry.table if entry is not None and entry.table else _table_of(path)
        if table is None:
            stems = "; ".join(f"{t}: {', '.join(TABLES[t].file_stems[:3])}" for t in TABLES)
            notices.append(notice("", path, f"{WARN_SKIPPED}: its name matches no table ({stems}); rename it or give "
                                            "its table under files: in dataset.yaml"))
            continue
        found[table].append(path)
        specs[str(path)] = spec
    if refused:
        raise SchemaError(f"{folder}: segkit cannot read {'; '.join(refused)}. Or move the file(s) out of the folder, "
                          "or mark them skip: true under files: in dataset.yaml.")
    for table, paths in found.items():
        if table in skip_tables:
            continue
        _check_doubles(folder, table, [p for p in paths if p.name not in entries])
    return Discovery(found=found, specs=specs, notices=notices)


def _check_doubles(folder: Path, table: str, paths: list[Path]) -> None:
    """Two exports of one table among the files not listed in ``dataset.yaml``: an error."""
    groups: dict[str, list[Path]] = {}
    for path in paths:
        groups.setdefault(_export_key(path), []).append(path)
    sizes: dict[int, list[Path]] = {}
    for path in paths:
        sizes.setdefault(path.stat().st_size, []).append(path)
    for same_size in sizes.values():
        if len(same_size) > 1:
            by_digest: dict[str, list[Path]] = {}
            for path in same_size:
                by_digest.setdefault(_digest(path), []).append(path)
            for digest, same in by_digest.items():
                if len(same) > 1:
                    groups["\0" + digest] = same
    for key, group in groups.items():
        group = sorted(set(group))
        if len(group) > 1:
            why = "have the same content" if key.startswith("\0") else "look like two exports of one file"
            names = " and ".join(repr(p.name) for p in group)
            raise SchemaError(
                f"{folder}: {names} {why} for the {table} table; reading both would count their rows twice. "
                "Keep one (move or delete the other), or, if each holds different rows, list all of them under "
                f"files: in dataset.yaml, e.g.\nfiles:\n" + "".join(f"  {p.name}: {{}}\n" for p in group))

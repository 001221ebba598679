"""Reading customer data: files -> typed tables + rejected rows, nothing silently lost.

:func:`load_dataset` reads a folder (or explicit files) of CSV / XLSX / Parquet exports.
Headers may be English or the Chinese terms of the handbooks (客户编号, 交易金额(万元), ...);
CSV files may be UTF-8 (with or without BOM), UTF-16, GB18030/GBK, Big5 or Windows-1252, and
gzipped. Which file is which table, and how each is decoded, is :mod:`segkit.sources`. Every row that breaks a rule goes to
``Dataset.rejected`` with the file, the row number a person sees in that file, the column,
the value and the rule; values that are kept but questionable (an industry not in the
vocabulary, an unparseable optional date) go to ``Dataset.warnings``.

Decisions, documented once:

* **Rows.** ``row`` is the line number in a CSV file (header = line 1) or the sheet row in an
  XLSX file; for Parquet it is the 1-based record number. Completely empty lines are not
  records and are not counted.
* **Rejected vs warned.** A problem in a *required* column (id, order date, amount, ...),
  an invalid unified social credit code, a survey score out of range, a duplicate id, a
  record for an unknown customer or a date after the data's as-of date rejects the row.
  A problem in an optional column (say an unreadable ``record_updated``) keeps the row with
  the value missing and records a warning. A row with several problems appears once per
  problem in ``rejected``; :meth:`Dataset.reconcile` counts rows.
* **Values are never guessed.** A number's decimal separator is decided per column of a file
  by the values that show both (``1,234.50`` or ``1.234,56``); one it does not explain
  (``12,5``) is rejected as ambiguous, as are ``(-500)``, ``inf``, ``nan`` and ``1e309``.
  Ids are compared without invisible characters (zero-width space, BOM, ...), with no-break
  spaces and full-width letters folded and a float's ``1.0`` read as ``1``. Excel's empty
  date (``1899-12-30``, ``1900-01-00``) and a repeated header line are rejected with their
  own reasons. The rules are in ``docs/data.md``.
* **Refunds.** Negative amounts are returns or refunds: kept, flagged ``is_refund``, and
  included in revenue (revenue is net of refunds); order counts count positive amounts only.
* **As-of date.** ``as_of`` comes from the argument, else ``dataset.yaml`` in the folder
  (key ``as_of``), else the latest order, interaction or survey date in the data (never
  later than today: a date in the future is a typo, and its row is rejected). Records dated
  after it are rejected. ``Dataset.as_of_source`` says which of the three it was.
* **Orders only.** The customers table is optional. Without one, the customers are the
  distinct ids of the accepted orders, each named by its id; ``"customers"`` is then not in
  ``Dataset.present`` (the table was derived, not read), and interactions or surveys of an
  id without an accepted order are rejected as unknown customers.

Why this module is long: it is the pandas reference reader of a data set (the Dataset, the
vocabularies, the rules within and across tables, the as-of date, the stop on mass rejection
and :func:`load_dataset`'s single pass over them), which :mod:`segkit.ingest` repeats rule for
rule in DuckDB and the tests compare against; reading files (:mod:`segkit.rawfiles`) and
reading cells (:mod:`segkit.cells`) are already their own modules, and what is left is the
rules and the one loop that applies them.
"""

from __future__ import annotations

import csv
import functools
import hashlib
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from segkit.cells import (
    DATE_ORDERS,
    REASON_BOOL,
    REASON_CREDIT,
    REASON_DECIMAL_ID,
    REASON_NOT_FINITE,
    REASON_REJECTED_CUSTOMER,
    REASON_UNKNOWN,
    REASON_UNKNOWN_DERIVED,
    REASON_WHOLE,
    date_reasons,
    default_date_range,
    file_date_order,
    _fold,
    _parse_bool,
    _parse_dates,
    _read_ids,
    _read_numbers,
    reason_empty,
    reason_late,
    reason_not_before,
    reason_range,
    reason_vocab,
    _without_header_lines,
)
from segkit.config import (StrictModel, default_section, load_section, read_dataset_yaml, read_user_config, register_section,
                           section_names, shorten)
from segkit.errors import MostlyRejectedError  # defined with every segkit error; importable here as before
from segkit.periods import DateRange
from segkit.rawfiles import _INTERNAL, _map_headers, _read_raw
from segkit.schema import CUSTOMERS, TABLES, SchemaError, Table, is_valid_credit_code
from segkit.sources import Discovery, FileSpec, discover, notice

__all__ = ["Dataset", "load_dataset", "read_table", "SchemaError", "vocabulary_index"]

PROBLEM_COLUMNS = ["table", "file", "row", "column", "value", "reason"]
REJECTED_COLUMNS = [*PROBLEM_COLUMNS, "record"]



@dataclass
class Dataset:
    """Validated customer data.

    Attributes
    ----------
    customers, transactions, interactions, surveys : DataFrame
        Typed tables with canonical column names (see :mod:`segkit.schema`).
    contracts : DataFrame
        Contracts (``customer_id``, ``contract_start``, ``contract_end``, optional
        ``contract_id`` and ``amount``): renewal histories for
        :func:`segkit.insights.renewals.renewal_history`. Empty (and not in ``present``) when
        the data have no contracts file.
    rejected : DataFrame
        One row per problem that rejected a record: ``table, file, row, column, value,
        reason, record`` (``record`` holds the whole raw row as JSON so nothing is lost).
    warnings : DataFrame
        Problems that kept the record (unknown vocabulary values, unreadable optional fields).
    files : DataFrame
        Per file read: table, encoding, rows read / accepted / rejected.
    as_of : Timestamp
        The data's as-of date; records after it were rejected.
    name : str
        Data set name (from ``dataset.yaml`` or the folder name).
    meta : dict
        The folder's ``dataset.yaml`` (empty when there is none).
    currency : str
        ISO 4217 code of every amount (``dataset.yaml`` key ``currency``; default ``CNY``).
    present : frozenset of str
        Tables that came from at least one file. A table that is not present is empty because
        the export did not include it, not because nothing happened: reports leave out what
        needs it instead of reading it as zero. Customers derived from the orders (no
        customers file) are not present.
    as_of_source : {"argument", "dataset.yaml", "data"}
        Where ``as_of`` came from: the caller, the folder's ``dataset.yaml``, or the latest
        date in the data.
    """

    customers: pd.DataFrame
    transactions: pd.DataFrame
    interactions: pd.DataFrame
    surveys: pd.DataFrame
    rejected: pd.DataFrame
    warnings: pd.DataFrame
    files: pd.DataFrame
    as_of: pd.Timestamp
    name: str = "dataset"
    meta: dict = field(default_factory=dict)
    currency: str = "CNY"
    present: frozenset = frozenset(TABLES)
    as_of_source: str = "argument"
    # last, with a default: the optional table added after the four others (positional
    # construction of the first eight fields keeps working)
    contracts: pd.DataFrame = field(default_factory=lambda: _empty_table(TABLES["contracts"]))
    _store: object = field(default=None, repr=False, compare=False)

    @classmethod
    def deferred(cls, store, **fields) -> Dataset:
        """A data set whose tables and problem lists live in an engine (:class:`segkit.ingest.EngineStore`)
        and come into pandas on first use."""
        lazy = {name: _Deferred(name) for name in (*TABLES, "rejected", "warnings")}
        return cls(**lazy, **fields, _store=store)

    def __getattribute__(self, name: str):
        value = object.__getattribute__(self, name)
        if type(value) is _Deferred:
            store = object.__getattribute__(self, "_store")
            value = store.problems(name == "rejected") if name in ("rejected", "warnings") else store.frame(name)
            object.__setattr__(self, name, value)
            store.loaded[name] = id(value)
        return value

    def _as_stored(self) -> bool:
        """True while every table is still the engine's (deferred, or loaded from it unchanged)."""
        store = self._store
        return store is not None and all(
            type(object.__getattribute__(self, t)) is _Deferred or store.loaded.get(t) == id(object.__getattribute__(self, t))
            for t in TABLES)

    @property
    def store(self):
        """The engine holding this data set (:class:`segkit.ingest.EngineStore`), or None when the
        tables were read into pandas."""
        return self._store

    def is_loaded(self, name: str) -> bool:
        """Whether table ``name`` is in pandas already (engine-backed tables load on first use)."""
        return type(object.__getattribute__(self, name)) is not _Deferred

    def count(self, name: str) -> int:
        """Rows of table ``name`` without loading it into pandas."""
        if self.store is not None and not self.is_loaded(name):
            return self.store.count(name)
        return len(getattr(self, name))

    def write_rejected(self, path: str | Path) -> Path:
        """Write the rejected-row ledger (CSV, XLSX or Parquet; spreadsheet formulas neutralised).

        An engine-backed data set writes it from the engine, without loading it into pandas.
        """
        path = Path(path)
        if self.store is not None and not self.is_loaded("rejected") and path.suffix.lower() in (".csv", ".parquet", ".pq"):
            return self.store.write_problems(path, reject=True)
        from segkit.writers import write_table

        return write_table(self.rejected, path)

    def has(self, table: str) -> bool:
        """Whether ``table`` came from a file (an absent table is not the same as zero rows)."""
        if table not in TABLES:
            raise ValueError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
        return table in self.present

    def table(self, name: str) -> pd.DataFrame:
        return getattr(self, name)

    @property
    def customers_derived(self) -> bool:
        """True when there was no customers file and the customers come from the orders."""
        return not self.has("customers")

    def notes(self) -> list[str]:
        """One-line facts about how the data were read, for validation summaries (English).

        Examples
        --------
        >>> import pandas as pd
        >>> from segkit.io import load_dataset
        >>> ds = load_dataset("data/sample")
        >>> ds.notes()
        ['as of 2026-09-30 (from dataset.yaml)']
        """
        source = {"argument": "as given", "dataset.yaml": "from dataset.yaml",
                  "data": "the latest date in the data; set as_of in dataset.yaml to change it"}[self.as_of_source]
        lines = [f"as of {self.as_of.date()} ({source})"]
        if self.customers_derived:
            lines.append(f"customers: {len(self.customers):,} derived from the orders "
                         "(no customers file; each customer is named by its id)")
        orders = self.files["date_order"] if "date_order" in self.files else pd.Series(dtype="str")
        for file, used in zip(self.files["file"], orders.fillna("")):
            if "ambiguous" in used:
                lines.append(f"{Path(file).name}: dates such as 01/02/2026 rejected, no date tells whether the day or "
                             "the month comes first; set date_order: MDY or DMY in dataset.yaml")
            elif "mixed" in used:
                lines.append(f"{Path(file).name}: as many dates written day first (25/12/2025) as month first "
                             "(12/25/2025); dates other than 01/01/2026 and the like are rejected; set date_order: "
                             "MDY or DMY in dataset.yaml")
        return lines

    def reconcile(self) -> pd.DataFrame:
        """Rows read, accepted and rejected per file; ``read == accepted + rejected`` always."""
        return self.files[["table", "file", "rows_read", "rows_accepted", "rows_rejected"]].copy()

    def summary(self) -> dict[str, pd.DataFrame]:
        """Counts per table and rejections / warnings per reason, for people to read."""
        per_table = (
            self.files.groupby("table", sort=False)[["rows_read", "rows_accepted", "rows_rejected"]]
            .sum()
            .reindex([t for t in TABLES if t in set(self.files["table"])])
        )
        def by_reason(frame: pd.DataFrame) -> pd.DataFrame:
            if frame.empty:
                return pd.DataFrame(columns=["table", "rule", "problems", "rows"])
            ruled = frame.assign(rule=frame["reason"].str.replace(r"\s*[:;(].*$", "", regex=True))
            grouped = ruled.groupby(["table", "rule"], sort=True)
            out = pd.DataFrame({
                "problems": grouped.size(),
                "rows": ruled.drop_duplicates(["file", "row", "rule"]).groupby(["table", "rule"]).size(),
            }).reset_index()
            return out.sort_values(["table", "rows"], ascending=[True, False], ignore_index=True)
        if self.store is not None and not self.is_loaded("rejected"):
            return {"tables": per_table, "rejected_by_rule": self.store.by_reason(True),
                    "warnings_by_rule": self.store.by_reason(False)}
        return {
            "tables": per_table,
            "rejected_by_rule": by_reason(self.rejected),
            "warnings_by_rule": by_reason(self.warnings),
        }

    def fingerprint(self) -> str:
        """A short SHA-256 fingerprint of the accepted data (for report footers)."""
        digest = hashlib.sha256()
        if self._as_stored():  # the same value before and after the tables come into pandas
            digest.update(self.store.fingerprint().encode())
            return digest.hexdigest()[:16]
        for name in TABLES:
            frame = self.table(name)
            digest.update(name.encode())
            digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
        return digest.hexdigest()[:16]

    def __repr__(self) -> str:
        counts = ", ".join(f"{t}={self.count(t):,}" for t in TABLES)
        return (
            f"Dataset({self.name!r}, as_of={self.as_of.date()}, {counts}, "
            f"rejected rows={int(self.files['rows_rejected'].sum()):,}, warnings={len(self.warnings):,})"
        )


class _Deferred:
    """Placeholder of a table that is still in the engine."""

    __slots__ = ("name", "__weakref__")

    def __init__(self, name: str):
        self.name = name

    def __repr__(self) -> str:
        return f"<{self.name}: in the engine, loaded on first use>"


# --------------------------------------------------------------------------------------------
# vocabularies


class VocabularyEntry(StrictModel):
    zh: str
    en: str
    synonyms: list[str] = []


@register_section("vocabularies")
class VocabulariesConfig(StrictModel):
    """The ``vocabularies`` section: standard values per vocabulary, with their synonyms."""

    industry: dict[str, VocabularyEntry]
    channel: dict[str, VocabularyEntry]
    need_type: dict[str, VocabularyEntry]
    stage: dict[str, VocabularyEntry]
    customer_type: dict[str, VocabularyEntry]
    interaction_type: dict[str, VocabularyEntry]


def _index(entries: Mapping[str, VocabularyEntry]) -> dict[str, str]:
    index: dict[str, str] = {}
    for key, entry in entries.items():
        for spelling in (key, entry.zh, entry.en, *entry.synonyms):
            if spelling:
                index.setdefault(_fold(spelling), key)
    return index


@functools.lru_cache(maxsize=None)
def _default_indexes() -> dict[str, dict[str, str]]:
    cfg = load_section("vocabularies", VocabulariesConfig)
    return {name: _index(getattr(cfg, name)) for name in VocabulariesConfig.model_fields}


def vocabulary_indexes(config: str | Path | Mapping | None = None) -> dict[str, dict[str, str]]:
    """Folded spelling -> key for every vocabulary: package defaults plus the user's
    ``vocabularies`` section. A user's ``synonyms`` add to the standard ones; a new key adds a
    standard value (it needs ``zh`` and ``en`` labels)."""
    if config is None:
        return _default_indexes()
    user = read_user_config(config)
    section = dict(user.get("vocabularies") or {}) if "vocabularies" in user or set(user) & section_names() else dict(user)
    defaults = default_section("vocabularies")
    for vocab, entries in section.items():  # synonyms add to the standard ones, never replace them
        if not isinstance(entries, Mapping):
            continue
        patched = dict(entries)
        for key, entry in entries.items():
            if isinstance(entry, Mapping) and "synonyms" in entry and key in defaults.get(vocab, {}):
                patched[key] = {**entry, "synonyms": [*defaults[vocab][key].get("synonyms", []), *entry["synonyms"]]}
        section[vocab] = patched
    cfg = load_section("vocabularies", VocabulariesConfig, {"vocabularies": section})
    return {name: _index(getattr(cfg, name)) for name in VocabulariesConfig.model_fields}


def vocabulary_index(name: str) -> dict[str, str]:
    """Map every folded spelling (key, zh, en, synonyms) of vocabulary ``name`` to its key.

    Examples
    --------
    >>> vocabulary_index("industry")["生产业"]
    'manufacturing'
    """
    return _default_indexes()[name]


class _Collector:
    """Collects problems for one table across its files."""

    def __init__(self, table: str):
        self.table = table
        self.rejected: list[pd.DataFrame] = []
        self.warned: list[pd.DataFrame] = []
        self.malformed: list[pd.DataFrame] = []

    def add(self, frame: pd.DataFrame, mask: pd.Series | np.ndarray, column: str, reason, *, reject: bool) -> None:
        mask = np.asarray(mask, dtype=bool)
        if not mask.any():
            return
        hit = frame.loc[mask]
        value = hit[column].astype(str) if column in hit else pd.Series("", index=hit.index)
        reasons = reason(hit) if callable(reason) else reason
        problem = pd.DataFrame(
            {
                "table": self.table,
                "file": hit["_file"].to_numpy(),
                "row": hit["_row"].to_numpy(),
                "column": column,
                "value": value.to_numpy(),
                "reason": np.asarray(reasons, dtype=object) if not isinstance(reasons, str) else reasons,
                "_key": hit["_key"].to_numpy(),
            }
        )
        (self.rejected if reject else self.warned).append(problem)

    def rejected_keys(self) -> set[int]:
        return set(np.concatenate([p["_key"].to_numpy() for p in self.rejected])) if self.rejected else set()


def _parse_table(raw: pd.DataFrame, table: Table, units: dict[str, float], problems: _Collector,
                 vocab_cache: dict[str, dict[str, str]], date_order: str = "auto",
                 date_orders: dict[str, str] | None = None, dates: DateRange | None = None) -> pd.DataFrame:
    date_orders = {} if date_orders is None else date_orders
    dates = default_date_range() if dates is None else dates
    out = pd.DataFrame(index=raw.index)
    # one file, one way of writing dates: all its date columns decide the day/month order
    date_order = file_date_order([raw[c.name] for c in table.columns if c.kind == "date" and c.name in raw], date_order)
    for col in table.columns:
        if col.name not in raw:
            continue
        text = raw[col.name].str.strip()
        if col.kind == "id":
            text, decimal = _read_ids(text)
        empty = text == ""
        if col.required:
            problems.add(raw, empty, col.name, reason_empty(col), reject=True)
        if col.kind == "id":
            problems.add(raw, decimal, col.name, REASON_DECIMAL_ID, reject=col.required)
            out[col.name] = text.where(~empty & ~decimal, None).astype("str")
        elif col.kind == "str":
            out[col.name] = text.where(~empty, None).astype("str")
        elif col.kind == "date":
            got = _parse_dates(text, date_order, dates)
            reasons = date_reasons(got, dates)
            problems.add(raw, got.bad, col.name, lambda hit: reasons[raw.index.get_indexer(hit.index)], reject=col.required)
            if got.used:
                date_orders[col.name] = got.used
            out[col.name] = got.values
        elif col.kind in ("money", "float", "int"):
            values, reasons = _read_numbers(text)
            if col.kind == "money":
                scaled = (values * units.get(col.name, 1.0)).round(2)
                reasons = reasons.where(~(np.isfinite(values) & ~np.isfinite(scaled)), REASON_NOT_FINITE)  # 1e305 万元
                values = scaled.where(reasons == "")
            problems.add(raw, reasons != "", col.name, lambda hit: reasons[hit.index].to_numpy(), reject=col.required)
            out_of_range = pd.Series(False, index=raw.index)
            if col.low is not None:
                out_of_range |= values < col.low
            if col.high is not None:
                out_of_range |= values > col.high
            if out_of_range.any():
                # scores outside their scale are data errors; company facts out of range are warnings
                problems.add(raw, out_of_range, col.name, reason_range(col), reject=table.name == "surveys")
                values = values.where(~out_of_range)
            if col.kind == "int":
                fractional = values.notna() & (values != values.round())
                problems.add(raw, fractional, col.name, REASON_WHOLE, reject=table.name == "surveys")
                values = values.where(~fractional).astype("Int64")
            out[col.name] = values
        elif col.kind == "bool":
            values, bad = _parse_bool(text)
            problems.add(raw, bad, col.name, REASON_BOOL, reject=col.required)
            out[col.name] = values
        elif col.kind == "vocab":
            index = vocab_cache[col.vocab]
            uniques = {v: index.get(_fold(v)) for v in text.unique() if v}  # fold each distinct value once
            keys = text.map(uniques)
            unknown = keys.isna() & ~empty
            problems.add(raw, unknown, col.name, reason_vocab(col), reject=False)
            out[col.name] = keys.where(~unknown, text).where(~empty, None).astype("str")
        elif col.kind == "credit_code":
            upper = text.str.upper()
            bad = ~empty & ~upper.map(is_valid_credit_code).astype(bool)  # an empty column maps to str dtype
            problems.add(raw, bad, col.name, REASON_CREDIT, reject=True)
            out[col.name] = upper.where(~empty, None).astype("str")
        else:  # pragma: no cover - schema declares only the kinds above
            raise AssertionError(col.kind)
    for col in table.columns:
        if col.name not in out:
            out[col.name] = _empty_column(col.kind, len(out), raw.index)
    out = out[[c.name for c in table.columns]]
    known = set(out.columns)
    extra = [c for c in raw.columns if c not in known and c not in _INTERNAL]
    # unknown columns are kept as they were, never dropped (added at once: a file may have thousands)
    return pd.concat([out, raw[[*extra, *_INTERNAL]]], axis=1)


def _empty_column(kind: str, n: int, index) -> pd.Series:
    dtype = {"date": "datetime64[ns]", "money": "float64", "float": "float64", "int": "Int64", "bool": "boolean"}.get(kind, "str")
    return pd.Series([None] * n if dtype == "str" else pd.NA if dtype in ("Int64", "boolean") else np.nan, index=index, dtype=dtype) if n else pd.Series([], dtype=dtype)


def _empty_table(table: Table) -> pd.DataFrame:
    return pd.DataFrame({c.name: _empty_column(c.kind, 0, None) for c in table.columns})


# --------------------------------------------------------------------------------------------
# the dataset


#: Files ``load_dataset`` opens as a database (its tables found by name, read by the engine).
DATABASE_SUFFIXES = (".duckdb", ".ddb")


def _as_paths(value) -> list[Path]:
    if value is None:
        return []
    if isinstance(value, (str, Path)):
        return [Path(value)]
    return [Path(v) for v in value]


def load_dataset(
    path: str | Path | None = None,
    *,
    customers: str | Path | Iterable[str | Path] | None = None,
    transactions: str | Path | Iterable[str | Path] | None = None,
    interactions: str | Path | Iterable[str | Path] | None = None,
    surveys: str | Path | Iterable[str | Path] | None = None,
    contracts: str | Path | Iterable[str | Path] | None = None,
    as_of: str | pd.Timestamp | None = None,
    config: str | Path | Mapping | None = None,
    max_rejected_share: float | str | None = "config",
    engine: str | None = None,
) -> Dataset:
    """Read and validate a folder (or explicit files) of customer data.

    Parameters
    ----------
    path : folder, optional
        A folder with files named after their table (``customers*.csv``, ``orders*.xlsx``,
        ``interactions*``, ``surveys*``, ``contracts*``; or the Chinese names 客户, 订单/交易,
        互动, 满意度, 合同/续约).
        A ``dataset.yaml`` in it may set ``name`` and ``as_of``.
    customers, transactions, interactions, surveys, contracts : path or list of paths, optional
        Explicit files; they replace what the folder provides for that table.
    as_of : date-like, optional
        The data's as-of date; records dated after it are rejected.
    config : path or mapping, optional
        A segkit configuration; its ``vocabularies`` section adds standard values and
        synonyms (e.g. ``industry: {manufacturing: {zh: 制造业, en: Manufacturing,
        synonyms: [新材料]}}``).
    max_rejected_share : float, None or "config", default "config"
        Stop with :class:`MostlyRejectedError` when one rule rejects more than this share of
        the rows read in one table (the data are then not what segkit expects: dates written
        day first, amounts with a decimal comma, ids with leading zeros, a wrong as-of date,
        ...). ``"config"`` takes ``engine.max_rejected_share`` of the configuration (20%);
        None never stops.
    engine : {"duckdb", "pandas"}, optional
        Who reads and validates. ``"duckdb"`` (the default, set by ``engine.default`` in the
        configuration) streams the files into an embedded DuckDB database and applies every
        rule there (:mod:`segkit.ingest`): memory stays bounded, and the tables come into
        pandas only when read (``ds.transactions``). ``"pandas"`` is the in-memory reference
        implementation. Both give the same tables, ledger and counts.

    Returns
    -------
    Dataset

    Raises
    ------
    SchemaError
        A file is missing or unreadable, a required column is missing (naming the file, the
        expected and the found columns), or no transactions file was given.
    MostlyRejectedError
        One rule rejected more than ``max_rejected_share`` of a table; the message names the
        table, the rule, how many of how many rows, an example (file, row, column, value) and a
        diagnosis where one applies (:data:`MASS_REJECTION_DIAGNOSES`); ``.dataset`` holds
        what was read.

    Notes
    -----
    Dates may be written year first (2026-09-30, 2026/9/30, 20260930, 2026年9月30日, with or
    without a time) or year last (09/30/2026, 30.09.2026). Year-last dates are read month first
    or day first as ``date_order`` in ``dataset.yaml`` says (``MDY``, ``DMY``; default ``auto``:
    the dates of each file decide, all its date columns together: the kind with more distinct
    dates such as 25/12/2025 (day first) or 12/25/2025 (month first) decides, and dates of the
    other kind are unparseable). When nothing in a file tells (``files["date_order"]`` is
    ``ambiguous``), or both kinds have as many dates (``mixed``), a date that could be read
    either way (01/02/2026) is rejected as "ambiguous day/month order" rather than guessed; one
    whose day equals its month (01/01/2026) is read. ``files["date_order"]`` records the order
    of each file. A day outside
    ``engine.dates`` in the configuration (default 1900-01-01..2200-12-31) is rejected in a
    required date column and dropped with a warning in an optional one.

    Examples
    --------
    >>> ds = load_dataset("data/sample")                       # doctest: +SKIP
    >>> ds.rejected[["file", "row", "column", "reason"]].head()  # doctest: +SKIP
    """
    meta: dict = {}
    found: dict[str, list[Path]] = {name: [] for name in TABLES}
    name = "dataset"
    if path is not None:
        folder = Path(path)
        if not folder.exists():
            raise SchemaError(f"{folder}: folder not found")
        source = None
        if folder.is_file() and folder.suffix.lower() in DATABASE_SUFFIXES:
            source, meta = {"url": f"duckdb://{folder.resolve()}"}, {"name": folder.stem}
        elif folder.is_file():
            raise SchemaError(f"{folder}: load_dataset takes a folder or a DuckDB file ({', '.join(DATABASE_SUFFIXES)}); "
                              "pass single files as customers=..., transactions=...")
        elif (folder / "dataset.yaml").is_file():
            meta = read_dataset_yaml(folder / "dataset.yaml")  # size-capped safe YAML; as_of read strictly
            source = meta.get("source")
        if source is not None:  # the tables are in a database: read and validated by the engine
            if engine == "pandas" or any(v is not None for v in (customers, transactions, interactions, surveys, contracts)):
                raise SchemaError(f"{folder}: the data are in a database ({source.get('url') if isinstance(source, Mapping) else source}); "
                                  "they are read by the engine (engine='duckdb'), without table files")
            from segkit import ingest

            url = source.get("url", "") if isinstance(source, Mapping) else ""
            database = Path(url.removeprefix("duckdb://")) if url.startswith("duckdb://") else None
            if database is not None and not database.is_absolute():
                database = folder / database
            return ingest.load_source(source, base=folder if folder.is_dir() else folder.parent, meta=meta, as_of=as_of,
                                      config=config, max_rejected_share=max_rejected_share,
                                      cache_files=[database] if database is not None and database.is_file() else None)
        name = str(meta.get("name", folder.resolve().name))
    from segkit.ingest import engine_config

    reading = engine_config(config)
    base = FileSpec(max_field_lines=reading.max_field_lines, notes_sheets=tuple(reading.notes_sheets),
                    max_columns=reading.max_columns)
    explicit = {"customers": customers, "transactions": transactions, "interactions": interactions, "surveys": surveys,
                "contracts": contracts}
    discovery = discover(Path(path), meta, base, skip_tables={t for t, v in explicit.items() if v is not None}) \
        if path is not None else Discovery(found={t: [] for t in TABLES}, specs={"": base})
    found = discovery.found
    for table_name, value in explicit.items():
        if value is not None:
            found[table_name] = _as_paths(value)
    if not found["transactions"]:
        where = f"in {path}" if path is not None else "(pass transactions=...)"
        stems = ", ".join(TABLES["transactions"].file_stems)
        raise SchemaError(f"no transactions file found {where}; name it after one of: {stems}")
    derive_customers = not found["customers"]
    date_order = str(meta.get("date_order", "auto"))
    date_order = "auto" if date_order.lower() == "auto" else date_order.upper()
    if date_order not in DATE_ORDERS:
        raise SchemaError(f"dataset.yaml: date_order {meta.get('date_order')!r} is not one of {', '.join(DATE_ORDERS)} "
                          "(how dates such as 01/02/2026 are read: MDY month first, DMY day first)")

    vocab_cache = vocabulary_indexes(config)
    if engine is None:
        engine = reading.default
    if engine == "duckdb":
        from segkit import ingest

        cache = os.environ.get(ingest.CACHE_VARIABLE)
        if cache:  # a run (segkit report) reads the files once and every report reopens the result
            key = ingest.cache_key(found, as_of=as_of, date_order=date_order, config=_config_text(config),
                                   files=meta.get("files") if isinstance(meta, Mapping) else None)
            saved = Path(cache) / f"data-{key}.duckdb"
            if saved.is_file():
                dataset = ingest.open_store(saved, config)
                _stop_if_mostly_rejected(dataset, max_rejected_share, config)
                return dataset
        dataset, _ = ingest.load_with_engine(found, meta=meta, name=name, date_order=date_order, as_of=as_of,
                                             config=config, vocab=vocab_cache, derive_customers=derive_customers,
                                             discovery=discovery)
        _stop_if_mostly_rejected(dataset, max_rejected_share, config)
        if cache:
            ingest.save_store(dataset, saved)
        return dataset
    if engine != "pandas":
        raise ValueError(f"engine={engine!r} is not supported; use 'duckdb' or 'pandas'")
    tables: dict[str, pd.DataFrame] = {}
    collectors: dict[str, _Collector] = {}
    file_rows: list[dict] = []
    raw_records: dict[int, str] = {}  # key -> raw record as JSON, filled for rejected rows only
    raw_frames: list[tuple[int, pd.DataFrame]] = []
    file_notices: list[dict] = list(discovery.notices)
    next_key = 0
    for table_name, table in TABLES.items():
        problems = collectors[table_name] = _Collector(table_name)
        parsed_parts = []
        for file in found[table_name]:
            notes: list[str] = []
            raw, rows, encoding, malformed = _read_raw(file, discovery.spec(file), notes)
            file_notices.extend(notice(table_name, file, note) for note in notes)
            raw, rows, malformed = _without_header_lines(raw, rows, malformed)
            raw_frames.append((next_key, raw))  # as written, with the file's own headers
            raw, units = _map_headers(raw, table, file)
            keys = np.arange(next_key, next_key + len(raw))
            next_key += len(raw)
            raw = raw.assign(_file=str(file), _row=rows, _key=keys)
            orders_used: dict[str, str] = {}
            parsed_parts.append(_parse_table(raw, table, units, problems, vocab_cache, date_order, orders_used,
                                             reading.dates))
            if malformed:
                bad = pd.DataFrame(malformed).assign(_file=str(file), _key=np.arange(next_key, next_key + len(malformed)))
                next_key += len(malformed)
                raw_records.update({int(k): json.dumps(m.get("record", m["value"]), ensure_ascii=False)
                                    for k, m in zip(bad["_key"], malformed)})
                problems.malformed.append(bad.drop(columns="record", errors="ignore").rename(columns={"row": "_row"})
                                          .assign(column="(whole line)"))
            file_rows.append({"table": table_name, "file": str(file), "encoding": encoding,
                              "rows_read": len(raw) + len(malformed), "rows_malformed": len(malformed),
                              "date_order": ", ".join(sorted(set(orders_used.values())))})
        frame = pd.concat(parsed_parts, ignore_index=True) if parsed_parts else _empty_table(table).assign(_file="", _row=0, _key=0).iloc[:0]
        tables[table_name] = frame

    as_of_ts, as_of_source = resolve_as_of(as_of, meta, lambda: _latest_date(tables))
    for table_name, table in TABLES.items():
        if table_name == "customers" and derive_customers:
            continue
        _table_rules(table, tables[table_name], collectors[table_name], tables, collectors, as_of_ts, derive_customers)

    rejected_parts, warning_parts = [], []
    if file_notices:
        warning_parts.append(pd.DataFrame(file_notices).assign(_key=-1))
    for table_name, table in TABLES.items():
        frame = tables[table_name]
        problems = collectors[table_name]
        bad = problems.rejected_keys()
        keep = ~frame["_key"].isin(bad)
        clean = frame.loc[keep].drop(columns=["_file", "_row", "_key"]).reset_index(drop=True)
        if table_name == "transactions":
            clean["is_refund"] = clean["amount"] < 0
        tables[table_name] = clean
        if table_name == "transactions" and derive_customers:
            tables["customers"] = _customers_from_orders(clean)
        rejected_parts.extend(problems.rejected)
        rejected_parts.extend(
            pd.DataFrame({"table": table_name, "file": m["_file"], "row": m["_row"], "column": m["column"],
                          "value": m["value"], "reason": m["reason"], "_key": m["_key"]})
            for m in problems.malformed
        )
        warning_parts.extend(problems.warned)
        for info in file_rows:
            if info["table"] == table_name:
                in_file = frame["_file"] == info["file"]
                info["rows_rejected"] = int((in_file & ~keep).sum()) + info.pop("rows_malformed")
                info["rows_accepted"] = int((in_file & keep).sum())

    def problems_frame(parts: list[pd.DataFrame], with_record: bool) -> pd.DataFrame:
        cols = REJECTED_COLUMNS if with_record else PROBLEM_COLUMNS
        if not parts:
            return pd.DataFrame({c: pd.Series(dtype="int64" if c == "row" else "str") for c in cols})
        out = pd.concat(parts, ignore_index=True)
        if with_record:
            wanted = set(out["_key"]) - set(raw_records)
            for first_key, frame in raw_frames:
                positions = sorted(k - first_key for k in wanted if first_key <= k < first_key + len(frame))
                for pos, record in zip(positions, frame.iloc[positions].to_dict(orient="records")):
                    raw_records[first_key + pos] = json.dumps(record, ensure_ascii=False)
            out["record"] = out["_key"].map(raw_records)
        out = out.sort_values(["table", "file", "row"], kind="stable", ignore_index=True)
        out["row"] = out["row"].astype("int64")
        return out[cols].astype({c: "str" for c in cols if c != "row"})

    files = pd.DataFrame(file_rows, columns=["table", "file", "encoding", "rows_read", "rows_accepted", "rows_rejected",
                                             "date_order"])
    dataset = Dataset(
        customers=tables["customers"],
        transactions=tables["transactions"],
        interactions=tables["interactions"],
        surveys=tables["surveys"],
        contracts=tables["contracts"],
        rejected=problems_frame(rejected_parts, True),
        warnings=problems_frame(warning_parts, False),
        **dataset_facts(files, as_of_ts, as_of_source, name, meta, found),
    )
    _stop_if_mostly_rejected(dataset, max_rejected_share, config)
    return dataset


def resolve_as_of(as_of, meta: Mapping, latest) -> tuple[pd.Timestamp, str]:
    """The as-of date and where it came from: the argument, ``dataset.yaml``, else ``latest()``
    (the latest date in the data). Typed dates are read strictly (:func:`segkit.periods.parse_date`)."""
    from segkit.periods import parse_date

    if as_of is not None:
        return parse_date(as_of, "as-of date"), "argument"
    if meta.get("as_of") is not None:
        return parse_date(meta["as_of"], "dataset.yaml: as_of"), "dataset.yaml"
    return latest(), "data"


def dataset_facts(files: pd.DataFrame, as_of: pd.Timestamp, as_of_source: str, name: str, meta: dict,
                  found: Mapping[str, list]) -> dict:
    """The :class:`Dataset` fields every engine fills the same way."""
    return {"files": files, "as_of": as_of, "name": name, "meta": meta,
            "currency": str(meta.get("currency", "CNY")).upper(),
            "present": frozenset(t for t in TABLES if found[t]), "as_of_source": as_of_source}


def _config_text(config) -> str:
    """What a configuration says, for cache keys (a file by its content, not its name)."""
    if config is None:
        return ""
    if isinstance(config, Mapping):  # a mapping or a Settings (its content; the file is not read again)
        return json.dumps(dict(config), sort_keys=True, default=str)
    return Path(config).read_text(encoding="utf-8")


#: What a mass rejection of one rule usually means, as data: (rule, check, advice). ``rule`` is
#: the start of the rule (a reason up to its first ``:``, ``;`` or ``(``); ``check`` is the name
#: of a test of the rejected values in :data:`_DIAGNOSIS_CHECKS`, which applies when at least half
#: of them pass; ``advice`` is what the user should do, with ``{example}`` (a rejected value that
#: passes), ``{match}`` (what the test found for it, e.g. the customer id it matches) and ``{as_of}``.
MASS_REJECTION_DIAGNOSES: tuple[tuple[str, str, str], ...] = (
    ("unparseable date", "year_last_date",
     "dates are written with the year last (e.g. {example}) and were not read in the order they are written: "
     "set date_order: MDY (01/02/1997 = 2 January) or DMY (01/02/1997 = 1 February) in dataset.yaml"),
    ("ambiguous day/month order", "year_last_date",
     "dates are written with the year last (e.g. {example}): set date_order: MDY or DMY in dataset.yaml"),
    ("not a number", "currency", "amounts carry a currency symbol or code segkit does not read (e.g. {example}): "
     "export the column as plain numbers"),
    ("not a number", "decimal_comma", "amounts use a decimal comma (e.g. {example}) that the column does not make clear: "
     "export them with a decimal point, or with thousands separators (1.234,56) so the convention shows"),
    ("ambiguous", "decimal_comma", "amounts use a decimal comma (e.g. {example}) that the column does not make clear: "
     "export them with a decimal point, or with thousands separators (1.234,56) so the convention shows"),
    ("unknown customer_id", "id_padding", "the ids match customers only after removing leading zeros or a trailing .0 "
     "(e.g. {example} here, {match} in customers): export both tables with the ids written the same way, as text"),
    ("id written as a decimal number", "always", "ids were saved as decimal numbers (e.g. {example}): format the id "
     "column as text in the spreadsheet or database before exporting"),
    ("date after the data's as-of date", "always", "the as-of date {as_of} is earlier than these dates (e.g. {example}): "
     "check as_of in dataset.yaml or --as-of (it is the day the data were exported)"),
)

_YEAR_LAST_DATE = re.compile(r"\s*\d{1,2}[/.\-]\d{1,2}[/.\-]\d{2,4}(?:[ T].*)?")
_CURRENCY_MARK = re.compile(r"[$€£¥￥₩₹元]|\b(?:USD|CNY|RMB|EUR|GBP|HKD|JPY)\b|US\$", re.IGNORECASE)
_DECIMAL_COMMA = re.compile(r"\s*[-+]?(?:\d{1,3}(?:[.\s]\d{3})+|\d+),\d+\s*")


def _padding_free(ids: pd.Series) -> pd.Series:
    """Ids without leading zeros and a trailing ``.0`` (``00001``, ``1.0`` -> ``1``)."""
    out = ids.astype("str").str.strip().str.replace(r"\.0+$", "", regex=True).str.lstrip("0")
    return out.mask(out == "", "0")


def _check_id_padding(values: pd.Series, ds: Dataset) -> pd.Series:
    """The customer each id matches only without leading zeros or ``.0`` (missing where none)."""
    customers = ds.customers["customer_id"].dropna().astype("str")
    known = pd.Series(customers.to_numpy(), index=_padding_free(customers).to_numpy())
    known = known[~known.index.duplicated()]
    match = _padding_free(values).map(known)
    return match.where(match != values)


_DIAGNOSIS_CHECKS = {
    "year_last_date": lambda values, ds: values.str.fullmatch(_YEAR_LAST_DATE),
    "currency": lambda values, ds: values.str.contains(_CURRENCY_MARK),
    "decimal_comma": lambda values, ds: values.str.fullmatch(_DECIMAL_COMMA),
    "id_padding": _check_id_padding,
    "always": lambda values, ds: pd.Series(True, index=values.index),
}

#: Rejected values of one rule looked at for a diagnosis.
_DIAGNOSIS_SAMPLE = 1000


def diagnose(rule: str, values: pd.Series, ds: Dataset) -> list[str]:
    """The advice of :data:`MASS_REJECTION_DIAGNOSES` that fits the rejected ``values`` of ``rule``.

    Examples
    --------
    >>> import pandas as pd
    >>> diagnose("unparseable date", pd.Series(["01/02/1997", "13/13/1997"], dtype="str"), None)[0][:60]
    "dates are written with the year last (e.g. '01/02/1997') and"
    >>> diagnose("unparseable date", pd.Series(["yesterday"], dtype="str"), None)
    []
    """
    values = values.dropna().astype("str")
    out = []
    for key, check, advice in MASS_REJECTION_DIAGNOSES:
        if not rule.startswith(key) or values.empty:
            continue
        found = pd.Series(_DIAGNOSIS_CHECKS[check](values, ds), index=values.index)  # True or a match where it passes
        hits = found.notna() & (found.astype("object") != False)  # a match may be any text
        if hits.mean() >= 0.5:
            first = int(hits.to_numpy().argmax())
            text = advice.format(example=shorten(values.iloc[first], 40), match=shorten(found.iloc[first], 40),
                                 as_of=ds.as_of.date() if ds is not None else "")
            if text not in out:
                out.append(text)
    return out


_RULE_END = r"\s*[:;(].*$"  # a rule is its reason up to the first ':', ';' or '('


def _rule_problems(ds: Dataset, table: str, rule: str, limit: int) -> pd.DataFrame:
    """The first ``limit`` rejections of ``rule`` in ``table``, in ledger order."""
    if ds._as_stored() and not ds.is_loaded("rejected"):
        return ds.store.rule_problems(table, rule, limit)
    ledger = ds.rejected
    ruled = ledger["reason"].str.replace(_RULE_END, "", regex=True)
    return ledger.loc[(ledger["table"] == table) & (ruled == rule)].head(limit)


def rejected_share_limit(max_share, config=None) -> float | None:
    """The share of a table one rule may reject before loading stops: ``max_share`` as given
    (None: never stop), or ``engine.max_rejected_share`` of the configuration for ``"config"``."""
    if isinstance(max_share, str):
        if max_share != "config":
            raise ValueError(f"max_rejected_share must be a share (0-1), None or 'config', not {max_share!r}")
        from segkit.ingest import engine_config

        return engine_config(config).max_rejected_share
    return max_share


def _stop_if_mostly_rejected(ds: Dataset, max_share, config=None) -> None:
    """Stop with :class:`MostlyRejectedError` when one rule rejected more than ``max_share`` of
    the rows read in one table; the message names each such table and rule with an example and
    a diagnosis (:func:`diagnose`)."""
    max_share = rejected_share_limit(max_share, config)
    if max_share is None:
        return
    per_table = ds.files.groupby("table", sort=False)[["rows_read", "rows_rejected"]].sum()
    if not (per_table["rows_rejected"] > max_share * per_table["rows_read"]).any():
        return  # no rule can reject more of a table than the table's rejected rows
    read = per_table["rows_read"]
    by_rule = ds.summary()["rejected_by_rule"]
    if by_rule.empty:
        return
    by_rule = by_rule.assign(read=by_rule["table"].map(read).fillna(0).astype("int64"))
    over = by_rule.loc[(by_rule["read"] > 0) & (by_rule["rows"] > max_share * by_rule["read"])]
    if over.empty:
        return
    over = over.assign(share=over["rows"] / over["read"]).sort_values(["share", "table", "rule"],
                                                                      ascending=[False, True, True])
    lines = []
    for table, rule, rows, total in over[["table", "rule", "rows", "read"]].head(5).itertuples(index=False):
        problems = _rule_problems(ds, table, rule, _DIAGNOSIS_SAMPLE)
        first = problems.iloc[0]
        lines.append(f"  {table}: {rule}: {rows:,} of {total:,} rows ({rows / total:.0%}), e.g. {first['file']} row "
                     f"{first['row']}, column {first['column']}, value {shorten(first['value'], 60)} "
                     f"({first['reason']})")
        lines.extend(f"    diagnosis: {advice}" for advice in diagnose(rule, problems["value"], ds))
    if len(over) > 5:
        lines.append(f"  ... and {len(over) - 5} more")
    raise MostlyRejectedError(
        f"more than {max_share:.0%} of a table was rejected for one rule, so segkit stops rather than analyse "
        f"what is left:\n" + "\n".join(lines)
        + "\nFix the file(s), or map the columns and formats (see docs/data.md); `segkit validate` writes every "
        "rejected row with its reason. The share is engine.max_rejected_share in the configuration.",
        ds,
    )


def _latest_date(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """The latest order, interaction or survey date, but not after today."""
    today = pd.Timestamp.today().normalize()
    dates = [tables[name][table.date_column].loc[lambda d: d <= today].max()
             for name, table in TABLES.items() if table.date_column is not None and len(tables[name])]
    dates = [d for d in dates if pd.notna(d)]
    return max(dates).normalize() if dates else today


def _customers_from_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """One customer per distinct id of the accepted orders (in order of first appearance),
    named by the id; every other customer column is empty."""
    ids = pd.Series(pd.unique(orders["customer_id"].dropna()), dtype="str")
    out = pd.DataFrame({c.name: _empty_column(c.kind, len(ids), ids.index) for c in CUSTOMERS.columns})
    out["customer_id"] = ids
    out["name"] = ids
    return out


def _table_rules(table: Table, frame: pd.DataFrame, problems: _Collector, tables: Mapping[str, pd.DataFrame],
                 collectors: Mapping[str, _Collector], as_of: pd.Timestamp, derive_customers: bool = False) -> None:
    """Rules across rows and columns: duplicate ids, unknown customers, dates after as_of, a
    date before the date it cannot precede (``Table.not_before``).

    Without a customers file (``derive_customers``) the orders define the customers: orders
    are not checked against a customers table, interactions and surveys are checked against
    the ids of the orders that were not rejected.
    """
    if frame.empty:
        return
    if table.key is not None and table.key in frame:
        ids = frame[table.key]
        present = ids.notna() & (ids != "")
        dup = present & ids.duplicated(keep="first")
        if dup.any():
            first_row = frame.loc[present & ~ids.duplicated(keep="first")].set_index(table.key)
            first_where = (first_row["_file"].map(lambda f: Path(f).name) + " row " + first_row["_row"].astype(str))
            problems.add(frame, dup, table.key,
                         lambda hit: ("duplicate " + table.key + " (first on " + hit[table.key].map(first_where) + ")").to_numpy(),
                         reject=True)
    if table.name != "customers" and not (derive_customers and table.name == "transactions"):
        source = "transactions" if derive_customers else "customers"
        customers = tables[source]
        rejected_customers = collectors[source].rejected_keys()
        accepted = set(customers.loc[~customers["_key"].isin(rejected_customers), "customer_id"].dropna())
        known_but_rejected = customers.loc[customers["_key"].isin(rejected_customers)].drop_duplicates("customer_id").set_index("customer_id")
        ids = frame["customer_id"]
        unknown = ids.notna() & (ids != "") & ~ids.isin(accepted)
        if unknown.any():
            where = (known_but_rejected["_file"].map(lambda f: Path(f).name) + " row " + known_but_rejected["_row"].astype(str)).astype("str")
            def reason(hit: pd.DataFrame) -> np.ndarray:
                if derive_customers:
                    return np.full(len(hit), REASON_UNKNOWN_DERIVED, dtype=object)
                rejected_at = hit["customer_id"].map(where).astype("str")
                return np.where(rejected_at.notna(), REASON_REJECTED_CUSTOMER + " (" + rejected_at.fillna("") + ")",
                                REASON_UNKNOWN)
            problems.add(frame, unknown, "customer_id", reason, reject=True)
    if table.date_column is not None:
        late = frame[table.date_column] > as_of
        problems.add(frame, late, table.date_column, reason_late(as_of), reject=True)
    for later, earlier in table.not_before:
        if later in frame and earlier in frame:
            problems.add(frame, frame[later] < frame[earlier], later, reason_not_before(table, later, earlier), reject=True)


def read_table(path: str | Path, table: str) -> pd.DataFrame:
    """Read one file as table ``table`` (no cross-table checks); raises on any rejected row.

    Handy for small auxiliary files (e.g. a list of customers). For real exports use
    :func:`load_dataset`, which keeps the rejected rows.
    """
    if table not in TABLES:
        raise ValueError(f"unknown table {table!r}; tables: {list(TABLES)}")
    ds_problems = _Collector(table)
    raw, rows, _, malformed = _read_raw(Path(path))
    raw, rows, malformed = _without_header_lines(raw, rows, malformed)
    if malformed:
        raise SchemaError(f"{path}: row {malformed[0]['row']}: {malformed[0]['reason']}")
    raw, units = _map_headers(raw, TABLES[table], Path(path))
    raw = raw.assign(_file=str(path), _row=rows, _key=np.arange(len(raw)))
    frame = _parse_table(raw, TABLES[table], units, ds_problems, vocabulary_indexes())
    if ds_problems.rejected:
        first = pd.concat(ds_problems.rejected).iloc[0]
        raise SchemaError(f"{path}: row {first['row']}, column {first['column']}: {first['reason']} (value {first['value']!r})")
    return frame.drop(columns=["_file", "_row", "_key"])

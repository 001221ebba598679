"""Access (权限管理, business-rules.md section 11): scoped views and masked personal data.

Sales reps see only their own customers, department heads their department, administrators
all (:func:`scope`). Tables shared beyond the owner mask personal contact details
(:func:`mask_pii`), the way the handbooks write contacts as *经理, *总监.

Masking rules (simple and predictable; a masked value masks again to itself):

=================  =============================================  ===========================
column             rule                                           example
=================  =============================================  ===========================
``contact_name``   first character, then one ``*`` per remaining  张伟 -> 张*, 欧阳娜娜 -> 欧***
                   character (a one-character name becomes ``*``)
``phone``          keep the first 3 and last 4 digits, every      13812345678 -> 138****5678
                   other digit becomes ``*``; separators and a    010-62345678 -> 010-****5678
                   leading ``+86`` stay; fewer than 8 digits:
                   only the last 2 digits are kept
``email``          first character of the name, ``***``, then     alice@example.com ->
                   ``@`` and the domain                           a***@example.com
``credit_code``    keep the first 4 and the last 2 characters     91350100M000100Y43 ->
                   (registration authority, type and region       9135************43
                   prefix; the last digit and check character)
=================  =============================================  ===========================

Only the columns known to hold personal data are masked (``contact_name``, ``phone``,
``email``, ``credit_code`` and their Chinese headers 关键联系人, 联系电话, 电子邮箱,
统一社会信用代码); missing values stay missing.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

import pandas as pd

from segkit.io import Dataset
from segkit.schema import ALIASES, TABLES, normalise_header

__all__ = ["scope", "mask_pii", "mask_name", "mask_phone", "mask_email", "mask_credit_code", "PII_COLUMNS",
           "record_fields"]


# --- masking ---------------------------------------------------------------------------------


def mask_name(value: str) -> str:
    """First character, then one ``*`` per remaining character.

    Examples
    --------
    >>> mask_name("张伟"), mask_name("欧阳娜娜"), mask_name("张"), mask_name("John Smith")
    ('张*', '欧***', '*', 'J*********')
    """
    text = str(value).strip()
    if len(text) <= 1:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 1)


# "+86" with or without a separator; another country code only when a separator follows it
_COUNTRY = re.compile(r"^(\+86[\s-]?|\+\d{1,3}[\s-])")


def mask_phone(value: str) -> str:
    """Keep the first 3 and last 4 digits (with 8 or more digits), mask the rest.

    A leading country code (``+86``) and separators are kept; numbers with fewer than 8
    digits keep only their last 2 digits.

    Examples
    --------
    >>> mask_phone("13812345678"), mask_phone("010-62345678"), mask_phone("+86 138 1234 5678")
    ('138****5678', '010-****5678', '+86 138 **** 5678')
    >>> mask_phone("100-0000-1234"), mask_phone("6543210"), mask_phone("+8613812345678")
    ('100-****-1234', '*****10', '+86138****5678')
    """
    text = str(value).strip()
    match = _COUNTRY.match(text)
    prefix, rest = (match.group(1), text[match.end():]) if match else ("", text)
    positions = [i for i, ch in enumerate(rest) if ch.isdigit() or ch == "*"]
    n = len(positions)
    keep = set(positions[:3] + positions[-4:]) if n >= 8 else set(positions[-2:])
    chars = [("*" if i in set(positions) and i not in keep else ch) for i, ch in enumerate(rest)]
    return prefix + "".join(chars)


def mask_email(value: str) -> str:
    """First character of the local part, ``***``, then the domain.

    Examples
    --------
    >>> mask_email("alice@example.com"), mask_email("a***@example.com"), mask_email("no-at-sign")
    ('a***@example.com', 'a***@example.com', '***')
    """
    text = str(value).strip()
    local, at, domain = text.rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def mask_credit_code(value: str) -> str:
    """Keep the first 4 and the last 2 characters; shorter codes (< 7) are masked entirely.

    Examples
    --------
    >>> mask_credit_code("91350100M000100Y43"), mask_credit_code("12345")
    ('9135************43', '*****')
    """
    text = str(value).strip()
    if len(text) < 7:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 6) + text[-2:]


_MASKS: dict[str, Callable[[str], str]] = {
    "contact_name": mask_name,
    "phone": mask_phone,
    "email": mask_email,
    "credit_code": mask_credit_code,
}
#: Column names (canonical and the Chinese headers of the customers table) masked by
#: :func:`mask_pii`, with the masking function's kind.
PII_COLUMNS: dict[str, str] = {
    **{name: name for name in _MASKS},
    **{TABLES["customers"].column(name).zh: name for name in _MASKS},
}


def mask_pii(table: pd.DataFrame, columns: Iterable[str] | None = None) -> pd.DataFrame:
    """A copy of ``table`` with personal contact details masked.

    Parameters
    ----------
    table : DataFrame
        Any table; only the columns in :data:`PII_COLUMNS` present in it are changed.
    columns : collection of str, optional
        Restrict masking to these of the known columns.

    Returns
    -------
    DataFrame
        Same shape, index and other columns; masked columns are strings, missing values
        stay missing. See the module docstring for the rules.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"name": ["甲公司"], "contact_name": ["张伟"], "phone": ["13812345678"],
    ...                   "email": ["zhang.wei@example.com"], "credit_code": ["91350100M000100Y43"]})
    >>> mask_pii(t).iloc[0].tolist()
    ['甲公司', '张*', '138****5678', 'z***@example.com', '9135************43']
    """
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"mask_pii takes a DataFrame, not {type(table).__name__}")
    wanted = set(PII_COLUMNS) if columns is None else set(columns)
    unknown = sorted(wanted - set(PII_COLUMNS))
    if unknown:
        raise ValueError(f"{unknown} are not known personal-data columns; known: {sorted(PII_COLUMNS)}")
    out = table.copy()
    for col in out.columns:
        if col in wanted:
            mask = _MASKS[PII_COLUMNS[col]]
            masked = [mask(str(v)) if pd.notna(v) else pd.NA for v in out[col]]
            out[col] = pd.Series(masked, index=out.index, dtype="str")
    return out


# --- scoping ---------------------------------------------------------------------------------


def _names(value: str | Iterable[str] | None, what: str) -> set[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return {value.strip()}
    names = {str(v).strip() for v in value}
    if not names:
        raise ValueError(f"{what}= is empty; pass a name, several names, or None for everyone")
    return names


def _check_known(names: set[str] | None, column: pd.Series, what: str) -> None:
    if names is None:
        return
    known = set(column.dropna().astype(str).str.strip())
    missing = sorted(names - known)
    if missing:
        raise ValueError(f"no customers with {what} {', '.join(map(repr, missing))}; "
                         f"{what}s in the data: {', '.join(sorted(known)) or '(none)'}")


def _customer_mask(customers: pd.DataFrame, owners: set[str] | None, departments: set[str] | None) -> pd.Series:
    keep = pd.Series(True, index=customers.index)
    for col, names in (("owner", owners), ("department", departments)):
        if names is not None:
            if col not in customers.columns:
                raise ValueError(f"the customers table has no {col!r} column to scope by")
            keep &= customers[col].astype("str").str.strip().isin(names).fillna(False).astype(bool)
    return keep


def record_fields(record: str, table: str) -> dict[str, str] | None:
    """The canonical fields of a rejected row's raw record (JSON with the file's own headers),
    or None when it is not a row.

    Scoping reads the owner, department and customer id of a rejected row from it; masking
    reads its personal-data fields.

    Examples
    --------
    >>> record_fields('{"客户编号": " C1 ", "联系电话": "13812345678"}', "customers")
    {'customer_id': 'C1', 'phone': '13812345678'}
    >>> record_fields("not json", "customers") is None
    True
    """
    try:
        raw = json.loads(record)
    except (TypeError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    aliases = ALIASES.get(table, {})
    fields = {}
    for header, value in raw.items():
        canonical = aliases.get(normalise_header(header)[0])
        if canonical:
            fields[canonical] = str(value).strip()
    return fields


def _scope_dataset(ds: Dataset, owners: set[str] | None, departments: set[str] | None) -> Dataset:
    customers = ds.customers
    for col, names in (("owner", owners), ("department", departments)):
        if names is not None and col in customers.columns:
            _check_known(names, customers[col], col)
    keep = _customer_mask(customers, owners, departments)
    ids = set(customers.loc[keep, "customer_id"].astype(str))

    # Rejected rows hold raw records of other customers too: keep only those that can be
    # attributed to a customer in scope (a rejected customer row by its own owner and
    # department fields; other rows by their customer id). Unattributable rows are dropped.
    rejected_customer_ids: set[str] = set()
    keep_rejected = []
    for table, record in zip(ds.rejected["table"], ds.rejected["record"]):
        fields = record_fields(record, table)
        if fields is None:
            keep_rejected.append(False)
            continue
        if table == "customers":
            ok = all(names is None or fields.get(col) in names
                     for col, names in (("owner", owners), ("department", departments)))
            if ok and fields.get("customer_id"):
                rejected_customer_ids.add(fields["customer_id"])
            keep_rejected.append(ok)
        else:
            keep_rejected.append(None)  # decided below, once the rejected customers are known
    for i, (table, record) in enumerate(zip(ds.rejected["table"], ds.rejected["record"])):
        if keep_rejected[i] is None:
            fields = record_fields(record, table) or {}
            keep_rejected[i] = fields.get("customer_id") in ids | rejected_customer_ids
    rejected = ds.rejected.loc[pd.Series(keep_rejected, index=ds.rejected.index, dtype=bool)].reset_index(drop=True)

    def only(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.loc[frame["customer_id"].astype(str).isin(ids)].reset_index(drop=True)

    return dataclasses.replace(
        ds,
        customers=customers.loc[keep].reset_index(drop=True),
        transactions=only(ds.transactions),
        interactions=only(ds.interactions),
        surveys=only(ds.surveys),
        contracts=only(ds.contracts),
        rejected=rejected,
        # warnings carry no customer id and cannot be attributed: a scoped view keeps none
        warnings=ds.warnings.iloc[:0].copy(),
        meta={**ds.meta, "scope": {"owner": sorted(owners) if owners else None,
                                   "department": sorted(departments) if departments else None}},
    )


def scope(
    data: Dataset | pd.DataFrame,
    owner: str | Iterable[str] | None = None,
    department: str | Iterable[str] | None = None,
    *,
    customers: Dataset | pd.DataFrame | None = None,
) -> Dataset | pd.DataFrame:
    """Only the customers of an owner (sales rep) and/or a department.

    ``owner=None, department=None`` is the administrator's view (everything). Giving both
    keeps the customers matching both.

    Parameters
    ----------
    data : Dataset or DataFrame
        A :class:`~segkit.io.Dataset`: every table is filtered consistently (orders,
        interactions, surveys and contracts of the customers in scope); ``rejected`` keeps only rows
        attributable to those customers; ``warnings`` (which carry no customer id) are
        dropped; ``files`` (counts per file) is kept; ``meta["scope"]`` records the scope.
        A DataFrame: filtered by its own ``owner`` / ``department`` columns, or else by
        its customer ids (index named ``customer_id`` or a ``customer_id`` column) looked
        up in ``customers``.
    owner, department : str or collection of str, optional
    customers : Dataset or DataFrame, optional
        Where to look up owner and department for a table without those columns.

    Returns
    -------
    Dataset or DataFrame
        Of the same kind as ``data``.

    Raises
    ------
    ValueError
        An owner or department that no customer has (checked against the customers table:
        the Dataset's or ``customers``), or a table that cannot be scoped.

    Examples
    --------
    >>> import pandas as pd
    >>> tiers = pd.DataFrame({"tier": ["core", "ordinary", "potential"]},
    ...                      index=pd.Index(["C1", "C2", "C3"], name="customer_id"))
    >>> owners = pd.DataFrame({"customer_id": ["C1", "C2", "C3"], "owner": ["王", "李", "王"],
    ...                        "department": ["华东", "华南", "华东"]})
    >>> scope(tiers, owner="王", customers=owners).index.tolist()
    ['C1', 'C3']
    >>> scope(owners, department="华南")["customer_id"].tolist()
    ['C2']
    """
    owners, departments = _names(owner, "owner"), _names(department, "department")
    if isinstance(data, Dataset):
        if owners is None and departments is None:
            return data
        return _scope_dataset(data, owners, departments)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"scope takes a Dataset or a DataFrame, not {type(data).__name__}")
    if owners is None and departments is None:
        return data.copy()

    reference = customers.customers if isinstance(customers, Dataset) else customers
    if reference is not None:
        reference = reference.set_index("customer_id") if "customer_id" in reference.columns else reference
        for col, names in (("owner", owners), ("department", departments)):
            if names is not None:
                if col not in reference.columns:
                    raise ValueError(f"customers has no {col!r} column to scope by")
                _check_known(names, reference[col], col)

    if "customer_id" in data.columns:
        ids = data["customer_id"].astype(str)
    elif data.index.name == "customer_id":
        ids = pd.Series(data.index.astype(str), index=data.index)
    else:
        ids = None
    keep = pd.Series(True, index=data.index)
    for col, names in (("owner", owners), ("department", departments)):
        if names is None:
            continue
        if col in data.columns:
            values = data[col]
        elif reference is not None and ids is not None:
            lookup = reference[col]
            lookup.index = lookup.index.astype(str)
            values = ids.map(lookup)
        else:
            raise ValueError(f"cannot scope this table by {col}: it has no {col!r} column"
                             + ("" if ids is not None else " and no customer_id")
                             + "; pass customers=ds (or the customers table) to look it up by customer_id")
        keep &= values.astype("str").str.strip().isin(names).fillna(False).astype(bool)
    return data.loc[keep.to_numpy()].copy()

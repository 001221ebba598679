"""Side outputs of a report run: the rejected-row ledger and the customer snapshot as CSV.

They sit beside the reports (``<out>/<quarter>/``), so they follow the same scope and
masking as the report they accompany (:func:`segkit.reporting.render.render`): a
whole-company run is masked, a report for an owner holds only that owner's customers, with
their contacts.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from segkit.io import Dataset

__all__ = ["SIDE_OUTPUTS", "mask_rejected", "write_side_outputs"]

SIDE_OUTPUTS = ("rejected_rows.csv", "customer_snapshot.csv")


def mask_rejected(rejected: pd.DataFrame) -> pd.DataFrame:
    """The rejected-row ledger with personal contact details masked, as in a masked report.

    A rejected row keeps its raw record (JSON, the file's own headers) and the offending
    value; both are masked where the field is a personal-data column
    (:data:`segkit.access.PII_COLUMNS`, recognised through the header aliases), with
    :func:`segkit.access.mask_pii`'s rules.

    Examples
    --------
    >>> import pandas as pd
    >>> ledger = pd.DataFrame({"table": ["customers"], "column": ["phone"], "value": ["13812345678"],
    ...     "record": ['{"客户编号": "C1", "联系电话": "13812345678", "电子邮箱": "ann@x.cn", "关键联系人": "张伟"}']})
    >>> row = mask_rejected(ledger).iloc[0]
    >>> row["value"], row["record"]
    ('138****5678', '{"客户编号": "C1", "联系电话": "138****5678", "电子邮箱": "a***@x.cn", "关键联系人": "张*"}')
    """
    import json

    from segkit.access import PII_COLUMNS, mask_pii, record_fields

    def one(kind: str, value: object) -> object:
        return mask_pii(pd.DataFrame({kind: [value]})).iloc[0, 0] if pd.notna(value) else value

    def record(table: str, text: object) -> object:
        # the record's fields by canonical name (access reads raw records for scoping too);
        # each personal value is replaced where it stands, so the record keeps its form
        for canonical, value in (record_fields(text, table) or {}).items():
            if canonical in PII_COLUMNS and value:
                text = text.replace(json.dumps(value, ensure_ascii=False)[1:-1], str(one(PII_COLUMNS[canonical], value)))
        return text

    out = rejected.copy()
    if "column" in out and "value" in out:
        out["value"] = [one(PII_COLUMNS[c], v) if c in PII_COLUMNS else v for c, v in zip(out["column"], out["value"])]
    if "record" in out:
        out["record"] = [record(t, r) for t, r in zip(out["table"], out["record"])]
    return out


def write_side_outputs(
    dataset: Dataset,
    snapshot: pd.DataFrame,
    folder: str | Path,
    *,
    owner: str | None = None,
    department: str | None = None,
    mask_pii: bool | None = None,
) -> list[Path]:
    """``rejected_rows.csv`` and ``customer_snapshot.csv`` beside a report, in the report's scope.

    The same rules as :func:`render`: only the customers of ``owner`` / ``department``
    (:func:`segkit.access.scope`), and contact details masked unless the files are for the
    customers' owner (``mask_pii`` defaults to ``owner is None``). A whole-company run writes
    masked side files beside its masked reports.

    Parameters
    ----------
    dataset : Dataset
        The loaded data (its rejected-row ledger is written).
    snapshot : DataFrame
        The quarter's snapshot (:func:`segkit.features.snapshot`), indexed by customer_id.
    folder : path
        Where to write (created if missing).
    owner, department, mask_pii
        The report's scope, as in :func:`render`.

    Returns
    -------
    list of Path
        The files written, in the order of :data:`SIDE_OUTPUTS`.
    """
    from segkit.access import mask_pii as mask_table, scope
    from segkit.writers import write_table

    if owner is not None and department is not None:
        raise ValueError("scope side outputs to an owner or to a department, not both")
    if mask_pii is None:
        mask_pii = owner is None
    dataset = scope(dataset, owner=owner, department=department)
    if owner is not None or department is not None:
        snapshot = scope(snapshot, owner=owner, department=department, customers=dataset.customers)
    rejected = dataset.rejected
    if mask_pii:
        rejected, snapshot = mask_rejected(rejected), mask_table(snapshot)
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [folder / name for name in SIDE_OUTPUTS]
    write_table(rejected, paths[0])
    write_table(snapshot.reset_index(), paths[1])
    return paths

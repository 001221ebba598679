"""Churn outcomes: who is eligible at an as-of date (ordered in the ``labels.active_months``
before it) and who churned in the outcome window ``(as_of, as_of + horizon]``
(:func:`churn_labels`), in pandas or by the engine that holds the orders.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from segkit.features import month_window, months_before
from segkit.insights.churn.config import ChurnConfig, LabelDefinition, load_churn_config
from segkit.io import Dataset
from segkit.periods import horizon_end, horizon_start

__all__ = ["churn_labels"]


def churn_labels(ds: Dataset, as_of: Any, horizon: str = "1Q", definition: str | Callable | None = None,
                 config: Any = None) -> pd.Series:
    """Churned within ``(as_of, as_of + horizon]`` (True/False) for every customer in ``ds``.

    Parameters
    ----------
    definition : str or callable, optional
        A key of ``labels.definitions`` (default ``labels.default``: ``"no_order"``, no order
        with a positive amount in the window; ``"revenue_drop"``: net revenue in the window
        below ``1 - drop`` times the revenue of the same length just before ``as_of``, or no
        revenue in either), or a
        function ``f(ds, as_of, end) -> boolean Series indexed by customer_id`` for a
        definition from your own data, e.g. contracts not renewed by ``end``.

    Returns
    -------
    Series of bool, named ``churned``, indexed by customer_id.
    """
    cfg = load_churn_config(config)
    as_of = pd.Timestamp(as_of).normalize()
    end = horizon_end(as_of, horizon)
    customers = pd.Index(ds.customers["customer_id"].drop_duplicates(), name="customer_id")
    if callable(definition):
        result = pd.Series(definition(ds, as_of, end))
        return result.reindex(customers).astype("boolean").fillna(False).astype(bool).rename("churned")
    spec = _label_definition(cfg, definition)
    if ds._as_stored():  # counted where the orders are
        return _WindowActivity(ds, [as_of], horizon, spec, cfg, every_window=True).labels(as_of)
    tx = ds.transactions
    dates, amount = tx["order_date"], tx["amount"]
    window = (dates > as_of) & (dates <= end)
    if spec.kind == "no_order":
        bought = tx.loc[window & (amount > 0), "customer_id"].unique()
        churned = ~customers.isin(bought)
    else:
        start = horizon_start(as_of, horizon)
        after = amount.where(window, 0.0).groupby(tx["customer_id"]).sum().reindex(customers, fill_value=0.0)
        before = amount.where((dates > start) & (dates <= as_of), 0.0).groupby(tx["customer_id"]).sum().reindex(customers, fill_value=0.0)
        churned = (after < (1.0 - spec.drop) * before.clip(lower=0)).to_numpy() | ((before <= 0) & (after <= 0)).to_numpy()
    return pd.Series(np.asarray(churned, dtype=bool), index=customers, name="churned")


def _among(index: pd.Index, ids: pd.Index) -> np.ndarray:
    """``index.isin(ids)`` for unique ``ids`` by a hash lookup: Arrow's for text ids held by
    Arrow (pandas' str dtype, no copy), else pandas' (ten times faster than ``isin``)."""
    index, ids = pd.Index(index), pd.Index(ids)
    if isinstance(index.array, pd.arrays.ArrowStringArray) and isinstance(ids.array, pd.arrays.ArrowStringArray):
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            return np.asarray(pc.is_in(pa.array(index.array), value_set=pa.array(ids.array)).to_numpy(zero_copy_only=False), dtype=bool)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):  # pragma: no cover - other string types
            pass
    return ids.get_indexer(index) >= 0


def _eligible(ds: Dataset, as_of: pd.Timestamp, months: int) -> pd.Index:
    """Customers with an order (positive amount) in the ``months`` before ``as_of``."""
    if ds._as_stored():  # counted where the orders are
        from segkit.engine import order_windows

        active = order_windows(ds, {"active": (months_before(as_of, months), as_of)})["orders_active"]
        return pd.Index(active.index[active.to_numpy() > 0])
    tx = ds.transactions
    recent = month_window(tx["order_date"], as_of, 0, months) & (tx["amount"] > 0)
    return pd.Index(tx.loc[recent, "customer_id"].unique())


class _WindowActivity:
    """Eligibility and churn labels at many as-of dates from one pass over the orders.

    The same definitions as :func:`_eligible` and :func:`churn_labels`, computed by the engine
    that holds the orders (:func:`segkit.engine.order_windows`) instead of in pandas: a
    training table of ten quarter ends reads the orders once and never brings them into memory.
    """

    def __init__(self, ds: Dataset, dates: Sequence[pd.Timestamp], horizon: str, spec: LabelDefinition, cfg: ChurnConfig,
                 every_window: bool = False):
        from segkit.engine import order_windows

        self.spec, self.horizon, self.months = spec, horizon, cfg.labels.active_months
        windows: dict[str, tuple[pd.Timestamp, pd.Timestamp]] = {}
        for i, as_of in enumerate(dates):
            windows[f"active{i}"] = (months_before(as_of, self.months), as_of)
            end = horizon_end(as_of, horizon)
            if end <= ds.as_of or every_window:   # labels only for complete outcome windows, unless asked
                windows[f"after{i}"] = (as_of, end)
                if spec.kind != "no_order":
                    windows[f"before{i}"] = (horizon_start(as_of, horizon), as_of)
        self.position = {d: i for i, d in enumerate(dates)}
        self.table = order_windows(ds, windows)
        self.customers = pd.Index(ds.customers["customer_id"].drop_duplicates(), name="customer_id")

    def eligible(self, as_of: pd.Timestamp) -> pd.Index:
        active = self.table[f"orders_active{self.position[as_of]}"]
        return pd.Index(active.index[active.to_numpy() > 0])

    def labels(self, as_of: pd.Timestamp) -> pd.Series:
        i = self.position[as_of]

        def column(name: str) -> pd.Series:
            return self.table[name].reindex(self.customers, fill_value=0)

        if self.spec.kind == "no_order":
            churned = column(f"orders_after{i}").to_numpy() == 0
        else:
            after, before = column(f"revenue_after{i}"), column(f"revenue_before{i}")
            churned = ((after < (1.0 - self.spec.drop) * before.clip(lower=0)).to_numpy()
                       | ((before <= 0) & (after <= 0)).to_numpy())
        return pd.Series(np.asarray(churned, dtype=bool), index=self.customers, name="churned")


def _label_definition(cfg: ChurnConfig, definition: str | None) -> LabelDefinition:
    """The configured churn definition named ``definition`` (default ``labels.default``)."""
    key = cfg.labels.default if definition is None else definition
    if key not in cfg.labels.definitions:
        raise ValueError(f"unknown churn definition {key!r}; configured: {', '.join(sorted(cfg.labels.definitions))}")
    return cfg.labels.definitions[key]


def _window_activity(ds: Dataset, dates: Sequence[pd.Timestamp], horizon: str, definition: str | None,
                     cfg: ChurnConfig) -> _WindowActivity:
    return _WindowActivity(ds, dates, horizon, _label_definition(cfg, definition), cfg)


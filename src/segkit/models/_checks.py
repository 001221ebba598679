"""Input checks and output shaping of the models, with errors a person can act on.

Inputs become 1-d float arrays (keeping a pandas index, so that errors name customers by
their ids and predictions come back as Series); impossible values raise ValueError naming
the rule and the customers that break it ("recency is larger than T for 3 customers (ids:
17, 40, 92)").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "as_array",
    "as_output",
    "broadcast",
    "check_btyd_data",
    "check_prediction_inputs",
    "check_weight",
    "require_columns",
    "require_repeat_buyers",
]


# ---------------------------------------------------------------------------------------------
# input checks
# ---------------------------------------------------------------------------------------------
def as_array(name: str, values: Any) -> tuple[np.ndarray, pd.Index | None]:
    """A 1-d float array (and the pandas index, when ``values`` had one)."""
    index = values.index if isinstance(values, (pd.Series, pd.DataFrame)) else None
    if isinstance(values, pd.DataFrame):
        raise TypeError(f"{name} must be one column (Series or array), got a DataFrame")
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be numeric ({exc})") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    return arr, index


def _ids(mask: np.ndarray, index: pd.Index | None, limit: int = 5) -> str:
    where = np.flatnonzero(mask)[:limit]
    labels = list(index[where]) if index is not None else [int(i) for i in where]
    kind = "ids" if index is not None else "positions"
    more = ", ..." if mask.sum() > limit else ""
    return f"{kind}: {', '.join(map(str, labels))}{more}"


def _require(bad: np.ndarray, message: str, index: pd.Index | None, hint: str = "") -> None:
    if bad.any():
        n = int(bad.sum())
        noun = "customer" if n == 1 else "customers"
        raise ValueError(f"{message} for {n} {noun} ({_ids(bad, index)}){hint}")


def check_btyd_data(
    frequency: Any, recency: Any, T: Any, sample_weight: Any = None, index: pd.Index | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate (frequency, recency, T[, weight]) and return them as float arrays.

    Raises
    ------
    ValueError
        Naming the rule and the customers that break it, e.g. "recency is larger than T for
        3 customers (ids: 17, 40, 92)".
    """
    x, idx = as_array("frequency", frequency)
    t_x, idx_r = as_array("recency", recency)
    big_t, idx_t = as_array("T", T)
    if index is None:
        index = next((i for i in (idx, idx_r, idx_t) if i is not None), None)
    if index is not None and len(index) != x.size:
        index = None
    if not (x.size == t_x.size == big_t.size):
        raise ValueError(
            f"frequency, recency and T must have the same length, got {x.size}, {t_x.size}, "
            f"{big_t.size}"
        )
    if x.size == 0:
        raise ValueError("no customers to fit: frequency, recency and T are empty")
    for name, arr in (("frequency", x), ("recency", t_x), ("T", big_t)):
        _require(~np.isfinite(arr), f"{name} is missing or infinite", index)
    _require(x < 0, "frequency is negative", index)
    _require(x != np.round(x), "frequency is not a whole number (repeat purchase periods)", index)
    _require(t_x < 0, "recency is negative", index)
    _require(big_t < 0, "T is negative", index)
    _require(t_x > big_t * (1 + 1e-12), "recency is larger than T", index)
    _require((x == 0) & (t_x != 0), "recency is not 0 while frequency is 0", index)
    return x, t_x, big_t, check_weight(sample_weight, x.size, index)


def check_weight(sample_weight: Any, n: int, index: pd.Index | None = None) -> np.ndarray:
    """``sample_weight`` (customers per row) as a float array of length ``n``; ones for None.

    Raises
    ------
    ValueError
        When the length is not ``n``, a weight is negative, missing or infinite (naming the
        rows), or all weights are 0.

    Examples
    --------
    >>> check_weight([2, 0, 1], 3).tolist()
    [2.0, 0.0, 1.0]
    >>> check_weight([2, -1], 2)
    Traceback (most recent call last):
    ...
    ValueError: sample_weight is negative, missing or infinite for 1 customer (positions: 1)
    """
    if sample_weight is None:
        return np.ones(n)
    weight, idx = as_array("sample_weight", sample_weight)
    if weight.size != n:
        raise ValueError(f"sample_weight has {weight.size} values for {n} customers")
    if index is None and idx is not None and len(idx) == n:
        index = idx
    _require(~np.isfinite(weight) | (weight < 0), "sample_weight is negative, missing or infinite",
             index)
    if weight.sum() <= 0:
        raise ValueError("sample_weight sums to 0: nothing to fit")
    return weight


def require_repeat_buyers(x: np.ndarray, weight: np.ndarray, model: str) -> None:
    """A purchase model cannot learn dropout without any repeat purchase: say so.

    Examples
    --------
    >>> require_repeat_buyers(np.zeros(3), np.array([2.0, 1.0, 1.0]), "BetaGeo")
    Traceback (most recent call last):
    ...
    ValueError: BetaGeo: 0 of 4 customers bought again; a repeat-purchase model needs repeat buyers to tell purchase and dropout rates apart (no customer made a repeat purchase: frequency is 0 for all). Use a longer observation period or more customers.
    """
    if not np.any((x > 0) & (weight > 0)):
        raise ValueError(
            f"{model}: 0 of {float(weight.sum()):.0f} customers bought again; a repeat-purchase "
            f"model needs repeat buyers to tell purchase and dropout rates apart (no customer "
            f"made a repeat purchase: frequency is 0 for all). Use a longer observation period "
            f"or more customers."
        )


# ---------------------------------------------------------------------------------------------
# inputs and outputs of the prediction methods
# ---------------------------------------------------------------------------------------------
def as_output(values: np.ndarray, index: pd.Index | None, name: str, inputs: Sequence[Any] = ()):
    """A Series when the inputs carried an index, a float when they were all scalars."""
    if index is not None and len(index) == values.size:
        return pd.Series(values, index=index, name=name)
    if inputs and all(np.ndim(v) == 0 for v in inputs):
        return float(np.reshape(values, -1)[0])
    return values


def broadcast(*arrays: np.ndarray) -> list[np.ndarray]:
    try:
        return list(np.broadcast_arrays(*arrays))
    except ValueError as exc:
        shapes = ", ".join(str(np.shape(a)) for a in arrays)
        raise ValueError(f"inputs have incompatible lengths ({shapes})") from exc


def check_prediction_inputs(frequency: Any, recency: Any, T: Any):
    x, index = as_array("frequency", frequency)
    t_x, idx_r = as_array("recency", recency)
    big_t, idx_t = as_array("T", T)
    index = next((i for i in (index, idx_r, idx_t) if i is not None), None)
    x, t_x, big_t = broadcast(x, t_x, big_t)
    check_btyd_data(x, t_x, big_t, index=index)  # the fitting rules, naming the customers
    return x, t_x, big_t, index


def require_columns(frame: pd.DataFrame, columns: list[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"snapshot must be a DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(
            f"snapshot lacks column(s) {missing}; expected {columns}, found {list(frame.columns)}"
        )

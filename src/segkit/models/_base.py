"""What the BTYD purchase models (BG/NBD, Pareto/NBD) share: fitting on a snapshot table,
compressing it to distinct rows, input checks and output shaping of the predictions.

A model supplies its equations as ``_alive(x, t_x, T)`` (P(alive)) and
``_conditional(t, x, T, alive)`` (expected purchases in (T, T+t]) on checked, broadcast
arrays; the public methods here turn pandas Series or arrays into those arrays and back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from segkit.models._optim import (
    _require,
    as_array,
    as_output,
    broadcast,
    check_btyd_data,
    check_prediction_inputs,
    check_weight,
    compress,
    newton_polish,
    require_columns,
    single_threaded_blas,
)

__all__ = [
    "PurchaseModel",
    "check_horizon",
    "compress_snapshot",
    "numeric_hessian",
    "polish_optimum",
    "snapshot_weight",
]

#: Name of the column of :func:`compress_snapshot` that counts the customers of a row.
COUNT_COLUMN = "n_customers"
BTYD_COLUMNS = ("frequency", "recency", "T")


def compress_snapshot(
    snapshot: pd.DataFrame,
    columns: Sequence[str] = BTYD_COLUMNS,
    sample_weight: Any = None,
) -> pd.DataFrame:
    """The distinct rows of ``snapshot[columns]`` with the number of customers in each.

    A BTYD likelihood depends on a customer only through (frequency, recency, T) -- the
    Gamma-Gamma one through (frequency, monetary_value) -- so a model fitted on the distinct
    rows weighted by their counts (``fit_snapshot(table, sample_weight="n_customers")``) is
    the model fitted on the customers: same log-likelihood, same parameters. The table is
    small enough to store or ship instead of the customers (weekly data of 500,000 customers
    have some 20,000 distinct rows).

    Parameters
    ----------
    snapshot : DataFrame
        One row per customer (e.g. :func:`segkit.summary.btyd_summary`).
    columns : sequence of str, default ("frequency", "recency", "T")
        The columns that identify a row; ``("frequency", "monetary_value")`` for
        :class:`~segkit.models.GammaGamma`.
    sample_weight : array-like, str or None, default None
        Customers per row of ``snapshot`` (or the name of its column holding them), so a
        compressed table can be compressed further; None counts each row once.

    Returns
    -------
    DataFrame
        ``columns`` plus ``n_customers`` (float, the summed weights), one row per distinct
        combination in lexicographic order, rows of weight 0 dropped; ``attrs`` (such as
        ``btyd_unit``) are kept.

    Raises
    ------
    ValueError
        For missing or impossible values (the rules of the BTYD models when ``columns`` are
        frequency, recency and T) and bad weights, naming the customers.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"frequency": [0, 2, 0, 2], "recency": [0.0, 5.0, 0.0, 5.0],
    ...                      "T": [9.0, 9.0, 9.0, 9.0]}, index=["a", "b", "c", "d"])
    >>> compress_snapshot(snap)
       frequency  recency    T  n_customers
    0        0.0      0.0  9.0          2.0
    1        2.0      5.0  9.0          2.0
    """
    columns = list(columns)
    require_columns(snapshot, columns)
    if COUNT_COLUMN in columns:
        raise ValueError(f"{COUNT_COLUMN!r} is the count column and cannot be one of the columns")
    weight = check_weight(snapshot_weight(snapshot, sample_weight), len(snapshot), snapshot.index)
    if columns == list(BTYD_COLUMNS):
        arrays = list(check_btyd_data(*(snapshot[c] for c in columns), index=snapshot.index)[:3])
    else:
        arrays = [as_array(c, snapshot[c])[0] for c in columns]
        for c, arr in zip(columns, arrays, strict=True):
            _require(~np.isfinite(arr), f"{c} is missing or infinite", snapshot.index)
    values, counts = compress(*arrays, weight=weight)
    out = pd.DataFrame(dict(zip(columns, values, strict=True)))
    out[COUNT_COLUMN] = counts
    out.attrs.update(snapshot.attrs)
    return out


def snapshot_weight(snapshot: pd.DataFrame, sample_weight: Any) -> Any:
    """``sample_weight`` of a ``fit_snapshot``: the named column of ``snapshot``, or as given."""
    if isinstance(sample_weight, str):
        require_columns(snapshot, [sample_weight])
        return snapshot[sample_weight]
    return sample_weight


def check_horizon(t: Any) -> tuple[np.ndarray, pd.Index | None]:
    """A period length ``t`` as an array (with its index, if a Series), non-negative and finite."""
    t_arr, index = as_array("t", t)
    if np.any(t_arr < 0) or not np.all(np.isfinite(t_arr)):
        raise ValueError(f"t must be non-negative and finite, got {t}")
    return t_arr, index


def check_counts(n: Any, t: Any) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Purchase counts ``n`` (whole, non-negative) and period lengths ``t``, broadcast against
    each other, and the index of whichever was a Series (for ``probability_of_purchases``)."""
    n_arr, idx_n = as_array("n", n)
    if np.any(n_arr < 0) or np.any(n_arr != np.round(n_arr)) or not np.all(np.isfinite(n_arr)):
        raise ValueError(f"n must be whole non-negative numbers of purchases, got {n}")
    t_arr, idx_t = check_horizon(t)
    n_arr, t_arr = broadcast(n_arr, t_arr)
    return n_arr, t_arr, idx_n if idx_n is not None else idx_t


def numeric_hessian(gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                    step: float = 1e-5) -> np.ndarray:
    """Hessian by central differences of an analytic ``gradient`` (symmetrised)."""
    k = theta.size
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[i] = (gradient(theta + e) - gradient(theta - e)) / (2 * step)
    return (hess + hess.T) / 2


def polish_optimum(objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
                   theta: np.ndarray, max_iter: int = 5) -> np.ndarray:
    """A few Newton steps (numeric Hessian of the analytic gradient) from an L-BFGS-B optimum.

    L-BFGS-B stops once the gradient is below its tolerance; Newton's method from there
    reaches the optimum to rounding in a step or two, so the log-likelihood reported is the
    maximum rather than a point near it (on 200,000 customers L-BFGS-B alone stopped 6e-11
    below lifetimes' BFGS optimum). A step is taken only where it lowers the objective (or,
    at rounding level, the gradient); otherwise ``theta`` is returned unchanged.
    """
    def with_hessian(th):
        value, grad = objective(th)
        return value, grad, numeric_hessian(lambda t: objective(t)[1], th)

    with single_threaded_blas():
        polished, value, _, _ = newton_polish(with_hessian, theta, tol=1e-14, max_iter=max_iter)
    return polished if np.isfinite(value) else theta


class PurchaseModel(BaseEstimator):
    """Base of :class:`~segkit.models.BetaGeo` and :class:`~segkit.models.ParetoNBD`."""

    def fit_snapshot(self, snapshot: pd.DataFrame, sample_weight: Any = None):
        """Fit on a table with ``frequency``, ``recency`` and ``T`` columns.

        The table may hold one row per customer or distinct rows with counts
        (:func:`compress_snapshot`, then ``sample_weight="n_customers"``); both give the same
        fit, since :meth:`fit` compresses to distinct rows first anyway. The table's time unit
        (``attrs["btyd_unit"]``, set by :func:`segkit.summary.btyd_summary` and
        :func:`segkit.snapshot`, and kept by :func:`compress_snapshot`) is kept as ``unit_``
        so that CLV horizons can be checked against it.

        Parameters
        ----------
        snapshot : DataFrame
        sample_weight : array-like, str or None, default None
            Customers per row, or the name of the column of ``snapshot`` that holds them.

        Examples
        --------
        >>> import pandas as pd
        >>> from segkit.models import BetaGeo, compress_snapshot
        >>> kinds = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2],
        ...                       "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4], "T": 39.0})
        >>> customers = [600, 150, 60, 500, 30, 120, 300, 10, 100, 80]
        >>> snap = kinds.loc[kinds.index.repeat(customers)].reset_index(drop=True)
        >>> snap.attrs["btyd_unit"] = "W"  # as btyd_summary(..., unit="W") sets it
        >>> BetaGeo().fit_snapshot(snap).unit_
        'W'
        >>> rows = compress_snapshot(snap)
        >>> len(snap), len(rows), rows["n_customers"].tolist()[:3]
        (1950, 8, [1400.0, 120.0, 150.0])
        >>> bg = BetaGeo().fit_snapshot(rows, sample_weight="n_customers")
        >>> bg.params_ == BetaGeo().fit_snapshot(snap).params_, bg.unit_
        (True, 'W')
        """
        require_columns(snapshot, ["frequency", "recency", "T"])
        weight = snapshot_weight(snapshot, sample_weight)
        self.fit(snapshot["frequency"], snapshot["recency"], snapshot["T"], weight)
        self.unit_ = snapshot.attrs.get("btyd_unit")
        return self

    def probability_alive(self, frequency: Any, recency: Any, T: Any):
        """P(still active at T | x, t_x, T) per customer (the model's equation: see the subclass)."""
        self._p()
        x, t_x, big_t, index = check_prediction_inputs(frequency, recency, T)
        return as_output(self._alive(x, t_x, big_t), index, "probability_alive", (frequency, recency, T))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] per customer.

        ``t`` is in the unit of recency and T and broadcasts against the customers.
        """
        self._p()
        x, t_x, big_t, index = check_prediction_inputs(frequency, recency, T)
        t_arr, _ = check_horizon(t)
        t_arr, x, t_x, big_t = broadcast(t_arr, x, t_x, big_t)
        out = self._conditional(t_arr, x, big_t, self._alive(x, t_x, big_t))
        return as_output(out, index, "expected_purchases", (t, frequency, recency, T))

    def _expected_purchases_curve(self, t_grid, x, t_x, big_t):
        """E[Y(t) | x, t_x, T] for every t in ``t_grid`` (customers x times), unchecked."""
        alive = self._alive(x, t_x, big_t)[:, None]
        return self._conditional(t_grid[None, :], x[:, None], big_t[:, None], alive)

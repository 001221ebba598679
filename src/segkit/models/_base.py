"""What the BTYD purchase models (BG/NBD, Pareto/NBD) share: fitting on a snapshot table,
input checks and output shaping of the predictions.

A model supplies its equations as ``_alive(x, t_x, T)`` (P(alive)) and
``_conditional(t, x, T, alive)`` (expected purchases in (T, T+t]) on checked, broadcast
arrays; the public methods here turn pandas Series or arrays into those arrays and back.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from segkit.models._optim import as_array, as_output, broadcast, check_prediction_inputs, require_columns

__all__ = ["PurchaseModel", "check_horizon"]


def check_horizon(t: Any) -> tuple[np.ndarray, pd.Index | None]:
    """A period length ``t`` as an array (with its index, if a Series), non-negative and finite."""
    t_arr, index = as_array("t", t)
    if np.any(t_arr < 0) or not np.all(np.isfinite(t_arr)):
        raise ValueError(f"t must be non-negative and finite, got {t}")
    return t_arr, index


class PurchaseModel(BaseEstimator):
    """Base of :class:`~segkit.models.BetaGeo` and :class:`~segkit.models.ParetoNBD`."""

    def fit_snapshot(self, snapshot: pd.DataFrame, sample_weight: Any = None):
        """Fit on a table with ``frequency``, ``recency`` and ``T`` columns.

        The table's time unit (``attrs["btyd_unit"]``, set by
        :func:`segkit.summary.btyd_summary` and :func:`segkit.snapshot`) is kept as ``unit_``
        so that CLV horizons can be checked against it.

        Examples
        --------
        >>> import pandas as pd
        >>> from segkit.models import BetaGeo
        >>> from segkit.summary import btyd_summary
        >>> orders = pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3] * 50,
        ...     "order_date": pd.to_datetime(["2024-01-01", "2024-03-04", "2024-01-15",
        ...                                   "2024-01-08", "2024-02-05", "2024-05-27"] * 50)})
        >>> orders["customer_id"] += pd.Series(range(300)).floordiv(6).mul(10)
        >>> snap = btyd_summary(orders, "2024-06-30", unit="W", amount_col=None)
        >>> BetaGeo().fit_snapshot(snap).unit_
        'W'
        """
        require_columns(snapshot, ["frequency", "recency", "T"])
        self.fit(snapshot["frequency"], snapshot["recency"], snapshot["T"], sample_weight)
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

"""Churn model features from a point-in-time snapshot: :func:`churn_features` (no personal
data, no today-only attributes, dates as ages, the handbook signals as yes/no columns) and the
BG/NBD outputs :func:`btyd_features` (fitted by :func:`fit_btyd` on the histories up to the date).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from segkit.insights.churn.config import SIGNALS, load_churn_config
from segkit.insights.churn.signals import _require, risk_signals
from segkit.periods import horizon_periods

__all__ = ["BTYD_FEATURES", "fit_btyd", "btyd_features", "churn_features"]

#: Columns :func:`btyd_features` adds to the churn features (feature group ``btyd_features``).
BTYD_FEATURES = ("btyd_p_alive", "btyd_expected_purchases", "btyd_p_no_purchase")


def fit_btyd(snap: pd.DataFrame, config: Any = None):
    """The BG/NBD model behind :func:`btyd_features`: fitted on the purchase histories of
    ``snap`` (customers with a first order; distinct (frequency, recency, T) rows weighted by
    their customers), seeded with ``training.btyd_features.random_state``.

    Raises
    ------
    ValueError, segkit.models.ConvergenceError
        When the data cannot give a BG/NBD fit (no repeat buyers, a flat likelihood, ...).
    """
    from segkit.models import BetaGeo, compress_snapshot

    cfg = load_churn_config(config)
    _require(snap, ["frequency", "recency", "T"], "the BTYD features")
    bought = snap[["frequency", "recency", "T"]].astype("float64").dropna()
    if bought.empty:
        raise ValueError("no customer has a first order by this date")
    rows = compress_snapshot(bought)
    return BetaGeo(random_state=cfg.training.btyd_features.random_state).fit(
        rows["frequency"], rows["recency"], rows["T"], sample_weight=rows["n_customers"])


def btyd_features(snap: pd.DataFrame, horizon: str = "1Q", config: Any = None) -> pd.DataFrame:
    """BG/NBD outputs at the snapshot's date, one row per customer of ``snap``.

    A BG/NBD model is fitted on the purchase histories in ``snap`` (:func:`fit_btyd`); a
    snapshot reads nothing dated after its as-of date, so neither does the fit. Each
    customer then gets, with ``t`` the horizon in the snapshot's BTYD unit
    (:func:`horizon_periods`):

    * ``btyd_p_alive`` -- :meth:`~segkit.models.BetaGeo.probability_alive`;
    * ``btyd_expected_purchases`` -- :meth:`~segkit.models.BetaGeo.expected_purchases` over ``t``;
    * ``btyd_p_no_purchase`` -- :meth:`~segkit.models.BetaGeo.probability_no_purchases` over
      ``t`` (exact, not ``exp(-expected)``).

    Customers without a first order get NaN. When the fit fails, or gives a value that is not
    finite, the result has no columns and a :class:`UserWarning` names the date: the churn
    model trains without the BTYD features there instead of on silent NaN.

    Parameters
    ----------
    snap : DataFrame
        From :func:`segkit.snapshot` (``attrs["as_of"]``, ``attrs["btyd_unit"]``). Pass the
        whole snapshot: the model is fitted on the customers it holds.
    horizon : str, default "1Q"
    config : path, mapping or ChurnConfig, optional

    Returns
    -------
    DataFrame
        Indexed like ``snap``: the :data:`BTYD_FEATURES` columns (none if the fit failed);
        ``attrs["btyd_params"]`` holds the fitted parameters (None if it failed).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2, None],
    ...                      "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4, None], "T": [39.0] * 10 + [None]},
    ...                     index=pd.Index([f"C{i}" for i in range(11)], name="customer_id"))
    >>> snap.attrs.update(as_of=pd.Timestamp("2026-06-30"), btyd_unit="W")
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     features = btyd_features(snap, "1Q")
    >>> sorted(features.attrs["btyd_params"])  # 10 customers show no dropout: the NBD limit
    ['alpha', 'r']
    >>> features.loc[["C1", "C7"]].round(3)  # doctest: +NORMALIZE_WHITESPACE
                 btyd_p_alive  btyd_expected_purchases  btyd_p_no_purchase
    customer_id
    C1                    1.0                    0.445               0.661
    C7                    1.0                    1.228               0.319
    >>> int(features["btyd_p_alive"].isna().sum())      # C10: no order yet
    1
    """
    import warnings

    from segkit.models import ConvergenceError

    as_of = snap.attrs.get("as_of")
    if as_of is None:
        raise ValueError("the snapshot has no attrs['as_of']; make it with segkit.snapshot(ds, as_of)")
    when = pd.Timestamp(as_of).date()
    try:
        bg = fit_btyd(snap, config)
        history = snap[["frequency", "recency", "T"]].astype("float64")
        bought = history.notna().all(axis=1).to_numpy()
        x, t_x, big_t = (history[c].to_numpy()[bought] for c in ("frequency", "recency", "T"))
        t = horizon_periods(as_of, horizon, snap.attrs.get("btyd_unit", "W"))
        values = {
            "btyd_p_alive": bg.probability_alive(x, t_x, big_t),
            "btyd_expected_purchases": bg.expected_purchases(t, x, t_x, big_t),
            "btyd_p_no_purchase": bg.probability_no_purchases(t, x, t_x, big_t),
        }
        bad = [name for name, v in values.items() if not np.isfinite(np.asarray(v, dtype=float)).all()]
        if bad:
            raise ValueError(f"the fitted model gives values that are not finite for {', '.join(bad)} "
                             f"(parameters {', '.join(f'{k}={v:.4g}' for k, v in bg.params_.items())})")
    except (ValueError, ConvergenceError, ArithmeticError) as exc:
        warnings.warn(f"BTYD features left out at {when}: the BG/NBD fit on the purchase histories up to "
                      f"that date failed ({exc}); the churn model uses the other features there",
                      UserWarning, stacklevel=2)
        out = pd.DataFrame(index=snap.index)
        out.attrs["btyd_params"] = None
        return out
    out = pd.DataFrame(np.nan, index=snap.index, columns=list(BTYD_FEATURES))
    for name, v in values.items():
        out.loc[bought, name] = np.asarray(v, dtype=float)
    out.attrs["btyd_params"] = dict(bg.params_)
    return out


def churn_features(snap: pd.DataFrame, config: Any = None, *, horizon: str = "1Q",
                   btyd: pd.DataFrame | None = None) -> pd.DataFrame:
    """Model features from a snapshot: no personal data, no today-only attributes, dates as ages.

    Drops ``training.exclude_columns`` (personal data, owner/department, and attributes the
    customers table holds only as of today: stage, renewal intention, record date), turns
    the date columns of ``training.date_ages`` into ages in days at the snapshot date, adds
    the handbook signals as ``signal_*`` yes/no columns and, with
    ``training.btyd_features.enabled``, the BG/NBD features :data:`BTYD_FEATURES`.

    Parameters
    ----------
    snap : DataFrame
        From :func:`segkit.snapshot`.
    config : path, mapping or ChurnConfig, optional
    horizon : str, default "1Q"
        Horizon of the BTYD features (the churn horizon).
    btyd : DataFrame, optional
        :func:`btyd_features` computed on the whole snapshot, when ``snap`` is a subset of it
        (the model is then fitted on every customer, not only those of ``snap``). Default:
        computed from ``snap``.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"name": ["A"], "revenue_12m": [1.0], "stage": ["active"],
    ...                      "survey_date": pd.to_datetime(["2026-06-20"])}, index=["C1"])
    >>> snap.attrs["as_of"] = pd.Timestamp("2026-06-30")
    >>> churn_features(snap, {"training": {"add_signals": False, "btyd_features": {"enabled": False}}})
        revenue_12m  days_since_survey
    C1          1.0               10.0
    """
    cfg = load_churn_config(config)
    as_of = snap.attrs.get("as_of")
    if as_of is None:
        raise ValueError("the snapshot has no attrs['as_of']; make it with segkit.snapshot(ds, as_of)")
    out = snap.drop(columns=[c for c in cfg.training.exclude_columns if c in snap.columns])
    for column, name in cfg.training.date_ages.items():
        if column in out.columns:
            out[name] = (pd.Timestamp(as_of) - pd.to_datetime(out[column])).dt.days.astype("float64")
            out = out.drop(columns=column)
    if cfg.training.add_signals:
        signals = risk_signals(snap, cfg)
        for key in SIGNALS:
            out[f"signal_{key}"] = signals[key]
    if cfg.training.btyd_features.enabled:
        if btyd is None:
            btyd = btyd_features(snap, horizon, cfg)
        for name in btyd.columns:
            out[name] = btyd[name].reindex(out.index).to_numpy()
    return out


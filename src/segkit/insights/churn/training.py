"""Churn training: leak-free training tables and the fitted model.

* :func:`churn_training_table` -- point-in-time features at several as-of dates (quarter
  ends) with the label "churned within the horizon". Features come from
  :func:`segkit.features.snapshot`, which reads nothing dated after the as-of date; labels
  read only the outcome window ``(as_of, as_of + horizon]`` (:func:`churn_labels`). Customers
  whose outcome window has not ended by the data's as-of date are kept apart as "to score";
* :func:`fit_churn_model` -- the model for a date, trained on every earlier quarter end whose
  outcome is complete (:func:`training_dates`), on at most ``training.max_training_rows``
  rows: above the cap a sample stratified by quarter end and label, seeded with
  ``training.sample_seed`` (:func:`sample_training_rows`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segkit.features import snapshot, snapshot_ids
from segkit.insights.churn.config import ChurnConfig, load_churn_config
from segkit.insights.churn.features import btyd_features, churn_features
from segkit.insights.churn.outcomes import _among, _eligible, _window_activity, churn_labels
from segkit.io import Dataset
from segkit.periods import horizon_end, latest_outcome_start, quarter_ends

__all__ = [
    "ChurnTrainingTable", "churn_training_table", "training_dates", "history_needed",
    "sample_training_rows", "fit_churn_model",
]


def _default_as_of_dates(ds: Dataset, min_history_months: int) -> list[pd.Timestamp]:
    from segkit.engine import first_order_date

    first = first_order_date(ds)
    if pd.isna(first):
        raise ValueError("the data set has no orders; churn needs order history")
    first = first.normalize() + pd.DateOffset(months=min_history_months) - pd.Timedelta(days=1)
    return quarter_ends(first, ds.as_of)


def training_dates(ds: Dataset, as_of: Any = None, horizon: str = "1Q", config: Any = None) -> list[pd.Timestamp]:
    """Quarter ends a churn model for ``as_of`` can be trained on.

    Every quarter end with ``training.min_history_months`` of order history (counted from the
    first order) whose outcome window ``(date, date + horizon]`` has ended by ``as_of``. An
    empty list means the data are too short for a churn model at ``as_of``: with the default
    12 months of history and a one-quarter horizon, the first order must be at least 15 months
    before ``as_of``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")
    >>> [d.date().isoformat() for d in training_dates(ds, "2026-09-30")][-2:]
    ['2026-03-31', '2026-06-30']
    """
    cfg = load_churn_config(config)
    when = pd.Timestamp(ds.as_of if as_of is None else as_of).normalize()
    from segkit.engine import first_order_date

    if pd.isna(first_order_date(ds)):
        return []
    return [d for d in _default_as_of_dates(ds, cfg.training.min_history_months) if horizon_end(d, horizon) <= when]


def history_needed(as_of: Any, horizon: str = "1Q", config: Any = None) -> pd.Timestamp:
    """The latest first-order date that still gives a churn model for ``as_of`` one quarter end
    to train on (the counterpart of :func:`training_dates` for saying what data are missing).

    Examples
    --------
    >>> history_needed("2026-09-30").date()   # 12 months of history to 2026-06-30, outcome to 09-30
    datetime.date(2025, 7, 1)
    """
    cfg = load_churn_config(config)
    when = pd.Timestamp(as_of).normalize()
    return latest_outcome_start(when, horizon) - pd.DateOffset(months=cfg.training.min_history_months) + pd.Timedelta(days=1)



@dataclass
class ChurnTrainingTable:
    """Point-in-time churn features and labels at several as-of dates.

    Attributes
    ----------
    train : DataFrame
        Index ``(as_of, customer_id)``; the feature columns and ``churned`` (0/1): customers
        active in the year before ``as_of`` whose outcome window ``(as_of, outcome_end]`` has
        ended by the data's as-of date.
    to_score : DataFrame
        Same features, no label: eligible customers whose outcome window is not complete yet.
    feature_columns : list of str
    horizon, definition : str
    dates : DataFrame
        Per as-of date: ``outcome_end``, ``complete``, ``eligible``, ``churned``,
        ``churn_rate`` (NaN when not complete).
    snapshots : dict
        Each as-of date's full snapshot (``keep_snapshots=True`` only).
    btyd_params : dict
        Per as-of date, the parameters of the BG/NBD model behind the BTYD features (None
        where its fit failed; empty when ``training.btyd_features`` is off).
    """

    train: pd.DataFrame
    to_score: pd.DataFrame
    feature_columns: list[str]
    horizon: str
    definition: str
    dates: pd.DataFrame
    snapshots: dict[pd.Timestamp, pd.DataFrame] = field(default_factory=dict, repr=False)
    btyd_params: dict[pd.Timestamp, dict | None] = field(default_factory=dict, repr=False)

    @property
    def X(self) -> pd.DataFrame:
        """Training features."""
        return self.train[self.feature_columns]

    @property
    def y(self) -> pd.Series:
        """Training labels (1 = churned)."""
        return self.train["churned"]

    def __repr__(self) -> str:
        rate = self.train["churned"].mean() if len(self.train) else float("nan")
        return (
            f"ChurnTrainingTable(horizon={self.horizon!r}, definition={self.definition!r}, "
            f"train={len(self.train):,} rows at {self.train.index.get_level_values(0).nunique()} as-of dates "
            f"(churn rate {rate:.1%}), to_score={len(self.to_score):,}, features={len(self.feature_columns)})"
        )


def _progress(iterable: Sequence, progress: bool | None, desc: str):
    from tqdm import tqdm  # plain text bar: tqdm.auto needs ipywidgets in notebooks

    # None: tqdm's disable=None (a bar only when stderr is a terminal), and only once the work
    # has taken more than a second; True: always, at once; False: never.
    if progress is None:
        return tqdm(iterable, desc=desc, unit="snapshot", disable=None, delay=1.0)
    return tqdm(iterable, desc=desc, unit="snapshot", disable=not progress)


def churn_training_table(
    ds: Dataset,
    as_of_dates: Iterable[Any] | None = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    *,
    config: Any = None,
    progress: bool | None = None,
    keep_snapshots: bool = False,
    max_rows: int | None = None,
    seed: int = 0,
) -> ChurnTrainingTable:
    """Churn features at several as-of dates with "churned within the horizon" labels.

    For each as-of date: a snapshot (only records dated on or before it), the customers
    active in the year before it (``labels.active_months``), their features
    (:func:`churn_features`) and their label (:func:`churn_labels`) over ``(as_of, as_of +
    horizon]``. Nothing dated after an as-of date enters its features; labels are the only
    thing read from after it. With ``training.btyd_features`` (on by default) a BG/NBD model
    is fitted at each date on every purchase history up to it (the snapshot's) and gives
    each customer ``btyd_p_alive``, ``btyd_expected_purchases`` and ``btyd_p_no_purchase``
    over the horizon (:func:`btyd_features`); its parameters are kept in ``.btyd_params``.

    Parameters
    ----------
    ds : Dataset
    as_of_dates : iterable of dates, optional
        Default: every quarter end from 12 months after the first order
        (``training.min_history_months``) to the data's as-of date.
    horizon : str, default "1Q"
        Outcome window length: ``"1Q"``, ``"2Q"``, ``"3M"``, ``"13W"``, ``"90D"``.
    definition : str or callable, optional
        Churn definition (see :func:`churn_labels`); default ``"no_order"``.
    config : path, mapping or ChurnConfig, optional
    progress : bool or None, default None
        Progress bar over the as-of dates (on stderr). None shows it only on a terminal
        (tqdm's ``disable=None``) and only once the build has taken more than a second; True
        always; False never.
    keep_snapshots : bool, default False
        Keep each as-of date's full snapshot in ``.snapshots`` (for baselines).
    max_rows : int, optional
        Keep only the training rows :func:`sample_training_rows` would keep with this cap and
        ``seed``: the sample is drawn from the labels before any feature is computed, so only
        the kept rows are built and held (at 200 k customers, 200 k rows instead of 1.3 M).
        ``.train.attrs["rows_available"]`` says how many rows there were. Default: all rows.
    seed : int, default 0
        The sample's seed (``training.sample_seed``).

    Returns
    -------
    ChurnTrainingTable
        ``.train`` (complete outcome windows), ``.to_score`` (incomplete: the data end before
        the window does), ``.X``, ``.y``, ``.dates``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                               # doctest: +SKIP
    >>> table = churn_training_table(ds, ["2026-03-31", "2026-06-30", "2026-09-30"])  # doctest: +SKIP
    >>> table.dates[["outcome_end", "complete", "eligible"]]                  # doctest: +SKIP
    """
    cfg = load_churn_config(config)
    dates = (
        _default_as_of_dates(ds, cfg.training.min_history_months)
        if as_of_dates is None
        else sorted({pd.Timestamp(d).normalize() for d in ([as_of_dates] if isinstance(as_of_dates, (str, pd.Timestamp)) else as_of_dates)})
    )
    if not dates:
        raise ValueError("no as-of dates to build a training table for")
    late = [d for d in dates if d > ds.as_of]
    if late:
        raise ValueError(
            f"as-of date(s) {', '.join(str(d.date()) for d in late)} are after the data's as-of date {ds.as_of.date()}"
        )
    name = getattr(definition, "__name__", "custom") if callable(definition) else (definition or cfg.labels.default)
    activity = _window_activity(ds, dates, horizon, definition, cfg) if ds._as_stored() and not callable(definition) else None
    labels_at: dict[pd.Timestamp, pd.Series] = {}
    eligible_sets: dict[pd.Timestamp, pd.Index] = {}  # the sample and the features read each twice

    def eligible_at(as_of: pd.Timestamp) -> pd.Index:
        if as_of not in eligible_sets:
            eligible_sets[as_of] = (_eligible(ds, as_of, cfg.labels.active_months) if activity is None
                                    else activity.eligible(as_of))
        return eligible_sets[as_of]

    def labels_of(as_of: pd.Timestamp) -> pd.Series:
        if as_of not in labels_at:
            labels_at[as_of] = churn_labels(ds, as_of, horizon, definition, cfg) if activity is None else activity.labels(as_of)
        return labels_at[as_of]

    chosen, available = (None, None) if max_rows is None else _sampled_rows(ds, dates, horizon, eligible_at, labels_of, max_rows, seed)
    train_parts, score_parts, rows = [], [], []
    kept: dict[pd.Timestamp, pd.DataFrame] = {}
    btyd_params: dict[pd.Timestamp, dict | None] = {}
    template: pd.DataFrame | None = None
    for as_of in _progress(dates, progress, "churn training table"):
        snap = snapshot(ds, as_of)
        if keep_snapshots:
            kept[as_of] = snap
        keep = _among(snap.index, eligible_at(as_of))
        n_eligible = int(keep.sum())
        end = horizon_end(as_of, horizon)
        complete = end <= ds.as_of
        churned = labels_of(as_of).reindex(snap.index[keep]).to_numpy().astype("int64") if complete else None
        if complete and chosen is not None:
            keep &= _among(snap.index, chosen.get(as_of, pd.Index([])))
        # features are computed row by row, so those of the kept rows alone are the same; the
        # BTYD model is fitted on every purchase history up to the date, whoever is kept
        btyd = btyd_features(snap, horizon, cfg) if cfg.training.btyd_features.enabled else None
        if btyd is not None:
            btyd_params[as_of] = btyd.attrs["btyd_params"]
        features = churn_features(snap.loc[keep] if not keep.all() else snap, cfg, horizon=horizon, btyd=btyd)
        features.index = pd.MultiIndex.from_arrays(
            [pd.DatetimeIndex([as_of] * len(features)), features.index], names=["as_of", "customer_id"]
        )
        row = {"as_of": as_of, "outcome_end": end, "complete": complete, "eligible": n_eligible}
        if complete:
            features["churned"] = labels_of(as_of).reindex(features.index.get_level_values("customer_id")).to_numpy().astype("int64")
            train_parts.append(features)
            row.update(churned=int(churned.sum()), churn_rate=float(churned.mean()) if len(churned) else np.nan)
        else:
            score_parts.append(features)
            row.update(churned=pd.NA, churn_rate=np.nan)
        rows.append(row)
        if template is None:
            template = features.iloc[:0].drop(columns="churned", errors="ignore")
        else:  # a date whose BTYD fit failed lacks those columns: the table has them all
            template = template.reindex(columns=[*template.columns, *(c for c in features.columns
                                                                      if c not in template.columns and c != "churned")])
    feature_columns = list(template.columns)
    train = (pd.concat(train_parts)[[*feature_columns, "churned"]] if train_parts
             else template.assign(churned=pd.Series(dtype="int64")))
    if available is not None:
        train.attrs["rows_available"] = available
    to_score = pd.concat(score_parts)[feature_columns] if score_parts else template
    summary = pd.DataFrame(rows).set_index("as_of")
    summary["churned"] = summary["churned"].astype("Int64")
    return ChurnTrainingTable(train, to_score, feature_columns, str(horizon), str(name), summary, kept, btyd_params)


def _sampled_rows(ds: Dataset, dates, horizon: str, eligible_at, labels_of, max_rows: int,
                  seed: int) -> tuple[dict[pd.Timestamp, pd.Index] | None, int]:
    """The customers per as-of date that :func:`sample_training_rows` keeps of the complete
    rows, found from eligibility and labels alone (the rows in the order the table has
    them), and how many complete rows there are. None: all rows are kept."""
    ids = snapshot_ids(ds)
    parts = []
    for as_of in dates:
        if horizon_end(as_of, horizon) > ds.as_of:
            continue
        mine = ids[_among(ids, eligible_at(as_of))]
        churned = labels_of(as_of).reindex(mine).to_numpy().astype("int64")
        index = pd.MultiIndex.from_arrays([pd.DatetimeIndex([as_of] * len(mine)), mine], names=["as_of", "customer_id"])
        parts.append(pd.DataFrame({"churned": churned}, index=index))
    keys = pd.concat(parts) if parts else pd.DataFrame({"churned": pd.Series(dtype="int64")})
    if len(keys) <= max_rows:
        return None, len(keys)
    used = sample_training_rows(keys, max_rows, seed).index
    when = used.get_level_values("as_of")
    return {d: used.get_level_values("customer_id")[when == d] for d in when.unique()}, len(keys)


# --------------------------------------------------------------------------------------------
# fitting: a capped, seeded, stratified sample of the training rows


def sample_training_rows(
    train: pd.DataFrame, max_rows: int | None, seed: int = 0, *, label: str = "churned", by: str | None = "as_of"
) -> pd.DataFrame:
    """At most ``max_rows`` rows of a training table, stratified by label and as-of date.

    A table of ``max_rows`` rows or fewer (or ``max_rows=None``) is returned as it is. A
    larger one is cut to exactly ``max_rows`` rows: each stratum (as-of date x label) keeps
    its share of the table, rounded by largest remainder, so its row count is within one row
    of ``len(stratum) * max_rows / len(train)`` and the churn rate of every quarter end is
    kept. The rows of a stratum are drawn without replacement by
    ``numpy.random.default_rng(seed)``: the same table and seed give the same rows. Rows keep
    their order in ``train``.

    Parameters
    ----------
    train : DataFrame
        Training rows with the ``label`` column (0/1), e.g. ``ChurnTrainingTable.train``.
    max_rows : int or None
        The cap (``churn.training.max_training_rows``).
    seed : int, default 0
        ``churn.training.sample_seed``.
    label : str, default "churned"
    by : str or None, default "as_of"
        Index level (or column) that forms strata with the label; None, or a name ``train``
        does not have: the label only.

    Returns
    -------
    DataFrame
        ``attrs["rows_available"]`` and ``attrs["rows_used"]`` say how many rows there were
        and how many are kept.

    Examples
    --------
    >>> import pandas as pd
    >>> index = pd.MultiIndex.from_arrays([["2026-03-31"] * 8 + ["2026-06-30"] * 4, list("ABCDEFGHIJKL")],
    ...                                   names=["as_of", "customer_id"])
    >>> train = pd.DataFrame({"x": range(12), "churned": [1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0]}, index=index)
    >>> part = sample_training_rows(train, 6, seed=1)
    >>> part.groupby(["as_of", "churned"]).size().tolist()   # strata of 6, 2, 2, 2 rows, halved
    [3, 1, 1, 1]
    >>> part.attrs["rows_available"], part.attrs["rows_used"]
    (12, 6)
    >>> sample_training_rows(train, 6, seed=1).index.equals(part.index)   # seeded: the same rows
    True
    """
    n = len(train)
    if max_rows is None or n <= max_rows:
        out = train.copy(deep=False)
        # a table sampled while it was built (churn_training_table's max_rows) keeps its count
        out.attrs.update(rows_available=int(train.attrs.get("rows_available", n)), rows_used=n)
        return out
    if int(max_rows) < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    keys = [train[label].to_numpy()]
    if by is not None and by in train.index.names:
        keys.insert(0, np.asarray(train.index.get_level_values(by)))
    elif by is not None and by in train.columns:
        keys.insert(0, train[by].to_numpy())
    # strata numbered in sorted (as-of, label) order: each key's sorted codes, combined
    codes = np.zeros(n, dtype=np.int64)
    for key in keys:
        key_codes, uniques = pd.factorize(key, sort=True)
        codes = codes * len(uniques) + key_codes
    codes = np.unique(codes, return_inverse=True)[1].reshape(-1)
    sizes = np.bincount(codes)
    quota = sizes * (int(max_rows) / n)
    take = np.floor(quota).astype(np.int64)
    remainder = quota - take
    short = int(max_rows) - int(take.sum())
    take[np.argsort(-remainder, kind="stable")[:short]] += 1   # largest remainders get the rows left
    rng = np.random.default_rng(seed)
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    chosen = [rng.choice(order[starts[s]:starts[s + 1]], size=int(take[s]), replace=False) for s in range(len(sizes))]
    out = train.iloc[np.sort(np.concatenate(chosen))].copy(deep=False)
    out.attrs.update(rows_available=n, rows_used=len(out))
    return out


def _fit_on(train: pd.DataFrame, feature_columns: list[str], model: Any, cfg: ChurnConfig, *, horizon: str,
            definition: str) -> Any:
    """Fit ``model`` on a capped sample of ``train``; the model carries ``training_summary_``."""
    used = sample_training_rows(train, cfg.training.max_training_rows, cfg.training.sample_seed)
    fitted = _make_model(model, cfg).fit(used[feature_columns], used["churned"])
    dates = sorted(pd.DatetimeIndex(train.index.get_level_values("as_of")).unique())
    fitted.training_summary_ = {
        "as_of": [d.date().isoformat() for d in dates],
        "horizon": str(horizon),
        "definition": str(definition),
        "rows_available": int(used.attrs["rows_available"]),
        "rows_used": int(used.attrs["rows_used"]),
        "max_training_rows": cfg.training.max_training_rows,
        "sample_seed": cfg.training.sample_seed,
    }
    return fitted


def fit_churn_model(
    ds: Dataset,
    as_of: Any = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    model: Any = None,
    *,
    config: Any = None,
    progress: bool | None = None,
) -> Any:
    """The churn model for ``as_of``: trained on every quarter end whose outcome has ended by then.

    The training rows (customer x quarter end, :func:`churn_training_table` at
    :func:`training_dates`) are capped at ``churn.training.max_training_rows`` (default
    200,000) by a sample stratified by quarter end and label, seeded with
    ``training.sample_seed`` (:func:`sample_training_rows`). Scoring is not capped: the
    model scores every customer. Point in time: no label read for training ends after
    ``as_of``, so the model for last quarter end never learns from this quarter's outcomes.

    Parameters
    ----------
    ds : Dataset
    as_of : date-like, optional
        Date the model is for; default the data's as-of date.
    horizon, definition
        See :func:`churn_training_table`.
    model : estimator or {"logistic", "tree", "gbm"}, optional
        Cloned before fitting; default ``churn.yaml`` ``model``.
    config : path, mapping or ChurnConfig, optional
    progress : bool or None, default None

    Returns
    -------
    estimator
        Fitted, with ``training_summary_``: ``as_of`` (training quarter ends, ISO dates),
        ``horizon``, ``definition``, ``rows_available``, ``rows_used``,
        ``max_training_rows``, ``sample_seed``. Pass it to :func:`score_churn` and
        :func:`backtest_churn` to use it as it is.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                          # doctest: +SKIP
    >>> fitted = fit_churn_model(ds, "2026-06-30", progress=False)       # doctest: +SKIP
    >>> fitted.training_summary_["rows_used"], fitted.training_summary_["rows_available"]  # doctest: +SKIP
    (10567, 10567)
    """
    cfg = load_churn_config(config)
    when = pd.Timestamp(ds.as_of if as_of is None else as_of).normalize()
    if when > ds.as_of:
        raise ValueError(f"as_of {when.date()} is after the data's as-of date {ds.as_of.date()}")
    train_dates = training_dates(ds, when, horizon, cfg)
    if not train_dates:
        raise ValueError(f"no quarter end before {when.date()} has a complete {horizon} outcome to train on")
    table = churn_training_table(ds, train_dates, horizon, definition, config=cfg, progress=progress,
                                 max_rows=cfg.training.max_training_rows, seed=cfg.training.sample_seed)
    return _fit_on(table.train, table.feature_columns, model, cfg, horizon=table.horizon, definition=table.definition)


def _training_summary(model: Any) -> dict | None:
    summary = getattr(model, "training_summary_", None)
    return summary if isinstance(summary, dict) else None



def _make_model(model: Any, cfg: ChurnConfig):
    from sklearn.base import clone

    from segkit.models.churn import ChurnModel

    if model is None:
        return ChurnModel(**cfg.model.model_dump())
    if isinstance(model, str):
        return ChurnModel(**{**cfg.model.model_dump(), "model": model})
    return clone(model)



def _is_fitted(model: Any) -> bool:
    from sklearn.exceptions import NotFittedError
    from sklearn.utils.validation import check_is_fitted

    try:
        check_is_fitted(model)
    except NotFittedError:
        return False
    return True



"""Churn evaluation: metrics and the time-based backtest.

* :func:`churn_metrics`, :func:`lift_capture`, :func:`calibration_table` -- ROC / PR AUC,
  Brier score, lift and capture in the top share, predicted against observed churn;
* :func:`backtest_churn` -- train on earlier quarter ends, test on the latest one whose
  outcome is complete; the model side by side with the BG/NBD baseline (expected purchases
  over the horizon) and the rule-based list;
* the model card of a backtest is :func:`segkit.insights.churn.model_card` (module
  :mod:`~segkit.insights.churn.card`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segkit.insights.churn.config import ChurnConfig, load_churn_config
from segkit.insights.churn.features import BTYD_FEATURES, fit_btyd
from segkit.insights.churn.signals import risk_signals
from segkit.insights.churn.training import (
    ChurnTrainingTable,
    _fit_on,
    _is_fitted,
    _training_summary,
    churn_training_table,
    training_dates,
)
from segkit.io import Dataset
from segkit.labels import check_lang
from segkit.periods import horizon_end, horizon_periods, latest_outcome_start

__all__ = [
    "lift_capture", "churn_metrics", "calibration_table", "ChurnBacktest", "backtest_churn", "method_labels",
]


def lift_capture(y: Any, score: Any, share: float = 0.10) -> tuple[float, float]:
    """Lift and capture rate in the top ``share`` of customers by ``score``.

    Ties are shared: when the cut falls inside a group of equal scores, the group counts with
    the fraction of it that fits (the expected result of breaking ties at random), so a yes/no
    list is measured fairly.

    Returns
    -------
    (lift, capture)
        ``lift`` = churn rate in the top share / overall churn rate; ``capture`` = share of
        all churners found in the top share.

    Examples
    --------
    >>> lift_capture([1, 0, 1, 0, 0, 0, 0, 0, 0, 0], [9, 8, 7, 6, 5, 4, 3, 2, 1, 0], 0.2)
    (2.5, 0.5)
    >>> lift_capture([1, 0, 0, 0], [1, 1, 0, 0], 0.25)  # half of the tied top pair
    (2.0, 0.5)
    """
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if y.size == 0 or y.sum() == 0:
        return float("nan"), float("nan")
    k = share * y.size
    frame = pd.DataFrame({"y": y, "score": score}).groupby("score", sort=True)["y"].agg(["sum", "count"]).iloc[::-1]
    taken = np.clip(k - (frame["count"].cumsum() - frame["count"]), 0, frame["count"])
    found = float((frame["sum"] * taken / frame["count"]).sum())
    capture = found / y.sum()
    lift = (found / k) / y.mean()
    return float(lift), float(capture)


def churn_metrics(y: Any, score: Any, probability: Any = None, top_share: float = 0.10) -> dict[str, float]:
    """ROC AUC, PR AUC (average precision), Brier score, lift and capture in the top share.

    ``score`` ranks customers (higher = more likely to churn); ``probability`` (default
    ``score``) is what the Brier score judges.

    Examples
    --------
    >>> m = churn_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8], top_share=0.25)
    >>> m["roc_auc"], round(m["brier"], 6), m["lift_top"], m["capture_top"]
    (0.75, 0.158125, 2.0, 0.5)
    """
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

    y = np.asarray(y, dtype=int)
    score = np.asarray(score, dtype=float)
    probability = score if probability is None else np.asarray(probability, dtype=float)
    lift, capture = lift_capture(y, score, top_share)
    two_classes = 0 < y.sum() < y.size
    return {
        "roc_auc": float(roc_auc_score(y, score)) if two_classes else float("nan"),
        "pr_auc": float(average_precision_score(y, score)) if two_classes else float("nan"),
        "brier": float(brier_score_loss(y, probability)),
        "lift_top": lift,
        "capture_top": capture,
        "customers": int(y.size),
        "churn_rate": float(y.mean()) if y.size else float("nan"),
    }


def calibration_table(y: Any, probability: Any, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed churn in bins of equal size (deciles by default).

    Returns
    -------
    DataFrame
        One row per bin (``bin`` 1 = lowest probabilities): ``customers``, ``predicted``
        (mean probability), ``observed`` (churn rate), ``low`` / ``high`` (probability range).

    Examples
    --------
    >>> calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2)  # doctest: +NORMALIZE_WHITESPACE
         customers  predicted  observed  low  high
    bin
    1            2       0.15       0.0  0.1   0.2
    2            2       0.80       1.0  0.7   0.9
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(probability, dtype=float)
    order = np.argsort(p, kind="stable")
    groups = np.empty(p.size, dtype=int)
    groups[order] = np.arange(p.size) * bins // max(p.size, 1) + 1
    frame = pd.DataFrame({"bin": groups, "p": p, "y": y})
    out = frame.groupby("bin").agg(customers=("p", "size"), predicted=("p", "mean"), observed=("y", "mean"),
                                   low=("p", "min"), high=("p", "max"))
    return out


@dataclass
class ChurnBacktest:
    """Result of :func:`backtest_churn`.

    Attributes
    ----------
    metrics : DataFrame
        One row per method (``model``, ``model_btyd``, ``bgnbd``, ``rules``): ``roc_auc``,
        ``pr_auc``, ``brier``, ``lift_top``, ``capture_top``, ``customers``, ``churn_rate``
        (keys and numbers; :func:`method_labels` names the methods).
    calibration : DataFrame
        Calibration tables of the two models and the BG/NBD baseline (column ``method``).
    scores : DataFrame
        Test customers: ``churned`` and each method's score / probability.
    model : ChurnModel
        The fitted model passed to :func:`backtest_churn`, else the one the configuration
        deploys (with the BTYD features if ``training.btyd_features.enabled``); its key is
        :attr:`deployed`. Fitted on the training dates (``model.training_summary_`` describes its training rows).
    models : dict
        Both fitted models, by method key (``model``, ``model_btyd``).
    train_as_of : list of Timestamp
    test_as_of, outcome_end : Timestamp
    n_train : int
        Training rows the model was fitted on: at most ``training.max_training_rows``.
    n_train_available : int
        Training rows there were (customer x training quarter end), before the cap.
    bgnbd_params : dict
    top_share : float
    """

    metrics: pd.DataFrame
    calibration: pd.DataFrame
    scores: pd.DataFrame
    model: Any
    train_as_of: list[pd.Timestamp]
    test_as_of: pd.Timestamp
    outcome_end: pd.Timestamp
    n_train: int
    bgnbd_params: dict
    top_share: float
    horizon: str
    definition: str
    n_train_available: int | None = None
    models: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def deployed(self) -> str:
        """Method key of :attr:`model`: ``"model_btyd"`` if it was fitted with the BTYD
        features, else ``"model"``."""
        names = getattr(self.model, "feature_names_in_", None)
        if names is None:
            return "model_btyd" if "model_btyd" in self.metrics.index else "model"
        return "model_btyd" if set(BTYD_FEATURES) & set(names) else "model"

    @property
    def winner(self) -> str:
        """Method key with the highest ROC AUC (the first of equals, in the table's order)."""
        return str(self.metrics["roc_auc"].idxmax())

    def __repr__(self) -> str:
        auc = self.metrics["roc_auc"].round(3).to_dict()
        available = self.n_train if self.n_train_available is None else self.n_train_available
        of = f" of {available:,}" if available != self.n_train else ""
        return (
            f"ChurnBacktest(test_as_of={self.test_as_of.date()}, outcome to {self.outcome_end.date()}, "
            f"trained on {len(self.train_as_of)} as-of dates / {self.n_train:,}{of} rows, ROC AUC {auc})"
        )


#: What people call each method of the backtest (``metrics`` index); words, used at the edge.
_METHOD_LABELS = {
    "model": {"zh": "流失模型", "en": "Churn model"},
    "model_btyd": {"zh": "流失模型 + BTYD 特征", "en": "Churn model + BTYD features"},
    "bgnbd": {"zh": "BG/NBD 不购买概率（基准）", "en": "BG/NBD chance of no purchase (baseline)"},
    "rules": {"zh": "规则高风险名单（基准）", "en": "Rule-based high-risk list (baseline)"},
}


def method_labels(methods: Iterable[str], lang: str = "zh") -> pd.Series:
    """The backtest's method keys (``ChurnBacktest.metrics`` index) as people read them.

    The edge where the backtest's keys become words: the backtest itself holds keys and
    numbers only, shared by every language.

    Examples
    --------
    >>> method_labels(["model", "bgnbd"], "en").tolist()
    ['Churn model', 'BG/NBD chance of no purchase (baseline)']
    >>> method_labels(pd.Index(["rules"], name="method"))["rules"]
    '规则高风险名单（基准）'
    """
    check_lang(lang)
    keys = list(methods)
    unknown = [k for k in keys if k not in _METHOD_LABELS]
    if unknown:
        raise ValueError(f"unknown backtest method(s) {unknown}; known: {list(_METHOD_LABELS)}")
    return pd.Series([_METHOD_LABELS[k][lang] for k in keys], index=pd.Index(keys, name="method"), dtype="str",
                     name="method_label")


def backtest_churn(
    ds: Dataset,
    *,
    test_as_of: Any = None,
    train_as_of: Iterable[Any] | None = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    model: Any = None,
    config: Any = None,
    progress: bool | None = None,
) -> ChurnBacktest:
    """Time-based backtest: train on earlier quarter ends, test on a later one.

    The test date defaults to the latest quarter end whose outcome window has ended (data to
    2026-09-30 and a one-quarter horizon: 2026-06-30, outcome 2026-07-01 .. 2026-09-30). The
    training dates default to every quarter end with a year of history whose outcome window
    ends on or before the test date, so no training label looks past the test date.

    Four methods are scored on the same test customers (active in the year before the test
    date):

    * ``model`` -- the churn model (default ``ChurnModel()`` from ``churn.yaml`` ``model``)
      on the features without the BTYD ones;
    * ``model_btyd`` -- the same model on the same rows with the BTYD features too
      (:func:`btyd_features`: P(alive), expected purchases and P(no purchase) from a BG/NBD
      fitted at each quarter end on the histories up to it), whatever
      ``training.btyd_features.enabled`` says; the setting picks which of the two is
      :attr:`ChurnBacktest.model`;
    * ``bgnbd`` -- the BTYD baseline: a BG/NBD model fitted on every customer's purchase
      history up to the test date (the model of the BTYD features at that date); customers
      are ranked by the model's own chance of no purchase over the horizon,
      :meth:`~segkit.models.BetaGeo.probability_no_purchases`
      (``1 - P(alive) + P(alive) ((alpha+T)/(alpha+T+t))^(r+x)``), which is also its
      probability for the Brier score and calibration; the expected purchases are kept in
      ``scores`` for reference;
    * ``rules`` -- the handbook's high-risk list as a yes/no score; its probability is the
      churn rate of listed and unlisted customers in the training data.

    Parameters
    ----------
    ds : Dataset
    test_as_of : date-like, optional
    train_as_of : iterable of dates, optional
    horizon : str, default "1Q"
    definition : str or callable, optional
        Churn definition (see :func:`churn_labels`).
    model : ChurnModel, estimator or {"logistic", "tree", "gbm"}, optional
        Cloned and fitted on the training rows, capped at ``training.max_training_rows`` by a
        seeded sample stratified by quarter end and label (:func:`sample_training_rows`). A
        model from :func:`fit_churn_model` (it has ``training_summary_``) is used as it is,
        if no training label of it ends after the test date and its horizon and definition
        are the backtest's; this is how a report shares one fit between the backtest and
        last quarter's scores. The other variant (with or without the BTYD features) is
        fitted with the same settings on the same rows.
    config : path, mapping or ChurnConfig, optional
    progress : bool or None, default None

    Returns
    -------
    ChurnBacktest
        Keys and numbers only; :func:`method_labels` names the methods in a language.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                 # doctest: +SKIP
    >>> bt = backtest_churn(ds)                                  # doctest: +SKIP
    >>> bt.metrics[["roc_auc", "pr_auc", "brier", "lift_top"]]   # doctest: +SKIP
    """
    cfg = load_churn_config(config)
    test = latest_outcome_start(ds.as_of, horizon) if test_as_of is None else pd.Timestamp(test_as_of).normalize()
    end = horizon_end(test, horizon)
    if end > ds.as_of:
        raise ValueError(
            f"the outcome window of test date {test.date()} ends {end.date()}, after the data end "
            f"({ds.as_of.date()}); choose a test date on or before {latest_outcome_start(ds.as_of, horizon).date()}"
        )
    if train_as_of is None:
        train_dates = training_dates(ds, test, horizon, cfg)
    else:
        train_dates = sorted({pd.Timestamp(d).normalize() for d in train_as_of})
        leaking = [d for d in train_dates if horizon_end(d, horizon) > test]
        if leaking:
            raise ValueError(
                f"training date(s) {', '.join(str(d.date()) for d in leaking)} have outcome windows "
                f"ending after the test date {test.date()}; their labels would look into the test period"
            )
    if not train_dates:
        raise ValueError(f"no training dates before the test date {test.date()}")
    # the backtest compares the model with and without the BTYD features: the table has them
    with_btyd = cfg.model_copy(update={"training": cfg.training.model_copy(update={
        "btyd_features": cfg.training.btyd_features.model_copy(update={"enabled": True})})})
    table = churn_training_table(ds, [*train_dates, test], horizon, definition, config=with_btyd, progress=progress,
                                 keep_snapshots=True)
    dates = table.train.index.get_level_values("as_of")
    train, held_out = table.train.loc[dates != test], table.train.loc[dates == test]
    if train["churned"].nunique() < 2 or held_out["churned"].nunique() < 2:
        raise ValueError("training and test data must both contain churned and retained customers")
    columns = {"model": [c for c in table.feature_columns if c not in BTYD_FEATURES]}
    if any(c in BTYD_FEATURES for c in table.feature_columns):  # absent only if every date's fit failed
        columns["model_btyd"] = list(table.feature_columns)
    deployed = "model_btyd" if cfg.training.btyd_features.enabled and "model_btyd" in columns else "model"

    prefit = model is not None and not isinstance(model, str) and _is_fitted(model)
    summary = _training_summary(model) if prefit else None
    models: dict[str, Any] = {}
    if summary is not None:
        late = [d for d in summary["as_of"] if horizon_end(d, horizon) > test]
        if late or summary["horizon"] != table.horizon or summary["definition"] != table.definition:
            raise ValueError(
                f"the fitted model was trained on quarter ends {', '.join(summary['as_of'])} with horizon "
                f"{summary['horizon']!r} and definition {summary['definition']!r}; a backtest at {test.date()} "
                f"with horizon {table.horizon!r} and definition {table.definition!r} needs one whose training "
                "labels all end by the test date, with the same horizon and definition"
            )
        names = getattr(model, "feature_names_in_", None)
        kind = deployed if names is None else ("model_btyd" if set(BTYD_FEATURES) & set(names) else "model")
        models[kind] = model
        deployed = kind  # the model given is the one reported as `model`, whatever the setting
        train_dates = [pd.Timestamp(d) for d in summary["as_of"]]
    for kind, used in columns.items():  # the variant(s) not given, from the same rows and settings
        if kind not in models:
            models[kind] = _fit_on(train, used, model, cfg, horizon=table.horizon, definition=table.definition)
    summary = models[deployed].training_summary_ if summary is None else summary
    probability = {kind: fitted.predict_proba(held_out[columns[kind]])[:, 1] for kind, fitted in models.items()}
    y = held_out["churned"].to_numpy()
    ids = held_out.index.get_level_values("customer_id")

    # BTYD baseline: the BG/NBD of the BTYD features, on every purchase history up to the test date
    snap = table.snapshots[test]
    bg = fit_btyd(snap, cfg)
    t = horizon_periods(test, horizon, snap.attrs.get("btyd_unit", "W"))
    at_test = snap.loc[ids]
    history = (at_test["frequency"].to_numpy(), at_test["recency"].to_numpy(), at_test["T"].to_numpy())
    expected = np.asarray(bg.expected_purchases(t, *history), dtype=float)
    p_none = np.asarray(bg.probability_no_purchases(t, *history), dtype=float)

    # rule-based list: yes/no, with the training churn rates of listed / unlisted customers
    listed_train = _high_risk_rows(table, train.index, cfg)
    listed = _high_risk_rows(table, held_out.index, cfg)
    rate_listed = train["churned"].to_numpy()[listed_train].mean() if listed_train.any() else train["churned"].mean()
    rate_unlisted = train["churned"].to_numpy()[~listed_train].mean()
    rule_probability = np.where(listed, rate_listed, rate_unlisted)

    methods = [kind for kind in ("model", "model_btyd") if kind in models]
    scores = pd.DataFrame({
        "churned": y,
        **{kind: probability[kind] for kind in methods},
        "bgnbd_expected_purchases": expected,
        "bgnbd": p_none,
        "rules": listed.astype(int),
        "rules_probability": rule_probability,
    }, index=pd.Index(ids, name="customer_id"))
    share = cfg.backtest.top_share
    metrics = pd.DataFrame({
        **{kind: churn_metrics(y, probability[kind], top_share=share) for kind in methods},
        "bgnbd": churn_metrics(y, p_none, p_none, top_share=share),
        "rules": churn_metrics(y, listed.astype(float), rule_probability, top_share=share),
    }).T
    metrics["customers"] = metrics["customers"].astype("int64")
    metrics.index.name = "method"
    bins = cfg.backtest.calibration_bins
    calibration = pd.concat([
        *(calibration_table(y, probability[kind], bins).assign(method=kind) for kind in methods),
        calibration_table(y, p_none, bins).assign(method="bgnbd"),
    ]).reset_index().set_index(["method", "bin"])
    return ChurnBacktest(
        metrics=metrics, calibration=calibration, scores=scores, model=models[deployed], train_as_of=train_dates,
        test_as_of=test, outcome_end=end, n_train=summary["rows_used"], bgnbd_params=dict(bg.params_), top_share=share,
        horizon=table.horizon, definition=table.definition, n_train_available=summary["rows_available"], models=models,
    )


def _high_risk_rows(table: ChurnTrainingTable, index: pd.MultiIndex, cfg: ChurnConfig) -> np.ndarray:
    """The handbook's high-risk rule for rows ``(as_of, customer_id)``, from the kept snapshots."""
    out = np.zeros(len(index), dtype=bool)
    for as_of in index.get_level_values(0).unique():
        rows = index.get_level_values(0) == as_of
        flags = risk_signals(table.snapshots[as_of], cfg)["high_risk"]
        out[rows] = flags.reindex(index[rows].get_level_values(1)).to_numpy()
    return out



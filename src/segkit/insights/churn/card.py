"""The churn model card (issue 13): what a reader needs to trust the churn list.

:func:`model_card` sets beside a backtest (:func:`~segkit.insights.churn.backtest_churn`) and
the scored list (:func:`~segkit.insights.churn.score_churn`): the base rate, test and training
sizes, ROC AUC with a seeded bootstrap interval, precision and recall at the threshold and how
it was chosen (``churn.threshold``: :func:`flag_threshold`), customers flagged against
churners expected, the quarters tested and forecast and, when most customers churn, how many a
capacity would flag (``threshold.suggest_capacity``). Numbers and keys only; words are added at
the edge from labels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segkit.insights.churn.config import load_churn_config
from segkit.insights.churn.evaluation import ChurnBacktest, churn_metrics
from segkit.periods import outcome_quarters

__all__ = ["precision_recall_at", "flag_threshold", "ChurnModelCard", "model_card"]


def precision_recall_at(y: Any, probability: Any, threshold: float) -> tuple[float, float]:
    """Precision and recall of flagging the customers whose probability is at least ``threshold``.

    Returns
    -------
    (precision, recall)
        ``precision`` = churners among the flagged / flagged (NaN when no one is flagged);
        ``recall`` = churners flagged / all churners (NaN when no one churned).

    Examples
    --------
    >>> precision_recall_at([1, 0, 1, 0, 1], [0.9, 0.8, 0.6, 0.3, 0.2], 0.5)  # 3 flagged, 2 of them churn
    (0.6666666666666666, 0.6666666666666666)
    """
    y = np.asarray(y, dtype=int)
    flagged = np.asarray(probability, dtype=float) >= threshold
    hits = int((flagged & (y == 1)).sum())
    precision = hits / int(flagged.sum()) if flagged.any() else float("nan")
    recall = hits / int(y.sum()) if y.sum() else float("nan")
    return float(precision), float(recall)


def flag_threshold(probability: Any, config: Any = None) -> tuple[float, str]:
    """The churn probability from which customers are flagged, by the rule ``churn.threshold``.

    * ``probability`` -- ``risk_levels.high``;
    * ``capacity`` -- flag at most ``capacity.customers`` (or ``capacity.share`` of those in
      ``probability``): the probability of the last customer that fits; customers tied with
      the first one that does not fit are left out with it, so the capacity is never exceeded;
    * ``cost`` -- ``false_alarm / (false_alarm + missed_churner)``.

    Parameters
    ----------
    probability : array-like
        The probabilities of the customers to flag from (the capacity rule needs them).
    config : path, mapping or ChurnConfig, optional

    Returns
    -------
    (threshold, rule)
        ``threshold`` is ``inf`` when the capacity is 0 customers (a share of a few).

    Examples
    --------
    >>> p = [0.9, 0.7, 0.7, 0.4, 0.1]
    >>> flag_threshold(p)
    (0.5, 'probability')
    >>> flag_threshold(p, {"churn": {"threshold": {"rule": "capacity", "capacity": {"customers": 2}}}})
    (0.9, 'capacity')
    >>> flag_threshold(p, {"churn": {"threshold": {"rule": "cost", "cost": {"false_alarm": 1, "missed_churner": 3}}}})
    (0.25, 'cost')
    """
    cfg = load_churn_config(config)
    rule = cfg.threshold
    if rule.rule == "probability":
        return float(cfg.risk_levels.high), "probability"
    if rule.rule == "cost":
        return float(rule.cost.false_alarm / (rule.cost.false_alarm + rule.cost.missed_churner)), "cost"
    return _capacity_threshold(probability, rule.capacity), "capacity"


def _capacity_threshold(probability: Any, capacity: Any) -> float:
    """The probability of the last customer that fits ``capacity`` (``customers`` or ``share``);
    ties across the limit are left out, ``inf`` when no one fits."""
    p = np.sort(np.asarray(probability, dtype=float))[::-1]
    room = capacity.customers if capacity.customers is not None else int(np.floor(capacity.share * p.size))
    if room >= p.size:
        return float(p[-1]) if p.size else float("inf")
    if room == 0:
        return float("inf")
    threshold = p[room - 1]
    if p[room] == threshold:  # a tie across the limit: flag only those above it
        above = p[p > threshold]
        threshold = above.min() if above.size else float("inf")
    return float(threshold)


def _bootstrap_auc(y: np.ndarray, score: np.ndarray, n_boot: int, level: float, seed: int) -> tuple[float, float]:
    """Percentile interval of the ROC AUC over ``n_boot`` resamples of the customers (with
    replacement, seeded); resamples with one class only are skipped."""
    from scipy.stats import rankdata

    rng = np.random.default_rng(seed)
    n = y.size
    aucs = []
    chunk = max(1, 2_000_000 // max(n, 1))  # rows of resamples ranked at once
    for start in range(0, n_boot, chunk):
        rows = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        yy = y[rows]
        positives = yy.sum(axis=1)
        ok = (positives > 0) & (positives < n)
        ranks = rankdata(score[rows[ok]], axis=1)  # ties share their mean rank (Mann-Whitney)
        pos = positives[ok].astype(float)
        rank_sum = (ranks * yy[ok]).sum(axis=1)
        aucs.append((rank_sum - pos * (pos + 1) / 2) / (pos * (n - pos)))
    values = np.concatenate(aucs) if aucs else np.array([])
    if values.size == 0:
        return float("nan"), float("nan")
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(values, [tail, 1.0 - tail])
    return float(low), float(high)


@dataclass(frozen=True)
class ChurnModelCard:
    """The churn model in numbers (:func:`model_card`): what a reader needs to trust the list.

    Attributes
    ----------
    method : str
        Backtest method key the card describes (``model`` or ``model_btyd``).
    horizon : str
    tested_quarter : str
        Quarter(s) of the backtest's outcome window, e.g. ``"2026Q3"``: where the numbers
        below were measured.
    forecast_quarter : str
        Quarter(s) the scored list forecasts, e.g. ``"2026Q4"``.
    base_rate : float
        Share of the test customers who churned in ``tested_quarter``.
    n_test, n_train, n_train_available : int
        Test customers; training rows the model was fitted on, and there were before the cap.
    roc_auc, roc_auc_low, roc_auc_high : float
        ROC AUC on the test customers and its bootstrap percentile interval.
    interval_level : float
        Coverage of that interval (``backtest.bootstrap.level``, 0.9).
    n_boot : int
    pr_auc : float
        Average precision on the test customers (compare it with ``base_rate``).
    threshold : float
        Flagged from this churn probability on.
    how_chosen : str
        ``"probability"`` (``risk_levels.high``), ``"capacity"`` or ``"cost"`` (``churn.threshold``).
    precision, recall : float
        Of the flag at ``threshold`` on the test customers.
    n_scored, flagged : int
        Customers scored for ``forecast_quarter``, and those flagged.
    expected_churners : float
        Churners the model expects among them: the sum of their probabilities.
    capacity_suggestion : dict or None
        When the threshold was not chosen by capacity and ``base_rate`` is above
        ``threshold.suggest_capacity.base_rate_above``: what the capacity rule would do,
        ``customers`` (flagged of ``n_scored``), ``threshold``, and ``precision`` /
        ``recall`` at that threshold on the test customers. None otherwise.
    """

    method: str
    horizon: str
    tested_quarter: str
    forecast_quarter: str
    base_rate: float
    n_test: int
    n_train: int
    n_train_available: int
    roc_auc: float
    roc_auc_low: float
    roc_auc_high: float
    interval_level: float
    n_boot: int
    pr_auc: float
    threshold: float
    how_chosen: str
    precision: float
    recall: float
    n_scored: int
    flagged: int
    expected_churners: float
    capacity_suggestion: dict[str, float] | None = None

    def to_frame(self) -> pd.DataFrame:
        """One column, ``value``, indexed by the attribute names (keys, for labels at the edge)."""
        from dataclasses import asdict

        values = asdict(self)
        return pd.DataFrame({"value": pd.Series(list(values.values()), index=pd.Index(list(values), name="key"),
                                                dtype=object)})


def model_card(backtest: ChurnBacktest, scores: pd.DataFrame | pd.Series | None = None, *, method: str | None = None,
               config: Any = None) -> ChurnModelCard:
    """The model card of a backtested churn model and the list it scores.

    Parameters
    ----------
    backtest : ChurnBacktest
        From :func:`backtest_churn`: the test quarter's labels and probabilities.
    scores : DataFrame or Series, optional
        The scored list: :func:`score_churn`'s output (column ``churn_probability``,
        ``attrs["as_of"]``, ``attrs["horizon"]``) or a Series of probabilities with
        ``attrs["as_of"]``. Default: the backtest's test customers stand in for it, and the
        forecast quarter is the one after the backtest's outcome window.
    method : str, optional
        Method key of ``backtest.scores``; default :attr:`ChurnBacktest.deployed`.
    config : path, mapping or ChurnConfig, optional
        ``threshold`` and ``backtest.bootstrap``.

    Returns
    -------
    ChurnModelCard

    Raises
    ------
    ValueError
        When ``method`` is not a model in the backtest, or ``scores`` has no
        ``churn_probability`` or no ``attrs["as_of"]``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                  # doctest: +SKIP
    >>> card = model_card(backtest_churn(ds), score_churn(ds))   # doctest: +SKIP
    >>> card.tested_quarter, card.forecast_quarter               # doctest: +SKIP
    ('2026Q3', '2026Q4')
    """
    cfg = load_churn_config(config)
    method = backtest.deployed if method is None else method
    fitted = [m for m in ("model", "model_btyd") if m in backtest.scores.columns]
    if method not in fitted:
        raise ValueError(f"method {method!r} is not a churn model of the backtest; it has {fitted}")
    y = backtest.scores["churned"].to_numpy().astype(int)
    p_test = backtest.scores[method].to_numpy().astype(float)
    if scores is None:
        listed, as_of, horizon = p_test, backtest.outcome_end, backtest.horizon
    else:
        if isinstance(scores, pd.DataFrame):
            if "churn_probability" not in scores.columns:
                raise ValueError("scores needs the column churn_probability (the output of score_churn)")
            listed = scores["churn_probability"].to_numpy(dtype=float)
        else:
            listed = scores.to_numpy(dtype=float)
        as_of = scores.attrs.get("as_of")
        if as_of is None:
            raise ValueError("scores has no attrs['as_of'] (the scoring date); make it with score_churn")
        horizon = scores.attrs.get("horizon", backtest.horizon)
    threshold, rule = flag_threshold(listed, cfg)
    precision, recall = precision_recall_at(y, p_test, threshold)
    metrics = churn_metrics(y, p_test)
    boot = cfg.backtest.bootstrap
    low, high = _bootstrap_auc(y, p_test, boot.n_boot, boot.level, boot.seed)
    n_train = int(backtest.n_train)
    suggestion = None
    suggest = cfg.threshold.suggest_capacity
    if suggest is not None and rule != "capacity" and float(y.mean()) > suggest.base_rate_above:
        line = _capacity_threshold(listed, cfg.threshold.capacity or suggest.capacity)
        at_line = precision_recall_at(y, p_test, line)
        suggestion = {"customers": int((listed >= line).sum()), "threshold": line,
                      "precision": at_line[0], "recall": at_line[1]}
    return ChurnModelCard(
        method=method,
        horizon=str(horizon),
        tested_quarter=outcome_quarters(backtest.test_as_of, backtest.horizon),
        forecast_quarter=outcome_quarters(as_of, horizon),
        base_rate=float(y.mean()),
        n_test=int(y.size),
        n_train=n_train,
        n_train_available=int(n_train if backtest.n_train_available is None else backtest.n_train_available),
        roc_auc=metrics["roc_auc"],
        roc_auc_low=low,
        roc_auc_high=high,
        interval_level=float(boot.level),
        n_boot=int(boot.n_boot),
        pr_auc=metrics["pr_auc"],
        threshold=threshold,
        how_chosen=rule,
        precision=precision,
        recall=recall,
        n_scored=int(listed.size),
        flagged=int((listed >= threshold).sum()),
        expected_churners=float(listed.sum()),
        capacity_suggestion=suggestion,
    )

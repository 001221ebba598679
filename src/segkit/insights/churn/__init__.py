"""Churn risk (流失风险预警), business-rules.md section 8: one package, each step usable on its own.

* :mod:`~segkit.insights.churn.config` -- the ``churn`` section (``segkit/defaults/churn.yaml``):
  :class:`ChurnConfig`, :func:`load_churn_config`;
* :mod:`~segkit.insights.churn.signals` -- :func:`risk_signals`, one yes/no column per handbook
  signal, :func:`high_risk_list`, the handbook's rule-based list, and :func:`signal_reasons`,
  the reasons in words;
* :mod:`~segkit.insights.churn.features` -- model features at a date: :func:`churn_features`,
  and the BG/NBD outputs :func:`btyd_features`;
* :mod:`~segkit.insights.churn.outcomes` -- :func:`churn_labels`, who churned in the outcome
  window;
* :mod:`~segkit.insights.churn.training` -- :func:`churn_training_table` (leak-free, at
  quarter ends), :func:`sample_training_rows` and :func:`fit_churn_model`;
* :mod:`~segkit.insights.churn.evaluation` -- :func:`churn_metrics` and :func:`backtest_churn`;
* :mod:`~segkit.insights.churn.card` -- :func:`model_card`, the numbers a reader needs to trust
  the list, with the threshold rule :func:`flag_threshold`;
* :mod:`~segkit.insights.churn.scoring` -- :func:`score_churn`, today's probability, risk
  level, signals and retention action per customer (keys and numbers), and
  :func:`describe_scores`, their words;
* :mod:`~segkit.insights.churn.explain` -- :func:`explain_drivers` and :func:`driver_reasons`, a model's
  drivers of churn risk in words (the numbers come from :meth:`segkit.models.ChurnModel.drivers`).

The estimator itself, :class:`segkit.models.ChurnModel`, lives in the models layer; quarters
and horizons (:func:`segkit.periods.horizon_end`, :func:`~segkit.periods.quarter_ends`, ...) in
:mod:`segkit.periods`.
"""

from __future__ import annotations

from segkit.insights.churn.config import SIGNALS, ChurnConfig, load_churn_config
from segkit.insights.churn.card import ChurnModelCard, flag_threshold, model_card, precision_recall_at
from segkit.insights.churn.evaluation import (
    ChurnBacktest,
    backtest_churn,
    calibration_table,
    churn_metrics,
    lift_capture,
    method_labels,
)
from segkit.insights.churn.explain import SIGNAL_SOURCES, driver_reasons, explain_drivers
from segkit.insights.churn.features import BTYD_FEATURES, btyd_features, churn_features, fit_btyd
from segkit.insights.churn.outcomes import churn_labels
from segkit.insights.churn.scoring import describe_scores, risk_levels, score_churn, scoring_features
from segkit.insights.churn.signals import high_risk_list, risk_signals, signal_reasons
from segkit.insights.churn.training import (
    ChurnTrainingTable,
    churn_training_table,
    fit_churn_model,
    history_needed,
    sample_training_rows,
    training_dates,
)

__all__ = [
    "ChurnConfig",
    "ChurnTrainingTable",
    "ChurnBacktest",
    "ChurnModelCard",
    "SIGNALS",
    "load_churn_config",
    "risk_signals",
    "signal_reasons",
    "high_risk_list",
    "BTYD_FEATURES",
    "fit_btyd",
    "btyd_features",
    "churn_features",
    "churn_labels",
    "churn_training_table",
    "training_dates",
    "history_needed",
    "churn_metrics",
    "lift_capture",
    "calibration_table",
    "backtest_churn",
    "method_labels",
    "precision_recall_at",
    "flag_threshold",
    "model_card",
    "sample_training_rows",
    "fit_churn_model",
    "risk_levels",
    "score_churn",
    "scoring_features",
    "describe_scores",
    "explain_drivers",
    "driver_reasons",
    "SIGNAL_SOURCES",
]

"""segkit: customer segmentation for CRM work.

Load and validate CRM exports, take point-in-time customer snapshots, score RFM, assign
explained tiers, predict CLV and churn, measure KPIs and render quarterly reports.

Examples
--------
>>> import segkit
>>> ds = segkit.load_dataset("data/sample")          # doctest: +SKIP
>>> snap = segkit.snapshot(ds, as_of="2026-09-30")    # doctest: +SKIP
>>> tiers = segkit.assign_tiers(snap)                 # doctest: +SKIP

Names are imported on first use, so ``import segkit`` stays fast and does not import
matplotlib or scikit-learn until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from segkit._version import __version__

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data
    "Dataset": "segkit.io",
    "load_dataset": "segkit.io",
    "from_ibis": "segkit.ingest",
    "SchemaError": "segkit.schema",
    "ConfigError": "segkit.config",
    "Settings": "segkit.config",
    "snapshot": "segkit.features",
    "btyd_summary": "segkit.summary",
    "calibration_holdout": "segkit.summary",
    "generate_sample": "segkit.sample",
    # segmentation
    "rfm_scores": "segkit.segment.rfm",
    "assign_tiers": "segkit.segment.tiers",
    "explain_tiers": "segkit.segment.tiers",
    "explain_rfm": "segkit.segment.rfm",
    "explain_classes": "segkit.segment.classify",
    "label_tags": "segkit.segment.tags",
    "read_overrides": "segkit.segment.overrides",
    "classify": "segkit.segment.classify",
    "value_class": "segkit.segment.classify",
    "lifecycle_stage": "segkit.segment.classify",
    "company_size": "segkit.segment.classify",
    "combined_label": "segkit.segment.classify",
    "assign_tags": "segkit.segment.tags",
    "tag_review": "segkit.segment.tags",
    "migration": "segkit.insights.migration",
    "write_tier_table": "segkit.export",
    "write_table": "segkit.writers",
    "tiers_from_table": "segkit.handbook",
    "MissingColumnsWarning": "segkit.handbook",
    "label": "segkit.labels",
    "money": "segkit.labels",
    "resolve_thresholds": "segkit.segment.thresholds",
    "tier_health": "segkit.segment.thresholds",
    "TierHealthWarning": "segkit.segment.thresholds",
    # insights
    "kpis": "segkit.insights.kpi",
    "kpi_definitions": "segkit.insights.kpi",
    "ab_assign": "segkit.insights.abtest",
    "ab_outcomes": "segkit.insights.abtest",
    "ab_evaluate": "segkit.insights.abtest",
    "sample_size": "segkit.insights.abtest",
    "minimum_detectable_effect": "segkit.insights.abtest",
    "cadence_report": "segkit.insights.cadence",
    "cadence_summary": "segkit.insights.cadence",
    "recommend": "segkit.insights.strategy",
    "strategy_table": "segkit.insights.strategy",
    "scope": "segkit.access",
    "mask_pii": "segkit.access",
    # value (CLV)
    "ConvergenceError": "segkit.models._optim",
    "ReportError": "segkit.reporting.render",
    "clv": "segkit.models.clv",
    "historical_clv": "segkit.models.clv",
    "clv_tiers": "segkit.models.clv",
    "explain_clv_tiers": "segkit.models.clv_words",
    "validate_clv": "segkit.models.clv_validation",
    # churn
    "risk_signals": "segkit.insights.churn",
    "high_risk_list": "segkit.insights.churn",
    "churn_training_table": "segkit.insights.churn",
    "backtest_churn": "segkit.insights.churn",
    "score_churn": "segkit.insights.churn",
    # reports
    "render": "segkit.reporting.render",
    "QuarterRun": "segkit.reporting.run",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segkit' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs
    from segkit.config import ConfigError
    from segkit.features import snapshot
    from segkit.io import Dataset, load_dataset
    from segkit.sample import generate_sample
    from segkit.schema import SchemaError
    from segkit.summary import btyd_summary, calibration_holdout
    from segkit.segment.rfm import explain_rfm, rfm_scores
    from segkit.segment.overrides import read_overrides
    from segkit.segment.tiers import assign_tiers, explain_tiers
    from segkit.segment.classify import classify, combined_label, company_size, explain_classes, lifecycle_stage, value_class
    from segkit.segment.tags import assign_tags, label_tags, tag_review
    from segkit.insights.migration import migration
    from segkit.export import write_tier_table
    from segkit.writers import write_table
    from segkit.handbook import MissingColumnsWarning, tiers_from_table
    from segkit.labels import label, money
    from segkit.segment.thresholds import TierHealthWarning, resolve_thresholds, tier_health
    from segkit.insights.kpi import kpi_definitions, kpis
    from segkit.insights.abtest import ab_assign, ab_evaluate, ab_outcomes, minimum_detectable_effect, sample_size
    from segkit.insights.cadence import cadence_report, cadence_summary
    from segkit.insights.strategy import recommend, strategy_table
    from segkit.access import mask_pii, scope
    from segkit.models.clv import clv, clv_tiers, historical_clv
    from segkit.models.clv_words import explain_clv_tiers
    from segkit.models.clv_validation import validate_clv
    from segkit.insights.churn import backtest_churn, churn_training_table, high_risk_list, risk_signals, score_churn
    from segkit.models._optim import ConvergenceError
    from segkit.reporting.render import ReportError, render
    from segkit.reporting.run import QuarterRun

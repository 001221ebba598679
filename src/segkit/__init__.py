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

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS: dict[str, str] = {
    # data
    "Dataset": "segkit.io",
    "load_dataset": "segkit.io",
    "SchemaError": "segkit.schema",
    "ConfigError": "segkit.config",
    "snapshot": "segkit.features",
    "btyd_summary": "segkit.summary",
    "calibration_holdout": "segkit.summary",
    "generate_sample": "segkit.sample",
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

"""RFM risk and the churn model's risk, reconciled in one table.

Two parts of the quarterly report flag customers at risk and rarely agree: the named RFM
segments "at risk" and "can't lose them" (recency scored low against the other customers,
frequency and spend high) and the churn model's high-risk level (a probability of no order
next quarter). :func:`risk_reconciliation` counts every customer in scope once, by RFM segment
x model risk level, with their 12-month revenue and the reason each side has (the RFM rule,
the model's probability line); :func:`why_differ` gives the numbers that explain the gap: how
many RFM-flagged customers the model does not score at all (no order in the past year: the
model forecasts next quarter for customers who still buy), how many it rates low, and their
median days since the last order against the model's own high-risk customers.

Which RFM segments and model levels flag a customer is configuration
(``segkit/defaults/findings.yaml``); numbers and keys only, words come from the label YAML.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from segkit.insights.churn import load_churn_config
from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.segment.rfm import load_rfm_config

__all__ = ["FindingsConfig", "load_findings_config", "risk_flags", "risk_reconciliation", "risk_crosstab",
           "why_differ", "NOT_SCORED", "RISK_LEVELS", "FLAGGED_BY"]

#: Risk level of customers the churn model does not score (no order in the year before).
NOT_SCORED = "not_scored"
#: Model risk levels, highest first, then customers without a score.
RISK_LEVELS = ["high", "medium", "low", NOT_SCORED]
#: Who flags a customer: keys of :func:`risk_reconciliation`'s ``flagged_by``.
FLAGGED_BY = ["both", "rfm_only", "model_only", "neither"]


@register_section("findings")
class FindingsConfig(StrictModel):
    """The ``findings`` configuration section (``segkit/defaults/findings.yaml``)."""

    rfm_scheme: str
    rfm_risk_segments: list[str] = Field(min_length=1)
    model_risk_levels: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _known_levels(self):
        unknown = sorted(set(self.model_risk_levels) - {"high", "medium", "low"})
        if unknown:
            raise ValueError(f"model_risk_levels {unknown} are not churn risk levels; allowed: ['high', 'medium', 'low']")
        return self


def load_findings_config(config: str | Path | Mapping[str, Any] | None = None) -> FindingsConfig:
    """The ``findings`` section; its RFM segments must exist in its RFM scheme.

    Examples
    --------
    >>> load_findings_config().rfm_risk_segments
    ['at_risk', 'cant_lose']
    >>> load_findings_config({"findings": {"rfm_risk_segments": ["at_rsk"]}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: the 'findings' configuration: rfm_risk_segments ['at_rsk'] are not segments of the RFM scheme 'named'; its segments: ['about_to_sleep', 'at_risk', 'cant_lose', 'champions', 'hibernating', 'lost', 'loyal', 'need_attention', 'new', 'potential_loyalist', 'promising']
    """
    cfg = load_section("findings", FindingsConfig, config)
    where = str(config) if isinstance(config, (str, Path)) else "the 'findings' configuration"
    rfm = load_rfm_config(config)
    if cfg.rfm_scheme not in rfm.schemes:
        raise ConfigError(f"{where}: rfm_scheme {cfg.rfm_scheme!r} is not an RFM scheme; schemes: {sorted(rfm.schemes)}")
    segments = sorted(rule.key for rule in rfm.schemes[cfg.rfm_scheme].segments)
    unknown = [s for s in cfg.rfm_risk_segments if s not in segments]
    if unknown:
        raise ConfigError(f"{where}: rfm_risk_segments {unknown} are not segments of the RFM scheme "
                          f"{cfg.rfm_scheme!r}; its segments: {segments}")
    return cfg


def _customer_table(rfm: pd.DataFrame, scores: pd.DataFrame, snapshot: pd.DataFrame | None) -> pd.DataFrame:
    """One row per customer of ``rfm``: segment, scores, model level and probability, revenue, recency."""
    for name, table, needed in (("rfm", rfm, ["rfm_segment", "r_score", "f_score", "m_score"]),
                                ("scores", scores, ["churn_probability", "risk_level"])):
        missing = [c for c in needed if c not in table.columns]
        if missing:
            raise ValueError(f"the {name} table has no column(s) {missing}; pass the output of "
                             f"{'segkit.rfm_scores' if name == 'rfm' else 'segkit.insights.churn.score_churn'}")
    ids = rfm.index.astype(str)
    score_ids = scores.index.astype(str)
    outside = score_ids.difference(ids)
    if len(outside):
        raise ValueError(f"the scores hold {len(outside)} customers the RFM table does not "
                         f"(ids: {', '.join(map(str, outside[:5]))}); pass both for the same customers")
    scores = scores.set_axis(score_ids)
    out = pd.DataFrame({"rfm_segment": rfm["rfm_segment"].astype(str).to_numpy()}, index=pd.Index(ids, name="customer_id"))
    for col in ("r_score", "f_score", "m_score"):
        out[col] = pd.to_numeric(rfm[col], errors="coerce").astype(float).to_numpy()
    out["churn_probability"] = pd.to_numeric(scores["churn_probability"], errors="coerce").reindex(ids).astype(float)
    out["risk_level"] = scores["risk_level"].astype(object).reindex(ids).fillna(NOT_SCORED).astype(str)
    source = snapshot if snapshot is not None else scores
    for col, fill in (("revenue_12m", 0.0), ("recency_days", np.nan)):
        if col in source.columns:
            values = pd.to_numeric(source[col], errors="coerce").set_axis(source.index.astype(str)).reindex(ids)
        else:
            values = pd.Series(np.nan, index=ids)
        # customers without a score ordered nothing in the past year: 12-month revenue 0
        out[col] = values.fillna(fill).astype(float) if col == "revenue_12m" else values.astype(float)
    return out


def risk_flags(rfm: pd.DataFrame, scores: pd.DataFrame, snapshot: pd.DataFrame | None = None,
               *, config: Any = None) -> pd.DataFrame:
    """Per customer: RFM segment, model risk level, and whether each side flags a churn risk.

    Parameters
    ----------
    rfm : DataFrame
        ``segkit.rfm_scores(snapshot, scheme="named")``: every customer in scope (its index is
        the scope).
    scores : DataFrame
        ``segkit.insights.churn.score_churn(...)`` for (a subset of) the same customers: those it
        leaves out (no order in the year before) get the risk level ``not_scored``.
    snapshot : DataFrame, optional
        Source of ``revenue_12m`` and ``recency_days`` for every customer; default the scores'
        columns (revenue 0 and no recency for customers without a score).
    config : path or mapping, optional
        User configuration (``findings`` section: which RFM segments and model levels flag).

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``rfm_segment``, ``r_score``, ``f_score``, ``m_score``,
        ``churn_probability``, ``risk_level``, ``revenue_12m``, ``recency_days``, ``rfm_flag``,
        ``model_flag`` and ``flagged_by`` (``both`` / ``rfm_only`` / ``model_only`` / ``neither``).

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"rfm_segment": ["at_risk", "at_risk", "champions", "lost"],
    ...                     "r_score": [2, 1, 5, 1], "f_score": [4, 3, 5, 1], "m_score": [4, 3, 5, 1]},
    ...                    index=["A", "B", "C", "D"])
    >>> scores = pd.DataFrame({"churn_probability": [0.7, 0.1, 0.6], "risk_level": ["high", "low", "high"]},
    ...                       index=["A", "C", "D"])
    >>> risk_flags(rfm, scores)[["risk_level", "rfm_flag", "model_flag", "flagged_by"]]
                 risk_level  rfm_flag  model_flag  flagged_by
    customer_id
    A                  high      True        True        both
    B            not_scored      True       False    rfm_only
    C                   low     False       False     neither
    D                  high     False        True  model_only
    """
    cfg = load_findings_config(config)
    table = _customer_table(rfm, scores, snapshot)
    table["rfm_flag"] = table["rfm_segment"].isin(cfg.rfm_risk_segments)
    table["model_flag"] = table["risk_level"].isin(cfg.model_risk_levels)
    table["flagged_by"] = pd.Series(np.select(
        [table["rfm_flag"] & table["model_flag"], table["rfm_flag"], table["model_flag"]],
        ["both", "rfm_only", "model_only"], "neither"), index=table.index).astype(str)
    return table


def risk_reconciliation(rfm: pd.DataFrame, scores: pd.DataFrame, snapshot: pd.DataFrame | None = None,
                        *, config: Any = None) -> pd.DataFrame:
    """Customers and 12-month revenue by RFM segment x model risk level, with each side's reason.

    Every customer of ``rfm`` is in exactly one row, so ``customers`` sums to ``len(rfm)``;
    the overlap is the rows with ``flagged_by == "both"``.

    Parameters
    ----------
    rfm, scores, snapshot, config
        As for :func:`risk_flags`.

    Returns
    -------
    DataFrame
        One row per non-empty (``rfm_segment``, ``risk_level``) cell (a MultiIndex), RFM-flagged
        and model-flagged cells first: ``customers``, ``revenue_12m``, ``rfm_flag``,
        ``model_flag``, ``flagged_by``, the reasons as data: ``rfm_rule`` (the segment's rule
        in the RFM scheme, for flagged segments) and ``model_min_probability`` (the lower
        bound of the customer's risk level in ``churn.risk_levels``; missing when not scored),
        and the cell's medians ``median_recency_days``, ``median_churn_probability``,
        ``median_r_score``, ``median_f_score``.

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"rfm_segment": ["at_risk", "at_risk", "cant_lose", "champions", "lost", "at_risk"],
    ...                     "r_score": [2, 1, 1, 5, 1, 2], "f_score": [4, 3, 5, 5, 1, 2], "m_score": [4, 3, 5, 5, 1, 2]},
    ...                    index=["A", "B", "C", "D", "E", "F"])
    >>> scores = pd.DataFrame({"churn_probability": [0.7, 0.1, 0.6, 0.3], "risk_level": ["high", "low", "high", "medium"],
    ...                        "revenue_12m": [300.0, 900.0, 50.0, 100.0]}, index=["A", "D", "E", "F"])
    >>> table = risk_reconciliation(rfm, scores)
    >>> table[["customers", "revenue_12m", "flagged_by"]]
                            customers  revenue_12m  flagged_by
    rfm_segment risk_level
    at_risk     high                1        300.0        both
                medium              1        100.0    rfm_only
                not_scored          1          0.0    rfm_only
    cant_lose   not_scored          1          0.0    rfm_only
    lost        high                1         50.0  model_only
    champions   low                 1        900.0     neither
    >>> table["model_min_probability"].tolist()
    [0.5, 0.25, nan, nan, 0.5, 0.0]
    >>> table.loc[("cant_lose", "not_scored"), "rfm_rule"]
    'r_score <= 1 and f_score >= 4 and m_score >= 4'
    >>> int(table["customers"].sum()) == len(rfm)
    True
    """
    cfg = load_findings_config(config)
    flags = risk_flags(rfm, scores, snapshot, config=config)
    levels = load_churn_config(config).risk_levels
    lower = {"high": levels.high, "medium": levels.medium, "low": 0.0}
    rules = {rule.key: rule.when for rule in load_rfm_config(config).schemes[cfg.rfm_scheme].segments}
    grouped = flags.groupby(["rfm_segment", "risk_level"], sort=False)
    table = grouped.agg(
        customers=("flagged_by", "size"), revenue_12m=("revenue_12m", "sum"),
        rfm_flag=("rfm_flag", "first"), model_flag=("model_flag", "first"), flagged_by=("flagged_by", "first"),
        median_recency_days=("recency_days", "median"), median_churn_probability=("churn_probability", "median"),
        median_r_score=("r_score", "median"), median_f_score=("f_score", "median"),
    )
    segment = table.index.get_level_values("rfm_segment")
    level = table.index.get_level_values("risk_level")
    table.insert(5, "rfm_rule", pd.Series([rules[s] if s in cfg.rfm_risk_segments else None for s in segment],
                                          index=table.index, dtype=object))
    table.insert(6, "model_min_probability", [lower.get(x, np.nan) for x in level])
    table["customers"] = table["customers"].astype("int64")
    # who flags (both, RFM only, model only, neither), then the configured segment order, the
    # risk level (highest first) and the revenue at stake
    rank = pd.DataFrame({
        "who": [FLAGGED_BY.index(f) for f in table["flagged_by"]],
        "segment": [cfg.rfm_risk_segments.index(s) if s in cfg.rfm_risk_segments else len(cfg.rfm_risk_segments) for s in segment],
        "level": [RISK_LEVELS.index(x) if x in RISK_LEVELS else len(RISK_LEVELS) for x in level],
        "revenue": -table["revenue_12m"].to_numpy(),
    })
    position = rank.sort_values(["who", "segment", "level", "revenue"], kind="stable").index
    return table.iloc[position]


def risk_crosstab(rfm: pd.DataFrame, scores: pd.DataFrame, snapshot: pd.DataFrame | None = None,
                  *, value: str = "customers", config: Any = None) -> pd.DataFrame:
    """The reconciliation as a matrix: RFM segments (flagged first) x model risk levels, with totals.

    ``value`` is ``"customers"`` or ``"revenue_12m"``. Rows and columns are keys; the row and
    column ``total`` hold the margins (the grand total is every customer in scope).

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"rfm_segment": ["at_risk", "at_risk", "champions"],
    ...                     "r_score": [2, 1, 5], "f_score": [4, 3, 5], "m_score": [4, 3, 5]}, index=["A", "B", "C"])
    >>> scores = pd.DataFrame({"churn_probability": [0.7, 0.1], "risk_level": ["high", "low"]}, index=["A", "C"])
    >>> risk_crosstab(rfm, scores)
    risk_level   high  medium  low  not_scored  total
    rfm_segment
    at_risk         1       0    0           1      2
    champions       0       0    1           0      1
    total           1       0    1           1      3
    """
    if value not in ("customers", "revenue_12m"):
        raise ValueError(f"value must be 'customers' or 'revenue_12m', not {value!r}")
    cfg = load_findings_config(config)
    flags = risk_flags(rfm, scores, snapshot, config=config)
    cell = flags.assign(customers=1)
    matrix = cell.pivot_table(index="rfm_segment", columns="risk_level", values=value, aggfunc="sum", fill_value=0)
    present = list(pd.unique(flags["rfm_segment"]))
    rows = [s for s in cfg.rfm_risk_segments if s in present] + sorted(s for s in present if s not in cfg.rfm_risk_segments)
    columns = [*RISK_LEVELS, *sorted(set(matrix.columns) - set(RISK_LEVELS))]
    matrix = matrix.reindex(index=rows, columns=columns, fill_value=0)
    matrix = matrix.astype("int64" if value == "customers" else float)
    matrix["total"] = matrix.sum(axis=1)
    matrix.loc["total"] = matrix.sum(axis=0)
    matrix.index.name, matrix.columns.name = "rfm_segment", "risk_level"
    return matrix


def why_differ(rfm: pd.DataFrame, scores: pd.DataFrame, snapshot: pd.DataFrame | None = None,
               *, config: Any = None) -> pd.DataFrame:
    """Numbers that say why RFM risk and model risk flag different customers.

    Returns
    -------
    DataFrame
        Indexed by ``both``, ``rfm_only``, ``model_only`` (who flags the customers):
        ``customers``, ``revenue_12m``, how many the model rates ``high`` / ``medium`` /
        ``low`` or does not score (``not_scored``: no order in the year before, so the model,
        which forecasts next quarter for customers who still buy, says nothing about them),
        and the medians ``median_recency_days`` (days since the last order),
        ``median_churn_probability``, ``median_r_score``, ``median_f_score``, ``median_m_score``.

    Examples
    --------
    >>> import pandas as pd
    >>> rfm = pd.DataFrame({"rfm_segment": ["at_risk", "at_risk", "cant_lose", "lost", "at_risk"],
    ...                     "r_score": [2, 1, 1, 1, 2], "f_score": [4, 3, 5, 1, 2], "m_score": [4, 3, 5, 1, 2]},
    ...                    index=["A", "B", "C", "D", "E"])
    >>> scores = pd.DataFrame({"churn_probability": [0.7, 0.6, 0.1], "risk_level": ["high", "high", "low"],
    ...                        "recency_days": [200.0, 300.0, 80.0], "revenue_12m": [5.0, 1.0, 9.0]}, index=["A", "D", "E"])
    >>> why_differ(rfm, scores)[["customers", "revenue_12m", "low", "not_scored", "median_recency_days"]]
                customers  revenue_12m  low  not_scored  median_recency_days
    flagged_by
    both                1          5.0    0           0                200.0
    rfm_only            3          9.0    1           2                 80.0
    model_only          1          1.0    0           0                300.0
    """
    flags = risk_flags(rfm, scores, snapshot, config=config)
    groups = ["both", "rfm_only", "model_only"]
    flagged = flags[flags["flagged_by"].isin(groups)]
    by = flagged.groupby("flagged_by")
    out = pd.DataFrame(index=pd.Index(groups, name="flagged_by"))
    out["customers"] = by.size().reindex(groups, fill_value=0).astype("int64")
    out["revenue_12m"] = by["revenue_12m"].sum().reindex(groups, fill_value=0.0)
    levels = pd.crosstab(flagged["flagged_by"], flagged["risk_level"]).reindex(index=groups, columns=RISK_LEVELS, fill_value=0)
    for level in RISK_LEVELS:
        out[level] = levels[level].astype("int64")
    for col in ("recency_days", "churn_probability", "r_score", "f_score", "m_score"):
        out[f"median_{col}"] = by[col].median().reindex(groups)
    return out

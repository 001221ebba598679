"""The numbers of the executive summary, each with the customers it counts and the list that shows them.

A summary sentence such as "4 core customers moved down, 2 of them at high churn risk" is only
useful when a reader can find those customers. :func:`summary_findings` computes what the
quarterly summary states (core customers and their shares, upgrades and downgrades, downgraded
core customers at high risk, core customers at high risk, potential customers close to core
with the line it uses, the high-risk count, RFM risk segments and their overlap with the
model) as :class:`Finding` objects: a key, the number, the customer ids and the name of the
list that holds them. :func:`finding_lists` builds those lists, complete and ordered by value at
stake (churn probability x 12-month revenue), with one column per finding marking its
customers, so a report can link each number to its list and a test can check that the list
contains every customer the number counts.

Numbers and keys only; the words of each sentence come from the label YAML at the edge.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from segkit.insights.migration import Migration
from segkit.insights.risk import load_findings_config, risk_flags
from segkit.segment.thresholds import Thresholds, near_core, resolve_thresholds

__all__ = ["Finding", "summary_findings", "finding_lists", "findings_table", "LISTS"]

#: The lists findings point to, in the order a report shows them.
LISTS = ["core", "upgrades", "downgrades", "high_risk", "near_core", "rfm_risk"]


@dataclass(frozen=True)
class Finding:
    """One number of the summary and the customers it counts.

    Attributes
    ----------
    key : str
        What is counted, e.g. ``"core_down_high_risk"`` (the sentence's words are looked up
        by this key).
    value : int
        The number of customers the sentence states (``len(customer_ids)``).
    list_name : str
        The list that shows these customers (a key of :func:`finding_lists`).
    customer_ids : tuple of str
        The customers counted.
    values : mapping
        Other numbers the sentence states, e.g. ``{"share": 0.124, "revenue_share": 0.52}``.
    settings : mapping
        The named configuration lines the finding uses and their values, e.g.
        ``{"near_core_revenue": 400000.0}``.

    Examples
    --------
    >>> Finding("near_core", 2, "near_core", ("C1", "C7"), settings={"near_core_revenue": 400000.0}).value
    2
    >>> Finding("near_core", 3, "near_core", ("C1", "C7"))
    Traceback (most recent call last):
    ...
    ValueError: finding 'near_core' states 3 customers but holds 2 ids
    """

    key: str
    value: int
    list_name: str
    customer_ids: tuple[str, ...]
    values: Mapping[str, float] = field(default_factory=dict)
    settings: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.value != len(self.customer_ids):
            raise ValueError(f"finding {self.key!r} states {self.value} customers but holds {len(self.customer_ids)} ids")
        if len(set(self.customer_ids)) != len(self.customer_ids):
            raise ValueError(f"finding {self.key!r} counts some customers twice")


def _finding(key: str, list_name: str, ids: pd.Index, **more: Any) -> Finding:
    ids = tuple(str(i) for i in ids)
    return Finding(key, len(ids), list_name, ids, **more)


def _tier_keys(table: pd.DataFrame | pd.Series, name: str) -> pd.Series:
    if isinstance(table, pd.DataFrame):
        if "tier" not in table.columns:
            raise ValueError(f"the {name} table has no column 'tier'; pass the output of segkit.assign_tiers")
        table = table["tier"]
    return table.astype(str).set_axis(table.index.astype(str))


def summary_findings(
    tiers: pd.DataFrame | pd.Series,
    previous_tiers: pd.DataFrame | pd.Series | None = None,
    scores: pd.DataFrame | None = None,
    rfm: pd.DataFrame | None = None,
    migration: Migration | None = None,
    thresholds: Thresholds | None = None,
    *,
    snapshot: pd.DataFrame,
    config: Any = None,
) -> list[Finding]:
    """What the executive summary states, as numbers with their customers and lists.

    Parameters
    ----------
    tiers : DataFrame or Series
        This quarter's tiers (:func:`segkit.assign_tiers`) of the customers in scope; their
        index is the scope.
    previous_tiers : DataFrame or Series, optional
        Last quarter's tiers (for the change in core customers); None leaves it out.
    scores : DataFrame, optional
        ``segkit.insights.churn.score_churn`` output (``risk_level``, ``churn_probability``); None
        leaves out every risk finding.
    rfm : DataFrame, optional
        ``segkit.rfm_scores(snapshot, scheme="named")``; with ``scores``, gives the RFM risk
        segments and their overlap with the model's risk.
    migration : Migration, optional
        :func:`segkit.insights.migration.migration` of ``previous_tiers`` to ``tiers``; None
        leaves out upgrades and downgrades.
    thresholds : Thresholds, optional
        The lines the tiers were assigned with (``tiers.attrs["thresholds"]``); default
        :func:`segkit.segment.thresholds.resolve_thresholds` of ``snapshot``.
    snapshot : DataFrame
        This quarter's snapshot (``revenue_12m``).
    config : path or mapping, optional
        User configuration (``thresholds``, ``findings``, ``rfm``, ``churn`` sections).

    Returns
    -------
    list of Finding
        In the order of the summary. Keys (list): ``core`` (core; values ``share`` of the
        tier table, ``revenue_share`` of 12-month revenue, ``revenue_12m``, and ``previous``
        and ``change`` with last quarter's tiers), ``upgrades``, ``up_to_core`` (value
        ``from_potential``) (upgrades), ``downgrades``, ``core_down``,
        ``core_down_high_risk`` (downgrades), ``high_risk``, ``core_high_risk`` (high_risk),
        ``near_core`` (near_core; setting ``near_core_revenue``), ``rfm_<segment>`` for each
        RFM risk segment of the ``findings`` configuration and ``rfm_model_overlap``
        (rfm_risk).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": [600e3, 450e3, 300e3, 20e3]}, index=["A", "B", "C", "D"])
    >>> tiers = pd.Series(["core", "potential", "potential", "low_value"], index=snap.index)
    >>> before = pd.Series(["potential", "core", "potential", "low_value"], index=snap.index)
    >>> scores = pd.DataFrame({"risk_level": ["low", "high", "medium", "high"],
    ...                        "churn_probability": [0.1, 0.6, 0.3, 0.9]}, index=snap.index)
    >>> from segkit.insights.migration import migration
    >>> found = summary_findings(tiers, before, scores, migration=migration(before, tiers), snapshot=snap)
    >>> [(f.key, f.value, f.list_name, f.customer_ids) for f in found]  # doctest: +NORMALIZE_WHITESPACE
    [('core', 1, 'core', ('A',)), ('upgrades', 1, 'upgrades', ('A',)), ('up_to_core', 1, 'upgrades', ('A',)),
     ('downgrades', 1, 'downgrades', ('B',)), ('core_down', 1, 'downgrades', ('B',)),
     ('core_down_high_risk', 1, 'downgrades', ('B',)), ('high_risk', 2, 'high_risk', ('B', 'D')),
     ('core_high_risk', 0, 'high_risk', ()), ('near_core', 1, 'near_core', ('B',))]
    >>> round(found[0].values["revenue_share"], 4), found[-1].settings  # 600k of 1.37M
    (0.438, {'near_core_revenue': 400000.0})
    """
    keys = _tier_keys(tiers, "current")
    ids = keys.index
    if "revenue_12m" not in snapshot.columns:
        raise ValueError("the snapshot has no column 'revenue_12m'; pass segkit.snapshot(ds, as_of)")
    revenue = pd.to_numeric(snapshot["revenue_12m"], errors="coerce").set_axis(snapshot.index.astype(str)).reindex(ids).fillna(0.0)
    found: list[Finding] = []

    core = ids[keys == "core"]
    total = float(revenue.sum())
    core_revenue = float(revenue.loc[core].sum())
    values = {"share": len(core) / len(ids) if len(ids) else np.nan,
              "revenue_share": core_revenue / total if total else np.nan, "revenue_12m": core_revenue}
    if previous_tiers is not None:
        previous_core = int((_tier_keys(previous_tiers, "previous") == "core").sum())
        values |= {"previous": previous_core, "change": len(core) - previous_core}
    found.append(_finding("core", "core", core, values=values))

    high = pd.Index([], dtype=object)
    if scores is not None:
        if "risk_level" not in scores.columns:
            raise ValueError("the scores have no column 'risk_level'; pass the output of segkit.insights.churn.score_churn")
        level = scores["risk_level"].astype(str).set_axis(scores.index.astype(str))
        high = ids.intersection(level.index[level == "high"], sort=False)
    if migration is not None:
        moves = migration.moves.set_axis(migration.moves.index.astype(str))
        up, down = moves[moves["direction"] == "up"], moves[moves["direction"] == "down"]
        up_to_core = up.index[up["current_tier"] == "core"]
        found.append(_finding("upgrades", "upgrades", up.index))
        found.append(_finding("up_to_core", "upgrades", up_to_core,
                              values={"from_potential": int((up.loc[up_to_core, "previous_tier"] == "potential").sum())}))
        core_down = down.index[down["previous_tier"] == "core"]
        found.append(_finding("downgrades", "downgrades", down.index))
        found.append(_finding("core_down", "downgrades", core_down))
        if scores is not None:
            found.append(_finding("core_down_high_risk", "downgrades", core_down[core_down.isin(high)]))
    if scores is not None:
        found.append(_finding("high_risk", "high_risk", high))
        found.append(_finding("core_high_risk", "high_risk", high[keys.reindex(high) == "core"]))

    lines = thresholds if thresholds is not None else resolve_thresholds(snapshot, config)
    found.append(_finding("near_core", "near_core", near_core(keys, revenue.to_frame("revenue_12m"), lines),
                          settings={"near_core_revenue": float(lines.values["near_core_revenue"])}))

    if rfm is not None and scores is not None:
        flags = risk_flags(rfm.set_axis(rfm.index.astype(str)).reindex(ids), scores.loc[scores.index.astype(str).isin(ids)],
                           snapshot, config=config)
        for segment in load_findings_config(config).rfm_risk_segments:
            found.append(_finding(f"rfm_{segment}", "rfm_risk", flags.index[flags["rfm_segment"] == segment]))
        found.append(_finding("rfm_model_overlap", "rfm_risk", flags.index[flags["flagged_by"] == "both"],
                              values={"model_flagged": int(flags["model_flag"].sum())}))
    return found


def finding_lists(
    findings: list[Finding],
    tiers: pd.DataFrame | pd.Series,
    *,
    snapshot: pd.DataFrame | None = None,
    scores: pd.DataFrame | None = None,
    rfm: pd.DataFrame | None = None,
    migration: Migration | None = None,
) -> dict[str, pd.DataFrame]:
    """The list behind each finding: every customer it counts, ordered by value at stake.

    Parameters
    ----------
    findings : list of Finding
        :func:`summary_findings` output.
    tiers : DataFrame or Series
        This quarter's tiers (the ``tier`` column of each list).
    snapshot, scores, rfm, migration : optional
        Add ``revenue_12m``; ``churn_probability``, ``risk_level`` and ``value_at_stake``;
        ``rfm_segment``; ``previous_tier``.

    Returns
    -------
    dict of str to DataFrame
        One list per ``list_name`` (in :data:`LISTS` order), indexed by customer_id, holding
        the customers of every finding pointing to it, with one boolean column per such
        finding (named by its key) marking its customers: ``lists[f.list_name][f.key].sum()
        == f.value``. Ordered by ``value_at_stake`` (churn probability x 12-month revenue)
        when there are scores, then by ``revenue_12m``, highest first.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": [600e3, 450e3, 300e3, 20e3]}, index=["A", "B", "C", "D"])
    >>> tiers = pd.Series(["core", "core", "potential", "low_value"], index=snap.index)
    >>> scores = pd.DataFrame({"risk_level": ["low", "high", "medium", "high"],
    ...                        "churn_probability": [0.1, 0.6, 0.3, 0.9]}, index=snap.index)
    >>> found = summary_findings(tiers, scores=scores, snapshot=snap)
    >>> lists = finding_lists(found, tiers, snapshot=snap, scores=scores)
    >>> lists["high_risk"][["tier", "value_at_stake", "high_risk", "core_high_risk"]]
                      tier  value_at_stake  high_risk  core_high_risk
    customer_id                                                      
    B                 core        270000.0       True            True
    D            low_value         18000.0       True           False
    """
    keys = _tier_keys(tiers, "current")
    out: dict[str, pd.DataFrame] = {}
    names = [n for n in LISTS if any(f.list_name == n for f in findings)]
    names += [n for n in dict.fromkeys(f.list_name for f in findings) if n not in names]
    for name in names:
        members = [f for f in findings if f.list_name == name]
        ids = pd.Index(list(dict.fromkeys(i for f in members for i in f.customer_ids)), dtype=object, name="customer_id")
        table = pd.DataFrame(index=ids)
        if migration is not None and name in ("upgrades", "downgrades"):
            moves = migration.moves.set_axis(migration.moves.index.astype(str))
            table["previous_tier"] = moves["previous_tier"].reindex(ids).astype(object)
        table["tier"] = keys.reindex(ids).astype(object)
        if snapshot is not None:
            table["revenue_12m"] = pd.to_numeric(snapshot["revenue_12m"], errors="coerce").set_axis(snapshot.index.astype(str)).reindex(ids)
        if rfm is not None:
            table["rfm_segment"] = rfm["rfm_segment"].set_axis(rfm.index.astype(str)).reindex(ids).astype(object)
        sort_by = []
        if scores is not None:
            scored = scores.set_axis(scores.index.astype(str))
            table["churn_probability"] = pd.to_numeric(scored["churn_probability"], errors="coerce").reindex(ids)
            table["risk_level"] = scored["risk_level"].astype(object).reindex(ids)
            if "revenue_12m" in table:
                table["value_at_stake"] = table["churn_probability"] * table["revenue_12m"]
                sort_by.append("value_at_stake")
        if "revenue_12m" in table:
            sort_by.append("revenue_12m")
        for f in members:
            table[f.key] = table.index.isin(f.customer_ids)
        if sort_by:
            table = table.sort_values(sort_by, ascending=False, na_position="last", kind="stable")
        out[name] = table
    return out


def findings_table(findings: list[Finding]) -> pd.DataFrame:
    """The findings as one table: ``value``, ``list_name`` and their other numbers and settings.

    Examples
    --------
    >>> findings_table([Finding("near_core", 1, "near_core", ("B",), settings={"near_core_revenue": 4e5})])
               value  list_name  near_core_revenue
    key                                           
    near_core      1  near_core           400000.0
    """
    rows = [{"key": f.key, "value": f.value, "list_name": f.list_name, **f.values, **f.settings} for f in findings]
    return pd.DataFrame(rows).set_index("key") if rows else pd.DataFrame(columns=["value", "list_name"])

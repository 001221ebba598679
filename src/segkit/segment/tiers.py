"""Explained value x activity tiers (客户关系划分) with review flags and manual overrides.

The default model is business-rules.md section 2, written as data in
``segkit/defaults/tiers.yaml``: rules evaluated in order, first match wins; every customer gets
exactly one tier; customers no rule matches get an explicit provisional tier and are flagged
for review; so are customers whose tier hangs on a value close to a threshold.

Tier order (highest first) is the configured ``tiers.order`` (default
``core > potential > ordinary > low_value``), written nowhere else: :func:`assign_tiers`
returns ``tier`` as an ordered categorical of :func:`tier_dtype`, so sorting, ``groupby`` and
``value_counts`` follow it. Under the default rules, raising a customer's 12-month revenue
never lowers its tier (tested as a property).

The rule engine lives in :mod:`segkit.segment.rules`, the overrides in
:mod:`segkit.segment.overrides`.
"""

from __future__ import annotations

import warnings
from importlib import resources
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field

from segkit.config import ConfigError, StrictModel, config_hash, load_section, register_section, read_user_config
from segkit.labels import check_lang
from segkit.segment.overrides import OverrideError, apply_overrides, normalise_overrides, override_texts, read_overrides
from segkit.segment.rules import Label, RuleSet, RuleSetConfig
from segkit.segment.thresholds import (
    Thresholds,
    TierHealthWarning,
    default_thresholds,
    resolve_thresholds,
    tier_health,
    tier_health_messages,
)

__all__ = [
    "TiersConfig",
    "load_tiers_config",
    "tier_dtype",
    "assign_tiers",
    "explain_tiers",
    "tier_labels",
    "handbook_examples",
    "section_source",
]


# --- configuration models ------------------------------------------------------------------


class OverridesConfig(StrictModel):
    stale_after_days: int = Field(180, ge=0)


EXPORT_COLUMNS = (
    "customer_id",
    "name",
    "industry",
    "contact",
    "revenue_12m_wan",
    "interactions_6m",
    "tenure_months",
    "need_type",
    "tier",
    "basis",
    "strategy",
    "note",
)


class ExportConfig(StrictModel):
    mask_contacts: bool = True
    columns: dict[str, Label]


@register_section("tiers")
class TiersConfig(RuleSetConfig):
    """The ``tiers`` configuration section (``segkit/defaults/tiers.yaml``)."""

    overrides: OverridesConfig = OverridesConfig()
    export: ExportConfig


# --- loading -------------------------------------------------------------------------------


def _section_names() -> set[str]:
    return {p.name.removesuffix(".yaml") for p in resources.files("segkit.defaults").iterdir() if p.name.endswith(".yaml")}


def section_source(name: str, config: Any) -> Any:
    """What to hand :func:`segkit.config.load_section` for section ``name``.

    A whole configuration file (top-level keys are section names) that does not mention
    ``name`` means "defaults" for it: without this, a file holding only ``tiers:`` would be
    read as the ``strategy`` section itself, whose own key ``tiers`` has the same name.

    Examples
    --------
    >>> section_source("strategy", {"tiers": {"review": {"margin": 0.05}}}) is None
    True
    >>> section_source("tiers", {"review": {"margin": 0.05}})
    {'review': {'margin': 0.05}}
    """
    if config is None or isinstance(config, BaseModel):
        return config
    user = read_user_config(config)
    if name in user:
        return config
    if set(user) & _section_names():
        return None
    return config



@lru_cache(maxsize=1)
def _default_tiers_config() -> TiersConfig:
    return load_tiers_config({})


def load_tiers_config(config: str | Path | Mapping[str, Any] | TiersConfig | None = None) -> TiersConfig:
    """The ``tiers`` section: package defaults overridden by ``config``, validated.

    Parameters
    ----------
    config : path, mapping, TiersConfig or None
        A user configuration file/mapping (top-level key ``tiers``, or the section itself).

    Raises
    ------
    segkit.config.ConfigError
        Naming the bad key (and the allowed ones), the bad rule or the unknown column.

    Examples
    --------
    >>> load_tiers_config({"tiers": {"review": {"margin": 0.05}}}).review.margin
    0.05
    >>> load_tiers_config({"tiers": {"review": {"margn": 0.05}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'tiers' configuration:
      - unknown key 'review.margn'; allowed keys here: ['margin']
    """
    config = section_source("tiers", config)
    if config is None:
        return _default_tiers_config().model_copy(deep=True)
    cfg = config if isinstance(config, TiersConfig) else load_section("tiers", TiersConfig, config)
    # compiles every rule: unknown columns or lines and bad conditions fail here
    RuleSet(cfg, "tiers", default_thresholds(None if isinstance(config, TiersConfig) else config))
    unknown = sorted(set(cfg.export.columns) - set(EXPORT_COLUMNS))
    if unknown:
        raise ConfigError(f"tiers.export.columns: unknown column {unknown[0]!r}; allowed: {list(EXPORT_COLUMNS)}")
    return cfg


def tier_dtype(config: Any = None) -> pd.CategoricalDtype:
    """The tier column's type: ordered categories in the configured order, highest first.

    The one place the tier order comes from; sort, group or compare tiers through it.

    Parameters
    ----------
    config : path, mapping, TiersConfig or None
        As for :func:`load_tiers_config`.

    Examples
    --------
    >>> dtype = tier_dtype()
    >>> list(dtype.categories), dtype.ordered
    (['core', 'potential', 'ordinary', 'low_value'], True)
    >>> pd.Series(["low_value", "core", "ordinary"], dtype=dtype).sort_values().tolist()
    ['core', 'ordinary', 'low_value']
    """
    cfg = config if isinstance(config, TiersConfig) else load_tiers_config(config)
    return pd.CategoricalDtype(list(cfg.order), ordered=True)


def assign_tiers(
    snapshot: pd.DataFrame,
    config: Any = None,
    overrides: str | Path | pd.DataFrame | None = None,
    as_of: Any = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Assign each customer a tier (客户关系划分) and flag the ones to review; keys only.

    Rules come from the ``tiers`` configuration (default: business-rules.md section 2),
    evaluated in order, first match wins; every customer gets exactly one tier.

    - Customers no rule matches (e.g. >= 500,000 but fewer than 10 interactions) get the
      provisional tier of the first matching ``unmatched`` rule (default ``potential`` for
      that case) or ``default_tier``, and ``needs_review``.
    - Customers within ``review.margin`` (default 10%) of a threshold whose crossing would
      change their tier are flagged ``needs_review``; so are customers who meet the amount
      of a higher rule but not its interactions (``partial_review``).
    - Overrides (see :func:`read_overrides`) dated on or before ``as_of`` replace the rule
      tier; the rule tier is kept. An override older than ``overrides.stale_after_days`` is
      reported stale and flagged for review again.

    The words (tier label, basis, review reason) are :func:`explain_tiers`' job, asked for
    only for the rows a person will read.

    Parameters
    ----------
    snapshot : DataFrame
        ``segkit.snapshot(ds, as_of)``, indexed by customer_id; needs at least the columns
        the rules use (default: revenue_12m, interactions_6m, new_need_inquiry_6m,
        renewal_intent).
    config : path, mapping or TiersConfig, optional
        User configuration overriding the defaults.
    overrides : path or DataFrame, optional
        Manual overrides; an unknown customer or tier raises :class:`OverrideError`.
    as_of : date-like, optional
        The snapshot date; default ``snapshot.attrs["as_of"]``. Needed with overrides.
    thresholds : Thresholds, optional
        Lines to apply instead of resolving them for ``snapshot`` (e.g. ``attrs["thresholds"]``
        of this quarter's tiers when tiering the previous quarter: with relative lines,
        each quarter would otherwise get its own, and migration would measure the lines
        moving rather than the customers).

    Returns
    -------
    DataFrame
        Indexed like ``snapshot``: ``tier``, ``needs_review``, ``review`` (review keys, see
        :meth:`~segkit.segment.rules.RuleSet.evaluate`, or ``stale_override``), ``rule``
        (where the matching rule is configured), ``rule_tier``, ``override_reason``,
        ``override_reviewer``, ``override_date``, ``override_stale``. ``tier`` and
        ``rule_tier`` are ordered categoricals of :func:`tier_dtype` (highest tier first;
        also in ``attrs["tier_order"]``). ``attrs`` hold ``thresholds`` (the
        :class:`~segkit.segment.thresholds.Thresholds` used: numbers and how they were
        derived) and ``health`` (:func:`~segkit.segment.thresholds.tier_health`).

    Warns
    -----
    TierHealthWarning
        When 90% or more of the customers land in one tier or an expected tier is empty,
        naming the likely cause (currency or scale, as-of date, missing interactions).

    Examples
    --------
    >>> tiers = assign_tiers(handbook_examples())
    >>> tiers["tier"].tolist()
    ['core', 'potential', 'ordinary', 'low_value']
    >>> tiers["rule"].tolist()
    ['rules[0]', 'rules[1]', 'rules[2]', 'rules[3]']
    >>> bool(tiers["needs_review"].any()), pd.api.types.is_string_dtype(tiers["review"])
    (False, True)
    """
    cfg = load_tiers_config(config)
    if thresholds is None:
        thresholds = resolve_thresholds(snapshot, None if isinstance(config, TiersConfig) else config)
    rules = RuleSet(cfg, "tiers", thresholds)
    result = rules.evaluate(snapshot)
    out = pd.DataFrame(index=snapshot.index)
    out["tier"] = result["key"].astype(object)
    out["needs_review"] = result["needs_review"].astype(bool)
    out["review"] = result["review"].astype(object)
    out["rule"] = result["rule"]
    out["rule_tier"] = result["key"].astype(object)
    out["override_reason"] = pd.Series(pd.NA, index=out.index, dtype=object)
    out["override_reviewer"] = pd.Series(pd.NA, index=out.index, dtype=object)
    out["override_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["override_stale"] = False

    if as_of is None:
        as_of = snapshot.attrs.get("as_of")
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else None
    if overrides is not None:
        if as_of_ts is None:
            raise ValueError("overrides need the snapshot date: pass as_of= or a snapshot made by segkit.snapshot")
        if isinstance(overrides, pd.DataFrame):
            table, source = normalise_overrides(overrides, cfg, "overrides table"), "overrides table"
        else:
            table, source = read_overrides(overrides, cfg), str(overrides)
        out = apply_overrides(out, table, cfg, as_of_ts, source)

    out["review"] = out["review"].astype("str")
    dtype = tier_dtype(cfg)
    out["tier"] = out["tier"].astype(dtype)
    out["rule_tier"] = out["rule_tier"].astype(dtype)
    for col in ("override_reason", "override_reviewer"):
        out[col] = out[col].astype("str")
    out["needs_review"] = out["needs_review"].astype(bool)
    out["override_stale"] = out["override_stale"].astype(bool)
    health = tier_health(out, snapshot, None if isinstance(config, TiersConfig) else config, thresholds)
    out.attrs = {"as_of": as_of_ts, "config_hash": config_hash(cfg), "tier_order": list(cfg.order),
                 "thresholds": thresholds, "health": health}
    if not health["ok"]:
        # a warning is a message to whoever runs the code, like an error: in English
        warnings.warn(" ".join(tier_health_messages(health, "en", config, lambda k: rules.label(k, "en"))),
                      TierHealthWarning, stacklevel=2)
    return out


def tier_labels(tiers: pd.DataFrame | pd.Series, lang: str = "zh", config: Any = None) -> pd.Series:
    """The configured label of each tier key (the cheap part of :func:`explain_tiers`).

    Parameters
    ----------
    tiers : DataFrame or Series
        :func:`assign_tiers`' result (its ``tier`` column is used) or tier keys.
    lang : {"zh", "en"}, default "zh"
    config : path, mapping or TiersConfig, optional
        The configuration the tiers were made with (its ``labels``).

    Examples
    --------
    >>> tier_labels(assign_tiers(handbook_examples()), "en").tolist()
    ['Core', 'Potential', 'Ordinary', 'Low value']
    """
    check_lang(lang)
    labels = load_tiers_config(config).labels
    keys = tiers["tier"] if isinstance(tiers, pd.DataFrame) else tiers
    return keys.astype(object).map(lambda k: labels[k].text(lang) if k in labels else str(k)).astype("str")


def explain_tiers(tiers: pd.DataFrame, snapshot: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.DataFrame:
    """The words for :func:`assign_tiers`' result: tier label, basis and review reason.

    The edge function of tiers: call it for the rows a person reads (a list, an export, the
    handbook template); pass ``tiers`` restricted to those rows and only they are put into
    words (rendering the basis costs far more than assigning the tier).

    Parameters
    ----------
    tiers : DataFrame
        :func:`assign_tiers`' result, or a subset of its rows.
    snapshot : DataFrame
        The snapshot ``tiers`` was made from (at least the rows of ``tiers``).
    lang : {"zh", "en"}, default "zh"
    config : path, mapping or TiersConfig, optional
        The configuration ``tiers`` was made with (labels, measures, override staleness).

    Returns
    -------
    DataFrame
        Indexed like ``tiers``: ``tier_label``, ``basis`` (the satisfied conditions with the
        customer's values; for an override, the override and the rules' own verdict) and
        ``review_reason`` ("" when no review is needed).

    Examples
    --------
    >>> snap = handbook_examples()
    >>> tiers = assign_tiers(snap)
    >>> words = explain_tiers(tiers, snap)
    >>> words["tier_label"].tolist()
    ['核心客户', '潜力客户', '普通客户', '低价值客户']
    >>> words.loc["C001", "basis"]
    '近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次'
    >>> explain_tiers(tiers, snap, "en").loc["C001", "basis"]
    '12-month revenue CNY 650,000 ≥ CNY 500,000 and 6-month interactions 12 ≥ 10'
    """
    check_lang(lang)
    cfg = load_tiers_config(config)
    thresholds = tiers.attrs.get("thresholds")
    if thresholds is None:
        thresholds = resolve_thresholds(snapshot, None if isinstance(config, TiersConfig) else config)
    rules = RuleSet(cfg, "tiers", thresholds)
    missing = tiers.index.difference(snapshot.index)
    if len(missing):
        raise ValueError(f"explain_tiers: {len(missing)} customer(s) of the tier table are not in the snapshot "
                         f"(e.g. {missing[0]!r}); pass the snapshot the tiers were made from")
    words = rules.explain(snapshot, tiers, lang)
    label = lambda k: rules.label(k, lang)  # noqa: E731
    if "override_date" in tiers and tiers["override_date"].notna().any():
        overridden = override_texts(tiers, words["basis"], label, cfg.overrides.stale_after_days, lang)
        words = words.astype(object)
        words.loc[overridden.index, ["basis", "review_reason"]] = overridden[["basis", "review_reason"]].to_numpy()
    out = pd.DataFrame({"tier_label": tier_labels(tiers, lang, cfg)}, index=tiers.index)
    out["basis"] = words["basis"]
    out["review_reason"] = words["review_reason"]
    return out.astype("str")


# --- the handbook's worked examples --------------------------------------------------------


def handbook_examples() -> pd.DataFrame:
    """The four worked examples C001-C004 of the handbook's tier template, snapshot-shaped.

    Only the columns of the template and of the tier rules are filled (amounts in CNY);
    C002 asked about new products (one new-need inquiry); C004 has no interactions and no
    renewal intention. Expected tiers: core, potential, ordinary, low value.

    Examples
    --------
    >>> handbook_examples()[["revenue_12m", "interactions_6m"]]
                 revenue_12m  interactions_6m
    customer_id                              
    C001            650000.0               12
    C002            280000.0                5
    C003            120000.0                3
    C004             30000.0                0
    """
    df = pd.DataFrame(
        {
            "customer_id": ["C001", "C002", "C003", "C004"],
            "name": ["*科技有限公司", "*贸易公司", "*制造厂", "*个体工商户"],
            "industry": ["it_services", "retail", "manufacturing", "services"],
            "contact_name": ["李明", "王芳", "赵强", None],
            "contact_title": ["总监", "经理", "主管", None],
            "revenue_12m": [650000.0, 280000.0, 120000.0, 30000.0],
            "interactions_6m": [12, 5, 3, 0],
            "tenure_months": [24, 12, 6, 3],
            "need_type": ["solution_customisation", "product_purchase", "technical_service", "product_purchase"],
            "new_need_inquiry_6m": [0, 1, 0, 0],
            "renewal_intent": pd.array([pd.NA, pd.NA, pd.NA, False], dtype="boolean"),
        }
    ).set_index("customer_id")
    df["name"] = df["name"].astype("str")
    return df

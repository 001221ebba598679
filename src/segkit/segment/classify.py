"""Other classifications (business-rules.md sections 3 and 4) and the combined label.

- :func:`value_class` — high value 高价值客户 (12-month amount >= 500,000), potential 潜力客户
  (100,000-500,000 and six-month growth >= 20%), ordinary 普通客户 (< 100,000), with the
  basis in words (:func:`explain_classes`); 100,000-500,000 without that growth is counted as ordinary (configurable).
- :func:`lifecycle_stage` — prospect / intent / active / churned (cooperation ended more
  than 3 months ago), or the alternative wording prospect / new / old / churned.
- :func:`company_size` — large / medium / small from employees or annual revenue.
- :func:`industry`, :func:`need_type` — the vocabulary keys of the customer record, labelled.
- :func:`classify` — all of them (keys).
- :func:`explain_classes` — their words at the edge: labels, the value class's basis and
  :func:`combined_label`, e.g. ``制造业-高价值-合作中-解决方案定制型``.

The rules live in ``segkit/defaults/classify.yaml``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.features import SNAPSHOT_COLUMNS
from segkit.labels import check_lang, label_series
from segkit.segment._expr import ExpressionError, parse
from segkit.segment.thresholds import default_thresholds, resolve_thresholds
from segkit.segment.rules import ConfigItem, Label, RuleSet, RuleSetConfig
from segkit.segment.tiers import section_source

__all__ = [
    "ClassifyConfig",
    "load_classify_config",
    "value_class",
    "lifecycle_stage",
    "company_size",
    "industry",
    "need_type",
    "classify",
    "explain_classes",
    "combined_label",
    "CLASS_PARTS",
]

CLASS_PARTS = ("industry", "value_class", "lifecycle_stage", "company_size", "need_type")


class ExprRule(ConfigItem):
    key: str
    when: str


class LifecycleConfig(StrictModel):
    scheme: str
    labels: dict[str, Label]
    schemes: dict[str, list[ExprRule]]


class CompanySizeConfig(StrictModel):
    labels: dict[str, Label]
    rules: list[ExprRule]
    other: str


class CombinedLabelConfig(StrictModel):
    parts: list[Literal["industry", "value_class", "lifecycle_stage", "company_size", "need_type"]]
    separator: str = "-"
    missing: Label


@register_section("classify")
class ClassifyConfig(StrictModel):
    """The ``classify`` configuration section."""

    value_class: RuleSetConfig
    lifecycle: LifecycleConfig
    company_size: CompanySizeConfig
    combined_label: CombinedLabelConfig


def _check_rules(rules: list[ExprRule], labels: Mapping[str, Label], where: str, lines: Mapping[str, float] | None = None) -> None:
    for i, rule in enumerate(rules):
        if rule.key not in labels:
            raise ConfigError(f"{where}[{i}].key: unknown key {rule.key!r}; allowed: {sorted(labels)}")
        try:
            parse(rule.when, SNAPSHOT_COLUMNS, kind="rule", where=f"{where}[{i}].when", constants=lines)
        except ExpressionError as exc:
            raise ConfigError(str(exc)) from None


@lru_cache(maxsize=1)
def _default_classify_config() -> ClassifyConfig:
    return load_classify_config({})


def load_classify_config(config: str | Path | Mapping[str, Any] | ClassifyConfig | None = None) -> ClassifyConfig:
    """The ``classify`` section: package defaults overridden by ``config``, validated.

    Examples
    --------
    >>> load_classify_config().combined_label.parts
    ['industry', 'value_class', 'lifecycle_stage', 'need_type']
    >>> load_classify_config({"classify": {"combined_label": {"parts": ["industry", "size"]}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'classify' configuration:
      - combined_label.parts.1: Input should be 'industry', 'value_class', 'lifecycle_stage', 'company_size' or 'need_type' (got 'size')
    """
    config = section_source("classify", config)
    if config is None:
        return _default_classify_config().model_copy(deep=True)
    cfg = config if isinstance(config, ClassifyConfig) else load_section("classify", ClassifyConfig, config)
    thresholds = default_thresholds(None if isinstance(config, ClassifyConfig) else config)
    RuleSet(cfg.value_class, "classify.value_class", thresholds)
    lines = thresholds.constants()
    life = cfg.lifecycle
    if life.scheme not in life.schemes:
        raise ConfigError(f"classify.lifecycle.scheme: unknown scheme {life.scheme!r}; schemes: {sorted(life.schemes)}")
    for name, rules in life.schemes.items():
        _check_rules(rules, life.labels, f"classify.lifecycle.schemes.{name}", lines)
    size = cfg.company_size
    _check_rules(size.rules, size.labels, "classify.company_size.rules", lines)
    if size.other not in size.labels:
        raise ConfigError(f"classify.company_size.other: unknown key {size.other!r}; allowed: {sorted(size.labels)}")
    return cfg


def _first_match(snapshot: pd.DataFrame, rules: list[ExprRule], other: str | None, what: str, config: Any = None) -> pd.Series:
    out = pd.Series(other, index=snapshot.index, dtype=object)
    done = pd.Series(False, index=snapshot.index)
    lines = resolve_thresholds(snapshot, None if isinstance(config, ClassifyConfig) else config).constants()
    for rule in rules:
        expr = parse(rule.when, kind="rule", constants=lines)
        missing = sorted(expr.columns - set(snapshot.columns))
        if missing:
            raise ValueError(f"the snapshot has no column {missing[0]!r} needed by the {what} rule {rule.when!r}")
        hit = expr.evaluate(snapshot) & ~done
        out[hit] = rule.key
        done |= hit
    return out


def _labelled(keys: pd.Series, labels: Mapping[str, Label], lang: str, short: bool = False) -> pd.Series:
    return keys.map(lambda k: labels[k].text(lang, short) if k in labels else ("" if pd.isna(k) else str(k))).astype("str")


def value_class(snapshot: pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """Value class with growth (section 3); keys only (words: :func:`explain_classes`).

    Parameters
    ----------
    snapshot : DataFrame
        Needs ``revenue_12m`` and ``revenue_growth_6m``.
    config : path or mapping, optional
        User configuration (``classify`` section).

    Returns
    -------
    DataFrame
        ``value_class`` (high_value / potential / ordinary).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": [650000.0, 300000.0, 300000.0, 80000.0],
    ...                      "revenue_growth_6m": [0.0, 0.25, 0.05, None]}, index=list("ABCD"))
    >>> value_class(snap)["value_class"].tolist()
    ['high_value', 'potential', 'ordinary', 'ordinary']
    """
    cfg = load_classify_config(config)
    thresholds = resolve_thresholds(snapshot, None if isinstance(config, ClassifyConfig) else config)
    keys = RuleSet(cfg.value_class, "classify.value_class", thresholds).assign(snapshot)
    return pd.DataFrame({"value_class": keys.astype("str")}, index=snapshot.index)


def lifecycle_stage(snapshot: pd.DataFrame, scheme: str | None = None, config: Any = None) -> pd.DataFrame:
    """Lifecycle / cooperation stage (section 4.1); keys only (words: :func:`explain_classes`).

    The default ``cooperation`` scheme, first match wins: an order in the last 3 months ->
    active 合作中; the record says churned -> churned 流失; ordered before but no order, no
    interaction in the last 3 months and no stated renewal intention (cooperation ended more
    than 3 months ago) -> churned; ordered, or the record says active -> active; the record
    says intent -> intent 意向; otherwise prospect 潜在. The ``relationship`` scheme uses
    prospect / new 新客户 (first cooperation < 12 months ago) / old 老客户 / churned.

    Returns
    -------
    DataFrame
        ``lifecycle_stage``.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({
    ...     "stage": ["active", "churned", "intent", None, "active"],
    ...     "orders_total": [5, 3, 0, 0, 2], "orders_0_3m": [1, 0, 0, 0, 0],
    ...     "interactions_3m": [2, 0, 1, 0, 0], "tenure_months": [30, 40, 0, 0, 8],
    ...     "renewal_intent": pd.array([True, None, None, None, None], dtype="boolean")},
    ...     index=list("ABCDE"))
    >>> lifecycle_stage(snap)["lifecycle_stage"].tolist()
    ['active', 'churned', 'intent', 'prospect', 'churned']
    >>> stages = lifecycle_stage(snap, "relationship")
    >>> explain_classes(stages, lang="en")["lifecycle_stage_label"].tolist()
    ['Long-standing', 'Churned', 'Prospect', 'Prospect', 'Churned']
    """
    cfg = load_classify_config(config).lifecycle
    name = scheme or cfg.scheme
    if name not in cfg.schemes:
        raise ValueError(f"unknown lifecycle scheme {name!r}; schemes: {sorted(cfg.schemes)}")
    keys = _first_match(snapshot, cfg.schemes[name], None, "lifecycle", config)
    return pd.DataFrame({"lifecycle_stage": keys.astype("str")}, index=snapshot.index)


def company_size(snapshot: pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """Company size (section 4.2): large > 1,000 employees or revenue > 100 M; medium
    100-1,000 or 10 M-100 M; small below; ``unknown`` when both are missing. When the two
    measures disagree the larger class wins. Keys only (words: :func:`explain_classes`).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"employees": pd.array([1500, 50, 300, None], dtype="Int64"),
    ...                      "annual_revenue": [None, 2.0e8, 5.0e6, None]}, index=list("ABCD"))
    >>> company_size(snap)["company_size"].tolist()
    ['large', 'large', 'medium', 'unknown']
    """
    cfg = load_classify_config(config).company_size
    keys = _first_match(snapshot, cfg.rules, cfg.other, "company size", config)
    return pd.DataFrame({"company_size": keys.astype("str")}, index=snapshot.index)


def _vocabulary_column(snapshot: pd.DataFrame, column: str) -> pd.DataFrame:
    if column not in snapshot.columns:
        raise ValueError(f"the snapshot has no column {column!r}")
    return pd.DataFrame({column: snapshot[column].astype("str")}, index=snapshot.index)


def industry(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Industry (section 4.3): the vocabulary key (labels: :func:`explain_classes`).

    Values outside the vocabulary are kept as written (:func:`segkit.load_dataset` reports
    them).

    Examples
    --------
    >>> import pandas as pd
    >>> explain_classes(industry(pd.DataFrame({"industry": ["manufacturing", "retail"]})))["industry_label"].tolist()
    ['制造业', '零售业']
    """
    return _vocabulary_column(snapshot, "industry")


def need_type(snapshot: pd.DataFrame) -> pd.DataFrame:
    """Need type (section 4.4): product purchase 产品采购型, technical service 技术服务型,
    solution customisation 解决方案定制型, long-term strategic 长期战略合作型; the key.

    Examples
    --------
    >>> import pandas as pd
    >>> explain_classes(need_type(pd.DataFrame({"need_type": ["strategic"]})), lang="en")["need_type_label"].tolist()
    ['Long-term strategic']
    """
    return _vocabulary_column(snapshot, "need_type")


def combined_label(
    classes: pd.DataFrame,
    parts: Sequence[str] | None = None,
    lang: str = "zh",
    config: Any = None,
    separator: str | None = None,
) -> pd.Series:
    """Join the main classes into one label per customer (section 4.5).

    Parameters
    ----------
    classes : DataFrame
        Key columns named as in :data:`CLASS_PARTS` (e.g. the output of :func:`classify`).
    parts : list of str, optional
        Which classes to join, in order; default from the configuration
        (industry, value_class, lifecycle_stage, need_type).
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
    separator : str, optional
        Default from the configuration (``-``).

    Examples
    --------
    >>> import pandas as pd
    >>> classes = pd.DataFrame({"industry": ["manufacturing"], "value_class": ["high_value"],
    ...     "lifecycle_stage": ["active"], "need_type": ["solution_customisation"]})
    >>> combined_label(classes).iloc[0]
    '制造业-高价值-合作中-解决方案定制型'
    >>> combined_label(classes, parts=["value_class", "industry"], lang="en").iloc[0]
    'High value-Manufacturing'
    """
    check_lang(lang)
    cfg = load_classify_config(config)
    parts = list(parts) if parts is not None else list(cfg.combined_label.parts)
    unknown = [p for p in parts if p not in CLASS_PARTS]
    if unknown:
        raise ValueError(f"unknown class {unknown[0]!r} for the combined label; allowed: {list(CLASS_PARTS)}")
    missing_cols = [p for p in parts if p not in classes.columns]
    if missing_cols:
        raise ValueError(f"the table has no column {missing_cols[0]!r}; run segkit.segment.classify.classify first")
    sep = cfg.combined_label.separator if separator is None else separator
    missing = cfg.combined_label.missing.text(lang)
    own = {
        "value_class": cfg.value_class.labels,
        "lifecycle_stage": cfg.lifecycle.labels,
        "company_size": cfg.company_size.labels,
    }
    texts = []
    for part in parts:
        keys = classes[part]
        if part in own:
            text = _labelled(keys, own[part], lang, short=True)
        else:
            text = label_series(part, keys, lang, short=True)
        texts.append(text.where(keys.notna() & (text != ""), missing))
    out = texts[0].astype(object)
    for text in texts[1:]:
        out = out + sep + text
    return out.astype("str").rename("combined_label")


def classify(snapshot: pd.DataFrame, config: Any = None, lifecycle_scheme: str | None = None) -> pd.DataFrame:
    """All classifications of sections 3-4, one row per customer; keys only.

    Words (labels, the value class's basis, the combined label) are :func:`explain_classes`'.

    Returns
    -------
    DataFrame
        ``value_class``, ``lifecycle_stage``, ``company_size``, ``industry``, ``need_type``.

    Examples
    --------
    >>> from segkit.segment.tiers import handbook_examples
    >>> snap = handbook_examples().assign(
    ...     revenue_growth_6m=0.1, stage="active", orders_total=4, orders_0_3m=1,
    ...     interactions_3m=1, employees=200, annual_revenue=float("nan"))
    >>> classes = classify(snap)
    >>> classes.iloc[0].tolist()
    ['high_value', 'active', 'medium', 'it_services', 'solution_customisation']
    >>> explain_classes(classes, snap)["combined_label"].tolist()[:2]
    ['IT服务业-高价值-合作中-解决方案定制型', '零售业-普通-合作中-产品采购型']
    """
    cfg = load_classify_config(config)
    frames = [
        value_class(snapshot, cfg),
        lifecycle_stage(snapshot, lifecycle_scheme, cfg),
        company_size(snapshot, cfg),
        industry(snapshot),
        need_type(snapshot),
    ]
    return pd.concat(frames, axis=1)


def explain_classes(classes: pd.DataFrame, snapshot: pd.DataFrame | None = None, lang: str = "zh", config: Any = None) -> pd.DataFrame:
    """The words for :func:`classify`'s keys (or any of its columns): labels, basis, combined label.

    The edge function of the classifications: call it for the rows a person reads.

    Parameters
    ----------
    classes : DataFrame
        Key columns named as in :data:`CLASS_PARTS` (:func:`classify`, :func:`value_class`, ...).
    snapshot : DataFrame, optional
        The snapshot the classes were made from; needed for ``value_class_basis`` (the
        customer's values), left out without it.
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
        The configuration the classes were made with.

    Returns
    -------
    DataFrame
        Indexed like ``classes``: ``<part>_label`` for every class column present,
        ``value_class_basis`` (with ``value_class`` and a snapshot) and ``combined_label``
        (when every configured part is present).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": [650000.0, 300000.0], "revenue_growth_6m": [0.0, 0.25]}, index=["A", "B"])
    >>> words = explain_classes(value_class(snap), snap)
    >>> words.loc["B"].tolist()
    ['潜力客户', '近12个月交易额30.0万元 ∈ [10万元, 50万元) 且 近6个月交易额增长25.0% ≥ 20%']
    >>> explain_classes(value_class(snap), lang="en")["value_class_label"].tolist()
    ['High value', 'Potential']
    """
    check_lang(lang)
    cfg = load_classify_config(config)
    own = {"value_class": cfg.value_class.labels, "lifecycle_stage": cfg.lifecycle.labels, "company_size": cfg.company_size.labels}
    out = pd.DataFrame(index=classes.index)
    for part in [c for c in classes.columns if c in CLASS_PARTS]:
        keys = classes[part]
        out[f"{part}_label"] = _labelled(keys, own[part], lang) if part in own else label_series(part, keys.astype("str"), lang)
        if part == "value_class" and snapshot is not None:
            thresholds = resolve_thresholds(snapshot, None if isinstance(config, ClassifyConfig) else config)
            rules = RuleSet(cfg.value_class, "classify.value_class", thresholds)
            out["value_class_basis"] = rules.explain(snapshot, classes, lang)["basis"].astype("str")
    if all(p in classes.columns for p in cfg.combined_label.parts):
        out["combined_label"] = combined_label(classes, None, lang, cfg)
    return out

"""Per-tier strategy (分层运营策略) combined with churn risk: what to do, how often, who does it.

business-rules.md section 9 gives each tier its actions, refresh cadence and responsible
role; section 8 adds the win-back actions: a core customer at risk gets a senior-management
visit within 72 hours with a tailored compensation offer, a dormant customer a recall offer
(exclusive coupon + needs survey) and a call within 24 hours, a churn-risk customer the
recall process and an analysis of the reasons. The texts live in the ``strategy``
configuration (``segkit/defaults/strategy.yaml``, model :class:`StrategyConfig`, loaded by
:func:`load_strategy`); each tier also names its owner role and the action an at-risk customer
of the tier gets (low value: an automated recall, since section 9 says stop investing).
:func:`recommend` applies them per customer, :func:`strategy_plan` gives per tier the counts,
revenue, customers at risk, owner role and response deadline (numbers and keys), and
:func:`strategy_table` prints the texts per tier for reports.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.labels import check_lang, label
from segkit.segment.rules import ConfigItem, Label
from segkit.segment.tiers import section_source

__all__ = [
    "recommend",
    "describe_recommendations",
    "strategy_table",
    "WIN_BACK_CASES",
    "DORMANT_SEGMENTS",
    "StrategyConfig",
    "load_strategy",
    "tier_strategy",
    "at_risk_customers",
    "respond_within_days",
    "strategy_plan",
]


# --- the strategy configuration (moved here from segkit.segment.tiers) -------------------------


class Cadence(ConfigItem):
    months: int = Field(ge=1)
    zh: str
    en: str


class TierStrategyConfig(ConfigItem):
    owner_role: str
    at_risk: str
    cadence: str
    summary: Label
    actions: list[Label]


class WinBack(Label):
    """An at-risk action: its text, a short name for lists (``zh_short`` / ``en_short``, see
    ``Label.text(lang, short=True)``), the response time and who carries it out."""

    within_hours: int = Field(ge=0)
    owner_role: str


class RecordRefresh(StrictModel):
    contact_change_working_days: int = Field(ge=0)
    contract_status_hours: int = Field(ge=0)


@register_section("strategy")
class StrategyConfig(StrictModel):
    """The ``strategy`` section: per-tier actions, cadence and role; win-back texts."""

    roles: dict[str, Label]
    cadences: dict[str, Cadence]
    tiers: dict[str, TierStrategyConfig]
    win_back: dict[str, WinBack]
    record_refresh: RecordRefresh


@lru_cache(maxsize=1)
def _default_strategy() -> StrategyConfig:
    return load_strategy({})


def load_strategy(config: str | Path | Mapping[str, Any] | StrategyConfig | None = None) -> StrategyConfig:
    """The ``strategy`` section (per-tier actions, cadence, role; win-back texts).

    Examples
    --------
    >>> s = load_strategy()
    >>> s.tiers["core"].cadence, s.cadences["monthly"].months, s.win_back["core_at_risk"].within_hours
    ('monthly', 1, 72)
    """
    config = section_source("strategy", config)
    if config is None:
        return _default_strategy().model_copy(deep=True)
    cfg = config if isinstance(config, StrategyConfig) else load_section("strategy", StrategyConfig, config)
    for tier, strategy in cfg.tiers.items():
        if strategy.cadence not in cfg.cadences:
            raise ConfigError(
                f"strategy.tiers.{tier}.cadence: unknown cadence {strategy.cadence!r}; allowed: {sorted(cfg.cadences)}"
            )
        if strategy.at_risk not in cfg.win_back:
            raise ConfigError(
                f"strategy.tiers.{tier}.at_risk: unknown action {strategy.at_risk!r}; allowed: {sorted(cfg.win_back)} (win_back keys)"
            )
    owners = {f"tiers.{k}": v.owner_role for k, v in cfg.tiers.items()} | {f"win_back.{k}": v.owner_role for k, v in cfg.win_back.items()}
    for where, role in owners.items():
        if role not in cfg.roles:
            raise ConfigError(f"strategy.{where}.owner_role: unknown role {role!r}; allowed: {sorted(cfg.roles)}")
    return cfg


def tier_strategy(tiers: pd.Series, lang: str = "zh", config: Any = None) -> pd.Series:
    """The short strategy text (后续策略建议) for each tier key.

    Examples
    --------
    >>> import pandas as pd
    >>> tier_strategy(pd.Series(["ordinary"]), "en").iloc[0]
    'Standardised service, periodic product-update e-mails, quarterly call-back; watch for upgrade signals'
    """
    check_lang(lang)
    cfg = load_strategy(config)
    texts = {k: v.summary.text(lang) for k, v in cfg.tiers.items()}
    return tiers.map(lambda k: texts.get(k, "")).astype(str)


# --- per customer and per tier ----------------------------------------------------------------

#: Win-back cases, by priority (a customer gets the first that applies).
WIN_BACK_CASES = ("core_at_risk", "churn_risk", "dormant")
#: RFM segments treated as dormant (沉睡): the handbook scheme's ``dormant`` and the named
#: segments' ``hibernating`` (休眠).
DORMANT_SEGMENTS = ("dormant", "hibernating")
RISK_LEVELS = ("high", "medium", "low")

# Words that are not in the strategy configuration: table headers and the labels of the
# "core at risk" and "automated" cases.
_WORDS = {
    "zh": {
        "tier": "客户层级", "actions": "运营策略", "cadence": "数据更新频率", "role": "负责角色",
        "within": "响应时限", "within_hours": "{h}小时内", "none": "—", "sep": "；",
        "core_at_risk": "核心客户（高流失风险）", "automated": "低价值客户（自动化召回）",
    },
    "en": {
        "tier": "Tier", "actions": "Actions", "cadence": "Refresh cadence", "role": "Responsible",
        "within": "Respond within", "within_hours": "{h} hours", "none": "—", "sep": "; ",
        "core_at_risk": "Core at high churn risk", "automated": "Low value (automated recall)",
    },
}


def _owner_role(cfg: StrategyConfig, tier: str, case: str) -> str:
    """The owner role key: the win-back action's for a win-back case, else the tier's."""
    return cfg.tiers[tier].owner_role if case == "tier" else cfg.win_back[case].owner_role


def _case_label(case: str, lang: str) -> str:
    if case in ("core_at_risk", "automated"):
        return _WORDS[lang][case]
    if case == "churn_risk":
        return label("rfm_group", "churn_risk", lang)       # 流失风险客户 / Churn risk
    return label("rfm_segment", "dormant", lang)            # 沉睡客户 / Dormant


def _win_back(cfg: StrategyConfig) -> None:
    missing = [c for c in WIN_BACK_CASES if c not in cfg.win_back]
    if missing:
        raise ValueError(f"strategy.win_back has no {missing}; needed: {list(WIN_BACK_CASES)}")


def _dormant_flags(dormant: Any, index: pd.Index) -> pd.Series:
    if dormant is None:
        return pd.Series(False, index=index)
    if isinstance(dormant, pd.DataFrame):
        if "rfm_segment" not in dormant.columns:
            raise ValueError("dormant= as a table needs an 'rfm_segment' column (from segkit.rfm_scores); "
                             f"columns: {list(dormant.columns)}")
        flags = dormant["rfm_segment"].isin(DORMANT_SEGMENTS)
    elif isinstance(dormant, pd.Series) and pd.api.types.is_bool_dtype(dormant):
        flags = dormant.fillna(False).astype(bool)
    elif isinstance(dormant, Iterable) and not isinstance(dormant, str):
        ids = set(map(str, dormant))
        flags = pd.Series(index.astype(str).isin(ids), index=index)
    else:
        raise TypeError("dormant= takes a boolean Series, a collection of customer ids or an RFM table")
    return flags.reindex(index, fill_value=False).astype(bool)


def recommend(
    tiers: pd.DataFrame | pd.Series,
    churn: pd.DataFrame | pd.Series | None = None,
    *,
    dormant: Any = None,
    risk_levels: Iterable[str] = ("high",),
    config: Any = None,
) -> pd.DataFrame:
    """Per customer: the actions, cadence and responsible role of its tier, plus win-back.

    The tier's actions, refresh cadence and role come from the ``strategy`` configuration.
    A win-back action is added, first match wins:

    1. a customer whose churn risk is in ``risk_levels`` (default high) gets its tier's
       at-risk action (``strategy.tiers.<tier>.at_risk``): by default ``core_at_risk`` for
       core (senior management visits within 72 hours with a tailored compensation offer),
       ``automated`` for low value (an automated recall, no personal call: section 9 says
       stop investing) and ``churn_risk`` for the others (the recall process: exclusive
       coupon + needs survey, a call within 24 hours, and an analysis of the churn reasons);
    2. a dormant core customer: ``core_at_risk``;
    3. ``dormant`` -- any other dormant customer: exclusive coupon + needs survey, a call
       within 24 hours.

    When ``churn`` comes from :func:`segkit.score_churn` it carries the action already chosen
    for each scored customer (column ``action_key``, decided by the ``churn``
    configuration, which has its own dormant rule); that choice is kept for those customers
    so that the churn report and this table agree, and ``dormant=`` then only adds the
    recall for customers still in the plain tier case.

    Parameters
    ----------
    tiers : DataFrame or Series
        Indexed by customer_id with a ``tier`` column (e.g. :func:`segkit.assign_tiers`).
    churn : DataFrame or Series, optional
        Indexed by customer_id with a ``risk_level`` column (high / medium / low), e.g.
        :func:`segkit.score_churn`. Customers missing from it have no known risk; customers
        only in it are ignored.
    dormant : boolean Series, collection of ids or RFM table, optional
        Which customers are dormant (沉睡). An RFM table (:func:`segkit.rfm_scores`) marks
        the segments in :data:`DORMANT_SEGMENTS`.
    risk_levels : collection of str, default ("high",)
        Risk levels that trigger a win-back action.
    config : path, mapping or StrategyConfig, optional

    Returns
    -------
    DataFrame
        Indexed like ``tiers``: ``tier``, ``risk_level`` (missing when unknown),
        ``dormant``, ``case`` (``tier`` or a win-back case), ``respond_within_hours``
        (Int64), ``cadence`` (a ``strategy.cadences`` key), ``owner_role`` (a
        ``strategy.roles`` key); plus ``owner`` / ``department`` when ``tiers`` or ``churn``
        has them. Keys and numbers: :func:`describe_recommendations` gives the words.

    Examples
    --------
    >>> import pandas as pd
    >>> tiers = pd.DataFrame({"tier": ["core", "core", "low_value"]},
    ...                      index=pd.Index(["C1", "C2", "C3"], name="customer_id"))
    >>> churn = pd.DataFrame({"risk_level": ["high", "low", "low"]}, index=tiers.index)
    >>> r = recommend(tiers, churn, dormant=["C3"])
    >>> r["case"].tolist(), r["respond_within_hours"].tolist()
    (['core_at_risk', 'tier', 'dormant'], [72, <NA>, 24])
    >>> r["owner_role"].tolist()
    ['senior_management', 'customer_success_manager', 'account_owner']
    """
    cfg = load_strategy(config)
    _win_back(cfg)
    table = tiers.to_frame("tier") if isinstance(tiers, pd.Series) else tiers
    if "tier" not in table.columns:
        raise ValueError(f"the tiers table has no 'tier' column; columns: {list(table.columns)}")
    index = table.index
    tier = table["tier"].astype("str")
    unknown = sorted(set(tier) - set(cfg.tiers))
    if unknown:
        raise ValueError(f"no strategy for tier(s) {unknown}; strategy.tiers has {list(cfg.tiers)}")

    levels = set(risk_levels)
    bad_levels = sorted(levels - set(RISK_LEVELS))
    if bad_levels:
        raise ValueError(f"unknown risk level(s) {bad_levels}; use {list(RISK_LEVELS)}")
    if churn is None:
        risk = pd.Series(pd.NA, index=index, dtype="str")
    else:
        risk_table = churn.to_frame("risk_level") if isinstance(churn, pd.Series) else churn
        if "risk_level" not in risk_table.columns:
            raise ValueError(f"the churn table has no 'risk_level' column; columns: {list(risk_table.columns)}")
        risk = risk_table["risk_level"].reindex(index).astype("str")
        odd = sorted(set(risk.dropna()) - set(RISK_LEVELS))
        if odd:
            raise ValueError(f"unknown risk_level value(s) {odd}; expected {list(RISK_LEVELS)}")
    at_risk = risk.isin(levels).fillna(False).astype(bool)
    is_dormant = _dormant_flags(dormant, index)

    core = tier == "core"
    case = pd.Series("tier", index=index, dtype="object")
    # the tier's own at-risk action (strategy.tiers.<tier>.at_risk): core -> senior visit,
    # low value -> automated recall (section 9: stop investing), others -> the recall process
    case[at_risk] = tier[at_risk].map({t: plan.at_risk for t, plan in cfg.tiers.items()})
    if churn is not None and isinstance(churn, pd.DataFrame) and "action_key" in churn.columns:
        # score_churn already chose the action with the churn configuration's rules (e.g. its
        # dormant rule): use its choice, so the churn report and this table agree.
        decided = churn["action_key"].reindex(index)
        odd = sorted(set(decided.dropna()) - {"tier", *cfg.win_back})
        if odd:
            raise ValueError(f"unknown action_key value(s) {odd}; expected 'tier' or {list(cfg.win_back)}")
        case[decided.notna()] = decided[decided.notna()]
    # dormant customers not already in a win-back case: recall (core: senior management)
    plain = case == "tier"
    case[plain & is_dormant & ~core] = "dormant"
    case[plain & is_dormant & core] = "core_at_risk"

    out = pd.DataFrame(index=index)
    for col in ("owner", "department"):
        source = table if col in table.columns else (churn if isinstance(churn, pd.DataFrame) and col in churn.columns else None)
        if source is not None:
            out[col] = source[col].reindex(index)
    out["tier"] = tier
    out["risk_level"] = risk
    out["dormant"] = is_dormant
    out["case"] = case.astype("str")
    out["respond_within_hours"] = pd.array(
        [pd.NA if c == "tier" else cfg.win_back[c].within_hours for c in case], dtype="Int64")
    out["cadence"] = tier.map({t: plan.cadence for t, plan in cfg.tiers.items()}).astype("str")
    out["owner_role"] = pd.Series([_owner_role(cfg, t, c) for c, t in zip(case, tier)], index=index, dtype="str")
    out.attrs = {"risk_levels": sorted(levels)}
    return out


def describe_recommendations(recommended: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.DataFrame:
    """The words of :func:`recommend`'s keys, from the ``strategy`` configuration (the edge).

    Parameters
    ----------
    recommended : DataFrame
        From :func:`recommend` (columns ``tier``, ``case``, ``cadence``, ``owner_role``).
    lang : {"zh", "en"}, default "zh"
    config : path, mapping or StrategyConfig, optional

    Returns
    -------
    DataFrame
        Indexed like ``recommended``: ``tier_label``, ``case_label`` (the tier's label for the
        plain ``tier`` case), ``priority_action`` (the win-back text, empty for ``tier``),
        ``actions`` (the tier's actions), ``cadence_label``, ``responsible_role``.

    Examples
    --------
    >>> import pandas as pd
    >>> r = pd.DataFrame({"tier": ["core", "ordinary"], "case": ["core_at_risk", "tier"], "cadence": ["monthly", "half_yearly"],
    ...                   "owner_role": ["senior_management", "service_team"]}, index=["C1", "C2"])
    >>> describe_recommendations(r, "en")[["case_label", "cadence_label", "responsible_role"]].values.tolist()
    [['Core at high churn risk', 'Monthly', 'Senior management'], ['Ordinary', 'Half-yearly', 'Standard service team']]
    >>> describe_recommendations(r).loc["C1", "priority_action"]
    '核心客户出现流失风险：72小时内由高层拜访，提供定制化补偿方案'
    """
    check_lang(lang)
    cfg = load_strategy(config)
    words = _WORDS[lang]
    tier, case = recommended["tier"].astype("str"), recommended["case"].astype("str")
    out = pd.DataFrame(index=recommended.index)
    out["tier_label"] = [label("tier", t, lang) for t in tier]
    out["case_label"] = [t_label if c == "tier" else _case_label(c, lang) for c, t_label in zip(case, out["tier_label"])]
    out["priority_action"] = ["" if c == "tier" else getattr(cfg.win_back[c], lang) for c in case]
    actions = {t: words["sep"].join(a.text(lang) for a in plan.actions) for t, plan in cfg.tiers.items()}
    out["actions"] = tier.map(actions)
    out["cadence_label"] = recommended["cadence"].map(lambda k: getattr(cfg.cadences[k], lang))
    out["responsible_role"] = recommended["owner_role"].map(lambda k: cfg.roles[k].text(lang))
    return out.astype("str")


def strategy_table(lang: str = "zh", *, win_back: bool = True, config: Any = None) -> pd.DataFrame:
    """One row per tier (and per win-back case): actions, refresh cadence, responsible role.

    For reports: the column headers are in ``lang``; the index holds the stable keys.

    Parameters
    ----------
    lang : {"zh", "en"}, default "zh"
    win_back : bool, default True
        Add the rows for dormant, churn-risk and core-at-risk customers.
    config : path, mapping or StrategyConfig, optional

    Returns
    -------
    DataFrame
        Indexed by tier key (then the win-back cases); columns 客户层级 / 运营策略 /
        数据更新频率 / 负责角色 / 响应时限 (en: Tier / Actions / Refresh cadence /
        Responsible / Respond within).

    Examples
    --------
    >>> t = strategy_table("en")
    >>> t.loc["potential", ["Tier", "Refresh cadence", "Responsible"]].tolist()
    ['Potential', 'Quarterly', 'Sales follows up closely']
    >>> strategy_table("zh").loc["core_at_risk", "响应时限"]
    '72小时内'
    """
    check_lang(lang)
    cfg = load_strategy(config)
    words = _WORDS[lang]
    rows = {}
    for tier, plan in cfg.tiers.items():
        rows[tier] = {
            words["tier"]: label("tier", tier, lang),
            words["actions"]: words["sep"].join(a.text(lang) for a in plan.actions),
            words["cadence"]: getattr(cfg.cadences[plan.cadence], lang),
            words["role"]: cfg.roles[plan.owner_role].text(lang),
            words["within"]: words["none"],
        }
    if win_back:
        _win_back(cfg)
        for case in ("dormant", "churn_risk", "core_at_risk"):
            entry = cfg.win_back[case]
            rows[case] = {
                words["tier"]: _case_label(case, lang),
                words["actions"]: entry.zh if lang == "zh" else entry.en,
                words["cadence"]: words["none"],
                words["role"]: cfg.roles[entry.owner_role].text(lang),
                words["within"]: words["within_hours"].format(h=entry.within_hours),
            }
    out = pd.DataFrame.from_dict(rows, orient="index").astype("str")
    out.index.name = "key"
    return out


# --- the plan per tier: counts, owners, deadlines ---------------------------------------------


def respond_within_days(action: str, config: Any = None) -> int:
    """Whole days to respond for a win-back action: its ``within_hours``, rounded up to days.

    Examples
    --------
    >>> respond_within_days("core_at_risk"), respond_within_days("churn_risk"), respond_within_days("automated")
    (3, 1, 7)
    """
    cfg = config if isinstance(config, StrategyConfig) else load_strategy(config)
    if action not in cfg.win_back:
        raise ValueError(f"unknown action {action!r}; strategy.win_back has {sorted(cfg.win_back)}")
    return math.ceil(cfg.win_back[action].within_hours / 24)


def at_risk_customers(scores: pd.DataFrame, threshold: float | None = None) -> pd.Index:
    """The customers at churn risk: risk level ``high``, or a probability of at least ``threshold``.

    Parameters
    ----------
    scores : DataFrame
        Indexed by customer_id, e.g. from :func:`segkit.score_churn`: ``risk_level``
        (without a threshold) or ``churn_probability`` (with one).
    threshold : float in [0, 1], optional
        Use ``churn_probability >= threshold`` instead of the scores' high risk level.

    Returns
    -------
    Index
        Customer ids, in the order of ``scores``.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.DataFrame({"churn_probability": [0.9, 0.55, 0.2], "risk_level": ["high", "medium", "low"]},
    ...                  index=pd.Index(["C1", "C2", "C3"], name="customer_id"))
    >>> at_risk_customers(s).tolist(), at_risk_customers(s, threshold=0.5).tolist()
    (['C1'], ['C1', 'C2'])
    """
    if not isinstance(scores, pd.DataFrame):
        raise TypeError(f"scores must be a DataFrame indexed by customer_id, not {type(scores).__name__}")
    if threshold is None:
        if "risk_level" not in scores.columns:
            raise ValueError(f"the scores have no 'risk_level' column (pass threshold= to use churn_probability); "
                             f"columns: {list(scores.columns)}")
        flags = scores["risk_level"].astype("str").eq("high").fillna(False).astype(bool)
    else:
        if not 0.0 <= float(threshold) <= 1.0:
            raise ValueError(f"threshold must be a probability between 0 and 1, got {threshold}")
        if "churn_probability" not in scores.columns:
            raise ValueError(f"the scores have no 'churn_probability' column; columns: {list(scores.columns)}")
        probability = pd.to_numeric(scores["churn_probability"], errors="coerce")
        flags = (probability >= float(threshold)).fillna(False).astype(bool)
    if scores.index.has_duplicates:
        dup = scores.index[scores.index.duplicated()].unique()
        raise ValueError(f"the scores list {len(dup)} customer(s) twice (ids: {', '.join(map(str, dup[:5]))})")
    return scores.index[flags.to_numpy()]


def _tier_keys(tiers: pd.DataFrame | pd.Series, cfg: StrategyConfig) -> pd.Series:
    table = tiers.to_frame("tier") if isinstance(tiers, pd.Series) else tiers
    if "tier" not in table.columns:
        raise ValueError(f"the tiers table has no 'tier' column; columns: {list(table.columns)}")
    tier = table["tier"].astype("str")
    unknown = sorted(set(tier.dropna()) - set(cfg.tiers))
    if unknown:
        raise ValueError(f"no strategy for tier(s) {unknown}; strategy.tiers has {list(cfg.tiers)}")
    if tier.isna().any():
        missing = tier.index[tier.isna()]
        raise ValueError(f"{len(missing)} customer(s) have no tier (ids: {', '.join(map(str, missing[:5]))})")
    return tier


def strategy_plan(
    tiers: pd.DataFrame | pd.Series,
    scores: pd.DataFrame | None = None,
    config: Any = None,
    *,
    snapshot: pd.DataFrame | None = None,
    threshold: float | None = None,
) -> pd.DataFrame:
    """The strategy per tier with its counts, owner role, cadence and response deadline.

    Numbers and keys only; the words for a tier, role or cadence key come from the strategy
    and label configuration at the edge (e.g. :func:`strategy_table`).

    Parameters
    ----------
    tiers : DataFrame or Series
        Indexed by customer_id with a ``tier`` column (:func:`segkit.assign_tiers`); with a
        ``revenue_12m`` column when no ``snapshot`` is given.
    scores : DataFrame, optional
        Churn scores (:func:`segkit.score_churn`); adds ``n_at_risk`` and ``revenue_at_risk``.
    config : path, mapping or StrategyConfig, optional
    snapshot : DataFrame, optional
        Where ``revenue_12m`` comes from (:func:`segkit.snapshot`).
    threshold : float, optional
        At risk means ``churn_probability >= threshold`` instead of the high risk level
        (see :func:`at_risk_customers`).

    Returns
    -------
    DataFrame
        One row per tier, in the configuration's order, indexed by tier key:
        ``n_customers``, ``revenue_12m``, (``n_at_risk``, ``revenue_at_risk``),
        ``owner_role``, ``cadence``, ``cadence_months``, ``at_risk_action`` (a
        ``win_back`` key), ``at_risk_owner_role``, ``respond_within_days`` (for the at-risk
        action) and ``example_customers`` (the 3 largest by 12-month revenue, ties by id).
        ``n_customers`` sums to the number of customers in ``tiers``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"tier": ["core", "core", "low_value"], "revenue_12m": [900.0, 1200.0, 20.0]},
    ...                  index=pd.Index(["C1", "C2", "C3"], name="customer_id"))
    >>> plan = strategy_plan(t)
    >>> plan.loc["core", ["owner_role", "at_risk_action", "at_risk_owner_role"]].tolist()
    ['customer_success_manager', 'core_at_risk', 'senior_management']
    >>> plan[["n_customers", "revenue_12m", "respond_within_days"]].loc["core"].astype(float).tolist()
    [2.0, 2100.0, 3.0]
    >>> plan.loc["core", "example_customers"], plan.loc["low_value", "at_risk_action"]
    (('C2', 'C1'), 'automated')
    >>> int(plan["n_customers"].sum())
    3
    """
    cfg = load_strategy(config)
    tier = _tier_keys(tiers, cfg)
    if snapshot is not None:
        if "revenue_12m" not in snapshot.columns:
            raise ValueError(f"the snapshot has no 'revenue_12m' column; columns: {list(snapshot.columns)[:12]}")
        missing = tier.index.difference(snapshot.index)
        if len(missing):
            raise ValueError(f"{len(missing)} customer(s) of the tiers table are not in the snapshot "
                             f"(ids: {', '.join(map(str, missing[:5]))}); take both from the same data")
        revenue = snapshot["revenue_12m"].reindex(tier.index)
    elif isinstance(tiers, pd.DataFrame) and "revenue_12m" in tiers.columns:
        revenue = tiers["revenue_12m"]
    else:
        raise ValueError("strategy_plan needs 12-month revenue: pass snapshot= or a tiers table with 'revenue_12m'")
    revenue = pd.to_numeric(revenue, errors="coerce").fillna(0.0).astype(float)
    at_risk = None
    if scores is not None:
        at_risk = pd.Series(tier.index.isin(at_risk_customers(scores, threshold)), index=tier.index)

    rows = {}
    for key, plan in cfg.tiers.items():
        members = tier.index[(tier == key).to_numpy()]
        top = (pd.DataFrame({"id": members.astype(str), "revenue": revenue.reindex(members).to_numpy()})
               .sort_values(["revenue", "id"], ascending=[False, True], kind="stable").head(3))
        row: dict[str, Any] = {"n_customers": len(members), "revenue_12m": float(revenue.reindex(members).sum())}
        if at_risk is not None:
            risky = members[at_risk.reindex(members).to_numpy()]
            row["n_at_risk"] = len(risky)
            row["revenue_at_risk"] = float(revenue.reindex(risky).sum())
        row.update({
            "owner_role": plan.owner_role,
            "cadence": plan.cadence,
            "cadence_months": cfg.cadences[plan.cadence].months,
            "at_risk_action": plan.at_risk,
            "at_risk_owner_role": cfg.win_back[plan.at_risk].owner_role,
            "respond_within_days": respond_within_days(plan.at_risk, cfg),
            "example_customers": tuple(top["id"]),
        })
        rows[key] = row
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = "tier"
    for col in ("n_customers", "n_at_risk", "cadence_months", "respond_within_days"):
        if col in out:
            out[col] = out[col].astype("int64")
    for col in ("owner_role", "cadence", "at_risk_action", "at_risk_owner_role"):
        out[col] = out[col].astype("str")
    return out

"""Per-tier strategy (分层运营策略) combined with churn risk: what to do, how often, who does it.

business-rules.md section 9 gives each tier its actions, refresh cadence and responsible
role; section 8 adds the win-back actions: a core customer at risk gets a senior-management
visit within 72 hours with a tailored compensation offer, a dormant customer a recall offer
(exclusive coupon + needs survey) and a call within 24 hours, a churn-risk customer the
recall process and an analysis of the reasons. The texts live in the ``strategy``
configuration (``segkit/defaults/strategy.yaml``, model
:class:`StrategyConfig`); :func:`recommend` applies them per customer
and :func:`strategy_table` prints them per tier for reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import Field

from segkit.config import ConfigError, StrictModel, load_section
from segkit.labels import check_lang, label
from segkit.segment.tiers import Label, _Item, section_source

__all__ = [
    "recommend",
    "strategy_table",
    "WIN_BACK_CASES",
    "DORMANT_SEGMENTS",
    "StrategyConfig",
    "load_strategy",
    "tier_strategy",
]


# --- the strategy configuration (moved here from segkit.segment.tiers) -------------------------


class Cadence(_Item):
    months: int = Field(ge=1)
    zh: str
    en: str


class TierStrategyConfig(_Item):
    owner_role: str
    at_risk: str
    cadence: str
    summary: Label
    actions: list[Label]


class WinBack(_Item):
    zh: str
    en: str
    within_hours: int = Field(ge=0)
    owner_role: str


class RecordRefresh(StrictModel):
    contact_change_working_days: int = Field(ge=0)
    contract_status_hours: int = Field(ge=0)


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
    lang: str = "zh",
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
    lang : {"zh", "en"}, default "zh"
    dormant : boolean Series, collection of ids or RFM table, optional
        Which customers are dormant (沉睡). An RFM table (:func:`segkit.rfm_scores`) marks
        the segments in :data:`DORMANT_SEGMENTS`.
    risk_levels : collection of str, default ("high",)
        Risk levels that trigger a win-back action.
    config : path, mapping or StrategyConfig, optional

    Returns
    -------
    DataFrame
        Indexed like ``tiers``: ``tier``, ``tier_label``, ``risk_level`` (missing when
        unknown), ``dormant``, ``case`` (``tier`` or a win-back case), ``case_label``,
        ``priority_action`` (the win-back text, empty for ``tier``),
        ``respond_within_hours`` (Int64), ``actions`` (the tier's actions),
        ``cadence``, ``responsible_role``; plus ``owner`` / ``department`` when ``tiers``
        or ``churn`` has them.

    Examples
    --------
    >>> import pandas as pd
    >>> tiers = pd.DataFrame({"tier": ["core", "core", "low_value"]},
    ...                      index=pd.Index(["C1", "C2", "C3"], name="customer_id"))
    >>> churn = pd.DataFrame({"risk_level": ["high", "low", "low"]}, index=tiers.index)
    >>> r = recommend(tiers, churn, lang="en", dormant=["C3"])
    >>> r["case"].tolist()
    ['core_at_risk', 'tier', 'dormant']
    >>> r["respond_within_hours"].tolist(), r["responsible_role"].tolist()
    ([72, <NA>, 24], ['Senior management', 'Dedicated customer-success manager', 'Account owner'])
    >>> recommend(tiers, churn).loc["C1", "priority_action"]
    '核心客户出现流失风险：72小时内由高层拜访，提供定制化补偿方案'
    """
    check_lang(lang)
    cfg = load_strategy(config)
    _win_back(cfg)
    words = _WORDS[lang]
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
    out["tier_label"] = [label("tier", t, lang) for t in tier]
    out["risk_level"] = risk
    out["dormant"] = is_dormant
    out["case"] = case.astype("str")
    out["case_label"] = [out_label if c == "tier" else _case_label(c, lang)
                         for c, out_label in zip(case, out["tier_label"])]
    out["priority_action"] = [
        "" if c == "tier" else (cfg.win_back[c].zh if lang == "zh" else cfg.win_back[c].en) for c in case
    ]
    out["respond_within_hours"] = pd.array(
        [pd.NA if c == "tier" else cfg.win_back[c].within_hours for c in case], dtype="Int64")
    actions = {t: words["sep"].join(a.text(lang) for a in plan.actions) for t, plan in cfg.tiers.items()}
    cadence = {t: getattr(cfg.cadences[plan.cadence], lang) for t, plan in cfg.tiers.items()}
    out["actions"] = tier.map(actions)
    out["cadence"] = tier.map(cadence)
    out["responsible_role"] = [cfg.roles[_owner_role(cfg, t, c)].text(lang) for c, t in zip(case, tier)]
    for col in ("tier_label", "case_label", "priority_action", "actions", "cadence", "responsible_role"):
        out[col] = out[col].astype("str")
    out.attrs = {"lang": lang, "risk_levels": sorted(levels)}
    return out


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

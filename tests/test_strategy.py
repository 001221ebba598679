"""Per-tier strategy and win-back actions (business-rules.md sections 8 and 9)."""

from __future__ import annotations

import pandas as pd
import pytest

from segkit.insights.strategy import describe_recommendations, recommend, strategy_plan, strategy_table


def said(recommended: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The recommendations (keys) with their words in ``lang``, as a report shows them."""
    return recommended.join(describe_recommendations(recommended, lang))

IDS = pd.Index(["C1", "C2", "C3", "C4", "C5", "C6", "C7"], name="customer_id")


@pytest.fixture
def tiers():
    return pd.DataFrame({"tier": ["core", "core", "core", "potential", "ordinary", "low_value", "low_value"]}, index=IDS)


@pytest.fixture
def churn():
    # C7 was not scored (e.g. a prospect); C9 is not in the tier table and is ignored
    return pd.DataFrame({"risk_level": ["high", "medium", "low", "high", "low", "low", "high"],
                         "owner": ["王", "王", "李", "李", "李", "张", "张"]},
                        index=pd.Index(["C1", "C2", "C3", "C4", "C5", "C6", "C9"], name="customer_id"))


def test_cases_by_priority(tiers, churn):
    keys = recommend(tiers, churn, dormant=["C3", "C5", "C4"])
    # keys and numbers only in the analysis
    assert keys.columns.tolist() == ["owner", "tier", "risk_level", "dormant", "case", "respond_within_hours", "cadence", "owner_role"]
    assert keys.loc["C1", "owner_role"] == "senior_management" and keys.loc["C1", "cadence"] == "monthly"
    r = said(keys, "zh")
    assert r["case"].tolist() == [
        "core_at_risk",   # C1 core, high risk
        "tier",           # C2 core, medium risk: not a trigger by default
        "core_at_risk",   # C3 core, low risk but dormant
        "churn_risk",     # C4 potential, high risk (and dormant): churn risk comes first
        "dormant",        # C5 ordinary, dormant
        "tier",           # C6 low value, low risk
        "tier",           # C7 no risk known
    ]
    assert r["respond_within_hours"].tolist() == [72, pd.NA, 72, 24, 24, pd.NA, pd.NA]
    assert r.loc["C1", "priority_action"] == "核心客户出现流失风险：72小时内由高层拜访，提供定制化补偿方案"
    assert r.loc["C1", "responsible_role"] == "高层管理者" and r.loc["C1", "case_label"] == "核心客户（高流失风险）"
    assert r.loc["C5", "priority_action"] == "沉睡客户召回：发放专属优惠券并开展需求调研，24小时内电话跟进"
    assert r.loc["C4", "priority_action"].startswith("流失风险客户：启动召回机制") and "分析流失原因" in r.loc["C4", "priority_action"]
    assert r.loc["C4", "case_label"] == "流失风险客户" and r.loc["C5", "case_label"] == "沉睡客户"
    assert r.loc["C2", "priority_action"] == "" and r.loc["C2", "responsible_role"] == "专属客户成功经理"
    assert pd.isna(r.loc["C7", "risk_level"]) and r.loc["C7", "case_label"] == "低价值客户"
    assert r["owner"].tolist()[:6] == ["王", "王", "李", "李", "李", "张"] and pd.isna(r.loc["C7", "owner"])


def test_tier_actions_cadence_and_role(tiers):
    r = said(recommend(tiers), "zh")
    assert r.loc["C1", "actions"].split("；")[:2] == ["配备专属客户成功经理", "每月1对1沟通"]
    assert r.loc["C1", "cadence_label"] == "每月" and r.loc["C4", "cadence_label"] == "每季度" and r.loc["C6", "cadence_label"] == "每半年"
    assert r.loc["C4", "responsible_role"] == "销售重点跟进"
    assert (r["case"] == "tier").all() and r["risk_level"].isna().all()
    en = said(recommend(tiers), "en")
    assert en.loc["C5", "actions"] == ("Standardised service; Periodic product-update e-mails; "
                                       "Quarterly call-back; Watch for upgrade signals")
    assert en.loc["C5", "cadence_label"] == "Half-yearly" and en.loc["C1", "tier_label"] == "Core"


def test_medium_risk_can_trigger_and_series_inputs_work(tiers, churn):
    r = said(recommend(tiers["tier"], churn["risk_level"], risk_levels=("high", "medium")), "en")
    assert r.loc["C2", "case"] == "core_at_risk" and r.loc["C2", "responsible_role"] == "Senior management"
    assert r.loc["C2", "priority_action"].startswith("Core customer at risk of churn - senior management visits within 72 hours")


def test_actions_chosen_by_score_churn_are_kept(tiers):
    # score_churn's own rules sent C4 (potential, high) to the dormant recall and left C1 in
    # its tier; recommend keeps those choices, and dormant= only adds to plain tier cases.
    scored = pd.DataFrame({"risk_level": ["high", "low", "high", "high"],
                           "action_key": ["core_at_risk", "tier", "core_at_risk", "dormant"]},
                          index=pd.Index(["C1", "C2", "C3", "C4"], name="customer_id"))
    r = recommend(tiers, scored, dormant=["C2", "C6"])
    assert r.loc[["C1", "C2", "C3", "C4", "C5", "C6"], "case"].tolist() == [
        "core_at_risk", "core_at_risk", "core_at_risk", "dormant", "tier", "dormant"]
    with pytest.raises(ValueError, match=r"unknown action_key value\(s\) \['vip_dinner'\]"):
        recommend(tiers, scored.replace({"dormant": "vip_dinner"}))


def test_dormant_from_an_rfm_table_or_flags(tiers):
    rfm = pd.DataFrame({"rfm_segment": ["core", "potential", "core", "potential", "dormant", "hibernating", "lost"]},
                       index=IDS)
    r = recommend(tiers, dormant=rfm)
    assert r.index[r["dormant"]].tolist() == ["C5", "C6"]
    assert r.loc["C6", "case"] == "dormant" and r.loc["C7", "case"] == "tier"
    flags = pd.Series([False, False, False, False, False, False, True], index=IDS)
    assert recommend(tiers, dormant=flags).loc["C7", "case"] == "dormant"


def test_errors_name_the_problem(tiers, churn):
    with pytest.raises(ValueError, match=r"no strategy for tier\(s\) \['vip'\]"):
        recommend(tiers.replace({"core": "vip"}))
    with pytest.raises(ValueError, match=r"unknown risk_level value\(s\) \['severe'\]"):
        recommend(tiers, churn.replace({"high": "severe"}))
    with pytest.raises(ValueError, match=r"unknown risk level\(s\) \['urgent'\]"):
        recommend(tiers, churn, risk_levels=("urgent",))
    with pytest.raises(ValueError, match="no 'risk_level' column"):
        recommend(tiers, churn.drop(columns="risk_level"))
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        describe_recommendations(recommend(tiers), "fr")


def test_strategy_table_reads_in_both_languages():
    zh, en = strategy_table("zh"), strategy_table("en")
    keys = ["core", "potential", "ordinary", "low_value", "dormant", "churn_risk", "core_at_risk"]
    assert zh.index.tolist() == en.index.tolist() == keys
    assert zh.columns.tolist() == ["客户层级", "运营策略", "数据更新频率", "负责角色", "响应时限"]
    assert en.columns.tolist() == ["Tier", "Actions", "Refresh cadence", "Responsible", "Respond within"]
    assert zh["客户层级"].tolist() == ["核心客户", "潜力客户", "普通客户", "低价值客户", "沉睡客户", "流失风险客户",
                                   "核心客户（高流失风险）"]
    assert zh["数据更新频率"].tolist()[:4] == ["每月", "每季度", "每半年", "每半年"]
    assert en["Refresh cadence"].tolist()[:4] == ["Monthly", "Quarterly", "Half-yearly", "Half-yearly"]
    assert en.loc["core_at_risk", "Respond within"] == "72 hours" and zh.loc["dormant", "响应时限"] == "24小时内"
    assert "每季度电话回访" in zh.loc["ordinary", "运营策略"] and "VIP" in zh.loc["core", "运营策略"]
    for table in (zh, en):
        assert (table.map(len) > 0).all().all()
        assert not table.map(lambda s: "{" in s or "nan" == s.lower()).any().any()
    # Chinese cells contain no English words except the handbook's own "VIP" and "1:1"
    assert not zh.drop(columns=["客户层级"]).map(lambda s: any(w in s for w in ("the ", "and ", "customer"))).any().any()
    assert strategy_table("en", win_back=False).index.tolist() == keys[:4]


def test_configuration_flows_into_the_table():
    config = {"strategy": {"roles": {"specialist": {"zh": "客户服务专员", "en": "Customer service specialist"}},
                           "tiers": {"ordinary": {"cadence": "quarterly", "owner_role": "specialist"}}}}
    table = strategy_table("en", config=config)
    assert table.loc["ordinary", "Refresh cadence"] == "Quarterly"
    assert table.loc["ordinary", "Responsible"] == "Customer service specialist"


def test_at_risk_action_follows_the_tier(tiers):
    # section 9: low value means stop investing, so a low-value customer at high risk gets the
    # automated recall (one week, no personal call), not the 24-hour call + coupon
    churn = pd.DataFrame({"risk_level": ["high", "low", "low", "high", "high", "high", "low"]}, index=IDS)
    r = said(recommend(tiers, churn), "en")
    assert r["case"].tolist() == ["core_at_risk", "tier", "tier", "churn_risk", "churn_risk", "automated", "tier"]
    assert r.loc["C6", "responsible_role"] == "Automated service" and r.loc["C6", "respond_within_hours"] == 168
    assert "no personal call" in r.loc["C6", "priority_action"] and "24 hours" not in r.loc["C6", "priority_action"]
    assert r.loc["C6", "case_label"] == "Low value (automated recall)"
    assert r.loc["C4", "responsible_role"] == "Account owner" and r.loc["C1", "responsible_role"] == "Senior management"


def test_strategy_plan_by_hand(tiers):
    revenue = pd.Series([900.0, 1200.0, 1200.0, 50.0, 70.0, 5.0, 2.0], index=IDS)
    scores = pd.DataFrame({"churn_probability": [0.9, 0.1, 0.2, 0.8, 0.1, 0.95, 0.99],
                           "risk_level": ["high", "low", "low", "high", "low", "high", "high"]}, index=IDS)
    plan = strategy_plan(tiers.assign(revenue_12m=revenue), scores)
    assert plan.index.tolist() == ["core", "potential", "ordinary", "low_value"]
    assert plan["n_customers"].tolist() == [3, 1, 1, 2] and plan["n_customers"].sum() == len(tiers)
    assert plan["revenue_12m"].tolist() == [3300.0, 50.0, 70.0, 7.0]
    assert plan["n_at_risk"].tolist() == [1, 1, 0, 2] and plan["revenue_at_risk"].tolist() == [900.0, 50.0, 0.0, 7.0]
    assert plan.loc["core", "example_customers"] == ("C2", "C3", "C1")   # 1200 = 1200: by id
    assert plan["owner_role"].tolist() == ["customer_success_manager", "sales", "service_team", "automation"]
    assert plan["cadence"].tolist() == ["monthly", "quarterly", "half_yearly", "half_yearly"]
    assert plan["cadence_months"].tolist() == [1, 3, 6, 6]
    assert plan["at_risk_action"].tolist() == ["core_at_risk", "churn_risk", "churn_risk", "automated"]
    assert plan["respond_within_days"].tolist() == [3, 1, 1, 7]
    # a threshold instead of the risk level: C3 (0.2) now counts in core
    assert strategy_plan(tiers.assign(revenue_12m=revenue), scores, threshold=0.15)["n_at_risk"].tolist() == [2, 1, 0, 2]
    with pytest.raises(ValueError, match="needs 12-month revenue"):
        strategy_plan(tiers)
    with pytest.raises(ValueError, match=r"no strategy for tier\(s\) \['vip'\]"):
        strategy_plan(tiers.replace({"core": "vip"}).assign(revenue_12m=revenue))


@pytest.mark.parametrize(("config", "message"), [
    ({"strategy": {"tiers": {"core": {"at_risk": "hug"}}}},
     r"strategy.tiers.core.at_risk: unknown action 'hug'; allowed: \['automated', 'churn_risk', 'core_at_risk', 'dormant'\]"),
    ({"strategy": {"tiers": {"core": {"owner_role": "ceo"}}}}, r"strategy.tiers.core.owner_role: unknown role 'ceo'"),
    ({"strategy": {"win_back": {"dormant": {"owner_role": "intern"}}}}, r"strategy.win_back.dormant.owner_role: unknown role 'intern'"),
])
def test_strategy_references_are_checked(config, message):
    from segkit.config import ConfigError
    from segkit.insights.strategy import load_strategy

    with pytest.raises(ConfigError, match=message):
        load_strategy(config)

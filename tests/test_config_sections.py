"""Configuration sections of the segmentation: handbook numbers, zh+en labels, strict keys, merging."""

from __future__ import annotations

import re

import pytest

from segkit import labels as lb
from segkit.config import ConfigError
from segkit.segment.classify import load_classify_config
from segkit.segment.rfm import load_rfm_config
from segkit.segment.tags import Taxonomy, load_tags_config
from segkit.segment.thresholds import default_thresholds
from segkit.insights.strategy import load_strategy
from segkit.segment.rules import RuleSet
from segkit.segment.tiers import load_tiers_config


def conditions(config) -> list[tuple[str, str, object]]:
    rules = RuleSet(config)
    out = []
    for rule in rules.rules:
        for clause in rule.clauses:
            for c in clause:
                out.append((rule.key, c.column, (c.low, c.high) if c.op == "between" else (c.op, c.value)))
    return out


def test_default_tiers_reproduce_section_2():
    cfg = load_tiers_config()
    assert cfg.order == ["core", "potential", "ordinary", "low_value"]
    assert {k: v.zh for k, v in cfg.labels.items()} == {
        "core": "核心客户", "potential": "潜力客户", "ordinary": "普通客户", "low_value": "低价值客户"}
    assert conditions(cfg) == [
        ("core", "revenue_12m", (">=", 500000)),
        ("core", "interactions_6m", (">=", 10)),
        ("potential", "revenue_12m", (200000.0, 500000.0)),
        ("potential", "new_need_inquiry_6m", (">=", 1)),
        ("ordinary", "revenue_12m", (50000.0, 200000.0)),
        ("ordinary", "interactions_6m", (3.0, 9.0)),
        ("low_value", "revenue_12m", ("<", 50000)),
        ("low_value", "revenue_12m", ("<", 200000)),
        ("low_value", "interactions_6m", ("==", 0)),
        ("low_value", "renewal_intent", ("!=", True)),
    ]
    assert cfg.review.margin == 0.10 and cfg.overrides.stale_after_days == 180
    assert cfg.unmatched.default_tier == "low_value"


def test_default_rfm_schemes_reproduce_section_5():
    cfg = load_rfm_config()
    handbook = cfg.schemes["handbook"]
    assert [(lv.score, lv.max) for lv in handbook.recency.levels] == [(3, 30), (2, 60), (1, 90)]
    assert handbook.frequency.measure == "orders_12m / 12"
    lines = default_thresholds().values  # the levels name lines of thresholds.yaml
    assert [(lv.score, lines[lv.min]) for lv in handbook.frequency.levels] == [(3, 5), (2, 1)]
    assert [(lv.score, lines[lv.min]) for lv in handbook.monetary.levels] == [(3, 100000), (2, 50000)]
    assert [(s.key, s.when, s.zh) for s in handbook.segments] == [
        ("core", "rfm_points >= 8", "核心客户"), ("potential", "rfm_points >= 5", "潜力客户"),
        ("dormant", "rfm_points <= 4", "沉睡客户")]
    assert [g.key for g in handbook.groups] == ["high_value", "potential", "churn_risk"]
    assert cfg.schemes["quantile"].bins == 5
    assert [s.key for s in cfg.schemes["named"].segments] == [
        "champions", "cant_lose", "loyal", "new", "promising", "potential_loyalist", "need_attention",
        "about_to_sleep", "at_risk", "lost", "hibernating"]
    assert cfg.schemes["named"].other.key == "other"


def test_default_classifications_reproduce_sections_3_and_4():
    cfg = load_classify_config()
    assert conditions(cfg.value_class) == [
        ("high_value", "revenue_12m", (">=", 500000)),
        ("potential", "revenue_12m", (100000.0, 500000.0)),
        ("potential", "revenue_growth_6m", (">=", 0.2)),
        ("ordinary", "revenue_12m", ("<", 100000)),
    ]
    lines = default_thresholds().values
    numbered = lambda text: re.sub(r"\b[a-z_]+_company_[a-z]+\b", lambda m: str(int(lines[m.group()])), text)  # noqa: E731
    assert [(r.key, numbered(r.when)) for r in cfg.company_size.rules] == [
        ("large", "employees > 1000 or annual_revenue > 100000000"),
        ("medium", "employees >= 100 or annual_revenue >= 10000000"),
        ("small", "employees >= 0 or annual_revenue >= 0"),
    ]
    assert cfg.combined_label.parts == ["industry", "value_class", "lifecycle_stage", "need_type"]


def test_default_strategy_reproduces_section_9():
    s = load_strategy()
    assert {t: s.tiers[t].cadence for t in s.tiers} == {
        "core": "monthly", "potential": "quarterly", "ordinary": "half_yearly", "low_value": "half_yearly"}
    assert {k: v.months for k, v in s.cadences.items()} == {"monthly": 1, "quarterly": 3, "half_yearly": 6}
    assert set(s.tiers) == set(load_tiers_config().order)
    assert s.win_back["core_at_risk"].within_hours == 72 and s.win_back["dormant"].within_hours == 24
    assert "高层拜访" in s.win_back["core_at_risk"].zh and "优惠券" in s.win_back["dormant"].zh
    assert (s.record_refresh.contact_change_working_days, s.record_refresh.contract_status_hours) == (3, 24)
    assert s.tiers["core"].actions[0].zh == "配备专属客户成功经理"


def test_every_label_exists_in_zh_and_en():
    for kind in lb.kinds():
        zh, en = lb.labels(kind, "zh"), lb.labels(kind, "en")
        assert zh.keys() == en.keys() and zh, kind
        missing = [k for k in zh if not zh[k] or not en[k] or zh[k] == k]
        assert not missing, (kind, missing)
    s = load_strategy()
    for tier, strategy in s.tiers.items():
        assert strategy.summary.zh and strategy.summary.en and s.roles[strategy.owner_role].zh and s.roles[strategy.owner_role].en, tier
        assert all(a.zh and a.en for a in strategy.actions), tier
    tax = Taxonomy(load_tags_config())
    assert all(tax.label(t, "zh") and tax.label(t, "en") for t in tax.leaves)


def test_label_lookup():
    assert lb.label("tier", "potential") == "潜力客户"
    assert lb.label("rfm_segment", "champions", "en") == "Champions"
    assert lb.label("rfm_group", "churn_risk") == "流失风险客户"
    assert lb.label("lifecycle_stage", "active", short=True) == "合作中"
    assert lb.label("export_column", "revenue_12m_wan") == "近12个月交易金额(万元)"
    assert lb.label("tag", "value.spend_level") == "消费水平"
    assert lb.label("cadence", "half_yearly", "en") == "Half-yearly"
    assert lb.label("industry", None, default="未知") == "未知"
    with pytest.raises(ValueError, match=r"no labels for kind 'tiers'; known kinds: .*tier"):
        lb.label("tiers", "core")
    with pytest.raises(ValueError, match="unknown language 'de'"):
        lb.label("tier", "core", "de")


@pytest.mark.parametrize(
    ("loader", "config", "message"),
    [
        (load_tiers_config, {"tiers": {"reviw": {}}}, r"unknown key 'reviw'; allowed keys here: \['export', 'labels', 'measures', 'order', 'overrides', 'review', 'rules', 'unmatched'\]"),
        (load_tiers_config, {"tiers": {"overrides": {"stale_days": 30}}}, r"unknown key 'overrides.stale_days'; allowed keys here: \['stale_after_days'\]"),
        (load_tiers_config, {"tiers": {"review": {"margin": 1.5}}}, r"review.margin: Input should be less than 1"),
        (load_tiers_config, {"tiers": {"labels": {"core": {"zh": "核心", "fr": "x"}}}}, r"unknown key 'fr'; allowed keys here: \['en', 'en_short', 'zh', 'zh_short'\]"),
        (load_tiers_config, {"tiers": {"export": {"columns": {"phone": {"zh": "电话", "en": "Phone"}}}}}, r"unknown column 'phone'"),
        (load_rfm_config, {"rfm": {"default_scheme": "rfm5"}}, r"unknown scheme 'rfm5'"),
        (load_rfm_config, {"rfm": {"schemes": {"handbook": {"recency": {"otherwise": None}}}}}, r"needs `levels` and `otherwise`"),
        (load_classify_config, {"classify": {"value_clas": {}}}, r"unknown key 'value_clas'"),
        (load_tags_config, {"tags": {"review": {"alpha": 0}}}, r"review.alpha: Input should be greater than 0"),
        (load_tags_config, {"tags": {"taxonomy": {"product": {"zh": "产品", "en": "Product"}}}}, r"tags.taxonomy.product: a level-1 entry needs level-2 `children`"),
        (load_strategy, {"strategy": {"tiers": {"core": {"cadence": "weekly"}}}}, r"unknown cadence 'weekly'; allowed: \['half_yearly', 'monthly', 'quarterly'\]"),
        (load_strategy, {"strategy": {"win_back": {"dormant": {"within_hour": 1}}}}, r"unknown key 'within_hour'"),
    ],
)
def test_errors_name_the_bad_key_and_the_allowed_ones(loader, config, message):
    with pytest.raises(ConfigError, match=message):
        loader(config)


def test_a_user_file_overrides_only_what_it_sets(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text(
        "tiers:\n"
        "  review: {margin: 0.2}\n"
        "  labels:\n"
        "    core: {zh: 战略客户, en: Strategic}\n"
        "strategy:\n"
        "  tiers:\n"
        "    core: {cadence: quarterly}\n"
        "rfm:\n"
        "  schemes:\n"
        "    quantile: {bins: 4}\n",
        encoding="utf-8",
    )
    tiers = load_tiers_config(path)
    default = load_tiers_config()
    assert tiers.review.margin == 0.2 and tiers.labels["core"].zh == "战略客户"
    assert tiers.labels["potential"] == default.labels["potential"]
    assert tiers.rules == default.rules and tiers.overrides == default.overrides
    strategy = load_strategy(path)
    assert strategy.tiers["core"].cadence == "quarterly"
    assert strategy.tiers["core"].summary == load_strategy().tiers["core"].summary
    rfm = load_rfm_config(path)
    assert rfm.schemes["quantile"].bins == 4 and rfm.schemes["quantile"].recency == load_rfm_config().schemes["quantile"].recency
    assert load_classify_config(path) == load_classify_config()  # a section the file does not mention


def test_a_whole_file_without_a_section_means_its_defaults(tmp_path):
    # strategy has a key named "tiers": a file holding only the tiers section is not the strategy section
    only_tiers = {"tiers": {"review": {"margin": 0.05}}}
    assert load_strategy(only_tiers) == load_strategy()
    assert load_rfm_config(only_tiers) == load_rfm_config()
    assert load_tags_config(only_tiers) == load_tags_config()
    assert load_tiers_config(only_tiers).review.margin == 0.05
    # a mapping of one section's own keys is that section
    assert load_tiers_config({"review": {"margin": 0.07}}).review.margin == 0.07

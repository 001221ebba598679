"""Handbook churn-risk signals (business-rules.md section 8) and the rule-based high-risk list."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import SAMPLE
from segkit.insights.churn import SIGNALS, high_risk_list, load_churn_config, risk_signals, signal_reasons
from segkit.config import ConfigError
from segkit.features import snapshot
from segkit.io import load_dataset

# A customer with nothing wrong; each test changes what it needs.
HEALTHY = {
    "name": "某科技有限公司", "owner": "张伟", "department": "大客户部", "revenue_12m": 300_000.0,
    "orders_0_3m": 4, "orders_3_6m": 4, "orders_6_9m": 4, "orders_9_12m": 4, "orders_6m": 8,
    "interactions_3m": 5, "interactions_6m": 10, "interactions_prev_3m": 5,
    "satisfaction": 85.0, "key_contact_changed_6m": False, "complaints_6m": 0, "complaints_12m": 0,
    "frequency": 10.0, "recency": 40.0, "T": 52.0, "recency_days": 20.0,
}


def customers(*changes: dict) -> pd.DataFrame:
    rows = [{**HEALTHY, **change} for change in changes]
    frame = pd.DataFrame(rows, index=pd.Index([f"C{i + 1}" for i in range(len(rows))], name="customer_id"))
    frame.attrs["btyd_unit"] = "W"
    return frame


def test_a_healthy_customer_raises_no_signal():
    signals = risk_signals(customers({}))
    assert not signals[list(SIGNALS)].any(axis=None)
    assert signals["n_signals"].tolist() == [0] and signal_reasons(customers({})).tolist() == [""]
    # keys and numbers only: no text column in the analysis
    assert all(pd.api.types.is_bool_dtype(signals[c]) for c in SIGNALS)
    assert pd.api.types.is_integer_dtype(signals["n_signals"]) and list(signals.columns) == [*SIGNALS, "n_signals"]


def test_high_risk_rule_needs_no_contact_and_orders_down_by_half():
    snap = customers(
        {"interactions_3m": 0, "orders_3_6m": 4, "orders_0_3m": 2},  # down exactly 50%: listed
        {"interactions_3m": 0, "orders_3_6m": 4, "orders_0_3m": 3},  # down 25%
        {"interactions_3m": 1, "orders_3_6m": 4, "orders_0_3m": 0},  # still in contact
        {"interactions_3m": 0, "orders_3_6m": 0, "orders_0_3m": 0},  # nothing to fall from
        {"interactions_3m": 0, "orders_3_6m": 3, "orders_0_3m": 0},  # down 100%
    )
    signals, reasons = risk_signals(snap), signal_reasons(snap, "en")
    assert signals["high_risk"].tolist() == [True, False, False, False, True]
    assert reasons["C1"].split("; ")[0] == (
        "no interaction in the last 3 months and orders down 50% on the previous 3 months (4 -> 2)"
    )
    assert signal_reasons(snap)["C5"].split("；")[0] == "近3个月无互动，且近3个月订单量较上期下降100%（3→0单）"
    assert signals["contact_drop"].all()  # 5 -> 0 (or 1) interactions: contact dropping too


def test_high_risk_rule_over_six_months_from_configuration():
    snap = customers(
        {"interactions_3m": 0, "orders_6m": 3, "orders_6_9m": 3, "orders_9_12m": 3},  # 6 -> 3
        {"interactions_3m": 0, "orders_6m": 4, "orders_6_9m": 3, "orders_9_12m": 3, "orders_0_3m": 0},  # 6 -> 4
    )
    config = {"churn": {"signals": {"high_risk": {"compare_months": 6}}}}
    assert risk_signals(snap, config)["high_risk"].tolist() == [True, False]
    config = {"churn": {"signals": {"high_risk": {"compare_months": 6, "order_drop": 0.3}}}}
    assert risk_signals(snap, config)["high_risk"].tolist() == [True, True]


def test_orders_falling_two_quarters_in_a_row():
    snap = customers(
        {"orders_6_9m": 5, "orders_3_6m": 3, "orders_0_3m": 2},
        {"orders_6_9m": 5, "orders_3_6m": 3, "orders_0_3m": 3},  # flat last quarter
        {"orders_6_9m": 3, "orders_3_6m": 5, "orders_0_3m": 2},  # fell once
    )
    signals = risk_signals(snap)
    assert signals["orders_falling"].tolist() == [True, False, False]
    assert signal_reasons(snap, "en")["C1"] == "orders fell 2 quarters in a row (5 -> 3 -> 2)"
    three = {"churn": {"signals": {"orders_falling": {"quarters": 3}}}}
    assert risk_signals(customers({"orders_9_12m": 6, "orders_6_9m": 5, "orders_3_6m": 3, "orders_0_3m": 2}), three)["orders_falling"].all()


def test_satisfaction_below_70_key_contact_and_complaints():
    snap = customers(
        {"satisfaction": 69.5},
        {"satisfaction": 70.0},
        {"satisfaction": np.nan},  # no survey: no signal
        {"key_contact_changed_6m": True},
        {"complaints_6m": 2, "complaints_12m": 3},
        {"complaints_6m": 0, "complaints_12m": 1},
    )
    signals, reasons = risk_signals(snap), signal_reasons(snap, "en")
    assert signals["low_satisfaction"].tolist() == [True, False, False, False, False, False]
    assert reasons["C1"] == "satisfaction 70, below 70"  # 69.5 printed whole
    assert signals["key_contact_change"].tolist() == [False, False, False, True, False, False]
    assert signals["complaints"].tolist() == [False, False, False, False, True, False]
    assert reasons["C5"] == "2 complaint(s) in the last 6 months"
    twelve = {"churn": {"signals": {"complaints": {"window_months": 12}}}}
    assert risk_signals(snap, twelve)["complaints"].tolist() == [False, False, False, False, True, True]
    assert signal_reasons(snap)["C4"] == "近6个月关键联系人变更"


def test_cooperation_shortening_compares_with_the_usual_gap():
    # 10 repeat purchases over 40 weeks: a usual gap of 28 days; more than twice that is a signal
    snap = customers({"recency_days": 57.0}, {"recency_days": 56.0}, {"frequency": 1.0, "recency": 4.0, "recency_days": 200.0})
    signals = risk_signals(snap)
    assert signals["cooperation_shortening"].tolist() == [True, False, False]  # one repeat order is too few
    assert signal_reasons(snap, "en")["C1"] == "57 days since the last order, 2.0 times the usual gap of about 28 days"
    in_days = customers({"recency": 280.0, "recency_days": 57.0})
    in_days.attrs["btyd_unit"] = "D"
    assert risk_signals(in_days)["cooperation_shortening"].all()


def test_contact_dropping():
    snap = customers(
        {"interactions_prev_3m": 4, "interactions_3m": 2},
        {"interactions_prev_3m": 3, "interactions_3m": 2},
        {"interactions_prev_3m": 1, "interactions_3m": 0},  # too few before to speak of a drop
    )
    signals = risk_signals(snap)
    assert signals["contact_drop"].tolist() == [True, False, False]
    assert signal_reasons(snap)["C1"] == "近3个月互动2次，较前3个月（4次）下降50%"


def test_several_signals_are_counted_and_joined():
    snap = customers({"satisfaction": 60.0, "complaints_6m": 1, "key_contact_changed_6m": True})
    signals = risk_signals(snap)
    assert signals.loc["C1", "n_signals"] == 3
    assert signal_reasons(snap, "en")["C1"] == (
        "satisfaction 60, below 70; key contact changed in the last 6 months; 1 complaint(s) in the last 6 months"
    )
    assert signal_reasons(snap)["C1"].count("；") == 2


def test_disabled_signal_and_configuration_errors():
    snap = customers({"satisfaction": 50.0})
    off = {"churn": {"signals": {"low_satisfaction": {"enabled": False}}}}
    assert not risk_signals(snap, off)["low_satisfaction"].any()
    assert risk_signals(snap, {"churn": {"signals": {"low_satisfaction": {"below": 40}}}})["n_signals"].sum() == 0
    with pytest.raises(ConfigError, match="unknown key 'signals.low_satisfaction.threshold'"):
        risk_signals(snap, {"churn": {"signals": {"low_satisfaction": {"threshold": 60}}}})
    with pytest.raises(ConfigError, match="compare_months"):
        load_churn_config({"churn": {"signals": {"high_risk": {"compare_months": 4}}}})
    with pytest.raises(KeyError, match="satisfaction"):
        risk_signals(snap.drop(columns="satisfaction"))
    with pytest.raises(ValueError, match="unknown language"):
        signal_reasons(snap, "de")


def test_high_risk_list_orders_by_signals_then_revenue():
    snap = customers(
        {"interactions_3m": 0, "orders_0_3m": 0, "revenue_12m": 100_000.0},
        {"interactions_3m": 0, "orders_0_3m": 1, "revenue_12m": 900_000.0},
        {"interactions_3m": 0, "orders_0_3m": 0, "satisfaction": 50.0, "revenue_12m": 50_000.0},
        {"satisfaction": 50.0},  # a signal, but not the list's rule
    )
    listed = high_risk_list(snap)
    assert listed.index.tolist() == ["C3", "C2", "C1"]
    assert listed["n_signals"].tolist() == [3, 2, 2]  # all three also had contact dropping 5 -> 0
    assert listed[["name", "owner", "department"]].iloc[0].tolist() == ["某科技有限公司", "张伟", "大客户部"]


def test_signals_on_the_sample_agree_with_the_rules_written_out():
    ds = load_dataset(SAMPLE)
    snap = snapshot(ds, "2026-06-30")
    signals = risk_signals(snap)
    before, now = snap["orders_3_6m"], snap["orders_0_3m"]
    rule = (snap["interactions_3m"] == 0) & (before > 0) & (now <= 0.5 * before)
    pd.testing.assert_series_equal(signals["high_risk"], rule, check_names=False)
    pd.testing.assert_series_equal(signals["low_satisfaction"], (snap["satisfaction"] < 70).fillna(False), check_names=False)
    falling = (snap["orders_6_9m"] > snap["orders_3_6m"]) & (snap["orders_3_6m"] > snap["orders_0_3m"])
    pd.testing.assert_series_equal(signals["orders_falling"], falling, check_names=False)
    gap_days = snap["recency"] * 7 / snap["frequency"].where(snap["frequency"] >= 2)
    pd.testing.assert_series_equal(
        signals["cooperation_shortening"], (snap["recency_days"] > 2 * gap_days).fillna(False), check_names=False
    )
    assert signals["high_risk"].sum() > 0 and signals["low_satisfaction"].sum() > 0
    listed = high_risk_list(snap)
    assert set(listed.index) == set(signals.index[signals["high_risk"]])
    assert signal_reasons(snap.loc[listed.index]).str.startswith("近3个月无互动").all()
    assert (signal_reasons(snap).loc[signals.index[signals["n_signals"] == 0]] == "").all()

"""Backtest on the sample data, evaluation measures, scoring with reasons and actions, plots."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from conftest import SAMPLE
from segkit.insights.churn import (
    backtest_churn,
    btyd_features,
    calibration_table,
    churn_features,
    churn_metrics,
    describe_scores,
    driver_reasons,
    lift_capture,
    method_labels,
    risk_signals,
    score_churn,
    scoring_features,
)
from segkit.config import ConfigError
from segkit.features import snapshot
from segkit.io import load_dataset
from segkit.models import BetaGeo
from segkit.plots.churn import plot_calibration, plot_lift, plot_roc
from segkit.plots import cjk_font

TEST_AS_OF = pd.Timestamp("2026-06-30")


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def backtest(sample):
    return backtest_churn(sample, progress=False)


# --- the backtest on the sample data -----------------------------------------------------------


def test_backtest_trains_on_earlier_quarters_and_tests_on_the_latest_complete_one(backtest):
    assert backtest.test_as_of == TEST_AS_OF
    assert backtest.outcome_end == pd.Timestamp("2026-09-30")  # the data end: the latest complete window
    train = [d.strftime("%Y-%m-%d") for d in backtest.train_as_of]
    assert train[-1] == "2026-03-31"  # its outcome (Apr-Jun 2026) ends on the test date
    assert all(d.is_quarter_end for d in backtest.train_as_of)
    assert len(train) == 9 and backtest.n_train == 10_567 and len(backtest.scores) == 1_500
    # keys and numbers: the methods are named at the edge, in either language
    assert backtest.metrics.index.tolist() == ["model", "model_btyd", "bgnbd", "rules"]
    assert all(pd.api.types.is_numeric_dtype(backtest.metrics[c]) for c in backtest.metrics.columns)
    assert method_labels(backtest.metrics.index, "en")["bgnbd"] == "BG/NBD chance of no purchase (baseline)"
    assert method_labels(backtest.metrics.index)["model"] == "流失模型"
    with pytest.raises(ValueError, match="unknown backtest method"):
        method_labels(["svm"], "en")


def test_default_model_beats_both_baselines(backtest):
    auc = backtest.metrics["roc_auc"]
    # measured on data/sample (seed 20260930); the model is logistic regression, calibrated
    assert auc["model"] == pytest.approx(0.812, abs=0.005)
    # the BG/NBD baseline scores its exact P(no purchase) (was exp(-E[Y]): AUC 0.793, PR 0.600,
    # Brier 0.144, lift 2.83); issue 14's cross-check measured the same 0.8015
    assert auc["bgnbd"] == pytest.approx(0.8015, abs=0.005)
    assert auc["rules"] == pytest.approx(0.514, abs=0.005)
    assert auc["model"] > auc["bgnbd"] > auc["rules"]
    pr = backtest.metrics["pr_auc"]
    assert pr["model"] == pytest.approx(0.651, abs=0.005) and pr["model"] > pr["bgnbd"] > pr["rules"]
    assert pr["bgnbd"] == pytest.approx(0.615, abs=0.005)
    brier = backtest.metrics["brier"]
    assert brier["model"] == pytest.approx(0.133, abs=0.003) and brier["model"] < brier["bgnbd"] < brier["rules"]
    assert brier["bgnbd"] == pytest.approx(0.140, abs=0.003)
    lift = backtest.metrics["lift_top"]
    assert lift["model"] == pytest.approx(3.26, abs=0.05) and lift["model"] > lift["bgnbd"] > lift["rules"]
    assert lift["bgnbd"] == pytest.approx(3.07, abs=0.05)
    assert backtest.metrics.loc["model", "churn_rate"] == pytest.approx(368 / 1500)


def test_btyd_features_lift_the_model_on_the_sample(backtest):
    """Issue 14: the model with the BTYD features (P(alive), expected purchases, exact P(no
    purchase) from a BG/NBD fitted at each quarter end) beside the model without them."""
    m = backtest.metrics
    assert m.index.tolist() == ["model", "model_btyd", "bgnbd", "rules"]
    # measured on data/sample: 0.8123 -> 0.8158 ROC AUC, PR AUC 0.6513 -> 0.6589, Brier 0.1333 -> 0.1321
    assert m.loc["model_btyd", "roc_auc"] == pytest.approx(0.8158, abs=0.003)
    assert m.loc["model_btyd", "pr_auc"] == pytest.approx(0.6589, abs=0.005)
    assert m.loc["model_btyd", "brier"] == pytest.approx(0.1321, abs=0.003)
    assert m.loc["model_btyd", "roc_auc"] > m.loc["model", "roc_auc"] > m.loc["bgnbd", "roc_auc"]
    assert backtest.winner == "model_btyd" == backtest.deployed      # btyd_features is on by default
    assert m.loc["model_btyd", "roc_auc"] == pytest.approx(roc_auc_score(backtest.scores["churned"], backtest.scores["model_btyd"]))


def test_metrics_agree_with_scikit_learn_on_the_scores(backtest):
    s, m = backtest.scores, backtest.metrics
    y = s["churned"]
    assert m.loc["model", "roc_auc"] == pytest.approx(roc_auc_score(y, s["model"]))
    assert m.loc["model", "pr_auc"] == pytest.approx(average_precision_score(y, s["model"]))
    assert m.loc["model", "brier"] == pytest.approx(brier_score_loss(y, s["model"]))
    assert m.loc["rules", "brier"] == pytest.approx(brier_score_loss(y, s["rules_probability"]))
    assert m.loc["bgnbd", "roc_auc"] == pytest.approx(roc_auc_score(y, s["bgnbd"]))
    assert m.loc["bgnbd", "brier"] == pytest.approx(brier_score_loss(y, s["bgnbd"]))
    # capture = churners in the top 10% / all churners; lift = that rate / the base rate
    for method in m.index:
        assert m.loc[method, "lift_top"] == pytest.approx(m.loc[method, "capture_top"] / 0.10)
    top = s["model"].nlargest(150)
    assert m.loc["model", "capture_top"] == pytest.approx(s.loc[top.index, "churned"].sum() / y.sum())


def test_btyd_baseline_is_bgnbd_expected_purchases_over_the_quarter(sample, backtest):
    snap = snapshot(sample, TEST_AS_OF)
    bought = snap.dropna(subset=["frequency"])
    bg = BetaGeo().fit(bought["frequency"], bought["recency"], bought["T"])
    assert bg.params_ == pytest.approx(backtest.bgnbd_params)
    ids = backtest.scores.index[:50]
    expected = bg.expected_purchases(92 / 7, snap.loc[ids, "frequency"], snap.loc[ids, "recency"], snap.loc[ids, "T"])
    np.testing.assert_allclose(backtest.scores.loc[ids, "bgnbd_expected_purchases"], np.asarray(expected))
    # not probability-alive: customers without a repeat purchase (P(alive) = 1) still differ
    single = backtest.scores.loc[snap.loc[backtest.scores.index, "frequency"] == 0, "bgnbd_expected_purchases"]
    assert len(single) > 5 and single.nunique() > 1
    # the score is the model's own chance of no purchase over the quarter, not exp(-expected)
    none = bg.probability_no_purchases(92 / 7, snap.loc[ids, "frequency"], snap.loc[ids, "recency"], snap.loc[ids, "T"])
    np.testing.assert_allclose(backtest.scores.loc[ids, "bgnbd"], np.asarray(none))
    assert not np.allclose(backtest.scores["bgnbd"], np.exp(-backtest.scores["bgnbd_expected_purchases"]))


def test_rule_baseline_is_the_handbook_list_at_the_test_date(sample, backtest):
    listed = risk_signals(snapshot(sample, TEST_AS_OF))["high_risk"]
    assert backtest.scores["rules"].astype(bool).equals(listed.loc[backtest.scores.index].rename("rules"))


def test_calibration_table(backtest):
    table = backtest.calibration.loc["model"]
    assert len(table) == 10 and table["customers"].sum() == 1500
    weighted = (table["observed"] * table["customers"]).sum() / 1500
    assert weighted == pytest.approx(368 / 1500)
    assert table["predicted"].is_monotonic_increasing
    # expected calibration error: the mean gap between predicted and observed over the deciles
    gap = ((table["predicted"] - table["observed"]).abs() * table["customers"]).sum() / 1500
    assert gap == pytest.approx(0.026, abs=0.003)


def test_training_dates_may_not_look_into_the_test_period(sample):
    with pytest.raises(ValueError, match="outcome windows ending after the test date 2026-06-30"):
        backtest_churn(sample, train_as_of=["2025-12-31", "2026-06-30"], progress=False)
    with pytest.raises(ValueError, match="ends 2026-12-31, after the data end"):
        backtest_churn(sample, test_as_of="2026-09-30", progress=False)


# --- measures on hand-made numbers -------------------------------------------------------------


def test_lift_and_capture_share_ties():
    y = [1, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    assert lift_capture(y, np.arange(10)[::-1], 0.1) == (5.0, 0.5)  # the top customer churned
    # a yes/no list of 4 with 1 churner, cut at 2: half the list, half a churner expected
    flags = [1, 0, 1, 1, 1, 0, 0, 0, 0, 0]
    assert lift_capture(y, flags, 0.2) == pytest.approx((1.25, 0.25))
    m = churn_metrics(y, flags, top_share=0.2)
    # pairs (churner, non-churner): listed vs unlisted 5 wins, ties count half: (5 + 3/2 + 5/2) / 16
    assert m["roc_auc"] == pytest.approx(9 / 16)
    assert m["customers"] == 10 and m["churn_rate"] == 0.2


def test_calibration_table_bins_of_equal_size():
    table = calibration_table([0, 1, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.6, 0.8, 0.9], bins=3)
    assert table["customers"].tolist() == [2, 2, 2]
    assert table["predicted"].tolist() == pytest.approx([0.15, 0.45, 0.85])
    assert table["observed"].tolist() == [0.5, 0.5, 1.0]


# --- scoring --------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def scored(sample, backtest):
    return score_churn(sample, model=backtest.model, as_of="2026-09-30")


def test_score_churn_lists_active_customers_by_probability(sample, backtest, scored):
    snap = snapshot(sample, "2026-09-30")
    assert len(scored) == 1556  # active in the year to 2026-09-30
    assert scored["churn_probability"].is_monotonic_decreasing
    # the BTYD features come from the BG/NBD fitted on every customer of the snapshot
    features = churn_features(snap.loc[scored.index], btyd=btyd_features(snap))
    np.testing.assert_allclose(scored["churn_probability"], backtest.model.predict_proba(features)[:, 1])
    levels = np.where(scored["churn_probability"] >= 0.5, "high", np.where(scored["churn_probability"] >= 0.25, "medium", "low"))
    assert scored["risk_level"].tolist() == levels.tolist()
    assert scored[["owner", "department", "name"]].equals(snap.loc[scored.index, ["owner", "department", "name"]])
    # the run and the report read the model's reasons from the same features
    pd.testing.assert_frame_equal(scoring_features(snap, scored.index, backtest.model), features)
    # keys and numbers only; the words come from describe_scores and driver_reasons
    assert not {"tier_label", "risk_label", "recommended_action", "top_reasons", "signals"} & set(scored.columns)
    top = scored.iloc[[0]]
    assert describe_scores(top, "en")["risk_label"].iloc[0] == "High"
    reasons = driver_reasons(backtest.model, features.loc[top.index], lang="en").iloc[0]
    assert "raises churn risk" in reasons and reasons.count("; ") <= 2


def test_retention_actions_follow_the_handbook(scored):
    core_high = scored.loc[(scored["tier"] == "core") & (scored["risk_level"] == "high")]
    assert len(core_high) >= 1
    assert (core_high["action_key"] == "core_at_risk").all()
    said = describe_scores(scored, "en")
    assert said.loc[core_high.index, "recommended_action"].str.contains("senior management visits within 72 hours").all()
    assert (core_high["respond_within_hours"] == 72).all()
    # dormant recall (coupon + call in 24 h) for the middle tiers only: core keeps its senior visit and
    # low value its automated recall (section 9: stop investing, no personal call)
    middle = scored["tier"].isin(["potential", "ordinary"])
    dormant = scored.loc[middle & scored["risk_level"].isin(["high", "medium"]) & (scored["recency_days"] >= 180)]
    assert len(dormant) > 0 and (dormant["action_key"] == "dormant").all()
    assert (dormant["respond_within_hours"] == 24).all()
    other_high = scored.loc[(scored["risk_level"] == "high") & middle & (scored["recency_days"] < 180)]
    assert (other_high["action_key"] == "churn_risk").all()
    low_value_high = scored.loc[(scored["risk_level"] == "high") & (scored["tier"] == "low_value")]
    assert len(low_value_high) > 0 and (low_value_high["action_key"] == "automated").all()
    assert (low_value_high["respond_within_hours"] == 168).all()
    assert not said.loc[low_value_high.index, "recommended_action"].str.contains("24").any()
    low = scored.loc[scored["risk_level"] == "low"]
    assert (low["action_key"] == "tier").all() and low["respond_within_hours"].isna().all()
    ordinary = said.loc[low.index[low["tier"] == "ordinary"], "recommended_action"]
    assert ordinary.iloc[0].startswith("Standardised service")


def test_actions_with_given_tiers_and_configuration(sample, backtest):
    snap = snapshot(sample, "2026-09-30")
    scores = score_churn(sample, model=backtest.model, tiers=pd.Series("core", index=snap.index))
    high = scores.loc[scores["risk_level"] == "high"]
    assert (high["action_key"] == "core_at_risk").all()  # core: a senior visit even when dormant
    said = describe_scores(scores)
    assert said.loc[high.index[0], "recommended_action"] == "核心客户出现流失风险：72小时内由高层拜访，提供定制化补偿方案"
    assert said["risk_label"].isin(["高风险", "中风险", "低风险"]).all() and (said["tier_label"] == "核心客户").all()
    strict = score_churn(sample, model=backtest.model, config={"churn": {"risk_levels": {"high": 0.9, "medium": 0.6}}})
    assert (strict["risk_level"] == "high").sum() == (strict["churn_probability"] >= 0.9).sum()
    with pytest.raises(ConfigError, match="unknown action 'call_ceo'"):
        score_churn(sample, model=backtest.model, config={"churn": {"actions": {"by_level": {"high": {"default": "call_ceo"}}}}})


def test_score_churn_trains_a_model_when_none_is_given():
    from test_churn_training import make_dataset

    orders = []
    rng = np.random.default_rng(0)
    for i in range(60):  # 60 customers; those with a falling order rate stop buying
        stops = pd.Timestamp("2025-06-01") + pd.Timedelta(days=int(rng.integers(0, 450))) if i % 2 else None
        for start in pd.date_range("2024-01-01", "2026-09-01", freq="MS"):
            if (stops is None or start < stops) and rng.random() < 0.8:
                orders.append((f"K{i:02d}", start + pd.Timedelta(days=int(rng.integers(0, 27))), 10_000.0))
    ds = make_dataset(orders)
    scores = score_churn(ds, "tree", progress=False)
    assert scores.attrs["train_as_of"][-1] == pd.Timestamp("2026-06-30")
    assert scores.attrs["as_of"] == pd.Timestamp("2026-09-30")
    assert "ChurnModel(model='tree'" in scores.attrs["model"]
    assert scores["churn_probability"].between(0, 1).all()


# --- plots ----------------------------------------------------------------------------------------


def test_plots(backtest):
    roc = plot_roc(backtest, lang="en")
    assert isinstance(roc, Figure)
    legend = [t.get_text() for t in roc.axes[0].get_legend().get_texts()]
    assert legend[0] == f"Churn model (AUC {backtest.metrics.loc['model', 'roc_auc']:.3f})"
    assert roc.axes[0].get_title() == "ROC curve (2026-06-30)"
    lift = plot_lift(backtest, lang="en")
    gains = lift.axes[0].lines[0].get_ydata()
    assert gains[10] == pytest.approx(backtest.metrics.loc["model", "capture_top"])
    calibration = plot_calibration(backtest, lang="en")
    np.testing.assert_allclose(calibration.axes[0].lines[0].get_xdata(), backtest.calibration.loc["model", "predicted"])
    if cjk_font():
        assert plot_roc(backtest, lang="zh").axes[0].get_title() == "ROC 曲线（2026-06-30）"

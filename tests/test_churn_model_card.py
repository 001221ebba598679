"""The churn model card (issue 13): base rate, sizes, ROC AUC with a bootstrap interval,
precision and recall at the threshold and how it was chosen, flagged against expected
churners, the quarter tested and the quarter forecast."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from conftest import SAMPLE
from segkit.config import ConfigError
from segkit.insights.churn import (
    ChurnBacktest,
    backtest_churn,
    flag_threshold,
    load_churn_config,
    model_card,
    precision_recall_at,
    score_churn,
)
from segkit.insights.churn.card import _bootstrap_auc
from segkit.io import load_dataset
from segkit.sample import generate_sample

# ten test customers, four churners; by hand (threshold 0.5 flags the first five):
# precision 3/5, recall 3/4; ROC AUC: positives beat 6 + 6 + 6 + 4 of 24 negative pairs
Y10 = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
P10 = [0.95, 0.80, 0.60, 0.55, 0.50, 0.40, 0.30, 0.20, 0.10, 0.05]


def _backtest(y, p, *, test_as_of="2026-06-30", outcome_end="2026-09-30") -> ChurnBacktest:
    """A ChurnBacktest holding only what the model card reads."""
    scores = pd.DataFrame({"churned": y, "model": p}, index=pd.Index([f"C{i}" for i in range(len(y))], name="customer_id"))
    return ChurnBacktest(
        metrics=pd.DataFrame({"roc_auc": [np.nan]}, index=pd.Index(["model"], name="method")),
        calibration=pd.DataFrame(), scores=scores, model=None, train_as_of=[pd.Timestamp("2026-03-31")],
        test_as_of=pd.Timestamp(test_as_of), outcome_end=pd.Timestamp(outcome_end), n_train=40,
        bgnbd_params={}, top_share=0.1, horizon="1Q", definition="no_order", n_train_available=55,
    )


def _config(**threshold) -> dict:
    return {"churn": {"threshold": threshold}}


# --- ten customers, by hand ---------------------------------------------------------------------


def test_ten_customers_by_hand():
    card = model_card(_backtest(Y10, P10), method="model")
    assert (card.base_rate, card.n_test, card.n_train, card.n_train_available) == (0.4, 10, 40, 55)
    assert (card.threshold, card.how_chosen) == (0.5, "probability")
    assert card.precision == pytest.approx(3 / 5) and card.recall == pytest.approx(3 / 4)
    assert card.roc_auc == pytest.approx(22 / 24)
    # average precision: churners at ranks 1, 2, 3, 6 -> (1 + 1 + 1 + 4/6) / 4
    assert card.pr_auc == pytest.approx((3 + 4 / 6) / 4)
    assert (card.n_scored, card.flagged) == (10, 5)
    assert card.expected_churners == pytest.approx(4.45)
    assert (card.tested_quarter, card.forecast_quarter, card.horizon) == ("2026Q3", "2026Q4", "1Q")
    assert card.roc_auc_low <= card.roc_auc <= card.roc_auc_high <= 1.0
    assert (card.interval_level, card.n_boot) == (0.9, 1000)


def test_capacity_and_cost_rules_by_hand():
    capacity = model_card(_backtest(Y10, P10), method="model", config=_config(rule="capacity", capacity={"customers": 3}))
    assert (capacity.threshold, capacity.how_chosen, capacity.flagged) == (0.6, "capacity", 3)
    assert (capacity.precision, capacity.recall) == (1.0, 0.75)
    share = model_card(_backtest(Y10, P10), method="model", config=_config(rule="capacity", capacity={"share": 0.2}))
    assert (share.threshold, share.flagged) == (0.8, 2)
    # cost 1 : 3 -> flag from 1/4: seven customers, all four churners among them
    cost = model_card(_backtest(Y10, P10), method="model",
                      config=_config(rule="cost", cost={"false_alarm": 1, "missed_churner": 3}))
    assert (cost.threshold, cost.how_chosen, cost.flagged) == (0.25, "cost", 7)
    assert cost.precision == pytest.approx(4 / 7) and cost.recall == 1.0


def test_capacity_suggestion_when_most_customers_churn_by_hand():
    # seven churners of ten: base rate 0.7 > 0.5, so the card says what a capacity would flag
    y = [1, 1, 1, 1, 0, 1, 1, 0, 1, 0]
    card = model_card(_backtest(y, P10), method="model")
    assert card.base_rate == pytest.approx(0.7) and (card.threshold, card.flagged) == (0.5, 5)
    # the default suggestion, a tenth of the scored: 1 customer, from 0.95; 1 of 7 churners found
    assert card.capacity_suggestion == {"customers": 1, "threshold": 0.95, "precision": 1.0, "recall": pytest.approx(1 / 7)}
    # a configured capacity is the one suggested: 3 customers from 0.6, all churners
    three = model_card(_backtest(y, P10), method="model", config=_config(capacity={"customers": 3}))
    assert three.how_chosen == "probability"
    assert three.capacity_suggestion == {"customers": 3, "threshold": 0.6, "precision": 1.0, "recall": pytest.approx(3 / 7)}
    # none when the base rate is at most the line, when capacity already chose, or when switched off
    assert model_card(_backtest(Y10, P10), method="model").capacity_suggestion is None
    by_capacity = _config(rule="capacity", capacity={"customers": 3})
    assert model_card(_backtest(y, P10), method="model", config=by_capacity).capacity_suggestion is None
    assert model_card(_backtest(y, P10), method="model", config=_config(suggest_capacity=None)).capacity_suggestion is None
    higher = _config(suggest_capacity={"base_rate_above": 0.75, "capacity": {"share": 0.5}})
    assert model_card(_backtest(y, P10), method="model", config=higher).capacity_suggestion is None


def test_the_churn_report_states_the_capacity_suggestion():
    from types import SimpleNamespace

    from segkit.reporting import display
    from segkit.reporting.churn_report import model_card_view
    from segkit.reporting.context import words

    suggested = model_card(_backtest([1, 1, 1, 1, 0, 1, 1, 0, 1, 0], P10), method="model")
    plain = model_card(_backtest(Y10, P10), method="model")
    try:
        for lang, expected in (("en", "this threshold puts 5 of 10 customers on the list. A list cut to the team's capacity "
                                      "would hold 1 customers (churn probability ≥ 95.0%); tested, its precision was 100.0% "
                                      "and its recall 14.3%."),
                               ("zh", "按此阈值 10 家客户中有 5 家列入名单。若按跟进能力限定名单，将列入 1 家客户（流失概率 ≥ 95.0%）；"
                                      "在检验中其精确率为 100.0%，召回率为 14.3%。")):
            display.use(lang=lang)
            said = [model_card_view(SimpleNamespace(has=lambda what: True, churn_card=card, words=words(lang))).parts[-1].text()
                    for card in (suggested, plain)]
            assert len(said[0]) == 2 and expected in said[0][1]
            assert len(said[1]) == 1  # no suggestion, no sentence
    finally:
        display.use()


def test_scores_given_set_the_flag_count_and_the_forecast_quarter():
    listed = pd.Series([0.9, 0.6, 0.45, 0.2], index=["A", "B", "C", "D"], name="churn_probability")
    listed.attrs.update(as_of=pd.Timestamp("2026-12-31"), horizon="1Q")
    card = model_card(_backtest(Y10, P10), listed, method="model")
    assert (card.n_scored, card.flagged, card.forecast_quarter) == (4, 2, "2027Q1")
    assert card.expected_churners == pytest.approx(2.15)
    assert card.tested_quarter == "2026Q3" and card.precision == pytest.approx(3 / 5)  # measured on the test set
    # capacity is counted on the list, precision / recall measured at that probability on the test
    capped = model_card(_backtest(Y10, P10), listed, method="model", config=_config(rule="capacity", capacity={"customers": 1}))
    assert (capped.threshold, capped.flagged) == (0.9, 1)
    assert (capped.precision, capped.recall) == (1.0, 0.25)


def test_to_frame_is_one_column_of_keys_and_values():
    frame = model_card(_backtest(Y10, P10), method="model").to_frame()
    assert frame.columns.tolist() == ["value"] and frame.index.name == "key"
    assert frame.loc["base_rate", "value"] == 0.4 and frame.loc["how_chosen", "value"] == "probability"
    assert frame.index[0] == "method" and len(frame) == 22 and frame.index[-1] == "capacity_suggestion"


def test_bootstrap_interval_is_seeded_and_agrees_with_sklearn():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 60)
    p = np.round(rng.random(60) * 0.6 + 0.3 * y, 2)  # rounded: ties, as calibrated scores have
    low, high = _bootstrap_auc(y, p, 200, 0.9, seed=5)
    assert (low, high) == _bootstrap_auc(y, p, 200, 0.9, seed=5)
    assert (low, high) != _bootstrap_auc(y, p, 200, 0.9, seed=6)
    # the same resamples scored by sklearn (one chunk: all 200 drawn at once)
    rows = np.random.default_rng(5).integers(0, 60, size=(200, 60))
    aucs = [roc_auc_score(y[r], p[r]) for r in rows if 0 < y[r].sum() < 60]
    assert (low, high) == pytest.approx(tuple(np.quantile(aucs, [0.05, 0.95])), abs=1e-12)
    assert low < roc_auc_score(y, p) < high


def test_bad_input_names_what_is_wrong():
    with pytest.raises(ValueError, match=r"method 'bgnbd' is not a churn model of the backtest; it has \['model'\]"):
        model_card(_backtest(Y10, P10), method="bgnbd")
    with pytest.raises(ValueError, match="needs the column churn_probability"):
        model_card(_backtest(Y10, P10), pd.DataFrame({"p": [0.1]}), method="model")
    with pytest.raises(ValueError, match=r"attrs\['as_of'\]"):
        model_card(_backtest(Y10, P10), pd.Series([0.1]), method="model")
    with pytest.raises(ConfigError, match="rule 'capacity' needs the `capacity` setting"):
        load_churn_config(_config(rule="capacity"))
    with pytest.raises(ConfigError, match="exactly one of `customers`"):
        load_churn_config(_config(rule="capacity", capacity={"customers": 5, "share": 0.1}))
    with pytest.raises(ConfigError, match=r"threshold.rule: Input should be 'probability', 'capacity' or 'cost' \(got 'budget'\)"):
        load_churn_config(_config(rule="budget"))


# --- properties ---------------------------------------------------------------------------------

labels_and_scores = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.integers(0, 1), min_size=n, max_size=n),
    st.lists(st.sampled_from([0.0, 0.1, 0.25, 0.5, 0.5, 0.75, 0.9, 1.0]), min_size=n, max_size=n)))


@settings(max_examples=150, deadline=None)
@given(labels_and_scores, st.lists(st.floats(0, 1.05), min_size=2, max_size=6))
def test_precision_and_recall_are_shares_and_recall_falls_with_the_threshold(data, thresholds):
    y, p = data
    recalls = []
    for t in sorted(thresholds):
        precision, recall = precision_recall_at(y, p, t)
        flagged = [yi for yi, pi in zip(y, p) if pi >= t]
        assert np.isnan(precision) if not flagged else 0.0 <= precision <= 1.0
        assert np.isnan(recall) if sum(y) == 0 else 0.0 <= recall <= 1.0
        recalls.append(recall)
    if sum(y):
        assert all(a >= b for a, b in zip(recalls, recalls[1:]))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from([0.1, 0.2, 0.3, 0.3, 0.5, 0.7, 0.9]), min_size=1, max_size=30), st.integers(1, 35))
def test_capacity_is_never_exceeded_and_filled_without_ties(p, customers):
    threshold, rule = flag_threshold(p, _config(rule="capacity", capacity={"customers": customers}))
    flagged = sum(v >= threshold for v in p)
    assert rule == "capacity" and flagged <= customers
    ranked = sorted(p, reverse=True)
    if customers >= len(p):
        assert flagged == len(p)
    elif ranked[customers - 1] != ranked[customers]:  # no tie across the limit: exactly full
        assert flagged == customers


# --- the sample and a second generated data set -------------------------------------------------


@pytest.fixture(scope="module")
def sample_card():
    ds = load_dataset(SAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtest_churn(ds, progress=False)
        scores = score_churn(ds, progress=False)
    return bt, scores, model_card(bt, scores)


def test_sample_card(sample_card):
    bt, scores, card = sample_card
    y = bt.scores["churned"]
    assert card.base_rate == y.mean() == pytest.approx(368 / 1500)  # the 24.5% of issue 13
    assert (card.n_test, card.n_train, card.method) == (1500, 10_567, "model_btyd")
    assert (card.tested_quarter, card.forecast_quarter) == ("2026Q3", "2026Q4")
    assert card.roc_auc == bt.metrics.loc["model_btyd", "roc_auc"] == pytest.approx(0.816, abs=0.005)
    assert card.pr_auc == pytest.approx(average_precision_score(y, bt.scores["model_btyd"]))
    assert card.roc_auc_low < card.roc_auc < card.roc_auc_high
    assert card.roc_auc_high - card.roc_auc_low == pytest.approx(0.04, abs=0.015)  # 1,500 customers
    # the default threshold is today's: the high-risk cut-off, so the flag is the high-risk list
    assert (card.threshold, card.how_chosen) == (0.5, "probability")
    assert card.flagged == int((scores["risk_level"] == "high").sum())
    assert card.capacity_suggestion is None  # 24.5% churn: a probability line does not flag most
    assert card.n_scored == len(scores) and card.expected_churners == pytest.approx(scores["churn_probability"].sum())
    # calibrated probabilities: a 0.5 cut flags about half the churners expected (issue 13)
    assert card.flagged < card.expected_churners / 1.5
    flagged = bt.scores["model_btyd"] >= 0.5
    assert card.precision == pytest.approx(y[flagged].mean()) and card.recall == pytest.approx(flagged[y == 1].mean())


def test_second_data_set_card(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed13")
    generate_sample(folder, seed=13, n_customers=400)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = backtest_churn(load_dataset(folder), progress=False)
    card = model_card(bt, config=_config(rule="capacity", capacity={"share": 0.1}))
    y = bt.scores["churned"]
    assert card.base_rate == y.mean() and card.n_test == len(y) == card.n_scored
    assert card.flagged <= int(0.1 * len(y)) and card.how_chosen == "capacity"
    assert card.expected_churners == pytest.approx(bt.scores[card.method].sum())
    assert card.roc_auc_low < card.roc_auc < card.roc_auc_high
    assert card.tested_quarter == "2026Q3"
    assert 0 <= card.precision <= 1 and 0 <= card.recall <= 1

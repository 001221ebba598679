"""BTYD features in the churn training tables (issue 14, item 3): point in time, equal to the
BG/NBD methods called directly, a guard for a failed fit, and the four-method backtest."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import CDNOW
from segkit.insights.churn import (
    BTYD_FEATURES,
    backtest_churn,
    btyd_features,
    churn_training_table,
    fit_churn_model,
    method_labels,
    score_churn,
)
from segkit.features import snapshot
from segkit.io import load_dataset
from segkit.models import BetaGeo
from segkit.sample import generate_sample
from segkit.summary import btyd_summary

CUTOFF = pd.Timestamp("2025-06-30")


def _orders_folder(folder: Path, orders: pd.DataFrame, as_of: str, name: str = "hand-made") -> Path:
    """An orders-only data set as a user would export it: orders.csv + dataset.yaml."""
    folder.mkdir(parents=True, exist_ok=True)
    out = orders.assign(order_date=pd.to_datetime(orders["order_date"]).dt.strftime("%Y-%m-%d"))
    out[["customer_id", "order_date", "amount"]].to_csv(folder / "orders.csv", index=False)
    (folder / "dataset.yaml").write_text(f"name: {name}\nas_of: {as_of}\ncurrency: CNY\n", encoding="utf-8")
    return folder


def _hand_made_orders() -> pd.DataFrame:
    """200 customers written out by the BG/NBD story, seeded: each has a purchase rate (gamma,
    mean one order in 50 days) and a chance to stop after each order (beta, mean 0.2), a first
    order in the first half of 2024, and orders to 2026-03-31 at exponential gaps (whole days)."""
    rng = np.random.default_rng(1)
    rows = []
    start, end = pd.Timestamp("2024-01-01"), pd.Timestamp("2026-03-31")
    for i in range(200):
        rate, stop = rng.gamma(0.8, 1 / 40.0), rng.beta(1.0, 4.0)
        day = start + pd.Timedelta(days=int(rng.integers(0, 180)))
        while day <= end:
            rows.append({"customer_id": f"H{i:03d}", "order_date": day, "amount": round(50 + rng.gamma(2, 40), 2)})
            if rng.random() < stop:
                break
            day += pd.Timedelta(days=int(np.ceil(rng.exponential(1 / rate))))
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory):
    return _hand_made_orders()


# --- point in time --------------------------------------------------------------------------------


def test_features_at_a_date_ignore_every_order_after_it(hand_made, tmp_path):
    before = load_dataset(_orders_folder(tmp_path / "a", hand_made, "2026-03-31"))
    later = hand_made["order_date"] > CUTOFF
    altered = hand_made.copy()
    altered.loc[later, "amount"] *= 3.0                                     # other amounts after the date
    altered.loc[later, "order_date"] = altered.loc[later, "order_date"] - pd.Timedelta(days=1)
    altered = altered.loc[~later | (np.arange(len(altered)) % 2 == 0)]       # half the later orders gone
    extra = pd.DataFrame({"customer_id": ["H000", "H005", "NEW"], "amount": [50.0, 60.0, 70.0],
                          "order_date": pd.to_datetime(["2025-07-01", "2025-12-01", "2025-08-15"])})
    after = load_dataset(_orders_folder(tmp_path / "b", pd.concat([altered, extra]), "2026-03-31"))

    a = btyd_features(snapshot(before, CUTOFF), "1Q")
    b = btyd_features(snapshot(after, CUTOFF), "1Q")
    assert list(a.columns) == list(BTYD_FEATURES) and a["btyd_p_alive"].notna().sum() == 200
    pd.testing.assert_frame_equal(a, b.loc[a.index])
    assert a.attrs["btyd_params"] == b.attrs["btyd_params"]

    dates = ["2025-03-31", "2025-06-30"]
    ta = churn_training_table(before, dates, progress=False)
    tb = churn_training_table(after, dates, progress=False)
    assert set(BTYD_FEATURES) <= set(ta.feature_columns)
    pd.testing.assert_frame_equal(ta.train[list(BTYD_FEATURES)], tb.train.loc[ta.train.index, list(BTYD_FEATURES)])
    assert ta.btyd_params == tb.btyd_params
    # ... while an order added before the date does change them (the test can fail)
    earlier = pd.DataFrame({"customer_id": ["H003"], "amount": [80.0], "order_date": [CUTOFF - pd.Timedelta(days=2)]})
    moved = load_dataset(_orders_folder(tmp_path / "c", pd.concat([hand_made, earlier]), "2026-03-31"))
    c = btyd_features(snapshot(moved, CUTOFF), "1Q")
    assert c.loc["H003", "btyd_p_no_purchase"] != pytest.approx(a.loc["H003", "btyd_p_no_purchase"], rel=1e-3)


# --- the features are the BetaGeo methods on the summary at that date ------------------------------


def test_features_equal_betageo_on_the_btyd_summary_of_cdnow(tmp_path):
    raw = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None, names=["id", "id2", "date", "qty", "amount"],
                      dtype={"id": str, "date": str})
    orders = pd.DataFrame({"customer_id": raw["id"], "order_date": pd.to_datetime(raw["date"], format="%Y%m%d"),
                           "amount": raw["amount"]})
    ds = load_dataset(_orders_folder(tmp_path / "cdnow", orders, "1998-06-30", "CDNOW sample"))
    when = pd.Timestamp("1997-09-30")
    features = btyd_features(snapshot(ds, when), "1Q")

    bought = orders.loc[(orders["order_date"] <= when) & (orders["amount"] > 0)]
    summary = btyd_summary(bought, observation_end=when, unit="W")
    summary.index = summary.index.astype("str")
    bg = BetaGeo(random_state=0).fit(summary["frequency"], summary["recency"], summary["T"])
    assert features.attrs["btyd_params"] == pytest.approx(bg.params_, rel=1e-9)
    t = 92 / 7                                      # 1997-10-01 .. 12-31, in weeks
    args = (summary["frequency"], summary["recency"], summary["T"])
    got = features.loc[summary.index]
    np.testing.assert_allclose(got["btyd_p_alive"], np.asarray(bg.probability_alive(*args)), rtol=1e-9)
    np.testing.assert_allclose(got["btyd_expected_purchases"], np.asarray(bg.expected_purchases(t, *args)), rtol=1e-9)
    np.testing.assert_allclose(got["btyd_p_no_purchase"], np.asarray(bg.probability_no_purchases(t, *args)), rtol=1e-9)
    # the 2,357 customers of the CDNOW sample, less 8 whose only orders have amount 0
    assert len(got) == 2349 == features["btyd_p_alive"].notna().sum() and len(features) == 2357
    # the exact zero class, not exp(-E[Y])
    assert not np.allclose(got["btyd_p_no_purchase"], np.exp(-got["btyd_expected_purchases"]), atol=1e-3)


# --- a fit that fails: no values, a warning naming the date, the model still trains ----------------


def test_failed_fit_leaves_the_features_out_with_a_warning_naming_the_date(hand_made, tmp_path):
    # at 2024-03-31 every customer has bought once (first orders only): no repeat buyer, no BG/NBD
    repeat = hand_made.groupby("customer_id").cumcount() > 0
    orders = hand_made.loc[~(repeat & (hand_made["order_date"] <= pd.Timestamp("2024-03-31")))]
    ds = load_dataset(_orders_folder(tmp_path / "d", orders, "2026-03-31"))
    assert (snapshot(ds, "2024-03-31")["frequency"].dropna() == 0).all()

    with pytest.warns(UserWarning, match=r"BTYD features left out at 2024-03-31: the BG/NBD fit .* failed") as caught:
        table = churn_training_table(ds, ["2024-03-31", "2025-06-30"], progress=False)
    assert sum("BTYD features left out" in str(w.message) for w in caught) == 1   # only that date
    assert table.btyd_params[pd.Timestamp("2024-03-31")] is None
    assert table.btyd_params[pd.Timestamp("2025-06-30")] is not None
    assert set(BTYD_FEATURES) <= set(table.feature_columns)
    first = table.train.loc[pd.Timestamp("2024-03-31")]
    assert first[list(BTYD_FEATURES)].isna().all().all() and len(first) > 0
    assert table.train.loc[pd.Timestamp("2025-06-30"), list(BTYD_FEATURES)].notna().all().all()

    from segkit.models import ChurnModel

    model = ChurnModel().fit(table.X, table.y)         # the model still trains, with the features
    assert "btyd_p_alive" in model.numeric_columns_


def test_scoring_date_without_a_fit_still_scores(hand_made, tmp_path):
    """A model fitted with the BTYD features scores a date whose BG/NBD fit fails (values
    imputed), after a warning naming the date."""
    ds = load_dataset(_orders_folder(tmp_path / "e", hand_made, "2026-03-31"))
    model = fit_churn_model(ds, "2026-03-31", progress=False)
    assert "btyd_p_no_purchase" in set(model.feature_names_in_)
    firsts = hand_made.groupby("customer_id").head(1).assign(order_date=pd.Timestamp("2026-03-01"))
    one_order = load_dataset(_orders_folder(tmp_path / "f", firsts, "2026-03-31"))
    with pytest.warns(UserWarning, match="BTYD features left out at 2026-03-31"):
        scores = score_churn(one_order, model, tiers=pd.Series("growth", index=firsts["customer_id"].unique()),
                             progress=False)
    assert len(scores) == 200 and scores["churn_probability"].between(0, 1).all()


# --- the backtest: four methods, reproducible -------------------------------------------------------


@pytest.fixture(scope="module")
def small_sample(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sample-seed-5")
    generate_sample(folder, seed=5, n_customers=400)
    return load_dataset(folder)


def test_backtest_compares_four_methods_reproducibly(small_sample):
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)          # no BG/NBD fit fails on this data
        first = backtest_churn(small_sample, progress=False)
    again = backtest_churn(small_sample, progress=False)
    assert first.metrics.index.tolist() == ["model", "model_btyd", "bgnbd", "rules"]
    assert method_labels(first.metrics.index, "en").tolist() == [
        "Churn model", "Churn model + BTYD features", "BG/NBD chance of no purchase (baseline)",
        "Rule-based high-risk list (baseline)"]
    pd.testing.assert_frame_equal(first.metrics, again.metrics)            # seeded: the same numbers
    pd.testing.assert_frame_equal(first.scores, again.scores)
    # the deployed model (btyd_features on by default) is the one with the BTYD features
    assert first.deployed == "model_btyd" and set(first.models) == {"model", "model_btyd"}
    assert "btyd_p_alive" in set(first.model.feature_names_in_)
    assert not set(BTYD_FEATURES) & set(first.models["model"].feature_names_in_)
    assert first.models["model"].training_summary_["rows_used"] == first.n_train
    # the baseline is the BG/NBD of the BTYD features at the test date: the same numbers
    table = churn_training_table(small_sample, [first.test_as_of], progress=False)
    at_test = table.train.loc[first.test_as_of]
    np.testing.assert_allclose(first.scores["bgnbd"], at_test.loc[first.scores.index, "btyd_p_no_purchase"], rtol=1e-12)
    assert first.bgnbd_params == pytest.approx(table.btyd_params[first.test_as_of], rel=1e-12)
    assert first.winner == first.metrics["roc_auc"].idxmax()
    # the churn report's method section says the deployed model uses the BTYD features
    from types import SimpleNamespace

    from segkit.reporting.churn_report import method
    from segkit.reporting.context import words

    ctx = SimpleNamespace(backtest=first, lang="en", words=words("en"), has=lambda what: True)
    assert "The model&#x27;s features include the BTYD features" in method(ctx)._repr_html_()   # escaped HTML


def test_switch_off_deploys_the_model_without_btyd_but_still_compares(small_sample):
    off = {"churn": {"training": {"btyd_features": {"enabled": False}}}}
    bt = backtest_churn(small_sample, config=off, progress=False)
    assert bt.metrics.index.tolist() == ["model", "model_btyd", "bgnbd", "rules"]
    assert bt.deployed == "model" and not set(BTYD_FEATURES) & set(bt.model.feature_names_in_)
    on = backtest_churn(small_sample, progress=False)
    pd.testing.assert_frame_equal(bt.metrics, on.metrics)       # the same comparison either way
    table = churn_training_table(small_sample, [bt.test_as_of], config=off, progress=False)
    assert not set(BTYD_FEATURES) & set(table.feature_columns)


# --- the report says which method wins, in the report's words --------------------------------------


def _context(metrics: dict[str, float], lang: str, interactions: bool = True):
    """What the churn report's backtest section reads of a context: words, language, metrics."""
    from types import SimpleNamespace

    from segkit.reporting.context import words

    table = pd.DataFrame({"roc_auc": metrics})
    return SimpleNamespace(words=words(lang), lang=lang, backtest=SimpleNamespace(metrics=table),
                           has=lambda what: interactions if what == "interactions" else True)


def test_report_names_the_winner_and_says_when_a_baseline_wins():
    from segkit.reporting.churn_report import _winner_sentences

    # CDNOW's backtest without the BTYD features (issue 14): BG/NBD wins; no interactions, no rule list
    cdnow = {"model": 0.7391, "model_btyd": 0.7385, "bgnbd": 0.7407, "rules": 0.4917}
    assert _winner_sentences(_context(cdnow, "en", interactions=False)) == [
        "On this data the backtest's highest ROC AUC is that of BG/NBD chance of no purchase (baseline) (0.741); all methods, "
        "best first: BG/NBD chance of no purchase (baseline) 0.741, Churn model 0.739, Churn model + BTYD features 0.739.",
        "The BTYD features (BG/NBD chance of being active, expected purchases, chance of no purchase) do not raise the "
        "model's ROC AUC (0.739 -> 0.739).",
        "The churn model does not beat this baseline: use the baseline to rank customers, and the model's scores with care.",
    ]
    sample = {"model": 0.8123, "model_btyd": 0.8158, "bgnbd": 0.8016, "rules": 0.5136}
    zh = _winner_sentences(_context(sample, "zh"))
    assert zh == [
        "本数据的回测中 ROC AUC 最高的是「流失模型 + BTYD 特征」（0.816）；各方法依次为：流失模型 + BTYD 特征 0.816、流失模型 0.812、"
        "BG/NBD 不购买概率（基准） 0.802、规则高风险名单（基准） 0.514。",
        "加入 BTYD 特征（BG/NBD 活跃概率、预期购买次数、不购买概率）后，模型的 ROC AUC 从 0.812 提高到 0.816。",
    ]

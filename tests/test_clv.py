"""CLV: holdout validation on CDNOW, horizons with units, discounting, tiers, tracking, plots."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from segkit.config import ConfigError
from segkit.models import BetaGeo, GammaGamma, ParetoNBD
from segkit.models.clv import (
    Horizon,
    clv,
    clv_tiers,
    historical_clv,
    parse_horizon,
)
from segkit.models.clv_validation import repeat_purchase_tracking, validate_clv
from segkit.models.clv_words import explain_clv_tiers
from segkit.plots.clv import plot_holdout, plot_tracking
from segkit.summary import btyd_summary, calibration_holdout

CDNOW = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "cdnow"


@pytest.fixture(scope="module")
def cdnow_tx():
    tx = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return tx


@pytest.fixture(scope="module")
def split(cdnow_tx):
    return calibration_holdout(cdnow_tx, "1997-09-30", "1998-06-30", unit="W", period="D")


@pytest.fixture(scope="module")
def validation(split):
    return validate_clv(BetaGeo(), split)


@pytest.fixture(scope="module")
def models(cdnow_tx):
    snap = btyd_summary(cdnow_tx, "1997-09-30", unit="W", period="D")
    bg = BetaGeo().fit_snapshot(snap)
    with pytest.warns(UserWarning):
        gg = GammaGamma().fit_snapshot(snap)
    return snap, bg, gg


def test_holdout_table_matches_source(validation):
    """SOURCE.md: x=0: 0.237 vs 0.225; x=1: 0.697 vs 0.523; x=2: 1.393 vs 1.044; 7+: 6.359 vs 6.157."""
    table = validation.table.round(3)
    assert list(table.index) == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    expected = {"0": (0.237, 0.225), "1": (0.697, 0.523), "2": (1.393, 1.044), "7+": (6.359, 6.157)}
    for row, (actual, predicted) in expected.items():
        assert table.loc[row, "actual"] == actual, row
        assert table.loc[row, "predicted"] == predicted, row
    assert table["n_customers"].sum() == 2357
    assert table.loc["0", "n_customers"] == 1411


def test_holdout_summary_numbers(validation):
    assert round(validation.roc_auc, 3) == 0.773
    assert validation.roc_auc_probability_alive < 0.5  # P(alive) = 1 without repeat purchase
    actual = validation.predictions["actual"].sum()
    predicted = validation.predictions["predicted"].sum()
    assert validation.aggregate_error == pytest.approx((predicted - actual) / actual)
    assert -0.2 < validation.aggregate_error < 0  # BG/NBD under-forecasts CDNOW's holdout a bit
    assert validation.model.unit_ == "W"


def test_validate_with_a_fitted_pareto_model(split):
    pn = ParetoNBD().fit(split["frequency_cal"], split["recency_cal"], split["T_cal"])
    result = validate_clv(pn, split)
    assert result.model is pn
    assert 0.7 < result.roc_auc < 0.85
    assert result.table.loc["0", "actual"] == pytest.approx(0.2367, abs=1e-4)


def test_parse_horizon():
    assert parse_horizon("12M") == Horizon(12.0, "M")
    assert parse_horizon((52, "W")) == Horizon(52.0, "W")
    assert parse_horizon(" 365d ").days() == 365.0
    assert parse_horizon("1Y").days("2024-01-01") == 366.0  # leap year, from the calendar
    assert parse_horizon("12M").days("2025-01-01") == 365.0
    assert parse_horizon("1M").days("2024-02-01") == 29.0
    for bad in (12, "12", "12 months", (0, "W"), "-3W"):
        with pytest.raises(ValueError, match="horizon"):
            parse_horizon(bad)
    with pytest.raises(ValueError, match="calendar months"):
        parse_horizon("12M").days()


def test_clv_horizon_units_are_checked(models):
    snap, bg, gg = models
    assert snap.attrs["btyd_unit"] == "W"
    with pytest.raises(ValueError, match="conflicting time units"):
        clv(snap, bg, gg, "52W", unit="D")
    bare = snap.copy()
    bare.attrs = {}
    bg_plain = BetaGeo()
    bg_plain.params_ = bg.params_
    with pytest.raises(ValueError, match="time unit of frequency/recency/T is unknown"):
        clv(bare, bg_plain, gg, "52W")
    with pytest.raises(ValueError, match="calendar months"):
        clv(bare, bg_plain, gg, "12M", unit="W")
    # weeks and days are the same horizon when they are the same length
    a = clv(snap, bg, gg, "52W", annual_discount_rate=0.0)
    b = clv(snap, bg, gg, (364, "D"), annual_discount_rate=0.0)
    np.testing.assert_allclose(a["clv"], b["clv"], rtol=1e-12)
    # 12 calendar months from 1997-09-30 are 365 days = 52.14 weeks
    c = clv(snap, bg, gg, "12M", annual_discount_rate=0.0)
    assert c.attrs["horizon_in_unit"] == pytest.approx(365 / 7)


def test_clv_is_spend_times_discounted_purchases(models):
    snap, bg, gg = models
    flat = clv(snap, bg, gg, "52W", margin=0.4, annual_discount_rate=0.0)
    direct = bg.expected_purchases(52.0, snap["frequency"], snap["recency"], snap["T"])
    np.testing.assert_allclose(flat["expected_purchases"], direct, rtol=1e-10)
    spend = gg.expected_average_spend(snap["frequency"], snap["monetary_value"])
    np.testing.assert_allclose(flat["clv"], 0.4 * spend * direct, rtol=1e-10)
    discounted = clv(snap, bg, gg, "52W", margin=0.4, annual_discount_rate=0.15)
    ratio = discounted["clv"] / flat["clv"]
    # every purchase is discounted by a factor between 1/1.15 (one year) and 1
    assert ((ratio < 1) & (ratio > 1 / 1.15)).all()


def test_clv_chunks_do_not_change_results(models):
    snap, bg, gg = models
    whole = clv(snap, bg, gg, "26W")
    pieces = clv(snap, bg, gg, "26W", chunk_size=7)
    pd.testing.assert_frame_equal(whole, pieces)


def test_clv_with_pareto_model(models):
    snap, _, gg = models
    pn = ParetoNBD().fit_snapshot(snap)
    out = clv(snap, pn, gg, "39W", annual_discount_rate=0.0, margin=1.0)
    direct = pn.expected_purchases(39.0, snap["frequency"], snap["recency"], snap["T"])
    np.testing.assert_allclose(out["expected_purchases"], direct, rtol=1e-10)


def test_historical_clv():
    tx = pd.DataFrame({
        "customer_id": ["a", "a", "a", "b", "c"],
        "order_date": pd.to_datetime(["2023-09-30", "2023-10-01", "2024-09-30", "2024-03-01",
                                      "2024-10-01"]),
        "amount": [100.0, 50.0, 30.0, 20.0, 99.0],
    })
    out = historical_clv(tx, "2024-09-30", "12M", margin=0.5)
    # window (2023-09-30, 2024-09-30]: a = 50 + 30, b = 20; c bought after as_of
    assert out.to_dict() == {"a": 40.0, "b": 10.0}
    assert historical_clv(tx, "2024-09-30", (7, "D"), margin=1.0).to_dict() == {"a": 30.0, "b": 0.0}


def test_clv_tiers_defaults_and_config():
    frame = pd.DataFrame(
        {"revenue_12m": [650_000, 120_000, 30_000, 900_000, np.nan],
         "clv": [800_000, 520_000, 10_000, 100_000, 5.0]},
        index=pd.Index(["C001", "C002", "C003", "C004", "C005"], name="customer_id"),
    )
    out = clv_tiers(frame)
    assert out["clv_tier"].tolist() == ["high_value", "high_potential", "low_value", "high_value",
                                        "low_value"]
    assert out["needs_review"].tolist() == [False, False, False, True, True]
    assert list(out.columns) == ["clv_tier", "needs_review"]  # keys; words come from explain_clv_tiers
    words = explain_clv_tiers(out, frame)
    assert words.loc["C001", "clv_tier_label"] == "高价值客户"
    assert words.loc["C001", "clv_basis"] == "近12个月价值 65.0万元 ≥ 50万元；预测价值 80.0万元 ≥ 50万元"
    assert words.loc["C005", "clv_basis"] == "当前或预测价值缺失，需人工复核"
    en = explain_clv_tiers(out, frame, "en")
    assert en.loc["C002", "clv_tier_label"] == "High potential"
    assert en.loc["C004", "clv_basis"] == "12-month value CNY 900,000 ≥ CNY 500,000; predicted value CNY 100,000 < CNY 500,000"
    assert explain_clv_tiers(out.loc[["C004"]], frame, "en").equals(en.loc[["C004"]])  # only the rows shown
    lower = clv_tiers(frame, config={"clv": {"tiers": {"predicted_high": 50_000}}})
    assert lower.loc["C004", "clv_tier"] == "high_value"
    assert not lower.loc["C004", "needs_review"]
    with pytest.raises(ConfigError, match="predicted_hgih"):
        clv_tiers(frame, config={"clv": {"tiers": {"predicted_hgih": 1}}})
    with pytest.raises(KeyError, match="revenue_12m"):
        clv_tiers(frame.drop(columns="revenue_12m"))


def test_tracking_agrees_with_the_summary(cdnow_tx, models):
    snap, bg, _ = models
    tracking = repeat_purchase_tracking(cdnow_tx, bg, "1997-01-01", "1998-06-30", unit="W")
    assert len(tracking) == 78
    week39 = tracking.loc[39]
    assert week39["period_end"] == pd.Timestamp("1997-09-30")
    # actual repeat purchases by the calibration end = sum of the calibration frequencies
    assert week39["actual"] == snap["frequency"].sum()
    # expected by the calibration end = sum over customers of E[X(T_i)]
    want = bg.expected_purchases_population(snap["T"].to_numpy()).sum()
    assert week39["expected"] == pytest.approx(want, rel=1e-10)
    assert tracking["actual"].is_monotonic_increasing
    assert tracking["expected"].is_monotonic_increasing
    assert tracking.attrs["cohort_size"] == 2357


def test_plots_return_figures(cdnow_tx, models, validation):
    _, bg, _ = models
    tracking = repeat_purchase_tracking(cdnow_tx, bg, "1997-01-01", "1998-06-30")
    fig = plot_tracking(tracking, calibration_end="1997-09-30")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert len(ax.lines) == 3  # actual, expected, calibration end
    np.testing.assert_allclose(ax.lines[0].get_ydata(), tracking["actual"])
    fig = plot_holdout(validation)
    np.testing.assert_allclose(fig.axes[0].lines[1].get_ydata(), validation.table["predicted"])


def test_clv_takes_the_horizon_start_from_a_segkit_snapshot():
    import segkit
    from segkit.models import BetaGeo, GammaGamma

    snap = segkit.snapshot(segkit.load_dataset("data/sample"), "2026-09-30")
    stats = snap.dropna(subset=["frequency"])
    stats = stats.loc[stats["T"] > 0]
    bg = BetaGeo().fit_snapshot(stats)
    repeat = stats.loc[stats["frequency"] > 0]
    gg = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    with_attrs = segkit.clv(stats, bg, gg)                      # 12M from attrs["as_of"]
    explicit = segkit.clv(stats, bg, gg, observation_end="2026-09-30")
    assert with_attrs["clv"].equals(explicit["clv"]) and (with_attrs["clv"] > 0).all()


def test_clv_says_whether_it_is_revenue_or_margin():
    from segkit.models.clv import load_config

    bg, gg = BetaGeo(), GammaGamma()
    bg.params_ = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    snap = pd.DataFrame({"frequency": [2.0], "recency": [30.43], "T": [38.86], "monetary_value": [22.35]})
    revenue = clv(snap, bg, gg, "52W", unit="W", annual_discount_rate=0.0)      # default: margin null
    assert load_config().margin == 1.0 and load_config().basis == "revenue"
    assert revenue.attrs["basis"] == "revenue" and revenue.attrs["margin"] == 1.0
    margin = clv(snap, bg, gg, "52W", unit="W", annual_discount_rate=0.0, config={"clv": {"margin": 0.35}})
    assert margin.attrs["basis"] == "margin" and margin.attrs["margin"] == 0.35
    assert margin["clv"].iloc[0] == pytest.approx(0.35 * revenue["clv"].iloc[0])
    with pytest.raises(ConfigError, match="margin"):
        load_config({"clv": {"margin": 0}})
    with pytest.raises(ValueError, match="margin=1.5 must be a share of revenue above 0 and at most 1"):
        clv(snap, bg, gg, "52W", unit="W", margin=1.5)
    tx = pd.DataFrame({"customer_id": ["a"], "order_date": pd.to_datetime(["2024-06-01"]), "amount": [100.0]})
    assert historical_clv(tx, "2024-12-31").attrs["basis"] == "revenue"
    assert historical_clv(tx, "2024-12-31", margin=0.5).attrs["basis"] == "margin"

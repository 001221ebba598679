"""Weighted fits: distinct rows with counts fit exactly like one row per customer.

CDNOW (Fader, Hardie & Lee 2005) per customer against the same data compressed with
:func:`segkit.models.compress_snapshot`: the weighted log-likelihood equals the per-customer
one (computed here customer by customer, independently of the models' compression), the
published parameters come out of the compressed fit, integer weights equal repeated rows,
and bad weights are refused with a clear message.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.special import betaln, gammaln
from scipy.stats import pearsonr

from conftest import CDNOW, sig3
from segkit.models import BetaGeo, ConvergenceError, GammaGamma, ParetoNBD, compress_snapshot
from segkit.models import bgnbd, gammagamma, paretonbd
from segkit.models._optim import screening_sample

BG_PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
PARETO_PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}
GG_PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def spend():
    """CDNOW calibration summary with the average repeat spend (zbar) per customer."""
    frame = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    return frame.rename(columns={"x": "frequency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def rows(cdnow):
    return compress_snapshot(cdnow)


def bg_per_customer(params, x, t_x, T):
    """ln L of eq. (6) of Fader, Hardie & Lee (2005), one value per customer."""
    r, alpha, a, b = params
    first = (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + betaln(a, b + x) - betaln(a, b)
             - (r + x) * np.log(alpha + T))
    with np.errstate(divide="ignore"):
        ratio = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300))
                         + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)), -np.inf)
    return first + np.logaddexp(0.0, ratio)


def pareto_per_customer(params, x, t_x, T):
    """ln L of eq. (22) of Fader & Hardie (2005), one value per customer (no sharing of terms)."""
    r, alpha, s, beta = params
    log_G = [paretonbd._log_G(r, alpha, s, beta, x, y) for y in (t_x, T)]
    ln_bracket, _ = paretonbd._log_terms(r, alpha, s, beta, x, t_x, T, *log_G)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + ln_bracket


# --- compression itself ---------------------------------------------------------------------

def test_compress_snapshot_counts_every_customer_once(cdnow, rows):
    assert list(rows.columns) == ["frequency", "recency", "T", "n_customers"]
    assert rows["n_customers"].sum() == len(cdnow) == 2357
    assert len(rows) == len(cdnow.drop_duplicates(["frequency", "recency", "T"])) < len(cdnow)
    want = cdnow.groupby(["frequency", "recency", "T"]).size()
    got = rows.set_index(["frequency", "recency", "T"])["n_customers"]
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    np.testing.assert_array_equal(got.index.to_frame().to_numpy(), want.index.to_frame().to_numpy())


def test_compress_snapshot_keeps_the_unit_and_compresses_again():
    snap = pd.DataFrame({"frequency": [1, 1, 0, 1], "recency": [2.0, 2.0, 0.0, 3.0],
                         "T": [5.0, 5.0, 5.0, 5.0]}, index=["a", "b", "c", "d"])
    snap.attrs["btyd_unit"] = "W"
    once = compress_snapshot(snap, sample_weight=[1, 2, 4, 0])  # weight 0: row dropped
    assert once.attrs["btyd_unit"] == "W"
    assert once[["frequency", "recency", "n_customers"]].to_numpy().tolist() == [
        [0.0, 0.0, 4.0], [1.0, 2.0, 3.0]]
    twice = compress_snapshot(once, sample_weight="n_customers")
    pd.testing.assert_frame_equal(twice, once)


# --- (1) the weighted log-likelihood on distinct rows is the per-customer one -----------------

@pytest.mark.parametrize("params", [tuple(BG_PUBLISHED.values()), (1.7, 0.5, 3.0, 0.6)])
def test_bgnbd_weighted_log_likelihood_equals_per_customer(cdnow, rows, params):
    want = float(np.sum(bg_per_customer(params, *(cdnow[c].to_numpy(float)
                                                  for c in ["frequency", "recency", "T"]))))
    d = bgnbd._Data(*(rows[c].to_numpy() for c in ["frequency", "recency", "T", "n_customers"]))
    got, _ = bgnbd._log_likelihood(np.log(params), d)
    assert got == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("params", [tuple(PARETO_PUBLISHED.values()), (0.553, 30.0, 0.606, 2.0)])
def test_pareto_weighted_log_likelihood_equals_per_customer(cdnow, rows, params):
    want = float(np.sum(pareto_per_customer(params, *(cdnow[c].to_numpy(float)
                                                      for c in ["frequency", "recency", "T"]))))
    d = paretonbd._Data(*(rows[c].to_numpy() for c in ["frequency", "recency", "T", "n_customers"]))
    assert d.rows == len(rows)
    assert paretonbd._log_likelihood(np.log(params), d) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("params", [tuple(GG_PUBLISHED.values()), (1.2, 8.0, 90.0)])
def test_gammagamma_weighted_log_likelihood_equals_per_customer(spend, params):
    repeat = spend[spend["frequency"] > 0]
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    want, want_grad = gammagamma._log_likelihood(np.log(params), x, m, np.ones(x.size))
    compressed = compress_snapshot(repeat, ["frequency", "monetary_value"])
    assert len(compressed) < len(repeat)
    got, got_grad = gammagamma._log_likelihood(
        np.log(params), *(compressed[c].to_numpy() for c in ["frequency", "monetary_value",
                                                             "n_customers"]))
    assert got == pytest.approx(want, rel=1e-9)
    np.testing.assert_allclose(got_grad, want_grad, rtol=1e-9)


# --- (1, 2) fitted on distinct rows: the per-customer fit and the published parameters --------

@pytest.mark.parametrize(
    "model, published, log_likelihood",
    [(BetaGeo, BG_PUBLISHED, -9582.4), (ParetoNBD, PARETO_PUBLISHED, -9595.0)],
)
def test_compressed_fit_equals_per_customer_fit_and_the_paper(cdnow, rows, model, published,
                                                              log_likelihood):
    per_customer = model().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    compressed = model().fit_snapshot(rows, sample_weight="n_customers")
    for name, value in published.items():
        assert sig3(compressed.params_[name]) == sig3(value), name
        assert compressed.params_[name] == pytest.approx(per_customer.params_[name], rel=1e-12)
        assert compressed.standard_errors_[name] == pytest.approx(
            per_customer.standard_errors_[name], rel=1e-9)
    assert round(compressed.log_likelihood_, 1) == log_likelihood
    assert compressed.log_likelihood_ == pytest.approx(per_customer.log_likelihood_, rel=1e-12)
    assert compressed.n_customers_ == per_customer.n_customers_ == 2357
    assert compressed.n_distinct_ == per_customer.n_distinct_ == len(rows)


def test_gammagamma_on_distinct_rows_reproduces_the_paper(spend):
    with pytest.warns(UserWarning, match="1411 customers with frequency 0"):
        per_customer = GammaGamma().fit_snapshot(spend)
    rows = compress_snapshot(spend, ["frequency", "monetary_value"])
    with pytest.warns(UserWarning, match="1411 customers with frequency 0"):
        compressed = GammaGamma().fit_snapshot(rows, sample_weight="n_customers")
    assert compressed.n_customers_ == 946 and compressed.n_excluded_ == 1411
    for name, value in GG_PUBLISHED.items():
        assert sig3(compressed.params_[name]) == sig3(value), name
        assert compressed.params_[name] == pytest.approx(per_customer.params_[name], rel=1e-12)
    assert compressed.log_likelihood_ == pytest.approx(per_customer.log_likelihood_, rel=1e-12)
    # the spend/frequency correlation is the customers' one, not the distinct rows'
    repeat = spend[spend["frequency"] > 0]
    want = pearsonr(repeat["frequency"], repeat["monetary_value"]).statistic
    assert compressed.correlation_ == pytest.approx(want, rel=1e-9)
    assert per_customer.correlation_ == pytest.approx(want, rel=1e-9)


def test_gammagamma_correlation_warning_counts_customers():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 20, 200).astype(float)
    m = 10 * x + rng.gamma(5, 2, 200)
    w = rng.integers(0, 5, 200).astype(float)
    want = pearsonr(np.repeat(x, w.astype(int)), np.repeat(m, w.astype(int)))
    got = gammagamma._correlation(x, m, w)
    assert got == pytest.approx((want.statistic, want.pvalue), rel=1e-9, abs=1e-300)
    with pytest.warns(UserWarning, match=rf"correlated \(Pearson r = {want.statistic:.2f}"):
        # (a linear spend is no Gamma-Gamma data: the fit itself may not converge)
        with contextlib.suppress(ConvergenceError):
            GammaGamma().fit(x, m, sample_weight=w)
    # weakly correlated on few customers: r and p as scipy gives them on the repeated rows
    x3, m3, w3 = np.array([1.0, 2.0, 3.0]), np.array([5.0, 4.0, 6.0]), np.array([2.0, 1.0, 2.0])
    want = pearsonr(np.repeat(x3, [2, 1, 2]), np.repeat(m3, [2, 1, 2]))
    assert gammagamma._correlation(x3, m3, w3) == pytest.approx((want.statistic, want.pvalue),
                                                               rel=1e-9)


def test_large_data_draw_the_same_screening_sample_compressed_or_not(cdnow):
    # 20 copies of CDNOW (47,140 customers) take the subsample-then-Newton path; the subsample
    # is drawn from the customers of the distinct rows, so both inputs fit identically
    copies = pd.concat([cdnow] * 20)
    big = BetaGeo().fit(copies["frequency"], copies["recency"], copies["T"])
    weighted = BetaGeo().fit_snapshot(cdnow, sample_weight=np.full(len(cdnow), 20.0))
    assert big.params_ == weighted.params_
    assert big.log_likelihood_ == weighted.log_likelihood_
    assert big.log_likelihood_ == pytest.approx(20 * -9582.4, abs=2.0)


def test_screening_sample_draws_customers_without_replacement():
    cols = [np.array([0.0, 1.0, 2.0, 3.0])]
    weight = np.array([50_000.0, 30_000.0, 15_000.0, 5.0])
    (x,), counts = screening_sample(cols, weight, 20_000, random_state=1)
    assert counts.sum() == 20_000
    assert np.all(counts <= weight[x.astype(int)])
    # shares of the subsample follow the customers' shares (hypergeometric sd ~ 0.003)
    np.testing.assert_allclose(counts[:3] / 20_000, weight[:3] / weight.sum(), atol=0.015)
    assert screening_sample(cols, np.array([10_000.0, 20_000.0, 10_000.0, 0.0]), 20_000, 0) is None
    # fractional weights: a multinomial draw of the same size
    (_,), frac = screening_sample(cols, weight / 3, 10_000, random_state=1)
    assert frac.sum() == 10_000


# --- (3) integer weights are repeated rows ------------------------------------------------------

def fit_or_error(model, *args, **kwargs):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return model.fit(*args, **kwargs)
    except (ConvergenceError, ValueError) as exc:
        return type(exc).__name__


def same_fit(a, b):
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return (a.params_ == pytest.approx(b.params_, rel=1e-12)
            and a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-12)
            and a.n_customers_ == b.n_customers_)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 4), min_size=400, max_size=400), st.integers(0, 2000))
def test_integer_weights_equal_repeated_rows_bgnbd(cdnow, weights, start):
    part = cdnow.iloc[start:start + 400]
    w = np.array(weights[: len(part)])
    repeated = part.loc[part.index.repeat(w)]
    weighted = fit_or_error(BetaGeo(), part["frequency"], part["recency"], part["T"], w)
    plain = fit_or_error(BetaGeo(), repeated["frequency"], repeated["recency"], repeated["T"])
    assert same_fit(weighted, plain)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 3), min_size=300, max_size=300), st.integers(0, 2000))
def test_integer_weights_equal_repeated_rows_pareto(cdnow, weights, start):
    part = cdnow.iloc[start:start + 300]
    w = np.array(weights[: len(part)])
    repeated = part.loc[part.index.repeat(w)]
    weighted = fit_or_error(ParetoNBD(n_starts=1), part["frequency"], part["recency"], part["T"], w)
    plain = fit_or_error(ParetoNBD(n_starts=1), repeated["frequency"], repeated["recency"],
                         repeated["T"])
    assert same_fit(weighted, plain)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.integers(0, 4), min_size=400, max_size=400), st.integers(0, 2000))
def test_integer_weights_equal_repeated_rows_gammagamma(spend, weights, start):
    part = spend.iloc[start:start + 400]
    w = np.array(weights[: len(part)])
    repeated = part.loc[part.index.repeat(w)]
    weighted = fit_or_error(GammaGamma(), part["frequency"], part["monetary_value"], w)
    plain = fit_or_error(GammaGamma(), repeated["frequency"], repeated["monetary_value"])
    assert same_fit(weighted, plain)
    if not isinstance(plain, str):
        assert weighted.n_excluded_ == plain.n_excluded_
        assert weighted.correlation_ == pytest.approx(plain.correlation_, rel=1e-9)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.floats(0.05, 1000.0))
def test_scaling_all_weights_changes_the_likelihood_not_the_parameters(rows, scale):
    one = BetaGeo().fit_snapshot(rows, "n_customers")
    scaled = BetaGeo().fit_snapshot(rows, rows["n_customers"] * scale)
    for name, value in one.params_.items():
        assert scaled.params_[name] == pytest.approx(value, rel=1e-6), name
    assert scaled.log_likelihood_ == pytest.approx(scale * one.log_likelihood_, rel=1e-9)


def test_weights_scaled_down_to_a_handful_of_customers_give_the_no_dropout_limit(rows):
    """Weights count customers, and the evidence for dropout grows with them: on CDNOW the
    BG/NBD beats its no-dropout limit (the NBD, -9763.66) by 181.2 log-likelihood units, a
    likelihood-ratio statistic of 362.5; weights scaled by 0.01 (23.6 customers) leave 3.62,
    below the 3.84 the dropout model needs, so the fit is the limit (test_btyd_boundary.py)."""
    from segkit.models import LimitingModelWarning

    with pytest.warns(LimitingModelWarning):
        few = BetaGeo().fit_snapshot(rows, rows["n_customers"] * 0.01)
    assert few.limit_ == "no_dropout"
    assert few.log_likelihood_ == pytest.approx(0.01 * -9763.66, abs=1e-4)
    assert BetaGeo().fit_snapshot(rows, rows["n_customers"] * 0.02).limit_ is None  # 7.25


# --- (4) bad weights ------------------------------------------------------------------------

@pytest.mark.parametrize("model", [BetaGeo, ParetoNBD, GammaGamma])
def test_bad_weights_are_refused_naming_the_rows(model):
    idx = pd.Index(["C7", "C8", "C9"], name="customer_id")
    freq = pd.Series([1, 2, 3], index=idx)
    second = pd.Series([2.0, 5.0, 7.0], index=idx)  # recency (BTYD) or monetary value (GG)
    args = (freq, second) if model is GammaGamma else (freq, second, pd.Series(9.0, index=idx))
    with pytest.raises(ValueError, match=r"sample_weight is negative, missing or infinite for "
                                         r"1 customer \(ids: C8\)"):
        model().fit(*args, sample_weight=[1.0, -2.0, 1.0])
    with pytest.raises(ValueError, match=r"missing or infinite for 2 customers \(ids: C7, C9\)"):
        model().fit(*args, sample_weight=[np.nan, 1.0, np.inf])
    with pytest.raises(ValueError, match="sample_weight has 2 values for 3 customers"):
        model().fit(*args, sample_weight=[1.0, 1.0])
    with pytest.raises(ValueError, match="sample_weight sums to 0"):
        model().fit(*args, sample_weight=[0.0, 0.0, 0.0])
    with pytest.raises(KeyError, match="weights"):
        model().fit_snapshot(pd.DataFrame({"frequency": freq, "recency": second, "T": 9.0,
                                           "monetary_value": second}), sample_weight="weights")


def test_compress_snapshot_refuses_bad_rows_naming_the_customers():
    snap = pd.DataFrame({"frequency": [1.0, np.nan], "recency": [3.0, 0.0], "T": [9.0, 9.0]},
                        index=pd.Index(["C1", "C2"], name="customer_id"))
    with pytest.raises(ValueError, match=r"frequency is missing or infinite for 1 customer \(ids: C2\)"):
        compress_snapshot(snap)
    with pytest.raises(ValueError, match=r"monetary_value is missing or infinite .*ids: C1"):
        compress_snapshot(snap.fillna(0).assign(monetary_value=[np.nan, 1.0]),
                          ["frequency", "monetary_value"])
    with pytest.raises(ValueError, match=r"negative, missing or infinite .*ids: C1"):
        compress_snapshot(snap.fillna(0), sample_weight=[-1, 1])
    with pytest.raises(KeyError, match="monetary_value"):
        compress_snapshot(snap, ["frequency", "monetary_value"])

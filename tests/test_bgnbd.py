"""BG/NBD: Fader, Hardie & Lee (2005) on CDNOW, hand-computed likelihood, properties, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from conftest import CDNOW, sig3
from segkit.models import BetaGeo, ConvergenceError, LimitingModelWarning
from segkit.models._optim import compress, distinct_rows, numeric_gradient
from segkit.models.bgnbd import _Data, _log_likelihood
from segkit.summary import btyd_summary

PUBLISHED = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


@pytest.fixture(scope="module")
def fitted(cdnow):
    return BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def published_model():
    bg = BetaGeo()
    bg.params_ = dict(PUBLISHED)
    return bg


def test_reproduces_published_parameters(fitted):
    for name, value in PUBLISHED.items():
        assert sig3(fitted.params_[name]) == sig3(value), name
    assert round(fitted.log_likelihood_, 1) == -9582.4
    assert fitted.n_customers_ == 2357


def test_standard_errors_from_the_hessian(fitted):
    # lifetimes 0.11.3 reports the same standard errors for CDNOW (autograd Hessian)
    expected = {"r": 0.0126, "alpha": 0.378, "a": 0.186, "b": 0.705}
    for name, value in expected.items():
        assert fitted.standard_errors_[name] == pytest.approx(value, rel=5e-3), name


def test_spot_values_of_the_paper(fitted):
    # SOURCE.md: E[X(t)] at t = 1, 3, 32, 78 = 0.0532, 0.1506, 1.0437, 1.8576
    got = fitted.expected_purchases_population(np.array([1, 3, 32, 78]))
    for g, want in zip(got, [0.0532, 0.1506, 1.0437, 1.8576], strict=True):
        assert sig3(g) == sig3(want)
    np.testing.assert_allclose(got[:3], [0.0532, 0.1506, 1.0437], atol=5e-5)
    # conditional expectation for x=2, t_x=30.43, T=38.86 over 39 weeks
    assert round(fitted.expected_purchases(39, 2, 30.43, 38.86), 3) == 1.226
    assert round(published_model().expected_purchases(39, 2, 30.43, 38.86), 3) == 1.226


def test_fit_from_transactions_equals_fit_on_published_summary(fitted):
    tx = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    snap = btyd_summary(tx, "1997-09-30", unit="W", period="D")
    bg = BetaGeo().fit_snapshot(snap)
    assert bg.unit_ == "W"
    for name in PUBLISHED:
        assert bg.params_[name] == pytest.approx(fitted.params_[name], rel=2e-3)


def test_log_likelihood_matches_equation_6_by_hand():
    r, alpha, a, b = 0.5, 3.0, 0.8, 2.5
    rows = [(0, 0.0, 10.0), (1, 4.0, 10.0), (3, 9.5, 12.0)]

    def beta_fn(p, q):
        return math.gamma(p) * math.gamma(q) / math.gamma(p + q)

    def lik(x, t_x, T):  # eq. (6), literally
        common = math.gamma(r + x) * alpha**r / math.gamma(r)
        first = beta_fn(a, b + x) / beta_fn(a, b) * common / (alpha + T) ** (r + x)
        second = 0.0
        if x > 0:
            second = beta_fn(a + 1, b + x - 1) / beta_fn(a, b) * common / (alpha + t_x) ** (r + x)
        return first + second

    want = sum(math.log(lik(*row)) for row in rows)
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    d = _Data(x, t_x, T, np.ones(3))
    got, _ = _log_likelihood(np.log([r, alpha, a, b]), d)
    assert got == pytest.approx(want, rel=1e-12)


def test_analytic_gradient_matches_finite_differences(cdnow):
    d = _Data(cdnow["frequency"].to_numpy(float), cdnow["recency"].to_numpy(),
              cdnow["T"].to_numpy(), np.ones(len(cdnow)))
    for params in ([0.3, 4.0, 0.8, 2.0], [1.7, 0.5, 3.0, 0.6]):
        _, grad = _log_likelihood(np.log(params), d)
        numeric = numeric_gradient(lambda p: _log_likelihood(np.log(p), d, False)[0],
                                   np.array(params), step=1e-6)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5)


def test_weights_and_duplicates_give_the_same_fit(cdnow):
    sub = cdnow.iloc[:400]
    twice = pd.concat([sub, sub])
    a = BetaGeo().fit(twice["frequency"], twice["recency"], twice["T"])
    b = BetaGeo().fit(sub["frequency"], sub["recency"], sub["T"], sample_weight=np.full(400, 2.0))
    for name in PUBLISHED:
        assert a.params_[name] == pytest.approx(b.params_[name], rel=1e-6)
    assert a.log_likelihood_ == pytest.approx(b.log_likelihood_, rel=1e-9)
    assert a.n_customers_ == 800


def test_probability_alive_closed_form():
    bg = published_model()
    r, alpha, a, b = PUBLISHED.values()
    x, t_x, T = 2, 30.43, 38.86
    want = 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    assert bg.probability_alive(x, t_x, T) == pytest.approx(want, rel=1e-12)
    assert bg.probability_alive(0, 0.0, 38.86) == 1.0


def test_series_in_series_out(cdnow):
    bg = published_model()
    head = cdnow.head(5)
    out = bg.expected_purchases(10, head["frequency"], head["recency"], head["T"])
    assert isinstance(out, pd.Series)
    assert list(out.index) == list(head.index)
    assert isinstance(bg.expected_purchases(10, 1, 5.0, 20.0), float)


customers = st.tuples(
    st.integers(0, 60),
    st.floats(0.01, 1.0),
    st.floats(0.1, 200.0),
).map(lambda v: (v[0], v[1] * v[2] if v[0] > 0 else 0.0, v[2]))
params = st.tuples(*(st.floats(0.05, 20.0) for _ in range(4)))


@settings(max_examples=60, deadline=None)
@given(customers, params, st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_prediction_properties(customer, p, t1, t2):
    bg = BetaGeo()
    bg.params_ = dict(zip(["r", "alpha", "a", "b"], p, strict=True))
    x, t_x, T = customer
    alive = bg.probability_alive(x, t_x, T)
    assert 0.0 <= alive <= 1.0
    lo, hi = sorted([t1, t2])
    e_lo = bg.expected_purchases(lo, x, t_x, T)
    e_hi = bg.expected_purchases(hi, x, t_x, T)
    assert e_lo >= 0.0
    assert e_hi >= e_lo - 1e-9 * max(1.0, e_hi)
    pop_lo = bg.expected_purchases_population(lo)
    pop_hi = bg.expected_purchases_population(hi)
    assert 0.0 <= pop_lo <= pop_hi + 1e-9 * max(1.0, pop_hi)


def test_expectations_where_scipys_hypergeometric_function_gives_nan():
    """r = a (here 0.05) makes c - a - b of eq. (9)'s 2F1 an integer, where scipy returns NaN
    near z = 1 (found by the property above). Reference: the same formula with 2F1 at
    r + 1e-9, where scipy is finite: 2F1(3 + 1e-9, -0.95; 3.05; 24 / 24.05078125) = 0.0206628747."""
    bg = BetaGeo()
    bg.params_ = {"r": 0.05, "alpha": 0.05078125, "a": 0.05, "b": 4.0}
    z = 24 / (24 + 0.05078125)
    reference = (0.05 + 4 - 1) / (0.05 - 1) * (1 - (1 - z) ** (0.05 - 1) * 0.02066287466635282)
    assert float(bg.expected_purchases_population(24.0)) == pytest.approx(reference, rel=1e-6)
    population = np.asarray(bg.expected_purchases_population([12.0, 24.0, 48.0]), dtype=float)
    conditional = np.asarray(bg.expected_purchases([12.0, 24.0, 48.0], 0, 0.0, 1.0), dtype=float)
    for values in (population, conditional):
        assert np.isfinite(values).all() and (np.diff(values) > 0).all()


def test_errors_name_the_customers():
    idx = pd.Index([17, 40, 92, 5], name="customer_id")
    freq = pd.Series([1, 2, 1, 1], index=idx)
    recency = pd.Series([12.0, 3.0, 11.0, 1.0], index=idx)
    T = pd.Series([10.0, 10.0, 10.0, 10.0], index=idx)
    with pytest.raises(ValueError, match=r"recency is larger than T for 2 customers \(ids: 17, 92\)"):
        BetaGeo().fit(freq, recency, T)
    with pytest.raises(ValueError, match="frequency is negative for 1 customer"):
        BetaGeo().fit([-1, 2], [0.0, 3.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="not a whole number"):
        BetaGeo().fit([1.5, 2], [1.0, 3.0], [10.0, 10.0])
    with pytest.raises(ValueError, match="same length"):
        BetaGeo().fit([1, 2], [1.0], [10.0, 10.0])
    with pytest.raises(NotFittedError):
        BetaGeo().probability_alive(1, 2.0, 3.0)


def test_non_convergence_raises_with_advice(cdnow):
    with pytest.raises(ConvergenceError, match="did not converge.*max_iter"):
        BetaGeo(max_iter=2, n_starts=1).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def test_degenerate_data_raise_instead_of_garbage():
    # nobody ever buys again: the dropout parameters are not identified
    with pytest.raises(ValueError, match="no customer made a repeat purchase"):
        BetaGeo(n_starts=1).fit(np.zeros(50), np.zeros(50), np.full(50, 30.0))
    # everyone alive and buying steadily: no dropout signal, a and b are not identified
    rng = np.random.default_rng(0)
    x = rng.poisson(2.0, 400).astype(float)
    t_x = np.where(x > 0, rng.uniform(10, 52, 400), 0.0)
    with pytest.raises(ConvergenceError, match="flat|did not converge|runs off"):
        BetaGeo().fit(x, t_x, np.full(400, 52.0))


def test_sklearn_conventions():
    bg = BetaGeo(penalizer_coef=0.01, n_starts=2)
    assert bg.get_params()["penalizer_coef"] == 0.01
    twin = clone(bg)
    assert twin.get_params() == bg.get_params()
    assert not hasattr(twin, "params_")


def test_penalizer_shrinks_parameters(cdnow):
    plain = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    shrunk = BetaGeo(penalizer_coef=0.1).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    total = sum(v**2 for v in plain.params_.values())
    assert sum(v**2 for v in shrunk.params_.values()) < total
    assert shrunk.log_likelihood_ < plain.log_likelihood_


# --- the large-data path: subsample screening, then Newton on all customers ---------------

def test_large_data_path_finds_the_same_optimum(cdnow):
    # 20 copies of CDNOW = 47,140 customers: starts are screened on a 20,000-customer
    # subsample and the best is polished by Newton's method on all of them; the optimum is
    # the weighted fit's (the small-data path: L-BFGS-B on all customers)
    copies = pd.concat([cdnow] * 20)
    big = BetaGeo().fit(copies["frequency"], copies["recency"], copies["T"])
    weighted = BetaGeo().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"],
                             sample_weight=np.full(len(cdnow), 20.0))
    for name in ("r", "alpha", "a", "b"):
        assert big.params_[name] == pytest.approx(weighted.params_[name], rel=1e-6), name
        assert big.standard_errors_[name] == pytest.approx(weighted.standard_errors_[name],
                                                           rel=1e-5), name
    assert big.log_likelihood_ == pytest.approx(20 * -9582.4, abs=2.0)
    assert big.log_likelihood_ >= weighted.log_likelihood_ - 1e-9 * abs(weighted.log_likelihood_)


def test_analytic_hessian_matches_finite_differences_of_the_gradient(cdnow):
    d = _Data(cdnow["frequency"].to_numpy(float), cdnow["recency"].to_numpy(),
              cdnow["T"].to_numpy(), np.ones(len(cdnow)))
    for params in ([0.3, 4.0, 0.8, 2.0], [1.7, 0.5, 3.0, 0.6]):
        _, _, hess = _log_likelihood(np.log(params), d, hessian=True)
        for i in range(4):
            numeric = numeric_gradient(
                lambda p, i=i: _log_likelihood(np.log(p), d)[1][i], np.array(params), step=1e-6
            )
            np.testing.assert_allclose(hess[i], numeric, rtol=1e-5, atol=1e-6 * np.abs(hess).max())


def test_distinct_rows_match_a_group_by():
    rng = np.random.default_rng(7)
    x = rng.integers(0, 5, 2000).astype(float)
    t = np.round(rng.uniform(0, 3, 2000), 1)  # not whole numbers: the sorting branch
    w = rng.integers(0, 3, 2000).astype(float)  # zero weights are dropped
    values, codes, weights = distinct_rows(x, t, weight=w)
    want = pd.DataFrame({"x": x, "t": t, "w": w})[w > 0].groupby(["x", "t"])["w"].sum()
    got = pd.Series(weights, index=pd.MultiIndex.from_arrays(
        [values[0][codes[0]], values[1][codes[1]]], names=["x", "t"]), name="w")
    pd.testing.assert_series_equal(got, want)
    (cx, ct), cw = compress(x, t, weight=w)
    assert cx.tolist() == list(want.index.get_level_values(0)) and cw.tolist() == want.tolist()


# --- P(X(t) = n) and the chance of no purchase ---------------------------------------------------
def test_probability_of_purchases_reproduces_btyd():
    """Values of the R package BTYD's bgnbd.pmf at the published CDNOW parameters, as pinned in
    lifetimes' test suite (CamDavidsonPilon/lifetimes, tests/test_estimation.py,
    test_probability_of_n_purchases_up_to_time_same_as_R_BTYD): P(X(2) = 10) = 1.07869e-07,
    P(X(39) = 0) = 0.5737864 and P(X(30) = n) for n = 11..20."""
    bg = published_model()
    assert bg.probability_of_purchases(10, 2) == pytest.approx(1.07869e-07, rel=1e-5)
    assert bg.probability_of_purchases(0, 39) == pytest.approx(0.5737864, rel=1e-6)
    pmf = [0.0019995214, 0.0015170236, 0.0011633150, 0.0009003148, 0.0007023638,
           0.0005517902, 0.0004361913, 0.0003467171, 0.0002769613, 0.0002222260]
    np.testing.assert_allclose(bg.probability_of_purchases(np.arange(11, 21), 30), pmf, rtol=1e-6)


@pytest.mark.parametrize("t", [0.5, 39.0, 78.0, 1000.0])
def test_purchase_count_distribution_sums_to_one_with_mean_of_equation_9(t):
    bg = published_model()
    n = np.arange(0, 200_000)
    p = bg.probability_of_purchases(n, t)
    assert np.all(p >= 0) and np.isfinite(p).all()
    assert p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * p).sum() == pytest.approx(bg.expected_purchases_population(t), rel=1e-6)


def test_probability_of_purchases_is_finite_for_large_n_and_t():
    bg = published_model()
    p = bg.probability_of_purchases([0, 10, 10_000, 100_000], 1e4)
    assert np.isfinite(p).all() and (p > 0).all()
    assert bg.probability_of_purchases(3, 0.0) == 0.0 and bg.probability_of_purchases(0, 0.0) == 1.0
    series = bg.probability_of_purchases(pd.Series([0, 1], index=["a", "b"]), 39)
    assert list(series.index) == ["a", "b"]
    with pytest.raises(ValueError, match="whole non-negative"):
        bg.probability_of_purchases(1.5, 39)


def test_probability_no_purchases_is_the_zero_class_of_the_model():
    bg = published_model()
    x, t_x, T, t = 2, 30.43, 38.86, 13.0
    alive = bg.probability_alive(x, t_x, T)
    r, alpha = PUBLISHED["r"], PUBLISHED["alpha"]
    by_hand = 1 - alive + alive * ((alpha + T) / (alpha + T + t)) ** (r + x)
    assert bg.probability_no_purchases(t, x, t_x, T) == pytest.approx(by_hand, rel=1e-12)
    # a new customer (x = t_x = T = 0) is the population model: P(X(t) = 0)
    assert bg.probability_no_purchases(39.0, 0, 0.0, 0.0) == pytest.approx(bg.probability_of_purchases(0, 39.0), rel=1e-12)
    # not the Poisson chance exp(-E[Y]): purchases given the history are overdispersed
    assert bg.probability_no_purchases(t, x, t_x, T) > math.exp(-bg.expected_purchases(t, x, t_x, T))
    assert bg.probability_no_purchases(0.0, x, t_x, T) == 1.0


def test_simulated_customers_sharing_one_dropout_probability_predict_finite_values():
    """Issue 14: 5,000 customers with one dropout probability fitted a = 537, b = 3124, and
    1,893 of them got NaN and 1,239 got 0. Here: that model on simulated histories."""
    rng = np.random.default_rng(14)
    n, T, p = 5_000, 52.0, 0.15
    lam = rng.gamma(0.5, 1 / 0.4, n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T:
                break
            x[i] += 1
            t_x[i] = t
            if rng.random() < p:
                break
    bg = BetaGeo()
    bg.params_ = {"r": 0.5, "alpha": 2.5, "a": 537.0, "b": 3124.0}  # the fitted a and b
    expected = bg.expected_purchases(52.0, x, t_x, np.full(n, T))
    assert np.isfinite(expected).all() and (expected > 0).all()
    assert np.isfinite(bg.expected_purchases_population([1.0, 52.0, 260.0])).all()
    # a customer never seen again is alive (BG/NBD) and buys at the prior rate r/(alpha+T)
    new = bg.expected_purchases(1e-6, 0, 0.0, T)
    assert new == pytest.approx(0.5 / (2.5 + T) * 1e-6, rel=1e-5)


def test_degenerate_fits_return_the_limit_or_raise_with_advice_that_works():
    """Issue 14: with 2 repeat buyers among 1,000 customers BetaGeo returned a huge `a` with a
    standard error 1,500 times larger, and NaN predictions; with no dropout the advice to add
    penalizer_coef could not work, because the flatness check used the unpenalised Hessian at
    the penalised optimum. Now the thin data give the no-dropout limit (the best BG/NBD is not
    significantly better, see test_btyd_boundary.py), and a penalised fit is finite."""
    x = np.zeros(1000)
    x[:2] = [1, 2]
    t_x = np.zeros(1000)
    t_x[:2] = [10.0, 30.0]
    T = np.full(1000, 52.0)
    with pytest.warns(LimitingModelWarning, match="no sign of customers dropping out"):
        assert BetaGeo().fit(x, t_x, T).limit_ == "no_dropout"
    bg = BetaGeo(penalizer_coef=0.001).fit(x, t_x, T)  # the penalised BG/NBD stays finite
    assert np.isfinite(bg.expected_purchases(52, x, t_x, T)).all()
    # no dropout at all: unpenalised, b runs off; every advised penalizer gives a fit
    rng = np.random.default_rng(0)
    x = rng.poisson(2.0, 400).astype(float)
    t_x = np.where(x > 0, rng.uniform(10, 52, 400), 0.0)
    T = np.full(400, 52.0)
    with pytest.raises(ConvergenceError, match="penalizer_coef=0.001"):
        BetaGeo().fit(x, t_x, T)
    for pen in (0.001, 0.01, 0.1):
        bg = BetaGeo(penalizer_coef=pen).fit(x, t_x, T)
        assert all(np.isfinite(v) and v > 0 for v in bg.standard_errors_.values())
        assert np.isfinite(bg.expected_purchases_population(52.0))


def test_penalised_standard_errors_use_the_penalised_hessian(cdnow):
    pen = 0.01
    bg = BetaGeo(penalizer_coef=pen).fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    columns, weight = compress(*(cdnow[c].to_numpy(float) for c in ("frequency", "recency", "T")),
                               weight=np.ones(len(cdnow)))
    d = _Data(*columns, weight)
    theta = np.log([bg.params_[k] for k in ("r", "alpha", "a", "b")])
    W = float(len(cdnow))

    def total(th):  # the penalised objective on the total scale
        return -_log_likelihood(th, d, gradient=False)[0] + W * pen * np.sum(np.exp(2 * th))

    def grad(th):
        return numeric_gradient(total, th, step=1e-5)

    hess = np.array([(grad(theta + e) - grad(theta - e)) / 2e-4 for e in np.eye(4) * 1e-4])
    se = np.exp(theta) * np.sqrt(np.diag(np.linalg.inv((hess + hess.T) / 2)))
    np.testing.assert_allclose([bg.standard_errors_[k] for k in ("r", "alpha", "a", "b")], se, rtol=1e-3)

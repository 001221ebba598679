"""Pareto/NBD: published CDNOW fit, the hypergeometric term against quadrature, properties."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.integrate import quad
from scipy.special import gammaln

from conftest import CDNOW, sig3
from segkit.models import ParetoNBD
from segkit.models.paretonbd import _Data, _log_likelihood

PUBLISHED = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


@pytest.fixture(scope="module")
def fitted(cdnow):
    return ParetoNBD().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


def model(**params):
    pn = ParetoNBD()
    pn.params_ = dict(params)
    return pn


def test_reproduces_published_parameters(fitted):
    for name, value in PUBLISHED.items():
        assert sig3(fitted.params_[name]) == sig3(value), name
    assert round(fitted.log_likelihood_, 1) == -9595.0
    assert all(np.isfinite(v) and v > 0 for v in fitted.standard_errors_.values())


def likelihood_by_quadrature(r, alpha, s, beta, x, t_x, T):
    """L from its definition: alive at T, or dropped out at some tau in (t_x, T]."""
    common = math.exp(gammaln(r + x) - gammaln(r)) * alpha**r * beta**s
    alive = (alpha + T) ** -(r + x) * (beta + T) ** -s
    dropout, _ = quad(lambda u: (alpha + u) ** -(r + x) * s * (beta + u) ** -(s + 1), t_x, T,
                      epsabs=0, epsrel=1e-13)
    return common * (alive + dropout), common * alive


@pytest.mark.parametrize(
    "params",
    [
        (0.553, 10.578, 0.606, 11.669),  # alpha < beta (CDNOW)
        (0.553, 30.0, 0.606, 2.0),  # alpha > beta
        (2.0, 5.0, 1.5, 5.0),  # alpha == beta
        (0.2, 500.0, 3.0, 0.05),  # alpha >> beta: z close to 1
        (0.2, 0.05, 0.3, 400.0),  # beta >> alpha
    ],
)
def test_log_likelihood_matches_quadrature_in_all_regions(params):
    rows = [(0, 0.0, 38.9), (1, 1.7, 38.9), (2, 30.4, 38.9), (7, 35.0, 36.0), (25, 20.0, 39.0),
            (3, 10.0, 10.0)]
    x, t_x, T = (np.array(c, dtype=float) for c in zip(*rows, strict=True))
    got = _log_likelihood(np.log(params), _Data(x, t_x, T, np.ones(len(rows))))
    want = sum(math.log(likelihood_by_quadrature(*params, *row)[0]) for row in rows)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-9)


def test_likelihood_is_continuous_across_alpha_equal_beta():
    x, t_x, T = np.array([3.0]), np.array([12.0]), np.array([40.0])
    d = _Data(x, t_x, T, np.ones(1))
    below = _log_likelihood(np.log([0.7, 8.0 - 1e-7, 0.9, 8.0]), d)
    above = _log_likelihood(np.log([0.7, 8.0 + 1e-7, 0.9, 8.0]), d)
    assert below == pytest.approx(above, abs=1e-6)


@pytest.mark.parametrize("params", [(0.553, 10.578, 0.606, 11.669), (1.2, 40.0, 2.0, 3.0)])
def test_probability_alive_matches_quadrature(params):
    pn = model(**dict(zip(["r", "alpha", "s", "beta"], params, strict=True)))
    for x, t_x, T in [(0, 0.0, 38.86), (2, 30.43, 38.86), (6, 5.0, 38.86)]:
        total, alive = likelihood_by_quadrature(*params, x, t_x, T)
        assert pn.probability_alive(x, t_x, T) == pytest.approx(alive / total, rel=1e-9)


def test_population_expectation_matches_its_integral():
    r, alpha, s, beta = PUBLISHED.values()
    pn = model(**PUBLISHED)
    for t in (1.0, 39.0, 78.0):
        want, _ = quad(lambda u: (beta / (beta + u)) ** s, 0, t)
        assert pn.expected_purchases_population(t) == pytest.approx(r / alpha * want, rel=1e-10)
    # s = 1 is the logarithmic limit, and the formula is continuous there
    at_one = model(r=0.5, alpha=10.0, s=1.0, beta=8.0).expected_purchases_population(20.0)
    near = model(r=0.5, alpha=10.0, s=1.0 + 1e-7, beta=8.0).expected_purchases_population(20.0)
    assert at_one == pytest.approx(0.5 / 10 * 8 * math.log(28 / 8), rel=1e-12)
    assert near == pytest.approx(at_one, rel=1e-6)


def test_conditional_expectation_by_hand():
    pn = model(**PUBLISHED)
    r, alpha, s, beta = PUBLISHED.values()
    x, t_x, T, t = 2, 30.43, 38.86, 39.0
    want = ((r + x) * (beta + T) / ((alpha + T) * (s - 1))
            * (1 - ((beta + T) / (beta + T + t)) ** (s - 1)) * pn.probability_alive(x, t_x, T))
    assert pn.expected_purchases(t, x, t_x, T) == pytest.approx(want, rel=1e-12)


customers = st.tuples(st.integers(0, 60), st.floats(0.01, 1.0), st.floats(0.1, 200.0)).map(
    lambda v: (v[0], v[1] * v[2] if v[0] > 0 else 0.0, v[2])
)


@settings(max_examples=60, deadline=None)
@given(customers, st.tuples(*(st.floats(0.05, 30.0) for _ in range(4))),
       st.floats(0.0, 100.0), st.floats(0.0, 100.0))
def test_prediction_properties(customer, p, t1, t2):
    pn = model(**dict(zip(["r", "alpha", "s", "beta"], p, strict=True)))
    x, t_x, T = customer
    alive = pn.probability_alive(x, t_x, T)
    assert 0.0 <= alive <= 1.0
    lo, hi = sorted([t1, t2])
    e_lo, e_hi = pn.expected_purchases(lo, x, t_x, T), pn.expected_purchases(hi, x, t_x, T)
    assert 0.0 <= e_lo <= e_hi * (1 + 1e-12) + 1e-15
    if x > 0 and t_x < T:  # the longer since the last purchase, the less likely alive
        assert pn.probability_alive(x, t_x / 2, T) <= alive * (1 + 1e-9) + 1e-15


def test_fit_snapshot_and_errors(cdnow):
    snap = cdnow.rename(columns={}).iloc[:0]
    with pytest.raises(ValueError, match="no customers"):
        ParetoNBD().fit_snapshot(snap)
    with pytest.raises(KeyError, match="recency"):
        ParetoNBD().fit_snapshot(cdnow.drop(columns="recency"))


def test_probability_alive_of_many_customers_equals_one_by_one(cdnow):
    # many customers share the hypergeometric term of their (x, t_x) and (x, T) pairs; the
    # result per customer must not depend on who else is in the call, or in which order
    pn = model(**PUBLISHED)
    sample = cdnow.sample(300, random_state=1)
    together = pn.probability_alive(sample["frequency"], sample["recency"], sample["T"])
    assert list(together.index) == list(sample.index)
    one_by_one = [pn.probability_alive(x, t_x, T)
                  for x, t_x, T in sample[["frequency", "recency", "T"]].itertuples(index=False)]
    np.testing.assert_allclose(together.to_numpy(), one_by_one, rtol=1e-13)


# --- P(X(t) = n) ------------------------------------------------------------------------------


def _closed_form_count(x, t, r, alpha, s, beta):
    """P(X(t)=x) in the closed form of Fader, Hardie & Lee (2006), "Deriving an expression for
    P(X(t) = x) under the Pareto/NBD model", eq. (9)-(11): both branches (alpha >= beta and
    alpha < beta) of the Gauss hypergeometric terms, written out independently of segkit and
    evaluated with 60 digits (in doubles its bracket cancels: 3e-4 relative error at 1e-11)."""
    mp = pytest.importorskip("mpmath")
    with mp.workdps(60):
        r, alpha, s, beta, t = map(mp.mpf, (r, alpha, s, beta, t))
        nb = (mp.gamma(r + x) / (mp.gamma(r) * mp.factorial(x)) * (alpha / (alpha + t)) ** r
              * (t / (alpha + t)) ** x * (beta / (beta + t)) ** s)
        if alpha >= beta:
            b1 = mp.hyp2f1(r + s, s + 1, r + s + x + 1, (alpha - beta) / alpha) / alpha ** (r + s)

            def b2(i):
                return mp.hyp2f1(r + s + i, s + 1, r + s + x + 1, (alpha - beta) / (alpha + t)) / (alpha + t) ** (r + s + i)
        else:
            b1 = mp.hyp2f1(r + s, r + x, r + s + x + 1, (beta - alpha) / beta) / beta ** (r + s)

            def b2(i):
                return mp.hyp2f1(r + s + i, r + x, r + s + x + 1, (beta - alpha) / (beta + t)) / (beta + t) ** (r + s + i)
        bracket = b1 - mp.fsum(mp.gamma(r + s + i) / (mp.gamma(r + s) * mp.factorial(i)) * t**i * b2(i) for i in range(x + 1))
        return float(nb + alpha**r * beta**s * mp.beta(r + x, s + 1) / mp.beta(r, s) * bracket)


@pytest.mark.parametrize("params", [PUBLISHED, {**PUBLISHED, "alpha": 15.0}, {"r": 2.0, "alpha": 3.0, "s": 1.5, "beta": 40.0}])
def test_purchase_count_distribution_equals_the_closed_form(params):
    pnbd = ParetoNBD()
    pnbd.params_ = dict(params)
    for t in (1.0, 39.0, 78.0):
        for x in (0, 1, 2, 5, 10, 20):
            want = _closed_form_count(x, t, *params.values())
            assert pnbd.probability_of_purchases(x, t) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("t", [1.0, 39.0, 78.0, 520.0])
def test_purchase_counts_sum_to_one_with_the_population_mean(t):
    pnbd = ParetoNBD()
    pnbd.params_ = dict(PUBLISHED)
    n = np.arange(0, 3000)
    p = pnbd.probability_of_purchases(n, t)
    assert np.all((p >= 0) & (p <= 1)) and p.sum() == pytest.approx(1.0, abs=1e-9)
    assert (n * p).sum() == pytest.approx(pnbd.expected_purchases_population(t), rel=1e-9)


def test_purchase_count_probabilities_are_finite_for_large_counts_and_check_input():
    pnbd = ParetoNBD()
    pnbd.params_ = {"r": 50.0, "alpha": 1.0, "s": 0.5, "beta": 1e4}   # ~50 purchases a week
    p = pnbd.probability_of_purchases([0, 100, 2_000, 20_000], 400.0)
    # about 50 purchases a week for 400 weeks: the mass sits near 20,000; the small counts are
    # the few who leave at once
    assert np.all(np.isfinite(p)) and np.all(p >= 0) and p[3] > 1e-4 > 1e-5 > max(p[:3])
    assert p[1] == pytest.approx(_closed_form_count(100, 400.0, 50.0, 1.0, 0.5, 1e4), rel=1e-9)
    got = pnbd.probability_of_purchases(pd.Series([0, 1], index=["a", "b"]), 39.0)
    assert isinstance(got, pd.Series) and list(got.index) == ["a", "b"]
    for bad in (-1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="whole non-negative"):
            pnbd.probability_of_purchases(bad, 39.0)
    assert pnbd.probability_of_purchases(0, 0.0) == 1.0

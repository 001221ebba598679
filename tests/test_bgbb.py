"""BG/BB: Fader, Hardie & Shang (2010) on the donations data, hand-computed cases, properties."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.exceptions import NotFittedError

from segkit.models import BetaGeoBetaBinom
from segkit.models.bgbb import _log_likelihood_rows

DONATIONS = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "donations"

# Fader, Hardie & Shang (2010), "Customer-Base Analysis in a Discrete-Time Noncontractual
# Setting", Marketing Science 29(6): the MLE on the 1995 cohort's six opportunities, LL -33,225.6
PUBLISHED = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}


@pytest.fixture(scope="module")
def donations():
    table = pd.read_csv(DONATIONS / "donations.csv")
    assert table["weights"].sum() == 11104 and len(table) == 22
    return table


@pytest.fixture(scope="module")
def fitted(donations):
    return BetaGeoBetaBinom().fit(donations["frequency"], donations["recency"],
                                  donations["periods"], donations["weights"])


def test_reproduces_published_parameters_and_log_likelihood(fitted):
    for name, value in PUBLISHED.items():
        assert round(fitted.params_[name], 3) == value, name
    assert round(fitted.log_likelihood_, 1) == -33225.6
    assert fitted.n_customers_ == 11104 and fitted.n_distinct_ == 22
    assert all(np.isfinite(v) and v > 0 for v in fitted.standard_errors_.values())


def test_p_alive_of_table_6(fitted):
    # FHS (2010), Table 6, P(alive in 2002): 0.11 (no repeat), 0.59 (x=2, last in 1999),
    # 0.93 (gave in all six years)
    got = fitted.probability_alive([0, 2, 6], [0, 4, 6], 6)
    np.testing.assert_array_equal(np.round(got, 2), [0.11, 0.59, 0.93])


def test_hardie_spreadsheet_values(fitted, donations):
    # Hardie's BG/BB spreadsheet (brucehardie.com/notes/010/): "In-Sample Fit" expected donors
    # with 0 and 6 repeat donations (cells C18, C24), "Tracking Plot" E[X(n)] for n = 1..11
    # (B7:B17), and the total of "Conditional Expectations (II)" over 2002-2006.
    n_donors = 11104 * np.array([fitted.probability_of_purchases(k, 6) for k in (0, 6)])
    np.testing.assert_array_equal(np.round(n_donors, 1), [3454.9, 1253.1])
    tracking = [0.4985, 0.9233, 1.2969, 1.6323, 1.9381, 2.2202, 2.4826, 2.7285, 2.9603,
                3.1798, 3.3887]
    new_donor = fitted.expected_purchases_population(np.arange(1, 12))
    np.testing.assert_array_equal(np.round(new_donor, 4), tracking)
    total = fitted.expected_purchases(5, donations["frequency"], donations["recency"],
                                      donations["periods"]) @ donations["weights"]
    assert round(total, 1) == 12884.2


def test_likelihood_of_one_opportunity_by_hand():
    # n = 1, no transaction: either alive and did not give (beta/(alpha+beta) delta/(gamma+delta))
    # or dropped out before the opportunity (gamma/(gamma+delta)); gave: alive and gave.
    a, b, g, d = 1.5, 0.5, 0.4, 2.0
    ll = _log_likelihood_rows((a, b, g, d), np.array([0.0, 1.0]), np.array([0.0, 1.0]),
                              np.array([1.0, 1.0]))
    np.testing.assert_allclose(np.exp(ll), [b / (a + b) * d / (g + d) + g / (g + d),
                                            a / (a + b) * d / (g + d)], rtol=1e-13)


@pytest.mark.parametrize("n", [1, 3, 6])
def test_probabilities_of_all_histories_sum_to_one(n):
    # a history is a 0/1 string of length n; the likelihood depends on it through (x, t_x)
    params = (1.204, 0.750, 0.657, 2.783)
    total = 0.0
    for history in itertools.product((0, 1), repeat=n):
        hits = np.flatnonzero(history) + 1
        x, t_x = len(hits), (hits[-1] if len(hits) else 0)
        total += np.exp(_log_likelihood_rows(params, np.array([x * 1.0]), np.array([t_x * 1.0]),
                                             np.array([n * 1.0])))[0]
    assert total == pytest.approx(1.0, rel=1e-12)
    bb = BetaGeoBetaBinom()
    bb.params_ = dict(zip(PUBLISHED, params, strict=True))
    pmf = np.array([bb.probability_of_purchases(k, n) for k in range(n + 1)])
    assert pmf.sum() == pytest.approx(1.0, rel=1e-12)
    # eq. (7) and eq. (8) agree: the mean of the distribution is E[X(n)]
    assert pmf @ np.arange(n + 1) == pytest.approx(bb.expected_purchases_population(n), rel=1e-12)
    assert bb.probability_of_purchases(n + 1, n) == 0.0


def test_conditional_expectation_of_a_new_customer_is_the_population_one():
    bb = BetaGeoBetaBinom()
    bb.params_ = dict(PUBLISHED)
    t = np.arange(0, 20)
    np.testing.assert_allclose(bb.expected_purchases(t, 0, 0, 0),
                               bb.expected_purchases_population(t), rtol=1e-12)


def test_conditional_expectation_as_a_sum_over_future_opportunities():
    # E = 1/L B(alpha+x+1, beta+n-x)/B(alpha,beta) sum_k B(gamma, delta+n+k)/B(gamma,delta),
    # the sum taken term by term; also at gamma = 1, where the closed form is 0/0
    from scipy.special import betaln

    for gamma in (0.657, 1.0, 1.0 + 1e-9, 3.2):
        a, b, d = 1.204, 0.750, 2.783
        bb = BetaGeoBetaBinom()
        bb.params_ = {"alpha": a, "beta": b, "gamma": gamma, "delta": d}
        x, t_x, n, t = 3, 5, 6, 10
        ll = _log_likelihood_rows((a, b, gamma, d), np.array([3.0]), np.array([5.0]),
                                  np.array([6.0]))[0]
        terms = [np.exp(betaln(a + x + 1, b + n - x) - betaln(a, b) + betaln(gamma, d + n + k)
                        - betaln(gamma, d) - ll) for k in range(1, t + 1)]
        assert bb.expected_purchases(t, x, t_x, n) == pytest.approx(sum(terms), rel=1e-7), gamma


def test_dert_is_the_discounted_sum_of_future_expectations(fitted, donations):
    # E[X(n, n+k)] - E[X(n, n+k-1)] is the chance of a transaction at opportunity n+k
    x, t_x, n = (donations[c].to_numpy(float) for c in ("frequency", "recency", "periods"))
    k = np.arange(0, 600)
    for discount in (0.05, 0.1, 0.5):
        dert = fitted.discounted_expected_transactions(x, t_x, n, discount=discount)
        for i in range(len(x)):
            step = np.diff(fitted.expected_purchases(k, x[i], t_x[i], n[i]))
            want = np.sum(step / (1 + discount) ** k[1:])
            assert dert[i] == pytest.approx(want, rel=1e-9)
    # a new donor (n = 0) with a high discount: about her first opportunity only
    assert fitted.discounted_expected_transactions(0, 0, 0, discount=1e6) == pytest.approx(
        1e-6 * fitted.expected_purchases_population(1), rel=1e-5)
    with pytest.raises(ValueError, match="discount must be a rate > 0"):
        fitted.discounted_expected_transactions(1, 1, 6, discount=0.0)


def test_weighted_fit_equals_per_donor_fit(fitted, donations):
    per_donor = donations.loc[donations.index.repeat(donations["weights"])]
    assert len(per_donor) == 11104
    bb = BetaGeoBetaBinom().fit(per_donor["frequency"], per_donor["recency"], per_donor["periods"])
    for name in PUBLISHED:
        assert bb.params_[name] == pytest.approx(fitted.params_[name], rel=1e-6)
    assert bb.log_likelihood_ == pytest.approx(fitted.log_likelihood_, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(0, 60), data=st.data(),
    a=st.floats(0.01, 100), b=st.floats(0.01, 100), g=st.floats(0.01, 100), d=st.floats(0.01, 100),
)
def test_p_alive_is_a_probability_and_expectations_finite(n, data, a, b, g, d):
    t_x = data.draw(st.integers(0, n))
    x = data.draw(st.integers(min(1, t_x), t_x)) if t_x else 0
    bb = BetaGeoBetaBinom()
    bb.params_ = {"alpha": a, "beta": b, "gamma": g, "delta": d}
    p = bb.probability_alive(x, t_x, n, m=np.array([0, 1, 5]))
    assert np.all((0.0 <= p) & (p <= 1.0)) and p[0] >= p[1] >= p[2]
    e = bb.expected_purchases(np.array([0, 1, 50]), x, t_x, n)
    assert np.all(np.isfinite(e)) and e[0] == 0.0 and np.all(np.diff(e) >= -1e-12)
    assert 0.0 <= e[1] <= 1.0 + 1e-12  # at most one transaction per opportunity


def test_bad_input_names_the_rows():
    message = r"recency is smaller than frequency .* for 1 customer \(ids: b\)"
    with pytest.raises(ValueError, match=message):
        BetaGeoBetaBinom().fit(pd.Series([1, 3], index=["a", "b"]), [2, 2], [6, 6])
    with pytest.raises(ValueError, match="recency is larger than T"):
        BetaGeoBetaBinom().fit([1], [7], [6])
    with pytest.raises(ValueError, match="not a whole number"):
        BetaGeoBetaBinom().fit([1], [1.5], [6])
    with pytest.raises(NotFittedError):
        BetaGeoBetaBinom().probability_alive(1, 1, 2)
    bb = BetaGeoBetaBinom()
    bb.params_ = dict(PUBLISHED)
    with pytest.raises(ValueError, match="whole number of opportunities"):
        bb.expected_purchases(2.5, 1, 1, 6)


def test_clv_refuses_the_discrete_model_with_advice(fitted):
    from segkit.models import GammaGamma
    from segkit.models.clv import clv

    gg = GammaGamma()
    gg.params_ = {"p": 6.25, "q": 3.74, "v": 15.44}
    snap = pd.DataFrame({"frequency": [1.0, 0.0], "recency": [2.0, 0.0], "T": [6.0, 6.0],
                         "monetary_value": [10.0, 0.0]})
    with pytest.raises(TypeError, match="discrete opportunities"):
        clv(snap, fitted, gg, "52W", unit="W")

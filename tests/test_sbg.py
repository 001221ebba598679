"""sBG: Fader & Hardie (2007) regular and high-end cohorts, DERL, hand-computed cases,
properties."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import betaln
from sklearn.exceptions import NotFittedError

from segkit.models import ConvergenceError, ShiftedBetaGeo, cohort_renewals
from segkit.models.sbg import _log_likelihood

# Fader & Hardie (2007), "How to Project Customer Retention", Journal of Interactive
# Marketing 21(1), 76-90: customers still active after years 0..7 of two cohorts of 1,000,
# fitted on years 1-7; published MLE regular alpha = 0.704, beta = 1.182, high end
# alpha = 0.668, beta = 3.806.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491]


def fit(active):
    return ShiftedBetaGeo().fit_table(cohort_renewals(active), sample_weight="n_customers")


@pytest.mark.parametrize("active, alpha, beta", [(REGULAR, 0.704, 1.182), (HIGH_END, 0.668, 3.806)])
def test_reproduces_published_parameters(active, alpha, beta):
    sbg = fit(active)
    assert round(sbg.params_["alpha"], 3) == alpha
    assert round(sbg.params_["beta"], 3) == beta
    assert sbg.n_customers_ == 1000
    assert all(0 < v < 1 for v in sbg.standard_errors_.values())


def test_log_likelihood_by_hand():
    # the regular cohort at the published parameters, term by term from eqs. (3) and (5):
    # P(T=t) = B(alpha+1, beta+t-1)/B(alpha,beta), S(7) = B(alpha, beta+7)/B(alpha,beta)
    a, b = 0.704, 1.182
    left = -np.diff(REGULAR)
    want = sum(n * (betaln(a + 1, b + t - 1) - betaln(a, b)) for t, n in enumerate(left, start=1))
    want += REGULAR[-1] * (betaln(a, b + 7) - betaln(a, b))
    h = cohort_renewals(REGULAR)
    got, _ = _log_likelihood(np.log([a, b]), h["periods"].to_numpy(float),
                             h["churned"].to_numpy(float), h["n_customers"].to_numpy(),
                             gradient=False)
    assert got == pytest.approx(want, rel=1e-13)
    # P(T=1) = alpha/(alpha+beta), P(T=2) = alpha beta/((alpha+beta)(alpha+beta+1))
    one, _ = _log_likelihood(np.log([a, b]), np.array([1.0, 2.0]), np.array([1.0, 1.0]),
                             np.array([1.0, 1.0]), gradient=False)
    assert np.exp(one) == pytest.approx(a / (a + b) * a * b / ((a + b) * (a + b + 1)), rel=1e-13)


def test_retention_curve_survival_and_renewal_agree():
    sbg = fit(HIGH_END)
    t = np.arange(1, 30)
    s = sbg.survival(np.arange(0, 30))
    np.testing.assert_allclose(sbg.retention_rate(t), s[1:] / s[:-1], rtol=1e-12)
    np.testing.assert_allclose(sbg.renewal_probability(t - 1), sbg.retention_rate(t), rtol=1e-15)
    assert s[0] == 1.0 and np.all(np.diff(sbg.retention_rate(t)) > 0)  # the sorting effect
    # the fitted curve against the observed survivors of years 1-7 (within 2.2 points, as in
    # Figure 3 of the paper)
    np.testing.assert_allclose(1000 * s[1:8], HIGH_END[1:], atol=22)


@pytest.mark.parametrize("periods", [0, 1, 7, 30])
@pytest.mark.parametrize("discount", [0.0, 0.1, 0.25])
def test_expected_remaining_lifetime_is_the_discounted_sum(periods, discount):
    sbg = ShiftedBetaGeo()
    sbg.params_ = {"alpha": 1.7, "beta": 3.806}  # alpha > 1: finite without discounting too
    a, b = sbg.params_.values()
    j = np.arange(1, 400_000)
    terms = np.exp(betaln(a, b + periods + j) - betaln(a, b + periods)
                   - (j - 1) * np.log1p(discount))
    tail = 0.0
    if discount == 0.0:  # S(n+j)/S(n) ~ j^-alpha: add the integral of the tail beyond the grid
        tail = terms[-1] * j[-1] / (a - 1)
    got = sbg.expected_remaining_lifetime(periods, discount)
    assert got == pytest.approx(terms.sum() + tail, rel=1e-5)


def test_expected_remaining_lifetime_is_finite_or_raises():
    sbg = ShiftedBetaGeo()
    sbg.params_ = {"alpha": 0.668, "beta": 3.806}
    with pytest.raises(ValueError, match="infinite"):
        sbg.expected_remaining_lifetime(3, discount=0.0)
    with pytest.raises(ValueError, match="discount must be a rate"):
        sbg.expected_remaining_lifetime(3, discount=-0.1)
    derl = sbg.expected_remaining_lifetime(np.arange(0, 50), discount=0.1)
    assert np.all(np.isfinite(derl)) and np.all(np.diff(derl) > 0)  # longer tenure, longer stay
    assert derl[-1] < 11.0  # bounded by the perpetuity 1 + 1/d


def test_weighted_fit_equals_per_customer_fit():
    rows = cohort_renewals(REGULAR)
    per_customer = rows.loc[rows.index.repeat(rows["n_customers"].astype(int))]
    assert len(per_customer) == 1000
    by_rows = fit(REGULAR)
    one_each = ShiftedBetaGeo().fit(per_customer["periods"], per_customer["churned"])
    for name in ("alpha", "beta"):
        assert one_each.params_[name] == pytest.approx(by_rows.params_[name], rel=1e-6)
    assert one_each.log_likelihood_ == pytest.approx(by_rows.log_likelihood_, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(0.01, 1e3), beta=st.floats(0.01, 1e3), periods=st.integers(0, 10_000))
def test_survival_decreases_and_predictions_are_probabilities(alpha, beta, periods):
    sbg = ShiftedBetaGeo()
    sbg.params_ = {"alpha": alpha, "beta": beta}
    s = sbg.survival(np.array([0, 1, periods + 1, periods + 2]))
    assert s[0] == 1.0 and np.all((s >= 0) & (s <= 1)) and s[1] >= s[2] >= s[3]
    p = sbg.renewal_probability(periods)
    assert 0 < p < 1
    derl = sbg.expected_remaining_lifetime(periods, discount=0.05)
    # at least the next period's chance, at most the perpetuity 1 + 1/d
    assert np.isfinite(derl) and p <= derl <= 21.0 + 1e-9


@settings(max_examples=60, deadline=None)
@given(alpha=st.floats(0.01, 100), beta=st.floats(0.01, 100),
       sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6), still=st.integers(0, 40))
def test_cohort_counts_are_weights(alpha, beta, sizes, still):
    """A cohort table with counts has the log-likelihood of its customers one row each."""
    active = np.cumsum([still] + sizes[::-1])[::-1]  # non-increasing, `still` at the end
    if active[0] == 0:
        return
    rows = cohort_renewals(active)
    per_customer = rows.loc[rows.index.repeat(rows["n_customers"].astype(int))]
    theta = np.log([alpha, beta])
    by_rows, g_rows = _log_likelihood(theta, rows["periods"].to_numpy(float),
                                      rows["churned"].to_numpy(float),
                                      rows["n_customers"].to_numpy())
    each, g_each = _log_likelihood(theta, per_customer["periods"].to_numpy(float),
                                   per_customer["churned"].to_numpy(float),
                                   np.ones(len(per_customer)))
    assert len(per_customer) == active[0]
    assert by_rows == pytest.approx(each, rel=1e-12, abs=1e-9)
    np.testing.assert_allclose(g_rows, g_each, rtol=1e-10, atol=1e-9)


def test_bad_input_and_degenerate_data():
    with pytest.raises(ValueError, match="must not increase: 700 after period 2"):
        cohort_renewals([1000, 600, 700])
    message = r"churned is not True/False \(1/0\) for 1 customer \(ids: b\)"
    with pytest.raises(ValueError, match=message):
        ShiftedBetaGeo().fit(pd.Series([1, 2], index=["a", "b"]),
                             pd.Series([1, 2], index=["a", "b"]))
    with pytest.raises(ValueError, match=r"periods is not a whole number .* \(positions: 0\)"):
        ShiftedBetaGeo().fit([1.5, 2], [True, False])
    with pytest.raises(ValueError, match="nobody churned"):
        ShiftedBetaGeo().fit([3, 4], [False, False])
    with pytest.raises(ValueError, match="nobody renewed"):
        ShiftedBetaGeo().fit([1, 1, 0], [True, True, False])
    with pytest.raises(KeyError, match="lacks column"):
        ShiftedBetaGeo().fit_table(pd.DataFrame({"periods": [1]}))
    with pytest.raises(NotFittedError):
        ShiftedBetaGeo().survival(3)
    # one churner after 1 period and one renewer: only alpha/(alpha+beta) is identified
    with pytest.raises(ConvergenceError):
        ShiftedBetaGeo().fit([1, 1], [True, False])


def test_renewal_history_from_an_excel_sheet(tmp_path):
    """One row per customer, as a CRM export written by Excel: TRUE/FALSE cells, text ids."""
    from openpyxl import Workbook

    rows = cohort_renewals(REGULAR)
    wb = Workbook()
    ws = wb.active
    ws.append(["客户编号", "periods", "churned"])
    number = 0
    for periods, churned, count in rows.itertuples(index=False):
        for _ in range(int(count)):
            number += 1
            ws.append([f"C{number:04d}", int(periods), bool(churned)])
    path = tmp_path / "续约记录.xlsx"
    wb.save(path)
    table = pd.read_excel(path, index_col="客户编号")
    assert len(table) == 1000 and pd.api.types.is_bool_dtype(table["churned"])
    sbg = ShiftedBetaGeo().fit_table(table)
    assert (round(sbg.params_["alpha"], 3), round(sbg.params_["beta"], 3)) == (0.704, 1.182)
    table.loc["C0002", "periods"] = -1
    with pytest.raises(ValueError, match=r"periods is negative for 1 customer \(ids: C0002\)"):
        ShiftedBetaGeo().fit_table(table)

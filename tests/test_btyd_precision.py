"""BG/NBD and Pareto/NBD closed forms at extreme parameters: finite, and equal to 30-digit mpmath.

The references are the same equations evaluated by mpmath at 30 significant digits (its
hypergeometric functions check their own cancellation), so a value of segkit that is NaN,
0 or off by rounding in an overflowing product shows up as a relative error here.
"""

from __future__ import annotations

import signal

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from segkit.models import BetaGeo, ParetoNBD

mpmath = pytest.importorskip("mpmath")
mp = mpmath.mp
RTOL = 1e-9


def _bg(r, alpha, a, b):
    bg = BetaGeo()
    bg.params_ = {"r": r, "alpha": alpha, "a": a, "b": b}
    return bg


def _pn(r, alpha, s, beta):
    pn = ParetoNBD()
    pn.params_ = {"r": r, "alpha": alpha, "s": s, "beta": beta}
    return pn


# --- references at 30 digits -------------------------------------------------------------------
class _Timeout(Exception):
    pass


def _alarm(*_):
    raise _Timeout


def ref_bg_population(t, r, alpha, a, b, seconds=5):
    """Eq. (9) of Fader, Hardie & Lee (2005), as written, by mpmath at 30 digits.

    At a = 1 (0/0) the mean over the dropout probability (:func:`_mean_over_dropout`). mpmath's 2F1 can take very long for
    parameters near 1e6 with z near 1; after ``seconds`` the example is skipped (None).
    """
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(seconds)
    try:
        if abs(a - 1) < 1e-9:
            return float(_mean_over_dropout(t, r, alpha, a, b))
        with mp.workdps(40):
            value = _eq9(t, r, alpha, a, b)
            return None if value is None else float(value)
    except _Timeout:
        return None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _mean_over_dropout(t, r, alpha, a, b):
    """E[X(t)] at a = 1, where eq. (9) is 0/0: the mean over p ~ Beta(a, b) of the NBD-until-
    dropout mean ``(1 - (1 + p t/alpha)^-r) / p`` (eq. (7) of FHL 2005 averaged over lambda),
    by mpmath's quadrature at 30 digits. (The mean of eq. (9) at a = 1 -+ 1e-12 at 60 digits
    gives the same to 15 digits, but takes 48 s for b = 1e4 on a loaded machine.)"""
    with mp.workdps(30):
        t, r, alpha, a, b = map(mp.mpf, (t, r, alpha, a, b))
        k = t / alpha
        log_beta = mp.log(mp.beta(a, b))
        mean, sd = a / (a + b), mp.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
        marks = [q for q in (mean - 3 * sd, mean, mean + 3 * sd, mean + 10 * sd, mean + 30 * sd, 1 / k) if 0 < q < 1]
        return mp.quad(lambda p: mp.exp((a - 1) * mp.log(p) + (b - 1) * mp.log1p(-p) - log_beta)
                       * -mp.expm1(-r * mp.log1p(p * k)) / p, [0, *sorted(set(marks)), 1])


def _eq9(t, r, alpha, a, b):
    """Eq. (9) as written, at the current precision and at twice it.

    mpmath's 2F1 can be wrong without warning for parameters in the thousands (it gives
    E[X(1)] = 5.8e94 for r = 1, alpha = 0.178, a = 562, b = 1000), so a value is used as the
    reference only where doubling the precision does not change it (to 1e-20) and it lies
    in [0, r t / alpha] (purchases cannot outrun the mean Poisson rate); else None.
    """
    values = []
    for dps in (mp.dps, 2 * mp.dps):
        with mp.workdps(dps):
            T, R, A, AA, B = map(mp.mpf, (t, r, alpha, a, b))
            z = T / (A + T)
            c = AA + B - 1
            values.append(c / (AA - 1) * (1 - (A / (A + T)) ** R * mp.hyp2f1(R, B, c, z)))
    gauss, check = values
    if abs(gauss - check) > mp.mpf("1e-20") * abs(check) or not 0 <= gauss <= mp.mpf(r) * t / alpha * (1 + 1e-12):
        return None
    return gauss


def ref_bg_alive(x, t_x, T, r, alpha, a, b):
    """Fader, Hardie & Lee (2008), eq. (2)."""
    if x == 0:
        return 1.0
    with mp.workdps(30):
        x, t_x, T, r, alpha, a, b = map(mp.mpf, (x, t_x, T, r, alpha, a, b))
        return float(1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x)))


def ref_bg_conditional(t, x, t_x, T, r, alpha, a, b):
    """Eq. (10) of Fader, Hardie & Lee (2005): P(alive) times eq. (9) at (r+x, alpha+T, a, b+x)."""
    alive = ref_bg_alive(x, t_x, T, r, alpha, a, b)
    mean = ref_bg_population(t, r + x, alpha + T, a, b + x)
    return None if mean is None else alive * mean


def ref_bg_pmf(n, t, r, alpha, a, b):
    """Eq. (8) of Fader, Hardie & Lee (2005), as written (the finite sum, not the beta tail)."""
    with mp.workdps(40):
        n, t, r, alpha, a, b = mp.mpf(n), *map(mp.mpf, (t, r, alpha, a, b))
        p0 = (alpha / (alpha + t)) ** r
        q = t / (alpha + t)
        first = mp.beta(a, b + n) / mp.beta(a, b) * mp.gamma(r + n) / (mp.gamma(r) * mp.factorial(n)) * p0 * q**n
        if n == 0:
            return float(first)
        partial = mp.fsum(mp.gamma(r + j) / (mp.gamma(r) * mp.factorial(j)) * q**j for j in range(int(n)))
        return float(first + mp.beta(a + 1, b + n - 1) / mp.beta(a, b) * (1 - p0 * partial))


def ref_pn_alive(x, t_x, T, r, alpha, s, beta):
    """Fader & Hardie (2005) note 009, eq. (18) with A0 of eq. (19), as written.

    A0 is a difference of two nearly equal terms for large x; at 30 digits it can come out 0
    or negative (x = 8601: P(alive) = 3.4e-121 came out -0.0). So it is computed at 30, 60,
    120 and 240 digits until two in a row agree to 1e-15 and lie in [0, 1]; else ValueError.
    """
    previous = None
    for dps in (30, 60, 120, 240):
        with mp.workdps(dps):
            x_, t_x_, T_, r_, alpha_, s_, beta_ = map(mp.mpf, (x, t_x, T, r, alpha, s, beta))
            value = _pn_alive_as_written(x_, t_x_, T_, r_, alpha_, s_, beta_)
        if previous is not None and 0 <= value <= 1 and abs(value - previous) <= mp.mpf("1e-15") * abs(value):
            return float(value)
        previous = value
    raise ValueError("mpmath's eq. (18) did not settle up to 240 digits")


def _pn_alive_as_written(x, t_x, T, r, alpha, s, beta):
    if alpha >= beta:
        a0 = (mp.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + t_x)) / (alpha + t_x) ** (r + s + x)
              - mp.hyp2f1(r + s + x, s + 1, r + s + x + 1, (alpha - beta) / (alpha + T)) / (alpha + T) ** (r + s + x))
    else:
        a0 = (mp.hyp2f1(r + s + x, r + x, r + s + x + 1, (beta - alpha) / (beta + t_x)) / (beta + t_x) ** (r + s + x)
              - mp.hyp2f1(r + s + x, r + x, r + s + x + 1, (beta - alpha) / (beta + T)) / (beta + T) ** (r + s + x))
    return 1 / (1 + s / (r + s + x) * (alpha + T) ** (r + x) * (beta + T) ** s * a0)


# --- the cases of issue 14 ---------------------------------------------------------------------
@pytest.mark.parametrize(("a", "b", "reference"), [(500.0, 500.0, 0.715681), (310.0, 310.0, 0.715872)])
def test_population_mean_with_large_a_and_b_is_finite(a, b, reference):
    """Before: NaN (a = b = 500) and 0.0 (a = b = 310): (1-z)^(a-1) underflowed times a 2F1 that
    overflowed. The issue's references (6 digits) and 30-digit mpmath."""
    got = _bg(0.25, 4.0, a, b).expected_purchases_population(39)
    assert got == pytest.approx(reference, abs=5e-7)
    assert got == pytest.approx(ref_bg_population(39, 0.25, 4.0, a, b), rel=RTOL)


# --- the cases the properties found ----------------------------------------------------------
@pytest.mark.parametrize(("t", "r", "alpha", "a", "b"), [
    # 1 - P = 7.5e-8 (a near 1, b = 1e6, t = alpha): 1 - P in doubles lost 2.4e-9 (CI, stop 18)
    (1.0, 1.0, 1.0, 1.0746078283213174, 1e6),
    # z = 0.998 with 1 - P = 2.3e-5: scipy's 2F1 and the cancellation lost 1.2e-9
    (8.74991918264782, 0.05344850012962304, 0.01831747416915455, 0.9145914636380585, 93545.74759071723),
    # z = 0.99998 and P = 1077 (a = 0.054): scipy's 2F1 alone was off by 2e-8
    (1785.4860163460746, 3.275672129495423, 0.028454897153068436, 0.05447304203358911, 126.87635009617533),
    # t / alpha = 1e6 with a near 1: raised "not computable" before
    (1e4, 0.01, 0.01, 1.001, 1e6),
])
def test_population_mean_where_doubles_cancel_equals_mpmath(t, r, alpha, a, b):
    """The bracket 1 - P near 0 is summed as a series of positive terms, and the rows scipy's
    2F1 served are integrated over the dropout probability: 1e-9 relative to 40-digit mpmath."""
    got = _bg(r, alpha, a, b).expected_purchases_population(t)
    assert got == pytest.approx(ref_bg_population(t, r, alpha, a, b, seconds=30), rel=RTOL)


def test_difference_series_is_regular_at_a_equal_1():
    """The positive-term series has no 0/0 at a = 1: equal to the a -> 1 limit (60-digit mpmath)."""
    from segkit.models._hypergeometric import _difference_series

    t, r, alpha, b = 100.0, 0.5, 2.0, 1e4
    got = _difference_series(r, 1.0, b, t / (alpha + t))[0]
    assert got == pytest.approx(ref_bg_population(t, r, alpha, 1.0, b, seconds=30), rel=1e-12)


def test_quadrature_mean_equals_mpmath_across_regimes():
    """The quadrature fallback by itself, for a < 1, a = 1, a > 1 and a = b = 1e6."""
    from segkit.models._hypergeometric import _quadrature_mean

    for t, r, alpha, a, b in [(39, 0.243, 4.414, 0.793, 2.426), (3, 1, 1, 1e6, 1e6),
                              (769.85, 0.0234, 3.3456, 1.0219, 124574.4), (10, 0.25, 4, 500, 500)]:
        assert _quadrature_mean(t, r, alpha, a, b) == pytest.approx(ref_bg_population(t, r, alpha, a, b, seconds=30), rel=1e-12)


# --- properties against mpmath over extreme parameters --------------------------------------
def log_uniform(lo, hi):
    return st.floats(np.log10(lo), np.log10(hi)).map(lambda v: float(10.0**v))


shape = log_uniform(0.01, 50.0)
scale = log_uniform(0.01, 1e3)
dropout = log_uniform(0.05, 1e6)
# a = 1 is a removable 0/0 of eq. (9), evaluated as the mean of a = 1 -+ 1e-5: good to about
# 1e-8 (test_population_mean_at_a_equal_1), so the 1e-9 properties keep a away from it
shape_a = dropout.filter(lambda v: abs(v - 1) > 1e-3)
horizon = log_uniform(1e-3, 1e4)


@settings(max_examples=60, deadline=None)
@given(horizon, shape, scale, shape_a, dropout)
def test_bgnbd_population_mean_equals_mpmath(t, r, alpha, a, b):
    reference = ref_bg_population(t, r, alpha, a, b)
    assume(reference is not None)
    try:
        got = _bg(r, alpha, a, b).expected_purchases_population(t)
    except FloatingPointError as exc:  # allowed: a clear error instead of NaN
        assert "not computable in double precision" in str(exc)
        return
    assert np.isfinite(got)
    assert got == pytest.approx(reference, rel=RTOL)


history = st.tuples(st.integers(0, 100_000), st.floats(0.0, 1.0), log_uniform(0.1, 1e4)).map(
    lambda v: (v[0], v[1] * v[2] if v[0] > 0 else 0.0, v[2]))


@settings(max_examples=60, deadline=None)
@given(history, horizon, shape, scale, shape_a, dropout)
def test_bgnbd_conditional_predictions_equal_mpmath(customer, t, r, alpha, a, b):
    x, t_x, T = customer
    bg = _bg(r, alpha, a, b)
    alive = bg.probability_alive(x, t_x, T)
    assert alive == pytest.approx(ref_bg_alive(x, t_x, T, r, alpha, a, b), rel=RTOL, abs=1e-300)
    reference = ref_bg_conditional(t, x, t_x, T, r, alpha, a, b)
    assume(reference is not None)
    try:
        got = bg.expected_purchases(t, x, t_x, T)
    except FloatingPointError as exc:  # allowed: a clear error instead of NaN
        assert "not computable in double precision" in str(exc)
        return
    assert np.isfinite(got)
    assert got == pytest.approx(reference, rel=RTOL, abs=1e-300)


def test_population_mean_at_a_equal_1():
    """a = 1: the limit of eq. (9), to 1e-8 (mpmath: the mean over the dropout probability)."""
    for t, r, alpha, b in [(1.0, 1.0, 1.0, 100.0), (39.0, 0.243, 4.414, 2.426), (10.0, 0.5, 2.0, 1e4)]:
        got = _bg(r, alpha, 1.0, b).expected_purchases_population(t)
        assert got == pytest.approx(ref_bg_population(t, r, alpha, 1.0, b, seconds=30), rel=1e-8)


pn_history = st.tuples(st.integers(0, 10_000), st.floats(0.0, 1.0), log_uniform(1.0, 1e3)).map(
    lambda v: (v[0], v[1] * v[2] if v[0] > 0 else 0.0, v[2]))


@settings(max_examples=40, deadline=None)
@given(pn_history, log_uniform(0.03, 30.0), log_uniform(0.03, 3e3), log_uniform(0.03, 30.0), log_uniform(0.03, 3e3))
def test_paretonbd_probability_alive_equals_mpmath(customer, r, alpha, s, beta):
    x, t_x, T = customer
    try:
        got = _pn(r, alpha, s, beta).probability_alive(x, t_x, T)
    except FloatingPointError as exc:  # allowed: a clear error instead of NaN (e.g. x = 160,
        # alpha = 1000, beta = 1: 2F1(1, 170; 172; 0.999) needs more than 20,000 terms)
        assert "not computable in double precision" in str(exc)
        return
    assert np.isfinite(got)
    previous = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(5)
    try:  # mpmath's own 2F1 may not converge (x = 4549, alpha = 0.1, beta = 10): no reference
        reference = ref_pn_alive(x, t_x, T, r, alpha, s, beta)
    except (_Timeout, ValueError, mpmath.libmp.NoConvergence):
        reference = None
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assume(reference is not None)
    assert got == pytest.approx(reference, rel=RTOL, abs=1e-300)

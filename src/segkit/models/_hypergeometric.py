"""Gauss hypergeometric series, and the BG/NBD's mean purchases built on them.

E[X(t)] of the BG/NBD (eq. (9) of Fader, Hardie & Lee 2005) is ``(a+b-1)/(a-1) [1 -
(alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]``; the conditional expectations of the
BG/NBD and MBG/NBD are the same expression at updated parameters. In double precision it
needs care -- scipy's 2F1 fails for large parameters near z = 1, the bracket cancels when
it is small, the expression is 0/0 at a = 1 -- so :func:`_population_mean` chooses among
equal forms (Pfaff's transformation, series of positive terms, scipy's 2F1, quadrature over
the dropout probability) whichever is finite and accurate. The Pareto/NBD's likelihood uses
:func:`log_hyp2f1_series` too.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy import integrate
from scipy.special import hyp2f1

from segkit.models._optim import factorize_rows

__all__ = ["log_hyp2f1_series"]


def log_hyp2f1_series(first, second, c, z, max_terms: int = 20_000):
    """``ln 2F1(first, second; c; z)`` by its Gauss series, for positive parameters, 0 <= z < 1.

    scipy's ``hyp2f1`` returns NaN, or finite wrong values, for c in the hundreds and z near 1
    (``hyp2f1(1, 1, 1000, 10/11)`` is NaN), which made BTYD predictions NaN or 0.

    All terms are positive, so the sum is accurate to rounding; the terms are rescaled as
    they grow, so a sum of 1e300 and more stays finite in its log. Returns NaN where the
    tail after ``max_terms`` terms is not provably below 1e-17 of the sum (the caller
    then uses another form).
    """
    first, second, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (first, second, c, z)))
    shape = first.shape
    first, second, c, z = (np.ravel(v) for v in (first, second, c, z))
    out = np.full(first.size, np.nan)
    out[z == 0] = 0.0
    live = np.flatnonzero(z != 0)  # rows still summing; finished rows leave the arrays
    A, B, C, Z = first[live], second[live], c[live], z[live]
    term = np.ones(live.size)
    total = np.ones(live.size)
    log_scale = np.zeros(live.size)
    previous = np.full(live.size, np.nan)
    for n in range(max_terms):
        if live.size == 0:
            break
        ratio = (A + n) * (B + n) / ((C + n) * (n + 1)) * Z
        term = term * ratio
        total += term
        # the ratio moves monotonically towards z once n passes the parameters, so every
        # later ratio is at most max(ratio, z): bound the tail by a geometric series
        bound = np.maximum(ratio, Z)
        settled = (np.sign(ratio - previous) == np.sign(Z - ratio)) | (ratio == previous)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            done = settled & (bound < 1) & (term * bound / (1 - bound) <= 1e-17 * total)
        big = total > 1e250
        if np.any(big):
            term[big] *= 1e-250
            total[big] *= 1e-250
            log_scale[big] += 250 * np.log(10.0)
        previous = ratio
        if np.any(done):
            out[live[done]] = np.log(total[done]) + log_scale[done]
            keep = ~done
            live, A, B, C, Z = live[keep], A[keep], B[keep], C[keep], Z[keep]
            term, total, log_scale, previous = term[keep], total[keep], log_scale[keep], previous[keep]
    return out.reshape(shape)


def _hyp_product(log_power, first, second, c, z):
    """``exp(log_power) * 2F1(first, second; c; z)`` without overflow of either factor.

    The power is passed as its log and the product is taken as ``sign(F) exp(log_power +
    ln|F|)``, so a power that underflows times a 2F1 that is huge (or the other way round)
    gives their finite product. NaN where scipy's 2F1 is not finite.
    """
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        hyp = hyp2f1(first, second, c, z)
        return np.where(hyp == 0, 0.0, np.sign(hyp) * np.exp(log_power + np.log(np.abs(hyp))))


def _pfaff_series(r, a1, c, w, max_terms: int = 2_000):
    """``1 - 2F1(r, a1; c; w)`` by its power series, for ``-1 < w <= 0`` (NaN where it fails).

    The first term is exact and the bracket of eq. (9) is summed directly, so there is no
    cancellation of ``1 - P`` (small t, or b much larger than a). The terms alternate; the
    sum is accepted where it converged and no term exceeded 1e4 times the sum (so at most
    4 digits are lost to the alternation).
    """
    r, a1, c, w = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, a1, c, w)))
    out = np.full(r.shape, np.nan)
    term = -r * a1 / c * w
    out[(w == 0) | (term == 0)] = 0.0
    live = np.flatnonzero(np.isnan(out))
    R, A1, C, Wv = r[live], a1[live], c[live], w[live]
    term = term[live]
    total = term.copy()
    largest = np.abs(term)
    for n in range(1, max_terms):
        if live.size == 0:
            break
        ratio = (R + n) * (A1 + n) / ((C + n) * (n + 1)) * Wv
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging row ends NaN: next form
            term = term * ratio
            total += term
        largest = np.maximum(largest, np.abs(term))
        bound = np.maximum(np.abs(ratio), np.abs(Wv))
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            done = (n > np.abs(A1) + R) & (bound < 1) & (np.abs(term) * bound / (1 - bound) <= 1e-17 * np.abs(total))
        if np.any(done):
            out[live[done]] = np.where(largest[done] <= 1e4 * np.abs(total[done]), total[done], np.nan)
            keep = ~done
            live, R, A1, C, Wv = live[keep], R[keep], A1[keep], C[keep], Wv[keep]
            term, total, largest = term[keep], total[keep], largest[keep]
    return out


def _difference_series(r, a, c, z, max_terms: int = 10_000):
    """E[X(t)] of eq. (9) as one series of positive terms, for ``0 < z < 1`` and ``c > r``.

    With Euler's transformation ``P = (1-z)^(a-1) 2F1(c-r, a-1; c; z)`` and the binomial
    series ``1 = (1-z)^(a-1) sum_n (a-1)_n z^n / n!``, the bracket ``1 - P`` is
    ``(1-z)^(a-1) sum_n (a-1)_n z^n / n! [1 - (c-r)_n / (c)_n]``, and dividing by ``a - 1``
    (``(a-1)_n / (a-1) = (a)_(n-1)``)::

        E[X(t)] = c (1-z)^(a-1) sum_{n>=1} (a)_(n-1) z^n / n! * d_n,
        d_n = 1 - prod_{k<n} (1 - r/(c+k))   (by expm1 of a sum of log1p)

    Every term is positive (a > 0, c > r), so nothing cancels: this is the form for the
    bracket ``1 - P`` near 0 (b much larger than a - 1), where ``1 - P`` in doubles loses
    ``eps / (1 - P)`` relatively, and it is regular at a = 1. NaN where it does not converge
    within ``max_terms`` (z near 1 with large a); there the other forms stand.
    """
    r, a, c, z = (np.ravel(v) for v in np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (r, a, c, z))))
    out = np.full(r.shape, np.nan)
    live = np.flatnonzero((c > r) & (z > 0) & (z < 1))
    R, A, C, Z = r[live], a[live], c[live], z[live]
    log_z = np.log(Z)
    log_scale = np.log(C) + (A - 1) * np.log1p(-Z)  # c (1-z)^(a-1)
    log_u = log_z.copy()  # n = 1: (a)_0 z^1 / 1!
    log_q = np.log1p(-R / C)  # log of (c-r)_1 / (c)_1
    total = np.zeros(live.size)
    for n in range(1, max_terms):
        if live.size == 0:
            break
        scaled = np.exp(log_scale + log_u)
        total += scaled * -np.expm1(log_q)
        # the later u_m shrink by at most rho per step and d_m <= 1: a bound on the tail
        rho = np.maximum((A + n - 1) * Z / (n + 1), Z)
        with np.errstate(divide="ignore", invalid="ignore"):
            done = (rho < 1) & (scaled * rho / (1 - rho) <= 1e-17 * total)
        if np.any(done):
            out[live[done]] = total[done]
            keep = ~done
            live, R, A, C, Z, log_z, log_scale, log_u, log_q, total = (
                v[keep] for v in (live, R, A, C, Z, log_z, log_scale, log_u, log_q, total))
        log_u = log_u + np.log((A + n - 1) / (n + 1)) + log_z
        log_q = log_q + np.log1p(-R / (C + n))
    return out


def _quadrature_mean(t: float, r: float, alpha: float, a: float, b: float) -> float:
    """E[X(t)] of one parameter row by adaptive quadrature over the dropout probability.

    Given p, purchases follow the NBD until dropout: ``E[X(t) | p] = (1 - (1 + p t/alpha)^-r)
    / p`` (eq. (7) of [1] averaged over the gamma lambda), so ``E[X(t)] = E[h(p)]`` with p ~
    Beta(a, b). The integrand is bounded and smooth; the density is taken up to a constant
    and divided by its own integral (by the same rule), so no ``B(a, b)`` is needed (its
    ``gammaln`` difference loses ``eps * gammaln(b)`` for large b). For a < 1 the variable is
    ``u = p^a`` (``p^(a-1) dp = du / a``), which takes the singularity at 0 away. Break points
    at the mean +- multiples of the standard deviation and at ``p = alpha/t`` guide the rule.
    NaN when the rule does not reach a relative error of 1e-11.
    """
    k = t / alpha
    mean = a / (a + b)
    sd = np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    if a < 1:
        to_p, to_v, log_peak = (lambda v: v ** (1 / a)), (lambda p: p ** a), 0.0
        at_zero = 1.0

        def log_density(p):
            return (b - 1) * np.log1p(-p)
    else:
        to_p, to_v = (lambda v: v), (lambda p: p)
        mode = (a - 1) / (a + b - 2) if a + b > 2 else mean
        log_peak = (a - 1) * np.log(mode) + (b - 1) * np.log1p(-mode) if mode > 0 else 0.0
        at_zero = float(np.exp(-log_peak)) if a == 1 else 0.0

        def log_density(p):
            return (a - 1) * np.log(p) + (b - 1) * np.log1p(-p)

    def density(v):
        p = to_p(v)
        if p <= 0:
            return at_zero
        return float(np.exp(log_density(p) - log_peak)) if p < 1 else 0.0

    def weighted(v):
        p = to_p(v)
        return density(v) * (r * k if p <= 0 else -np.expm1(-r * np.log1p(p * k)) / p)

    marks = {mean + s * sd for s in (-30, -10, -4, -1.5, 0, 1.5, 4, 10, 30)} | {1 / k}
    options = dict(points=sorted({float(to_v(p)) for p in marks if 0 < p < 1}), epsabs=0.0,
                   epsrel=1e-13, limit=500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        top, top_err = integrate.quad(weighted, 0.0, 1.0, **options)
        bottom, bottom_err = integrate.quad(density, 0.0, 1.0, **options)
    if not (top > 0 and bottom > 0) or max(top_err / top, bottom_err / bottom) > 1e-11:
        return np.nan
    return top / bottom


def _population_mean(t, r, alpha, a, b):
    """E[X(t)] of the BG/NBD, eq. (9) of Fader, Hardie & Lee (2005), vectorised and finite.

    ``(a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; z)]``, z = t/(alpha+t). The
    product ``P = (1-z)^r 2F1(r, b; c; z)`` (c = a+b-1) is evaluated in one of three equal
    forms, whichever is finite and accurate:

    * for ``t < alpha`` (``w = -t/alpha`` in (-1, 0]), Pfaff's transformation
      ``P = 2F1(r, a-1; c; w)`` summed as a series for ``1 - P`` (no cancellation in the
      bracket; :func:`_pfaff_series`);
    * otherwise the series of the form as written, whose terms are all positive
      (``log_hyp2f1_series``), where it converges within its term limit;
    * otherwise scipy's 2F1 of the form as written (``a - 1 > r``: it converges at z = 1) or
      of Euler's transformation ``P = (1-z)^(a-1) 2F1(c-r, a-1; c; z)`` (moderate for large
      ``r`` = r + x in the conditional expectation); what is still not finite raises
      FloatingPointError rather than returning NaN;
    * where the last two leave ``1 - P`` below 1e-4, which costs ``eps / (1 - P)`` of
      relative precision, the mean is summed as one series of positive terms instead
      (:func:`_difference_series`);
    * rows that needed scipy's 2F1 (good to about 1e-8 near z = 1) or that no form made
      finite are integrated over the dropout probability (:func:`_quadrature_mean`, a few
      milliseconds per distinct row) where the quadrature converges.

    The powers are kept as logs and multiplied in log space (:func:`_hyp_product`): a power
    that underflows times a 2F1 that overflows was NaN or 0 before (a = b = 500). At a = 1 the
    expression is 0/0 with a finite limit; there it is extrapolated from a = 1 -+ 1e-3, 5e-4.
    """
    if np.any(np.abs(np.asarray(a) - 1) < 1e-6):
        # Richardson extrapolation of the symmetric means at a = 1 -+ h and 1 -+ h/2
        # (error of order h^4; the cancellation near a = 1 costs about eps/h)
        a = np.asarray(a, dtype=float)
        near = np.abs(a - 1) < 1e-6

        def mean_at(h):
            lo = _population_mean(t, r, alpha, np.where(near, 1 - h, a), b)
            return 0.5 * (lo + _population_mean(t, r, alpha, np.where(near, 1 + h, a), b)), lo

        wide, lo = mean_at(1e-3)
        narrow, _ = mean_at(5e-4)
        return np.where(near, (4 * narrow - wide) / 3, lo)
    near_zero_c = np.abs(np.asarray(a) + b - 1) < 1e-6  # 0 * 2F1(...; c=0; z): removable too
    if np.any(near_zero_c):
        b = np.asarray(b, dtype=float)
        shifted = 2 * _population_mean(t, r, alpha, a, b + 1e-5 * near_zero_c) - _population_mean(
            t, r, alpha, a, b + 2e-5 * near_zero_c
        )
        return np.where(near_zero_c, shifted, _population_mean(t, r, alpha, a, b + near_zero_c))
    t, r, alpha, a, b = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (t, r, alpha, a, b)))
    shape = t.shape
    if t.size > 1:
        # once per distinct (t, r, alpha, a, b): customers share (x, T), so the series run on
        # a few thousand rows, not one per customer
        distinct, inverse = factorize_rows(*(np.ravel(v) for v in (t, r, alpha, a, b)))
        if distinct[0].size < t.size:
            return _population_mean(*distinct)[inverse].reshape(shape)
    t, r, alpha, a, b = (np.ravel(v) for v in (t, r, alpha, a, b))
    c = a + b - 1
    w = -t / alpha
    z = t / (alpha + t)
    log_1mz = -np.log1p(t / alpha)  # ln(1 - z) = ln(alpha/(alpha+t))
    bracket = np.full(t.shape, np.nan)  # 1 - P
    small = (w > -1) & (c > 0)
    if np.any(small):
        bracket[small] = _pfaff_series(r[small], a[small] - 1, c[small], w[small])
    rest = np.isnan(bracket)
    via_scipy = np.zeros(t.shape, dtype=bool)
    if np.any(rest):
        ri, ai, bi, ci, zi, li = r[rest], a[rest], b[rest], c[rest], z[rest], log_1mz[rest]
        # the series of the form as written: positive terms, exact where it converges
        with np.errstate(over="ignore", invalid="ignore"):
            prod = np.where(ci > 0, np.exp(ri * li + log_hyp2f1_series(ri, bi, np.maximum(ci, 1e-300), zi)), np.nan)
        direct = ai - 1 > ri
        slow = np.isnan(prod)
        via_scipy[np.flatnonzero(rest)[slow]] = True
        if np.any(slow):
            prod[slow] = np.where(direct, _hyp_product(ri * li, ri, bi, ci, zi),
                                  _hyp_product((ai - 1) * li, ci - ri, ai - 1, ci, zi))[slow]
        bad = ~np.isfinite(prod)
        if np.any(bad):  # the other form
            other = np.where(direct, _hyp_product((ai - 1) * li, ci - ri, ai - 1, ci, zi),
                             _hyp_product(ri * li, ri, bi, ci, zi))
            prod = np.where(bad, other, prod)
        bad = ~np.isfinite(prod)
        if np.any(bad):
            # scipy's 2F1 returns NaN near z = 1 when c - a - b is an integer (e.g. r = a =
            # 0.05); the function is continuous in r, so take the mean of r -+ 1e-7
            idx = np.flatnonzero(bad)
            up = _hyp_product((ai[idx] - 1) * li[idx], ci[idx] - ri[idx] - 1e-7, ai[idx] - 1, ci[idx], zi[idx])
            down = _hyp_product((ai[idx] - 1) * li[idx], ci[idx] - ri[idx] + 1e-7, ai[idx] - 1, ci[idx], zi[idx])
            prod[idx] = 0.5 * (up + down)
        bracket[rest] = 1 - prod
    out = c / (a - 1) * bracket
    # 1 - P near 0 (b much larger than a - 1, with t >= alpha): the difference in doubles
    # loses eps/|1 - P| relatively; the series of positive terms does not
    cancelled = np.flatnonzero(np.isfinite(bracket) & (np.abs(bracket) < 1e-4) & (w <= -1))
    if cancelled.size:
        exact = _difference_series(r[cancelled], a[cancelled], c[cancelled], z[cancelled])
        out[cancelled] = np.where(np.isfinite(exact), exact, out[cancelled])
        via_scipy[cancelled[~np.isfinite(exact)]] = True
    # scipy's 2F1 near z = 1 is good to about 1e-8 (and may be NaN): those rows, and the
    # cancelled ones the series could not sum, are integrated instead where that converges
    for i in np.flatnonzero(via_scipy | ~np.isfinite(out)):
        value = _quadrature_mean(t[i], r[i], alpha[i], a[i], b[i])
        if np.isfinite(value):
            out[i] = value
    out = out.reshape(shape)
    if not np.all(np.isfinite(out)):
        i = int(np.flatnonzero(~np.isfinite(out.ravel()))[0])
        raise FloatingPointError(
            f"BetaGeo: E[X(t)] is not computable in double precision at t={t[i]:.6g} with "
            f"r={r[i]:.6g}, alpha={alpha[i]:.6g}, a={a[i]:.6g}, b={b[i]:.6g} (t/(alpha+t) = "
            f"{z[i]:.9f} is too close to 1 for the hypergeometric series at these parameters); "
            f"predict over a shorter horizon, or refit with penalizer_coef if a or b is extreme"
        )
    # rounding must not make an expectation negative
    return np.where(t.reshape(shape) == 0, 0.0, np.maximum(out, 0.0))

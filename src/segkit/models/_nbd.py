"""The NBD (Poisson-gamma) model: the no-dropout limit of the BG/NBD, MBG/NBD and Pareto/NBD.

Ehrenberg, A. S. C. (1959). The Pattern of Consumer Purchases. *Applied Statistics* 8(1),
26-41; Morrison, D. G. and Schmittlein, D. C. (1988). Generalizing the NBD Model for Customer
Purchases: What Are the Implications and Is It Worth the Effort? *Journal of Business &
Economic Statistics* 6(2), 145-159.

A customer buys at Poisson rate ``lambda ~ Gamma(r, alpha)`` (``alpha`` a scale in the data's
time unit) and never drops out. Each of the three dropout models tends to it when dropout
vanishes -- BG/NBD and MBG/NBD when the mean dropout probability ``a/(a+b)`` goes to 0 (``b/a
-> infinity``), Pareto/NBD when the mean dropout rate ``s/beta`` does -- and their
likelihoods tend to this one, term by term:

``ln L = ln G(r+x) - ln G(r) + r ln(alpha) - (r+x) ln(alpha+T)``

(eq. (6) of Fader, Hardie & Lee 2005 without its dropout term; the same constant of the
purchase times is left out of all of them, so the log-likelihoods compare directly). When the
data show no sign of dropout, a dropout model's likelihood keeps rising towards this limit
and its optimiser runs ``b`` (or ``beta``) off to infinity; the fits then return this model
(:func:`no_dropout_limit`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import digamma, gammaln, polygamma

from segkit.errors import LimitingModelWarning  # defined with every segkit error; importable here as before
from segkit.models._optim import (
    maximise_likelihood,
    newton_polish,
    penalised_objective,
    standard_errors_from_hessian,
)

__all__ = [
    "NO_DROPOUT",
    "NO_DROPOUT_LR_CRITICAL",
    "LimitingModelWarning",
    "NBDFit",
    "check_limit",
    "conditional_mean",
    "count_probability",
    "fit_nbd",
    "log_likelihood",
    "no_dropout_limit",
    "no_purchase",
    "population_mean",
]

#: Key of the no-dropout limit in a purchase model's ``limit_``.
NO_DROPOUT = "no_dropout"
PARAMS = ("r", "alpha")
#: The dropout model is kept only if it beats the NBD by a likelihood-ratio statistic
#: ``2 (ln L_dropout - ln L_NBD)`` of at least this: the 95% point of chi-square with one degree
#: of freedom (scipy.stats.chi2.ppf(0.95, 1)). The NBD sits on the boundary of the dropout
#: models (b/a = infinity), where the statistic is at most this conservative (the 50:50 mixture
#: of chi-square 0 and 1 has 2.71); below it the data do not show dropout.
NO_DROPOUT_LR_CRITICAL = 3.841458820694124


@dataclass
class NBDFit:
    """Maximum-likelihood NBD: parameters, log-likelihood, standard errors, and the covariance
    of the log-parameters (as the dropout models' ``covariance_``)."""

    params: dict[str, float]
    log_likelihood: float
    standard_errors: dict[str, float]
    n_iter: int
    covariance: Any = None


def log_likelihood(log_params: np.ndarray, x: np.ndarray, T: np.ndarray, w: np.ndarray,
                   hessian: bool = False):
    """Weighted total NBD log-likelihood, its gradient (and Hessian) in (r, alpha).

    ``x`` repeat purchases in (0, T] after the first; the purchase times do not enter.

    Examples
    --------
    >>> ll, grad = log_likelihood(np.log([1.0, 1.0]), np.array([1.0]), np.array([1.0]), np.ones(1))
    >>> round(float(ll), 6) == round(float(np.log(0.25)), 6)  # G(2)/G(1) 1^1 / 2^2
    True
    """
    r, alpha = np.exp(log_params)
    W = float(w.sum())
    ln_alpha_T = np.log(alpha + T)
    ll = w @ (gammaln(r + x) - (r + x) * ln_alpha_T) + W * (r * np.log(alpha) - gammaln(r))
    grad = np.array([
        w @ (digamma(r + x) - ln_alpha_T) + W * (np.log(alpha) - digamma(r)),
        W * r / alpha - w @ ((r + x) / (alpha + T)),
    ])
    if not hessian:
        return float(ll), grad
    h_ra = W / alpha - w @ (1.0 / (alpha + T))
    h = np.array([
        [w @ polygamma(1, r + x) - W * polygamma(1, r), h_ra],
        [h_ra, -W * r / alpha**2 + w @ ((r + x) / (alpha + T) ** 2)],
    ])
    return float(ll), grad, h


def fit_nbd(x: np.ndarray, T: np.ndarray, w: np.ndarray, *, model: str, tol: float = 1e-8,
            max_iter: int = 1000) -> NBDFit:
    """Maximum-likelihood NBD on distinct rows ``(x, T)`` with weights ``w``.

    Raises
    ------
    segkit.models.ConvergenceError
        When the NBD itself is at a boundary: no sign of heterogeneity in the purchase rates
        (``r`` and ``alpha`` run off together, the Poisson limit), or no convergence.
    """
    W = float(w.sum())
    objective = penalised_objective(lambda theta: log_likelihood(theta, x, T, w), W, 0.0)
    rate = max(float(w @ x) / max(float(w @ T), 1e-9), 1e-6)
    name = f"{model} (no-dropout limit, NBD)"
    result = maximise_likelihood(objective, np.log([1.0, 1.0 / rate]), names=PARAMS, model=name,
                                 n_starts=1, random_state=0, tol=tol, max_iter=max_iter)
    def newton(theta):  # the mean objective with its Hessian in the log-parameters
        ll, grad, hess = log_likelihood(theta, x, T, w, hessian=True)
        p = np.exp(theta)
        return -ll / W, -grad * p / W, -(np.outer(p, p) * hess + np.diag(grad * p)) / W

    # a few Newton steps from the L-BFGS-B optimum: its parameters to rounding, not to 1e-6
    theta, _, _, _ = newton_polish(newton, result.log_params, tol=1e-13, max_iter=20)
    ll, grad, hess = log_likelihood(theta, x, T, w, hessian=True)
    p = np.exp(theta)
    se, covariance = standard_errors_from_hessian(-(np.outer(p, p) * hess + np.diag(grad * p)), theta,
                                                  PARAMS, model=name, with_covariance=True)
    return NBDFit(dict(zip(PARAMS, map(float, p), strict=True)), ll, se, result.n_iter, covariance)


def no_dropout_limit(model: str, full_log_likelihood: float | None, x: np.ndarray, T: np.ndarray,
                     w: np.ndarray, *, tol: float = 1e-8, max_iter: int = 1000) -> NBDFit | None:
    """The NBD fit when the data show no dropout, else None; warns when it is returned.

    ``full_log_likelihood`` is the dropout model's best log-likelihood (at its optimum, or where
    its optimiser stopped running off to the boundary). The NBD is that model's limit, so the
    dropout model can only be better; it is kept when it is better by a likelihood-ratio
    statistic of at least :data:`NO_DROPOUT_LR_CRITICAL` (3.84).
    """
    nbd = fit_nbd(x, T, w, model=model, tol=tol, max_iter=max_iter)
    lr = 0.0 if full_log_likelihood is None else 2.0 * (full_log_likelihood - nbd.log_likelihood)
    if lr >= NO_DROPOUT_LR_CRITICAL:
        return None
    n_buyers = float(w[x > 0].sum())
    warnings.warn(
        f"{model}: the data show no sign of customers dropping out, so the fit is the model's "
        f"limit without dropout, the NBD (Poisson-gamma): every customer stays active "
        f"(P(alive) = 1) and buys at her own steady rate, r = {nbd.params['r']:.4g}, alpha = "
        f"{nbd.params['alpha']:.4g} (on average r/alpha = {nbd.params['r'] / nbd.params['alpha']:.4g} "
        f"purchases per time unit). With dropout the log-likelihood is {max(lr, 0.0) / 2:.3g} "
        f"higher, less than the {NO_DROPOUT_LR_CRITICAL / 2:.2f} a real effect needs "
        f"({n_buyers:.0f} of {float(w.sum()):.0f} customers bought again). limit_ is "
        f"{NO_DROPOUT!r}; a longer observation period shows dropout if there is any.",
        LimitingModelWarning,
        stacklevel=5,  # the caller of fit (fit -> _fit_likelihood -> _fit_limit -> here)
    )
    return nbd


# ---------------------------------------------------------------------------------------------
# predictions of the limit (closed forms)
# ---------------------------------------------------------------------------------------------
def population_mean(t, r: float, alpha: float):
    """E[X(t)] = r t / alpha."""
    return r * np.asarray(t, dtype=float) / alpha


def conditional_mean(t, x, T, r: float, alpha: float):
    """E[Y(t) | x, T] = (r+x) t / (alpha+T): the updated rate Gamma(r+x, alpha+T) times t."""
    return (r + x) * t / (alpha + T)


def no_purchase(t, x, T, r: float, alpha: float):
    """P(Y(t) = 0 | x, T) = ((alpha+T)/(alpha+T+t))^(r+x)."""
    return np.exp(-(r + x) * np.log1p(t / (alpha + T)))


def count_probability(n, t, r: float, alpha: float):
    """P(X(t) = n) = G(r+n)/(G(r) n!) (alpha/(alpha+t))^r (t/(alpha+t))^n, in log space."""
    n, t = np.asarray(n, dtype=float), np.asarray(t, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_z = np.where(t > 0, np.log(t) - np.log(alpha + t), -np.inf)
        log_p = (gammaln(r + n) - gammaln(r) - gammaln(n + 1) - r * np.log1p(t / alpha)
                 + np.where(n > 0, n * log_z, 0.0))
    return np.exp(log_p)


def check_limit(limit) -> None:
    """A ``limit_`` a purchase model knows (None or :data:`NO_DROPOUT`)."""
    if limit not in (None, NO_DROPOUT):
        raise ValueError(f"limit_ must be None or {NO_DROPOUT!r}, got {limit!r}")


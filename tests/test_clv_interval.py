"""CLV intervals from parameter uncertainty (issue 14, item 4): covariance_ of the fitted
models, the parametric bootstrap and the delta method of segkit.models.clv.clv_interval.

Simulated data come from a hand-written BG/NBD + Gamma-Gamma simulator with known parameters
(the generative story of Fader, Hardie & Lee 2005, section 3, and Fader & Hardie 2013);
CDNOW is the 1/10 sample of data/benchmarks/cdnow.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln, gammaln

from segkit.config import ConfigError
from segkit.models import BetaGeo, GammaGamma, ModifiedBetaGeo, ParetoNBD
from segkit.models.clv import clv, load_config
from segkit.models.clv_interval import clv_interval
from segkit.summary import btyd_summary

CDNOW = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "cdnow"
TRUE_BG = {"r": 0.25, "alpha": 4.0, "a": 0.8, "b": 2.5}
TRUE_GG = {"p": 6.0, "q": 4.0, "v": 15.0}


def simulate(n: int, seed: int, whole_weeks: bool = False) -> pd.DataFrame:
    """BG/NBD purchases and Gamma-Gamma spend of ``n`` customers with TRUE_BG / TRUE_GG.

    Each customer has a Poisson purchase rate lambda ~ Gamma(r, alpha) and, after each repeat
    purchase, drops out with probability p ~ Beta(a, b); she is observed for T weeks after
    her first purchase (T uniform on 30-78 weeks). Her transactions are Gamma(p, nu) with
    nu ~ Gamma(q, v); monetary_value is the mean of her repeat transactions.
    """
    rng = np.random.default_rng(seed)
    r, alpha, a, b = (TRUE_BG[k] for k in ("r", "alpha", "a", "b"))
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    big_t = rng.uniform(30, 78, n)
    if whole_weeks:
        big_t = np.round(big_t)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    active = np.ones(n, dtype=bool)
    while active.any():
        idx = np.flatnonzero(active)
        now[idx] += rng.exponential(1 / lam[idx])
        bought = now[idx] <= big_t[idx]
        done = idx[~bought]
        active[done] = False
        buy = idx[bought]
        x[buy] += 1
        t_x[buy] = now[buy]
        active[buy[rng.uniform(size=buy.size) < drop[buy]]] = False
    if whole_weeks:
        t_x = np.floor(t_x)
    p, q, v = (TRUE_GG[k] for k in ("p", "q", "v"))
    nu = rng.gamma(q, 1 / v, n)
    repeat = x > 0
    m = np.zeros(n)
    m[repeat] = rng.gamma(p * x[repeat], 1 / nu[repeat]) / x[repeat]
    return pd.DataFrame({"frequency": x, "recency": t_x, "T": big_t, "monetary_value": m})


def fit_models(snap: pd.DataFrame) -> tuple[BetaGeo, GammaGamma]:
    bg = BetaGeo().fit(snap["frequency"], snap["recency"], snap["T"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # customers without repeat purchases are left out
        gg = GammaGamma().fit(snap["frequency"], snap["monetary_value"])
    return bg, gg


def true_models() -> tuple[BetaGeo, GammaGamma]:
    bg, gg = BetaGeo(), GammaGamma()
    bg.params_, gg.params_ = dict(TRUE_BG), dict(TRUE_GG)
    return bg, gg


@pytest.fixture(scope="module")
def cdnow():
    tx = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    snap = btyd_summary(tx, "1997-09-30", unit="W", period="D")
    bg = BetaGeo().fit_snapshot(snap)
    with pytest.warns(UserWarning):
        gg = GammaGamma().fit_snapshot(snap)
    return snap, bg, gg


# -- covariance_ --------------------------------------------------------------------------------
def _bgnbd_log_likelihood(theta: np.ndarray, x, t_x, big_t) -> float:
    """Total BG/NBD log-likelihood, eq. (6) of Fader, Hardie & Lee (2005), written out here."""
    r, alpha, a, b = np.exp(theta)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + big_t)
    with np.errstate(divide="ignore"):
        dead = np.where(x > 0, betaln(a + 1, b + np.maximum(x, 1) - 1) - betaln(a, b)
                        - (r + x) * np.log(alpha + t_x), -np.inf)
    return float(np.sum(common + np.logaddexp(alive, dead)))


def _hessian(fun, theta: np.ndarray, step: float = 1e-3) -> np.ndarray:
    """Second differences of a scalar function (no gradient used)."""
    k = theta.size
    hess = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * step, np.eye(k)[j] * step
            hess[i, j] = (fun(theta + ei + ej) - fun(theta + ei - ej) - fun(theta - ei + ej)
                          + fun(theta - ei - ej)) / (4 * step * step)
    return hess


def test_bgnbd_covariance_is_the_inverse_hessian_of_the_likelihood(cdnow):
    snap, bg, _ = cdnow
    names = list(bg.params_)
    assert list(bg.covariance_.index) == names == list(bg.covariance_.columns)
    theta = np.log(list(bg.params_.values()))
    data = (snap["frequency"].to_numpy(), snap["recency"].to_numpy(), snap["T"].to_numpy())
    hess = -_hessian(lambda th: _bgnbd_log_likelihood(th, *data), theta)
    np.testing.assert_allclose(bg.covariance_.to_numpy(), np.linalg.inv(hess), rtol=2e-3, atol=1e-6)
    # on the natural scale, the standard errors lifetimes 0.11.3 reports for CDNOW (as in
    # tests/test_bgnbd.py): 0.0126, 0.378, 0.186, 0.705 for r, alpha, a, b
    se_log = np.sqrt(np.diag(bg.covariance_))
    np.testing.assert_allclose(se_log * np.exp(theta), [0.0126, 0.378, 0.186, 0.705], rtol=5e-3)


def test_gammagamma_covariance_is_the_inverse_hessian_of_the_likelihood(cdnow):
    snap, _, gg = cdnow
    rep = snap.loc[snap["frequency"] > 0]
    x, m = rep["frequency"].to_numpy(), rep["monetary_value"].to_numpy()

    def log_likelihood(theta):  # eq. (4) of Fader & Hardie (2013), written out here
        p, q, v = np.exp(theta)
        return float(np.sum(gammaln(p * x + q) - gammaln(p * x) - gammaln(q) + q * np.log(v)
                            + (p * x - 1) * np.log(m) + p * x * np.log(x)
                            - (p * x + q) * np.log(v + x * m)))

    theta = np.log(list(gg.params_.values()))
    hess = -_hessian(log_likelihood, theta)
    np.testing.assert_allclose(gg.covariance_.to_numpy(), np.linalg.inv(hess), rtol=2e-3, atol=1e-6)


@pytest.mark.parametrize("model", [BetaGeo(), ParetoNBD(), ModifiedBetaGeo()])
def test_covariance_agrees_with_standard_errors(cdnow, model):
    """sqrt(diag) on the log scale times the parameter (delta method) = standard_errors_."""
    snap, _, gg = cdnow
    for fitted in (model.fit_snapshot(snap), gg):
        se = np.sqrt(np.diag(fitted.covariance_.to_numpy())) * np.array(list(fitted.params_.values()))
        np.testing.assert_allclose(se, list(fitted.standard_errors_.values()), rtol=1e-12)


def test_penalised_fit_keeps_the_penalised_covariance():
    snap = simulate(800, seed=3)
    plain = BetaGeo().fit(snap["frequency"], snap["recency"], snap["T"])
    held = BetaGeo(penalizer_coef=0.1).fit(snap["frequency"], snap["recency"], snap["T"])
    # the penalty adds curvature, so the penalised log-variances are smaller
    assert np.all(np.diag(held.covariance_) < np.diag(plain.covariance_))


# -- clv_interval -------------------------------------------------------------------------------
def test_point_estimate_is_clv(cdnow):
    snap, bg, gg = cdnow
    point = clv(snap, bg, gg, "52W")
    res = clv_interval(snap, bg, gg, "52W", draws=200)
    pd.testing.assert_series_equal(res.customers["clv"], point["clv"])
    assert res.total == pytest.approx(point["clv"].sum(), rel=1e-15)
    # unchanged by this work: the values of main before it (CDNOW customer 1, x=2, t_x=30.43,
    # T=38.86, 52 weeks at 10% a year; and the total)
    assert point.loc[1, "clv"] == pytest.approx(36.7491072064, rel=1e-10)
    assert point["clv"].sum() == pytest.approx(72439.4162242, rel=1e-10)
    assert (res.customers["clv_lower"] <= res.customers["clv"]).all()
    assert (res.customers["clv"] <= res.customers["clv_upper"]).all()
    assert res.total_lower < res.total < res.total_upper


def test_reproducible_with_the_seed(cdnow):
    snap, bg, gg = cdnow
    one = clv_interval(snap, bg, gg, "52W", draws=150, seed=7)
    two = clv_interval(snap, bg, gg, "52W", draws=150, seed=7)
    other = clv_interval(snap, bg, gg, "52W", draws=150, seed=8)
    pd.testing.assert_frame_equal(one.customers, two.customers)
    np.testing.assert_array_equal(one.total_draws, two.total_draws)
    assert one.total_lower != other.total_lower


def test_linearised_bootstrap_follows_the_exact_one_draw_by_draw(cdnow):
    """Same seed, same parameter draws: the total CLV of each draw with the purchase model
    linearised is the exactly re-evaluated one to 1% (CDNOW, 400 customers, 25 draws),
    while the draws themselves spread by 5%; the error is second order in the shift."""
    snap, bg, gg = cdnow
    part = snap.iloc[:400]
    exact = clv_interval(part, bg, gg, "52W", method="bootstrap", draws=25, seed=5, progress=False)
    linear = clv_interval(part, bg, gg, "52W", method="bootstrap_linear", draws=25, seed=5)
    np.testing.assert_allclose(linear.total_draws, exact.total_draws, rtol=1e-2)
    spread = exact.total_draws.std()
    assert spread / exact.total > 0.03  # the draws do move the total
    assert (linear.total_draws - exact.total_draws).std() < 0.1 * spread
    # per customer the upper bound (interpolated between the top two of 25 draws, where the
    # linearisation is least exact) to 3%, typically to 0.5%
    error = (linear.customers["clv_upper"] / exact.customers["clv_upper"] - 1).abs()
    assert error.max() < 0.03 and error.median() < 0.005


def test_delta_method_agrees_with_the_bootstrap_on_cdnow(cdnow):
    """SE of the total 52-week CLV: delta method vs the SD of 2,000 bootstrap totals (whose
    own Monte Carlo error is ~1.6%)."""
    snap, bg, gg = cdnow
    boot = clv_interval(snap, bg, gg, "52W", method="bootstrap_linear", draws=2000, seed=1)
    delta = clv_interval(snap, bg, gg, "52W", method="delta")
    assert delta.total == boot.total
    assert delta.total_se == pytest.approx(boot.total_se, rel=0.10)
    # the intervals agree as well (the bootstrap's is a little skewed to the right)
    assert delta.total_lower == pytest.approx(boot.total_lower, rel=0.02)
    assert delta.total_upper == pytest.approx(boot.total_upper, rel=0.02)
    assert delta.draws == 0 and delta.total_draws is None
    # per customer the two agree too, on the customers with a repeat purchase
    rep = (snap["frequency"] > 0).to_numpy()
    width_b = (boot.customers["clv_upper"] - boot.customers["clv_lower"]).to_numpy()[rep]
    width_d = (delta.customers["clv_upper"] - delta.customers["clv_lower"]).to_numpy()[rep]
    assert np.median(width_d / width_b) == pytest.approx(1.0, abs=0.1)


def test_delta_method_of_the_population_mean_spend(cdnow):
    """A simple function: E[spend] = p v / (q - 1) of a new customer; its delta-method SE
    from covariance_ vs the SD over parameter draws from the same covariance_."""
    _, _, gg = cdnow
    theta = np.log(list(gg.params_.values()))
    cov = gg.covariance_.to_numpy()

    def mean_spend(th):
        p, q, v = np.exp(th)
        return p * v / (q - 1)

    grad = np.array([(mean_spend(theta + e) - mean_spend(theta - e)) / 2e-6 for e in np.eye(3) * 1e-6])
    delta_se = float(np.sqrt(grad @ cov @ grad))
    draws = np.random.default_rng(0).multivariate_normal(theta, cov, size=20_000)
    boot_sd = float(np.std(mean_spend(draws.T)))
    assert delta_se == pytest.approx(boot_sd, rel=0.10)


def test_interval_shrinks_like_one_over_sqrt_n():
    """16 times the customers: the relative width of the total's interval about 1/4."""
    widths = {}
    for n in (2_000, 32_000):
        snap = simulate(n, seed=11, whole_weeks=True)
        bg, gg = fit_models(snap)
        res = clv_interval(snap, bg, gg, "52W", unit="W", draws=300, seed=0)
        widths[n] = (res.total_upper - res.total_lower) / res.total
    ratio = widths[2_000] / widths[32_000]
    assert 3.0 < ratio < 5.3, widths


def test_coverage_of_the_total_on_simulated_data():
    """40 simulated customer bases from known parameters: the 90% interval of the total
    holds the total CLV at the true parameters about 36 times (35 measured); a
    binomial(40, 0.9) is below 31 with probability 3%. Times stay continuous: rounded to
    whole weeks, the data no longer follow the model and the hits fell to 32."""
    hits = []
    for seed in range(40):
        snap = simulate(1500, seed=100 + seed)
        bg, gg = fit_models(snap)
        res = clv_interval(snap, bg, gg, "13W", unit="W", draws=200, seed=seed)
        truth = clv(snap, *true_models(), "13W", unit="W")["clv"].sum()
        hits.append(res.total_lower <= truth <= res.total_upper)
    assert sum(hits) >= 31, hits


def test_process_noise_is_reported_not_included(cdnow):
    snap, bg, gg = cdnow
    res = clv_interval(snap, bg, gg, "52W", draws=200)
    point = clv(snap, bg, gg, "52W")
    expected = np.sqrt((1 + 1 / gg.params_["p"])
                       * np.sum(point["expected_average_spend"] ** 2 * point["expected_purchases"]))
    assert res.process_sd == pytest.approx(expected, rel=1e-12)
    assert res.process_sd > 0


def test_defaults_come_from_the_configuration(cdnow):
    snap, bg, gg = cdnow
    cfg = load_config()
    assert (cfg.interval.method, cfg.interval.draws, cfg.interval.level, cfg.interval.seed) == (
        "bootstrap_linear", 1000, 0.9, 0)
    res = clv_interval(snap.head(50), bg, gg, "52W", config={"clv": {"interval": {"draws": 120, "level": 0.8}}})
    assert (res.draws, res.level, res.total_draws.size) == (120, 0.8, 120)
    with pytest.raises(ConfigError, match="draws"):
        load_config({"clv": {"interval": {"draws": 5}}})
    with pytest.raises(ConfigError, match="level"):
        load_config({"clv": {"interval": {"level": 90}}})


def test_models_without_covariance_are_refused(cdnow):
    snap, _, gg = cdnow
    bg, _ = true_models()
    with pytest.raises(ValueError, match="purchase_model .*no covariance_.*set by hand"):
        clv_interval(snap, bg, gg, "52W")


def test_a_few_infinite_spend_draws_leave_the_interval_finite(cdnow):
    """q = 1.07 with se(ln q) = 0.03: ~1.2% of the draws have q <= 1, an infinite mean
    spend; they sit above the upper 5% percentile, so the interval stays finite."""
    snap, bg, gg = cdnow
    near = GammaGamma()
    near.params_ = {"p": 1.8, "q": 1.07, "v": 8362.0}
    near.covariance_ = pd.DataFrame(np.diag([0.04, 0.03**2, 0.05]), index=["p", "q", "v"],
                                    columns=["p", "q", "v"])
    res = clv_interval(snap, bg, near, "52W", draws=1000, seed=0)
    assert 0 < np.isinf(res.total_draws).sum() < 50
    assert np.isfinite(res.total_upper) and res.total_se == np.inf
    assert np.isfinite(res.customers["clv_upper"]).all()


def test_spend_q_near_one_is_refused(cdnow):
    snap, bg, gg = cdnow
    loose = GammaGamma()
    loose.params_ = {"p": 6.25, "q": 1.2, "v": 15.44}
    loose.covariance_ = gg.covariance_ * 4
    with pytest.raises(ValueError, match="q = 1.2 .* within sampling error of 1"):
        clv_interval(snap, bg, loose, "52W", draws=200)


# -- the quarterly report -----------------------------------------------------------------------
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_quarterly_report_states_the_total_with_its_interval(tmp_path, lang):
    import re

    import segkit
    from segkit.labels import money
    from segkit.reporting.context import ReportContext
    from segkit.reporting.quarterly import value_view

    segkit.generate_sample(tmp_path, seed=3, n_customers=800)  # another seed and size than data/sample
    ctx = ReportContext("2026Q3", tmp_path, lang=lang)
    html = value_view(ctx)._repr_html_()
    res = ctx.clv_total_interval
    assert res.total == pytest.approx(ctx.in_scope(ctx.clv_all)["clv"].sum(), rel=1e-12)
    assert res.total_lower < res.total < res.total_upper
    shown = [money(v, lang, ctx.currency) for v in (res.total, res.total_lower, res.total_upper)]
    if lang == "zh":
        expected = f"未来12个月预测 CLV 合计：{shown[0]}（90% 区间 {shown[1]}–{shown[2]}；"
    else:
        expected = f"12-month predicted CLV total: {shown[0]} (90% interval {shown[1]}–{shown[2]}; "
    assert expected in html, re.findall(r"<p>[^<]*CLV[^<]*</p>", html)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_report_line_without_an_interval(lang):
    """When clv_interval refuses (spend q within sampling error of 1), the total stands alone."""
    from types import SimpleNamespace

    from segkit.labels import money
    from segkit.reporting.context import words
    from segkit.reporting.quarterly import _clv_total_text

    ctx = SimpleNamespace(words=words(lang), clv_total_interval="spend_model: q = 1.01 ...",
                          clv_all=SimpleNamespace(attrs={"horizon": "52W"}),
                          money=lambda v: money(v, lang, "USD"))
    text = _clv_total_text(ctx, 1_234_567.0)
    if lang == "zh":
        assert text.startswith("未来52周预测 CLV 合计：123.5万美元（") and "区间从略" in text
    else:
        assert text == "52-week predicted CLV total: USD 1.2M (no interval: spend_model: q = 1.01 ...)."

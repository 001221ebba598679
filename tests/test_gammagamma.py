"""Gamma-Gamma: Fader & Hardie (2013) on CDNOW, hand-computed density, warnings, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import CDNOW, sig3
from segkit.models import GammaGamma
from segkit.models._optim import numeric_gradient
from segkit.models.gammagamma import _log_likelihood
from segkit.summary import btyd_summary

PUBLISHED = {"p": 6.25, "q": 3.74, "v": 15.44}


@pytest.fixture(scope="module")
def cdnow():
    return pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")


def test_reproduces_published_parameters(cdnow):
    with pytest.warns(UserWarning, match="1411 customers with frequency 0 are left out"):
        gg = GammaGamma().fit(cdnow["x"], cdnow["zbar"])
    assert gg.n_customers_ == 946
    assert gg.n_excluded_ == 1411
    for name, value in PUBLISHED.items():
        assert sig3(gg.params_[name]) == sig3(value), name
    assert abs(gg.correlation_) < 0.3  # CDNOW: spend and frequency nearly independent


def test_fit_from_transactions(cdnow):
    tx = pd.read_csv(CDNOW / "CDNOW_sample.txt", sep=r"\s+", header=None,
                     names=["master_id", "customer_id", "date", "cds", "amount"])
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    snap = btyd_summary(tx, "1997-09-30", unit="W", period="D")
    with pytest.warns(UserWarning):
        gg = GammaGamma().fit_snapshot(snap)
    for name, value in PUBLISHED.items():
        assert sig3(gg.params_[name]) == sig3(value), name


def test_log_likelihood_by_hand():
    p, q, v = 2.0, 3.5, 40.0
    x = np.array([1.0, 4.0])
    m = np.array([25.0, 60.0])

    def density(xi, mi):  # eq. (4) of the note, literally
        return (math.gamma(p * xi + q) / (math.gamma(p * xi) * math.gamma(q)) * v**q
                * mi ** (p * xi - 1) * xi ** (p * xi) / (v + xi * mi) ** (p * xi + q))

    want = sum(math.log(density(a, b)) for a, b in zip(x, m, strict=True))
    got, grad = _log_likelihood(np.log([p, q, v]), x, m, np.ones(2))
    assert got == pytest.approx(want, rel=1e-12)
    numeric = numeric_gradient(lambda th: _log_likelihood(np.log(th), x, m, np.ones(2))[0],
                               np.array([p, q, v]))
    np.testing.assert_allclose(grad, numeric, rtol=1e-6)


def test_expected_average_spend():
    gg = GammaGamma()
    gg.params_ = dict(PUBLISHED)
    p, q, v = PUBLISHED.values()
    population = p * v / (q - 1)
    assert gg.expected_average_spend(0, 0.0) == pytest.approx(population)
    x, m = 3, 50.0
    weight = p * x / (p * x + q - 1)  # the credibility weight of the customer's own mean
    assert gg.expected_average_spend(x, m) == pytest.approx(weight * m + (1 - weight) * population)
    s = gg.expected_average_spend(pd.Series([1, 10], index=["a", "b"]), pd.Series([80.0, 80.0]))
    assert list(s.index) == ["a", "b"]
    assert s["b"] > s["a"] > population  # more purchases -> closer to the own mean


def test_correlated_spend_warns():
    rng = np.random.default_rng(3)
    x = rng.integers(1, 20, 400).astype(float)
    m = 10 * x + rng.gamma(5, 2, 400)
    with pytest.warns(UserWarning, match="correlated"):
        GammaGamma().fit(x, m)


def test_errors():
    with pytest.raises(ValueError, match="not positive although frequency > 0 for 1 customer"):
        GammaGamma().fit([1, 2, 3], [10.0, -5.0, 7.0])
    with pytest.raises(ValueError, match="at least 2 customers"):
        GammaGamma().fit([1], [10.0])
    gg = GammaGamma()
    gg.params_ = {"p": 1.0, "q": 0.8, "v": 10.0}
    with pytest.raises(ValueError, match="q <= 1"):
        gg.expected_average_spend(1, 10.0)

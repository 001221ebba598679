"""The base every maximum-likelihood model shares (segkit.models._base, _docs).

One ``__init__`` (scikit-learn's get_params / set_params / clone read its signature, on every
model, ParetoNBD's own tol default included), one fit flow (``_fit_likelihood``: maximise,
standard errors and covariance_, fitted attributes, forgetting an earlier fit) and the numpydoc
blocks filled into every docstring.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import betaln
from sklearn.base import clone

from segkit.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
    ShiftedBetaGeo,
    cohort_renewals,
    compress_snapshot,
)
from segkit.models._base import MaximumLikelihoodModel

MODELS = [BetaGeo, ModifiedBetaGeo, ParetoNBD, BetaGeoBetaBinom, ShiftedBetaGeo, GammaGamma]
DEFAULT_TOL = {ParetoNBD: 1e-7}


@pytest.mark.parametrize("model", MODELS)
def test_get_params_reads_the_one_shared_signature(model):
    assert issubclass(model, MaximumLikelihoodModel)
    assert model().get_params() == {"penalizer_coef": 0.0, "n_starts": 3, "random_state": 0,
                                    "tol": DEFAULT_TOL.get(model, 1e-8), "max_iter": 1000}


@pytest.mark.parametrize("model", MODELS)
def test_clone_keeps_the_settings_and_drops_the_fit(model):
    settings = {"penalizer_coef": 0.01, "n_starts": 2, "random_state": 5, "tol": 1e-6, "max_iter": 50}
    fitted = model(**settings)
    fitted.params_ = {"x": 1.0}
    copy = clone(fitted)
    assert type(copy) is model and copy.get_params() == settings
    assert not hasattr(copy, "params_")
    assert copy.set_params(max_iter=7).max_iter == 7 and fitted.max_iter == 50
    assert model(tol=1e-5).tol == 1e-5  # stored unchanged, positionally too
    assert model(0.5, 4).get_params()["n_starts"] == 4


@pytest.mark.parametrize("model", MODELS)
def test_docstrings_carry_the_shared_blocks(model):
    doc = model.__doc__
    tol = "1e-7" if model is ParetoNBD else "1e-8"
    assert f"    tol : float, default {tol}\n        Gradient tolerance" in doc
    assert "    penalizer_coef : float, default 0.0\n" in doc
    assert "    covariance_ : DataFrame\n" in doc and "    n_iter_ : int\n" in doc
    assert ("unit_ : str or None" in doc) == (model not in (ShiftedBetaGeo, GammaGamma))
    assert ("random subsample of 20,000" in doc) == (model in (BetaGeo, ModifiedBetaGeo, ParetoNBD))
    # no marker is left, in the class or in any method (fit's sample_weight, Returns, ...)
    for name in ["__doc__", *dir(model)]:
        text = getattr(model, name).__doc__ if name != "__doc__" else doc
        assert "%(" not in (text or ""), name
    assert "    sample_weight : array-like or None, default None\n" in model.fit.__doc__


def test_fit_flow_on_the_published_cohort():
    """sBG on the "regular" cohort of Fader & Hardie (2007): published alpha 0.704, beta 1.182;
    log_likelihood_ equals the likelihood written out by hand at the fitted parameters."""
    history = cohort_renewals([1000, 631, 468, 382, 326, 289, 262, 241])
    sbg = ShiftedBetaGeo().fit_table(history, sample_weight="n_customers")
    alpha, beta = sbg.params_["alpha"], sbg.params_["beta"]
    assert (round(alpha, 3), round(beta, 3)) == (0.704, 1.182)
    churned = np.diff(-np.array([1000, 631, 468, 382, 326, 289, 262, 241]))  # 369, 163, ...
    t = np.arange(1, 8)
    by_hand = (churned @ (betaln(alpha + 1, beta + t - 1) - betaln(alpha, beta))
               + 241 * (betaln(alpha, beta + 7) - betaln(alpha, beta)))
    assert type(sbg.log_likelihood_) is float
    assert sbg.log_likelihood_ == pytest.approx(by_hand, rel=1e-12)
    assert (sbg.n_customers_, sbg.n_distinct_) == (1000, 8)  # 7 churn years + the survivors
    se = np.sqrt(np.diag(sbg.covariance_.to_numpy())) * np.array([alpha, beta])
    assert [sbg.standard_errors_[k] for k in ("alpha", "beta")] == pytest.approx(se, rel=1e-12)
    assert not hasattr(sbg, "limit_") and not hasattr(sbg, "unit_")


@pytest.fixture(scope="module")
def second_sample(tmp_path_factory):
    """A BTYD summary of another generated data set (seed 13, 400 customers; 377 bought)."""
    from segkit.io import load_dataset
    from segkit.sample import generate_sample
    from segkit.summary import btyd_summary

    folder = tmp_path_factory.mktemp("seed13")
    generate_sample(folder, seed=13, n_customers=400)
    return btyd_summary(load_dataset(folder).transactions, "2026-09-30", "W")


def test_fitted_attributes_on_a_second_data_set(second_sample):
    rows = compress_snapshot(second_sample)
    bg = BetaGeo().fit_snapshot(second_sample)
    assert (bg.n_customers_, bg.n_distinct_, len(rows)) == (377, 376, 376)
    assert bg.limit_ is None and bg.unit_ == "W"
    compressed = BetaGeo().fit_snapshot(rows, sample_weight="n_customers")
    assert compressed.params_ == bg.params_ and compressed.log_likelihood_ == bg.log_likelihood_
    theta = np.log(list(bg.params_.values()))
    se = np.sqrt(np.diag(bg.covariance_.to_numpy())) * np.exp(theta)
    assert list(bg.standard_errors_.values()) == pytest.approx(se, rel=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the 16 one-time buyers are left out
        gg = GammaGamma().fit_snapshot(second_sample)
    repeat = second_sample[second_sample["frequency"] > 0]
    assert gg.n_excluded_ == 16 and gg.n_customers_ == len(repeat) == 361
    assert gg.n_distinct_ == len(repeat[["frequency", "monetary_value"]].drop_duplicates())
    assert isinstance(gg.covariance_, pd.DataFrame) and list(gg.covariance_.index) == ["p", "q", "v"]
    # a new fit forgets the last one, also when it fails
    with pytest.raises(ValueError, match="monetary_value is not positive"):
        gg.fit([1, 2], [10.0, -1.0])
    assert not any(hasattr(gg, a) for a in ("params_", "log_likelihood_", "covariance_", "n_iter_"))

"""ChurnModel: any customer table in, calibrated churn probabilities and reasons out."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score

from segkit.insights.churn import explain_drivers
from segkit.models import ChurnModel
from segkit.models.churn import ChurnDataWarning, encode_churn_labels


def telecom_table(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """A telecom churn table shaped like the public IBM "Telco customer churn" export.

    Text columns are Yes/No or category names, SeniorCitizen is 0/1, TotalCharges is text
    with blanks for new customers (as in the original file). Churn follows a known logistic
    model: month-to-month contracts, short tenure, high charges and seniors churn more.
    Returns the table and the true log-odds.
    """
    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 73, n)
    contract = rng.choice(["Month-to-month", "One year", "Two year"], n, p=[0.55, 0.25, 0.20])
    monthly = np.round(rng.uniform(18.0, 119.0, n), 2)
    senior = rng.binomial(1, 0.16, n)
    partner = rng.choice(["Yes", "No"], n)
    total = np.round(monthly * tenure * rng.uniform(0.9, 1.1, n), 2)
    total_text = np.array([f"{v:.2f}" for v in total], dtype=object)
    total_text[tenure == 0] = " "  # new customers have no total yet: a blank, as in the real file
    logit = (
        -1.2 + 1.8 * (contract == "Month-to-month") - 1.0 * (contract == "Two year")
        - 0.035 * tenure + 0.025 * (monthly - 65.0) + 0.5 * senior - 0.3 * (partner == "Yes")
    )
    churn = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    ids = [f"{rng.integers(1000, 9999)}-{''.join(rng.choice(letters, 5))}{i}" for i in range(n)]
    table = pd.DataFrame({
        "customerID": ids,
        "gender": rng.choice(["Female", "Male"], n),
        "SeniorCitizen": senior,
        "Partner": partner,
        "tenure": tenure,
        "Contract": contract,
        "MonthlyCharges": monthly,
        "TotalCharges": pd.array(total_text, dtype="str"),
        "Churn": np.where(churn, "Yes", "No"),
    })
    return table, logit


@pytest.fixture(scope="module")
def telecom():
    table, logit = telecom_table(5000, seed=11)
    return table.iloc[:3000], table.iloc[3000:], logit[3000:]


def small_table(n: int = 400, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "orders": rng.poisson(3, n).astype(float),
        "contract": pd.array(rng.choice(["monthly", "yearly", "two-year"], n), dtype="str"),
        "complaint": rng.random(n) < 0.2,
    })
    logit = 1.0 - 0.8 * X["orders"] + 1.5 * (X["contract"] == "monthly") + 1.0 * X["complaint"]
    y = (rng.random(n) < 1 / (1 + np.exp(-logit))).astype(int)
    return X, y


# --- a third-party table, unchanged -----------------------------------------------------------


def test_telecom_table_fits_unchanged_and_beats_chance_on_held_out_data(telecom):
    train, test, true_logit = telecom
    assert pd.api.types.is_string_dtype(train["TotalCharges"]) and (train["TotalCharges"] == " ").sum() > 0
    X, y = train.drop(columns="Churn"), train["Churn"]
    with pytest.warns(ChurnDataWarning) as caught:
        model = ChurnModel().fit(X, y)
    messages = " | ".join(str(w.message) for w in caught)
    assert "TotalCharges" in messages and "blank value" in messages  # coerced, and said so
    assert "customerID" in messages  # an identifier, not a feature
    assert model.numeric_text_columns_ == ["TotalCharges"]
    assert "customerID" in model.dropped_columns_
    assert set(model.categorical_columns_) == {"gender", "Partner", "Contract"}
    assert model.classes_.tolist() == ["No", "Yes"]

    churn_probability = model.predict_proba(test.drop(columns="Churn"))[:, 1]
    y_test = (test["Churn"] == "Yes").to_numpy()
    auc = roc_auc_score(y_test, churn_probability)
    best_possible = roc_auc_score(y_test, true_logit)  # the AUC of the true model
    assert best_possible == pytest.approx(0.845, abs=0.001)
    assert auc > 0.5 + 0.25  # clearly better than chance ...
    assert auc > best_possible - 0.01  # ... and close to what the data allow
    assert auc == pytest.approx(0.842, abs=0.002)
    # predictions come back in the labels of y
    assert set(model.predict(test.drop(columns="Churn"))) == {"No", "Yes"}


def test_telecom_drivers_have_the_right_direction(telecom):
    train, _, _ = telecom
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChurnDataWarning)
        model = ChurnModel().fit(train.drop(columns="Churn"), train["Churn"])
    customer = pd.DataFrame([{
        "customerID": "0000-NEW", "gender": "Male", "SeniorCitizen": 1, "Partner": "No", "tenure": 1,
        "Contract": "Month-to-month", "MonthlyCharges": 110.0, "TotalCharges": "110.00",
    }])
    reasons = explain_drivers(model, customer, top=3, lang="en")
    # true log-odds against the typical customer (tenure 35.9, charges 68.1, with a partner):
    # tenure -0.035 x (1 - 35.9) = +1.22, charges 0.025 x (110 - 68.1) = +1.05, no partner +0.3;
    # the contract is the typical one (month-to-month), so it is no reason.
    assert reasons["feature"].tolist() == ["tenure", "MonthlyCharges", "Partner"]
    assert (reasons["direction"] == "raises").all()
    np.testing.assert_allclose(reasons["odds_ratio"], np.exp([1.22, 1.05, 0.3]), rtol=0.15)
    assert reasons["text"].iloc[0] == "tenure: 1 (typical: 35.9) raises churn risk (odds x3.6)"


# --- labels -------------------------------------------------------------------------------------


@pytest.mark.parametrize("positive, negative", [
    (1, 0), (True, False), ("Yes", "No"), ("yes", "NO"), ("是", "否"), ("churned", "active"), ("流失", "未流失"),
])
def test_label_spellings_give_the_same_model(positive, negative):
    X, y = small_table()
    reference = ChurnModel().fit(X, y).predict_proba(X)[:, 1]
    labels = np.where(y == 1, np.array(positive, dtype=object), np.array(negative, dtype=object))
    model = ChurnModel().fit(X, labels)
    assert model.classes_.tolist() == [negative, positive]
    np.testing.assert_allclose(model.predict_proba(X)[:, 1], reference)
    assert set(model.predict(X)) <= {negative, positive}


def test_labels_that_cannot_be_read_are_errors_naming_them():
    X, _ = small_table(n=6)
    with pytest.raises(ValueError, match="cannot tell which value of y means churn: 'gone', 'here'"):
        ChurnModel().fit(X, ["gone", "here"] * 3)
    with pytest.raises(ValueError, match="cannot tell"):
        ChurnModel().fit(X, ["yes", "true"] * 3)  # both mean churn
    with pytest.raises(ValueError, match="3 different values"):
        ChurnModel().fit(X, [0, 1, 2] * 2)
    with pytest.raises(ValueError, match="must be 0 \\(no churn\\) or 1"):
        ChurnModel().fit(X, [0, 2] * 3)
    with pytest.raises(ValueError, match="1 missing label"):
        ChurnModel().fit(X, ["Yes", "No", None, "No", "Yes", "No"])
    with pytest.raises(ValueError, match="only one class"):
        ChurnModel().fit(X, [0] * 6)
    codes, classes = encode_churn_labels(["gone", "here", "gone"], pos_label="gone")
    assert codes.tolist() == [1, 0, 1] and classes.tolist() == ["here", "gone"]
    model = ChurnModel(pos_label="gone", calibrate=False).fit(X, ["gone", "here"] * 3)
    assert model.classes_.tolist() == ["here", "gone"]


# --- column types ----------------------------------------------------------------------------------


def test_mixed_pandas_dtypes_fit_directly():
    rng = np.random.default_rng(3)
    n = 300
    X = pd.DataFrame({
        "revenue": rng.gamma(2.0, 50_000.0, n),
        "employees": pd.array(np.where(rng.random(n) < 0.1, None, rng.integers(5, 500, n)), dtype="Int64"),
        "industry": pd.Categorical(rng.choice(["retail", "manufacturing", "it_services"], n)),
        "region": pd.array(np.where(rng.random(n) < 0.05, None, rng.choice(["华东", "华南", "华北"], n)), dtype="str"),
        "renewal_intent": pd.array(np.where(rng.random(n) < 0.2, None, rng.random(n) < 0.6), dtype="boolean"),
        "signed": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "age": pd.to_timedelta(rng.integers(0, 700, n), unit="D"),
        "all_missing": np.full(n, np.nan),
    })
    y = rng.random(n) < 0.3
    with pytest.warns(ChurnDataWarning, match="signed: a date column"):
        model = ChurnModel().fit(X, y)
    assert model.numeric_columns_ == ["revenue", "employees", "age"]
    assert model.categorical_columns_ == ["industry", "region", "renewal_intent"]
    assert set(model.dropped_columns_) == {"signed", "all_missing"}
    proba = model.predict_proba(X)
    assert proba.shape == (n, 2) and np.isfinite(proba).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)


def test_numbers_written_as_text_are_read_as_numbers():
    X, y = small_table()
    as_text = X.assign(orders=pd.array([f"{v:,.1f}" if i % 7 else " " for i, v in enumerate(X["orders"] * 1000)], dtype="str"))
    numeric = X.assign(orders=np.where(np.arange(len(X)) % 7 == 0, np.nan, X["orders"] * 1000))
    with pytest.warns(ChurnDataWarning, match=r"orders \(58 blank values treated as missing\)"):
        from_text = ChurnModel().fit(as_text, y)
    from_numbers = ChurnModel().fit(numeric, y)
    assert as_text["orders"].iloc[2] == "7,000.0"
    np.testing.assert_allclose(from_text.predict_proba(as_text), from_numbers.predict_proba(numeric))
    # "1,5" is not a thousands separator: the column stays text
    odd = X.assign(orders=pd.array(["1,5", "2,5"] * (len(X) // 2), dtype="str"))
    assert "orders" in ChurnModel(calibrate=False).fit(odd, y).categorical_columns_
    # unreadable text at prediction time is missing, with a warning naming the column
    broken = as_text.copy()
    broken.loc[0, "orders"] = "n/a"
    with pytest.warns(ChurnDataWarning, match=r"orders \(e.g. 'n/a'\)"):
        from_text.predict_proba(broken.head(3))


def test_unseen_categories_and_missing_columns():
    X, y = small_table()
    model = ChurnModel().fit(X, y)
    new = X.head(2).assign(contract=["ten-year", None])
    assert np.isfinite(model.predict_proba(new)).all()
    with pytest.raises(ValueError, match="lacks 1 column.*contract"):
        model.predict_proba(X.drop(columns="contract"))
    with pytest.raises(NotFittedError):
        ChurnModel().predict_proba(X)


# --- scikit-learn conventions ------------------------------------------------------------------


def test_init_stores_arguments_and_clone_works():
    model = ChurnModel(model="tree", calibrate=False, random_state=3, max_depth=4)
    assert model.get_params()["max_depth"] == 4 and model.get_params()["model"] == "tree"
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    X, y = small_table()
    fitted = clone(ChurnModel()).fit(X, y)
    assert isinstance(fitted.estimator_, CalibratedClassifierCV)
    assert not hasattr(clone(fitted), "estimator_")
    with pytest.raises(ValueError, match="unknown model 'forest'"):
        ChurnModel(model="forest").fit(X, y)


def test_cross_val_score_and_grid_search():
    table, _ = telecom_table(1200, seed=5)
    X, y = table.drop(columns="Churn"), table["Churn"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ChurnDataWarning)
        scores = cross_val_score(ChurnModel(), X, y, cv=3, scoring="roc_auc")
        assert scores.shape == (3,) and scores.min() > 0.7
        search = GridSearchCV(
            ChurnModel(calibrate=False), {"model": ["logistic", "tree"], "C": [0.1, 1.0]}, cv=3, scoring="roc_auc"
        ).fit(X, y)
    assert search.best_params_["model"] == "logistic"
    assert search.best_score_ > 0.75
    assert search.predict_proba(X).shape == (1200, 2)


@pytest.mark.parametrize("kind", ["logistic", "tree", "gbm"])
def test_every_model_ranks_churners_first(kind):
    X, y = small_table(n=600)
    model = ChurnModel(model=kind).fit(X.iloc[:400], y[:400])
    auc = roc_auc_score(y[400:], model.predict_proba(X.iloc[400:])[:, 1])
    assert auc > 0.75


def test_n_threads_none_gives_the_same_model():
    X, y = small_table()
    np.testing.assert_allclose(
        ChurnModel(n_threads=None).fit(X, y).predict_proba(X), ChurnModel().fit(X, y).predict_proba(X)
    )


# --- explanations --------------------------------------------------------------------------------


def test_logistic_contributions_are_coefficient_times_standardised_value():
    X, y = small_table()
    model = ChurnModel(calibrate=False).fit(X, y)
    contributions = model.contributions(X)
    coef = model.pipeline_.named_steps["classifier"].coef_[0]
    orders = X["orders"].to_numpy()
    expected = coef[0] * (orders - orders.mean()) / orders.std()
    np.testing.assert_allclose(contributions["orders"], expected)
    # all contributions add up to the log-odds minus those of the typical customer
    typical = pd.DataFrame({"orders": [orders.mean()], "contract": [X["contract"].mode()[0]],
                            "complaint": [X["complaint"].mode()[0]]})
    log_odds = model.pipeline_.decision_function(model._prepare(X))
    reference = model.pipeline_.decision_function(model._prepare(typical))[0]
    np.testing.assert_allclose(contributions.sum(axis=1), log_odds - reference)


@pytest.mark.parametrize("kind", ["tree", "gbm"])
def test_tree_contributions_are_occlusion_against_the_typical_value(kind):
    X, y = small_table()
    model = ChurnModel(model=kind).fit(X, y)
    contributions = model.contributions(X.head(20))

    def log_odds(frame):
        p = np.clip(model.pipeline_.predict_proba(model._prepare(frame))[:, 1], 1e-4, 1 - 1e-4)
        return np.log(p / (1 - p))

    replaced = X.head(20).assign(orders=float(X["orders"].median()))
    np.testing.assert_allclose(contributions["orders"], log_odds(X.head(20)) - log_odds(replaced))


def test_explain_words_direction_and_size():
    X, y = small_table()
    model = ChurnModel().fit(X, y)
    customer = pd.DataFrame({"orders": [0.0], "contract": ["monthly"], "complaint": [True]})
    en = explain_drivers(model, customer, top=3, lang="en")
    assert en["rank"].tolist() == [1, 2, 3]
    assert (en["direction"] == "raises").all()
    assert en["contribution"].is_monotonic_decreasing
    np.testing.assert_allclose(en["odds_ratio"], np.exp(en["contribution"]))
    row = en.loc[en["feature"] == "complaint"].iloc[0]
    assert row["text"] == f"complaint: yes (typical: no) raises churn risk (odds x{row['odds_ratio']:.2g})"
    zh = explain_drivers(model, customer, top=1, lang="zh", labels={"orders": "订单数"})
    assert zh["text"].iloc[0].startswith("订单数：0（通常为3") and "提高流失风险（几率×" in zh["text"].iloc[0]
    loyal = pd.DataFrame({"orders": [9.0], "contract": ["two-year"], "complaint": [False]})
    assert (explain_drivers(model, loyal, top=2, direction="lowers", lang="en")["direction"] == "lowers").all()
    assert explain_drivers(model, loyal, top=2, direction="raises", lang="en").empty
    with pytest.raises(ValueError, match="unknown language 'fr'"):
        explain_drivers(model, loyal, lang="fr")


def test_scikit_learn_estimator_checks():
    from sklearn.utils.estimator_checks import check_estimator

    by_design = {
        "check_estimators_dtypes": "numeric labels other than 0/1 need pos_label",
        "check_classifier_data_not_an_array": "numeric labels other than 0/1 need pos_label",
        "check_classifiers_classes": "text labels other than the known churn spellings need pos_label",
        "check_complex_data": "complex labels are not churn labels",
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        check_estimator(ChurnModel(calibrate=False), expected_failed_checks=by_design)


def test_explanations_give_one_reason_per_fact_in_the_readers_words():
    from segkit.insights.churn import churn_features, churn_training_table
    from segkit.features import snapshot
    from segkit.io import load_dataset
    from segkit.models.churn import ChurnModel

    ds = load_dataset("data/sample")
    table = churn_training_table(ds, ["2025-12-31", "2026-03-31"], progress=False)
    X, y = table.X, table.y
    model = ChurnModel(model="logistic", calibrate=False).fit(X, y)
    features = churn_features(snapshot(ds, "2026-06-30"))
    drivers = explain_drivers(model, features, top=3, lang="zh")
    assert not drivers["feature"].isin(["signal_key_contact_change", "signal_complaints", "signal_low_satisfaction"]).any()
    need = drivers.loc[drivers["feature"] == "need_type", "text"]
    assert not need.str.contains("solution_customisation|product_purchase|technical_service|strategic").any()

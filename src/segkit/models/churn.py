"""Churn classifier for any customer-level table: :class:`ChurnModel`.

A scikit-learn estimator that takes a customer table as it comes -- numbers, numbers
exported as text (``" "``, ``"1,234.5"``), yes/no text, categories, booleans, pandas' ``str``
dtype -- and returns calibrated churn probabilities and, per customer, the drivers of the
prediction as numbers (:meth:`ChurnModel.drivers`; in words:
:func:`segkit.insights.churn.explain_drivers`).

Preparation, done the same way in ``fit`` and ``predict``:

* numeric columns: median imputation, standardisation;
* text columns whose every non-blank value reads as a number are numbers (a
  :class:`ChurnDataWarning` names them); blanks become missing;
* text, categorical and boolean columns: most-frequent imputation, one-hot encoding with rare
  categories pooled (``max_categories``, ``min_frequency``) and unseen ones ignored;
* datetime columns are dropped with a warning (convert them to ages, e.g. days since, first:
  the model cannot know which date to count from), and so are text columns in which every
  value is different (identifiers such as ``customerID``) and columns that are entirely
  missing. :attr:`ChurnModel.dropped_columns_` lists what was dropped and why.

Drivers (:meth:`ChurnModel.drivers`) are contributions to the log-odds of churn, one
per input column:

* ``model="logistic"``: coefficient x standardised value for numeric columns (0 at the
  training mean); for a text column, the coefficient of the customer's category minus that of
  the most frequent category. Summed per input column, these add up to the linear predictor
  minus that of a "typical customer" (mean numbers, most frequent categories).
* ``"tree"`` and ``"gbm"``: the change in log-odds when the column is replaced by its typical
  value (training median, or most frequent category), the other columns as they are (an
  occlusion attribution). It needs one extra prediction per column and works for any model;
  path-based attributions (Saabas, TreeSHAP) would need access to the tree internals of each
  model and add little for "top three reasons" text.

Both use the uncalibrated model fitted on all the data; calibration (Platt's sigmoid by
default) is monotone, so it changes sizes of probabilities but not the direction of a driver.

Why this module is long: it holds one estimator and the reading of its input
that only it uses (text read as numbers, label spellings, identifier and date columns): kept in
one module, as for every segkit model, so the rules ``fit`` and ``predict`` apply cannot drift
apart. Putting drivers into words lives at the edge, in :mod:`segkit.insights.churn.explain`.
"""

from __future__ import annotations

import contextlib
import re
import warnings
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.exceptions import DataConversionWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits

from segkit.errors import ChurnDataWarning  # defined with every segkit error; importable here as before

__all__ = ["ChurnModel", "ChurnDataWarning", "encode_churn_labels", "MODELS"]

MODELS = ("logistic", "tree", "gbm")

#: Spellings of the churn / no-churn labels that ``fit`` understands (compared after
#: stripping and lower-casing). Any other pair needs ``pos_label``.
POSITIVE_LABELS = frozenset({
    "1", "yes", "y", "true", "t", "churn", "churned", "lost", "left", "exited", "attrited",
    "inactive", "cancelled", "canceled", "not renewed", "是", "流失", "已流失", "流失客户", "不续约",
})
NEGATIVE_LABELS = frozenset({
    "0", "no", "n", "false", "f", "active", "retained", "stayed", "current", "existing",
    "renewed", "not churned", "否", "未流失", "留存", "活跃", "合作中", "续约",
})

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d*)?$")
_CURRENCY = re.compile(r"^[¥￥$]|^(CNY|RMB)\s*", re.IGNORECASE)
_IDENTIFIER_MIN_ROWS = 20
_LOGIT_EPS = 1e-4


# --------------------------------------------------------------------------------------------
# input preparation


def _as_frame(X: Any) -> pd.DataFrame:
    if hasattr(X, "toarray") or hasattr(X, "sparse"):
        raise TypeError("sparse input is not supported by ChurnModel; pass a DataFrame or a dense array")
    if isinstance(X, pd.DataFrame):
        frame = X
    elif isinstance(X, pd.Series):
        frame = X.to_frame()
    else:
        array = np.asarray(X, dtype=object) if not hasattr(X, "dtype") else np.asarray(X)
        if array.ndim != 2:
            raise ValueError(
                f"X must be a two-dimensional table (customers x columns), got shape {array.shape}. "
                "Reshape your data, e.g. X.reshape(-1, 1) for a single column"
            )
        frame = pd.DataFrame(array, columns=[f"x{i}" for i in range(array.shape[1])])
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    return frame


def _read_numbers(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text -> float; returns (values, bad) where ``bad`` marks non-blank text that is no number.

    Blanks (``""``, ``" "``) are missing. Thousands separators are removed only where they
    are thousands separators (``1,234.5``), so ``1,5`` is not read as 15.
    """
    codes, distinct = pd.factorize(column)
    if len(distinct) < len(column) // 2:   # read each distinct text once (categories repeat a lot)
        values, bad = _read_numbers(pd.Series(np.asarray(distinct, dtype=object), dtype=object))
        known = codes >= 0
        out = np.full(len(column), np.nan)
        out[known] = values.to_numpy()[codes[known]]
        flagged = np.zeros(len(column), dtype=bool)
        flagged[known] = bad.to_numpy()[codes[known]]
        return pd.Series(out, index=column.index), pd.Series(flagged, index=column.index)
    text = column.astype("str").where(column.notna(), "").str.strip()
    text = text.str.replace(_CURRENCY, "", regex=True).str.strip()
    text = text.where(~text.str.fullmatch(_THOUSANDS), text.str.replace(",", "", regex=False))
    blank = text == ""
    values = pd.to_numeric(text.where(~blank), errors="coerce").astype("float64")
    return values, values.isna() & ~blank


def _is_numeric(column: pd.Series) -> bool:
    dtype = column.dtype
    return (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)) or pd.api.types.is_timedelta64_dtype(dtype)


def _to_float(column: pd.Series) -> tuple[pd.Series, pd.Series]:
    dtype = column.dtype
    if pd.api.types.is_timedelta64_dtype(dtype):
        return (column.dt.total_seconds() / 86400.0).astype("float64"), pd.Series(False, index=column.index)
    if _is_numeric(column) or pd.api.types.is_bool_dtype(dtype):
        return column.astype("float64"), pd.Series(False, index=column.index)
    return _read_numbers(column)


def _to_text(column: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(column.dtype) and not pd.api.types.is_object_dtype(column.dtype):
        # text already (pandas' str dtype): its values are str, its missing values NaN
        return pd.Series(column.to_numpy(dtype=object, na_value=np.nan), index=column.index, dtype=object)
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_integer_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        # one str() per distinct value: here equal values have equal text (not so for 0.0 and -0.0)
        codes, uniques = pd.factorize(column, use_na_sentinel=True)
        texts = np.array([np.nan, *(str(u) for u in uniques)], dtype=object)
        return pd.Series(texts[codes + 1], index=column.index, dtype=object)
    values = [np.nan if pd.isna(v) else str(v) for v in column.to_numpy(dtype=object)]
    return pd.Series(np.array(values, dtype=object), index=column.index, dtype=object)


def _column_kind(column: pd.Series) -> tuple[str, str]:
    """(kind, note) of one training column; kind in numeric / numeric_text / categorical / drop."""
    dtype = column.dtype
    present = column.notna()
    if not present.any():
        return "drop", "every value is missing"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "drop", "a date column; convert it to an age (e.g. days since) to use it"
    if _is_numeric(column):
        return "numeric", ""
    if pd.api.types.is_bool_dtype(dtype) or isinstance(dtype, pd.CategoricalDtype):
        return "categorical", ""
    values, bad = _read_numbers(column)
    if values.notna().any() and not bad.any():
        blanks = int((present & values.isna()).sum())
        note = f"{blanks} blank value{'s' if blanks != 1 else ''} treated as missing" if blanks else ""
        return "numeric_text", note
    n_present = int(present.sum())
    if n_present >= _IDENTIFIER_MIN_ROWS and column[present].nunique() == n_present:
        return "drop", "every value is different (an identifier)"
    return "categorical", ""


# --------------------------------------------------------------------------------------------
# labels


def _too_many(values: list) -> str:
    shown = ", ".join(map(repr, values[:10]))
    return f"y has {len(values)} different values ({shown}); a churn label has two. Only binary classification is supported."


def encode_churn_labels(y: Any, pos_label: Any = None) -> tuple[np.ndarray, np.ndarray]:
    """Churn labels -> 0/1, and the two original labels ``[no churn, churn]``.

    Understood without help: 0/1, booleans, and the spellings in :data:`POSITIVE_LABELS` /
    :data:`NEGATIVE_LABELS` ("Yes"/"No", "是"/"否", "churned"/"active", ...), in any case.
    Any other pair of values needs ``pos_label``.

    Examples
    --------
    >>> encode_churn_labels(["Yes", "No", "yes"])
    (array([1, 0, 1]), array(['No', 'Yes'], dtype=object))
    >>> encode_churn_labels(["是", "否"])[0]
    array([1, 0])
    >>> encode_churn_labels(["gone", "here"])
    Traceback (most recent call last):
    ...
    ValueError: cannot tell which value of y means churn: 'gone', 'here'. Pass pos_label= (the churn value), or use 0/1, True/False, Yes/No, 是/否 or churned/active
    >>> encode_churn_labels(["gone", "here"], pos_label="gone")[1]
    array(['here', 'gone'], dtype=object)
    """
    if isinstance(y, pd.DataFrame):
        if y.shape[1] != 1:
            raise ValueError(f"y must be one column of churn labels, got {y.shape[1]} columns")
        y = y.iloc[:, 0]
    if not isinstance(y, pd.Series):
        array = np.asarray(y, dtype=object)
        if array.ndim == 2 and array.shape[1] == 1:
            warnings.warn("A column-vector y was passed when a 1d array was expected; it was flattened", DataConversionWarning, stacklevel=3)
            array = array.ravel()
        if array.ndim != 1:
            raise ValueError(f"y must be one column of churn labels, got shape {array.shape}")
        y = pd.Series(array)
    series = y
    missing = series.isna().to_numpy()
    if missing.any():
        where = ", ".join(str(i) for i in np.flatnonzero(missing)[:5])
        raise ValueError(f"y has {int(missing.sum())} missing label(s) (positions {where}); drop those customers or label them")
    values = list(pd.unique(series))
    numbers = [float(v) for v in values if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))]
    if any(not np.isfinite(v) for v in numbers):
        raise ValueError("y contains infinity; churn labels are 0/1, yes/no or two label values")
    if pos_label is None and len(numbers) == len(values) and any(v != round(v) for v in numbers):
        raise ValueError("Unknown label type: continuous values in y; churn labels are 0 (no churn) or 1 (churn)")
    if pos_label is not None:
        if pos_label not in values:
            raise ValueError(f"pos_label {pos_label!r} is not a value of y; y has {', '.join(map(repr, values[:10]))}")
        if len(values) > 2:
            raise ValueError(_too_many(values))
        negative = [v for v in values if v != pos_label]
        classes = np.array([negative[0] if negative else None, pos_label], dtype=object)
        return (series == pos_label).to_numpy().astype(int), classes
    text = all(isinstance(v, str) for v in values)
    if len(values) > 2 and not text:
        raise ValueError(_too_many(values))
    if all(isinstance(v, (bool, np.bool_)) for v in values):
        return series.astype(bool).to_numpy().astype(int), np.array([False, True])
    if all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_)) for v in values):
        if not set(float(v) for v in values) <= {0.0, 1.0}:
            raise ValueError(f"numeric y must be 0 (no churn) or 1 (churn); got {', '.join(map(repr, sorted(values)))}")
        return series.astype(float).to_numpy().astype(int), np.array([0, 1])
    meaning = {}
    for v in values:
        folded = str(v).strip().lower()
        meaning[v] = 1 if folded in POSITIVE_LABELS else 0 if folded in NEGATIVE_LABELS else None
    if any(m is None for m in meaning.values()) or len(set(meaning.values())) < 2 or not text:
        raise ValueError(
            f"cannot tell which value of y means churn: {', '.join(map(repr, sorted(map(str, values))))}. "
            "Pass pos_label= (the churn value), or use 0/1, True/False, Yes/No, 是/否 or churned/active"
        )
    encoded = series.map(meaning).to_numpy().astype(int)
    negative = next((v for v, m in meaning.items() if m == 0), None)
    positive = next((v for v, m in meaning.items() if m == 1), None)
    return encoded, np.array([negative, positive], dtype=object)


# --------------------------------------------------------------------------------------------
# the estimator


class ChurnModel(ClassifierMixin, BaseEstimator):
    """Churn classifier for a customer table of mixed column types.

    Parameters
    ----------
    model : {"logistic", "tree", "gbm"}, default "logistic"
        Logistic regression, a decision tree, or histogram gradient boosting.
    calibrate : bool, default True
        Calibrate probabilities with :class:`~sklearn.calibration.CalibratedClassifierCV`
        (cross-validated predictions of the model; the model itself is fitted on all rows).
    random_state : int or None, default 0
        Seed for the calibration folds, the tree and the boosting.
    C : float, default 1.0
        Inverse regularisation strength of the logistic regression.
    max_depth : int or None, default None
        Depth of the tree (None means 5) or of the boosted trees (None means 3).
    min_samples_leaf : int, default 20
        Smallest leaf of the tree / boosted trees.
    class_weight : None, "balanced" or dict, default None
        Passed to the classifier.
    calibration_method : {"sigmoid", "isotonic"}, default "sigmoid"
    cv : int, default 3
        Folds for calibration.
    max_categories : int, default 20
        Most one-hot columns per text column (the rarest categories are pooled).
    min_frequency : int or float, default 5
        Categories seen fewer times than this are pooled as "infrequent".
    pos_label : optional
        The value of ``y`` that means churn, when ``y`` is not one of the spellings
        :func:`encode_churn_labels` understands.
    n_threads : int or None, default 1
        BLAS / OpenMP threads while fitting and predicting. One thread is fastest for customer
        tables (thousands of rows, tens of columns) and does not slow to a crawl when other
        processes share the cores; None leaves the libraries' own setting (for very large
        tables on a machine of your own).

    Attributes
    ----------
    classes_ : ndarray of shape (2,)
        ``[no-churn label, churn label]`` as given in ``y``; ``predict_proba(X)[:, 1]`` is the
        churn probability.
    feature_names_in_ : ndarray of str
        Columns of ``X`` seen in ``fit``.
    n_features_in_ : int
    numeric_columns_, categorical_columns_ : list of str
        The columns used, by how they were encoded (numeric includes text read as numbers).
    numeric_text_columns_ : list of str
        Text columns read as numbers.
    dropped_columns_ : dict
        Columns not used, with the reason.
    estimator_ : estimator
        The fitted (calibrated) classifier; ``pipeline_`` is the uncalibrated pipeline fitted
        on all rows (used by :meth:`drivers`).

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"orders": rng.poisson(3, 300),
    ...                   "contract": rng.choice(["monthly", "yearly"], 300)})
    >>> risk = 1.5 - X["orders"] + 2 * (X["contract"] == "monthly")
    >>> y = np.where(rng.random(300) < 1 / (1 + np.exp(-risk)), "Yes", "No")
    >>> model = ChurnModel().fit(X, y)
    >>> model.classes_.tolist()
    ['No', 'Yes']
    >>> p = model.predict_proba(pd.DataFrame({"orders": [0, 6], "contract": ["monthly", "yearly"]}))[:, 1]
    >>> bool(p[0] > 0.8 > 0.2 > p[1])
    True
    >>> model.drivers(X.head(1), top=2)[["feature", "value", "typical", "odds_ratio"]].round(2)  # doctest: +NORMALIZE_WHITESPACE
        feature    value   typical  odds_ratio
    0  contract  monthly    yearly        6.56
    0    orders        2  3.183333        3.40
    """

    def __init__(
        self,
        model: str = "logistic",
        calibrate: bool = True,
        random_state: int | None = 0,
        *,
        C: float = 1.0,
        max_depth: int | None = None,
        min_samples_leaf: int = 20,
        class_weight: str | None = None,
        calibration_method: str = "sigmoid",
        cv: int = 3,
        max_categories: int = 20,
        min_frequency: int | float = 5,
        pos_label: Any = None,
        n_threads: int | None = 1,
    ):
        self.model = model
        self.calibrate = calibrate
        self.random_state = random_state
        self.C = C
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.class_weight = class_weight
        self.calibration_method = calibration_method
        self.cv = cv
        self.max_categories = max_categories
        self.min_frequency = min_frequency
        self.pos_label = pos_label
        self.n_threads = n_threads

    def _threads(self):
        return contextlib.nullcontext() if self.n_threads is None else threadpool_limits(limits=self.n_threads)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.string = True
        tags.input_tags.categorical = True
        tags.classifier_tags.multi_class = False  # churn or not
        return tags

    # -- building blocks -----------------------------------------------------------------------
    def _classifier(self):
        if self.model == "logistic":
            return LogisticRegression(C=self.C, class_weight=self.class_weight, max_iter=2000)
        if self.model == "tree":
            return DecisionTreeClassifier(
                max_depth=5 if self.max_depth is None else self.max_depth,
                min_samples_leaf=self.min_samples_leaf, class_weight=self.class_weight,
                random_state=self.random_state,
            )
        if self.model == "gbm":
            return HistGradientBoostingClassifier(
                max_depth=3 if self.max_depth is None else self.max_depth,
                min_samples_leaf=self.min_samples_leaf, learning_rate=0.05, max_iter=200,
                l2_regularization=1.0, early_stopping=False, class_weight=self.class_weight,
                random_state=self.random_state,
            )
        raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(map(repr, MODELS))}")

    def _columns(self) -> ColumnTransformer:
        parts = []
        if self.numeric_columns_:
            numeric = Pipeline([
                ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
                ("scale", StandardScaler()),
            ])
            parts.append(("numeric", numeric, list(self.numeric_columns_)))
        if self.categorical_columns_:
            categorical = Pipeline([
                ("impute", SimpleImputer(strategy="most_frequent", keep_empty_features=True)),
                ("onehot", OneHotEncoder(
                    handle_unknown="infrequent_if_exist", sparse_output=False,
                    max_categories=self.max_categories, min_frequency=self.min_frequency,
                )),
            ])
            parts.append(("categorical", categorical, list(self.categorical_columns_)))
        return ColumnTransformer(parts, remainder="drop")

    def _prepare(self, X: Any, *, fitting: bool = False) -> pd.DataFrame:
        frame = _as_frame(X)
        if not fitting:
            if not isinstance(X, pd.DataFrame) and frame.shape[1] != self.n_features_in_:
                raise ValueError(f"X has {frame.shape[1]} features, but ChurnModel is expecting {self.n_features_in_} features as input")
            missing = [c for c in self.feature_names_in_ if c not in frame.columns]
            if missing:
                raise ValueError(
                    f"X lacks {len(missing)} column(s) the model was fitted with: {', '.join(missing[:10])}"
                )
        out: dict[str, pd.Series] = {}
        unreadable: dict[str, list[str]] = {}
        for col in self.numeric_columns_:
            values, bad = _to_float(frame[col])
            if bad.any():
                unreadable[col] = frame[col][bad].astype("str").unique()[:3].tolist()
            out[col] = values
        for col in self.categorical_columns_:
            # text categories become their position in the sorted categories seen in fitting
            # (unseen ones one past the end, missing ones NaN): the one-hot encoder then counts
            # numbers, not Python strings, and its columns come out in the same order
            known = self.category_values_[col]
            text = _to_text(frame[col])
            codes = pd.Categorical(text, categories=known).codes.astype("float64")
            codes[(codes < 0) & text.notna().to_numpy()] = len(known)
            codes[text.isna().to_numpy()] = np.nan
            out[col] = codes
        if unreadable and not fitting:
            listed = "; ".join(f"{c} (e.g. {', '.join(map(repr, v))})" for c, v in unreadable.items())
            warnings.warn(f"values that are not numbers were treated as missing: {listed}", ChurnDataWarning, stacklevel=3)
        return pd.DataFrame(out, index=frame.index)

    # -- fitting --------------------------------------------------------------------------------
    def fit(self, X: Any, y: Any) -> ChurnModel:
        """Fit on a customer table ``X`` and churn labels ``y``.

        Parameters
        ----------
        X : DataFrame (or 2-D array)
            One row per customer, any mix of numeric, text, categorical and boolean columns.
        y : array-like
            0/1, booleans, or churn / no-churn text such as "Yes"/"No" or "是"/"否".

        Returns
        -------
        self
        """
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            delattr(self, attr)
        if self.model not in MODELS:
            raise ValueError(f"unknown model {self.model!r}; choose one of {', '.join(map(repr, MODELS))}")
        frame = _as_frame(X)
        if y is None:
            raise ValueError("ChurnModel requires y to be passed, but the target y is None")
        if frame.shape[1] == 0:
            raise ValueError(f"0 feature(s) (shape={frame.shape}) while a minimum of 1 is required.")
        y01, classes = encode_churn_labels(y, self.pos_label)
        if len(y01) != len(frame):
            raise ValueError(f"X has {len(frame)} rows but y has {len(y01)} labels")
        counts = np.bincount(y01, minlength=2)
        if counts.min() == 0:
            raise ValueError(f"y has only one class ({classes[int(counts.argmax())]!r}); churn needs churned and retained customers")
        kinds: dict[str, tuple[str, str]] = {str(c): _column_kind(frame[c]) for c in frame.columns}
        self.numeric_columns_ = [c for c, (k, _) in kinds.items() if k in ("numeric", "numeric_text")]
        self.numeric_text_columns_ = [c for c, (k, _) in kinds.items() if k == "numeric_text"]
        self.categorical_columns_ = [c for c, (k, _) in kinds.items() if k == "categorical"]
        self.dropped_columns_ = {c: note for c, (k, note) in kinds.items() if k == "drop"}
        if self.numeric_text_columns_:
            listed = ", ".join(
                f"{c} ({kinds[c][1]})" if kinds[c][1] else c for c in self.numeric_text_columns_
            )
            warnings.warn(f"text columns read as numbers: {listed}", ChurnDataWarning, stacklevel=2)
        flagged = {c: n for c, n in self.dropped_columns_.items() if "missing" not in n}
        if flagged:
            listed = "; ".join(f"{c}: {n}" for c, n in flagged.items())
            warnings.warn(f"columns not used by the model: {listed}", ChurnDataWarning, stacklevel=2)
        if not (self.numeric_columns_ or self.categorical_columns_):
            raise ValueError(f"X has no usable column (dropped: {self.dropped_columns_})")
        self.feature_names_in_ = np.asarray(frame.columns, dtype=object)
        self.n_features_in_ = len(frame.columns)
        self.classes_ = classes
        self.category_values_ = {col: sorted(set(_to_text(pd.Series(frame[col].dropna().unique())))) for col in self.categorical_columns_}
        prepared = self._prepare(frame, fitting=True)

        with self._threads():
            self._fit_pipeline(prepared, y01, counts)
        return self

    def _fit_pipeline(self, prepared: pd.DataFrame, y01: np.ndarray, counts: np.ndarray) -> None:
        pipeline = Pipeline([("columns", self._columns()), ("classifier", self._classifier())])
        if self.calibrate:
            if counts.min() < self.cv:
                raise ValueError(
                    f"calibration with cv={self.cv} needs at least {self.cv} customers of each class; "
                    f"y has {counts[1]} churned and {counts[0]} retained (use calibrate=False or fewer folds)"
                )
            folds = StratifiedKFold(n_splits=self.cv, shuffle=True, random_state=self.random_state)
            self.estimator_ = CalibratedClassifierCV(
                pipeline, method=self.calibration_method, cv=folds, ensemble=False
            ).fit(prepared, y01)
            self.pipeline_ = self.estimator_.calibrated_classifiers_[0].estimator
        else:
            self.estimator_ = pipeline.fit(prepared, y01)
            self.pipeline_ = self.estimator_

    # -- predictions ------------------------------------------------------------------------------
    def predict_proba(self, X: Any) -> np.ndarray:
        """Probabilities of ``classes_``; column 1 is the churn probability.

        Returns
        -------
        ndarray of shape (n_customers, 2)
        """
        check_is_fitted(self, "estimator_")
        prepared = self._prepare(X)
        with self._threads():
            return self.estimator_.predict_proba(prepared)

    def predict(self, X: Any) -> np.ndarray:
        """The churn label (``classes_[1]``) where the churn probability is at least 0.5."""
        churn = self.predict_proba(X)[:, 1] >= 0.5
        return self.classes_[churn.astype(int)]

    def _encoded_groups(self) -> list[np.ndarray]:
        """For each used input column, the positions of its encoded columns."""
        columns = self.pipeline_.named_steps["columns"]
        groups: list[np.ndarray] = []
        start = 0
        if self.numeric_columns_:
            for _ in self.numeric_columns_:
                groups.append(np.array([start]))
                start += 1
        if self.categorical_columns_:
            onehot = columns.named_transformers_["categorical"].named_steps["onehot"]
            infrequent = onehot.infrequent_categories_
            for i, categories in enumerate(onehot.categories_):
                pooled = infrequent[i] if infrequent[i] is not None else []
                width = len(categories) - len(pooled) + (1 if len(pooled) else 0)
                groups.append(np.arange(start, start + width))
                start += width
        return groups

    def contributions(self, X: Any) -> pd.DataFrame:
        """Each column's contribution to each customer's log-odds of churn.

        Logistic: coefficient x standardised value (categories: against the most frequent
        one), summed per input column. Tree and
        boosting: log-odds now minus log-odds with the column set to its typical value. See
        the module docstring.

        Returns
        -------
        DataFrame
            Same index as ``X``; one column per input column used by the model.
        """
        check_is_fitted(self, "pipeline_")
        prepared = self._prepare(X)
        used = [*self.numeric_columns_, *self.categorical_columns_]
        with self._threads():
            values = self._contribution_values(prepared, used)
        return pd.DataFrame(values, index=prepared.index, columns=used)

    def _contribution_values(self, prepared: pd.DataFrame, used: list[str]) -> np.ndarray:
        typical = self._typical_values()
        if self.model == "logistic":
            columns = self.pipeline_.named_steps["columns"]
            encoded = columns.transform(prepared)
            reference = columns.transform(self._typical_frame(typical, prepared.dtypes, index=[0]))[0]
            coef = self.pipeline_.named_steps["classifier"].coef_[0]
            per_encoded = (encoded - reference) * coef
            values = np.column_stack([per_encoded[:, g].sum(axis=1) for g in self._encoded_groups()])
        else:
            base = self._logit(prepared)
            values = np.empty((len(prepared), len(used)))
            for j, col in enumerate(used):
                replaced = prepared.copy()
                replaced[col] = self._typical_frame(typical, prepared.dtypes, index=prepared.index)[col]
                values[:, j] = base - self._logit(replaced)
        return values

    def _logit(self, prepared: pd.DataFrame) -> np.ndarray:
        p = np.clip(self.pipeline_.predict_proba(prepared)[:, 1], _LOGIT_EPS, 1 - _LOGIT_EPS)
        return np.log(p) - np.log1p(-p)

    @staticmethod
    def _typical_frame(typical: dict[str, Any], dtypes: pd.Series, index) -> pd.DataFrame:
        return pd.DataFrame(
            {col: pd.Series([typical[col]] * len(index), index=index, dtype=dtypes[col]) for col in dtypes.index}
        )

    def _typical_values(self, as_given: bool = False) -> dict[str, Any]:
        """Reference value per input column (the "typical customer"): the training mean
        (logistic, where a standardised value of 0 is the mean) or median (trees), and the most
        frequent category (its position among the categories; ``as_given=True``: the category)."""
        columns = self.pipeline_.named_steps["columns"]
        typical: dict[str, Any] = {}
        if self.numeric_columns_:
            numeric = columns.named_transformers_["numeric"]
            centre = numeric.named_steps["scale"].mean_ if self.model == "logistic" else numeric.named_steps["impute"].statistics_
            typical.update(zip(self.numeric_columns_, map(float, centre), strict=True))
        if self.categorical_columns_:
            mode = columns.named_transformers_["categorical"].named_steps["impute"].statistics_
            if as_given:   # the category itself, not its position
                mode = [self.category_values_[col][int(m)] if m == m else m for col, m in zip(self.categorical_columns_, mode, strict=True)]
            typical.update(zip(self.categorical_columns_, mode, strict=True))
        return typical

    def drivers(
        self,
        X: Any,
        top: int = 3,
        *,
        direction: str = "both",
        combine: dict[str, str] | None = None,
    ) -> pd.DataFrame:
        """Each customer's ``top`` drivers of churn risk: contributions to the log-odds against a
        typical customer (see the module docstring). Numbers and keys; words are added by
        :func:`segkit.insights.churn.explain_drivers`.

        Parameters
        ----------
        X : DataFrame
            Customers to explain (same columns as in ``fit``).
        top : int, default 3
        direction : {"both", "raises", "lowers"}, default "both"
            ``"both"`` ranks by absolute size; ``"raises"`` keeps only drivers that raise the
            risk (the reasons to act on).
        combine : dict, optional
            Column -> column it restates; its contribution is added to that column's, so one
            fact gives one driver (e.g. a yes/no signal computed from a count).

        Returns
        -------
        DataFrame
            One row per customer and driver, indexed like ``X``: ``rank``, ``feature``,
            ``value``, ``typical``, ``contribution`` (log-odds), ``odds_ratio``
            (``exp(contribution)``), ``direction`` ("raises" / "lowers").
        """
        if direction not in ("both", "raises", "lowers"):
            raise ValueError(f"direction must be 'both', 'raises' or 'lowers', got {direction!r}")
        if int(top) < 1:
            raise ValueError(f"top must be at least 1, got {top}")
        contributions = self.contributions(X)
        for twin, base in (combine or {}).items():
            if twin in contributions and base in contributions:
                contributions[base] = contributions[base] + contributions.pop(twin)
        frame = _as_frame(X)
        typical = self._typical_values(as_given=True)
        values = contributions.to_numpy()
        if direction == "raises":
            order_key = np.where(values > 0, -values, np.inf)
        elif direction == "lowers":
            order_key = np.where(values < 0, values, np.inf)
        else:
            order_key = np.where(values != 0, -np.abs(values), np.inf)
        order = np.argsort(order_key, axis=1, kind="stable")[:, : int(top)]
        # the drivers as flat arrays: customer i, rank, column j (a driver with no contribution
        # ends the customer's list, so later ranks of that customer are dropped too)
        kept = np.isfinite(np.take_along_axis(order_key, order, axis=1))
        kept = np.cumprod(kept, axis=1).astype(bool)
        rows_i, rank_pos = np.nonzero(kept)
        cols_j = order[rows_i, rank_pos]
        c = values[rows_i, cols_j].astype(float)
        columns = np.asarray(contributions.columns, dtype=object)   # plain strings: indexed once per driver
        raw_columns = {j: frame[columns[j]].to_numpy(dtype=object) for j in np.unique(cols_j)}
        raw = np.array([raw_columns[j][i] for i, j in zip(rows_i, cols_j, strict=True)], dtype=object)
        out = pd.DataFrame({
            "_index": contributions.index[rows_i], "rank": rank_pos + 1, "feature": columns[cols_j].tolist(),
            "value": raw, "typical": [typical[columns[j]] for j in cols_j], "contribution": c, "odds_ratio": np.exp(c),
            "direction": list(np.where(c > 0, "raises", "lowers")),
        })
        out = out.set_index("_index")
        out.index.name = contributions.index.name
        return out

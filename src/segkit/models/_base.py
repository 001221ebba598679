"""What the maximum-likelihood models share, written once.

* :class:`MaximumLikelihoodModel` (every BTYD model, the sBG and Gamma-Gamma): the
  scikit-learn ``__init__`` of the optimiser settings, the fit flow (maximise, polish,
  standard errors and ``covariance_``, the no-dropout limit check, the fitted attributes) and
  the numpydoc blocks their docstrings share. A model describes its maximisation as a
  :class:`Likelihood` (objective, start, hooks) and hands it to ``_fit_likelihood``.
* :class:`PurchaseModel` (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB): ``fit`` on (frequency,
  recency, T), fitting on a snapshot table, the no-dropout limit's predictions, input checks
  and output shaping. A model supplies its equations as ``_alive(x, t_x, T)`` (P(alive)) and
  ``_conditional(t, x, T, alive)`` (expected purchases in (T, T+t]) on checked, broadcast
  arrays; the public methods here turn pandas Series or arrays into those arrays and back.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from segkit.models import _nbd
from segkit.models._checks import (
    _require,
    as_array,
    as_output,
    broadcast,
    check_btyd_data,
    check_prediction_inputs,
    check_weight,
    require_columns,
    require_repeat_buyers,
)
from segkit.models._docs import UNIT_DOC, fill_doc, model_doc_blocks
from segkit.models._optim import (
    SCREEN_SIZE,
    ConvergenceError,
    compress,
    maximise_likelihood,
    newton_polish,
    screening_sample,
    single_threaded_blas,
    standard_errors,
)

__all__ = [
    "Likelihood",
    "MaximumLikelihoodModel",
    "PurchaseModel",
    "check_horizon",
    "compress_snapshot",
    "numeric_hessian",
    "polish_optimum",
    "snapshot_weight",
]

#: Name of the column of :func:`compress_snapshot` that counts the customers of a row.
COUNT_COLUMN = "n_customers"
BTYD_COLUMNS = ("frequency", "recency", "T")
#: What a model's fit learns; a new fit forgets all of it first.
FITTED = ("params_", "log_likelihood_", "standard_errors_", "covariance_", "limit_", "n_customers_",
          "n_distinct_", "n_iter_", "unit_")


def compress_snapshot(
    snapshot: pd.DataFrame,
    columns: Sequence[str] = BTYD_COLUMNS,
    sample_weight: Any = None,
) -> pd.DataFrame:
    """The distinct rows of ``snapshot[columns]`` with the number of customers in each.

    A BTYD likelihood depends on a customer only through (frequency, recency, T) -- the
    Gamma-Gamma one through (frequency, monetary_value) -- so a model fitted on the distinct
    rows weighted by their counts (``fit_snapshot(table, sample_weight="n_customers")``) is
    the model fitted on the customers: same log-likelihood, same parameters. The table is
    small enough to store or ship instead of the customers (weekly data of 500,000 customers
    have some 20,000 distinct rows).

    Parameters
    ----------
    snapshot : DataFrame
        One row per customer (e.g. :func:`segkit.summary.btyd_summary`).
    columns : sequence of str, default ("frequency", "recency", "T")
        The columns that identify a row; ``("frequency", "monetary_value")`` for
        :class:`~segkit.models.GammaGamma`.
    sample_weight : array-like, str or None, default None
        Customers per row of ``snapshot`` (or the name of its column holding them), so a
        compressed table can be compressed further; None counts each row once.

    Returns
    -------
    DataFrame
        ``columns`` plus ``n_customers`` (float, the summed weights), one row per distinct
        combination in lexicographic order, rows of weight 0 dropped; ``attrs`` (such as
        ``btyd_unit``) are kept.

    Raises
    ------
    ValueError
        For missing or impossible values (the rules of the BTYD models when ``columns`` are
        frequency, recency and T) and bad weights, naming the customers.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"frequency": [0, 2, 0, 2], "recency": [0.0, 5.0, 0.0, 5.0],
    ...                      "T": [9.0, 9.0, 9.0, 9.0]}, index=["a", "b", "c", "d"])
    >>> compress_snapshot(snap)
       frequency  recency    T  n_customers
    0        0.0      0.0  9.0          2.0
    1        2.0      5.0  9.0          2.0
    """
    columns = list(columns)
    require_columns(snapshot, columns)
    if COUNT_COLUMN in columns:
        raise ValueError(f"{COUNT_COLUMN!r} is the count column and cannot be one of the columns")
    weight = check_weight(snapshot_weight(snapshot, sample_weight), len(snapshot), snapshot.index)
    if columns == list(BTYD_COLUMNS):
        arrays = list(check_btyd_data(*(snapshot[c] for c in columns), index=snapshot.index)[:3])
    else:
        arrays = [as_array(c, snapshot[c])[0] for c in columns]
        for c, arr in zip(columns, arrays, strict=True):
            _require(~np.isfinite(arr), f"{c} is missing or infinite", snapshot.index)
    values, counts = compress(*arrays, weight=weight)
    out = pd.DataFrame(dict(zip(columns, values, strict=True)))
    out[COUNT_COLUMN] = counts
    out.attrs.update(snapshot.attrs)
    return out


def snapshot_weight(snapshot: pd.DataFrame, sample_weight: Any) -> Any:
    """``sample_weight`` of a ``fit_snapshot``: the named column of ``snapshot``, or as given."""
    if isinstance(sample_weight, str):
        require_columns(snapshot, [sample_weight])
        return snapshot[sample_weight]
    return sample_weight


def check_horizon(t: Any) -> tuple[np.ndarray, pd.Index | None]:
    """A period length ``t`` as an array (with its index, if a Series), non-negative and finite."""
    t_arr, index = as_array("t", t)
    if np.any(t_arr < 0) or not np.all(np.isfinite(t_arr)):
        raise ValueError(f"t must be non-negative and finite, got {t}")
    return t_arr, index


def check_counts(n: Any, t: Any) -> tuple[np.ndarray, np.ndarray, pd.Index | None]:
    """Purchase counts ``n`` (whole, non-negative) and period lengths ``t``, broadcast against
    each other, and the index of whichever was a Series (for ``probability_of_purchases``)."""
    n_arr, idx_n = as_array("n", n)
    if np.any(n_arr < 0) or np.any(n_arr != np.round(n_arr)) or not np.all(np.isfinite(n_arr)):
        raise ValueError(f"n must be whole non-negative numbers of purchases, got {n}")
    t_arr, idx_t = check_horizon(t)
    n_arr, t_arr = broadcast(n_arr, t_arr)
    return n_arr, t_arr, idx_n if idx_n is not None else idx_t


def numeric_hessian(gradient: Callable[[np.ndarray], np.ndarray], theta: np.ndarray,
                    step: float = 1e-5) -> np.ndarray:
    """Hessian by central differences of an analytic ``gradient`` (symmetrised)."""
    k = theta.size
    hess = np.empty((k, k))
    for i in range(k):
        e = np.zeros(k)
        e[i] = step
        hess[i] = (gradient(theta + e) - gradient(theta - e)) / (2 * step)
    return (hess + hess.T) / 2


def polish_optimum(objective: Callable[[np.ndarray], tuple[float, np.ndarray]],
                   theta: np.ndarray, max_iter: int = 5) -> np.ndarray:
    """A few Newton steps (numeric Hessian of the analytic gradient) from an L-BFGS-B optimum.

    L-BFGS-B stops once the gradient is below its tolerance; Newton's method from there
    reaches the optimum to rounding in a step or two, so the log-likelihood reported is the
    maximum rather than a point near it (on 200,000 customers L-BFGS-B alone stopped 6e-11
    below lifetimes' BFGS optimum). A step is taken only where it lowers the objective (or,
    at rounding level, the gradient); otherwise ``theta`` is returned unchanged.
    """
    def with_hessian(th):
        value, grad = objective(th)
        return value, grad, numeric_hessian(lambda t: objective(t)[1], th)

    with single_threaded_blas():
        polished, value, _, _ = newton_polish(with_hessian, theta, tol=1e-14, max_iter=max_iter)
    return polished if np.isfinite(value) else theta


# ---------------------------------------------------------------------------------------------
# the fit flow
# ---------------------------------------------------------------------------------------------
@dataclass
class Likelihood:
    """One fit's maximisation, as a model describes it to ``_fit_likelihood``.

    ``objective(theta) -> (value, gradient)`` is what is minimised over the log-parameters:
    the mean negative log-likelihood plus the penalty (:func:`penalised_objective`);
    ``log_likelihood(theta)`` is the total log-likelihood without the penalty, which the fit
    reports. ``screen``, ``newton`` and ``boundary`` go to :func:`maximise_likelihood`.
    ``polish`` takes a few Newton steps from the optimum (:func:`polish_optimum`).
    ``errors(theta) -> (standard_errors, covariance)`` replaces the default, central
    differences of the objective's gradient. ``limit_data`` ((x, T, weight) of the distinct
    rows) marks a purchase model that tends to the NBD when dropout vanishes: its fit is
    compared with that limit (:meth:`PurchaseModel._fit_limit`).
    """

    objective: Callable[[np.ndarray], tuple[float, np.ndarray]]
    log_likelihood: Callable[[np.ndarray], float]
    start: np.ndarray
    total: float
    n_distinct: int
    screen: Callable[[np.ndarray], tuple[float, np.ndarray]] | None = None
    newton: Callable[[np.ndarray], tuple[float, np.ndarray, np.ndarray]] | None = None
    boundary: Callable[[np.ndarray, float], str | None] | None = None
    polish: bool = False
    errors: Callable[[np.ndarray], tuple[dict[str, float], pd.DataFrame]] | None = None
    limit_data: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


class MaximumLikelihoodModel(BaseEstimator):
    """Base of every segkit model fitted by maximum likelihood on the log scale.

    ``__init__`` only stores the optimiser settings (scikit-learn's rule: ``get_params``,
    ``set_params`` and ``clone`` read its signature); ``_fit_likelihood`` runs a model's
    :class:`Likelihood` and stores what the fit learns. A subclass names its parameters in
    ``_param_names``; lines ``%(parameters)s`` and ``%(fitted)s`` in its docstring become the
    shared ``Parameters`` section and ``Attributes`` entries (:data:`PARAMETERS_DOC`,
    :data:`FITTED_DOC`), worded by ``_doc_starts``, ``_doc_tol`` and ``_doc_hessian``; its
    methods' docstrings take the other blocks of :func:`segkit.models._docs.model_doc_blocks`
    the same way (``%(sample_weight)s``, ``%(returns_self)s``, ``%(counts)s``).
    """

    _param_names: tuple[str, ...] = ()
    #: Said of n_starts, tol and the standard errors in the shared docstring blocks.
    _doc_starts = ""
    _doc_tol = ""
    _doc_hessian = "numeric (central differences of the analytic gradient)"

    def __init__(
        self,
        penalizer_coef: float = 0.0,
        n_starts: int = 3,
        random_state: Any = 0,
        tol: float = 1e-8,
        max_iter: int = 1000,
    ):
        self.penalizer_coef = penalizer_coef
        self.n_starts = n_starts
        self.random_state = random_state
        self.tol = tol
        self.max_iter = max_iter

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        blocks = cls._doc_blocks()
        cls.__doc__ = fill_doc(cls.__doc__, blocks)
        for method in vars(cls).values():
            if inspect.isfunction(method):
                method.__doc__ = fill_doc(method.__doc__, blocks)

    @classmethod
    def _doc_blocks(cls) -> dict[str, str]:
        signature = inspect.signature(cls.__init__).parameters
        defaults = {name: p.default for name, p in signature.items() if name != "self"}
        return model_doc_blocks(defaults, starts=cls._doc_starts, tol_note=cls._doc_tol,
                                hessian=cls._doc_hessian)

    def _p(self) -> tuple[float, ...]:
        """The fitted parameters in the order of ``_param_names`` (NotFittedError if unfitted)."""
        check_is_fitted(self, "params_")
        return tuple(self.params_[name] for name in self._param_names)

    def _forget(self) -> None:
        """Drop what an earlier fit learned (a fit that fails leaves no stale results)."""
        for attr in FITTED:
            self.__dict__.pop(attr, None)

    def _store(self, params: dict[str, float], log_likelihood: float,
               errors: tuple[dict[str, float], pd.DataFrame], total: float, n_distinct: int,
               n_iter: int) -> None:
        """Set the fitted attributes (:data:`FITTED_DOC`)."""
        self.params_ = params
        self.log_likelihood_ = log_likelihood
        self.standard_errors_, self.covariance_ = errors
        self.n_customers_ = int(round(float(total)))
        self.n_distinct_ = int(n_distinct)
        self.n_iter_ = n_iter

    def _fit_likelihood(self, problem: Likelihood) -> None:
        """Maximise ``problem`` from ``n_starts`` starts and store the result.

        The standard errors come from the Hessian of the objective actually optimised (with a
        penalty, the penalised one), so that the flatness check and the errors are taken where
        the penalty holds the parameters. A purchase model (``problem.limit_data``) whose
        unpenalised fit does not converge, or converges no better than its no-dropout limit,
        takes that limit instead (:meth:`PurchaseModel._fit_limit`).
        """
        model, names = type(self).__name__, self._param_names
        failure = None
        try:
            result = maximise_likelihood(
                problem.objective, problem.start, names=names, model=model,
                n_starts=self.n_starts, random_state=self.random_state, tol=self.tol,
                max_iter=self.max_iter, screen=problem.screen, newton=problem.newton,
                boundary=problem.boundary,
            )
            theta = result.log_params
            if problem.polish:
                theta = polish_optimum(problem.objective, theta)
            if problem.errors is not None:
                errors = problem.errors(theta)
            else:  # the gradient of the mean objective, scaled to the total
                errors = standard_errors(lambda th: problem.objective(th)[1] * problem.total,
                                         theta, names, model=model, with_covariance=True)
        except ConvergenceError as exc:
            # stopped where the data do not pin the model down (a parameter running off, a
            # flat or loose optimum): a purchase model compares with its no-dropout limit
            # (also when penalised: the penalty can itself drive it to that limit)
            if problem.limit_data is None or exc.log_params is None:
                raise
            failure, theta = exc, exc.log_params
        ll = float(problem.log_likelihood(theta))
        # the no-dropout limit when dropout does not improve the likelihood significantly; a
        # penalised fit that converged is kept, as the penalty is the user's choice to hold
        # the dropout parameters finite
        if (problem.limit_data is not None
                and (float(self.penalizer_coef) == 0 or failure is not None)
                and self._fit_limit(model, ll, failure, *problem.limit_data)):
            return
        self._store(dict(zip(names, map(float, np.exp(theta)), strict=True)), ll, errors,
                    problem.total, problem.n_distinct, result.n_iter)


class PurchaseModel(MaximumLikelihoodModel):
    """Base of :class:`~segkit.models.BetaGeo`, :class:`~segkit.models.ModifiedBetaGeo`,
    :class:`~segkit.models.ParetoNBD` and :class:`~segkit.models.BetaGeoBetaBinom`.

    :meth:`fit` checks and compresses (frequency, recency, T) and fits the model's
    :class:`Likelihood` (``_likelihood(x, t_x, T, weight)`` on the distinct rows). The first
    three tend to the NBD (Poisson-gamma, no dropout) when dropout vanishes; an unpenalised
    fit on data that show no dropout returns that limit (``limit_ = "no_dropout"``,
    ``params_ = {"r", "alpha"}``, a :class:`~segkit.models.LimitingModelWarning`), and every
    prediction is then the NBD's closed form: P(alive) = 1, E[X(t)] = r t/alpha,
    E[Y(t) | x, T] = (r+x) t/(alpha+T), P(Y(t) = 0 | x, T) = ((alpha+T)/(alpha+T+t))^(r+x).
    """

    @classmethod
    def _doc_blocks(cls) -> dict[str, str]:
        blocks = super()._doc_blocks()
        blocks["fitted"] += "\n" + UNIT_DOC
        return blocks

    # -- fitting -------------------------------------------------------------------------------
    def fit(self, frequency: Any, recency: Any, T: Any, sample_weight: Any = None):
        """Fit by maximum likelihood on the distinct (x, t_x, T) rows.

        Parameters
        ----------
        frequency, recency, T : array-like or Series
            Repeat purchases, time of the last purchase and age since the first, per
            customer, in one time unit (see :func:`segkit.summary.btyd_summary`).
        %(sample_weight)s

        %(returns_self)s

        Raises
        ------
        ValueError
            For impossible data (negative frequency, recency larger than T, ...), naming the
            customers, or when nobody bought again ("0 of N customers bought again").
        segkit.models.ConvergenceError
            When the likelihood maximisation does not converge, or the optimum is not
            identified and the data do show dropout (the message says what to try).

        Warns
        -----
        segkit.models.LimitingModelWarning
            When the data show no dropout and the fit is the NBD limit (``limit_``).
        """
        self._forget()
        x, t_x, big_t, weight = self._check_data(frequency, recency, T, sample_weight)
        # distinct rows first: per-customer data and the same data compressed by the caller
        # then take the same path (including the screening subsample), so they fit the same
        (x, t_x, big_t), weight = compress(x, t_x, big_t, weight=weight)
        self._fit_likelihood(self._likelihood(x, t_x, big_t, weight))
        return self

    def _check_data(self, frequency: Any, recency: Any, T: Any, sample_weight: Any):
        """(x, t_x, T, weight) as checked float arrays (ValueError naming the customers)."""
        x, t_x, big_t, weight = check_btyd_data(frequency, recency, T, sample_weight)
        require_repeat_buyers(x, weight, type(self).__name__)
        return x, t_x, big_t, weight

    def _likelihood(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                    weight: np.ndarray) -> Likelihood:
        """The model's maximisation on checked, distinct rows with weights."""
        raise NotImplementedError

    def _screening_sample(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray,
                          weight: np.ndarray) -> tuple[list[np.ndarray], np.ndarray] | None:
        """:data:`SCREEN_SIZE` random customers to compare the starts on, or None (few)."""
        return screening_sample((x, t_x, T), weight, SCREEN_SIZE, self.random_state)

    def _store(self, *fitted, limit: str | None = None) -> None:
        super()._store(*fitted)
        self.limit_ = limit
        self.unit_ = None

    # -- the no-dropout limit -----------------------------------------------------------------
    def _limit(self):
        """``limit_`` of a fitted model (None: the model itself); NotFittedError if unfitted."""
        check_is_fitted(self, "params_")
        limit = getattr(self, "limit_", None)
        _nbd.check_limit(limit)
        return limit

    def _limit_params(self) -> tuple[float, float]:
        return self.params_["r"], self.params_["alpha"]

    def _fit_limit(self, model: str, full_log_likelihood: float | None,
                   failure: ConvergenceError | None, x: np.ndarray, T: np.ndarray,
                   w: np.ndarray) -> bool:
        """Take the no-dropout limit when the data call for it (True), or raise ``failure``.

        ``full_log_likelihood`` is the dropout model's log-likelihood at its optimum or, with
        ``failure``, where its optimiser stopped. With no failure and a dropout model that is
        clearly better than the NBD, returns False and the caller keeps its fit.
        """
        try:
            nbd = _nbd.no_dropout_limit(model, full_log_likelihood, x, T, w,
                                        tol=min(float(self.tol), 1e-8), max_iter=self.max_iter)
        except ConvergenceError:
            if failure is not None:
                raise failure from None
            return False
        if nbd is None:
            if failure is not None:
                raise failure
            return False
        self._store(nbd.params, nbd.log_likelihood, (nbd.standard_errors, nbd.covariance),
                    w.sum(), w.size, nbd.n_iter, limit=_nbd.NO_DROPOUT)
        return True

    def _alive_or_limit(self, x, t_x, big_t):
        if self._limit():
            return np.ones(np.broadcast_shapes(np.shape(x), np.shape(t_x), np.shape(big_t)))
        return self._alive(x, t_x, big_t)

    def _conditional_or_limit(self, t, x, big_t, alive):
        if self._limit():
            return alive * _nbd.conditional_mean(t, x, big_t, *self._limit_params())
        return self._conditional(t, x, big_t, alive)

    def _limit_population_mean(self, t: Any):
        """E[X(t)] of the no-dropout limit, r t/alpha, shaped as the models' own."""
        t_arr, index = check_horizon(t)
        return as_output(_nbd.population_mean(t_arr, *self._limit_params()), index,
                         "expected_purchases", (t,))

    def _limit_count_probability(self, n: Any, t: Any):
        """P(X(t) = n) of the no-dropout limit, the negative binomial."""
        n_arr, t_arr, index = check_counts(n, t)
        return as_output(_nbd.count_probability(n_arr, t_arr, *self._limit_params()), index,
                         "probability_of_purchases", (n, t))

    def summary(self) -> pd.DataFrame:
        """Fitted parameters and their standard errors, and which model they belong to.

        Returns
        -------
        DataFrame
            Index ``parameter``; columns ``estimate`` and ``standard_error`` (NaN where not
            known, e.g. parameters set by hand). ``attrs``: ``model`` (the class name),
            ``limit`` (None, or ``"no_dropout"`` when the fit is the NBD limit, whose
            parameters are r and alpha only), ``log_likelihood`` and ``n_customers`` (None
            when not fitted from data).

        Examples
        --------
        >>> from segkit.models import BetaGeo
        >>> bg = BetaGeo()
        >>> bg.params_, bg.limit_ = {"r": 0.5, "alpha": 2.0}, "no_dropout"
        >>> table = bg.summary()
        >>> table["estimate"].tolist(), table.attrs["limit"]
        ([0.5, 2.0], 'no_dropout')
        """
        limit = self._limit()
        se = getattr(self, "standard_errors_", {}) or {}
        out = pd.DataFrame(
            {"estimate": [float(v) for v in self.params_.values()],
             "standard_error": [float(se.get(k, np.nan)) for k in self.params_]},
            index=pd.Index(list(self.params_), name="parameter"),
        )
        out.attrs.update(model=type(self).__name__, limit=limit,
                         log_likelihood=getattr(self, "log_likelihood_", None),
                         n_customers=getattr(self, "n_customers_", None))
        return out

    def __repr__(self, N_CHAR_MAX: int = 700) -> str:
        text = super().__repr__(N_CHAR_MAX)
        if "params_" in self.__dict__ and getattr(self, "limit_", None) == _nbd.NO_DROPOUT:
            r, alpha = self._limit_params()
            text += f" fitted as its no-dropout limit, the NBD: r={r:.4g}, alpha={alpha:.4g}"
        return text

    def fit_snapshot(self, snapshot: pd.DataFrame, sample_weight: Any = None):
        """Fit on a table with ``frequency``, ``recency`` and ``T`` columns.

        The table may hold one row per customer or distinct rows with counts
        (:func:`compress_snapshot`, then ``sample_weight="n_customers"``); both give the same
        fit, since :meth:`fit` compresses to distinct rows first anyway. The table's time unit
        (``attrs["btyd_unit"]``, set by :func:`segkit.summary.btyd_summary` and
        :func:`segkit.snapshot`, and kept by :func:`compress_snapshot`) is kept as ``unit_``
        so that CLV horizons can be checked against it.

        Parameters
        ----------
        snapshot : DataFrame
        sample_weight : array-like, str or None, default None
            Customers per row, or the name of the column of ``snapshot`` that holds them.

        Examples
        --------
        >>> import pandas as pd
        >>> from segkit.models import BetaGeo, compress_snapshot
        >>> kinds = pd.DataFrame({"frequency": [0, 1, 2, 0, 3, 1, 0, 6, 1, 2],
        ...                       "recency": [0, 5, 30, 0, 36, 2, 0, 38, 30, 4], "T": 39.0})
        >>> customers = [600, 150, 60, 500, 30, 120, 300, 10, 100, 80]
        >>> snap = kinds.loc[kinds.index.repeat(customers)].reset_index(drop=True)
        >>> snap.attrs["btyd_unit"] = "W"  # as btyd_summary(..., unit="W") sets it
        >>> BetaGeo().fit_snapshot(snap).unit_
        'W'
        >>> rows = compress_snapshot(snap)
        >>> len(snap), len(rows), rows["n_customers"].tolist()[:3]
        (1950, 8, [1400.0, 120.0, 150.0])
        >>> bg = BetaGeo().fit_snapshot(rows, sample_weight="n_customers")
        >>> bg.params_ == BetaGeo().fit_snapshot(snap).params_, bg.unit_
        (True, 'W')
        """
        require_columns(snapshot, ["frequency", "recency", "T"])
        weight = snapshot_weight(snapshot, sample_weight)
        self.fit(snapshot["frequency"], snapshot["recency"], snapshot["T"], weight)
        self.unit_ = snapshot.attrs.get("btyd_unit")
        return self

    def probability_alive(self, frequency: Any, recency: Any, T: Any):
        """P(still active at T | x, t_x, T) per customer (the model's equation: see the subclass)."""
        self._limit()
        x, t_x, big_t, index = check_prediction_inputs(frequency, recency, T)
        return as_output(self._alive_or_limit(x, t_x, big_t), index, "probability_alive",
                         (frequency, recency, T))

    def expected_purchases(self, t: Any, frequency: Any, recency: Any, T: Any):
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T+t] per customer.

        ``t`` is in the unit of recency and T and broadcasts against the customers.
        """
        self._limit()
        x, t_x, big_t, index = check_prediction_inputs(frequency, recency, T)
        t_arr, _ = check_horizon(t)
        t_arr, x, t_x, big_t = broadcast(t_arr, x, t_x, big_t)
        out = self._conditional_or_limit(t_arr, x, big_t, self._alive_or_limit(x, t_x, big_t))
        return as_output(out, index, "expected_purchases", (t, frequency, recency, T))

    def _expected_purchases_curve(self, t_grid, x, t_x, big_t):
        """E[Y(t) | x, t_x, T] for every t in ``t_grid`` (customers x times), unchecked."""
        alive = self._alive_or_limit(x, t_x, big_t)[:, None]
        return self._conditional_or_limit(t_grid[None, :], x[:, None], big_t[:, None], alive)

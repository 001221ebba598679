"""Contract renewals (续约): renewal histories from contracts, and the sBG model per tier.

business-rules.md section 2 counts the renewal rate among a B2B customer's stability
measures. Where the data hold contracts (the optional ``contracts`` table: customer,
contract start, contract end), renewals are observed directly, and the shifted-beta-geometric
model (:class:`~segkit.models.ShiftedBetaGeo`, Fader & Hardie 2007) projects them:

* :func:`renewal_history` turns contracts into one row per relationship: how many contract
  periods the customer has completed and whether she has left (her last contract ended more
  than ``renewals.grace_days`` before the as-of date without a successor) or is still a
  customer (right-censored);
* :func:`renewal_table` counts those rows as the table :meth:`ShiftedBetaGeo.fit_table`
  takes (``periods``, ``churned``, ``n_customers``), overall or per tier;
* :func:`renewal_by_tier` fits the model per tier (a tier with too few relationships, or
  without a single churn or renewal, uses the model fitted on all tiers together; where the
  renewals show no difference between customers -- the likelihood is flat as alpha and beta
  grow together -- the sBG's limit is used and said so: every customer leaves with the same
  chance per period, churns / renewal decisions) and
  returns, per tier, the observed renewal rate, the predicted chance that the tier's current
  customers renew at their next decision, the discounted expected remaining lifetime and
  the retention curve over the next periods.

Periods are counted on the days covered by contracts (a late renewal within the grace window
does not count the gap): a current customer has renewed ``k`` times when ``k`` period
anniversaries (calendar months, counted back from the as-of date over her days of cover) lie
on or before the as-of date; one who left after ``t`` periods of cover (days / the period's
mean length, rounded, at least 1) churned after ``t`` periods. A contract starting
more than the grace window after the previous cover ended starts a new relationship (a
customer won back); each relationship is one row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field

from segkit.config import ConfigError, StrictModel, load_section, register_section
from segkit.errors import RenewalsNotFitted  # defined with every segkit error; importable here as before
from segkit.models import ConvergenceError, ShiftedBetaGeo
from segkit.models.clv import load_config as load_clv_config
from segkit.models.clv import parse_horizon

__all__ = [
    "GeometricRenewals",
    "RenewalsConfig",
    "RenewalsNotFitted",
    "RenewalsByTier",
    "load_renewals_config",
    "renewal_history",
    "renewal_table",
    "renewal_by_tier",
    "period_discount",
]

HISTORY_COLUMNS = ["customer_id", "relationship", "first_start", "last_end", "contracts", "covered_days",
                   "status", "periods", "churned", "renewals", "decisions", "tier_date"]
#: Key of the all-tiers row of :class:`RenewalsByTier` tables.
TOTAL = "total"


@register_section("renewals")
class RenewalsConfig(StrictModel):
    """The ``renewals`` configuration section (``segkit/defaults/renewals.yaml``)."""

    period: str
    grace_days: int = Field(ge=0)
    min_customers: int = Field(ge=2)
    horizon_periods: int = Field(ge=1, le=50)


def load_renewals_config(config: str | Path | Mapping[str, Any] | None = None) -> RenewalsConfig:
    """The ``renewals`` section, its period checked.

    Examples
    --------
    >>> cfg = load_renewals_config()
    >>> cfg.period, cfg.grace_days, cfg.min_customers
    ('12M', 90, 30)
    >>> load_renewals_config({"renewals": {"period": "90D"}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: renewals.period: a contract period is a whole number of months or years ('12M', '1Y', '6M'), got '90D'
    """
    cfg = load_section("renewals", RenewalsConfig, config)
    try:
        period_months(cfg.period)
    except ValueError as exc:
        raise ConfigError(f"renewals.period: {exc}") from None
    return cfg


def period_months(period: Any) -> int:
    """Months in one contract period: ``"12M"`` and ``"1Y"`` are 12.

    Examples
    --------
    >>> period_months("1Y"), period_months("6M")
    (12, 6)
    """
    try:
        horizon = parse_horizon(period)
    except ValueError:
        horizon = None
    if horizon is None or horizon.unit not in ("M", "Y") or horizon.value != int(horizon.value):
        raise ValueError(f"a contract period is a whole number of months or years ('12M', '1Y', '6M'), got {period!r}")
    return int(horizon.value) * (12 if horizon.unit == "Y" else 1)


def period_discount(period: Any, config: str | Path | Mapping[str, Any] | None = None) -> float:
    """Discount rate per contract period from ``clv.annual_discount_rate``.

    ``(1 + annual) ** (months / 12) - 1``: 10 % a year is 10 % per annual contract.

    Examples
    --------
    >>> period_discount("12M"), round(period_discount("6M"), 6)
    (0.1, 0.048809)
    """
    annual = load_clv_config(config).annual_discount_rate
    months = period_months(period)
    return float(annual if months == 12 else (1 + annual) ** (months / 12) - 1)


def _check_contracts(contracts: pd.DataFrame) -> pd.DataFrame:
    """The three columns the history needs, typed; a missing value or an end before the start
    raises naming the row, the column and the value (the loader rejects such rows; a table
    built by hand is checked here)."""
    needed = ["customer_id", "contract_start", "contract_end"]
    missing = [c for c in needed if c not in contracts.columns]
    if missing:
        raise KeyError(f"contracts lacks column(s) {missing}; it needs {needed} (the contracts table of segkit.schema)")
    frame = contracts[needed].copy()
    for column in needed[1:]:
        if not pd.api.types.is_datetime64_any_dtype(frame[column]):
            parsed = pd.to_datetime(frame[column], errors="coerce", format="mixed")
            bad = parsed.isna() & frame[column].notna()
            if bad.any():
                row = bad.idxmax()
                raise ValueError(f"contracts row {row!r}, column {column}: {frame.at[row, column]!r} is not a date")
            frame[column] = parsed
        frame[column] = frame[column].dt.normalize()
    for column in needed:
        empty = frame[column].isna() | (frame[column].astype(str).str.strip() == "") if column == "customer_id" \
            else frame[column].isna()
        if empty.any():
            row = empty.idxmax()
            raise ValueError(f"contracts row {row!r}, column {column}: empty (every contract needs a customer, a start "
                             f"and an end)")
    backwards = frame["contract_end"] < frame["contract_start"]
    if backwards.any():
        row = backwards.idxmax()
        raise ValueError(f"contracts row {row!r}, column contract_end: {frame.at[row, 'contract_end'].date()} is before "
                         f"contract_start {frame.at[row, 'contract_start'].date()} (a contract cannot end before it starts)")
    frame["customer_id"] = frame["customer_id"].astype("str")
    return frame


def renewal_history(
    contracts: pd.DataFrame,
    as_of: Any,
    *,
    period: str | None = None,
    grace_days: int | None = None,
    config: str | Path | Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """One row per customer relationship: periods completed and whether she has left.

    Contracts starting after ``as_of`` are not seen; a contract running past it counts up to
    ``as_of``. A customer's contracts are chained while each starts at most ``grace_days``
    after the cover so far has ended; a longer gap ends the relationship (she churned) and a
    later contract starts a new one.

    Parameters
    ----------
    contracts : DataFrame
        ``customer_id``, ``contract_start``, ``contract_end`` (the end is the last day
        covered), e.g. ``Dataset.contracts``.
    as_of : date-like
        The date the history is observed at.
    period : str, optional
        Contract period (``"12M"``, ``"1Y"``, ``"6M"``); default ``renewals.period``.
    grace_days : int, optional
        Default ``renewals.grace_days``.
    config : path or mapping, optional

    Returns
    -------
    DataFrame
        One row per relationship, columns :data:`HISTORY_COLUMNS`: ``status`` is
        ``active`` (cover runs past ``as_of``), ``pending`` (cover ended within the grace
        window, the renewal is still open) or ``churned``; ``periods`` and ``churned`` are
        the sBG's data (a pending customer has renewed one time fewer than the periods she
        has completed); ``renewals`` and ``decisions`` count the renewal decisions seen and
        those that were renewals; ``tier_date`` is the date whose tier describes the
        relationship: ``as_of`` for a current customer, one period before the cover ended
        for one who left (her tier at ``as_of``, without orders, says nothing about the
        customer she was). ``attrs`` hold ``as_of``, ``period`` and ``grace_days``.

    Raises
    ------
    ValueError
        For a contract without customer, start or end, or ending before it starts (naming
        the row).

    Examples
    --------
    A customer renewing every year since 2023 (three renewals by 2026-09-30), one who left
    after two years, one whose contract ended 30 days ago (renewal pending):

    >>> contracts = pd.DataFrame({
    ...     "customer_id": ["A", "A", "A", "A", "B", "B", "C"],
    ...     "contract_start": pd.to_datetime(["2023-01-01", "2024-01-01", "2025-01-01", "2026-01-01",
    ...                                       "2023-03-01", "2024-03-01", "2025-09-01"]),
    ...     "contract_end": pd.to_datetime(["2023-12-31", "2024-12-31", "2025-12-31", "2026-12-31",
    ...                                     "2024-02-29", "2025-02-28", "2026-08-31"])})
    >>> h = renewal_history(contracts, "2026-09-30")
    >>> h[["customer_id", "status", "periods", "churned", "renewals", "decisions"]]
      customer_id   status  periods  churned  renewals  decisions
    0           A   active        3    False         3          3
    1           B  churned        2     True         1          2
    2           C  pending        0    False         0          0
    """
    cfg = load_renewals_config(config)
    period = cfg.period if period is None else period
    months = period_months(period)
    grace = cfg.grace_days if grace_days is None else int(grace_days)
    if grace < 0:
        raise ValueError(f"grace_days must be >= 0, got {grace_days}")
    as_of = pd.Timestamp(as_of).normalize()
    period_days = months * 365.25 / 12
    frame = _check_contracts(contracts)
    frame = frame.loc[frame["contract_start"] <= as_of]
    frame = frame.sort_values(["customer_id", "contract_start", "contract_end"], kind="stable").reset_index(drop=True)
    day = pd.Timedelta(days=1)

    customer = frame["customer_id"]
    cover_end = frame.groupby(customer, sort=False)["contract_end"].cummax()
    previous_end = cover_end.groupby(customer, sort=False).shift(1)
    first = previous_end.isna()
    gap = (frame["contract_start"] - previous_end - day).dt.days
    new = first | (gap > grace)
    relationship = new.astype(int).groupby(customer, sort=False).cumsum()
    # days covered up to as_of, each day once: a contract adds what it runs past the cover so far
    covered_from = frame["contract_start"].where(new | (frame["contract_start"] > previous_end), previous_end + day)
    covered_to = frame["contract_end"].clip(upper=as_of)
    added = ((covered_to - covered_from).dt.days + 1).clip(lower=0)
    grouped = frame.assign(relationship=relationship, added=added).groupby(["customer_id", "relationship"], sort=True)
    out = grouped.agg(first_start=("contract_start", "min"), last_end=("contract_end", "max"),
                      contracts=("contract_start", "size"), covered_days=("added", "sum")).reset_index()

    covered = out["covered_days"].to_numpy(dtype=float)
    last_end = out["last_end"]
    ended = (as_of - last_end).dt.days  # > 0: the cover ended before as_of
    churned = (ended > grace).to_numpy()
    pending = ((ended > 0) & ~(ended > grace)).to_numpy()
    # anniversaries passed by a current customer: whole periods of calendar months from the day
    # her cover would have started without its gaps to as_of (the first day of a period is its
    # renewal, so a contract ending on as_of has not been renewed yet)
    start = as_of - pd.to_timedelta(out["covered_days"] - 1, unit="D")
    full_months = ((as_of.year - start.dt.year) * 12 + (as_of.month - start.dt.month)
                   - ((as_of.day < start.dt.day) & (not as_of.is_month_end)).astype(int))
    whole = (full_months // months).to_numpy(dtype=float)
    served = np.maximum(np.rint(covered / period_days), 1)  # periods a leaver was a customer
    periods = np.where(churned, served, np.where(pending, np.maximum(np.rint(covered / period_days) - 1, 0), whole))
    out["status"] = np.where(churned, "churned", np.where(pending, "pending", "active"))
    out["periods"] = periods.astype(np.int64)
    out["churned"] = churned
    out["renewals"] = (out["periods"] - out["churned"].astype(np.int64)).astype(np.int64)
    out["decisions"] = out["periods"]
    out["tier_date"] = (last_end - pd.DateOffset(months=months)).where(out["churned"], as_of).clip(upper=as_of)
    out = out[HISTORY_COLUMNS]
    out.attrs.update({"as_of": as_of, "period": str(period), "period_months": months, "grace_days": grace})
    return out


def renewal_table(history: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """The counts :meth:`ShiftedBetaGeo.fit_table` takes: ``periods``, ``churned``, ``n_customers``.

    Parameters
    ----------
    history : DataFrame
        From :func:`renewal_history` (or any table with ``periods`` and ``churned``).
    by : str, optional
        A column of ``history`` (e.g. ``tier``): one set of rows per value, in a first column.

    Examples
    --------
    >>> from segkit.models import cohort_renewals
    >>> history = pd.DataFrame({"periods": [1, 1, 2, 3, 3], "churned": [True, True, True, False, False]})
    >>> renewal_table(history)
       periods  churned  n_customers
    0        1     True          2.0
    1        2     True          1.0
    2        3    False          2.0
    >>> renewal_table(history).equals(cohort_renewals([5, 3, 2, 2]))
    True
    """
    keys = ([by] if by else []) + ["periods", "churned"]
    counts = history.groupby(keys, sort=True).size().rename("n_customers").astype(np.float64).reset_index()
    counts["periods"] = counts["periods"].astype(np.int64)
    counts["churned"] = counts["churned"].astype(bool)
    # churners first within a period, as cohort_renewals writes them
    counts = counts.sort_values(keys[:-1] + ["churned"], ascending=[True] * (len(keys) - 1) + [False], kind="stable")
    return counts.reset_index(drop=True)


@dataclass
class RenewalsByTier:
    """What :func:`renewal_by_tier` returns (numbers and keys; words come from the labels).

    Attributes
    ----------
    summary : DataFrame
        Indexed by tier key, the all-tiers row ``"total"`` last: ``customers`` (distinct
        customers with contracts), ``relationships``, ``current`` (active or pending),
        ``churned``, ``decisions``, ``renewals``, ``observed_rate`` (renewals / decisions
        seen), ``model`` (``"sbg"``, or ``"geometric"``: the sBG's limit without
        heterogeneity), ``alpha``, ``beta`` (NaN for the geometric model), ``churn_rate``
        (a new customer's chance to leave at her first decision: alpha/(alpha+beta), or the
        geometric model's one rate), ``basis`` (``"tier"``: fitted on the tier;
        ``"overall"``: the all-tiers model), ``basis_reason`` (why not the tier's own:
        ``few`` relationships, ``no_churn``, ``no_renewal``, ``no_fit``; empty otherwise),
        ``next_renewal`` (mean over the current customers of the chance to renew at their
        next decision), ``remaining_periods`` and ``remaining_years`` (mean discounted
        expected remaining lifetime of the current customers, DERL, Fader & Hardie 2010).
    curve : DataFrame
        Index ``k`` = 0..horizon (periods from now), one column per tier key and
        ``"total"``: the expected share of the current customers still customers after
        ``k`` more periods (1 at ``k = 0``).
    by_renewals : DataFrame
        Index ``n`` = 0..horizon-1 (renewals made), one column per tier: the chance that a
        customer who has renewed ``n`` times renews the next time, ``(beta+n)/(alpha+beta+n)``.
    models : dict
        Tier key (and ``"total"``) -> the fitted :class:`~segkit.models.ShiftedBetaGeo` (or
        :class:`GeometricRenewals`).
    period : str
    discount : float
        Discount rate per period of the remaining lifetime.
    """

    summary: pd.DataFrame
    curve: pd.DataFrame
    by_renewals: pd.DataFrame
    models: dict = field(repr=False)
    period: str = "12M"
    discount: float = 0.1


def renewal_by_tier(
    history: pd.DataFrame,
    tiers: pd.Series | None = None,
    *,
    order: list[str] | None = None,
    scope: Any = None,
    config: str | Path | Mapping[str, Any] | None = None,
) -> RenewalsByTier:
    """Fit the sBG per tier on a renewal history and predict for each tier's customers.

    Parameters
    ----------
    history : DataFrame
        From :func:`renewal_history`, with a ``tier`` column unless ``tiers`` is given.
    tiers : Series, optional
        Tier key per customer id (e.g. ``assign_tiers(...)["tier"]``); a relationship of a
        customer without a tier counts in ``"total"`` only.
    order : list of str, optional
        Tier keys in the order of the tables (default: sorted).
    scope : collection of customer ids, optional
        Describe only these customers (an owner's or a department's): the models are fitted
        on every relationship of ``history``, the counts, rates, predictions and curves are
        those of the customers in scope.
    config : path or mapping, optional
        ``renewals.min_customers``, ``renewals.horizon_periods``; the discount rate is
        ``clv.annual_discount_rate`` per year (:func:`period_discount`).

    Returns
    -------
    RenewalsByTier

    Raises
    ------
    RenewalsNotFitted
        A ValueError: even the all-tiers model cannot be fitted (nobody churned, nobody
        renewed, or no contract); ``reason`` is the key (``no_churn``, ``no_renewal``,
        ``no_fit``, ``empty``), the message says it in words.

    Examples
    --------
    Two tiers of the "regular" and "high end" cohorts of Fader & Hardie (2007):

    >>> from segkit.models import cohort_renewals
    >>> def cohort(active, tier):
    ...     rows = cohort_renewals(active)
    ...     rows = rows.loc[rows.index.repeat(rows["n_customers"].astype(int))]
    ...     return rows[["periods", "churned"]].assign(tier=tier)
    >>> history = pd.concat([cohort([1000, 631, 468, 382, 326, 289, 262, 241], "regular"),
    ...                      cohort([1000, 869, 743, 653, 593, 551, 517, 491], "high_end")])
    >>> result = renewal_by_tier(history)
    >>> result.summary[["alpha", "beta", "basis"]].round(3)
              alpha   beta basis
    tier
    high_end  0.668  3.806  tier
    regular   0.704  1.182  tier
    total     0.581  1.679  tier
    >>> result.by_renewals.loc[[0, 1, 4], ["regular", "high_end"]].round(3)
       regular  high_end
    n
    0    0.627     0.851
    1    0.756     0.878
    4    0.880     0.921
    """
    cfg = load_renewals_config(config)
    period = history.attrs.get("period", cfg.period)
    months = history.attrs.get("period_months", period_months(period))
    discount = period_discount(period, config)
    frame = history.copy()
    if "customer_id" not in frame:
        frame["customer_id"] = np.arange(len(frame)).astype(str)
    if tiers is not None:
        frame["tier"] = frame["customer_id"].astype(str).map(tiers.rename(index=str))
    elif "tier" not in frame:
        raise KeyError("renewal_by_tier needs the tier of each relationship: a tier column in history, or tiers=")
    keys = [k for k in (order or sorted(frame["tier"].dropna().unique())) if (frame["tier"] == k).any()]
    shown = frame if scope is None else frame.loc[frame["customer_id"].astype(str).isin(pd.Index(scope).astype(str))]

    total = _fit(frame) if len(frame) else "empty"
    if isinstance(total, str):
        raise RenewalsNotFitted(total)
    models, rows, curves, by_n = {}, {}, {}, {}
    horizon = cfg.horizon_periods
    for key in [*keys, TOTAL]:
        if key == TOTAL:
            model, reason, part = total, "", shown
        else:
            fit_on = frame.loc[frame["tier"] == key]
            fitted = _fit(fit_on) if len(fit_on) >= cfg.min_customers else "few"
            model, reason = (total, fitted) if isinstance(fitted, str) else (fitted, "")
            part = shown.loc[shown["tier"] == key]
        models[key] = model
        current = part.loc[~part["churned"].astype(bool), "periods"].to_numpy(dtype=float)
        alpha, beta = model.params_.get("alpha", np.nan), model.params_.get("beta", np.nan)
        decisions = int(part["periods"].sum()) if "decisions" not in part else int(part["decisions"].sum())
        renewals = int((part["periods"] - part["churned"].astype(int)).sum()) if "renewals" not in part \
            else int(part["renewals"].sum())
        if len(current):
            remaining = float(np.mean(model.expected_remaining_lifetime(current, discount)))
            next_renewal = float(np.mean(model.renewal_probability(current)))
            curves[key] = _retained(model, current, horizon).mean(axis=0)
        else:
            remaining = next_renewal = np.nan
            curves[key] = np.full(horizon + 1, np.nan)
        by_n[key] = np.asarray(model.renewal_probability(np.arange(horizon)), dtype=float)
        rows[key] = {
            "customers": int(part["customer_id"].nunique()), "relationships": len(part), "current": len(current),
            "churned": int(part["churned"].astype(bool).sum()), "decisions": decisions, "renewals": renewals,
            "observed_rate": renewals / decisions if decisions else np.nan,
            "model": "geometric" if isinstance(model, GeometricRenewals) else "sbg", "alpha": alpha, "beta": beta,
            "churn_rate": 1 - float(model.renewal_probability(0)), "basis": "overall" if reason else "tier",
            "basis_reason": reason,
            "next_renewal": next_renewal, "remaining_periods": remaining, "remaining_years": remaining * months / 12,
        }
    summary = pd.DataFrame.from_dict(rows, orient="index")
    summary.index.name = "tier"
    curve = pd.DataFrame(curves, index=pd.RangeIndex(horizon + 1, name="k"))
    by_renewals = pd.DataFrame(by_n, index=pd.RangeIndex(horizon, name="n"))
    return RenewalsByTier(summary=summary, curve=curve, by_renewals=by_renewals, models=models, period=str(period),
                          discount=discount)



class GeometricRenewals:
    """The sBG's limit without heterogeneity: every customer leaves with one chance ``theta``.

    When the renewals show no difference between customers, the sBG's likelihood keeps
    rising, ever more slowly, as alpha and beta grow with ``alpha/(alpha+beta)`` fixed; its
    limit is the geometric model. ``theta``'s maximum-likelihood value is the churns over the
    renewal decisions seen (each churner's ``periods`` and each current customer's
    ``periods`` are decisions). The methods are those of
    :class:`~segkit.models.ShiftedBetaGeo` that :func:`renewal_by_tier` uses.

    Examples
    --------
    >>> from segkit.models import cohort_renewals
    >>> g = GeometricRenewals().fit_table(cohort_renewals([1000, 800, 640, 512]), sample_weight="n_customers")
    >>> round(g.params_["theta"], 6), float(g.renewal_probability(3))
    (0.2, 0.8)
    >>> round(float(g.expected_remaining_lifetime(0, discount=0.1)), 6)  # 0.8 / (1 - 0.8 / 1.1)
    2.933333
    """

    def fit_table(self, table: pd.DataFrame, sample_weight: str = "n_customers") -> GeometricRenewals:
        weight = table[sample_weight].to_numpy(dtype=float)
        churns = float(weight @ table["churned"].to_numpy(dtype=float))
        decisions = float(weight @ table["periods"].to_numpy(dtype=float))
        self.params_ = {"theta": churns / decisions}
        self.n_customers_ = int(round(weight.sum()))
        return self

    def renewal_probability(self, periods: Any) -> np.ndarray:
        return np.full(np.shape(periods), 1.0 - self.params_["theta"])

    def expected_remaining_lifetime(self, periods: Any, discount: float) -> np.ndarray:
        """``sum_j q^j / (1+d)^(j-1) = q / (1 - q/(1+d))``, q = 1 - theta."""
        q = 1.0 - self.params_["theta"]
        return np.full(np.shape(periods), q / (1.0 - q / (1.0 + float(discount))))


def _fit(part: pd.DataFrame) -> ShiftedBetaGeo | GeometricRenewals | str:
    """The sBG fitted on ``part``, its geometric limit when the likelihood is flat, or the key
    of why neither can be."""
    churned = part["churned"].astype(bool)
    if not churned.any():
        return "no_churn"
    if not (part["periods"] - churned.astype(int) > 0).any():
        return "no_renewal"
    table = renewal_table(part)
    try:
        return ShiftedBetaGeo().fit_table(table, sample_weight="n_customers")
    except ConvergenceError:  # alpha and beta not pinned down: no heterogeneity to see
        return GeometricRenewals().fit_table(table, sample_weight="n_customers")
    except ValueError:
        return "no_fit"


def _retained(model: ShiftedBetaGeo | GeometricRenewals, periods: np.ndarray, horizon: int) -> np.ndarray:
    """Per current customer (rows) the chance to be a customer after k = 0..horizon more
    periods, ``S(n+k)/S(n)``: ``B(alpha, beta+n+k)/B(alpha, beta+n)`` for the sBG, ``q^k`` for
    the geometric model."""
    from scipy.special import betaln

    k = np.arange(horizon + 1, dtype=float)
    n = np.asarray(periods, dtype=float)[:, None]
    if isinstance(model, GeometricRenewals):
        return np.broadcast_to((1.0 - model.params_["theta"]) ** k, (n.shape[0], k.size)).copy()
    alpha, beta = model.params_["alpha"], model.params_["beta"]
    return np.exp(betaln(alpha, beta + n + k[None, :]) - betaln(alpha, beta + n))

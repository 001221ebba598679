"""A/B tests (A/B测试): stratified assignment, evaluation with a stated verdict, sample sizes.

The handbook's experiment (business-rules.md section 10): try a new tactic on 20% of the
potential customers, compare their repurchase rate with the rest, roll out only if the
difference holds. :func:`ab_assign` draws the treatment group (reproducible, stratified),
:func:`ab_outcomes` measures repurchase and revenue in the test window, :func:`ab_evaluate`
compares the groups and decides "roll out", "keep testing" or "no effect" (keys and
numbers), and :func:`describe_ab` says it in words with the rule applied; :func:`sample_size`, :func:`minimum_detectable_effect` and :func:`ab_power` plan
the test.

Statistics:

* **Rates** (a 0/1 metric): difference of proportions with a Wald interval
  ``d ± z·sqrt(p1(1-p1)/n1 + p2(1-p2)/n2)``; the p-value of the two-proportion z-test with
  the pooled proportion (identical to Pearson's chi-square test of the 2x2 table without
  continuity correction: ``z² = χ²``).
* **Continuous metrics** (revenue): Welch's t-test and its interval (Welch-Satterthwaite
  degrees of freedom) and a seeded percentile bootstrap interval of the difference in means.
* **Planning**: for rates the normal approximation of R's ``power.prop.test``
  (Fleiss, Levin & Paik 2003, sec. 4.2, without continuity correction), generalised to
  unequal groups; for means the noncentral t of R's ``power.t.test``.

Why this module is long: assignment, planning (power and sample size) and analysis of one
experiment share the group definitions and the metric kinds (rates, means), and each test is
checked against R's reference functions in the same terms; split, each part would re-read the
same configuration.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import Field
from scipy import optimize, stats

from segkit.config import StrictModel, load_section, register_section
from segkit.io import Dataset
from segkit.labels import check_lang

__all__ = [
    "AbTestConfig",
    "load_abtest_config",
    "ab_assign",
    "ab_outcomes",
    "ab_evaluate",
    "describe_ab",
    "ab_power",
    "sample_size",
    "minimum_detectable_effect",
    "TREATMENT",
    "CONTROL",
]

TREATMENT, CONTROL = "treatment", "control"
MISSING_STRATUM = "(missing)"


# --- configuration -------------------------------------------------------------------------


class _Text(StrictModel):
    zh: str
    en: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@register_section("abtest")
class AbTestConfig(StrictModel):
    """The ``abtest`` configuration section (``segkit/defaults/abtest.yaml``)."""

    share: float = Field(gt=0, lt=1)
    alpha: float = Field(gt=0, lt=1)
    power: float = Field(gt=0, lt=1)
    min_relative_lift: float = Field(ge=0)
    n_boot: int = Field(ge=100)
    groups: dict[str, _Text]
    tests: dict[str, _Text]
    verdicts: dict[str, _Text]
    min_events: int = Field(ge=0)
    min_group_size: int = Field(ge=2)
    rule: _Text
    small_sample: dict[str, _Text]
    explanation: _Text


def load_abtest_config(config: str | Path | Mapping[str, Any] | AbTestConfig | None = None) -> AbTestConfig:
    """The ``abtest`` section: package defaults overridden by ``config``, validated.

    Examples
    --------
    >>> load_abtest_config().share
    0.2
    """
    if isinstance(config, AbTestConfig):
        return config
    cfg = load_section("abtest", AbTestConfig, config)
    for section, keys in (("groups", (TREATMENT, CONTROL)), ("verdicts", ("roll_out", "keep_testing", "no_effect")),
                          ("tests", ("two_proportion_z", "welch_t")), ("small_sample", ("rate", "continuous"))):
        missing = [k for k in keys if k not in getattr(cfg, section)]
        if missing:
            raise ValueError(f"abtest.{section}: missing {missing}; needed: {list(keys)}")
    return cfg


# --- assignment ----------------------------------------------------------------------------


def _stratum_seed(seed: int, stratum: str) -> np.random.Generator:
    """A generator per stratum: adding a stratum never changes another stratum's draw."""
    return np.random.default_rng(np.random.SeedSequence([int(seed), zlib.crc32(stratum.encode("utf-8"))]))


def ab_assign(
    customers: pd.DataFrame | pd.Series | pd.Index | Iterable[str],
    share: float | None = None,
    stratify: str | None = "tier",
    seed: int = 0,
    config: str | Path | Mapping[str, Any] | AbTestConfig | None = None,
) -> pd.DataFrame:
    """Draw a treatment group: reproducible, stratified, exact per-stratum shares.

    Within each stratum (e.g. each tier) the customers are sorted by id and a seeded random
    permutation picks ``round(share * n)`` of them, rounding halves up
    (``floor(share * n + 0.5)``): a stratum of 12 at 20% gets 2 (2.4), one of 13 gets 3
    (2.6), one of 5 gets exactly 1; a stratum of 2 gets 0 (0.4). Each stratum has its own
    random stream derived from ``(seed, stratum)``, so the same customers and seed always
    give the same groups whatever the row order, and adding a stratum leaves the others'
    draws unchanged.

    Parameters
    ----------
    customers : DataFrame, Series, Index or list of ids
        The customers in the experiment. A DataFrame is indexed by ``customer_id`` (or has
        that column) and holds the ``stratify`` column, e.g. a tier table restricted to the
        potential customers.
    share : float, optional
        Share in the treatment group, 0 < share < 1; default from the ``abtest`` config (0.2).
    stratify : str or None, default "tier"
        Column to stratify by; None for a simple random split.
    seed : int, default 0
    config : path, mapping or AbTestConfig, optional
        A configuration whose ``abtest.share`` is the default share.

    Returns
    -------
    DataFrame
        Indexed by customer_id in the input order: the ``stratify`` column (when given) and
        ``group`` (``"treatment"`` / ``"control"``). ``attrs`` hold share, seed, stratify.

    Examples
    --------
    >>> import pandas as pd
    >>> tiers = pd.DataFrame({"tier": ["potential"] * 10 + ["core"] * 5},
    ...                      index=pd.Index([f"C{i:02d}" for i in range(15)], name="customer_id"))
    >>> a = ab_assign(tiers, share=0.2, seed=7)
    >>> a.groupby("tier")["group"].value_counts().unstack()
    group      control  treatment
    tier                         
    core             4          1
    potential        8          2
    >>> a.equals(ab_assign(tiers.iloc[::-1], share=0.2, seed=7).loc[a.index])
    True
    """
    cfg = load_abtest_config(config)
    share = cfg.share if share is None else float(share)
    if not 0 < share < 1:
        raise ValueError(f"share must be between 0 and 1 (exclusive), got {share}")
    if isinstance(customers, pd.DataFrame):
        frame = customers.set_index("customer_id") if "customer_id" in customers.columns else customers
        ids = frame.index
    else:
        if stratify is not None:
            raise ValueError(f"to stratify by {stratify!r} pass a table with that column (e.g. the tier table); "
                             "for a list of ids use stratify=None")
        ids = pd.Index(customers.index if isinstance(customers, pd.Series) and customers.index.name == "customer_id"
                       else list(customers))
        frame = pd.DataFrame(index=ids)
    ids = pd.Index(ids.astype("str"), name="customer_id")
    if ids.has_duplicates:
        dup = ids[ids.duplicated()].unique()
        raise ValueError(f"{len(dup)} customer id(s) appear more than once (e.g. {', '.join(dup[:5])}); "
                         "each customer can be assigned once")
    if stratify is not None:
        if stratify not in frame.columns:
            raise ValueError(f"customers has no column {stratify!r} to stratify by; columns: {list(frame.columns)}; "
                             "pass stratify=None for a simple random split")
        strata = frame[stratify].astype("object").where(frame[stratify].notna(), MISSING_STRATUM).astype("str")
        strata.index = ids
    else:
        strata = pd.Series("all", index=ids, dtype="str")
    group = pd.Series(CONTROL, index=ids, dtype="object")
    for stratum in sorted(strata.unique()):
        members = np.sort(ids[(strata == stratum).to_numpy()].to_numpy(dtype=str))
        n_treat = math.floor(share * len(members) + 0.5)
        chosen = _stratum_seed(seed, stratum).permutation(len(members))[:n_treat]
        group.loc[members[chosen]] = TREATMENT
    out = pd.DataFrame(index=ids)
    if stratify is not None:
        out[stratify] = strata
    out["group"] = group.astype("str")
    out.attrs = {"share": share, "seed": seed, "stratify": stratify}
    return out


def ab_outcomes(ds: Dataset, assignment: pd.DataFrame, start: Any, end: Any) -> pd.DataFrame:
    """Outcomes of each assigned customer in the test window ``(start, end]``.

    ``repurchase`` is True when the customer placed at least one order of positive amount in
    the window; ``orders`` counts those orders; ``revenue`` is the window's net amount
    (refunds included).

    Parameters
    ----------
    ds : Dataset
    assignment : DataFrame
        From :func:`ab_assign` (indexed by customer_id, with ``group``).
    start, end : date-like
        The window, open on the left and closed on the right like the snapshot's windows.

    Returns
    -------
    DataFrame
        ``assignment``'s columns plus ``repurchase`` (bool), ``orders`` (int), ``revenue``.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError(f"the window ends ({end.date()}) before it starts ({start.date()})")
    tx = ds.transactions
    window = tx.loc[(tx["order_date"] > start) & (tx["order_date"] <= end)]
    orders = (window["amount"] > 0).groupby(window["customer_id"]).sum()
    revenue = window.groupby("customer_id")["amount"].sum()
    out = assignment.copy()
    out["orders"] = orders.reindex(out.index, fill_value=0).astype("int64")
    out["repurchase"] = out["orders"] >= 1
    out["revenue"] = revenue.reindex(out.index, fill_value=0.0).round(2).astype("float64")
    out.attrs = {**assignment.attrs, "window": (start, end)}
    return out


# --- statistics ----------------------------------------------------------------------------


def _proportion_test(x1: int, n1: int, x2: int, n2: int, alpha: float) -> dict[str, float]:
    """Two-proportion z-test (pooled) and Wald interval of p1 - p2."""
    p1, p2 = x1 / n1, x2 / n2
    diff = p1 - p2
    pooled = (x1 + x2) / (n1 + n2)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if se0 > 0:
        z = diff / se0
        p_value = 2 * stats.norm.sf(abs(z))
    else:  # every customer in both groups has the same outcome: no difference to test
        z, p_value = 0.0, 1.0
    se = math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    half = stats.norm.ppf(1 - alpha / 2) * se
    return {"treatment_mean": p1, "control_mean": p2, "difference": diff, "ci_low": diff - half,
            "ci_high": diff + half, "statistic": z, "p_value": float(p_value)}


def _welch_test(a: np.ndarray, b: np.ndarray, alpha: float) -> dict[str, float]:
    """Welch's t-test and interval of mean(a) - mean(b)."""
    n1, n2 = len(a), len(b)
    m1, m2 = float(a.mean()), float(b.mean())
    v1, v2 = a.var(ddof=1) / n1, b.var(ddof=1) / n2
    se = math.sqrt(v1 + v2)
    diff = m1 - m2
    if se > 0:
        df = (v1 + v2) ** 2 / (v1**2 / (n1 - 1) + v2**2 / (n2 - 1))
        t = diff / se
        p_value = 2 * stats.t.sf(abs(t), df)
        half = stats.t.ppf(1 - alpha / 2, df) * se
    else:
        t, p_value, half = (0.0, 1.0, 0.0) if diff == 0 else (math.copysign(math.inf, diff), 0.0, 0.0)
    return {"treatment_mean": m1, "control_mean": m2, "difference": diff, "ci_low": diff - half,
            "ci_high": diff + half, "statistic": float(t), "p_value": float(p_value)}


def _bootstrap_interval(a: np.ndarray, b: np.ndarray, alpha: float, n_boot: int, seed: int) -> tuple[float, float]:
    """Percentile bootstrap interval of mean(a) - mean(b), resampling within each group."""
    rng = np.random.default_rng(seed)
    diffs = np.empty(n_boot)
    chunk = max(1, min(n_boot, 2_000_000 // max(len(a), len(b), 1)))
    for start in range(0, n_boot, chunk):
        size = min(chunk, n_boot - start)
        ma = a[rng.integers(0, len(a), size=(size, len(a)))].mean(axis=1)
        mb = b[rng.integers(0, len(b), size=(size, len(b)))].mean(axis=1)
        diffs[start:start + size] = ma - mb
    low, high = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return float(low), float(high)


def _check_probability(name: str, value: float) -> float:
    if not 0 < value < 1:
        raise ValueError(f"{name} must be a proportion between 0 and 1 (exclusive), got {value}")
    return float(value)


def ab_power(
    effect: float,
    n_treatment: float,
    n_control: float | None = None,
    *,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
) -> float:
    """Power of the two-sided test to detect a difference ``effect`` (treatment − control).

    Give ``baseline`` (the control group's rate) for a rate, ``sd`` for a continuous metric.
    Rates use the normal approximation of R's ``power.prop.test``; means the noncentral t of
    ``power.t.test`` (in both, the small chance of rejecting in the wrong direction is not
    counted, as R's default ``strict = FALSE``).

    Examples
    --------
    R's documented examples: ``power.prop.test(n = 50, p1 = .50, p2 = .75)`` gives power
    0.740 and ``power.t.test(n = 20, delta = 1)`` gives 0.869.

    >>> round(ab_power(0.25, 50, baseline=0.50), 3)
    0.74
    >>> round(ab_power(1.0, 20, sd=1.0), 4)
    0.869
    """
    n1 = float(n_treatment)
    n2 = n1 if n_control is None else float(n_control)
    if n1 < 2 or n2 < 2:
        raise ValueError(f"each group needs at least 2 customers (got {n1:g} and {n2:g})")
    d = abs(float(effect))
    if (baseline is None) == (sd is None):
        raise ValueError("give baseline= (the control rate) for a rate or sd= for a continuous metric, not both")
    if sd is not None:
        if sd <= 0:
            raise ValueError(f"sd must be positive, got {sd}")
        df = n1 + n2 - 2
        ncp = d / (sd * math.sqrt(1 / n1 + 1 / n2))
        return float(stats.nct.sf(stats.t.ppf(1 - alpha / 2, df), df, ncp))
    p_control = _check_probability("baseline", baseline)
    p_treat = p_control + float(effect)
    if not 0 <= p_treat <= 1:
        raise ValueError(f"baseline + effect = {p_treat:g} is not a proportion")
    pooled = (n1 * p_treat + n2 * p_control) / (n1 + n2)
    null_sd = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    alt_sd = math.sqrt(p_treat * (1 - p_treat) / n1 + p_control * (1 - p_control) / n2)
    z_alpha = stats.norm.ppf(1 - alpha / 2)
    return float(stats.norm.cdf((d - z_alpha * null_sd) / alt_sd))


def sample_size(
    baseline: float | None = None,
    mde: float | None = None,
    *,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
    share: float = 0.5,
) -> pd.Series:
    """Customers needed to detect a difference ``mde`` with the given power.

    Parameters
    ----------
    baseline : float, optional
        The control group's rate (e.g. a repurchase rate of 0.30); for rates.
    mde : float
        The difference to detect (treatment − control), absolute: 0.05 = 5 percentage points
        for a rate, an amount for a continuous metric.
    sd : float, optional
        Standard deviation of a continuous metric (instead of ``baseline``).
    alpha : float, default 0.05
        Two-sided significance level.
    power : float, default 0.8
    share : float, default 0.5
        Share of the customers in the treatment group (0.2 for the handbook's 20% test).

    Returns
    -------
    Series
        ``n_treatment``, ``n_control`` and ``n_total`` (integers, rounded up).

    Examples
    --------
    R's documented example ``power.prop.test(p1 = .50, p2 = .75, power = .90)`` needs
    n = 76.7 per group, so 77; ``power.t.test(power = .90, delta = 1)`` needs 22.02, so 23:

    >>> sample_size(0.50, 0.25, power=0.9).tolist()
    [77, 77, 154]
    >>> sample_size(mde=1.0, sd=1.0, power=0.9).tolist()
    [23, 23, 46]
    """
    if mde is None or mde == 0:
        raise ValueError("give the difference to detect as mde= (non-zero)")
    _check_probability("power", power)
    _check_probability("share", share)
    ratio = (1 - share) / share  # control customers per treatment customer
    if sd is None:
        if baseline is None:
            raise ValueError("give baseline= (the control rate) for a rate or sd= for a continuous metric")
        p_control = _check_probability("baseline", baseline)
        p_treat = p_control + float(mde)
        _check_probability("baseline + mde", p_treat)
        pooled = (p_treat + ratio * p_control) / (1 + ratio)
        z_alpha, z_beta = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
        n_treat = ((z_alpha * math.sqrt(pooled * (1 - pooled) * (1 + 1 / ratio))
                    + z_beta * math.sqrt(p_treat * (1 - p_treat) + p_control * (1 - p_control) / ratio)) / mde) ** 2
    else:
        if baseline is not None:
            raise ValueError("give baseline= for a rate or sd= for a continuous metric, not both")

        def gap(n: float) -> float:
            return ab_power(mde, n, n * ratio, sd=sd, alpha=alpha) - power

        lower = max(2.0, 2.0 / ratio)  # both groups need at least 2 customers
        if gap(lower) >= 0:
            n_treat = lower
        else:
            upper = 4 * lower
            while gap(upper) < 0:
                upper *= 4
            n_treat = optimize.brentq(gap, lower, upper, xtol=1e-10)
    n_t = math.ceil(n_treat - 1e-9)
    n_c = math.ceil(n_treat * ratio - 1e-9)
    return pd.Series({"n_treatment": n_t, "n_control": n_c, "n_total": n_t + n_c}, dtype="int64", name="sample_size")


def minimum_detectable_effect(
    n_treatment: float,
    n_control: float | None = None,
    *,
    baseline: float | None = None,
    sd: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest increase (treatment − control) the test detects with the given power.

    Examples
    --------
    With 77 customers per group and a 50% baseline, an increase of about 25 points is
    detectable with 90% power (R: ``power.prop.test(n = 77, p1 = .5, power = .9)``):

    >>> round(minimum_detectable_effect(77, baseline=0.5, power=0.9), 4)
    0.2496
    """
    _check_probability("power", power)
    if sd is None and baseline is None:
        raise ValueError("give baseline= (the control rate) for a rate or sd= for a continuous metric")
    upper = (1 - _check_probability("baseline", baseline)) if sd is None else None

    def gap(d: float) -> float:
        return ab_power(d, n_treatment, n_control, baseline=baseline, sd=sd, alpha=alpha) - power

    if upper is None:
        upper = float(sd)
        while gap(upper) < 0:
            upper *= 2
    elif gap(upper) < 0:
        raise ValueError(f"with {n_treatment:g} and {n_control if n_control is not None else n_treatment:g} "
                         f"customers no increase from {baseline:g} reaches power {power}; test more customers")
    return float(optimize.brentq(gap, 1e-12, upper, xtol=1e-12))


# --- evaluation ----------------------------------------------------------------------------


def _is_binary(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values):
        return True
    if not pd.api.types.is_numeric_dtype(values):
        return False
    return bool(values.dropna().isin([0, 1]).all())


def _fmt_rate(x: float, lang: str, signed: bool = False) -> str:
    if not np.isfinite(x):
        return "—"
    if signed:
        unit = "个百分点" if lang == "zh" else " pp"
        return f"{100 * x:+.1f}{unit}"
    return f"{100 * x:.1f}%"


def _fmt_amount(x: float, signed: bool = False) -> str:
    if not np.isfinite(x):
        return "—"
    return f"{x:+,.2f}" if signed else f"{x:,.2f}"


def _fmt_p(p: float) -> str:
    if not np.isfinite(p):
        return "—"
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def ab_evaluate(
    outcomes: pd.DataFrame,
    metric: str = "repurchase",
    group_col: str = "group",
    *,
    treatment: str = TREATMENT,
    control: str = CONTROL,
    kind: str = "auto",
    by: str | None = None,
    min_effect: float | None = None,
    alpha: float | None = None,
    power: float | None = None,
    n_boot: int | None = None,
    seed: int = 0,
    config: Any = None,
) -> pd.DataFrame:
    """Compare a metric between the treatment and control groups and give a verdict.

    Rates (a 0/1 or boolean metric such as ``repurchase``) are compared with the
    two-proportion z-test and a Wald interval; continuous metrics (``revenue``) with Welch's
    t-test, its interval and a seeded percentile bootstrap interval. The verdict rule (in
    words: :func:`describe_ab`, column ``rule``):

    * **keep testing** (继续测试) while the sample is too small for the approximations
      (``enough_data`` False): a rate needs ``min_events`` (5) yes and no outcomes in each
      group, a continuous metric ``min_group_size`` (10) customers in each group;
    * **roll out** (推广): the difference is positive and significant (p < alpha);
    * **no effect** (无效果): the (1 - alpha) confidence interval lies entirely below the
      smallest difference worth acting on, ``min_effect`` (default: a ``min_relative_lift``
      of 10% of the control mean) -- this includes a harmful tactic;
    * **keep testing** (继续测试): anything else (the data cannot yet tell).

    Parameters
    ----------
    outcomes : DataFrame
        One row per customer with ``group_col`` and ``metric``, e.g. from :func:`ab_outcomes`.
        Rows with a missing metric are left out (and not counted in n).
    metric : str, default "repurchase"
        The outcome column.
    group_col : str, default "group"
    treatment, control : str
        The values of ``group_col`` naming the two groups.
    kind : {"auto", "rate", "continuous"}, default "auto"
        "auto" treats a boolean or 0/1 column as a rate.
    by : str, optional
        Also evaluate within each value of this column (e.g. ``tier``); the last row is the
        total over all customers.
    min_effect : float, optional
        Smallest difference worth acting on (absolute: 0.02 = 2 points for a rate).
    alpha, power, n_boot : optional
        Default from the ``abtest`` config (0.05, 0.8, 2000).
    seed : int, default 0
        Seed of the bootstrap.
    config : path, mapping or AbTestConfig, optional

    Returns
    -------
    DataFrame
        One row per ``by`` value and a ``total`` row (only ``total`` without ``by``):
        ``metric, kind, test (two_proportion_z or welch_t), n_treatment, n_control,
        treatment_mean, control_mean, difference, ci_low, ci_high, relative_lift, statistic,
        p_value, boot_ci_low, boot_ci_high, min_effect, mde, enough_data, verdict``
        (roll_out, keep_testing or no_effect). ``mde`` is the minimum detectable effect at
        ``power`` with these group sizes. Keys and numbers: :func:`describe_ab` gives the
        words (test, verdict, explanation, rule).

    Examples
    --------
    >>> import pandas as pd
    >>> outcomes = pd.DataFrame({"group": ["treatment"] * 200 + ["control"] * 800,
    ...                          "repurchase": [1] * 80 + [0] * 120 + [1] * 240 + [0] * 560})
    >>> r = ab_evaluate(outcomes).loc["total"]
    >>> float(round(r["difference"], 3)), float(round(r["p_value"], 4)), r["verdict"]
    (0.1, 0.0067, 'roll_out')
    """
    cfg = load_abtest_config(config)
    alpha = cfg.alpha if alpha is None else float(alpha)
    power = cfg.power if power is None else float(power)
    n_boot = cfg.n_boot if n_boot is None else int(n_boot)
    for col in (metric, group_col) + ((by,) if by else ()):
        if col not in outcomes.columns:
            raise ValueError(f"outcomes has no column {col!r}; columns: {list(outcomes.columns)}")
    groups = set(outcomes[group_col].dropna().unique())
    missing = [g for g in (treatment, control) if g not in groups]
    if missing:
        raise ValueError(f"{group_col!r} has no {' / '.join(map(repr, missing))} rows; values: {sorted(map(str, groups))}")
    data = outcomes.loc[outcomes[group_col].isin([treatment, control]) & outcomes[metric].notna()]
    if kind == "auto":
        kind = "rate" if _is_binary(data[metric]) else "continuous"
    if kind not in ("rate", "continuous"):
        raise ValueError(f"kind must be 'auto', 'rate' or 'continuous', got {kind!r}")
    if kind == "rate" and not _is_binary(data[metric]):
        raise ValueError(f"metric {metric!r} is not 0/1: a rate needs a boolean or 0/1 column")
    if kind == "continuous" and not pd.api.types.is_numeric_dtype(data[metric]):
        raise ValueError(f"metric {metric!r} is not numeric")

    parts: list[tuple[str, pd.DataFrame]] = []
    if by is not None:
        keys = data[by].astype("object").where(data[by].notna(), MISSING_STRATUM).astype("str")
        values = sorted(keys.unique())
        if by in ("tier", "rule_tier"):  # tiers in tier order, highest first
            from segkit.segment.tiers import load_tiers_config

            order = load_tiers_config().order
            values = [t for t in order if t in values] + [v for v in values if v not in order]
        parts.extend((str(k), data.loc[keys == k]) for k in values)
    parts.append(("total", data))
    rows = {name: _evaluate_one(part, metric, group_col, treatment, control, kind, alpha, power, n_boot,
                                seed, min_effect, cfg) for name, part in parts}
    out = pd.DataFrame.from_dict(rows, orient="index")
    out.index.name = by if by is not None else "group"
    out.attrs = {"metric": metric, "kind": kind, "alpha": alpha}
    return out


def describe_ab(result: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.DataFrame:
    """An :func:`ab_evaluate` result in words: the edge, from ``abtest.yaml``.

    Parameters
    ----------
    result : DataFrame
        From :func:`ab_evaluate` (its ``attrs`` carry ``alpha``).
    lang : {"zh", "en"}, default "zh"
    config : path, mapping or AbTestConfig, optional

    Returns
    -------
    DataFrame
        Indexed like ``result``: ``test_label``, ``verdict_label``, ``explanation`` (the
        groups' means, the difference and its interval, the lift and the p-value) and
        ``rule`` (the verdict rule with this test's numbers).

    Examples
    --------
    >>> import pandas as pd
    >>> outcomes = pd.DataFrame({"group": ["treatment"] * 200 + ["control"] * 800,
    ...                          "repurchase": [1] * 80 + [0] * 120 + [1] * 240 + [0] * 560})
    >>> said = describe_ab(ab_evaluate(outcomes), "en").loc["total"]
    >>> said["verdict_label"], said["explanation"]
    ('Roll out', 'Treatment 40.0%, control 30.0%; difference +10.0 pp (95% CI +2.5 pp to +17.5 pp), relative lift +33.3%, p = 0.007.')
    """
    check_lang(lang)
    cfg = load_abtest_config(config)
    alpha = float(result.attrs.get("alpha", cfg.alpha))
    confidence = f"{100 * (1 - alpha):g}"
    rows = {}
    for key, row in result.iterrows():
        if row["kind"] == "rate":
            fmt = {"treatment": _fmt_rate(row["treatment_mean"], lang), "control": _fmt_rate(row["control_mean"], lang),
                   "difference": _fmt_rate(row["difference"], lang, True),
                   "low": _fmt_rate(row["ci_low"], lang, True), "high": _fmt_rate(row["ci_high"], lang, True)}
            shown_effect = _fmt_rate(row["min_effect"], lang, True)
        else:
            fmt = {"treatment": _fmt_amount(row["treatment_mean"]), "control": _fmt_amount(row["control_mean"]),
                   "difference": _fmt_amount(row["difference"], True),
                   "low": _fmt_amount(row["ci_low"], True), "high": _fmt_amount(row["ci_high"], True)}
            shown_effect = _fmt_amount(row["min_effect"], True)
        lift = row["relative_lift"]
        fmt.update(confidence=confidence, lift=f"{100 * lift:+.1f}%" if np.isfinite(lift) else "—", p=_fmt_p(row["p_value"]))
        small = cfg.small_sample[row["kind"]].text(lang).format(min_events=cfg.min_events, min_group_size=cfg.min_group_size)
        rows[key] = {
            "test_label": cfg.tests[row["test"]].text(lang),
            "verdict_label": cfg.verdicts[row["verdict"]].text(lang),
            "explanation": cfg.explanation.text(lang).format(**fmt),
            "rule": cfg.rule.text(lang).format(small_sample=small, confidence=confidence, alpha=f"{alpha:g}",
                                               min_effect=shown_effect),
        }
    out = pd.DataFrame.from_dict(rows, orient="index").astype("str")
    out.index.name = result.index.name
    return out


def _evaluate_one(part: pd.DataFrame, metric: str, group_col: str, treatment: str, control: str, kind: str,
                  alpha: float, power: float, n_boot: int, seed: int, min_effect: float | None,
                  cfg: AbTestConfig) -> dict[str, Any]:
    a = part.loc[part[group_col] == treatment, metric].astype("float64").to_numpy()
    b = part.loc[part[group_col] == control, metric].astype("float64").to_numpy()
    row: dict[str, Any] = {"metric": metric, "kind": kind}
    row["test"] = "two_proportion_z" if kind == "rate" else "welch_t"
    row["n_treatment"], row["n_control"] = len(a), len(b)
    if len(a) < 2 or len(b) < 2:
        result = dict.fromkeys(("treatment_mean", "control_mean", "difference", "ci_low", "ci_high",
                                "statistic", "p_value"), np.nan)
        boot = (np.nan, np.nan)
    elif kind == "rate":
        result = _proportion_test(int(a.sum()), len(a), int(b.sum()), len(b), alpha)
        boot = (np.nan, np.nan)
    else:
        result = _welch_test(a, b, alpha)
        boot = _bootstrap_interval(a, b, alpha, n_boot, seed)
    row.update(result)
    control_mean = result["control_mean"]
    row["relative_lift"] = result["difference"] / control_mean if control_mean else np.nan
    row["boot_ci_low"], row["boot_ci_high"] = boot
    effect = min_effect if min_effect is not None else cfg.min_relative_lift * abs(control_mean)
    row["min_effect"] = float(effect) if np.isfinite(effect) else np.nan
    row["mde"] = _mde(a, b, kind, control_mean, alpha, power)

    if kind == "rate":
        events = (a.sum(), len(a) - a.sum(), b.sum(), len(b) - b.sum())
        row["enough_data"] = bool(min(events) >= cfg.min_events)
    else:
        row["enough_data"] = bool(min(len(a), len(b)) >= cfg.min_group_size)
    if not row["enough_data"]:
        verdict = "keep_testing"
    elif result["p_value"] < alpha and result["difference"] > 0:
        verdict = "roll_out"
    elif result["ci_high"] < row["min_effect"]:
        verdict = "no_effect"
    else:
        verdict = "keep_testing"
    row["verdict"] = verdict
    return row


def _mde(a: np.ndarray, b: np.ndarray, kind: str, control_mean: float, alpha: float, power: float) -> float:
    if len(a) < 2 or len(b) < 2:
        return np.nan
    try:
        if kind == "rate":
            if not 0 < control_mean < 1:
                return np.nan
            return minimum_detectable_effect(len(a), len(b), baseline=control_mean, alpha=alpha, power=power)
        pooled_sd = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
        if pooled_sd == 0:
            return np.nan
        return minimum_detectable_effect(len(a), len(b), sd=pooled_sd, alpha=alpha, power=power)
    except ValueError:
        return np.nan

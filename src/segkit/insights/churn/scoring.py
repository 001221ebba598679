"""Churn scoring: today's churn probability, risk level (:func:`risk_levels`), handbook
signals and the retention action of the customer's tier (business-rules.md sections 8 and 9),
with owner and department (:func:`score_churn`): keys and numbers. At the edge,
:func:`describe_scores` adds the words (tier, risk level, action) and
:func:`~segkit.insights.churn.explain.driver_reasons` the model's reasons.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from segkit.config import ConfigError
from segkit.features import snapshot
from segkit.insights.churn.config import ChurnConfig, load_churn_config
from segkit.insights.churn.features import BTYD_FEATURES, btyd_features, churn_features
from segkit.insights.churn.outcomes import _among, _eligible
from segkit.insights.churn.signals import risk_signals
from segkit.insights.churn.training import _is_fitted, _training_summary, fit_churn_model
from segkit.io import Dataset
from segkit.labels import check_lang, label

__all__ = ["risk_levels", "score_churn", "scoring_features", "describe_scores"]


def _action_keys(cfg: ChurnConfig, strategy: Any) -> None:
    allowed = sorted([*strategy.win_back, "tier", "at_risk"])
    used = {f"actions.by_level.{level}.{tier}": key for level, rule in cfg.actions.by_level.items() for tier, key in rule.items()}
    used["actions.dormant.action"] = cfg.actions.dormant.action
    for where, key in used.items():
        if key not in allowed:
            raise ConfigError(f"churn.{where}: unknown action {key!r}; allowed: {allowed} (strategy.yaml win_back keys, 'tier', or 'at_risk' for the tier's own at-risk action)")
    missing = [level for level in ("high", "medium", "low") if level not in cfg.actions.by_level]
    if missing:
        raise ConfigError(f"churn.actions.by_level: no action for risk level(s) {missing}")


def _with_model_columns(features: pd.DataFrame, fitted: Any) -> pd.DataFrame:
    """``features`` with the BTYD columns the model was fitted with and this date lacks (its
    BG/NBD fit failed, with a warning) added as missing values, which the model imputes."""
    names = getattr(fitted, "feature_names_in_", None)
    absent = [c for c in BTYD_FEATURES if names is not None and c in set(names) and c not in features.columns]
    return features.assign(**{c: np.nan for c in absent}) if absent else features


def scoring_features(snapshot: pd.DataFrame, customers: pd.Index, model: Any, config: Any = None,
                     horizon: str = "1Q") -> pd.DataFrame:
    """The features :func:`score_churn` gives ``model`` for ``customers``.

    ``snapshot`` is every customer's snapshot at the scoring date: the BTYD features come
    from a BG/NBD fitted on all of them (``training.btyd_features``), not only on the ones
    scored. The same table serves the scores and, at the edge, the reasons
    (:func:`~segkit.insights.churn.explain.driver_reasons`).
    """
    cfg = load_churn_config(config)
    btyd = btyd_features(snapshot, horizon, cfg) if cfg.training.btyd_features.enabled else None
    features = churn_features(snapshot.loc[customers], cfg, horizon=horizon, btyd=btyd)
    if btyd is not None and btyd.columns.empty:
        features = _with_model_columns(features, model)
    return features


def risk_levels(probability: pd.Series, config: Any = None) -> pd.Series:
    """Risk level ``high`` / ``medium`` / ``low`` from churn probabilities (inclusive lower
    bounds ``risk_levels.high`` and ``risk_levels.medium``).

    Examples
    --------
    >>> risk_levels(pd.Series([0.9, 0.5, 0.3, 0.1])).tolist()
    ['high', 'high', 'medium', 'low']
    """
    cut = load_churn_config(config).risk_levels
    level = np.where(probability >= cut.high, "high", np.where(probability >= cut.medium, "medium", "low"))
    return pd.Series(level, index=probability.index, dtype="str", name="risk_level")


def score_churn(
    ds: Dataset,
    model: Any = None,
    *,
    as_of: Any = None,
    horizon: str = "1Q",
    definition: str | Callable | None = None,
    config: Any = None,
    tiers: pd.DataFrame | pd.Series | None = None,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Churn probability, risk level, signals and retention action per active customer.

    Parameters
    ----------
    ds : Dataset
    model : fitted or unfitted estimator, or {"logistic", "tree", "gbm"}, optional
        A fitted model is used as it is (it must take :func:`churn_features` columns), e.g.
        one from :func:`fit_churn_model`; an unfitted one, a model name or None
        (``churn.yaml`` ``model``) is trained by :func:`fit_churn_model` on every quarter end
        whose outcome window ends by ``as_of``, on at most ``training.max_training_rows``
        rows (a seeded sample stratified by quarter end and label). Every active customer is
        scored, however many rows the model was trained on.
    as_of : date-like, optional
        Scoring date; default the data's as-of date.
    horizon, definition
        Used when training (see :func:`churn_training_table`).
    config : path, mapping or ChurnConfig, optional
        User configuration (sections ``churn``, ``strategy``, ``tiers``).
    tiers : DataFrame or Series, optional
        Tier per customer (column ``tier``); default :func:`segkit.segment.tiers.assign_tiers`.
    progress : bool or None, default None

    Returns
    -------
    DataFrame
        Indexed by customer_id, customers active in the year before ``as_of``, highest
        probability first: ``name``, ``tier``, ``churn_probability``, ``risk_level`` (high /
        medium / low), ``n_signals`` (handbook signals that hold), ``high_risk_rule``,
        ``action_key`` (a ``strategy.yaml`` ``win_back`` key, or ``tier`` for the tier's own
        plan), ``respond_within_hours``, ``owner``, ``department``, ``revenue_12m``,
        ``recency_days``. Keys and numbers only: :func:`describe_scores` gives the words,
        :func:`~segkit.insights.churn.explain.driver_reasons` the model's reasons.
        ``attrs`` holds ``as_of``, the training dates (``train_as_of``), a description of the
        model, ``training_rows`` (rows the model was fitted on) and
        ``training_rows_available`` (rows there were before the cap); these three are empty
        for a fitted model without ``training_summary_``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                       # doctest: +SKIP
    >>> risk = score_churn(ds)                                         # doctest: +SKIP
    >>> risk.loc[risk["risk_level"] == "high", ["name", "tier", "action_key"]]  # doctest: +SKIP
    """
    from segkit.insights.strategy import load_strategy
    from segkit.segment.tiers import assign_tiers

    cfg = load_churn_config(config)
    user_config = None if isinstance(config, ChurnConfig) else config
    strategy = load_strategy(user_config)
    _action_keys(cfg, strategy)
    when = pd.Timestamp(ds.as_of if as_of is None else as_of).normalize()
    if when > ds.as_of:
        raise ValueError(f"as_of {when.date()} is after the data's as-of date {ds.as_of.date()}")

    if model is not None and not isinstance(model, str) and _is_fitted(model):
        fitted = model
    else:
        fitted = fit_churn_model(ds, when, horizon, definition, model, config=cfg, progress=progress)
    summary = _training_summary(fitted) or {}
    train_dates = [pd.Timestamp(d) for d in summary.get("as_of", [])]

    snap = snapshot(ds, when)
    active = _among(snap.index, _eligible(ds, when, cfg.labels.active_months))
    features = scoring_features(snap, active, fitted, cfg, horizon)
    snap = snap.loc[active]
    probability = pd.Series(fitted.predict_proba(features)[:, 1], index=snap.index, name="churn_probability")
    level = risk_levels(probability, cfg)
    signals = risk_signals(snap, cfg)

    if tiers is None:
        tier_table = assign_tiers(snap, config=user_config, as_of=when)
    else:
        tier_table = tiers.to_frame("tier") if isinstance(tiers, pd.Series) else tiers
    tier = tier_table["tier"].reindex(snap.index).astype(object)

    # action: by risk level and tier; dormant customers get the recall offer (except core)
    key = pd.Series("tier", index=snap.index, dtype=object)
    for lvl, rule in cfg.actions.by_level.items():
        at_level = (level == lvl).to_numpy()
        key[at_level] = tier[at_level].map(rule).fillna(rule.get("default", "tier")).to_numpy()
    # "at_risk": the tier's own at-risk action, written once in strategy.yaml (tiers.<tier>.at_risk)
    own = key == "at_risk"
    key[own] = tier[own].map({t: entry.at_risk for t, entry in strategy.tiers.items()}).fillna("tier")
    dormant = cfg.actions.dormant
    recency = pd.to_numeric(snap["recency_days"], errors="coerce")
    is_dormant = level.isin(dormant.levels) & ~tier.isin(dormant.except_tiers) & (recency >= dormant.after_days)
    key[is_dormant.to_numpy()] = dormant.action
    hours_by_key = {k: entry.within_hours for k, entry in strategy.win_back.items()}
    hours = key.map(hours_by_key).where(key != "tier")

    out = pd.DataFrame({
        "name": snap["name"],
        "tier": tier,
        "churn_probability": probability,
        "risk_level": level,
        "n_signals": signals["n_signals"],
        "high_risk_rule": signals["high_risk"],
        "action_key": key.astype("str"),
        "respond_within_hours": hours.astype("Int64"),
        "owner": snap["owner"],
        "department": snap["department"],
        "revenue_12m": snap["revenue_12m"],
        "recency_days": snap["recency_days"],
    }, index=snap.index)
    out = out.sort_values("churn_probability", ascending=False, kind="stable")
    # attrs are copied with the frame: keep them small (the model's description, not the model)
    out.attrs.update({"as_of": when, "train_as_of": train_dates, "model": repr(fitted), "horizon": horizon,
                      "training_rows": summary.get("rows_used"), "training_rows_available": summary.get("rows_available")})
    return out


def describe_scores(scores: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.DataFrame:
    """The words of :func:`score_churn`'s keys: the edge where scores meet people.

    Parameters
    ----------
    scores : DataFrame
        From :func:`score_churn` (columns ``tier``, ``risk_level``, ``action_key``).
    lang : {"zh", "en"}, default "zh"
    config : path or mapping, optional
        User configuration (sections ``churn``, ``strategy``, ``tiers``).

    Returns
    -------
    DataFrame
        Indexed like ``scores``: ``tier_label``, ``risk_label`` and ``recommended_action``
        (the ``win_back`` action of ``action_key``, or the tier's own plan for ``tier``).

    Examples
    --------
    >>> scores = pd.DataFrame({"tier": ["core", "low_value"], "risk_level": ["high", "low"],
    ...                        "action_key": ["core_at_risk", "tier"]}, index=["C1", "C2"])
    >>> describe_scores(scores, "en")[["tier_label", "risk_label"]].values.tolist()
    [['Core', 'High'], ['Low value', 'Low']]
    """
    from segkit.insights.strategy import load_strategy
    from segkit.segment.tiers import load_tiers_config

    check_lang(lang)
    cfg = load_churn_config(config)
    user_config = None if isinstance(config, ChurnConfig) else config
    strategy = load_strategy(user_config)
    names = load_tiers_config(user_config).labels  # a user may rename tiers
    tier = scores["tier"].astype(object)
    tier_label = {t: getattr(names.get(t), lang, None) or label("tier", t, lang, default=t) for t in tier.dropna().unique()}
    tier_texts = {t: entry.summary.text(lang) for t, entry in strategy.tiers.items()}
    win_back_texts = {k: getattr(entry, lang) for k, entry in strategy.win_back.items()}
    key = scores["action_key"].astype(object)
    action = key.map(win_back_texts).where(key != "tier", tier.map(tier_texts)).fillna("")
    return pd.DataFrame({
        "tier_label": tier.map(tier_label).fillna("").astype("str"),
        "risk_label": scores["risk_level"].map(lambda k: cfg.risk_levels.labels[k].text(lang)).astype("str"),
        "recommended_action": action.astype("str"),
    }, index=scores.index)

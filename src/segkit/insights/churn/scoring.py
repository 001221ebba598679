"""Churn scoring: today's churn probability, risk level (:func:`risk_levels`), reasons and
the retention action of the customer's tier (business-rules.md sections 8 and 9), with owner
and department (:func:`score_churn`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from segkit.config import ConfigError
from segkit.features import snapshot
from segkit.insights.churn.config import ChurnConfig, load_churn_config
from segkit.insights.churn.explain import explain_drivers
from segkit.insights.churn.features import BTYD_FEATURES, btyd_features, churn_features
from segkit.insights.churn.outcomes import _among, _eligible
from segkit.insights.churn.signals import risk_signals
from segkit.insights.churn.training import _is_fitted, _training_summary, fit_churn_model
from segkit.io import Dataset
from segkit.labels import check_lang, label_series

__all__ = ["risk_levels", "score_churn"]


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
    lang: str = "zh",
    top: int = 3,
    progress: bool | None = None,
) -> pd.DataFrame:
    """Churn probability, risk level, reasons and retention action per active customer.

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
    lang : {"zh", "en"}, default "zh"
    top : int, default 3
        Model reasons per customer; 0 leaves ``top_reasons`` empty (faster, for when only the
        probabilities and risk levels are needed).
    progress : bool or None, default None

    Returns
    -------
    DataFrame
        Indexed by customer_id, customers active in the year before ``as_of``, highest
        probability first: ``name``, ``tier``, ``tier_label``, ``churn_probability``,
        ``risk_level`` (high / medium / low), ``risk_label``, ``top_reasons`` (drivers that raise
        the model's risk, in words), ``signals`` (handbook signals that hold), ``n_signals``,
        ``high_risk_rule``, ``recommended_action``, ``action_key``, ``respond_within_hours``,
        ``owner``, ``department``, ``revenue_12m``, ``recency_days``.
        ``attrs`` holds ``as_of``, the training dates (``train_as_of``), a description of the
        model, ``training_rows`` (rows the model was fitted on) and
        ``training_rows_available`` (rows there were before the cap); these three are empty
        for a fitted model without ``training_summary_``.

    Examples
    --------
    >>> import segkit
    >>> ds = segkit.load_dataset("data/sample")                       # doctest: +SKIP
    >>> risk = score_churn(ds, lang="en")                              # doctest: +SKIP
    >>> risk.loc[risk["risk_level"] == "high", ["name", "tier", "recommended_action"]]  # doctest: +SKIP
    """
    from segkit.insights.strategy import load_strategy
    from segkit.segment.tiers import assign_tiers

    check_lang(lang)
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
    btyd = btyd_features(snap, horizon, cfg) if cfg.training.btyd_features.enabled else None  # fitted on everyone
    active = _among(snap.index, _eligible(ds, when, cfg.labels.active_months))
    snap = snap.loc[active]
    features = churn_features(snap, cfg, horizon=horizon, btyd=btyd)
    if btyd is not None and btyd.columns.empty:
        features = _with_model_columns(features, fitted)
    probability = pd.Series(fitted.predict_proba(features)[:, 1], index=snap.index, name="churn_probability")
    level = risk_levels(probability, cfg)
    separator = "；" if lang == "zh" else "; "
    if int(top) < 0:
        raise ValueError(f"top must be 0 or more, got {top}")
    if hasattr(fitted, "drivers") and len(features) and int(top) > 0:
        drivers = explain_drivers(fitted, features, top, lang=lang, direction="raises", config=cfg)
        # a customer's drivers are consecutive rows, by rank: join each run of rows
        owners = drivers.index.to_numpy()
        starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]]) if len(owners) else np.array([], dtype=int)
        texts = drivers["text"].tolist()
        joined = [separator.join(texts[a:b]) for a, b in zip(starts, [*starts[1:], len(texts)], strict=True)]
        reasons = pd.Series(joined, index=owners[starts], dtype="str").reindex(snap.index).fillna("")
    else:
        reasons = pd.Series("", index=snap.index)
    signals = risk_signals(snap, cfg, lang)

    if tiers is None:
        tier_table = assign_tiers(snap, config=user_config, as_of=when)
    else:
        tier_table = tiers.to_frame("tier") if isinstance(tiers, pd.Series) else tiers
    tier = tier_table["tier"].reindex(snap.index).astype(object)
    if "tier_label" in tier_table:
        tier_label = tier_table["tier_label"].reindex(snap.index)
    else:
        tier_label = label_series("tier", tier, lang)

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
    tier_texts = {t: entry.summary.text(lang) for t, entry in strategy.tiers.items()}
    win_back_texts = {k: getattr(entry, lang) for k, entry in strategy.win_back.items()}
    hours_by_key = {k: entry.within_hours for k, entry in strategy.win_back.items()}
    by_tier = key == "tier"
    texts = key.map(win_back_texts).where(~by_tier, tier.map(tier_texts)).fillna("")
    hours = key.map(hours_by_key).where(~by_tier)

    out = pd.DataFrame({
        "name": snap["name"],
        "tier": tier,
        "tier_label": tier_label.astype("str"),
        "churn_probability": probability,
        "risk_level": level,
        "risk_label": level.map(lambda k: cfg.risk_levels.labels[k].text(lang)).astype("str"),
        "top_reasons": reasons.astype("str"),
        "signals": signals["reasons"],
        "n_signals": signals["n_signals"],
        "high_risk_rule": signals["high_risk"],
        "recommended_action": texts.astype("str"),
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


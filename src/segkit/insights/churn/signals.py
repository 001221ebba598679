"""The handbook's churn-risk signals (business-rules.md section 8): :func:`risk_signals`, one
yes/no column per signal, :func:`high_risk_list`, the rule-based high-risk list (no interaction
in the last 3 months and orders down by 50%), and at the edge :func:`signal_reasons`, why in words.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from segkit.insights.churn.config import SIGNALS, load_churn_config
from segkit.labels import check_lang

__all__ = ["risk_signals", "signal_reasons", "high_risk_list"]


def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"{what} needs the snapshot column(s) {', '.join(missing)} (see segkit.snapshot)")


def _num(frame: pd.DataFrame, column: str) -> pd.Series:
    return pd.to_numeric(frame[column], errors="coerce").astype("float64")


def _fill_reasons(mask: pd.Series, template: str, fields: dict[str, Any]) -> pd.Series:
    """The reason text where ``mask`` holds, "" elsewhere; fields may be scalars or Series."""
    out = pd.Series("", index=mask.index, dtype="str")
    hit = mask.to_numpy(dtype=bool)
    if hit.any():
        n = int(hit.sum())
        columns = {k: (v.to_numpy(dtype=object)[hit] if isinstance(v, pd.Series) else [v] * n) for k, v in fields.items()}
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())] if columns else [{}] * n
        out.iloc[np.flatnonzero(hit)] = [template.format(**row) for row in rows]
    return out


def _arrows(counts: list[pd.Series]) -> pd.Series:
    """Order counts given newest first, as text oldest first: ``5 -> 3 -> 0``."""
    as_text = [c.astype("Int64").astype("str") for c in reversed(counts)]
    text = as_text[0]
    for part in as_text[1:]:
        text = text + " -> " + part
    return text


def _evaluate(snapshot: pd.DataFrame, config: Any) -> tuple[dict[str, pd.Series], dict[str, dict[str, Any]]]:
    """Each signal's yes/no per customer and the numbers its reason quotes (by signal key)."""
    cfg = load_churn_config(config).signals

    unit_days = {"W": 7.0, "D": 1.0}.get(snapshot.attrs.get("btyd_unit", "W"), 7.0)
    index = snapshot.index
    false = pd.Series(False, index=index)
    flags: dict[str, pd.Series] = {}
    fields: dict[str, dict[str, Any]] = {}

    s = cfg.high_risk
    if s.enabled:
        contact_col = "interactions_3m" if s.no_interaction_months == 3 else "interactions_6m"
        if s.compare_months == 3:
            _require(snapshot, [contact_col, "orders_0_3m", "orders_3_6m"], "the high-risk rule")
            now, before = _num(snapshot, "orders_0_3m"), _num(snapshot, "orders_3_6m")
        else:
            _require(snapshot, [contact_col, "orders_6m", "orders_6_9m", "orders_9_12m"], "the high-risk rule")
            now = _num(snapshot, "orders_6m")
            before = _num(snapshot, "orders_6_9m") + _num(snapshot, "orders_9_12m")
        drop = 1.0 - now / before.where(before > 0)
        flag = (_num(snapshot, contact_col) == 0) & (drop >= s.order_drop - 1e-12)
        flags["high_risk"] = flag.fillna(False).astype(bool)
        fields["high_risk"] = {
            "months": s.no_interaction_months, "compare_months": s.compare_months, "drop": drop,
            "before": before.astype("Int64"), "now": now.astype("Int64"),
        }

    s = cfg.orders_falling
    if s.enabled:
        windows = ["orders_0_3m", "orders_3_6m", "orders_6_9m", "orders_9_12m"][: s.quarters + 1]
        _require(snapshot, windows, "the orders-falling signal")
        counts = [_num(snapshot, c) for c in windows]  # newest first
        flag = pd.Series(True, index=index)
        for newer, older in zip(counts, counts[1:]):
            flag &= newer < older
        flags["orders_falling"] = flag.fillna(False).astype(bool)
        fields["orders_falling"] = {"quarters": s.quarters, "counts": counts}

    s = cfg.low_satisfaction
    if s.enabled:
        _require(snapshot, ["satisfaction"], "the low-satisfaction signal")
        value = _num(snapshot, "satisfaction")
        flags["low_satisfaction"] = (value < s.below).fillna(False).astype(bool)
        fields["low_satisfaction"] = {"value": value, "below": s.below}

    s = cfg.key_contact_change
    if s.enabled:
        _require(snapshot, ["key_contact_changed_6m"], "the key-contact signal")
        flags["key_contact_change"] = snapshot["key_contact_changed_6m"].astype("boolean").fillna(False).astype(bool)
        fields["key_contact_change"] = {}

    s = cfg.complaints
    if s.enabled:
        column = f"complaints_{s.window_months}m"
        _require(snapshot, [column], "the complaints signal")
        count = _num(snapshot, column)
        flags["complaints"] = (count >= s.min_count).fillna(False).astype(bool)
        fields["complaints"] = {
            "months": s.window_months, "count": count.astype("Int64"),
        }

    s = cfg.cooperation_shortening
    if s.enabled:
        _require(snapshot, ["frequency", "recency", "recency_days"], "the cooperation-shortening signal")
        repeat = _num(snapshot, "frequency")
        gap = (_num(snapshot, "recency") * unit_days / repeat.where(repeat >= s.min_repeat_orders))
        days = _num(snapshot, "recency_days")
        ratio = days / gap.where(gap > 0)
        flags["cooperation_shortening"] = (ratio > s.gap_factor).fillna(False).astype(bool)
        fields["cooperation_shortening"] = {
            "days": days, "gap": gap, "ratio": ratio,
        }

    s = cfg.contact_drop
    if s.enabled:
        _require(snapshot, ["interactions_3m", "interactions_prev_3m"], "the contact-drop signal")
        now, before = _num(snapshot, "interactions_3m"), _num(snapshot, "interactions_prev_3m")
        drop = 1.0 - now / before.where(before >= s.min_previous)
        flags["contact_drop"] = (drop >= s.drop - 1e-12).fillna(False).astype(bool)
        fields["contact_drop"] = {
            "now": now.astype("Int64"), "before": before.astype("Int64"), "drop": drop,
        }

    return {key: flags.get(key, false) for key in SIGNALS}, fields


def risk_signals(snapshot: pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """The handbook's churn-risk signals (流失风险信号), one yes/no column each.

    Parameters
    ----------
    snapshot : DataFrame
        From :func:`segkit.snapshot`, indexed by customer_id.
    config : path, mapping or ChurnConfig, optional
        Overrides of the ``churn`` section (thresholds under ``signals``).

    Returns
    -------
    DataFrame
        Indexed like ``snapshot``:

        * ``high_risk`` -- the high-risk list rule: no interaction in the last 3 months and
          orders down >= 50% on the previous 3 months (a customer without orders in the
          previous period cannot be "down");
        * ``orders_falling`` -- orders fell 2 quarters in a row
          (``orders_6_9m > orders_3_6m > orders_0_3m``);
        * ``low_satisfaction`` -- latest satisfaction below 70;
        * ``key_contact_change`` -- key contact changed in the last 6 months;
        * ``complaints`` -- at least one complaint in the last 6 months;
        * ``cooperation_shortening`` -- time since the last order more than twice the
          customer's usual gap between orders (needs >= 2 repeat orders);
        * ``contact_drop`` -- interactions in the last 3 months down >= 50% on the 3 months
          before (from at least 2);
        * ``n_signals`` -- how many of these hold.

        Keys and numbers only: :func:`signal_reasons` says why in words.

        A disabled signal (``enabled: false``) is all False. Missing data (no survey, no
        orders) never raises a signal.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"satisfaction": [65.0, 90.0]}, index=["C1", "C2"])
    >>> others = ("high_risk", "orders_falling", "key_contact_change", "complaints", "cooperation_shortening", "contact_drop")
    >>> only = {"churn": {"signals": {key: {"enabled": False} for key in others}}}  # a disabled signal needs no column
    >>> risk_signals(snap, only)[["low_satisfaction", "n_signals"]].values.tolist()
    [[True, 1], [False, 0]]
    """
    flags, _ = _evaluate(snapshot, config)
    out = pd.DataFrame(flags, index=snapshot.index)
    out["n_signals"] = out[list(SIGNALS)].sum(axis=1).astype("int64")
    return out


def signal_reasons(snapshot: pd.DataFrame, lang: str = "zh", config: Any = None) -> pd.Series:
    """Why each customer is flagged: the texts of the :func:`risk_signals` that hold, joined.

    The edge where the signals' numbers become words (``churn.yaml`` ``signals.<key>.reason``);
    "" for a customer with no signal.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({
    ...     "orders_0_3m": [0, 4], "orders_3_6m": [3, 5], "orders_6_9m": [5, 5], "orders_9_12m": [5, 5],
    ...     "orders_6m": [3, 9], "interactions_3m": [0, 6], "interactions_6m": [2, 12],
    ...     "interactions_prev_3m": [2, 6], "satisfaction": [65.0, 90.0],
    ...     "key_contact_changed_6m": [True, False], "complaints_6m": [1, 0], "complaints_12m": [1, 0],
    ...     "frequency": [12.0, 30.0], "recency": [40.0, 51.0], "recency_days": [100.0, 3.0],
    ...     "T": [52.0, 52.0]}, index=pd.Index(["C1", "C2"], name="customer_id"))
    >>> risk_signals(snap)["n_signals"].tolist()
    [7, 0]
    >>> reasons = signal_reasons(snap, "en")
    >>> reasons["C1"].split("; ")[0]
    'no interaction in the last 3 months and orders down 100% on the previous 3 months (3 -> 0)'
    >>> reasons["C2"]
    ''
    """
    check_lang(lang)
    cfg = load_churn_config(config).signals
    flags, fields = _evaluate(snapshot, config)
    separator = "；" if lang == "zh" else "; "
    joined = pd.Series("", index=snapshot.index, dtype="str", name="reasons")
    for key in SIGNALS:
        if key in fields:
            quoted = fields[key]
            if key == "orders_falling":  # the counts, oldest first: "5 -> 3 -> 0"
                quoted = {**quoted, "counts": _arrows(quoted["counts"])}
            text = _fill_reasons(flags[key], getattr(cfg, key).reason.text(lang), quoted)
            joined = joined + np.where((joined != "") & (text != ""), separator, "") + text
    return joined


def high_risk_list(snapshot: pd.DataFrame, config: Any = None) -> pd.DataFrame:
    """The rule-based high-risk customer list (高风险客户名单) that triggers intervention.

    Customers meeting the handbook rule (no interaction in the last 3 months and orders down
    by 50%), most signals first, then by 12-month revenue.

    Returns
    -------
    DataFrame
        Indexed by customer_id: ``name``, ``owner``, ``department``, ``revenue_12m`` (where the
        snapshot has them), ``n_signals`` and every signal column; :func:`signal_reasons` of
        the listed customers says why in words.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({
    ...     "name": ["A", "B"], "orders_0_3m": [0, 1], "orders_3_6m": [2, 1], "orders_6_9m": [2, 1],
    ...     "orders_9_12m": [1, 1], "orders_6m": [2, 2], "interactions_3m": [0, 0], "interactions_6m": [1, 2],
    ...     "interactions_prev_3m": [1, 2], "satisfaction": [80.0, 80.0], "key_contact_changed_6m": [False, False],
    ...     "complaints_6m": [0, 0], "complaints_12m": [0, 0], "frequency": [5.0, 4.0], "recency": [40.0, 50.0],
    ...     "recency_days": [120.0, 10.0], "T": [52.0, 52.0], "revenue_12m": [1e5, 2e5]},
    ...     index=pd.Index(["C1", "C2"], name="customer_id"))
    >>> high_risk_list(snap)[["name", "n_signals"]]  # doctest: +NORMALIZE_WHITESPACE
                name  n_signals
    customer_id
    C1             A          2
    """
    signals = risk_signals(snapshot, config)
    listed = signals.loc[signals["high_risk"]]
    keep = [c for c in ("name", "owner", "department", "revenue_12m") if c in snapshot.columns]
    out = snapshot.loc[listed.index, keep].join(listed[["n_signals", *SIGNALS]])
    sort = ["n_signals", "revenue_12m"] if "revenue_12m" in out else ["n_signals"]
    return out.sort_values(sort, ascending=False, kind="stable")


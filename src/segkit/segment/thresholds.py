"""Business thresholds (业务阈值): every line written once, resolved for one snapshot.

The ``thresholds`` section (``segkit/defaults/thresholds.yaml``) names every line the
handbooks draw -- ``core_revenue`` (500,000), ``potential_revenue`` (200,000),
``ordinary_revenue`` (50,000), ``core_interactions`` (10), ... -- and the tier rules, value
classes, CLV tiers and report sentences refer to them by name. :func:`resolve_thresholds`
turns the section into the numbers that apply to one snapshot:

- ``mode: absolute`` uses the handbook's numbers (yuan);
- ``mode: relative`` derives the money lines from the data's own distribution (a named
  quantile of the positive values, rounded to two significant digits), for data that is not
  in yuan;
- ``mode: auto`` (default) is absolute for CNY data and relative for any other currency.

When the export has no interactions table, the activity dimension falls back to the
6-month order count (business-rules.md section 2 names it as an activity measure), with its
own lines (``core_orders_6m``, ...).

:func:`tier_health` checks the result: 90% or more of the customers in one tier, or an
expected tier empty, is reported with its likely cause (currency or scale, as-of date,
missing interactions) and :class:`TierHealthWarning`.

Why this module is long: the lines, their resolution for a snapshot and the health check of the
tiers they draw are read together (health names the line and the derivation that caused it).
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from segkit.config import (ConfigError, StrictModel, _describe, deep_merge, default_section, load_section, read_user_config,
                           register_section)
from segkit.errors import TierHealthWarning  # defined with every segkit error; importable here as before
from segkit.labels import check_lang, currency_name, money

__all__ = [
    "ThresholdsConfig",
    "Thresholds",
    "TierHealthWarning",
    "load_thresholds_config",
    "resolve_thresholds",
    "default_thresholds",
    "tier_health",
    "tier_health_messages",
    "near_core",
    "plain_number",
]


# --- configuration ---------------------------------------------------------------------------


class Line(StrictModel):
    """One named threshold: a number, or derived from another line (``times * from + plus``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    value: float | None = None
    unit: Literal["money", "count", "percent", "number"] = "number"
    quantile: float | None = Field(None, gt=0, lt=1)
    of: str | None = None
    from_: str | None = Field(None, alias="from")
    times: float = 1.0
    plus: float = 0.0

    @model_validator(mode="after")
    def _one_source(self) -> Line:
        if (self.value is None) == (self.from_ is None):
            raise ValueError("a line needs exactly one of `value` (a number) or `from` (another line's name)")
        if self.quantile is not None and self.of is None:
            raise ValueError("a line with `quantile` needs `of`: the column whose distribution it is taken from")
        if self.quantile is not None and self.from_ is not None:
            raise ValueError("a line derived `from` another line cannot have its own `quantile`")
        return self


class Relative(StrictModel):
    significant_digits: int = Field(2, ge=1, le=6)
    min_customers: int = Field(20, ge=1)


class Activity(StrictModel):
    column: str = "interactions_6m"
    table: str = "interactions"
    fallback: str | None = "orders_6m"
    fallback_lines: dict[str, str] = {}


class Health(StrictModel):
    max_tier_share: float = Field(0.90, gt=0, le=1)
    expected_tiers: list[str] = []
    min_customers: int = Field(50, ge=1)


class CurrencyName(StrictModel):
    zh: str
    en: str


@register_section("thresholds")
class ThresholdsConfig(StrictModel):
    """The ``thresholds`` configuration section."""

    mode: Literal["absolute", "relative", "auto"] = "auto"
    relative: Relative = Relative()
    lines: dict[str, Line]
    activity: Activity = Activity()
    health: Health = Health()
    currencies: dict[str, CurrencyName] = {}
    words: dict[Literal["zh", "en"], dict[str, str]]


def _check(cfg: ThresholdsConfig) -> ThresholdsConfig:
    names = sorted(cfg.lines)
    for name, line in cfg.lines.items():
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ConfigError(f"thresholds.lines: {name!r} is not a name rules can use (letters, digits, _)")
        if line.from_ is not None and line.from_ not in cfg.lines:
            raise ConfigError(f"thresholds.lines.{name}.from: unknown line {line.from_!r}; known lines: {names}")
    _order(cfg)  # cycles
    for old, new in cfg.activity.fallback_lines.items():
        for what in (old, new):
            if what not in cfg.lines:
                raise ConfigError(f"thresholds.activity.fallback_lines: unknown line {what!r}; known lines: {names}")
    return cfg


def _order(cfg: ThresholdsConfig) -> list[str]:
    """Line names so that every line comes after the line it is derived from."""
    done: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in done:
            return
        if name in visiting:
            raise ConfigError(f"thresholds.lines.{name}: derived from itself (a cycle of `from`)")
        visiting.add(name)
        source = cfg.lines[name].from_
        if source is not None:
            visit(source)
        visiting.discard(name)
        done.append(name)

    for name in cfg.lines:
        visit(name)
    return done


def _source(config: Any) -> Any:
    if config is None or isinstance(config, ThresholdsConfig):
        return config
    if isinstance(config, BaseModel):
        return None  # another section's model (e.g. a TiersConfig)
    user = read_user_config(config)
    if "thresholds" in user:
        return config
    if user and set(user) <= set(ThresholdsConfig.model_fields):
        return config  # the section itself
    return None  # another section's configuration, or a file that leaves this one alone


@lru_cache(maxsize=1)
def _default_config() -> ThresholdsConfig:
    return _check(load_section("thresholds", ThresholdsConfig, {}))


def load_thresholds_config(config: str | Path | Mapping[str, Any] | ThresholdsConfig | None = None) -> ThresholdsConfig:
    """The ``thresholds`` section: package defaults overridden by ``config``, validated.

    Examples
    --------
    >>> load_thresholds_config().lines["core_revenue"].value
    500000.0
    >>> load_thresholds_config({"thresholds": {"lines": {"core_revenue": {"value": 400000}}}}).lines["core_revenue"].value
    400000.0
    >>> load_thresholds_config({"thresholds": {"lines": {"near_core_revenue": {"from": "core_revnue"}}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: thresholds.lines.near_core_revenue.from: unknown line 'core_revnue'; known lines: ['core_interactions', 'core_orders_6m', 'core_revenue', ...]
    """
    config = _source(config)
    if config is None:
        return _default_config().model_copy(deep=True)
    if isinstance(config, ThresholdsConfig):
        return _check(config)
    user = read_user_config(config)
    section = user.get("thresholds", user) if isinstance(user, Mapping) else user
    # A line the user sets replaces the default line's `value`/`from` but keeps its unit and
    # quantile: {core_revenue: {value: 400000}} must not drop `unit: money`. Setting `from`
    # clears the default `value` and the other way round.
    if isinstance(section, Mapping) and isinstance(section.get("lines"), Mapping):
        defaults = _default_config().lines
        lines = {}
        for name, spec in section["lines"].items():
            if isinstance(spec, Mapping) and name in defaults:
                base = defaults[name].model_dump(by_alias=True, exclude_none=True)
                if "from" in spec:
                    base.pop("value", None)
                    base.pop("quantile", None)
                    base.pop("of", None)
                if "value" in spec:
                    base.pop("from", None)
                    base.pop("times", None)
                    base.pop("plus", None)
                lines[name] = {**base, **spec}
            elif isinstance(spec, (int, float)) and not isinstance(spec, bool) and name in defaults:
                base = defaults[name].model_dump(by_alias=True, exclude_none=True)
                for key in ("from", "times", "plus"):
                    base.pop(key, None)
                lines[name] = {**base, "value": spec}
            else:
                lines[name] = spec
        merged = deep_merge(default_section("thresholds"), {k: v for k, v in section.items() if k != "lines"})
        merged["lines"] = {**merged.get("lines", {}), **lines}  # a line is replaced as a whole (merged above)
        try:
            return _check(ThresholdsConfig.model_validate(merged))
        except ValidationError as exc:
            where = str(config) if isinstance(config, (str, Path)) else "the 'thresholds' configuration"
            raise ConfigError(_describe(exc, ThresholdsConfig, where)) from None
    return _check(load_section("thresholds", ThresholdsConfig, config))


# --- resolved thresholds ---------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The thresholds that apply to one snapshot, and how each was obtained.

    Attributes
    ----------
    values : dict
        ``{line name: number}`` for every line of the section.
    units : dict
        ``{line name: unit}`` (money, count, percent, number).
    mode : {"absolute", "relative"}
        The mode used (``auto`` resolved).
    requested_mode : {"absolute", "relative", "auto"}
    currency : str
        ISO code of the amounts.
    activity_column : str
        The column the activity conditions read (``interactions_6m``, or ``orders_6m``
        when the export has no interactions).
    derivation : dict
        Per line: ``{"source": "value" | "quantile" | "from" | "too_few", ...}`` with the
        quantile, column and number of customers for derived lines.
    """

    values: dict[str, float]
    units: dict[str, str]
    mode: str
    requested_mode: str
    currency: str
    activity_column: str
    activity_fallback: bool
    fallback_lines: dict[str, str] = field(default_factory=dict)
    derivation: dict[str, dict[str, Any]] = field(default_factory=dict)
    words: dict[str, dict[str, str]] = field(default_factory=dict, repr=False)
    rename: dict[str, str] = field(default_factory=dict)

    def constants(self) -> dict[str, float]:
        """Names a rule may use, with their values (activity lines follow the fallback)."""
        out = dict(self.values)
        if self.activity_fallback:
            for old, new in self.fallback_lines.items():
                out[old] = self.values[new]
        return out

    def format(self, name: str, lang: str = "zh") -> str:
        """One line's value for people, in its unit (money in the data's currency).

        Examples
        --------
        >>> t = default_thresholds()
        >>> t.format("core_revenue"), t.format("core_revenue", "en"), t.format("value_growth")
        ('50万元', 'CNY 500,000', '20%')
        """
        value = self.constants()[name]
        unit = self.units.get(name, "number")
        if self.activity_fallback and name in self.fallback_lines:
            unit = self.units.get(self.fallback_lines[name], unit)
        if unit == "money":
            return money(value, lang, self.currency, style="threshold")
        if unit == "percent":
            return f"{plain_number(value * 100)}%"
        return plain_number(value)

    def formatted(self, lang: str = "zh") -> dict[str, str]:
        """Every name usable in a text template (``{core_revenue}``) formatted for people."""
        return {name: self.format(name, lang) for name in self.constants()}

    def fill(self, template: str, lang: str = "zh", **extra: str) -> str:
        """Fill ``{name}`` placeholders of a configured text with formatted thresholds."""
        return template.format_map({**self.formatted(lang), **extra})

    def describe(self, lang: str = "zh") -> str:
        """One or two sentences saying which thresholds apply and how they were obtained.

        Examples
        --------
        >>> default_thresholds().describe("en")
        "Tier thresholds are the handbook's (CNY): Core at 12-month revenue ≥ CNY 500,000, Potential ≥ CNY 200,000, Low value < CNY 50,000."
        """
        check_lang(lang)
        w = self.words[lang]
        cur = self.currency
        name = currency_name(self.currency, lang)
        if self.mode == "relative":
            core = self.derivation.get("core_revenue", {})
            if core.get("source") == "too_few":
                text = w["relative_too_few"].format(currency=cur, currency_name=name, n=core.get("min_customers", ""))
            else:
                q = {f"{k.split('_')[0]}_q": plain_number(self.derivation.get(k, {}).get("quantile", float("nan")) * 100)
                     for k in ("core_revenue", "potential_revenue", "ordinary_revenue")}
                text = self.fill(w["relative"], lang, currency=cur, currency_name=name, **q)
        else:
            text = self.fill(w["absolute"], lang, currency=cur, currency_name=name)
        if self.activity_fallback:
            text += ("" if lang == "zh" else " ") + self.fill(w["activity_orders"], lang)
        return text

    def as_dict(self) -> dict[str, Any]:
        """Plain numbers and keys (for ``attrs``, JSON and reports)."""
        return {
            "values": dict(self.values),
            "mode": self.mode,
            "requested_mode": self.requested_mode,
            "currency": self.currency,
            "activity_column": self.activity_column,
            "derivation": {k: dict(v) for k, v in self.derivation.items()},
        }


def plain_number(x: float, decimals: int = 4) -> str:
    """A number without trailing zeros, as a threshold is written in a sentence.

    Examples
    --------
    >>> plain_number(0.25 * 100), plain_number(2.50, 2), plain_number(-0.00001)
    ('25', '2.5', '0')
    """
    text = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _round_significant(x: float, digits: int) -> float:
    if x == 0 or not math.isfinite(x):
        return float(x)
    return float(f"{x:.{digits - 1}e}")


def resolve_thresholds(
    snapshot: pd.DataFrame | None = None,
    config: Any = None,
    *,
    currency: str | None = None,
    mode: str | None = None,
) -> Thresholds:
    """The thresholds that apply to ``snapshot``: numbers plus how they were derived.

    Parameters
    ----------
    snapshot : DataFrame, optional
        A snapshot (``segkit.snapshot``) or any per-customer table with the columns the
        quantiles are taken of; its ``attrs["currency"]`` and ``attrs["present"]`` (tables
        that came from a file) are used. None: the configured numbers.
    config : path, mapping or ThresholdsConfig, optional
        A user configuration (``thresholds`` section).
    currency : str, optional
        Overrides ``snapshot.attrs["currency"]`` (default CNY).
    mode : {"absolute", "relative", "auto"}, optional
        Overrides ``thresholds.mode``.

    Returns
    -------
    Thresholds

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": np.arange(1, 101) * 10.0, "orders_6m": 1})
    >>> snap.attrs.update(currency="USD", present=["customers", "transactions"])
    >>> t = resolve_thresholds(snap)
    >>> t.mode, t.values["core_revenue"], t.values["near_core_revenue"], t.activity_column
    ('relative', 800.0, 640.0, 'orders_6m')
    >>> t.format("core_revenue", "en"), t.format("core_revenue", "zh")
    ('USD 800', '800美元')
    >>> resolve_thresholds(snap, {"thresholds": {"mode": "absolute"}}).values["core_revenue"]
    500000.0
    """
    cfg = load_thresholds_config(config)
    attrs = getattr(snapshot, "attrs", {}) or {}
    code = str(currency or attrs.get("currency") or "CNY").upper()
    requested = mode or cfg.mode
    if requested not in ("absolute", "relative", "auto"):
        raise ConfigError(f"thresholds.mode: unknown mode {requested!r}; allowed: ['absolute', 'relative', 'auto']")
    used = requested if requested != "auto" else ("absolute" if code == "CNY" else "relative")

    values: dict[str, float] = {}
    derivation: dict[str, dict[str, Any]] = {}
    for name in _order(cfg):
        line = cfg.lines[name]
        if line.from_ is not None:
            values[name] = line.times * values[line.from_] + line.plus
            derivation[name] = {"source": "from", "from": line.from_, "times": line.times, "plus": line.plus}
            continue
        values[name] = float(line.value)
        derivation[name] = {"source": "value"}
        if used != "relative" or line.quantile is None:
            continue
        if snapshot is None or line.of not in getattr(snapshot, "columns", ()):
            derivation[name] = {"source": "value", "missing_column": line.of}
            continue
        data = pd.to_numeric(snapshot[line.of], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        positive = data[np.isfinite(data) & (data > 0)]
        if len(positive) < cfg.relative.min_customers:
            derivation[name] = {"source": "too_few", "of": line.of, "n": int(len(positive)),
                                "min_customers": cfg.relative.min_customers}
            continue
        if line.unit == "count":
            # an observed count: the smallest value with at least this share at or below it
            derived = float(np.quantile(positive, line.quantile, method="inverted_cdf"))
        else:
            derived = _round_significant(float(np.quantile(positive, line.quantile)), cfg.relative.significant_digits)
        values[name] = derived
        derivation[name] = {"source": "quantile", "quantile": line.quantile, "of": line.of, "n": int(len(positive))}

    act = cfg.activity
    present = attrs.get("present")
    columns = set(getattr(snapshot, "columns", ()))
    no_table = present is not None and act.table not in present
    no_column = snapshot is not None and act.column not in columns
    fallback = bool(act.fallback) and (no_table or no_column) and (snapshot is None or act.fallback in columns)
    return Thresholds(
        values=values,
        units={k: v.unit for k, v in cfg.lines.items()},
        mode=used,
        requested_mode=requested,
        currency=code,
        activity_column=act.fallback if fallback else act.column,
        activity_fallback=fallback,
        fallback_lines=dict(act.fallback_lines),
        derivation=derivation,
        words={k: dict(v) for k, v in cfg.words.items()},
        rename={act.column: act.fallback} if fallback else {},
    )


def default_thresholds(config: Any = None) -> Thresholds:
    """The configured numbers without data (absolute, CNY, interactions): for checking rules.

    Examples
    --------
    >>> default_thresholds().values["core_revenue"], default_thresholds().values["ordinary_interactions_max"]
    (500000.0, 9.0)
    """
    return resolve_thresholds(None, config, currency="CNY", mode="absolute")


def template_names(text: str) -> list[str]:
    """The ``{name}`` placeholders of a text template.

    Examples
    --------
    >>> template_names("between {ordinary_revenue} and {potential_revenue}")
    ['ordinary_revenue', 'potential_revenue']
    """
    return [f for _, f, _, _ in string.Formatter().parse(text) if f]


def near_core(tiers: pd.DataFrame | pd.Series, snapshot: pd.DataFrame, thresholds: Thresholds) -> pd.Index:
    """Potential customers whose 12-month revenue reaches the line ``near_core_revenue``.

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": [450_000.0, 350_000.0, 420_000.0]}, index=["A", "B", "C"])
    >>> near_core(pd.Series(["potential", "potential", "core"], index=snap.index), snap, default_thresholds()).tolist()
    ['A']
    """
    keys = tiers["tier"] if isinstance(tiers, pd.DataFrame) else tiers
    revenue = pd.to_numeric(snapshot["revenue_12m"], errors="coerce").reindex(keys.index)
    return keys.index[(keys == "potential") & (revenue >= thresholds.values["near_core_revenue"])]


# --- tier health -----------------------------------------------------------------------------


def tier_health(
    tiers: pd.DataFrame | pd.Series,
    snapshot: pd.DataFrame,
    config: Any = None,
    thresholds: Thresholds | None = None,
) -> dict[str, Any]:
    """Check that the tiers separate customers; return numbers and cause keys, no words.

    Parameters
    ----------
    tiers : DataFrame or Series
        :func:`segkit.assign_tiers` output (column ``tier``) or the tier keys.
    snapshot : DataFrame
        The snapshot the tiers were assigned on (for currency, as-of date, interactions).
    config : optional
        User configuration (``thresholds.health``).
    thresholds : Thresholds, optional
        The thresholds used; default :func:`resolve_thresholds` of ``snapshot``.

    Returns
    -------
    dict
        ``ok`` (bool), ``customers``, ``shares`` ({tier: share}), ``dominant_tier`` and
        ``dominant_share`` (None/0 when no tier reaches ``max_tier_share``), ``empty_tiers``,
        ``causes`` (keys among ``currency``, ``as_of``, ``interactions``; ``none`` when no
        cause is evident) and the numbers behind them (``currency``, ``core_revenue``,
        ``as_of``, ``last_order``).

    Examples
    --------
    >>> import pandas as pd
    >>> snap = pd.DataFrame({"revenue_12m": [629.0] * 60, "interactions_6m": 2})
    >>> snap.attrs.update(currency="USD", present=["customers", "transactions", "interactions"])
    >>> h = tier_health(pd.Series(["low_value"] * 60), snap, thresholds=resolve_thresholds(snap, mode="absolute"))
    >>> h["ok"], h["dominant_tier"], h["dominant_share"], h["empty_tiers"], h["causes"]
    (False, 'low_value', 1.0, ['core', 'potential', 'ordinary'], ['currency'])
    """
    cfg = load_thresholds_config(config).health
    keys = tiers["tier"] if isinstance(tiers, pd.DataFrame) else tiers
    keys = keys.astype(object)
    n = int(len(keys))
    th = thresholds if thresholds is not None else resolve_thresholds(snapshot, config)
    shares = (keys.value_counts() / n).to_dict() if n else {}
    out: dict[str, Any] = {
        "ok": True, "customers": n, "shares": {str(k): float(v) for k, v in shares.items()},
        "dominant_tier": None, "dominant_share": 0.0, "empty_tiers": [], "causes": [],
        "currency": th.currency, "core_revenue": th.values.get("core_revenue"), "mode": th.mode,
        "as_of": None, "last_order": None,
    }
    if n < cfg.min_customers:
        return out
    top = max(shares, key=shares.get)
    if shares[top] >= cfg.max_tier_share:
        out["dominant_tier"], out["dominant_share"] = str(top), float(shares[top])
    out["empty_tiers"] = [t for t in cfg.expected_tiers if shares.get(t, 0) == 0]
    if out["dominant_tier"] is None and not out["empty_tiers"]:
        return out
    out["ok"] = False
    causes: list[str] = []
    revenue = pd.to_numeric(snapshot.get("revenue_12m"), errors="coerce") if "revenue_12m" in snapshot else None
    core_line = th.values.get("core_revenue", 0.0)
    if revenue is not None and th.mode == "absolute" and core_line > 0:
        positive = revenue[revenue > 0]
        # nobody near the core amount, or amounts a hundred times smaller than the lines:
        # the amounts are in another currency or unit (e.g. USD, or 万元 read as yuan)
        if th.currency != "CNY" or (len(positive) and float(positive.quantile(0.99)) < core_line / 100):
            causes.append("currency")
    as_of = snapshot.attrs.get("as_of")
    if as_of is not None and "recency_days" in snapshot:
        recency = pd.to_numeric(snapshot["recency_days"], errors="coerce").dropna()
        if len(recency):
            last = pd.Timestamp(as_of) - pd.Timedelta(days=float(recency.min()))
            out["as_of"], out["last_order"] = pd.Timestamp(as_of).date().isoformat(), last.date().isoformat()
            if revenue is not None and (revenue > 0).mean() < 0.05 and recency.min() > 90:
                causes.append("as_of")
    present = snapshot.attrs.get("present")
    if th.activity_column == "interactions_6m":
        no_interactions = (present is not None and "interactions" not in present) or (
            "interactions_6m" in snapshot and pd.to_numeric(snapshot["interactions_6m"], errors="coerce").fillna(0).eq(0).all()
        )
        if no_interactions:
            causes.append("interactions")
    out["causes"] = causes or ["none"]
    return out


def tier_health_messages(health: Mapping[str, Any], lang: str = "zh", config: Any = None,
                         tier_label: Any = None) -> list[str]:
    """The words for a :func:`tier_health` result (empty list when healthy).

    ``tier_label`` maps a tier key to its label (default: the tiers configuration's labels).

    Examples
    --------
    >>> h = {"ok": False, "customers": 23570, "dominant_tier": "low_value", "dominant_share": 1.0,
    ...      "empty_tiers": ["core"], "causes": ["currency"], "currency": "USD", "core_revenue": 500000.0}
    >>> tier_health_messages(h, "en")[0]
    '100.0% of customers (23,570) are in Low value: the tiers hardly separate anyone.'
    >>> print(tier_health_messages(h, "en")[2])
    Likely cause: the amounts' currency or unit does not fit the thresholds (data in USD, Core line USD 500,000); set currency in dataset.yaml or thresholds.mode: relative.
    """
    check_lang(lang)
    if health.get("ok", True):
        return []
    if tier_label is None:
        from segkit.segment.tiers import load_tiers_config

        labels = load_tiers_config(_tiers_part(config)).labels
        tier_label = lambda k: labels[k].text(lang) if k in labels else str(k)  # noqa: E731
    w = load_thresholds_config(config).words[lang]
    out = []
    if health.get("dominant_tier"):
        share = health["dominant_share"]
        out.append(w["health_dominant"].format(
            share=f"{share * 100:.1f}%", n=f"{round(share * health['customers']):,}", tier=tier_label(health["dominant_tier"])))
    if health.get("empty_tiers"):
        sep = "、" if lang == "zh" else ", "
        out.append(w["health_empty"].format(tiers=sep.join(tier_label(k) for k in health["empty_tiers"])))
    currency = health.get("currency") or "CNY"
    for cause in health.get("causes") or ["none"]:
        out.append(w[f"cause_{cause}"].format(
            currency=currency_name(currency, lang) if lang == "zh" else currency,
            core_revenue=money(health.get("core_revenue"), lang, currency, style="threshold"),
            as_of=health.get("as_of") or "—", last_order=health.get("last_order") or "—"))
    return out


def _tiers_part(config: Any) -> Any:
    if config is None or isinstance(config, ThresholdsConfig):
        return None
    return config

"""Explained value x activity tiers (客户关系划分) with review flags and manual overrides.

The default model is business-rules.md section 2, written as data in
``segkit/defaults/tiers.yaml``: rules evaluated in order, first match wins; every customer gets
exactly one tier; customers no rule matches get an explicit provisional tier and are flagged
for review; so are customers whose tier hangs on a value close to a threshold.

Tier order (highest first) is ``core > potential > ordinary > low_value``. Under the default
rules, raising a customer's 12-month revenue never lowers its tier (tested as a property).

The rule engine here (:class:`RuleSet`) is also used for the value classes of section 3
(:mod:`segkit.segment.classify`).
"""

from __future__ import annotations

import unicodedata
import warnings
from importlib import resources
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, Field, model_validator

from segkit.config import ConfigError, StrictModel, config_hash, load_section, read_user_config, shorten
from segkit.labels import check_lang, money
from segkit.periods import parse_date
from segkit.segment._expr import Compare, Const, ExpressionError, Name, parse
from segkit.segment.thresholds import (
    Thresholds,
    TierHealthWarning,
    default_thresholds,
    resolve_thresholds,
    template_names,
    tier_health,
    tier_health_messages,
)

__all__ = [
    "Label",
    "TiersConfig",
    "RuleSetConfig",
    "RuleSet",
    "OverrideError",
    "load_tiers_config",
    "assign_tiers",
    "read_overrides",
    "handbook_examples",
    "section_source",
]


# --- configuration models ------------------------------------------------------------------


class _Item(StrictModel):
    """A model used inside lists or mappings: an unknown key is reported with the allowed ones.

    (The generic message of :func:`segkit.config.load_section` cannot see through lists and
    mappings, so these models check their own keys.)
    """

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            unknown = [k for k in data if k not in cls.model_fields]
            if unknown:
                raise ValueError(
                    f"unknown key {unknown[0]!r}; allowed keys here: {sorted(cls.model_fields)}"
                )
        return data


class Label(_Item):
    """A label in Chinese and English (optionally a short form for combined labels)."""

    zh: str
    en: str
    zh_short: str | None = None
    en_short: str | None = None

    def text(self, lang: str, short: bool = False) -> str:
        if short:
            alt = self.zh_short if lang == "zh" else self.en_short
            if alt:
                return alt
        return self.zh if lang == "zh" else self.en


class FlagStates(_Item):
    true: Label
    false: Label
    missing: Label


class Measure(_Item):
    """How a snapshot column is named and shown in basis texts."""

    zh: str
    en: str
    unit: Literal["money", "count", "percent", "days", "months", "number", "flag"] = "number"
    states: FlagStates | None = None


class ConditionSpec(_Item):
    condition: str
    borderline: bool = True


class Rule(_Item):
    tier: str
    any_of: list[list[str | ConditionSpec]] = Field(min_length=1)
    partial_review: bool = False


class FallbackRule(_Item):
    tier: str
    any_of: list[list[str | ConditionSpec]] = Field(min_length=1)
    reason: Label


class Unmatched(StrictModel):
    rules: list[FallbackRule] = []
    default_tier: str
    default_reason: Label


class Review(StrictModel):
    margin: float = Field(0.10, ge=0, lt=1)


class RuleSetConfig(StrictModel):
    """Ordered rules assigning one key (a tier, a value class) per customer."""

    order: list[str] = Field(min_length=1)
    labels: dict[str, Label]
    measures: dict[str, Measure]
    rules: list[Rule] = Field(min_length=1)
    unmatched: Unmatched
    review: Review = Review()


class OverridesConfig(StrictModel):
    stale_after_days: int = Field(180, ge=0)


EXPORT_COLUMNS = (
    "customer_id",
    "name",
    "industry",
    "contact",
    "revenue_12m_wan",
    "interactions_6m",
    "tenure_months",
    "need_type",
    "tier",
    "basis",
    "strategy",
    "note",
)


class ExportConfig(StrictModel):
    mask_contacts: bool = True
    columns: dict[str, Label]


class TiersConfig(RuleSetConfig):
    """The ``tiers`` configuration section (``segkit/defaults/tiers.yaml``)."""

    overrides: OverridesConfig = OverridesConfig()
    export: ExportConfig


# --- conditions ----------------------------------------------------------------------------

_FLIP = {">=": "<=", "<=": ">=", ">": "<", "<": ">", "==": "==", "!=": "!="}


@dataclass(frozen=True)
class Condition:
    """One compiled condition: a column compared with constants."""

    text: str
    column: str
    op: str  # >=, >, <=, <, ==, !=, between
    value: Any = None
    low: float | None = None
    high: float | None = None
    low_op: str = "<="
    high_op: str = "<"
    borderline: bool = True
    expr: Any = field(default=None, compare=False, repr=False)

    @property
    def thresholds(self) -> list[float]:
        """Numeric thresholds that count for the near-threshold review."""
        if not self.borderline:
            return []
        if self.op == "between":
            return [t for t in (self.low, self.high) if t]
        if self.op in (">=", ">", "<=", "<") and isinstance(self.value, (int, float)) and not isinstance(self.value, bool) and self.value != 0:
            return [float(self.value)]
        return []


def _compile_condition(
    item: str | ConditionSpec, measures: Mapping[str, Measure], where: str, thresholds: Thresholds | None = None
) -> Condition:
    text, borderline = (item, True) if isinstance(item, str) else (item.condition, item.borderline)
    thresholds = thresholds if thresholds is not None else default_thresholds()
    try:
        expr = parse(text, measures.keys(), kind="rule", where=where, constants=thresholds.constants(), rename=thresholds.rename)
    except ExpressionError as exc:
        message = str(exc)
        if "unknown column" in message or "unknown name" in message:
            message += f" (columns used in rules must be listed under `measures`: {sorted(measures)}; lines are named in the `thresholds` section)"
        raise ConfigError(message) from None
    missing = sorted(expr.columns - set(measures))
    if missing:
        raise ConfigError(f"{where}: {text!r} reads {missing[0]!r} (thresholds.activity), which is not listed under `measures`")
    node = expr.node
    bad = ConfigError(
        f"{where}: {text!r} must compare one column with a value, "
        "e.g. 'revenue_12m >= core_revenue' or 'potential_revenue <= revenue_12m < core_revenue'"
    )
    if not isinstance(node, Compare):
        raise bad
    ops, operands = node.ops, node.operands
    if len(ops) == 1:
        left, right = operands
        op = ops[0]
        if isinstance(left, Const) and isinstance(right, Name):
            left, right, op = right, left, _FLIP[op]
        if not (isinstance(left, Name) and isinstance(right, Const)):
            raise bad
        return Condition(text, left.name, op, value=right.value, borderline=borderline, expr=expr)
    if (
        len(ops) == 2
        and all(o in ("<", "<=") for o in ops)
        and isinstance(operands[0], Const)
        and isinstance(operands[1], Name)
        and isinstance(operands[2], Const)
        and not isinstance(operands[0].value, (str, bool))
        and not isinstance(operands[2].value, (str, bool))
    ):
        return Condition(
            text,
            operands[1].name,
            "between",
            low=float(operands[0].value),
            high=float(operands[2].value),
            low_op=ops[0],
            high_op=ops[1],
            borderline=borderline,
            expr=expr,
        )
    raise bad


# --- rendering -----------------------------------------------------------------------------

_SYMBOL = {">=": "≥", "<=": "≤", ">": ">", "<": "<", "==": "=", "!=": "≠"}


def _plain(x: float, decimals: int = 4) -> str:
    text = f"{x:.{decimals}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _fmt(value: Any, measure: Measure, lang: str, threshold: bool = False, currency: str = "CNY") -> str:
    """Format a value (or, with ``threshold=True``, a rule threshold) in the measure's unit."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "缺失" if lang == "zh" else "missing"
    if isinstance(value, str):
        return value
    v = float(value)
    unit = measure.unit
    if unit == "money":
        return money(v, lang, currency, style="threshold" if threshold else "value")
    if unit == "percent":
        return f"{_plain(v * 100)}%" if threshold else f"{v * 100:.1f}%"
    suffix = {
        "count": ("次", ""),
        "days": ("天", " days"),
        "months": ("个月", " months"),
        "number": ("", ""),
    }.get(unit, ("", ""))
    return f"{_plain(v, 2)}{suffix[0] if lang == 'zh' else suffix[1]}"


def _fmt_value(value: Any, measure: Measure, lang: str, thresholds: tuple[float, ...], currency: str = "CNY") -> str:
    """Format a customer's value so it never *looks* equal to a threshold it is not equal to."""
    text = _fmt(value, measure, lang, currency=currency)
    if value is None or pd.isna(value) or measure.unit not in ("money", "percent"):
        return text
    v = float(value)
    for t in thresholds:
        if v != t and text in (_fmt(t, measure, lang, currency=currency), _fmt(t, measure, lang, threshold=True, currency=currency)):
            if measure.unit == "percent":
                return f"{v * 100:.4f}%"
            return money(v, lang, currency, style="exact")
    return text


def _flag_text(value: Any, measure: Measure, lang: str) -> str:
    states = measure.states
    if value is None or pd.isna(value):
        return states.missing.text(lang) if states else f"{measure.zh if lang == 'zh' else measure.en}: ?"
    if states is None:
        return f"{measure.zh if lang == 'zh' else measure.en}: {value}"
    return (states.true if bool(value) else states.false).text(lang)


def _requirement(cond: Condition, measure: Measure, lang: str, currency: str = "CNY") -> str:
    if cond.op == "between":
        lo = "[" if cond.low_op == "<=" else "("
        hi = "]" if cond.high_op == "<=" else ")"
        return f"∈ {lo}{_fmt(cond.low, measure, lang, True, currency)}, {_fmt(cond.high, measure, lang, True, currency)}{hi}"
    return f"{_SYMBOL[cond.op]} {_fmt(cond.value, measure, lang, True, currency)}"


def _render(cond: Condition, measure: Measure, value: Any, lang: str, satisfied: bool, currency: str = "CNY") -> str:
    """One condition in words with the customer's value, e.g. '近6个月互动12次 ≥ 10次'."""
    if measure.unit == "flag":
        return _flag_text(value, measure, lang)
    name = measure.zh if lang == "zh" else measure.en
    thresholds = tuple(t for t in (cond.low, cond.high, cond.value) if isinstance(t, (int, float)) and not isinstance(t, bool))
    shown = _fmt_value(value, measure, lang, thresholds, currency)
    subject = f"{name}{shown}" if lang == "zh" else f"{name} {shown}"
    requirement = _requirement(cond, measure, lang, currency)
    if satisfied:
        return f"{subject} {requirement}"
    return f"{subject}（需 {requirement}）" if lang == "zh" else f"{subject} (needs {requirement})"


_WORDS = {
    "zh": {
        "and": " 且 ",
        "clause_sep": "；",
        "reason_sep": "；",
        "no_rule": "未完全满足任何规则",
        "partial": "{tier}条件部分满足：{met}，但{unmet}",
        "near": "{cond}，距阈值{threshold}不足{margin}（越过阈值将为{alt}）",
    },
    "en": {
        "and": " and ",
        "clause_sep": "; ",
        "reason_sep": "; ",
        "no_rule": "no rule fully met",
        "partial": "partly meets {tier}: {met}, but {unmet}",
        "near": "{cond}, within {margin} of the threshold {threshold} (across it: {alt})",
    },
}


def _join(parts: list[pd.Series], index: pd.Index, sep: str) -> pd.Series:
    """Join optional text parts row by row (missing or empty parts are skipped)."""
    out = [""] * len(index)
    for part in parts:
        positions = index.get_indexer(part.index)
        for pos, text in zip(positions, part.tolist()):
            if pos < 0 or text is None or (not isinstance(text, str) and pd.isna(text)) or text == "":
                continue
            out[pos] = f"{out[pos]}{sep}{text}" if out[pos] else str(text)
    return pd.Series(out, index=index, dtype=object)


# --- the rule engine -----------------------------------------------------------------------


@dataclass
class _Compiled:
    key: str
    clauses: list[list[Condition]]
    partial_review: bool = False
    reason: Label | None = None


class RuleSet:
    """Ordered, explained rules: the engine behind tiers and value classes.

    Parameters
    ----------
    config : RuleSetConfig
        The rules, labels and measures.
    name : str, default "tiers"
        The configuration section, for error messages.
    thresholds : Thresholds, optional
        The numbers behind the named lines of the rules (``core_revenue``, ...) and the
        currency of the basis texts; default the configured numbers
        (:func:`segkit.segment.thresholds.default_thresholds`). Use
        :func:`segkit.segment.thresholds.resolve_thresholds` for a snapshot.

    Examples
    --------
    >>> rules = RuleSet(load_tiers_config())
    >>> sorted(rules.columns)
    ['interactions_6m', 'new_need_inquiry_6m', 'renewal_intent', 'revenue_12m']
    """

    def __init__(self, config: RuleSetConfig, name: str = "tiers", thresholds: Thresholds | None = None):
        self.config = config
        self.name = name
        self.thresholds = thresholds if thresholds is not None else default_thresholds()
        self.currency = self.thresholds.currency
        th = self.thresholds
        self.order = list(config.order)
        known = set(self.order)
        unknown_labels = sorted(known - set(config.labels))
        if unknown_labels:
            raise ConfigError(f"{name}.labels: no label for {unknown_labels[0]!r}; every key in `order` needs zh and en labels")
        extra = sorted(set(config.labels) - known)
        if extra:
            raise ConfigError(f"{name}.labels: {extra[0]!r} is not in `order` {self.order}")
        self.rules: list[_Compiled] = []
        for i, rule in enumerate(config.rules):
            self._check_key(rule.tier, f"{name}.rules[{i}].tier")
            clauses = [
                [_compile_condition(c, config.measures, f"{name}.rules[{i}].any_of[{j}][{k}]", th) for k, c in enumerate(clause)]
                for j, clause in enumerate(rule.any_of)
            ]
            if any(not c for c in clauses):
                raise ConfigError(f"{name}.rules[{i}].any_of: a clause needs at least one condition")
            self.rules.append(_Compiled(rule.tier, clauses, rule.partial_review))
        self.fallbacks: list[_Compiled] = []
        for i, rule in enumerate(config.unmatched.rules):
            self._check_key(rule.tier, f"{name}.unmatched.rules[{i}].tier")
            clauses = [
                [_compile_condition(c, config.measures, f"{name}.unmatched.rules[{i}].any_of[{j}][{k}]", th) for k, c in enumerate(clause)]
                for j, clause in enumerate(rule.any_of)
            ]
            self.fallbacks.append(_Compiled(rule.tier, clauses, reason=rule.reason))
        self._check_key(config.unmatched.default_tier, f"{name}.unmatched.default_tier")
        known = sorted({*th.constants(), "activity"})
        reasons = [(f"{name}.unmatched.rules[{i}].reason", r.reason) for i, r in enumerate(config.unmatched.rules)]
        reasons.append((f"{name}.unmatched.default_reason", config.unmatched.default_reason))
        for where, reason in reasons:
            for lang in ("zh", "en"):
                for placeholder in template_names(reason.text(lang)):
                    if placeholder not in known:
                        raise ConfigError(f"{where}.{lang}: unknown name {{{placeholder}}}; known names: {known}")
        self.columns = sorted(
            {c.column for r in [*self.rules, *self.fallbacks] for cl in r.clauses for c in cl}
        )

    def _check_key(self, key: str, where: str) -> None:
        if key not in self.order:
            raise ConfigError(f"{where}: unknown key {key!r}; allowed: {self.order}")

    def reason(self, reason: Label, lang: str) -> str:
        """A configured reason with its ``{line}`` and ``{activity}`` placeholders filled."""
        measure = self.config.measures.get(self.thresholds.activity_column)
        activity = (measure.zh if lang == "zh" else measure.en) if measure else self.thresholds.activity_column
        return self.thresholds.fill(reason.text(lang), lang, activity=activity)

    def label(self, key: str, lang: str = "zh", short: bool = False) -> str:
        """The configured label of a key."""
        entry = self.config.labels.get(key)
        return entry.text(lang, short) if entry else str(key)

    def rank(self, keys: pd.Series) -> pd.Series:
        """0 for the highest key in ``order``, 1 for the next, ..."""
        return keys.map({k: i for i, k in enumerate(self.order)})

    # -- matching
    def _check_columns(self, df: pd.DataFrame) -> None:
        missing = [c for c in self.columns if c not in df.columns]
        if missing:
            raise ValueError(
                f"the snapshot has no column {', '.join(repr(m) for m in missing)} needed by the "
                f"{self.name} rules; build it with segkit.features.snapshot or add the column"
            )

    def _evaluate_conditions(self, df: pd.DataFrame) -> dict[int, np.ndarray]:
        values: dict[int, np.ndarray] = {}
        for rule in [*self.rules, *self.fallbacks]:
            for clause in rule.clauses:
                for cond in clause:
                    if id(cond) not in values:
                        values[id(cond)] = cond.expr.evaluate(df).to_numpy(dtype=bool)
        return values

    @staticmethod
    def _clause_ok(clause: list[Condition], cv: dict[int, np.ndarray], n: int) -> np.ndarray:
        ok = np.ones(n, dtype=bool)
        for cond in clause:
            ok &= cv[id(cond)]
        return ok

    def _match_values(self, cv: dict[int, np.ndarray], n: int):
        """First matching rule, first matching fallback and the key, from condition results."""
        rule_idx = np.full(n, -1)
        for i, rule in enumerate(self.rules):
            ok = np.zeros(n, dtype=bool)
            for clause in rule.clauses:
                ok |= self._clause_ok(clause, cv, n)
            rule_idx[(rule_idx == -1) & ok] = i
        fb_idx = np.full(n, -1)
        for i, rule in enumerate(self.fallbacks):
            ok = np.zeros(n, dtype=bool)
            for clause in rule.clauses:
                ok |= self._clause_ok(clause, cv, n)
            fb_idx[(rule_idx == -1) & (fb_idx == -1) & ok] = i
        keys = np.array([r.key for r in self.rules] + [r.key for r in self.fallbacks] + [self.config.unmatched.default_tier], dtype=object)
        pick = np.where(rule_idx >= 0, rule_idx, np.where(fb_idx >= 0, len(self.rules) + fb_idx, len(keys) - 1))
        return keys[pick], rule_idx, fb_idx

    def _match(self, df: pd.DataFrame):
        cv = self._evaluate_conditions(df)
        keys, rule_idx, fb_idx = self._match_values(cv, len(df))
        return keys, rule_idx, fb_idx, cv

    def assign(self, df: pd.DataFrame) -> pd.Series:
        """Only the keys (no texts), one per row of ``df``."""
        self._check_columns(df)
        keys, *_ = self._match(df)
        return pd.Series(keys, index=df.index, dtype=object)

    # -- explaining
    def _render_series(self, cond: Condition, df: pd.DataFrame, rows: np.ndarray, lang: str, satisfied: bool) -> pd.Series:
        measure = self.config.measures[cond.column]
        values = df[cond.column][rows]
        # each distinct value is put into words once (counts, months and shares repeat a lot)
        codes, distinct = pd.factorize(values, use_na_sentinel=False)
        words = np.array([_render(cond, measure, v, lang, satisfied, self.currency) for v in distinct.tolist()], dtype=object)
        return pd.Series(words[codes] if len(codes) else np.array([], dtype=object), index=values.index, dtype=object)

    def _clause_text(self, clause: list[Condition], df: pd.DataFrame, rows: np.ndarray, lang: str) -> pd.Series:
        parts = [self._render_series(c, df, rows, lang, True) for c in clause]
        text = parts[0]
        for part in parts[1:]:
            text = text + _WORDS[lang]["and"] + part
        return text

    def evaluate(self, df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
        """Assign and explain: columns ``key``, ``basis``, ``needs_review``, ``review_reason``.

        Parameters
        ----------
        df : DataFrame
            One row per customer with the columns the rules use.
        lang : {"zh", "en"}, default "zh"

        Examples
        --------
        >>> out = RuleSet(load_tiers_config()).evaluate(handbook_examples())
        >>> out["key"].tolist()
        ['core', 'potential', 'ordinary', 'low_value']
        """
        check_lang(lang)
        self._check_columns(df)
        words = _WORDS[lang]
        index = df.index
        n = len(df)
        keys, rule_idx, fb_idx, cv = self._match(df)

        # basis: every satisfied clause of the matched rule
        basis_parts: list[pd.Series] = []
        for i, rule in enumerate(self.rules):
            for clause in rule.clauses:
                rows = (rule_idx == i) & self._clause_ok(clause, cv, n)
                if rows.any():
                    basis_parts.append(self._clause_text(clause, df, rows, lang))
        unmatched = rule_idx == -1
        for i, rule in enumerate(self.fallbacks):
            for clause in rule.clauses:
                rows = (fb_idx == i) & self._clause_ok(clause, cv, n)
                if rows.any():
                    text = self._clause_text(clause, df, rows, lang)
                    basis_parts.append(words["no_rule"] + words["clause_sep"] + text)
        basis = _join(basis_parts, index, words["clause_sep"])
        default_rows = unmatched & (fb_idx == -1)
        if default_rows.any():
            basis[default_rows] = words["no_rule"] + words["clause_sep"] + self.reason(self.config.unmatched.default_reason, lang)

        # review reasons
        reasons: list[pd.Series] = []
        for i, rule in enumerate(self.fallbacks):
            rows = fb_idx == i
            if rows.any():
                reasons.append(pd.Series(self.reason(rule.reason, lang), index=index[rows], dtype=object))
        if default_rows.any():
            reasons.append(pd.Series(self.reason(self.config.unmatched.default_reason, lang), index=index[default_rows], dtype=object))
        reasons.extend(self._partial_reasons(df, rule_idx, cv, lang))
        reasons.extend(self._near_threshold_reasons(df, keys, cv, lang))
        review_reason = _join(reasons, index, words["reason_sep"])
        return pd.DataFrame(
            {
                "key": pd.Series(keys, index=index, dtype=object),
                "basis": basis.astype(str),
                "needs_review": review_reason != "",
                "review_reason": review_reason.astype(str),
            },
            index=index,
        )

    def _partial_reasons(self, df, rule_idx, cv, lang) -> list[pd.Series]:
        """The first condition of a clause holds, a later one does not, for a higher rule."""
        out = []
        n = len(df)
        matched_at = np.where(rule_idx == -1, len(self.rules), rule_idx)
        for i, rule in enumerate(self.rules):
            if not rule.partial_review:
                continue
            for clause in rule.clauses:
                if len(clause) < 2:
                    continue
                lead, rest = clause[0], clause[1:]
                failed = np.zeros(n, dtype=bool)
                for cond in rest:
                    failed |= ~cv[id(cond)]
                rows = (matched_at > i) & cv[id(lead)] & failed
                if not rows.any():
                    continue
                met = self._render_series(lead, df, rows, lang, True)
                unmet_parts = []
                for cond in rest:
                    r = rows & ~cv[id(cond)]
                    if r.any():
                        unmet_parts.append(self._render_series(cond, df, r, lang, False))
                unmet = _join(unmet_parts, df.index[rows], _WORDS[lang]["and"])
                tier = self.label(rule.key, lang)
                out.append(
                    pd.Series(
                        [_WORDS[lang]["partial"].format(tier=tier, met=m, unmet=u) for m, u in zip(met, unmet[met.index])],
                        index=met.index,
                        dtype=object,
                    )
                )
        return out

    def _near_threshold_reasons(self, df, keys, cv, lang) -> list[pd.Series]:
        """Customers whose key changes when one value crosses a nearby threshold."""
        margin = self.config.review.margin
        if margin <= 0 or len(df) == 0:
            return []
        conditions = [c for r in [*self.rules, *self.fallbacks] for cl in r.clauses for c in cl]
        pairs: list[tuple[str, float]] = []
        for cond in conditions:
            if self.config.measures[cond.column].unit != "flag":
                pairs.extend((cond.column, t) for t in cond.thresholds if (cond.column, t) not in pairs)
        out = []
        for column, t in pairs:
            values = pd.to_numeric(df[column], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                near = np.abs(values - t) <= margin * abs(t) + 1e-9 * max(1.0, abs(t))
            if not near.any():
                continue
            m = int(near.sum())
            current = keys[near]
            alt = np.full(m, None, dtype=object)
            delta = 1e-6 * max(1.0, abs(t))
            for probe in (t - delta, t, t + delta):
                # only the conditions on this column change, and to a constant
                probe_frame = pd.DataFrame({column: [probe]})
                moved = {k: v[near] for k, v in cv.items()}
                for cond in conditions:
                    if cond.column == column:
                        moved[id(cond)] = np.full(m, bool(cond.expr.evaluate(probe_frame).iloc[0]))
                keys_moved, _, _ = self._match_values(moved, m)
                changed = (keys_moved != current) & pd.isna(alt)
                alt[changed] = keys_moved[changed]
            found = ~pd.isna(alt)
            if not found.any():
                continue
            measure = self.config.measures[column]
            name = measure.zh if lang == "zh" else measure.en
            threshold = _fmt(t, measure, lang, threshold=True, currency=self.currency)
            ids = df.index[near][found]
            texts = []
            for raw, alt_key in zip(df[column].to_numpy()[near][found], alt[found], strict=True):
                value = _fmt_value(raw, measure, lang, (t,), self.currency)
                cond_text = f"{name}{value}" if lang == "zh" else f"{name} {value}"
                texts.append(
                    _WORDS[lang]["near"].format(
                        cond=cond_text, threshold=threshold, margin=f"{_plain(margin * 100)}%", alt=self.label(alt_key, lang)
                    )
                )
            out.append(pd.Series(texts, index=ids, dtype=object))
        return out


# --- loading -------------------------------------------------------------------------------


def _section_names() -> set[str]:
    return {p.name.removesuffix(".yaml") for p in resources.files("segkit.defaults").iterdir() if p.name.endswith(".yaml")}


def section_source(name: str, config: Any) -> Any:
    """What to hand :func:`segkit.config.load_section` for section ``name``.

    A whole configuration file (top-level keys are section names) that does not mention
    ``name`` means "defaults" for it: without this, a file holding only ``tiers:`` would be
    read as the ``strategy`` section itself, whose own key ``tiers`` has the same name.

    Examples
    --------
    >>> section_source("strategy", {"tiers": {"review": {"margin": 0.05}}}) is None
    True
    >>> section_source("tiers", {"review": {"margin": 0.05}})
    {'review': {'margin': 0.05}}
    """
    if config is None or isinstance(config, BaseModel):
        return config
    user = read_user_config(config)
    if name in user:
        return config
    if set(user) & _section_names():
        return None
    return config



@lru_cache(maxsize=1)
def _default_tiers_config() -> TiersConfig:
    return load_tiers_config({})


def load_tiers_config(config: str | Path | Mapping[str, Any] | TiersConfig | None = None) -> TiersConfig:
    """The ``tiers`` section: package defaults overridden by ``config``, validated.

    Parameters
    ----------
    config : path, mapping, TiersConfig or None
        A user configuration file/mapping (top-level key ``tiers``, or the section itself).

    Raises
    ------
    segkit.config.ConfigError
        Naming the bad key (and the allowed ones), the bad rule or the unknown column.

    Examples
    --------
    >>> load_tiers_config({"tiers": {"review": {"margin": 0.05}}}).review.margin
    0.05
    >>> load_tiers_config({"tiers": {"review": {"margn": 0.05}}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: invalid configuration in the 'tiers' configuration:
      - unknown key 'review.margn'; allowed keys here: ['margin']
    """
    config = section_source("tiers", config)
    if config is None:
        return _default_tiers_config().model_copy(deep=True)
    cfg = config if isinstance(config, TiersConfig) else load_section("tiers", TiersConfig, config)
    # compiles every rule: unknown columns or lines and bad conditions fail here
    RuleSet(cfg, "tiers", default_thresholds(None if isinstance(config, TiersConfig) else config))
    unknown = sorted(set(cfg.export.columns) - set(EXPORT_COLUMNS))
    if unknown:
        raise ConfigError(f"tiers.export.columns: unknown column {unknown[0]!r}; allowed: {list(EXPORT_COLUMNS)}")
    return cfg


# --- overrides -----------------------------------------------------------------------------


class OverrideError(ValueError):
    """An overrides file cannot be applied; the message lists every problem with its row."""


_OVERRIDE_ALIASES = {
    "customer_id": ("customer_id", "客户编号", "客户id", "客户号", "客户代码", "customer", "id"),
    "tier": ("tier", "层级", "客户关系划分", "客户层级", "分层", "调整后层级", "new_tier", "override_tier"),
    "reason": ("reason", "原因", "调整原因", "理由", "说明"),
    "reviewer": ("reviewer", "复核人", "审核人", "复核", "approved_by", "reviewed_by"),
    "date": ("date", "日期", "调整日期", "复核日期", "reviewed_on", "override_date"),
}


def _norm_header(text: Any) -> str:
    return unicodedata.normalize("NFKC", str(text)).strip().lstrip("\ufeff").lower().replace(" ", "_")


def _read_table(path: Path) -> pd.DataFrame:
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return pd.read_excel(path, dtype=str)
    if suffix == ".xls":  # the old binary format needs a reader segkit does not install
        raise OverrideError(f"{path}: .xls (Excel 97-2003) is not read; save it as .xlsx or .csv")
    if suffix not in (".csv", ".txt"):
        raise OverrideError(f"{path}: an overrides file is .csv or .xlsx, not {shorten(suffix)}")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return pd.read_csv(path, dtype=str, encoding=encoding, keep_default_na=False, na_values=[""])
        except UnicodeDecodeError:
            continue
    raise OverrideError(f"{path}: cannot read as UTF-8 or GBK text")


def _tier_lookup(config: TiersConfig) -> dict[str, str]:
    lookup = {}
    for key in config.order:
        lookup[_norm_header(key)] = key
        entry = config.labels[key]
        for text in (entry.zh, entry.en, entry.zh_short, entry.en_short):
            if text:
                lookup[_norm_header(text)] = key
    return lookup


def _normalise_overrides(raw: pd.DataFrame, config: TiersConfig, source: str) -> pd.DataFrame:
    index = {}
    for canonical, aliases in _OVERRIDE_ALIASES.items():
        for col in raw.columns:
            if _norm_header(col) in {_norm_header(a) for a in aliases}:
                index.setdefault(canonical, col)
    missing = [c for c in _OVERRIDE_ALIASES if c not in index]
    if missing:
        raise OverrideError(
            f"{source}: missing column(s) {missing}; an overrides file needs customer_id, tier, "
            f"reason, reviewer, date (or 客户编号, 层级, 原因, 复核人, 日期); found {list(raw.columns)}"
        )
    df = pd.DataFrame({c: raw[index[c]] for c in _OVERRIDE_ALIASES})
    df = df.reset_index(drop=True)
    problems: list[str] = []
    rows = pd.RangeIndex(2, len(df) + 2)  # row numbers as a spreadsheet shows them
    text = {}
    for col in ("customer_id", "tier", "reason", "reviewer"):
        cleaned = [None if pd.isna(v) or str(v).strip() == "" else str(v).strip() for v in df[col].astype(object)]
        text[col] = pd.Series(cleaned, dtype=object)
        for row, value in zip(rows, cleaned):
            if value is None:
                problems.append(f"row {row}: {col} is empty")
    lookup = _tier_lookup(config)
    tiers = []
    for row, value in zip(rows, text["tier"]):
        if value is None or pd.isna(value):
            tiers.append(None)
            continue
        key = lookup.get(_norm_header(value))
        if key is None:
            problems.append(f"row {row}: unknown tier {shorten(value)}; allowed: {config.order} (or their labels)")
        tiers.append(key)
    dates = []
    for row, value in zip(rows, df["date"]):
        # only unambiguous dates: 01/09/2026 could be 1 September or 9 January; "now" is no date
        try:
            parsed = parse_date(None if value is None or pd.isna(value) else value, "date")
        except ValueError as exc:
            problems.append(f"row {row}, column {shorten(str(index['date']))}: {exc}")
            parsed = pd.NaT
        dates.append(parsed)
    ids = text["customer_id"]
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    for cid in pd.unique(dup):
        where = [str(r) for r, v in zip(rows, ids) if v == cid]
        problems.append(f"rows {', '.join(where)}: several overrides for customer {shorten(cid)}; keep one")
    if problems:
        raise OverrideError(f"{source}: {len(problems)} problem(s) in the overrides:\n  - " + "\n  - ".join(problems))
    out = pd.DataFrame(
        {
            "customer_id": ids.astype(str),
            "tier": pd.Series(tiers, dtype=str),
            "reason": text["reason"].astype(str),
            "reviewer": text["reviewer"].astype(str),
            "date": pd.to_datetime(pd.Series(dates)).astype("datetime64[ns]"),
            "source_row": np.asarray(rows),
        }
    )
    return out


def read_overrides(path: str | Path, config: Any = None) -> pd.DataFrame:
    """Read a manual tier overrides file (CSV or XLSX).

    The file has one row per customer with ``customer_id, tier, reason, reviewer, date``;
    Chinese headers (客户编号, 层级 / 客户关系划分, 原因, 复核人, 日期) work too, and a tier may be
    written as its key (``core``) or its label (``核心客户``).

    Parameters
    ----------
    path : str or Path
    config : tiers configuration, optional
        For the allowed tiers and their labels.

    Returns
    -------
    DataFrame
        ``customer_id, tier, reason, reviewer, date, source_row`` (the file's row number).

    Raises
    ------
    OverrideError
        Listing every problem with its row: a missing column, an empty field, an unknown
        tier, a date that is not a date, two overrides for the same customer.
    """
    path = Path(path)
    if not path.is_file():
        raise OverrideError(f"overrides file not found: {path}")
    return _normalise_overrides(_read_table(path), load_tiers_config(config), str(path))


_OVERRIDE_WORDS = {
    "zh": {
        "basis": "人工调整为{tier}：{reason}（复核人：{reviewer}，{date}）；规则判定：{rule}（{basis}）",
        "stale": "人工调整已超过{days}天（{date}，复核人：{reviewer}），需重新复核",
    },
    "en": {
        "basis": "manual override to {tier}: {reason} (reviewer {reviewer}, {date}); the rules gave {rule} ({basis})",
        "stale": "manual override is older than {days} days ({date}, reviewer {reviewer}); review it again",
    },
}


def _apply_overrides(out: pd.DataFrame, overrides: pd.DataFrame, rules: RuleSet, cfg: TiersConfig, as_of: pd.Timestamp, lang: str, source: str) -> pd.DataFrame:
    unknown = overrides[~overrides["customer_id"].isin(out.index.astype(str))]
    if len(unknown):
        items = [f"row {r}: customer {shorten(c)}" for r, c in zip(unknown["source_row"], unknown["customer_id"])]
        raise OverrideError(
            f"{source}: {len(unknown)} override(s) for customers not in the snapshot:\n  - " + "\n  - ".join(items)
        )
    valid = overrides[overrides["date"] <= as_of]  # an override made later does not rewrite the past
    words = _OVERRIDE_WORDS[lang]
    limit = cfg.overrides.stale_after_days
    id_map = pd.Series(out.index, index=out.index.astype(str))
    for row in valid.itertuples(index=False):
        cid = id_map[row.customer_id]
        date_text = row.date.strftime("%Y-%m-%d")
        stale = (as_of - row.date).days > limit
        out.at[cid, "basis"] = words["basis"].format(
            tier=rules.label(row.tier, lang),
            reason=row.reason,
            reviewer=row.reviewer,
            date=date_text,
            rule=rules.label(out.at[cid, "rule_tier"], lang),
            basis=out.at[cid, "basis"],
        )
        out.at[cid, "tier"] = row.tier
        out.at[cid, "override_reason"] = row.reason
        out.at[cid, "override_reviewer"] = row.reviewer
        out.at[cid, "override_date"] = row.date
        out.at[cid, "override_stale"] = stale
        out.at[cid, "needs_review"] = stale
        out.at[cid, "review_reason"] = words["stale"].format(days=limit, date=date_text, reviewer=row.reviewer) if stale else ""
    return out


def assign_tiers(
    snapshot: pd.DataFrame,
    config: Any = None,
    overrides: str | Path | pd.DataFrame | None = None,
    lang: str = "zh",
    as_of: Any = None,
    thresholds: Thresholds | None = None,
) -> pd.DataFrame:
    """Assign each customer a tier (客户关系划分) and say why.

    Rules come from the ``tiers`` configuration (default: business-rules.md section 2),
    evaluated in order, first match wins; every customer gets exactly one tier.

    - Customers no rule matches (e.g. >= 500,000 but fewer than 10 interactions) get the
      provisional tier of the first matching ``unmatched`` rule (default ``potential`` for
      that case) or ``default_tier``, and ``needs_review``.
    - Customers within ``review.margin`` (default 10%) of a threshold whose crossing would
      change their tier are flagged ``needs_review``; so are customers who meet the amount
      of a higher rule but not its interactions (``partial_review``).
    - Overrides (see :func:`read_overrides`) dated on or before ``as_of`` replace the rule
      tier; the rule tier and basis are kept. An override older than
      ``overrides.stale_after_days`` is reported stale and flagged for review again.

    Parameters
    ----------
    snapshot : DataFrame
        ``segkit.snapshot(ds, as_of)``, indexed by customer_id; needs at least the columns
        the rules use (default: revenue_12m, interactions_6m, new_need_inquiry_6m,
        renewal_intent).
    config : path, mapping or TiersConfig, optional
        User configuration overriding the defaults.
    overrides : path or DataFrame, optional
        Manual overrides; an unknown customer or tier raises :class:`OverrideError`.
    lang : {"zh", "en"}, default "zh"
        Language of ``tier_label``, ``basis`` and ``review_reason``.
    as_of : date-like, optional
        The snapshot date; default ``snapshot.attrs["as_of"]``. Needed with overrides.
    thresholds : Thresholds, optional
        Lines to apply instead of resolving them for ``snapshot`` (e.g. ``attrs["thresholds"]``
        of this quarter's tiers when tiering the previous quarter: with relative lines,
        each quarter would otherwise get its own, and migration would measure the lines
        moving rather than the customers).

    Returns
    -------
    DataFrame
        Indexed like ``snapshot``: ``tier``, ``tier_label``, ``basis``, ``needs_review``,
        ``review_reason``, ``rule_tier``, ``override_reason``, ``override_reviewer``,
        ``override_date``, ``override_stale``. ``attrs`` hold ``thresholds`` (the
        :class:`~segkit.segment.thresholds.Thresholds` used: numbers and how they were
        derived) and ``health`` (:func:`~segkit.segment.thresholds.tier_health`).

    Warns
    -----
    TierHealthWarning
        When 90% or more of the customers land in one tier or an expected tier is empty,
        naming the likely cause (currency or scale, as-of date, missing interactions).

    Examples
    --------
    >>> tiers = assign_tiers(handbook_examples())
    >>> tiers["tier_label"].tolist()
    ['核心客户', '潜力客户', '普通客户', '低价值客户']
    >>> tiers.loc["C001", "basis"]
    '近12个月交易额65.0万元 ≥ 50万元 且 近6个月互动12次 ≥ 10次'
    >>> assign_tiers(handbook_examples(), lang="en").loc["C001", "basis"]
    '12-month revenue CNY 650,000 ≥ CNY 500,000 and 6-month interactions 12 ≥ 10'
    """
    check_lang(lang)
    cfg = load_tiers_config(config)
    if thresholds is None:
        thresholds = resolve_thresholds(snapshot, None if isinstance(config, TiersConfig) else config)
    rules = RuleSet(cfg, "tiers", thresholds)
    result = rules.evaluate(snapshot, lang)
    out = pd.DataFrame(index=snapshot.index)
    out["tier"] = result["key"].astype(object)
    out["tier_label"] = ""
    out["basis"] = result["basis"].astype(object)
    out["needs_review"] = result["needs_review"].astype(bool)
    out["review_reason"] = result["review_reason"].astype(object)
    out["rule_tier"] = result["key"].astype(object)
    out["override_reason"] = pd.Series(pd.NA, index=out.index, dtype=object)
    out["override_reviewer"] = pd.Series(pd.NA, index=out.index, dtype=object)
    out["override_date"] = pd.Series(pd.NaT, index=out.index, dtype="datetime64[ns]")
    out["override_stale"] = False

    if as_of is None:
        as_of = snapshot.attrs.get("as_of")
    as_of_ts = pd.Timestamp(as_of) if as_of is not None else None
    if overrides is not None:
        if as_of_ts is None:
            raise ValueError("overrides need the snapshot date: pass as_of= or a snapshot made by segkit.snapshot")
        if isinstance(overrides, pd.DataFrame):
            table, source = _normalise_overrides(overrides, cfg, "overrides table"), "overrides table"
        else:
            table, source = read_overrides(overrides, cfg), str(overrides)
        out = _apply_overrides(out, table, rules, cfg, as_of_ts, lang, source)

    out["tier_label"] = out["tier"].map(lambda k: rules.label(k, lang))
    for col in ("tier", "tier_label", "basis", "review_reason", "rule_tier"):
        out[col] = out[col].astype(str)
    for col in ("override_reason", "override_reviewer"):
        out[col] = out[col].astype("str")
    out["needs_review"] = out["needs_review"].astype(bool)
    out["override_stale"] = out["override_stale"].astype(bool)
    health = tier_health(out, snapshot, None if isinstance(config, TiersConfig) else config, thresholds)
    out.attrs = {"as_of": as_of_ts, "lang": lang, "config_hash": config_hash(cfg), "tier_order": list(cfg.order),
                 "thresholds": thresholds, "health": health}
    if not health["ok"]:
        warnings.warn(" ".join(tier_health_messages(health, lang, config, lambda k: rules.label(k, lang))),
                      TierHealthWarning, stacklevel=2)
    return out


# --- the handbook's worked examples --------------------------------------------------------


def handbook_examples() -> pd.DataFrame:
    """The four worked examples C001-C004 of the handbook's tier template, snapshot-shaped.

    Only the columns of the template and of the tier rules are filled (amounts in CNY);
    C002 asked about new products (one new-need inquiry); C004 has no interactions and no
    renewal intention. Expected tiers: core, potential, ordinary, low value.

    Examples
    --------
    >>> handbook_examples()[["revenue_12m", "interactions_6m"]]
                 revenue_12m  interactions_6m
    customer_id                              
    C001            650000.0               12
    C002            280000.0                5
    C003            120000.0                3
    C004             30000.0                0
    """
    df = pd.DataFrame(
        {
            "customer_id": ["C001", "C002", "C003", "C004"],
            "name": ["*科技有限公司", "*贸易公司", "*制造厂", "*个体工商户"],
            "industry": ["it_services", "retail", "manufacturing", "services"],
            "contact_name": ["李明", "王芳", "赵强", None],
            "contact_title": ["总监", "经理", "主管", None],
            "revenue_12m": [650000.0, 280000.0, 120000.0, 30000.0],
            "interactions_6m": [12, 5, 3, 0],
            "tenure_months": [24, 12, 6, 3],
            "need_type": ["solution_customisation", "product_purchase", "technical_service", "product_purchase"],
            "new_need_inquiry_6m": [0, 1, 0, 0],
            "renewal_intent": pd.array([pd.NA, pd.NA, pd.NA, False], dtype="boolean"),
        }
    ).set_index("customer_id")
    df["name"] = df["name"].astype("str")
    return df

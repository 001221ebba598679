"""The rule engine: ordered, explained rules on named thresholds (tiers, value classes).

A :class:`RuleSet` is built from a :class:`RuleSetConfig` (``order``, ``labels``, ``measures``,
``rules``, ``unmatched``, ``review``): rules are evaluated in order, first match wins, every
row gets exactly one key; rows no rule matches get a provisional key and are flagged for
review, and so are rows whose key hangs on a value close to a threshold.
:meth:`RuleSet.evaluate` gives keys and review keys only; :meth:`RuleSet.explain` puts the
basis and review reasons into words (zh or en) from the configured measure names and units,
for the rows asked for (words cost far more than keys, and most rows are never read).

The item models (:class:`ConfigItem` and its subclasses :class:`Label`, :class:`Measure`, ...)
are shared by every segment configuration that holds lists or mappings of models.

Why this module is long: condition compiling, the rendering of a condition in
words and the engine that uses both are one job; split, each part would only serve the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, model_validator

from segkit.config import ConfigError, StrictModel
from segkit.labels import check_lang, money
from segkit.segment._expr import Compare, Const, ExpressionError, Name, parse
from segkit.segment.thresholds import Thresholds, default_thresholds, plain_number, template_names

__all__ = [
    "ConfigItem",
    "Label",
    "FlagStates",
    "Measure",
    "ConditionSpec",
    "Rule",
    "FallbackRule",
    "Unmatched",
    "Review",
    "RuleSetConfig",
    "Condition",
    "compile_condition",
    "join_texts",
    "RuleSet",
]


# --- configuration models ------------------------------------------------------------------


class ConfigItem(StrictModel):
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


class Label(ConfigItem):
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


class FlagStates(ConfigItem):
    true: Label
    false: Label
    missing: Label


class Measure(ConfigItem):
    """How a snapshot column is named and shown in basis texts."""

    zh: str
    en: str
    unit: Literal["money", "count", "percent", "days", "months", "number", "flag"] = "number"
    states: FlagStates | None = None


class ConditionSpec(ConfigItem):
    condition: str
    borderline: bool = True


class Rule(ConfigItem):
    tier: str
    any_of: list[list[str | ConditionSpec]] = Field(min_length=1)
    partial_review: bool = False


class FallbackRule(ConfigItem):
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


def compile_condition(
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
        return f"{plain_number(v * 100)}%" if threshold else f"{v * 100:.1f}%"
    suffix = {
        "count": ("次", ""),
        "days": ("天", " days"),
        "months": ("个月", " months"),
        "number": ("", ""),
    }.get(unit, ("", ""))
    return f"{plain_number(v, 2)}{suffix[0] if lang == 'zh' else suffix[1]}"


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


def join_texts(parts: list[pd.Series], index: pd.Index, sep: str) -> pd.Series:
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
    >>> from segkit.segment.tiers import load_tiers_config
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
                [compile_condition(c, config.measures, f"{name}.rules[{i}].any_of[{j}][{k}]", th) for k, c in enumerate(clause)]
                for j, clause in enumerate(rule.any_of)
            ]
            if any(not c for c in clauses):
                raise ConfigError(f"{name}.rules[{i}].any_of: a clause needs at least one condition")
            self.rules.append(_Compiled(rule.tier, clauses, rule.partial_review))
        self.fallbacks: list[_Compiled] = []
        for i, rule in enumerate(config.unmatched.rules):
            self._check_key(rule.tier, f"{name}.unmatched.rules[{i}].tier")
            clauses = [
                [compile_condition(c, config.measures, f"{name}.unmatched.rules[{i}].any_of[{j}][{k}]", th) for k, c in enumerate(clause)]
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

    def evaluate(self, df: pd.DataFrame) -> pd.DataFrame:
        """Assign keys and review flags, without words.

        Parameters
        ----------
        df : DataFrame
            One row per customer with the columns the rules use.

        Returns
        -------
        DataFrame
            Indexed like ``df``: ``key`` (the assigned key), ``rule`` (where the matching rule
            is configured: ``rules[i]``, ``unmatched.rules[i]`` or ``unmatched.default``),
            ``clause`` (position in its ``any_of`` of the first clause that holds; -1 for
            ``unmatched.default``), ``needs_review`` and ``review``: ``;``-joined review keys,
            ``unmatched``, ``partial:<key>`` (a higher rule's first condition holds, a later
            one does not) or ``near_threshold:<column>`` ("" when no review is needed).
            Words for these are :meth:`explain`'s job.

        Examples
        --------
        >>> from segkit.segment.tiers import handbook_examples, load_tiers_config
        >>> out = RuleSet(load_tiers_config()).evaluate(handbook_examples())
        >>> out["key"].tolist()
        ['core', 'potential', 'ordinary', 'low_value']
        >>> out["rule"].tolist(), out["clause"].tolist()
        (['rules[0]', 'rules[1]', 'rules[2]', 'rules[3]'], [0, 0, 0, 0])
        """
        self._check_columns(df)
        index = df.index
        n = len(df)
        keys, rule_idx, fb_idx, cv = self._match(df)
        rule = np.array(
            [f"rules[{i}]" for i in range(len(self.rules))] + [f"unmatched.rules[{i}]" for i in range(len(self.fallbacks))]
            + ["unmatched.default"], dtype=object)
        pick = np.where(rule_idx >= 0, rule_idx, np.where(fb_idx >= 0, len(self.rules) + fb_idx, len(rule) - 1))
        clause = np.full(n, -1)
        for i, r in enumerate([*self.rules, *self.fallbacks]):
            for j, cl in enumerate(r.clauses):
                rows = (pick == i) & (clause == -1) & self._clause_ok(cl, cv, n)
                clause[rows] = j
        review = join_texts(
            [pd.Series(kind, index=index[rows], dtype=object) for kind, rows in self._review_rows(df, keys, rule_idx, cv)],
            index, ";")
        return pd.DataFrame(
            {
                "key": pd.Series(keys, index=index, dtype=object),
                "rule": pd.Series(rule[pick], index=index, dtype="str"),
                "clause": clause,
                "needs_review": (review != "").to_numpy(),
                "review": review.astype("str"),
            },
            index=index,
        )

    def _review_rows(self, df, keys, rule_idx, cv):
        """(review key, row mask) pairs in the order their reasons are written."""
        n = len(df)
        unmatched = rule_idx == -1
        if unmatched.any():
            yield "unmatched", unmatched
        for i, lead, rest, rows in self._partial_rows(rule_idx, cv, n):
            yield f"partial:{self.rules[i].key}", rows
        for column, _t, near, found, _alt in self._near_threshold(df, keys, cv):
            mask = np.zeros(n, dtype=bool)
            mask[np.flatnonzero(near)[found]] = True
            yield f"near_threshold:{column}", mask

    def explain(self, df: pd.DataFrame, evaluated: pd.DataFrame | None = None, lang: str = "zh") -> pd.DataFrame:
        """The words for :meth:`evaluate`'s result: ``basis`` and ``review_reason`` per row.

        Rendering words costs far more than assigning keys, so it is done only here, and
        only for the rows asked for: pass ``evaluated`` (or any table indexed by customer)
        restricted to the rows to show, and only those are put into words. Runs that never
        show reasons never call this.

        Parameters
        ----------
        df : DataFrame
            The rows :meth:`evaluate` was given (at least those of ``evaluated``).
        evaluated : DataFrame, optional
            :meth:`evaluate`'s result or a subset of its rows; default every row of ``df``.
        lang : {"zh", "en"}, default "zh"

        Returns
        -------
        DataFrame
            Indexed like ``evaluated`` (or ``df``): ``basis`` (every satisfied clause of the
            matched rule, with the customer's values) and ``review_reason`` ("" when none).

        Examples
        --------
        >>> from segkit.segment.tiers import handbook_examples, load_tiers_config
        >>> rules = RuleSet(load_tiers_config())
        >>> snap = handbook_examples()
        >>> rules.explain(snap, rules.evaluate(snap).loc[["C003"]], "en")["basis"].iloc[0]
        '12-month revenue CNY 120,000 ∈ [CNY 50,000, CNY 200,000) and 6-month interactions 3 ∈ [3, 9]'
        """
        check_lang(lang)
        if evaluated is not None:
            df = df.loc[evaluated.index]
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
        basis = join_texts(basis_parts, index, words["clause_sep"])
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
        review_reason = join_texts(reasons, index, words["reason_sep"])
        return pd.DataFrame({"basis": basis.astype("str"), "review_reason": review_reason.astype("str")}, index=index)

    def _partial_rows(self, rule_idx, cv, n):
        """(rule position, lead condition, later conditions, rows): the first condition of a
        clause holds, a later one does not, for a rule higher than the matched one."""
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
                if rows.any():
                    yield i, lead, rest, rows

    def _partial_reasons(self, df, rule_idx, cv, lang) -> list[pd.Series]:
        out = []
        for i, lead, rest, rows in self._partial_rows(rule_idx, cv, len(df)):
            met = self._render_series(lead, df, rows, lang, True)
            unmet_parts = []
            for cond in rest:
                r = rows & ~cv[id(cond)]
                if r.any():
                    unmet_parts.append(self._render_series(cond, df, r, lang, False))
            unmet = join_texts(unmet_parts, df.index[rows], _WORDS[lang]["and"])
            tier = self.label(self.rules[i].key, lang)
            out.append(
                pd.Series(
                    [_WORDS[lang]["partial"].format(tier=tier, met=m, unmet=u) for m, u in zip(met, unmet[met.index])],
                    index=met.index,
                    dtype=object,
                )
            )
        return out

    def _near_threshold(self, df, keys, cv):
        """(column, threshold, near mask, found mask within near, alternative keys within near):
        customers whose key changes when one value crosses a nearby threshold."""
        margin = self.config.review.margin
        if margin <= 0 or len(df) == 0:
            return
        conditions = [c for r in [*self.rules, *self.fallbacks] for cl in r.clauses for c in cl]
        pairs: list[tuple[str, float]] = []
        for cond in conditions:
            if self.config.measures[cond.column].unit != "flag":
                pairs.extend((cond.column, t) for t in cond.thresholds if (cond.column, t) not in pairs)
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
            if found.any():
                yield column, t, near, found, alt

    def _near_threshold_reasons(self, df, keys, cv, lang) -> list[pd.Series]:
        out = []
        margin = self.config.review.margin
        for column, t, near, found, alt in self._near_threshold(df, keys, cv):
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
                        cond=cond_text, threshold=threshold, margin=f"{plain_number(margin * 100)}%", alt=self.label(alt_key, lang)
                    )
                )
            out.append(pd.Series(texts, index=ids, dtype=object))
        return out

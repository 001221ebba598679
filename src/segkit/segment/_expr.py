"""Small, safe expressions over table columns (tag rules, classification rules, RFM measures).

Rules in segkit's YAML are written as short expressions such as::

    revenue_total >= 100000
    orders_12m / 12 >= 5
    complaints_12m == 0 and tenure_months >= 12
    industry in ["manufacturing", "retail"] and not renewal_intent == false
    200000 <= revenue_12m < 500000

They are parsed by a hand-written recursive-descent parser into a tiny syntax tree and
evaluated with pandas; nothing is ever passed to ``eval``. The grammar is::

    expr       := or_expr
    or_expr    := and_expr ("or" and_expr)*
    and_expr   := not_expr ("and" not_expr)*
    not_expr   := "not" not_expr | comparison
    comparison := sum ((CMP sum)+ | ["not"] "in" list)?      # chains like a <= x < b
    sum        := term (("+" | "-") term)*
    term       := unary (("*" | "/") unary)*
    unary      := "-" unary | atom
    atom       := NUMBER | STRING | true | false | NAME | "(" expr ")"
    list       := "[" [literal ("," literal)*] "]"

``CMP`` is one of ``== != >= <= > <`` (``≥ ≤ ≠`` are accepted too). Keywords are
case-insensitive (``and``/``AND``); column names are case-sensitive.

Missing values follow numpy's comparison rules, written out: a comparison with a missing
value is false, except ``!=`` (and ``not in``), which is true. So ``renewal_intent != true``
holds for "no" *and* for "unknown".

Why this module is long: tokenizer, parser and evaluator of one small language belong together;
none of them is used without the others.
"""

from __future__ import annotations

import difflib
import operator
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from segkit.errors import ExpressionError  # defined with every segkit error; importable here as before

__all__ = ["Expression", "ExpressionError", "parse"]


# --- tokens -------------------------------------------------------------------------------

_KEYWORDS = {"and", "or", "not", "in", "true", "false"}
_COMPARISONS = ("==", "!=", ">=", "<=", ">", "<")
_ALIASES = {"≥": ">=", "≤": "<=", "≠": "!="}
_HINTS = {
    "=": "==",
    "=>": ">=",
    "=<": "<=",
    "<>": "!=",
    "===": "==",
    "&&": "and",
    "&": "and",
    "||": "or",
    "|": "or",
    "!": "not",
}
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<number>(?:\d[\d_]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>==|!=|>=|<=|[<>+\-*/(),\[\]])
  | (?P<other>[=!&|<>%^~:;?$#{}]+|.)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class _Token:
    kind: str  # number, string, name, keyword, op, end
    value: Any
    pos: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    for match in _TOKEN_RE.finditer(text):
        kind, raw, pos = match.lastgroup, match.group(), match.start()
        if kind == "ws":
            continue
        if kind == "number":
            value = float(raw.replace("_", ""))
            tokens.append(_Token("number", int(value) if value.is_integer() and "." not in raw and "e" not in raw.lower() else value, pos))
        elif kind == "string":
            body = raw[1:-1]
            tokens.append(_Token("string", re.sub(r"\\(.)", r"\1", body), pos))
        elif kind == "name":
            low = raw.lower()
            tokens.append(_Token("keyword", low, pos) if low in _KEYWORDS else _Token("name", raw, pos))
        elif kind == "op":
            tokens.append(_Token("op", raw, pos))
        else:
            hint = _HINTS.get(raw)
            suggestion = f"; did you mean {hint!r}?" if hint else ""
            allowed = "== != >= <= > < + - * / and or not in"
            raise ExpressionError(
                f"unknown operator {raw!r} at position {pos} in {text!r}{suggestion} "
                f"(allowed: {allowed})"
            )
    tokens.append(_Token("end", None, len(text)))
    return tokens


# --- syntax tree ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Const:
    value: Any  # int, float, str or bool


@dataclass(frozen=True)
class Neg:
    operand: Any


@dataclass(frozen=True)
class BinOp:
    op: str
    left: Any
    right: Any


@dataclass(frozen=True)
class Compare:
    operands: tuple  # n + 1 operands
    ops: tuple  # n comparison operators


@dataclass(frozen=True)
class InList:
    operand: Any
    values: tuple
    negate: bool


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" / "or"
    values: tuple


@dataclass(frozen=True)
class Not:
    operand: Any


_BOOLEAN_NODES = (Compare, InList, BoolOp, Not)


class _Parser:
    def __init__(self, text: str):
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0

    # helpers
    def peek(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, value: Any = None) -> bool:
        tok = self.peek()
        return tok.kind == kind and (value is None or tok.value == value)

    def expect(self, kind: str, value: Any) -> _Token:
        if not self.at(kind, value):
            self.fail(f"expected {value!r}")
        return self.take()

    def fail(self, what: str) -> None:
        tok = self.peek()
        found = "the end" if tok.kind == "end" else repr(tok.value)
        raise ExpressionError(f"{what} at position {tok.pos} in {self.text!r}, found {found}")

    # grammar
    def parse(self):
        if self.at("end"):
            raise ExpressionError("empty expression")
        node = self.or_expr()
        if not self.at("end"):
            self.fail("unexpected text")
        return node

    def or_expr(self):
        values = [self.and_expr()]
        while self.at("keyword", "or"):
            self.take()
            values.append(self.and_expr())
        return values[0] if len(values) == 1 else BoolOp("or", tuple(values))

    def and_expr(self):
        values = [self.not_expr()]
        while self.at("keyword", "and"):
            self.take()
            values.append(self.not_expr())
        return values[0] if len(values) == 1 else BoolOp("and", tuple(values))

    def not_expr(self):
        if self.at("keyword", "not"):
            self.take()
            return Not(self.not_expr())
        return self.comparison()

    def comparison(self):
        left = self.sum()
        if self.at("keyword", "not") or self.at("keyword", "in"):
            negate = False
            if self.at("keyword", "not"):
                self.take()
                negate = True
            self.expect("keyword", "in")
            return InList(left, self.literal_list(), negate)
        operands, ops = [left], []
        while self.peek().kind == "op" and self.peek().value in _COMPARISONS:
            ops.append(self.take().value)
            operands.append(self.sum())
        if not ops:
            return left
        return Compare(tuple(operands), tuple(ops))

    def literal_list(self) -> tuple:
        self.expect("op", "[")
        values: list[Any] = []
        while not self.at("op", "]"):
            neg = False
            if self.at("op", "-"):
                self.take()
                neg = True
            tok = self.take()
            if tok.kind in ("number", "string"):
                values.append(-tok.value if neg else tok.value)
            elif tok.kind == "keyword" and tok.value in ("true", "false") and not neg:
                values.append(tok.value == "true")
            else:
                self.i -= 1
                self.fail("expected a number or a quoted text in the list")
            if not self.at("op", "]"):
                self.expect("op", ",")
        self.take()
        return tuple(values)

    def sum(self):
        node = self.term()
        while self.at("op", "+") or self.at("op", "-"):
            op = self.take().value
            node = BinOp(op, node, self.term())
        return node

    def term(self):
        node = self.unary()
        while self.at("op", "*") or self.at("op", "/"):
            op = self.take().value
            node = BinOp(op, node, self.unary())
        return node

    def unary(self):
        if self.at("op", "-"):
            self.take()
            operand = self.unary()
            if isinstance(operand, Const) and isinstance(operand.value, (int, float)) and not isinstance(operand.value, bool):
                return Const(-operand.value)
            return Neg(operand)
        return self.atom()

    def atom(self):
        tok = self.peek()
        if tok.kind in ("number", "string"):
            self.take()
            return Const(tok.value)
        if tok.kind == "keyword" and tok.value in ("true", "false"):
            self.take()
            return Const(tok.value == "true")
        if tok.kind == "name":
            self.take()
            return Name(tok.value)
        if self.at("op", "("):
            self.take()
            node = self.or_expr()
            self.expect("op", ")")
            return node
        self.fail("expected a column name, a number, a quoted text or '('")
        raise AssertionError  # unreachable


def _names(node) -> set[str]:
    if isinstance(node, Name):
        return {node.name}
    if isinstance(node, Const):
        return set()
    if isinstance(node, Neg):
        return _names(node.operand)
    if isinstance(node, BinOp):
        return _names(node.left) | _names(node.right)
    if isinstance(node, Compare):
        return set().union(*(_names(o) for o in node.operands))
    if isinstance(node, InList):
        return _names(node.operand)
    if isinstance(node, BoolOp):
        return set().union(*(_names(v) for v in node.values))
    if isinstance(node, Not):
        return _names(node.operand)
    raise TypeError(node)  # pragma: no cover


def _substitute(node, constants: Mapping[str, Any], rename: Mapping[str, str]):
    """A copy of ``node`` with named constants replaced by their values and columns renamed."""
    if isinstance(node, Name):
        if node.name in constants:
            return Const(constants[node.name])
        return Name(rename.get(node.name, node.name))
    if isinstance(node, Const):
        return node
    if isinstance(node, Neg):
        operand = _substitute(node.operand, constants, rename)
        if isinstance(operand, Const) and _is_number(operand.value):
            return Const(-operand.value)
        return Neg(operand)
    if isinstance(node, BinOp):
        return BinOp(node.op, _substitute(node.left, constants, rename), _substitute(node.right, constants, rename))
    if isinstance(node, Compare):
        return Compare(tuple(_substitute(o, constants, rename) for o in node.operands), node.ops)
    if isinstance(node, InList):
        return InList(_substitute(node.operand, constants, rename), node.values, node.negate)
    if isinstance(node, BoolOp):
        return BoolOp(node.op, tuple(_substitute(v, constants, rename) for v in node.values))
    if isinstance(node, Not):
        return Not(_substitute(node.operand, constants, rename))
    raise TypeError(node)  # pragma: no cover


def _is_boolean(node) -> bool:
    if isinstance(node, _BOOLEAN_NODES):
        return True
    if isinstance(node, Const) and isinstance(node.value, bool):
        return True
    return isinstance(node, Name)  # a boolean column can be used on its own


# --- evaluation ----------------------------------------------------------------------------

_CMP_FUNCS = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}
_ARITH_FUNCS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _missing(value: Any, index: pd.Index) -> pd.Series:
    if isinstance(value, pd.Series):
        return value.isna()
    return pd.Series(bool(pd.isna(value)), index=index)


def _is_text(value: Any) -> bool:
    if isinstance(value, pd.Series):
        return pd.api.types.is_string_dtype(value.dtype) or pd.api.types.is_object_dtype(value.dtype)
    return isinstance(value, str)


def _is_number(value: Any) -> bool:
    if isinstance(value, pd.Series):
        return pd.api.types.is_numeric_dtype(value.dtype) and not pd.api.types.is_bool_dtype(value.dtype)
    return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)


def _as_bool(value: Any, index: pd.Index) -> pd.Series:
    """A boolean Series with missing values as False."""
    if isinstance(value, pd.Series):
        if pd.api.types.is_bool_dtype(value.dtype):
            return value.fillna(False).astype(bool)
        raise ExpressionError(f"column values {value.name!r} are not true/false and cannot be combined with and/or/not")
    return pd.Series(bool(value), index=index)


class Expression:
    """A parsed, validated expression over the columns of a table.

    Use :func:`parse` to make one.

    Attributes
    ----------
    text : str
        The expression as written.
    columns : frozenset of str
        The column names it uses.
    node
        The root of the syntax tree.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"orders_12m": [72, 12], "complaints_12m": [0, 2]})
    >>> parse("orders_12m / 12 >= 5 and complaints_12m == 0").evaluate(df).tolist()
    [True, False]
    """

    def __init__(self, text: str, node: Any, kind: str | None = None):
        self.text = text
        self.node = node
        self.kind = kind
        self.columns = frozenset(_names(node))

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"

    @property
    def is_boolean(self) -> bool:
        """True when the expression yields true/false (a rule), not a number (a measure)."""
        if self.kind is not None:
            return self.kind == "rule"
        return _is_boolean(self.node) and not isinstance(self.node, Name)

    def evaluate(self, df: pd.DataFrame) -> pd.Series:
        """Evaluate on every row of ``df``; return a Series aligned with ``df.index``.

        A rule returns booleans (missing values never make it true, except ``!=``/``not in``);
        a measure returns numbers.

        Raises
        ------
        ExpressionError
            When a column is absent from ``df`` or values cannot be compared.
        """
        missing = sorted(self.columns - set(df.columns))
        if missing:
            raise ExpressionError(
                f"the table has no column {missing[0]!r} needed by {self.text!r}"
                + _did_you_mean(missing[0], df.columns)
            )
        result = self._eval(self.node, df)
        if not isinstance(result, pd.Series):
            result = pd.Series(result, index=df.index)
        boolean = self.is_boolean or (
            self.kind is None and isinstance(self.node, Name) and pd.api.types.is_bool_dtype(result.dtype)
        )
        if boolean:
            return _as_bool(result, df.index).rename(None)
        if _is_text(result):
            raise ExpressionError(f"{self.text!r} gives text, but a number or a rule is needed")
        return pd.to_numeric(result, errors="coerce").astype(float).rename(None)

    def _eval(self, node, df: pd.DataFrame):
        if isinstance(node, Name):
            column = df[node.name]
            if pd.api.types.is_object_dtype(column.dtype):
                if column.isna().all():  # an empty column has no type yet: treat it as numbers
                    return pd.Series(np.nan, index=df.index, name=node.name)
                column = column.infer_objects()
            return column
        if isinstance(node, Const):
            return node.value
        if isinstance(node, Neg):
            value = self._eval(node.operand, df)
            self._check_number(value, "-")
            return -value
        if isinstance(node, BinOp):
            left, right = self._eval(node.left, df), self._eval(node.right, df)
            self._check_number(left, node.op)
            self._check_number(right, node.op)
            # numpy floats: division by zero gives inf (made missing below), never an exception
            left = left.astype(float) if isinstance(left, pd.Series) else np.float64(left)
            right = right.astype(float) if isinstance(right, pd.Series) else np.float64(right)
            with np.errstate(divide="ignore", invalid="ignore"):
                result = _ARITH_FUNCS[node.op](left, right)
            if isinstance(result, pd.Series):
                result = result.replace([np.inf, -np.inf], np.nan)
            elif not np.isfinite(result):
                result = np.nan
            return result
        if isinstance(node, Compare):
            parts = []
            values = [self._eval(o, df) for o in node.operands]
            for op, left, right in zip(node.ops, values[:-1], values[1:]):
                parts.append(self._compare(op, left, right, df.index))
            result = parts[0]
            for part in parts[1:]:
                result = result & part
            return result
        if isinstance(node, InList):
            value = self._eval(node.operand, df)
            if not isinstance(value, pd.Series):
                value = pd.Series([value] * len(df), index=df.index)
            present = value.isin(list(node.values)).fillna(False).astype(bool)
            missing = value.isna()
            return (~present | missing) if node.negate else (present & ~missing)
        if isinstance(node, BoolOp):
            parts = [_as_bool(self._eval(v, df), df.index) for v in node.values]
            result = parts[0]
            for part in parts[1:]:
                result = (result & part) if node.op == "and" else (result | part)
            return result
        if isinstance(node, Not):
            return ~_as_bool(self._eval(node.operand, df), df.index)
        raise TypeError(node)  # pragma: no cover

    def _check_number(self, value, op: str) -> None:
        if _is_text(value):
            what = repr(value.name) if isinstance(value, pd.Series) else repr(value)
            raise ExpressionError(f"{what} is text and cannot be used with {op!r} in {self.text!r}")

    def _compare(self, op: str, left, right, index: pd.Index) -> pd.Series:
        if op not in ("==", "!=") and (_is_text(left) or _is_text(right)):
            raise ExpressionError(f"{op!r} needs numbers, got text in {self.text!r}")
        if (_is_text(left) and _is_number(right)) or (_is_number(left) and _is_text(right)):
            raise ExpressionError(f"cannot compare text with a number in {self.text!r}")
        if _is_number(left) and _is_number(right):
            # fast path for numbers: plain numpy, missing values made explicit
            lv = left.to_numpy(dtype=float, na_value=np.nan) if isinstance(left, pd.Series) else float(left)
            rv = right.to_numpy(dtype=float, na_value=np.nan) if isinstance(right, pd.Series) else float(right)
            with np.errstate(invalid="ignore"):
                hit = np.broadcast_to(_CMP_FUNCS[op](lv, rv), (len(index),))
            gap = np.broadcast_to(np.isnan(lv) | np.isnan(rv), (len(index),))
            return pd.Series(np.where(gap, op == "!=", hit), index=index, dtype=bool)
        missing = _missing(left, index) | _missing(right, index)
        raw = _CMP_FUNCS[op](left, right)
        if not isinstance(raw, pd.Series):
            raw = pd.Series(bool(raw), index=index)
        result = raw.astype("boolean").fillna(False).astype(bool)
        return result.mask(missing, op == "!=")


def _did_you_mean(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, [str(c) for c in choices], n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def parse(
    text: str,
    columns: Iterable[str] | None = None,
    *,
    kind: str | None = None,
    where: str = "",
    constants: Mapping[str, Any] | None = None,
    rename: Mapping[str, str] | None = None,
) -> Expression:
    """Parse ``text`` into an :class:`Expression`, validating it against known columns.

    Parameters
    ----------
    text : str
        The expression, e.g. ``"revenue_total >= 100000"``.
    columns : iterable of str, optional
        The column names the expression may use; any other name is an error naming it.
    kind : {"rule", "measure"}, optional
        ``"rule"`` requires a true/false result, ``"measure"`` a number.
    where : str, default ""
        Where the expression comes from (e.g. ``"tags.rules[3].when"``), for error messages.
    constants : mapping of str to number, optional
        Named values (the ``thresholds`` section, e.g. ``core_revenue``) that a name in the
        expression may refer to; they are replaced by their values when parsing. A name
        that is neither a column nor a constant is an error naming both lists.
    rename : mapping of str to str, optional
        Columns to read under another name (e.g. ``interactions_6m`` -> ``orders_6m`` when
        the export has no interactions); applied after the names are checked.

    Raises
    ------
    ExpressionError
        With the position of a syntax error, the unknown operator or the unknown column.

    Examples
    --------
    >>> parse("revenue_12m >= 500000", ["revenue_12m"]).columns
    frozenset({'revenue_12m'})
    >>> parse("revnue_12m >= 500000", ["revenue_12m"])
    Traceback (most recent call last):
    ...
    segkit.segment._expr.ExpressionError: unknown column 'revnue_12m' in 'revnue_12m >= 500000'; did you mean 'revenue_12m'?
    >>> parse("revenue_12m >= core_revenue", ["revenue_12m"], constants={"core_revenue": 500000}).node
    Compare(operands=(Name(name='revenue_12m'), Const(value=500000)), ops=('>=',))
    >>> parse("revenue_12m >= core_revenu", ["revenue_12m"], constants={"core_revenue": 500000})
    Traceback (most recent call last):
    ...
    segkit.segment._expr.ExpressionError: unknown name 'core_revenu' in 'revenue_12m >= core_revenu'; did you mean 'core_revenue'? (columns: ['revenue_12m']; thresholds: ['core_revenue'])
    >>> parse("revenue_12m => 500000")
    Traceback (most recent call last):
    ...
    segkit.segment._expr.ExpressionError: unknown operator '=>' at position 12 in 'revenue_12m => 500000'; did you mean '>='? (allowed: == != >= <= > < + - * / and or not in)
    """
    if not isinstance(text, str):
        raise ExpressionError(f"{where + ': ' if where else ''}an expression must be text, got {text!r}")
    normalised = unicodedata.normalize("NFKC", text)
    for alias, op in _ALIASES.items():
        normalised = normalised.replace(alias, op)
    prefix = f"{where}: " if where else ""
    try:
        node = _Parser(normalised).parse()
    except ExpressionError as exc:
        raise ExpressionError(prefix + str(exc)) from None
    constants = dict(constants or {})
    if columns is not None:
        known = set(columns)
        for name in sorted(_names(node)):
            if name in known or name in constants:
                continue
            if constants:
                listed = f"columns: {sorted(known)}; " if len(known) <= 15 else ""
                raise ExpressionError(
                    f"{prefix}unknown name {name!r} in {text!r}" + _did_you_mean(name, known | set(constants))
                    + f" ({listed}thresholds: {sorted(constants)})"
                )
            raise ExpressionError(f"{prefix}unknown column {name!r} in {text!r}" + _did_you_mean(name, known))
    if constants or rename:
        node = _substitute(node, constants, dict(rename or {}))
    expr = Expression(text, node, kind)
    if kind not in (None, "rule", "measure"):
        raise ValueError(f"kind must be 'rule', 'measure' or None, got {kind!r}")
    if kind == "rule" and not _is_boolean(node):
        raise ExpressionError(f"{prefix}{text!r} is not a rule: it must compare something (e.g. 'x >= 1')")
    if kind == "measure" and _is_boolean(node) and not isinstance(node, Name):
        raise ExpressionError(f"{prefix}{text!r} is a rule, but a numeric measure is needed here")
    return expr

"""Chinese and English labels for segkit's stable keys.

Data and configuration store stable English keys (``core``, ``manufacturing``,
``solution_customisation``); what people read is a label in zh-CN or en, chosen by one
``lang`` setting. Labels are data: they come from the package's default YAML files.

=====================  ==========================================================
kind                   where the labels live
=====================  ==========================================================
industry, channel,     ``vocabularies.yaml`` (one entry per vocabulary)
need_type, stage, ...
tier                   ``tiers.yaml`` ``labels``
export_column          ``tiers.yaml`` ``export.columns`` (tier-table headers)
rfm_segment            ``rfm.yaml`` segments of every scheme (+ other, no_orders)
rfm_group              ``rfm.yaml`` named groups of the handbook scheme
value_class,           ``classify.yaml``
lifecycle_stage,
company_size
tag                    ``tags.yaml`` taxonomy (``value``, ``value.spend_level``,
                       ``value.spend_level.high``)
cadence                ``strategy.yaml`` ``cadences``
currency               ``thresholds.yaml`` ``currencies`` (元 / 美元 ...)
=====================  ==========================================================

Money is written for people in one place, :func:`money` (with :func:`money_scale` for
chart axes and :func:`money_column` for table columns): 万元 in Chinese (the handbooks' unit),
the ISO code with k / M in English, and the dataset's own currency everywhere (``1.2万美元``,
``USD 12.3k``). A table column carries ONE unit, written in its header, so that a reader
compares plain numbers down the column (never 3.2亿元 above 65.2万元).

Labels of a user's own configuration are read from that configuration by the function that
uses it (e.g. :func:`segkit.segment.tiers.assign_tiers`); this module serves the defaults.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from segkit.config import default_section

__all__ = ["LANGS", "check_lang", "label", "labels", "label_series", "kinds", "money", "money_scale", "money_column",
           "currency_name", "dataset_name", "glossary"]

LANGS = ("zh", "en")

_VOCAB_KINDS_FILE = "vocabularies"


def check_lang(lang: str) -> str:
    """Return ``lang`` if segkit has labels for it, else raise naming the allowed ones.

    Examples
    --------
    >>> check_lang("en")
    'en'
    >>> check_lang("fr")
    Traceback (most recent call last):
    ...
    ValueError: unknown language 'fr'; segkit has labels for: zh, en
    """
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; segkit has labels for: {', '.join(LANGS)}")
    return lang


def _entry(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {k: str(v) for k, v in value.items() if k in ("zh", "en", "zh_short", "en_short")}
    return {}


def _tag_entries(tree: dict, prefix: str = "") -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for key, node in (tree or {}).items():
        path = f"{prefix}{key}"
        out[path] = _entry(node)
        out.update(_tag_entries(node.get("children") or {}, path + "."))
    return out


@lru_cache(maxsize=None)
def _tables() -> dict[str, dict[str, dict[str, str]]]:
    tables: dict[str, dict[str, dict[str, str]]] = {}
    for kind, entries in default_section(_VOCAB_KINDS_FILE).items():
        tables[kind] = {key: _entry(v) for key, v in (entries or {}).items()}

    tiers = default_section("tiers")
    tables["tier"] = {k: _entry(v) for k, v in tiers.get("labels", {}).items()}
    tables["export_column"] = {
        k: _entry(v) for k, v in tiers.get("export", {}).get("columns", {}).items()
    }

    segments: dict[str, dict[str, str]] = {}
    groups: dict[str, dict[str, str]] = {}
    for scheme in default_section("rfm").get("schemes", {}).values():
        for item in [*scheme.get("segments", []), scheme.get("other"), scheme.get("no_orders")]:
            if item:
                segments.setdefault(item["key"], _entry(item))
        for item in [*(scheme.get("groups") or []), scheme.get("group_other")]:
            if item:
                groups.setdefault(item["key"], _entry(item))
    tables["rfm_segment"] = segments
    tables["rfm_group"] = groups

    classify = default_section("classify")
    tables["value_class"] = {k: _entry(v) for k, v in classify["value_class"]["labels"].items()}
    tables["lifecycle_stage"] = {k: _entry(v) for k, v in classify["lifecycle"]["labels"].items()}
    tables["company_size"] = {k: _entry(v) for k, v in classify["company_size"]["labels"].items()}

    tables["tag"] = _tag_entries(default_section("tags").get("taxonomy", {}))
    tables["cadence"] = {k: _entry(v) for k, v in default_section("strategy").get("cadences", {}).items()}
    tables["currency"] = {k: _entry(v) for k, v in default_section("thresholds").get("currencies", {}).items()}
    return tables


def kinds() -> list[str]:
    """The kinds of keys that have labels.

    Examples
    --------
    >>> {"tier", "industry", "need_type", "rfm_segment"} <= set(kinds())
    True
    """
    return sorted(_tables())


def _kind_table(kind: str) -> dict[str, dict[str, str]]:
    tables = _tables()
    if kind not in tables:
        raise ValueError(f"no labels for kind {kind!r}; known kinds: {', '.join(sorted(tables))}")
    return tables[kind]


def label(kind: str, key: Any, lang: str = "zh", *, short: bool = False, default: str | None = None) -> str:
    """The label of one key in ``lang``.

    Parameters
    ----------
    kind : str
        What the key is: ``"tier"``, ``"industry"``, ``"need_type"``, ... (see :func:`kinds`).
    key : str
        The stable key, e.g. ``"core"``.
    lang : {"zh", "en"}, default "zh"
    short : bool, default False
        Use the short form where one exists (``高价值`` instead of ``高价值客户``), as in
        combined labels.
    default : str, optional
        Returned for a missing key (None/NaN); by default an empty string.

    Returns
    -------
    str
        The label. A key without a label (a value kept as written because it matched no
        vocabulary entry) is returned unchanged, so nothing is hidden.

    Examples
    --------
    >>> label("tier", "core")
    '核心客户'
    >>> label("tier", "low_value", "en")
    'Low value'
    >>> label("value_class", "high_value", short=True)
    '高价值'
    >>> label("industry", "制衣业")  # not in the vocabulary: shown as written
    '制衣业'
    """
    check_lang(lang)
    table = _kind_table(kind)
    if key is None or (not isinstance(key, str) and pd.isna(key)):
        return "" if default is None else default
    entry = table.get(str(key))
    if not entry:
        return str(key)
    if short and f"{lang}_short" in entry:
        return entry[f"{lang}_short"]
    return entry.get(lang) or entry.get("en") or str(key)


def labels(kind: str, lang: str = "zh", *, short: bool = False) -> dict[str, str]:
    """All labels of one kind, ``{key: label}``, in the configuration's order.

    Examples
    --------
    >>> labels("tier", "en")
    {'core': 'Core', 'potential': 'Potential', 'ordinary': 'Ordinary', 'low_value': 'Low value'}
    """
    return {key: label(kind, key, lang, short=short) for key in _kind_table(kind)}


def label_series(kind: str, keys: pd.Series, lang: str = "zh", *, short: bool = False, default: str | None = None) -> pd.Series:
    """Labels for a Series of keys (same index); see :func:`label`.

    Examples
    --------
    >>> import pandas as pd
    >>> label_series("need_type", pd.Series(["product_purchase", None]), "en").tolist()
    ['Product purchase', '']
    """
    mapping = {k: label(kind, k, lang, short=short) for k in pd.unique(keys.dropna())}
    missing = "" if default is None else default
    return keys.map(lambda k: missing if pd.isna(k) else mapping[k]).astype("str")


def dataset_name(name: str, lang: str) -> str:
    """The data set's name in ``lang`` when it is written in both (``示例公司客户数据 / Sample B2B
    CRM data``): the part in that language; otherwise the name as written (a data value).

    Examples
    --------
    >>> name = "示例公司客户数据 / Sample B2B CRM data"
    >>> dataset_name(name, "en"), dataset_name(name, "zh"), dataset_name("华东 CRM", "en")
    ('Sample B2B CRM data', '示例公司客户数据', '华东 CRM')
    """
    check_lang(lang)
    parts = [p.strip() for p in str(name).split(" / ")]
    if len(parts) != 2:
        return str(name)
    cjk = [bool(re.search(r"[\u3400-\u9fff]", p)) for p in parts]
    if cjk.count(True) != 1:
        return str(name)
    return parts[cjk.index(True)] if lang == "zh" else parts[cjk.index(False)]


# --- money -----------------------------------------------------------------------------------


def currency_name(currency: str = "CNY", lang: str = "zh") -> str:
    """How a currency is named next to an amount: 元 / 美元 in Chinese, the ISO code in English.

    Examples
    --------
    >>> currency_name("USD", "zh"), currency_name("USD", "en"), currency_name("CHF", "zh")
    ('美元', 'USD', 'CHF')
    """
    check_lang(lang)
    code = str(currency or "CNY").upper()
    entry = _tables()["currency"].get(code) or {}
    return entry.get(lang) or code


def _num(value: float, decimals: int) -> str:
    """``value`` with thousands separators and at most ``decimals`` decimals, no trailing zeros."""
    text = f"{value:,.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def money(value: float, lang: str = "zh", currency: str = "CNY", *, style: str = "short", digits: int = 1) -> str:
    """An amount of money for people, in the dataset's currency.

    Parameters
    ----------
    value : float
        The amount in currency units (yuan, dollars, ...). Missing gives ``"—"`` (``"缺失"`` /
        ``"missing"`` for ``style="value"``).
    lang : {"zh", "en"}, default "zh"
    currency : str, default "CNY"
        ISO 4217 code (``Dataset.currency``, ``snapshot.attrs["currency"]``).
    style : {"short", "value", "threshold", "exact"}, default "short"
        ``short``: tables and tiles (``65.2万元``, ``CNY 652k``, ``USD 12.3k``);
        ``value``: a customer's amount in a basis text (``65.0万元``, ``CNY 650,000``);
        ``threshold``: a rule's line, without needless decimals (``50万元``, ``CNY 500,000``);
        ``exact``: to the cent (``499,999.60元``, ``USD 629.37``).
        In Chinese, amounts below 10,000 of a currency other than yuan are written without 万
        (``629美元``); yuan always in 万元, the handbooks' unit.
    digits : int, default 1
        Decimals of the scaled number for ``short``.

    Examples
    --------
    >>> money(652000), money(652000, "en"), money(12_500_000, "en"), money(3.2e8)
    ('65.2万元', 'CNY 652k', 'CNY 12.5M', '3.20亿元')
    >>> money(12_345, "en", "USD"), money(12_345, "zh", "USD"), money(629.37, "zh", "USD")
    ('USD 12.3k', '1.2万美元', '629美元')
    >>> money(650_000, style="value"), money(650_000, "en", style="value")
    ('65.0万元', 'CNY 650,000')
    >>> money(500_000, style="threshold"), money(150, "en", "USD", style="threshold"), money(2e9, style="threshold")
    ('50万元', 'USD 150', '20亿元')
    >>> money(499_999.6, style="exact"), money(629.371, "en", "USD", style="exact")
    ('499,999.60元', 'USD 629.37')
    """
    check_lang(lang)
    code = str(currency or "CNY").upper()
    if value is None or pd.isna(value):
        return ("缺失" if lang == "zh" else "missing") if style == "value" else "—"
    v = float(value)
    name = currency_name(code, lang)
    if lang == "zh":
        wan = code == "CNY" or abs(v) >= 1e4
        if style == "exact":
            return f"{v:,.2f}{name}"
        if style == "threshold":
            if abs(v) >= 1e8:
                return f"{_num(v / 1e8, 4)}亿{name}"
            return f"{_num(v / 1e4, 4)}万{name}" if wan else f"{_num(v, 2)}{name}"
        if style == "value":
            if abs(v) >= 1e8:
                return f"{v / 1e8:.2f}亿{name}"
            return f"{v / 1e4:.1f}万{name}" if wan else f"{v:,.0f}{name}"
        if abs(v) >= 1e8:
            return f"{v / 1e8:,.{digits + 1}f}亿{name}"
        return f"{v / 1e4:,.{digits}f}万{name}" if wan else f"{v:,.0f}{name}"
    if style == "exact":
        return f"{name} {v:,.2f}"
    if style == "threshold":
        return f"{name} {_num(v, 2)}"
    if style == "value":
        return f"{name} {v:,.0f}"
    if abs(v) >= 1e6:
        return f"{name} {v / 1e6:,.{digits}f}M"
    if abs(v) >= 1e3:
        return f"{name} {v / 1e3:,.{0 if abs(v) >= 1e5 else digits}f}k"
    return f"{name} {v:,.0f}"


def money_scale(lang: str = "zh", currency: str = "CNY", largest: float | None = None) -> tuple[float, str]:
    """Divisor and unit for chart axes: (10,000, "万元") or (1,000, "CNY k"), by the largest amount.

    With ``largest`` (the largest amount to show), the unit grows with it: 亿 from 10⁸ in
    Chinese, M from 10⁶ in English (an axis reads 400 CNY M, not 400,000 CNY k); amounts below
    one 万 / k are shown as they are, so that a chart of USD 400 averages does not read
    0.04万美元.

    Examples
    --------
    >>> money_scale("zh"), money_scale("en", "USD"), money_scale("zh", "USD")
    ((10000.0, '万元'), (1000.0, 'USD k'), (10000.0, '万美元'))
    >>> money_scale("zh", "USD", largest=499.0), money_scale("en", "EUR", largest=850.0)
    ((1.0, '美元'), (1.0, 'EUR'))
    >>> money_scale("zh", largest=4.1e8), money_scale("en", largest=4.1e8)
    ((100000000.0, '亿元'), (1000000.0, 'CNY M'))
    """
    return _money_unit(lang, currency, largest, yuan_in_wan=False)


def _money_unit(lang: str, currency: str, typical: float | None, *, yuan_in_wan: bool) -> tuple[float, str]:
    """(divisor, unit) for amounts around ``typical``: the largest of 亿 / 万 (M / k) that
    ``typical`` reaches; below both, the plain currency (or 万元 with ``yuan_in_wan``)."""
    check_lang(lang)
    name = currency_name(currency, lang)
    if lang == "zh":
        steps = [(1e8, f"亿{name}"), (1e4, f"万{name}")]
    else:
        steps = [(1e6, f"{name} M"), (1e3, f"{name} k")]
    if typical is None or not np.isfinite(typical):
        return steps[1]
    for scale, unit in steps:
        if abs(typical) >= scale:
            return scale, unit
    if yuan_in_wan and lang == "zh" and str(currency or "CNY").upper() == "CNY":
        return steps[1]
    return 1.0, name


def money_column(values, lang: str = "zh", currency: str = "CNY") -> tuple[float, str, int]:
    """One unit for a whole table column of amounts: divisor, unit (for the header) and decimals.

    The unit is chosen by the column's median absolute amount (missing values ignored), so
    that the typical row reads as a number of a few digits: 亿元 from a median of 1亿, else
    万元 (yuan are always in 万, the handbooks' unit; another currency below 1万 stays in its
    own unit); in English M from a median of one million, k from a thousand, else the plain
    currency. The median, not the maximum: one 3亿 customer does not turn every other row
    into 0.00亿; it reads 30,000 in a 万元 column instead. Decimals: none when the typical
    scaled amount is 100 or more, one from 1, two below 1; one more (up to two) when the
    smallest amount is below one unit, so that it does not read 0.

    Parameters
    ----------
    values : array-like of float
        The column's amounts in currency units.
    lang : {"zh", "en"}, default "zh"
    currency : str, default "CNY"

    Returns
    -------
    (float, str, int)
        Divide by the first, write the second in the header, show the third many decimals.

    Examples
    --------
    >>> money_column([3.2e8, 652_000, 12_000])
    (10000.0, '万元', 1)
    >>> money_column([3.2e8, 1.6e6, 246_000], "en")
    (1000000.0, 'CNY M', 2)
    >>> money_column([629.0, 480.0, None], "en", "USD"), money_column([2_500.0, 3_100.0], "zh")
    ((1.0, 'USD', 0), (10000.0, '万元', 2))
    """
    amounts = pd.to_numeric(pd.Series(values, dtype="object"), errors="coerce").abs().dropna()
    typical = float(amounts.median()) if len(amounts) else None
    scale, unit = _money_unit(lang, currency, typical, yuan_in_wan=True)
    shown = (typical or 0.0) / scale
    decimals = 0 if shown >= 100 else 1 if shown >= 1 else 2
    smallest = amounts[amounts > 0].min() / scale if (amounts > 0).any() else None
    if smallest is not None and smallest < 1:  # a small row still reads as more than 0
        decimals = max(decimals, 1 if shown >= 100 else 2)
    return scale, unit, decimals


# --- glossary --------------------------------------------------------------------------------


def glossary(lang: str = "zh", terms: Any = None) -> pd.DataFrame:
    """The plain-language glossary (术语表) of the reports, from ``glossary.yaml``.

    Parameters
    ----------
    lang : {"zh", "en"}, default "zh"
    terms : iterable of str, optional
        The term keys to include, in the order given (a report passes the terms it uses).
        By default every term, in the file's order. An unknown key is an error naming the known ones.

    Returns
    -------
    DataFrame
        Indexed by term key, columns ``term`` (as printed) and ``meaning``.

    Examples
    --------
    >>> g = glossary("en", ["roc_auc", "value_at_stake"])
    >>> g.loc["roc_auc", "term"]
    'ROC AUC'
    >>> "0.5 is guessing" in g.loc["roc_auc", "meaning"]
    True
    >>> glossary("en", ["auc"])
    Traceback (most recent call last):
    ...
    ValueError: no glossary entry for 'auc'; known terms: base_rate, bgnbd, brier, churn_probability, clv, ...
    """
    check_lang(lang)
    entries = default_section("glossary")["terms"]
    keys = list(entries) if terms is None else list(terms)
    unknown = [k for k in keys if k not in entries]
    if unknown:
        known = sorted(entries)
        raise ValueError(f"no glossary entry for {unknown[0]!r}; known terms: {', '.join(known[:5])}, ...")
    rows = {k: {"term": entries[k][lang], "meaning": entries[k][f"{lang}_text"]} for k in keys}
    return pd.DataFrame.from_dict(rows, orient="index", columns=["term", "meaning"]).rename_axis("term_key")

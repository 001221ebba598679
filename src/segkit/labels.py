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
=====================  ==========================================================

Labels of a user's own configuration are read from that configuration by the function that
uses it (e.g. :func:`segkit.segment.tiers.assign_tiers`); this module serves the defaults.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from segkit.config import default_section

__all__ = ["LANGS", "check_lang", "label", "labels", "label_series", "kinds"]

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

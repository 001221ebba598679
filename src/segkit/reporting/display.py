"""The one small display module: numbers and keys in, words for people out.

Report notebooks show what segkit functions return: DataFrames of numbers and keys, figures,
small result objects. This module puts the words on at the edge, when a result is displayed:
column headings from ``segkit/defaults/report.yaml``, category labels from the label YAML
(:func:`segkit.labels.label`), amounts in the data's currency with one unit per money column
(:func:`segkit.reporting.blocks.money_columns`). The language and currency are set once per
notebook, in its setup cell::

    from segkit.reporting import display
    display.use(lang="en", currency="CNY")

Every wrapper here has ``_repr_html_`` (JupyterLab and nbconvert show it) and a plain method
that returns the words as data (:meth:`Table.to_frame`, :meth:`Text.text`), which is what
tests read. HTML is only built here and in :mod:`segkit.reporting.blocks`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from segkit.labels import check_lang, label
from segkit.reporting.blocks import esc, fmt_int, fmt_pct, kpi_tiles, money_columns, paragraphs, table_html

__all__ = ["use", "language", "currency", "word", "value_text", "Table", "Shown", "Text", "Sentences", "Heading", "Facts",
           "Glossary", "Tiles", "ChangeTiles", "Findings", "Focus", "Stack", "TitleBlock", "Footer", "show"]

_SETTINGS: dict[str, str] = {"lang": "zh", "currency": "CNY"}


def use(lang: str = "zh", currency: str = "CNY") -> None:
    """Set the language and currency every result is displayed in (once per notebook).

    Examples
    --------
    >>> use(lang="en", currency="EUR"); language(), currency()
    ('en', 'EUR')
    >>> use(lang="fr")
    Traceback (most recent call last):
    ...
    ValueError: unknown language 'fr'; segkit has labels for: zh, en
    >>> use()
    """
    check_lang(lang)
    _SETTINGS.update(lang=lang, currency=str(currency))


def language() -> str:
    """The language results are displayed in (:func:`use`)."""
    return _SETTINGS["lang"]


def currency() -> str:
    """The currency amounts are displayed in (:func:`use`)."""
    return _SETTINGS["currency"]


def word(key: str, lang: str | None = None, **fields: Any) -> str:
    """The report's word ``key`` in ``lang`` (default: the current language), its ``{fields}``
    filled in.

    Examples
    --------
    >>> use(lang="en"); word("tile_scored")
    'Customers scored'
    >>> word("no_such_word")
    Traceback (most recent call last):
    ...
    KeyError: "report.yaml has no word 'no_such_word' in en"
    >>> word("tile_scored", lang="zh")
    '评分客户数'
    >>> use()
    """
    from segkit.config import default_section

    lang = lang or language()
    table = default_section("report")[lang]
    if key not in table:
        raise KeyError(f"report.yaml has no word {key!r} in {lang}")
    return table[key].format(**fields) if fields else table[key]


def _quarter(value: Any) -> str:
    try:
        period = pd.Period(str(value), freq="Q")
    except ValueError:  # e.g. a horizon over two quarters: "2026Q4–2027Q1"
        return str(value)
    return word("quarter").format(year=period.year, q=period.quarter)


#: How a value of each kind reads (``kind`` of :func:`value_text`).
KINDS = ("int", "pct", "pct0", "money", "float3", "float2", "date", "quarter", "text")


def value_text(value: Any, kind: str = "text") -> str:
    """One value as it reads in the current language.

    Examples
    --------
    >>> use(lang="en")
    >>> [value_text(v, k) for v, k in [(1234, "int"), (0.245, "pct"), (1.5e6, "money"), (0.8123, "float3"),
    ...                                ("2026Q4", "quarter"), (pd.Timestamp("2026-10-03"), "date")]]
    ['1,234', '24.5%', 'CNY 1.5M', '0.812', 'Q4 2026', '2026-10-03']
    >>> use()
    """
    from segkit.labels import money

    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    if kind == "int":
        return fmt_int(value)
    if kind == "pct":
        return fmt_pct(value)
    if kind == "pct0":
        return fmt_pct(value, 0)
    if kind == "money":
        return money(float(value), language(), currency())
    if kind in ("float3", "float2"):
        return f"{float(value):.{kind[-1]}f}"
    if kind == "date":
        return str(pd.Timestamp(value).date())
    if kind == "quarter":
        return _quarter(value)
    if kind not in KINDS:
        raise ValueError(f"unknown value kind {kind!r}; kinds: {', '.join(KINDS)}")
    return str(value)


@dataclass
class Table:
    """A numbers-and-keys table shown with words.

    Parameters
    ----------
    frame : DataFrame
        Keys and numbers (column names are keys).
    columns : mapping
        Column -> word key in ``report.yaml``; only these columns are shown, in this order.
    kinds : mapping, optional
        Column -> value kind (:data:`KINDS`); ``money`` columns get one unit per column.
    labels : mapping, optional
        Column -> label kind (:func:`segkit.labels.label`) or a function ``(key, lang) -> str``
        turning the column's keys into words.
    max_rows : int, optional
        Show the first rows only, with a note saying how many more there are.
    nowrap : columns that must not wrap.

    Examples
    --------
    >>> use(lang="en")
    >>> t = Table(pd.DataFrame({"tier": ["core"], "churn_probability": [0.71], "value_12m": [1_258_000.0]}),
    ...           {"tier": "col_tier", "churn_probability": "col_probability", "value_12m": "col_value_12m"},
    ...           kinds={"churn_probability": "pct", "value_12m": "money"}, labels={"tier": "tier"})
    >>> t.to_frame().iloc[0].tolist()
    ['Core', '71.0%', '1.3']
    >>> list(t.to_frame().columns)
    ['Tier', 'Churn probability', 'Revenue, 12 months (CNY M)']
    >>> use()
    """

    frame: pd.DataFrame
    columns: Mapping[str, str]
    kinds: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str | Callable[[Any, str], str]] = field(default_factory=dict)
    max_rows: int | None = None
    nowrap: Sequence[str] = ()

    def _shown(self) -> tuple[pd.DataFrame, dict[str, Callable[[object], str]]]:
        lang = language()
        missing = [c for c in self.columns if c not in self.frame.columns]
        if missing:
            raise ValueError(f"the table has no column(s) {missing}; columns: {list(self.frame.columns)}")
        frame = self.frame.loc[:, list(self.columns)].copy()
        for column, kind in self.labels.items():
            turn = kind if callable(kind) else (lambda key, lang, kind=kind: label(kind, key, lang, default=str(key)))
            frame[column] = [turn(key, lang) for key in frame[column]]
        headers = {column: word(key) for column, key in self.columns.items()}
        formats: dict[str, Callable[[object], str]] = {}
        for column, kind in self.kinds.items():
            if kind != "money":
                formats[headers[column]] = lambda v, kind=kind: value_text(v, kind)
        frame = frame.rename(columns=headers)
        money = [headers[c] for c, kind in self.kinds.items() if kind == "money"]
        frame, money_formats = money_columns(frame, money, lang, currency())
        formats.update(money_formats)
        return frame, formats

    def to_frame(self) -> pd.DataFrame:
        """The table as shown: headings and cells in words (all rows)."""
        frame, formats = self._shown()
        for column, turn in formats.items():
            frame[column] = [turn(v) for v in frame[column]]
        return frame

    def _repr_html_(self) -> str:
        frame, formats = self._shown()
        nowrap = [word(self.columns[c]) for c in self.nowrap if c in self.columns]
        nowrap = [c for c in frame.columns if any(c.startswith(n) for n in nowrap)]
        return table_html(frame, formats, max_rows=self.max_rows, more=word("more_rows"), nowrap=nowrap)


@dataclass
class Text:
    """A sentence (or several) of ``report.yaml`` with numbers filled in at display time.

    ``values`` maps each field to ``(value, kind)`` (:func:`value_text`) or to a text.

    Examples
    --------
    >>> use(lang="en")
    >>> Text(["churn_tile_expected", "churn_how_cost"]).text()[0]
    'Expected churners next quarter'
    >>> use()
    """

    keys: Sequence[str]
    values: Mapping[str, Any] = field(default_factory=dict)

    def text(self) -> list[str]:
        fields = {name: value_text(*v) if isinstance(v, tuple) else str(v) for name, v in self.values.items()}
        return [word(key).format(**fields) for key in self.keys]

    def _repr_html_(self) -> str:
        return _prose(self.text())


def _prose(texts: Sequence[str]) -> str:
    """Sentences as paragraphs in one ``prose`` block: the PDF keeps them together and with what
    follows them (the table or chart they introduce; ``report.css``)."""
    return f'<div class="prose">{paragraphs(texts)}</div>' if texts else ""


@dataclass
class Sentences:
    """Sentences already in words (a note on what was left out, a warning, a computed line).

    ``kind``: None (plain prose), ``"note"``, ``"left-out"`` (a note saying what the data
    cannot support), ``"warning"`` or ``"focus"``.

    Examples
    --------
    >>> Sentences(["Core <b>customers</b>"], "note")._repr_html_()
    '<p class="note">Core &lt;b&gt;customers&lt;/b&gt;</p>'
    >>> Sentences(["Two sentences.", "Kept together."])._repr_html_()
    '<div class="prose"><p>Two sentences.</p><p>Kept together.</p></div>'
    """

    texts: Sequence[str]
    kind: str | None = None

    def text(self) -> list[str]:
        return list(self.texts)

    def _repr_html_(self) -> str:
        if self.kind is None:
            return _prose(self.texts)
        cls = "note left-out" if self.kind == "left-out" else self.kind
        return "".join(f'<p class="{esc(cls)}">{esc(t)}</p>' for t in self.texts)


@dataclass
class Heading:
    """A sub-heading inside a section (the section's own heading is the notebook's markdown).

    Examples
    --------
    >>> Heading("By tier")._repr_html_()
    '<h3>By tier</h3>'
    """

    text: str

    def _repr_html_(self) -> str:
        return f"<h3>{esc(self.text)}</h3>"


class Shown:
    """A table already in words: headings are the reader's, ``formats`` turn cells into text.

    For tables whose words come from several places (a matrix with labelled margins, KPI
    tables with best / worst cells): the keyword arguments go to
    :func:`~segkit.reporting.blocks.table_html` (``index``, ``highlight``, ``max_rows``,
    ``more``, ``nowrap``, ``cards``, ``numeric_align``).

    Examples
    --------
    >>> Shown(pd.DataFrame({"Tier": ["Core"], "Share": [0.25]}), {"Share": fmt_pct}).to_frame().values.tolist()
    [['Core', '25.0%']]
    """

    def __init__(self, frame: pd.DataFrame, formats: Mapping[str, Callable[[object], str]] | None = None, **options: Any):
        self.frame, self.formats, self.options = frame, dict(formats or {}), options

    def to_frame(self) -> pd.DataFrame:
        """The table as shown (cells as text, the index a column when ``index=True``)."""
        frame = self.frame.reset_index() if self.options.get("index") else self.frame.copy()
        for column, turn in self.formats.items():
            if column in frame:
                frame[column] = [turn(v) for v in frame[column]]
        return frame

    def _repr_html_(self) -> str:
        return table_html(self.frame, self.formats, **self.options)


@dataclass
class Facts:
    """A two-column table of facts: ``(word key, value, kind)`` per row.

    Examples
    --------
    >>> use(lang="en")
    >>> Facts([("churn_card_base_rate", 0.245, "pct"), ("churn_card_n_test", 1834, "int")]).to_frame().values.tolist()
    [['Base rate (share who churned)', '24.5%'], ['Customers tested', '1,834']]
    >>> use()
    """

    items: Sequence[tuple[str, Any, str]]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame({word("col_fact"): [word(key) for key, _, _ in self.items],
                             word("col_fact_value"): [value_text(value, kind) for _, value, kind in self.items]})

    def _repr_html_(self) -> str:
        return table_html(self.to_frame(), numeric_align=False, nowrap=[word("col_fact_value")])


@dataclass
class Tiles:
    """KPI tiles: ``(word key, value, kind)`` each."""

    items: Sequence[tuple[str, Any, str]]

    def _repr_html_(self) -> str:
        return kpi_tiles([(word(key), value_text(value, kind), None) for key, value, kind in self.items])


@dataclass
class ChangeTiles:
    """KPI tiles with the change against a comparison, already in words:
    ``(label, value, change or None[, higher_is_better[, net]])`` each
    (:func:`~segkit.reporting.blocks.kpi_tiles`)."""

    tiles: Sequence[tuple]

    def _repr_html_(self) -> str:
        return kpi_tiles(self.tiles)


@dataclass
class Findings:
    """The summary's findings: ``(sentence, list names)`` each; every list named is linked to
    its anchor ``#list-<name>`` (the HTML links, the PDF names the list).

    Examples
    --------
    >>> use(lang="en")
    >>> Findings([("12 core customers", ["core"])])._repr_html_()  # doctest: +ELLIPSIS
    '<ul class="findings"><li>12 core customers<span class="list-ref"> (list: <a href="#list-core">Core customers</a>)</span></li></ul>'
    >>> use()
    """

    items: Sequence[tuple[str, Sequence[str]]]
    lang: str | None = None  # the sentences' language (default: the current one)

    def _repr_html_(self) -> str:
        return '<ul class="findings">' + "".join(f"<li>{esc(text)}{list_ref(*refs, lang=self.lang) if refs else ''}</li>"
                                                 for text, refs in self.items) + "</ul>"


@dataclass
class Focus:
    """The summary's line of focus: ``(clause, list name or None)`` each, joined into
    ``report.yaml`` ``focus``; a clause with a list links to it. No clause: ``focus_none``.

    Examples
    --------
    >>> use(lang="en")
    >>> Focus([("call the 2 core customers at high risk", "high_risk")])._repr_html_()  # doctest: +ELLIPSIS
    '<p class="focus">...call the 2 core customers at high risk<span class="list-ref"> (list: <a href="#list-high_risk">...'
    >>> use()
    """

    items: Sequence[tuple[str, str | None]]
    lang: str | None = None  # the clauses' language (default: the current one)

    def _repr_html_(self) -> str:
        lang = self.lang
        if not self.items:
            return f'<p class="focus">{esc(word("focus", lang).format(actions=word("focus_none", lang)))}</p>'
        actions = esc(word("separator_clause", lang)).join(esc(text) + (list_ref(ref, lang=lang) if ref else "")
                                                           for text, ref in self.items)
        return f'<p class="focus">{esc(word("focus", lang)).replace("{actions}", actions)}</p>'


def list_ref(*list_names: str, lang: str | None = None) -> str:
    """" (list: Core customers)" as HTML, each list linked to its anchor ``#list-<name>``."""
    links = esc(word("separator_list", lang)).join(f'<a href="#list-{esc(n)}">{esc(word(f"list_{n}", lang))}</a>'
                                                   for n in list_names)
    return f'<span class="list-ref">{esc(word("see_list", lang)).replace("{list}", links)}</span>'


@dataclass
class Stack:
    """Results shown one after the other (tables, texts, figures) as one output; ``None``
    parts are skipped. ``anchor`` gives the output an id (a link target), ``cls`` a class
    (``keep``: kept on one PDF page where it fits)."""

    parts: Sequence[Any]
    anchor: str | None = None
    cls: str | None = None

    def _repr_html_(self) -> str:
        from matplotlib.figure import Figure

        from segkit.reporting.blocks import figure_html

        body = "".join(figure_html(p) if isinstance(p, Figure) else show(p)._repr_html_() for p in self.parts if p is not None)
        if self.anchor is None and self.cls is None:
            return body
        anchor = f' id="{esc(self.anchor)}"' if self.anchor else ""
        cls = f' class="{esc(self.cls)}"' if self.cls else ""
        return f"<div{cls}{anchor}>{body}</div>"


@dataclass
class TitleBlock:
    """The report's title line and its metadata (data set, as-of date, scope, generated)."""

    title: str
    meta: Sequence[str]

    def _repr_html_(self) -> str:
        return (f'<div class="title-block"><h1>{esc(self.title)}</h1>'
                f'<div class="meta">{esc(word("separator_meta")).join(esc(m) for m in self.meta)}</div></div>')


@dataclass
class Footer:
    """The report's closing line (version, parameters, configuration hash, data fingerprint)."""

    text: str

    def _repr_html_(self) -> str:
        return f'<footer class="report-footer">{esc(self.text)}</footer>'


@dataclass
class Glossary:
    """The plain-language glossary of ``terms`` (keys of ``glossary.yaml``) in the current language."""

    terms: Sequence[str]
    lang: str | None = None  # default: the current language

    def to_frame(self) -> pd.DataFrame:
        from segkit.labels import glossary

        g = glossary(self.lang or language(), self.terms)
        return pd.DataFrame({word("col_term", self.lang): g["term"].to_numpy(), word("col_meaning", self.lang): g["meaning"].to_numpy()})

    def _repr_html_(self) -> str:
        return table_html(self.to_frame(), numeric_align=False, nowrap=[word("col_term", self.lang)], cards=False)


def show(obj: Any) -> Any:
    """What a notebook cell should display for ``obj``: a result with a rich display as it is;
    a DataFrame with its columns' words where ``report.yaml`` has ``col_<column>``.

    Examples
    --------
    >>> use(lang="en")
    >>> show(pd.DataFrame({"owner": ["Wang"], "x": [1]})).to_frame().columns.tolist()
    ['Owner']
    >>> use()
    """
    if hasattr(obj, "_repr_html_") and not isinstance(obj, pd.DataFrame):
        return obj
    if isinstance(obj, pd.DataFrame):
        from segkit.config import default_section

        table = default_section("report")[language()]
        columns = {c: f"col_{c}" for c in obj.columns if f"col_{c}" in table}
        return Table(obj, columns)
    return obj

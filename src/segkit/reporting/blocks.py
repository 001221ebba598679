"""HTML building blocks for reports: every piece of text from data is escaped here.

Report sections return display objects (:mod:`segkit.reporting.display`), which build their
HTML with these helpers; :class:`Block` (a heading and escaped parts) is what the churn
report's remaining sections return. Nothing else in a report emits HTML, so escaping happens
in one place: text and table cells go through :func:`html.escape`; figures are embedded as
base64 PNG (no file, no network).

Why not ``df.style`` or ``DataFrame.to_html(escape=False)``: neither escapes cell text, so a
customer named ``<script>alert(1)</script>`` would become live markup in the report.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from segkit.labels import money, money_column
from segkit.plots import cjk_font

__all__ = ["Block", "esc", "table_html", "figure_html", "kpi_tiles", "paragraphs", "bullet_list", "fmt_money", "fmt_pct", "fmt_int",
           "money_columns", "with_unit",
           "gross_change", "extreme_rows"]


def esc(value: object) -> str:
    """Escape any value for HTML text or attribute context.

    Examples
    --------
    >>> esc("<img src=x onerror=alert(1)>")
    '&lt;img src=x onerror=alert(1)&gt;'
    """
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return ""
    return html.escape(str(value), quote=True)


# --- number formats per language ---------------------------------------------------------------

def fmt_money(value: float, lang: str = "zh", digits: int = 1, currency: str = "CNY") -> str:
    """Money for people (see :func:`segkit.labels.money`): 万元 in Chinese, k / M in English.

    Examples
    --------
    >>> fmt_money(652000, "zh"), fmt_money(652000, "en"), fmt_money(12_500_000, "en")
    ('65.2万元', 'CNY 652k', 'CNY 12.5M')
    >>> fmt_money(629, "en", currency="USD")
    'USD 629'
    """
    return money(value, lang, currency, digits=digits)


def fmt_pct(value: float, digits: int = 1, signed: bool = False) -> str:
    """A share as a percentage.

    Examples
    --------
    >>> fmt_pct(0.5823), fmt_pct(-0.031, signed=True)
    ('58.2%', '-3.1%')
    """
    if value is None or pd.isna(value):
        return "—"
    return f"{value * 100:+.{digits}f}%" if signed else f"{value * 100:.{digits}f}%"


def fmt_int(value: float, signed: bool = False) -> str:
    """A count with thousands separators.

    Examples
    --------
    >>> fmt_int(12345), fmt_int(12, signed=True)
    ('12,345', '+12')
    """
    if value is None or pd.isna(value):
        return "—"
    return f"{int(value):+,d}" if signed else f"{int(value):,d}"


def with_unit(header: str, unit: str, lang: str) -> str:
    """A column header with its unit: ``交易额（万元）``, ``Revenue (CNY k)``.

    Examples
    --------
    >>> with_unit("交易额", "万元", "zh"), with_unit("Revenue", "CNY M", "en")
    ('交易额（万元）', 'Revenue (CNY M)')
    """
    return f"{header}（{unit}）" if lang == "zh" else f"{header} ({unit})"


def money_columns(
    frame: pd.DataFrame, columns: Iterable[str], lang: str, currency: str = "CNY", *, signed: Iterable[str] = ()
) -> tuple[pd.DataFrame, dict[str, Callable[[object], str]]]:
    """Money columns of a table, each in ONE unit written in its header.

    Every column gets its own unit from :func:`segkit.labels.money_column` (by its median),
    the header says it, and the cells are plain numbers with thousands separators, the same
    number of decimals down the column. ``signed`` columns (changes) carry a ``+`` on gains.

    Returns
    -------
    (DataFrame, dict)
        The frame with the money columns renamed, and ``formats`` for :func:`table_html`
        keyed by the new names. Columns not in the frame are skipped.

    Examples
    --------
    >>> frame = pd.DataFrame({"tier": ["core", "potential", "low"], "revenue": [3.2e8, 652_000.0, 12_000.0],
    ...                       "change": [1.5e5, -2e4, 0.0]})
    >>> shown, formats = money_columns(frame, ["revenue", "change"], "zh", signed=["change"])
    >>> list(shown.columns), [formats["revenue（万元）"](v) for v in shown["revenue（万元）"]]
    (['tier', 'revenue（万元）', 'change（万元）'], ['32,000.0', '65.2', '1.2'])
    >>> [formats["change（万元）"](v) for v in shown["change（万元）"]] + [formats["change（万元）"](None)]
    ['+15.0', '-2.0', '0.0', '—']
    """
    signed = set(signed)
    renames, formats = {}, {}
    for column in columns:
        if column not in frame.columns:
            continue
        scale, unit, decimals = money_column(frame[column].to_numpy(), lang, currency)
        name = with_unit(column, unit, lang)
        sign = "+" if column in signed else ""
        renames[column] = name
        formats[name] = (lambda v, scale=scale, decimals=decimals, sign=sign:
                         "—" if v is None or pd.isna(v) else _zero_free(f"{float(v) / scale:{sign},.{decimals}f}"))
    return frame.rename(columns=renames), formats


def _zero_free(text: str) -> str:
    """No "-0" / "+0.0" for an amount that rounds to nothing."""
    return text.lstrip("+-") if not re.search(r"[1-9]", text) else text


def gross_change(now: pd.Series, before: pd.Series) -> tuple[str, int]:
    """The change of a group of customers between two dates, and its net.

    The net (``+5``) when customers only came or only left; the gross when some came and
    others left (``+12 / −12``), so that a net of 0 does not hide 12 customers changing.

    Examples
    --------
    >>> now = pd.Series([True, True, False, False], index=list("abcd"))
    >>> gross_change(now, pd.Series([True, False, True, False], index=list("abcd")))
    ('+1 / −1', 0)
    >>> gross_change(now, pd.Series([True, False], index=list("ab"))), gross_change(now, now)
    (('+1', 1), ('0', 0))
    """
    now, before = now.astype(bool), before.astype(bool)
    ids = now.index.union(before.index)
    now, before = now.reindex(ids, fill_value=False), before.reindex(ids, fill_value=False)
    came, left = int((now & ~before).sum()), int((before & ~now).sum())
    if came and left:
        return f"+{came:,d} / −{left:,d}", came - left
    return (fmt_int(came - left, signed=True) if came or left else "0"), came - left


def extreme_rows(values: pd.Series, higher_is_better: bool, digits: int) -> tuple[list, list]:
    """The rows holding the best and the worst value, ties included, judged on the values as
    shown (rounded to ``digits``): two cells that both read −13 are both marked or neither.

    Nothing is marked when fewer than two values are known or all known values read the same.

    Examples
    --------
    >>> nps = pd.Series([-13.2, -12.8, 5.0, 5.4], index=["core", "potential", "ordinary", "low_value"])
    >>> extreme_rows(nps, True, 0)
    (['ordinary', 'low_value'], ['core', 'potential'])
    >>> extreme_rows(pd.Series([0.1, 0.3, None]), False, 3), extreme_rows(pd.Series([2.0, 2.04]), True, 1)
    (([0], [1]), ([], []))
    """
    shown = values.dropna().astype(float).round(digits)
    if len(shown) < 2 or shown.max() == shown.min():
        return [], []
    top, bottom = list(shown.index[shown == shown.max()]), list(shown.index[shown == shown.min()])
    return (top, bottom) if higher_is_better else (bottom, top)


# --- pieces -------------------------------------------------------------------------------------

#: A table with this many columns or more is "wide": on a phone it scrolls sideways with a
#: shadow on the cut edge and a hint under it, or (a list without an index) turns into cards.
WIDE_COLUMNS = 5
#: A table with at most this many rows is kept on one page in the PDF (no orphan rows).
KEEP_ROWS = 12


def table_html(
    frame: pd.DataFrame,
    formats: Mapping[str, Callable[[object], str]] | None = None,
    *,
    index: bool = False,
    caption: str | None = None,
    highlight: Mapping[tuple[int, str], str] | None = None,
    max_rows: int | None = None,
    more: str = "… {n:,} more rows",
    nowrap: Iterable[str] = (),
    numeric_align: bool = True,
    cards: bool | None = None,
) -> str:
    """An escaped HTML table that reads on A4 and on a phone.

    ``formats`` maps column names to functions that turn a value into display text (the text
    is escaped after formatting). ``highlight`` maps (row position, column) to a CSS class
    (``best`` / ``worst``).

    Layout classes for ``report.css``: every cell carries its column's name (``data-label``),
    so that ``cards`` tables (default: a list of at least :data:`WIDE_COLUMNS` columns without
    an index) become one card per row on a phone; other wide tables scroll sideways with a
    visible cue (``wide``, a shadow and a hint); tables of at most :data:`KEEP_ROWS` rows are
    kept on one PDF page (``short``).

    Examples
    --------
    >>> table_html(pd.DataFrame({"name": ["<b>x</b>"]}))  # doctest: +ELLIPSIS
    '<div class="table-wrap short"><table>...<td data-label="name">&lt;b&gt;x&lt;/b&gt;</td>...'
    >>> wide = pd.DataFrame({c: [1] for c in "abcde"})
    >>> table_html(wide).split("<thead>")[0], table_html(wide, index=True).split("<thead>")[0]
    ('<div class="table-wrap short cards"><table class="cards">', '<div class="table-wrap short wide"><table>')
    """
    formats = dict(formats or {})
    highlight = dict(highlight or {})
    nowrap = set(nowrap)
    frame = frame.reset_index() if index else frame
    shown = frame if max_rows is None else frame.head(max_rows)
    head = "".join(f"<th>{header_html(c)}</th>" for c in shown.columns)
    rows = []
    for pos, (_, row) in enumerate(shown.iterrows()):
        cells = []
        for col in shown.columns:
            value = row[col]
            text = formats[col](value) if col in formats else _default_format(value)
            classes = []
            if numeric_align and isinstance(value, (int, float, np.number)) and not isinstance(value, bool):
                classes.append("num")
            if col in nowrap:
                classes.append("nowrap")
            if (pos, col) in highlight:
                classes.append(highlight[(pos, col)])
            cls = f' class="{" ".join(classes)}"' if classes else ""
            cells.append(f'<td{cls} data-label="{esc(col)}">{esc(text)}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    if max_rows is not None and len(frame) > max_rows:
        more = f'<p class="note">{esc(more.format(n=len(frame) - max_rows))}</p>'
    else:
        more = ""
    wide = len(shown.columns) >= WIDE_COLUMNS
    cards = (wide and not index) if cards is None else cards
    wrap = ["table-wrap"] + (["short"] if len(shown) <= KEEP_ROWS else []) + (["cards"] if cards else ["wide"] if wide else [])
    hint = '<p class="scroll-hint" aria-hidden="true"></p>' if wide and not cards else ""
    table_class = ' class="cards"' if cards else ""
    cap = f"<caption>{esc(caption)}</caption>" if caption else ""
    return (f'<div class="{" ".join(wrap)}"><table{table_class}>{cap}<thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>{hint}{more}</div>')


def header_html(header: object) -> str:
    """A column header that may wrap between its words but never inside one.

    Each word (split at spaces, and before an opening bracket: ``近12个月交易额（万元）``)
    is a ``<span class="w">`` that ``report.css`` keeps on one line, so a narrow column
    reads ``流失概率`` whole, never ``流失概/率`` (WeasyPrint breaks CJK text between any two
    characters and ignores ``word-break: keep-all``).

    Examples
    --------
    >>> header_html("近12个月交易额（万元）")
    '<span class="w">近12个月交易额</span><span class="w">（万元）</span>'
    >>> header_html("Revenue 12m (CNY k)")
    '<span class="w">Revenue</span> <span class="w">12m</span> <span class="w">(CNY</span> <span class="w">k)</span>'
    """
    parts = []
    for i, word in enumerate(str(header).split(" ")):
        pieces = [p for p in re.split(r"(?=[（(])", word) if p] if "（" in word else [word]
        parts.append(("" if i == 0 else " ") + "".join(f'<span class="w">{esc(p)}</span>' for p in pieces))
    return "".join(parts)


def _default_format(value: object) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "✓" if value else ""
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,d}"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return str(value)


def cjk_available() -> bool:
    return cjk_font() is not None


def figure_html(fig: Figure, alt: str = "", dpi: int = 150) -> str:
    """A matplotlib figure as an embedded PNG (base64), closed afterwards."""
    from segkit.plots import style

    buffer = io.BytesIO()
    with style("zh" if cjk_available() else "en"):  # fonts are resolved when drawing
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    # shown at 85% of the figure's own size (capped by the page width), so a small chart
    # stays small in the PDF instead of being stretched to the full width
    width_pt = fig.get_figwidth() * 72 * 0.85
    return (f'<figure><img alt="{esc(alt)}" style="width: {width_pt:.0f}pt; max-width: 100%" '
            f'src="data:image/png;base64,{data}"/></figure>')


def kpi_tiles(tiles: Iterable[tuple]) -> str:
    """KPI tiles: ``(label, value, change[, higher_is_better[, net]])`` each.

    The change is coloured good (green) or bad (red) from the sign of ``net`` (the signed
    change as a number) and whether a rise is good (default True; False for e.g. customers at
    risk); a net of 0 is neutral. Without ``net``, the sign is read from the change's text
    (its first signed number). A tile without a change shows no delta at all.

    Examples
    --------
    >>> kpi_tiles([("At risk", "187", "+12 / −12", False, 0)])  # doctest: +ELLIPSIS
    '...<div class="delta flat">+12 / −12</div>...'
    >>> kpi_tiles([("At risk", "187", "+5 vs last quarter", False)])  # doctest: +ELLIPSIS
    '...<div class="delta bad">+5 vs last quarter</div>...'
    >>> "delta" in kpi_tiles([("Customers", "1,200", None)])
    False
    """
    out = []
    for tile in tiles:
        label, value, change = tile[:3]
        higher_is_better = tile[3] if len(tile) > 3 else True
        net = tile[4] if len(tile) > 4 else None
        delta = ""
        if change:
            if net is None:
                numbers = re.findall(r"([-+−])\s*(\d[\d,]*(?:\.\d+)?)", change)
                net = 0.0 if not numbers else (-1.0 if numbers[0][0] in "-−" else 1.0) * float(numbers[0][1].replace(",", ""))
            cls = "flat" if not net else "good" if (net > 0) == higher_is_better else "bad"
            delta = f'<div class="delta {cls}">{esc(change)}</div>'
        out.append(f'<div class="tile"><div class="tile-label">{esc(label)}</div><div class="tile-value">{esc(value)}</div>{delta}</div>')
    # five tiles sit in one row of five (report.css), not four and one
    return f'<div class="tiles{" five" if len(out) == 5 else ""}">{"".join(out)}</div>'


def paragraphs(texts: Iterable[str]) -> str:
    return "".join(f"<p>{esc(t)}</p>" for t in texts)


def bullet_list(items: Iterable[str], cls: str | None = None) -> str:
    klass = f' class="{esc(cls)}"' if cls else ""
    return f"<ul{klass}>" + "".join(f"<li>{esc(i)}</li>" for i in items) + "</ul>"


@dataclass
class Block:
    """A report section: a heading and HTML parts that were built with the escaping helpers.

    Parts are strings produced by :func:`table_html`, :func:`figure_html`, :func:`paragraphs`,
    ... (already escaped), or matplotlib figures (embedded on display).
    """

    title: str
    parts: list = field(default_factory=list)
    level: int = 2
    anchor: str | None = None
    keep_together: bool = False

    def add(self, part) -> Block:
        self.parts.append(part)
        return self

    def text(self, *texts: str) -> Block:
        return self.add(paragraphs(texts))

    def subheading(self, title: str) -> Block:
        return self.add(f"<h{self.level + 1}>{esc(title)}</h{self.level + 1}>")

    def _repr_html_(self) -> str:
        body = []
        for part in self.parts:
            body.append(figure_html(part) if isinstance(part, Figure) else str(part))
        anchor = f' id="{esc(self.anchor)}"' if self.anchor else ""
        cls = "block keep" if self.keep_together else "block"
        heading = f"<h{self.level}>{esc(self.title)}</h{self.level}>" if self.title else ""
        return f'<section class="{cls}"{anchor}>{heading}{"".join(body)}</section>'

    def __repr__(self) -> str:  # plain-text fallback, e.g. in a terminal
        return f"<Block {self.title!r}: {len(self.parts)} parts>"

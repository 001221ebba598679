"""Shared matplotlib style: Chinese-capable fonts, one palette, figures without pyplot.

Every plot function in segkit builds its figure inside :func:`style` and returns a
:class:`matplotlib.figure.Figure` created with :func:`new_figure` (not ``pyplot``), so nothing
is drawn twice in a notebook and global ``rcParams`` are never changed at import.

Chinese labels need a CJK font. segkit looks for Noto Sans CJK SC (Debian: ``fonts-noto-cjk``)
and a few common alternatives; when the font was installed after matplotlib built its font
cache, the cache is rebuilt once. Without any CJK font, Chinese figures raise
:class:`MissingFontError` instead of silently drawing boxes.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

__all__ = ["CJK_FONTS", "MissingFontError", "cjk_font", "style", "use_style", "new_figure", "freeze_fonts", "TIER_COLORS", "PALETTE"]

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "PingFang SC",
             "Microsoft YaHei", "SimHei")

# one palette for the whole report: tiers keep their colour in every chart
TIER_COLORS = {
    "core": "#1f4e79", "potential": "#2e86c1", "ordinary": "#85c1e9", "low_value": "#b3b6b7",
    "borderline": "#f39c12", "new": "#27ae60", "lost": "#c0392b",
}
PALETTE = ["#1f4e79", "#2e86c1", "#85c1e9", "#f39c12", "#27ae60", "#c0392b", "#8e44ad", "#7f8c8d"]


class MissingFontError(RuntimeError):
    """No font that can draw Chinese is installed."""


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of an installed font that draws Chinese, or None.

    Rebuilds matplotlib's font cache once when the font is on disk but not in the cache.
    """
    def find() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    name = find()
    if name is None:
        on_disk = [p for p in font_manager.findSystemFonts() if "cjk" in p.lower() or "wqy" in p.lower()]
        if on_disk:
            font_manager._load_fontmanager(try_read_cache=False)  # the cache predates the font
            name = find()
    return name


def rc_params(lang: str = "zh") -> dict:
    """rcParams for segkit figures in ``lang``."""
    fonts = ["DejaVu Sans"]
    cjk = cjk_font()
    if cjk:
        fonts.insert(0, cjk)
    elif lang == "zh":
        raise MissingFontError(
            "no Chinese font found for charts: install Noto Sans CJK SC "
            "(Debian/Ubuntu: apt-get install fonts-noto-cjk; macOS: brew install --cask font-noto-sans-cjk-sc)"
        )
    return {
        "font.family": "sans-serif",
        "font.sans-serif": fonts,
        "axes.unicode_minus": False,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.25,
        "axes.titlesize": 11,
        "axes.labelsize": 9,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "legend.fontsize": 8,
        "legend.frameon": False,
        "figure.dpi": 100,
        "savefig.dpi": 150,
        "axes.prop_cycle": mpl.cycler(color=PALETTE),
    }


@contextlib.contextmanager
def style(lang: str = "zh") -> Iterator[None]:
    """Context in which segkit builds and saves figures.

    matplotlib resolves font families when a figure is *drawn*, so saving a figure must
    happen in this context too (:func:`segkit.reporting.blocks.figure_html` does).
    """
    with mpl.rc_context(rc_params(lang)):
        yield


def use_style(lang: str = "zh") -> None:
    """Set segkit's figure style for the whole session -- for notebooks, never at import.

    Figures that notebooks display directly are drawn by the inline backend outside any
    context, so a notebook calls this once in its import cell.
    """
    mpl.rcParams.update(rc_params(lang))


def freeze_fonts(fig: Figure) -> Figure:
    """Pin the current style's fonts on every text of ``fig`` (call inside :func:`style`).

    A text's generic family ("sans-serif") is resolved when the figure is *drawn*, which in
    a notebook or on ``savefig`` happens after the style context has closed; pinning the
    font list keeps Chinese labels in the CJK font instead of falling back to DejaVu Sans.
    Every segkit plot function ends with it.
    """
    families = list(mpl.rcParams["font.sans-serif"])
    for text in fig.findobj(Text):
        text.set_fontfamily(families)
    return fig


def new_figure(width: float = 7.0, height: float = 3.6, **kwargs) -> Figure:
    """A figure not registered with pyplot (no duplicate display, no global state)."""
    fig = Figure(figsize=(width, height), layout="constrained", **kwargs)
    return fig

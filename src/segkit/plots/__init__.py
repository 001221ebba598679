"""Every figure segkit draws, in one package, and the style they share.

Modules: :mod:`segkit.plots.segment` (tiers, RFM, migration, tags), :mod:`segkit.plots.kpi`
(KPIs, A/B tests, cadence), :mod:`segkit.plots.clv` (CLV tracking and holdout),
:mod:`segkit.plots.churn` (ROC, lift, calibration), :mod:`segkit.plots.trends` (quarter
trends, segment flows). Their functions are also reachable from
here (``from segkit.plots import plot_roc``), imported on first use, so ``from segkit.plots
import style`` does not import the analysis layers. Plots sit above the analysis in the
import layers (``[tool.importlinter]`` in ``pyproject.toml``): they take results and draw.

Shared matplotlib style: Chinese-capable fonts, one palette, figures without pyplot.

Every plot function in segkit builds its figure inside :func:`style` and returns a
:class:`matplotlib.figure.Figure` created with :func:`new_figure` (not ``pyplot``), so nothing
is drawn twice in a notebook and global ``rcParams`` are never changed at import.

Chinese labels need a CJK font. segkit prefers an installed Noto Sans CJK SC (Debian:
``fonts-noto-cjk``) or a few common alternatives; fonts installed after matplotlib built its
font cache are picked up. Without any, it uses the Noto Sans SC that its dependency
``pylopdf-fonts-zh-cn`` ships (OFL), so a plain ``pip install segkit`` draws Chinese. Only
when even that is missing do Chinese figures raise :class:`MissingFontError` instead of
silently drawing boxes.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
from collections.abc import Iterator
from pathlib import Path

import matplotlib as mpl
from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.text import Text

from segkit.errors import MissingFontError  # defined with every segkit error; importable here as before

# plot function -> module that defines it (imported on first use, as the package root does)
_PLOTS: dict[str, str] = {
    **dict.fromkeys(["plot_tier_distribution", "plot_rfm_heatmap", "plot_rfm_segments", "plot_migration",
                     "plot_tag_review"], "segkit.plots.segment"),
    **dict.fromkeys(["plot_kpis", "plot_ab_result", "plot_cadence"], "segkit.plots.kpi"),
    **dict.fromkeys(["plot_tracking", "plot_holdout"], "segkit.plots.clv"),
    **dict.fromkeys(["plot_roc", "plot_lift", "plot_calibration"], "segkit.plots.churn"),
    **dict.fromkeys(["plot_trends", "plot_segment_flow"], "segkit.plots.trends"),
}

__all__ = ["CJK_FONTS", "MissingFontError", "cjk_font", "bundled_cjk_font", "style", "use_style", "new_figure",
           "freeze_fonts", "TIER_COLORS", "PALETTE", *_PLOTS]


def __getattr__(name: str):
    module = _PLOTS.get(name)
    if module is None:
        raise AttributeError(f"module 'segkit.plots' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)

CJK_FONTS = ("Noto Sans CJK SC", "Source Han Sans SC", "Noto Sans SC", "WenQuanYi Zen Hei", "PingFang SC",
             "Microsoft YaHei", "SimHei")

# one palette for the whole report: tiers keep their colour in every chart
TIER_COLORS = {
    "core": "#1f4e79", "potential": "#2e86c1", "ordinary": "#85c1e9", "low_value": "#b3b6b7",
    "borderline": "#f39c12", "new": "#27ae60", "lost": "#c0392b",
}
PALETTE = ["#1f4e79", "#2e86c1", "#85c1e9", "#f39c12", "#27ae60", "#c0392b", "#8e44ad", "#7f8c8d"]


def bundled_cjk_font() -> Path | None:
    """The Noto Sans SC font file shipped with segkit's dependency ``pylopdf-fonts-zh-cn``.

    A Simplified Chinese subset of Noto Sans CJK (Regular, SIL Open Font License 1.1). None
    when the package is not installed (segkit installed without its dependencies).

    Examples
    --------
    >>> bundled_cjk_font().name
    'NotoSansSC-Regular.otf'
    """
    try:
        from pylopdf_fonts_zh_cn import sans_path
    except ImportError:
        return None
    path = Path(sans_path())
    return path if path.is_file() else None


def _add_fonts_missing_from_cache() -> None:
    """Add font files on disk that matplotlib's cached font list predates (installed later).

    The live ``fontManager`` is updated in place: ``matplotlib.text`` and the Agg backend keep
    a reference to that instance, so rebuilding a new manager and assigning it to
    ``font_manager.fontManager`` would not reach the code that draws.
    """
    manager = font_manager.fontManager
    known = {os.path.realpath(f.fname) for f in manager.ttflist}
    for path in font_manager.findSystemFonts():
        if os.path.realpath(path) not in known:
            try:
                manager.addfont(path)
            except Exception:  # a file matplotlib cannot read: skipped, as when it builds its cache
                continue


def _forget_removed_fonts() -> None:
    """Drop fonts from matplotlib's cached list whose files are gone (uninstalled since).

    Left in, such an entry can win the font lookup; matplotlib then rebuilds its list from the
    system folders, which also drops the bundled font registered with ``addfont``.
    """
    manager = font_manager.fontManager
    present = [f for f in manager.ttflist if os.path.isfile(f.fname)]
    if len(present) < len(manager.ttflist):
        manager.ttflist[:] = present
        manager._findfont_cached.cache_clear()


@functools.lru_cache(maxsize=1)
def cjk_font() -> str | None:
    """Name of a font that draws Chinese, or None when there is none at all.

    An installed font from :data:`CJK_FONTS` first (also one installed after matplotlib
    cached its font list; not one removed since), else the bundled Noto Sans SC
    (:func:`bundled_cjk_font`), which is then registered with matplotlib.
    """
    def find() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    _forget_removed_fonts()
    name = find()
    if name is None:
        _add_fonts_missing_from_cache()
        name = find()
    if name is None:
        bundled = bundled_cjk_font()
        if bundled is not None:
            font_manager.fontManager.addfont(bundled)
            name = font_manager.FontProperties(fname=bundled).get_name()
    return name


def rc_params(lang: str = "zh") -> dict:
    """rcParams for segkit figures in ``lang``."""
    fonts = ["DejaVu Sans"]
    cjk = cjk_font()
    if cjk:
        fonts.insert(0, cjk)
    elif lang == "zh":
        raise MissingFontError(
            "no Chinese font found for charts, and the font segkit ships is missing: "
            "pip install pylopdf-fonts-zh-cn (a segkit dependency), or install Noto Sans CJK SC "
            "(Debian/Ubuntu: apt-get install fonts-noto-cjk)"
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

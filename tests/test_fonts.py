"""Chinese in charts and PDFs on a machine without a system CJK font: segkit's bundled font.

The "no system font" machine is made for real in a subprocess, not by patching segkit:

* fontconfig (used by WeasyPrint and fc-list) reads a config, ``FONTCONFIG_FILE``, whose only
  font folder is matplotlib's own (DejaVu, STIX, Computer Modern: no CJK);
* matplotlib rebuilds its font list from that fontconfig plus one empty user font folder
  (instead of /usr/share/fonts and friends), in a fresh ``MPLCONFIGDIR``.

The subprocess first checks that neither fontconfig nor matplotlib can see a CJK font, so a
system font can never make these tests pass by accident.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import matplotlib
import pytest

from segkit.plots import bundled_cjk_font

HARNESS = textwrap.dedent('''
    import json, os, shutil, subprocess, sys, warnings
    from pathlib import Path

    from matplotlib import font_manager as fm

    mode, out = sys.argv[1], Path(sys.argv[2])
    if mode == "no-package":                      # segkit installed without its dependencies
        sys.modules["pylopdf_fonts_zh_cn"] = None
    # matplotlib's font list as on a machine whose only fonts are what fontconfig lists
    fm.X11FontDirectories[:] = [os.environ["USER_FONTS"]]
    fm.OSXFontDirectories[:] = []
    fm.fontManager.__init__()                     # in place: matplotlib.text holds this instance
    report = {"mpl_cjk_before": sorted({f.name for f in fm.fontManager.ttflist
                                        if "CJK" in f.name or "SC" in f.name.split()}),
              "fc_zh": subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True,
                                      text=True, check=True).stdout.split()}

    from segkit.plots import MissingFontError, bundled_cjk_font, cjk_font, new_figure, rc_params, style

    if mode == "installed-later":                 # a CJK font copied in after the font list was built
        shutil.copy(bundled_cjk_font(), os.environ["USER_FONTS"])
    if mode == "removed-later":                   # a CJK font in the font list, deleted since
        gone = Path(shutil.copy(bundled_cjk_font(), os.environ["USER_FONTS"]))
        fm.fontManager.addfont(gone)
        gone.unlink()
    if mode == "no-package":
        try:
            rc_params("zh")
            report["zh"] = "no error"
        except MissingFontError as exc:
            report["zh"] = f"MissingFontError: {exc}"
        report["en_fonts"] = rc_params("en")["font.sans-serif"]
    else:
        report["cjk_font"] = cjk_font()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with style("zh"):
                fig = new_figure()
                ax = fig.subplots()
                ax.bar(["核心客户", "潜力客户"], [3, 5])
                ax.set_title("层级分布")
                fig.savefig(out / "chart.png")
                # the file matplotlib draws the title with (resolved inside the style, as when saving)
                report["font_file"] = fm.findfont(fig.axes[0].title.get_fontproperties(), fallback_to_default=False)
        report["warnings"] = [str(w.message) for w in caught]
        with warnings.catch_warnings(record=True) as control:   # the same chart without a CJK font warns
            warnings.simplefilter("always")
            from matplotlib.figure import Figure
            import matplotlib as mpl
            with mpl.rc_context({"font.family": "sans-serif", "font.sans-serif": ["DejaVu Sans"]}):
                bare = Figure()
                bare.subplots().set_title("层级分布")
                bare.savefig(out / "control.png")
        report["control_warnings"] = [str(w.message) for w in control]
        if mode == "pdf":
            from segkit.reporting.render import html_from_notebook, pdf_from_html
            import nbformat as nbf
            from segkit.reporting.blocks import Block
            nb = nbf.v4.new_notebook()
            cell = nbf.v4.new_code_cell("")
            block = Block("客户分层概览").text("核心客户贡献营收 58.2%").add(fig)
            cell.outputs = [nbf.v4.new_output("display_data", data={"text/html": block._repr_html_()})]
            nb.cells = [nbf.v4.new_markdown_cell("# 客户分层季度报告"), cell]
            html = html_from_notebook(nb, title="客户分层季度报告", lang="zh")
            (out / "report.html").write_text(html, encoding="utf-8")
            pdf_from_html(html, out / "report.pdf")
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False), encoding="utf-8")
''')


def _without_system_cjk(tmp_path: Path, mode: str) -> dict:
    """Run HARNESS in ``mode`` on a machine that has no CJK font but segkit's."""
    (tmp_path / "user-fonts").mkdir()
    (tmp_path / "fc-cache").mkdir()
    (tmp_path / "mpl").mkdir()
    mpl_fonts = Path(matplotlib.get_data_path(), "fonts", "ttf")
    (tmp_path / "fonts.conf").write_text(textwrap.dedent(f"""\
        <?xml version="1.0"?>
        <!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">
        <fontconfig>
          <dir>{mpl_fonts}</dir>
          <cachedir>{tmp_path / "fc-cache"}</cachedir>
        </fontconfig>
        """), encoding="utf-8")
    (tmp_path / "harness.py").write_text(HARNESS, encoding="utf-8")
    env = {**os.environ, "FONTCONFIG_FILE": str(tmp_path / "fonts.conf"), "MPLCONFIGDIR": str(tmp_path / "mpl"),
           "USER_FONTS": str(tmp_path / "user-fonts"), "MPLBACKEND": "Agg"}
    env.pop("FONTCONFIG_PATH", None)
    done = subprocess.run([sys.executable, str(tmp_path / "harness.py"), mode, str(tmp_path)], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    # the machine really has no CJK font: not for fontconfig, not for matplotlib
    assert report["fc_zh"] == [] and report["mpl_cjk_before"] == [], report
    return report


def test_bundled_font_is_noto_sans_sc_under_the_open_font_license():
    path = bundled_cjk_font()
    assert path is not None and path.suffix == ".otf"
    from matplotlib.font_manager import FontProperties
    assert FontProperties(fname=path).get_name() == "Noto Sans SC"
    dist = metadata.distribution("pylopdf-fonts-zh-cn")
    licence = next(f for f in dist.files if f.name.upper().startswith("LICENSE"))
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence.read_text(encoding="utf-8")


@pytest.mark.slow
def test_charts_draw_chinese_with_the_bundled_font_when_the_os_has_none(tmp_path):
    report = _without_system_cjk(tmp_path, "chart")
    assert report["cjk_font"] == "Noto Sans SC"
    assert Path(report["font_file"]) == bundled_cjk_font()
    assert not [w for w in report["warnings"] if "missing from font" in w], report["warnings"]
    # the check above can fail: without a CJK font the same title warns about each glyph
    assert len({w for w in report["control_warnings"] if "missing from font(s) DejaVu Sans" in w}) == 4


@pytest.mark.slow
def test_pdf_embeds_the_bundled_font_when_the_os_has_none(tmp_path):
    report = _without_system_cjk(tmp_path, "pdf")
    assert not [w for w in report["warnings"] if "missing from font" in w]
    fonts = subprocess.run(["pdffonts", str(tmp_path / "report.pdf")], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in fonts.splitlines()[2:]]
    assert rows, fonts
    # every font in the PDF is the bundled one, embedded (emb = yes)
    assert all("segkit-Noto-Sans-SC" in row[0] and row[-5] == "yes" for row in rows), fonts
    text = subprocess.run(["pdftotext", str(tmp_path / "report.pdf"), "-"], capture_output=True, text=True, check=True).stdout
    assert "客户分层概览" in text and "核心客户贡献营收" in text
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "file:" not in html and str(bundled_cjk_font()) not in html
    # the HTML carries the same font, cut to the page's characters, so it reads without one too
    assert html.count("@font-face") == 1 and "src: url(data:font/woff2;base64," in html


@pytest.mark.slow
def test_a_cjk_font_installed_after_matplotlib_cached_its_list_is_found(tmp_path):
    report = _without_system_cjk(tmp_path, "installed-later")
    assert report["cjk_font"] == "Noto Sans SC"
    assert Path(report["font_file"]).parent == tmp_path / "user-fonts"   # the installed copy, not the bundled one


@pytest.mark.slow
def test_a_cjk_font_removed_after_matplotlib_cached_its_list_is_not_used(tmp_path):
    """apt-get remove fonts-noto-cjk leaves it in matplotlib's cached list: segkit falls back."""
    report = _without_system_cjk(tmp_path, "removed-later")
    assert Path(report["font_file"]) == bundled_cjk_font()
    assert not [w for w in report["warnings"] if "missing from font" in w], report["warnings"]


@pytest.mark.slow
def test_missing_font_error_only_when_no_font_at_all(tmp_path):
    report = _without_system_cjk(tmp_path, "no-package")
    assert report["zh"].startswith("MissingFontError: no Chinese font found"), report["zh"]
    assert "pylopdf-fonts-zh-cn" in report["zh"]
    assert report["en_fonts"] == ["DejaVu Sans"]                         # English charts need no CJK font


def test_system_cjk_font_is_preferred_in_the_report_css():
    css = (Path(__file__).parents[1] / "src/segkit/reporting/templates/segkit_report/report.css").read_text(encoding="utf-8")
    body = css[css.index("body {"):css.index("}", css.index("body {"))]
    families = [f.strip().strip('"') for f in body.split("font-family:")[1].split(";")[0].split(",")]
    assert families.index("Noto Sans CJK SC") < families.index("segkit Noto Sans SC") < families.index("sans-serif")

"""The rendering pipeline on small notebooks: self-contained HTML, escaping, atomic publishing."""

from __future__ import annotations

import re
import subprocess

import nbformat as nbf
import pytest

from segkit.reporting import ReportError, render
from segkit.reporting.blocks import Block, esc, fmt_money, table_html

pytestmark = pytest.mark.slow

PARAMS = 'quarter = None\ndata_dir = None\nconfig = None\nlang = "zh"\nowner = None\ndepartment = None\nmask_pii = True\nfail = False'
EVIL = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


def _notebook(folder, body: str):
    nb = nbf.v4.new_notebook(metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    params = nbf.v4.new_code_cell(PARAMS)
    params.metadata["tags"] = ["parameters"]
    note = nbf.v4.new_markdown_cell("## 分析员备注 (analyst only)")
    note.metadata["tags"] = ["analyst-only"]
    nb.cells = [params, nbf.v4.new_code_cell("%matplotlib inline\nimport warnings\nimport pandas as pd\nfrom segkit.reporting.blocks import Block, table_html\nfrom segkit.plots import style, new_figure"),
                note, nbf.v4.new_code_cell(body), nbf.v4.new_markdown_cell("## 第二节"),
                nbf.v4.new_code_cell("assert not fail, 'intentional failure'\nBlock('第二节').text('完成')")]
    folder.mkdir(parents=True, exist_ok=True)
    nbf.write(nb, folder / "quarterly_segmentation.ipynb")
    return folder


BODY = f"""warnings.warn("noise on stderr"); print("noise on stdout")
names = {EVIL!r}
block = Block("客户分层概览").text("核心客户贡献营收 58.2%", names[0])
block.add(table_html(pd.DataFrame({{"客户名称": names, "金额": [1.5, 2e6]}})))
with style(lang):
    fig = new_figure(); ax = fig.subplots(); ax.bar(["核心客户", "潜力客户"], [3, 5]); ax.set_title("层级分布")
block.add(fig)
block"""


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    root = tmp_path_factory.mktemp("render")
    nbdir = _notebook(root / "nb", BODY)
    (root / "data").mkdir()
    result = render("quarterly", "2026Q3", data_dir=root / "data", notebook_dir=nbdir, out=root / "reports", progress=False)
    return root, nbdir, result


def test_writes_html_pdf_and_executed_notebook(rendered):
    root, _, result = rendered
    assert {k: p.relative_to(root).as_posix() for k, p in result.paths.items()} == {
        "ipynb": "reports/2026Q3/quarterly-zh.ipynb", "html": "reports/2026Q3/quarterly-zh.html", "pdf": "reports/2026Q3/quarterly-zh.pdf"}
    assert all(p.stat().st_size > 0 for p in result.paths.values())
    assert [p.name for p in (root / "reports/2026Q3").iterdir() if p.name.startswith(".")] == []   # no temp left


def test_html_is_self_contained_and_clean(rendered):
    html = rendered[2].paths["html"].read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "<script" not in html
    # the only url() is the embedded Chinese font (a subset, so a reader without one sees no boxes)
    assert re.findall(r"url\(([a-z]+:[^;,]{0,20})", html) == ["data:font/woff2"]
    assert "file:" not in html                                   # the PDF's local font stays out of the HTML
    assert "data:image/png;base64," in html                      # the chart is embedded
    assert "noise on stderr" not in html and "noise on stdout" not in html
    assert "analyst only" not in html and "warnings.warn" not in html and "import pandas" not in html   # no code
    assert '<html lang="zh-CN">' in html and "客户分层概览" in html


def test_text_from_data_is_escaped(rendered):
    html = rendered[2].paths["html"].read_text(encoding="utf-8")
    for evil in EVIL:
        assert evil not in html
        assert esc(evil) in html


def test_pdf_embeds_a_cjk_font(rendered):
    pdf = rendered[2].paths["pdf"]
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
    # an installed Noto Sans CJK SC, or the Noto Sans SC segkit ships when the OS has none
    cjk = [line for line in fonts.splitlines() if re.search(r"Noto-?Sans-?(CJK|SC)", line)]
    assert cjk and all(line.split()[-5] == "yes" for line in cjk), fonts    # emb = yes
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "客户分层概览" in text and re.search(r"\b1\s*/\s*1\b", text)          # page numbers


def test_failure_publishes_nothing_and_names_the_cell(rendered):
    root, nbdir, result = rendered
    before = {p.name: p.read_bytes() for p in result.paths.values()}
    with pytest.raises(ReportError, match=r"cell 6 \(section '第二节'\) failed: AssertionError: intentional failure"):
        render("quarterly", "2026Q3", data_dir=root / "data", notebook_dir=nbdir, out=root / "reports", progress=False, fail=True)
    after = {p.name: p.read_bytes() for p in (root / "reports/2026Q3").iterdir()}
    assert after == before                                                   # the earlier good report is untouched


def test_bad_arguments():
    with pytest.raises(ValueError, match="lang"):
        render("quarterly", lang="fr")
    with pytest.raises(ValueError, match="unknown report"):
        render("monthly")
    with pytest.raises(ValueError, match="not both"):
        render("quarterly", owner="a", department="b")


def test_blocks_format_for_the_language():
    assert fmt_money(650_000, "zh") == "65.0万元" and fmt_money(650_000, "en") == "CNY 650k"
    html = Block("标题").text("<b>").add(table_html(pd_frame()))._repr_html_()
    assert "<h2>标题</h2>" in html and "&lt;b&gt;" in html


def pd_frame():
    import pandas as pd
    return pd.DataFrame({"a": [1]})


def test_each_kernel_has_its_own_socket_folder():
    """Two processes starting kernels at once must not take the same IPC socket names (they would
    talk to each other's kernels: "Invalid Signature"); each kernel gets a folder of its own."""
    import os

    from segkit.reporting.render import _kernel_manager_class

    if os.name == "nt":
        pytest.skip("no IPC transport on Windows")
    first, second = _kernel_manager_class()(), _kernel_manager_class()()
    assert first.transport == second.transport == "ipc"
    assert os.path.dirname(first.ip) != os.path.dirname(second.ip) and os.path.isdir(os.path.dirname(first.ip))
    for manager in (first, second):
        manager.cleanup_ipc_files()
        assert not os.path.exists(os.path.dirname(manager.ip))

"""The quarterly report as a notebook that reads as the report (issue 13, "What to build" 1 and 4).

Fast: the notebook's shape (every section a heading and prose in both languages, then segkit
calls of one line each; no ``def``, ``class`` or ``try``), the section intros gone from
``report.yaml``, the template leaving out a section whose call showed nothing, the display
objects the sections are built from. Slow: the rendered report on the sample: English
throughout except data values, every section's heading followed by its content, and in the A4
PDF no page that ends with a section heading (an orphan heading) in either report.
"""

from __future__ import annotations

import html as html_lib
import re
import shutil
import subprocess
from importlib import resources

import nbformat
import pandas as pd
import pytest

from conftest import SAMPLE
from segkit.config import default_section
from segkit.reporting import display
from segkit.reporting.render import html_from_notebook

QUARTER = "2026Q3"
CJK = re.compile(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]")
#: The report's sections in the outline's order (the notebook's English headings).
HEADINGS = ["Executive summary", "Customers behind the summary", "Tier overview", "Trends", "RFM view", "Tier migration",
            "Customer value (CLV)", "Contract renewals", "Key metrics", "Customers to review", "Strategy by tier",
            "Records overdue for refresh", "Appendix"]


def _notebook() -> nbformat.NotebookNode:
    path = resources.files("segkit.reporting").joinpath("notebooks", "quarterly_segmentation.ipynb")
    return nbformat.reads(path.read_text(encoding="utf-8"), as_version=4)


def _tags(cell) -> set[str]:
    return set(cell.get("metadata", {}).get("tags", []))


def _sections(cells) -> list[tuple]:
    """(zh cell, en cell, [code cells]) per section, in order."""
    out = []
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown" and "lang-zh" in _tags(cell):
            calls = []
            for following in cells[i + 2:]:
                if following.cell_type != "code":
                    break
                calls.append(following)
            out.append((cell, cells[i + 1], calls))
    return out


# --- fast ---------------------------------------------------------------------------------------


def test_notebook_has_no_def_try_or_class():
    code = [c.source for c in _notebook().cells if c.cell_type == "code"]
    assert len(code) >= 17
    for source in code:
        assert not re.search(r"^\s*(def|class|try|except|for|while|if)\b", source, re.M), source


def test_each_section_is_prose_in_both_languages_then_one_call_per_cell():
    cells = _notebook().cells
    sections = _sections(cells)
    assert [en.source.splitlines()[0] for _, en, _ in sections] == [f"## {h}" for h in HEADINGS]
    for zh, en, calls in sections:
        assert _tags(zh) == {"lang-zh"} and _tags(en) == {"lang-en"}, (zh.source, en.source)
        assert zh.source.startswith("## ") and CJK.search(zh.source)
        assert not CJK.search(en.source), en.source
        # a heading and at least one sentence of prose saying what the section shows
        for cell in (zh, en):
            heading, *prose = [line for line in cell.source.splitlines() if line.strip()]
            assert prose and len(" ".join(prose)) > 40, cell.source
        assert calls, zh.source
        for call in calls:
            assert call.source.count("\n") == 0 and re.fullmatch(r"report\.\w+\(run(, \w+)?\)", call.source), call.source
    # every markdown cell is a section's prose or an analyst's note, never untagged
    for cell in cells:
        if cell.cell_type == "markdown":
            assert _tags(cell) & {"lang-zh", "lang-en", "analyst-only"}, cell.source


def test_every_section_function_the_notebook_calls_exists_and_the_title_and_footer_are_calls_too():
    from segkit.reporting import quarterly

    calls = [c.source for c in _notebook().cells if c.cell_type == "code" and c.source.startswith("report.")]
    names = [re.match(r"report\.(\w+)\(", c).group(1) for c in calls]
    assert names[0] == "title_block" and names[-1] == "footer"
    assert all(callable(getattr(quarterly, n)) for n in names)
    assert set(names) >= {"executive_summary", "lists_view", "write_lists", "trends_view", "strategy_view", "cadence_view"}


def test_section_intros_live_in_the_notebook_not_in_report_yaml():
    words = default_section("report")
    prose = " ".join(c.source for c in _notebook().cells if c.cell_type == "markdown")
    for lang in ("zh", "en"):
        for key in ("rfm_intro", "lists_intro", "strategy_plan_intro", "flows_intro", "strategy_intro", "tier_overview",
                    "executive_summary", "appendix"):
            assert key not in words[lang], (lang, key)
    assert "summary-lists.xlsx" in prose and "value at stake" in prose and "风险价值" in prose


def _markdown(source: str, tag: str):
    return nbformat.v4.new_markdown_cell(source, metadata={"tags": [tag]})


def _output(html: str):
    cell = nbformat.v4.new_code_cell("report.x(run)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": html, "text/plain": "x"})]
    return cell


def test_a_section_whose_call_shows_nothing_is_left_out_heading_included():
    nb = nbformat.v4.new_notebook(cells=[
        _markdown("## Tier overview\n\nCustomers by tier.", "lang-en"), _output("<p>ONE TABLE</p>"),
        _markdown("## Contract renewals\n\nRenewals by tier.", "lang-en"), nbformat.v4.new_code_cell("report.renewals_view(run)"),
        _markdown("## Key metrics\n\nKPIs.", "lang-en"), _output("<p>KPI TABLE</p>"),
        _markdown("## Strategy\n\nLast section, nothing shown.", "lang-en"),
    ])
    page = html_from_notebook(nb, title="t", lang="en")
    assert re.findall(r"<h2[^>]*>([^<]+)", page) == ["Tier overview", "Key metrics"]
    assert "ONE TABLE" in page and "KPI TABLE" in page and "Renewals by tier" not in page


def test_display_pieces_keep_words_and_numbers_apart():
    display.use(lang="en", currency="USD")
    try:
        stack = display.Stack([display.Heading("By tier"), display.Sentences(["Left out: no surveys."], "left-out"), None,
                               display.Shown(pd.DataFrame({"Tier": ["Core"], "Customers": [1234]}),
                                             {"Customers": lambda v: f"{v:,d}"})], anchor="list-core", cls="keep")
        html = stack._repr_html_()
        assert html.startswith('<div class="keep" id="list-core"><h3>By tier</h3><p class="note left-out">Left out')
        assert '<td class="num" data-label="Customers">1,234</td>' in html
        assert stack.parts[-1].to_frame().values.tolist() == [["Core", "1,234"]]
        focus = display.Focus([("call the 2 core customers at risk", "high_risk"), ("refresh 3 records", None)])._repr_html_()
        assert focus.count('href="#list-high_risk"') == 1 and "refresh 3 records" in focus and not CJK.search(focus)
        assert display.word("focus_none") in html_lib.unescape(display.Focus([])._repr_html_())
    finally:
        display.use()


# --- slow: the rendered reports -------------------------------------------------------------------


@pytest.fixture(scope="module")
def quarterly(shared_reports):
    return {lang: shared_reports(SAMPLE, "quarterly", lang, quarter=QUARTER) for lang in ("zh", "en")}


#: Columns whose cells are data (names and free text from the customers file: an industry
#: segkit has no label for stays as written), which may be Chinese in any report.
DATA_COLUMNS = ("Customer", "Owner", "Example customers", "Contact", "Department", "Industry")


@pytest.mark.slow
def test_the_english_report_has_no_chinese_outside_data_values(quarterly):
    page = quarterly["en"]["html"].read_text(encoding="utf-8")
    body = page[page.index("<main"):]
    body = re.sub(r'src="data:[^"]+"', "", body)
    data_cells = rf'<td[^>]*data-label="(?:{"|".join(DATA_COLUMNS)})[^"]*">[^<]*</td>'
    body = re.sub(data_cells, "", body)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", body))
    assert not CJK.findall(text), sorted(set(CJK.findall(text)))[:20]
    assert re.findall(r"<h2[^>]*>([^<]+)", page) == HEADINGS
    assert "actions-&lt;owner&gt;.xlsx" in page  # a file name in the prose is text, not a tag markdown drops


@pytest.mark.slow
def test_every_heading_is_followed_by_its_sections_content(quarterly):
    for lang, result in quarterly.items():
        page = result["html"].read_text(encoding="utf-8")
        parts = re.split(r"<h2[^>]*>", page)[1:]
        assert len(parts) == len(HEADINGS), lang
        for part in parts:
            # the heading's prose, then an output: a table, a chart, tiles or a sentence of the call
            assert re.search(r'\bjp-OutputArea-output\b', part) and re.search(r"<(table|img|p)\b", part), part[:200]


def _page_texts(pdf) -> list[str]:
    out = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return out.split("\f")[:-1]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler) not installed")
@pytest.mark.parametrize("name", ["quarterly", "churn"])
def test_no_pdf_page_ends_with_a_section_heading(shared_reports, name):
    nb = nbformat.reads(resources.files("segkit.reporting").joinpath(
        "notebooks", f"{'quarterly_segmentation' if name == 'quarterly' else 'churn_prediction'}.ipynb").read_text("utf-8"), 4)
    for lang in ("zh", "en"):
        headings = {c.source.splitlines()[0][3:].strip() for c in nb.cells
                    if c.cell_type == "markdown" and f"lang-{lang}" in _tags(c)}
        pages = _page_texts(shared_reports(SAMPLE, name, lang, quarter=QUARTER)["pdf"])
        assert len(pages) >= 3
        seen = set()
        for number, page in enumerate(pages[:-1], 1):
            lines = [line.strip() for line in page.splitlines() if line.strip()]
            lines = [line for line in lines if not re.fullmatch(r"\d+\s*/\s*\d+", line)]  # the page number
            seen |= {line for line in lines if line in headings}
            # the last lines of a page (the heading, its prose) are never a heading without content
            assert not any(line in headings for line in lines[-3:]), (lang, number, lines[-3:])
        assert len(seen) >= len(headings) - 2, (lang, headings - seen)

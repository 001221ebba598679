"""Rendered reports, read as HTML: one unit per money column, deltas only with a comparison,
English throughout (issue 13), on the sample and on a second generated data set (seed 13,
400 customers, amounts in USD)."""

from __future__ import annotations

import html as html_lib
import re

import pytest

from conftest import SAMPLE

pytestmark = pytest.mark.slow
REPORTS = ("quarterly", "churn")
LANGS = ("zh", "en")
QUARTER = "2026Q3"
# on the second data set one language per report (each language is checked on the sample):
# the quarterly report in English, as test_quarterly_actions reads it (one shared render)
SECOND = [("seed13", "quarterly", "en"), ("seed13", "churn", "zh")]
WANTED = [("sample", name, lang) for name in REPORTS for lang in LANGS] + SECOND

# an amount written with its unit, alone in a cell: 65.2万元, 3.20亿元, 629美元, CNY 1.6M, USD 629
AMOUNT = re.compile(r"^[+\-−]?(?:(?P<zh>[\d,]+(?:\.\d+)?(?P<zh_unit>亿|万)?(?P<zh_cur>元|美元))"
                    r"|(?P<en_cur>CNY|USD) [+\-−]?[\d,]+(?:\.\d+)?(?P<en_unit>[kM])?)$")
# a header naming its unit: 交易额（万元）, Revenue (CNY M)
HEADER_UNIT = re.compile(r"(?:（(?:亿|万)?(?:元|美元)）|\((?:CNY|USD)(?: [kM])?\))$")
PLAIN = re.compile(r"^(?:[+\-−]?\d{1,3}(?:,\d{3})*(?:\.\d+)?|—|)$")


@pytest.fixture(scope="module")
def pages(shared_reports, second_data):
    """Every report in both languages on the sample and on the second (USD) data set, rendered
    once per test run (conftest)."""
    folders = {"sample": SAMPLE, "seed13": second_data}
    return {(key, name, lang): shared_reports(folders[key], name, lang, quarter=QUARTER)["html"].read_text(encoding="utf-8")
            for key, name, lang in WANTED}


def _tables(page: str):
    """Each table as (headers, rows of cell texts)."""
    for table in re.findall(r"<table[^>]*>(.*?)</table>", page, flags=re.S):
        headers = [html_lib.unescape(re.sub(r"<[^>]+>", "", h)) for h in re.findall(r"<th>(.*?)</th>", table)]
        rows = [[html_lib.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
                for row in re.findall(r"<tr>(.*?)</tr>", re.search(r"<tbody>(.*?)</tbody>", table, flags=re.S).group(1))]
        yield headers, rows


def _unit(cell: str) -> str | None:
    match = AMOUNT.match(cell.strip())
    if not match:
        return None
    return f"{match['zh_unit'] or ''}{match['zh_cur']}" if match["zh"] else f"{match['en_cur']} {match['en_unit'] or ''}"


@pytest.mark.parametrize(("key", "name", "lang"), WANTED)
def test_every_money_column_has_one_unit(pages, key, name, lang):
    money_columns = 0
    for headers, rows in _tables(pages[(key, name, lang)]):
        for i, header in enumerate(headers):
            cells = [row[i] for row in rows if i < len(row)]
            units = {_unit(c) for c in cells} - {None}
            assert len(units) <= 1, (header, units)              # never 3.20亿元 above 65.2万元
            assert not units, (header, units)                    # and the unit is in the header, not the cells
            if HEADER_UNIT.search(header):
                money_columns += 1
                bad = [c for c in cells if not PLAIN.match(c)]
                assert not bad, (header, bad[:5])
    assert money_columns >= {"quarterly": 6, "churn": 1}[name], money_columns
    if key == "seed13":
        assert ("美元" if lang == "zh" else "USD") in pages[(key, name, lang)]


@pytest.mark.parametrize("key", ["sample", "seed13"])
def test_deltas_only_with_a_comparison(pages, key):
    for lang in [lang for k, name, lang in WANTED if k == key and name == "quarterly"]:
        deltas = re.findall(r'<div class="delta (\w+)">([^<]*)</div>', pages[(key, "quarterly", lang)])
        assert deltas, lang
        for cls, text in deltas:
            assert not re.search(r"(?<![\d.,])[+\-−]0(?![\d.,])", text), text      # no "+0"
            assert "—" not in text
            if re.search(r"\+[\d,]+ / −[\d,]+", text):                             # gross: net 0 or both ways
                assert cls in ("flat", "good", "bad")


@pytest.mark.parametrize("key", ["sample", "seed13"])
def test_english_reports_use_english_names_and_separators(pages, key):
    for name in [name for k, name, lang in WANTED if k == key and lang == "en"]:
        page = pages[(key, name, "en")]
        meta = html_lib.unescape(re.search(r'<div class="meta">(.*?)</div>', page).group(1))
        assert not re.search(r"[\u3400-\u9fff\u3000-\u303f\uff00-\uffef]", meta), meta
        assert " | " in meta
    appendix = re.split(r"<h2[^>]*>Appendix", pages[(key, "quarterly", "en")])[1]
    first_table = next(_tables(appendix))
    assert [row[0] for row in first_table[1]][:2] == ["Customers", "Orders"]
    if (key, "churn", "en") in pages:
        churn = pages[(key, "churn", "en")].split('<h2 id="Model-quality">')[1]
        assert not re.search(r"[、，；：｜]", re.sub(r"<[^>]+>", " ", churn))

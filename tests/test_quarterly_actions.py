"""The quarterly report says who, how many, by whom and by when (issue 13, "Findings you can act on").

Rendered once per data set (the sample in Chinese, a generated seed-13 set of 400 customers in
English): every customer a summary sentence counts is in the list the sentence links to (in the
report's body, or the complete list in summary-lists.xlsx beside it); the migration matrix sums
to the tier counts of both quarters; the strategy table's counts sum to the customers and every
tier has a deadline; the per-owner action lists exist and are masked like the report.
"""

from __future__ import annotations

import re
import warnings

import pandas as pd
import pytest

from conftest import SAMPLE
from segkit.insights.migration import LOST, NEW
from segkit.reporting import report_context
from segkit.reporting.quarterly import PROSPECT, TOTAL, migration_matrix
from segkit.reporting.quarterly_actions import findings, shown_rows
from segkit.reporting.quarterly_helpers import _tier_label

pytestmark = pytest.mark.slow
QUARTER = "2026Q3"


@pytest.fixture(scope="module", params=["sample", "seed13"])
def case(request, second_data, shared_reports, shared_run_cache):
    """(context, rendered result, HTML) of the quarterly report on one data set: the sample in
    Chinese and a second generated set (another seed and size, USD) in English."""
    data, lang = (SAMPLE, "zh") if request.param == "sample" else (second_data, "en")
    result = shared_reports(data, "quarterly", lang, quarter=QUARTER)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ctx = report_context(QUARTER, data, lang=lang, cache_dir=shared_run_cache)
        findings(ctx)
    return ctx, result, result.paths["html"].read_text(encoding="utf-8")


def _list_html(html: str, name: str) -> str:
    """The part of the report under the list anchor ``list-<name>`` (up to the next list)."""
    start = html.index(f'id="list-{name}"')
    end = html.find('class="finding-list', start + 1)
    return html[start: end if end > 0 else len(html)]


def _section(html: str, heading: str) -> str:
    """The rendered section under the notebook heading ``heading`` (up to the next heading)."""
    start = re.search(rf"<h2[^>]*>{re.escape(heading)}", html)
    assert start, heading
    end = re.search(r"<h2[^>]*>", html[start.end():])
    return html[start.end(): start.end() + end.start()] if end else html[start.end():]


def _ids_in(fragment: str) -> set[str]:
    """Customer ids at the start of table cells (cells read "C0001 name" or "C0001")."""
    return set(re.findall(r'<td data-label="[^"]*">([A-Za-z0-9_-]+)(?=[ <])', fragment))


def test_every_customer_a_summary_sentence_counts_is_in_the_list_it_links_to(case):
    ctx, result, html = case
    found, lists = findings(ctx)
    summary = html[html.index('class="findings"'):html.index('id="lists"')]
    xlsx = next(p for p in result.side_files if p.name == "summary-lists.xlsx")
    w = ctx.words
    complete = pd.read_excel(xlsx, dtype={w["col_customer_id"]: str})
    assert len(found) >= 8                                                  # core, moves, risk, near core, RFM
    for f in found:
        if f.value:
            assert f'href="#list-{f.list_name}"' in summary, f.key                   # the sentence links to its list
        body = _ids_in(_list_html(html, f.list_name))
        in_file = set(complete.loc[complete[w["col_list"]] == w[f"list_{f.list_name}"], w["col_customer_id"]])
        assert set(f.customer_ids) <= body | in_file, f.key
        assert set(f.customer_ids) <= in_file, f.key                        # the complete list holds all
    # the narrow counts (a handful among hundreds) are in the body itself, not only the file
    # (on the sample: the 2 core customers at high risk and the 4 downgraded core customers at risk)
    from segkit.reporting.quarterly_actions import LIST_TOP

    for key in ("core_high_risk", "core_down_high_risk"):
        f = next((f for f in found if f.key == key), None)
        if f is not None and f.value <= LIST_TOP:
            assert set(f.customer_ids) <= _ids_in(_list_html(html, f.list_name)), key
    # the near-core sentence states its line's value; the list names the setting that holds it
    near = next(f for f in found if f.key == "near_core")
    if near.value:
        line = ctx.thresholds.format("near_core_revenue", ctx.lang)
        assert line in summary and "near_core_revenue" not in summary
        assert "near_core_revenue" in _list_html(html, "near_core") and line in _list_html(html, "near_core")
    assert near.settings["near_core_revenue"] == ctx.thresholds.values["near_core_revenue"]


def test_the_body_shows_the_top_of_each_list_by_value_at_stake(case):
    ctx, _, html = case
    found, lists = findings(ctx)
    high = lists["high_risk"]
    assert high["value_at_stake"].is_monotonic_decreasing
    body = _ids_in(_list_html(html, "high_risk"))
    assert set(high.index[:10]) <= body
    assert set(shown_rows(found, high).index) == body


def test_the_migration_matrix_sums_to_the_tier_counts_of_both_quarters(case):
    ctx, _, html = case
    matrix = migration_matrix(ctx)
    order = ctx.migration.order
    current = ctx.tiers["tier"].astype(str).value_counts().reindex(order, fill_value=0)
    previous = ctx.previous_tiers["tier"].astype(str).value_counts().reindex(order, fill_value=0)
    assert matrix.loc[TOTAL, order].astype(int).tolist() == current.tolist()
    assert matrix.loc[order, TOTAL].astype(int).tolist() == previous.tolist()
    # the rows that make it add up: new customers and prospects; the customers count once each
    assert matrix.loc[[*order, NEW, PROSPECT], order].sum().sum() == len(ctx.tiers)
    assert matrix.loc[order, [*order, LOST, PROSPECT]].sum().sum() == len(ctx.previous_tiers)
    # the prospects row (this quarter's) and column (last quarter's) say which quarter they count
    now, then = ctx.words["matrix_prospect_now"], ctx.words["matrix_prospect_then"]
    assert f">{now}</th>" in html or f">{now}</td>" in html   # the row
    assert f'data-label="{then}"' in html                      # the column


def test_the_strategy_table_counts_every_customer_once_and_gives_each_tier_a_deadline(case):
    ctx, _, html = case
    from segkit.insights.strategy import strategy_plan

    plan = strategy_plan(ctx.tiers, ctx.churn_scores, ctx.user_config, snapshot=ctx.snapshot)
    assert int(plan["n_customers"].sum()) == len(ctx.tiers)
    assert int(plan["n_at_risk"].sum()) == int((ctx.churn_scores["risk_level"] == "high").reindex(ctx.tiers.index, fill_value=False).sum())
    section = _section(html, "分层策略建议" if ctx.lang == "zh" else "Strategy by tier")  # as rendered
    deadlines = re.findall(rf'data-label="{ctx.words["col_deadline"]}">([^<]*)<', section)
    assert len(deadlines) == len(plan) and all(d and d != "—" for d in deadlines)
    core_days = int(plan.loc["core", "respond_within_days"])
    assert str((ctx.as_of + pd.Timedelta(days=core_days)).date()) in deadlines[list(plan.index).index("core")]


def test_the_owner_action_lists_are_written_masked_beside_a_masked_report(case):
    ctx, result, _ = case
    raw = ctx.dataset_full.customers
    contacts = {str(v) for col in ("phone", "email") if col in raw for v in raw[col].dropna()}
    owners = [p for p in result.side_files if p.name.startswith("actions-")]
    assert owners and all(p.parent.name == "quarterly-lists" for p in owners)
    at_risk, w = 0, ctx.words
    for path in owners:
        table = pd.read_excel(path, dtype=str)
        at_risk += len(table)
        stake = next(c for c in table.columns if c.startswith(w["col_value_at_stake"]))
        assert table[stake].astype(float).is_monotonic_decreasing
        text = table.to_csv()
        assert [v for v in contacts if v in text] == []
        if w["col_phone"] in table:
            assert table[w["col_phone"]].dropna().str.contains(r"\*", regex=True).all()
    assert at_risk == int((ctx.churn_scores["risk_level"] == "high").sum())


def test_the_lists_beside_the_report_are_written_for_people(case):
    """Headers and keys in the report's language, amounts rounded to cents with the currency
    in the header, probabilities in percent: what an account owner opens in Excel."""
    ctx, result, _ = case
    w = ctx.words
    for path in [p for p in result.side_files if p.suffix == ".xlsx"]:
        table = pd.read_excel(path)
        assert not [c for c in table.columns if re.fullmatch(r"[a-z0-9_]+", str(c))], (path.name, list(table.columns))
        assert table.columns[0] in (w["col_list"], w["col_customer_id"])
        tiers = {_tier_label(ctx, k) for k in ctx.migration.order}
        assert set(table[w["col_tier"]].dropna()) <= tiers
        money = [c for c in table.columns if c.startswith((w["col_value_12m"], w["col_value_at_stake"]))]
        assert money and all(str(ctx.currency) in c or "元" in c for c in money)
        for c in money:
            assert (table[c].dropna().round(2) == table[c].dropna()).all()
        probability = next(c for c in table.columns if c.startswith(w["col_probability"]))
        assert table[probability].dropna().between(0, 100).all() and table[probability].dropna().max() > 1
        if w["col_action"] in table:  # the owners' lists: the action in words, as the strategy says it
            assert not table[w["col_action"]].isin(["core_at_risk", "churn_risk", "automated", "dormant"]).any()


def test_an_owner_report_writes_that_owners_action_list_unmasked(tmp_path, shared_run_cache):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        whole = report_context(QUARTER, SAMPLE)
        owner = whole.snapshot["owner"].dropna().value_counts().index[0]
        ctx = report_context(QUARTER, SAMPLE, owner=owner, cache_dir=shared_run_cache)
        from segkit.reporting.quarterly_actions import write_lists

        write_lists(ctx, tmp_path)
    files = sorted(p.name for p in tmp_path.iterdir())
    assert "summary-lists.xlsx" in files and len([f for f in files if f.startswith("actions-")]) == 1
    table = pd.read_excel(next(tmp_path.glob("actions-*.xlsx")), dtype=str)
    w = ctx.words
    assert set(table[w["col_owner"]]) == {owner}
    phones = set(ctx.snapshot["phone"].dropna().astype(str))
    shown = table[w["col_phone"]].dropna()
    assert set(shown) <= phones and not shown.str.contains(r"\*", regex=True).any()

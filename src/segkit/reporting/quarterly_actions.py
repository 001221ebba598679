"""Sections of the quarterly report a head of sales acts on: who, how many, by whom and by when.

The executive summary's numbers point to lists (:func:`lists_view`): each list has an anchor
``list-<name>`` the summary links to (HTML) and names (PDF), shows the customers at the top of
the list (largest value at stake first) and every customer a narrower summary sentence counts,
and the complete list is in the spreadsheet written beside the report (:func:`write_lists`:
``summary-lists.xlsx``, a row per list and customer, and the per-owner action lists). The strategy per
tier with counts, owners and deadlines (:func:`strategy_view`), the trends over the last eight
quarters with the flow between tiers (:func:`trends_view`), the KPIs by region
(:func:`region_kpis`), the CLV holdout check (:func:`holdout_view`) and the glossary
(:func:`glossary_view`) are here too.

These sections live beside :mod:`segkit.reporting.quarterly` (which re-exports them) so that
no module passes 600 lines. Values computed once per report (the findings,
their lists, the trends, the holdout check) are kept on the context (its ``__dict__``, as its
own cached properties are), under names starting ``_quarterly_``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pandas as pd

from segkit.reporting.blocks import fmt_int, fmt_pct, money_columns
from segkit.reporting.context import ReportContext
from segkit.reporting.display import Glossary, Heading, Sentences, Shown, Stack
from segkit.reporting.quarterly_helpers import _tier_label, customer_text, strategy_words

__all__ = ["findings", "lists_view", "strategy_view", "trends_view", "quarter_trends", "region_kpis", "holdout_view",
           "glossary_view", "write_lists", "for_people", "GLOSSARY_TERMS", "LIST_TOP", "PEOPLE_COLUMNS"]

#: Rows of each list shown in the report's body (plus every customer a narrower summary
#: sentence counts); the complete lists are in the spreadsheet beside the report.
LIST_TOP = 10

#: The glossary terms the quarterly report uses, in the order a reader meets them.
GLOSSARY_TERMS = ("tier", "rfm", "migration", "churn_probability", "value_at_stake", "clv", "bgnbd",
                  "holdout_check", "retention", "repurchase", "nps", "renewal_probability")


def _cached(ctx: ReportContext, name: str, compute: Callable[[], Any]) -> Any:
    """``compute()`` once per context (kept in its ``__dict__`` as ``_quarterly_<name>``)."""
    key = f"_quarterly_{name}"
    if key not in ctx.__dict__:
        ctx.__dict__[key] = compute()
    return ctx.__dict__[key]


# --- findings and their lists ---------------------------------------------------------------------

def findings(ctx: ReportContext) -> tuple[list, dict[str, pd.DataFrame]]:
    """The summary's findings (:func:`segkit.insights.findings.summary_findings`, and the core
    customers whose records are overdue for refresh when the data date their records) and the
    list behind each (:func:`~segkit.insights.findings.finding_lists`), for the customers in scope."""
    from segkit.insights.findings import Finding, finding_lists, summary_findings

    def compute():
        previous = ctx.has("previous")
        scores = ctx.churn_scores if ctx.has("churn_model") else None
        found = summary_findings(ctx.tiers, ctx.previous_tiers if previous else None, scores, ctx.rfm_named,
                                 ctx.migration if previous else None, ctx.thresholds, snapshot=ctx.snapshot,
                                 config=ctx.user_config)
        if ctx.has("record_updated"):
            cadence = ctx.cadence
            ids = tuple(str(i) for i in cadence.index[cadence["overdue"].astype(bool) & (cadence["tier"] == "core")])
            found.append(Finding("overdue_core", len(ids), "overdue_core", ids))
        lists = finding_lists(found, ctx.tiers, snapshot=ctx.snapshot, scores=scores, rfm=ctx.rfm_named,
                              migration=ctx.migration if previous else None)
        return found, lists

    return _cached(ctx, "findings", compute)


def _list_table(ctx: ReportContext, table: pd.DataFrame) -> Shown:
    w = ctx.words
    names = ctx.snapshot["name"] if "name" in ctx.snapshot else pd.Series(dtype=object)
    shown = pd.DataFrame({w["col_customer"]: [customer_text(i, names.get(i)) for i in table.index]})
    if "previous_tier" in table:
        shown[w["col_from"]] = [_tier_label(ctx, k) if isinstance(k, str) else "—" for k in table["previous_tier"]]
    shown[w["col_tier"]] = [_tier_label(ctx, k) for k in table["tier"]]
    money = []
    if "revenue_12m" in table:
        shown[w["col_revenue"]] = table["revenue_12m"].to_numpy()
        money.append(w["col_revenue"])
    formats = {}
    if "churn_probability" in table:
        shown[w["col_churn_probability"]] = table["churn_probability"].to_numpy()
        formats[w["col_churn_probability"]] = lambda v: "—" if pd.isna(v) else fmt_pct(v, 0)
    if "value_at_stake" in table:
        shown[w["col_value_at_stake"]] = table["value_at_stake"].to_numpy()
        money.append(w["col_value_at_stake"])
    if "owner" in ctx.snapshot and ctx.has("owner"):
        shown[w["col_owner"]] = ctx.snapshot["owner"].reindex(table.index).astype(object).fillna("—").to_numpy()
    shown, money_formats = money_columns(shown, money, ctx.lang, ctx.currency)
    return Shown(shown, {**formats, **money_formats}, nowrap=[w["col_tier"], w["col_from"]])


def shown_rows(found: list, table: pd.DataFrame, top: int = LIST_TOP) -> pd.DataFrame:
    """The rows of a list the report's body shows: the first ``top`` (largest value at stake)
    and every customer of a narrower finding pointing to the list that counts at most ``top``
    customers (e.g. the 2 core customers at high risk, wherever they sit in the high-risk
    list), in the list's order. Larger findings are in the complete list beside the report.

    Examples
    --------
    >>> from segkit.insights.findings import Finding
    >>> table = pd.DataFrame({"high_risk": [True] * 4, "core_high_risk": [False, False, False, True]},
    ...                      index=["A", "B", "C", "D"])
    >>> found = [Finding("high_risk", 4, "high_risk", ("A", "B", "C", "D")), Finding("core_high_risk", 1, "high_risk", ("D",))]
    >>> shown_rows(found, table, top=2).index.tolist()
    ['A', 'B', 'D']
    >>> shown_rows(found, table, top=1).index.tolist()  # the narrow finding is as large as the top
    ['A', 'D']
    """
    members = [f for f in found if f.key in table.columns]
    widest = max((f.value for f in members), default=0)
    narrow = [f.key for f in members if f.value < widest and f.value <= top]
    keep = pd.Series(False, index=table.index)
    keep.iloc[:top] = True
    for key in narrow:
        keep |= table[key].astype(bool)
    return table.loc[keep.to_numpy()]


def lists_view(ctx: ReportContext, top: int = LIST_TOP) -> Stack:
    """The customers behind the summary's numbers, one list per anchor ``list-<name>``.

    Each list is ordered by value at stake (churn probability x 12-month revenue) when the
    churn model could be trained, else by 12-month revenue; the body shows its first ``top``
    customers and every customer a narrower sentence counts (e.g. the core customers at high
    risk in the high-risk list); the complete lists are in ``summary-lists.xlsx`` beside the
    report (:func:`write_lists`).
    """
    w = ctx.words
    found, lists = findings(ctx)
    parts = []
    for name, table in lists.items():
        counts = [f for f in found if f.list_name == name]
        shown = shown_rows(counts, table, top) if len(table) else table
        rows = [Heading(f"{w[f'list_{name}']} · {fmt_int(len(table))}")]
        if name == "near_core":
            rows.append(Sentences([w["list_near_core_line"].format(
                name="near_core_revenue", line=ctx.thresholds.format("near_core_revenue", ctx.lang))]))
        rows.append(_list_table(ctx, shown) if len(table) else Sentences([w["list_empty"]]))
        if len(shown) < len(table):
            rows.append(Sentences([w["list_rest"].format(shown=fmt_int(len(shown)), n=fmt_int(len(table)), sheet=name)], "note"))
        # one list on one PDF page where it fits (no orphan heading or closing line)
        parts.append(Stack(rows, anchor=f"list-{name}", cls="finding-list keep"))
    return Stack(parts, anchor="lists")


#: The columns of the lists written for people (XLSX), in this order: column -> report.yaml
#: word. Columns segkit keeps for itself (membership flags, response days, rule flags) are left out.
PEOPLE_COLUMNS = {
    "list": "col_list", "customer_id": "col_customer_id", "name": "col_name", "owner": "col_owner",
    "department": "col_department", "tier": "col_tier", "previous_tier": "col_previous_tier",
    "rfm_segment": "col_segment", "revenue_12m": "col_value_12m", "value_12m": "col_value_12m",
    "churn_probability": "col_probability", "risk_level": "col_risk", "value_at_stake": "col_value_at_stake",
    "n_signals": "col_n_signals", "action_key": "col_action", "owner_role": "col_owner_role", "due_date": "col_due_date",
    "contact_name": "col_contact", "contact_title": "col_contact_title", "phone": "col_phone", "email": "col_email",
}
_MONEY = ("revenue_12m", "value_12m", "value_at_stake")


def for_people(ctx: ReportContext, table: pd.DataFrame) -> pd.DataFrame:
    """A list as the people it goes to read it in a spreadsheet: the report's words for the
    columns and for keys (list, tier, RFM segment, risk level, action, owner role), amounts in
    the data's currency rounded to cents with the currency in the header, probabilities in
    percent; the order of :data:`PEOPLE_COLUMNS`.

    Examples
    --------
    >>> ctx = report_context("2026Q3", "data/sample", lang="en")  # doctest: +SKIP
    >>> for_people(ctx, ctx.churn_actions.head(1)).columns[:4].tolist()  # doctest: +SKIP
    ['Customer ID', 'Tier', 'Owner', 'Department']
    """
    from segkit.labels import currency_name, label

    w, lang = ctx.words, ctx.lang
    _, action_text, role_text = strategy_words(ctx)
    keys = {
        "list": lambda k: w[f"list_{k}"],
        "tier": lambda k: _tier_label(ctx, k), "previous_tier": lambda k: _tier_label(ctx, k),
        "rfm_segment": lambda k: label("rfm_segment", k, lang, default=k),
        "risk_level": lambda k: w.get(f"churn_level_{k}", k),
        "action_key": lambda k: action_text(k, lang), "owner_role": lambda k: role_text(k, lang),
    }
    unit = currency_name(ctx.currency, lang)
    out = pd.DataFrame(index=table.index)
    for column, key in PEOPLE_COLUMNS.items():
        if column not in table.columns or w[key] in out.columns:
            continue
        values = table[column]
        header = w[key]
        if column in keys:
            values = values.map(lambda k, f=keys[column]: k if pd.isna(k) else f(str(k)))
        elif column in _MONEY:
            values, header = pd.to_numeric(values).round(2), f"{header}（{unit}）" if lang == "zh" else f"{header} ({unit})"
        elif column == "churn_probability":
            values, header = (pd.to_numeric(values) * 100).round(1), f"{header}（%）" if lang == "zh" else f"{header} (%)"
        elif column == "due_date":
            values = pd.to_datetime(values).dt.date
        out[header] = values
    return out.reset_index(drop=True)


def write_lists(ctx: ReportContext, folder: str | Path | None) -> Sentences | None:
    """Write the complete lists beside the report, in the report's scope and masking.

    ``summary-lists.xlsx`` (every list of :func:`findings`, a row per list and customer) and, when the churn model
    could be trained, one action list per account owner (``actions-<owner>.xlsx``,
    :func:`segkit.insights.actions.write_owner_lists`), contact details masked unless the
    report is for their owner (``ctx.mask_pii``). Both are written for people
    (:func:`for_people`: the report's language, rounded amounts). ``folder`` None (a notebook
    opened by hand) writes nothing and shows nothing.
    """
    if folder is None:
        return None
    from segkit.access import mask_pii
    from segkit.insights.actions import action_list, write_owner_lists
    from segkit.writers import write_table

    w = ctx.words
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _, lists = findings(ctx)
    snap = ctx.snapshot
    extra = [c for c in ("name", "owner", "department") if c in snap.columns]
    # one sheet, a row per (list, customer): a reader filters by the list column in Excel
    table = pd.concat([t.join(snap[extra]).reset_index().assign(list=name) for name, t in lists.items()], ignore_index=True)
    if ctx.mask_pii:
        table = mask_pii(table)
    path = write_table(for_people(ctx, table), folder / "summary-lists.xlsx", sheet_name="lists")
    written = [path]
    if ctx.has("churn_model"):
        actions = action_list(ctx.churn_scores, ctx.tiers, snap, as_of=ctx.as_of, config=ctx.user_config)
        written += list(write_owner_lists(actions, folder, mask=ctx.mask_pii, present=lambda t: for_people(ctx, t)).values())
    return Sentences([w["lists_written"].format(lists=path.name, n=fmt_int(len(written) - 1))], "note")


# --- strategy: counts, owners and deadlines ---------------------------------------------------------

def strategy_view(ctx: ReportContext) -> Stack:
    """One row per tier: customers, revenue, customers at risk, the owner role, the at-risk
    action with its deadline and example customers (:func:`segkit.insights.strategy.strategy_plan`
    on the customers in scope, words from ``strategy.yaml``)."""
    from segkit.insights.strategy import load_strategy, strategy_plan
    w = ctx.words
    cfg = load_strategy(ctx.user_config)
    has_churn = ctx.has("churn_model")
    plan = strategy_plan(ctx.tiers, ctx.churn_scores if has_churn else None, ctx.user_config, snapshot=ctx.snapshot)
    names = ctx.snapshot["name"] if "name" in ctx.snapshot else pd.Series(dtype=object)
    due = [(ctx.as_of + pd.Timedelta(days=int(d))).date().isoformat() for d in plan["respond_within_days"]]
    shown = pd.DataFrame({
        w["col_tier"]: [_tier_label(ctx, k) for k in plan.index],
        w["col_customers"]: plan["n_customers"].to_numpy(),
        w["col_revenue"]: plan["revenue_12m"].to_numpy(),
    })
    if has_churn:
        shown[w["col_at_risk"]] = plan["n_at_risk"].to_numpy()
    shown[w["col_owner_role"]] = [cfg.roles[r].text(ctx.lang) for r in plan["owner_role"]]
    shown[w["col_at_risk_action"]] = [getattr(cfg.win_back[a], ctx.lang) for a in plan["at_risk_action"]]
    shown[w["col_at_risk_owner"]] = [cfg.roles[r].text(ctx.lang) for r in plan["at_risk_owner_role"]]
    shown[w["col_deadline"]] = [w["deadline"].format(days=int(d), date=t) for d, t in zip(plan["respond_within_days"], due)]
    shown[w["col_examples"]] = [w["separator_list"].join(customer_text(i, names.get(i)) for i in ids)
                                for ids in plan["example_customers"]]
    shown, formats = money_columns(shown, [w["col_revenue"]], ctx.lang, ctx.currency)
    formats |= {w["col_customers"]: fmt_int, w["col_at_risk"]: fmt_int}
    left_out = None if has_churn else Sentences([ctx.churn_left_out(w["col_at_risk"])], "left-out")
    return Stack([left_out, Shown(shown, formats, nowrap=[w["col_tier"]])])


# --- trends ---------------------------------------------------------------------------------------

def _trend_labels(ctx: ReportContext) -> dict[str, str]:
    from segkit.insights.migration import LOST, NEW

    w = ctx.words
    labels = {k: w[f"trend_{k}"] for k in ("title", "tier_mix", "customers", "revenue", "revenue_quarter",
                                             "revenue_12m", "retention_rate", "nps", "flow_title")}
    labels |= {k: _tier_label(ctx, k) for k in ctx.tiers["tier"].astype(str).unique()}
    return labels | {NEW: w["matrix_new"], LOST: w["matrix_lost"]}


def quarter_trends(ctx: ReportContext, n_quarters: int = 8) -> pd.DataFrame:
    """Tier mix, customers, revenue, retention and NPS at the last ``n_quarters`` quarter ends
    for the customers in scope (:func:`segkit.insights.trends.quarterly_trends`), computed once
    per report: the summary's tiles and the trends section read the same table."""
    from segkit.insights.trends import quarterly_trends

    return _cached(ctx, f"trends_{n_quarters}",
                   lambda: quarterly_trends(ctx.dataset, ctx.quarter, n_quarters, ctx.user_config, progress=False))


def trends_view(ctx: ReportContext, n_quarters: int = 8, flow_quarters: int = 4) -> Stack:
    """Tier mix, revenue, retention and NPS over the last ``n_quarters`` quarter ends, and the
    flows between tiers over the last ``flow_quarters`` (:mod:`segkit.insights.trends`), for the
    customers in scope; each quarter's row is as a report of that quarter computed it."""
    from segkit.insights.trends import segment_flows
    from segkit.labels import money_column
    from segkit.plots.trends import plot_segment_flow, plot_trends

    w = ctx.words
    trends = quarter_trends(ctx, n_quarters)
    flows = _cached(ctx, "flows", lambda: segment_flows(ctx.dataset, ctx.quarter, flow_quarters, ctx.user_config, progress=False))
    if len(trends) < 2:
        return Stack([Sentences([ctx.left_out(w["trends"], "previous")], "left-out")], anchor="trends")
    labels = _trend_labels(ctx)
    scale, unit, _ = money_column(trends["revenue_12m"].to_numpy(), ctx.lang, ctx.currency)
    first, last = trends.iloc[0], trends.iloc[-1]
    intro = Sentences([w["trends_intro"].format(
        n=len(trends), first=first["quarter"], last=last["quarter"], customers_first=fmt_int(first["customers"]),
        customers_last=fmt_int(last["customers"]), retention=fmt_pct(last["retention_rate"]),
        nps="—" if pd.isna(last["nps"]) else f"{last['nps']:+.0f}")])
    parts = [intro, plot_trends(trends, labels, money=(scale, unit))]
    order = [k for k in trends.attrs.get("tier_order", []) if k in trends.columns]
    shown = pd.DataFrame({w["col_quarter"]: trends["quarter"].to_numpy()})
    for key in order:
        shown[labels[key]] = trends[key].to_numpy()
    shown[w["col_customers"]] = trends["customers"].to_numpy()
    shown[w["col_revenue_quarter"]] = trends["revenue_quarter"].to_numpy()
    shown[w["trend_retention_rate"]] = trends["retention_rate"].to_numpy()
    shown[w["trend_nps"]] = trends["nps"].to_numpy()
    shown, formats = money_columns(shown, [w["col_revenue_quarter"]], ctx.lang, ctx.currency)
    formats |= {labels[k]: fmt_int for k in order} | {w["col_customers"]: fmt_int, w["trend_retention_rate"]: fmt_pct,
                                                       w["trend_nps"]: lambda v: "—" if pd.isna(v) else f"{v:+.0f}"}
    parts.append(Shown(shown, formats))
    if len(flows):
        parts += [Heading(w["trend_flow_title"]), plot_segment_flow(flows, labels)]
    return Stack(parts, anchor="trends")


def region_kpis(ctx: ReportContext) -> pd.DataFrame:
    """KPIs by region for the customers in scope (:func:`segkit.insights.kpi.kpis` with
    ``by="region"``)."""
    from segkit.insights.kpi import kpis

    return _cached(ctx, "kpi_by_region", lambda: kpis(ctx.dataset, ctx.as_of, by="region", tiers=ctx.tiers,
                                                      config=ctx.user_config))


# --- CLV holdout ------------------------------------------------------------------------------------

def holdout_view(ctx: ReportContext, horizon_months: int = 12) -> Stack | Sentences:
    """Predicted against actual revenue over the last ``horizon_months`` per tier
    (:func:`segkit.insights.value.clv_holdout_check`, the company's models) with one sentence,
    for the value section; a note instead when the data are too short."""
    from segkit.insights.value import clv_holdout_check

    w = ctx.words
    try:
        check = _cached(ctx, "holdout", lambda: clv_holdout_check(ctx.dataset_full, ctx.as_of, horizon_months,
                                                                  ctx.user_config))
    except ValueError as exc:
        return Sentences([w["holdout_not_possible"].format(reason=exc)], "left-out")
    total = check.loc["total"]
    text = w["holdout_intro"].format(
        start=check.attrs["calibration_end"].date(), end=check.attrs["as_of"].date(), ratio=f"{total['ratio']:.2f}",
        predicted=ctx.money(total["predicted"]), actual=ctx.money(total["actual"]),
        new=fmt_int(check.attrs["unpredicted_customers"]), new_revenue=ctx.money(check.attrs["unpredicted_revenue"]))
    shown = pd.DataFrame({
        w["col_tier"]: [w["total_row"] if k == "total" else _tier_label(ctx, k) for k in check.index],
        w["col_customers"]: check["customers"].to_numpy(),
        w["col_predicted_revenue"]: check["predicted"].to_numpy(),
        w["col_actual_revenue"]: check["actual"].to_numpy(),
        w["col_ratio"]: check["ratio"].to_numpy(),
    })
    shown, formats = money_columns(shown, [w["col_predicted_revenue"], w["col_actual_revenue"]], ctx.lang, ctx.currency)
    formats |= {w["col_customers"]: fmt_int, w["col_ratio"]: lambda v: "—" if pd.isna(v) else f"{v:.2f}"}
    return Stack([Heading(w["holdout"]), Sentences([text]), Shown(shown, formats, nowrap=[w["col_tier"]])])


# --- glossary ---------------------------------------------------------------------------------------

def glossary_view(ctx: ReportContext) -> Glossary:
    """The glossary of the terms the quarterly report uses (:data:`GLOSSARY_TERMS`; the renewal
    term only when the data have contracts)."""
    return Glossary([t for t in GLOSSARY_TERMS if t != "renewal_probability" or ctx.has("contracts")], ctx.lang)

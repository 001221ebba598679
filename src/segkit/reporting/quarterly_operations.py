"""Quarterly report sections on running the accounts: contract renewals by tier, KPIs by tier,
industry and region, the customers whose tier needs review, and records overdue for refresh.

Split from :mod:`segkit.reporting.quarterly` (which re-exports these sections) so that no
module passes 600 lines.
"""

from __future__ import annotations

import pandas as pd

from segkit.config import default_section
from segkit.labels import label
from segkit.plots import TIER_COLORS, freeze_fonts, new_figure, style
from segkit.reporting.blocks import extreme_rows, fmt_int, fmt_pct
from segkit.reporting.context import ReportContext
from segkit.reporting.quarterly_actions import region_kpis
from segkit.reporting.display import Heading, Sentences, Shown, Stack
from segkit.reporting.quarterly_helpers import _tier_label, _tier_order, customer_text, money_table
from segkit.segment.tiers import explain_tiers

__all__ = ["renewals_view", "kpi_view", "review_view", "cadence_view", "KPI_COLUMNS", "HIGHER_IS_BETTER",
           "KPI_SHOWN_DIGITS"]


def renewals_view(ctx: ReportContext) -> Stack | Sentences | None:
    """Contract renewals (续约) by tier: a table and the predicted retention curves.

    Customers with contracts, those under contract now, the renewal rate so far (renewals
    signed / renewals due), the predicted chance to renew at the next decision and the
    discounted expected remaining years of the tier's current customers, from the sBG per tier
    (:func:`~segkit.insights.renewals.renewal_by_tier`); a tier predicted with the all-tiers
    or the geometric model says so. None (no section) when the data have no contracts file:
    contracts are an optional export, and a report on orders alone has nothing to say about
    them.
    """
    from segkit.insights.renewals import RenewalsNotFitted, load_renewals_config, period_months

    if not ctx.has("contracts"):
        return None
    w = ctx.words
    try:
        result = ctx.renewals
    except RenewalsNotFitted as exc:
        reason = w.get(f"renewals_reason_{exc.reason}", str(exc))
        return Sentences([w["renewals_not_fitted"].format(reason=reason)], "left-out")
    cfg = load_renewals_config(ctx.user_config)
    summary = result.summary
    tiers = [k for k in summary.index if k != "total"]
    total = summary.loc["total"]
    months = period_months(result.period)
    period = w["period_annual"] if months == 12 else w["period_months"].format(n=months)
    intro = Sentences([w["renewals_intro"].format(
        customers=fmt_int(total["customers"]), period=period, decisions=fmt_int(total["decisions"]),
        renewals=fmt_int(total["renewals"]), rate=fmt_pct(total["observed_rate"]), grace=cfg.grace_days,
        discount=fmt_pct((1 + result.discount) ** (12 / months) - 1, 0))])
    labels = [_tier_label(ctx, k) for k in tiers]
    with style(ctx.lang):
        fig = new_figure(6.5, 2.9)
        ax = fig.subplots()
        for key, text in zip([*tiers, "total"], [*labels, w["total_row"]]):
            curve = result.curve[key]
            if curve.notna().any():
                ax.plot(curve.index, curve.to_numpy() * 100, marker="o", markersize=3, label=text,
                        color=TIER_COLORS.get(key, "#555555"), ls="--" if key == "total" else "-")
        ax.set_xticks(result.curve.index)
        ax.set_xlabel(w["renewal_curve_x"])
        ax.set_ylabel("%")
        ax.set_title(w["renewal_curve_title"])
        ax.legend(fontsize=7)
        freeze_fonts(fig)
    rows = summary.loc[[*tiers, "total"]]
    basis = {"tier": w["renewal_basis_tier"], "overall": w["renewal_basis_overall"]}
    shown = pd.DataFrame({
        w["col_tier"]: [*labels, w["total_row"]],
        w["col_contract_customers"]: rows["customers"].to_numpy(),
        w["col_current_contracts"]: rows["current"].to_numpy(),
        w["col_renewal_rate"]: rows["observed_rate"].to_numpy(),
        w["col_next_renewal"]: rows["next_renewal"].to_numpy(),
        w["col_remaining_years"]: (rows["remaining_periods"] * months / 12).to_numpy(),
        w["col_renewal_basis"]: [basis[b] for b in rows["basis"]],
    })
    formats = {w["col_contract_customers"]: fmt_int, w["col_current_contracts"]: fmt_int, w["col_renewal_rate"]: fmt_pct,
               w["col_next_renewal"]: fmt_pct, w["col_remaining_years"]: lambda v: "—" if pd.isna(v) else f"{v:.1f}"}
    parts = [intro, Shown(shown, formats, nowrap=[w["col_tier"]]), fig]
    notes = [w["renewals_tier_note"]]
    separator = w["separator_list"]
    for reason in ("few", "no_churn", "no_renewal", "no_fit"):
        keys = [k for k in tiers if summary.loc[k, "basis_reason"] == reason]
        if keys:
            notes.append(w["renewals_fallback"].format(tiers=separator.join(_tier_label(ctx, k) for k in keys),
                                                       reason=w[f"renewals_reason_{reason}"].format(min_n=cfg.min_customers)))
    geometric = [k for k in [*tiers, "total"] if summary.loc[k, "model"] == "geometric" and summary.loc[k, "basis"] == "tier"]
    if geometric:
        names = [_tier_label(ctx, k) if k != "total" else w["total_row"] for k in geometric]
        notes.append(w["renewals_geometric"].format(tiers=separator.join(names)))
    return Stack([*parts, Sentences(notes, "note")])


KPI_COLUMNS = ["customers", "revenue_share", "retention_rate", "repurchase_rate", "nps", "satisfaction", "cross_sell_rate"]
HIGHER_IS_BETTER = {"retention_rate": True, "repurchase_rate": True, "nps": True, "satisfaction": True,
                    "cross_sell_rate": True, "interactions_per_customer": True, "complaint_rate": False}


# decimals each KPI is shown with (rates as percentages): ties are judged on what the reader sees
KPI_SHOWN_DIGITS = {"nps": 0, "satisfaction": 1, "cross_sell_rate": 2, "interactions_per_customer": 1,
                    "retention_rate": 3, "repurchase_rate": 3, "complaint_rate": 3}


def _kpi_columns(ctx: ReportContext) -> tuple[list[str], list[str]]:
    """The KPI columns the data support, and sentences for those left out."""
    w = ctx.words
    columns, notes = list(KPI_COLUMNS), []
    if not ctx.has("surveys"):
        columns = [c for c in columns if c not in ("nps", "satisfaction")]
        notes.append(ctx.left_out(w["what_surveys"], "surveys"))
    if not ctx.has("product_line"):
        columns.remove("cross_sell_rate")
        notes.append(ctx.left_out(w["what_cross_sell"], "product_line"))
    return columns, notes


def _kpi_table(ctx: ReportContext, table: pd.DataFrame, kind: str, min_customers: int) -> Shown:
    from segkit.insights.kpi import kpi_definitions

    names = kpi_definitions(ctx.lang)["label"]
    table = table[[c for c in _kpi_columns(ctx)[0] if c in table.columns]]
    rows = [r for r in table.index if r != "total"]
    if kind == "tier":
        rows = _tier_order(rows, ctx.user_config)
    else:
        rows = table.loc[rows].sort_values("customers", ascending=False).index.tolist()
    table = table.loc[rows + (["total"] if "total" in table.index else [])]
    group_label = {"zh": "合计", "en": "Total"}[ctx.lang]
    regions = default_section("report")["regions_en"] if ctx.lang == "en" else {}

    def row_name(k) -> str:
        if k == "total":
            return group_label
        if kind == "tier":
            return _tier_label(ctx, k)
        if kind == "region":  # free text in the data; English names for the known ones
            return regions.get(k, str(k))
        return label(kind, k, ctx.lang, default=str(k))

    first = [row_name(k) for k in table.index]
    shown = table.reset_index(drop=True)
    shown.columns = [names.get(c, c) for c in shown.columns]
    shown.insert(0, {"tier": ctx.words["col_tier"], "region": ctx.words["col_region"]}.get(
        kind, "行业" if ctx.lang == "zh" else "Industry"), first)
    highlight = {}
    eligible = [i for i, k in enumerate(table.index) if k != "total" and table.loc[k, "customers"] >= min_customers]
    for col, higher in HIGHER_IS_BETTER.items():
        if col not in table.columns or len(eligible) < 2:
            continue
        for cls, rows_marked in zip(("best", "worst"), extreme_rows(table[col].iloc[eligible], higher, KPI_SHOWN_DIGITS.get(col, 3))):
            for key in rows_marked:
                highlight[(table.index.get_loc(key), names.get(col, col))] = cls
    pct = lambda v: fmt_pct(v)  # noqa: E731
    formats = {names.get(c, c): f for c, f in {
        "customers": fmt_int, "revenue_share": pct, "retention_rate": pct, "repurchase_rate": pct, "complaint_rate": pct,
        "nps": lambda v: "—" if pd.isna(v) else f"{v:+.0f}" if round(v) else "0", "satisfaction": lambda v: "—" if pd.isna(v) else f"{v:.1f}",
        "cross_sell_rate": lambda v: f"{v:.2f}", "interactions_per_customer": lambda v: f"{v:.1f}"}.items()}
    return Shown(shown, formats, highlight=highlight)


def kpi_view(ctx: ReportContext, min_customers: int = 20) -> Stack:
    """KPIs by tier, industry and region, best and worst cells highlighted (among groups of at
    least ``min_customers``)."""
    w = ctx.words
    parts = [Sentences([w["kpi_intro"].format(min_n=min_customers)]),
             Heading(w["kpis_by_tier"]), _kpi_table(ctx, ctx.kpi_by_tier, "tier", min_customers)]
    notes = _kpi_columns(ctx)[1]
    if ctx.has("industry"):
        parts += [Heading(w["kpis_by_industry"]), _kpi_table(ctx, ctx.kpi_by_industry, "industry", min_customers)]
    else:
        notes.append(ctx.left_out(w["kpis_by_industry_what"], "industry"))
    if ctx.has("region"):
        parts += [Heading(w["kpis_by_region"]), _kpi_table(ctx, region_kpis(ctx), "region", min_customers)]
    else:
        notes.append(ctx.left_out(w["kpis_by_region"], "region"))
    return Stack([*parts, Sentences(notes, "left-out")])


def review_view(ctx: ReportContext, top: int = 15) -> Stack:
    """Borderline customers (needs_review) with the reason, and stale manual overrides."""
    w = ctx.words
    tiers, snap = ctx.tiers, ctx.snapshot
    review = tiers.loc[tiers["needs_review"].astype(bool)].join(snap[["name", "owner", "revenue_12m"]])
    review = review.sort_values("revenue_12m", ascending=False)
    review = review.join(explain_tiers(tiers.loc[review.index], snap, ctx.lang, ctx.user_config))
    shown = pd.DataFrame({
        w["col_customer"]: [customer_text(i, n) for i, n in zip(review.index, review["name"])],
        w["col_tier"]: review["tier_label"].to_numpy(),
        w["col_revenue"]: review["revenue_12m"].to_numpy(),
        w["col_reason"]: review["review_reason"].to_numpy(),
        w["col_owner"]: review["owner"].to_numpy(),
    })
    if not ctx.has("owner"):  # no owners in the data: a column of blanks says nothing
        shown = shown.drop(columns=w["col_owner"])
    parts = [Sentences([w["review_intro"].format(n=fmt_int(len(review)))])]
    if len(review):
        parts.append(Shown(*money_table(ctx, shown, {}, [w["col_revenue"]]), max_rows=top, more=w["more_rows"],
                             nowrap=[w["col_tier"], w["col_owner"]]))
    stale = tiers.loc[tiers["override_stale"].astype(bool)] if "override_stale" in tiers else tiers.iloc[:0]
    parts.append(Sentences([w["stale_overrides"].format(n=fmt_int(len(stale))) if len(stale) else w["no_stale"]]))
    return Stack(parts)


def cadence_view(ctx: ReportContext, top: int = 15) -> Stack | Sentences:
    """Records overdue for refresh: summary per owner and the longest-overdue important ones."""
    from segkit.insights.cadence import cadence_reasons, cadence_summary

    w = ctx.words
    if not ctx.has("record_updated"):
        return Sentences([ctx.left_out(w["cadence"], "record_updated")], "left-out")
    report = ctx.cadence
    overdue = report.loc[report["overdue"].astype(bool)]
    parts = [Sentences([w["cadence_intro"].format(n=fmt_int(len(overdue)), share=fmt_pct(len(overdue) / max(len(report), 1)))])]
    summary = cadence_summary(report).reset_index()
    summary = summary[["owner", "customers", "overdue", "overdue_share", "median_days_overdue"]]
    names = {"zh": ["客户负责人", "客户数", "逾期", "逾期占比", "逾期天数中位数"], "en": ["Owner", "Customers", "Overdue", "Share overdue", "Median days overdue"]}[ctx.lang]
    summary.columns = names
    summary.iloc[-1, 0] = {"zh": "合计", "en": "Total"}[ctx.lang] if summary.iloc[-1, 0] == "total" else summary.iloc[-1, 0]
    if ctx.has("owner"):
        parts += [Heading(w["cadence_by_owner"]),
                  Shown(summary, {names[3]: fmt_pct, names[4]: lambda v: "—" if pd.isna(v) else f"{v:,.0f}"})]
    else:
        parts.append(Sentences([ctx.left_out(w["what_owner"], "owner")], "left-out"))
    important = overdue.loc[overdue["tier"].isin(["core", "potential"])].sort_values("days_overdue", ascending=False).head(top)
    names_col = ctx.snapshot["name"]
    shown = pd.DataFrame({
        w["col_customer"]: [customer_text(i, names_col.get(i)) for i in important.index],
        w["col_tier"]: [_tier_label(ctx, k) for k in important["tier"]],
        w["col_owner"]: important["owner"].to_numpy(),
        w["col_reason"]: cadence_reasons(important, ctx.lang, ctx.user_config).to_numpy(),
    })
    if not ctx.has("owner"):
        shown = shown.drop(columns=w["col_owner"])
    return Stack([*parts, Heading(w["cadence_top"]), Shown(shown, nowrap=[w["col_tier"], w["col_owner"]])])

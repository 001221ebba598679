"""Sections of the quarterly segmentation report (客户分层季度报告).

The notebook ``quarterly_segmentation.ipynb`` reads as the report: a heading and a few
sentences in both languages per section (its markdown), then one call of this module. Each
call takes a :class:`~segkit.reporting.context.ReportContext` and returns a result with a rich
display (:mod:`segkit.reporting.display`: a table, a figure, a sentence, or a
:class:`~segkit.reporting.display.Stack` of them); the section's heading is the notebook's, not
the function's. Every number is computed here, in :mod:`segkit.insights` or on the run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segkit.config import default_section
from segkit.plots import TIER_COLORS, freeze_fonts, new_figure, style
from segkit.labels import dataset_name, label
from segkit.reporting.blocks import fmt_int, fmt_pct, gross_change
from segkit.reporting.context import ReportContext
from segkit.reporting.display import ChangeTiles, Findings, Focus, Heading, Sentences, Shown, Stack, TitleBlock
from segkit.segment.tiers import explain_tiers
from segkit.reporting.quarterly_appendix import _table_name, _tier_rules, appendix, footer, rule_text  # noqa: F401
from segkit.reporting.quarterly_helpers import (_notes, _quarter_text, _scaled, _scope_text, _tier_label,  # noqa: F401
                                                _tier_order, customer_text, money_table)
from segkit.reporting.quarterly_operations import (HIGHER_IS_BETTER, KPI_COLUMNS, KPI_SHOWN_DIGITS,  # noqa: F401
                                                   cadence_view, kpi_view, renewals_view, review_view)
from segkit.reporting.quarterly_actions import (findings, holdout_view, lists_view, quarter_trends,  # noqa: F401
                                                strategy_view, trends_view, write_lists)

__all__ = [
    "title_block", "executive_summary", "tier_overview", "rfm_view", "migration_view", "value_view",
    "renewals_view", "kpi_view", "review_view", "strategy_view", "cadence_view", "appendix", "footer",
    "lists_view", "trends_view", "write_lists",
]

# --- sections ---------------------------------------------------------------------------------------

def title_block(ctx: ReportContext) -> TitleBlock:
    """Report title, quarter, as-of date, scope and generation date."""
    w = ctx.words
    meta = [
        f"{w['data_set']}: {dataset_name(ctx.dataset_full.name, ctx.lang)}",
        f"{w['as_of']}: {ctx.as_of.date()}",
        f"{w['scope']}: {_scope_text(ctx)}",
        f"{w['generated']}: {ctx.generated.isoformat()}",
    ]
    return TitleBlock(f"{w['quarterly_title']} · {_quarter_text(ctx, ctx.quarter)}", meta)


#: The summary's trend tiles: column of :func:`~segkit.insights.trends.quarterly_trends`, its
#: word in ``report.yaml``, and how the change against last quarter reads. Its customers are
#: those whose cooperation had started or who had ordered by the date (records not yet customers,
#: which the tier tables count, are not).
SUMMARY_TRENDS = (("customers", "tile_customers_signed", "count"), ("revenue_12m", "trend_revenue_12m", "ratio"),
                  ("core", "tile_core", "count"), ("retention_rate", "trend_retention_rate", "points"))


def summary_trends(ctx: ReportContext) -> pd.DataFrame:
    """This quarter and the previous one for the summary's tiles (:data:`SUMMARY_TRENDS`), from
    :func:`~segkit.insights.trends.quarterly_trends` on the run: rows ``current`` and
    ``previous`` (NaN where the data do not cover the previous quarter)."""
    trends = quarter_trends(ctx)
    columns = [c for c, _, _ in SUMMARY_TRENDS]
    rows = trends.reindex(columns=columns).iloc[-2:] if len(trends) else pd.DataFrame(columns=columns)
    out = pd.DataFrame(np.nan, index=["previous", "current"], columns=columns)
    out.iloc[2 - len(rows):] = rows.to_numpy(dtype=float)
    return out


def _change_text(ctx: ReportContext, now: float, before: float, how: str) -> str | None:
    """The change against last quarter in words; None without a comparison (no "+0", no "—")."""
    if pd.isna(now) or pd.isna(before):
        return None
    if how == "count":
        text = fmt_int(now - before, signed=True) if now != before else "0"
    elif how == "ratio":
        text = fmt_pct(now / before - 1, signed=True) if before else None
    else:
        text = ctx.words["pp"].format(change=f"{(now - before) * 100:+.1f}")
    return ctx.words["vs_previous"].format(change=text) if text else None


def summary_tiles(ctx: ReportContext) -> ChangeTiles:
    """Customers, 12-month revenue, core customers and retention this quarter, each with its
    change against last quarter (:func:`summary_trends`), and the customers at high churn risk
    (the gross change where some came and others left)."""
    w, numbers = ctx.words, summary_trends(ctx)
    core = next(f for f in findings(ctx)[0] if f.key == "core")
    tiles = []
    for column, key, how in SUMMARY_TRENDS:
        now, before = numbers.loc["current", column], numbers.loc["previous", column]
        if column == "core" and "change" in core.values and not pd.isna(before):
            # last quarter on this quarter's lines, as the migration and the core sentence count it (with
            # lines derived from the data, the trend row's own lines would give another number)
            now, before = core.value, core.value - core.values["change"]
        shown = (ctx.money(now) if column == "revenue_12m" else fmt_pct(now) if how == "points" else fmt_int(now))
        tiles.append((w[key], shown, _change_text(ctx, now, before, how)))
    if ctx.has("churn_model"):
        risk_change, net = None, None
        if ctx.has("previous") and ctx.has("previous_churn_model"):
            risk_change, net = gross_change(ctx.high_churn_risk(), ctx.high_churn_risk(previous=True))
            risk_change = w["vs_previous"].format(change=risk_change) if risk_change not in (None, "—") else None
        tiles.append((w["tile_high_risk"], fmt_int(int(ctx.high_churn_risk().sum())), risk_change, False, net))
    return ChangeTiles(tiles)


def _segment_finding(ctx: ReportContext, min_customers: int = 20) -> str | None:
    """The region x industry group whose repurchase rate is furthest from the overall rate.

    Groups by the dimensions the data have (region, industry or both); customers with no value
    in a dimension are in no group (a finding is never about "unknown"). Without region and
    industry the finding is left out, saying so.
    """
    dims = [d for d in ("region", "industry") if ctx.has(d)]
    if not dims:
        return ctx.left_out(ctx.words["what_segment_finding"], "region", "industry")
    snap = ctx.snapshot
    buyers = snap.loc[snap["orders_12m"] > 0]
    if buyers.empty:
        return None
    repurchase = buyers["orders_12m"] >= 2
    overall = repurchase.mean()
    names = {}
    if "region" in dims:
        region = buyers["region"].astype(object)
        names["region"] = region.replace(default_section("report")["regions_en"]) if ctx.lang == "en" else region
    if "industry" in dims:
        industries = {k: label("industry", k, ctx.lang, default=str(k)) for k in buyers["industry"].dropna().unique()}
        names["industry"] = buyers["industry"].map(industries)
    frame = pd.DataFrame({"rate": repurchase, **names}).dropna(subset=dims)
    groups = frame.groupby(dims)["rate"].agg(["mean", "size"])
    groups = groups.loc[groups["size"] >= min_customers]
    if groups.empty:
        return None
    gap = groups["mean"] - overall
    key = gap.abs().idxmax()
    row = groups.loc[key]
    parts = dict(zip(dims, key if isinstance(key, tuple) else (key,)))
    w = ctx.words
    if len(parts) == 2:
        segment = f"{parts['region']}{parts['industry']}" if ctx.lang == "zh" else f"{parts['industry']} in {parts['region']}"
    else:
        segment = next(iter(parts.values()))
    return w["finding_segment"].format(
        segment=segment, rate=fmt_pct(row["mean"], 0), comparison=w["higher"] if gap[key] >= 0 else w["lower"],
        gap=f"{abs(gap[key]) * 100:.0f}", n=int(row["size"]),
    )


def executive_summary(ctx: ReportContext) -> Stack:
    """Trend tiles (this quarter against the previous one), the findings, one line of focus.

    Every count in a finding or in the focus links to the list that holds its customers
    (:func:`~segkit.reporting.quarterly_actions.lists_view`). What the data cannot support is
    left out with one sentence each: no change vs last quarter (and no migration finding) when
    the orders do not cover the previous quarter, no churn tile when the data are too short
    for a churn model, no region / industry finding without those columns.
    """
    w = ctx.words
    has_previous, has_churn = ctx.has("previous"), ctx.has("churn_model")
    notes = []
    if not has_previous:
        notes.append(ctx.left_out(w["what_vs_previous"], "previous"))
    if not has_churn:
        notes.append(ctx.churn_left_out(w["tile_high_risk"]))
    elif has_previous and not ctx.has("previous_churn_model"):
        notes.append(ctx.churn_left_out(f"{w['tile_high_risk']} · {w['what_vs_previous']}", "previous_churn_model"))
    # every count below is a Finding: its customers are in the list the sentence links to / names
    found, _ = findings(ctx)
    by = {f.key: f for f in found}
    core = by["core"]
    fields = dict(core=fmt_int(core.value), core_share=fmt_pct(core.values["share"]), records=fmt_int(len(ctx.tiers)),
                  core_revenue_share=fmt_pct(core.values["revenue_share"]))
    if has_previous:
        delta = core.values["change"]
        direction = w["more"] if delta > 0 else w["fewer"] if delta < 0 else w["unchanged_customers"]
        items = [(w["finding_core"].format(**fields, direction=direction, delta=fmt_int(abs(delta))) if delta
                  else w["finding_core_same"].format(**fields), ["core"])]
        up, from_potential = by["up_to_core"].value, by["up_to_core"].values["from_potential"]
        origin = w["from_potential_all"] if up and from_potential == up else w["from_potential_some"].format(n=fmt_int(from_potential))
        moved = dict(up_to_core=fmt_int(up), from_potential=origin, core_down=fmt_int(by["core_down"].value))
        if has_churn:
            items.append((w["finding_migration"].format(**moved, core_down_risk=fmt_int(by["core_down_high_risk"].value)),
                          ["upgrades", "downgrades"]))
        else:
            items.append((w["finding_migration_no_risk"].format(**moved), ["upgrades", "downgrades"]))
    else:
        items = [(w["finding_core_now"].format(**fields), ["core"])]
    if has_churn:
        items.append((w["finding_high_risk"].format(n=fmt_int(by["high_risk"].value), core=fmt_int(by["core_high_risk"].value)),
                      ["high_risk"]))
        rfm = {k[4:]: f.value for k, f in by.items() if k.startswith("rfm_") and k != "rfm_model_overlap"}
        if "rfm_model_overlap" in by and rfm:
            segments = w["separator_list"].join(f"{label('rfm_segment', k, ctx.lang, default=k)} {fmt_int(v)}" for k, v in rfm.items())
            items.append((w["finding_rfm_risk"].format(segments=segments, overlap=fmt_int(by["rfm_model_overlap"].value),
                                                       model=fmt_int(by["rfm_model_overlap"].values["model_flagged"])), ["rfm_risk"]))
    segment = _segment_finding(ctx)
    if segment and (ctx.has("region") or ctx.has("industry")):
        items.append((segment, []))
    elif segment:
        notes.append(segment)
    # focus: from the strategy (core at risk -> 72 h visit) and the data; each count links to its list
    focus = []
    if has_churn and by["core_high_risk"].value:
        focus.append((w["focus_core_risk"].format(n=fmt_int(by["core_high_risk"].value)), "high_risk"))
    from segkit.segment.thresholds import tier_health_messages

    thresholds = ctx.thresholds
    near = by["near_core"]
    if near.value:
        focus.append((w["focus_near_core_named"].format(n=fmt_int(near.value),
                                                         line=thresholds.format("near_core_revenue", ctx.lang)), "near_core"))
    if "overdue_core" in by and by["overdue_core"].value:
        focus.append((w["focus_overdue"].format(n=fmt_int(by["overdue_core"].value)), "overdue_core"))
    # how the lines were set, and a warning when the tiers hardly separate anyone
    warnings = tier_health_messages(ctx.tier_health, ctx.lang, ctx.user_config, lambda k: _tier_label(ctx, k))
    return Stack([summary_tiles(ctx), Findings(items, ctx.lang), Focus(focus, ctx.lang), Sentences([thresholds.describe(ctx.lang)], "note"),
                  Sentences(warnings, "warning"), Sentences(notes, "left-out")], cls="keep")


def tier_table(ctx: ReportContext) -> pd.DataFrame:
    """Customers, revenue and activity per tier (the numbers behind the tier overview)."""
    tiers, snap = ctx.tiers, ctx.snapshot
    frame = snap[["revenue_12m", "interactions_6m"]].join(tiers["tier"])
    table = frame.groupby("tier").agg(customers=("revenue_12m", "size"), revenue=("revenue_12m", "sum"),
                                      avg_revenue=("revenue_12m", "mean"), avg_interactions=("interactions_6m", "mean"))
    table = table.reindex(_tier_order(table.index, ctx.user_config))
    table["customer_share"] = table["customers"] / table["customers"].sum()
    table["revenue_share"] = table["revenue"] / table["revenue"].sum()
    return table


def tier_overview(ctx: ReportContext) -> Stack:
    """Customers and revenue by tier: a chart and a table."""
    w = ctx.words
    table = tier_table(ctx)
    labels = [_tier_label(ctx, k) for k in table.index]
    with style(ctx.lang):
        fig = new_figure(7.2, 3.0)
        left, right = fig.subplots(1, 2)
        colors = [TIER_COLORS.get(k, "#888888") for k in table.index]
        left.bar(labels, table["customers"], color=colors)
        left.set_title(w["chart_customers"])
        scale, title = _scaled(ctx, w["chart_revenue"], table["revenue"])
        right.bar(labels, table["revenue"] / scale, color=colors)
        right.set_title(title)
        revenue = table["revenue"] / scale
        revenue_digits = 1 if revenue.abs().max() < 100 else 0  # 3.2亿元, not 3
        for ax, values, digits in ((left, table["customers"], 0), (right, revenue, revenue_digits)):
            for x, v in enumerate(values):
                ax.annotate(f"{v:,.{digits}f}", (x, v), ha="center", va="bottom", fontsize=7)
            ax.tick_params(axis="x", labelsize=8)
        freeze_fonts(fig)
    shown = pd.DataFrame({
        w["col_tier"]: labels,
        w["col_customers"]: table["customers"].to_numpy(),
        w["col_customer_share"]: table["customer_share"].to_numpy(),
        w["col_revenue"]: table["revenue"].to_numpy(),
        w["col_revenue_share"]: table["revenue_share"].to_numpy(),
        w["col_avg_revenue"]: table["avg_revenue"].to_numpy(),
        w["col_avg_interactions"]: table["avg_interactions"].to_numpy(),
    })
    formats = {w["col_customer_share"]: fmt_pct, w["col_revenue_share"]: fmt_pct,
               w["col_avg_interactions"]: lambda v: f"{v:.1f}", w["col_customers"]: fmt_int}
    shown, formats = money_table(ctx, shown, formats, [w["col_revenue"], w["col_avg_revenue"]])
    if not ctx.has("interactions"):
        shown = shown.drop(columns=w["col_avg_interactions"])
        return Stack([fig, Shown(shown, formats), Sentences([ctx.left_out(w["what_interactions"], "interactions")], "left-out")])
    return Stack([fig, Shown(shown, formats)])


def rfm_view(ctx: ReportContext) -> Stack:
    """R x F heatmap (colour = customers, cells = average spend) and the named RFM segments."""
    from segkit.plots.segment import plot_rfm_heatmap

    w = ctx.words
    fig = plot_rfm_heatmap(ctx.rfm, lang=ctx.lang, monetary=ctx.snapshot["revenue_total"], currency=ctx.currency)
    named = ctx.rfm_named.join(ctx.snapshot[["recency_days", "orders_12m", "revenue_total"]])
    table = named.groupby("rfm_segment").agg(customers=("recency_days", "size"), recency=("recency_days", "mean"),
                                              orders=("orders_12m", "mean"), monetary=("revenue_total", "mean"))
    table = table.sort_values("monetary", ascending=False)
    shown = pd.DataFrame({
        w["col_segment"]: [label("rfm_segment", k, ctx.lang, default=str(k)) for k in table.index],
        w["col_customers"]: table["customers"].to_numpy(),
        w["col_avg_recency"]: table["recency"].to_numpy(),
        w["col_avg_orders"]: table["orders"].to_numpy(),
        w["col_avg_monetary"]: table["monetary"].to_numpy(),
    })
    formats = {w["col_avg_recency"]: lambda v: "—" if pd.isna(v) else f"{v:,.0f}", w["col_avg_orders"]: lambda v: f"{v:.1f}",
               w["col_customers"]: fmt_int}
    shown, formats = money_table(ctx, shown, formats, [w["col_avg_monetary"]])
    return Stack([fig, Shown(shown, formats)])


PROSPECT, TOTAL = "prospect", "total"


def migration_matrix(ctx: ReportContext) -> pd.DataFrame:
    """The migration counts with a row and a column for prospects and totals, so that it
    reconciles with the tier tables: the ``total`` row of each tier column is this quarter's
    tier count, the ``total`` column of each tier row last quarter's.

    Rows: last quarter's tiers, ``new`` (not customers then), ``prospect`` (records listed but
    not yet customers now, by their tier now), ``total``. Columns: this quarter's tiers, ``lost``,
    ``prospect`` (listed but not yet customers last quarter, by their tier then), ``total``. The
    prospect x prospect cell is empty (NaN): those records are in both margins; so is the
    total x total cell.
    """
    from segkit.insights.migration import LOST, NEW

    mig = ctx.migration
    order, margins = list(mig.order), mig.margins
    matrix = mig.counts.reindex(index=[*order, NEW, PROSPECT], columns=[*order, LOST, PROSPECT], fill_value=0).astype(float)
    matrix.loc[PROSPECT, order] = margins["current_prospects"].reindex(order).to_numpy()
    matrix.loc[order, PROSPECT] = margins["previous_prospects"].reindex(order).to_numpy()
    matrix.loc[PROSPECT, [LOST, PROSPECT]] = [0.0, float("nan")]
    matrix[TOTAL] = matrix.sum(axis=1)
    matrix.loc[TOTAL] = matrix.sum(axis=0)
    matrix.loc[TOTAL, TOTAL] = float("nan")  # every record twice over: says nothing
    return matrix


def _matrix_labels(ctx: ReportContext, frame: pd.DataFrame) -> pd.DataFrame:
    from segkit.insights.migration import LOST, NEW

    w = ctx.words
    extra = {NEW: w["matrix_new"], LOST: w["matrix_lost"], TOTAL: w["matrix_total"]}
    # the prospects row counts this quarter's prospects, the column last quarter's: say which
    row = lambda k: w["matrix_prospect_now"] if k == PROSPECT else extra.get(k) or _tier_label(ctx, k)  # noqa: E731
    col = lambda k: w["matrix_prospect_then"] if k == PROSPECT else extra.get(k) or _tier_label(ctx, k)  # noqa: E731
    out = frame.rename(index=row, columns=col)
    out.index.name = ctx.words["col_from"]
    return out


def migration_view(ctx: ReportContext, top: int = 8) -> Stack | Sentences:
    """Transition matrix (customers and revenue) and the main upgrades and downgrades."""
    w = ctx.words
    if not ctx.has("previous"):
        return Sentences([ctx.left_out(w["migration"], "previous")], "left-out")
    mig = ctx.migration
    totals = mig.totals
    parts = [Sentences([w["migration_intro"].format(
        prev=ctx.previous_as_of.date(), cur=ctx.as_of.date(), up=fmt_int(totals["up"]), down=fmt_int(totals["down"]),
        new=fmt_int(totals["new"]), lost=fmt_int(totals["lost"]))])]
    counts = _matrix_labels(ctx, migration_matrix(ctx))
    count = lambda v: "" if pd.isna(v) else fmt_int(v)  # noqa: E731
    parts += [Heading(w["migration_counts"]), Shown(counts, {c: count for c in counts.columns}, index=True),
              Sentences([w["migration_prospects_note"]], "note")]
    if mig.revenue is not None:
        from segkit.labels import money_column

        # one unit for the whole matrix (its cells are compared with each other), in the heading
        scale, unit, decimals = money_column(mig.revenue.to_numpy().ravel(), ctx.lang, ctx.currency)
        revenue = _matrix_labels(ctx, mig.revenue / scale)
        parts += [Heading(w["migration_revenue"].replace("{unit}", unit)),
                  Shown(revenue, {c: (lambda v: f"{v:,.{decimals}f}") for c in revenue.columns}, index=True)]
    names = ctx.snapshot["name"]
    for title, moves in ((w["top_upgrades"], mig.upgrades), (w["top_downgrades"], mig.downgrades)):
        parts.append(Heading(title))
        if moves.empty:
            parts.append(Sentences([w["no_moves"]]))
            continue
        moves = moves.copy()
        change = moves["current_revenue"].fillna(0) - moves["previous_revenue"].fillna(0) if "current_revenue" in moves else pd.Series(0.0, index=moves.index)
        moves = moves.assign(_change=change.abs()).sort_values("_change", ascending=False).head(top)
        basis_prev = explain_tiers(ctx.previous_tiers.rename(index=str).loc[moves.index],
                                   ctx.previous_snapshot_all.rename(index=str), ctx.lang, ctx.user_config)["basis"]
        basis_cur = explain_tiers(ctx.tiers.rename(index=str).loc[moves.index], ctx.snapshot.rename(index=str), ctx.lang,
                                  ctx.user_config)["basis"]
        shown = pd.DataFrame({
            w["col_customer"]: [customer_text(i, names.get(i)) for i in moves.index],
            w["col_from"]: [_tier_label(ctx, k) for k in moves["previous_tier"]],
            w["col_to"]: [_tier_label(ctx, k) for k in moves["current_tier"]],
            w["col_revenue_change"]: change.reindex(moves.index).to_numpy(),
            w["col_basis_prev"]: basis_prev.to_numpy(),
            w["col_basis_cur"]: basis_cur.to_numpy(),
        })
        shown, formats = money_table(ctx, shown, {}, [w["col_revenue_change"]], signed=[w["col_revenue_change"]])
        parts.append(Shown(shown, formats, nowrap=[w["col_from"], w["col_to"]]))
    return Stack(parts)


def value_view(ctx: ReportContext) -> Stack | Sentences:
    """Historical vs predicted CLV by tier, CLV tiers cross-tabbed with relationship tiers, and
    the holdout check (:func:`~segkit.reporting.quarterly_actions.holdout_view`)."""
    w = ctx.words
    if ctx.clv_problem is not None:
        return Sentences([w["value_not_fitted"].format(reason=ctx.clv_problem)])
    values = ctx.in_scope(ctx.clv_all).join(ctx.tiers["tier"])
    by_tier = values.groupby("tier").agg(customers=("clv", "size"), hist=("historical_clv", "mean"), pred=("clv", "mean"), total=("clv", "sum"))
    by_tier = by_tier.reindex(_tier_order(by_tier.index, ctx.user_config))
    labels = [_tier_label(ctx, k) for k in by_tier.index]
    scale, clv_title = _scaled(ctx, w["clv_chart_title"], by_tier[["hist", "pred"]].to_numpy())
    with style(ctx.lang):
        fig = new_figure(6.5, 2.9)
        ax = fig.subplots()
        x = np.arange(len(labels))
        ax.bar(x - 0.2, by_tier["hist"] / scale, width=0.4, label=w["historical"], color="#85c1e9")
        ax.bar(x + 0.2, by_tier["pred"] / scale, width=0.4, label=w["predicted"], color="#1f4e79")
        ax.set_xticks(x, labels)
        ax.set_title(clv_title)
        ax.legend()
        freeze_fonts(fig)
    shown = pd.DataFrame({
        w["col_tier"]: labels, w["col_customers"]: by_tier["customers"].to_numpy(),
        w["col_hist_clv"]: by_tier["hist"].to_numpy(), w["col_pred_clv"]: by_tier["pred"].to_numpy(),
        w["col_total_pred_clv"]: by_tier["total"].to_numpy(),
    })
    clv_labels = {k: _clv_label(ctx, k) for k in values["clv_tier"].dropna().unique()}
    cross = pd.crosstab(values["clv_tier"].map(clv_labels),
                        values["tier"]).reindex(columns=_tier_order(values["tier"].unique(), ctx.user_config), fill_value=0)
    cross.columns = [_tier_label(ctx, k) for k in cross.columns]
    cross.index.name = ""
    attrs = ctx.clv_all.attrs
    from segkit.models.clv import value_basis

    # labelled by what it measures: revenue unless a margin is configured (never "margin" at 100%)
    basis = attrs.get("basis") or value_basis(attrs["margin"])
    intro = w[f"value_intro_{basis}"].format(margin=fmt_pct(attrs["margin"], 0), discount=fmt_pct(attrs["annual_discount_rate"], 0))
    table = Shown(*money_table(ctx, shown, {w["col_customers"]: fmt_int},
                               [w["col_hist_clv"], w["col_pred_clv"], w["col_total_pred_clv"]]))
    return Stack([Sentences([intro, _clv_total_text(ctx, values["clv"].sum())]), fig, table,
                  Heading(w["clv_tier_crosstab"]), Shown(cross, {c: fmt_int for c in cross.columns}, index=True),
                  holdout_view(ctx)])


def _clv_total_text(ctx: ReportContext, total: float) -> str:
    """"12-month predicted CLV total: CNY 525.7M (90% interval CNY 515.9M–CNY 546.5M; ...)"."""
    from segkit.models.clv import parse_horizon

    w = ctx.words
    result = ctx.clv_total_interval
    span = parse_horizon(ctx.clv_all.attrs["horizon"])
    n = int(span.value) if float(span.value).is_integer() else span.value
    horizon = w[f"clv_horizon_{span.unit}"].format(n=n)
    if isinstance(result, str):
        return w["clv_total_no_interval"].format(horizon=horizon, total=ctx.money(total), reason=result)
    return w["clv_total_interval"].format(
        horizon=horizon, total=ctx.money(result.total), level=fmt_pct(result.level, 0),
        lower=ctx.money(result.total_lower), upper=ctx.money(result.total_upper))


def _clv_label(ctx: ReportContext, key: str) -> str:
    from segkit.models.clv import load_config

    labels = load_config(ctx.user_config).labels
    entry = labels.get(key)
    return getattr(entry, ctx.lang, None) or (entry.get(ctx.lang) if isinstance(entry, dict) else None) or str(key)



"""Sections of the churn-prediction report (客户流失预警报告).

The notebook ``churn_prediction.ipynb`` reads as the report: a heading and prose in both
languages per section, then one call of this module. Each call returns a result with a rich
display (:mod:`segkit.reporting.display`: numbers and keys, words added when shown): the
summary (customers scored, churners expected, revenue at risk, the quarter forecast, model
quality in a sentence), the model card, backtest quality against the baselines, the action
list ordered by value at stake, RFM risk reconciled with model risk, risk by tier and
industry, the drivers, the glossary and the method. Every number comes from the run
(:class:`~segkit.reporting.run.QuarterRun`) and :mod:`segkit.insights`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from segkit.labels import dataset_name, label
from segkit.plots import PALETTE, freeze_fonts, new_figure, style
from segkit.reporting.blocks import Block, fmt_int, fmt_pct, kpi_tiles, table_html
from segkit.reporting.context import ReportContext
from segkit.reporting.display import Facts, Glossary, Stack, Table, Text, Tiles, TitleBlock
from segkit.reporting.quarterly import _notes, customer_text, _quarter_text, _scope_text, _tier_label, _tier_order, footer, money_table
from segkit.reporting.quarterly_helpers import strategy_words
from segkit.segment.tiers import tier_labels

__all__ = ["title_block", "summary", "model_card_view", "backtest_view", "action_view", "reconciliation_view", "high_risk_view", "risk_by_segment", "drivers_view", "glossary_view", "method", "footer"]


def title_block(ctx: ReportContext) -> TitleBlock:
    """Report title, quarter, as-of date, scope and generation date."""
    w = ctx.words
    meta = [f"{w['data_set']}: {dataset_name(ctx.dataset_full.name, ctx.lang)}", f"{w['as_of']}: {ctx.as_of.date()}",
            f"{w['scope']}: {_scope_text(ctx)}", f"{w['generated']}: {ctx.generated.isoformat()}"]
    return TitleBlock(f"{w['churn_title']} · {_quarter_text(ctx, ctx.quarter)}", meta)


def _metrics(ctx: ReportContext) -> pd.DataFrame:
    """Backtest metrics of the methods the data support: the handbook rule needs interactions
    (without them it would read "no interaction" for everyone); each method named in the
    report's language (``method_label``)."""
    from segkit.insights.churn import method_labels

    metrics = ctx.backtest.metrics
    metrics = metrics if ctx.has("interactions") else metrics.drop(index="rules")
    return metrics.assign(method_label=method_labels(metrics.index, ctx.lang).to_numpy())


_MODELS = ("model", "model_btyd")


def _auc_sentence(ctx: ReportContext) -> str:
    """The deployed model (with or without the BTYD features, as configured) against the baselines."""
    w, m = ctx.words, _metrics(ctx)
    deployed = ctx.backtest.deployed
    auc, bg = m.loc[deployed, "roc_auc"], m.loc["bgnbd", "roc_auc"]
    rule = m.loc["rules", "roc_auc"] if "rules" in m.index else None
    capture = fmt_pct(m.loc[deployed, "capture_top"], 0)
    if rule is None:
        template = w["churn_beats_bgnbd"] if auc > bg else w["churn_not_beats_bgnbd"]
        return template.format(auc=f"{auc:.3f}", bg=f"{bg:.3f}", capture=capture)
    template = w["churn_beats"] if auc > max(bg, rule) else w["churn_not_beats"]
    return template.format(auc=f"{auc:.3f}", bg=f"{bg:.3f}", rule=f"{rule:.3f}", capture=capture)


def _btyd_summary(ctx: ReportContext) -> Block:
    """The summary when the data are too short for a churn model: BG/NBD's forecast instead."""
    from segkit.insights.churn import load_churn_config

    w = ctx.words
    if ctx.clv_problem is not None:  # neither a churn model nor BG/NBD: say so
        return Block(w["churn_summary"]).text(w["btyd_not_fitted"].format(reason=ctx.clv_problem))
    forecast = ctx.in_scope(ctx.btyd_forecast_all)
    cutoff = load_churn_config(ctx.user_config).risk_levels.high
    likely = forecast["p_no_purchase"] >= cutoff
    tiles = [(w["tile_scored"], fmt_int(len(forecast)), None),
             (w["col_p_no_purchase"] + f" ≥ {cutoff:.0%}", fmt_int(likely.sum()), fmt_pct(likely.mean()) if len(forecast) else None)]
    block = Block(w["churn_summary"], keep_together=True).add(kpi_tiles(tiles))
    block.add(_notes([ctx.churn_left_out(w["tile_auc"])]))
    return block.text(w["btyd_intro"].format(date=ctx.as_of.date()))


def summary(ctx: ReportContext):
    """Customers scored, churners expected next quarter, revenue at risk and the quarter
    forecast, then the model's quality against the baselines in one sentence.

    Data too short for a churn model: BG/NBD's forecast of next quarter's purchases instead,
    with one sentence saying why. Too short for a backtest: no quality sentence, one note.
    """
    w = ctx.words
    if not ctx.has("churn_model"):
        return _btyd_summary(ctx)
    scores = ctx.churn_scores
    p = scores["churn_probability"].astype(float)
    at_risk = float((p * scores["revenue_12m"].astype(float)).sum())
    if not ctx.has("backtest"):
        tiles = Tiles([("tile_scored", len(scores), "int"), ("churn_tile_expected", p.sum(), "int"),
                       ("churn_tile_at_risk", at_risk, "money")])
        return Stack([tiles, Block("").add(_notes([ctx.churn_left_out(w["backtest"], "backtest")]))])
    card = ctx.churn_card
    m = _metrics(ctx)
    baselines = m.drop(index=[k for k in _MODELS if k in m.index])["roc_auc"]
    best = baselines.idxmax()
    label_of = m["method_label"]
    tiles = Tiles([("tile_scored", card.n_scored, "int"), ("churn_tile_expected", card.expected_churners, "int"),
                   ("churn_tile_at_risk", at_risk, "money"), ("churn_tile_forecast", card.forecast_quarter, "quarter")])
    words = Text(["churn_summary_text", "churn_quality_text"], {
        "as_of": (ctx.as_of, "date"), "n_scored": (card.n_scored, "int"), "expected": (card.expected_churners, "int"),
        "forecast": (card.forecast_quarter, "quarter"), "at_risk": (at_risk, "money"), "tested": (card.tested_quarter, "quarter"),
        "auc": (card.roc_auc, "float3"), "level": (card.interval_level, "pct0"), "low": (card.roc_auc_low, "float3"),
        "high": (card.roc_auc_high, "float3"), "baseline": str(label_of[best]), "baseline_auc": (baselines[best], "float3"),
        "capture": (m.loc[card.method, "capture_top"], "pct"),
    })
    intro = w["churn_intro" if "rules" in m.index else "churn_intro_bgnbd"].format(test_as_of=ctx.backtest.test_as_of.date())
    parts = [tiles, words, Block("").text(intro)]
    if not ctx.has("interactions"):
        parts.append(Block("").add(_notes([ctx.left_out(w["what_rules_baseline"], "interactions")])))
    return Stack(parts)


#: The card's rows, in reading order, and how each value reads.
CARD_ROWS = (("forecast_quarter", "quarter"), ("tested_quarter", "quarter"), ("base_rate", "pct"), ("n_test", "int"),
             ("n_train", "int"), ("roc_auc", "float3"), ("roc_auc_low", "float3"), ("roc_auc_high", "float3"),
             ("pr_auc", "float3"), ("threshold", "pct"), ("precision", "pct"), ("recall", "pct"),
             ("n_scored", "int"), ("flagged", "int"), ("expected_churners", "int"))


def model_card_view(ctx: ReportContext):
    """The model card (:attr:`~segkit.reporting.run.QuarterRun.churn_card`): base rate, test
    size, ROC AUC with its bootstrap interval, PR AUC, the threshold and how it was chosen,
    precision and recall there, customers flagged against churners expected; when most
    customers churn, how many a capacity would flag."""
    if not ctx.has("backtest"):
        return Block("").add(_notes([ctx.churn_left_out(ctx.words["backtest"], "backtest")]))
    card = ctx.churn_card
    facts = Facts([(f"churn_card_{key}", getattr(card, key), kind) for key, kind in CARD_ROWS])
    how = ctx.words[f"churn_how_{card.how_chosen}"]
    values = {
        "threshold": (card.threshold, "pct"), "how": how, "flagged": (card.flagged, "int"),
        "expected": (card.expected_churners, "int"), "tested": (card.tested_quarter, "quarter"),
        "precision": (card.precision, "pct"), "recall": (card.recall, "pct"), "base_rate": (card.base_rate, "pct"),
    }
    keys = ["churn_card_text"]
    suggestion = card.capacity_suggestion
    if suggestion is not None:
        keys.append("churn_card_capacity")
        values.update({"n_scored": (card.n_scored, "int"), "customers": (suggestion["customers"], "int"), "capacity_threshold": (suggestion["threshold"], "pct"),
                       "capacity_precision": (suggestion["precision"], "pct"), "capacity_recall": (suggestion["recall"], "pct")})
    text = Text(keys, values)
    return Stack([facts, text])


#: The action list as shown: column -> report.yaml word.
ACTION_COLUMNS = {"customer": "col_customer", "tier": "col_tier", "owner": "col_owner", "contact": "col_contact",
                  "churn_probability": "col_probability",
                  "value_12m": "col_value_12m", "value_at_stake": "col_value_at_stake", "action_key": "col_action",
                  "owner_role": "col_owner_role", "due_date": "col_due_date"}


def _contacts(ctx: ReportContext, actions: pd.DataFrame) -> pd.Series:
    """Contact name, title and phone of each listed customer, masked unless the report is for
    the customers' owner."""
    from segkit.access import mask_pii

    columns = [c for c in ("contact_name", "contact_title", "phone") if c in actions.columns]
    if not columns:
        return pd.Series("", index=actions.index)
    contacts = actions[columns]
    if ctx.mask_pii:
        contacts = mask_pii(contacts)
    return contacts.fillna("").astype(str).agg(" ".join, axis=1).str.strip()


def action_view(ctx: ReportContext, top: int = 25):
    """Who to call first: the flagged customers by value at stake (churn probability x
    12-month revenue), with the tier's at-risk action from the strategy, who carries it out
    and the due date; the first ``top`` rows (the full list goes to the owners' XLSX files)."""
    from segkit.insights.churn import load_churn_config

    if not ctx.has("churn_model"):
        return _btyd_list(ctx, load_churn_config(ctx.user_config).risk_levels.high, top)
    if not ctx.has("backtest"):
        return Block("").add(_notes([ctx.churn_left_out(ctx.words["backtest"], "backtest")]))
    actions = ctx.churn_actions
    names = ctx.snapshot["name"].reindex(actions["customer_id"]).to_numpy()
    frame = actions.assign(customer=[customer_text(i, n) for i, n in zip(actions["customer_id"], names)],
                           contact=_contacts(ctx, actions).to_numpy())
    columns = dict(ACTION_COLUMNS)
    if not ctx.has("owner"):
        del columns["owner"]
    if (frame["contact"] == "").all():  # no contacts in the data (e.g. orders only): no empty column
        del columns["contact"]
    short, full, role = strategy_words(ctx)
    table = Table(frame, columns, kinds={"churn_probability": "pct", "value_12m": "money", "value_at_stake": "money",
                                         "due_date": "date"},
                  labels={"tier": "tier", "action_key": short, "owner_role": role}, max_rows=top,
                  nowrap=("tier", "churn_probability", "due_date"))
    text = Text(["churn_actions_text"], {"n": (len(actions), "int"), "threshold": (ctx.churn_card.threshold, "pct"),
                                         "top": (min(top, len(actions)), "int"), "as_of": (ctx.as_of, "date")})
    # each action's full text once, under the list (the rows carry its short name)
    used = pd.unique(frame["action_key"].head(top))
    legend = Table(pd.DataFrame({"action": used, "means": used}), {"action": "col_action", "means": "col_action_means"},
                   labels={"action": short, "means": full}, nowrap=("action",))
    return Stack([text, table, legend])


def reconciliation_view(ctx: ReportContext):
    """RFM risk and model risk in one table (:func:`~segkit.insights.risk.risk_crosstab`: RFM
    segments, flagged first, by model risk level) and why they differ, in a sentence
    (:func:`~segkit.insights.risk.why_differ`)."""
    from segkit.insights.risk import load_findings_config, risk_crosstab, why_differ

    if not ctx.has("churn_model"):
        return Block("").add(_notes([ctx.churn_left_out(ctx.words["risk_by_segment"])]))
    rfm, scores, snap = ctx.rfm_named, ctx.churn_scores, ctx.snapshot
    matrix = risk_crosstab(rfm, scores, snap, config=ctx.user_config).reset_index()
    why = why_differ(rfm, scores, snap, config=ctx.user_config)
    levels = {c: f"churn_level_{c}" for c in ("high", "medium", "low", "not_scored") if c in matrix.columns}
    total = ctx.words["col_risk_total"]
    table = Table(matrix, {"rfm_segment": "col_segment", **levels, "total": "col_risk_total"},
                  kinds={c: "int" for c in [*levels, "total"]},
                  labels={"rfm_segment": lambda key, lang: total if key == "total" else label("rfm_segment", key, lang, default=key)})
    segments = load_findings_config(ctx.user_config).rfm_risk_segments
    text = Text(["churn_recon_text"], {
        "rfm_n": (why.loc[["both", "rfm_only"], "customers"].sum(), "int"),
        "model_n": (why.loc[["both", "model_only"], "customers"].sum(), "int"),
        "segments": ctx.words["separator_list"].join(label("rfm_segment", k, ctx.lang, default=k) for k in segments),
        "both": (why.loc["both", "customers"], "int"), "rfm_only": (why.loc["rfm_only", "customers"], "int"),
        "not_scored": (why.loc["rfm_only", "not_scored"], "int"),
        "rfm_days": (why.loc["rfm_only", "median_recency_days"], "int"),
        "model_days": (why.loc["model_only", "median_recency_days"], "int"),
    })
    return Stack([table, text])


#: The jargon the churn report uses, in the order its glossary lists it (keys of glossary.yaml).
GLOSSARY_TERMS = ("churn_probability", "base_rate", "roc_auc", "interval_90", "pr_auc", "brier", "precision", "recall",
                  "threshold", "value_at_stake", "bgnbd", "odds_ratio", "rfm", "tier")


def glossary_view(ctx: ReportContext) -> Glossary:
    """The plain-language glossary of the terms this report uses (:data:`GLOSSARY_TERMS`)."""
    return Glossary(GLOSSARY_TERMS)


def _winner_sentences(ctx: ReportContext) -> list[str]:
    """Which method wins on this data (by ROC AUC), whether the BTYD features help the model,
    and, when a baseline wins, that the model does not beat it; words from ``report.yaml``."""
    w, m = ctx.words, _metrics(ctx)
    auc = m["roc_auc"]
    order = auc.sort_values(ascending=False, kind="stable").index
    label = m["method_label"].astype(str)
    winner = order[0]
    ranking = w["separator_list"].join(f"{label[k]} {auc[k]:.3f}" for k in order)
    lines = [w["backtest_winner"].format(winner=label[winner], auc=f"{auc[winner]:.3f}", ranking=ranking)]
    if all(k in m.index for k in _MODELS):
        without, with_btyd = auc["model"], auc["model_btyd"]
        key = "backtest_btyd_helps" if with_btyd > without else "backtest_btyd_no_help"
        lines.append(w[key].format(without=f"{without:.3f}", with_btyd=f"{with_btyd:.3f}"))
    if winner not in _MODELS:
        lines.append(w["backtest_baseline_wins"])
    return lines


def backtest_view(ctx: ReportContext) -> Block:
    """ROC AUC, PR AUC, Brier, lift and capture for the model with and without the BTYD
    features and both baselines, the winner on this data in words; lift and calibration
    charts."""
    from segkit.plots.churn import plot_calibration, plot_lift, plot_roc

    w = ctx.words
    if not ctx.has("backtest"):
        return Block("").add(_notes([ctx.churn_left_out(w["backtest"], "backtest")]))
    bt = ctx.backtest
    metrics = _metrics(ctx)
    names = {"zh": ["方法", "ROC AUC", "PR AUC", "Brier", "前10%提升度", "前10%覆盖率"],
             "en": ["Method", "ROC AUC", "PR AUC", "Brier", "Lift, top 10%", "Capture, top 10%"]}[ctx.lang]
    shown = pd.DataFrame({
        names[0]: metrics["method_label"].to_numpy(),
        names[1]: metrics["roc_auc"].to_numpy(), names[2]: metrics["pr_auc"].to_numpy(), names[3]: metrics["brier"].to_numpy(),
        names[4]: metrics["lift_top"].to_numpy(), names[5]: metrics["capture_top"].to_numpy(),
    })
    three = lambda v: f"{v:.3f}"  # noqa: E731
    block = Block("")
    block.add(table_html(shown, {names[1]: three, names[2]: three, names[3]: three, names[4]: lambda v: f"{v:.2f}", names[5]: fmt_pct},
                         highlight={(int(np.argmax(metrics["roc_auc"].to_numpy())), names[1]): "best"}))
    block.text(*_winner_sentences(ctx))
    block.add(plot_roc(bt, lang=ctx.lang))
    block.subheading(w["lift_chart"]).add(plot_lift(bt, lang=ctx.lang))
    block.subheading(w["calibration"]).add(plot_calibration(bt, lang=ctx.lang))
    return block


def high_risk_view(ctx: ReportContext, top: int = 25) -> Block:
    """The high-risk list: probability, reasons, recommended action, owner; contacts masked
    unless the report is for the customers' owner."""
    from segkit.insights.churn import describe_scores, driver_reasons, load_churn_config

    w = ctx.words
    cutoff = load_churn_config(ctx.user_config).risk_levels.high
    if not ctx.has("churn_model"):
        return _btyd_list(ctx, cutoff, top)
    scores = ctx.churn_scores
    high = scores.loc[scores["risk_level"] == "high"]
    said = describe_scores(high, ctx.lang, ctx.user_config)
    reasons = driver_reasons(ctx.churn_model(), ctx.churn_features.loc[high.index], lang=ctx.lang, config=ctx.user_config)
    contact = _contacts(ctx, ctx.snapshot.reindex(high.index))
    shown = pd.DataFrame({
        w["col_customer"]: [customer_text(i, n) for i, n in zip(high.index, high["name"])],
        w["col_tier"]: said["tier_label"].to_numpy(),
        w["col_probability"]: high["churn_probability"].to_numpy(),
        w["col_revenue"]: high["revenue_12m"].to_numpy(),
        w["col_top_reasons"]: reasons.to_numpy(),
        w["col_action"]: said["recommended_action"].to_numpy(),
        w["col_owner"]: high["owner"].to_numpy(),
        w["col_contact"]: contact.to_numpy(),
    })
    intro = w["high_risk_intro"].format(n=fmt_int(len(high)), cutoff=f"{cutoff:.0%}", masked=w["masked"] if ctx.mask_pii else w["not_masked"])
    if not ctx.has("owner"):
        shown = shown.drop(columns=w["col_owner"])
    if not (contact != "").any():  # no contacts in the data (e.g. orders only): no empty column
        shown = shown.drop(columns=w["col_contact"])
        intro = w["high_risk_intro_no_contacts"].format(n=fmt_int(len(high)), cutoff=f"{cutoff:.0%}")
    return Block(w["high_risk_list"]).text(intro).add(
        table_html(*money_table(ctx, shown, {w["col_probability"]: fmt_pct}, [w["col_revenue"]]), max_rows=top,
                   more=w["more_rows"], nowrap=[w["col_tier"], w["col_probability"], w["col_owner"]]))


def _btyd_list(ctx: ReportContext, cutoff: float, top: int) -> Block:
    """Customers BG/NBD expects to buy nothing next quarter (chance >= the high-risk cut-off),
    the most valuable first."""
    w = ctx.words
    if ctx.clv_problem is not None:
        return Block(w["high_risk_list"]).text(w["btyd_not_fitted"].format(reason=ctx.clv_problem))
    forecast = ctx.in_scope(ctx.btyd_forecast_all)
    likely = forecast.loc[forecast["p_no_purchase"] >= cutoff].sort_values("revenue_12m", ascending=False, kind="stable")
    tiers = tier_labels(ctx.tiers["tier"].reindex(likely.index).dropna(), ctx.lang, ctx.user_config).reindex(likely.index)
    shown = pd.DataFrame({
        w["col_customer"]: [customer_text(i, n) for i, n in zip(likely.index, likely["name"])],
        w["col_tier"]: tiers.to_numpy(),
        w["col_p_no_purchase"]: likely["p_no_purchase"].to_numpy(),
        w["col_expected_purchases"]: likely["expected_purchases"].to_numpy(),
        w["col_revenue"]: likely["revenue_12m"].to_numpy(),
    })
    intro = w["btyd_list_intro"].format(n=fmt_int(len(likely)), cutoff=f"{cutoff:.0%}")
    return Block(w["high_risk_list"]).text(intro).add(_notes([ctx.churn_left_out(w["high_risk_list"])])).add(
        table_html(*money_table(ctx, shown, {w["col_p_no_purchase"]: fmt_pct, w["col_expected_purchases"]: lambda v: f"{v:.2f}"},
                                [w["col_revenue"]]),
                   max_rows=top, more=w["more_rows"], nowrap=[w["col_tier"]]))


def _risk_table(ctx: ReportContext, scores: pd.DataFrame, by: pd.Series, kind: str) -> pd.DataFrame:
    w = ctx.words
    frame = pd.DataFrame({"group": by, "p": scores["churn_probability"], "high": scores["risk_level"] == "high"})
    table = frame.groupby("group").agg(customers=("p", "size"), high=("high", "sum"), mean=("p", "mean"))
    table["share"] = table["high"] / table["customers"]
    order = _tier_order(table.index, ctx.user_config) if kind == "tier" else table.sort_values("share", ascending=False).index
    table = table.reindex(order)
    first = [_tier_label(ctx, k) if kind == "tier" else label(kind, k, ctx.lang, default=str(k)) for k in table.index]
    return pd.DataFrame({
        w["col_tier"] if kind == "tier" else ("行业" if ctx.lang == "zh" else "Industry"): first,
        w["col_customers"]: table["customers"].to_numpy(), w["tile_high"]: table["high"].to_numpy(),
        w["col_high_share"]: table["share"].to_numpy(), w["col_mean_probability"]: table["mean"].to_numpy(),
    })


def risk_by_segment(ctx: ReportContext) -> Block:
    """Customers, high-risk count and share, mean probability by tier and by industry."""
    w = ctx.words
    if not ctx.has("churn_model"):
        return Block("").add(_notes([ctx.churn_left_out(w["risk_by_segment"])]))
    scores = ctx.churn_scores
    formats = {w["col_high_share"]: fmt_pct, w["col_mean_probability"]: fmt_pct, w["col_customers"]: fmt_int, w["tile_high"]: fmt_int}
    block = Block("")
    block.subheading(w["kpis_by_tier"]).add(table_html(_risk_table(ctx, scores, scores["tier"], "tier"), formats))
    if not ctx.has("industry"):
        return block.add(_notes([ctx.left_out(w["risk_by_industry_what"], "industry")]))
    industry = ctx.snapshot["industry"].reindex(scores.index).dropna()
    block.subheading(w["kpis_by_industry"]).add(table_html(_risk_table(ctx, scores.loc[industry.index], industry, "industry"), formats))
    return block


def driver_table(ctx: ReportContext, top: int = 10) -> pd.DataFrame:
    """Mean absolute contribution to the log-odds per feature, with its direction.

    Direction: the correlation, across customers, between a feature's value and its
    contribution: positive means higher values raise the churn risk.
    """
    from segkit.insights.churn import load_churn_config

    cfg = load_churn_config(ctx.user_config)
    features = ctx.churn_features  # the BTYD ones from the BG/NBD fitted on every customer
    contributions = ctx.backtest.model.contributions(features)
    strength = contributions.abs().mean().sort_values(ascending=False).head(top)
    rows = []
    for column in strength.index:
        values = pd.to_numeric(features[column], errors="coerce") if column in features else pd.Series(dtype=float)
        if values.notna().sum() > 2 and values.std() > 0:
            direction = np.sign(np.corrcoef(values.fillna(values.median()), contributions[column])[0, 1])
        else:
            direction = 0.0
        name = cfg.features[column].text(ctx.lang) if column in cfg.features else column
        rows.append({"feature": column, "name": name, "strength": strength[column], "direction": direction})
    return pd.DataFrame(rows)


def drivers_view(ctx: ReportContext) -> Block:
    """The model's main drivers: which features move the churn probability most, and which way."""
    w = ctx.words
    if not ctx.has("backtest"):
        return Block("").add(_notes([ctx.churn_left_out(w["drivers"], "backtest")]))
    drivers = driver_table(ctx)
    words = {"zh": ("越高越易流失", "越低越易流失", "类别差异"), "en": ("higher raises risk", "lower raises risk", "differs by category")}[ctx.lang]
    with style(ctx.lang):
        fig = new_figure(6.5, 0.35 * len(drivers) + 1.0)
        ax = fig.subplots()
        colors = [PALETTE[5] if d > 0 else PALETTE[1] if d < 0 else PALETTE[7] for d in drivers["direction"]]
        ax.barh(drivers["name"][::-1], drivers["strength"][::-1], color=colors[::-1])
        ax.set_xlabel({"zh": "对流失几率（对数）的平均影响", "en": "Mean absolute effect on the log-odds of churn"}[ctx.lang])
        ax.set_title(w["drivers"])
        freeze_fonts(fig)
    shown = pd.DataFrame({
        w["col_feature"]: drivers["name"].to_numpy(),
        w["col_effect"]: [words[0] if d > 0 else words[1] if d < 0 else words[2] for d in drivers["direction"]],
    })
    return Block("", keep_together=True).add(fig).add(table_html(shown))


def _model_description(model, lang: str) -> str:
    params = model.get_params()
    kinds = {"logistic": ("逻辑回归", "logistic regression"), "tree": ("决策树", "decision tree"),
             "gbm": ("梯度提升树", "gradient boosting")}
    zh, en = kinds.get(params.get("model"), (str(params.get("model")), str(params.get("model"))))
    if params.get("calibrate"):
        zh, en = f"经概率校准的{zh}", f"calibrated {en}"
    return zh if lang == "zh" else en


def method(ctx: ReportContext) -> Block:
    """How the model was trained and evaluated, and the parameters of this report."""
    if not ctx.has("backtest"):
        return Block("").add(_notes([ctx.churn_left_out(ctx.words["method"], "backtest")]))
    bt = ctx.backtest
    model_text = _model_description(bt.model, ctx.lang)
    if ctx.lang == "zh":
        lines = [
            f"训练样本：{len(bt.train_as_of)} 个季度末快照（{bt.train_as_of[0].date()} 至 {bt.train_as_of[-1].date()}），共 {bt.n_train:,} 行；"
            f"测试快照 {bt.test_as_of.date()}，结果窗口至 {bt.outcome_end.date()}。每个快照只使用当日及以前的数据。",
            f"模型：{model_text}（segkit ChurnModel，缺失值填补、类别编码、标准化）。基线：BG/NBD 模型给出的下一季度不购买概率（参数 "
            + ", ".join(f"{k}={v:.3f}" for k, v in bt.bgnbd_params.items()) + "）；手册规则：近3个月无互动且订单下降50%。",
        ]
    else:
        lines = [
            f"Training: {len(bt.train_as_of)} quarter-end snapshots ({bt.train_as_of[0].date()} to {bt.train_as_of[-1].date()}), "
            f"{bt.n_train:,} rows; test snapshot {bt.test_as_of.date()}, outcome window to {bt.outcome_end.date()}. "
            "Each snapshot uses only records dated on or before it.",
            f"Model: {model_text} (segkit ChurnModel: imputation, one-hot encoding, scaling). Baselines: the BG/NBD model's chance of no purchase in the next quarter (parameters "
            + ", ".join(f"{k}={v:.3f}" for k, v in bt.bgnbd_params.items()) + "); handbook rule: no interaction for 3 months and orders down 50%.",
        ]
    if bt.deployed == "model_btyd":
        lines.append(ctx.words["method_btyd_features"])
    return Block("").text(*lines)

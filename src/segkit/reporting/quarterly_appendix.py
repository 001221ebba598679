"""The quarterly report's appendix (data quality, definitions, tier rules, glossary) and footer.

Split from :mod:`segkit.reporting.quarterly` (which re-exports these sections) so that no
module passes 600 lines.
"""

from __future__ import annotations

import json
import re

import pandas as pd

from segkit.config import default_section
from segkit.reporting.blocks import fmt_int
from segkit.reporting.context import ReportContext
from segkit.reporting.display import Footer, Heading, Sentences, Shown, Stack

from segkit.reporting.quarterly_actions import glossary_view
from segkit.reporting.quarterly_helpers import _tier_label

__all__ = ["appendix", "footer", "rule_text"]


def appendix(ctx: ReportContext) -> Stack:
    """Data quality (rows read / rejected by reason), definitions, tier rules, parameters."""
    from segkit.insights.kpi import kpi_definitions

    w = ctx.words
    ds = ctx.dataset_full
    files = ds.files
    texts = [w["dq_intro"].format(read=fmt_int(files["rows_read"].sum()), accepted=fmt_int(files["rows_accepted"].sum()),
                                  rejected=fmt_int(files["rows_rejected"].sum()))]
    if ds.customers_derived:
        texts.append(w["dq_customers_derived"].format(n=fmt_int(len(ds.customers))))
    if ds.as_of_source == "data":
        texts.append(w["dq_as_of_from_data"].format(date=ds.as_of.date()))
    per_table = files.groupby("table", sort=False)[["rows_read", "rows_accepted", "rows_rejected"]].sum().reset_index()
    per_table["table"] = per_table["table"].map(lambda t: _table_name(ctx, t))
    per_table.columns = [w["col_table"], w["col_read"], w["col_accepted"], w["col_rejected"]]
    parts = [Heading(w["data_quality"]), Sentences(texts), Shown(per_table)]
    rules = ds.summary()["rejected_by_rule"]
    if len(rules):
        shown = pd.DataFrame({
            w["col_table"]: rules["table"].map(lambda t: _table_name(ctx, t)).to_numpy(),
            w["col_rule"]: rules["rule"].map(lambda r: rule_text(r, ctx.lang)).to_numpy(),
            w["col_rows"]: rules["rows"].to_numpy(),
        })
        parts.append(Shown(shown))
    else:
        parts.append(Sentences([w["no_rejections"]]))
    definitions = kpi_definitions(ctx.lang).reset_index(drop=True)
    definitions.columns = {"zh": ["指标", "定义"], "en": ["Metric", "Definition"]}[ctx.lang][: len(definitions.columns)]
    return Stack([*parts, Heading(w["definitions"]), Shown(definitions), Heading(w["tier_rules"]), Shown(_tier_rules(ctx)),
                  Heading(w["glossary"]), glossary_view(ctx)])


def _table_name(ctx: ReportContext, table: str) -> str:
    """An input table's name in the report's language (the key itself if segkit has none)."""
    from segkit.schema import TABLES

    if ctx.lang == "zh":
        return TABLES[table].zh if table in TABLES else table
    return ctx.words.get(f"table_{table}", table)


def rule_text(rule: str, lang: str) -> str:
    """A validation rule in the report's language (patterns in ``report.yaml`` ``dq_rules``).

    Examples
    --------
    >>> rule_text("duplicate customer_id", "zh")
    '重复的编号（customer_id）'
    """
    import re

    for pattern, texts in default_section("report")["dq_rules"]:
        match = re.match(pattern, rule)
        if match:
            return texts[lang].format(*match.groups())
    return rule


def _tier_rules(ctx: ReportContext) -> pd.DataFrame:
    """The tier rules as configured: conditions joined with and, alternatives with or."""
    from segkit.segment.tiers import load_tiers_config

    cfg = load_tiers_config(ctx.user_config)
    and_, or_ = (" 且 ", " 或 ") if ctx.lang == "zh" else (" and ", " or ")

    def condition(item) -> str:
        if isinstance(item, str):
            return item
        if isinstance(item, dict):
            return str(item.get("condition", item))
        return str(getattr(item, "condition", item))

    lines = ctx.thresholds.formatted(ctx.lang)

    def readable(text: str) -> str:
        for name, shown in lines.items():
            text = re.sub(rf"\b{name}\b", shown, text)
        for name, measure in cfg.measures.items():
            text = re.sub(rf"\b{name}\b", getattr(measure, ctx.lang), text)
        text = re.sub(r"\b(\d{5,})\b", lambda m: ctx.money(float(m.group(1))), text)
        yes_no = {"zh": ("是", "否"), "en": ("yes", "no")}[ctx.lang]
        return text.replace("true", yes_no[0]).replace("false", yes_no[1])

    rows = [{ctx.words["col_tier"]: _tier_label(ctx, rule.tier),
             ctx.words["col_rule"]: or_.join("(" + and_.join(readable(condition(c)) for c in branch) + ")" for branch in rule.any_of)}
            for rule in cfg.rules]
    return pd.DataFrame(rows)


def footer(ctx: ReportContext) -> Footer:
    """segkit version, parameters, configuration hash and data fingerprint."""
    text = ctx.words["footer"].format(
        version=ctx.version, params=json.dumps(ctx.parameters, ensure_ascii=False, sort_keys=True),
        config_hash=ctx.config_hash, fingerprint=ctx.dataset_full.fingerprint())
    return Footer(text)

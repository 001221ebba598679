"""Named thresholds (thresholds.yaml): one number moves every line; currency; relative mode;
orders as activity; tier health."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.labels import money
from segkit.models.clv import clv_tiers
from segkit.models.clv_words import explain_clv_tiers
from segkit.segment.classify import explain_classes, value_class
from segkit.segment.thresholds import (
    TierHealthWarning,
    load_thresholds_config,
    near_core,
    resolve_thresholds,
    tier_health,
    tier_health_messages,
)
from segkit.segment.tiers import assign_tiers, explain_tiers, handbook_examples, load_tiers_config

from conftest import CDNOW


def explained(snap: pd.DataFrame, lang: str = "zh", **kwargs) -> pd.DataFrame:
    """The tiers (keys) joined with their words from the edge function, as these tests read both."""
    tiers = assign_tiers(snap, **kwargs)
    out = tiers.join(explain_tiers(tiers, snap, lang, kwargs.get("config")))
    out.attrs = tiers.attrs  # a join keeps attrs only when both sides hold the same
    return out


def frame(rows: dict[str, tuple], currency: str | None = None) -> pd.DataFrame:
    """id -> (revenue_12m, interactions_6m, new_need_inquiry_6m[, revenue_growth_6m])."""
    df = pd.DataFrame(
        [(cid, *values, *(() if len(values) == 4 else (0.0,))) for cid, values in rows.items()],
        columns=["customer_id", "revenue_12m", "interactions_6m", "new_need_inquiry_6m", "revenue_growth_6m"],
    ).set_index("customer_id")
    df["revenue_12m"] = df["revenue_12m"].astype(float)
    df["renewal_intent"] = pd.array([pd.NA] * len(df), dtype="boolean")
    if currency:
        df.attrs["currency"] = currency
    return df


def core_at(line: float) -> dict:
    return {"thresholds": {"lines": {"core_revenue": {"value": line}}}}


# --- one number moves every place ------------------------------------------------------------


@pytest.mark.parametrize("line", [300_000, 400_000, 600_000])
def test_changing_core_revenue_moves_every_rule_that_uses_it(line):
    config = core_at(line)
    wan = f"{line // 10_000}万元"
    snap = frame({
        "at": (line, 12, 0, 0.5),            # exactly on the line, enough interactions
        "below": (line - 1, 12, 0, 0.5),     # one yuan short
        "few": (line, 5, 0, 0.0),            # amount met, interactions not
    })
    tiers = explained(snap, config=config)
    assert tiers["tier"].tolist() == ["core", "potential", "potential"]
    # basis text names the line in use
    assert tiers.loc["at", "basis"] == f"近12个月交易额{line / 1e4:.1f}万元 ≥ {wan} 且 近6个月互动12次 ≥ 10次"
    # unmatched review rule (amount met, interactions not) uses the same line
    assert tiers.loc["few", "needs_review"]
    assert tiers.loc["few", "review_reason"].startswith(f"交易额达到核心客户标准（{wan}）但近6个月互动未达标")
    assert f"({money(line, 'en', style='threshold')})" in explained(snap, "en", config=config).loc["few", "review_reason"]
    # value class: high value from the same line
    classes = value_class(snap, config=config)
    assert classes["value_class"].tolist() == ["high_value", "potential", "high_value"]
    assert explain_classes(classes, snap, config=config).loc["at", "value_class_basis"] == f"近12个月交易额{line / 1e4:.1f}万元 ≥ {wan}"
    # CLV tiers: both cut-offs follow the line
    clv_frame = pd.DataFrame({"revenue_12m": [line, line - 1], "clv": [line, line - 1]}, index=["at", "below"])
    clv = clv_tiers(clv_frame, config=config)
    assert clv["clv_tier"].tolist() == ["high_value", "low_value"]
    assert explain_clv_tiers(clv, clv_frame, config=config).loc["at", "clv_basis"] == f"近12个月价值 {line / 1e4:.1f}万元 ≥ {wan}；预测价值 {line / 1e4:.1f}万元 ≥ {wan}"
    # the report's "close to core" line is 80% of it
    th = resolve_thresholds(snap, config)
    assert th.values["near_core_revenue"] == pytest.approx(0.8 * line)
    near = frame({"p_in": (0.8 * line, 5, 0), "p_out": (0.8 * line - 1, 5, 0)})
    near_tiers = assign_tiers(near, config=config)
    assert near_tiers["tier"].tolist() == ["potential", "potential"]
    assert near_core(near_tiers, near, th).tolist() == ["p_in"]


def test_450k_with_5_interactions_and_core_at_400k_is_potential_for_review_not_missing_data():
    tiers = explained(frame({"X": (450_000, 5, 0)}), config=core_at(400_000))
    assert tiers.loc["X", "tier"] == "potential" and tiers.loc["X", "needs_review"]
    reason = tiers.loc["X", "review_reason"]
    assert reason.startswith("交易额达到核心客户标准（40万元）但近6个月互动未达标，暂按潜力客户")
    assert "近6个月互动5次（需 ≥ 10次）" in reason
    assert "缺少判断依据" not in reason and "缺少判断依据" not in tiers.loc["X", "basis"]
    assert tiers.loc["X", "basis"] == "未完全满足任何规则；近12个月交易额45.0万元 ≥ 40万元"


def test_defaults_still_reproduce_the_handbook():
    tiers = assign_tiers(handbook_examples())
    assert tiers["tier"].tolist() == ["core", "potential", "ordinary", "low_value"]
    th = resolve_thresholds(handbook_examples())
    assert th.mode == "absolute" and th.currency == "CNY"
    assert {k: th.values[k] for k in ("core_revenue", "potential_revenue", "ordinary_revenue", "core_interactions",
                                      "ordinary_interactions_min", "ordinary_interactions_max", "value_potential_revenue",
                                      "value_growth", "near_core_revenue")} == {
        "core_revenue": 500_000, "potential_revenue": 200_000, "ordinary_revenue": 50_000, "core_interactions": 10,
        "ordinary_interactions_min": 3, "ordinary_interactions_max": 9, "value_potential_revenue": 100_000,
        "value_growth": 0.2, "near_core_revenue": 400_000}


def test_no_handbook_amount_is_left_in_the_rules():
    """The numbers live in thresholds.yaml only: the rule files name them."""
    import re
    from importlib import resources

    for name in ("tiers", "classify", "clv"):
        text = resources.files("segkit.defaults").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
        code = "\n".join(line.split("#")[0] for line in text.splitlines())
        assert not re.search(r"\b(500000|200000|100000|50000)\b", code), name


def test_unknown_threshold_name_is_an_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown name 'core_revnue'.*did you mean 'core_revenue'.*thresholds: \[.*'potential_revenue'"):
        load_tiers_config({"tiers": {"rules": [{"tier": "core", "any_of": [["revenue_12m >= core_revnue"]]}]}})
    with pytest.raises(ConfigError, match=r"unknown name \{core_revnue\}; known names: \[.*'core_revenue'"):
        load_tiers_config({"tiers": {"unmatched": {"default_reason": {"zh": "低于{core_revnue}", "en": "x"}}}})
    with pytest.raises(ConfigError, match=r"unknown line 'core_revnue'"):
        load_thresholds_config({"thresholds": {"lines": {"near_core_revenue": {"from": "core_revnue"}}}})
    with pytest.raises(ConfigError, match=r"cycle"):
        load_thresholds_config({"thresholds": {"lines": {"core_revenue": {"from": "near_core_revenue"}}}})


def test_near_threshold_review_works_with_names():
    tiers = explained(frame({"n": (380_000, 12, 0)}), config=core_at(400_000))
    assert tiers.loc["n", "review_reason"] == "近12个月交易额38.0万元，距阈值40万元不足10%（越过阈值将为核心客户）"


# --- currency ------------------------------------------------------------------------------


def test_basis_texts_are_in_the_data_currency():
    snap = frame({"A": (629.0, 12, 0)}, currency="USD")
    en = explained(snap, "en", config={"thresholds": {"mode": "absolute"}})
    assert en.loc["A", "basis"].startswith("12-month revenue USD 629 < USD 50,000")
    zh = explained(snap, config={"thresholds": {"mode": "absolute"}})
    assert zh.loc["A", "basis"].startswith("近12个月交易额629美元 < 5万美元")
    assert "CNY" not in en.loc["A", "basis"] and "万元" not in zh.loc["A", "basis"]


# --- relative mode, orders as activity -------------------------------------------------------


def _usd_snapshot(n: int = 200, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    snap = frame({f"c{i}": (float(v), int(k), 0) for i, (v, k) in enumerate(
        zip(np.round(rng.lognormal(6, 1.2, n), 2), rng.integers(0, 15, n)))}, currency="USD")
    snap.attrs["present"] = ["customers", "transactions", "interactions"]
    return snap


def test_relative_mode_derives_lines_from_the_data_reproducibly():
    snap = _usd_snapshot()
    th = resolve_thresholds(snap)  # auto: USD -> relative
    positive = snap["revenue_12m"][snap["revenue_12m"] > 0]
    assert th.mode == "relative" and th.requested_mode == "auto"
    assert th.values["core_revenue"] == float(f"{np.quantile(positive, 0.80):.1e}")
    assert th.values["potential_revenue"] == float(f"{np.quantile(positive, 0.60):.1e}")
    assert th.values["ordinary_revenue"] == float(f"{np.quantile(positive, 0.25):.1e}")
    assert th.derivation["core_revenue"] == {"source": "quantile", "quantile": 0.8, "of": "revenue_12m", "n": len(positive)}
    assert th.values["core_interactions"] == 10  # counts of contacts do not depend on the currency
    shuffled = snap.sample(frac=1, random_state=3)
    shuffled.attrs = dict(snap.attrs)
    assert resolve_thresholds(shuffled).values == th.values
    assert "第80百分位" in th.describe("zh") and "the 80th percentile" in th.describe("en")
    tiers = assign_tiers(snap)
    assert tiers["tier"].value_counts(normalize=True).max() < 0.9


def test_too_few_customers_keep_the_configured_line_and_say_so():
    snap = frame({"a": (10.0, 12, 0), "b": (20.0, 1, 0)}, currency="USD")
    th = resolve_thresholds(snap)
    assert th.values["core_revenue"] == 500_000 and th.derivation["core_revenue"]["source"] == "too_few"
    assert "fewer than 20 customers" in th.describe("en")


@pytest.fixture(scope="module")
def cdnow_folder(tmp_path_factory) -> Path:
    """CDNOW master file (orders only, USD) written as an export folder: orders CSV + dataset.yaml."""
    raw = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", header=0, names=["id", "date", "qty", "amount"],
                      dtype={"id": str, "date": str})
    folder = tmp_path_factory.mktemp("cdnow")
    orders = pd.DataFrame({"customer_id": raw["id"], "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
                           "amount": raw["amount"]})
    orders.to_csv(folder / "orders.csv", index=False)
    (folder / "dataset.yaml").write_text("name: CDNOW\nas_of: 1998-06-30\ncurrency: USD\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def cdnow_snapshot(cdnow_folder):
    from segkit.features import snapshot
    from segkit.io import load_dataset

    ds = load_dataset(cdnow_folder)
    assert ds.currency == "USD" and "interactions" not in ds.present and "customers" not in ds.present
    return snapshot(ds, "1998-06-30")


def test_cdnow_usd_orders_only_tiers_are_not_degenerate(cdnow_snapshot):
    snap = cdnow_snapshot
    with warnings.catch_warnings():
        warnings.simplefilter("error", TierHealthWarning)
        tiers = explained(snap, "en")
    shares = tiers["tier"].value_counts(normalize=True)
    assert set(shares.index) == {"core", "potential", "ordinary", "low_value"}
    assert shares.max() < 0.9
    # 65% of the 23,570 customers bought nothing in the 12 months before 1998-06-30: low value
    # by amount whatever the line; every buyer above the core line with >= 3 orders is core
    th = tiers.attrs["thresholds"]
    assert th.mode == "relative" and th.activity_column == "orders_6m"
    buyers = snap["revenue_12m"] > 0
    assert (tiers.loc[~buyers, "tier"] == "low_value").all()
    core = (snap["revenue_12m"] >= th.values["core_revenue"]) & (snap["orders_6m"] >= th.values["core_orders_6m"])
    assert (tiers.loc[core, "tier"] == "core").all() and (tiers.loc[~core, "tier"] != "core").all()
    assert 0.01 < shares["core"] < 0.10
    example = tiers.loc[core].index[0]
    assert "6-month orders" in tiers.loc[example, "basis"] and "USD" in tiers.loc[example, "basis"]
    assert "interactions" not in tiers.loc[example, "basis"]
    assert "measured by 6-month orders" in th.describe("en")
    assert tiers.attrs["health"]["ok"]


def test_cdnow_with_handbook_yuan_lines_warns_about_the_currency(cdnow_snapshot):
    with pytest.warns(TierHealthWarning, match="currency"):
        tiers = assign_tiers(cdnow_snapshot, config={"thresholds": {"mode": "absolute"}})
    health = tiers.attrs["health"]
    assert health["dominant_tier"] == "low_value" and health["dominant_share"] == 1.0
    assert health["empty_tiers"] == ["core", "potential", "ordinary"] and health["causes"] == ["currency"]


# --- tier health ---------------------------------------------------------------------------


def test_health_names_a_late_as_of_date_and_missing_interactions():
    n = 60
    snap = frame({f"c{i}": (0.0, 0, 0) for i in range(n)})
    snap["recency_days"] = 400.0
    snap.attrs.update(as_of=pd.Timestamp("2027-12-31"), present=["customers", "transactions", "interactions"])
    with pytest.warns(TierHealthWarning):
        tiers = assign_tiers(snap)
    health = tier_health(tiers, snap)
    assert not health["ok"] and health["dominant_tier"] == "low_value"
    assert health["causes"] == ["as_of", "interactions"]
    assert health["last_order"] == "2026-11-26"
    messages = tier_health_messages(health, "zh")
    assert messages[0] == "100.0%的客户（60家）被划入低价值客户，分层几乎没有区分度。"
    assert "统计截止日（2027-12-31）晚于最后一笔订单（2026-11-26）" in messages[2]


def test_healthy_tiers_and_small_tables_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error", TierHealthWarning)
        assert assign_tiers(handbook_examples()).attrs["health"]["ok"]  # 4 customers: too few to judge (< 50)
        assert tier_health_messages({"ok": True}, "en") == []


def test_tier_table_header_names_the_data_currency():
    from segkit.export import tier_table

    snap = handbook_examples()
    snap.attrs["currency"] = "USD"
    tiers = assign_tiers(snap, config={"thresholds": {"mode": "absolute"}})
    assert "近12个月交易金额(万美元)" in tier_table(tiers, snap).columns
    assert "12-month revenue (USD 10k)" in tier_table(tiers, snap, lang="en").columns
    assert tier_table(tiers, snap).iloc[0]["划分依据摘要"] == "近12个月交易额65.0万美元 ≥ 50万美元 且 近6个月互动12次 ≥ 10次"


def test_cli_tiers_prints_the_thresholds_and_the_health_warning(cdnow_folder, tmp_path, capsys):
    from segkit.cli import main

    config = tmp_path / "absolute.yaml"
    config.write_text("thresholds:\n  mode: absolute\n", encoding="utf-8")
    assert main(["tiers", "--data", str(cdnow_folder), "--as-of", "1998-06-30", "--out", str(tmp_path / "t.csv"),
                 "--lang", "en", "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    assert "23,570 customers: Low value 23,570" in out
    assert "Tier thresholds are the handbook's (USD): Core at 12-month revenue ≥ USD 500,000" in out
    assert "activity is measured by 6-month orders (Core ≥ 6 orders)" in out
    assert "WARNING: 100.0% of customers (23,570) are in Low value" in err
    assert "WARNING: No customer is in Core, Potential, Ordinary." in err
    assert "Likely cause: the amounts' currency or unit does not fit the thresholds (data in USD" in err
    assert main(["tiers", "--data", str(cdnow_folder), "--as-of", "1998-06-30", "--out", str(tmp_path / "t.csv"),
                 "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert "Core ≥ USD 170, the 80th percentile" in out and "WARNING" not in err


@pytest.mark.slow
def test_report_near_core_sentence_and_threshold_text_follow_core_revenue(tmp_path):
    """The quarterly report's focus line counts potential customers at 80% of the configured
    core line and names that line; the summary says which lines were used."""
    import html
    import re

    from segkit.reporting import quarterly, report_context
    from conftest import SAMPLE

    config = tmp_path / "core300k.yaml"
    config.write_text("thresholds:\n  lines:\n    core_revenue: {value: 300000}\n", encoding="utf-8")
    ctx = report_context("2026Q3", SAMPLE, config=config, lang="en")
    th = resolve_thresholds(ctx.snapshot_all, str(config))
    expected = near_core(ctx.tiers, ctx.snapshot, th)
    assert th.values["near_core_revenue"] == 240_000 and len(expected) > 0
    text = html.unescape(re.sub(r"<[^>]+>", " ", quarterly.executive_summary(ctx)._repr_html_()))
    assert f"move the {len(expected):,} potential customers near the core line (12-month revenue ≥ CNY 240,000)" in text
    assert "Core at 12-month revenue ≥ CNY 300,000, Potential ≥ CNY 200,000, Low value < CNY 50,000." in text
    assert (ctx.snapshot["revenue_12m"].reindex(expected) >= 240_000).all()
    assert (ctx.tiers.loc[expected, "tier"] == "potential").all()


def test_relative_lines_of_this_quarter_also_tier_the_previous_quarter(tmp_path):
    """Migration with lines derived from the data: last quarter is measured with this quarter's
    lines, so a move between tiers is a customer moving, not the line."""
    import shutil

    from segkit.reporting.context import report_context

    from conftest import SAMPLE

    folder = tmp_path / "usd"
    shutil.copytree(SAMPLE, folder)
    meta = (folder / "dataset.yaml").read_text(encoding="utf-8").replace("currency: CNY", "currency: USD")
    (folder / "dataset.yaml").write_text(meta, encoding="utf-8")
    ctx = report_context("2026Q3", folder, lang="en")
    current = ctx.tiers_all.attrs["thresholds"]
    assert current.mode == "relative" and current.currency == "USD"
    previous_own = resolve_thresholds(ctx.previous_snapshot_all)
    assert previous_own.values["core_revenue"] != current.values["core_revenue"]  # the lines do move
    assert ctx.previous_tiers_all.attrs["thresholds"].values == current.values
    # a previous-quarter customer is core exactly when the current lines say so
    prev = ctx.previous_snapshot_all
    line = current.values["core_revenue"]
    core = ctx.previous_tiers_all["tier"] == "core"
    assert (prev.loc[core, "revenue_12m"] >= line).all()
    assert core.sum() > 0

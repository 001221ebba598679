"""The segkit command: validate, snapshot, quarter outputs, tiers; exit codes."""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SAMPLE
from segkit.cli import latest_complete_quarter, main, quarter_end


def test_validate_prints_summary_and_writes_rejected_rows(tmp_path, write, capsys):
    write("customers.csv", ["客户编号", "客户名称"], [["C1", "=HYPERLINK(\"http://x\")"], ["C1", "dup"]])
    write("orders.csv", ["客户编号", "交易日期", "交易金额"], [["C1", "2025-01-01", "1"], ["C2", "2025-01-01", "@SUM(A1)"]])
    out = tmp_path / "rejected.csv"
    config = tmp_path / "keep-going.yaml"  # one bad row per rule in tiny tables: mostly rejected on purpose
    config.write_text("engine:\n  max_rejected_share: null\n", encoding="utf-8")
    assert main(["validate", str(tmp_path), "--as-of", "2026-01-01", "--rejected", str(out), "--config", str(config)]) == 0
    printed = capsys.readouterr().out
    assert "duplicate customer_id" in printed and "unknown customer_id" in printed and "not a number" in printed
    rejected = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert len(rejected) == 3
    # values from the file are neutralised: no cell starts with a formula character
    assert not rejected.apply(lambda col: col.str.match(r"^[=+\-@\t\r]")).any().any()
    assert "'@SUM(A1)" in rejected["value"].tolist()


def test_fatal_error_exits_2_with_a_message(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "missing")]) == 2
    assert "folder not found" in capsys.readouterr().err


def test_quarter_outputs_on_the_sample(tmp_path, capsys):
    assert main(["quarter-outputs", "--data", str(SAMPLE), "--out", str(tmp_path)]) == 0
    folder = tmp_path / "2026Q3"
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["customer_snapshot.csv", "rejected_rows.csv", "validation_summary.txt"]
    snapshot = pd.read_csv(folder / "customer_snapshot.csv")
    assert len(snapshot) == 1997 and "revenue_12m" in snapshot.columns
    assert "rows_read" in (folder / "validation_summary.txt").read_text(encoding="utf-8")


def test_quarter_outputs_are_masked_like_the_whole_company_reports_beside_them(tmp_path, capsys):
    """quarter-outputs writes whole-company files into the folder of whole-company reports,
    which are masked: its snapshot and rejected rows are masked too (no raw phone or e-mail)."""
    from segkit.io import load_dataset

    raw = load_dataset(SAMPLE).customers
    phones = set(raw["phone"].dropna().astype(str)) if "phone" in raw else set()
    emails = set(raw["email"].dropna().astype(str)) if "email" in raw else set()
    assert len(phones) > 100 and len(emails) > 100            # the sample has contacts to hide
    assert main(["quarter-outputs", "--data", str(SAMPLE), "--out", str(tmp_path)]) == 0
    folder = tmp_path / "2026Q3"
    snapshot = pd.read_csv(folder / "customer_snapshot.csv", dtype=str, encoding="utf-8-sig")
    assert snapshot["phone"].dropna().str.contains(r"\*", regex=True).all()
    text = (folder / "customer_snapshot.csv").read_text(encoding="utf-8-sig") + \
        (folder / "rejected_rows.csv").read_text(encoding="utf-8-sig")
    assert [v for v in phones | emails if v in text] == []


def test_tiers_command_writes_the_template(tmp_path, capsys):
    out = tmp_path / "tiers.csv"
    assert main(["tiers", "--as-of", "2026-09-30", "--data", str(SAMPLE), "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype=str)
    assert table.columns[:3].tolist() == ["客户编号", "客户名称", "所属行业"] and len(table) == 1997
    assert "核心客户 248" in capsys.readouterr().out


def test_quarters():
    assert quarter_end("2026q2") == pd.Timestamp("2026-06-30")
    assert latest_complete_quarter("2026-12-31") == "2026Q4" and latest_complete_quarter("2027-01-05") == "2026Q4"
    with pytest.raises(ValueError, match="2026Q3"):
        quarter_end("Q3-2026x")


def test_report_prints_the_tier_health_its_kernel_left_without_computing_tiers(tmp_path, monkeypatch, capsys):
    """A quarterly report's kernel leaves its tier health (and how the lines were set, in each
    language) in the run cache; `segkit report` prints the warning from there instead of
    building the quarter's snapshot and tiers a second time."""
    import argparse

    from segkit import cli
    from segkit.reporting.context import report_context
    from segkit.reporting.run_cache import RunCache, tier_health_key
    from segkit.segment.thresholds import tier_health_messages

    cache = RunCache(tmp_path / "cache")
    ctx = report_context("2026Q3", SAMPLE, cache_dir=cache.root)
    tiers = ctx.tiers_all
    found = cache.load(tier_health_key("2026Q3", SAMPLE))[1]
    assert found["health"] == tiers.attrs["health"] and found["health"]["ok"]
    assert found["describe"] == {lang: tiers.attrs["thresholds"].describe(lang) for lang in ("zh", "en")}

    monkeypatch.setattr(cli, "_quarter_tiers", lambda *a, **k: pytest.fail("tiers computed again"))
    args = argparse.Namespace(config=None, data=str(SAMPLE), quarter="2026Q3")
    cli._report_tier_health(args, ["zh", "en"], found)                  # healthy: nothing to say
    assert capsys.readouterr().err == ""
    unhealthy = {**found, "health": {**found["health"], "ok": False, "dominant_tier": "low_value", "dominant_share": 0.9}}
    cli._report_tier_health(args, ["zh", "en"], unhealthy)
    err = capsys.readouterr().err
    assert found["describe"]["zh"] in err and found["describe"]["en"] in err
    assert "警告：" + tier_health_messages(unhealthy["health"], "zh")[0] in err
    assert "WARNING: " + tier_health_messages(unhealthy["health"], "en")[0] in err

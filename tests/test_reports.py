"""Both quarterly reports rendered on the sample data, checked against segkit's own numbers."""

from __future__ import annotations

import importlib
import re
import shutil
import subprocess
from types import SimpleNamespace

import pandas as pd
import pytest

from conftest import SAMPLE
from segkit.insights.churn import backtest_churn, score_churn
from segkit.features import snapshot
from segkit.io import load_dataset
from segkit.reporting import ReportError, render
from segkit.reporting.blocks import esc
from segkit.segment.tiers import assign_tiers, explain_tiers

pytestmark = pytest.mark.slow
render_module = importlib.import_module("segkit.reporting.render")  # the module, not the function
QUARTER = "2026Q3"
EVIL = ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>"]


@pytest.fixture(scope="module")
def rendered(shared_reports):
    """The four sample reports (HTML and PDF), rendered once per test run (conftest)."""
    return {(name, lang): SimpleNamespace(paths=shared_reports(SAMPLE, name, lang, quarter=QUARTER))
            for name in ("quarterly", "churn") for lang in ("zh", "en")}


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


def _html(rendered, name, lang) -> str:
    return rendered[(name, lang)].paths["html"].read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", re.sub(r'src="data:[^"]+"', "", html))


def test_every_file_is_written(rendered):
    for (name, lang), result in rendered.items():
        assert sorted(p.name for p in result.paths.values()) == sorted(f"{name}-{lang}.{s}" for s in ("ipynb", "html", "pdf"))
        assert all(p.parent.name == QUARTER and p.is_file() for p in result.paths.values())


def test_quarterly_numbers_match_segkit(rendered, sample):
    snap = snapshot(sample, "2026-09-30")
    tiers = assign_tiers(snap)
    counts = tiers["tier"].value_counts()
    for lang, labels in (("zh", {"core": "核心客户", "potential": "潜力客户", "ordinary": "普通客户", "low_value": "低价值客户"}),
                         ("en", {"core": "Core", "potential": "Potential", "ordinary": "Ordinary", "low_value": "Low value"})):
        html = _html(rendered, "quarterly", lang)
        heading = re.search(rf"<h2[^>]*>{'客户分层概览' if lang == 'zh' else 'Tier overview'}", html)
        overview = html[heading.end():html.index("<h2", heading.end())]  # the tier overview section
        for key, text in labels.items():
            assert re.search(rf'<td data-label="[^"]+">{text}</td><td class="num" data-label="[^"]+">{counts[key]:,}</td>', overview), (lang, key)
    revenue = snap["revenue_12m"].sum()
    assert f"{revenue / 1e8:,.2f}亿元" in _html(rendered, "quarterly", "zh")
    assert f"CNY {revenue / 1e6:,.1f}M" in _html(rendered, "quarterly", "en")
    core = (tiers["tier"] == "core").sum()
    assert f"核心客户 {core} 家（占全部 {len(tiers):,} 条客户记录的 {core / len(tiers) * 100:.1f}%）" in _text(_html(rendered, "quarterly", "zh"))


def test_churn_numbers_match_segkit(rendered, sample):
    metrics = backtest_churn(sample, progress=False).metrics
    for lang in ("zh", "en"):
        text = _text(_html(rendered, "churn", lang))
        for method in ("model", "model_btyd", "bgnbd", "rules"):
            assert f"{metrics.loc[method, 'roc_auc']:.3f}" in text
    # the backtest section names the winner on this data (issue 14: the model with the BTYD features)
    winner = f"{metrics.loc['model_btyd', 'roc_auc']:.3f}"
    assert f"本数据的回测中 ROC AUC 最高的是「流失模型 + BTYD 特征」（{winner}）" in _text(_html(rendered, "churn", "zh"))
    assert f"highest ROC AUC is that of Churn model + BTYD features ({winner})" in _text(_html(rendered, "churn", "en"))
    # both reports count the same high-risk customers: the churn model's
    high = int((score_churn(sample, as_of="2026-09-30", progress=False)["risk_level"] == "high").sum())
    assert f'高流失风险客户</div><div class="tile-value">{high:,}</div>' in _html(rendered, "quarterly", "zh")
    # the churn report's model card: the list at the high-risk line holds the same customers
    assert f"按此阈值 {high:,} 家客户列入名单" in _text(_html(rendered, "churn", "zh"))


def test_sections_in_the_outline_order_and_one_language(rendered):
    zh = ["执行摘要", "摘要所指客户名单", "客户分层概览", "趋势", "RFM 分析", "层级迁移", "客户价值（CLV）", "合同续约", "关键指标",
          "待复核客户", "分层策略建议", "档案更新逾期", "附录"]
    en = ["Executive summary", "Customers behind the summary", "Tier overview", "Trends", "RFM view", "Tier migration",
          "Customer value (CLV)", "Contract renewals", "Key metrics", "Customers to review", "Strategy by tier",
          "Records overdue for refresh", "Appendix"]
    for lang, headings, other in (("zh", zh, en), ("en", en, zh)):
        html = _html(rendered, "quarterly", lang)
        found = re.findall(r"<h2[^>]*>([^<]+)", html)  # the notebook's markdown headings
        assert found == headings
        assert not set(other) & set(found)
    # the churn notebook's headings are markdown (nbconvert adds an id and an anchor link)
    assert re.findall(r"<h2[^>]*>([^<]+)", _html(rendered, "churn", "zh")) == [
        "摘要", "模型说明卡", "模型质量", "行动清单：先找谁", "RFM 风险与模型风险的对照", "按层级与行业的风险分布", "主要驱动因素", "术语表", "方法与参数"]
    # words segkit writes (not data such as names) are in the report's language
    english = _text(_html(rendered, "churn", "en")) + _text(_html(rendered, "quarterly", "en"))
    for zh_word in ("流失模型", "基准", "核心客户", "潜力客户", "高风险", "万元", "建议"):
        assert zh_word not in english, zh_word


def test_html_is_self_contained_without_code_or_noise(rendered):
    for result in rendered.values():
        html = result.paths["html"].read_text(encoding="utf-8")
        assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
        assert "<script" not in html and "@import" not in html
        assert "report_context(" not in html and "Traceback" not in html and "Warning" not in html
        assert "analyst-only" not in html and "Setup · 准备" not in html
        assert html.count("data:image/png;base64,") >= 2


def test_footer_records_version_parameters_config_and_data(rendered, sample):
    text = _text(_html(rendered, "quarterly", "en"))
    assert "segkit 0.1.0" in text and '"quarter": "2026Q3"' in text and sample.fingerprint() in text
    assert re.search(r"config hash [0-9a-f]{12}", text)


def test_pdfs_are_a4_with_embedded_cjk_fonts_and_page_numbers(rendered):
    for (name, lang), result in rendered.items():
        pdf = str(result.paths["pdf"])
        info = subprocess.run(["pdfinfo", pdf], capture_output=True, text=True, check=True).stdout
        assert re.search(r"Page size:\s+595\.\d* x 841\.\d* pts \(A4\)", info)
        pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
        text = subprocess.run(["pdftotext", "-layout", pdf, "-"], capture_output=True, text=True, check=True).stdout
        assert re.search(rf"\b{pages}\s*/\s*{pages}\b", text)
        if lang == "zh":
            fonts = subprocess.run(["pdffonts", pdf], capture_output=True, text=True, check=True).stdout
            cjk = [line.split() for line in fonts.splitlines() if re.search(r"Noto-?Sans-?(CJK|SC)", line)]  # system or bundled
            assert cjk and all(parts[-5] == "yes" for parts in cjk)      # embedded


def test_two_runs_give_identical_output(rendered, tmp_path):
    again = render("quarterly", QUARTER, data_dir=SAMPLE, lang="en", formats=("html",), out=tmp_path, progress=False)
    assert again.paths["html"].read_bytes() == rendered[("quarterly", "en")].paths["html"].read_bytes()


@pytest.fixture(scope="module")
def evil_data(tmp_path_factory, sample):
    """The sample with hostile names on the customers most at risk (they head the high-risk list)."""
    folder = tmp_path_factory.mktemp("evil")
    for path in SAMPLE.iterdir():
        shutil.copy(path, folder / path.name)
    customers = pd.read_csv(folder / "customers.csv", dtype=str, keep_default_na=False, encoding="utf-8-sig")
    recency = snapshot(sample, "2026-09-30")["recency_days"]
    targets = recency[(recency > 200) & (recency < 400)].index[:40]
    rows = customers["客户编号"].isin(targets)
    customers.loc[rows, "客户名称"] = [EVIL[i % 2] for i in range(rows.sum())]
    customers.to_csv(folder / "customers.csv", index=False, encoding="utf-8-sig")
    return folder


def test_names_from_data_are_escaped(evil_data, tmp_path):
    result = render("churn", QUARTER, data_dir=evil_data, lang="en", formats=("html",), out=tmp_path, progress=False)
    html = result.paths["html"].read_text(encoding="utf-8")
    for evil in EVIL:
        assert evil not in html
        assert esc(evil) in html


def _ids(html: str) -> set[str]:
    return set(re.findall(r"\bC\d{4}\b", _text(html)))


def test_department_report_holds_only_that_department(sample, tmp_path, shared_run_cache):
    customers = sample.customers.set_index("customer_id")
    department = customers["department"].value_counts().index[-1]
    result = render("churn", QUARTER, data_dir=SAMPLE, lang="zh", department=department, formats=("html",), out=tmp_path, progress=False, cache_dir=shared_run_cache)
    assert result.paths["html"].name == f"churn-{department}-zh.html"
    html = result.paths["html"].read_text(encoding="utf-8")
    ids = _ids(html)
    assert ids and set(customers.loc[list(ids), "department"]) == {department}
    # contacts are masked in a department report
    phones = re.findall(r"100-[0-9*]{4}-\d{4}", html)
    assert phones and all("****" in p for p in phones)


def test_owner_report_shows_only_their_customers_unmasked(sample, tmp_path, shared_run_cache):
    customers = sample.customers.set_index("customer_id")
    owner = customers["owner"].value_counts().index[0]
    result = render("churn", QUARTER, data_dir=SAMPLE, lang="en", owner=owner, formats=("html",), out=tmp_path, progress=False, cache_dir=shared_run_cache)
    html = result.paths["html"].read_text(encoding="utf-8")
    ids = _ids(html)
    assert ids and set(customers.loc[list(ids), "owner"]) == {owner}
    phones = re.findall(r"100-[0-9*]{4}-\d{4}", html)
    assert phones and not any("****" in p for p in phones)


def test_bad_configuration_fails_naming_the_cell_and_publishes_nothing(tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("tiers:\n  reveiw: {margin: 0.05}\n", encoding="utf-8")
    with pytest.raises(ReportError, match=r"(?s)quarterly_segmentation.ipynb: cell \d+ \(section '.+'\) failed: ConfigError: .*bad.yaml.*unknown key 'reveiw'"):
        render("quarterly", QUARTER, data_dir=SAMPLE, config=config, lang="en", out=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()                        # no folder left behind either
    assert [p.name for p in tmp_path.iterdir()] == ["bad.yaml"]    # nor a staging folder


def test_all_departments_continue_past_a_failure(monkeypatch):
    calls = []

    def fake_render(name, **kwargs):
        calls.append(kwargs["department"])
        if kwargs["department"] == "B":
            raise ReportError("cell 3 failed")
        return kwargs["department"]

    monkeypatch.setattr(render_module, "render", fake_render)
    results, failures = render_module.render_departments("quarterly", ["A", "B", "C"], lang="zh")
    assert calls == ["A", "B", "C"] and results == ["A", "C"] and failures == {"B": "cell 3 failed"}


def test_a_report_from_a_duckdb_file(tmp_path):
    """`segkit report --data crm.duckdb`: the tables come from a database, found by name."""
    import duckdb

    from segkit.reporting import report_context

    files = {"客户": "customers.csv", "orders": "orders.csv", "interactions": "interactions.csv", "surveys": "surveys.csv"}
    with duckdb.connect(str(tmp_path / "crm.duckdb")) as db:
        for table, name in files.items():
            frame = pd.read_csv(SAMPLE / name, dtype=str, keep_default_na=False, encoding="utf-8-sig")
            db.register("frame", frame)
            db.execute(f'CREATE TABLE "{table}" AS SELECT * FROM frame')
            db.unregister("frame")
    result = render("quarterly", QUARTER, data_dir=tmp_path / "crm.duckdb", lang="en", formats=("html",), out=tmp_path / "out",
                    progress=False)
    assert result.paths["html"].is_file()
    from_db = report_context(QUARTER, tmp_path / "crm.duckdb", lang="en")
    from_files = report_context(QUARTER, SAMPLE, lang="en")
    pd.testing.assert_frame_equal(from_db.tiers_all[["tier", "review"]], from_files.tiers_all[["tier", "review"]])
    pd.testing.assert_frame_equal(explain_tiers(from_db.tiers_all, from_db.snapshot_all, "en"),
                                  explain_tiers(from_files.tiers_all, from_files.snapshot_all, "en"))

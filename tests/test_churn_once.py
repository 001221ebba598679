"""The churn model at scale: a capped, seeded, stratified training sample, and one fit per
quarter end per report run, shared through the run cache by both reports and both languages."""

from __future__ import annotations

import shutil
import textwrap

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import CDNOW, SAMPLE
from segkit.insights.churn import (
    backtest_churn,
    fit_churn_model,
    load_churn_config,
    sample_training_rows,
    score_churn,
)
from segkit.config import ConfigError
from segkit.io import load_dataset
from segkit.models import churn as churn_model_module
from segkit.periods import horizon_end
from segkit.reporting.context import report_context
from segkit.reporting.run import QuarterRun
from segkit.reporting.run_cache import RunCache, cache_key
from segkit.segment.tiers import assign_tiers

QUARTER = "2026Q3"


def _table(sizes: dict[tuple[str, int], int]) -> pd.DataFrame:
    """A training table with ``sizes[(as_of, churned)]`` rows per stratum, strata interleaved."""
    rows = [(as_of, f"C{as_of}-{label}-{i}", label) for (as_of, label), n in sizes.items() for i in range(n)]
    rng = np.random.default_rng(7)
    rows = [rows[i] for i in rng.permutation(len(rows))]
    index = pd.MultiIndex.from_arrays([pd.DatetimeIndex([r[0] for r in rows]), [r[1] for r in rows]], names=["as_of", "customer_id"])
    return pd.DataFrame({"x": np.arange(len(rows), dtype=float), "churned": [r[2] for r in rows]}, index=index)


def _strata(frame: pd.DataFrame) -> pd.Series:
    return frame.groupby([frame.index.get_level_values("as_of"), "churned"]).size()


# --- the sample: capped, stratified, seeded ---------------------------------------------------------


def test_a_tiny_cap_keeps_each_quarter_end_and_label_share():
    sizes = {("2025-12-31", 0): 70, ("2025-12-31", 1): 11, ("2026-03-31", 0): 52, ("2026-03-31", 1): 29, ("2026-06-30", 0): 7, ("2026-06-30", 1): 31}
    train = _table(sizes)                                   # 200 rows
    part = sample_training_rows(train, 20, seed=3)
    assert len(part) == 20 and part.index.is_unique and part.index.isin(train.index).all()
    # quotas (size x 20/200): 7, 1.1, 5.2, 2.9, 0.7, 3.1; their floors make 18 rows, and the two
    # rows left go to the largest remainders, 0.9 (of 2.9) and 0.7 (of 0.7)
    assert _strata(part).to_dict() == {
        (pd.Timestamp("2025-12-31"), 0): 7, (pd.Timestamp("2025-12-31"), 1): 1, (pd.Timestamp("2026-03-31"), 0): 5,
        (pd.Timestamp("2026-03-31"), 1): 3, (pd.Timestamp("2026-06-30"), 0): 1, (pd.Timestamp("2026-06-30"), 1): 3,
    }
    positions = train.index.get_indexer(part.index)
    assert (np.diff(positions) > 0).all()                   # the table's order is kept
    assert part.attrs == {"rows_available": 200, "rows_used": 20}


def test_the_same_seed_draws_the_same_rows_and_another_seed_others():
    train = _table({("2026-03-31", 0): 400, ("2026-03-31", 1): 100, ("2026-06-30", 0): 300, ("2026-06-30", 1): 200})
    first = sample_training_rows(train, 100, seed=0)
    assert first.index.equals(sample_training_rows(train, 100, seed=0).index)
    assert first.index.equals(sample_training_rows(train.copy(), 100, seed=0).index)
    other = sample_training_rows(train, 100, seed=1)
    assert not first.index.equals(other.index) and _strata(first).equals(_strata(other))  # other rows, same shares
    assert _strata(first).tolist() == [40, 10, 30, 20]


def test_a_table_within_the_cap_is_used_whole():
    train = _table({("2026-06-30", 0): 8, ("2026-06-30", 1): 2})
    for cap in (10, 11, None):
        part = sample_training_rows(train, cap, seed=0)
        assert part.index.equals(train.index) and part.attrs == {"rows_available": 10, "rows_used": 10}


@settings(max_examples=60, deadline=None)
@given(sizes=st.lists(st.integers(0, 60), min_size=2, max_size=8), cap_share=st.floats(0.01, 0.99), seed=st.integers(0, 2**32 - 1))
def test_every_stratum_is_within_one_row_of_its_share(sizes, cap_share, seed):
    strata = {(f"202{i // 2}-06-30", i % 2): n for i, n in enumerate(sizes)}   # two labels per quarter end
    train = _table(strata)
    n = len(train)
    cap = max(1, int(cap_share * n))
    if n <= cap:
        return
    counts = _strata(sample_training_rows(train, cap, seed=seed))
    assert counts.sum() == cap
    for (as_of, label), size in strata.items():
        got = counts.get((pd.Timestamp(as_of), label), 0)
        assert abs(got - size * cap / n) < 1, (as_of, label, got, size)


def test_the_cap_and_seed_are_validated_settings():
    cfg = load_churn_config()
    assert cfg.training.max_training_rows == 200_000 and cfg.training.sample_seed == 0
    assert load_churn_config({"churn": {"training": {"max_training_rows": None}}}).training.max_training_rows is None
    for bad in ({"max_training_rows": 0}, {"max_training_rows": "lots"}, {"sample_seed": -1}, {"max_training_row": 10}):
        with pytest.raises(ConfigError, match="churn"):
            load_churn_config({"churn": {"training": bad}})


# --- on the sample data ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sample():
    return load_dataset(SAMPLE)


@pytest.mark.parametrize("engine", ["duckdb", "pandas"])
def test_a_table_built_with_the_cap_is_the_sample_of_the_whole_table(engine):
    """Drawn from the labels first, only the kept rows are built: the same rows, features and
    labels as capping the whole table afterwards, and the same per-date counts."""
    from segkit.insights.churn import churn_training_table, training_dates

    ds = load_dataset(SAMPLE, engine=engine)
    dates = training_dates(ds, pd.Timestamp("2026-09-30"), "1Q", load_churn_config())
    whole = churn_training_table(ds, dates, progress=False)
    for cap, seed in ((3_000, 5), (500, 0)):
        built = churn_training_table(ds, dates, progress=False, max_rows=cap, seed=seed)
        expected = sample_training_rows(whole.train, cap, seed=seed)
        pd.testing.assert_frame_equal(built.train, expected, check_exact=True)
        assert built.train.attrs["rows_available"] == len(whole.train) == 12_067
        pd.testing.assert_frame_equal(built.dates, whole.dates)
        assert built.feature_columns == whole.feature_columns
    assert churn_training_table(ds, dates, progress=False, max_rows=20_000).train.equals(whole.train)  # under the cap


def test_a_capped_model_says_on_how_many_rows_and_still_scores_everyone(sample):
    config = {"churn": {"training": {"max_training_rows": 3_000, "sample_seed": 5}}}
    fitted = fit_churn_model(sample, "2026-09-30", config=config, progress=False)
    summary = fitted.training_summary_
    assert summary["rows_available"] == 12_067 and summary["rows_used"] == 3_000
    assert summary["as_of"][0] == "2024-03-31" and summary["as_of"][-1] == "2026-06-30" and len(summary["as_of"]) == 10
    scores = score_churn(sample, fitted, config=config)
    assert len(scores) == 1_556                              # every customer active in the past year
    assert scores.attrs["training_rows"] == 3_000 and scores.attrs["training_rows_available"] == 12_067
    full = score_churn(sample)
    assert full.index.sort_values().equals(scores.index.sort_values())
    assert full.attrs["training_rows"] == full.attrs["training_rows_available"] == 12_067


def test_a_backtest_uses_a_fitted_model_only_if_it_is_point_in_time(sample):
    earlier = fit_churn_model(sample, "2026-06-30", progress=False)   # labels up to 2026-06-30
    bt = backtest_churn(sample, test_as_of="2026-06-30", model=earlier, progress=False)
    assert bt.model is earlier and bt.n_train == bt.n_train_available == 10_567
    assert bt.metrics.loc["model", "roc_auc"] == pytest.approx(0.812, abs=0.005)
    later = fit_churn_model(sample, "2026-09-30", progress=False)     # has seen 2026-07..09 outcomes
    with pytest.raises(ValueError, match="training labels all end by the test date"):
        backtest_churn(sample, test_as_of="2026-06-30", model=later, progress=False)


# --- one fit per quarter end per run ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Both reports in both languages as their notebooks use the context, each its own context
    (as each notebook is its own kernel), sharing one run cache; fits counted."""
    root = tmp_path_factory.mktemp("run")
    fits: list[int] = []
    original = churn_model_module.ChurnModel.fit

    def counted(self, X, y):
        fits.append(len(X))
        return original(self, X, y)

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(root / "home-cache"))
        mp.setattr(churn_model_module.ChurnModel, "fit", counted)
        contexts = {}
        for name in ("quarterly", "churn"):
            for lang in ("zh", "en"):
                ctx = report_context(QUARTER, SAMPLE, lang=lang, cache_dir=root / "cache")
                if name == "quarterly":
                    ctx.churn_scores_all, ctx.previous_churn_scores_all
                else:
                    ctx.churn_scores_all, ctx.backtest
                contexts[(name, lang)] = ctx
        yield {"root": root, "cache": root / "cache", "fits": list(fits), "contexts": contexts, "counted": counted,
               "fit_log": fits}


def test_both_reports_in_both_languages_fit_the_model_once_per_quarter_end(run):
    # before: 8 fits (each notebook fitted this quarter's model and last quarter's / the backtest's)
    # last quarter end's model, the backtest's comparison model (the same rows without the BTYD
    # features, fitted once: the backtest is cached), this quarter end's
    assert sorted(run["fits"]) == [10_567, 10_567, 12_067]
    models = [p for p in run["cache"].iterdir() if (p / "model.pkl").exists()]
    assert len(models) == 2


def test_scores_from_the_cache_equal_scores_computed_fresh(run, sample):
    contexts = run["contexts"]
    as_of, previous = pd.Timestamp("2026-09-30"), pd.Timestamp("2026-06-30")
    # scores hold no words: one fresh computation equals what all four notebooks read
    fresh = score_churn(sample, as_of=as_of, tiers=assign_tiers(contexts[("quarterly", "zh")].snapshot_all, as_of=as_of),
                        progress=False)
    for lang in ("zh", "en"):
        for name in ("quarterly", "churn"):
            cached = contexts[(name, lang)].churn_scores_all
            pd.testing.assert_frame_equal(cached, fresh, check_exact=True)
            assert cached.attrs == fresh.attrs
    # ... stored once per quarter end, not once per language
    key = contexts[("churn", "en")]._churn_key("scores", as_of)
    assert key == contexts[("churn", "zh")]._churn_key("scores", as_of) and RunCache(run["cache"]).load(key) is not None
    # the English notebook read the model the Chinese one trained: the same probabilities to the bit
    zh, en = (contexts[("churn", lang)].churn_scores_all["churn_probability"] for lang in ("zh", "en"))
    assert (zh.to_numpy() == en.reindex(zh.index).to_numpy()).all()
    fresh_previous = score_churn(sample, as_of=previous, tiers=contexts[("quarterly", "en")].previous_tiers_all, progress=False)
    pd.testing.assert_frame_equal(contexts[("quarterly", "en")].previous_churn_scores_all, fresh_previous, check_exact=True)
    assert fresh_previous["risk_level"].isin(["high", "medium", "low"]).all()
    # point in time: last quarter's scores come from a model whose labels end by last quarter end
    assert max(fresh_previous.attrs["train_as_of"]) == pd.Timestamp("2026-03-31")
    assert all(horizon_end(d, "1Q") <= previous for d in fresh_previous.attrs["train_as_of"])


def test_the_backtest_from_the_cache_equals_backtest_churn(run, sample):
    fresh = backtest_churn(sample, progress=False)
    cached = run["contexts"][("churn", "en")].backtest
    pd.testing.assert_frame_equal(cached.metrics, fresh.metrics, check_exact=False, rtol=1e-12)
    pd.testing.assert_frame_equal(cached.scores, fresh.scores, check_exact=False, rtol=1e-12)
    assert cached.train_as_of == fresh.train_as_of and cached.test_as_of == fresh.test_as_of
    assert cached.n_train == fresh.n_train == 10_567 and cached.bgnbd_params == pytest.approx(fresh.bgnbd_params, rel=1e-12)
    # the backtest holds keys and numbers; each report names the methods in its language
    from segkit.reporting.churn_report import _metrics

    assert "method_label" not in cached.metrics
    assert _metrics(run["contexts"][("churn", "zh")]).loc["model", "method_label"] == "流失模型"
    assert _metrics(run["contexts"][("churn", "en")]).loc["model", "method_label"] == "Churn model"


def test_the_high_risk_list_says_why_in_each_language_from_one_run(run):
    """The list's words (tier, reasons, action) are added by the report, from scores and a model
    shared by both languages."""
    import html

    from segkit.insights.churn import describe_scores, driver_reasons, explain_drivers
    from segkit.reporting.churn_report import high_risk_view

    zh, en = run["contexts"][("churn", "zh")], run["contexts"][("churn", "en")]
    assert zh.churn_features.equals(en.churn_features)
    high = en.churn_scores.index[en.churn_scores["risk_level"] == "high"]
    first = high[0]
    reasons = driver_reasons(en.churn_model(), en.churn_features.loc[high], lang="en")
    by_hand = explain_drivers(en.churn_model(), en.churn_features.loc[[first]], 3, lang="en", direction="raises")["text"]
    assert reasons[first] == "; ".join(by_hand) and reasons[first].count(" raises churn risk") == len(by_hand) >= 1
    for ctx, raises in ((en, "raises churn risk"), (zh, "提高流失风险")):
        said = describe_scores(ctx.churn_scores.loc[[first]], ctx.lang)
        shown = high_risk_view(ctx)._repr_html_()       # the first row: the highest probability
        assert raises in shown and html.escape(said["recommended_action"].iloc[0]) in shown
        assert html.escape(said["tier_label"].iloc[0]) in shown


def test_another_config_or_other_data_is_another_key(run, tmp_path):
    config = tmp_path / "churn.yaml"
    config.write_text("churn:\n  training:\n    max_training_rows: 5000\n", encoding="utf-8")
    ctx = run["contexts"][("quarterly", "en")]
    other = report_context(QUARTER, SAMPLE, config=config, lang="en", cache_dir=run["cache"])
    assert other.config_hash != ctx.config_hash
    assert other._churn_key("model", ctx.as_of) != ctx._churn_key("model", ctx.as_of)
    before = len(run["fit_log"])
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_CACHE_HOME", str(run["root"] / "home-cache"))
        mp.setattr(churn_model_module.ChurnModel, "fit", run["counted"])
        model = other.churn_model()                    # a miss: trained, on 5,000 rows
        assert report_context(QUARTER, SAMPLE, config=config, lang="zh", cache_dir=run["cache"]).churn_model() is not model
    assert run["fit_log"][before:] == [5_000]           # ... and once only: the second context read it
    assert model.training_summary_["rows_used"] == 5_000
    # other data: the sample without its first order
    data = tmp_path / "data"
    shutil.copytree(SAMPLE, data)
    lines = (data / "orders.csv").read_bytes().splitlines(keepends=True)
    (data / "orders.csv").write_bytes(b"".join([lines[0], *lines[2:]]))
    changed = report_context(QUARTER, data, lang="en", cache_dir=run["cache"])
    assert changed.dataset_full.fingerprint() != ctx.dataset_full.fingerprint()
    assert changed._churn_key("model", ctx.as_of) != ctx._churn_key("model", ctx.as_of)
    assert cache_key(kind="model", as_of="2026-09-30") != cache_key(kind="model", as_of="2026-06-30")


def test_a_model_segkit_did_not_sign_is_not_loaded(run, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(run["root"] / "home-cache"))
    ctx = run["contexts"][("quarterly", "zh")]
    key = ctx._churn_key("model", ctx.as_of)
    cache = RunCache(run["cache"])
    assert cache.load_model(key) is not None
    copy = RunCache(tmp_path / "copy")
    shutil.copytree(run["cache"] / key, copy.root / key)
    assert copy.load_model(key) is not None                             # signed for this user: loaded
    blob = copy.root / key / "model.pkl"
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 1
    blob.write_bytes(bytes(data))                                       # one bit changed
    assert copy.load_model(key) is None
    shutil.copytree(run["cache"] / key, copy.root / ("0" * 32))         # a signed model under another key
    assert copy.load_model("0" * 32) is None
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "another-user"))
    assert cache.load_model(key) is None                                # another user's key: not loaded
    (tmp_path / "not-a-folder").write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "not-a-folder"))
    assert cache.store_model(cache_key(kind="x"), object()) is False    # no key can be kept: not cached
    with pytest.raises(ValueError, match="not a cache key"):
        cache.load_model("../../etc")


def test_a_run_in_two_languages_computes_once(monkeypatch):
    """ReportContext.of: a run's contexts in zh and en share what it computed, models included."""
    from segkit.reporting.context import ReportContext

    monkeypatch.delenv("SEGKIT_RUN_CACHE", raising=False)
    fits = []
    original = churn_model_module.ChurnModel.fit
    monkeypatch.setattr(churn_model_module.ChurnModel, "fit", lambda self, X, y: (fits.append(len(X)), original(self, X, y))[1])
    run = QuarterRun(QUARTER, SAMPLE)
    assert not hasattr(run, "lang") and "lang" not in run.parameters
    scores = run.churn_scores_all
    zh, en = ReportContext.of(run, "zh"), ReportContext.of(run, "en")
    assert zh.churn_scores_all is scores and en.churn_scores_all is scores and en.tiers_all is run.tiers_all
    assert en.churn_model() is zh.churn_model() is run.churn_model()
    assert fits == [12_067]                                  # this quarter end's model, once
    assert (zh.lang, en.lang, en.parameters["lang"]) == ("zh", "en", "en") and en.words["and"] == " and "


def test_without_a_cache_one_context_fits_once_per_quarter_end(monkeypatch):
    monkeypatch.delenv("SEGKIT_RUN_CACHE", raising=False)
    fits = []
    original = churn_model_module.ChurnModel.fit
    monkeypatch.setattr(churn_model_module.ChurnModel, "fit", lambda self, X, y: (fits.append(len(X)), original(self, X, y))[1])
    ctx = report_context(QUARTER, SAMPLE, lang="en")
    assert ctx.run_cache is None
    ctx.churn_scores_all, ctx.previous_churn_scores_all, ctx.backtest, ctx.churn_scores_all
    assert sorted(fits) == [10_567, 10_567, 12_067]   # with the backtest's model without the BTYD features


# --- the CLI: two commands, four notebooks, two fits ---------------------------------------------------------


@pytest.mark.slow
def test_segkit_report_quarterly_and_churn_in_zh_en_fit_twice(tmp_path, monkeypatch):
    """Each notebook runs in its own kernel: a sitecustomize on PYTHONPATH logs every fit there."""
    from segkit.cli import main

    hook = tmp_path / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(textwrap.dedent('''
        import importlib.abc, importlib.util, os, sys

        class _Hook(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path, target=None):
                if name != "segkit.models.churn":
                    return None
                sys.meta_path.remove(self)
                spec = importlib.util.find_spec(name)
                run = spec.loader.exec_module

                def exec_module(module):
                    run(module)
                    fit = module.ChurnModel.fit

                    def logged(self, X, y):
                        with open(os.environ["FIT_LOG"], "a") as fh:
                            fh.write(f"{len(X)}\\n")
                        return fit(self, X, y)
                    module.ChurnModel.fit = logged
                spec.loader.exec_module = exec_module
                return spec

        sys.meta_path.insert(0, _Hook())
    '''), encoding="utf-8")
    log = tmp_path / "fits.log"
    monkeypatch.setenv("PYTHONPATH", str(hook))
    monkeypatch.setenv("FIT_LOG", str(log))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "home-cache"))
    out = tmp_path / "reports"
    for name in ("quarterly", "churn"):
        assert main(["report", name, "--data", str(SAMPLE), "--quarter", QUARTER, "--lang", "zh,en", "--format", "html", "--out", str(out)]) == 0
    # 8 before; the backtest also fits its comparison model without the BTYD features, once
    assert sorted(int(n) for n in log.read_text().split()) == [10_567, 10_567, 12_067]
    assert sorted(p.name for p in (out / QUARTER).iterdir()) == sorted(
        [f"{name}-{lang}.{suffix}" for name in ("quarterly", "churn") for lang in ("zh", "en") for suffix in ("html", "ipynb")]
        + ["quarterly-lists"])  # the summary's lists and the per-owner action lists (XLSX), one folder for both languages
    assert len([p for p in (out / ".segkit-cache").iterdir() if (p / "model.pkl").exists()]) == 2


# --- CDNOW: a cap below the table's size barely moves the backtest ----------------------------------------------


@pytest.mark.slow
def test_capping_cdnow_training_rows_moves_auc_by_little(tmp_path):
    raw = pd.read_csv(CDNOW / "CDNOW_master.txt", sep=r"\s+", header=0, names=["id", "date", "qty", "amount"], dtype={"id": str, "date": str})
    pd.DataFrame({"customer_id": raw["id"], "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
                  "amount": raw["amount"]}).to_csv(tmp_path / "orders.csv", index=False)
    (tmp_path / "dataset.yaml").write_text("name: CDNOW\nas_of: 1998-06-30\ncurrency: USD\n", encoding="utf-8")
    ds = load_dataset(tmp_path)
    full = backtest_churn(ds, progress=False)
    assert full.n_train == full.n_train_available == 23_502 and full.test_as_of == pd.Timestamp("1998-03-31")
    auc = full.metrics.loc["model", "roc_auc"]
    assert auc == pytest.approx(0.739, abs=0.005)
    # measured: cap 5,000 -> AUC -0.0026 (seed 0), -0.0079 (seed 1), -0.0013 (seed 2); cap 10,000 -> < 0.001
    for seed in (0, 1):
        capped = backtest_churn(ds, progress=False, config={"churn": {"training": {"max_training_rows": 5_000, "sample_seed": seed}}})
        assert capped.n_train == 5_000 and capped.n_train_available == 23_502
        assert len(capped.scores) == len(full.scores)                       # every test customer scored
        assert capped.metrics.loc["model", "churn_rate"] == full.metrics.loc["model", "churn_rate"]
        assert abs(capped.metrics.loc["model", "roc_auc"] - auc) < 0.01
        assert abs(capped.metrics.loc["model", "brier"] - full.metrics.loc["model", "brier"]) < 0.005

"""RFM: handbook thresholds and points, quantile scores, named segments, configuration."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.segment.rfm import RFMWarning, explain_rfm, quantile_scores, rfm_scores


def snap(recency, orders_12m, revenue_total, orders_total=None, ids=None) -> pd.DataFrame:
    n = len(recency)
    ids = ids or [f"C{i:02d}" for i in range(n)]
    orders_total = orders_total if orders_total is not None else [max(o, 1) if r is not None else 0 for o, r in zip(orders_12m, recency)]
    return pd.DataFrame(
        {
            "recency_days": [np.nan if r is None else float(r) for r in recency],
            "orders_12m": orders_12m,
            "orders_total": orders_total,
            "revenue_total": [float(v) for v in revenue_total],
        },
        index=pd.Index(ids, name="customer_id"),
    )


# --- handbook scheme (annual handbook: 3-2-1 points) ----------------------------------------


def test_handbook_recency_levels():
    days = [0, 30, 31, 60, 61, 90, 91, 400]
    out = rfm_scores(snap(days, [12] * 8, [60000] * 8), "handbook")
    # within 30 / 60 / 90 days = 3 / 2 / 1; beyond 90 days is also low (1)
    assert out["r_score"].tolist() == [3, 3, 2, 2, 1, 1, 1, 1]


def test_handbook_frequency_is_monthly_orders():
    orders_12m = [60, 59, 12, 11, 6, 0]  # per month: 5, 4.92, 1, 0.92, 0.5, 0
    out = rfm_scores(snap([10] * 6, orders_12m, [60000] * 6, orders_total=[60, 59, 12, 11, 6, 3]), "handbook")
    assert out["f_score"].tolist() == [3, 2, 2, 1, 1, 1]


def test_handbook_monetary_is_cumulative_amount():
    amounts = [100000, 99999.99, 50000, 49999.99, 0, -500]
    out = rfm_scores(snap([10] * 6, [12] * 6, amounts), "handbook")
    assert out["m_score"].tolist() == [3, 2, 2, 1, 1, 1]


def test_handbook_points_segments_and_groups():
    # (R, F, M) by construction: days 10/45/75/200 -> 3/2/1/1; orders_12m 60/24/6 -> 3/2/1; amounts 150k/60k/10k -> 3/2/1
    cases = {
        "A": (10, 60, 150000),   # 3 3 3 = 9 core, high value
        "B": (10, 60, 60000),    # 3 3 2 = 8 core, other
        "C": (10, 24, 60000),    # 3 2 2 = 7 potential, potential group
        "D": (45, 24, 60000),    # 2 2 2 = 6 potential, potential group
        "E": (75, 24, 10000),    # 1 2 1 = 4 dormant, churn risk
        "F": (200, 6, 60000),    # 1 1 2 = 4 dormant, churn risk
        "G": (200, 6, 10000),    # 1 1 1 = 3 dormant, other
        "H": (75, 24, 60000),    # 1 2 2 = 5 potential, churn risk
    }
    df = snap([c[0] for c in cases.values()], [c[1] for c in cases.values()], [c[2] for c in cases.values()], ids=list(cases))
    out = rfm_scores(df, "handbook")
    out = out.join(explain_rfm(out, "zh"))
    assert out["rfm_score"].tolist() == ["333", "332", "322", "222", "121", "112", "111", "122"]
    assert out["rfm_points"].tolist() == [9, 8, 7, 6, 4, 4, 3, 5]
    assert out["rfm_segment"].tolist() == ["core", "core", "potential", "potential", "dormant", "dormant", "dormant", "potential"]
    assert out["rfm_segment_label"].tolist()[:3] == ["核心客户", "核心客户", "潜力客户"]
    assert out["rfm_group"].tolist() == ["high_value", "other", "potential", "potential", "churn_risk", "churn_risk", "other", "churn_risk"]
    assert out.loc["E", "rfm_group_label"] == "流失风险客户"


def test_customers_without_orders_are_not_scored():
    df = snap([10, None], [12, 0], [60000, 0])
    for scheme in ("handbook", "quantile", "named"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RFMWarning)
            out = rfm_scores(df, scheme)
            out = out.join(explain_rfm(out, "en"))
        assert out.loc["C01", ["r_score", "f_score", "m_score", "rfm_points"]].isna().all()
        assert pd.isna(out.loc["C01", "rfm_score"])
        assert (out.loc["C01", "rfm_segment"], out.loc["C01", "rfm_segment_label"]) == ("no_orders", "No orders")
        assert out.loc["C00", "rfm_segment"] != "no_orders"


# --- quantile scheme ------------------------------------------------------------------------


def test_quantile_scores_split_distinct_values_evenly():
    values = pd.Series(np.arange(1, 21, dtype=float))
    assert quantile_scores(values).tolist() == [1] * 4 + [2] * 4 + [3] * 4 + [4] * 4 + [5] * 4
    assert quantile_scores(values, higher_is_better=False).tolist() == [5] * 4 + [4] * 4 + [3] * 4 + [2] * 4 + [1] * 4
    assert quantile_scores(values, bins=4).tolist() == [1] * 5 + [2] * 5 + [3] * 5 + [4] * 5


def test_quantile_ties_get_one_score_whatever_the_row_order():
    values = pd.Series([1.0, 1, 1, 1, 1, 1, 2, 3, 4, 5], index=list("abcdefghij"))
    scores = quantile_scores(values)
    # six equal values have average rank 3.5 -> 1 + floor(3.0 / 10 * 5) = 2
    assert scores.tolist() == [2, 2, 2, 2, 2, 2, 4, 4, 5, 5]
    shuffled = values.sample(frac=1, random_state=3)
    assert quantile_scores(shuffled).sort_index().tolist() == scores.tolist()


def test_quantile_scheme_end_to_end():
    df = snap([5, 15, 25, 35, 45, 55, 65, 75, 85, 95], [1] * 10, [1000 * (i + 1) for i in range(10)],
              orders_total=[10, 9, 8, 7, 6, 5, 4, 3, 2, 1])
    out = rfm_scores(df, "quantile")
    assert out["r_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out["f_score"].tolist() == [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    assert out["m_score"].tolist() == [1, 1, 2, 2, 3, 3, 4, 4, 5, 5]
    assert out["rfm_score"].tolist()[:3] == ["551", "551", "442"]
    assert out["rfm_points"].tolist() == [11, 11, 10, 10, 9, 9, 8, 8, 7, 7]
    assert out["rfm_segment"].tolist() == ["high"] * 4 + ["middle"] * 6
    assert out.attrs["scheme"] == "quantile" and out.attrs["bins"] == 5


def test_small_and_constant_data_warn_instead_of_failing():
    df = snap([10, 10, 10], [12, 12, 12], [5000, 5000, 5000])
    with pytest.warns(RFMWarning) as record:
        out = rfm_scores(df, "quantile")
    messages = [str(w.message) for w in record]
    assert "RFM: only 3 customers to score with 5 bins; scores are coarse" in messages
    assert "RFM monetary: revenue_total is 5000 for all 3 customers; every customer gets the middle score 3" in messages
    assert out["rfm_score"].tolist() == ["333"] * 3
    with pytest.warns(RFMWarning, match="no customer is eligible"):
        empty = rfm_scores(snap([None], [0], [0]), "quantile")
    assert empty["rfm_segment"].tolist() == ["no_orders"]
    assert rfm_scores(snap([], [], []), "quantile").empty


# --- named segments -------------------------------------------------------------------------


def five(r_ranks, f_ranks, m_ranks):
    """Five customers whose quintile scores equal the given ranks (1 = worst)."""
    return snap([100 - 10 * r for r in r_ranks], [1] * 5, [1000 * m for m in m_ranks], orders_total=list(f_ranks))


@pytest.mark.parametrize(
    ("r", "f", "m", "expected"),
    [
        ((5, 1, 4, 3, 2), (5, 4, 1, 2, 3), (5, 4, 1, 2, 3),
         ["champions", "cant_lose", "new", "potential_loyalist", "loyal"]),
        ((1, 2, 3, 4, 5), (1, 2, 3, 5, 4), (2, 1, 3, 4, 5),
         ["lost", "about_to_sleep", "loyal", "champions", "champions"]),
        ((1, 2, 3, 4, 5), (3, 2, 1, 4, 5), (3, 4, 1, 2, 5),
         ["at_risk", "at_risk", "promising", "other", "champions"]),
        ((1, 2, 3, 4, 5), (2, 3, 1, 4, 5), (1, 2, 3, 4, 5),
         ["hibernating", "need_attention", "potential_loyalist", "champions", "champions"]),
    ],
)
def test_named_segments_score_map(r, f, m, expected):
    out = rfm_scores(five(r, f, m), "named")
    assert out["r_score"].tolist() == list(r) and out["f_score"].tolist() == list(f) and out["m_score"].tolist() == list(m)
    assert out["rfm_segment"].tolist() == expected


def test_named_segment_labels():
    out = rfm_scores(five((5, 1, 4, 3, 2), (5, 4, 1, 2, 3), (5, 4, 1, 2, 3)), "named")
    assert list(out.columns) == ["r_score", "f_score", "m_score", "rfm_score", "rfm_points", "rfm_segment"]  # keys and numbers
    assert explain_rfm(out)["rfm_segment_label"].tolist()[:3] == ["冠军客户", "不能失去的客户", "新客户"]
    english = explain_rfm(out, "en")
    assert english["rfm_segment_label"].tolist()[1] == "Can't lose them"
    assert explain_rfm(out.iloc[[1]], "en")["rfm_segment_label"].tolist() == ["Can't lose them"]  # rows keep attrs["scheme"]
    with pytest.raises(ValueError, match=r"rfm_segment 'cant_lose' is not a key of the RFM scheme 'handbook'"):
        explain_rfm(out, scheme="handbook")


# --- custom schemes and errors ----------------------------------------------------------------


def test_custom_scheme_as_dict_and_yaml(tmp_path):
    scheme = {
        "method": "thresholds",
        "eligible": "orders_total > 0",
        "recency": {"measure": "recency_days", "higher_is_better": False, "levels": [{"score": 2, "max": 30}], "otherwise": 1},
        "frequency": {"measure": "orders_12m", "levels": [{"score": 2, "min": 24}], "otherwise": 1},
        "monetary": {"measure": "revenue_total / 10000", "levels": [{"score": 2, "min": 10}], "otherwise": 1},
        "segments": [{"key": "best", "when": "rfm_points == 6", "zh": "最佳", "en": "Best"}],
        "other": {"key": "rest", "zh": "其他", "en": "Rest"},
        "no_orders": {"key": "none", "zh": "无", "en": "None"},
    }
    df = snap([10, 10], [24, 23], [100000, 100000])
    out = rfm_scores(df, scheme)
    assert out["rfm_score"].tolist() == ["222", "212"]
    assert out["rfm_segment"].tolist() == ["best", "rest"]
    assert explain_rfm(out, "en", scheme=scheme)["rfm_segment_label"].tolist() == ["Best", "Rest"]
    with pytest.raises(ValueError, match="pass it as scheme="):
        explain_rfm(out)
    import yaml

    path = tmp_path / "scheme.yaml"
    path.write_text(yaml.safe_dump(scheme, allow_unicode=True), encoding="utf-8")
    assert rfm_scores(df, str(path))["rfm_segment"].tolist() == ["best", "rest"]


def test_bad_schemes_are_named():
    with pytest.raises(ConfigError, match=r"unknown RFM scheme 'quintile'; schemes: \['handbook', 'named', 'quantile'\]"):
        rfm_scores(snap([1], [1], [1]), "quintile")
    with pytest.raises(ConfigError, match=r"rfm.schemes.quantile.segments\[0\].when: unknown column 'fm_score'"):
        rfm_scores(snap([1], [1], [1]), config={"rfm": {"schemes": {"quantile": {"segments": [
            {"key": "x", "when": "fm_score > 1", "zh": "x", "en": "x"}]}}}})
    with pytest.raises(ConfigError, match=r"unknown key 'bin'; allowed keys here"):
        rfm_scores(snap([1], [1], [1]), {"method": "quantile", "bin": 5})
    with pytest.raises(ConfigError, match=r"recency.measure: unknown column 'recency_day'"):
        rfm_scores(snap([1], [1], [1]), config={"rfm": {"schemes": {"quantile": {"recency": {"measure": "recency_day"}}}}})


def test_rfm_figures():
    from segkit.plots.segment import plot_rfm_heatmap, plot_rfm_segments

    out = rfm_scores(five((5, 1, 4, 3, 2), (5, 4, 1, 2, 3), (5, 4, 1, 2, 3)), "named")
    heat = plot_rfm_heatmap(out, lang="en").axes[0]
    assert heat.images[0].get_array().sum() == 5
    assert sorted(t.get_text() for t in heat.texts) == ["1\nM 1.0", "1\nM 2.0", "1\nM 3.0", "1\nM 4.0", "1\nM 5.0"]
    bars = plot_rfm_segments(out, lang="en").axes[0]
    assert sorted(t.get_text() for t in bars.get_yticklabels()) == ["Can't lose them", "Champions", "Loyal", "New", "Potential loyalist"]


# handbook-scheme counts main gave before the labels moved to explain_rfm (commit 404fa18)
HANDBOOK_BEFORE_THE_SPLIT = {
    "sample": ({"potential": 1175, "core": 392, "dormant": 305, "no_orders": 125},
               {"other": 1192, "churn_risk": 617, "no_orders": 125, "high_value": 57, "potential": 6}),
    "second": ({"potential": 229, "core": 86, "dormant": 62, "no_orders": 20},
               {"other": 256, "churn_risk": 111, "no_orders": 20, "high_value": 8, "potential": 2}),
}


@pytest.mark.parametrize("which", ["sample", "second"])
def test_scores_are_numbers_and_keys_and_labels_come_from_the_edge(which, second_data):
    import warnings

    from segkit.features import snapshot
    from segkit.io import load_dataset

    from conftest import SAMPLE

    snap = snapshot(load_dataset(SAMPLE if which == "sample" else second_data), "2026-09-30")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMWarning)
        out = rfm_scores(snap, "handbook")
    assert all(pd.api.types.is_integer_dtype(out[c]) for c in ("r_score", "f_score", "m_score", "rfm_points"))
    assert not [c for c in out.columns if c.endswith("_label")]
    segments, groups = HANDBOOK_BEFORE_THE_SPLIT[which]
    assert out["rfm_segment"].value_counts().to_dict() == segments
    assert out["rfm_group"].value_counts().to_dict() == groups
    zh, en = explain_rfm(out, "zh"), explain_rfm(out, "en")
    core = out["rfm_segment"] == "core"
    assert (zh.loc[core, "rfm_segment_label"] == "核心客户").all() and (en.loc[core, "rfm_segment_label"] == "Core").all()
    assert (zh["rfm_group_label"][out["rfm_group"] == "churn_risk"] == "流失风险客户").all()
    assert (zh != "").all().all() and (en != "").all().all()

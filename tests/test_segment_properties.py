"""Properties of the segmentation (hypothesis): exclusive and total tiers, monotone tiers and scores."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segkit.segment._expr import ExpressionError, parse
from segkit.segment.rfm import RFMWarning, explain_rfm, quantile_scores, rfm_scores
from segkit.segment.rules import RuleSet
from segkit.segment.tiers import assign_tiers, explain_tiers, load_tiers_config

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
RULES = RuleSet(load_tiers_config())
ORDER = RULES.order  # highest first: core > potential > ordinary > low_value

revenue = st.one_of(
    st.floats(min_value=-50_000, max_value=2_000_000, allow_nan=False),
    st.sampled_from([0.0, 49_999.99, 50_000.0, 199_999.99, 200_000.0, 499_999.99, 500_000.0]),
)
customer = st.tuples(
    revenue,
    st.integers(min_value=0, max_value=30),                      # interactions_6m
    st.integers(min_value=0, max_value=3),                       # new_need_inquiry_6m
    st.sampled_from([True, False, None]),                        # renewal_intent
)


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "revenue_12m": [float(r[0]) for r in rows],
            "interactions_6m": [r[1] for r in rows],
            "new_need_inquiry_6m": [r[2] for r in rows],
            "renewal_intent": pd.array([r[3] for r in rows], dtype="boolean"),
        },
        index=pd.Index([f"C{i}" for i in range(len(rows))], name="customer_id"),
    )


@SETTINGS
@given(st.lists(customer, min_size=1, max_size=25))
def test_tiers_are_exclusive_and_total(rows):
    df = frame(rows)
    tiers = assign_tiers(df)
    assert tiers.index.equals(df.index)
    assert tiers["tier"].isin(ORDER).all()
    words = explain_tiers(tiers, df)
    assert (words["tier_label"] != "").all() and (words["basis"] != "").all()
    # needs_review exactly when there is a review key, and exactly when there is a reason
    assert (tiers["needs_review"] == (tiers["review"] != "")).all()
    assert (tiers["needs_review"] == (words["review_reason"] != "")).all()


@SETTINGS
@given(st.lists(st.tuples(customer, st.floats(min_value=0, max_value=1_000_000, allow_nan=False)), min_size=1, max_size=25))
def test_raising_revenue_never_lowers_the_tier(pairs):
    before = frame([c for c, _ in pairs])
    after = frame([(c[0] + extra, *c[1:]) for c, extra in pairs])
    rank = {t: i for i, t in enumerate(ORDER)}
    before_rank = RULES.assign(before).map(rank)
    after_rank = RULES.assign(after).map(rank)
    assert (after_rank <= before_rank).all()


@SETTINGS
@given(
    st.lists(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), min_size=1, max_size=60),
    st.integers(min_value=2, max_value=9),
    st.booleans(),
    st.randoms(use_true_random=False),
)
def test_quantile_scores_in_range_monotone_and_order_free(values, bins, higher_is_better, rnd):
    series = pd.Series(values, index=[f"C{i}" for i in range(len(values))])
    scores = quantile_scores(series, bins, higher_is_better)
    assert scores.between(1, bins).all()
    order = np.argsort(series.to_numpy(), kind="stable")
    ordered = scores.to_numpy()[order]
    diffs = np.diff(ordered)
    assert (diffs >= 0).all() if higher_is_better else (diffs <= 0).all()
    # equal values, equal scores
    assert (scores.groupby(series).nunique() == 1).all()
    shuffled = list(series.index)
    rnd.shuffle(shuffled)
    assert quantile_scores(series[shuffled], bins, higher_is_better).reindex(series.index).equals(scores)


rfm_customer = st.tuples(
    st.one_of(st.none(), st.integers(min_value=0, max_value=1000)),   # recency_days (None: never ordered)
    st.integers(min_value=0, max_value=200),                          # orders_12m
    st.floats(min_value=-10_000, max_value=2_000_000, allow_nan=False),  # revenue_total
)


def rfm_frame(rows) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "recency_days": [np.nan if r[0] is None else float(r[0]) for r in rows],
            "orders_12m": [r[1] for r in rows],
            "orders_total": [0 if r[0] is None else max(r[1], 1) for r in rows],
            "revenue_total": [r[2] for r in rows],
        },
        index=pd.Index([f"C{i}" for i in range(len(rows))], name="customer_id"),
    )


@SETTINGS
@given(st.lists(rfm_customer, min_size=1, max_size=40), st.sampled_from(["quantile", "handbook", "named"]))
def test_rfm_scores_in_range_and_segments_total(rows, scheme):
    df = rfm_frame(rows)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RFMWarning)
        out = rfm_scores(df, scheme)
    top = 3 if scheme == "handbook" else 5
    scored = df["orders_total"] > 0
    for col in ("r_score", "f_score", "m_score"):
        assert out.loc[scored, col].between(1, top).all()
        assert out.loc[~scored, col].isna().all()
    assert (out.loc[scored, "rfm_points"] == out.loc[scored, ["r_score", "f_score", "m_score"]].sum(axis=1)).all()
    assert (out.loc[~scored, "rfm_segment"] == "no_orders").all()
    assert out["rfm_segment"].notna().all() and (explain_rfm(out, "en")["rfm_segment_label"] != "").all()


@SETTINGS
@given(st.lists(rfm_customer.filter(lambda r: r[0] is not None), min_size=1, max_size=40))
def test_handbook_scores_are_monotone_in_each_measure(rows):
    df = rfm_frame(rows)
    out = rfm_scores(df, "handbook")
    for measure, score, sign in (("recency_days", "r_score", -1), ("orders_12m", "f_score", 1), ("revenue_total", "m_score", 1)):
        x = df[measure].to_numpy() * sign
        s = out[score].to_numpy(dtype=float)
        less = x[:, None] < x[None, :]
        assert not (less & (s[:, None] > s[None, :])).any(), measure


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("abc_01 ()[]<>=!&|+-*/.,'\"%@;:xyzandornotin")), max_size=40))
def test_parser_only_accepts_or_raises_expression_error(text):
    df = pd.DataFrame({"a": [1.0, 2.0], "b": [0.0, np.nan]})
    try:
        expr = parse(text, ["a", "b"])
    except ExpressionError:
        return
    try:
        expr.evaluate(df)
    except ExpressionError:
        pass

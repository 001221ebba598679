"""Leak-free churn training tables: point-in-time features, labels over the outcome window."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import SAMPLE
from segkit.insights.churn import churn_features, churn_labels, churn_training_table
from segkit.features import snapshot
from segkit.io import Dataset, load_dataset
from segkit.periods import horizon_end, quarter_ends

AS_OF = pd.Timestamp("2026-09-30")


def make_dataset(orders, interactions=(), surveys=(), as_of=AS_OF) -> Dataset:
    """A validated-looking Dataset from (customer, date, amount) order tuples."""
    tx = pd.DataFrame(list(orders), columns=["customer_id", "order_date", "amount"])
    tx["order_date"] = pd.to_datetime(tx["order_date"])
    tx["customer_id"] = tx["customer_id"].astype("str")
    tx["product_line"] = pd.array(["software"] * len(tx), dtype="str")
    tx["channel"] = pd.array(["direct"] * len(tx), dtype="str")
    ids = sorted(set(tx["customer_id"]) | {c for c, *_ in interactions} | {c for c, *_ in surveys})
    customers = pd.DataFrame({
        "customer_id": pd.array(ids, dtype="str"),
        "name": pd.array([f"客户{c}" for c in ids], dtype="str"),
        "industry": pd.array(["manufacturing"] * len(ids), dtype="str"),
        "stage": pd.array(["churned"] * len(ids), dtype="str"),  # today's value: must not leak
        "renewal_intent": pd.array([False] * len(ids), dtype="boolean"),
        "first_cooperation_date": pd.Series(pd.NaT, index=range(len(ids)), dtype="datetime64[ns]"),
        "owner": pd.array(["张伟"] * len(ids), dtype="str"),
        "department": pd.array(["大客户部"] * len(ids), dtype="str"),
    })
    it = pd.DataFrame(list(interactions), columns=["customer_id", "date", "type"])
    it["date"] = pd.to_datetime(it["date"])
    it = it.astype({"customer_id": "str", "type": "str"})
    sv = pd.DataFrame(list(surveys), columns=["customer_id", "date", "satisfaction"])
    sv["date"] = pd.to_datetime(sv["date"])
    sv = sv.astype({"customer_id": "str", "satisfaction": "float64"})
    sv["nps"] = pd.array([8] * len(sv), dtype="Int64")
    empty = pd.DataFrame()
    return Dataset(customers, tx, it, sv, empty, empty, empty, pd.Timestamp(as_of))


def monthly(customer: str, start: str, end: str, amount: float = 10_000.0) -> list[tuple]:
    return [(customer, d, amount) for d in pd.date_range(start, end, freq="MS") + pd.Timedelta(days=9)]


@pytest.fixture(scope="module")
def small() -> Dataset:
    orders = [
        *monthly("A", "2025-01-01", "2026-09-01"),  # buys every month: never churns
        ("B", "2025-06-15", 5_000.0), ("B", "2025-11-20", 5_000.0), ("B", "2026-02-10", 5_000.0),  # stops
        ("C", "2024-05-01", 8_000.0),  # last order more than a year before every as-of date
        ("D", "2026-05-05", 2_000.0), ("D", "2026-08-01", 2_000.0),  # new in May 2026
        ("E", "2025-10-01", 1_000.0), ("E", "2026-04-15", -1_000.0),  # only a refund afterwards
    ]
    interactions = [("A", "2026-03-01", "visit"), ("B", "2026-01-10", "complaint"), ("A", "2026-07-01", "call")]
    surveys = [("B", "2026-03-20", 55.0), ("B", "2026-07-20", 90.0)]
    return make_dataset(orders, interactions, surveys)


def test_labels_eligibility_and_customers_to_score(small):
    table = churn_training_table(small, ["2026-03-31", "2026-06-30", "2026-09-30"], progress=False)
    labels = table.train["churned"]
    assert labels.loc["2026-03-31"].to_dict() == {"A": 0, "B": 1, "E": 1}  # C: no order in the year; D: not yet
    assert labels.loc["2026-06-30"].to_dict() == {"A": 0, "B": 1, "D": 0, "E": 1}
    # the outcome of 2026-09-30 (Oct-Dec 2026) is not in the data yet: to score, not to train on
    assert table.to_score.index.get_level_values("customer_id").tolist() == ["A", "B", "D", "E"]
    assert (table.to_score.index.get_level_values("as_of") == AS_OF).all()
    assert "churned" not in table.to_score
    assert table.dates["complete"].tolist() == [True, True, False]
    assert table.dates["outcome_end"].dt.strftime("%Y-%m-%d").tolist() == ["2026-06-30", "2026-09-30", "2026-12-31"]
    assert table.dates["eligible"].tolist() == [3, 4, 4]
    assert table.dates["churn_rate"].iloc[:2].tolist() == [pytest.approx(2 / 3), 0.5]
    pd.testing.assert_frame_equal(table.X, table.train[table.feature_columns])
    assert table.y.sum() == 4


def test_features_leave_out_personal_and_today_only_attributes(small):
    table = churn_training_table(small, ["2026-06-30"], progress=False)
    for column in ("name", "owner", "department", "stage", "renewal_intent", "record_updated", "phone",
                   "first_order_date", "last_order_date", "survey_date"):
        assert column not in table.feature_columns
    assert {"orders_0_3m", "recency_days", "days_since_survey", "signal_high_risk", "industry"} <= set(table.feature_columns)
    b = table.train.loc[("2026-06-30", "B")]
    assert b["recency_days"] == (pd.Timestamp("2026-06-30") - pd.Timestamp("2026-02-10")).days
    assert b["days_since_survey"] == 102.0 and b["satisfaction"] == 55.0  # the later survey is not visible yet
    assert b["days_since_last_interaction"] == 171.0 and b["complaints_6m"] == 1
    assert bool(b["signal_low_satisfaction"]) and bool(b["signal_complaints"])


def test_alternative_definitions(small):
    orders = [
        *monthly("F", "2026-01-01", "2026-03-01", 10_000.0 / 3), ("F", "2026-05-01", 1_500.0),  # 10,000 -> 1,500
        *monthly("G", "2026-01-01", "2026-03-01", 10_000.0 / 3), ("G", "2026-05-01", 2_500.0),  # 10,000 -> 2,500
    ]
    ds = make_dataset(orders)
    drop = churn_labels(ds, "2026-03-31", "1Q", "revenue_drop")
    assert drop.to_dict() == {"F": True, "G": False}  # down 85% and 75%; the default threshold is 80%
    assert not churn_labels(ds, "2026-03-31").any()  # both ordered again
    stricter = {"churn": {"labels": {"definitions": {"revenue_drop": {"drop": 0.7}}}}}
    assert churn_labels(ds, "2026-03-31", "1Q", "revenue_drop", config=stricter).all()
    assert churn_labels(small, "2026-03-31", "1Q", "revenue_drop")["E"]  # a refund is no revenue

    def not_renewed(ds, as_of, end):  # e.g. from the company's own contract table
        return pd.Series({"F": True})

    table = churn_training_table(ds, ["2026-03-31"], definition=not_renewed, progress=False)
    assert table.train["churned"].droplevel(0).to_dict() == {"F": 1, "G": 0}
    assert table.definition == "not_renewed"
    with pytest.raises(ValueError, match="unknown churn definition 'lapsed'; configured: no_order, revenue_drop"):
        churn_labels(ds, "2026-03-31", "1Q", "lapsed")


def test_horizons():
    assert horizon_end("2026-06-30", "1Q") == pd.Timestamp("2026-09-30")
    assert horizon_end("2026-03-31", "2Q") == pd.Timestamp("2026-09-30")
    assert horizon_end("2026-08-31", "6M") == pd.Timestamp("2027-02-28")
    assert horizon_end("2026-06-15", "1Q") == pd.Timestamp("2026-09-15")
    assert horizon_end("2026-06-30", "13W") == pd.Timestamp("2026-09-29")
    with pytest.raises(ValueError, match="horizon 'quarter' not understood"):
        horizon_end("2026-06-30", "quarter")
    assert [d.strftime("%m-%d") for d in quarter_ends("2026-01-15", "2026-12-31")] == ["03-31", "06-30", "09-30", "12-31"]


def test_longer_horizon_moves_dates_to_scoring(small):
    table = churn_training_table(small, ["2026-03-31", "2026-06-30"], horizon="2Q", progress=False)
    assert table.dates["complete"].tolist() == [True, False]
    assert table.train["churned"].loc["2026-03-31"].to_dict() == {"A": 0, "B": 1, "E": 1}
    with pytest.raises(ValueError, match="after the data's as-of date 2026-09-30"):
        churn_training_table(small, ["2026-12-31"], progress=False)


def test_progress_bar(small, capsys):
    churn_training_table(small, ["2026-06-30"], progress=True)
    assert "churn training table" in capsys.readouterr().err
    churn_training_table(small, ["2026-06-30"], progress=False)
    assert capsys.readouterr().err == ""


# --- nothing after the as-of date enters its features ----------------------------------------


def perturb_after(ds: Dataset, cutoff: pd.Timestamp, seed: int) -> Dataset:
    """Change every kind of record dated after ``cutoff``: drop, rescale, add."""
    rng = np.random.default_rng(seed)
    tx, it, sv = ds.transactions.copy(), ds.interactions.copy(), ds.surveys.copy()
    late = tx["order_date"] > cutoff
    tx.loc[late, "amount"] *= rng.uniform(0.1, 5.0, late.sum())
    tx = tx.loc[~late | (rng.random(len(tx)) < 0.5)]
    ids = ds.customers["customer_id"].to_numpy()
    span = max((ds.as_of - cutoff).days, 1)
    extra = pd.DataFrame({
        "customer_id": pd.array(rng.choice(ids, 40), dtype="str"),
        "order_date": cutoff + pd.to_timedelta(rng.integers(1, span + 1, 40), unit="D"),
        "amount": rng.uniform(-5_000, 50_000, 40).round(2),
    })
    tx = pd.concat([tx, extra], ignore_index=True)
    it = it.loc[~((it["date"] > cutoff) & (rng.random(len(it)) < 0.7))]
    more = pd.DataFrame({
        "customer_id": pd.array(rng.choice(ids, 30), dtype="str"),
        "date": cutoff + pd.to_timedelta(rng.integers(1, span + 1, 30), unit="D"),
        "type": pd.array(rng.choice(["complaint", "key_contact_change", "visit"], 30), dtype="str"),
    })
    it = pd.concat([it, more], ignore_index=True)
    sv.loc[sv["date"] > cutoff, "satisfaction"] = 1.0
    return dataclasses.replace(ds, transactions=tx, interactions=it, surveys=sv)


@pytest.fixture(scope="module")
def sample() -> Dataset:
    return load_dataset(SAMPLE)


def test_perturbing_records_after_an_as_of_date_leaves_its_features_unchanged(sample):
    dates = ["2025-03-31", "2025-06-30"]
    cutoff = pd.Timestamp("2025-06-30")
    original = churn_training_table(sample, dates, progress=False)
    changed = churn_training_table(perturb_after(sample, cutoff, seed=1), dates, progress=False)
    pd.testing.assert_frame_equal(original.X, changed.X)
    # the later records are the outcome of 2025-06-30: its labels do change, those of 2025-03-31 do not
    assert original.y.loc["2025-03-31"].equals(changed.y.loc["2025-03-31"])
    assert not original.y.loc["2025-06-30"].equals(changed.y.loc["2025-06-30"])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10_000), cutoff=st.sampled_from(["2026-03-31", "2026-06-30"]))
def test_features_never_see_later_records(small, seed, cutoff):
    cutoff = pd.Timestamp(cutoff)
    before = churn_features(snapshot(small, cutoff))
    after = churn_features(snapshot(perturb_after(small, cutoff, seed), cutoff))
    pd.testing.assert_frame_equal(before, after)


def test_sample_training_table_counts_match_the_orders(sample):
    table = churn_training_table(sample, ["2026-06-30"], progress=False)
    tx = sample.transactions.loc[sample.transactions["amount"] > 0]
    as_of, end = pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30")
    active = set(tx.loc[(tx["order_date"] > as_of - pd.DateOffset(years=1)) & (tx["order_date"] <= as_of), "customer_id"])
    ordered_later = set(tx.loc[(tx["order_date"] > as_of) & (tx["order_date"] <= end), "customer_id"])
    y = table.y.droplevel(0)
    assert set(y.index) == active
    assert set(y.index[y == 1]) == active - ordered_later
    assert (len(active), int(y.sum())) == (1500, 368)  # the sample: 1,500 active customers, 368 churned (24.5%)

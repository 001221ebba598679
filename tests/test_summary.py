"""Tests for segkit.summary: hand-computed cases, CDNOW's published summary, a naive reference."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segkit.summary import btyd_summary, calibration_holdout

CDNOW = Path(__file__).resolve().parents[1] / "data" / "benchmarks" / "cdnow"


def orders(rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "order_date", "amount"])
    frame["order_date"] = pd.to_datetime(frame["order_date"], format="ISO8601")
    return frame


@pytest.fixture
def small():
    # 2024-01-01 is a Monday. Customer 1 buys twice in the first week (Mon + Sun), then in
    # the weeks starting 01-08 and 01-15; customer 2 once; customer 3 only after the end.
    return orders(
        [
            (1, "2024-01-01", 10.0),
            (1, "2024-01-07", 5.0),
            (1, "2024-01-08", 20.0),
            (1, "2024-01-20", 30.0),
            (1, "2024-02-05", 99.0),  # after observation_end: ignored
            (2, "2024-01-10", 7.0),
            (3, "2024-02-02", 1.0),
        ]
    )


@pytest.fixture(scope="module")
def cdnow_sample():
    tx = pd.read_csv(
        CDNOW / "CDNOW_sample.txt",
        sep=r"\s+",
        header=None,
        names=["master_id", "customer_id", "date", "cds", "amount"],
    )
    tx["order_date"] = pd.to_datetime(tx["date"].astype(str), format="%Y%m%d")
    return tx


def test_weekly_periods_start_on_monday(small):
    s = btyd_summary(small, "2024-01-31", unit="W")
    assert list(s.index) == [1, 2]
    assert s.index.name == "customer_id"
    # weeks starting 01-01 (10 + 5), 01-08 (20), 01-15 (30); observation week starts 01-29
    assert s.loc[1, "frequency"] == 2
    assert s.loc[1, "recency"] == 2.0
    assert s.loc[1, "T"] == 4.0
    assert s.loc[1, "monetary_value"] == pytest.approx(25.0)
    # customer 2: week of 01-08 -> T = 3 weeks, no repeat
    assert s.loc[2, ["frequency", "recency", "T", "monetary_value"]].tolist() == [0, 0.0, 3.0, 0.0]
    assert s.loc[1, "first_purchase"] == pd.Timestamp("2024-01-01")
    assert s.loc[1, "last_purchase"] == pd.Timestamp("2024-01-20")
    assert s.attrs["btyd_unit"] == "W"
    assert s.attrs["observation_end"] == "2024-01-31"


def test_daily_periods(small):
    s = btyd_summary(small, "2024-01-31", unit="D")
    assert s.loc[1, "frequency"] == 3
    assert s.loc[1, "recency"] == 19.0
    assert s.loc[1, "T"] == 30.0
    assert s.loc[1, "monetary_value"] == pytest.approx((5 + 20 + 30) / 3)
    assert s.loc[2, "T"] == 21.0
    assert s.attrs["btyd_unit"] == "D"


def test_days_expressed_in_weeks(small):
    s = btyd_summary(small, "2024-01-31", unit="W", period="D")
    assert s.loc[1, "frequency"] == 3
    assert s.loc[1, "recency"] == pytest.approx(19 / 7)
    assert s.loc[1, "T"] == pytest.approx(30 / 7)
    assert s.attrs["btyd_period"] == "D"


def test_same_day_orders_are_one_purchase_and_refunds_reduce_spend():
    tx = orders(
        [
            ("a", "2024-03-01", 100.0),
            ("a", "2024-03-05", 60.0),
            ("a", "2024-03-05", -20.0),  # refund on the same day
            ("a", "2024-03-09 17:30", 10.0),  # time of day is dropped
        ]
    )
    s = btyd_summary(tx, "2024-03-09", unit="D")
    assert s.loc["a", "frequency"] == 2
    assert s.loc["a", "recency"] == 8.0
    assert s.loc["a", "T"] == 8.0
    assert s.loc["a", "monetary_value"] == pytest.approx((40.0 + 10.0) / 2)


def test_string_ids_and_custom_columns():
    tx = pd.DataFrame(
        {
            "客户编号": pd.array(["C2", "C1", "C2"], dtype="str"),
            "day": pd.to_datetime(["2024-01-02", "2024-01-03", "2024-01-09"]),
            "value": [1.0, 2.0, 3.0],
        }
    )
    s = btyd_summary(
        tx, "2024-01-10", unit="D", customer_col="客户编号", date_col="day", amount_col="value"
    )
    assert list(s.index) == ["C1", "C2"]
    assert pd.api.types.is_string_dtype(s.index.dtype)
    assert s.loc["C2", "frequency"] == 1
    assert s.loc["C2", "monetary_value"] == 3.0
    no_amount = btyd_summary(tx, "2024-01-10", unit="D", customer_col="客户编号",
                             date_col="day", amount_col=None)
    assert "monetary_value" not in no_amount.columns


def test_first_purchase_end_selects_a_cohort(small):
    s = btyd_summary(small, "2024-02-29", unit="D", first_purchase_end="2024-01-05")
    assert list(s.index) == [1]
    assert s.loc[1, "frequency"] == 4  # the February order now counts


def test_errors_name_the_problem(small):
    with pytest.raises(KeyError, match="order_date"):
        btyd_summary(small.drop(columns="order_date"), "2024-01-31")
    with pytest.raises(ValueError, match="unit='M'"):
        btyd_summary(small, "2024-01-31", unit="M")
    with pytest.raises(ValueError, match="longer than unit"):
        btyd_summary(small, "2024-01-31", unit="D", period="W")
    bad = small.copy()
    bad.loc[2, "order_date"] = pd.NaT
    with pytest.raises(ValueError, match="1 missing dates"):
        btyd_summary(bad, "2024-01-31")
    bad = small.copy()
    bad.loc[0, "amount"] = np.nan
    with pytest.raises(ValueError, match="1 missing or infinite amounts"):
        btyd_summary(bad, "2024-01-31")
    with pytest.raises(ValueError, match="must be after calibration_end"):
        calibration_holdout(small, "2024-01-31", "2024-01-31")


def test_reproduces_the_published_cdnow_summary(cdnow_sample):
    """Fader, Hardie & Lee's CDNOW calibration summary: daily purchases, times in weeks."""
    s = btyd_summary(cdnow_sample, "1997-09-30", unit="W", period="D")
    ref = pd.read_csv(CDNOW / "cdnow_customers_summary_with_transactions.csv", index_col="ID")
    assert len(s) == len(ref) == 2357
    s = s.loc[ref.index]
    np.testing.assert_array_equal(s["frequency"].to_numpy(), ref["x"].to_numpy())
    np.testing.assert_allclose(s["recency"], ref["t_x"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(s["T"], ref["T"], atol=0.005 + 1e-9)
    np.testing.assert_allclose(s["monetary_value"], ref["zbar"], atol=0.005 + 1e-9)
    # the customer of the published spot value: x=2, t_x=30.43, T=38.86
    assert s.loc[1, ["frequency", "recency", "T"]].round(2).tolist() == [2, 30.43, 38.86]


def test_cdnow_holdout_actuals_match_source(cdnow_sample):
    """SOURCE.md: mean actual holdout purchases 0.237 (x=0), 0.697 (x=1), 1.393 (x=2), 6.359 (7+)."""
    ch = calibration_holdout(cdnow_sample, "1997-09-30", "1998-06-30", unit="W", period="D")
    assert len(ch) == 2357
    assert (ch["duration_holdout"] == 39.0).all()
    means = ch.groupby(ch["frequency_cal"].clip(upper=7))["frequency_holdout"].mean().round(3)
    assert means[0] == 0.237
    assert means[1] == 0.697
    assert means[2] == 1.393
    assert means[7] == 6.359


def test_calibration_holdout_hand_computed():
    tx = orders(
        [
            ("a", "2024-01-01", 10.0),
            ("a", "2024-01-10", 20.0),
            ("a", "2024-02-05", 40.0),
            ("a", "2024-02-05", 20.0),  # same holdout day: one purchase, two transactions
            ("a", "2024-03-15", 1.0),  # after observation_end
            ("b", "2024-01-20", 5.0),
            ("c", "2024-02-01", 8.0),  # first purchase in the holdout: not in the frame
        ]
    )
    ch = calibration_holdout(tx, "2024-01-31", "2024-02-29", unit="D")
    assert list(ch.index) == ["a", "b"]
    assert list(ch.columns) == [
        "frequency_cal", "recency_cal", "T_cal", "monetary_value_cal",
        "frequency_holdout", "monetary_value_holdout", "duration_holdout",
    ]
    assert ch.loc["a"].tolist() == [1, 9.0, 30.0, 20.0, 1, 30.0, 29.0]
    assert ch.loc["b"].tolist() == [0, 0.0, 11.0, 0.0, 0, 0.0, 29.0]
    weekly = calibration_holdout(tx, "2024-01-31", "2024-02-29", unit="W")
    # weeks: calibration end in the week of 01-29, observation end in the week of 02-26
    assert weekly.loc["a", "duration_holdout"] == 4.0
    assert weekly.loc["a", "T_cal"] == 4.0


# --- a naive reference implementation, written the obvious (slow) way ------------------------
def naive_summary(tx, observation_end, period_days):
    tx = tx[tx["order_date"] <= pd.Timestamp(observation_end)].copy()
    freq = "D" if period_days == 1 else "W"
    tx["start"] = tx["order_date"].dt.to_period(freq).dt.start_time
    end_start = pd.Timestamp(observation_end).to_period(freq).start_time
    rows = {}
    for cid, g in tx.groupby("customer_id"):
        per = g.groupby("start")["amount"].sum().sort_index()
        repeat = per.iloc[1:]
        rows[cid] = {
            "frequency": len(per) - 1,
            "recency": (per.index[-1] - per.index[0]).days / period_days,
            "T": (end_start - per.index[0]).days / period_days,
            "monetary_value": repeat.mean() if len(repeat) else 0.0,
        }
    return pd.DataFrame.from_dict(rows, orient="index")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6), st.integers(0, 60), st.integers(-50, 500)),
        min_size=1,
        max_size=40,
    ),
    st.sampled_from(["D", "W"]),
    st.integers(0, 70),
)
def test_matches_naive_reference(rows, unit, end_offset):
    tx = pd.DataFrame(rows, columns=["customer_id", "day", "amount"])
    tx["order_date"] = pd.Timestamp("2023-12-28") + pd.to_timedelta(tx["day"], unit="D")
    tx["amount"] = tx["amount"].astype(float)
    end = pd.Timestamp("2023-12-28") + pd.Timedelta(days=end_offset)
    got = btyd_summary(tx, end, unit=unit)
    want = naive_summary(tx, end, 1 if unit == "D" else 7)
    assert list(got.index) == sorted(want.index)
    if len(want):
        want = want.loc[got.index]
        for col in ["frequency", "recency", "T", "monetary_value"]:
            np.testing.assert_allclose(got[col].to_numpy(float), want[col].to_numpy(float),
                                       rtol=1e-12, atol=1e-9)
        assert (got["recency"] <= got["T"]).all()

"""RFM risk and the churn model's risk reconciled: a hand-checked case, errors, configuration."""

from __future__ import annotations

import pandas as pd
import pytest

from segkit.config import ConfigError
from segkit.insights.risk import load_findings_config, risk_crosstab, risk_flags, risk_reconciliation, why_differ


@pytest.fixture
def case():
    """Eight customers. RFM flags at_risk / cant_lose (A, B, C, E, F); the model flags high (A, D, G)."""
    rfm = pd.DataFrame({
        "rfm_segment": ["at_risk", "at_risk", "cant_lose", "lost", "at_risk", "cant_lose", "loyal", "no_orders"],
        "r_score": [2, 2, 1, 1, 1, 1, 3, None],
        "f_score": [3, 4, 5, 1, 2, 4, 4, None],
        "m_score": [3, 4, 5, 1, 2, 5, 4, None],
    }, index=pd.Index(list("ABCDEFGH"), name="customer_id"))
    # E, F and H did not order in the past year: the model does not score them
    scores = pd.DataFrame({
        "churn_probability": [0.80, 0.10, 0.30, 0.70, 0.55],
        "risk_level": ["high", "low", "medium", "high", "high"],
    }, index=pd.Index(list("ABCDG"), name="customer_id"))
    snap = pd.DataFrame({
        "revenue_12m": [100.0, 200.0, 400.0, 10.0, 0.0, 0.0, 50.0, 0.0],
        "recency_days": [150.0, 100.0, 200.0, 300.0, 400.0, 500.0, 60.0, None],
    }, index=rfm.index)
    return rfm, scores, snap


def test_flags_hand_checked(case):
    flags = risk_flags(*case)
    assert flags["flagged_by"].to_dict() == {"A": "both", "B": "rfm_only", "C": "rfm_only", "D": "model_only",
                                             "E": "rfm_only", "F": "rfm_only", "G": "model_only", "H": "neither"}
    assert flags.loc[["E", "F", "H"], "risk_level"].tolist() == ["not_scored"] * 3


def test_reconciliation_cells_hand_checked(case):
    table = risk_reconciliation(*case)
    assert int(table["customers"].sum()) == 8
    # who flags (both, RFM only, model only, neither), then RFM segment in the configured order,
    # risk level highest first, revenue highest first
    assert table.index.tolist() == [
        ("at_risk", "high"),            # A: both
        ("at_risk", "low"),             # B
        ("at_risk", "not_scored"),      # E
        ("cant_lose", "medium"),        # C
        ("cant_lose", "not_scored"),    # F
        ("loyal", "high"),              # G: model only, revenue 50
        ("lost", "high"),               # D: model only, revenue 10
        ("no_orders", "not_scored"),    # H
    ]
    # model-only cells share the level: the one with more revenue comes first
    assert table.loc[table["flagged_by"] == "model_only"].index.tolist() == [("loyal", "high"), ("lost", "high")]
    assert table.loc[("cant_lose", "medium"), ["customers", "revenue_12m"]].tolist() == [1, 400.0]
    assert table.loc[("at_risk", "high"), "model_min_probability"] == 0.5
    assert table.loc[("at_risk", "low"), "model_min_probability"] == 0.0
    assert pd.isna(table.loc[("at_risk", "not_scored"), "model_min_probability"])
    assert table.loc[("lost", "high"), "rfm_rule"] is None
    assert table.loc[("at_risk", "low"), "median_recency_days"] == 100.0
    overlap = set(case[0].index[case[0]["rfm_segment"].isin(["at_risk", "cant_lose"])]) & set(case[1].index[case[1]["risk_level"] == "high"])
    assert table.loc[table["flagged_by"] == "both", "customers"].sum() == len(overlap) == 1


def test_why_differ_hand_checked(case):
    why = why_differ(*case)
    assert why["customers"].to_dict() == {"both": 1, "rfm_only": 4, "model_only": 2}
    # RFM only: B (low), C (medium), E and F (not scored)
    assert why.loc["rfm_only", ["high", "medium", "low", "not_scored"]].tolist() == [0, 1, 1, 2]
    assert why.loc["rfm_only", "revenue_12m"] == 600.0
    assert why.loc["rfm_only", "median_recency_days"] == 300.0     # 100, 200, 400, 500
    assert why.loc["model_only", "median_recency_days"] == 180.0   # 300, 60
    assert why.loc["model_only", "median_churn_probability"] == pytest.approx(0.625)
    assert why.loc["both", "median_r_score"] == 2.0


def test_crosstab_margins(case):
    matrix = risk_crosstab(*case)
    assert matrix.index.tolist() == ["at_risk", "cant_lose", "lost", "loyal", "no_orders", "total"]
    assert matrix.columns.tolist() == ["high", "medium", "low", "not_scored", "total"]
    assert matrix.loc["total", "total"] == 8
    assert matrix.loc["at_risk"].tolist() == [1, 0, 1, 1, 3]
    assert matrix.loc["total"].tolist() == [3, 1, 1, 3, 8]
    revenue = risk_crosstab(*case, value="revenue_12m")
    assert revenue.loc["cant_lose", "medium"] == 400.0 and revenue.loc["total", "total"] == 760.0
    with pytest.raises(ValueError, match="value must be 'customers' or 'revenue_12m'"):
        risk_crosstab(*case, value="clv")


def test_without_snapshot_revenue_comes_from_the_scores(case):
    rfm, scores, snap = case
    scores = scores.assign(revenue_12m=[1.0, 2.0, 3.0, 4.0, 5.0])
    table = risk_reconciliation(rfm, scores)
    assert table["revenue_12m"].sum() == 15.0
    assert table.loc[("at_risk", "not_scored"), "revenue_12m"] == 0.0


def test_configuration_changes_who_flags(case):
    cfg = {"findings": {"rfm_risk_segments": ["at_risk"], "model_risk_levels": ["high", "medium"]}}
    flags = risk_flags(*case, config=cfg)
    assert flags.loc["C", "flagged_by"] == "model_only"   # can't-lose no longer RFM risk; medium now flags
    assert flags.loc["F", "flagged_by"] == "neither"
    with pytest.raises(ConfigError, match=r"model_risk_levels \['severe'\] are not churn risk levels"):
        load_findings_config({"findings": {"model_risk_levels": ["severe"]}})
    with pytest.raises(ConfigError, match="rfm_scheme 'nope' is not an RFM scheme"):
        load_findings_config({"findings": {"rfm_scheme": "nope"}})


def test_bad_tables_are_explained(case):
    rfm, scores, snap = case
    with pytest.raises(ValueError, match=r"the rfm table has no column\(s\) \['rfm_segment'\]"):
        risk_flags(rfm.drop(columns="rfm_segment"), scores)
    with pytest.raises(ValueError, match=r"scores table has no column\(s\) \['churn_probability'\]"):
        risk_flags(rfm, scores.drop(columns="churn_probability"))
    extra = pd.concat([scores, pd.DataFrame({"churn_probability": [0.2], "risk_level": ["low"]}, index=["Z"])])
    with pytest.raises(ValueError, match=r"the scores hold 1 customers the RFM table does not \(ids: Z\)"):
        risk_flags(rfm, extra)

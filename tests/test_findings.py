"""The summary's numbers name their customers, and the lists they point to contain them.

Issue 13 acceptance, on the sample and on a second generated data set (another seed and size):
every customer counted in a summary finding is in the list it points to; the migration matrix
sums to the tier counts (with new customers, lost customers and prospects); the RFM x model
risk table counts every customer once and its overlap is the direct set intersection.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import SAMPLE
from segkit.insights.findings import Finding, finding_lists, findings_table, summary_findings
from segkit.insights.migration import customers_at, migration
from segkit.insights.risk import risk_crosstab, risk_reconciliation, why_differ

QUARTER = "2026Q3"


@pytest.fixture
def small():
    """Six customers, two quarters, hand-checked."""
    snap = pd.DataFrame({"revenue_12m": [700e3, 450e3, 410e3, 150e3, 30e3, 380e3]},
                        index=pd.Index(["A", "B", "C", "D", "E", "F"], name="customer_id"))
    now = pd.DataFrame({"tier": ["core", "potential", "potential", "ordinary", "low_value", "potential"]}, index=snap.index)
    before = pd.DataFrame({"tier": ["potential", "core", "potential", "core", "low_value"]}, index=snap.index[:5])
    scores = pd.DataFrame({"churn_probability": [0.2, 0.7, 0.1, 0.9, 0.8, 0.3],
                           "risk_level": ["low", "high", "low", "high", "high", "medium"]}, index=snap.index)
    rfm = pd.DataFrame({"rfm_segment": ["champions", "at_risk", "loyal", "cant_lose", "lost", "at_risk"],
                        "r_score": [5, 2, 4, 1, 1, 2], "f_score": [5, 3, 4, 5, 1, 3], "m_score": [5, 3, 4, 5, 1, 3]},
                       index=snap.index)
    return snap, now, before, scores, rfm


def test_small_case_hand_checked(small):
    snap, now, before, scores, rfm = small
    mig = migration(before, now)
    found = {f.key: f for f in summary_findings(now, before, scores, rfm, mig, snapshot=snap)}
    assert found["core"].customer_ids == ("A",)
    assert found["core"].values["share"] == pytest.approx(1 / 6)
    assert found["core"].values["revenue_share"] == pytest.approx(700 / 2120)
    assert (found["core"].values["previous"], found["core"].values["change"]) == (2, -1)
    assert found["up_to_core"].customer_ids == ("A",) and found["up_to_core"].values["from_potential"] == 1
    assert set(found["downgrades"].customer_ids) == {"B", "D"}
    assert set(found["core_down"].customer_ids) == {"B", "D"}
    assert set(found["core_down_high_risk"].customer_ids) == {"B", "D"}
    assert found["high_risk"].customer_ids == ("B", "D", "E")
    assert found["core_high_risk"].value == 0
    # potential at >= 400,000 (80% of the 500,000 core line): B and C, not F (380,000)
    assert set(found["near_core"].customer_ids) == {"B", "C"}
    assert found["near_core"].settings == {"near_core_revenue": 400000.0}
    assert set(found["rfm_at_risk"].customer_ids) == {"B", "F"} and found["rfm_cant_lose"].customer_ids == ("D",)
    assert set(found["rfm_model_overlap"].customer_ids) == {"B", "D"}
    assert found["rfm_model_overlap"].values["model_flagged"] == 3
    lists = finding_lists(list(found.values()), now, snapshot=snap, scores=scores, rfm=rfm, migration=mig)
    assert list(lists) == ["core", "upgrades", "downgrades", "high_risk", "near_core", "rfm_risk"]
    # ordered by value at stake: D 0.9 x 150k = 135k, B 0.7 x 450k = 315k, E 0.8 x 30k = 24k
    assert lists["high_risk"].index.tolist() == ["B", "D", "E"]
    assert lists["high_risk"]["value_at_stake"].tolist() == pytest.approx([315e3, 135e3, 24e3])
    assert lists["downgrades"]["previous_tier"].tolist() == ["core", "core"]
    assert lists["rfm_risk"].loc["F", ["rfm_segment", "rfm_at_risk", "rfm_model_overlap"]].tolist() == ["at_risk", True, False]
    table = findings_table(list(found.values()))
    assert table.loc["near_core", "near_core_revenue"] == 400000.0 and table.loc["high_risk", "value"] == 3


def test_without_previous_quarter_or_scores(small):
    snap, now, *_ = small
    found = summary_findings(now, snapshot=snap)
    assert [f.key for f in found] == ["core", "near_core"]
    assert "previous" not in found[0].values
    with pytest.raises(ValueError, match="the snapshot has no column 'revenue_12m'"):
        summary_findings(now, snapshot=snap.rename(columns={"revenue_12m": "rev"}))
    with pytest.raises(ValueError, match="the current table has no column 'tier'"):
        summary_findings(now.rename(columns={"tier": "t"}), snapshot=snap)
    with pytest.raises(ValueError, match="finding 'x' counts some customers twice"):
        Finding("x", 2, "core", ("A", "A"))


# --- the sample and a second generated data set --------------------------------------------------


@pytest.fixture(scope="module")
def second_data(tmp_path_factory):
    from segkit.sample import generate_sample

    folder = tmp_path_factory.mktemp("findings_seed13")
    generate_sample(folder, seed=13, n_customers=400)  # another seed and size than data/sample
    return folder


def _run(data):
    """What the quarterly report computes (its context), and the findings on it."""
    from segkit.reporting import report_context

    ctx = report_context(QUARTER, data, lang="en")
    assert ctx.has("previous") and ctx.has("churn_model")
    found = summary_findings(ctx.tiers, ctx.previous_tiers, ctx.churn_scores, ctx.rfm_named, ctx.migration, ctx.thresholds,
                             snapshot=ctx.snapshot, config=ctx.user_config)
    return ctx, found


def _check(ctx, found):
    tiers, snap, scores, rfm, mig = ctx.tiers, ctx.snapshot, ctx.churn_scores, ctx.rfm_named, ctx.migration
    by_key = {f.key: f for f in found}
    # the findings are the numbers the summary states today (reporting.quarterly._summary_numbers
    # and executive_summary, computed the way they compute them)
    core = tiers["tier"] == "core"
    assert by_key["core"].value == int(core.sum())
    assert by_key["core"].values["share"] == pytest.approx(core.mean())
    assert by_key["core"].values["revenue_share"] == pytest.approx(snap.loc[core[core].index, "revenue_12m"].sum() / snap["revenue_12m"].sum())
    assert by_key["core"].values["change"] == int(core.sum()) - int((ctx.previous_tiers["tier"] == "core").sum())
    high = ctx.high_churn_risk()
    assert by_key["high_risk"].value == int(high.sum())
    assert by_key["core_high_risk"].value == int((high & core).sum())
    assert by_key["near_core"].settings["near_core_revenue"] == ctx.thresholds.values["near_core_revenue"]
    # every customer a finding counts is in the list it points to, and the list marks exactly them
    lists = finding_lists(found, tiers, snapshot=snap, scores=scores, rfm=rfm, migration=mig)
    for f in found:
        table = lists[f.list_name]
        assert set(f.customer_ids) <= set(table.index), f.key
        assert int(table[f.key].sum()) == f.value, f.key
        assert set(table.index[table[f.key]]) == set(f.customer_ids), f.key
    assert len(lists["downgrades"]) == len(mig.downgrades) and len(lists["upgrades"]) == len(mig.upgrades)
    assert set(lists["high_risk"].index) == set(scores.index[scores["risk_level"] == "high"]) & set(tiers.index)
    stake = lists["high_risk"]["value_at_stake"]
    assert stake.is_monotonic_decreasing and (stake == lists["high_risk"]["churn_probability"] * lists["high_risk"]["revenue_12m"]).all()
    near = lists["near_core"]
    assert (near["tier"] == "potential").all() and (near["revenue_12m"] >= by_key["near_core"].settings["near_core_revenue"]).all()

    # the migration matrix sums to the tier counts of both quarters
    counts, margins, order = mig.counts, mig.margins, mig.order
    assert margins["current_listed"].tolist() == tiers["tier"].value_counts().reindex(order, fill_value=0).tolist()
    assert margins["previous_listed"].tolist() == ctx.previous_tiers["tier"].value_counts().reindex(order, fill_value=0).tolist()
    assert counts[order].sum(axis=0).tolist() == (margins["current_listed"] - margins["current_prospects"]).tolist()
    assert counts.loc[order].sum(axis=1).tolist() == (margins["previous_listed"] - margins["previous_prospects"]).tolist()
    is_customer = customers_at(snap)
    assert set(mig.prospects["current_tier"].dropna().index) == set(is_customer.index[~is_customer])
    assert int(counts.loc["new"].sum()) == mig.totals["new"] and int(counts["lost"].sum()) == mig.totals["lost"]
    assert int(counts.to_numpy().sum()) == len(mig.moves)
    assert mig.revenue[order].sum(axis=0).to_numpy() == pytest.approx(margins["current_revenue"].to_numpy())

    # RFM risk x model risk: every customer once; the overlap is the set intersection
    table = risk_reconciliation(rfm, scores, snap)
    assert int(table["customers"].sum()) == len(rfm) == len(tiers)
    assert table["revenue_12m"].sum() == pytest.approx(snap["revenue_12m"].sum())
    rfm_risk = set(rfm.index[rfm["rfm_segment"].isin(["at_risk", "cant_lose"])])
    model_high = set(scores.index[scores["risk_level"] == "high"])
    both = int(table.loc[table["flagged_by"] == "both", "customers"].sum())
    assert both == len(rfm_risk & model_high) == by_key["rfm_model_overlap"].value
    assert by_key["rfm_at_risk"].value + by_key["rfm_cant_lose"].value == len(rfm_risk)
    assert risk_crosstab(rfm, scores, snap).loc["total", "total"] == len(rfm)
    why = why_differ(rfm, scores, snap)
    assert why.loc["rfm_only", "customers"] == len(rfm_risk - model_high)
    assert why.loc["model_only", "customers"] == len(model_high - rfm_risk)
    assert why.loc["rfm_only", "not_scored"] == len(rfm_risk - set(scores.index))
    return lists, why


@pytest.mark.slow
def test_sample_reconciles():
    ctx, found = _run(SAMPLE)
    lists, why = _check(ctx, found)
    # the sample's tier table lists 84 records that are not yet customers on 2026-09-30 (37
    # potential by a new-need inquiry, 47 low value): the gap the issue saw between the matrix
    # and the tier counts (496 vs 533, 660 vs 707)
    margins = ctx.migration.margins
    assert margins.loc[["potential", "low_value"], "current_prospects"].tolist() == [37, 47]
    assert margins.loc[["potential", "low_value"], "current"].tolist() == [496, 660]
    # most RFM at-risk customers are ones the model does not score: no order in the past year
    assert why.loc["rfm_only", "not_scored"] > why.loc["rfm_only", ["high", "medium", "low"]].sum()


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:BTYD features left out")  # an early training date of 400 customers
def test_second_data_set_reconciles(second_data):
    ctx, found = _run(second_data)
    assert len(ctx.tiers) < 1000  # another size than the sample's 2,000
    _check(ctx, found)

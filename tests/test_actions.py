"""Action lists ordered by value at stake, tier-aware actions, owner lists (issue 13)."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

import segkit
from segkit.insights.churn import score_churn
from segkit.insights.actions import action_list, owner_lists, write_owner_lists
from segkit.insights.strategy import strategy_plan

IDS = pd.Index(["C1", "C2", "C3", "C4", "C5", "C6"], name="customer_id")


@pytest.fixture
def six():
    """Six customers worked by hand (as of 2026-09-30):

    ====  =========  ====  =========  =========  ============  ===============
    id    tier       p     revenue    at risk?   value at      action, due
                                                 stake
    ====  =========  ====  =========  =========  ============  ===============
    C1    core       0.80  1,000,000  high       800,000       core_at_risk, 10-03
    C2    potential  0.90    200,000  high       180,000       churn_risk, 10-01
    C3    low_value  0.99      2,000  high         1,980       automated, 10-07
    C4    ordinary   0.70     50,000  high        35,000       churn_risk, 10-01
    C5    core       0.30  2,000,000  medium     (600,000)     not listed
    C6    ordinary   0.70     50,000  high        35,000       churn_risk, 10-01
    ====  =========  ====  =========  =========  ============  ===============
    """
    scores = pd.DataFrame({
        "churn_probability": [0.8, 0.9, 0.99, 0.7, 0.3, 0.7],
        "risk_level": ["high", "high", "high", "high", "medium", "high"],
        "n_signals": [2, 1, 3, 0, 0, 1],
    }, index=IDS)
    tiers = pd.DataFrame({"tier": ["core", "potential", "low_value", "ordinary", "core", "ordinary"]}, index=IDS)
    snap = pd.DataFrame({
        "name": ["=HYPERLINK(\"http://x\")", "乙公司", "丙公司", "丁公司", "戊公司", "己公司"],
        "owner": ["王芳", "王芳", "李强", "李强", "王芳", None],
        "department": ["华东销售部"] * 6,
        "revenue_12m": [1_000_000.0, 200_000.0, 2_000.0, 50_000.0, 2_000_000.0, 50_000.0],
        "contact_name": ["张伟", "李娜", "-王", "赵敏", "孙丽", "周杰"],
        "phone": ["13812345678", "13987654321", "13700001111", "13600002222", "13500003333", "13400004444"],
        "email": ["zhang.wei@a.example.com", "li.na@b.example.com", "w@c.example.com", "zhao@d.example.com",
                  "sun@e.example.com", "zhou@f.example.com"],
    }, index=IDS)
    return scores, tiers, snap


def test_hand_computed_six_customers(six):
    scores, tiers, snap = six
    a = action_list(scores, tiers, snap, as_of="2026-09-30")
    assert a["customer_id"].tolist() == ["C1", "C2", "C4", "C6", "C3"]  # C4/C6 tie: by id
    assert a["value_at_stake"].tolist() == pytest.approx([800_000, 180_000, 35_000, 35_000, 1_980])
    assert a["action_key"].tolist() == ["core_at_risk", "churn_risk", "churn_risk", "churn_risk", "automated"]
    assert a["owner_role"].tolist() == ["senior_management", "account_owner", "account_owner", "account_owner", "automation"]
    assert a["respond_within_days"].tolist() == [3, 1, 1, 1, 7]
    assert a["due_date"].dt.strftime("%Y-%m-%d").tolist() == ["2026-10-03", "2026-10-01", "2026-10-01", "2026-10-01", "2026-10-07"]
    # the probability order would have put the 2,000-revenue low-value account first
    assert scores.loc[a["customer_id"]].sort_values("churn_probability", ascending=False).index[0] == "C3"
    # a reader can check the top 2: 0.8 x 1,000,000 + 0.9 x 200,000
    assert a["value_at_stake"].head(2).sum() == pytest.approx(980_000)
    assert a.loc[a["customer_id"] == "C3", "n_signals"].item() == 3
    assert a.attrs["as_of"] == pd.Timestamp("2026-09-30") and a.attrs["value"] == "revenue_12m"
    # a threshold replaces the risk level: C5 (0.3 x 2,000,000 = 600,000) comes in second
    t = action_list(scores, tiers, snap, as_of="2026-09-30", threshold=0.25)
    assert t["customer_id"].tolist()[:3] == ["C1", "C5", "C2"]


def test_clv_as_the_value(six):
    scores, tiers, snap = six
    clv = pd.Series([10.0, 1_000.0, 50.0, 20.0, 0.0, 30.0], index=IDS, name="clv")
    a = action_list(scores, tiers, snap, value="clv", clv=clv, as_of="2026-09-30")
    assert a["customer_id"].tolist() == ["C2", "C3", "C6", "C4", "C1"]
    assert a["value_at_stake"].tolist() == pytest.approx([900, 49.5, 21, 14, 8])
    assert a.attrs["value"] == "clv"


def test_errors_name_the_problem(six):
    scores, tiers, snap = six
    with pytest.raises(ValueError, match=r"value must be one of \['revenue_12m', 'clv'\], got 'margin'"):
        action_list(scores, tiers, snap, value="margin", as_of="2026-09-30")
    with pytest.raises(ValueError, match="value='clv' needs clv="):
        action_list(scores, tiers, snap, value="clv", as_of="2026-09-30")
    with pytest.raises(ValueError, match="as_of is needed"):
        action_list(scores, tiers, snap)
    with pytest.raises(ValueError, match=r"1 customer\(s\) \(C2\) at risk are not in the snapshot"):
        action_list(scores, tiers, snap.drop(index="C2"), as_of="2026-09-30")
    with pytest.raises(ValueError, match=r"no strategy for tier\(s\) \['vip'\]"):
        action_list(scores, tiers.replace({"potential": "vip"}), snap, as_of="2026-09-30")
    with pytest.raises(ValueError, match="threshold must be a probability between 0 and 1, got 1.5"):
        action_list(scores, tiers, snap, as_of="2026-09-30", threshold=1.5)
    with pytest.raises(ValueError, match=r"revenue_12m is missing or not a number for 1 customer\(s\) \(C4\)"):
        action_list(scores, tiers, snap.assign(revenue_12m=snap["revenue_12m"].where(snap.index != "C4")), as_of="2026-09-30")


def test_owner_files_are_masked_and_injection_safe(six, tmp_path):
    scores, tiers, snap = six
    a = action_list(scores, tiers, snap, as_of="2026-09-30")
    lists = owner_lists(a)
    assert {k: v["customer_id"].tolist() for k, v in lists.items()} == {
        "李强": ["C4", "C3"], "王芳": ["C1", "C2"], None: ["C6"]}
    written = write_owner_lists(a, tmp_path / "masked")
    assert sorted(p.name for p in written.values()) == ["actions-no-owner.xlsx", "actions-李强.xlsx", "actions-王芳.xlsx"]

    def cells(path):
        ws = load_workbook(path).active
        return [c for row in ws.iter_rows() for c in row if c.value is not None]

    masked = [c for p in written.values() for c in cells(p)]
    text = {str(c.value) for c in masked}
    for col in ("phone", "email", "contact_name"):
        assert not text & set(snap[col]), col       # no full phone, e-mail or contact name
    assert "138****5678" in text and "z***@a.example.com" in text
    # text cells that start with = + - @ are stored as text behind a quote, never formulas
    wang = {str(c.value): c for c in cells(written["王芳"])}
    assert "'=HYPERLINK(\"http://x\")" in wang and wang["'=HYPERLINK(\"http://x\")"].data_type == "s"
    li = {str(c.value) for c in cells(written["李强"])}
    assert "'-*" in li                                       # the contact "-王" masked, then neutralised
    assert not any(isinstance(c.value, str) and c.value.startswith(("=", "+", "-", "@")) for c in masked)
    # scope = the owner: contacts in full
    plain = write_owner_lists(a, tmp_path / "plain", mask=False)
    assert {"13812345678", "zhang.wei@a.example.com", "张伟"} <= {str(c.value) for c in cells(plain["王芳"])}


def test_owner_names_that_share_a_file_are_refused(six, tmp_path):
    scores, tiers, snap = six
    a = action_list(scores, tiers, snap.assign(owner=["Wang", "wang", "李强", "李强", "王芳", "李强"]), as_of="2026-09-30")
    with pytest.raises(ValueError, match="would share the file"):
        write_owner_lists(a, tmp_path)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 1), st.sampled_from(["core", "potential", "ordinary", "low_value"]),
                          st.sampled_from([0.0, 10.0, 2_500.0, 1e6]), st.sampled_from(["甲", "乙", "丙", None])),
                min_size=1, max_size=40))
def test_properties(rows):
    ids = pd.Index([f"C{i:03d}" for i in range(len(rows))], name="customer_id")
    p, tier, revenue, owner = (list(x) for x in zip(*rows))
    scores = pd.DataFrame({"churn_probability": p}, index=ids)
    snap = pd.DataFrame({"owner": owner, "department": "d", "revenue_12m": revenue}, index=ids)
    a = action_list(scores, pd.Series(tier, index=ids, name="tier"), snap, as_of="2026-09-30", threshold=0.5)
    at_risk = sorted(ids[[x >= 0.5 for x in p]])
    assert sorted(a["customer_id"]) == at_risk                        # each at-risk customer exactly once
    stake = a["value_at_stake"].to_numpy()
    assert (stake[:-1] >= stake[1:]).all()                             # ordering non-increasing
    assert (a.loc[a["tier"] == "low_value", "action_key"] == "automated").all()
    lists = owner_lists(a)
    assert sorted(cid for v in lists.values() for cid in v["customer_id"]) == at_risk   # a partition
    for v in lists.values():
        assert (v["value_at_stake"].diff().dropna() <= 0).all()


# --- on the sample and a second generated data set ------------------------------------------


@pytest.fixture(scope="module", params=["sample", "seed13"])
def scored(request, tmp_path_factory):
    if request.param == "sample":
        ds = segkit.load_dataset("data/sample")
    else:
        folder = tmp_path_factory.mktemp("seed13")
        segkit.generate_sample(folder, seed=13, n_customers=400)
        ds = segkit.load_dataset(folder)
    snap = segkit.snapshot(ds, as_of=ds.as_of)
    tiers = segkit.assign_tiers(snap)
    scores = score_churn(ds, tiers=tiers, progress=False)
    return request.param, snap, tiers, scores


def test_the_largest_value_at_stake_comes_first(scored):
    name, snap, tiers, scores = scored
    a = action_list(scores, tiers, snap)
    high = scores.index[scores["risk_level"] == "high"]
    assert len(a) == len(high) > 25
    stake = scores.loc[high, "churn_probability"] * snap.loc[high, "revenue_12m"]
    assert a.loc[0, "customer_id"] == stake.idxmax()
    assert a.loc[0, "value_at_stake"] == pytest.approx(stake.max())
    # a reader can recompute the top 25's value at stake from the scores and the snapshot
    top = a.head(25)
    assert top["value_at_stake"].sum() == pytest.approx(
        (scores.loc[top["customer_id"], "churn_probability"] * snap.loc[top["customer_id"], "revenue_12m"]).sum())
    # the first 25 hold more of the value at stake than the 25 most likely to churn
    share = top["value_at_stake"].sum() / stake.sum()
    by_probability = stake.loc[scores.loc[high].sort_values("churn_probability", ascending=False).index[:25]].sum() / stake.sum()
    print(f"\n{name}: top 25 hold {share:.1%} of the value at stake (probability order: {by_probability:.1%})")
    assert share > by_probability
    assert (a.loc[a["tier"] == "low_value", "action_key"] == "automated").all()
    assert (a.loc[a["tier"] == "core", "action_key"] == "core_at_risk").all()
    assert a["owner"].notna().all() and set(a["owner"]) <= set(snap["owner"].dropna())
    lists = owner_lists(a)
    assert sum(len(v) for v in lists.values()) == len(a)


def test_strategy_plan_reconciles(scored):
    name, snap, tiers, scores = scored
    plan = strategy_plan(tiers, scores, snapshot=snap)
    assert plan.index.tolist() == ["core", "potential", "ordinary", "low_value"]
    assert plan["n_customers"].sum() == len(tiers)
    assert plan["revenue_12m"].sum() == pytest.approx(snap["revenue_12m"].sum())
    assert plan["n_at_risk"].sum() == (scores["risk_level"] == "high").sum()
    counts = tiers["tier"].astype("str").value_counts()
    assert plan["n_customers"].to_dict() == {t: counts.get(t, 0) for t in plan.index}
    for tier, examples in plan["example_customers"].items():
        members = snap.loc[tiers.index[tiers["tier"].astype("str") == tier], "revenue_12m"]
        by_revenue = sorted(members.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
        assert list(examples) == [cid for cid, _ in by_revenue]
    assert plan.loc["core", "respond_within_days"] == 3 and plan.loc["low_value", "at_risk_action"] == "automated"

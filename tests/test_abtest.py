"""A/B tests: numbers checked against scipy, R's documented power examples and hand formulas."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from segkit.insights.abtest import (
    ab_assign,
    ab_evaluate,
    ab_outcomes,
    describe_ab,
    ab_power,
    minimum_detectable_effect,
    sample_size,
)
from segkit.io import load_dataset


def rates(x1: int, n1: int, x2: int, n2: int) -> pd.DataFrame:
    return pd.DataFrame({
        "group": ["treatment"] * n1 + ["control"] * n2,
        "repurchase": [True] * x1 + [False] * (n1 - x1) + [True] * x2 + [False] * (n2 - x2),
    })


# --- rates -----------------------------------------------------------------------------------


def test_two_proportion_test_by_hand():
    result = ab_evaluate(rates(80, 200, 240, 800))
    r = result.loc["total"]
    assert (r["n_treatment"], r["n_control"]) == (200, 800)
    assert (r["treatment_mean"], r["control_mean"]) == (0.4, 0.3)
    assert r["difference"] == pytest.approx(0.1)
    assert r["relative_lift"] == pytest.approx(1 / 3)
    pooled = 320 / 1000
    z = 0.1 / math.sqrt(pooled * (1 - pooled) * (1 / 200 + 1 / 800))
    assert r["statistic"] == pytest.approx(z) and r["statistic"] == pytest.approx(2.7116307, rel=1e-7)
    half = 1.959963985 * math.sqrt(0.4 * 0.6 / 200 + 0.3 * 0.7 / 800)    # Wald, unpooled
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(0.1 - half), pytest.approx(0.1 + half))
    assert r["test"] == "two_proportion_z" and r["kind"] == "rate"
    assert describe_ab(result, "en").loc["total", "test_label"] == "Two-proportion z-test"
    # keys and numbers only in the analysis; the words are describe_ab's
    assert not {"verdict_label", "explanation", "rule"} & set(result.columns) and "rule" not in result.attrs


@settings(max_examples=60, deadline=None)
@given(n1=st.integers(5, 400), n2=st.integers(5, 400), data=st.data())
def test_z_squared_equals_chi_square_without_correction(n1, n2, data):
    x1 = data.draw(st.integers(0, n1))
    x2 = data.draw(st.integers(0, n2))
    if x1 + x2 in (0, n1 + n2):
        return  # a column of zeros: chi-square is undefined
    r = ab_evaluate(rates(x1, n1, x2, n2)).loc["total"]
    chi2 = stats.chi2_contingency([[x1, n1 - x1], [x2, n2 - x2]], correction=False)
    assert r["statistic"] ** 2 == pytest.approx(chi2.statistic, rel=1e-9)
    assert r["p_value"] == pytest.approx(chi2.pvalue, rel=1e-9, abs=1e-300)


def test_identical_outcomes_in_both_groups_mean_no_difference():
    r = ab_evaluate(rates(0, 50, 0, 60)).loc["total"]
    assert (r["difference"], r["statistic"], r["p_value"]) == (0.0, 0.0, 1.0)


# --- continuous metrics ---------------------------------------------------------------------


def revenue_outcomes(seed: int = 1, n1: int = 60, n2: int = 240, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    a = rng.gamma(2.0, 5000.0, n1) + shift
    b = rng.gamma(2.0, 4000.0, n2)
    return pd.DataFrame({"group": ["treatment"] * n1 + ["control"] * n2, "revenue": np.concatenate([a, b])})


def test_welch_matches_scipy():
    out = revenue_outcomes()
    result = ab_evaluate(out, metric="revenue")
    r = result.loc["total"]
    a = out.loc[out["group"] == "treatment", "revenue"]
    b = out.loc[out["group"] == "control", "revenue"]
    ref = stats.ttest_ind(a, b, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert r["kind"] == "continuous" and r["test"] == "welch_t"
    said = describe_ab(result, "en").loc["total"]
    assert said["test_label"] == "Welch t-test" and said["explanation"].startswith(
        f"Treatment {a.mean():,.2f}, control {b.mean():,.2f}; difference {a.mean() - b.mean():+,.2f}")
    assert r["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
    assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-8)
    assert (r["ci_low"], r["ci_high"]) == (pytest.approx(ci.low, rel=1e-8), pytest.approx(ci.high, rel=1e-8))
    assert r["difference"] == pytest.approx(a.mean() - b.mean())


def test_bootstrap_is_seeded_and_agrees_with_welch_on_large_samples():
    out = revenue_outcomes(n1=3000, n2=3000)
    first = ab_evaluate(out, metric="revenue", seed=3).loc["total"]
    again = ab_evaluate(out, metric="revenue", seed=3).loc["total"]
    other = ab_evaluate(out, metric="revenue", seed=4).loc["total"]
    assert (first["boot_ci_low"], first["boot_ci_high"]) == (again["boot_ci_low"], again["boot_ci_high"])
    assert first["boot_ci_low"] != other["boot_ci_low"]
    width = first["ci_high"] - first["ci_low"]
    assert abs(first["boot_ci_low"] - first["ci_low"]) < 0.05 * width
    assert abs(first["boot_ci_high"] - first["ci_high"]) < 0.05 * width


def test_bootstrap_of_constant_groups_is_the_exact_difference():
    out = pd.DataFrame({"group": ["treatment"] * 5 + ["control"] * 7, "revenue": [300.0] * 5 + [100.0] * 7})
    r = ab_evaluate(out, metric="revenue", kind="continuous").loc["total"]
    assert (r["boot_ci_low"], r["boot_ci_high"]) == (200.0, 200.0)
    assert (r["ci_low"], r["ci_high"], r["p_value"]) == (200.0, 200.0, 0.0)


# --- verdicts -------------------------------------------------------------------------------


def test_roll_out_keep_testing_and_no_effect():
    # +10 points on 1,000 customers: significant -> roll out
    assert ab_evaluate(rates(80, 200, 240, 800)).loc["total", "verdict"] == "roll_out"
    # 30% vs 30% on 20,000 customers: the 95% CI (about ±1.6 points) lies below +3 points
    # (a 10% relative lift on 30%) -> no effect
    flat_result = ab_evaluate(rates(1200, 4000, 4800, 16000))
    flat = flat_result.loc["total"]
    assert flat["min_effect"] == pytest.approx(0.03)
    assert flat["ci_high"] < 0.03 and flat["verdict"] == "no_effect"
    assert describe_ab(flat_result, "en").loc["total", "verdict_label"] == "No effect"
    # +5 points on 100 customers: the CI covers 0 and +3 points alike -> keep testing
    small_result = ab_evaluate(rates(7, 20, 20, 80))
    small = small_result.loc["total"]
    assert small["p_value"] > 0.05 and small["ci_low"] < 0 < 0.03 < small["ci_high"]
    assert small["verdict"] == "keep_testing" and describe_ab(small_result).loc["total", "verdict_label"] == "继续测试"
    # significantly worse -> no effect (the tactic is not rolled out)
    worse = ab_evaluate(rates(300, 2000, 3200, 8000)).loc["total"]
    assert worse["p_value"] < 0.05 and worse["difference"] < 0 and worse["verdict"] == "no_effect"


def test_too_small_samples_keep_testing_whatever_the_p_value():
    # 5 of 5 treated customers repurchased vs 2 of 20: p < 0.001, but no treated customer said
    # "no", so the normal approximation is not trusted
    tiny_result = ab_evaluate(rates(5, 5, 2, 20))
    tiny = tiny_result.loc["total"]
    assert tiny["p_value"] < 0.001 and not tiny["enough_data"] and tiny["verdict"] == "keep_testing"
    assert describe_ab(tiny_result, "en").loc["total", "rule"].startswith("Rule: with fewer than 5 yes or no outcomes in a group")
    enough = ab_evaluate(rates(25, 30, 40, 120)).loc["total"]
    assert enough["enough_data"] and enough["verdict"] == "roll_out"
    few = pd.DataFrame({"group": ["treatment"] * 9 + ["control"] * 40, "revenue": [500.0] * 9 + list(range(40))})
    result = ab_evaluate(few, metric="revenue")
    r = result.loc["total"]
    assert r["p_value"] < 0.001 and r["verdict"] == "keep_testing" and "少于10位客户" in describe_ab(result).loc["total", "rule"]


def test_min_effect_changes_the_verdict_and_the_rule_says_so():
    flat = rates(1200, 4000, 4800, 16000)
    result = ab_evaluate(flat, min_effect=0.005)                           # the CI reaches above +0.5 pp
    assert result.loc["total", "verdict"] == "keep_testing"
    rule = describe_ab(result, "en").loc["total", "rule"]
    assert "(+0.5 pp)" in rule and "p < 0.05" in rule and "95% confidence interval" in rule
    zh = describe_ab(ab_evaluate(flat)).loc["total"]
    assert "+3.0个百分点" in zh["rule"] and "推广" in zh["rule"] and zh["verdict_label"] == "无效果"
    assert zh["explanation"].startswith("实验组30.0%，对照组30.0%")
    with pytest.raises(ValueError, match="unknown language"):
        describe_ab(result, "fr")


def test_by_stratum_rows_and_total():
    out = pd.concat([rates(80, 200, 240, 800).assign(tier="potential"),
                     rates(10, 50, 40, 200).assign(tier="low_value")], ignore_index=True)
    r = ab_evaluate(out, by="tier")
    assert r.index.tolist() == ["potential", "low_value", "total"]     # tier order, then the total
    assert r.loc["low_value", "n_treatment"] == 50 and r.loc["total", "n_treatment"] == 250
    assert r.loc["total", "treatment_mean"] == pytest.approx(90 / 250)
    assert r.loc["low_value", "difference"] == pytest.approx(0.0)
    other = ab_evaluate(out.rename(columns={"tier": "segment"}), by="segment")
    assert other.index.tolist() == ["low_value", "potential", "total"]  # any other column: sorted


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="no column 'repurchased'"):
        ab_evaluate(rates(1, 5, 1, 5), metric="repurchased")
    with pytest.raises(ValueError, match="no 'B' rows"):
        ab_evaluate(rates(1, 5, 1, 5), treatment="B")
    with pytest.raises(ValueError, match="not 0/1"):
        ab_evaluate(revenue_outcomes(), metric="revenue", kind="rate")


# --- planning -------------------------------------------------------------------------------


def test_power_reproduces_r_documentation():
    # R: power.prop.test(n = 50, p1 = .50, p2 = .75)  => power = 0.740
    assert ab_power(0.25, 50, baseline=0.5) == pytest.approx(0.7401659, abs=5e-7)
    # R: power.t.test(n = 20, delta = 1)  => power = 0.8689528
    assert ab_power(1.0, 20, sd=1.0) == pytest.approx(0.8689528, abs=5e-7)


def test_sample_size_reproduces_r_documentation():
    # R: power.prop.test(p1 = .50, p2 = .75, power = .90)  => n = 76.7 per group
    assert sample_size(0.5, 0.25, power=0.9).tolist() == [77, 77, 154]
    # R: power.t.test(power = .90, delta = 1)  => n = 22.02 per group
    assert sample_size(mde=1.0, sd=1.0, power=0.9).tolist() == [23, 23, 46]
    # 10% -> 12% at 80% power, by hand: (1.95996 * sqrt(2 * 0.11 * 0.89)
    # + 0.84162 * sqrt(0.10 * 0.90 + 0.12 * 0.88))**2 / 0.02**2 = 3840.8 -> 3,841 per group
    assert sample_size(0.10, 0.02)["n_treatment"] == 3841


@pytest.mark.parametrize("share", [0.2, 0.5, 0.7])
def test_sample_size_is_the_smallest_that_reaches_the_power(share):
    ratio = (1 - share) / share
    n = sample_size(0.30, 0.05, share=share, power=0.8)
    assert ab_power(0.05, n["n_treatment"], n["n_control"], baseline=0.30) >= 0.8
    fewer = n["n_treatment"] - 1
    assert ab_power(0.05, fewer, fewer * ratio, baseline=0.30) < 0.8
    assert abs(n["n_control"] / n["n_treatment"] - ratio) < (ratio + 1) / n["n_treatment"]  # both rounded up
    assert n["n_total"] == n["n_treatment"] + n["n_control"]
    m = sample_size(mde=500.0, sd=4000.0, share=share)
    assert ab_power(500.0, m["n_treatment"], m["n_control"], sd=4000.0) >= 0.8
    assert ab_power(500.0, m["n_treatment"] - 1, (m["n_treatment"] - 1) * ratio, sd=4000.0) < 0.8


def test_unequal_allocation_needs_more_customers_in_total():
    assert sample_size(0.30, 0.05, share=0.2)["n_total"] > sample_size(0.30, 0.05, share=0.5)["n_total"]


def test_minimum_detectable_effect_inverts_the_power():
    mde = minimum_detectable_effect(200, 800, baseline=0.3, power=0.8)
    assert ab_power(mde, 200, 800, baseline=0.3) == pytest.approx(0.8, abs=1e-9)
    assert 0.09 < mde < 0.12
    mde_t = minimum_detectable_effect(20, sd=1.0, power=0.8689528)
    assert mde_t == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="no increase from 0.99"):
        minimum_detectable_effect(3, 3, baseline=0.99)


def test_planning_errors():
    with pytest.raises(ValueError, match="baseline= .* or sd="):
        sample_size(mde=0.1)
    with pytest.raises(ValueError, match="baseline \\+ mde"):
        sample_size(0.95, 0.1)
    with pytest.raises(ValueError, match="at least 2 customers"):
        ab_power(0.1, 1, baseline=0.3)


# --- assignment -----------------------------------------------------------------------------


@pytest.fixture
def tiers():
    sizes = {"potential": 12, "core": 13, "ordinary": 5, "low_value": 2}
    keys = [t for t, n in sizes.items() for _ in range(n)]
    return pd.DataFrame({"tier": keys}, index=pd.Index([f"C{i:03d}" for i in range(len(keys))], name="customer_id"))


def test_assignment_shares_are_exact_per_stratum(tiers):
    a = ab_assign(tiers, share=0.2, seed=11)
    treated = a[a["group"] == "treatment"].groupby("tier").size().reindex(tiers["tier"].unique(), fill_value=0)
    # round half up: 12 * 0.2 = 2.4 -> 2; 13 * 0.2 = 2.6 -> 3; 5 * 0.2 = 1; 2 * 0.2 = 0.4 -> 0
    assert treated.to_dict() == {"potential": 2, "core": 3, "ordinary": 1, "low_value": 0}
    assert a.index.tolist() == tiers.index.tolist()
    assert set(a["group"]) == {"treatment", "control"} and list(a.columns) == ["tier", "group"]
    assert ab_assign(tiers, share=0.5, seed=0).query("tier == 'ordinary'")["group"].eq("treatment").sum() == 3  # 2.5 -> 3


def test_assignment_is_reproducible_and_order_free(tiers):
    a = ab_assign(tiers, seed=5)
    shuffled = tiers.sample(frac=1.0, random_state=1)
    assert ab_assign(shuffled, seed=5).loc[a.index].equals(a)
    assert not ab_assign(tiers, seed=6)["group"].equals(a["group"])
    # a new stratum does not change the draw of the others
    more = pd.concat([tiers, pd.DataFrame({"tier": ["new"] * 4}, index=pd.Index(list("WXYZ"), name="customer_id"))])
    assert ab_assign(more, seed=5).loc[a.index, "group"].equals(a["group"])


def test_assignment_is_random_within_strata():
    ids = pd.Index([f"C{i:04d}" for i in range(2000)], name="customer_id")
    a = ab_assign(ids, share=0.2, stratify=None, seed=1)
    assert (a["group"] == "treatment").sum() == 400
    # treatment members spread over the whole id range, not the first 400
    position = np.flatnonzero(a["group"].to_numpy() == "treatment")
    assert 800 < position.mean() < 1200


def test_assignment_errors(tiers):
    with pytest.raises(ValueError, match="no column 'segment'"):
        ab_assign(tiers, stratify="segment")
    with pytest.raises(ValueError, match="appear more than once"):
        ab_assign(pd.concat([tiers, tiers.iloc[:1]]))
    with pytest.raises(ValueError, match="share must be between 0 and 1"):
        ab_assign(tiers, share=1.2)
    with pytest.raises(ValueError, match="stratify=None"):
        ab_assign(["C1", "C2"])


# --- outcomes from a data set ---------------------------------------------------------------


def test_outcomes_window_is_open_left_closed_right(write, tmp_path):
    write("customers.csv", ["customer_id", "name"], [["A", "甲"], ["B", "乙"], ["C", "丙"]])
    write("orders.csv", ["customer_id", "order_date", "amount"], [
        ["A", "2026-06-30", "100"],    # on the start day: before the window
        ["A", "2026-07-01", "200"],
        ["A", "2026-09-30", "-50"],    # refund on the last day: revenue, not an order
        ["B", "2026-09-30", "300"],
        ["C", "2026-10-01", "999"],    # after the window
    ])
    ds = load_dataset(tmp_path, as_of="2026-10-31")
    assignment = pd.DataFrame({"group": ["treatment", "control", "control"]},
                              index=pd.Index(["A", "B", "C"], name="customer_id"))
    out = ab_outcomes(ds, assignment, "2026-06-30", "2026-09-30")
    assert out["orders"].tolist() == [1, 1, 0]
    assert out["repurchase"].tolist() == [True, True, False]
    assert out["revenue"].tolist() == [150.0, 300.0, 0.0]
    assert out.attrs["window"] == (pd.Timestamp("2026-06-30"), pd.Timestamp("2026-09-30"))


def test_plot_ab_result():
    from matplotlib.figure import Figure

    from segkit.plots.kpi import plot_ab_result

    out = pd.concat([rates(80, 200, 240, 800).assign(tier="potential"),
                     rates(10, 50, 40, 200).assign(tier="low_value")], ignore_index=True)
    fig = plot_ab_result(ab_evaluate(out, by="tier"), lang="en")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["Potential", "Low value", "All customers"]
    assert ax.get_title() == "A/B test: Repurchase rate"
    assert "Roll out" in [t.get_text() for t in ax.texts]

"""Record-maintenance cadence: due dates, overdue flags and the per-owner summary, by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from segkit.config import ConfigError, default_section
from segkit.insights.cadence import cadence_reasons, cadence_report, cadence_summary, load_cadence_config
from segkit.io import load_dataset

AS_OF = "2026-09-30"   # a Wednesday


@pytest.fixture
def ds(write, tmp_path):
    write("customers.csv", ["customer_id", "name", "owner", "department", "record_updated"], [
        ["K1", "一", "王", "华东", "2026-08-31"],   # core: due 2026-09-30 = as_of -> on time
        ["K2", "二", "王", "华东", "2026-08-15"],   # core: due 2026-09-15 -> 15 days overdue
        ["K3", "三", "李", "华南", "2026-06-30"],   # potential: due 2026-09-30 -> on time
        ["K4", "四", "李", "华南", "2026-05-01"],   # potential: due 2026-08-01 -> 60 days overdue
        ["K5", "五", "李", "华南", "2026-04-30"],   # ordinary: due 2026-10-30, but a contact change...
        ["K6", "六", "张", "华北", ""],             # no update date -> overdue, days unknown
        ["K7", "七", "张", "华北", "2026-10-15"],   # updated after as_of -> status unknown
        ["K8", "八", "张", "华北", "2026-09-01"],   # contact change recorded on the update
        ["K9", "九", "赵", "华北", "2026-03-01"],   # no tier: 6 months -> due 2026-09-01, 29 days
    ])
    write("orders.csv", ["customer_id", "order_date", "amount"], [["K1", "2026-09-01", "100"]])
    write("interactions.csv", ["customer_id", "date", "type"], [
        ["K5", "2026-09-24", "key_contact_change"],   # Thursday + 3 working days = Tue 2026-09-29
        ["K8", "2026-08-20", "key_contact_change"],   # before the last update: recorded
        ["K8", "2026-09-10", "call"],
        ["K1", "2026-09-20", "visit"],
        ["K1", "2026-10-05", "visit"],                # after as_of: ignored
    ])
    return load_dataset(tmp_path, as_of="2026-10-31")


@pytest.fixture
def tiers():
    return pd.Series(["core", "core", "potential", "potential", "ordinary", "low_value", "low_value", "ordinary"],
                     index=pd.Index([f"K{i}" for i in range(1, 9)], name="customer_id"), name="tier")


def test_due_dates_and_overdue_by_hand(ds, tiers):
    r = cadence_report(ds, tiers, AS_OF)
    reasons = cadence_reasons(r, "en")
    assert r["refresh_months"].tolist() == [1, 1, 3, 3, 6, 6, 6, 6, 6]
    assert r["due_date"].dt.strftime("%Y-%m-%d").fillna("").tolist() == [
        "2026-09-30", "2026-09-15", "2026-09-30", "2026-08-01", "2026-09-29", "", "", "2027-03-01", "2026-09-01"]
    assert r["overdue"].tolist() == [False, True, False, True, True, True, pd.NA, False, True]
    assert r["days_overdue"].tolist() == [0, 15, 0, 60, 1, pd.NA, pd.NA, 0, 29]
    assert r.loc["K5", "pending_contact_change"] == pd.Timestamp("2026-09-24")
    assert pd.isna(r.loc["K8", "pending_contact_change"])
    assert r.loc["K1", "last_contact"] == pd.Timestamp("2026-09-20") and r.loc["K1", "days_since_contact"] == 10
    assert r.loc["K8", "last_contact"] == pd.Timestamp("2026-09-10")
    assert pd.isna(r.loc["K5", "last_contact"])          # a contact change is not a contact
    assert r.loc["K9", "tier"] == ""
    # the two deadlines behind due_date: the tier's interval and the contact change's working days
    # K5 updated on a month end (04-30): due 6 months on, at the month end 10-31
    assert r.loc["K5", "due_refresh"] == pd.Timestamp("2026-10-31") and r.loc["K5", "due_contact_change"] == pd.Timestamp("2026-09-29")
    assert pd.isna(r.loc["K2", "due_contact_change"]) and r.loc["K2", "due_refresh"] == r.loc["K2", "due_date"]
    # keys, dates and numbers only: no text column in the analysis
    assert not [c for c in r.columns if pd.api.types.is_string_dtype(r[c]) and c not in ("tier", "owner", "department")]
    assert reasons.loc["K2"] == "record not updated for more than 1 month (last update 2026-08-15, due 2026-09-15)"
    assert reasons.loc["K4"].startswith("record not updated for more than 3 months")
    assert reasons.loc["K5"] == "key-contact change on 2026-09-24 not recorded within 3 working days (due 2026-09-29)"
    assert reasons.loc["K6"] == "the record has no update date"
    assert "unknown" in reasons.loc["K7"] and reasons.loc["K1"] == ""
    assert (reasons.loc[r["overdue"].fillna(True).astype(bool)] != "").all()  # every overdue or unknown record says why
    assert r.attrs["contract_status_hours"] == 24


def test_reasons_in_chinese(ds, tiers):
    reasons = cadence_reasons(cadence_report(ds, tiers, AS_OF))
    assert reasons.loc["K2"] == "档案超过1个月未更新（上次更新 2026-08-15，应于 2026-09-15 前更新）"
    assert reasons.loc["K5"] == "关键联系人变更（2026-09-24）未在3个工作日内更新档案（应于 2026-09-29 前）"
    with pytest.raises(ValueError, match="unknown language"):
        cadence_reasons(cadence_report(ds, tiers, AS_OF), "de")


def test_holidays_move_the_contact_change_deadline(ds, tiers):
    # Monday 2026-09-28 a holiday: Thursday + 3 working days = Wednesday 2026-09-30 -> on time
    r = cadence_report(ds, tiers, AS_OF, config={"cadence": {"holidays": ["2026-09-28"]}})
    assert r.loc["K5", "due_date"] == pd.Timestamp("2026-09-30") and not r.loc["K5", "overdue"]


def test_earlier_as_of(ds, tiers):
    # as of 2026-08-31: K2 (updated 08-15) is fine; K1's update of 08-31 is on the day; K4 is 30 days late
    r = cadence_report(ds, tiers, "2026-08-31")
    assert r.loc["K4", "days_overdue"] == 30 and not r.loc["K2", "overdue"]
    assert pd.isna(r.loc["K8", "overdue"])               # updated on 2026-09-01, after that as_of


def test_summary_per_owner(ds, tiers):
    s = cadence_summary(cadence_report(ds, tiers, AS_OF))
    assert s.index.tolist() == ["李", "赵", "王", "张", "total"]   # most overdue first
    assert s.loc["李"].to_dict() == {"customers": 3, "overdue": 2, "overdue_share": pytest.approx(2 / 3),
                                     "never_updated": 0, "status_unknown": 0, "max_days_overdue": 60,
                                     "median_days_overdue": 30.5}
    assert s.loc["张", "overdue"] == 1 and s.loc["张", "never_updated"] == 1 and s.loc["张", "status_unknown"] == 1
    assert pd.isna(s.loc["张", "max_days_overdue"])
    total = s.loc["total"]
    assert (total["customers"], total["overdue"], total["max_days_overdue"]) == (9, 5, 60)
    assert total["median_days_overdue"] == 22.0                      # 1, 15, 29, 60
    by_department = cadence_summary(cadence_report(ds, tiers, AS_OF), by="department")
    assert by_department.loc["华北", "customers"] == 4


def test_default_intervals_agree_with_the_strategy_section():
    strategy = default_section("strategy")
    months = {t: strategy["cadences"][plan["cadence"]]["months"] for t, plan in strategy["tiers"].items()}
    assert load_cadence_config().refresh_months == months == {"core": 1, "potential": 3, "ordinary": 6, "low_value": 6}
    cfg = load_cadence_config()
    assert (cfg.contact_change_working_days, cfg.contract_status_hours) == (3, 24)


def test_configuration_that_contradicts_the_strategy_is_refused(ds, tiers):
    with pytest.raises(ConfigError, match="cadence.refresh_months.potential is 1 .* strategy.tiers.potential.cadence is 'quarterly'"):
        cadence_report(ds, tiers, AS_OF, config={"cadence": {"refresh_months": {"potential": 1}}})
    both = {"cadence": {"refresh_months": {"potential": 1}}, "strategy": {"tiers": {"potential": {"cadence": "monthly"}}}}
    r = cadence_report(ds, tiers, AS_OF, config=both)
    # updated 2026-06-30, monthly: due at the next month end 2026-07-31, 61 days before as_of
    assert r.loc["K3", "refresh_months"] == 1 and r.loc["K3", "days_overdue"] == 61
    with pytest.raises(ConfigError, match="not a date"):
        cadence_report(ds, tiers, AS_OF, config={"cadence": {"holidays": ["National Day"]}})


def test_errors(ds, tiers):
    with pytest.raises(ValueError, match=r"no refresh interval for tier\(s\) \['vip'\]"):
        cadence_report(ds, tiers.replace({"core": "vip"}), AS_OF)
    with pytest.raises(ValueError, match="not in the data"):
        cadence_report(ds, pd.Series(["core"], index=pd.Index(["X1"], name="customer_id")), AS_OF)
    with pytest.raises(ValueError, match="no column 'region'"):
        cadence_summary(cadence_report(ds, tiers, AS_OF), by="region")


def test_plot_cadence(ds, tiers):
    from matplotlib.figure import Figure

    from segkit.plots.kpi import plot_cadence

    fig = plot_cadence(cadence_summary(cadence_report(ds, tiers, AS_OF)), lang="zh")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["李", "赵", "王", "张"]
    overdue_bars = [p.get_width() for p in ax.containers[0]]
    assert overdue_bars == [2, 1, 1, 1]

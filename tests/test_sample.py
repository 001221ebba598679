"""The synthetic sample data set (segkit.sample, data/sample).

Two groups of tests: the generator (deterministic, well-formed, documented dirty records) and
the committed data (exactly what the generator writes, and calibrated so that every handbook
tier is well populated at the two most recent quarter ends).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from segkit.config import default_section
from segkit.schema import TABLES, is_valid_credit_code
from segkit.sample import (
    AS_OF,
    DATA_START,
    DEFAULT_SEED,
    DIRTY_RECORDS,
    EMAIL_DOMAIN,
    OWNERS,
    PHONE_PREFIX,
    SAMPLE_FILES,
    SYNONYMS,
    generate_sample,
    sample_tables,
)

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
FILE_TABLE = {"customers.csv": "customers", "orders.csv": "transactions", "interactions.csv": "interactions", "surveys.csv": "surveys",
              "contracts.csv": "contracts"}


def read(path: Path) -> pd.DataFrame:
    """A sample CSV as written: every value a string, empty cells as ''."""
    return pd.read_csv(path, encoding="utf-8-sig", dtype=str, keep_default_na=False)


def handbook_tiers(snap: pd.DataFrame) -> pd.Series:
    """Business rules section 2, evaluated in order, first match wins; no match = borderline."""
    rev, inter = snap["revenue_12m"], snap["interactions_6m"]
    new_need = snap["new_need_inquiry_6m"] > 0
    renew = snap["renewal_intent"].fillna(False).astype(bool)
    tier = np.select(
        [(rev >= 500_000) & (inter >= 10),
         ((rev >= 200_000) & (rev < 500_000)) | new_need,
         (rev >= 50_000) & (rev < 200_000) & (inter >= 3) & (inter <= 9),
         (rev < 50_000) | ((inter == 0) & ~renew)],
        ["core", "potential", "ordinary", "low_value"], "borderline")
    return pd.Series(tier, index=snap.index)


# --------------------------------------------------------------------------------------------
# The generator
# --------------------------------------------------------------------------------------------
def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    a = generate_sample(tmp_path / "a", seed=11, n_customers=120)
    b = generate_sample(tmp_path / "b", seed=11, n_customers=120)
    c = generate_sample(tmp_path / "c", seed=12, n_customers=120)
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(SAMPLE_FILES)
    for key in a:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    for key in ("customers", "transactions", "interactions", "surveys"):
        assert a[key].read_bytes() != c[key].read_bytes(), key


def test_files_look_like_a_chinese_excel_export(tmp_path):
    paths = generate_sample(tmp_path, seed=3, n_customers=80)
    for name, table in FILE_TABLE.items():
        raw = (tmp_path / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), f"{name} has no UTF-8 BOM"
        header = raw.decode("utf-8-sig").split("\n", 1)[0].split(",")
        assert header == [c.zh for c in TABLES[table].columns]
    orders = read(paths["transactions"])
    clean = orders[~orders["订单编号"].str.endswith("B")]
    assert clean["交易日期"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert clean["交易金额"].str.fullmatch(r"-?\d+\.\d{2}").all()
    dates = pd.to_datetime(clean["交易日期"], format="%Y-%m-%d")
    in_window = (dates >= DATA_START) & (dates <= AS_OF)
    assert (~in_window).sum() == 3  # the three orders booked after the as-of date
    meta = yaml.safe_load(paths["dataset"].read_text(encoding="utf-8"))
    assert meta["name"] == "示例公司客户数据 / Sample B2B CRM data"
    assert str(meta["as_of"]) == AS_OF and meta["currency"] == "CNY" and meta["seed"] == 3
    assert re.fullmatch(r"segkit \S+ sample", meta["generator"])


def test_too_few_or_too_many_customers_is_an_error():
    with pytest.raises(ValueError, match="between 40 .* got 10"):
        sample_tables(seed=1, n_customers=10)
    with pytest.raises(ValueError, match="got 10000"):
        sample_tables(seed=1, n_customers=10_000)


def test_segkit_sample_writes_the_folder_and_counts_its_rows(tmp_path, capsys):
    from segkit.cli import main

    assert main(["sample", "--out", str(tmp_path), "--seed", "5", "--customers", "60"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(SAMPLE_FILES)
    printed = capsys.readouterr().out.splitlines()
    for path in tmp_path.glob("*.csv"):  # each CSV with its data rows (lines less the header)
        rows = len(path.read_text(encoding="utf-8-sig").splitlines()) - 1
        assert any(line.startswith(f"{path} ") and f" {rows:,} rows" in line for line in printed), (path, printed)
    assert printed[-1].startswith(f"{len(SAMPLE_FILES)} files, ") and printed[-1].endswith(", seed 5, 60 customers")


def test_synonyms_written_are_synonyms_in_the_vocabulary():
    vocab = default_section("vocabularies")
    for name, keys in SYNONYMS.items():
        for key, synonyms in keys.items():
            for synonym in synonyms:
                assert synonym in vocab[name][key]["synonyms"], (name, key, synonym)


# --------------------------------------------------------------------------------------------
# The committed data set
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    generate_sample(out, seed=DEFAULT_SEED)
    return out


@pytest.fixture(scope="module")
def customers():
    return read(SAMPLE / "customers.csv")


@pytest.fixture(scope="module")
def dataset():
    io = pytest.importorskip("segkit.io")
    return io.load_dataset(SAMPLE)


@pytest.fixture(scope="module")
def snapshots(dataset):
    features = pytest.importorskip("segkit.features")
    return {as_of: features.snapshot(dataset, as_of) for as_of in ("2025-09-30", "2026-03-31", "2026-06-30", "2026-09-30")}


def test_committed_files_are_exactly_what_the_generator_writes(regenerated):
    for name in SAMPLE_FILES:
        committed, fresh = (SAMPLE / name).read_bytes(), (regenerated / name).read_bytes()
        if name == "dataset.yaml":  # the generator line names the segkit version
            committed, fresh = (re.sub(rb"generator: .*", b"", x) for x in (committed, fresh))
        assert committed == fresh, f"data/sample/{name} differs: run `segkit sample --out data/sample --seed {DEFAULT_SEED}`"


def test_sample_is_small():
    total = sum((SAMPLE / name).stat().st_size for name in SAMPLE_FILES)
    assert total <= 10 * 1024 * 1024


def test_credit_codes_valid_except_the_documented_ones(customers):
    invalid = customers.loc[~customers["统一社会信用代码"].map(is_valid_credit_code), "统一社会信用代码"]
    assert len(invalid) == 3
    codes = customers.drop_duplicates("客户编号")["统一社会信用代码"]
    assert codes.is_unique
    assert codes.str.fullmatch(r"91\d{6}[0-9A-Z]{9}[0-9A-Z]").all()


def test_contact_details_are_fake(customers):
    assert customers["联系电话"].str.fullmatch(re.escape(PHONE_PREFIX) + r"\d{4}").all()
    assert customers["电子邮箱"].str.fullmatch(r"[a-z]+\.[a-z]+@[a-z]+\." + re.escape(EMAIL_DOMAIN)).all()


def test_companies_owners_and_departments(customers):
    c = customers.drop_duplicates("客户编号")
    assert len(c) == 2000 and len(customers) == 2002
    assert c["客户名称"].is_unique and c["客户名称"].str.endswith("公司").all()
    owners = c.groupby("客户负责人")["所属部门"].nunique()
    assert 8 <= len(owners) <= 12 and (owners == 1).all()
    assert 3 <= c["所属部门"].nunique() <= 4
    assert set(c["客户负责人"]) == {name for name, _ in OWNERS}
    assert set(c["注册地区"]) == {"华东", "华北", "华南", "华中", "西南", "西北", "东北"}
    employees = c["员工人数"].astype(int)
    revenue = c["年营收"].astype(float)
    size = np.select([(employees > 1000) | (revenue > 1e8), (employees >= 100) | (revenue >= 1e7)], ["large", "medium"], "small")
    shares = pd.Series(size).value_counts(normalize=True)
    assert shares.min() >= 0.10, shares.to_dict()
    stages = c["合作阶段"].value_counts()
    assert {"潜在客户", "意向客户", "合作中", "流失"} <= set(stages.index)


def test_vocabulary_columns_mostly_standard_labels_some_synonyms(customers):
    vocab = default_section("vocabularies")
    labels = {v["zh"] for v in vocab["industry"].values()}
    written = customers["所属行业"]
    share_standard = written.isin(labels).mean()
    assert 0.93 <= share_standard <= 0.995
    assert (written == "新材料").sum() == 2


def test_load_dataset_rejects_exactly_the_documented_records(dataset):
    rejected = dataset.rejected
    got = Counter(zip(rejected["table"], rejected["column"]))
    expected = Counter()
    for file, column, _, count, handling in DIRTY_RECORDS:
        if handling.startswith("reject"):
            expected[(FILE_TABLE[file], column)] += count
    assert got == expected
    files = dataset.files.set_index("file")
    assert (files["rows_read"] == files["rows_accepted"] + files["rows_rejected"]).all()
    assert files["rows_rejected"].sum() == sum(expected.values())


def test_load_dataset_warns_about_the_documented_values(dataset):
    got = Counter(zip(dataset.warnings["table"], dataset.warnings["column"]))
    expected = Counter()
    for file, column, _, count, handling in DIRTY_RECORDS:
        if not handling.startswith("reject"):
            expected[(FILE_TABLE[file], column)] += count
    assert got == expected


def test_refunds_are_kept(dataset):
    orders = read(SAMPLE / "orders.csv")
    returns = orders["订单编号"].str.startswith("RT")
    assert returns.sum() > 50
    assert orders.loc[returns, "交易金额"].str.startswith("-").all()
    assert (dataset.transactions["amount"] < 0).sum() == returns.sum()


@pytest.mark.parametrize("as_of", ["2026-09-30", "2026-06-30"])
def test_every_handbook_tier_is_well_populated(snapshots, as_of):
    shares = handbook_tiers(snapshots[as_of]).value_counts(normalize=True)
    assert 0.08 <= shares["core"] <= 0.15, shares.to_dict()
    assert 0.20 <= shares["potential"] <= 0.30, shares.to_dict()
    assert 0.20 <= shares["ordinary"] <= 0.30, shares.to_dict()
    assert 0.25 <= shares["low_value"] <= 0.40, shares.to_dict()
    assert 0.02 <= shares["borderline"] <= 0.07, shares.to_dict()


def test_customers_near_thresholds_and_moving_between_tiers(snapshots):
    now, before = snapshots["2026-09-30"], snapshots["2026-06-30"]
    revenue = now["revenue_12m"]
    for threshold in (50_000, 200_000, 500_000):
        assert ((revenue - threshold).abs() < 0.1 * threshold).sum() >= 20, threshold
    order = {"low_value": 0, "borderline": 1, "ordinary": 1, "potential": 2, "core": 3}
    rank_now = handbook_tiers(now).map(order)
    rank_before = handbook_tiers(before).map(order)
    assert (rank_now > rank_before).sum() >= 50
    assert (rank_now < rank_before).sum() >= 50
    assert 0.10 <= (handbook_tiers(now) != handbook_tiers(before)).mean() <= 0.40


def test_churn_rate_and_warning_signals(snapshots):
    start, end = snapshots["2025-09-30"], snapshots["2026-09-30"]
    active = start["orders_12m"] > 0
    lost = active & (end["orders_12m"] == 0)
    assert 0.08 <= lost.sum() / active.sum() <= 0.20
    # customers who stop buying in the next 6 months showed it in the snapshot before
    before, after = snapshots["2026-03-31"], snapshots["2026-09-30"]
    base = before[before["orders_12m"] > 0]
    stops = after.loc[base.index, "orders_6m"] == 0
    means = base.groupby(stops)[["satisfaction", "complaints_6m", "interactions_3m", "orders_0_3m", "key_contact_changed_6m"]].mean()
    assert means.loc[True, "satisfaction"] < means.loc[False, "satisfaction"] - 3
    assert means.loc[True, "complaints_6m"] > 1.5 * means.loc[False, "complaints_6m"]
    assert means.loc[True, "interactions_3m"] < 0.6 * means.loc[False, "interactions_3m"]
    assert means.loc[True, "orders_0_3m"] < 0.5 * means.loc[False, "orders_0_3m"]
    assert means.loc[True, "key_contact_changed_6m"] > means.loc[False, "key_contact_changed_6m"]


def test_rfm_inputs_are_spread(snapshots):
    snap = snapshots["2026-09-30"]
    recency = snap["recency_days"].dropna()
    assert (recency <= 30).mean() > 0.2 and (recency > 90).mean() > 0.2
    monthly = snap["orders_12m"] / 12
    assert (monthly >= 5).sum() >= 10 and ((monthly >= 1) & (monthly < 5)).sum() >= 200
    cumulative = snap["revenue_total"]
    assert (cumulative >= 100_000).mean() > 0.3 and (cumulative < 50_000).mean() > 0.1

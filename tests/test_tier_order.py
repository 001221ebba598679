"""Tier order is written once (``tiers.order``): ``tier`` is an ordered categorical of it.

Checked on hand-made rows, on the committed sample and on a second generated data set (another
seed and size), so the property does not hang on one data set's tier mix.
"""

from __future__ import annotations

import warnings

import pytest

from segkit.features import snapshot
from segkit.io import load_dataset
from segkit.sample import generate_sample
from segkit.segment.thresholds import TierHealthWarning
from segkit.segment.tiers import assign_tiers, handbook_examples, load_tiers_config, tier_dtype

from conftest import SAMPLE

DEFAULT_ORDER = ["core", "potential", "ordinary", "low_value"]  # tiers.yaml, read back to check it


@pytest.fixture(scope="module")
def sample_tiers():
    ds = load_dataset(SAMPLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TierHealthWarning)
        return assign_tiers(snapshot(ds, as_of="2026-09-30"))


@pytest.fixture(scope="module")
def seed13_tiers(tmp_path_factory):
    folder = tmp_path_factory.mktemp("seed13")
    generate_sample(folder, seed=13, n_customers=400)  # another seed and size than data/sample
    ds = load_dataset(folder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", TierHealthWarning)
        return assign_tiers(snapshot(ds, as_of="2026-09-30"))


def test_tier_dtype_is_the_configured_order():
    assert list(load_tiers_config().order) == DEFAULT_ORDER
    dtype = tier_dtype()
    assert dtype.ordered and list(dtype.categories) == DEFAULT_ORDER
    assert tier_dtype(load_tiers_config()) == dtype


def test_a_configured_order_is_the_order_of_the_column():
    # a user who ranks potential above core gets that order everywhere, without other edits
    cfg = {"tiers": {"order": ["potential", "core", "ordinary", "low_value"]}}
    assert list(tier_dtype(cfg).categories) == ["potential", "core", "ordinary", "low_value"]
    tiers = assign_tiers(handbook_examples(), config=cfg)
    assert list(tiers["tier"].cat.categories) == ["potential", "core", "ordinary", "low_value"]
    assert tiers.sort_values("tier").index.tolist() == ["C002", "C001", "C003", "C004"]
    assert tiers.attrs["tier_order"] == ["potential", "core", "ordinary", "low_value"]


def test_comparisons_and_groupby_on_the_categorical():
    tiers = assign_tiers(handbook_examples())
    assert (tiers["tier"] == "core").tolist() == [True, False, False, False]
    assert (tiers["tier"] != tiers["rule_tier"]).sum() == 0
    # ordered: "higher than ordinary" is core and potential (C001, C002)
    assert tiers.index[tiers["tier"] < "ordinary"].tolist() == ["C001", "C002"]
    assert tiers["tier"].isin(["ordinary", "low_value"]).sum() == 2
    # a tier nobody is in still shows, with 0, in config order
    one = assign_tiers(handbook_examples().loc[["C003"]])
    counts = one.groupby("tier", observed=False).size()
    assert counts.index.tolist() == DEFAULT_ORDER and counts.tolist() == [0, 0, 1, 0]
    assert one.groupby("tier", observed=True).size().to_dict() == {"ordinary": 1}
    # writing a tier that is not configured is refused, not silently added
    with pytest.raises(TypeError):
        one.loc["C003", "tier"] = "vip"


@pytest.mark.parametrize("which", ["sample_tiers", "seed13_tiers"])
def test_sorting_by_tier_gives_the_configured_order(which, request):
    tiers = request.getfixturevalue(which)
    assert list(tiers["tier"].cat.categories) == tiers.attrs["tier_order"] == DEFAULT_ORDER
    ranked = tiers.sort_values("tier", kind="stable")["tier"]
    position = ranked.map({k: i for i, k in enumerate(DEFAULT_ORDER)}).astype(int)
    assert position.is_monotonic_increasing
    # every tier is present in both data sets, so the first appearances are the whole order
    assert list(dict.fromkeys(ranked.astype(str))) == DEFAULT_ORDER
    # descending puts the lowest tier first
    assert tiers.sort_values("tier", ascending=False)["tier"].iloc[0] == "low_value"
    counts = tiers.groupby("tier", observed=False).size()
    assert counts.index.tolist() == DEFAULT_ORDER
    assert int(counts.sum()) == len(tiers)
    assert counts.to_dict() == {k: int((tiers["tier"] == k).sum()) for k in DEFAULT_ORDER}
    assert tiers["tier"].value_counts(sort=False).index.tolist() == DEFAULT_ORDER


def test_the_two_data_sets_differ(sample_tiers, seed13_tiers):
    # the second data set is not the sample again: another size, and customers of its own
    assert len(sample_tiers) > 1000 > len(seed13_tiers) > 300

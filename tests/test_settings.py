"""One Settings object per run: the file read once, unknown sections refused, sections validated
once and shared by every ``config=`` parameter, a fingerprint for report footers, immutable."""

from __future__ import annotations

import copy
import pickle

import pytest

import segkit
import segkit.config as config_module
from segkit.config import ConfigError, Settings, load_section, read_user_config, registered_sections
from segkit.insights.abtest import load_abtest_config
from segkit.insights.cadence import load_cadence_config
from segkit.insights.churn.config import load_churn_config
from segkit.insights.kpi import load_kpi_config
from segkit.insights.renewals import load_renewals_config
from segkit.insights.risk import load_findings_config
from segkit.insights.strategy import load_strategy
from segkit.io import vocabulary_indexes
from segkit.models.clv import load_config as load_clv_config
from segkit.segment.classify import load_classify_config
from segkit.segment.rfm import load_rfm_config
from segkit.segment.tags import load_tags_config
from segkit.segment.thresholds import load_thresholds_config
from segkit.segment.tiers import TiersConfig, load_tiers_config

# one key changed in many sections, so a loader that ignored the Settings would give the defaults
CONFIG = """\
tiers:
  review: {margin: 0.05}
thresholds:
  lines:
    core_revenue: {value: 400000}
rfm:
  default_scheme: handbook
abtest:
  alpha: 0.01
cadence:
  default_months: 4
kpi:
  nps: {promoter_min: 10}
clv:
  annual_discount_rate: 0.07
renewals:
  grace_days: 60
findings:
  rfm_risk_segments: [at_risk]
churn:
  labels: {active_months: 9}
tags:
  review: {alpha: 0.01}
vocabularies:
  industry:
    manufacturing: {zh: 制造业, en: Manufacturing, synonyms: [新材料]}
"""

LOADERS = [load_tiers_config, load_thresholds_config, load_rfm_config, load_abtest_config, load_cadence_config,
           load_kpi_config, load_clv_config, load_renewals_config, load_findings_config, load_churn_config,
           load_tags_config, load_classify_config, load_strategy]


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


@pytest.fixture
def reads(monkeypatch):
    """How many times a user's YAML file is read (every read goes through read_yaml_mapping)."""
    calls = []
    real = config_module.read_yaml_mapping

    def counted(path, *args, **kwargs):
        calls.append(str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(config_module, "read_yaml_mapping", counted)
    return calls


def test_the_file_is_read_once_however_many_sections_are_loaded(config_file, reads):
    settings = Settings(config_file)
    for loader in LOADERS:
        loader(settings)
        loader(settings)
    vocabulary_indexes(settings)
    assert reads == [str(config_file)]
    for loader in LOADERS[:3]:  # a path, by contrast, is read at every call
        loader(config_file)
    assert len(reads) > 3


@pytest.mark.parametrize("loader", LOADERS, ids=lambda f: f.__name__)
def test_every_loader_gives_the_same_model_from_a_settings_as_from_the_path(config_file, loader):
    assert loader(Settings(config_file)) == loader(config_file)


def test_the_settings_values_reach_the_models(config_file):
    settings = Settings(config_file)
    assert load_tiers_config(settings).review.margin == 0.05
    assert load_thresholds_config(settings).lines["core_revenue"].value == 400000.0
    assert load_thresholds_config(settings).lines["core_revenue"].unit == "money"  # the default unit is kept
    assert load_rfm_config(settings).default_scheme == "handbook"
    assert load_abtest_config(settings).alpha == 0.01
    assert load_cadence_config(settings).default_months == 4
    assert load_renewals_config(settings).grace_days == 60
    assert vocabulary_indexes(settings)["industry"]["新材料"] == "manufacturing"
    assert vocabulary_indexes(settings)["industry"][next(iter(vocabulary_indexes()["industry"]))]  # defaults kept


def test_an_unknown_section_is_refused_at_construction_naming_the_file_and_the_sections(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("tiers:\n  review: {margin: 0.05}\ntier:\n  order: [core]\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Settings(path)
    message = str(info.value)
    assert message.startswith(f"{path}: unknown configuration section(s) ['tier']; sections: ['abtest', ")
    assert "'tiers'" in message and "'vocabularies'" in message
    # a file holding only a section's own keys is not a whole configuration either
    with pytest.raises(ConfigError, match=r"the configuration: unknown configuration section\(s\) \['review'\]"):
        Settings({"review": {"margin": 0.05}})
    with pytest.raises(ConfigError, match="section 'tiers' must be a mapping of keys, not 0.05"):
        Settings({"tiers": 0.05})


def test_a_bad_value_names_the_file_once_the_section_is_read(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tiers:\n  review: {margn: 0.05}\n", encoding="utf-8")
    settings = Settings(path)  # the sections are validated when used (or by validate())
    with pytest.raises(ConfigError) as info:
        load_tiers_config(settings)
    assert str(info.value) == (f"invalid configuration in {path}:\n"
                               "  - unknown key 'review.margn'; allowed keys here: ['margin']")


def test_validate_reports_every_invalid_registered_section_at_once(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text("tiers:\n  review: {margn: 0.05}\nabtest:\n  alpha: high\n", encoding="utf-8")
    assert {"tiers", "abtest", "rfm", "thresholds", "vocabularies"} <= set(registered_sections())
    with pytest.raises(ConfigError) as info:
        Settings(path).validate()
    message = str(info.value)
    assert "unknown key 'review.margn'" in message and "alpha: Input should be a valid number" in message
    assert message.count(f"invalid configuration in {path}") == 2
    checked = Settings().validate()
    assert set(checked) == set(registered_sections())
    assert checked["tiers"] == load_tiers_config()


def test_fingerprint_is_equal_for_equal_content_and_differs_for_one_changed_key(config_file, tmp_path):
    same = tmp_path / "same.yaml"
    same.write_text("# the same settings, written elsewhere\n" + CONFIG, encoding="utf-8")
    from_file = Settings(config_file)
    assert from_file.fingerprint == Settings(same).fingerprint == Settings(read_user_config(config_file)).fingerprint
    changed = tmp_path / "changed.yaml"
    changed.write_text(CONFIG.replace("margin: 0.05", "margin: 0.06"), encoding="utf-8")
    assert Settings(changed).fingerprint != from_file.fingerprint
    # a key set to its default value changes nothing: the fingerprint is of the effective configuration
    default_margin = load_tiers_config().review.margin
    assert Settings({"tiers": {"review": {"margin": default_margin}}}).fingerprint == Settings().fingerprint
    assert len(from_file.fingerprint) == 12 and int(from_file.fingerprint, 16) >= 0


def test_settings_cannot_be_changed(config_file):
    settings = Settings(config_file)
    with pytest.raises(AttributeError, match="Settings cannot be changed"):
        settings.path = "other.yaml"
    with pytest.raises(AttributeError, match="Settings cannot be changed"):
        del settings.path
    with pytest.raises(TypeError):
        settings["tiers"] = {}
    settings["tiers"]["review"]["margin"] = 0.5  # a copy: the settings keep their value
    settings.to_dict()["tiers"]["review"]["margin"] = 0.5
    assert settings["tiers"] == {"review": {"margin": 0.05}}
    first = load_tiers_config(settings)
    first.review.margin = 0.5  # the loaders return copies; the validated section is kept intact
    assert load_tiers_config(settings).review.margin == 0.05
    assert settings.section("tiers", TiersConfig) is settings.section("tiers", TiersConfig)
    assert load_section("tiers", TiersConfig, settings) is not settings.section("tiers", TiersConfig)


def test_settings_copy_pickle_and_rebuild_without_reading_again(config_file, reads):
    settings = Settings(config_file)
    assert copy.deepcopy(settings) is settings and copy.copy(settings) is settings
    again = pickle.loads(pickle.dumps(settings))
    assert again == settings and hash(again) == hash(settings) and again.path == config_file
    assert Settings(settings) == settings and Settings(settings).fingerprint == settings.fingerprint
    assert reads == [str(config_file)]
    assert Settings(dict(settings)) != settings  # same content, no file: errors could not name it
    assert Settings(dict(settings)).fingerprint == settings.fingerprint


def test_repr_and_mapping_view(config_file):
    settings = Settings(config_file)
    assert repr(settings) == (f"Settings({str(config_file)!r}, sections={sorted(settings)}, "
                              f"fingerprint={settings.fingerprint!r})")
    assert repr(Settings()) == f"Settings(defaults, sections=[], fingerprint={Settings().fingerprint!r})"
    assert len(settings) == 12 and "tiers" in settings and settings.path == config_file
    assert Settings().path is None and dict(Settings()) == {}


def test_hostile_yaml_is_refused_when_the_settings_are_built(tmp_path):
    path = tmp_path / "hostile.yaml"
    path.write_text("tiers:\n  review: {margin: 0.05}\ntiers:\n  review: {margin: 0.2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=f"{path}: key 'tiers' is written twice"):
        Settings(path)
    path.write_text("a: &a [1, 2]\n" + "\n".join(f"k{i}: *a" for i in range(101)) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="more than 100 aliases"):
        Settings(path)
    path.write_text("tiers: !!python/object/apply:os.system ['true']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        Settings(path)
    with pytest.raises(ConfigError, match="configuration file not found"):
        Settings(tmp_path / "missing.yaml")


def test_the_cli_reads_its_config_once(config_file, reads, tmp_path):
    from segkit.cli import main

    from conftest import SAMPLE

    out = tmp_path / "tiers.csv"
    assert main(["tiers", "--data", str(SAMPLE), "--as-of", "2026-09-30", "--config", str(config_file),
                 "--lang", "en", "--out", str(out)]) == 0
    assert reads.count(str(config_file)) == 1  # (the data folder's dataset.yaml is read too)
    assert out.is_file()


def test_settings_is_public():
    assert segkit.Settings is Settings and "Settings" in segkit.__all__


def test_on_a_second_data_set_tiers_from_the_settings_are_those_from_the_path(second_data, tmp_path):
    import pandas as pd

    from segkit.features import snapshot
    from segkit.io import load_dataset
    from segkit.segment.tiers import assign_tiers

    path = tmp_path / "absolute.yaml"  # handbook lines in USD: core from 300,000 of 12-month revenue
    path.write_text("thresholds:\n  mode: absolute\n  lines:\n    core_revenue: {value: 300000}\n", encoding="utf-8")
    settings = Settings(path)
    ds = load_dataset(second_data, config=settings)
    snap = snapshot(ds, "2026-06-30")
    by_settings = assign_tiers(snap, config=settings, as_of="2026-06-30")
    by_path = assign_tiers(snap, config=path, as_of="2026-06-30")
    pd.testing.assert_frame_equal(by_settings, by_path)
    defaults = assign_tiers(snap, config=Settings({"thresholds": {"mode": "absolute"}}), as_of="2026-06-30")
    # the lower core line promotes customers: exactly those with revenue between the two lines and core activity
    promoted = (by_settings["tier"] == "core") & (defaults["tier"] != "core")
    assert promoted.sum() > 0 and (by_settings["tier"] != "core").sum() < (defaults["tier"] != "core").sum()
    assert snap.loc[promoted[promoted].index, "revenue_12m"].between(300000, 500000, inclusive="left").all()

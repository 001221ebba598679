"""Configuration loading: defaults, user overrides, errors that name the key."""

from __future__ import annotations

import pytest

from segkit.config import ConfigError, StrictModel, config_hash, deep_merge, load_section
from segkit.insights.strategy import StrategyConfig
from segkit.segment.tiers import TiersConfig


class Inner(StrictModel):
    a: int = 1
    b: str = "x"


class Outer(StrictModel):
    items: list[Inner] = []
    named: dict[str, Inner] = {}
    one: Inner | None = None


def _error(model, data) -> str:
    from pydantic import ValidationError

    from segkit.config import _describe

    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    return _describe(info.value, model, "my.yaml")


def test_unknown_key_names_the_allowed_ones_through_lists_dicts_and_optionals():
    assert "unknown key 'items.0.c'; allowed keys here: ['a', 'b']" in _error(Outer, {"items": [{"c": 1}]})
    assert "unknown key 'named.k.zz'; allowed keys here: ['a', 'b']" in _error(Outer, {"named": {"k": {"zz": 1}}})
    assert "unknown key 'one.q'; allowed keys here: ['a', 'b']" in _error(Outer, {"one": {"q": 1}})
    assert "unknown key 'nope'; allowed keys here: ['items', 'named', 'one']" in _error(Outer, {"nope": 1})


def test_user_file_overrides_only_what_it_sets(tmp_path):
    path = tmp_path / "my.yaml"
    path.write_text("tiers:\n  review:\n    margin: 0.05\n", encoding="utf-8")
    default = load_section("tiers", TiersConfig)
    mine = load_section("tiers", TiersConfig, path)
    assert mine.review.margin == 0.05 and default.review.margin == 0.10
    assert mine.rules == default.rules
    # a whole file that does not mention a section leaves it at its defaults, even when the
    # section has a key named like another section (strategy.tiers)
    assert load_section("strategy", StrategyConfig, path) == load_section("strategy", StrategyConfig)


def test_typo_in_a_file_is_an_error_naming_the_file_and_key(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("tiers:\n  reveiw:\n    margin: 0.05\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad.yaml.*\n.*unknown key 'reveiw'; allowed keys here: \[.*'review'"):
        load_section("tiers", TiersConfig, path)


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_section("tiers", TiersConfig, tmp_path / "none.yaml")
    (tmp_path / "x.yaml").write_text("tiers: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_section("tiers", TiersConfig, tmp_path / "x.yaml")


def test_deep_merge_and_hash_are_stable():
    assert deep_merge({"a": {"b": 1, "c": [1]}}, {"a": {"c": [2]}}) == {"a": {"b": 1, "c": [2]}}
    assert config_hash({"x": 1, "y": 2}) == config_hash({"y": 2, "x": 1}) != config_hash({"x": 2, "y": 2})


def test_misspelt_section_next_to_a_valid_one_is_an_error(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("tiers:\n  review: {margin: 0.05}\ntires:\n  review: {margin: 0.2}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"typo.yaml: unknown configuration section\(s\) \['tires'\]"):
        load_section("tiers", TiersConfig, path)

"""Configuration: default YAML shipped in the package, user overrides, pydantic validation.

segkit's configuration is split into *sections* (``tiers``, ``rfm``, ``vocabularies``,
``strategy``, ...). Each section has a default YAML file in ``segkit/defaults/<section>.yaml``
(read with :mod:`importlib.resources`, so a plain ``pip install`` works) and a pydantic
model, declared by the module that uses it. A user configuration file is one YAML document
whose top-level keys are section names; it overrides only the keys it sets::

    # my.yaml
    tiers:
      review:
        margin: 0.05          # borderline = within 5% of a deciding threshold

A key that does not exist is an error naming the key and the allowed ones, never a setting
that is silently ignored.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import types
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = [
    "ConfigError",
    "StrictModel",
    "default_section",
    "deep_merge",
    "load_section",
    "read_user_config",
    "config_hash",
]

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A configuration file or value is invalid; the message names the key and what is allowed."""


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=False)


def default_section(name: str) -> dict[str, Any]:
    """Return the raw default YAML of one configuration section as a dict.

    Examples
    --------
    >>> sorted(default_section("vocabularies"))[:2]
    ['channel', 'customer_type']
    """
    ref = resources.files("segkit.defaults").joinpath(f"{name}.yaml")
    if not ref.is_file():
        available = sorted(
            p.name.removesuffix(".yaml")
            for p in resources.files("segkit.defaults").iterdir()
            if p.name.endswith(".yaml")
        )
        raise ConfigError(f"no default configuration section {name!r}; sections: {available}")
    return copy.deepcopy(_parsed_default(name))


@functools.lru_cache(maxsize=None)
def _parsed_default(name: str) -> dict[str, Any]:
    """Each packaged default file is parsed once per process (callers get deep copies)."""
    ref = resources.files("segkit.defaults").joinpath(f"{name}.yaml")
    return yaml.safe_load(ref.read_text(encoding="utf-8")) or {}


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``override`` into a copy of ``base``: nested mappings merge, everything else replaces.

    Examples
    --------
    >>> deep_merge({"a": {"x": 1, "y": 2}, "b": 1}, {"a": {"y": 3}})
    {'a': {'x': 1, 'y': 3}, 'b': 1}
    """
    merged = copy.deepcopy(dict(base))
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def read_user_config(config: str | Path | Mapping[str, Any] | None) -> dict[str, Any]:
    """Read a user configuration (a YAML path or an already-parsed mapping) into a dict."""
    if config is None:
        return {}
    if isinstance(config, Mapping):
        _check_sections(config, "the configuration")
        return dict(config)
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, Mapping):
        raise ConfigError(f"{path}: the top level must be a mapping of section names")
    _check_sections(data, str(path))
    return dict(data)


def _check_sections(data: Mapping[str, Any], where: str) -> None:
    """A whole configuration file (some top-level key is a section) may hold only sections:
    a misspelt section name next to a valid one is an error, not a setting ignored."""
    keys = set(map(str, data))
    sections = section_names()
    if keys & sections and keys - sections:
        raise ConfigError(
            f"{where}: unknown configuration section(s) {sorted(keys - sections)}; sections: {sorted(sections)}"
        )


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _unwrap_optional(annotation: Any) -> Any:
    if get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _model_at(model: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """The pydantic model at location ``loc`` (field names, list indices, dict keys)."""
    current: Any = model
    for part in loc:
        current = _unwrap_optional(current)
        if _is_model(current):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) in (list, tuple, set, frozenset):
            current = get_args(current)[0]
        elif get_origin(current) is dict:
            current = get_args(current)[1]
        else:
            return None
    current = _unwrap_optional(current)
    return current if _is_model(current) else None


def _describe(exc: ValidationError, model: type[BaseModel], where: str) -> str:
    lines = [f"invalid configuration in {where}:"]
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            parent = _model_at(model, tuple(err["loc"][:-1]))
            allowed = sorted(parent.model_fields) if parent is not None else []
            hint = f"; allowed keys here: {allowed}" if allowed else ""
            lines.append(f"  - unknown key {loc!r}{hint}")
        else:
            lines.append(f"  - {loc}: {err['msg']} (got {err.get('input')!r})")
    return "\n".join(lines)


@functools.lru_cache(maxsize=1)
def section_names() -> frozenset[str]:
    """Names of the configuration sections (the default YAML files)."""
    return frozenset(
        p.name.removesuffix(".yaml") for p in resources.files("segkit.defaults").iterdir() if p.name.endswith(".yaml")
    )


def load_section(
    name: str,
    model: type[M],
    config: str | Path | Mapping[str, Any] | None = None,
) -> M:
    """Load one configuration section: package defaults overridden by the user's config.

    Parameters
    ----------
    name : str
        Section name, e.g. ``"tiers"``; the defaults are ``segkit/defaults/<name>.yaml``.
    model : pydantic model class
        The section's schema (a :class:`StrictModel`).
    config : path, mapping or None, default None
        A user configuration: either a whole file (its top-level keys are section names; a
        file that does not mention ``name`` leaves the section at its defaults) or, when no
        top-level key is a section name, the section itself.

    Raises
    ------
    ConfigError
        Naming the unknown or invalid key and the allowed ones.
    """
    user = read_user_config(config)
    where = str(config) if isinstance(config, (str, Path)) else f"the {name!r} configuration"
    if name in user:
        section_override = user[name]
    elif set(user) & section_names():
        section_override = {}  # a whole configuration file that leaves this section alone
    else:
        section_override = user  # the section itself; unknown keys are errors
    if section_override is None:
        section_override = {}
    if not isinstance(section_override, Mapping):
        raise ConfigError(f"{where}: section {name!r} must be a mapping")
    merged = deep_merge(default_section(name), section_override)
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, model, where)) from None


def config_hash(*sections: BaseModel | Mapping[str, Any]) -> str:
    """A short, stable fingerprint of configuration values (for report footers)."""
    payload = [s.model_dump(mode="json") if isinstance(s, BaseModel) else dict(s) for s in sections]
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]

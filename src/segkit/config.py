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

One run reads its configuration once, into a :class:`Settings` object, and hands that object
down: every ``config=`` parameter of segkit takes a Settings as well as a path, a mapping or
None, and the sections it validates are kept (validated once per run, not once per call).
Each section's pydantic model declares its name with :func:`register_section`, so
:meth:`Settings.validate` can check every section the program knows up front.

Every YAML file a user hands to segkit (``--config``, ``dataset.yaml``, an RFM scheme file) is
read by :func:`read_yaml` (in :mod:`segkit.safeyaml`, re-exported here): a safe loader (no Python objects) that refuses, quickly and by name,
a file larger than :data:`MAX_YAML_BYTES`, a document with more than :data:`MAX_YAML_ALIASES`
aliases or more than :data:`MAX_YAML_NODES` values once aliases are expanded (an "alias bomb"),
a recursive alias, and a key written twice in one mapping (YAML would silently keep the last).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import types
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from segkit.errors import ConfigError  # defined with every segkit error; importable here as before
from segkit.safeyaml import (MAX_YAML_ALIASES, MAX_YAML_BYTES, MAX_YAML_NODES, MESSAGE_VALUE_CHARS, parse_yaml,  # noqa: F401
                             read_yaml, read_yaml_mapping, shorten)

__all__ = [
    "Settings",
    "register_section",
    "registered_sections",
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "ConfigError",
    "parse_yaml",
    "read_dataset_yaml",
    "read_yaml",
    "read_yaml_mapping",
    "shorten",
    "StrictModel",
    "default_section",
    "deep_merge",
    "load_section",
    "read_user_config",
    "config_hash",
]

M = TypeVar("M", bound=BaseModel)


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=False)


def read_dataset_yaml(path: str | Path) -> dict[str, Any]:
    """A data folder's ``dataset.yaml`` (name, as_of, currency, date_order, ...), read with
    :func:`read_yaml_mapping`; ``as_of``, when the key is there, is read strictly by
    :func:`segkit.periods.parse_date` (an eight-digit YAML number is a date written
    YYYYMMDD; an empty value, a day/month-ambiguous date or a time zone is an error).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "dataset.yaml").write_text("name: x\\nas_of: 20260930\\n", encoding="utf-8")
    >>> read_dataset_yaml(folder / "dataset.yaml")["as_of"]
    Timestamp('2026-09-30 00:00:00')
    """
    from segkit.periods import parse_date

    meta = read_yaml_mapping(path, "keys such as name, as_of, currency")
    if "as_of" in meta:
        if meta["as_of"] is None:
            raise ConfigError(f"{path}: as_of is empty; write the data's as-of date (e.g. as_of: 2026-09-30) "
                              "or remove the line to use the latest date in the data")
        try:
            meta["as_of"] = parse_date(meta["as_of"], f"{path}: as_of")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    return meta


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


def read_user_config(config: str | Path | Mapping[str, Any] | Settings | None) -> dict[str, Any]:
    """Read a user configuration (a YAML path, an already-parsed mapping or a :class:`Settings`,
    whose file was read when it was built) into a dict."""
    if config is None:
        return {}
    if isinstance(config, Settings):
        return config.to_dict()
    if isinstance(config, Mapping):
        _check_sections(config, "the configuration")
        return dict(config)
    path = Path(config)
    if not path.is_file():
        raise ConfigError(f"configuration file not found: {path}")
    data = read_yaml_mapping(path, "a mapping of section names")
    _check_sections(data, str(path))
    return dict(data)


def _check_sections(data: Mapping[str, Any], where: str) -> None:
    """A whole configuration file (some top-level key is a section) may hold only sections:
    a misspelt section name next to a valid one is an error, not a setting ignored."""
    keys = set(map(str, data))
    sections = section_names()
    if keys & sections and keys - sections:
        raise ConfigError(
            f"{where}: unknown configuration section(s) {shorten(sorted(keys - sections))}; sections: {sorted(sections)}"
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
            lines.append(f"  - unknown key {shorten(loc)}{hint}")
        else:
            lines.append(f"  - {loc}: {err['msg']} (got {shorten(err.get('input'))})")
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
    config : path, mapping, Settings or None, default None
        A user configuration: either a whole file (its top-level keys are section names; a
        file that does not mention ``name`` leaves the section at its defaults) or, when no
        top-level key is a section name, the section itself. A :class:`Settings` answers from
        its cache (the file is not read again, the section is validated once).

    Raises
    ------
    ConfigError
        Naming the unknown or invalid key and the allowed ones.

    Examples
    --------
    >>> class Tiers(StrictModel):  # the part of the tiers section this example reads
    ...     model_config = {"extra": "ignore"}
    ...     review: dict
    >>> load_section("tiers", Tiers, {"tiers": {"review": {"margin": 0.05}}}).review
    {'margin': 0.05}
    >>> load_section("tiers", Tiers, Settings({"tiers": {"review": {"margin": 0.05}}})).review
    {'margin': 0.05}
    """
    if isinstance(config, Settings):
        return config.section(name, model).model_copy(deep=True)  # callers may change their copy
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


# --- section models and the Settings of one run ------------------------------------------------

#: Section name -> its pydantic model, filled as the modules declaring the models are imported.
_SECTION_MODELS: dict[str, type[BaseModel]] = {}


def register_section(name: str, model: type[M] | None = None):
    """Declare ``model`` as the schema of configuration section ``name`` (so
    :meth:`Settings.validate` checks it); usable as a class decorator.

    Examples
    --------
    In the module that declares the model::

        @register_section("cadence")
        class CadenceConfig(StrictModel):
            ...

    >>> import segkit.insights.cadence
    >>> registered_sections()["cadence"].__name__
    'CadenceConfig'
    >>> register_section("cadense", StrictModel)
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: register_section: no configuration section 'cadense'; sections: ['abtest', ...]
    """
    if name not in section_names():
        raise ConfigError(f"register_section: no configuration section {name!r}; sections: {sorted(section_names())}")

    def add(cls: type[M]) -> type[M]:
        _SECTION_MODELS[name] = cls
        return cls

    return add if model is None else add(model)


def registered_sections() -> dict[str, type[BaseModel]]:
    """Section name -> model of every section whose module has been imported."""
    return dict(_SECTION_MODELS)


class Settings(Mapping):
    """The configuration of one run: read once, checked once, then handed down unchanged.

    ``Settings(config)`` reads a YAML file (safely, with the limits of :func:`read_yaml`), or
    takes a mapping, or None for the package defaults. Every top-level key must be a section
    name. Any ``config=`` parameter of segkit accepts the object: sections are validated on
    first use and kept. The object cannot be changed; as a read-only mapping it gives the
    user's sections (copies).

    Parameters
    ----------
    config : path, mapping, Settings or None, default None
        The user configuration; None means the defaults.

    Attributes
    ----------
    path : Path or None
        The file read, if any (errors name it).
    fingerprint : str
        :func:`config_hash` of the effective configuration (defaults merged with the user's,
        every section), for report footers: equal for equal content wherever it came from.

    Raises
    ------
    ConfigError
        Naming the file and the problem: unsafe YAML, an unknown section (with the allowed
        ones), a section that is not a mapping.

    Examples
    --------
    >>> settings = Settings({"tiers": {"review": {"margin": 0.05}}})
    >>> settings
    Settings(mapping, sections=['tiers'], fingerprint='...')
    >>> settings["tiers"]
    {'review': {'margin': 0.05}}
    >>> settings.fingerprint == Settings({"tiers": {"review": {"margin": 0.05}}}).fingerprint
    True
    >>> settings.fingerprint == Settings().fingerprint
    False
    >>> Settings({"tier": {}})
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: the configuration: unknown configuration section(s) ['tier']; sections: ['abtest', 'cadence', ...]
    >>> settings.path = "other.yaml"
    Traceback (most recent call last):
    ...
    AttributeError: Settings cannot be changed; build a new one: Settings(...)
    """

    __slots__ = ("_user", "_path", "_sections", "_fingerprint")

    def __init__(self, config: str | os.PathLike | Mapping[str, Any] | Settings | None = None):
        if isinstance(config, Settings):
            path, user = config._path, config._user
        else:
            path = Path(config) if isinstance(config, (str, os.PathLike)) else None
            user = read_user_config(config)  # the only read of the file
            where = str(path) if path is not None else "the configuration"
            unknown = sorted(set(map(str, user)) - section_names())
            if unknown:
                raise ConfigError(f"{where}: unknown configuration section(s) {shorten(unknown)}; "
                                  f"sections: {sorted(section_names())}")
            for name, value in user.items():
                if value is not None and not isinstance(value, Mapping):
                    raise ConfigError(f"{where}: section {name!r} must be a mapping of keys, not {shorten(value)}")
            user = {str(name): copy.deepcopy(dict(value or {})) for name, value in user.items()}
        for slot, value in (("_path", path), ("_user", user), ("_sections", {}), ("_fingerprint", None)):
            object.__setattr__(self, slot, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("Settings cannot be changed; build a new one: Settings(...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Settings cannot be changed; build a new one: Settings(...)")

    # a read-only mapping of the user's sections
    def __getitem__(self, name: str) -> dict[str, Any]:
        return copy.deepcopy(self._user[name])

    def __iter__(self):
        return iter(self._user)

    def __len__(self) -> int:
        return len(self._user)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Settings):
            return NotImplemented
        return self._path == other._path and self._user == other._user

    def __hash__(self) -> int:
        return hash((self._path, json.dumps(self._user, sort_keys=True, default=str)))

    def __copy__(self) -> Settings:
        return self

    def __deepcopy__(self, memo: dict) -> Settings:
        return self

    def __reduce__(self):
        return _settings_from_state, (self._path, self._user)

    def __repr__(self) -> str:
        source = repr(str(self._path)) if self._path is not None else ("mapping" if self._user else "defaults")
        return f"Settings({source}, sections={sorted(self._user)}, fingerprint={self.fingerprint!r})"

    @property
    def path(self) -> Path | None:
        return self._path

    @property
    def fingerprint(self) -> str:
        if self._fingerprint is None:
            effective = {name: deep_merge(default_section(name), self._user.get(name, {})) for name in sorted(section_names())}
            object.__setattr__(self, "_fingerprint", config_hash(effective))
        return self._fingerprint

    def to_dict(self) -> dict[str, Any]:
        """The user's configuration (section -> keys it sets), a copy."""
        return copy.deepcopy(self._user)

    def section(self, name: str, model: type[M]) -> M:
        """Section ``name`` validated by ``model``: defaults overridden by the user's keys.

        Validated on the first call and kept: later calls return the same object, which must
        not be changed (:func:`load_section` and the ``load_*_config`` functions return copies).

        Examples
        --------
        >>> class Tiers(StrictModel):  # the part of the tiers section this example reads
        ...     model_config = {"extra": "ignore"}
        ...     review: dict
        >>> settings = Settings({"tiers": {"review": {"margin": 0.05}}})
        >>> settings.section("tiers", Tiers).review
        {'margin': 0.05}
        >>> settings.section("tiers", Tiers) is settings.section("tiers", Tiers)
        True
        """
        key = (name, model)
        if key not in self._sections:
            if name not in section_names():
                raise ConfigError(f"no configuration section {name!r}; sections: {sorted(section_names())}")
            where = str(self._path) if self._path is not None else f"the {name!r} configuration"
            merged = deep_merge(default_section(name), self._user.get(name, {}))
            try:
                self._sections[key] = model.model_validate(merged)
            except ValidationError as exc:
                raise ConfigError(_describe(exc, model, where)) from None
        return self._sections[key]

    def validate(self) -> dict[str, BaseModel]:
        """Validate every section whose model is registered (:func:`register_section`; a
        model registers when its module is imported); every problem is reported at once.

        Returns
        -------
        dict
            Section name -> validated model.

        Raises
        ------
        ConfigError
            Listing the problems of every invalid section.

        Examples
        --------
        >>> import segkit.segment.tiers  # registers the tiers section's model
        >>> Settings({"tiers": {"review": {"margin": 0.05}}}).validate()["tiers"].review.margin
        0.05
        >>> Settings({"tiers": {"review": {"margn": 0.05}}}).validate()
        Traceback (most recent call last):
        ...
        segkit.config.ConfigError: invalid configuration in the 'tiers' configuration:
          - unknown key 'review.margn'; allowed keys here: ['margin']
        """
        done: dict[str, BaseModel] = {}
        problems: list[str] = []
        for name, model in sorted(_SECTION_MODELS.items()):
            try:
                done[name] = self.section(name, model)
            except ConfigError as exc:
                problems.append(str(exc))
        if problems:
            raise ConfigError("\n".join(problems))
        return done


def _settings_from_state(path: Path | None, user: dict[str, Any]) -> Settings:
    """Rebuild a pickled :class:`Settings` without reading its file again."""
    settings = Settings.__new__(Settings)
    for slot, value in (("_path", path), ("_user", user), ("_sections", {}), ("_fingerprint", None)):
        object.__setattr__(settings, slot, value)
    return settings

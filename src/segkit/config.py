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

Every YAML file a user hands to segkit (``--config``, ``dataset.yaml``, an RFM scheme file) is
read by :func:`read_yaml`: a safe loader (no Python objects) that refuses, quickly and by name,
a file larger than :data:`MAX_YAML_BYTES`, a document with more than :data:`MAX_YAML_ALIASES`
aliases or more than :data:`MAX_YAML_NODES` values once aliases are expanded (an "alias bomb"),
a recursive alias, and a key written twice in one mapping (YAML would silently keep the last).
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

from segkit.errors import ConfigError  # defined with every segkit error; importable here as before

__all__ = [
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


# Limits of the YAML files segkit reads from users. They guard the reading of the configuration
# itself, so a configuration file cannot set them; they are far above any real file (the
# packaged defaults together are about 60 KB with a few thousand values and no aliases).
#: Largest YAML file read, in bytes.
MAX_YAML_BYTES = 1_000_000
#: Most aliases (``*name``) in one YAML document.
MAX_YAML_ALIASES = 100
#: Most values (scalars, lists, mappings) in one YAML document with every alias expanded.
MAX_YAML_NODES = 100_000
#: Longest value an error message quotes, in characters.
MESSAGE_VALUE_CHARS = 200


def shorten(value: Any, limit: int = MESSAGE_VALUE_CHARS) -> str:
    """``repr(value)`` for an error message, cut to about ``limit`` characters.

    Examples
    --------
    >>> shorten("2026-09-30")
    "'2026-09-30'"
    >>> shorten("x" * 1000, 20)
    "'xxxxxxxxxxxxxxxxx… (1,002 characters)"
    """
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit - 2]}… ({len(text):,} characters)"


class StrictModel(BaseModel):
    """Base for configuration models: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=False)


class _UserYamlLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that counts aliases while composing and refuses duplicate keys."""

    def __init__(self, stream, where: str):
        super().__init__(stream)
        self.where = where
        self.aliases = 0

    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            self.aliases += 1
            if self.aliases > MAX_YAML_ALIASES:
                mark = self.peek_event().start_mark
                raise ConfigError(f"{self.where}: more than {MAX_YAML_ALIASES} aliases (*name), the first too many on "
                                  f"line {mark.line + 1}; segkit refuses such files (write the values out)")
        return super().compose_node(parent, index)

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # ``<<: *base`` then a key of the base is an override, as YAML intends
                key = self.construct_object(key_node, deep=True)
                try:
                    first = seen.get(key)
                except TypeError:  # an unhashable key: the safe constructor says so
                    continue
                line = key_node.start_mark.line + 1
                if first is not None:
                    raise ConfigError(f"{self.where}: key {shorten(key)} is written twice (lines {first} and {line}); "
                                      "YAML would silently keep only the last one: merge them into one")
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def _expanded_size(root: yaml.Node, where: str) -> int:
    """How many values the document holds with every alias expanded (each node counted once
    per reference, computed without expanding), refusing recursive aliases."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:
            raise ConfigError(f"{where}: line {node.start_mark.line + 1}: an alias refers to a value that contains it "
                              "(a recursive alias); segkit refuses such files")
        active.add(key)
        if isinstance(node, yaml.SequenceNode):
            total = 1 + sum(size(child) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            total = 1 + sum(size(k) + size(v) for k, v in node.value)
        else:
            total = 1
        active.discard(key)
        sizes[key] = min(total, MAX_YAML_NODES + 1)  # capped: the sum cannot grow without bound
        return sizes[key]

    return size(root)


def parse_yaml(text: str, where: str) -> Any:
    """Parse one YAML document from a user (``where`` names it in errors) with the limits of
    :func:`read_yaml`.

    Examples
    --------
    >>> parse_yaml("tiers: {review: {margin: 0.05}}", "my.yaml")
    {'tiers': {'review': {'margin': 0.05}}}
    >>> parse_yaml("a: 1\\nb: 2\\na: 3", "my.yaml")
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: my.yaml: key 'a' is written twice (lines 1 and 3); YAML would silently keep only the last one: merge them into one
    """
    if len(text) > MAX_YAML_BYTES:
        raise ConfigError(f"{where}: {len(text):,} characters; segkit reads YAML files of at most "
                          f"{MAX_YAML_BYTES:,} bytes")
    loader = _UserYamlLoader(text, where)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        count = _expanded_size(node, where)
        if count > MAX_YAML_NODES:
            raise ConfigError(f"{where}: more than {MAX_YAML_NODES:,} values once its aliases are expanded; segkit "
                              "refuses such files (an alias bomb, or not a configuration)")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{where}: not valid YAML: {shorten(str(exc), 4 * MESSAGE_VALUE_CHARS)}") from None
    except RecursionError:
        raise ConfigError(f"{where}: nested too deeply to be a configuration") from None
    finally:
        loader.dispose()


def read_yaml(path: str | Path) -> Any:
    """Read a user's YAML file safely: no Python objects, at most :data:`MAX_YAML_BYTES`
    bytes, at most :data:`MAX_YAML_ALIASES` aliases and :data:`MAX_YAML_NODES` values with
    aliases expanded, no recursive alias, no key written twice in one mapping.

    Raises
    ------
    ConfigError
        Naming the file and the problem (with its line where there is one).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: file not found" if not path.exists() else f"{path}: not a file")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise ConfigError(f"{path}: {size:,} bytes; segkit reads YAML files of at most {MAX_YAML_BYTES:,} bytes")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    return parse_yaml(text, str(path))


def read_yaml_mapping(path: str | Path, what: str = "a mapping of keys") -> dict[str, Any]:
    """:func:`read_yaml` for a file whose top level must be a mapping (an empty file is ``{}``).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "dataset.yaml"
    >>> _ = bad.write_text("- as_of: 2026-09-30\\n", encoding="utf-8")
    >>> read_yaml_mapping(bad, "keys such as name, as_of, currency")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    segkit.config.ConfigError: .../dataset.yaml: the top level is a list; it must be keys such as name, as_of, currency (key: value lines)
    """
    data = read_yaml(path)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        kind = {list: "a list", str: "a text", int: "a number", float: "a number", bool: "true/false"}.get(type(data), type(data).__name__)
        raise ConfigError(f"{path}: the top level is {kind}; it must be {what} (key: value lines)")
    return dict(data)


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

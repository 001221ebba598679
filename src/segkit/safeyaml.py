"""Reading YAML files from users safely (``--config``, ``dataset.yaml``, an RFM scheme file).

:func:`read_yaml` is a safe loader (no Python objects) that refuses, quickly and by name, a file
larger than :data:`MAX_YAML_BYTES`, a document with more than :data:`MAX_YAML_ALIASES` aliases or
more than :data:`MAX_YAML_NODES` values once aliases are expanded (an "alias bomb"), a recursive
alias, and a key written twice in one mapping (YAML would silently keep the last). Everything here
is re-exported by :mod:`segkit.config`, where users import it from.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from segkit.errors import ConfigError

__all__ = [
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "MESSAGE_VALUE_CHARS",
    "parse_yaml",
    "read_yaml",
    "read_yaml_mapping",
    "shorten",
]


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

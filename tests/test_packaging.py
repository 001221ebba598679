"""Packaging: environment.yml and pyproject agree, package data ships, docs cover the contract."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
import zipfile
from importlib import resources

import pytest
import yaml

from conftest import REPO
from segkit.schema import TABLES


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_environment_yml_lists_the_same_packages_as_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = {_name(r) for r in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_name(r) for r in extra}
    env = yaml.safe_load((REPO / "environment.yml").read_text(encoding="utf-8"))
    # conda packages, and PyPI-only ones under `pip:` (but not segkit itself, `-e .`)
    pip = [r for d in env["dependencies"] if isinstance(d, dict) for r in d.get("pip", []) if not r.startswith("-")]
    listed = [d for d in env["dependencies"] if isinstance(d, str)] + pip
    conda = {_name(d) for d in listed} - {"python", "pip"}
    assert conda == wanted, f"only in environment.yml: {conda - wanted}; only in pyproject: {wanted - conda}"
    # the minimum versions agree too
    pins = {_name(r): r.split(">=")[1] for r in project["dependencies"] if ">=" in r}
    env_pins = {_name(d): d.split(">=")[1] for d in listed if ">=" in d}
    assert {k: v for k, v in env_pins.items() if k in pins} == pins


def test_required_layout_exists():
    for path in ("notebooks", "src/segkit", "reports", "data/sample", "tests", "benchmarks",
                 "environment.yml", "Makefile", "pyproject.toml", "README.md", ".ci/run"):
        assert (REPO / path).exists(), path


def test_defaults_are_package_data_read_with_importlib_resources():
    names = {p.name for p in resources.files("segkit.defaults").iterdir()}
    assert "vocabularies.yaml" in names


@pytest.mark.slow
def test_wheel_contains_package_data(tmp_path):
    """`pip install .` (not only editable) must work: the wheel carries the YAML defaults."""
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path), str(REPO)],
                   check=True, capture_output=True)
    wheel = next(tmp_path.glob("segkit-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split("segkit/defaults/")[1] for n in names if "segkit/defaults/" in n}
    in_tree = {p.name for p in (REPO / "src/segkit/defaults").iterdir() if p.suffix in (".yaml", ".py")}
    assert in_tree <= shipped
    assert "segkit/py.typed" in names


def test_data_contract_doc_lists_every_column():
    doc = (REPO / "docs/data.md").read_text(encoding="utf-8")
    for table in TABLES.values():
        for column in table.columns:
            assert f"| `{column.name}` | {column.zh} |" in doc, (table.name, column.name)


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for target in ("report", "test", "lab", "sample", "benchmark"):
        assert re.search(rf"\b{target}\b", out), target

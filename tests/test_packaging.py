"""Packaging: environment.yml and pyproject agree, package data ships, docs cover the contract."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from importlib import resources
from pathlib import Path

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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """segkit's wheel, built from this checkout as `pip wheel .` builds it."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
                   check=True, capture_output=True)
    return next(out.glob("segkit-*.whl"))


@pytest.mark.slow
def test_wheel_contains_package_data(wheel):
    """`pip install .` (not only editable) must work: the wheel carries defaults, templates, notebooks."""
    names = zipfile.ZipFile(wheel).namelist()
    shipped = {n.split("segkit/defaults/")[1] for n in names if "segkit/defaults/" in n}
    in_tree = {p.name for p in (REPO / "src/segkit/defaults").iterdir() if p.suffix in (".yaml", ".py")}
    assert in_tree <= shipped
    assert "segkit/py.typed" in names
    package = REPO / "src/segkit"
    for folder in ("reporting/templates", "reporting/notebooks"):
        in_tree = {p.relative_to(package).as_posix() for p in (package / folder).rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts and ".ipynb_checkpoints" not in p.parts}
        assert in_tree and {f"segkit/{n}" for n in in_tree} <= set(names), folder
    assert {"segkit/reporting/notebooks/quarterly_segmentation.ipynb", "segkit/reporting/notebooks/churn_prediction.ipynb",
            "segkit/reporting/templates/segkit_report/report.css"} <= set(names)
    # code and package data only: no font, data set or executed report rides along
    assert not [n for n in names if n.endswith((".otf", ".ttf", ".ttc", ".csv", ".pdf", ".html"))]
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert "Requires-Dist: pylopdf-fonts-zh-cn" in meta                 # the CJK font comes as a dependency


@pytest.mark.slow
def test_wheel_installs_into_a_fresh_venv_and_renders_a_report_outside_the_checkout(wheel, tmp_path):
    """README's `pip install` route: segkit from its wheel renders a Chinese report, HTML and PDF.

    The fresh venv sees this venv's already installed dependencies through a .pth file (to keep
    the test fast and offline); segkit itself must come from the wheel, not from this checkout.
    """
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "test-deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index", str(wheel)],
                   check=True, capture_output=True)
    work = tmp_path / "elsewhere"                                       # cwd outside the checkout
    shutil.copytree(REPO / "data/sample", work / "data")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    # nbconvert's templates and the kernel spec are data files under the prefix of the venv that
    # installed them; a real install puts them in the fresh venv's own prefix
    env["JUPYTER_PATH"] = str(Path(sys.prefix, "share", "jupyter"))
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    where = subprocess.run([str(python), "-c", "import segkit; print(segkit.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), where                     # the installed wheel, not src/
    done = subprocess.run([str(venv / "bin" / "segkit"), "report", "quarterly", "--data", "data", "--lang", "zh",
                           "--format", "html,pdf", "--out", "out"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    # the kernel left the quarter's tier health for the command (which computed no tiers itself)
    entries = [json.loads(p.read_text(encoding="utf-8")) for p in (work / "out" / ".segkit-cache").glob("*/*.json")]
    assert [e["meta"]["health"]["ok"] for e in entries if "health" in e.get("meta", {})] == [True]
    executed = list((work / "out").glob("*/quarterly-zh.ipynb"))
    html, pdf = executed[0].with_suffix(".html"), executed[0].with_suffix(".pdf")
    assert "客户分层季度报告" in html.read_text(encoding="utf-8")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert "客户分层季度报告" in text
    # the notebook that ran is the one installed with the wheel
    nb = json.loads(executed[0].read_text(encoding="utf-8"))
    assert Path(nb["metadata"]["papermill"]["input_path"]).is_relative_to(site)


def test_data_contract_doc_lists_every_column():
    doc = (REPO / "docs/data.md").read_text(encoding="utf-8")
    for table in TABLES.values():
        for column in table.columns:
            assert f"| `{column.name}` | {column.zh} |" in doc, (table.name, column.name)


def test_make_help_lists_the_targets():
    out = subprocess.run(["make", "-s", "help"], cwd=REPO, capture_output=True, text=True, check=True).stdout
    for target in ("report", "test", "lab", "sample", "benchmark"):
        assert re.search(rf"\b{target}\b", out), target

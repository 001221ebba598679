"""The house rules of issue 13, checked on the code itself.

* Imports run one way: the import-linter contracts in ``pyproject.toml`` (``[tool.importlinter]``)
  hold, and they do catch an import that runs backwards.
* No module above 600 lines without a reason stated in its docstring.
* Every section of ``docs/business-rules.md`` that the code cites exists.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO

SRC = REPO / "src"
PACKAGE = SRC / "segkit"
RULES = REPO / "docs" / "business-rules.md"
MAX_LINES = 600
LONG_REASON = "Why this module is long:"

# `lint-imports` of the interpreter running the tests (the venv's), whatever the PATH says
LINT_IMPORTS = [sys.executable, "-c", "import sys; from importlinter.cli import lint_imports_command; "
                "sys.exit(lint_imports_command())"]


def _lint_imports(root: Path) -> subprocess.CompletedProcess:
    pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PYTHONPATH": str(root / "src")}  # the tree under test, not an installed segkit
    return subprocess.run([*LINT_IMPORTS, "--no-cache", "--no-logo"], cwd=root, env=env, capture_output=True,
                          text=True, timeout=300)


def test_imports_follow_the_layers_and_nothing_imports_the_root_or_the_cli():
    done = _lint_imports(REPO)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "Contracts: 2 kept, 0 broken." in done.stdout, done.stdout[-4000:]


def test_the_contracts_catch_a_backward_import(tmp_path):
    """io importing the CLI (in a function body, where it is easiest to miss) breaks both contracts."""
    shutil.copytree(PACKAGE, tmp_path / "src" / "segkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    io_py = tmp_path / "src" / "segkit" / "io.py"
    io_py.write_text(io_py.read_text(encoding="utf-8") + "\n\ndef _backwards():\n    import segkit.cli\n",
                     encoding="utf-8")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    assert "Contracts: 0 kept, 2 broken." in done.stdout, done.stdout[-4000:]
    assert "segkit.io -> segkit.cli" in done.stdout


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_a_long_module_says_why(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    if lines <= MAX_LINES:
        return
    doc = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8"))) or ""
    assert LONG_REASON in doc, (f"{path.relative_to(SRC)} has {lines} lines (more than {MAX_LINES}): split it, "
                                f"or say in its module docstring, in a sentence starting {LONG_REASON!r}, why not")


_CITATION = re.compile(r"business-rules\.md,?\s+(?:§\s*|sections?\s+)(\d+(?:(?:\s*,\s*|\s+and\s+)\d+)*)")


def cited_sections(text: str) -> set[int]:
    """Section numbers cited as "business-rules.md section N", "sections N, M and K" or "§N".

    Comment markers at line starts are dropped first, so a citation wrapped over two comment
    lines is still read.
    """
    text = re.sub(r"\n\s*#\s*", " ", text)
    return {int(n) for match in _CITATION.finditer(text) for n in re.findall(r"\d+", match.group(1))}


def test_citations_are_read_whole():
    assert cited_sections("see business-rules.md section 2.") == {2}
    assert cited_sections("(business-rules.md sections 2, 3 and 6)") == {2, 3, 6}
    assert cited_sections("business-rules.md §11 and section 4 of another file") == {11}
    assert cited_sections("# as in business-rules.md\n    # sections 8 and 9") == {8, 9}
    assert cited_sections("business-rules.md, the handbook") == set()


def test_every_cited_section_of_the_business_rules_exists():
    sections = {int(n) for n in re.findall(r"^## (\d+)\. ", RULES.read_text(encoding="utf-8"), flags=re.M)}
    assert sections == set(range(1, 12))  # the handbook's eleven sections
    cited: dict[int, list[str]] = {}
    for path in _modules():
        for number in cited_sections(path.read_text(encoding="utf-8")):
            cited.setdefault(number, []).append(str(path.relative_to(SRC)))
    # the code cites most of the document; an empty result would mean the pattern broke
    assert len(cited) >= 8, cited
    missing = {n: files for n, files in cited.items() if n not in sections}
    assert not missing, f"cited sections that docs/business-rules.md does not have: {missing}"

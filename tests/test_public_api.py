"""The public names of DESIGN.md resolve from ``import segkit``."""

from __future__ import annotations

import subprocess
import sys

import segkit


def test_every_exported_name_resolves():
    for name in segkit.__all__:
        assert getattr(segkit, name) is not None, name
    from segkit.models import BetaGeo, ChurnModel, GammaGamma, ParetoNBD  # noqa: F401
    from segkit.models import (  # noqa: F401  the BTYD family of issue 14
        BetaGeoBetaBinom,
        ModifiedBetaGeo,
        ShiftedBetaGeo,
        cohort_renewals,
    )
    from segkit import models

    for name in models.__all__:
        assert getattr(models, name) is not None, name


def test_design_contract_names():
    for name in ("load_dataset", "snapshot", "assign_tiers", "rfm_scores", "migration", "kpis", "render"):
        assert callable(getattr(segkit, name))


def test_import_is_light():
    """``import segkit`` does not import matplotlib, scikit-learn or papermill."""
    code = "import sys, segkit; print(sorted(m for m in ('matplotlib', 'sklearn', 'papermill') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"


def test_analysis_takes_no_language_and_words_come_from_edge_functions():
    """Issue 13: segment analysis returns keys and numbers; one edge function per result adds words."""
    import inspect

    for name in ("assign_tiers", "rfm_scores", "classify", "value_class", "lifecycle_stage", "company_size",
                 "assign_tags", "tag_review", "clv_tiers"):
        assert "lang" not in inspect.signature(getattr(segkit, name)).parameters, name
    for name in ("explain_tiers", "explain_classes", "explain_rfm", "label_tags", "explain_clv_tiers"):
        assert inspect.signature(getattr(segkit, name)).parameters["lang"].default == "zh", name


def test_every_exception_lives_in_errors_and_is_still_importable_from_its_home():
    """errors.py defines every segkit exception and warning; each keeps its old import path
    (its ``__module__``, which tracebacks and pickles name) as the same class."""
    import ast
    import importlib
    import pickle
    from pathlib import Path

    from segkit import errors

    package = Path(segkit.__file__).parent
    defined_elsewhere = []
    for path in package.rglob("*.py"):
        if path.name == "errors.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_") and any(  # private: control flow
                isinstance(base, ast.Name) and (base.id.endswith(("Error", "Warning")) or base.id == "Exception")
                for base in node.bases
            ):
                defined_elsewhere.append(f"{path.relative_to(package)}: {node.name}")
    assert defined_elsewhere == []
    assert len(errors.__all__) == 15
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, (Exception, Warning)) and cls.__name__ == name
        assert getattr(importlib.import_module(cls.__module__), name) is cls, name
    error = pickle.loads(pickle.dumps(errors.ConfigError("tiers.review.margin: too large")))
    assert type(error) is segkit.ConfigError and str(error) == "tiers.review.margin: too large"
    assert errors.RenewalsNotFitted("few").reason == "few"
    assert "too few relationships" in str(errors.RenewalsNotFitted("few"))

"""Shared fixtures: small raw files written the way real CRM exports are."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import os

import matplotlib
import pytest
from hypothesis import settings

matplotlib.use("Agg")
# CI draws the same examples every run (a property that fails there fails for everyone, and is
# a real finding, not a draw); locally each run explores new ones. HYPOTHESIS_PROFILE=ci
# reproduces CI's draws.
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"
CDNOW = REPO / "data" / "benchmarks" / "cdnow"


def sig3(value: float) -> float:
    """A number rounded to 3 significant digits (published values are given that way)."""
    return float(f"{value:.3g}")


@pytest.fixture(scope="session")
def cdnow():
    """The paper's calibration summary of the CDNOW sample (x, t_x, T in weeks)."""
    import pandas as pd

    return pd.read_csv(CDNOW / "cdnow_customers_summary.csv", index_col="ID")


def write_csv(path: Path, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
    """Write rows as CSV text in ``encoding``, quoted the way Excel does."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([["" if v is None else v for v in row] for row in rows])
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


@pytest.fixture
def write(tmp_path):
    def _write(name: str, header: list[str], rows: list[list[object]], encoding: str = "utf-8") -> Path:
        return write_csv(tmp_path / name, header, rows, encoding)
    return _write


@pytest.fixture(autouse=True)
def _repo_cwd(monkeypatch):
    """Doctests and examples use paths relative to the repository root."""
    monkeypatch.chdir(REPO)

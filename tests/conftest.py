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


# --- rendered reports, shared by every test file and xdist worker ---------------------------
# A report render takes about a minute; several test files read the same reports. Each
# (data set, report, language, scope) is rendered once per test run, into a folder every worker
# sees, under a file lock; all renders share one run cache, so the churn model and the BTYD fits
# of a data set are computed once too.

SECOND_SEED, SECOND_CUSTOMERS = 13, 400


def _shared_root(tmp_path_factory) -> Path:
    # with pytest-xdist each worker has its own basetemp below a common parent
    base = tmp_path_factory.getbasetemp()
    root = (base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base) / "segkit-shared"
    root.mkdir(exist_ok=True)
    return root


class _Locked:
    """An exclusive lock on a file (fcntl: the test machines are Linux)."""

    def __init__(self, path: Path):
        self.path = path

    def __enter__(self):
        import fcntl

        self.handle = open(self.path, "w")
        fcntl.flock(self.handle, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc):
        import fcntl

        fcntl.flock(self.handle, fcntl.LOCK_UN)
        self.handle.close()


@pytest.fixture(scope="session")
def second_data(tmp_path_factory) -> Path:
    """A second generated data set: another seed and size, amounts in USD (the sample's are CNY)."""
    import re

    from segkit.sample import generate_sample

    folder = _shared_root(tmp_path_factory) / f"seed{SECOND_SEED}-usd"
    with _Locked(folder.with_suffix(".lock")):
        if not (folder / "dataset.yaml").is_file():
            generate_sample(folder, seed=SECOND_SEED, n_customers=SECOND_CUSTOMERS)
            meta = folder / "dataset.yaml"
            text = re.sub(r"(?m)^currency: .*$", "currency: USD", meta.read_text(encoding="utf-8"))
            meta.write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def shared_reports(tmp_path_factory):
    """``get(data_dir, name, lang, **scope)`` -> {"html": Path, "pdf": Path}: the report rendered
    once per test run (HTML and PDF), whichever file asks first."""
    import json

    from segkit.reporting import render

    root = _shared_root(tmp_path_factory)

    def get(data_dir: Path, name: str, lang: str, **scope) -> Rendered:
        key = "-".join([Path(data_dir).name, name, lang, *(f"{k}={v}" for k, v in sorted(scope.items()))])
        target = root / "reports" / key
        done = target / "paths.json"
        target.parent.mkdir(exist_ok=True)
        with _Locked(target.with_suffix(".lock")):
            if not done.is_file():
                result = render(name, data_dir=data_dir, lang=lang, out=target, progress=False,
                                cache_dir=root / "run-cache", **scope)
                done.write_text(json.dumps({"paths": {k: str(v) for k, v in result.paths.items()},
                                            "side_files": [str(p) for p in result.side_files]}), encoding="utf-8")
        saved = json.loads(done.read_text(encoding="utf-8"))
        return Rendered({k: Path(v) for k, v in saved["paths"].items()}, [Path(p) for p in saved["side_files"]])

    return get


class Rendered(dict):
    """A shared report's files by format (``["html"]``), with ``paths`` and ``side_files`` as on
    :class:`segkit.reporting.render.RenderResult`."""

    def __init__(self, paths: dict[str, Path], side_files: list[Path]):
        super().__init__(paths)
        self.paths, self.side_files = paths, side_files


@pytest.fixture(scope="session")
def shared_run_cache(tmp_path_factory) -> Path:
    """The run cache the shared reports use: pass it as ``render(..., cache_dir=...)`` so a test's
    own render of a shared data set reuses the models fitted for it."""
    return _shared_root(tmp_path_factory) / "run-cache"

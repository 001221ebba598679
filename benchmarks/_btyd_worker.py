"""One timed benchmark task, run in a fresh process by bench_btyd.py (never imported).

Usage: python _btyd_worker.py TOOL TASK REPEATS DATA_DIR
  TOOL  segkit (run with the project's .venv) or lifetimes (run with benchmarks/.venv-lifetimes)
  TASK  summary | holdout | bgnbd | pareto | pareto50k

Prints one JSON line: wall times of every repeat, peak extra memory, what the task returned
(outputs are written to DATA_DIR/out_TOOL_TASK.npz for the agreement checks) and the versions
and BLAS (threadpoolctl) the process ran with.
"""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

OBSERVATION_END = "2025-12-28"  # a Sunday: the end of a pandas "W" period
CALIBRATION_END = "2024-12-29"  # a Sunday too
SUBSAMPLE = "subsample_50k.npy"  # positions in the summary, written by bench_btyd.py


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def load_orders(data_dir: Path) -> pd.DataFrame:
    data = np.load(data_dir / "orders.npz")
    return pd.DataFrame(
        {
            "customer_id": data["customer_id"],
            "order_date": data["order_day"].astype("datetime64[D]").astype("datetime64[ns]"),
            "amount": data["amount"],
        }
    )


def load_summary(data_dir: Path, task: str):
    """(frequency, recency, T) of segkit's summary (equal to lifetimes', checked earlier)."""
    data = np.load(data_dir / "out_segkit_summary.npz")
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    if task == "pareto50k":
        idx = np.load(data_dir / SUBSAMPLE)
        x, t_x, T = x[idx], t_x[idx], T[idx]
    return x, t_x, T


def save_frame(path: Path, frame: pd.DataFrame) -> None:
    frame = frame.sort_index()
    arrays = {"index": frame.index.to_numpy()}
    arrays.update({c: frame[c].to_numpy(dtype=float) for c in frame.columns})
    np.savez(path, **arrays)


def task_function(tool: str, task: str, data_dir: Path):
    """Return (setup data, callable(data) -> result)."""
    if task in ("summary", "holdout"):
        orders = load_orders(data_dir)
        if tool == "segkit":
            from segkit.summary import btyd_summary, calibration_holdout

            if task == "summary":
                return orders, lambda tx: btyd_summary(tx, OBSERVATION_END, unit="W")
            return orders, lambda tx: calibration_holdout(
                tx, CALIBRATION_END, OBSERVATION_END, unit="W"
            )
        from lifetimes.utils import calibration_and_holdout_data, summary_data_from_transaction_data

        if task == "summary":
            return orders, lambda tx: summary_data_from_transaction_data(
                tx, "customer_id", "order_date", monetary_value_col="amount",
                observation_period_end=OBSERVATION_END, freq="W",
            )
        return orders, lambda tx: calibration_and_holdout_data(
            tx, "customer_id", "order_date", CALIBRATION_END, OBSERVATION_END, freq="W",
            monetary_value_col="amount",
        )
    x, t_x, T = load_summary(data_dir, task)
    if tool == "segkit":
        from segkit.models.bgnbd import BetaGeo
        from segkit.models.paretonbd import ParetoNBD

        cls = BetaGeo if task == "bgnbd" else ParetoNBD
        return (x, t_x, T), lambda d: cls().fit(*d)
    from lifetimes import BetaGeoFitter, ParetoNBDFitter

    cls = BetaGeoFitter if task == "bgnbd" else ParetoNBDFitter
    return (x, t_x, T), lambda d: cls().fit(*d)


def describe(tool: str, task: str, result, data_dir: Path) -> dict:
    out_path = data_dir / f"out_{tool}_{task}.npz"
    if task in ("summary", "holdout"):
        frame = result
        if tool == "segkit":
            dates = [c for c in ("first_purchase", "last_purchase") if c in frame]
            frame = frame.drop(columns=dates)
        save_frame(out_path, frame)
        return {"rows": int(len(frame)), "columns": list(map(str, frame.columns))}
    if tool == "segkit":
        params = dict(result.params_)
        extra = {"log_likelihood": result.log_likelihood_, "n_distinct": result.n_distinct_,
                 "n_iter": result.n_iter_}
    else:
        params = {k: float(v) for k, v in result.params_.items()}
        extra = {"mean_negative_log_likelihood": float(result._negative_log_likelihood_)}
    return {"params": params, **extra}


def environment(tool: str) -> dict:
    """Library versions and the BLAS the process uses (threadpoolctl, when installed)."""
    import scipy

    versions = {"numpy": np.__version__, "pandas": pd.__version__, "scipy": scipy.__version__}
    if tool == "lifetimes":
        import lifetimes

        versions["lifetimes"] = lifetimes.__version__
    try:
        from threadpoolctl import threadpool_info

        blas = [
            {**{k: i.get(k) for k in ("user_api", "internal_api", "prefix", "version",
                                      "architecture", "threading_layer", "num_threads")},
             "loaded_from": Path(i["filepath"]).parent.name}
            for i in threadpool_info()
        ]
    except ImportError:
        blas = "threadpoolctl not installed"
    return {"versions": versions, "blas": blas,
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE")}


def main() -> None:
    tool, task, repeats, data_dir = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    data, run = task_function(tool, task, data_dir)
    before = peak_rss_mb()
    times = []
    result = None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run(data)
        times.append(time.perf_counter() - start)
    peak_extra = peak_rss_mb() - before
    info = describe(tool, task, result, data_dir)
    print(json.dumps({"tool": tool, "task": task, "times": times, "peak_extra_mb": peak_extra,
                      "baseline_mb": before, **info, "environment": environment(tool)}))


if __name__ == "__main__":
    main()

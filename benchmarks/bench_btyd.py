"""Benchmark: segkit vs lifetimes 0.11.3 on 5 M orders x 500 k customers, in one run.

Measures, each task in a fresh process (so peak memory is the task's own):

* the transaction summary (segkit.summary.btyd_summary vs lifetimes'
  summary_data_from_transaction_data), weekly;
* the calibration/holdout split (calibration_holdout vs calibration_and_holdout_data);
* BG/NBD and Pareto/NBD fits on the 500 k-customer summary (BetaGeo vs BetaGeoFitter,
  ParetoNBD vs ParetoNBDFitter);

checks that the outputs agree (summaries equal; fitted log-likelihood at least lifetimes'),
and writes benchmarks/RESULTS.md.

lifetimes needs pandas < 3, so it gets its own virtual environment, benchmarks/.venv-lifetimes,
created on first use (pip install lifetimes==0.11.3 "pandas<2.2" "numpy<2" "scipy<1.14").
The generated data go to benchmarks/.data/ (git-ignored).

Run from the repository root:

    .venv/bin/python benchmarks/bench_btyd.py            # everything (~15-30 minutes)
    .venv/bin/python benchmarks/bench_btyd.py --quick    # segkit only, no lifetimes
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
DATA = HERE / ".data"
LIFETIMES_VENV = HERE / ".venv-lifetimes"
WORKER = HERE / "_btyd_worker.py"
LIFETIMES_REQUIREMENTS = ["lifetimes==0.11.3", "pandas<2.2", "numpy<2", "scipy<1.14"]

N_CUSTOMERS = 500_000
N_ORDERS = 5_000_000
SEED = 20240601
START_DAY = np.datetime64("2022-01-03")  # a Monday
END_DAY = np.datetime64("2025-12-28")  # a Sunday (= the observation end)


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------
def generate_orders(path: Path, seed: int = SEED) -> None:
    """5 M orders of 500 k customers: heterogeneous rates, dropout, spend, 1 % refunds."""
    rng = np.random.default_rng(seed)
    span = int((END_DAY - START_DAY).astype(int)) + 1
    first = rng.integers(0, int(span * 0.75), N_CUSTOMERS)
    lifetime = rng.exponential(2 * 365.0, N_CUSTOMERS)
    last = np.minimum(first + lifetime, span - 1).astype(np.int64)
    rate = rng.gamma(0.8, 1.0, N_CUSTOMERS)
    weight = rate * (last - first + 1)
    repeats = rng.multinomial(N_ORDERS - N_CUSTOMERS, weight / weight.sum())
    per_customer = 1 + repeats
    customer = np.repeat(np.arange(N_CUSTOMERS), per_customer)
    starts = np.concatenate([[0], np.cumsum(per_customer)[:-1]])
    offset = first[customer] + np.floor(
        rng.random(N_ORDERS) * (last[customer] - first[customer] + 1)
    ).astype(np.int64)
    offset[starts] = first
    mean_spend = rng.lognormal(np.log(300.0), 0.8, N_CUSTOMERS)
    amount = np.round(mean_spend[customer] * rng.gamma(4.0, 0.25, N_ORDERS), 2)
    refund = rng.random(N_ORDERS) < 0.01
    amount[refund] = -np.round(amount[refund] * rng.random(int(refund.sum())), 2)
    ids = 10_000_000 + rng.permutation(N_CUSTOMERS)
    order = rng.permutation(N_ORDERS)  # unsorted, as exported
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(
        path,
        customer_id=ids[customer][order].astype(np.int64),
        order_day=(START_DAY + offset[order]).astype("datetime64[D]").astype(np.int64),
        amount=amount[order],
    )


# ---------------------------------------------------------------------------------------------
# environments and workers
# ---------------------------------------------------------------------------------------------
def lifetimes_python() -> Path:
    python = LIFETIMES_VENV / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.venv-lifetimes (lifetimes 0.11.3 needs pandas < 3) ...")
        subprocess.run([sys.executable, "-m", "venv", str(LIFETIMES_VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *LIFETIMES_REQUIREMENTS], check=True
        )
    return python


def run_task(python: Path, tool: str, task: str, repeats: int, timeout: float) -> dict:
    env = dict(os.environ)
    if tool == "segkit":
        env["PYTHONPATH"] = str(ROOT / "src")
    cmd = [str(python), str(WORKER), tool, task, str(repeats), str(DATA)]
    print(f"  {tool:9s} {task:8s} x{repeats} ...", end="", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f" timed out after {timeout:.0f} s")
        return {"tool": tool, "task": task, "timed_out": timeout}
    if done.returncode != 0:
        print(" failed")
        raise RuntimeError(f"{tool} {task} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    (DATA / f"result_{tool}_{task}.json").write_text(json.dumps(result), encoding="utf-8")
    print(f" median {np.median(result['times']):.3f} s ({time.perf_counter() - started:.0f} s)")
    return result


# ---------------------------------------------------------------------------------------------
# agreement checks
# ---------------------------------------------------------------------------------------------
def compare_frames(task: str, mapping: dict[str, str]) -> dict:
    ours = np.load(DATA / f"out_segkit_{task}.npz")
    theirs = np.load(DATA / f"out_lifetimes_{task}.npz")
    same_customers = bool(np.array_equal(ours["index"], theirs["index"]))
    worst = {}
    for our_col, their_col in mapping.items():
        a, b = ours[our_col].astype(float), theirs[their_col].astype(float)
        if a.shape != b.shape:
            worst[our_col] = float("inf")
            continue
        worst[our_col] = float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))
    return {
        "same_customers": same_customers,
        "rows": int(ours["index"].size),
        "max_relative_difference": worst,
        "agree": same_customers and all(v <= 1e-9 for v in worst.values()),
    }


def log_likelihood_at(task: str, params: dict[str, float]) -> float:
    """Total log-likelihood of the benchmark summary at ``params`` (segkit's evaluation)."""
    sys.path.insert(0, str(ROOT / "src"))
    from segkit.models import bgnbd, paretonbd

    data = np.load(DATA / "out_segkit_summary.npz")
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    w = np.ones_like(x)
    if task == "bgnbd":
        theta = np.log([params[k] for k in ("r", "alpha", "a", "b")])
        return float(bgnbd._log_likelihood(theta, bgnbd._Data(x, t_x, T, w), gradient=False)[0])
    theta = np.log([params[k] for k in ("r", "alpha", "s", "beta")])
    return float(paretonbd._log_likelihood(theta, paretonbd._Data(x, t_x, T, w)))


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------
def machine_info() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    import numpy
    import pandas
    import scipy

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    return {
        "load average at the end (1, 5, 15 min)": load,
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
        "segkit env": f"pandas {pandas.__version__}, numpy {numpy.__version__}, scipy {scipy.__version__}",
    }


def fmt_row(name: str, ours: dict | None, theirs: dict | None) -> str:
    def cell(r):
        if not r:
            return "not run", ""
        if "timed_out" in r:
            return f"> {r['timed_out']:.0f} s (timed out)", ""
        if "unfinished" in r:
            return "not finished (the earlier run was stopped)", ""
        return f"{np.median(r['times']):.3f} s (n={len(r['times'])})", f"{r['peak_extra_mb']:.0f} MB"

    o_t, o_m = cell(ours)
    t_t, t_m = cell(theirs)
    speed = ""
    if ours and theirs and "times" in ours and "times" in theirs:
        speed = f"{np.median(theirs['times']) / np.median(ours['times']):.1f}x"
    return f"| {name} | {o_t} | {o_m} | {t_t} | {t_m} | {speed} |"


def write_results(results: dict, checks: dict, info: dict, command: str, path: Path) -> None:
    r = results
    lines = [
        "# Benchmark results: segkit vs lifetimes 0.11.3",
        "",
        f"Generated by `{command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC.",
        "",
        f"Data: {N_ORDERS:,} orders of {N_CUSTOMERS:,} customers (seeded synthetic, "
        f"{START_DAY} to {END_DAY}, unsorted rows, 1 % refunds); weekly BTYD statistics "
        f"(`unit=\"W\"` / `freq=\"W\"`), observation end {END_DAY}, calibration end 2024-12-29.",
        "",
        "Each task runs in a fresh process; times are wall-clock medians over n repeats; "
        "peak memory is the growth of the process's peak RSS during the task (data loaded "
        "before). The machine is shared, so expect some noise.",
        "",
        "| task | segkit | segkit peak extra memory | lifetimes 0.11.3 | lifetimes peak extra memory | speed-up |",
        "| --- | --- | --- | --- | --- | --- |",
        fmt_row("transaction summary (5 M orders)", r.get(("segkit", "summary")),
                r.get(("lifetimes", "summary"))),
        fmt_row("calibration / holdout split", r.get(("segkit", "holdout")),
                r.get(("lifetimes", "holdout"))),
        fmt_row("BG/NBD fit (500 k customers)", r.get(("segkit", "bgnbd")),
                r.get(("lifetimes", "bgnbd"))),
        fmt_row("Pareto/NBD fit (500 k customers)", r.get(("segkit", "pareto")),
                r.get(("lifetimes", "pareto"))),
        "",
    ]
    if any(v.get("reused") for v in r.values()):
        lines += [
            "The lifetimes figures were reused from an earlier run on the same data "
            "(`--reuse-lifetimes`), measured while the shared machine was busier (the issue "
            "quotes about 3.9 s for lifetimes' summary on a quiet machine), so the speed-ups "
            "above overstate the quiet-machine ratio; rerun without `--reuse-lifetimes` for a "
            "side-by-side measurement.",
            "",
        ]
    if (r.get(("lifetimes", "pareto")) or {}).get("unfinished"):
        lines += [
            "The lifetimes Pareto/NBD fit (Nelder-Mead on 500 k undeduplicated rows) did not "
            "finish in the earlier run: it was stopped after more than 14 minutes.",
            "",
        ]
    lines += [
        "## Agreement",
        "",
    ]
    for name, check in checks.items():
        lines.append(f"- **{name}**: `{json.dumps(check, default=float)}`")
    lines += ["", "## Fitted parameters", ""]
    for task in ("bgnbd", "pareto"):
        for tool in ("segkit", "lifetimes"):
            res = r.get((tool, task))
            if res and "params" in res:
                params = ", ".join(f"{k}={v:.6g}" for k, v in res["params"].items())
                lines.append(f"- {task} / {tool}: {params}")
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += ["", "## Reproduce", "", "```", command, "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="segkit only (no lifetimes venv)")
    parser.add_argument("--repeats", type=int, default=7, help="segkit repeats per task")
    parser.add_argument("--lifetimes-repeats", type=int, default=3,
                        help="lifetimes repeats for the summary and BG/NBD (holdout and "
                             "Pareto/NBD run once: they take minutes)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per lifetimes task")
    parser.add_argument("--skip-pareto-lifetimes", action="store_true")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data")
    parser.add_argument("--reuse-lifetimes", action="store_true",
                        help="reuse lifetimes timings of an earlier run on the same data "
                             "(benchmarks/.data/result_lifetimes_*.json)")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)

    orders = DATA / "orders.npz"
    if args.regenerate or not orders.exists():
        print(f"generating {N_ORDERS:,} orders x {N_CUSTOMERS:,} customers -> {orders}")
        generate_orders(orders)

    ours_python = Path(sys.executable)
    results: dict[tuple[str, str], dict] = {}
    print("segkit:")
    for task in ("summary", "holdout", "bgnbd", "pareto"):
        results[("segkit", task)] = run_task(ours_python, "segkit", task, args.repeats, 3600)

    checks: dict[str, dict] = {}
    if not args.quick:
        theirs_python = lifetimes_python()
        print("lifetimes 0.11.3:")
        plan = [("summary", args.lifetimes_repeats), ("holdout", 1),
                ("bgnbd", args.lifetimes_repeats)]
        if not args.skip_pareto_lifetimes:
            plan.append(("pareto", 1))
        for task, repeats in plan:
            cached = DATA / f"result_lifetimes_{task}.json"
            if args.reuse_lifetimes and cached.exists():
                text = cached.read_text(encoding="utf-8").strip()
                if text:
                    results[("lifetimes", task)] = {**json.loads(text), "reused": True}
                    print(f"  lifetimes {task:8s} reused from {cached.name}")
                else:  # an earlier run did not finish this task
                    results[("lifetimes", task)] = {"tool": "lifetimes", "task": task,
                                                    "unfinished": True}
                    print(f"  lifetimes {task:8s} unfinished in the earlier run")
                continue
            results[("lifetimes", task)] = run_task(theirs_python, "lifetimes", task, repeats,
                                                     args.timeout)
        if "times" in results[("lifetimes", "summary")]:
            checks["transaction summary"] = compare_frames(
                "summary", {c: c for c in ("frequency", "recency", "T", "monetary_value")}
            )
        if "times" in results[("lifetimes", "holdout")]:
            cols = ("frequency_cal", "recency_cal", "T_cal", "monetary_value_cal",
                    "frequency_holdout", "monetary_value_holdout", "duration_holdout")
            checks["calibration / holdout"] = compare_frames("holdout", {c: c for c in cols})
        for task, label in (("bgnbd", "BG/NBD"), ("pareto", "Pareto/NBD")):
            theirs = results.get(("lifetimes", task))
            ours = results[("segkit", task)]
            if theirs and "params" in theirs:
                ll_theirs = log_likelihood_at(task, theirs["params"])
                diffs = {k: abs(ours["params"][k] - v) / abs(v) for k, v in theirs["params"].items()}
                checks[label] = {
                    "segkit_log_likelihood": ours["log_likelihood"],
                    "lifetimes_log_likelihood": ll_theirs,
                    "segkit_at_least_as_high": ours["log_likelihood"] >= ll_theirs - 1e-6,
                    "max_relative_parameter_difference": max(diffs.values()),
                }
    for name, check in checks.items():
        print(f"{name}: {check}")
    command = ".venv/bin/python benchmarks/bench_btyd.py" + (" --quick" if args.quick else "")
    write_results(results, checks, machine_info(), command, args.results)
    print(f"wrote {args.results}")
    failed = [n for n, c in checks.items()
              if c.get("agree") is False or c.get("segkit_at_least_as_high") is False]
    if failed:
        print(f"DISAGREEMENT: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

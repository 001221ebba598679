"""Benchmark: segkit vs lifetimes 0.11.3 on 5 M orders x 500 k customers, side by side in one run.

Measures, each task in a fresh process (so peak memory is the task's own), segkit and then
lifetimes on the same task before moving to the next (so both see the same machine):

* the transaction summary (segkit.summary.btyd_summary vs lifetimes'
  summary_data_from_transaction_data), weekly;
* the calibration/holdout split (calibration_holdout vs calibration_and_holdout_data);
* BG/NBD fit on the 500 k-customer summary (BetaGeo vs BetaGeoFitter);
* Pareto/NBD fit on a seeded 50 k-customer subsample and on all 500 k customers (ParetoNBD vs
  ParetoNBDFitter); lifetimes' Pareto/NBD fits run under a time limit (--pareto-timeout,
  10 minutes) and are reported as unfinished when they hit it;

checks that the outputs agree (summaries equal; segkit's fitted log-likelihood at least
lifetimes'), and writes benchmarks/RESULTS.md.

lifetimes needs pandas < 3, so it gets its own virtual environment, benchmarks/.venv-lifetimes,
created on first use (pip install lifetimes==0.11.3 "pandas<2.2" "numpy<2" "scipy<1.14"
threadpoolctl). The generated data go to benchmarks/.data/ (git-ignored).

Run from the repository root:

    .venv/bin/python benchmarks/bench_btyd.py --wait-for-load 1   # everything (~20-25 minutes)
    .venv/bin/python benchmarks/bench_btyd.py --quick              # segkit only, no lifetimes
"""

from __future__ import annotations

import argparse
import json
import math
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
LIFETIMES_REQUIREMENTS = ["lifetimes==0.11.3", "pandas<2.2", "numpy<2", "scipy<1.14",
                          "threadpoolctl"]

N_CUSTOMERS = 500_000
N_ORDERS = 5_000_000
N_SUBSAMPLE = 50_000
SEED = 20240601
START_DAY = np.datetime64("2022-01-03")  # a Monday
END_DAY = np.datetime64("2025-12-28")  # a Sunday (= the observation end)

TASKS = ("summary", "holdout", "bgnbd", "pareto50k", "pareto")
LABELS = {
    "summary": "transaction summary (5 M orders)",
    "holdout": "calibration / holdout split",
    "bgnbd": "BG/NBD fit (500 k customers)",
    "pareto50k": "Pareto/NBD fit (50 k-customer subsample)",
    "pareto": "Pareto/NBD fit (500 k customers)",
}
#: segkit's targets (seconds), and what was quoted for lifetimes when they were set
TARGETS = {"summary": 1.0, "holdout": 2.0, "bgnbd": 0.3}
QUOTED_LIFETIMES = {"summary": 3.9, "holdout": 59.0, "bgnbd": 4.3}


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


def write_subsample(path: Path, seed: int = SEED) -> None:
    """Positions of a seeded random 50 k customers in the (sorted) 500 k-customer summary."""
    idx = np.sort(np.random.default_rng(seed + 1).choice(N_CUSTOMERS, N_SUBSAMPLE, replace=False))
    np.save(path, idx)


# ---------------------------------------------------------------------------------------------
# environments and workers
# ---------------------------------------------------------------------------------------------
def lifetimes_python() -> Path:
    python = LIFETIMES_VENV / "bin" / "python"
    if not python.exists():
        print("creating benchmarks/.venv-lifetimes (lifetimes 0.11.3 needs pandas < 3) ...")
        subprocess.run([sys.executable, "-m", "venv", str(LIFETIMES_VENV)], check=True)
    probe = "import lifetimes, threadpoolctl; assert lifetimes.__version__ == '0.11.3'"
    if subprocess.run([str(python), "-c", probe], capture_output=True).returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", *LIFETIMES_REQUIREMENTS], check=True
        )
    return python


def load_average() -> tuple[float, float, float]:
    return tuple(round(v, 2) for v in os.getloadavg())


def wait_for_quiet(threshold: float, max_wait: float) -> dict:
    """Wait until the 1-minute load average is below ``threshold`` (at most ``max_wait`` s)."""
    started = time.monotonic()
    while True:
        load = os.getloadavg()[0]
        waited = time.monotonic() - started
        if load < threshold or waited >= max_wait:
            print(f"load {load:.3f} after waiting {waited:.0f} s")
            return {"threshold": threshold, "waited_s": round(waited), "load_1min": round(load, 3),
                    "reached": load < threshold}
        print(f"  load {load:.2f} >= {threshold}: waiting ({waited:.0f} s so far)", flush=True)
        time.sleep(30)


def run_task(python: Path, tool: str, task: str, repeats: int, timeout: float) -> dict:
    env = dict(os.environ)
    if tool == "segkit":
        env["PYTHONPATH"] = str(ROOT / "src")
    cmd = [str(python), str(WORKER), tool, task, str(repeats), str(DATA)]
    load = load_average()
    print(f"  {tool:9s} {task:9s} x{repeats} (load {load[0]:.2f}) ...", end="", flush=True)
    started = time.perf_counter()
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout)
    except subprocess.TimeoutExpired:  # subprocess.run has killed the worker
        print(f" stopped after {timeout:.0f} s")
        return {"tool": tool, "task": task, "timed_out": timeout, "load_before": load}
    if done.returncode != 0:
        print(" failed")
        raise RuntimeError(f"{tool} {task} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_before"] = load
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


def summary_arrays(task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    data = np.load(DATA / "out_segkit_summary.npz")
    x, t_x, T = data["frequency"], data["recency"], data["T"]
    if task == "pareto50k":
        idx = np.load(DATA / "subsample_50k.npy")
        x, t_x, T = x[idx], t_x[idx], T[idx]
    return x, t_x, T


def log_likelihood_at(task: str, params: dict[str, float]) -> float:
    """Total log-likelihood of the task's data at ``params`` (segkit's evaluation)."""
    sys.path.insert(0, str(ROOT / "src"))
    from segkit.models import bgnbd, paretonbd

    x, t_x, T = summary_arrays(task)
    w = np.ones_like(x)
    if task == "bgnbd":
        theta = np.log([params[k] for k in ("r", "alpha", "a", "b")])
        return float(bgnbd._log_likelihood(theta, bgnbd._Data(x, t_x, T, w), gradient=False)[0])
    theta = np.log([params[k] for k in ("r", "alpha", "s", "beta")])
    return float(paretonbd._log_likelihood(theta, paretonbd._Data(x, t_x, T, w)))


def bgnbd_customer_log_likelihood(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Eq. (6) of Fader, Hardie & Lee (2005) per customer, written out independently of segkit.

    ``L = B(a, b+x)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+T)^(r+x))
    + [x>0] B(a+1, b+x-1)/B(a, b) G(r+x) alpha^r / (G(r) (alpha+t_x)^(r+x))``.
    """
    from scipy.special import betaln, gammaln

    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha) - betaln(a, b)
    first = betaln(a, b + x) + common - (r + x) * np.log(alpha + T)
    repeat = x > 0
    second = np.full(x.shape, -np.inf)
    second[repeat] = (betaln(a + 1, b + x[repeat] - 1) + common[repeat]
                      - (r + x[repeat]) * np.log(alpha + t_x[repeat]))
    return np.logaddexp(first, second)


def pareto_customer_log_likelihood(params: dict[str, float], x, t_x, T) -> np.ndarray:
    """Eq. (22) of Fader & Hardie (2005) per customer, from segkit's terms (not deduplicated)."""
    sys.path.insert(0, str(ROOT / "src"))
    from scipy.special import gammaln

    from segkit.models.paretonbd import _log_G, _log_terms

    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    log_G_tx = _log_G(r, alpha, s, beta, x, t_x)
    log_G_T = _log_G(r, alpha, s, beta, x, T)
    ln_bracket, _ = _log_terms(r, alpha, s, beta, x, t_x, T, log_G_tx, log_G_T)
    return gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta) + ln_bracket


def exact_difference(task: str, ours: dict[str, float], theirs: dict[str, float]):
    """ln L(segkit) - ln L(lifetimes), summed customer by customer with exact rounding (fsum).

    Near the optimum the two totals agree to within the rounding of a plain float sum of
    10^5-10^6 terms (~1e-8), so the difference is taken per customer and added with
    ``math.fsum``. Returns the difference and a bound on its rounding error.
    """
    x, t_x, T = summary_arrays(task)
    per_customer = (bgnbd_customer_log_likelihood if task == "bgnbd"
                    else pareto_customer_log_likelihood)
    ll_ours = per_customer(ours, x, t_x, T)
    diff = ll_ours - per_customer(theirs, x, t_x, T)
    # each per-customer term carries a rounding error of a few ulps
    rounding = 8 * float(np.finfo(float).eps * np.sqrt(np.sum(ll_ours**2)))
    return math.fsum(diff.tolist()), rounding


def fit_check(task: str, ours: dict, theirs: dict) -> dict:
    ll_ours = log_likelihood_at(task, ours["params"])
    ll_theirs = log_likelihood_at(task, theirs["params"])
    diffs = {k: abs(ours["params"][k] - v) / abs(v) for k, v in theirs["params"].items()}
    check = {
        "segkit_log_likelihood": ll_ours,
        "lifetimes_log_likelihood": ll_theirs,
        "max_relative_parameter_difference": max(diffs.values()),
    }
    delta, rounding = exact_difference(task, ours["params"], theirs["params"])
    check["segkit_minus_lifetimes_exact_sum"] = delta
    if task == "bgnbd":
        x, t_x, T = summary_arrays(task)
        check["segkit_log_likelihood_independent_eq6"] = math.fsum(
            bgnbd_customer_log_likelihood(ours["params"], x, t_x, T).tolist()
        )
    check["segkit_at_least_as_high"] = bool(delta >= -rounding)
    # both optimisers stop at a tolerance: a shortfall below 1e-9 of the total is a tie
    check["equal_within_optimiser_tolerance"] = bool(abs(delta) <= 1e-9 * abs(ll_theirs))
    return check


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
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory": mem,
        "python": platform.python_version(),
        "os": platform.platform(),
        "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(not set)"),
    }


def seconds(t: float) -> str:
    return f"{t:.3f} s" if t < 100 else f"{t:.0f} s"


def time_cell(r: dict | None) -> tuple[str, str]:
    if not r:
        return "not run", ""
    if "timed_out" in r:
        return f"did not finish within {r['timed_out'] / 60:.0f} min (stopped)", ""
    t = r["times"]
    spread = f", {seconds(min(t))}-{seconds(max(t))}" if len(t) > 1 else ""
    return f"{seconds(float(np.median(t)))} (n={len(t)}{spread})", f"{r['peak_extra_mb']:.0f} MB"


def table_row(task: str, ours: dict | None, theirs: dict | None) -> str:
    o_t, o_m = time_cell(ours)
    t_t, t_m = time_cell(theirs)
    speed = ""
    if ours and theirs and "times" in ours and "times" in theirs:
        speed = f"{np.median(theirs['times']) / np.median(ours['times']):.1f}x"
    elif ours and theirs and "times" in ours and "timed_out" in theirs:
        speed = f"> {theirs['timed_out'] / np.median(ours['times']):.0f}x"
    target = ""
    if task in TARGETS and ours and "times" in ours:
        met = "met" if np.median(ours["times"]) <= TARGETS[task] else "NOT met"
        target = f"<= {TARGETS[task]:g} s ({met})"
    load = f"{ours['load_before'][0]:.2f}" if ours and "load_before" in ours else ""
    if theirs and "load_before" in theirs:
        load += f" / {theirs['load_before'][0]:.2f}"
    return (f"| {LABELS[task]} | {o_t} | {o_m} | {target} | {t_t} | {t_m} | {speed} | {load} |")


def blas_lines(results: dict, tool: str) -> list[str]:
    """The tool's library versions and every BLAS its task processes had loaded."""
    envs = [r["environment"] for (t, _), r in results.items() if t == tool and "environment" in r]
    if not envs:
        return []
    versions = ", ".join(f"{k} {v}" for k, v in envs[0]["versions"].items())
    lines = [f"- {tool} environment: {versions}"]
    seen = set()
    for env in envs:
        blas = env["blas"]
        if isinstance(blas, str):
            blas = [{"missing": blas}]
        for lib in blas:
            key = json.dumps(lib, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            if "missing" in lib:
                lines.append(f"  - BLAS: {lib['missing']}")
                continue
            details = ", ".join(
                f"{k.replace('_', ' ')} {lib[k]}"
                for k in ("architecture", "threading_layer", "loaded_from")
                if lib.get(k) is not None
            )
            lines.append(
                f"  - threadpoolctl, {lib['user_api']}: {lib['internal_api']} "
                f"{lib['version'] or ''} ({lib['prefix']}; {details}), "
                f"{lib['num_threads']} threads by default"
            )
    return lines


def write_results(results: dict, checks: dict, info: dict, run_info: dict, command: str,
                  path: Path) -> None:
    r = results
    lines = [
        "# Benchmark results: segkit vs lifetimes 0.11.3",
        "",
        f"Generated by `{command}`, started {run_info['started']} UTC, finished "
        f"{run_info['finished']} UTC; segkit and lifetimes ran side by side in this one run "
        "(for each task segkit, then lifetimes).",
        "",
        f"Data: {N_ORDERS:,} orders of {N_CUSTOMERS:,} customers (seeded synthetic, "
        f"{START_DAY} to {END_DAY}, unsorted rows, 1 % refunds); weekly BTYD statistics "
        f"(`unit=\"W\"` / `freq=\"W\"`), observation end {END_DAY}, calibration end 2024-12-29; "
        f"the Pareto/NBD subsample is a seeded random {N_SUBSAMPLE:,} of the customers.",
        "",
        "Each task runs in a fresh process; times are wall-clock medians over n repeats "
        "(fastest-slowest in brackets); peak memory is the growth of the process's peak RSS "
        "during the task (data loaded before). The last column is the 1-minute load average "
        "when the task started (segkit / lifetimes); the machine has 2 cores shared with "
        "other work, so expect some noise.",
        "",
        "| task | segkit | segkit peak extra memory | segkit target | lifetimes 0.11.3 "
        "| lifetimes peak extra memory | speed-up | load at start |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [table_row(t, r.get(("segkit", t)), r.get(("lifetimes", t))) for t in TASKS]
    lines.append("")
    quoted = ", ".join(f"{LABELS[t].split(' (')[0]} ~{v:g} s" for t, v in QUOTED_LIFETIMES.items())
    lines += [
        f"The lifetimes times quoted when the targets were set: {quoted}.",
        "",
    ]
    for task in ("pareto50k", "pareto"):
        theirs = r.get(("lifetimes", task))
        if theirs and "timed_out" in theirs:
            customers = "50 k" if task == "pareto50k" else "500 k"
            lines += [
                f"lifetimes' Pareto/NBD fit on {customers} customers (Nelder-Mead on every "
                f"customer row) was stopped at the time limit of "
                f"{theirs['timed_out'] / 60:.0f} minutes without a result.",
                "",
            ]
    lines += ["## Agreement", ""]
    if not checks:
        lines.append("No checks: lifetimes was not run (`--quick`).")
    for name, check in checks.items():
        lines.append(f"- **{name}**: `{json.dumps(check, default=float)}`")
    if any(name.startswith(("BG/NBD", "Pareto")) for name in checks):
        lines += [
            "",
            "`segkit_log_likelihood` and `lifetimes_log_likelihood` are segkit's evaluation of "
            "the log-likelihood at each tool's fitted parameters; near the optimum they differ "
            "by less than the rounding of a float sum of 10^5-10^6 terms (~1e-8), so "
            "`segkit_minus_lifetimes_exact_sum` takes ln L(segkit) - ln L(lifetimes) customer by "
            "customer and adds the differences with `math.fsum` (for BG/NBD from eq. (6) written "
            "out independently of segkit, whose total is `segkit_log_likelihood_independent_eq6`; "
            "for Pareto/NBD from segkit's per-customer terms). `segkit_at_least_as_high` tests "
            "that difference against the rounding of the per-customer terms; "
            "`equal_within_optimiser_tolerance` says whether it is below 1e-9 of the total, "
            "where the optimisers' stopping rules leave it to chance which side is ahead. The run "
            "fails if segkit's BG/NBD is not at least as high, or if a Pareto/NBD fit is short "
            "by more than that tolerance.",
        ]
    lines += ["", "## Fitted parameters", ""]
    for task in ("bgnbd", "pareto50k", "pareto"):
        for tool in ("segkit", "lifetimes"):
            res = r.get((tool, task))
            if res and "params" in res:
                params = ", ".join(f"{k}={v:.6g}" for k, v in res["params"].items())
                lines.append(f"- {task} / {tool}: {params}")
    lines += ["", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()]
    lines += blas_lines(r, "segkit") + blas_lines(r, "lifetimes")
    lines.append("- segkit fits its models with BLAS limited to one thread "
                 "(`segkit.models._optim.single_threaded_blas`)")
    lines.append(f"- load average (1, 5, 15 min) at the start: {run_info['load_start']}, "
                 f"at the end: {run_info['load_end']}")
    if run_info.get("wait"):
        w = run_info["wait"]
        lines.append(f"- waited {w['waited_s']} s for the 1-minute load to drop below "
                     f"{w['threshold']:g} ({'reached' if w['reached'] else 'not reached'}: "
                     f"{w['load_1min']:.3f})")
    lines += ["", "## Reproduce", "", "```", command, "```", ""]
    path.write_text("\n".join(lines), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="segkit only (no lifetimes venv)")
    parser.add_argument("--repeats", type=int, default=7, help="segkit repeats per task")
    parser.add_argument("--lifetimes-repeats", type=int, default=3,
                        help="lifetimes repeats for the summary and BG/NBD (the holdout split "
                             "and Pareto/NBD run once: they take minutes)")
    parser.add_argument("--timeout", type=float, default=1800,
                        help="seconds per lifetimes task other than Pareto/NBD")
    parser.add_argument("--pareto-timeout", type=float, default=600,
                        help="seconds for each lifetimes Pareto/NBD fit before it is stopped "
                             "and reported as unfinished")
    parser.add_argument("--skip-pareto-lifetimes", action="store_true",
                        help="do not run lifetimes' Pareto/NBD on all 500 k customers")
    parser.add_argument("--wait-for-load", type=float, default=None, metavar="LOAD",
                        help="first wait until the 1-minute load average is below LOAD")
    parser.add_argument("--max-wait", type=float, default=1200,
                        help="give up waiting for --wait-for-load after this many seconds")
    parser.add_argument("--regenerate", action="store_true", help="rebuild the data")
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)

    orders = DATA / "orders.npz"
    if args.regenerate or not orders.exists():
        print(f"generating {N_ORDERS:,} orders x {N_CUSTOMERS:,} customers -> {orders}")
        generate_orders(orders)
    subsample = DATA / "subsample_50k.npy"
    if args.regenerate or not subsample.exists():
        write_subsample(subsample)
    theirs_python = None if args.quick else lifetimes_python()

    run_info: dict = {}
    if args.wait_for_load is not None:
        run_info["wait"] = wait_for_quiet(args.wait_for_load, args.max_wait)
    run_info["started"] = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"
    run_info["load_start"] = ", ".join(map(str, load_average()))

    ours_python = Path(sys.executable)
    results: dict[tuple[str, str], dict] = {}
    for task in TASKS:
        print(f"{task}:")
        # the summary task writes the statistics every fit task reads: segkit runs it first
        results[("segkit", task)] = run_task(ours_python, "segkit", task, args.repeats, 3600)
        if theirs_python is None or (task == "pareto" and args.skip_pareto_lifetimes):
            continue
        repeats = args.lifetimes_repeats if task in ("summary", "bgnbd") else 1
        timeout = args.pareto_timeout if task.startswith("pareto") else args.timeout
        results[("lifetimes", task)] = run_task(theirs_python, "lifetimes", task, repeats,
                                                 timeout)
    run_info["finished"] = f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M}"
    run_info["load_end"] = ", ".join(map(str, load_average()))

    checks: dict[str, dict] = {}
    if theirs_python is not None:
        if "times" in results[("lifetimes", "summary")]:
            checks["transaction summary"] = compare_frames(
                "summary", {c: c for c in ("frequency", "recency", "T", "monetary_value")}
            )
        if "times" in results[("lifetimes", "holdout")]:
            cols = ("frequency_cal", "recency_cal", "T_cal", "monetary_value_cal",
                    "frequency_holdout", "monetary_value_holdout", "duration_holdout")
            checks["calibration / holdout"] = compare_frames("holdout", {c: c for c in cols})
        for task, label in (("bgnbd", "BG/NBD"), ("pareto50k", "Pareto/NBD (50 k)"),
                            ("pareto", "Pareto/NBD (500 k)")):
            theirs = results.get(("lifetimes", task))
            if theirs and "params" in theirs:
                checks[label] = fit_check(task, results[("segkit", task)], theirs)
    for name, check in checks.items():
        print(f"{name}: {check}")
    passed = sys.argv[1:] if argv is None else argv
    command = " ".join([".venv/bin/python benchmarks/bench_btyd.py", *passed])
    write_results(results, checks, machine_info(), run_info, command, args.results)
    print(f"wrote {args.results}")
    failed = [n for n, c in checks.items()
              if c.get("agree") is False
              or (n == "BG/NBD" and not c["segkit_at_least_as_high"])
              or (n.startswith("Pareto") and not (c["segkit_at_least_as_high"]
                                                 or c["equal_within_optimiser_tolerance"]))]
    if failed:
        print(f"DISAGREEMENT: {failed}")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Weighted fits: BG/NBD and Pareto/NBD per customer vs on distinct rows with counts.

    .venv/bin/python benchmarks/bench_weighted.py [--repeats 5]

Uses the 500 k customers of bench_btyd.py (benchmarks/.data/orders.npz, generated with the
same seed when missing) summarised weekly and daily with ``segkit.summary.btyd_summary``, and
times, each as the median of ``--repeats`` runs (fastest-slowest in brackets):

* ``fit(frequency, recency, T)`` on one row per customer;
* ``compress_snapshot(summary)`` (distinct rows + ``n_customers``);
* ``fit_snapshot(rows, sample_weight="n_customers")`` on the distinct rows;

interleaved repeat by repeat (Pareto/NBD only on the weekly summary), and checks that both fits give the same parameters and log-likelihood. Then the peak memory
(tracemalloc, which sees numpy's buffers) of ``probability_alive`` and ``expected_purchases``
for 1,000,000 customers (the weekly summary's customers twice), per model. Prints Markdown
for RESULTS.md, with the load average at the start and the end (the machine is shared).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_btyd import DATA, END_DAY, generate_orders  # noqa: E402

from segkit.models import BetaGeo, ParetoNBD, compress_snapshot  # noqa: E402
from segkit.summary import btyd_summary  # noqa: E402


def load_summary(unit: str) -> pd.DataFrame:
    path = DATA / "orders.npz"
    if not path.exists():
        generate_orders(path)
    data = np.load(path)
    orders = pd.DataFrame({
        "customer_id": data["customer_id"],
        "order_date": data["order_day"].astype("datetime64[D]").astype("datetime64[ns]"),
        "amount": data["amount"],
    })
    return btyd_summary(orders, str(END_DAY), unit=unit)


def timed(fun, repeats: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        out = fun()
        times.append(time.perf_counter() - start)
    return times, out


def cell(times: list[float]) -> str:
    med = statistics.median(times)
    if len(times) == 1:
        return f"{med:.3f} s (n=1)"
    return f"{med:.3f} s (n={len(times)}, {min(times):.3f}-{max(times):.3f})"


def max_rel_diff(a: dict, b: dict) -> float:
    return max(abs(a[k] - b[k]) / abs(b[k]) for k in a)


def peak_mb(fun) -> float:
    tracemalloc.start()
    tracemalloc.reset_peak()
    fun()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--pareto-repeats", type=int, default=3)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()
    lines = ["| model | unit | customers | distinct rows | fit per customer | compress_snapshot "
             "| fit on distinct rows | max relative parameter difference |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    # Pareto/NBD on the daily summary is left out: on these data its likelihood is flat along
    # the (s, beta) ridge in days, and the fit raises ConvergenceError after ~2 minutes
    cases = [("W", BetaGeo, args.repeats), ("W", ParetoNBD, args.pareto_repeats),
             ("D", BetaGeo, args.repeats)]
    summaries = {unit: load_summary(unit) for unit in ("W", "D")}
    for unit, model, repeats in cases:
        snap = summaries[unit]
        cols = [snap["frequency"], snap["recency"], snap["T"]]
        t_plain, t_compress, t_rows = [], [], []
        for _ in range(repeats):  # interleaved, so that both ways see the same machine load
            t, plain = timed(lambda: model().fit(*cols), 1)  # noqa: B023
            t_plain += t
            t, rows = timed(lambda: compress_snapshot(snap), 1)  # noqa: B023
            t_compress += t
            t, weighted = timed(lambda: model().fit_snapshot(rows, "n_customers"), 1)  # noqa: B023
            t_rows += t
        diff = max_rel_diff(weighted.params_, plain.params_)
        same_ll = weighted.log_likelihood_ == plain.log_likelihood_
        lines.append(f"| {model.__name__} | {unit} | {len(snap):,} | {len(rows):,} | "
                     f"{cell(t_plain)} | {cell(t_compress)} | {cell(t_rows)} | "
                     f"{diff:.1e}{'' if same_ll else ' (log-likelihood differs)'} |")
        print(lines[-1], flush=True)

    # predictions for 1 M customers: how much memory beyond the inputs and the result
    weekly = summaries["W"]
    million = pd.concat([weekly, weekly]).iloc[:1_000_000]
    x, t_x, T = (million[c].to_numpy() for c in ("frequency", "recency", "T"))
    mem = ["| model | call | customers | time | peak traced memory (inputs 24 MB, result 8 MB) |",
           "| --- | --- | --- | --- | --- |"]
    for model in (BetaGeo, ParetoNBD):
        fitted = model(penalizer_coef=0.0).fit(x[:500_000], t_x[:500_000], T[:500_000])
        for name, call in (("probability_alive", lambda m=fitted: m.probability_alive(x, t_x, T)),
                           ("expected_purchases(52)",
                            lambda m=fitted: m.expected_purchases(52, x, t_x, T))):
            seconds, _ = timed(call, 1)
            mem.append(f"| {model.__name__} | {name} | {len(x):,} | {seconds[0]:.2f} s | "
                       f"{peak_mb(call):.0f} MB |")
            print(mem[-1], flush=True)
    load_end = os.getloadavg()
    print()
    print("\n".join(lines))
    print()
    print("\n".join(mem))
    print(f"\nload average (1, 5, 15 min) at the start: {', '.join(f'{v:.2f}' for v in load_start)}; "
          f"at the end: {', '.join(f'{v:.2f}' for v in load_end)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

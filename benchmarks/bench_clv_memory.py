"""CLV predictions for 1 M customers: time and peak extra memory (issue: <= about 2 GB extra).

    .venv/bin/python benchmarks/bench_clv_memory.py [--customers 1000000]

Synthetic weekly BTYD statistics (seeded); BG/NBD with a small penalizer (the synthetic data
have no dropout process to identify) and Gamma-Gamma are fitted first, then ``segkit.clv``
streams the customers in chunks. Peak memory is the growth of the process's peak RSS during
the ``clv`` call, measured in a fresh process.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
import pandas as pd

from segkit.models import BetaGeo, GammaGamma
from segkit.models.clv import clv


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    n = args.customers
    T = rng.integers(1, 157, n).astype(float)
    x = np.minimum(rng.poisson(rng.gamma(0.5, 0.1, n) * T), T).astype(float)
    t_x = np.maximum(np.where(x > 0, np.floor(rng.uniform(0, 1, n) * T), 0.0), np.minimum(x, T))
    spend = np.where(x > 0, rng.gamma(6, 15, n), 0.0)
    stats = pd.DataFrame({"frequency": x, "recency": t_x, "T": T, "monetary_value": spend},
                         index=pd.Index([f"C{i}" for i in range(n)], name="customer_id"))
    stats.attrs.update({"btyd_unit": "W", "observation_end": pd.Timestamp("2026-09-30")})
    purchase = BetaGeo(penalizer_coef=0.001).fit_snapshot(stats)
    repeat = stats.loc[stats["frequency"] > 0]
    spend_model = GammaGamma().fit(repeat["frequency"], repeat["monetary_value"])
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    start = time.perf_counter()
    out = clv(stats, purchase, spend_model, "12M")
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"| CLV for {n:,} customers (12M horizon, weekly discounting) | {seconds:.2f} s | {after - before:.0f} MB extra peak RSS "
          f"(process peak {after:.0f} MB) | {len(out):,} rows |")


if __name__ == "__main__":
    main()

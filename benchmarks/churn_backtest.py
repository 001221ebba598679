"""Churn backtest on the sample and on CDNOW: the model with and without the BTYD features,
the BG/NBD baseline (exact chance of no purchase) and the handbook rule list, one table each.

Prints the tables of docs/churn.md ("Does the model learn from the BTYD models?"). Not a
speed benchmark: it measures accuracy, on data segkit did not generate (CDNOW, orders only,
USD, as tests/test_churn_once.py loads it) and on the sample. Run from the repository root:

    .venv/bin/python benchmarks/churn_backtest.py              # both data sets
    .venv/bin/python benchmarks/churn_backtest.py --only sample
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from segkit.insights.churn import backtest_churn, method_labels
from segkit.io import load_dataset

ROOT = Path(__file__).resolve().parents[1]
CDNOW = ROOT / "data" / "benchmarks" / "cdnow" / "CDNOW_master.txt"


def cdnow_dataset(folder: Path):
    """CDNOW's 69,659 orders of 23,570 customers as an orders-only data set (USD), data to 1998-06-30."""
    raw = pd.read_csv(CDNOW, sep=r"\s+", header=0, names=["id", "date", "qty", "amount"], dtype={"id": str, "date": str})
    pd.DataFrame({"customer_id": raw["id"], "order_date": pd.to_datetime(raw["date"], format="%Y%m%d").dt.strftime("%Y-%m-%d"),
                  "amount": raw["amount"]}).to_csv(folder / "orders.csv", index=False)
    (folder / "dataset.yaml").write_text("name: CDNOW\nas_of: 1998-06-30\ncurrency: USD\n", encoding="utf-8")
    return load_dataset(folder)


def table(bt) -> str:
    m = bt.metrics
    labels = method_labels(m.index, "en")
    lines = ["| method | ROC AUC | PR AUC | Brier | lift, top 10% | capture, top 10% |", "| --- | --- | --- | --- | --- | --- |"]
    for key, row in m.iterrows():
        name = f"**{labels[key]}** (`{key}`)" if key == bt.winner else f"{labels[key]} (`{key}`)"
        lines.append(f"| {name} | {row['roc_auc']:.4f} | {row['pr_auc']:.4f} | {row['brier']:.4f} | "
                     f"{row['lift_top']:.2f} | {row['capture_top']:.1%} |")
    head = (f"test date {bt.test_as_of.date()}, outcome to {bt.outcome_end.date()}; trained on "
            f"{len(bt.train_as_of)} quarter ends ({bt.n_train:,} rows); {int(m['customers'].iloc[0]):,} test customers, "
            f"{m['churn_rate'].iloc[0]:.1%} churned; winner: {bt.winner}")
    return head + "\n\n" + "\n".join(lines) + "\n\n" + gains(bt)


def gains(bt, resamples: int = 500, seed: int = 0) -> str:
    """ROC AUC of ``model_btyd`` minus each other method's, with a paired bootstrap 95% interval
    (the test customers resampled with replacement, every method scored on the same draw)."""
    from sklearn.metrics import roc_auc_score

    s = bt.scores
    y = s["churned"].to_numpy()
    rng = np.random.default_rng(seed)
    draws = [rng.integers(0, len(y), len(y)) for _ in range(resamples)]
    parts = []
    for other in ("model", "bgnbd"):
        diff = roc_auc_score(y, s["model_btyd"]) - roc_auc_score(y, s[other])
        boot = [roc_auc_score(y[i], s["model_btyd"].to_numpy()[i]) - roc_auc_score(y[i], s[other].to_numpy()[i]) for i in draws]
        low, high = np.percentile(boot, [2.5, 97.5])
        parts.append(f"`model_btyd` - `{other}`: {diff:+.4f} (95% paired bootstrap interval {low:+.4f} .. {high:+.4f})")
    return "ROC AUC gain, " + "; ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=["sample", "cdnow"])
    args = parser.parse_args()
    if args.only in (None, "sample"):
        print("## sample (data/sample)\n")
        print(table(backtest_churn(load_dataset(ROOT / "data" / "sample"), progress=False)), "\n")
    if args.only in (None, "cdnow"):
        with tempfile.TemporaryDirectory() as folder:
            print("## CDNOW (orders only, USD)\n")
            print(table(backtest_churn(cdnow_dataset(Path(folder)), progress=False)), "\n")


if __name__ == "__main__":
    main()

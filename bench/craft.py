"""The demo workflow measured: craft() on the bundled digits, several seeds.

    python bench/craft.py [--seeds 3] [--max-trials 10] [--dataset digits]

Each seed is a new train/validation/test split and a new search (the demo's settings:
Bayesian search of 10 trials, top 3 retrained, gradient boosting, greedy ensemble). Printed
per seed and as medians: wall time of craft() (the process start and imports not
included), the seconds of each stage, and test accuracy / log loss of the ensemble, the
best single model chosen on validation, and the best retrained network alone.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))

import kerascraft as kc  # noqa: E402


def one(dataset, seed, max_trials):
    data = kc.load_dataset(dataset, split=False)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        r = kc.craft(data["x"], data["y"], directory=tmp, max_trials=max_trials, seed=seed,
                     verbose=0)
        wall = time.perf_counter() - t0
    scores = r.test_scores.set_index("model")
    ens = scores[scores["kind"] == "ensemble"].iloc[0]
    best = r.ensemble.scores["best_single_model"]
    return {"seed": seed, "wall_s": wall, "precision": r.setup["precision"],
            "steps_per_execution": r.setup["steps_per_execution"],
            **{f"{k}_s": v for k, v in r.timings.items() if k != "reused"},
            "ensemble_acc": ens["accuracy"], "ensemble_logloss": ens["log_loss"],
            "best_single": best, "best_single_acc": scores.loc[best, "accuracy"],
            "best_single_logloss": scores.loc[best, "log_loss"],
            "net_1_acc": scores.loc["net_1", "accuracy"],
            "net_1_logloss": scores.loc["net_1", "log_loss"]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--max-trials", type=int, default=10)
    p.add_argument("--dataset", default="digits")
    args = p.parse_args()
    rows = []
    for seed in range(args.seeds):
        row = one(args.dataset, seed, args.max_trials)
        rows.append(row)
        print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                        for k, v in row.items()), flush=True)
    keys = [k for k, v in rows[0].items() if isinstance(v, float)]
    print("median: " + "  ".join(f"{k}={statistics.median(r[k] for r in rows):.4g}" for k in keys))
    better = sum(r["ensemble_logloss"] < r["best_single_logloss"] for r in rows)
    print(f"ensemble log loss below the best single model's in {better} of {len(rows)} seeds")


if __name__ == "__main__":
    main()

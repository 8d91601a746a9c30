"""The demo workflow measured: craft() on the bundled digits (or another table), several seeds.

    python bench/craft.py [--seeds 3] [--max-trials 10] [--dataset digits]
                          [--methods greedy,stack] [--cheap off,on]

``--dataset``: digits, wine, breast_cancer, or a table of bench/tables.py (iris, diabetes,
mpg_drv, mpg_hwy, diamonds_cut, diamonds_price, airquality_ozone); for numbers the scores
are the test MSE and MAE instead of accuracy and log loss.

Each seed is a new train/validation/test split and a new search (the demo's settings:
search of 10 trials, top 3 retrained, gradient boosting, greedy ensemble). Printed per seed
and as medians: wall time of craft() (the process start and imports not included), the
seconds of each stage, and test accuracy / log loss of the ensemble, the best single model
chosen on validation, and the best retrained network alone. With several ``--methods``,
craft() runs again in the same directory with each further ensemble method: the search,
retraining and trees are reused, only the ensemble is fitted anew (its rows are marked
with the method). ``--cheap off,on`` does the same without and with craft()'s cheap models
(a linear model, k-nearest neighbours, extra trees) among the members.
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
from tables import load as load_table  # noqa: E402

BUNDLED = ("digits", "breast_cancer", "wine")


def one(dataset, seed, max_trials, methods=("greedy",), cheap=("off",)):
    data = kc.load_dataset(dataset, split=False) if dataset in BUNDLED else load_table(dataset)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for c in cheap:
            for method in methods:
                t0 = time.perf_counter()
                r = kc.craft(data["x"], data["y"], directory=tmp, max_trials=max_trials,
                             seed=seed, ensemble_method=method, cheap_models=c == "on",
                             verbose=0)
                label = method + (", cheap models" if c == "on" else "")
                rows.append({"method": label, **_row(r, seed, time.perf_counter() - t0)})
    return rows


def _row(r, seed, wall):
    scores = r.test_scores.set_index("model")
    ens = scores[scores["kind"] == "ensemble"].iloc[0]
    best = r.ensemble.scores["best_single_model"]
    # the headline metric first (log loss, MSE: lower is better), then the second
    first, second = ("log_loss", "accuracy") if r.task == "classification" else ("mse", "mae")
    return {"seed": seed, "wall_s": wall, "precision": r.setup["precision"],
            "steps_per_execution": r.setup["steps_per_execution"],
            **{f"{k}_s": v for k, v in r.timings.items() if k != "reused"},
            f"ensemble_{second}": ens[second], "ensemble_loss": ens[first],
            "best_single": best, f"best_single_{second}": scores.loc[best, second],
            "best_single_loss": scores.loc[best, first],
            f"net_1_{second}": scores.loc["net_1", second],
            "net_1_loss": scores.loc["net_1", first]}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--max-trials", type=int, default=10)
    p.add_argument("--dataset", default="digits")
    p.add_argument("--methods", default="greedy", help="ensemble methods, comma-separated")
    p.add_argument("--cheap", default="off", help="off, on or off,on: craft()'s cheap models")
    args = p.parse_args()
    rows = []
    for seed in range(args.seeds):
        for row in one(args.dataset, seed, args.max_trials, args.methods.split(","),
                       args.cheap.split(",")):
            rows.append(row)
            print("  ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                            for k, v in row.items()), flush=True)
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        keys = [k for k, v in mine[0].items() if isinstance(v, float)]
        print(f"median ({method}): " + "  ".join(
            f"{k}={statistics.median(r[k] for r in mine):.4g}" for k in keys))
        better = sum(r["ensemble_loss"] < r["best_single_loss"] for r in mine)
        print(f"{method}: ensemble loss (log loss or MSE) below the best single model's in "
              f"{better} of {len(mine)} seeds")


if __name__ == "__main__":
    main()

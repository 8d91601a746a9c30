"""The threshold above which craft()'s networks embed a category rather than one-hot it
(``kerascraft.tables.EMBED_LEVELS``), measured.

For each table and seed, craft()'s networks alone (no trees, no cheap models: the
threshold changes only what the networks receive) with each threshold, on the same rows and
test split: ``none`` (every category one-hot over its 32 most frequent levels, as before
embeddings), and embeddings for categories of more than 8, 16 or 32 levels. A threshold
that embeds the same columns as one already run (the levels each category keeps are known
from the first run) is not run again: its row is that run's, marked ``same_as``. The tables
are bench/raw.py's: the threshold is chosen on the first command's tables and checked on
the second's, which it was not chosen on.

    python bench/embed.py --tables txhousing_median,mpg_hwy --out bench/embed-DATE.jsonl
    python bench/embed.py --tables midwest_poverty,txhousing_sales,msleep_total \\
        --out bench/embed-DATE.jsonl
    python bench/embed.py --report bench/embed-DATE.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from raw import CACHE, TABLES, emit, load, score, target_of  # noqa: E402

THRESHOLDS = {"none": 10**9, "8": 8, "16": 16, "32": 32}


def one(name, seed, threshold, max_trials, epochs):
    import kerascraft as kc
    from kerascraft import tables

    frame, target, task = load(name)
    kept = frame[frame[target].notna()].reset_index(drop=True)
    tables.EMBED_LEVELS = THRESHOLDS[threshold]
    directory = os.path.join(CACHE, "embed", f"{name}-{seed}-{threshold}")
    started = time.monotonic()
    result = kc.craft(frame, y=target, directory=directory, max_trials=max_trials,
                      epochs=epochs, seed=seed, verbose=0, overwrite=True,
                      gradient_boosting=False, cheap_models=False)
    seconds = time.monotonic() - started
    split = np.load(os.path.join(directory, "split.npz"))
    y_all = target_of(kept, target, task)
    if task == "classification":
        y_all = np.array([result.classes.index(v) for v in y_all])
    pred = result.predict(kept.iloc[split["test"]].drop(columns=[target]))
    embedded = [c.name for c in result.table.columns if c.stats.get("embed")]
    kept = {c.name: c.stats["kept"] for c in result.table.columns if "kept" in c.stats}
    return {"table": name, "seed": seed, "threshold": threshold, "seconds": seconds,
            "embedded": embedded, "kept": kept, **score(task, y_all[split["test"]], pred)}


def would_embed(kept, threshold):
    """The columns a threshold embeds, from the levels each category keeps (a run's)."""
    return sorted(c for c, n in kept.items() if n > THRESHOLDS[threshold])


def report(path):
    with open(path) as f:
        rows = [json.loads(line) for line in f if line.strip()]
    metric = {"regression": "rmse", "classification": "log_loss"}
    names = list(THRESHOLDS)
    print("| table | metric | " + " | ".join(f"{t}" for t in names) + " | "
          + " | ".join(f"{t} / none" for t in names[1:]) + " | embedded in any seed (8 / 16 / 32) |")
    print("|---" * (3 + 2 * len(names) - 1) + "|")
    for name in dict.fromkeys(r["table"] for r in rows):
        mine = [r for r in rows if r["table"] == name]
        m = metric[TABLES[name][2]]
        med = {t: statistics.median(r[m] for r in mine if r["threshold"] == t) for t in names}
        seeds = sorted({r["seed"] for r in mine})
        pair = {(r["seed"], r["threshold"]): r[m] for r in mine}
        wins = {t: (sum(pair[(s, t)] < pair[(s, "none")] for s in seeds),
                    sum(pair[(s, t)] > pair[(s, "none")] for s in seeds)) for t in names[1:]}
        emb = " / ".join(",".join(sorted({c for r in mine if r["threshold"] == t
                                          for c in r["embedded"]})) or "-" for t in names[1:])
        print(f"| {name} ({len(seeds)} seeds) | {m} | "
              + " | ".join(f"{med[t]:.4g}" for t in names) + " | "
              + " | ".join(f"{med[t] / med['none']:.3f} ({wins[t][0]} better, {wins[t][1]} "
                           "worse)" for t in names[1:]) + f" | {emb} |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default="txhousing_median,mpg_hwy")
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--thresholds", default=",".join(THRESHOLDS))
    p.add_argument("--max-trials", type=int, default=6)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--out", default=None, help="JSON lines file to append each row to")
    p.add_argument("--report", default=None, help="summarise a JSON lines file and stop")
    args = p.parse_args()
    if args.report:
        report(args.report)
        return
    done = []
    if args.out and os.path.exists(args.out):
        with open(args.out) as f:
            done = [json.loads(line) for line in f if line.strip()]
    for name in args.tables.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            rows = [r for r in done if r["table"] == name and r["seed"] == seed]
            for threshold in args.thresholds.split(","):
                if any(r["threshold"] == threshold for r in rows):
                    continue
                # a threshold that embeds the same columns as one already run gives the
                # same models (the same seed, split and search): its row is that run's
                same = [r for r in rows if "kept" in r and sorted(r["embedded"])
                        == would_embed(r["kept"], threshold)]
                row = ({**same[0], "threshold": threshold, "same_as": same[0]["threshold"]}
                       if same else one(name, seed, threshold, args.max_trials, args.epochs))
                rows.append(row)
                emit(row, args.out)


if __name__ == "__main__":
    main()

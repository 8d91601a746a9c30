"""craft(time_limit=...): does the call end within its limit, and does its test score hold
or improve as the limit grows?

For each table, limit and seed, one ``craft(x, y, time_limit=LIMIT, max_trials=1000)`` in a
fresh directory (``max_trials`` high so that the limit, not the trial budget, ends the
search), default settings otherwise. Recorded: the wall time of the call as the user sees
it (``took``, from before the call to after it), ``took / limit``, the seconds of each stage,
the trials run, the models retrained, and the ensemble's test score.

Tables: scikit-learn's digits (1,797 images of 8x8, 10 classes: bundled) and the raw table
``txhousing_median`` of ``bench/raw.py`` (4,000 rows of ggplot2's txhousing: a category of
46 cities, a date, numbers with NA; regression).

    python bench/time_limit.py --tables digits,txhousing_median --limits 60,120,300 \
        --seeds 0,1,2 --out bench/time_limit-DATE.jsonl
    python bench/time_limit.py --report bench/time_limit-DATE.jsonl

``--stop-early both`` runs each call with ``stop_early=True`` and with ``stop_early=False``
(the default here is ``True``; craft()'s own is off, so pass ``--stop-early false`` to
measure what users get; rows made before it existed searched to the limit):
how much time stopping early saves, and what it costs in test score.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))
sys.path.insert(0, HERE)


def table(name):
    """``(x, y, metric, higher_is_better)``."""
    if name == "digits":
        from sklearn.datasets import load_digits

        x, y = load_digits(return_X_y=True)
        return x, y, "accuracy", True
    import raw

    frame, target, _ = raw.load(name)
    return frame, target, "rmse", False


def one(name, limit, seed, stop_early=True):
    import kerascraft as kc

    x, y, metric, _ = table(name)
    directory = tempfile.mkdtemp(prefix=f"kc-time-{name}-")
    began = time.monotonic()
    result = kc.craft(x, y, time_limit=limit, max_trials=1000, seed=seed,
                      directory=directory, verbose=0, stop_early=stop_early)
    took = time.monotonic() - began
    scores = result.test_scores
    ensemble = scores[scores["kind"] == "ensemble"].iloc[0]
    value = float(ensemble[metric] if metric != "rmse" else ensemble["mse"] ** 0.5)
    return {"table": name, "limit": limit, "seed": seed, "stop_early": stop_early,
            "took": took,
            "ratio": took / limit, "trials": len(result.trials),
            "retrained": int(result.retrained["epochs"].notna().sum()),
            "metric": metric, "test": value,
            "stages": {k: round(v, 1) for k, v in result.timings.items()},
            "cut": result.cut}


def report(paths):
    rows = [json.loads(line) for p in paths for line in open(p) if line.strip()]
    print("| table | limit (s) | stop_early | took / limit: median (max) | trials (median) | "
          "retrained (median) | test score (median) |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        r.setdefault("stop_early", "searched to the limit")
    for name in dict.fromkeys(r["table"] for r in rows):
        for limit, stop in sorted({(r["limit"], str(r["stop_early"])) for r in rows
                                   if r["table"] == name}):
            rs = [r for r in rows if r["table"] == name and r["limit"] == limit
                  and str(r["stop_early"]) == stop]
            ratios = [r["ratio"] for r in rs]
            print(f"| {name} | {limit:g} | {stop} | {statistics.median(ratios):.3f} "
                  f"({max(ratios):.3f}) | {statistics.median(r['trials'] for r in rs):g} | "
                  f"{statistics.median(r['retrained'] for r in rs):g} | "
                  f"{rs[0]['metric']} {statistics.median(r['test'] for r in rs):.4f} "
                  f"(n={len(rs)}) |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", default="digits,txhousing_median")
    parser.add_argument("--limits", default="60,120,300")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--stop-early", default="true", choices=["true", "false", "both"])
    parser.add_argument("--out")
    parser.add_argument("--report", help="comma-separated JSON-lines files to summarise")
    args = parser.parse_args()
    if args.report:
        report(args.report.split(","))
        return
    for name in args.tables.split(","):
        for limit in (float(v) for v in args.limits.split(",")):
            for seed in (int(s) for s in args.seeds.split(",")):
                for stop in {"true": [True], "false": [False],
                             "both": [True, False]}[args.stop_early]:
                    row = one(name, limit, seed, stop)
                    line = json.dumps(row)
                    print(line, flush=True)
                    if args.out:
                        with open(args.out, "a") as f:
                            f.write(line + "\n")


if __name__ == "__main__":
    main()

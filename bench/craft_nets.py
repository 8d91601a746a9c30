"""craft() with its former default network for tables against craft() with TabM-mini, at the
same time limit, on real tables as users have them: does the ensemble gain, do the networks
earn their weight, and is the ensemble ever below its best member?

For each table, seed and version, one ``craft(frame, y=target, time_limit=LIMIT,
max_trials=1000, seed=seed)`` in a fresh process and directory, default settings otherwise.
A version is a source tree of kerascraft's Python core: ``after`` is this checkout,
``before`` another (``--before``: a git worktree of the commit before the change, made with
``git worktree add /tmp/kc-before <commit>``; ``--after`` another worktree, to go on
editing this checkout while it runs). Both see the same rows and, with the same
seed, the same splits. Recorded per run: the test scores of the ensemble and of every
member, the best single model chosen on validation, the ensemble's weights, the seconds of
each stage, the trials run, and the ensemble's lead over its best single model with the
bootstrap interval craft() reports.

Tables: the raw tables of ``bench/raw.py`` (factors, text, dates, NA: diamonds_price,
diamonds_cut, txhousing_median, mpg_hwy, airquality_ozone, msleep_total) and three of
scikit-learn's bundled sets as data frames (wine, breast_cancer, diabetes).

    git worktree add /tmp/kc-before <commit before the change>
    python bench/craft_nets.py --before /tmp/kc-before/inst/python --seeds 0,1,2 \
        --limit 60 --out bench/craft_nets-DATE.jsonl
    python bench/craft_nets.py --report bench/craft_nets-DATE.jsonl

``--keep FOLDER`` keeps each run's validation and test predictions of every member with the
labels, for studying how to combine them without training again.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
AFTER = os.path.join(HERE, "..", "inst", "python")
RAW = ("diamonds_price", "diamonds_cut", "txhousing_median", "mpg_hwy", "airquality_ozone",
       "msleep_total")
SKLEARN = {"wine": "load_wine", "breast_cancer": "load_breast_cancer",
           "diabetes": "load_diabetes"}

#: what one run does, in a fresh process on the version's source tree
CHILD = r"""
import json, os, sys, time
sys.path.insert(0, {here!r})
import numpy as np
name, seed, limit, directory = {name!r}, {seed}, {limit}, {directory!r}
if name in {sklearn!r}:
    import sklearn.datasets
    frame = getattr(sklearn.datasets, {sklearn!r}[name])(as_frame=True).frame
    target = "target"
    if name != "diabetes":
        frame[target] = frame[target].astype(str)
else:
    from raw import load
    frame, target, _ = load(name)
    frame = frame[frame[target].notna()]
# the version's kerascraft, ahead of the checkout's that bench/raw.py puts on the path
sys.path.insert(0, {src!r})
assert "kerascraft" not in sys.modules
import kerascraft as kc
assert kc.__file__.startswith({src!r}), kc.__file__
began = time.monotonic()
r = kc.craft(frame, y=target, directory=directory, time_limit=limit, max_trials=1000,
             seed=seed, verbose=0)
took = time.monotonic() - began
if {keep!r}:  # every member's validation and test predictions, with the labels
    split = np.load(os.path.join(directory, "split.npz"))
    pred = np.load(os.path.join(directory, "predictions.npz"))
    y = frame[target].to_numpy()
    if r.task == "classification":
        y = np.array([r.classes.index(v) for v in y])
    np.savez_compressed({keep!r}, y_val=y[split["validation"]], y_test=y[split["test"]],
                        **dict(pred))
t = r.test_scores
metrics = [m for m in ("log_loss", "accuracy", "mse", "mae") if m in t.columns]
scores = {{str(row["model"]) if row["kind"] != "ensemble" else "ensemble":
          {{m: float(row[m]) for m in metrics}} for _, row in t.iterrows()}}
print("ROW " + json.dumps({{
    "task": r.task, "took": took, "timings": {{k: float(v) for k, v in r.timings.items()}},
    "trials": int(len(r.trials)), "weights": {{k: float(v) for k, v in r.ensemble.weights.items()}},
    "method": r.ensemble.method, "scores": scores,
    "best_single_model": r.ensemble.scores["best_single_model"],
    "lead": {{k: (float(v) if isinstance(v, (int, float, np.floating)) else
                (v if isinstance(v, (str, bool)) or v is None else str(v)))
             for k, v in r.lead.items()}}}}))
"""


def family(member: str) -> str:
    return ("network" if member.startswith("net_") else
            "trees" if member == "gbt" else "cheap")


def one(name, seed, limit, version, src, keep=None):
    """One run; with ``keep`` (a folder) its members' predictions are kept there, as
    ``TABLE-SEED-VERSION.npz``, for studying ensembles without training again."""
    path = os.path.join(keep, f"{name}-{seed}-{version}.npz") if keep else ""
    with tempfile.TemporaryDirectory() as tmp:
        code = CHILD.format(src=os.path.abspath(src), here=HERE, name=name, seed=seed,
                            limit=limit, directory=os.path.join(tmp, "run"), sklearn=SKLEARN,
                            keep=path)
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=20 * limit + 600, check=False)  # an error is a row
    rows = [ln for ln in proc.stdout.splitlines() if ln.startswith("ROW ")]
    base = {"table": name, "seed": seed, "limit": limit, "version": version}
    if proc.returncode != 0 or not rows:
        return {**base, "error": proc.stderr[-2000:]}
    return {**base, **json.loads(rows[-1][4:])}


def headline(row) -> tuple[str, float]:
    """The test score compared: log loss (classes) or MSE (numbers); lower is better."""
    metric = "log_loss" if row["task"] == "classification" else "mse"
    return metric, row["scores"]["ensemble"][metric]


def report(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows += [json.loads(ln) for ln in f if ln.strip()]
    bad = [r for r in rows if "error" in r]
    rows = [r for r in rows if "error" not in r]
    for r in bad:
        print(f"failed: {r['table']} seed {r['seed']} {r['version']}: {r['error'][-300:]}")
    runs = {(r["table"], r["seed"], r["version"]): r for r in rows}
    pairs = [(runs[(t, s, "before")], runs[(t, s, "after")])
             for (t, s, v) in runs if v == "after" and (t, s, "before") in runs]
    print(f"{len(pairs)} table-seeds with both versions\n")
    print("| table | seeds | metric | ensemble after / before (median) | after better in | "
          "networks' weight before → after | network seconds share before → after |")
    print("|---|---|---|---|---|---|---|")
    tables = sorted({b["table"] for b, _ in pairs})
    ratios = []
    for table in tables:
        ps = [(b, a) for b, a in pairs if b["table"] == table]
        metric = headline(ps[0][0])[0]
        rs = [headline(a)[1] / headline(b)[1] for b, a in ps if headline(b)[1] > 0]
        ratios += [statistics.median(rs)]
        wins = sum(headline(a)[1] < headline(b)[1] for b, a in ps)

        def weight(r):
            return sum(w for m, w in r["weights"].items() if family(m) == "network")

        def share(r):
            t = r["timings"]
            total = sum(t.values())
            return (t.get("search", 0) + t.get("retrain", 0)) / total if total else 0.0

        print(f"| {table} | {len(ps)} | {metric} | {statistics.median(rs):.3f} | "
              f"{wins}/{len(ps)} | {statistics.median(weight(b) for b, _ in ps):.2f} → "
              f"{statistics.median(weight(a) for _, a in ps):.2f} | "
              f"{statistics.median(share(b) for b, _ in ps):.2f} → "
              f"{statistics.median(share(a) for _, a in ps):.2f} |")
    if ratios:
        print(f"\nmedian table's ratio (after / before, lower is better): "
              f"{statistics.median(ratios):.3f}; after better on "
              f"{sum(r < 1 for r in ratios)} of {len(ratios)} tables")
    print("\nThe ensemble against its best member on test: the member with the lowest test "
          "loss (chosen after the fact), the ensemble's excess loss over it, and the half-width "
          "of the bootstrap interval craft() reports for the ensemble's lead; beyond: the "
          "excess is larger than that noise.")
    for version in ("before", "after"):
        excess = []
        for r in (b if version == "before" else a for b, a in pairs):
            metric, ens = headline(r)
            members = {m: s[metric] for m, s in r["scores"].items()
                       if m not in ("ensemble", "mean") and metric in s}
            best = min(members, key=members.get)
            noise = (r["lead"]["lead_high"] - r["lead"]["lead_low"]) / 2
            excess.append((ens - members[best], noise, r, best, members[best]))
        beyond = [e for e in excess if e[0] > e[1]]
        print(f"  {version}: ensemble below its best member in "
              f"{sum(e[0] > 0 for e in excess)} of {len(excess)} runs, beyond the noise in "
              f"{len(beyond)}")
        for gap, noise, r, best, score in beyond:
            print(f"    {r['table']} seed {r['seed']}: best member {best} {score:.4g}, "
                  f"ensemble +{gap:.4g} (noise {noise:.4g})")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(RAW + tuple(SKLEARN)))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--limit", type=float, default=60)
    p.add_argument("--before", default=None, help="the former version's inst/python")
    p.add_argument("--after", default=AFTER, help="the new version's inst/python (default: "
                   "this checkout's)")
    p.add_argument("--out", default=None)
    p.add_argument("--keep", default=None, help="a folder to keep the predictions in")
    p.add_argument("--report", nargs="*", default=None)
    args = p.parse_args()
    if args.report:
        return report(args.report)
    if args.keep:
        os.makedirs(args.keep, exist_ok=True)
    done = set()  # runs already in --out (without error) are not run again
    if args.out and os.path.exists(args.out):
        with open(args.out) as f:
            done = {(r["table"], r["seed"], r["version"]) for r in map(json.loads, f)
                    if "error" not in r and r["limit"] == args.limit}
    versions = [("before", args.before)] if args.before else []
    versions.append(("after", args.after))
    for name in args.tables.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for version, src in versions:  # side by side: the machine's load shared alike
                if (name, seed, version) in done:
                    continue
                row = one(name, seed, args.limit, version, src, args.keep)
                print(json.dumps(row)[:400], flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

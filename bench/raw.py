"""craft() on tables as users have them, against the same tables encoded by hand and against
scikit-learn's histogram gradient boosting.

For each table and seed, three runs on the same rows and the same test split:

* ``raw``: ``craft(frame, y=target)`` on the table as R has it (factors, ordered factors,
  text, dates, NA), read by :mod:`kerascraft.tables`;
* ``by_hand``: ``craft(x, y)`` on the table one-hot encoded (``pandas.get_dummies``), dates
  as days since 1970 and missing values filled with the column's median, as a user would do
  it before craft() read tables (the median of the whole table, as users do; not only of
  the training rows);
* ``hgb``: ``HistGradientBoostingRegressor/Classifier`` with its defaults and its native
  categories (``categorical_features="from_dtype"``), fitted on craft()'s train+validation
  rows, scored on its test rows.

Tables are read through Rscript (R's classes kept in a JSON sidecar) and cached.

    python bench/raw.py --seeds 0,1,2 --max-trials 6 --epochs 40 > bench/raw-DATE.txt
    python bench/raw.py --report bench/raw-DATE.jsonl
    python bench/raw.py --sizes      # what a run leaves on disk, 9,600 rows of diamonds
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))
CACHE = os.path.join(tempfile.gettempdir(), "kerascraft-bench-raw")

#: name -> (R expression of a data frame, target column, task)
TABLES = {
    "diamonds_price": ("{set.seed(1); d <- as.data.frame(ggplot2::diamonds); "
                       "d <- d[sample(nrow(d), 4000), ]; d$price <- log(d$price); d}",
                       "price", "regression"),
    "diamonds_price_9600": ("{set.seed(1); d <- as.data.frame(ggplot2::diamonds); "
                            "d <- d[sample(nrow(d), 9600), ]; d$price <- log(d$price); d}",
                            "price", "regression"),  # --sizes only
    "diamonds_cut": ("{set.seed(2); d <- as.data.frame(ggplot2::diamonds); "
                     "d[sample(nrow(d), 4000), ]}", "cut", "classification"),
    "txhousing_median": ("{set.seed(3); d <- as.data.frame(ggplot2::txhousing); "
                         "d$date <- as.Date(sprintf('%d-%02d-15', d$year, d$month)); "
                         "d$median <- log(d$median); d[sample(nrow(d), 4000), ]}",
                         "median", "regression"),
    "mpg_hwy": ("{d <- as.data.frame(ggplot2::mpg); d$cty <- NULL; d}", "hwy", "regression"),
    "airquality_ozone": ("datasets::airquality", "Ozone", "regression"),
    # categories of many levels, for bench/embed.py's check on tables the threshold was
    # not chosen on
    "midwest_poverty": ("{d <- as.data.frame(ggplot2::midwest); d$PID <- NULL; "
                        "d$percchildbelowpovert <- NULL; d$percadultpoverty <- NULL; "
                        "d$percelderlypoverty <- NULL; d}", "percbelowpoverty", "regression"),
    "txhousing_sales": ("{set.seed(4); d <- as.data.frame(ggplot2::txhousing); "
                        "d$date <- as.Date(sprintf('%d-%02d-15', d$year, d$month)); "
                        "d$volume <- NULL; d$sales <- log(d$sales); d[sample(nrow(d), 4000), ]}",
                        "sales", "regression"),
    "msleep_total": ("{d <- as.data.frame(ggplot2::msleep); d$name <- NULL; "
                     "d$sleep_rem <- NULL; d$sleep_cycle <- NULL; d$awake <- NULL; d}",
                     "sleep_total", "regression"),
}

#: tables for other scripts (--sizes, bench/embed.py), not in this comparison by default
EXTRA = ("diamonds_price_9600", "midwest_poverty", "txhousing_sales")


def load(name):
    """The table as pandas, with R's factors (ordered or not), text, dates and NA."""
    import pandas as pd

    expr, target, task = TABLES[name]
    os.makedirs(CACHE, exist_ok=True)
    csv, meta = (os.path.join(CACHE, f"{name}.{ext}") for ext in ("csv", "json"))
    if not (os.path.exists(csv) and os.path.exists(meta)):
        code = (f"d <- as.data.frame({expr}); write.csv(d, {csv!r}, row.names = FALSE); "
                "m <- lapply(d, function(c) list(class = class(c)[1], "
                "levels = if (is.factor(c)) levels(c) else NULL)); "
                f"writeLines(jsonlite::toJSON(m, auto_unbox = TRUE), {meta!r})")
        subprocess.run(["Rscript", "-e", code], check=True, capture_output=True)
    frame = pd.read_csv(csv, keep_default_na=True, na_values=["NA"])
    with open(meta) as f:
        classes = json.load(f)
    for col, m in classes.items():
        if m["class"] in ("factor", "ordered"):
            frame[col] = pd.Categorical(frame[col], categories=m["levels"],
                                        ordered=m["class"] == "ordered")
        elif m["class"] == "Date":
            frame[col] = pd.to_datetime(frame[col])
        elif m["class"] == "character":
            frame[col] = frame[col].astype(object).where(frame[col].notna(), None)
    return frame, target, task


def by_hand(frame, target):
    """One-hot columns, dates as days, missing values filled with the column's median."""
    import pandas as pd

    x = frame.drop(columns=[target]).copy()
    for col in x.columns:
        if pd.api.types.is_datetime64_any_dtype(x[col]):
            x[col] = (x[col] - pd.Timestamp("1970-01-01")).dt.days.astype(float)
    x = pd.get_dummies(x, dummy_na=False, dtype=float)
    x = x.fillna(x.median(numeric_only=True)).fillna(0.0)
    return x.to_numpy(np.float32)


def target_of(frame, target, task):
    y = frame[target]
    if task == "classification":
        return np.asarray(y.astype(str), dtype=object)
    return y.to_numpy(np.float64)


def score(task, y_true, pred):
    """RMSE for numbers; accuracy and log loss for classes."""
    from sklearn.metrics import accuracy_score, log_loss

    if task == "regression":
        return {"rmse": float(np.sqrt(np.mean((np.ravel(pred) - y_true) ** 2)))}
    return {"accuracy": float(accuracy_score(y_true, pred.argmax(axis=1))),
            "log_loss": float(log_loss(y_true, np.clip(pred, 1e-7, 1),
                                       labels=range(pred.shape[1])))}


def one(name, seed, max_trials, epochs, variants=("raw", "by_hand", "hgb")):
    import kerascraft as kc

    frame, target, task = load(name)
    kept = frame[frame[target].notna()].reset_index(drop=True)
    options = dict(max_trials=max_trials, epochs=epochs, seed=seed, verbose=0, overwrite=True)
    rows = []
    root = os.path.join(CACHE, "runs", f"{name}-{seed}")

    started = time.monotonic()
    raw = kc.craft(frame, y=target, directory=os.path.join(root, "raw"), **options)
    seconds = time.monotonic() - started
    split = np.load(os.path.join(root, "raw", "split.npz"))
    test_rows = kept.iloc[split["test"]].drop(columns=[target])
    classes = raw.classes
    y_all = target_of(kept, target, task)
    if task == "classification":
        y_all = np.array([classes.index(v) for v in y_all])
    y_test = y_all[split["test"]]
    rows.append({"table": name, "seed": seed, "variant": "raw", "seconds": seconds,
                 **score(task, y_test, raw.predict(test_rows))})
    if "by_hand" not in variants:
        return rows

    x_hand = by_hand(kept, target)
    started = time.monotonic()
    # the same class codes (and so the same stratified split) as the raw run
    hand = kc.craft(x_hand, y_all, class_names=classes if task == "classification" else None,
                    directory=os.path.join(root, "by_hand"), **options)
    seconds = time.monotonic() - started
    hand_split = np.load(os.path.join(root, "by_hand", "split.npz"))
    assert np.array_equal(hand_split["test"], split["test"]), "the splits differ"
    pred = hand.predict(x_hand[split["test"]])
    rows.append({"table": name, "seed": seed, "variant": "by_hand", "seconds": seconds,
                 **score(task, y_test, pred)})

    import pandas as pd
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    x = kept.drop(columns=[target]).copy()
    for col in x.columns:  # HGB takes numbers and categories: text as categories, dates as days
        if x[col].dtype == object:
            x[col] = x[col].astype("category")
        if isinstance(x[col].dtype, pd.CategoricalDtype) and len(x[col].cat.categories) > 250:
            # HGB takes at most 255 categories: the 250 most frequent, the rest missing
            top = x[col].value_counts().index[:250]
            x[col] = x[col].where(x[col].isin(top)).cat.remove_unused_categories()
        elif pd.api.types.is_datetime64_any_dtype(x[col]):
            x[col] = (x[col] - np.datetime64("1970-01-01")).dt.days.astype(float)
    fit_rows = np.concatenate([split["train"], split["validation"]])
    model = (HistGradientBoostingClassifier if task == "classification" else
             HistGradientBoostingRegressor)(categorical_features="from_dtype", random_state=seed)
    started = time.monotonic()
    model.fit(x.iloc[fit_rows], y_all[fit_rows])
    pred = model.predict_proba(x.iloc[split["test"]]) if task == "classification" else \
        model.predict(x.iloc[split["test"]])
    rows.append({"table": name, "seed": seed, "variant": "hgb",
                 "seconds": time.monotonic() - started, **score(task, y_test, pred)})
    return rows


def sizes():
    """craft() on 9,600 of ggplot2's diamonds (log price from the other nine columns, a
    short search): megabytes per file or folder of the run's directory, and the cheap
    models as pickled without compression."""
    import pickle

    import kerascraft as kc
    from kerascraft.workflow.store import Store

    frame, target, _ = load("diamonds_price_9600")
    directory = os.path.join(CACHE, "runs", "sizes")
    kc.craft(frame, y=target, directory=directory, max_trials=2, epochs=5, top=3, seed=0,
             verbose=0, overwrite=True)
    found = {}
    for root, _, files in os.walk(directory):
        for f in files:
            rel = os.path.relpath(os.path.join(root, f), directory)
            key = rel.split(os.sep)[0]
            found[key] = found.get(key, 0) + os.path.getsize(os.path.join(root, f))
    for key, size in sorted(found.items(), key=lambda kv: -kv[1]):
        print(f"{key}: {size / 1e6:.2f} MB")
    print(f"total: {sum(found.values()) / 1e6:.1f} MB")
    cheap = Store.existing(directory).read_pickle("cheap_models.pkl")
    print(f"cheap_models.pkl as pickled without compression: "
          f"{len(pickle.dumps(cheap)) / 1e6:.1f} MB")


def report(paths):
    """Medians per table; ``paths``: JSON lines files, comma-separated, a later file's row
    replacing an earlier one's for the same table, seed and variant."""
    latest = {}
    for path in paths.split(","):
        with open(path) as f:
            for r in (json.loads(line) for line in f if line.strip()):
                latest[(r["table"], r["seed"], r["variant"])] = r
    rows = list(latest.values())
    metric = {"regression": "rmse", "classification": "log_loss"}
    print("| table | task | metric | raw | by hand | HGB | raw / by hand | raw better than by "
          "hand | raw / HGB | seconds raw | seconds by hand |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name in dict.fromkeys(r["table"] for r in rows):
        mine = [r for r in rows if r["table"] == name]
        task = TABLES[name][2]
        m = metric[task]
        med = {v: statistics.median(r[m] for r in mine if r["variant"] == v)
               for v in ("raw", "by_hand", "hgb")}
        secs = {v: statistics.median(r["seconds"] for r in mine if r["variant"] == v)
                for v in ("raw", "by_hand")}
        seeds = sorted({r["seed"] for r in mine})
        pair = {(r["seed"], r["variant"]): r[m] for r in mine}
        wins = sum(pair[(s, "raw")] < pair[(s, "by_hand")] for s in seeds)
        print(f"| {name} | {task} | {m} | {med['raw']:.4g} | {med['by_hand']:.4g} | "
              f"{med['hgb']:.4g} | {med['raw'] / med['by_hand']:.3f} | {wins} of {len(seeds)} | "
              f"{med['raw'] / med['hgb']:.3f} | {secs['raw']:.0f} | {secs['by_hand']:.0f} |")
        if task == "classification":
            acc = {v: statistics.median(r["accuracy"] for r in mine if r["variant"] == v)
                   for v in ("raw", "by_hand", "hgb")}
            print(f"| {name} | | accuracy | {acc['raw']:.4f} | {acc['by_hand']:.4f} | "
                  f"{acc['hgb']:.4f} | | | | | |")


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--tables", default=",".join(t for t in TABLES if t not in EXTRA))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--max-trials", type=int, default=6)
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--out", default=None, help="JSON lines file to append each row to")
    p.add_argument("--raw-only", action="store_true",
                   help="craft() on the raw tables only (by hand is deterministic: its rows "
                   "from an earlier file serve, --report OLD,NEW)")
    p.add_argument("--max-one-hot", type=int, default=None,
                   help="kerascraft.tables.MAX_ONE_HOT for this run (a default measured)")
    p.add_argument("--report", default=None, help="summarise a JSON lines file and stop")
    p.add_argument("--sizes", action="store_true", help="what a run leaves on disk")
    args = p.parse_args()
    if args.sizes:
        sizes()
        return
    if args.report:
        report(args.report)
        return
    if args.max_one_hot is not None:
        from kerascraft import tables

        tables.MAX_ONE_HOT = args.max_one_hot
    for name in args.tables.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            variants = ("raw",) if args.raw_only else ("raw", "by_hand", "hgb")
            for row in one(name, seed, args.max_trials, args.epochs, variants):
                emit(row, args.out)


def emit(row, out=None):
    """A row printed, and appended to the JSON lines file ``out``."""
    print(json.dumps(row), flush=True)
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(row) + "\n")


if __name__ == "__main__":
    main()

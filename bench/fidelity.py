"""Multi-fidelity at equal wall time: a search that stops unpromising trials early (pruning:
Optuna's successive halving over epochs) against searches that train every trial fully, each
given the same ``time_limit``.

    python bench/fidelity.py --tables digits,breast_cancer --limit 60 --seeds 0,1,2,3,4 \
        --out bench/fidelity-DATE.jsonl
    python bench/fidelity.py --report bench/fidelity-DATE.jsonl

Each run: ``kc.tuner(kind, build, objective="val_loss", max_trials=1000, seed=seed,
pruning=...)`` searched with ``time_limit=LIMIT`` (so the time, not the trial count, ends
it), up to 60 epochs a trial with early stopping (patience 5), on a table's training split,
scored on its validation split; the space is craft()'s for tables (units, layers, dropout,
learning rate). Recorded: trials run (pruned ones among them), the best validation loss of
a trial trained to its end, and the test accuracy and log loss of that trial's model. Runs
go one after the other (one search at a time on the machine), methods in a rotating order.

Methods: ``auto+pruning`` (kerascraft's pruning defaults: first rung at epoch 2, a third kept
at each), ``auto+pruning-f2`` (half kept), ``auto+pruning-m12`` (first rung at a fifth of the
60 epochs), ``auto``, ``tpe`` and ``random`` (no pruning); ``--methods`` picks some.

Tables: scikit-learn's digits (1,797 images of 8x8, 10 classes) and breast cancer (569 rows,
30 columns, 2 classes), both bundled.
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

METHODS = {  # name -> (tuner kind, pruning)
    "auto+pruning": ("auto", True),
    # gentler: halving instead of keeping a third, or the first rung at a fifth of the epochs
    "auto+pruning-f2": ("auto", {"factor": 2}),
    "auto+pruning-m12": ("auto", {"min_epochs": 12}),
    "auto": ("auto", False),
    "tpe": ("tpe", False),
    "random": ("random", False),
}


def tables():
    from sklearn.datasets import load_breast_cancer, load_digits
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    out = {}
    for name, loader in (("digits", load_digits), ("breast_cancer", load_breast_cancer)):
        x, y = loader(return_X_y=True)
        x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.2, random_state=0,
                                                          stratify=y)
        x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.25,
                                                          random_state=0, stratify=y_rest)
        scale = StandardScaler().fit(x_train)
        out[name] = {"x_train": scale.transform(x_train).astype("float32"), "y_train": y_train,
                     "x_val": scale.transform(x_val).astype("float32"), "y_val": y_val,
                     "x_test": scale.transform(x_test).astype("float32"), "y_test": y_test,
                     "classes": int(len(set(y)))}
    return out


def build_for(n_in, n_out):
    import keras

    def build(hp):
        units = hp.Int("units", 32, 512, step=32)
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
        model = keras.Sequential([keras.Input((n_in,))])
        for _ in range(hp.Int("layers", 1, 3)):
            model.add(keras.layers.Dense(units, activation="relu"))
            model.add(keras.layers.Dropout(dropout))
        model.add(keras.layers.Dense(n_out, activation="softmax"))
        lr = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log")
        model.compile(keras.optimizers.Adam(lr), "sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model
    return build


def one(d, table, method, seed, limit):
    import keras
    import numpy as np

    import kerascraft as kc
    from kerascraft.trials import TrialStatus

    kind, pruning = METHODS[method]
    with tempfile.TemporaryDirectory() as tmp:
        t = kc.tuner(kind, build_for(d["x_train"].shape[1], d["classes"]), objective="val_loss",
                     max_trials=1000, directory=tmp, seed=seed,
                     **({"pruning": pruning} if pruning else {}))
        keras.utils.set_random_seed(seed)
        began = time.monotonic()
        t.search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]),
                 epochs=60, batch_size=64, time_limit=limit, verbose=0,
                 callbacks=[keras.callbacks.EarlyStopping("val_loss", patience=5)])
        took = time.monotonic() - began
        res = kc.results(t)
        done = res[res["status"] == TrialStatus.COMPLETED.value]
        best_trial = t.oracle.get_trial(done.sort_values("score")["trial_id"].iloc[0])
        model = t.load_model(best_trial)
        p = np.clip(model.predict(d["x_test"], verbose=0), 1e-7, 1)
        y = np.asarray(d["y_test"])
        return {"table": table, "method": method, "seed": seed, "limit": limit, "took": took,
                "trials": len(res), "pruned": int((res["status"] == "PRUNED").sum()),
                "best_val_loss": float(best_trial.score),
                "test_accuracy": float((p.argmax(1) == y).mean()),
                "test_log_loss": float(-np.log(p[np.arange(len(y)), y]).mean()),
                "sampler": getattr(t.oracle, "chosen_sampler", kind)}


def report(path):
    rows = [json.loads(line) for line in open(path) if line.strip()]
    print("| table | method | runs | trials (pruned), median | best val loss, median | "
          "test log loss, median | test accuracy, median | took / limit, median |")
    print("|---|---|---:|---|---:|---:|---:|---:|")
    for table in dict.fromkeys(r["table"] for r in rows):
        for method in METHODS:
            rs = [r for r in rows if r["table"] == table and r["method"] == method]
            if not rs:
                continue

            def med(key, rs=rs):
                return statistics.median(r[key] for r in rs)

            print(f"| {table} | {method} | {len(rs)} | {med('trials'):g} ({med('pruned'):g}) | "
                  f"{med('best_val_loss'):.4f} | {med('test_log_loss'):.4f} | "
                  f"{med('test_accuracy'):.4f} | {statistics.median(r['took'] / r['limit'] for r in rs):.2f} |")
    # paired by seed: how often each method's best validation loss beat "auto+pruning"'s
    for table in dict.fromkeys(r["table"] for r in rows):
        ref = {r["seed"]: r["best_val_loss"] for r in rows
               if r["table"] == table and r["method"] == "auto+pruning"}
        for method in METHODS:
            if method == "auto+pruning":
                continue
            other = {r["seed"]: r["best_val_loss"] for r in rows
                     if r["table"] == table and r["method"] == method}
            both = sorted(set(ref) & set(other))
            wins = sum(ref[s] < other[s] for s in both)
            print(f"{table}: 'auto+pruning' lower best validation loss than '{method}' in "
                  f"{wins} of {len(both)} seeds")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tables", default="digits,breast_cancer")
    ap.add_argument("--limit", type=float, default=60)
    ap.add_argument("--seeds", default="0,1,2,3,4")
    ap.add_argument("--methods", default=",".join(METHODS))
    ap.add_argument("--out", default="")
    ap.add_argument("--report", default="")
    args = ap.parse_args()
    if args.report:
        return report(args.report)
    data = tables()
    methods = args.methods.split(",")
    for seed in (int(s) for s in args.seeds.split(",")):
        for table in args.tables.split(","):
            turn = seed % len(methods)  # a rotating order: no method always runs first
            for method in methods[turn:] + methods[:turn]:
                row = one(data[table], table, method, seed, args.limit)
                line = json.dumps(row)
                print(line, flush=True)
                if args.out:
                    with open(args.out, "a") as f:
                        f.write(line + "\n")


if __name__ == "__main__":
    main()

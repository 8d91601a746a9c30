"""Networks on tables, one training each at the same time cap: today's default network
(craft()'s default space at its default configuration), a TabM-mini network built from
``kerascraft.layers`` (robust scaling, numerical embeddings, an efficient ensemble of k
members; the published recipe scaled to what 2 CPU cores train in the cap), and
scikit-learn's ``HistGradientBoosting`` defaults. Test score and seconds.

A first measurement for issue 28, before craft()'s default space is built from the layers:
each network is one configuration trained once (no search), with early stopping on the
validation loss (patience 16, best epoch restored) and the cap ending training at an
epoch's end.

    python bench/tabular_nets.py --tables digits,wine --seeds 0,1 --cap 30 --out bench/x.jsonl
    python bench/tabular_nets.py --report bench/x.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "inst", "python"))

from raw import emit, score
from tables import R_TABLES, SKLEARN, split

#: the TabM-mini recipe (Gorishniy et al. 2024; TabArena's TabM configuration): k members,
#: a random-sign scaling per member on the input, a shared MLP, one head per member, AdamW
#: with gradient clipping. "full" is the published size; "cpu" what 2 cores train in the cap
RECIPES = {
    "full": {"k": 32, "width": 512, "depth": 3, "dropout": 0.1, "embedding": "piecewise"},
    "cpu": {"k": 16, "width": 256, "depth": 2, "dropout": 0.1, "embedding": "piecewise"},
    "cpu-periodic": {"k": 16, "width": 256, "depth": 2, "dropout": 0.1, "embedding": "periodic"},
}
LEARNING_RATE, WEIGHT_DECAY, PATIENCE = 2e-3, 3e-4, 16


def tabm(x_train, y_train, task, n_classes, k, width, depth, dropout, embedding):
    """The TabM-mini network (training model, predicting model) on kerascraft's layers."""
    import keras
    from kerascraft import layers

    EfficientEnsemble, EnsembleLoss = layers.EfficientEnsemble, layers.EnsembleLoss
    n = x_train.shape[1]
    inputs = keras.Input((n,))
    scaling = layers.RobustScaling().adapt(x_train)
    h = scaling(inputs)
    if embedding == "piecewise":  # bins, then a dense map per column to 16 (PLE + linear)
        ple = layers.PiecewiseLinearEncoding(bins=16).adapt(keras.ops.convert_to_numpy(scaling(x_train)))
        h = keras.layers.EinsumDense("bnt,ntd->bnd", output_shape=(n, 16), bias_axes="nd",
                                     activation="relu")(ple(h))
    elif embedding == "periodic":
        h = layers.PeriodicEmbedding(size=16, frequencies=48, lite=True)(h)
    if embedding:
        h = keras.layers.Flatten()(h)
    h = EfficientEnsemble(width, k=k, activation="relu", random_signs=True)(h)
    h = keras.layers.Dropout(dropout)(h)
    for _ in range(depth - 1):
        h = keras.layers.Dropout(dropout)(keras.layers.Dense(width, activation="relu")(h))
    if task == "classification":
        out = EfficientEnsemble(n_classes, k=k, activation="softmax")(h)
        loss = EnsembleLoss("sparse_categorical_crossentropy")
    else:
        y_mean, y_sd = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
        out = keras.layers.Rescaling(y_sd, offset=y_mean)(EfficientEnsemble(1, k=k)(h))
        loss = EnsembleLoss("mse")
    train = keras.Model(inputs, out)
    train.compile(keras.optimizers.AdamW(LEARNING_RATE, weight_decay=WEIGHT_DECAY,
                                         clipnorm=1.0), loss=loss)
    return train, keras.Model(inputs, layers.EnsembleMean()(out))


def today(x_train, y_train, task, n_classes):
    """craft()'s default network for tables at its space's default configuration."""
    import keras_tuner as kt
    from kerascraft.workflow.space import default_hypermodel

    model = default_hypermodel(x_train, y_train, task, n_classes).build(kt.HyperParameters())
    return model, model


def fit(train, d, cap, batch_size):
    import keras
    from kerascraft.budget import Deadline, epoch_clock

    clock = epoch_clock(Deadline(cap))
    stop = keras.callbacks.EarlyStopping(patience=PATIENCE, restore_best_weights=True)
    began = time.monotonic()
    train.fit(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]),
              epochs=100_000, batch_size=batch_size, verbose=0, callbacks=[stop, clock])
    return time.monotonic() - began, clock.epochs, clock.stopped_at is not None


def one(name, seed, cap, methods):
    import keras
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )

    d = split(name, seed)
    task = d["task"]
    n_classes = int(d["y_train"].max()) + 1 if task == "classification" else None
    batch_size = 64 if len(d["y_train"]) < 4000 else 256  # craft()'s default below 4000 rows
    for method in methods:
        keras.utils.set_random_seed(seed)
        row = {"table": name, "seed": seed, "method": method, "task": task, "cap": cap,
               "rows": len(d["y_train"]), "columns": int(d["x_train"].shape[1])}
        if method == "hgb":
            began = time.monotonic()
            est = (HistGradientBoostingClassifier if task == "classification"
                   else HistGradientBoostingRegressor)(random_state=seed)
            est.fit(np.r_[d["x_train"], d["x_val"]], np.r_[d["y_train"], d["y_val"]])
            seconds = time.monotonic() - began
            pred = est.predict_proba(d["x_test"]) if task == "classification" \
                else est.predict(d["x_test"])
            row.update(seconds=seconds)
        else:
            if method == "today":
                train, predict = today(d["x_train"], d["y_train"], task, n_classes)
            else:
                train, predict = tabm(d["x_train"], d["y_train"], task, n_classes,
                                      **RECIPES[method.removeprefix("tabm-")])
            seconds, epochs, capped = fit(train, d, cap, batch_size)
            pred = predict.predict(d["x_test"], verbose=0, batch_size=1024)
            row.update(seconds=seconds, epochs=epochs, capped=capped,
                       params=int(train.count_params()))
        pred = np.asarray(pred, dtype=np.float64)
        row.update(score(task, d["y_test"].astype(np.float64) if task == "regression"
                         else d["y_test"], pred))
        yield row


def report(paths):
    rows = []
    for path in paths:
        with open(path) as f:
            rows += [json.loads(line) for line in f if line.strip()]
    methods = list(dict.fromkeys(r["method"] for r in rows))
    print("| table | metric | " + " | ".join(methods) + " |")
    print("|---|---|" + "---|" * len(methods))
    for table in dict.fromkeys(r["table"] for r in rows):
        mine = [r for r in rows if r["table"] == table]
        metric = "rmse" if mine[0]["task"] == "regression" else "log_loss"
        cells = []
        for m in methods:
            got = [r for r in mine if r["method"] == m]
            if not got:
                cells.append("")
                continue
            cells.append(f"{np.median([r[metric] for r in got]):.4g} "
                         f"({np.median([r['seconds'] for r in got]):.0f}s)")
        print(f"| {table} ({len({r['seed'] for r in mine})} seeds) | {metric} | "
              + " | ".join(cells) + " |")
    # each pair side by side: table-seeds where the first is lower, and the median over
    # tables of the ratio of their median scores
    score = {(r["table"], r["seed"], r["method"]):
             r["rmse" if r["task"] == "regression" else "log_loss"] for r in rows}
    print()
    for i, a in enumerate(methods):
        for b in methods[i + 1:]:
            both = [(t, s) for (t, s, m) in score if m == a and (t, s, b) in score]
            lower = sum(score[(t, s, a)] < score[(t, s, b)] for t, s in both)
            ratios = [np.median([score[(t, s, a)] for t2, s in both if t2 == t])
                      / np.median([score[(t, s, b)] for t2, s in both if t2 == t])
                      for t in dict.fromkeys(t for t, _ in both)]
            print(f"{a} lower than {b} in {lower} of {len(both)} table-seeds; median over "
                  f"tables of {a} / {b}: {np.median(ratios):.3f}; {a} within 2% of {b} or "
                  f"better on {sum(r <= 1.02 for r in ratios)} of {len(ratios)} tables")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tables", default=",".join([*SKLEARN, *R_TABLES]))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--cap", type=float, default=60.0, help="seconds per network")
    p.add_argument("--methods", default="today,tabm-cpu,hgb")
    p.add_argument("--out")
    p.add_argument("--report", nargs="*")
    args = p.parse_args()
    if args.report:
        report(args.report)
        return
    for name in args.tables.split(","):
        for seed in (int(s) for s in args.seeds.split(",")):
            for row in one(name, seed, args.cap, args.methods.split(",")):
                emit(row, args.out)


if __name__ == "__main__":
    main()

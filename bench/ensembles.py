"""Ensemble benchmarks: test scores of the weight-fitting methods, and fitting speed.

    python bench/ensembles.py quality [--seeds 5] [--datasets digits,breast_cancer,wine]
    python bench/ensembles.py speed   [--repeats 5] [--models 50] [--samples 100000] [--classes 10]

quality: on each bundled data set and seed (a new train/validation/test split each time), a
library of ten different models is trained on the training split: three Keras networks of
different shapes (early stopping on validation), histogram gradient boosting, logistic
regression, a random forest, extra trees, k nearest neighbours, an RBF support vector
machine and Gaussian naive Bayes. The weights are fitted on validation predictions; every
figure is a test score. References: the best single model chosen on validation, and
scikit-learn's StackingClassifier over the seven scikit-learn members (refitted on
train+validation with 5-fold out-of-fold predictions, logistic regression on top).
Medians over seeds are reported.

speed: synthetic class probabilities (models x samples x classes), each method timed in the
same process, alternating order, median of the repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))

import numpy as np  # noqa: E402

import kerascraft as kc  # noqa: E402

METHODS = [("mean", {}), ("greedy", {}), ("greedy", {"cv": 5}), ("nelder_mead", {}),
           ("random", {})]


def sklearn_members(seed):
    from sklearn.ensemble import ExtraTreesClassifier, HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import SVC

    return {
        "gbt": HistGradientBoostingClassifier(random_state=seed),
        "logreg": LogisticRegression(max_iter=3000),
        "forest": RandomForestClassifier(n_estimators=300, random_state=seed),
        "extra_trees": ExtraTreesClassifier(n_estimators=300, random_state=seed),
        "knn": KNeighborsClassifier(n_neighbors=7),
        "svm": SVC(probability=True, random_state=seed),
        "bayes": GaussianNB(),
    }


NETS = {  # name -> (hidden layers, dropout)
    "net_wide": ([256], 0.0),
    "net_deep": ([64, 64, 64], 0.0),
    "net_dropout": ([128, 64], 0.3),
}


def train_net(layers, dropout, d, seed, epochs=None):
    """Early stopping on validation; or, given ``epochs``, that many epochs on train+val."""
    import keras

    keras.utils.set_random_seed(seed)
    k = int(d["y_train"].max()) + 1
    model = keras.Sequential([keras.Input((d["x_train"].shape[1],))])
    for units in layers:
        model.add(keras.layers.Dense(units, activation="relu"))
        if dropout:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(k, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    if epochs:
        model.fit(np.vstack([d["x_train"], d["x_val"]]), np.concatenate([d["y_train"], d["y_val"]]),
                  epochs=epochs, batch_size=32, verbose=0)
        return model, epochs
    stop = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    hist = model.fit(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]),
                     epochs=200, batch_size=32, callbacks=[stop], verbose=0)
    return model, int(np.argmin(hist.history["val_loss"])) + 1


def one_run(name, seed):
    from sklearn.base import clone
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss

    d = kc.load_dataset(name, seed=seed)
    members = sklearn_members(seed)
    for m in members.values():
        m.fit(d["x_train"], d["y_train"])
    library = dict(members)
    best_epochs = {}
    for net, (layers, dropout) in NETS.items():
        library[net], best_epochs[net] = train_net(layers, dropout, d, seed)
    val = kc.predictions(library, d["x_val"])
    test = kc.predictions(library, d["x_test"])
    y_test = d["y_test"]
    labels = np.arange(int(d["y_train"].max()) + 1)

    def scores(p):
        p = np.asarray(p, dtype=np.float64)
        p = p / p.sum(axis=1, keepdims=True)
        return log_loss(y_test, p, labels=labels), accuracy_score(y_test, p.argmax(axis=1))

    out = {}
    single_val = {n: log_loss(d["y_val"], np.asarray(p, np.float64) / np.asarray(p, np.float64).sum(1, keepdims=True),
                              labels=labels) for n, p in val.items()}
    best = min(single_val, key=single_val.get)
    out["best single (on validation)"] = scores(test[best])
    for method, opts in METHODS:
        e = kc.fit_ensemble(val, d["y_val"], method=method, seed=seed, **opts)
        label = method + (" cv=5" if opts.get("cv") else "")
        out[label] = scores(e.predict(test))
    # what StackingClassifier has and the above lack: members trained on train+validation.
    # Keep the greedy weights learned on validation, refit the used members on train+val
    # (nets for 1.2x their best epoch, as retrain_best() does)
    greedy = kc.fit_ensemble(val, d["y_val"], seed=seed)
    x_all = np.vstack([d["x_train"], d["x_val"]])
    y_all = np.concatenate([d["y_train"], d["y_val"]])
    refit = {}
    for n in set(greedy.used) | {best}:
        if n in NETS:
            refit[n], _ = train_net(*NETS[n], d, seed, epochs=max(1, round(1.2 * best_epochs[n])))
        else:
            refit[n] = clone(members[n]).fit(x_all, y_all)
    refit_test = kc.predictions(refit, d["x_test"])
    out["best single, refit on train+val"] = scores(refit_test[best])
    out["greedy, used members refit on train+val"] = scores(
        greedy.predict({n: refit_test[n] for n in greedy.used}))
    stack = StackingClassifier([(n, clone(m)) for n, m in sklearn_members(seed).items()],
                               final_estimator=LogisticRegression(max_iter=3000), cv=5)
    stack.fit(np.vstack([d["x_train"], d["x_val"]]), np.concatenate([d["y_train"], d["y_val"]]))
    out["StackingClassifier (sklearn members, train+val)"] = scores(stack.predict_proba(d["x_test"]))
    return out, best


def quality(args):
    warnings.filterwarnings("ignore")
    for name in args.datasets.split(","):
        runs, bests = [], []
        t0 = time.time()
        for seed in range(args.seeds):
            r, best = one_run(name, seed)
            runs.append(r)
            bests.append(best)
        print(f"\n{name}: {args.seeds} seeds, {time.time() - t0:.0f} s; best single model on "
              f"validation: {', '.join(bests)}")
        print(f"| {'method':<48} | median test log loss | median test accuracy | beats best single (log loss) |")
        print(f"|{'-' * 50}|---------------------:|---------------------:|-----------------------------:|")
        base = [r["best single (on validation)"][0] for r in runs]
        for key in runs[0]:
            ll = [r[key][0] for r in runs]
            acc = [r[key][1] for r in runs]
            wins = sum(a < b for a, b in zip(ll, base))
            print(f"| {key:<48} | {statistics.median(ll):20.4f} | {statistics.median(acc):20.4f} | "
                  f"{wins}/{len(runs):<27} |")


def speed(args):
    rng = np.random.default_rng(0)
    m, n, k = args.models, args.samples, args.classes
    y = rng.integers(0, k, n)
    preds = {}
    for j in range(m):
        z = rng.normal(size=(n, k)).astype(np.float32)
        z[np.arange(n), y] += rng.uniform(0.5, 3.0)
        e = np.exp(z - z.max(axis=1, keepdims=True))
        preds[f"m{j}"] = e / e.sum(axis=1, keepdims=True)
    methods = ["greedy", "nelder_mead", "random", "mean"]
    times = {meth: [] for meth in methods}
    for rep in range(args.repeats):
        for meth in (methods if rep % 2 == 0 else methods[::-1]):
            t = time.perf_counter()
            kc.fit_ensemble(preds, y, method=meth, metric=args.metric)
            times[meth].append(time.perf_counter() - t)
    print(f"{m} models x {n} samples x {k} classes, metric {args.metric}, {args.repeats} repeats")
    print("| method | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    for meth in methods:
        t = times[meth]
        print(f"| {meth} | {statistics.median(t):.2f} | {min(t):.2f} | {max(t):.2f} |")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    q = sub.add_parser("quality")
    q.add_argument("--seeds", type=int, default=5)
    q.add_argument("--datasets", default="digits,breast_cancer,wine")
    s = sub.add_parser("speed")
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--models", type=int, default=50)
    s.add_argument("--samples", type=int, default=100_000)
    s.add_argument("--classes", type=int, default=10)
    s.add_argument("--metric", default="log_loss")
    args = p.parse_args()
    quality(args) if args.what == "quality" else speed(args)


if __name__ == "__main__":
    main()

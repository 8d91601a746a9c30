"""Ensemble benchmarks: test scores of the weight-fitting methods, and fitting speed.

    python bench/ensembles.py quality [--seeds 5] [--datasets digits,breast_cancer,wine]
                                      (also iris, mpg_drv, diamonds_cut: bench/tables.py)
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
import json
import os
import statistics
import sys
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))

import numpy as np  # noqa: E402

import kerascraft as kc  # noqa: E402
from tables import split as table_split  # noqa: E402

#: the data sets kerascraft bundles (their splits as kc.load_dataset makes them)
BUNDLED = ("digits", "breast_cancer", "wine")

METHODS = [("mean", {}), ("greedy", {}), ("greedy", {"cv": 5}), ("nelder_mead", {}),
           ("random", {}), ("stack", {})]


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


def _net(layers, dropout, k, seed, dim):
    import keras

    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((dim,))])
    for units in layers:
        model.add(keras.layers.Dense(units, activation="relu"))
        if dropout:
            model.add(keras.layers.Dropout(dropout))
    model.add(keras.layers.Dense(k, activation="softmax"))
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy")
    return model


def fit_net(layers, dropout, k, seed, x, y, x_val=None, y_val=None, epochs=None):
    """Early stopping on (x_val, y_val) (restoring the best weights); or, given
    ``epochs``, that many epochs. Returns (model, best epoch)."""
    import keras

    model = _net(layers, dropout, k, seed, x.shape[1])
    if epochs:
        model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
        return model, epochs
    stop = keras.callbacks.EarlyStopping(patience=10, restore_best_weights=True)
    hist = model.fit(x, y, validation_data=(x_val, y_val), epochs=200, batch_size=32,
                     callbacks=[stop], verbose=0)
    return model, int(np.argmin(hist.history["val_loss"])) + 1


def net_member(layers, dropout, k, seed):
    """A cross_fit() member: a fresh network per fold, early stopping on the share of the
    fold's training rows that cross_fit() gives it (never the held-out fold)."""
    def fit(x, y, x_val, y_val):
        return fit_net(layers, dropout, k, seed, x, y, x_val, y_val)[0]
    return fit


def one_run(name, seed, routes=("validation", "cross-fitted")):
    from sklearn.base import clone
    from sklearn.ensemble import StackingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, log_loss

    d = kc.load_dataset(name, seed=seed) if name in BUNDLED else table_split(name, seed)
    k = int(d["y_train"].max()) + 1
    labels = np.arange(k)
    x_all = np.vstack([d["x_train"], d["x_val"]])
    y_all = np.concatenate([d["y_train"], d["y_val"]])
    y_test = d["y_test"]

    def scores(p):
        p = np.asarray(p, dtype=np.float64)
        p = p / p.sum(axis=1, keepdims=True)
        return log_loss(y_test, p, labels=labels), accuracy_score(y_test, p.argmax(axis=1))

    def loss_on(y, p):
        p = np.asarray(p, np.float64)
        return log_loss(y, p / p.sum(1, keepdims=True), labels=labels)

    out, best = {}, None
    if "validation" in routes:
        best = _validation_route(d, k, seed, scores, loss_on, out)
    if "cross-fitted" in routes:
        # every member trained 5 times on train+validation without one fold; weights on
        # the out-of-fold predictions; for the test set the scikit-learn members are
        # trained once more on all of train+validation, the nets bagged (mean of 5)
        members = {n: clone(m) for n, m in sklearn_members(seed).items()}
        members.update({n: net_member(*spec, k, seed) for n, spec in NETS.items()})
        cf = kc.cross_fit(members, x_all, y_all, cv=5, seed=seed)
        test, bagged = cf.predict(d["x_test"]), cf.predict(d["x_test"], bagged=True)
        oof_loss = {n: loss_on(y_all, p) for n, p in cf.oof.items()}
        best_oof = min(oof_loss, key=oof_loss.get)
        out["best single, cross-fitted (chosen out-of-fold)"] = scores(test[best_oof])
        out["best single, cross-fitted, bagged"] = scores(bagged[best_oof])
        for method in ("greedy", "stack"):
            e = kc.fit_ensemble(cf.oof, y_all, method=method, seed=seed)
            out[f"{method}, cross-fitted (sklearn refit, nets bagged)"] = scores(e.predict(test))
            out[f"{method}, cross-fitted (5-fold, bagged members)"] = scores(e.predict(bagged))
        # the same members as StackingClassifier's, for a like-for-like comparison
        sk = {n: cf.oof[n] for n in sklearn_members(seed)}
        e = kc.fit_ensemble(sk, y_all, method="stack", seed=seed)
        out["stack, cross-fitted, the 7 scikit-learn members"] = scores(
            e.predict({n: test[n] for n in sk}))
    stack = StackingClassifier([(n, clone(m)) for n, m in sklearn_members(seed).items()],
                               final_estimator=LogisticRegression(max_iter=3000), cv=5)
    stack.fit(x_all, y_all)
    out["StackingClassifier (sklearn members, train+val)"] = scores(stack.predict_proba(d["x_test"]))
    return out, best


def _validation_route(d, k, seed, scores, loss_on, out):
    """Members trained on the training split, weights fitted on the validation split."""
    from sklearn.base import clone

    members = sklearn_members(seed)
    for m in members.values():
        m.fit(d["x_train"], d["y_train"])
    library = dict(members)
    best_epochs = {}
    for net, (layers, dropout) in NETS.items():
        library[net], best_epochs[net] = fit_net(layers, dropout, k, seed, d["x_train"],
                                                 d["y_train"], d["x_val"], d["y_val"])
    val = kc.predictions(library, d["x_val"])
    test = kc.predictions(library, d["x_test"])
    single_val = {n: loss_on(d["y_val"], p) for n, p in val.items()}
    best = min(single_val, key=single_val.get)
    out["best single (on validation)"] = scores(test[best])
    for method, opts in METHODS:
        e = kc.fit_ensemble(val, d["y_val"], method=method, seed=seed, **opts)
        label = method + (" cv=5" if opts.get("cv") else "")
        out[label] = scores(e.predict(test))
    # what StackingClassifier has and the above lack: members trained on train+validation.
    # Keep the greedy weights (the stack) learned on validation, refit the used members on
    # train+val (craft()'s route)
    # (nets for 1.2x their best epoch, as retrain_best() does)
    greedy = kc.fit_ensemble(val, d["y_val"], seed=seed)
    stacked = kc.fit_ensemble(val, d["y_val"], method="stack", seed=seed)
    bare = _without_defence(lambda: kc.fit_ensemble(val, d["y_val"], method="stack", seed=seed))
    out["stack, no defensive share"] = scores(bare.predict(test))
    x_all = np.vstack([d["x_train"], d["x_val"]])
    y_all = np.concatenate([d["y_train"], d["y_val"]])
    refit = {}
    for n in set(greedy.used) | set(stacked.used) | set(bare.used) | {best}:
        if n in NETS:
            refit[n], _ = fit_net(*NETS[n], k, seed, x_all, y_all,
                                  epochs=max(1, round(1.2 * best_epochs[n])))
        else:
            refit[n] = clone(members[n]).fit(x_all, y_all)
    refit_test = kc.predictions(refit, d["x_test"])
    out["best single, refit on train+val"] = scores(refit_test[best])
    out["greedy, used members refit on train+val"] = scores(
        greedy.predict({n: refit_test[n] for n in greedy.used}))
    out["stack, used members refit on train+val"] = scores(
        stacked.predict({n: refit_test[n] for n in stacked.used}))
    out["stack, members refit, no defensive share"] = scores(
        bare.predict({n: refit_test[n] for n in bare.used}))
    return best


def _without_defence(fit):
    """``fit()`` with the classification stack's defensive share set to 0 (the stack as it
    was before the share: for the comparison on data the share was not chosen on)."""
    import functools

    from kerascraft.ensemble import fitted, stacking

    saved = fitted.fit_stack
    fitted.fit_stack = functools.partial(stacking.fit_stack, defence=0.0)
    try:
        return fit()
    finally:
        fitted.fit_stack = saved


def quality(args):
    """Run the seeds (one JSON line per data set and seed to ``--out`` as each ends, so a
    cut-short run keeps its seeds), then print the medians."""
    warnings.filterwarnings("ignore")
    runs = []
    for name in args.datasets.split(","):
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            t0 = time.time()
            r, best = one_run(name, seed, args.routes.split(","))
            run = {"dataset": name, "seed": seed, "best": best, "seconds": time.time() - t0,
                   "scores": r}
            runs.append(run)
            if args.out:
                with open(args.out, "a") as fh:
                    fh.write(json.dumps(run) + "\n")
    print_quality(runs)


def print_quality(runs, versus=""):
    """Per data set: median test log loss and accuracy of each row, and the seeds where its
    log loss is below the best single model's (chosen on validation, or out-of-fold); with
    ``versus`` (a row's name), also the seeds where each row is below that row's and above
    it."""
    for name in dict.fromkeys(r["dataset"] for r in runs):
        mine = [r for r in runs if r["dataset"] == name]
        print(f"\n{name}: {len(mine)} seeds, {sum(r['seconds'] for r in mine):.0f} s; best "
              f"single model on validation: {', '.join(map(str, (r['best'] for r in mine)))}")
        print(f"| {'method':<48} | median test log loss | median test accuracy | beats best single (log loss) |")
        print(f"|{'-' * 50}|---------------------:|---------------------:|-----------------------------:|")
        reference = next(k for k in mine[0]["scores"] if k.startswith("best single"))
        base = [r["scores"][reference][0] for r in mine]
        for key in mine[0]["scores"]:
            ll = [r["scores"][key][0] for r in mine]
            acc = [r["scores"][key][1] for r in mine]
            wins = sum(a < b for a, b in zip(ll, base))
            against = ""
            if versus:
                other = [r["scores"][versus][0] for r in mine]
                against = (f" {sum(a < b for a, b in zip(ll, other))}-"
                           f"{sum(a > b for a, b in zip(ll, other))} against {versus!r}")
            print(f"| {key:<48} | {statistics.median(ll):20.4f} | {statistics.median(acc):20.4f} | "
                  f"{wins}/{len(mine):<27} |{against}")


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
    methods = ["greedy", "nelder_mead", "random", "mean", "stack"]
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
    q.add_argument("--first-seed", type=int, default=0)
    q.add_argument("--out", default="", help="append one JSON line per data set and seed")
    q.add_argument("--report", default="", help="only print the medians of such a file")
    q.add_argument("--versus", default="", help="with --report: count seeds below this row")
    q.add_argument("--datasets", default="digits,breast_cancer,wine")
    q.add_argument("--routes", default="validation,cross-fitted",
                   help="validation: members on the training split, weights on validation; "
                        "cross-fitted: 5-fold out-of-fold over train+validation")
    s = sub.add_parser("speed")
    s.add_argument("--repeats", type=int, default=5)
    s.add_argument("--models", type=int, default=50)
    s.add_argument("--samples", type=int, default=100_000)
    s.add_argument("--classes", type=int, default=10)
    s.add_argument("--metric", default="log_loss")
    args = p.parse_args()
    if args.what == "speed":
        return speed(args)
    if args.report:
        return print_quality([json.loads(line) for line in open(args.report)], args.versus)
    quality(args)


if __name__ == "__main__":
    main()

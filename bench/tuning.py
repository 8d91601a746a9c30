"""Tuning benchmarks: search overhead, R versus Python, and search quality.

    python bench/tuning.py overhead  [--repeats 5]
    python bench/tuning.py r-vs-python [--repeats 3]
    python bench/tuning.py quality   [--seeds 3]

Every figure is measured side by side in one run (alternating order between repeats),
median reported. See BENCHMARKS.md for recorded figures.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "inst", "python"))

import keras  # noqa: E402
import keras_tuner as kt  # noqa: E402
import numpy as np  # noqa: E402

import kerascraft as kc  # noqa: E402


def build_mlp(hp):
    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=hp.Choice("optimizer", ["rmsprop", "adam"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _fit_args(d, epochs):
    return dict(validation_data=(d["x_val"], d["y_val"]), epochs=epochs, batch_size=64, verbose=0)


def overhead(repeats, trials=10, epochs=2):
    """kerascraft's search, plain KerasTuner, and a plain build-and-fit loop over the same
    configurations."""
    d = kc.load_digits(seed=0)
    times = {"kerascraft": [], "keras_tuner": [], "plain loop": []}
    for r in range(repeats):
        with tempfile.TemporaryDirectory() as tmp:
            # the configurations to share: the ones kerascraft's search draws with this seed
            def run_kc():
                t = kc.tuner("random", build_mlp, objective="val_accuracy", max_trials=trials,
                             directory=tmp, project_name=f"kc{r}", seed=r)
                start = time.perf_counter()
                t.search(d["x_train"], d["y_train"], **_fit_args(d, epochs))
                return time.perf_counter() - start, t

            def run_kt():
                t = kt.RandomSearch(build_mlp, objective="val_accuracy", max_trials=trials,
                                    directory=tmp, project_name=f"kt{r}", seed=r)
                start = time.perf_counter()
                t.search(d["x_train"], d["y_train"], **_fit_args(d, epochs))
                return time.perf_counter() - start

            def run_plain(configs):
                start = time.perf_counter()
                for values in configs:
                    hp = kt.HyperParameters()
                    for k, v in values.items():
                        hp.Fixed(k, v)
                    keras.backend.clear_session()
                    model = build_mlp(hp)
                    model.fit(d["x_train"], d["y_train"], **_fit_args(d, epochs))
                return time.perf_counter() - start

            seconds, t = run_kc()
            configs = [tr.hyperparameters.values for tr in t.oracle.trials.values()]
            runs = [("keras_tuner", run_kt), ("plain loop", lambda: run_plain(configs))]
            if r % 2:
                runs.reverse()
            times["kerascraft"].append(seconds)
            for name, fn in runs:
                times[name].append(fn())
        print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
              flush=True)
    base = statistics.median(times["plain loop"])
    print(f"\n{trials} trials of {epochs} epochs on digits, median of {repeats}:\n")
    print("| | seconds | ratio to plain loop |\n|---|---:|---:|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.2f} | {m / base:.3f} |")


R_SEARCH = r"""
suppressPackageStartupMessages(library(kerascraft))
digits <- load_digits(seed = 0)
build_model <- function(hp) {
  model <- keras$Sequential(list(keras$Input(shape = list(64L)),
    keras$layers$Dense(hp$Int("units", 16, 128, step = 16), activation = "relu"),
    keras$layers$Dense(10L, activation = "softmax")))
  model$compile(optimizer = hp$Choice("optimizer", c("rmsprop", "adam")),
                loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
  model
}
t <- tuner("random", build_model, objective = "val_accuracy", max_trials = TRIALS,
           directory = DIR, seed = SEED)
s <- system.time(search(t, digits$x_train, digits$y_train,
                        validation_data = list(digits$x_val, digits$y_val),
                        epochs = EPOCHS, batch_size = 64, verbose = 0))[["elapsed"]]
cat("SEARCH_SECONDS", s, "\n")
"""

PY_SEARCH = r"""
import sys, time
sys.path.insert(0, ROOT)
import kerascraft as kc
sys.path.insert(0, HERE)
from tuning import build_mlp
d = kc.load_digits(seed=0)
t = kc.tuner("random", build_mlp, objective="val_accuracy", max_trials=TRIALS, directory=DIR, seed=SEED)
start = time.perf_counter()
t.search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]), epochs=EPOCHS,
         batch_size=64, verbose=0)
print("SEARCH_SECONDS", time.perf_counter() - start)
"""


def r_vs_python(repeats, trials=10, epochs=2):
    """The same search (same seed, same configurations) driven from R and from Python, each
    in a fresh process; only the search() call is timed."""
    times = {"R": [], "Python": []}
    for r in range(repeats):
        order = ["R", "Python"] if r % 2 == 0 else ["Python", "R"]
        for lang in order:
            with tempfile.TemporaryDirectory() as tmp:
                subst = {"TRIALS": str(trials), "EPOCHS": str(epochs), "SEED": str(r),
                         "DIR": repr(tmp), "ROOT": repr(os.path.join(HERE, "..", "inst", "python")),
                         "HERE": repr(HERE)}
                code = R_SEARCH if lang == "R" else PY_SEARCH
                for k, v in subst.items():
                    code = code.replace(k, v)
                cmd = ["Rscript", "-e", code] if lang == "R" else [sys.executable, "-c", code]
                out = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp, check=True).stdout
                times[lang].append(float(re.search(r"SEARCH_SECONDS\s+([0-9.]+)", out).group(1)))
        print(f"repeat {r + 1}: R {times['R'][-1]:.2f}s, Python {times['Python'][-1]:.2f}s", flush=True)
    r_med, py_med = statistics.median(times["R"]), statistics.median(times["Python"])
    print(f"\n{trials} trials of {epochs} epochs, median of {repeats}: R {r_med:.2f}s, "
          f"Python {py_med:.2f}s, ratio R/Python {r_med / py_med:.3f}")


def _datasets():
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    digits = kc.load_digits(seed=0)
    x, y = load_breast_cancer(return_X_y=True)
    x_rest, x_test, y_rest, y_test = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=1 / 3,
                                                      random_state=0, stratify=y_rest)
    scaler = StandardScaler().fit(x_train)
    cancer = {"x_train": scaler.transform(x_train), "y_train": y_train,
              "x_val": scaler.transform(x_val), "y_val": y_val,
              "x_test": scaler.transform(x_test), "y_test": y_test}
    return {"digits": (digits, 10), "breast_cancer": (cancer, 2)}


def _build_for(n_in, n_out):
    def build(hp):
        model = keras.Sequential([keras.Input((n_in,))])
        for i in range(hp.Int("layers", 1, 3)):
            model.add(keras.layers.Dense(hp.Int(f"units_{i}", 8, 128, sampling="log"),
                                         activation="relu"))
            model.add(keras.layers.Dropout(hp.Float(f"dropout_{i}", 0.0, 0.5, step=0.1)))
        model.add(keras.layers.Dense(n_out, activation="softmax"))
        model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-1, sampling="log")),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        return model
    return build


def quality(seeds, max_trials=10, epochs=12):
    """Random vs Bayesian vs Hyperband at about equal budgets of training epochs."""
    rows = []
    for name, (d, classes) in _datasets().items():
        build = _build_for(d["x_train"].shape[1], classes)
        for seed in range(seeds):
            for kind in ("random", "bayesian", "hyperband"):
                with tempfile.TemporaryDirectory() as tmp:
                    kw = dict(max_epochs=epochs, factor=3) if kind == "hyperband" else dict(max_trials=max_trials)
                    t = kc.tuner(kind, build, objective="val_accuracy", directory=tmp, seed=seed, **kw)
                    fit = dict(validation_data=(d["x_val"], d["y_val"]), batch_size=64, verbose=0)
                    if kind != "hyperband":
                        fit["epochs"] = epochs
                    keras.utils.set_random_seed(seed)
                    start = time.perf_counter()
                    t.search(d["x_train"], d["y_train"], **fit)
                    seconds = time.perf_counter() - start
                    table = kc.validation_vs_test(t, d["x_test"], d["y_test"], n=1)
                    row = table.iloc[0]
                    res = kc.results(t)
                    rows.append({"dataset": name, "seed": seed, "kind": kind, "trials": len(res),
                                 "validation": row.validation, "test": row.test, "seconds": seconds})
                    print(rows[-1], flush=True)
    print(f"\nmedian over {seeds} seeds (budget: {max_trials} trials x {epochs} epochs, "
          f"hyperband max_epochs={epochs}, factor=3):\n")
    print("| dataset | tuner | trials | best validation accuracy | its test accuracy | seconds |")
    print("|---|---|---:|---:|---:|---:|")
    for name in dict.fromkeys(r["dataset"] for r in rows):
        for kind in ("random", "bayesian", "hyperband"):
            mine = [r for r in rows if r["dataset"] == name and r["kind"] == kind]
            med = {k: statistics.median(r[k] for r in mine) for k in ("trials", "validation", "test", "seconds")}
            print(f"| {name} | {kind} | {med['trials']:.0f} | {med['validation']:.4f} | "
                  f"{med['test']:.4f} | {med['seconds']:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["overhead", "r-vs-python", "quality"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.what == "overhead":
        overhead(args.repeats)
    elif args.what == "r-vs-python":
        r_vs_python(args.repeats)
    else:
        quality(args.seeds)


if __name__ == "__main__":
    main()

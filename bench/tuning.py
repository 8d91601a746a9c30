"""Tuning benchmarks: search overhead, R versus Python, and search quality.

    python bench/tuning.py overhead  [--repeats 5]
    python bench/tuning.py r-vs-python [--repeats 3]
    python bench/tuning.py interpreter [--repeats 5]
    python bench/tuning.py quality   [--seeds 3]
    python bench/tuning.py pruning   [--seeds 3]

Every figure is measured side by side in one run (alternating order between repeats),
median reported. See BENCHMARKS.md for recorded figures.
"""

from __future__ import annotations

import argparse
import contextlib
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
    configurations; also that loop with kerascraft's two per-model savings (collections
    that skip the objects older than the loop, the train step traced once), which leaves
    the overhead proper."""
    from kerascraft.compat.keras import build_before_tracing as _build_before_tracing
    from kerascraft.memory import collections_skip_older_objects

    d = kc.load_digits(seed=0)
    times = {"kerascraft": [], "keras_tuner": [], "plain loop": [], "plain loop, same savings": []}
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

            def run_plain(configs, savings=False):
                start = time.perf_counter()
                with collections_skip_older_objects() if savings else contextlib.nullcontext():
                    for values in configs:
                        hp = kt.HyperParameters()
                        for k, v in values.items():
                            hp.Fixed(k, v)
                        keras.backend.clear_session()
                        model = build_mlp(hp)
                        if savings:
                            _build_before_tracing(model)
                        model.fit(d["x_train"], d["y_train"], **_fit_args(d, epochs))
                return time.perf_counter() - start

            seconds, t = run_kc()
            configs = [tr.hyperparameters.values for tr in t.oracle.trials.values()]
            runs = [("keras_tuner", run_kt), ("plain loop", lambda: run_plain(configs)),
                    ("plain loop, same savings", lambda: run_plain(configs, savings=True))]
            if r % 2:
                runs.reverse()
            times["kerascraft"].append(seconds)
            for name, fn in runs:
                times[name].append(fn())
        print(f"repeat {r + 1}: " + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in times.items()),
              flush=True)
    base = statistics.median(times["plain loop"])
    same = statistics.median(times["plain loop, same savings"])
    print(f"\n{trials} trials of {epochs} epochs on digits, median of {repeats}:\n")
    print("| | seconds | ratio to plain loop | ratio to plain loop with the same savings |")
    print("|---|---:|---:|---:|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.2f} | {m / base:.3f} | {m / same:.3f} |")


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


PURE_PYTHON = r"""
import time
def work():
    counts = {}
    for i in range(300000):
        counts[i % 1000] = counts.get(i % 1000, 0) + len(str(i))
    class Point:
        def __init__(self, x):
            self.x = x
        def moved(self):
            return self.x + 1
    return sum(Point(i).moved() for i in range(300000))
times = []
for _ in range(7):
    start = time.perf_counter()
    work()
    times.append(time.perf_counter() - start)
print("PURE_SECONDS", sorted(times)[3])
"""

EMBED_C = r"""
#include <Python.h>
int main(int argc, char **argv) {
  Py_Initialize();
  int rc = PyRun_SimpleString(argv[1]);
  Py_Finalize();
  return rc;
}
"""


def interpreter(repeats):
    """Pure Python code run by the ``python`` executable, by R (reticulate), and by a
    10-line C program that embeds the same shared libpython R loads: shows whether the
    R/Python gap is R's or the library's."""
    import sysconfig

    libdir, ldlib = sysconfig.get_config_var("LIBDIR"), sysconfig.get_config_var("LDLIBRARY")
    include = sysconfig.get_paths()["include"]
    hosts = {"python executable": None, "R (reticulate)": None, "C host, shared libpython": None}
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, "pure.py")
        with open(script, "w") as f:
            f.write(PURE_PYTHON)
        hosts["python executable"] = [sys.executable, script]
        hosts["R (reticulate)"] = ["Rscript", "-e", "kerascraft:::kc_core(); "
                                   f"reticulate::py_run_file({script!r})"]
        source, binary = os.path.join(tmp, "host.c"), os.path.join(tmp, "host")
        with open(source, "w") as f:
            f.write(EMBED_C)
        built = subprocess.run(["cc", "-O2", f"-I{include}", source, "-o", binary,
                                os.path.join(libdir, ldlib)], capture_output=True)
        if built.returncode == 0:
            hosts["C host, shared libpython"] = [binary, PURE_PYTHON]
        else:
            del hosts["C host, shared libpython"]
            print("no C compiler or libpython headers: the C host is left out")
        times = {name: [] for name in hosts}
        for r in range(repeats):
            for name, cmd in (hosts.items() if r % 2 == 0 else reversed(hosts.items())):
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                times[name].append(float(re.search(r"PURE_SECONDS\s+([0-9.]+)", out).group(1)))
    base = statistics.median(times["python executable"])
    print(f"\npure Python (dicts, str(), small objects), median of {repeats}; libpython: "
          f"{os.path.join(libdir, ldlib)}\n")
    print("| host | seconds | ratio |\n|---|---:|---:|")
    for name, values in times.items():
        m = statistics.median(values)
        print(f"| {name} | {m:.4f} | {m / base:.2f} |")


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


def _epochs_trained(t, epochs):
    """Epochs the search trained, over all trials: a pruned trial's epochs until it was
    stopped, a Hyperband trial's epochs beyond those it resumed from, others ``epochs``."""
    pruned = getattr(t.oracle, "pruned", {})
    total = 0
    for tr in t.oracle.trials.values():
        values = tr.hyperparameters.values
        if "tuner/epochs" in values:
            total += values["tuner/epochs"] - values.get("tuner/initial_epoch", 0)
        else:
            total += pruned.get(tr.trial_id, epochs)
    return total


def pruning(seeds, epochs=18, pruned_trials=24):
    """TPE with pruning, TPE training every trial fully at about the same number of epochs,
    and KerasTuner's Hyperband: best validation accuracy, its model's test accuracy, epochs
    trained and wall time, on the digits MLP of ``quality``."""
    d, classes = _datasets()["digits"]
    build = _build_for(d["x_train"].shape[1], classes)
    fit = dict(validation_data=(d["x_val"], d["y_val"]), batch_size=64, epochs=epochs, verbose=0)
    rows = []
    for seed in range(seeds):
        budget = None
        for method in ("tpe, pruning", "tpe, full training", "hyperband"):
            with tempfile.TemporaryDirectory() as tmp:
                if method == "tpe, pruning":
                    t = kc.tuner("tpe", build, objective="val_accuracy", directory=tmp,
                                 seed=seed, max_trials=pruned_trials, pruning=True)
                elif method == "tpe, full training":  # the epochs pruning used, in full trials
                    t = kc.tuner("tpe", build, objective="val_accuracy", directory=tmp,
                                 seed=seed, max_trials=max(1, round(budget / epochs)))
                else:
                    t = kc.tuner("hyperband", build, objective="val_accuracy", directory=tmp,
                                 seed=seed, max_epochs=epochs, factor=3)
                keras.utils.set_random_seed(seed)
                start = time.perf_counter()
                t.search(d["x_train"], d["y_train"],
                         **{k: v for k, v in fit.items() if method != "hyperband" or k != "epochs"})
                seconds = time.perf_counter() - start
                used = _epochs_trained(t, epochs)
                budget = budget or used
                row = kc.validation_vs_test(t, d["x_test"], d["y_test"], n=1).iloc[0]
                res = kc.results(t)
                rows.append({"seed": seed, "method": method, "trials": len(res),
                             "pruned": int((res.status == "PRUNED").sum()), "epochs": used,
                             "validation": row.validation, "test": row.test, "seconds": seconds})
                print(rows[-1], flush=True)
    print(f"\nmedian over {seeds} seeds (digits MLP, {epochs} epochs per full trial; "
          f"pruning: {pruned_trials} trials, rungs at epochs 2 and 6):\n")
    print("| search | trials | pruned | epochs trained | best validation accuracy | "
          "its test accuracy | seconds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for method in dict.fromkeys(r["method"] for r in rows):
        mine = [r for r in rows if r["method"] == method]
        med = {k: statistics.median(r[k] for r in mine)
               for k in ("trials", "pruned", "epochs", "validation", "test", "seconds")}
        print(f"| {method} | {med['trials']:.0f} | {med['pruned']:.0f} | {med['epochs']:.0f} | "
              f"{med['validation']:.4f} | {med['test']:.4f} | {med['seconds']:.0f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=["overhead", "r-vs-python", "interpreter", "quality",
                                         "pruning"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    args = parser.parse_args()
    if args.what == "overhead":
        overhead(args.repeats)
    elif args.what == "r-vs-python":
        r_vs_python(args.repeats)
    elif args.what == "interpreter":
        interpreter(args.repeats)
    elif args.what == "pruning":
        pruning(args.seeds)
    else:
        quality(args.seeds)


if __name__ == "__main__":
    main()

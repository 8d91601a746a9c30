"""Scale benchmarks: step fusion, and distributed tuning against one process.

    python bench/scale.py fusion      [--repeats 3]
    python bench/scale.py distributed [--trials 8] [--workers 2]
    python bench/scale.py memory      [--trials 20]
    python bench/scale.py gpu         [--repeats 3]     (bench/gpu_scale.sh on a lent GPU)

fusion: a small MLP (64 -> 64 -> 10, batch 32) trained on digits-sized data with each
fixed steps_per_execution; then tune_steps_per_execution() picks one. Figures are samples
per second, medians of the repeats, all in one process, alternating order.

distributed: the same random search (same seed, same trials) run by one process and by
search_distributed() with a chief and N workers; wall times side by side.

gpu: one-device throughput of a small convnet (32x32x3 images, batch 256) with and without
step fusion and mixed precision (Keras on JAX), samples per second, medians of repeats.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(HERE, "..", "inst", "python")
sys.path.insert(0, SRC)

import numpy as np  # noqa: E402

import kerascraft as kc  # noqa: E402

CANDIDATES = [1, 2, 4, 8, 16, 32]


def mlp():
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(64, activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def fusion(args):
    d = kc.load_digits(seed=0)
    x, y = d["x_train"], d["y_train"]
    fixed = {c: [] for c in CANDIDATES}
    for rep in range(args.repeats):
        found = kc.tune_steps_per_execution(mlp(), x, y, candidates=CANDIDATES[::1 if rep % 2 == 0 else -1],
                                            steps=256, repeats=3)
        for row in found["table"]:
            fixed[row["steps_per_execution"]].append(row["samples_per_second"])
    med = {c: statistics.median(v) for c, v in fixed.items()}
    tuned = kc.tune_steps_per_execution(mlp(), x, y, candidates=CANDIDATES, steps=256, repeats=3)
    best_fixed = max(med, key=med.get)
    print(f"backend {os.environ.get('KERAS_BACKEND', 'tensorflow')}, {args.repeats} repeats")
    print("| steps_per_execution | samples/s (median) | x over 1 |")
    print("|---:|---:|---:|")
    for c in CANDIDATES:
        print(f"| {c} | {med[c]:,.0f} | {med[c] / med[1]:.2f} |")
    pick = tuned["best"]
    print(f"\ntune_steps_per_execution() chose {pick}: {med[pick] / med[best_fixed]:.3f} of the best "
          f"fixed value ({best_fixed}), {med[pick] / med[1]:.2f}x over 1")


SEARCH = '''
import sys
sys.path.insert(0, {src!r})
import kerascraft as kc
from kerascraft.demo import build_digits_mlp
d = kc.load_digits(seed=0)
t = kc.tuner("random", build_digits_mlp, objective="val_accuracy", max_trials={trials},
             directory={directory!r}, project_name="p", seed=11, overwrite=False)
t.search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]), epochs={epochs},
         batch_size=32, verbose=0)
'''


def distributed(args):
    rows = []
    for rep in range(args.repeats):
        for mode in (["single", "distributed"] if rep % 2 == 0 else ["distributed", "single"]):
            with tempfile.TemporaryDirectory() as tmp:
                script = os.path.join(tmp, "search.py")
                with open(script, "w") as f:
                    f.write(SEARCH.format(src=SRC, trials=args.trials, epochs=args.epochs,
                                          directory=os.path.join(tmp, "t")))
                t = time.perf_counter()
                if mode == "single":
                    subprocess.run([sys.executable, script], check=True, capture_output=True)
                else:
                    kc.search_distributed(script, workers=args.workers, verbose=0)
                rows.append((mode, time.perf_counter() - t))
    single = statistics.median(s for m, s in rows if m == "single")
    dist = statistics.median(s for m, s in rows if m == "distributed")
    print(f"{args.trials} trials x {args.epochs} epochs, {os.cpu_count()} cores, {args.repeats} repeats")
    print(f"| run | wall s (median) |\n|---|---:|\n| one process | {single:.1f} |\n"
          f"| chief + {args.workers} workers | {dist:.1f} |")
    print(f"ratio distributed / single: {dist / single:.2f}")


MEMORY_SEARCH = '''
import sys
sys.path.insert(0, {src!r})
import keras
import kerascraft as kc

def build(hp):  # a space with no end, so the search runs every trial asked for
    model = keras.Sequential([keras.Input((64,)),
                              keras.layers.Dense(hp.Int("units", 16, 128, step=16), activation="relu"),
                              keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

class RSS(keras.callbacks.Callback):
    def on_train_end(self, logs=None):
        rss = [l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1]
        print("rss_kb", rss, flush=True)

d = kc.load_digits(seed=0)
t = kc.tuner("random", build, objective="val_accuracy", max_trials={trials},
             directory={directory!r}, project_name="p", seed=11, overwrite=False)
t.search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]), epochs=1,
         batch_size=32, verbose=0, callbacks=[RSS()])
'''


def memory(args):
    import re

    print(f"{args.trials} tiny trials, one worker; resident memory at the end of each trial")
    print("| worker | RSS after trial 3 (MB) | after the last (MB) | growth per trial (MB) |\n|---|---:|---:|---:|")
    for per_process in (None, 1):
        with tempfile.TemporaryDirectory() as tmp:
            script = os.path.join(tmp, "search.py")
            with open(script, "w") as f:
                f.write(MEMORY_SEARCH.format(src=SRC, trials=args.trials, directory=os.path.join(tmp, "t")))
            out = kc.search_distributed(script, workers=1, trials_per_process=per_process, verbose=0)
            log = open(os.path.join(out["log_dir"], "tuner0.log")).read()
        rss = [int(v) / 1024 for v in re.findall(r"^rss_kb (\d+)", log, re.M)]
        assert len(rss) == args.trials, f"{len(rss)} trials ran, not {args.trials}"
        growth = (rss[-1] - rss[2]) / (len(rss) - 3)
        name = "one process" if per_process is None else f"fresh process every {per_process} trial"
        print(f"| {name} | {rss[2]:.0f} | {rss[-1]:.0f} | {growth:.2f} |")


def convnet(policy, steps_per_execution):
    import keras

    keras.config.set_dtype_policy(policy)
    keras.utils.set_random_seed(0)
    inputs = keras.Input((32, 32, 3))
    h = inputs
    for width in (64, 128, 256):
        h = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(h)
        h = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(h)
        h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    outputs = keras.layers.Dense(10, activation="softmax", dtype="float32")(h)  # float32 softmax
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  steps_per_execution=steps_per_execution)
    return model


def gpu(args):
    import keras

    rng = np.random.default_rng(0)
    n, batch = 16384, 256
    x = rng.random((n, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, n)
    steps = n // batch
    rows = {}
    for policy in ("float32", "mixed_bfloat16"):
        found = kc.tune_steps_per_execution(convnet(policy, 1), x, y, candidates=[1, 2, 4, 8, 16],
                                            batch_size=batch, steps=steps, repeats=args.repeats)
        for r in found["table"]:
            rows[(policy, r["steps_per_execution"])] = r["samples_per_second"]
        rows[(policy, "tuned")] = found["best"]
    keras.config.set_dtype_policy("float32")
    base = rows[("float32", 1)]
    print(f"Keras {keras.__version__} on {keras.config.backend()}, convnet 32x32x3, batch {batch}, "
          f"{steps} steps per timing, {args.repeats} repeats")
    print("| policy | steps_per_execution | samples/s | x over float32, 1 |\n|---|---:|---:|---:|")
    for (policy, spe), v in rows.items():
        if spe != "tuned":
            print(f"| {policy} | {spe} | {v:,.0f} | {v / base:.2f} |")
    for policy in ("float32", "mixed_bfloat16"):
        print(f"tune_steps_per_execution() chose {rows[(policy, 'tuned')]} under {policy}")


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="what", required=True)
    f = sub.add_parser("fusion")
    f.add_argument("--repeats", type=int, default=3)
    d = sub.add_parser("distributed")
    d.add_argument("--trials", type=int, default=8)
    d.add_argument("--epochs", type=int, default=5)
    d.add_argument("--workers", type=int, default=2)
    d.add_argument("--repeats", type=int, default=2)
    m = sub.add_parser("memory")
    m.add_argument("--trials", type=int, default=20)
    g = sub.add_parser("gpu")
    g.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    {"fusion": fusion, "distributed": distributed, "memory": memory, "gpu": gpu}[args.what](args)


if __name__ == "__main__":
    main()

"""Training throughput per precision policy, side by side in one process.

    python bench/precision.py --scale small                 # this project's CPUs (TensorFlow)
    KERAS_BACKEND=jax python bench/precision.py --scale small
    KERAS_BACKEND=jax python bench/precision.py --scale large --policies float32,mixed_float16,mixed_bfloat16 --highest-baseline

Prints one markdown table per model (median samples/s over --repeats runs, ratio to the
first policy) and writes every run to --out as JSON. Data are random: throughput does not
depend on the values. See BENCHMARKS.md for recorded figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "inst", "python"))

import keras  # noqa: E402

import kerascraft as kc  # noqa: E402

SCALES = {
    # model -> (number of samples, batch size, width)
    "small": {"convnet": (2048, 128, 32), "mlp": (16384, 256, 1024)},
    "large": {"convnet": (32768, 512, 128), "mlp": (131072, 2048, 8192)},
}


def convnet(width):
    def build():
        model = keras.Sequential([
            keras.Input((32, 32, 3)),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu"),
            keras.layers.Conv2D(2 * width, 3, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Conv2D(4 * width, 3, padding="same", activation="relu"),
            keras.layers.GlobalAveragePooling2D(),
            *kc.output_layers(10),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    return build, (32, 32, 3)


def mlp(width):
    def build():
        model = keras.Sequential([
            keras.Input((784,)),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(width, activation="relu"),
            keras.layers.Dense(width, activation="relu"),
            *kc.output_layers(10),
        ])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    return build, (784,)


MODELS = {"convnet": convnet, "mlp": mlp}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=SCALES, default="small")
    parser.add_argument("--models", default="convnet,mlp")
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--highest-baseline", action="store_true",
                        help="JAX only: also time float32 with matmul precision 'highest' "
                             "(true float32, no TF32)")
    parser.add_argument("--out", default="precision-bench.json")
    args = parser.parse_args(argv)

    hardware = kc.detect_hardware()
    auto = kc.choose_policy(hardware)
    print(f"# {hardware['device']} ({hardware['accelerator']}), Keras {keras.__version__} on "
          f"{hardware['backend']}; python {platform.python_version()}")
    print(f"# auto policy here: {auto[0]} ({auto[1]})")
    policies = args.policies.split(",")
    record = {"hardware": hardware, "auto": auto, "models": {}}
    for name in args.models.split(","):
        n, batch_size, width = SCALES[args.scale][name]
        build, shape = MODELS[name](width)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(n, *shape)).astype(np.float32)
        y = rng.integers(0, 10, size=n).astype(np.int32)
        out = kc.benchmark_precision(build, (x, y), policies=policies, epochs=args.epochs,
                                     batch_size=batch_size, repeats=args.repeats)
        if args.highest_baseline and hardware["backend"] == "jax":
            import jax

            with jax.default_matmul_precision("highest"):
                highest = kc.benchmark_precision(build, (x, y), policies=["float32"],
                                                 epochs=args.epochs, batch_size=batch_size,
                                                 repeats=args.repeats)
            out["highest_float32"] = highest
        record["models"][name] = {"n": n, "batch_size": batch_size, "width": width, **out}
        print(f"\n## {name} (width {width}, {n} samples, batch {batch_size}, "
              f"{args.epochs} timed epochs, median of {args.repeats})\n")
        print("| policy | samples/s | ratio to " + policies[0] + " | final loss |")
        print("|---|---:|---:|---:|")
        for s in out["summary"]:
            print(f"| {s['policy']} | {s['samples_per_second']:,.0f} | {s['ratio']:.2f} | "
                  f"{s['final_loss']:.3f} |")
        if "highest_float32" in out:
            h = out["highest_float32"]["summary"][0]["samples_per_second"]
            base = out["summary"][0]["samples_per_second"]
            print(f"| float32, matmul precision 'highest' (no TF32) | {h:,.0f} | "
                  f"{h / base:.2f} | |")
            for s in out["summary"]:
                print(f"|   {s['policy']} vs 'highest' float32 | | "
                      f"{s['samples_per_second'] / h:.2f} | |")
        sys.stdout.flush()
    with open(args.out, "w") as f:
        json.dump(record, f, indent=1, default=str)


if __name__ == "__main__":
    main()

"""Step fusion: how many training steps to run per device call (``steps_per_execution``),
measured rather than guessed (Keras 3.15 has no ``"auto"``)."""

from __future__ import annotations

import statistics
import time

from kerascraft.errors import InputError


def tune_steps_per_execution(model, x, y, candidates=(1, 2, 4, 8, 16, 32), batch_size=32,
                             steps=64, repeats=3, tolerance=0.05) -> dict:
    """Measure training throughput for each ``steps_per_execution`` and pick one.

    Each candidate trains a fresh copy of ``model`` (same architecture and compile
    settings, its own weights) for ``steps`` batches after a warm-up that compiles it;
    the median of ``repeats`` timings counts. Keras 3.15 has no ``"auto"`` (it raises
    TypeError), hence this.

    Returns:
        dict: ``best`` (the smallest candidate within ``tolerance`` of the fastest, ready
        for ``compile(steps_per_execution=...)``), ``fastest``, and ``table`` (one row per
        candidate: ``steps_per_execution``, ``samples_per_second``, ``speedup`` over the
        first candidate).
    """
    import keras
    import numpy as np

    from kerascraft.data import prepare_fit_data

    if getattr(model, "optimizer", None) is None:
        raise InputError("tune_steps_per_execution() needs a compiled model: it retrains "
                         "copies with the model's own compile settings.")
    candidates = sorted({int(c) for c in candidates})
    if not candidates or candidates[0] < 1:
        raise InputError(f"candidates must be whole numbers >= 1, got {candidates}.")
    x, y, _ = prepare_fit_data(x, y)
    n = len(x)
    steps = max(steps, max(candidates))
    steps -= steps % max(candidates)  # a multiple of every (power-of-two) candidate's group
    # with steps_per_epoch, Keras goes on with the same pass over the data from epoch to
    # epoch: tile the data so that the warm-up and every timed epoch have whole batches
    need = batch_size * steps * (1 + int(repeats))
    if n < need:
        reps = -(-need // n)
        x, y = np.concatenate([x] * reps), np.concatenate([y] * reps)
    config = model.get_compile_config()

    class EpochTimes(keras.callbacks.Callback):  # epoch times exclude fit()'s own set-up
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.times.append(time.perf_counter() - self.t0)

    rows = []
    for c in candidates:
        clone = keras.models.clone_model(model)
        # Keras deserializes the losses and metrics too (objects such as kc.layers')
        clone.compile_from_config(dict(config, steps_per_execution=c))
        timer = EpochTimes()
        timer.times = []
        # the first epoch traces and compiles; the others are timed
        clone.fit(x, y, batch_size=batch_size, epochs=1 + int(repeats), steps_per_epoch=steps,
                  verbose=0, shuffle=False, callbacks=[timer])
        rows.append({"steps_per_execution": c,
                     "samples_per_second": steps * batch_size / statistics.median(timer.times[1:])})
        del clone
    fastest = max(rows, key=lambda r: r["samples_per_second"])
    for r in rows:
        r["speedup"] = r["samples_per_second"] / rows[0]["samples_per_second"]
    best = next(r for r in rows
                if r["samples_per_second"] >= (1 - tolerance) * fastest["samples_per_second"])
    return {"best": best["steps_per_execution"], "fastest": fastest["steps_per_execution"],
            "table": rows}

"""Memory stays flat across trials (JAX); on TensorFlow the growth is Keras's own."""

import keras
import numpy as np
import pytest

import kerascraft as kc


def _rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) / 1024


class RecordRSS(keras.callbacks.Callback):
    values = []

    def on_train_end(self, logs=None):
        RecordRSS.values.append(_rss_mb())


@pytest.mark.skipif(keras.backend.backend() != "jax",
                    reason="TensorFlow keeps about 2 MB per model however the trial ends "
                           "(a plain Keras loop does the same); see BENCHMARKS.md")
def test_memory_is_flat_across_many_small_trials(tmp_path):
    def build(hp):
        model = keras.Sequential([keras.Input((8,)),
                                  keras.layers.Dense(hp.Int("units", 2, 64), activation="relu"),
                                  keras.layers.Dense(1)])
        model.compile(optimizer=hp.Choice("optimizer", ["adam", "sgd"]), loss="mse")
        return model

    rng = np.random.default_rng(0)
    x, y = rng.random((64, 8), dtype=np.float32), rng.random(64, dtype=np.float32)
    RecordRSS.values.clear()
    t = kc.tuner("random", build, max_trials=30, directory=tmp_path, seed=0)
    t.search(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[RecordRSS()])
    rss = RecordRSS.values
    assert len(rss) == 30
    per_trial = (rss[-1] - rss[4]) / (len(rss) - 5)  # after warm-up
    assert per_trial < 1.0, f"memory grew {per_trial:.2f} MB per trial: {rss}"

"""Memory stays flat across trials, on TensorFlow and on JAX."""

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


def test_memory_is_flat_across_many_small_trials(tmp_path):
    # before kerascraft freed what the backends keep of each trial: 5.8 MB per trial on
    # JAX (jit caches), 2.4 MB on TensorFlow (graphs held by its gradient registry)
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


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow's registry")
def test_trials_leave_no_custom_gradients_in_tensorflows_registry(digits, build, tmp_path):
    import keras_tuner as kt

    from kerascraft.compat.tensorflow import custom_gradient_names as _custom_gradient_names
    from kerascraft.memory import free_compiled_functions

    fit = dict(validation_data=(digits["x_val"], digits["y_val"]), epochs=1, verbose=0)
    before = _custom_gradient_names()
    t = kc.tuner("random", build, objective="val_accuracy", max_trials=3, directory=tmp_path)
    t.search(digits["x_train"], digits["y_train"], **fit)
    assert _custom_gradient_names() == before
    retrained = kc.retrain_best(t, digits["x_train"], digits["y_train"],
                                (digits["x_val"], digits["y_val"]), n=1, max_epochs=2, verbose=0)
    assert _custom_gradient_names() == before
    assert retrained[0].predict(digits["x_val"], verbose=0).shape == (len(digits["y_val"]), 10)

    # a model whose entry was removed goes on training: its step was traced, gradients in it
    model = build(kt.HyperParameters())
    model.fit(digits["x_train"], digits["y_train"], **fit)
    assert _custom_gradient_names() - before   # its traces registered theirs
    free_compiled_functions(before)
    weights = [w.copy() for w in model.get_weights()]
    history = model.fit(digits["x_train"], digits["y_train"], **fit).history
    assert np.isfinite(history["loss"]).all()
    assert any(not np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))
    assert _custom_gradient_names() == before

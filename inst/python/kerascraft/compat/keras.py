"""Keras's private names that kerascraft uses (Keras 3.15.1 is what it is tested on)."""

from __future__ import annotations

import contextlib
import types

from kerascraft.compat import missing

#: attributes of ``keras.Model`` on every backend: name -> why
MODEL = {
    "_flatten_layers": "to find every layer of nested models in check_precision()",
}
#: attributes of ``keras.Model`` on the TensorFlow backend (its trainer): name -> why
TF_MODEL = {
    "_symbolic_build": "to build a fresh model's optimizer and metric variables before "
                       "TensorFlow traces its train step (one trace instead of two)",
    "_maybe_symbolic_build": "(overridden per model) for the same reason",
}
#: the data adapter whose batches can be taken without changing what a model trains on
ARRAY_ADAPTER = "ArrayDataAdapter"


def all_layers(model) -> list:
    """Every layer of ``model``, those of nested models included (not the model itself)."""
    if hasattr(model, "_flatten_layers"):
        return list(model._flatten_layers(include_self=False))
    return list(model.layers)


def build_before_tracing(model):
    """Have ``fit()`` create a fresh model's optimizer and metric variables before it
    traces the train step; returns ``model``.

    Keras on TensorFlow without a ``tf.distribute`` strategy creates them inside the first
    trace of the train step, and TensorFlow then traces the step a second time to run it
    without creating variables (about 0.2 s of Python per model for a small MLP here).
    Under a strategy Keras builds them first, symbolically, from one batch; this makes
    ``fit()`` do the same for in-memory arrays. Training is unchanged: same batches, same
    weights. Other inputs (tf.data, ``PyDataset``, generators) keep Keras's default, since
    taking a batch from them would change their shuffle order; whatever the symbolic build
    cannot handle is left to the trace, as without this. Keras on JAX already builds first.
    """
    import keras

    if (keras.backend.backend() != "tensorflow" or not hasattr(model, "_symbolic_build")
            or getattr(model, "_distribute_strategy", True) is not None):
        return model

    def maybe_symbolic_build(self, iterator=None, data_batch=None):
        # once, in the first fit() (or evaluate()); then Keras's own again, a no-op here,
        # so later calls (the validation after each epoch) start no extra data iterator
        del self._maybe_symbolic_build
        if data_batch is None:
            if type(getattr(iterator, "data_adapter", None)).__name__ != ARRAY_ADAPTER:
                return
            for _, _, batches in iterator:  # fit() resets the iterator after this
                data_batch = next(batches)
                break
        with contextlib.suppress(Exception):
            self._symbolic_build(data_batch=data_batch)

    model._maybe_symbolic_build = types.MethodType(maybe_symbolic_build, model)
    return model


def check() -> list:
    """One line for each private name the installed Keras lacks."""
    import keras

    problems = missing(keras.Model, MODEL, "keras.Model", "keras")
    if keras.backend.backend() != "tensorflow":
        return problems
    problems += missing(keras.Model, TF_MODEL, "keras.Model", "keras")
    try:
        from keras.src.trainers.data_adapters import array_data_adapter
    except ImportError:
        array_data_adapter = None
    if not hasattr(array_data_adapter, ARRAY_ADAPTER):
        problems.append(f"keras has no {ARRAY_ADAPTER} in keras.src.trainers.data_adapters: "
                        "kerascraft recognises in-memory arrays in fit() by it (to build "
                        "before tracing). Install the release in kerascraft's pins.")
    return problems

"""The search space craft() tunes when it is given none, and step fusion for it."""

from __future__ import annotations

import math

import numpy as np

from kerascraft.compat import keras_tuner as compat_kt


def default_hypermodel(x_train, y_train, task, n_classes=None, *, embeddings=()):
    """The search space :func:`craft` tunes when it is given no model.

    Tables: dense networks (1-3 layers of 32-512 units, dropout, learning rate); images
    (``x`` of 3 or 4 dimensions): small convnets (1-3 convolution blocks, 16-64 filters
    doubling per block, a dense layer, dropout, learning rate). Inputs are standardised by a
    ``Normalization`` layer holding the training split's mean and variance, so the model
    takes raw data; regression outputs are scaled back to the target's mean and spread.
    ``embeddings``: columns of ``x`` that are codes of categories, as ``(column index,
    codes, size)`` (:meth:`kerascraft.tables.Table.embeddings`), each looked up in a trained
    embedding of that size instead of standardised.

    Returns:
        A ``keras_tuner.HyperModel``.
    """
    import keras_tuner as kt

    x_train = np.asarray(x_train, dtype=np.float32)
    images = x_train.ndim == 4
    axes = (0, 1, 2) if images else 0
    mean = x_train.mean(axis=axes, dtype=np.float64)
    var = x_train.var(axis=axes, dtype=np.float64)
    var[var < 1e-12] = 1.0
    embeddings = [tuple(int(v) for v in e) for e in embeddings]
    dense = [i for i in range(x_train.shape[-1]) if i not in {e[0] for e in embeddings}]
    if embeddings:  # the codes are looked up, the other columns standardised
        mean, var = mean[dense], var[dense]
    y_mean, y_sd = 0.0, 1.0
    if task == "regression":
        y_mean, y_sd = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
    max_blocks = max(1, min(3, int(math.log2(max(2, min(x_train.shape[1:3])))) - 1)) if images else 0
    shape = tuple(int(d) for d in x_train.shape[1:])

    class DefaultHyperModel(kt.HyperModel):
        def build(self, hp):
            import keras

            from kerascraft.precision import output_layers

            inputs = keras.Input(shape=shape)
            h = keras.layers.Normalization(mean=mean, variance=var)(
                keras.ops.take(inputs, dense, axis=1) if embeddings else inputs)
            if embeddings:
                h = keras.layers.Concatenate(name="columns")([h] * bool(dense) + [
                    keras.layers.Embedding(codes, size, name=f"embedding_{i}")(
                        keras.ops.cast(inputs[:, i], "int32"))
                    for i, codes, size in embeddings])
            if images:
                blocks = hp.Int("conv_blocks", 1, max_blocks) if max_blocks > 1 else 1
                filters = hp.Choice("filters", [16, 32, 64])
                for b in range(blocks):
                    h = keras.layers.Conv2D(filters * 2 ** b, 3, padding="same", activation="relu")(h)
                    if min(h.shape[1:3]) >= 2:
                        h = keras.layers.MaxPooling2D(2)(h)
                h = keras.layers.Flatten()(h)
                h = keras.layers.Dense(hp.Choice("dense_units", [32, 64, 128]), activation="relu")(h)
                h = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(h)
            else:
                units = hp.Int("units", 32, 512, step=32, sampling="linear")
                dropout = hp.Float("dropout", 0.0, 0.5, step=0.1)
                for _ in range(hp.Int("layers", 1, 3)):
                    h = keras.layers.Dense(units, activation="relu")(h)
                    h = keras.layers.Dropout(dropout)(h)
            lr = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
            if task == "classification":
                for layer in output_layers(n_classes, "softmax"):
                    h = layer(h)
                loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
            else:
                h = keras.layers.Dense(1, dtype="float32")(h)
                h = keras.layers.Rescaling(y_sd, offset=y_mean, dtype="float32")(h)
                loss, metrics = "mse", ["mae"]
            model = keras.Model(inputs, h)
            model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
            return model

    return DefaultHyperModel()


def with_steps_per_execution(hypermodel, steps):
    """The hypermodel whose models run ``steps`` batches per call (step fusion)."""
    import keras_tuner as kt

    inner = compat_kt.get_hypermodel(hypermodel)
    if steps in (None, 1):
        return inner

    class Fused(kt.HyperModel):
        def build(self, hp):
            model = inner.build(hp)
            if getattr(model, "optimizer", None) is not None:
                model.steps_per_execution = int(steps)  # read when fit() makes its function
            return model

        def fit(self, hp, model, *args, **kwargs):
            return inner.fit(hp, model, *args, **kwargs)

    return Fused()


def measure_fusion(model, x, y, batch_size):
    """Step fusion measured on ``model`` (the search space's default configuration)."""
    from kerascraft.fusion import tune_steps_per_execution

    steps_per_epoch = max(1, len(x) // batch_size)
    candidates = [c for c in (1, 4, 16) if c <= steps_per_epoch] or [1]
    if len(candidates) == 1:
        return {"steps_per_execution": 1, "steps_table": None,
                "steps_reason": f"an epoch has only {steps_per_epoch} step(s)"}
    found = tune_steps_per_execution(model, x, y, candidates=candidates,
                                     batch_size=batch_size, steps=32, repeats=2)
    fastest = max(found["table"], key=lambda r: r["samples_per_second"])
    reason = (f"measured: {fastest['speedup']:.2f}x the speed of 1 at its fastest "
              f"({fastest['steps_per_execution']}); smallest within 5% of it")
    return {"steps_per_execution": int(found["best"]), "steps_table": found["table"],
            "steps_reason": reason}

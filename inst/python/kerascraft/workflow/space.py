"""The search space craft() tunes when it is given none, and step fusion for it."""

from __future__ import annotations

import inspect
import math
import sys

import numpy as np

from kerascraft.compat import keras_tuner as compat_kt
from kerascraft.hypermodels import SOURCE_ATTRIBUTE

#: TabM-mini's recipe (Gorishniy et al. 2024, at the size 2 cores train in time: see
#: BENCHMARKS.md, "Networks on tables"): the defaults of craft()'s space for tables, which
#: it tries first
RECIPE = {"embedding": "piecewise", "embedding_size": 16, "units": 256, "layers": 2, "k": 16,
          "dropout": 0.1, "learning_rate": 2e-3, "weight_decay": 3e-4}
#: bins of the piecewise-linear encoding (from the training rows' quantiles)
BINS = 16


def default_hypermodel(x_train, y_train, task, n_classes=None, *, embeddings=()):
    """The search space :func:`craft` tunes when it is given no model.

    Tables: TabM-mini (Gorishniy et al. 2024) built from :mod:`kerascraft.layers`. The
    numeric columns are robust-scaled with smooth clipping (statistics of the training
    split), then embedded (piecewise-linear encoding with a dense map per column, periodic
    embeddings, or none); an efficient ensemble of ``k`` members with random-sign input
    scalings, shared dense layers, one head per member; each member trained on its own loss
    and the members' predictions averaged (:class:`~kerascraft.layers.EnsembleMean`), so
    the model predicts like any other. AdamW with gradient clipping. Searched: the
    embedding's kind and size, width (64-512), depth (1-3), ``k``, dropout, learning rate
    and weight decay; each default is the recipe (:data:`RECIPE`), which craft() tries
    first. ``embeddings``: columns of ``x`` that are codes of categories, as ``(column
    index, codes, size)`` (:meth:`kerascraft.tables.Table.embeddings`), each looked up in a
    trained embedding of that size, whose rows enter the same network.

    Images (``x`` of 3 or 4 dimensions): small convnets (1-3 convolution blocks, 16-64
    filters doubling per block, a dense layer, dropout, learning rate), inputs standardised
    by a ``Normalization`` layer holding the training split's mean and variance.

    Regression outputs are scaled back to the target's mean and spread, so the model takes
    raw data and gives the target's units.

    Returns:
        A ``keras_tuner.HyperModel``.
    """
    x_train = np.asarray(x_train, dtype=np.float32)
    y_mean, y_sd = 0.0, 1.0
    if task == "regression":
        y_mean, y_sd = float(np.mean(y_train)), float(np.std(y_train)) or 1.0
    if x_train.ndim == 4:
        space = _ConvNets(x_train, task, n_classes, (y_mean, y_sd))
    else:
        space = _TableNetworks(x_train, task, n_classes, (y_mean, y_sd), embeddings)
    return compat_kt.get_hypermodel(space.build)


class _TableNetworks:
    """TabM-mini for tables (:func:`default_hypermodel`)."""

    def __init__(self, x_train, task, n_classes, target, embeddings):
        self.embeddings = [tuple(int(v) for v in e) for e in embeddings]
        coded = {e[0] for e in self.embeddings}
        self.numeric = [i for i in range(x_train.shape[1]) if i not in coded]
        self.x_numeric = x_train[:, self.numeric]
        self.task, self.n_classes, self.target = task, n_classes, target
        self.width = int(x_train.shape[1])

    def build(self, hp):
        import keras

        from kerascraft import layers

        r = RECIPE
        kind = hp.Choice("embedding", ["piecewise", "periodic", "none"], default=r["embedding"])
        size = hp.Choice("embedding_size", [8, 16, 32], default=r["embedding_size"])
        units = hp.Int("units", 64, 512, step=64, default=r["units"])
        depth = hp.Int("layers", 1, 3, default=r["layers"])
        k = hp.Choice("k", [8, 16, 32], default=r["k"])
        dropout = hp.Float("dropout", 0.0, 0.5, step=0.05, default=r["dropout"])
        lr = hp.Float("learning_rate", 3e-4, 1e-2, sampling="log", default=r["learning_rate"])
        decay = hp.Float("weight_decay", 1e-5, 1e-1, sampling="log", default=r["weight_decay"])

        inputs = keras.Input(shape=(self.width,))
        # the numbers' scaling and embedding in float32 under any policy: small layers,
        # where half precision would round the inputs (bin edges, frequencies) away
        parts = []
        if self.numeric:
            h = keras.ops.take(inputs, self.numeric, axis=1) if self.embeddings else inputs
            scaling = layers.RobustScaling(dtype="float32", name="robust_scaling")
            scaling.adapt(self.x_numeric)
            h = scaling(h)
            n = len(self.numeric)
            if kind == "piecewise":  # bins, then a dense map per column (PLE + linear)
                encoding = layers.PiecewiseLinearEncoding(bins=BINS, dtype="float32",
                                                          name="piecewise_linear")
                encoding.adapt(keras.ops.convert_to_numpy(scaling(self.x_numeric)))
                h = keras.layers.EinsumDense("bnt,ntd->bnd", output_shape=(n, size),
                                             bias_axes="nd", activation="relu",
                                             dtype="float32", name="per_column")(encoding(h))
            elif kind == "periodic":
                h = layers.PeriodicEmbedding(size=size, lite=True, dtype="float32",
                                             name="periodic")(h)
            if kind != "none":
                h = keras.layers.Flatten(name="embedded")(h)
            parts.append(h)
        for i, codes, width in self.embeddings:
            parts.append(keras.layers.Embedding(codes, width, name=f"embedding_{i}")(
                keras.ops.cast(inputs[:, i], "int32")))
        h = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name="columns")(parts)
        h = layers.EfficientEnsemble(units, k=k, activation="relu", random_signs=True,
                                     name="members_in")(h)
        h = keras.layers.Dropout(dropout)(h)
        for _ in range(depth - 1):
            h = keras.layers.Dropout(dropout)(keras.layers.Dense(units, activation="relu")(h))
        if self.task == "classification":
            h = layers.EfficientEnsemble(self.n_classes, k=k, name="heads")(h)
            h = keras.layers.Activation("softmax", dtype="float32", name="softmax")(h)
            loss = layers.EnsembleLoss("sparse_categorical_crossentropy")
            metrics = [layers.EnsembleMetric("sparse_categorical_accuracy", name="accuracy")]
        else:
            h = layers.EfficientEnsemble(1, k=k, dtype="float32", name="heads")(h)
            y_mean, y_sd = self.target
            h = keras.layers.Rescaling(y_sd, offset=y_mean, dtype="float32")(h)
            loss = layers.EnsembleLoss("mse")
            metrics = [layers.EnsembleMetric("mean_absolute_error", name="mae")]
        outputs = layers.EnsembleMean(members_in_training=True, dtype="float32",
                                      name="members_mean")(h)
        model = keras.Model(inputs, outputs)
        model.compile(optimizer=keras.optimizers.AdamW(lr, weight_decay=decay, clipnorm=1.0),
                      loss=loss, metrics=metrics)
        return model


class _ConvNets:
    """Small convnets for images (:func:`default_hypermodel`)."""

    def __init__(self, x_train, task, n_classes, target):
        self.mean = x_train.mean(axis=(0, 1, 2), dtype=np.float64)
        var = x_train.var(axis=(0, 1, 2), dtype=np.float64)
        var[var < 1e-12] = 1.0
        self.var = var
        self.max_blocks = max(1, min(3, int(math.log2(max(2, min(x_train.shape[1:3])))) - 1))
        self.shape = tuple(int(d) for d in x_train.shape[1:])
        self.task, self.n_classes, self.target = task, n_classes, target

    def build(self, hp):
        import keras

        from kerascraft.precision import output_layers

        inputs = keras.Input(shape=self.shape)
        h = keras.layers.Normalization(mean=self.mean, variance=self.var)(inputs)
        blocks = hp.Int("conv_blocks", 1, self.max_blocks) if self.max_blocks > 1 else 1
        filters = hp.Choice("filters", [16, 32, 64])
        for b in range(blocks):
            h = keras.layers.Conv2D(filters * 2 ** b, 3, padding="same", activation="relu")(h)
            if min(h.shape[1:3]) >= 2:
                h = keras.layers.MaxPooling2D(2)(h)
        h = keras.layers.Flatten()(h)
        h = keras.layers.Dense(hp.Choice("dense_units", [32, 64, 128]), activation="relu")(h)
        h = keras.layers.Dropout(hp.Float("dropout", 0.0, 0.5, step=0.1))(h)
        lr = hp.Float("learning_rate", 1e-4, 1e-2, sampling="log", default=1e-3)
        if self.task == "classification":
            for layer in output_layers(self.n_classes, "softmax"):
                h = layer(h)
            loss, metrics = "sparse_categorical_crossentropy", ["accuracy"]
        else:
            y_mean, y_sd = self.target
            h = keras.layers.Dense(1, dtype="float32")(h)
            h = keras.layers.Rescaling(y_sd, offset=y_mean, dtype="float32")(h)
            loss, metrics = "mse", ["mae"]
        model = keras.Model(inputs, h)
        model.compile(optimizer=keras.optimizers.Adam(lr), loss=loss, metrics=metrics)
        return model


#: a resumed craft() checks that its trials are of this space: known by this module's code
setattr(default_hypermodel, SOURCE_ATTRIBUTE, inspect.getsource(sys.modules[__name__]))


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

"""Keras 3 layers for networks on tables, backend-agnostic, saved and loaded with the model.

The recipes the literature since 2022 found to close most of the gap between multilayer
perceptrons and gradient-boosted trees on tables, written for Keras (their reference code
is PyTorch):

- :class:`RobustScaling`: per column ``(x - median) / (q75 - q25)``, then the smooth clip
  ``z / sqrt(1 + (z / 3) ** 2)`` (RealMLP, Holzmüller et al. 2024); its statistics come
  from the training data with :meth:`RobustScaling.adapt`, as ``Normalization.adapt``.
- :class:`PeriodicEmbedding`: each column ``x`` as ``ReLU(W [cos 2 pi c x, sin 2 pi c x] +
  b)`` with trained frequencies ``c`` (the "PLR" embeddings of Gorishniy et al. 2022).
- :class:`PiecewiseLinearEncoding`: each column as its position in bins whose edges are the
  training data's quantiles (Gorishniy et al. 2022), from :meth:`~PiecewiseLinearEncoding.adapt`.
- :class:`EfficientEnsemble`: a dense layer of ``k`` implicit members sharing one weight
  matrix, each with its own input and output scalings and bias (BatchEnsemble, as TabM
  uses it, Gorishniy et al. 2024); with :class:`EnsembleLoss` (each member trained on its
  own loss), :class:`EnsembleMean` (their predictions averaged; in training, optionally
  not) and :class:`EnsembleMetric` (a metric of the mean).

The embeddings give ``(batch, columns, size)``; ``keras.layers.Flatten()`` makes it the
rows a ``Dense`` layer takes. Every layer is registered with Keras's serialization under
the package name ``"kerascraft"``: a model holding them loads where kerascraft is imported.
"""

from __future__ import annotations

import inspect
import math

import keras
import numpy as np
from keras import ops

from kerascraft.errors import InputError

PACKAGE = "kerascraft"

#: the smooth clip's scale: ``z / sqrt(1 + (z / 3) ** 2)`` is about ``z`` within a robust
#: spread or two of the median and tends to +-3 far out (RealMLP's choice)
SMOOTH_CLIP = 3.0


def _columns(data, what) -> np.ndarray:
    """Training rows as a float64 matrix (rows x columns), checked."""
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    x = np.asarray(keras.ops.convert_to_numpy(data) if not isinstance(data, np.ndarray)
                   else data, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 1:
        raise InputError(f"{what}.adapt() takes a matrix of training rows (rows x columns); "
                         f"got an array of shape {x.shape}.")
    return x


@keras.saving.register_keras_serializable(package=PACKAGE)
class RobustScaling(keras.layers.Layer):
    """Robust scaling with smooth clipping: ``z = (x - median) / iqr`` per column, then
    ``z / sqrt(1 + (z / clip) ** 2)`` (RealMLP). Call :meth:`adapt` on the training rows
    first; a column without spread (``q75 == q25``) is divided by half its range
    instead, or by 1 when it has a single value. Missing values in the data given to
    ``adapt`` are left out of its statistics.
    """

    def __init__(self, clip=SMOOTH_CLIP, **kwargs):
        super().__init__(**kwargs)
        if clip is not None and not (isinstance(clip, (int, float)) and clip > 0):
            raise InputError(f"clip must be a number above 0 or None; got {clip!r}.")
        self.clip = None if clip is None else float(clip)

    def build(self, input_shape):
        n = int(input_shape[-1])
        self.center = self.add_weight(shape=(n,), initializer="zeros", trainable=False,
                                      name="center")
        self.scale = self.add_weight(shape=(n,), initializer="ones", trainable=False,
                                     name="scale")

    def adapt(self, data):
        """The medians and spreads of the training rows ``data`` (rows x columns)."""
        x = _columns(data, "RobustScaling")
        if not self.built:
            self.build((None, x.shape[1]))
        with np.errstate(all="ignore"):
            q25, median, q75 = np.nanquantile(x, [0.25, 0.5, 0.75], axis=0)
            spread = q75 - q25
            half_range = (np.nanmax(x, axis=0) - np.nanmin(x, axis=0)) / 2
        spread = np.where(spread > 0, spread, np.where(half_range > 0, half_range, 1.0))
        self.center.assign(np.nan_to_num(median).astype("float32"))
        self.scale.assign(np.nan_to_num(spread, nan=1.0).astype("float32"))
        return self

    def call(self, inputs):
        z = (ops.cast(inputs, self.compute_dtype) - self.center) / self.scale
        if self.clip is None:
            return z
        return z / ops.sqrt(1.0 + ops.square(z / self.clip))

    def get_config(self):
        return {**super().get_config(), "clip": self.clip}


@keras.saving.register_keras_serializable(package=PACKAGE)
class PeriodicEmbedding(keras.layers.Layer):
    """Each column ``x`` as ``ReLU(W [cos(2 pi c x), sin(2 pi c x)] + b)``: ``frequencies``
    trained frequencies ``c`` per column, drawn from ``N(0, sigma)``, and a dense map of
    its own per column (``lite=True``: one dense map shared by all columns, TabM's choice).
    Input ``(batch, columns)``, scaled (:class:`RobustScaling`); output ``(batch, columns,
    size)``."""

    def __init__(self, size=16, frequencies=48, sigma=0.1, lite=False, activation="relu",
                 **kwargs):
        super().__init__(**kwargs)
        for name, value in (("size", size), ("frequencies", frequencies)):
            if int(value) != value or value < 1:
                raise InputError(f"{name} must be a whole number of at least 1; got {value!r}.")
        if not sigma > 0:
            raise InputError(f"sigma must be above 0; got {sigma!r}.")
        self.size, self.frequencies = int(size), int(frequencies)
        self.sigma, self.lite = float(sigma), bool(lite)
        self.activation = keras.activations.get(activation)

    def build(self, input_shape):
        n, k = int(input_shape[-1]), self.frequencies
        self.coefficients = self.add_weight(
            shape=(n, k), name="coefficients",
            initializer=keras.initializers.TruncatedNormal(stddev=self.sigma, seed=None))
        dense_shape = (2 * k, self.size) if self.lite else (n, 2 * k, self.size)
        bound = 1.0 / math.sqrt(2 * k)
        uniform = keras.initializers.RandomUniform(-bound, bound)
        self.kernel = self.add_weight(shape=dense_shape, initializer=uniform, name="kernel")
        self.bias = self.add_weight(shape=(self.size,) if self.lite else (n, self.size),
                                    initializer=uniform, name="bias")

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        angles = 2 * math.pi * self.coefficients * ops.expand_dims(x, -1)  # (b, n, k)
        periodic = ops.concatenate([ops.cos(angles), ops.sin(angles)], axis=-1)
        if self.lite:
            h = ops.matmul(periodic, self.kernel)
        else:  # one map per column: (b, n, 2k) x (n, 2k, size)
            h = ops.einsum("bni,nio->bno", periodic, self.kernel)
        return self.activation(h + self.bias)

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.size)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "frequencies": self.frequencies,
                "sigma": self.sigma, "lite": self.lite,
                "activation": keras.activations.serialize(self.activation)}


#: bins narrower than this share of a column's range are merged with the one below: a
#: value in one would be told from its neighbours by float32 rounding alone (cos(pi / 2) is
#: 6e-17 and cos(3 pi / 2) -2e-16, both 0 in a column of cyclic months)
MERGED_BIN = 1e-3


def _edges(quantiles) -> np.ndarray:
    """Distinct bin edges from a column's quantiles (ascending), no bin narrower than
    :data:`MERGED_BIN` of the range; the last edge is the column's largest value."""
    edges = np.unique(quantiles)
    if edges.size < 3:
        return edges
    tol = MERGED_BIN * (edges[-1] - edges[0])
    kept = [edges[0]]
    for e in edges[1:]:
        if e - kept[-1] > tol:
            kept.append(e)
    kept[-1] = edges[-1]
    return np.array(kept) if len(kept) > 1 else edges[[0, -1]]


@keras.saving.register_keras_serializable(package=PACKAGE)
class PiecewiseLinearEncoding(keras.layers.Layer):
    """Each column as its position in ``bins`` bins whose edges are quantiles of the
    training rows (:meth:`adapt`): ``1`` for bins wholly below the value, the fraction for
    the bin it falls in, ``0`` above (below the first edge and above the last the first and
    last bins extend linearly). A column with fewer distinct values has fewer bins (and
    values closer than :data:`MERGED_BIN` of its range share one); the unused ones stay 0.
    Output ``(batch, columns, bins)``."""

    def __init__(self, bins=16, **kwargs):
        super().__init__(**kwargs)
        if int(bins) != bins or bins < 1:
            raise InputError(f"bins must be a whole number of at least 1; got {bins!r}.")
        self.bins = int(bins)

    def build(self, input_shape):
        n, t = int(input_shape[-1]), self.bins
        # bin t of column j: [left[j, t], left[j, t] + width[j, t]); used[j, t] 1 or 0
        self.left = self.add_weight(shape=(n, t), initializer="zeros", trainable=False,
                                    name="left")
        self.width = self.add_weight(shape=(n, t), initializer="ones", trainable=False,
                                     name="width")
        self.used = self.add_weight(shape=(n, t), initializer="zeros", trainable=False,
                                    name="used")
        self.first = self.add_weight(shape=(n, t), initializer="zeros", trainable=False,
                                     name="first")
        self.last = self.add_weight(shape=(n, t), initializer="zeros", trainable=False,
                                    name="last")

    def adapt(self, data):
        """The bins' edges: quantiles of the training rows ``data`` (rows x columns)."""
        x = _columns(data, "PiecewiseLinearEncoding")
        if not self.built:
            self.build((None, x.shape[1]))
        n, t = x.shape[1], self.bins
        left, width = np.zeros((n, t)), np.ones((n, t))
        used, first, last = np.zeros((n, t)), np.zeros((n, t)), np.zeros((n, t))
        for j in range(n):
            column = x[:, j][np.isfinite(x[:, j])]
            edges = _edges(np.quantile(column, np.linspace(0, 1, t + 1))) \
                if column.size else np.array([0.0])
            if edges.size < 2:  # one value: a single bin of width 1 from it
                edges = np.array([edges[0], edges[0] + 1.0])
            m = edges.size - 1
            left[j, :m], width[j, :m], used[j, :m] = edges[:-1], np.diff(edges), 1.0
            first[j, 0], last[j, m - 1] = 1.0, 1.0
        for weight, value in ((self.left, left), (self.width, width), (self.used, used),
                              (self.first, first), (self.last, last)):
            weight.assign(value.astype("float32"))
        return self

    def call(self, inputs):
        x = ops.expand_dims(ops.cast(inputs, self.compute_dtype), -1)
        r = (x - self.left) / self.width
        # the first bin is not clipped below, the last not above (linear outside the data)
        low = ops.where(self.first > 0, r, ops.maximum(r, 0.0))
        r = ops.where(self.last > 0, low, ops.minimum(low, 1.0))
        return r * self.used

    def compute_output_shape(self, input_shape):
        return (*input_shape, self.bins)

    def get_config(self):
        return {**super().get_config(), "bins": self.bins}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EfficientEnsemble(keras.layers.Layer):
    """A dense layer of ``k`` implicit members (BatchEnsemble, as TabM uses it): member
    ``i`` computes ``((x * r_i) @ W) * s_i + b_i``; ``W`` is shared, ``r_i``, ``s_i`` and
    ``b_i`` are its own. Input ``(batch, features)`` (each member gets the same rows) or
    ``(batch, k, features)``; output ``(batch, k, units)``.

    ``r`` and ``s`` start at 1, so with ``k=1`` the layer is a plain ``Dense`` of the same
    weights; ``random_signs=True`` starts the first layer's ``r`` at random +-1, which makes
    the members differ from the start (TabM's initialisation)."""

    def __init__(self, units, k=32, activation=None, random_signs=False,
                 kernel_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        for name, value in (("units", units), ("k", k)):
            if int(value) != value or value < 1:
                raise InputError(f"{name} must be a whole number of at least 1; got {value!r}.")
        self.units, self.k = int(units), int(k)
        self.activation = keras.activations.get(activation)
        self.random_signs = bool(random_signs)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)

    def build(self, input_shape):
        d = int(input_shape[-1])
        if len(input_shape) == 3 and input_shape[1] not in (None, self.k):
            raise InputError(f"EfficientEnsemble(k={self.k}) was given {input_shape[1]} "
                             "members' rows; give (batch, features) or (batch, k, features).")
        self.kernel = self.add_weight(shape=(d, self.units), name="kernel",
                                      initializer=self.kernel_initializer)
        signs = _RandomSigns() if self.random_signs else "ones"
        self.r = self.add_weight(shape=(self.k, d), initializer=signs, name="r")
        self.s = self.add_weight(shape=(self.k, self.units), initializer="ones", name="s")
        self.bias = self.add_weight(shape=(self.k, self.units), initializer="zeros",
                                    name="bias")

    def call(self, inputs):
        x = ops.cast(inputs, self.compute_dtype)
        if len(x.shape) == 2:
            x = ops.repeat(ops.expand_dims(x, 1), self.k, axis=1)
        h = ops.matmul(x * self.r, self.kernel) * self.s + self.bias
        return self.activation(h)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.k, self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "k": self.k,
                "activation": keras.activations.serialize(self.activation),
                "random_signs": self.random_signs,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer)}


@keras.saving.register_keras_serializable(package=PACKAGE)
class _RandomSigns(keras.initializers.Initializer):
    """+1 or -1 with equal chance, drawn by NumPy (from its global state, which
    ``keras.utils.set_random_seed`` seeds, or from ``seed``). Not ``keras.random``: with
    no seed it draws from Keras's global seed generator, and each model's first ``fit()``
    under JAX then took 0.6 s longer to compile (measured on wine; the cause not traced)."""

    def __init__(self, seed=None):
        self.seed = seed

    def __call__(self, shape, dtype=None):
        rng = np.random if self.seed is None else np.random.default_rng(self.seed)
        signs = np.where(rng.random(shape) < 0.5, -1.0, 1.0)
        return ops.convert_to_tensor(signs, dtype or "float32")

    def get_config(self):
        return {"seed": self.seed}


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleMean(keras.layers.Layer):
    """The members' predictions ``(batch, k, ...)`` averaged to ``(batch, ...)``: put it
    after the softmax (probabilities are averaged) or the regression output.

    ``members_in_training=True`` passes the members' predictions through unaveraged while
    the model trains, so that :class:`EnsembleLoss` trains each member on its own loss,
    while ``evaluate()``, ``predict()`` and the validation loss see the mean: one model
    that trains as TabM and predicts like any other (compile its metrics with
    :class:`EnsembleMetric`)."""

    def __init__(self, members_in_training=False, **kwargs):
        super().__init__(**kwargs)
        self.members_in_training = bool(members_in_training)

    def call(self, inputs, training=None):
        if training and self.members_in_training:
            return inputs
        return ops.mean(inputs, axis=1)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], *input_shape[2:])

    def get_config(self):
        return {**super().get_config(), "members_in_training": self.members_in_training}


def _are_members(y_pred) -> bool:
    """Whether a table head's predictions are its ``k`` members' ``(batch, k, outputs)``
    (while it trains) rather than their mean ``(batch, outputs)``: the one rule
    :class:`EnsembleLoss` and :class:`EnsembleMetric` tell them apart by."""
    return len(y_pred.shape) == 3


def _members_mean(y_pred):
    """Predictions of ``k`` members ``(batch, k, outputs)`` averaged; a prediction of one
    model ``(batch, outputs)`` as it is."""
    return ops.mean(y_pred, axis=1) if _are_members(y_pred) else y_pred


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleLoss(keras.losses.Loss):
    """Each member trained on its own loss: ``loss`` (a Keras loss, by name or object)
    applied to every member's predictions ``(batch, k, outputs)`` against the same labels,
    and averaged (TabM). Predictions of two dimensions ``(batch, outputs)``, the members'
    mean (:class:`EnsembleMean`), get ``loss`` itself: the loss of what the model predicts.
    ``EnsembleLoss("sparse_categorical_crossentropy")``."""

    def __init__(self, loss, name="ensemble_loss", reduction="sum_over_batch_size", **kwargs):
        super().__init__(name=name, reduction=reduction, **kwargs)
        try:
            self.loss = keras.losses.get(loss)
        except (ValueError, TypeError):
            self.loss = None
        if self.loss is None:
            raise InputError(f"unknown loss {loss!r}: give a Keras loss by name (\"mse\", "
                             "\"sparse_categorical_crossentropy\") or as an object.")

    def call(self, y_true, y_pred):
        if _are_members(y_pred):  # labels (batch,) or (batch, 1): one copy per member
            y_true = ops.repeat(ops.expand_dims(y_true, 1), y_pred.shape[1], axis=1)
        return self.loss(y_true, y_pred) if not isinstance(self.loss, keras.losses.Loss) \
            else self.loss.call(y_true, y_pred)

    def get_config(self):
        return {**super().get_config(), "loss": keras.losses.serialize(self.loss)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.losses.deserialize(config["loss"])
        return cls(**config)


@keras.saving.register_keras_serializable(package=PACKAGE)
class EnsembleMetric(keras.metrics.MeanMetricWrapper):
    """A Keras metric (a function of ``keras.metrics`` by name:
    ``"sparse_categorical_accuracy"``, ``"mean_absolute_error"``) of the members' mean,
    whether the model gives the members' predictions (training with :class:`EnsembleMean`
    ``(members_in_training=True)``) or their mean. ``EnsembleMetric("sparse_categorical_accuracy", name="accuracy")`` logs
    ``accuracy`` and ``val_accuracy`` as the plain metric would."""

    def __init__(self, metric, name=None, dtype=None):
        fn = getattr(keras.metrics, metric, None) if isinstance(metric, str) else None
        if not inspect.isfunction(fn):
            raise InputError(f"EnsembleMetric takes, by name, a Keras metric function that "
                             f"averages a value per sample (\"sparse_categorical_accuracy\", "
                             f"\"mean_absolute_error\"); got {metric!r}.")
        self.metric = metric

        def of_mean(y_true, y_pred):
            return fn(y_true, _members_mean(y_pred))

        super().__init__(fn=of_mean, name=name or metric, dtype=dtype)

    def get_config(self):
        return {"metric": self.metric, "name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

"""Keras layers of kerascraft, saved and loaded with the model.

:class:`ColumnEncoding` computes, inside a model, the encoding craft() gives the networks
for a table's number, yes/no and date columns (and an ordered category's rank), from the
statistics of the training rows (:mod:`kerascraft.tables`, which holds the one definition
of each encoding, written for NumPy and Keras's ops alike). craft() puts it, with Keras's
``StringLookup`` for categories, in front of each retrained network to write
``networks/net_<k>.keras``: a model that takes a table's raw columns by name.

Loading such a file needs this module imported (``import kerascraft.layers``; it imports
Keras and NumPy only) so that Keras knows the layer: ``keras.saving.load_model(path)``.
"""

from __future__ import annotations

import keras


@keras.saving.register_keras_serializable(package="kerascraft")
class ColumnEncoding(keras.layers.Layer):
    """One column's encoding for a network: ``kind`` ``"number"`` (robust scaling with
    smooth clipping, a missing value as the median, a missing-value flag column),
    ``"boolean"`` (0/1, a missing value as the training mean, a flag), ``"date"`` (days
    since 1970-01-01 in, days since the reference, year, cyclic month, weekday, day of year
    and hour out) or ``"rank"`` (a ``StringLookup`` index in, the level's rank in [0, 1]
    out, 0.5 for one not in training). ``stats``: the column's statistics, as
    :meth:`kerascraft.tables.Table.fit` learned them. Input ``(batch, 1)``, NaN for a
    missing value; computed in float32 whatever the precision policy."""

    def __init__(self, kind, stats, **kwargs):
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        self.kind = kind
        self.stats = dict(stats)

    def call(self, x):
        from keras import ops

        from kerascraft.tables import dense_columns

        columns = dense_columns(self.kind, self.stats, ops.cast(x, "float32"), ops)
        return ops.concatenate([ops.cast(c, "float32") for c in columns], axis=-1)

    def compute_output_shape(self, input_shape):
        from kerascraft.tables import dense_width

        return (input_shape[0], dense_width(self.kind, self.stats))

    def get_config(self):
        return {**super().get_config(), "kind": self.kind, "stats": self.stats}

"""Input pipelines: ``tf.data`` datasets from arrays (R arrays included), and sharded
TFRecord files for data that does not fit in memory.

Datasets made here are float32 (integer labels stay integers), prefetch by default, and
shard by data (``AutoShardPolicy.DATA``) so multi-device and multi-worker runs neither warn
nor try to shard files that are not there. They work with Keras on TensorFlow and on JAX
(tf.data is only the input side).
"""

from __future__ import annotations

import glob
import json
import os

import numpy as np

from kerascraft.data import prepare_fit_data
from kerascraft.errors import InputError


def _tensorflow(what):
    """TensorFlow, imported here (tf.data is the input side on every backend, but a JAX-only
    environment has none), or an error that says what ``what`` needs and what to do."""
    try:
        import tensorflow as tf
    except ImportError:
        raise ImportError(
            f"{what}() builds a tf.data pipeline, which needs TensorFlow on every Keras "
            "backend, JAX included; this Python has none. Install it (pip install "
            "tensorflow-cpu, or kerascraft[tensorflow]), or pass the arrays to fit() "
            "directly (kerascraft.as_float32(x) converts them once)."
        ) from None
    return tf


def _options(tf):
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return options


def _finish(tf, ds, batch_size, shuffle, buffer, cache, prefetch, seed, drop_remainder):
    if cache:
        ds = ds.cache() if cache is True else ds.cache(str(cache))
    if shuffle:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(int(batch_size), drop_remainder=drop_remainder)
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds.with_options(_options(tf))


def make_dataset(x, y=None, batch_size=32, shuffle=True, cache=False, prefetch=True,
                 seed=None, drop_remainder=False):
    """A batched ``tf.data.Dataset`` from arrays.

    Args:
        x, y: features and (optional) targets: arrays, R arrays (float64 becomes float32),
            or lists of arrays for several inputs. NaN/Inf are refused.
        batch_size: the global batch (split over replicas under a strategy).
        shuffle: reshuffle every epoch (a buffer as large as the data).
        cache: True to cache in memory after the first epoch, or a file path.
        prefetch: overlap input and training (``AUTOTUNE``).
        seed: shuffle seed.
        drop_remainder: drop the last partial batch (TPUs want equal batches).
    """
    tf = _tensorflow("make_dataset")

    x, y, _ = prepare_fit_data(x, y)
    if int(batch_size) < 1:
        raise InputError(f"batch_size must be at least 1, got {batch_size}.")
    n = len(x[0] if isinstance(x, (list, tuple)) else x)
    data = (tuple(x) if isinstance(x, list) else x) if y is None else \
        ((tuple(x) if isinstance(x, list) else x), y)
    ds = tf.data.Dataset.from_tensor_slices(data)
    return _finish(tf, ds, batch_size, shuffle, n, cache, prefetch, seed, drop_remainder)


def _feature(arr):
    tf = _tensorflow("write_tfrecords")

    return tf.train.Feature(bytes_list=tf.train.BytesList(value=[arr.tobytes()]))


def write_tfrecords(path, x, y=None, shards=4, compression="GZIP"):
    """Write arrays to ``shards`` TFRecord files ``path-00000-of-0000N.tfrecord`` (plus
    ``path.spec.json`` with the shapes and dtypes that :func:`read_tfrecords` needs).

    Rows are dealt to shards in turn, so shards have equal sizes (within one). Returns the
    file names.
    """
    tf = _tensorflow("write_tfrecords")

    x, y, _ = prepare_fit_data(x, y)
    if isinstance(x, list):
        raise InputError("write_tfrecords() takes one input array x (and y).")
    shards = int(shards)
    if shards < 1 or shards > max(1, len(x)):
        raise InputError(f"shards must be between 1 and the number of samples ({len(x)}), got {shards}.")
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    spec = {"x": {"shape": list(x.shape[1:]), "dtype": str(x.dtype)}, "n": int(len(x)),
            "shards": shards, "compression": compression or ""}
    if y is not None:
        spec["y"] = {"shape": list(y.shape[1:]), "dtype": str(y.dtype)}
    files = [f"{path}-{i:05d}-of-{shards:05d}.tfrecord" for i in range(shards)]
    options = tf.io.TFRecordOptions(compression_type=compression or "")
    for i, name in enumerate(files):
        with tf.io.TFRecordWriter(name, options) as writer:
            for j in range(i, len(x), shards):
                feats = {"x": _feature(np.ascontiguousarray(x[j]))}
                if y is not None:
                    feats["y"] = _feature(np.ascontiguousarray(y[j]))
                writer.write(tf.train.Example(features=tf.train.Features(feature=feats)).SerializeToString())
    with open(f"{path}.spec.json", "w", encoding="utf-8") as f:
        json.dump(spec, f, indent=1)
    return files


def read_tfrecords(path, batch_size=32, shuffle=True, cache=False, prefetch=True, seed=None,
                   drop_remainder=False):
    """A batched dataset of what :func:`write_tfrecords` wrote under ``path``.

    Files are read in parallel and interleaved (shuffled file order when ``shuffle``), so
    several workers or devices can share them.
    """
    tf = _tensorflow("read_tfrecords")

    spec_file = f"{path}.spec.json"
    if not os.path.exists(spec_file):
        raise FileNotFoundError(f"no {spec_file}: read_tfrecords() reads what write_tfrecords() "
                                "wrote, with its spec file beside the shards.")
    with open(spec_file, encoding="utf-8") as f:
        spec = json.load(f)
    files = sorted(glob.glob(f"{path}-*-of-{spec['shards']:05d}.tfrecord"))
    if len(files) != spec["shards"]:
        raise FileNotFoundError(f"{path}: expected {spec['shards']} shard files, found {len(files)}.")
    keys = [k for k in ("x", "y") if k in spec]
    described = {k: tf.io.FixedLenFeature([], tf.string) for k in keys}

    def parse(record):
        ex = tf.io.parse_single_example(record, described)
        out = [tf.reshape(tf.io.decode_raw(ex[k], tf.dtypes.as_dtype(spec[k]["dtype"])), spec[k]["shape"])
               for k in keys]
        return tuple(out) if len(out) > 1 else out[0]

    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed)
    ds = ds.interleave(lambda f: tf.data.TFRecordDataset(f, compression_type=spec["compression"]),
                       cycle_length=min(len(files), 8), num_parallel_calls=tf.data.AUTOTUNE,
                       deterministic=not shuffle)
    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE)
    # the record count is known: say it, so Keras knows the epoch's length
    ds = ds.apply(tf.data.experimental.assert_cardinality(spec["n"]))
    return _finish(tf, ds, batch_size, shuffle, min(spec["n"], 10_000), cache, prefetch, seed,
                   drop_remainder)

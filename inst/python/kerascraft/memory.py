"""What a search leaves in memory, and how kerascraft keeps it flat across trials: the
Keras session cleared without losing the dtype policy, garbage collections that skip what
existed before the search, and the backend's compiled functions released after each model.
"""

from __future__ import annotations

import contextlib
import gc

import keras

from kerascraft.compat import tensorflow as compat_tf


def session_settings():
    """What ``keras.backend.clear_session()`` resets and a search must keep: the global dtype
    policy and the distribution. Without them, after ``use_mixed_precision()`` every trial
    but the first would build its model in float32 (and on JAX, outside ``DataParallel``)."""
    return keras.config.dtype_policy(), keras.distribution.distribution()


def restore_session_settings(settings):
    """Set again what :func:`session_settings` read (``None``: nothing to set)."""
    if settings is None:
        return
    policy, distribution = settings
    keras.config.set_dtype_policy(policy)
    if distribution is not None:
        keras.distribution.set_distribution(distribution)


#: objects in the permanent generation before any search: the interpreter's own (CPython 3.12
#: starts with a few hundred there, 3.11 and 3.13 with none). More than these at a search's
#: start means that the program froze objects itself.
_INTERPRETER_FROZEN = gc.get_freeze_count()


@contextlib.contextmanager
def collections_skip_older_objects():
    """For the duration of a search, garbage collections walk only what the search made.

    KerasTuner clears the Keras session before each trial, and that runs ``gc.collect()``:
    a walk over every object Python tracks, TensorFlow's and Keras's own included (0.19 s
    per trial here, a fifth of a small trial's time, and more from R, whose Python is the
    slower shared libpython). The objects that exist when the search starts move to the
    permanent generation (``gc.freeze()``) until it ends, so each collection walks only
    what the trials allocated; the trials' garbage is freed as before. A program that froze
    objects itself is left alone.
    """
    if gc.get_freeze_count() > _INTERPRETER_FROZEN:
        yield
        return
    gc.collect()  # what is garbage now is not kept for the whole search
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@contextlib.contextmanager
def releasing_compiled_functions():
    """What the backend keeps of the models trained inside is dropped at the end (a trial,
    a retrained configuration), also when training failed.

    JAX keeps every jitted train step (about 6 MB per tiny trial here): its caches are
    cleared. TensorFlow registers a ``CustomGradient-<n>`` function in its global gradient
    registry each time a train step is traced (the all-reduce of the gradients uses
    ``tf.custom_gradient``), and never removes it; the entry holds the whole traced graph,
    about 1 MB per trace of a small model here (tensorflow/tensorflow#97697). The entries
    added inside are removed: those graphs are complete, their gradients computed when
    they were traced (the models go on training), and a later trace registers its own.
    """
    before = compat_tf.custom_gradient_names()
    try:
        yield
    finally:
        free_compiled_functions(before)


def free_compiled_functions(custom_gradients_before=None):
    """See :func:`releasing_compiled_functions`."""
    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()
    after = compat_tf.custom_gradient_names()
    if after is not None and custom_gradients_before is not None:
        compat_tf.remove_gradients(after - custom_gradients_before)

"""The demo: :func:`kerascraft.craft` on scikit-learn's bundled digits, with its report."""

from __future__ import annotations

import logging
import os

from kerascraft import log as kc_log


def build_digits_mlp(hp):
    """The seed listing's two-layer dense net, for 64-pixel digits (used by the tests)."""
    import keras

    units = hp.Int("units", min_value=16, max_value=64, step=16)
    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(units, activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(
        optimizer=hp.Choice("optimizer", ["rmsprop", "adam"]),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def craft_demo(directory="kerascraft_demo", max_trials=10, epochs=50, top=3, seed=0,
               overwrite=True, verbose=1, progress=None, **craft_args):
    """:func:`kerascraft.craft` on the 1,797 digits (8x8 images as 64 pixels, 10 classes),
    then the report, written to ``<directory>/report.html``. ``progress`` receives the
    progress lines and the report's path (default ``print``).

    Returns:
        The :class:`~kerascraft.workflow.CraftResult`; ``.report_path`` is the report.
    """
    from kerascraft.datasets import load_dataset
    from kerascraft.workflow import craft

    digits = load_dataset("digits", split=False)
    result = craft(digits["x"], digits["y"], directory=directory, max_trials=max_trials,
                   epochs=epochs, top=top, seed=seed, overwrite=overwrite, verbose=verbose,
                   progress=progress, **craft_args)
    result.report_path = result.report(os.path.join(directory, "report.html"))
    with kc_log.progress(verbose, to=progress):
        logging.getLogger(__name__).info(f"report: {result.report_path}")
    return result

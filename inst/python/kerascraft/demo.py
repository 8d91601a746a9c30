"""The first end-to-end run: tune a small dense net on digits and score it on the test split."""

from __future__ import annotations


def build_digits_mlp(hp):
    """The seed listing's two-layer dense net, for 64-pixel digits."""
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


def craft_demo(kind="bayesian", max_trials=None, epochs=20, directory="kerascraft_demo",
               seed=1, verbose=1):
    """Tune on digits, print the best hyperparameters and the test accuracy.

    Returns:
        dict with ``results`` (DataFrame), ``best_hyperparameters`` (dict) and
        ``test_accuracy`` (float).
    """
    import keras

    from kerascraft import datasets, tuning

    if max_trials is None and kind != "hyperband":
        max_trials = 6
    d = datasets.load_digits(seed=seed)
    t = tuning.tuner(kind, build_digits_mlp, objective="val_accuracy",
                     max_trials=max_trials, directory=directory, overwrite=True, seed=seed)
    t.search(d["x_train"], d["y_train"], validation_data=(d["x_val"], d["y_val"]),
             epochs=epochs, batch_size=64,
             callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=5)],
             verbose=verbose)
    best_hp = tuning.best_hyperparameters(t, 1)[0].values
    model = tuning.best_models(t, 1)[0]
    _, test_accuracy = model.evaluate(d["x_test"], d["y_test"], verbose=0)
    if verbose:
        print(f"best hyperparameters: {best_hp}")
        print(f"test accuracy of the best model: {test_accuracy:.4f}")
    return {"results": tuning.results(t), "best_hyperparameters": best_hp,
            "test_accuracy": float(test_accuracy)}

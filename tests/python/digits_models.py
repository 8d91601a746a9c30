"""Model-building functions shared by the Python tests."""


def build_mlp(hp):
    """The seed listing's dense net, for 64-pixel digits."""
    import keras

    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=hp.Choice("optimizer", ["rmsprop", "adam"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model

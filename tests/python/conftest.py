import pytest


@pytest.fixture(scope="session")
def digits():
    from kerascraft.datasets import load_digits

    return load_digits(seed=0)


def build_mlp(hp):
    import keras

    model = keras.Sequential([
        keras.Input(shape=(64,)),
        keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=hp.Choice("optimizer", ["rmsprop", "adam"]),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


@pytest.fixture
def build():
    return build_mlp

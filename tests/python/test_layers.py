"""kerascraft.layers: the tabular-network layers compute what their papers define, train,
and round-trip through model.save() / keras.saving.load_model() (run on each backend)."""

import keras
import kerascraft as kc
import numpy as np
import pytest
from kerascraft.errors import InputError
from kerascraft.layers import (
    EfficientEnsemble,
    EnsembleLoss,
    EnsembleMean,
    EnsembleMetric,
    PeriodicEmbedding,
    PiecewiseLinearEncoding,
    RobustScaling,
)
from sklearn.datasets import load_breast_cancer
from sklearn.metrics import log_loss


@pytest.fixture(scope="module")
def housing():
    """The 442 rows of scikit-learn's bundled diabetes table (10 columns, a number to
    predict), two columns given heavy tails."""
    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    x = x.astype("float32")
    x[:, 0] = np.exp(8 * x[:, 0])  # skewed
    x[:5, 1] = 50.0                # outliers
    return x, ((y - y.mean()) / y.std()).astype("float32")


def test_robust_scaling_is_the_smoothly_clipped_robust_z(housing):
    x, _ = housing
    layer = RobustScaling().adapt(x)
    q25, med, q75 = np.quantile(x, [0.25, 0.5, 0.75], axis=0)
    z = (x - med) / (q75 - q25)
    want = z / np.sqrt(1 + (z / 3) ** 2)
    got = keras.ops.convert_to_numpy(layer(x))
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
    assert np.abs(got).max() < 3  # the outliers squashed
    # a constant column and one with no spread between its quartiles
    odd = np.c_[np.ones(20), np.r_[np.zeros(18), 4.0, 8.0]].astype("float32")
    got = keras.ops.convert_to_numpy(RobustScaling(clip=None).adapt(odd)(odd))
    np.testing.assert_allclose(got[:, 0], 0.0)
    np.testing.assert_allclose(got[-2:, 1], [1.0, 2.0])  # divided by half the range (4)
    with pytest.raises(InputError, match="clip must be"):
        RobustScaling(clip=-1)
    with pytest.raises(InputError, match="matrix of training rows"):
        RobustScaling().adapt(np.zeros(3))


def test_piecewise_linear_encoding_counts_bins_below_and_the_fraction_of_its_own():
    x = np.arange(0, 101, dtype="float32")[:, None]  # edges 0, 25, 50, 75, 100
    layer = PiecewiseLinearEncoding(bins=4).adapt(x)
    got = keras.ops.convert_to_numpy(layer(np.array([[-10.0], [0.0], [30.0], [100.0], [120.0]])))
    np.testing.assert_allclose(got[:, 0], [[-0.4, 0, 0, 0], [0, 0, 0, 0], [1, 0.2, 0, 0],
                                           [1, 1, 1, 1], [1, 1, 1, 1.8]], atol=1e-6)
    # a column of 3 values gets 2 bins, the others stay 0
    few = np.c_[np.arange(100), np.repeat([0.0, 1.0, 2.0], [40, 30, 30])].astype("float32")
    enc = keras.ops.convert_to_numpy(PiecewiseLinearEncoding(bins=8).adapt(few)(few))
    assert enc.shape == (100, 2, 8)
    assert (enc[:, 1, 2:] == 0).all() and enc[:, 1, :2].max() == 1
    # cyclic months: cos(pi / 2) and cos(3 pi / 2) differ by 2e-16, not a bin of their own
    # (a value there would jump a whole bin on float32 rounding)
    months = np.cos(2 * np.pi * np.repeat(np.arange(12), 10) / 12)[:, None]
    layer = PiecewiseLinearEncoding(bins=16).adapt(months)
    widths = keras.ops.convert_to_numpy(layer.width)[0][keras.ops.convert_to_numpy(layer.used)[0] > 0]
    assert widths.min() > 1e-3
    near = np.array([[6.123234e-17], [6.123234e-17 + 1e-7], [-1.8369701e-16]], "float32")
    enc = keras.ops.convert_to_numpy(layer(near))
    assert np.abs(enc - enc[0]).max() < 1e-5


def test_periodic_embedding_shapes_and_lite_sharing(housing):
    x, _ = housing
    full, lite = PeriodicEmbedding(size=8, frequencies=6), PeriodicEmbedding(size=8, frequencies=6,
                                                                            lite=True)
    assert tuple(full(x[:4]).shape) == (4, 10, 8) and tuple(lite(x[:4]).shape) == (4, 10, 8)
    assert full.count_params() == 10 * 6 + 10 * 12 * 8 + 10 * 8
    assert lite.count_params() == 10 * 6 + 12 * 8 + 8
    with pytest.raises(InputError, match="size must be"):
        PeriodicEmbedding(size=0)


def test_an_efficient_ensemble_of_one_is_a_plain_dense_layer():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(16, 5)).astype("float32")
    dense = keras.layers.Dense(7, activation="relu")
    ens = EfficientEnsemble(7, k=1, activation="relu")
    want = keras.ops.convert_to_numpy(dense(x))
    ens.build((None, 5))
    ens.kernel.assign(dense.kernel)
    ens.bias.assign(keras.ops.reshape(dense.bias, (1, 7)))
    got = keras.ops.convert_to_numpy(ens(x))
    assert got.shape == (16, 1, 7)
    np.testing.assert_allclose(got[:, 0], want, rtol=1e-6, atol=1e-6)
    # k members: the kernel once, r, s and bias each
    ens32 = EfficientEnsemble(7, k=32)
    ens32.build((None, 5))
    assert ens32.count_params() == 5 * 7 + 32 * 5 + 2 * 32 * 7
    signs = EfficientEnsemble(7, k=8, random_signs=True)
    signs.build((None, 5))
    r = keras.ops.convert_to_numpy(signs.r)
    assert set(np.unique(r)) == {-1.0, 1.0}
    # drawn from the seed keras.utils.set_random_seed sets: the same signs again
    def seeded():
        keras.utils.set_random_seed(5)
        layer = EfficientEnsemble(7, k=8, random_signs=True)
        layer.build((None, 5))
        return keras.ops.convert_to_numpy(layer.r)

    np.testing.assert_array_equal(seeded(), seeded())


def _tabm(x, classes=None, k=4):
    """A small TabM-style network on the layers: robust scaling, periodic embeddings,
    two efficient-ensemble layers, one head per member; trained member by member, the
    members averaged when it predicts or is evaluated."""
    inputs = keras.Input((x.shape[1],))
    h = RobustScaling().adapt(x)(inputs)
    h = keras.layers.Flatten()(PeriodicEmbedding(size=4, frequencies=8, lite=True)(h))
    h = EfficientEnsemble(32, k=k, activation="relu", random_signs=True)(h)
    h = EfficientEnsemble(32, k=k, activation="relu")(h)
    if classes:
        out = keras.layers.Dense(classes, activation="softmax")(h)  # per member: (b, k, c)
        loss = EnsembleLoss("sparse_categorical_crossentropy")
        metric = EnsembleMetric("sparse_categorical_accuracy", name="accuracy")
    else:
        out = keras.layers.Dense(1)(h)
        loss = EnsembleLoss("mse")
        metric = EnsembleMetric("mean_absolute_error", name="mae")
    model = keras.Model(inputs, EnsembleMean(members_in_training=True)(out))
    model.compile(keras.optimizers.AdamW(3e-3), loss=loss, metrics=[metric])
    return model


def test_a_tabm_network_on_the_layers_learns_and_round_trips(housing, tmp_path):
    keras.utils.set_random_seed(1)
    x, y = housing
    model = _tabm(x)
    before = float(np.mean((keras.ops.convert_to_numpy(model(x))[:, 0] - y) ** 2))
    history = model.fit(x, y, epochs=30, batch_size=64, verbose=0)
    pred = model.predict(x, verbose=0)
    assert pred.shape == (len(x), 1)  # the members' mean
    after = float(np.mean((pred[:, 0] - y) ** 2))
    assert after < 0.6 * before and after < 0.7  # it learned (the target's variance is 1)
    # it trained on the members' own losses, and is evaluated on its mean prediction
    scores = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(after, rel=1e-4)
    assert scores["mae"] == pytest.approx(np.mean(np.abs(pred[:, 0] - y)), rel=1e-4)
    assert "mae" in history.history
    path = str(tmp_path / "tabm.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(x, verbose=0), pred, rtol=1e-5, atol=1e-5)
    # its loss and metric come back too: it trains on where it was
    assert isinstance(loaded.loss, EnsembleLoss)
    loaded.fit(x, y, epochs=1, batch_size=64, verbose=0)
    assert loaded.evaluate(x, y, verbose=0, return_dict=True).keys() == {"loss", "mae"}


def test_a_tabm_classifier_is_scored_on_its_mean_probabilities():
    keras.utils.set_random_seed(2)
    x, y = load_breast_cancer(return_X_y=True)
    x = x.astype("float32")
    model = _tabm(x, classes=2)
    model.fit(x, y, epochs=5, batch_size=64, verbose=0)
    p = model.predict(x, verbose=0)
    assert p.shape == (len(x), 2) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    scores = model.evaluate(x, y, batch_size=len(x), verbose=0, return_dict=True)
    assert scores["loss"] == pytest.approx(log_loss(y, p), rel=1e-3)
    assert scores["accuracy"] == pytest.approx(np.mean(p.argmax(axis=1) == y), abs=1e-6)
    assert scores["accuracy"] > 0.85


def test_the_ensemble_loss_is_the_mean_of_the_members_losses():
    y = np.array([0, 2, 1])
    p = np.random.default_rng(0).dirichlet(np.ones(3), size=(3, 4)).astype("float32")  # (b, k, c)
    got = float(EnsembleLoss("sparse_categorical_crossentropy")(y, p))
    want = np.mean([-np.log(p[b, m, y[b]]) for b in range(3) for m in range(4)])
    assert got == pytest.approx(want, rel=1e-5)
    reg = float(EnsembleLoss("mse")(np.array([[1.0], [2.0]]), np.ones((2, 3, 1), "float32")))
    assert reg == pytest.approx(0.5)
    # the members' mean (2 dimensions) gets the loss itself
    assert float(EnsembleLoss("mse")(np.array([[1.0], [3.0]]), np.ones((2, 1), "float32"))) \
        == pytest.approx(2.0)
    with pytest.raises(InputError, match="unknown loss 'no such loss'"):
        EnsembleLoss("no such loss")
    with pytest.raises(InputError, match="averages a value per sample"):
        EnsembleMetric("auc")


def test_the_layers_are_kerascraft_layers():
    assert kc.layers.RobustScaling is RobustScaling

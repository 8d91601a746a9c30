import keras
import keras_tuner as kt
import numpy as np
import pytest

import kerascraft as kc
from kerascraft.demo import build_digits_mlp as build_mlp


def _hp(units=32, optimizer="adam"):
    hp = kt.HyperParameters()
    hp.Fixed("units", units)
    hp.Fixed("optimizer", optimizer)
    return hp


def test_best_epoch_is_the_epoch_of_the_lowest_validation_loss(digits):
    found = kc.best_epoch(build_mlp, _hp(), digits["x_train"], digits["y_train"],
                          validation_data=(digits["x_val"], digits["y_val"]),
                          patience=2, max_epochs=40, batch_size=64)
    val_loss = found.history["val_loss"]
    assert found.best_epoch == int(np.argmin(val_loss)) + 1
    assert found.monitor == "val_loss"
    # early stopping ended training `patience` epochs after the best (or at max_epochs)
    assert len(val_loss) == 40 or len(val_loss) - found.best_epoch == 2
    # the model is the one trained: its validation loss is the last epoch's
    assert found.model.evaluate(digits["x_val"], digits["y_val"], verbose=0)[0] == \
        pytest.approx(val_loss[-1], rel=1e-3)


def test_best_epoch_with_an_accuracy_monitor_takes_the_maximum(digits):
    found = kc.best_epoch(build_mlp, _hp(), digits["x_train"], digits["y_train"],
                          validation_data=(digits["x_val"], digits["y_val"]), patience=1,
                          max_epochs=8, monitor="val_accuracy")
    assert found.best_epoch == int(np.argmax(found.history["val_accuracy"])) + 1


def test_best_epoch_errors(digits):
    with pytest.raises(ValueError, match="needs validation_data"):
        kc.best_epoch(build_mlp, _hp(), digits["x_train"], digits["y_train"], None)
    with pytest.raises(ValueError, match="monitor 'val_auc' is not among the metrics"):
        kc.best_epoch(build_mlp, _hp(), digits["x_train"], digits["y_train"],
                      (digits["x_val"], digits["y_val"]), max_epochs=1, monitor="val_auc")


class FitRecorder(kt.HyperModel):
    calls = []

    def build(self, hp):
        return build_mlp(hp)

    def fit(self, hp, model, x, y, **kwargs):
        FitRecorder.calls.append({"n": len(x), "epochs": kwargs["epochs"],
                                  "validation": kwargs.get("validation_data") is not None})
        return model.fit(x, y, **kwargs)


def test_retrain_best_trains_on_train_plus_validation_for_1_2x_the_best_epoch(digits, tmp_path):
    t = kc.tuner("random", FitRecorder(), objective="val_accuracy", max_trials=3,
                 directory=tmp_path, seed=4)
    t.search(digits["x_train"], digits["y_train"],
             validation_data=(digits["x_val"], digits["y_val"]), epochs=2, verbose=0)
    FitRecorder.calls.clear()
    models = kc.retrain_best(t, digits["x_train"], digits["y_train"],
                             (digits["x_val"], digits["y_val"]), n=2, patience=2,
                             max_epochs=12, verbose=0)
    assert len(models) == 2 and len(models.summary) == 2
    n_train, n_all = len(digits["x_train"]), len(digits["x_train"]) + len(digits["x_val"])
    # per model: the early-stopping run on train (with validation), then the retraining
    assert [(c["n"], c["validation"]) for c in FitRecorder.calls] == [
        (n_train, True), (n_all, False), (n_train, True), (n_all, False)]
    for row, retrain_call in zip(models.summary, FitRecorder.calls[1::2]):
        assert row["epochs"] == round(row["best_epoch"] * 1.2) == retrain_call["epochs"]
    best = kc.best_hyperparameters(t, 2)
    assert [m["units"] for m in models.summary] == [hp.values["units"] for hp in best]
    accuracy = models[0].evaluate(digits["x_test"], digits["y_test"], verbose=0)[1]
    assert accuracy > 0.85


def test_validation_vs_test_table(digits, build, tmp_path):
    t = kc.tuner("random", build, objective="val_accuracy", max_trials=3, directory=tmp_path, seed=6)
    t.search(digits["x_train"], digits["y_train"],
             validation_data=(digits["x_val"], digits["y_val"]), epochs=3, verbose=0)
    retrained = kc.retrain_best(t, digits["x_train"], digits["y_train"],
                                (digits["x_val"], digits["y_val"]), n=2, patience=1,
                                max_epochs=5, verbose=0)
    table = kc.validation_vs_test(t, digits["x_test"], digits["y_test"], n=2, retrained=retrained)
    rows = table.to_dict("records")
    assert [r["rank"] for r in rows] == [1, 2]
    res = kc.results(t).set_index("trial_id")
    searched = kc.best_models(t, 2)
    for r, before, after in zip(rows, searched, retrained):
        assert r["metric"] == "accuracy"
        assert r["validation"] == pytest.approx(res.loc[r["trial_id"], "score"])
        # the test scores are those of the search's model and the retrained one
        assert r["test"] == pytest.approx(
            before.evaluate(digits["x_test"], digits["y_test"], verbose=0)[1], abs=1e-6)
        assert r["test_retrained"] == pytest.approx(
            after.evaluate(digits["x_test"], digits["y_test"], verbose=0)[1], abs=1e-6)
        assert r["test"] > 0.5  # chance on digits is 0.1
        assert r["gap"] == pytest.approx(r["validation"] - r["test"])  # its sign

"""KerasTuner's contract, kept by kerascraft's tuners: what KerasTuner's own tests ask of a
tuner and its oracle, run against kerascraft's kinds with KerasTuner's RandomSearch beside
them as the reference (every case passes on it too).

KerasTuner's test files are not published with its releases and cannot be copied here;
these cases restate the ones that kerascraft's hooks and Optuna oracles once broke (run
against KerasTuner's tuner_test.py, oracle_test.py, base_tuner_test.py and
randomsearch_test.py with kerascraft's oracle in place of RandomSearch's), in our words.
"""

import keras
import keras_tuner as kt
import numpy as np
import pytest

from kerascraft.tuning import TUNER_KINDS

#: KerasTuner's own, then kerascraft's
KINDS = ["reference", "random", "tpe", "auto"]


def _tuner_class(kind):
    return kt.RandomSearch if kind == "reference" else TUNER_KINDS[kind]


def _model(hp):
    model = keras.Sequential([keras.Input((4,)),
                              keras.layers.Dense(hp.Int("units", 2, 8, step=2)),
                              keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse")
    return model


@pytest.mark.parametrize("kind", KINDS)
def test_a_run_trial_of_its_own_gets_only_the_arguments_search_was_given(kind, tmp_path):
    seen = []

    class Own(_tuner_class(kind)):
        def run_trial(self, trial, *args, **kwargs):
            seen.append(args)
            return trial.hyperparameters.Float("a", 0.0, 1.0)

    tuner = Own(max_trials=2, directory=tmp_path)
    tuner.search(verbose=0)
    assert seen == [(), ()]  # kerascraft passed (None, None) on: x and y it was not given
    data = np.ones((4, 4))
    tuner = Own(max_trials=1, directory=tmp_path, project_name="one")
    tuner.search(data, verbose=0)
    assert len(seen[-1]) == 1 and np.array_equal(seen[-1][0], data)  # x alone (float32)


@pytest.mark.parametrize("kind", KINDS)
def test_run_trial_returning_what_is_not_a_metric_is_a_type_error(kind, tmp_path):
    class Words(_tuner_class(kind)):
        def run_trial(self, trial, *args, **kwargs):
            trial.hyperparameters.Boolean("flag")
            return "a string"

    with pytest.raises(TypeError):
        Words(max_trials=2, directory=tmp_path).search(verbose=0)


@pytest.mark.parametrize("kind", KINDS)
def test_a_build_function_that_returns_no_model_is_a_fatal_type_error(kind, tmp_path):
    tuner = _tuner_class(kind)(hypermodel=lambda hp: None, objective="val_loss",
                               max_trials=3, directory=tmp_path)
    with pytest.raises(kt.errors.FatalTypeError, match="Expected the model-building function"):
        tuner.search(np.ones((8, 4)), np.ones(8), validation_split=0.5, epochs=1, verbose=0)
    assert len(tuner.oracle.trials) == 1


@pytest.mark.parametrize("kind", KINDS)
def test_no_hypermodel_and_no_run_trial_of_its_own_is_refused(kind, tmp_path):
    with pytest.raises(ValueError, match="Received `hypermodel=None`"):
        _tuner_class(kind)(max_trials=2, directory=tmp_path)

    class Own(_tuner_class(kind)):
        def run_trial(self, trial, *args, **kwargs):
            return trial.hyperparameters.Float("a", 0.0, 1.0)

    Own(max_trials=2, directory=tmp_path)  # the search space comes from run_trial


@pytest.mark.parametrize("kind", KINDS)
def test_a_search_on_a_dataset_trains_every_trial(kind, tmp_path):
    tf = pytest.importorskip("tensorflow")
    x = np.random.default_rng(0).normal(size=(32, 4)).astype("float32")
    data = tf.data.Dataset.from_tensor_slices((x, x.sum(1))).batch(8)
    tuner = _tuner_class(kind)(hypermodel=_model, objective="loss", max_trials=2,
                               directory=tmp_path)
    tuner.search(data, epochs=1, verbose=0)
    assert [t.status for t in tuner.oracle.trials.values()] == ["COMPLETED"] * 2

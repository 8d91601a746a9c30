"""craft()'s parts without training: its options, its store and its split stage."""

import contextlib
import json

import numpy as np
import pytest

from conftest import said
from kerascraft import log as kc_log
from kerascraft.workflow import inputs
from kerascraft.workflow.config import CraftConfig, chosen_ensemble_method
from kerascraft.workflow.stages import Run, SearchStage, SplitStage
from kerascraft.workflow.store import Store


@pytest.mark.parametrize("options, message", [
    ({"max_trial": 3}, "unknown option 'max_trial'. Did you mean 'max_trials'?"),
    ({"top": 0}, "top must be a whole number >= 1, got 0"),
    ({"epochs": 2.5}, "epochs must be a whole number >= 1, got 2.5"),
    ({"kind": "tpee"}, "unknown tuner kind 'tpee'; use one of: auto, "),
    ({"ensemble_method": "vote"}, "method 'vote' is not known"),
    ({"precision": "float8"}, "unknown precision policy 'float8'"),
    ({"task": "ranking"}, "task must be 'auto', 'classification' or 'regression'"),
    ({"steps_per_execution": 0}, "steps_per_execution must be 'auto' or a whole number"),
])
def test_bad_options_are_named_before_any_data_is_read(options, message):
    with pytest.raises((TypeError, ValueError), match=message.replace("(", r"\(")):
        CraftConfig.from_options(options)


def test_whole_numbers_from_r_become_ints():
    config = CraftConfig.from_options({"epochs": 30.0, "top": np.int64(2), "verbose": True})
    assert (config.epochs, config.top, config.verbose) == (30, 2, 1)
    assert all(type(v) is int for v in (config.epochs, config.top, config.verbose))


def test_store_records_stages_and_refuses_other_data(tmp_path):
    store = Store.open(str(tmp_path / "run"), "abc")
    assert json.loads((tmp_path / "run" / "craft.json").read_text())["fingerprint"] == "abc"
    store.finish("search", {"epochs": np.int64(3), "shape": (2, 3)}, 1.5, False, trials=4)
    again = Store(str(tmp_path / "run"), "abc")
    record = again.record("search")
    assert record["settings"] == {"epochs": 3, "shape": [2, 3]} and record["trials"] == 4
    assert again.record("retrain") is None
    with pytest.raises(ValueError, match="holds a craft\\(\\) run on other data"):
        Store(str(tmp_path / "run"), "other")
    (tmp_path / "run" / "split.npz").write_bytes(b"old work")
    fresh = Store.open(str(tmp_path / "run"), "other", overwrite=True)  # emptied first
    assert fresh.record("search") is None and not (tmp_path / "run" / "split.npz").exists()
    assert json.loads((tmp_path / "run" / "craft.json").read_text())["fingerprint"] == "other"
    assert not list((tmp_path / "run").glob("*.tmp"))


def test_a_directory_of_the_first_format_keeps_its_split_and_setup(tmp_path):
    (tmp_path / "craft.json").write_text(json.dumps(
        {"version": 1, "fingerprint": "abc", "task": "classification",
         "setup": {"precision": "float32", "steps_per_execution": 4}}))
    np.savez(tmp_path / "split.npz", train=np.arange(3), validation=np.arange(1),
             test=np.arange(1))
    store = Store(str(tmp_path), "abc")
    assert store.record("split") is not None
    assert store.record("setup")["setup"]["steps_per_execution"] == 4
    assert store.record("search") is None


def _run(tmp_path, **options):
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(100, 3)), np.repeat([0, 1], 50)
    config = CraftConfig.from_options({"directory": str(tmp_path), **options})
    data = inputs.validate(x, y, None, None, "auto", None, 0.2, 0.2)
    store = Store.open(str(tmp_path), data.fingerprint(0.2, 0.2, 0))
    return Run(config, data, store, contextlib.ExitStack())


def test_the_split_is_stratified_saved_and_found_again(tmp_path):
    run, lines = _run(tmp_path), []
    with kc_log.progress(1, to=said(lines)):
        assert SplitStage().execute(run, None) is False
    first = run.splits
    assert first.sizes == {"train": 60, "validation": 20, "test": 20}
    assert np.bincount(first.y_test).tolist() == [10, 10]
    assert lines == ["task: classification (2 distinct whole numbers; task='regression' "
                     "reads them as numbers)",
                     "split: 60 train, 20 validation, 20 test samples (classification, "
                     "2 classes)"]
    again = _run(tmp_path)
    assert SplitStage().execute(again, None) is True
    assert np.array_equal(again.splits.x_test, first.x_test)


def test_a_search_made_with_other_settings_is_refused_naming_them(tmp_path):
    run = _run(tmp_path, epochs=10, patience=3)
    stage = SearchStage()
    record = {"settings": stage.settings(run)}
    stage.check(run, record)  # the same settings: fine
    changed = _run(tmp_path, epochs=20, patience=3, max_trials=50)  # more trials: fine
    with pytest.raises(ValueError, match=r"other settings \(epochs 10 then, 20 now\)"):
        stage.check(changed, record)


def _net(hp):
    return hp.Int("units", 8, 64)


def _other_net(hp):
    return hp.Int("units", 8, 128)


def test_a_search_of_another_model_is_refused_finished_or_stopped(tmp_path):
    import keras_tuner as kt

    stage = SearchStage()
    first = _run(tmp_path, hypermodel=_net)
    stage.check(_run(tmp_path, hypermodel=_net), {"settings": stage.settings(first)})
    # a search that began with _net and was stopped before it finished
    first.store.begin("search", stage.settings(first))
    for other in (_other_net, None):  # another function; craft()'s own default space
        with pytest.raises(ValueError, match="holds a search of another model"):
            stage.check(_run(tmp_path, hypermodel=other), None)
    # a HyperModel with other settings is another model
    premade = kt.applications.HyperXception(input_shape=(32, 32, 3), classes=10)
    stage.check(_run(tmp_path, hypermodel=premade),
                {"settings": stage.settings(_run(tmp_path, hypermodel=premade))})
    fewer = kt.applications.HyperXception(input_shape=(32, 32, 3), classes=5)
    with pytest.raises(ValueError, match="another model.*overwrite=True"):
        stage.check(_run(tmp_path, hypermodel=fewer),
                    {"settings": stage.settings(_run(tmp_path, hypermodel=premade))})


def test_a_model_that_cannot_be_identified_is_said_to_be_unchecked(tmp_path):
    stage = SearchStage()
    namespace = {}
    exec("def typed_at_a_prompt(hp):\n    return None", namespace)  # no source file
    run = _run(tmp_path, hypermodel=namespace["typed_at_a_prompt"])
    assert stage.settings(run)["hypermodel"] is None
    lines = []
    with kc_log.progress(1, to=said(lines)):
        stage.check(run, {"settings": stage.settings(_run(tmp_path, hypermodel=_net))})
        old = {k: v for k, v in stage.settings(run).items() if k != "hypermodel"}
        stage.check(_run(tmp_path, hypermodel=_net), {"settings": old})  # an older directory
    assert "not checked that the saved trials are of this model" in lines[0]
    assert "earlier kerascraft, which did not record the model" in lines[1]


def test_craft_chooses_the_stack_for_classes_and_greedy_for_regression():
    auto = CraftConfig()
    assert chosen_ensemble_method(auto, "classification") == ("stack", "auto: classification")
    assert chosen_ensemble_method(auto, "regression")[0] == "greedy"
    given = CraftConfig(ensemble_method="nelder_mead")
    assert chosen_ensemble_method(given, "classification") == ("nelder_mead", "given")
    with pytest.raises(ValueError, match="method 'stak' is not known"):
        CraftConfig(ensemble_method="stak")


def test_pickles_are_compressed_and_plain_ones_of_earlier_releases_still_read(tmp_path):
    import pickle

    from kerascraft.workflow.store import Store

    store = Store.open(str(tmp_path), "data")
    value = {"trees": np.zeros(100_000)}  # 800 kB of zeros
    store.write_pickle("new.pkl", value)
    assert (tmp_path / "new.pkl").stat().st_size < 80_000
    with open(tmp_path / "old.pkl", "wb") as f:
        pickle.dump(value, f)
    for name in ("new.pkl", "old.pkl"):
        assert np.array_equal(store.read_pickle(name)["trees"], value["trees"])

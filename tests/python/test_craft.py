"""craft(): the whole workflow, resumed stage by stage, with its checks before training."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import kerascraft as kc

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
from conftest import WINE_ARGS, said


def test_craft_runs_every_stage_and_scores_them_on_test(wine_run, wine):
    result, lines, directory = wine_run
    assert result.task == "classification" and result.classes == [0, 1, 2]
    assert result.sizes == {"train": 106, "validation": 36, "test": 36}
    assert list(result.trials["status"]) == ["COMPLETED"] * 3
    assert list(result.retrained["model"]) == ["net_1", "net_2"]
    # the retrained nets are the search's two best configurations
    best = sorted(result.trials["score"], reverse=True)[:2]
    assert list(result.retrained["search_score"]) == pytest.approx(best)
    assert (result.retrained["epochs"] == (result.retrained["best_epoch"] * 1.2).round()
            .clip(lower=1)).all()
    w = result.ensemble.weights
    assert {"net_1", "net_2", "gbt"} <= set(w) and sum(w.values()) == pytest.approx(1)
    scores = result.test_scores
    assert list(scores["kind"][:2]) == ["ensemble", "mean"]
    assert set(scores["model"][2:]) == set(w) == set(result.gaps["model"])
    assert scores["accuracy"].iloc[0] >= 0.85
    assert {"validation_accuracy", "test_accuracy", "gap_accuracy",
            "test_accuracy_retrained"} <= set(result.gaps.columns)
    # the scores are those of the saved predictions on the saved split, computed here again
    from sklearn.metrics import accuracy_score, log_loss

    split, saved = np.load(directory / "split.npz"), np.load(directory / "predictions.npz")
    y_val, y_test = wine["y"][split["validation"]], wine["y"][split["test"]]
    gaps = result.gaps.set_index("model")
    for name in ("net_1", "gbt"):
        assert gaps.loc[name, "validation_accuracy"] == pytest.approx(
            accuracy_score(y_val, saved[f"val_{name}"].argmax(1)))
        assert gaps.loc[name, "test_accuracy_retrained"] == pytest.approx(
            accuracy_score(y_test, saved[f"test_{name}"].argmax(1)))
    gap = result.gaps.iloc[0]
    assert gap["gap_accuracy"] == pytest.approx(gap["validation_accuracy"] - gap["test_accuracy"])
    # the choices, with their reasons
    assert result.setup["precision"] in ("float32", "mixed_bfloat16", "mixed_float16")
    assert result.setup["precision_reason"] and result.setup["strategy_reason"]
    assert result.setup["steps_per_execution"] in (1, 4, 16)
    # progress: a line per trial with the best so far, per retrained model, the ensemble
    assert sum(line.startswith("trial ") and ", best " in line for line in lines) == 3
    assert any(line.startswith("retrained model 2/2") for line in lines)
    assert any(line.startswith("ensemble: fitting") for line in lines)
    assert "test accuracy: ensemble" in lines[-1]
    # the summary shows the ensemble next to the best single model chosen on validation
    h = result.headline()
    assert h["best_single_model"] == result.ensemble.scores["best_single_model"]
    assert f"{h['ensemble']:.4f}" in result.summary()
    # ... with the samples behind the accuracy, the log loss, and the lead's interval
    c = result.lead
    assert c["n"] == result.sizes["test"] and c["ensemble"] == pytest.approx(h["ensemble"])
    tests = {n[5:]: saved[n] for n in saved.files if n.startswith("test_")}
    assert c["ensemble_loss"] == pytest.approx(
        log_loss(y_test, result.ensemble.predict(tests), labels=[0, 1, 2]), rel=1e-4)
    assert c["single_loss"] == pytest.approx(
        log_loss(y_test, tests[h["best_single_model"]], labels=[0, 1, 2]), rel=1e-4)
    assert c["lead"] == pytest.approx(c["single_loss"] - c["ensemble_loss"])
    assert c["lead_low"] < c["lead_high"]
    assert f"{c['ensemble_right']} and {c['single_right']} of {c['n']} right" in result.summary()
    assert "test log loss: ensemble" in result.summary()
    assert f"over {c['n']} test samples" in result.summary()
    # predictions on new data come from the final (train+validation) models
    p = result.predict(wine["x"][:5])
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1, atol=1e-5)
    for name in ("craft.json", "split.npz", "gradient_boosting.pkl", "cheap_models.pkl",
                 "ensemble.json", "predictions.npz"):
        assert (directory / name).exists(), name
    assert len(list((directory / "retrained").glob("trial_*.keras"))) == 2
    # time against weight, by family: every member in one, the weights and shares whole
    fam = result.frames()["families"].set_index("family")
    assert list(fam.index) == ["networks", "gradient-boosted trees", "cheap models"]
    assert fam.loc["networks", "members"] == "net_1, net_2"
    assert fam["weight"].sum() == pytest.approx(1) and fam["share_of_time"].sum() == pytest.approx(1)
    assert fam.loc["networks", "seconds"] == pytest.approx(
        result.timings["search"] + result.timings["retrain"])
    assert fam.loc["gradient-boosted trees", "weight"] == pytest.approx(w["gbt"])
    assert "time and weight by family: networks" in result.summary()
    # the networks are TabM-mini: an efficient ensemble whose members' mean it predicts
    net = result.models["net_1"]
    members = {type(layer).__name__: layer for layer in net.layers}
    assert members["EfficientEnsemble"].k in (8, 16, 32) and "EnsembleMean" in members
    assert net.predict(wine["x"][:4], verbose=0).shape == (4, 3)


def test_a_second_call_reuses_every_finished_stage(wine_run, wine):
    result, _, directory = wine_run
    stamps = {p: p.stat().st_mtime_ns for p in directory.rglob("*.keras")}
    lines = []
    again = kc.craft(wine["x"], wine["y"], directory=str(directory), progress=said(lines),
                     **WINE_ARGS)
    assert set(again.reused) >= {"split", "setup", "search", "retrain",
                                            "gradient_boosting", "cheap_models"}
    assert not any(line.startswith("trial ") for line in lines)
    assert sum("not retrained" in line for line in lines) == 2
    assert {p: p.stat().st_mtime_ns for p in directory.rglob("*.keras")} == stamps
    assert len(again.trials) == 3
    assert again.ensemble.weights == pytest.approx(result.ensemble.weights)
    # the same directory with other data is refused, not mixed
    with pytest.raises(ValueError, match="holds a craft\\(\\) run on other data"):
        kc.craft(wine["x"][:150], wine["y"][:150], directory=str(directory), **WINE_ARGS)
    # and a search with other settings is refused before anything runs, naming the change
    with pytest.raises(ValueError, match="a search made with other settings \\(epochs 15 "
                                         "then, 20 now\\)"):
        kc.craft(wine["x"], wine["y"], directory=str(directory), **{**WINE_ARGS, "epochs": 20})
    assert {p: p.stat().st_mtime_ns for p in directory.rglob("*.keras")} == stamps


def test_cheap_models_stand_beside_the_networks_and_can_be_left_out(wine_run, wine, tmp_path):
    import shutil

    result, lines, directory = wine_run
    members = {"net_1", "net_2", "gbt", "linear", "knn", "extra_trees"}
    assert set(result.ensemble.weights) == members == set(result.gaps["model"])
    assert set(result.test_scores["model"][2:]) == members
    assert any(line.startswith("cheap models: linear, knn, extra_trees") for line in lines)
    assert "plus gradient-boosted trees, cheap models (linear, knn, extra_trees)" in \
        result.summary()
    assert (directory / "cheap_models.pkl").exists()
    # the default ensemble for classes is the stack, and craft() says why
    assert result.ensemble.method == "stack"
    assert any(line.startswith("ensemble: fitting stack (auto: classification)")
               for line in lines)
    # without them (in a copy): nothing else is redone, and they are not members
    copy = tmp_path / "wine"
    shutil.copytree(directory, copy)
    without = kc.craft(wine["x"], wine["y"], directory=str(copy), cheap_models=False,
                       ensemble_method="greedy", **WINE_ARGS)
    assert {"search", "retrain", "gradient_boosting"} <= set(without.reused)
    assert set(without.ensemble.weights) == {"net_1", "net_2", "gbt"}
    assert without.ensemble.method == "greedy" and "cheap models" not in without.summary()


def test_saved_work_that_cannot_be_read_is_named_and_done_again(wine_run, wine, tmp_path):
    import shutil

    result, _, directory = wine_run
    copy = tmp_path / "damaged"
    shutil.copytree(directory, copy)
    (copy / "gradient_boosting.pkl").write_bytes(b"not a pickle")
    damaged = sorted((copy / "retrained").glob("trial_*.keras"))[0]
    damaged.write_bytes(b"not a zip file")
    lines = []
    again = kc.craft(wine["x"], wine["y"], directory=str(copy), progress=said(lines),
                     **WINE_ARGS)
    told = [line for line in lines if "could not be" in line]
    assert len(told) == 2, lines
    # the trees come before the search, the retrained models after it
    assert told[0].startswith(f"{copy / 'gradient_boosting.pkl'} could not be read "
                              "(UnpicklingError: ")
    assert told[1].startswith(f"the retrained model of trial ") and \
        f"({damaged}) could not be loaded (" in told[1] and told[1].endswith("retraining it.")
    assert "gradient_boosting" not in again.reused and "retrain" not in again.reused
    assert set(again.ensemble.weights) == set(result.ensemble.weights)
    assert damaged.stat().st_size > 1000  # saved again, whole


def test_craft_killed_while_retraining_goes_on_without_redoing_work(tmp_path, wine):
    directory = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import sys
        sys.path[:0] = [{str(ROOT / "inst" / "python")!r}]
        import kerascraft as kc
        d = kc.load_dataset("wine", split=False)
        kc.craft(d["x"], d["y"], directory={str(directory)!r}, verbose=0, **{WINE_ARGS!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 900  # a safety net: ~20 s quiet
    retrained = directory / "retrained"
    try:
        while not list(retrained.glob("trial_*.json")):
            assert proc.poll() is None, "craft() ended before it was killed"
            assert time.monotonic() < deadline, "no model was retrained in time"
            time.sleep(0.2)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    trees = (directory / "gradient_boosting.pkl").stat().st_mtime_ns  # made before the search
    first = list(retrained.glob("trial_*.json"))
    trial_files = {p: p.stat().st_mtime_ns for p in (directory / "search").rglob("trial.json")}
    lines = []
    result = kc.craft(wine["x"], wine["y"], directory=str(directory), progress=said(lines),
                      **WINE_ARGS)
    assert not any(line.startswith("trial ") for line in lines)  # no trial run again
    assert {p: p.stat().st_mtime_ns for p in trial_files} == trial_files
    assert len(result.trials) == 3
    assert sum("not retrained" in line for line in lines) == len(first)
    assert len(result.retrained) == 2
    assert "search" in result.reused and "gradient_boosting" in result.reused
    assert (directory / "gradient_boosting.pkl").stat().st_mtime_ns == trees


def test_other_retraining_settings_retrain_and_keep_the_search(tmp_path, wine):
    args = dict(max_trials=1, epochs=4, top=1, gradient_boosting=False, cheap_models=False,
                steps_per_execution=1,
                directory=str(tmp_path / "factor"), verbose=0)
    first = kc.craft(wine["x"], wine["y"], epoch_factor=1.0, **args)
    lines = []
    again = kc.craft(wine["x"], wine["y"], epoch_factor=3.0, progress=said(lines),
                     **{**args, "verbose": 1})
    assert "search" in again.reused and "retrain" not in again.reused
    assert any(line.startswith("retraining again") for line in lines)
    for result, factor in ((first, 1), (again, 3)):
        row = result.retrained.iloc[0]
        assert row["epochs"] == row["best_epoch"] * factor


def test_verbose_0_is_quiet(tmp_path, wine, capsys):
    lines = []
    for _ in range(2):  # the second call resumes: KerasTuner's "Reloading Tuner" not shown
        kc.craft(wine["x"], wine["y"], directory=str(tmp_path / "quiet"), verbose=0,
                 progress=said(lines), max_trials=1, epochs=2, top=1,
                 gradient_boosting=False, cheap_models=False, steps_per_execution=1)
        assert lines == []
        assert capsys.readouterr().out == ""


def test_string_labels_regression_and_images(tmp_path, wine):
    names = np.array(["barolo", "grignolino", "barbera"])[wine["y"]]
    r = kc.craft(wine["x"], names, directory=str(tmp_path / "names"), verbose=0,
                 max_trials=1, epochs=5, top=1, steps_per_execution=4)
    assert r.classes == ["barbera", "barolo", "grignolino"]
    # the fusion given reaches the searched and the retrained networks
    assert r.setup["steps_per_execution"] == 4 and r.models["net_1"].steps_per_execution == 4
    assert r.predict(wine["x"][:3]).shape == (3, 3)

    from sklearn.datasets import load_diabetes

    x, y = load_diabetes(return_X_y=True)
    r = kc.craft(x, y * 100, directory=str(tmp_path / "reg"), verbose=0, max_trials=2,
                 epochs=30, top=1, steps_per_execution=1)
    assert r.task == "regression" and r.classes is None
    mse = r.test_scores.set_index("kind").loc["ensemble", "mse"]
    y_test = np.load(tmp_path / "reg" / "split.npz")["test"]
    assert mse < 0.75 * np.var(y[y_test] * 100)  # far better than predicting the mean
    assert r.predict(x[:4]).shape[0] == 4

    digits = kc.load_dataset("digits", split=False)
    images = digits["x"].reshape(-1, 8, 8)
    r = kc.craft(images, digits["y"], directory=str(tmp_path / "img"), verbose=0,
                 max_trials=1, epochs=10, top=1, gradient_boosting=False, cheap_models=False,
                 steps_per_execution=1)
    assert "filters" in r.trials.columns and "units" not in r.trials.columns
    assert r.test_scores["accuracy"].iloc[0] > 0.6  # chance is 0.1


def test_given_validation_and_test_splits_are_used_as_given(tmp_path, wine):
    rng = np.random.default_rng(0)
    order = rng.permutation(len(wine["y"]))
    x, y = wine["x"][order], wine["y"][order]
    r = kc.craft(x[:100], y[:100], validation_data=(x[100:140], y[100:140]),
                 test_data=(x[140:], y[140:]), directory=str(tmp_path / "given"), verbose=0,
                 max_trials=1, epochs=3, top=1, gradient_boosting=False, cheap_models=False,
                 steps_per_execution=1)
    assert r.sizes == {"train": 100, "validation": 40, "test": 38}
    # a class that the training part lacks is refused before training
    keep = y[:100] != 2
    with pytest.raises(ValueError, match="no sample of class 2, which occurs only in"):
        kc.craft(x[:100][keep], y[:100][keep], validation_data=(x[100:140], y[100:140]),
                 test_data=(x[140:], y[140:]), directory=str(tmp_path / "lacking"))
    assert not (tmp_path / "lacking").exists()


def test_a_users_build_function_replaces_the_search_space(tmp_path, wine):
    import keras

    def build(hp):
        model = keras.Sequential([keras.Input((13,)), keras.layers.Normalization(
            mean=wine["x"].mean(0), variance=wine["x"].var(0)),
            keras.layers.Dense(hp.Choice("width", [8, 16]), activation="relu"),
            keras.layers.Dense(3, activation="softmax")])
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    lines = []
    # mixed precision asked for: the model's bfloat16 softmax is pointed out, and its
    # bfloat16 predictions still take part
    r = kc.craft(wine["x"], wine["y"], hypermodel=build, directory=str(tmp_path / "own"),
                 progress=said(lines), max_trials=2, epochs=15, top=1,
                 gradient_boosting=False, cheap_models=False, precision="mixed_bfloat16")
    assert "width" in r.trials.columns and list(r.weights["model"]) == ["net_1"]
    assert any(line.startswith("precision: layer") and "softmax is computed in bfloat16" in line
               for line in lines)
    assert r.setup["precision_notes"]
    assert r.test_scores["accuracy"].iloc[0] > 0.6  # the largest class is 40% of wine


@pytest.mark.parametrize("case, message", [
    ("lengths", "x has 178 samples but y has 177"),
    ("one_class", "a single class"),
    ("few_per_class", "too few samples per class"),
    ("list_column", "x has 2 column\\(s\\) kerascraft cannot read: colour: lists or other "
                    "nested values .*; z: complex numbers"),
    ("nan", "NaN"),
    ("nothing_usable", "x has no column a model can learn from \\(a: one value in every row; "
                       "b: all values missing\\)"),
    ("unknown_target", "y = 'price' is not a column of x; its columns are a, b, c"),
    ("target_na", r"y has 1 missing value\(s\) \(NA\)"),
    ("one_d", "is 1-d"),
    ("fraction", "val_fraction and test_fraction"),
])
def test_bad_input_is_refused_before_anything_is_trained(tmp_path, wine, case, message):
    import pandas as pd

    x, y = wine["x"], wine["y"]
    kwargs = {}
    if case == "lengths":
        y = y[:-1]
    elif case == "one_class":
        y = np.zeros_like(y)
    elif case == "few_per_class":
        y = np.array(["barolo", "grignolino", "barbera"])[y]
        y[:3] = "rare"  # a fourth class with three samples (as whole numbers: regression)
    elif case == "list_column":
        x = pd.DataFrame(x[:, :3], columns=["a", "b", "c"]).assign(
            colour=[["red"]] * len(x), z=1j)
    elif case == "nan":
        x = x.copy()
        x[5, 2] = np.nan
    elif case == "nothing_usable":
        x = pd.DataFrame({"a": np.ones(len(x)), "b": pd.array([pd.NA] * len(x), "Float64")})
    elif case == "unknown_target":
        x, y = pd.DataFrame(x[:, :3], columns=["a", "b", "c"]), "price"
    elif case == "target_na":
        y = pd.Series(y).astype("Int64")
        y[7] = pd.NA
    elif case == "one_d":
        x = x[:, 0]
    elif case == "fraction":
        kwargs["val_fraction"] = 0.9
    directory = tmp_path / "bad"
    with pytest.raises((ValueError, TypeError), match=message):
        kc.craft(x, y, directory=str(directory), verbose=0, **kwargs)
    assert not directory.exists()  # nothing was written, let alone trained

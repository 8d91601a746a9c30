import keras
from kerascraft.demo import build_digits_mlp as build_mlp
import keras_tuner as kt
import numpy as np
import pytest

from conftest import unclocked
import kerascraft as kc
from kerascraft.tuning import FatalInputError, FatalInputTypeError


def _fit_kwargs(d, epochs=2, verbose=0):
    return dict(validation_data=(d["x_val"], d["y_val"]), epochs=epochs, batch_size=64,
                verbose=verbose)


@pytest.mark.parametrize("kind", ["auto", "random", "bayesian"])
def test_search_results_and_best(kind, digits, build, tmp_path):
    t = kc.tuner(kind, build, objective="val_accuracy", max_trials=3, directory=tmp_path, seed=1)
    assert isinstance(t, kt.Tuner)
    t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits))
    df = kc.results(t)
    assert len(df) == 3
    assert list(df.columns) == ["trial_id", "status", "score", "best_epoch", "seconds", "retries", "error",
                                "units", "optimizer"]
    assert (df.status == "COMPLETED").all()
    assert df.score.max() > 0.25 and (df.seconds > 0).all()  # chance on digits is 0.1
    for row in df.itertuples():  # each score is the best val_accuracy the trial logged
        history = t.oracle.get_trial(row.trial_id).metrics.get_history("val_accuracy")
        assert row.score == pytest.approx(max(float(np.mean(o.value)) for o in history))
    assert df.best_epoch.isin([1, 2]).all() and df.error.isna().all() and (df.retries == 0).all()
    assert set(df.units) <= {16, 32, 48, 64}
    best = kc.best_hyperparameters(t, 2)
    assert len(best) == 2
    top = df.sort_values("score", ascending=False).iloc[0]
    assert best[0].values == {"units": top.units, "optimizer": top.optimizer}
    model = kc.best_models(t, 1)[0]
    assert model.evaluate(digits["x_val"], digits["y_val"], verbose=0)[1] == pytest.approx(top.score, abs=1e-6)


def test_one_progress_line_per_trial_and_silence_with_verbose_0(digits, build, tmp_path, capsys):
    t = kc.tuner("random", build, objective="val_accuracy", max_trials=2, directory=tmp_path, seed=2)
    t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1, verbose=1))
    lines = [unclocked(l) for l in capsys.readouterr().out.splitlines()]
    lines = [l for l in lines if l.startswith("trial ")]
    assert len(lines) == 2
    assert lines[0].startswith("trial 1/2: val_accuracy=") and "best " in lines[1]
    t = kc.tuner("random", build, objective="val_accuracy", max_trials=1, directory=tmp_path,
                 project_name="quiet")
    t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1, verbose=0))
    assert capsys.readouterr().out == ""


class RecordingHyperModel(kt.HyperModel):
    """Builds the digits MLP and records the dtypes fit() receives."""

    seen = []

    def build(self, hp):
        return build_mlp(hp)

    def fit(self, hp, model, x, y, validation_data=None, **kwargs):
        RecordingHyperModel.seen.append((x.dtype, y.dtype, validation_data[0].dtype))
        return model.fit(x, y, validation_data=validation_data, **kwargs)


def test_float64_data_reaches_fit_as_float32_and_labels_stay_integers(digits, tmp_path):
    RecordingHyperModel.seen.clear()
    t = kc.tuner("random", RecordingHyperModel(), objective="val_accuracy", max_trials=1,
                 directory=tmp_path)
    t.search(digits["x_train"].astype(np.float64), digits["y_train"].astype(np.int64),
             validation_data=(digits["x_val"].astype(np.float64), digits["y_val"]),
             epochs=1, verbose=0)
    assert RecordingHyperModel.seen == [(np.float32, np.int64, np.float32)]


def test_nan_in_data_stops_before_any_trial(digits, build, tmp_path):
    t = kc.tuner("random", build, max_trials=2, directory=tmp_path)
    x = digits["x_train"].copy()
    x[5, 7] = np.nan
    with pytest.raises(ValueError, match="x contains 1 NaN/Inf"):
        t.search(x, digits["y_train"], **_fit_kwargs(digits))
    assert len(kc.results(t)) == 0


def test_failed_trials_are_recorded_with_their_error(digits, tmp_path):
    def fragile(hp):

        if hp.Boolean("broken"):
            raise RuntimeError("boom: this configuration cannot be built")
        return build_mlp(hp)

    t = kc.tuner("grid", fragile, objective="val_accuracy", directory=tmp_path,
                 max_consecutive_failed_trials=10)
    t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    df = kc.results(t)
    failed = df[df.status != "COMPLETED"]
    assert len(failed) > 0 and failed.broken.all()
    assert failed.error.str.contains("boom: this configuration cannot be built").all()
    assert failed.score.isna().all() and failed.best_epoch.isna().all()
    assert (df[df.status == "COMPLETED"].broken == False).all()  # noqa: E712


def test_resume_keeps_finished_trials_and_respects_the_budget(digits, build, tmp_path):
    first = kc.tuner("random", build, objective="val_accuracy", max_trials=2, directory=tmp_path, seed=5)
    first.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    before = kc.results(first)
    again = kc.tuner("random", build, objective="val_accuracy", max_trials=3, directory=tmp_path, seed=5)
    again.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    after = kc.results(again)
    assert len(after) == 3
    # the two finished trials were kept as they were (same scores, same recorded times)
    kept = after.set_index("trial_id").loc[before.trial_id]
    np.testing.assert_allclose(kept.score, before.score)
    np.testing.assert_allclose(kept.seconds, before.seconds)


def test_bad_arguments_get_clear_errors(build, tmp_path):
    with pytest.raises(ValueError, match="unknown tuner kind 'exhaustive'; use one of: auto, tpe, gp, gp-numpy, random, bayesian, hyperband, grid"):
        kc.tuner("exhaustive", build)
    with pytest.raises(ValueError, match="hyperband has no max_trials"):
        kc.tuner("hyperband", build, max_trials=3, directory=tmp_path)
    with pytest.raises(TypeError, match="hypermodel must be a function"):
        kc.tuner("random", "not a model", directory=tmp_path)
    with pytest.raises(ValueError, match="direction must be 'min' \\(lower is better"):
        kc.objective("val_auc", "up")
    t = kc.tuner("random", build, directory=tmp_path)
    with pytest.raises(ValueError, match="no completed trial yet"):
        kc.best_hyperparameters(t)


def test_hyperband_and_grid_run(digits, build, tmp_path):
    hb = kc.tuner("hyperband", build, objective="val_accuracy", max_epochs=2, factor=2,
                  directory=tmp_path, seed=1)
    hb.search(digits["x_train"], digits["y_train"], validation_data=(digits["x_val"], digits["y_val"]), verbose=0)
    assert (kc.results(hb).status == "COMPLETED").all() and len(kc.results(hb)) >= 2

    def tiny(hp):

        hp.Fixed("units", 16)
        return build_mlp(hp)

    grid = kc.tuner("grid", tiny, objective="val_accuracy", directory=tmp_path)
    grid.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    assert sorted(kc.results(grid).optimizer) == ["adam", "rmsprop"]


def test_objective_with_direction_is_used(digits, build, tmp_path):
    t = kc.tuner("random", build, objective=kc.objective("val_accuracy", "max"), max_trials=1,
                 directory=tmp_path)
    assert t.oracle.objective.direction == "max"


def test_objective_not_logged_stops_at_the_first_trial_listing_the_metrics(digits, build, tmp_path):
    t = kc.tuner("random", build, objective=kc.objective("val_auc", "max"), max_trials=5,
                 directory=tmp_path)
    with pytest.raises(FatalInputError,
                       match=r"'val_auc' is not among the metrics that training produced: "
                             r"accuracy, loss, val_accuracy, val_loss"):
        t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    assert len(kc.results(t)) <= 1
    t2 = kc.tuner("random", build, objective="val_accuracy", max_trials=2, directory=tmp_path,
                  project_name="noval")
    with pytest.raises(FatalInputError, match="pass validation_data to search"):
        t2.search(digits["x_train"], digits["y_train"], epochs=1, verbose=0)


def test_mistakes_found_in_a_search_are_input_errors_that_stop_it():
    # KerasTuner stops a search at its FatalError; R and Python users catch an input error
    assert issubclass(FatalInputError, kt.errors.FatalError)
    assert issubclass(FatalInputError, kc.InputError) and issubclass(kc.InputError, ValueError)
    assert issubclass(FatalInputTypeError, kt.errors.FatalTypeError)  # KerasTuner's for it
    assert issubclass(FatalInputTypeError, kc.InputError)


def test_uncompiled_model_is_a_clear_error(digits, tmp_path):
    def uncompiled(hp):
        return keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int("u", 2, 4))])

    t = kc.tuner("random", uncompiled, max_trials=3, directory=tmp_path)
    with pytest.raises(FatalInputError, match="not compiled: call model.compile"):
        t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))


def test_a_build_function_that_returns_no_model_stops_the_search_at_once(digits, tmp_path):
    def forgets_to_return(hp):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(hp.Int("u", 2, 4))])
        model.compile(optimizer="adam", loss="mse")

    t = kc.tuner("random", forgets_to_return, max_trials=3, directory=tmp_path)
    with pytest.raises(FatalInputTypeError, match="to return a Keras model; it returned None"):
        t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    assert len(t.oracle.trials) == 1   # not three failed trials


def test_nan_loss_marks_the_trial_failed_and_the_search_goes_on(digits, tmp_path):
    def maybe_nan(hp):
        model = build_mlp(hp)
        if hp.Boolean("poison"):
            model.compile(optimizer="adam", metrics=["accuracy"],
                          loss=lambda y, p: keras.ops.mean(keras.ops.log(p - 2.0)))
        return model

    t = kc.tuner("grid", maybe_nan, objective="val_accuracy", directory=tmp_path,
                 max_consecutive_failed_trials=10)
    t.search(digits["x_train"][:256], digits["y_train"][:256],
             validation_data=(digits["x_val"], digits["y_val"]), epochs=2, verbose=0)
    df = kc.results(t)
    poisoned = df[df.poison]
    assert len(poisoned) > 0 and (poisoned.status == "FAILED").all()
    assert poisoned.error.str.contains("loss became NaN or infinite at epoch 1").all()
    assert (df[~df.poison].status == "COMPLETED").all()


def test_a_search_space_smaller_than_max_trials_says_so(digits, tmp_path, capsys):
    def two_configs(hp):
        hp.Fixed("units", 16)
        return build_mlp(hp)

    t = kc.tuner("random", two_configs, objective="val_accuracy", max_trials=5,
                 directory=tmp_path, seed=1)
    t.search(digits["x_train"][:256], digits["y_train"][:256],
             **_fit_kwargs(digits, epochs=1, verbose=1))
    out = capsys.readouterr().out
    assert len(kc.results(t)) == 2
    assert "search stopped after 2 of max_trials=5 trials: the search space has no " \
           "configuration left" in out


@pytest.mark.parametrize("labels, loss, message", [
    (lambda y: y + 1, "sparse_categorical_crossentropy", r"labels from 1 to 10, but the model has 10 outputs"),
    (lambda y: np.eye(10)[y], "sparse_categorical_crossentropy", r"like one-hot labels"),
    (lambda y: y, "categorical_crossentropy", r"needs one-hot labels of shape \(n, 10\)"),
    (lambda y: y.astype(np.float32) + 0.5, "sparse_categorical_crossentropy", "whole-number class labels"),
])
def test_labels_that_do_not_fit_the_loss_stop_the_search_at_once(digits, tmp_path, labels, loss, message):
    def build(hp):
        model = build_mlp(hp)
        model.compile(optimizer="adam", loss=loss, metrics=["accuracy"])
        return model

    t = kc.tuner("random", build, objective="val_accuracy", max_trials=3, directory=tmp_path)
    y = labels(digits["y_train"])
    with pytest.raises(FatalInputError, match=message):
        t.search(digits["x_train"], y, validation_data=(digits["x_val"], labels(digits["y_val"])),
                 epochs=1, verbose=0)
    assert len(t.oracle.trials) == 1 and (kc.results(t).status != "COMPLETED").all()


def test_plot_search_draws_scores_best_so_far_and_each_hyperparameter(digits, build, tmp_path):
    t = kc.tuner("random", build, objective="val_accuracy", max_trials=3, directory=tmp_path, seed=2)
    t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    fig = kc.plot_search(t)
    progress, units, optimizer = fig.axes
    scores = list(kc.results(t).score)
    np.testing.assert_allclose(progress.lines[0].get_ydata(), scores)
    np.testing.assert_allclose(progress.lines[1].get_ydata(), np.maximum.accumulate(scores))
    assert units.get_xlabel() == "units" and optimizer.get_xlabel() == "optimizer"
    fig.savefig(tmp_path / "search.png")
    assert (tmp_path / "search.png").stat().st_size > 1000


def test_premade_resnet_on_small_images(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.random((16, 32, 32, 3), dtype=np.float32)
    y = keras.utils.to_categorical(rng.integers(0, 3, 16), 3)   # HyperResNet's loss is one-hot
    t = kc.tuner("random", kc.premade_hypermodel("resnet", (32, 32, 3), classes=3),
                 objective="val_accuracy", max_trials=1, directory=tmp_path, seed=1)
    t.search(x, y, validation_data=(x, y), epochs=1, batch_size=8, verbose=0)
    df = kc.results(t)
    assert (df.status == "COMPLETED").all() and "version" in df.columns
    with pytest.raises(ValueError, match="unknown pre-made hypermodel 'vgg'"):
        kc.premade_hypermodel("vgg", (32, 32, 3), 3)


def test_best_trials_order_ties_by_trial_id_whatever_the_oracles_order():
    # KerasTuner's own order of tied trials followed its dict, which a reload can reorder
    from types import SimpleNamespace

    def trial(tid, score, status="COMPLETED"):
        return SimpleNamespace(trial_id=tid, score=score, status=status)

    trials = [trial("03", 0.9), trial("01", 0.9), trial("02", 0.95), trial("00", None, "FAILED"),
              trial("04", 0.8)]
    for order in (trials, trials[::-1]):
        tuner = SimpleNamespace(oracle=SimpleNamespace(
            objective=SimpleNamespace(direction="max"), trials={t.trial_id: t for t in order}))
        assert [t.trial_id for t in kc.best_trials(tuner, 3)] == ["02", "01", "03"]
    tuner.oracle.objective.direction = "min"
    assert [t.trial_id for t in kc.best_trials(tuner, 2)] == ["04", "01"]


# --- what a trial costs besides training -------------------------------------------------

def _train_step_traces(model):
    """How often fit() traced the model's train step (TensorFlow)."""
    for cell in model.train_function.__closure__ or ():
        fn = getattr(cell.cell_contents, "__wrapped__", cell.cell_contents)
        if getattr(fn, "__name__", "") == "one_step_on_data":
            return fn.experimental_get_tracing_count()
    raise AssertionError("Keras's train function has no one_step_on_data: its internals changed")


def _seeded_mlp(seed=0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dropout(0.3), keras.layers.Dense(10, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", "sparse_top_k_categorical_accuracy"])
    return model


tensorflow_only = pytest.mark.skipif(
    keras.backend.backend() != "tensorflow",
    reason="Keras on JAX builds optimizer and metrics before tracing on its own")


@tensorflow_only
def test_a_fresh_model_is_traced_once_and_trains_exactly_as_plain_keras(digits):
    from kerascraft.compat.keras import build_before_tracing as _build_before_tracing

    data = (digits["x_train"].astype("float32"), digits["y_train"])
    fit = dict(validation_data=(digits["x_val"].astype("float32"), digits["y_val"]), epochs=3,
               batch_size=64, verbose=0)
    plain = _seeded_mlp()
    plain_history = plain.fit(*data, **fit).history
    assert _train_step_traces(plain) == 2   # Keras alone: variables created in the 1st trace
    fast = _build_before_tracing(_seeded_mlp())
    fast_history = fast.fit(*data, **fit).history
    assert _train_step_traces(fast) == 1
    assert fast_history == plain_history    # same batches, bit for bit
    for a, b in zip(fast.get_weights(), plain.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert int(fast.optimizer.iterations) == 3 * int(np.ceil(len(data[1]) / 64))


@tensorflow_only
def test_build_before_tracing_leaves_other_inputs_and_failures_to_keras(digits):
    import tensorflow as tf

    from kerascraft.compat.keras import build_before_tracing as _build_before_tracing

    x, y = digits["x_train"].astype("float32"), digits["y_train"]

    class Batches(keras.utils.PyDataset):
        def __len__(self):
            return 10

        def __getitem__(self, i):
            return x[i * 64:(i + 1) * 64], y[i * 64:(i + 1) * 64]

    # taking a batch to build with would change what these train on (shuffle order)
    inputs = {"PyDataset": Batches,
              "tf.data": lambda: tf.data.Dataset.from_tensor_slices((x, y)).shuffle(1000).batch(64)}
    for name, make in inputs.items():
        plain = _seeded_mlp()
        plain.fit(make(), epochs=2, verbose=0)
        fast = _build_before_tracing(_seeded_mlp())
        fast.fit(make(), epochs=2, verbose=0)
        assert int(fast.optimizer.iterations) == int(plain.optimizer.iterations), name
        for a, b in zip(fast.get_weights(), plain.get_weights()):
            np.testing.assert_array_equal(a, b, err_msg=name)

    failing = _build_before_tracing(_seeded_mlp())

    def cannot_build(*args, **kwargs):
        raise RuntimeError("symbolic build failed")

    failing._symbolic_build = cannot_build  # then the trace builds it, as in plain Keras
    failing.fit(x, y, epochs=1, batch_size=64, verbose=0)
    assert _train_step_traces(failing) == 2 and int(failing.optimizer.iterations) == 17


def test_trials_are_traced_once_and_their_garbage_is_collected(digits, tmp_path):
    import gc
    import weakref

    class Cycle:
        pass

    garbage, traces, frozen = [], [], []

    class Recording(kt.HyperModel):
        def build(self, hp):
            cycle = Cycle()
            cycle.me = cycle          # freed only by the garbage collector
            garbage.append(weakref.ref(cycle))
            return build_mlp(hp)

        def fit(self, hp, model, *args, **kwargs):
            frozen.append(gc.get_freeze_count())
            history = model.fit(*args, **kwargs)
            if keras.backend.backend() == "tensorflow":
                traces.append(_train_step_traces(model))
            return history

    t = kc.tuner("random", Recording(), objective="val_accuracy", max_trials=3,
                 directory=tmp_path, seed=3)
    before = gc.get_freeze_count()  # not 0 on CPython 3.12: the interpreter's own
    t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
    assert len(frozen) == 3 and min(frozen) > before + 1000  # older objects skipped by collections
    assert gc.get_freeze_count() == 0                # and back to normal after the search
    assert [ref() is None for ref in garbage[:2]] == [True, True]   # trials' garbage freed
    assert traces == ([1, 1, 1] if keras.backend.backend() == "tensorflow" else [])


def test_a_programs_own_frozen_objects_stay_frozen(digits, build, tmp_path):
    import gc

    gc.freeze()
    try:
        assert gc.get_freeze_count() > 0
        t = kc.tuner("random", build, objective="val_accuracy", max_trials=1, directory=tmp_path)
        t.search(digits["x_train"], digits["y_train"], **_fit_kwargs(digits, epochs=1))
        assert gc.get_freeze_count() > 0   # kerascraft's gc.unfreeze() would make it 0
    finally:
        gc.unfreeze()

"""Time limits: search(), retrain_best() and craft() end within ``time_limit``."""

import time

import keras
import keras_tuner as kt
import pytest

import kerascraft as kc
from kerascraft.budget import (
    STALL_SHARE,
    Deadline,
    check_time_limit,
    clock,
    epoch_clock,
    predicted,
    stall_share,
    stalled,
)


def _build(hp):
    model = keras.Sequential([
        keras.Input((64,)),
        keras.layers.Dense(hp.Int("units", 16, 64, step=16), activation="relu"),
        keras.layers.Dense(10, activation="softmax")])
    # a learning rate too: a space no search of these tests runs out of
    model.compile(keras.optimizers.Adam(hp.Float("lr", 1e-3, 1e-2, sampling="log")),
                  "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _search(digits, directory, build=_build, max_trials=40, **kwargs):
    t = kc.tuner("random", build, objective="val_accuracy", max_trials=max_trials,
                 directory=directory, seed=3)
    t.search(digits["x_train"], digits["y_train"],
             validation_data=(digits["x_val"], digits["y_val"]), verbose=0, **kwargs)
    return t


def test_deadline_rules():
    assert check_time_limit(None) is None and check_time_limit(2) == 2.0
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="above 0"):
            check_time_limit(bad)
    with pytest.raises(TypeError, match="number of seconds"):
        check_time_limit("1 minute")
    with pytest.raises(TypeError, match="number of seconds"):
        check_time_limit(True)
    d = Deadline(100, started=time.monotonic() - 30, reserve=lambda: 50)
    assert 69 < d.left() <= 70 and 19 < d.usable() <= 20
    assert d.fits(None) and d.fits(15) and not d.fits(25)
    assert not Deadline(1, started=time.monotonic() - 2).fits(None)  # used up
    assert predicted([]) is None and predicted([3, None, 1, 100]) == 3
    assert predicted([1, 2, 3, 10]) == 2.5
    assert clock(65) == "1:05" and clock(3725) == "1:02:05"


def test_the_stall_rule():
    # (seconds, score) in trial order; the budget 100 s: 30 s without a better score stops
    trials = [(10, 0.5), (10, 0.3), (10, 0.4), (10, 0.35), (10, 0.3)]
    assert stalled(trials[:4], 100, share=0.3) is None  # fewer than 5 trials
    assert stalled(trials, 100, share=0.3) == (
        "no better score in the last 3 trials (30s, 30% of the budget's 100s; a search "
        "stops early after 30%)")
    assert stalled(trials, 101, share=0.3) is None  # 30 s is under 30% of 101 s
    assert stalled(trials, 100) is None  # the default share, a half
    assert stalled(trials, 60) is not None
    # a tie is no better score; a failed trial's time counts; "max" turns it round
    failed = [(10, 0.5), (10, 0.3), (25, None), (5, 0.4), (1, 0.35)]
    assert stalled(failed, 100, share=0.3).startswith("no better score in the last 3 trials "
                                                      "(31s, 31% of")
    better = [(10, 0.5), (10, 0.3), (25, None), (5, 0.1), (1, 0.35)]
    assert stalled(better, 100, share=0.3) is None
    assert stalled([(10, 0.1)] * 5, 50, direction="max").startswith("no better score in "
                                                                      "the last 4 trials")
    assert stalled([(10, None)] * 6, 10) is None  # nothing scored: no best to beat
    assert stall_share(True) == STALL_SHARE and stall_share(False) is None
    assert stall_share(None) is None and stall_share(0.5) == 0.5
    for bad in (0, 1, 1.5, "yes"):
        with pytest.raises(ValueError, match="stop_early must be TRUE/True, FALSE/False, or "
                                             "the share of the budget"):
            stall_share(bad)


def test_a_search_told_to_stop_early_stops_when_more_trials_buy_nothing(tmp_path,
                                                                       monkeypatch):
    from kerascraft import trials

    monkeypatch.setattr(trials, "trial_record", lambda tuner, trial_id: {"seconds": 1.0})
    scores = iter([0.5, 0.2, 0.6, 0.7, 0.8, 0.9, 0.4, 0.3] + [0.1] * 50)
    t = kc.tuner("random", lambda hp: hp.Float("x", 0, 1), objective=kc.objective("s", "min"),
                 max_trials=20, directory=tmp_path, seed=1)
    t.run_trial = lambda trial, *a, **k: {"s": next(scores)}
    t.search(verbose=0, stop_early=0.25)
    # after trial 7 the 5 trials since the best (trial 2) had taken over 25% of 20 trials
    assert len(t.oracle.trials) == 7
    assert t.search_ended.startswith("stopped early: no better score in the last 5 trials")
    # not told: all 20 (and resumed with it, the stalled search ends at once)
    t2 = kc.tuner("random", lambda hp: hp.Float("x", 0, 1), objective=kc.objective("s", "min"),
                  max_trials=20, directory=tmp_path, project_name="all", seed=1)
    t2.run_trial = lambda trial, *a, **k: {"s": 0.5}
    t2.search(verbose=0)
    assert len(t2.oracle.trials) == 20 and t2.search_ended is None


@pytest.mark.parametrize("options", [{}, {"n_startup_trials": 10}])
def test_a_time_limit_sizes_the_gps_random_start_up_from_the_trials_it_allows(
        tmp_path, monkeypatch, options):
    from kerascraft import trials

    monkeypatch.setattr(trials, "trial_record", lambda tuner, trial_id: {"seconds": 1.0})
    t = kc.tuner("gp-numpy", lambda hp: hp.Float("x", 0, 1), objective=kc.objective("s", "min"),
                 max_trials=1000, directory=tmp_path, seed=1, sampler_options=options)

    def run_trial(trial, *a, **k):
        time.sleep(0.3)
        return {"s": (trial.hyperparameters.get("x") - 0.3) ** 2}

    t.run_trial = run_trial
    t.search(verbose=0, time_limit=6)
    assert 5 <= len(t.oracle.trials) < 1000 and "time limit" in t.search_ended
    # max_trials=1000 would start 10 at random; about 6 one-second trials fit: 3. A start-up
    # the user set is kept.
    assert t.oracle._study.sampler.n_startup_trials == options.get("n_startup_trials", 3)


def test_a_training_at_the_limit_stops_at_the_end_of_an_epoch(digits):
    model = _build(kt.HyperParameters())
    stopper = epoch_clock(Deadline(5))
    began = time.monotonic()
    model.fit(digits["x_train"], digits["y_train"], epochs=10_000, batch_size=32, verbose=0,
              callbacks=[stopper])
    took = time.monotonic() - began
    assert stopper.stopped_at == stopper.epochs > 1
    assert took < 5 + 1  # stopped before the epoch that would have ended too late
    # without a deadline it only counts
    counter = epoch_clock()
    model.fit(digits["x_train"], digits["y_train"], epochs=3, verbose=0, callbacks=[counter])
    assert counter.epochs == 3 and counter.stopped_at is None


def test_search_stops_within_its_limit_keeps_its_trials_and_resumes(digits, tmp_path):
    began = time.monotonic()
    t = _search(digits, tmp_path, epochs=8, time_limit=8)
    took = time.monotonic() - began
    first = kc.results(t)
    done = len(first)
    assert 1 <= done < 40
    assert took < 8 + 2  # within the limit, give or take an epoch
    assert "time limit" in t.search_ended and f"{40 - done} of max_trials=40 not run" in \
        t.search_ended
    assert (first["status"] == "COMPLETED").all() and first["seconds"].notna().all()
    # a new limit continues the same search: the earlier trials are kept
    t2 = _search(digits, tmp_path, epochs=8, time_limit=6)
    second = kc.results(t2)
    assert len(second) > done and list(second["trial_id"][:done]) == list(first["trial_id"])


def test_a_trial_running_at_the_limit_stops_and_keeps_its_best_epoch(digits, tmp_path):
    t = _search(digits, tmp_path, epochs=100_000, time_limit=4)
    table = kc.results(t)
    assert len(table) == 1 and table["status"][0] == "COMPLETED"
    record = kc.trials.trial_record(t, table["trial_id"][0])
    assert record["stopped_at"] == record["epochs"] > 1
    assert 1 <= table["best_epoch"][0] <= record["epochs"]
    # the search's best model is that best epoch's, and it predicts
    assert kc.best_models(t, 1)[0].evaluate(digits["x_val"], digits["y_val"], verbose=0)[1] \
        == pytest.approx(table["score"][0], abs=1e-4)


def test_a_limit_too_short_for_one_epoch_is_an_error_naming_a_useful_one(digits, tmp_path):
    def slow(hp):  # built in 1.5 s: its first epoch ends after a limit of 0.8 s
        time.sleep(1.5)
        return _build(hp)

    with pytest.raises(ValueError, match=r"too short.*shortest useful limit is about \d+s") \
            as err:
        _search(digits, tmp_path, build=slow, epochs=50, time_limit=0.8)
    assert "resumed with a longer limit" in str(err.value)
    # resumed with as short a limit: the next trial would not end in time, so none starts
    t = _search(digits, tmp_path, build=slow, epochs=50, time_limit=0.8)
    assert len(kc.results(t)) == 1 and "39 of max_trials=40 not run" in t.search_ended
    # nothing computed is lost: the trial is kept, and a longer limit goes on from it
    t = _search(digits, tmp_path, epochs=5, time_limit=8)
    assert len(kc.results(t)) >= 2


def test_retrain_best_retrains_what_fits_and_says_what_it_left_out(digits, tmp_path):
    t = _search(digits, tmp_path, max_trials=3, epochs=3)
    args = (t, digits["x_train"], digits["y_train"], (digits["x_val"], digits["y_val"]))
    n = 3
    all_of_them = kc.retrain_best(*args, n=n, max_epochs=5, patience=2, verbose=0)
    seconds = time.monotonic()
    few = kc.retrain_best(*args, n=n, max_epochs=5, patience=2, verbose=0, time_limit=0.01)
    assert time.monotonic() - seconds < 1  # nothing predicted to fit: nothing started
    assert len(few) == 0 and few.not_retrained == [r["trial_id"] for r in all_of_them.summary]
    assert few.ended.startswith(f"time limit: {n} of {n} not retrained")
    assert all(r["stopped"] is None for r in all_of_them.summary)


def test_retrainings_predicted_time_pays_a_models_fixed_cost_twice(digits, tmp_path):
    from kerascraft.retraining import predicted_seconds

    def slow(hp):  # a fixed cost per model, like a compile: 1 s to build
        time.sleep(1.0)
        return _build(hp)

    t = _search(digits, tmp_path, build=slow, max_trials=1, epochs=6)
    trial = next(iter(t.oracle.trials.values()))
    record = kc.trials.trial_record(t, trial.trial_id)
    assert record["epochs"] == 6 and 0 < record["epoch_seconds"] < record["seconds"] / 6
    ratio = 1 + len(digits["y_val"]) / len(digits["y_train"])
    # one epoch each for the best-epoch run and the retraining: nearly all fixed cost, which
    # a prediction from seconds per epoch (about 0.5 s here) would miss
    predicted = predicted_seconds(t, trial, ratio, 0.01, 0, 1)
    # the best-epoch run and the train+validation model are each built: 2 s at least
    assert predicted > 2.0
    began = time.monotonic()
    kc.retrain_best(t, digits["x_train"], digits["y_train"], (digits["x_val"], digits["y_val"]),
                    n=1, epoch_factor=0.01, max_epochs=1, patience=0, verbose=0)
    took = time.monotonic() - began
    assert 0.5 * took < predicted < 2 * took
    # a record without epoch times (an earlier version's) counts all its seconds per epoch
    naive = record["seconds"] / 6 * (min(6, trial.best_step + 1 + 2) +
                                     max(1, trial.best_step + 1) * ratio)
    import json
    import os

    path = os.path.join(t.get_trial_dir(trial.trial_id), kc.trials.TIMING_FILE)
    with open(path, "w") as f:
        json.dump({k: v for k, v in record.items() if k != "epoch_seconds"}, f)
    assert predicted_seconds(t, trial, ratio, 1.0, 2, 6) == pytest.approx(naive)


def test_retraining_keeps_the_best_epoch_runs_model_when_a_first_epoch_would_not_fit(
        digits, tmp_path, monkeypatch):
    from kerascraft import retraining

    t = _search(digits, tmp_path, max_trials=1, epochs=3)
    # predicted to fit (as when a trial's time misleads), but each model's first epoch takes
    # 2 s and more (compiling): the best-epoch run (2 epochs) ends with less left than a
    # second model's first epoch (or, where compiling is slow, the clock stops it first)
    monkeypatch.setattr(retraining, "predicted_seconds", lambda *a, **k: 0.01)

    class SlowFirstEpoch(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.first = True

        def on_train_batch_end(self, batch, logs=None):
            if self.first:
                self.first = False
                time.sleep(2.0)

    began = time.monotonic()
    out = kc.retrain_best(t, digits["x_train"], digits["y_train"],
                          (digits["x_val"], digits["y_val"]), n=1, max_epochs=2, patience=1,
                          verbose=0, time_limit=3.5, callbacks=[SlowFirstEpoch()])
    took = time.monotonic() - began
    assert took < 3.5 + 3.0  # give or take the first epoch
    # no second model: trained on train+validation, it would have 1 epoch (its clock's stop)
    assert len(out) == 1 and out.summary[0]["epochs"] == 0
    assert out.summary[0]["stopped"].endswith("not trained on train+validation")
    # the kept model is the best-epoch run's, trained: it predicts as well as the search's
    score = out[0].evaluate(digits["x_val"], digits["y_val"], verbose=0)[1]
    assert score > 0.5


def test_craft_shares_its_limit_and_says_what_it_cut(tmp_path, wine):
    from kerascraft.workflow import craft
    from kerascraft.workflow.stages import TIME_RULE

    lines = []
    began = time.monotonic()
    result = craft(wine["x"], wine["y"], time_limit=25, max_trials=200, epochs=30, top=2,
                   seed=1, directory=str(tmp_path), progress=lines.append)
    took = time.monotonic() - began
    assert took < 25 * 1.1
    assert 1 <= len(result.trials) < 200
    assert "search" in result.cut and "not run" in result.cut["search"]
    # the trees and cheap models came before the search, and every line tells the time
    stages = list(result.timings)
    assert stages.index("gradient_boosting") < stages.index("search") < stages.index("retrain")
    assert all(line.startswith("[") and " left] " in line.split("\n")[0] for line in lines)
    summary = result.summary()
    assert "of time_limit=25 s" in summary and TIME_RULE in summary
    assert "search: time limit" in summary
    # the search (kind "auto") began with the recipe of craft()'s networks
    from kerascraft.trials import in_trial_order
    from kerascraft.workflow.space import RECIPE

    first = in_trial_order(result.tuner.oracle.trials.values())[0].hyperparameters.values
    assert {k: first[k] for k in RECIPE} == RECIPE
    # the networks still come first among the members
    names = list(result.models)
    nets = [n for n in names if n.startswith("net_")]
    assert nets and names[:len(nets)] == nets
    # a second call with a longer limit continues the search
    again = craft(wine["x"], wine["y"], time_limit=40, max_trials=200, epochs=30, top=2,
                  seed=1, directory=str(tmp_path), verbose=0)
    assert len(again.trials) > len(result.trials)


def test_networks_the_limit_leaves_unretrained_are_the_searchs_and_reload(tmp_path, wine,
                                                                         monkeypatch):
    import numpy as np

    from kerascraft import retraining
    from kerascraft.workflow import craft

    # every retraining predicted to take forever: the search is not stopped to wait for a
    # retraining that cannot fit (all its trials run), then nothing is retrained
    monkeypatch.setattr(retraining, "predicted_seconds", lambda *a, **k: 1e9)
    result = craft(wine["x"], wine["y"], time_limit=60, max_trials=5, epochs=5, top=2,
                   seed=2, directory=str(tmp_path), verbose=0)
    assert len(result.trials) == 5 and "retrain" in result.cut
    assert "stand in" in result.cut["retrain"]
    assert list(result.retrained["stopped"]) == [
        "not retrained (time limit): the search's model"] * 2
    assert result.models["net_1"] is result.search_models["net_1"]
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded = kc.load_craft(str(tmp_path))
    assert not [w for w in caught if "Skipping variable loading" in str(w.message)]
    np.testing.assert_allclose(loaded.predict(wine["x"][:5]), result.predict(wine["x"][:5]),
                               rtol=1e-5, atol=1e-6)
    # a later call with time to spare retrains it
    monkeypatch.undo()
    again = craft(wine["x"], wine["y"], time_limit=120, max_trials=5, epochs=5, top=2,
                  seed=2, directory=str(tmp_path), verbose=0)
    assert again.retrained["epochs"].notna().all() and "retrain" not in again.cut


def test_craft_told_to_stop_early_says_where_its_search_stopped(tmp_path, wine, monkeypatch):
    from kerascraft import budget
    from kerascraft.workflow import craft

    with pytest.raises(ValueError, match="stop_early must be"):
        craft(wine["x"], wine["y"], stop_early=2, directory=str(tmp_path / "bad"), verbose=0)
    # as if the trials after the second had bought nothing
    monkeypatch.setattr(budget, "stalled", lambda trials, *a, **k:
                        "no better score (as this test says)" if len(trials) >= 2 else None)
    result = craft(wine["x"], wine["y"], max_trials=6, epochs=3, top=1, seed=1,
                   stop_early=True, directory=str(tmp_path / "run"), verbose=0)
    assert len(result.trials) == 2
    assert result.cut == {"search": "stopped early: no better score (as this test says)"}
    assert "  search: stopped early: no better score (as this test says)" in result.summary()

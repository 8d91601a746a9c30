"""Optuna's samplers as KerasTuner oracles: mapping of the space, choices, seeds, resuming.

Most tests drive the real tuners with the training step replaced by a function of the
hyperparameters (as bench/search.py does), so they test the search and not Keras.
"""

import keras_tuner as kt
import numpy as np
import optuna
import pytest

import kerascraft as kc
from kerascraft import oracles, samplers
from kerascraft.trials import in_trial_order

HP = kt.engine.hyperparameters


def _space(hp):
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Int("units", 16, 256, step=16)
    hp.Float("dropout", 0.0, 0.5)


def _bowl(values):
    """A smooth bowl with its minimum 0 at lr=1e-2, units=128, dropout=0.25."""
    return ((np.log10(values["lr"]) + 2) ** 2 + ((values["units"] - 128) / 128) ** 2
            + 4 * (values["dropout"] - 0.25) ** 2)


def _search(kind, tmp_path, f=_bowl, space=_space, max_trials=20, seed=1, name=None,
            overwrite=True, calls=None, **kwargs):
    t = kc.tuner(kind, lambda hp: space(hp), objective=kc.objective("score", "min"),
                 max_trials=max_trials, directory=tmp_path, project_name=name or kind,
                 seed=seed, overwrite=overwrite, **kwargs)

    def run_trial(trial, *args, **kwargs):
        if calls is not None:
            calls.append(dict(trial.hyperparameters.values))
        return {"score": f(trial.hyperparameters.values)}

    t.run_trial = run_trial
    t.search(verbose=0)
    return t


def _configs(t):
    return [tuple(sorted(tr.hyperparameters.values.items()))
            for tr in in_trial_order(t.oracle.trials.values())]


def _best(t):
    return min(tr.score for tr in t.oracle.trials.values() if tr.score is not None)


# -- the space ------------------------------------------------------------------------------

def test_each_kind_of_hyperparameter_maps_to_an_optuna_distribution_and_back():
    hp = kt.HyperParameters()
    hp.Int("plain", 1, 9)
    hp.Int("log_int", 8, 1024, sampling="log")
    hp.Int("stepped", 16, 512, step=16)
    hp.Float("log_float", 1e-5, 1e-1, sampling="log")
    hp.Float("log_stepped", 1e-4, 1e-1, step=10, sampling="log")
    hp.Choice("ordered", [8, 16, 32, 64])
    hp.Choice("named", ["adam", "sgd"])
    hp.Boolean("flag")
    hp.Fixed("constant", 3)
    maps = {h.name: samplers.distribution(h) for h in hp.space}
    D = optuna.distributions
    assert maps["constant"] is None
    assert maps["plain"].dist == D.IntDistribution(1, 9)
    assert maps["log_int"].dist == D.IntDistribution(8, 1024, log=True)
    assert maps["log_float"].dist == D.FloatDistribution(1e-5, 1e-1, log=True)
    # finite ordered sets are searched by index, so neighbours stay neighbours
    assert maps["stepped"].dist == D.IntDistribution(0, 31)
    assert maps["log_stepped"].dist == D.IntDistribution(0, 3)
    assert [maps["log_stepped"].to_value(i) for i in range(4)] == pytest.approx(
        [1e-4, 1e-3, 1e-2, 1e-1])
    assert maps["ordered"].dist == D.IntDistribution(0, 3)
    assert samplers.distribution(hp.space[5], ordinal_choices=False).dist == \
        D.CategoricalDistribution([8, 16, 32, 64])
    assert maps["named"].dist == D.CategoricalDistribution(["adam", "sgd"])
    assert maps["flag"].dist == D.CategoricalDistribution([False, True])
    for name in ("stepped", "ordered", "log_stepped"):
        m = maps[name]
        assert [m.to_internal(m.to_value(i)) for i in range(m.dist.high + 1)] == \
            list(range(m.dist.high + 1))


def test_conditional_hyperparameters_are_suggested_only_when_active(tmp_path):
    def space(hp):
        model = hp.Choice("model", ["wide", "deep"])
        with hp.conditional_scope("model", "wide"):
            hp.Int("width", 64, 512, step=64)
        with hp.conditional_scope("model", "deep"):
            hp.Int("depth", 2, 8)

    def f(v):
        return abs(v["width"] - 256) / 256 if v["model"] == "wide" else abs(v["depth"] - 5)

    calls = []
    t = _search("tpe", tmp_path, f=f, space=space, max_trials=12, calls=calls)
    assert len(calls) == 12 and {c["model"] for c in calls} == {"wide", "deep"}
    for c in calls:
        assert set(c) == ({"model", "width"} if c["model"] == "wide" else {"model", "depth"})
    res = kc.results(t)
    assert res.loc[res.model == "wide", "depth"].isna().all()
    assert res.loc[res.model == "deep", "width"].isna().all()


# -- quality and choices ----------------------------------------------------------------------

def test_tpe_and_auto_find_lower_values_than_random_at_the_same_budget(tmp_path):
    best = {kind: [] for kind in ("random", "tpe", "auto")}
    for seed in (1, 2, 3):
        for kind in best:
            best[kind].append(_best(_search(kind, tmp_path, max_trials=30, seed=seed,
                                            name=f"{kind}{seed}")))
    assert np.median(best["tpe"]) < np.median(best["random"])
    assert np.median(best["auto"]) < np.median(best["random"])


def _conditional_space(hp):
    hp.Float("lr", 1e-4, 1e-1, sampling="log")
    hp.Choice("optimizer", ["adam", "sgd"])
    with hp.conditional_scope("optimizer", "sgd"):
        hp.Float("momentum", 0.0, 0.99)


def test_auto_chooses_tpe_for_conditional_spaces_and_says_why(monkeypatch):
    monkeypatch.setattr(samplers, "gp_available", lambda: True)
    hp = kt.HyperParameters()
    _conditional_space(hp)
    sampler, why = samplers.choose_sampler(hp)
    assert sampler == "tpe" and why == "TPE: the space has 1 conditional hyperparameter"


def test_auto_chooses_a_gaussian_process_with_or_without_torch(monkeypatch):
    hp = kt.HyperParameters()
    _space(hp)
    hp.Choice("optimizer", ["adam", "sgd"])
    monkeypatch.setattr(samplers, "gp_available", lambda: True)
    assert samplers.choose_sampler(hp) == ("gp", "Gaussian process: 4 hyperparameters, "
                                              "none conditional")
    assert samplers.choose_sampler(hp, 30)[0] == "gp"
    monkeypatch.setattr(samplers, "gp_available", lambda: False)
    assert samplers.choose_sampler(hp, 30) == (
        "gp-numpy", "kerascraft's Gaussian process (NumPy and SciPy): 4 hyperparameters, "
        "none conditional (Optuna's GP would need PyTorch); 5 of its 30 trials random "
        "before it models the results")
    for i in range(samplers.GP_MAX_DIMENSIONS):
        hp.Float(f"extra{i}", 0.0, 1.0)
    monkeypatch.setattr(samplers, "gp_available", lambda: True)
    assert samplers.choose_sampler(hp) == (
        "gp+tpe", "a Gaussian process and TPE taking turns: 12 hyperparameters, none "
        "conditional (the GP alone is chosen up to 8)")
    monkeypatch.setattr(samplers, "gp_available", lambda: False)
    assert samplers.choose_sampler(hp)[0] == "gp-numpy"


def _mixed_space(hp):
    _space(hp)
    hp.Choice("optimizer", ["adam", "sgd"])
    hp.Choice("batch_size", [32, 64, 128])  # numeric: ordered for the GP, not a category


def test_auto_chooses_kerascrafts_gp_on_a_small_budget_even_with_torch(monkeypatch, tmp_path):
    monkeypatch.setattr(samplers, "gp_available", lambda: True)
    mixed = kt.HyperParameters()
    _mixed_space(mixed)
    small = samplers.NUMPY_GP_BELOW_TRIALS - 1
    assert samplers.choose_sampler(mixed, small) == (
        "gp-numpy", f"kerascraft's Gaussian process (NumPy and SciPy): 5 hyperparameters, "
        f"none conditional, and {small} trials (Optuna's GP is chosen from {small + 1} "
        f"trials: it starts after 10 random ones); 4 of its {small} trials random before it "
        "models the results")
    assert samplers.choose_sampler(mixed, small + 1)[0] == "gp"
    assert samplers.choose_sampler(mixed)[0] == "gp"  # budget not known
    assert samplers.choose_sampler(mixed, 3)[1].endswith(
        "; all 3 trials random: too few for the GP to model the results (it starts after 3)")
    # the oracle decides from its own max_trials, and its GP starts after 3 random trials
    t = _search("auto", tmp_path, space=_mixed_space, f=lambda v: _bowl(v) + len(v["optimizer"]),
                max_trials=6)
    assert t.oracle.chosen_sampler == "gp-numpy" and "and 6 trials" in t.oracle.choice_reason
    assert len(t.oracle.trials) == 6 and t.oracle._study.sampler.n_startup_trials == 3


def test_auto_sizes_tpes_random_start_up_to_the_budget(monkeypatch, tmp_path):
    monkeypatch.setattr(samplers, "gp_available", lambda: False)
    assert [samplers.startup_trials("tpe", n) for n in (3, 10, 20, 30, 49, 50, 200, None)] \
        == [4, 4, 4, 6, 9, 10, 10, 10]
    assert [samplers.startup_trials("gp-numpy", n) for n in (3, 10, 20, 29, 30, 60, 200,
                                                             None)] == [3, 3, 3, 4, 5, 10, 10, 10]

    space = _conditional_space  # TPE
    hp = kt.HyperParameters()
    space(hp)
    assert samplers.choose_sampler(hp, 10)[1].endswith(
        "; 4 of its 10 trials random before it models the results")
    assert "random" not in samplers.choose_sampler(hp)[1]  # budget not known
    assert samplers.choose_sampler(hp, 3)[1].endswith(
        "; all 3 trials random: too few for TPE to model the results (it starts after 4)")
    # the sampler the oracle makes: 4 start-up trials for "auto", Optuna's 10 for "tpe"
    # and for a user's own setting
    for kind, options, startup in (("auto", {}, 4), ("tpe", {}, 10),
                                   ("auto", {"n_startup_trials": 7}, 7)):
        t = kc.tuner(kind, space, objective=kc.objective("score", "min"), max_trials=10,
                     directory=tmp_path, project_name=f"{kind}{startup}", seed=1,
                     sampler_options=options)
        assert t.oracle._new_study().sampler._n_startup_trials == startup
    # kerascraft's GP chosen by the user follows the same rule as under "auto"
    t = kc.tuner("gp-numpy", space, objective=kc.objective("score", "min"), max_trials=60,
                 directory=tmp_path, project_name="gp-numpy", seed=1)
    assert t.oracle._new_study().sampler.n_startup_trials == 10


def test_a_resumed_auto_search_chooses_again_for_another_budget(monkeypatch, tmp_path):
    torch_here = samplers.gp_available()
    monkeypatch.setattr(samplers, "gp_available", lambda: True)
    first = []
    t = _search("auto", tmp_path, space=_mixed_space, max_trials=4, name="budget", calls=first,
                f=lambda v: _bowl(v) + len(v["optimizer"]))
    assert t.oracle.chosen_sampler == "gp-numpy"

    def resumed(max_trials):
        return kc.tuner("auto", _mixed_space, objective=kc.objective("score", "min"),
                        max_trials=max_trials, directory=tmp_path, project_name="budget",
                        seed=1, overwrite=False)

    same = resumed(4)
    assert same.oracle.decide() == t.oracle.choice_reason
    assert same.oracle.chosen_sampler == "gp-numpy"
    longer = resumed(40)
    assert longer.oracle.decide() == (
        "Gaussian process: 5 hyperparameters, none conditional; chosen again on resuming "
        "with max_trials=40 (it was gp-numpy for 4)")
    assert longer.oracle.chosen_sampler == "gp"
    if torch_here:  # Optuna's GP learns from the trials kerascraft's chose, redoing none
        later = []
        t = _search("auto", tmp_path, space=_mixed_space, max_trials=30, name="budget",
                    overwrite=False, calls=later, f=lambda v: _bowl(v) + len(v["optimizer"]))
        assert t.oracle.chosen_sampler == "gp" and len(first) == 4 and len(later) == 26
        assert len(set(_configs(t))) == 30 and len(t.oracle._study.trials) == 30


def test_samplers_taking_turns_each_read_the_whole_history():
    class Recording(optuna.samplers.RandomSampler):
        def __init__(self, seed):
            super().__init__(seed=seed)
            self.turns, self.seen = [], []

        def sample_independent(self, study, trial, name, dist):
            self.turns.append(trial.number)
            self.seen.append(len(study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))))
            return super().sample_independent(study, trial, name, dist)

    a, b = Recording(0), Recording(1)
    study = optuna.create_study(sampler=samplers.TakingTurns([a, b]))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=6)
    assert a.turns == [0, 2, 4] and b.turns == [1, 3, 5]
    assert b.seen == [1, 3, 5]  # every trial so far, its own and the other's


def test_the_search_reports_the_choice_of_auto(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(samplers, "gp_available", lambda: False)
    t = kc.tuner("auto", lambda hp: hp.Choice("optimizer", ["adam", "sgd"]),
                 objective=kc.objective("score", "min"), max_trials=2, directory=tmp_path)
    t.run_trial = lambda trial, *a, **k: {"score": float(len(trial.hyperparameters.values["optimizer"]))}
    t.search(verbose=1)
    assert "search: kerascraft's Gaussian process (NumPy and SciPy): 1 hyperparameter, none " \
        "conditional (Optuna's GP would need PyTorch); all 2 trials random: too few for the " \
        "GP to model the results (it starts after 3)" in capsys.readouterr().out


def test_gp_without_pytorch_says_what_to_install_at_once(tmp_path, monkeypatch):
    monkeypatch.setattr(samplers, "gp_available", lambda: False)
    with pytest.raises(ImportError, match="needs PyTorch.*pip install torch"):
        kc.tuner("gp", lambda hp: _space(hp), objective="val_loss", directory=tmp_path)


@pytest.mark.skipif(not samplers.gp_available(), reason="Optuna's GP needs PyTorch")
def test_gp_search_finds_lower_values_than_random(tmp_path):
    gp = _best(_search("gp", tmp_path, max_trials=20, seed=1))
    rnd = _best(_search("random", tmp_path, max_trials=20, seed=1))
    assert gp < rnd


# -- seeds, repeats, resuming ---------------------------------------------------------------

@pytest.mark.parametrize("kind", ["random", "tpe", "gp-numpy"])
def test_nearby_seeds_give_unrelated_searches_and_a_seed_repeats_its_search(kind, tmp_path):
    # KerasTuner alone seeds value i with seed + i: seeds 1 and 1 + 3 (three
    # hyperparameters) would share all but one value
    a = _configs(_search(kind, tmp_path, max_trials=12, seed=1, name="a"))
    b = _configs(_search(kind, tmp_path, max_trials=12, seed=4, name="b"))
    again = _configs(_search(kind, tmp_path, max_trials=12, seed=1, name="again"))
    assert not set(a) & set(b)
    assert a == again


def test_a_small_space_ends_the_search_when_every_configuration_was_tried(tmp_path, capsys):
    calls = []
    t = kc.tuner("tpe", lambda hp: hp.Choice("optimizer", ["adam", "sgd", "rmsprop"]),
                 objective=kc.objective("score", "min"), max_trials=10, directory=tmp_path)

    def run_trial(trial, *a, **k):
        calls.append(trial.hyperparameters.values["optimizer"])
        return {"score": float(len(calls))}

    t.run_trial = run_trial
    t.search(verbose=1)
    assert sorted(calls) == ["adam", "rmsprop", "sgd"]
    assert "search stopped after 3 of max_trials=10 trials" in capsys.readouterr().out


@pytest.mark.parametrize("kind", ["random", "tpe", "auto"])
def test_a_space_with_nothing_to_search_runs_one_trial(kind, tmp_path):
    # KerasTuner's oracles run the one configuration once and stop ("random" is the
    # reference); the Optuna oracles ran max_trials identical trials
    calls = []
    t = _search(kind, tmp_path, f=lambda values: 1.0, space=lambda hp: hp.Fixed("units", 32),
                max_trials=5, calls=calls)
    assert calls == [{"units": 32}]
    assert list(kc.results(t)["status"]) == ["COMPLETED"]


@pytest.mark.parametrize("kind", ["random", "tpe", "auto"])
def test_log_and_reverse_log_stepped_ints_are_ints_a_dense_layer_takes(kind, tmp_path, digits):
    # KerasTuner's own docstring example: units 8, 16, 32, 64, 128. Handed out as 16.0,
    # Dense() failed in every trial and the search died after three
    import keras

    def build(hp):
        model = keras.Sequential([
            keras.Input((64,)),
            keras.layers.Dense(hp.Int("units", 8, 128, step=2, sampling="log"), activation="relu"),
            keras.layers.Dense(hp.Int("second", 8, 128, step=2, sampling="reverse_log"),
                               activation="relu"),
            keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
        return model

    t = kc.tuner(kind, build, objective="val_loss", max_trials=4, directory=tmp_path, seed=3)
    t.search(digits["x_train"][:200], digits["y_train"][:200], epochs=1, verbose=0,
             validation_data=(digits["x_val"][:100], digits["y_val"][:100]))
    res = kc.results(t)
    assert list(res["status"]) == ["COMPLETED"] * 4
    for trial in t.oracle.trials.values():
        values = trial.hyperparameters.values
        assert type(values["units"]) is int and values["units"] in (8, 16, 32, 64, 128)
        assert type(values["second"]) is int and values["second"] in (128, 120, 104, 72, 8)


def test_a_resumed_search_keeps_its_trials_and_learns_from_them(tmp_path):
    first = []
    _search("auto", tmp_path, max_trials=8, seed=5, name="resume", calls=first)
    later = []
    t = _search("auto", tmp_path, max_trials=14, seed=5, name="resume", overwrite=False,
                calls=later)
    assert len(first) == 8 and len(later) == 6  # nothing redone
    assert len(set(_configs(t))) == 14
    # the sampler was told the first eight (a fresh study would sample at random again)
    assert len(t.oracle._study.trials) == 14
    assert sum(s.state == optuna.trial.TrialState.COMPLETE for s in t.oracle._study.trials) == 14


@pytest.mark.parametrize("kind", ["auto", "tpe"])
def test_defaults_first_starts_from_the_spaces_defaults_once(kind, tmp_path, capsys):
    def space(hp):
        hp.Float("lr", 1e-4, 1e-1, sampling="log", default=2e-3)
        hp.Int("units", 16, 256, step=16, default=64)
        hp.Choice("kind", ["a", "b", "c"], default="b")

    def f(values):
        return _bowl({**values, "dropout": 0.25}) + (values["kind"] != "a")

    first = []
    t = _search(kind, tmp_path, f=f, space=space, max_trials=6, name="defaults", calls=first,
                defaults_first=True)
    assert first[0] == {"lr": 2e-3, "units": 64, "kind": "b"}
    assert all(c != first[0] for c in first[1:])  # then the sampler's own
    # the sampler learnt the first trial as any other
    assert len(t.oracle._study.trials) == 6
    if kind == "auto":
        assert "(the first of them the space's defaults)" in t.oracle.choice_reason
    later = []
    _search(kind, tmp_path, f=f, space=space, max_trials=9, name="defaults", calls=later,
            overwrite=False, defaults_first=True)
    assert len(later) == 3 and first[0] not in later  # a resumed search does not repeat it
    plain = []
    _search(kind, tmp_path, f=f, space=space, max_trials=3, name="plain", calls=plain)
    assert plain[0] != first[0]  # off by default: the sampler's first suggestion


def _wide(hp):
    """Nine hyperparameters: "auto" lets the GP and TPE take turns."""
    _space(hp)
    for i in range(6):
        hp.Float(f"x{i}", 0.0, 1.0)


def _wide_bowl(values):
    return _bowl(values) + sum((values[f"x{i}"] - 0.5) ** 2 for i in range(6))


@pytest.mark.skipif(not samplers.gp_available(), reason="Optuna's GP needs PyTorch")
def test_auto_on_a_larger_space_takes_turns_resumes_and_beats_random(tmp_path):
    first = []
    _search("auto", tmp_path, f=_wide_bowl, space=_wide, max_trials=12, seed=2,
            name="turns", calls=first)
    t = _search("auto", tmp_path, f=_wide_bowl, space=_wide, max_trials=24, seed=2,
                name="turns", overwrite=False)
    assert t.oracle.chosen_sampler == "gp+tpe" and "taking turns" in t.oracle.choice_reason
    assert isinstance(t.oracle._study.sampler, samplers.TakingTurns)
    assert len(first) == 12 and len(set(_configs(t))) == 24  # nothing redone
    rnd = _search("random", tmp_path, f=_wide_bowl, space=_wide, max_trials=24, seed=2)
    assert _best(t) < _best(rnd)


def test_failed_trials_are_told_as_failures_and_the_search_goes_on(tmp_path):
    def f(v):
        if v["units"] > 192:
            raise kt.errors.FailedTrialError("too wide")
        return _bowl(v)

    t = _search("tpe", tmp_path, f=f, max_trials=16, seed=3, max_consecutive_failed_trials=16)
    res = kc.results(t)
    assert len(res) == 16
    failed = res[res.status == "FAILED"]
    assert len(failed) >= 1 and (res.status == "COMPLETED").sum() >= 1
    assert (failed.units > 192).all() and (res[res.status == "COMPLETED"].units <= 192).all()
    states = [s.state for s in t.oracle._study.trials]
    assert states.count(optuna.trial.TrialState.FAIL) == len(failed)


# -- the objective ------------------------------------------------------------------------------

def test_a_misspelt_objective_names_the_metric_it_resembles(tmp_path):
    with pytest.raises(ValueError, match="Did you mean 'val_accuracy'") as err:
        kc.tuner("auto", lambda hp: _space(hp), objective="val_acuracy", directory=tmp_path)
    assert "objective('val_acuracy', 'max')" in str(err.value).replace("kerascraft.", "")


def test_an_unknown_custom_metric_is_told_to_give_its_direction(tmp_path):
    with pytest.raises(ValueError, match="give its direction") as err:
        kc.tuner("auto", lambda hp: _space(hp), objective="val_sharpe", directory=tmp_path)
    assert "Did you mean" not in str(err.value)
    kc.tuner("auto", lambda hp: _space(hp), objective=kc.objective("val_sharpe", "max"),
             directory=tmp_path)


# -- pruning ----------------------------------------------------------------------------------

def _pruning_tuner(tmp_path, **pruning):
    return kc.tuner("tpe", lambda hp: _space(hp), objective=kc.objective("score", "min"),
                    max_trials=20, directory=tmp_path, pruning=pruning or True)


def _train(oracle, curve):
    """Report a learning curve epoch by epoch; the epoch (1-based) it was stopped at."""
    trial = oracle.create_trial("tuner0")
    for step, value in enumerate(curve):
        if oracle.update_trial(trial.trial_id, {"score": value}, step=step).status == "STOPPED":
            trial.status = "COMPLETED"
            oracle.end_trial(trial)
            return step + 1
    trial.status = "COMPLETED"
    oracle.end_trial(trial)
    return None


def test_pruning_stops_a_trial_behind_the_best_third_at_a_rung(tmp_path):
    oracle = _pruning_tuner(tmp_path).oracle  # rungs at epochs 2, 6, 18
    good = [1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1]
    assert _train(oracle, good) is None
    assert _train(oracle, [2.0, 1.0, 0.3, 0.2, 0.1, 0.05, 0.05, 0.05]) == 2  # behind at 2
    assert _train(oracle, [1.0, 0.45, 0.4, 0.35, 0.3, 0.25, 0.2, 0.2]) == 6  # ahead at 2, not 6
    assert _train(oracle, [0.9, 0.4, 0.3, 0.2, 0.1, 0.05, 0.04, 0.03]) is None  # best at both
    assert sorted(oracle.pruned.values()) == [2, 6]


def test_a_trial_in_the_best_third_goes_on(tmp_path):
    oracle = _pruning_tuner(tmp_path, factor=2).oracle
    for curve in ([1.0, 0.5, 0.4], [1.0, 0.6, 0.5], [1.0, 0.7, 0.6]):
        _train(oracle, curve)
    # four trials reached epoch 2; with factor 2 the best two go on: 0.55 is second best
    assert _train(oracle, [1.0, 0.55, 0.5]) is None


def test_a_pruned_trial_is_told_to_the_sampler_as_pruned_not_complete(tmp_path):
    # its score is a half-trained value: Optuna's samplers must not model it as a finished one
    t = _pruning_tuner(tmp_path)
    oracle = t.oracle
    _train(oracle, [1.0, 0.5, 0.4, 0.3, 0.2, 0.1, 0.1, 0.1])
    assert _train(oracle, [2.0, 1.0, 0.9, 0.8]) == 2
    states = [t.state for t in oracle._study.trials]
    assert states == [optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED]
    pruned = oracle._study.trials[1]
    assert pruned.value == 1.0 and pruned.intermediate_values == {1: 2.0, 2: 1.0}
    assert kc.results(t)["status"].tolist() == ["COMPLETED", "PRUNED"]


def test_a_resumed_search_prunes_against_the_trials_of_the_earlier_process(tmp_path):
    t = _pruning_tuner(tmp_path)
    for curve in ([1.0, 0.5, 0.4], [1.0, 0.45, 0.4], [1.0, 0.4, 0.3]):
        assert _train(t.oracle, curve) is None
    assert _train(t.oracle, [1.0, 0.9, 0.8]) == 2
    t.save()  # as the search does after each trial (what a resume reloads from)
    # a new process: the study is rebuilt from the trials' files, the pruned one as pruned,
    # and the rungs they passed count, so a trial behind them at epoch 2 stops there
    resumed = _pruning_tuner(tmp_path).oracle
    assert _train(resumed, [1.0, 0.8, 0.7]) == 2
    states = [t.state for t in resumed._study.trials]
    assert states.count(optuna.trial.TrialState.PRUNED) == 2 and len(states) == 5
    assert _train(resumed, [0.9, 0.35, 0.3]) is None  # the best at epoch 2 goes on


def test_pruning_settings_are_checked():
    assert samplers.pruning_settings(True) == samplers.PRUNING_DEFAULTS
    assert samplers.pruning_settings(False) is None
    assert samplers.pruning_settings({"factor": 4.0}) == {"min_epochs": 2, "factor": 4}
    with pytest.raises(ValueError, match="factor must be a whole number of at least 2"):
        samplers.pruning_settings({"factor": 1})
    with pytest.raises(ValueError, match="min_epochs and factor"):
        samplers.pruning_settings({"patience": 3})


def test_pruned_trials_stop_training_and_say_so_in_results(tmp_path, digits):
    import keras

    def build(hp):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
        model.compile(optimizer=keras.optimizers.SGD(hp.Float("lr", 1e-5, 1.0, sampling="log")),
                      loss="sparse_categorical_crossentropy")
        return model

    t = kc.tuner("tpe", build, objective="val_loss", max_trials=6, directory=tmp_path, seed=2,
                 pruning={"min_epochs": 1, "factor": 2})
    t.search(digits["x_train"][:300], digits["y_train"][:300], epochs=4, batch_size=100,
             validation_data=(digits["x_val"], digits["y_val"]), verbose=0)
    res = kc.results(t)
    pruned = res[res.status == "PRUNED"]
    assert len(pruned) >= 1 and len(res) == 6
    for trial_id, stopped in t.oracle.pruned.items():
        epochs = len(t.oracle.get_trial(trial_id).metrics.get_history("val_loss"))
        assert epochs == stopped < 4
    # each was stopped behind: at its rung another trial had a lower val_loss so far
    def best_by(trial_id, epoch):
        history = t.oracle.get_trial(trial_id).metrics.get_history("val_loss")
        values = [float(np.mean(o.value)) for o in history if o.step < epoch]
        return min(values) if len(history) >= epoch else None

    for trial_id, stopped in t.oracle.pruned.items():
        rivals = [v for other in t.oracle.trials if other != trial_id
                  and (v := best_by(other, stopped)) is not None]
        assert rivals and min(rivals) < best_by(trial_id, stopped)

"""A search read back: the results table, the best trials and the data both plots draw."""

import numpy as np

import kerascraft as kc
from kerascraft.trials import TrialStatus, search_plot_data
from test_oracles import _search


def _space(hp):
    hp.Float("lr", 1e-3, 1e-1, sampling="log")
    hp.Choice("optimizer", ["adam", "sgd"])


def _score(values):
    return abs(np.log10(values["lr"]) + 2) + (values["optimizer"] == "sgd")


def test_plot_data_has_the_running_best_in_the_objectives_direction(tmp_path):
    t = _search("random", tmp_path, f=_score, space=_space, max_trials=8)
    data = search_plot_data(t)
    progress = data["progress"]
    assert data["objective"] == "score" and progress["trial"] == list(range(1, 9))
    assert progress["best"] == list(np.minimum.accumulate(progress["score"]))  # "min"
    assert set(progress["status"]) == {TrialStatus.COMPLETED}
    assert data["numeric"] == {"lr": True, "optimizer": False}
    long = data["hyperparameters"]
    assert long["hyperparameter"].count("lr") == 8 == long["hyperparameter"].count("optimizer")
    rows = [i for i, h in enumerate(long["hyperparameter"]) if h == "optimizer"]
    assert {long["label"][i] for i in rows} <= {"adam", "sgd"}
    assert all(long["value"][i] is None for i in rows)
    # the best trial is the one with the lowest score, and its row is the plot's last best
    best = kc.best_trials(t, 1)[0]
    assert best.score == progress["best"][-1] == min(kc.results(t)["score"])


def test_a_search_resumed_with_a_larger_budget_reads_back_in_trial_order(tmp_path):
    # KerasTuner pads trial ids to the width of max_trials: 0..3, then 04..11 after the
    # resume; as strings they sort 0, 04, ..., 09, 1, 10, 11, 2, 3
    def flat(values):  # every trial ties: the earliest one is the best
        return 1.0

    _search("tpe", tmp_path, f=flat, max_trials=4, name="resumed")
    t = _search("tpe", tmp_path, f=flat, max_trials=12, name="resumed", overwrite=False)
    ids = list(kc.results(t)["trial_id"])
    assert ids == ["0", "1", "2", "3"] + [f"{i:02d}" for i in range(4, 12)]
    assert search_plot_data(t)["progress"]["trial"] == list(range(1, 13))
    assert kc.best_trials(t, 1)[0].trial_id == "0"
    assert [tr.trial_id for tr in kc.best_trials(t, 3)] == ["0", "1", "2"]


def test_the_diversity_heat_map_has_each_pair_both_ways_and_ones_on_the_diagonal():
    table = {"model_a": ["a", "a", "b"], "model_b": ["b", "c", "c"],
             "error_correlation": [0.5, float("nan"), -0.2]}
    data = kc.diversity_plot_data(table)
    assert data["models"] == ["a", "b", "c"]
    cells = {(a, b): r for a, b, r in zip(data["a"], data["b"], data["r"])}
    assert len(cells) == 9 and cells[("a", "a")] == 1.0
    assert cells[("a", "b")] == cells[("b", "a")] == 0.5 and cells[("c", "a")] is None

import json
import os

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, log_loss, mean_absolute_error, mean_squared_error, roc_auc_score

import kerascraft as kc
from kerascraft.ensemble.analysis import best_share_accuracy
from kerascraft.ensemble.metrics import metric_value


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _noisy_models(y, k, strengths, seed=0):
    """Class probabilities of models of given strength on labels y."""
    rng = np.random.default_rng(seed)
    out = {}
    for i, s in enumerate(strengths):
        z = rng.normal(size=(len(y), k))
        z[np.arange(len(y)), y] += s
        out[f"m{i}"] = _softmax(z)
    return out


@pytest.fixture(scope="module")
def sk_library():
    """Five different scikit-learn models on digits: validation and test predictions."""
    from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.naive_bayes import GaussianNB
    from sklearn.neighbors import KNeighborsClassifier

    d = kc.load_digits(seed=0)
    models = {"logreg": LogisticRegression(max_iter=2000), "forest": RandomForestClassifier(random_state=0),
              "bayes": GaussianNB(), "knn": KNeighborsClassifier(),
              "gbt": kc.fit_gradient_boosting(d["x_train"], d["y_train"], max_iter=60)}
    for name, m in models.items():
        if name != "gbt":
            m.fit(d["x_train"], d["y_train"])
    return d, kc.predictions(models, d["x_val"]), kc.predictions(models, d["x_test"])


# ---- 1. tasks and metrics


def test_task_inference_and_default_metrics():
    y = np.array([0, 1, 2, 1, 0, 2])
    probs = _noisy_models(y, 3, [1, 2])
    assert kc.fit_ensemble(probs, y).task == "classification"
    assert kc.fit_ensemble(probs, y).metric == "log_loss"
    yb = np.array([0, 1, 1, 0, 1, 0])
    binary = {"a": np.linspace(0.1, 0.9, 6), "b": np.linspace(0.2, 0.8, 6).reshape(-1, 1)}
    e = kc.fit_ensemble(binary, yb)
    assert e.task == "classification" and e.n_classes == 2
    reg = {"a": np.array([1.5, 2.0, 3.1, 0.2, 1.0, 2.2]), "b": np.array([1.4, 2.2, 3.0, 0.1, 1.2, 2.0])}
    e = kc.fit_ensemble(reg, np.array([1.5, 2.1, 3.0, 0.0, 1.1, 2.1]))
    assert e.task == "regression" and e.metric == "mse"
    # probabilities with integer labels but the user says regression
    assert kc.fit_ensemble(binary, yb, task="regression").task == "regression"


def test_named_and_function_metrics(sk_library):
    d, val, _ = sk_library
    acc = kc.fit_ensemble(val, d["y_val"], metric="accuracy")
    assert acc.direction == "max" and acc.scores["in_sample"] >= acc.scores["best_single"]
    f = kc.fit_ensemble(val, d["y_val"], metric=lambda yt, p: float(np.mean(p.argmax(1) != yt)),
                        direction="min")
    assert f.scores["in_sample"] == pytest.approx(1 - acc.scores["in_sample"], abs=0.02)
    with pytest.raises(ValueError, match="direction='min'"):
        kc.fit_ensemble(val, d["y_val"], metric=lambda yt, p: 0.0)
    with pytest.raises(ValueError, match="'mse' is a regression metric"):
        kc.fit_ensemble(val, d["y_val"], metric="mse")
    with pytest.raises(ValueError, match="binary"):
        kc.fit_ensemble(val, d["y_val"], metric="auc")
    with pytest.raises(ValueError, match="contradicts"):
        kc.fit_ensemble(val, d["y_val"], metric="accuracy", direction="min")


def test_metrics_agree_with_scikit_learn():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 200)
    p = _softmax(rng.normal(size=(200, 2)) + np.eye(2)[y])
    assert metric_value("log_loss", y, p) == pytest.approx(log_loss(y, p))
    assert metric_value("accuracy", y, p) == pytest.approx(accuracy_score(y, p.argmax(1)))
    assert metric_value("auc", y, p) == pytest.approx(roc_auc_score(y, p[:, 1]))
    t = rng.normal(size=(200, 1))
    q = t + rng.normal(size=(200, 1))
    assert metric_value("mse", t, q) == pytest.approx(mean_squared_error(t, q))
    assert metric_value("mae", t, q) == pytest.approx(mean_absolute_error(t, q))


# ---- 2. methods


@pytest.mark.parametrize("method", ["greedy", "nelder_mead", "random"])
def test_fitted_methods_beat_the_mean_when_one_model_is_bad(method):
    y = np.random.default_rng(0).integers(0, 4, 600)
    preds = _noisy_models(y, 4, [2.5, 2.5, 0.0])  # m2 is noise
    e = kc.fit_ensemble(preds, y, method=method)
    w = e.weights
    assert set(w) == {"m0", "m1", "m2"}
    assert all(v >= 0 for v in w.values()) and sum(w.values()) == pytest.approx(1)
    assert w["m2"] < 0.1 < min(w["m0"], w["m1"])
    assert e.scores["in_sample"] < e.scores["mean"]
    assert e.scores["in_sample"] < e.scores["best_single"]  # two good independent models


def _overconfident(y, k, strengths, temperature, seed):
    """Models that rank the classes well but are ``temperature`` times too sure."""
    return {n: _softmax(np.log(p) * temperature)
            for n, p in _noisy_models(y, k, strengths, seed).items()}


def test_stack_recalibrates_and_beats_the_weighted_mean_on_held_out_data():
    rng = np.random.default_rng(1)
    y_val, y_test = rng.integers(0, 4, 400), rng.integers(0, 4, 2000)
    val = _overconfident(y_val, 4, [2.0, 2.0, 1.0], 3.0, seed=1)
    test = _overconfident(y_test, 4, [2.0, 2.0, 1.0], 3.0, seed=2)
    stack = kc.fit_ensemble(val, y_val, method="stack")
    greedy = kc.fit_ensemble(val, y_val)
    loss = {e.method: metric_value("log_loss", y_test, e.predict(test)) for e in (stack, greedy)}
    # a convex combination of overconfident models stays overconfident, where the stack
    # rescales the members' log probabilities (and adds independent evidence up)
    assert loss["stack"] < 0.7 * loss["greedy"]
    chosen = min(stack.history, key=lambda h: h["inner_cv_loss"])
    assert (stack.options["stack_anchor"], stack.options["stack_lambda"]) == \
        (chosen["anchor"], chosen["lam"])
    assert {h["anchor"] for h in stack.history} == {"greedy weights", "equal weights"}
    assert sum(stack.weights.values()) == pytest.approx(1)
    assert "stacked: weighted geometric mean" in stack.summary()
    assert "defensive share: 10% of its probabilities are the greedy" in stack.summary()


def test_stack_on_a_tiny_set_stays_near_the_best_single_model():
    rng = np.random.default_rng(2)
    y, y_test = rng.integers(0, 3, 30), rng.integers(0, 3, 3000)
    strengths = [3.0, 0.3, 0.3, 0.3, 0.3]  # one good, four weak
    e = kc.fit_ensemble(_noisy_models(y, 3, strengths, seed=3), y, method="stack")
    assert e.scores["best_single_model"] == "m0" and e.weights["m0"] > 0.6
    # on held-out data, 30 fitting samples do not make it much worse than m0 alone
    test = _noisy_models(y_test, 3, strengths, seed=4)
    assert metric_value("log_loss", y_test, e.predict(test)) < \
        1.1 * metric_value("log_loss", y_test, test["m0"])


def test_stack_among_equals_is_pulled_towards_equal_weights_not_a_best_chosen_on_noise():
    rng = np.random.default_rng(0)
    y, y_test = rng.integers(0, 3, 40), rng.integers(0, 3, 3000)
    equals = [0.8] * 6  # six equally good, independent members: "the best" is noise
    e = kc.fit_ensemble(_noisy_models(y, 3, equals, seed=10), y, method="stack")
    assert e.stack.anchor == "equal weights" and "towards equal weights" in e.summary()
    test = _noisy_models(y_test, 3, equals, seed=20)
    assert metric_value("log_loss", y_test, e.predict(test)) < \
        0.6 * metric_value("log_loss", y_test, test[e.scores["best_single_model"]])


def test_stack_held_hard_to_its_centre_is_the_greedy_ensemble(monkeypatch):
    # two good members and four of pure noise: equal weights would mix the noise in, the
    # greedy weights leave it out; held hard to its centre the stack *is* those weights
    from kerascraft.ensemble import fitted, stacking

    monkeypatch.setattr(fitted, "fit_stack",
                        lambda *a, **kw: stacking.fit_stack(*a, lambdas=(1e4,), **kw))
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 300)
    preds = _noisy_models(y, 3, [1.5, 1.0, 0, 0, 0, 0], seed=6)
    e = kc.fit_ensemble(preds, y, method="stack")
    greedy = kc.fit_ensemble(preds, y).weights
    assert e.stack.anchor == "greedy weights"
    coef = dict(zip(e.names, e.stack.coef / e.stack.coef.sum()))
    assert coef == pytest.approx(greedy, abs=0.01)
    assert greedy["m2"] == greedy["m3"] == 0 and greedy["m0"] > 0


def test_stack_keeps_a_defensive_share_of_the_greedy_ensemble():
    # members that separate the fitting rows make the stack sharpen (coefficients summing
    # well above 1); a new sample that every member doubts would then cost it dearly. The
    # greedy ensemble's share bounds that sample's loss at log(1 / 0.1) above greedy's.
    from kerascraft.ensemble import stacking
    from kerascraft.ensemble.fitted import folds

    rng = np.random.default_rng(7)
    y = rng.integers(0, 2, 120)
    preds = _noisy_models(y, 2, [4.0, 3.5, 3.0], seed=8)
    P = np.stack([preds[n] for n in sorted(preds)])
    greedy_of = lambda rows: np.full(3, 1 / 3)  # noqa: E731  (the pool: their mean)
    folds_of = lambda yy, k, seed: folds(yy, "classification", k, seed)  # noqa: E731
    defended, _ = stacking.fit_stack(P, y, "classification", greedy_of, folds_of)
    bare, _ = stacking.fit_stack(P, y, "classification", greedy_of, folds_of, defence=0)
    assert bare.coef.sum() > 1.5 and defended.defence == stacking.DEFENCE == 0.1
    doubted = np.array([[[0.1, 0.9]], [[0.15, 0.85]], [[0.2, 0.8]]])  # class 0 is right
    loss = {s: -np.log(st.predict(doubted)[0, 0]) for s, st in
            (("defended", defended), ("bare", bare))}
    greedy_loss = -np.log(doubted[:, 0, 0].mean())
    assert loss["defended"] <= greedy_loss + np.log(10) + 1e-9 < loss["bare"]
    # where the members are right, the share costs at most log(1 / 0.9)
    right = np.array([[[0.9, 0.1]], [[0.85, 0.15]], [[0.8, 0.2]]])
    assert -np.log(defended.predict(right)[0, 0]) <= \
        -np.log(bare.predict(right)[0, 0]) + np.log(1 / 0.9) + 0.05


def test_stack_for_regression_is_non_negative_with_an_intercept():
    rng = np.random.default_rng(3)
    y = rng.normal(size=500)
    preds = {"a": 0.5 * y + 2.0 + 0.2 * rng.normal(size=500),  # right direction, off scale
             "b": y + 0.8 * rng.normal(size=500), "noise": rng.normal(size=500)}
    e = kc.fit_ensemble(preds, y, method="stack")
    assert e.task == "regression" and e.weights["noise"] < 0.05
    assert min(e.stack.coef) >= 0 and e.stack.intercept[0] < -1  # undoes a's offset
    assert e.scores["in_sample"] < 0.5 * e.scores["best_single"]
    with pytest.raises(ValueError, match="power applies to the weighted means"):
        kc.fit_ensemble(preds, y, method="stack", power=2)


def test_stack_cross_fitted_and_saved(tmp_path):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, 300)
    val = _overconfident(y, 3, [2.0, 1.5, 0.0], 2.0, seed=5)
    e = kc.fit_ensemble(val, y, method="stack", cv=3)
    assert e.fold_weights.shape == (3, 3) and e.scores["cross_fitted"] > e.scores["in_sample"]
    path = e.save(tmp_path / "stack.json")
    with open(path) as f:
        saved = json.load(f)
    assert saved["version"] == 3 and saved["stack"]["defence"] == 0.1
    back = kc.load_ensemble(path)
    assert np.array_equal(back.predict(val), e.predict(val))
    used = {n: val[n] for n in back.used}  # only the used members are needed
    assert np.allclose(back.predict(used), e.predict(val))
    # a stack saved before the defensive share (version 2) predicts as it did: no share
    del saved["stack"]["pool"], saved["stack"]["defence"]
    saved["version"] = 2
    with open(tmp_path / "v2.json", "w") as f:
        json.dump(saved, f)
    old = kc.load_ensemble(tmp_path / "v2.json")
    assert old.stack.defence == 0 and old.stack.pool is None
    P = np.stack([val[n] for n in e.names])
    z = np.tensordot(e.stack.coef, np.log(P), axes=1) + e.stack.intercept
    assert np.allclose(old.predict(val), _softmax(z), atol=1e-5)
    assert not np.allclose(old.predict(val), e.predict(val), atol=1e-5)
    # a weighted mean is still written as version 1, readable by older releases
    e1 = kc.fit_ensemble(val, y)
    with open(e1.save(tmp_path / "greedy.json")) as f:
        assert json.load(f)["version"] == 1


def test_cross_fit_predicts_each_row_with_a_model_that_did_not_see_it():
    from sklearn.naive_bayes import GaussianNB

    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 90)
    x = np.column_stack([np.arange(90), y + rng.normal(scale=0.8, size=90)])  # column 0: row id
    trained_on = []

    def recorder(x_train, y_train, x_val, y_val):
        trained_on.append((set(x_train[:, 0].astype(int)), set(x_val[:, 0].astype(int))))
        return lambda x_new: np.full((len(x_new), 3), 1 / 3)

    def broken(*_):
        raise RuntimeError("out of memory")

    with pytest.warns(UserWarning, match="member 'broken' failed .* out of memory"):
        cf = kc.cross_fit({"nb": GaussianNB(), "rec": recorder, "broken": broken}, x, y,
                          cv=3, seed=1, verbose=0)
    assert cf.names == ["nb", "rec"] and "out of memory" in cf.failed["broken"]
    assert len(trained_on) == 3
    assert sorted(np.concatenate(cf.folds).tolist()) == list(range(90))
    # a fit function trains on the other folds but a share it stops early on (a third of
    # them here), and never sees the fold it predicts, not even as validation data
    for (seen, stop), held in zip(trained_on, cf.folds):
        assert not (seen & stop) and not ((seen | stop) & set(held))
        assert seen | stop | set(held) == set(range(90)) and len(stop) == 20
    assert cf.oof["nb"].shape == (90, 3)
    for held in cf.folds:  # each fold predicted by a model trained on the other folds
        rest = np.setdiff1d(np.arange(90), held)
        assert np.allclose(cf.oof["nb"][held],
                           GaussianNB().fit(x[rest], y[rest]).predict_proba(x[held]))
    # the estimator predicts with a model trained on all rows, the fit function with the
    # mean of its fold models (it stopped early, so has no all-rows equivalent);
    # bagged=True: the fold models' mean for both
    assert cf.routes == {"nb": kc.ensemble.crossfit.REFIT, "rec": kc.ensemble.crossfit.BAGGED}
    new = x[:5]
    assert np.allclose(cf.predict(new)["nb"], GaussianNB().fit(x, y).predict_proba(new))
    manual = np.mean([m.predict_proba(new) for m in cf.fold_models["nb"]], axis=0)
    assert not np.allclose(manual, cf.predict(new)["nb"])
    assert np.allclose(cf.predict(new, bagged=True)["nb"], manual)
    assert "refit on all rows" in repr(cf) and "bagged" in repr(cf)
    e = kc.fit_ensemble(cf.oof, y, method="stack")
    assert e.weights["nb"] > 0.9  # the constant member adds nothing
    # float32 probabilities that drift from 1 (scikit-learn's naive Bayes on float32 data)
    # come back as probabilities
    drifting = kc.cross_fit({"d": lambda *_: (lambda x_new: np.full((len(x_new), 3), 0.345))},
                            x, y, cv=3, verbose=0)
    assert np.allclose(drifting.oof["d"].sum(axis=1), 1)
    assert np.allclose(drifting.predict(x[:4])["d"], 1 / 3)
    # refit=True refits fit functions too, without held-out data; False bags everything
    val_rows = []

    def constant(x_train, y_train, x_val, y_val):
        val_rows.append(None if x_val is None else len(x_val))
        return lambda x_new: np.full((len(x_new), 3), 1 / 3)

    kc.cross_fit({"c": constant}, x, y, cv=3, refit=True, verbose=0)
    assert val_rows == [20, 20, 20, None]
    assert not kc.cross_fit({"nb": GaussianNB()}, x, y, cv=3, refit=False, verbose=0).refitted
    with pytest.raises(ValueError, match="refit must be 'auto', True or False"):
        kc.cross_fit({"nb": GaussianNB()}, x, y, refit="all")
    with pytest.raises(ValueError, match="at least 5 rows of every class"):
        kc.cross_fit({"nb": GaussianNB()}, x[:12], np.array([0] * 10 + [1, 1]), cv=5)
    with pytest.raises(RuntimeError, match="every member failed"), pytest.warns(UserWarning):
        kc.cross_fit({"broken": broken}, x, y, cv=3, verbose=0)


def test_mean_is_equal_weights_and_predict_is_the_weighted_sum():
    y = np.array([0, 1, 2, 2, 1, 0, 1])
    preds = _noisy_models(y, 3, [1, 2, 3])
    e = kc.fit_ensemble(preds, y, method="mean")
    assert list(e.weights.values()) == pytest.approx([1 / 3] * 3)
    e = kc.fit_ensemble(preds, y)
    manual = sum(e.weights[n] * preds[n] for n in preds)
    assert np.allclose(e.predict(preds), manual, atol=1e-6)
    assert e.predict(preds).shape == (7, 3)


def test_greedy_keeps_the_best_iteration():
    y = np.random.default_rng(1).integers(0, 3, 400)
    preds = _noisy_models(y, 3, [3.0, 1.0, 1.0, 0.5], seed=2)
    e = kc.fit_ensemble(preds, y, method="greedy", init_size=1, max_iter=30)
    losses = [h["loss"] for h in e.history]
    assert len(e.history) == 31 and e.history[0]["size"] == 1
    # the weights are those of the best prefix, not of the last iteration
    assert e.scores["in_sample"] == pytest.approx(min(losses), rel=1e-5)
    best = int(np.argmin(losses))
    assert sum(e.weights.values()) == pytest.approx(1)
    counts = np.bincount([h["added"] for h in e.history[1:best + 1]], minlength=4)
    counts[0] += 1  # the starting model: the best one alone
    assert list(e.weights.values()) == pytest.approx(list(counts / counts.sum()))
    # started from the mean of the best few models, as many as help (here m0 alone) ...
    e3 = kc.fit_ensemble(preds, y, method="greedy", init_size=3, max_iter=0)
    assert e3.weights == {"m0": 1.0, "m1": 0.0, "m2": 0.0, "m3": 0.0}
    # ... and two equally good independent models start together, the weak one left out
    pair = _noisy_models(y, 3, [2.0, 2.0, 0.3], seed=4)
    e2 = kc.fit_ensemble(pair, y, method="greedy", init_size=3, max_iter=0)
    assert e2.weights == {"m0": 0.5, "m1": 0.5, "m2": 0.0}


def test_power_mean():
    y = np.array([0, 1, 1, 0, 1])
    preds = _noisy_models(y, 2, [1, 2])
    e = kc.fit_ensemble(preds, y, method="mean", power=2.0)
    manual = np.sqrt(0.5 * preds["m0"] ** 2 + 0.5 * preds["m1"] ** 2)
    manual /= manual.sum(axis=1, keepdims=True)
    assert np.allclose(e.predict(preds), manual, atol=1e-6)
    with pytest.raises(ValueError, match="power"):
        kc.fit_ensemble(preds, y, power=0)


def test_regression_and_binary_vectors_keep_their_shape():
    rng = np.random.default_rng(0)
    t = rng.normal(size=300)
    reg = {"a": t + rng.normal(scale=0.5, size=300), "b": t + rng.normal(scale=0.5, size=300),
           "c": t + 2.0}
    e = kc.fit_ensemble(reg, t, metric="mae")
    assert e.weights["c"] < 0.2
    assert e.predict(reg).shape == (300,)
    yb = rng.integers(0, 2, 300)
    binary = {"a": np.clip(yb * 0.6 + rng.uniform(0, 0.4, 300), 0, 1),
              "b": np.clip(yb * 0.5 + rng.uniform(0, 0.5, 300), 0, 1)}
    e = kc.fit_ensemble(binary, yb, metric="auc")
    assert e.predict(binary).shape == (300,)
    table = e.evaluate(yb, binary)
    assert {"log_loss", "accuracy", "auc"} <= set(table.columns)


# ---- 3. the fitted ensemble on test data


def test_evaluate_lists_every_model_the_mean_and_the_ensemble(sk_library):
    d, val, test = sk_library
    e = kc.fit_ensemble(val, d["y_val"])
    table = e.evaluate(d["y_test"], test)
    assert list(table.kind) == ["ensemble", "mean"] + ["single"] * 5
    assert set(table.model[2:]) == set(val)
    for _, row in table.iterrows():
        pred = e.predict(test) if row.kind == "ensemble" else (
            np.mean(list(test.values()), axis=0) if row.kind == "mean" else test[row.model])
        assert row.log_loss == pytest.approx(log_loss(d["y_test"], pred.astype(float), labels=range(10)), rel=1e-4)
        assert row.accuracy == pytest.approx(accuracy_score(d["y_test"], pred.argmax(1)))
    # the outcome that matters: on held-out digits the fitted ensemble beats the best single
    # model chosen on validation, in log loss
    best_single = table[table.kind == "single"].iloc[0]
    assert table.log_loss[0] < 0.9 * best_single.log_loss
    assert e.unused == [n for n, w in e.weights.items() if w == 0]
    assert "unused" in e.summary() or not e.unused
    # only used models are needed to predict
    assert np.allclose(e.predict({n: test[n] for n in e.used}), e.predict(test))


# ---- 4. cross-fitting and fragile weights


def test_cross_fitting_reports_both_scores_and_averages_fold_weights(sk_library):
    d, val, _ = sk_library
    e = kc.fit_ensemble(val, d["y_val"], cv=5)
    assert e.fold_weights.shape == (5, 5)
    assert list(e.weights.values()) == pytest.approx(list(e.fold_weights.mean(axis=0)), abs=1e-9)
    assert {"in_sample", "cross_fitted"} <= set(e.scores)
    # held-out folds are harder than the data the weights were fitted on
    assert e.scores["cross_fitted"] > e.scores["in_sample"]
    rows = e.models()
    assert {"cv_weight_mean", "cv_weight_sd", "gain", "support", "fragile"} <= set(rows.columns)
    assert "cross-fitted (5 folds)" in e.summary()
    with pytest.raises(ValueError, match="samples per class"):
        kc.fit_ensemble(val, d["y_val"], cv=60)


def test_a_weight_resting_on_a_few_samples_is_flagged():
    rng = np.random.default_rng(0)
    n = 500
    y = rng.integers(0, 2, n)
    good = np.where(y == 1, 0.8, 0.2)
    good[:4] = np.where(y[:4] == 1, 1e-4, 1 - 1e-4)  # four confident mistakes of the good model ...
    lucky = np.full(n, 0.5)
    lucky[:4] = np.where(y[:4] == 1, 0.99, 0.01)  # ... that only "lucky" gets right
    e = kc.fit_ensemble({"good": good, "lucky": lucky}, y, method="nelder_mead")
    rows = {r["model"]: r for r in e.model_rows}
    assert rows["lucky"]["weight"] > 0 and rows["lucky"]["support"] <= 4
    assert rows["lucky"]["fragile"] is True and rows["lucky"]["weight_without_top"] < 0.01
    assert rows["good"]["fragile"] is False and rows["good"]["support"] > 100
    assert rows["good"]["weight_without_top"] > 0.5
    assert "lucky: weight(s) resting on at most 5 validation samples" in e.summary()
    assert "good:" not in e.summary()
    # the ensemble's lead over the good model alone rests on those few samples too
    assert e.scores["lead_support"] <= 4 and "lead over good rests on" in e.summary()


def test_best_share_for_accuracy_is_exact():
    # the share found from the intervals classifies at least as many samples right as the
    # best share on a fine grid
    rng = np.random.default_rng(0)
    for _ in range(100):
        n, k = int(rng.integers(5, 60)), int(rng.integers(2, 5))
        y = rng.integers(0, k, n)
        R = rng.dirichlet(np.ones(k), n).astype(np.float32)
        M = rng.dirichlet(np.ones(k), n).astype(np.float32)
        right = lambda a: int(((R + np.float32(a) * (M - R)).argmax(1) == y).sum())  # noqa: E731
        a = best_share_accuracy(R, M, y)
        assert right(a) >= max(right(g) for g in np.linspace(0, 1, 1001))


def test_a_weak_but_different_model_is_not_called_fragile():
    # the book's point: a weaker model whose errors differ helps on many samples; here the
    # strong model is noisy on the first half of the samples, the weak one everywhere
    rng = np.random.default_rng(5)
    y = rng.integers(0, 3, 800)
    z_strong = rng.normal(size=(800, 3)) * np.where(np.arange(800) < 400, 3.0, 0.5)[:, None]
    z_strong[np.arange(800), y] += 2.5
    z_weak = rng.normal(size=(800, 3))
    z_weak[np.arange(800), y] += 1.5
    preds = {"m0": _softmax(z_strong), "m1": _softmax(z_weak)}
    e = kc.fit_ensemble(preds, y, method="nelder_mead")
    rows = {r["model"]: r for r in e.model_rows}
    assert 0.05 < rows["m1"]["weight"] < 0.5
    assert rows["m1"]["fragile"] is False and rows["m1"]["support"] > 10


# ---- 5. diversity


def test_diversity_table_and_plots(sk_library):
    d, val, _ = sk_library
    y = d["y_val"]
    same = {"a": val["knn"], "b": val["knn"].copy(), "c": val["bayes"]}
    table = kc.diversity(same, y)
    ab = table[(table.model_a == "a") & (table.model_b == "b")].iloc[0]
    assert ab.disagreement == 0 and ab.error_correlation == pytest.approx(1)
    ac = table[(table.model_a == "a") & (table.model_b == "c")].iloc[0]
    assert ac.disagreement > 0.05 and ac.error_correlation < 0.9
    assert len(kc.diversity(val, y)) == 10
    from matplotlib.figure import Figure

    assert isinstance(kc.plot_diversity(table), Figure)
    assert isinstance(kc.plot_ensemble(kc.fit_ensemble(val, y, cv=3)), Figure)
    reg = kc.diversity({"a": np.arange(10.0), "b": np.arange(10.0)[::-1]}, np.arange(10.0) + 1)
    assert reg.disagreement.isna().all()


# ---- 6. members of any kind


def test_predictions_from_keras_sklearn_and_functions(digits):
    import keras
    from sklearn.linear_model import LinearRegression

    net = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
    gbt = kc.fit_gradient_boosting(digits["x_train"], digits["y_train"], max_iter=20)
    reg = LinearRegression().fit(digits["x_train"], digits["y_train"].astype(float))
    out = kc.predictions({"net": net, "gbt": gbt, "reg": reg, "fn": lambda x: np.full((len(x), 10), 0.1)},
                         digits["x_val"])
    assert out["net"].shape == out["gbt"].shape == out["fn"].shape == (len(digits["x_val"]), 10)
    assert out["reg"].shape == (len(digits["x_val"]),)
    assert np.allclose(out["gbt"], gbt.predict_proba(digits["x_val"]))
    assert np.allclose(out["net"], net.predict(digits["x_val"], verbose=0), atol=1e-6)
    assert np.allclose(out["reg"], reg.predict(digits["x_val"]), atol=1e-5)
    assert np.allclose(out["fn"], 0.1)
    with pytest.raises(TypeError, match="no predict_proba"):
        kc.predictions({"x": 3}, digits["x_val"])


@pytest.mark.skipif(os.environ.get("KERAS_BACKEND", "tensorflow") != "tensorflow",
                    reason="a TensorFlow warning")
def test_predictions_of_many_models_do_not_warn_of_excessive_retracing(digits):
    import logging

    import keras

    class Records(logging.Handler):
        seen = []

        def emit(self, record):
            Records.seen.append(record.getMessage())

    def net():  # step fusion: one predict call per model, each one tracing (as in craft())
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", steps_per_execution=16)
        return model

    from tensorflow.python.eager.polymorphic_function import polymorphic_function

    # TensorFlow warns at most twice per function, ever: start each half afresh
    detectors = polymorphic_function._frequent_tracing_detector_manager._detectors
    logger, handler = logging.getLogger("tensorflow"), Records()
    logger.addHandler(handler)
    try:
        detectors.clear()
        out = kc.predictions({f"net_{i}": net() for i in range(7)}, digits["x_val"])
        assert len(out) == 7
        assert not [m for m in Records.seen if "retracing" in m]
        assert not logger.filters                  # the filter is gone afterwards
        detectors.clear()
        for model in [net() for _ in range(7)]:   # outside predictions(): TensorFlow warns
            model.predict(digits["x_val"], batch_size=256, verbose=0)
        assert [m for m in Records.seen if "retracing" in m]
    finally:
        logger.removeHandler(handler)


# ---- 7. JSON, not pickles


def test_save_and_load_round_trip(sk_library, tmp_path):
    d, val, test = sk_library
    e = kc.fit_ensemble(val, d["y_val"], cv=3)
    path = e.save(tmp_path / "ens.json")
    with open(path) as f:
        assert json.load(f)["weights"] == pytest.approx(list(e.weights.values()))
    back = kc.load_ensemble(path)
    assert back.weights == e.weights and back.scores == e.scores
    assert np.array_equal(back.predict(test), e.predict(test))
    assert back.evaluate(d["y_test"], test).equals(e.evaluate(d["y_test"], test))
    f = kc.fit_ensemble(val, d["y_val"], metric=lambda yt, p: 0.0, direction="min")
    with pytest.raises(ValueError, match="cannot be saved as JSON"):
        f.save(tmp_path / "f.json")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not a kerascraft ensemble"):
        kc.load_ensemble(tmp_path / "bad.json")


# ---- 8. bad input


def test_bad_input_says_what_is_wrong():
    y = np.array([0, 1, 2, 1])
    p = _noisy_models(y, 3, [1, 1])
    with pytest.raises(ValueError, match="different numbers of rows: m0: 4, m1: 3"):
        kc.fit_ensemble({"m0": p["m0"], "m1": p["m1"][:3]}, y)
    with pytest.raises(ValueError, match="different numbers of classes"):
        kc.fit_ensemble({"m0": p["m0"], "m1": _softmax(np.ones((4, 4)))}, y)
    nan = p["m1"].copy()
    nan[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"model 'm1' contain 1 NaN/Inf value\(s\) \(first in row 2\)"):
        kc.fit_ensemble({"m0": p["m0"], "m1": nan}, y)
    with pytest.raises(ValueError, match="not probabilities"):
        kc.fit_ensemble({"m0": p["m0"], "m1": p["m1"] * 3 - 1}, y, task="classification")
    with pytest.raises(ValueError, match="do not sum to 1"):
        kc.fit_ensemble({"m0": p["m0"], "m1": p["m1"] * 0.5}, y, task="classification")
    with pytest.raises(ValueError, match=r"outside the class range 0..2.*\[3\]"):
        kc.fit_ensemble(p, np.array([0, 1, 3, 1]))
    with pytest.raises(ValueError, match="has 3 labels but the predictions have 4 rows"):
        kc.fit_ensemble(p, y[:3])
    with pytest.raises(ValueError, match="is empty"):
        kc.fit_ensemble({}, y)
    with pytest.raises(TypeError, match="map model names"):
        kc.fit_ensemble([p["m0"]], y)
    with pytest.raises(ValueError, match="method 'best'"):
        kc.fit_ensemble(p, y, method="best")
    with pytest.warns(UserWarning, match="only one model"):
        one = kc.fit_ensemble({"m0": p["m0"]}, y)
    assert one.weights == {"m0": 1.0}
    e = kc.fit_ensemble(p, y)
    with pytest.raises(ValueError, match="lack the model"):
        e.predict({"zz": p["m0"]})
    with pytest.raises(ValueError, match="does not know"):
        e.predict({**p, "zz": p["m0"]})


def test_comparison_on_test_says_when_the_samples_cannot_tell_two_models_apart():
    from kerascraft.ensemble.analysis import compare_on_test, lead_statement

    rng = np.random.default_rng(7)
    y = rng.integers(0, 3, 300)
    good = _noisy_models(y, 3, [3.0], seed=8)["m0"]
    c = compare_on_test(y, good, _noisy_models(y, 3, [0.5], seed=9)["m0"], "classification")
    assert c["lead_low"] > 0 and "holds across the test samples" in lead_statement(c, "weak")
    c = compare_on_test(y, good, good[:, ::-1][:, ::-1].copy(), "classification")  # the same
    assert c["lead"] == 0 and c["differ"] == 0
    assert "not told apart" in lead_statement(c, "twin")
    c = compare_on_test(y, _noisy_models(y, 3, [0.5], seed=9)["m0"], good, "classification")
    assert c["lead_high"] < 0 and "use it" in lead_statement(c, "good")
    yr = rng.normal(size=200)
    c = compare_on_test(yr, yr + 0.1, (yr + 1.0).reshape(-1, 1), "regression")
    assert c["metric"] == "mse" and c["ensemble"] == pytest.approx(0.01)
    assert c["single"] == pytest.approx(1.0) and c["lead_low"] > 0


def test_cheap_models_by_task_and_size():
    from kerascraft.ensemble.members import KNN_MAX_ROWS, cheap_models, fit_cheap_models

    assert list(cheap_models("classification")) == ["linear", "knn", "extra_trees"]
    assert list(cheap_models("regression", n_rows=KNN_MAX_ROWS + 1)) == ["linear", "extra_trees"]
    with pytest.raises(ValueError, match="task must be 'classification' or 'regression'"):
        cheap_models("ranking")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4))
    y = x @ np.array([1.0, -2.0, 0.5, 0.0]) + 0.1 * rng.normal(size=200)
    fitted = fit_cheap_models(x, y.reshape(-1, 1), task="regression")
    preds = kc.predictions(fitted, x[:50])
    assert {n: p.shape for n, p in preds.items()} == {n: (50,) for n in fitted}
    assert mean_squared_error(y[:50], preds["linear"]) < 0.05  # a linear target
    labels = (y > 0).astype(int)
    probs = kc.predictions(fit_cheap_models(x, labels), x[:50])
    assert all(p.shape == (50, 2) and np.allclose(p.sum(axis=1), 1) for p in probs.values())


@pytest.mark.parametrize("method", ["greedy", "stack"])
def test_prefer_single_keeps_the_best_model_alone_unless_the_ensemble_shows_itself_better(
        method, tmp_path):
    rng = np.random.default_rng(3)
    signal = rng.normal(size=200)
    y = signal + rng.normal(0, 0.3, 200)
    # one model that knows all there is to know (the signal) and two that add only noise:
    # no combination is clearly better than it
    alone = {"good": signal, "bad_1": signal + rng.normal(0, 3, 200),
             "bad_2": rng.normal(size=200)}
    e = kc.fit_ensemble(alone, y, method=method, task="regression", prefer_single=True)
    c = e.scores["choice"]
    assert c["kept"] == "good" and c["lead"] <= c["se"] and c["n"] == 200
    assert e.weights == {"good": 1.0, "bad_1": 0.0, "bad_2": 0.0}
    np.testing.assert_allclose(e.predict(alone), alone["good"], rtol=1e-6)
    assert "kept good alone: the ensemble, fitted without each validation fold" in e.summary()
    assert e.summary().startswith(f"Ensemble of 1 of 3 models (good alone instead of the {method},")
    # two equally good models with independent errors: their mean is clearly better
    pair = {"a": signal + rng.normal(0, 0.5, 200), "b": signal + rng.normal(0, 0.5, 200)}
    e = kc.fit_ensemble(pair, y, method=method, task="regression", prefer_single=True)
    assert e.scores["choice"]["kept"] == "ensemble" and min(e.weights.values()) > 0.2
    assert "kept the ensemble: its out-of-fold lead" in e.summary()
    # saved and read back with its choice
    e.save(str(tmp_path / "e.json"))
    assert kc.load_ensemble(str(tmp_path / "e.json")).scores["choice"] == e.scores["choice"]
    # off by default, as before
    assert "choice" not in kc.fit_ensemble(alone, y, method=method, task="regression").scores


def test_prefer_single_for_classes_and_a_metric_without_losses_per_sample():
    rng = np.random.default_rng(4)
    good = rng.dirichlet(np.full(3, 0.5), 300)  # calibrated: the labels are drawn from it
    y = np.array([rng.choice(3, p=p) for p in good])
    noise = rng.dirichlet(np.ones(3), 300)
    e = kc.fit_ensemble({"good": good, "noise": noise}, y, method="stack",
                        task="classification", prefer_single=True)
    assert e.scores["choice"]["kept"] == "good"
    np.testing.assert_allclose(e.predict({"good": good, "noise": noise}), good, atol=1e-6)
    with pytest.raises(kc.InputError, match="prefer_single compares losses sample by sample"):
        kc.fit_ensemble({"good": good[:, 1], "noise": noise[:, 1]}, (y == 1).astype(int),
                        metric="auc", prefer_single=True)

"""Search -> best epoch -> retrain -> test, from R."""

from test_tuning_from_r import BUILD_MODEL


def test_best_epoch_retrain_and_validation_vs_test_from_r(r, rdir):
    r(BUILD_MODEL)
    r("""
    t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 3,
               directory = tmp, seed = 2)
    search(t, digits$x_train, digits$y_train,
           validation_data = list(digits$x_val, digits$y_val), epochs = 3, verbose = 0)
    hp <- best_hyperparameters(t, 1)[[1]]
    found <- best_epoch(build_model, hp, digits$x_train, digits$y_train,
                        validation_data = list(digits$x_val, digits$y_val),
                        patience = 2, max_epochs = 30, batch_size = 64)
    models <- retrain_best(t, digits$x_train, digits$y_train,
                           list(digits$x_val, digits$y_val), n = 2, patience = 2,
                           max_epochs = 10, verbose = 0)
    gap <- validation_vs_test(t, digits$x_test, digits$y_test, n = 2, retrained = models)
    """)
    assert r("found$best_epoch == which.min(found$history$val_loss)")[0]
    assert r("is.data.frame(found$history) && 'val_accuracy' %in% names(found$history)")[0]
    assert r("length(models)")[0] == 2
    assert r("all(attr(models, 'summary')$epochs == round(attr(models, 'summary')$best_epoch * 1.2))")[0]
    assert list(r("names(gap)")) == ["rank", "trial_id", "metric", "validation", "test", "gap",
                                     "test_retrained"]
    assert r("all(gap$test_retrained > 0.8)")[0]
    assert r("isTRUE(all.equal(gap$gap, gap$validation - gap$test))")[0]

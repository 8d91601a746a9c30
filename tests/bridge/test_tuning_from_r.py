"""R code driving the Python core through reticulate, in this process."""

import pytest
from rpy2.rinterface_lib.embedded import RRuntimeError

BUILD_MODEL = """
digits <- load_digits(seed = 0)
build_model <- function(hp) {
  units <- hp$Int("units", 16, 64, step = 16)          # doubles, as users write them
  stopifnot(is.integer(units))
  optimizer <- hp$Choice("optimizer", c("rmsprop", "adam"))
  stopifnot(is.character(optimizer))
  model <- keras$Sequential(list(
    keras$Input(shape = list(64L)),
    keras$layers$Dense(units, activation = "relu"),
    keras$layers$Dense(10L, activation = "softmax")))
  model$compile(optimizer = optimizer, loss = "sparse_categorical_crossentropy",
                metrics = list("accuracy"))
  model
}
"""


@pytest.mark.parametrize("kind", ["random", "bayesian"])
def test_search_from_r_with_r_habits(r, rdir, kind):
    r(BUILD_MODEL)
    r(f"""
    t <- tuner("{kind}", build_model, objective = "val_accuracy", max_trials = 3,
               directory = tmp, seed = 1)
    y_train <- as.vector(digits$y_train)                 # plain R vectors as labels
    y_val <- factor(as.vector(digits$y_val), levels = 0:9)  # factor labels: 0-based codes
    search(t, as.data.frame(digits$x_train), y_train,
           validation_data = list(digits$x_val, y_val),
           epochs = 3, batch_size = 64, verbose = 0)
    res <- results(t)
    best <- best_hyperparameters(t, 2)
    """)
    assert r("class(res)")[0] == "data.frame"
    assert r("nrow(res)")[0] == 3
    assert list(r("names(res)"))[:7] == ["trial_id", "status", "score", "best_epoch", "seconds", "retries", "error"]
    assert set(r("res$status")) == {"COMPLETED"}
    assert r("is.integer(res$units)")[0]
    assert set(r("res$units")) <= {16, 32, 48, 64}
    assert set(r("res$optimizer")) <= {"rmsprop", "adam"}
    assert all(0 < s <= 1 for s in r("res$score"))
    assert all(1 <= e <= 3 for e in r("res$best_epoch"))
    assert all(s > 0 for s in r("res$seconds"))
    # the best configuration is the row with the highest score
    assert r("length(best)")[0] == 2
    assert r("best[[1]]$values$units == res$units[which.max(res$score)]")[0]


def test_hp_methods_take_r_values(r, rdir):
    r("""
    seen <- new.env()
    build_model <- function(hp) {
      seen$lr <- hp$Float("lr", 1e-4, 1e-2, sampling = "log")
      seen$act <- hp$Choice("activation", "relu")          # length-one choice
      seen$width <- hp$Choice("width", c(8, 16))           # whole doubles -> integers
      seen$deep <- hp$Boolean("deep")
      seen$fixed <- hp$Fixed("fixed_units", 4)
      layers <- list(keras$Input(shape = list(64L)),
                     keras$layers$Dense(seen$width, activation = seen$act))
      if (seen$deep) {
        with(hp$conditional_scope("deep", TRUE), {
          seen$extra <- hp$Int("extra_units", 4, 8, step = 4)
          layers[[length(layers) + 1]] <- keras$layers$Dense(seen$extra)
        })
      }
      layers[[length(layers) + 1]] <- keras$layers$Dense(10L, activation = "softmax")
      model <- keras$Sequential(layers)
      model$compile(optimizer = keras$optimizers$Adam(seen$lr),
                    loss = "sparse_categorical_crossentropy", metrics = list("accuracy"))
      model
    }
    digits <- load_digits(seed = 0)
    t <- tuner("random", build_model, objective = "val_loss", max_trials = 4,
               directory = tmp, seed = 3)
    search(t, digits$x_train, digits$y_train,
           validation_data = list(digits$x_val, digits$y_val), epochs = 1, verbose = 0)
    res <- results(t)
    """)
    assert set(r("res$status")) == {"COMPLETED"}
    assert r("is.numeric(seen$lr) && seen$lr >= 1e-4 && seen$lr <= 1e-2")[0]
    assert r("seen$act")[0] == "relu"
    assert r("is.integer(seen$width)")[0]
    assert r("is.logical(seen$deep)")[0]
    assert r("identical(seen$fixed, 4L)")[0]
    assert r("all(c('lr', 'activation', 'width', 'deep', 'fixed_units', 'extra_units') %in% names(res))")[0]
    # extra_units is NA exactly where deep was FALSE
    assert r("identical(is.na(res$extra_units), !res$deep)")[0]


def test_r_errors_name_the_problem_and_the_fix(r, rdir):
    r(BUILD_MODEL)
    r('t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 1, directory = tmp)')
    with pytest.raises(RRuntimeError, match="no completed trial yet.*run search"):
        r("best_hyperparameters(t)")
    with pytest.raises(RRuntimeError, match=r"x has 1 missing value\(s\) \(NA\)"):
        r("x <- digits$x_train; x[3, 5] <- NA; search(t, x, digits$y_train, epochs = 1)")
    with pytest.raises(RRuntimeError, match="`epochs` must be a whole number, got 2.5"):
        r("search(t, digits$x_train, digits$y_train, epochs = 2.5)")
    with pytest.raises(RRuntimeError, match="non-numeric columns: name"):
        r("search(t, data.frame(a = 1:3, name = letters[1:3]), 1:3, epochs = 1)")
    with pytest.raises(RRuntimeError, match="needs build_model"):
        r('tuner("random")')
    with pytest.raises(RRuntimeError, match="unknown tuner kind 'exhaustive'; use one of"):
        r('tuner("exhaustive", build_model)')
    with pytest.raises(RRuntimeError, match="hyperband has no max_trials"):
        r('tuner("hyperband", build_model, max_trials = 3, directory = tmp)')
    # the usual R slip: the build function ends with model$compile(), which returns NULL
    r('no_return <- function(hp) { m <- build_model(hp); m$compile(optimizer = "adam", loss = "mse") }')
    r('t3 <- tuner("random", no_return, max_trials = 2, directory = tmp, project_name = "noret")')
    with pytest.raises(RRuntimeError, match="must return a Keras model; it returned None.*in R: with `model`"):
        r("search(t3, digits$x_train, digits$y_train, epochs = 1, verbose = 0)")
    # a fractional Int bound is caught when the tuner first builds the model
    r('bad_build <- function(hp) { hp$Int("units", 16.5, 64); stop("unreachable") }')
    with pytest.raises(RRuntimeError, match=r'hp\$Int\("units"\): min_value must be a whole number, got 16.5'):
        r('tuner("random", bad_build, max_trials = 1, directory = tmp, project_name = "bad")')


def test_search_without_arguments_is_still_base_search(r):
    assert ".GlobalEnv" in list(r("search()"))

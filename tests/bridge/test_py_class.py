"""`%py_class%`: HyperModels and callbacks written in R, as the book writes them."""

import pytest
from rpy2.rinterface_lib.embedded import RRuntimeError

from test_tuning_from_r import BUILD_MODEL


def test_hypermodel_subclass_with_init_super_build_and_fit_tunes_batch_size(r, rdir):
    r(BUILD_MODEL)
    r("""
    build_for <- function(hp, num_classes) {
      model <- keras$Sequential(list(
        keras$Input(shape = list(64L)),
        keras$layers$Dense(hp$Int("units", 16, 32, step = 16), activation = "relu"),
        keras$layers$Dense(num_classes, activation = "softmax")))
      model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                    metrics = list("accuracy"))
      model
    }
    seen_batch <- c()
    SimpleMLP(HyperModel) %py_class% {
      "A dense net for `num_classes` classes; also tunes the batch size."
      initialize <- function(self, num_classes) {
        super()$`__init__`()
        self$num_classes <- num_classes
      }
      build <- function(self, hp) build_for(hp, self$num_classes)
      fit <- function(self, hp, model, ...) {
        batch_size <- hp$Choice("batch_size", c(32, 128))
        seen_batch <<- c(seen_batch, batch_size)
        model$fit(..., batch_size = batch_size)
      }
    }
    hypermodel <- SimpleMLP(num_classes = 10L)
    t <- tuner("random", hypermodel, objective = "val_accuracy", max_trials = 3,
               directory = tmp, seed = 5)
    search(t, digits$x_train, digits$y_train,
           validation_data = list(digits$x_val, digits$y_val), epochs = 2, verbose = 0)
    res <- results(t)
    """)
    assert r("hypermodel$num_classes")[0] == 10
    assert "tunes the batch size" in r("SimpleMLP$`__doc__`")[0]
    assert r("inherits(hypermodel, 'keras_tuner.src.engine.hypermodel.HyperModel')")[0]
    assert set(r("res$status")) == {"COMPLETED"}
    assert set(r("res$batch_size")) <= {32, 128}
    assert r("all(res$batch_size == seen_batch[seq_len(nrow(res))])")[0]


def test_callback_defined_in_r_runs_in_a_search(r, rdir):
    r(BUILD_MODEL)
    r("""
    EpochCounter(Callback) %py_class% {
      `__init__` <- function(self) {
        super()$`__init__`()
        self$epochs <- 0L
      }
      on_epoch_end <- function(self, epoch, logs = NULL) {
        self$epochs <- self$epochs + 1L
        epochs_seen <<- epochs_seen + 1L
        stopifnot(is.numeric(logs$val_accuracy))
      }
    }
    epochs_seen <- 0L
    counter <- EpochCounter()
    t <- tuner("random", build_model, objective = "val_accuracy", max_trials = 2,
               directory = tmp, seed = 1)
    search(t, digits$x_train, digits$y_train, validation_data = list(digits$x_val, digits$y_val),
           epochs = 3, verbose = 0, callbacks = counter)
    """)
    # KerasTuner deep-copies callbacks per trial; the R methods still run, every epoch
    assert set(r("results(t)$status")) == {"COMPLETED"}
    assert r("epochs_seen")[0] == 6


def test_py_class_errors_name_the_problem(r):
    with pytest.raises(RRuntimeError, match="base class `NoSuchBase` not found"):
        r("Foo(NoSuchBase) %py_class% { x <- 1 }")
    with pytest.raises(RRuntimeError, match="must be in braces"):
        r("Foo(HyperModel) %py_class% 3")
    r("Plain %py_class% { greeting <- 'hi'; greet <- function(self, name) paste(self$greeting, name) }")
    assert r("Plain()$greet('R')")[0] == "hi R"

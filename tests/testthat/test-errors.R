# kerascraft's errors are classed conditions with the core's message.

test_that("R's own checks signal kerascraft_input_error", {
  err <- expect_error(kerascraft:::craft_labels(data.frame(a = 1, b = 2)),
                      class = "kerascraft_input_error")
  expect_s3_class(err, "kerascraft_error")
  expect_match(conditionMessage(err), "y must be one column")
  expect_error(kerascraft:::as_whole(2.5, "epochs"), "`epochs` must be a whole number",
               class = "kerascraft_input_error")
})

test_that("a Python exception is read as reticulate gives it, old or new", {
  old <- simpleError("ValueError: top must be a whole number >= 1, got 0.\n\nDetailed traceback:\n  File ...")
  parsed <- kerascraft:::python_error(old)
  expect_equal(parsed, list(type = "ValueError", types = "ValueError",
                            message = "top must be a whole number >= 1, got 0."))
  # the core's own input errors, by the end of their class name, however reticulate gives it
  fatal <- simpleError("FatalInputError: the model is not compiled")
  expect_equal(kerascraft:::python_error(fatal)$message, "the model is not compiled")
  caught <- tryCatch(kerascraft:::with_core_errors(stop(fatal)), error = identity)
  expect_s3_class(caught, "kerascraft_input_error")
  classed <- structure(class = c("kerascraft.tuning.FatalInputError",
                                 "keras_tuner.src.errors.FatalError",
                                 "python.builtin.ValueError", "error", "condition"),
                       list(message = "the model is not compiled", call = NULL))
  expect_equal(kerascraft:::python_error(classed)$types,
               c("FatalInputError", "FatalError", "ValueError"))
  expect_equal(kerascraft:::kc_error_class(kerascraft:::python_error(classed)$types),
               "kerascraft_input_error")
  new <- structure(class = c("python.builtin.ImportError", "python.builtin.Exception", "error",
                             "condition"),
                   list(message = "ImportError: needs PyTorch\nRun `reticulate::py_last_error()` for details.",
                        call = NULL))
  expect_equal(kerascraft:::python_error(new)$message, "needs PyTorch")
  caught <- tryCatch(kerascraft:::with_core_errors(stop(new)), error = identity)
  expect_s3_class(caught, "kerascraft_dependency_error")
  expect_null(kerascraft:::python_error(simpleError("something else")))
  # an error that is not Python's passes through unchanged
  expect_error(kerascraft:::with_core_errors(stop("plain")), "plain")
})

test_that("the core's input errors reach R classed, with the core's words", {
  skip_without_python("the check is the core's")
  wine <- kerascraft::load_dataset("wine", split = FALSE)
  dir <- tempfile("craft")
  err <- expect_error(kerascraft::craft(wine$x, wine$y, max_trial = 2, directory = dir),
                      class = "kerascraft_input_error")
  expect_match(conditionMessage(err), "^craft\\(\\) got an unknown option 'max_trial'. Did you mean 'max_trials'\\?")
  expect_false(dir.exists(dir))
  expect_error(kerascraft::tuner("exhaustive", function(hp) NULL), "unknown tuner kind 'exhaustive'",
               class = "kerascraft_input_error")
})

test_that("result constructors refuse what they do not wrap", {
  expect_error(kerascraft:::new_kerascraft_ensemble(list(weights = 1)),
               "wraps the core's Ensemble; got list", class = "kerascraft_error")
})

test_that("mistakes the core finds inside a search or a prediction reach R classed", {
  skip_without_python("the checks are the core's")
  digits <- kerascraft::load_digits(seed = 0)
  x <- digits$x_train[1:200, ]
  y <- as.vector(digits$y_train[1:200])
  val <- list(digits$x_val[1:100, ], as.vector(digits$y_val[1:100]))
  build <- function(compile = TRUE) function(hp) {
    model <- keras$Sequential(list(keras$Input(shape = list(64L)),
                                   keras$layers$Dense(hp$Int("units", 8, 16, step = 8)),
                                   keras$layers$Dense(10L, activation = "softmax")))
    if (compile) model$compile(optimizer = "adam", loss = "sparse_categorical_crossentropy",
                               metrics = list("accuracy"))
    model
  }
  caught <- function(t, ...) {
    tryCatch({
      search(t, x, ..., epochs = 1, verbose = 0)
      NULL
    }, kerascraft_input_error = function(e) conditionMessage(e))
  }
  uncompiled <- tuner("random", build(FALSE), max_trials = 3, directory = tempfile("e"))
  expect_match(caught(uncompiled, y, validation_data = val), "not compiled: call model.compile")
  expect_equal(nrow(results(uncompiled)), 1)  # stopped at once, not three failed trials
  one_based <- tuner("random", build(), objective = "val_accuracy", max_trials = 3,
                     directory = tempfile("e"))
  expect_match(caught(one_based, y + 1, validation_data = list(val[[1]], val[[2]] + 1)),
               "1-based labels, as R's factor codes are: subtract 1")
  no_val <- tuner("random", build(), objective = "val_accuracy", max_trials = 3,
                  directory = tempfile("e"))
  expect_match(caught(no_val, y), "is not among the metrics that training produced.*pass validation_data")
  ens <- fit_ensemble(list(a = c(0.2, 0.7, 0.6, 0.4), b = c(0.3, 0.6, 0.8, 0.2)), c(0, 1, 1, 0))
  expect_error(predict(ens, list(a = c(0.2, 0.5))), "b", class = "kerascraft_input_error")
})

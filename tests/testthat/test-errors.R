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
  expect_equal(parsed, list(type = "ValueError", message = "top must be a whole number >= 1, got 0."))
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
  skip_if_not(kerascraft::python_ready(), "the check is the core's")
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

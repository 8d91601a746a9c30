# Searches driven from R with R habits: doubles for whole numbers, data frames, factors,
# build functions in R; and the errors R users meet, each naming the problem and the fix.

digits_fixture <- local({
  made <- NULL
  function() {
    if (is.null(made)) made <<- kerascraft::load_digits(seed = 0)
    made
  }
})

build_digits <- function(hp) {
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

for (kind in c("random", "bayesian")) {
  test_that(sprintf("a %s search takes R data frames, vectors and factors", kind), {
    skip_without_python("searches run in the core")
    digits <- digits_fixture()
    t <- tuner(kind, build_digits, objective = "val_accuracy", max_trials = 3,
               directory = tempfile("tuning"), seed = 1)
    y_val <- factor(as.vector(digits$y_val), levels = 0:9)  # factor labels: 0-based codes
    suppressMessages(search(t, as.data.frame(digits$x_train), as.vector(digits$y_train),
                            validation_data = list(digits$x_val, y_val), epochs = 3,
                            batch_size = 64, verbose = 0))
    res <- results(t)
    expect_s3_class(res, "data.frame")
    expect_equal(nrow(res), 3)
    expect_equal(names(res)[1:7], c("trial_id", "status", "score", "best_epoch", "seconds",
                                    "retries", "error"))
    expect_true(all(res$status == "COMPLETED"))
    expect_true(is.integer(res$units))
    expect_true(all(res$units %in% c(16, 32, 48, 64)))
    expect_true(all(res$optimizer %in% c("rmsprop", "adam")))
    # val_accuracy: every trial learnt (chance on digits is 0.1), the best one well
    expect_true(all(res$score > 0.2))
    expect_gt(max(res$score), 0.7)
    # the best score is what the best saved model gets on the validation data
    best_model <- best_models(t, 1)[[1]]
    accuracy <- best_model$evaluate(digits$x_val, digits$y_val, verbose = 0L)[[2]]
    expect_equal(accuracy, max(res$score), tolerance = 1e-6)
    expect_true(all(res$best_epoch >= 1 & res$best_epoch <= 3))
    expect_true(all(res$seconds > 0))
    best <- best_hyperparameters(t, 2)
    expect_length(best, 2)
    expect_equal(best[[1]]$values$units, res$units[which.max(res$score)])
  })
}

test_that("hp's methods take R values, conditional ones included", {
  skip_without_python("searches run in the core")
  digits <- digits_fixture()
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
  t <- tuner("random", build_model, objective = "val_loss", max_trials = 4,
             directory = tempfile("tuning"), seed = 3)
  search(t, digits$x_train, digits$y_train,
         validation_data = list(digits$x_val, digits$y_val), epochs = 1, verbose = 0)
  res <- results(t)
  expect_true(all(res$status == "COMPLETED"))
  expect_true(is.numeric(seen$lr) && seen$lr >= 1e-4 && seen$lr <= 1e-2)
  expect_equal(seen$act, "relu")
  expect_true(is.integer(seen$width))
  expect_true(is.logical(seen$deep))
  expect_identical(seen$fixed, 4L)
  expect_true(all(c("lr", "activation", "width", "deep", "fixed_units", "extra_units") %in%
                    names(res)))
  expect_identical(is.na(res$extra_units), !res$deep)  # NA exactly where deep was FALSE
})

test_that("R users' errors name the problem and the fix", {
  skip_without_python("searches run in the core")
  digits <- digits_fixture()
  dir <- tempfile("tuning")
  t <- tuner("random", build_digits, objective = "val_accuracy", max_trials = 1, directory = dir)
  expect_error(best_hyperparameters(t), "no completed trial yet.*run search",
               class = "kerascraft_input_error")
  x <- digits$x_train
  x[3, 5] <- NA
  expect_error(search(t, x, digits$y_train, epochs = 1), "x has 1 missing value\\(s\\) \\(NA\\)",
               class = "kerascraft_input_error")
  expect_error(search(t, digits$x_train, digits$y_train, epochs = 2.5),
               "`epochs` must be a whole number, got 2.5", class = "kerascraft_input_error")
  expect_error(search(t, data.frame(a = 1:3, name = letters[1:3]), 1:3, epochs = 1),
               "non-numeric columns: name", class = "kerascraft_input_error")
  expect_error(tuner("random"), "needs build_model", class = "kerascraft_input_error")
  expect_error(tuner("hyperband", build_digits, max_trials = 3, directory = dir),
               "hyperband has no max_trials", class = "kerascraft_input_error")
  # the usual R slip: the build function ends with model$compile(), which returns NULL
  no_return <- function(hp) {
    m <- build_digits(hp)
    m$compile(optimizer = "adam", loss = "mse")
  }
  t3 <- tuner("random", no_return, max_trials = 2, directory = dir, project_name = "noret")
  expect_error(search(t3, digits$x_train, digits$y_train, epochs = 1, verbose = 0),
               "to return a Keras model; it returned None.*in R: with `model`")
  # a fractional Int bound is caught when the tuner first builds the model
  bad_build <- function(hp) {
    hp$Int("units", 16.5, 64)
    stop("unreachable")
  }
  expect_error(tuner("random", bad_build, max_trials = 1, directory = dir, project_name = "bad"),
               'hp\\$Int\\("units"\\): min_value must be a whole number, got 16.5')
})

test_that("search() without arguments is still base::search()", {
  expect_true(".GlobalEnv" %in% search())
})

test_that("search -> best epoch -> retrain -> validation versus test, from R", {
  skip_without_python("searches run in the core")
  digits <- digits_fixture()
  val <- list(digits$x_val, digits$y_val)
  t <- tuner("random", build_digits, objective = "val_accuracy", max_trials = 3,
             directory = tempfile("tuning"), seed = 2)
  search(t, digits$x_train, digits$y_train, validation_data = val, epochs = 3, verbose = 0)
  hp <- best_hyperparameters(t, 1)[[1]]
  found <- best_epoch(build_digits, hp, digits$x_train, digits$y_train, validation_data = val,
                      patience = 2, max_epochs = 30, batch_size = 64)
  expect_equal(found$best_epoch, which.min(found$history$val_loss))
  expect_true(is.data.frame(found$history) && "val_accuracy" %in% names(found$history))
  models <- retrain_best(t, digits$x_train, digits$y_train, val, n = 2, patience = 2,
                         max_epochs = 10, verbose = 0)
  expect_length(models, 2)
  summary <- attr(models, "summary")
  expect_equal(summary$epochs, round(summary$best_epoch * 1.2))
  gap <- validation_vs_test(t, digits$x_test, digits$y_test, n = 2, retrained = models)
  expect_equal(names(gap), c("rank", "trial_id", "metric", "validation", "test", "gap",
                             "test_retrained"))
  # the test scores are the saved models' own, the validation scores the search's
  searched <- best_models(t, 2)
  expect_equal(gap$test, vapply(searched, function(m)
    m$evaluate(digits$x_test, digits$y_test, verbose = 0L)[[2]], numeric(1)), tolerance = 1e-6)
  res <- results(t)
  expect_equal(gap$validation, res$score[match(gap$trial_id, res$trial_id)], tolerance = 1e-9)
  expect_equal(gap$gap, gap$validation - gap$test)  # the gap's sign: validation minus test
  # the retrained models learnt digits (chance is 0.1)
  expect_true(all(gap$test_retrained > 0.8))
})

test_that("plot(tuner) draws the core's plot data: trials, best so far, one panel each", {
  skip_without_python("searches run in the core")
  skip_if_not_installed("ggplot2")
  digits <- digits_fixture()
  t <- tuner("random", build_digits, objective = "val_accuracy", max_trials = 3,
             directory = tempfile("tuning"), seed = 1)
  search(t, digits$x_train, digits$y_train,
         validation_data = list(digits$x_val, digits$y_val), epochs = 2, verbose = 0)
  progress <- ggplot2::ggplot_build(plot(t))
  expect_equal(nrow(progress$data[[1]]), 3)
  expect_equal(progress$data[[2]]$y, cummax(results(t)$score))  # val_accuracy: max
  by_hp <- ggplot2::ggplot_build(plot(t, "hyperparameters"))
  expect_equal(length(unique(by_hp$data[[1]]$PANEL)), 2)  # units, optimizer
  file <- tempfile(fileext = ".png")
  grDevices::png(file)
  print(plot(t))
  grDevices::dev.off()
  expect_gt(file.size(file), 1000)
})

test_that("KerasTuner's pre-made Xception runs from R on small images", {
  skip_without_python("searches run in the core")
  set.seed(1)
  x <- array(runif(24 * 32 * 32 * 3), c(24, 32, 32, 3))
  y <- sample(0:2, 24, replace = TRUE)
  hm <- premade_hypermodel("xception", c(32, 32, 3), classes = 3)
  t <- tuner("random", hm, objective = "val_accuracy", max_trials = 1,
             directory = tempfile("tuning"), loss = "sparse_categorical_crossentropy")
  search(t, x, y, validation_data = list(x, y), epochs = 1, batch_size = 8, verbose = 0)
  res <- results(t)
  expect_equal(res$status, "COMPLETED")
  expect_true("conv2d_num_filters" %in% names(res))
  expect_error(premade_hypermodel("resnet", c(8, 8, 1), classes = 10),
               "HyperResNet needs images of at least 32x32", class = "kerascraft_input_error")
})

test_that("search() and retrain_best() keep a time limit given as a difftime, and go on", {
  skip_without_python("searches run in the core")
  digits <- digits_fixture()
  val <- list(digits$x_val, digits$y_val)
  t <- tuner("random", build_digits, objective = "val_accuracy", max_trials = 40,
             directory = tempfile("timed"), seed = 2)
  began <- Sys.time()
  said <- capture.output(search(t, digits$x_train, digits$y_train, validation_data = val,
                                epochs = 5, time_limit = as.difftime(6, units = "secs")))
  took <- as.numeric(Sys.time() - began, units = "secs")
  expect_lt(took, 6 + 2)
  done <- nrow(results(t))
  expect_true(done >= 1 && done < 40)
  expect_match(t$search_ended, sprintf("%d of max_trials=40 not run", 40 - done), fixed = TRUE)
  # every line says the time used and the time left
  expect_true(all(grepl("^\\[\\d+:\\d\\d, \\d+:\\d\\d left\\] ", said)))
  search(t, digits$x_train, digits$y_train, validation_data = val, epochs = 5,
         time_limit = 4, verbose = 0)
  expect_gt(nrow(results(t)), done)  # a new limit continues the search
  expect_error(search(t, digits$x_train, digits$y_train, epochs = 5, time_limit = -1),
               "time_limit must be a number of seconds above 0", class = "kerascraft_input_error")
  models <- retrain_best(t, digits$x_train, digits$y_train, val, n = 2, patience = 2,
                         max_epochs = 5, verbose = 0, time_limit = 0.01)
  expect_length(models, 0)
  expect_length(attr(models, "not_retrained"), 2)
  models <- retrain_best(t, digits$x_train, digits$y_train, val, n = 1, patience = 2,
                         max_epochs = 5, verbose = 0, time_limit = 60)
  expect_length(models, 1)
  expect_true("stopped" %in% names(attr(models, "summary")))
})

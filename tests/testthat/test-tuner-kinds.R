# tuner() from R: the default kind, Optuna's samplers with R build functions and R seeds,
# and the errors R users see for a misspelt objective or a bad kind.

build_space <- function(hp) {
  hp$Float("lr", 1e-4, 1e-1, sampling = "log")
  hp$Int("units", 16, 128, step = 16)
  hp$Choice("optimizer", c("adam", "sgd"))
  NULL
}

# a search whose trials are a function of the hyperparameters (no training)
fake_search <- function(kind, seed, max_trials = 6) {
  t <- tuner(kind, build_space, objective = objective("score", "min"),
             max_trials = max_trials, directory = tempfile(), seed = seed)
  t$run_trial <- function(trial, ...) {
    v <- trial$hyperparameters$values
    list(score = (log10(v$lr) + 2)^2 + abs(v$units - 64) / 64 +
           (if (v$optimizer == "adam") 0 else 0.5))
  }
  search(t, NULL, verbose = 0)
  results(t)
}

test_that("tuner() defaults to auto, which runs an R build function with R seeds", {
  skip_without_python("tuners are Python objects")
  expect_equal(eval(formals(tuner)$kind)[[1]], "auto")
  res <- fake_search("auto", seed = 1)
  expect_equal(nrow(res), 6)
  expect_true(all(res$status == "COMPLETED"))
  expect_setequal(names(res)[8:10], c("lr", "units", "optimizer"))
  again <- fake_search("auto", seed = 1)
  expect_equal(again[, c("lr", "units", "optimizer")], res[, c("lr", "units", "optimizer")])
  other <- fake_search("auto", seed = 2)
  expect_false(isTRUE(all.equal(other$lr, res$lr)))
})

test_that("a misspelt objective names the metric it resembles", {
  skip_without_python("tuners are Python objects")
  expect_error(
    tuner("tpe", build_space, objective = "val_acuracy", directory = tempfile()),
    "Did you mean 'val_accuracy'"
  )
})

test_that("an unknown kind lists the kinds", {
  skip_without_python("the kinds are the core's")
  expect_error(tuner("optuna", build_space), "unknown tuner kind 'optuna'; use one of: auto, tpe, gp",
               class = "kerascraft_input_error")
})

test_that("auto chooses its sampler from the space and the R budget, and says why", {
  skip_without_python("tuners are Python objects")
  samplers <- reticulate::import("kerascraft.samplers")
  available <- samplers$gp_available
  on.exit(reticulate::py_set_attr(samplers, "gp_available", available), add = TRUE)
  # as if PyTorch were installed: the budget, not a missing GP, must decide
  reticulate::py_set_attr(samplers, "gp_available", function() TRUE)
  t <- tuner("auto", build_space, objective = objective("score", "min"), max_trials = 4,
             directory = tempfile(), seed = 1)
  t$run_trial <- function(trial, ...) list(score = trial$hyperparameters$values$units)
  search(t, NULL, verbose = 0)
  expect_equal(t$oracle$chosen_sampler, "gp-numpy")
  expect_equal(t$oracle$choice_reason, paste(
    "kerascraft's Gaussian process (NumPy and SciPy): 3 hyperparameters, none conditional,",
    "and 4 trials (Optuna's GP is chosen from 30 trials: it starts after 10 random ones);",
    "3 of its 4 trials random before it models the results"))
})

test_that("search(stop_early =) from R ends a search whose later trials buy nothing", {
  skip_without_python("tuners are Python objects")
  t <- tuner("gp-numpy", build_space, objective = objective("score", "min"), max_trials = 8,
             directory = tempfile(), seed = 1)
  scores <- c(1, 0, 1, 1, 1, 1, 1, 1)  # the second trial is the best there will be
  done <- 0
  t$run_trial <- function(trial, ...) {
    done <<- done + 1
    list(score = scores[[done]])
  }
  search(t, NULL, verbose = 0, stop_early = 0.2)
  expect_equal(nrow(results(t)), 5)
  expect_match(t$search_ended, "^stopped early: no better score in the last 3 trials")
  expect_error(search(t, NULL, verbose = 0, stop_early = 2), "stop_early must be",
               class = "kerascraft_input_error")
})

# After the search: best epoch, retraining on train+validation, validation versus test.

#' The best epoch of one configuration
#'
#' Trains the configuration `hp` with early stopping (generous `patience` on the validation
#' loss, as the book does) and returns the epoch with the best validation score.
#'
#' @param build_model the build function (as given to [tuner()]), a Python `HyperModel`, or
#'   a tuner.
#' @param hp one configuration, e.g. `best_hyperparameters(t, 1)[[1]]`.
#' @param x,y training data.
#' @param validation_data `list(x_val, y_val)`.
#' @param patience,max_epochs early stopping: epochs without improvement, most epochs.
#' @param monitor the validation metric to follow.
#' @param ... other `fit()` arguments (`batch_size`, ...).
#' @return A list: `best_epoch` (1-based, as `which.min(history$val_loss)`), `history`
#'   (a data frame, one row per epoch), `monitor`, `model`.
#' @examplesIf kerascraft::python_ready()
#' # see vignette("tuning", package = "kerascraft")
#' @export
best_epoch <- function(build_model, hp, x, y, validation_data, patience = 10,
                       max_epochs = 100, monitor = "val_loss", ...) {
  data <- fit_data_args(x, y, validation_data)
  args <- as_python_args(list(patience = patience, max_epochs = max_epochs, ...))
  found <- do.call(kc_core()$best_epoch,
                   c(list(as_hypermodel(build_model), hp, data[[1]], data[[2]],
                          validation_data = data[[3]], monitor = monitor), args))
  list(best_epoch = found$best_epoch,
       history = as.data.frame(lapply(found$history, unlist)),
       monitor = found$monitor, model = found$model)
}

#' Retrain the best configurations on train+validation
#'
#' For each of the `n` best configurations of a search: find its best epoch with
#' [best_epoch()], then train it afresh on the training and validation data together for
#' `round(best_epoch * epoch_factor)` epochs.
#'
#' @param tuner a tuner after [search()].
#' @param x_train,y_train training data (the data given to [search()]).
#' @param validation_data `list(x_val, y_val)`.
#' @param n how many configurations, best first.
#' @param epoch_factor epochs on train+validation per best epoch.
#' @inheritParams best_epoch
#' @param verbose 1 prints a line per retrained model.
#' @param time_limit seconds (or a `difftime`) the retraining may take; `NULL`: no limit.
#'   A configuration is retrained only when it is predicted to end in time (from its
#'   trial's time in the search); training running when the time is up stops at the end
#'   of an epoch (the summary's `stopped` says where).
#' @return A list of trained Keras models, best first, with attribute `"summary"`: a data
#'   frame with `rank`, `trial_id`, `best_epoch`, `epochs`, `search_score`, `stopped` and
#'   the hyperparameters, and with a time limit attribute `"not_retrained"`: the trial ids
#'   it left out (a later call retrains them).
#' @examplesIf kerascraft::python_ready()
#' # see vignette("tuning", package = "kerascraft")
#' @export
retrain_best <- function(tuner, x_train, y_train, validation_data, n = 4, epoch_factor = 1.2,
                         patience = 10, max_epochs = 100, monitor = "val_loss", verbose = 1,
                         ..., time_limit = NULL) {
  data <- fit_data_args(x_train, y_train, validation_data)
  args <- as_python_args(list(n = n, patience = patience, max_epochs = max_epochs,
                              verbose = verbose, ..., time_limit = time_limit))
  # unconverted, to keep the list's `summary` (conversion would make it a plain R list)
  retrained <- do.call(kc_core_unconverted()$retrain_best,
                       c(list(tuner, data[[1]], data[[2]], data[[3]],
                              epoch_factor = epoch_factor, monitor = monitor), args))
  models <- reticulate::py_to_r(reticulate::import_builtins(convert = FALSE)$list(retrained))
  structure(models, summary = records_to_df(reticulate::py_to_r(retrained$summary)),
            not_retrained = as.character(reticulate::py_to_r(retrained$not_retrained)))
}

#' Validation score versus test score of the best configurations
#'
#' The search picks configurations by their validation score, which therefore flatters
#' them; data never used in tuning shows by how much.
#'
#' @param tuner a tuner after [search()].
#' @param x_test,y_test data kept apart from tuning.
#' @param n how many of the best configurations.
#' @param retrained optionally the result of [retrain_best()], scored on the test data too.
#' @return A data frame, best first: `rank`, `trial_id`, `metric`, `validation`, `test`,
#'   `gap` (validation minus test in the objective's direction: positive means the
#'   validation score flattered), and `test_retrained` when `retrained` is given.
#' @examplesIf kerascraft::python_ready()
#' # see vignette("tuning", package = "kerascraft")
#' @export
validation_vs_test <- function(tuner, x_test, y_test, n = 4, retrained = NULL) {
  data <- fit_data_args(x_test, y_test, NULL)
  rows <- kc_core()$validation_vs_test_rows(tuner, data[[1]], data[[2]],
                                       n = as_python_args(list(n = n))$n,
                                       retrained = if (is.null(retrained)) NULL else lapply(retrained, identity))
  records_to_df(rows)
}

# cross_fit(): R wrapper over kerascraft.ensemble.crossfit. R's part is the labels (decided
# as fit_ensemble() decides them) and R functions as members.

#' Cross-fitted members: out-of-fold predictions over all the labelled data
#'
#' Trains every member `cv` times, each time on all rows but one fold, and predicts that
#' fold: every row gets a prediction from a model that did not see it. Fit the ensemble on
#' those out-of-fold predictions (`fit_ensemble(cf$oof, y)`: `cv` times the samples a
#' validation split gives) and predict new data with `predict(cf, x_new)`: an estimator
#' trained once more on all the rows (as scikit-learn's stacking does), or, for a fit
#' function, the mean of its `cv` fold models, which together saw every row (bagging, as
#' AutoGluon does). It costs `cv` (+1) trainings per member, so it suits members that train
#' in seconds (trees, linear models, small networks).
#'
#' @param models a named list of members: unfitted scikit-learn estimators (each fold
#'   trains a clone), or R functions `function(x_train, y_train, x_val, y_val)` that train
#'   and return a model that [predictions()] can use (a Keras model, an estimator, or a
#'   function of `x`). Class labels reach those functions as 0-based integers, as Keras
#'   wants them; `x_val, y_val` (for early stopping) is a stratified share (1 / `cv`)
#'   of the fold's training rows, never the held-out fold, whose predictions must stay
#'   honest.
#' @param x,y all the labelled data (training and validation rows together).
#' @param cv the number of folds.
#' @param seed the folds' random assignment (stratified by class for classification).
#' @param task `"classification"` or `"regression"`; when `NULL`, classification for a
#'   factor or logical labels, and for whole numbers with few distinct values each on at
#'   least `cv` rows (the rule [craft()] follows), otherwise regression.
#' @param label_base 0 or 1: how numeric class labels count (see [fit_ensemble()]).
#' @param refit how members predict new data. `"auto"`: scikit-learn estimators are trained
#'   once more on all the rows, fit functions are bagged (one that stops early has
#'   nothing to stop on with all the rows). `TRUE`: every member is
#'   refitted, fit functions called with `x_val = NULL, y_val = NULL` (they must then train
#'   without held-out data, e.g. for a fixed number of epochs). `FALSE`: every member is
#'   bagged.
#' @param verbose 1: a line per member as it is done (with its seconds); 0: quiet.
#' @inheritParams fit_ensemble
#' @return An object of class `kerascraft_cross_fit`: `oof` (named list of out-of-fold
#'   predictions, rows in the order of `x`), `routes` (per member, "refit on all rows" or
#'   "bagged (mean of the fold models)"), `seconds` (per member), `failed` (members left
#'   out, with the error); [predict()] gives the members' predictions on new data.
#' @examplesIf kerascraft::python_ready()
#' d <- load_dataset("wine")
#' x <- rbind(d$x_train, d$x_val)
#' y <- c(d$y_train, d$y_val)
#' lm <- reticulate::import("sklearn.linear_model")
#' nb <- reticulate::import("sklearn.naive_bayes")
#' cf <- cross_fit(list(logreg = lm$LogisticRegression(max_iter = 2000L),
#'                      bayes = nb$GaussianNB()), x, y)
#' ens <- fit_ensemble(cf$oof, y, method = "stack")
#' evaluate_ensemble(ens, d$y_test, predict(cf, d$x_test))
#' @export
cross_fit <- function(models, x, y, cv = 5, seed = 0, task = NULL, label_base = NULL,
                      refit = "auto", verbose = 1) {
  if (!is.list(models) || length(models) == 0 || is.null(names(models)) ||
      any(names(models) == "")) {
    kc_abort("models must be a named list, e.g. list(logreg = sklearn$LogisticRegression(), net = fit_net).")
  }
  labels <- cross_fit_labels(y, task, label_base, cv)
  args <- as_python_args(list(cv = cv, seed = seed, refit = refit, verbose = verbose))
  # a failed member is said once, as an R warning, rather than as Python's on stderr
  py_warnings <- reticulate::import("warnings")
  py <- with(py_warnings$catch_warnings(), {
    py_warnings$filterwarnings("ignore", message = "member '.*' failed while cross-fitting")
    do.call(kc_core()$cross_fit,
            c(list(models, r_fit_data(x, "x"), labels$y, task = labels$task), args))
  })
  for (name in names(py$failed)) {
    warning(sprintf("member '%s' failed while cross-fitting and is left out: %s", name,
                    py$failed[[name]]), call. = FALSE)
  }
  structure(list(oof = lapply(py$oof, function(p) p), routes = unlist(py$routes),
                 seconds = unlist(py$seconds),
                 failed = unlist(py$failed), py = py),
            class = "kerascraft_cross_fit")
}

# Class labels as fit_ensemble() reads them (0-based for Python), or numbers for regression.
cross_fit_labels <- function(y, task, label_base, cv) {
  # the core's rule, as cross_fit() applies it in Python (a class needs a row per fold)
  if (r_task(y, task, min_per_class = cv)$task != "classification") {
    return(list(y = r_fit_data(y, "y"), task = "regression"))
  }
  k <- if (is.factor(y)) nlevels(y) else if (is.logical(y)) 2L else
    as.integer(max(y) + any(y == 0))
  c(r_class_labels(y, k, label_base, "y")["y"], task = "classification")
}

#' @export
print.kerascraft_cross_fit <- function(x, ...) {
  cat(reticulate::py_str(x$py), "\n", sep = "")
  invisible(x)
}

#' Predictions of cross-fitted members
#'
#' @param object the result of [cross_fit()].
#' @param newdata the data to predict.
#' @param bagged `FALSE`: each member by its route (`object$routes`); `TRUE`: every member
#'   as the mean of its fold models.
#' @param ... unused.
#' @return A named list of the members' predictions, for the `predict()` of an ensemble
#'   fitted on `object$oof`.
#' @export
predict.kerascraft_cross_fit <- function(object, newdata, bagged = FALSE, ...) {
  lapply(kc_wrap(object$py)$predict(r_fit_data(newdata, "newdata"), bagged = bagged), function(p) p)
}

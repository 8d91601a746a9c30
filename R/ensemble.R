# Ensembles: R wrappers over kerascraft.ensemble. R's part is the labels (0- or 1-based,
# factors, logicals: decided explicitly here) and R matrices in, data frames out.

# Named list of predictions -> what Python wants: numbers as double arrays, names kept.
r_predictions <- function(predictions, what = "predictions") {
  if (!is.list(predictions) || is.data.frame(predictions)) {
    kc_abort(sprintf("%s must be a named list of prediction matrices or vectors, e.g. list(net = p_net, gbt = p_gbt).", what))
  }
  if (length(predictions) > 0 && (is.null(names(predictions)) || any(names(predictions) == ""))) {
    kc_abort(sprintf("every element of %s needs a name (the model's name), e.g. list(net = p_net, gbt = p_gbt).", what))
  }
  out <- lapply(names(predictions), function(name) {
    p <- predictions[[name]]
    if (inherits(p, "python.builtin.object")) return(p)
    if (is.data.frame(p)) p <- as.matrix(p)
    if (!is.numeric(p) && !is.logical(p)) {
      kc_abort(sprintf("predictions of model '%s' must be numbers, got %s.", name, class(p)[1]))
    }
    storage.mode(p) <- "double"  # an integer NA would arrive as a large negative number; NA_real_ as NaN
    if (is.null(dim(p))) array(p) else p
  })
  reticulate::dict(stats::setNames(out, names(predictions)))
}

prediction_columns <- function(predictions) {
  widths <- vapply(predictions, function(p) {
    if (inherits(p, "python.builtin.object")) p <- reticulate::py_to_r(p)
    if (is.null(dim(p)) || length(dim(p)) == 1 || ncol(p) == 1) 2L else ncol(p)
  }, integer(1))
  max(widths)
}

# Class labels -> 0-based integers, with the decision said out loud or asked for.
# Returns list(y, label_base, levels).
r_class_labels <- function(y, k, label_base = NULL, what = "y_val") {
  if (is.factor(y)) {
    if (nlevels(y) != k) {
      kc_abort(sprintf("%s is a factor with %d levels but the predictions have %d class columns.",
                   what, nlevels(y), k))
    }
    message(sprintf("%s: factor levels %s are the probability columns 1 to %d, in that order.",
                    what, paste(utils::head(levels(y), 5), collapse = ", "), k))
    return(list(y = array(as.integer(y) - 1L), label_base = 1L, levels = levels(y)))
  }
  if (is.logical(y)) {
    if (k != 2) kc_abort(sprintf("%s is logical but the predictions have %d classes.", what, k))
    return(list(y = array(as.integer(y)), label_base = 0L, levels = NULL))
  }
  if (anyNA(y)) kc_abort(sprintf("%s has %d missing label(s) (NA).", what, sum(is.na(y))))
  if (!is.numeric(y) || any(y != round(y))) {
    kc_abort(sprintf("%s must hold class labels (whole numbers, a factor or TRUE/FALSE) for classification.", what))
  }
  if (is.null(label_base)) {
    if (any(y == 0)) {
      label_base <- 0L
    } else if (any(y == k)) {
      label_base <- 1L
      message(sprintf("%s: labels 1 to %d taken as 1-based (label 1 is the first probability column); say label_base = 1 to silence this.",
                      what, k))
    } else {
      kc_abort(sprintf(paste0("%s has labels between 1 and %d but neither 0 nor %d, so it cannot be told whether ",
                          "they are 0-based or 1-based. Say label_base = 0 (label 0 is the first probability ",
                          "column, as in Keras) or label_base = 1 (as R's factor codes)."), what, k - 1, k))
    }
  } else if (!label_base %in% c(0, 1)) {
    kc_abort("label_base must be 0 or 1.")
  }
  list(y = array(as.integer(y - label_base)), label_base = as.integer(label_base), levels = NULL)
}

# Targets for Python: the task the core's rule decides (or the one given); for
# classification, class labels made 0-based by r_class_labels. Returns list(y, task,
# label_base, levels).
r_targets <- function(predictions, y, task, label_base, what) {
  choice <- r_task(y, task, predictions = r_predictions(predictions))
  if (choice$task != "classification") {
    return(list(y = r_fit_data(y, what), task = choice$task, label_base = NULL, levels = NULL))
  }
  c(r_class_labels(y, prediction_columns(predictions), label_base, what), task = "classification")
}

#' Fit ensemble weights on validation predictions
#'
#' Combines the predictions of several models (Keras networks, gradient-boosted trees,
#' anything that predicts) with non-negative weights summing to one, learned on validation
#' data. `"greedy"` (the default) is Caruana et al.'s ensemble selection; `"nelder_mead"`
#' and `"random"` search the weights directly; `"mean"` is the plain average. `"stack"`
#' learns a regularised linear meta-learner instead: for classes a weighted geometric mean
#' of the members with per-class intercepts (a multinomial logistic model on their log
#' probabilities), which can recalibrate them; for regression a non-negative linear
#' combination with an intercept. Its regularisation, which pulls it towards the greedy
#' ensemble's weights or towards all members with equal weights, and that centre are
#' chosen by inner cross-validation. For classes a tenth of its probabilities is the greedy
#' ensemble's (a defensive share): no sample can cost more than log(10) nats above the
#' greedy ensemble's loss on it, which inner cross-validation on a small set cannot promise.
#'
#' Fit on out-of-fold predictions from [cross_fit()] (all the labelled rows) rather than on
#' a validation split when the members are cheap enough to train several times.
#'
#' Class labels are matched to the probability columns explicitly: a factor's levels are
#' the columns in order; numbers are 0-based when a 0 occurs, 1-based when the label equal
#' to the number of classes occurs, and otherwise `label_base` must say.
#'
#' @param predictions a named list: model name -> validation predictions (a matrix of class
#'   probabilities, a vector of positive-class probabilities for a binary task, or
#'   regression outputs).
#' @param y_val the validation targets: a factor, 0- or 1-based class labels, `TRUE`/`FALSE`,
#'   or numbers for regression.
#' @param method `"greedy"`, `"mean"`, `"nelder_mead"`, `"random"` or `"stack"`.
#' @param metric `"log_loss"` (default), `"accuracy"`, `"auc"` (binary); `"mse"` (default),
#'   `"rmse"`, `"mae"` for regression.
#' @param task `"classification"` or `"regression"`; when `NULL`, classification for a
#'   factor, logical labels, or whole numbers when every model predicts probabilities,
#'   otherwise regression.
#' @param power combine with a power mean of this exponent (1: arithmetic mean).
#' @param cv a number of folds to cross-fit the weights and report the cross-fitted score.
#' @param label_base 0 or 1: how numeric class labels count (see Details).
#' @param seed for `"random"` and the folds.
#' @param ... options of the method: `init_size`, `max_iter` (greedy), `n_samples`
#'   (random), `max_evals` (Nelder-Mead); and `prefer_single = TRUE`: keep the best single
#'   model alone unless the ensemble, fitted without each of 5 folds of the validation
#'   rows and scored on it, leads it by more than one standard error (the one-standard-error
#'   rule; `summary()` says which was kept and why).
#' @return An object of class `kerascraft_ensemble`, for [predict()], [weights()],
#'   [summary()], [plot()], [evaluate_ensemble()] and [save_ensemble()].
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0)
#' p_a <- c(0.2, 0.7, 0.6, 0.4, 0.9, 0.1)
#' p_b <- c(0.3, 0.6, 0.8, 0.2, 0.7, 0.4)
#' ens <- fit_ensemble(list(a = p_a, b = p_b), y)
#' weights(ens)
#' predict(ens, list(a = p_a, b = p_b))
#' @export
fit_ensemble <- function(predictions, y_val, method = "greedy", metric = NULL, task = NULL,
                         power = 1, cv = NULL, label_base = NULL, seed = 0, ...) {
  preds <- r_predictions(predictions)
  labels <- r_targets(predictions, y_val, task, label_base, "y_val")
  task <- labels$task
  args <- as_python_args(list(seed = seed, cv = cv, ...))
  # how R's labels count is kept with the ensemble (and in its JSON), for predict(type = "class")
  meta <- list(r_label_base = labels$label_base, r_levels = as.list(labels$levels))
  new_kerascraft_ensemble(do.call(kc_core()$fit_ensemble,
                        c(list(preds, labels$y, method = method, metric = metric, task = task,
                               power = power, meta = meta), args)))
}


#' @export
print.kerascraft_ensemble <- function(x, ...) {
  cat(kc_wrap(x$py)$summary(), "\n", sep = "")
  invisible(x)
}

#' @importFrom stats weights
#' @export
weights.kerascraft_ensemble <- function(object, ...) unlist(object$py$weights)

#' Summary of a fitted ensemble
#'
#' @param object a fitted ensemble.
#' @param ... unused.
#' @return A data frame, one row per model: `weight`, `used`, `val_score` (alone), `gain`
#'   (how much the ensemble's validation score suffers without it), `support` (the fewest
#'   validation samples that carry that gain), `weight_without_top` (its weight refitted
#'   without the validation samples where it helps most, 1% or at least 5), `fragile` (that
#'   weight falls below a tenth: it rests on a handful of samples), and with `cv` the fold
#'   weights' mean and spread; the scores are attribute `"scores"`.
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0, 1, 0)
#' p_val <- list(a = c(.2, .7, .6, .4, .9, .1, .8, .3), b = c(.3, .6, .8, .2, .7, .4, .6, .1))
#' ens <- fit_ensemble(p_val, y)
#' summary(ens)
#' @export
summary.kerascraft_ensemble <- function(object, ...) {
  models <- columns_to_df(kc_wrap(object$py)$models(as_frame = FALSE))
  structure(models, scores = object$py$scores, text = kc_wrap(object$py)$summary(),
            class = c("summary.kerascraft_ensemble", "data.frame"))
}

#' @export
print.summary.kerascraft_ensemble <- function(x, ...) {
  cat(attr(x, "text"), "\n\n", sep = "")
  print(as.data.frame(unclass(x)[seq_along(x)], check.names = FALSE, optional = TRUE))
  invisible(x)
}

#' Combine new predictions with a fitted ensemble
#'
#' @param object a fitted ensemble.
#' @param newdata a named list of predictions of the ensemble's models (those with weight
#'   are enough) on new data.
#' @param type `"prob"`: the combined predictions (class probabilities); `"class"`: the
#'   predicted class, as a factor when the ensemble was fitted on a factor, otherwise a
#'   label counted as the training labels were (0- or 1-based).
#' @param ... unused.
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0, 1, 0)
#' p_val <- list(a = c(.2, .7, .6, .4, .9, .1, .8, .3), b = c(.3, .6, .8, .2, .7, .4, .6, .1))
#' ens <- fit_ensemble(p_val, y)
#' predict(ens, p_val)
#' predict(ens, p_val, type = "class")
#' @export
predict.kerascraft_ensemble <- function(object, newdata, type = c("prob", "class"), ...) {
  type <- match.arg(type)
  pred <- kc_wrap(object$py)$predict(r_predictions(newdata, "newdata"))
  if (length(dim(pred)) == 1) pred <- as.vector(pred)  # a 1-d NumPy array: a plain vector
  levels <- unlist(object$py$meta$r_levels)
  if (type == "prob") {
    if (!is.null(levels) && is.matrix(pred)) colnames(pred) <- levels
    return(pred)
  }
  if (object$py$task != "classification") kc_abort("type = \"class\" is for classification ensembles.")
  index <- if (is.matrix(pred)) max.col(pred, ties.method = "first") else as.integer(pred >= 0.5) + 1L
  if (!is.null(levels)) return(factor(levels[index], levels = levels))
  index - 1L + (object$py$meta$r_label_base %||% 0L)
}

#' Every model, the mean and the ensemble on test data
#'
#' @param object a fitted ensemble.
#' @param y_test test targets, given as `y_val` was.
#' @param test_predictions a named list of every model's predictions on the test data.
#' @return A data frame: `model`, `kind` (`"ensemble"`, `"mean"`, `"single"`), `weight` and
#'   the metrics (log loss, accuracy, AUC for binary; MSE, MAE for regression).
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0, 1, 0)
#' p_val <- list(a = c(.2, .7, .6, .4, .9, .1, .8, .3), b = c(.3, .6, .8, .2, .7, .4, .6, .1))
#' ens <- fit_ensemble(p_val, y)
#' evaluate_ensemble(ens, y, p_val)  # use test data and test predictions
#' @export
evaluate_ensemble <- function(object, y_test, test_predictions) {
  preds <- r_predictions(test_predictions, "test_predictions")
  py <- object$py
  y <- if (py$task == "classification") {
    levels <- unlist(py$meta$r_levels)
    if (!is.null(levels) && is.factor(y_test) && !identical(levels(y_test), levels)) {
      kc_abort("y_test's factor levels differ from y_val's: ", paste(levels(y_test), collapse = ", "))
    }
    suppressMessages(r_class_labels(y_test, py$n_classes, py$meta$r_label_base, "y_test"))$y
  } else {
    r_fit_data(y_test, "y_test")
  }
  columns_to_df(kc_wrap(py)$evaluate(y, preds, as_frame = FALSE))
}

#' Plot ensemble weights
#'
#' Bars of the weights (with the spread over folds when fitted with `cv`); models whose
#' gain rests on a handful of validation samples are marked.
#'
#' @param x a fitted ensemble.
#' @param ... unused.
#' @return A ggplot.
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0, 1, 0)
#' p_val <- list(a = c(.2, .7, .6, .4, .9, .1, .8, .3), b = c(.3, .6, .8, .2, .7, .4, .6, .1))
#' ens <- fit_ensemble(p_val, y)
#' if (requireNamespace("ggplot2", quietly = TRUE)) plot(ens)
#' @export
plot.kerascraft_ensemble <- function(x, ...) {
  if (!requireNamespace("ggplot2", quietly = TRUE)) kc_abort("plot() needs ggplot2: install.packages(\"ggplot2\").", class = "kerascraft_dependency_error")
  df <- summary(x)
  df <- as.data.frame(unclass(df)[seq_along(df)], check.names = FALSE, optional = TRUE)
  df$fragile <- ifelse(is.na(df$fragile), FALSE, df$fragile)
  df$model <- factor(df$model, levels = rev(df$model))
  p <- ggplot2::ggplot(df, ggplot2::aes(x = .data$weight, y = .data$model, fill = .data$fragile)) +
    ggplot2::geom_col() +
    ggplot2::scale_fill_manual(values = c(`FALSE` = "steelblue", `TRUE` = "firebrick"),
                               labels = c(`FALSE` = "no", `TRUE` = "yes"),
                               name = "gain rests on\nfew samples") +
    ggplot2::labs(x = "weight", y = NULL, title = sprintf("Ensemble weights (%s)", x$py$method))
  if ("cv_weight_sd" %in% names(df)) {
    p <- p + ggplot2::geom_errorbarh(ggplot2::aes(xmin = pmax(0, .data$weight - .data$cv_weight_sd),
                                                  xmax = .data$weight + .data$cv_weight_sd), height = 0.3)
  }
  p
}

#' How different models are, pair by pair
#'
#' @param predictions a named list of predictions on the same data.
#' @param y the targets of that data.
#' @inheritParams fit_ensemble
#' @return A data frame of class `kerascraft_diversity` (for [plot()]): `model_a`,
#'   `model_b`, `disagreement` (share of samples with different predicted classes) and
#'   `error_correlation` (correlation of their per-sample errors).
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0)
#' diversity(list(a = c(.2, .7, .6, .4, .9, .1), b = c(.3, .6, .8, .2, .7, .4)), y)
#' @export
diversity <- function(predictions, y, task = NULL, label_base = NULL) {
  preds <- r_predictions(predictions)
  targets <- suppressMessages(r_targets(predictions, y, task, label_base, "y"))
  df <- columns_to_df(kc_core()$diversity(preds, targets$y, task = targets$task, as_frame = FALSE))
  class(df) <- c("kerascraft_diversity", class(df))
  df
}

#' @export
plot.kerascraft_diversity <- function(x, ...) {
  if (!requireNamespace("ggplot2", quietly = TRUE)) kc_abort("plot() needs ggplot2: install.packages(\"ggplot2\").", class = "kerascraft_dependency_error")
  x <- as.data.frame(unclass(x)[seq_along(x)], check.names = FALSE, optional = TRUE)
  # the cells the matplotlib heat map draws too
  data <- kc_core()$diversity_plot_data(lapply(as.list(x), as.list))
  models <- unlist(data$models)
  both <- columns_to_df(data[c("a", "b", "r")])
  both$a <- factor(both$a, levels = models)
  both$b <- factor(both$b, levels = rev(models))
  ggplot2::ggplot(both, ggplot2::aes(x = .data$a, y = .data$b, fill = .data$r)) +
    ggplot2::geom_tile() +
    ggplot2::geom_text(ggplot2::aes(label = sprintf("%.2f", .data$r)), size = 3) +
    ggplot2::scale_fill_gradient2(limits = c(-1, 1), name = "error\ncorrelation") +
    ggplot2::labs(x = NULL, y = NULL, title = "Lower error correlation: more to gain by ensembling") +
    ggplot2::theme(axis.text.x = ggplot2::element_text(angle = 45, hjust = 1))
}

#' Predictions of several models on the same data
#'
#' @param models a named list of Keras models, scikit-learn estimators (`predict_proba`
#'   for classifiers) or R functions `function(x)` returning predictions.
#' @param x the data.
#' @return A named list of predictions, for [fit_ensemble()].
#' @examplesIf kerascraft::python_ready()
#' d <- load_dataset("wine")
#' members <- list(gbt = fit_gradient_boosting(d$x_train, d$y_train, max_iter = 20),
#'                 uniform = function(x) matrix(1 / 3, nrow(x), 3))
#' str(predictions(members, d$x_val))
#' @export
predictions <- function(models, x) {
  if (!is.list(models) || is.null(names(models)) || any(names(models) == "")) {
    kc_abort("models must be a named list, e.g. list(net = model, gbt = fit_gradient_boosting(x, y)).")
  }
  x_py <- NULL
  out <- lapply(names(models), function(name) {
    m <- models[[name]]
    if (is.function(m) && !inherits(m, "python.builtin.object")) return(m(x))
    if (is.null(x_py)) x_py <<- r_fit_data(x, "x")
    # a named list, not dict(m = m): reticulate's dict() makes a name that is a Python
    # object in scope the key itself
    one <- reticulate::dict(stats::setNames(list(m), "model"))
    reticulate::py_to_r(kc_core_unconverted()$predictions(one, x_py)$get("model"))
  })
  stats::setNames(out, names(models))
}

#' A gradient-boosted tree model to ensemble with networks
#'
#' scikit-learn's `HistGradientBoostingClassifier` / `Regressor` with early stopping: a
#' member unlike the networks, which is what makes an ensemble pay.
#'
#' @param x,y training data (labels as for `fit()`: 0-based integers or a factor).
#' @param task `"classification"` or `"regression"`.
#' @param seed random seed.
#' @param ... parameters of the scikit-learn estimator (`max_iter`, `learning_rate`, ...).
#' @return The fitted scikit-learn estimator (use it with [predictions()]).
#' @examplesIf kerascraft::python_ready()
#' d <- load_dataset("breast_cancer")
#' gbt <- fit_gradient_boosting(d$x_train, d$y_train, max_iter = 50)
#' p <- predictions(list(gbt = gbt), d$x_test)$gbt
#' mean(max.col(p) - 1 == d$y_test)
#' @export
fit_gradient_boosting <- function(x, y, task = "classification", seed = 0, ...) {
  do.call(kc_core()$fit_gradient_boosting,
          c(list(r_fit_data(x, "x"), r_fit_data(y, "y"), task = task),
            as_python_args(list(seed = seed, ...))))
}

#' Save and load a fitted ensemble
#'
#' The weights and metadata are written as JSON (no pickles), readable from Python with
#' `kerascraft.load_ensemble()`.
#'
#' @param object a fitted ensemble.
#' @param path a file path.
#' @return `save_ensemble()`: the path, invisibly; `load_ensemble()`: the ensemble.
#' @examplesIf kerascraft::python_ready()
#' y <- c(0, 1, 1, 0, 1, 0, 1, 0)
#' p_val <- list(a = c(.2, .7, .6, .4, .9, .1, .8, .3), b = c(.3, .6, .8, .2, .7, .4, .6, .1))
#' ens <- fit_ensemble(p_val, y)
#' path <- tempfile(fileext = ".json")
#' save_ensemble(ens, path)
#' weights(load_ensemble(path))
#' @export
save_ensemble <- function(object, path) {
  invisible(kc_wrap(object$py)$save(path.expand(path)))
}

#' @rdname save_ensemble
#' @export
load_ensemble <- function(path) {
  if (!file.exists(path)) kc_abort(sprintf("no ensemble file at %s.", path))
  new_kerascraft_ensemble(kc_core()$load_ensemble(path.expand(path)))
}

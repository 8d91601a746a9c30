#' The whole workflow in one call: split, tune, retrain, ensemble, test
#'
#' Splits the data into train, validation and test sets (stratified by class; or takes
#' `validation_data` / `test_data`), chooses the precision policy and the distribution
#' strategy for the machine and measures step fusion, tunes a search space suited to the
#' data (dense networks for tables, small convnets for images; `build_model` replaces it),
#' retrains the `top` configurations on train+validation for 1.2 times their best number of
#' epochs, trains gradient-boosted trees beside them, learns ensemble weights on validation
#' predictions and scores everything on the test split.
#'
#' Every stage keeps its work in `directory`: calling `craft()` again with the same data
#' (after a crash, say) goes on from there and does not redo finished trials, retrained
#' models or the trees. A search made with other settings (`epochs`, `kind`, `objective`,
#' `batch_size`, `patience`, `seed`) is refused rather than mixed; a larger `max_trials`
#' searches further; other retraining settings (`epoch_factor`) retrain. All input
#' checks run before any training.
#'
#' @param x features: a numeric matrix or data frame (samples x features), or an array of
#'   images (samples x height x width \[x channels\]).
#' @param y targets: a factor (or character / logical vector) of classes, or numbers.
#'   Whole numbers are classes when there are at most 30 distinct values, at least 10 rows
#'   per value on average and every value on enough rows for the splits (5 with the
#'   default fractions); otherwise numbers (regression). craft() says which it chose and
#'   why; `task =` overrides it.
#' @param validation_data,test_data `list(x, y)` to use instead of splitting them off.
#' @param build_model a build function `function(hp)` or a `HyperModel` to tune instead of
#'   the default search space; its models take `x` as given and output class
#'   probabilities (labels are 0-based class indices) or values.
#' @param ... further options of the Python `kerascraft.craft()`: `task` (`"auto"`,
#'   `"classification"`, `"regression"`), `objective`, `kind` (`"auto"`), `max_trials`
#'   (10), `epochs` (50), `batch_size` (64), `patience` (5), `top` (3), `epoch_factor`
#'   (1.2), `gradient_boosting` (`TRUE`), `cheap_models` (`TRUE`: a linear model,
#'   k-nearest neighbours and extra trees beside the networks), `ensemble_method`
#'   (`"auto"`: the stack for classes, greedy for regression; or a [fit_ensemble()]
#'   method), `precision`
#'   (`"auto"`), `strategy` (`"auto"`), `steps_per_execution` (`"auto"`), `val_fraction`,
#'   `test_fraction` (0.2 each), `overwrite` (`FALSE`), `seed` (0).
#' @param directory where each stage keeps its work.
#' @param verbose 0 silent; 1 one line per trial and per stage, then the summary.
#' @return Invisibly, a `kerascraft_craft` object: `trials`, `retrained`, `weights`,
#'   `test_scores`, `gaps`, `timings` (data frames; `timings$reused` marks the stages a
#'   second call found done), `setup` (precision, strategy, step fusion),
#'   `classes`, and `py` (the Python result: models, ensemble, tuner). `print()` shows the
#'   summary, [report()] writes the HTML report, `predict()` predicts with the ensemble.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' wine <- load_dataset("wine", split = FALSE)
#' y <- factor(wine$y, labels = c("barolo", "grignolino", "barbera"))
#' result <- craft(wine$x, y, max_trials = 2, epochs = 10, top = 1,
#'                 directory = file.path(tempdir(), "craft_wine"), verbose = 0)
#' result
#' result$test_scores
#' head(predict(result, wine$x, type = "class"))
#' }
#' @export
craft <- function(x, y, validation_data = NULL, test_data = NULL, build_model = NULL, ...,
                  directory = "kerascraft_craft", verbose = 1) {
  # verbose = 0 is silence: the conversion notes ("x: data frame of ...") too
  quietly <- if (identical(as.numeric(verbose), 0)) suppressMessages else identity
  args <- as_python_args(list(...))
  labels <- quietly(craft_labels(y))
  split_data <- function(data, what) {
    if (is.null(data)) return(NULL)
    if (!is.list(data) || is.data.frame(data) || length(data) != 2) {
      kc_abort(sprintf("%s must be list(x, y).", what))
    }
    reticulate::tuple(r_fit_data(data[[1]], paste(what, "x")),
                      craft_labels(data[[2]], labels$levels, paste(what, "y"))$y)
  }
  if (!is.null(build_model)) build_model <- as_hypermodel(build_model)
  data <- quietly(list(x = r_fit_data(x, "x"),
                       validation = split_data(validation_data, "validation_data"),
                       test = split_data(test_data, "test_data")))
  py <- do.call(kc_core()$craft, c(
    list(data$x, labels$y, validation_data = data$validation, test_data = data$test,
         class_names = labels$levels, hypermodel = build_model, directory = directory,
         verbose = as.integer(verbose), progress = console_line),
    args))
  invisible(new_kerascraft_craft(py))
}

# y for craft(): factors (and character / logical vectors) become 0-based codes with their
# levels as class names; numbers stay numbers (Python decides classes or regression).
craft_labels <- function(y, levels = NULL, what = "y") {
  if (is.data.frame(y)) {
    if (ncol(y) != 1) kc_abort(sprintf("%s must be one column (a vector or factor).", what))
    y <- y[[1]]
  }
  if (is.character(y) || is.logical(y)) y <- factor(y, levels = levels %||% sort(unique(y)))
  if (is.factor(y)) {
    if (!is.null(levels)) {
      unknown <- setdiff(as.character(unique(y)), levels)
      if (length(unknown) > 0) {
        kc_abort(sprintf("%s has classes that y does not have: %s.", what,
                     paste(unknown, collapse = ", ")))
      }
      y <- factor(as.character(y), levels = levels)
    }
    if (anyNA(y)) kc_abort(sprintf("%s has %d missing label(s) (NA).", what, sum(is.na(y))))
    return(list(y = array(as.integer(y) - 1L), levels = levels(y)))
  }
  list(y = r_fit_data(y, what), levels = NULL)
}

#' @export
print.kerascraft_craft <- function(x, ...) {
  cat(kc_wrap(x$py)$summary(), "\n", sep = "")
  invisible(x)
}

#' @rdname craft
#' @param object a result of `craft()`.
#' @param newdata features shaped like `x`.
#' @param type `"prob"` (class probabilities, one column per class) or `"class"` (a factor
#'   when the classes have names); regression gives a vector either way.
#' @export
predict.kerascraft_craft <- function(object, newdata, type = c("prob", "class"), ...) {
  type <- match.arg(type)
  p <- kc_wrap(object$py)$predict(r_fit_data(newdata, "newdata"))
  if (object$task != "classification") return(as.vector(p))
  colnames(p) <- object$classes
  if (type == "prob") return(p)
  idx <- max.col(p, ties.method = "first")
  if (is.null(object$classes)) return(idx - 1L)
  factor(object$classes[idx], levels = object$classes)
}

#' A self-contained HTML report of a craft() result
#'
#' One page, with the plots embedded: the ensemble's and the best single model's test
#' scores, the precision, strategy and step fusion chosen (and why), test scores of every
#' model, validation versus test scores, ensemble weights, the search (progress,
#' hyperparameters against score, every trial), the retrained configurations and the time
#' each stage took. It loads nothing from elsewhere, so it can be sent as one file.
#'
#' @param result a result of [craft()].
#' @param file where to write the page.
#' @param browse open it in the browser (`utils::browseURL()`).
#' @return The page's path, invisibly.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' wine <- load_dataset("wine", split = FALSE)
#' result <- craft(wine$x, wine$y, max_trials = 2, epochs = 10, top = 1,
#'                 directory = file.path(tempdir(), "craft_report"), verbose = 0)
#' report(result, file.path(tempdir(), "report.html"))
#' }
#' @export
report <- function(result, file = "report.html", browse = FALSE) {
  if (!inherits(result, "kerascraft_craft")) {
    kc_abort("report() takes the result of craft().")
  }
  path <- kc_wrap(result$py)$report(path.expand(file))
  if (browse) utils::browseURL(path)
  invisible(path)
}

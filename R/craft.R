#' The whole workflow in one call: split, tune, retrain, ensemble, test
#'
#' Splits the data into train, validation and test sets (stratified by class; or takes
#' `validation_data` / `test_data`), chooses the precision policy and the distribution
#' strategy for the machine and measures step fusion, tunes a search space suited to the
#' data (for tables TabM-mini, an efficient ensemble of dense networks built from
#' [tabular_layers], starting from its published recipe; small convnets for images;
#' `build_model` replaces it),
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
#' @param x features: a data frame (or tibble) as it comes: numbers, integers, logicals,
#'   factors, ordered factors, text, `Date` and `POSIXct` columns, with `NA` anywhere (each
#'   column is read by its kind and encoded for each model family from the training rows
#'   only; the progress output says how); a numeric matrix; or an array of images
#'   (samples x height x width \[x channels\]). Or a formula `target ~ .` (or
#'   `target ~ a + b`, `target ~ . - id`) with `data`: rows without a target are left out.
#' @param y targets: a factor (or character / logical vector) of classes, or numbers.
#'   Whole numbers are classes when there are at most 30 distinct values, at least 10 rows
#'   per value on average and every value on enough rows for the splits (5 with the
#'   default fractions); otherwise numbers (regression). craft() says which it chose and
#'   why; `task =` overrides it.
#' @param time_limit seconds (or a `difftime`, `as.difftime(5, units = "mins")`) the call
#'   may take; `NULL`: no limit (the search runs `max_trials` trials). The stages share it
#'   by one rule, which the summary and the report state with the seconds each used: the
#'   trees and cheap models first; the search while its next trial is predicted to end
#'   leaving time to retrain the best configurations and finish; retraining while the
#'   next model is predicted to end leaving time to finish. The summary says what the limit
#'   cut (trials not run, models not retrained: the search's own model stands in). Calling
#'   `craft()` again with a new limit continues.
#' @param validation_data,test_data `list(x, y)` to use instead of splitting them off.
#' @param build_model a build function `function(hp)` or a `HyperModel` to tune instead of
#'   the default search space; its models take `x` as given and output class
#'   probabilities (labels are 0-based class indices) or values.
#' @param ... further options of the Python `kerascraft.craft()`: `task` (`"auto"`,
#'   `"classification"`, `"regression"`), `objective`, `kind` (`"auto"`), `max_trials`
#'   (10), `stop_early` (`FALSE`; `TRUE`: the search ends once the trials since its best
#'   one took half its budget; or that share, between 0 and 1), `epochs` (50), `batch_size` (64), `patience` (5), `top` (3), `epoch_factor`
#'   (1.2), `gradient_boosting` (`TRUE`), `cheap_models` (`TRUE`: a linear model,
#'   k-nearest neighbours and extra trees beside the networks), `ensemble_method`
#'   (`"auto"`: the stack for classes, greedy for regression; or a [fit_ensemble()]
#'   method), `precision`
#'   (`"auto"`), `strategy` (`"auto"`), `steps_per_execution` (`"auto"`), `val_fraction`,
#'   `test_fraction` (0.2 each), `overwrite` (`FALSE`), `storage` (`NULL`; a database URL
#'   or a journal file's path that keeps the search's record, for a dashboard: see
#'   [tuner()]), `seed` (0).
#' @param data the data frame a formula `x` names columns of.
#' @param directory where each stage keeps its work; [load_craft()] reads the result back.
#' @param verbose 0 silent; 1 one line per trial and per stage, then the summary.
#' @return Invisibly, a `kerascraft_craft` object: `trials`, `retrained`, `weights`,
#'   `test_scores`, `gaps`, `timings` (data frames; `timings$reused` marks the stages a
#'   second call found done), `families` (time against weight: each family of members,
#'   its seconds, its share of the training time and the ensemble weight it earned),
#'   `columns`, `setup` (precision, strategy, step fusion),
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
craft <- function(x, y = NULL, time_limit = NULL, validation_data = NULL, test_data = NULL,
                  build_model = NULL, ..., data = NULL, directory = "kerascraft_craft",
                  verbose = 1) {
  # verbose = 0 is silence: the conversion notes too
  quietly <- if (identical(as.numeric(verbose), 0)) suppressMessages else identity
  args <- as_python_args(c(list(...), list(time_limit = time_limit)))
  target <- NULL
  if (inherits(x, "formula")) {
    if (!is.null(y)) kc_abort("give either a formula and `data`, or x and y, not both.")
    model_frame <- craft_formula(x, data)
    x <- model_frame$data
    y <- target <- model_frame$target
    labels <- list(y = target, levels = NULL)  # the core reads the target column
  } else {
    if (is.null(y)) kc_abort("y is missing: craft(x, y), or craft(target ~ ., data = d).")
    labels <- quietly(craft_labels(y))
  }
  split_data <- function(part, what) {
    if (is.null(part)) return(NULL)
    if (!is.null(target) && is.data.frame(part)) return(r_table(part, what))
    if (!is.list(part) || is.data.frame(part) || length(part) != 2) {
      kc_abort(sprintf("%s must be list(x, y)%s.", what, if (is.null(target)) "" else
        sprintf(", or a data frame with the column %s", target)))
    }
    reticulate::tuple(r_table(part[[1]], paste(what, "x")),
                      craft_labels(part[[2]], labels$levels, paste(what, "y"))$y)
  }
  if (!is.null(build_model)) build_model <- as_hypermodel(build_model)
  parts <- quietly(list(x = r_table(x, "x"),
                        validation = split_data(validation_data, "validation_data"),
                        test = split_data(test_data, "test_data")))
  py <- do.call(kc_core()$craft, c(
    list(parts$x, labels$y, validation_data = parts$validation, test_data = parts$test,
         class_names = labels$levels, hypermodel = build_model, directory = directory,
         verbose = as.integer(verbose), progress = console_line),
    args))
  invisible(new_kerascraft_craft(py))
}

# `target ~ .` or `target ~ a + b` on `data`: the columns it names (a plain column on each
# side: the models read each column by its kind, so no transformation is needed).
craft_formula <- function(formula, data) {
  if (!is.data.frame(data)) {
    kc_abort("a formula needs `data =`, the data frame that holds its columns.")
  }
  if (length(formula) != 3) {
    kc_abort("the formula needs a target on its left: craft(price ~ ., data = d).")
  }
  target <- deparse(formula[[2]])
  if (!target %in% names(data)) {
    kc_abort(sprintf("the formula's target %s is not a column of `data`; its columns: %s.",
                     target, paste(utils::head(names(data), 20), collapse = ", ")))
  }
  terms <- stats::terms(formula, data = data)
  columns <- attr(terms, "term.labels")
  unknown <- setdiff(columns, names(data))
  if (length(unknown) > 0) {
    kc_abort(sprintf(paste(
      "the formula's right side may name columns of `data` only (and `.` for all of them,",
      "`- a` to leave one out); not %s. craft() reads each column by its kind, so",
      "factors, dates and missing values need no transformation."),
      paste(unknown, collapse = ", ")))
  }
  list(data = data[, c(columns, target), drop = FALSE], target = target)
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

#' Read back a finished craft() run
#'
#' The result of [craft()] as it was, from its `directory`, in a fresh R session or on
#' another machine with the same packages: `predict()` gives what the original did (on raw
#' rows, for a table), `print()`, [report()] and the tables are the original's. The search
#' is read back from its trials; its models are not rebuilt, so the build function need
#' not exist.
#'
#' @param directory the `directory` craft() was given.
#' @return A `kerascraft_craft` object, as [craft()] returns.
#' @examplesIf kerascraft::python_ready()
#' \donttest{
#' dir <- file.path(tempdir(), "craft_air")
#' craft(Ozone ~ ., data = airquality, max_trials = 2, epochs = 5, top = 1,
#'       directory = dir, verbose = 0)
#' again <- load_craft(dir)
#' predict(again, airquality[1:5, ])
#' }
#' @export
load_craft <- function(directory) {
  invisible(new_kerascraft_craft(kc_core()$load_craft(path.expand(directory))))
}

#' @export
print.kerascraft_craft <- function(x, ...) {
  cat(kc_wrap(x$py)$summary(), "\n", sep = "")
  invisible(x)
}

#' @rdname craft
#' @param object a result of `craft()`.
#' @param newdata features shaped like `x`; for a table, a data frame with its columns by
#'   name in any order (an unseen factor level is predicted as the rare levels are, with a
#'   note; an `NA` is filled as in training; a missing column is an error naming it).
#' @param type `"prob"` (class probabilities, one column per class) or `"class"` (a factor
#'   when the classes have names); regression gives a vector either way.
#' @export
predict.kerascraft_craft <- function(object, newdata, type = c("prob", "class"), ...) {
  type <- match.arg(type)
  rows <- if (is.data.frame(newdata)) r_table(newdata, "newdata") else r_fit_data(newdata, "newdata")
  p <- kc_wrap(object$py)$predict(rows)
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

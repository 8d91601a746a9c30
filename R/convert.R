# R -> Python conversion: the one place where R's doubles become the integers Python
# wants, and R data becomes arrays. The dtype work (float64 -> float32, NaN checks) is the
# Python core's (kerascraft.data); R only does what is about R.

# Arguments that Python (Keras, KerasTuner) wants as integers, wherever they appear.
kc_integer_args <- c(
  "epochs", "batch_size", "verbose", "max_trials", "executions_per_trial", "seed",
  "max_epochs", "factor", "hyperband_iterations", "num_initial_points",
  "max_retries_per_trial", "max_consecutive_failed_trials", "steps_per_epoch",
  "validation_steps", "validation_batch_size", "validation_freq", "initial_epoch",
  "patience", "n", "num_models", "num_trials", "units", "top", "steps_per_execution",
  # ensembles and scikit-learn members
  "cv", "init_size", "max_iter", "n_samples", "max_evals", "max_depth", "max_leaf_nodes",
  "min_samples_leaf", "n_estimators", "n_iter_no_change"
)

is_whole <- function(x) {
  is.numeric(x) && !is.integer(x) && length(x) > 0 && all(is.finite(x)) &&
    all(x == round(x)) && all(abs(x) < .Machine$integer.max)
}

# A double that holds whole numbers becomes an integer vector; anything else is unchanged.
as_integer_if_whole <- function(x) if (is_whole(x)) as.integer(x) else x

# One argument Python wants as an integer: a whole double becomes an integer, NULL, an
# integer or a string (e.g. "auto") is kept, anything else is an error that names it.
as_whole <- function(value, name = deparse(substitute(value))) {
  if (is.null(value) || is.integer(value) || is.character(value)) return(value)
  if (!is_whole(value)) {
    kc_abort(sprintf("`%s` must be a whole number, got %s.", name,
                 paste(format(value), collapse = ", ")))
  }
  as.integer(value)
}

# Convert the named arguments Python wants as integers (kc_integer_args).
# A `time_limit` given as a difftime (`as.difftime(2, units = "mins")`) becomes seconds.
as_python_args <- function(args) {
  for (name in intersect(names(args), kc_integer_args)) {
    if (!is.null(args[[name]])) args[[name]] <- as_whole(args[[name]], name)
  }
  if (inherits(args$time_limit, "difftime")) {
    args$time_limit <- as.numeric(args$time_limit, units = "secs")
  }
  args
}

# The core's rule for classes or numbers (kerascraft.task.decide_task), asked for R's
# targets: a factor goes as its labels, logicals and numbers as they are. Returns the
# core's TaskChoice: $task ("classification" or "regression") and $reason.
r_task <- function(y, task = NULL, predictions = NULL, min_per_class = NULL) {
  values <- if (is.factor(y)) as.character(y) else y
  if (is.data.frame(values)) values <- as.matrix(values)
  args <- list(array(values, dim = dim(values) %||% length(values)),
               task = task %||% "auto", predictions = predictions)
  if (!is.null(min_per_class)) args$min_per_class <- as_whole(min_per_class)
  do.call(kc_core()$decide_task, args)
}

# R data for fit(): data frames become numeric matrices, factors 0-based integer codes,
# vectors 1-d arrays, and NA is an error here (an integer NA would reach Python as a huge
# negative number). Which columns count as numbers, and the wording of the errors, are the
# core's (kerascraft.data); R only says what each R column is.
r_fit_data <- function(x, what = "x") {
  if (is.null(x) || inherits(x, "python.builtin.object")) return(x)
  if (is.list(x) && !is.data.frame(x)) {  # several inputs
    out <- lapply(names(x) %||% seq_along(x), function(i) r_fit_data(x[[i]], paste0(what, "[[", i, "]]")))
    names(out) <- names(x)
    return(out)
  }
  if (is.data.frame(x)) {  # tibbles included
    kinds <- vapply(x, r_column_kind, character(1))
    bad <- kinds[!is.na(kinds)]
    if (length(bad) > 0) {
      kc_abort(kc_data()$non_numeric_columns_message(what, as.list(bad)))
    }
    missing <- vapply(x, function(col) sum(is.na(col)), numeric(1))
    if (any(missing > 0)) {
      kc_abort(kc_data()$missing_values_message(what, sum(missing), as.list(missing[missing > 0])))
    }
    message(sprintf("%s: data frame of %d numeric columns used as a matrix.", what, ncol(x)))
    x <- as.matrix(as.data.frame(x))
  }
  if (is.factor(x)) {
    message(sprintf("%s: factor with levels %s used as class indices 0 to %d.", what,
                    paste(utils::head(levels(x), 5), collapse = ", "), nlevels(x) - 1))
    x <- as.integer(x) - 1L
  }
  if (!is.numeric(x) && !is.logical(x)) {
    kc_abort(sprintf("%s must be numeric (a vector, matrix, array or data frame of numbers), got %s.",
                 what, class(x)[1]))
  }
  if (anyNA(x)) {
    kc_abort(kc_data()$missing_values_message(what, sum(is.na(x))))
  }
  # a plain vector would reach Python as a list; a 1-d array arrives as a NumPy array
  if (is.null(dim(x))) x <- array(x)
  x
}

# A data frame (tibbles included) for craft(): each column handed to the core as what it
# is in R, so that NA and R's classes arrive the same whatever reticulate's own conversion
# does (an integer NA would be a huge negative number, a logical NA TRUE). The core
# (kerascraft.tables.frame_from_r) makes the pandas frame and decides what each column is
# to the models; R only says what each column is in R.
r_table <- function(x, what = "x") {
  if (!is.data.frame(x)) return(r_fit_data(x, what))
  kc_core()  # Python started (NumPy arrays are made below)
  specs <- lapply(x, r_column_spec)
  names(specs) <- names(x)
  # left a pandas frame (reticulate's conversion back to R would undo the above)
  kc_wrap(reticulate::import("kerascraft.tables", convert = FALSE))$frame_from_r(specs)
}

r_column_spec <- function(col) {
  if (is.list(col) || !is.null(dim(col))) {
    return(list(kind = "unreadable", what = if (is.list(col)) {
      "a list column (one value per cell is needed)"
    } else {
      "a matrix column (one value per cell is needed)"
    }))
  }
  missing <- reticulate::np_array(is.na(col))
  as_numbers <- function(v) reticulate::np_array(as.double(v))
  if (is.factor(col)) {
    return(list(kind = "factor", values = reticulate::np_array(as.integer(col) - 1L),
                missing = missing, levels = as.list(levels(col)), ordered = is.ordered(col)))
  }
  if (inherits(col, "Date")) return(list(kind = "date", values = as_numbers(col), missing = missing))
  if (inherits(col, "POSIXt")) {
    return(list(kind = "datetime", values = as_numbers(as.POSIXct(col)), missing = missing,
                tz = attr(as.POSIXct(col), "tzone")[1] %||% ""))
  }
  if (inherits(col, "difftime")) {
    return(list(kind = "number", values = as_numbers(as.double(col, units = "secs")),
                missing = missing))
  }
  if (is.logical(col)) return(list(kind = "logical", values = as_numbers(col), missing = missing))
  if (is.numeric(col) || inherits(col, "integer64")) {
    return(list(kind = "number", values = as_numbers(col), missing = missing))
  }
  if (is.character(col)) {
    return(list(kind = "text", values = reticulate::np_array(ifelse(is.na(col), "", col)),
                missing = missing))
  }
  list(kind = "unreadable", what = sprintf("values of class %s", class(col)[1]))
}

# NA for a data frame column that is numbers (numeric, integer, logical), else what it holds
# in the words of the core's message: text, factor, date/time (the core's TIME_KIND), or its
# class.
r_column_kind <- function(col) {
  if ((is.numeric(col) || is.logical(col)) && !is.factor(col) && is.null(dim(col))) return(NA_character_)
  if (is.factor(col)) return("factor")
  if (is.character(col)) return("text")
  if (inherits(col, c("Date", "POSIXt", "difftime"))) return(kc_data()$TIME_KIND)
  class(col)[1]
}

# x, y and list(x_val, y_val) for fit(): one place for every entry point that trains.
fit_data_args <- function(x, y, validation_data = NULL) {
  if (!is.null(validation_data)) {
    if (!is.list(validation_data) || length(validation_data) != 2) {
      kc_abort("validation_data must be list(x_val, y_val).")
    }
    validation_data <- reticulate::tuple(r_fit_data(validation_data[[1]], "validation x"),
                                         r_fit_data(validation_data[[2]], "validation y"))
  }
  list(r_fit_data(x, "x"), r_fit_data(y, "y"), validation_data)
}

`%||%` <- function(a, b) if (is.null(a)) b else a

# Progress lines of the Python core go through R's console, so that R GUIs and knitr show
# them (Python's own stdout does not reach either).
console_line <- function(line) {
  cat(line, "\n", sep = "")
  utils::flush.console()
}

# Python tables -> data frames. `columns` is a named list of lists (None -> NULL -> NA);
# `records` a list of named lists, one per row, with `names` the columns when it is empty.
columns_to_df <- function(columns) {
  as_column <- function(values) {
    values <- lapply(values, function(v) if (is.null(v)) NA else v)
    if (length(values) == 0) logical(0) else unlist(values, use.names = FALSE)
  }
  df <- as.data.frame(lapply(columns, as_column), stringsAsFactors = FALSE,
                      check.names = FALSE, optional = TRUE)
  names(df) <- names(columns)
  df
}

records_to_df <- function(records, names = NULL) {
  if (length(records) == 0 && is.null(names)) return(data.frame())
  names <- names %||% names(records[[1]])
  columns <- lapply(stats::setNames(names, names), function(k) lapply(records, `[[`, k))
  columns_to_df(columns)
}
